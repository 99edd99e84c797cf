import { code } from '../../../lib/cli/explain/format-markdown';
import { changeNamed, explainObject, loadPlan, planPath, runExplainCli } from './fixtures/plans/plans';

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
    const ingress = changeNamed(plan, 'kubernetes_secret_v1', 'tls-rancher-ingress').change;
    const ca = changeNamed(plan, 'kubernetes_secret_v1', 'tls-ca').change;
    const md = await markdown('new-ca');
    const lines = md.split('\n');
    expect(lines[0]).toBe(`### cert-rotation explain: \`${planPath('new-ca')}\` (terraform 1.11.4)`);
    expect(lines[2]).toBe('**27 changes: 2 certificates, 4 agents in 2 clusters, 21 workload restarts in 3 clusters.** Nothing destroyed.');
    expect(md).not.toContain('[!WARNING]');

    const a = (c: any, side: 'before' | 'after', k: string) => c[side].metadata[0].annotations[`${ANN}/${k}`];
    expect(lines).toContain('**update** Secret `cattle-system/tls-rancher-ingress` on `server` (context `testbed-1`)');
    expect(lines).toContain(`| sha256 | \`${a(ingress, 'before', 'sha256')}\` | \`${a(ingress, 'after', 'sha256')}\` |`);
    expect(lines).toContain('| issuer | `CN=Acme A Intermediate CA` | `CN=Acme B Intermediate CA` |');
    expect(lines).toContain(`| not-after | \`${a(ingress, 'before', 'not-after')}\` | \`${a(ingress, 'after', 'not-after')}\` |`);
    expect(lines).toContain('**update** CA bundle in Secret `cattle-system/tls-ca` on `server` (context `testbed-1`)');
    expect(lines).toContain(`| ca-sha256 | \`${a(ca, 'before', 'ca-sha256')}\` | \`${a(ca, 'after', 'ca-sha256')}\` |`);

    const [oldSum, newSum] = [a(ca, 'before', 'cattle-ca-checksum'), a(ca, 'after', 'cattle-ca-checksum')];
    const agentRows = lines.filter((l) => l.startsWith('| `downstream_'));
    expect(agentRows).toEqual([
      `| \`downstream_2\` (context \`testbed-2\`) | Deployment \`cattle-system/cattle-cluster-agent\` | \`cluster-register\` | \`${oldSum}\` | \`${newSum}\` |`,
      `| \`downstream_2\` (context \`testbed-2\`) | DaemonSet \`cattle-system/cattle-node-agent\` | \`agent\` | \`${oldSum}\` | \`${newSum}\` |`,
      `| \`downstream_3\` (context \`testbed-3\`) | Deployment \`cattle-system/cattle-cluster-agent\` | \`cluster-register\` | \`${oldSum}\` | \`${newSum}\` |`,
      `| \`downstream_3\` (context \`testbed-3\`) | DaemonSet \`cattle-system/cattle-node-agent\` | \`agent\` | \`${oldSum}\` | \`${newSum}\` |`,
    ]);

    expect(lines).toContain('#### Workloads that will restart (21 in 3 clusters)');
    for (const cluster of ['`server` (context `testbed-1`)', '`downstream_2` (context `testbed-2`)', '`downstream_3` (context `testbed-3`)']) {
      const i = lines.indexOf(`${cluster}: 7 workloads`);
      expect(i).toBeGreaterThan(0);
      expect(lines.slice(i + 2, i + 9).every((l) => /^- (Deployment|DaemonSet) `[a-z-]+\/[a-z-]+`$/.test(l))).toBe(true);
    }
  });

  test('destroy: a warning block lists every destroyed resource, loudly', async () => {
    const plan = loadPlan('destroy');
    const md = await markdown('destroy');
    const lines = md.split('\n');
    const start = lines.indexOf('> [!WARNING]');
    expect(start).toBeGreaterThan(0);
    expect(lines[start + 1]).toBe('> **This plan destroys 28 resources.**');
    const items = lines.filter((l) => l.startsWith('> - **destroys**'));
    expect(items).toHaveLength(plan.resource_changes.length);
    const ca = changeNamed(plan, 'kubernetes_secret_v1', 'tls-ca');
    expect(items).toContain(`> - **destroys** Secret \`cattle-system/tls-ca\` on \`server\` (\`${ca.address}\`)`);
    // The block is contiguous: every line from the alert to its end is quoted.
    const end = lines.findIndex((l, i) => i > start && !l.startsWith('>'));
    expect(end - start).toBe(1 + 2 + plan.resource_changes.length);
  });

  test('a replaced command resource is in the warning block and its command in a shell block', async () => {
    const md = await markdown('release-version');
    expect(md).toContain(
      '> [!WARNING]\n> **This plan destroys 1 resource.**\n>\n' +
        '> - **destroys and re-creates** a command resource (`terraform_data.rancher-server_HelmValues_618D6B02`): ' +
        'a change to triggers_replace forces replacement; its commands run again\n',
    );
    expect(md).toMatch(/1\. `terraform_data\.rancher-server_HelmValues_618D6B02` \(replace\)\n {3}- local-exec on the machine that runs Terraform\n\n {5}```sh\n {5}\S+helm upgrade rancher .* --version 2\.8\.6 .*\n {5}```\n/);
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
      '**update** release `cattle-system/rancher-managed` on `server` (context `testbed-1`), chart `/repo/test/fixtures/charts/rancher`\n\n' +
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
    expect(r.stdout).toContain('| `hostname` | `rancher.example.test` | ``a\\|b`c`` |');
    expect(code('`x`')).toBe('`` `x` ``');
    expect(code('plain')).toBe('`plain`');
  });
});
