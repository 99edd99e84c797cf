import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { describeCertificate, parseCertificate, parseCertificates } from '../../../lib/pki';
import {
  EXPECTED_KEY_TYPE,
  expectInputError,
  makeOpensslChain,
  makeOpensslSelfSigned,
  makeOpensslServerCertificate,
  openssl,
  opensslCertToDer,
  OpensslChain,
  OpensslKeyType,
  opensslSerial,
  opensslSha256Fingerprint,
} from '../../support/pki';

const KEY_TYPES: OpensslKeyType[] = ['rsa', 'ec-p256', 'ec-p384', 'ed25519'];
const NOT_BEFORE = new Date('2025-01-01T00:00:00Z');

describe('parseCertificates (openssl-made chains)', () => {
  let dir: string;
  const chains = {} as Record<OpensslKeyType, OpensslChain>;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-cert-'));
    for (const keyType of KEY_TYPES) {
      chains[keyType] = makeOpensslChain(path.join(dir, keyType), {
        keyType,
        hostname: 'rancher.example.com',
        dnsNames: ['rancher.example.com', '*.Rancher.Example.com'],
        ipAddresses: ['10.0.0.1', '2001:DB8:0:0:0:0:0:1'],
        notBefore: NOT_BEFORE,
        days: 90,
        caNotBefore: new Date('2024-06-01T12:30:00Z'),
        caName: keyType,
      });
    }
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each(KEY_TYPES)('GIVEN an openssl %s chain WHEN tls.crt is parsed THEN every field matches openssl', (keyType) => {
    const chain = chains[keyType];
    const certs = parseCertificates(fs.readFileSync(chain.tlsCrt), chain.tlsCrt, 'tls.crt');

    expect(certs).toHaveLength(2);
    const [leaf, intermediate] = certs;
    expect(leaf.sha256Fingerprint).toBe(opensslSha256Fingerprint(chain.leafCert));
    expect(leaf.serialNumber).toBe(opensslSerial(chain.leafCert));
    expect(intermediate.sha256Fingerprint).toBe(opensslSha256Fingerprint(chain.intermediateCert));
    expect(intermediate.serialNumber).toBe(opensslSerial(chain.intermediateCert));
    expect(leaf.keyType).toBe(EXPECTED_KEY_TYPE[keyType]);
    expect(intermediate.keyType).toBe(EXPECTED_KEY_TYPE[keyType]);
    expect(leaf.subject).toBe('CN=rancher.example.com');
    expect(leaf.subjectCommonName).toBe('rancher.example.com');
    expect(leaf.issuer).toBe(`O=cert-rotation tests, CN=${keyType} Intermediate CA`);
    expect(intermediate.subject).toBe(`O=cert-rotation tests, CN=${keyType} Intermediate CA`);
    expect(intermediate.issuer).toBe(`O=cert-rotation tests, CN=${keyType} Root CA`);
    expect(leaf.notBefore.toISOString()).toBe('2025-01-01T00:00:00.000Z');
    expect(leaf.notAfter.toISOString()).toBe('2025-04-01T00:00:00.000Z');
    expect(intermediate.notBefore.toISOString()).toBe('2024-06-01T12:30:00.000Z');
    expect(leaf.dnsNames).toEqual(['rancher.example.com', '*.rancher.example.com']);
    expect(leaf.ipAddresses).toEqual(['10.0.0.1', '2001:db8::1']);
    expect(leaf.isCA).toBe(false);
    expect(leaf.selfSigned).toBe(false);
    expect(intermediate.isCA).toBe(true);
    expect(intermediate.selfSigned).toBe(false);
    expect(leaf.pem).toBe(fs.readFileSync(chain.leafCert, 'utf8'));
    expect(leaf.der.equals(fs.readFileSync(opensslCertToDer(chain.leafCert, path.join(chain.dir, 'leaf.der'))))).toBe(true);
    expect(leaf.x509.checkIssued(intermediate.x509)).toBe(true);
  });

  test.each(KEY_TYPES)('GIVEN the %s root WHEN parsed THEN it is a self-signed CA', (keyType) => {
    const root = parseCertificate(fs.readFileSync(chains[keyType].rootCert, 'utf8'), chains[keyType].rootCert, 'cacerts.pem');
    expect(root.isCA).toBe(true);
    expect(root.selfSigned).toBe(true);
    expect(root.subject).toBe(root.issuer);
    expect(root.notAfter.toISOString()).toBe('2034-05-30T12:30:00.000Z');
  });

  test('GIVEN the fingerprint from `openssl x509 -fingerprint` WHEN compared literally THEN only case and colons differ', () => {
    const out = openssl(['x509', '-in', chains.rsa.leafCert, '-noout', '-fingerprint', '-sha256']).trim();
    const leaf = parseCertificate(fs.readFileSync(chains.rsa.leafCert), chains.rsa.leafCert, 'tls.crt');
    expect(out).toBe(`sha256 Fingerprint=${leaf.sha256Fingerprint.toUpperCase().match(/../g)!.join(':')}`);
  });

  test('GIVEN a bundle with a key block and text in between WHEN parsed THEN only certificates come back, in order', () => {
    const c = chains['ec-p256'];
    const text = [
      'subject=CN = rancher.example.com',
      fs.readFileSync(c.leafCert, 'utf8'),
      fs.readFileSync(c.leafKey, 'utf8'),
      fs.readFileSync(c.intermediateCert, 'utf8'),
      fs.readFileSync(c.rootCert, 'utf8'),
    ].join('\r\n');
    const certs = parseCertificates(text, '/x/bundle.pem', 'tls.crt');
    expect(certs.map(describeCertificate)).toEqual([
      'CN=rancher.example.com',
      'CN=ec-p256 Intermediate CA',
      'CN=ec-p256 Root CA',
    ]);
  });

  test('GIVEN DER bytes WHEN parseCertificate THEN the certificate is read', () => {
    const c = chains.ed25519;
    const der = fs.readFileSync(opensslCertToDer(c.rootCert, path.join(c.dir, 'root.der')));
    const root = parseCertificate(der, '/x/root.der', 'cacerts.pem');
    expect(root.sha256Fingerprint).toBe(opensslSha256Fingerprint(c.rootCert));
    expect(root.keyType).toBe('Ed25519');
  });

  test('GIVEN only a key WHEN parsed as certificates THEN the error lists what the file holds', () => {
    const c = chains.rsa;
    expectInputError(() => parseCertificates(fs.readFileSync(c.leafKey), c.leafKey, 'tls.crt'), {
      file: c.leafKey,
      field: 'tls.crt',
      problem: /tls\.crt holds no CERTIFICATE block \(it holds: PRIVATE KEY\)/,
      fix: /write the PEM server certificate followed by its intermediate CA certificate\(s\) into this file/,
    });
  });

  test('GIVEN two certificates WHEN parseCertificate expects one THEN the error says how many', () => {
    const c = chains.rsa;
    expectInputError(() => parseCertificate(fs.readFileSync(c.tlsCrt, 'utf8'), c.tlsCrt, 'tls.crt'), {
      file: c.tlsCrt,
      field: 'tls.crt',
      problem: /holds 2 certificates where exactly one is expected/,
      fix: /keep only the one certificate/,
    });
  });

  test('GIVEN a CERTIFICATE block that holds a CSR WHEN parsed THEN the error names the block and OpenSSL reason', () => {
    const c = chains['ec-p384'];
    const csrPem = openssl(['req', '-new', '-key', c.leafKey, '-subj', '/CN=x', '-config', '/dev/null']).replace(
      /CERTIFICATE REQUEST/g,
      'CERTIFICATE',
    );
    expectInputError(
      () => parseCertificates(fs.readFileSync(c.leafCert, 'utf8') + csrPem, '/x/tls.crt', 'tls.crt'),
      {
        file: '/x/tls.crt',
        field: 'tls.crt',
        problem: /in tls\.crt, certificate 2 of 2 \(PEM block on line \d+\) is not a valid X\.509 certificate \(.+\)/,
        fix: /export the PEM server certificate followed by its intermediate CA certificate\(s\) again in PEM format/,
      },
    );
  });

  test('GIVEN an OpenSSL TRUSTED CERTIFICATE WHEN parsed THEN the fix converts it', () => {
    const c = chains['ec-p256'];
    const trusted = openssl(['x509', '-in', c.rootCert, '-trustout', '-addtrust', 'serverAuth']);
    expect(trusted).toContain('-----BEGIN TRUSTED CERTIFICATE-----');
    expectInputError(() => parseCertificates(trusted, '/x/cacerts.pem', 'cacerts.pem'), {
      file: '/x/cacerts.pem',
      field: 'cacerts.pem',
      problem: /holds no CERTIFICATE block \(it holds: TRUSTED CERTIFICATE\)/,
      fix: /`openssl x509 -in \/x\/cacerts\.pem -out \/x\/cacerts\.pem\.pem`/,
    });
  });

  test('GIVEN a subject with several RDNs and a comma WHEN parsed THEN it is one escaped line in certificate order', () => {
    const c = chains['ec-p256'];
    const out = path.join(c.dir, 'names.crt');
    openssl([
      'req', '-x509', '-key', c.leafKey, '-out', out, '-days', '1', '-config', '/dev/null',
      '-subj', '/C=US/O=Acme, Inc./OU=Platform/CN=rancher.acme.test',
      '-addext', 'subjectAltName=DNS:rancher.acme.test',
    ]);
    const cert = parseCertificate(fs.readFileSync(out), out, 'tls.crt');
    expect(cert.subject).toBe('C=US, O=Acme\\, Inc., OU=Platform, CN=rancher.acme.test');
    expect(cert.subjectCommonName).toBe('rancher.acme.test');
    expect(cert.selfSigned).toBe(true);
  });

  test('GIVEN a certificate without subjectAltName WHEN parsed THEN the SAN lists are empty', () => {
    const c = chains.ed25519;
    const { cert } = makeOpensslServerCertificate({
      chain: c,
      name: 'no-san',
      keyType: 'ed25519',
      hostname: 'legacy.example.com',
      dnsNames: [],
      notBefore: NOT_BEFORE,
      notAfter: new Date('2025-02-01T00:00:00Z'),
      keyFile: c.leafKey,
    });
    const info = parseCertificate(fs.readFileSync(cert), cert, 'tls.crt');
    expect(info.dnsNames).toEqual([]);
    expect(info.ipAddresses).toEqual([]);
    expect(info.subjectCommonName).toBe('legacy.example.com');
    expect(info.notAfter.toISOString()).toBe('2025-02-01T00:00:00.000Z');
  });

  test('GIVEN a certificate valid after 2049 WHEN parsed THEN GeneralizedTime dates are read', () => {
    const { cert } = makeOpensslSelfSigned(path.join(dir, 'far'), 'far', {
      keyType: 'ec-p256',
      commonName: 'Far Future CA',
      notBefore: new Date('2049-12-31T00:00:00Z'),
      days: 3,
    });
    const info = parseCertificate(fs.readFileSync(cert), cert, 'cacerts.pem');
    expect(info.notBefore.toISOString()).toBe('2049-12-31T00:00:00.000Z');
    expect(info.notAfter.toISOString()).toBe('2050-01-03T00:00:00.000Z');
  });
});
