import * as fs from 'fs';
import * as path from 'path';
import { run } from '../../../lib/cli/main';
import { removeDir, tempDir } from '../../support/pki';

// GIVEN a synthesized app of a server stack and two group stacks that depend on
// it, and a terraform on PATH that fails where told to, WHEN `cert-rotation
// fleet deploy|plan` runs, THEN a failing group stops only itself, a failing
// server stack stops the groups (nothing runs before its gate), and the table
// names every stack, its clusters and its result.
//
// The terraform here is a script: this tests the command's scheduling and
// report. The real Terraform runs it against the test bed in
// test/integration/fleet.test.ts.
describe('cert-rotation fleet', () => {
  let dir: string;
  let out: string;
  const saved = { PATH: process.env.PATH, TERRAFORM_BINARY_NAME: process.env.TERRAFORM_BINARY_NAME, FAIL: process.env.FAKE_TF_FAIL };

  beforeEach(() => {
    dir = tempDir('fleet-cli-');
    out = path.join(dir, 'cdktf.out');
    const stacks: Record<string, unknown> = {};
    for (const [name, clusters, deps] of [
      ['rancher', ['server'], []],
      ['rancher-group-a', ['a-1', 'a-2'], ['rancher']],
      ['rancher-group-b', ['b-1'], ['rancher']],
    ] as Array<[string, string[], string[]]>) {
      fs.mkdirSync(path.join(out, 'stacks', name), { recursive: true });
      fs.writeFileSync(path.join(out, 'stacks', name, 'cdk.tf.json'), JSON.stringify({ '//': { 'cert-rotation': { clusters } } }));
      stacks[name] = { name, workingDirectory: `stacks/${name}`, synthesizedStackPath: `stacks/${name}/cdk.tf.json`, dependencies: deps };
    }
    fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ version: '0.21.0', stacks }));
    // init succeeds; plan exits 2 (changes) or 0 in a stack named in FAKE_TF_CLEAN; apply fails in FAKE_TF_FAIL.
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'terraform'), `#!/usr/bin/env bash
stack=$(basename "$PWD")
echo "$stack $1" >> "${dir}/calls.log"
case $1 in
  init) echo "Terraform has been successfully initialized!" ;;
  plan) if [ "$stack" = "\${FAKE_TF_CLEAN:-}" ]; then echo "No changes. Your infrastructure matches the configuration."; exit 0; fi
        echo "Plan: 2 to add, 0 to change, 0 to destroy."; exit 2 ;;
  apply) if [ "$stack" = "\${FAKE_TF_RACE:-}" ] && [ ! -e "${dir}/raced" ]; then
           # What Terraform 1.11 prints when another runner's update of the backend's Lease won (captured on the test bed).
           touch "${dir}/raced"
           printf '%s\n' "Error: Error acquiring the state lock" "" "Error message: Operation cannot be fulfilled on leases.coordination.k8s.io" \
             '"lock-tfstate-default-rancher": the object has been modified; please apply' "your changes to the latest version and try again" >&2
           exit 1
         fi
         if [ "$stack" = "\${FAKE_TF_HELD:-}" ]; then
           printf '%s\n' "Error: Error acquiring the state lock" "" "Error message: the state is already locked by another terraform client" \
             "Lock Info:" "  ID:        5f0c2a4e-1b7d-8e0a-3c11-9d2f4e6a7b80" "  Path:" "  Operation: OperationTypeApply" \
             "  Who:       runner@ci-7" "  Version:   1.11.4" "  Created:   2026-12-03 06:58:01.123 +0000 UTC" >&2
           exit 1
         fi
         if [ "$stack" = "\${FAKE_TF_FAIL:-}" ]; then echo "Error: local-exec provisioner error" >&2; echo "agents of a-2 not Ready after 300s" >&2; exit 1; fi
         echo "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." ;;
esac
`, { mode: 0o755 });
    process.env.PATH = `${bin}:${process.env.PATH}`;
    delete process.env.TERRAFORM_BINARY_NAME;
  });
  afterEach(() => {
    process.env.PATH = saved.PATH;
    if (saved.TERRAFORM_BINARY_NAME !== undefined) process.env.TERRAFORM_BINARY_NAME = saved.TERRAFORM_BINARY_NAME;
    delete process.env.FAKE_TF_FAIL;
    delete process.env.FAKE_TF_CLEAN;
    delete process.env.FAKE_TF_RACE;
    delete process.env.FAKE_TF_HELD;
    removeDir(dir);
  });

  async function fleet(...args: string[]): Promise<{ code: number; stdout: string; stderr: string; calls: string[] }> {
    let stdout = '';
    let stderr = '';
    const code = await run(['fleet', ...args, '--out', out], { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
    const log = path.join(dir, 'calls.log');
    return { code, stdout, stderr, calls: fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : [] };
  }

  test('deploy: every stack applied, the server first', async () => {
    const r = await fleet('deploy', '--parallelism', '1');
    expect(r.code).toBe(0);
    expect(r.calls[0]).toBe('rancher init');
    expect(r.calls[1]).toBe('rancher apply');
    expect(r.calls).toHaveLength(6);
    expect(r.stdout).toMatch(/^rancher-group-a\s+OK\s+\S+s\s+a-1,a-2: applied: 2 added/m);
    expect(r.stderr).toMatch(/all 3 stack\(s\) applied/);
  });

  test('deploy: a failing group stops only itself; the other group is applied, the report names its clusters and error', async () => {
    process.env.FAKE_TF_FAIL = 'rancher-group-a';
    const r = await fleet('deploy', '--parallelism', '1');
    expect(r.code).toBe(1);
    expect(r.calls).toContain('rancher-group-b apply');
    expect(r.stdout).toMatch(/^rancher-group-a\s+FAILED\s+.*a-1,a-2: terraform apply failed \(exit 1\): .*not Ready after 300s/m);
    expect(r.stdout).toMatch(/^rancher-group-b\s+OK\s+.*b-1: applied/m);
    expect(r.stderr).toMatch(/1 of 3 stack\(s\) failed or were not run \(clusters: a-1, a-2\)/);
    expect(fs.readFileSync(path.join(out, 'fleet-logs', 'rancher-group-a.log'), 'utf8')).toContain('not Ready after 300s');
  });

  test('deploy: a failing server stack stops every group (they would change agents before Rancher serves the CA)', async () => {
    process.env.FAKE_TF_FAIL = 'rancher';
    const r = await fleet('deploy');
    expect(r.code).toBe(1);
    expect(r.calls).toEqual(['rancher init', 'rancher apply']);
    expect(r.stdout).toMatch(/^rancher-group-a\s+SKIPPED\s+.*not run: rancher, which it depends on, failed/m);
    expect(r.stdout).toMatch(/^rancher-group-b\s+SKIPPED/m);
  });

  test('deploy: a runner that lost the race for a Kubernetes backend Lease asks again; a lock still held after -lock-timeout is not retried', async () => {
    process.env.FAKE_TF_RACE = 'rancher-group-a';
    const r = await fleet('deploy', '--parallelism', '1');
    expect(r.code).toBe(0);
    expect(r.calls.filter((c) => c === 'rancher-group-a apply')).toHaveLength(2);
    expect(r.stderr).toMatch(/rancher-group-a: another runner took the state lock in the same instant \(Lease conflict\); asking again \(attempt 2\)/);
    expect(r.stdout).toMatch(/^rancher-group-a\s+OK\s+.*applied: 2 added/m);

    fs.rmSync(path.join(dir, 'calls.log'));
    process.env.FAKE_TF_HELD = 'rancher-group-b';
    const held = await fleet('deploy', '--parallelism', '1');
    expect(held.code).toBe(1);
    expect(held.calls.filter((c) => c === 'rancher-group-b apply')).toHaveLength(1);
    expect(held.stdout).toMatch(/^rancher-group-b\s+FAILED\s+.*Error acquiring the state lock/m);
    // A lock whose holder may be gone: who holds it since when, and the command that releases it.
    expect(held.stdout).toMatch(/held by runner@ci-7 since 2026-12-03 06:58:01\.123 \+0000 UTC; .*release it: \(cd \S+stacks\/rancher-group-b && terraform force-unlock -force 5f0c2a4e-1b7d-8e0a-3c11-9d2f4e6a7b80\)/);
  });

  test('plan: says which stacks are done and which have changes waiting', async () => {
    process.env.FAKE_TF_CLEAN = 'rancher';
    const r = await fleet('plan');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^rancher\s+OK\s+.*server: done: no changes/m);
    expect(r.stdout).toMatch(/^rancher-group-b\s+OK\s+.*b-1: changes waiting: 2 to add/m);
    expect(r.calls.filter((c) => c.endsWith('apply'))).toEqual([]);
    // After a deploy nothing should be left: --detailed-exitcode says when something is.
    expect((await fleet('plan', '--detailed-exitcode')).code).toBe(2);
  });

  // GIVEN a cdktf project whose app writes two stacks, WHEN `fleet synth` runs in it, THEN the app ran with
  // the environment the cdktf CLI gives it (CDKTF_OUTDIR, CDKTF_CONTEXT_JSON) and the stacks are listed;
  // an app that fails fails the command with its exit code and output.
  test('synth: runs the app of cdktf.json into its output directory, without the cdktf CLI', async () => {
    const project = path.join(dir, 'project');
    fs.mkdirSync(project);
    fs.writeFileSync(path.join(project, 'app.js'), `
      const fs = require('fs'); const path = require('path');
      const out = process.env.CDKTF_OUTDIR;
      if (process.env.FAKE_APP_FAIL) { console.error('config error: cert-rotation.yaml: rancher.hostname is missing'); process.exit(1); }
      fs.writeFileSync(path.join(${JSON.stringify(dir)}, 'context.json'), process.env.CDKTF_CONTEXT_JSON);
      const stacks = {};
      for (const [name, clusters] of [['rancher', ['server']], ['rancher-group-a', ['a-1', 'a-2']]]) {
        fs.mkdirSync(path.join(out, 'stacks', name), { recursive: true });
        fs.writeFileSync(path.join(out, 'stacks', name, 'cdk.tf.json'), JSON.stringify({ '//': { 'cert-rotation': { clusters } } }));
        stacks[name] = { name, workingDirectory: 'stacks/' + name, synthesizedStackPath: 'stacks/' + name + '/cdk.tf.json' };
      }
      fs.writeFileSync(path.join(out, 'manifest.json'), JSON.stringify({ stacks }));
      console.log('synthesized');
    `);
    fs.writeFileSync(path.join(project, 'cdktf.json'), JSON.stringify({ language: 'typescript', app: 'node app.js', output: 'synth-out', context: { answer: 42 } }));
    const cwd = process.cwd();
    const synth = async () => {
      let stdout = '';
      let stderr = '';
      process.chdir(project);
      try {
        const code = await run(['fleet', 'synth'], { stdout: { write: (x: string) => (stdout += x) }, stderr: { write: (x: string) => (stderr += x) } });
        return { code, stdout, stderr };
      } finally {
        process.chdir(cwd);
      }
    };
    const r = await synth();
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('synthesized\n');
    expect(r.stderr).toMatch(/^\[fleet \d+\.\ds\] synthesized 2 stack\(s\) into \S+\/project\/synth-out, 3 cluster\(s\): rancher, rancher-group-a\n$/);
    expect(fs.existsSync(path.join(project, 'synth-out', 'stacks', 'rancher-group-a', 'cdk.tf.json'))).toBe(true);
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'context.json'), 'utf8'))).toEqual({ answer: 42 });

    process.env.FAKE_APP_FAIL = '1';
    try {
      const failed = await synth();
      expect(failed.code).toBe(1);
      expect(failed.stderr).toMatch(/config error: cert-rotation\.yaml: rancher\.hostname is missing\n/);
      expect(failed.stderr).toMatch(/the app \(node app\.js\) exited 1 after \S+s; nothing to deploy from \S+synth-out/);
    } finally {
      delete process.env.FAKE_APP_FAIL;
    }

    fs.rmSync(path.join(project, 'cdktf.json'));
    const none = await synth();
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/cdktf\.json does not exist: run it in the directory of your cdktf project/);
  });

  test('usage errors: no action, bad parallelism, nothing synthesized', async () => {
    expect((await fleet()).code).toBe(3);
    const bad = await fleet('deploy', '--parallelism', '0');
    expect(bad.code).toBe(3);
    expect(bad.stderr).toMatch(/--parallelism '0'/);
    fs.rmSync(path.join(out, 'manifest.json'));
    const none = await fleet('plan');
    expect(none.code).toBe(3);
    expect(none.stderr).toMatch(/manifest.json: not found; synthesize first/);
  });
});
