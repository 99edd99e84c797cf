/**
 * The `secret` step: server-side applies one Secret (taking it over when it
 * exists, whoever wrote it) and reads it back.
 *
 * A key is read from its file here, at apply, and checked against the digest
 * taken at synth; it goes only to the API server. Nothing printed or thrown
 * holds secret data: values are named by key and SHA-256.
 */
import { createPrivateKey, X509Certificate } from 'crypto';
import * as fs from 'fs';
import { sha256Hex } from '../../contract';
import type { SecretStepSpec } from '../../steps/spec';
import { KubeApiError } from '../kube/client';
import { short, StepContext, StepFailure } from './context';

/** Secrets larger than this are refused before they reach the API server (which refuses 1 MiB). */
const MAX_FILE_BYTES = 1024 * 1024;

function readValue(spec: SecretStepSpec, key: string): Buffer {
  const value = spec.data[key];
  if ('text' in value) return Buffer.from(value.text, 'utf8');
  let bytes: Buffer;
  try {
    const stat = fs.statSync(value.file);
    if (!stat.isFile()) throw new Error('it is not a regular file');
    if (stat.size > MAX_FILE_BYTES) throw new Error(`it is ${stat.size} bytes, more than a Secret can hold`);
    bytes = fs.readFileSync(value.file);
  } catch (err) {
    throw new StepFailure(`cannot read ${value.file} for ${key} of ${spec.namespace}/${spec.name}: ${(err as Error).message}; nothing was written`);
  }
  if (sha256Hex(bytes) !== value.sha256) {
    throw new StepFailure(
      `${value.file} changed after this plan was made (it no longer holds what was checked at synth, SHA-256 ${short(value.sha256)}); ` +
        `nothing was written to ${spec.namespace}/${spec.name}: make the plan again from the files you mean to deploy`,
    );
  }
  return bytes;
}

/** For `kubernetes.io/tls`: the key must be the certificate's (first certificate of tls.crt). */
function checkKeyPair(spec: SecretStepSpec, data: Record<string, Buffer>): void {
  if (spec.type !== 'kubernetes.io/tls') return;
  const where = `${spec.namespace}/${spec.name}`;
  try {
    const cert = new X509Certificate(data['tls.crt']);
    if (!cert.checkPrivateKey(createPrivateKey(data['tls.key']))) {
      throw new StepFailure(`tls.key does not belong to the certificate in tls.crt of ${where}; nothing was written`);
    }
  } catch (err) {
    if (err instanceof StepFailure) throw err;
    throw new StepFailure(`cannot check that tls.key belongs to tls.crt of ${where} (${(err as Error).message.split('\n')[0]}); nothing was written`);
  }
}

export async function runSecretStep(spec: SecretStepSpec, ctx: StepContext): Promise<void> {
  const where = `${spec.namespace}/${spec.name}`;
  const data: Record<string, Buffer> = {};
  for (const key of Object.keys(spec.data).sort()) data[key] = readValue(spec, key);
  checkKeyPair(spec, data);

  const apiPath = `/api/v1/namespaces/${encodeURIComponent(spec.namespace)}/secrets/${encodeURIComponent(spec.name)}`;
  let existed = true;
  try {
    await ctx.kube.get(apiPath);
  } catch (err) {
    if (!(err instanceof KubeApiError && err.statusCode === 404)) throw err;
    existed = false;
  }
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: spec.name, namespace: spec.namespace, annotations: spec.annotations },
    type: spec.type,
    data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, v.toString('base64')])),
  };
  try {
    await ctx.kube.patch(apiPath, body, 'application/apply-patch+yaml', { fieldManager: spec.fieldManager, force: 'true' });
  } catch (err) {
    if (err instanceof KubeApiError) {
      const hint =
        err.statusCode === 422 && /type/i.test(err.message)
          ? `; the existing Secret has another type than ${spec.type}: delete it (kubectl -n ${spec.namespace} delete secret ${spec.name}) and deploy again`
          : err.statusCode === 404
            ? `; does namespace ${spec.namespace} exist?`
            : '';
      throw new StepFailure(`writing ${where} failed: ${err.message}${hint}. The Secret is as it was; deploy again to retry`);
    }
    throw err;
  }

  // Read back: what the API server holds now, not what it answered.
  const stored = await ctx.kube.get<{ type?: string; data?: Record<string, string>; metadata?: { annotations?: Record<string, string> } }>(apiPath);
  const problems: string[] = [];
  for (const [key, bytes] of Object.entries(data)) {
    const held = stored.data?.[key];
    if (held === undefined) problems.push(`${key} is missing`);
    else if (sha256Hex(Buffer.from(held, 'base64')) !== sha256Hex(bytes)) problems.push(`${key} holds other content (SHA-256 ${short(sha256Hex(Buffer.from(held, 'base64')))}, written ${short(sha256Hex(bytes))})`);
  }
  for (const [name, value] of Object.entries(spec.annotations)) {
    if (stored.metadata?.annotations?.[name] !== value) problems.push(`annotation ${name} is '${stored.metadata?.annotations?.[name] ?? ''}', written '${value}'`);
  }
  if (stored.type !== spec.type) problems.push(`type is ${stored.type}, not ${spec.type}`);
  if (problems.length > 0) {
    throw new StepFailure(
      `${where} read back after the write does not hold what was written: ${problems.join('; ')}. ` +
        'Something else writes this Secret (cert-manager for a Rancher-issued certificate, a mutating webhook): stop it, then deploy again',
    );
  }
  const summary = Object.keys(data)
    .map((k) => (spec.data[k] && 'file' in spec.data[k] ? `${k} from its file` : `${k} sha256 ${short(sha256Hex(data[k]))}`))
    .join(', ');
  ctx.log(`${where}: ${existed ? 'taken over and updated' : 'created'} (server-side apply as ${spec.fieldManager}); read back: ${summary}${spec.type === 'kubernetes.io/tls' ? ', key matches the certificate' : ''}`);
}
