import * as fs from 'fs';
import * as path from 'path';
import { cattleCaChecksum } from '../../lib/pki/fingerprint';
import { makePrivateCa, RancherFiles } from '../support/pki';
import { resetRancherInstall } from './support/rancher-bed';
import { RancherScenario, STACK } from './support/rancher-scenario';
import { kubectl, run, testbedProcessEnv } from '../../scripts/testbed/client';

// The fault harness (issue 9): a CA rotation of the Rancher stack on the test
// bed's Rancher model, with the engine killed at one write (by step, not by
// timing) or a write refused by an admission policy; then a plain re-deploy.
// After it: the cluster holds exactly the new material (Secret data, what
// Rancher serves and presents, every agent Ready with the new checksum), the
// second plan is empty, and no key is in cdktf.out, state, backup, plans or logs.
//
// CI runs a fast subset; FAULT_SWEEP=all (npm run bench) kills at every step,
// before and after its write.
const FAULT_CLI = path.join(__dirname, 'support', 'fault-cli.js');

/** Which step to kill at: a regular expression over the step's envelope JSON, and when. */
interface Fault {
  readonly name: string;
  readonly match: string;
  readonly when: 'before' | 'after';
}

const STEPS: Array<[string, string]> = [
  ['tls-ca', '"step":"secret".*"name":"tls-ca"'],
  ['tls-rancher-ingress', '"step":"secret".*"name":"tls-rancher-ingress"'],
  ['the Rancher restart', '"cluster":"server".*"step":"restart"'],
  ['the gate', '"step":"cacerts-gate"'],
  ['the agents of downstream-2', '"cluster":"downstream-2".*"step":"agents"'],
  ['the agents of downstream-3', '"cluster":"downstream-3".*"step":"agents"'],
  ['the converge step', '"step":"converge"'],
];

// Terraform records a terraform_data before its command has finished: a kill before the agents'
// write, while the other cluster's agents finish, leaves that step recorded as done. The converge
// step (created last) is what finishes it; this fault is the one that shows it.
const FAST: Fault[] = [
  { name: 'tls-rancher-ingress', match: STEPS[1][1], when: 'after' },
  { name: 'the agents of downstream-2', match: STEPS[4][1], when: 'before' },
];

const SWEEP: Fault[] = STEPS.flatMap(([name, match]) => (['before', 'after'] as const).map((when) => ({ name, match, when })));

const FAULTS = process.env.FAULT_SWEEP === 'all' ? SWEEP : FAST;

describe('fault harness: a killed or refused write, then a plain re-deploy, leaves exactly the new material', () => {
  const sc = new RancherScenario('faults');
  let previousCli: string | undefined;
  let current: RancherFiles;
  let round = 0;

  /** A new CA and leaf, synthesized with the fault wrapper as the step command. */
  function nextRotation(): RancherFiles {
    const files = sc.files(makePrivateCa(`Fault ${++round}`));
    sc.synth(files);
    return files;
  }

  function faultEnv(fault: Fault): NodeJS.ProcessEnv {
    return {
      CERT_ROTATION_FAULT: fault.match,
      CERT_ROTATION_FAULT_WHEN: fault.when,
      CERT_ROTATION_FAULT_MARKER: path.join(sc.ws.dir, `fault-${round}`),
    };
  }

  beforeAll(async () => {
    previousCli = process.env.CERT_ROTATION_CLI;
    process.env.CERT_ROTATION_CLI = `node ${FAULT_CLI}`;
    await resetRancherInstall();
    current = nextRotation();
    sc.ws.deploy(STACK);
    sc.expectServed(current);
  });

  afterAll(async () => {
    if (previousCli === undefined) delete process.env.CERT_ROTATION_CLI;
    else process.env.CERT_ROTATION_CLI = previousCli;
    try {
      sc.cleanUp();
    } finally {
      await resetRancherInstall();
    }
  });

  test.each(FAULTS.map((f) => [`${f.when} ${f.name}`, f] as const))('engine killed %s', (_label, fault) => {
    const since = new Date().toISOString();
    const next = nextRotation();
    const env = faultEnv(fault);
    // cdktf deploy may exit 0 when its terraform is killed (cdktf 0.21 then prints only "No outputs
    // found." and loses terraform's last lines): the plan after a deploy is the guard that catches it
    // (README, "In a pipeline"). The marker file is the wrapper's proof that it killed the engine.
    sc.ws.deploy(STACK, [0, 1, 137, 255], env);
    expect(fs.readFileSync(env.CERT_ROTATION_FAULT_MARKER as string, 'utf8')).toMatch(new RegExp(`^${fault.when} `));
    const pending = sc.ws.plan(STACK).changes;
    if (pending.length === 0) process.stderr.write(`the killed deploy left nothing planned; its output:\n${sc.ws.logs.slice(-4).join('\n')}\n`);
    expect(pending.length).toBeGreaterThan(0);
    current = next;
    sc.expectConverges(current, since);
  });

  test('engine killed after tls-rancher-ingress with the state file left empty (a torn local-state write): the re-deploy takes over what exists', () => {
    const since = new Date().toISOString();
    const next = nextRotation();
    const env = faultEnv({ name: 'tls-rancher-ingress', match: STEPS[1][1], when: 'after' });
    sc.ws.deploy(STACK, [0, 1, 137, 255], env);
    fs.writeFileSync(path.join(sc.ws.dir, `terraform.${STACK}.tfstate`), '');
    // Every step is planned as new; none fails on what the cluster already holds.
    expect(sc.ws.plan(STACK).changes.every((c) => c.actions.join() === 'create')).toBe(true);
    current = next;
    sc.expectConverges(current, since);
  });

  test('a write refused by an admission policy fails the apply at that step, before any agent changes; after the policy is gone the re-deploy converges', () => {
    const policy = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicy',
      metadata: { name: 'cert-rotation-fault-deny-ingress-secret' },
      spec: {
        failurePolicy: 'Fail',
        matchConstraints: { resourceRules: [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['secrets'] }] },
        validations: [{ expression: "object.metadata.name != 'tls-rancher-ingress'", message: 'fault harness: tls-rancher-ingress is frozen' }],
      },
    };
    const binding = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingAdmissionPolicyBinding',
      metadata: { name: 'cert-rotation-fault-deny-ingress-secret' },
      spec: { policyName: policy.metadata.name, validationActions: ['Deny'] },
    };
    const manifest = path.join(sc.ws.dir, 'deny-policy.json');
    fs.writeFileSync(manifest, JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [policy, binding] }));
    const before = cattleCaChecksum(current.caPem);
    kubectl(sc.server, ['apply', '-f', manifest]);
    const since = new Date().toISOString();
    const next = nextRotation();
    try {
      // The policy takes effect once the API server has loaded it: the first refused write is the proof.
      const r = sc.ws.deploy(STACK, [1]);
      const out = (r.stdout + r.stderr).replace(/\s+/g, ' ');
      expect(out).toMatch(/cert-rotation secret \[server\]: FAILED: writing cattle-system\/tls-rancher-ingress failed: .*fault harness: tls-rancher-ingress is frozen/);
      expect(out).not.toMatch(/cert-rotation agents \[/);
      sc.expectAgents([2, 3], before);
      // The failed step is tainted: the next plan runs it again.
      expect(sc.ws.plan(STACK).changes.some((c) => c.actions.join() === 'delete,create')).toBe(true);
    } finally {
      kubectl(sc.server, ['delete', '-f', manifest, '--ignore-not-found']);
    }
    current = next;
    // Deleting a policy also takes a moment to reach the API server's admission chain.
    let converged = false;
    for (let attempt = 0; attempt < 5 && !converged; attempt++) {
      const r = sc.ws.deploy(STACK, [0, 1]);
      converged = r.status === 0;
      if (!converged) expect(r.stdout + r.stderr).toMatch(/tls-rancher-ingress is frozen/);
    }
    expect(converged).toBe(true);
    sc.expectServed(current);
    sc.expectAgents([2, 3], cattleCaChecksum(current.caPem));
    sc.expectNoAgentStartFailures(since);
    sc.expectSecondPlanEmpty();
    sc.expectNoKeyAnywhere();
  });

  // Last: from here on the workspace deploys through the real app (main.ts), whose synth guards the local state.
  test('through the app: engine killed after tls-rancher-ingress with the state file cut short; the next cdktf deploy puts back the last good state and converges', () => {
    const since = new Date().toISOString();
    const next = sc.files(makePrivateCa(`Fault ${++round}`));
    sc.ws.useApp(sc.writeConfig(next));
    const env = faultEnv({ name: 'tls-rancher-ingress', match: STEPS[1][1], when: 'after' });
    sc.ws.deploy(STACK, [0, 1, 137, 255], env);
    expect(fs.readFileSync(env.CERT_ROTATION_FAULT_MARKER as string, 'utf8')).toMatch(/^after /);
    // GIVEN the state file as a kill during Terraform's in-place rewrite leaves it: cut short
    const statePath = path.join(sc.ws.dir, `terraform.${STACK}.tfstate`);
    const text = fs.readFileSync(statePath, 'utf8');
    fs.writeFileSync(statePath, text.slice(0, Math.floor(text.length / 2)));
    // Terraform alone refuses to start on it (this is what a user had to repair by hand)
    const engine = testbedProcessEnv().TERRAFORM_BINARY_NAME ?? 'terraform';
    const refused = run(engine, ['plan', '-input=false', '-no-color'], { cwd: sc.ws.stackDir(STACK), env: testbedProcessEnv(), ok: [1] });
    expect(refused.stdout + refused.stderr).toMatch(/state/i);
    // WHEN the user runs the same cdktf deploy again
    const r = sc.ws.deploy(STACK);
    // THEN the app put back the last good state, said so, and the rotation finished
    expect((r.stdout + r.stderr).replace(/\s+/g, ' ')).toMatch(/tfstate is cut short or not JSON \(\d+ bytes\) \(a run killed while Terraform wrote it\): restored the last readable state \(serial \d+\)/);
    expect(fs.readdirSync(sc.ws.dir).filter((f) => f.startsWith(`terraform.${STACK}.tfstate.torn-`))).toHaveLength(1);
    current = next;
    sc.expectConverges(current, since);
  });
});
