/**
 * `cert-rotation check --preset kubeadm` sees everything `kubeadm certs
 * check-expiration` sees, on a tree the real kubeadm (TESTBED_KUBEADM, built
 * by the test bed) wrote: `kubeadm init phase certs all` and `kubeadm init
 * phase kubeconfig all`, with a kubeadm config giving the certificates and
 * the CAs validity periods of their own.
 *
 * kubeadm reads the kubeconfig files from /etc/kubernetes only
 * (cmd/kubeadm/app/constants: KubernetesDir), whatever the config says. The
 * test runs it in a private mount namespace (`unshare --mount`, we are root)
 * where the tree is bind-mounted onto /etc/kubernetes; when the machine has no
 * /etc/kubernetes to mount onto, /etc is first covered by an overlay whose
 * upper layer lives in the test's temporary directory, so the machine's own
 * /etc is never written.
 *
 * @see https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/#check-certificate-expiration
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { run } from '../../lib/cli/main';
import { loadTestbedEnv } from '../../scripts/testbed/client';
import { CheckRow as Row, parseKubeadm, pkiFile } from './support/kubeadm-expiration';

let work: string;
let tree: string;
let config: string;
let kubeadm: string;

beforeAll(() => {
  const env = loadTestbedEnv();
  kubeadm = env.TESTBED_KUBEADM;
  if (!kubeadm || !fs.existsSync(kubeadm)) {
    throw new Error(`TESTBED_KUBEADM (${kubeadm}) is not in the test bed env or does not exist: start the test bed (scripts/testbed/testbed up)`);
  }
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'check-parity-'));
  tree = path.join(work, 'node');
  fs.mkdirSync(path.join(tree, 'etc/kubernetes/pki'), { recursive: true });
  config = path.join(work, 'kubeadm.yaml');
  fs.writeFileSync(
    config,
    `apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
localAPIEndpoint:
  advertiseAddress: 10.0.0.10
  bindPort: 6443
nodeRegistration:
  name: cp-1
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: parity
certificatesDir: ${path.join(tree, 'etc/kubernetes/pki')}
controlPlaneEndpoint: 10.0.0.10:6443
certificateValidityPeriod: 2000h
caCertificateValidityPeriod: 43800h
`,
  );
  execFileSync(kubeadm, ['init', 'phase', 'certs', 'all', '--config', config], { stdio: 'pipe' });
  execFileSync(kubeadm, ['init', 'phase', 'kubeconfig', 'all', '--config', config, '--kubeconfig-dir', path.join(tree, 'etc/kubernetes')], { stdio: 'pipe' });
}, 120_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

/** `kubeadm certs check-expiration --config` with the tree mounted on /etc/kubernetes in a private mount namespace. */
function kubeadmCheckExpiration(): string {
  const overlay = path.join(work, 'etc-overlay');
  fs.mkdirSync(path.join(overlay, 'upper'), { recursive: true });
  fs.mkdirSync(path.join(overlay, 'work'), { recursive: true });
  const script = [
    'set -e',
    'if [ ! -d /etc/kubernetes ]; then',
    '  mount -t overlay overlay -o "lowerdir=/etc,upperdir=$OVERLAY/upper,workdir=$OVERLAY/work" /etc',
    '  mkdir /etc/kubernetes',
    'fi',
    'mount --bind "$TREE/etc/kubernetes" /etc/kubernetes',
    'exec "$KUBEADM" certs check-expiration --config "$CONFIG"',
  ].join('\n');
  const r = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
    env: { ...process.env, OVERLAY: overlay, TREE: tree, KUBEADM: kubeadm, CONFIG: config },
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    throw new Error(`unshare + kubeadm certs check-expiration failed (exit ${r.status}${r.error ? `, ${r.error.message}` : ''}):\n${r.stdout}\n${r.stderr}`);
  }
  return r.stdout;
}

async function check(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['check', ...argv], { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

describe('check --preset kubeadm against kubeadm certs check-expiration', () => {
  test('every certificate kubeadm lists is reported, with the same expiry to the minute and the same CA', async () => {
    const kube = parseKubeadm(kubeadmCheckExpiration());
    // What the real kubeadm made: 5 kubeconfigs, 7 PKI certificates, 3 CAs.
    expect(kube.certificates.map((c) => c.name).sort()).toEqual([
      'admin.conf',
      'apiserver',
      'apiserver-etcd-client',
      'apiserver-kubelet-client',
      'controller-manager.conf',
      'etcd-healthcheck-client',
      'etcd-peer',
      'etcd-server',
      'front-proxy-client',
      'scheduler.conf',
      'super-admin.conf',
    ]);
    expect(kube.authorities.map((c) => c.name).sort()).toEqual(['ca', 'etcd-ca', 'front-proxy-ca']);

    const r = await check('--preset', 'kubeadm', '--root', tree, '--output', 'json');
    const report = JSON.parse(r.stdout) as { certificates: Row[]; invalid: unknown[]; errors: unknown[]; exitCode: number };
    expect(report.errors).toEqual([]);
    expect(report.invalid).toEqual([]);
    expect(r.code).toBe(0);
    const pkiSource = `file:${path.join(tree, 'etc/kubernetes/pki')}`;
    const confSource = `file:${path.join(tree, 'etc/kubernetes')}`;
    const rows = report.certificates;
    const caRow = (kubeadmCa: string) => rows.find((c) => c.source === pkiSource && c.name === `${pkiFile(kubeadmCa)}#1`);

    for (const k of kube.authorities) {
      const ours = caRow(k.name);
      expect({ name: k.name, row: ours?.name, isCA: ours?.isCA, expires: ours?.notAfter.slice(0, 16) }).toEqual({
        name: k.name,
        row: `${pkiFile(k.name)}#1`,
        isCA: true,
        expires: k.expires,
      });
    }
    for (const k of kube.certificates) {
      const ours = k.name.endsWith('.conf')
        ? rows.find((c) => c.source === confSource && c.name.startsWith(`${k.name}:users/`) && c.name.endsWith(':client-certificate-data#1'))
        : rows.find((c) => c.source === pkiSource && c.name === `${pkiFile(k.name)}#1`);
      expect({ name: k.name, found: ours !== undefined, isCA: ours?.isCA, expires: ours?.notAfter.slice(0, 16), ca: ours?.signedBy }).toEqual({
        name: k.name,
        found: true,
        isCA: false,
        expires: k.expires,
        ca: { name: `${pkiFile(k.authority!)}#1`, source: pkiSource },
      });
    }
    // The config's validity periods, so the comparison is not of one shared date: 2000 h for leaves, 5 years for CAs.
    expect(kube.certificates[0].expires).not.toBe(kube.authorities[0].expires);
  });

  test('the table groups the CAs apart, as kubeadm does, with STATUS and the signing CA', async () => {
    const r = await check('--preset', 'kubeadm', '--root', tree);
    expect(r.code).toBe(0);
    const [leaves, cas] = r.stdout.split('\n\n');
    expect(leaves.split('\n')[0].split(/ {2,}/)).toEqual(['NAME', 'SOURCE', 'SUBJECT', 'NOT AFTER', 'DAYS LEFT', 'STATUS', 'CERTIFICATE AUTHORITY', 'KEY TYPE']);
    expect(cas.split('\n')[0].split(/ {2,}/)).toEqual(['CERTIFICATE AUTHORITY', 'SOURCE', 'SUBJECT', 'NOT AFTER', 'DAYS LEFT', 'STATUS', 'SIGNED BY', 'KEY TYPE']);
    const caNames = cas.split('\n').slice(1).map((l) => l.split(/ {2,}/)[0]);
    expect(caNames).toEqual(expect.arrayContaining(['ca.crt#1', 'etcd/ca.crt#1', 'front-proxy-ca.crt#1']));
    const apiserver = leaves.split('\n').find((l) => l.startsWith('apiserver.crt#1 '))!.split(/ {2,}/);
    expect(apiserver[5]).toBe('ok');
    expect(apiserver[6]).toBe('ca.crt#1');
  });

  test('a truncated certificate in the tree is a finding (exit 2), listed in the table, not a tool error', async () => {
    const corrupt = path.join(work, 'corrupt');
    fs.cpSync(tree, corrupt, { recursive: true });
    const crt = path.join(corrupt, 'etc/kubernetes/pki/apiserver.crt');
    const pem = fs.readFileSync(crt, 'utf8');
    fs.writeFileSync(crt, pem.slice(0, Math.floor(pem.length / 2)));
    const json = await check('--preset', 'kubeadm', '--root', corrupt, '--output', 'json');
    expect(json.code).toBe(2);
    const report = JSON.parse(json.stdout) as { status: string; invalid: Array<{ name: string; status: string; file: string }>; errors: unknown[] };
    expect(report.errors).toEqual([]);
    expect(report.status).toBe('crit');
    expect(report.invalid.map((i) => [i.name, i.status, i.file])).toEqual([['apiserver.crt', 'invalid', crt]]);
    const table = await check('--preset', 'kubeadm', '--root', corrupt);
    expect(table.code).toBe(2);
    expect(table.stdout.split('\n')[1].split(/ {2,}/).slice(0, 2)).toEqual(['apiserver.crt', `file:${path.join(corrupt, 'etc/kubernetes/pki')}`]);
    expect(table.stderr).toContain(`invalid: ${crt}: `);
  });
});
