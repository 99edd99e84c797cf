/**
 * Judges found certificates against the thresholds at an injected time, sorts
 * them, and builds the report and its exit code.
 */
import { checkValidity } from '../../pki/validity';
import { ExitCode } from '../io';
import type { CertificateFacts, CertificateStatus, CheckedCertificate, CheckReport, FoundCertificate, InvalidCertificate, SourceResult } from './model';

const DAY_MS = 24 * 60 * 60 * 1000;

/** When to warn and when to alarm, as durations before notAfter. */
export interface Thresholds {
  /** Milliseconds before notAfter from which a certificate is `warn`. */
  readonly warnMs: number;
  /** Milliseconds before notAfter from which a certificate is `crit`. */
  readonly critMs: number;
  /** The values as the user wrote them (`28d`), for the report. */
  readonly warnText: string;
  readonly critText: string;
}

/**
 * The status of one certificate at `now`, with `lib/pki`'s rules (both ends
 * of the validity period inclusive): `notYetValid` before notBefore, `expired`
 * after notAfter, `crit` when at most `critMs` is left, `warn` when at most
 * `warnMs` is left, else `ok`.
 */
export function certificateStatus(notBefore: Date, notAfter: Date, now: Date, thresholds: Thresholds): CertificateStatus {
  const cert = { notBefore, notAfter };
  const crit = checkValidity(cert, { now, renewBefore: thresholds.critMs });
  switch (crit.status) {
    case 'not-yet-valid':
      return 'notYetValid';
    case 'expired':
      return 'expired';
    case 'renew':
      return 'crit';
    case 'valid':
      return checkValidity(cert, { now, renewBefore: thresholds.warnMs }).status === 'renew' ? 'warn' : 'ok';
  }
}

/** Whole days from `now` to `notAfter`, rounded down (negative once expired). */
export function daysLeft(notAfter: Date, now: Date): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
}

/** The report row of one certificate; `signedBy` is filled in by {@link linkIssuers}. */
export function checkCertificate(found: FoundCertificate, now: Date, thresholds: Thresholds, signedBy: CheckedCertificate['signedBy'] = null): CheckedCertificate {
  const info = found.facts;
  return {
    name: found.name,
    source: found.source,
    subject: info.subject,
    subjectCommonName: info.subjectCommonName ?? null,
    issuer: info.issuer,
    serialNumber: info.serialNumber,
    notBefore: info.notBefore.toISOString(),
    notAfter: info.notAfter.toISOString(),
    daysLeft: daysLeft(info.notAfter, now),
    status: certificateStatus(info.notBefore, info.notAfter, now, thresholds),
    isCA: info.isCA,
    selfSigned: info.selfSigned,
    keyType: info.keyType,
    sha256Fingerprint: info.sha256Fingerprint,
    dnsNames: [...info.dnsNames],
    ipAddresses: [...info.ipAddresses],
    signedBy,
  };
}

/**
 * For each certificate, the CA certificate among `found` that signed it:
 * a CA whose subject is the certificate's issuer (compared without case, as
 * OpenSSL compares names) and, when both carry key identifiers, whose
 * subjectKeyIdentifier is the certificate's authorityKeyIdentifier. When
 * several copies of that CA were found (`ca.crt` and every kubeconfig's
 * `certificate-authority-data`), a plain certificate file (a name without
 * `:`) wins over a kubeconfig or secret field, a file's first certificate
 * over a bundle's later ones, the same source over another, then the first
 * by source and name.
 * Self-signed certificates and certificates whose CA was not checked get null.
 */
export function linkIssuers(found: readonly FoundCertificate[]): Array<CheckedCertificate['signedBy']> {
  const cas = new Map<string, FoundCertificate[]>();
  for (const c of found) {
    if (!c.facts.isCA) continue;
    const key = c.facts.subject.toLowerCase();
    const list = cas.get(key);
    if (list) list.push(c);
    else cas.set(key, [c]);
  }
  for (const list of cas.values()) {
    list.sort((a, b) => rank(a) - rank(b) || (a.source < b.source ? -1 : a.source > b.source ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
  return found.map((c) => {
    if (c.facts.selfSigned) return null;
    const list = cas.get(c.facts.issuer.toLowerCase());
    if (!list) return null;
    // The list is sorted by rank first: the candidates of the best rank come first, so the walk
    // stops at the first of the same source, or where the rank gets worse (then the first candidate).
    let first: FoundCertificate | undefined;
    let best = 0;
    for (const ca of list) {
      if (ca === c || !keyIdsMatch(ca.facts, c.facts)) continue;
      if (first === undefined) {
        first = ca;
        best = rank(ca);
      } else if (rank(ca) !== best) {
        break;
      }
      if (ca.source === c.source) return { name: ca.name, source: ca.source };
    }
    return first ? { name: first.name, source: first.source } : null;
  });
}

/** 0 for the first certificate of a plain file (`ca.crt#1`), then later ones of bundles, then kubeconfig and secret fields. */
function rank(c: FoundCertificate): number {
  return (c.name.includes(':') ? 2 : 0) + (c.name.endsWith('#1') ? 0 : 1);
}

function keyIdsMatch(ca: CertificateFacts, leaf: CertificateFacts): boolean {
  return ca.subjectKeyId === undefined || leaf.authorityKeyId === undefined || ca.subjectKeyId === leaf.authorityKeyId;
}

/** Soonest notAfter first; ties by source, then name (`#2` before `#10`). */
export function compareCertificates(a: CheckedCertificate, b: CheckedCertificate): number {
  return compareKeys(sortKey(a), sortKey(b));
}

interface SortKey {
  readonly notAfter: number;
  readonly source: string;
  readonly base: string;
  readonly index: number;
}

function sortKey(c: CheckedCertificate): SortKey {
  const hash = c.name.lastIndexOf('#');
  const index = hash >= 0 ? Number(c.name.slice(hash + 1)) : NaN;
  return Number.isInteger(index)
    ? { notAfter: Date.parse(c.notAfter), source: c.source, base: c.name.slice(0, hash), index }
    : { notAfter: Date.parse(c.notAfter), source: c.source, base: c.name, index: 0 };
}

function compareKeys(a: SortKey, b: SortKey): number {
  if (a.notAfter !== b.notAfter) return a.notAfter - b.notAfter;
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  if (a.base !== b.base) return a.base < b.base ? -1 : 1;
  return a.index - b.index;
}

/** Sorts rows with {@link compareCertificates}, computing each row's key once. */
export function sortCertificates(rows: CheckedCertificate[]): CheckedCertificate[] {
  return rows
    .map((row) => ({ row, key: sortKey(row) }))
    .sort((x, y) => compareKeys(x.key, y.key))
    .map((x) => x.row);
}

/**
 * The report and exit code.
 *
 * Exit codes: 3 when any source could not be read (the table is still
 * printed: a partial view must not pass as a green run), else 2 when a
 * certificate is `crit`, `expired` or `notYetValid` or a file that should
 * hold a certificate is corrupt (`invalid`), else 1 when one is `warn`, else 0.
 */
export function buildReport(found: SourceResult, now: Date, thresholds: Thresholds): CheckReport {
  const issuers = linkIssuers(found.certificates);
  const certificates = sortCertificates(found.certificates.map((c, i) => checkCertificate(c, now, thresholds, issuers[i])));
  const invalid: InvalidCertificate[] = found.invalid
    .map((i) => ({ name: i.name, source: i.source, file: i.file, status: 'invalid' as const, message: i.message }))
    .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const counts = new Map<CertificateStatus, number>();
  for (const c of certificates) counts.set(c.status, (counts.get(c.status) ?? 0) + 1);
  const count = (s: CertificateStatus) => counts.get(s) ?? 0;
  const summary = {
    total: certificates.length,
    ok: count('ok'),
    warn: count('warn'),
    crit: count('crit'),
    expired: count('expired'),
    notYetValid: count('notYetValid'),
    invalid: invalid.length,
    skipped: found.skipped.length,
    errors: found.errors.length,
  };
  let status: CheckReport['status'];
  let exitCode: number;
  if (found.errors.length > 0) {
    status = 'error';
    exitCode = ExitCode.ERROR;
  } else if (summary.crit + summary.expired + summary.notYetValid + summary.invalid > 0) {
    status = 'crit';
    exitCode = ExitCode.CRIT;
  } else if (summary.warn > 0) {
    status = 'warn';
    exitCode = ExitCode.WARN;
  } else {
    status = 'ok';
    exitCode = ExitCode.OK;
  }
  return {
    now: now.toISOString(),
    thresholds: { warn: thresholds.warnText, crit: thresholds.critText },
    status,
    exitCode,
    summary,
    certificates,
    invalid,
    skipped: [...found.skipped],
    errors: [...found.errors],
  };
}
