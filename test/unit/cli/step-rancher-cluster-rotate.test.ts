import { StepFailure } from '../../../lib/cli/step/context';
import { rke1Request, runRancherClusterRotate } from '../../../lib/cli/step/rancher-cluster-rotate';
import { ANNOTATIONS } from '../../../lib/contract';
import { RancherClusterRotateStepSpec } from '../../../lib/steps/spec';
import { fakeContext, FakeKube } from './support/fake-step-kube';

// Rancher's own rotation, asked through its cluster objects; the fake plays Rancher's controllers.
const V2 = '/apis/provisioning.cattle.io/v1/namespaces/fleet-default/clusters/prod';
const CP = '/apis/rke.cattle.io/v1/namespaces/fleet-default/rkecontrolplanes/prod';
const RKE1 = '/apis/management.cattle.io/v3/clusters/c-abcde';
const v2: RancherClusterRotateStepSpec = { step: 'rancher-cluster-rotate', kind: 'v2', namespace: 'fleet-default', name: 'prod', generation: 2, services: ['api-server'], fieldManager: 'fm', timeoutSeconds: 60 };
const rke1: RancherClusterRotateStepSpec = { step: 'rancher-cluster-rotate', kind: 'rke1', name: 'c-abcde', generation: 1, services: [], caCertificates: false, fieldManager: 'fm', timeoutSeconds: 60 };
const cond = (type: string, status: string, message = '') => ({ type, status, message });

/** Rancher: after `after` reads of `path`, `act` runs once. */
function rancher(kube: FakeKube, path: string, after: number, act: () => void): void {
  let reads = 0;
  const get = kube.get.bind(kube);
  kube.get = async (p: string, q?: any) => {
    if (p === path && kube.patches.length > 0 && ++reads === after) act();
    return get(p, q);
  };
}

describe('runRancherClusterRotate (RKE2/K3s)', () => {
  test('patches only rotateCertificates with its field manager and waits for the control plane to report the generation', async () => {
    const kube = new FakeKube();
    kube.objects.set(V2, { metadata: { labels: { team: 'x' } }, spec: { rkeConfig: { etcd: { snapshotRetention: 5 } } } });
    kube.objects.set(CP, { metadata: {}, status: { certificateRotationGeneration: 1, conditions: [cond('Reconciled', 'True')] } });
    rancher(kube, CP, 3, () => {
      kube.objects.get(CP).status.certificateRotationGeneration = 2;
    });
    const { ctx, lines } = fakeContext(kube);
    await runRancherClusterRotate(v2, ctx);
    expect(kube.patches).toEqual([
      { path: V2, body: { spec: { rkeConfig: { rotateCertificates: { generation: 2, services: ['api-server'] } } } }, contentType: 'application/merge-patch+json', query: { fieldManager: 'fm' } },
    ]);
    expect(kube.objects.get(V2).spec.rkeConfig.etcd).toEqual({ snapshotRetention: 5 });
    expect(lines.join('\n')).toMatch(/generation 1 → 2 \(api-server\)[\s\S]*rotation generation 2 done/);
  });

  test('already asked and done: no patch', async () => {
    const kube = new FakeKube();
    kube.objects.set(V2, { metadata: {}, spec: { rkeConfig: { rotateCertificates: { generation: 2, services: ['api-server'] } } } });
    kube.objects.set(CP, { metadata: {}, status: { certificateRotationGeneration: 2, conditions: [cond('Reconciled', 'True')] } });
    const { ctx } = fakeContext(kube);
    await runRancherClusterRotate(v2, ctx);
    expect(kube.patches).toEqual([]);
  });

  test('Rancher never finishes: fails after the timeout with what the control plane says', async () => {
    const kube = new FakeKube();
    kube.objects.set(V2, { metadata: {}, spec: { rkeConfig: {} } });
    kube.objects.set(CP, { metadata: {}, status: { certificateRotationGeneration: 1, conditions: [cond('Ready', 'Unknown', 'waiting for [m1] certificate rotation')] } });
    const { ctx } = fakeContext(kube);
    await expect(runRancherClusterRotate(v2, ctx)).rejects.toThrow(/did not finish .* within 60 s: the control plane reports certificateRotationGeneration 1, Ready Unknown \(waiting for \[m1\] certificate rotation\)/);
  });

  test('no such cluster: names how to find it, nothing patched', async () => {
    const kube = new FakeKube();
    const { ctx } = fakeContext(kube);
    await expect(runRancherClusterRotate(v2, ctx)).rejects.toThrow(/Rancher has no clusters\.provisioning\.cattle\.io fleet-default\/prod: .*kubectl get clusters\.provisioning\.cattle\.io -A/);
    expect(kube.patches).toEqual([]);
  });
});

describe('runRancherClusterRotate (RKE1)', () => {
  test('an Updated False left from an earlier failure is not taken for this request failing: it waits for Rancher', async () => {
    const kube = new FakeKube();
    kube.objects.set(RKE1, { metadata: {}, spec: { rancherKubernetesEngineConfig: {} }, status: { conditions: [cond('Updated', 'False', 'CA Certificate or Key is empty')] } });
    rancher(kube, RKE1, 3, () => {
      delete kube.objects.get(RKE1).spec.rancherKubernetesEngineConfig.rotateCertificates;
      kube.objects.get(RKE1).status.conditions = [cond('Updated', 'True')];
    });
    const { ctx, lines } = fakeContext(kube);
    await runRancherClusterRotate({ ...rke1, caCertificates: true }, ctx);
    expect(kube.patches).toHaveLength(1);
    expect(lines.join('\n')).toMatch(/Rancher reports the rotation done/);
  });

  test('sets the block with the request recorded; done when Rancher cleared it and Updated is True', async () => {
    const kube = new FakeKube();
    kube.objects.set(RKE1, { metadata: {}, spec: { rancherKubernetesEngineConfig: { kubernetesVersion: 'v1.28' } }, status: { conditions: [cond('Updated', 'True')] } });
    rancher(kube, RKE1, 2, () => {
      delete kube.objects.get(RKE1).spec.rancherKubernetesEngineConfig.rotateCertificates;
    });
    const { ctx } = fakeContext(kube);
    await runRancherClusterRotate(rke1, ctx);
    expect(kube.patches[0].body).toEqual({
      metadata: { annotations: { [ANNOTATIONS.rotateCertificatesRequest]: rke1Request(rke1) } },
      spec: { rancherKubernetesEngineConfig: { rotateCertificates: { caCertificates: false, services: null } } },
    });
    expect(kube.objects.get(RKE1).spec.rancherKubernetesEngineConfig).toEqual({ kubernetesVersion: 'v1.28' });
  });

  test('a block it did not write (a failed rotation left behind): stops before any change, naming the fix', async () => {
    const kube = new FakeKube();
    kube.objects.set(RKE1, { metadata: {}, spec: { rancherKubernetesEngineConfig: { rotateCertificates: { services: ['etcd'] } } }, status: { conditions: [cond('Updated', 'False', 'CA Certificate or Key is empty')] } });
    const { ctx } = fakeContext(kube);
    const err = await runRancherClusterRotate(rke1, ctx).catch((e) => e);
    expect(err).toBeInstanceOf(StepFailure);
    expect(err.message).toMatch(/already holds a rotateCertificates block this step did not write .*Updated is False \(CA Certificate or Key is empty\).*kubectl patch clusters\.management\.cattle\.io c-abcde --type merge/);
    expect(kube.patches).toEqual([]);
  });

  test('Rancher fails the rotation: the step clears the block (no endless retry) and says what to do', async () => {
    const kube = new FakeKube();
    kube.objects.set(RKE1, { metadata: {}, spec: { rancherKubernetesEngineConfig: {} }, status: { conditions: [cond('Updated', 'True')] } });
    rancher(kube, RKE1, 2, () => {
      kube.objects.get(RKE1).status.conditions = [cond('Updated', 'False', 'CA Certificate or Key is empty')];
    });
    const { ctx } = fakeContext(kube);
    await expect(runRancherClusterRotate(rke1, ctx)).rejects.toThrow(/Rancher failed the certificate rotation of clusters\.management\.cattle\.io\/c-abcde: CA Certificate or Key is empty\. The rotateCertificates block was cleared/);
    expect(kube.objects.get(RKE1).spec.rancherKubernetesEngineConfig.rotateCertificates).toBeUndefined();
  });
});
