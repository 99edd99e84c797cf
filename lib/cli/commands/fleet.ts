/**
 * `cert-rotation fleet plan|deploy`: Terraform over every synthesized stack of
 * a fleet split into stacks (`fleet.stacks` per-cluster or groups), a few at a
 * time, where one stack's failure stops only the stacks that depend on it.
 *
 * `cdktf deploy '*'` starts no further stack once one has failed, so with a
 * limited parallelism a broken cluster stops the rotation of all the clusters
 * queued behind it; this command goes on with them and ends with a table of
 * every stack, its clusters and what happened to it.
 */
import { spawn } from 'child_process';
import { createWriteStream, promises as fs } from 'fs';
import * as path from 'path';
import { CliIo, Command, defineCommand, ExitCode, parseCommandArgs, UsageError } from '../io';

const HELP = `Usage: cert-rotation fleet synth|plan|deploy [options]

Runs Terraform in every stack of the synthesized app (cdktf.out), a few stacks
at a time, each after the stacks it depends on. A stack that fails stops only
the stacks that depend on it (the downstream clusters' stacks depend on the
Rancher server's); every other stack still runs. Ends with one line per stack:
its clusters and its result.

  synth    run the app of ./cdktf.json (its "app" command) into DIR, as
           \`cdktf synth\` does, without starting the cdktf CLI (about 5 s
           less per run); prints the stacks it wrote
  plan     terraform plan in each stack: which stacks (clusters) are done
           ("no changes") and which have changes waiting
  deploy   terraform apply in each stack

Synthesize first (\`cert-rotation fleet synth\` or \`npx cdktf synth\`); set
fleet.stacks in the configuration file to split the downstream clusters into
stacks (see README, "Fleets").

Options:
      --out DIR          the synthesized app (default: cdktf.out)
      --parallelism N    stacks run at once (default: 4)
      --lock-timeout D   how long to wait for a state lock, Terraform's
                         duration (default: 5m); a stack that lost the race
                         for a kubernetes backend's Lease asks again within it
      --detailed-exitcode  plan: exit 2 when a stack has changes waiting
                         (after a deploy, nothing should be left to do)
  -h, --help             show this help

Each stack's Terraform output goes to DIR/fleet-logs/<stack>.log. Terraform is
\$TERRAFORM_BINARY_NAME, else terraform on PATH.

Exit status: 0 when every stack planned or applied; 1 when a stack failed or
was not run because a stack it depends on failed; 2 with plan
--detailed-exitcode when a stack has changes waiting; 3 on a usage error.

Examples:
  cert-rotation fleet synth && cert-rotation fleet plan
  cert-rotation fleet deploy --parallelism 8
`;

export type FleetAction = 'synth' | 'plan' | 'deploy';

export interface FleetOptions {
  readonly action: FleetAction;
  readonly out: string;
  /** --out was given (synth: it wins over cdktf.json's output). */
  readonly outGiven?: boolean;
  readonly parallelism: number;
  readonly lockTimeout: string;
  /** plan: exit 2 when a stack has changes waiting. */
  readonly detailedExitcode?: boolean;
}

export function parseFleetArgs(args: readonly string[]): FleetOptions | 'help' {
  if (args.includes('--help') || args.includes('-h')) return 'help';
  const parsed = parseCommandArgs(args, {
    out: { type: 'string' },
    parallelism: { type: 'string' },
    'lock-timeout': { type: 'string' },
    'detailed-exitcode': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const [action, ...extra] = parsed.positionals;
  if (action !== 'synth' && action !== 'plan' && action !== 'deploy') {
    throw new UsageError(action === undefined ? 'say what to run: synth, plan or deploy' : `'${action}' is not synth, plan or deploy`);
  }
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  const p = parsed.values.parallelism ?? '4';
  if (!/^[1-9][0-9]*$/.test(p)) throw new UsageError(`--parallelism '${p}' is not a whole number of at least 1`);
  const lockTimeout = parsed.values['lock-timeout'] ?? '5m';
  if (!/^[0-9]+(ms|s|m|h)$/.test(lockTimeout)) throw new UsageError(`--lock-timeout '${lockTimeout}' is not a duration such as 30s or 5m`);
  const detailedExitcode = parsed.values['detailed-exitcode'] === true;
  if (detailedExitcode && action !== 'plan') throw new UsageError('--detailed-exitcode goes with plan');
  return { action, out: parsed.values.out ?? 'cdktf.out', outGiven: parsed.values.out !== undefined, parallelism: Number(p), lockTimeout, detailedExitcode };
}

/**
 * `fleet synth`: the app command of ./cdktf.json with the environment the cdktf
 * CLI gives it (CDKTF_OUTDIR, CDKTF_CONTEXT_JSON), its output passed through.
 * The CLI's own start-up (about 5 s here) is most of a `cdktf synth` of a
 * compiled app (docs/benchmarks.md, "Synth").
 */
async function synthApp(o: FleetOptions, io: CliIo, cwd: string = process.cwd()): Promise<number> {
  const file = path.join(cwd, 'cdktf.json');
  let project: { app?: unknown; output?: unknown; context?: unknown };
  try {
    project = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    io.stderr.write(`cert-rotation fleet synth: ${file} ${e.code === 'ENOENT' ? 'does not exist: run it in the directory of your cdktf project' : `cannot be read as JSON (${e.message})`}\n`);
    return ExitCode.ERROR;
  }
  if (typeof project.app !== 'string' || project.app.trim() === '') {
    io.stderr.write(`cert-rotation fleet synth: ${file}: field app must be the command that runs the app, e.g. "node bin/cdktf-app.js"\n`);
    return ExitCode.ERROR;
  }
  const out = path.resolve(cwd, o.outGiven ? o.out : typeof project.output === 'string' ? project.output : o.out);
  const t0 = Date.now();
  const code = await new Promise<number>((resolve) => {
    const child = spawn(project.app as string, {
      cwd,
      shell: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, CDKTF_OUTDIR: out, CDKTF_CONTEXT_JSON: JSON.stringify(project.context ?? {}) },
    });
    child.stdout.on('data', (d: Buffer) => io.stdout.write(d.toString()));
    child.stderr.on('data', (d: Buffer) => io.stderr.write(d.toString()));
    child.on('error', (err) => {
      io.stderr.write(`cert-rotation fleet synth: ${project.app} could not start: ${err.message}\n`);
      resolve(1);
    });
    child.on('close', (c) => resolve(c ?? 1));
  });
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  if (code !== 0) {
    io.stderr.write(`cert-rotation fleet synth: the app (${project.app}) exited ${code} after ${seconds}s; nothing to deploy from ${out}\n`);
    return 1;
  }
  const stacks = await readManifest(out);
  const clusters = stacks.reduce((n, st) => n + st.clusters.length, 0);
  io.stderr.write(`[fleet ${seconds}s] synthesized ${stacks.length} stack(s) into ${out}${clusters > 0 ? `, ${clusters} cluster(s)` : ''}: ${clusterList(stacks.map((st) => st.name))}\n`);
  return ExitCode.OK;
}

/** A stack of the synthesized app, as cdktf's manifest.json names it. */
interface ManifestStack {
  readonly name: string;
  readonly workingDirectory: string;
  readonly dependencies: string[];
  /** The downstream clusters its synthesized JSON lists under `//`.`cert-rotation`. */
  readonly clusters: string[];
}

/** A stack's clusters for one line: all of them when few, else the first and last and how many. */
function clusterList(clusters: readonly string[], sep = ', '): string {
  if (clusters.length <= 6) return clusters.join(sep);
  return `${clusters.slice(0, 3).join(sep)}${sep}…${sep}${clusters[clusters.length - 1]} (${clusters.length} clusters)`;
}

/** What happened to one stack. */
interface StackResult {
  readonly stack: ManifestStack;
  status: 'pending' | 'running' | 'ok' | 'failed' | 'skipped';
  summary: string;
  seconds: number;
}

async function readManifest(out: string): Promise<ManifestStack[]> {
  const file = path.join(out, 'manifest.json');
  let manifest: { stacks?: Record<string, { name: string; workingDirectory: string; synthesizedStackPath: string; dependencies?: string[] }> };
  try {
    manifest = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (e) {
    const missing = (e as NodeJS.ErrnoException).code === 'ENOENT';
    throw new UsageError(`${file}: ${missing ? 'not found' : `not readable as JSON (${(e as Error).message})`}; synthesize first: npx cdktf synth`);
  }
  const stacks: ManifestStack[] = [];
  for (const s of Object.values(manifest.stacks ?? {})) {
    const json = JSON.parse(await fs.readFile(path.join(out, s.synthesizedStackPath), 'utf8')) as { '//'?: { 'cert-rotation'?: { clusters?: string[] } } };
    stacks.push({
      name: s.name,
      workingDirectory: path.join(out, s.workingDirectory),
      dependencies: s.dependencies ?? [],
      clusters: json['//']?.['cert-rotation']?.clusters ?? [],
    });
  }
  if (stacks.length === 0) throw new UsageError(`${file} lists no stack; synthesize first: npx cdktf synth`);
  return stacks;
}

/** Runs one command with its output appended to `log`; resolves to its exit code. */
function runLogged(command: string, args: string[], cwd: string, log: string): Promise<number> {
  return new Promise((resolve) => {
    const stream = createWriteStream(log, { flags: 'a' });
    stream.write(`$ ${command} ${args.join(' ')}\n`);
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TF_IN_AUTOMATION: '1' } });
    child.stdout.pipe(stream, { end: false });
    child.stderr.pipe(stream, { end: false });
    child.on('error', (e) => {
      stream.end(`${command}: ${e.message}\n`, () => resolve(127));
    });
    child.on('close', (code) => stream.end('', () => resolve(code ?? 1)));
  });
}

/** The lines of a Terraform log worth quoting when a stack fails: its first error and the detail under it. */
async function errorLines(log: string): Promise<string> {
  const lines = (await fs.readFile(log, 'utf8'))
    .split('\n')
    .map((l) => l.replace(/\u001b\[[0-9;]*m/g, '').replace(/^[│╷╵]\s?/, '').trim())
    .filter((l) => l && !l.startsWith('$ '));
  const first = lines.findIndex((l) => l.startsWith('Error:'));
  const quoted = first >= 0
    ? [lines[first], ...lines.slice(first + 1).filter((l) => !/^(with|on) /.test(l) && !l.startsWith('Error:')).slice(0, 5)]
    : lines.slice(-3);
  return quoted.join(' / ').slice(0, 400);
}

/** "Plan: 1 to add, 2 to change, 0 to destroy." or "No changes." from a plan or apply log. */
async function changeSummary(log: string, action: FleetAction): Promise<string> {
  const text = (await fs.readFile(log, 'utf8')).replace(/\u001b\[[0-9;]*m/g, '');
  if (/No changes\./.test(text)) return action === 'plan' ? 'done: no changes' : 'no changes';
  const applied = text.match(/Apply complete! Resources: ([^\n]*)/);
  if (action === 'deploy' && applied) return `applied: ${applied[1].replace(/\.$/, '')}`;
  const planned = text.match(/Plan: ([^\n]*)/);
  return planned ? `changes waiting: ${planned[1].replace(/\.$/, '')}` : 'ok';
}

/** Terraform's duration (30s, 5m, 1h, 500ms) in milliseconds. */
export function durationMs(d: string): number {
  const m = /^([0-9]+)(ms|s|m|h)$/.exec(d);
  if (!m) throw new UsageError(`'${d}' is not a duration such as 30s or 5m`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

/**
 * Whether a failed plan or apply lost the race for a Kubernetes backend's lock
 * rather than finding it held. The backend takes its Lease by compare-and-swap
 * (https://developer.hashicorp.com/terraform/language/backend/kubernetes): when
 * two runners ask in the same instant, the one whose update loses gets the API
 * server's Conflict (or AlreadyExists for a Lease not yet created) as a plain
 * error, which Terraform does not retry under -lock-timeout. It fails before
 * reading the state, so running it again is safe.
 */
export function lostLockRace(logText: string): boolean {
  const text = logText.replace(/\u001b\[[0-9;]*m/g, '').replace(/[│╷╵]/g, ' ').replace(/\s+/g, ' ');
  return /Error acquiring the state lock/.test(text) &&
    /leases\.coordination\.k8s\.io "[^"]+"(?:: the object has been modified| already exists)/.test(text);
}

/**
 * For a lock still held when -lock-timeout ran out: how to release it if its holder is gone. A runner killed
 * during a plan or apply leaves a kubernetes backend's Lease (or an s3 lock file) held for good; pg's advisory
 * lock ends with the holder's connection.
 */
export function staleLockHint(logText: string, cwd: string, terraform = 'terraform'): string {
  if (!/Error acquiring the state lock/.test(logText) || !/already locked/.test(logText)) return '';
  const id = /^\W*ID:\s+(\S+)/m.exec(logText.replace(/\u001b\[[0-9;]*m/g, ''))?.[1];
  if (id === undefined) return '';
  const who = /^\W*Who:\s+(\S+)/m.exec(logText)?.[1];
  const created = /^\W*Created:\s+([^\n]+)/m.exec(logText)?.[1]?.trim();
  return ` -- held by ${who ?? 'another runner'}${created ? ` since ${created}` : ''}; when that run is over (a killed runner keeps a kubernetes ` +
    `backend's Lease for good), release it: (cd ${cwd} && ${terraform} force-unlock -force ${id})`;
}

async function runStack(r: StackResult, o: FleetOptions, terraform: string, logs: string, io: CliIo): Promise<void> {
  const log = path.join(logs, `${r.stack.name}.log`);
  await fs.writeFile(log, '');
  const cwd = r.stack.workingDirectory;
  const steps: string[][] = [['init', '-input=false', '-no-color']];
  if (o.action === 'plan') steps.push(['plan', '-input=false', '-no-color', `-lock-timeout=${o.lockTimeout}`, '-detailed-exitcode']);
  else steps.push(['apply', '-input=false', '-no-color', '-auto-approve', `-lock-timeout=${o.lockTimeout}`]);
  const lockDeadline = Date.now() + durationMs(o.lockTimeout);
  for (const args of steps) {
    let code: number;
    for (let attempt = 1; ; attempt++) {
      const from = (await fs.stat(log)).size;
      code = await runLogged(terraform, args, cwd, log);
      if (code !== 1 || args[0] === 'init' || Date.now() > lockDeadline) break;
      const tail = (await fs.readFile(log, 'utf8')).slice(from);
      if (!lostLockRace(tail)) break;
      // Lost the compare-and-swap on the Lease to another runner that asked at the same moment: nothing was read or
      // written yet. Ask again after a short random pause; from then on the lock is held and -lock-timeout waits for it.
      io.stderr.write(`[fleet] ${r.stack.name}: another runner took the state lock in the same instant (Lease conflict); asking again (attempt ${attempt + 1})\n`);
      await new Promise((res) => setTimeout(res, 500 + Math.floor(Math.random() * 1500)));
    }
    // plan -detailed-exitcode: 0 no changes, 2 changes, 1 error.
    if (code !== 0 && !(args[0] === 'plan' && code === 2)) {
      r.status = 'failed';
      r.summary = `terraform ${args[0]} failed (exit ${code}): ${await errorLines(log)}${staleLockHint(await fs.readFile(log, 'utf8'), cwd, path.basename(terraform))}`;
      return;
    }
  }
  r.status = 'ok';
  r.summary = await changeSummary(log, o.action);
}

export async function runFleet(o: FleetOptions, io: CliIo): Promise<number> {
  if (o.action === 'synth') return synthApp(o, io);
  const stacks = await readManifest(o.out);
  const terraform = process.env.TERRAFORM_BINARY_NAME || 'terraform';
  const logs = path.join(o.out, 'fleet-logs');
  await fs.mkdir(logs, { recursive: true });
  const results = new Map<string, StackResult>(stacks.map((s) => [s.name, { stack: s, status: 'pending', summary: '', seconds: 0 }]));
  const t0 = Date.now();
  const elapsed = () => `${Math.round((Date.now() - t0) / 1000)}s`.padStart(5);
  const verb = o.action === 'plan' ? 'planning' : 'applying';
  io.stderr.write(`[fleet ${elapsed()}] ${verb} ${stacks.length} stack(s), ${o.parallelism} at a time; logs in ${logs}\n`);
  const running = new Set<Promise<void>>();
  for (;;) {
    // Stacks whose dependency failed or was skipped are skipped, saying which.
    for (const r of results.values()) {
      if (r.status !== 'pending') continue;
      const broken = r.stack.dependencies.find((d) => ['failed', 'skipped'].includes(results.get(d)?.status ?? ''));
      if (broken) {
        r.status = 'skipped';
        r.summary = `not run: ${broken}, which it depends on, ${results.get(broken)?.status === 'failed' ? 'failed' : 'was not run'}`;
        io.stderr.write(`[fleet ${elapsed()}] ${r.stack.name}: ${r.summary}\n`);
      }
    }
    const ready = [...results.values()].filter(
      (r) => r.status === 'pending' && r.stack.dependencies.every((d) => results.get(d) === undefined || results.get(d)?.status === 'ok'),
    );
    if (ready.length === 0 && running.size === 0) break;
    while (ready.length > 0 && running.size < o.parallelism) {
      const r = ready.shift() as StackResult;
      r.status = 'running';
      const started = Date.now();
      const clusters = r.stack.clusters.length > 0 ? ` (${clusterList(r.stack.clusters)})` : '';
      io.stderr.write(`[fleet ${elapsed()}] ${r.stack.name}${clusters}: ${verb}\n`);
      const p: Promise<void> = runStack(r, o, terraform, logs, io).then(() => {
        r.seconds = (Date.now() - started) / 1000;
        io.stderr.write(`[fleet ${elapsed()}] ${r.stack.name}: ${r.status === 'ok' ? r.summary : `FAILED: ${r.summary}`} (${r.seconds.toFixed(1)}s)\n`);
        running.delete(p);
      });
      running.add(p);
    }
    if (running.size > 0) await Promise.race(running);
  }

  const rows = [...results.values()];
  const width = Math.max(5, ...rows.map((r) => r.stack.name.length));
  io.stdout.write(`${'STACK'.padEnd(width)}  ${'RESULT'.padEnd(7)}  ${'TIME'.padStart(7)}  CLUSTERS / WHAT HAPPENED\n`);
  for (const r of rows) {
    const clusters = r.stack.clusters.length > 0 ? clusterList(r.stack.clusters, ',') : '-';
    io.stdout.write(`${r.stack.name.padEnd(width)}  ${r.status.toUpperCase().padEnd(7)}  ${`${r.seconds.toFixed(1)}s`.padStart(7)}  ${clusters}: ${r.summary}\n`);
  }
  const bad = rows.filter((r) => r.status !== 'ok');
  const badClusters = bad.flatMap((r) => r.stack.clusters);
  io.stderr.write(
    bad.length === 0
      ? `[fleet ${elapsed()}] all ${rows.length} stack(s) ${o.action === 'plan' ? 'planned' : 'applied'}\n`
      : `[fleet ${elapsed()}] ${bad.length} of ${rows.length} stack(s) failed or were not run` +
          `${badClusters.length > 0 ? ` (clusters: ${clusterList(badClusters)})` : ''}; the others ${o.action === 'plan' ? 'planned' : 'applied'}. ` +
          `Read ${logs}/<stack>.log, fix, and run again: finished stacks plan no changes.\n`,
  );
  if (bad.length > 0) return 1;
  return o.detailedExitcode && rows.some((r) => r.summary.startsWith('changes waiting')) ? 2 : ExitCode.OK;
}

export const fleetCommand: Command = defineCommand({
  name: 'fleet',
  summary: 'synthesize the app without the cdktf CLI; plan or deploy every stack, a failing one stopping only its dependants',
  help: HELP,
  parse: parseFleetArgs,
  execute: runFleet,
});
