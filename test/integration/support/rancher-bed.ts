import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { kubeGet, kubeSend, loadTestbedEnv, REPO_ROOT, run, RunResult, testbedProcessEnv } from './testbed';

export const CHARTS = path.join(REPO_ROOT, 'test', 'fixtures', 'charts');

/** Runs the test bed's real helm against cluster `cluster` (1-based). */
export function helm(cluster: number, args: string[], ok = [0]): RunResult {
  const tb = loadTestbedEnv();
  return run(tb.TESTBED_HELM, [...args, '--kubeconfig', tb.KUBECONFIG, '--kube-context', `testbed-${cluster}`], { env: testbedProcessEnv(), ok });
}

/**
 * Makes cluster `cluster` look like a Rancher-managed cluster: the agents and
 * system workloads of seed 000 step 4 (fixture chart), once.
 */
export function installRancherAgents(cluster: number, caChecksum = ''): void {
  for (const ns of ['cattle-system', 'ingress-nginx']) ensureNamespace(cluster, ns);
  const list = helm(cluster, ['list', '--all-namespaces', '-o', 'json']).stdout;
  if (JSON.parse(list).some((r: any) => r.name === 'rancher-agents')) return;
  helm(cluster, ['install', 'rancher-agents', path.join(CHARTS, 'rancher-agents'), '--namespace', 'default', '--set', `caChecksum=${caChecksum}`]);
}

/**
 * Creates a namespace unless it exists. Tests never delete namespaces: the test
 * bed has no namespace controller, so a deleted one stays Terminating.
 */
export function ensureNamespace(cluster: number, name: string): void {
  const existing = kubeGet(cluster, '/api/v1/namespaces').items.map((n: any) => n.metadata.name);
  if (!existing.includes(name)) kubeSend(cluster, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

/** Installs the Rancher fixture chart with Rancher's own certificate (ingress.tls.source=rancher). */
export function installRancherChart(cluster: number, hostname: string): void {
  helm(cluster, ['install', 'rancher', path.join(CHARTS, 'rancher'), '--namespace', 'cattle-system',
    '--set', `hostname=${hostname}`, '--set', 'ingress.tls.source=rancher', '--set', 'auditLog.level=2']);
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
