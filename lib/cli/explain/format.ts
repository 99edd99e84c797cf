/**
 * Wording shared by the text and Markdown renderings of an {@link Explanation}.
 */
import { LOCAL } from './commands';
import type { ChangeAction, ClusterRef, Explanation } from './model';

/** The output formats of `explain`. */
export const EXPLAIN_FORMATS = ['text', 'markdown'] as const;
export type ExplainFormat = (typeof EXPLAIN_FORMATS)[number];

/** What is printed for a plan without changes. */
export const NOTHING_TO_ROTATE = 'nothing to rotate';

/** Terraform's symbols for an action, as in `terraform plan`. */
export const ACTION_SYMBOL: Record<ChangeAction, string> = {
  create: '+',
  update: '~',
  delete: '-',
  replace: '-/+',
  forget: '.',
};

/** `server (context testbed-1)`. */
export function clusterLabel(cluster: ClusterRef): string {
  return cluster.context !== undefined ? `${cluster.name} (context ${cluster.context})` : cluster.name;
}

/** `1 certificate`, `2 certificates`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** Distinct clusters, in the order met. */
export function clusterCount(items: ReadonlyArray<{ cluster: ClusterRef }>): number {
  return new Set(items.map((i) => i.cluster.name)).size;
}

/** Groups items by cluster, keeping their order (items come sorted by cluster). */
export function byCluster<T extends { cluster: ClusterRef }>(items: readonly T[]): Array<{ cluster: ClusterRef; items: T[] }> {
  const groups: Array<{ cluster: ClusterRef; items: T[] }> = [];
  for (const item of items) {
    const last = groups[groups.length - 1];
    if (last && last.cluster.name === item.cluster.name) last.items.push(item);
    else groups.push({ cluster: item.cluster, items: [item] });
  }
  return groups;
}

/**
 * The one-line summary: how many changes and what they are, e.g. `27 changes:
 * 2 certificates, 4 agents in 2 clusters, 21 workload restarts in 3 clusters`.
 */
export function summaryLine(e: Explanation): string {
  const parts: string[] = [];
  if (e.certificates.length > 0) parts.push(plural(e.certificates.length, 'certificate'));
  if (e.agents.length > 0) parts.push(`${plural(e.agents.length, 'agent')} in ${plural(clusterCount(e.agents), 'cluster')}`);
  if (e.restarts.length > 0) parts.push(`${plural(e.restarts.length, 'workload restart')} in ${plural(clusterCount(e.restarts), 'cluster')}`);
  if (e.commands.length > 0) parts.push(plural(e.commands.length, 'command'));
  if (e.helmReleases.length > 0) parts.push(plural(e.helmReleases.length, 'Helm release'));
  if (e.released.length > 0) parts.push(`${plural(e.released.length, 'step')} no longer managed`);
  if (e.other.length > 0) parts.push(plural(e.other.length, 'other change'));
  const head = plural(e.changeCount, 'change');
  return parts.length > 0 ? `${head}: ${parts.join(', ')}` : head;
}

/** Warnings about the plan as a whole (errors while planning, deferred changes). */
export function planWarnings(e: Explanation): string[] {
  const out: string[] = [];
  if (e.errored) {
    out.push('the plan is incomplete: Terraform reported errors while planning; fix them and plan again before applying');
  }
  if (e.incomplete) {
    out.push('some changes are deferred to a later plan (complete: false); another plan and apply will follow this one');
  }
  return out;
}

/** What a restart line adds for actions other than update. */
export function restartNote(action: ChangeAction): string {
  switch (action) {
    case 'create':
      return 'first restart annotation';
    case 'delete':
      return 'annotation removed: the pods roll once more';
    case 'replace':
      return 'annotation written again';
    default:
      return '';
  }
}

/** Where a command step runs, for people. */
export function whereLabel(where: string): string {
  return where === LOCAL ? 'on the machine that runs Terraform' : `on ${where}`;
}
