import * as fs from 'fs';
import * as path from 'path';
import { CertificateWarningIds, loadServerCertificate, parseCertificate, signatureAlgorithmOid, weaknesses } from '../../../lib/pki';
import { expectInputError, openssl, removeDir, tempDir } from '../../support/pki';

// A day after the certificates are made: openssl starts their validity at the moment of signing.
const NOW = new Date(Date.now() + 86_400_000);
const HOST = 'rancher.example.com';

// GIVEN certificates made by openssl with a short key, a SHA-1 signature or CA:TRUE
// WHEN loaded as Rancher's server certificate
// THEN weak crypto is refused unless allowWeak is set, and a CA used as leaf is a warning.
describe('certificate strength', () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);

  /** A leaf for HOST signed by the test root, with the given key size, digest and basicConstraints. */
  function leaf(name: string, options: { bits?: number; digest?: string; ca?: boolean } = {}): void {
    openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${options.bits ?? 2048}`, '-out', file(`${name}.key`)]);
    openssl(['req', '-new', '-key', file(`${name}.key`), '-subj', `/CN=${HOST}`, '-out', file(`${name}.csr`)]);
    fs.writeFileSync(file(`${name}.ext`), `basicConstraints=${options.ca ? 'critical,CA:TRUE' : 'CA:FALSE'}\nsubjectAltName=DNS:${HOST}\n`);
    openssl(['x509', '-req', '-in', file(`${name}.csr`), '-CA', file('root.crt'), '-CAkey', file('root.key'), '-CAcreateserial',
      `-${options.digest ?? 'sha256'}`, '-days', '30', '-extfile', file(`${name}.ext`), '-out', file(`${name}.crt`)]);
  }

  const load = (name: string, allowWeak?: boolean) =>
    loadServerCertificate({ certFile: file(`${name}.crt`), keyFile: file(`${name}.key`), caFile: file('root.crt'), hostname: HOST, now: NOW, renewBefore: 0, allowWeak });

  beforeAll(() => {
    dir = tempDir('strength-');
    openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', file('root.key'), '-subj', '/CN=Strength Root', '-days', '60', '-sha256',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-out', file('root.crt')]);
    leaf('good');
    leaf('short', { bits: 1024 });
    leaf('sha1', { digest: 'sha1' });
    leaf('ca-leaf', { ca: true });
  });
  afterAll(() => removeDir(dir));

  test('reads the signature algorithm from the DER', () => {
    const oid = (name: string) => signatureAlgorithmOid(parseCertificate(fs.readFileSync(file(`${name}.crt`)), file(`${name}.crt`), 'tls.crt').der);
    expect(oid('good')).toBe('1.2.840.113549.1.1.11');
    expect(oid('sha1')).toBe('1.2.840.113549.1.1.5');
  });

  test('a strong certificate loads without warnings', () => {
    expect(load('good').warnings).toEqual([]);
    expect(weaknesses(load('good').leaf)).toEqual([]);
  });

  test('an RSA 1024 key is refused, naming the file, what was found and the fix', () => {
    expectInputError(() => load('short'), {
      file: file('short.crt'),
      field: 'tls.crt',
      problem: /the server certificate \(CN=rancher.example.com\) has an RSA 1024 key, shorter than 2048 bits/,
      fix: /RSA 2048 or longer.*allowWeak: true/,
    });
  });

  test('a SHA-1 signature is refused', () => {
    expectInputError(() => load('sha1'), { file: file('sha1.crt'), field: 'tls.crt', problem: /sha1WithRSAEncryption signature/, fix: /SHA-256/ });
  });

  test('with allowWeak both load, each with a weakCrypto warning', () => {
    for (const name of ['short', 'sha1']) {
      const loaded = load(name, true);
      expect(loaded.warnings.map((w) => w.id)).toEqual([CertificateWarningIds.WEAK_CRYPTO]);
      expect(loaded.warnings[0].message).toContain(file(`${name}.crt`));
    }
  });

  test('a server certificate that is a CA loads with a leafIsCa warning', () => {
    const loaded = load('ca-leaf');
    expect(loaded.warnings.map((w) => w.id)).toEqual([CertificateWarningIds.LEAF_IS_CA]);
    expect(loaded.warnings[0].message).toMatch(/CA:TRUE.*issue a server certificate with CA:FALSE/);
  });

  test('a key file with megabytes of trailing text is refused before it can fail an apply', () => {
    fs.copyFileSync(file('good.crt'), file('padded.crt'));
    fs.writeFileSync(file('padded.key'), fs.readFileSync(file('good.key'), 'utf8') + 'x'.repeat(2 * 1024 * 1024) + '\n');
    expectInputError(() => load('padded'), { file: file('padded.key'), field: 'tls.key', problem: /more than the 1048576 bytes a Kubernetes Secret may hold/, fix: /keep only the PEM private key/ });
  });

  test('a key file with a little text besides the key is a warning', () => {
    fs.copyFileSync(file('good.crt'), file('noted.crt'));
    fs.writeFileSync(file('noted.key'), 'Bag Attributes\n' + 'note '.repeat(100) + '\n' + fs.readFileSync(file('good.key'), 'utf8'));
    expect(load('noted').warnings.map((w) => w.id)).toEqual([CertificateWarningIds.TEXT_IN_KEY_FILE]);
  });
});
