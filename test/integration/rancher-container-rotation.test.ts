import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack } from 'cdktf';
import { NodeSsh, RancherContainerCertificateRotation } from '../../lib';
import { expectNoKey, Workspace } from './support/terraform';
import { loadTestbedEnv, standinNodeSsh } from '../../scripts/testbed/client';

// Single-container Rancher (`docker run rancher/rancher`) with expired
// certificates, per version branch of Rancher's procedure, over real SSH to
// stand-in node-1, whose `docker` stand-in models the three containers the test
// bed lays out (scripts/testbed/nodes/README.md): 2.1 keeps its certificate in
// bundle.json, 2.2 in localhost.crt, 2.3+ in the embedded k3s tls directory.
describe('RancherContainerCertificateRotation on the stand-in containers of node-1', () => {
  const env = loadTestbedEnv();
  if (Number(env.TESTBED_NODES ?? 0) < 1) throw new Error('these tests need a stand-in node (scripts/testbed/testbed up --nodes 1)');
  const ws = new Workspace('rancher-container');
  const host: NodeSsh = standinNodeSsh(env, 1);
  const sshKey = fs.readFileSync(env.TESTBED_SSH_KEY, 'utf8');
  const calls = () => fs.readFileSync(env.TESTBED_NODE_CALLS, 'utf8').split('\n').filter(Boolean);
  const rootfs = (container: string) => path.join(env.TESTBED_NODE_ROOT_1, 'var/lib/docker-standin', container, 'rootfs');

  // The container, its version, the path Rancher's procedure moves aside, how many restarts, and where the
  // serving certificate is then.
  const CONTAINERS = [
    { name: 'rancher-2.1', version: '2.1.9', moved: '/var/lib/rancher/management-state/certs/bundle.json', restarts: 1,
      serving: (f: string) => JSON.parse(fs.readFileSync(f, 'utf8')).certPEM, file: '/var/lib/rancher/management-state/certs/bundle.json' },
    { name: 'rancher-2.2', version: '2.2.2', moved: '/var/lib/rancher/management-state/tls/localhost.crt', restarts: 1,
      serving: (f: string) => fs.readFileSync(f, 'utf8'), file: '/var/lib/rancher/management-state/tls/localhost.crt' },
    { name: 'rancher-2.8', version: '2.8.5', moved: '/var/lib/rancher/k3s/server/tls', restarts: 2,
      serving: (f: string) => fs.readFileSync(f, 'utf8'), file: '/var/lib/rancher/k3s/server/tls/serving-kube-apiserver.crt' },
  ];
  const served = (c: (typeof CONTAINERS)[number], file = c.file) => new crypto.X509Certificate(c.serving(path.join(rootfs(c.name), file)));

  function deploy(generation: number) {
    ws.synth((app) => {
      const stack = new TerraformStack(app, 'containers');
      let previous: RancherContainerCertificateRotation | undefined;
      for (const c of CONTAINERS) {
        previous = new RancherContainerCertificateRotation(stack, c.name, {
          host, container: c.name, rancherVersion: c.version, generation,
          ...(previous ? { dependsOn: [previous.rotation.resource] } : {}),
        });
      }
    });
    return ws.deploy('containers');
  }

  afterAll(() => ws.remove());

  test('each version branch: its certificate moved aside, the container restarted as often as the document says, a new certificate made', () => {
    const before = CONTAINERS.map((c) => served(c));
    const from = calls().length;
    const r = deploy(1);
    const seen = calls().slice(from).filter((l) => l.startsWith('node-1\tdocker\t'));
    expect(seen).toEqual(CONTAINERS.flatMap((c) => [
      `node-1\tdocker\texec ${c.name} mv ${c.moved} ${c.moved}-bak-g1`,
      ...Array(c.restarts).fill(`node-1\tdocker\trestart ${c.name}`),
      `node-1\tdocker\texec ${c.name} test -e ${c.moved}`,
    ]));
    CONTAINERS.forEach((c, k) => {
      const now = served(c);
      // The old one is kept where the step said it would be.
      const backup = c.moved === c.file ? `${c.moved}-bak-g1` : `${c.moved}-bak-g1/${path.basename(c.file)}`;
      expect({ container: c.name, backup: served(c, backup).serialNumber }).toEqual({ container: c.name, backup: before[k].serialNumber });
      expect({ container: c.name, renewed: now.serialNumber !== before[k].serialNumber }).toEqual({ container: c.name, renewed: true });
      expect(new Date(now.validTo).getTime()).toBeGreaterThan(Date.now() + 300 * 86400_000);
    });
    expect(r.stdout.match(/cert-rotation: node node-1: done/g)).toHaveLength(CONTAINERS.length);
    expect(ws.plan('containers').changes).toEqual([]);
    expectNoKey(ws.synthesizedText(), sshKey, 'cdktf.out');
    expectNoKey(fs.readFileSync(ws.statePath('containers'), 'utf8'), sshKey, 'the state file');
  });

  test('generation 2 rotates again into its own backup; the first backup is kept', () => {
    const before = CONTAINERS.map((c) => served(c));
    expect(ws.plan('containers').changes).toEqual([]);
    deploy(2);
    CONTAINERS.forEach((c, k) => {
      expect(fs.existsSync(path.join(rootfs(c.name), `${c.moved}-bak-g1`))).toBe(true);
      expect(fs.existsSync(path.join(rootfs(c.name), `${c.moved}-bak-g2`))).toBe(true);
      expect({ container: c.name, renewed: served(c).serialNumber !== before[k].serialNumber }).toEqual({ container: c.name, renewed: true });
    });
    expect(ws.plan('containers').changes).toEqual([]);
  });
});
