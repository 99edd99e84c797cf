import { StepFailure } from '../../../lib/cli/step/context';
import { runFleetForceUpdate } from '../../../lib/cli/step/fleet-force-update';
import { ANNOTATIONS } from '../../../lib/contract';
import { FleetForceUpdateStepSpec } from '../../../lib/steps/spec';
import { fakeContext, FakeKube } from './support/fake-step-kube';

// Fleet's Force Update after a CA change: raise spec.redeployAgentGeneration
// once per CA and wait until fleet-controller reports the agent deployed at it.
const PATH = '/apis/fleet.cattle.io/v1alpha1/namespaces/fleet-default/clusters/rke2-prod';
const NEW = 'b'.repeat(64);
const spec: FleetForceUpdateStepSpec = { step: 'fleet-force-update', namespace: 'fleet-default', name: 'rke2-prod', checksum: NEW, timeoutSeconds: 60 };

/** fleet-controller: after `after` reads, deploys the agent at the spec's generation. */
function fleet(kube: FakeKube, after: number): void {
  let reads = 0;
  const get = kube.get.bind(kube);
  kube.get = async (p: string, q?: any) => {
    const o = kube.objects.get(p);
    if (p === PATH && o && (o.spec.redeployAgentGeneration ?? 0) !== o.status.agentDeployedGeneration && ++reads > after) {
      o.status.agentDeployedGeneration = o.spec.redeployAgentGeneration;
    }
    return get(p, q);
  };
}

describe('runFleetForceUpdate', () => {
  test('raises redeployAgentGeneration by one with the CA recorded, in one patch guarded by resourceVersion, and waits for Fleet', async () => {
    const kube = new FakeKube();
    kube.objects.set(PATH, { metadata: { name: 'rke2-prod', resourceVersion: '7', annotations: {} }, spec: { redeployAgentGeneration: 2 }, status: { agentDeployedGeneration: 2 } });
    fleet(kube, 3);
    const { ctx, lines } = fakeContext(kube, { cluster: 'server', kubeconfig: '/abs/k' });
    await runFleetForceUpdate(spec, ctx);
    expect(kube.patches).toEqual([
      {
        path: PATH,
        body: { metadata: { resourceVersion: '7', annotations: { [ANNOTATIONS.fleetForceUpdateFor]: NEW } }, spec: { redeployAgentGeneration: 3 } },
        contentType: 'application/merge-patch+json',
        query: {},
      },
    ]);
    expect(kube.objects.get(PATH).status.agentDeployedGeneration).toBe(3);
    expect(lines.join('\n')).toMatch(/redeployAgentGeneration 2 → 3 .*\n.*Fleet re-deployed the fleet-agent \(status\.agentDeployedGeneration 3\)/);
  });

  test('run again for the same CA (converge, a retry after a kill): no second bump, it only waits', async () => {
    const kube = new FakeKube();
    kube.objects.set(PATH, { metadata: { resourceVersion: '9', annotations: { [ANNOTATIONS.fleetForceUpdateFor]: NEW } }, spec: { redeployAgentGeneration: 3 }, status: { agentDeployedGeneration: 2 } });
    fleet(kube, 1);
    const { ctx, lines } = fakeContext(kube);
    await runFleetForceUpdate(spec, ctx);
    expect(kube.patches).toEqual([]);
    expect(lines.join('\n')).toMatch(/already force-updated for CA bbbbbbbbbbbb…/);
    expect(kube.objects.get(PATH).status.agentDeployedGeneration).toBe(3);
  });

  test('an object without the field (never force-updated) goes from 0 to 1; a public CA is recorded as ""', async () => {
    const kube = new FakeKube();
    kube.objects.set(PATH, { metadata: { resourceVersion: '1' }, spec: {}, status: {} });
    fleet(kube, 0);
    const { ctx } = fakeContext(kube);
    await runFleetForceUpdate({ ...spec, checksum: '' }, ctx);
    expect(kube.patches[0].body).toEqual({ metadata: { resourceVersion: '1', annotations: { [ANNOTATIONS.fleetForceUpdateFor]: '' } }, spec: { redeployAgentGeneration: 1 } });
  });

  test('someone else writes between the read and the patch: the 409 makes it read again and raise from the new value', async () => {
    const kube = new FakeKube();
    kube.objects.set(PATH, { metadata: { resourceVersion: '4', annotations: {} }, spec: { redeployAgentGeneration: 5 }, status: { agentDeployedGeneration: 5 } });
    let raced = false;
    const get = kube.get.bind(kube);
    kube.get = async (p: string, q?: any) => {
      const r: any = await get(p, q);
      if (!raced) {
        raced = true; // another Force Update (the UI) lands after our first read
        const o = kube.objects.get(PATH);
        o.spec.redeployAgentGeneration = 6;
        o.metadata.resourceVersion = '5';
      }
      const o = kube.objects.get(PATH);
      if (o.spec.redeployAgentGeneration === 7) o.status.agentDeployedGeneration = 7;
      return r;
    };
    const { ctx } = fakeContext(kube);
    await runFleetForceUpdate(spec, ctx);
    expect(kube.patches.map((x) => x.body.spec.redeployAgentGeneration)).toEqual([6, 7]);
    expect(kube.objects.get(PATH).spec.redeployAgentGeneration).toBe(7);
  });

  test('no such Fleet cluster: fails naming the field and how to list the names; nothing is patched', async () => {
    const kube = new FakeKube();
    const { ctx } = fakeContext(kube);
    const err = await runFleetForceUpdate(spec, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(StepFailure);
    expect(err.message).toMatch(/no Fleet cluster clusters\.fleet\.cattle\.io fleet-default\/rke2-prod: set downstream\[\]\.fleetCluster .*kubectl get clusters\.fleet\.cattle\.io -A/);
    expect(kube.patches).toEqual([]);
  });

  test('Fleet never deploys: fails after the timeout with both generations and what to check', async () => {
    const kube = new FakeKube();
    kube.objects.set(PATH, { metadata: { resourceVersion: '1' }, spec: { redeployAgentGeneration: 1 }, status: { agentDeployedGeneration: 1 } });
    const { ctx } = fakeContext(kube);
    await expect(runFleetForceUpdate(spec, ctx)).rejects.toThrow(
      /did not re-deploy the fleet-agent of clusters\.fleet\.cattle\.io fleet-default\/rke2-prod within 60 s \(status\.agentDeployedGeneration is 1, redeployAgentGeneration is 2\).*cattle-fleet-system/,
    );
  });
});
