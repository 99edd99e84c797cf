import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CertificateInfo, CertificateInputError, keyMatchesCertificate, parseCertificate, parsePrivateKey } from '../../../lib/pki';
import {
  expectInputError,
  makeOpensslSelfSigned,
  openssl,
  opensslEncryptedKey,
  opensslKey,
  opensslKeyToDer,
  OpensslKeyType,
  opensslTraditionalKey,
  pemBodyLines,
} from '../../support/pki';

const KEY_TYPES: OpensslKeyType[] = ['rsa', 'ec-p256', 'ec-p384', 'ed25519'];

describe('parsePrivateKey and keyMatchesCertificate', () => {
  let dir: string;
  const certs = {} as Record<OpensslKeyType, { cert: CertificateInfo; key: string }>;
  let otherRsaKey: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-key-'));
    for (const keyType of KEY_TYPES) {
      const made = makeOpensslSelfSigned(dir, keyType, {
        keyType,
        commonName: `${keyType}.example.com`,
        notBefore: new Date('2025-01-01T00:00:00Z'),
        days: 30,
        isCA: false,
      });
      certs[keyType] = { cert: parseCertificate(fs.readFileSync(made.cert), made.cert, 'tls.crt'), key: made.key };
    }
    otherRsaKey = opensslKey(path.join(dir, 'other-rsa.key'), 'rsa');
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test.each(KEY_TYPES)('GIVEN a PKCS#8 %s key WHEN parsed THEN it matches its certificate', (keyType) => {
    const { cert, key } = certs[keyType];
    const text = fs.readFileSync(key, 'utf8');
    expect(text).toContain('-----BEGIN PRIVATE KEY-----');
    const parsed = parsePrivateKey(text, key);
    expect(parsed.type).toBe('private');
    expect(keyMatchesCertificate(parsed, cert)).toBe(true);
  });

  test.each(['rsa', 'ec-p256', 'ec-p384'] as OpensslKeyType[])(
    'GIVEN a traditional (PKCS#1 / SEC1) %s key WHEN parsed THEN it matches its certificate',
    (keyType) => {
      const { cert, key } = certs[keyType];
      const traditional = opensslTraditionalKey(key, path.join(dir, `${keyType}.traditional.key`));
      const text = fs.readFileSync(traditional, 'utf8');
      expect(text).toMatch(keyType === 'rsa' ? /BEGIN RSA PRIVATE KEY/ : /BEGIN EC PRIVATE KEY/);
      expect(keyMatchesCertificate(parsePrivateKey(Buffer.from(text.replace(/\n/g, '\r\n')), traditional), cert)).toBe(true);
    },
  );

  test('GIVEN `openssl ecparam -genkey` output (EC PARAMETERS + EC PRIVATE KEY) WHEN parsed THEN the parameters are skipped', () => {
    const file = path.join(dir, 'ecparam.key');
    fs.writeFileSync(file, openssl(['ecparam', '-name', 'prime256v1', '-genkey']));
    expect(fs.readFileSync(file, 'utf8')).toContain('-----BEGIN EC PARAMETERS-----');
    const key = parsePrivateKey(fs.readFileSync(file), file);
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
  });

  test.each(KEY_TYPES.filter((k) => k !== 'rsa'))('GIVEN the %s certificate and another RSA key WHEN compared THEN they do not match', (keyType) => {
    expect(keyMatchesCertificate(parsePrivateKey(fs.readFileSync(otherRsaKey), otherRsaKey), certs[keyType].cert)).toBe(false);
  });

  test('GIVEN two RSA keys of the same size WHEN compared THEN only the right one matches', () => {
    const { cert, key } = certs.rsa;
    expect(keyMatchesCertificate(parsePrivateKey(fs.readFileSync(otherRsaKey), otherRsaKey), cert)).toBe(false);
    expect(keyMatchesCertificate(parsePrivateKey(fs.readFileSync(key), key), cert)).toBe(true);
  });

  test.each([['pkcs8', /ENCRYPTED PRIVATE KEY/], ['legacy', /Proc-Type: 4,ENCRYPTED/]] as const)(
    'GIVEN an encrypted key (%s) WHEN parsed THEN the error says encrypted and how to decrypt',
    (format, marker) => {
      const file = opensslEncryptedKey(certs['ec-p256'].key, path.join(dir, `encrypted-${format}.key`), format);
      const text = fs.readFileSync(file, 'utf8');
      expect(text).toMatch(marker);
      const error = expectInputError(() => parsePrivateKey(text, file), {
        file,
        field: 'tls.key',
        problem: /tls\.key holds an encrypted private key \(PEM block on line 1\), which cannot be read without its passphrase/,
        fix: new RegExp(`decrypt it with \`openssl pkey -in ${escape(file)} -out ${escape(file)}\\.plain\``),
      });
      for (const line of pemBodyLines(text)) {
        expect(error.message).not.toContain(line);
      }
    },
  );

  test('GIVEN a DER key WHEN parsed THEN the error says DER with the openssl pkey command', () => {
    const der = opensslKeyToDer(certs.rsa.key, path.join(dir, 'rsa.key.der'));
    expectInputError(() => parsePrivateKey(fs.readFileSync(der), der), {
      file: der,
      field: 'tls.key',
      problem: /tls\.key looks like DER \(binary ASN\.1\), but PEM is expected/,
      fix: new RegExp(`\`openssl pkey -inform der -in ${escape(der)} -out ${escape(der)}\\.pem\``),
    });
  });

  test('GIVEN a certificate instead of a key WHEN parsed THEN the error says no private key and what it holds', () => {
    expectInputError(() => parsePrivateKey(certs.rsa.cert.pem, '/x/tls.key'), {
      file: '/x/tls.key',
      field: 'tls.key',
      problem: /tls\.key holds no private key \(it holds: CERTIFICATE\)/,
      fix: /write the PEM private key/,
    });
  });

  test('GIVEN two keys in one file WHEN parsed THEN the error names both lines', () => {
    const text = fs.readFileSync(certs.rsa.key, 'utf8') + fs.readFileSync(otherRsaKey, 'utf8');
    expectInputError(() => parsePrivateKey(text, '/x/tls.key'), {
      file: '/x/tls.key',
      field: 'tls.key',
      problem: /holds 2 private keys \(PEM blocks on lines 1, \d+\) where exactly one is expected/,
      fix: /keep only the private key of the server certificate/,
    });
  });

  test('GIVEN an empty key file WHEN parsed THEN the error says empty', () => {
    expectInputError(() => parsePrivateKey('', '/x/tls.key'), {
      file: '/x/tls.key',
      field: 'tls.key',
      problem: /tls\.key is empty/,
      fix: /write the PEM private key of the server certificate into this file/,
    });
  });

  test('GIVEN a truncated key WHEN parsed THEN the error says truncated and never quotes the key', () => {
    const text = fs.readFileSync(certs.rsa.key, 'utf8');
    const cut = text.split('\n').slice(0, 10).join('\n');
    const error = expectInputError(() => parsePrivateKey(cut, '/x/tls.key'), {
      file: '/x/tls.key',
      field: 'tls.key',
      problem: /-----BEGIN PRIVATE KEY----- that starts on line 1 is truncated/,
      fix: /copy the complete block/,
    });
    for (const line of pemBodyLines(text)) {
      expect(error.message).not.toContain(line);
    }
  });

  test('GIVEN a PRIVATE KEY block with valid DER that is no key WHEN parsed THEN OpenSSL’s reason is given', () => {
    const bogus = '-----BEGIN PRIVATE KEY-----\nMAMCAQA=\n-----END PRIVATE KEY-----\n';
    const error = expectInputError(() => parsePrivateKey(bogus, '/x/tls.key'), {
      file: '/x/tls.key',
      field: 'tls.key',
      problem: /the -----BEGIN PRIVATE KEY----- block on line 1 is not a valid private key \(.+\)/,
      fix: /`openssl pkey -in \/x\/tls\.key -noout`/,
    });
    expect(error).toBeInstanceOf(CertificateInputError);
  });

  test('GIVEN an unknown private key label WHEN parsed THEN the fix converts to PKCS#8', () => {
    const odd = '-----BEGIN DSA PRIVATE KEY-----\nMAMCAQA=\n-----END DSA PRIVATE KEY-----\n';
    expectInputError(() => parsePrivateKey(odd, '/x/tls.key'), {
      file: '/x/tls.key',
      field: 'tls.key',
      problem: /unsupported kind \(-----BEGIN DSA PRIVATE KEY----- on line 1\)/,
      fix: /convert it to PKCS#8 with `openssl pkey -in \/x\/tls\.key -out \/x\/tls\.key\.pem`/,
    });
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
