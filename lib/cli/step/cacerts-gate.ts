/**
 * The `cacerts-gate` step: nothing changes an agent until Rancher serves the
 * new CA. Waits for the Rancher Deployment's rollout, then polls
 * `/v3/settings/cacerts` over HTTPS, verifying the server with the new CA,
 * until the setting hashes to the expected `CATTLE_CA_CHECKSUM` (or is empty
 * for a public CA) and the server presents the new certificate.
 *
 * Rancher reads `cacerts.pem` once at start (rancher/rancher pkg/tls), so a
 * gate that times out means the Rancher pods did not restart with the new
 * `tls-ca`; the apply stops there, before any agent.
 */
import { createHash } from 'crypto';
import type * as https from 'https';
import type { TLSSocket } from 'tls';
import type { CacertsGateStepSpec } from '../../steps/spec';
import { short, StepContext, StepFailure } from './context';
import { rolloutPending } from './workloads';

/** What one poll saw. */
export interface CacertsAnswer {
  /** The setting's checksum as agents compute it ('' for an empty setting), or undefined when there was no answer. */
  readonly checksum?: string;
  /** SHA-256 of the leaf the server presented. */
  readonly leafSha256?: string;
  /** Why there was no usable answer. */
  readonly error?: string;
}

/** `CATTLE_CA_CHECKSUM` of a `cacerts` setting: sha256(trimmed value + "\n"); '' for an empty setting. */
export function servedChecksum(value: string): string {
  const trimmed = value.trim();
  return trimmed === '' ? '' : createHash('sha256').update(`${trimmed}\n`).digest('hex');
}

/** One GET of the cacerts URL. */
export function fetchCacerts(spec: CacertsGateStepSpec, timeoutMs = 10_000): Promise<CacertsAnswer> {
  const url = new URL(spec.url);
  const [connectHost, connectPort] = spec.connectTo ? splitHostPort(spec.connectTo) : [url.hostname, url.port || '443'];
  return new Promise((resolve) => {
    const req = (require('https') as typeof https).request(
      {
        host: connectHost,
        port: Number(connectPort),
        path: `${url.pathname}${url.search}`,
        method: 'GET',
        servername: url.hostname,
        headers: { Host: url.host, Accept: 'application/json', 'User-Agent': 'cert-rotation' },
        ...(spec.trustPem ? { ca: spec.trustPem } : {}),
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const peer = (res.socket as TLSSocket).getPeerCertificate?.();
        const leafSha256 = peer?.raw ? createHash('sha256').update(peer.raw).digest('hex') : undefined;
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          if (res.statusCode !== 200) {
            resolve({ leafSha256, error: `HTTP ${res.statusCode}` });
            return;
          }
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            resolve({ leafSha256, checksum: servedChecksum(typeof body?.value === 'string' ? body.value : '') });
          } catch {
            resolve({ leafSha256, error: 'the answer is not JSON' });
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ? `${err.code}: ${err.message}` : err.message }));
    req.end();
  });
}

function splitHostPort(text: string): [string, string] {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(text);
  if (!m) throw new StepFailure(`connectTo '${text}' is not host:port`);
  return [m[1], m[2]];
}

function expected(spec: CacertsGateStepSpec): string {
  return spec.checksum === '' ? 'an empty cacerts setting (public CA)' : `checksum ${short(spec.checksum)}`;
}

export async function runCacertsGate(spec: CacertsGateStepSpec, ctx: StepContext, fetch: (s: CacertsGateStepSpec) => Promise<CacertsAnswer> = fetchCacerts): Promise<void> {
  const deadline = ctx.now() + spec.timeoutSeconds * 1000;
  const deployment = `${spec.deployment.namespace}/${spec.deployment.name}`;
  const apiPath = `/apis/apps/v1/namespaces/${encodeURIComponent(spec.deployment.namespace)}/deployments/${encodeURIComponent(spec.deployment.name)}`;
  const how = `Run 'kubectl -n ${spec.deployment.namespace} rollout status deploy/${spec.deployment.name}' and, if the pods did not restart, ` +
    `'kubectl -n ${spec.deployment.namespace} rollout restart deploy/${spec.deployment.name}'; then deploy again`;
  let lastLog = 0;
  const progress = (line: string) => {
    if (ctx.now() - lastLog >= 30_000) {
      ctx.log(line);
      lastLog = ctx.now();
    }
  };

  // 1. The Rancher pods restarted (they read cacerts.pem only at start).
  for (;;) {
    const o = await ctx.kube.get<any>(apiPath);
    const why = rolloutPending('Deployment', o);
    if (!why) break;
    if (ctx.now() >= deadline) {
      throw new StepFailure(
        `deployment ${deployment} has not rolled out after ${spec.timeoutSeconds} s (${why}), so Rancher may still serve the old CA. ` +
          `No agent was changed. ${how}`,
      );
    }
    progress(`waiting for deployment ${deployment} to roll out (${why})`);
    await ctx.sleep(2000);
  }
  ctx.log(`deployment ${deployment} rolled out`);

  // 2. Rancher serves the new CA, and the server presents the new certificate.
  lastLog = 0;
  let last: CacertsAnswer = {};
  for (;;) {
    last = await fetch(spec);
    const caOk = last.checksum === spec.checksum;
    const leafOk = spec.leafSha256 === undefined || last.leafSha256 === spec.leafSha256;
    if (caOk && leafOk) {
      ctx.log(`${spec.url} serves ${expected(spec)}${spec.leafSha256 ? ` and presents the new certificate (sha256 ${short(spec.leafSha256)})` : ''}; agents may change now`);
      return;
    }
    const seen = last.error
      ? `no answer (${last.error})`
      : `${last.checksum === '' ? 'an empty setting' : `checksum ${short(last.checksum ?? '?')}`}${leafOk ? '' : `, presenting certificate sha256 ${short(last.leafSha256 ?? '?')}`}`;
    if (ctx.now() >= deadline) {
      throw new StepFailure(
        `after ${spec.timeoutSeconds} s, ${spec.url} gives ${seen}; expected ${expected(spec)}` +
          `${spec.leafSha256 ? ` with certificate sha256 ${short(spec.leafSha256)}` : ''}${spec.trustPem ? ', verified with the new CA' : ''}. ` +
          `No agent was changed. ${how}`,
      );
    }
    progress(`waiting for ${spec.url} to serve ${expected(spec)}: it gives ${seen}`);
    await ctx.sleep(2000);
  }
}
