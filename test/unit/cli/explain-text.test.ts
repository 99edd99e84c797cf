import { loadPlan, planPath, runExplainCli, section, stepChange } from './fixtures/plans/plans';

// GIVEN real plans of the Rancher stack (generate.ts), WHEN `explain` reads
// them, THEN the text names every certificate old → new, the agents and the
// restarts per cluster, the commands in order, and flags what is destroyed.

const ANN = 'cert-rotation.io';

/** The annotations a secret step writes, on one side of its change. */
function annotations(rc: any, side: 'before' | 'after'): Record<string, string> {
  return rc.change[side].triggers_replace.annotations;
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

describe('explain (text) on the new-CA plan', () => {
  const plan = loadPlan('new-ca');
  const ingress = stepChange(plan, 'secret', 'server', 'tls-rancher-ingress');
  const ca = stepChange(plan, 'secret', 'server', 'tls-ca');
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
    expect(summary).toBe('9 changes: 2 certificates, 3 agents in 2 clusters, 3 workload restarts in 3 clusters, 9 commands; nothing destroyed');
    expect(out).not.toContain('!!');
  });

  test('the server certificate: fingerprint, issuer, expiry, serial and chain old → new; how the data reaches the cluster', () => {
    const lines = block(section(out, 'Certificates (2)'), 'Secret cattle-system/tls-rancher-ingress on server [update]');
    const [b, a] = [annotations(ingress, 'before'), annotations(ingress, 'after')];
    expect(a[`${ANN}/sha256`]).not.toBe(b[`${ANN}/sha256`]);
    oldToNew(lines, 'sha256', b[`${ANN}/sha256`], a[`${ANN}/sha256`]);
    oldToNew(lines, 'issuer', 'CN=Acme A Intermediate CA', 'CN=Acme B Intermediate CA');
    oldToNew(lines, 'not-after', b[`${ANN}/not-after`], a[`${ANN}/not-after`]);
    oldToNew(lines, 'serial', b[`${ANN}/serial`], a[`${ANN}/serial`]);
    oldToNew(lines, 'chain-sha256', b[`${ANN}/chain-sha256`], a[`${ANN}/chain-sha256`]);
    // The SANs did not change, so they are not listed.
    expect(lines.join('\n')).not.toContain('sans');
    expect(lines).toContain(
      '      data          server-side applied by a step (created, or taken over if it exists), then read back; ' +
        'tls.key read from /work/fixtures/rancher/certs/tls.key at apply',
    );
  });

  test('the CA bundle: CA fingerprints, CATTLE_CA_CHECKSUM and expiry old → new', () => {
    const lines = block(section(out, 'Certificates (2)'), 'CA bundle in Secret cattle-system/tls-ca on server [update]');
    const [b, a] = [annotations(ca, 'before'), annotations(ca, 'after')];
    oldToNew(lines, 'ca-sha256', b[`${ANN}/ca-sha256`], a[`${ANN}/ca-sha256`]);
    oldToNew(lines, 'cattle-ca-checksum', b[`${ANN}/cattle-ca-checksum`], a[`${ANN}/cattle-ca-checksum`]);
    oldToNew(lines, 'not-after', b[`${ANN}/not-after`], a[`${ANN}/not-after`]);
  });

  test('the agents of each downstream cluster move to the checksum the new tls-ca announces: both agents on RKE1, the cluster agent on RKE2', () => {
    const lines = section(out, 'Agents whose CA checksum changes (3 agents in 2 clusters)');
    const [b, a] = [annotations(ca, 'before')[`${ANN}/cattle-ca-checksum`], annotations(ca, 'after')[`${ANN}/cattle-ca-checksum`]];
    const expected: Record<string, string[]> = {
      'downstream-2': ['Deployment cattle-system/cattle-cluster-agent, container cluster-register', 'DaemonSet cattle-system/cattle-node-agent, container agent'],
      'downstream-3': ['Deployment cattle-system/cattle-cluster-agent, container cluster-register'],
    };
    for (const [cluster, agents] of Object.entries(expected)) {
      const group = block(lines, cluster);
      expect(group[0]).toBe(`  ${cluster}`);
      expect(group.filter((l) => l.startsWith('    ~ '))).toHaveLength(agents.length);
      for (const agent of agents) {
        const agentLines = block(group, agent);
        expect(agentLines[0]).toBe(`    ~ ${agent} [update]`);
        oldToNew(agentLines, 'CATTLE_CA_CHECKSUM', b, a);
      }
    }
    expect(lines.join('\n')).not.toContain('server');
  });

  test('Rancher restarts on the server, and the listed workload in each downstream cluster', () => {
    const lines = section(out, 'Workloads that will restart (3 in 3 clusters)');
    expect(lines).toEqual([
      '  server: 1',
      '    Deployment cattle-system/rancher',
      '  downstream-2: 1',
      '    DaemonSet kube-system/canal',
      '  downstream-3: 1',
      '    DaemonSet kube-system/canal',
    ]);
  });

  test('the steps in order: secrets, Rancher restart, the gate, then per cluster the agents and the restart; no Helm value changes', () => {
    const lines = section(out, 'Commands that will run, in order (9)');
    const steps = lines.filter((l) => l.startsWith('         $ ')).map((l) => l.replace(/^ +\$ cert-rotation step /, '').split(':')[0]);
    expect(steps).toEqual([
      'secret [server]',
      'secret [server]',
      'restart [server]',
      'cacerts-gate [server]',
      'agents [downstream-2]',
      'restart [downstream-2]',
      'agents [downstream-3]',
      'restart [downstream-3]',
      'converge [server]',
    ]);
    const gate = lines.find((l) => l.includes('cacerts-gate')) as string;
    expect(gate).toContain('GATE: wait for deploy cattle-system/rancher to roll out, then until https://rancher.testbed.test/v3/settings/cacerts');
    expect(gate).toContain('fails after 180 s, before any agent changes');
    // Every agent step waits for the gate.
    const gateOrder = Number(lines.find((l) => l.includes('Gate_Step'))!.trim().split('.')[0]);
    for (const l of lines.filter((x) => x.includes('AgentCaChecksum_Step'))) expect(l).toMatch(new RegExp(`after ${gateOrder}\\]$`));
    expect(out).not.toContain('Helm release values');
    expect(out).not.toContain('Other changes');
  });
});

describe('explain (text) on the other real plans', () => {
  test('new leaf from the same CA: only the server certificate and the gate; no agents, no restarts', async () => {
    const plan = loadPlan('new-leaf');
    const ingress = stepChange(plan, 'secret', 'server', 'tls-rancher-ingress');
    const r = await runExplainCli(['explain', planPath('new-leaf')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('3 changes: 1 certificate, 3 commands; nothing destroyed');
    const lines = section(r.stdout, 'Certificates (1)');
    expect(lines[0]).toBe('  ~ Secret cattle-system/tls-rancher-ingress on server [update]');
    oldToNew(lines, 'sha256', annotations(ingress, 'before')[`${ANN}/sha256`], annotations(ingress, 'after')[`${ANN}/sha256`]);
    expect(lines).toContainEqual(expect.stringMatching(/^ {6}issuer +CN=Acme A Intermediate CA \(unchanged\)$/));
    expect(r.stdout).not.toContain('tls-ca');
    expect(r.stdout).not.toContain('Agents whose CA checksum changes');
    expect(r.stdout).not.toContain('Workloads that will restart');
    expect(r.stdout).toContain('cert-rotation step cacerts-gate [server]: GATE:');
  });

  test('first deploy: everything is created, and the helm upgrade command waits for the release', async () => {
    const plan = loadPlan('first-deploy');
    const ingress = stepChange(plan, 'secret', 'server', 'tls-rancher-ingress');
    const r = await runExplainCli(['explain', planPath('first-deploy')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('10 changes: 2 certificates, 3 agents in 2 clusters, 3 workload restarts in 3 clusters, 10 commands; nothing destroyed');
    const certs = block(section(r.stdout, 'Certificates (2)'), 'Secret cattle-system/tls-rancher-ingress');
    expect(certs[0]).toBe('  + Secret cattle-system/tls-rancher-ingress on server [create]');
    expect(certs).toContainEqual(expect.stringMatching(new RegExp(`^ {6}sha256 +${annotations(ingress, 'after')[`${ANN}/sha256`]}$`)));
    expect(certs).toContainEqual(expect.stringMatching(/^ {6}sans +rancher\.testbed\.test$/));
    expect(certs).not.toContainEqual(expect.stringContaining('→'));

    const commands = section(r.stdout, 'Commands that will run, in order (10)');
    const helm = commands.findIndex((l) => l.includes('HelmValues'));
    expect(commands[helm]).toBe('  2. terraform_data.rancher-server_HelmValues_618D6B02 [create, after 1]');
    expect(commands).toContain(
      '         $ /cache/cert-rotation/bin/helm-v3.19.0/helm upgrade rancher /repo/test/fixtures/charts/rancher --namespace cattle-system ' +
        '--version 2.8.5 --reuse-values --wait --timeout 10m --set ingress.tls.source=secret --set privateCA=true --set hostname=rancher.testbed.test ' +
        '--kubeconfig /testbed/kubeconfig --kube-context testbed-1',
    );
    // The ingress Secret is written after the chart values (cert-manager no longer owns it then).
    expect(commands.findIndex((l) => l.includes('IngressCertificate_Step'))).toBeGreaterThan(helm);
    expect(section(r.stdout, 'Workloads that will restart')).toContain('    DaemonSet kube-system/canal (first restart annotation)');
  });

  test("a plan without changes prints 'nothing to rotate' and exits 0", async () => {
    const r = await runExplainCli(['explain', planPath('no-change')]);
    expect(r).toEqual({ code: 0, stdout: `nothing to rotate: ${planPath('no-change')} (terraform 1.11.4) plans no changes\n`, stderr: '' });
  });

  test('destroy plan: the steps are listed as no longer managed (nothing changes in the clusters); only the helm command resource is flagged', async () => {
    const plan = loadPlan('destroy');
    const r = await runExplainCli(['explain', planPath('destroy')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe('10 changes: 9 steps no longer managed; !! 1 destroyed');
    const destroys = r.stdout.split('\n').filter((l) => l.startsWith('!! DESTROYS '));
    expect(destroys).toEqual(['!! DESTROYS a command resource (terraform_data.rancher-server_HelmValues_618D6B02)']);
    const released = section(r.stdout, 'No longer managed (9): nothing changes in the cluster');
    const ca = stepChange(plan, 'secret', 'server', 'tls-ca');
    expect(released).toContain(`  - server: Secret cattle-system/tls-ca (stays as it is) (${ca.address})`);
    const agents = stepChange(plan, 'agents', 'downstream-2');
    expect(released).toContain(
      `  - downstream-2: CATTLE_CA_CHECKSUM on Deployment cattle-system/cattle-cluster-agent, DaemonSet cattle-system/cattle-node-agent (the agents keep it) (${agents.address})`,
    );
    expect(r.stdout).not.toContain('Certificates');
    expect(r.stdout).not.toContain('Workloads that will restart');
    expect(r.stdout).not.toContain('Commands that will run');
  });

  test('a new chart version replaces the helm upgrade step: flagged, and its command listed with the new version', async () => {
    const r = await runExplainCli(['explain', planPath('release-version')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').slice(1, 4)).toEqual([
      '2 changes: 2 commands; !! 1 destroyed',
      '',
      '!! DESTROYS and re-creates a command resource (terraform_data.rancher-server_HelmValues_618D6B02): ' +
        'a change to triggers_replace forces replacement; its commands run again',
    ]);
    const commands = section(r.stdout, 'Commands that will run, in order (2)');
    expect(commands[0]).toBe('  1. terraform_data.rancher-server_HelmValues_618D6B02 [replace]');
    // The converge step carries the helm commands too, so it runs again after the upgrade.
    expect(commands).toContain('  2. terraform_data.rancher-server_Converge_62321A1E [replace, after 1]');
    expect(commands[4]).toContain(' upgrade rancher /repo/test/fixtures/charts/rancher --namespace cattle-system --version 2.8.6 --reuse-values ');
  });

  test('switching to a private CA: tls-ca and the agents are created, the Helm value privateCA goes false → true', async () => {
    const r = await runExplainCli(['explain', planPath('private-ca-on')]);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[1]).toBe(
      '10 changes: 2 certificates, 3 agents in 2 clusters, 3 workload restarts in 3 clusters, 9 commands, 1 Helm release; nothing destroyed',
    );
    expect(section(r.stdout, 'Certificates (2)')[0]).toBe('  + CA bundle in Secret cattle-managed/tls-ca on server [create]');
    expect(section(r.stdout, 'Helm release values (1)')).toEqual([
      '  ~ cattle-managed/rancher-managed on server (context testbed-1), chart /repo/test/fixtures/charts/rancher [update]',
      '      privateCA  false → true',
    ]);
    const agents = section(r.stdout, 'Agents whose CA checksum changes (3 agents in 2 clusters)');
    expect(agents.filter((l) => l.startsWith('    + '))).toHaveLength(3);
    // The Rancher Deployment of this release is named after it.
    expect(r.stdout).toContain('GATE: wait for deploy cattle-managed/rancher-managed to roll out');
  });
});

describe('explain (text) on real plans changed in one place', () => {
  test('a restart step whose trust hash does not change is not a restart (the step only changed elsewhere)', async () => {
    const plan = loadPlan('new-ca');
    const canal = stepChange(plan, 'restart', 'downstream-3');
    canal.change.after.triggers_replace.annotations = { ...canal.change.before.triggers_replace.annotations };
    const r = await runExplainCli(['explain', '-'], JSON.stringify(plan));
    const restarts = section(r.stdout, 'Workloads that will restart');
    expect(restarts).not.toContain('  downstream-3: 1');
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
