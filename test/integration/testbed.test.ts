import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_ROOT, run } from './support/testbed';

// The test bed's own contract: a second, independent instance comes up from the
// cache, answers, and `down` stops exactly the processes it started.
describe('scripts/testbed/testbed', () => {
  const script = path.join(REPO_ROOT, 'scripts/testbed/testbed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'testbed-contract-'));
  const env = { ...process.env, TESTBED_DIR: path.join(dir, 'bed') };

  function alive(pid: number): boolean {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  afterAll(() => {
    run(script, ['down'], { env, ok: [0, 1] });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('up, status, env and down', () => {
    const up = run(script, ['up', '--clusters', '2', '--nodes', '1'], { env });
    expect(up.stderr).toMatch(/up in \d+s: 2 cluster\(s\), 1 node\(s\)/);

    const status = run(script, ['status'], { env });
    expect(status.stdout).toMatch(/cluster testbed-1 +https:\/\/127\.0\.0\.1:\d+ ready/);
    expect(status.stdout).toMatch(/cluster testbed-2 +https:\/\/127\.0\.0\.1:\d+ ready/);

    const envFile = run(script, ['env'], { env }).stdout;
    expect(envFile).toMatch(/^export KUBECONFIG='.*\/bed\/kubeconfig'$/m);
    expect(envFile).toMatch(/^export TESTBED_SSH_PORT_1=\d+$/m);
    expect(envFile).toMatch(/^export TF_CLI_CONFIG_FILE=/m);
    const cliConfig = fs.readFileSync(path.join(dir, 'bed', 'terraformrc'), 'utf8');
    expect(cliConfig).toMatch(/filesystem_mirror/);
    expect(cliConfig).not.toMatch(/direct/);

    const pidFiles = fs.readdirSync(path.join(dir, 'bed', 'pids'));
    expect(pidFiles.sort()).toEqual(['etcd-1.pid', 'etcd-2.pid', 'kube-apiserver-1.pid', 'kube-apiserver-2.pid', 'sshd-1.pid']);
    const pids = pidFiles.map((f) => Number(fs.readFileSync(path.join(dir, 'bed', 'pids', f), 'utf8')));
    expect(pids.every(alive)).toBe(true);

    const down = run(script, ['down'], { env });
    expect(down.stderr).toMatch(/stopped 5 process\(es\)/);
    expect(pids.filter(alive)).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'bed'))).toBe(false);
    expect(run(script, ['status'], { env, ok: [1] }).stdout).toMatch(/test bed is down/);
  });

  test('bad options are refused with the fix', () => {
    const r = run(script, ['up', '--clusters', 'two'], { env, ok: [1] });
    expect(r.stderr).toMatch(/--clusters must be a whole number of at least 1, not 'two'/);
  });
});
