/**
 * `check` reads serial, validity, CA flag, key type and key identifiers from
 * the DER itself (lib/cli/check/der.ts) and names from one X509Certificate:
 * the facts must be the ones lib/pki's full parse gives, for every key type.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parseCertificate } from '../../../lib/pki/certificate';
import { factsOf, leanFacts } from '../../../lib/cli/check/extract';
import { openssl, OpensslFixtures, removeDir, tempDir } from '../../support/pki';

let dir: string;
beforeAll(() => {
  dir = tempDir('cert-rotation-der-');
}, 60_000);
afterAll(() => removeDir(dir));

function selfSigned(name: string, keyArgs: string[], extra: string[] = []): Buffer {
  const out = path.join(dir, `${name}.crt`);
  openssl(['req', '-x509', '-nodes', ...keyArgs, '-keyout', path.join(dir, `${name}.key`), '-out', out, '-days', '30', '-subj', `/O=acme/CN=${name}`, ...extra]);
  return fs.readFileSync(out);
}

test.each([
  ['rsa-2048', ['-newkey', 'rsa:2048']],
  ['rsa-3072', ['-newkey', 'rsa:3072']],
  ['rsa-pss', ['-newkey', 'rsa-pss', '-pkeyopt', 'rsa_keygen_bits:2048']],
  ['ec-p256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']],
  ['ec-p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']],
  ['ec-p521', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521']],
  ['ed25519', ['-newkey', 'ed25519']],
  ['ed448', ['-newkey', 'ed448']],
])('%s: the DER reader gives the facts lib/pki gives', (name, keyArgs) => {
  const pem = selfSigned(name, keyArgs, ['-addext', 'subjectAltName=DNS:Node.Example.com,IP:10.0.0.1,IP:2001:db8::1', '-addext', 'keyUsage=critical,digitalSignature']);
  const full = parseCertificate(pem, name, 'tls.crt');
  expect(leanFacts(full.der)).toEqual({ ...factsOf(full), subjectKeyId: expect.stringMatching(/^[0-9a-f]+$/), authorityKeyId: expect.stringMatching(/^[0-9a-f]+$/) });
});

test('CA flag as OpenSSL has it: CA:TRUE with keyUsage lacking keyCertSign is not a CA; leaves, intermediates, serials with a high bit', () => {
  const notSigner = selfSigned('ca-no-certsign', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], ['-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature']);
  const full = parseCertificate(notSigner, 'x', 'tls.crt');
  expect(full.isCA).toBe(false);
  expect(leanFacts(full.der).isCA).toBe(false);

  const f = new OpensslFixtures(path.join(dir, 'chain'), new Date('2031-03-01T00:00:00Z'));
  const root = f.ca({ subject: '/CN=root', keyType: 'rsa', notAfterDays: 3650 });
  const mid = f.intermediate(root, { subject: '/C=DE/ST=Berlin/O=acme/OU=ops/CN=mid', keyType: 'ec-p384', notAfterDays: 1000 });
  const leaf = f.leaf(mid, { subject: '/O=system:nodes/CN=system:node:worker-1', keyType: 'ed25519', usage: 'client', notAfterDays: 10 });
  for (const file of [root.cert, mid.cert, leaf.cert]) {
    const info = parseCertificate(fs.readFileSync(file), file, 'tls.crt');
    const lean = leanFacts(info.der);
    expect({ ...lean, subjectKeyId: undefined, authorityKeyId: undefined }).toEqual({ ...factsOf(info), subjectKeyId: undefined, authorityKeyId: undefined });
  }
  // The leaf's authorityKeyIdentifier is its issuer's subjectKeyIdentifier: how check links a row to its CA.
  const midFacts = leanFacts(parseCertificate(fs.readFileSync(mid.cert), 'mid', 'tls.crt').der);
  const leafFacts = leanFacts(parseCertificate(fs.readFileSync(leaf.cert), 'leaf', 'tls.crt').der);
  expect(leafFacts.authorityKeyId).toBe(midFacts.subjectKeyId);
  // A serial number whose first byte has the high bit set is encoded with a leading zero byte, which OpenSSL drops.
  const serial = path.join(dir, 'serial.crt');
  openssl(['req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', path.join(dir, 'serial.key'), '-out', serial, '-days', '3', '-subj', '/CN=serial', '-set_serial', '0xF00DCAFE']);
  const s = parseCertificate(fs.readFileSync(serial), 'serial', 'tls.crt');
  expect(s.serialNumber).toBe('f00dcafe');
  expect(leanFacts(s.der).serialNumber).toBe('f00dcafe');
});
