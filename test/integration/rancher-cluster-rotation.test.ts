import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack } from 'cdktf';
import { ANNOTATIONS } from '../../lib/contract';
import { RancherClusterCertificateRotation, RancherClusterRotation } from '../../lib/rotation';
import { Workspace } from './support/terraform';
import { modelEvents } from '../../scripts/testbed/rancher-model/client';
import { kubectl, kubeGet, loadTestbedEnv, REPO_ROOT, run } from '../../scripts/testbed/client';

// RancherClusterCertificateRotation against the test bed's Rancher model: the
// rotation is asked through Rancher's own cluster objects (the UI's "Rotate
// Certificates"), and the model acts on them as Rancher's controllers do
// (scripts/testbed/rancher-model/README.md): testbed-3 is an RKE2 cluster
// Rancher provisioned (provisioning cluster fleet-default/testbed-3 and its
// RKEControlPlane), testbed-2 an RKE1 one (clusters.management.cattle.io c-tbd02).
// The test bed's stand-in nodes are the machines of both (their objects carry
// testbed.cert-rotation/standin-nodes): the model runs Rancher's per-node plan
// on them, and `cert-rotation check` reads the certificate files it changed.
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
      new RancherClusterCertificateRotation(stack, 'rotate', { server: { kubeconfig: env.KUBECONFIG, context: `testbed-${SERVER}` }, clusters, timeoutSeconds: 240 });
    });
  }
  // Generations above whatever an earlier run on this test bed left (Rancher compares with !=, any new number rotates).
  const G = Math.floor(Date.now() / 1000);
  let g0 = 0;
  const events = (since: string, kind: string) => modelEvents().filter((e) => e.time >= since && e.event === kind);
  const NODES = Number(env.TESTBED_NODES);
  const root = (i: number) => env[`TESTBED_NODE_ROOT_${i}`] as string;
  const role = (i: number) => env[`TESTBED_NODE_ROLE_${i}`] as string;
  const callsLog = path.join(env.TESTBED_DIR, 'node-calls.log');
  const calls = () => (fs.existsSync(callsLog) ? fs.readFileSync(callsLog, 'utf8').split('\n').filter(Boolean) : []);

  /** What `cert-rotation check` reads on node i (preset rke2-server/agent, or rke): file → serial. */
  function nodeCerts(i: number, preset: string): Record<string, string> {
    const out = run('node', [path.join(REPO_ROOT, 'bin/cert-rotation.js'), 'check', '--preset', preset, '--root', root(i), '-o', 'json'], { ok: [0, 1, 2] }).stdout;
    const serials: Record<string, string> = {};
    for (const c of JSON.parse(out).certificates) serials[`${path.relative(root(i), c.source.replace(/^file:/, ''))}/${c.name}`] = c.serialNumber;
    return serials;
  }
  const rke2Preset = (i: number) => (role(i) === 'server' ? 'rke2-server' : 'rke2-agent');
  /** The files whose serial changed between two readings. */
  const renewed = (before: Record<string, string>, after: Record<string, string>) => Object.keys(before).filter((k) => after[k] !== before[k]).sort();

  afterAll(() => {
    kubectl(SERVER, ['annotate', 'clusters.management.cattle.io', RKE1_ID, 'testbed.cert-rotation/state-without-ca-'], { ok: [0, 1] });
    kubectl(SERVER, ['patch', 'clusters.management.cattle.io', RKE1_ID, '--type', 'merge', '-p', '{"spec":{"rancherKubernetesEngineConfig":{"rotateCertificates":null}}}'], { ok: [0, 1] });
    ws.remove();
  });

  test('a generation rotates exactly the named services of exactly the named clusters, waits for Rancher, and leaves the rest of the objects alone', () => {
    // GIVEN someone else's label and spec field on the RKE2 cluster object
    kubectl(SERVER, ['label', 'clusters.provisioning.cattle.io', '-n', 'fleet-default', 'testbed-3', 'team=platform', '--overwrite']);
    kubectl(SERVER, ['patch', 'clusters.provisioning.cattle.io', '-n', 'fleet-default', 'testbed-3', '--type', 'merge', '-p', '{"spec":{"rkeConfig":{"etcd":{"snapshotRetention":7}}}}']);
    g0 = Number(kubeGet(SERVER, V2_CP).status?.certificateRotationGeneration ?? 0);
    const since = new Date().toISOString();
    const rke2Before = Array.from({ length: NODES }, (_, k) => nodeCerts(k + 1, rke2Preset(k + 1)));
    const rkeBefore = nodeCerts(1, 'rke');
    const from = calls().length;
    synth([
      { name: 'testbed-3', distribution: 'rke2', generation: G + 1, services: ['kubelet', 'api-server'] },
      { name: RKE1_ID, distribution: 'rke1', generation: G + 1, services: ['kube-apiserver'] },
    ]);
    const r = ws.deploy(STACK);
    const out = r.stdout + r.stderr;
    expect(out).toContain(`clusters.provisioning.cattle.io fleet-default/testbed-3: rotateCertificates generation ${g0} → ${G + 1} (api-server, kubelet)`);
    expect(out).toContain(`Rancher reports rotation generation ${G + 1} done (control plane Reconciled)`);
    expect(out).toMatch(new RegExp(`clusters\\.management\\.cattle\\.io/${RKE1_ID}: rotateCertificates set \\(kube-apiserver\\)`));
    // THEN Rancher rotated exactly these, once each
    const done = events(since, 'certificate-rotation-done');
    expect(done.map((e) => [e.kind, e.cluster, e.services])).toEqual([
      ['v2', 'fleet-default/testbed-3', ['api-server', 'kubelet']],
      ['rke1', RKE1_ID, ['kube-apiserver']],
    ]);
    // AND on the machines: the servers one after the other, then the workers restart; rke on the RKE1 nodes
    const servers = [1, 2, 3].filter((i) => role(i) === 'server');
    const agents = Array.from({ length: NODES }, (_, k) => k + 1).filter((i) => role(i) === 'agent');
    expect(done[0].nodes.map((n: any) => [n.node, n.commands])).toEqual([
      ...servers.map((i) => [`node-${i}`, ['systemctl stop rke2-server', 'rke2 certificate rotate -s api-server -s kubelet', 'systemctl restart rke2-server']]),
      ...agents.map((i) => [`node-${i}`, ['systemctl restart rke2-agent']]),
    ]);
    const seen = calls().slice(from);
    expect(seen.filter((l) => / rke2-(server|agent)$|\trke2\t/.test(l))).toEqual([
      ...servers.flatMap((i) => [`node-${i}\tsystemctl\tstop rke2-server`, `node-${i}\trke2\tcertificate rotate -s api-server -s kubelet`, `node-${i}\tsystemctl\trestart rke2-server`]),
      ...agents.map((i) => `node-${i}\tsystemctl\trestart rke2-agent`),
    ]);
    expect(seen.filter((l) => l.includes('\trke\t'))).toEqual([expect.stringMatching(/^node-1\trke\tcert rotate --service kube-apiserver --config \S+\/root\/rke\/cluster\.yml$/)]);
    // AND `check` on each server sees exactly the API server's certificates renewed (and the kubelet's of
    // its agent part), under the same CAs; the controller manager's, scheduler's and etcd's are untouched
    for (const i of servers) {
      const changed = renewed(rke2Before[i - 1], nodeCerts(i, 'rke2-server'));
      expect({ node: i, changed: changed.filter((f) => f.includes('server/tls/')) }).toEqual({
        node: i,
        changed: ['var/lib/rancher/rke2/server/tls/client-kube-apiserver.crt#1', 'var/lib/rancher/rke2/server/tls/serving-kube-apiserver.crt#1'],
      });
    }
    // AND on the RKE1 nodes rke renewed the API server's certificate only, with the same CA
    const rkeChanged = renewed(rkeBefore, nodeCerts(1, 'rke'));
    expect(rkeChanged.filter((f) => /\.pem#1$/.test(f))).toEqual(['etc/kubernetes/ssl/kube-apiserver.pem#1']);
    // AND the objects say so; the rest of them is as the others left it
    expect(kubeGet(SERVER, V2_CP).status.certificateRotationGeneration).toBe(G + 1);
    const v2 = kubeGet(SERVER, V2);
    expect(v2.metadata.labels.team).toBe('platform');
    expect(v2.spec.rkeConfig).toEqual({ etcd: { snapshotRetention: 7 }, rotateCertificates: { generation: G + 1, services: ['api-server', 'kubelet'] } });
    expect(v2.spec.kubernetesVersion).toBe('v1.33.3+rke2r1');
    const rke1 = kubeGet(SERVER, RKE1);
    expect(rke1.spec.rancherKubernetesEngineConfig.rotateCertificates).toBeUndefined();
    expect(rke1.spec.rancherKubernetesEngineConfig.kubernetesVersion).toBe('v1.28.15-rancher1-1');
    expect(rke1.status.conditions.find((c: any) => c.type === 'Updated').status).toBe('True');
    expect(JSON.parse(rke1.metadata.annotations[ANNOTATIONS.rotateCertificatesRequest])).toEqual({ generation: G + 1, caCertificates: false, services: ['kube-apiserver'] });
    // AND nothing more to do; someone else's later change plans nothing either
    expect(ws.plan(STACK).changes).toEqual([]);
    kubectl(SERVER, ['label', 'clusters.provisioning.cattle.io', '-n', 'fleet-default', 'testbed-3', 'team=ops', '--overwrite']);
    expect(ws.plan(STACK).changes).toEqual([]);
  });

  test('raising one generation rotates that cluster again and nothing else', () => {
    const since = new Date().toISOString();
    synth([
      { name: 'testbed-3', distribution: 'rke2', generation: G + 2, services: ['kubelet', 'api-server'] },
      { name: RKE1_ID, distribution: 'rke1', generation: G + 1, services: ['kube-apiserver'] },
    ]);
    const plan = ws.plan(STACK);
    expect(plan.changes.map((c) => [c.actions.join('+'), c.after.triggers_replace.name])).toEqual([['delete+create', 'testbed-3']]);
    // The reviewer sees which cluster, the generation old → new and the services
    const planFile = path.join(ws.dir, 'plan.json');
    fs.writeFileSync(planFile, plan.raw);
    const explained = run('node', [path.join(REPO_ROOT, 'bin/cert-rotation.js'), 'explain', planFile]).stdout;
    expect(explained).toContain(`ask Rancher to rotate services api-server, kubelet (generation ${G + 1} → ${G + 2}) through clusters.provisioning.cattle.io fleet-default/testbed-3`);
    ws.deploy(STACK);
    expect(events(since, 'certificate-rotation-done').map((e) => [e.cluster, e.generation])).toEqual([['fleet-default/testbed-3', G + 2]]);
    expect(kubeGet(SERVER, V2_CP).status.certificateRotationGeneration).toBe(G + 2);
    expect(ws.plan(STACK).changes).toEqual([]);
  });

  test('RKE1 "CA Certificate or Key is empty": a leftover block stops the apply before any change; a failed rotation is cleared, not looped; rotating the CA fixes it', () => {
    // GIVEN a cluster whose rke state lacks its CA, and a rotation someone started in the UI that fails forever
    kubectl(SERVER, ['annotate', 'clusters.management.cattle.io', RKE1_ID, 'testbed.cert-rotation/state-without-ca=true', '--overwrite']);
    kubectl(SERVER, ['patch', 'clusters.management.cattle.io', RKE1_ID, '--type', 'merge', '-p', '{"spec":{"rancherKubernetesEngineConfig":{"rotateCertificates":{"services":["etcd"]}}}}']);
    const leftover = { services: ['etcd'] };
    synth([{ name: RKE1_ID, distribution: 'rke1', generation: G + 2 }]);
    // WHEN deployed, THEN the step stops, names the block and the fix, and writes nothing
    let r = ws.deploy(STACK, [0, 1]);
    expect(r.stdout + r.stderr).toMatch(/already holds a rotateCertificates block this step did not write .*"CA Certificate or Key is empty".*kubectl patch clusters\.management\.cattle\.io c-tbd02 --type merge/s);
    expect(kubeGet(SERVER, RKE1).spec.rancherKubernetesEngineConfig.rotateCertificates).toEqual(leftover);
    // WHEN the user clears it as told and deploys again, Rancher fails the rotation: the step clears the block and says why
    kubectl(SERVER, ['patch', 'clusters.management.cattle.io', RKE1_ID, '--type', 'merge', '-p', '{"spec":{"rancherKubernetesEngineConfig":{"rotateCertificates":null}}}']);
    r = ws.deploy(STACK, [0, 1]);
    expect(r.stdout + r.stderr).toMatch(/Rancher failed the certificate rotation of clusters\.management\.cattle\.io\/c-tbd02: CA Certificate or Key is empty\. The rotateCertificates block was cleared/);
    expect(kubeGet(SERVER, RKE1).spec.rancherKubernetesEngineConfig.rotateCertificates).toBeUndefined();
    // WHEN the CA is rotated too, with the pods that hold tokens restarted after it (the procedure's last step)
    const since = new Date().toISOString();
    const rkeBefore = nodeCerts(1, 'rke');
    const podsBefore = kubeGet(2, '/api/v1/namespaces/cattle-system/pods').items.map((p: any) => p.metadata.name);
    synth([{
      name: RKE1_ID, distribution: 'rke1', generation: G + 3, caCertificates: true,
      restartAfter: { kubeconfig: env.KUBECONFIG, context: 'testbed-2', waitSeconds: 240 },
    }]);
    r = ws.deploy(STACK);
    // THEN it succeeds and the block is gone
    expect(events(since, 'certificate-rotation-done').map((e) => [e.cluster, e.caCertificates])).toEqual([[RKE1_ID, true]]);
    expect(kubeGet(SERVER, RKE1).spec.rancherKubernetesEngineConfig.rotateCertificates).toBeUndefined();
    // AND the nodes have a new CA and every certificate again
    const rkeChanged = renewed(rkeBefore, nodeCerts(1, 'rke')).filter((f) => /\.pem#1$/.test(f));
    expect(rkeChanged).toEqual(expect.arrayContaining(['etc/kubernetes/ssl/kube-ca.pem#1', 'etc/kubernetes/ssl/kube-apiserver.pem#1', 'etc/kubernetes/ssl/kube-node.pem#1']));
    // AND after Rancher was done, the system workloads of the RKE1 cluster rolled (those it has); the rest is skipped
    const out = r.stdout + r.stderr;
    expect(out.indexOf('cert-rotation restart [')).toBeGreaterThan(out.indexOf('rancher-cluster-rotate'));
    for (const [kind, ns, name] of [['deployments', 'cattle-system', 'cattle-cluster-agent'], ['daemonsets', 'cattle-system', 'cattle-node-agent'], ['daemonsets', 'cattle-system', 'kube-api-auth'], ['daemonsets', 'ingress-nginx', 'nginx-ingress-controller'], ['daemonsets', 'kube-system', 'canal'], ['deployments', 'kube-system', 'coredns']]) {
      const w = kubeGet(2, `/apis/apps/v1/namespaces/${ns}/${kind}/${name}`);
      expect({ name, annotated: typeof w.spec.template.metadata?.annotations?.[ANNOTATIONS.trustSha256] }).toEqual({ name, annotated: 'string' });
    }
    expect(out).toMatch(/Deployment kube-system\/kube-dns does not exist in this cluster: skipped/);
    const podsAfter = kubeGet(2, '/api/v1/namespaces/cattle-system/pods').items.map((p: any) => p.metadata.name);
    expect(podsAfter.filter((n: string) => n.startsWith('cattle-cluster-agent-') && podsBefore.includes(n))).toEqual([]);
    expect(ws.plan(STACK).changes).toEqual([]);
  });
});
