/** Shared assertions for the pki tests. */
import { CertificateInputError } from '../../../lib/pki';

/** What a thrown {@link CertificateInputError} must say. */
export interface ExpectedInputError {
  /** The file the error must name (checked on `error.file` and at the start of the message). */
  readonly file: string;
  /** The field the error must name. */
  readonly field: string;
  /** Must match the problem part of the message. */
  readonly problem: RegExp;
  /** Must match the fix part of the message. */
  readonly fix: RegExp;
  /**
   * Whether the field name must appear in the message; false only for the documented
   * key-mismatch sentence, which names the key by its file ("the private key").
   * @default true
   */
  readonly fieldInMessage?: boolean;
}

/** Runs `fn`, asserts it throws a CertificateInputError as described, and returns the error. */
export function expectInputError(fn: () => unknown, expected: ExpectedInputError): CertificateInputError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(CertificateInputError);
  const error = thrown as CertificateInputError;
  expect(error.file).toBe(expected.file);
  expect(error.field).toBe(expected.field);
  expect(error.message.startsWith(`${expected.file}: `)).toBe(true);
  if (expected.fieldInMessage !== false) {
    expect(error.message).toContain(expected.field);
  }
  expect(error.problem).toMatch(expected.problem);
  expect(error.fix).toMatch(expected.fix);
  expect(error.message).toContain(`. Fix: ${error.fix}.`);
  return error;
}

/** The base64 body lines of every PEM block in `pem`, to prove they never leak. */
export function pemBodyLines(pem: string): string[] {
  return pem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith('-----') && !l.includes(':'));
}
