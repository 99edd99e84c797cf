import { createHash } from 'crypto';
import { CacertsAnswer, runCacertsGate, servedChecksum } from '../../../lib/cli/step/cacerts-gate';
import { StepFailure } from '../../../lib/cli/step/context';
import { cattleCaChecksum } from '../../../lib/pki';
import { CacertsGateStepSpec } from '../../../lib/steps/spec';
import { makePrivateCa } from '../../support/pki';
import { fakeContext, FakeKube, rejection, rolledOutStatus, workload } from './support/fake-step-kube';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const RANCHER = '/apis/apps/v1/namespaces/cattle-system/deployments/rancher';
const CHECKSUM = sha('new ca\n');
const LEAF = sha('new leaf');

const SPEC: CacertsGateStepSpec = {
  step: 'cacerts-gate',
  deployment: { namespace: 'cattle-system', name: 'rancher' },
  url: 'https://rancher.example.com/v3/settings/cacerts',
  checksum: CHECKSUM,
  leafSha256: LEAF,
  trustPem: '-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----\n',
  timeoutSeconds: 600,
};

/** A cluster whose Rancher Deployment rolls out after `reads` reads of it. */
function cluster(reads = 0): FakeKube {
  const kube = new FakeKube();
  const rancher = workload('Deployment', [{ name: 'rancher' }]);
  if (reads > 0) {
    rancher.metadata.generation = 2;
    rancher.status = { observedGeneration: 1, replicas: 1, updatedReplicas: 0, availableReplicas: 1 };
  }
  kube.objects.set(RANCHER, rancher);
  let n = 0;
  const get = kube.get.bind(kube);
  kube.get = async <T>(p: string, q?: Record<string, string>) => {
    if (p === RANCHER && ++n > reads) Object.assign(kube.objects.get(RANCHER).status, rolledOutStatus(kube.objects.get(RANCHER)));
    return get<T>(p, q);
  };
  return kube;
}

/** A fetch answering from a list (the last answer repeats), recording when it was called. */
function answers(...list: CacertsAnswer[]) {
  const calls: number[] = [];
  let i = 0;
  const fetch = async (spec: CacertsGateStepSpec) => {
    expect(spec.url).toBe(SPEC.url);
    calls.push(i);
    return list[Math.min(i++, list.length - 1)];
  };
  return { fetch, calls };
}

describe('servedChecksum', () => {
  test('is sha256 of the trimmed setting and one "\\n", as agents compute CATTLE_CA_CHECKSUM; empty for an empty setting', () => {
    expect(servedChecksum('pem')).toBe(sha('pem\n'));
    expect(servedChecksum('  \npem\n\n ')).toBe(sha('pem\n'));
    expect(servedChecksum('')).toBe('');
    expect(servedChecksum(' \n ')).toBe('');
  });

  test('agrees with the checksum the constructs compute from cacerts.pem', () => {
    const ca = makePrivateCa('Gate');
    const pem = ca.intermediate.certPem + ca.root.certPem;
    expect(servedChecksum(pem)).toBe(cattleCaChecksum(pem));
    expect(servedChecksum(pem.trim())).toBe(cattleCaChecksum(pem));
  });
});

describe('runCacertsGate', () => {
  test('waits while the Rancher Deployment has not rolled out, and asks Rancher only after', async () => {
    // GIVEN a Rancher Deployment that rolls out after 3 reads, and a Rancher that serves the new CA and leaf
    const kube = cluster(3);
    const { fetch, calls } = answers({ checksum: CHECKSUM, leafSha256: LEAF });
    const { ctx, lines, elapsed } = fakeContext(kube);
    // WHEN the gate runs
    await runCacertsGate(SPEC, ctx, fetch);
    // THEN it read the Deployment until it rolled out, then fetched once, and says agents may change
    expect(kube.gets.filter((p) => p === RANCHER)).toHaveLength(4);
    expect(calls).toEqual([0]);
    expect(elapsed()).toBe(3 * 2000);
    expect(lines[0]).toMatch(/^waiting for deployment cattle-system\/rancher to roll out \(the controller has not seen the change yet\)$/);
    expect(lines).toContain('deployment cattle-system/rancher rolled out');
    expect(lines[lines.length - 1]).toBe(
      `https://rancher.example.com/v3/settings/cacerts serves checksum ${CHECKSUM.slice(0, 12)}… and presents the new certificate (sha256 ${LEAF.slice(0, 12)}…); agents may change now`,
    );
    expect(kube.patches).toEqual([]);
  });

  test('keeps polling until both the checksum and the leaf match', async () => {
    const kube = cluster();
    const { fetch, calls } = answers(
      { error: 'ECONNREFUSED: connect ECONNREFUSED 10.0.0.5:443' },
      { checksum: sha('old ca\n'), leafSha256: sha('old leaf') },
      { checksum: CHECKSUM, leafSha256: sha('old leaf') },
      { checksum: CHECKSUM, leafSha256: LEAF },
    );
    const { ctx, elapsed } = fakeContext(kube);
    await runCacertsGate(SPEC, ctx, fetch);
    expect(calls).toEqual([0, 1, 2, 3]);
    expect(elapsed()).toBe(3 * 2000);
  });

  test('a public CA: an empty setting passes, and without leafSha256 the leaf is not checked', async () => {
    const { fetch } = answers({ checksum: '', leafSha256: sha('whatever') });
    const spec: CacertsGateStepSpec = { ...SPEC, checksum: '', leafSha256: undefined, trustPem: undefined };
    const { ctx, lines } = fakeContext(cluster());
    await runCacertsGate(spec, ctx, fetch);
    expect(lines[lines.length - 1]).toBe('https://rancher.example.com/v3/settings/cacerts serves an empty cacerts setting (public CA); agents may change now');
  });

  test("times out when Rancher keeps serving the old CA: what it serves, what was expected, 'No agent was changed' and what to run", async () => {
    const kube = cluster();
    const { fetch } = answers({ checksum: sha('old ca\n'), leafSha256: LEAF });
    const { ctx, elapsed } = fakeContext(kube);
    const error = await rejection(() => runCacertsGate({ ...SPEC, timeoutSeconds: 60 }, ctx, fetch), StepFailure);
    expect(error.message).toBe(
      `after 60 s, https://rancher.example.com/v3/settings/cacerts gives checksum ${sha('old ca\n').slice(0, 12)}…; expected checksum ${CHECKSUM.slice(0, 12)}… ` +
        `with certificate sha256 ${LEAF.slice(0, 12)}…, verified with the new CA. No agent was changed. ` +
        "Run 'kubectl -n cattle-system rollout status deploy/rancher' and, if the pods did not restart, 'kubectl -n cattle-system rollout restart deploy/rancher'; then deploy again",
    );
    expect(elapsed()).toBeGreaterThanOrEqual(60_000);
    expect(elapsed()).toBeLessThan(63_000);
  });

  test('times out naming the old certificate when the leaf does not change, and a connection error as no answer', async () => {
    const leaf = await rejection(
      () => runCacertsGate({ ...SPEC, timeoutSeconds: 10 }, fakeContext(cluster()).ctx, answers({ checksum: CHECKSUM, leafSha256: sha('old leaf') }).fetch),
      StepFailure,
    );
    expect(leaf.message).toMatch(new RegExp(`gives checksum ${CHECKSUM.slice(0, 12)}…, presenting certificate sha256 ${sha('old leaf').slice(0, 12)}…; .*No agent was changed\\.`));
    const down = await rejection(
      () => runCacertsGate({ ...SPEC, timeoutSeconds: 10 }, fakeContext(cluster()).ctx, answers({ error: 'CERT_HAS_EXPIRED: certificate has expired' }).fetch),
      StepFailure,
    );
    expect(down.message).toMatch(/gives no answer \(CERT_HAS_EXPIRED: certificate has expired\); .*No agent was changed\./);
  });

  test('times out before asking Rancher when its Deployment never rolls out', async () => {
    const kube = cluster(Infinity);
    const { fetch, calls } = answers({ checksum: CHECKSUM, leafSha256: LEAF });
    const { ctx } = fakeContext(kube);
    const error = await rejection(() => runCacertsGate({ ...SPEC, timeoutSeconds: 30 }, ctx, fetch), StepFailure);
    expect(error.message).toMatch(
      /^deployment cattle-system\/rancher has not rolled out after 30 s \(the controller has not seen the change yet\), so Rancher may still serve the old CA\. No agent was changed\. Run 'kubectl -n cattle-system rollout status deploy\/rancher'/,
    );
    expect(calls).toEqual([]);
  });
});
