/**
 * What the construct tests share: the fixed time they judge certificates at,
 * the files Rancher's certificate update takes (tls.crt, tls.key, cacerts.pem)
 * loaded as the app loads them, and
 * helpers to read synthesized stacks. The certificates come from
 * test/support/pki.
 */
import * as path from 'path';
import { App, Testing, TerraformStack } from 'cdktf';
import { IssuedCertificate, loadServerCertificate, ServerCertificate } from '../../../../lib/pki';
import { STEP_ENV, StepEnvelope, StepTarget } from '../../../../lib/steps/spec';
import { PrivateCa, writeRancherFiles } from '../../../support/pki';

/** The time of every check. */
export const NOW = new Date('2025-06-01T00:00:00Z');
/** The validity of every CA and certificate of these tests. */
export const VALIDITY = { notBefore: new Date('2025-01-01T00:00:00Z'), notAfter: new Date('2026-01-01T00:00:00Z') };
const RENEW_BEFORE = 30 * 24 * 60 * 60 * 1000;

export const HOSTNAME = 'rancher.example.com';

/**
 * Writes tls.crt (leaf + intermediate), tls.key and cacerts.pem (intermediate,
 * then root) into `dir/<name>/` and loads them at {@link NOW}, with cacerts.pem
 * unless `withCa` is false.
 */
export function writeServerCertificate(
  dir: string,
  name: string,
  ca: PrivateCa,
  leaf: IssuedCertificate,
  options: { withCa?: boolean; hostname?: string } = {},
): ServerCertificate {
  const files = writeRancherFiles(path.join(dir, name), ca, HOSTNAME, { leaf });
  return loadServerCertificate({
    certFile: files.certFile,
    keyFile: files.keyFile,
    ...(options.withCa ?? true ? { caFile: files.caFile } : {}),
    hostname: options.hostname ?? HOSTNAME,
    now: NOW,
    renewBefore: RENEW_BEFORE,
  });
}

/** A stack without providers: the steps reach their cluster through their target, not a provider. */
export function newStack(app: App = Testing.app()): TerraformStack {
  return new TerraformStack(app, 'test');
}

/** The cluster the single-construct tests write to. */
export const TARGET: StepTarget = { cluster: 'prod', kubeconfig: '/abs/kubeconfig', context: 'prod-admin' };

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

/** What Terraform makes of a literal string of the configuration: `$${` is `${` and `%%{` is `%{`. */
export function terraformText(text: string): string {
  return text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}

/** Every step (`terraform_data` with the step's spec in its environment), as [logical name, config]. */
export function stepResources(json: SynthesizedStack): Array<[string, Record<string, any>]> {
  return resourcesOfType(json, 'terraform_data').filter(([, r]) => r.provisioner?.[0]?.['local-exec']?.environment?.[STEP_ENV] !== undefined);
}

/** The one step of a synthesized stack; fails the test when there is not exactly one. */
export function onlyStep(json: SynthesizedStack): Record<string, any> {
  const all = stepResources(json);
  if (all.length !== 1) {
    throw new Error(`expected exactly one step, found ${all.length}: ${all.map(([n]) => n).join(', ')}`);
  }
  return all[0][1];
}

/** The envelope a step's provisioner passes in $CERT_ROTATION_STEP, as `cert-rotation step` receives it. */
export function stepEnvelope(step: Record<string, any>): StepEnvelope {
  const provisioners = step.provisioner as Array<Record<string, any>>;
  expect(provisioners).toHaveLength(1);
  return JSON.parse(terraformText(provisioners[0]['local-exec'].environment[STEP_ENV])) as StepEnvelope;
}
