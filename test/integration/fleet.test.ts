import * as fs from 'fs';
import * as path from 'path';
import { parse, stringify } from 'yaml';
import { cattleCaChecksum } from '../../lib/pki/fingerprint';
import { makePrivateCa, RancherFiles } from '../support/pki';
import { resetRancherInstall } from './support/rancher-bed';
import { RancherScenario } from './support/rancher-scenario';
import { expectNoKey } from './support/terraform';
import { REPO_ROOT, run, RunResult, testbedProcessEnv } from '../../scripts/testbed/client';

// A fleet split into stacks (fleet.stacks: groups) on the test bed's Rancher
// model: testbed-1 runs Rancher; group "rke1" holds testbed-2, group "rke2"
// testbed-3, and group "broken" a cluster whose API server is gone. Synthesized
// by the real app through `cdktf synth`, run by `cert-rotation fleet` with the
// real Terraform.
//
// Asserted from the clusters and the model's log: a group stack applied before
// Rancher serves the new CA stops at its own gate with no agent changed; the
// broken cluster fails its own stack only, every other cluster is rotated;
// `fleet plan` then says which stacks are done; once the broken cluster is
// dropped, every stack plans no changes. No key in cdktf.out, states or logs.
describe('fleet.stacks: groups, deployed by cert-rotation fleet', () => {
  const sc = new RancherScenario('fleet');
  const ws = sc.ws;
  const logs: string[] = [];

  beforeAll(async () => {
    await resetRancherInstall();
    fs.writeFileSync(path.join(ws.dir, 'cdktf.json'), JSON.stringify({
      language: 'typescript',
      app: `node ${path.join(REPO_ROOT, 'bin/cdktf-app.js')}`,
      output: 'cdktf.out',
      sendCrashReports: 'false',
    }));
    // A cluster that does not answer: its API server's port is closed.
    fs.writeFileSync(path.join(ws.dir, 'broken.kubeconfig'), stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'gone', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'u', user: { token: 'none' } }],
      contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'u' } }],
      'current-context': 'gone',
    }));
  });

  afterAll(async () => {
    try {
      ws.remove();
    } finally {
      await resetRancherInstall();
    }
  });

  /** The configuration a user writes for `f`: the scenario's, split into groups, with the broken cluster when asked. */
  function configure(f: RancherFiles, o: { broken: boolean; gateTimeout?: number }): void {
    const file = sc.writeConfig(f, { gateTimeout: o.gateTimeout ?? 180, fleet: false });
    const config = parse(fs.readFileSync(file, 'utf8'));
    config.fleet = { stacks: 'groups' };
    config.downstream[0].group = 'rke1';
    config.downstream[1].group = 'rke2';
    if (o.broken) {
      config.downstream.push({ name: 'gone', kubeconfig: path.join(ws.dir, 'broken.kubeconfig'), distribution: 'rke2', group: 'broken' });
    }
    fs.writeFileSync(file, stringify(config));
    const r = run(path.join(REPO_ROOT, 'node_modules/.bin/cdktf'), ['synth'], {
      cwd: ws.dir,
      env: { ...testbedProcessEnv(), CERT_ROTATION_CONFIG: file },
    });
    logs.push(r.stdout, r.stderr);
  }

  function fleet(action: 'plan' | 'deploy', ok: number[]): RunResult {
    const r = run(process.execPath, [path.join(REPO_ROOT, 'bin/cert-rotation.js'), 'fleet', action, '--parallelism', '2'], {
      cwd: ws.dir,
      env: testbedProcessEnv(),
      ok,
    });
    logs.push(r.stdout, r.stderr);
    for (const f of fs.readdirSync(path.join(ws.outdir, 'fleet-logs'))) logs.push(fs.readFileSync(path.join(ws.outdir, 'fleet-logs', f), 'utf8'));
    return r;
  }

  /** The table's row for a stack: its result and what it says. */
  function row(r: RunResult, stack: string): string {
    const line = r.stdout.split('\n').find((l) => l.startsWith(`${stack} `));
    if (!line) throw new Error(`no row for ${stack} in:\n${r.stdout}`);
    return line;
  }

  test('a group stack applied before Rancher serves the new CA stops at its gate; no agent changes', async () => {
    const before = [sc.agentChecksum(2, 'deployments', 'cattle-cluster-agent'), sc.agentChecksum(3, 'deployments', 'cattle-cluster-agent')];
    const f = sc.files(makePrivateCa('Fleet Early'));
    configure(f, { broken: false, gateTimeout: 15 });
    // The group's stack alone, as a runner that skipped the server's stack would.
    const r = ws.apply('rancher-group-rke1', [1]);
    expect(r.stdout + r.stderr).toMatch(/after 15 s, \S+\/v3\/settings\/cacerts gives [^\n]*expected[^\n]*No agent was changed/);
    expect(r.stdout + r.stderr).not.toMatch(/AgentCaChecksum[^\n]*Creation complete/);
    expect([sc.agentChecksum(2, 'deployments', 'cattle-cluster-agent'), sc.agentChecksum(3, 'deployments', 'cattle-cluster-agent')]).toEqual(before);
  });

  test('fleet deploy: the broken cluster fails its own stack; Rancher and every other cluster are rotated; fleet plan says which stacks are done', async () => {
    const since = new Date().toISOString();
    const f = sc.files(makePrivateCa('Fleet A'));
    configure(f, { broken: true });
    const r = fleet('deploy', [1]);
    expect(row(r, 'rancher')).toMatch(/^rancher\s+OK\s/);
    expect(row(r, 'rancher-group-rke1')).toMatch(/\sOK\s.*downstream-2: applied/);
    expect(row(r, 'rancher-group-rke2')).toMatch(/\sOK\s.*downstream-3: applied/);
    expect(row(r, 'rancher-group-broken')).toMatch(/\sFAILED\s.*gone: terraform apply failed/);
    expect(r.stderr).toMatch(/1 of 4 stack\(s\) failed or were not run \(clusters: gone\)/);
    // Read back: Rancher serves A, and the agents of both live clusters carry A's checksum and are Ready.
    sc.expectServed(f);
    sc.expectAgents([2, 3], cattleCaChecksum(f.caPem));
    sc.expectNoAgentStartFailures(since);

    const p = fleet('plan', [0]);
    expect(row(p, 'rancher')).toMatch(/done: no changes/);
    expect(row(p, 'rancher-group-rke1')).toMatch(/done: no changes/);
    expect(row(p, 'rancher-group-rke2')).toMatch(/done: no changes/);
    expect(row(p, 'rancher-group-broken')).toMatch(/changes waiting/);
  });

  test('the broken cluster dropped from the file: every stack applies, then plans no changes; no key anywhere', async () => {
    const f = sc.files(makePrivateCa('Fleet B'));
    configure(f, { broken: false });
    const r = fleet('deploy', [0]);
    expect(r.stderr).toMatch(/all 3 stack\(s\) applied/);
    sc.expectServed(f);
    sc.expectAgents([2, 3], cattleCaChecksum(f.caPem));
    const p = fleet('plan', [0]);
    for (const stack of ['rancher', 'rancher-group-rke1', 'rancher-group-rke2']) expect(row(p, stack)).toMatch(/done: no changes/);

    const states = fs.readdirSync(ws.dir).filter((n) => n.startsWith('terraform.') && n.includes('.tfstate'));
    expect(states).toEqual(expect.arrayContaining(['terraform.rancher.tfstate', 'terraform.rancher-group-rke1.tfstate', 'terraform.rancher-group-rke2.tfstate']));
    const stateText = states.map((n) => fs.readFileSync(path.join(ws.dir, n), 'utf8')).join('\n');
    for (const key of sc.keysSeen) {
      expectNoKey(ws.synthesizedText(), key, 'cdktf.out');
      expectNoKey(stateText, key, 'the state files');
      expectNoKey(logs.join('\n') + ws.logs.join('\n'), key, 'the logs');
    }
  });
});
