import * as fs from 'fs';
import * as path from 'path';
import { parse, stringify } from 'yaml';
import { makePrivateCa } from '../support/pki';
import { Backend, kubernetesBackend, pgBackend } from './support/backends';
import { ensureNamespace, resetRancherInstall } from './support/rancher-bed';
import { RancherScenario, STACK } from './support/rancher-scenario';
import { expectNoKey } from './support/terraform';
import { run, testbedProcessEnv } from '../../scripts/testbed/client';

// The fault harness on a shared state (issue 14): the Rancher stack's state on
// the kubernetes backend (a Lease locks it) or pg (an advisory lock), the
// engine killed with SIGKILL after the step that writes tls-rancher-ingress,
// as a cancelled pipeline or a lost runner would.
//
// GIVEN that kill, THEN on kubernetes the Lease stays held (Terraform gives it
// no expiry): the next deploy waits out its lock timeout and fails naming the
// lock, and `cert-rotation fleet plan` says who holds it and the force-unlock
// that releases it; on pg the lock ended with the killed engine's connection.
// AFTER that force-unlock (kubernetes) or at once (pg), a plain re-deploy
// converges: Rancher serves the new certificate and CA, every agent carries the
// new checksum, the second plan is empty, and no key is in the stored state,
// cdktf.out or the logs.
const FAULT_CLI = path.join(__dirname, 'support', 'fault-cli.js');
const KILL_AFTER_INGRESS = '"step":"secret".*"name":"tls-rancher-ingress"';

describe.each([['kubernetes', kubernetesBackend], ['pg', pgBackend]] as const)('engine killed mid-apply, state on the %s backend', (name, makeBackend) => {
  const sc = new RancherScenario(`remote-fault-${name}`);
  const backend: Backend = makeBackend(sc, name === 'kubernetes' ? 'fault-kubernetes' : 'fault_pg');
  let previousCli: string | undefined;
  let round = 0;

  /** cert-rotation.yaml for the next rotation, with the backend section; the workspace deploys through the app. */
  function nextRotation() {
    const files = sc.files(makePrivateCa(`Remote fault ${name} ${++round}`));
    const file = sc.writeConfig(files);
    fs.writeFileSync(file, stringify({ ...parse(fs.readFileSync(file, 'utf8')), backend: backend.section }));
    sc.ws.useApp(file);
    return files;
  }

  function expectNoKeyInState(): void {
    for (const key of sc.keysSeen) expectNoKey(JSON.stringify(backend.state()), key, `the state on the ${name} backend`);
  }

  beforeAll(async () => {
    // The steps run the fault wrapper (it runs the real step, then kills the engine when told to).
    previousCli = process.env.CERT_ROTATION_CLI;
    process.env.CERT_ROTATION_CLI = `node ${FAULT_CLI}`;
    await resetRancherInstall();
    ensureNamespace(sc.server, 'cert-rotation-state');
    const first = nextRotation();
    sc.ws.deploy(STACK);
    sc.expectServed(first);
  });

  afterAll(async () => {
    if (previousCli === undefined) delete process.env.CERT_ROTATION_CLI;
    else process.env.CERT_ROTATION_CLI = previousCli;
    sc.ws.remove();
    await resetRancherInstall();
  });

  test('the killed apply, the lock it leaves, and a re-deploy that converges', async () => {
    const since = new Date().toISOString();
    const next = nextRotation();
    const marker = path.join(sc.ws.dir, `fault-${round}`);
    sc.ws.deploy(STACK, [0, 1, 137, 255], {
      CERT_ROTATION_FAULT: KILL_AFTER_INGRESS,
      CERT_ROTATION_FAULT_WHEN: 'after',
      CERT_ROTATION_FAULT_MARKER: marker,
    });
    expect(fs.readFileSync(marker, 'utf8')).toMatch(/^after /);

    if (name === 'kubernetes') {
      // The Lease is still held by the killed engine: a deploy waits out its timeout, then fails naming the lock.
      expect(backend.locked()).toBe(true);
      const blocked = sc.ws.deploy(STACK, [0, 1], { TF_CLI_ARGS_apply: '-lock-timeout=5s', TF_CLI_ARGS_plan: '-lock-timeout=5s' });
      expect(blocked.stdout + blocked.stderr).toMatch(/Error acquiring the state lock[\s\S]*already locked/);
      // fleet plan says who holds it since when, and how to release it once that run is over.
      sc.ws.synthApp(STACK);
      const plan = await sc.ws.fleetAsync('plan', {}, ['--lock-timeout', '5s']);
      expect(plan.status).toBe(1);
      const unlock = /release it: \(cd (\S+) && \S+ force-unlock -force (\S+)\)/.exec(plan.stdout);
      expect(unlock).not.toBeNull();
      const [, dir, id] = unlock as RegExpExecArray;
      expect(plan.stdout).toMatch(/held by \S+ since \d{4}-\d\d-\d\d/);
      const engine = testbedProcessEnv().TERRAFORM_BINARY_NAME ?? 'terraform';
      run(engine, ['force-unlock', '-force', id], { cwd: path.resolve(sc.ws.dir, dir), env: testbedProcessEnv() });
      expect(backend.locked()).toBe(false);
    } else {
      // PostgreSQL ends the advisory lock with the killed engine's connection (as soon as it sees it closed).
      const until = Date.now() + 10_000;
      while (backend.locked() && Date.now() < until) await new Promise((r) => setTimeout(r, 250));
      expect(backend.locked()).toBe(false);
    }

    // Whatever the stored state missed of the killed apply, the plan still has the rotation to finish.
    expect(sc.ws.plan(STACK).changes.length).toBeGreaterThan(0);
    sc.expectConverges(next, since);
    expectNoKeyInState();
  });
});
