/**
 * Certificates generated at test time (lib/pki/issue.ts), written to a fresh
 * temporary directory, loaded with loadServerCertificate, and helpers to read
 * synthesized stacks.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { App, Testing, TerraformStack } from 'cdktf';
import { generateCa, generateLeaf, IssuedCertificate, loadServerCertificate, ServerCertificate } from '../../../../lib/pki';

/** The time of every check. */
export const NOW = new Date('2025-06-01T00:00:00Z');
const NOT_BEFORE = new Date('2025-01-01T00:00:00Z');
const NOT_AFTER = new Date('2026-01-01T00:00:00Z');
const RENEW_BEFORE = 30 * 24 * 60 * 60 * 1000;

export const HOSTNAME = 'rancher.example.com';

/** A private CA: a root and an intermediate that signs server certificates. */
export interface TestCa {
  readonly root: IssuedCertificate;
  readonly intermediate: IssuedCertificate;
}

/** A fresh temporary directory, removed by {@link removeDir}. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cert-rotation-unit-'));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A root CA and an intermediate, named after `name`. */
export function makeCa(name: string, notAfter: Date = NOT_AFTER): TestCa {
  const root = generateCa({ commonName: `${name} Root CA`, organization: 'cert-rotation tests', notBefore: NOT_BEFORE, notAfter });
  const intermediate = generateCa({
    commonName: `${name} Intermediate CA`,
    organization: 'cert-rotation tests',
    notBefore: NOT_BEFORE,
    notAfter,
    issuer: root,
    pathLength: 0,
  });
  return { root, intermediate };
}

/** A server certificate for `hostname`, signed by the CA's intermediate. */
export function makeLeaf(ca: TestCa, options: { hostname?: string; keyPem?: string; notAfter?: Date } = {}): IssuedCertificate {
  const hostname = options.hostname ?? HOSTNAME;
  return generateLeaf({
    commonName: hostname,
    dnsNames: [hostname],
    notBefore: NOT_BEFORE,
    notAfter: options.notAfter ?? NOT_AFTER,
    issuer: ca.intermediate,
    keyPem: options.keyPem,
  });
}

/**
 * Writes tls.crt (leaf + intermediate), tls.key and, when `withCa`, cacerts.pem
 * (intermediate, then root) into `dir/<name>/` and loads them.
 */
export function writeServerCertificate(
  dir: string,
  name: string,
  ca: TestCa,
  leaf: IssuedCertificate,
  options: { withCa?: boolean; hostname?: string } = {},
): ServerCertificate {
  const sub = path.join(dir, name);
  fs.mkdirSync(sub, { recursive: true });
  const certFile = path.join(sub, 'tls.crt');
  const keyFile = path.join(sub, 'tls.key');
  const caFile = path.join(sub, 'cacerts.pem');
  fs.writeFileSync(certFile, leaf.certPem + ca.intermediate.certPem);
  fs.writeFileSync(keyFile, leaf.keyPem, { mode: 0o600 });
  const withCa = options.withCa ?? true;
  if (withCa) {
    fs.writeFileSync(caFile, ca.intermediate.certPem + ca.root.certPem);
  }
  return loadServerCertificate({
    certFile,
    keyFile,
    ...(withCa ? { caFile } : {}),
    hostname: options.hostname ?? HOSTNAME,
    now: NOW,
    renewBefore: RENEW_BEFORE,
  });
}

/** A stack with a default `kubernetes` provider, the way stacks/ builds them. */
export function newStack(app: App = Testing.app()): TerraformStack {
  const stack = new TerraformStack(app, 'test');
  new KubernetesProvider(stack, 'kubernetes', { configPath: '/abs/kubeconfig' });
  return stack;
}

/** The synthesized JSON of a stack, parsed. */
export function synthJson(stack: TerraformStack): SynthesizedStack {
  return JSON.parse(Testing.synth(stack)) as SynthesizedStack;
}

export interface SynthesizedStack {
  readonly resource?: Record<string, Record<string, Record<string, any>>>;
  readonly [key: string]: unknown;
}

/** Every resource of a type, as [logical name, config]. */
export function resourcesOfType(json: SynthesizedStack, type: string): Array<[string, Record<string, any>]> {
  return Object.entries(json.resource?.[type] ?? {});
}

/** The one resource of a type; fails the test when there is not exactly one. */
export function onlyResource(json: SynthesizedStack, type: string): Record<string, any> {
  const all = resourcesOfType(json, type);
  if (all.length !== 1) {
    throw new Error(`expected exactly one ${type}, found ${all.length}: ${all.map(([n]) => n).join(', ')}`);
  }
  return all[0][1];
}

/** `type.name` of every resource whose configuration differs between two synths (or exists in only one). */
export function changedResources(before: SynthesizedStack, after: SynthesizedStack): string[] {
  const addresses = new Set<string>();
  for (const json of [before, after]) {
    for (const [type, byName] of Object.entries(json.resource ?? {})) {
      for (const name of Object.keys(byName)) {
        addresses.add(`${type}.${name}`);
      }
    }
  }
  const changed: string[] = [];
  for (const address of [...addresses].sort()) {
    const [type, name] = address.split(/\.(.*)/s);
    const a = before.resource?.[type]?.[name];
    const b = after.resource?.[type]?.[name];
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      changed.push(address);
    }
  }
  return changed;
}

/** The base64 body lines of a PEM key, to prove that no part of it is in a text. */
export function pemBodyLines(pem: string): string[] {
  return pem
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('-----'));
}
