/**
 * Reads one file and extracts its certificates (or, for a kubeconfig, those it embeds and references).
 */
import * as fs from 'fs';
import * as path from 'path';
import { extractCertificates } from '../extract';
import { emptyResult, SourceResult } from '../model';
import { declaresKubeconfig, extractKubeconfig, isKubeconfigCandidate, NotAKubeconfigError } from './kubeconfig';

/** Files larger than this are skipped: certificate files and bundles are far smaller. */
export const MAX_FILE_BYTES = 8 * 1024 * 1024;

/** One file to read. */
export interface FileJob {
  /** Path to open. */
  readonly file: string;
  /** Report name: the path relative to the scanned directory, `/`-separated; the base name for a single file. */
  readonly name: string;
  /** The source, `file:<path as given>`. */
  readonly source: string;
  /** The node tree's root (`--root`), below which a kubeconfig's absolute references are read. */
  readonly root?: string;
}

/**
 * Reads and extracts one file, blocking: small files on a local disk read ten
 * times faster this way than through promises.
 *
 * Kubeconfigs (see isKubeconfigCandidate) are read as kubeconfigs, their rows
 * named `<file name>:users/<user>:client-certificate-data#1`. Other files are
 * read as certificates; a file named like a certificate (`.crt`, `.cer`,
 * `.der`, or `.pem` without `key` in its name) must hold one, else it is invalid.
 */
export function scanFileSync(job: FileJob): SourceResult {
  let content: Buffer | undefined;
  try {
    content = readUpTo(job.file, MAX_FILE_BYTES);
  } catch (err) {
    return readError(job, err);
  }
  if (content === undefined) {
    return tooLarge(job);
  }
  const base = path.basename(job.name);
  if (isKubeconfigCandidate(base, content)) {
    const text = content.toString('utf8');
    try {
      const found = extractKubeconfig(text, { file: job.file, source: job.source, prefix: `${job.name}:`, root: job.root });
      if (found.certificates.length + found.invalid.length + found.errors.length === 0) {
        return { ...emptyResult(), skipped: [{ name: job.file, source: job.source, reason: 'not a certificate (kubeconfig without client certificates or cluster CAs)' }] };
      }
      return found;
    } catch (err) {
      if (!(err instanceof NotAKubeconfigError)) throw err;
      if (declaresKubeconfig(text)) {
        return {
          ...emptyResult(),
          invalid: [{ name: job.name, source: job.source, file: job.file, message: `${job.file} says kind: Config but cannot be read as a kubeconfig: ${err.message}. Fix: restore it from a backup or write it again (e.g. kubeadm init phase kubeconfig).` }],
        };
      }
      // A .conf that is not YAML (an ini file, say): looked at as a certificate file below.
    }
  }
  return extractCertificates(content, { name: job.name, source: job.source, file: job.file, field: path.basename(job.file), expectCertificate: namedLikeCertificate(base) });
}

/**
 * An absolute path of a node, below `root` (a tree copied off the node),
 * following symbolic links whose targets are absolute (the kubelet's
 * `kubelet-client-current.pem`) below `root` too. A path that already lies
 * below `root` (a tree kept where it is, whose files name their own place) is
 * taken as it is.
 */
export function rootedPath(root: string, nodePath: string): string {
  const below = (q: string) => (q === root || q.startsWith(root.endsWith(path.sep) ? root : root + path.sep) ? q : path.join(root, q));
  let p = below(nodePath);
  for (let hops = 0; hops < 8; hops++) {
    let link: string;
    try {
      link = fs.readlinkSync(p);
    } catch {
      return p; // not a link (or missing: the caller's read says so)
    }
    p = path.isAbsolute(link) ? below(link) : path.resolve(path.dirname(p), link);
  }
  return p;
}

/** `.crt`, `.cer`, `.der`, and `.pem` unless the name says key (`kube-ca-key.pem`). */
export function namedLikeCertificate(base: string): boolean {
  return /\.(crt|cer|der)$/i.test(base) || (/\.pem$/i.test(base) && !/key/i.test(base));
}

const CHUNK = 64 * 1024;
const scratch = Buffer.allocUnsafe(CHUNK);

/**
 * The file's bytes, or undefined when it holds more than `limit` bytes. One
 * read for files under 64 KiB and no stat: a short read of a regular file is its end.
 */
function readUpTo(file: string, limit: number): Buffer | undefined {
  const fd = fs.openSync(file, 'r');
  try {
    let n = fs.readSync(fd, scratch, 0, CHUNK, null);
    if (n < CHUNK) {
      return Buffer.from(scratch.subarray(0, n));
    }
    const parts = [Buffer.from(scratch)];
    let total = n;
    for (;;) {
      const more = Buffer.allocUnsafe(CHUNK);
      n = fs.readSync(fd, more, 0, CHUNK, null);
      if (n === 0) break;
      parts.push(more.subarray(0, n));
      total += n;
      if (total > limit) return undefined;
    }
    return Buffer.concat(parts, total);
  } finally {
    fs.closeSync(fd);
  }
}

function tooLarge(job: FileJob): SourceResult {
  return {
    ...emptyResult(),
    skipped: [{ name: job.file, source: job.source, reason: `not a certificate (larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB)` }],
  };
}

function readError(job: FileJob, err: unknown): SourceResult {
  return { ...emptyResult(), errors: [{ source: job.source, message: `cannot read ${job.file}: ${ioReason(err)}` }] };
}

/** `no such file or directory (ENOENT)` from a Node fs error. */
export function ioReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e.code === 'string') {
    const text = e.message.replace(/^[A-Z]+: /, '').replace(/, \w+ '.*'$/, '');
    return `${text} (${e.code})`;
  }
  return err instanceof Error ? err.message : String(err);
}
