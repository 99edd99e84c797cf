import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { DataResource, TerraformStack } from 'cdktf';
import { run as runCli } from '../../lib/cli/main';
import { loadServerCertificate, ServerCertificate, sha256Hex } from '../../lib/pki';
import { AgentCaChecksum } from '../../lib/rotation/agent-ca-checksum';
import { RolloutRestart } from '../../lib/rotation/rollout-restart';
import { TlsCertificateSecret } from '../../lib/rotation/tls-certificate-secret';
import { makePrivateCa, PrivateCa, RancherFiles, writeRancherFiles } from '../support/pki';
import { Workspace } from './support/terraform';
import { kubeGet, kubeSend, loadTestbedEnv, REPO_ROOT, run } from '../../scripts/testbed/client';

// GIVEN a small stack of the rotation constructs in its own namespace on two
// test-bed clusters (a Secret, restarts on both, an agent checksum and a
// command), deployed for real, WHEN the certificate is rotated and the real
// plan is explained in-process, THEN the summary names exactly what the plan
// changes: old → new fingerprints, the workloads per cluster, the agent, the
// command, and the replaced command resource.

const STACK = 'explain';
const NS = 'explain-it';
const HOSTNAME = 'explain.example.test';
const SERVER = 1;
const DOWNSTREAM = 2;
const TIMEOUT = 300_000;

/** The Deployments this test creates, per cluster: a workload to restart and an agent to set the checksum on. */
const DEPLOYMENTS: Array<{ cluster: number; name: string; container: string }> = [
  { cluster: SERVER, name: 'explain-web', container: 'web' },
  { cluster: DOWNSTREAM, name: 'explain-web', container: 'web' },
  { cluster: DOWNSTREAM, name: 'explain-agent', container: 'agent' },
];

function exists(cluster: number, apiPath: string): boolean {
  try {
    kubeGet(cluster, apiPath);
    return true;
  } catch {
    return false;
  }
}

/** Namespaces are never deleted: the test bed has no namespace controller. */
function ensureNamespace(cluster: number, name: string): void {
  if (!exists(cluster, `/api/v1/namespaces/${name}`)) {
    kubeSend(cluster, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
}

function deploymentPath(name: string): string {
  return `/apis/apps/v1/namespaces/${NS}/deployments/${name}`;
}

function createDeployment(cluster: number, name: string, container: string): void {
  if (exists(cluster, deploymentPath(name))) kubeSend(cluster, 'DELETE', deploymentPath(name));
  kubeSend(cluster, 'POST', `/apis/apps/v1/namespaces/${NS}/deployments`, {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: container, image: `registry.invalid/${name}:fixture` }] },
      },
    },
  });
}

/** The SHA-256 fingerprint of the first certificate of a PEM file, computed here independently of lib/pki. */
function leafFingerprint(certFile: string): string {
  return new X509Certificate(fs.readFileSync(certFile)).fingerprint256.replace(/:/g, '').toLowerCase();
}

/**
 * Throws when `haystack` holds private parts of the key in `files`: the PEM
 * lines of the key that the certificate does not share (an RSA key file also
 * holds the public modulus, whose base64 lines can coincide with the
 * certificate's), its DER as hex or base64, or a PEM private key header.
 */
function expectNoPrivateKey(haystack: string, files: RancherFiles, where: string): void {
  const publicText = files.chainPem + files.caPem;
  const body = files.keyPem.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----'));
  const privateLines = body.filter((l) => l.length >= 40 && !publicText.includes(l));
  const der = Buffer.from(body.join(''), 'base64');
  const tail = der.subarray(der.length - 200);
  const needles = [...privateLines, tail.toString('hex'), tail.toString('base64').slice(4, -4), 'PRIVATE KEY'];
  expect(privateLines.length).toBeGreaterThan(10);
  for (const needle of needles) {
    if (haystack.includes(needle)) throw new Error(`private key material found in ${where}`);
  }
}

async function explain(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(['explain', ...args], { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

describe('cert-rotation explain on a real plan from the test bed', () => {
  const env = loadTestbedEnv();
  const ws = new Workspace('explain');
  const certDir = path.join(ws.dir, 'certs');
  const keys: RancherFiles[] = [];
  let deployed = false;

  function synthFrom(files: RancherFiles): ServerCertificate {
    keys.push(files);
    const certificate = loadServerCertificate({
      certFile: files.certFile,
      keyFile: files.keyFile,
      caFile: files.caFile,
      hostname: HOSTNAME,
      now: new Date(),
      renewBefore: 0,
    });
    ws.synth((app) => {
      const stack = new TerraformStack(app, STACK);
      const server = { cluster: 'server', kubeconfig: env.KUBECONFIG, context: `testbed-${SERVER}` };
      const downstream = { cluster: 'downstream-2', kubeconfig: env.KUBECONFIG, context: `testbed-${DOWNSTREAM}` };
      const secret = new TlsCertificateSecret(stack, 'tls', { certificate, name: 'explain-tls', namespace: NS, target: server });
      const agent = new AgentCaChecksum(stack, 'agent', {
        checksum: certificate.caBundle?.checksum as string,
        clusterName: 'downstream-2',
        target: downstream,
        agents: [{ kind: 'Deployment', namespace: NS, name: 'explain-agent', container: 'agent' }],
        dependsOn: [secret.resource],
      });
      const trustHash = sha256Hex(`${certificate.leaf.sha256Fingerprint}\n${certificate.caBundle?.checksum}`);
      const web = [{ kind: 'Deployment' as const, namespace: NS, name: 'explain-web' }];
      new RolloutRestart(stack, 'restart-server', { trustHash, workloads: web, target: server, dependsOn: [secret.resource] });
      new RolloutRestart(stack, 'restart-downstream', { trustHash, workloads: web, target: downstream, dependsOn: [agent.resource] });
      new DataResource(stack, 'announce', {
        dependsOn: [secret.resource],
        triggersReplace: { trustHash },
        provisioners: [{ type: 'local-exec', command: `echo rotated explain-tls to ${certificate.leaf.sha256Fingerprint.slice(0, 16)}` }],
      });
    });
    return certificate;
  }

  /** Plans, saves the plan JSON as a file, and checks that no key is in it. */
  function planToFile(name: string): string {
    const plan = ws.plan(STACK);
    for (const key of keys) expectNoPrivateKey(plan.raw, key, 'the plan JSON');
    const file = path.join(ws.dir, `${name}.json`);
    fs.writeFileSync(file, plan.raw);
    return file;
  }

  function deployAndExpectIdempotent(): void {
    ws.deploy(STACK);
    deployed = true;
    expect(ws.plan(STACK).changes).toEqual([]);
  }

  let caA: PrivateCa;
  let firstSha: string;

  beforeAll(() => {
    for (const cluster of [SERVER, DOWNSTREAM]) ensureNamespace(cluster, NS);
    for (const d of DEPLOYMENTS) createDeployment(d.cluster, d.name, d.container);
    caA = makePrivateCa('Explain A');
  }, TIMEOUT);

  afterAll(() => {
    try {
      if (deployed) {
        run(path.join(REPO_ROOT, 'node_modules/.bin/cdktf'), ['destroy', STACK, '--auto-approve', '--skip-provider-lock', '--skip-synth'], { cwd: ws.dir });
      }
    } finally {
      for (const d of DEPLOYMENTS) {
        if (exists(d.cluster, deploymentPath(d.name))) kubeSend(d.cluster, 'DELETE', deploymentPath(d.name));
      }
      ws.remove();
    }
  }, TIMEOUT);

  test('first deploy: explain lists the created certificate, agent, restarts and command; a second plan is empty', async () => {
    const first = writeRancherFiles(certDir, caA, HOSTNAME);
    firstSha = leafFingerprint(first.certFile);
    synthFrom(first);
    const file = planToFile('first');
    const r = await explain([file]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('5 changes: 1 certificate, 1 agent in 1 cluster, 2 workload restarts in 2 clusters, 5 commands; nothing destroyed');
    expect(r.stdout).toContain(`  + Secret ${NS}/explain-tls on server [create]\n`);
    expect(r.stdout).toMatch(new RegExp(`\\n {6}sha256 +${firstSha}\\n`));
    expect(r.stdout).toMatch(/\n  \d\. terraform_data\.announce \[create, after 1\]\n       local-exec on the machine that runs Terraform:\n/);
    deployAndExpectIdempotent();
  }, TIMEOUT);

  test('new leaf from the same CA: old → new fingerprint, both clusters restart, the command re-runs, the agent stays', async () => {
    const second = writeRancherFiles(certDir, caA, HOSTNAME);
    const certificate = synthFrom(second);
    const file = planToFile('new-leaf');
    const r = await explain([file]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const lines = r.stdout.split('\n');
    expect(lines[1]).toBe('4 changes: 1 certificate, 2 workload restarts in 2 clusters, 4 commands; !! 1 destroyed');
    expect(lines).toContain(
      '!! DESTROYS and re-creates a command resource (terraform_data.announce): a change to triggers_replace forces replacement; its commands run again',
    );

    // The fingerprints, computed here from the two certificate files (the second overwrote the first).
    const [oldSha, newSha] = [firstSha, leafFingerprint(second.certFile)];
    expect(oldSha).not.toBe(newSha);
    expect(r.stdout).toContain(`  ~ Secret ${NS}/explain-tls on server [update]\n      sha256        ${oldSha}\n                  → ${newSha}\n`);
    expect(r.stdout).toContain('      issuer        CN=Explain A Intermediate CA (unchanged)\n');

    expect(r.stdout).toContain(
      'Workloads that will restart (2 in 2 clusters)\n' +
        '  server: 1\n    Deployment explain-it/explain-web\n' +
        '  downstream-2: 1\n    Deployment explain-it/explain-web\n',
    );
    expect(r.stdout).not.toContain('Agents whose CA checksum changes');
    expect(r.stdout).toMatch(
      new RegExp(
        `\\n  \\d\\. terraform_data\\.announce \\[replace, after 1\\]\\n       local-exec on the machine that runs Terraform:\\n` +
          ` {9}\\$ echo rotated explain-tls to ${certificate.leaf.sha256Fingerprint.slice(0, 16)}\\n`,
      ),
    );
    deployAndExpectIdempotent();
  }, TIMEOUT);

  test('new CA: the markdown comment shows the agent checksum old → new on downstream_2 and the warning block', async () => {
    const before = kubeGet(DOWNSTREAM, deploymentPath('explain-agent')).spec.template.spec.containers[0].env[0].value;
    const third = writeRancherFiles(certDir, makePrivateCa('Explain B'), HOSTNAME);
    const certificate = synthFrom(third);
    const file = planToFile('new-ca');
    const r = await explain([file, '--format', 'markdown']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('**update** Secret `explain-it/explain-tls` on `server`');
    expect(r.stdout).toContain('| issuer | `CN=Explain A Intermediate CA` | `CN=Explain B Intermediate CA` |');
    expect(r.stdout).toContain(
      `| \`downstream-2\` | Deployment \`explain-it/explain-agent\` | \`agent\` | \`${before}\` | \`${certificate.caBundle?.checksum}\` |`,
    );
    expect(r.stdout).toContain('> [!WARNING]\n> **This plan destroys 1 resource.**\n');
    deployAndExpectIdempotent();
    expect(kubeGet(DOWNSTREAM, deploymentPath('explain-agent')).spec.template.spec.containers[0].env[0].value).toBe(certificate.caBundle?.checksum);
  }, TIMEOUT);
});
