/**
 * Writes a check report as a table (for people), JSON or YAML (for scripts).
 */
import { yaml } from '../yaml';
import type { CheckReport } from './model';

/** The output formats of `--output`. */
export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The columns of the table of certificates that are not CAs (and of corrupt files), in order. */
export const TABLE_COLUMNS = ['NAME', 'SOURCE', 'SUBJECT', 'NOT AFTER', 'DAYS LEFT', 'STATUS', 'CERTIFICATE AUTHORITY', 'KEY TYPE'] as const;
/** The columns of the table of CA certificates, in order. */
export const CA_TABLE_COLUMNS = ['CERTIFICATE AUTHORITY', 'SOURCE', 'SUBJECT', 'NOT AFTER', 'DAYS LEFT', 'STATUS', 'SIGNED BY', 'KEY TYPE'] as const;

/** Formats the report; the text ends with a newline. */
export function formatReport(report: CheckReport, format: OutputFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'yaml':
      return yaml().stringify(report);
    case 'table':
      return formatTable(report);
  }
}

/**
 * Tables in the manner of `kubeadm certs check-expiration`: first the
 * certificates that are not CAs, with corrupt files (status `invalid`) at
 * the top and then the soonest expiry first, each naming the CA that signed
 * it; then the CA certificates; columns padded with spaces; then a summary line.
 *
 * CERTIFICATE AUTHORITY (SIGNED BY for CAs) names the checked CA certificate
 * that signed the row (see linkIssuers), `self-signed`, or, when the signing
 * CA was not among the checked certificates, the issuer's name (`CN=…`).
 */
export function formatTable(report: CheckReport): string {
  const leaves: string[][] = [[...TABLE_COLUMNS]];
  const cas: string[][] = [[...CA_TABLE_COLUMNS]];
  for (const i of report.invalid) {
    leaves.push([i.name, i.source, '-', '-', '-', 'invalid', '-', '-'].map(cell));
  }
  for (const c of report.certificates) {
    const signer = c.selfSigned ? 'self-signed' : c.signedBy ? c.signedBy.name : c.issuer;
    (c.isCA ? cas : leaves).push(
      [c.name, c.source, c.subject, c.notAfter.replace(/\.\d{3}Z$/, 'Z'), String(c.daysLeft), c.status, signer, c.keyType].map(cell),
    );
  }
  const blocks = [layout(leaves)];
  if (cas.length > 1) blocks.push(layout(cas));
  return blocks.join('\n') + '\n' + summaryLine(report) + '\n';
}

/** Pads the columns of rows (the first is the header); every line ends with a newline. */
function layout(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows.map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]))).join('   ').trimEnd() + '\n').join('');
}

/** `5 certificates: 1 expired, 1 crit (< 14d), 1 warn (< 28d), 2 ok; 3 skipped, 1 error` */
export function summaryLine(report: CheckReport): string {
  const s = report.summary;
  if (s.total === 0 && s.errors === 0 && s.invalid === 0) {
    return `no certificates found${s.skipped > 0 ? ` (${s.skipped} skipped: not certificates)` : ''}`;
  }
  const parts: string[] = [];
  if (s.invalid > 0) parts.push(`${s.invalid} invalid`);
  if (s.expired > 0) parts.push(`${s.expired} expired`);
  if (s.notYetValid > 0) parts.push(`${s.notYetValid} not yet valid`);
  if (s.crit > 0) parts.push(`${s.crit} crit (< ${report.thresholds.crit})`);
  if (s.warn > 0) parts.push(`${s.warn} warn (< ${report.thresholds.warn})`);
  parts.push(`${s.ok} ok`);
  const extra: string[] = [];
  if (s.skipped > 0) extra.push(`${s.skipped} skipped`);
  if (s.errors > 0) extra.push(`${s.errors} read error${s.errors === 1 ? '' : 's'}`);
  const noun = s.total === 1 ? 'certificate' : 'certificates';
  return `${s.total} ${noun}: ${parts.join(', ')}${extra.length > 0 ? `; ${extra.join(', ')}` : ''} (at ${report.now})`;
}

/** One line, no control characters: names and subjects come from files and clusters. */
function cell(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}
