/**
 * The Rancher model of the test bed as agents and reviewers see it: what it
 * serves, what it logged, and the secrets of its cluster.
 */
import { execFileSync } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import { kubeGet, loadTestbedEnv } from '../client';

/** One line of the Rancher model's log ($TESTBED_DIR/rancher-model/events.jsonl). */
export interface ModelEvent {
  time: string;
  event: string;
  [field: string]: any;
}

/** Every event the Rancher model has logged, oldest first. */
export function modelEvents(): ModelEvent[] {
  const file = loadTestbedEnv().TESTBED_RANCHER_EVENTS;
  if (!file) throw new Error('the test bed has no Rancher model: start it with a rancher-local profile');
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

/** GET https://<rancher>/v3/settings/cacerts as an agent does (no verification), or the HTTP status. */
export function servedCacerts(): { status: number; value?: string } {
  const env = loadTestbedEnv();
  const out = execFileSync('curl', ['-sk', '--max-time', '5', '-w', '\n%{http_code}',
    '--resolve', `${env.TESTBED_RANCHER_HOSTNAME}:${env.TESTBED_RANCHER_PORT}:127.0.0.1`,
    `${env.TESTBED_RANCHER_URL}/v3/settings/cacerts`], { encoding: 'utf8' });
  const i = out.lastIndexOf('\n');
  const status = Number(out.slice(i + 1));
  return status === 200 ? { status, value: JSON.parse(out.slice(0, i)).value } : { status };
}

/** The checksum an agent computes over a cacerts value (what `jq -r .value | sha256sum` gives). */
export function checksumOf(value: string): string {
  return createHash('sha256').update(`${value}\n`).digest('hex');
}

/** The certificate chain the Rancher ingress presents now (PEM, leaf first), read with openssl s_client. */
export function presentedChain(): string {
  const env = loadTestbedEnv();
  const out = execFileSync('openssl', ['s_client', '-connect', `127.0.0.1:${env.TESTBED_RANCHER_PORT}`,
    '-servername', env.TESTBED_RANCHER_HOSTNAME, '-showcerts'], { input: '', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  return (out.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).join('\n') + '\n';
}

/** Decoded data of a secret in cluster `cluster`. */
export function secretData(cluster: number, namespace: string, name: string): Record<string, string> {
  const s = kubeGet(cluster, `/api/v1/namespaces/${namespace}/secrets/${name}`);
  return Object.fromEntries(Object.entries(s.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}
