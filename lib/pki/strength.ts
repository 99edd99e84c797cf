/**
 * Cryptographic strength of a certificate: key size and signature hash.
 * Node's `X509Certificate` does not expose the signature algorithm, so it is
 * read from the certificate's DER (`Certificate ::= SEQUENCE { tbsCertificate,
 * signatureAlgorithm, signatureValue }`, RFC 5280 §4.1).
 */
import type { CertificateInfo } from './certificate';

/** Signature algorithms whose hash is broken for certificates (collisions): MD5 and SHA-1. */
const WEAK_SIGNATURES: Record<string, string> = {
  '1.2.840.113549.1.1.4': 'md5WithRSAEncryption',
  '1.2.840.113549.1.1.5': 'sha1WithRSAEncryption',
  '1.2.840.10045.4.1': 'ecdsa-with-SHA1',
  '1.2.840.10040.4.3': 'dsa-with-sha1',
};

/** The smallest RSA (and DSA) modulus accepted without an opt-in, in bits (NIST SP 800-131A). */
export const MIN_RSA_BITS = 2048;

/** What is weak about a certificate; empty when nothing is. */
export interface Weakness {
  /** `key` (an RSA or DSA key below {@link MIN_RSA_BITS}) or `signature` (MD5 or SHA-1). */
  readonly kind: 'key' | 'signature';
  /** What was found, e.g. `RSA 1024` or `sha1WithRSAEncryption`. */
  readonly found: string;
}

/** The weaknesses of one certificate: a short RSA/DSA key, an MD5 or SHA-1 signature. */
export function weaknesses(cert: CertificateInfo): Weakness[] {
  const out: Weakness[] = [];
  const key = cert.x509.publicKey;
  const bits = key.asymmetricKeyDetails?.modulusLength;
  if ((key.asymmetricKeyType === 'rsa' || key.asymmetricKeyType === 'rsa-pss' || key.asymmetricKeyType === 'dsa') && bits !== undefined && bits < MIN_RSA_BITS) {
    out.push({ kind: 'key', found: `${key.asymmetricKeyType === 'dsa' ? 'DSA' : 'RSA'} ${bits}` });
  }
  const oid = signatureAlgorithmOid(cert.der);
  if (oid !== undefined && WEAK_SIGNATURES[oid] !== undefined) {
    out.push({ kind: 'signature', found: WEAK_SIGNATURES[oid] });
  }
  return out;
}

/** The dotted OID of a DER certificate's outer signatureAlgorithm, or undefined when the DER is not of that shape. */
export function signatureAlgorithmOid(der: Buffer): string | undefined {
  const outer = readElement(der, 0);
  if (!outer || outer.tag !== 0x30) return undefined;
  const tbs = readElement(der, outer.contentStart);
  if (!tbs) return undefined;
  const algorithm = readElement(der, tbs.end);
  if (!algorithm || algorithm.tag !== 0x30) return undefined;
  const oid = readElement(der, algorithm.contentStart);
  if (!oid || oid.tag !== 0x06) return undefined;
  return decodeOid(der.subarray(oid.contentStart, oid.end));
}

interface Element {
  readonly tag: number;
  readonly contentStart: number;
  readonly end: number;
}

function readElement(der: Buffer, at: number): Element | undefined {
  if (at + 2 > der.length) return undefined;
  const tag = der[at];
  let length = der[at + 1];
  let contentStart = at + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 4 || contentStart + count > der.length) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + der[contentStart + i];
    contentStart += count;
  }
  const end = contentStart + length;
  return end <= der.length ? { tag, contentStart, end } : undefined;
}

function decodeOid(bytes: Buffer): string {
  const parts: number[] = [];
  let value = 0;
  for (const byte of bytes) {
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      parts.push(value);
      value = 0;
    }
  }
  const first = parts.shift() ?? 0;
  const head = first < 80 ? [Math.floor(first / 40), first % 40] : [2, first - 80];
  return [...head, ...parts].join('.');
}
