import { execFileSync } from 'child_process';
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { parse, stringify } from 'yaml';
import { addDays, makePrivateCa, RancherFiles, writeRancherFiles } from '../support/pki';
import { ensureNamespace, resetRancherInstall } from './support/rancher-bed';
import { RancherScenario } from './support/rancher-scenario';
import { expectNoKey } from './support/terraform';
import { secretData } from '../../scripts/testbed/rancher-model/client';
import { kubeGet, REPO_ROOT, run, RunResult, testbedProcessEnv } from '../../scripts/testbed/client';

// GIVEN a user's clone of cert-rotation (this repository's files, no
// node_modules) with the kit's GitHub workflow in .github/workflows/, a
// cert-rotation.yaml whose state is on the kubernetes backend of the Rancher
// server cluster, and the certificate files in a directory of the runner,
// WHEN scripts/pipeline-run.ts runs the workflow's jobs there, with the
// secrets and variables a user sets given as the environment, THEN review
// leaves the plan and an explain.md that names the rotation, apply rotates the
// certificate Rancher serves and ends on an empty plan; nightly renews the
// leaf that is inside its 30-day window and deploys it, and the night after
// (the new leaf far from expiry) plans nothing; no private key is in the plan,
// the summary, the logs or the stored state. The commands are the
// workflow's own: `npm ci` installs from the npm cache, Terraform gets its
// providers from the test bed's mirror, `terraform` is the test bed's engine.

const RUN = Date.now().toString(36);
const STATE_NAMESPACE = 'cert-rotation-state';
const SUFFIX = `pipeline-${RUN}`;
const JOB_TIMEOUT = 900_000;

/** This repository's files as a clone has them: tracked and new files, no node_modules, dist or test bed. */
function cloneInto(dir: string): void {
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: REPO_ROOT, encoding: 'utf8' })
    .split('\0').filter((f) => f && fs.existsSync(path.join(REPO_ROOT, f)) && fs.statSync(path.join(REPO_ROOT, f)).isFile());
  for (const f of files) {
    fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, f), path.join(dir, f));
  }
}

describe('the pipeline kit, run job by job on the test bed', () => {
  const sc = new RancherScenario('pipeline');
  const repo = path.join(sc.ws.dir, 'repo');
  /** The runner's certificate directory ($CERTS_DIR) and CA directory ($PKI_DIR): outside the checkout. */
  const certsDir = path.join(sc.ws.dir, 'runner', 'certs');
  const pkiDir = path.join(sc.ws.dir, 'runner', 'pki');
  const stackDir = path.join(repo, 'cdktf.out', 'stacks', 'rancher');
  const logs: string[] = [];
  let files: RancherFiles;

  /** The environment of a runner: the test bed's tools, the user's secrets and variables, no npm_* of this jest run. */
  function runnerEnv(): NodeJS.ProcessEnv {
    const bed = testbedProcessEnv();
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(bed)) {
      if (!/^(npm_|NODE_OPTIONS$|NODE_PATH$|TS_NODE_|INIT_CWD$)/i.test(k)) env[k] = v;
    }
    // setup-terraform puts `terraform` on PATH: here it is the test bed's engine (Terraform, or OpenTofu built by it).
    const shims = path.join(sc.ws.dir, 'runner', 'bin');
    fs.mkdirSync(shims, { recursive: true });
    if (!fs.existsSync(path.join(shims, 'terraform'))) fs.symlinkSync(bed.TERRAFORM_BINARY_NAME!, path.join(shims, 'terraform'));
    const kubeconfig = run(sc.env.TESTBED_KUBECTL, ['config', 'view', '--minify', '--flatten', '--context', `testbed-${sc.server}`], { env: bed }).stdout;
    return {
      ...env,
      PATH: [shims, ...(env.PATH ?? '').split(path.delimiter).filter((d) => !d.includes('node_modules'))].join(path.delimiter),
      // The npm cache that `npm ci` filled stands in for the registry.
      npm_config_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      // secrets.RANCHER_KUBECONFIG and the repository variables of the workflow's header
      RANCHER_KUBECONFIG: kubeconfig,
      CERTS_DIR: certsDir,
      PKI_DIR: pkiDir,
      RANCHER_ENDPOINT: `127.0.0.1:${sc.env.TESTBED_RANCHER_PORT}`,
    };
  }

  function job(name: string): RunResult {
    const r = run(path.join(REPO_ROOT, 'node_modules/.bin/ts-node'),
      ['--transpile-only', path.join(REPO_ROOT, 'scripts/pipeline-run.ts'), name, '--dir', repo, '--workflow', path.join(repo, '.github/workflows/cert-rotation.yml')],
      { cwd: REPO_ROOT, env: runnerEnv(), ok: [0, 1, 2, 3, 4, 5, 6, 127] });
    logs.push(r.stdout, r.stderr);
    if (r.status !== 0) throw new Error(`job ${name} exited ${r.status}\n--- stdout\n${r.stdout.slice(-20000)}\n--- stderr\n${r.stderr.slice(-20000)}`);
    return r;
  }

  function stateSecret(): any | undefined {
    try {
      return kubeGet(sc.server, `/api/v1/namespaces/${STATE_NAMESPACE}/secrets/tfstate-default-${SUFFIX}`);
    } catch {
      return undefined;
    }
  }

  /** The state the kubernetes backend keeps: the Secret's tfstate, gzipped (base64 text of it on some versions). */
  function storedState(): string {
    let bytes = Buffer.from(stateSecret().data.tfstate, 'base64');
    if (bytes[0] !== 0x1f) bytes = Buffer.from(bytes.toString(), 'base64');
    return gunzipSync(bytes).toString();
  }

  beforeAll(async () => {
    await resetRancherInstall();
    ensureNamespace(sc.server, STATE_NAMESPACE);
    cloneInto(repo);
    fs.mkdirSync(path.join(repo, '.github', 'workflows'), { recursive: true });
    fs.copyFileSync(path.join(REPO_ROOT, 'examples/pipelines/github/cert-rotation.yml'), path.join(repo, '.github/workflows/cert-rotation.yml'));
    // The user's CA lives on the runner, in $PKI_DIR/intermediate as `cert-rotation pki ca` lays it out; the
    // leaf and its key in $CERTS_DIR. The leaf is a year old with 20 days left: inside nightly's 30-day window.
    const ca = makePrivateCa(`Pipeline ${RUN}`);
    const caDir = path.join(pkiDir, 'intermediate');
    fs.mkdirSync(caDir, { recursive: true });
    fs.writeFileSync(path.join(caDir, 'ca.crt'), ca.intermediate.certPem);
    fs.writeFileSync(path.join(caDir, 'ca.key'), ca.intermediate.keyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(caDir, 'cacerts.pem'), ca.intermediate.certPem + ca.root.certPem);
    // The root with its key on the runner too: nightly's rollover step runs (neither CA is due).
    const rootDir = path.join(pkiDir, 'root');
    fs.mkdirSync(rootDir, { recursive: true });
    fs.writeFileSync(path.join(rootDir, 'ca.crt'), ca.root.certPem);
    fs.writeFileSync(path.join(rootDir, 'ca.key'), ca.root.keyPem, { mode: 0o600 });
    fs.writeFileSync(path.join(rootDir, 'cacerts.pem'), ca.root.certPem);
    const now = new Date();
    files = writeRancherFiles(certsDir, ca, sc.hostname, { notBefore: addDays(now, -345), notAfter: addDays(now, 20) });
    sc.keysSeen.push(files.keyPem);
    // cert-rotation.yaml as a user writes it for the kit: the kubeconfig the jobs write from the secret store,
    // the certificate files on the runner, the state on the kubernetes backend of the Rancher cluster.
    const config = parse(fs.readFileSync(sc.writeConfig(files, { downstream: [] }), 'utf8'));
    config.rancher.kubeconfig = '.secrets/kubeconfig';
    config.rancher.certificate.caFile = path.join(caDir, 'cacerts.pem');
    config.backend = { type: 'kubernetes', namespace: STATE_NAMESPACE, secretSuffix: SUFFIX };
    fs.writeFileSync(path.join(repo, 'cert-rotation.yaml'), stringify(config));
  }, JOB_TIMEOUT);

  afterAll(() => {
    fs.rmSync(sc.ws.dir, { recursive: true, force: true });
  });

  test('review: synth, plan and explain as a comment, with the plan kept; nothing written to the cluster', () => {
    const r = job('review');
    expect(r.stdout).toMatch(/==> \[\d+\/\d+\] Comment on the pull request: skipped \(uses: actions\/github-script@v7\)/);
    expect(fs.existsSync(path.join(stackDir, 'tfplan'))).toBe(true);
    const plan = JSON.parse(fs.readFileSync(path.join(stackDir, 'plan.json'), 'utf8'));
    expect(plan.resource_changes.length).toBeGreaterThan(0);
    const explain = fs.readFileSync(path.join(repo, 'explain.md'), 'utf8');
    expect(explain).toContain('tls-rancher-ingress');
    expect(explain).toContain(new X509Certificate(files.chainPem).fingerprint256.replace(/:/g, '').toLowerCase());
    // The kubeconfig the job wrote from the secret store is readable by the runner's user only.
    expect(fs.statSync(path.join(repo, '.secrets/kubeconfig')).mode & 0o077).toBe(0);
    // terraform init writes an empty state to the backend; nothing is applied and Rancher's Secret is untouched.
    expect(JSON.parse(storedState()).resources).toEqual([]);
    expect(secretData(sc.server, 'cattle-system', 'tls-rancher-ingress')['tls.crt']).not.toBe(files.chainPem);
    for (const key of sc.keysSeen) {
      expectNoKey(explain + fs.readFileSync(path.join(stackDir, 'plan.json'), 'utf8'), key, 'plan.json or explain.md');
      expectNoKey(logs.join('\n'), key, 'the review job\'s log');
    }
  }, JOB_TIMEOUT);

  test('apply: deploys, Rancher serves the new certificate, the plan after it is empty, the state is on the kubernetes backend', () => {
    const r = job('apply');
    expect(r.stdout).toMatch(/==> \[\d+\/\d+\] Nothing left to do: ok/);
    sc.expectServed(files);
    expect(JSON.parse(storedState()).resources.length).toBeGreaterThan(0);
    expect(fs.readdirSync(repo).filter((f) => f.includes('tfstate'))).toEqual([]);
    for (const key of sc.keysSeen) {
      expectNoKey(storedState(), key, 'the state on the kubernetes backend');
      expectNoKey(logs.join('\n'), key, 'the apply job\'s log');
    }
  }, JOB_TIMEOUT);

  /** The files in $CERTS_DIR now, as RancherFiles. */
  function runnerFiles(): RancherFiles {
    const read = (f: string): string => fs.readFileSync(f, 'utf8');
    return { ...files, chainPem: read(files.certFile), keyPem: read(files.keyFile) };
  }

  test('nightly, leaf inside the window: renews it, deploys it, the plan after is empty, and check passes', () => {
    const r = job('nightly');
    const renewed = runnerFiles();
    sc.keysSeen.push(renewed.keyPem);
    expect(renewed.chainPem).not.toBe(files.chainPem);
    expect(new X509Certificate(renewed.chainPem).validTo).not.toBe(new X509Certificate(files.chainPem).validTo);
    expect(Date.parse(new X509Certificate(renewed.chainPem).validTo)).toBeGreaterThan(Date.now() + 300 * 86400_000);
    expect(r.stdout).not.toContain('cert-rotation: nothing to deploy');
    // The rollover step ran on the runner's CA and found neither CA due.
    expect(r.stdout).toMatch(/==> \[\d+\/\d+\] Roll the CA over inside its window \(one phase a night\): ok/);
    expect(r.stdout).toMatch(/not due: CN=Pipeline .* Root CA of --ca-dir .*nothing written/);
    expect(r.stdout).toMatch(/not due: CN=Pipeline .* Intermediate CA of --ca-dir .*its cacerts\.pem follows --issuer-dir's; nothing written/);
    expect(r.stdout).toMatch(/==> \[\d+\/\d+\] Plan, and deploy when something changed: ok/);
    expect(r.stdout).toMatch(/==> \[\d+\/\d+\] Check expiry: ok/);
    sc.expectServed(renewed);
    for (const key of sc.keysSeen) {
      expectNoKey(storedState(), key, 'the state on the kubernetes backend');
      expectNoKey(logs.join('\n'), key, 'the nightly job\'s log');
    }
    files = renewed;
  }, JOB_TIMEOUT);

  test('nightly, leaf outside the window: renews nothing, plans nothing, deploys nothing', () => {
    const before = fs.readFileSync(files.certFile, 'utf8');
    const serial = stateSecret().metadata.resourceVersion;
    const r = job('nightly');
    expect(fs.readFileSync(files.certFile, 'utf8')).toBe(before);
    expect(r.stdout).toContain('cert-rotation: nothing to deploy');
    expect(r.stdout).not.toMatch(/Apply complete/);
    expect(stateSecret().metadata.resourceVersion).toBe(serial);
    sc.expectServed(files);
    for (const key of sc.keysSeen) expectNoKey(logs.join('\n'), key, 'the nightly job\'s log');
  }, JOB_TIMEOUT);
});
