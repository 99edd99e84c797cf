import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack } from 'cdktf';
import { loadServerCertificate } from '../../lib/pki';
import { TlsCertificateSecret } from '../../lib/rotation';
import { issueServerCertificate, makePrivateCa, writeRancherFiles } from '../support/pki';
import { expectNoKey, Workspace } from './support/terraform';
import { kubeGet, loadTestbedEnv, run, testbedProcessEnv } from '../../scripts/testbed/client';

// Issue 9, fault 6: `terraform plan -out` reviewed, then the key file swapped
// before `terraform apply tfplan`. The secret step reads the key file at
// apply, so without a guard it would ship a key that does not match the
// certificate. GIVEN a saved plan WHEN the key file changes THEN the step
// stops before writing, and the cluster holds nothing; the step stays tainted,
// so the next plan runs it again, and the reviewed files apply.
describe('a key file swapped between plan and apply', () => {
  const env = loadTestbedEnv();
  const ws = new Workspace('key-swap');
  const stack = 'key-swap';
  const secretName = `swap-${Date.now().toString(36)}`;
  const ca = makePrivateCa('Swap');
  const files = writeRancherFiles(path.join(ws.dir, 'certs'), ca, 'swap.testbed.test');
  const other = issueServerCertificate(ca, 'swap.testbed.test');
  const secretPath = `/api/v1/namespaces/default/secrets/${secretName}`;

  function secretExists(): boolean {
    try {
      kubeGet(1, secretPath);
      return true;
    } catch {
      return false;
    }
  }

  function applySaved(ok: number[]) {
    const processEnv = testbedProcessEnv();
    const r = run(processEnv.TERRAFORM_BINARY_NAME ?? 'terraform', ['apply', '-input=false', '-no-color', 'tfplan'], {
      cwd: ws.stackDir(stack),
      env: processEnv,
      ok,
    });
    ws.logs.push(r.stdout, r.stderr);
    return r;
  }

  beforeAll(() => {
    ws.synth((app) => {
      const s = new TerraformStack(app, stack);
      const certificate = loadServerCertificate({ ...files, hostname: 'swap.testbed.test', now: new Date(), renewBefore: 0 });
      new TlsCertificateSecret(s, 'secret', { certificate, name: secretName, namespace: 'default', target: { cluster: 'server', kubeconfig: env.KUBECONFIG, context: 'testbed-1' } });
    });
  });

  afterAll(() => {
    try {
      ws.destroy(stack);
    } finally {
      ws.remove();
    }
  });

  test('the apply of the saved plan fails before writing; a plan from the reviewed files applies', () => {
    expect(ws.plan(stack).changes.map((c) => c.actions)).toEqual([['create']]);
    fs.writeFileSync(files.keyFile, other.keyPem);

    const swapped = applySaved([1]);
    expect((swapped.stdout + swapped.stderr).replace(/\s+/g, ' ')).toMatch(/tls\.key changed after this plan was made \(it no longer holds what was checked at synth/);
    expect((swapped.stdout + swapped.stderr).replace(/\s+/g, ' ')).toMatch(/nothing was written to default\/swap-/);
    expect(secretExists()).toBe(false);

    // The failed step is tainted: the next plan runs it again.
    fs.writeFileSync(files.keyFile, files.keyPem);
    expect(ws.plan(stack).changes.map((c) => c.actions)).toEqual([['delete', 'create']]);
    applySaved([0]);
    const secret = kubeGet(1, secretPath);
    expect(Buffer.from(secret.data['tls.key'], 'base64').toString()).toBe(files.keyPem);
    expect(ws.plan(stack).changes).toEqual([]);
    for (const key of [files.keyPem, other.keyPem]) {
      expectNoKey(ws.logs.join('\n'), key, 'the plan and apply logs');
      expectNoKey(fs.readFileSync(ws.statePath(stack), 'utf8'), key, 'the state file');
    }
  });
});
