import { parsePlan } from '../../../lib/cli/explain/plan-json';
import { changeNamed, explainObject, loadPlan, PLAN_FIXTURES, planPath, planText, runExplainCli } from './fixtures/plans/plans';

// The fixtures are real `terraform show -json` output and must hold no key;
// `explain` must never print secret data, whatever the plan holds.

/** Every string anywhere in a JSON value. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value !== null && typeof value === 'object') Object.values(value).forEach((v) => strings(v, out));
  return out;
}

/** The values of every Secret's `data`, on both sides of every change, as Terraform printed them. */
function secretData(plan: any): string[] {
  return plan.resource_changes
    .filter((rc: any) => rc.type === 'kubernetes_secret_v1')
    .flatMap((rc: any) => [rc.change.before?.data, rc.change.after?.data])
    .filter((d: unknown) => d && typeof d === 'object')
    .flatMap((d: Record<string, string>) => Object.values(d));
}

describe('plan fixtures', () => {
  test.each(PLAN_FIXTURES)('%s is a Terraform plan in JSON from a real engine', (name) => {
    const plan = parsePlan(planText(name), name);
    expect(plan.format_version).toMatch(/^1\.\d+$/);
    expect(plan.terraform_version).toBe('1.11.4');
    expect(loadPlan(name).configuration.root_module.resources.length).toBeGreaterThan(0);
  });

  test.each(PLAN_FIXTURES)('%s holds no private key, in PEM or base64, and only certificates as PEM', (name) => {
    const text = planText(name);
    expect(text).not.toMatch(/PRIVATE KEY/);
    const pemTypes = new Set([...text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----/g)].map((m) => m[1]));
    expect([...pemTypes].filter((t) => t !== 'CERTIFICATE')).toEqual([]);
    for (const s of strings(loadPlan(name))) {
      const compact = s.replace(/\s+/g, '');
      if (compact.length >= 40 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact)) {
        expect(Buffer.from(compact, 'base64').toString('latin1')).not.toMatch(/PRIVATE KEY/);
      }
    }
    // The write-only content is never in a plan: data_wo is null on both sides of every Secret.
    for (const rc of loadPlan(name).resource_changes ?? []) {
      if (rc.type !== 'kubernetes_secret_v1') continue;
      expect(rc.change.before?.data_wo ?? null).toBeNull();
      expect(rc.change.after?.data_wo ?? null).toBeNull();
    }
  });

  test.each(PLAN_FIXTURES)('%s holds no machine-specific path', (name) => {
    const text = planText(name);
    expect(text).not.toMatch(/\/tmp\/|\/root\/|\/home\/|\/work\/main|\/\.cache\//);
  });
});

describe('explain never prints secret values', () => {
  test.each(PLAN_FIXTURES.flatMap((n) => [[n, 'text'], [n, 'markdown']] as const))('%s as %s', async (name, format) => {
    const plan = loadPlan(name);
    const r = await runExplainCli(['explain', planPath(name), '--format', format]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('-----BEGIN');
    // tls-ca's data is printed in clear by `terraform show -json` (marked sensitive only).
    for (const value of secretData(plan)) {
      for (const line of value.split('\n').filter((l) => l.length >= 40)) expect(r.stdout).not.toContain(line);
    }
  });

  test('the fixtures do carry Secret data that terraform marks sensitive, so the check above has something to find', () => {
    const ca = changeNamed(loadPlan('new-ca'), 'kubernetes_secret_v1', 'tls-ca');
    expect(ca.change.after.data['cacerts.pem']).toContain('-----BEGIN CERTIFICATE-----');
    expect(ca.change.after_sensitive.data).toBe(true);
  });

  test('annotations marked sensitive are shown as (sensitive), never their value', async () => {
    const plan = loadPlan('new-ca');
    const ingress = changeNamed(plan, 'kubernetes_secret_v1', 'tls-rancher-ingress');
    ingress.change.after_sensitive.metadata[0].annotations = true;
    const newSha = ingress.change.after.metadata[0].annotations['cert-rotation.io/sha256'];
    const r = await explainObject(plan);
    expect(r.stdout).not.toContain(newSha);
    expect(r.stdout).toMatch(/\n {6}sha256 +[0-9a-f]{64}\n +→ \(sensitive\)\n/);
  });

  test('a Helm value marked sensitive is not printed; set_sensitive values never are', async () => {
    const plan = loadPlan('private-ca-on');
    const helm = plan.resource_changes.find((c: any) => c.type === 'helm_release');
    helm.change.before_sensitive.set[1] = { value: true };
    helm.change.after_sensitive.set[1] = { value: true };
    helm.change.before.set_sensitive = [{ name: 'bootstrapPassword', value: 'hunter2-before' }];
    helm.change.after.set_sensitive = [{ name: 'bootstrapPassword', value: 'hunter2-after' }];
    for (const format of ['text', 'markdown'] as const) {
      const r = await explainObject(plan, format);
      expect(r.stdout).not.toContain('hunter2');
      expect(r.stdout).not.toMatch(/false → true|`false`/);
    }
    const text = (await explainObject(plan)).stdout;
    expect(text).toContain('      privateCA          (sensitive) → (sensitive)\n');
    expect(text).toContain('      bootstrapPassword  (sensitive) → (sensitive)\n');
  });

  test('values known only after apply say so', async () => {
    const plan = loadPlan('new-ca');
    const agent = changeNamed(plan, 'kubernetes_env', 'cattle-node-agent', 'downstream-3');
    agent.change.after.env[0].value = null;
    agent.change.after_unknown = { env: [{ value: true }] };
    const r = await explainObject(plan);
    const unknown = r.stdout.match(/\n {8}CATTLE_CA_CHECKSUM {2}[0-9a-f]{64}\n {26}→ \(known after apply\)\n/g) ?? [];
    expect(unknown).toHaveLength(1);
    expect(r.stdout.indexOf(unknown[0] as string)).toBeGreaterThan(r.stdout.indexOf('  downstream_3 (context testbed-3)'));
  });
});
