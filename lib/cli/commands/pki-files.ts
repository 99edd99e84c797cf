/**
 * The files of `cert-rotation pki`: reading a CA directory, writing keys
 * (mode 0600, never printed) and certificates, and the lines that describe
 * what was written. Shared by the pki subcommands (pki.ts, pki-rollover.ts).
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { CertificateInfo, describeCertificate, describeKeyType, parseCertificate, parseCertificates } from '../../pki/certificate';
import { verifyCaBundle } from '../../pki/chain';
import { CertificateInputError } from '../../pki/errors';
import { keyMatchesCertificate, parsePrivateKey } from '../../pki/private-key';
import { DAY_MS, formatIsoSeconds } from '../../pki/validity';

/** How long before now a new certificate starts, for clocks that lag. */
export const BACKDATE_MS = 5 * 60 * 1000;

/** A CA directory, or a file the command cannot use or write: exit 3 with the message. */
export class PkiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PkiError';
    Object.setPrototypeOf(this, PkiError.prototype);
  }
}

/** A CA read from a directory `pki ca` wrote. */
export interface CaDirectory {
  readonly certPem: string;
  readonly keyPem: string;
  readonly cert: CertificateInfo;
  /** The CA, then its issuers up to the root (cacerts.pem; just the CA without one). */
  readonly bundle: CertificateInfo[];
}

/**
 * Reads and checks the CA in `dir`: a CA certificate whose RSA key is in
 * ca.key, valid now, with cacerts.pem (when present) starting with it.
 */
export async function readCaDirectory(dir: string, option: string, now: Date): Promise<CaDirectory> {
  const certFile = path.join(dir, 'ca.crt');
  const keyFile = path.join(dir, 'ca.key');
  const bundleFile = path.join(dir, 'cacerts.pem');
  const make = `a CA directory holds ca.crt and ca.key; make one with \`cert-rotation pki ca --out ${dir}\` or pass another ${option}`;
  const certPem = await readText(certFile, `${option} ${dir}: `, make);
  const keyPem = await readText(keyFile, `${option} ${dir}: `, make);
  try {
    const cert = parseCertificate(certPem, certFile, 'ca.crt');
    const key = parsePrivateKey(keyPem, keyFile, 'ca.key');
    if (!cert.isCA) {
      throw new PkiError(`${certFile}: ${describeCertificate(cert)} is not a CA certificate (basicConstraints lacks CA:TRUE); ${make}`);
    }
    if (!keyMatchesCertificate(key, cert)) {
      throw new PkiError(`${keyFile}: the private key does not belong to ${certFile}; put the key of that CA certificate in ca.key, or ${make}`);
    }
    if (key.asymmetricKeyType !== 'rsa') {
      throw new PkiError(`${keyFile}: the CA key is ${describeKeyType(key)}, and cert-rotation pki signs with RSA CAs only; issue an RSA CA with \`cert-rotation pki ca\``);
    }
    if (cert.notAfter.getTime() <= now.getTime()) {
      throw new PkiError(`${certFile}: ${describeCertificate(cert)} expired at ${formatIsoSeconds(cert.notAfter)}; renew the CA, or pass another ${option}`);
    }
    const bundleText = await readText(bundleFile, '', '', true);
    const bundle = bundleText === undefined ? [cert] : parseCertificates(bundleText, bundleFile, 'cacerts.pem');
    if (bundle[0].sha256Fingerprint !== cert.sha256Fingerprint) {
      throw new PkiError(`${bundleFile}: the first certificate is ${describeCertificate(bundle[0])}, not ${describeCertificate(cert)} of ca.crt; cacerts.pem must start with the CA itself, then its issuers up to the root`);
    }
    verifyCaBundle(bundle, bundleFile);
    return { certPem, keyPem, cert, bundle };
  } catch (err) {
    if (err instanceof CertificateInputError) {
      throw new PkiError(err.message);
    }
    throw err;
  }
}

/** Runs `f`, turning a certificate input error into a PkiError (exit 3 with its message). */
export function pkiInput<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    if (err instanceof CertificateInputError) throw new PkiError(err.message);
    throw err;
  }
}

/** Reads a text file; a missing file is undefined when `optional`, else a PkiError. */
export async function readText(file: string, prefix: string, fix: string, optional: true): Promise<string | undefined>;
export async function readText(file: string, prefix: string, fix: string): Promise<string>;
export async function readText(file: string, prefix: string, fix: string, optional = false): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && optional) return undefined;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${(err as Error).message})`;
    throw new PkiError(`${prefix}${file} ${why}${fix ? `; ${fix}` : ''}`);
  }
}

/** One file to write. */
export interface OutputFile {
  readonly file: string;
  readonly text: string;
  /** A private key: mode 0600, never printed. */
  readonly secret: boolean;
}

/** Fails, before anything is issued, when an output exists and --force is not given. */
export async function refuseExisting(files: readonly string[], force: boolean): Promise<void> {
  if (force) return;
  for (const file of files) {
    const stat = await fs.lstat(file).catch(() => undefined);
    if (stat) {
      const what = file.endsWith('.key') ? 'a private key that would be lost' : 'a file';
      throw new PkiError(`${file} exists (${what}); pass --force to replace it, or choose another --out`);
    }
  }
}

/** Creates `dir` and writes the files, keys first with mode 0600; replaces files only with --force. */
export async function writeFiles(dir: string, files: readonly OutputFile[], force: boolean): Promise<void> {
  await fs.mkdir(dir, { recursive: true }).catch((err: NodeJS.ErrnoException) => {
    throw new PkiError(`--out ${dir} cannot be created (${err.code === 'EEXIST' || err.code === 'ENOTDIR' ? 'a file is in the way' : err.message}); pass a directory`);
  });
  for (const out of [...files].sort((a, b) => Number(b.secret) - Number(a.secret))) {
    try {
      if (force) await fs.rm(out.file, { force: true });
      // 'wx': never through an existing file or link; the mode applies to the new file.
      await fs.writeFile(out.file, out.text, { flag: 'wx', mode: out.secret ? 0o600 : 0o644 });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EEXIST' ? 'appeared while writing; pass --force to replace it' : e.code === 'EACCES' ? 'cannot be written (permission denied)' : `cannot be written (${e.message})`;
      throw new PkiError(`${out.file} ${why}`);
    }
  }
}

/** The lines that describe a certificate written: subject, issuer, names, validity, fingerprint. */
export function describeWritten(cert: CertificateInfo): string[] {
  const names = [...cert.dnsNames.map((n) => `DNS:${n}`), ...cert.ipAddresses.map((ip) => `IP:${ip}`)];
  return [
    `  subject    ${cert.subject}`,
    `  issuer     ${cert.selfSigned ? `${cert.issuer} (self-signed)` : cert.issuer}`,
    ...(names.length > 0 ? [`  names      ${names.join(', ')}`] : []),
    `  notBefore  ${formatIsoSeconds(cert.notBefore)}`,
    `  notAfter   ${formatIsoSeconds(cert.notAfter)}`,
    `  sha256     ${cert.sha256Fingerprint}`,
  ];
}

export function keyLine(file: string, keyPem: string): string {
  return `wrote ${file}: private key, ${describeKeyType(parsePrivateKey(keyPem, file))}, mode 0600`;
}

/** The validity of a new certificate: from a few minutes ago for `days` days, within the issuer's. */
export function validity(now: Date, days: number, issuer?: CertificateInfo, issuerOption?: string): { notBefore: Date; notAfter: Date } {
  const notAfter = new Date(now.getTime() + days * DAY_MS);
  if (issuer && notAfter.getTime() > issuer.notAfter.getTime()) {
    const left = Math.floor((issuer.notAfter.getTime() - now.getTime()) / DAY_MS);
    throw new PkiError(
      `--days ${days} would end at ${formatIsoSeconds(notAfter)}, after the issuing CA ${describeCertificate(issuer)} of ${issuerOption} (notAfter ${formatIsoSeconds(issuer.notAfter)}); ` +
        (left >= 1 ? `pass --days ${left} or less, or renew the CA first` : 'renew the CA first'),
    );
  }
  return { notBefore: new Date(now.getTime() - BACKDATE_MS), notAfter };
}

/** Writes each file beside its target and renames it into place, keys first (mode 0600). */
export async function replaceFiles(files: readonly OutputFile[]): Promise<void> {
  const ordered = [...files].sort((a, b) => Number(b.secret) - Number(a.secret));
  const temps = ordered.map((f) => `${f.file}.new-${process.pid}`);
  try {
    for (const [i, out] of ordered.entries()) {
      await fs.writeFile(temps[i], out.text, { flag: 'wx', mode: out.secret ? 0o600 : 0o644 });
    }
    for (const [i, out] of ordered.entries()) await fs.rename(temps[i], out.file);
  } catch (err) {
    await Promise.all(temps.map((t) => fs.rm(t, { force: true })));
    const e = err as NodeJS.ErrnoException;
    throw new PkiError(`${e.path ?? 'a file'} cannot be written (${e.code === 'EACCES' ? 'permission denied' : e.message}); nothing was replaced`);
  }
}

/** A subject attribute of `cert` (CN, O, …) as Node prints it, or undefined. */
export function subjectField(cert: CertificateInfo, key: string): string | undefined {
  return cert.x509.subject.split('\n').find((l) => l.startsWith(`${key}=`))?.slice(key.length + 1);
}

/** The RSA key size a re-issued certificate keeps: the old one's, at least 2048 (2048 for a non-RSA key). */
export function keptKeyBits(cert: CertificateInfo): number {
  const modulus = cert.x509.publicKey.asymmetricKeyDetails?.modulusLength;
  return cert.x509.publicKey.asymmetricKeyType === 'rsa' && modulus !== undefined && modulus >= 2048 ? modulus : 2048;
}

/** The lifetime in whole days (at least 1) that `pki` gave `cert`, without its backdating. */
export function lifetimeDays(cert: CertificateInfo): number {
  return Math.max(1, Math.round((cert.notAfter.getTime() - cert.notBefore.getTime() - BACKDATE_MS) / DAY_MS));
}
