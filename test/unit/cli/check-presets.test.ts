/**
 * Each preset on a node tree laid out with its distribution's own file names
 * (made with the real openssl CLI), read with `--root`:
 *
 * - kubeadm: /etc/kubernetes/{admin,super-admin,controller-manager,scheduler}.conf
 *   embed their client certificates; kubelet.conf references
 *   /var/lib/kubelet/pki/kubelet-client-current.pem, an absolute link to the
 *   newest kubelet-client-<time>.pem (older ones stay behind); kubelet.crt is
 *   the kubelet's self-signed serving certificate.
 *   (cmd/kubeadm/app/constants, k8s.io/client-go/util/certificate/certificate_store.go)
 * - RKE2 and K3s: server/tls, server/cred/*.kubeconfig and agent/*.kubeconfig
 *   written from k3s's kubeconfig template (absolute certificate-authority,
 *   client-certificate paths), /etc/rancher/<p>/<p>.yaml embedding the admin
 *   certificate (k3s-io/k3s pkg/daemons/control/deps/deps.go, pkg/agent/config/config.go).
 * - RKE: /etc/kubernetes/ssl/kube-*.pem and kubecfg-<component>.yaml referencing
 *   them (rancher/rke pki/util.go, pki/kubeconfig.go).
 */
import * as fs from 'fs';
import * as path from 'path';
import { OpensslFixtures, OpensslIssued, put, removeDir, tempDir } from '../../support/pki';
import { CliResult, report, runCli } from './support/run-cli';
import { NOW } from './support/trees';

let root: string;
let f: OpensslFixtures;
const b64 = (file: string) => fs.readFileSync(file).toString('base64');
const pem = (file: string) => fs.readFileSync(file, 'utf8');

/** kubeconfig with embedded data, as kubeadm and RKE2's <p>.yaml write it. */
function embeddedKubeconfig(cluster: string, user: string, ca: OpensslIssued, client: OpensslIssued): string {
  return `apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: ${b64(ca.cert)}
    server: https://10.0.0.10:6443
  name: ${cluster}
contexts:
- context:
    cluster: ${cluster}
    user: ${user}
  name: ${user}@${cluster}
current-context: ${user}@${cluster}
kind: Config
users:
- name: ${user}
  user:
    client-certificate-data: ${b64(client.cert)}
    client-key-data: ${b64(client.key)}
`;
}

/** k3s's kubeconfigTemplate (pkg/daemons/control/deps/deps.go): absolute references. */
function k3sKubeconfig(caPath: string, certPath: string, keyPath: string): string {
  return `apiVersion: v1
clusters:
- cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ${caPath}
  name: local
contexts:
- context:
    cluster: local
    namespace: default
    user: user
  name: Default
current-context: Default
kind: Config
preferences: {}
users:
- name: user
  user:
    client-certificate: ${certPath}
    client-key: ${keyPath}
`;
}

/** A server node of RKE2 or K3s below `<root>/<program>`; returns its root. */
function rancherNode(program: 'rke2' | 'k3s'): string {
  const node = path.join(root, program);
  const data = `/var/lib/rancher/${program}`;
  const at = (p: string) => path.join(node, p);
  const serverCa = f.ca({ subject: `/CN=${program}-server-ca@1708499173`, keyType: 'ec-p256', notBeforeDays: -400, notAfterDays: 3650 });
  const clientCa = f.ca({ subject: `/CN=${program}-client-ca@1708499173`, keyType: 'ec-p256', notBeforeDays: -400, notAfterDays: 3651 });
  const leaf = (ca: OpensslIssued, subject: string, days: number, usage: 'client' | 'server' = 'client') =>
    f.leaf(ca, { subject, keyType: 'ec-p256', usage, notAfterDays: days });
  const tls = `${data}/server/tls`;
  put(at(`${tls}/server-ca.crt`), pem(serverCa.cert));
  put(at(`${tls}/server-ca.key`), pem(serverCa.key));
  put(at(`${tls}/client-ca.crt`), pem(clientCa.cert));
  const admin = leaf(clientCa, '/O=system:masters/CN=system:admin', 40);
  put(at(`${tls}/client-admin.crt`), pem(admin.cert) + pem(clientCa.cert));
  put(at(`${tls}/client-admin.key`), pem(admin.key));
  put(at(`${tls}/client-controller.crt`), pem(leaf(clientCa, '/CN=system:kube-controller-manager', 364).cert));
  put(at(`${tls}/serving-kube-apiserver.crt`), pem(leaf(serverCa, '/CN=kube-apiserver', 364, 'server').cert));
  put(at(`${data}/server/cred/admin.kubeconfig`), k3sKubeconfig(`${tls}/server-ca.crt`, `${tls}/client-admin.crt`, `${tls}/client-admin.key`));
  put(at(`${data}/server/cred/controller.kubeconfig`), k3sKubeconfig(`${tls}/server-ca.crt`, `${tls}/client-controller.crt`, `${tls}/client-controller.key`));
  put(at(`${data}/server/cred/passwd`), 'not a certificate\n');
  put(at(`/etc/rancher/${program}/${program}.yaml`), embeddedKubeconfig('default', 'default', serverCa, admin));
  put(at(`/etc/rancher/${program}/config.yaml`), 'token: secret\n');
  const agent = `${data}/agent`;
  put(at(`${agent}/client-ca.crt`), pem(clientCa.cert));
  put(at(`${agent}/server-ca.crt`), pem(serverCa.cert));
  put(at(`${agent}/client-kubelet.crt`), pem(leaf(clientCa, '/O=system:nodes/CN=system:node:server-1', 364).cert));
  put(at(`${agent}/serving-kubelet.crt`), pem(leaf(serverCa, '/CN=server-1', 364, 'server').cert));
  put(at(`${agent}/client-kube-proxy.crt`), pem(leaf(clientCa, '/CN=system:kube-proxy', 364).cert));
  put(at(`${agent}/client-${program}-controller.crt`), pem(leaf(clientCa, `/CN=system:${program}-controller`, 364).cert));
  put(at(`${agent}/kubelet.kubeconfig`), k3sKubeconfig(`${agent}/server-ca.crt`, `${agent}/client-kubelet.crt`, `${agent}/client-kubelet.key`));
  put(at(`${agent}/kubeproxy.kubeconfig`), k3sKubeconfig(`${agent}/server-ca.crt`, `${agent}/client-kube-proxy.crt`, `${agent}/client-kube-proxy.key`));
  put(at(`${agent}/${program}controller.kubeconfig`), k3sKubeconfig(`${agent}/server-ca.crt`, `${agent}/client-${program}-controller.crt`, `${agent}/client-${program}-controller.key`));
  put(at(`${agent}/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs/etc/ssl/old.crt`), pem(f.leaf(serverCa, { subject: '/CN=old', keyType: 'ec-p256', notBeforeDays: -400, notAfterDays: -1 }).cert));
  return node;
}

let kubeadmRoot: string;
let rke2Root: string;
let k3sRoot: string;
let rkeRoot: string;

beforeAll(() => {
  root = tempDir('cert-rotation-presets-');
  f = new OpensslFixtures(path.join(root, 'work'), new Date(NOW));

  // kubeadm
  kubeadmRoot = path.join(root, 'kubeadm');
  const k = (p: string) => path.join(kubeadmRoot, p);
  const ca = f.ca({ subject: '/CN=kubernetes', keyType: 'rsa', notBeforeDays: -100, notAfterDays: 3650 });
  const frontCa = f.ca({ subject: '/CN=front-proxy-ca', keyType: 'rsa', notBeforeDays: -100, notAfterDays: 3650 });
  const etcdCa = f.ca({ subject: '/CN=etcd-ca', keyType: 'rsa', notBeforeDays: -100, notAfterDays: 3650 });
  put(k('etc/kubernetes/pki/ca.crt'), pem(ca.cert));
  put(k('etc/kubernetes/pki/ca.key'), pem(ca.key));
  put(k('etc/kubernetes/pki/front-proxy-ca.crt'), pem(frontCa.cert));
  put(k('etc/kubernetes/pki/etcd/ca.crt'), pem(etcdCa.cert));
  put(k('etc/kubernetes/pki/apiserver.crt'), pem(f.leaf(ca, { subject: '/CN=kube-apiserver', keyType: 'rsa', notAfterDays: 265 }).cert));
  put(k('etc/kubernetes/pki/front-proxy-client.crt'), pem(f.leaf(frontCa, { subject: '/CN=front-proxy-client', keyType: 'rsa', usage: 'client', notAfterDays: 265 }).cert));
  put(k('etc/kubernetes/pki/etcd/server.crt'), pem(f.leaf(etcdCa, { subject: '/CN=cp-1', keyType: 'rsa', notAfterDays: 265 }).cert));
  const conf = (name: string, user: string, subject: string, days: number) =>
    put(k(`etc/kubernetes/${name}`), embeddedKubeconfig('kubernetes', user, ca, f.leaf(ca, { subject, keyType: 'rsa', usage: 'client', notAfterDays: days })));
  conf('admin.conf', 'kubernetes-admin', '/O=kubeadm:cluster-admins/CN=kubernetes-admin', 20);
  conf('super-admin.conf', 'kubernetes-super-admin', '/O=system:masters/CN=kubernetes-super-admin', 265);
  conf('controller-manager.conf', 'system:kube-controller-manager', '/CN=system:kube-controller-manager', 265);
  conf('scheduler.conf', 'system:kube-scheduler', '/CN=system:kube-scheduler', 265);
  put(
    k('etc/kubernetes/kubelet.conf'),
    embeddedKubeconfig('kubernetes', 'default-auth', ca, f.leaf(ca, { subject: '/CN=unused', keyType: 'rsa', usage: 'client', notAfterDays: 1 }))
      .replace(/client-certificate-data: .*/, 'client-certificate: /var/lib/kubelet/pki/kubelet-client-current.pem')
      .replace(/client-key-data: .*/, 'client-key: /var/lib/kubelet/pki/kubelet-client-current.pem'),
  );
  put(k('etc/kubernetes/manifests/kube-apiserver.yaml'), 'apiVersion: v1\nkind: Pod\n');
  const oldKubelet = f.leaf(ca, { subject: '/O=system:nodes/CN=system:node:cp-1', keyType: 'ec-p256', usage: 'client', notBeforeDays: -400, notAfterDays: -35 });
  const newKubelet = f.leaf(ca, { subject: '/O=system:nodes/CN=system:node:cp-1', keyType: 'ec-p256', usage: 'client', notAfterDays: 330 });
  put(k('var/lib/kubelet/pki/kubelet-client-2030-02-04-00-00-00.pem'), pem(oldKubelet.cert) + pem(oldKubelet.key));
  put(k('var/lib/kubelet/pki/kubelet-client-2031-01-30-00-00-00.pem'), pem(newKubelet.cert) + pem(newKubelet.key));
  // As the kubelet makes it: an absolute link (certificate_store.go updateSymlink uses filepath.Abs).
  fs.symlinkSync('/var/lib/kubelet/pki/kubelet-client-2031-01-30-00-00-00.pem', k('var/lib/kubelet/pki/kubelet-client-current.pem'));
  const kubeletServing = f.ca({ subject: '/CN=cp-1@1708499173', keyType: 'rsa', notBeforeDays: -100, notAfterDays: 265 });
  put(k('var/lib/kubelet/pki/kubelet.crt'), pem(kubeletServing.cert));
  put(k('var/lib/kubelet/pki/kubelet.key'), pem(kubeletServing.key));

  rke2Root = rancherNode('rke2');
  k3sRoot = rancherNode('k3s');

  // RKE
  rkeRoot = path.join(root, 'rke');
  const ssl = (p: string) => path.join(rkeRoot, 'etc/kubernetes/ssl', p);
  const kubeCa = f.ca({ subject: '/CN=kube-ca', keyType: 'rsa', notBeforeDays: -365, notAfterDays: 3650 });
  put(ssl('kube-ca.pem'), pem(kubeCa.cert));
  put(ssl('kube-ca-key.pem'), pem(kubeCa.key));
  put(ssl('kube-node.pem'), pem(f.leaf(kubeCa, { subject: '/O=system:nodes/CN=system:node', keyType: 'rsa', usage: 'client', notAfterDays: 10 }).cert));
  put(ssl('kube-proxy.pem'), pem(f.leaf(kubeCa, { subject: '/CN=system:kube-proxy', keyType: 'rsa', usage: 'client', notAfterDays: 3600 }).cert));
  for (const component of ['kube-node', 'kube-proxy']) {
    // rancher/rke pki/kubeconfig.go getKubeConfigX509 with pki/util.go GetCertPath/GetKeyPath.
    put(
      ssl(`kubecfg-${component}.yaml`),
      `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    api-version: v1\n    certificate-authority: /etc/kubernetes/ssl/kube-ca.pem\n    server: "https://127.0.0.1:6443"\n  name: "local"\ncontexts:\n- context:\n    cluster: "local"\n    user: "${component}"\n  name: "Default"\ncurrent-context: "Default"\nusers:\n- name: "${component}"\n  user:\n    client-certificate: /etc/kubernetes/ssl/${component}.pem\n    client-key: /etc/kubernetes/ssl/${component}-key.pem`,
    );
  }
}, 120_000);

afterAll(() => removeDir(root));

const rows = (r: CliResult) => report(r).certificates.map((c) => [c.source.slice(c.source.indexOf(':') + 1), c.name, c.daysLeft, c.signedBy?.name ?? (c.selfSigned ? 'self' : null)]);
const rel = (base: string) => (row: unknown[]) => [path.relative(base, row[0] as string), ...row.slice(1)];

describe('check --preset kubeadm: every file kubeadm and the kubelet keep', () => {
  let r: CliResult;
  beforeAll(async () => {
    r = await runCli('check', '--preset', 'kubeadm', '--root', kubeadmRoot, '--now', NOW, '-o', 'json');
  });

  test('the .conf files\' client certificates, the PKI and the current kubelet certificates, each with its CA', () => {
    expect(report(r).errors).toEqual([]);
    expect(report(r).invalid).toEqual([]);
    expect(rows(r).map(rel(kubeadmRoot))).toEqual([
      ['etc/kubernetes', 'admin.conf:users/kubernetes-admin:client-certificate-data#1', 20, 'ca.crt#1'],
      // Equal expiry: by source, then name.
      ['etc/kubernetes', 'controller-manager.conf:users/system:kube-controller-manager:client-certificate-data#1', 265, 'ca.crt#1'],
      ['etc/kubernetes', 'scheduler.conf:users/system:kube-scheduler:client-certificate-data#1', 265, 'ca.crt#1'],
      ['etc/kubernetes', 'super-admin.conf:users/kubernetes-super-admin:client-certificate-data#1', 265, 'ca.crt#1'],
      ['etc/kubernetes/pki', 'apiserver.crt#1', 265, 'ca.crt#1'],
      ['etc/kubernetes/pki', 'etcd/server.crt#1', 265, 'etcd/ca.crt#1'],
      ['etc/kubernetes/pki', 'front-proxy-client.crt#1', 265, 'front-proxy-ca.crt#1'],
      ['var/lib/kubelet/pki', 'kubelet.crt#1', 265, 'self'],
      ['etc/kubernetes', 'kubelet.conf:users/default-auth:client-certificate#1', 330, 'ca.crt#1'],
      ['var/lib/kubelet/pki', 'kubelet-client-current.pem#1', 330, 'ca.crt#1'],
      // Every kubeconfig's certificate-authority-data is the cluster CA, ca.crt.
      ...['admin', 'controller-manager', 'kubelet', 'scheduler', 'super-admin'].map((c) => ['etc/kubernetes', `${c}.conf:clusters/kubernetes:certificate-authority-data#1`, 3650, 'self']),
      ['etc/kubernetes/pki', 'ca.crt#1', 3650, 'self'],
      ['etc/kubernetes/pki', 'etcd/ca.crt#1', 3650, 'self'],
      ['etc/kubernetes/pki', 'front-proxy-ca.crt#1', 3650, 'self'],
    ]);
    expect(r.code).toBe(1); // admin.conf: 20 days left
  });

  test('a tree kept where it is, whose kubelet.conf and link name their own place below --root, reads the same', async () => {
    const kept = path.join(root, 'kept');
    fs.cpSync(kubeadmRoot, kept, { recursive: true, verbatimSymlinks: true });
    const conf = path.join(kept, 'etc/kubernetes/kubelet.conf');
    fs.writeFileSync(conf, fs.readFileSync(conf, 'utf8').split('/var/lib/kubelet/').join(`${kept}/var/lib/kubelet/`));
    const link = path.join(kept, 'var/lib/kubelet/pki/kubelet-client-current.pem');
    fs.rmSync(link);
    fs.symlinkSync(`${kept}/var/lib/kubelet/pki/kubelet-client-2031-01-30-00-00-00.pem`, link);
    const k = await runCli('check', '--preset', 'kubeadm', '--root', kept, '--now', NOW, '-o', 'json');
    expect(report(k).errors).toEqual([]);
    expect(rows(k).map(rel(kept))).toEqual(rows(r).map(rel(kubeadmRoot)));
  });

  test('the rotated-out kubelet-client-<time>.pem and the manifests are not read', () => {
    expect(r.stdout).not.toContain('kubelet-client-2030');
    expect(r.stdout).not.toContain('manifests');
    expect(report(r).certificates.some((c) => c.daysLeft < 0)).toBe(false);
  });
});

describe.each([
  ['rke2', () => rke2Root],
  ['k3s', () => k3sRoot],
] as const)('check --preset %s-server / %s-agent', (program, nodeRoot) => {
  const data = `var/lib/rancher/${program}`;
  const byName = (a: unknown[], b: unknown[]) => ((a[1] as string) < (b[1] as string) ? -1 : 1);
  const agentRows = (ca: string) => [
    [`${data}/agent`, `client-${program}-controller.crt#1`, 364, ca],
    [`${data}/agent`, 'client-kube-proxy.crt#1', 364, ca],
    [`${data}/agent`, 'client-kubelet.crt#1', 364, ca],
    [`${data}/agent`, `${program}controller.kubeconfig:users/user:client-certificate#1`, 364, ca],
    [`${data}/agent`, 'kubelet.kubeconfig:users/user:client-certificate#1', 364, ca],
    [`${data}/agent`, 'kubeproxy.kubeconfig:users/user:client-certificate#1', 364, ca],
    [`${data}/agent`, 'serving-kubelet.crt#1', 364, 'server-ca.crt#1'],
  ].sort(byName);

  test('agent: the kubelet, kube-proxy and controller certificates and the kubeconfigs that use them, top level only', async () => {
    const r = await runCli('check', '--preset', `${program}-agent`, '--root', nodeRoot(), '--now', NOW, '-o', 'json');
    expect(report(r).errors).toEqual([]);
    expect(r.code).toBe(0);
    const got = rows(r).map(rel(nodeRoot()));
    expect(got.filter((row) => row[2] === 364)).toEqual(agentRows('client-ca.crt#1'));
    // The CAs: the server CA and its copies referenced by the kubeconfigs (3650 days, by name), then the client CA (3651).
    expect(got.filter((row) => row[2] !== 364).map((row) => row[1])).toEqual([
      ...[
        'server-ca.crt#1',
        `${program}controller.kubeconfig:clusters/local:certificate-authority#1`,
        'kubelet.kubeconfig:clusters/local:certificate-authority#1',
        'kubeproxy.kubeconfig:clusters/local:certificate-authority#1',
      ].sort(),
      'client-ca.crt#1',
    ]);
    expect(r.stdout).not.toContain('containerd');
  });

  test('server (with the agent preset too): server/tls, server/cred/*.kubeconfig, the admin kubeconfig, the agent read once', async () => {
    const r = await runCli('check', '--preset', `${program}-server`, '--preset', `${program}-agent`, '--root', nodeRoot(), '--now', NOW, '-o', 'json');
    expect(report(r).errors).toEqual([]);
    expect(r.code).toBe(0);
    const got = rows(r).map(rel(nodeRoot()));
    expect(got.filter((row) => row[0] !== `${data}/agent` && !(row[1] as string).includes('clusters/'))).toEqual([
      [`etc/rancher/${program}/${program}.yaml`, `${program}.yaml:users/default:client-certificate-data#1`, 40, 'client-ca.crt#1'],
      [`${data}/server/cred`, 'admin.kubeconfig:users/user:client-certificate#1', 40, 'client-ca.crt#1'],
      [`${data}/server/tls`, 'client-admin.crt#1', 40, 'client-ca.crt#1'],
      [`${data}/server/cred`, 'controller.kubeconfig:users/user:client-certificate#1', 364, 'client-ca.crt#1'],
      [`${data}/server/tls`, 'client-controller.crt#1', 364, 'client-ca.crt#1'],
      [`${data}/server/tls`, 'serving-kube-apiserver.crt#1', 364, 'server-ca.crt#1'],
      [`${data}/server/tls`, 'server-ca.crt#1', 3650, 'self'],
      // client-admin.crt holds the client CA after the leaf, as RKE2 writes it; admin.kubeconfig references it.
      [`${data}/server/cred`, 'admin.kubeconfig:users/user:client-certificate#2', 3651, 'self'],
      [`${data}/server/tls`, 'client-admin.crt#2', 3651, 'self'],
      [`${data}/server/tls`, 'client-ca.crt#1', 3651, 'self'],
    ]);
    // The agent directory is read once although both presets name it.
    expect(got.filter((row) => row[0] === `${data}/agent` && row[2] === 364)).toEqual(agentRows('client-ca.crt#1'));
    expect(r.stderr).toContain(`skipped ${path.join(nodeRoot(), data, 'server/tls/server-ca.key')}: not a certificate (private key)`);
    expect(r.stderr).not.toContain('passwd');
    expect(r.stderr).not.toContain('config.yaml');
  });

  test('a truncated serving-kubelet.crt is invalid: listed, critical, exit 2', async () => {
    const copy = path.join(root, `${program}-corrupt`);
    fs.cpSync(nodeRoot(), copy, { recursive: true, verbatimSymlinks: true });
    const file = path.join(copy, data, 'agent/serving-kubelet.crt');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').slice(0, 300));
    const r = await runCli('check', '--preset', `${program}-agent`, '--root', copy, '--now', NOW);
    expect(r.code).toBe(2);
    const first = r.stdout.split('\n')[1].split(/ {2,}/);
    expect([first[0], first[5]]).toEqual(['serving-kubelet.crt', 'invalid']);
    expect(r.stdout).toMatch(/1 invalid, \d+ ok/);
    expect(r.stderr).toMatch(new RegExp(`^invalid: ${file.replace(/[.]/g, '\\.')}: .*truncated`, 'm'));
  });
});

describe('check --preset rke: certificates and the kubecfg-*.yaml that reference them', () => {
  test('each kubecfg names its user and cluster; absolute references are read below --root', async () => {
    const r = await runCli('check', '--preset', 'rke', '--root', rkeRoot, '--now', NOW, '-o', 'json');
    expect(report(r).errors).toEqual([]);
    expect(r.code).toBe(2); // kube-node: 10 days
    expect(rows(r).map((row) => row.slice(1))).toEqual([
      ['kube-node.pem#1', 10, 'kube-ca.pem#1'],
      ['kubecfg-kube-node.yaml:users/kube-node:client-certificate#1', 10, 'kube-ca.pem#1'],
      ['kube-proxy.pem#1', 3600, 'kube-ca.pem#1'],
      ['kubecfg-kube-proxy.yaml:users/kube-proxy:client-certificate#1', 3600, 'kube-ca.pem#1'],
      ['kube-ca.pem#1', 3650, 'self'],
      ['kubecfg-kube-node.yaml:clusters/local:certificate-authority#1', 3650, 'self'],
      ['kubecfg-kube-proxy.yaml:clusters/local:certificate-authority#1', 3650, 'self'],
    ]);
    expect(r.stderr).toBe(`skipped ${path.join(rkeRoot, 'etc/kubernetes/ssl/kube-ca-key.pem')}: not a certificate (private key)\n`);
  });
});
