/**
 * The data of `cert-rotation check`: what sources find, and what the report holds.
 */
import type { CertificateInfo } from '../../pki/certificate';
/**
 * What the report needs of a parsed certificate: `lib/pki`'s CertificateInfo
 * without the Node X509Certificate object, DER and PEM, so that thousands can
 * be held (and passed between worker threads) cheaply.
 */
export type CertificateFacts = Omit<CertificateInfo, 'pem' | 'der' | 'x509'> & {
  /** The subjectKeyIdentifier (lowercase hex), when the certificate has one: links a CA to what it signed. */
  readonly subjectKeyId?: string;
  /** The authorityKeyIdentifier's keyIdentifier (lowercase hex), when the certificate has one. */
  readonly authorityKeyId?: string;
};

/** A certificate found by a source, before it is judged against the thresholds. */
export interface FoundCertificate {
  /**
   * Where the certificate sits inside its source, with `#N` for the Nth
   * certificate (1-based) of the file, key or chain:
   * `ssl/kube-apiserver.pem#1`, `cattle-system/tls-ca:cacerts.pem#2`, `10.0.0.1:6443#1`.
   */
  readonly name: string;
  /** The source, as `kind:location`: `file:/etc/kubernetes/pki`, `secrets:prod`, `endpoint:10.0.0.1:6443`, `kubeconfig:/root/.kube/config`. */
  readonly source: string;
  /** The parsed certificate. */
  readonly facts: CertificateFacts;
}

/** Something a source looked at that is not a certificate (a key, a config file, random bytes). Not an error. */
export interface SkippedItem {
  /** The file path, or the name of the secret key or kubeconfig entry. */
  readonly name: string;
  /** The source it belongs to. */
  readonly source: string;
  /** Why it was skipped, e.g. `not a certificate (private key)`. */
  readonly reason: string;
}

/**
 * Something that should hold a certificate and does not hold a readable one:
 * a truncated PEM block, garbage after `-----BEGIN CERTIFICATE-----`, bad
 * DER, an empty `.crt`, a kubeconfig's `client-certificate-data` that is not
 * a certificate. A finding like an expired certificate (critical, exit 2),
 * not a failure of the tool.
 */
export interface InvalidItem {
  /** The report name, as a certificate of that file or field would be named, without `#N`. */
  readonly name: string;
  readonly source: string;
  /** The file (or secret, or kubeconfig field) the content came from. */
  readonly file: string;
  /** A sentence naming the file, what is wrong and the fix; never the content. */
  readonly message: string;
}

/** A source, or part of one, that could not be read: the run exits 3. */
export interface SourceError {
  /** The source, as `kind:location`. */
  readonly source: string;
  /** A sentence naming what could not be read and why. */
  readonly message: string;
}

/** What one source (or several) found. */
export interface SourceResult {
  readonly certificates: FoundCertificate[];
  readonly skipped: SkippedItem[];
  readonly errors: SourceError[];
  /** Files and fields that should hold a certificate and are corrupt. */
  readonly invalid: InvalidItem[];
}

/** An empty result, to append to. */
export function emptyResult(): SourceResult {
  return { certificates: [], skipped: [], errors: [], invalid: [] };
}

/** Appends `more` to `into` and returns `into`. */
export function mergeResults(into: SourceResult, more: SourceResult): SourceResult {
  // Loops, not push(...more): a source can return more items than a call takes arguments.
  for (const c of more.certificates) into.certificates.push(c);
  for (const s of more.skipped) into.skipped.push(s);
  for (const e of more.errors) into.errors.push(e);
  for (const i of more.invalid) into.invalid.push(i);
  return into;
}

/**
 * The verdict on one certificate at the time of the check.
 *
 * - `ok`: valid for at least the warning window
 * - `warn`: expires within the warning window (`--warn`)
 * - `crit`: expires within the critical window (`--crit`)
 * - `expired`: `notAfter` is past
 * - `notYetValid`: `notBefore` is still ahead
 */
export type CertificateStatus = 'ok' | 'warn' | 'crit' | 'expired' | 'notYetValid';

/** One row of the report. Field names are stable: scripts read them from `--output json|yaml`. */
export interface CheckedCertificate {
  readonly name: string;
  readonly source: string;
  /** The subject distinguished name on one line, RDNs separated by `, ` (e.g. `O=system:masters, CN=kube-admin`). */
  readonly subject: string;
  /** The subject's common name, or null when it has none. */
  readonly subjectCommonName: string | null;
  /** The issuer distinguished name on one line. */
  readonly issuer: string;
  /** Serial number in lowercase hex without colons, as `lib/pki` gives it. */
  readonly serialNumber: string;
  /** ISO 8601 (`2026-01-31T12:00:00.000Z`). */
  readonly notBefore: string;
  /** ISO 8601 (`2027-01-31T12:00:00.000Z`). */
  readonly notAfter: string;
  /** Whole days from the check's time to notAfter, rounded down; negative once expired. */
  readonly daysLeft: number;
  readonly status: CertificateStatus;
  /** True for CA certificates (basicConstraints CA:TRUE). */
  readonly isCA: boolean;
  readonly selfSigned: boolean;
  /** `RSA 2048`, `ECDSA P-256`, `Ed25519`, … */
  readonly keyType: string;
  /** SHA-256 of the DER, lowercase hex without colons. */
  readonly sha256Fingerprint: string;
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
  /**
   * The CA certificate of this report that signed this one (its issuer is
   * that CA's subject and, when both carry them, the key identifiers match),
   * as kubeadm's CERTIFICATE AUTHORITY column names it; null when self-signed
   * or when no checked certificate is its issuer.
   */
  readonly signedBy: { readonly name: string; readonly source: string } | null;
}

/** A file or field that should hold a certificate and is corrupt: a row of the report, critical. */
export interface InvalidCertificate {
  readonly name: string;
  readonly source: string;
  readonly file: string;
  readonly status: 'invalid';
  readonly message: string;
}

/** The whole report, as written by `--output json|yaml`. */
export interface CheckReport {
  /** The time the certificates were judged at (ISO 8601). */
  readonly now: string;
  /** The thresholds as given (`28d`, `14d`). */
  readonly thresholds: { readonly warn: string; readonly crit: string };
  /** `error` when a source could not be read, else the worst certificate's severity. */
  readonly status: 'ok' | 'warn' | 'crit' | 'error';
  /** The process's exit code. */
  readonly exitCode: number;
  readonly summary: {
    readonly total: number;
    readonly ok: number;
    readonly warn: number;
    readonly crit: number;
    readonly expired: number;
    readonly notYetValid: number;
    /** Files and fields that should hold a certificate and are corrupt (critical). */
    readonly invalid: number;
    readonly skipped: number;
    readonly errors: number;
  };
  /** Sorted by notAfter ascending (the soonest to expire first), then by source and name. */
  readonly certificates: CheckedCertificate[];
  /** Corrupt certificate files and fields, by source and name. */
  readonly invalid: InvalidCertificate[];
  readonly skipped: SkippedItem[];
  readonly errors: SourceError[];
}
