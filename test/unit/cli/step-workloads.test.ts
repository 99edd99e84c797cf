import { StepFailure } from '../../../lib/cli/step/context';
import { rolloutPending, runAgentsStep, runRestartStep, workloadPath } from '../../../lib/cli/step/workloads';
import { sha256Hex } from '../../../lib/contract';
import { CLUSTER_AGENT, NODE_AGENT } from '../../../lib/rancher-agents';
import { AgentsStepSpec, RestartStepSpec } from '../../../lib/steps/spec';
import { fakeContext, FakeKube, rejection, workload } from './support/fake-step-kube';

const OLD = sha256Hex('old cacerts');
const NEW = sha256Hex('new cacerts');
const STRATEGIC = 'application/strategic-merge-patch+json';
const CLUSTER_AGENT_PATH = '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent';
const NODE_AGENT_PATH = '/apis/apps/v1/namespaces/cattle-system/daemonsets/cattle-node-agent';

type Workload = Parameters<typeof rolloutPending>[1];

function obj(generation: number, spec: Record<string, unknown>, status: Record<string, number | string>): Workload {
  return { metadata: { generation }, spec: { template: { spec: { containers: [] } }, ...spec }, status } as Workload;
}

describe('rolloutPending (as kubectl rollout status)', () => {
  test('Deployment: the controller has seen the change, every replica is updated, no old pod is left, all updated pods are available', () => {
    const done = { observedGeneration: 2, replicas: 3, updatedReplicas: 3, availableReplicas: 3 };
    expect(rolloutPending('Deployment', obj(2, { replicas: 3 }, done))).toBeUndefined();
    expect(rolloutPending('Deployment', obj(3, { replicas: 3 }, done))).toBe('the controller has not seen the change yet');
    expect(rolloutPending('Deployment', obj(2, { replicas: 3 }, { ...done, updatedReplicas: 1 }))).toBe('1 of 3 pods updated');
    expect(rolloutPending('Deployment', obj(2, { replicas: 3 }, { ...done, replicas: 4 }))).toBe('1 old pods still running');
    expect(rolloutPending('Deployment', obj(2, { replicas: 3 }, { ...done, availableReplicas: 2 }))).toBe('2 of 3 updated pods available');
    // replicas defaults to 1; no status at all is not rolled out
    expect(rolloutPending('Deployment', obj(1, {}, { observedGeneration: 1, replicas: 1, updatedReplicas: 1, availableReplicas: 1 }))).toBeUndefined();
    expect(rolloutPending('Deployment', { metadata: {}, spec: { template: { spec: { containers: [] } } } } as Workload)).toBe('0 of 1 pods updated');
  });

  test('DaemonSet: every scheduled pod is updated and available', () => {
    const done = { observedGeneration: 5, desiredNumberScheduled: 3, updatedNumberScheduled: 3, numberAvailable: 3 };
    expect(rolloutPending('DaemonSet', obj(5, {}, done))).toBeUndefined();
    expect(rolloutPending('DaemonSet', obj(6, {}, done))).toBe('the controller has not seen the change yet');
    expect(rolloutPending('DaemonSet', obj(5, {}, { ...done, updatedNumberScheduled: 2 }))).toBe('2 of 3 pods updated');
    expect(rolloutPending('DaemonSet', obj(5, {}, { ...done, numberAvailable: 1 }))).toBe('1 of 3 pods available');
  });

  test('StatefulSet: updated up to the partition, revision current, every replica ready; OnDelete never waits', () => {
    const done = { observedGeneration: 1, updatedReplicas: 3, readyReplicas: 3, currentRevision: 'r2', updateRevision: 'r2' };
    expect(rolloutPending('StatefulSet', obj(1, { replicas: 3 }, done))).toBeUndefined();
    expect(rolloutPending('StatefulSet', obj(1, { replicas: 3 }, { ...done, updatedReplicas: 2 }))).toBe('2 of 3 pods updated');
    expect(rolloutPending('StatefulSet', obj(1, { replicas: 3 }, { ...done, currentRevision: 'r1' }))).toBe('the update revision is not current yet');
    expect(rolloutPending('StatefulSet', obj(1, { replicas: 3 }, { ...done, readyReplicas: 2 }))).toBe('2 of 3 pods ready');
    // a partition of 2: one updated pod is enough, and the revisions may differ
    const partitioned = { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } };
    expect(rolloutPending('StatefulSet', obj(1, partitioned, { ...done, updatedReplicas: 1, currentRevision: 'r1' }))).toBeUndefined();
    expect(rolloutPending('StatefulSet', obj(1, partitioned, { ...done, updatedReplicas: 0 }))).toBe('0 of 1 pods updated');
    expect(rolloutPending('StatefulSet', obj(1, { replicas: 3, updateStrategy: { type: 'OnDelete' } }, { observedGeneration: 1 }))).toBeUndefined();
  });
});

describe('runAgentsStep', () => {
  const spec = (over: Partial<AgentsStepSpec> = {}): AgentsStepSpec => ({
    step: 'agents',
    checksum: NEW,
    workloads: [CLUSTER_AGENT, NODE_AGENT],
    fieldManager: 'cert-rotation-agent-env-0123456789',
    waitSeconds: 300,
    ...over,
  });

  function cluster(env: Array<{ name: string; value?: string }> = [{ name: 'CATTLE_CA_CHECKSUM', value: OLD }]): FakeKube {
    const kube = new FakeKube();
    kube.objects.set(CLUSTER_AGENT_PATH, workload('Deployment', [{ name: 'cluster-register', env: [{ name: 'CATTLE_SERVER', value: 'https://rancher' }, ...env] }]));
    return kube;
  }

  const envOf = (kube: FakeKube, path = CLUSTER_AGENT_PATH) => kube.objects.get(path).spec.template.spec.containers[0].env;

  test('sets the checksum on the agent that exists by strategic merge with its field manager, skips the missing node agent with a line, waits for the rollout', async () => {
    // GIVEN an RKE2 cluster: a cluster agent with the old checksum, no node agent; the rollout takes three reads
    const kube = cluster();
    kube.rollouts.set(CLUSTER_AGENT_PATH, { after: 3 });
    const { ctx, lines, elapsed } = fakeContext(kube);
    // WHEN the step runs
    await runAgentsStep(spec(), ctx);
    // THEN one patch sets the variable in the agent's container only
    expect(kube.patches).toEqual([
      {
        path: CLUSTER_AGENT_PATH,
        contentType: STRATEGIC,
        query: { fieldManager: 'cert-rotation-agent-env-0123456789' },
        body: { spec: { template: { spec: { containers: [{ name: 'cluster-register', env: [{ name: 'CATTLE_CA_CHECKSUM', value: NEW }] }] } } } },
      },
    ]);
    expect(envOf(kube)).toEqual([{ name: 'CATTLE_SERVER', value: 'https://rancher' }, { name: 'CATTLE_CA_CHECKSUM', value: NEW }]);
    // AND the missing node agent is one line, not an error; the step returns only once the agent rolled out
    expect(lines).toContain('DaemonSet cattle-system/cattle-node-agent does not exist in this cluster: skipped');
    expect(lines).toContainEqual(expect.stringMatching(/^Deployment cattle-system\/cattle-cluster-agent container cluster-register: CATTLE_CA_CHECKSUM [0-9a-f]{12}… → [0-9a-f]{12}…; pods roll$/));
    expect(lines[lines.length - 1]).toBe('rolled out: Deployment cattle-system/cattle-cluster-agent');
    expect(elapsed()).toBeGreaterThan(0);
  });

  test('changes both agents of an RKE1 cluster', async () => {
    const kube = cluster();
    kube.objects.set(NODE_AGENT_PATH, workload('DaemonSet', [{ name: 'agent', env: [{ name: 'CATTLE_CA_CHECKSUM', value: OLD }] }]));
    await runAgentsStep(spec(), fakeContext(kube).ctx);
    expect(kube.patches.map((p) => p.path)).toEqual([CLUSTER_AGENT_PATH, NODE_AGENT_PATH]);
    expect(envOf(kube, NODE_AGENT_PATH)).toEqual([{ name: 'CATTLE_CA_CHECKSUM', value: NEW }]);
  });

  test('checksum null removes the variable with a $patch: delete strategic merge patch', async () => {
    const kube = cluster();
    const { ctx, lines } = fakeContext(kube);
    await runAgentsStep(spec({ checksum: null }), ctx);
    expect(kube.patches).toHaveLength(1);
    expect(kube.patches[0].body.spec.template.spec.containers).toEqual([{ name: 'cluster-register', env: [{ name: 'CATTLE_CA_CHECKSUM', $patch: 'delete' }] }]);
    expect(envOf(kube)).toEqual([{ name: 'CATTLE_SERVER', value: 'https://rancher' }]);
    expect(lines).toContainEqual(expect.stringMatching(/CATTLE_CA_CHECKSUM [0-9a-f]{12}… → \(removed\); pods roll$/));
  });

  test('an agent that already has the checksum (or none, for null) is not patched', async () => {
    const kube = cluster([{ name: 'CATTLE_CA_CHECKSUM', value: NEW }]);
    const { ctx, lines } = fakeContext(kube);
    await runAgentsStep(spec(), ctx);
    expect(kube.patches).toEqual([]);
    expect(lines).toContainEqual(expect.stringMatching(/^Deployment cattle-system\/cattle-cluster-agent already has CATTLE_CA_CHECKSUM=[0-9a-f]{12}…: unchanged$/));
    const without = cluster([]);
    await runAgentsStep(spec({ checksum: null }), fakeContext(without).ctx);
    expect(without.patches).toEqual([]);
  });

  test('fails on an agent without the expected container, naming the containers, and patches nothing', async () => {
    const kube = new FakeKube();
    kube.objects.set(CLUSTER_AGENT_PATH, workload('Deployment', [{ name: 'agent' }, { name: 'sidecar' }]));
    const error = await rejection(() => runAgentsStep(spec(), fakeContext(kube).ctx), StepFailure);
    expect(error.message).toBe(
      "Deployment cattle-system/cattle-cluster-agent has no container 'cluster-register' (containers: agent, sidecar); it is not the Rancher agent this step expects, nothing was changed on it",
    );
    expect(kube.patches).toEqual([]);
  });

  test("times out when the agent's pods do not become Ready, with the pod's termination message", async () => {
    // GIVEN an agent that never rolls out: its new pods exit because Rancher serves another CA
    const kube = cluster();
    kube.rollouts.set(CLUSTER_AGENT_PATH, { after: Infinity });
    kube.pods.set('cattle-system', [
      {
        metadata: { name: 'cattle-cluster-agent-7d9f-abcde' },
        status: {
          containerStatuses: [{ name: 'cluster-register', lastState: { terminated: { message: 'Configured cacerts checksum (aaa) does not match given --ca-checksum (bbb)\nexit' } } }],
        },
      },
    ]);
    const { ctx, elapsed } = fakeContext(kube);
    // WHEN the step runs THEN it fails after waitSeconds with the workload, why, and the pod's message
    const error = await rejection(() => runAgentsStep(spec({ waitSeconds: 60 }), ctx), StepFailure);
    expect(error.message).toMatch(
      /^CATTLE_CA_CHECKSUM written, but not rolled out after 60 s: Deployment cattle-system\/cattle-cluster-agent: the controller has not seen the change yet \(cattle-cluster-agent-7d9f-abcde: Configured cacerts checksum \(aaa\) does not match given --ca-checksum \(bbb\)\)\. .*kubectl -n cattle-system get pods/,
    );
    expect(elapsed()).toBeGreaterThanOrEqual(60_000);
    expect(elapsed()).toBeLessThan(65_000);
  });

  test('fails when the variable reads back otherwise (another writer)', async () => {
    const kube = cluster();
    kube.afterPatch = (_path, stored) => {
      stored.spec.template.spec.containers[0].env = [{ name: 'CATTLE_CA_CHECKSUM', value: OLD }];
    };
    const error = await rejection(() => runAgentsStep(spec(), fakeContext(kube).ctx), StepFailure);
    expect(error.message).toBe(
      `Deployment cattle-system/cattle-cluster-agent read back with CATTLE_CA_CHECKSUM=${OLD} after the write, expected ${NEW}: another writer changed it; deploy again`,
    );
  });

  test('no agent at all: nothing to do, nothing to wait for', async () => {
    const kube = new FakeKube();
    const { ctx, lines, slept } = fakeContext(kube);
    await runAgentsStep(spec(), ctx);
    expect(kube.patches).toEqual([]);
    expect(slept).toEqual([]);
    expect(lines).toEqual([
      'Deployment cattle-system/cattle-cluster-agent does not exist in this cluster: skipped',
      'DaemonSet cattle-system/cattle-node-agent does not exist in this cluster: skipped',
    ]);
  });
});

describe('runRestartStep', () => {
  const web = { kind: 'Deployment' as const, namespace: 'apps', name: 'web' };
  const db = { kind: 'StatefulSet' as const, namespace: 'apps', name: 'db' };
  const TRUST = { 'cert-rotation.io/trust-sha256': sha256Hex('trust') };
  const spec = (over: Partial<RestartStepSpec> = {}): RestartStepSpec => ({
    step: 'restart',
    workloads: [web, db],
    annotations: TRUST,
    fieldManager: 'cert-rotation-restart-0123456789',
    waitSeconds: 300,
    ...over,
  });

  test('annotates the pod template of each workload that exists, skips a missing one, waits for the rollout', async () => {
    const kube = new FakeKube();
    kube.objects.set(workloadPath(web), workload('Deployment', [{ name: 'web' }]));
    kube.rollouts.set(workloadPath(web), { after: 2 });
    const { ctx, lines } = fakeContext(kube);
    await runRestartStep(spec(), ctx);
    expect(kube.patches).toEqual([
      { path: workloadPath(web), contentType: STRATEGIC, query: { fieldManager: 'cert-rotation-restart-0123456789' }, body: { spec: { template: { metadata: { annotations: TRUST } } } } },
    ]);
    expect(lines).toContain('StatefulSet apps/db does not exist in this cluster: skipped');
    expect(lines[lines.length - 1]).toBe('rolled out: Deployment apps/web');
  });

  test('a workload that already carries the annotation is not rolled again; waitSeconds 0 does not wait', async () => {
    const kube = new FakeKube();
    const annotated = workload('StatefulSet', [{ name: 'db' }]);
    annotated.spec.template.metadata.annotations = { ...TRUST };
    kube.objects.set(workloadPath(db), annotated);
    kube.objects.set(workloadPath(web), workload('Deployment', [{ name: 'web' }]));
    kube.rollouts.set(workloadPath(web), { after: Infinity });
    const { ctx, lines, slept } = fakeContext(kube);
    await runRestartStep(spec({ waitSeconds: 0 }), ctx);
    expect(kube.patches.map((p) => p.path)).toEqual([workloadPath(web)]);
    expect(lines).toContain('StatefulSet apps/db already carries cert-rotation.io/trust-sha256: not rolled again');
    expect(slept).toEqual([]);
  });
});
