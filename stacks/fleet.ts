import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';
import { ConfigError } from '../lib/config/config-error';
import { ResolvedDownstream, RotationConfig } from '../lib/config/load-config';
import { RotationPropError } from '../lib/rotation/common';
import { RancherDownstreamTrust } from '../lib/rotation/rancher-downstream-trust';
import { DownstreamCluster, ServerTrust } from '../lib/rotation/rancher-server-rotation';

/** One stack of downstream clusters split off the server's (`fleet.stacks` per-cluster or groups). */
export interface SplitStack {
  /** The stack's name: `<base>-<cluster>` or `<base>-group-<group>`. */
  readonly name: string;
  /** What sets it apart from the base stack's name (`prod-eu`, `group-staging`): names its state. */
  readonly part: string;
  /** Its downstream clusters, in the file's order. */
  readonly clusters: ResolvedDownstream[];
}

/**
 * The stacks the downstream clusters are split into: none with `fleet.stacks:
 * one` (the default: they stay in the base stack), one per cluster, or one
 * per group in the order groups first appear in the file.
 */
export function splitStacks(baseName: string, config: RotationConfig): SplitStack[] {
  const shape = config.fleet?.stacks ?? 'one';
  if (shape === 'one') return [];
  if (shape === 'per-cluster') return config.downstream.map((d) => ({ name: `${baseName}-${d.name}`, part: d.name, clusters: [d] }));
  const groups = new Map<string, ResolvedDownstream[]>();
  for (const d of config.downstream) {
    const group = d.group as string; // the loader refuses a cluster without one
    groups.set(group, [...(groups.get(group) ?? []), d]);
  }
  return [...groups].map(([group, clusters]) => ({ name: `${baseName}-group-${group}`, part: `group-${group}`, clusters }));
}

/** A downstream cluster of the configuration file as the constructs take it. */
export function downstreamCluster(d: ResolvedDownstream): DownstreamCluster {
  return {
    name: d.name,
    kubeconfig: d.kubeconfig,
    context: d.context,
    distribution: d.distribution,
    agents: d.agents,
    clusterId: d.clusterId,
    fleetCluster: d.fleetCluster,
  };
}

/**
 * A stack holding some downstream clusters' steps ({@link RancherDownstreamTrust}),
 * split off the server's stack. It declares that it depends on the server's
 * stack (so `cdktf deploy '*'` orders them), and its own gate keeps it from
 * changing any agent before Rancher serves the new CA in any case.
 */
export class RancherDownstreamStack extends TerraformStack {
  readonly trust: RancherDownstreamTrust;

  constructor(scope: Construct, id: string, serverTrust: ServerTrust, split: SplitStack, configFile: string) {
    super(scope, id);
    try {
      this.trust = new RancherDownstreamTrust(this, 'rancher-downstream', { trust: serverTrust, downstream: split.clusters.map(downstreamCluster) });
    } catch (e) {
      if (e instanceof RotationPropError) throw new ConfigError(configFile, e.prop, `'${String(e.value)}' ${e.problem}`, e.fix);
      throw e;
    }
  }
}
