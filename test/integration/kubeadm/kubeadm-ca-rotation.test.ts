import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import * as tls from 'tls';
import { TerraformStack } from 'cdktf';
import { KubeadmCaPhase, KubeadmCaRotation } from '../../../lib/rotation';
import { expectNoKey, Workspace } from '../support/terraform';
import { loadTestbedEnv, REPO_ROOT, run } from '../../../scripts/testbed/client';

// The manual CA rotation of a kubeadm cluster
// (https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/),
// three phases with real Terraform against the test bed's kubeadm cluster
// (`testbed up --kubeadm`): files laid out by the real kubeadm, the real
// kube-apiserver, kube-controller-manager and kube-scheduler restarted over
// SSH through their static Pod manifests, pods run by kwok.
jest.setTimeout(30 * 60 * 1000);

const env = loadTestbedEnv();
if (!env.TESTBED_KUBEADM_NODE_ROOT) {
  throw new Error('the test bed has no kubeadm cluster: start it with scripts/testbed/testbed up --kubeadm');
}
const root = env.TESTBED_KUBEADM_NODE_ROOT;
const certDir = path.join(root, 'etc/kubernetes/pki');
const kubernetesDir = path.join(root, 'etc/kubernetes');
const nodeName = env.TESTBED_KUBEADM_NODE;
const server = env.TESTBED_KUBEADM_APISERVER;
const cli = path.join(REPO_ROOT, 'bin/cert-rotation.js');

function pki(...args: string[]): void {
  run('node', [cli, 'pki', ...args]);
}

function kubeconfigField(file: string, field: string): string {
  const m = new RegExp(`^\\s*${field}:\\s*(\\S+)`, 'm').exec(fs.readFileSync(file, 'utf8'));
  if (!m) throw new Error(`${file} has no ${field}`);
  return Buffer.from(m[1], 'base64').toString('utf8');
}

function fingerprints(pem: string): string[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).map((b) => new X509Certificate(b).fingerprint256);
}

interface Client {
  cert: string;
  key: string;
}

/**
 * The HTTP status of GET path as this client (the server verified with `ca`).
 * A connection error (the API server just restarted) is retried for 30 s,
 * then thrown with its message.
 */
async function status(client: Client, ca: string, apiPath = '/api/v1/namespaces/default'): Promise<number> {
  for (let i = 0; ; i++) {
    try {
      return await statusOnce(client, ca, apiPath);
    } catch (err) {
      if (i >= 15) throw new Error(`GET ${apiPath} failed 16 times: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
}

function statusOnce(client: Client, ca: string, apiPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.get(`${server}${apiPath}`, { ca, cert: client.cert, key: client.key, servername: 'localhost', timeout: 10_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

/** The certificate the API server presents. */
function servedCertificate(): Promise<X509Certificate> {
  const u = new URL(server);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false, servername: 'localhost' }, () => {
      const raw = s.getPeerCertificate().raw;
      s.end();
      resolve(new X509Certificate(raw));
    });
    s.on('error', reject);
  });
}

function kubectlJson(kubeconfig: string, ...args: string[]): any {
  return JSON.parse(run(env.TESTBED_KUBECTL, ['--kubeconfig', kubeconfig, ...args, '-o', 'json']).stdout);
}

describe('KubeadmCaRotation on a kubeadm control plane', () => {
  const ws = new Workspace('kubeadm-ca');
  const stack = 'kubeadm-ca';
  const pkiDir = path.join(ws.dir, 'new-pki');
  const oldCaFile = path.join(ws.dir, 'old-ca.crt');
  let oldCa: string;
  let newCa: string;
  let both: string;
  let oldClient: Client;
  let newClient: Client;
  const kubeconfigs: Record<'old' | 'new', string> = { old: path.join(ws.dir, 'old.kubeconfig'), new: path.join(ws.dir, 'new.kubeconfig') };

  beforeAll(() => {
    oldCa = fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8');
    fs.writeFileSync(oldCaFile, oldCa);
    // The new CA and leaves, with the names kubeadm gives them
    // (https://kubernetes.io/docs/setup/best-practices/certificates/#all-certificates).
    pki('ca', '--out', pkiDir, '--cn', 'kubernetes-new');
    const apiserver = new X509Certificate(fs.readFileSync(path.join(certDir, 'apiserver.crt')));
    const sans = (apiserver.subjectAltName ?? '').split(', ');
    const dns = sans.filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4));
    const ips = sans.filter((s) => s.startsWith('IP Address:')).map((s) => s.slice(11));
    const leaf = (name: string, ...args: string[]) => pki('leaf', '--ca-dir', pkiDir, '--out', pkiDir, '--name', name, ...args);
    leaf('apiserver', '--server', '--cn', 'kube-apiserver', '--dns', dns.join(','), '--ip', ips.join(','));
    leaf('apiserver-kubelet-client', '--client', '--cn', 'kube-apiserver-kubelet-client', '--org', 'kubeadm:cluster-admins');
    leaf('admin', '--client', '--cn', 'kubernetes-admin', '--org', 'kubeadm:cluster-admins');
    leaf('super-admin', '--client', '--cn', 'kubernetes-super-admin', '--org', 'system:masters');
    leaf('controller-manager', '--client', '--cn', 'system:kube-controller-manager');
    leaf('scheduler', '--client', '--cn', 'system:kube-scheduler');
    leaf(`kubelet-${nodeName}`, '--client', '--cn', `system:node:${nodeName}`, '--org', 'system:nodes');
    newCa = fs.readFileSync(path.join(pkiDir, 'ca.crt'), 'utf8');
    both = oldCa + newCa;
    const superAdmin = env.TESTBED_KUBEADM_KUBECONFIG;
    oldClient = { cert: kubeconfigField(superAdmin, 'client-certificate-data'), key: kubeconfigField(superAdmin, 'client-key-data') };
    newClient = { cert: fs.readFileSync(path.join(pkiDir, 'super-admin.crt'), 'utf8'), key: fs.readFileSync(path.join(pkiDir, 'super-admin.key'), 'utf8') };
    for (const [which, c] of [['old', oldClient], ['new', newClient]] as const) {
      const b64 = (s: string) => Buffer.from(s).toString('base64');
      fs.writeFileSync(
        kubeconfigs[which],
        `apiVersion: v1\nkind: Config\nclusters:\n- name: kubeadm\n  cluster:\n    server: ${server}\n    tls-server-name: localhost\n    certificate-authority-data: ${b64(both)}\n` +
          `users:\n- name: admin\n  user:\n    client-certificate-data: ${b64(c.cert)}\n    client-key-data: ${b64(c.key)}\n` +
          `contexts:\n- name: kubeadm\n  context: {cluster: kubeadm, user: admin}\ncurrent-context: kubeadm\n`,
        { mode: 0o600 },
      );
    }
  });

  afterAll(() => ws.remove());

  function synth(phase: KubeadmCaPhase, kubeconfig: string): void {
    ws.synth((app) => {
      const s = new TerraformStack(app, stack);
      new KubeadmCaRotation(s, 'ca', {
        phase,
        target: { cluster: 'kubeadm', kubeconfig },
        oldCaFile,
        newPkiDir: pkiDir,
        certDir,
        kubernetesDir,
        waitSeconds: 180,
        nodes: [
          {
            name: nodeName,
            host: '127.0.0.1',
            port: Number(env.TESTBED_KUBEADM_SSH_PORT),
            user: 'root',
            privateKeyFile: env.TESTBED_KUBEADM_SSH_KEY,
            hostKey: fs.readFileSync(env.TESTBED_KUBEADM_SSH_HOST_KEY, 'utf8').split(' ').slice(0, 2).join(' '),
          },
        ],
      });
    });
  }

  function podUids(kubeconfig: string): Set<string> {
    const pods = kubectlJson(kubeconfig, 'get', 'pods', '-n', 'kube-system');
    return new Set(pods.items.filter((p: any) => p.metadata.ownerReferences?.length).map((p: any) => p.metadata.uid));
  }

  function expectRootCa(kubeconfig: string, pem: string): void {
    const cms = kubectlJson(kubeconfig, 'get', 'configmaps', '-A', '--field-selector', 'metadata.name=kube-root-ca.crt');
    expect(cms.items.length).toBeGreaterThanOrEqual(4);
    for (const cm of cms.items) expect(fingerprints(cm.data['ca.crt']).sort()).toEqual(fingerprints(pem).sort());
  }

  function expectNoKeys(): void {
    const state = fs.readFileSync(ws.statePath(stack), 'utf8');
    const plan = ws.plan(stack);
    for (const f of fs.readdirSync(pkiDir).filter((f) => f.endsWith('.key'))) {
      const key = fs.readFileSync(path.join(pkiDir, f), 'utf8');
      expectNoKey(ws.synthesizedText(), key, `cdktf.out (${f})`);
      expectNoKey(state, key, `the state (${f})`);
      expectNoKey(plan.raw, key, `the plan (${f})`);
      expectNoKey(ws.logs.join('\n'), key, `the deploy logs (${f})`);
    }
    expect(plan.changes).toEqual([]);
  }

  test('skipping trust-both is refused before anything is written', () => {
    const caBefore = fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8');
    synth('switch', kubeconfigs.old);
    const r = ws.deploy(stack, [1]);
    expect(r.stdout + r.stderr).toContain("phase 'switch' would skip 'trust-both'");
    expect(fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8')).toBe(caBefore);
  });

  test('trust-both: old and new client certificates both reach the API server, every kube-root-ca.crt holds both CAs, pods replaced', async () => {
    const before = podUids(kubeconfigs.old);
    synth('trust-both', kubeconfigs.old);
    ws.deploy(stack);
    expect(await status(oldClient, oldCa)).toBe(200);
    expect(await status(newClient, oldCa)).toBe(200);
    expect(fingerprints(fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8'))).toEqual(fingerprints(both));
    expect(fingerprints(kubeconfigField(path.join(kubernetesDir, 'admin.conf'), 'certificate-authority-data'))).toEqual(fingerprints(both));
    expectRootCa(kubeconfigs.old, both);
    const after = podUids(kubeconfigs.old);
    expect([...before].filter((u) => after.has(u))).toEqual([]);
    expectNoKeys();
  });

  test('switch: the API server presents a certificate from the new CA, the old client certificate still works, pods replaced', async () => {
    const before = podUids(kubeconfigs.new);
    synth('switch', kubeconfigs.new);
    ws.deploy(stack);
    const served = await servedCertificate();
    expect(served.checkIssued(new X509Certificate(newCa))).toBe(true);
    expect(await status(oldClient, newCa)).toBe(200);
    expect(await status(newClient, newCa)).toBe(200);
    expect(new X509Certificate(kubeconfigField(path.join(kubernetesDir, 'admin.conf'), 'client-certificate-data')).checkIssued(new X509Certificate(newCa))).toBe(true);
    const info = kubectlJson(kubeconfigs.new, 'get', 'configmap', '-n', 'kube-public', 'cluster-info');
    expect(fingerprints(Buffer.from(/certificate-authority-data:\s*(\S+)/.exec(info.data.kubeconfig)![1], 'base64').toString())).toEqual(fingerprints(both));
    expectRootCa(kubeconfigs.new, both);
    const after = podUids(kubeconfigs.new);
    expect([...before].filter((u) => after.has(u))).toEqual([]);
    expectNoKeys();
  });

  test('going back to trust-both is refused before anything is written', () => {
    const caBefore = fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8');
    synth('trust-both', kubeconfigs.new);
    const r = ws.deploy(stack, [1]);
    expect(r.stdout + r.stderr).toContain("phase 'trust-both' would go back");
    expect(fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8')).toBe(caBefore);
  });

  test('drop-old: only the new CA works', async () => {
    synth('drop-old', kubeconfigs.new);
    ws.deploy(stack);
    expect(await status(newClient, newCa)).toBe(200);
    expect(await status(oldClient, newCa)).toBe(401);
    expect(fingerprints(fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8'))).toEqual(fingerprints(newCa));
    expect(fs.existsSync(path.join(certDir, 'ca-new.key'))).toBe(false);
    expectRootCa(kubeconfigs.new, newCa);
    expectNoKeys();
  });
});
