/**
 * The `force-deploy` step: method 1 of Rancher's certificate procedure.
 * Annotates `clusters.management.cattle.io/<id>` with
 * `io.cattle.agent.force.deploy=true`; Rancher's clusterdeploy controller then
 * re-applies that cluster's agents with the checksum of the CA it serves (its
 * in-memory `cacerts`, so only after Rancher restarted) and sets the annotation
 * back to "false" (rancher/rancher pkg/controllers/management/clusterdeploy).
 * The step waits for that reset; the agents step that follows waits for the
 * agents themselves.
 */
import type { ForceDeployStepSpec } from '../../steps/spec';
import { isNotFound, StepContext, StepFailure } from './context';

export const FORCE_DEPLOY_ANNOTATION = 'io.cattle.agent.force.deploy';

export async function runForceDeploy(spec: ForceDeployStepSpec, ctx: StepContext): Promise<void> {
  const apiPath = `/apis/management.cattle.io/v3/clusters/${encodeURIComponent(spec.clusterId)}`;
  try {
    await ctx.kube.get(apiPath);
  } catch (err) {
    if (isNotFound(err)) {
      throw new StepFailure(
        `Rancher has no cluster '${spec.clusterId}' (clusters.management.cattle.io): set downstream[].clusterId to the cluster's id ` +
          `(kubectl get clusters.management.cattle.io -o custom-columns=ID:.metadata.name,NAME:.spec.displayName); nothing was changed`,
      );
    }
    throw err;
  }
  await ctx.kube.patch(apiPath, { metadata: { annotations: { [FORCE_DEPLOY_ANNOTATION]: 'true' } } }, 'application/merge-patch+json');
  ctx.log(`clusters.management.cattle.io/${spec.clusterId}: ${FORCE_DEPLOY_ANNOTATION}=true; waiting for Rancher to re-deploy the agents`);
  const deadline = ctx.now() + spec.timeoutSeconds * 1000;
  for (;;) {
    const o = await ctx.kube.get<{ metadata?: { annotations?: Record<string, string> } }>(apiPath);
    if (o.metadata?.annotations?.[FORCE_DEPLOY_ANNOTATION] !== 'true') {
      ctx.log(`Rancher took the request (${FORCE_DEPLOY_ANNOTATION} is '${o.metadata?.annotations?.[FORCE_DEPLOY_ANNOTATION] ?? ''}' again)`);
      return;
    }
    if (ctx.now() >= deadline) {
      throw new StepFailure(
        `Rancher did not take the re-deploy request for cluster ${spec.clusterId} within ${spec.timeoutSeconds} s (${FORCE_DEPLOY_ANNOTATION} is still 'true'). ` +
          `Is Rancher running (kubectl -n cattle-system get pods -l app=rancher)? Deploy again once it is, or use agents: checksum`,
      );
    }
    await ctx.sleep(2000);
  }
}
