/**
 * The client of the local test bed (scripts/testbed/testbed up), for the
 * integration tests and the demo: its env file, its clusters' API servers,
 * and its real kubectl and helm.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '../..');

/**
 * Reads the env file that `scripts/testbed/testbed up` writes. Throws (never
 * skips) when the test bed is not up, so a missing test bed fails the run.
 */
export function loadTestbedEnv(dir = process.env.TESTBED_DIR ?? path.join(REPO_ROOT, '.testbed')): Record<string, string> {
  const file = path.join(dir, 'env');
  if (!fs.existsSync(file)) {
    throw new Error(`${file} does not exist: the test bed is down. Start it with: scripts/testbed/testbed up --clusters 3`);
  }
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^export ([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) continue;
    let value = m[2];
    if (m[1] === 'PATH') {
      value = value.replace(/'/g, '').replace(/"\$PATH"/, process.env.PATH ?? '');
    } else {
      value = value.replace(/^'(.*)'$/, '$1');
    }
    env[m[1]] = value;
  }
  return env;
}

/**
 * How to reach stand-in node `i` over SSH (the shape of the constructs' `NodeSsh`): loopback, its port,
 * the test bed's user and key file, and its host key as `type base64`.
 */
export function standinNodeSsh(env: Record<string, string>, i: number): {
  name: string; host: string; port: number; user: string; privateKeyPath: string; hostKey: string;
} {
  return {
    name: `node-${i}`,
    host: '127.0.0.1',
    port: Number(env[`TESTBED_SSH_PORT_${i}`]),
    user: env.TESTBED_SSH_USER,
    privateKeyPath: env.TESTBED_SSH_KEY,
    hostKey: fs.readFileSync(`${env.TESTBED_DIR}/ssh/host-${i}.pub`, 'utf8').split(' ').slice(0, 2).join(' '),
  };
}

/** The environment for child processes (terraform, cdktf, helm) on the test bed. */
export function testbedProcessEnv(): NodeJS.ProcessEnv {
  return { ...process.env, ...loadTestbedEnv(), CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1' };
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a command; throws with its output when it exits with a status not in `ok`. */
export function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; ok?: number[]; input?: string } = {}): RunResult {
  const r = spawnSync(cmd, args, {
    cwd: opts.cwd,
    input: opts.input,
    env: opts.env ?? testbedProcessEnv(),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const status = r.status ?? -1;
  if (!(opts.ok ?? [0]).includes(status)) {
    // The lines that say what went wrong come first: CI shows only the head of a failure's message.
    const cause = `${r.stdout ?? ''}\n${r.stderr ?? ''}`.split('\n').filter((l) => /error|fail|timed out|refus/i.test(l)).slice(-20);
    throw new Error(`${cmd} ${args.join(' ')} exited ${status} (cwd ${opts.cwd ?? process.cwd()})\n--- error lines\n${cause.join('\n')}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  }
  return { status, stdout: r.stdout, stderr: r.stderr };
}

/** kubectl-free read of a Kubernetes object through the API server, as JSON (of another test bed with `testbedDir`). */
export function kubeGet(cluster: number, apiPath: string, testbedDir?: string): any {
  const env = loadTestbedEnv(testbedDir);
  const pki = path.join(env.TESTBED_DIR, 'clusters', String(cluster), 'pki');
  const url = env[`TESTBED_APISERVER_${cluster}`];
  const out = execFileSync('curl', [
    '-sf', '--cacert', path.join(pki, 'serving-ca.crt'),
    '--cert', path.join(pki, 'admin.crt'), '--key', path.join(pki, 'admin.key'),
    `${url}${apiPath}`,
  ], { encoding: 'utf8' });
  return JSON.parse(out);
}

/** Sends a JSON body to the API server (POST/PUT/DELETE/PATCH). */
export function kubeSend(cluster: number, method: string, apiPath: string, body?: unknown, contentType = 'application/json'): any {
  const env = loadTestbedEnv();
  const pki = path.join(env.TESTBED_DIR, 'clusters', String(cluster), 'pki');
  const url = env[`TESTBED_APISERVER_${cluster}`];
  const args = [
    '-sS', '-f', '-X', method, '--cacert', path.join(pki, 'serving-ca.crt'),
    '--cert', path.join(pki, 'admin.crt'), '--key', path.join(pki, 'admin.key'),
    '-H', `Content-Type: ${contentType}`,
  ];
  if (body !== undefined) args.push('--data-binary', JSON.stringify(body));
  args.push(`${url}${apiPath}`);
  const out = execFileSync('curl', args, { encoding: 'utf8' });
  return out ? JSON.parse(out) : undefined;
}

/** The test bed's real kubectl against cluster `cluster` (1-based). */
export function kubectl(cluster: number, args: string[], opts: { ok?: number[]; input?: string } = {}): RunResult {
  const tb = loadTestbedEnv();
  return run(tb.TESTBED_KUBECTL, ['--kubeconfig', path.join(tb.TESTBED_DIR, 'clusters', String(cluster), 'kubeconfig'), ...args], { env: testbedProcessEnv(), ...opts });
}

/** Runs the test bed's real helm against cluster `cluster` (1-based). */
export function helm(cluster: number, args: string[], ok = [0]): RunResult {
  const tb = loadTestbedEnv();
  return run(tb.TESTBED_HELM, [...args, '--kubeconfig', tb.KUBECONFIG, '--kube-context', `testbed-${cluster}`], { env: testbedProcessEnv(), ok });
}

/** Polls `check` every 200 ms until it returns a value other than undefined/false; throws with `what` after `seconds`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, seconds = 60): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  let last: unknown;
  for (;;) {
    try {
      const v = check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${seconds}s waiting for ${what}${last ? `; last error: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
