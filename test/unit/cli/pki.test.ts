import * as fs from 'fs';
import * as path from 'path';
import {
  CertificateInfo,
  generateCa,
  isIssuedBy,
  keyMatchesCertificate,
  loadServerCertificate,
  parseCertificate,
  parseCertificates,
  parsePrivateKey,
  verifyCaBundle,
  verifyChain,
} from '../../../lib/pki';
import { openssl, opensslKey, removeDir, tempDir } from '../../support/pki';
import { pkiCli } from './support/pki-cli';
import { runCli } from './support/run-cli';

const DAY = 24 * 60 * 60 * 1000;
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

let dir: string;
let root: string;
let intermediate: string;
const { pki, ok, expectNoKeyPrinted } = pkiCli();

const readCert = (file: string) => parseCertificate(fs.readFileSync(file), file, 'tls.crt');
const readChain = (file: string) => parseCertificates(fs.readFileSync(file), file, 'tls.crt');
const readKey = (file: string) => parsePrivateKey(fs.readFileSync(file), file);
const mode = (file: string) => fs.statSync(file).mode & 0o777;
const days = (cert: CertificateInfo) => (cert.notAfter.getTime() - Date.now()) / DAY;

beforeAll(async () => {
  dir = tempDir('cli-pki-');
  root = path.join(dir, 'root');
  intermediate = path.join(dir, 'intermediate');
  await ok('ca', '--out', root, '--cn', 'Acme Root CA', '--org', 'Acme');
  await ok('ca', '--out', intermediate, '--cn', 'Acme Intermediate CA', '--issuer-dir', root);
});

afterAll(() => {
  // No private key written by any test may appear in anything the tool printed.
  expect(expectNoKeyPrinted(dir)).toBeGreaterThan(5);
  removeDir(dir);
});

describe('pki ca', () => {
  test('a root CA: ca.crt self-signed CA, ca.key mode 0600 matching it, cacerts.pem the root alone', () => {
    const cert = readCert(path.join(root, 'ca.crt'));
    expect(cert.isCA).toBe(true);
    expect(cert.selfSigned).toBe(true);
    expect(cert.subject).toBe('O=Acme, CN=Acme Root CA');
    expect(cert.keyType).toBe('RSA 2048');
    expect(days(cert)).toBeGreaterThan(3649);
    expect(days(cert)).toBeLessThanOrEqual(3650);
    expect(cert.notBefore.getTime()).toBeLessThan(Date.now());
    expect(keyMatchesCertificate(readKey(path.join(root, 'ca.key')), cert)).toBe(true);
    expect(mode(path.join(root, 'ca.key'))).toBe(0o600);
    expect(mode(path.join(root, 'ca.crt'))).toBe(0o644);
    expect(fs.readFileSync(path.join(root, 'cacerts.pem'), 'utf8')).toBe(cert.pem);
  });

  test('an intermediate: signed by --issuer-dir, cacerts.pem is intermediate then root', () => {
    const rootCert = readCert(path.join(root, 'ca.crt'));
    const cert = readCert(path.join(intermediate, 'ca.crt'));
    expect(cert.isCA).toBe(true);
    expect(cert.selfSigned).toBe(false);
    expect(cert.issuer).toBe('O=Acme, CN=Acme Root CA');
    expect(isIssuedBy(cert, rootCert)).toBe(true);
    expect(days(cert)).toBeGreaterThan(1824);
    expect(days(cert)).toBeLessThanOrEqual(1825);
    expect(keyMatchesCertificate(readKey(path.join(intermediate, 'ca.key')), cert)).toBe(true);
    const bundleFile = path.join(intermediate, 'cacerts.pem');
    const bundle = readChain(bundleFile);
    expect(bundle.map((c) => c.sha256Fingerprint)).toEqual([cert.sha256Fingerprint, rootCert.sha256Fingerprint]);
    expect(() => verifyCaBundle(bundle, bundleFile)).not.toThrow();
  });

  test('the summary names each file, the subject, notAfter and the SHA-256 fingerprint', async () => {
    const out = path.join(dir, 'summary-ca');
    const r = await ok('ca', '--out', out, '--cn', 'Summary CA', '--days', '30', '--issuer-dir', root);
    const cert = readCert(path.join(out, 'ca.crt'));
    expect(r.stdout).toContain(`wrote ${path.join(out, 'ca.key')}: private key, RSA 2048, mode 0600\n`);
    expect(r.stdout).toContain(`wrote ${path.join(out, 'ca.crt')}: intermediate CA signed by CN=Acme Root CA\n`);
    expect(r.stdout).toContain('  subject    CN=Summary CA\n');
    expect(r.stdout).toContain(`  notAfter   ${cert.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z')}\n`);
    expect(r.stdout).toContain(`  sha256     ${cert.sha256Fingerprint}\n`);
    expect(r.stdout).toContain(`wrote ${path.join(out, 'cacerts.pem')}: the CA bundle to trust (CN=Summary CA, CN=Acme Root CA)\n`);
    expect(r.stdout).not.toContain('PRIVATE KEY');
  });
});

describe('pki leaf', () => {
  test("a server certificate for Rancher: tls.crt is leaf then intermediate, and loads with the CA's cacerts.pem", async () => {
    const out = path.join(dir, 'rancher');
    const r = await ok('leaf', '--ca-dir', intermediate, '--out', out, '--cn', 'rancher.example.com', '--dns', 'rancher.example.com,www.example.com', '--ip', '10.0.0.1', '--ip', '2001:db8::1');
    const certFile = path.join(out, 'tls.crt');
    const keyFile = path.join(out, 'tls.key');
    const [leaf, int, ...rest] = readChain(certFile);
    expect(rest).toEqual([]);
    expect(int.sha256Fingerprint).toBe(readCert(path.join(intermediate, 'ca.crt')).sha256Fingerprint);
    expect(() => verifyChain([leaf, int], certFile)).not.toThrow();
    expect(leaf.isCA).toBe(false);
    expect(leaf.subject).toBe('CN=rancher.example.com');
    expect(leaf.dnsNames).toEqual(['rancher.example.com', 'www.example.com']);
    expect(leaf.ipAddresses).toEqual(['10.0.0.1', '2001:db8::1']);
    expect(leaf.x509.keyUsage).toEqual([SERVER_AUTH]);
    expect(days(leaf)).toBeGreaterThan(364);
    expect(days(leaf)).toBeLessThanOrEqual(365);
    expect(keyMatchesCertificate(readKey(keyFile), leaf)).toBe(true);
    expect(mode(keyFile)).toBe(0o600);
    expect(r.stdout).toContain(`wrote ${certFile}: server certificate, then CN=Acme Intermediate CA (without the root)\n`);
    expect(r.stdout).toContain('  names      DNS:rancher.example.com, DNS:www.example.com, IP:10.0.0.1, IP:2001:db8::1\n');
    expect(r.stdout).toContain(`  sha256     ${leaf.sha256Fingerprint}\n`);
    expect(r.stdout).toContain(`trust: ${path.join(intermediate, 'cacerts.pem')}\n`);

    const loaded = loadServerCertificate({
      certFile,
      keyFile,
      caFile: path.join(intermediate, 'cacerts.pem'),
      hostname: 'rancher.example.com',
      now: new Date(),
      renewBefore: 30 * DAY,
    });
    expect(loaded.leaf.sha256Fingerprint).toBe(leaf.sha256Fingerprint);
    expect(loaded.caBundle?.certificates.map((c) => c.subjectCommonName)).toEqual(['Acme Intermediate CA', 'Acme Root CA']);
  });

  test('signed by a root, the certificate file holds the leaf alone; without --dns/--ip the CN is the name', async () => {
    const out = path.join(dir, 'from-root');
    await ok('leaf', '--ca-dir', root, '--out', out, '--cn', 'kube-apiserver', '--name', 'apiserver', '--days', '90');
    const chain = readChain(path.join(out, 'apiserver.crt'));
    expect(chain).toHaveLength(1);
    expect(chain[0].dnsNames).toEqual(['kube-apiserver']);
    expect(chain[0].ipAddresses).toEqual([]);
    expect(isIssuedBy(chain[0], readCert(path.join(root, 'ca.crt')))).toBe(true);
    expect(days(chain[0])).toBeGreaterThan(89);
    expect(fs.existsSync(path.join(out, 'apiserver.key'))).toBe(true);

    await ok('leaf', '--ca-dir', root, '--out', out, '--cn', '10.43.0.1', '--name', 'by-ip');
    const byIp = readCert(path.join(out, 'by-ip.crt'));
    expect(byIp.dnsNames).toEqual([]);
    expect(byIp.ipAddresses).toEqual(['10.43.0.1']);
  });

  test('--client: a kubeadm-style admin certificate (O=system:masters, clientAuth, no names); with --server both', async () => {
    const out = path.join(dir, 'admin');
    const r = await ok('leaf', '--ca-dir', root, '--out', out, '--name', 'admin', '--client', '--cn', 'kubernetes-admin', '--org', 'system:masters');
    const admin = readCert(path.join(out, 'admin.crt'));
    expect(admin.subject).toBe('O=system:masters, CN=kubernetes-admin');
    expect(admin.x509.keyUsage).toEqual([CLIENT_AUTH]);
    expect(admin.dnsNames).toEqual([]);
    expect(admin.x509.subjectAltName).toBeUndefined();
    expect(keyMatchesCertificate(readKey(path.join(out, 'admin.key')), admin)).toBe(true);
    expect(r.stdout).toContain(`wrote ${path.join(out, 'admin.crt')}: client certificate\n`);

    await ok('leaf', '--ca-dir', root, '--out', out, '--name', 'peer', '--client', '--server', '--cn', 'etcd-1', '--ip', '10.0.0.1');
    expect([...readCert(path.join(out, 'peer.crt')).x509.keyUsage].sort()).toEqual([SERVER_AUTH, CLIENT_AUTH]);
  });

  test('openssl verifies the chain as a TLS server chain', async () => {
    const out = path.join(dir, 'openssl');
    await ok('leaf', '--ca-dir', intermediate, '--out', out, '--cn', 'app.example.com');
    const verified = openssl([
      'verify', '-purpose', 'sslserver', '-CAfile', path.join(root, 'ca.crt'), '-untrusted', path.join(intermediate, 'ca.crt'), path.join(out, 'tls.crt'),
    ]);
    expect(verified.trim()).toBe(`${path.join(out, 'tls.crt')}: OK`);
  });
});

describe('pki csr', () => {
  test('writes a request openssl verifies, for the key written next to it (mode 0600)', async () => {
    const out = path.join(dir, 'csr');
    const r = await ok('csr', '--out', out, '--cn', 'rancher.example.com', '--org', 'Acme', '--dns', 'rancher.example.com', '--ip', '10.0.0.9');
    const csrFile = path.join(out, 'tls.csr');
    const keyFile = path.join(out, 'tls.key');
    const text = openssl(['req', '-in', csrFile, '-noout', '-verify', '-text']);
    expect(text).toMatch(/Subject: O ?= ?Acme, CN ?= ?rancher\.example\.com/);
    expect(text).toMatch(/DNS:rancher\.example\.com, IP Address:10\.0\.0\.9/);
    const fromCsr = openssl(['req', '-in', csrFile, '-noout', '-pubkey']);
    const fromKey = openssl(['pkey', '-in', keyFile, '-pubout']);
    expect(fromCsr).toBe(fromKey);
    expect(mode(keyFile)).toBe(0o600);
    expect(r.stdout).toContain(`wrote ${csrFile}: certificate signing request\n`);
    expect(r.stdout).toContain('  subject    O=Acme, CN=rancher.example.com\n');
  });
});

describe('existing files', () => {
  test('an existing key is never overwritten without --force; nothing else is written either', async () => {
    const out = path.join(dir, 'again');
    await ok('leaf', '--ca-dir', intermediate, '--out', out, '--cn', 'again.example.com');
    const before = { crt: fs.readFileSync(path.join(out, 'tls.crt')), key: fs.readFileSync(path.join(out, 'tls.key')) };
    const r = await pki('leaf', '--ca-dir', intermediate, '--out', out, '--cn', 'again.example.com');
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      `cert-rotation pki leaf: ${path.join(out, 'tls.key')} exists (a private key that would be lost); pass --force to replace it, or choose another --out\n`,
    );
    expect(fs.readFileSync(path.join(out, 'tls.crt')).equals(before.crt)).toBe(true);
    expect(fs.readFileSync(path.join(out, 'tls.key')).equals(before.key)).toBe(true);
  });

  test('an existing certificate without its key is not replaced either', async () => {
    const out = path.join(dir, 'cert-only');
    fs.mkdirSync(out);
    fs.writeFileSync(path.join(out, 'ca.crt'), 'keep me');
    const r = await pki('ca', '--out', out);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${path.join(out, 'ca.crt')} exists (a file); pass --force to replace it`);
    expect(fs.readFileSync(path.join(out, 'ca.crt'), 'utf8')).toBe('keep me');
    expect(fs.existsSync(path.join(out, 'ca.key'))).toBe(false);
  });

  test('--force replaces the files, and the new key gets mode 0600 even where the old one was 0644', async () => {
    const out = path.join(dir, 'forced');
    await ok('ca', '--out', out, '--cn', 'Forced CA');
    const keyFile = path.join(out, 'ca.key');
    const oldKey = fs.readFileSync(keyFile, 'utf8');
    fs.chmodSync(keyFile, 0o644);
    await ok('ca', '--out', out, '--cn', 'Forced CA', '--force');
    expect(fs.readFileSync(keyFile, 'utf8')).not.toBe(oldKey);
    expect(mode(keyFile)).toBe(0o600);
    expect(keyMatchesCertificate(readKey(keyFile), readCert(path.join(out, 'ca.crt')))).toBe(true);
  });
});

describe('the CA directory', () => {
  test('a missing --ca-dir names ca.crt and how to make a CA', async () => {
    const missing = path.join(dir, 'nowhere');
    const r = await pki('leaf', '--ca-dir', missing, '--out', path.join(dir, 'x'), '--cn', 'x.example.com');
    expect(r.code).toBe(3);
    expect(r.stderr).toBe(
      `cert-rotation pki leaf: --ca-dir ${missing}: ${path.join(missing, 'ca.crt')} does not exist; a CA directory holds ca.crt and ca.key; make one with \`cert-rotation pki ca --out ${missing}\` or pass another --ca-dir\n`,
    );
    expect(fs.existsSync(path.join(dir, 'x'))).toBe(false);
  });

  test('a key that does not belong to ca.crt is named, and nothing is written', async () => {
    const mixed = path.join(dir, 'mixed');
    fs.mkdirSync(mixed);
    fs.copyFileSync(path.join(root, 'ca.crt'), path.join(mixed, 'ca.crt'));
    fs.copyFileSync(path.join(intermediate, 'ca.key'), path.join(mixed, 'ca.key'));
    const r = await pki('leaf', '--ca-dir', mixed, '--out', path.join(dir, 'y'), '--cn', 'y.example.com');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${path.join(mixed, 'ca.key')}: the private key does not belong to ${path.join(mixed, 'ca.crt')}`);
    expect(fs.existsSync(path.join(dir, 'y'))).toBe(false);
  });

  test('a leaf certificate is not a CA', async () => {
    const notCa = path.join(dir, 'not-ca');
    await ok('leaf', '--ca-dir', root, '--out', notCa, '--name', 'ca', '--cn', 'leaf.example.com');
    const r = await pki('leaf', '--ca-dir', notCa, '--out', path.join(dir, 'z'), '--cn', 'z.example.com');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${path.join(notCa, 'ca.crt')}: CN=leaf.example.com is not a CA certificate (basicConstraints lacks CA:TRUE)`);
  });

  test('an EC CA is refused: the issuer signs with RSA only', async () => {
    const ec = path.join(dir, 'ec-ca');
    fs.mkdirSync(ec);
    const key = opensslKey(path.join(ec, 'ca.key'), 'ec-p256');
    openssl(['req', '-x509', '-config', '/dev/null', '-key', key, '-subj', '/CN=EC CA', '-days', '30', '-out', path.join(ec, 'ca.crt'),
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
    const r = await pki('leaf', '--ca-dir', ec, '--out', path.join(dir, 'ec-leaf'), '--cn', 'ec.example.com');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${path.join(ec, 'ca.key')}: the CA key is ECDSA P-256, and cert-rotation pki signs with RSA CAs only`);
  });

  test('an expired CA is refused, and --days past the CA end says how many days are left', async () => {
    const expired = path.join(dir, 'expired-ca');
    fs.mkdirSync(expired);
    const ca = generateCa({ commonName: 'Old CA', notBefore: new Date(Date.now() - 100 * DAY), notAfter: new Date(Date.now() - DAY) });
    fs.writeFileSync(path.join(expired, 'ca.crt'), ca.certPem);
    fs.writeFileSync(path.join(expired, 'ca.key'), ca.keyPem, { mode: 0o600 });
    const old = await pki('leaf', '--ca-dir', expired, '--out', path.join(dir, 'old-leaf'), '--cn', 'old.example.com');
    expect(old.code).toBe(3);
    expect(old.stderr).toMatch(/ca\.crt: CN=Old CA expired at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ; renew the CA, or pass another --ca-dir\n$/);

    const short = path.join(dir, 'short-ca');
    await ok('ca', '--out', short, '--cn', 'Short CA', '--days', '10');
    const r = await pki('leaf', '--ca-dir', short, '--out', path.join(dir, 'long-leaf'), '--cn', 'long.example.com');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--days 365 would end at \S+, after the issuing CA CN=Short CA of --ca-dir \S+ \(notAfter \S+\); pass --days 9 or less, or renew the CA first\n$/);
    expect(fs.existsSync(path.join(dir, 'long-leaf'))).toBe(false);
  });
});

// GIVEN certificates issued by `pki leaf`, WHEN `pki renew` runs as a nightly
// job would, THEN it re-issues exactly the ones that are due (inside the
// window, expired, or from another CA) with the same subject, names, usage and
// key size and a new key, says why, and writes nothing for the others.
describe('pki renew', () => {
  const leaf = (file: string) => readChain(file)[0];
  const fingerprint = (file: string) => leaf(file).sha256Fingerprint;

  test('not due: nothing written, the line says when it expires; inside the window: renewed with the same subject, names and usage', async () => {
    const out = path.join(dir, 'renew-window');
    await ok('leaf', '--ca-dir', intermediate, '--out', out, '--cn', 'rancher.example.com', '--dns', 'rancher.example.com,rancher-alt.example.com', '--ip', '10.0.0.5', '--days', '20', '--key-bits', '3072');
    const crt = path.join(out, 'tls.crt');
    const key = path.join(out, 'tls.key');
    const before = { crt: fs.readFileSync(crt, 'utf8'), key: fs.readFileSync(key, 'utf8'), mtime: fs.statSync(crt).mtimeMs };

    const notDue = await ok('renew', '--ca-dir', intermediate, '--out', out, '--renew-before', '14d');
    expect(notDue.stdout).toMatch(new RegExp(`^not due: ${crt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: .*CN=rancher\\.example\\.com.* expires at .*, in 19 days \\(--renew-before 14d\\); nothing written\n$`));
    expect({ crt: fs.readFileSync(crt, 'utf8'), key: fs.readFileSync(key, 'utf8'), mtime: fs.statSync(crt).mtimeMs }).toEqual(before);

    const renewed = await ok('renew', '--ca-dir', intermediate, '--out', out, '--renew-before', '30d', '--days', '90');
    expect(renewed.stdout).toMatch(/^renewed: .*tls\.crt, because it expires at .*, within --renew-before 30d\n/);
    const cert = leaf(crt);
    expect(cert.subject).toBe('CN=rancher.example.com');
    expect(cert.dnsNames).toEqual(['rancher.example.com', 'rancher-alt.example.com']);
    expect(cert.ipAddresses).toEqual(['10.0.0.5']);
    expect(cert.x509.keyUsage).toEqual([SERVER_AUTH]);
    expect(Math.round(days(cert))).toBe(90);
    expect(fs.readFileSync(key, 'utf8')).not.toBe(before.key);
    expect(readKey(key).asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(keyMatchesCertificate(readKey(key), cert)).toBe(true);
    expect(mode(key)).toBe(0o600);
    // The chain is as `pki leaf` writes it: leaf, then the intermediate.
    expect(readChain(crt).map((c) => c.subject)).toEqual(['CN=rancher.example.com', 'CN=Acme Intermediate CA']);
    expect(fs.readdirSync(out).sort()).toEqual(['tls.crt', 'tls.key']);

    // The next night: 90 days left, not due.
    expect((await ok('renew', '--ca-dir', intermediate, '--out', out, '--renew-before', '30d')).stdout).toMatch(/^not due: /);
  });

  test('a client certificate keeps O, clientAuth and its lifetime; --force renews one that is not due', async () => {
    const out = path.join(dir, 'renew-client');
    await ok('leaf', '--ca-dir', root, '--out', out, '--name', 'admin', '--client', '--cn', 'kubernetes-admin', '--org', 'system:masters', '--days', '200');
    const crt = path.join(out, 'admin.crt');
    const old = fingerprint(crt);
    expect((await ok('renew', '--ca-dir', root, '--out', out, '--name', 'admin')).stdout).toMatch(/^not due: /);
    expect(fingerprint(crt)).toBe(old);
    expect((await ok('renew', '--ca-dir', root, '--out', out, '--name', 'admin', '--force')).stdout).toMatch(/because of --force/);
    const cert = leaf(crt);
    expect(cert.sha256Fingerprint).not.toBe(old);
    expect(cert.subject).toBe('O=system:masters, CN=kubernetes-admin');
    expect(cert.x509.keyUsage).toEqual([CLIENT_AUTH]);
    expect(Math.round(days(cert))).toBe(200);
  });

  test('a certificate of another CA is due (the CA was replaced): re-issued by the new one', async () => {
    const out = path.join(dir, 'renew-other-ca');
    const other = path.join(dir, 'other-ca');
    await ok('ca', '--out', other, '--cn', 'Other CA');
    await ok('leaf', '--ca-dir', other, '--out', out, '--cn', 'app.example.com');
    const r = await ok('renew', '--ca-dir', root, '--out', out);
    expect(r.stdout).toMatch(/because it was not issued by .*CN=Acme Root CA/);
    expect(leaf(path.join(out, 'tls.crt')).issuer).toBe('O=Acme, CN=Acme Root CA');
  });

  test('a missing certificate: exit 3 naming the file and the pki leaf command that makes it', async () => {
    const r = await pki('renew', '--ca-dir', root, '--out', path.join(dir, 'renew-none'));
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/renew-none\/tls\.crt does not exist; issue it first with `cert-rotation pki leaf --ca-dir /);
    expect(fs.existsSync(path.join(dir, 'renew-none'))).toBe(false);
  });
});

describe('usage', () => {
  test('pki --help and help pki list the commands; each command has its own --help', async () => {
    for (const argv of [['pki', '--help'], ['pki', '-h'], ['help', 'pki']]) {
      const r = await runCli(...argv);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: cert-rotation pki <ca \| leaf \| csr \| renew \| rollover> \[options\]/);
      expect(r.stdout).toMatch(/^ {2}leaf +a server or client certificate/m);
    }
    for (const command of ['ca', 'leaf', 'csr', 'renew', 'rollover']) {
      const r = await runCli('pki', command, '--out', 'ignored', '-h');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^Usage: cert-rotation pki ${command} `));
      expect(r.stdout).toContain('--force');
    }
    expect((await runCli('--help')).stdout).toMatch(/^ {2}pki +issue a root or intermediate CA/m);
  });

  test.each([
    [[], 'no pki command given; use one of: ca, leaf, csr'],
    [['frob'], "'frob' is not a pki command; use one of: ca, leaf, csr"],
    [['--out', 'd', 'ca'], "'--out' comes before the pki command"],
    [['ca'], 'no --out given; pass the directory to write the CA and its key to'],
    [['ca', '--out', 'd', 'extra'], "pki ca takes no arguments, only options: got 'extra'"],
    [['ca', '--out', 'd', '--days', '0'], "--days '0' is not a whole number from 1 to 36500"],
    [['ca', '--out', 'd', '--days', '1.5'], "--days '1.5' is not a whole number from 1 to 36500"],
    [['ca', '--out', 'd', '--key-bits', '1024'], "--key-bits '1024' is not a whole number from 2048 to 16384"],
    [['ca', '--out', ''], '--out is empty; pass a directory'],
    [['ca', '--out', 'd', '--cn', ''], "--cn '' must be 1 to 64 characters"],
    [['ca', '--out', 'd', '--dns', 'x'], "Unknown option '--dns'"],
    [['leaf', '--out', 'd', '--cn', 'x'], 'no --ca-dir given; pass the directory of the signing CA'],
    [['leaf', '--ca-dir', 'c', '--out', 'd'], 'no --cn given; pass the subject common name'],
    [['leaf', '--ca-dir', 'c', '--out', 'd', '--cn', 'x', '--ip', '10.0.0'], "--ip '10.0.0' is not an IPv4 or IPv6 address"],
    [['leaf', '--ca-dir', 'c', '--out', 'd', '--cn', 'x', '--dns', 'a b.example.com'], "--dns 'a b.example.com' is not a DNS name"],
    [['leaf', '--ca-dir', 'c', '--out', 'd', '--cn', 'My Server'], "--cn 'My Server' is not a DNS name; pass the names with --dns or --ip"],
    [['leaf', '--ca-dir', 'c', '--out', 'd', '--cn', 'x', '--name', '../tls'], "--name '../tls' is not a file name"],
    [['csr', '--out', 'd'], 'no --cn given'],
    [['renew', '--out', 'd'], 'no --ca-dir given'],
    [['renew', '--ca-dir', 'c'], 'no --out given; pass the directory that holds the certificate to renew'],
    [['renew', '--ca-dir', 'c', '--out', 'd', '--renew-before', 'soon'], "--renew-before 'soon' is not a duration; write a number and a unit"],
    [['renew', '--ca-dir', 'c', '--out', 'd', '--cn', 'x'], "Unknown option '--cn'"],
  ])('pki %j: exit 3 and the message names the option', async (argv, message) => {
    const r = await pki(...argv);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain("Run 'cert-rotation pki --help' for usage.");
  });
});
