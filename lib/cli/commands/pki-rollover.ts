/**
 * `cert-rotation pki rollover`: replaces a CA that is about to expire without
 * a moment in which a client trusts only the CA the server no longer uses.
 *
 * A root CA rolls over in three phases, one per scheduled run, at least
 * --overlap apart, with the phase kept in DIR/rollover.json:
 *
 *   1. trust-both  a new root is made in DIR/next/; cacerts.pem lists the
 *                  current root, then the new one. Deployed, every client that
 *                  downloads the bundle (Rancher's agents) trusts both.
 *   2. switch      the new root becomes DIR/ca.crt and ca.key (the old ones
 *                  are kept in DIR/previous/); cacerts.pem lists the new root,
 *                  then the old one. Everything the old root issued is now due
 *                  for `pki renew` (its issuer is no longer --ca-dir's CA).
 *   3. drop-old    cacerts.pem lists the new root alone; the old key is
 *                  deleted (its certificate stays in DIR/previous/ca.crt).
 *
 * An intermediate CA (with --issuer-dir) needs no overlap, since clients
 * trust its root: it is re-issued when it is due or when its issuer changed
 * (the switch above), and otherwise its cacerts.pem follows its issuer's
 * bundle, so the new root reaches it in phase 1 and leaves it in phase 3.
 *
 * The same order as kubeadm's manual CA rotation (trust both, switch, drop
 * the old CA): https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/
 */
import { promises as fs } from 'fs';
import * as path from 'path';
import { CertificateInfo, describeCertificate, parseCertificate } from '../../pki/certificate';
import { extraRoots, isIssuedBy } from '../../pki/chain';
import { DAY_MS, formatIsoSeconds } from '../../pki/validity';
import { CliIo, parseCommandArgs, UsageError } from '../io';
import {
  CaDirectory,
  describeWritten,
  keptKeyBits,
  keyLine,
  lifetimeDays,
  PkiError,
  pkiInput,
  readCaDirectory,
  readText,
  replaceFiles,
  subjectField,
  validity,
} from './pki-files';
import { durationOption, wholeNumber } from './pki-args';

export const ROLLOVER_HELP = `Usage: cert-rotation pki rollover --ca-dir DIR [options]

Replace the CA in --ca-dir before it expires, one phase per run, for a
scheduled job that runs it every night before \`pki renew\` and then plans.
Nothing is written when nothing is due, so the plan is empty on those nights.

A root CA (self-signed) rolls over in three phases, each at least --overlap
after the one before; the phase is kept in DIR/rollover.json:

  1. trust-both  when the CA expires within --renew-before: a new root in
                 DIR/next/, and cacerts.pem lists the current root, then the
                 new one. Deploy it: clients that download cacerts.pem (such
                 as Rancher's agents) trust both roots from then on.
  2. switch      the new root becomes ca.crt and ca.key (the old pair moves to
                 DIR/previous/); cacerts.pem lists the new root, then the old.
                 Every certificate the old root issued is now due: the
                 \`pki renew\` that follows re-issues it from the new root.
  3. drop-old    cacerts.pem lists the new root alone, and the old key is
                 deleted (DIR/previous/ca.crt stays, for the record).

An intermediate CA (with --issuer-dir, its issuer's directory) needs no
overlap, because clients trust its root: it is re-issued from --issuer-dir
when it expires within --renew-before or was not issued by --issuer-dir's CA
(after that CA's switch); otherwise its cacerts.pem follows the issuer's, so
the new root's trust reaches it in phase 1 and leaves it in phase 3.

The new CA keeps the old one's subject (CN, O), RSA key size and lifetime.
Private keys are written with mode 0600 and never printed.

Options:
      --ca-dir DIR            the CA to roll over (made by \`cert-rotation pki ca\`) (required)
      --issuer-dir DIR        the CA that issues --ca-dir's CA, when that is an
                              intermediate (required for an intermediate)
      --renew-before DURATION start when the CA expires within this, e.g. 90d
                              (default 90d; must leave room for two --overlap)
      --overlap DURATION      how long each phase is deployed before the next,
                              e.g. 7d, 24h (default 7d; 0s: one phase per run)
      --days N                validity of the new CA in days (default: the old
                              CA's lifetime, within the issuer's)
      --force                 start a rollover that is not due, or go on to the
                              next phase before --overlap has passed
  -h, --help                  show this help

Exit codes:
  0  a phase was written, or nothing was due (stdout says which)
  3  wrong usage, or a CA directory or rollover.json cannot be used: nothing
     is written

Example (nightly, with pki/root -> pki/intermediate -> certs/tls.crt):
  cert-rotation pki rollover --ca-dir pki/root
  cert-rotation pki rollover --ca-dir pki/intermediate --issuer-dir pki/root
  cert-rotation pki renew --ca-dir pki/intermediate --out certs
`;

/** `pki rollover`. */
export interface PkiRolloverOptions {
  readonly command: 'rollover';
  readonly caDir: string;
  readonly issuerDir?: string;
  /** Milliseconds before the CA's notAfter from which a rollover starts. */
  readonly renewBefore: number;
  readonly renewBeforeText: string;
  /** Milliseconds each phase stays deployed before the next. */
  readonly overlap: number;
  readonly overlapText: string;
  /** Days; undefined: the old CA's lifetime. */
  readonly days?: number;
  readonly force: boolean;
}

const DEFAULT_RENEW_BEFORE = '90d';
const DEFAULT_OVERLAP = '7d';
const STATE_FILE = 'rollover.json';

/**
 * Parses `pki rollover`'s options (after the subcommand).
 *
 * @throws UsageError naming the option, the value and the rule
 */
export function parseRolloverArgs(args: readonly string[]): PkiRolloverOptions {
  const parsed = parseCommandArgs(args, {
    'ca-dir': { type: 'string' },
    'issuer-dir': { type: 'string' },
    'renew-before': { type: 'string' },
    overlap: { type: 'string' },
    days: { type: 'string' },
    force: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (parsed.positionals.length > 0) {
    throw new UsageError(`pki rollover takes no arguments, only options: got '${parsed.positionals.join("', '")}'`);
  }
  const v = parsed.values;
  const caDir = v['ca-dir'];
  if (caDir === undefined || caDir === '') {
    throw new UsageError('no --ca-dir given; pass the directory of the CA to roll over (made by `cert-rotation pki ca --out DIR`)');
  }
  if (v['issuer-dir'] === '') {
    throw new UsageError('--issuer-dir is empty; pass the directory of the CA that issues the intermediate in --ca-dir');
  }
  const renewBeforeText = v['renew-before'] ?? DEFAULT_RENEW_BEFORE;
  const overlapText = v.overlap ?? DEFAULT_OVERLAP;
  const renewBefore = durationOption(renewBeforeText, '--renew-before', '90d');
  const overlap = durationOption(overlapText, '--overlap', '90d');
  if (renewBefore < 2 * overlap) {
    throw new UsageError(
      `--renew-before ${renewBeforeText} is shorter than two --overlap ${overlapText}: a rollover that starts inside the window could not finish before the CA expires; ` +
        'pass a longer --renew-before or a shorter --overlap',
    );
  }
  const days = v.days === undefined ? undefined : wholeNumber(v.days, '--days', 1, 36500, "new CA's validity in days", 3650);
  return { command: 'rollover', caDir, issuerDir: v['issuer-dir'], renewBefore, renewBeforeText, overlap, overlapText, days, force: v.force === true };
}

/** DIR/rollover.json: the phase of a root's rollover. Public data only. */
interface RolloverState {
  readonly phase: 'trust-both' | 'switch';
  /** When this phase was written (ISO 8601). */
  readonly since: string;
  /** SHA-256 fingerprints (as CertificateInfo.sha256Fingerprint) of the root being replaced and its successor. */
  readonly old: string;
  readonly new: string;
}

/** Runs `pki rollover`: writes the next phase when it is due, else says why not. */
export async function runRollover(o: PkiRolloverOptions, io: CliIo, now: Date): Promise<void> {
  const head = await readCaHead(o.caDir);
  if (head.selfSigned) {
    if (o.issuerDir !== undefined) {
      throw new PkiError(`--ca-dir ${o.caDir}: ${describeCertificate(head)} is a self-signed root, which has no issuer; leave out --issuer-dir ${o.issuerDir}`);
    }
    await rollRoot(o, io, now);
  } else {
    if (o.issuerDir === undefined) {
      throw new PkiError(
        `--ca-dir ${o.caDir}: ${describeCertificate(head)} is an intermediate CA issued by ${head.issuer}; pass --issuer-dir with the directory of the CA that issues it ` +
          '(an intermediate is re-issued by its issuer, and needs no overlap)',
      );
    }
    await rollIntermediate(o, io, now);
  }
}

/** The CA certificate of a directory, read before the phase decides what else must be there. */
async function readCaHead(dir: string): Promise<CertificateInfo> {
  const file = path.join(dir, 'ca.crt');
  const pem = await readText(file, `--ca-dir ${dir}: `, `a CA directory holds ca.crt and ca.key; make one with \`cert-rotation pki ca --out ${dir}\``);
  return pkiInput(() => parseCertificate(pem, file, 'ca.crt'));
}

async function rollRoot(o: PkiRolloverOptions, io: CliIo, now: Date): Promise<void> {
  const dir = o.caDir;
  const stateFile = path.join(dir, STATE_FILE);
  const state = await readState(stateFile);
  const bundleFile = path.join(dir, 'cacerts.pem');

  if (state === undefined) {
    const ca = await readCaDirectory(dir, '--ca-dir', now);
    const left = ca.cert.notAfter.getTime() - now.getTime();
    if (left > o.renewBefore && !o.force) {
      io.stdout.write(
        `not due: ${describeCertificate(ca.cert)} of --ca-dir ${dir} expires at ${formatIsoSeconds(ca.cert.notAfter)}, in ${Math.floor(left / DAY_MS)} days ` +
          `(--renew-before ${o.renewBeforeText}); nothing written\n`,
      );
      return;
    }
    if (left <= 2 * o.overlap) {
      throw new PkiError(
        `${describeCertificate(ca.cert)} of --ca-dir ${dir} expires at ${formatIsoSeconds(ca.cert.notAfter)}, before two --overlap ${o.overlapText} have passed, so the rollover could not finish in time; ` +
          `pass a shorter --overlap (at most ${formatHours(left / 2)}), or replace the CA at once with \`cert-rotation pki ca --out ${dir} --force\` and re-issue what it signed`,
      );
    }
    // Phase 1. A next/ left by a run killed before rollover.json was written is used again.
    const nextDir = path.join(dir, 'next');
    const next = (await readCaDirectory(nextDir, '--ca-dir', now).catch(() => undefined)) ?? (await issueRoot(o, ca, nextDir, now, io));
    const bundle = [ca.cert, next.cert];
    await replaceFiles([
      { file: bundleFile, text: pemOf(bundle), secret: false },
      { file: stateFile, text: stateText({ phase: 'trust-both', since: now.toISOString(), old: ca.cert.sha256Fingerprint, new: next.cert.sha256Fingerprint }), secret: false },
    ]);
    io.stdout.write(
      [
        `rollover 1 of 3 (trust-both): ${describeCertificate(ca.cert)} of --ca-dir ${dir} expires at ${formatIsoSeconds(ca.cert.notAfter)}${o.force && ca.cert.notAfter.getTime() - now.getTime() > o.renewBefore ? ' (started by --force)' : `, within --renew-before ${o.renewBeforeText}`}`,
        `wrote ${bundleFile}: the current root, then the new one (${bundle.map(shortName).join(', ')}); deploy it so that every client trusts both`,
        `wrote ${stateFile}: next phase (switch) from ${formatIsoSeconds(new Date(now.getTime() + o.overlap))} (--overlap ${o.overlapText})`,
        'certificates are still issued by the current root',
        '',
      ].join('\n'),
    );
    return;
  }

  const since = new Date(state.since);
  const nextPhaseAt = new Date(since.getTime() + o.overlap);
  const phaseNo = state.phase === 'trust-both' ? 1 : 2;
  // Only ca.crt here: a switch killed between its two renames leaves ca.key and ca.crt apart for a moment.
  const head = await readCaHead(dir);
  const current = head.sha256Fingerprint;
  if (state.phase === 'trust-both' && current !== state.old && current !== state.new) {
    throw stateMismatch(stateFile, head, state);
  }
  if (state.phase === 'switch' && current !== state.new) {
    throw stateMismatch(stateFile, head, state);
  }
  if (now.getTime() < nextPhaseAt.getTime() && !o.force) {
    io.stdout.write(
      `rollover ${phaseNo} of 3 (${state.phase}) since ${formatIsoSeconds(since)}: the next phase is due from ${formatIsoSeconds(nextPhaseAt)} (--overlap ${o.overlapText}); nothing written\n`,
    );
    return;
  }

  if (state.phase === 'trust-both') {
    // Phase 2. Each step can be repeated, so a run killed half-way finishes on the next one.
    const previousDir = path.join(dir, 'previous');
    const nextDir = path.join(dir, 'next');
    // next/ stays until rollover.json says switch; previous/ is written before ca.key and ca.crt are replaced.
    const next = await readCaDirectory(nextDir, `${dir}/next (written by phase 1)`, now);
    if (next.cert.sha256Fingerprint !== state.new) throw stateMismatch(stateFile, next.cert, state);
    const kept = await readCaDirectory(previousDir, `${dir}/previous`, now).catch(() => undefined);
    let old: CaDirectory;
    if (kept && kept.cert.sha256Fingerprint === state.old) {
      old = kept;
    } else {
      old = await readCaDirectory(dir, '--ca-dir', now);
      if (old.cert.sha256Fingerprint !== state.old) throw stateMismatch(stateFile, old.cert, state);
      await fs.mkdir(previousDir, { recursive: true });
      await replaceFiles([
        { file: path.join(previousDir, 'ca.key'), text: old.keyPem, secret: true },
        { file: path.join(previousDir, 'ca.crt'), text: old.certPem, secret: false },
      ]);
    }
    await replaceFiles([
      { file: path.join(dir, 'ca.key'), text: next.keyPem, secret: true },
      { file: path.join(dir, 'ca.crt'), text: next.certPem, secret: false },
    ]);
    await replaceFiles([
      { file: bundleFile, text: pemOf([next.cert, old.cert]), secret: false },
      { file: stateFile, text: stateText({ phase: 'switch', since: now.toISOString(), old: state.old, new: state.new }), secret: false },
    ]);
    await fs.rm(nextDir, { recursive: true, force: true });
    io.stdout.write(
      [
        `rollover 2 of 3 (switch): ${describeCertificate(next.cert)} of --ca-dir ${dir} now issues certificates`,
        `wrote ${path.join(dir, 'ca.crt')} and ca.key: the new root (sha256 ${next.cert.sha256Fingerprint.slice(0, 23)}…); the old pair is in ${previousDir}`,
        `wrote ${bundleFile}: the new root, then the old one (${[next.cert, old.cert].map(shortName).join(', ')})`,
        `wrote ${stateFile}: next phase (drop-old) from ${formatIsoSeconds(new Date(now.getTime() + o.overlap))}`,
        'every certificate the old root issued is now due: run `cert-rotation pki rollover --issuer-dir` for intermediates and `cert-rotation pki renew` for the rest, then deploy',
        '',
      ].join('\n'),
    );
    return;
  }

  // Phase 3.
  const ca = await readCaDirectory(dir, '--ca-dir', now);
  const previousDir = path.join(dir, 'previous');
  await replaceFiles([{ file: bundleFile, text: ca.cert.pem, secret: false }]);
  await fs.rm(path.join(previousDir, 'ca.key'), { force: true });
  await fs.rm(stateFile, { force: true });
  io.stdout.write(
    [
      `rollover 3 of 3 (drop-old): done; ${describeCertificate(ca.cert)} of --ca-dir ${dir} is the only root`,
      `wrote ${bundleFile}: the new root alone (${shortName(ca.cert)}); deploy it`,
      `deleted ${path.join(previousDir, 'ca.key')}: the old root's key (its certificate stays in ${path.join(previousDir, 'ca.crt')})`,
      `removed ${stateFile}`,
      '',
    ].join('\n'),
  );
}

async function rollIntermediate(o: PkiRolloverOptions, io: CliIo, now: Date): Promise<void> {
  const dir = o.caDir;
  const issuerDir = o.issuerDir as string;
  const issuer = await readCaDirectory(issuerDir, '--issuer-dir', now);
  const bundleFile = path.join(dir, 'cacerts.pem');
  const certFile = path.join(dir, 'ca.crt');
  const cert = await readCaHead(dir);
  const signedByIssuer = isIssuedBy(cert, issuer.cert);
  const left = cert.notAfter.getTime() - now.getTime();
  const reason = !signedByIssuer
    ? `it was not issued by ${describeCertificate(issuer.cert)} of --issuer-dir ${issuerDir} (that CA was replaced)`
    : left <= o.renewBefore
      ? `it expires at ${formatIsoSeconds(cert.notAfter)}, within --renew-before ${o.renewBeforeText}`
      : o.force
        ? 'of --force'
        : undefined;

  const issuerRolling = await readState(path.join(issuerDir, STATE_FILE));
  if (signedByIssuer && issuerRolling?.phase === 'trust-both' && !o.force) {
    // Its issuer is replaced at the next phase; a new intermediate now would be signed by the old root.
    const changed = await followIssuer(bundleFile, cert, issuer);
    io.stdout.write(
      [
        `waiting: --issuer-dir ${issuerDir} is in phase 1 of 3 (trust-both) of its rollover; ${describeCertificate(cert)} of --ca-dir ${dir} is re-issued from the new root at the switch`,
        changed
          ? `wrote ${bundleFile}: ${describeCertificate(cert)}, then --issuer-dir's bundle (${issuer.bundle.map(shortName).join(', ')}); deploy it so that every client trusts both roots`
          : 'nothing written',
        '',
      ].join('\n'),
    );
    return;
  }

  if (reason === undefined) {
    if (!(await followIssuer(bundleFile, cert, issuer))) {
      io.stdout.write(
        `not due: ${describeCertificate(cert)} of --ca-dir ${dir} expires at ${formatIsoSeconds(cert.notAfter)}, in ${Math.floor(left / DAY_MS)} days ` +
          `(--renew-before ${o.renewBeforeText}), and its cacerts.pem follows --issuer-dir's; nothing written\n`,
      );
      return;
    }
    const extra = extraRoots([cert, ...issuer.bundle]);
    io.stdout.write(
      [
        `wrote ${bundleFile}: ${describeCertificate(cert)}, then --issuer-dir's bundle (${issuer.bundle.map(shortName).join(', ')})`,
        extra.length > 0
          ? `  it also trusts ${extra.map(shortName).join(', ')}, the other root of --issuer-dir's rollover; deploy it`
          : '  it lists one root again; deploy it',
        '',
      ].join('\n'),
    );
    return;
  }

  const lifetime = lifetimeDays(cert);
  const issuerDaysLeft = Math.floor((issuer.cert.notAfter.getTime() - now.getTime()) / DAY_MS);
  const days = o.days ?? Math.min(lifetime, issuerDaysLeft);
  if (days * DAY_MS <= o.renewBefore) {
    // A new intermediate would be due again at once.
    throw new PkiError(
      issuerDaysLeft < lifetime && o.days === undefined
        ? `${describeCertificate(cert)} of --ca-dir ${dir} is due (${reason}), but a new one could last only ${days} days, until its issuer ${describeCertificate(issuer.cert)} ends, within --renew-before ${o.renewBeforeText}; ` +
            `roll the issuer over first: cert-rotation pki rollover --ca-dir ${issuerDir}`
        : `a new ${describeCertificate(cert)} would last ${days} days, within --renew-before ${o.renewBeforeText}, so it would be due again at once; pass --days with more days than --renew-before`,
    );
  }
  const { generateCa } = await import('../../pki/issue');
  const issued = generateCa({
    ...subjectOf(cert),
    keyBits: keptKeyBits(cert),
    ...validity(now, days, issuer.cert, `--issuer-dir ${issuerDir}`),
    issuer: { certPem: issuer.certPem, keyPem: issuer.keyPem },
  });
  const fresh = pkiInput(() => parseCertificate(issued.certPem, certFile, 'ca.crt'));
  await replaceFiles([
    { file: path.join(dir, 'ca.key'), text: issued.keyPem, secret: true },
    { file: certFile, text: issued.certPem, secret: false },
    { file: bundleFile, text: pemOf([fresh, ...issuer.bundle]), secret: false },
  ]);
  io.stdout.write(
    [
      `re-issued: ${describeCertificate(cert)} of --ca-dir ${dir}, because ${reason}`,
      keyLine(path.join(dir, 'ca.key'), issued.keyPem),
      `wrote ${certFile}: intermediate CA signed by ${describeCertificate(issuer.cert)}`,
      ...describeWritten(fresh),
      `wrote ${bundleFile}: it, then --issuer-dir's bundle (${issuer.bundle.map(shortName).join(', ')})`,
      'every certificate the old intermediate issued is now due: `cert-rotation pki renew --ca-dir ' + dir + '` re-issues each',
      '',
    ].join('\n'),
  );
}

/** Makes an intermediate's cacerts.pem the intermediate, then its issuer's bundle; true when that changed the file. */
async function followIssuer(bundleFile: string, cert: CertificateInfo, issuer: CaDirectory): Promise<boolean> {
  const want = pemOf([cert, ...issuer.bundle]);
  if ((await readText(bundleFile, '', '', true)) === want) return false;
  await replaceFiles([{ file: bundleFile, text: want, secret: false }]);
  return true;
}

/** Phase 1's new root: the old one's subject, key size and lifetime, in DIR/next/. */
async function issueRoot(o: PkiRolloverOptions, old: CaDirectory, nextDir: string, now: Date, io: CliIo): Promise<CaDirectory> {
  const lifetime = lifetimeDays(old.cert);
  const days = o.days ?? lifetime;
  if (days * DAY_MS <= o.renewBefore) {
    throw new PkiError(
      `a new root with ${o.days === undefined ? `the lifetime of ${describeCertificate(old.cert)} (${days} days)` : `--days ${days}`} would be within --renew-before ${o.renewBeforeText} at once and roll over again; ` +
        'pass --days with more days than --renew-before (a root usually lasts 3650)',
    );
  }
  const { generateCa } = await import('../../pki/issue');
  const issued = generateCa({ ...subjectOf(old.cert), keyBits: keptKeyBits(old.cert), ...validity(now, days) });
  await fs.mkdir(nextDir, { recursive: true });
  const keyFile = path.join(nextDir, 'ca.key');
  const certFile = path.join(nextDir, 'ca.crt');
  await replaceFiles([
    { file: keyFile, text: issued.keyPem, secret: true },
    { file: certFile, text: issued.certPem, secret: false },
    { file: path.join(nextDir, 'cacerts.pem'), text: issued.certPem, secret: false },
  ]);
  const cert = pkiInput(() => parseCertificate(issued.certPem, certFile, 'ca.crt'));
  io.stdout.write([keyLine(keyFile, issued.keyPem), `wrote ${certFile}: the new root CA`, ...describeWritten(cert), ''].join('\n'));
  return { certPem: issued.certPem, keyPem: issued.keyPem, cert, bundle: [cert] };
}

async function readState(file: string): Promise<RolloverState | undefined> {
  const text = await readText(file, '', '', true);
  if (text === undefined) return undefined;
  const fix = `it is written by \`cert-rotation pki rollover\`; restore it from a backup, or delete it together with ${path.join(path.dirname(file), 'next')} to start the rollover again`;
  let state: Partial<RolloverState>;
  try {
    state = JSON.parse(text) as Partial<RolloverState>;
  } catch (err) {
    throw new PkiError(`${file} is not JSON (${(err as Error).message}); ${fix}`);
  }
  if ((state.phase !== 'trust-both' && state.phase !== 'switch') || typeof state.old !== 'string' || typeof state.new !== 'string' || isNaN(Date.parse(String(state.since)))) {
    throw new PkiError(`${file}: field phase must be trust-both or switch, with since (a date), old and new (SHA-256 fingerprints); ${fix}`);
  }
  return state as RolloverState;
}

function stateText(state: RolloverState): string {
  return `${JSON.stringify(state, null, 2)}\n`;
}

function stateMismatch(file: string, cert: CertificateInfo, state: RolloverState): PkiError {
  return new PkiError(
    `${file} is in phase ${state.phase} of a rollover from ${state.old.slice(0, 23)}… to ${state.new.slice(0, 23)}…, but the CA found is ${describeCertificate(cert)} (${cert.sha256Fingerprint.slice(0, 23)}…); ` +
      'the CA directory was changed by hand: put back the CA of the rollover, or delete rollover.json (and next/) to start again',
  );
}

function subjectOf(cert: CertificateInfo): { commonName: string; organization?: string } {
  return { commonName: subjectField(cert, 'CN') ?? 'cert-rotation Root CA', organization: subjectField(cert, 'O') };
}

function pemOf(certs: readonly CertificateInfo[]): string {
  return certs.map((c) => c.pem).join('');
}

function shortName(cert: CertificateInfo): string {
  return `${describeCertificate(cert)} until ${formatIsoSeconds(cert.notAfter)}`;
}

function formatHours(ms: number): string {
  return ms >= DAY_MS ? `${Math.floor(ms / DAY_MS)}d` : `${Math.max(0, Math.floor(ms / 3_600_000))}h`;
}
