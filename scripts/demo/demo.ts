// `npm run demo`: a Rancher server certificate rotation on the local test bed,
// with the real app (main.ts), the real `cdktf` CLI and real Terraform.
//   testbed-1  the Rancher server cluster (fixture chart installed with Rancher's own certificate)
//   testbed-2, testbed-3  downstream clusters whose agents carry CATTLE_CA_CHECKSUM
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { makePrivateCa, writeRancherFiles } from '../../test/fixtures/rancher-pki';
import { helm, installRancherAgents, installRancherChart, writeConfig } from '../../test/integration/support/rancher-bed';
import { kubeGet, loadTestbedEnv, REPO_ROOT, testbedProcessEnv } from '../../test/integration/support/testbed';

const HOSTNAME = 'rancher.demo.test';
const DIR = path.join(REPO_ROOT, '.testbed', 'demo');
const CDKTF = path.join(REPO_ROOT, 'node_modules', '.bin', 'cdktf');

function say(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

/** Runs a command with its output shown; stops the demo when it fails. */
function show(cmd: string, args: string[], cwd = DIR): string {
  process.stdout.write(`$ ${[path.basename(cmd), ...args].join(' ')}\n`);
  const r = spawnSync(cmd, args, { cwd, env: { ...testbedProcessEnv(), CERT_ROTATION_CONFIG: path.join(DIR, 'cert-rotation.yaml') }, encoding: 'utf8' });
  process.stdout.write(r.stdout);
  process.stderr.write(r.stderr);
  if (r.status !== 0) {
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${r.status}`);
  }
  return r.stdout;
}

function agentChecksum(cluster: number): string {
  const d = kubeGet(cluster, '/apis/apps/v1/namespaces/cattle-system/deployments/cattle-cluster-agent');
  return d.spec.template.spec.containers[0].env.find((e: any) => e.name === 'CATTLE_CA_CHECKSUM').value;
}

function main(): void {
  const env = loadTestbedEnv();
  fs.rmSync(DIR, { recursive: true, force: true });
  fs.mkdirSync(DIR, { recursive: true });

  say('1. Three local clusters that look like Rancher and two downstream clusters');
  for (const c of [1, 2, 3]) installRancherAgents(c, 'installed-with-rancher-self-signed-ca');
  installRancherChart(1, HOSTNAME);
  process.stdout.write(`Rancher chart installed on testbed-1 with ingress.tls.source=rancher; agents on testbed-1..3.\n`);

  say('2. A private CA issues the certificate for ' + HOSTNAME);
  const ca = makePrivateCa('Demo');
  writeRancherFiles(path.join(DIR, 'certs'), ca, HOSTNAME);
  writeConfig(DIR, {
    rancher: {
      kubeconfig: env.KUBECONFIG,
      context: 'testbed-1',
      hostname: HOSTNAME,
      certificate: { certFile: 'certs/tls.crt', keyFile: 'certs/tls.key', caFile: 'certs/cacerts.pem' },
      release: { mode: 'external', chart: path.join(REPO_ROOT, 'test/fixtures/charts/rancher'), version: '2.8.5', helmBinary: env.TESTBED_HELM },
    },
    downstream: [2, 3].map((i) => ({ name: `downstream-${i}`, kubeconfig: env.KUBECONFIG, context: `testbed-${i}` })),
  });
  fs.writeFileSync(path.join(DIR, 'cdktf.json'), JSON.stringify({
    language: 'typescript',
    app: `npx ts-node --transpile-only ${path.join(REPO_ROOT, 'main.ts')}`,
    sendCrashReports: 'false',
  }, null, 2));
  process.stdout.write(fs.readFileSync(path.join(DIR, 'cert-rotation.yaml'), 'utf8'));

  say('3. First deploy: secrets, Helm values (ingress.tls.source=secret, privateCA=true), agents, restarts');
  show(CDKTF, ['deploy', 'rancher', '--auto-approve', '--skip-provider-lock']);
  const values = JSON.parse(helm(1, ['get', 'values', 'rancher', '--namespace', 'cattle-system', '-o', 'json']).stdout);
  process.stdout.write(`helm get values rancher: ${JSON.stringify(values)}\n`);
  process.stdout.write(`CATTLE_CA_CHECKSUM on testbed-2: ${agentChecksum(2)}\n`);

  say('4. The CA is rotated: a new private CA issues a new certificate; this is what a reviewer sees');
  writeRancherFiles(path.join(DIR, 'certs'), makePrivateCa('Demo 2027'), HOSTNAME);
  show(CDKTF, ['synth']);
  const stackDir = path.join(DIR, 'cdktf.out', 'stacks', 'rancher');
  const engine = env.TERRAFORM_BINARY_NAME;
  spawnSync(engine, ['init', '-input=false', '-no-color'], { cwd: stackDir, env: testbedProcessEnv() });
  spawnSync(engine, ['plan', '-input=false', '-no-color', '-out=tfplan'], { cwd: stackDir, env: testbedProcessEnv() });
  const planJson = spawnSync(engine, ['show', '-json', 'tfplan'], { cwd: stackDir, env: testbedProcessEnv(), encoding: 'utf8', maxBuffer: 64 << 20 });
  fs.writeFileSync(path.join(DIR, 'plan.json'), planJson.stdout);
  show('node', [path.join(REPO_ROOT, 'bin', 'cert-rotation.js'), 'explain', 'plan.json']);

  say('5. Apply the rotation');
  show(CDKTF, ['deploy', 'rancher', '--auto-approve', '--skip-provider-lock']);
  process.stdout.write(`CATTLE_CA_CHECKSUM on testbed-2 now: ${agentChecksum(2)}\n`);

  say('6. A second plan is empty');
  const second = show(CDKTF, ['diff', 'rancher', '--skip-provider-lock']);
  if (!/No changes/.test(second)) {
    throw new Error('the second plan is not empty');
  }
  say(`Done. Files in ${path.relative(REPO_ROOT, DIR)}; the test bed stays up (scripts/testbed/testbed status | down).`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`demo failed: ${(e as Error).message}\n`);
  process.exit(1);
}
