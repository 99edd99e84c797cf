import * as fs from 'fs';
import * as path from 'path';
import { DataResource, Testing } from 'cdktf';
import { ConfigError } from '../../../lib/config/config-error';
import { RotationConfig } from '../../../lib/config/load-config';
import { RancherStack } from '../../../stacks/rancher-stack';
import { issueServerCertificate, makePrivateCa, removeDir, tempDir } from '../../support/pki';
import { HOSTNAME, VALIDITY, writeServerCertificate } from '../rotation/support/fixtures';

// GIVEN a configuration whose values passed the loader (or were built by hand)
// WHEN a construct rejects one of them THEN the stack reports it as one
// ConfigError naming the configuration file and the field it came from.
describe('RancherStack', () => {
  let dir: string;
  let base: RotationConfig;

  beforeAll(() => {
    dir = tempDir();
    const ca = makePrivateCa('Stack', VALIDITY);
    const certificate = writeServerCertificate(dir, 'server', ca, issueServerCertificate(ca, HOSTNAME, VALIDITY));
    base = {
      file: '/etc/cert-rotation/cert-rotation.yaml',
      rancher: {
        name: 'rancher',
        kubeconfig: '/etc/kubeconfig',
        hostname: 'rancher.example.com',
        certificate,
        privateCa: true,
        renewBefore: 0,
        release: { mode: 'external', name: 'rancher', namespace: 'cattle-system', chart: 'rancher-stable/rancher', version: '2.8.5', helmBinary: 'helm' },
      },
      downstream: [{ name: 'prod-eu', kubeconfig: '/etc/kubeconfig' }],
    };
  });
  afterAll(() => removeDir(dir));

  function stackError(config: RotationConfig): ConfigError {
    try {
      new RancherStack(Testing.app(), 'rancher', config);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  test('synthesizes the rotation from a valid configuration', () => {
    const stack = new RancherStack(Testing.app(), 'rancher', base);
    expect(Testing.synth(stack)).toHaveResourceWithProperties(DataResource, {
      triggers_replace: expect.objectContaining({ version: '2.8.5' }),
    });
  });

  test('a value a construct rejects names the configuration file and field, with the fix', () => {
    const error = stackError({ ...base, rancher: { ...base.rancher, release: { ...base.rancher.release!, namespace: 'Cattle' } } });
    expect(error.field).toBe('rancher.release.namespace');
    expect(error.message).toMatch(/^\/etc\/cert-rotation\/cert-rotation.yaml: rancher.release.namespace: 'Cattle' is not a valid Kubernetes namespace name.*\. Fix: use the name exactly as `kubectl get` prints it$/);
    expect(error.message).not.toMatch(/\n/);
  });

  test('a restart workload the constructs reject points at restartWorkloads', () => {
    const error = stackError({ ...base, rancher: { ...base.rancher, restartWorkloads: [{ kind: 'Deployment', namespace: 'kube-system', name: 'Bad_Name' }] } });
    expect(error.field).toBe('rancher.restartWorkloads');
    expect(error.message).toMatch(/'Bad_Name' is not a valid Kubernetes object name/);
  });

  test("text of the configuration reaches cdk.tf.json escaped: '${…}' is never a Terraform expression", () => {
    const expression = '${file("/etc/passwd")}';
    const config: RotationConfig = {
      ...base,
      rancher: { ...base.rancher, context: expression, release: { ...base.rancher.release!, version: expression } },
      downstream: [{ name: 'prod-eu', kubeconfig: '/etc/%{kube}config', context: expression }],
    };
    const json = JSON.parse(Testing.synth(new RancherStack(Testing.app(), 'rancher', config)));
    const contexts = json.provider.kubernetes.map((p: { config_context?: string }) => p.config_context);
    expect(contexts).toEqual(['$${file("/etc/passwd")}', '$${file("/etc/passwd")}']);
    expect(json.provider.kubernetes[1].config_path).toBe('/etc/%%{kube}config');
    const helm = Object.values(json.resource.terraform_data)[0] as { triggers_replace: { version: string }; provisioner: Array<{ 'local-exec': { command: string } }> };
    expect(helm.triggers_replace.version).toBe('$${file("/etc/passwd")}');
    // the only expression left is the key's own file() reference
    expect(JSON.stringify(json)).not.toMatch(/[^$]\$\{file\(\\"\/etc\/passwd/);
  });

  test('a key path Terraform cannot carry is one ConfigError naming rancher.certificate.keyFile', () => {
    const odd = path.join(dir, 'odd "name".key');
    fs.copyFileSync(base.rancher.certificate.keyFile, odd);
    const error = stackError({ ...base, rancher: { ...base.rancher, certificate: { ...base.rancher.certificate, keyFile: odd } } });
    expect(error.field).toBe('rancher.certificate.keyFile');
    expect(error.message).toMatch(/holds a character Terraform's file\(\) argument cannot carry safely.*Fix: move or rename the key file$/);
  });
});
