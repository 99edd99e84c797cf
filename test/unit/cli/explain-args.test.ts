import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { EXPLAIN_HELP, parseExplainArgs } from '../../../lib/cli/commands/explain';
import { toolHelp } from '../../../lib/cli/main';
import { loadPlan, planPath, planText, runExplainCli } from './fixtures/plans/plans';

const FIX = '`terraform show -json tfplan > plan.json`';

describe('explain: command line', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'explain-args-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  function write(name: string, content: string | Buffer): string {
    const file = path.join(dir, name);
    fs.writeFileSync(file, content);
    return file;
  }

  test('the tool lists explain; --help, -h and help explain print its help on stdout', async () => {
    expect(toolHelp()).toMatch(/^ {2}explain +summarize a plan \(terraform show -json\)/m);
    for (const argv of [['explain', '--help'], ['explain', '-h'], ['help', 'explain'], ['explain', 'plan.json', '--help']]) {
      const r = await runExplainCli(argv);
      expect(r).toEqual({ code: 0, stdout: EXPLAIN_HELP, stderr: '' });
    }
    expect(EXPLAIN_HELP).toMatch(/^Usage: cert-rotation explain <plan\.json \| -> \[options\]\n/);
    expect(EXPLAIN_HELP).toContain('--format FORMAT  text (default) or markdown');
    expect(EXPLAIN_HELP).toContain('terraform show -json tfplan > plan.json');
    expect(EXPLAIN_HELP).toContain('Exit codes:');
  });

  test.each([
    [[], "no plan given; pass the plan JSON file, or - for stdin"],
    [['a.json', 'b.json'], 'one plan at a time: got 2 (a.json, b.json); run explain once per plan'],
    [['plan.json', '--format', 'json'], "--format 'json' is not a format; use one of: text, markdown"],
    [['plan.json', '--output', 'json'], "Unknown option '--output'"],
    [[''], 'an empty path was given'],
  ])('usage error %j exits 3 and names the problem', async (args, message) => {
    const r = await runExplainCli(['explain', ...args]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`cert-rotation explain: ${message}`);
    expect(r.stderr).toContain("Run 'cert-rotation explain --help' for usage.");
  });

  test('parses the plan and the format', () => {
    expect(parseExplainArgs(['plan.json'])).toEqual({ plan: 'plan.json', format: 'text' });
    expect(parseExplainArgs(['--format', 'markdown', '-'])).toEqual({ plan: '-', format: 'markdown' });
    expect(parseExplainArgs(['--format=markdown', 'p.json'])).toEqual({ plan: 'p.json', format: 'markdown' });
  });

  test('a missing file: exit 3, the file named, and how to produce it', async () => {
    const missing = path.join(dir, 'missing.json');
    const r = await runExplainCli(['explain', missing]);
    expect(r).toEqual({
      code: 3,
      stdout: '',
      stderr: `cert-rotation explain: ${missing} does not exist; produce it with ${FIX} (after \`terraform plan -out=tfplan\`).\n`,
    });
  });

  test.each([
    ['a directory', () => dir, 'is a directory'],
    ['an empty file', () => write('empty.json', ''), 'is empty'],
    ['text that is not JSON', () => write('notes.txt', 'hello'), 'is not JSON ('],
    ['the binary plan file', () => write('tfplan', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(64)])), 'is a binary plan file (what `terraform plan -out` writes), not its JSON form'],
    [
      'the text output of terraform plan',
      () => write('plan.txt', 'Terraform used the selected providers to generate the following execution plan.\n  ~ update in-place\n'),
      'is the text output of `terraform plan`, not JSON',
    ],
    [
      'the streamed log of terraform plan -json',
      () => write('plan.log', '{"@level":"info","@message":"Terraform 1.11.4","@module":"terraform.ui","type":"version"}\n{"@level":"info"}\n'),
      'is the streamed log of `terraform plan -json`, not a plan',
    ],
    [
      'the JSON of a state',
      () => {
        const plan = loadPlan('new-ca');
        return write('state.json', JSON.stringify({ format_version: '1.0', terraform_version: plan.terraform_version, values: plan.prior_state.values }));
      },
      'is the JSON of a state (`terraform show -json` without a plan file), not a plan',
    ],
    ['a JSON list', () => write('list.json', '[]'), 'is JSON but not a Terraform plan (it is not an object)'],
    ['JSON without format_version', () => write('other.json', '{"resource_changes": []}'), 'is JSON but not a Terraform plan (it has no format_version)'],
    [
      'an unknown format_version',
      () => write('v2.json', planText('no-change').replace(/"format_version": "1\.2"/, '"format_version": "2.0"')),
      'has format_version 2.0, but only 1.x is understood',
    ],
  ])('%s: exit 3, the file named, and how to produce a plan JSON', async (_what, make, problem) => {
    const file = make();
    const r = await runExplainCli(['explain', file]);
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr.startsWith(`cert-rotation explain: ${file} ${problem}`)).toBe(true);
    expect(r.stderr).toContain('terraform show -json tfplan > plan.json');
    expect(r.stderr.split('\n')).toHaveLength(2);
  });

  test('- reads the plan from stdin and names it stdin', async () => {
    const fromFile = await runExplainCli(['explain', planPath('new-ca')]);
    const fromStdin = await runExplainCli(['explain', '-'], planText('new-ca'));
    expect(fromStdin.code).toBe(0);
    expect(fromStdin.stdout).toBe(fromFile.stdout.replace(planPath('new-ca'), 'stdin'));
    const none = await runExplainCli(['explain', '-', '--format', 'markdown'], planText('no-change'));
    expect(none.stdout).toContain('nothing to rotate');
  });

  test('- with a terminal on stdin, or something that is not a plan, exits 3', async () => {
    const tty = await runExplainCli(['explain', '-'], '', true);
    expect(tty.code).toBe(3);
    expect(tty.stderr).toBe('cert-rotation explain: stdin is a terminal, not a plan; pipe the plan into it: `terraform show -json tfplan | cert-rotation explain -`\n');
    const garbage = await runExplainCli(['explain', '-'], '{"hello": 1}');
    expect(garbage.code).toBe(3);
    expect(garbage.stderr).toContain('cert-rotation explain: stdin is JSON but not a Terraform plan');
  });
});
