import { RolloutRestart } from '../../../lib/rotation/rollout-restart';
import { changeNamed, loadPlan, planPath, runExplainCli, section } from './fixtures/plans/plans';

// GIVEN real plans of the Rancher stack (generate.ts), WHEN `explain` reads
// them, THEN the text names every certificate old → new, the agents and the
// restarts per cluster, the commands in order, and flags what is destroyed.

const ANN = 'cert-rotation.io';

function annotations(rc: any, side: 'before' | 'after'): Record<string, string> {
  return rc.change[side].metadata[0].annotations;
}

/** The lines of the block that starts with `head` inside a section, up to the next line indented as little. */
function block(lines: string[], head: string): string[] {
  const start = lines.findIndex((l) => l.includes(head));
  if (start < 0) throw new Error(`no '${head}' in:\n${lines.join('\n')}`);
  const indent = lines[start].search(/\S/);
  const end = lines.findIndex((l, i) => i > start && l.search(/\S/) <= indent);
  return lines.slice(start, end < 0 ? undefined : end);
}

/** `label old` + `→ new` on the next line (long values) or `label old → new` on one line. */
function oldToNew(lines: string[], label: string, before: string, after: string): void {
  const i = lines.findIndex((l) => l.trimStart().startsWith(`${label} `));
  if (i < 0) throw new Error(`no '${label}' in:\n${lines.join('\n')}`);
  const text = `${lines[i]}\n${lines[i + 1] ?? ''}`;
  expect(text).toMatch(new RegExp(`${label}\\s+${escape(before)}(\\s+→ |\\n\\s+→ )${escape(after)}(\\n|$)`));
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

const DEFAULT_WORKLOADS = RolloutRestart.RANCHER_DEFAULT_WORKLOADS.map((w) => `${w.kind} ${w.namespace}/${w.name}`).sort();

describe('explain (text) on the new-CA plan', () => {
  const plan = loadPlan('new-ca');
  const ingress = changeNamed(plan, 'kubernetes_secret_v1', 'tls-rancher-ingress');
  const ca = changeNamed(plan, 'kubernetes_secret_v1', 'tls-ca');
  let out: string;

  beforeAll(async () => {
    const r = await runExplainCli(['explain', planPath('new-ca')]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    out = r.stdout;
  });

  test('the header names the file, the engine and what the plan does, and that nothing is destroyed', () => {
    const [title, summary] = out.split('\n');
    expect(title).toBe(`cert-rotation explain: ${planPath('new-ca')} (terraform ${plan.terraform_version})`);
    expect(summary).toBe('27 changes: 2 certificates, 4 agents in 2 clusters, 21 workload restarts in 3 clusters; nothing destroyed');
    expect(out).not.toContain('!!');
  });

  test('the server certificate: fingerprint, issuer, expiry, serial and chain old → new; the write-only key is re-sent', () => {
    const lines = block(section(out, 'Certificates (2)'), 'Secret cattle-system/tls-rancher-ingress on server (context testbed-1) [update]');
    const [b, a] = [annotations(ingress, 'before'), annotations(ingress, 'after')];
    expect(a[`${ANN}/sha256`]).not.toBe(b[`${ANN}/sha256`]);
    oldToNew(lines, 'sha256', b[`${ANN}/sha256`], a[`${ANN}/sha256`]);
    oldToNew(lines, 'issuer', 'CN=Acme A Intermediate CA', 'CN=Acme B Intermediate CA');
    oldToNew(lines, 'not-after', b[`${ANN}/not-after`], a[`${ANN}/not-after`]);
    oldToNew(lines, 'serial', b[`${ANN}/serial`], a[`${ANN}/serial`]);
    oldToNew(lines, 'chain-sha256', b[`${ANN}/chain-sha256`], a[`${ANN}/chain-sha256`]);
    // The SANs did not change, so they are not listed.
    expect(lines.join('\n')).not.toContain('sans');
    expect(lines).toContainEqual(
      expect.stringMatching(
        new RegExp(`tls\\.crt, tls\\.key\\s+sent write-only \\(revision ${ingress.change.before.data_wo_revision} → ${ingress.change.after.data_wo_revision}\\)$`),
      ),
    );
  });

  test('the CA bundle: CA fingerprints, CATTLE_CA_CHECKSUM and expiry old → new', () => {
    const lines = block(section(out, 'Certificates (2)'), 'CA bundle in Secret cattle-system/tls-ca on server (context testbed-1) [update]');
    const [b, a] = [annotations(ca, 'before'), annotations(ca, 'after')];
    oldToNew(lines, 'ca-sha256', b[`${ANN}/ca-sha256`], a[`${ANN}/ca-sha256`]);
    oldToNew(lines, 'cattle-ca-checksum', b[`${ANN}/cattle-ca-checksum`], a[`${ANN}/cattle-ca-checksum`]);
    oldToNew(lines, 'not-after', b[`${ANN}/not-after`], a[`${ANN}/not-after`]);
  });

  test('both agents in each downstream cluster move to the checksum the new tls-ca announces', () => {
    const lines = section(out, 'Agents whose CA checksum changes (4 agents in 2 clusters)');
    const [b, a] = [annotations(ca, 'before')[`${ANN}/cattle-ca-checksum`], annotations(ca, 'after')[`${ANN}/cattle-ca-checksum`]];
    for (const cluster of ['downstream_2 (context testbed-2)', 'downstream_3 (context testbed-3)']) {
      const group = block(lines, cluster);
      expect(group[0]).toBe(`  ${cluster}`);
      for (const agent of ['Deployment cattle-system/cattle-cluster-agent, container cluster-register', 'DaemonSet cattle-system/cattle-node-agent, container agent']) {
        const agentLines = block(group, agent);
        expect(agentLines[0]).toBe(`    ~ ${agent} [update]`);
        oldToNew(agentLines, 'CATTLE_CA_CHECKSUM', b, a);
      }
    }
    expect(lines.join('\n')).not.toContain('server');
  });

  test('the seven default workloads restart in each of the three clusters', () => {
    const lines = section(out, 'Workloads that will restart (21 in 3 clusters)');
    for (const cluster of ['server (context testbed-1): 7', 'downstream_2 (context testbed-2): 7', 'downstream_3 (context testbed-3): 7']) {
      const group = block(lines, cluster);
      expect(group.slice(1).map((l) => l.trim()).sort()).toEqual(DEFAULT_WORKLOADS);
    }
  });

  test('no command runs and no Helm value changes', () => {
    expect(out).not.toContain('Commands that will run');
    expect(out).not.toContain('Helm release values');
    expect(out).not.toContain('Other changes');
  });
});

describe('explain (text) on the other real plans', () => {
  test('new leaf from the same CA: only the server certificate, the issuer unchanged, restarts, no agents', async () => {
    const plan = loadPlan('new-leaf');
    const ingress = changeNamed(plan, 'kubernetes_secret_v1', 'tls-rancher-ingress');
    const r = await runExplainCli(['explain', planPath('new-leaf')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('22 changes: 1 certificate, 21 workload restarts in 3 clusters; nothing destroyed');
    const lines = section(r.stdout, 'Certificates (1)');
    expect(lines[0]).toBe('  ~ Secret cattle-system/tls-rancher-ingress on server (context testbed-1) [update]');
    oldToNew(lines, 'sha256', annotations(ingress, 'before')[`${ANN}/sha256`], annotations(ingress, 'after')[`${ANN}/sha256`]);
    expect(lines).toContainEqual(expect.stringMatching(/^ {6}issuer +CN=Acme A Intermediate CA \(unchanged\)$/));
    expect(r.stdout).not.toContain('tls-ca');
    expect(r.stdout).not.toContain('Agents whose CA checksum changes');
    expect(section(r.stdout, 'Workloads that will restart (21 in 3 clusters)')).toHaveLength(24);
  });

  test('first deploy: everything is created, and the helm upgrade command runs on the machine that runs Terraform', async () => {
    const plan = loadPlan('first-deploy');
    const ingress = changeNamed(plan, 'kubernetes_secret_v1', 'tls-rancher-ingress');
    const r = await runExplainCli(['explain', planPath('first-deploy')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('28 changes: 2 certificates, 4 agents in 2 clusters, 21 workload restarts in 3 clusters, 1 command; nothing destroyed');
    const certs = block(section(r.stdout, 'Certificates (2)'), 'Secret cattle-system/tls-rancher-ingress');
    expect(certs[0]).toBe('  + Secret cattle-system/tls-rancher-ingress on server (context testbed-1) [create]');
    expect(certs).toContainEqual(expect.stringMatching(new RegExp(`^ {6}sha256 +${annotations(ingress, 'after')[`${ANN}/sha256`]}$`)));
    expect(certs).toContainEqual(expect.stringMatching(/^ {6}sans +rancher\.example\.test$/));
    expect(certs).not.toContainEqual(expect.stringContaining('→'));

    const commands = section(r.stdout, 'Commands that will run, in order (1)');
    expect(commands[0]).toBe('  1. terraform_data.rancher-server_HelmValues_618D6B02 [create]');
    expect(commands[1]).toBe('       local-exec on the machine that runs Terraform:');
    expect(commands[2]).toBe(
      '         $ /cache/cert-rotation/bin/helm-v3.19.0/helm upgrade rancher /repo/test/fixtures/charts/rancher --namespace cattle-system ' +
        '--version 2.8.5 --reuse-values --set ingress.tls.source=secret --set privateCA=true --set hostname=rancher.example.test ' +
        '--kubeconfig /testbed/kubeconfig --kube-context testbed-1',
    );
    expect(section(r.stdout, 'Workloads that will restart')).toContain('    DaemonSet kube-system/canal (first restart annotation)');
  });

  test("a plan without changes prints 'nothing to rotate' and exits 0", async () => {
    const r = await runExplainCli(['explain', planPath('no-change')]);
    expect(r).toEqual({ code: 0, stdout: `nothing to rotate: ${planPath('no-change')} (terraform 1.11.4) plans no changes\n`, stderr: '' });
  });

  test('destroy plan: every resource is flagged with !! DESTROYS, with what follows from it', async () => {
    const plan = loadPlan('destroy');
    const r = await runExplainCli(['explain', planPath('destroy')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('28 changes: 2 certificates, 4 agents in 2 clusters, 21 workload restarts in 3 clusters; !! 28 destroyed');
    const destroys = r.stdout.split('\n').filter((l) => l.startsWith('!! DESTROYS '));
    expect(destroys).toHaveLength(plan.resource_changes.length);
    const ca = changeNamed(plan, 'kubernetes_secret_v1', 'tls-ca');
    expect(destroys).toContain(`!! DESTROYS Secret cattle-system/tls-ca on server (${ca.address})`);
    const canal = changeNamed(plan, 'kubernetes_annotations', 'canal', 'downstream-3');
    expect(destroys).toContain(
      `!! DESTROYS the restart annotation of DaemonSet kube-system/canal on downstream_3 (${canal.address}): ` +
        'Terraform writes an empty annotation map, which rolls the pods once more',
    );
    const nodeAgent = changeNamed(plan, 'kubernetes_env', 'cattle-node-agent', 'downstream-2');
    expect(destroys).toContain(
      `!! DESTROYS env of DaemonSet cattle-system/cattle-node-agent (container agent) on downstream_2 (${nodeAgent.address}): ` +
        'CATTLE_CA_CHECKSUM is removed from the pod template, which rolls the pods',
    );
    expect(destroys).toContain('!! DESTROYS a command resource (terraform_data.rancher-server_HelmValues_618D6B02)');
    // The destroyed certificates still show what goes away.
    const certs = block(section(r.stdout, 'Certificates (2)'), 'Secret cattle-system/tls-rancher-ingress');
    expect(certs[0]).toBe('  - Secret cattle-system/tls-rancher-ingress on server (context testbed-1) [delete]');
    expect(certs).toContainEqual(expect.stringMatching(/^ {6}issuer +CN=Acme B Intermediate CA$/));
    expect(section(r.stdout, 'Workloads that will restart')).toContain('    Deployment kube-system/kube-dns (annotation removed: the pods roll once more)');
    // A destroyed command resource runs nothing.
    expect(r.stdout).not.toContain('Commands that will run');
  });

  test('a new chart version replaces the helm upgrade step: flagged, and its command listed with the new version', async () => {
    const r = await runExplainCli(['explain', planPath('release-version')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(1, 4)).toEqual([
      '1 change: 1 command; !! 1 destroyed',
      '',
      '!! DESTROYS and re-creates a command resource (terraform_data.rancher-server_HelmValues_618D6B02): ' +
        'a change to triggers_replace forces replacement; its commands run again',
    ]);
    const commands = section(r.stdout, 'Commands that will run, in order (1)');
    expect(commands[0]).toBe('  1. terraform_data.rancher-server_HelmValues_618D6B02 [replace]');
    expect(commands[2]).toContain(' upgrade rancher /repo/test/fixtures/charts/rancher --namespace cattle-system --version 2.8.6 --reuse-values ');
  });

  test('switching to a private CA: tls-ca and the agents are created, the Helm value privateCA goes false → true', async () => {
    const r = await runExplainCli(['explain', planPath('private-ca-on')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe(
      '27 changes: 1 certificate, 4 agents in 2 clusters, 21 workload restarts in 3 clusters, 1 Helm release; nothing destroyed',
    );
    expect(section(r.stdout, 'Certificates (1)')[0]).toBe('  + CA bundle in Secret cattle-system/tls-ca on server (context testbed-1) [create]');
    expect(section(r.stdout, 'Helm release values (1)')).toEqual([
      '  ~ cattle-system/rancher-managed on server (context testbed-1), chart /repo/test/fixtures/charts/rancher [update]',
      '      privateCA  false → true',
    ]);
    const agents = section(r.stdout, 'Agents whose CA checksum changes (4 agents in 2 clusters)');
    expect(agents.filter((l) => l.startsWith('    + '))).toHaveLength(4);
  });
});

describe('explain (text) on real plans changed in one place', () => {
  test('an annotation update that does not change the trust hash is not a restart: it is listed under other changes', async () => {
    const plan = loadPlan('new-ca');
    const canal = changeNamed(plan, 'kubernetes_annotations', 'canal', 'ServerRolloutRestart');
    canal.change.after.template_annotations = { ...canal.change.before.template_annotations };
    canal.change.after.field_manager = 'someone-else';
    const r = await runExplainCli(['explain', '-'], JSON.stringify(plan));
    expect(r.stdout.split('\n')[1]).toBe('27 changes: 2 certificates, 4 agents in 2 clusters, 20 workload restarts in 3 clusters, 1 other change; nothing destroyed');
    const server = block(section(r.stdout, 'Workloads that will restart (20 in 3 clusters)'), 'server (context testbed-1): 6');
    expect(server).toHaveLength(7);
    expect(server).not.toContain('    DaemonSet kube-system/canal');
    expect(section(r.stdout, 'Other changes (1)')).toEqual([`  ~ ${canal.address} [update]`]);
  });

  test('a resource gone from the configuration is destroyed on an unknown cluster, and the reason is given', async () => {
    const plan = loadPlan('destroy');
    const ca = changeNamed(plan, 'kubernetes_secret_v1', 'tls-ca');
    ca.action_reason = 'delete_because_no_resource_config';
    plan.configuration.root_module.resources = plan.configuration.root_module.resources.filter((r: any) => r.address !== ca.address);
    const r = await runExplainCli(['explain', '-'], JSON.stringify(plan));
    expect(r.stdout).toContain(`!! DESTROYS Secret cattle-system/tls-ca on unknown (${ca.address}): it is no longer in the configuration\n`);
  });

  test('a plan Terraform reported errors for, or with deferred changes, says so loudly', async () => {
    const plan = loadPlan('new-leaf');
    plan.errored = true;
    plan.complete = false;
    const r = await runExplainCli(['explain', '-'], JSON.stringify(plan));
    expect(r.stdout.split('\n').slice(2, 4)).toEqual([
      '!! the plan is incomplete: Terraform reported errors while planning; fix them and plan again before applying',
      '!! some changes are deferred to a later plan (complete: false); another plan and apply will follow this one',
    ]);
  });
});
