// npm run bench (part): how long the app takes to synthesize a Rancher rotation with
// 1, 10, 100 and 500 downstream clusters, and its peak memory. Prints numbers, asserts nothing.
//   app (compiled)  node bin/cdktf-app.js, which runs dist/main.js (cdktf.json's app)
//   app (ts-node)   npx ts-node --transpile-only main.ts (compiling the TypeScript at every synth)
//   fleet synth     `cert-rotation fleet synth`: the app of cdktf.json without the cdktf CLI
//   cdktf synth     the CLI around the compiled app, as `npx cdktf synth` runs it
// Usage: npx ts-node --transpile-only scripts/bench-synth.ts [--sizes 1,10,100,500] [--runs N] [--no-cli]
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';

const ROOT = path.join(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const sizes = opt('--sizes', '1,10,100,500').split(',').map(Number);
const runs = Number(opt('--runs', '3'));
const withCli = !args.includes('--no-cli');

if (!fs.existsSync(path.join(ROOT, 'dist', 'main.js'))) {
  process.stderr.write('bench-synth: dist/main.js is missing; run npm run build first\n');
  process.exit(1);
}

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-synth-'));
const cli = (...a: string[]) => spawnSync(process.execPath, [path.join(ROOT, 'bin/cert-rotation.js'), ...a], { encoding: 'utf8' });
cli('pki', 'ca', '--out', path.join(work, 'ca'), '--cn', 'Bench CA');
cli('pki', 'leaf', '--ca-dir', path.join(work, 'ca'), '--out', path.join(work, 'certs'), '--cn', 'rancher.example.com');
fs.writeFileSync(path.join(work, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');

function writeConfig(n: number): string {
  const file = path.join(work, `cert-rotation-${n}.yaml`);
  fs.writeFileSync(file, stringify({
    rancher: {
      kubeconfig: 'kubeconfig',
      hostname: 'rancher.example.com',
      certificate: { certFile: 'certs/tls.crt', keyFile: 'certs/tls.key', caFile: 'ca/cacerts.pem' },
      release: { mode: 'external', chart: 'rancher-stable/rancher', version: '2.8.5' },
    },
    downstream: Array.from({ length: n }, (_, i) => ({
      name: `cluster-${i + 1}`, kubeconfig: 'kubeconfig', context: `cluster-${i + 1}`, distribution: 'rke2', fleetCluster: `c-${i + 1}`,
    })),
  }));
  return file;
}

/** Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one run, from GNU time. */
function measure(cmd: string[], config: string, outdir: string): { seconds: number; cpu: number; mb: number } {
  fs.rmSync(outdir, { recursive: true, force: true });
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...cmd], {
    cwd: ROOT, encoding: 'utf8',
    env: { ...process.env, CERT_ROTATION_CONFIG: config, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' },
  });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [s, user, sys, kb] = last.split(' ').map(Number);
  if (r.status !== 0 || !fs.existsSync(path.join(outdir, 'stacks', 'rancher', 'cdk.tf.json'))) {
    throw new Error(`${cmd.join(' ')} failed (exit ${r.status}):\n${r.stdout}\n${r.stderr}`);
  }
  return { seconds: s, cpu: user + sys, mb: Math.round(kb / 1024) };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const shapes: [string, string[]][] = [
  ['app (compiled)', [process.execPath, 'bin/cdktf-app.js']],
  ['app (ts-node)', ['npx', 'ts-node', '--transpile-only', 'main.ts']],
  // What users run for a fast synth: the same app through `cert-rotation fleet synth` (no cdktf CLI).
  ['fleet synth', [process.execPath, 'bin/cert-rotation.js', 'fleet', 'synth', '--out', path.join(work, 'fleet-out')]],
  ...(withCli ? [['cdktf synth', ['npx', 'cdktf', 'synth', '--output', path.join(work, 'cli-out')]] as [string, string[]]] : []),
];
console.log(`synth of the Rancher stack, medians of ${runs} runs (${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}):`);
for (const n of sizes) {
  const config = writeConfig(n);
  const cells = shapes.map(([label, cmd]) => {
    const out = label === 'cdktf synth' ? path.join(work, 'cli-out') : label === 'fleet synth' ? path.join(work, 'fleet-out') : path.join(work, 'out');
    const results = Array.from({ length: runs }, () => measure(cmd, config, out));
    return `${label} ${median(results.map((r) => r.seconds)).toFixed(2)} s (CPU ${median(results.map((r) => r.cpu)).toFixed(2)} s) ${median(results.map((r) => r.mb))} MB`;
  });
  console.log(`  ${String(n).padStart(3)} downstream: ${cells.join(' | ')}`);
}
fs.rmSync(work, { recursive: true, force: true });
