import { code } from '../../../lib/cli/explain/format-markdown';
import { explainObject, loadPlan, planPath, runExplainCli, stepChange } from './fixtures/plans/plans';

// GIVEN the same real plans, WHEN explained with --format markdown, THEN the
// pull-request comment has the same facts as tables and lists, and anything
// destroyed sits in a GitHub warning block.

async function markdown(name: Parameters<typeof planPath>[0]): Promise<string> {
  const r = await runExplainCli(['explain', planPath(name), '--format', 'markdown']);
  expect(r.code).toBe(0);
  expect(r.stderr).toBe('');
  return r.stdout;
}

const ANN = 'cert-rotation.io';

describe('explain --format markdown', () => {
  test('new CA: heading, summary, certificate tables old → new, agents table, restarts per cluster, no warning', async () => {
    const plan = loadPlan('new-ca');
    const ingress = stepChange(plan, 'secret', 'server', 'tls-rancher-ingress').change;
    const ca = stepChange(plan, 'secret', 'server', 'tls-ca').change;
    const md = await markdown('new-ca');
    const lines = md.split('\n');
    expect(lines[0]).toBe(`### cert-rotation explain: \`${planPath('new-ca')}\` (terraform 1.11.4)`);
    expect(lines[2]).toBe('**9 changes: 2 certificates, 3 agents in 2 clusters, 3 workload restarts in 3 clusters, 9 commands.** Nothing destroyed.');
    expect(md).not.toContain('[!WARNING]');

    const a = (c: any, side: 'before' | 'after', k: string) => c[side].triggers_replace.annotations[`${ANN}/${k}`];
    expect(lines).toContain('**update** Secret `cattle-system/tls-rancher-ingress` on `server`');
    expect(lines).toContain(`| sha256 | \`${a(ingress, 'before', 'sha256')}\` | \`${a(ingress, 'after', 'sha256')}\` |`);
    expect(lines).toContain('| issuer | `CN=Acme A Intermediate CA` | `CN=Acme B Intermediate CA` |');
    expect(lines).toContain(`| not-after | \`${a(ingress, 'before', 'not-after')}\` | \`${a(ingress, 'after', 'not-after')}\` |`);
    expect(lines).toContain('**update** CA bundle in Secret `cattle-system/tls-ca` on `server`');
    expect(lines).toContain(`| ca-sha256 | \`${a(ca, 'before', 'ca-sha256')}\` | \`${a(ca, 'after', 'ca-sha256')}\` |`);
    expect(md).toContain('Data: server-side applied by a step (created, or taken over if it exists), then read back; tls.key read from /work/fixtures/rancher/certs/tls.key at apply.');

    const [oldSum, newSum] = [a(ca, 'before', 'cattle-ca-checksum'), a(ca, 'after', 'cattle-ca-checksum')];
    const agentRows = lines.filter((l) => l.startsWith('| `downstream-'));
    // RKE1 (downstream-2) runs the node agent; RKE2 (downstream-3) does not.
    expect(agentRows).toEqual([
      `| \`downstream-2\` | Deployment \`cattle-system/cattle-cluster-agent\` | \`cluster-register\` | \`${oldSum}\` | \`${newSum}\` |`,
      `| \`downstream-2\` | DaemonSet \`cattle-system/cattle-node-agent\` | \`agent\` | \`${oldSum}\` | \`${newSum}\` |`,
      `| \`downstream-3\` | Deployment \`cattle-system/cattle-cluster-agent\` | \`cluster-register\` | \`${oldSum}\` | \`${newSum}\` |`,
    ]);

    expect(lines).toContain('#### Workloads that will restart (3 in 3 clusters)');
    expect(lines[lines.indexOf('`server`: 1 workload') + 2]).toBe('- Deployment `cattle-system/rancher`');
    expect(lines[lines.indexOf('`downstream-2`: 1 workload') + 2]).toBe('- DaemonSet `kube-system/canal`');
    // The gate runs before any agent step.
    const gate = lines.findIndex((l) => l.includes('GATE: wait for deploy cattle-system/rancher to roll out'));
    const firstAgent = lines.findIndex((l) => l.includes('cert-rotation step agents ['));
    expect(gate).toBeGreaterThan(0);
    expect(firstAgent).toBeGreaterThan(gate);
  });

  test('destroy: the steps are no longer managed and nothing in the clusters changes; only the helm command resource is in the warning block', async () => {
    const plan = loadPlan('destroy');
    const md = await markdown('destroy');
    const lines = md.split('\n');
    const start = lines.indexOf('> [!WARNING]');
    expect(start).toBeGreaterThan(0);
    expect(lines[start + 1]).toBe('> **This plan destroys 1 resource.**');
    const items = lines.filter((l) => l.startsWith('> - **destroys**'));
    expect(items).toEqual([expect.stringMatching(/^> - \*\*destroys\*\* a command resource \(`terraform_data\.rancher-server_HelmValues_[0-9A-F]+`\)$/)]);
    const steps = plan.resource_changes.filter((rc: any) => rc.change.before?.triggers_replace?.step);
    expect(steps.length).toBe(9);
    expect(lines).toContain(`#### No longer managed (${steps.length}): nothing changes in the cluster`);
    const ca = stepChange(plan, 'secret', 'server', 'tls-ca');
    expect(lines).toContain(`- \`server\`: Secret cattle-system/tls-ca (stays as it is) (\`${ca.address}\`)`);
    const agents = stepChange(plan, 'agents', 'downstream-3');
    expect(lines).toContain(`- \`downstream-3\`: CATTLE_CA_CHECKSUM on Deployment cattle-system/cattle-cluster-agent (the agents keep it) (\`${agents.address}\`)`);
  });

  test('a replaced command resource is in the warning block and its command in a shell block', async () => {
    const md = await markdown('release-version');
    expect(md).toContain(
      '> [!WARNING]\n> **This plan destroys 1 resource.**\n>\n' +
        '> - **destroys and re-creates** a command resource (`terraform_data.rancher-server_HelmValues_618D6B02`): ' +
        'a change to triggers_replace forces replacement; its commands run again\n',
    );
    // The first command rolls back a release left pending; the second is the upgrade.
    expect(md).toMatch(/1\. `terraform_data\.rancher-server_HelmValues_618D6B02` \(replace\)\n {3}- local-exec on the machine that runs Terraform\n\n {5}```sh\n {5}if .*--pending.*\n {5}```\n/);
    expect(md).toMatch(/\n {3}- local-exec on the machine that runs Terraform\n\n {5}```sh\n {5}\S+helm upgrade rancher .* --version 2\.8\.6 .*--wait.*\n {5}```\n/);
  });

  test('commands in order with their nodes', async () => {
    const md = await markdown('node-commands');
    const items = md.split('\n').filter((l) => /^\d+\. /.test(l));
    expect(items).toEqual([
      '1. `terraform_data.rke2-server-1` (create)',
      '2. `terraform_data.rke2-server-2` (create, after 1)',
      '3. `terraform_data.rke2-server-3` (create, after 2)',
      '4. `terraform_data.rke2-agent-a` (create, after 3)',
      '5. `terraform_data.rke2-agent-b` (create, after 3)',
      '6. `terraform_data.check-api` (create, after 4, 5)',
    ]);
    expect(md).toContain('   - remote-exec on `node server-1 (10.0.0.11:22)`\n\n     ```sh\n     systemctl stop rke2-server\n     rke2 certificate rotate\n     systemctl start rke2-server\n     ```\n');
    expect(md).toContain('   - remote-exec on a remote host (not in the plan JSON)\n');
  });

  test('Helm values as a table', async () => {
    const md = await markdown('private-ca-on');
    expect(md).toContain(
      '**update** release `cattle-managed/rancher-managed` on `server` (context `testbed-1`), chart `/repo/test/fixtures/charts/rancher`\n\n' +
        '| value | old | new |\n|---|---|---|\n| `privateCA` | `false` | `true` |\n',
    );
  });

  test("nothing to rotate", async () => {
    expect(await markdown('no-change')).toBe(`### cert-rotation explain: \`${planPath('no-change')}\` (terraform 1.11.4)\n\nnothing to rotate: the plan has no changes.\n`);
  });

  test('values with pipes and backticks cannot break the table or the code span', async () => {
    const plan = loadPlan('private-ca-on');
    const helm = plan.resource_changes.find((c: any) => c.type === 'helm_release');
    helm.change.after.set[2].value = 'a|b`c';
    const r = await explainObject(plan, 'markdown');
    expect(r.stdout).toContain('| `hostname` | `rancher.testbed.test` | ``a\\|b`c`` |');
    expect(code('`x`')).toBe('`` `x` ``');
    expect(code('plain')).toBe('`plain`');
  });
});
