/**
 * Reading values out of a planned change without ever showing what Terraform
 * marks sensitive. `terraform show -json` prints sensitive values in clear
 * text and only flags them in `before_sensitive` / `after_sensitive`, so every
 * value `explain` prints goes through {@link shownAt}.
 */
import type { Shown } from './model';
import type { ResourceChangeJson } from './plan-json';

/** A path into a planned object: attribute names and list indexes. */
export type ValuePath = ReadonlyArray<string | number>;

/** The value at `path`, or undefined when any step is missing. */
export function valueAt(root: unknown, path: ValuePath): unknown {
  let node = root;
  for (const step of path) {
    if (node === null || node === undefined || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[step];
  }
  return node;
}

/**
 * Whether a sensitivity or unknown mask marks `path`: the mask is `true` at
 * the path itself or at any prefix of it (a whole object marked sensitive
 * hides everything inside).
 */
export function marked(mask: unknown, path: ValuePath): boolean {
  let node = mask;
  for (const step of path) {
    if (node === true) return true;
    if (node === null || node === undefined || typeof node !== 'object') return false;
    node = (node as Record<string | number, unknown>)[step];
  }
  return node === true;
}

/** Text for a plain value: strings as they are, everything else as JSON. */
export function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * The value at `path` on one side of a change, as it may be shown: the
 * sensitive mark wins over everything, then unknown (after apply), then absent.
 */
export function shownAt(rc: ResourceChangeJson, side: 'before' | 'after', path: ValuePath): Shown {
  const c = rc.change;
  const root = side === 'before' ? c.before : c.after;
  const sensitiveMask = side === 'before' ? c.before_sensitive : c.after_sensitive;
  if (root === null || root === undefined) {
    return side === 'after' && marked(c.after_unknown, path) ? { note: 'unknown' } : { note: 'none' };
  }
  if (marked(sensitiveMask, path)) return { note: 'sensitive' };
  if (side === 'after' && marked(c.after_unknown, path)) return { note: 'unknown' };
  const value = valueAt(root, path);
  if (value === null || value === undefined || value === '') return { note: 'none' };
  return { value: valueText(value) };
}

/** Whether two shown values differ; an unknown or sensitive new value counts as a change. */
export function differs(before: Shown, after: Shown): boolean {
  if ('value' in before && 'value' in after) return before.value !== after.value;
  if ('note' in before && 'note' in after) return before.note !== after.note || after.note !== 'none';
  return true;
}

/** The text of a shown value for people: the value, or the reason there is none. */
export function shownText(shown: Shown): string {
  if ('value' in shown) return shown.value;
  switch (shown.note) {
    case 'none':
      return '(none)';
    case 'unknown':
      return '(known after apply)';
    case 'sensitive':
      return '(sensitive)';
  }
}
