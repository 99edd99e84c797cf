/**
 * The plain-text rendering of an {@link Explanation}, for a terminal or a CI log.
 */
import {
  ACTION_SYMBOL,
  byCluster,
  clusterCount,
  clusterLabel,
  NOTHING_TO_ROTATE,
  planWarnings,
  plural,
  restartNote,
  summaryLine,
  whereLabel,
} from './format';
import type { ChangeAction, DestroyedResource, Explanation, Shown } from './model';
import { shownText } from './values';

/** Longer `old → new` lines are split into two, the arrow under the old value. */
const ONE_LINE_LIMIT = 100;

/** Lines for one field: the new value (create), the old one (delete), or old → new. */
function pairLines(indent: string, label: string, width: number, before: Shown, after: Shown, action: ChangeAction, changed: boolean): string[] {
  const head = `${indent}${label.padEnd(width)}  `;
  if (action === 'create') return [`${head}${shownText(after)}`];
  if (action === 'delete') return [`${head}${shownText(before)}`];
  if (!changed) return [`${head}${shownText(before)} (unchanged)`];
  const one = `${head}${shownText(before)} → ${shownText(after)}`;
  if (one.length <= ONE_LINE_LIMIT) return [one];
  return [`${head}${shownText(before)}`, `${' '.repeat(head.length - 2)}→ ${shownText(after)}`];
}

/** `!! DESTROYS Secret cattle-system/tls-ca on server (kubernetes_secret_v1.x): why; what follows`. */
export function destroyLine(d: DestroyedResource): string {
  const verb = d.action === 'replace' ? 'DESTROYS and re-creates' : 'DESTROYS';
  const where = d.cluster ? ` on ${d.cluster.name}` : '';
  const tail = [d.reason, d.consequence].filter((x): x is string => x !== undefined);
  const object = d.object !== undefined ? ` ${d.object}` : '';
  const detail = d.detail !== undefined ? ` (${d.detail})` : '';
  return `!! ${verb} ${d.what}${object}${detail}${where} (${d.address})${tail.length > 0 ? `: ${tail.join('; ')}` : ''}`;
}

/** Renders an explanation as text; ends with a newline. */
export function formatText(e: Explanation): string {
  const version = e.terraformVersion ? ` (terraform ${e.terraformVersion})` : '';
  const out: string[] = [];
  if (e.changeCount === 0) {
    out.push(`${NOTHING_TO_ROTATE}: ${e.source}${version} plans no changes`);
    for (const w of planWarnings(e)) out.push(`!! ${w}`);
    return `${out.join('\n')}\n`;
  }
  out.push(`cert-rotation explain: ${e.source}${version}`);
  out.push(`${summaryLine(e)}; ${e.destroyed.length > 0 ? `!! ${e.destroyed.length} destroyed` : 'nothing destroyed'}`);
  for (const w of planWarnings(e)) out.push(`!! ${w}`);
  if (e.destroyed.length > 0) {
    out.push('');
    for (const d of e.destroyed) out.push(destroyLine(d));
  }

  if (e.certificates.length > 0) {
    out.push('', `Certificates (${e.certificates.length})`);
    for (const c of e.certificates) {
      const kind = c.kind === 'ca' ? 'CA bundle in Secret' : 'Secret';
      out.push(`  ${ACTION_SYMBOL[c.action]} ${kind} ${c.namespace}/${c.name} on ${clusterLabel(c.cluster)} [${c.action}]`);
      const revisionLabel = 'tls.crt, tls.key';
      const width = Math.max(...c.fields.map((f) => f.field.length), c.writeOnlyRevision ? revisionLabel.length : 0);
      for (const f of c.fields) out.push(...pairLines('      ', f.field, width, f.before, f.after, c.action, f.changed));
      if (c.writeOnlyRevision) {
        const r = c.writeOnlyRevision;
        const revision = c.action === 'create' ? `revision ${shownText(r.after)}` : `revision ${shownText(r.before)} → ${shownText(r.after)}`;
        out.push(`      ${revisionLabel.padEnd(width)}  sent write-only (${revision})`);
      }
      if (c.dataNote) out.push(`      ${'data'.padEnd(width)}  ${c.dataNote}`);
    }
  }

  if (e.agents.length > 0) {
    out.push('', `Agents whose CA checksum changes (${plural(e.agents.length, 'agent')} in ${plural(clusterCount(e.agents), 'cluster')})`);
    for (const group of byCluster(e.agents)) {
      out.push(`  ${clusterLabel(group.cluster)}`);
      for (const a of group.items) {
        out.push(`    ${ACTION_SYMBOL[a.action]} ${a.kind} ${a.namespace}/${a.name}, container ${a.container} [${a.action}]`);
        out.push(...pairLines('        ', 'CATTLE_CA_CHECKSUM', 18, a.before, a.after, a.action, true));
      }
    }
  }

  if (e.restarts.length > 0) {
    out.push('', `Workloads that will restart (${e.restarts.length} in ${plural(clusterCount(e.restarts), 'cluster')})`);
    for (const group of byCluster(e.restarts)) {
      out.push(`  ${clusterLabel(group.cluster)}: ${group.items.length}`);
      for (const r of group.items) {
        const note = restartNote(r.action);
        out.push(`    ${r.kind} ${r.namespace}/${r.name}${note ? ` (${note})` : ''}`);
      }
    }
  }

  if (e.commands.length > 0) {
    out.push('', `Commands that will run, in order (${e.commands.length})`);
    for (const c of e.commands) {
      const after = c.after.length > 0 ? `, after ${c.after.join(', ')}` : '';
      out.push(`  ${c.order}. ${c.address} [${c.action}${after}]`);
      for (const s of c.steps) {
        out.push(`       ${s.provisioner} ${whereLabel(s.where)}:`);
        for (const line of s.lines) out.push(`         $ ${line}`);
        if (s.note) out.push(`         (${s.note})`);
      }
    }
  }

  if (e.helmReleases.length > 0) {
    out.push('', `Helm release values (${e.helmReleases.length})`);
    for (const h of e.helmReleases) {
      out.push(`  ${ACTION_SYMBOL[h.action]} ${h.namespace}/${h.release} on ${clusterLabel(h.cluster)}, chart ${h.chart} [${h.action}]`);
      const width = Math.max(...h.values.map((v) => v.name.length), h.version ? 'chart version'.length : 0);
      if (h.version) out.push(...pairLines('      ', 'chart version', width, h.version.before, h.version.after, h.action, true));
      for (const v of h.values) out.push(...pairLines('      ', v.name, width, v.before, v.after, h.action, true));
      if (h.values.length === 0 && !h.version) out.push('      no set value changes');
    }
  }

  if (e.released.length > 0) {
    out.push('', `No longer managed (${e.released.length}): nothing changes in the cluster`);
    for (const r of e.released) out.push(`  - ${clusterLabel(r.cluster)}: ${r.what} (${r.address})`);
  }

  if (e.other.length > 0) {
    out.push('', `Other changes (${e.other.length})`);
    for (const o of e.other) out.push(`  ${ACTION_SYMBOL[o.action]} ${o.address} [${o.action}]`);
  }
  return `${out.join('\n')}\n`;
}
