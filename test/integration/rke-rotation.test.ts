import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack } from 'cdktf';
import { ANNOTATIONS, NodeSsh, RkeCertificateRotation, RkeCertificateRotationProps } from '../../lib';
import { expectNoKey, Workspace } from './support/terraform';
import { loadTestbedEnv, run, standinNodeSsh } from '../../scripts/testbed/client';

// `rke cert rotate` over real SSH on the stand-in node that holds cluster.yml
// (node-1, /root/rke in its root); the stand-in rke renews /etc/kubernetes/ssl
// on every node (https://rke.docs.rancher.com/cert-mgmt). With --rotate-ca the
// system workloads are restarted on a real test-bed API server afterwards.
describe('RkeCertificateRotation on stand-in nodes over SSH', () => {
  const env = loadTestbedEnv();
  const count = Number(env.TESTBED_NODES ?? 0);
  if (count < 3) throw new Error(`these tests need at least 3 stand-in nodes (scripts/testbed/testbed up --nodes 5); the test bed has ${count}`);
  const ws = new Workspace('rke-rotation');
  const root = (i: number) => env[`TESTBED_NODE_ROOT_${i}`];
  const clusterYml = path.join(root(1), 'root/rke/cluster.yml');
  const host: NodeSsh = standinNodeSsh(env, 1);
  const kubeconfig = env.TESTBED_KUBECONFIG_1;
  const kubectl = (...args: string[]) => run(env.TESTBED_KUBECTL, ['--kubeconfig', kubeconfig, ...args]).stdout;
  const sshKey = fs.readFileSync(env.TESTBED_SSH_KEY, 'utf8');
  const calls = () => fs.readFileSync(env.TESTBED_NODE_CALLS, 'utf8').split('\n').filter(Boolean);

  /** Serial and issuer of every .pem certificate in each node's /etc/kubernetes/ssl. */
  function certs(): Record<string, { serial: string; issuer: string }> {
    const out: Record<string, { serial: string; issuer: string }> = {};
    for (let i = 1; i <= count; i++) {
      const d = path.join(root(i), 'etc/kubernetes/ssl');
      for (const f of fs.readdirSync(d).filter((x) => x.endsWith('.pem') && !x.endsWith('-key.pem') && !x.startsWith('kube-service-account-token'))) {
        const c = new crypto.X509Certificate(fs.readFileSync(path.join(d, f)));
        out[`node-${i}/${f}`] = { serial: c.serialNumber, issuer: c.issuer };
      }
    }
    return out;
  }
  const changed = (a: Record<string, { serial: string }>, b: Record<string, { serial: string }>) => Object.keys(b).filter((k) => a[k]?.serial !== b[k].serial).sort();

  function deploy(props: Partial<RkeCertificateRotationProps>, ok = [0]) {
    ws.synth((app) => {
      const stack = new TerraformStack(app, 'rke');
      new RkeCertificateRotation(stack, 'rke', { host, clusterConfigPath: clusterYml, generation: 1, ...props });
    });
    return ws.deploy('rke', ok);
  }

  afterAll(() => {
    ws.remove();
    run(env.TESTBED_KUBECTL, ['--kubeconfig', kubeconfig, 'delete', 'deployment', '-n', 'kube-system', 'kube-dns', '--ignore-not-found']);
  });

  test('rke cert rotate renews every service certificate with the same CA; a second plan is empty; --service kubelet renews only kube-node', () => {
    const before = certs();
    const from = calls().length;
    deploy({ generation: 1 });
    expect(calls().slice(from)).toEqual([`node-1\trke\tcert rotate --config ${clusterYml}`]);
    const after = certs();
    const renewed = changed(before, after);
    expect(renewed.filter((k) => k.endsWith('/kube-ca.pem') || k.endsWith('/kube-apiserver-requestheader-ca.pem'))).toEqual([]);
    for (const k of Object.keys(after)) {
      if (/kube-ca\.pem$|requestheader-ca\.pem$/.test(k)) continue;
      expect({ k, renewed: renewed.includes(k), issuer: after[k].issuer }).toEqual({ k, renewed: true, issuer: before[k].issuer });
    }
    expect(ws.plan('rke').changes).toEqual([]);

    const mid = certs();
    deploy({ generation: 2, services: ['kubelet'] });
    expect(changed(mid, certs())).toEqual(Object.keys(mid).filter((k) => k.endsWith('/kube-node.pem')).sort());
    expect(ws.plan('rke').changes).toEqual([]);
    expectNoKey(ws.synthesizedText(), sshKey, 'cdktf.out');
    expectNoKey(fs.readFileSync(ws.statePath('rke'), 'utf8'), sshKey, 'the state file');
  });

  test('--rotate-ca: a new CA signs every certificate, then the system workloads restart', () => {
    // A DNS Deployment the --rotate-ca restart must roll (RKE's kube-dns add-on).
    kubectl('delete', 'deployment', '-n', 'kube-system', 'kube-dns', '--ignore-not-found');
    kubectl('create', 'deployment', 'kube-dns', '-n', 'kube-system', '--image', 'registry.k8s.io/pause:3.9');
    const ca = () => new crypto.X509Certificate(fs.readFileSync(path.join(root(2), 'etc/kubernetes/ssl/kube-ca.pem')));
    const oldCa = ca();
    deploy({ generation: 3, rotateCA: true, cluster: { cluster: 'testbed-1', kubeconfig } });
    const newCa = ca();
    expect(newCa.serialNumber).not.toEqual(oldCa.serialNumber);
    for (const [k, v] of Object.entries(certs())) {
      if (k.includes('requestheader') || k.includes('proxy-client')) continue;
      const c = new crypto.X509Certificate(fs.readFileSync(path.join(root(Number(k.split('/')[0].slice(5))), 'etc/kubernetes/ssl', k.split('/')[1])));
      expect({ k, signed: c.verify(newCa.publicKey) }).toEqual({ k, signed: true });
      void v;
    }
    const annotation = kubectl('get', 'deployment', '-n', 'kube-system', 'kube-dns', '-o', `jsonpath={.spec.template.metadata.annotations.${ANNOTATIONS.trustSha256.replace(/\./g, '\\.')}}`);
    expect(annotation).toMatch(/^[0-9a-f]{64}$/);
    expect(ws.plan('rke').changes).toEqual([]);
  });

  test('a cluster without cluster.rkestate (before RKE v0.2.0) fails naming rke up; upFirst runs rke up, then rotates', () => {
    const state = clusterYml.replace(/\.yml$/, '.rkestate');
    // Before v0.2.0 RKE kept no state file and the CA keys lived on the control-plane nodes
    // (https://rke.docs.rancher.com/cert-mgmt): after the --rotate-ca above only the state holds
    // the keys, so put them where an old cluster has them.
    const bundle = JSON.parse(fs.readFileSync(state, 'utf8')).currentState.certificatesBundle;
    for (const ca of ['kube-ca', 'kube-apiserver-requestheader-ca']) {
      fs.writeFileSync(path.join(root(1), `etc/kubernetes/ssl/${ca}-key.pem`), bundle[ca].keyPEM, { mode: 0o600 });
    }
    fs.renameSync(state, state + '.hidden');
    try {
      const r = deploy({ generation: 4 }, [1]);
      expect(r.stdout + r.stderr).toMatch(/FAILED on node node-1 at step: rke cert rotate/);
      expect(r.stdout + r.stderr).toMatch(/rke up/);
      const from = calls().length;
      deploy({ generation: 4, upFirst: true });
      expect(calls().slice(from)).toEqual([`node-1\trke\tup --config ${clusterYml}`, `node-1\trke\tcert rotate --config ${clusterYml}`]);
      expect(fs.existsSync(state)).toBe(true);
      expect(ws.plan('rke').changes).toEqual([]);
    } finally {
      fs.rmSync(state + '.hidden', { force: true });
    }
  });
});
