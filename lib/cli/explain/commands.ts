/**
 * Commands a plan runs: the provisioners of resources that are created or
 * replaced (`terraform_data`, `null_resource`, …), where they run, and in
 * which order.
 *
 * Terraform's plan JSON carries each provisioner's `type` and `expressions`
 * but neither its `connection` block nor `when = destroy`. The node of a
 * remote-exec step is therefore read from a `connection` expression when an
 * engine provides one, and otherwise from the keys `host`, `port` and `node`
 * of the resource's `input` or `triggers_replace`.
 */
import { describeStep } from '../../steps/public';
import { PlanConfiguration } from './configuration';
import type { ChangeAction, CommandStep, PlannedCommand } from './model';
import type { ConfigResourceJson, ExpressionJson, ProvisionerJson, ResourceChangeJson } from './plan-json';
import { shownAt, valueAt } from './values';

/** Where local-exec steps run. */
export const LOCAL = 'local';

/** Where a remote step runs when the plan does not say. */
export const UNKNOWN_NODE = 'a remote host (not in the plan JSON)';

/** A change whose provisioners run, before it is given its place in the order. */
export interface CommandCandidate {
  readonly rc: ResourceChangeJson;
  readonly action: ChangeAction;
  readonly resource: ConfigResourceJson;
}

/** The steps of one resource's provisioners, in declaration order. */
export function commandSteps(rc: ResourceChangeJson, resource: ConfigResourceJson): CommandStep[] {
  return (resource.provisioners ?? []).map((p) => stepOf(rc, resource, p));
}

function stepOf(rc: ResourceChangeJson, resource: ConfigResourceJson, p: ProvisionerJson): CommandStep {
  const e = (p.expressions ?? {}) as Record<string, ExpressionJson | undefined>;
  const where = p.type === 'local-exec' ? LOCAL : nodeOf(rc, resource, p);
  switch (p.type) {
    case 'local-exec': {
      // A cert-rotation step: its command is always `cert-rotation step`; what it does is in its triggers.
      const step = valueAt(rc.change.after, ['triggers_replace']);
      if (rc.type === 'terraform_data' && step && typeof step === 'object' && typeof (step as Record<string, unknown>).step === 'string') {
        const before = valueAt(rc.change.before, ['triggers_replace']);
        const replaced = before && typeof before === 'object' ? (before as Record<string, unknown>) : undefined;
        return { provisioner: p.type, lines: [describeStep(step as Record<string, unknown>, replaced)], where };
      }
      const command = constant(e.command);
      return typeof command === 'string' ? { provisioner: p.type, lines: [command], where } : computed(p.type, e.command, where);
    }
    case 'remote-exec': {
      const inline = constant(e.inline);
      const node = valueAt(rc.change.after, ['triggers_replace']) as Record<string, unknown> | undefined;
      if (Array.isArray(inline) && inline.every((l) => typeof l === 'string')) {
        // A kubeadm rotation's node step: what its script does, from its triggers, before the commands.
        if (node && typeof node === 'object' && node.step === 'kubeadm-node-check') return { provisioner: p.type, lines: [describeStep(node)], where };
        const what = node && typeof node === 'object' && node.step === 'kubeadm-node' && /run\.sh/.test(String(inline)) ? [describeStep(node)] : [];
        // A node step of the RKE2, RKE and Rancher container rotations: its commands, waits and checks as
        // its `input` lists them (the script around them is error handling), not the script itself.
        const listed = what.length === 0 ? valueAt(rc.change.after, ['input', 'commands']) : undefined;
        if (rc.type === 'terraform_data' && Array.isArray(listed) && listed.length > 0 && listed.every((l) => typeof l === 'string')) {
          return { provisioner: p.type, lines: listed as string[], where };
        }
        return { provisioner: p.type, lines: [...what, ...(inline as string[])], where };
      }
      const script = constant(e.script);
      if (typeof script === 'string') return { provisioner: p.type, lines: [`(script ${script})`], where };
      const scripts = constant(e.scripts);
      if (Array.isArray(scripts) && scripts.every((l) => typeof l === 'string')) {
        return { provisioner: p.type, lines: (scripts as string[]).map((s) => `(script ${s})`), where };
      }
      return computed(p.type, e.inline ?? e.script ?? e.scripts, where);
    }
    case 'file': {
      const source = constant(e.source);
      const destination = constant(e.destination);
      const from = typeof source === 'string' ? source : e.content !== undefined ? '(inline content, not shown)' : '(computed at apply time)';
      const to = typeof destination === 'string' ? destination : '(computed at apply time)';
      return { provisioner: p.type, lines: [`(copy ${from} to ${to})`], where };
    }
    default:
      return { provisioner: p.type, lines: [], note: `a ${p.type} provisioner`, where };
  }
}

function constant(e: ExpressionJson | undefined): unknown {
  return e && typeof e === 'object' ? e.constant_value : undefined;
}

function computed(type: string, e: ExpressionJson | undefined, where: string): CommandStep {
  const refs = [...new Set(e?.references ?? [])];
  const from = refs.length > 0 ? ` from ${refs.join(', ')}` : '';
  return { provisioner: type, lines: [], note: `computed at apply time${from}`, where };
}

/** The node a remote step runs on, as far as the plan tells. */
function nodeOf(rc: ResourceChangeJson, resource: ConfigResourceJson, p: ProvisionerJson): string {
  for (const connection of [valueAt(p.expressions, ['connection']), valueAt(resource.expressions, ['connection'])]) {
    const c = Array.isArray(connection) ? connection[0] : connection;
    const host = constant(valueAt(c, ['host']) as ExpressionJson) ?? valueAt(c, ['constant_value', 'host']);
    const port = constant(valueAt(c, ['port']) as ExpressionJson) ?? valueAt(c, ['constant_value', 'port']);
    if (typeof host === 'string' && host.length > 0) return hostPort(host, port);
  }
  for (const attribute of ['input', 'triggers_replace']) {
    const host = shownAt(rc, 'after', [attribute, 'host']);
    const port = shownAt(rc, 'after', [attribute, 'port']);
    const node = shownAt(rc, 'after', [attribute, 'node']);
    const address = 'value' in host ? hostPort(host.value, 'value' in port ? port.value : undefined) : undefined;
    if ('value' in node) return address ? `node ${node.value} (${address})` : `node ${node.value}`;
    if (address) return address;
  }
  return UNKNOWN_NODE;
}

function hostPort(host: string, port: unknown): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return port === undefined || port === null || port === '' ? h : `${h}:${String(port)}`;
}

/** Natural order of addresses, so `x[2]` comes before `x[10]`. */
export function compareAddresses(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * Puts the commands in the order Terraform runs them: a command waits for
 * every command it depends on, directly or through other resources
 * (`depends_on` and references in the configuration); among commands that
 * are ready at the same time, the lower address comes first.
 */
export function orderCommands(candidates: CommandCandidate[], config: PlanConfiguration): PlannedCommand[] {
  const byKey = new Map<string, CommandCandidate[]>();
  for (const c of candidates) {
    const key = PlanConfiguration.keyOf(c.rc);
    byKey.set(key, [...(byKey.get(key) ?? []), c]);
  }
  // The commands each command waits for directly: a walk through the
  // dependency graph that stops at the first command on each path.
  const waitsFor = new Map<string, Set<string>>();
  for (const c of candidates) {
    const key = PlanConfiguration.keyOf(c.rc);
    const preds = new Set<string>();
    const seen = new Set<string>([key]);
    const stack = [...config.dependenciesOf(key)];
    while (stack.length > 0) {
      const next = stack.pop() as string;
      if (seen.has(next)) continue;
      seen.add(next);
      if (byKey.has(next)) {
        for (const p of byKey.get(next)!) preds.add(p.rc.address);
      } else {
        stack.push(...config.dependenciesOf(next));
      }
    }
    waitsFor.set(c.rc.address, preds);
  }

  const remaining = [...candidates].sort((a, b) => compareAddresses(a.rc.address, b.rc.address));
  const position = new Map<string, number>();
  const ordered: PlannedCommand[] = [];
  while (remaining.length > 0) {
    // A cycle cannot pass `terraform plan`; if one shows up anyway, take the lowest address.
    const index = Math.max(0, remaining.findIndex((c) => [...waitsFor.get(c.rc.address)!].every((p) => position.has(p))));
    const [next] = remaining.splice(index, 1);
    const order = ordered.length + 1;
    position.set(next.rc.address, order);
    const after = [...waitsFor.get(next.rc.address)!].map((p) => position.get(p)).filter((n): n is number => n !== undefined);
    ordered.push({
      address: next.rc.address,
      action: next.action,
      order,
      after: after.sort((a, b) => a - b),
      steps: commandSteps(next.rc, next.resource),
    });
  }
  return ordered;
}
