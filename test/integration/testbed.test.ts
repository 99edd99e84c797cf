import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { clusterWorkloads, PROFILE_WORKLOADS } from './support/profiles';
import { kubeGet, REPO_ROOT, run } from '../../scripts/testbed/client';

// The test bed's own contract: a second, independent instance comes up from the
// cache, answers, and `down` stops exactly the processes it started.
describe('scripts/testbed/testbed', () => {
  const script = path.join(REPO_ROOT, 'scripts/testbed/testbed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'testbed-contract-'));
  const env = { ...process.env, TESTBED_DIR: path.join(dir, 'bed') };

  /** Running: it exists and is not a zombie (this machine's init does not always reap the test bed's daemons). */
  function alive(pid: number): boolean {
    try {
      return fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] !== 'Z';
    } catch {
      return false;
    }
  }

  afterAll(() => {
    run(script, ['down'], { env, ok: [0, 1] });
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('up, status, env and down', () => {
    const up = run(script, ['up', '--clusters', '2', '--nodes', '1', '--profile', 'rancher-local,rancher-2.12'], { env });
    expect(up.stderr).toMatch(/up in \d+s: 2 cluster\(s\), 1 node\(s\)/);

    const status = run(script, ['status'], { env });
    expect(status.stdout).toMatch(/cluster testbed-1 +https:\/\/127\.0\.0\.1:\d+ ready/);
    expect(status.stdout).toMatch(/cluster testbed-2 +https:\/\/127\.0\.0\.1:\d+ ready/);

    const envFile = run(script, ['env'], { env }).stdout;
    expect(envFile).toMatch(/^export KUBECONFIG='.*\/bed\/kubeconfig'$/m);
    expect(envFile).toMatch(/^export TESTBED_SSH_PORT_1=\d+$/m);
    expect(envFile).toMatch(/^export TF_CLI_CONFIG_FILE=/m);
    expect(envFile).toMatch(/^export TESTBED_PROFILE_2='rancher-2.12'$/m);
    expect(envFile).toMatch(/^export TESTBED_RANCHER_URL='https:\/\/rancher\.testbed\.test:\d+'$/m);
    const cliConfig = fs.readFileSync(path.join(dir, 'bed', 'terraformrc'), 'utf8');
    expect(cliConfig).toMatch(/filesystem_mirror/);
    expect(cliConfig).not.toMatch(/direct/);

    // The rancher-2.12 profile: its workloads, all Ready (agents passed the model's start check).
    const get = (c: number, p: string) => kubeGet(c, p, path.join(dir, 'bed'));
    expect(clusterWorkloads(2, get)).toEqual([...PROFILE_WORKLOADS['rancher-2.12']].sort((a, b) => a.localeCompare(b)).map((name) => ({ name, ready: true })));

    const pidFiles = fs.readdirSync(path.join(dir, 'bed', 'pids'));
    expect(pidFiles.sort()).toEqual([
      'etcd-1.pid', 'etcd-2.pid', 'kube-apiserver-1.pid', 'kube-apiserver-2.pid',
      'kube-controller-manager-1.pid', 'kube-controller-manager-2.pid', 'kube-scheduler-1.pid', 'kube-scheduler-2.pid',
      'kwok-1.pid', 'kwok-2.pid', 'rancher-model.pid', 'sshd-1.pid',
      // node-1 is an RKE2 server: its stand-in API listener
      'standin-apiserver-node-1.pid',
    ]);
    const pids = pidFiles.map((f) => Number(fs.readFileSync(path.join(dir, 'bed', 'pids', f), 'utf8')));
    expect(pids.every(alive)).toBe(true);

    const down = run(script, ['down'], { env });
    expect(down.stderr).toMatch(/stopped 13 process\(es\)/);
    expect(pids.filter(alive)).toEqual([]);
    expect(fs.existsSync(path.join(dir, 'bed'))).toBe(false);
    expect(run(script, ['status'], { env, ok: [1] }).stdout).toMatch(/test bed is down/);
  });

  test('bad options are refused with the fix', () => {
    const r = run(script, ['up', '--clusters', 'two'], { env, ok: [1] });
    expect(r.stderr).toMatch(/--clusters must be a whole number of at least 1, not 'two'/);
    const p = run(script, ['up', '--clusters', '2', '--profile', 'rancher-local,rke3'], { env, ok: [1] });
    expect(p.stderr).toMatch(/unknown profile 'rke3'; profiles: bare rancher-local rke1 rke2 rancher-2.12/);
    const d = run(script, ['up', '--clusters', '1', '--profile', 'rke2'], { env, ok: [1] });
    expect(d.stderr).toMatch(/profile rke2 \(cluster 1\) is a downstream cluster of Rancher: give another cluster the rancher-local profile/);
  });
});
