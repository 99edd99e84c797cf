/**
 * `cert-rotation check` against the local test bed's real kube-apiserver
 * (scripts/testbed/testbed up): TLS secrets and the tls-ca secret read through
 * the API with pagination, the kubeconfig's certificates, and the API server's
 * own serving chain over TLS.
 */
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { run } from '../../lib/cli/main';
import { OpensslFixtures } from '../support/pki';
import { kubeSend, loadTestbedEnv } from '../../scripts/testbed/client';

interface JsonReport {
  status: string;
  exitCode: number;
  certificates: Array<{
    name: string;
    source: string;
    subject: string;
    issuer: string;
    daysLeft: number;
    status: string;
    isCA: boolean;
    selfSigned: boolean;
    keyType: string;
    ipAddresses: string[];
    dnsNames: string[];
  }>;
  skipped: Array<{ name: string; reason: string }>;
  errors: Array<{ source: string; message: string }>;
}

async function check(...argv: string[]): Promise<{ code: number; report: JsonReport; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['check', ...argv, '--output', 'json'], {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  let report: JsonReport;
  try {
    report = JSON.parse(stdout) as JsonReport;
  } catch {
    throw new Error(`check ${argv.join(' ')} printed no JSON (exit ${code}):\n${stdout}\n--- stderr\n${stderr}`);
  }
  return { code, report, stderr };
}

const b64 = (file: string) => fs.readFileSync(file).toString('base64');

let env: Record<string, string>;
let namespace: string;
let work: string;
/** The time the secrets' certificates are dated from; the checks run `--now` at it. */
let now: Date;

beforeAll(async () => {
  env = loadTestbedEnv();
  namespace = `check-it-${Date.now().toString(36)}`;
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'check-it-'));
  now = new Date(Math.floor(Date.now() / 1000) * 1000);
  const f = new OpensslFixtures(work, now);

  // Rancher's certificate update: tls-rancher-ingress (leaf + intermediate) and tls-ca (intermediate, then root).
  const root = f.ca({ subject: '/CN=private-root', keyType: 'rsa', notAfterDays: 3650 });
  const intermediate = f.intermediate(root, { subject: '/CN=private-intermediate', keyType: 'rsa', notAfterDays: 1825 });
  const ingress = f.leaf(intermediate, { subject: '/CN=rancher.example.com', keyType: 'rsa', notAfterDays: 40, san: ['DNS:rancher.example.com'] });
  const ecdsa = f.leaf(root, { subject: '/CN=web.example.com', keyType: 'ec-p256', notAfterDays: 10, san: ['DNS:web.example.com'] });

  // Written with the test bed's admin certificate (cluster 1 is context testbed-1), read by check through the kubeconfig.
  kubeSend(1, 'POST', '/api/v1/namespaces', { metadata: { name: namespace } });
  const secret = (name: string, type: string, data: Record<string, string>) =>
    kubeSend(1, 'POST', `/api/v1/namespaces/${namespace}/secrets`, { metadata: { name, namespace }, type, data });
  secret('tls-rancher-ingress', 'kubernetes.io/tls', { 'tls.crt': Buffer.from(fs.readFileSync(ingress.cert, 'utf8') + fs.readFileSync(intermediate.cert, 'utf8')).toString('base64'), 'tls.key': b64(ingress.key) });
  secret('web-ecdsa', 'kubernetes.io/tls', { 'tls.crt': b64(ecdsa.cert), 'tls.key': b64(ecdsa.key), 'ca.crt': b64(root.cert) });
  secret('tls-ca', 'Opaque', { 'cacerts.pem': Buffer.from(fs.readFileSync(intermediate.cert, 'utf8') + fs.readFileSync(root.cert, 'utf8')).toString('base64') });
  secret('unrelated', 'Opaque', { 'ca.crt': b64(root.cert) });
}, 60_000);

afterAll(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true });
  if (env && namespace) {
    // The test bed runs no controller manager: delete the secrets explicitly; the namespace then stays Terminating, empty.
    kubeSend(1, 'DELETE', `/api/v1/namespaces/${namespace}/secrets`);
    kubeSend(1, 'DELETE', `/api/v1/namespaces/${namespace}`);
  }
});

describe('check --secrets on the test bed', () => {
  test('lists the TLS and tls-ca secrets of a namespace, soonest expiry first', async () => {
    const { code, report, stderr } = await check('--secrets', '--kubeconfig', env.KUBECONFIG, '--namespace', namespace, '--now', now.toISOString());
    expect(stderr).toBe('');
    expect(report.errors).toEqual([]);
    expect(report.certificates.map((c) => [c.name, c.daysLeft, c.status, c.isCA, c.keyType])).toEqual([
      [`${namespace}/web-ecdsa:tls.crt#1`, 10, 'crit', false, 'ECDSA P-256'],
      [`${namespace}/tls-rancher-ingress:tls.crt#1`, 40, 'ok', false, 'RSA 2048'],
      [`${namespace}/tls-ca:cacerts.pem#1`, 1825, 'ok', true, 'RSA 2048'],
      [`${namespace}/tls-rancher-ingress:tls.crt#2`, 1825, 'ok', true, 'RSA 2048'],
      [`${namespace}/tls-ca:cacerts.pem#2`, 3650, 'ok', true, 'RSA 2048'],
      [`${namespace}/web-ecdsa:ca.crt#1`, 3650, 'ok', true, 'RSA 2048'],
    ]);
    expect(new Set(report.certificates.map((c) => c.source))).toEqual(new Set(['secrets:testbed-1']));
    const ingress = report.certificates[1];
    expect(ingress.subject).toBe('CN=rancher.example.com');
    expect(ingress.issuer).toBe('CN=private-intermediate');
    expect(ingress.dnsNames).toEqual(['rancher.example.com']);
    expect(code).toBe(2);
    expect(report.exitCode).toBe(2);
  });

  test('without --namespace, reads all namespaces (paged) with the chosen context', async () => {
    const { report } = await check('--secrets', '--kubeconfig', env.KUBECONFIG, '--context', 'testbed-1', '--now', now.toISOString());
    expect(report.errors).toEqual([]);
    const ours = report.certificates.filter((c) => c.name.startsWith(`${namespace}/`)).map((c) => c.name).sort();
    expect(ours).toEqual([
      `${namespace}/tls-ca:cacerts.pem#1`,
      `${namespace}/tls-ca:cacerts.pem#2`,
      `${namespace}/tls-rancher-ingress:tls.crt#1`,
      `${namespace}/tls-rancher-ingress:tls.crt#2`,
      `${namespace}/web-ecdsa:ca.crt#1`,
      `${namespace}/web-ecdsa:tls.crt#1`,
    ]);
  });

  test('--warn/--crit move the verdict: 10 days left with --crit 7d is a warning (exit 1)', async () => {
    const { code, report } = await check('--secrets', '--kubeconfig', env.KUBECONFIG, '--namespace', namespace, '--now', now.toISOString(), '--crit', '7d');
    expect(report.certificates[0]).toMatchObject({ name: `${namespace}/web-ecdsa:tls.crt#1`, status: 'warn' });
    expect(code).toBe(1);
  });

  test('a namespace without certificates: nothing found, exit 0', async () => {
    const { code, report } = await check('--secrets', '--kubeconfig', env.KUBECONFIG, '--namespace', `${namespace}-empty`);
    expect(report.errors).toEqual([]);
    expect(report.certificates).toEqual([]);
    expect(code).toBe(0);
  });
});

describe('check --kubeconfig and --endpoint on the test bed', () => {
  test("reads the test bed kubeconfig's admin client certificate and serving CA", async () => {
    const { code, report } = await check('--kubeconfig', env.KUBECONFIG);
    expect(report.errors).toEqual([]);
    const byName = new Map(report.certificates.map((c) => [c.name, c]));
    expect(byName.get('users/testbed-1-admin:client-certificate-data#1')).toMatchObject({ isCA: false, subject: 'O=system:masters, CN=testbed-admin' });
    expect(byName.get('clusters/testbed-1:certificate-authority-data#1')).toMatchObject({ isCA: true, selfSigned: true });
    expect(report.certificates.every((c) => c.daysLeft > 0)).toBe(true);
    expect(code).toBeLessThan(3);
  });

  test("reads the API server's serving certificate over TLS", async () => {
    const url = new URL(env.TESTBED_APISERVER_1);
    const endpoint = `${url.hostname}:${url.port}`;
    const { code, report } = await check('--endpoint', endpoint);
    expect(report.errors).toEqual([]);
    expect(report.certificates.length).toBeGreaterThanOrEqual(1);
    const leaf = report.certificates.find((c) => c.name === `${endpoint}#1`)!;
    expect(leaf).toBeDefined();
    expect(leaf.source).toBe(`endpoint:${endpoint}`);
    expect(leaf.subject).not.toBe('');
    expect(leaf.issuer).not.toBe('');
    expect(leaf.isCA).toBe(false);
    expect(leaf.ipAddresses).toContain('127.0.0.1');
    expect(leaf.daysLeft).toBeGreaterThan(0);
    const servingCa = new X509Certificate(fs.readFileSync(path.join(env.TESTBED_DIR, 'clusters/1/pki/serving-ca.crt')));
    expect(leaf.issuer).toBe(servingCa.subject.split('\n').join(', '));
    // Any further certificate of the served chain is a CA.
    expect(report.certificates.filter((c) => c.name !== `${endpoint}#1`).every((c) => c.isCA)).toBe(true);
    expect(code).toBeLessThan(3);
  });
});
