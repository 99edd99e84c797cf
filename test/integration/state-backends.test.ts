import * as fs from 'fs';
import * as path from 'path';
import { parse, stringify } from 'yaml';
import { makePrivateCa, RancherFiles } from '../support/pki';
import { ensureNamespace, resetRancherInstall } from './support/rancher-bed';
import { kubernetesBackend, pgBackend } from './support/backends';
import { RancherScenario, STACK } from './support/rancher-scenario';
import { expectNoKey, Workspace } from './support/terraform';
import { RunResult } from '../../scripts/testbed/client';
import { lostLockRace } from '../../lib/cli/commands/fleet';

/** What two CI runners set so that the second waits for the first's lock instead of failing at once. */
const WAIT_FOR_LOCK = { TF_CLI_ARGS_apply: '-lock-timeout=10m', TF_CLI_ARGS_plan: '-lock-timeout=10m' };

// GIVEN the configuration file's backend: kubernetes (state Secret + Lease on
// the Rancher server cluster) or pg (PostgreSQL from Debian's packages on the
// test bed), WHEN one runner deploys the first rotation and then two runners
// deploy the next one at the same time, THEN the lock serializes them: one
// applies, the other waits and finds nothing left to do; the backend holds one
// lineage with every resource, Rancher serves the new certificate, no private
// key is in the stored state, and a third plan from either runner is empty.
// The same holds when both run `cert-rotation fleet deploy` at once.
describe.each([['kubernetes', kubernetesBackend], ['pg', pgBackend]] as const)('state on the %s backend', (_name, makeBackend) => {
  const sc = new RancherScenario(`backend-${_name}`);
  const second = new Workspace(`backend-${_name}-runner2`);
  const backend = makeBackend(sc);
  let round = 0;

  beforeAll(async () => {
    await resetRancherInstall();
    ensureNamespace(sc.server, 'cert-rotation-state');
  });
  afterAll(() => {
    sc.ws.remove();
    second.remove();
  });

  /** Both runners' checkouts get the same cert-rotation.yaml, with the backend section, for `files`. */
  function checkout(files: RancherFiles): void {
    const config = parse(fs.readFileSync(sc.writeConfig(files, { downstream: [] }), 'utf8'));
    for (const ws of [sc.ws, second]) {
      const file = path.join(ws.dir, 'cert-rotation.yaml');
      fs.writeFileSync(file, stringify({ ...config, backend: backend.section }));
      ws.useApp(file);
    }
  }

  function expectNoKeyInState(state: any): void {
    for (const key of sc.keysSeen) expectNoKey(JSON.stringify(state), key, `the state on the ${backend.name} backend`);
  }

  test('the first deploy writes the state to the backend and nothing beside the app', () => {
    expect(backend.state()).toBeUndefined();
    const files = sc.files(makePrivateCa(`Backend ${_name} ${++round}`));
    checkout(files);
    sc.ws.deploy(STACK);
    sc.expectServed(files);
    const state = backend.state();
    expect(state.resources.length).toBeGreaterThan(0);
    expectNoKeyInState(state);
    // Remote state: no local state file, so the app's local-state guard has nothing to keep.
    expect(fs.readdirSync(sc.ws.dir).filter((f) => f.includes('tfstate'))).toEqual([]);
  });

  test('two runners deploy the next rotation at once: the lock serializes them and nothing is lost', async () => {
    const before = backend.state();
    const files = sc.files(makePrivateCa(`Backend ${_name} ${++round}`));
    checkout(files);

    let lockSeen = false;
    const poll = setInterval(() => { lockSeen ||= backend.locked(); }, 300);
    let results: RunResult[];
    try {
      results = await Promise.all([sc.ws.deployAsync(STACK, WAIT_FOR_LOCK), second.deployAsync(STACK, WAIT_FOR_LOCK)]);
    } finally {
      clearInterval(poll);
    }
    // Terraform's kubernetes backend takes its Lease by compare-and-swap: when both runners ask in the same
    // instant, the loser fails at once ("Error acquiring the state lock ... the object has been modified")
    // instead of waiting, before it read or wrote anything (README, "Configuration"). Such a runner runs
    // again, as the README tells a pipeline to (cert-rotation fleet does it itself: the next test); any
    // other failure, or this one on pg, fails the test.
    for (const [i, r] of results.entries()) {
      if (r.status === 0) continue;
      expect(`${backend.name}: ${lostLockRace(r.stdout + r.stderr) ? 'lost the race for the Lease' : r.stdout + r.stderr}`)
        .toBe('kubernetes: lost the race for the Lease');
      results[i] = await [sc.ws, second][i].deployAsync(STACK, WAIT_FOR_LOCK);
    }
    expect(results.map((r) => r.status)).toEqual([0, 0]);
    expect(lockSeen).toBe(true);
    // One runner applied the rotation; the other got the lock after it and planned against the new state.
    const applied = results.map((r) => /Apply complete! Resources: \d+ added, [1-9]\d* changed|Apply complete! Resources: [1-9]/.test(r.stdout));
    const unchanged = results.map((r) => /No changes\./.test(r.stdout));
    expect(applied.filter(Boolean)).toHaveLength(1);
    expect(unchanged.filter(Boolean)).toHaveLength(1);
    expect(applied.map((a, i) => a || unchanged[i])).toEqual([true, true]);

    sc.expectServed(files);
    const after = backend.state();
    expect(after.lineage).toBe(before.lineage);
    expect(after.serial).toBeGreaterThan(before.serial);
    expect(after.resources.map((r: any) => `${r.type}.${r.name}`).sort()).toEqual(before.resources.map((r: any) => `${r.type}.${r.name}`).sort());
    expectNoKeyInState(after);
    for (const ws of [sc.ws, second]) expect(ws.plan(STACK).changes).toEqual([]);
    sc.expectNoKeyAnywhere();
    for (const key of sc.keysSeen) expectNoKey(second.logs.join('\n'), key, "the second runner's deploy log");
  });

  test('two runners run cert-rotation fleet deploy at once: both succeed, one applies, the other finds nothing to do', async () => {
    const before = backend.state();
    const files = sc.files(makePrivateCa(`Backend ${_name} ${++round}`));
    checkout(files);
    for (const ws of [sc.ws, second]) ws.synthApp(STACK);
    const results = await Promise.all([sc.ws.fleetAsync('deploy'), second.fleetAsync('deploy')]);
    expect(results.map((r) => r.status)).toEqual([0, 0]);
    const rows = results.map((r) => r.stdout.split('\n').find((l) => l.startsWith(`${STACK} `)) ?? r.stdout);
    expect(rows.filter((l) => /\sOK\s.*applied: (\d+ added, [1-9]|[1-9])/.test(l))).toHaveLength(1);
    expect(rows.filter((l) => /\sOK\s.*: no changes$/.test(l))).toHaveLength(1);

    sc.expectServed(files);
    const after = backend.state();
    expect(after.lineage).toBe(before.lineage);
    expect(after.serial).toBeGreaterThan(before.serial);
    expectNoKeyInState(after);
    for (const ws of [sc.ws, second]) expect(ws.plan(STACK).changes).toEqual([]);
    sc.expectNoKeyAnywhere();
    for (const key of sc.keysSeen) expectNoKey(second.logs.join('\n'), key, "the second runner's fleet logs");
  });
});
