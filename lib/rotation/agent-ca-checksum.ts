import { Construct } from 'constructs';
import { fieldManagerFor } from '../contract';
import { CLUSTER_AGENT, NODE_AGENT } from '../rancher-agents';
import { dnsLabel, dnsSubdomain, notEmpty, sha256HexValue } from '../rules';
import type { StepWorkload } from '../steps/spec';
import { ClusterStep, StepBaseProps, StepTarget } from './cluster-step';
import { checkProp, RotationPropError } from './common';

/** Properties of {@link AgentCaChecksum}. */
export interface AgentCaChecksumProps extends StepBaseProps {
  /**
   * The `CATTLE_CA_CHECKSUM` value: the SHA-256 of Rancher's `cacerts`
   * setting, lowercase hex (`CaBundle.checksum`); `null` removes the variable
   * (Rancher serves a publicly trusted certificate and an empty setting).
   */
  readonly checksum: string | null;
  /** The downstream cluster's name, for messages. */
  readonly clusterName: string;
  /**
   * The agent workloads and the container carrying the variable. Use
   * `rancherAgents(distribution, rancherVersion)`; one that does not exist
   * in the cluster is skipped with a line saying so.
   * @default [CLUSTER_AGENT, NODE_AGENT]
   */
  readonly agents?: StepWorkload[];
  /**
   * How long the step waits for the agents' pods to be Ready, in seconds.
   * @default 300
   */
  readonly waitSeconds?: number;
  /**
   * `checksum`: the step sets the variable on the agents (the manual-checksum
   * method). `redeploy`: method 1 — a step on the Rancher server cluster
   * annotates `clusters.management.cattle.io/<clusterId>` with
   * `io.cattle.agent.force.deploy=true`, Rancher re-renders the agents with the
   * checksum of the CA it serves, and the step on this cluster only waits until
   * they carry `checksum` and are Ready.
   * @default 'checksum'
   */
  readonly mode?: 'checksum' | 'redeploy';
  /** The Rancher cluster id (`c-xxxxx`, `c-m-xxxxxxxx`); required with `mode: 'redeploy'`. */
  readonly clusterId?: string;
  /** The Rancher server cluster; required with `mode: 'redeploy'`. */
  readonly server?: StepTarget;
}

/**
 * Makes the Rancher agents of ONE downstream cluster trust a new CA (the
 * manual-checksum method of Rancher's certificate update procedure): a step
 * sets `CATTLE_CA_CHECKSUM` on each agent that exists (strategic merge patch
 * with its own field manager), reads it back, and waits until the agents'
 * pods are Ready. Changing the variable changes the pod template, so the
 * agents roll once per CA change.
 *
 * Run it only after Rancher serves the new CA ({@link CacertsGate}): an agent
 * checks at start that the CA Rancher serves hashes to its checksum and exits
 * otherwise. Destroying the construct (or removing a cluster from the
 * configuration) leaves the agents as they are.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
export class AgentCaChecksum extends Construct {
  /** The default cluster agent Deployment and container. */
  public static readonly DEFAULT_CLUSTER_AGENT: StepWorkload = CLUSTER_AGENT;
  /** The default node agent DaemonSet and container (RKE1 on Rancher 2.5–2.11). */
  public static readonly DEFAULT_NODE_AGENT: StepWorkload = NODE_AGENT;

  /** The step on the downstream cluster (it sets the checksum, or waits for Rancher's re-render). */
  public readonly step: ClusterStep;
  /** With `mode: 'redeploy'`: the step that asks Rancher to re-render the agents. */
  public readonly forceDeploy?: ClusterStep;
  /** The checksum set, or null when it is removed. */
  public readonly checksum: string | null;
  /** The downstream cluster's name. */
  public readonly clusterName: string;
  /** The agents the step changes where they exist. */
  public readonly agents: StepWorkload[];

  constructor(scope: Construct, id: string, props: AgentCaChecksumProps) {
    super(scope, id);
    const what = 'AgentCaChecksum';
    checkProp(what, 'clusterName', props.clusterName, notEmpty);
    if (props.checksum !== null) {
      checkProp(`${what} (cluster '${props.clusterName}')`, 'checksum', props.checksum, sha256HexValue);
    }
    const agents = props.agents ?? [CLUSTER_AGENT, NODE_AGENT];
    if (agents.length === 0) {
      throw new RotationPropError(what, 'agents', '[]', 'is empty', 'list the agent workloads (rancherAgents(distribution, rancherVersion))');
    }
    for (const agent of agents) checkAgent(what, agent);
    const waitSeconds = props.waitSeconds ?? 300;
    if (!Number.isInteger(waitSeconds) || waitSeconds < 1) {
      throw new RotationPropError(what, 'waitSeconds', waitSeconds, 'is not a whole number of seconds ≥ 1', 'give how long the agents may take to roll, e.g. 300');
    }
    this.checksum = props.checksum;
    this.clusterName = props.clusterName;
    this.agents = agents.map((a) => ({ ...a }));
    const mode = props.mode ?? 'checksum';
    if (mode !== 'checksum' && mode !== 'redeploy') {
      throw new RotationPropError(what, 'mode', mode, "is not 'checksum' or 'redeploy'", "use 'redeploy' to let Rancher re-render the agents (method 1), else leave it out");
    }
    let dependsOn = props.dependsOn;
    if (mode === 'redeploy') {
      if (typeof props.clusterId !== 'string' || !/^[a-z0-9]([a-z0-9.-]{0,251}[a-z0-9])?$/.test(props.clusterId)) {
        throw new RotationPropError(
          what,
          'clusterId',
          props.clusterId ?? '',
          "is needed with mode 'redeploy' and must be the cluster's id in Rancher",
          'kubectl get clusters.management.cattle.io -o custom-columns=ID:.metadata.name,NAME:.spec.displayName on the Rancher server cluster',
        );
      }
      if (!props.server) {
        throw new RotationPropError(what, 'server', undefined, "is needed with mode 'redeploy'", 'pass the Rancher server cluster: the cluster object lives there');
      }
      this.forceDeploy = new ClusterStep(this, 'ForceDeploy', {
        target: props.server,
        dependsOn,
        spec: { step: 'force-deploy', clusterId: props.clusterId, checksum: props.checksum ?? '', timeoutSeconds: waitSeconds },
      });
      dependsOn = [this.forceDeploy.resource];
    }
    this.step = new ClusterStep(this, 'Step', {
      target: props.target,
      dependsOn,
      spec: {
        step: 'agents',
        checksum: props.checksum,
        ...(mode === 'redeploy' ? { verifyOnly: true } : {}),
        workloads: this.agents,
        fieldManager: fieldManagerFor(this.node.path, 'agent-env'),
        waitSeconds,
      },
    });
  }

  /** The envelopes of this construct's steps, in the order they run. */
  public get envelopes() {
    return [...(this.forceDeploy ? [this.forceDeploy.envelope] : []), this.step.envelope];
  }

  /** The `terraform_data` of the step, to depend on. */
  public get resource() {
    return this.step.resource;
  }
}

function checkAgent(what: string, agent: StepWorkload): void {
  if (agent === null || typeof agent !== 'object') {
    throw new RotationPropError(what, 'agents', agent, 'must be objects { kind, namespace, name, container }', 'name the workload and its container');
  }
  if (!['Deployment', 'DaemonSet', 'StatefulSet'].includes(agent.kind)) {
    throw new RotationPropError(what, 'agents[].kind', agent.kind, 'is not Deployment, DaemonSet or StatefulSet', 'give the workload kind');
  }
  checkProp(what, 'agents[].namespace', agent.namespace, dnsLabel());
  checkProp(what, 'agents[].name', agent.name, dnsSubdomain);
  checkProp(what, 'agents[].container', agent.container ?? '', dnsLabel('container name'));
}
