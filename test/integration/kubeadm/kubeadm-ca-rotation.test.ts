import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { TerraformStack } from 'cdktf';
import { KubeadmCaPhase, KubeadmCaRotation } from '../../../lib/rotation';
import { expectNoKey, Workspace } from '../support/terraform';
import { REPO_ROOT, run } from '../../../scripts/testbed/client';
import { kubeadmBed, servedCertificate } from '../support/kubeadm-bed';
import { run as runCli } from '../../../lib/cli/main';

// The manual CA rotation of a kubeadm cluster
// (https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/),
// three phases with real Terraform against the test bed's kubeadm cluster
// (`testbed up --kubeadm`): files laid out by the real kubeadm, the real
// kube-apiserver, kube-controller-manager and kube-scheduler restarted over
// SSH through their static Pod manifests, pods run by kwok.
jest.setTimeout(30 * 60 * 1000);

const { env, certDir, kubernetesDir } = kubeadmBed();
const nodeName = env.TESTBED_KUBEADM_NODE;
const worker = env.TESTBED_KUBEADM_WORKER;
const workerRoot = env.TESTBED_KUBEADM_WORKER_ROOT;

/** The worker's kubelet: its clientCAFile, the CA its kubelet.conf trusts, and its current client certificate. */
function workerKubelet(): { clientCa: string; confCa: string; client: X509Certificate } {
  const conf = fs.readFileSync(path.join(workerRoot, 'etc/kubernetes/kubelet.conf'), 'utf8');
  const current = /^\s*client-certificate:\s*(\S+)/m.exec(conf)![1];
  return {
    clientCa: fs.readFileSync(path.join(workerRoot, 'etc/kubernetes/pki/ca.crt'), 'utf8'),
    confCa: Buffer.from(/^\s*certificate-authority-data:\s*(\S+)/m.exec(conf)![1], 'base64').toString(),
    client: new X509Certificate(fs.readFileSync(current)),
  };
}

/** The calls the kubeadm nodes' systemctl recorded (there is no kubelet process: kwok stands in). */
function kubeletRestarts(node: string): number {
  return fs.readFileSync(env.TESTBED_KUBEADM_NODE_CALLS, 'utf8').split('\n').filter((l) => l === `${node}\tsystemctl\trestart kubelet`).length;
}
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

function kubectlJson(kubeconfig: string, ...args: string[]): any {
  return JSON.parse(run(env.TESTBED_KUBECTL, ['--kubeconfig', kubeconfig, ...args, '-o', 'json']).stdout);
}

describe('KubeadmCaRotation on a kubeadm control plane', () => {
  const ws = new Workspace('kubeadm-ca');
  const stack = 'kubeadm-ca';
  const pkiDir = path.join(ws.dir, 'new-pki');
  const oldCaFile = path.join(ws.dir, 'old-ca.crt');
  const fpDir = path.join(ws.dir, 'new-front-proxy-pki');
  const oldFpFile = path.join(ws.dir, 'old-front-proxy-ca.crt');
  let oldFp: string;
  let newFp: string;
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
    // The front-proxy CA moves too, to a CA of its own.
    oldFp = fs.readFileSync(path.join(certDir, 'front-proxy-ca.crt'), 'utf8');
    fs.writeFileSync(oldFpFile, oldFp);
    pki('ca', '--out', fpDir, '--cn', 'front-proxy-ca-new');
    pki('leaf', '--ca-dir', fpDir, '--out', fpDir, '--name', 'front-proxy-client', '--client', '--cn', 'front-proxy-client');
    newFp = fs.readFileSync(path.join(fpDir, 'ca.crt'), 'utf8');
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
    leaf(`kubelet-${worker}`, '--client', '--cn', `system:node:${worker}`, '--org', 'system:nodes');
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
    // Two admission webhooks that are never called (a resource no one has): one whose server has a
    // certificate from the cluster CA (caBundle = the old CA), one with a CA of its own.
    const ownCa = oldFp;
    const webhook = (name: string, ca: string) => ({
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata: { name },
      webhooks: [{
        name: `${name}.cert-rotation.test`,
        clientConfig: { service: { namespace: 'default', name }, caBundle: Buffer.from(ca).toString('base64') },
        rules: [{ apiGroups: ['cert-rotation.test'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['nothings'] }],
        failurePolicy: 'Ignore', sideEffects: 'None', admissionReviewVersions: ['v1'],
      }],
    });
    run(env.TESTBED_KUBECTL, ['--kubeconfig', kubeconfigs.old, 'apply', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [webhook('signed-by-cluster-ca', oldCa), webhook('own-ca', ownCa)] }),
    });
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
        frontProxy: { oldCaFile: oldFpFile, newPkiDir: fpDir },
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
        workers: [
          {
            name: worker,
            host: '127.0.0.1',
            port: Number(env.TESTBED_KUBEADM_WORKER_SSH_PORT),
            privateKeyFile: env.TESTBED_KUBEADM_SSH_KEY,
            hostKey: fs.readFileSync(env.TESTBED_KUBEADM_WORKER_SSH_HOST_KEY, 'utf8').split(' ').slice(0, 2).join(' '),
            certDir: path.join(workerRoot, 'etc/kubernetes/pki'),
            kubernetesDir: path.join(workerRoot, 'etc/kubernetes'),
          },
        ],
      });
    });
  }

  /** `cert-rotation explain` on the plan of the synthesized phase: what a reviewer reads. */
  async function explain(): Promise<string> {
    const planFile = path.join(ws.dir, 'phase-plan.json');
    fs.writeFileSync(planFile, ws.plan(stack).raw);
    let text = '';
    const code = await runCli(['explain', planFile], { stdout: { write: (s: string) => (text += s) }, stderr: { write: () => true } });
    expect(code).toBe(0);
    return text.replace(/\s+/g, ' ');
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
    for (const f of [...fs.readdirSync(pkiDir).map((k) => path.join(pkiDir, k)), ...fs.readdirSync(fpDir).map((k) => path.join(fpDir, k))].filter((k) => k.endsWith('.key'))) {
      const key = fs.readFileSync(f, 'utf8');
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
    const r = ws.apply(stack, [1]);
    expect(r.stdout + r.stderr).toContain("phase 'switch' would skip 'trust-both'");
    expect(fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8')).toBe(caBefore);
  });

  test('trust-both: old and new client certificates both reach the API server, every kube-root-ca.crt holds both CAs, pods replaced', async () => {
    const before = podUids(kubeconfigs.old);
    synth('trust-both', kubeconfigs.old);
    const plan = await explain();
    expect(plan).toContain(`kubeadm CA rotation [kubeadm] phase 'trust-both' on node ${nodeName}: upload ca.crt, ca.key, front-proxy-ca.crt, front-proxy-ca.key (by SHA-256), write ${certDir}/ca.crt, ${certDir}/ca-new.crt, ${certDir}/ca-new.key, ${certDir}/front-proxy-ca.crt, ${certDir}/front-proxy-ca-new.crt, ${certDir}/front-proxy-ca-new.key`);
    expect(plan).toContain('restart kube-apiserver, kube-controller-manager, kube-scheduler, kubelet');
    expect(plan).toContain("next phase: 'switch'");
    expect(plan).toContain("GATE: refuse, before anything is written, unless the cluster finished the phase before 'trust-both'");
    ws.deploy(stack);
    expect(await status(oldClient, oldCa)).toBe(200);
    expect(await status(newClient, oldCa)).toBe(200);
    expect(fingerprints(fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8'))).toEqual(fingerprints(both));
    expect(fingerprints(kubeconfigField(path.join(kubernetesDir, 'admin.conf'), 'certificate-authority-data'))).toEqual(fingerprints(both));
    expectRootCa(kubeconfigs.old, both);
    // The worker's kubelet trusts both (its clientCAFile and kubelet.conf), keeps its client certificate, restarted.
    const w = workerKubelet();
    expect([fingerprints(w.clientCa), fingerprints(w.confCa), w.client.checkIssued(new X509Certificate(oldCa))]).toEqual([fingerprints(both), fingerprints(both), true]);
    expect(kubeletRestarts(worker)).toBe(1);
    // Aggregated API servers read the client CA the API server publishes (from --client-ca-file, at start).
    const auth = kubectlJson(kubeconfigs.old, 'get', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication');
    expect(fingerprints(auth.data['client-ca-file']).sort()).toEqual(fingerprints(both).sort());
    // ... and the front proxy's CA (--requestheader-client-ca-file): old and new front-proxy CA.
    expect(fingerprints(auth.data['requestheader-client-ca-file']).sort()).toEqual(fingerprints(oldFp + newFp).sort());
    // A webhook that trusted the old cluster CA trusts both; one with its own CA is untouched.
    const caBundle = (name: string) => Buffer.from(kubectlJson(kubeconfigs.old, 'get', 'validatingwebhookconfiguration', name).webhooks[0].clientConfig.caBundle, 'base64').toString();
    expect(fingerprints(caBundle('signed-by-cluster-ca'))).toEqual(fingerprints(both));
    expect(fingerprints(caBundle('own-ca'))).toEqual(fingerprints(oldFp));
    const after = podUids(kubeconfigs.old);
    expect([...before].filter((u) => after.has(u))).toEqual([]);
    expectNoKeys();
  });

  test("a node step Terraform recorded as done without the node's mark: its check fails the apply before the phase is recorded, naming the -replace that finishes it", () => {
    const done = path.join(kubernetesDir, 'cert-rotation-state/kubeadm-ca.done');
    const mark = fs.readFileSync(done, 'utf8');
    fs.rmSync(done);
    const steps = JSON.parse(fs.readFileSync(path.join(ws.stackDir(stack), 'cdk.tf.json'), 'utf8')).resource.terraform_data;
    const find = (step: string) => Object.keys(steps).find((k) => steps[k].triggers_replace.step === step && steps[k].triggers_replace.node === nodeName)!;
    const check = find('kubeadm-node-check');
    const node = find('kubeadm-node');
    const r = ws.apply(stack, [1], [`-replace=terraform_data.${check}`]);
    expect(r.stdout + r.stderr).toContain(`phase trust-both did not finish on this node: Terraform recorded its step as done while it still ran, and the apply stopped. Run it again: terraform apply -replace=terraform_data.${node}`);
    // Running the node's step again (what the message says) finishes the phase there and writes the mark again.
    ws.apply(stack, [0], [`-replace=terraform_data.${node}`]);
    expect(fs.readFileSync(done, 'utf8')).toBe(mark); // the digest of the same triggers
    expect(ws.plan(stack).changes).toEqual([]);
  });

  test('switch: the API server presents a certificate from the new CA, the old client certificate still works, pods replaced', async () => {
    const before = podUids(kubeconfigs.new);
    synth('switch', kubeconfigs.new);
    const plan = await explain();
    expect(plan).toMatch(new RegExp(`phase 'switch' on node ${nodeName}: upload [^(]*\\bapiserver\\.crt, apiserver\\.key, [^(]*\\bca\\.key, [^(]*\\(by SHA-256\\)`));
    expect(plan).toContain(`${certDir}/apiserver.crt, ${certDir}/apiserver.key`);
    expect(plan).toContain("next phase: 'drop-old'");
    ws.deploy(stack);
    const served = await servedCertificate(server);
    expect(served.checkIssued(new X509Certificate(newCa))).toBe(true);
    expect(await status(oldClient, newCa)).toBe(200);
    expect(await status(newClient, newCa)).toBe(200);
    expect(new X509Certificate(kubeconfigField(path.join(kubernetesDir, 'admin.conf'), 'client-certificate-data')).checkIssued(new X509Certificate(newCa))).toBe(true);
    expect(new X509Certificate(fs.readFileSync(path.join(certDir, 'front-proxy-client.crt'))).checkIssued(new X509Certificate(newFp))).toBe(true);
    // kubelet.conf names the kubelet's certificate store (kubeadm's kubelet-finalize): its current certificate is the new CA's.
    const kubeletCurrent = /^\s*client-certificate:\s*(\S+)/m.exec(fs.readFileSync(path.join(kubernetesDir, 'kubelet.conf'), 'utf8'))![1];
    expect(path.basename(kubeletCurrent)).toBe('kubelet-client-current.pem');
    const kubeletCert = new X509Certificate(fs.readFileSync(kubeletCurrent));
    expect([kubeletCert.subject.split('\n').sort(), kubeletCert.checkIssued(new X509Certificate(newCa))]).toEqual([[`CN=system:node:${nodeName}`, 'O=system:nodes'], true]);
    const w = workerKubelet();
    expect([w.client.subject.split('\n').sort(), w.client.checkIssued(new X509Certificate(newCa)), fingerprints(w.clientCa)]).toEqual([[`CN=system:node:${worker}`, 'O=system:nodes'], true, fingerprints(both)]);
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
    const r = ws.apply(stack, [1]);
    expect(r.stdout + r.stderr).toContain("phase 'trust-both' would go back");
    expect(fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8')).toBe(caBefore);
  });

  test('drop-old: only the new CA works', async () => {
    synth('drop-old', kubeconfigs.new);
    expect(await explain()).toContain('next phase: none, the rotation is done');
    ws.deploy(stack);
    expect(await status(newClient, newCa)).toBe(200);
    expect(await status(oldClient, newCa)).toBe(401);
    expect(fingerprints(fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8'))).toEqual(fingerprints(newCa));
    expect(fs.existsSync(path.join(certDir, 'ca-new.key'))).toBe(false);
    const w = workerKubelet();
    expect([fingerprints(w.clientCa), fingerprints(w.confCa), w.client.checkIssued(new X509Certificate(newCa))]).toEqual([fingerprints(newCa), fingerprints(newCa), true]);
    expect(fs.readdirSync(path.join(workerRoot, 'etc/kubernetes/pki'))).toEqual(['ca.crt']); // no CA key on a worker
    expect(kubeletRestarts(worker)).toBe(3);
    expect(fingerprints(fs.readFileSync(path.join(certDir, 'front-proxy-ca.crt'), 'utf8'))).toEqual(fingerprints(newFp));
    expect(fs.readFileSync(path.join(certDir, 'front-proxy-ca.key'))).toEqual(fs.readFileSync(path.join(fpDir, 'ca.key')));
    expect(fs.existsSync(path.join(certDir, 'front-proxy-ca-new.key'))).toBe(false);
    const auth = kubectlJson(kubeconfigs.new, 'get', 'configmap', '-n', 'kube-system', 'extension-apiserver-authentication');
    // The API server only adds to this ConfigMap (old CAs leave it when they expire): the phase took them out.
    expect(fingerprints(auth.data['client-ca-file'])).toEqual(fingerprints(newCa));
    expect(fingerprints(auth.data['requestheader-client-ca-file'])).toEqual(fingerprints(newFp));
    expectRootCa(kubeconfigs.new, newCa);
    expectNoKeys();
  });
});
