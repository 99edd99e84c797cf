/**
 * The `restart` and `agents` steps: patch workloads that exist (a missing one
 * is reported and skipped, never an error), read them back, and wait until
 * their pods roll out and are Ready.
 */
import { CATTLE_CA_CHECKSUM } from '../../contract';
import type { AgentsStepSpec, RestartStepSpec, StepWorkload } from '../../steps/spec';
import { isNotFound, short, StepContext, StepFailure } from './context';

const PLURAL: Record<StepWorkload['kind'], string> = { Deployment: 'deployments', DaemonSet: 'daemonsets', StatefulSet: 'statefulsets' };
const STRATEGIC = 'application/strategic-merge-patch+json';

interface Container {
  name: string;
  env?: { name: string; value?: string }[];
}

interface WorkloadObject {
  metadata: { generation?: number; annotations?: Record<string, string> };
  spec: {
    replicas?: number;
    selector?: { matchLabels?: Record<string, string> };
    updateStrategy?: { type?: string; rollingUpdate?: { partition?: number } };
    template: { metadata?: { annotations?: Record<string, string> }; spec: { containers: Container[] } };
  };
  status?: Record<string, number | string | undefined>;
}

export function workloadPath(w: StepWorkload): string {
  return `/apis/apps/v1/namespaces/${encodeURIComponent(w.namespace)}/${PLURAL[w.kind]}/${encodeURIComponent(w.name)}`;
}

export function describe(w: StepWorkload): string {
  return `${w.kind} ${w.namespace}/${w.name}`;
}

async function getWorkload(ctx: StepContext, w: StepWorkload): Promise<WorkloadObject | undefined> {
  try {
    return await ctx.kube.get<WorkloadObject>(workloadPath(w));
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Why a workload has not finished rolling out, or undefined when it has (as `kubectl rollout status`). */
export function rolloutPending(kind: StepWorkload['kind'], o: WorkloadObject): string | undefined {
  const s = o.status ?? {};
  const n = (k: string) => Number(s[k] ?? 0);
  if ((o.metadata.generation ?? 0) > n('observedGeneration')) return 'the controller has not seen the change yet';
  if (kind === 'Deployment') {
    const want = o.spec.replicas ?? 1;
    if (n('updatedReplicas') < want) return `${n('updatedReplicas')} of ${want} pods updated`;
    if (n('replicas') > n('updatedReplicas')) return `${n('replicas') - n('updatedReplicas')} old pods still running`;
    if (n('availableReplicas') < n('updatedReplicas')) return `${n('availableReplicas')} of ${n('updatedReplicas')} updated pods available`;
    return undefined;
  }
  if (kind === 'DaemonSet') {
    const want = n('desiredNumberScheduled');
    if (n('updatedNumberScheduled') < want) return `${n('updatedNumberScheduled')} of ${want} pods updated`;
    if (n('numberAvailable') < want) return `${n('numberAvailable')} of ${want} pods available`;
    return undefined;
  }
  const want = o.spec.replicas ?? 1;
  if (o.spec.updateStrategy?.type === 'OnDelete') return undefined;
  const partition = o.spec.updateStrategy?.rollingUpdate?.partition ?? 0;
  if (n('updatedReplicas') < want - partition) return `${n('updatedReplicas')} of ${want - partition} pods updated`;
  if (partition === 0 && s.updateRevision !== s.currentRevision) return 'the update revision is not current yet';
  if (n('readyReplicas') < want) return `${n('readyReplicas')} of ${want} pods ready`;
  return undefined;
}

/** The last termination messages of the workload's pods (e.g. an agent's start check), for failure messages. */
async function podMessages(ctx: StepContext, w: StepWorkload, o: WorkloadObject): Promise<string[]> {
  const labels = o.spec.selector?.matchLabels;
  if (!labels) return [];
  const selector = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',');
  try {
    const pods = await ctx.kube.get<{ items: any[] }>(`/api/v1/namespaces/${encodeURIComponent(w.namespace)}/pods`, { labelSelector: selector });
    const out = new Set<string>();
    for (const pod of pods.items ?? []) {
      for (const cs of pod.status?.containerStatuses ?? []) {
        const message = cs.lastState?.terminated?.message ?? cs.state?.terminated?.message ?? cs.state?.waiting?.message;
        if (message) out.add(`${pod.metadata.name}: ${String(message).trim().split('\n')[0]}`);
      }
    }
    return [...out].slice(0, 3);
  } catch {
    return [];
  }
}

/** Waits until every workload has rolled out, or fails naming those that have not and why. */
async function waitRollouts(ctx: StepContext, workloads: StepWorkload[], seconds: number, what: string): Promise<void> {
  if (seconds <= 0 || workloads.length === 0) return;
  const deadline = ctx.now() + seconds * 1000;
  let lastLog = 0;
  for (;;) {
    const pending: { w: StepWorkload; o: WorkloadObject; why: string }[] = [];
    for (const w of workloads) {
      const o = await getWorkload(ctx, w);
      if (!o) continue; // deleted meanwhile: nothing left to roll
      const why = rolloutPending(w.kind, o);
      if (why) pending.push({ w, o, why });
    }
    if (pending.length === 0) {
      ctx.log(`rolled out: ${workloads.map(describe).join(', ')}`);
      return;
    }
    if (ctx.now() >= deadline) {
      const details: string[] = [];
      for (const p of pending) {
        const messages = await podMessages(ctx, p.w, p.o);
        details.push(`${describe(p.w)}: ${p.why}${messages.length ? ` (${messages.join('; ')})` : ''}`);
      }
      throw new StepFailure(
        `${what} written, but not rolled out after ${seconds} s: ${details.join('; ')}. ` +
          `Running pods keep the old template until new ones are Ready; look at the pods (kubectl -n ${pending[0].w.namespace} get pods), fix the cause, then deploy again`,
      );
    }
    if (ctx.now() - lastLog >= 30_000) {
      ctx.log(`waiting for rollouts: ${pending.map((p) => `${describe(p.w)} (${p.why})`).join(', ')}`);
      lastLog = ctx.now();
    }
    await ctx.sleep(2000);
  }
}

export async function runRestartStep(spec: RestartStepSpec, ctx: StepContext): Promise<void> {
  const present: StepWorkload[] = [];
  for (const w of spec.workloads) {
    const o = await getWorkload(ctx, w);
    if (!o) {
      ctx.log(`${describe(w)} does not exist in this cluster: skipped`);
      continue;
    }
    present.push(w);
    const current = o.spec.template.metadata?.annotations ?? {};
    if (Object.entries(spec.annotations).every(([k, v]) => current[k] === v)) {
      ctx.log(`${describe(w)} already carries ${Object.keys(spec.annotations).join(', ')}: not rolled again`);
      continue;
    }
    await ctx.kube.patch(workloadPath(w), { spec: { template: { metadata: { annotations: spec.annotations } } } }, STRATEGIC, { fieldManager: spec.fieldManager });
    const back = await getWorkload(ctx, w);
    const held = back?.spec.template.metadata?.annotations ?? {};
    const wrong = Object.entries(spec.annotations).filter(([k, v]) => held[k] !== v);
    if (wrong.length > 0) {
      throw new StepFailure(`${describe(w)} read back without the annotation ${wrong.map(([k]) => k).join(', ')}: a webhook or another controller changed it; deploy again`);
    }
    ctx.log(`${describe(w)}: pod template annotated (${Object.entries(spec.annotations).map(([k, v]) => `${k}=${short(v)}`).join(', ')}), pods roll`);
  }
  await waitRollouts(ctx, present, spec.waitSeconds, 'restart annotation');
}

function checksumIn(o: WorkloadObject, container: string): { found: boolean; value?: string } {
  const c = o.spec.template.spec.containers.find((x) => x.name === container);
  if (!c) return { found: false };
  return { found: true, value: c.env?.find((e) => e.name === CATTLE_CA_CHECKSUM)?.value };
}

export async function runAgentsStep(spec: AgentsStepSpec, ctx: StepContext): Promise<void> {
  const present: StepWorkload[] = [];
  const want = spec.checksum ?? undefined;
  for (const w of spec.workloads) {
    const container = w.container ?? '';
    const o = await getWorkload(ctx, w);
    if (!o) {
      ctx.log(`${describe(w)} does not exist in this cluster: skipped`);
      continue;
    }
    present.push(w);
    const before = checksumIn(o, container);
    if (spec.verifyOnly) {
      // Rancher re-renders the agents (method 1): wait for its write, never patch.
      continue;
    }
    if (!before.found) {
      const names = o.spec.template.spec.containers.map((c) => c.name).join(', ');
      throw new StepFailure(`${describe(w)} has no container '${container}' (containers: ${names}); it is not the Rancher agent this step expects, nothing was changed on it`);
    }
    if (before.value === want) {
      ctx.log(`${describe(w)} already has ${want === undefined ? `no ${CATTLE_CA_CHECKSUM}` : `${CATTLE_CA_CHECKSUM}=${short(want)}`}: unchanged`);
      continue;
    }
    const env = want === undefined ? [{ name: CATTLE_CA_CHECKSUM, $patch: 'delete' }] : [{ name: CATTLE_CA_CHECKSUM, value: want }];
    await ctx.kube.patch(workloadPath(w), { spec: { template: { spec: { containers: [{ name: container, env }] } } } }, STRATEGIC, { fieldManager: spec.fieldManager });
    const back = await getWorkload(ctx, w);
    const after = back ? checksumIn(back, container) : { found: false };
    if (after.value !== want) {
      throw new StepFailure(`${describe(w)} read back with ${CATTLE_CA_CHECKSUM}=${after.value ?? '(unset)'} after the write, expected ${want ?? '(unset)'}: another writer changed it; deploy again`);
    }
    ctx.log(
      `${describe(w)} container ${container}: ${CATTLE_CA_CHECKSUM} ${before.value ? short(before.value) : '(unset)'} → ${want ? short(want) : '(removed)'}; pods roll`,
    );
  }
  if (spec.verifyOnly) await waitForChecksum(ctx, present, want, spec.waitSeconds);
  await waitRollouts(ctx, present, spec.waitSeconds, `${CATTLE_CA_CHECKSUM}`);
}

/** Waits until every workload carries `want` (undefined or '': no checksum), as Rancher writes it. */
async function waitForChecksum(ctx: StepContext, workloads: StepWorkload[], want: string | undefined, seconds: number): Promise<void> {
  const deadline = ctx.now() + seconds * 1000;
  const norm = (v: string | undefined) => (v === '' ? undefined : v);
  for (;;) {
    const wrong: string[] = [];
    for (const w of workloads) {
      const o = await getWorkload(ctx, w);
      const held = o ? checksumIn(o, w.container ?? '') : { found: false };
      if (o && norm(held.value) !== want) wrong.push(`${describe(w)} has ${held.value ? short(held.value) : '(unset)'}`);
    }
    if (wrong.length === 0) {
      ctx.log(`Rancher re-rendered the agents: ${workloads.map(describe).join(', ')} carry ${want ? `${CATTLE_CA_CHECKSUM}=${short(want)}` : `no ${CATTLE_CA_CHECKSUM}`}`);
      return;
    }
    if (ctx.now() >= deadline) {
      throw new StepFailure(
        `Rancher did not re-render the agents within ${seconds} s: ${wrong.join('; ')}, expected ${want ? short(want) : '(unset)'}. ` +
          'Check that Rancher serves the new CA and that the cluster id is right, or use agents: checksum',
      );
    }
    await ctx.sleep(2000);
  }
}
