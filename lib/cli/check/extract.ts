/**
 * Turns the raw content of a file, secret key or kubeconfig field into
 * certificates, a "skipped" note (not a certificate) or an error (looks like a
 * certificate but cannot be read).
 */
import { X509Certificate } from 'crypto';
import { CertificateInfo, parseCertificate, parseCertificates } from '../../pki/certificate';
import { CertificateInputError } from '../../pki/errors';
import { splitPem } from '../../pki/pem';
import type { CertificateFacts, FoundCertificate, SourceResult } from './model';

const BEGIN_CERTIFICATE = '-----BEGIN CERTIFICATE-----';
const PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;
/** DER certificates are small; larger binary files are not tried as DER. */
const MAX_DER_BYTES = 64 * 1024;
/** PEM labels of plain X.509 certificates, as `lib/pki` reads them. */
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE']);

/**
 * Parsed certificates by canonical PEM. The same certificate turns up many
 * times (the CA in every bundle, `ca.crt` in every TLS secret, a node's CA in
 * each kubeconfig), and OpenSSL 3.0 takes ~0.3 ms to decode one; facts are a
 * pure function of the bytes, so each distinct certificate is parsed once.
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
}

/**
 * Reads every certificate of `content`, in order, named `<origin.name>#1`, `#2`, …
 *
 * - PEM with one or more CERTIFICATE blocks (LF or CRLF): the certificates; a
 *   block that cannot be parsed makes the whole item an error.
 * - a single DER certificate: that certificate.
 * - anything else (private keys, kubeconfigs, JSON, binary): skipped, with the
 *   reason; the content itself never appears in the result.
 */
export function extractCertificates(content: Buffer | string, origin: ContentOrigin): SourceResult {
  const buf = typeof content === 'string' ? Buffer.from(content, 'utf8') : content;
  if (buf.includes(BEGIN_CERTIFICATE)) {
    try {
      const certificates: FoundCertificate[] = parsePem(buf, origin).map((facts, i) => ({
        name: `${origin.name}#${i + 1}`,
        source: origin.source,
        facts,
      }));
      return { certificates, skipped: [], errors: [] };
    } catch (err) {
      return { certificates: [], skipped: [], errors: [{ source: origin.source, message: describeParseError(err, origin) }] };
    }
  }
  const der = derCertificate(buf);
  if (der) {
    return extractCertificates(toPem(der), origin);
  }
  const text = buf.subarray(0, 64 * 1024).toString('latin1');
  const reason = PRIVATE_KEY.test(text)
    ? 'not a certificate (private key)'
    : text.includes('-----BEGIN PUBLIC KEY-----') || text.includes('-----BEGIN RSA PUBLIC KEY-----')
      ? 'not a certificate (public key)'
      : text.includes('-----BEGIN CERTIFICATE REQUEST-----') || text.includes('-----BEGIN NEW CERTIFICATE REQUEST-----')
        ? 'not a certificate (certificate request)'
        : buf.length === 0
          ? 'not a certificate (empty)'
          : 'not a certificate';
  return { certificates: [], skipped: [{ name: origin.file, source: origin.source, reason }], errors: [] };
}

/** The certificates of PEM text, in order, each parsed once per process (see {@link parsed}). */
function parsePem(buf: Buffer, origin: ContentOrigin): CertificateFacts[] {
  const blocks = splitPem(buf, origin.file, origin.field).filter((b) => CERTIFICATE_LABELS.has(b.label));
  const out: CertificateFacts[] = [];
  for (const block of blocks) {
    let facts = parsed.get(block.text);
    if (!facts) {
      try {
        facts = factsOf(parseCertificate(block.der, origin.file, origin.field));
      } catch (err) {
        // Parse the whole file again for lib/pki's message naming the block and its line; it throws.
        parseCertificates(buf, origin.file, origin.field);
        throw err;
      }
      if (parsed.size >= PARSED_LIMIT) parsed.clear();
      parsed.set(block.text, facts);
    }
    out.push(facts);
  }
  if (out.length === 0) {
    // No CERTIFICATE block after all (e.g. only a TRUSTED CERTIFICATE): lib/pki explains.
    return parseCertificates(buf, origin.file, origin.field).map(factsOf);
  }
  return out;
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

/** The buffer itself when it is exactly one DER certificate, else undefined. */
function derCertificate(buf: Buffer): Buffer | undefined {
  if (buf.length < 64 || buf.length > MAX_DER_BYTES || buf[0] !== 0x30 || buf[1] < 0x81 || buf[1] > 0x83) {
    return undefined;
  }
  try {
    new X509Certificate(buf);
    return buf;
  } catch {
    // Not DER, or not a certificate: the caller reports the file as skipped.
    return undefined;
  }
}

function toPem(der: Buffer): string {
  const b64 = der.toString('base64');
  const lines = ['-----BEGIN CERTIFICATE-----'];
  for (let i = 0; i < b64.length; i += 64) {
    lines.push(b64.slice(i, i + 64));
  }
  lines.push('-----END CERTIFICATE-----', '');
  return lines.join('\n');
}
