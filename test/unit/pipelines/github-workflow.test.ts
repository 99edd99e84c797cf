import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse } from 'yaml';
import { DEFAULT_WORKFLOW, evaluateEnvValue, planJob, readWorkflow, runSteps, WorkflowError } from '../../../scripts/pipeline-run';

// The GitHub workflow of the pipeline kit is linted by actionlint in npm test
// (scripts/test.sh) and run job by job on the test bed by
// test/integration/pipeline.test.ts; here: what it promises a user, that the
// GitLab file runs the same commands, and scripts/pipeline-run.ts's reading of it.

const GITLAB = path.join(__dirname, '../../../examples/pipelines/gitlab/.gitlab-ci.yml');

/** The command lines of a job: every line of its run: blocks (GitHub) or scripts (GitLab), trimmed. */
function commandLines(blocks: string[]): string[] {
  return blocks.flatMap((b) => b.split('\n')).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

describe('the pipeline kit\'s GitHub workflow', () => {
  const wf = readWorkflow(DEFAULT_WORKFLOW);

  test('review on pull requests, apply on pushes to main, nightly on a schedule; apply and nightly share one concurrency group that is never cancelled', () => {
    expect(Object.keys(wf.jobs)).toEqual(['review', 'apply', 'nightly']);
    expect(Object.keys(wf.on)).toEqual(['pull_request', 'push', 'schedule', 'workflow_dispatch']);
    expect(wf.on.push.branches).toEqual(['main']);
    expect(wf.jobs.review.if).toBe("github.event_name == 'pull_request'");
    expect(wf.jobs.apply.if).toBe("github.event_name == 'push'");
    expect(wf.jobs.apply.concurrency).toEqual({ group: 'cert-rotation-deploy', 'cancel-in-progress': false });
    expect(wf.jobs.nightly.concurrency).toEqual(wf.jobs.apply.concurrency);
    expect(wf.env).toMatchObject({ TF_CLI_ARGS_plan: '-lock-timeout=10m', TF_CLI_ARGS_apply: '-lock-timeout=10m', CHECKPOINT_DISABLE: '1' });
    expect(wf.permissions).toEqual({ contents: 'read' });
    expect(wf.jobs.review.permissions).toEqual({ contents: 'read', 'pull-requests': 'write' });
  });

  test('secrets reach a step only through env:, never through an expression in a run: block, and nothing turns on tracing', () => {
    for (const job of Object.values<any>(wf.jobs)) {
      for (const step of job.steps) {
        if (step.run) {
          expect(step.run).not.toMatch(/\$\{\{/);
          expect(step.run).not.toMatch(/set -x|set -o xtrace/);
        }
      }
    }
  });

  test('the GitLab file runs the same commands in each job', () => {
    const gitlab = parse(fs.readFileSync(GITLAB, 'utf8'));
    const commands = /^(npm |npx |terraform |\(cd )/;
    for (const name of ['review', 'apply', 'nightly']) {
      const github = commandLines(wf.jobs[name].steps.filter((s: any) => s.run).map((s: any) => s.run)).filter((l) => commands.test(l));
      const gl = commandLines([...gitlab.default.before_script, ...gitlab[name].script]);
      expect({ job: name, missingInGitLab: github.filter((l) => !gl.includes(l)) }).toEqual({ job: name, missingInGitLab: [] });
      expect(github.length).toBeGreaterThan(1);
    }
    for (const k of ['CHECKPOINT_DISABLE', 'TF_CLI_ARGS_plan', 'TF_CLI_ARGS_apply', 'CERT_ROTATION_CONFIG']) expect(gitlab.variables[k]).toBe(wf.env[k]);
  });
});

describe('scripts/pipeline-run.ts', () => {
  const wf = readWorkflow(DEFAULT_WORKFLOW);

  test('runs a job\'s run: steps in the checkout or their working-directory, lists uses: steps to skip, and evaluates env from the caller', () => {
    const steps = planJob(wf, 'review', '/repo', { RANCHER_KUBECONFIG: 'apiVersion: v1', CERTS_DIR: '/srv/certs' });
    expect(steps.map((s) => s.uses ? `skip ${s.name}` : s.name)).toEqual([
      'skip Run actions/checkout@v4', 'skip Run actions/setup-node@v4', 'skip Run hashicorp/setup-terraform@v3',
      'Kubeconfig from the secret store', 'Install', 'Synth', 'Plan', 'Explain', 'skip Keep the plan', 'skip Comment on the pull request',
    ]);
    const plan = steps.find((s) => s.name === 'Plan')!;
    expect(plan.cwd).toBe('/repo/cdktf.out/stacks/rancher');
    expect(plan.env).toMatchObject({ TF_CLI_ARGS_plan: '-lock-timeout=10m', CERTS_DIR: '/srv/certs', PKI_DIR: '', PGPASSWORD: '' });
    expect(steps.find((s) => s.name === 'Kubeconfig from the secret store')!.env.RANCHER_KUBECONFIG).toBe('apiVersion: v1');
  });

  test('evaluates only secrets and vars, with a default, and refuses any other expression', () => {
    expect(evaluateEnvValue('A', "${{ vars.X || 'it''s' }}", {})).toBe("it's");
    expect(evaluateEnvValue('A', '${{ secrets.X }}', { X: 's' })).toBe('s');
    expect(evaluateEnvValue('A', 1, {})).toBe('1');
    expect(() => evaluateEnvValue('A', '${{ github.token }}', {})).toThrow(WorkflowError);
    expect(() => planJob({ jobs: { j: { steps: [{ run: 'true', if: 'always()' }] } } }, 'j', '/r', {})).toThrow(/does not evaluate conditions/);
    expect(() => planJob({ jobs: { j: { steps: [{ run: 'true', shell: 'pwsh' }] } } }, 'j', '/r', {})).toThrow(/bash steps only/);
    expect(() => planJob(wf, 'deploy', '/r', {})).toThrow("no job 'deploy'; the workflow has review, apply, nightly");
  });

  test('stops at the first failing step with its exit code, in bash -eo pipefail', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pipeline-run-'));
    try {
      const lines: string[] = [];
      const code = runSteps([
        { name: 'one', uses: 'actions/checkout@v4', cwd: dir, env: {} },
        { name: 'two', run: 'echo "$GREETING" > out.txt', cwd: dir, env: { GREETING: 'hello' } },
        { name: 'three', run: 'false | true\necho unreachable > later.txt', cwd: dir, env: {} },
        { name: 'four', run: 'touch never.txt', cwd: dir, env: {} },
      ], { PATH: process.env.PATH }, (l) => lines.push(l));
      expect(code).toBe(1);
      expect(fs.readFileSync(path.join(dir, 'out.txt'), 'utf8')).toBe('hello\n');
      expect(fs.readdirSync(dir).sort()).toEqual(['out.txt']);
      expect(lines[0]).toBe('==> [1/4] one: skipped (uses: actions/checkout@v4)');
      expect(lines[lines.length - 1]).toMatch(/^==> \[3\/4\] three: failed with exit 1 after \d+s; later steps not run$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
