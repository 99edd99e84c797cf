import { HelmProvider } from '@cdktf/provider-helm/lib/provider';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { ConfigError } from '../lib/config/config-error';
import { RotationConfig } from '../lib/config/load-config';
import { RotationPropError, terraformLiteral } from '../lib/rotation/common';
import { RancherContainerCertificateRotation } from '../lib/rotation/rancher-container-certificate-rotation';
import { RancherRelease } from '../lib/rotation/rancher-helm-values';
import { RancherServerRotation } from '../lib/rotation/rancher-server-rotation';
import { Rke2CertificateRotation } from '../lib/rotation/rke2-certificate-rotation';
import { RkeCertificateRotation } from '../lib/rotation/rke-certificate-rotation';
import { downstreamCluster } from './fleet';
import { constrainProvider } from './providers';

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
  'downstream[].distribution': 'downstream[].distribution',
  namespace: 'rancher.release.namespace',
  clusterId: 'downstream[].clusterId',
  'downstream[].fleetCluster': 'downstream[].fleetCluster',
  ingressSecretName: 'rancher.ingressSecretName',
  tls: 'rancher.tls',
  connectTo: 'rancher.gate.connectTo',
  timeoutSeconds: 'rancher.gate.timeoutSeconds',
  waitSeconds: 'rancher.agentWaitSeconds',
};

/**
 * Rancher server certificate rotation with the restarts Rancher's
 * documentation lists: one stack holding the Rancher server cluster's steps
 * and every downstream cluster's, or, with `fleet.stacks` per-cluster or
 * groups, the server's steps only (the downstream clusters' are in
 * {@link RancherDownstreamStack}s).
 *
 * A construct that rejects a value throws a {@link ConfigError} naming the
 * configuration file and the field the value came from.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 * @see https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/manage-clusters/rotate-certificates
 */
export class RancherStack extends TerraformStack {
  /** The Rancher server certificate rotation (`rancher:`). */
  readonly rotation?: RancherServerRotation;
  /** `rke2:`, `rke:` and `rancherContainer:`, when the file has them. */
  readonly rke2?: Rke2CertificateRotation;
  readonly rke?: RkeCertificateRotation;
  readonly rancherContainer?: RancherContainerCertificateRotation;

  /** Whether the downstream clusters' steps are in stacks of their own (`fleet.stacks` per-cluster or groups). */
  private readonly splitDownstream: boolean;

  constructor(scope: Construct, id: string, config: RotationConfig) {
    super(scope, id);
    this.splitDownstream = (config.fleet?.stacks ?? 'one') !== 'one';
    let section = 'rancher';
    try {
      if (config.rancher) this.rotation = this.build(config, config.rancher);
      if (config.rke2) {
        section = 'rke2';
        const r = config.rke2;
        this.rke2 = new Rke2CertificateRotation(this, 'rke2', {
          servers: r.servers, agents: r.agents, generation: r.generation, services: r.services, mode: r.mode,
          dataDir: r.dataDir, kubeconfigPath: r.kubeconfigPath, readinessTimeoutSeconds: r.readinessTimeoutSeconds,
          apiServingCheck: r.apiServingCheck, apiAddress: r.apiAddress,
        });
      }
      if (config.rke) {
        section = 'rke';
        const r = config.rke;
        this.rke = new RkeCertificateRotation(this, 'rke', {
          host: r.host, clusterConfigPath: r.clusterConfigPath, generation: r.generation, services: r.services,
          rotateCA: r.rotateCA, upFirst: r.upFirst, rkeCommand: r.rkeCommand,
          ...(r.cluster ? { cluster: { cluster: 'rke', kubeconfig: r.cluster.kubeconfig, ...(r.cluster.context ? { context: r.cluster.context } : {}) } } : {}),
        });
      }
      if (config.rancherContainer) {
        section = 'rancherContainer';
        const r = config.rancherContainer;
        this.rancherContainer = new RancherContainerCertificateRotation(this, 'rancher-container', {
          host: r.host, container: r.container, rancherVersion: r.rancherVersion, generation: r.generation,
          servedEndpoint: r.servedEndpoint, minValidDays: r.minValidDays,
        });
      }
    } catch (e) {
      if (e instanceof RotationPropError) {
        const field = section !== 'rancher'
          ? `${section}.${e.prop}`
          : CONFIG_FIELD_OF_PROP[e.prop] ?? (e.prop.startsWith('workload') ? 'rancher.restartWorkloads' : `(${e.construct} prop ${e.prop})`);
        throw new ConfigError(config.file, field, `'${String(e.value)}' ${e.problem}`, e.fix);
      }
      throw e;
    }
  }

  private build(config: RotationConfig, r: NonNullable<RotationConfig['rancher']>): RancherServerRotation {
    // Every text of the configuration file reaches Terraform as a literal: '${…}' in a
    // context or a version is text, never an expression Terraform evaluates. (The steps
    // escape what they carry themselves; the Helm parts are escaped here.)
    const lit = terraformLiteral;
    const opt = (text: string | undefined) => (text === undefined ? undefined : lit(text));

    let release: RancherRelease | undefined;
    const rel = r.release;
    if (rel?.mode === 'managed') {
      constrainProvider(this, 'helm');
      const helm = new HelmProvider(this, 'helm', {
        kubernetes: { configPath: lit(r.kubeconfig), configContext: opt(r.context) },
      });
      release = RancherRelease.managed({
        name: lit(rel.name),
        namespace: rel.namespace,
        chart: lit(rel.chart),
        repository: opt(rel.repository),
        version: lit(rel.version),
        provider: helm,
      });
    } else if (rel?.mode === 'external') {
      release = RancherRelease.external({
        release: lit(rel.name),
        namespace: rel.namespace,
        chart: lit(rel.chart),
        deployedVersion: lit(rel.version),
        kubeconfig: lit(r.kubeconfig),
        context: opt(r.context),
        helmBinary: lit(rel.helmBinary),
      });
    }

    return new RancherServerRotation(this, 'rancher-server', {
      hostname: r.hostname,
      certificate: r.certificate,
      privateCa: r.privateCa,
      release,
      server: { kubeconfig: r.kubeconfig, context: r.context },
      rancherVersion: r.rancherVersion,
      tls: r.tls,
      ingressSecretName: r.ingressSecretName,
      gate: r.gate,
      agentWaitSeconds: r.agentWaitSeconds,
      downstream: this.splitDownstream ? [] : config.downstream.map(downstreamCluster),
      restartWorkloads: r.restartWorkloads ? [...r.restartWorkloads] : undefined,
    });
  }
}
