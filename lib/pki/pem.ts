/**
 * PEM encoding (RFC 7468): split a file into its blocks and write blocks back.
 *
 * Reading is strict about what would break later (truncated blocks, bad
 * base64, DER where PEM is expected) and lenient about what does not matter
 * (CRLF line endings, a byte-order mark, text around the blocks, trailing
 * spaces). Error messages name the file, the field and the line, never the
 * block's content.
 */
import { CertificateInputError, expectedContent, isKeyField } from './errors';

/** One `-----BEGIN X-----` … `-----END X-----` block of a PEM file. */
export interface PemBlock {
  /** The label between `BEGIN ` and the dashes, e.g. `CERTIFICATE`, `PRIVATE KEY`. */
  readonly label: string;
  /** The decoded body. */
  readonly der: Buffer;
  /** The block re-encoded canonically: LF line endings, 64-column base64, one trailing newline. */
  readonly text: string;
  /** RFC 1421 headers (e.g. `Proc-Type`, `DEK-Info`) of legacy encrypted keys; empty for most blocks. */
  readonly headers: Readonly<Record<string, string>>;
  /** The 1-based line of the file where the block starts. */
  readonly line: number;
}

const BEGIN = /^-----BEGIN ([^-]*)-----$/;
const END = /^-----END ([^-]*)-----$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Splits PEM text into its blocks, in file order.
 *
 * @param input the file's content (a Buffer is checked for binary DER first)
 * @param file the file name to put in error messages
 * @param field the field the file stands for (`tls.crt`, `tls.key`, `cacerts.pem`, …)
 * @throws CertificateInputError when the file is empty, binary (DER), holds no PEM
 *   block, or holds a truncated block or one with invalid base64
 */
export function splitPem(input: string | Buffer, file: string, field: string): PemBlock[] {
  const text = decodeText(input, file, field);
  const lines = text.split('\n');
  const blocks: PemBlock[] = [];

  let open: { label: string; line: number; body: string[] } | undefined;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    const begin = BEGIN.exec(line);
    const end = END.exec(line);
    if (!open) {
      if (begin) {
        open = { label: begin[1], line: i + 1, body: [] };
      }
      continue;
    }
    if (begin) {
      throw truncated(file, field, open.label, open.line, `a new -----BEGIN ${begin[1]}----- line starts on line ${i + 1} before it ends`);
    }
    if (end) {
      if (end[1] !== open.label) {
        throw new CertificateInputError({
          file,
          field,
          problem:
            `in ${field}, the PEM block that starts on line ${open.line} with -----BEGIN ${open.label}----- ` +
            `ends on line ${i + 1} with -----END ${end[1]}-----, which does not match`,
          fix: `export ${expectedContent(field)} again, or correct the END line to -----END ${open.label}-----`,
        });
      }
      blocks.push(decodeBlock(open.label, open.line, open.body, file, field));
      open = undefined;
      continue;
    }
    open.body.push(line);
  }
  if (open) {
    throw truncated(file, field, open.label, open.line, `it has no -----END ${open.label}----- line`);
  }
  if (blocks.length === 0) {
    throw noPemBlock(text, file, field);
  }
  return blocks;
}

/**
 * Encodes DER as one canonical PEM block: LF line endings, 64-column base64,
 * one trailing newline.
 */
export function encodePem(label: string, der: Buffer, headers: Readonly<Record<string, string>> = {}): string {
  const b64 = der.toString('base64');
  const lines: string[] = [`-----BEGIN ${label}-----`];
  const headerNames = Object.keys(headers);
  for (const name of headerNames) {
    lines.push(`${name}: ${headers[name]}`);
  }
  if (headerNames.length > 0) {
    lines.push('');
  }
  for (let i = 0; i < b64.length; i += 64) {
    lines.push(b64.slice(i, i + 64));
  }
  lines.push(`-----END ${label}-----`);
  return lines.join('\n') + '\n';
}

/** Turns the input into LF-only text, rejecting empty and binary input. */
function decodeText(input: string | Buffer, file: string, field: string): string {
  let text: string;
  if (Buffer.isBuffer(input)) {
    if (looksBinary(input)) {
      throw binary(input[0], file, field);
    }
    text = input.toString('utf8');
  } else {
    text = input;
    if (!text.includes('-----BEGIN') && /[\u0000-\u0008\u000e-\u001f\ufffd]/.test(text)) {
      throw binary(text.charCodeAt(0), file, field);
    }
  }
  text = text.replace(/^\ufeff/, '').replace(/\r\n?/g, '\n');
  if (text.trim() === '') {
    throw new CertificateInputError({
      file,
      field,
      problem: `${field} is empty`,
      fix: `write ${expectedContent(field)} into this file`,
    });
  }
  return text;
}

/** True for content that is not text: DER, PKCS#12 and other binary formats. */
function looksBinary(buf: Buffer): boolean {
  if (buf.includes('-----BEGIN')) {
    return false;
  }
  const sample = buf.subarray(0, 512);
  for (const byte of sample) {
    if (byte < 0x09 || (byte > 0x0d && byte < 0x20) || byte === 0x7f) {
      return true;
    }
  }
  // A DER SEQUENCE with a long-form length (0x30 0x81..0x84) is binary even without control bytes.
  return sample.length > 1 && sample[0] === 0x30 && sample[1] >= 0x81 && sample[1] <= 0x84;
}

function binary(firstByte: number, file: string, field: string): CertificateInputError {
  const isKey = isKeyField(field);
  if (firstByte === 0x30) {
    const command = isKey
      ? `openssl pkey -inform der -in ${file} -out ${file}.pem`
      : `openssl x509 -inform der -in ${file} -out ${file}.pem`;
    return new CertificateInputError({
      file,
      field,
      problem: `${field} looks like DER (binary ASN.1), but PEM is expected`,
      fix: `convert it with \`${command}\` and point the configuration at ${file}.pem`,
    });
  }
  return new CertificateInputError({
    file,
    field,
    problem: `${field} is a binary file, not PEM text`,
    fix: `export ${expectedContent(field)} in PEM format (text starting with -----BEGIN)`,
  });
}

function noPemBlock(text: string, file: string, field: string): CertificateInputError {
  const isKey = isKeyField(field);
  const label = isKey ? 'PRIVATE KEY' : 'CERTIFICATE';
  const compact = text.replace(/\s+/g, '');
  if (compact.length > 0 && BASE64.test(compact)) {
    return new CertificateInputError({
      file,
      field,
      problem: `${field} holds base64 data without -----BEGIN/-----END lines`,
      fix: `add -----BEGIN ${label}----- before and -----END ${label}----- after the base64 data, or export ${expectedContent(field)} again`,
    });
  }
  return new CertificateInputError({
    file,
    field,
    problem: `${field} holds no PEM block (no -----BEGIN line followed by an -----END line)`,
    fix: `write ${expectedContent(field)} into this file`,
  });
}

function truncated(file: string, field: string, label: string, line: number, why: string): CertificateInputError {
  return new CertificateInputError({
    file,
    field,
    problem: `in ${field}, the PEM block -----BEGIN ${label}----- that starts on line ${line} is truncated: ${why}`,
    fix: `copy the complete block, from -----BEGIN ${label}----- to -----END ${label}-----, into this file again`,
  });
}

function decodeBlock(label: string, line: number, body: string[], file: string, field: string): PemBlock {
  // RFC 1421 headers: `Name: value` lines at the start of the body, ended by a blank line.
  const headers: Record<string, string> = {};
  let i = 0;
  if (body.length > 0 && /^[A-Za-z][A-Za-z0-9-]*:/.test(body[0])) {
    for (; i < body.length && body[i] !== ''; i++) {
      const colon = body[i].indexOf(':');
      if (colon < 0) {
        break;
      }
      headers[body[i].slice(0, colon).trim()] = body[i].slice(colon + 1).trim();
    }
  }
  const b64 = body.slice(i).join('');
  const badBase64 = (why: string) =>
    new CertificateInputError({
      file,
      field,
      problem: `in ${field}, the PEM block -----BEGIN ${label}----- that starts on line ${line} ${why}`,
      fix: `copy the complete block, from -----BEGIN ${label}----- to -----END ${label}-----, into this file again`,
    });
  if (b64.length === 0) {
    throw badBase64('has no content');
  }
  if (!BASE64.test(b64) || b64.length % 4 !== 0) {
    throw badBase64('is not valid base64 (a line was cut, changed or mixed with other text)');
  }
  const der = Buffer.from(b64, 'base64');
  // Encrypted legacy keys hold ciphertext, not DER, and OpenSSL's TRUSTED CERTIFICATE appends trust
  // settings to the certificate; every other block must be one complete DER value.
  if (Object.keys(headers).length === 0 && label !== 'TRUSTED CERTIFICATE') {
    const problem = derProblem(der);
    if (problem) {
      throw badBase64(`is truncated or corrupt: ${problem}`);
    }
  }
  return { label, der, text: encodePem(label, der, headers), headers, line };
}

/** Checks that `der` is exactly one DER TLV; returns what is wrong, or undefined. */
function derProblem(der: Buffer): string | undefined {
  if (der.length < 2) {
    return `its DER encoding is only ${der.length} byte(s) long`;
  }
  if ((der[0] & 0x1f) === 0x1f) {
    return undefined; // high tag numbers do not occur at the top of PEM payloads; leave it to the parser
  }
  let length = der[1];
  let offset = 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || der.length < 2 + n) {
      return 'its DER length field is invalid';
    }
    length = 0;
    for (let k = 0; k < n; k++) {
      length = length * 256 + der[2 + k];
    }
    offset = 2 + n;
  }
  const expected = offset + length;
  if (expected !== der.length) {
    return `its DER encoding declares ${expected} bytes but holds ${der.length}`;
  }
  return undefined;
}
