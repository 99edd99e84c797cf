/**
 * Writes a check report as a table (for people), JSON or YAML (for scripts).
 */
import { stringify as toYaml } from 'yaml';
import type { CheckReport } from './model';

/** The output formats of `--output`. */
export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The table's columns, in order. */
export const TABLE_COLUMNS = ['NAME', 'SOURCE', 'SUBJECT', 'ISSUER', 'NOT AFTER', 'DAYS LEFT', 'CA/LEAF', 'KEY TYPE'] as const;

/** Formats the report; the text ends with a newline. */
export function formatReport(report: CheckReport, format: OutputFormat): string {
  switch (format) {
    case 'json':
      return JSON.stringify(report, null, 2) + '\n';
    case 'yaml':
      return toYaml(report);
    case 'table':
      return formatTable(report);
  }
}

/**
 * A table in the manner of `kubeadm certs check-expiration`: one row per
 * certificate, soonest expiry first, columns padded with spaces, then a
 * summary line.
 */
export function formatTable(report: CheckReport): string {
  const rows: string[][] = [[...TABLE_COLUMNS]];
  for (const c of report.certificates) {
    rows.push([
      c.name,
      c.source,
      c.subject,
      c.issuer,
      c.notAfter.replace(/\.\d{3}Z$/, 'Z'),
      String(c.daysLeft),
      c.isCA ? 'CA' : 'leaf',
      c.keyType,
    ].map(cell));
  }
  const widths = TABLE_COLUMNS.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]))).join('   ').trimEnd());
  return lines.join('\n') + '\n\n' + summaryLine(report) + '\n';
}

/** `5 certificates: 1 expired, 1 crit (< 14d), 1 warn (< 28d), 2 ok; 3 skipped, 1 error` */
export function summaryLine(report: CheckReport): string {
  const s = report.summary;
  if (s.total === 0 && s.errors === 0) {
    return `no certificates found${s.skipped > 0 ? ` (${s.skipped} skipped: not certificates)` : ''}`;
  }
  const parts: string[] = [];
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
