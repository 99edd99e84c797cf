import { createPublicKey } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  createCsr,
  generateCa,
  generateLeaf,
  IssuedCertificate,
  isIssuedBy,
  keyMatchesCertificate,
  parseCertificate,
  parsePrivateKey,
  verifyCaBundle,
  verifyChain,
} from '../../../lib/pki';
import { openssl, opensslKey, opensslSerial, opensslSha256Fingerprint } from '../../support/pki';

const NOT_BEFORE = new Date('2025-01-01T00:00:00Z');
const CA_END = new Date('2035-01-01T00:00:00Z');

describe('issue (node-forge generator)', () => {
  let dir: string;
  let root: IssuedCertificate;
  let intermediate: IssuedCertificate;
  let leaf: IssuedCertificate;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-issue-'));
    root = generateCa({ commonName: 'Issue Root CA', organization: 'cert-rotation tests', notBefore: NOT_BEFORE, notAfter: CA_END });
    intermediate = generateCa({
      commonName: 'Issue Intermediate CA',
      notBefore: NOT_BEFORE,
      notAfter: CA_END,
      issuer: root,
      pathLength: 0,
    });
    leaf = generateLeaf({
      commonName: 'rancher.example.com',
      dnsNames: ['rancher.example.com', 'rancher-alt.example.com'],
      ipAddresses: ['10.0.0.5', '2001:db8::5'],
      notBefore: NOT_BEFORE,
      notAfter: new Date('2025-04-01T00:00:00Z'),
      issuer: intermediate,
      serialNumber: '0badc0ffee',
    });
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, text: string) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, text);
    return file;
  };

  test('GIVEN default options WHEN a root is generated THEN it is a self-signed RSA 2048 CA with LF PEM', () => {
    const info = parseCertificate(root.certPem, '/x/root', 'cacerts.pem');
    expect(info.isCA).toBe(true);
    expect(info.selfSigned).toBe(true);
    expect(info.keyType).toBe('RSA 2048');
    expect(info.subject).toBe('O=cert-rotation tests, CN=Issue Root CA');
    expect(info.notBefore.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(info.notAfter.toISOString()).toBe('2035-01-01T00:00:00.000Z');
    expect(root.certPem).not.toContain('\r');
    expect(root.certPem).toBe(info.pem);
    expect(root.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(keyMatchesCertificate(parsePrivateKey(root.keyPem, '/x/root.key'), info)).toBe(true);
  });

  test('GIVEN the forge chain WHEN openssl verifies it at a fixed time THEN openssl accepts it', () => {
    const rootFile = write('root.pem', root.certPem);
    const intFile = write('int.pem', intermediate.certPem);
    const leafFile = write('leaf.pem', leaf.certPem);
    const at = String(Math.floor(new Date('2025-02-01T00:00:00Z').getTime() / 1000));
    const out = openssl(['verify', '-attime', at, '-purpose', 'sslserver', '-CAfile', rootFile, '-untrusted', intFile, leafFile]);
    expect(out.trim()).toBe(`${leafFile}: OK`);
    const text = openssl(['x509', '-in', leafFile, '-noout', '-text']);
    expect(text).toMatch(/DNS:rancher\.example\.com, DNS:rancher-alt\.example\.com, IP Address:10\.0\.0\.5, IP Address:2001:DB8:0:0:0:0:0:5/);
    expect(text).toMatch(/TLS Web Server Authentication/);
    expect(openssl(['x509', '-in', intFile, '-noout', '-ext', 'basicConstraints'])).toMatch(/CA:TRUE, pathlen:0/);
  });

  test('GIVEN the forge chain WHEN lib/pki parses and verifies it THEN fields match openssl', () => {
    const leafFile = write('leaf2.pem', leaf.certPem);
    const info = parseCertificate(leaf.certPem, leafFile, 'tls.crt');
    expect(info.serialNumber).toBe('0badc0ffee');
    expect(info.serialNumber).toBe(opensslSerial(leafFile));
    expect(info.sha256Fingerprint).toBe(opensslSha256Fingerprint(leafFile));
    expect(info.dnsNames).toEqual(['rancher.example.com', 'rancher-alt.example.com']);
    expect(info.ipAddresses).toEqual(['10.0.0.5', '2001:db8::5']);
    expect(info.issuer).toBe('CN=Issue Intermediate CA');
    const int = parseCertificate(intermediate.certPem, '/x/int', 'cacerts.pem');
    const rootInfo = parseCertificate(root.certPem, '/x/root', 'cacerts.pem');
    expect(() => verifyChain([info, int], '/x/tls.crt')).not.toThrow();
    expect(() => verifyCaBundle([int, rootInfo], '/x/cacerts.pem')).not.toThrow();
    expect(isIssuedBy(int, rootInfo)).toBe(true);
  });

  test('GIVEN a key to reuse WHEN certificates are issued THEN they certify that key', () => {
    const again = generateLeaf({
      commonName: 'again.example.com',
      dnsNames: ['again.example.com'],
      notBefore: NOT_BEFORE,
      notAfter: new Date('2025-02-01T00:00:00Z'),
      issuer: intermediate,
      keyPem: leaf.keyPem,
    });
    expect(again.keyPem).toBe(leaf.keyPem);
    const a = parseCertificate(again.certPem, '/x/a', 'tls.crt');
    const b = parseCertificate(leaf.certPem, '/x/b', 'tls.crt');
    expect(a.x509.publicKey.export({ type: 'spki', format: 'der' }).equals(b.x509.publicKey.export({ type: 'spki', format: 'der' }))).toBe(
      true,
    );
    expect(a.serialNumber).not.toBe(b.serialNumber);
  });

  test.each([
    ['server', ['1.3.6.1.5.5.7.3.1'], /TLS Web Server Authentication$/m],
    ['client', ['1.3.6.1.5.5.7.3.2'], /TLS Web Client Authentication$/m],
    ['both', ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2'], /TLS Web Server Authentication, TLS Web Client Authentication$/m],
  ] as const)('GIVEN usage %s WHEN a leaf is generated THEN extKeyUsage says so, and no names means no subjectAltName', (usage, oids, text) => {
    const made = generateLeaf({
      commonName: 'kubernetes-admin',
      organization: 'system:masters',
      dnsNames: [],
      notBefore: NOT_BEFORE,
      notAfter: new Date('2025-02-01T00:00:00Z'),
      issuer: intermediate,
      keyPem: leaf.keyPem,
      usage,
    });
    const info = parseCertificate(made.certPem, '/x/admin.crt', 'client.crt');
    expect([...info.x509.keyUsage].sort()).toEqual(oids);
    expect(info.subject).toBe('O=system:masters, CN=kubernetes-admin');
    expect(info.x509.subjectAltName).toBeUndefined();
    const file = write(`admin-${usage}.crt`, made.certPem);
    expect(openssl(['x509', '-in', file, '-noout', '-ext', 'extendedKeyUsage'])).toMatch(text);
  });

  test('GIVEN an openssl PKCS#1 RSA key WHEN used for a CA THEN the generator accepts it', () => {
    const keyFile = opensslKey(path.join(dir, 'ossl.key'), 'rsa');
    const pkcs1 = openssl(['pkey', '-in', keyFile, '-traditional']);
    const ca = generateCa({ commonName: 'PKCS1 CA', notBefore: NOT_BEFORE, notAfter: CA_END, keyPem: pkcs1 });
    const info = parseCertificate(ca.certPem, '/x/ca', 'cacerts.pem');
    expect(keyMatchesCertificate(parsePrivateKey(pkcs1, keyFile), info)).toBe(true);
  });

  test('GIVEN a CSR request WHEN created THEN openssl verifies its signature and sees the SANs', () => {
    const { csrPem, keyPem } = createCsr({
      commonName: 'rancher.example.com',
      dnsNames: ['rancher.example.com'],
      ipAddresses: ['10.0.0.9'],
      keyPem: leaf.keyPem,
    });
    expect(csrPem).toMatch(/^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+\n-----END CERTIFICATE REQUEST-----\n$/);
    expect(csrPem).not.toContain('\r');
    expect(keyPem).toBe(leaf.keyPem);
    const csrFile = write('req.csr', csrPem);
    const text = openssl(['req', '-in', csrFile, '-noout', '-verify', '-text']);
    expect(text).toMatch(/Subject: CN = rancher\.example\.com/);
    expect(text).toMatch(/DNS:rancher\.example\.com, IP Address:10\.0\.0\.9/);
    const pubFromCsr = openssl(['req', '-in', csrFile, '-noout', '-pubkey']);
    expect(createPublicKey(pubFromCsr).export({ type: 'spki', format: 'der' })).toEqual(
      createPublicKey(keyPem).export({ type: 'spki', format: 'der' }),
    );
  });

  test('GIVEN no key but keyBits WHEN a CSR is created THEN a new key of that size comes with it', () => {
    const { keyPem } = createCsr({ commonName: 'new.example.com', dnsNames: ['new.example.com'], keyBits: 1024 });
    expect(parsePrivateKey(keyPem, '/x/new.key').asymmetricKeyDetails?.modulusLength).toBe(1024);
  });

  test('GIVEN notAfter before notBefore WHEN generating THEN the error names both props', () => {
    expect(() => generateCa({ commonName: 'Bad', notBefore: CA_END, notAfter: NOT_BEFORE, keyPem: root.keyPem })).toThrow(
      "'notBefore' (2035-01-01T00:00:00.000Z) must be before 'notAfter' (2025-01-01T00:00:00.000Z).",
    );
  });

  test('GIVEN a too small key size WHEN generating THEN the error names keyBits', () => {
    expect(() => generateCa({ commonName: 'Bad', notBefore: NOT_BEFORE, notAfter: CA_END, keyBits: 512 })).toThrow(
      /'keyBits' \(512\) must be a whole number of at least 1024/,
    );
  });

  test('GIVEN an EC issuer WHEN generating THEN the error says the generator signs with RSA only', () => {
    const ecKey = opensslKey(path.join(dir, 'ec.key'), 'ec-p256');
    const ecCert = path.join(dir, 'ec.crt');
    openssl(['req', '-x509', '-config', '/dev/null', '-key', ecKey, '-subj', '/CN=EC CA', '-days', '1', '-out', ecCert]);
    expect(() =>
      generateLeaf({
        commonName: 'x',
        dnsNames: ['x'],
        notBefore: NOT_BEFORE,
        notAfter: CA_END,
        issuer: { certPem: fs.readFileSync(ecCert, 'utf8'), keyPem: fs.readFileSync(ecKey, 'utf8') },
        keyPem: root.keyPem,
      }),
    ).toThrow(/'issuer\.certPem' is not an RSA certificate in PEM; this generator signs with RSA CAs only\./);
  });
});
