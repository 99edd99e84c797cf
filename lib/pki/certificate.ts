/**
 * X.509 certificates: parse with Node's `crypto.X509Certificate` (RSA, ECDSA,
 * Ed25519) into plain, stable fields.
 */
import { createHash, KeyObject, X509Certificate } from 'crypto';
import { CertificateInputError, expectedContent } from './errors';
import { normalizeIp } from './hostname';
import { encodePem, PemBlock, splitPem } from './pem';

/** PEM labels that hold a plain X.509 certificate. */
const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE']);

/** A parsed certificate. Strings are stable: the same certificate always gives the same text. */
export interface CertificateInfo {
  /** Canonical PEM: LF line endings, 64-column base64, one trailing newline. */
  readonly pem: string;
  /** The DER encoding. */
  readonly der: Buffer;
  /** Subject DN on one line, RDNs in certificate order, e.g. `C=US, O=Example, CN=rancher.example.com`. */
  readonly subject: string;
  /** The (last) common name of the subject, unescaped, if there is one. */
  readonly subjectCommonName?: string;
  /** Issuer DN, formatted like {@link subject}. */
  readonly issuer: string;
  /** Serial number as lowercase hex without colons, as `openssl x509 -serial` prints it (lowercased). */
  readonly serialNumber: string;
  /** Start of the validity period. */
  readonly notBefore: Date;
  /** End of the validity period (inclusive, RFC 5280 §4.1.2.5). */
  readonly notAfter: Date;
  /** SHA-256 of the DER encoding, lowercase hex without colons. */
  readonly sha256Fingerprint: string;
  /** DNS names of the subjectAltName extension, in certificate order, lowercase. */
  readonly dnsNames: string[];
  /** IP addresses of the subjectAltName extension, in certificate order, normalized (IPv6 compressed, lowercase). */
  readonly ipAddresses: string[];
  /** True when basicConstraints says `CA:TRUE`. */
  readonly isCA: boolean;
  /** True when the certificate names itself as issuer and its own key verifies its signature. */
  readonly selfSigned: boolean;
  /** Public key type and size: `RSA 2048`, `ECDSA P-256`, `ECDSA P-384`, `Ed25519`, … */
  readonly keyType: string;
  /** The Node certificate object, for verification. */
  readonly x509: X509Certificate;
}

/**
 * Parses exactly one certificate.
 *
 * @param input DER bytes, or PEM text (as string or Buffer) holding exactly one certificate
 * @param file the file name for error messages
 * @param field the field for error messages (`tls.crt`, `cacerts.pem`, …)
 * @throws CertificateInputError when the input is not one valid certificate
 */
export function parseCertificate(input: Buffer | string, file: string, field: string): CertificateInfo {
  if (Buffer.isBuffer(input) && input.length > 1 && input[0] === 0x30 && !input.includes('-----BEGIN')) {
    return fromDer(input, file, field, 'the DER certificate');
  }
  const certs = parseCertificates(input, file, field);
  if (certs.length !== 1) {
    throw new CertificateInputError({
      file,
      field,
      problem: `${field} holds ${certs.length} certificates where exactly one is expected`,
      fix: 'keep only the one certificate this setting asks for in the file',
    });
  }
  return certs[0];
}

/**
 * Parses every certificate of a PEM bundle, keeping their order. Blocks that
 * are not certificates (keys, parameters) are skipped.
 *
 * @throws CertificateInputError when the file is empty, not PEM, holds no
 *   certificate, or holds a certificate that does not parse
 */
export function parseCertificates(text: string | Buffer, file: string, field: string): CertificateInfo[] {
  const blocks = splitPem(text, file, field);
  const certBlocks = blocks.filter((b) => CERTIFICATE_LABELS.has(b.label));
  if (certBlocks.length === 0) {
    const found = [...new Set(blocks.map((b) => b.label))].join(', ');
    const trusted = blocks.some((b) => b.label === 'TRUSTED CERTIFICATE');
    throw new CertificateInputError({
      file,
      field,
      problem: `${field} holds no CERTIFICATE block (it holds: ${found})`,
      fix: trusted
        ? `convert the OpenSSL trusted certificate with \`openssl x509 -in ${file} -out ${file}.pem\` and use ${file}.pem`
        : `write ${expectedContent(field)} into this file`,
    });
  }
  return certBlocks.map((block, i) => fromDer(block.der, file, field, describeBlock(block, i, certBlocks.length)));
}

/**
 * Describes a certificate for messages: `CN=<common name>` when it has one,
 * else its whole subject.
 */
export function describeCertificate(cert: CertificateInfo): string {
  if (cert.subjectCommonName !== undefined) {
    return `CN=${cert.subjectCommonName}`;
  }
  return cert.subject === '' ? `serial ${cert.serialNumber}` : cert.subject;
}

/**
 * Names a public or private key's type and size the way this library prints
 * it: `RSA 2048`, `RSA-PSS 2048`, `ECDSA P-256`, `ECDSA P-384`, `ECDSA P-521`,
 * `Ed25519`, `Ed448`, `DSA 2048`.
 */
export function describeKeyType(key: KeyObject): string {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return `RSA ${details.modulusLength ?? '?'}`;
    case 'rsa-pss':
      return `RSA-PSS ${details.modulusLength ?? '?'}`;
    case 'dsa':
      return `DSA ${details.modulusLength ?? '?'}`;
    case 'ec':
      return `ECDSA ${CURVE_NAMES[details.namedCurve ?? ''] ?? details.namedCurve ?? '?'}`;
    case 'ed25519':
      return 'Ed25519';
    case 'ed448':
      return 'Ed448';
    default:
      return String(key.asymmetricKeyType ?? 'unknown');
  }
}

const CURVE_NAMES: Record<string, string> = {
  prime256v1: 'P-256',
  'P-256': 'P-256',
  secp384r1: 'P-384',
  'P-384': 'P-384',
  secp521r1: 'P-521',
  'P-521': 'P-521',
};

function describeBlock(block: PemBlock, index: number, count: number): string {
  return count === 1
    ? `the certificate (PEM block on line ${block.line})`
    : `certificate ${index + 1} of ${count} (PEM block on line ${block.line})`;
}

function fromDer(der: Buffer, file: string, field: string, which: string): CertificateInfo {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (err) {
    throw new CertificateInputError({
      file,
      field,
      problem: `in ${field}, ${which} is not a valid X.509 certificate (${openSslReason(err)})`,
      fix: `export ${expectedContent(field)} again in PEM format`,
    });
  }
  const subject = formatName(x509.subject);
  const { dnsNames, ipAddresses } = parseSubjectAltName(x509.subjectAltName);
  const canonical = Buffer.from(x509.raw);
  const subjectCommonName = commonName(x509.subject);
  return {
    pem: encodePem('CERTIFICATE', canonical),
    der: canonical,
    subject,
    ...(subjectCommonName !== undefined ? { subjectCommonName } : {}),
    issuer: formatName(x509.issuer),
    serialNumber: x509.serialNumber.toLowerCase().replace(/:/g, ''),
    notBefore: parseOpenSslDate(x509.validFrom, file, field, which),
    notAfter: parseOpenSslDate(x509.validTo, file, field, which),
    sha256Fingerprint: createHash('sha256').update(canonical).digest('hex'),
    dnsNames,
    ipAddresses,
    isCA: x509.ca,
    selfSigned: isSelfSigned(x509),
    keyType: describeKeyType(x509.publicKey),
    x509,
  };
}

/** True when the certificate names itself as issuer and its own key verifies its signature. */
export function isSelfSigned(x509: X509Certificate): boolean {
  try {
    return x509.checkIssued(x509) && x509.verify(x509.publicKey);
  } catch {
    // verify() throws for key types OpenSSL cannot verify with; such a certificate is not usable as self-signed.
    return false;
  }
}

/** Node prints names one RDN per line (`C=US\nCN=x`), escaped per RFC 2253; join them on one line. */
export function formatName(name: string | undefined): string {
  // The usual case (no empty line) without splitting: the same text.
  if (name !== undefined && !name.includes('\n\n') && !name.startsWith('\n') && !name.endsWith('\n')) {
    return name.replaceAll('\n', ', ');
  }
  return (name ?? '')
    .split('\n')
    .filter((rdn) => rdn !== '')
    .join(', ');
}

/** The last CN of a name as Node prints it, unescaped. */
export function commonName(name: string | undefined): string | undefined {
  // Without ' + ' (multi-valued RDNs) and backslashes (escapes), the value of the last line that starts with CN=.
  if (name !== undefined && !name.includes(' + ') && !name.includes('\\')) {
    let at = name.lastIndexOf('\nCN=');
    if (at >= 0) at += 1;
    else if (name.startsWith('CN=')) at = 0;
    else return undefined;
    const end = name.indexOf('\n', at);
    return name.slice(at + 3, end < 0 ? name.length : end);
  }
  const rdns = (name ?? '').split('\n').flatMap((line) => line.split(' + '));
  let cn: string | undefined;
  for (const rdn of rdns) {
    if (rdn.startsWith('CN=')) {
      cn = unescapeRdnValue(rdn.slice(3));
    }
  }
  return cn;
}

function unescapeRdnValue(value: string): string {
  return value.replace(/\\([0-9A-Fa-f]{2}|.)/g, (_m, esc: string) =>
    esc.length === 2 ? String.fromCharCode(parseInt(esc, 16)) : esc,
  );
}

/**
 * Reads Node's subjectAltName text: `DNS:a, DNS:"quoted, value", IP Address:10.0.0.1`.
 * Values that need escaping are JSON strings (Node ≥ 17.3).
 */
export function parseSubjectAltName(san: string | undefined): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const text = san ?? '';
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) {
      break;
    }
    const type = text.slice(i, colon);
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') {
        j += text[j] === '\\' ? 2 : 1;
      }
      value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      next = text.indexOf(', ', j + 1);
    } else {
      next = text.indexOf(', ', colon + 1);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    if (type === 'DNS') {
      dnsNames.push(value.toLowerCase());
    } else if (type === 'IP Address') {
      ipAddresses.push(normalizeIp(value) ?? value.toLowerCase());
    }
    i = next < 0 ? text.length : next + 2;
  }
  return { dnsNames, ipAddresses };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Parses OpenSSL's `Jan  1 00:00:00 2024 GMT` (what Node's validFrom/validTo return). */
function parseOpenSslDate(text: string, file: string, field: string, which: string): Date {
  const m = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (\d{4}) GMT$/.exec(text);
  const month = m ? MONTHS.indexOf(m[1]) : -1;
  if (!m || month < 0) {
    throw new CertificateInputError({
      file,
      field,
      problem: `in ${field}, ${which} has a validity date that cannot be read (${JSON.stringify(text)})`,
      fix: `export ${expectedContent(field)} again`,
    });
  }
  return new Date(Date.UTC(Number(m[6]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])));
}

/** OpenSSL's reason for a failure, without anything from the input. */
export function openSslReason(err: unknown): string {
  if (err instanceof Error) {
    const reason = (err as Error & { reason?: string }).reason;
    return reason ?? err.message.replace(/^error:[0-9A-Fa-f]+:/, '').slice(0, 200);
  }
  return 'unknown error';
}
