/**
 * Stand-in for the kubelet's static Pods on the test bed's kubeadm node: it
 * watches the node's manifest directory (`<node root>/etc/kubernetes/manifests`)
 * and runs the first container's `command` of each manifest as a real process
 * (kube-apiserver, kube-controller-manager, kube-scheduler from the test bed's
 * multi-call binary), the way the kubelet runs kubeadm's static Pods.
 *
 * What it models, and where the real behaviour is written:
 * - The kubelet reads static Pod manifests from `staticPodPath` every
 *   `fileCheckFrequency` (20 s by default; here `--period`, 1 s): a manifest
 *   that appears starts its Pod, one that disappears stops it, and a changed
 *   manifest replaces the Pod. kubeadm's certificate renewal page tells to
 *   restart a static Pod by moving its manifest out of the directory, waiting
 *   `fileCheckFrequency`, and moving it back:
 *   https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/#manual-certificate-renewal
 *   https://kubernetes.io/docs/reference/config-api/kubelet-config.v1beta1/ (fileCheckFrequency)
 * - `restartPolicy: Always` (kubeadm's static Pods): a process that exits is
 *   started again, with a back-off (10 s doubling to 5 min in the kubelet;
 *   here 1 s doubling to 10 s).
 * - Containers see the node's files through `hostPath` volumes mounted at the
 *   same path (kubeadm's manifests mount `/etc/kubernetes/pki` and each
 *   `/etc/kubernetes/<component>.conf` at the same path). The stand-in node's
 *   filesystem is `<node root>`, so a path under `/etc/kubernetes/` in a
 *   command resolves under `<node root>/etc/kubernetes/`; paths already under
 *   the node root (the certificate directory, which the test bed points into
 *   the node root through kubeadm's `certificatesDir`) are left as they are.
 * - Each started container gets a new id; `crictl ps -q --name NAME` (the
 *   stand-in in node-bin) prints the id of the running one, as the real
 *   crictl lists running containers by name:
 *   https://kubernetes.io/docs/tasks/debug/debug-cluster/crictl/
 *
 * Not modelled: probes, resource limits, images (the binary of the test bed
 * runs whatever image the manifest names), mirror Pods in the API server.
 */
import { ChildProcess, spawn } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';

interface Args {
  root: string;
  bin: string;
  logs: string;
  state: string;
  period: number;
}

function parseArgs(argv: string[]): Args {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i += 2) out[argv[i].replace(/^--/, '')] = argv[i + 1];
  for (const k of ['root', 'bin', 'logs', 'state']) {
    if (!out[k]) throw new Error(`static-pods: --${k} is required`);
  }
  return { root: out.root, bin: out.bin, logs: out.logs, state: out.state, period: Number(out.period ?? 1) };
}

interface Pod {
  name: string;
  hash: string;
  command: string[];
  child?: ChildProcess;
  id?: string;
  stopping?: boolean;
  backoffMs: number;
  restartAt?: number;
}

const args = parseArgs(process.argv.slice(2));
const manifests = path.join(args.root, 'etc/kubernetes/manifests');
const pods = new Map<string, Pod>();
fs.mkdirSync(args.state, { recursive: true });
fs.mkdirSync(args.logs, { recursive: true });

function log(line: string): void {
  process.stdout.write(`${new Date().toISOString()} ${line}\n`);
}

/** A command line as the container would run it on the node: hostPath mounts resolved into the node root. */
function resolveCommand(command: string[]): string[] {
  const [program, ...rest] = command;
  const mapped = rest.map((a) => {
    const m = /^(--[^=]+=)?(\/etc\/kubernetes\/.*)$/.exec(a);
    if (!m || m[2].startsWith(args.root)) return a;
    return `${m[1] ?? ''}${path.join(args.root, m[2])}`;
  });
  return [path.join(args.bin, path.basename(program)), ...mapped];
}

/**
 * A manifest's Pod name, command and content hash, read once: a manifest moved
 * out between the directory listing and the read is gone (undefined), as the
 * kubelet sees it.
 */
function readManifest(file: string): { name: string; command: string[]; hash: string } | undefined {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') log(`cannot read ${file}: ${(err as Error).message}`);
    return undefined;
  }
  try {
    const doc = parse(bytes.toString('utf8'));
    const c = doc?.spec?.containers?.[0];
    if (!doc?.metadata?.name || !Array.isArray(c?.command)) return undefined;
    const hash = createHash('sha256').update(bytes).digest('hex');
    return { name: String(c.name ?? doc.metadata.name), command: [...c.command, ...(c.args ?? [])].map(String), hash };
  } catch (err) {
    log(`cannot read ${file}: ${(err as Error).message}`);
    return undefined;
  }
}

function writeState(pod: Pod): void {
  const f = path.join(args.state, pod.name);
  if (pod.child && pod.id && !pod.stopping) fs.writeFileSync(f, `${pod.id} ${pod.child.pid}\n`);
  else fs.rmSync(f, { force: true });
}

function start(pod: Pod): void {
  const cmd = resolveCommand(pod.command);
  pod.id = randomBytes(32).toString('hex');
  const out = fs.openSync(path.join(args.logs, `kubeadm-${pod.name}.log`), 'a');
  fs.writeSync(out, `\n==== ${new Date().toISOString()} container ${pod.id.slice(0, 13)} starts: ${cmd.join(' ')}\n`);
  const child = spawn(cmd[0], cmd.slice(1), { stdio: ['ignore', out, out] });
  fs.closeSync(out);
  pod.child = child;
  pod.stopping = false;
  log(`${pod.name}: started container ${pod.id.slice(0, 13)} (pid ${child.pid})`);
  writeState(pod);
  const started = Date.now();
  child.on('exit', (code, signal) => {
    if (pod.child !== child) return;
    pod.child = undefined;
    writeState(pod);
    if (pod.stopping) return;
    // restartPolicy Always, with a back-off that resets after 10 s of running.
    if (Date.now() - started > 10_000) pod.backoffMs = 1000;
    log(`${pod.name}: container exited (${signal ?? code}); restarting in ${pod.backoffMs} ms`);
    pod.restartAt = Date.now() + pod.backoffMs;
    pod.backoffMs = Math.min(pod.backoffMs * 2, 10_000);
  });
}

async function stop(pod: Pod, graceMs = 10_000): Promise<void> {
  const child = pod.child;
  pod.stopping = true;
  writeState(pod);
  if (!child) return;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
  log(`${pod.name}: container ${pod.id?.slice(0, 13)} stopped`);
}

async function sync(): Promise<void> {
  const seen = new Set<string>();
  let files: string[] = [];
  try {
    files = fs.readdirSync(manifests).filter((f) => /\.(ya?ml|json)$/.test(f) && !f.startsWith('.'));
  } catch {
    files = [];
  }
  for (const f of files.sort()) {
    const file = path.join(manifests, f);
    const m = readManifest(file);
    if (!m) continue;
    const hash = m.hash;
    seen.add(m.name);
    const pod = pods.get(m.name);
    if (!pod) {
      const p: Pod = { name: m.name, hash, command: m.command, backoffMs: 1000 };
      pods.set(m.name, p);
      log(`${m.name}: manifest ${f} appeared`);
      start(p);
    } else if (pod.hash !== hash) {
      log(`${m.name}: manifest ${f} changed; replacing the pod`);
      await stop(pod);
      pod.hash = hash;
      pod.command = m.command;
      pod.backoffMs = 1000;
      start(pod);
    } else if (!pod.child && pod.restartAt !== undefined && Date.now() >= pod.restartAt) {
      pod.restartAt = undefined;
      start(pod);
    }
  }
  for (const [name, pod] of pods) {
    if (seen.has(name)) continue;
    log(`${name}: manifest removed; stopping the pod`);
    await stop(pod);
    pods.delete(name);
  }
}

let stopping = false;
async function loop(): Promise<void> {
  while (!stopping) {
    try {
      await sync();
    } catch (err) {
      // The kubelet logs a failed sync and tries again at the next period; so does its stand-in.
      log(`sync failed: ${(err as Error).stack ?? String(err)}`);
    }
    await new Promise((r) => setTimeout(r, args.period * 1000));
  }
}

async function shutdown(): Promise<void> {
  stopping = true;
  // The test bed's `down` kills what is left after 2 s: end the containers first.
  await Promise.all([...pods.values()].map((p) => stop(p, 1500)));
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown());
process.on('SIGINT', () => void shutdown());
log(`watching ${manifests} every ${args.period} s`);
void loop();
