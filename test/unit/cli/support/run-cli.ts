/**
 * Runs the `cert-rotation` tool in-process and captures what it writes.
 */
import { run } from '../../../../lib/cli/main';

/** What one run printed and returned. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `cert-rotation <argv…>` through the exported `run()`. */
export async function runCli(...argv: string[]): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
  });
  return { code, stdout, stderr };
}

/** The JSON report of a run (`--output json`). */
export function report(result: CliResult): JsonReport {
  try {
    return JSON.parse(result.stdout) as JsonReport;
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}):\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
}

/** The report's shape, as scripts read it. */
export interface JsonReport {
  now: string;
  thresholds: { warn: string; crit: string };
  status: 'ok' | 'warn' | 'crit' | 'error';
  exitCode: number;
  summary: Record<'total' | 'ok' | 'warn' | 'crit' | 'expired' | 'notYetValid' | 'invalid' | 'skipped' | 'errors', number>;
  certificates: Array<{
    name: string;
    source: string;
    subject: string;
    subjectCommonName: string | null;
    issuer: string;
    serialNumber: string;
    notBefore: string;
    notAfter: string;
    daysLeft: number;
    status: 'ok' | 'warn' | 'crit' | 'expired' | 'notYetValid';
    isCA: boolean;
    selfSigned: boolean;
    keyType: string;
    sha256Fingerprint: string;
    dnsNames: string[];
    ipAddresses: string[];
    signedBy: { name: string; source: string } | null;
  }>;
  invalid: Array<{ name: string; source: string; file: string; status: 'invalid'; message: string }>;
  skipped: Array<{ name: string; source: string; reason: string }>;
  errors: Array<{ source: string; message: string }>;
}
