import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack } from 'cdktf';
import { Rke2CertificateRotation, Rke2CertificateRotationProps, Rke2Node } from '../../lib';
import { expectNoKey, Workspace } from './support/terraform';
import { loadTestbedEnv, REPO_ROOT, run, standinNodeSsh } from '../../scripts/testbed/client';

// RKE2 certificate rotation over real SSH to the test bed's stand-in nodes
// (node-1..3 servers, node-4..5 agents; scripts/testbed/nodes/README.md): the
// stand-in rke2/systemctl change the files under each node's root the way the
// real ones do (https://docs.rke2.io/security/certificates).
describe('Rke2CertificateRotation on stand-in nodes over SSH', () => {
  const env = loadTestbedEnv();
  const count = Number(env.TESTBED_NODES ?? 0);
  if (count < 5) throw new Error(`these tests need 5 stand-in nodes (scripts/testbed/testbed up --nodes 5); the test bed has ${count}`);
  const ws = new Workspace('rke2-rotation');
  const root = (i: number) => env[`TESTBED_NODE_ROOT_${i}`];
  const dataDir = (i: number) => path.join(root(i), 'var/lib/rancher/rke2');
  const node = (i: number): Rke2Node => ({
    ...standinNodeSsh(env, i),
    dataDir: dataDir(i),
    kubeconfigPath: path.join(root(i), 'etc/rancher/rke2/rke2.yaml'),
    // The stand-in servers' API listeners share the host's loopback: one port each.
    ...(env[`TESTBED_NODE_API_PORT_${i}`] ? { apiAddress: `127.0.0.1:${env[`TESTBED_NODE_API_PORT_${i}`]}` } : {}),
  });
  const servers = [1, 2, 3].map(node);
  const agents = [4, 5].map(node);
  const sshKey = fs.readFileSync(env.TESTBED_SSH_KEY, 'utf8');

  const calls = () => fs.readFileSync(env.TESTBED_NODE_CALLS, 'utf8').split('\n').filter(Boolean);
  /** The rke2/systemctl calls since `from` (the readiness polls are left out). */
  const callsSince = (from: number) => calls().slice(from).filter((l) => !l.includes('\tkubectl\t') && !l.includes('is-active'));

  /** Serial, issuer and notAfter of every certificate under a node's server/tls and agent dir. */
  function certs(i: number): Record<string, { serial: string; issuer: string; notAfter: number }> {
    const out: Record<string, { serial: string; issuer: string; notAfter: number }> = {};
    for (const dir of ['server/tls', 'server/tls/etcd', 'agent']) {
      const d = path.join(dataDir(i), dir);
      if (!fs.existsSync(d)) continue;
      for (const f of fs.readdirSync(d).filter((x) => x.endsWith('.crt'))) {
        const c = new crypto.X509Certificate(fs.readFileSync(path.join(d, f)));
        out[`${dir}/${f}`] = { serial: c.serialNumber, issuer: c.issuer, notAfter: new Date(c.validTo).getTime() };
      }
    }
    return out;
  }

  function deployRotation(props: Partial<Rke2CertificateRotationProps>, ok = [0]) {
    ws.synth((app) => {
      const stack = new TerraformStack(app, 'rke2');
      new Rke2CertificateRotation(stack, 'rotation', { servers, agents, generation: 1, readinessTimeoutSeconds: 20, ...props });
    });
    return ws.deploy('rke2', ok);
  }

  afterAll(() => ws.remove());

  test('rotates every server one after the other, then restarts the agents; certificates renewed with the same CA', () => {
    const before = [1, 2, 3, 4].map(certs);
    const checkBefore = JSON.parse(run('node', [path.join(REPO_ROOT, 'bin/cert-rotation.js'), 'check', '--preset', 'rke2-server', '--root', root(1), '-o', 'json'], { ok: [0, 1, 2] }).stdout);
    const from = calls().length;
    const r = deployRotation({ generation: 1 });

    const seen = callsSince(from);
    const serverCalls = seen.filter((l) => !l.startsWith('node-4') && !l.startsWith('node-5'));
    expect(serverCalls).toEqual([1, 2, 3].flatMap((i) => [
      `node-${i}\tsystemctl\tstop rke2-server`,
      `node-${i}\trke2\tcertificate rotate --data-dir ${dataDir(i)}`,
      `node-${i}\tsystemctl\tstart rke2-server`,
    ]));
    // Agents only after the last server.
    const lastServer = seen.indexOf(`node-3\tsystemctl\tstart rke2-server`);
    for (const a of [4, 5]) expect(seen.indexOf(`node-${a}\tsystemctl\trestart rke2-agent`)).toBeGreaterThan(lastServer);
    // Each server waited for Ready before the next one stopped.
    const all = calls().slice(from);
    for (const i of [1, 2]) {
      const ready = all.findIndex((l) => l.startsWith(`node-${i}\tkubectl\t`) && l.includes(`get node node-${i}`));
      expect(ready).toBeGreaterThan(all.indexOf(`node-${i}\tsystemctl\tstart rke2-server`));
      expect(ready).toBeLessThan(all.indexOf(`node-${i + 1}\tsystemctl\tstop rke2-server`));
    }
    // The backup directory rotate printed is in the apply log, and exists.
    const backups = [...r.stdout.matchAll(/node (node-\d): backup: (\S+)/g)].map((m) => [m[1], m[2]]);
    expect(backups.map((b) => b[0])).toEqual(['node-1', 'node-2', 'node-3']);
    for (const [n, dir] of backups) {
      expect(dir).toMatch(new RegExp(`^${dataDir(Number(n.slice(5)))}/server/tls-\\d+$`));
      // The copy of server/tls (CAs are never removed, so they are always in it).
      expect(fs.existsSync(path.join(dir, 'server-ca.crt'))).toBe(true);
    }

    for (const i of [1, 2, 3]) {
      const after = certs(i);
      for (const [name, b] of Object.entries(before[i - 1])) {
        const a = after[name];
        expect(a).toBeDefined();
        if (/ca(\.nochain)?\.crt$/.test(name)) {
          expect(a).toEqual(b); // CAs are kept
        } else {
          expect({ name, issuer: a.issuer }).toEqual({ name, issuer: b.issuer });
          expect({ name, renewed: a.serial !== b.serial && a.notAfter >= b.notAfter }).toEqual({ name, renewed: true });
        }
      }
    }
    // Agent node-4 after its restart: its kubelet certificate is from the same CA. (Whether a restart
    // re-issues a kubelet certificate that is still valid is not settled from k3s's source; the stand-in
    // re-issues only a missing, expiring or foreign one, so the serial is not asserted.)
    const agentAfter = certs(4);
    expect(agentAfter['agent/client-kubelet.crt'].issuer).toEqual(before[3]['agent/client-kubelet.crt'].issuer);

    // cert-rotation check reads the node's tree: every certificate it listed before is renewed or is a CA.
    const checkAfter = JSON.parse(run('node', [path.join(REPO_ROOT, 'bin/cert-rotation.js'), 'check', '--preset', 'rke2-server', '--root', root(1), '-o', 'json'], { ok: [0, 1, 2] }).stdout);
    expect(JSON.stringify(checkAfter)).not.toEqual(JSON.stringify(checkBefore));

    expect(ws.plan('rke2').changes).toEqual([]);
    expectNoKey(ws.synthesizedText(), sshKey, 'cdktf.out');
    expectNoKey(fs.readFileSync(ws.statePath('rke2'), 'utf8'), sshKey, 'the state file');
    expectNoKey(ws.plan('rke2').raw, sshKey, 'the plan');
    expectNoKey(ws.logs.join('\n'), sshKey, 'the deploy logs');
  });

  test('an unrelated change runs nothing; generation 2 with --service api-server renews only its files', () => {
    // A longer readiness timeout is not a rotation: an in-place update, no command.
    let from = calls().length;
    deployRotation({ generation: 1, readinessTimeoutSeconds: 30 });
    expect(callsSince(from)).toEqual([]);

    const before = [1, 2, 3].map(certs);
    // The reviewer sees, per node and in order, the commands, the wait and the check; agents after the servers.
    ws.synth((app) => {
      const stack = new TerraformStack(app, 'rke2');
      new Rke2CertificateRotation(stack, 'rotation', { servers, agents, generation: 2, services: ['api-server'], readinessTimeoutSeconds: 30 });
    });
    const planFile = path.join(ws.dir, 'plan.json');
    fs.writeFileSync(planFile, ws.plan('rke2').raw);
    const explained = run('node', [path.join(REPO_ROOT, 'bin/cert-rotation.js'), 'explain', planFile]).stdout;
    const listing = explained.slice(explained.indexOf('Commands that will run, in order (5)'));
    expect(listing).toContain([
      '       remote-exec on node node-1:',
      '         $ systemctl stop rke2-server',
      `         $ rke2 certificate rotate --service api-server --data-dir ${dataDir(1)}`,
      '         $ systemctl start rke2-server',
      '         $ wait: node node-1 Ready (up to 30s)',
    ].join('\n'));
    expect(listing).toMatch(/3\. \S+server-node-3\S* \[replace, after 2\][\s\S]*4\. \S+agent-node-4\S* \[replace, after 3\]\n {7}remote-exec on node node-4:\n {9}\$ systemctl restart rke2-agent/);
    expect(listing).not.toContain('cr_step');
    from = calls().length;
    deployRotation({ generation: 2, services: ['api-server'], readinessTimeoutSeconds: 30 });
    expect(callsSince(from).filter((l) => l.includes('\trke2\t'))).toEqual([1, 2, 3].map((i) => `node-${i}\trke2\tcertificate rotate --service api-server --data-dir ${dataDir(i)}`));
    for (const i of [1, 2, 3]) {
      const after = certs(i);
      const changed = Object.keys(after).filter((k) => after[k].serial !== before[i - 1][k]?.serial).sort();
      expect(changed).toEqual(['server/tls/client-kube-apiserver.crt', 'server/tls/serving-kube-apiserver.crt']);
    }
    expect(ws.plan('rke2').changes).toEqual([]);
  });

  test('a server that does not become Ready stops the apply there and the error names it', () => {
    const flag = path.join(root(2), 'run/systemd-standin/rke2-server.fail-start');
    fs.writeFileSync(flag, '');
    const from = calls().length;
    try {
      const r = deployRotation({ generation: 3, readinessTimeoutSeconds: 4 }, [1]);
      expect(r.stdout + r.stderr).toMatch(/FAILED on node node-2 at step: wait: node node-2 Ready/);
    } finally {
      fs.rmSync(flag, { force: true });
    }
    const seen = callsSince(from);
    expect(seen.some((l) => l.startsWith('node-1\tsystemctl\tstart'))).toBe(true);
    expect(seen.some((l) => l.startsWith('node-3'))).toBe(false);
    expect(seen.some((l) => l.startsWith('node-4') || l.startsWith('node-5'))).toBe(false);
    // Fixed: the next apply runs node-2 again (its step is tainted), then node-3 and the agents.
    const again = calls().length;
    deployRotation({ generation: 3, readinessTimeoutSeconds: 20 });
    const rerun = callsSince(again);
    expect(rerun.some((l) => l.startsWith('node-1'))).toBe(false);
    expect(rerun.filter((l) => l.includes('\trke2\t')).map((l) => l.split('\t')[0])).toEqual(['node-2', 'node-3']);
    expect(ws.plan('rke2').changes).toEqual([]);
  });

  test('a server whose API keeps serving the old certificate after its restart stops the apply there, naming the API check', () => {
    const flag = path.join(root(1), 'run/systemd-standin/rke2-server.stale-api');
    const served = () => run('sh', ['-c', `echo | openssl s_client -connect 127.0.0.1:${env.TESTBED_NODE_API_PORT_1} 2>/dev/null | openssl x509 -noout -fingerprint -sha256`]).stdout;
    const onDisk = () => run('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', path.join(dataDir(1), 'server/tls/serving-kube-apiserver.crt')]).stdout;
    expect(served()).toBe(onDisk());
    fs.writeFileSync(flag, '');
    const from = calls().length;
    try {
      const r = deployRotation({ generation: 4, readinessTimeoutSeconds: 6 }, [1]);
      expect((r.stdout + r.stderr).replace(/\s+/g, ' ')).toMatch(
        new RegExp(`FAILED on node node-1 at step: wait: API at 127\\.0\\.0\\.1:${env.TESTBED_NODE_API_PORT_1} serves the serving-kube-apiserver\\.crt on disk \\(not done after 6s\\); state: rke2-server on node-1 is Ready but its API does not serve the certificate on disk`),
      );
      expect(served()).not.toBe(onDisk());
    } finally {
      fs.rmSync(flag, { force: true });
    }
    expect(callsSince(from).some((l) => l.startsWith('node-2'))).toBe(false);
    // The next apply runs node-1 again: its restart loads the file, and the rest follows.
    deployRotation({ generation: 4, readinessTimeoutSeconds: 20 });
    expect(served()).toBe(onDisk());
    expect(ws.plan('rke2').changes).toEqual([]);
  });

  test("expired mode: the serving Secret deleted, dynamic-cert.json removed, restart renews what expires within 90 days", () => {
    // Make node-1's admin certificate one that expires in 10 days (same CA).
    const tls = path.join(dataDir(1), 'server/tls');
    run('openssl', ['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', `${tls}/client-admin.key`, '-out', `${tls}/client-admin.crt`, '-subj', '/O=system:masters/CN=system:admin',
      '-CA', `${tls}/client-ca.crt`, '-CAkey', `${tls}/client-ca.key`, '-days', '10', '-addext', 'extendedKeyUsage=clientAuth']);
    const before = certs(1);
    const dynBefore = fs.readFileSync(path.join(tls, 'dynamic-cert.json'), 'utf8');
    const from = calls().length;
    deployRotation({ generation: 4, mode: 'expired' });
    const seen = callsSince(from);
    expect(seen.filter((l) => l.startsWith('node-1'))).toEqual(['node-1\tsystemctl\trestart rke2-server']);
    expect(calls().slice(from).some((l) => l.startsWith('node-1\tkubectl\t') && l.includes('--insecure-skip-tls-verify delete secret rke2-serving -n kube-system'))).toBe(true);
    const after = certs(1);
    expect(after['server/tls/client-admin.crt'].serial).not.toEqual(before['server/tls/client-admin.crt'].serial);
    expect(after['server/tls/client-admin.crt'].notAfter - Date.now()).toBeGreaterThan(300 * 24 * 3600 * 1000);
    expect(after['server/tls/client-controller.crt']).toEqual(before['server/tls/client-controller.crt']); // not due: kept
    expect(fs.readFileSync(path.join(tls, 'dynamic-cert.json'), 'utf8')).not.toEqual(dynBefore);
    expect(fs.existsSync(path.join(env.TESTBED_DIR, 'nodes/rke2-datastore/rke2-serving.json'))).toBe(true);
    expect(ws.plan('rke2').changes).toEqual([]);
  });
});
