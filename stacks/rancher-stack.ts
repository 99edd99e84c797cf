import { HelmProvider } from '@cdktf/provider-helm/lib/provider';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { RotationConfig } from '../lib/config/load-config';
import { RancherRelease } from '../lib/rotation/rancher-helm-values';
import { RancherServerRotation } from '../lib/rotation/rancher-server-rotation';
import { constrainProvider, kubernetesProvider } from './providers';

/**
 * Rancher server certificate rotation (seed 004) with the restarts of seeds
 * 000/001: one stack holding the Rancher server cluster and every downstream
 * cluster, each reached through its own provider alias.
 */
export class RancherStack extends TerraformStack {
  readonly rotation: RancherServerRotation;

  constructor(scope: Construct, id: string, config: RotationConfig) {
    super(scope, id);
    const r = config.rancher;
    const serverProvider = kubernetesProvider(this, 'rancher', r);

    let release: RancherRelease | undefined;
    if (r.release?.mode === 'managed') {
      constrainProvider(this, 'helm');
      const helm = new HelmProvider(this, 'helm', {
        kubernetes: { configPath: r.kubeconfig, configContext: r.context },
      });
      release = RancherRelease.managed({
        name: r.release.name,
        namespace: r.release.namespace,
        chart: r.release.chart,
        repository: r.release.repository,
        version: r.release.version,
        provider: helm,
      });
    } else if (r.release?.mode === 'external') {
      release = RancherRelease.external({
        release: r.release.name,
        namespace: r.release.namespace,
        chart: r.release.chart,
        deployedVersion: r.release.version,
        kubeconfig: r.kubeconfig,
        context: r.context,
        helmBinary: r.release.helmBinary,
      });
    }

    this.rotation = new RancherServerRotation(this, 'rancher-server', {
      hostname: r.hostname,
      certificate: r.certificate,
      privateCa: r.privateCa,
      release,
      serverProvider,
      downstream: config.downstream.map((d) => ({
        name: d.name,
        provider: kubernetesProvider(this, `downstream-${d.name}`, d, d.name.replace(/-/g, '_')),
      })),
      restartWorkloads: r.restartWorkloads ? [...r.restartWorkloads] : undefined,
    });
  }
}
