import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { X509Certificate } from 'crypto';
import { helm, kubectl, kubeGet, kubeSend, loadTestbedEnv, REPO_ROOT, waitFor } from '../../../scripts/testbed/client';
import { checksumOf, presentedChain, servedCacerts } from '../../../scripts/testbed/rancher-model/client';

export const CHARTS = path.join(REPO_ROOT, 'test', 'fixtures', 'charts');

/** Creates a namespace unless it exists. */
export function ensureNamespace(cluster: number, name: string): void {
  const existing = kubeGet(cluster, '/api/v1/namespaces').items.map((n: any) => n.metadata.name);
  if (!existing.includes(name)) kubeSend(cluster, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** The agent workloads of a downstream cluster that exist there (its profile decides). */
export function agentWorkloads(cluster: number): { kind: string; name: string; container: string }[] {
  const out = [];
  for (const [kind, plural, name, container] of [['Deployment', 'deployments', 'cattle-cluster-agent', 'cluster-register'], ['DaemonSet', 'daemonsets', 'cattle-node-agent', 'agent']]) {
    const items = kubeGet(cluster, `/apis/apps/v1/namespaces/cattle-system/${plural}`).items;
    if (items.some((w: any) => w.metadata.name === name)) out.push({ kind, name, container });
  }
  return out;
}

/**
 * Puts the test bed's Rancher back to a fresh install: chart values as
 * installed (ingress.tls.source=rancher), no tls-ca, tls-rancher-ingress issued
 * again by cert-manager from Rancher's own CA, rancher pods restarted, and every
 * downstream agent carrying the checksum Rancher serves (as Rancher renders
 * them). Tests that change the install call it first.
 */
export async function resetRancherInstall(): Promise<void> {
  const env = loadTestbedEnv();
  const server = Number(env.TESTBED_RANCHER_CLUSTER);
  helm(server, ['upgrade', '--install', 'rancher', path.join(CHARTS, 'rancher'), '--namespace', 'cattle-system', '--reset-values',
    '--set', `hostname=${env.TESTBED_RANCHER_HOSTNAME}`]);
  kubectl(server, ['delete', 'secret', '-n', 'cattle-system', 'tls-ca', 'tls-rancher-ingress', '--ignore-not-found']);
  kubectl(server, ['rollout', 'restart', '-n', 'cattle-system', 'deployment/rancher']);
  kubectl(server, ['rollout', 'status', '-n', 'cattle-system', 'deployment/rancher', '--timeout=90s']);
  const ownCa = Buffer.from(kubeGet(server, '/api/v1/namespaces/cattle-system/secrets/tls-rancher').data['tls.crt'], 'base64').toString().trim();
  await waitFor('Rancher to serve its own CA again', () => servedCacerts().value === ownCa, 60);
  await waitFor('cert-manager to issue tls-rancher-ingress again', () => new X509Certificate(presentedChain()).verify(new X509Certificate(ownCa).publicKey), 60);
  for (let c = 1; c <= Number(env.TESTBED_CLUSTERS); c++) {
    if (c === server || env[`TESTBED_PROFILE_${c}`] === 'bare') continue;
    for (const w of agentWorkloads(c)) {
      kubectl(c, ['set', 'env', '-n', 'cattle-system', `${w.kind.toLowerCase()}/${w.name}`, `CATTLE_CA_CHECKSUM=${checksumOf(ownCa)}`]);
      kubectl(c, ['rollout', 'status', '-n', 'cattle-system', `${w.kind.toLowerCase()}/${w.name}`, '--timeout=90s']);
    }
  }
}

/** Writes a configuration file for main.ts / loadConfig and returns its path. */
export function writeConfig(dir: string, config: unknown): string {
  const file = path.join(dir, 'cert-rotation.yaml');
  fs.writeFileSync(file, stringify(config));
  return file;
}

/** Counts planned changes by resource type and action, e.g. {'kubernetes_env:update': 4}. */
export function countChanges(changes: { type: string; actions: string[] }[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of changes) {
    const k = `${c.type}:${c.actions.join('+')}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
