import * as path from 'path';
import { HelmProvider } from '@cdktf/provider-helm/lib/provider';
import { TerraformStack } from 'cdktf';
import { RancherHelmValues, RancherRelease } from '../../lib/rotation/rancher-helm-values';
import { constrainProvider } from '../../stacks/providers';
import { countChanges, ensureNamespace } from './support/rancher-bed';
import { Workspace } from './support/terraform';
import { helm, kubeGet, loadTestbedEnv } from '../../scripts/testbed/client';

// The Helm step of Rancher's certificate update (ingress.tls.source=secret) with a release Terraform manages (helm_release): the values
// move to ingress.tls.source=secret, then privateCA flips, each as one update.
const STACK = 'helm-managed';
const NS = 'rancher-managed';
const HOSTNAME = 'rancher-managed.example.test';

describe('RancherHelmValues with a managed helm_release on the test bed', () => {
  const env = loadTestbedEnv();
  const ws = new Workspace('helm-managed');
  let deployed = false;

  function synth(privateCa: boolean): void {
    ws.synth((app) => {
      const stack = new TerraformStack(app, STACK);
      constrainProvider(stack, 'helm');
      const provider = new HelmProvider(stack, 'helm', { kubernetes: { configPath: env.KUBECONFIG, configContext: 'testbed-1' } });
      new RancherHelmValues(stack, 'values', {
        hostname: HOSTNAME,
        privateCa,
        mode: RancherRelease.managed({
          name: 'rancher-managed',
          namespace: NS,
          chart: path.join(__dirname, '../fixtures/charts/rancher'),
          version: '2.8.5',
          values: ['auditLog:\n  level: 3\n'],
          provider,
        }),
      });
    });
  }

  function values(): any {
    return JSON.parse(helm(1, ['get', 'values', 'rancher-managed', '--namespace', NS, '-o', 'json']).stdout);
  }

  beforeAll(() => ensureNamespace(1, NS));

  afterAll(() => {
    try {
      if (deployed) ws.destroy(STACK);
    } finally {
      ws.remove();
    }
  });

  test('creates the release with ingress.tls.source=secret and keeps the other values', () => {
    synth(false);
    expect(countChanges(ws.plan(STACK).changes)).toEqual({ 'helm_release:create': 1 });
    ws.deploy(STACK);
    deployed = true;
    expect(values()).toMatchObject({ hostname: HOSTNAME, privateCA: false, ingress: { tls: { source: 'secret' } }, auditLog: { level: 3 } });
    expect(kubeGet(1, `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses/rancher-managed`).spec.tls[0].secretName).toBe('tls-rancher-ingress');
    expect(ws.plan(STACK).changes).toEqual([]);
  });

  test('privateCA=true is one in-place update of the release, and mounts tls-ca', () => {
    synth(true);
    const plan = ws.plan(STACK);
    expect(countChanges(plan.changes)).toEqual({ 'helm_release:update': 1 });
    ws.deploy(STACK);
    expect(values()).toMatchObject({ privateCA: true, ingress: { tls: { source: 'secret' } }, auditLog: { level: 3 } });
    const deployment = kubeGet(1, `/apis/apps/v1/namespaces/${NS}/deployments/rancher-managed`);
    expect(deployment.spec.template.spec.volumes[0].secret.secretName).toBe('tls-ca');
    expect(ws.plan(STACK).changes).toEqual([]);
  });
});
