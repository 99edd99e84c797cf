import * as fs from 'fs';
import * as path from 'path';

/**
 * The local-state safeguard the app runs before it synthesizes (issue 9,
 * "state that survives a kill").
 *
 * Terraform's local backend rewrites `terraform.<stack>.tfstate` in place
 * (truncate, then write). A run killed in between leaves the file empty or cut
 * short; Terraform then plans everything as new (empty file) or refuses to
 * start (cut short), and its `.backup` is overwritten by the next run.
 *
 * So on every synth:
 * - a state file that reads as a Terraform state is copied, atomically
 *   (write beside, then rename), to `<state>.last-good`;
 * - a state file that does not (empty, cut short, not a state) is set aside as
 *   `<state>.torn-<time>` and replaced by the newest readable state of the
 *   same lineage among `<state>.last-good` and Terraform's `<state>.backup`,
 *   with a line saying so. Without one, the torn file is set aside and
 *   Terraform starts from no state; the steps take over what the cluster holds.
 *
 * The state holds no private key (the steps read keys from files at apply), so
 * neither do the copies; they get the state file's mode 0600.
 */
export interface LocalStateReport {
  /** What was done: nothing (no state yet), a snapshot taken, a torn state restored or set aside. */
  readonly action: 'none' | 'snapshot' | 'restored' | 'set-aside';
  /** One line for the person running the deploy, for `restored` and `set-aside`. */
  readonly message?: string;
}

interface ReadableState {
  readonly file: string;
  readonly text: string;
  readonly serial: number;
  readonly lineage: string;
}

export const LAST_GOOD_SUFFIX = '.last-good';

/** Reads `file` as a Terraform state (format version 4): undefined when it is not one, with the reason. */
export function readState(file: string): { state?: ReadableState; problem?: string } {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    return { problem: `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  if (text.trim() === '') return { problem: 'is empty' };
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    return { problem: `is cut short or not JSON (${text.length} bytes)` };
  }
  if (typeof json !== 'object' || json === null || typeof json.version !== 'number' || typeof json.serial !== 'number'
    || typeof json.lineage !== 'string' || !Array.isArray(json.resources)) {
    return { problem: 'is JSON but not a Terraform state (no version, serial, lineage or resources)' };
  }
  return { state: { file, text, serial: json.serial, lineage: json.lineage } };
}

function writeAtomically(file: string, text: string): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/**
 * Checks the local state file `statePath` and keeps it recoverable (see above).
 * `now` names the set-aside copy.
 */
export function guardLocalState(statePath: string, now: Date = new Date()): LocalStateReport {
  if (!fs.existsSync(statePath)) return { action: 'none' };
  const lastGood = `${statePath}${LAST_GOOD_SUFFIX}`;
  const current = readState(statePath);
  if (current.state) {
    const previous = fs.existsSync(lastGood) ? fs.readFileSync(lastGood, 'utf8') : undefined;
    if (previous !== current.state.text) writeAtomically(lastGood, current.state.text);
    return { action: 'snapshot' };
  }

  const torn = `${statePath}.torn-${now.toISOString().replace(/[:.]/g, '-')}`;
  fs.renameSync(statePath, torn);
  const candidates = [lastGood, `${statePath}.backup`]
    .filter((f) => fs.existsSync(f))
    .map((f) => readState(f).state)
    .filter((s): s is ReadableState => s !== undefined);
  // The snapshot is of this stack's own state; a backup of another lineage (a state the user
  // replaced by hand) is not ours to put back.
  const lineage = candidates.find((c) => c.file === lastGood)?.lineage ?? candidates[0]?.lineage;
  const best = candidates.filter((c) => c.lineage === lineage).sort((a, b) => b.serial - a.serial)[0];
  const what = `${statePath} ${current.problem} (a run killed while Terraform wrote it)`;
  if (!best) {
    return {
      action: 'set-aside',
      message: `${what}, and there is no readable earlier state: set it aside as ${torn}; Terraform starts from no state and the steps take over what the clusters hold`,
    };
  }
  writeAtomically(statePath, best.text);
  return {
    action: 'restored',
    message: `${what}: restored the last readable state (serial ${best.serial}) from ${best.file}; the torn file is kept as ${torn}. Steps the killed run did not finish are planned again`,
  };
}
