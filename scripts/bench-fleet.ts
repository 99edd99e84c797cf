// npm run bench (part): the fleet shapes side by side on the test bed. For 10, 100 and 500
// downstream clusters, a CA rotation (a new private CA each run, so every step really runs)
// synthesized by the compiled app and applied by `cert-rotation fleet deploy` as
//   one          one stack with the server and every downstream cluster (fleet.stacks: one)
//   groups       the server's stack, then a stack per group of --group-size clusters
//   per-cluster  the server's stack, then a stack per downstream cluster
//   by-hand      the same writes as the seed's hand-run commands, one after another in bash:
//                kubectl create secret … --dry-run | kubectl apply (tls-ca, tls-rancher-ingress),
//                helm upgrade --reuse-values --set ingress.tls.source=secret,privateCA=true,
//                rollout restart of Rancher, a curl loop until /v3/settings/cacerts serves the
//                new CA, then per downstream cluster kubectl set env CATTLE_CA_CHECKSUM on its
//                agents and kubectl rollout status (no read-back, no state, no plan)
// and, with --broken, the same again with the first downstream cluster unreachable: how many of
// the other clusters still got the new CA (failure isolation). Prints numbers, asserts nothing.
//
// The downstream clusters share the test bed's API servers (testbed-2 and testbed-3, by name):
// the first cluster of each server patches its agents and waits for their rollout, the others
// find them done; so the numbers are the tool's and Terraform's own cost per cluster.
//
// Needs a test bed with Rancher (rancher-local) and two downstream clusters, e.g.
//   scripts/testbed/testbed up --clusters 3 --nodes 0 --profile rancher-local,rke1,rke2
// Usage: npx ts-node --transpile-only scripts/bench-fleet.ts [--sizes 10,100,500]
//          [--shapes one,groups,per-cluster] [--group-size 25] [--parallelism 4] [--broken | --broken-only]
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { cattleCaChecksum } from '../lib/pki/fingerprint';
import { loadTestbedEnv, testbedProcessEnv } from './testbed/client';

const ROOT = path.join(__dirname, '..');
const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const sizes = opt('--sizes', '10,100,500').split(',').map(Number);
const shapes = opt('--shapes', 'by-hand,one,groups,per-cluster').split(',');
const groupSize = Number(opt('--group-size', '25'));
const parallelism = opt('--parallelism', '4');
const brokenOnly = args.includes('--broken-only');
const broken = brokenOnly || args.includes('--broken');

if (!fs.existsSync(path.join(ROOT, 'dist', 'main.js'))) {
  process.stderr.write('bench-fleet: dist/main.js is missing; run npm run build first\n');
  process.exit(1);
}
const env = loadTestbedEnv();
const server = Number(env.TESTBED_RANCHER_CLUSTER);
if (!server) {
  process.stderr.write('bench-fleet: the test bed has no Rancher; start it with --profile rancher-local,rke1,rke2\n');
  process.exit(1);
}
const downstreamClusters = [1, 2, 3, 4].filter((i) => i !== server && env[`TESTBED_PROFILE_${i}`] && env[`TESTBED_PROFILE_${i}`] !== 'rancher-2.12').slice(0, 2);

const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-fleet-'));
const procEnv: NodeJS.ProcessEnv = { ...testbedProcessEnv(), CHECKPOINT_DISABLE: '1' };
fs.writeFileSync(path.join(work, 'broken.kubeconfig'), stringify({
  apiVersion: 'v1', kind: 'Config',
  clusters: [{ name: 'gone', cluster: { server: 'https://127.0.0.1:1', 'insecure-skip-tls-verify': true } }],
  users: [{ name: 'u', user: { token: 'none' } }],
  contexts: [{ name: 'gone', context: { cluster: 'gone', user: 'u' } }],
  'current-context': 'gone',
}));

let runNo = 0;
const cli = (...a: string[]) => {
  const r = spawnSync(process.execPath, [path.join(ROOT, 'bin/cert-rotation.js'), ...a], { encoding: 'utf8', env: procEnv });
  if (r.status !== 0) throw new Error(`cert-rotation ${a.join(' ')}: ${r.stderr}`);
};

/** A new CA and leaf, and the configuration for `n` downstream clusters in `shape`. */
function writeConfig(dir: string, n: number, shape: string, withBroken: boolean): { file: string; ca: string; certs: string } {
  const ca = path.join(dir, `ca-${++runNo}`);
  const certs = path.join(dir, `certs-${runNo}`);
  cli('pki', 'ca', '--out', ca, '--cn', `Bench CA ${runNo}`);
  cli('pki', 'leaf', '--ca-dir', ca, '--out', certs, '--cn', env.TESTBED_RANCHER_HOSTNAME, '--dns', env.TESTBED_RANCHER_HOSTNAME);
  const file = path.join(dir, 'cert-rotation.yaml');
  fs.writeFileSync(file, stringify({
    rancher: {
      kubeconfig: env.KUBECONFIG,
      context: `testbed-${server}`,
      hostname: env.TESTBED_RANCHER_HOSTNAME,
      certificate: { certFile: path.join(certs, 'tls.crt'), keyFile: path.join(certs, 'tls.key'), caFile: path.join(ca, 'cacerts.pem') },
      release: { mode: 'external', chart: path.join(ROOT, 'test/fixtures/charts/rancher'), version: '2.8.5', helmBinary: env.TESTBED_HELM },
      gate: { connectTo: `127.0.0.1:${env.TESTBED_RANCHER_PORT}`, timeoutSeconds: 300 },
      agentWaitSeconds: 300,
    },
    ...(shape === 'one' ? {} : { fleet: { stacks: shape } }),
    downstream: Array.from({ length: n }, (_, i) => {
      const c = downstreamClusters[i % downstreamClusters.length];
      const gone = withBroken && i === 0;
      return {
        name: `c-${String(i + 1).padStart(4, '0')}`,
        kubeconfig: gone ? path.join(work, 'broken.kubeconfig') : env.KUBECONFIG,
        ...(gone ? {} : { context: `testbed-${c}` }),
        distribution: env[`TESTBED_PROFILE_${c}`] === 'rke1' ? 'rke1' : 'rke2',
        group: `g-${String(Math.floor(i / groupSize) + 1).padStart(3, '0')}`,
      };
    }),
  }));
  return { file, ca, certs };
}

/** The hand-run sequence for the same rotation, as a bash script (see the header). */
function handScript(ca: string, certs: string, n: number): string {
  const k = (c: number) => `"$KUBECTL" --kubeconfig "$KUBECONFIG" --context testbed-${c}`;
  const sum = cattleCaChecksum(fs.readFileSync(path.join(ca, 'cacerts.pem')));
  const host = env.TESTBED_RANCHER_HOSTNAME;
  const lines = [
    'set -euo pipefail',
    `KUBECTL='${env.TESTBED_KUBECTL}'`,
    `${k(server)} -n cattle-system create secret generic tls-ca --from-file=cacerts.pem='${path.join(ca, 'cacerts.pem')}' --dry-run=client -o yaml | ${k(server)} apply -f - >/dev/null`,
    `${k(server)} -n cattle-system create secret tls tls-rancher-ingress --cert='${path.join(certs, 'tls.crt')}' --key='${path.join(certs, 'tls.key')}' --dry-run=client -o yaml | ${k(server)} apply -f - >/dev/null`,
    `'${env.TESTBED_HELM}' upgrade rancher '${path.join(ROOT, 'test/fixtures/charts/rancher')}' --kubeconfig "$KUBECONFIG" --kube-context testbed-${server} -n cattle-system --reuse-values --set ingress.tls.source=secret --set privateCA=true >/dev/null`,
    `${k(server)} -n cattle-system rollout restart deploy/rancher >/dev/null`,
    `${k(server)} -n cattle-system rollout status deploy/rancher --timeout=300s >/dev/null`,
    `timeout 300 bash -c "until curl -sf --cacert '${path.join(ca, 'cacerts.pem')}' --connect-to ${host}:443:127.0.0.1:${env.TESTBED_RANCHER_PORT} https://${host}/v3/settings/cacerts | grep -q value; do sleep 1; done" ` +
      `|| { echo 'by-hand: Rancher did not answer over the new CA within 300 s' >&2; exit 1; }`,
  ];
  for (let i = 0; i < n; i++) {
    const c = downstreamClusters[i % downstreamClusters.length];
    lines.push(`${k(c)} -n cattle-system set env deploy/cattle-cluster-agent CATTLE_CA_CHECKSUM=${sum} >/dev/null`);
    if (env[`TESTBED_PROFILE_${c}`] === 'rke1') lines.push(`${k(c)} -n cattle-system set env ds/cattle-node-agent CATTLE_CA_CHECKSUM=${sum} >/dev/null`);
    lines.push(`${k(c)} -n cattle-system rollout status deploy/cattle-cluster-agent --timeout=300s >/dev/null`);
    if (env[`TESTBED_PROFILE_${c}`] === 'rke1') lines.push(`${k(c)} -n cattle-system rollout status ds/cattle-node-agent --timeout=300s >/dev/null`);
  }
  return lines.join('\n') + '\n';
}

/** Wall and CPU seconds (this process's children included) and peak RSS (MB) of one command, from GNU time. */
function timed(cmd: string[], cwd: string, extraEnv: Record<string, string>, ok: number[]): { seconds: number; cpu: number; mb: number; stdout: string } {
  const r = spawnSync('/usr/bin/time', ['-f', '%e %U %S %M', ...cmd], { cwd, encoding: 'utf8', env: { ...procEnv, ...extraEnv }, maxBuffer: 256 * 1024 * 1024 });
  const last = r.stderr.trim().split('\n').pop() ?? '';
  const [s, user, sys, kb] = last.split(' ').map(Number);
  if (!ok.includes(r.status ?? -1)) throw new Error(`${cmd.join(' ')} failed (exit ${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return { seconds: s, cpu: user + sys, mb: Math.round(kb / 1024), stdout: r.stdout };
}

/** How many working downstream clusters (not the broken c-0001) have their agents' step applied (in state, not tainted), over every stack. */
function clustersDone(out: string): number {
  const done = new Set<string>();
  const walk = (m: any): void => {
    for (const r of m?.resources ?? []) {
      const c = /Downstream-(c-\d+)_AgentCaChecksum/.exec(r.address ?? '');
      if (c && !r.tainted && c[1] !== 'c-0001') done.add(c[1]);
    }
    for (const child of m?.child_modules ?? []) walk(child);
  };
  for (const stack of fs.readdirSync(path.join(out, 'stacks'))) {
    const r = spawnSync(procEnv.TERRAFORM_BINARY_NAME ?? 'terraform', ['show', '-json'], { cwd: path.join(out, 'stacks', stack), encoding: 'utf8', env: procEnv, maxBuffer: 256 * 1024 * 1024 });
    if (r.status === 0 && r.stdout.trim()) walk(JSON.parse(r.stdout).values?.root_module);
  }
  return done.size;
}

console.log(`fleet shapes: CA rotation, synth by the compiled app + cert-rotation fleet deploy --parallelism ${parallelism}; ` +
  `groups of ${groupSize}; ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}`);

// The hand-run sequence is timed from a private CA to the next. On an install still on cert-manager's
// certificate (ingress.tls.source=rancher, as a fresh test bed is), cert-manager re-issues the
// tls-rancher-ingress the sequence writes until the helm upgrade lands, and the sequence never sees the
// new chain; one untimed rotation by the tool (which takes the secret over) moves the install first.
const values = spawnSync(env.TESTBED_HELM, ['get', 'values', 'rancher', '-n', 'cattle-system', '--kube-context', `testbed-${server}`, '-o', 'json'], { encoding: 'utf8', env: procEnv });
const tls = JSON.parse(values.stdout || '{}');
if (shapes.includes('by-hand') && (tls.ingress?.tls?.source !== 'secret' || tls.privateCA !== true)) {
  const dir = fs.mkdtempSync(path.join(work, 'warm-up-'));
  const config = writeConfig(dir, 1, 'one', false).file;
  timed([process.execPath, path.join(ROOT, 'bin/cdktf-app.js')], dir, { CERT_ROTATION_CONFIG: config, CDKTF_OUTDIR: path.join(dir, 'cdktf.out') }, [0]);
  timed([process.execPath, path.join(ROOT, 'bin/cert-rotation.js'), 'fleet', 'deploy', '--out', path.join(dir, 'cdktf.out')], dir, {}, [0]);
  console.log(`  warm-up (untimed): the install was on ingress.tls.source=${tls.ingress?.tls?.source ?? 'rancher'}; one rotation by the tool moved it to a private CA`);
  fs.rmSync(dir, { recursive: true, force: true });
}
for (const n of sizes) {
  for (const shape of shapes) {
    for (const withBroken of brokenOnly ? [true] : broken ? [false, true] : [false]) {
      const dir = fs.mkdtempSync(path.join(work, `${shape}-${n}-`));
      const out = path.join(dir, 'cdktf.out');
      if (shape === 'by-hand') {
        if (withBroken) continue;
        const w = writeConfig(dir, n, 'one', false);
        fs.writeFileSync(path.join(dir, 'by-hand.sh'), handScript(w.ca, w.certs, n));
        const hand = timed(['bash', path.join(dir, 'by-hand.sh')], dir, {}, [0]);
        console.log(`  ${String(n).padStart(3)} clusters, by-hand     : kubectl/helm/curl in bash ${hand.seconds.toFixed(1)} s wall, ${hand.cpu.toFixed(1)} s CPU`);
        fs.rmSync(dir, { recursive: true, force: true });
        continue;
      }
      const config = writeConfig(dir, n, shape, withBroken).file;
      const synth = timed([process.execPath, path.join(ROOT, 'bin/cdktf-app.js')], dir, { CERT_ROTATION_CONFIG: config, CDKTF_OUTDIR: out }, [0]);
      const stacks = fs.readdirSync(path.join(out, 'stacks')).length;
      const deploy = timed([process.execPath, path.join(ROOT, 'bin/cert-rotation.js'), 'fleet', 'deploy', '--out', out, '--parallelism', parallelism], dir, {}, withBroken ? [0, 1] : [0]);
      const label = `${String(n).padStart(3)} clusters, ${shape.padEnd(11)}${withBroken ? ' (1 broken)' : ''}`;
      const isolation = withBroken ? `, ${clustersDone(out)} of ${n - 1} working clusters rotated` : '';
      console.log(`  ${label}: ${stacks} stack(s); synth ${synth.seconds.toFixed(1)} s; deploy ${deploy.seconds.toFixed(1)} s wall, ${deploy.cpu.toFixed(1)} s CPU${isolation}`);
      // A second deploy of the same configuration: what a run costs when everything is done.
      if (!withBroken) {
        const again = timed([process.execPath, path.join(ROOT, 'bin/cert-rotation.js'), 'fleet', 'plan', '--out', out, '--parallelism', parallelism], dir, {}, [0]);
        console.log(`  ${' '.repeat(label.length)}  then fleet plan (nothing to do): ${again.seconds.toFixed(1)} s wall, ${again.cpu.toFixed(1)} s CPU`);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}
fs.rmSync(work, { recursive: true, force: true });
