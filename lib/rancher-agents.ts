/**
 * Which Rancher agents a downstream cluster runs, from the Rancher version
 * and the cluster's distribution (rancher/rancher pkg/systemtemplate: the
 * node agent is rendered only for RKE1 clusters, and 2.12 removed it; the
 * `local` cluster runs no agents since 2.5). Shared by the config loader and
 * the constructs; dependency-free.
 */
import type { StepWorkload } from './steps/spec';

/** How a downstream cluster was made, as far as its Rancher agents go. */
export const DISTRIBUTIONS = ['rke1', 'rke2', 'k3s', 'imported'] as const;
export type Distribution = (typeof DISTRIBUTIONS)[number];

/** The cluster agent: every cluster Rancher manages runs it. */
export const CLUSTER_AGENT: StepWorkload = Object.freeze({ kind: 'Deployment', namespace: 'cattle-system', name: 'cattle-cluster-agent', container: 'cluster-register' });
/** The node agent: RKE1 clusters on Rancher up to 2.11 only. */
export const NODE_AGENT: StepWorkload = Object.freeze({ kind: 'DaemonSet', namespace: 'cattle-system', name: 'cattle-node-agent', container: 'agent' });

/** A Rancher version `2.8.5`, `v2.9.0`, `2.12`; undefined when the text is not one. */
export function parseRancherVersion(text: string): { major: number; minor: number } | undefined {
  const m = /^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.-]+)?$/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : undefined;
}

/**
 * The agents that carry `CATTLE_CA_CHECKSUM` in a downstream cluster. Without
 * a Rancher version an RKE1 cluster lists the node agent too; the step skips
 * it where it does not exist.
 */
export function rancherAgents(distribution: Distribution, rancherVersion?: string): StepWorkload[] {
  const v = rancherVersion !== undefined ? parseRancherVersion(rancherVersion) : undefined;
  // Before 2.5 every RKE1 cluster ran it too; 2.12 removed it.
  const nodeAgent = distribution === 'rke1' && (v === undefined || (v.major === 2 && v.minor < 12));
  return nodeAgent ? [CLUSTER_AGENT, NODE_AGENT] : [CLUSTER_AGENT];
}
