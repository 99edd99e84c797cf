import { Testing, TerraformStack } from 'cdktf';
import { cattleCaChecksum, IssuedCertificate, ServerCertificate, sha256Hex } from '../../../lib/pki';
import { CLUSTER_AGENT, NODE_AGENT } from '../../../lib/rancher-agents';
import { DownstreamCluster, RancherRelease, RancherServerRotation, RancherServerRotationProps } from '../../../lib/rotation';
import { ClusterStep } from '../../../lib/rotation/cluster-step';
import { issueServerCertificate, makePrivateCa, pemBodyLines, PrivateCa, removeDir, tempDir } from '../../support/pki';
import { changedResources, HOSTNAME, onlyResource, resourcesOfType, stepEnvelope, stepResources, SynthesizedStack, VALIDITY, writeServerCertificate } from './support/fixtures';

const RELEASE = RancherRelease.external({ chart: 'rancher-stable/rancher', deployedVersion: '2.8.5', kubeconfig: '/abs/server' });
const SERVER = { kubeconfig: '/abs/server', context: 'local' };
const DOWNSTREAM: DownstreamCluster[] = [
  { name: 'east', kubeconfig: '/abs/east', distribution: 'rke1' },
  { name: 'west', kubeconfig: '/abs/west', context: 'west-admin', distribution: 'rke2' },
];

/** A stack like stacks/ builds: no Kubernetes provider, each step names its cluster. */
function build(certificate: ServerCertificate, props: Partial<RancherServerRotationProps> = {}) {
  const stack = new TerraformStack(Testing.app(), 'rotation');
  const rotation = new RancherServerRotation(stack, 'rancher', {
    hostname: HOSTNAME,
    certificate,
    release: RELEASE,
    server: SERVER,
    rancherVersion: '2.8.5',
    downstream: DOWNSTREAM,
    ...props,
  });
  const text = Testing.synth(stack);
  const json = JSON.parse(text) as SynthesizedStack;
  /** The synthesized `terraform_data` of a step (or of the external Helm values). */
  const data = (of: { resource: { friendlyUniqueId: string } } | ClusterStep) => json.resource!.terraform_data[of.resource.friendlyUniqueId];
  return { rotation, text, json, data };
}

/** `terraform_data.<id>`, as depends_on lists it. */
function address(of: { resource: { friendlyUniqueId: string; terraformResourceType: string } }): string {
  return `${of.resource.terraformResourceType}.${of.resource.friendlyUniqueId}`;
}

describe('RancherServerRotation', () => {
  let dir: string;
  let caA: PrivateCa;
  let caB: PrivateCa;
  let leafA1: IssuedCertificate;
  let leafA2: IssuedCertificate;
  let leafB: IssuedCertificate;

  beforeAll(() => {
    dir = tempDir();
    caA = makePrivateCa('Alpha', VALIDITY);
    caB = makePrivateCa('Beta', VALIDITY);
    leafA1 = issueServerCertificate(caA, HOSTNAME, VALIDITY);
    leafA2 = issueServerCertificate(caA, HOSTNAME, VALIDITY);
    leafB = issueServerCertificate(caB, HOSTNAME, VALIDITY);
  });
  afterAll(() => removeDir(dir));

  /** Writes the files at the same paths each time, as a pull request that replaces them would. */
  function current(ca: PrivateCa, leaf: IssuedCertificate, withCa = true): ServerCertificate {
    return writeServerCertificate(dir, withCa ? 'current' : 'current-public', ca, leaf, { withCa });
  }

  test("declares every step of Rancher's certificate update for a private CA and two downstream clusters", () => {
    // GIVEN a certificate from a private CA, an RKE1 and an RKE2 downstream cluster on Rancher 2.8
    const cert = current(caA, leafA1);
    const { json, rotation, data } = build(cert);
    const checksum = cattleCaChecksum(cert.caBundle!.pem);
    const server = { cluster: 'server', ...SERVER };
    // THEN tls-ca and the ingress secret are secret steps on the server
    expect(stepEnvelope(data(rotation.caSecret!))).toMatchObject({ target: server, spec: { step: 'secret', namespace: 'cattle-system', name: 'tls-ca', type: 'Opaque' } });
    expect(stepEnvelope(data(rotation.ingressCertificate!))).toMatchObject({
      target: server,
      spec: { step: 'secret', namespace: 'cattle-system', name: 'tls-rancher-ingress', type: 'kubernetes.io/tls' },
    });
    // AND the chart values are set with privateCA=true, waiting for the release
    expect(data(rotation.helmValues!).provisioner[1]['local-exec'].command).toContain('--wait --timeout 10m --set ingress.tls.source=secret --set privateCA=true');
    // AND Rancher restarts keyed on the CA, without waiting (the gate waits)
    expect(rotation.trustHash).toBe(sha256Hex(`cacerts\n${checksum}`));
    expect(stepEnvelope(data(rotation.rancherRestart))).toMatchObject({
      target: server,
      spec: { step: 'restart', workloads: [{ kind: 'Deployment', namespace: 'cattle-system', name: 'rancher' }], annotations: { 'cert-rotation.io/trust-sha256': rotation.trustHash }, waitSeconds: 0 },
    });
    // AND the gate expects the CA's checksum and the new leaf, verifying with the new CA
    const gate = data(rotation.gate);
    expect(stepEnvelope(gate)).toEqual({
      version: 1,
      target: server,
      spec: {
        step: 'cacerts-gate',
        deployment: { namespace: 'cattle-system', name: 'rancher' },
        url: `https://${HOSTNAME}/v3/settings/cacerts`,
        trustPem: cert.caBundle!.pem,
        checksum,
        leafSha256: cert.leaf.sha256Fingerprint,
        timeoutSeconds: 600,
      },
    });
    expect(gate.triggers_replace).not.toHaveProperty('trustPem');
    expect(gate.triggers_replace.trustSha256).toBe(sha256Hex(cert.caBundle!.pem));
    // AND each downstream cluster gets the agents of its distribution, in its own cluster
    expect(rotation.agentChecksums.map((a) => stepEnvelope(data(a)))).toEqual([
      expect.objectContaining({ target: { cluster: 'east', kubeconfig: '/abs/east' }, spec: expect.objectContaining({ step: 'agents', checksum, workloads: [CLUSTER_AGENT, NODE_AGENT], waitSeconds: 300 }) }),
      expect.objectContaining({ target: { cluster: 'west', kubeconfig: '/abs/west', context: 'west-admin' }, spec: expect.objectContaining({ step: 'agents', checksum, workloads: [CLUSTER_AGENT] }) }),
    ]);
    // AND last the converge step, after every other step, carrying them all in order (the helm commands as shell)
    const converge = stepEnvelope(data(rotation.converge)) as any;
    expect(converge.target).toEqual(server);
    expect(converge.spec.steps.map((e: any) => ('shell' in e ? 'helm' : `${e.spec.step} ${e.target.cluster}`))).toEqual([
      'secret server', 'helm', 'secret server', 'restart server', 'cacerts-gate server', 'agents east', 'agents west',
    ]);
    expect(converge.spec.steps[1].shell[1]).toContain('helm upgrade rancher');
    expect(data(rotation.converge).depends_on).toEqual(expect.arrayContaining([address(rotation.gate), ...rotation.agentChecksums.map(address)]));
    // AND nothing else: seven steps and the Helm values, no provider, no restart downstream
    expect(stepResources(json)).toHaveLength(7);
    expect(resourcesOfType(json, 'terraform_data')).toHaveLength(8);
    expect(Object.keys(json.resource!)).toEqual(['terraform_data']);
    expect(json).not.toHaveProperty('provider');
    expect(rotation.downstreamRestarts).toEqual([]);
    expect(rotation.privateCa).toBe(true);
    expect(rotation.caChecksum).toBe(checksum);
    expect(new Set(stepResources(json).map(([, r]) => r.triggers_replace.fieldManager).filter(Boolean)).size).toBe(5);
  });

  test('orders the steps: tls-ca → chart values → ingress secret → Rancher restart → gate → agents → downstream restarts', () => {
    const { rotation, data } = build(current(caA, leafA1), { restartWorkloads: [{ kind: 'Deployment', namespace: 'kube-system', name: 'coredns' }] });
    const ca = address(rotation.caSecret!);
    const helm = address(rotation.helmValues!);
    const ingress = address(rotation.ingressCertificate!);
    const restart = address(rotation.rancherRestart);
    const gate = address(rotation.gate);
    expect(data(rotation.caSecret!)).not.toHaveProperty('depends_on');
    expect(data(rotation.helmValues!).depends_on).toEqual([ca]);
    expect(data(rotation.ingressCertificate!).depends_on).toEqual([ca, helm]);
    expect(data(rotation.rancherRestart).depends_on).toEqual([ca, helm, ingress]);
    expect(data(rotation.gate).depends_on).toEqual([ca, helm, ingress, restart]);
    // every agent step waits for the gate, and only for it
    for (const agents of rotation.agentChecksums) {
      expect(data(agents).depends_on).toEqual([gate]);
    }
    // a downstream restart waits for its own cluster's agents only, and rolls on the CA's trust hash
    expect(rotation.downstreamRestarts).toHaveLength(2);
    rotation.downstreamRestarts.forEach((r, i) => {
      expect(data(r).depends_on).toEqual([address(rotation.agentChecksums[i])]);
      expect(stepEnvelope(data(r))).toMatchObject({
        target: { cluster: DOWNSTREAM[i].name },
        spec: { step: 'restart', workloads: [{ kind: 'Deployment', namespace: 'kube-system', name: 'coredns' }], annotations: { 'cert-rotation.io/trust-sha256': rotation.trustHash }, waitSeconds: 300 },
      });
    });
  });

  test('the same certificate plans nothing new: byte-identical synth', () => {
    // GIVEN the same files loaded twice WHEN synthesized twice THEN the JSON is byte-identical
    const first = build(current(caA, leafA1));
    const second = build(current(caA, leafA1));
    expect(second.text).toBe(first.text);
    expect(changedResources(first.json, second.json)).toEqual([]);
  });

  test('a new leaf from the same CA changes only the ingress secret and the gate: nothing restarts, no agent changes', () => {
    // GIVEN the ingress certificate is replaced by a new leaf from the same CA
    const before = build(current(caA, leafA1));
    const after = build(current(caA, leafA2));
    // WHEN the triggers of every step are compared
    const triggers = (b: typeof before) => ({
      ca: b.data(b.rotation.caSecret!).triggers_replace,
      helm: b.data(b.rotation.helmValues!).triggers_replace,
      ingress: b.data(b.rotation.ingressCertificate!).triggers_replace,
      restart: b.data(b.rotation.rancherRestart).triggers_replace,
      gate: b.data(b.rotation.gate).triggers_replace,
      agents: b.rotation.agentChecksums.map((a) => b.data(a).triggers_replace),
    });
    const t0 = triggers(before);
    const t1 = triggers(after);
    // THEN the ingress secret and the gate's expected leaf change
    expect(t1.ingress.data['tls.crt']).not.toEqual(t0.ingress.data['tls.crt']);
    expect(t1.ingress.annotations['cert-rotation.io/sha256']).not.toBe(t0.ingress.annotations['cert-rotation.io/sha256']);
    expect(t1.gate).toEqual({ ...t0.gate, leafSha256: after.rotation.ingressCertificate!.annotations['cert-rotation.io/sha256'] });
    expect(t1.gate.leafSha256).not.toBe(t0.gate.leafSha256);
    // AND tls-ca, the chart values, the Rancher restart and every agent keep their triggers
    expect(t1.ca).toEqual(t0.ca);
    expect(t1.helm).toEqual(t0.helm);
    expect(t1.restart).toEqual(t0.restart);
    expect(t1.agents).toEqual(t0.agents);
    // and no other resource differs at all
    expect(changedResources(before.json, after.json)).toEqual(
      [address(after.rotation.converge), address(after.rotation.gate), address(after.rotation.ingressCertificate!)].sort(),
    );
    expect(after.rotation.caChecksum).toBe(before.rotation.caChecksum);
  });

  test('a new CA changes tls-ca, the Rancher restart, the gate and every agent, not the chart values', () => {
    // GIVEN the certificate moves to a new private CA
    const before = build(current(caA, leafA1));
    const after = build(current(caB, leafB));
    // WHEN compared THEN every step but the chart values changes
    const changed = changedResources(before.json, after.json);
    const r = after.rotation;
    expect(changed).toEqual(
      [r.caSecret!, r.ingressCertificate!, r.rancherRestart, r.gate, ...r.agentChecksums, r.converge].map(address).sort(),
    );
    expect(r.caChecksum).not.toBe(before.rotation.caChecksum);
    expect(after.data(r.rancherRestart).triggers_replace.annotations['cert-rotation.io/trust-sha256']).not.toBe(
      before.data(before.rotation.rancherRestart).triggers_replace.annotations['cert-rotation.io/trust-sha256'],
    );
    for (const agents of r.agentChecksums) {
      expect(after.data(agents).triggers_replace.checksum).toBe(r.caChecksum);
    }
    expect(after.data(r.gate).triggers_replace.checksum).toBe(r.caChecksum);
  });

  test('puts no byte of the private key into the synthesized JSON', () => {
    const cert = current(caA, leafA1);
    const { text, rotation, data } = build(cert);
    expect(text).not.toContain('PRIVATE KEY');
    for (const line of pemBodyLines(leafA1.keyPem)) {
      expect(text).not.toContain(line);
    }
    expect(stepEnvelope(data(rotation.ingressCertificate!)).spec).toMatchObject({ data: { 'tls.key': { file: cert.keyFile, sha256: cert.keyFileSha256 } } });
  });

  test('a publicly trusted certificate: no tls-ca, privateCA=false, the gate expects an empty setting and the agents lose their checksum', () => {
    // GIVEN a certificate loaded without caFile
    const cert = current(caA, leafA1, false);
    const { json, rotation, data } = build(cert);
    // THEN only the ingress secret is written, and the agent checksum is removed after the gate
    expect(rotation.caSecret).toBeUndefined();
    expect(stepResources(json).filter(([, r]) => r.triggers_replace.step === 'secret').map(([, r]) => r.triggers_replace.name)).toEqual(['tls-rancher-ingress']);
    expect(data(rotation.helmValues!).provisioner[1]['local-exec'].command).toContain('--set privateCA=false');
    const gate = stepEnvelope(data(rotation.gate)).spec;
    expect(gate).toMatchObject({ checksum: '', leafSha256: cert.leaf.sha256Fingerprint });
    expect(gate).not.toHaveProperty('trustPem');
    expect(data(rotation.gate).triggers_replace).not.toHaveProperty('trustSha256');
    for (const agents of rotation.agentChecksums) {
      expect(stepEnvelope(data(agents)).spec).toMatchObject({ step: 'agents', checksum: null });
    }
    expect(rotation.privateCa).toBe(false);
    expect(rotation.trustHash).toBe(sha256Hex('cacerts\npublic'));
    expect(data(rotation.helmValues!).depends_on).toEqual([]);
  });

  test("tls 'external': no ingress secret, the gate does not check the leaf, the chart gets tls=external", () => {
    const cert = current(caA, leafA1);
    const { rotation, data } = build(cert, { tls: 'external' });
    expect(rotation.ingressCertificate).toBeUndefined();
    expect(stepEnvelope(data(rotation.gate)).spec).not.toHaveProperty('leafSha256');
    expect(data(rotation.helmValues!).provisioner[1]['local-exec'].command).toContain('--set tls=external --set privateCA=true');
    expect(data(rotation.rancherRestart).depends_on).toEqual([address(rotation.caSecret!), address(rotation.helmValues!)]);
  });

  test('ingressSecretName names the ingress secret and the chart value', () => {
    const { rotation, data } = build(current(caA, leafA1), { ingressSecretName: 'rancher-tls' });
    expect(stepEnvelope(data(rotation.ingressCertificate!)).spec).toMatchObject({ name: 'rancher-tls', namespace: 'cattle-system' });
    expect(data(rotation.helmValues!).provisioner[1]['local-exec'].command).toContain('--set ingress.tls.secretName=rancher-tls');
  });

  test('without release, the chart values are left alone and the ingress secret follows tls-ca', () => {
    const { json, rotation, data } = build(current(caA, leafA1), { release: undefined });
    expect(rotation.helmValues).toBeUndefined();
    expect(resourcesOfType(json, 'terraform_data')).toHaveLength(stepResources(json).length);
    expect(data(rotation.ingressCertificate!).depends_on).toEqual([address(rotation.caSecret!)]);
  });

  test('a managed release is a helm_release with the three values, waited for, before the ingress secret', () => {
    const { json, rotation, data } = build(current(caA, leafA1), {
      release: RancherRelease.managed({ chart: 'rancher', repository: 'https://releases.rancher.com/server-charts/stable', version: '2.8.5' }),
    });
    const release = onlyResource(json, 'helm_release');
    expect(release.set).toEqual([
      { name: 'ingress.tls.source', value: 'secret' },
      { name: 'privateCA', value: 'true' },
      { name: 'hostname', value: HOSTNAME },
    ]);
    expect(release.wait).toBe(true);
    expect(data(rotation.ingressCertificate!).depends_on).toEqual([address(rotation.caSecret!), address(rotation.helmValues!)]);
  });

  test('the agents follow the distribution and the Rancher version', () => {
    const workloads = (props: Partial<RancherServerRotationProps>) => {
      const { rotation, data } = build(current(caA, leafA1), props);
      return rotation.agentChecksums.map((a) => (stepEnvelope(data(a)).spec as { workloads: unknown }).workloads);
    };
    // Rancher 2.12 removed the node agent; without a version an RKE1 cluster lists it (skipped where it does not exist)
    expect(workloads({ rancherVersion: '2.12.0' })).toEqual([[CLUSTER_AGENT], [CLUSTER_AGENT]]);
    expect(workloads({ rancherVersion: undefined })).toEqual([[CLUSTER_AGENT, NODE_AGENT], [CLUSTER_AGENT]]);
    expect(workloads({ downstream: [{ name: 'edge', kubeconfig: '/abs/edge', distribution: 'k3s' }, { name: 'imp', kubeconfig: '/abs/imp', distribution: 'imported' }] })).toEqual([
      [CLUSTER_AGENT],
      [CLUSTER_AGENT],
    ]);
  });

  test('gate and agentWaitSeconds reach the gate and the agents', () => {
    const { rotation, data } = build(current(caA, leafA1), { gate: { connectTo: '10.0.0.5:443', timeoutSeconds: 120 }, agentWaitSeconds: 90 });
    expect(stepEnvelope(data(rotation.gate)).spec).toMatchObject({ connectTo: '10.0.0.5:443', timeoutSeconds: 120 });
    for (const agents of rotation.agentChecksums) {
      expect(stepEnvelope(data(agents)).spec).toMatchObject({ waitSeconds: 90 });
    }
    expect(() => build(current(caA, leafA1), { gate: { connectTo: 'lb.example.com' } })).toThrow(/^CacertsGate: 'connectTo' \("lb.example.com"\) is not host:port; give the load balancer's address/);
  });

  test('no downstream cluster: the rotation ends with the gate', () => {
    const { json, rotation } = build(current(caA, leafA1), { downstream: [] });
    expect(rotation.agentChecksums).toEqual([]);
    expect(stepResources(json).map(([, r]) => r.triggers_replace.step).sort()).toEqual(['cacerts-gate', 'converge', 'restart', 'secret', 'secret']);
  });

  test("agents: 'redeploy' (method 1): after the gate a force-deploy step on the server, then an agents step that only waits for Rancher's write; the converge step runs both", () => {
    const { rotation, data } = build(current(caA, leafA1), {
      downstream: [{ ...DOWNSTREAM[1], agents: 'redeploy', clusterId: 'c-m-abcd1234' }],
    });
    const [agents] = rotation.agentChecksums;
    const force = stepEnvelope(data(agents.forceDeploy!));
    expect(force).toEqual({
      version: 1,
      target: { cluster: 'server', ...SERVER },
      spec: { step: 'force-deploy', clusterId: 'c-m-abcd1234', checksum: rotation.caChecksum, timeoutSeconds: 300 },
    });
    expect(data(agents.forceDeploy!).depends_on).toEqual([address(rotation.gate)]);
    expect(stepEnvelope(data(agents)).spec).toMatchObject({ step: 'agents', verifyOnly: true, checksum: rotation.caChecksum });
    expect(data(agents).depends_on).toEqual([address({ resource: agents.forceDeploy!.resource })]);
    const converge = stepEnvelope(data(rotation.converge)) as any;
    expect(converge.spec.steps.slice(-2).map((e: any) => e.spec.step)).toEqual(['force-deploy', 'agents']);
    expect(() => build(current(caA, leafA1), { downstream: [{ ...DOWNSTREAM[1], agents: 'redeploy' }] })).toThrow(
      /'clusterId' \(""\) is needed with mode 'redeploy'/,
    );
  });

  test('fleetCluster: after the agents of that cluster, a Force Update step on the server keyed on the CA; a leaf from the same CA leaves it; without fleetCluster a warning', () => {
    // GIVEN the RKE2 cluster with its Fleet cluster in another workspace, the RKE1 one without
    const downstream = [DOWNSTREAM[0], { ...DOWNSTREAM[1], fleetCluster: 'fleet-other/west' }];
    const { rotation, data } = build(current(caA, leafA1), { downstream });
    // THEN one Force Update, for west, on the server cluster, after west's agents
    expect(rotation.fleetForceUpdates).toHaveLength(1);
    const [fleet] = rotation.fleetForceUpdates;
    expect(stepEnvelope(data(fleet))).toEqual({
      version: 1,
      target: { cluster: 'server', ...SERVER },
      spec: { step: 'fleet-force-update', namespace: 'fleet-other', name: 'west', checksum: rotation.caChecksum, timeoutSeconds: 300 },
    });
    expect(data(fleet).depends_on).toEqual([address(rotation.agentChecksums[1])]);
    // AND the converge step runs it after west's agents, and waits for it
    const converge = stepEnvelope(data(rotation.converge)) as any;
    expect(converge.spec.steps.slice(-2).map((e: any) => e.spec.step)).toEqual(['agents', 'fleet-force-update']);
    expect(data(rotation.converge).depends_on).toContain(address(fleet));
    // AND the RKE1 cluster without fleetCluster gets a warning saying what to set
    const east = rotation.node.findChild('Downstream-east');
    expect(east.node.metadata.map((m) => m.data)).toEqual([expect.stringMatching(/^\[cert-rotation:fleetNotForceUpdated\] downstream cluster 'east' has no 'fleetCluster'/)]);
    // WHEN a new leaf from the same CA is built, the Force Update's trigger is unchanged
    const again = build(current(caA, leafA2), { downstream });
    expect(again.data(again.rotation.fleetForceUpdates[0]).triggers_replace).toEqual(data(fleet).triggers_replace);
    // AND a new CA changes it
    const other = build(current(caB, leafB), { downstream });
    expect(other.data(other.rotation.fleetForceUpdates[0]).triggers_replace).not.toEqual(data(fleet).triggers_replace);
  });

  test('privateCa: true without a CA bundle is an error naming privateCa and caFile', () => {
    const cert = current(caA, leafA1, false);
    expect(() => build(cert, { privateCa: true })).toThrow(
      /RancherServerRotation: 'privateCa' \(true\) needs the CA bundle, .* set 'caFile' \(cacerts.pem: intermediates, then the root\)/,
    );
  });

  test('privateCa: false with a CA bundle warns that the bundle is not used, and removes the agents\' checksum', () => {
    const { rotation, data } = build(current(caA, leafA1), { privateCa: false });
    expect(rotation.caSecret).toBeUndefined();
    expect(rotation.agentChecksums.map((a) => stepEnvelope(data(a)).spec)).toEqual([
      expect.objectContaining({ checksum: null }),
      expect.objectContaining({ checksum: null }),
    ]);
    const warnings = rotation.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^\[cert-rotation:caBundleUnused\] 'privateCa' is false/);
  });

  test('rejects a hostname the certificate does not cover, bad tls, and bad or duplicate downstream clusters', () => {
    const cert = current(caA, leafA1);
    const one = (d: Partial<DownstreamCluster>): Partial<RancherServerRotationProps> => ({ downstream: [{ ...DOWNSTREAM[0], ...d }] });
    expect(() => build(cert, { hostname: 'other.example.com' })).toThrow(
      /'hostname' \("other.example.com"\) is not in the subjectAltName of the server certificate .*\(rancher.example.com\)/,
    );
    expect(() => build(cert, { tls: 'passthrough' as never })).toThrow(/'tls' \("passthrough"\) is not 'ingress' or 'external'; use 'external' when a load balancer terminates TLS/);
    expect(() => build(cert, { downstream: [DOWNSTREAM[0], DOWNSTREAM[0]] })).toThrow(/'downstream\[\].name' \("east"\) is listed twice; give each downstream cluster once/);
    expect(() => build(cert, one({ name: 'east/1' }))).toThrow(/'downstream\[\].name' \("east\/1"\) must start with a letter or digit/);
    expect(() => build(cert, one({ name: 'server' }))).toThrow(/'downstream\[\].name' \("server"\) is the name of the Rancher server cluster/);
    expect(() => build(cert, one({ distribution: 'eks' as never }))).toThrow(
      /'downstream\[\].distribution' \("eks"\) is not one of rke1, rke2, k3s, imported; say how the cluster was made/,
    );
    expect(() => build(cert, one({ kubeconfig: 'east.yaml' }))).toThrow(/^ClusterStep: 'target.kubeconfig' \("east.yaml"\) is not an absolute path/);
  });
});
