/**
 * The `rancher-cluster-rotate` step: Rancher's own certificate rotation of a
 * cluster it provisioned (the UI's "Rotate Certificates"), requested through
 * the field of its cluster object that Rancher's controllers act on.
 *
 * RKE2/K3s (`kind: v2`, Rancher 2.6.4+): `spec.rkeConfig.rotateCertificates`
 * of `clusters.provisioning.cattle.io`. Rancher copies it to the cluster's
 * `rkecontrolplanes.rke.cattle.io`; its planner rotates when the generation
 * differs from `status.certificateRotationGeneration` (server nodes: stop,
 * `rke2|k3s certificate rotate -s …`, restart; workers: restart), then sets
 * that status field (rancher/rancher `pkg/capr/planner/certificaterotation.go`
 * `shouldRotate`, `rotateCertificates`). Rancher never clears the block: a
 * new generation rotates again. Done, as Rancher's own tests check it: the
 * generation reached and the control plane `Reconciled`.
 *
 * RKE1 (`kind: rke1`): `spec.rancherKubernetesEngineConfig.rotateCertificates`
 * of `clusters.management.cattle.io`. Rancher's cluster provisioner runs
 * `rke`'s rotation while the block is set and clears it on success
 * (`pkg/controllers/management/clusterprovisioner`, `resetRkeConfigFlags`);
 * on failure the block stays and Rancher retries it forever with back-off —
 * the "CA Certificate or Key is empty" loop. So the step refuses to start
 * over a block it did not write, and clears the block itself when Rancher
 * reports the rotation failed.
 *
 * @see https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/manage-clusters/rotate-certificates
 */
import { ANNOTATIONS } from '../../contract';
import type { RancherClusterRotateStepSpec } from '../../steps/spec';
import { isNotFound, StepContext, StepFailure } from './context';

interface Condition {
  type?: string;
  status?: string;
  message?: string;
  reason?: string;
}
interface RancherObject {
  metadata?: { annotations?: Record<string, string> };
  spec?: any;
  status?: { conditions?: Condition[]; certificateRotationGeneration?: number };
}

function condition(o: RancherObject | undefined, type: string): Condition | undefined {
  return o?.status?.conditions?.find((c) => c.type === type);
}

/** What the step asks for, as recorded on an RKE1 cluster object. */
export function rke1Request(spec: RancherClusterRotateStepSpec): string {
  return JSON.stringify({ generation: spec.generation, caCertificates: spec.caCertificates === true, services: [...spec.services] });
}

export async function runRancherClusterRotate(spec: RancherClusterRotateStepSpec, ctx: StepContext): Promise<void> {
  if (spec.kind === 'v2') return rotateV2(spec, ctx);
  return rotateRke1(spec, ctx);
}

async function getOrExplain(ctx: StepContext, apiPath: string, what: string, fix: string): Promise<RancherObject> {
  try {
    return await ctx.kube.get<RancherObject>(apiPath);
  } catch (err) {
    if (isNotFound(err)) throw new StepFailure(`Rancher has no ${what}: ${fix}; nothing was changed`);
    throw err;
  }
}

async function rotateV2(spec: RancherClusterRotateStepSpec, ctx: StepContext): Promise<void> {
  const ns = spec.namespace ?? 'fleet-default';
  const clusterPath = `/apis/provisioning.cattle.io/v1/namespaces/${encodeURIComponent(ns)}/clusters/${encodeURIComponent(spec.name)}`;
  const cpPath = `/apis/rke.cattle.io/v1/namespaces/${encodeURIComponent(ns)}/rkecontrolplanes/${encodeURIComponent(spec.name)}`;
  const what = `clusters.provisioning.cattle.io ${ns}/${spec.name}`;
  const cluster = await getOrExplain(
    ctx,
    clusterPath,
    what,
    'set the cluster name and namespace as Rancher shows them (kubectl get clusters.provisioning.cattle.io -A)',
  );
  const cp = await getOrExplain(ctx, cpPath, `control plane rkecontrolplanes.rke.cattle.io ${ns}/${spec.name}`, 'only clusters Rancher provisioned with RKE2 or K3s have one; for an RKE1 cluster use kind rke1');
  const done = (o: RancherObject) => o.status?.certificateRotationGeneration === spec.generation && condition(o, 'Reconciled')?.status === 'True';
  const requested = cluster.spec?.rkeConfig?.rotateCertificates;
  const same = requested?.generation === spec.generation && JSON.stringify([...(requested?.services ?? [])].sort()) === JSON.stringify([...spec.services].sort());
  if (same && done(cp)) {
    ctx.log(`${what}: rotation generation ${spec.generation} is already done`);
    return;
  }
  if (!same) {
    const previous = cp.status?.certificateRotationGeneration ?? 0;
    await ctx.kube.patch(
      clusterPath,
      { spec: { rkeConfig: { rotateCertificates: { generation: spec.generation, services: spec.services.length > 0 ? [...spec.services] : null } } } },
      'application/merge-patch+json',
      { fieldManager: spec.fieldManager },
    );
    ctx.log(
      `${what}: rotateCertificates generation ${previous} → ${spec.generation} (${spec.services.length > 0 ? spec.services.join(', ') : 'all services'}); waiting for Rancher to rotate node by node`,
    );
  } else {
    ctx.log(`${what}: rotation generation ${spec.generation} was requested before; waiting for Rancher`);
  }
  await waitFor(ctx, spec.timeoutSeconds, async () => {
    const now = await ctx.kube.get<RancherObject>(cpPath);
    if (done(now)) return { done: true, line: `Rancher reports rotation generation ${spec.generation} done (control plane Reconciled)` };
    const ready = condition(now, 'Ready');
    return {
      done: false,
      state: `the control plane reports certificateRotationGeneration ${now.status?.certificateRotationGeneration ?? 0}, Ready ${ready?.status ?? '?'}${ready?.message ? ` (${ready.message})` : ''}`,
    };
  }, `Rancher did not finish the certificate rotation of ${what} within ${spec.timeoutSeconds} s`, 'Rancher keeps going on its own: watch kubectl -n ' + ns + ` get rkecontrolplanes ${spec.name} -o yaml, then deploy again (the step only waits when the generation was already requested)`);
}

async function rotateRke1(spec: RancherClusterRotateStepSpec, ctx: StepContext): Promise<void> {
  const apiPath = `/apis/management.cattle.io/v3/clusters/${encodeURIComponent(spec.name)}`;
  const what = `clusters.management.cattle.io/${spec.name}`;
  const request = rke1Request(spec);
  const o = await getOrExplain(ctx, apiPath, what, "set the cluster's id (kubectl get clusters.management.cattle.io -o custom-columns=ID:.metadata.name,NAME:.spec.displayName)");
  const block = o.spec?.rancherKubernetesEngineConfig?.rotateCertificates;
  const ours = o.metadata?.annotations?.[ANNOTATIONS.rotateCertificatesRequest] === request;
  const updated = condition(o, 'Updated');
  if (ours && (block === undefined || block === null) && updated?.status === 'True') {
    ctx.log(`${what}: rotation ${spec.generation} is already done`);
    return;
  }
  if (block !== undefined && block !== null && !ours) {
    throw new StepFailure(
      `${what} already holds a rotateCertificates block this step did not write (${JSON.stringify(block)}); ` +
        `Updated is ${updated?.status ?? '?'}${updated?.message ? ` (${updated.message})` : ''}. ` +
        `A block left from a failed rotation makes Rancher retry it forever (e.g. "CA Certificate or Key is empty"). ` +
        `Clear it: kubectl patch clusters.management.cattle.io ${spec.name} --type merge -p '{"spec":{"rancherKubernetesEngineConfig":{"rotateCertificates":null}}}', then deploy again; nothing was changed`,
    );
  }
  // Rancher's Updated condition as it was before this request: a False from an earlier failure is not ours.
  const updatedBefore = JSON.stringify(updated ?? null);
  const inFlight = ours && block !== undefined && block !== null;
  if (!inFlight) {
    // Not asked yet, or asked and failed (the block was cleared): ask (again).
    await ctx.kube.patch(
      apiPath,
      {
        metadata: { annotations: { [ANNOTATIONS.rotateCertificatesRequest]: request } },
        spec: {
          rancherKubernetesEngineConfig: {
            rotateCertificates: { caCertificates: spec.caCertificates === true, services: spec.services.length > 0 ? [...spec.services] : null },
          },
        },
      },
      'application/merge-patch+json',
      { fieldManager: spec.fieldManager },
    );
    ctx.log(
      `${what}: rotateCertificates set (${spec.caCertificates ? 'the CA and ' : ''}${spec.services.length > 0 ? spec.services.join(', ') : 'all services'}); waiting for Rancher to run it`,
    );
  } else {
    ctx.log(`${what}: rotation ${spec.generation} was requested before; waiting for Rancher`);
  }
  let failed: Condition | undefined;
  await waitFor(ctx, spec.timeoutSeconds, async () => {
    const now = await ctx.kube.get<RancherObject>(apiPath);
    const cond = condition(now, 'Updated');
    const pending = now.spec?.rancherKubernetesEngineConfig?.rotateCertificates;
    if ((pending === undefined || pending === null) && cond?.status === 'True') return { done: true, line: 'Rancher reports the rotation done (block cleared, Updated True)' };
    if (cond?.status === 'False' && pending && JSON.stringify(cond) !== updatedBefore) {
      failed = cond;
      return { done: true, line: '' };
    }
    return { done: false, state: `Updated is ${cond?.status ?? '?'}${cond?.message ? ` (${cond.message})` : ''}` };
  }, `Rancher did not finish the certificate rotation of ${what} within ${spec.timeoutSeconds} s`, `watch kubectl get clusters.management.cattle.io ${spec.name} -o jsonpath='{.status.conditions}', then deploy again (the step only waits)`);
  if (failed) {
    // Leave no block behind: Rancher would retry the failed rotation forever.
    await ctx.kube.patch(apiPath, { spec: { rancherKubernetesEngineConfig: { rotateCertificates: null } } }, 'application/merge-patch+json', { fieldManager: spec.fieldManager });
    throw new StepFailure(
      `Rancher failed the certificate rotation of ${what}: ${failed.message ?? failed.reason ?? 'no message'}. ` +
        `The rotateCertificates block was cleared so that Rancher stops retrying it. ` +
        `For "CA Certificate or Key is empty" the cluster's state lacks its CA: rotate with caCertificates: true (a new CA) or restore the cluster state, then raise the generation and deploy again`,
    );
  }
}

async function waitFor(
  ctx: StepContext,
  timeoutSeconds: number,
  poll: () => Promise<{ done: true; line: string } | { done: false; state: string }>,
  timeoutMessage: string,
  fix: string,
): Promise<void> {
  const deadline = ctx.now() + timeoutSeconds * 1000;
  for (;;) {
    const r = await poll();
    if (r.done) {
      if (r.line) ctx.log(r.line);
      return;
    }
    if (ctx.now() >= deadline) throw new StepFailure(`${timeoutMessage}: ${r.state}. ${fix}`);
    await ctx.sleep(2000);
  }
}
