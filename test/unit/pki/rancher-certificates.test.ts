import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CertificateInputError,
  CertificateWarningIds,
  loadServerCertificate,
  LoadServerCertificateOptions,
  parseDuration,
  ServerCertificate,
} from '../../../lib/pki';
import { certificateMetadata } from '../../../lib/contract';
import {
  EXPECTED_KEY_TYPE,
  expectInputError,
  makeOpensslChain,
  makeOpensslServerCertificate,
  makePrivateCa,
  opensslCertToDer,
  OpensslChain,
  opensslEncryptedKey,
  opensslKey,
  OpensslKeyType,
  opensslSerial,
  opensslSha256Fingerprint,
  pemBodyLines,
  sha256sum,
  writeRancherFiles,
} from '../../support/pki';

const KEY_TYPES: OpensslKeyType[] = ['rsa', 'ec-p256', 'ec-p384', 'ed25519'];
const HOST = 'rancher.example.com';
const NOW = new Date('2025-02-01T00:00:00Z');
const RENEW = parseDuration('28d');

describe('loadServerCertificate', () => {
  let dir: string;
  const chains = {} as Record<OpensslKeyType, OpensslChain>;
  let ec: OpensslChain;
  let shortCa: OpensslChain;
  let expiredCa: OpensslChain;
  let otherEcKey: string;
  let cnOnly: { cert: string; key: string };
  let forgeFiles: { tlsCrt: string; key: string; cacerts: string };

  /** Writes `text` to a new file in the test directory and returns its absolute path. */
  const file = (name: string, text: string | Buffer) => {
    const p = path.join(dir, name);
    fs.writeFileSync(p, text);
    return p;
  };
  const read = (p: string) => fs.readFileSync(p, 'utf8');
  const load = (overrides: Partial<LoadServerCertificateOptions> = {}) =>
    loadServerCertificate({
      certFile: ec.tlsCrt,
      keyFile: ec.leafKey,
      caFile: ec.cacertsPem,
      hostname: HOST,
      now: NOW,
      renewBefore: RENEW,
      ...overrides,
    });
  /** Every key body line of the fixtures; none may ever appear in a result or error. */
  const allKeyLines = () =>
    [...KEY_TYPES.map((k) => chains[k].leafKey), otherEcKey, cnOnly.key, forgeFiles.key].flatMap((k) => pemBodyLines(read(k)));

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-rancher-'));
    for (const keyType of KEY_TYPES) {
      chains[keyType] = makeOpensslChain(path.join(dir, keyType), {
        keyType,
        hostname: HOST,
        dnsNames: [HOST, `*.${HOST}`],
        ipAddresses: ['10.0.0.1'],
        notBefore: new Date('2025-01-01T00:00:00Z'),
        days: 90,
        caName: keyType,
      });
    }
    ec = chains['ec-p256'];
    shortCa = makeOpensslChain(path.join(dir, 'short-ca'), {
      keyType: 'ec-p256',
      hostname: HOST,
      notBefore: new Date('2025-01-01T00:00:00Z'),
      days: 90,
      caNotBefore: new Date('2024-04-15T00:00:00Z'),
      caDays: 365,
      caName: 'Short',
    });
    expiredCa = makeOpensslChain(path.join(dir, 'expired-ca'), {
      keyType: 'ec-p256',
      hostname: HOST,
      notBefore: new Date('2025-01-01T00:00:00Z'),
      days: 90,
      caNotBefore: new Date('2024-03-01T00:00:00Z'),
      caDays: 365,
      caName: 'Expired',
    });
    otherEcKey = opensslKey(path.join(dir, 'other-ec.key'), 'ec-p256');
    cnOnly = makeOpensslServerCertificate({
      chain: ec,
      name: 'cn-only',
      keyType: 'ec-p256',
      hostname: HOST,
      dnsNames: [],
      notBefore: new Date('2025-01-01T00:00:00Z'),
      notAfter: new Date('2025-06-01T00:00:00Z'),
      keyFile: ec.leafKey,
    });
    const validity = { notBefore: new Date('2024-12-01T00:00:00Z'), notAfter: new Date('2026-12-01T00:00:00Z') };
    const forge = writeRancherFiles(path.join(dir, 'forge'), makePrivateCa('Forge', validity), HOST, validity);
    forgeFiles = { tlsCrt: forge.certFile, key: forge.keyFile, cacerts: forge.caFile };
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('happy paths', () => {
    test.each(KEY_TYPES)('GIVEN an openssl %s chain with cacerts.pem WHEN loaded THEN chain, bundle and checksum match openssl', (keyType) => {
      const c = chains[keyType];
      const result = load({ certFile: c.tlsCrt, keyFile: c.leafKey, caFile: c.cacertsPem });

      expect(result.certFile).toBe(c.tlsCrt);
      expect(result.keyFile).toBe(c.leafKey);
      expect(result.caFile).toBe(c.cacertsPem);
      expect(result.chain).toHaveLength(2);
      expect(result.leaf).toBe(result.chain[0]);
      expect(result.leaf.keyType).toBe(EXPECTED_KEY_TYPE[keyType]);
      expect(result.leaf.sha256Fingerprint).toBe(opensslSha256Fingerprint(c.leafCert));
      expect(result.leaf.serialNumber).toBe(opensslSerial(c.leafCert));
      expect(result.chainPem).toBe(read(c.tlsCrt));
      expect(result.caBundle?.certificates?.map((ca) => ca.sha256Fingerprint)).toEqual([
        opensslSha256Fingerprint(c.intermediateCert),
        opensslSha256Fingerprint(c.rootCert),
      ]);
      expect(result.caBundle?.pem).toBe(read(c.cacertsPem));
      expect(result.caBundle?.checksum).toBe(sha256sum(c.cacertsPem));
      expect(result.warnings).toEqual([]);
    });

    test('GIVEN no cacerts.pem WHEN loaded THEN there is no CA part at all', () => {
      const result = load({ caFile: undefined });
      expect(Object.keys(result).sort()).toEqual(['certFile', 'chain', 'chainPem', 'keyFile', 'keyFileSha256', 'leaf', 'warnings']);
    });

    test('GIVEN CRLF files with text around the blocks WHEN loaded THEN chainPem and caPem are canonical and the checksum follows caPem', () => {
      const crlf = (t: string) => t.replace(/\n/g, '\r\n');
      const certFile = file('messy-tls.crt', `subject=CN = ${HOST}\r\n${crlf(read(ec.leafCert))}\r\n\r\nissuer\r\n${crlf(read(ec.intermediateCert))}\r\n\r\n\r\n`);
      const caFile = file('messy-cacerts.pem', crlf(read(ec.cacertsPem)) + '\r\n\r\n');
      const keyFile = file('messy-tls.key', crlf(read(ec.leafKey)));
      const result = load({ certFile, caFile, keyFile });
      expect(result.chainPem).toBe(read(ec.tlsCrt));
      expect(result.chainPem.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
      expect(result.chainPem).not.toContain('\r');
      expect(result.caBundle?.pem).toBe(read(ec.cacertsPem));
      expect(result.caBundle?.checksum).toBe(sha256sum(ec.cacertsPem));
    });

    test('GIVEN a node-forge chain WHEN loaded THEN it passes like an openssl one', () => {
      const result = load({ certFile: forgeFiles.tlsCrt, keyFile: forgeFiles.key, caFile: forgeFiles.cacerts });
      expect(result.leaf.keyType).toBe('RSA 2048');
      expect(result.leaf.issuer).toBe('CN=Forge Intermediate CA');
      expect(result.caBundle?.checksum).toBe(sha256sum(forgeFiles.cacerts));
      expect(result.warnings).toEqual([]);
    });

    test.each(['10.0.0.1', 'x.rancher.example.com', 'RANCHER.EXAMPLE.COM'])('GIVEN hostname %s covered by a SAN WHEN loaded THEN it passes', (hostname) => {
      expect(load({ hostname }).leaf.subjectCommonName).toBe(HOST);
    });

    test('GIVEN the whole chain and root in tls.crt WHEN loaded THEN the served chain keeps all three', () => {
      const certFile = file('full-tls.crt', read(ec.tlsCrt) + read(ec.rootCert));
      const result = load({ certFile });
      expect(result.chain.map((c) => c.subjectCommonName)).toEqual([HOST, 'ec-p256 Intermediate CA', 'ec-p256 Root CA']);
      expect(result.warnings).toEqual([]);
    });

    test('GIVEN any result WHEN serialised THEN no private key material is in it', () => {
      const results: ServerCertificate[] = [
        load(),
        load({ certFile: forgeFiles.tlsCrt, keyFile: forgeFiles.key, caFile: forgeFiles.cacerts }),
        ...KEY_TYPES.map((k) => load({ certFile: chains[k].tlsCrt, keyFile: chains[k].leafKey, caFile: chains[k].cacertsPem })),
      ];
      for (const result of results) {
        const text = JSON.stringify(result, (key, value) => (key === 'x509' ? String(value) : value));
        expect(text).not.toMatch(/PRIVATE KEY/);
        for (const line of allKeyLines()) {
          expect(text).not.toContain(line);
        }
      }
    });
  });

  describe('certificateMetadata', () => {
    test('GIVEN the openssl leaf WHEN annotated THEN the values are openssl’s, in a fixed key order', () => {
      const leaf = load().leaf;
      const metadata = certificateMetadata(leaf);
      expect(Object.keys(metadata)).toEqual([
        'cert-rotation.io/sha256',
        'cert-rotation.io/serial',
        'cert-rotation.io/issuer',
        'cert-rotation.io/not-after',
        'cert-rotation.io/sans',
      ]);
      expect(metadata['cert-rotation.io/sha256']).toBe(opensslSha256Fingerprint(ec.leafCert));
      expect(metadata['cert-rotation.io/serial']).toBe(opensslSerial(ec.leafCert));
      expect(metadata['cert-rotation.io/issuer']).toBe('O=cert-rotation tests, CN=ec-p256 Intermediate CA');
      expect(metadata['cert-rotation.io/not-after']).toBe('2025-04-01T00:00:00Z');
      expect(metadata['cert-rotation.io/sans']).toBe('rancher.example.com,*.rancher.example.com,10.0.0.1');
    });
  });

  describe('warnings', () => {
    test('GIVEN a leaf inside the renew-before window WHEN loaded THEN an expiresSoon warning, not an error', () => {
      const result = load({ now: new Date('2025-03-22T00:00:00Z') });
      expect(result.warnings).toEqual([
        {
          id: 'cert-rotation:expiresSoon',
          message: `${ec.tlsCrt}: certificate CN=rancher.example.com expires on 2025-04-01T00:00:00Z (in 10 days), inside the renew-before window of 28 days; rotate it.`,
        },
      ]);
    });

    test('GIVEN CAs inside the window too WHEN loaded THEN each certificate is warned about once, in the file it is first found', () => {
      const result = load({
        certFile: shortCa.tlsCrt,
        keyFile: shortCa.leafKey,
        caFile: shortCa.cacertsPem,
        now: new Date('2025-03-31T00:00:00Z'),
        renewBefore: parseDuration('3w'),
      });
      expect(result.warnings.map((w) => w.id)).toEqual([
        CertificateWarningIds.EXPIRES_SOON,
        CertificateWarningIds.EXPIRES_SOON,
        CertificateWarningIds.EXPIRES_SOON,
      ]);
      expect(result.warnings.map((w) => w.message)).toEqual([
        `${shortCa.tlsCrt}: certificate CN=rancher.example.com expires on 2025-04-01T00:00:00Z (in 1 day), inside the renew-before window of 21 days; rotate it.`,
        `${shortCa.tlsCrt}: certificate CN=Short Intermediate CA expires on 2025-04-15T00:00:00Z (in 15 days), inside the renew-before window of 21 days; rotate it.`,
        `${shortCa.cacertsPem}: certificate CN=Short Root CA expires on 2025-04-15T00:00:00Z (in 15 days), inside the renew-before window of 21 days; rotate it.`,
      ]);
    });

    test('GIVEN a window in hours WHEN a warning is given THEN the window is shown in fractional days', () => {
      const result = load({ now: new Date('2025-03-31T18:00:00Z'), renewBefore: parseDuration('12h') });
      expect(result.warnings[0].message).toMatch(/\(in 0 days\), inside the renew-before window of 0\.5 days; rotate it\.$/);
    });

    test('GIVEN tls.crt with only the leaf and the intermediate in cacerts.pem WHEN loaded THEN intermediateNotServed', () => {
      const certFile = file('leaf-only.crt', read(ec.leafCert));
      const result = load({ certFile });
      expect(result.chain).toHaveLength(1);
      expect(result.warnings).toEqual([
        {
          id: 'cert-rotation:intermediateNotServed',
          message: `${certFile}: the served chain ends with CN=rancher.example.com, whose issuer CN=ec-p256 Intermediate CA is only in cacerts.pem, so clients that trust only the root cannot verify it; append CN=ec-p256 Intermediate CA to tls.crt after the server certificate.`,
        },
      ]);
    });

    test('GIVEN cacerts.pem with only the root while an intermediate signed the leaf WHEN loaded THEN intermediateNotInCaBundle (Rancher wants the intermediate(s), then the root, in tls-ca)', () => {
      const caFile = file('root-only.pem', read(ec.rootCert));
      const result = load({ caFile });
      expect(result.warnings.map((w) => w.id)).toEqual(['cert-rotation:intermediateNotInCaBundle']);
      expect(result.warnings[0].message).toBe(
        `${caFile}: cacerts.pem holds the root CN=ec-p256 Root CA but not the intermediate CN=ec-p256 Intermediate CA that tls.crt serves, while Rancher expects intermediate(s), then the root; put the intermediate(s) of tls.crt before the root in cacerts.pem.`,
      );
      expect(result.caBundle?.checksum).toBe(sha256sum(ec.rootCert));
    });

    test('GIVEN a private key inside tls.crt WHEN loaded THEN it is left out of chainPem and warned about', () => {
      const certFile = file('with-key.crt', read(ec.leafCert) + read(ec.leafKey) + read(ec.intermediateCert));
      const keyLine = read(ec.leafCert).split('\n').length; // the leaf's lines end with a newline, so this is the next line
      const result = load({ certFile });
      expect(result.chainPem).toBe(read(ec.tlsCrt));
      expect(result.warnings).toEqual([
        {
          id: 'cert-rotation:keyInCertificateFile',
          message: `${certFile}: tls.crt also holds a private key (PEM block on line ${keyLine}), which is left out of the served chain; remove it from this file and keep the key only in ${ec.leafKey}.`,
        },
      ]);
    });
  });

  describe('errors', () => {
    test('GIVEN a key of another certificate WHEN loaded THEN the message is the documented sentence', () => {
      const error = expectInputError(() => load({ keyFile: otherEcKey }), {
        file: otherEcKey,
        field: 'tls.key',
        problem: /the private key does not match the certificate in/,
        fix: /supply the key that was used to create the CSR for this certificate/,
        fieldInMessage: false,
      });
      expect(error.message).toBe(
        `${otherEcKey}: the private key does not match the certificate in ${ec.tlsCrt} (subject CN=rancher.example.com). Fix: supply the key that was used to create the CSR for this certificate.`,
      );
    });

    test('GIVEN a key of another type WHEN loaded THEN both key types are named', () => {
      const rsaKey = chains.rsa.leafKey;
      expectInputError(() => load({ keyFile: rsaKey }), {
        file: rsaKey,
        field: 'tls.key',
        problem: /\(subject CN=rancher\.example\.com\); the key is RSA 2048 but the certificate holds an ECDSA P-256 public key/,
        fix: /supply the key that was used to create the CSR/,
        fieldInMessage: false,
      });
    });

    test('GIVEN tls.crt and cacerts.pem without the intermediate WHEN loaded THEN the missing intermediate is named', () => {
      const certFile = file('no-int.crt', read(ec.leafCert));
      const caFile = file('no-int-cacerts.pem', read(ec.rootCert));
      expectInputError(() => load({ certFile, caFile }), {
        file: caFile,
        field: 'cacerts.pem',
        problem: /ends with CN=rancher\.example\.com, issued by O=cert-rotation tests, CN=ec-p256 Intermediate CA, .* the intermediate CA certificate is missing/,
        fix: /add the intermediate CA certificate O=cert-rotation tests, CN=ec-p256 Intermediate CA to tls\.crt after the server certificate and at the start of cacerts\.pem/,
      });
    });

    test('GIVEN tls.crt with the intermediate first WHEN loaded THEN the order error comes before any key check', () => {
      const certFile = file('reversed.crt', read(ec.intermediateCert) + read(ec.leafCert));
      expectInputError(() => load({ certFile }), {
        file: certFile,
        field: 'tls.crt',
        problem: /in reverse order; order must be leaf, then intermediate\(s\)/,
        fix: /reorder tls\.crt/,
      });
    });

    test('GIVEN tls.crt whose intermediate belongs to another CA WHEN loaded THEN position 1 is named', () => {
      const certFile = file('foreign-int.crt', read(ec.leafCert) + read(chains['ec-p384'].intermediateCert));
      expectInputError(() => load({ certFile }), {
        file: certFile,
        field: 'tls.crt',
        problem: /certificate 1 \(CN=rancher\.example\.com\).* is not signed by certificate 2 \(CN=ec-p384 Intermediate CA\); order must be leaf, then intermediate\(s\)/,
        fix: /insert the intermediate CA certificate .*CN=ec-p256 Intermediate CA after certificate 1/,
      });
    });

    test('GIVEN cacerts.pem with the root before the intermediate WHEN loaded THEN the specific error is given', () => {
      const caFile = file('root-first.pem', read(ec.rootCert) + read(ec.intermediateCert));
      expectInputError(() => load({ caFile }), {
        file: caFile,
        field: 'cacerts.pem',
        problem: /root CA comes before the intermediate.*cacerts\.pem must list intermediate\(s\) first, then the root/,
        fix: /move the root CA CN=ec-p256 Root CA to the end of cacerts\.pem/,
      });
    });

    test('GIVEN cacerts.pem of another CA WHEN loaded THEN the bundle is rejected', () => {
      expectInputError(() => load({ caFile: chains.ed25519.cacertsPem }), {
        file: chains.ed25519.cacertsPem,
        field: 'cacerts.pem',
        problem: /no certificate of cacerts\.pem \(first: CN=ed25519 Intermediate CA\) issued it/,
        fix: /add the intermediate CA certificate/,
      });
    });

    test('GIVEN an expired server certificate WHEN loaded THEN the error gives the date and asks for a new one', () => {
      expectInputError(() => load({ now: new Date('2025-04-10T12:00:00Z') }), {
        file: ec.tlsCrt,
        field: 'tls.crt',
        problem: /^in tls\.crt, the server certificate \(CN=rancher\.example\.com\) expired on 2025-04-01T00:00:00Z, 9 days before 2025-04-10T12:00:00Z$/,
        fix: /issue a new certificate for rancher\.example\.com and write it, followed by its intermediate\(s\), into this file/,
      });
    });

    test('GIVEN an intermediate that expired before the leaf WHEN loaded THEN its position and a CA fix are given', () => {
      expectInputError(
        () => load({ certFile: expiredCa.tlsCrt, keyFile: expiredCa.leafKey, caFile: expiredCa.cacertsPem, now: new Date('2025-03-10T00:00:00Z') }),
        {
          file: expiredCa.tlsCrt,
          field: 'tls.crt',
          problem: /^in tls\.crt, certificate 2 of the chain \(CN=Expired Intermediate CA\) expired on 2025-03-01T00:00:00Z, 9 days before 2025-03-10T00:00:00Z$/,
          fix: /renew the expired CA certificate, re-issue what it signed, and write the new certificates into tls\.crt/,
        },
      );
    });

    test('GIVEN an expired CA that only cacerts.pem holds WHEN loaded THEN cacerts.pem is named', () => {
      const certFile = file('expired-ca-leaf-only.crt', read(expiredCa.leafCert));
      expectInputError(() => load({ certFile, keyFile: expiredCa.leafKey, caFile: expiredCa.cacertsPem, now: new Date('2025-03-10T00:00:00Z') }), {
        file: expiredCa.cacertsPem,
        field: 'cacerts.pem',
        problem: /^in cacerts\.pem, CA certificate 1 \(CN=Expired Intermediate CA\) expired on 2025-03-01T00:00:00Z, 9 days before 2025-03-10T00:00:00Z$/,
        fix: /renew the expired CA certificate, re-issue what it signed, and write the new certificates into cacerts\.pem/,
      });
    });

    test('GIVEN a server certificate valid from 2025-01-01 WHEN loaded on 2024-12-31 THEN not yet valid', () => {
      expectInputError(() => load({ now: new Date('2024-12-31T00:00:00Z') }), {
        file: ec.tlsCrt,
        field: 'tls.crt',
        problem: /^in tls\.crt, the server certificate \(CN=rancher\.example\.com\) is not valid until 2025-01-01T00:00:00Z \(checked at 2024-12-31T00:00:00Z\)$/,
        fix: /wait until its start date, or issue it again with a start date in the past/,
      });
    });

    test('GIVEN a hostname outside the SANs WHEN loaded THEN the SANs are listed', () => {
      expectInputError(() => load({ hostname: 'a.b.rancher.example.com' }), {
        file: ec.tlsCrt,
        field: 'tls.crt',
        problem: /does not cover the hostname a\.b\.rancher\.example\.com \(its subjectAltName: DNS:rancher\.example\.com, DNS:\*\.rancher\.example\.com, IP:10\.0\.0\.1\)/,
        fix: /issue a certificate with a\.b\.rancher\.example\.com \(or a matching \*\. wildcard\) in its subjectAltName, or correct the configured hostname/,
      });
    });

    test('GIVEN an IP hostname not in the IP SANs WHEN loaded THEN it is not covered', () => {
      expectInputError(() => load({ hostname: '10.0.0.2' }), {
        file: ec.tlsCrt,
        field: 'tls.crt',
        problem: /does not cover the hostname 10\.0\.0\.2/,
        fix: /correct the configured hostname/,
      });
    });

    test('GIVEN a certificate naming the host only in its CN WHEN loaded THEN Go clients’ rejection is explained', () => {
      const certFile = file('cn-only-tls.crt', read(cnOnly.cert) + read(ec.intermediateCert));
      expectInputError(() => load({ certFile }), {
        file: certFile,
        field: 'tls.crt',
        problem: /names rancher\.example\.com only in its subject CN and has no subjectAltName, which Rancher agents and kubectl \(Go 1\.15 and later\) reject/,
        fix: /issue a certificate with rancher\.example\.com .* in its subjectAltName/,
      });
    });

    test('GIVEN a DER tls.crt WHEN loaded THEN the openssl conversion command is given', () => {
      const der = opensslCertToDer(ec.leafCert, path.join(dir, 'tls.der'));
      expectInputError(() => load({ certFile: der }), {
        file: der,
        field: 'tls.crt',
        problem: /looks like DER \(binary ASN\.1\), but PEM is expected/,
        fix: new RegExp(`convert it with \`openssl x509 -inform der -in ${escape(der)} -out ${escape(der)}\\.pem\``),
      });
    });

    test('GIVEN a DER cacerts.pem WHEN loaded THEN the error names cacerts.pem', () => {
      const der = opensslCertToDer(ec.rootCert, path.join(dir, 'cacerts.der'));
      expectInputError(() => load({ caFile: der }), {
        file: der,
        field: 'cacerts.pem',
        problem: /cacerts\.pem looks like DER/,
        fix: /openssl x509 -inform der/,
      });
    });

    test.each(['pkcs8', 'legacy'] as const)('GIVEN an encrypted (%s) key WHEN loaded THEN the decrypt command is given and no key text leaks', (format) => {
      const keyFile = opensslEncryptedKey(ec.leafKey, path.join(dir, `enc-${format}.key`), format);
      const error = expectInputError(() => load({ keyFile }), {
        file: keyFile,
        field: 'tls.key',
        problem: /tls\.key holds an encrypted private key/,
        fix: new RegExp(`decrypt it with \`openssl pkey -in ${escape(keyFile)} -out ${escape(keyFile)}\\.plain\``),
      });
      for (const line of [...pemBodyLines(read(keyFile)), ...allKeyLines()]) {
        expect(error.message).not.toContain(line);
      }
    });

    test.each([
      ['tls.crt', 'certFile', /write the PEM server certificate followed by its intermediate CA certificate\(s\) into this file/],
      ['tls.key', 'keyFile', /write the PEM private key of the server certificate into this file/],
      ['cacerts.pem', 'caFile', /write the PEM intermediate CA certificate\(s\) followed by the root CA certificate into this file/],
    ] as const)('GIVEN an empty %s WHEN loaded THEN the error says empty', (field, option, fix) => {
      const empty = file(`empty-${field}`, '');
      expectInputError(() => load({ [option]: empty }), { file: empty, field, problem: new RegExp(`^${escape(field)} is empty$`), fix });
    });

    test('GIVEN a truncated tls.crt WHEN loaded THEN the truncated block is named', () => {
      const certFile = file('truncated.crt', read(ec.leafCert) + read(ec.intermediateCert).split('\n').slice(0, 6).join('\n'));
      expectInputError(() => load({ certFile }), {
        file: certFile,
        field: 'tls.crt',
        problem: /the PEM block -----BEGIN CERTIFICATE----- that starts on line \d+ is truncated/,
        fix: /copy the complete block/,
      });
    });

    test('GIVEN a truncated cacerts.pem (a line lost) WHEN loaded THEN the corrupt block is named', () => {
      const lines = read(ec.cacertsPem).split('\n');
      lines.splice(5, 1);
      const caFile = file('truncated-cacerts.pem', lines.join('\n'));
      expectInputError(() => load({ caFile }), {
        file: caFile,
        field: 'cacerts.pem',
        problem: /starts on line 1 is truncated or corrupt/,
        fix: /copy the complete block/,
      });
    });

    test('GIVEN a truncated key WHEN loaded THEN the error names tls.key and quotes nothing of it', () => {
      const keyFile = file('truncated.key', read(ec.leafKey).split('\n').slice(0, 3).join('\n'));
      const error = expectInputError(() => load({ keyFile }), {
        file: keyFile,
        field: 'tls.key',
        problem: /in tls\.key, the PEM block -----BEGIN PRIVATE KEY----- that starts on line 1 is truncated/,
        fix: /copy the complete block/,
      });
      for (const line of allKeyLines()) {
        expect(error.message).not.toContain(line);
      }
    });

    test.each([
      ['certFile', 'tls.crt'],
      ['keyFile', 'tls.key'],
      ['caFile', 'cacerts.pem'],
    ] as const)('GIVEN a %s that does not exist WHEN loaded THEN the path is named', (option, field) => {
      const missing = path.join(dir, 'does-not-exist', field);
      expectInputError(() => load({ [option]: missing }), {
        file: missing,
        field,
        problem: new RegExp(`^${escape(field)} does not exist$`),
        fix: /check the path in the configuration/,
      });
    });

    test('GIVEN a directory as tls.crt WHEN loaded THEN the error says directory', () => {
      expectInputError(() => load({ certFile: dir }), {
        file: dir,
        field: 'tls.crt',
        problem: /tls\.crt is a directory, not a file/,
        fix: /check the path/,
      });
    });

    test('GIVEN bad options WHEN loaded THEN plain errors name the option', () => {
      expect(() => load({ hostname: ' ' })).toThrow(/^'hostname' \(" "\) must be the DNS name or IP address/);
      expect(() => load({ renewBefore: -1 })).toThrow(/^'renewBefore' \(-1\) must be a duration of zero or more milliseconds/);
      expect(() => load({ now: new Date('nonsense') })).toThrow(/^'now' \(Invalid Date\) must be a valid date\./);
      expect(() => load({ hostname: ' ' })).not.toThrow(CertificateInputError);
    });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
