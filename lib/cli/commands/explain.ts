/**
 * `cert-rotation explain <plan.json>`: what a Terraform plan rotates, for
 * review: certificates old → new, agents, restarts per cluster, commands in
 * order, Helm values, and anything destroyed.
 */
import { promises as fs } from 'fs';
import { explainPlan } from '../explain/analyze';
import { EXPLAIN_FORMATS, ExplainFormat } from '../explain/format';
import { formatMarkdown } from '../explain/format-markdown';
import { formatText } from '../explain/format-text';
import type { Explanation } from '../explain/model';
import { parsePlan, PlanReadError, PRODUCE_PLAN_JSON } from '../explain/plan-json';
import { CliIo, Command, defineCommand, ExitCode, parseCommandArgs, UsageError } from '../io';

export const EXPLAIN_HELP = `Usage: cert-rotation explain <plan.json | -> [options]

Summarize what a Terraform plan rotates, for review in a pull request. Reads
the JSON form of a saved plan and lists:

  - certificates the plan changes (the Secrets cert-rotation's steps write,
    or Secrets annotated by cert-rotation): SHA-256 fingerprint, issuer and
    expiry old → new, and serial, SANs and chain when they change; CA bundles
    (tls-ca): CA fingerprints, CATTLE_CA_CHECKSUM and expiry old → new
  - agents whose CATTLE_CA_CHECKSUM changes, per cluster (agents steps, or
    kubernetes_env)
  - workloads that will restart, per cluster (restart steps, or
    kubernetes_annotations setting cert-rotation.io/trust-sha256)
  - commands that will run (local-exec and remote-exec provisioners of
    resources created or replaced), where and in which order; each
    cert-rotation step is described (e.g. the GATE before the agents)
  - Helm release values that change (helm_release set entries) old → new
  - steps no longer in the configuration: listed as no longer managed
    (removing a step changes nothing in the cluster)
  - anything destroyed or replaced, flagged with "!! DESTROYS" (text) or a
    warning block (markdown)

A plan without changes prints "nothing to rotate".

Produce the input in the stack's directory (cdktf.out/stacks/<stack> for cdktf):
  terraform plan -out=tfplan
  terraform show -json tfplan > plan.json

Arguments:
  plan.json            the output of \`terraform show -json tfplan\`; - reads it from stdin

Options:
      --format FORMAT  text (default) or markdown (a pull-request comment)
  -h, --help           show this help

A step names its cluster itself (server, or the downstream cluster's name).
Provider resources are named after the alias of their provider configuration
(kubernetes.downstream_2 → downstream_2); those of the default provider are
on "server". The kubeconfig context is shown when the plan holds it.

Secret values are never printed: the data of Secrets (data, data_wo,
binary_data) is not read, and whatever the plan marks sensitive is shown as
(sensitive); \`terraform show -json\` itself prints sensitive values in clear.

Terraform's plan JSON holds neither connection blocks nor \`when = destroy\`:
the node of a remote-exec step is taken from the keys node, host and port of
the resource's input or triggers_replace when present, and commands are listed
for resources that are created or replaced.

Exit codes:
  0  the plan was explained, or it has nothing to rotate
  3  wrong usage; or the plan could not be read, is not JSON, or is not a
     Terraform plan in JSON

Examples:
  cert-rotation explain plan.json
  terraform show -json tfplan | cert-rotation explain - --format markdown > comment.md
`;

/** The parsed command line of `explain`. */
export interface ExplainOptions {
  /** The file to read, or `-` for stdin. */
  readonly plan: string;
  readonly format: ExplainFormat;
}

/** A readable stream such as process.stdin. */
export interface InputStream extends AsyncIterable<Buffer | string> {
  readonly isTTY?: boolean;
}

/** What `explain` may read besides files: stdin (process.stdin when absent). */
export interface ExplainIo extends CliIo {
  readonly stdin?: InputStream;
}

/**
 * Parses `explain`'s arguments.
 *
 * @throws UsageError naming the option, the value and the rule
 */
export function parseExplainArgs(args: readonly string[]): ExplainOptions | 'help' {
  if (args.includes('--help') || args.includes('-h')) {
    return 'help';
  }
  const parsed = parseCommandArgs(args, {
    format: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  const format = (parsed.values.format ?? 'text') as ExplainFormat;
  if (!EXPLAIN_FORMATS.includes(format)) {
    throw new UsageError(`--format '${parsed.values.format}' is not a format; use one of: ${EXPLAIN_FORMATS.join(', ')}`);
  }
  if (parsed.positionals.length === 0) {
    throw new UsageError(`no plan given; pass the plan JSON file, or - for stdin (${PRODUCE_PLAN_JSON})`);
  }
  if (parsed.positionals.length > 1) {
    throw new UsageError(`one plan at a time: got ${parsed.positionals.length} (${parsed.positionals.join(', ')}); run explain once per plan`);
  }
  const plan = parsed.positionals[0];
  if (plan === '') {
    throw new UsageError('an empty path was given; pass the plan JSON file, or - for stdin');
  }
  return { plan, format };
}

/** Reads the plan's bytes from the file or stdin. */
async function readInput(options: ExplainOptions, io: ExplainIo): Promise<{ text: Buffer; source: string }> {
  if (options.plan === '-') {
    const stdin = io.stdin ?? (process.stdin as InputStream);
    if (stdin.isTTY) {
      throw new PlanReadError(`stdin is a terminal, not a plan; pipe the plan into it: \`terraform show -json tfplan | cert-rotation explain -\``);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    return { text: Buffer.concat(chunks), source: 'stdin' };
  }
  try {
    return { text: await fs.readFile(options.plan), source: options.plan };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === 'ENOENT' ? 'does not exist' : e.code === 'EISDIR' ? 'is a directory' : e.code === 'EACCES' ? 'is not readable (permission denied)' : `cannot be read (${e.message})`;
    throw new PlanReadError(`${options.plan} ${why}; ${PRODUCE_PLAN_JSON}.`);
  }
}

/** Reads and explains the plan the options name. */
export async function explainFromOptions(options: ExplainOptions, io: ExplainIo): Promise<Explanation> {
  const { text, source } = await readInput(options, io);
  return explainPlan(parsePlan(text, source), source);
}

/** Runs `explain` with parsed options: writes the summary or the read error, returns the exit code. */
export async function runExplain(options: ExplainOptions, io: ExplainIo): Promise<number> {
  let explanation: Explanation;
  try {
    explanation = await explainFromOptions(options, io);
  } catch (err) {
    if (err instanceof PlanReadError) {
      io.stderr.write(`cert-rotation explain: ${err.message}\n`);
      return ExitCode.ERROR;
    }
    throw err;
  }
  io.stdout.write(options.format === 'markdown' ? formatMarkdown(explanation) : formatText(explanation));
  return ExitCode.OK;
}

export const explainCommand: Command = defineCommand({
  name: 'explain',
  summary: 'summarize a plan (terraform show -json): certificates old → new, agents, restarts, commands, destroys; exit 0 ok, 3 error',
  help: EXPLAIN_HELP,
  parse: parseExplainArgs,
  execute: runExplain,
});
