/**
 * Errors raised by `lib/pki` for bad certificate input.
 *
 * Every message is one sentence that names the file, the field, what is wrong
 * and how to fix it. Messages never contain private key material.
 */

/** Fields of the inputs that `lib/pki` reads, as the user knows them. */
export type CertificateField = 'tls.crt' | 'tls.key' | 'cacerts.pem' | (string & {});

/** Properties that make up a {@link CertificateInputError}. */
export interface CertificateInputErrorProps {
  /** The file that holds the bad input, as given by the caller (absolute paths stay absolute). */
  readonly file: string;
  /** The field of that file, e.g. `tls.crt`, `tls.key`, `cacerts.pem`. */
  readonly field: CertificateField;
  /** What is wrong, as a clause without the file name and without a trailing period. */
  readonly problem: string;
  /** What to do about it, as an imperative clause without a trailing period. */
  readonly fix: string;
}

/**
 * A certificate, key or CA bundle that cannot be used as given.
 *
 * The message reads `<file>: <problem>. Fix: <fix>.`
 */
export class CertificateInputError extends Error {
  /** The file that holds the bad input. */
  public readonly file: string;
  /** The field of that file (`tls.crt`, `tls.key`, `cacerts.pem`, …). */
  public readonly field: string;
  /** What is wrong, without the file name. */
  public readonly problem: string;
  /** What to do about it. */
  public readonly fix: string;

  constructor(props: CertificateInputErrorProps) {
    super(`${props.file}: ${stripPeriod(props.problem)}. Fix: ${stripPeriod(props.fix)}.`);
    this.name = 'CertificateInputError';
    this.file = props.file;
    this.field = props.field;
    this.problem = stripPeriod(props.problem);
    this.fix = stripPeriod(props.fix);
    Object.setPrototypeOf(this, CertificateInputError.prototype);
  }
}

/** A duration string (such as a `renewBefore` setting) that cannot be read. */
export class DurationFormatError extends Error {
  /** The value that was given. */
  public readonly value: string;
  /** The name of the setting the value came from. */
  public readonly field: string;

  constructor(field: string, value: string) {
    super(
      `'${field}' (${JSON.stringify(value)}) is not a duration; ` +
        'use a whole number followed by ms, s, m, h, d or w, e.g. "28d" or "12h".',
    );
    this.name = 'DurationFormatError';
    this.value = value;
    this.field = field;
    Object.setPrototypeOf(this, DurationFormatError.prototype);
  }
}

function stripPeriod(s: string): string {
  return s.trim().replace(/\.+$/, '');
}

/**
 * What a field is expected to hold, as a phrase for error messages.
 *
 * @param field `tls.crt`, `tls.key`, `cacerts.pem` or any other field name
 */
export function expectedContent(field: string): string {
  switch (field) {
    case 'tls.crt':
      return 'the PEM server certificate followed by its intermediate CA certificate(s)';
    case 'tls.key':
      return 'the PEM private key of the server certificate';
    case 'cacerts.pem':
      return 'the PEM intermediate CA certificate(s) followed by the root CA certificate';
    default:
      return isKeyField(field) ? 'a PEM private key' : 'PEM certificate data';
  }
}

/** True when a field holds a private key rather than certificates. */
export function isKeyField(field: string): boolean {
  return /(^|[._-])key($|[._-])/i.test(field) || field === 'key';
}
