import { TerraformStack } from 'cdktf';
import { ANNOTATIONS } from '../../lib/contract';
import { RancherClusterCertificateRotation, RancherClusterRotation } from '../../lib/rotation';
import { Workspace } from './support/terraform';
import { modelEvents } from '../../scripts/testbed/rancher-model/client';
import { kubectl, kubeGet, loadTestbedEnv } from '../../scripts/testbed/client';

// RancherClusterCertificateRotation against the test bed's Rancher model: the
// rotation is asked through Rancher's own cluster objects (the UI's "Rotate
// Certificates"), and the model acts on them as Rancher's controllers do
// (scripts/testbed/rancher-model/README.md): testbed-3 is an RKE2 cluster
// Rancher provisioned (provisioning cluster fleet-default/testbed-3 and its
// RKEControlPlane), testbed-2 an RKE1 one (clusters.management.cattle.io c-tbd02).
describe('RancherClusterCertificateRotation on the Rancher model', () => {
  const env = loadTestbedEnv();
  const SERVER = Number(env.TESTBED_RANCHER_CLUSTER);
  const RKE1_ID = env.TESTBED_RANCHER_CLUSTER_ID_2;
  const V2 = '/apis/provisioning.cattle.io/v1/namespaces/fleet-default/clusters/testbed-3';
  const V2_CP = '/apis/rke.cattle.io/v1/namespaces/fleet-default/rkecontrolplanes/testbed-3';
  const RKE1 = `/apis/management.cattle.io/v3/clusters/${RKE1_ID}`;
  const ws = new Workspace('rancher-cluster-rotation');
  const STACK = 'cluster-rotation';

  function synth(clusters: RancherClusterRotation[]): void {
    ws.synth((app) => {
      const stack = new TerraformStack(app, STACK);
      new RancherClusterCertificateRotation(stack, 'rotate', { server: { kubeconfig: env.KUBECONFIG, context: `testbed-${SERVER}` }, clusters, timeoutSeconds: 60 });
    });
  }
  const events = (since: string, kind: string) => modelEvents().filter((e) => e.time >= since && e.event === kind);

  afterAll(() => {
    kubectl(SERVER, ['annotate', 'clusters.management.cattle.io', RKE1_ID, 'testbed.cert-rotation/state-without-ca-'], { ok: [0, 1] });
    kubectl(SERVER, ['patch', 'clusters.management.cattle.io', RKE1_ID, '--type', 'merge', '-p', '{"spec":{"rancherKubernetesEngineConfig":{"rotateCertificates":null}}}'], { ok: [0, 1] });
    ws.remove();
  });

  test('a generation rotates exactly the named services of exactly the named clusters, waits for Rancher, and leaves the rest of the objects alone', () => {
    // GIVEN someone else's label and spec field on the RKE2 cluster object
    kubectl(SERVER, ['label', 'clusters.provisioning.cattle.io', '-n', 'fleet-default', 'testbed-3', 'team=platform', '--overwrite']);
    kubectl(SERVER, ['patch', 'clusters.provisioning.cattle.io', '-n', 'fleet-default', 'testbed-3', '--type', 'merge', '-p', '{"spec":{"rkeConfig":{"etcd":{"snapshotRetention":7}}}}']);
    const since = new Date().toISOString();
    synth([
      { name: 'testbed-3', distribution: 'rke2', generation: 1, services: ['kubelet', 'api-server'] },
      { name: RKE1_ID, distribution: 'rke1', generation: 1, services: ['kube-apiserver'] },
    ]);
    const r = ws.deploy(STACK);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/clusters\.provisioning\.cattle\.io fleet-default\/testbed-3: rotateCertificates generation 0 → 1 \(api-server, kubelet\)/);
    expect(out).toMatch(/Rancher reports rotation generation 1 done \(control plane Reconciled\)/);
    expect(out).toMatch(new RegExp(`clusters\\.management\\.cattle\\.io/${RKE1_ID}: rotateCertificates set \\(kube-apiserver\\)`));
    // THEN Rancher rotated exactly these, once each
    const done = events(since, 'certificate-rotation-done');
    expect(done.map((e) => [e.kind, e.cluster, e.services])).toEqual([
      ['v2', 'fleet-default/testbed-3', ['api-server', 'kubelet']],
      ['rke1', RKE1_ID, ['kube-apiserver']],
    ]);
    expect(done[0].nodes[0].commands).toEqual(['systemctl stop rke2-server', 'rke2 certificate rotate -s api-server -s kubelet', 'systemctl restart rke2-server']);
    // AND the objects say so; the rest of them is as the others left it
    expect(kubeGet(SERVER, V2_CP).status.certificateRotationGeneration).toBe(1);
    const v2 = kubeGet(SERVER, V2);
    expect(v2.metadata.labels.team).toBe('platform');
    expect(v2.spec.rkeConfig).toEqual({ etcd: { snapshotRetention: 7 }, rotateCertificates: { generation: 1, services: ['api-server', 'kubelet'] } });
    expect(v2.spec.kubernetesVersion).toBe('v1.33.3+rke2r1');
    const rke1 = kubeGet(SERVER, RKE1);
    expect(rke1.spec.rancherKubernetesEngineConfig.rotateCertificates).toBeUndefined();
    expect(rke1.spec.rancherKubernetesEngineConfig.kubernetesVersion).toBe('v1.28.15-rancher1-1');
    expect(rke1.status.conditions.find((c: any) => c.type === 'Updated').status).toBe('True');
    expect(JSON.parse(rke1.metadata.annotations[ANNOTATIONS.rotateCertificatesRequest])).toEqual({ generation: 1, caCertificates: false, services: ['kube-apiserver'] });
    // AND nothing more to do; someone else's later change plans nothing either
    expect(ws.plan(STACK).changes).toEqual([]);
    kubectl(SERVER, ['label', 'clusters.provisioning.cattle.io', '-n', 'fleet-default', 'testbed-3', 'team=ops', '--overwrite']);
    expect(ws.plan(STACK).changes).toEqual([]);
  });

  test('raising one generation rotates that cluster again and nothing else', () => {
    const since = new Date().toISOString();
    synth([
      { name: 'testbed-3', distribution: 'rke2', generation: 2, services: ['kubelet', 'api-server'] },
      { name: RKE1_ID, distribution: 'rke1', generation: 1, services: ['kube-apiserver'] },
    ]);
    const plan = ws.plan(STACK);
    expect(plan.changes.map((c) => [c.actions.join('+'), c.after.triggers_replace.name])).toEqual([['delete+create', 'testbed-3']]);
    ws.deploy(STACK);
    expect(events(since, 'certificate-rotation-done').map((e) => [e.cluster, e.generation])).toEqual([['fleet-default/testbed-3', 2]]);
    expect(kubeGet(SERVER, V2_CP).status.certificateRotationGeneration).toBe(2);
    expect(ws.plan(STACK).changes).toEqual([]);
  });

  test('RKE1 "CA Certificate or Key is empty": a leftover block stops the apply before any change; a failed rotation is cleared, not looped; rotating the CA fixes it', () => {
    // GIVEN a cluster whose rke state lacks its CA, and a rotation someone started in the UI that fails forever
    kubectl(SERVER, ['annotate', 'clusters.management.cattle.io', RKE1_ID, 'testbed.cert-rotation/state-without-ca=true', '--overwrite']);
    kubectl(SERVER, ['patch', 'clusters.management.cattle.io', RKE1_ID, '--type', 'merge', '-p', '{"spec":{"rancherKubernetesEngineConfig":{"rotateCertificates":{"services":["etcd"]}}}}']);
    const leftover = { services: ['etcd'] };
    synth([{ name: RKE1_ID, distribution: 'rke1', generation: 2 }]);
    // WHEN deployed, THEN the step stops, names the block and the fix, and writes nothing
    let r = ws.deploy(STACK, [0, 1]);
    expect(r.stdout + r.stderr).toMatch(/already holds a rotateCertificates block this step did not write .*"CA Certificate or Key is empty".*kubectl patch clusters\.management\.cattle\.io c-tbd02 --type merge/s);
    expect(kubeGet(SERVER, RKE1).spec.rancherKubernetesEngineConfig.rotateCertificates).toEqual(leftover);
    // WHEN the user clears it as told and deploys again, Rancher fails the rotation: the step clears the block and says why
    kubectl(SERVER, ['patch', 'clusters.management.cattle.io', RKE1_ID, '--type', 'merge', '-p', '{"spec":{"rancherKubernetesEngineConfig":{"rotateCertificates":null}}}']);
    r = ws.deploy(STACK, [0, 1]);
    expect(r.stdout + r.stderr).toMatch(/Rancher failed the certificate rotation of clusters\.management\.cattle\.io\/c-tbd02: CA Certificate or Key is empty\. The rotateCertificates block was cleared/);
    expect(kubeGet(SERVER, RKE1).spec.rancherKubernetesEngineConfig.rotateCertificates).toBeUndefined();
    // WHEN the CA is rotated too, THEN it succeeds and the block is gone
    const since = new Date().toISOString();
    synth([{ name: RKE1_ID, distribution: 'rke1', generation: 3, caCertificates: true }]);
    ws.deploy(STACK);
    expect(events(since, 'certificate-rotation-done').map((e) => [e.cluster, e.caCertificates])).toEqual([[RKE1_ID, true]]);
    expect(kubeGet(SERVER, RKE1).spec.rancherKubernetesEngineConfig.rotateCertificates).toBeUndefined();
    expect(ws.plan(STACK).changes).toEqual([]);
  });
});
