import * as fs from 'fs';
import * as path from 'path';
import { loadConfig } from '../../lib/config/load-config';
import { cattleCaChecksum } from '../../lib/pki/fingerprint';
import { RancherStack } from '../../stacks/rancher-stack';
import { makePrivateCa, PrivateCa, RancherFiles, writeRancherFiles } from '../support/pki';
import { resetRancherInstall, writeConfig } from './support/rancher-bed';
import { checksumOf, modelEvents, secretData, servedCacerts } from '../../scripts/testbed/rancher-model/client';
import { expectNoKey, Workspace } from './support/terraform';
import { helm, kubectl, kubeGet, loadTestbedEnv, waitFor } from '../../scripts/testbed/client';

// Today's RancherServerRotation against the test bed's Rancher model: a Rancher
// install that behaves as the real one (../shared/RANCHER-FACTS.md): testbed-1
// runs Rancher (rancher-local profile), testbed-2 is an RKE1 downstream cluster
// of Rancher 2.8 and testbed-3 an RKE2 one of 2.9+.
//
// Until issue 8 ("Rancher rotation that is safe on a real Rancher install"),
// these tests pin what really happens, so the test bed shows each failure:
//  - the first run fails with AlreadyExists (cert-manager already wrote
//    tls-rancher-ingress);
//  - workloads assumed to exist (default restart list, the node agent on RKE2)
//    fail the apply;
//  - with those worked around by hand, a CA change with privateCA already true
//    applies "successfully" while Rancher keeps serving the old CA, and the
//    agents restarted with the new checksum crash-loop.
// Each expectation flips when issue 8 lands.
const STACK = 'rancher';

describe('RancherServerRotation on a real Rancher install (test-bed model): the defects issue 8 fixes', () => {
  const env = loadTestbedEnv();
  const SERVER = Number(env.TESTBED_RANCHER_CLUSTER);
  const HOSTNAME = env.TESTBED_RANCHER_HOSTNAME;
  const ws = new Workspace('rancher');
  const certDir = path.join(ws.dir, 'certs');
  const keysSeen: string[] = [];
  let deployed = false;

  function synth(f: RancherFiles, downstream: number[], restartWorkloads?: string[]): void {
    keysSeen.push(f.keyPem);
    const configFile = writeConfig(ws.dir, {
      rancher: {
        kubeconfig: env.KUBECONFIG,
        context: `testbed-${SERVER}`,
        hostname: HOSTNAME,
        certificate: { certFile: f.certFile, keyFile: f.keyFile, caFile: f.caFile },
        release: { mode: 'external', chart: path.join(__dirname, '../fixtures/charts/rancher'), version: '2.8.5', helmBinary: env.TESTBED_HELM },
        ...(restartWorkloads ? { restartWorkloads } : {}),
      },
      downstream: downstream.map((i) => ({ name: `downstream-${i}`, kubeconfig: env.KUBECONFIG, context: `testbed-${i}` })),
    });
    ws.synth((app) => new RancherStack(app, STACK, loadConfig(configFile, { now: new Date() })));
  }

  function agentChecksum(cluster: number): string | undefined {
    const w = kubeGet(cluster, '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent');
    return w.spec.template.spec.containers[0].env?.find((e: any) => e.name === 'CATTLE_CA_CHECKSUM')?.value;
  }

  function expectNoKeyAnywhere(): void {
    const state = fs.existsSync(ws.statePath(STACK)) ? fs.readFileSync(ws.statePath(STACK), 'utf8') : '';
    for (const key of keysSeen) {
      expectNoKey(ws.synthesizedText(), key, 'cdktf.out');
      expectNoKey(state, key, 'the state file');
      expectNoKey(ws.logs.join('\n'), key, 'the deploy logs');
    }
  }

  /**
   * What a user of today's version must do by hand before the first run: stop
   * cert-manager from writing tls-rancher-ingress (the chart drops the issuer
   * annotation with ingress.tls.source=secret), then delete the secrets.
   */
  function deleteSecretsByHand(): void {
    helm(SERVER, ['upgrade', 'rancher', path.join(__dirname, '../fixtures/charts/rancher'), '--namespace', 'cattle-system', '--reuse-values', '--set', 'ingress.tls.source=secret']);
    kubectl(SERVER, ['delete', 'secret', '-n', 'cattle-system', 'tls-rancher-ingress', 'tls-ca', '--ignore-not-found']);
  }

  let caA: PrivateCa;

  beforeAll(async () => {
    await resetRancherInstall();
    caA = makePrivateCa('Acme A');
  });

  afterAll(async () => {
    try {
      if (deployed) ws.destroy(STACK);
    } finally {
      ws.remove();
      await resetRancherInstall();
    }
  });

  test('defect 4: the first run against a real install fails with AlreadyExists and changes nothing else', () => {
    const before = secretData(SERVER, 'cattle-system', 'tls-rancher-ingress')['tls.crt'];
    synth(writeRancherFiles(certDir, caA, HOSTNAME), [2]);
    const r = ws.deploy(STACK, [1]);
    expect(r.stdout + r.stderr).toMatch(/secrets "tls-rancher-ingress" already exists/);
    // The release was not touched: still installed with Rancher's own certificate.
    const values = JSON.parse(helm(SERVER, ['get', 'values', 'rancher', '--namespace', 'cattle-system', '-o', 'json']).stdout);
    expect(values.ingress?.tls?.source).toBeUndefined();
    expect(secretData(SERVER, 'cattle-system', 'tls-rancher-ingress')['tls.crt']).toBe(before);
    deployed = true;
    ws.destroy(STACK);
    deployed = false;
    expectNoKeyAnywhere();
  });

  test('defect 2: with the secrets removed by hand, the default restart list and the node agent fail the apply on RKE1 and RKE2 clusters', () => {
    deleteSecretsByHand();
    synth(writeRancherFiles(certDir, caA, HOSTNAME), [2, 3]);
    deployed = true;
    const r = ws.deploy(STACK, [1]);
    const out = r.stdout + r.stderr;
    // kube-dns is in the default list but an RKE1 cluster of today runs coredns; RKE2 has no cattle-node-agent.
    expect(out).toMatch(/kube-dns/);
    expect(out).toMatch(/cattle-node-agent/);
    expect(out).toMatch(/does not exist|not found/i);
    ws.destroy(STACK);
    deployed = false;
    expectNoKeyAnywhere();
  });

  test('defect 1: a CA change with privateCA already true applies "successfully" while Rancher serves the old CA and new agents crash-loop', async () => {
    await resetRancherInstall();
    // Worked around by hand: no pre-existing secrets, restarts only of a workload every cluster has, RKE1 only.
    deleteSecretsByHand();
    const workaround = ['Deployment/cattle-system/rancher-webhook'];
    const filesA = writeRancherFiles(certDir, caA, HOSTNAME);
    synth(filesA, [2], workaround);
    deployed = true;
    ws.deploy(STACK);
    // The chart switch changed the rancher pod template, so Rancher rolled and now serves CA A.
    await waitFor('Rancher to serve CA A', () => servedCacerts().value === filesA.caPem.trim(), 60);
    await waitFor('the agent on testbed-2 to roll to CA A', () =>
      kubectl(2, ['rollout', 'status', '-n', 'cattle-system', 'deployment/cattle-cluster-agent', '--timeout=1s'], { ok: [0, 1] }).status === 0, 120);

    const since = new Date().toISOString();
    const filesB = writeRancherFiles(certDir, makePrivateCa('Acme B'), HOSTNAME);
    synth(filesB, [2], workaround);
    ws.deploy(STACK); // exits 0: Terraform reports success

    expect(secretData(SERVER, 'cattle-system', 'tls-ca')['cacerts.pem']).toBe(filesB.caPem);
    expect(agentChecksum(2)).toBe(cattleCaChecksum(filesB.caPem));
    // Nothing rolled deploy/rancher: it still serves what its pods read at start.
    await new Promise((r) => setTimeout(r, 2000));
    expect(servedCacerts().value).toBe(filesA.caPem.trim());
    const failed = await waitFor('the new agent pod to fail its start check', () =>
      modelEvents().find((e) => e.event === 'agent-start-failed' && e.time >= since && e.cluster === 'testbed-2'), 60);
    expect(failed.message).toBe(`Configured cacerts checksum (${checksumOf(filesA.caPem.trim())}) does not match given --ca-checksum (${cattleCaChecksum(filesB.caPem)})`);
    expectNoKeyAnywhere();
  });
});
