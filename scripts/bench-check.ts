/**
 * Benchmark of `cert-rotation check`, on the compiled CLI (`npm run build` first):
 *
 *   npx ts-node --transpile-only scripts/bench-check.ts [--files 10000]
 *
 * 1. Makes a handful of certificates with openssl (RSA, ECDSA, Ed25519, a
 *    two-certificate bundle, plus keys) and copies them into 10,000 files under
 *    a temporary directory, 100 per subdirectory (not timed), then times
 *    `node bin/cert-rotation.js check DIR --output json` and its peak RSS.
 * 2. When KUBECONFIG is set (e.g. `source .testbed/env`), creates 1,000
 *    kubernetes.io/tls secrets in a fresh namespace with client-node, times
 *    `check --secrets --namespace NS --output json`, then deletes the secrets
 *    and the namespace.
 *
 * Prints numbers only; asserts nothing. The targets: < 5 s and < 300 MB for
 * 10,000 files on 2 cores.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const REPO = path.resolve(__dirname, '..');
const BIN = path.join(REPO, 'bin/cert-rotation.js');

interface Measured {
  seconds: number;
  rssMb: number;
  code: number;
  stdoutBytes: number;
  certificates: number;
}

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A few certificate files in `dir`: RSA, ECDSA, Ed25519, a bundle; returns their paths. */
function makeSamples(dir: string): { certs: string[]; key: string } {
  const certs: string[] = [];
  const make = (name: string, keyArgs: string[], days: string) => {
    const key = path.join(dir, `${name}.key`);
    const cert = path.join(dir, `${name}.crt`);
    openssl(['req', '-x509', '-nodes', ...keyArgs, '-keyout', key, '-out', cert, '-days', days, '-subj', `/O=bench/CN=${name}`, '-addext', `subjectAltName=DNS:${name}.example.com,IP:10.0.0.1`]);
    return { key, cert };
  };
  const rsa = make('rsa', ['-newkey', 'rsa:2048'], '365');
  const ec = make('ecdsa', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '20');
  const ed = make('ed25519', ['-newkey', 'ed25519'], '3650');
  const rsa2 = make('rsa-ca', ['-newkey', 'rsa:2048'], '10');
  const bundle = path.join(dir, 'bundle.crt');
  fs.writeFileSync(bundle, fs.readFileSync(ec.cert, 'utf8') + fs.readFileSync(rsa2.cert, 'utf8'));
  certs.push(rsa.cert, ec.cert, ed.cert, rsa2.cert, bundle);
  return { certs, key: rsa.key };
}

/** Runs the CLI, timing it and reading its peak RSS (/usr/bin/time -v, else a preload that reports resourceUsage). */
function measure(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Measured> {
  const useTime = fs.existsSync('/usr/bin/time');
  const preload = path.join(os.tmpdir(), `bench-check-rss-${process.pid}.js`);
  if (!useTime) {
    fs.writeFileSync(preload, "process.on('exit', () => process.stderr.write(`\\nBENCH_MAX_RSS_KB=${process.resourceUsage().maxRSS}\\n`));\n");
  }
  const [cmd, cmdArgs] = useTime ? ['/usr/bin/time', ['-v', process.execPath, BIN, ...args]] : [process.execPath, ['--require', preload, BIN, ...args]];
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(cmd, cmdArgs, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const kb = useTime ? /Maximum resident set size \(kbytes\): (\d+)/.exec(stderr)?.[1] : /BENCH_MAX_RSS_KB=(\d+)/.exec(stderr)?.[1];
      const stdout = Buffer.concat(out).toString('utf8');
      let certificates = -1;
      try {
        certificates = (JSON.parse(stdout) as { certificates: unknown[] }).certificates.length;
      } catch {
        process.stderr.write(`the CLI did not print JSON (exit ${code}); stderr:\n${stderr.slice(0, 2000)}\n`);
      }
      if (!useTime) fs.rmSync(preload, { force: true });
      resolve({ seconds, rssMb: kb ? Number(kb) / 1024 : NaN, code: code ?? -1, stdoutBytes: stdout.length, certificates });
    });
  });
}

async function benchFiles(count: number): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-check-'));
  try {
    const samples = makeSamples(fs.mkdtempSync(path.join(root, 'samples-')));
    const tree = path.join(root, 'tree');
    for (let i = 0; i < count; i++) {
      const dir = path.join(tree, `node-${String(Math.floor(i / 100)).padStart(3, '0')}`);
      if (i % 100 === 0) fs.mkdirSync(dir, { recursive: true });
      fs.copyFileSync(samples.certs[i % samples.certs.length], path.join(dir, `cert-${i}.crt`));
    }
    const m = await measure(['check', tree, '--output', 'json']);
    console.log(`check ${count} files: ${m.seconds.toFixed(2)} s, peak RSS ${Math.round(m.rssMb)} MB`);
    console.log(`  (${m.certificates} certificates, ${(m.stdoutBytes / 1024 / 1024).toFixed(1)} MB of JSON, exit ${m.code}, ${os.cpus().length} CPUs, node ${process.version})`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function benchSecrets(count: number): Promise<void> {
  const k8s = await import('@kubernetes/client-node');
  const kc = new k8s.KubeConfig();
  kc.loadFromDefault();
  const api = kc.makeApiClient(k8s.CoreV1Api);
  const ns = `bench-check-${Date.now().toString(36)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-check-secrets-'));
  try {
    const samples = makeSamples(dir);
    const key = fs.readFileSync(samples.key).toString('base64');
    await api.createNamespace({ metadata: { name: ns } });
    const created = process.hrtime.bigint();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const crt = fs.readFileSync(samples.certs[i % samples.certs.length]).toString('base64');
        await api.createNamespacedSecret(ns, { metadata: { name: `tls-${i}` }, type: 'kubernetes.io/tls', data: { 'tls.crt': crt, 'tls.key': key } });
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    console.log(`  (created ${count} secrets in ${(Number(process.hrtime.bigint() - created) / 1e9).toFixed(2)} s, not counted)`);
    // KUBECONFIG is inherited: the CLI reads the same current context.
    const m = await measure(['check', '--secrets', '--namespace', ns, '--output', 'json']);
    console.log(`check --secrets ${count} secrets: ${m.seconds.toFixed(2)} s, peak RSS ${Math.round(m.rssMb)} MB`);
    console.log(`  (${m.certificates} certificates, exit ${m.code})`);
  } finally {
    // The test bed runs no controller manager: delete the secrets, the namespace then stays Terminating, empty.
    await api.deleteCollectionNamespacedSecret(ns).catch((err: unknown) => console.error(`cleanup: cannot delete the secrets of ${ns}: ${String(err)}`));
    await api.deleteNamespace(ns).catch((err: unknown) => console.error(`cleanup: cannot delete namespace ${ns}: ${String(err)}`));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(REPO, 'dist/lib/cli/main.js'))) {
    console.error('dist/lib/cli/main.js is missing: run `npm run build` first');
    process.exit(1);
  }
  await benchFiles(argValue('--files', 10_000));
  if (process.env.KUBECONFIG) {
    await benchSecrets(argValue('--secrets', 1_000));
  } else {
    console.log('check --secrets: not run (set KUBECONFIG, e.g. `source .testbed/env`)');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
