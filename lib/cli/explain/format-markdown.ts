/**
 * The Markdown rendering of an {@link Explanation}, for a pull-request
 * comment (GitHub-flavoured: tables and `> [!WARNING]` alerts).
 */
import { LOCAL, UNKNOWN_NODE } from './commands';
import {
  byCluster,
  clusterCount,
  NOTHING_TO_ROTATE,
  planWarnings,
  plural,
  restartNote,
  summaryLine,
  whereLabel,
} from './format';
import type { ChangeAction, ClusterRef, DestroyedResource, Explanation, Shown } from './model';
import { shownText } from './values';

/** An inline code span that survives any content: the fence is longer than any run of backticks inside. */
export function code(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}

/** A table cell: pipes escaped (also inside code spans, as GFM tables require), no line breaks. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** A shown value as a cell: values in code, the reasons for no value in italics. */
function shownCell(shown: Shown): string {
  return cell('value' in shown ? code(shown.value) : `_${shownText(shown)}_`);
}

function clusterMd(cluster: ClusterRef): string {
  return cluster.context !== undefined ? `${code(cluster.name)} (context ${code(cluster.context)})` : code(cluster.name);
}

/** Old and new cells for one field of a change with this action. */
function oldNew(before: Shown, after: Shown, action: ChangeAction, changed: boolean): [string, string] {
  if (action === 'create') return ['', shownCell(after)];
  if (action === 'delete') return [shownCell(before), '_deleted_'];
  return [shownCell(before), changed ? shownCell(after) : '_unchanged_'];
}

/** A fenced code block whose fence is longer than any run of backticks in the content. */
function codeBlock(lines: string[], language: string, indent: string): string[] {
  const longest = Math.max(2, ...lines.flatMap((l) => (l.match(/`+/g) ?? []).map((run) => run.length)));
  const fence = '`'.repeat(longest + 1);
  return [`${indent}${fence}${language}`, ...lines.map((l) => `${indent}${l}`), `${indent}${fence}`];
}

function destroyItem(d: DestroyedResource): string {
  const verb = d.action === 'replace' ? '**destroys and re-creates**' : '**destroys**';
  const where = d.cluster ? ` on ${code(d.cluster.name)}` : '';
  const tail = [d.reason, d.consequence].filter((x): x is string => x !== undefined);
  const object = d.object !== undefined ? ` ${code(d.object)}` : '';
  const detail = d.detail !== undefined ? ` (${d.detail})` : '';
  return `- ${verb} ${d.what}${object}${detail}${where} (${code(d.address)})${tail.length > 0 ? `: ${tail.join('; ')}` : ''}`;
}

/** Renders an explanation as Markdown; ends with a newline. */
export function formatMarkdown(e: Explanation): string {
  const version = e.terraformVersion ? ` (terraform ${e.terraformVersion})` : '';
  const out: string[] = [`### cert-rotation explain: ${code(e.source)}${version}`, ''];
  const warnings = planWarnings(e);
  if (e.changeCount === 0) {
    out.push(`${NOTHING_TO_ROTATE}: the plan has no changes.`);
    for (const w of warnings) out.push('', '> [!WARNING]', `> ${w}`);
    return `${out.join('\n')}\n`;
  }
  out.push(`**${summaryLine(e)}.** ${e.destroyed.length > 0 ? `**${plural(e.destroyed.length, 'resource')} destroyed.**` : 'Nothing destroyed.'}`);
  if (e.destroyed.length > 0 || warnings.length > 0) {
    out.push('', '> [!WARNING]');
    for (const w of warnings) out.push(`> **${w}**`, '>');
    if (e.destroyed.length > 0) {
      out.push(`> **This plan destroys ${plural(e.destroyed.length, 'resource')}.**`, '>');
      for (const d of e.destroyed) out.push(`> ${destroyItem(d)}`);
    }
  }

  if (e.certificates.length > 0) {
    out.push('', `#### Certificates (${e.certificates.length})`);
    for (const c of e.certificates) {
      const kind = c.kind === 'ca' ? 'CA bundle in Secret' : 'Secret';
      out.push('', `**${c.action}** ${kind} ${code(`${c.namespace}/${c.name}`)} on ${clusterMd(c.cluster)}`, '');
      out.push('| field | old | new |', '|---|---|---|');
      for (const f of c.fields) {
        const [o, n] = oldNew(f.before, f.after, c.action, f.changed);
        out.push(`| ${f.field} | ${o} | ${n} |`);
      }
      if (c.writeOnlyRevision) {
        const r = c.writeOnlyRevision;
        const [o, n] = oldNew(r.before, r.after, c.action, true);
        out.push(`| tls.crt, tls.key (write-only revision) | ${o} | ${n} |`);
      }
      if (c.dataNote) out.push('', `Data: ${cell(c.dataNote)}.`);
    }
  }

  if (e.agents.length > 0) {
    out.push('', `#### Agents whose CA checksum changes (${plural(e.agents.length, 'agent')} in ${plural(clusterCount(e.agents), 'cluster')})`, '');
    out.push('| cluster | workload | container | old CATTLE_CA_CHECKSUM | new CATTLE_CA_CHECKSUM |', '|---|---|---|---|---|');
    for (const a of e.agents) {
      const [o, n] = oldNew(a.before, a.after, a.action, true);
      out.push(`| ${cell(clusterMd(a.cluster))} | ${a.kind} ${cell(code(`${a.namespace}/${a.name}`))} | ${cell(code(a.container))} | ${o} | ${n} |`);
    }
  }

  if (e.restarts.length > 0) {
    out.push('', `#### Workloads that will restart (${e.restarts.length} in ${plural(clusterCount(e.restarts), 'cluster')})`);
    for (const group of byCluster(e.restarts)) {
      out.push('', `${clusterMd(group.cluster)}: ${plural(group.items.length, 'workload')}`, '');
      for (const r of group.items) {
        const note = restartNote(r.action);
        out.push(`- ${r.kind} ${code(`${r.namespace}/${r.name}`)}${note ? ` (${note})` : ''}`);
      }
    }
  }

  if (e.commands.length > 0) {
    out.push('', `#### Commands that will run, in order (${e.commands.length})`, '');
    for (const c of e.commands) {
      const after = c.after.length > 0 ? `, after ${c.after.join(', ')}` : '';
      out.push(`${c.order}. ${code(c.address)} (${c.action}${after})`);
      for (const s of c.steps) {
        const where = s.where === LOCAL || s.where === UNKNOWN_NODE ? whereLabel(s.where) : `on ${code(s.where)}`;
        out.push(`   - ${s.provisioner} ${where}${s.note ? `: ${s.note}` : ''}`);
        if (s.lines.length > 0) out.push('', ...codeBlock(s.lines, 'sh', '     '), '');
      }
    }
  }

  if (e.helmReleases.length > 0) {
    out.push('', `#### Helm release values (${e.helmReleases.length})`);
    for (const h of e.helmReleases) {
      out.push('', `**${h.action}** release ${code(`${h.namespace}/${h.release}`)} on ${clusterMd(h.cluster)}, chart ${code(h.chart)}`, '');
      if (h.values.length === 0 && !h.version) {
        out.push('No `set` value changes.');
        continue;
      }
      out.push('| value | old | new |', '|---|---|---|');
      if (h.version) {
        const [o, n] = oldNew(h.version.before, h.version.after, h.action, true);
        out.push(`| chart version | ${o} | ${n} |`);
      }
      for (const v of h.values) {
        const [o, n] = oldNew(v.before, v.after, h.action, true);
        out.push(`| ${cell(code(v.name))} | ${o} | ${n} |`);
      }
    }
  }

  if (e.released.length > 0) {
    out.push('', `#### No longer managed (${e.released.length}): nothing changes in the cluster`, '');
    for (const r of e.released) out.push(`- ${clusterMd(r.cluster)}: ${cell(r.what)} (${code(r.address)})`);
  }

  if (e.other.length > 0) {
    out.push('', `#### Other changes (${e.other.length})`, '');
    for (const o of e.other) out.push(`- ${o.action} ${code(o.address)}`);
  }
  return `${out.join('\n')}\n`;
}
