/**
 * Helpers shared by the rotation constructs: content revisions, field
 * managers, shell quoting, canonical JSON, Kubernetes name rules and
 * namespaced warnings. Nothing here creates resources.
 */
import { Annotations, Token } from 'cdktf';
import { IConstruct } from 'constructs';
import { sha256Hex } from '../pki';

/** The prefix of every annotation key this library writes. */
export const ANNOTATION_PREFIX = 'cert-rotation.io';

/** Annotation on pod templates whose value is the content hash of what the pods must trust. */
export const TRUST_ANNOTATION = `${ANNOTATION_PREFIX}/trust-sha256`;

/**
 * A `data_wo_revision` derived from content: `parseInt(sha256(text)[0..8], 16) + 1`.
 *
 * The result is ≥ 1 (a revision of 0 is ignored by the provider) and at most
 * 2^32, and it changes exactly when the content changes (up to a 1 in 2^32
 * collision), so a second plan after apply is empty and a new certificate
 * always sends the write-only data again.
 *
 * @param text the public content the write-only data follows, e.g. the PEM chain of `tls.crt`
 */
export function contentRevision(text: string): number {
  return parseInt(sha256Hex(text).slice(0, 8), 16) + 1;
}

/**
 * A server-side-apply field manager unique to one resource:
 * `cert-rotation-<purpose>-<first 10 hex of sha256(construct path)>`.
 *
 * Two resources that share a field manager erase each other's fields, so every
 * `kubernetes_annotations`, `kubernetes_env` and `kubernetes_config_map_v1_data`
 * gets its own. The name depends only on the construct path, so it is stable
 * across synths and does not change when sibling constructs are added.
 *
 * Kubernetes limits field managers to 128 characters; keep `purpose` short.
 *
 * @param scope the construct that owns the resource, or the resource's construct path (hashed)
 * @param purpose a short kebab-case word for what the resource does, e.g. `restart`
 */
export function fieldManagerName(scope: IConstruct | string, purpose: string): string {
  const path = typeof scope === 'string' ? scope : scope.node.path;
  return `cert-rotation-${purpose}-${sha256Hex(path).slice(0, 10)}`;
}

/**
 * Quotes one argument for a POSIX shell (`sh -c`, as Terraform's `local-exec`
 * runs on Linux and macOS). Words made only of safe characters stay as they
 * are; anything else is put in single quotes, with each `'` written as `'\''`.
 */
export function shellQuote(arg: string): string {
  if (arg.length > 0 && /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg)) {
    return arg;
  }
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** JSON with object keys sorted at every level, so equal values always give equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) {
    return value.map(sortKeys);
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value as Record<string, unknown>).sort()) {
      out[key] = sortKeys((value as Record<string, unknown>)[key]);
    }
    return out;
  }
  return value;
}

/** A construct prop that breaks a rule; the message names the prop, the value, the rule and the fix. */
export class RotationPropError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RotationPropError';
  }
}

/** `'prop' ("value")` for error messages. */
export function quoteProp(prop: string, value: unknown): string {
  return `'${prop}' (${JSON.stringify(value)})`;
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Throws unless `value` is a DNS-1123 label (what Kubernetes requires of a
 * namespace or a container name): at most 63 lowercase letters, digits and '-', starting and ending
 * with a letter or digit. Tokens are skipped.
 */
export function checkDnsLabel(construct: string, prop: string, value: string, kind: string = 'namespace name'): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  if (value.length === 0 || value.length > 63 || !DNS1123_LABEL.test(value)) {
    throw new RotationPropError(
      `${construct}: ${quoteProp(prop, value)} is not a valid Kubernetes ${kind}: it must be a DNS-1123 label ` +
        `(1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit); ` +
        `use the name exactly as \`kubectl get\` prints it.`,
    );
  }
}

/**
 * Throws unless `value` is a DNS-1123 subdomain (what Kubernetes requires of
 * Secret, Deployment, DaemonSet and StatefulSet names): at most 253 characters,
 * dot-separated labels of lowercase letters, digits and '-'. Tokens are skipped.
 */
export function checkDnsSubdomain(construct: string, prop: string, value: string): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  if (value.length === 0 || value.length > 253 || !DNS1123_SUBDOMAIN.test(value)) {
    throw new RotationPropError(
      `${construct}: ${quoteProp(prop, value)} is not a valid Kubernetes object name: it must be a DNS-1123 subdomain ` +
        `(at most 253 characters; dot-separated parts of lowercase letters, digits or '-', each starting and ending ` +
        `with a letter or digit); use the name exactly as \`kubectl get\` prints it.`,
    );
  }
}

/** Throws when a required string prop is empty (tokens are skipped). */
export function checkNotEmpty(construct: string, prop: string, value: string | undefined): void {
  if (value === undefined || (!Token.isUnresolved(value) && value.trim().length === 0)) {
    throw new RotationPropError(
      `${construct}: ${quoteProp(prop, value ?? '')} must not be empty; set it to the value described in the prop's documentation.`,
    );
  }
}

/**
 * Adds a warning that can be acknowledged by its id:
 * `[cert-rotation:<id>] <message>`. `id` may be given with or without its
 * `cert-rotation:` namespace (lib/pki's ids carry it). A message that already
 * carries the `[cert-rotation:…]` prefix is added as it is.
 */
export function addRotationWarning(scope: IConstruct, id: string, message: string): void {
  const bare = id.startsWith('cert-rotation:') ? id.slice('cert-rotation:'.length) : id;
  const text = message.startsWith('[cert-rotation:') ? message : `[cert-rotation:${bare}] ${message}`;
  Annotations.of(scope).addWarning(text);
}

/** A copy with keys in sorted order (stable JSON and plan output). */
export function sortedRecord(record: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(record).sort()) {
    out[key] = record[key];
  }
  return out;
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/**
 * Throws unless `hostname` is a lowercase DNS name without scheme, port or
 * path, as Rancher's chart value `hostname` must be. Tokens are skipped.
 */
export function checkHostname(construct: string, hostname: string): void {
  if (Token.isUnresolved(hostname)) {
    return;
  }
  if (typeof hostname !== 'string' || !HOSTNAME.test(hostname)) {
    throw new RotationPropError(
      `${construct}: ${quoteProp('hostname', hostname)} is not a DNS name: Rancher's hostname must be lowercase letters, ` +
        `digits, '-' and '.', without scheme, port or path; use the name users type in the browser, e.g. 'rancher.example.com'.`,
    );
  }
}
