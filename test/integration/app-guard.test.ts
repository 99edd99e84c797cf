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

  function cdktf(args: string[], certDir: string, ok: number[]): { status: number; output: string } {
    const configFile = writeConfig(dir, {
      rancher: {
        kubeconfig: env.KUBECONFIG,
        context: 'testbed-1',
        hostname: HOSTNAME,
        certificate: { certFile: `${certDir}/tls.crt`, keyFile: `${certDir}/tls.key`, caFile: `${certDir}/cacerts.pem` },
      },
    });
    fs.writeFileSync(path.join(dir, 'cdktf.json'), JSON.stringify({
      language: 'typescript',
      app: `npx ts-node --transpile-only ${path.join(REPO_ROOT, 'main.ts')}`,
      sendCrashReports: 'false',
    }));
    const r = run(path.join(REPO_ROOT, 'node_modules/.bin/cdktf'), args, {
      cwd: dir,
      env: { ...testbedProcessEnv(), CERT_ROTATION_CONFIG: configFile, CERT_ROTATION_STACK: 'guard' },
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
});
