import { spawn } from 'child_process';
import * as path from 'path';
import { TerraformStack } from 'cdktf';
import { RancherHelmValues, RancherRelease } from '../../lib/rotation/rancher-helm-values';
import { Workspace } from './support/terraform';
import { helm, kubeGet, loadTestbedEnv, testbedProcessEnv, waitFor } from '../../scripts/testbed/client';

// Issue 9, fault 3: a `helm upgrade` killed midway leaves the release
// pending-upgrade, and every later upgrade fails with "another operation
// (install/upgrade/rollback) is in progress". GIVEN a release that a real,
// killed helm left pending WHEN the rotation's external Helm step deploys THEN
// it rolls the release back (saying so), upgrades it, and the cluster holds
// the new values; a second plan is empty.
describe('a Helm release left pending by a killed upgrade', () => {
  const env = loadTestbedEnv();
  const chart = path.join(__dirname, '../fixtures/charts/pending-hook');
  const namespace = `pending-${Date.now().toString(36)}`;
  const release = 'rancher';
  const ws = new Workspace('helm-pending');
  const stack = 'helm-pending';

  const pendingReleases = () => helm(1, ['list', '--namespace', namespace, '--pending', '--short']).stdout.trim();

  beforeAll(async () => {
    helm(1, ['install', release, chart, '--namespace', namespace, '--create-namespace', '--wait']);
    // A real upgrade that waits on its pre-upgrade hook Pod, killed once Helm has recorded it as pending.
    const upgrade = spawn(env.TESTBED_HELM, ['upgrade', release, chart, '--namespace', namespace, '--set', 'hook=true', '--set', 'message=second',
      '--kubeconfig', env.KUBECONFIG, '--kube-context', 'testbed-1'], { env: testbedProcessEnv(), stdio: 'ignore' });
    try {
      await waitFor('the upgrade to be recorded as pending', () => pendingReleases() === release, 60);
    } finally {
      upgrade.kill('SIGKILL');
    }
    ws.synth((app) => {
      const s = new TerraformStack(app, stack);
      new RancherHelmValues(s, 'values', {
        hostname: 'rancher.example.com',
        privateCa: false,
        mode: RancherRelease.external({ release, namespace, chart, deployedVersion: '1.0.0', kubeconfig: env.KUBECONFIG, context: 'testbed-1', helmBinary: env.TESTBED_HELM }),
      });
    });
  });

  afterAll(() => {
    ws.remove();
    helm(1, ['uninstall', release, '--namespace', namespace], [0, 1]);
  });

  test('the deploy rolls it back, says so, and upgrades it; a second plan is empty', () => {
    // the state a killed helm leaves: a later upgrade by hand fails
    expect(pendingReleases()).toBe(release);
    const byHand = helm(1, ['upgrade', release, chart, '--namespace', namespace, '--reuse-values'], [1]);
    expect(byHand.stderr).toMatch(/another operation \(install\/upgrade\/rollback\) is in progress/);

    const deploy = ws.deploy(stack);
    expect(deploy.stdout + deploy.stderr).toMatch(/Helm release [a-z0-9-]+\/rancher is pending \(an earlier helm operation was interrupted\); rolling it back/);

    // read back from the cluster: nothing pending, the rotation's values on the release, the first message kept
    expect(pendingReleases()).toBe('');
    const values = JSON.parse(helm(1, ['get', 'values', release, '--namespace', namespace, '--output', 'json']).stdout);
    expect(values).toEqual({ ingress: { tls: { source: 'secret' } }, privateCA: false, hostname: 'rancher.example.com' });
    const status = JSON.parse(helm(1, ['status', release, '--namespace', namespace, '--output', 'json']).stdout);
    expect(status.info.status).toBe('deployed');
    expect(kubeGet(1, `/api/v1/namespaces/${namespace}/configmaps/${release}-message`).data.message).toBe('first');
    expect(ws.plan(stack).changes).toEqual([]);
  });
});
