/**
 * Helpers shared by the rotation constructs: content revisions, field
 * managers, shell quoting, canonical JSON, prop checks against the shared
 * rules (`lib/rules`) and namespaced warnings. Nothing here creates resources.
 */
import { Annotations, ITerraformDependable, TerraformProvider, Token } from 'cdktf';
import { IConstruct } from 'constructs';
import { ANNOTATION_PREFIX, ANNOTATIONS, fieldManagerFor, sha256Hex } from '../contract';
import { Rule, Violation } from '../rules';

export { ANNOTATION_PREFIX };

/** Annotation on pod templates whose value is the content hash of what the pods must trust. */
export const TRUST_ANNOTATION = ANNOTATIONS.trustSha256;

/** Props every construct that writes to a cluster takes: which cluster, and after what. */
export interface RotationBaseProps {
  /**
   * The provider of the cluster the construct writes to (a Kubernetes
   * provider, or a Helm provider for a managed release).
   * @default - the stack's default provider of that type
   */
  readonly provider?: TerraformProvider;
  /**
   * Resources the construct's writes run after.
   * @default [] - no explicit dependencies
   */
  readonly dependsOn?: ITerraformDependable[];
}

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
  return fieldManagerFor(typeof scope === 'string' ? scope : scope.node.path, purpose);
}

/**
 * Text that Terraform must take as it is: `${` and `%{` (which Terraform reads
 * as an expression or a template directive in any string of its
 * configuration) are escaped as `$${` and `%%{`. Use it on values that come
 * from a configuration file or a person, never on strings that carry cdktf
 * tokens (those are meant to be evaluated).
 */
export function terraformLiteral(text: string): string {
  return text.replace(/\$\{/g, '$$${').replace(/%\{/g, '%%{');
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

/**
 * A construct prop that breaks a rule. The message names the construct, the
 * prop and its value, the rule and the fix; the fields let an app that built
 * the props from a configuration file name the file's field instead.
 */
export class RotationPropError extends Error {
  constructor(
    /** The construct whose prop is wrong, e.g. `RolloutRestart`. */
    readonly construct: string,
    /** The prop, as a dotted path, e.g. `workload.namespace`. */
    readonly prop: string,
    /** The value given. */
    readonly value: unknown,
    /** What is wrong, a sentence without the location. */
    readonly problem: string,
    /** How to fix it. */
    readonly fix: string,
  ) {
    super(`${construct}: ${quoteProp(prop, value)} ${problem}; ${fix}.`);
    this.name = 'RotationPropError';
  }
}

/** `'prop' ("value")` for error messages. */
export function quoteProp(prop: string, value: unknown): string {
  return `'${prop}' (${JSON.stringify(value)})`;
}

/** Throws a {@link RotationPropError} when `value` breaks `rule`. Unresolved tokens are skipped. */
export function checkProp<T>(construct: string, prop: string, value: T, rule: Rule<T>): void {
  if (Token.isUnresolved(value)) {
    return;
  }
  const violation: Violation | undefined = rule(value);
  if (violation) {
    throw new RotationPropError(construct, prop, value, violation.problem, violation.fix);
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
