import * as crypto from 'crypto';
import * as path from 'path';
import { makePrivateCa } from '../support/pki';
import { agentWorkloads, resetRancherInstall } from './support/rancher-bed';
import { checksumOf, modelEvents, presentedChain, secretData, servedCacerts } from '../../scripts/testbed/rancher-model/client';
import { helm, kubeGet, kubectl, loadTestbedEnv, waitFor } from '../../scripts/testbed/client';

// The test bed's Rancher model against the facts in ../shared/RANCHER-FACTS.md:
// testbed-1 has the rancher-local profile (Rancher chart, cert-manager stand-in,
// model), testbed-2 rke1 and testbed-3 rke2 downstream clusters whose agents
// were rendered with the checksum Rancher served at install.
describe('test bed: the Rancher model behaves as a real Rancher install', () => {
  const env = loadTestbedEnv();
  const SERVER = Number(env.TESTBED_RANCHER_CLUSTER);

  /** A private CA's root certificate, as the content of cacerts.pem. */
  function makeCa(name: string): string {
    return makePrivateCa(name).root.certPem;
  }

  function applyTlsCa(pem: string): void {
    kubectl(SERVER, ['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls-ca', namespace: 'cattle-system' },
      data: { 'cacerts.pem': Buffer.from(pem).toString('base64') },
    }) });
  }

  function rolloutRancher(): void {
    kubectl(SERVER, ['rollout', 'status', '-n', 'cattle-system', 'deployment/rancher', '--timeout=90s']);
  }

  async function servedBecomes(value: string): Promise<void> {
    await waitFor('Rancher to serve the expected cacerts', () => servedCacerts().value === value, 60);
  }

  function agentPods(cluster: number, app: string): any[] {
    return kubeGet(cluster, `/api/v1/namespaces/cattle-system/pods?labelSelector=app%3D${app}`).items.filter((p: any) => !p.metadata.deletionTimestamp);
  }

  function ready(pod: any): boolean {
    return pod.status.conditions?.some((c: any) => c.type === 'Ready' && c.status === 'True') ?? false;
  }

  beforeAll(resetRancherInstall);

  test('a fresh install (or one put back to it): cert-manager wrote tls-rancher-ingress from Rancher\'s own CA, the ingress presents it, agents trust it', () => {
    const ownCa = secretData(SERVER, 'cattle-system', 'tls-rancher')['tls.crt'];
    const ingress = secretData(SERVER, 'cattle-system', 'tls-rancher-ingress');
    const leaf = new crypto.X509Certificate(ingress['tls.crt']);
    expect(leaf.verify(new crypto.X509Certificate(ownCa).publicKey)).toBe(true);
    expect(leaf.checkHost(env.TESTBED_RANCHER_HOSTNAME)).toBe(env.TESTBED_RANCHER_HOSTNAME);
    expect(kubeGet(SERVER, '/api/v1/namespaces/cattle-system/secrets/tls-rancher-ingress').metadata.annotations['cert-manager.io/issuer-name']).toBe('rancher');
    // The ingress (the model's HTTPS front) presents that secret's chain.
    expect(new crypto.X509Certificate(presentedChain()).fingerprint256).toBe(leaf.fingerprint256);
    // /v3/settings/cacerts is Rancher's own CA, and the agents were rendered with its checksum.
    const served = servedCacerts();
    expect(served).toEqual({ status: 200, value: ownCa.trim() });
    for (const [cluster, app] of [[2, 'cattle-cluster-agent'], [2, 'cattle-agent'], [3, 'cattle-cluster-agent']] as const) {
      const pods = agentPods(cluster, app);
      expect(pods.length).toBeGreaterThan(0);
      for (const p of pods) {
        const given = p.spec.containers.flatMap((c: any) => c.env ?? []).find((e: any) => e.name === 'CATTLE_CA_CHECKSUM').value;
        expect(given).toBe(checksumOf(served.value!));
        expect(ready(p)).toBe(true);
      }
    }
  });

  test('Rancher reads tls-ca once at start: a changed tls-ca is served only after deploy/rancher is rolled', async () => {
    const caA = makeCa('Private CA A');
    const caB = makeCa('Private CA B');
    const ownCa = servedCacerts().value!;
    applyTlsCa(caA);
    // privateCA=true mounts tls-ca (subPath) and changes the pod template: the pods roll and read CA A.
    helm(SERVER, ['upgrade', 'rancher', path.join(__dirname, '../fixtures/charts/rancher'), '--namespace', 'cattle-system', '--reuse-values', '--set', 'privateCA=true']);
    rolloutRancher();
    await servedBecomes(caA.trim());

    // The secret changes; nothing rolls (no checksum annotation on the template), so Rancher keeps serving A.
    const before = kubeGet(SERVER, '/apis/apps/v1/namespaces/cattle-system/deployments/rancher');
    applyTlsCa(caB);
    await new Promise((r) => setTimeout(r, 3000));
    expect(servedCacerts().value).toBe(caA.trim());
    const after = kubeGet(SERVER, '/apis/apps/v1/namespaces/cattle-system/deployments/rancher');
    expect(after.metadata.generation).toBe(before.metadata.generation);
    // The template is unchanged by the secret change, and the chart put no checksum of tls-ca on it.
    // (Earlier suites may have left their own annotations, e.g. cert-rotation.io/trust-sha256: compare, do not assume empty.)
    expect(after.spec.template.metadata.annotations ?? {}).toEqual(before.spec.template.metadata.annotations ?? {});
    expect(Object.keys(after.spec.template.metadata.annotations ?? {}).filter((k) => !k.startsWith('cert-rotation.io/') && k !== 'kubectl.kubernetes.io/restartedAt')).toEqual([]);

    // Rolling deploy/rancher (the docs' "redeploy the Rancher pods") makes it serve B.
    kubectl(SERVER, ['rollout', 'restart', '-n', 'cattle-system', 'deployment/rancher']);
    rolloutRancher();
    await servedBecomes(caB.trim());
    const started = modelEvents().filter((e) => e.event === 'rancher-started' && e.cacertsSource.startsWith('secret tls-ca'));
    expect(started.length).toBeGreaterThanOrEqual(2);

    // Back to the install's own CA for the tests after this one.
    helm(SERVER, ['upgrade', 'rancher', path.join(__dirname, '../fixtures/charts/rancher'), '--namespace', 'cattle-system', '--reuse-values', '--set', 'privateCA=false']);
    rolloutRancher();
    kubectl(SERVER, ['delete', 'secret', '-n', 'cattle-system', 'tls-ca']);
    await servedBecomes(ownCa);
  });

  test('an agent started with a checksum Rancher does not serve fails with the agent\'s message and never becomes Ready', async () => {
    const cluster = 2;
    const served = servedCacerts().value!;
    const wrong = 'f'.repeat(64);
    const before = agentPods(cluster, 'cattle-cluster-agent').map((p) => p.metadata.name);
    const since = new Date().toISOString();
    kubectl(cluster, ['set', 'env', '-n', 'cattle-system', 'deployment/cattle-cluster-agent', `CATTLE_CA_CHECKSUM=${wrong}`]);

    const failed = await waitFor('the model to fail the new agent pod', () =>
      modelEvents().find((e) => e.event === 'agent-start-failed' && e.time >= since && e.cluster === `testbed-${cluster}` && e.given === wrong), 30);
    expect(failed.message).toBe(`Configured cacerts checksum (${checksumOf(served)}) does not match given --ca-checksum (${wrong})`);
    expect(failed.owner).toBe('Deployment/cattle-cluster-agent');

    const pod = kubeGet(cluster, `/api/v1/namespaces/cattle-system/pods/${failed.pod}`);
    expect(ready(pod)).toBe(false);
    expect(pod.status.containerStatuses[0].state.waiting.reason).toBe('CrashLoopBackOff');
    // run.sh prints its errors with the prefix "ERROR: " (its error function).
    expect(pod.status.containerStatuses[0].lastState.terminated.message).toBe(`ERROR: ${failed.message}`);
    const events = kubeGet(cluster, `/api/v1/namespaces/cattle-system/events?fieldSelector=involvedObject.name%3D${failed.pod}`).items;
    expect(events.map((e: any) => e.message).join('\n')).toContain('does not match given --ca-checksum');
    // maxUnavailable 0: the old agent keeps running and the rollout does not finish.
    expect(agentPods(cluster, 'cattle-cluster-agent').filter((p) => before.includes(p.metadata.name) && ready(p))).toHaveLength(before.length);
    expect(kubectl(cluster, ['rollout', 'status', '-n', 'cattle-system', 'deployment/cattle-cluster-agent', '--timeout=2s'], { ok: [1] }).status).toBe(1);

    // The right checksum rolls the agent to Ready.
    kubectl(cluster, ['set', 'env', '-n', 'cattle-system', 'deployment/cattle-cluster-agent', `CATTLE_CA_CHECKSUM=${checksumOf(served)}`]);
    kubectl(cluster, ['rollout', 'status', '-n', 'cattle-system', 'deployment/cattle-cluster-agent', '--timeout=60s']);
  });
});

// Method 1 (Rancher re-renders the agents) and Fleet's Force Update, against
// rancher/rancher pkg/controllers/management/clusterdeploy, pkg/systemtemplate
// and rancher/fleet's agent import (see scripts/testbed/rancher-model/README.md).
describe('test bed: the Rancher model re-renders agents (method 1) and force-updates Fleet agents', () => {
  const env = loadTestbedEnv();
  const SERVER = Number(env.TESTBED_RANCHER_CLUSTER);
  const CHART = path.join(__dirname, '../fixtures/charts/rancher');
  const RKE1 = 2;
  const RKE2 = 3;
  const id = (c: number): string => env[`TESTBED_RANCHER_CLUSTER_ID_${c}`];
  const fleetName = (c: number): string => env[`TESTBED_FLEET_CLUSTER_${c}`];
  const mgmt = (c: number): any => kubeGet(SERVER, `/apis/management.cattle.io/v3/clusters/${id(c)}`);
  const fleet = (c: number): any => kubeGet(SERVER, `/apis/fleet.cattle.io/v1alpha1/namespaces/fleet-default/clusters/${fleetName(c)}`);

  function checksumEnv(cluster: number, w: { kind: string; name: string; container: string }): any {
    const obj = kubeGet(cluster, `/apis/apps/v1/namespaces/cattle-system/${w.kind.toLowerCase()}s/${w.name}`);
    return obj.spec.template.spec.containers.find((c: any) => c.name === w.container).env.find((e: any) => e.name === 'CATTLE_CA_CHECKSUM');
  }

  function forceDeploy(c: number): void {
    kubectl(SERVER, ['annotate', '--overwrite', 'clusters.management.cattle.io', id(c), 'io.cattle.agent.force.deploy=true']);
  }

  async function redeployed(c: number, since: string): Promise<any> {
    return waitFor(`agents-redeployed for ${id(c)}`, () => modelEvents().find((e) => e.event === 'agents-redeployed' && e.time >= since && e.cluster === id(c)), 30);
  }

  function rollout(cluster: number, w: { kind: string; name: string }): void {
    kubectl(cluster, ['rollout', 'status', '-n', 'cattle-system', `${w.kind.toLowerCase()}/${w.name}`, '--timeout=90s']);
  }

  function applyTlsCa(pem: string): void {
    kubectl(SERVER, ['apply', '-f', '-'], { input: JSON.stringify({
      apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls-ca', namespace: 'cattle-system' },
      data: { 'cacerts.pem': Buffer.from(pem).toString('base64') },
    }) });
  }

  beforeAll(resetRancherInstall);
  afterAll(resetRancherInstall);

  test('every cluster has a management Cluster (Rancher-style id, displayName testbed-I) and every downstream one a Fleet Cluster in fleet-default; the env file names them', () => {
    expect(id(SERVER)).toBe('local');
    expect(mgmt(SERVER).spec.internal).toBe(true);
    expect(id(RKE1)).toMatch(/^c-[a-z0-9]{5}$/); // legacy (RKE1) id
    expect(id(RKE2)).toMatch(/^c-m-[a-z0-9]{8}$/); // v2-provisioned id
    expect(fleetName(RKE1)).toBe(id(RKE1));
    expect(fleetName(RKE2)).toBe(`testbed-${RKE2}`);
    expect(fleetName(SERVER)).toBeUndefined();
    for (const c of [RKE1, RKE2]) {
      const m = mgmt(c);
      expect(m.spec.displayName).toBe(`testbed-${c}`);
      expect(m.spec.internal).toBe(false);
      expect(m.metadata.labels['testbed.cert-rotation/cluster']).toBe(`testbed-${c}`);
      const agent = kubeGet(c, '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent');
      expect(m.status.agentImage).toBe(agent.spec.template.spec.containers[0].image);
      const f = fleet(c);
      expect(f.metadata.labels['management.cattle.io/cluster-name']).toBe(id(c));
      expect(f.status.agentDeployedGeneration).toBe(f.spec.redeployAgentGeneration ?? 0);
    }
  });

  test('io.cattle.agent.force.deploy=true re-applies the agents with the checksum of what Rancher holds in memory (old CA until Rancher restarts), then resets to "false"', async () => {
    const caA = makePrivateCa('Method1 CA A').root.certPem;
    const caB = makePrivateCa('Method1 CA B').root.certPem;
    applyTlsCa(caA);
    helm(SERVER, ['upgrade', 'rancher', CHART, '--namespace', 'cattle-system', '--reuse-values', '--set', 'privateCA=true']);
    kubectl(SERVER, ['rollout', 'status', '-n', 'cattle-system', 'deployment/rancher', '--timeout=90s']);
    await waitFor('Rancher to serve CA A', () => servedCacerts().value === caA.trim(), 60);
    // tls-ca now holds B, but the running Rancher pods read A at start.
    applyTlsCa(caB);

    let since = new Date().toISOString();
    forceDeploy(RKE1);
    let event = await redeployed(RKE1, since);
    expect(event.trigger).toBe('annotation io.cattle.agent.force.deploy');
    expect(event.checksum).toBe(checksumOf(caA.trim()));
    // RKE1 on 2.8: the cluster agent and the node agent.
    expect(event.workloads).toEqual(['Deployment/cattle-cluster-agent', 'DaemonSet/cattle-node-agent']);
    expect(event.changed).toEqual(event.workloads);
    expect(mgmt(RKE1).metadata.annotations['io.cattle.agent.force.deploy']).toBe('false');
    for (const w of agentWorkloads(RKE1)) {
      expect(checksumEnv(RKE1, w).value).toBe(checksumOf(caA.trim()));
      rollout(RKE1, w); // the new agents pass the start check: Rancher serves A
    }

    // After "redeploy the Rancher pods" Rancher holds B, and method 1 renders B.
    kubectl(SERVER, ['rollout', 'restart', '-n', 'cattle-system', 'deployment/rancher']);
    kubectl(SERVER, ['rollout', 'status', '-n', 'cattle-system', 'deployment/rancher', '--timeout=90s']);
    await waitFor('Rancher to serve CA B', () => servedCacerts().value === caB.trim(), 60);
    since = new Date().toISOString();
    forceDeploy(RKE2);
    event = await redeployed(RKE2, since);
    expect(event.checksum).toBe(checksumOf(caB.trim()));
    // RKE2: no node agent.
    expect(event.workloads).toEqual(['Deployment/cattle-cluster-agent']);
    expect(checksumEnv(RKE2, agentWorkloads(RKE2)[0]).value).toBe(checksumOf(caB.trim()));
    rollout(RKE2, agentWorkloads(RKE2)[0]);
    expect(mgmt(RKE2).metadata.annotations['io.cattle.agent.force.deploy']).toBe('false');
  });

  test('"false" changes nothing; the local cluster is never redeployed (its annotation stays "true")', async () => {
    const since = new Date().toISOString();
    const before = kubeGet(RKE1, '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent').metadata.generation;
    kubectl(SERVER, ['annotate', '--overwrite', 'clusters.management.cattle.io', 'local', 'io.cattle.agent.force.deploy=true']);
    await new Promise((r) => setTimeout(r, 3000)); // 15 ticks of the model
    expect(mgmt(SERVER).metadata.annotations['io.cattle.agent.force.deploy']).toBe('true');
    expect(modelEvents().filter((e) => e.event === 'agents-redeployed' && e.time >= since)).toEqual([]);
    expect(kubeGet(RKE1, '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent').metadata.generation).toBe(before);
    kubectl(SERVER, ['annotate', 'clusters.management.cattle.io', 'local', 'io.cattle.agent.force.deploy-']);
  });

  test('the legacy trigger: a status.agentImage patch (no status subresource up to 2.14) re-applies the agents and Rancher writes the image back; an unchanged checksum rolls nothing', async () => {
    const image = mgmt(RKE2).status.agentImage;
    const before = kubeGet(RKE2, '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent').metadata.generation;
    const since = new Date().toISOString();
    kubectl(SERVER, ['patch', 'clusters.management.cattle.io', id(RKE2), '--type', 'merge', '-p', '{"status":{"agentImage":"dummy"}}']);
    const event = await redeployed(RKE2, since);
    expect(event.trigger).toBe('status.agentImage "dummy"');
    expect(event.changed).toEqual([]);
    await waitFor('Rancher to write the agent image back', () => mgmt(RKE2).status.agentImage === image, 10);
    expect(kubeGet(RKE2, '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent').metadata.generation).toBe(before);
  });

  test('with an empty cacerts setting (--no-cacerts) method 1 renders CATTLE_CA_CHECKSUM with an empty value (the template always renders it), even where the variable was missing', async () => {
    kubectl(RKE2, ['set', 'env', '-n', 'cattle-system', 'deployment/cattle-cluster-agent', 'CATTLE_CA_CHECKSUM-']);
    helm(SERVER, ['upgrade', 'rancher', CHART, '--namespace', 'cattle-system', '--reuse-values', '--set', 'privateCA=false', '--set', 'ingress.tls.source=secret']);
    kubectl(SERVER, ['rollout', 'status', '-n', 'cattle-system', 'deployment/rancher', '--timeout=90s']);
    await waitFor('Rancher to serve an empty cacerts', () => servedCacerts().value === '', 60);
    const since = new Date().toISOString();
    forceDeploy(RKE2);
    const event = await redeployed(RKE2, since);
    expect(event.checksum).toBe('');
    // The variable is there again; the API server stores `value: ""` as no value.
    expect(checksumEnv(RKE2, agentWorkloads(RKE2)[0])).toEqual({ name: 'CATTLE_CA_CHECKSUM' });
    expect(event.changed).toEqual(['Deployment/cattle-cluster-agent']);
    rollout(RKE2, agentWorkloads(RKE2)[0]);
  });

  test('Force Update: a higher spec.redeployAgentGeneration makes Fleet delete and re-create the fleet-agent workload (Deployment on RKE1/2.8, StatefulSet on RKE2/2.9) and record status.agentDeployedGeneration', async () => {
    for (const [c, kind] of [[RKE1, 'deployments'], [RKE2, 'statefulsets']] as const) {
      const workloadPath = `/apis/apps/v1/namespaces/cattle-fleet-system/${kind}/fleet-agent`;
      const old = kubeGet(c, workloadPath);
      const oldPods = kubeGet(c, '/api/v1/namespaces/cattle-fleet-system/pods?labelSelector=app%3Dfleet-agent').items.map((p: any) => p.metadata.uid);
      expect(oldPods.length).toBeGreaterThan(0);
      const generation = (fleet(c).spec.redeployAgentGeneration ?? 0) + 1;
      const since = new Date().toISOString();
      kubectl(SERVER, ['patch', 'clusters.fleet.cattle.io', '-n', 'fleet-default', fleetName(c), '--type', 'merge', '-p', JSON.stringify({ spec: { redeployAgentGeneration: generation } })]);
      const event = await waitFor(`fleet-agent-redeployed for ${fleetName(c)}`, () =>
        modelEvents().find((e) => e.event === 'fleet-agent-redeployed' && e.time >= since && e.cluster === `fleet-default/${fleetName(c)}`), 30);
      expect(event.generation).toBe(generation);
      expect(event.oldUid).toBe(old.metadata.uid);
      expect(fleet(c).status.agentDeployedGeneration).toBe(generation);
      const fresh = kubeGet(c, workloadPath);
      expect(fresh.metadata.uid).not.toBe(old.metadata.uid);
      expect(fresh.metadata.uid).toBe(event.newUid);
      kubectl(c, ['rollout', 'status', '-n', 'cattle-fleet-system', `${kind.slice(0, -1)}/fleet-agent`, '--timeout=90s']);
      await waitFor('the old fleet-agent pods to go', () => {
        const pods = kubeGet(c, '/api/v1/namespaces/cattle-fleet-system/pods?labelSelector=app%3Dfleet-agent').items;
        return pods.length > 0 && pods.every((p: any) => !oldPods.includes(p.metadata.uid));
      }, 60);
    }
    // The same generation again is no Force Update.
    const since = new Date().toISOString();
    kubectl(SERVER, ['annotate', '--overwrite', 'clusters.fleet.cattle.io', '-n', 'fleet-default', fleetName(RKE2), 'testbed/touched=1']);
    await new Promise((r) => setTimeout(r, 2000));
    expect(modelEvents().filter((e) => e.event === 'fleet-agent-redeployed' && e.time >= since)).toEqual([]);
  });
});
