import { HelmProvider } from '@cdktf/provider-helm/lib/provider';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { ConfigError } from '../lib/config/config-error';
import { RotationConfig } from '../lib/config/load-config';
import { RotationPropError } from '../lib/rotation/common';
import { RancherRelease } from '../lib/rotation/rancher-helm-values';
import { RancherServerRotation } from '../lib/rotation/rancher-server-rotation';
import { constrainProvider, kubernetesProvider } from './providers';

/** Where each construct prop comes from in the configuration file, for errors. */
const CONFIG_FIELD_OF_PROP: Record<string, string> = {
  hostname: 'rancher.hostname',
  privateCa: 'rancher.privateCa',
  'certificate.keyFile': 'rancher.certificate.keyFile',
  'certificate.chainPem': 'rancher.certificate.certFile',
  'mode.chart': 'rancher.release.chart',
  'mode.version': 'rancher.release.version',
  'mode.deployedVersion': 'rancher.release.version',
  'mode.name': 'rancher.release.name',
  'mode.release': 'rancher.release.name',
  'mode.namespace': 'rancher.release.namespace',
  'mode.helmBinary': 'rancher.release.helmBinary',
  'downstream[].name': 'downstream[].name',
};

/**
 * Rancher server certificate rotation with the restarts Rancher's
 * documentation lists: one stack holding the Rancher server cluster and every
 * downstream cluster, each reached through its own provider alias.
 *
 * A construct that rejects a value throws a {@link ConfigError} naming the
 * configuration file and the field the value came from.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 * @see https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/manage-clusters/rotate-certificates
 */
export class RancherStack extends TerraformStack {
  readonly rotation: RancherServerRotation;

  constructor(scope: Construct, id: string, config: RotationConfig) {
    super(scope, id);
    try {
      this.rotation = this.build(config);
    } catch (e) {
      if (e instanceof RotationPropError) {
        const field = CONFIG_FIELD_OF_PROP[e.prop] ?? (e.prop.startsWith('workload') ? 'rancher.restartWorkloads' : `(${e.construct} prop ${e.prop})`);
        throw new ConfigError(config.file, field, `'${String(e.value)}' ${e.problem}`, e.fix);
      }
      throw e;
    }
  }

  private build(config: RotationConfig): RancherServerRotation {
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

    return new RancherServerRotation(this, 'rancher-server', {
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
