import { Construct } from 'constructs';
import { dnsLabel, dnsSubdomain } from '../rules';
import { ClusterStep, StepBaseProps } from './cluster-step';
import { checkProp, RotationPropError } from './common';

/** Properties of {@link FleetForceUpdate}. */
export interface FleetForceUpdateProps extends StepBaseProps {
  /**
   * The Fleet cluster's name: the provisioning cluster's name for a cluster
   * Rancher provisioned or imported from 2.6 on, the cluster id (`c-xxxxx`)
   * for a legacy RKE1 cluster.
   */
  readonly name: string;
  /**
   * The Fleet workspace (namespace of the cluster object).
   * @default 'fleet-default'
   */
  readonly namespace?: string;
  /** The CA checksum the update is for ('' for a public CA): the step runs again only when it changes. */
  readonly checksum: string;
  /**
   * How long Fleet may take to re-deploy the agent, in seconds.
   * @default 300
   */
  readonly timeoutSeconds?: number;
}

/**
 * Fleet's "Force Update" of one downstream cluster after Rancher's CA
 * changed: the downstream fleet-agent's kubeconfig embeds the CA it trusts,
 * and Rancher's procedure asks to force-update the Fleet clusters so the
 * agents reconnect. A step on the Rancher server cluster raises
 * `spec.redeployAgentGeneration` of `clusters.fleet.cattle.io/<name>` once
 * per CA and waits until fleet-controller reports
 * `status.agentDeployedGeneration` at that generation. A leaf-only renewal
 * (same CA) does not run it again.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
export class FleetForceUpdate extends Construct {
  public readonly step: ClusterStep;

  constructor(scope: Construct, id: string, props: FleetForceUpdateProps) {
    super(scope, id);
    const what = 'FleetForceUpdate';
    checkProp(what, 'name', props.name, dnsSubdomain);
    const namespace = props.namespace ?? 'fleet-default';
    checkProp(what, 'namespace', namespace, dnsLabel('Fleet workspace'));
    const timeoutSeconds = props.timeoutSeconds ?? 300;
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
      throw new RotationPropError(what, 'timeoutSeconds', timeoutSeconds, 'is not a whole number of seconds ≥ 1', 'give how long Fleet may take, e.g. 300');
    }
    this.step = new ClusterStep(this, 'Step', {
      target: props.target,
      dependsOn: props.dependsOn,
      spec: { step: 'fleet-force-update', namespace, name: props.name, checksum: props.checksum, timeoutSeconds },
    });
  }

  /** The `terraform_data` of the step, to depend on. */
  public get resource() {
    return this.step.resource;
  }
}
