import { parsePlan } from '../../../lib/cli/explain/plan-json';
import { explainObject, loadPlan, PLAN_FIXTURES, planPath, planText, runExplainCli, stepChange } from './fixtures/plans/plans';

// The fixtures are real `terraform show -json` output and must hold no key;
// `explain` must never print secret data, whatever the plan holds.

/** Every string anywhere in a JSON value. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) value.forEach((v) => strings(v, out));
  else if (value !== null && typeof value === 'object') Object.values(value).forEach((v) => strings(v, out));
  return out;
}

/**
 * The public Secret data (tls.crt chains, cacerts.pem) the plan holds: the
 * steps carry it inline in the provisioner's environment, which the plan's
 * configuration shows.
 */
function secretData(plan: any): string[] {
  return strings(plan.configuration).filter((s) => s.includes('CERTIFICATE-----'));
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
    // A key is named by its file and SHA-256 only.
    for (const rc of loadPlan(name).resource_changes ?? []) {
      const key = (rc.change.after ?? rc.change.before)?.triggers_replace?.data?.['tls.key'];
      if (key) expect(Object.keys(key).sort()).toEqual(['file', 'sha256']);
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

  test('the fixtures do carry Secret data (the public chains and CA bundles in the steps), so the check above has something to find', () => {
    const data = secretData(loadPlan('new-ca'));
    expect(data.length).toBeGreaterThanOrEqual(2);
    expect(data.join('\n')).toContain('cacerts.pem');
  });

  test('annotations marked sensitive are shown as (sensitive), never their value', async () => {
    const plan = loadPlan('new-ca');
    const ingress = stepChange(plan, 'secret', 'server', 'tls-rancher-ingress');
    ingress.change.after_sensitive = { triggers_replace: { annotations: true } };
    const newSha = ingress.change.after.triggers_replace.annotations['cert-rotation.io/sha256'];
    const r = await explainObject(plan);
    expect(r.stdout).not.toContain(newSha);
    expect(r.stdout).toMatch(/\n {6}sha256 +[0-9a-f]{64} → \(sensitive\)\n/);
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
    const agent = stepChange(plan, 'agents', 'downstream-3');
    agent.change.after.triggers_replace.checksum = null;
    agent.change.after_unknown = { triggers_replace: { checksum: true } };
    const r = await explainObject(plan);
    const unknown = r.stdout.match(/\n {8}CATTLE_CA_CHECKSUM {2}[0-9a-f]{64}\n {26}→ \(known after apply\)\n/g) ?? [];
    expect(unknown).toHaveLength(1);
    expect(r.stdout.indexOf(unknown[0] as string)).toBeGreaterThan(r.stdout.indexOf('  downstream-3'));
  });
});
