// `npm run demo`: a Rancher server certificate rotation on the local test bed,
// with the real app (main.ts), the real `cdktf` CLI and real Terraform.
//   testbed-1  the Rancher server cluster (rancher-local profile: the Rancher chart,
//              installed with Rancher's own certificate, and the Rancher model)
//   testbed-2  an RKE1 downstream cluster whose agents carry CATTLE_CA_CHECKSUM
// At the end the Rancher model says whether every agent passed its start check
// against what Rancher serves.
// The certificates come from `cert-rotation pki`, the rest from the package's
// public API and the test bed's client; nothing here comes from test/.
import { spawnSync } from 'child_process';
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { cattleCaChecksum } from '../../lib';
import { helm, kubectl, kubeGet, loadTestbedEnv, REPO_ROOT, standinNodeSsh, testbedProcessEnv } from '../testbed/client';
import { modelEvents, servedCacerts } from '../testbed/rancher-model/client';

const DIR = path.join(REPO_ROOT, '.testbed', 'demo');
const CDKTF = path.join(REPO_ROOT, 'node_modules', '.bin', 'cdktf');
const CERT_ROTATION = path.join(REPO_ROOT, 'bin', 'cert-rotation.js');

function say(text: string): void {
  process.stdout.write(`\n\x1b[1m== ${text}\x1b[0m\n`);
}

/** Runs a command with its output shown; stops the demo when it fails. */
function show(cmd: string, args: string[], cwd = DIR, extraEnv: NodeJS.ProcessEnv = {}): string {
  process.stdout.write(`$ ${[path.basename(cmd), ...args].join(' ')}\n`);
  const r = spawnSync(cmd, args, { cwd, env: { ...testbedProcessEnv(), CERT_ROTATION_CONFIG: path.join(DIR, 'cert-rotation.yaml'), ...extraEnv }, encoding: 'utf8' });
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

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Waits until the agents of testbed-2 run with the checksum Rancher serves; prints the model's verdict. */
function agentsTrustRancher(since: string): void {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const served = servedCacerts().value;
    const rolled = kubectl(2, ['rollout', 'status', '-n', 'cattle-system', 'deployment/cattle-cluster-agent', '--timeout=1s'], { ok: [0, 1] }).status === 0;
    if (served !== undefined && rolled && agentChecksum(2) === cattleCaChecksum(served)) break;
    if (Date.now() > deadline) throw new Error('the agents on testbed-2 do not run with the checksum Rancher serves after 2 minutes');
    sleep(1000);
  }
  const failed = modelEvents().filter((e) => e.time >= since && e.event === 'agent-start-failed');
  process.stdout.write(`Rancher serves cacerts with checksum ${cattleCaChecksum(servedCacerts().value!)}; the agents on testbed-2 carry it and are Ready.\n`);
  process.stdout.write(failed.length === 0
    ? 'No agent started with a checksum Rancher did not serve.\n'
    : `${failed.length} agent start(s) failed on the way (the kubelet restarted them): ${failed.map((e) => e.message).join('; ')}\n`);
}

/** Synthesizes, plans and prints `cert-rotation explain` of the plan, as a reviewer would see it. */
function explainPlan(engine: string): void {
  show(CDKTF, ['synth']);
  const stackDir = path.join(DIR, 'cdktf.out', 'stacks', 'rancher');
  spawnSync(engine, ['init', '-input=false', '-no-color'], { cwd: stackDir, env: testbedProcessEnv() });
  spawnSync(engine, ['plan', '-input=false', '-no-color', '-out=tfplan'], { cwd: stackDir, env: testbedProcessEnv() });
  const planJson = spawnSync(engine, ['show', '-json', 'tfplan'], { cwd: stackDir, env: testbedProcessEnv(), encoding: 'utf8', maxBuffer: 64 << 20 });
  fs.writeFileSync(path.join(DIR, 'plan.json'), planJson.stdout);
  show('node', [CERT_ROTATION, 'explain', 'plan.json']);
}

/**
 * An RKE2 HA cluster's certificates, rotated from a configuration file with a `nodes:` section: five
 * stand-in nodes over real SSH (node-1..3 servers, node-4..5 agents, scripts/testbed/nodes/README.md),
 * whose rke2/systemctl change the files under each node's root as the real ones do.
 */
function rke2HighAvailability(env: Record<string, string>): void {
  say('8. RKE2 HA from a configuration file: three servers one at a time (each Ready again before the next), then two agents');
  const dir = path.join(DIR, 'rke2');
  fs.mkdirSync(dir, { recursive: true });
  const root = (i: number) => env[`TESTBED_NODE_ROOT_${i}`];
  const nodes: Record<string, unknown> = {};
  for (let i = 1; i <= 5; i++) {
    const ssh = standinNodeSsh(env, i);
    nodes[ssh.name] = {
      address: ssh.host,
      port: ssh.port,
      user: ssh.user,
      privateKeyFile: ssh.privateKeyPath,
      hostKey: ssh.hostKey,
      // The stand-in nodes keep RKE2's files under their own root.
      dataDir: path.join(root(i), 'var/lib/rancher/rke2'),
      kubeconfigPath: path.join(root(i), 'etc/rancher/rke2/rke2.yaml'),
      // The servers' API listeners share this machine's loopback: one port each.
      ...(env[`TESTBED_NODE_API_PORT_${i}`] ? { apiAddress: `127.0.0.1:${env[`TESTBED_NODE_API_PORT_${i}`]}` } : {}),
    };
  }
  const config = path.join(dir, 'cert-rotation.yaml');
  fs.writeFileSync(config, stringify({
    nodes,
    rke2: { servers: ['node-1', 'node-2', 'node-3'], agents: ['node-4', 'node-5'], generation: 1, readinessTimeoutSeconds: 120 },
  }));
  fs.copyFileSync(path.join(DIR, 'cdktf.json'), path.join(dir, 'cdktf.json'));
  process.stdout.write(fs.readFileSync(config, 'utf8').replace(/hostKey: .*/g, 'hostKey: …'));
  const serving = (i: number) => new X509Certificate(fs.readFileSync(path.join(root(i), 'var/lib/rancher/rke2/server/tls/serving-kube-apiserver.crt')));
  const before = [1, 2, 3].map((i) => serving(i).serialNumber);
  const run = (args: string[]) => show(CDKTF, args, dir, { CERT_ROTATION_CONFIG: config, CERT_ROTATION_STACK: 'rke2' });
  run(['deploy', 'rke2', '--auto-approve', '--skip-provider-lock']);
  for (const i of [1, 2, 3]) {
    const now = serving(i);
    if (now.serialNumber === before[i - 1]) throw new Error(`node-${i}: serving-kube-apiserver.crt was not renewed`);
    process.stdout.write(`node-${i}: serving-kube-apiserver.crt renewed, serial ${now.serialNumber.slice(0, 12)}…, valid until ${now.validTo}\n`);
  }
  const second = run(['diff', 'rke2', '--skip-provider-lock']);
  if (!/No changes/.test(second)) throw new Error('the second plan of the RKE2 rotation is not empty');
}

function main(): void {
  const env = loadTestbedEnv();
  const hostname = env.TESTBED_RANCHER_HOSTNAME;
  fs.rmSync(DIR, { recursive: true, force: true });
  fs.mkdirSync(DIR, { recursive: true });

  say('1. A Rancher install on testbed-1 (its own certificate) and an RKE1 downstream cluster on testbed-2');
  process.stdout.write(`https://${hostname}/v3/settings/cacerts serves Rancher's own CA; CATTLE_CA_CHECKSUM on testbed-2: ${agentChecksum(2)}\n`);

  say('2. A private CA (cert-rotation pki) issues the certificate for ' + hostname);
  show('node', [CERT_ROTATION, 'pki', 'ca', '--out', 'pki/root', '--cn', 'Demo Root CA']);
  show('node', [CERT_ROTATION, 'pki', 'ca', '--out', 'pki/intermediate', '--cn', 'Demo Intermediate CA', '--issuer-dir', 'pki/root']);
  show('node', [CERT_ROTATION, 'pki', 'leaf', '--ca-dir', 'pki/intermediate', '--out', 'certs', '--cn', hostname]);
  fs.writeFileSync(path.join(DIR, 'cert-rotation.yaml'), stringify({
    rancher: {
      kubeconfig: env.KUBECONFIG,
      context: 'testbed-1',
      hostname,
      certificate: { certFile: 'certs/tls.crt', keyFile: 'certs/tls.key', caFile: 'pki/intermediate/cacerts.pem' },
      release: { mode: 'external', chart: path.join(REPO_ROOT, 'test/fixtures/charts/rancher'), version: '2.8.5', helmBinary: env.TESTBED_HELM },
      // The test bed's Rancher answers on a local port: the gate connects there (a load balancer's address in real life).
      gate: { connectTo: `127.0.0.1:${env.TESTBED_RANCHER_PORT}`, timeoutSeconds: 180 },
    },
    downstream: [{ name: 'rke1', kubeconfig: env.KUBECONFIG, context: 'testbed-2', distribution: 'rke1', fleetCluster: env.TESTBED_FLEET_CLUSTER_2 }],
  }));
  fs.writeFileSync(path.join(DIR, 'cdktf.json'), JSON.stringify({
    language: 'typescript',
    // The app as cdktf.json runs it: main.ts compiled (dist/main.js, made by npm ci).
    app: `node ${path.join(REPO_ROOT, 'bin', 'cdktf-app.js')}`,
    sendCrashReports: 'false',
  }, null, 2));
  process.stdout.write(fs.readFileSync(path.join(DIR, 'cert-rotation.yaml'), 'utf8'));

  say('3. First deploy on a real install: tls-ca, Helm values (privateCA=true), tls-rancher-ingress taken over from cert-manager, Rancher restarted, the gate, then the agents');
  let since = new Date().toISOString();
  show(CDKTF, ['deploy', 'rancher', '--auto-approve', '--skip-provider-lock']);
  const values = JSON.parse(helm(1, ['get', 'values', 'rancher', '--namespace', 'cattle-system', '-o', 'json']).stdout);
  process.stdout.write(`helm get values rancher: ${JSON.stringify(values)}\n`);
  agentsTrustRancher(since);

  say('4. The certificate is renewed by the same CA; this is what a reviewer sees (no agent, no restart)');
  show('node', [CERT_ROTATION, 'pki', 'leaf', '--ca-dir', 'pki/intermediate', '--out', 'certs', '--cn', hostname, '--force']);
  explainPlan(env.TERRAFORM_BINARY_NAME);

  say('5. Apply the renewal');
  since = new Date().toISOString();
  show(CDKTF, ['deploy', 'rancher', '--auto-approve', '--skip-provider-lock']);
  agentsTrustRancher(since);

  say('6. A new private CA: the plan shows the Rancher restart, then the GATE, then the agents');
  show('node', [CERT_ROTATION, 'pki', 'ca', '--out', 'pki/root2', '--cn', 'Demo Root CA 2']);
  show('node', [CERT_ROTATION, 'pki', 'ca', '--out', 'pki/intermediate2', '--cn', 'Demo Intermediate CA 2', '--issuer-dir', 'pki/root2']);
  show('node', [CERT_ROTATION, 'pki', 'leaf', '--ca-dir', 'pki/intermediate2', '--out', 'certs', '--cn', hostname, '--force']);
  const config = fs.readFileSync(path.join(DIR, 'cert-rotation.yaml'), 'utf8').replace('pki/intermediate/cacerts.pem', 'pki/intermediate2/cacerts.pem');
  fs.writeFileSync(path.join(DIR, 'cert-rotation.yaml'), config);
  explainPlan(env.TERRAFORM_BINARY_NAME);
  since = new Date().toISOString();
  show(CDKTF, ['deploy', 'rancher', '--auto-approve', '--skip-provider-lock']);
  agentsTrustRancher(since);

  say('7. A second plan is empty');
  const second = show(CDKTF, ['diff', 'rancher', '--skip-provider-lock']);
  if (!/No changes/.test(second)) {
    throw new Error('the second plan is not empty');
  }
  rke2HighAvailability(env);

  say(`Done. Files in ${path.relative(REPO_ROOT, DIR)}; the test bed stays up (scripts/testbed/testbed status | down).`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`demo failed: ${(e as Error).message}\n`);
  process.exit(1);
}
