import * as fs from 'fs';
import * as path from 'path';
import { parseDocument } from 'yaml';

// There is no offline linter for .gitlab-ci.yml: GitLab's own lint is an API
// of a GitLab instance, and no package on the npm registry ships GitLab's CI
// JSON schema in a form that runs on Node 20 offline (gitlab-ci-local, which
// bundles its own validation, needs Node 22). So this is a structural check of
// the kit's file against the keywords of GitLab's CI/CD YAML reference
// (https://docs.gitlab.com/ci/yaml/): known keywords only, every job runs a
// script in a declared stage, rules and needs are well-formed, variables are
// strings. It does not know every keyword's value syntax the way GitLab does.

const FILE = path.join(__dirname, '../../../examples/pipelines/gitlab/.gitlab-ci.yml');

const GLOBAL_KEYWORDS = new Set(['default', 'include', 'stages', 'variables', 'workflow', 'spec',
  // deprecated at the top level, still accepted
  'image', 'services', 'cache', 'before_script', 'after_script']);
const DEFAULT_KEYWORDS = new Set(['after_script', 'artifacts', 'before_script', 'cache', 'hooks', 'id_tokens', 'image',
  'interruptible', 'retry', 'services', 'tags', 'timeout']);
const JOB_KEYWORDS = new Set(['after_script', 'allow_failure', 'artifacts', 'before_script', 'cache', 'coverage',
  'dast_configuration', 'dependencies', 'environment', 'extends', 'hooks', 'identity', 'id_tokens', 'image', 'inherit',
  'interruptible', 'manual_confirmation', 'needs', 'pages', 'parallel', 'release', 'resource_group', 'retry', 'rules',
  'run', 'script', 'secrets', 'services', 'stage', 'tags', 'timeout', 'trigger', 'variables', 'when', 'only', 'except']);
const RULE_KEYWORDS = new Set(['if', 'changes', 'exists', 'when', 'allow_failure', 'variables', 'needs', 'interruptible']);
const WHEN = new Set(['on_success', 'on_failure', 'always', 'never', 'manual', 'delayed']);
const ARTIFACT_KEYWORDS = new Set(['paths', 'exclude', 'expire_in', 'expose_as', 'name', 'public', 'access', 'reports', 'untracked', 'when']);
/** The stages GitLab defines when `stages` is absent, plus the two that always exist. */
const IMPLICIT_STAGES = ['.pre', '.post'];

/** Every problem found in a parsed .gitlab-ci.yml, as "where: problem". */
function gitlabCiProblems(ci: Record<string, any>): string[] {
  const problems: string[] = [];
  const say = (where: string, problem: string): void => { problems.push(`${where}: ${problem}`); };
  const isStringList = (v: unknown): boolean => Array.isArray(v) && v.every((s) => typeof s === 'string');
  const checkScript = (where: string, v: unknown): void => {
    if (!(typeof v === 'string' || (Array.isArray(v) && v.length > 0 && v.every((s) => typeof s === 'string' || isStringList(s))))) {
      say(where, 'must be a string or a non-empty list of strings');
    }
  };
  const checkVariables = (where: string, v: unknown): void => {
    if (v === undefined) return;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return say(where, 'must be a mapping');
    for (const [k, value] of Object.entries(v)) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) say(`${where}.${k}`, 'is not a valid variable name');
      const text = typeof value === 'object' && value !== null ? (value as any).value : value;
      if (typeof text !== 'string') say(`${where}.${k}`, `must be a string (quote it), not ${JSON.stringify(value)}`);
    }
  };

  const stages: string[] = ci.stages ?? ['build', 'test', 'deploy'];
  if (!isStringList(stages)) say('stages', 'must be a list of strings');
  checkVariables('variables', ci.variables);
  if (ci.default !== undefined) {
    for (const k of Object.keys(ci.default)) if (!DEFAULT_KEYWORDS.has(k)) say(`default.${k}`, 'is not a keyword of default');
    for (const k of ['before_script', 'after_script']) if (ci.default[k] !== undefined) checkScript(`default.${k}`, ci.default[k]);
    if (ci.default.tags !== undefined && !isStringList(ci.default.tags)) say('default.tags', 'must be a list of strings');
  }

  const jobs = Object.keys(ci).filter((k) => !GLOBAL_KEYWORDS.has(k) && !k.startsWith('.'));
  if (jobs.length === 0) say('(file)', 'declares no job');
  for (const name of jobs) {
    const job = ci[name];
    if (typeof job !== 'object' || job === null || Array.isArray(job)) {
      say(name, 'is neither a global keyword nor a job (a job is a mapping with script)');
      continue;
    }
    for (const k of Object.keys(job)) if (!JOB_KEYWORDS.has(k)) say(`${name}.${k}`, 'is not a job keyword');
    if (job.trigger === undefined) checkScript(`${name}.script`, job.script);
    for (const k of ['before_script', 'after_script']) if (job[k] !== undefined) checkScript(`${name}.${k}`, job[k]);
    const stage = job.stage ?? 'test';
    if (![...stages, ...IMPLICIT_STAGES].includes(stage)) say(`${name}.stage`, `'${stage}' is not in stages (${stages.join(', ')})`);
    checkVariables(`${name}.variables`, job.variables);
    if (job.rules !== undefined && (job.only !== undefined || job.except !== undefined)) say(name, 'rules cannot be combined with only/except');
    if (job.rules !== undefined) {
      if (!Array.isArray(job.rules) || job.rules.length === 0) say(`${name}.rules`, 'must be a non-empty list');
      else job.rules.forEach((rule: any, i: number) => {
        const where = `${name}.rules[${i}]`;
        if (typeof rule !== 'object' || rule === null) return say(where, 'must be a mapping');
        for (const k of Object.keys(rule)) if (!RULE_KEYWORDS.has(k)) say(`${where}.${k}`, 'is not a rules keyword');
        if (rule.if !== undefined && (typeof rule.if !== 'string' || !/\$[A-Za-z_]/.test(rule.if))) say(`${where}.if`, 'must be an expression on $VARIABLES');
        if (rule.when !== undefined && !WHEN.has(rule.when)) say(`${where}.when`, `'${rule.when}' is not one of ${[...WHEN].join(', ')}`);
      });
    }
    for (const k of ['only', 'except']) {
      const v = job[k];
      if (v === undefined) continue;
      const ok = isStringList(v) || (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).every((kk) => ['refs', 'variables', 'changes', 'kubernetes'].includes(kk)));
      if (!ok) say(`${name}.${k}`, 'must be a list of refs or a mapping of refs, variables, changes, kubernetes');
    }
    if (job.needs !== undefined) {
      if (!Array.isArray(job.needs)) say(`${name}.needs`, 'must be a list');
      else for (const n of job.needs) {
        const target = typeof n === 'string' ? n : n?.job;
        if (typeof target !== 'string' || !jobs.includes(target)) say(`${name}.needs`, `'${JSON.stringify(n)}' is not a job of this file`);
      }
    }
    if (job.when !== undefined && !WHEN.has(job.when)) say(`${name}.when`, `'${job.when}' is not one of ${[...WHEN].join(', ')}`);
    if (job.resource_group !== undefined && typeof job.resource_group !== 'string') say(`${name}.resource_group`, 'must be a string');
    if (job.interruptible !== undefined && typeof job.interruptible !== 'boolean') say(`${name}.interruptible`, 'must be true or false');
    if (job.artifacts !== undefined) {
      for (const k of Object.keys(job.artifacts)) if (!ARTIFACT_KEYWORDS.has(k)) say(`${name}.artifacts.${k}`, 'is not an artifacts keyword');
      if (job.artifacts.paths !== undefined && !isStringList(job.artifacts.paths)) say(`${name}.artifacts.paths`, 'must be a list of strings');
      if (job.artifacts.expire_in !== undefined && !/^\d+\s*(min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|week|weeks|month|months|year|years)$|^never$/.test(job.artifacts.expire_in)) {
        say(`${name}.artifacts.expire_in`, `'${job.artifacts.expire_in}' is not a duration GitLab reads`);
      }
    }
  }
  return problems;
}

function load(text: string): Record<string, any> {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
  return doc.toJS();
}

describe('the pipeline kit\'s .gitlab-ci.yml', () => {
  const ci = load(fs.readFileSync(FILE, 'utf8'));

  test('is well-formed GitLab CI: known keywords, a script per job, stages declared, rules and variables as GitLab reads them', () => {
    expect(gitlabCiProblems(ci)).toEqual([]);
  });

  test('runs review on merge requests, apply on pushes to the default branch and nightly on schedules; apply and nightly never at once', () => {
    expect(ci.review.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "merge_request_event"' }]);
    expect(ci.apply.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH' }]);
    expect(ci.nightly.rules).toEqual([{ if: '$CI_PIPELINE_SOURCE == "schedule"' }]);
    expect(ci.apply.resource_group).toBe('cert-rotation-deploy');
    expect(ci.nightly.resource_group).toBe(ci.apply.resource_group);
    expect(ci.variables).toMatchObject({ TF_CLI_ARGS_plan: '-lock-timeout=10m', TF_CLI_ARGS_apply: '-lock-timeout=10m' });
    expect(ci.review.artifacts.paths).toContain('cdktf.out/stacks/rancher/tfplan');
  });

  test('never prints a secret: no set -x, no echo of a token, the kubeconfig copied from its file variable', () => {
    const text = fs.readFileSync(FILE, 'utf8');
    expect(text).not.toMatch(/set -x|set -o xtrace/);
    expect(text).not.toMatch(/echo[^\n]*\$(GITLAB_API_TOKEN|PGPASSWORD|RANCHER_KUBECONFIG)/);
    expect(ci.default.before_script).toContain('cp "$RANCHER_KUBECONFIG" .secrets/kubeconfig');
  });

  describe('the check itself', () => {
    test.each([
      ['an unknown job keyword', 'stages: [a]\njob:\n  stage: a\n  scirpt: [x]\n', ['job.scirpt: is not a job keyword', 'job.script: must be a string or a non-empty list of strings']],
      ['a stage not in stages', 'stages: [a]\njob:\n  stage: b\n  script: [x]\n', ["job.stage: 'b' is not in stages (a)"]],
      ['a variable that is not a string', 'variables:\n  N: 1\njob:\n  script: [x]\n', ['variables.N: must be a string (quote it), not 1']],
      ['needs naming no job', 'a:\n  script: [x]\nb:\n  script: [x]\n  needs: [c]\n', ['b.needs: \'"c"\' is not a job of this file']],
      ['rules with an unknown keyword and a bad when', 'job:\n  script: [x]\n  rules:\n    - iff: $A\n      when: later\n', ['job.rules[0].iff: is not a rules keyword', "job.rules[0].when: 'later' is not one of on_success, on_failure, always, never, manual, delayed"]],
      ['rules with only', 'job:\n  script: [x]\n  only: [main]\n  rules:\n    - if: $A\n', ['job: rules cannot be combined with only/except']],
      ['a job that is no mapping', 'job: [x]\n', ['job: is neither a global keyword nor a job (a job is a mapping with script)']],
    ])('finds %s', (_what, yaml, expected) => {
      expect(gitlabCiProblems(load(yaml))).toEqual(expected);
    });
  });
});
