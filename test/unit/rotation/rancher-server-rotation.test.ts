import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { Testing, TerraformStack } from 'cdktf';
import { cattleCaChecksum, IssuedCertificate, ServerCertificate, sha256Hex } from '../../../lib/pki';
import { contentRevision, RancherRelease, RancherServerRotation, RancherServerRotationProps, RolloutRestart } from '../../../lib/rotation';
import { issueServerCertificate, makePrivateCa, pemBodyLines, PrivateCa, removeDir, tempDir } from '../../support/pki';
import {
  changedResources,
  HOSTNAME,
  onlyResource,
  resourcesOfType,
  SynthesizedStack,
  VALIDITY,
  writeServerCertificate,
} from './support/fixtures';

const RELEASE = RancherRelease.external({ chart: 'rancher-stable/rancher', deployedVersion: '2.8.5', kubeconfig: '/abs/server' });

/** A stack like stacks/ builds: a server provider and one aliased provider per downstream cluster. */
function build(certificate: ServerCertificate, props: Partial<RancherServerRotationProps> = {}, clusters = ['east', 'west']) {
  const stack = new TerraformStack(Testing.app(), 'rotation');
  const serverProvider = new KubernetesProvider(stack, 'server', { configPath: '/abs/server' });
  const downstream = clusters.map((name, i) => ({
    name,
    provider: new KubernetesProvider(stack, `k8s-${i}`, { alias: name, configPath: `/abs/${name}` }),
  }));
  const rotation = new RancherServerRotation(stack, 'rancher', {
    hostname: HOSTNAME,
    certificate,
    release: RELEASE,
    serverProvider,
    downstream,
    ...props,
  });
  const text = Testing.synth(stack);
  return { rotation, text, json: JSON.parse(text) as SynthesizedStack };
}

/** The resource type of each changed address, counted. */
function countByType(addresses: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const a of addresses) {
    const type = a.split('.')[0];
    out[type] = (out[type] ?? 0) + 1;
  }
  return out;
}

/** `<depends_on address>` → resource type. */
function dependencyTypes(resource: Record<string, any>): string[] {
  return [...new Set<string>((resource.depends_on ?? []).map((d: string) => d.split('.')[0]))].sort();
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

  test('declares every step of Rancher\'s certificate update for a private CA and two downstream clusters', () => {
    // GIVEN a certificate from a private CA WHEN the rotation is synthesized
    const cert = current(caA, leafA1);
    const { json, rotation } = build(cert);
    // THEN the server gets both secrets, the upgrade and the restarts; each downstream cluster its agents and restarts
    const secrets = resourcesOfType(json, 'kubernetes_secret_v1').map(([, r]) => r);
    expect(secrets.map((s) => `${s.metadata.namespace}/${s.metadata.name}`).sort()).toEqual([
      'cattle-system/tls-ca',
      'cattle-system/tls-rancher-ingress',
    ]);
    expect(secrets.every((s) => s.provider === 'kubernetes')).toBe(true);
    expect(onlyResource(json, 'terraform_data').provisioner[1]['local-exec'].command).toContain('--set privateCA=true');
    const envs = resourcesOfType(json, 'kubernetes_env').map(([, r]) => r);
    expect(envs.map((e) => `${e.provider} ${e.kind}`).sort()).toEqual([
      'kubernetes.east DaemonSet',
      'kubernetes.east Deployment',
      'kubernetes.west DaemonSet',
      'kubernetes.west Deployment',
    ]);
    expect(envs.every((e) => e.env[0].value === cattleCaChecksum(cert.caBundle!.pem))).toBe(true);
    expect(new Set(envs.map((e) => e.field_manager)).size).toBe(4);
    const restarts = resourcesOfType(json, 'kubernetes_annotations').map(([, r]) => r);
    expect(restarts).toHaveLength(3 * RolloutRestart.RANCHER_DEFAULT_WORKLOADS.length);
    expect(restarts.filter((r) => r.provider === 'kubernetes')).toHaveLength(7);
    expect(restarts.filter((r) => r.provider === 'kubernetes.east')).toHaveLength(7);
    expect(restarts.filter((r) => r.provider === 'kubernetes.west')).toHaveLength(7);
    expect(new Set(restarts.map((r) => r.field_manager)).size).toBe(restarts.length);
    // the trust hash is sha256(leaf fingerprint + "\n" + CA checksum)
    const trust = sha256Hex(`${cert.leaf.sha256Fingerprint}\n${cert.caBundle?.checksum}`);
    expect(rotation.trustHash).toBe(trust);
    expect(restarts.every((r) => r.template_annotations['cert-rotation.io/trust-sha256'] === trust)).toBe(true);
    expect(rotation.privateCa).toBe(true);
    expect(rotation.agentChecksums).toHaveLength(2);
    expect(rotation.downstreamRestarts).toHaveLength(2);
  });

  test('orders the steps: secrets, then values, then agents, then restarts', () => {
    const { json } = build(current(caA, leafA1));
    expect(dependencyTypes(onlyResource(json, 'terraform_data'))).toEqual(['kubernetes_secret_v1']);
    expect(onlyResource(json, 'terraform_data').depends_on).toHaveLength(2);
    for (const [, env] of resourcesOfType(json, 'kubernetes_env')) {
      expect(dependencyTypes(env)).toEqual(['kubernetes_secret_v1', 'terraform_data']);
    }
    for (const [, restart] of resourcesOfType(json, 'kubernetes_annotations')) {
      const expected = restart.provider === 'kubernetes'
        ? ['kubernetes_secret_v1', 'terraform_data']
        : ['kubernetes_env', 'kubernetes_secret_v1', 'terraform_data'];
      expect(dependencyTypes(restart)).toEqual(expected);
    }
    // a downstream restart waits for its own cluster's agents only
    const envNames = Object.fromEntries(resourcesOfType(json, 'kubernetes_env').map(([n, r]) => [`kubernetes_env.${n}`, r.provider]));
    for (const [, restart] of resourcesOfType(json, 'kubernetes_annotations').filter(([, r]) => r.provider !== 'kubernetes')) {
      const envDeps = restart.depends_on.filter((d: string) => d.startsWith('kubernetes_env.'));
      expect(envDeps).toHaveLength(2);
      expect(envDeps.every((d: string) => envNames[d] === restart.provider)).toBe(true);
    }
  });

  test('the same certificate plans nothing new: byte-identical synth', () => {
    // GIVEN the same files loaded twice WHEN synthesized twice THEN the JSON is byte-identical
    const first = build(current(caA, leafA1));
    const second = build(current(caA, leafA1));
    expect(second.text).toBe(first.text);
    expect(changedResources(first.json, second.json)).toEqual([]);
  });

  test('a new leaf from the same CA changes the ingress secret and the restarts, not the agents or tls-ca', () => {
    // GIVEN the ingress certificate is replaced by a new leaf from the same CA
    const before = build(current(caA, leafA1));
    const after = build(current(caA, leafA2));
    // WHEN the two synths are compared
    const changed = changedResources(before.json, after.json);
    // THEN only tls-rancher-ingress and the 21 restart annotations change
    expect(countByType(changed)).toEqual({ kubernetes_annotations: 21, kubernetes_secret_v1: 1 });
    const [secretAddress] = changed.filter((a) => a.startsWith('kubernetes_secret_v1.'));
    const name = secretAddress.split('.')[1];
    expect(after.json.resource!.kubernetes_secret_v1[name].metadata.name).toBe('tls-rancher-ingress');
    expect(after.json.resource!.kubernetes_secret_v1[name].data_wo_revision).not.toBe(
      before.json.resource!.kubernetes_secret_v1[name].data_wo_revision,
    );
    expect(after.rotation.caChecksum).toBe(before.rotation.caChecksum);
  });

  test('a new CA changes tls-ca, every agent checksum in every cluster and the restarts', () => {
    // GIVEN the certificate moves to a new private CA
    const before = build(current(caA, leafA1));
    const after = build(current(caB, leafB));
    // WHEN compared THEN both secrets, the 4 agent envs and the 21 restarts change; the helm values do not
    const changed = changedResources(before.json, after.json);
    expect(countByType(changed)).toEqual({ kubernetes_annotations: 21, kubernetes_env: 4, kubernetes_secret_v1: 2 });
    expect(after.rotation.caChecksum).not.toBe(before.rotation.caChecksum);
    for (const [, env] of resourcesOfType(after.json, 'kubernetes_env')) {
      expect(env.env).toEqual([{ name: 'CATTLE_CA_CHECKSUM', value: after.rotation.caChecksum }]);
    }
  });

  test('puts no byte of the private key into the synthesized JSON', () => {
    const cert = current(caA, leafA1);
    const { text, json } = build(cert);
    expect(text).not.toContain('PRIVATE KEY');
    for (const line of pemBodyLines(leafA1.keyPem)) {
      expect(text).not.toContain(line);
    }
    const ingress = resourcesOfType(json, 'kubernetes_secret_v1').find(([, r]) => r.metadata.name === 'tls-rancher-ingress')![1];
    expect(ingress.data_wo['tls.key']).toBe(`\${file("${cert.keyFile}")}`);
    expect(ingress.data_wo_revision).toBe(contentRevision(cert.chainPem));
  });

  test('a publicly trusted certificate: no tls-ca, no agent checksum, privateCA=false', () => {
    // GIVEN a certificate loaded without caFile
    const cert = current(caA, leafA1, false);
    const { json, rotation } = build(cert);
    // THEN only the ingress secret, the upgrade and the restarts are declared
    expect(resourcesOfType(json, 'kubernetes_secret_v1').map(([, r]) => r.metadata.name)).toEqual(['tls-rancher-ingress']);
    expect(resourcesOfType(json, 'kubernetes_env')).toHaveLength(0);
    expect(onlyResource(json, 'terraform_data').provisioner[1]['local-exec'].command).toContain('--set privateCA=false');
    expect(rotation.privateCa).toBe(false);
    expect(rotation.trustHash).toBe(sha256Hex(`${cert.leaf.sha256Fingerprint}\n`));
  });

  test('without release, step 3 is skipped; without restartOnServer, the server rolls nothing', () => {
    const { json, rotation } = build(current(caA, leafA1), { release: undefined, restartOnServer: false });
    expect(json.resource).not.toHaveProperty('terraform_data');
    expect(json.resource).not.toHaveProperty('helm_release');
    expect(rotation.helmValues).toBeUndefined();
    expect(rotation.serverRestart).toBeUndefined();
    const restarts = resourcesOfType(json, 'kubernetes_annotations').map(([, r]) => r);
    expect(restarts).toHaveLength(14);
    expect(restarts.every((r) => r.provider !== 'kubernetes')).toBe(true);
  });

  test('restartWorkloads replaces the default list in every cluster', () => {
    const { json } = build(current(caA, leafA1), {
      restartWorkloads: [{ kind: 'Deployment', namespace: 'kube-system', name: 'coredns' }],
    });
    const restarts = resourcesOfType(json, 'kubernetes_annotations').map(([, r]) => `${r.provider} ${r.metadata.name}`);
    expect(restarts.sort()).toEqual(['kubernetes coredns', 'kubernetes.east coredns', 'kubernetes.west coredns']);
  });

  test('a managed release is a helm_release with the three values', () => {
    const { json } = build(current(caA, leafA1), {
      release: RancherRelease.managed({ chart: 'rancher', repository: 'https://releases.rancher.com/server-charts/stable', version: '2.8.5' }),
    });
    expect(onlyResource(json, 'helm_release').set).toEqual([
      { name: 'ingress.tls.source', value: 'secret' },
      { name: 'privateCA', value: 'true' },
      { name: 'hostname', value: HOSTNAME },
    ]);
  });

  test('privateCa: true without a CA bundle is an error naming privateCa and caFile', () => {
    const cert = current(caA, leafA1, false);
    expect(() => build(cert, { privateCa: true })).toThrow(
      /RancherServerRotation: 'privateCa' \(true\) needs the CA bundle, .* set 'caFile' \(cacerts.pem: intermediates, then the root\)/,
    );
  });

  test('privateCa: false with a CA bundle warns that the bundle is not used', () => {
    const { rotation, json } = build(current(caA, leafA1), { privateCa: false });
    expect(resourcesOfType(json, 'kubernetes_env')).toHaveLength(0);
    const warnings = rotation.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => String(m.data));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^\[cert-rotation:caBundleUnused\] 'privateCa' is false/);
  });

  test('rejects a hostname the certificate does not cover, and duplicate downstream names', () => {
    const cert = current(caA, leafA1);
    expect(() => build(cert, { hostname: 'other.example.com' })).toThrow(
      /'hostname' \("other.example.com"\) is not in the subjectAltName of the server certificate .*\(rancher.example.com\)/,
    );
    expect(() => build(cert, {}, ['east', 'east'])).toThrow(/'downstream\[\].name' \("east"\) is listed twice/);
    expect(() => build(cert, {}, ['east/1'])).toThrow(/'downstream\[\].name' \("east\/1"\) must start with a letter or digit/);
  });
});
