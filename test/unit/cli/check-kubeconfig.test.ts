import * as fs from 'fs';
import * as path from 'path';
import { report, runCli } from './support/run-cli';
import { buildNodeTrees, NodeTrees, NOW, removeTrees } from './support/trees';

let trees: NodeTrees;
let kubeconfig: string;
let adminKeyLine: string;

const b64 = (file: string) => fs.readFileSync(file).toString('base64');

beforeAll(() => {
  trees = buildNodeTrees();
  const f = trees.fixtures;
  const ca = f.ca({ subject: '/CN=kube-ca', keyType: 'rsa', notAfterDays: 3000 });
  const admin = f.leaf(ca, { subject: '/O=system:masters/CN=kube-admin', keyType: 'ec-p256', usage: 'client', notAfterDays: 12 });
  adminKeyLine = fs.readFileSync(admin.key, 'utf8').split('\n')[1];
  const dir = path.join(trees.root, 'kube');
  fs.mkdirSync(path.join(dir, 'certs'), { recursive: true });
  fs.copyFileSync(path.join(trees.rke2Root, 'var/lib/rancher/rke2/server/tls/server-ca.crt'), path.join(dir, 'certs/server-ca.crt'));
  fs.copyFileSync(path.join(trees.rke2Root, 'var/lib/rancher/rke2/agent/client-kubelet.crt'), path.join(dir, 'certs/kubelet.crt'));
  kubeconfig = path.join(dir, 'config');
  fs.writeFileSync(
    kubeconfig,
    `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: ${b64(ca.cert)}
- name: rke2
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority: certs/server-ca.crt
- name: public
  cluster:
    server: https://rancher.example.com
users:
- name: kube-admin
  user:
    client-certificate-data: ${b64(admin.cert)}
    client-key-data: ${b64(admin.key)}
- name: kubelet
  user:
    client-certificate: certs/kubelet.crt
    client-key: certs/kubelet.key
- name: token
  user:
    token: abc
contexts:
- name: local
  context: { cluster: local, user: kube-admin }
current-context: local
`,
  );
}, 60_000);

afterAll(() => removeTrees(trees));

describe('check --kubeconfig', () => {
  test('reads embedded and referenced client certificates and cluster CAs', async () => {
    const r = await runCli('check', '--kubeconfig', kubeconfig, '--now', NOW, '-o', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    const rep = report(r);
    expect(rep.certificates.map((c) => [c.name, c.daysLeft, c.status, c.isCA])).toEqual([
      ['users/kube-admin:client-certificate-data#1', 12, 'crit', false],
      ['users/kubelet:client-certificate#1', 364, 'ok', false],
      ['clusters/local:certificate-authority-data#1', 3000, 'ok', true],
      ['clusters/rke2:certificate-authority#1', 3650, 'ok', true],
    ]);
    expect(new Set(rep.certificates.map((c) => c.source))).toEqual(new Set([`kubeconfig:${kubeconfig}`]));
    expect(rep.certificates[0].subject).toBe('O=system:masters, CN=kube-admin');
  });

  test('never prints the client key', async () => {
    const r = await runCli('check', '--kubeconfig', kubeconfig, '--now', NOW, '-o', 'yaml');
    expect(r.stdout + r.stderr).not.toContain(adminKeyLine);
    expect(r.stdout + r.stderr).not.toContain('client-key');
  });

  test('a referenced file that is missing is a read error (exit 3)', async () => {
    const broken = path.join(path.dirname(kubeconfig), 'broken');
    fs.writeFileSync(broken, fs.readFileSync(kubeconfig, 'utf8').replace('certs/kubelet.crt', 'certs/gone.crt'));
    const r = await runCli('check', '--kubeconfig', broken, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(3);
    expect(report(r).certificates).toHaveLength(3);
    const gone = path.join(path.dirname(kubeconfig), 'certs/gone.crt');
    expect(report(r).errors).toEqual([
      { source: `kubeconfig:${broken}`, message: `cannot read ${gone} (users/kubelet:client-certificate of ${broken}): no such file or directory (ENOENT)` },
    ]);
  });

  test('a missing or malformed kubeconfig is a read error (exit 3)', async () => {
    const missing = await runCli('check', '--kubeconfig', path.join(trees.root, 'nope'), '-o', 'json');
    expect(missing.code).toBe(3);
    expect(report(missing).errors[0].message).toMatch(/^cannot read kubeconfig .*nope: no such file or directory \(ENOENT\)$/);
    const bad = path.join(trees.root, 'bad-kubeconfig');
    fs.writeFileSync(bad, 'clusters: [\n  - name: x\n');
    const malformed = await runCli('check', '--kubeconfig', bad, '-o', 'json');
    expect(malformed.code).toBe(3);
    expect(report(malformed).errors[0].message).toMatch(/^cannot read kubeconfig .*bad-kubeconfig: it is not valid YAML/);
  });

  test('embedded data that is not a certificate is an invalid finding (exit 2), not a tool error', async () => {
    const odd = path.join(trees.root, 'odd-kubeconfig');
    fs.writeFileSync(odd, `users:\n- name: u\n  user:\n    client-certificate-data: ${Buffer.from('hello').toString('base64')}\n`);
    const r = await runCli('check', '--kubeconfig', odd, '-o', 'json');
    expect(r.code).toBe(2);
    expect(report(r).skipped).toEqual([]);
    expect(report(r).errors).toEqual([]);
    expect(report(r).invalid).toEqual([
      {
        name: 'users/u:client-certificate-data',
        source: `kubeconfig:${odd}`,
        file: `${odd} users/u`,
        status: 'invalid',
        message: `${odd} users/u: client-certificate-data holds no certificate (neither PEM nor DER). Fix: write the certificate (PEM, -----BEGIN CERTIFICATE-----) into it again, e.g. from a backup, or renew it.`,
      },
    ]);
  });
});
