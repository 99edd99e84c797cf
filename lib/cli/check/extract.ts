/**
 * Turns the raw content of a file, secret key or kubeconfig field into
 * certificates, a "skipped" note (not a certificate), or an "invalid" finding
 * (should hold a certificate, and what it holds cannot be read).
 */
import * as crypto from 'crypto';
import { X509Certificate } from 'crypto';
import {
  CertificateInfo,
  commonName,
  describeKeyType,
  formatName,
  isSelfSigned,
  parseCertificate,
  parseCertificates,
  parseSubjectAltName,
} from '../../pki/certificate';
import { CertificateInputError } from '../../pki/errors';
import { splitPem } from '../../pki/pem';
import { authorityKeyIdOf, DerFields, isCaOf, keyTypeOf, readDerFields, subjectKeyIdOf } from './der';
import { nameText, subjectAltNamesOf } from './der-text';
import type { CertificateFacts, FoundCertificate, SourceResult } from './model';

const BEGIN_CERTIFICATE = Buffer.from('-----BEGIN CERTIFICATE-----', 'latin1');
const END_CERTIFICATE = Buffer.from('-----END CERTIFICATE-----', 'latin1');
const DASHES = Buffer.from('-----', 'latin1');
const BEGIN_X509 = Buffer.from('-----BEGIN X509 CERTIFICATE', 'latin1');
const BEGIN_TRUSTED = Buffer.from('-----BEGIN TRUSTED CERTIFICATE', 'latin1');
/** Any PEM label that holds a certificate, for "should this be a certificate". */
const CERTIFICATE_MARKERS = ['-----BEGIN CERTIFICATE-----', '-----BEGIN X509 CERTIFICATE-----', '-----BEGIN TRUSTED CERTIFICATE-----'].map((m) => Buffer.from(m, 'latin1'));
const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
/** DER certificates are small; larger binary files are not tried as DER. */
const MAX_DER_BYTES = 64 * 1024;
/** PEM labels of plain X.509 certificates, as `lib/pki` reads them. */
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE']);

/**
 * Parsed certificates by the SHA-256 of their DER (the fingerprint, which the
 * facts carry anyway: a short key, where the base64 text would keep a
 * kilobyte per certificate alive). The same certificate turns up many times
 * (the CA in every bundle, `ca.crt` in every TLS secret, a node's CA in each
 * kubeconfig), and OpenSSL 3.0 takes ~0.25 ms to decode one; facts are a pure
 * function of the bytes, so each distinct certificate is parsed once.
 */
const parsed = new Map<string, CertificateFacts>();
/** Bounds the cache for long-lived callers; a check of 10,000 files stays below it. */
const PARSED_LIMIT = 100_000;

/** Where the content came from. */
export interface ContentOrigin {
  /** The report name without the `#N` suffix, e.g. `pki/apiserver.crt` or `ns/name:tls.crt`. */
  readonly name: string;
  /** The source as `kind:location`. */
  readonly source: string;
  /** What to call the content in messages: a file path, or `ns/name` of a secret. */
  readonly file: string;
  /** The field: the file's base name, a secret's data key or a kubeconfig field. */
  readonly field: string;
  /**
   * Whether the content must be a certificate (a `.crt` file, a kubeconfig's
   * `client-certificate-data`): then content that is no certificate at all
   * (empty, a key, random bytes, bad DER) is invalid instead of skipped.
   * Content with a `-----BEGIN CERTIFICATE-----` line is always expected to
   * be one. @default false
   */
  readonly expectCertificate?: boolean;
}

/**
 * Reads every certificate of `content`, in order, named `<origin.name>#1`, `#2`, …
 *
 * - PEM with one or more CERTIFICATE blocks (LF or CRLF), other blocks (keys)
 *   ignored: the certificates; a block that cannot be read makes the item invalid.
 * - a single DER certificate: that certificate.
 * - anything else (private keys, JSON, binary): skipped with the reason, or
 *   invalid when {@link ContentOrigin.expectCertificate}; the content itself
 *   never appears in the result.
 */
export function extractCertificates(content: Buffer | string, origin: ContentOrigin): SourceResult {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  // Larger content is not searched for PEM (nor named in the skip reason).
  const searched = buf.length <= MAX_DER_BYTES * 128;
  if (searched && CERTIFICATE_MARKERS.some((m) => buf.includes(m))) {
    let facts: CertificateFacts[];
    try {
      facts = fastPem(buf) ?? parsePem(buf, origin);
    } catch (err) {
      return invalid(origin, describeParseError(err, origin));
    }
    return found(facts, origin);
  }
  if (looksLikeDer(buf)) {
    try {
      return found([factsOfDer(buf, origin)], origin);
    } catch (err) {
      if (origin.expectCertificate) {
        return invalid(origin, `${origin.file}: ${origin.field} is binary but not a valid DER certificate (${(err as Error).message.split('\n')[0]}). Fix: export the certificate again in PEM format.`);
      }
      // Not a certificate: reported as skipped below.
    }
  }
  const head = searched ? buf.toString('latin1', 0, Math.min(buf.length, 64 * 1024)) : '';
  const what = PRIVATE_KEY.test(head)
    ? 'private key'
    : head.includes('-----BEGIN PUBLIC KEY-----') || head.includes('-----BEGIN RSA PUBLIC KEY-----')
      ? 'public key'
      : head.includes('-----BEGIN CERTIFICATE REQUEST-----') || head.includes('-----BEGIN NEW CERTIFICATE REQUEST-----')
        ? 'certificate request'
        : buf.length === 0
          ? 'empty'
          : undefined;
  if (origin.expectCertificate) {
    const holds = what === 'empty' ? 'is empty' : what ? `holds a ${what}, no certificate` : 'holds no certificate (neither PEM nor DER)';
    return invalid(origin, `${origin.file}: ${origin.field} ${holds}. Fix: write the certificate (PEM, -----BEGIN CERTIFICATE-----) into it again, e.g. from a backup, or renew it.`);
  }
  const reason = what ? `not a certificate (${what})` : 'not a certificate';
  return { certificates: [], skipped: [{ name: origin.file, source: origin.source, reason }], errors: [], invalid: [] };
}

function found(facts: CertificateFacts[], origin: ContentOrigin): SourceResult {
  const certificates: FoundCertificate[] = new Array(facts.length);
  for (let i = 0; i < facts.length; i++) {
    certificates[i] = { name: `${origin.name}#${i + 1}`, source: origin.source, facts: facts[i] };
  }
  return { certificates, skipped: [], errors: [], invalid: [] };
}

function invalid(origin: ContentOrigin, message: string): SourceResult {
  return { certificates: [], skipped: [], errors: [], invalid: [{ name: origin.name, source: origin.source, file: origin.file, message }] };
}

/**
 * The common case without `lib/pki`'s line-by-line PEM reader: every
 * `-----BEGIN CERTIFICATE-----` directly followed (after base64 and line
 * breaks) by its `-----END CERTIFICATE-----`. Returns undefined for anything
 * else (headers, other labels inside, bad base64, a DER value that does not
 * parse): the strict reader then takes over and explains what is wrong.
 * Works on the bytes: no copy of the text, no regular expression.
 */
function fastPem(buf: Buffer): CertificateFacts[] | undefined {
  if (buf.includes(BEGIN_X509) || buf.includes(BEGIN_TRUSTED)) return undefined;
  const out: CertificateFacts[] = [];
  let at = buf.indexOf(BEGIN_CERTIFICATE);
  while (at >= 0) {
    const bodyStart = at + BEGIN_CERTIFICATE.length;
    const end = buf.indexOf(DASHES, bodyStart);
    if (end < 0 || end + END_CERTIFICATE.length > buf.length || buf.compare(END_CERTIFICATE, 0, END_CERTIFICATE.length, end, end + END_CERTIFICATE.length) !== 0) {
      return undefined;
    }
    if (!isStrictBase64(buf, bodyStart, end)) return undefined;
    // Node's base64 decoder passes over the line breaks and blanks isStrictBase64 allows.
    const der = Buffer.from(buf.toString('latin1', bodyStart, end), 'base64');
    const fingerprint = sha256Hex(der);
    let facts = parsed.get(fingerprint);
    if (!facts) {
      try {
        facts = leanFacts(der, fingerprint);
      } catch {
        return undefined;
      }
      remember(fingerprint, facts);
    }
    out.push(facts);
    at = buf.indexOf(BEGIN_CERTIFICATE, end + END_CERTIFICATE.length);
  }
  return out.length > 0 ? out : undefined;
}

/** Base64 alphabet bytes: 1; `=`: 2; CR, LF, tab, space: 3; anything else 0. */
const BASE64_CLASS = new Uint8Array(256);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') BASE64_CLASS[c.charCodeAt(0)] = 1;
BASE64_CLASS[0x3d] = 2;
for (const c of '\r\n\t ') BASE64_CLASS[c.charCodeAt(0)] = 3;

/**
 * Whether `buf[start, end)` without its CR, LF, tab and space characters is
 * non-empty, a multiple of 4 long, and base64 letters followed by at most two `=`.
 */
function isStrictBase64(buf: Buffer, start: number, end: number): boolean {
  let letters = 0;
  let padding = 0;
  for (let i = start; i < end; i++) {
    const c = BASE64_CLASS[buf[i]];
    if (c === 1) {
      if (padding > 0) return false;
      letters++;
    } else if (c === 2) {
      if (++padding > 2) return false;
    } else if (c !== 3) {
      return false;
    }
  }
  const total = letters + padding;
  return total > 0 && total % 4 === 0;
}

function remember(key: string, facts: CertificateFacts): void {
  if (parsed.size >= PARSED_LIMIT) parsed.clear();
  parsed.set(key, facts);
}

/** The certificates of PEM text, in order, through `lib/pki`'s strict reader (which names what is wrong). */
function parsePem(buf: Buffer, origin: ContentOrigin): CertificateFacts[] {
  const blocks = splitPem(buf, origin.file, origin.field).filter((b) => CERTIFICATE_LABELS.has(b.label));
  const out: CertificateFacts[] = [];
  for (const block of blocks) {
    const key = sha256Hex(block.der);
    let facts = parsed.get(key);
    if (!facts) {
      try {
        facts = leanFacts(block.der, key);
      } catch {
        // lib/pki's message names the block and its line; it throws.
        parseCertificates(buf, origin.file, origin.field);
        facts = factsOf(parseCertificate(block.der, origin.file, origin.field));
      }
      remember(key, facts);
    }
    out.push(facts);
  }
  if (out.length === 0) {
    // No CERTIFICATE block after all (e.g. only a TRUSTED CERTIFICATE): lib/pki explains.
    return parseCertificates(buf, origin.file, origin.field).map(factsOf);
  }
  return out;
}

function factsOfDer(der: Buffer, origin: ContentOrigin): CertificateFacts {
  const key = sha256Hex(der);
  let facts = parsed.get(key);
  if (!facts) {
    try {
      facts = leanFacts(der, key);
    } catch {
      facts = factsOf(parseCertificate(der, origin.file, origin.field));
    }
    remember(key, facts);
  }
  return facts;
}

const sha256Hex: (der: Buffer) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (der) => (crypto as unknown as { hash(alg: string, data: Buffer, enc: string): string }).hash('sha256', der, 'hex')
    : (der) => crypto.createHash('sha256').update(der).digest('hex');

/**
 * The facts of one DER certificate: from the DER alone when OpenSSL is not
 * needed (derFacts), else with one OpenSSL decode (opensslFacts).
 *
 * @throws Error when OpenSSL cannot decode the certificate, or its DER is not as RFC 5280 lays it out
 */
export function leanFacts(der: Buffer, fingerprint: string = sha256Hex(der)): CertificateFacts {
  const fields = readDerFields(der);
  return (fields !== undefined ? derFacts(der, fields, fingerprint) : undefined) ?? opensslFacts(der, fields, fingerprint);
}

/**
 * The facts of an ordinary certificate without OpenSSL: names and SANs
 * written as Node's getters write them (./der-text.ts), the rest as
 * opensslFacts reads it from the DER.
 *
 * @returns undefined when OpenSSL is needed: a certificate OpenSSL might not
 *   decode (DerFields.plain), a name or SAN that is not written for certain,
 *   a key type or CA flag the DER reader does not know, or a certificate that
 *   names itself as issuer (its signature decides whether it is self-signed)
 */
export function derFacts(der: Buffer, fields: DerFields, fingerprint: string): CertificateFacts | undefined {
  if (!fields.plain) return undefined;
  const subjectText = nameText(der, fields.subject);
  const issuerText = subjectText !== undefined ? nameText(der, fields.issuer) : undefined;
  if (subjectText === undefined || issuerText === undefined) return undefined;
  const subject = formatName(subjectText);
  const issuer = formatName(issuerText);
  if (subject.toLowerCase() === issuer.toLowerCase()) return undefined;
  const san = subjectAltNamesOf(der, fields);
  const isCA = isCaOf(der, fields);
  const keyType = keyTypeOf(der, fields);
  if (san === undefined || isCA === undefined || keyType === undefined) return undefined;
  return assembleFacts(der, fields, fingerprint, { subjectText, subject, issuer, ...san, isCA, selfSigned: false, keyType });
}

/** The row's facts from what was read of the names and key, plus the DER's serial, times and key ids. */
function assembleFacts(
  der: Buffer,
  fields: DerFields,
  fingerprint: string,
  read: { subjectText: string; subject: string; issuer: string; dnsNames: string[]; ipAddresses: string[]; isCA: boolean; selfSigned: boolean; keyType: string },
): CertificateFacts {
  const cn = commonName(read.subjectText);
  const subjectKeyId = subjectKeyIdOf(der, fields);
  const authorityKeyId = authorityKeyIdOf(der, fields);
  return {
    subject: read.subject,
    ...(cn !== undefined ? { subjectCommonName: cn } : {}),
    issuer: read.issuer,
    serialNumber: fields.serialNumber,
    notBefore: fields.notBefore,
    notAfter: fields.notAfter,
    sha256Fingerprint: fingerprint,
    dnsNames: read.dnsNames,
    ipAddresses: read.ipAddresses,
    isCA: read.isCA,
    selfSigned: read.selfSigned,
    keyType: read.keyType,
    ...(subjectKeyId !== undefined ? { subjectKeyId } : {}),
    ...(authorityKeyId !== undefined ? { authorityKeyId } : {}),
  };
}

/**
 * The facts of one DER certificate with one OpenSSL decode: names and SANs
 * from Node's getters (formatted as `lib/pki` formats them), the rest from
 * the DER (./der.ts); the key's details only when the DER reader does not
 * know the key type, the signature only for certificates naming themselves
 * as issuer.
 *
 * @param fields readDerFields(der), when it read them
 * @throws Error when OpenSSL cannot decode the certificate, or its DER is not as RFC 5280 lays it out
 */
export function opensslFacts(der: Buffer, fields: DerFields | undefined, fingerprint: string = sha256Hex(der)): CertificateFacts {
  const x509 = new X509Certificate(der);
  if (!fields) {
    throw new Error('unusual DER layout');
  }
  const subjectText = x509.subject;
  const subject = formatName(subjectText);
  const issuer = formatName(x509.issuer);
  return assembleFacts(der, fields, fingerprint, {
    subjectText,
    subject,
    issuer,
    ...parseSubjectAltName(x509.subjectAltName),
    isCA: isCaOf(der, fields) ?? x509.ca,
    // X509_check_issued compares names case-insensitively; only then is the signature worth checking.
    selfSigned: subject.toLowerCase() === issuer.toLowerCase() ? isSelfSigned(x509) : false,
    keyType: keyTypeOf(der, fields) ?? describeKeyType(x509.publicKey),
  });
}

/** The facts of a parsed certificate; drops the X509Certificate object, DER and PEM. */
export function factsOf(info: CertificateInfo): CertificateFacts {
  return {
    subject: info.subject,
    ...(info.subjectCommonName !== undefined ? { subjectCommonName: info.subjectCommonName } : {}),
    issuer: info.issuer,
    serialNumber: info.serialNumber,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    sha256Fingerprint: info.sha256Fingerprint,
    dnsNames: info.dnsNames,
    ipAddresses: info.ipAddresses,
    isCA: info.isCA,
    selfSigned: info.selfSigned,
    keyType: info.keyType,
  };
}

function describeParseError(err: unknown, origin: ContentOrigin): string {
  if (err instanceof CertificateInputError) {
    return err.message;
  }
  const why = err instanceof Error ? err.message : String(err);
  return `${origin.file}: ${origin.field} holds a certificate that cannot be parsed (${why}). Fix: export the certificate again in PEM format.`;
}

/** Whether the buffer could be one DER certificate (a SEQUENCE with a long-form length). */
function looksLikeDer(buf: Buffer): boolean {
  return buf.length >= 64 && buf.length <= MAX_DER_BYTES && buf[0] === 0x30 && buf[1] >= 0x81 && buf[1] <= 0x83;
}
