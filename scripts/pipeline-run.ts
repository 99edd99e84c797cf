// Runs one job of the GitHub Actions workflow of the pipeline kit
// (examples/pipelines/github/cert-rotation.yml) outside GitHub: its `run:`
// steps in order, with bash, in a checkout directory, so a scripted run is the
// pipeline's own commands. `uses:` steps (checkout, setup-node, the comment)
// are listed as skipped: the caller provides what they would (the checkout,
// node, terraform, helm on PATH).
//
//   npx ts-node --transpile-only scripts/pipeline-run.ts --help
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';

export const DEFAULT_WORKFLOW = path.join(__dirname, '..', 'examples', 'pipelines', 'github', 'cert-rotation.yml');

const USAGE = `Usage: npx ts-node --transpile-only scripts/pipeline-run.ts JOB [--dir CHECKOUT] [--workflow FILE]
       npx ts-node --transpile-only scripts/pipeline-run.ts --list [--workflow FILE]

Runs the job JOB (review, apply or nightly) of a GitHub Actions workflow the way
the runner would: each \`run:\` step in order with bash (-eo pipefail, as
\`shell: bash\`), in CHECKOUT (default: the current directory) or the step's
working-directory below it. \`uses:\` steps are listed as skipped: provide what
they would (the checkout, node, terraform and helm on PATH) yourself. Stops at
the first failing step and exits with its code.

Environment: the caller's, then the workflow's, the job's and the step's env:
(later wins), and CI=true. In env: values, \${{ secrets.NAME }} and
\${{ vars.NAME }} (optionally || 'default') read NAME from the caller's
environment (empty when unset, as GitHub gives a missing secret); any other
expression is refused. Step \`if:\` conditions are refused too: the job's steps
must run unconditionally for this script to be the pipeline.

Options:
  --dir CHECKOUT     the checkout to run in (default: .)
  --workflow FILE    the workflow (default: examples/pipelines/github/cert-rotation.yml)
  --list             list the jobs and their steps, run nothing
  -h, --help         show this help

Exit: the failing step's exit code; 0 when every step passed; 64 on wrong usage
or a workflow this script cannot run.`;

/** A step as this script runs it. */
export interface PlannedStep {
  readonly name: string;
  /** Set for a `uses:` step, which is skipped. */
  readonly uses?: string;
  readonly run?: string;
  /** Absolute directory the step runs in. */
  readonly cwd: string;
  /** What the step adds to the environment (the workflow's, job's and step's env:, evaluated). */
  readonly env: Record<string, string>;
}

export class WorkflowError extends Error {}

const EXPRESSION = /^\$\{\{\s*(secrets|vars)\.([A-Za-z_][A-Za-z0-9_]*)\s*(?:\|\|\s*'((?:[^']|'')*)'\s*)?\}\}$/;

/** Evaluates an env: value: a literal, or `${{ secrets.NAME }}` / `${{ vars.NAME || 'default' }}` from `callerEnv`. */
export function evaluateEnvValue(key: string, value: unknown, callerEnv: NodeJS.ProcessEnv): string {
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value !== 'string') throw new WorkflowError(`env ${key}: ${JSON.stringify(value)} is not a string, number or boolean`);
  if (!value.includes('${{')) return value;
  const m = EXPRESSION.exec(value.trim());
  if (!m) {
    throw new WorkflowError(`env ${key}: '${value}' is an expression this script does not evaluate; only \${{ secrets.NAME }} and \${{ vars.NAME }} (|| 'default') are read, from the caller's environment`);
  }
  const fromCaller = callerEnv[m[2]];
  if (fromCaller !== undefined && fromCaller !== '') return fromCaller;
  return m[3] !== undefined ? m[3].replace(/''/g, "'") : '';
}

function evaluateEnv(block: unknown, where: string, callerEnv: NodeJS.ProcessEnv): Record<string, string> {
  if (block === undefined || block === null) return {};
  if (typeof block !== 'object' || Array.isArray(block)) throw new WorkflowError(`${where}: env must be a mapping`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(block)) out[k] = evaluateEnvValue(`${where}.${k}`, v, callerEnv);
  return out;
}

function shellOf(step: any, job: any, workflow: any): string {
  return step.shell ?? job.defaults?.run?.shell ?? workflow.defaults?.run?.shell ?? 'bash';
}

/** Reads a workflow file (YAML). */
export function readWorkflow(file: string): any {
  const workflow = parse(fs.readFileSync(file, 'utf8'));
  if (!workflow || typeof workflow !== 'object' || typeof workflow.jobs !== 'object') {
    throw new WorkflowError(`${file}: not a GitHub Actions workflow (no jobs:)`);
  }
  return workflow;
}

/** The steps of `jobName` as this script runs them, in order. */
export function planJob(workflow: any, jobName: string, checkout: string, callerEnv: NodeJS.ProcessEnv): PlannedStep[] {
  const job = workflow.jobs[jobName];
  if (!job) throw new WorkflowError(`no job '${jobName}'; the workflow has ${Object.keys(workflow.jobs).join(', ')}`);
  if (!Array.isArray(job.steps)) throw new WorkflowError(`job ${jobName} has no steps (a reusable workflow call cannot be run here)`);
  const base = { ...evaluateEnv(workflow.env, 'env', callerEnv), ...evaluateEnv(job.env, `jobs.${jobName}.env`, callerEnv) };
  const defaultDir = job.defaults?.run?.['working-directory'] ?? workflow.defaults?.run?.['working-directory'];
  return job.steps.map((step: any, i: number): PlannedStep => {
    const where = `jobs.${jobName}.steps[${i}]`;
    const name: string = step.name ?? (step.uses ? `Run ${step.uses}` : `Run ${String(step.run).split('\n')[0]}`);
    if (step.if !== undefined) throw new WorkflowError(`${where} (${name}) has if: ${step.if}; this script runs every step and does not evaluate conditions`);
    if (step.uses) return { name, uses: step.uses, cwd: checkout, env: {} };
    if (typeof step.run !== 'string') throw new WorkflowError(`${where} (${name}) has neither run: nor uses:`);
    const shell = shellOf(step, job, workflow);
    if (shell !== 'bash') throw new WorkflowError(`${where} (${name}) runs with shell '${shell}'; this script runs bash steps only`);
    const dir = step['working-directory'] ?? defaultDir;
    return {
      name,
      run: step.run,
      cwd: dir ? path.resolve(checkout, dir) : checkout,
      env: { ...base, ...evaluateEnv(step.env, `${where}.env`, callerEnv) },
    };
  });
}

/** Runs the planned steps; returns the exit code of the first failing one, or 0. */
export function runSteps(steps: PlannedStep[], callerEnv: NodeJS.ProcessEnv, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): number {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-run-'));
  try {
    for (const [i, step] of steps.entries()) {
      const label = `[${i + 1}/${steps.length}] ${step.name}`;
      if (step.uses) {
        out(`==> ${label}: skipped (uses: ${step.uses})`);
        continue;
      }
      out(`==> ${label}`);
      const script = path.join(tmp, `step-${i + 1}.sh`);
      fs.writeFileSync(script, step.run!);
      const t = Date.now();
      // GitHub's `shell: bash`: bash --noprofile --norc -eo pipefail {0}.
      const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
        cwd: step.cwd,
        env: { ...callerEnv, CI: 'true', ...step.env },
        stdio: 'inherit',
      });
      const code = r.status ?? (r.signal ? 128 + (os.constants.signals[r.signal] ?? 0) : 1);
      if (code !== 0) {
        out(`==> ${label}: failed with exit ${code} after ${Math.round((Date.now() - t) / 1000)}s; later steps not run`);
        return code;
      }
      out(`==> ${label}: ok in ${Math.round((Date.now() - t) / 1000)}s`);
    }
    return 0;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function main(argv: string[]): number {
  let job: string | undefined;
  let dir = '.';
  let file = DEFAULT_WORKFLOW;
  let list = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    if (a === '--list') list = true;
    else if (a === '--dir' || a === '--workflow') {
      const v = argv[++i];
      if (v === undefined) throw new WorkflowError(`${a} needs a value`);
      if (a === '--dir') dir = v;
      else file = v;
    } else if (a.startsWith('-')) throw new WorkflowError(`unknown option ${a}; see --help`);
    else if (job === undefined) job = a;
    else throw new WorkflowError(`one job at a time; got '${job}' and '${a}'`);
  }
  const workflow = readWorkflow(file);
  if (list) {
    for (const [name, j] of Object.entries<any>(workflow.jobs)) {
      process.stdout.write(`${name}${j.if ? `  (if: ${j.if})` : ''}\n`);
      for (const s of j.steps ?? []) process.stdout.write(`  ${s.uses ? `skipped: ${s.name ?? s.uses} (uses: ${s.uses})` : s.name ?? String(s.run).split('\n')[0]}\n`);
    }
    return 0;
  }
  if (job === undefined) throw new WorkflowError(`which job? one of ${Object.keys(workflow.jobs).join(', ')}; see --help`);
  const checkout = path.resolve(dir);
  if (!fs.statSync(checkout, { throwIfNoEntry: false })?.isDirectory()) throw new WorkflowError(`--dir ${dir}: not a directory`);
  const steps = planJob(workflow, job, checkout, process.env);
  process.stdout.write(`pipeline-run: job ${job} of ${path.relative(process.cwd(), file) || file} in ${checkout} (${steps.length} steps)\n`);
  return runSteps(steps, process.env);
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    if (!(e instanceof WorkflowError)) throw e;
    process.stderr.write(`pipeline-run: ${e.message}\n`);
    process.exitCode = 64;
  }
}
