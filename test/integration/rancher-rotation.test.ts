import * as fs from 'fs';
import * as path from 'path';
import { cattleCaChecksum } from '../../lib/pki/fingerprint';
import { makePrivateCa, PrivateCa, RancherFiles } from '../support/pki';
import { agentWorkloads, countChanges, resetRancherInstall } from './support/rancher-bed';
import { RancherScenario, STACK } from './support/rancher-scenario';
import { modelEvents, secretData } from '../../scripts/testbed/rancher-model/client';
import { helm, kubectl, kubeGet } from '../../scripts/testbed/client';

// RancherServerRotation against the test bed's Rancher model, which behaves as
// the real Rancher does (../shared/RANCHER-FACTS.md): testbed-1 runs Rancher
// (rancher-local profile, installed with its own CA: cert-manager already wrote
// tls-rancher-ingress), testbed-2 is an RKE1 downstream cluster of Rancher 2.8
// (cluster and node agent), testbed-3 an RKE2 one (cluster agent only).
//
// Each scenario deploys with the real cdktf and Terraform, then asserts from the
// API servers and the model's log: every agent is Ready with the checksum
// Rancher serves, no agent was ever started with a checksum Rancher did not
// serve, the server presents the new certificate, a second plan is empty, and
// no key byte is in cdktf.out, the state or the logs.
describe('RancherServerRotation on a real Rancher install (test-bed model)', () => {
  const sc = new RancherScenario('rancher');
  const ws = sc.ws;
  const SERVER = sc.server;
  let caB: PrivateCa;
  let current: RancherFiles;
  const synth = sc.synth.bind(sc);
  const files = sc.files.bind(sc);
  const expectAgents = sc.expectAgents.bind(sc);
  const expectServed = sc.expectServed.bind(sc);
  const expectNoAgentStartFailures = sc.expectNoAgentStartFailures.bind(sc);
  const expectSecondPlanEmpty = sc.expectSecondPlanEmpty.bind(sc);
  const expectNoKeyAnywhere = sc.expectNoKeyAnywhere.bind(sc);

  beforeAll(async () => {
    await resetRancherInstall();
    caB = makePrivateCa('Acme B');
  });

  afterAll(async () => {
    try {
      sc.cleanUp();
    } finally {
      await resetRancherInstall();
    }
  });

  test('Rancher-issued (self-signed) → private CA A: existing secrets are taken over; Rancher restarts and serves A before any agent changes; RKE1 and RKE2 agents roll once', async () => {
    const since = new Date().toISOString();
    const before = kubeGet(SERVER, '/api/v1/namespaces/cattle-system/secrets/tls-rancher-ingress');
    expect(before.metadata.annotations?.['cert-manager.io/issuer-name'] ?? before.metadata.annotations?.['cert-manager.io/issuer']).toBeDefined();
    current = files(makePrivateCa('Acme A'));
    synth(current, { restartWorkloads: ['DaemonSet/kube-system/canal'] });
    const r = ws.deploy(STACK);
    const out = r.stdout + r.stderr;
    expect(out).not.toMatch(/already exists/);
    expect(out).toMatch(/cattle-system\/tls-rancher-ingress: taken over and updated/);
    // RKE2 has neither cattle-node-agent nor canal: skipped, never an error.
    expect(out).toMatch(/DaemonSet kube-system\/canal does not exist in this cluster: skipped/);
    expectServed(current);
    const sum = cattleCaChecksum(current.caPem);
    expectAgents([2, 3], sum);
    expect(agentWorkloads(2).map((w) => w.name)).toContain('cattle-node-agent');
    expectNoAgentStartFailures(since);
    // Order: Rancher started serving A before any agent pod started with A.
    const events = modelEvents().filter((e) => e.time >= since);
    const served = events.findIndex((e) => e.event === 'cacerts-served' && e.checksum === sum);
    const firstAgent = events.findIndex((e) => e.event === 'agent-started' && e.given === sum);
    expect(served).toBeGreaterThanOrEqual(0);
    expect(firstAgent).toBeGreaterThan(served);
    // Fleet's Force Update: each downstream fleet-agent re-deployed once, after Rancher served A.
    expect(out).toMatch(/cert-rotation fleet-force-update \[server\]: clusters\.fleet\.cattle\.io fleet-default\/\S+: redeployAgentGeneration \d+ → \d+/);
    sc.expectFleetForceUpdated([2, 3], since, sum);
    expectSecondPlanEmpty();
    expectNoKeyAnywhere();
  });

  test('private CA A → private CA B with privateCA already true: Rancher is rolled and serves B, then the agents change; nothing crash-loops', async () => {
    const since = new Date().toISOString();
    const rancherStartsBefore = modelEvents().filter((e) => e.event === 'rancher-started').length;
    current = files(caB);
    synth(current, { restartWorkloads: ['DaemonSet/kube-system/canal'] });
    ws.deploy(STACK);
    expectServed(current);
    expectAgents([2, 3], cattleCaChecksum(current.caPem));
    expect(modelEvents().filter((e) => e.event === 'rancher-started').length).toBeGreaterThan(rancherStartsBefore);
    expectNoAgentStartFailures(since);
    sc.expectFleetForceUpdated([2, 3], since, cattleCaChecksum(current.caPem));
    expectSecondPlanEmpty();
    expectNoKeyAnywhere();
  });

  test('leaf-only renewal from the same CA: the plan replaces only the ingress Secret step, the gate and the converge step; no Rancher, agent or canal pod restarts', async () => {
    const since = new Date().toISOString();
    const canalBefore = kubeGet(2, '/apis/apps/v1/namespaces/kube-system/daemonsets/canal').metadata.generation;
    const agentBefore = kubeGet(2, '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent').metadata.generation;
    current = files(caB);
    synth(current, { restartWorkloads: ['DaemonSet/kube-system/canal'] });
    const plan = ws.plan(STACK);
    expect(countChanges(plan.changes)).toEqual({ 'terraform_data:delete+create': 3 });
    const addresses = plan.changes.map((c) => c.address);
    expect(addresses.filter((a) => /ingresscertificate/i.test(a))).toHaveLength(1);
    expect(addresses.filter((a) => /gate/i.test(a))).toHaveLength(1);
    expect(addresses.filter((a) => /converge/i.test(a))).toHaveLength(1);
    ws.deploy(STACK);
    expectServed(current);
    expect(modelEvents().filter((e) => e.time >= since && ['rancher-started', 'agent-started', 'fleet-agent-redeployed'].includes(e.event))).toEqual([]);
    expect(kubeGet(2, '/apis/apps/v1/namespaces/kube-system/daemonsets/canal').metadata.generation).toBe(canalBefore);
    expect(kubeGet(2, '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent').metadata.generation).toBe(agentBefore);
    expectSecondPlanEmpty();
  });

  test('method 1 (agents: redeploy) on the RKE2 cluster: after the gate Rancher is asked to re-render its agents and does, with the CA it serves; RKE1 keeps the checksum method', async () => {
    const since = new Date().toISOString();
    current = files(makePrivateCa('Acme M1'));
    synth(current, { redeploy: [3] });
    const r = ws.deploy(STACK);
    const out = r.stdout + r.stderr;
    expect(out).toMatch(/cert-rotation force-deploy \[server\]: clusters\.management\.cattle\.io\/c-m-testbd03: io\.cattle\.agent\.force\.deploy=true/);
    expect(out).toMatch(/cert-rotation agents \[downstream-3\]: Rancher re-rendered the agents/);
    const sum = cattleCaChecksum(current.caPem);
    expectServed(current);
    expectAgents([2, 3], sum);
    // Rancher (the model) wrote the checksum on testbed-3, from the CA it serves; the tool wrote testbed-2's.
    const redeployed = modelEvents().filter((e) => e.time >= since && e.event === 'agents-redeployed');
    // (The converge step asks again; Rancher then re-renders the same checksum and nothing rolls.)
    expect(redeployed.length).toBeGreaterThanOrEqual(1);
    expect(redeployed.every((e) => e.testbedCluster === 'testbed-3' && e.checksum === sum)).toBe(true);
    expect(redeployed[0].changed).toEqual(['Deployment/cattle-cluster-agent']);
    expect(redeployed.slice(1).every((e) => e.changed.length === 0)).toBe(true);
    expectNoAgentStartFailures(since);
    expectSecondPlanEmpty();
  });

  test('gate timeout: Rancher does not restart (its rollout is paused) → the apply fails at the gate before any agent changes; the next deploy converges', async () => {
    const old = cattleCaChecksum(current.caPem);
    const next = files(makePrivateCa('Acme C'));
    kubectl(SERVER, ['rollout', 'pause', '-n', 'cattle-system', 'deployment/rancher']);
    try {
      synth(next, { gateTimeout: 20 });
      const r = ws.deploy(STACK, [1]);
      const out = r.stdout + r.stderr;
      expect(out).toMatch(/cacerts-gate \[server\]: FAILED: .*has not rolled out after 20 s/);
      expect(out).toMatch(/No agent was changed/);
      expectAgents([2, 3], old);
    } finally {
      kubectl(SERVER, ['rollout', 'resume', '-n', 'cattle-system', 'deployment/rancher']);
    }
    const since = new Date().toISOString();
    current = next;
    synth(current);
    ws.deploy(STACK);
    expectServed(current);
    expectAgents([2, 3], cattleCaChecksum(current.caPem));
    expectNoAgentStartFailures(since);
    expectSecondPlanEmpty();
  });

  test('removing a downstream cluster from the configuration changes nothing there: its agents keep the checksum', () => {
    const sum = cattleCaChecksum(current.caPem);
    synth(current, { downstream: [2] });
    const plan = ws.plan(STACK);
    expect(plan.changes.length).toBeGreaterThan(0);
    // The steps of downstream-3 are dropped (nothing runs for them); the converge step changes (its list is shorter).
    const dropped = plan.changes.filter((c) => c.actions.join() === 'delete');
    expect(dropped.length).toBeGreaterThan(0);
    expect(dropped.every((c) => /downstream-3/.test(c.address))).toBe(true);
    expect(plan.changes.filter((c) => c.actions.join() !== 'delete').map((c) => c.address)).toEqual([expect.stringMatching(/Converge/)]);
    ws.deploy(STACK);
    expectAgents([3], sum);
    expectSecondPlanEmpty();
  });

  test('private CA → publicly trusted certificate: Rancher serves an empty cacerts, then CATTLE_CA_CHECKSUM is removed from the agents; no agent exits', async () => {
    const since = new Date().toISOString();
    // A "public" CA: trusted through the trust store of the machine that applies (NODE_EXTRA_CA_CERTS), not through tls-ca.
    const publicCa = makePrivateCa('Public Trust Services');
    current = files(publicCa);
    const trustStore = path.join(ws.dir, 'public-roots.pem');
    fs.writeFileSync(trustStore, publicCa.root.certPem);
    synth(current, { downstream: [2, 3], privateCa: false });
    const r = ws.deploy(STACK, [0], { NODE_EXTRA_CA_CERTS: trustStore });
    expect(r.stdout).toMatch(/serves an empty cacerts setting/);
    expectServed(current, false);
    expectAgents([2, 3], undefined);
    const values = JSON.parse(helm(SERVER, ['get', 'values', 'rancher', '--namespace', 'cattle-system', '-o', 'json']).stdout);
    expect(values.privateCA).toBe(false);
    expectNoAgentStartFailures(since);
    expect(modelEvents().filter((e) => e.time >= since && /no CA certificate configured/.test(e.message ?? ''))).toEqual([]);
    expectSecondPlanEmpty();
    expectNoKeyAnywhere();
  });

  test('destroying the stack leaves tls-ca, tls-rancher-ingress and the agents as they are', () => {
    const chain = secretData(SERVER, 'cattle-system', 'tls-rancher-ingress')['tls.crt'];
    ws.destroy(STACK);
    expect(secretData(SERVER, 'cattle-system', 'tls-rancher-ingress')['tls.crt']).toBe(chain);
    expect(kubeGet(SERVER, '/api/v1/namespaces/cattle-system/secrets').items.map((s: any) => s.metadata.name)).toContain('tls-ca');
    expectAgents([2, 3], undefined);
  });

  test('a Rancher 2.12 install (no RKE1, no node agent anywhere), after the destroy: to private CA C; only cattle-cluster-agent is planned and rolls, Fleet is force-updated', async () => {
    // testbed-4 is an RKE2 cluster of Rancher 2.12 (profile rancher-2.12), testbed-3 one that came from 2.9.
    const since = new Date().toISOString();
    current = files(makePrivateCa('Acme C'));
    synth(current, { downstream: [3, 4], rancherVersion: '2.12.3' });
    const plan = ws.plan(STACK);
    const agentSteps = plan.changes.filter((c) => c.type === 'terraform_data' && (c.after as any)?.triggers_replace?.step === 'agents');
    expect(agentSteps.map((c) => [(c.after as any).triggers_replace.cluster, (c.after as any).triggers_replace.workloads.map((w: any) => w.name)])).toEqual([
      ['downstream-3', ['cattle-cluster-agent']],
      ['downstream-4', ['cattle-cluster-agent']],
    ]);
    const r = ws.deploy(STACK);
    expect(r.stdout + r.stderr).not.toMatch(/cattle-node-agent/);
    expectServed(current);
    const sum = cattleCaChecksum(current.caPem);
    expectAgents([3, 4], sum);
    expect(agentWorkloads(4).map((w) => w.name)).toEqual(['cattle-cluster-agent']);
    expectNoAgentStartFailures(since);
    sc.expectFleetForceUpdated([3, 4], since, sum);
    expectSecondPlanEmpty();
    expectNoKeyAnywhere();
  });
});
