import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { ConfigError } from '../../../lib/config/config-error';
import { loadConfig } from '../../../lib/config/load-config';
import { generateCa } from '../../../lib/pki';
import { issueServerCertificate, makePrivateCa, opensslCertToDer, opensslEncryptedKey, removeDir, tempDir, writeRancherFiles } from '../../support/pki';

const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86400_000;
const HOST = 'rancher.example.com';

// GIVEN a directory with valid tls.crt, tls.key and cacerts.pem and a config pointing at them,
// WHEN one thing is wrong, THEN loadConfig throws a ConfigError naming the
// config file, the field, the certificate file and a fix.
describe('loadConfig', () => {
  let dir: string;
  const ca = makePrivateCa('Unit', { now: NOW });

  beforeEach(() => {
    dir = tempDir('cfg-');
    writeRancherFiles(path.join(dir, 'certs'), ca, HOST, { now: NOW });
    fs.writeFileSync(path.join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
  });
  afterEach(() => removeDir(dir));

  function config(overrides: Record<string, unknown> = {}, certificate: Record<string, unknown> = {}): string {
    const file = path.join(dir, 'cert-rotation.yaml');
    fs.writeFileSync(file, stringify({
      rancher: {
        kubeconfig: 'kubeconfig',
        hostname: HOST,
        certificate: { certFile: 'certs/tls.crt', keyFile: 'certs/tls.key', caFile: 'certs/cacerts.pem', ...certificate },
        ...overrides,
      },
      downstream: [{ name: 'prod-eu', kubeconfig: 'kubeconfig', context: 'eu' }],
    }));
    return file;
  }

  function expectConfigError(file: string, field: string, ...fragments: RegExp[]): ConfigError {
    let error: unknown;
    try {
      loadConfig(file, { now: NOW });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const ce = error as ConfigError;
    expect(ce.field).toBe(field);
    expect(ce.message).toContain(file);
    expect(ce.message).toMatch(/Fix: \S/);
    expect(ce.message.match(/Fix:/g)).toHaveLength(1);
    for (const f of fragments) expect(ce.message).toMatch(f);
    return ce;
  }

  test('a valid file resolves paths, privateCa and the CA checksum', () => {
    const c = loadConfig(config(), { now: NOW });
    expect(c.rancher.kubeconfig).toBe(path.join(dir, 'kubeconfig'));
    expect(c.rancher.privateCa).toBe(true);
    expect(c.rancher.certificate.caBundle?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(c.rancher.certificate.chain.map((x) => x.subjectCommonName)).toEqual([HOST, 'Unit Intermediate CA']);
    expect(c.downstream).toEqual([{ name: 'prod-eu', kubeconfig: path.join(dir, 'kubeconfig'), context: 'eu' }]);
    expect(c.rancher.renewBefore).toBe(30 * DAY);
  });

  test('key not matching the certificate', () => {
    const other = issueServerCertificate(ca, HOST, { now: NOW, days: 90 });
    fs.writeFileSync(path.join(dir, 'certs/other.key'), other.keyPem);
    expectConfigError(config({}, { keyFile: 'certs/other.key' }), 'rancher.certificate.keyFile', /does not match/, /other\.key/);
  });

  test('intermediate missing from tls.crt and from cacerts.pem', () => {
    const leafOnly = fs.readFileSync(path.join(dir, 'certs/tls.crt'), 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/)[0];
    fs.writeFileSync(path.join(dir, 'certs/leaf.crt'), leafOnly);
    fs.writeFileSync(path.join(dir, 'certs/root.pem'), ca.root.certPem);
    expectConfigError(config({}, { certFile: 'certs/leaf.crt', caFile: 'certs/root.pem' }), 'rancher.certificate.caFile', /intermediate/i);
  });

  test('intermediates out of order in tls.crt', () => {
    const [leaf, intermediate] = fs.readFileSync(path.join(dir, 'certs/tls.crt'), 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/);
    fs.writeFileSync(path.join(dir, 'certs/swapped.crt'), intermediate + leaf);
    expectConfigError(config({}, { certFile: 'certs/swapped.crt' }), 'rancher.certificate.certFile', /swapped\.crt/);
  });

  test('root before intermediate in cacerts.pem', () => {
    fs.writeFileSync(path.join(dir, 'certs/cacerts.pem'), ca.root.certPem + ca.intermediate.certPem);
    expectConfigError(config(), 'rancher.certificate.caFile', /root/i, /cacerts\.pem/);
  });

  test('expired and not-yet-valid certificates', () => {
    writeRancherFiles(path.join(dir, 'old'), ca, HOST, { now: new Date(NOW.getTime() - 400 * DAY), days: 365 });
    expectConfigError(config({}, { certFile: 'old/tls.crt', keyFile: 'old/tls.key' }), 'rancher.certificate.certFile', /expired/);
    writeRancherFiles(path.join(dir, 'future'), ca, HOST, { now: new Date(NOW.getTime() + 10 * DAY), days: 365 });
    expectConfigError(config({}, { certFile: 'future/tls.crt', keyFile: 'future/tls.key' }), 'rancher.certificate.certFile', /not (yet )?valid/);
  });

  test('hostname not covered by the SANs', () => {
    expectConfigError(config({ hostname: 'other.example.com' }), 'rancher.certificate.certFile', /other\.example\.com/);
  });

  test('DER where PEM is expected', () => {
    opensslCertToDer(path.join(dir, 'certs/tls.crt'), path.join(dir, 'certs/tls.der'));
    expectConfigError(config({}, { certFile: 'certs/tls.der' }), 'rancher.certificate.certFile', /DER/, /openssl x509 -inform der/);
  });

  test('encrypted key', () => {
    opensslEncryptedKey(path.join(dir, 'certs/tls.key'), path.join(dir, 'certs/enc.key'), 'pkcs8');
    expectConfigError(config({}, { keyFile: 'certs/enc.key' }), 'rancher.certificate.keyFile', /encrypted/);
  });

  test('empty and truncated files', () => {
    fs.writeFileSync(path.join(dir, 'certs/empty.crt'), '');
    expectConfigError(config({}, { certFile: 'certs/empty.crt' }), 'rancher.certificate.certFile', /empty/);
    const text = fs.readFileSync(path.join(dir, 'certs/tls.crt'), 'utf8');
    fs.writeFileSync(path.join(dir, 'certs/cut.crt'), text.slice(0, 300));
    expectConfigError(config({}, { certFile: 'certs/cut.crt' }), 'rancher.certificate.certFile', /truncated|END/i);
  });

  test('inside the renew-before window is a warning, not an error', () => {
    writeRancherFiles(path.join(dir, 'soon'), ca, HOST, { now: new Date(NOW.getTime() - 355 * DAY), days: 365 });
    const c = loadConfig(config({ renewBefore: '30d' }, { certFile: 'soon/tls.crt', keyFile: 'soon/tls.key' }), { now: NOW });
    expect(c.rancher.certificate.warnings.map((w) => w.id)).toContain('cert-rotation:expiresSoon');
  });

  test('field errors name the field and the fix', () => {
    expectConfigError(config({ hostnme: 'x' }), 'rancher.hostnme', /not a known key/, /did you mean 'hostname'/);
    expectConfigError(config({ renewBefore: 'soon' }), 'rancher.renewBefore', /not a duration/);
    expectConfigError(config({ release: { mode: 'helm', chart: 'c', version: '1' } }), 'rancher.release.mode', /managed, external/);
    expectConfigError(config({ restartWorkloads: ['Pod/kube-system/x'] }), 'rancher.restartWorkloads[0]', /Kind\/namespace\/name/);
    expectConfigError(config({}, { keyFile: 'certs/missing.key' }), 'rancher.certificate.keyFile', /does not exist/);
    expectConfigError(config({ privateCa: true }, { caFile: undefined }), 'rancher.privateCa', /caFile/);
  });

  test('values the constructs would reject are rejected here first, by the same rule', () => {
    // GIVEN a hostname in upper case, a wildcard hostname and a namespace that is no DNS label
    // THEN each is one ConfigError naming the field and the fix, before any synth
    expectConfigError(config({ hostname: 'Rancher.Example.com' }), 'rancher.hostname', /upper-case/, /'rancher.example.com'/);
    expectConfigError(config({ hostname: '*.example.com' }), 'rancher.hostname', /wildcard/, /'rancher.example.com'/);
    expectConfigError(
      config({ release: { mode: 'external', chart: 'c', version: '1', namespace: 'Cattle' } }),
      'rancher.release.namespace',
      /not a valid Kubernetes namespace name/,
    );
  });

  test('a private key never appears in an error message', () => {
    const keyPem = fs.readFileSync(path.join(dir, 'certs/tls.key'), 'utf8');
    const other = generateCa({ commonName: 'Other', notBefore: NOW, notAfter: new Date(NOW.getTime() + DAY) });
    fs.writeFileSync(path.join(dir, 'certs/other.crt'), other.certPem);
    try {
      loadConfig(config({}, { certFile: 'certs/other.crt' }), { now: NOW });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const body = keyPem.split('\n').filter((l) => l && !l.startsWith('-----'));
      for (const line of body) expect((e as Error).message).not.toContain(line);
    }
  });

  test('a directory, an oversized file and a YAML alias bomb are one ConfigError each, not a stack trace', () => {
    expectConfigError(dir, '(file)', /is a directory/, /path of the YAML file itself/);
    const big = path.join(dir, 'big.yaml');
    fs.writeFileSync(big, `# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    expectConfigError(big, '(file)', /more than a configuration file needs/);
    const bomb = path.join(dir, 'bomb.yaml');
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    fs.writeFileSync(bomb, `${levels.join('\n')}\nrancher: *i\n`);
    expectConfigError(bomb, '(file)', /cannot be read as configuration/, /write the values out/);
  });

  test('weak crypto is refused unless rancher.certificate.allowWeak is true', () => {
    const weakKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const short = issueServerCertificate(ca, HOST, { now: NOW, keyPem: weakKey });
    fs.writeFileSync(path.join(dir, 'certs/short.crt'), short.certPem + ca.intermediate.certPem);
    fs.writeFileSync(path.join(dir, 'certs/short.key'), short.keyPem);
    const certificate = { certFile: 'certs/short.crt', keyFile: 'certs/short.key' };
    expectConfigError(config({}, certificate), 'rancher.certificate.certFile', /RSA 1024 key/, /allowWeak: true/);
    const loaded = loadConfig(config({}, { ...certificate, allowWeak: true }), { now: NOW });
    expect(loaded.rancher.certificate.warnings.map((w) => w.id)).toContain('cert-rotation:weakCrypto');
  });
});
