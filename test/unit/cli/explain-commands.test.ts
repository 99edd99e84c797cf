import { explainPlan } from '../../../lib/cli/explain/analyze';
import { parsePlan } from '../../../lib/cli/explain/plan-json';
import { explainObject, loadPlan, planPath, planText, runExplainCli, section } from './fixtures/plans/plans';

// GIVEN the real plan of RKE2's certificate rotation as commands (three servers one at a time,
// two agents after them, a local check last), WHEN explained, THEN the
// commands come in dependency order, ties broken by address, each with the
// node it runs on.

const EXPECTED_ORDER = [
  'terraform_data.rke2-server-1',
  'terraform_data.rke2-server-2',
  'terraform_data.rke2-server-3',
  'terraform_data.rke2-agent-a',
  'terraform_data.rke2-agent-b',
  'terraform_data.check-api',
];

function reversed(plan: any): any {
  plan.resource_changes.reverse();
  plan.configuration.root_module.resources.reverse();
  return plan;
}

describe('explain: commands and their order', () => {
  test('order follows depends_on; agents a and b (both after server 3) by address; the check last', () => {
    const e = explainPlan(parsePlan(planText('node-commands'), 'node-commands.json'), 'node-commands.json');
    expect(e.commands.map((c) => [c.order, c.address, c.after])).toEqual([
      [1, EXPECTED_ORDER[0], []],
      [2, EXPECTED_ORDER[1], [1]],
      [3, EXPECTED_ORDER[2], [2]],
      [4, EXPECTED_ORDER[3], [3]],
      [5, EXPECTED_ORDER[4], [3]],
      [6, EXPECTED_ORDER[5], [4, 5]],
    ]);
  });

  test('the order does not depend on the order of the JSON (alphabetical would put check-api first)', () => {
    const e = explainPlan(reversed(loadPlan('node-commands')), 'reversed');
    expect(e.commands.map((c) => c.address)).toEqual(EXPECTED_ORDER);
    expect([...EXPECTED_ORDER].sort()[0]).toBe('terraform_data.check-api');
  });

  test('the text lists each step with its node and its lines, in order', async () => {
    const r = await runExplainCli(['explain', planPath('node-commands')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('6 changes: 6 commands; nothing destroyed');
    expect(section(r.stdout, 'Commands that will run, in order (6)')).toEqual([
      '  1. terraform_data.rke2-server-1 [create]',
      '       remote-exec on node server-1 (10.0.0.11:22):',
      '         $ systemctl stop rke2-server',
      '         $ rke2 certificate rotate',
      '         $ systemctl start rke2-server',
      '  2. terraform_data.rke2-server-2 [create, after 1]',
      '       remote-exec on node server-2 (10.0.0.12:22):',
      '         $ systemctl stop rke2-server',
      '         $ rke2 certificate rotate',
      '         $ systemctl start rke2-server',
      '  3. terraform_data.rke2-server-3 [create, after 2]',
      '       remote-exec on node server-3 (10.0.0.13:22):',
      '         $ systemctl stop rke2-server',
      '         $ rke2 certificate rotate',
      '         $ systemctl start rke2-server',
      '  4. terraform_data.rke2-agent-a [create, after 3]',
      '       remote-exec on 10.0.0.21:2222:',
      '         $ systemctl restart rke2-agent',
      '  5. terraform_data.rke2-agent-b [create, after 3]',
      '       remote-exec on a remote host (not in the plan JSON):',
      '         $ systemctl restart rke2-agent',
      '  6. terraform_data.check-api [create, after 4, 5]',
      '       local-exec on the machine that runs Terraform:',
      '         $ kubectl --context rke2 get --raw /readyz',
    ]);
  });

  test('an order through a resource that is not a command still counts (server-2 waits for server-1 through a Helm release)', async () => {
    // GIVEN server-2 no longer depends on server-1 directly but on a Helm release (no provisioner) that does.
    const plan = loadPlan('private-ca-on');
    const secret = plan.configuration.root_module.resources.find((r: any) => r.type === 'helm_release');
    const nodes = loadPlan('node-commands');
    const resources = nodes.configuration.root_module.resources;
    resources.push({ ...secret, depends_on: ['terraform_data.rke2-server-1'] });
    resources.find((r: any) => r.name === 'rke2-server-2').depends_on = [secret.address];
    const e = explainPlan(nodes, 'through-secret');
    expect(e.commands.map((c) => [c.address, c.after])).toEqual([
      ['terraform_data.rke2-server-1', []],
      ['terraform_data.rke2-server-2', [1]],
      ['terraform_data.rke2-server-3', [2]],
      ['terraform_data.rke2-agent-a', [3]],
      ['terraform_data.rke2-agent-b', [3]],
      ['terraform_data.check-api', [4, 5]],
    ]);
  });

  test('a command computed from a reference says so instead of inventing a command line', async () => {
    const plan = loadPlan('node-commands');
    const check = plan.configuration.root_module.resources.find((r: any) => r.name === 'check-api');
    check.provisioners[0].expressions.command = { references: ['var.readyz_command'] };
    const r = await explainObject(plan);
    const lines = section(r.stdout, 'Commands that will run');
    expect(lines.slice(-3)).toEqual([
      '  6. terraform_data.check-api [create, after 4, 5]',
      '       local-exec on the machine that runs Terraform:',
      '         (computed at apply time from var.readyz_command)',
    ]);
  });

  test('the node comes from triggers_replace only as far as the plan shows it: a sensitive host is not printed', async () => {
    const plan = loadPlan('node-commands');
    const rc = plan.resource_changes.find((c: any) => c.address === 'terraform_data.rke2-agent-a');
    rc.change.after_sensitive = { triggers_replace: { host: true } };
    const r = await explainObject(plan);
    expect(r.stdout).not.toContain('10.0.0.21');
    expect(r.stdout).toContain('  4. terraform_data.rke2-agent-a [create, after 3]\n       remote-exec on a remote host (not in the plan JSON):');
  });

  test('resources that already exist run nothing: the no-change plan lists no command', async () => {
    const r = await runExplainCli(['explain', planPath('no-change')]);
    expect(r.stdout).not.toContain('helm upgrade');
  });
});
