import { ITerraformDependable, TerraformProvider, Token } from 'cdktf';
import { Construct } from 'constructs';
import { sha256Hex } from '../contract';
import { hostCoverage, ServerCertificate } from '../pki';
import { defaultPrivateCa, rancherHostname } from '../rules';
import { AgentCaChecksum } from './agent-ca-checksum';
import { addRotationWarning, checkProp, RotationPropError } from './common';
import { RancherCaSecret } from './rancher-ca-secret';
import { RancherHelmValues, RancherRelease } from './rancher-helm-values';
import { RancherIngressCertificate } from './rancher-ingress-certificate';
import { RolloutRestart, Workload } from './rollout-restart';

/** A cluster managed by Rancher whose agents must trust the server's CA. */
export interface DownstreamCluster {
  /** The cluster's name (letters, digits, '.', '_', '-'); unique within one rotation, it names the constructs. */
  readonly name: string;
  /** The Kubernetes provider of this cluster (one alias per cluster). */
  readonly provider: TerraformProvider;
}

/** Properties of {@link RancherServerRotation}. */
export interface RancherServerRotationProps {
  /** Rancher's hostname (`hostname` chart value); the server certificate must cover it through a subjectAltName. */
  readonly hostname: string;
  /** The new server certificate, from `loadServerCertificate` (with `caFile` for a private CA). */
  readonly certificate: ServerCertificate;
  /**
   * Whether the certificate is signed by a private CA: writes `tls-ca`,
   * `privateCA=true` and the agents' `CATTLE_CA_CHECKSUM`.
   * @default - true when `certificate.caBundle` is set
   */
  readonly privateCa?: boolean;
  /**
   * How to set the chart values (`ingress.tls.source=secret`, `privateCA`, `hostname`).
   * @default - the chart values are left as they are (the release already reads the secrets)
   */
  readonly release?: RancherRelease;
  /**
   * The Kubernetes provider of the Rancher server (local) cluster.
   * @default - the stack's default `kubernetes` provider
   */
  readonly serverProvider?: TerraformProvider;
  /**
   * The downstream clusters, each with its own provider: agents get the CA
   * checksum (private CA) and the workloads roll there.
   * @default [] - no downstream cluster
   */
  readonly downstream?: DownstreamCluster[];
  /**
   * The workloads to roll in every cluster after the rotation.
   * @default RolloutRestart.RANCHER_DEFAULT_WORKLOADS
   */
  readonly restartWorkloads?: Workload[];
  /**
   * Whether the workloads also roll in the Rancher server (local) cluster.
   * @default true
   */
  readonly restartOnServer?: boolean;
}

/**
 * Rotates the certificate of a Rancher server installed with Helm on
 * Kubernetes, as one reviewable plan:
 *
 * 1. `cattle-system/tls-rancher-ingress` ({@link RancherIngressCertificate});
 * 2. `cattle-system/tls-ca` for a private CA ({@link RancherCaSecret});
 * 3. the chart values `ingress.tls.source=secret`, `privateCA`, `hostname`
 *    when `release` is given ({@link RancherHelmValues});
 * 4. `CATTLE_CA_CHECKSUM` on the agents of every downstream cluster for a
 *    private CA ({@link AgentCaChecksum});
 * 5. rollout restarts in every downstream cluster and on the server
 *    ({@link RolloutRestart}), after steps 1–4.
 *
 * The restarts carry `sha256(leaf fingerprint + "\n" + CA checksum)`: a new
 * leaf from the same CA changes the ingress Secret and the restarts but not the
 * agents' checksum; a new CA changes `tls-ca`, the checksum in every downstream
 * cluster and the restarts. The same certificate plans nothing.
 *
 * Steps 1–4 are the steps of Rancher's certificate update procedure (the
 * agents by its manual-checksum method); the restarts of step 5 are the RKE1
 * workloads Rancher's certificate rotation page restarts, unless
 * `restartWorkloads` names others.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 * @see https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/manage-clusters/rotate-certificates
 */
export class RancherServerRotation extends Construct {
  /** Step 1: the ingress certificate Secret. */
  public readonly ingressCertificate: RancherIngressCertificate;
  /** Step 2: the CA Secret (private CA only). */
  public readonly caSecret?: RancherCaSecret;
  /** Step 3: the chart values (when `release` is given). */
  public readonly helmValues?: RancherHelmValues;
  /** Step 4: the agents' checksum, one per downstream cluster (private CA only), in `downstream` order. */
  public readonly agentChecksums: AgentCaChecksum[];
  /** Step 5: restarts in the downstream clusters, in `downstream` order. */
  public readonly downstreamRestarts: RolloutRestart[];
  /** Step 5: restarts on the server cluster (when `restartOnServer`). */
  public readonly serverRestart?: RolloutRestart;
  /** Whether the rotation uses a private CA. */
  public readonly privateCa: boolean;
  /** The `CATTLE_CA_CHECKSUM` of the CA bundle (private CA only). */
  public readonly caChecksum?: string;
  /** The content hash on the restarted pod templates. */
  public readonly trustHash: string;

  constructor(scope: Construct, id: string, props: RancherServerRotationProps) {
    super(scope, id);
    const what = 'RancherServerRotation';
    const certificate = props.certificate;
    checkProp(what, 'hostname', props.hostname, rancherHostname);
    if (!Token.isUnresolved(props.hostname) && hostCoverage(certificate.leaf, props.hostname) !== 'san') {
      throw new RotationPropError(
        what,
        'hostname',
        props.hostname,
        `is not in the subjectAltName of the server certificate ${certificate.certFile} ` +
          `(${[...certificate.leaf.dnsNames, ...certificate.leaf.ipAddresses].join(', ') || 'none'})`,
        "load the certificate issued for this hostname, or correct 'hostname'",
      );
    }
    const bundle = certificate.caBundle;
    this.privateCa = props.privateCa ?? defaultPrivateCa(bundle !== undefined);
    if (this.privateCa && bundle === undefined) {
      throw new RotationPropError(
        what,
        'privateCa',
        true,
        `needs the CA bundle, but the certificate from ${certificate.certFile} was loaded without one`,
        "set 'caFile' (cacerts.pem: intermediates, then the root) when loading the certificate, or set 'privateCa' to false for a publicly trusted certificate",
      );
    }
    if (!this.privateCa && bundle !== undefined) {
      addRotationWarning(
        this,
        'caBundleUnused',
        `'privateCa' is false, so the CA bundle ${bundle.file ?? ''} is not written to tls-ca and agents keep their ` +
          `CATTLE_CA_CHECKSUM; remove 'caFile' or set 'privateCa' to true if the certificate is signed by a private CA.`,
      );
    }
    const downstream = props.downstream ?? [];
    const seen = new Set<string>();
    for (const cluster of downstream) {
      if (typeof cluster.name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(cluster.name)) {
        throw new RotationPropError(
          what,
          'downstream[].name',
          cluster.name,
          "must start with a letter or digit and hold only letters, digits, '.', '_' and '-'",
          "use the cluster's name in Rancher",
        );
      }
      if (seen.has(cluster.name)) {
        throw new RotationPropError(what, 'downstream[].name', cluster.name, 'is listed twice', 'give each downstream cluster once, with its own provider');
      }
      seen.add(cluster.name);
    }

    // 1. and 2.: the secrets on the server cluster.
    this.ingressCertificate = new RancherIngressCertificate(this, 'IngressCertificate', {
      certificate,
      provider: props.serverProvider,
    });
    if (this.privateCa && bundle !== undefined) {
      this.caSecret = new RancherCaSecret(this, 'CaSecret', {
        bundle,
        provider: props.serverProvider,
      });
      this.caChecksum = this.caSecret.checksum;
    }
    const secrets: ITerraformDependable[] = [this.ingressCertificate.resource, ...(this.caSecret ? [this.caSecret.resource] : [])];

    // 3.: the chart values.
    if (props.release !== undefined) {
      this.helmValues = new RancherHelmValues(this, 'HelmValues', {
        hostname: props.hostname,
        privateCa: this.privateCa,
        mode: props.release,
        dependsOn: secrets,
      });
    }
    const server: ITerraformDependable[] = [...secrets, ...(this.helmValues ? [this.helmValues.resource] : [])];

    // 4. and 5.: agents and restarts.
    this.trustHash = sha256Hex(`${certificate.leaf.sha256Fingerprint}\n${this.caChecksum ?? ''}`);
    this.agentChecksums = [];
    this.downstreamRestarts = [];
    for (const cluster of downstream) {
      const clusterScope = new Construct(this, `Downstream-${cluster.name}`);
      const after = [...server];
      if (this.caChecksum !== undefined) {
        const agents = new AgentCaChecksum(clusterScope, 'AgentCaChecksum', {
          checksum: this.caChecksum,
          clusterName: cluster.name,
          provider: cluster.provider,
          dependsOn: server,
        });
        this.agentChecksums.push(agents);
        after.push(agents.clusterAgentEnv, ...(agents.nodeAgentResource ? [agents.nodeAgentResource] : []));
      }
      this.downstreamRestarts.push(
        new RolloutRestart(clusterScope, 'RolloutRestart', {
          trustHash: this.trustHash,
          workloads: props.restartWorkloads,
          provider: cluster.provider,
          dependsOn: after,
        }),
      );
    }
    if (props.restartOnServer ?? true) {
      this.serverRestart = new RolloutRestart(this, 'ServerRolloutRestart', {
        trustHash: this.trustHash,
        workloads: props.restartWorkloads,
        provider: props.serverProvider,
        dependsOn: server,
      });
    }
  }
}
