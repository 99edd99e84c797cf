/**
 * `cert-rotation check`: list certificates from files, node presets,
 * kubeconfigs, cluster secrets and TLS endpoints by expiry, and exit by the
 * worst one (0 ok, 1 warn, 2 crit or invalid, 3 usage or read error).
 */
import { DurationFormatError } from '../../pki/errors';
import { parseDuration } from '../../pki/validity';
import { buildReport, Thresholds } from '../check/evaluate';
import { formatReport, OUTPUT_FORMATS, OutputFormat } from '../check/format';
import { emptyResult, mergeResults, SourceResult } from '../check/model';
import { parseEndpoint, scanEndpoint, Endpoint } from '../check/sources/endpoint';
import { PathSpec, scanPaths } from '../check/sources/files';
import { scanKubeconfig } from '../check/sources/kubeconfig';
import { PRESET_NAMES, PRESETS, presetPaths } from '../check/sources/presets';
import { kubernetesSecretLister, scanSecrets } from '../check/sources/secrets';
import { CliIo, Command, defineCommand, parseCommandArgs, UsageError } from '../io';

const presetList = PRESET_NAMES.map((n) => `${n}: ${PRESETS[n].description}`);

export const CHECK_HELP = `Usage: cert-rotation check [PATH...] [options]

List certificates by expiry, soonest first, and exit by the worst one.

Sources (any mix, at least one):
  PATH...                   PEM (or DER) certificate files and directories;
                            directories are walked recursively
  -f, --file PATH           same as a PATH argument (repeatable)
  -p, --preset NAME         a node's certificates and kubeconfigs (repeatable):
                              ${presetList.join('\n                              ')}
      --root DIR            look for preset paths below DIR (a tree copied off a node);
                            kubeconfigs' absolute references are read below DIR too
      --kubeconfig FILE     the client certificates and cluster CAs in FILE
                            (client-certificate[-data], certificate-authority[-data]);
                            with --secrets, FILE only selects the cluster to read
      --secrets             the certificates in the cluster's secrets: every
                            kubernetes.io/tls secret (tls.crt, ca.crt), tls-ca
                            (cacerts.pem) and rke2-serving (tls.crt)
      --context NAME        kubeconfig context for --secrets (default: current context)
  -n, --namespace NS        only this namespace for --secrets (default: all)
  -e, --endpoint HOST:PORT  the chain a TLS endpoint serves, unverified (repeatable;
                            port 443 when omitted; [::1]:6443 for IPv6)

Options:
  -o, --output FORMAT       table (default), json or yaml
      --warn DURATION       warn when at most this is left (default 28d)
      --crit DURATION       critical when at most this is left (default 14d)
      --now TIME            judge at this ISO 8601 time instead of the clock,
                            e.g. 2027-01-01 or 2027-01-01T08:00:00Z (what-if runs)
      --timeout DURATION    per TLS connection and API request (default 10s)
  -h, --help                show this help

DURATION is a whole number and a unit: ms, s, m, h, d or w (28d, 12h, 2w).

Names: files: the path relative to the directory given (the base name for a
file given directly) and #N for the Nth certificate in it, e.g. etcd/server.crt#1;
kubeconfigs found in a directory (*.conf, *.kubeconfig, kubeconfig, kubecfg-*.yaml,
any YAML with kind: Config): FILE:users/NAME:client-certificate-data#N,
FILE:clusters/NAME:certificate-authority-data#N (or the client-certificate /
certificate-authority file they reference); --kubeconfig: the same without FILE:;
secrets: namespace/name:key#N; endpoints: host:port#N (#1 is the leaf).

The table lists the certificates that are not CAs, then the CAs; CERTIFICATE
AUTHORITY names the checked CA certificate that signed each row (its issuer's
name when that CA was not checked), as kubeadm certs check-expiration does.

Files in a directory that hold no certificate (keys, JSON, binary) are reported
on stderr as "skipped FILE: not a certificate" and do not change the exit code.
A file or field that should hold a certificate and is corrupt (a truncated PEM
block, garbage after -----BEGIN CERTIFICATE-----, bad DER; an empty or garbled
.crt, .cer, .der or .pem without "key" in its name; a kubeconfig's certificate
data) is a finding: a row with STATUS invalid, critical. Private keys are never
parsed or printed.

Exit codes (the highest that applies wins):
  3  wrong usage, nothing is checked; or a source could not be read at all
     (missing path, permission denied, a referenced file missing, a file given
     directly that is no certificate, a --kubeconfig that is not YAML,
     unreachable cluster or endpoint): the report still lists everything that
     was read and the errors follow on stderr, but a partial check never
     passes for a complete one
  2  a certificate has at most --crit left, has expired or is not yet valid,
     or a certificate file is invalid (corrupt)
  1  a certificate has at most --warn left
  0  every certificate has more than --warn left

Examples:
  cert-rotation check --preset rke2-server
  cert-rotation check --preset kubeadm --root /backup/cp-1 --output json
  cert-rotation check --preset rke2-server --preset rke2-agent
  cert-rotation check --kubeconfig ~/.kube/config
  cert-rotation check --secrets --context prod --namespace cattle-system
  cert-rotation check --endpoint rancher.example.com:443 --warn 60d --crit 30d
`;

/** The parsed command line of `check`. */
export interface CheckOptions {
  readonly paths: PathSpec[];
  readonly kubeconfig?: string;
  readonly secrets: boolean;
  readonly context?: string;
  readonly namespace?: string;
  readonly endpoints: Endpoint[];
  readonly output: OutputFormat;
  readonly thresholds: Thresholds;
  readonly now: Date;
  readonly timeoutMs: number;
}

/**
 * Parses `check`'s arguments.
 *
 * @param clock the time to use when `--now` is absent
 * @throws UsageError naming the option, the value and the rule
 */
export function parseCheckArgs(args: readonly string[], clock: () => Date = () => new Date()): CheckOptions | 'help' {
  if (args.includes('--help') || args.includes('-h')) {
    return 'help';
  }
  const parsed = parseCommandArgs(args, {
    file: { type: 'string', short: 'f', multiple: true },
    preset: { type: 'string', short: 'p', multiple: true },
    root: { type: 'string' },
    kubeconfig: { type: 'string' },
    secrets: { type: 'boolean' },
    context: { type: 'string' },
    namespace: { type: 'string', short: 'n' },
    endpoint: { type: 'string', short: 'e', multiple: true },
    output: { type: 'string', short: 'o' },
    warn: { type: 'string' },
    crit: { type: 'string' },
    now: { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const v = parsed.values;

  const paths: PathSpec[] = [...parsed.positionals, ...(v.file ?? [])].map((p) => {
    if (p === '') throw new UsageError('an empty path was given');
    return { path: p, recursive: true };
  });
  try {
    paths.push(...presetPaths(v.preset ?? [], v.root));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (v.root !== undefined && (v.preset ?? []).length === 0) {
    throw new UsageError('--root only applies to --preset directories; pass --preset, or give the directory as a PATH');
  }
  if (!v.secrets) {
    if (v.context !== undefined) throw new UsageError('--context only applies to --secrets; add --secrets');
    if (v.namespace !== undefined) throw new UsageError('--namespace only applies to --secrets; add --secrets');
  }
  const endpoints = (v.endpoint ?? []).map((e) => {
    try {
      return parseEndpoint(e);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  });
  if (paths.length === 0 && v.kubeconfig === undefined && !v.secrets && endpoints.length === 0) {
    throw new UsageError('no source given; pass a PATH, --preset, --kubeconfig, --secrets or --endpoint');
  }

  const output = (v.output ?? 'table') as OutputFormat;
  if (!OUTPUT_FORMATS.includes(output)) {
    throw new UsageError(`--output '${v.output}' is not a format; use one of: ${OUTPUT_FORMATS.join(', ')}`);
  }
  const warnText = v.warn ?? '28d';
  const critText = v.crit ?? '14d';
  const warnMs = duration(warnText, '--warn');
  const critMs = duration(critText, '--crit');
  if (warnMs < critMs) {
    throw new UsageError(`--warn (${warnText}) must be at least --crit (${critText}); warn earlier than you alarm`);
  }
  const timeoutMs = duration(v.timeout ?? '10s', '--timeout');
  if (timeoutMs <= 0) {
    throw new UsageError(`--timeout (${v.timeout}) must be longer than 0`);
  }
  return {
    paths,
    kubeconfig: v.kubeconfig,
    secrets: v.secrets ?? false,
    context: v.context,
    namespace: v.namespace,
    endpoints,
    output,
    thresholds: { warnMs, critMs, warnText, critText },
    now: v.now === undefined ? clock() : parseNow(v.now),
    timeoutMs,
  };
}

function duration(value: string, option: string): number {
  try {
    return parseDuration(value, option);
  } catch (err) {
    if (err instanceof DurationFormatError) {
      throw new UsageError(`${option} '${value}' is not a duration; use a whole number and a unit (ms, s, m, h, d, w), e.g. 28d`);
    }
    throw err;
  }
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/** Reads `--now`: a date (midnight UTC) or a date-time with a zone. */
export function parseNow(value: string): Date {
  if (/^\d{4}-\d{2}-\d{2}T[^Z+-]*$/.test(value)) {
    throw new UsageError(`--now '${value}' has no time zone; add Z (UTC) or an offset such as +08:00`);
  }
  const ms = ISO_8601.test(value) && validCalendarDate(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new UsageError(`--now '${value}' is not an ISO 8601 time; use e.g. 2027-01-01 or 2027-01-01T08:00:00Z`);
  }
  return new Date(ms);
}

/** Date.parse rolls 2027-02-31 over to March; reject days the month does not have. */
function validCalendarDate(value: string): boolean {
  const [y, m, d] = value.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** Reads every source; sources are read in parallel, results kept in a fixed order. */
export async function collect(options: CheckOptions): Promise<SourceResult> {
  const tasks: Array<Promise<SourceResult>> = [];
  if (options.paths.length > 0) {
    tasks.push(scanPaths(options.paths));
  }
  if (options.kubeconfig !== undefined && !options.secrets) {
    tasks.push(scanKubeconfig(options.kubeconfig));
  }
  if (options.secrets) {
    tasks.push(readSecrets(options));
  }
  for (const endpoint of options.endpoints) {
    tasks.push(scanEndpoint(endpoint, { timeoutMs: options.timeoutMs }));
  }
  const results = await Promise.all(tasks);
  return results.reduce(mergeResults, emptyResult());
}

async function readSecrets(options: CheckOptions): Promise<SourceResult> {
  let lister;
  try {
    lister = await kubernetesSecretLister({ kubeconfig: options.kubeconfig, context: options.context, timeoutMs: options.timeoutMs });
  } catch (err) {
    const source = `secrets:${options.context ?? options.kubeconfig ?? 'default'}`;
    return { certificates: [], skipped: [], errors: [{ source, message: (err as Error).message }], invalid: [] };
  }
  return scanSecrets(lister, { namespace: options.namespace });
}

/** Runs `check` with parsed options: writes the report and diagnostics, returns the exit code. */
export async function runCheck(options: CheckOptions, io: CliIo): Promise<number> {
  const found = await collect(options);
  const report = buildReport(found, options.now, options.thresholds);
  io.stdout.write(formatReport(report, options.output));
  for (const s of report.skipped) {
    io.stderr.write(`skipped ${s.name}: ${s.reason}\n`);
  }
  for (const i of report.invalid) {
    io.stderr.write(`invalid: ${i.message}\n`);
  }
  for (const e of report.errors) {
    io.stderr.write(`error: ${e.message}\n`);
  }
  return report.exitCode;
}

export const checkCommand: Command = defineCommand({
  name: 'check',
  summary: 'list certificates (files, presets, kubeconfig, secrets, endpoints) by expiry; exit 0 ok, 1 warn, 2 crit or invalid, 3 error',
  help: CHECK_HELP,
  parse: parseCheckArgs,
  execute: runCheck,
});
