import { ITerraformDependable, Token } from 'cdktf';
import { Construct } from 'constructs';
import { sha256Hex } from '../contract';
import { hostCoverage, ServerCertificate } from '../pki';
import { Distribution, DISTRIBUTIONS, rancherAgents } from '../rancher-agents';
import { DEFAULTS, defaultPrivateCa, dnsSubdomain, rancherHostname } from '../rules';
import { AgentCaChecksum } from './agent-ca-checksum';
import { FleetForceUpdate } from './fleet-force-update';
import { CacertsGate, CacertsGateProps } from './cacerts-gate';
import type { StepEnvelope } from '../steps/spec';
import { ClusterStep, StepTarget } from './cluster-step';
import { addRotationWarning, checkProp, RotationPropError } from './common';
import { RancherCaSecret } from './rancher-ca-secret';
import { RancherHelmValues, RancherRelease } from './rancher-helm-values';
import { RancherIngressCertificate } from './rancher-ingress-certificate';
import { RolloutRestart, Workload } from './rollout-restart';

/** A cluster managed by Rancher whose agents must trust the server's CA. */
export interface DownstreamCluster {
  /** The cluster's name (letters, digits, '.', '_', '-'); unique within one rotation, it names the constructs. */
  readonly name: string;
  /** Where the cluster is: kubeconfig (absolute path) and context. */
  readonly kubeconfig: string;
  readonly context?: string;
  /** How the cluster was made: decides which agents it runs (`rancherAgents`). */
  readonly distribution: Distribution;
  /**
   * How the agents get the new checksum: `checksum` sets it on them;
   * `redeploy` asks Rancher to re-render them (method 1; needs `clusterId`).
   * @default 'checksum'
   */
  readonly agents?: 'checksum' | 'redeploy';
  /** The cluster's id in Rancher (`c-xxxxx`), for `agents: 'redeploy'`. */
  readonly clusterId?: string;
  /**
   * The cluster's name in Fleet (`clusters.fleet.cattle.io` in `fleet-default`; `workspace/name` for
   * another workspace): after a CA change its fleet-agent is force-updated ({@link FleetForceUpdate}).
   * @default - no Force Update; a warning says the fleet-agent keeps the old CA
   */
  readonly fleetCluster?: string;
}

/** How the Rancher server is reached from outside, for the certificate it presents. */
export type RancherTls = 'ingress' | 'external';

/** Properties of {@link RancherServerRotation}. */
export interface RancherServerRotationProps {
  /** Rancher's hostname (`hostname` chart value); the server certificate must cover it through a subjectAltName. */
  readonly hostname: string;
  /** The new server certificate, from `loadServerCertificate` (with `caFile` for a private CA). */
  readonly certificate: ServerCertificate;
  /**
   * Whether the certificate is signed by a private CA: writes `tls-ca`,
   * `privateCA=true` and the agents' `CATTLE_CA_CHECKSUM`; false removes the
   * agents' checksum once Rancher serves an empty `cacerts`.
   * @default - true when `certificate.caBundle` is set
   */
  readonly privateCa?: boolean;
  /**
   * How to set the chart values (`ingress.tls.source=secret`, `privateCA`, `hostname`).
   * @default - the chart values are left as they are (the release already reads the secrets)
   */
  readonly release?: RancherRelease;
  /** The Rancher server (local) cluster: kubeconfig (absolute path) and context. */
  readonly server: { readonly kubeconfig: string; readonly context?: string };
  /**
   * The Rancher version (`2.8.5`): decides whether RKE1 clusters run `cattle-node-agent` (2.5–2.11).
   * @default - unknown: RKE1 clusters list the node agent, skipped where it does not exist
   */
  readonly rancherVersion?: string;
  /**
   * Where the server certificate is presented: `ingress` (the chart's Ingress
   * reads `ingressSecretName`) or `external` (a load balancer terminates TLS:
   * no ingress Secret is written; `tls-ca`, the restart and the agents still are).
   * @default 'ingress'
   */
  readonly tls?: RancherTls;
  /**
   * The Ingress's TLS Secret (`ingress.tls.secretName`, Rancher ≥ 2.6).
   * @default 'tls-rancher-ingress'
   */
  readonly ingressSecretName?: string;
  /**
   * The downstream clusters, each with its kubeconfig context and distribution.
   * @default [] - no downstream cluster
   */
  readonly downstream?: DownstreamCluster[];
  /** The gate before any agent changes ({@link CacertsGate}): where to connect and how long to wait. */
  readonly gate?: { readonly connectTo?: string; readonly timeoutSeconds?: number };
  /**
   * How long each cluster's agents may take to be Ready with the new checksum, in seconds.
   * @default 300
   */
  readonly agentWaitSeconds?: number;
  /**
   * More workloads to roll in every downstream cluster after a CA change
   * (after its agents); one that does not exist there is skipped.
   * @default [] - only the agents roll (their checksum changes)
   */
  readonly restartWorkloads?: Workload[];
}

/**
 * Rotates the certificate of a Rancher server installed with Helm on
 * Kubernetes, as one reviewable plan of steps that each write, read back and
 * run again after a failure ({@link ClusterStep}), in this order:
 *
 * 1. `cattle-system/tls-ca` for a private CA ({@link RancherCaSecret});
 * 2. the chart values `ingress.tls.source=secret`, `privateCA`, `hostname`
 *    when `release` is given, waiting for the release ({@link RancherHelmValues});
 * 3. the ingress Secret `tls-rancher-ingress` ({@link RancherIngressCertificate}),
 *    after the chart values so that cert-manager no longer owns it;
 * 4. a restart of `deploy/rancher` keyed on the CA: Rancher reads
 *    `cacerts.pem` only when it starts;
 * 5. the gate ({@link CacertsGate}): Rancher has rolled out and serves the
 *    new CA, and presents the new certificate;
 * 6. per downstream cluster, only after the gate: `CATTLE_CA_CHECKSUM` on the
 *    agents that exist ({@link AgentCaChecksum}), set for a private CA and
 *    removed for a public one, waiting until they are Ready;
 * 7. per downstream cluster with `fleetCluster`, after its agents: Fleet's
 *    Force Update, once per CA ({@link FleetForceUpdate});
 * 8. `restartWorkloads` in each downstream cluster, when given.
 *
 * A new leaf from the same CA writes the ingress Secret and passes the gate;
 * nothing rolls. A new CA rolls Rancher once and each agent once. Existing
 * Secrets are taken over; destroying the stack or removing a downstream
 * cluster changes nothing in the clusters.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
export class RancherServerRotation extends Construct {
  /** Step 1: the CA Secret (private CA only). */
  public readonly caSecret?: RancherCaSecret;
  /** Step 2: the chart values (when `release` is given). */
  public readonly helmValues?: RancherHelmValues;
  /** Step 3: the ingress certificate Secret (`tls=ingress`). */
  public readonly ingressCertificate?: RancherIngressCertificate;
  /** Step 4: the restart of the Rancher Deployment, keyed on the CA. */
  public readonly rancherRestart: RolloutRestart;
  /** Step 5: the gate. */
  public readonly gate: CacertsGate;
  /** Step 6: the agents' checksum, one per downstream cluster, in `downstream` order. */
  public readonly agentChecksums: AgentCaChecksum[];
  /** Step 7: Fleet's Force Update, per downstream cluster with `fleetCluster`, in `downstream` order. */
  public readonly fleetForceUpdates: FleetForceUpdate[];
  /** Step 8: restarts in the downstream clusters (when `restartWorkloads` is given), in `downstream` order. */
  public readonly downstreamRestarts: RolloutRestart[];
  /** Last: every step above run again in order (see `ConvergeStepSpec`). */
  public readonly converge: ClusterStep;
  /** Whether the rotation uses a private CA. */
  public readonly privateCa: boolean;
  /** The `CATTLE_CA_CHECKSUM` of the CA bundle (private CA only). */
  public readonly caChecksum?: string;
  /** The content hash on Rancher's pod template: changes exactly when the CA (or public/private) changes. */
  public readonly trustHash: string;
  /** What downstream clusters' steps take from this rotation, here or in another stack ({@link RancherDownstreamTrust}). */
  public readonly trust: ServerTrust;

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
        `'privateCa' is false, so the CA bundle ${bundle.file ?? ''} is not written to tls-ca and agents lose their ` +
          `CATTLE_CA_CHECKSUM; remove 'caFile' or set 'privateCa' to true if the certificate is signed by a private CA.`,
      );
    }
    const tls = props.tls ?? 'ingress';
    if (tls !== 'ingress' && tls !== 'external') {
      throw new RotationPropError(what, 'tls', tls, "is not 'ingress' or 'external'", "use 'external' when a load balancer terminates TLS, else leave it out");
    }
    const ingressSecretName = props.ingressSecretName ?? DEFAULTS.ingressSecretName;
    checkProp(what, 'ingressSecretName', ingressSecretName, dnsSubdomain);
    const downstream = props.downstream ?? [];
    checkDownstream(what, downstream);
    const server: StepTarget = { cluster: 'server', kubeconfig: props.server.kubeconfig, ...(props.server.context !== undefined ? { context: props.server.context } : {}) };

    // The chart reads its Secrets from the release's namespace and names the Deployment after the release.
    const deployment = {
      namespace: props.release?.releaseNamespace ?? DEFAULTS.rancherNamespace,
      name: props.release?.releaseName ?? DEFAULTS.releaseName,
    };

    // 1. tls-ca.
    if (this.privateCa && bundle !== undefined) {
      this.caSecret = new RancherCaSecret(this, 'CaSecret', { bundle, namespace: deployment.namespace, target: server });
      this.caChecksum = this.caSecret.checksum;
    }
    let last: ITerraformDependable[] = this.caSecret ? [this.caSecret.resource] : [];

    // 2. The chart values, waiting for the release.
    if (props.release !== undefined) {
      this.helmValues = new RancherHelmValues(this, 'HelmValues', {
        hostname: props.hostname,
        privateCa: this.privateCa,
        mode: props.release,
        ingressSecretName: props.ingressSecretName,
        tls,
        dependsOn: last,
      });
      last = [...last, this.helmValues.resource];
    }

    // 3. The ingress Secret, once the chart reads it as source=secret.
    if (tls === 'ingress') {
      this.ingressCertificate = new RancherIngressCertificate(this, 'IngressCertificate', {
        certificate,
        secretName: ingressSecretName,
        namespace: deployment.namespace,
        target: server,
        dependsOn: last,
      });
      last = [...last, this.ingressCertificate.resource];
    }

    // 4. Rancher reads cacerts.pem only at start: roll it when the CA changes.
    this.trustHash = sha256Hex(`cacerts\n${this.caChecksum ?? 'public'}`);
    this.rancherRestart = new RolloutRestart(this, 'RancherRestart', {
      trustHash: this.trustHash,
      workloads: [{ kind: 'Deployment', ...deployment }],
      target: server,
      waitSeconds: 0,
      dependsOn: last,
    });

    // 5. The gate.
    const gateProps: CacertsGateProps = {
      hostname: props.hostname,
      checksum: this.caChecksum ?? '',
      trustPem: this.privateCa ? bundle?.pem : undefined,
      leafSha256: tls === 'ingress' ? certificate.leaf.sha256Fingerprint : undefined,
      connectTo: props.gate?.connectTo,
      timeoutSeconds: props.gate?.timeoutSeconds,
      deployment,
      target: server,
    };
    this.gate = new CacertsGate(this, 'Gate', { ...gateProps, dependsOn: [...last, this.rancherRestart.resource] });
    this.trust = {
      caChecksum: this.caChecksum,
      trustHash: this.trustHash,
      server,
      gate: gateProps,
      rancherVersion: props.rancherVersion,
      agentWaitSeconds: props.agentWaitSeconds,
      restartWorkloads: props.restartWorkloads,
    };

    // 6., 7. and 8.: per downstream cluster, after the gate.
    const ds = addDownstreamSteps(this, downstream, this.trust, this.gate.resource);
    this.agentChecksums = ds.agentChecksums;
    this.fleetForceUpdates = ds.fleetForceUpdates;
    this.downstreamRestarts = ds.downstreamRestarts;
    const perCluster = ds.envelopes;

    // Last: Terraform records a terraform_data before its command has finished, so a run killed
    // mid-step can leave that step recorded as done. This step is created only after all the
    // others, and runs them again in order (each writes only what differs).
    const steps = [
      ...(this.caSecret ? [this.caSecret.step.envelope] : []),
      // The helm commands were escaped for Terraform (`$${`); the step receives them as they run.
      ...(this.helmValues?.command
        ? [{ shell: [this.helmValues.recoverCommand ?? 'true', this.helmValues.command].map(unliteral), cluster: 'server' }]
        : []),
      ...(this.ingressCertificate ? [this.ingressCertificate.step.envelope] : []),
      this.rancherRestart.step.envelope,
      this.gate.step.envelope,
      ...perCluster,
    ];
    this.converge = new ClusterStep(this, 'Converge', {
      target: server,
      spec: { step: 'converge', steps },
      dependsOn: [
        this.gate.resource,
        ...(this.helmValues ? [this.helmValues.resource] : []),
        ...this.agentChecksums.map((a) => a.resource),
        ...this.fleetForceUpdates.map((f) => f.resource),
        ...this.downstreamRestarts.map((r) => r.resource),
      ],
    });
  }
}


/**
 * What a downstream cluster's steps take from the server's rotation: the
 * checksum its agents get, the hash keyed restarts roll on, the server, and
 * the gate they wait behind. {@link RancherServerRotation.trust} gives it; a
 * {@link RancherDownstreamTrust} in another stack takes it.
 */
export interface ServerTrust {
  /** The `CATTLE_CA_CHECKSUM` agents get; undefined for a publicly trusted certificate (the checksum is removed). */
  readonly caChecksum?: string;
  /** The content hash restarts are keyed on: changes exactly when the CA changes. */
  readonly trustHash: string;
  /** The Rancher server cluster. */
  readonly server: StepTarget;
  /** The gate's properties: Rancher serves the new CA and certificate (read only). */
  readonly gate: CacertsGateProps;
  /** The Rancher version, for the agents RKE1 clusters run. */
  readonly rancherVersion?: string;
  /** How long each cluster's agents may take to be Ready, in seconds. */
  readonly agentWaitSeconds?: number;
  /** More workloads to roll in every downstream cluster after a CA change. */
  readonly restartWorkloads?: Workload[];
}

/** The steps {@link addDownstreamSteps} made, in `downstream` order. */
export interface DownstreamSteps {
  readonly agentChecksums: AgentCaChecksum[];
  readonly fleetForceUpdates: FleetForceUpdate[];
  readonly downstreamRestarts: RolloutRestart[];
  /** Every step's envelope, cluster after cluster, for a converge step. */
  readonly envelopes: StepEnvelope[];
}

/** Refuses a downstream list with a bad or repeated name or an unknown distribution. */
export function checkDownstream(what: string, downstream: readonly DownstreamCluster[]): void {
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
    if (seen.has(cluster.name) || cluster.name === 'server') {
      throw new RotationPropError(what, 'downstream[].name', cluster.name, cluster.name === 'server' ? 'is the name of the Rancher server cluster' : 'is listed twice', 'give each downstream cluster once, under its name in Rancher');
    }
    if (!(DISTRIBUTIONS as readonly string[]).includes(cluster.distribution)) {
      throw new RotationPropError(what, 'downstream[].distribution', cluster.distribution, `is not one of ${DISTRIBUTIONS.join(', ')}`, 'say how the cluster was made; it decides which Rancher agents run there');
    }
    seen.add(cluster.name);
  }
}

/**
 * Steps 6, 7 and 8 for each downstream cluster, under `scope/Downstream-<name>`,
 * after `gate`: the agents' checksum, Fleet's Force Update, the restarts.
 */
export function addDownstreamSteps(
  scope: Construct,
  downstream: readonly DownstreamCluster[],
  trust: ServerTrust,
  gate: ITerraformDependable,
): DownstreamSteps {
  const agentChecksums: AgentCaChecksum[] = [];
  const fleetForceUpdates: FleetForceUpdate[] = [];
  const downstreamRestarts: RolloutRestart[] = [];
  const perCluster: StepEnvelope[][] = [];
  const server = trust.server;
  for (const cluster of downstream) {
    const clusterScope = new Construct(scope, `Downstream-${cluster.name}`);
    const target: StepTarget = { cluster: cluster.name, kubeconfig: cluster.kubeconfig, ...(cluster.context !== undefined ? { context: cluster.context } : {}) };
    const agents = new AgentCaChecksum(clusterScope, 'AgentCaChecksum', {
      checksum: trust.caChecksum ?? null,
      clusterName: cluster.name,
      agents: rancherAgents(cluster.distribution, trust.rancherVersion),
      waitSeconds: trust.agentWaitSeconds,
      mode: cluster.agents,
      clusterId: cluster.clusterId,
      server,
      target,
      dependsOn: [gate],
    });
    agentChecksums.push(agents);
    const steps: StepEnvelope[] = [...agents.envelopes];
    if (cluster.fleetCluster !== undefined) {
      const [workspace, name] = cluster.fleetCluster.includes('/') ? cluster.fleetCluster.split('/', 2) : [undefined, cluster.fleetCluster];
      const fleet = new FleetForceUpdate(clusterScope, 'FleetForceUpdate', {
        name,
        namespace: workspace,
        checksum: trust.caChecksum ?? '',
        timeoutSeconds: trust.agentWaitSeconds,
        target: server,
        dependsOn: [agents.resource],
      });
      fleetForceUpdates.push(fleet);
      steps.push(fleet.step.envelope);
    } else {
      addRotationWarning(
        clusterScope,
        'fleetNotForceUpdated',
        `downstream cluster '${cluster.name}' has no 'fleetCluster': after a CA change its fleet-agent is not force-updated and keeps the old CA ` +
          `in its kubeconfig; set 'fleetCluster' to its name in Fleet (kubectl get clusters.fleet.cattle.io -n fleet-default).`,
      );
    }
    if (trust.restartWorkloads && trust.restartWorkloads.length > 0) {
      const restart = new RolloutRestart(clusterScope, 'RolloutRestart', {
        trustHash: trust.trustHash,
        workloads: trust.restartWorkloads,
        target,
        dependsOn: [agents.resource],
      });
      downstreamRestarts.push(restart);
      steps.push(restart.step.envelope);
    }
    perCluster.push(steps);
  }
  return { agentChecksums, fleetForceUpdates, downstreamRestarts, envelopes: perCluster.flat() };
}

/** The text a Terraform string literal written by `terraformLiteral` stands for. */
function unliteral(text: string): string {
  return text.replace(/\$\$\{/g, '${').replace(/%%\{/g, '%{');
}
