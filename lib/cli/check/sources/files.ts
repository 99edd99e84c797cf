/**
 * Certificates in files and directory trees.
 *
 * Directories are walked (recursively unless told otherwise) without following
 * symbolic links to directories; symbolic links to files are read. Every
 * regular file is looked at; those that hold no certificate (keys, kubeconfigs,
 * `dynamic-cert.json`) are reported as skipped.
 *
 * Files are read and parsed in batches: each batch synchronously (for small
 * files on a local disk, a blocking read costs a tenth of a promise-based
 * one), then the event loop gets a turn, so endpoints and API requests read at
 * the same time are not starved. Parsing is CPU-bound (OpenSSL 3.0 needs about
 * 0.2 ms to decode a certificate) and does not scale over worker threads,
 * whose OpenSSL calls contend for the same locks.
 */
import { promises as fsp, Dirent } from 'fs';
import * as path from 'path';
import { emptyResult, mergeResults, SourceError, SourceResult } from '../model';
import { FileJob, ioReason, rootedPath, scanFileSync } from './read-file';

export { ioReason, MAX_FILE_BYTES } from './read-file';

/** A file or directory to scan. */
export interface PathSpec {
  /** The path as the user gave it (or as a preset expanded it). */
  readonly path: string;
  /** Whether a directory's subdirectories are scanned. @default true */
  readonly recursive?: boolean;
  /**
   * Only the files of a directory whose base name matches are read; the others
   * are passed over without a note (kubeadm's `/etc/kubernetes/*.conf`, the
   * kubelet's `*-current.pem`). @default every file
   */
  readonly match?: RegExp;
  /**
   * Whether the path may be missing: a preset location a node need not have
   * (the kubelet's directory on a copy of `/etc/kubernetes`). A missing optional
   * path is noted as skipped; a missing path otherwise is an error. @default false
   */
  readonly optional?: boolean;
  /** The node tree's root (`--root`): kubeconfigs' absolute references are read below it. @default none */
  readonly root?: string;
}

/** Options of {@link scanPaths}. */
export interface ScanPathsOptions {
  /** Files read and parsed between two turns of the event loop. @default 64 */
  readonly batchSize?: number;
}

/**
 * Scans files and directories for certificates.
 *
 * Names are relative to the directory given (`etcd/server.crt#1`), or the base
 * name for a file given directly. A path that does not exist or cannot be read
 * is an error; a file given directly that holds no certificate is an error too,
 * since the user named it.
 */
export async function scanPaths(specs: readonly PathSpec[], options: ScanPathsOptions = {}): Promise<SourceResult> {
  const result = emptyResult();
  const jobs: FileJob[] = [];
  const direct = new Set<FileJob>();

  for (const spec of specs) {
    const source = `file:${spec.path}`;
    let stat;
    try {
      stat = await fsp.stat(spec.path);
    } catch (err) {
      if (spec.optional && (err as NodeJS.ErrnoException).code === 'ENOENT') {
        result.skipped.push({ name: spec.path, source, reason: 'not present (a location of the preset this node does not have)' });
      } else {
        result.errors.push({ source, message: `cannot read ${spec.path}: ${ioReason(err)}` });
      }
      continue;
    }
    if (stat.isDirectory()) {
      const walked = await walk(spec, source);
      for (const job of walked.jobs) jobs.push(job);
      mergeResults(result, { certificates: [], skipped: walked.skipped, errors: walked.errors, invalid: [] });
    } else if (stat.isFile()) {
      const job = { file: spec.path, name: path.basename(spec.path), source, root: spec.root };
      jobs.push(job);
      if (!spec.optional) direct.add(job);
    } else {
      result.errors.push({ source, message: `cannot read ${spec.path}: it is neither a regular file nor a directory` });
    }
  }

  const batchSize = Math.max(1, options.batchSize ?? 64);
  for (let i = 0; i < jobs.length; i++) {
    if (i > 0 && i % batchSize === 0) {
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const job = jobs[i];
    const found = scanFileSync(job);
    if (direct.has(job) && found.certificates.length === 0 && found.errors.length === 0 && found.invalid.length === 0) {
      // The user named this file: holding no certificate is a read error, not a skip.
      mergeResults(result, {
        certificates: [],
        skipped: [],
        errors: found.skipped.map((s) => ({ source: s.source, message: `${job.file}: ${s.reason}` })),
        invalid: [],
      });
    } else {
      mergeResults(result, found);
    }
  }
  return result;
}

interface WalkResult {
  jobs: FileJob[];
  skipped: SourceResult['skipped'];
  errors: SourceError[];
}

async function walk(spec: PathSpec, source: string): Promise<WalkResult> {
  const out: WalkResult = { jobs: [], skipped: [], errors: [] };
  const recursive = spec.recursive ?? true;
  const match = spec.match;
  const root = spec.root;
  const visit = async (dir: string, rel: string): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(dir, { withFileTypes: true });
    } catch (err) {
      out.errors.push({ source, message: `cannot read directory ${dir}: ${ioReason(err)}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirs: Array<[string, string]> = [];
    for (const entry of entries) {
      const file = path.join(dir, entry.name);
      const name = rel ? `${rel}/${entry.name}` : entry.name;
      if (match && !entry.isDirectory() && !match.test(entry.name)) {
        continue;
      }
      if (entry.isFile()) {
        out.jobs.push({ file, name, source, root });
      } else if (entry.isDirectory()) {
        if (recursive) {
          subdirs.push([file, name]);
        }
      } else if (entry.isSymbolicLink()) {
        // In a tree copied off a node (--root), an absolute link (the kubelet's kubelet-client-current.pem
        // links to /var/lib/kubelet/pki/kubelet-client-<time>.pem) points into the node, so below the root.
        const resolved = root ? rootedPath(root, path.relative(root, file)) : file;
        let target;
        try {
          target = await fsp.stat(resolved);
        } catch (err) {
          out.skipped.push({ name: file, source, reason: `not a certificate (broken symbolic link: ${ioReason(err)})` });
          continue;
        }
        if (target.isFile()) {
          out.jobs.push({ file: resolved, name, source, root });
        } else if (target.isDirectory()) {
          out.skipped.push({ name: file, source, reason: 'symbolic link to a directory, not followed' });
        } else {
          out.skipped.push({ name: file, source, reason: 'not a regular file' });
        }
      } else {
        out.skipped.push({ name: file, source, reason: 'not a regular file' });
      }
    }
    for (const [file, name] of subdirs) {
      await visit(file, name);
    }
  };
  await visit(spec.path, '');
  return out;
}
