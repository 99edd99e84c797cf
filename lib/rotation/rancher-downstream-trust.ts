import { Construct } from 'constructs';
import { AgentCaChecksum } from './agent-ca-checksum';
import { CacertsGate } from './cacerts-gate';
import { ClusterStep } from './cluster-step';
import { FleetForceUpdate } from './fleet-force-update';
import { addDownstreamSteps, checkDownstream, DownstreamCluster, ServerTrust } from './rancher-server-rotation';
import { RolloutRestart } from './rollout-restart';

/** Properties of {@link RancherDownstreamTrust}. */
export interface RancherDownstreamTrustProps {
  /** What the server's rotation gives its downstream clusters: `RancherServerRotation.trust`. */
  readonly trust: ServerTrust;
  /** The downstream clusters this construct brings to the new CA. */
  readonly downstream: DownstreamCluster[];
}

/**
 * Steps 6 to 8 of {@link RancherServerRotation} (agents' checksum, Fleet's
 * Force Update, restarts) for some downstream clusters, in a stack of their
 * own: a fleet split into one stack per cluster or per group, so that one
 * cluster's failure stops only its own stack.
 *
 * Nothing orders this stack after the server's own in Terraform, so it starts
 * with the same gate, read only: it waits until Rancher serves the new CA and
 * certificate. Deployed before the server's stack (or while that failed), it
 * fails at the gate and no agent has changed. Last, a converge step runs this
 * stack's steps again in order, as the server's stack does for its own.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
export class RancherDownstreamTrust extends Construct {
  /** The read-only gate: Rancher serves the new CA and certificate. */
  public readonly gate: CacertsGate;
  /** The agents' checksum, one per downstream cluster, in `downstream` order. */
  public readonly agentChecksums: AgentCaChecksum[];
  /** Fleet's Force Update, per downstream cluster with `fleetCluster`. */
  public readonly fleetForceUpdates: FleetForceUpdate[];
  /** Restarts in the downstream clusters (when `restartWorkloads` is given). */
  public readonly downstreamRestarts: RolloutRestart[];
  /** Last: every step above run again in order. */
  public readonly converge: ClusterStep;

  constructor(scope: Construct, id: string, props: RancherDownstreamTrustProps) {
    super(scope, id);
    checkDownstream('RancherDownstreamTrust', props.downstream);
    this.gate = new CacertsGate(this, 'Gate', props.trust.gate);
    const ds = addDownstreamSteps(this, props.downstream, props.trust, this.gate.resource);
    this.agentChecksums = ds.agentChecksums;
    this.fleetForceUpdates = ds.fleetForceUpdates;
    this.downstreamRestarts = ds.downstreamRestarts;
    this.converge = new ClusterStep(this, 'Converge', {
      target: props.trust.server,
      spec: { step: 'converge', steps: [this.gate.step.envelope, ...ds.envelopes] },
      dependsOn: [
        this.gate.resource,
        ...this.agentChecksums.map((a) => a.resource),
        ...this.fleetForceUpdates.map((f) => f.resource),
        ...this.downstreamRestarts.map((r) => r.resource),
      ],
    });
  }
}
