/**
 * The certificates of every test, made at test time (no key is committed):
 *
 * - in process, with the package's own issuer (lib/pki generateCa and
 *   generateLeaf, RSA): a private CA as Rancher's docs expect it (a root and
 *   an intermediate that signs servers), server certificates, and the three
 *   files Rancher's certificate update takes (tls.crt, tls.key, cacerts.pem);
 * - with the real openssl CLI (./openssl, exported from here): known-answer
 *   fixtures of every key type with exact dates, and openssl's own view of a
 *   certificate to compare lib/pki with;
 * - the assertions the tests share about certificate errors and key leaks.
 *
 * Tests import all of it from this module.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CertificateInputError, generateCa, generateLeaf, IssuedCertificate } from '../../lib/pki';
import { addDays } from './openssl';

export * from './openssl';

/** A private CA: a root and an intermediate that signs server certificates. */
export interface PrivateCa {
  readonly root: IssuedCertificate;
  readonly intermediate: IssuedCertificate;
}

/** Validity of fixtures: fixed dates, or dates relative to `now` (the clock by default). */
export interface FixtureValidity {
  /**
   * The time the defaults count from.
   * @default the clock
   */
  readonly now?: Date;
  /**
   * Start of the validity.
   * @default a day before now
   */
  readonly notBefore?: Date;
  /**
   * End of the validity.
   * @default - see each function
   */
  readonly notAfter?: Date;
}

/**
 * A root `<name> Root CA` and an intermediate `<name> Intermediate CA`
 * (pathlen 0) that it signs, without O. Both end at `notAfter` when given;
 * else the root 3650 and the intermediate 1825 days after now.
 */
export function makePrivateCa(name: string, validity: FixtureValidity = {}): PrivateCa {
  const now = validity.now ?? new Date();
  const notBefore = validity.notBefore ?? addDays(now, -1);
  const root = generateCa({ commonName: `${name} Root CA`, notBefore, notAfter: validity.notAfter ?? addDays(now, 3650) });
  const intermediate = generateCa({
    commonName: `${name} Intermediate CA`,
    notBefore,
    notAfter: validity.notAfter ?? addDays(now, 1825),
    issuer: root,
    pathLength: 0,
  });
  return { root, intermediate };
}

/** Options of {@link issueServerCertificate}. */
export interface ServerCertificateOptions extends FixtureValidity {
  /**
   * Lifetime in days from now, when `notAfter` is not given.
   * @default 365
   */
  readonly days?: number;
  /**
   * Certify this key (PEM) instead of a new one.
   * @default - a new RSA 2048 key
   */
  readonly keyPem?: string;
}

/** A server certificate for `hostname` (its CN and only DNS name), signed by the CA's intermediate. */
export function issueServerCertificate(ca: PrivateCa, hostname: string, options: ServerCertificateOptions = {}): IssuedCertificate {
  const now = options.now ?? new Date();
  return generateLeaf({
    commonName: hostname,
    dnsNames: [hostname],
    notBefore: options.notBefore ?? addDays(now, -1),
    notAfter: options.notAfter ?? addDays(now, options.days ?? 365),
    issuer: ca.intermediate,
    keyPem: options.keyPem,
  });
}

/** The files of Rancher's certificate update as {@link writeRancherFiles} wrote them, and their text. */
export interface RancherFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly caFile: string;
  readonly keyPem: string;
  readonly chainPem: string;
  readonly caPem: string;
}

/**
 * Writes the three files of Rancher's certificate update into `dir`: tls.crt (leaf, intermediate),
 * tls.key (mode 0600) and cacerts.pem (intermediate, root). The leaf is
 * `options.leaf`, or a server certificate for `hostname` issued with `options`.
 */
export function writeRancherFiles(
  dir: string,
  ca: PrivateCa,
  hostname: string,
  options: ServerCertificateOptions & { readonly leaf?: IssuedCertificate } = {},
): RancherFiles {
  fs.mkdirSync(dir, { recursive: true });
  const leaf = options.leaf ?? issueServerCertificate(ca, hostname, options);
  const chainPem = leaf.certPem + ca.intermediate.certPem;
  const caPem = ca.intermediate.certPem + ca.root.certPem;
  const files = {
    certFile: path.join(dir, 'tls.crt'),
    keyFile: path.join(dir, 'tls.key'),
    caFile: path.join(dir, 'cacerts.pem'),
  };
  fs.writeFileSync(files.certFile, chainPem);
  fs.writeFileSync(files.keyFile, leaf.keyPem, { mode: 0o600 });
  fs.writeFileSync(files.caFile, caPem);
  return { ...files, keyPem: leaf.keyPem, chainPem, caPem };
}

/** A fresh temporary directory for a test's files; remove it with {@link removeDir}. */
export function tempDir(prefix = 'cert-rotation-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}

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

/**
 * The base64 body lines of every PEM block in `pem` (at least 16 characters,
 * so that a short last line cannot match by chance), to prove they never leak.
 */
export function pemBodyLines(pem: string): string[] {
  return pem
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length >= 16 && !l.startsWith('-----') && !l.includes(':'));
}
