import { StepFailure } from '../../../lib/cli/step/context';
import { FORCE_DEPLOY_ANNOTATION, runForceDeploy } from '../../../lib/cli/step/force-deploy';
import { runAgentsStep, workloadPath } from '../../../lib/cli/step/workloads';
import { CLUSTER_AGENT } from '../../../lib/rancher-agents';
import { AgentsStepSpec, ForceDeployStepSpec } from '../../../lib/steps/spec';
import { fakeContext, FakeKube, workload } from './support/fake-step-kube';

// Method 1 of Rancher's procedure: the tool asks Rancher to re-render a
// cluster's agents (io.cattle.agent.force.deploy=true on its
// clusters.management.cattle.io object) and then only waits for Rancher's write.
const CLUSTER_PATH = '/apis/management.cattle.io/v3/clusters/c-m-abcd1234';
const NEW = 'b'.repeat(64);
const OLD = 'a'.repeat(64);

const spec: ForceDeployStepSpec = { step: 'force-deploy', clusterId: 'c-m-abcd1234', checksum: NEW, timeoutSeconds: 60 };

describe('runForceDeploy', () => {
  test('annotates the cluster object and returns once Rancher has set the annotation back to "false"', async () => {
    const kube = new FakeKube();
    kube.objects.set(CLUSTER_PATH, { metadata: { name: 'c-m-abcd1234', annotations: {} } });
    let reads = 0;
    const get = kube.get.bind(kube);
    kube.get = async (p: string, q?: any) => {
      // Rancher's controller takes the request after a few reads.
      if (p === CLUSTER_PATH && kube.objects.get(p).metadata.annotations[FORCE_DEPLOY_ANNOTATION] === 'true' && ++reads === 3) {
        kube.objects.get(p).metadata.annotations[FORCE_DEPLOY_ANNOTATION] = 'false';
      }
      return get(p, q);
    };
    const { ctx, lines } = fakeContext(kube, { cluster: 'server', kubeconfig: '/abs/k' });
    await runForceDeploy(spec, ctx);
    expect(kube.patches).toEqual([
      { path: CLUSTER_PATH, body: { metadata: { annotations: { [FORCE_DEPLOY_ANNOTATION]: 'true' } } }, contentType: 'application/merge-patch+json', query: {} },
    ]);
    expect(lines.join('\n')).toMatch(/Rancher took the request \(io\.cattle\.agent\.force\.deploy is 'false' again\)/);
  });

  test('an unknown cluster id fails naming the field and how to find the id; nothing is patched', async () => {
    const kube = new FakeKube();
    const { ctx } = fakeContext(kube);
    await expect(runForceDeploy(spec, ctx)).rejects.toThrow(StepFailure);
    await expect(runForceDeploy(spec, ctx)).rejects.toThrow(/Rancher has no cluster 'c-m-abcd1234'.*downstream\[\]\.clusterId/);
    expect(kube.patches).toEqual([]);
  });

  test('Rancher never takes the request: fails after the timeout saying what to check', async () => {
    const kube = new FakeKube();
    kube.objects.set(CLUSTER_PATH, { metadata: { annotations: {} } });
    const { ctx } = fakeContext(kube);
    await expect(runForceDeploy(spec, ctx)).rejects.toThrow(/did not take the re-deploy request for cluster c-m-abcd1234 within 60 s/);
  });
});

describe('runAgentsStep with verifyOnly (after force-deploy)', () => {
  const agents = (checksum: string | null): AgentsStepSpec => ({
    step: 'agents', checksum, verifyOnly: true, workloads: [CLUSTER_AGENT], fieldManager: 'fm', waitSeconds: 30,
  });

  test('never patches; returns when Rancher has written the checksum and the agent rolled out', async () => {
    const kube = new FakeKube();
    kube.objects.set(workloadPath(CLUSTER_AGENT), workload('Deployment', [{ name: 'cluster-register', env: [{ name: 'CATTLE_CA_CHECKSUM', value: NEW }] }]));
    const { ctx, lines } = fakeContext(kube);
    await runAgentsStep(agents(NEW), ctx);
    expect(kube.patches).toEqual([]);
    expect(lines.join('\n')).toMatch(/Rancher re-rendered the agents/);
  });

  test('an empty value (Rancher renders "" for a public CA) counts as no checksum', async () => {
    const kube = new FakeKube();
    kube.objects.set(workloadPath(CLUSTER_AGENT), workload('Deployment', [{ name: 'cluster-register', env: [{ name: 'CATTLE_CA_CHECKSUM', value: '' }] }]));
    const { ctx } = fakeContext(kube);
    await runAgentsStep(agents(null), ctx);
    expect(kube.patches).toEqual([]);
  });

  test('Rancher never re-renders: fails after the wait naming what the agent holds; still nothing patched', async () => {
    const kube = new FakeKube();
    kube.objects.set(workloadPath(CLUSTER_AGENT), workload('Deployment', [{ name: 'cluster-register', env: [{ name: 'CATTLE_CA_CHECKSUM', value: OLD }] }]));
    const { ctx } = fakeContext(kube);
    await expect(runAgentsStep(agents(NEW), ctx)).rejects.toThrow(/Rancher did not re-render the agents within 30 s: Deployment cattle-system\/cattle-cluster-agent has aaaaaaaaaaaa…/);
    expect(kube.patches).toEqual([]);
  });
});
