import { spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { App, LocalBackend, TerraformStack } from 'cdktf';
import { REPO_ROOT, run, RunResult, testbedProcessEnv } from '../../../scripts/testbed/client';

/** One planned change, as `terraform show -json` reports it. */
export interface PlannedChange {
  address: string;
  type: string;
  actions: string[];
  before: any;
  after: any;
}

export interface Plan {
  json: any;
  raw: string;
  changes: PlannedChange[];
}

/**
 * A cdktf project in a temporary directory: synthesizes stacks in-process,
 * deploys them with the real `cdktf deploy`, plans with the real engine.
 */
export class Workspace {
  readonly dir: string;
  readonly outdir: string;
  readonly logs: string[] = [];

  constructor(name: string) {
    const root = path.join(REPO_ROOT, '.testbed', 'work');
    fs.mkdirSync(root, { recursive: true });
    this.dir = fs.mkdtempSync(path.join(root, `${name}-`));
    this.outdir = path.join(this.dir, 'cdktf.out');
    fs.writeFileSync(path.join(this.dir, 'cdktf.json'), JSON.stringify({
      language: 'typescript',
      app: 'echo "synthesized in-process by the test" && exit 1',
      output: 'cdktf.out',
      sendCrashReports: 'false',
    }, null, 2));
  }

  /** Synthesizes whatever `build` adds to a fresh App into this workspace. */
  synth(build: (app: App) => void): void {
    const app = new App({ outdir: this.outdir });
    build(app);
    for (const child of app.node.children) {
      if (child instanceof TerraformStack) {
        new LocalBackend(child, { path: path.join(this.dir, `terraform.${child.node.id}.tfstate`) });
      }
    }
    app.synth();
  }

  stackDir(stack: string): string {
    return path.join(this.outdir, 'stacks', stack);
  }

  /**
   * From now on `deploy` runs the real app (main.ts) on `configFile`, as a user's
   * `cdktf deploy` does: synth first, then the engine.
   */
  useApp(configFile: string): void {
    fs.writeFileSync(path.join(this.dir, 'cdktf.json'), JSON.stringify({
      language: 'typescript',
      app: `npx ts-node --transpile-only ${path.join(REPO_ROOT, 'main.ts')}`,
      output: 'cdktf.out',
      sendCrashReports: 'false',
    }, null, 2));
    this.appConfig = configFile;
  }

  private appConfig?: string;

  /** `cdktf deploy --auto-approve --skip-provider-lock` on the synthesized output (or the app's, after `useApp`); `ok` lists the accepted exit codes. */
  deploy(stack: string, ok = [0], env: NodeJS.ProcessEnv = {}): RunResult {
    const c = this.deployCommand(stack, env);
    const r = run(c.cmd, c.args, { cwd: this.dir, ok, env: c.env });
    this.logs.push(r.stdout, r.stderr);
    return r;
  }

  /** `deploy` without waiting, whatever the exit code: for runners that deploy at the same time. */
  deployAsync(stack: string, env: NodeJS.ProcessEnv = {}): Promise<RunResult> {
    const c = this.deployCommand(stack, env);
    return this.runAsync(c.cmd, c.args, c.env);
  }

  /** `cdktf synth` of the real app (after `useApp`) into this workspace's cdktf.out, stack `stack`. */
  synthApp(stack: string): RunResult {
    if (!this.appConfig) throw new Error('synthApp: call useApp first');
    const r = run(path.join(REPO_ROOT, 'node_modules/.bin/cdktf'), ['synth'], {
      cwd: this.dir,
      env: { ...testbedProcessEnv(), CERT_ROTATION_CONFIG: this.appConfig, CERT_ROTATION_STACK: stack },
    });
    this.logs.push(r.stdout, r.stderr);
    return r;
  }

  /** `cert-rotation fleet deploy|plan` on this workspace's cdktf.out, without waiting; its stack logs join `logs`. */
  fleetAsync(action: 'plan' | 'deploy', env: NodeJS.ProcessEnv = {}, args: string[] = []): Promise<RunResult> {
    return this.runAsync(process.execPath, [path.join(REPO_ROOT, 'bin/cert-rotation.js'), 'fleet', action, ...args], { ...testbedProcessEnv(), ...env }).then((r) => {
      const logs = path.join(this.outdir, 'fleet-logs');
      if (fs.existsSync(logs)) for (const f of fs.readdirSync(logs)) this.logs.push(fs.readFileSync(path.join(logs, f), 'utf8'));
      return r;
    });
  }

  private runAsync(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<RunResult> {
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args, { cwd: this.dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => { stdout += d; });
      child.stderr.on('data', (d) => { stderr += d; });
      child.on('error', reject);
      child.on('close', (code) => {
        this.logs.push(stdout, stderr);
        resolve({ status: code ?? -1, stdout, stderr });
      });
    });
  }

  private deployCommand(stack: string, env: NodeJS.ProcessEnv): { cmd: string; args: string[]; env: NodeJS.ProcessEnv } {
    const synth = this.appConfig ? [] : ['--skip-synth'];
    const appEnv = this.appConfig ? { CERT_ROTATION_CONFIG: this.appConfig, CERT_ROTATION_STACK: stack } : {};
    return {
      cmd: path.join(REPO_ROOT, 'node_modules/.bin/cdktf'),
      args: ['deploy', stack, '--auto-approve', '--skip-provider-lock', ...synth],
      env: { ...testbedProcessEnv(), ...appEnv, ...env },
    };
  }

  /**
   * `terraform apply -auto-approve` in the stack's directory, without cdktf: for a test of a step's own
   * failure message, which cdktf 0.21 can drop from the end of a failed apply's output (README, "In a pipeline").
   */
  apply(stack: string, ok = [0], args: string[] = []): RunResult {
    const env = testbedProcessEnv();
    const engine = env.TERRAFORM_BINARY_NAME ?? 'terraform';
    const cwd = this.stackDir(stack);
    if (!fs.existsSync(path.join(cwd, '.terraform'))) this.logs.push(run(engine, ['init', '-input=false', '-no-color'], { cwd, env }).stdout);
    const r = run(engine, ['apply', '-auto-approve', '-input=false', '-no-color', ...args], { cwd, env, ok });
    this.logs.push(r.stdout, r.stderr);
    return r;
  }

  /** `cdktf destroy --auto-approve`: leaves the clusters as the test found them. */
  destroy(stack: string): RunResult {
    const r = run(path.join(REPO_ROOT, 'node_modules/.bin/cdktf'),
      ['destroy', stack, '--auto-approve', '--skip-provider-lock', '--skip-synth'],
      { cwd: this.dir });
    this.logs.push(r.stdout, r.stderr);
    return r;
  }

  /** `terraform plan` + `terraform show -json`, in the stack's directory; `extraEnv` adds to the test bed's environment (e.g. `TF_VAR_…`). */
  plan(stack: string, extraEnv: NodeJS.ProcessEnv = {}): Plan {
    const env = { ...testbedProcessEnv(), ...extraEnv };
    const engine = env.TERRAFORM_BINARY_NAME ?? 'terraform';
    const cwd = this.stackDir(stack);
    if (!fs.existsSync(path.join(cwd, '.terraform'))) {
      this.logs.push(run(engine, ['init', '-input=false', '-no-color'], { cwd, env }).stdout);
    }
    const p = run(engine, ['plan', '-input=false', '-no-color', '-out=tfplan', '-detailed-exitcode'], { cwd, env, ok: [0, 2] });
    this.logs.push(p.stdout, p.stderr);
    const raw = run(engine, ['show', '-json', 'tfplan'], { cwd, env }).stdout;
    const json = JSON.parse(raw);
    const changes: PlannedChange[] = (json.resource_changes ?? [])
      .filter((rc: any) => !(rc.change.actions.length === 1 && rc.change.actions[0] === 'no-op'))
      .map((rc: any) => ({ address: rc.address, type: rc.type, actions: rc.change.actions, before: rc.change.before, after: rc.change.after }));
    return { json, raw, changes };
  }

  /** The state file the local backend writes for a stack. */
  statePath(stack: string): string {
    const file = path.join(this.dir, `terraform.${stack}.tfstate`);
    if (!fs.existsSync(file)) throw new Error(`no state file for stack ${stack} at ${file}`);
    return file;
  }

  /** Every file of the synthesized output, concatenated. */
  synthesizedText(): string {
    return readTree(this.outdir, (f) => !f.includes(`${path.sep}.terraform${path.sep}`) && !f.endsWith('tfplan'));
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function readTree(dir: string, keep: (file: string) => boolean): string {
  let out = '';
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out += readTree(p, keep);
    else if (entry.isFile() && keep(p)) out += fs.readFileSync(p, 'latin1');
  }
  return out;
}

/**
 * Distinctive pieces of a PEM private key, taken from the second half of its
 * DER encoding, past the public modulus that the certificate also carries: the
 * PEM body lines there, and the same bytes as base64 of the PEM text (how a
 * Secret stores it), base64 of the DER and hex. Any of them in an artifact
 * means the private key leaked.
 */
export function keyFingerprints(keyPem: string): string[] {
  const body = keyPem.split(/\r?\n/).filter((l) => l && !l.startsWith('-----'));
  const der = Buffer.from(body.join(''), 'base64');
  const half = Math.floor(der.length / 2);
  const pemOffset = Math.floor(keyPem.length / 2 / 3) * 3;
  return [
    ...body.slice(Math.ceil(body.length / 2), -1).filter((l) => l.length >= 40),
    Buffer.from(keyPem.slice(pemOffset, pemOffset + 60)).toString('base64'),
    der.subarray(half, half + 45).toString('base64'),
    der.subarray(half, half + 40).toString('hex'),
  ];
}

export function expectNoKey(haystack: string, keyPem: string, where: string): void {
  for (const needle of keyFingerprints(keyPem)) {
    if (haystack.includes(needle)) {
      throw new Error(`private key material found in ${where}`);
    }
  }
}

export type { TerraformStack };
