/**
 * Reads the fields `check` needs straight from a certificate's DER
 * (RFC 5280 §4.1), so that an ordinary certificate costs no OpenSSL decode
 * (names and SANs: ./der-text.ts) and any other one a single decode (the
 * `X509Certificate` constructor), not a dozen getter calls, a KeyObject and
 * its key details.
 *
 * Every function returns undefined for what it does not understand; callers
 * then fall back to Node's `X509Certificate` getters, which give the same
 * values (test/unit/cli/check-der.test.ts compares both on RSA, RSA-PSS,
 * ECDSA, Ed25519 and Ed448 certificates; other key types take Node's getters).
 */
/** One DER TLV: where its content starts and ends. */
export interface Tlv {
  readonly tag: number;
  readonly start: number;
  readonly contentStart: number;
  readonly end: number;
}

export function tlvAt(der: Buffer, offset: number, limit: number): Tlv | undefined {
  if (offset + 2 > limit) return undefined;
  const tag = der[offset];
  let length = der[offset + 1];
  let header = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || offset + 2 + n > limit) return undefined;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[offset + 2 + i];
    header = 2 + n;
  }
  const end = offset + header + length;
  if (end > limit) return undefined;
  return { tag, start: offset, contentStart: offset + header, end };
}

/** The children of a constructed TLV. */
export function children(der: Buffer, parent: Tlv): Tlv[] | undefined {
  const out: Tlv[] = [];
  let at = parent.contentStart;
  while (at < parent.end) {
    const t = tlvAt(der, at, parent.end);
    if (!t) return undefined;
    out.push(t);
    at = t.end;
  }
  return out;
}

/** Where a TLV starts and ends in the DER. */
export interface DerRange {
  readonly start: number;
  readonly end: number;
}

/** The fields of a certificate that `check` reads from its DER. */
export interface DerFields {
  /** Lowercase hex of the serial number without leading zero bytes, as OpenSSL's BN_bn2hex prints it (lowercased). */
  readonly serialNumber: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The SubjectPublicKeyInfo TLV, for {@link keyTypeOf}. */
  readonly spki: { readonly start: number; readonly end: number };
  /** The extensions, by OID (dotted), each with its critical flag and the extnValue content range. */
  readonly extensions: ReadonlyMap<string, { readonly start: number; readonly end: number }>;
  /** The issuer Name TLV, for nameText (./der-text.ts). */
  readonly issuer: DerRange;
  /** The subject Name TLV. */
  readonly subject: DerRange;
  /**
   * Whether OpenSSL's decoder (`new X509Certificate`) reads this certificate
   * for certain, as far as these fields go: the certificate, its algorithm
   * identifiers, key and signature laid out as RFC 5280 says (nothing more,
   * nothing less), version 3 (or 1 without extensions), no unique
   * identifiers, object identifiers and INTEGERs encoded as X.690 requires,
   * times that are dates, each extension once, critical flags TRUE when
   * present. The names are checked by nameText. When false, `check` asks
   * OpenSSL: the fields may still be read, but a malformed certificate must
   * be found invalid as OpenSSL finds it.
   */
  readonly plain: boolean;
}

/**
 * Splits a DER certificate into the fields `check` reads.
 *
 * @returns undefined when the DER is not laid out as RFC 5280 says (the caller uses Node's getters)
 */
export function readDerFields(der: Buffer): DerFields | undefined {
  const cert = tlvAt(der, 0, der.length);
  if (!cert || cert.tag !== 0x30 || cert.end !== der.length) return undefined;
  const tbs = tlvAt(der, cert.contentStart, cert.end);
  if (!tbs || tbs.tag !== 0x30) return undefined;
  const parts = children(der, tbs);
  if (!parts) return undefined;
  let i = 0;
  let version3 = false;
  let plainVersion = true; // absent: v1
  if (parts[i]?.tag === 0xa0) {
    // [0] EXPLICIT INTEGER 2 (v3); v2 and an explicit v1 are left to OpenSSL.
    const v = parts[i++];
    version3 = v.end - v.contentStart === 3 && der[v.contentStart] === 0x02 && der[v.contentStart + 1] === 0x01 && der[v.contentStart + 2] === 0x02;
    plainVersion = version3;
  }
  const serial = parts[i++];
  const signature = parts[i++];
  const issuer = parts[i++];
  const validity = parts[i++];
  const subject = parts[i++];
  const spki = parts[i++];
  if (!serial || serial.tag !== 0x02 || !signature || !issuer || !validity || validity.tag !== 0x30 || !subject || !spki || spki.tag !== 0x30) {
    return undefined;
  }
  const serialNumber = serialHex(der, serial);
  const times = children(der, validity);
  if (serialNumber === undefined || !times || times.length !== 2) return undefined;
  const notBefore = readTime(der, times[0]);
  const notAfter = readTime(der, times[1]);
  if (!notBefore || !notAfter) return undefined;
  let plain =
    plainVersion &&
    isMinimalInteger(der, serial) &&
    isAlgorithmIdentifier(der, signature) &&
    issuer.tag === 0x30 &&
    subject.tag === 0x30 &&
    isDate(der, times[0]) &&
    isDate(der, times[1]) &&
    isPlainKey(der, spki) &&
    isPlainSignature(der, cert, tbs);
  const extensions = new Map<string, { start: number; end: number }>();
  for (; i < parts.length; i++) {
    if (parts[i].tag !== 0xa3) {
      plain = false; // unique identifiers, or something that is not a certificate field
      continue;
    }
    const seq = tlvAt(der, parts[i].contentStart, parts[i].end);
    const list = seq && seq.tag === 0x30 ? children(der, seq) : undefined;
    if (!list) return undefined;
    if (!version3 || seq!.end !== parts[i].end || i !== parts.length - 1) plain = false;
    for (const ext of list) {
      const fields = children(der, ext);
      if (!fields || fields.length < 2 || fields[0].tag !== 0x06) return undefined;
      const value = fields[fields.length - 1];
      if (value.tag !== 0x04) return undefined;
      const oid = oidText(der, fields[0]);
      if (ext.tag !== 0x30 || fields.length > 3 || (fields.length === 3 && !isTrue(der, fields[1])) || !isOid(der, fields[0]) || extensions.has(oid)) plain = false;
      extensions.set(oid, { start: value.contentStart, end: value.end });
    }
  }
  return {
    serialNumber,
    notBefore,
    notAfter,
    spki: { start: spki.start, end: spki.end },
    extensions,
    issuer: { start: issuer.start, end: issuer.end },
    subject: { start: subject.start, end: subject.end },
    plain,
  };
}

/** A BOOLEAN TRUE (X.690 DER: one byte 0xFF). */
function isTrue(der: Buffer, t: Tlv): boolean {
  return t.tag === 0x01 && t.end - t.contentStart === 1 && der[t.contentStart] === 0xff;
}

/** An INTEGER with content, without a redundant leading 0x00 or 0xFF byte (OpenSSL refuses the padding). */
function isMinimalInteger(der: Buffer, t: Tlv): boolean {
  const n = t.end - t.contentStart;
  if (t.tag !== 0x02 || n === 0) return false;
  if (n === 1) return true;
  const first = der[t.contentStart];
  const second = der[t.contentStart + 1];
  return !(first === 0x00 && !(second & 0x80)) && !(first === 0xff && second & 0x80);
}

/** An OBJECT IDENTIFIER as OpenSSL reads one: not empty, no subidentifier starting with 0x80, the last one complete. */
export function isOid(der: Buffer, t: Tlv): boolean {
  if (t.tag !== 0x06 || t.end === t.contentStart || der[t.end - 1] & 0x80) return false;
  for (let i = t.contentStart; i < t.end; i++) {
    if (der[i] === 0x80 && (i === t.contentStart || !(der[i - 1] & 0x80))) return false;
  }
  return true;
}

/**
 * AlgorithmIdentifier: SEQUENCE { OID, parameters } with parameters absent,
 * NULL, an OID (a named curve) or a SEQUENCE (RSA-PSS), which OpenSSL keeps
 * without reading.
 */
function isAlgorithmIdentifier(der: Buffer, t: Tlv): boolean {
  if (t.tag !== 0x30) return false;
  const parts = children(der, t);
  if (!parts || parts.length < 1 || parts.length > 2 || !isOid(der, parts[0])) return false;
  const p = parts[1];
  return p === undefined || (p.tag === 0x05 && p.end === p.contentStart) || isOid(der, p) || p.tag === 0x30;
}

/** SubjectPublicKeyInfo: SEQUENCE { AlgorithmIdentifier, BIT STRING without unused bits }. */
function isPlainKey(der: Buffer, spki: Tlv): boolean {
  const parts = children(der, spki);
  return parts !== undefined && parts.length === 2 && isAlgorithmIdentifier(der, parts[0]) && isBitString(der, parts[1]);
}

function isBitString(der: Buffer, t: Tlv): boolean {
  return t.tag === 0x03 && t.end > t.contentStart && der[t.contentStart] === 0;
}

/** Certificate: SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue } and nothing else. */
function isPlainSignature(der: Buffer, cert: Tlv, tbs: Tlv): boolean {
  const alg = tlvAt(der, tbs.end, cert.end);
  const sig = alg ? tlvAt(der, alg.end, cert.end) : undefined;
  return alg !== undefined && sig !== undefined && sig.end === cert.end && isAlgorithmIdentifier(der, alg) && isBitString(der, sig);
}

const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether a time readTime read names a real moment: month 1–12, a day of that month, hour < 24, minute and second < 60. */
function isDate(der: Buffer, t: Tlv): boolean {
  const utc = t.tag === 0x17;
  const at = t.contentStart + (utc ? 2 : 4);
  const month = digits(der, at, 2);
  const day = digits(der, at + 2, 2);
  if (month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]) return false;
  if (month === 2 && day === 29) {
    // UTCTime years are 1950–2049, where every fourth year is a leap year (2000 too).
    const year = digits(der, t.contentStart, utc ? 2 : 4);
    if (year % 4 !== 0 || (!utc && year % 100 === 0 && year % 400 !== 0)) return false;
  }
  return digits(der, at + 4, 2) < 24 && digits(der, at + 6, 2) < 60 && digits(der, at + 8, 2) < 60;
}

function serialHex(der: Buffer, t: Tlv): string | undefined {
  if (t.end === t.contentStart || der[t.contentStart] & 0x80) return undefined; // empty or negative: Node's getter
  let start = t.contentStart;
  while (start < t.end && der[start] === 0) start++;
  return start === t.end ? '0' : der.toString('hex', start, t.end);
}

/**
 * UTCTime (YYMMDDHHMMSSZ, 50–99 → 19xx) or GeneralizedTime (YYYYMMDDHHMMSSZ),
 * RFC 5280 §4.1.2.5, read from the bytes (digits only, then `Z`).
 */
function readTime(der: Buffer, t: Tlv): Date | undefined {
  const length = t.end - t.contentStart;
  let at = t.contentStart;
  let year: number;
  if (t.tag === 0x17 && length === 13) {
    const yy = digits(der, at, 2);
    if (yy < 0) return undefined;
    year = yy >= 50 ? 1900 + yy : 2000 + yy;
    at += 2;
  } else if (t.tag === 0x18 && length === 15) {
    year = digits(der, at, 4);
    if (year < 0) return undefined;
    at += 4;
  } else {
    return undefined;
  }
  const month = digits(der, at, 2);
  const day = digits(der, at + 2, 2);
  const hour = digits(der, at + 4, 2);
  const minute = digits(der, at + 6, 2);
  const second = digits(der, at + 8, 2);
  if (month < 0 || day < 0 || hour < 0 || minute < 0 || second < 0 || der[at + 10] !== 0x5a /* Z */) return undefined;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC treats years 0–99 as 1900–1999; GeneralizedTime years below 100 go the slow way.
  return year < 100 ? undefined : new Date(ms);
}

/** The decimal number of `count` ASCII digits at `at`, or -1 when one is not a digit. */
function digits(der: Buffer, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const d = der[i] - 0x30;
    if (d < 0 || d > 9) return -1;
    value = value * 10 + d;
  }
  return value;
}

function oidText(der: Buffer, t: Tlv): string {
  // The certificate extensions of RFC 5280 (id-ce, 2.5.29.N) without building the list of arcs.
  if (t.end - t.contentStart === 3 && der[t.contentStart] === 0x55 && der[t.contentStart + 1] === 0x1d && der[t.contentStart + 2] < 0x80) {
    return `2.5.29.${der[t.contentStart + 2]}`;
  }
  const parts: number[] = [];
  let value = 0;
  for (let i = t.contentStart; i < t.end; i++) {
    value = value * 128 + (der[i] & 0x7f);
    if (!(der[i] & 0x80)) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  return parts.join('.');
}

const BASIC_CONSTRAINTS = '2.5.29.19';
const KEY_USAGE = '2.5.29.15';
const SUBJECT_KEY_ID = '2.5.29.14';
const AUTHORITY_KEY_ID = '2.5.29.35';

/**
 * Whether the certificate is a CA the way Node's `x509.ca` says it (OpenSSL's
 * `X509_check_ca() == 1`): basicConstraints cA is TRUE, and a keyUsage
 * extension, when present, allows keyCertSign.
 *
 * @returns undefined when an extension cannot be read (use `x509.ca`)
 */
export function isCaOf(der: Buffer, fields: DerFields): boolean | undefined {
  const usage = fields.extensions.get(KEY_USAGE);
  if (usage) {
    const bits = tlvAt(der, usage.start, usage.end);
    if (!bits || bits.tag !== 0x03) return undefined;
    // BIT STRING: unused-bits byte, then bit 0 (digitalSignature) is the top bit; keyCertSign is bit 5.
    const first = bits.end - bits.contentStart >= 2 ? der[bits.contentStart + 1] : 0;
    if (!(first & 0x04)) return false;
  }
  const bc = fields.extensions.get(BASIC_CONSTRAINTS);
  if (!bc) return false;
  const seq = tlvAt(der, bc.start, bc.end);
  if (!seq || seq.tag !== 0x30) return undefined;
  const first = seq.contentStart < seq.end ? tlvAt(der, seq.contentStart, seq.end) : undefined;
  return first !== undefined && first.tag === 0x01 && der[first.contentStart] !== 0;
}

/** The subjectKeyIdentifier as lowercase hex, if the certificate has one. */
export function subjectKeyIdOf(der: Buffer, fields: DerFields): string | undefined {
  const ext = fields.extensions.get(SUBJECT_KEY_ID);
  const octets = ext ? tlvAt(der, ext.start, ext.end) : undefined;
  return octets && octets.tag === 0x04 ? der.toString('hex', octets.contentStart, octets.end) : undefined;
}

/** The keyIdentifier of the authorityKeyIdentifier as lowercase hex, if the certificate has one. */
export function authorityKeyIdOf(der: Buffer, fields: DerFields): string | undefined {
  const ext = fields.extensions.get(AUTHORITY_KEY_ID);
  const seq = ext ? tlvAt(der, ext.start, ext.end) : undefined;
  const list = seq && seq.tag === 0x30 ? children(der, seq) : undefined;
  const keyId = list?.find((t) => t.tag === 0x80);
  return keyId ? der.toString('hex', keyId.contentStart, keyId.end) : undefined;
}

const CURVES: Record<string, string> = {
  '1.2.840.10045.3.1.7': 'P-256',
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
};

/**
 * The key type as `lib/pki`'s describeKeyType names it (`RSA 2048`, `ECDSA P-256`,
 * `Ed25519`, …), from the SubjectPublicKeyInfo.
 *
 * @returns undefined for key types it does not know (use describeKeyType(x509.publicKey))
 */
export function keyTypeOf(der: Buffer, fields: DerFields): string | undefined {
  const spki = tlvAt(der, fields.spki.start, fields.spki.end);
  const parts = spki ? children(der, spki) : undefined;
  if (!parts || parts.length !== 2) return undefined;
  const alg = children(der, parts[0]);
  if (!alg || alg.length === 0 || alg[0].tag !== 0x06) return undefined;
  const oid = oidText(der, alg[0]);
  switch (oid) {
    case '1.2.840.113549.1.1.1':
    case '1.2.840.113549.1.1.10': {
      const bits = rsaModulusBits(der, parts[1]);
      return bits === undefined ? undefined : `${oid.endsWith('.10') ? 'RSA-PSS' : 'RSA'} ${bits}`;
    }
    case '1.2.840.10045.2.1': {
      const curve = alg[1]?.tag === 0x06 ? CURVES[oidText(der, alg[1])] : undefined;
      return curve ? `ECDSA ${curve}` : undefined;
    }
    case '1.3.101.112':
      return 'Ed25519';
    case '1.3.101.113':
      return 'Ed448';
    default:
      return undefined;
  }
}

/** Bit length of the modulus of an RSAPublicKey inside the subjectPublicKey BIT STRING. */
function rsaModulusBits(der: Buffer, bitString: Tlv): number | undefined {
  if (bitString.tag !== 0x03 || der[bitString.contentStart] !== 0) return undefined;
  const seq = tlvAt(der, bitString.contentStart + 1, bitString.end);
  const modulus = seq && seq.tag === 0x30 ? tlvAt(der, seq.contentStart, seq.end) : undefined;
  if (!modulus || modulus.tag !== 0x02) return undefined;
  let start = modulus.contentStart;
  while (start < modulus.end && der[start] === 0) start++;
  if (start === modulus.end) return undefined;
  return (modulus.end - start - 1) * 8 + (32 - Math.clz32(der[start]));
}
