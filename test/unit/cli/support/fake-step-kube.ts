/**
 * A Kubernetes API in memory for the `cert-rotation step` tests: objects by
 * API path, the PATCH types the steps send (server-side apply of a Secret,
 * strategic merge of a workload's pod template), a controller that rolls a
 * workload out after a number of reads (or never), pods to list, and a clock
 * that `sleep` advances so that a wait of minutes takes no time.
 */
import { KubeApiError, Query } from '../../../../lib/cli/kube/client';
import { StepContext } from '../../../../lib/cli/step/context';
import type { StepTarget } from '../../../../lib/steps/spec';

export interface RecordedPatch {
  readonly path: string;
  readonly body: any;
  readonly contentType: string;
  readonly query: Query;
}

/** How a workload's controller behaves after its pod template changes. */
export interface Rollout {
  /** Reads after a change until it has rolled out; Infinity: never. */
  readonly after: number;
}

const clone = <T>(o: T): T => (o === undefined ? o : JSON.parse(JSON.stringify(o)));

export class FakeKube {
  readonly objects = new Map<string, any>();
  readonly patches: RecordedPatch[] = [];
  readonly gets: string[] = [];
  /** Pods by namespace, for the label-selector list of a failed rollout. */
  readonly pods = new Map<string, any[]>();
  /** Per workload path: how it rolls out; default: at once. */
  readonly rollouts = new Map<string, Rollout>();
  /** Called after every patch is stored (a webhook or another writer). */
  afterPatch?: (path: string, stored: any) => void;
  private readonly pendingReads = new Map<string, number>();

  async get<T = unknown>(apiPath: string, query: Query = {}): Promise<T> {
    this.gets.push(apiPath);
    const podList = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(apiPath);
    if (podList) {
      expect(query.labelSelector).toEqual(expect.any(String));
      return { items: clone(this.pods.get(podList[1]) ?? []) } as T;
    }
    const o = this.objects.get(apiPath);
    if (o === undefined) throw new KubeApiError(404, { kind: 'Status', reason: 'NotFound', message: `${apiPath} not found` });
    this.controller(apiPath, o);
    return clone(o) as T;
  }

  async patch<T = unknown>(apiPath: string, body: unknown, contentType: string, query: Query = {}): Promise<T> {
    this.patches.push({ path: apiPath, body: clone(body), contentType, query });
    if (contentType === 'application/apply-patch+yaml') {
      const b = body as any;
      const old = this.objects.get(apiPath);
      const stored = {
        ...(old ?? {}),
        ...clone(b),
        metadata: { ...(old?.metadata ?? {}), ...b.metadata, annotations: { ...(old?.metadata?.annotations ?? {}), ...b.metadata.annotations } },
        data: { ...(old?.data ?? {}), ...b.data },
      };
      this.objects.set(apiPath, stored);
    } else if (contentType === 'application/strategic-merge-patch+json') {
      const o = this.objects.get(apiPath);
      if (o === undefined) throw new KubeApiError(404, { message: 'not found' });
      strategicMerge(o, body as any);
      o.metadata.generation = (o.metadata.generation ?? 1) + 1;
      this.pendingReads.set(apiPath, (this.rollouts.get(apiPath) ?? { after: 0 }).after);
    } else if (contentType === 'application/merge-patch+json') {
      const o = this.objects.get(apiPath);
      if (o === undefined) throw new KubeApiError(404, { message: 'not found' });
      const b = body as any;
      // As the API server: a resourceVersion in the patch is a precondition (409 when the object changed).
      if (b.metadata?.resourceVersion !== undefined && b.metadata.resourceVersion !== o.metadata?.resourceVersion) {
        throw new KubeApiError(409, { kind: 'Status', reason: 'Conflict', message: 'the object has been modified' });
      }
      jsonMergePatch(o, b);
      o.metadata.resourceVersion = String(Number(o.metadata.resourceVersion ?? 0) + 1);
    } else {
      throw new Error(`unexpected patch type ${contentType}`);
    }
    this.afterPatch?.(apiPath, this.objects.get(apiPath));
    return clone(this.objects.get(apiPath)) as T;
  }

  /** The controller: after the configured number of reads, the workload's status says it rolled out. */
  private controller(apiPath: string, o: any): void {
    const left = this.pendingReads.get(apiPath);
    if (left === undefined || !o.spec?.template) return;
    if (left > 0) {
      this.pendingReads.set(apiPath, left - 1);
      return;
    }
    this.pendingReads.delete(apiPath);
    Object.assign(o.status, rolledOutStatus(o));
  }
}

/** RFC 7386 JSON merge patch, in place: null deletes, objects merge, anything else replaces. */
function jsonMergePatch(target: any, patch: any): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete target[k];
    else if (typeof v === 'object' && !Array.isArray(v) && typeof target[k] === 'object' && target[k] !== null && !Array.isArray(target[k])) jsonMergePatch(target[k], v);
    else target[k] = clone(v);
  }
}

function strategicMerge(o: any, patch: any): void {
  const template = patch.spec?.template;
  if (template?.metadata?.annotations) {
    o.spec.template.metadata = o.spec.template.metadata ?? {};
    o.spec.template.metadata.annotations = { ...(o.spec.template.metadata.annotations ?? {}), ...template.metadata.annotations };
  }
  for (const c of template?.spec?.containers ?? []) {
    const target = o.spec.template.spec.containers.find((x: any) => x.name === c.name);
    if (!target) throw new KubeApiError(422, { message: `container ${c.name} not found` });
    for (const e of c.env ?? []) {
      const env: any[] = (target.env = target.env ?? []);
      const i = env.findIndex((x) => x.name === e.name);
      if (e.$patch === 'delete') {
        if (i >= 0) env.splice(i, 1);
      } else if (i >= 0) env[i] = { ...e };
      else env.push({ ...e });
    }
  }
}

/** The status of a workload that has rolled out. */
export function rolledOutStatus(o: any): Record<string, unknown> {
  const generation = o.metadata.generation ?? 1;
  const replicas = o.spec.replicas ?? 1;
  if (o.kind === 'DaemonSet') {
    return { observedGeneration: generation, desiredNumberScheduled: 2, updatedNumberScheduled: 2, numberAvailable: 2 };
  }
  if (o.kind === 'StatefulSet') {
    return { observedGeneration: generation, replicas, updatedReplicas: replicas, readyReplicas: replicas, currentRevision: 'r2', updateRevision: 'r2' };
  }
  return { observedGeneration: generation, replicas, updatedReplicas: replicas, availableReplicas: replicas };
}

/** A workload object with one container per `containers` entry, rolled out. */
export function workload(kind: 'Deployment' | 'DaemonSet' | 'StatefulSet', containers: Array<{ name: string; env?: Array<{ name: string; value?: string }> }>, labels = { app: 'x' }): any {
  const o: any = {
    kind,
    metadata: { generation: 1 },
    spec: { replicas: kind === 'DaemonSet' ? undefined : 1, selector: { matchLabels: labels }, template: { metadata: { annotations: {} }, spec: { containers } } },
    status: {},
  };
  o.status = rolledOutStatus(o);
  return o;
}

/** A step context on the fake: log lines collected, `sleep` advancing the clock at once. */
export function fakeContext(kube: FakeKube, target: StepTarget = { cluster: 'prod', kubeconfig: '/abs/kubeconfig' }) {
  let clock = 1_700_000_000_000;
  const lines: string[] = [];
  const slept: number[] = [];
  const ctx: StepContext = {
    target,
    kube,
    log: (line) => lines.push(line),
    sleep: async (ms) => {
      slept.push(ms);
      clock += ms;
    },
    now: () => clock,
  };
  return { ctx, lines, slept, elapsed: () => clock - 1_700_000_000_000 };
}

/** Runs `fn`, expects it to reject with an error of `type`, and returns the error. */
export async function rejection<E extends Error>(fn: () => Promise<unknown>, type: new (...args: any[]) => E): Promise<E> {
  let thrown: unknown;
  try {
    await fn();
  } catch (e) {
    thrown = e;
  }
  expect(thrown).toBeInstanceOf(type);
  return thrown as E;
}
