import * as path from 'path';
import { DataResource, Testing } from 'cdktf';
import { ConfigError } from '../../../lib/config/config-error';
import { RotationConfig } from '../../../lib/config/load-config';
import { RancherStack } from '../../../stacks/rancher-stack';
import { issueServerCertificate, makePrivateCa, removeDir, tempDir } from '../../support/pki';
import { HOSTNAME, stepEnvelope, stepResources, VALIDITY, writeServerCertificate } from '../rotation/support/fixtures';

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
        rancherVersion: '2.8.5',
        tls: 'ingress',
        ingressSecretName: 'tls-rancher-ingress',
        gate: {},
      },
      downstream: [{ name: 'prod-eu', kubeconfig: '/etc/kubeconfig', distribution: 'rke1' }],
    };
  });
  afterAll(() => removeDir(dir));

  function resourcesOf(json: { resource: { terraform_data: Record<string, any> } }): Array<Record<string, any>> {
    return Object.values(json.resource.terraform_data);
  }

  function stackError(config: RotationConfig): ConfigError {
    try {
      new RancherStack(Testing.app(), 'rancher', config);
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return e as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  test('synthesizes the rotation from a valid configuration: steps on the clusters of the file, no Kubernetes provider', () => {
    const stack = new RancherStack(Testing.app(), 'rancher', base);
    const text = Testing.synth(stack);
    expect(text).toHaveResourceWithProperties(DataResource, {
      triggers_replace: expect.objectContaining({ version: '2.8.5' }),
    });
    const json = JSON.parse(text);
    expect(json).not.toHaveProperty('provider');
    const targets = stepResources(json).map(([, r]) => `${r.triggers_replace.step} ${JSON.stringify(stepEnvelope(r).target)}`);
    expect(targets.sort()).toEqual([
      'agents {"cluster":"prod-eu","kubeconfig":"/etc/kubeconfig"}',
      'cacerts-gate {"cluster":"server","kubeconfig":"/etc/kubeconfig"}',
      'converge {"cluster":"server","kubeconfig":"/etc/kubeconfig"}',
      'restart {"cluster":"server","kubeconfig":"/etc/kubeconfig"}',
      'secret {"cluster":"server","kubeconfig":"/etc/kubeconfig"}',
      'secret {"cluster":"server","kubeconfig":"/etc/kubeconfig"}',
    ]);
    // an RKE1 cluster on Rancher 2.8 has both agents
    const agents = stepResources(json).find(([, r]) => r.triggers_replace.step === 'agents')![1];
    expect(agents.triggers_replace.workloads.map((w: { name: string }) => w.name)).toEqual(['cattle-cluster-agent', 'cattle-node-agent']);
  });

  test('rancherVersion, tls, ingressSecretName, gate and agentWaitSeconds reach the steps', () => {
    const stack = new RancherStack(Testing.app(), 'rancher', {
      ...base,
      rancher: { ...base.rancher!, rancherVersion: '2.12.1', ingressSecretName: 'rancher-tls', gate: { connectTo: '10.0.0.5:443', timeoutSeconds: 90 }, agentWaitSeconds: 45 },
    });
    const r = stack.rotation!;
    expect(r.agentChecksums[0].agents.map((a) => a.name)).toEqual(['cattle-cluster-agent']);
    expect(r.ingressCertificate?.secretName).toBe('rancher-tls');
    expect(r.gate.step.spec).toMatchObject({ connectTo: '10.0.0.5:443', timeoutSeconds: 90 });
    expect(r.agentChecksums[0].step.spec).toMatchObject({ waitSeconds: 45 });
    const external = new RancherStack(Testing.app(), 'rancher', { ...base, rancher: { ...base.rancher!, tls: 'external' } });
    expect(external.rotation!.ingressCertificate).toBeUndefined();
  });

  test('a value a construct rejects names the configuration file and field, with the fix', () => {
    const error = stackError({ ...base, rancher: { ...base.rancher!, release: { ...base.rancher!.release!, namespace: 'Cattle' } } });
    expect(error.field).toBe('rancher.release.namespace');
    expect(error.message).toMatch(/^\/etc\/cert-rotation\/cert-rotation.yaml: rancher.release.namespace: 'Cattle' is not a valid Kubernetes namespace name.*\. Fix: use the name exactly as `kubectl get` prints it$/);
    expect(error.message).not.toMatch(/\n/);
  });

  test('a restart workload the constructs reject points at restartWorkloads', () => {
    const error = stackError({ ...base, rancher: { ...base.rancher!, restartWorkloads: [{ kind: 'Deployment', namespace: 'kube-system', name: 'Bad_Name' }] } });
    expect(error.field).toBe('rancher.restartWorkloads');
    expect(error.message).toMatch(/'Bad_Name' is not a valid Kubernetes object name/);
  });

  test("text of the configuration reaches cdk.tf.json escaped: '${…}' is never a Terraform expression", () => {
    const expression = '${file("/etc/passwd")}';
    const config: RotationConfig = {
      ...base,
      rancher: { ...base.rancher!, context: expression, release: { ...base.rancher!.release!, version: expression } },
      downstream: [{ name: 'prod-eu', kubeconfig: '/etc/%{kube}config', context: expression, distribution: 'rke2' }],
    };
    const text = Testing.synth(new RancherStack(Testing.app(), 'rancher', config));
    const json = JSON.parse(text);
    // nothing is left for Terraform to evaluate
    expect(text.match(/(?<![$%])[$%]\{/g)).toBeNull();
    const helm = resourcesOf(json).find((r) => r.triggers_replace.version !== undefined)!;
    expect(helm.triggers_replace.version).toBe('$${file("/etc/passwd")}');
    // and every step gets the text of the file back, as the step reads it
    const targets = stepResources(json).map(([, r]) => stepEnvelope(r).target);
    expect(targets).toContainEqual({ cluster: 'server', kubeconfig: '/etc/kubeconfig', context: expression });
    expect(targets).toContainEqual({ cluster: 'prod-eu', kubeconfig: '/etc/%{kube}config', context: expression });
  });

  test('settings the constructs reject name their field in the configuration file', () => {
    const rancher = base.rancher!;
    expect(stackError({ ...base, rancher: { ...rancher, gate: { connectTo: 'lb.example.com' } } }).field).toBe('rancher.gate.connectTo');
    expect(stackError({ ...base, rancher: { ...rancher, gate: { timeoutSeconds: 0 } } }).field).toBe('rancher.gate.timeoutSeconds');
    expect(stackError({ ...base, rancher: { ...rancher, agentWaitSeconds: 0 } }).field).toBe('rancher.agentWaitSeconds');
    expect(stackError({ ...base, rancher: { ...rancher, tls: 'passthrough' as never } }).field).toBe('rancher.tls');
    expect(stackError({ ...base, rancher: { ...rancher, ingressSecretName: 'Bad_Name' } }).field).toBe('rancher.ingressSecretName');
    const error = stackError({ ...base, downstream: [{ ...base.downstream[0], distribution: 'eks' as never }] });
    expect(error.field).toBe('downstream[].distribution');
    expect(error.message).toMatch(/^\/etc\/cert-rotation\/cert-rotation.yaml: downstream\[\].distribution: 'eks' is not one of rke1, rke2, k3s, imported\. Fix: say how the cluster was made/);
  });

  test('a key path with quotes or spaces is carried as it is: the step reads the file', () => {
    const odd = path.join(dir, 'odd "name".key');
    const stack = new RancherStack(Testing.app(), 'rancher', { ...base, rancher: { ...base.rancher!, certificate: { ...base.rancher!.certificate, keyFile: odd } } });
    expect(stack.rotation!.ingressCertificate!.step.spec).toMatchObject({ data: { 'tls.key': { file: odd, sha256: base.rancher!.certificate.keyFileSha256 } } });
  });
});
