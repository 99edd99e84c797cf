// GIVEN a CA made by `pki ca` that is about to expire, WHEN `pki rollover`
// runs once per night (with `pki renew` after it), THEN it goes through
// trust-both, switch and drop-old, one phase per run and never before
// --overlap has passed, and the files of each phase are what the synth guard
// accepts for Rancher's tls-ca: the chain, then the other root.
import * as fs from 'fs';
import * as path from 'path';
import { CertificateInfo, extraRoots, loadServerCertificate, parseCertificate, parseCertificates, parsePrivateKey, verifyCaBundle } from '../../../lib/pki';
import { removeDir, tempDir } from '../../support/pki';
import { pkiCli } from './support/pki-cli';

let dir: string;
const { pki, ok, expectNoKeyPrinted } = pkiCli();

const bundle = (file: string) => parseCertificates(fs.readFileSync(file), file, 'cacerts.pem');
const fp = (c: CertificateInfo) => c.sha256Fingerprint;
const fps = (file: string) => bundle(file).map(fp);
const cert = (file: string) => parseCertificate(fs.readFileSync(file), file, 'ca.crt');
const leafOf = (file: string) => parseCertificates(fs.readFileSync(file), file, 'tls.crt')[0];
const mode = (file: string) => fs.statSync(file).mode & 0o777;
/** Every file under `d` with its content, to show a run wrote nothing. */
const snapshot = (d: string): Record<string, string> => {
  const out: Record<string, string> = {};
  const walk = (p: string): void => {
    for (const e of fs.readdirSync(p, { withFileTypes: true })) {
      const f = path.join(p, e.name);
      if (e.isDirectory()) walk(f);
      else out[path.relative(d, f)] = fs.readFileSync(f, 'utf8');
    }
  };
  walk(d);
  return out;
};

/** What the synth guard says of Rancher's three files (it throws on anything it refuses). */
function guard(certs: string, caFile: string): string[] {
  const loaded = loadServerCertificate({
    certFile: path.join(certs, 'tls.crt'),
    keyFile: path.join(certs, 'tls.key'),
    caFile,
    hostname: 'rancher.example.com',
    now: new Date(),
    renewBefore: 30 * 86400000,
  });
  return loaded.warnings.map((w) => w.id);
}

beforeAll(() => {
  dir = tempDir('cli-pki-rollover-');
});

afterAll(() => {
  // No private key written by any test may appear in anything the tool printed.
  expect(expectNoKeyPrinted(dir)).toBeGreaterThan(10);
  removeDir(dir);
});

describe('pki rollover of a root CA', () => {
  test('not due: nothing written; then trust-both, switch and drop-old, each after --overlap, with pki renew re-issuing the leaf at the switch', async () => {
    const root = path.join(dir, 'root');
    const certs = path.join(dir, 'certs');
    await ok('ca', '--out', root, '--cn', 'Acme Root CA', '--org', 'Acme', '--days', '120', '--key-bits', '3072');
    await ok('leaf', '--ca-dir', root, '--out', certs, '--cn', 'rancher.example.com', '--days', '100');
    const oldRoot = cert(path.join(root, 'ca.crt'));
    const caFile = path.join(root, 'cacerts.pem');
    const roll = (...more: string[]) => ok('rollover', '--ca-dir', root, '--renew-before', '90d', '--overlap', '7d', '--days', '3650', ...more);

    // 120 days left: not due.
    let before = snapshot(root);
    expect((await roll()).stdout).toMatch(/^not due: CN=Acme Root CA of --ca-dir \S+ expires at \S+, in 119 days \(--renew-before 90d\); nothing written\n$/);
    expect(snapshot(root)).toEqual(before);

    // Phase 1 (started early by --force, as a run inside the window would).
    const p1 = await roll('--force');
    expect(p1.stdout).toMatch(/^rollover 1 of 3 \(trust-both\): .* \(started by --force\)$/m);
    expect(p1.stdout).toMatch(/^wrote \S+\/rollover\.json: next phase \(switch\) from \S+ \(--overlap 7d\)$/m);
    const newRoot = cert(path.join(root, 'next', 'ca.crt'));
    expect(newRoot.subject).toBe(oldRoot.subject);
    expect(newRoot.selfSigned).toBe(true);
    expect(Math.round((newRoot.notAfter.getTime() - Date.now()) / 86400000)).toBe(3650);
    expect(parsePrivateKey(fs.readFileSync(path.join(root, 'next', 'ca.key')), 'ca.key').asymmetricKeyDetails?.modulusLength).toBe(3072);
    expect(mode(path.join(root, 'next', 'ca.key'))).toBe(0o600);
    expect(fps(caFile)).toEqual([fp(oldRoot), fp(newRoot)]);
    expect(cert(path.join(root, 'ca.crt')).sha256Fingerprint).toBe(fp(oldRoot));
    expect(() => verifyCaBundle(bundle(caFile), caFile)).not.toThrow();
    // The leaf is still the old root's, and the guard accepts the pair, saying that both roots are trusted.
    expect((await ok('renew', '--ca-dir', root, '--out', certs)).stdout).toMatch(/^not due: /);
    expect(guard(certs, caFile)).toContain('cert-rotation:extraTrustedRoots');

    // The same night again, or any night before --overlap has passed: nothing.
    before = snapshot(root);
    expect((await roll()).stdout).toMatch(/^rollover 1 of 3 \(trust-both\) since \S+: the next phase is due from \S+ \(--overlap 7d\); nothing written\n$/);
    expect(snapshot(root)).toEqual(before);

    // Phase 2 (--force stands in for the week that passes).
    const p2 = await roll('--force');
    expect(p2.stdout).toMatch(/^rollover 2 of 3 \(switch\): /);
    expect(fp(cert(path.join(root, 'ca.crt')))).toBe(fp(newRoot));
    expect(fp(cert(path.join(root, 'previous', 'ca.crt')))).toBe(fp(oldRoot));
    expect(mode(path.join(root, 'ca.key'))).toBe(0o600);
    expect(mode(path.join(root, 'previous', 'ca.key'))).toBe(0o600);
    expect(fs.existsSync(path.join(root, 'next'))).toBe(false);
    expect(fps(caFile)).toEqual([fp(newRoot), fp(oldRoot)]);
    // The leaf is due now (its issuer is not --ca-dir's CA any more) and is re-issued by the new root.
    const oldLeaf = fp(leafOf(path.join(certs, 'tls.crt')));
    expect((await ok('renew', '--ca-dir', root, '--out', certs)).stdout).toMatch(/^renewed: .*because it was not issued by CN=Acme Root CA/);
    const leaf = leafOf(path.join(certs, 'tls.crt'));
    expect(fp(leaf)).not.toBe(oldLeaf);
    expect(leaf.x509.verify(newRoot.x509.publicKey)).toBe(true);
    expect(guard(certs, caFile)).toContain('cert-rotation:extraTrustedRoots');

    // Phase 3.
    const p3 = await roll('--force');
    expect(p3.stdout).toMatch(/^rollover 3 of 3 \(drop-old\): done/);
    expect(fps(caFile)).toEqual([fp(newRoot)]);
    expect(extraRoots(bundle(caFile))).toEqual([]);
    expect(fs.existsSync(path.join(root, 'previous', 'ca.key'))).toBe(false);
    expect(fs.existsSync(path.join(root, 'previous', 'ca.crt'))).toBe(true);
    expect(fs.existsSync(path.join(root, 'rollover.json'))).toBe(false);
    expect(guard(certs, caFile)).not.toContain('cert-rotation:extraTrustedRoots');

    // And the night after: the new root has ten years; nothing.
    before = snapshot(root);
    expect((await roll()).stdout).toMatch(/^not due: .* in 3649 days/);
    expect((await ok('renew', '--ca-dir', root, '--out', certs)).stdout).toMatch(/^not due: /);
    expect(snapshot(root)).toEqual(before);
  });

  test('--overlap 0s: one phase per run, and a rollover.json that no longer matches the CA is refused, naming it', async () => {
    const root = path.join(dir, 'root-fast');
    await ok('ca', '--out', root, '--cn', 'Fast Root', '--days', '30');
    const roll = () => pki('rollover', '--ca-dir', root, '--renew-before', '60d', '--overlap', '0s', '--days', '3650');
    expect((await roll()).stdout).toMatch(/^rollover 1 of 3 \(trust-both\): .* within --renew-before 60d$/m);
    // A CA replaced by hand in the middle of the rollover.
    const saved = fs.readFileSync(path.join(root, 'ca.crt'));
    const savedKey = fs.readFileSync(path.join(root, 'ca.key'));
    await ok('ca', '--out', root, '--cn', 'Hand-made Root', '--force');
    const refused = await roll();
    expect(refused.code).toBe(3);
    expect(refused.stderr).toMatch(/rollover\.json is in phase trust-both of a rollover from \S+… to \S+…, but the CA found is CN=Hand-made Root .*; the CA directory was changed by hand: put back the CA of the rollover, or delete rollover\.json \(and next\/\) to start again/);
    fs.writeFileSync(path.join(root, 'ca.crt'), saved);
    fs.writeFileSync(path.join(root, 'ca.key'), savedKey);
    fs.writeFileSync(path.join(root, 'cacerts.pem'), saved);
    expect((await roll()).stdout).toMatch(/^rollover 2 of 3 \(switch\)/);
    expect((await roll()).stdout).toMatch(/^rollover 3 of 3 \(drop-old\)/);
    expect((await roll()).stdout).toMatch(/^not due: /);
  });

  test('a switch killed between its renames (ca.key already new, ca.crt still old) finishes on the next run', async () => {
    const root = path.join(dir, 'root-killed');
    await ok('ca', '--out', root, '--cn', 'Killed Root', '--days', '30');
    const roll = () => ok('rollover', '--ca-dir', root, '--renew-before', '60d', '--overlap', '0s', '--days', '3650');
    await roll();
    const oldCrt = fs.readFileSync(path.join(root, 'ca.crt'), 'utf8');
    const oldKey = fs.readFileSync(path.join(root, 'ca.key'), 'utf8');
    const newCrt = fs.readFileSync(path.join(root, 'next', 'ca.crt'), 'utf8');
    const newKey = fs.readFileSync(path.join(root, 'next', 'ca.key'), 'utf8');
    // What the kill leaves: previous/ written, the new key renamed into place, the certificate not yet.
    fs.mkdirSync(path.join(root, 'previous'));
    fs.writeFileSync(path.join(root, 'previous', 'ca.crt'), oldCrt);
    fs.writeFileSync(path.join(root, 'previous', 'ca.key'), oldKey, { mode: 0o600 });
    fs.writeFileSync(path.join(root, 'ca.key'), newKey, { mode: 0o600 });
    expect((await roll()).stdout).toMatch(/^rollover 2 of 3 \(switch\)/);
    expect(fs.readFileSync(path.join(root, 'ca.crt'), 'utf8')).toBe(newCrt);
    expect(fs.readFileSync(path.join(root, 'ca.key'), 'utf8')).toBe(newKey);
    expect(fs.readFileSync(path.join(root, 'previous', 'ca.key'), 'utf8')).toBe(oldKey);
    expect(fps(path.join(root, 'cacerts.pem'))).toEqual([fp(cert(path.join(root, 'ca.crt'))), fp(cert(path.join(root, 'previous', 'ca.crt')))]);
  });

  test('a new root that would be inside the window at once, a CA that expires before two overlaps, and a broken rollover.json are refused with the fix; nothing written', async () => {
    const root = path.join(dir, 'root-short');
    await ok('ca', '--out', root, '--cn', 'Short Root', '--days', '30');
    const before = snapshot(root);
    const sameLifetime = await pki('rollover', '--ca-dir', root, '--renew-before', '60d', '--overlap', '1d');
    expect(sameLifetime.code).toBe(3);
    expect(sameLifetime.stderr).toMatch(/a new root with the lifetime of CN=Short Root \(30 days\) would be within --renew-before 60d at once and roll over again; pass --days with more days than --renew-before/);
    const tooLate = await pki('rollover', '--ca-dir', root, '--renew-before', '60d', '--overlap', '20d', '--days', '3650');
    expect(tooLate.code).toBe(3);
    expect(tooLate.stderr).toMatch(/expires at \S+, before two --overlap 20d have passed, so the rollover could not finish in time; pass a shorter --overlap \(at most 14d\)/);
    expect(snapshot(root)).toEqual(before);

    fs.writeFileSync(path.join(root, 'rollover.json'), '{"phase":"later"}');
    const broken = await pki('rollover', '--ca-dir', root, '--renew-before', '60d', '--overlap', '1d', '--days', '3650');
    expect(broken.code).toBe(3);
    expect(broken.stderr).toMatch(/rollover\.json: field phase must be trust-both or switch, with since \(a date\), old and new \(SHA-256 fingerprints\); it is written by `cert-rotation pki rollover`; restore it from a backup, or delete it/);
  });
});

describe('pki rollover of an intermediate CA', () => {
  test('it waits while its root trusts both, is re-issued from the new root at the switch, and its cacerts.pem follows the root\'s', async () => {
    const root = path.join(dir, 'i-root');
    const int = path.join(dir, 'i-int');
    const certs = path.join(dir, 'i-certs');
    await ok('ca', '--out', root, '--cn', 'Chain Root', '--days', '60');
    await ok('ca', '--out', int, '--cn', 'Chain Int', '--issuer-dir', root, '--days', '50');
    await ok('leaf', '--ca-dir', int, '--out', certs, '--cn', 'rancher.example.com', '--days', '40');
    const night = async () => {
      const r = await ok('rollover', '--ca-dir', root, '--overlap', '0s', '--days', '3650');
      const i = await ok('rollover', '--ca-dir', int, '--issuer-dir', root, '--overlap', '0s', '--days', '1825');
      const l = await ok('renew', '--ca-dir', int, '--out', certs, '--renew-before', '30d', '--days', '365');
      return { root: r.stdout, int: i.stdout, leaf: l.stdout };
    };
    const intFile = path.join(int, 'cacerts.pem');
    const oldRoot = cert(path.join(root, 'ca.crt'));
    const oldInt = cert(path.join(int, 'ca.crt'));

    const n1 = await night();
    expect(n1.root).toMatch(/^rollover 1 of 3 \(trust-both\)/m);
    expect(n1.int).toMatch(/^waiting: --issuer-dir \S+ is in phase 1 of 3 \(trust-both\) of its rollover; CN=Chain Int of --ca-dir \S+ is re-issued from the new root at the switch$/m);
    const newRoot = cert(path.join(root, 'next', 'ca.crt'));
    expect(fps(intFile)).toEqual([fp(oldInt), fp(oldRoot), fp(newRoot)]);
    expect(n1.leaf).toMatch(/^not due: /);
    expect(guard(certs, intFile)).toContain('cert-rotation:extraTrustedRoots');

    const n2 = await night();
    expect(n2.root).toMatch(/^rollover 2 of 3 \(switch\)/);
    expect(n2.int).toMatch(/^re-issued: CN=Chain Int of --ca-dir \S+, because it was not issued by CN=Chain Root of --issuer-dir \S+ \(that CA was replaced\)$/m);
    const newInt = cert(path.join(int, 'ca.crt'));
    expect(newInt.x509.verify(newRoot.x509.publicKey)).toBe(true);
    expect(fps(intFile)).toEqual([fp(newInt), fp(newRoot), fp(oldRoot)]);
    expect(n2.leaf).toMatch(/^renewed: .*because it was not issued by CN=Chain Int/);
    expect(parseCertificates(fs.readFileSync(path.join(certs, 'tls.crt')), 'tls.crt', 'tls.crt').map(fp)).toEqual([fp(leafOf(path.join(certs, 'tls.crt'))), fp(newInt)]);
    guard(certs, intFile);

    const n3 = await night();
    expect(n3.root).toMatch(/^rollover 3 of 3 \(drop-old\)/);
    expect(n3.int).toMatch(/^wrote \S+cacerts\.pem: CN=Chain Int, then --issuer-dir's bundle .*\n {2}it lists one root again; deploy it\n$/);
    expect(fps(intFile)).toEqual([fp(newInt), fp(newRoot)]);
    expect(n3.leaf).toMatch(/^not due: /);
    expect(guard(certs, intFile)).not.toContain('cert-rotation:extraTrustedRoots');

    const before = { root: snapshot(root), int: snapshot(int), certs: snapshot(certs) };
    const n4 = await night();
    expect([n4.root, n4.int, n4.leaf].every((s) => s.startsWith('not due: '))).toBe(true);
    expect({ root: snapshot(root), int: snapshot(int), certs: snapshot(certs) }).toEqual(before);
  });

  test('an intermediate without --issuer-dir, a root with one, and options that cannot finish are refused', async () => {
    const root = path.join(dir, 'u-root');
    const int = path.join(dir, 'u-int');
    await ok('ca', '--out', root, '--cn', 'U Root');
    await ok('ca', '--out', int, '--cn', 'U Int', '--issuer-dir', root);
    const noIssuer = await pki('rollover', '--ca-dir', int);
    expect(noIssuer.code).toBe(3);
    expect(noIssuer.stderr).toMatch(/CN=U Int is an intermediate CA issued by CN=U Root; pass --issuer-dir with the directory of the CA that issues it/);
    const rootWithIssuer = await pki('rollover', '--ca-dir', root, '--issuer-dir', int);
    expect(rootWithIssuer.code).toBe(3);
    expect(rootWithIssuer.stderr).toMatch(/CN=U Root is a self-signed root, which has no issuer; leave out --issuer-dir/);
    const overlap = await pki('rollover', '--ca-dir', root, '--renew-before', '10d', '--overlap', '7d');
    expect(overlap.code).toBe(3);
    expect(overlap.stderr).toMatch(/--renew-before 10d is shorter than two --overlap 7d: .*pass a longer --renew-before or a shorter --overlap/);
    const noDir = await pki('rollover');
    expect(noDir.code).toBe(3);
    expect(noDir.stderr).toMatch(/no --ca-dir given/);
  });
});

describe('pki renew with a lifetime inside its own window', () => {
  test('refused with the fix, nothing written: a certificate renewed each night is a rotation each night', async () => {
    const root = path.join(dir, 'w-root');
    const certs = path.join(dir, 'w-certs');
    await ok('ca', '--out', root, '--cn', 'W Root');
    await ok('leaf', '--ca-dir', root, '--out', certs, '--cn', 'app.example.com', '--days', '20');
    const before = snapshot(certs);
    const r = await pki('renew', '--ca-dir', root, '--out', certs, '--renew-before', '30d');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/a new CN=app\.example\.com would last 20 days, within --renew-before 30d, so it would be due again at once; pass --days with more days than --renew-before/);
    expect(snapshot(certs)).toEqual(before);
  });
});
