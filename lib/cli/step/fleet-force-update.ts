/**
 * The `fleet-force-update` step: Fleet's "Force Update" of one downstream
 * cluster, which Rancher's certificate procedure asks for after a CA change
 * (the downstream fleet-agent's kubeconfig embeds the CA it trusts).
 *
 * The UI's Force Update raises `spec.redeployAgentGeneration` of the Fleet
 * cluster object; fleet-controller sees it differ from
 * `status.agentDeployedGeneration`, deletes and re-creates the downstream
 * fleet-agent, and sets `status.agentDeployedGeneration` to the spec's value
 * (rancher/fleet `pkg/apis/fleet.cattle.io/v1alpha1/cluster_types.go`,
 * agentmanagement `cluster/import.go`).
 *
 * The step raises the generation once per CA: it records the CA checksum in
 * an annotation in the same patch (guarded by `resourceVersion`), so running
 * it again (the converge step, a retry after a kill) only waits.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 * @see https://fleet.rancher.io/troubleshooting
 */
import { ANNOTATIONS } from '../../contract';
import type { FleetForceUpdateStepSpec } from '../../steps/spec';
import { KubeApiError } from '../kube/client';
import { isNotFound, short, StepContext, StepFailure } from './context';

interface FleetCluster {
  metadata?: { resourceVersion?: string; annotations?: Record<string, string> };
  spec?: { redeployAgentGeneration?: number };
  status?: { agentDeployedGeneration?: number };
}

export async function runFleetForceUpdate(spec: FleetForceUpdateStepSpec, ctx: StepContext): Promise<void> {
  const apiPath = `/apis/fleet.cattle.io/v1alpha1/namespaces/${encodeURIComponent(spec.namespace)}/clusters/${encodeURIComponent(spec.name)}`;
  const object = `clusters.fleet.cattle.io ${spec.namespace}/${spec.name}`;
  const ca = spec.checksum === '' ? 'the public CA' : `CA ${short(spec.checksum)}`;
  let generation: number | undefined;
  for (let attempt = 0; generation === undefined; attempt++) {
    let o: FleetCluster;
    try {
      o = await ctx.kube.get<FleetCluster>(apiPath);
    } catch (err) {
      if (isNotFound(err)) {
        throw new StepFailure(
          `Rancher has no Fleet cluster ${object}: set downstream[].fleetCluster to the cluster's name in Fleet ` +
            `(kubectl get clusters.fleet.cattle.io -A -o custom-columns=WORKSPACE:.metadata.namespace,NAME:.metadata.name,CLUSTER:.metadata.labels.management\\.cattle\\.io/cluster-name) ` +
            `or leave it out to skip the Force Update; nothing was changed`,
        );
      }
      throw err;
    }
    const current = o.spec?.redeployAgentGeneration ?? 0;
    if (o.metadata?.annotations?.[ANNOTATIONS.fleetForceUpdateFor] === spec.checksum) {
      generation = current;
      ctx.log(`${object} was already force-updated for ${ca} (redeployAgentGeneration ${current})`);
      break;
    }
    try {
      await ctx.kube.patch(
        apiPath,
        {
          metadata: { resourceVersion: o.metadata?.resourceVersion, annotations: { [ANNOTATIONS.fleetForceUpdateFor]: spec.checksum } },
          spec: { redeployAgentGeneration: current + 1 },
        },
        'application/merge-patch+json',
      );
      generation = current + 1;
      ctx.log(`${object}: redeployAgentGeneration ${current} → ${generation} for ${ca}; waiting for Fleet to re-deploy the fleet-agent`);
    } catch (err) {
      // Someone else changed the object between our read and our write: read again.
      if (err instanceof KubeApiError && err.statusCode === 409 && attempt < 5) continue;
      throw err;
    }
  }
  const deadline = ctx.now() + spec.timeoutSeconds * 1000;
  for (;;) {
    const o = await ctx.kube.get<FleetCluster>(apiPath);
    const deployed = o.status?.agentDeployedGeneration;
    if (deployed !== undefined && deployed >= generation) {
      ctx.log(`Fleet re-deployed the fleet-agent (status.agentDeployedGeneration ${deployed})`);
      return;
    }
    if (ctx.now() >= deadline) {
      throw new StepFailure(
        `Fleet did not re-deploy the fleet-agent of ${object} within ${spec.timeoutSeconds} s ` +
          `(status.agentDeployedGeneration is ${deployed ?? 'unset'}, redeployAgentGeneration is ${generation}). ` +
          `Is fleet-controller running (kubectl -n cattle-fleet-system get pods)? Deploy again once it is: the step only waits then`,
      );
    }
    await ctx.sleep(2000);
  }
}
