import * as fs from 'fs';
import * as path from 'path';
import { issueServerCertificate, makePrivateCa, writeRancherFiles } from '../support/pki';
import { writeConfig } from './support/rancher-bed';
import { kubeGet, loadTestbedEnv, REPO_ROOT, run, testbedProcessEnv } from '../../scripts/testbed/client';

// The real app (main.ts) through the real `cdktf` CLI: bad input stops synth
// with the file, the field and the fix, and nothing reaches the cluster; a
// certificate inside renew-before synthesizes with a warning that has an id.
const DAY = 86400_000;
const HOSTNAME = 'rancher.guard.test';

describe('synth-time guard of the real app', () => {
  const env = loadTestbedEnv();
  const dir = fs.mkdtempSync(path.join(REPO_ROOT, '.testbed', 'guard-'));
  const ca = makePrivateCa('Guard');

  function secretsInCattleSystem(): string[] {
    try {
      return kubeGet(1, '/api/v1/namespaces/cattle-system/secrets').items.map((s: any) => s.metadata.name).sort();
    } catch {
      return [];
    }
  }

  function cdktf(
    args: string[],
    certDir: string,
    ok: number[],
    extra: { rancher?: Record<string, unknown>; env?: NodeJS.ProcessEnv } = {},
  ): { status: number; output: string } {
    const configFile = writeConfig(dir, {
      rancher: {
        kubeconfig: env.KUBECONFIG,
        context: 'testbed-1',
        hostname: HOSTNAME,
        certificate: { certFile: `${certDir}/tls.crt`, keyFile: `${certDir}/tls.key`, caFile: `${certDir}/cacerts.pem` },
        ...extra.rancher,
      },
    });
    fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({
      language: 'typescript',
      app: `npx ts-node --transpile-only ${path.join(REPO_ROOT, 'main.ts')}`,
      sendCrashReports: 'false',
    }));
    const r = run(path.join(REPO_ROOT, 'node_modules/.bin/cdktf'), args, {
      cwd: dir,
      env: { ...testbedProcessEnv(), CERT_ROTATION_CONFIG: configFile, CERT_ROTATION_STACK: 'guard', ...extra.env },
      ok,
    });
    return { status: r.status, output: r.stdout + r.stderr };
  }

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('an expired certificate fails synth naming file, subject and date; nothing is deployed', () => {
    const before = secretsInCattleSystem();
    writeRancherFiles(path.join(dir, 'expired'), ca, HOSTNAME, { now: new Date(Date.now() - 400 * DAY), days: 365 });
    const r = cdktf(['deploy', 'guard', '--auto-approve', '--skip-provider-lock'], 'expired', [1]);
    expect(r.output).toContain(path.join(dir, 'cert-rotation.yaml'));
    expect(r.output).toContain(path.join(dir, 'expired', 'tls.crt'));
    expect(r.output).toContain(`CN=${HOSTNAME}`);
    expect(r.output).toMatch(/expired on \d{4}-\d\d-\d\dT/);
    expect(r.output).toMatch(/Fix: \S/);
    expect(fs.existsSync(path.join(dir, 'terraform.guard.tfstate'))).toBe(false);
    expect(secretsInCattleSystem()).toEqual(before);
  });

  test('a key that does not match fails synth naming the key file and the fix; nothing is deployed', () => {
    const before = secretsInCattleSystem();
    const files = writeRancherFiles(path.join(dir, 'mismatch'), ca, HOSTNAME);
    const other = issueServerCertificate(ca, HOSTNAME, { days: 90 });
    fs.writeFileSync(files.keyFile, other.keyPem);
    const r = cdktf(['deploy', 'guard', '--auto-approve', '--skip-provider-lock'], 'mismatch', [1]);
    expect(r.output).toContain('rancher.certificate.keyFile');
    expect(r.output).toContain(files.keyFile);
    expect(r.output).toMatch(/does not match/);
    expect(r.output).not.toContain(other.keyPem.split('\n')[1]);
    expect(fs.existsSync(path.join(dir, 'terraform.guard.tfstate'))).toBe(false);
    expect(secretsInCattleSystem()).toEqual(before);
  });

  test('a certificate inside renew-before synthesizes with an [cert-rotation:expiresSoon] warning', () => {
    writeRancherFiles(path.join(dir, 'soon'), ca, HOSTNAME, { now: new Date(Date.now() - 355 * DAY), days: 365 });
    const r = cdktf(['synth'], 'soon', [0]);
    expect(r.output).toMatch(/\[cert-rotation:expiresSoon\].*tls\.crt.*CN=rancher\.guard\.test|\[cert-rotation:expiresSoon\][^\n]*expires on/);
    expect(fs.existsSync(path.join(dir, 'cdktf.out', 'stacks', 'guard', 'cdk.tf.json'))).toBe(true);
  });

  test('TF_LOG=DEBUG is refused before anything runs, naming the variable and the fix', () => {
    const before = secretsInCattleSystem();
    writeRancherFiles(path.join(dir, 'debug'), ca, HOSTNAME);
    const r = cdktf(['deploy', 'guard', '--auto-approve', '--skip-provider-lock'], 'debug', [1], { env: { TF_LOG: 'debug' } });
    expect(r.output).toMatch(/TF_LOG: is DEBUG: at this level the Kubernetes provider logs request bodies, which hold the private key\. Fix: unset TF_LOG/);
    expect(fs.existsSync(path.join(dir, 'terraform.guard.tfstate'))).toBe(false);
    expect(secretsInCattleSystem()).toEqual(before);
  });

  test("'${…}' in the configuration is text to Terraform, never an expression it evaluates", () => {
    // GIVEN a context and a release version that hold a Terraform expression reading a file
    const canary = path.join(dir, 'canary.txt');
    const token = `CANARY-${process.pid}-${Date.now()}`;
    fs.writeFileSync(canary, token);
    writeRancherFiles(path.join(dir, 'hostile'), ca, HOSTNAME);
    const expression = `\${file("${canary}")}`;
    const r = cdktf(['deploy', 'guard', '--auto-approve', '--skip-provider-lock'], 'hostile', [1], {
      rancher: { context: expression, release: { mode: 'external', chart: 'rancher', version: expression } },
    });
    // THEN the synthesized configuration escapes it, the first step looks for a context of that literal name,
    // and the file's content appears nowhere
    const synthesized = fs.readFileSync(path.join(dir, 'cdktf.out', 'stacks', 'guard', 'cdk.tf.json'), 'utf8');
    expect(synthesized).toContain(`$\${file(\\"${canary}\\")}`);
    expect(synthesized).not.toMatch(/[^$]\$\{file\(\\"[^"]*canary/);
    expect(r.output.replace(/\s+/g, ' ')).toMatch(/FAILED: kubeconfig \S+ has no context '\$\{file\("[^"]*canary\.txt"\)\}'/);
    expect(r.output).not.toContain(token);
    expect(fs.readFileSync(path.join(dir, 'cdktf.out', 'stacks', 'guard', 'cdk.tf.json'), 'utf8')).not.toContain(token);
  });
});
