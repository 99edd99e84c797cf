import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../../lib/config/load-config';
import { cattleCaChecksum } from '../../lib/pki/fingerprint';
import { TRUST_ANNOTATION } from '../../lib/rotation/common';
import { RancherStack } from '../../stacks/rancher-stack';
import { makePrivateCa, PrivateCa, RancherFiles, writeRancherFiles } from '../fixtures/rancher-pki';
import { countChanges, helm, installRancherAgents, installRancherChart, writeConfig } from './support/rancher-bed';
import { expectNoKey, Plan, Workspace } from './support/terraform';
import { kubeGet, loadTestbedEnv } from './support/testbed';

// Seed 004 end to end on three real API servers: testbed-1 runs "Rancher"
// (fixture chart installed with its own certificate), testbed-2 and testbed-3
// are downstream clusters whose agents carry CATTLE_CA_CHECKSUM.
const STACK = 'rancher';
const HOSTNAME = 'rancher.example.test';
const DOWNSTREAM = [2, 3];
const AGENTS = [
  { kind: 'deployments', name: 'cattle-cluster-agent', container: 'cluster-register' },
  { kind: 'daemonsets', name: 'cattle-node-agent', container: 'agent' },
];

describe('Rancher server certificate rotation on the test bed', () => {
  const env = loadTestbedEnv();
  const ws = new Workspace('rancher');
  const certDir = path.join(ws.dir, 'certs');
  let files: RancherFiles;
  const keysSeen: string[] = [];

  function deployFrom(f: RancherFiles): Plan {
    files = f;
    keysSeen.push(f.keyPem);
    const configFile = writeConfig(ws.dir, {
      rancher: {
        kubeconfig: env.KUBECONFIG,
        context: 'testbed-1',
        hostname: HOSTNAME,
        certificate: { certFile: f.certFile, keyFile: f.keyFile, caFile: f.caFile },
        release: { mode: 'external', chart: path.join(__dirname, '../fixtures/charts/rancher'), version: '2.8.5', helmBinary: env.TESTBED_HELM },
      },
      downstream: DOWNSTREAM.map((i) => ({ name: `downstream-${i}`, kubeconfig: env.KUBECONFIG, context: `testbed-${i}` })),
    });
    const config = loadConfig(configFile, { now: new Date() });
    ws.synth((app) => new RancherStack(app, STACK, config));
    const plan = ws.plan(STACK);
    ws.deploy(STACK);
    return plan;
  }

  function expectSecondPlanEmptyAndNoKeys(): void {
    const second = ws.plan(STACK);
    expect(second.changes.map((c) => `${c.address} ${c.actions}`)).toEqual([]);
    const state = fs.readFileSync(ws.statePath(STACK), 'utf8');
    for (const key of keysSeen) {
      expectNoKey(ws.synthesizedText(), key, 'cdktf.out');
      expectNoKey(second.raw, key, 'the plan JSON');
      expectNoKey(state, key, 'the state file');
      expectNoKey(ws.logs.join('\n'), key, 'the deploy and plan logs');
    }
  }

  function secretData(name: string): Record<string, string> {
    const s = kubeGet(1, `/api/v1/namespaces/cattle-system/secrets/${name}`);
    return Object.fromEntries(Object.entries(s.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
  }

  function agentChecksum(cluster: number, kind: string, name: string, container: string): string | undefined {
    const w = kubeGet(cluster, `/apis/apps/v1/namespaces/cattle-system/${kind}/${name}`);
    const c = w.spec.template.spec.containers.find((x: any) => x.name === container);
    return c.env?.find((e: any) => e.name === 'CATTLE_CA_CHECKSUM')?.value;
  }

  function trustAnnotation(cluster: number, apiPath: string): string | undefined {
    return kubeGet(cluster, apiPath).spec.template.metadata.annotations?.[TRUST_ANNOTATION];
  }

  let caA: PrivateCa;

  beforeAll(() => {
    for (const c of [1, ...DOWNSTREAM]) installRancherAgents(c, 'installed-with-rancher-self-signed-ca');
    installRancherChart(1, HOSTNAME);
    caA = makePrivateCa('Acme A');
  });

  afterAll(() => {
    try {
      if (files) ws.destroy(STACK);
    } finally {
      for (const c of [1, ...DOWNSTREAM]) helm(c, ['uninstall', 'rancher-agents', '--namespace', 'default'], [0, 1]);
      helm(1, ['uninstall', 'rancher', '--namespace', 'cattle-system'], [0, 1]);
      ws.remove();
    }
  });

  test('1+4. first deploy: secrets, Helm values moved to ingress.tls.source=secret, agents, restarts; second plan empty', () => {
    const plan = deployFrom(writeRancherFiles(certDir, caA, HOSTNAME));

    expect(countChanges(plan.changes)).toEqual({
      'kubernetes_secret_v1:create': 2,
      'terraform_data:create': 1,
      'kubernetes_env:create': 4,
      'kubernetes_annotations:create': 21,
    });

    // Step 1 and 2: the API server holds the exact bytes.
    const tls = secretData('tls-rancher-ingress');
    expect(tls['tls.crt']).toBe(files.chainPem);
    expect(tls['tls.key']).toBe(files.keyPem);
    expect(secretData('tls-ca')['cacerts.pem']).toBe(files.caPem);
    expect(kubeGet(1, '/api/v1/namespaces/cattle-system/secrets/tls-rancher-ingress').type).toBe('kubernetes.io/tls');

    // Step 3: the real Helm release now takes TLS from the secret, with every earlier value kept.
    const values = JSON.parse(helm(1, ['get', 'values', 'rancher', '--namespace', 'cattle-system', '-o', 'json']).stdout);
    expect(values).toMatchObject({ hostname: HOSTNAME, privateCA: true, ingress: { tls: { source: 'secret' } }, auditLog: { level: 2 } });
    const releases = JSON.parse(helm(1, ['list', '--namespace', 'cattle-system', '-o', 'json']).stdout);
    expect(releases.find((r: any) => r.name === 'rancher')).toMatchObject({ chart: 'rancher-2.8.5', revision: '2' });
    const ingress = kubeGet(1, '/apis/networking.k8s.io/v1/namespaces/cattle-system/ingresses/rancher');
    expect(ingress.spec.tls[0].secretName).toBe('tls-rancher-ingress');
    const rancher = kubeGet(1, '/apis/apps/v1/namespaces/cattle-system/deployments/rancher');
    expect(rancher.spec.template.spec.volumes).toEqual([expect.objectContaining({ secret: expect.objectContaining({ secretName: 'tls-ca' }) })]);

    // Step 4: both agents in every downstream cluster trust the new CA.
    const checksum = cattleCaChecksum(files.caPem);
    for (const c of DOWNSTREAM) {
      for (const a of AGENTS) expect(agentChecksum(c, a.kind, a.name, a.container)).toBe(checksum);
    }
    expect(agentChecksum(1, 'deployments', 'cattle-cluster-agent', 'cluster-register')).toBe('installed-with-rancher-self-signed-ca');

    // Restarts: every workload of seed 000 step 4 carries the trust hash, in all three clusters.
    for (const c of [1, ...DOWNSTREAM]) {
      expect(trustAnnotation(c, '/apis/apps/v1/namespaces/kube-system/daemonsets/canal')).toMatch(/^[0-9a-f]{64}$/);
      expect(trustAnnotation(c, '/apis/apps/v1/namespaces/ingress-nginx/daemonsets/nginx-ingress-controller')).toMatch(/^[0-9a-f]{64}$/);
    }

    expectSecondPlanEmptyAndNoKeys();
  });

  test('2. a new leaf from the same CA changes the ingress secret and the restarts only', () => {
    const before = trustAnnotation(2, '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent');
    const plan = deployFrom(writeRancherFiles(certDir, caA, HOSTNAME));

    expect(countChanges(plan.changes)).toEqual({
      'kubernetes_secret_v1:update': 1,
      'kubernetes_annotations:update': 21,
    });
    const secretChange = plan.changes.find((c) => c.type === 'kubernetes_secret_v1')!;
    expect(secretChange.after.metadata[0].name).toBe('tls-rancher-ingress');
    expect(secretChange.before.metadata[0].annotations['cert-rotation.io/sha256']).not.toBe(secretChange.after.metadata[0].annotations['cert-rotation.io/sha256']);

    expect(secretData('tls-rancher-ingress')['tls.crt']).toBe(files.chainPem);
    expect(secretData('tls-rancher-ingress')['tls.key']).toBe(files.keyPem);
    expect(trustAnnotation(2, '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent')).not.toBe(before);
    expectSecondPlanEmptyAndNoKeys();
  });

  test('3. a new private CA changes tls-ca, both agents in every downstream cluster, and the restarts', () => {
    const plan = deployFrom(writeRancherFiles(certDir, makePrivateCa('Acme B'), HOSTNAME));

    expect(countChanges(plan.changes)).toEqual({
      'kubernetes_secret_v1:update': 2,
      'kubernetes_env:update': 4,
      'kubernetes_annotations:update': 21,
    });
    expect(secretData('tls-ca')['cacerts.pem']).toBe(files.caPem);
    const checksum = cattleCaChecksum(files.caPem);
    for (const c of DOWNSTREAM) {
      for (const a of AGENTS) expect(agentChecksum(c, a.kind, a.name, a.container)).toBe(checksum);
    }
    expectSecondPlanEmptyAndNoKeys();
  });
});
