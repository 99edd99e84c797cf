/**
 * The text Node's `X509Certificate` getters give for names and subject
 * alternative names, written from the DER (./der.ts), so that an ordinary
 * certificate needs no OpenSSL decode at all.
 *
 * Only what is certain is written: names of the attribute types below with
 * ASCII values of the string types OpenSSL reads for names, and SANs of DNS
 * names, IP addresses, URIs and e-mail addresses whose text Node prints as it
 * is. Anything else (other attribute types, non-ASCII text, empty RDNs, other
 * kinds of SAN, values Node would quote) gives undefined, and the caller asks
 * OpenSSL. test/unit/cli/check-der-text.test.ts compares both on certificates
 * made with openssl and on crafted ones.
 */
import { normalizeIp } from '../../pki/hostname';
import { DerFields, DerRange, tlvAt } from './der';

/**
 * Attribute types by the hex of their OID's content, with the short names
 * OpenSSL prints (`XN_FLAG_FN_SN`).
 */
const SHORT_NAMES: Readonly<Record<string, string>> = {
  '550403': 'CN',
  '550404': 'SN',
  '550405': 'serialNumber',
  '550406': 'C',
  '550407': 'L',
  '550408': 'ST',
  '550409': 'street',
  '55040a': 'O',
  '55040b': 'OU',
  '55040c': 'title',
  '55040d': 'description',
  '550411': 'postalCode',
  '550429': 'name',
  '55042a': 'GN',
  '55042b': 'initials',
  '55042c': 'generationQualifier',
  '55042e': 'dnQualifier',
  '550441': 'pseudonym',
  '2a864886f70d010901': 'emailAddress',
  '0992268993f22c640119': 'DC',
  '0992268993f22c640101': 'UID',
};

/** Backslash-escaped anywhere (RFC 2253 special characters, as OpenSSL's ASN1_STRFLGS_ESC_2253 escapes them). */
const SPECIAL = new Uint8Array(128);
for (const c of ',+"\\<>;') SPECIAL[c.charCodeAt(0)] = 1;

/**
 * A Name as Node's `X509Certificate#subject` / `#issuer` gives it
 * (`X509_NAME_print_ex` with `XN_FLAG_SEP_MULTILINE | XN_FLAG_FN_SN |
 * ASN1_STRFLGS_ESC_2253 | ASN1_STRFLGS_ESC_CTRL | ASN1_STRFLGS_UTF8_CONVERT`):
 * one RDN per line, the values of a multi-valued RDN joined by ` + ` in the
 * order of the DER; `,+"\<>;` escaped with a backslash, a leading `#` or
 * space and a trailing space too, control characters as `\XX`. An empty
 * name gives '' (Node: undefined).
 *
 * @returns undefined when the name holds anything this does not write for
 *   certain (the caller then asks OpenSSL)
 */
export function nameText(der: Buffer, range: DerRange): string | undefined {
  const name = tlvAt(der, range.start, range.end);
  if (!name || name.tag !== 0x30 || name.end !== range.end) return undefined;
  let text = '';
  for (let at = name.contentStart; at < name.end; ) {
    const rdn = tlvAt(der, at, name.end);
    if (!rdn || rdn.tag !== 0x31 || rdn.contentStart === rdn.end) return undefined;
    if (at !== name.contentStart) text += '\n';
    for (let p = rdn.contentStart; p < rdn.end; ) {
      const atv = tlvAt(der, p, rdn.end);
      const type = atv && atv.tag === 0x30 ? tlvAt(der, atv.contentStart, atv.end) : undefined;
      const short = type && type.tag === 0x06 ? SHORT_NAMES[der.toString('hex', type.contentStart, type.end)] : undefined;
      const value = short !== undefined ? tlvAt(der, type!.end, atv!.end) : undefined;
      const valueText = value && value.end === atv!.end ? stringText(der, value.tag, value.contentStart, value.end) : undefined;
      if (valueText === undefined) return undefined;
      if (p !== rdn.contentStart) text += ' + ';
      text += `${short}=${valueText}`;
      p = atv!.end;
    }
    at = rdn.end;
  }
  return text;
}

/**
 * The escaped text of an attribute value: UTF8String, NumericString,
 * PrintableString, TeletexString and IA5String (one byte a character) or
 * BMPString (two), every character ASCII.
 */
function stringText(der: Buffer, tag: number, start: number, end: number): string | undefined {
  let width: number;
  switch (tag) {
    case 0x0c: // UTF8String
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x14: // TeletexString
    case 0x16: // IA5String
      width = 1;
      break;
    case 0x1e: // BMPString
      width = 2;
      if ((end - start) % 2 !== 0) return undefined;
      break;
    default:
      return undefined;
  }
  const count = (end - start) / width;
  let out = '';
  for (let i = 0; i < count; i++) {
    const at = start + i * width;
    if (width === 2 && der[at] !== 0) return undefined;
    const c = der[at + width - 1];
    if (c >= 0x80) return undefined;
    if (c < 0x20 || c === 0x7f) {
      out += `\\${c < 0x10 ? '0' : ''}${c.toString(16).toUpperCase()}`;
    } else if (SPECIAL[c] || (c === 0x20 && (i === 0 || i === count - 1)) || (c === 0x23 /* # */ && i === 0 && count > 1)) {
      // OpenSSL checks the last character for a trailing space only, so a lone `#` stays as it is.
      out += `\\${String.fromCharCode(c)}`;
    } else {
      out += String.fromCharCode(c);
    }
  }
  return out;
}

const SUBJECT_ALT_NAME = '2.5.29.17';

/**
 * The DNS names (lowercase) and IP addresses (normalized) of the
 * subjectAltName, as `lib/pki`'s parseSubjectAltName reads them from Node's
 * `X509Certificate#subjectAltName`; none when there is no such extension.
 *
 * @returns undefined when the extension holds anything but DNS names, IP
 *   addresses (4 or 16 bytes), URIs and e-mail addresses, or a value Node
 *   quotes (a character outside printable ASCII, or one of `"\',`); or when
 *   the certificate is not plain (there may be two SAN extensions, of which
 *   Node reads the first and DerFields.extensions holds the last)
 */
export function subjectAltNamesOf(der: Buffer, fields: DerFields): { dnsNames: string[]; ipAddresses: string[] } | undefined {
  if (!fields.plain) return undefined;
  const dnsNames: string[] = [];
  const ipAddresses: string[] = [];
  const ext = fields.extensions.get(SUBJECT_ALT_NAME);
  if (!ext) return { dnsNames, ipAddresses };
  const seq = tlvAt(der, ext.start, ext.end);
  if (!seq || seq.tag !== 0x30 || seq.end !== ext.end || seq.contentStart === seq.end) return undefined;
  for (let at = seq.contentStart; at < seq.end; ) {
    const gn = tlvAt(der, at, seq.end);
    if (!gn) return undefined;
    switch (gn.tag) {
      case 0x81: // rfc822Name
      case 0x86: // uniformResourceIdentifier
        if (!isPlainAltName(der, gn.contentStart, gn.end)) return undefined;
        break;
      case 0x82: // dNSName
        if (!isPlainAltName(der, gn.contentStart, gn.end)) return undefined;
        dnsNames.push(der.toString('latin1', gn.contentStart, gn.end).toLowerCase());
        break;
      case 0x87: {
        // iPAddress: Node prints IPv4 dotted, IPv6 as eight %X groups; parseSubjectAltName normalizes.
        const ip = ipText(der, gn.contentStart, gn.end);
        if (ip === undefined) return undefined;
        ipAddresses.push(ip);
        break;
      }
      default:
        return undefined;
    }
    at = gn.end;
  }
  return { dnsNames, ipAddresses };
}

/** Printable ASCII without `"`, `'`, `,` and `\`: Node prints such a value as it is, without quotes. */
function isPlainAltName(der: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = der[i];
    if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x27 || c === 0x2c || c === 0x5c) return false;
  }
  return true;
}

function ipText(der: Buffer, start: number, end: number): string | undefined {
  if (end - start === 4) {
    return `${der[start]}.${der[start + 1]}.${der[start + 2]}.${der[start + 3]}`;
  }
  if (end - start !== 16) return undefined;
  const groups: string[] = [];
  for (let i = start; i < end; i += 2) groups.push(((der[i] << 8) | der[i + 1]).toString(16).toUpperCase());
  const text = groups.join(':');
  return normalizeIp(text) ?? text.toLowerCase();
}
