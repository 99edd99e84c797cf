import { Release } from '@cdktf/provider-helm/lib/release';
import { execFileSync } from 'child_process';
import { HelmProvider } from '@cdktf/provider-helm/lib/provider';
import { Testing } from 'cdktf';
import { sha256Hex } from '../../../lib/pki';
import { canonicalJson, RancherHelmValues, RancherHelmValuesProps, RancherRelease } from '../../../lib/rotation';
import { newStack, onlyResource, synthJson } from './support/fixtures';

const managed = RancherRelease.managed({
  chart: 'rancher',
  repository: 'https://releases.rancher.com/server-charts/stable',
  version: '2.8.5',
  values: ['replicas: 3\nbootstrapPassword: admin\n'],
});

const external = RancherRelease.external({ chart: 'rancher-stable/rancher', deployedVersion: '2.8.5' });

function synth(props: Partial<RancherHelmValuesProps> = {}) {
  const stack = newStack();
  const values = new RancherHelmValues(stack, 'values', { hostname: 'rancher.example.com', privateCa: true, mode: managed, ...props });
  return { stack, values, json: synthJson(stack), text: Testing.synth(stack) };
}

describe('RancherHelmValues, managed release', () => {
  test('sets the three values on a helm_release and keeps the others (reconfigure the Helm release, as Rancher\'s certificate update does)', () => {
    // GIVEN a managed release WHEN synthesized
    const { text, values } = synth();
    // THEN helm_release sets ingress.tls.source, privateCA and hostname, reuses values, keeps the version and waits for the release
    expect(text).toHaveResourceWithProperties(Release, {
        name: 'rancher',
        namespace: 'cattle-system',
        chart: 'rancher',
        repository: 'https://releases.rancher.com/server-charts/stable',
        version: '2.8.5',
        values: ['replicas: 3\nbootstrapPassword: admin\n'],
        set: [
          { name: 'ingress.tls.source', value: 'secret' },
          { name: 'privateCA', value: 'true' },
          { name: 'hostname', value: 'rancher.example.com' },
        ],
        reuse_values: true,
        wait: true,
      });
    expect(values.resource.node.id).toBe('Resource');
    expect(values.command).toBeUndefined();
  });

  test('sets privateCA=false for a publicly trusted certificate', () => {
    const release = onlyResource(synth({ privateCa: false }).json, 'helm_release');
    expect(release.set).toContainEqual({ name: 'privateCA', value: 'false' });
  });

  test('takes the release name, namespace and a Helm provider', () => {
    const stack = newStack();
    const helm = new HelmProvider(stack, 'helm', { alias: 'server', kubernetes: { configPath: '/abs/kubeconfig' } });
    new RancherHelmValues(stack, 'values', {
      hostname: 'rancher.example.com',
      privateCa: true,
      mode: RancherRelease.managed({ name: 'my-rancher', namespace: 'rancher', chart: 'rancher-stable/rancher', version: '2.9.0', provider: helm }),
    });
    const release = onlyResource(synthJson(stack), 'helm_release');
    expect(release).toMatchObject({ name: 'my-rancher', namespace: 'rancher', version: '2.9.0', provider: 'helm.server' });
    expect(release).not.toHaveProperty('values');
    expect(release).not.toHaveProperty('repository');
  });

  test('rejects a missing version, naming the prop', () => {
    expect(() => synth({ mode: RancherRelease.managed({ chart: 'rancher', version: '' }) })).toThrow(
      /RancherHelmValues: 'mode.version' \(""\) must not be empty/,
    );
  });
});

describe('RancherHelmValues, external release', () => {
  test('runs helm upgrade --reuse-values with the deployed version and the three values', () => {
    // GIVEN an external release WHEN synthesized
    const { json, values } = synth({ mode: external });
    const data = onlyResource(json, 'terraform_data');
    // THEN one local-exec runs the helm upgrade of Rancher's certificate update procedure, with the version pinned
    const command =
      'helm upgrade rancher rancher-stable/rancher --namespace cattle-system --version 2.8.5 --reuse-values --wait --timeout 10m ' +
      '--set ingress.tls.source=secret --set privateCA=true --set hostname=rancher.example.com';
    expect(values.command).toBe(command);
    // AND before it, a roll-back of a release an interrupted upgrade left pending, which says so
    expect(values.recoverCommand).toBe(
      `if [ -n "$(helm list --namespace cattle-system --pending --filter '^rancher$' --short)" ]; then ` +
        `echo 'cert-rotation: Helm release cattle-system/rancher is pending (an earlier helm operation was interrupted); rolling it back to its last deployed revision' >&2; ` +
        `helm rollback rancher --namespace cattle-system || exit 1; fi`,
    );
    expect(data.provisioner).toEqual([{ 'local-exec': { command: values.recoverCommand } }, { 'local-exec': { command } }]);
    expect(json.resource).not.toHaveProperty('helm_release');
  });

  test('is triggered by the hash of the values it sets and by the version', () => {
    const { json, values } = synth({ mode: external });
    const data = onlyResource(json, 'terraform_data');
    const expected = sha256Hex(canonicalJson({ 'ingress.tls.source': 'secret', privateCA: 'true', hostname: 'rancher.example.com' }));
    expect(values.valuesSha256).toBe(expected);
    expect(data.triggers_replace).toEqual({ valuesSha256: expected, version: '2.8.5' });
    // a change of any value or of the version changes the triggers; the same props do not
    const other = onlyResource(synth({ mode: external, privateCa: false }).json, 'terraform_data');
    expect(other.triggers_replace.valuesSha256).not.toBe(expected);
    const upgraded = onlyResource(
      synth({ mode: RancherRelease.external({ chart: 'rancher-stable/rancher', deployedVersion: '2.9.0' }) }).json,
      'terraform_data',
    );
    expect(upgraded.triggers_replace).toEqual({ valuesSha256: expected, version: '2.9.0' });
    expect(onlyResource(synth({ mode: external }).json, 'terraform_data')).toEqual(data);
  });

  test('adds --kubeconfig and --kube-context and shell-quotes every argument', () => {
    // GIVEN paths and names with spaces and quotes
    const { values } = synth({
      mode: RancherRelease.external({
        release: 'rancher',
        chart: 'rancher-stable/rancher',
        deployedVersion: '2.8.5',
        namespace: 'cattle-system',
        kubeconfig: "/home/o'neil/my kube/config",
        context: 'prod ctx',
        helmBinary: '/opt/helm 3/helm',
      }),
    });
    // THEN the command quotes them, and a shell splits it back into the exact arguments
    expect(values.command).toBe(
      "'/opt/helm 3/helm' upgrade rancher rancher-stable/rancher --namespace cattle-system --version 2.8.5 --reuse-values --wait --timeout 10m " +
        '--set ingress.tls.source=secret --set privateCA=true --set hostname=rancher.example.com ' +
        "--kubeconfig '/home/o'\\''neil/my kube/config' --kube-context 'prod ctx'",
    );
    const argv = execFileSync('sh', ['-c', `printf '%s\\0' ${values.command!.replace(/^'\/opt\/helm 3\/helm' /, '')}`])
      .toString()
      .split('\0')
      .slice(0, -1);
    expect(argv.slice(-4)).toEqual(['--kubeconfig', "/home/o'neil/my kube/config", '--kube-context', 'prod ctx']);
  });
});

describe('RancherHelmValues, tls and ingressSecretName', () => {
  test("tls 'external' sets tls=external instead of the ingress values", () => {
    const { values, json } = synth({ tls: 'external' });
    expect(values.values).toEqual({ tls: 'external', privateCA: 'true', hostname: 'rancher.example.com' });
    expect(onlyResource(json, 'helm_release').set).toEqual([
      { name: 'tls', value: 'external' },
      { name: 'privateCA', value: 'true' },
      { name: 'hostname', value: 'rancher.example.com' },
    ]);
    expect(synth({ tls: 'external', mode: external }).values.command).toContain('--reuse-values --wait --timeout 10m --set tls=external --set privateCA=true');
  });

  test('an ingress secret other than tls-rancher-ingress is set as ingress.tls.secretName; the default is not set', () => {
    expect(synth({ ingressSecretName: 'my-tls' }).values.values).toEqual({
      'ingress.tls.source': 'secret',
      'ingress.tls.secretName': 'my-tls',
      privateCA: 'true',
      hostname: 'rancher.example.com',
    });
    expect(synth({ ingressSecretName: 'tls-rancher-ingress' }).values.values).not.toHaveProperty(['ingress.tls.secretName']);
    expect(synth({ ingressSecretName: 'my-tls', mode: external }).values.command).toContain('--set ingress.tls.secretName=my-tls');
  });
});

describe('RancherHelmValues, props', () => {
  test('rejects a hostname with a scheme or upper case, naming the prop and the fix', () => {
    expect(() => synth({ hostname: 'https://rancher.example.com' })).toThrow(
      /RancherHelmValues: 'hostname' \("https:\/\/rancher.example.com"\) is not a DNS name: .* e.g. 'rancher.example.com'/,
    );
    expect(() => synth({ hostname: 'Rancher.Example.com' })).toThrow(/'hostname' \("Rancher.Example.com"\) has upper-case letters.*; write it in lower case: 'rancher.example.com'/);
  });

  test('rejects a bad namespace of an external release', () => {
    expect(() =>
      synth({ mode: RancherRelease.external({ chart: 'rancher-stable/rancher', deployedVersion: '2.8.5', namespace: 'Cattle' }) }),
    ).toThrow(/'mode.namespace' \("Cattle"\) is not a valid Kubernetes namespace name/);
  });

  test('synthesizes byte-identical JSON twice, in both modes', () => {
    expect(synth().text).toBe(synth().text);
    expect(synth({ mode: external }).text).toBe(synth({ mode: external }).text);
  });
});
