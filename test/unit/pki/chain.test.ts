import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CertificateInfo,
  extraRoots,
  generateCa,
  generateLeaf,
  isIssuedBy,
  parseCertificate,
  verifyCaBundle,
  verifyChain,
  verifyLeafAgainstCa,
} from '../../../lib/pki';
import {
  expectInputError,
  makeOpensslChain,
  makeOpensslSelfSigned,
  makeOpensslServerCertificate,
  openssl,
  opensslKey,
} from '../../support/pki';

const NOT_BEFORE = new Date('2025-01-01T00:00:00Z');
const TLS = '/srv/rancher/tls.crt';
const CA = '/srv/rancher/cacerts.pem';

describe('chains and CA bundles', () => {
  let dir: string;
  let leaf: CertificateInfo;
  let int: CertificateInfo;
  let root: CertificateInfo;
  let otherInt: CertificateInfo;
  let otherRoot: CertificateInfo;
  let leafFromRoot: CertificateInfo;
  let impostorInt: CertificateInfo;
  let selfSignedLeaf: CertificateInfo;
  // A forge-made three-level hierarchy: root → int1 → int2 → leaf2.
  let f: { root: CertificateInfo; int1: CertificateInfo; int2: CertificateInfo; leaf: CertificateInfo };

  const read = (file: string) => parseCertificate(fs.readFileSync(file), file, 'tls.crt');

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-chain-'));
    const chain = makeOpensslChain(path.join(dir, 'main'), {
      keyType: 'ec-p256',
      hostname: 'rancher.example.com',
      notBefore: NOT_BEFORE,
      days: 90,
      caName: 'Main',
    });
    leaf = read(chain.leafCert);
    int = read(chain.intermediateCert);
    root = read(chain.rootCert);
    const other = makeOpensslChain(path.join(dir, 'other'), {
      keyType: 'ec-p256',
      hostname: 'rancher.example.com',
      notBefore: NOT_BEFORE,
      days: 90,
      caName: 'Other',
    });
    otherInt = read(other.intermediateCert);
    otherRoot = read(other.rootCert);
    leafFromRoot = read(
      makeOpensslServerCertificate({
        chain,
        name: 'from-root',
        keyType: 'ec-p256',
        hostname: 'rancher.example.com',
        notBefore: NOT_BEFORE,
        notAfter: new Date('2025-03-01T00:00:00Z'),
        signedByRoot: true,
        keyFile: chain.leafKey,
      }).cert,
    );
    // Same subject and key identifier as the real intermediate, another key: checkIssued agrees, the signature does not.
    const ski = /Subject Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(
      openssl(['x509', '-in', chain.intermediateCert, '-noout', '-ext', 'subjectKeyIdentifier']),
    )![1];
    const impostorKey = opensslKey(path.join(dir, 'impostor.key'), 'ec-p256');
    const impostorFile = path.join(dir, 'impostor.crt');
    openssl([
      'req', '-x509', '-config', '/dev/null', '-key', impostorKey, '-out', impostorFile, '-days', '3650',
      '-subj', '/O=cert-rotation tests/CN=Main Intermediate CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      '-addext', `subjectKeyIdentifier=${ski.replace(/:/g, '')}`,
    ]);
    impostorInt = read(impostorFile);
    selfSignedLeaf = read(
      makeOpensslSelfSigned(dir, 'self', {
        keyType: 'ec-p256',
        commonName: 'rancher.example.com',
        notBefore: NOT_BEFORE,
        days: 90,
        isCA: false,
      }).cert,
    );

    const validity = { notBefore: NOT_BEFORE, notAfter: new Date('2026-01-01T00:00:00Z') };
    const fRoot = generateCa({ commonName: 'Forge Root CA', organization: 'cert-rotation tests', ...validity });
    const fInt1 = generateCa({ commonName: 'Forge Int 1', ...validity, issuer: fRoot, keyPem: fRoot.keyPem });
    const fInt2 = generateCa({ commonName: 'Forge Int 2', ...validity, issuer: fInt1, keyPem: fRoot.keyPem });
    const fLeaf = generateLeaf({ commonName: 'x.example.com', dnsNames: ['x.example.com'], ...validity, issuer: fInt2, keyPem: fRoot.keyPem });
    const parse = (pem: string) => parseCertificate(pem, '/forge', 'tls.crt');
    f = { root: parse(fRoot.certPem), int1: parse(fInt1.certPem), int2: parse(fInt2.certPem), leaf: parse(fLeaf.certPem) };
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  describe('isIssuedBy', () => {
    test('GIVEN the real chain WHEN checked THEN each link holds and no reverse link does', () => {
      expect(isIssuedBy(leaf, int)).toBe(true);
      expect(isIssuedBy(int, root)).toBe(true);
      expect(isIssuedBy(root, root)).toBe(true);
      expect(isIssuedBy(int, leaf)).toBe(false);
      expect(isIssuedBy(leaf, root)).toBe(false);
      expect(isIssuedBy(leaf, otherInt)).toBe(false);
    });

    test('GIVEN an impostor CA with the same name and key id WHEN checked THEN the signature decides', () => {
      expect(leaf.x509.checkIssued(impostorInt.x509)).toBe(true);
      expect(isIssuedBy(leaf, impostorInt)).toBe(false);
    });
  });

  describe('verifyChain (tls.crt)', () => {
    test.each([
      ['leaf only', () => [leaf]],
      ['leaf, intermediate', () => [leaf, int]],
      ['leaf, intermediate, root', () => [leaf, int, root]],
      ['forge leaf, int2, int1, root', () => [f.leaf, f.int2, f.int1, f.root]],
    ])('GIVEN %s WHEN verified THEN it passes', (_name, certs) => {
      expect(() => verifyChain(certs(), TLS)).not.toThrow();
    });

    test('GIVEN intermediate before leaf WHEN verified THEN the error says reverse order and the required order', () => {
      expectInputError(() => verifyChain([int, leaf], TLS), {
        file: TLS,
        field: 'tls.crt',
        problem:
          /certificate 2 \(CN=rancher\.example\.com\) is signed by certificate 1 \(CN=Main Intermediate CA\), so the two are in reverse order; order must be leaf, then intermediate\(s\)/,
        fix: /reorder tls\.crt: the server certificate first, then the CA certificate that signed it/,
      });
    });

    test('GIVEN leaf then root (intermediate missing) WHEN verified THEN the fix names the missing intermediate', () => {
      expectInputError(() => verifyChain([leaf, root], TLS), {
        file: TLS,
        field: 'tls.crt',
        problem:
          /certificate 1 \(CN=rancher\.example\.com\), issued by O=cert-rotation tests, CN=Main Intermediate CA, is not signed by certificate 2 \(CN=Main Root CA\); order must be leaf, then intermediate\(s\)/,
        fix: /insert the intermediate CA certificate O=cert-rotation tests, CN=Main Intermediate CA after certificate 1/,
      });
    });

    test('GIVEN leaf, root, intermediate WHEN verified THEN the fix moves the intermediate up', () => {
      expectInputError(() => verifyChain([leaf, root, int], TLS), {
        file: TLS,
        field: 'tls.crt',
        problem: /certificate 1 \(CN=rancher\.example\.com\).* is not signed by certificate 2 \(CN=Main Root CA\)/,
        fix: /move certificate 3 \(CN=Main Intermediate CA\) directly after certificate 1/,
      });
    });

    test('GIVEN intermediates of a three-level chain swapped WHEN verified THEN position 2 is named', () => {
      expectInputError(() => verifyChain([f.leaf, f.int1, f.int2, f.root], TLS), {
        file: TLS,
        field: 'tls.crt',
        problem: /certificate 1 \(CN=x\.example\.com\), issued by CN=Forge Int 2, is not signed by certificate 2 \(CN=Forge Int 1\)/,
        fix: /move certificate 3 \(CN=Forge Int 2\) directly after certificate 1/,
      });
      expectInputError(() => verifyChain([f.leaf, f.int2, f.root, f.int1], TLS), {
        file: TLS,
        field: 'tls.crt',
        problem: /certificate 2 \(CN=Forge Int 2\), issued by CN=Forge Int 1, is not signed by certificate 3 \(CN=Forge Root CA\)/,
        fix: /move certificate 4 \(CN=Forge Int 1\) directly after certificate 2/,
      });
    });

    test('GIVEN an intermediate of another CA WHEN verified THEN the error names position 1', () => {
      expectInputError(() => verifyChain([leaf, otherInt], TLS), {
        file: TLS,
        field: 'tls.crt',
        problem: /certificate 1 \(CN=rancher\.example\.com\).* is not signed by certificate 2 \(CN=Other Intermediate CA\)/,
        fix: /or remove certificate 2 \(CN=Other Intermediate CA\) if it does not belong to this chain/,
      });
    });

    test('GIVEN an impostor intermediate WHEN verified THEN the error says its key does not verify the signature', () => {
      expectInputError(() => verifyChain([leaf, impostorInt], TLS), {
        file: TLS,
        field: 'tls.crt',
        problem: /certificate 1 \(CN=rancher\.example\.com\) names certificate 2 \(CN=Main Intermediate CA\) as its issuer, but the public key of certificate 2 .* does not verify its signature/,
        fix: /replace certificate 2 .* with the CA certificate that really signed certificate 1/,
      });
    });

    test('GIVEN the same certificate twice WHEN verified THEN the duplicate is named', () => {
      expectInputError(() => verifyChain([leaf, int, int], TLS), {
        file: TLS,
        field: 'tls.crt',
        problem: /certificate 3 is a copy of certificate 2 \(CN=Main Intermediate CA\)/,
        fix: /remove the duplicate certificate 3 from tls\.crt/,
      });
    });

    test('GIVEN no certificates WHEN verified THEN the error says so', () => {
      expectInputError(() => verifyChain([], TLS), {
        file: TLS,
        field: 'tls.crt',
        problem: /tls\.crt holds no certificate/,
        fix: /server certificate followed by its intermediate/,
      });
    });
  });

  describe('verifyCaBundle (cacerts.pem)', () => {
    test.each([
      ['root only', () => [root]],
      ['intermediate, root', () => [int, root]],
      ['forge int2, int1, root', () => [f.int2, f.int1, f.root]],
    ])('GIVEN %s WHEN verified THEN it passes', (_name, cas) => {
      expect(() => verifyCaBundle(cas(), CA)).not.toThrow();
    });

    test('GIVEN the root before the intermediate WHEN verified THEN the specific error is given', () => {
      expectInputError(() => verifyCaBundle([root, int], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem:
          /the root CA comes before the intermediate: certificate 1 \(CN=Main Root CA\) is the self-signed root and signed certificate 2 \(CN=Main Intermediate CA\); cacerts\.pem must list intermediate\(s\) first, then the root/,
        fix: /move the root CA CN=Main Root CA to the end of cacerts\.pem/,
      });
    });

    test('GIVEN the root first in a three-level bundle WHEN verified THEN the same error is given', () => {
      expectInputError(() => verifyCaBundle([f.root, f.int1, f.int2], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /the root CA comes before the intermediate/,
        fix: /move the root CA CN=Forge Root CA to the end/,
      });
    });

    test('GIVEN intermediates in reverse order WHEN verified THEN the reverse order is named', () => {
      expectInputError(() => verifyCaBundle([f.int1, f.int2, f.root], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /certificate 2 \(CN=Forge Int 2\) is signed by certificate 1 \(CN=Forge Int 1\), so the two are in reverse order; cacerts\.pem must list intermediate\(s\) first, then the root/,
        fix: /reorder cacerts\.pem/,
      });
    });

    test('GIVEN only the intermediate WHEN verified THEN the fix appends the root', () => {
      expectInputError(() => verifyCaBundle([int], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /the last certificate \(CN=Main Intermediate CA, issued by O=cert-rotation tests, CN=Main Root CA\) is not a self-signed root/,
        fix: /append the root CA certificate O=cert-rotation tests, CN=Main Root CA to the end of cacerts\.pem/,
      });
    });

    test('GIVEN the server certificate in the bundle WHEN verified THEN it is named as not a CA', () => {
      expectInputError(() => verifyCaBundle([leaf, int, root], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /certificate 1 \(CN=rancher\.example\.com\) is not a CA certificate \(basicConstraints lacks CA:TRUE\)/,
        fix: /remove certificate 1 from cacerts\.pem \(a server certificate belongs in tls\.crt\)/,
      });
    });

    test('GIVEN an intermediate with a foreign root WHEN verified THEN position 1 is named', () => {
      expectInputError(() => verifyCaBundle([int, otherRoot], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /certificate 1 \(CN=Main Intermediate CA\), issued by O=cert-rotation tests, CN=Main Root CA, is not signed by certificate 2 \(CN=Other Root CA\)/,
        fix: /put the CA certificate O=cert-rotation tests, CN=Main Root CA directly after certificate 1/,
      });
    });

    // A CA rollover's overlap: the chain, then the other CA's root, trusted as well.
    test.each([
      ['root, another root', () => [root, otherRoot], () => [otherRoot]],
      ['intermediate, root, another root', () => [int, root, otherRoot], () => [otherRoot]],
      ['forge int2, int1, root, two other roots', () => [f.int2, f.int1, f.root, otherRoot, root], () => [otherRoot, root]],
    ])('GIVEN %s WHEN verified THEN it passes and the roots after the chain are the extra ones', (_name, cas, extra) => {
      expect(() => verifyCaBundle(cas(), CA)).not.toThrow();
      expect(extraRoots(cas()).map((c) => c.sha256Fingerprint)).toEqual(extra().map((c) => c.sha256Fingerprint));
    });

    test('GIVEN a bundle of one chain WHEN its extra roots are asked THEN there are none', () => {
      expect(extraRoots([int, root])).toEqual([]);
      expect(extraRoots([root])).toEqual([]);
    });

    test('GIVEN an intermediate after the root of the chain WHEN verified THEN only other roots may follow it', () => {
      expectInputError(() => verifyCaBundle([int, root, otherInt], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /certificate 3 \(CN=Other Intermediate CA\) comes after the root CN=Main Root CA \(certificate 2\) but is not a self-signed root; .*only other roots may follow it/,
        fix: /move certificate 3 before the root it chains to, or remove it from cacerts\.pem/,
      });
    });

    test('GIVEN a root listed twice, apart WHEN verified THEN the copy names the first', () => {
      expectInputError(() => verifyCaBundle([int, root, otherRoot, root], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /certificate 4 is a copy of certificate 2 \(CN=Main Root CA\)/,
        fix: /remove the duplicate certificate 4/,
      });
    });

    test('GIVEN a duplicated root WHEN verified THEN the duplicate is named', () => {
      expectInputError(() => verifyCaBundle([int, root, root], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /certificate 3 is a copy of certificate 2 \(CN=Main Root CA\)/,
        fix: /remove the duplicate/,
      });
    });
  });

  describe('verifyLeafAgainstCa', () => {
    test('GIVEN a leaf of the root that the bundle lists only after another chain WHEN verified THEN it says the bundle switched and tls.crt did not', () => {
      expectInputError(() => verifyLeafAgainstCa([leafFromRoot], [otherRoot, root], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /issued by certificate 2 of cacerts\.pem \(CN=Main Root CA\), which cacerts\.pem lists only as another trusted root: cacerts\.pem starts with CN=Other Root CA, to which tls\.crt has not switched yet/,
        fix: /re-issue the server certificate from the CA that cacerts\.pem starts with/,
      });
      expect(() => verifyLeafAgainstCa([leafFromRoot], [root, otherRoot], CA)).not.toThrow();
    });

    test.each([
      ['chain ends at an intermediate in the bundle', () => [leaf, int], () => [int, root]],
      ['chain includes the root of the bundle', () => [leaf, int, root], () => [int, root]],
      ['leaf issued by the first CA of the bundle', () => [leaf], () => [int, root]],
      ['intermediate issued by the root-only bundle', () => [leaf, int], () => [root]],
    ])('GIVEN %s WHEN verified THEN it passes', (_name, chain, cas) => {
      expect(() => verifyLeafAgainstCa(chain(), cas(), CA)).not.toThrow();
    });

    test('GIVEN leaf only and root only WHEN verified THEN the missing intermediate is named', () => {
      expectInputError(() => verifyLeafAgainstCa([leaf], [root], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem:
          /the served chain \(tls\.crt\) ends with CN=rancher\.example\.com, issued by O=cert-rotation tests, CN=Main Intermediate CA, but no certificate of cacerts\.pem \(first: CN=Main Root CA\) issued it: the intermediate CA certificate is missing/,
        fix: /add the intermediate CA certificate O=cert-rotation tests, CN=Main Intermediate CA to tls\.crt after the server certificate and at the start of cacerts\.pem/,
      });
    });

    test('GIVEN the bundle of another CA WHEN verified THEN the error says nothing in it issued the chain', () => {
      expectInputError(() => verifyLeafAgainstCa([leaf, int], [otherInt, otherRoot], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /ends with CN=Main Intermediate CA, issued by O=cert-rotation tests, CN=Main Root CA, but no certificate of cacerts\.pem \(first: CN=Other Intermediate CA\) issued it/,
        fix: /add the intermediate CA certificate/,
      });
    });

    test('GIVEN a leaf signed by the root and a bundle starting with an intermediate WHEN verified THEN the extra intermediate is named', () => {
      expectInputError(() => verifyLeafAgainstCa([leafFromRoot], [int, root], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /which certificate 2 of cacerts\.pem \(CN=Main Root CA\) issued, but cacerts\.pem starts with CN=Main Intermediate CA, which is not part of this chain/,
        fix: /list only this chain's CA certificates in cacerts\.pem/,
      });
    });

    test('GIVEN a self-signed server certificate WHEN verified against a CA bundle THEN the error says it is not in the bundle', () => {
      expectInputError(() => verifyLeafAgainstCa([selfSignedLeaf], [int, root], CA), {
        file: CA,
        field: 'cacerts.pem',
        problem: /ends with the self-signed CN=rancher\.example\.com, which is not in cacerts\.pem \(first: CN=Main Intermediate CA\)/,
        fix: /use the cacerts\.pem of the CA that issued the server certificate/,
      });
    });
  });
});
