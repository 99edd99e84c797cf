import * as fs from 'fs';
import * as path from 'path';
import { X509Certificate } from 'crypto';
import { cattleCaChecksum } from '../../lib/pki/fingerprint';
import { makePrivateCa, RancherFiles } from '../support/pki';
import { resetRancherInstall } from './support/rancher-bed';
import { RancherScenario, STACK } from './support/rancher-scenario';
import { modelEvents, presentedChain, secretData, servedCacerts } from '../../scripts/testbed/rancher-model/client';
import { REPO_ROOT, run } from '../../scripts/testbed/client';

// A CA that is about to expire, replaced by the nightly job of the GitOps kit
// (`pki rollover`, `pki renew`, then a deploy through the real app and
// Terraform) on the test bed's Rancher model: testbed-1 runs Rancher, testbed-2
// (RKE1) and testbed-3 (RKE2) are its downstream clusters.
//
// What the overlap buys is asserted where it shows: a running agent keeps the
// CA bundle it downloaded at start as one pool of trusted roots (rancher/rancher
// cmd/agent/main.go, rootCATransport), and loses TLS when the ingress presents a
// chain that pool does not verify (the model logs `agent-tls-failed`). Through
// the three phases no running agent ever loses TLS; the control at the end, a
// CA change without the overlap, shows that the same check does see failures.
describe('CA rollover by the nightly job: trust-both, switch, drop-old (Rancher, test-bed model)', () => {
  const sc = new RancherScenario('ca-rollover');
  const ws = sc.ws;
  const root = path.join(ws.dir, 'pki', 'root');
  const certs = path.join(ws.dir, 'certs');
  const ROLLOVER = ['--renew-before', '90d', '--overlap', '0s', '--days', '3650'];
  let since: string;
  let oldRoot: X509Certificate;
  let newRoot: X509Certificate;

  const cli = (...args: string[]) => run(process.execPath, [path.join(REPO_ROOT, 'bin/cert-rotation.js'), ...args], { cwd: ws.dir }).stdout;
  /** Rancher's three files as they are on disk tonight. */
  const tonight = (): RancherFiles => {
    const f = {
      certFile: path.join(certs, 'tls.crt'),
      keyFile: path.join(certs, 'tls.key'),
      caFile: path.join(root, 'cacerts.pem'),
    };
    const read = (file: string) => fs.readFileSync(file, 'utf8');
    const files = { ...f, chainPem: read(f.certFile), keyPem: read(f.keyFile), caPem: read(f.caFile) };
    sc.keysSeen.push(files.keyPem);
    return files;
  };
  const nightly = () => ({ rollover: cli('pki', 'rollover', '--ca-dir', root, ...ROLLOVER), renew: cli('pki', 'renew', '--ca-dir', root, '--out', certs) });
  /** Rancher serves exactly `f`'s bundle, tls-ca holds it, and every agent carries its checksum, Ready. */
  const expectDeployed = (f: RancherFiles) => {
    sc.expectServed(f);
    expect(secretData(sc.server, 'cattle-system', 'tls-ca')['cacerts.pem']).toBe(f.caPem);
    sc.expectAgents([2, 3], cattleCaChecksum(f.caPem));
  };
  const tlsFailures = (from: string) => modelEvents().filter((e) => e.time >= from && e.event === 'agent-tls-failed');
  const servedRoots = () => (servedCacerts().value ?? '').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)!.map((p) => new X509Certificate(p).fingerprint256);
  const leafVerifiesWith = (ca: X509Certificate) => new X509Certificate(presentedChain()).verify(ca.publicKey);

  beforeAll(async () => {
    await resetRancherInstall();
    // A root with 60 days left (inside the 90-day window), and Rancher's leaf from it, deployed once.
    cli('pki', 'ca', '--out', root, '--cn', 'Rollover Root CA', '--days', '60');
    cli('pki', 'leaf', '--ca-dir', root, '--out', certs, '--cn', sc.hostname, '--dns', sc.hostname, '--days', '45');
    oldRoot = new X509Certificate(fs.readFileSync(path.join(root, 'ca.crt')));
    const f = tonight();
    ws.useApp(sc.writeConfig(f));
    ws.deploy(STACK);
    expectDeployed(f);
    since = new Date().toISOString();
  });

  afterAll(async () => {
    try {
      sc.cleanUp();
    } finally {
      await resetRancherInstall();
    }
  });

  test('night 1, trust-both: Rancher serves the old root then the new one and the agents carry that bundle; the old leaf is still served', () => {
    const n = nightly();
    expect(n.rollover).toMatch(/^rollover 1 of 3 \(trust-both\)/m);
    expect(n.renew).toMatch(/^not due: /);
    newRoot = new X509Certificate(fs.readFileSync(path.join(root, 'next', 'ca.crt')));
    const f = tonight();
    const r = ws.deploy(STACK);
    expect(r.stdout + r.stderr).toMatch(/cert-rotation:extraTrustedRoots/);
    expectDeployed(f);
    expect(servedRoots()).toEqual([oldRoot.fingerprint256, newRoot.fingerprint256]);
    expect(leafVerifiesWith(oldRoot)).toBe(true);
    sc.expectNoAgentStartFailures(since);
    expect(tlsFailures(since)).toEqual([]);
    sc.expectSecondPlanEmpty();
  });

  test('night 2, switch: the leaf is re-issued by the new root and served; the agents that trusted both never lose TLS', () => {
    const n = nightly();
    expect(n.rollover).toMatch(/^rollover 2 of 3 \(switch\)/m);
    expect(n.renew).toMatch(/^renewed: .*because it was not issued by CN=Rollover Root CA/);
    const f = tonight();
    ws.deploy(STACK);
    expectDeployed(f);
    expect(servedRoots()).toEqual([newRoot.fingerprint256, oldRoot.fingerprint256]);
    // A client that trusts only the new root connects; the served leaf is not the old root's.
    expect(leafVerifiesWith(newRoot)).toBe(true);
    expect(leafVerifiesWith(oldRoot)).toBe(false);
    sc.expectNoAgentStartFailures(since);
    expect(tlsFailures(since)).toEqual([]);
    sc.expectSecondPlanEmpty();
  });

  test('night 3, drop-old: Rancher serves the new root alone; still no agent lost TLS', () => {
    const n = nightly();
    expect(n.rollover).toMatch(/^rollover 3 of 3 \(drop-old\): done/m);
    expect(n.renew).toMatch(/^not due: /);
    const f = tonight();
    const r = ws.deploy(STACK);
    expect(r.stdout + r.stderr).not.toMatch(/cert-rotation:extraTrustedRoots/);
    expectDeployed(f);
    expect(servedRoots()).toEqual([newRoot.fingerprint256]);
    sc.expectNoAgentStartFailures(since);
    expect(tlsFailures(since)).toEqual([]);
    expect(fs.existsSync(path.join(root, 'previous', 'ca.key'))).toBe(false);
  });

  test('night 4: nothing is due, nothing is written, the plan is empty; no key anywhere', () => {
    const before = fs.readFileSync(path.join(root, 'cacerts.pem'), 'utf8') + fs.readFileSync(path.join(certs, 'tls.crt'), 'utf8');
    const n = nightly();
    expect(n.rollover).toMatch(/^not due: /);
    expect(n.renew).toMatch(/^not due: /);
    expect(fs.readFileSync(path.join(root, 'cacerts.pem'), 'utf8') + fs.readFileSync(path.join(certs, 'tls.crt'), 'utf8')).toBe(before);
    sc.expectSecondPlanEmpty();
    sc.expectNoKeyAnywhere();
  });

  test('control: the same check sees running agents lose TLS when a CA is replaced without the overlap', () => {
    const from = new Date().toISOString();
    const f = sc.files(makePrivateCa('Rollover control'));
    ws.useApp(sc.writeConfig(f));
    ws.deploy(STACK);
    sc.expectServed(f);
    sc.expectAgents([2, 3], cattleCaChecksum(f.caPem));
    expect(tlsFailures(from).length).toBeGreaterThan(0);
  });
});
