/**
 * Certificate trees laid out as RKE, kubeadm and RKE2 nodes hold them, made
 * with the real openssl CLI under a temporary root.
 *
 * @see https://rke.docs.rancher.com/cert-mgmt
 * @see https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/
 * @see https://docs.rke2.io/security/certificates
 *
 * Dates are relative to {@link NOW}; tests run `check --now` with it.
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { bundle, OpensslFixtures, put, removeDir, tempDir } from '../../../support/pki';

/** The fixed time of the unit tests' checks. */
export const NOW = '2031-03-01T00:00:00.000Z';

/** The directories of a built tree. */
export interface NodeTrees {
  /** The temporary root holding everything (remove it in afterAll). */
  readonly root: string;
  /** Root for `--root` with `--preset rke`: holds etc/kubernetes/ssl. */
  readonly rkeRoot: string;
  /** Root for `--preset kubeadm`: holds etc/kubernetes/pki. */
  readonly kubeadmRoot: string;
  /** Root for `--preset rke2-server` and `rke2-agent`: holds var/lib/rancher/rke2. */
  readonly rke2Root: string;
  /** The certificate authorities, for tests that build more. */
  readonly fixtures: OpensslFixtures;
}

/**
 * Builds:
 *
 * RKE `etc/kubernetes/ssl` (RSA):
 *   kube-ca.pem (CA, +3650d), kube-ca-key.pem, kube-apiserver.pem (+20d, warn),
 *   kube-apiserver-key.pem, kube-node.pem (-3d, expired), kube-etcd-10-0-0-1.pem (ECDSA, +300d),
 *   kubecfg-kube-node.yaml
 * kubeadm `etc/kubernetes/pki`:
 *   ca.crt (RSA CA, +3650d), apiserver.crt (RSA, +200d), apiserver-kubelet-client.crt (RSA, +10d, crit),
 *   sa.key, sa.pub, etcd/ca.crt (Ed25519 CA, +3650d), etcd/server.crt (Ed25519, +100d)
 * RKE2 `var/lib/rancher/rke2/server/tls` (ECDSA P-256):
 *   server-ca.crt (+3650d), client-ca.crt (+3650d), client-admin.crt (CRLF bundle: leaf +50d, then client-ca),
 *   serving-kube-apiserver.crt (+364d), etcd/server-client.crt (+364d), dynamic-cert.json, random.bin
 * RKE2 `var/lib/rancher/rke2/agent`: client-kubelet.crt (+364d), and containerd/…/expired.crt
 *   (-1d), which the agent preset must not read (top level only).
 */
export function buildNodeTrees(): NodeTrees {
  const root = tempDir('cert-rotation-check-');
  const f = new OpensslFixtures(path.join(root, 'work'), new Date(NOW));

  // RKE
  const rkeRoot = path.join(root, 'rke');
  const ssl = path.join(rkeRoot, 'etc/kubernetes/ssl');
  const kubeCa = f.ca({ subject: '/CN=kube-ca', keyType: 'rsa', notBeforeDays: -365, notAfterDays: 3650 });
  put(path.join(ssl, 'kube-ca.pem'), fs.readFileSync(kubeCa.cert));
  put(path.join(ssl, 'kube-ca-key.pem'), fs.readFileSync(kubeCa.key));
  const apiserver = f.leaf(kubeCa, { subject: '/CN=kube-apiserver', keyType: 'rsa', notAfterDays: 20, san: ['DNS:kubernetes', 'DNS:kubernetes.default', 'IP:10.43.0.1', 'IP:127.0.0.1'] });
  put(path.join(ssl, 'kube-apiserver.pem'), fs.readFileSync(apiserver.cert));
  put(path.join(ssl, 'kube-apiserver-key.pem'), fs.readFileSync(apiserver.key));
  const node = f.leaf(kubeCa, { subject: '/O=system:nodes/CN=system:node', keyType: 'rsa', usage: 'client', notBeforeDays: -368, notAfterDays: -3 });
  put(path.join(ssl, 'kube-node.pem'), fs.readFileSync(node.cert));
  const etcd = f.leaf(kubeCa, { subject: '/CN=kube-etcd', keyType: 'ec-p256', notAfterDays: 300, san: ['IP:10.0.0.1'] });
  put(path.join(ssl, 'kube-etcd-10-0-0-1.pem'), fs.readFileSync(etcd.cert));
  put(path.join(ssl, 'kubecfg-kube-node.yaml'), 'apiVersion: v1\nkind: Config\nclusters:\n- name: local\n  cluster:\n    certificate-authority: /etc/kubernetes/ssl/kube-ca.pem\n');

  // kubeadm
  const kubeadmRoot = path.join(root, 'kubeadm');
  const pki = path.join(kubeadmRoot, 'etc/kubernetes/pki');
  const ca = f.ca({ subject: '/CN=kubernetes', keyType: 'rsa', notBeforeDays: -100, notAfterDays: 3650 });
  put(path.join(pki, 'ca.crt'), fs.readFileSync(ca.cert));
  put(path.join(pki, 'ca.key'), fs.readFileSync(ca.key));
  put(path.join(pki, 'apiserver.crt'), fs.readFileSync(f.leaf(ca, { subject: '/CN=kube-apiserver', keyType: 'rsa', notAfterDays: 200, san: ['DNS:kubernetes', 'IP:10.96.0.1'] }).cert));
  put(path.join(pki, 'apiserver-kubelet-client.crt'), fs.readFileSync(f.leaf(ca, { subject: '/O=kubeadm:cluster-admins/CN=kube-apiserver-kubelet-client', keyType: 'rsa', usage: 'client', notAfterDays: 10 }).cert));
  const saKey = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  put(path.join(pki, 'sa.key'), saKey.privateKey.export({ type: 'pkcs8', format: 'pem' }));
  put(path.join(pki, 'sa.pub'), saKey.publicKey.export({ type: 'spki', format: 'pem' }));
  const etcdCa = f.ca({ subject: '/CN=etcd-ca', keyType: 'ed25519', notBeforeDays: -100, notAfterDays: 3650 });
  put(path.join(pki, 'etcd/ca.crt'), fs.readFileSync(etcdCa.cert));
  put(path.join(pki, 'etcd/server.crt'), fs.readFileSync(f.leaf(etcdCa, { subject: '/CN=etcd-server', keyType: 'ed25519', notAfterDays: 100, san: ['DNS:localhost', 'IP:127.0.0.1'] }).cert));

  // RKE2 server
  const rke2Root = path.join(root, 'rke2');
  const tls = path.join(rke2Root, 'var/lib/rancher/rke2/server/tls');
  const serverCa = f.ca({ subject: '/CN=rke2-server-ca@1708499173', keyType: 'ec-p256', notBeforeDays: -400, notAfterDays: 3650 });
  const clientCa = f.ca({ subject: '/CN=rke2-client-ca@1708499173', keyType: 'ec-p256', notBeforeDays: -400, notAfterDays: 3651 });
  put(path.join(tls, 'server-ca.crt'), fs.readFileSync(serverCa.cert));
  put(path.join(tls, 'client-ca.crt'), fs.readFileSync(clientCa.cert));
  const admin = f.leaf(clientCa, { subject: '/O=system:masters/CN=system:admin', keyType: 'ec-p256', usage: 'client', notAfterDays: 50 });
  put(path.join(tls, 'client-admin.crt'), bundle(admin.cert, clientCa.cert).replace(/\n/g, '\r\n'));
  put(path.join(tls, 'serving-kube-apiserver.crt'), fs.readFileSync(f.leaf(serverCa, { subject: '/CN=kube-apiserver', keyType: 'ec-p256', notAfterDays: 364, san: ['DNS:kubernetes', 'IP:10.43.0.1'] }).cert));
  put(path.join(tls, 'etcd/server-client.crt'), fs.readFileSync(f.leaf(serverCa, { subject: '/CN=etcd-server', keyType: 'ec-p256', notAfterDays: 364 }).cert));
  put(path.join(tls, 'dynamic-cert.json'), JSON.stringify({ 'tls.crt': 'not here', note: 'rke2 dynamiclistener cache' }));
  put(path.join(tls, 'random.bin'), crypto.randomBytes(2048));

  // RKE2 agent
  const agent = path.join(rke2Root, 'var/lib/rancher/rke2/agent');
  put(path.join(agent, 'client-kubelet.crt'), fs.readFileSync(f.leaf(clientCa, { subject: '/O=system:nodes/CN=system:node:worker-1', keyType: 'ec-p256', usage: 'client', notAfterDays: 364 }).cert));
  put(path.join(agent, 'containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs/etc/ssl/expired.crt'), fs.readFileSync(node.cert));

  return { root, rkeRoot, kubeadmRoot, rke2Root, fixtures: f };
}

/** Removes a tree built by {@link buildNodeTrees}. */
export function removeTrees(trees: NodeTrees | undefined): void {
  removeDir(trees?.root);
}
