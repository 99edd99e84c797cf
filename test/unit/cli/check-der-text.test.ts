/**
 * `check` writes subjects, issuers and SANs from the DER (lib/cli/check/der-text.ts)
 * instead of asking OpenSSL: the text must be the one Node's X509Certificate
 * getters give, and where it is not written for certain OpenSSL must be asked.
 * Compared on certificates made with openssl (every string_mask, escapes,
 * multi-valued RDNs, UTF-8, e-mail, IP, URI and DNS SANs), on crafted DER
 * (every ASCII character at every position, every string type) and on
 * corrupted copies (a certificate OpenSSL refuses must never be read from
 * the DER alone).
 */
import * as crypto from 'crypto';
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { parseSubjectAltName } from '../../../lib/pki/certificate';
import { readDerFields } from '../../../lib/cli/check/der';
import { nameText, subjectAltNamesOf } from '../../../lib/cli/check/der-text';
import { derFacts, opensslFacts } from '../../../lib/cli/check/extract';
import { openssl, removeDir, tempDir } from '../../support/pki';

let dir: string;
beforeAll(() => {
  dir = tempDir('cert-rotation-der-text-');
  for (const mask of ['utf8only', 'default', 'pkix', 'nombstr']) {
    fs.writeFileSync(path.join(dir, `${mask}.cnf`), `[req]\ndistinguished_name=dn\nstring_mask=${mask}\nutf8=yes\n[dn]\n`);
  }
  openssl(['req', '-x509', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.crt'), '-days', '30', '-subj', '/C=DE/O=Acme, Inc./CN=Acme CA', '-config', path.join(dir, 'utf8only.cnf')]);
}, 60_000);
afterAll(() => removeDir(dir));

/** A leaf the test CA signs, made by openssl: subject as `-subj` writes it (`-multivalue-rdn`), SAN as openssl's config writes it. */
function opensslLeaf(name: string, subject: string, options: { san?: string; mask?: string; key?: string[] } = {}): Buffer {
  const file = (ext: string) => path.join(dir, `${name}.${ext}`);
  const key = options.key ?? ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'];
  openssl(['req', '-new', '-nodes', ...key, '-keyout', file('key'), '-out', file('csr'), '-subj', subject, '-multivalue-rdn', '-config', path.join(dir, `${options.mask ?? 'utf8only'}.cnf`)]);
  fs.writeFileSync(file('ext'), options.san ? `subjectAltName=${options.san}\n` : '');
  openssl(['x509', '-req', '-in', file('csr'), '-CA', path.join(dir, 'ca.crt'), '-CAkey', path.join(dir, 'ca.key'), '-set_serial', '0x1234', '-days', '10', '-extfile', file('ext'), '-out', file('crt')]);
  return new X509Certificate(fs.readFileSync(file('crt'))).raw;
}

/** What Node says and what the DER reader says, for one certificate. */
function compare(der: Buffer): 'der' | 'openssl' {
  const x509 = new X509Certificate(der);
  const fields = readDerFields(der);
  expect(fields).toBeDefined();
  const subject = nameText(der, fields!.subject);
  const issuer = nameText(der, fields!.issuer);
  // Node gives undefined for an empty name; nameText gives ''.
  if (subject !== undefined) expect(subject).toBe(x509.subject ?? '');
  if (issuer !== undefined) expect(issuer).toBe(x509.issuer ?? '');
  const san = subjectAltNamesOf(der, fields!);
  if (san !== undefined) expect(san).toEqual(parseSubjectAltName(x509.subjectAltName));
  const facts = derFacts(der, fields!, 'f');
  if (facts === undefined) return 'openssl';
  expect(facts).toEqual(opensslFacts(der, fields, 'f'));
  return 'der';
}

test.each<[string, string, { san?: string; mask?: string; key?: string[] }, 'der' | 'openssl']>([
  ['plain', '/O=system:masters/CN=kube-admin', { san: 'DNS:Node.Example.com,DNS:*.apps.example.com,IP:10.0.0.1,IP:2001:db8::1,IP:::1,IP:::ffff:10.0.0.1' }, 'der'],
  ['rsa', '/CN=rsa', { key: ['-newkey', 'rsa:2048'] }, 'der'],
  ['ed25519', '/CN=ed', { key: ['-newkey', 'ed25519'], san: 'email:ops@example.com,URI:spiffe://cluster.local/ns/a/sa/b' }, 'der'],
  ['no SAN', '/CN=no san at all', {}, 'der'],
  ['multi-valued RDNs', '/CN=multi+O=valued+OU=rdn/C=DE/L=Berlin+ST=BE', {}, 'der'],
  ['escapes', '/O=a\\,b/OU=x\\+y/CN="quoted"', {}, 'der'],
  ['more escapes', '/O=back\\\\slash/OU=#hash/L= lead space/ST=trail space /CN=a=b;c<d>e', {}, 'der'],
  ['lone # and space', '/CN=#/O= /OU=equals=sign', {}, 'der'],
  ['emailAddress, DC, UID', '/emailAddress=admin@example.com/CN=with email/DC=example/DC=com/UID=u1', { san: 'email:admin@example.com,URI:https://example.com/a?b=c' }, 'der'],
  ['attribute types', '/serialNumber=1234/title=Dr/GN=Given/SN=Sur/street=Main St/postalCode=12345/CN=oids', {}, 'der'],
  ['PrintableString (string_mask default)', '/C=US/O=Printable Org/OU=a-b c/CN=printable.example', { mask: 'default' }, 'der'],
  ['UTF-8', '/C=DE/O=Müller & Söhne/CN=Straße.example/OU=日本語', { san: 'DNS:xn--strae-oqa.example' }, 'openssl'],
  ['BMPString (string_mask pkix)', '/O=Ünïcödé/CN=pkix', { mask: 'pkix' }, 'openssl'],
  ['T61String (string_mask nombstr)', '/O=Lätin/CN=nombstr', { mask: 'nombstr' }, 'openssl'],
  ['other kinds of SAN', '/CN=weird san', { san: 'DNS:a.example,otherName:1.2.3.4;UTF8:hello,RID:1.2.3.4' }, 'openssl'],
])('%s: the text Node gives', (name, subject, options, expected) => {
  const der = opensslLeaf(name.replace(/\W+/g, '-'), subject, options);
  expect(compare(der)).toBe(expected);
});

test('a self-signed CA is left to OpenSSL (its signature decides selfSigned)', () => {
  const der = new X509Certificate(fs.readFileSync(path.join(dir, 'ca.crt'))).raw;
  expect(compare(der)).toBe('openssl');
});

// Crafted DER, for what openssl's -subj does not write: every string type, control characters, odd SANs.

const key = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ECDSA_SHA256 = tlv(0x30, oid('1.2.840.10045.4.3.2'));

function tlv(tag: number, ...parts: Array<Buffer | string>): Buffer {
  const content = Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
  const n = content.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), content]);
}

function oid(dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number);
  const bytes = [arcs[0] * 40 + arcs[1]];
  for (const arc of arcs.slice(2)) {
    const sub = [arc & 0x7f];
    for (let v = arc >>> 7; v > 0; v >>>= 7) sub.unshift((v & 0x7f) | 0x80);
    bytes.push(...sub);
  }
  return tlv(0x06, Buffer.from(bytes));
}

type Attribute = [type: string, tag: number, value: Buffer | string];

function name(rdns: Attribute[][]): Buffer {
  return tlv(0x30, ...rdns.map((rdn) => tlv(0x31, ...rdn.map(([type, tag, value]) => tlv(0x30, oid(type), tlv(tag, value))))));
}

/** A v3 certificate signed by a throwaway key, with the given names and extensions (OID, extnValue). */
function crafted(options: { subject?: Buffer; issuer?: Buffer; extensions?: Array<[string, Buffer]> }): Buffer {
  const tbs = tlv(
    0x30,
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, Buffer.from([0x12, 0x34])),
    ECDSA_SHA256,
    options.issuer ?? name([[['2.5.4.3', 0x0c, 'issuer']]]),
    tlv(0x30, tlv(0x17, '250101000000Z'), tlv(0x17, '350101000000Z')),
    options.subject ?? name([[['2.5.4.3', 0x0c, 'subject']]]),
    key.publicKey.export({ type: 'spki', format: 'der' }),
    ...(options.extensions ? [tlv(0xa3, tlv(0x30, ...options.extensions.map(([id, value]) => tlv(0x30, oid(id), tlv(0x04, value)))))] : []),
  );
  return tlv(0x30, tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), crypto.sign('sha256', tbs, key.privateKey)));
}

const bmp = (text: string) => Buffer.from(text, 'utf16le').swap16();

test('every ASCII character, first, inside, last and alone, in every string type: escaped as Node escapes it', () => {
  for (const tag of [0x0c, 0x12, 0x13, 0x14, 0x16, 0x1e]) {
    for (let c = 0; c < 0x80; c++) {
      const ch = String.fromCharCode(c);
      for (const text of [ch, `${ch}a${ch}b${ch}`, `${ch}${ch}`]) {
        expect(compare(crafted({ subject: name([[['2.5.4.3', tag, tag === 0x1e ? bmp(text) : text]]]) }))).toBe('der');
      }
    }
  }
});

test.each<[string, Parameters<typeof crafted>[0], 'der' | 'openssl']>([
  ['empty subject', { subject: tlv(0x30) }, 'der'],
  ['empty value, CN twice, multi-valued', { subject: name([[['2.5.4.3', 0x0c, '']], [['2.5.4.3', 0x0c, 'a'], ['2.5.4.10', 0x13, 'b']], [['2.5.4.3', 0x16, 'c']]]) }, 'der'],
  ['unknown attribute type', { subject: name([[['1.3.6.1.4.1.99999.1', 0x0c, 'x']], [['2.5.4.3', 0x0c, 'u']]]) }, 'openssl'],
  ['empty RDN', { subject: tlv(0x30, tlv(0x31)) }, 'openssl'],
  ['Latin-1 T61String', { subject: name([[['2.5.4.3', 0x14, Buffer.from('caf\xe9', 'latin1')]]]) }, 'openssl'],
  ['UniversalString', { subject: name([[['2.5.4.3', 0x1c, Buffer.from([0, 0, 0, 0x41])]]]) }, 'openssl'],
  ['non-ASCII BMPString', { subject: name([[['2.5.4.3', 0x1e, bmp('ü')]]]) }, 'openssl'],
  ['subject differing from the issuer in case only', { subject: name([[['2.5.4.3', 0x0c, 'Same']]]), issuer: name([[['2.5.4.3', 0x0c, 'same']]]) }, 'openssl'],
  ['DNS, IP, URI, e-mail SANs', { extensions: [['2.5.29.17', tlv(0x30, tlv(0x82, 'A.Example'), tlv(0x87, Buffer.from([10, 1, 2, 3])), tlv(0x87, Buffer.from('fe800000000000000000000000000001', 'hex')), tlv(0x86, 'https://x/y;z'), tlv(0x81, 'me@x'), tlv(0x82, ''))]] }, 'der'],
  ['SAN values Node quotes', { extensions: [['2.5.29.17', tlv(0x30, tlv(0x82, 'a,b'), tlv(0x82, "o'x"), tlv(0x86, 'http://x/, DNS:evil'))]] }, 'openssl'],
  ['SAN with a control character', { extensions: [['2.5.29.17', tlv(0x30, tlv(0x82, 'a\x01b'))]] }, 'openssl'],
  ['IP SAN of 3 bytes', { extensions: [['2.5.29.17', tlv(0x30, tlv(0x87, Buffer.from([1, 2, 3])))]] }, 'openssl'],
  ['empty SAN', { extensions: [['2.5.29.17', tlv(0x30)]] }, 'openssl'],
  ['SAN that is no GeneralNames', { extensions: [['2.5.29.17', Buffer.from([1, 2, 3])]] }, 'openssl'],
  ['two SAN extensions (Node reads the first)', { extensions: [['2.5.29.17', tlv(0x30, tlv(0x82, 'first'))], ['2.5.29.17', tlv(0x30, tlv(0x82, 'second'))]] }, 'openssl'],
])('crafted: %s', (_name, options, expected) => {
  expect(compare(crafted(options))).toBe(expected);
});

/** xorshift32: the same corruptions on every run. */
function random(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x100000000;
  };
}

test('corrupted certificates: read from the DER alone only when OpenSSL reads them, and then the same', () => {
  const samples = [
    opensslLeaf('fuzz-ec', '/C=DE/O=acme+OU=ops/CN=fuzz', { san: 'DNS:a.example,IP:10.0.0.1,IP:2001:db8::1,URI:https://x/y,email:a@b' }),
    opensslLeaf('fuzz-rsa', '/CN=fuzz rsa', { key: ['-newkey', 'rsa:2048'] }),
    crafted({ subject: name([[['2.5.4.3', 0x1e, bmp('bmp')]], [['2.5.4.10', 0x13, 'printable']]]), extensions: [['2.5.29.17', tlv(0x30, tlv(0x82, 'x.example'))]] }),
  ];
  const next = random(0x15c0ffee);
  let fromDer = 0;
  let refused = 0;
  for (let round = 0; round < 6000; round++) {
    const der = Buffer.from(samples[round % samples.length]);
    // One to three bytes: set to a random value, or a bit flipped; weighted to the TBS where the fields are.
    for (let n = 1 + Math.floor(next() * 3); n > 0; n--) {
      const at = Math.floor(next() * (next() < 0.8 ? Math.min(der.length, 400) : der.length));
      der[at] = next() < 0.5 ? Math.floor(next() * 256) : der[at] ^ (1 << Math.floor(next() * 8));
    }
    const fields = readDerFields(der);
    const facts = fields ? derFacts(der, fields, 'f') : undefined;
    let x509: X509Certificate | undefined;
    try {
      x509 = new X509Certificate(der);
    } catch {
      refused++;
    }
    if (facts === undefined) continue;
    fromDer++;
    // Read from the DER alone: OpenSSL must read it too, and give the same facts.
    expect(x509).toBeDefined();
    expect(facts).toEqual(opensslFacts(der, fields, 'f'));
  }
  // The sweep must exercise both sides.
  expect(fromDer).toBeGreaterThan(500);
  expect(refused).toBeGreaterThan(500);
});

