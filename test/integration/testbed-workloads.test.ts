import * as fs from 'fs';
import { kubeGet, kubectl, loadTestbedEnv, waitFor } from '../../scripts/testbed/client';

// The test bed runs the real kube-controller-manager and kube-scheduler, and
// kwok as the kubelet of its fake nodes: a pod-template change really replaces
// pods, `kubectl rollout status` returns, namespaces finish deleting and every
// namespace gets kube-root-ca.crt from --root-ca-file.
describe('test bed: real workload controllers', () => {
  const cluster = 2;
  const ns = `rollout-${Date.now().toString(36)}`;

  function podNames(selector: string): string[] {
    return kubeGet(cluster, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`).items
      .filter((p: any) => !p.metadata.deletionTimestamp)
      .map((p: any) => p.metadata.name)
      .sort();
  }

  function readyPods(selector: string): string[] {
    return kubeGet(cluster, `/api/v1/namespaces/${ns}/pods?labelSelector=${encodeURIComponent(selector)}`).items
      .filter((p: any) => !p.metadata.deletionTimestamp && p.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True'))
      .map((p: any) => p.metadata.name)
      .sort();
  }

  beforeAll(() => {
    kubectl(cluster, ['create', 'namespace', ns]);
  });

  test('a Deployment and a DaemonSet roll when their pod template changes; rollout status returns', () => {
    const manifest = (kind: string, name: string) => JSON.stringify({
      apiVersion: 'apps/v1', kind,
      metadata: { name, namespace: ns },
      spec: {
        ...(kind === 'Deployment' ? { replicas: 2 } : {}),
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'main', image: 'registry.invalid/never-pulled:1' }] } },
      },
    });
    for (const [kind, name] of [['Deployment', 'web'], ['DaemonSet', 'agent']]) {
      kubectl(cluster, ['apply', '-f', '-'], { input: manifest(kind, name) });
    }
    expect(kubectl(cluster, ['rollout', 'status', '-n', ns, 'deployment/web', '--timeout=60s']).stdout).toMatch(/successfully rolled out/);
    expect(kubectl(cluster, ['rollout', 'status', '-n', ns, 'daemonset/agent', '--timeout=60s']).stdout).toMatch(/successfully rolled out/);
    const nodes = kubeGet(cluster, '/api/v1/nodes').items.length;
    const webBefore = readyPods('app=web');
    const agentBefore = readyPods('app=agent');
    expect(webBefore).toHaveLength(2);
    expect(agentBefore).toHaveLength(nodes);

    const patch = JSON.stringify({ spec: { template: { metadata: { annotations: { 'ca-rotation': 'a1b2' } } } } });
    kubectl(cluster, ['patch', '-n', ns, 'deployment/web', '-p', patch]);
    kubectl(cluster, ['patch', '-n', ns, 'daemonset/agent', '-p', patch]);
    expect(kubectl(cluster, ['rollout', 'status', '-n', ns, 'deployment/web', '--timeout=60s']).stdout).toMatch(/successfully rolled out/);
    expect(kubectl(cluster, ['rollout', 'status', '-n', ns, 'daemonset/agent', '--timeout=60s']).stdout).toMatch(/successfully rolled out/);

    // Every pod was replaced by one that carries the new annotation.
    const webAfter = readyPods('app=web');
    expect(webAfter).toHaveLength(2);
    expect(webAfter.filter((p) => webBefore.includes(p))).toEqual([]);
    const agentAfter = readyPods('app=agent');
    expect(agentAfter).toHaveLength(nodes);
    expect(agentAfter.filter((p) => agentBefore.includes(p))).toEqual([]);
    for (const p of [...webAfter, ...agentAfter]) {
      expect(kubeGet(cluster, `/api/v1/namespaces/${ns}/pods/${p}`).metadata.annotations?.['ca-rotation']).toBe('a1b2');
    }
    // kwok removes the deleted pods, as a kubelet confirms a graceful deletion.
    expect(podNames('app=web')).toEqual(webAfter);
  });

  test('kube-root-ca.crt in every namespace holds the CA of --root-ca-file', async () => {
    const env = loadTestbedEnv();
    const ca = fs.readFileSync(`${env.TESTBED_DIR}/clusters/${cluster}/pki/serving-ca.crt`, 'utf8');
    const cm = await waitFor('kube-root-ca.crt in the new namespace', () => kubeGet(cluster, `/api/v1/namespaces/${ns}/configmaps/kube-root-ca.crt`));
    expect(cm.data['ca.crt']).toBe(ca);
  });

  test('a deleted namespace goes away (namespace controller)', async () => {
    kubectl(cluster, ['delete', 'namespace', ns, '--wait=false']);
    await waitFor(`namespace ${ns} to be deleted`, () => {
      const names = kubeGet(cluster, '/api/v1/namespaces').items.map((n: any) => n.metadata.name);
      return !names.includes(ns);
    }, 60);
  });
});
