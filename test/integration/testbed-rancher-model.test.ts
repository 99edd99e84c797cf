import * as crypto from 'crypto';
import * as path from 'path';
import { makePrivateCa } from '../support/pki';
import { resetRancherInstall } from './support/rancher-bed';
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
    expect(Object.keys(after.spec.template.metadata.annotations ?? {}).filter((k) => k !== 'kubectl.kubernetes.io/restartedAt')).toEqual([]);

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
