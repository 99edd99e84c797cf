import { clusterWorkloads, PROFILE_WORKLOADS } from './support/profiles';
import { kubeGet, loadTestbedEnv } from '../../scripts/testbed/client';

// Each cluster of the test bed runs exactly the workloads a real cluster of its
// profile runs (names from Rancher's, RKE's and RKE2's sources), all Ready.
describe('test bed: cluster profiles', () => {
  const env = loadTestbedEnv();
  const clusters = Array.from({ length: Number(env.TESTBED_CLUSTERS) }, (_, i) => i + 1)
    .filter((i) => env[`TESTBED_PROFILE_${i}`] !== 'bare');

  test('the suite\'s test bed has a Rancher server, an RKE1 and an RKE2 downstream cluster of 2.8, and an RKE2 one of 2.12', () => {
    expect(clusters.map((i) => env[`TESTBED_PROFILE_${i}`])).toEqual(['rancher-local', 'rke1', 'rke2', 'rancher-2.12']);
  });

  test.each(clusters)('cluster %i has exactly its profile\'s workloads, all Ready', (cluster) => {
    const profile = env[`TESTBED_PROFILE_${cluster}`];
    const workloads = clusterWorkloads(cluster);
    expect(workloads.map((w) => w.name)).toEqual([...PROFILE_WORKLOADS[profile]].sort((a, b) => a.localeCompare(b)));
    expect(workloads.filter((w) => !w.ready).map((w) => w.name)).toEqual([]);
  });

  test('agents: none on the Rancher server cluster, the node agent only on RKE1, the cluster agent keeps one pod up while it rolls', () => {
    const byProfile = (p: string) => clusters.find((i) => env[`TESTBED_PROFILE_${i}`] === p)!;
    const names = (c: number) => clusterWorkloads(c).map((w) => w.name);
    expect(names(byProfile('rancher-local')).filter((n) => n.includes('cattle-cluster-agent') || n.includes('cattle-node-agent'))).toEqual([]);
    expect(names(byProfile('rke1'))).toContain('DaemonSet cattle-system/cattle-node-agent');
    expect(names(byProfile('rke2'))).not.toContain('DaemonSet cattle-system/cattle-node-agent');
    const agent = kubeGet(byProfile('rke2'), '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent');
    expect(agent.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
    const container = agent.spec.template.spec.containers.find((c: any) => c.name === 'cluster-register');
    expect(container.env.map((e: any) => e.name)).toEqual(expect.arrayContaining(['CATTLE_SERVER', 'CATTLE_CA_CHECKSUM']));
  });
});
