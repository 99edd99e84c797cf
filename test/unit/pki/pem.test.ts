import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { encodePem, splitPem } from '../../../lib/pki';
import { expectInputError, makeOpensslSelfSigned, opensslCertToDer, opensslKeyToDer } from '../../support/pki';

describe('splitPem', () => {
  let dir: string;
  let certPem: string;
  let certDer: Buffer;
  let keyDer: Buffer;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-pem-'));
    const { cert, key } = makeOpensslSelfSigned(dir, 'ca', {
      keyType: 'ec-p256',
      commonName: 'PEM Test CA',
      notBefore: new Date('2024-01-01T00:00:00Z'),
      days: 365,
    });
    certPem = fs.readFileSync(cert, 'utf8');
    certDer = fs.readFileSync(opensslCertToDer(cert, path.join(dir, 'ca.der')));
    keyDer = fs.readFileSync(opensslKeyToDer(key, path.join(dir, 'ca.key.der')));
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('GIVEN one block WHEN split THEN label, DER and canonical text come back', () => {
    const [block] = splitPem(certPem, '/x/tls.crt', 'tls.crt');
    expect(block.label).toBe('CERTIFICATE');
    expect(block.der.equals(certDer)).toBe(true);
    expect(block.text).toBe(certPem);
    expect(block.line).toBe(1);
    expect(block.headers).toEqual({});
  });

  test('GIVEN CRLF line endings, a BOM and text around the blocks WHEN split THEN every block is found in order', () => {
    const messy =
      '\ufeffBag Attributes\r\n    friendlyName: server\r\n' +
      certPem.replace(/\n/g, '\r\n') +
      'some comment between\r\n\r\n' +
      encodePem('PRIVATE KEY', keyDer).replace(/\n/g, '\r\n') +
      '   \r\n';
    const blocks = splitPem(Buffer.from(messy, 'utf8'), '/x/bundle.pem', 'tls.crt');
    expect(blocks.map((b) => b.label)).toEqual(['CERTIFICATE', 'PRIVATE KEY']);
    expect(blocks[0].der.equals(certDer)).toBe(true);
    expect(blocks[0].text).toBe(certPem);
    expect(blocks[0].line).toBe(3);
    expect(blocks[1].der.equals(keyDer)).toBe(true);
    expect(blocks[1].text).not.toContain('\r');
  });

  test('GIVEN base64 lines of any width with trailing spaces WHEN split THEN text is re-wrapped at 64 columns', () => {
    const b64 = certDer.toString('base64');
    const wide = `-----BEGIN CERTIFICATE-----  \n${b64.slice(0, 100)}   \n${b64.slice(100)}\n-----END CERTIFICATE-----`;
    const [block] = splitPem(wide, '/x/tls.crt', 'tls.crt');
    expect(block.text).toBe(certPem);
    expect(block.text.split('\n').every((l) => l.length <= 64)).toBe(true);
  });

  test('GIVEN an empty file WHEN split THEN the error names file, field and fix', () => {
    expectInputError(() => splitPem(Buffer.alloc(0), '/x/tls.crt', 'tls.crt'), {
      file: '/x/tls.crt',
      field: 'tls.crt',
      problem: /^tls\.crt is empty$/,
      fix: /write the PEM server certificate followed by its intermediate CA certificate\(s\) into this file/,
    });
  });

  test('GIVEN a file of whitespace WHEN split THEN it is empty too', () => {
    expectInputError(() => splitPem(' \r\n\n\t', '/x/cacerts.pem', 'cacerts.pem'), {
      file: '/x/cacerts.pem',
      field: 'cacerts.pem',
      problem: /cacerts\.pem is empty/,
      fix: /intermediate CA certificate\(s\) followed by the root CA certificate/,
    });
  });

  test('GIVEN BEGIN without END WHEN split THEN the block is reported truncated with its line', () => {
    const cut = certPem.split('\n').slice(0, 5).join('\n');
    expectInputError(() => splitPem('\n' + cut, '/x/tls.crt', 'tls.crt'), {
      file: '/x/tls.crt',
      field: 'tls.crt',
      problem: /-----BEGIN CERTIFICATE----- that starts on line 2 is truncated: it has no -----END CERTIFICATE----- line/,
      fix: /copy the complete block/,
    });
  });

  test('GIVEN a block cut off by the next BEGIN WHEN split THEN it is reported truncated', () => {
    const cut = certPem.split('\n').slice(0, 4).join('\n') + '\n' + certPem;
    expectInputError(() => splitPem(cut, '/x/tls.crt', 'tls.crt'), {
      file: '/x/tls.crt',
      field: 'tls.crt',
      problem: /starts on line 1 is truncated: a new -----BEGIN CERTIFICATE----- line starts on line 5/,
      fix: /copy the complete block/,
    });
  });

  test('GIVEN a missing base64 line WHEN split THEN the DER length mismatch is reported', () => {
    const lines = certPem.split('\n');
    lines.splice(3, 1);
    expectInputError(() => splitPem(lines.join('\n'), '/x/tls.crt', 'tls.crt'), {
      file: '/x/tls.crt',
      field: 'tls.crt',
      problem: /is truncated or corrupt: its DER encoding declares \d+ bytes but holds \d+/,
      fix: /copy the complete block, from -----BEGIN CERTIFICATE----- to -----END CERTIFICATE-----/,
    });
  });

  test('GIVEN invalid base64 characters WHEN split THEN the error says so', () => {
    const lines = certPem.split('\n');
    lines[2] = lines[2].slice(0, 10) + '!!' + lines[2].slice(12);
    expectInputError(() => splitPem(lines.join('\n'), '/x/tls.crt', 'tls.crt'), {
      file: '/x/tls.crt',
      field: 'tls.crt',
      problem: /is not valid base64/,
      fix: /copy the complete block/,
    });
  });

  test('GIVEN mismatched BEGIN and END labels WHEN split THEN the error names both', () => {
    const wrong = certPem.replace('-----END CERTIFICATE-----', '-----END PRIVATE KEY-----');
    expectInputError(() => splitPem(wrong, '/x/tls.crt', 'tls.crt'), {
      file: '/x/tls.crt',
      field: 'tls.crt',
      problem: /-----BEGIN CERTIFICATE----- ends on line \d+ with -----END PRIVATE KEY-----, which does not match/,
      fix: /-----END CERTIFICATE-----/,
    });
  });

  test('GIVEN a DER certificate WHEN split THEN the error says DER and gives the openssl x509 command', () => {
    expectInputError(() => splitPem(certDer, '/x/tls.crt', 'tls.crt'), {
      file: '/x/tls.crt',
      field: 'tls.crt',
      problem: /tls\.crt looks like DER \(binary ASN\.1\), but PEM is expected/,
      fix: /convert it with `openssl x509 -inform der -in \/x\/tls\.crt -out \/x\/tls\.crt\.pem`/,
    });
  });

  test('GIVEN a DER key WHEN split as a key THEN the fix uses openssl pkey', () => {
    expectInputError(() => splitPem(keyDer, '/x/tls.key', 'tls.key'), {
      file: '/x/tls.key',
      field: 'tls.key',
      problem: /looks like DER/,
      fix: /`openssl pkey -inform der -in \/x\/tls\.key -out \/x\/tls\.key\.pem`/,
    });
  });

  test('GIVEN DER read as a string WHEN split THEN it is still recognised as binary', () => {
    expectInputError(() => splitPem(certDer.toString('latin1'), '/x/tls.crt', 'tls.crt'), {
      file: '/x/tls.crt',
      field: 'tls.crt',
      problem: /looks like DER/,
      fix: /openssl x509 -inform der/,
    });
  });

  test('GIVEN other binary data WHEN split THEN it is reported as binary, not PEM', () => {
    expectInputError(() => splitPem(Buffer.from([0x00, 0x01, 0x02, 0x03]), '/x/tls.crt', 'tls.crt'), {
      file: '/x/tls.crt',
      field: 'tls.crt',
      problem: /is a binary file, not PEM text/,
      fix: /in PEM format/,
    });
  });

  test('GIVEN bare base64 without BEGIN/END WHEN split THEN the fix says to add the lines', () => {
    expectInputError(() => splitPem(certDer.toString('base64'), '/x/tls.crt', 'tls.crt'), {
      file: '/x/tls.crt',
      field: 'tls.crt',
      problem: /holds base64 data without -----BEGIN\/-----END lines/,
      fix: /add -----BEGIN CERTIFICATE----- before and -----END CERTIFICATE----- after/,
    });
  });

  test('GIVEN text without any block WHEN split THEN the error says no PEM block', () => {
    expectInputError(() => splitPem('hello, this is not a certificate\n', '/x/cacerts.pem', 'cacerts.pem'), {
      file: '/x/cacerts.pem',
      field: 'cacerts.pem',
      problem: /holds no PEM block/,
      fix: /write the PEM intermediate CA certificate\(s\) followed by the root CA certificate/,
    });
  });
});

describe('encodePem', () => {
  test('GIVEN DER WHEN encoded THEN 64-column base64 with LF and one trailing newline', () => {
    const der = Buffer.alloc(96, 7);
    const pem = encodePem('TEST', der);
    const lines = pem.split('\n');
    expect(lines[0]).toBe('-----BEGIN TEST-----');
    expect(lines[1]).toHaveLength(64);
    expect(lines[3]).toBe('-----END TEST-----');
    expect(pem.endsWith('-----END TEST-----\n')).toBe(true);
    expect(Buffer.from(lines.slice(1, 3).join(''), 'base64').equals(der)).toBe(true);
  });

  test('GIVEN headers WHEN encoded THEN they precede a blank line', () => {
    const pem = encodePem('RSA PRIVATE KEY', Buffer.from([1, 2, 3]), { 'Proc-Type': '4,ENCRYPTED' });
    expect(pem).toBe('-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAQID\n-----END RSA PRIVATE KEY-----\n');
  });
});
