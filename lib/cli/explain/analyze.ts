/**
 * Turns a plan into an {@link Explanation}: certificates, agents, restarts,
 * commands, Helm values, destroyed resources and everything else that
 * changes. Reads only public fields: the data of Secrets (`data`, `data_wo`,
 * `binary_data`) is never looked at, and whatever Terraform marks sensitive is
 * shown as `(sensitive)`.
 */
import { ANNOTATION_PREFIX, ANNOTATIONS, CATTLE_CA_CHECKSUM } from '../../contract';
import { CommandCandidate, compareAddresses, orderCommands } from './commands';
import { DEFAULT_CLUSTER, PlanConfiguration, UNKNOWN_CLUSTER } from './configuration';
import type {
  AgentChange,
  CertificateChange,
  ChangeAction,
  ClusterRef,
  DestroyedResource,
  Explanation,
  FieldChange,
  HelmReleaseChange,
  HelmValueChange,
  OtherChange,
  ReleasedStep,
  Shown,
  WorkloadRestart,
} from './model';
import type { PlanJson, ResourceChangeJson } from './plan-json';
import { differs, shownAt, valueAt, ValuePath } from './values';

/** The annotations of a leaf certificate Secret, in the order they are shown; the first three always. */
export const LEAF_FIELDS = ['sha256', 'issuer', 'not-after', 'serial', 'sans', 'chain-sha256'] as const;
/** The annotations of a CA bundle Secret (tls-ca), in the order they are shown; all of them always. */
export const CA_FIELDS = ['ca-sha256', 'cattle-ca-checksum', 'not-after'] as const;
const ALWAYS_SHOWN = new Set<string>(['sha256', 'issuer', 'not-after', 'ca-sha256', 'cattle-ca-checksum']);

/** What a change's `actions` list means; undefined for no-op and read. */
export function changeAction(actions: readonly string[]): ChangeAction | undefined {
  const set = new Set(actions);
  if (set.has('delete') && set.has('create')) return 'replace';
  if (set.has('create')) return 'create';
  if (set.has('delete')) return 'delete';
  if (set.has('update')) return 'update';
  if (set.has('forget')) return 'forget';
  return undefined;
}

/** The text at `path` from the new object, or the old one when there is no new one. */
function textOf(rc: ResourceChangeJson, path: ValuePath): string | undefined {
  for (const side of ['after', 'before'] as const) {
    const shown = shownAt(rc, side, path);
    if ('value' in shown) return shown.value;
  }
  return undefined;
}

function objectName(rc: ResourceChangeJson): { namespace: string; name: string } {
  return {
    namespace: textOf(rc, ['metadata', 0, 'namespace']) ?? 'default',
    name: textOf(rc, ['metadata', 0, 'name']) ?? '(unnamed)',
  };
}

function hasKey(rc: ResourceChangeJson, path: ValuePath, key: string): boolean {
  return [rc.change.before, rc.change.after].some((side) => {
    const map = valueAt(side, path);
    return map !== null && typeof map === 'object' && key in (map as object);
  });
}

/**
 * The certificate metadata annotations at `annotations` (a Secret's, or what a
 * secret step writes), old → new: whether they describe a leaf or a CA bundle,
 * and the fields to show.
 */
function certificateFields(rc: ResourceChangeJson, annotations: ValuePath): { kind: 'leaf' | 'ca'; fields: FieldChange[] } | undefined {
  const kind = hasKey(rc, annotations, ANNOTATIONS.sha256) ? 'leaf' : hasKey(rc, annotations, ANNOTATIONS.caSha256) ? 'ca' : undefined;
  if (!kind) return undefined;
  const fields: FieldChange[] = [];
  for (const field of kind === 'leaf' ? LEAF_FIELDS : CA_FIELDS) {
    const path = [...annotations, `${ANNOTATION_PREFIX}/${field}`];
    const before = shownAt(rc, 'before', path);
    const after = shownAt(rc, 'after', path);
    const changed = differs(before, after);
    if (changed || ALWAYS_SHOWN.has(field)) fields.push({ field, before, after, changed });
  }
  return { kind, fields };
}

function certificateOf(rc: ResourceChangeJson, action: ChangeAction, cluster: ClusterRef): CertificateChange | undefined {
  const found = certificateFields(rc, ['metadata', 0, 'annotations']);
  if (!found) return undefined;
  const { kind, fields } = found;
  let writeOnlyRevision: CertificateChange['writeOnlyRevision'];
  if (kind === 'leaf') {
    const before = shownAt(rc, 'before', ['data_wo_revision']);
    const after = shownAt(rc, 'after', ['data_wo_revision']);
    if (differs(before, after)) writeOnlyRevision = { before, after };
  }
  return { address: rc.address, action, cluster, kind, ...objectName(rc), fields, ...(writeOnlyRevision ? { writeOnlyRevision } : {}) };
}

function restartOf(rc: ResourceChangeJson, action: ChangeAction, cluster: ClusterRef): WorkloadRestart | undefined {
  if (!hasKey(rc, ['template_annotations'], ANNOTATIONS.trustSha256)) return undefined;
  const before = shownAt(rc, 'before', ['template_annotations', ANNOTATIONS.trustSha256]);
  const after = shownAt(rc, 'after', ['template_annotations', ANNOTATIONS.trustSha256]);
  if (action === 'update' && !differs(before, after)) return undefined;
  return { address: rc.address, action, cluster, kind: textOf(rc, ['kind']) ?? '(kind?)', ...objectName(rc), before, after };
}

function envIndex(side: unknown, name: string): number {
  const env = valueAt(side, ['env']);
  return Array.isArray(env) ? env.findIndex((e) => valueAt(e, ['name']) === name) : -1;
}

function agentOf(rc: ResourceChangeJson, action: ChangeAction, cluster: ClusterRef): AgentChange | undefined {
  const bi = envIndex(rc.change.before, CATTLE_CA_CHECKSUM);
  const ai = envIndex(rc.change.after, CATTLE_CA_CHECKSUM);
  if (bi < 0 && ai < 0) return undefined;
  const before: Shown = bi < 0 ? { note: 'none' } : shownAt(rc, 'before', ['env', bi, 'value']);
  const after: Shown = ai < 0 ? { note: 'none' } : shownAt(rc, 'after', ['env', ai, 'value']);
  if (action === 'update' && !differs(before, after)) return undefined;
  return {
    address: rc.address,
    action,
    cluster,
    kind: textOf(rc, ['kind']) ?? '(kind?)',
    ...objectName(rc),
    container: textOf(rc, ['container']) ?? textOf(rc, ['init_container']) ?? '(container?)',
    before,
    after,
  };
}

function helmOf(rc: ResourceChangeJson, action: ChangeAction, cluster: ClusterRef): HelmReleaseChange {
  const values: HelmValueChange[] = [];
  for (const list of ['set', 'set_list', 'set_sensitive']) {
    const names = (side: unknown): string[] => {
      const entries = valueAt(side, [list]);
      return Array.isArray(entries) ? entries.map((e) => String(valueAt(e, ['name']) ?? '')) : [];
    };
    const beforeNames = names(rc.change.before);
    const afterNames = names(rc.change.after);
    const shown = (side: 'before' | 'after', names: string[], name: string): Shown => {
      const i = names.indexOf(name);
      if (i < 0) return { note: 'none' };
      // set_sensitive values are never read, whatever the masks say.
      return list === 'set_sensitive' ? { note: 'sensitive' } : shownAt(rc, side, [list, i, 'value']);
    };
    for (const name of [...new Set([...afterNames, ...beforeNames])]) {
      const before = shown('before', beforeNames, name);
      const after = shown('after', afterNames, name);
      if (differs(before, after) || action !== 'update') values.push({ name, before, after });
    }
  }
  const vBefore = shownAt(rc, 'before', ['version']);
  const vAfter = shownAt(rc, 'after', ['version']);
  return {
    address: rc.address,
    action,
    cluster,
    release: textOf(rc, ['name']) ?? rc.name,
    namespace: textOf(rc, ['namespace']) ?? 'default',
    chart: textOf(rc, ['chart']) ?? '(chart?)',
    ...(action === 'update' && differs(vBefore, vAfter) ? { version: { before: vBefore, after: vAfter } } : {}),
    values,
  };
}

const REASONS: Record<string, string> = {
  replace_because_tainted: 'the object is tainted',
  replace_by_request: 'replacement was requested (-replace)',
  replace_by_triggers: 'replace_triggered_by changed',
  delete_because_no_resource_config: 'it is no longer in the configuration',
  delete_because_no_module: 'its module is no longer in the configuration',
  delete_because_wrong_repetition: 'its count or for_each changed',
  delete_because_count_index: 'count no longer includes it',
  delete_because_each_key: 'for_each no longer includes it',
  delete_because_no_move_target: 'its moved target does not exist',
};

function pathText(path: unknown[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
}

function destroyOf(rc: ResourceChangeJson, action: 'delete' | 'replace', cluster: ClusterRef | undefined): DestroyedResource {
  const { namespace, name } = objectName(rc);
  const kind = textOf(rc, ['kind']) ?? 'object';
  let what = rc.type;
  let object: string | undefined = `${namespace}/${name}`;
  let detail: string | undefined;
  let consequence: string | undefined;
  switch (rc.type) {
    case 'kubernetes_secret_v1':
    case 'kubernetes_secret':
      what = 'Secret';
      break;
    case 'kubernetes_annotations':
      if (hasKey(rc, ['template_annotations'], ANNOTATIONS.trustSha256)) {
        what = `the restart annotation of ${kind}`;
        consequence = 'Terraform writes an empty annotation map, which rolls the pods once more';
      } else {
        what = `annotations of ${kind}`;
      }
      break;
    case 'kubernetes_env':
      what = `env of ${kind}`;
      detail = `container ${textOf(rc, ['container']) ?? '?'}`;
      if (envIndex(rc.change.before, CATTLE_CA_CHECKSUM) >= 0) {
        consequence = `${CATTLE_CA_CHECKSUM} is removed from the pod template, which rolls the pods`;
      }
      break;
    case 'kubernetes_namespace_v1':
    case 'kubernetes_namespace':
      what = 'Namespace';
      object = name;
      consequence = 'every object in the namespace is deleted';
      break;
    case 'helm_release':
      what = 'Helm release';
      object = `${textOf(rc, ['namespace']) ?? 'default'}/${textOf(rc, ['name']) ?? rc.name}`;
      consequence = action === 'delete' ? 'helm uninstall deletes every object of the release' : 'the release is uninstalled, then installed again';
      break;
    case 'terraform_data':
    case 'null_resource':
      what = 'a command resource';
      object = undefined;
      if (action === 'replace') consequence = 'its commands run again';
      break;
    default:
      if (textOf(rc, ['metadata', 0, 'name']) === undefined) object = undefined;
  }
  let reason: string | undefined;
  if (rc.action_reason === 'replace_because_cannot_update') {
    const paths = (rc.change.replace_paths ?? []).map((p) => pathText(p as unknown[]));
    reason = paths.length > 0 ? `a change to ${paths.join(', ')} forces replacement` : 'a change forces replacement';
  } else if (rc.action_reason) {
    reason = REASONS[rc.action_reason] ?? rc.action_reason;
  }
  return {
    address: rc.address,
    action,
    what,
    ...(object !== undefined ? { object } : {}),
    ...(detail !== undefined ? { detail } : {}),
    ...(cluster && rc.provider_name !== 'terraform.io/builtin/terraform' ? { cluster } : {}),
    ...(reason ? { reason } : {}),
    ...(consequence ? { consequence } : {}),
  };
}

/** Clusters in the order they are shown: the server first, then by name, unknown last. */
export function compareClusters(a: ClusterRef, b: ClusterRef): number {
  const rank = (c: ClusterRef) => (c.name === DEFAULT_CLUSTER ? 0 : c.name === UNKNOWN_CLUSTER ? 2 : 1);
  return rank(a) - rank(b) || compareAddresses(a.name, b.name);
}

function byClusterThenObject<T extends { cluster: ClusterRef; namespace: string; name: string; address: string }>(a: T, b: T): number {
  return (
    compareClusters(a.cluster, b.cluster) ||
    compareAddresses(a.namespace, b.namespace) ||
    compareAddresses(a.name, b.name) ||
    compareAddresses(a.address, b.address)
  );
}

/**
 * Files a change under certificates, restarts, agents or Helm releases;
 * returns false when it is none of them.
 */
function classify(
  rc: ResourceChangeJson,
  action: ChangeAction,
  cluster: ClusterRef,
  into: { certificates: CertificateChange[]; restarts: WorkloadRestart[]; agents: AgentChange[]; helmReleases: HelmReleaseChange[] },
): boolean {
  switch (rc.type) {
    case 'kubernetes_secret_v1':
    case 'kubernetes_secret': {
      const certificate = certificateOf(rc, action, cluster);
      if (certificate) into.certificates.push(certificate);
      return certificate !== undefined;
    }
    case 'kubernetes_annotations': {
      const restart = restartOf(rc, action, cluster);
      if (restart) into.restarts.push(restart);
      return restart !== undefined;
    }
    case 'kubernetes_env': {
      const agent = agentOf(rc, action, cluster);
      if (agent) into.agents.push(agent);
      return agent !== undefined;
    }
    case 'helm_release':
      into.helmReleases.push(helmOf(rc, action, cluster));
      return true;
    default:
      return false;
  }
}

const TRIGGERS = 'triggers_replace';

/** The step kind of a cert-rotation step resource (`terraform_data` with `triggers_replace.step`), else undefined. */
export function stepKind(rc: ResourceChangeJson): string | undefined {
  if (rc.type !== 'terraform_data') return undefined;
  for (const side of [rc.change.after, rc.change.before]) {
    const step = valueAt(side, [TRIGGERS, 'step']);
    if (typeof step === 'string') return step;
  }
  return undefined;
}

/** The cluster a step works on: the name in its public form. */
function stepCluster(rc: ResourceChangeJson): ClusterRef {
  return { name: textOf(rc, [TRIGGERS, 'cluster']) ?? UNKNOWN_CLUSTER };
}

function stepObject(rc: ResourceChangeJson): { namespace: string; name: string } {
  return { namespace: textOf(rc, [TRIGGERS, 'namespace']) ?? 'default', name: textOf(rc, [TRIGGERS, 'name']) ?? '(unnamed)' };
}

interface StepWorkloadJson {
  kind?: string;
  namespace?: string;
  name?: string;
  container?: string;
}

function stepWorkloads(rc: ResourceChangeJson): StepWorkloadJson[] {
  for (const side of [rc.change.after, rc.change.before]) {
    const list = valueAt(side, [TRIGGERS, 'workloads']);
    if (Array.isArray(list)) return list as StepWorkloadJson[];
  }
  return [];
}

/** A step that changes (create or replace) filed as certificate, agents or restarts; the gate is a command only. */
function classifyStep(
  rc: ResourceChangeJson,
  kind: string,
  action: ChangeAction,
  into: { certificates: CertificateChange[]; restarts: WorkloadRestart[]; agents: AgentChange[] },
): void {
  const cluster = stepCluster(rc);
  // A replaced step runs again: for the reader, its object is updated.
  const shownAction: ChangeAction = action === 'replace' ? 'update' : action;
  if (kind === 'secret') {
    const found = certificateFields(rc, [TRIGGERS, 'annotations']);
    if (!found) return;
    const { kind: certKind, fields } = found;
    const keyFile = textOf(rc, [TRIGGERS, 'data', 'tls.key', 'file']);
    const dataNote =
      `server-side applied by a step (created, or taken over if it exists), then read back` +
      (keyFile ? `; tls.key read from ${keyFile} at apply` : '');
    into.certificates.push({ address: rc.address, action: shownAction, cluster, kind: certKind, ...stepObject(rc), fields, dataNote });
    return;
  }
  if (kind === 'agents') {
    // A null checksum (the variable is removed) shows as none.
    const before = shownAt(rc, 'before', [TRIGGERS, 'checksum']);
    const after = shownAt(rc, 'after', [TRIGGERS, 'checksum']);
    if (shownAction === 'update' && !differs(before, after)) return;
    for (const w of stepWorkloads(rc)) {
      into.agents.push({
        address: rc.address,
        action: shownAction,
        cluster,
        kind: w.kind ?? '(kind?)',
        namespace: w.namespace ?? 'default',
        name: w.name ?? '(unnamed)',
        container: w.container ?? '(container?)',
        before,
        after,
      });
    }
    return;
  }
  if (kind === 'restart') {
    const path = [TRIGGERS, 'annotations', ANNOTATIONS.trustSha256];
    const before = shownAt(rc, 'before', path);
    const after = shownAt(rc, 'after', path);
    // The step runs again for another reason (e.g. its wait changed): nothing rolls.
    if (shownAction === 'update' && !differs(before, after)) return;
    for (const w of stepWorkloads(rc)) {
      into.restarts.push({ address: rc.address, action: shownAction, cluster, kind: w.kind ?? '(kind?)', namespace: w.namespace ?? 'default', name: w.name ?? '(unnamed)', before, after });
    }
  }
}

/** What a removed step had written, for the "no longer managed" list. */
function releasedOf(rc: ResourceChangeJson, kind: string): ReleasedStep {
  const list = stepWorkloads(rc).map((w) => `${w.kind} ${w.namespace}/${w.name}`).join(', ');
  const { namespace, name } = stepObject(rc);
  const what =
    kind === 'secret'
      ? `Secret ${namespace}/${name} (stays as it is)`
      : kind === 'agents'
        ? `${CATTLE_CA_CHECKSUM} on ${list} (the agents keep it)`
        : kind === 'restart'
          ? `the restart annotation on ${list} (nothing rolls)`
          : kind === 'cacerts-gate'
            ? 'the cacerts gate (a check only)'
            : kind === 'converge'
              ? 'the converge step (it ran the steps again; nothing to undo)'
              : kind === 'fleet-force-update'
                ? `Fleet's Force Update of ${textOf(rc, [TRIGGERS, 'namespace']) ?? '?'}/${textOf(rc, [TRIGGERS, 'name']) ?? '?'} (done; nothing to undo)`
                : kind === 'force-deploy'
                  ? `the agent re-deploy request for ${textOf(rc, [TRIGGERS, 'clusterId']) ?? '?'} (done; nothing to undo)`
                  : `a ${kind} step`;
  return { address: rc.address, cluster: stepCluster(rc), what };
}

/** Explains a parsed plan. */
export function explainPlan(plan: PlanJson, source: string): Explanation {
  const config = new PlanConfiguration(plan);
  const certificates: CertificateChange[] = [];
  const agents: AgentChange[] = [];
  const restarts: WorkloadRestart[] = [];
  const helmReleases: HelmReleaseChange[] = [];
  const destroyed: DestroyedResource[] = [];
  const released: ReleasedStep[] = [];
  const other: OtherChange[] = [];
  const commandCandidates: CommandCandidate[] = [];
  let changeCount = 0;

  for (const rc of plan.resource_changes ?? []) {
    const action = changeAction(rc.change.actions);
    if (action === undefined || rc.mode === 'data') continue;
    changeCount++;
    const cluster = config.clusterOf(rc);
    const step = stepKind(rc);
    if (step !== undefined) {
      // A cert-rotation step: replaced means it runs again; deleted means Terraform forgets it.
      if (action === 'delete') {
        released.push(releasedOf(rc, step));
        continue;
      }
      const resource = config.resourceOf(rc);
      if ((action === 'create' || action === 'replace') && resource) commandCandidates.push({ rc, action, resource });
      if (action !== 'forget') classifyStep(rc, step, action, { certificates, restarts, agents });
      else other.push({ address: rc.address, action });
      continue;
    }
    let covered = false;
    if (action === 'delete' || action === 'replace') {
      destroyed.push(destroyOf(rc, action, cluster));
      covered = true;
    }
    const resource = config.resourceOf(rc);
    if ((action === 'create' || action === 'replace') && resource && (resource.provisioners ?? []).length > 0) {
      commandCandidates.push({ rc, action, resource });
      covered = true;
    }
    if (action === 'forget') {
      other.push({ address: rc.address, action });
      continue;
    }
    if (classify(rc, action, cluster, { certificates, restarts, agents, helmReleases }) || covered) continue;
    other.push({ address: rc.address, action });
  }

  const byAddress = <T extends { address: string }>(a: T, b: T) => compareAddresses(a.address, b.address);
  return {
    source,
    ...(plan.terraform_version ? { terraformVersion: plan.terraform_version } : {}),
    changeCount,
    errored: plan.errored === true,
    incomplete: plan.complete === false,
    certificates: certificates.sort(byClusterThenObject),
    agents: agents.sort(byClusterThenObject),
    restarts: restarts.sort(
      (a, b) => compareClusters(a.cluster, b.cluster) || a.kind.localeCompare(b.kind) || byClusterThenObject(a, b),
    ),
    commands: orderCommands(commandCandidates, config),
    helmReleases: helmReleases.sort(byAddress),
    destroyed: destroyed.sort(byAddress),
    released: released.sort(byAddress),
    other: other.sort(byAddress),
  };
}
