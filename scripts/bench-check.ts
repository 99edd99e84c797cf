/**
 * Benchmark of `cert-rotation check`, on the compiled CLI (`npm run build` first):
 *
 *   npx ts-node --transpile-only scripts/bench-check.ts [--files 10000] [--runs 5] [--no-secrets]
 *
 * 1. Makes a handful of certificates with openssl (an ECDSA CA; RSA, ECDSA and
 *    Ed25519 leaves it signed; a leaf+CA bundle; a self-signed Ed25519 CA) and
 *    copies them into 10,000 files under a temporary directory, 100 per
 *    subdirectory (not timed), then times
 *    `node bin/cert-rotation.js check DIR --output json` and its peak RSS.
 *    Identical certificates are parsed once, so this measures mostly I/O.
 * 2. The same with 10,000 distinct certificates (the leaves re-signed by the CA
 *    with new serial numbers; one file in ten a copy of a sample): every
 *    certificate is parsed.
 * 3. On the test bed (`set -a; . .testbed/env; set +a`: KUBECONFIG and
 *    TESTBED_DIR), creates 1,000 kubernetes.io/tls secrets (distinct leaf +
 *    the CA) in a fresh namespace of cluster 1 with the test bed's own API
 *    client (the admin certificate), times
 *    `check --secrets --namespace NS --output json` (KUBECONFIG's current
 *    context, testbed-1), then deletes the secrets and the namespace.
 *
 * Prints numbers only; asserts nothing. The targets: < 5 s and < 300 MB for
 * 10,000 files on 2 cores, and for the distinct certificates within 1.2x of a
 * bare loop (walk, readFileSync, new X509Certificate per file) that the same
 * run measures on the same tree: wall and CPU time are both printed, CPU time
 * being the steadier on a shared machine.
 *
 * Each measurement is the median of `--runs` runs (default 5). For the
 * distinct certificates, the bare loop and check run once each untimed (both
 * then find the tree in the page cache), then alternate, bare first, so that
 * both see the same load of the machine; the ratio is of the two medians.
 * Part 3 needs the test bed's environment; without it (or with
 * `--no-secrets`) only parts 1 and 2 run.
 */
import { execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KubeClient } from './testbed/rancher-model/kube-client';

const REPO = path.resolve(__dirname, '..');
const BIN = path.join(REPO, 'bin/cert-rotation.js');

interface Measured {
  seconds: number;
  /** User + system CPU time of the process: steadier than wall time on a shared machine. */
  cpuSeconds: number;
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

/** The certificates the trees are made of. */
interface Samples {
  /** Files to copy round-robin: an ECDSA CA, RSA/ECDSA/Ed25519 leaves it signed, a leaf+CA bundle, a self-signed Ed25519 CA. */
  readonly files: string[];
  /** DER of the leaves, templates for distinct certificates. */
  readonly leafTemplates: Buffer[];
  /** The CA's private key, to sign distinct certificates. */
  readonly caKey: crypto.KeyObject;
  /** A private key, for the secrets' tls.key. */
  readonly keyFile: string;
}

/** A few certificates made with openssl, as on a node: a CA and leaves it signed. */
function makeSamples(dir: string): Samples {
  const file = (name: string) => path.join(dir, name);
  openssl(['req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', file('ca.key'), '-out', file('ca.crt'), '-days', '3650', '-subj', '/CN=bench-ca']);
  openssl(['req', '-x509', '-nodes', '-newkey', 'ed25519', '-keyout', file('ed-ca.key'), '-out', file('ed-ca.crt'), '-days', '3650', '-subj', '/CN=bench-ed25519-ca']);
  const leaves: Array<[string, string[], string]> = [
    ['rsa', ['-newkey', 'rsa:2048'], '365'],
    ['ecdsa', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], '20'],
    ['ed25519', ['-newkey', 'ed25519'], '10'],
  ];
  const ext = file('leaf.ext');
  fs.writeFileSync(ext, 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:node.example.com,IP:10.0.0.1\n');
  for (const [name, keyArgs, days] of leaves) {
    openssl(['req', '-new', '-nodes', ...keyArgs, '-keyout', file(`${name}.key`), '-out', file(`${name}.csr`), '-subj', `/O=bench/CN=${name}`]);
    openssl(['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial', '-days', days, '-extfile', ext, '-out', file(`${name}.crt`)]);
  }
  fs.writeFileSync(file('bundle.crt'), fs.readFileSync(file('ecdsa.crt'), 'utf8') + fs.readFileSync(file('ca.crt'), 'utf8'));
  return {
    files: ['ca.crt', 'rsa.crt', 'ecdsa.crt', 'ed25519.crt', 'bundle.crt', 'ed-ca.crt'].map(file),
    leafTemplates: leaves.map(([name]) => new crypto.X509Certificate(fs.readFileSync(file(`${name}.crt`))).raw),
    caKey: crypto.createPrivateKey(fs.readFileSync(file('ca.key'))),
    keyFile: file('rsa.key'),
  };
}

/** DER header at `offset`: where the content starts and ends. */
function tlvAt(der: Buffer, offset: number): { contentStart: number; end: number } {
  let length = der[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[offset + 2 + i];
    header = 2 + n;
  }
  return { contentStart: offset + header, end: offset + header + length };
}

function tlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const length = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), length, content]);
}

/** A copy of an ECDSA-signed leaf with a new random serial number, signed again by the CA: a distinct certificate. */
function distinctCertificate(template: Buffer, caKey: crypto.KeyObject): string {
  const cert = tlvAt(template, 0);
  const tbsRange = tlvAt(template, cert.contentStart);
  const tbs = Buffer.from(template.subarray(cert.contentStart, tbsRange.end));
  let offset = tlvAt(tbs, 0).contentStart;
  if (tbs[offset] === 0xa0) offset = tlvAt(tbs, offset).end; // version
  const serial = tlvAt(tbs, offset); // INTEGER, same length, new random bytes (positive, minimal)
  crypto.randomFillSync(tbs, serial.contentStart, serial.end - serial.contentStart);
  tbs[serial.contentStart] = (tbs[serial.contentStart] & 0x3f) | 0x10;
  const sigAlg = template.subarray(tbsRange.end, tlvAt(template, tbsRange.end).end);
  const signature = crypto.sign('sha256', tbs, caKey);
  const der = tlv(0x30, Buffer.concat([tbs, sigAlg, tlv(0x03, Buffer.concat([Buffer.from([0]), signature]))]));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END CERTIFICATE-----\n`;
}

/** Runs the CLI, timing it and reading its peak RSS (/usr/bin/time -v, else a preload that reports resourceUsage). */
function measure(args: string[], env: NodeJS.ProcessEnv = process.env, program: string[] = [BIN]): Promise<Measured> {
  const useTime = fs.existsSync('/usr/bin/time');
  const preload = path.join(os.tmpdir(), `bench-check-rss-${process.pid}.js`);
  if (!useTime) {
    fs.writeFileSync(
      preload,
      "process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write(`\\nBENCH_MAX_RSS_KB=${u.maxRSS}\\nBENCH_CPU_US=${u.userCPUTime + u.systemCPUTime}\\n`); });\n",
    );
  }
  const [cmd, cmdArgs] = useTime ? ['/usr/bin/time', ['-v', process.execPath, ...program, ...args]] : [process.execPath, ['--require', preload, ...program, ...args]];
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
      const cpuSeconds = useTime
        ? Number(/User time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN) + Number(/System time \(seconds\): ([\d.]+)/.exec(stderr)?.[1] ?? NaN)
        : Number(/BENCH_CPU_US=(\d+)/.exec(stderr)?.[1] ?? NaN) / 1e6;
      const stdout = Buffer.concat(out).toString('utf8');
      let certificates = -1;
      try {
        certificates = (JSON.parse(stdout) as { certificates: unknown[] }).certificates.length;
      } catch {
        process.stderr.write(`the CLI did not print JSON (exit ${code}); stderr:\n${stderr.slice(0, 2000)}\n`);
      }
      if (!useTime) fs.rmSync(preload, { force: true });
      resolve({ seconds, cpuSeconds, rssMb: kb ? Number(kb) / 1024 : NaN, code: code ?? -1, stdoutBytes: stdout.length, certificates });
    });
  });
}

async function repeat(runs: number, run: () => Promise<Measured>): Promise<Measured[]> {
  const out: Measured[] = [];
  for (let i = 0; i < runs; i++) out.push(await run());
  return out;
}

/** The median of each number over the runs (the upper middle for an even count). */
function median(runs: Measured[]): Measured {
  const mid = <K extends keyof Measured>(key: K): Measured[K] => [...runs].sort((a, b) => (a[key] as number) - (b[key] as number))[Math.floor(runs.length / 2)][key];
  return { seconds: mid('seconds'), cpuSeconds: mid('cpuSeconds'), rssMb: mid('rssMb'), code: mid('code'), stdoutBytes: mid('stdoutBytes'), certificates: mid('certificates') };
}

async function benchFiles(count: number, runs: number): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-check-'));
  try {
    const samples = makeSamples(fs.mkdtempSync(path.join(root, 'samples-')));
    const dirOf = (tree: string, i: number) => path.join(tree, `node-${String(Math.floor(i / 100)).padStart(3, '0')}`);

    // 1. A handful of certificates, copied: the same bytes again and again (each is parsed once).
    const copies = path.join(root, 'copies');
    for (let i = 0; i < count; i++) {
      if (i % 100 === 0) fs.mkdirSync(dirOf(copies, i), { recursive: true });
      fs.copyFileSync(samples.files[i % samples.files.length], path.join(dirOf(copies, i), `cert-${i}.crt`));
    }
    report(`check ${count} files`, median(await repeat(runs, () => measure(['check', copies, '--output', 'json']))));

    // 2. Every file a different certificate (new serial, new signature): every one is parsed.
    const distinct = path.join(root, 'distinct');
    for (let i = 0; i < count; i++) {
      if (i % 100 === 0) fs.mkdirSync(dirOf(distinct, i), { recursive: true });
      const pem = i % 10 === 0 ? fs.readFileSync(samples.files[(i / 10) % samples.files.length], 'utf8') : distinctCertificate(samples.leafTemplates[i % samples.leafTemplates.length], samples.caKey);
      fs.writeFileSync(path.join(dirOf(distinct, i), `cert-${i}.crt`), pem);
    }
    // The floor: walk, read each file and decode it with new X509Certificate, nothing else (same run, same tree, same node).
    const runBare = () => measure([distinct], process.env, ['-e', BARE_LOOP]);
    const runCheck = () => measure(['check', distinct, '--output', 'json']);
    await runBare(); // warm-up, not counted: both then read from the page cache
    await runCheck();
    const bareRuns: Measured[] = [];
    const checkRuns: Measured[] = [];
    for (let i = 0; i < runs; i++) {
      bareRuns.push(await runBare());
      checkRuns.push(await runCheck());
    }
    const bare = median(bareRuns);
    const check = median(checkRuns);
    report(`bare read + new X509Certificate loop, ${count} files`, bare);
    console.log(`  (CPU of each run: ${bareRuns.map((m) => m.cpuSeconds.toFixed(2)).join(', ')} s)`);
    report(`check ${count} files (distinct certificates)`, check);
    console.log(`  (CPU of each run: ${checkRuns.map((m) => m.cpuSeconds.toFixed(2)).join(', ')} s)`);
    console.log(
      `  check / bare: ${(check.seconds / bare.seconds).toFixed(2)}x wall, ${(check.cpuSeconds / bare.cpuSeconds).toFixed(2)}x CPU (medians of ${runs} runs; target: within 1.2x)`,
    );
    console.log(`  (${os.cpus().length} CPUs, node ${process.version}, OpenSSL ${process.versions.openssl})`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

/**
 * The bare loop, run as its own node process like the CLI: readdir (recursive),
 * readFileSync and new X509Certificate per file; prints {"certificates": [...]} with one entry per file.
 */
const BARE_LOOP = `
const fs = require('fs'), path = require('path'), { X509Certificate } = require('crypto');
const out = [];
const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else { new X509Certificate(fs.readFileSync(p)); out.push(0); } } };
walk(process.argv[1]);
process.stdout.write(JSON.stringify({ certificates: out }));
`;

function report(label: string, m: Measured): void {
  console.log(`${label}: ${m.seconds.toFixed(2)} s (CPU ${m.cpuSeconds.toFixed(2)} s), peak RSS ${Math.round(m.rssMb)} MB`);
  console.log(`  (${m.certificates} certificates, ${(m.stdoutBytes / 1024 / 1024).toFixed(1)} MB of JSON, exit ${m.code})`);
}

async function benchSecrets(count: number, testbedDir: string): Promise<void> {
  const api = new KubeClient('testbed-1', path.join(testbedDir, 'clusters', '1'));
  const ns = `bench-check-${Date.now().toString(36)}`;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-check-secrets-'));
  try {
    const samples = makeSamples(dir);
    const key = fs.readFileSync(samples.keyFile).toString('base64');
    await api.create('/api/v1/namespaces', { metadata: { name: ns } });
    const created = process.hrtime.bigint();
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const crt = Buffer.from(distinctCertificate(samples.leafTemplates[i % samples.leafTemplates.length], samples.caKey) + fs.readFileSync(samples.files[0], 'utf8')).toString('base64');
        await api.create(`/api/v1/namespaces/${ns}/secrets`, { metadata: { name: `tls-${i}` }, type: 'kubernetes.io/tls', data: { 'tls.crt': crt, 'tls.key': key } });
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
    await api.request('DELETE', `/api/v1/namespaces/${ns}/secrets`).catch((err: unknown) => console.error(`cleanup: cannot delete the secrets of ${ns}: ${String(err)}`));
    await api.request('DELETE', `/api/v1/namespaces/${ns}`).catch((err: unknown) => console.error(`cleanup: cannot delete namespace ${ns}: ${String(err)}`));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  if (!fs.existsSync(path.join(REPO, 'dist/lib/cli/main.js'))) {
    console.error('dist/lib/cli/main.js is missing: run `npm run build` first');
    process.exit(1);
  }
  await benchFiles(argValue('--files', 10_000), Math.max(1, argValue('--runs', 5)));
  if (process.argv.includes('--no-secrets')) {
    console.log('check --secrets: not run (--no-secrets)');
  } else if (process.env.KUBECONFIG && process.env.TESTBED_DIR) {
    await benchSecrets(argValue('--secrets', 1_000), process.env.TESTBED_DIR);
  } else {
    console.log('check --secrets: not run (needs the test bed: `set -a; . .testbed/env; set +a`)');
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
