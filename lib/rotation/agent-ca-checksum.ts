import { Env } from '@cdktf/provider-kubernetes/lib/env';
import { ITerraformDependable, TerraformProvider, TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import { CATTLE_CA_CHECKSUM } from '../contract';
import { DEFAULTS, dnsLabel, dnsSubdomain, notEmpty, sha256HexValue } from '../rules';
import { checkProp, fieldManagerName, RotationBaseProps, RotationPropError } from './common';

/** One Rancher agent workload and the container that carries `CATTLE_CA_CHECKSUM`. */
export interface AgentContainer {
  /** The workload's name. */
  readonly name: string;
  /** The container's name inside the pod template. */
  readonly container: string;
}

/** Properties of {@link AgentCaChecksum}. */
export interface AgentCaChecksumProps extends RotationBaseProps {
  /**
   * The `CATTLE_CA_CHECKSUM` value: the SHA-256 of Rancher's `cacerts`
   * setting, lowercase hex (`CaBundle.checksum`, `RancherCaSecret.checksum`).
   */
  readonly checksum: string;
  /** The downstream cluster's name, for messages and documentation (it does not change resource addresses). */
  readonly clusterName: string;
  /**
   * The namespace of the agents.
   * @default 'cattle-system'
   */
  readonly namespace?: string;
  /**
   * The cluster agent Deployment and its container.
   * @default { name: 'cattle-cluster-agent', container: 'cluster-register' }
   */
  readonly clusterAgent?: AgentContainer;
  /**
   * The node agent DaemonSet and its container, or `false` for clusters
   * without one (Rancher ≥ 2.6 deploys `cattle-node-agent` for RKE1 clusters only).
   * @default { name: 'cattle-node-agent', container: 'agent' }
   */
  readonly nodeAgent?: AgentContainer | false;
}

/**
 * Makes the Rancher agents of ONE downstream cluster trust a new CA (the
 * manual-checksum method of Rancher's certificate update procedure, when it
 * reconfigures the agents to trust the new CA): sets `CATTLE_CA_CHECKSUM` on the `cattle-cluster-agent`
 * Deployment and the `cattle-node-agent` DaemonSet with `kubernetes_env`, each
 * with its own field manager and `force`. Changing the env var changes the pod
 * template, so the agents roll.
 *
 * Use one instance per downstream cluster, each with that cluster's provider.
 * The dependencies (`dependsOn`) must include whatever makes Rancher serve the
 * new CA first, or agents reject it.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
export class AgentCaChecksum extends Construct {
  /** The default cluster agent Deployment and container. */
  public static readonly DEFAULT_CLUSTER_AGENT: AgentContainer = { name: 'cattle-cluster-agent', container: 'cluster-register' };
  /** The default node agent DaemonSet and container. */
  public static readonly DEFAULT_NODE_AGENT: AgentContainer = { name: 'cattle-node-agent', container: 'agent' };

  /** The `kubernetes_env` on the cluster agent Deployment, for escape hatches. */
  public readonly clusterAgentEnv: Env;
  /** The resource that sets the checksum on the node agent DaemonSet (undefined when `nodeAgent: false`). */
  public readonly nodeAgentResource?: TerraformResource;
  /** The checksum set. */
  public readonly checksum: string;
  /** The downstream cluster's name. */
  public readonly clusterName: string;
  /** The agents' namespace. */
  public readonly namespace: string;

  private readonly provider?: TerraformProvider;
  private readonly dependsOn?: ITerraformDependable[];

  constructor(scope: Construct, id: string, props: AgentCaChecksumProps) {
    super(scope, id);
    const what = 'AgentCaChecksum';
    checkProp(what, 'clusterName', props.clusterName, notEmpty);
    checkProp(`${what} (cluster '${props.clusterName}')`, 'checksum', props.checksum, sha256HexValue);
    this.namespace = props.namespace ?? DEFAULTS.rancherNamespace;
    checkProp(what, 'namespace', this.namespace, dnsLabel());
    const clusterAgent = props.clusterAgent ?? AgentCaChecksum.DEFAULT_CLUSTER_AGENT;
    checkAgent(what, 'clusterAgent', clusterAgent);
    const nodeAgent = props.nodeAgent === undefined ? AgentCaChecksum.DEFAULT_NODE_AGENT : props.nodeAgent;
    if (nodeAgent !== false) {
      checkAgent(what, 'nodeAgent', nodeAgent);
    }
    this.checksum = props.checksum;
    this.clusterName = props.clusterName;
    this.provider = props.provider;
    this.dependsOn = props.dependsOn;

    this.clusterAgentEnv = this.envResource('ClusterAgent', 'Deployment', clusterAgent, 'cluster-agent-env');
    if (nodeAgent !== false) {
      this.nodeAgentResource = this.nodeAgentEnv(nodeAgent);
    }
  }

  /**
   * The one place that decides how the node agent DaemonSet gets the checksum.
   * Provider issue #2426 reports that `kubernetes_env` may not apply to
   * DaemonSets; a subclass (or a later version) can return a workaround here
   * (e.g. a patch through another resource) without touching the rest.
   */
  protected nodeAgentEnv(nodeAgent: AgentContainer): TerraformResource {
    return this.envResource('NodeAgent', 'DaemonSet', nodeAgent, 'node-agent-env');
  }

  /** A `kubernetes_env` setting `CATTLE_CA_CHECKSUM` on one container of one workload. */
  protected envResource(id: string, kind: 'Deployment' | 'DaemonSet', agent: AgentContainer, purpose: string): Env {
    return new Env(this, id, {
      provider: this.provider,
      dependsOn: this.dependsOn,
      apiVersion: 'apps/v1',
      kind,
      metadata: { name: agent.name, namespace: this.namespace },
      container: agent.container,
      env: [{ name: CATTLE_CA_CHECKSUM, value: this.checksum }],
      fieldManager: fieldManagerName(this, purpose),
      force: true,
    });
  }
}

function checkAgent(what: string, prop: string, agent: AgentContainer): void {
  if (agent === null || typeof agent !== 'object') {
    throw new RotationPropError(what, prop, agent, 'must be an object { name, container }', 'name the workload and its container');
  }
  checkProp(what, `${prop}.name`, agent.name, dnsSubdomain);
  checkProp(what, `${prop}.container`, agent.container, dnsLabel('container name'));
}
