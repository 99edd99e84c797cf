/**
 * Reads one file and extracts its certificates.
 */
import * as fs from 'fs';
import * as path from 'path';
import { extractCertificates } from '../extract';
import type { SourceResult } from '../model';

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
}

/**
 * Reads and extracts one file, blocking: small files on a local disk read ten
 * times faster this way than through promises. The size is checked on the open
 * descriptor before reading, so a large file is never loaded.
 */
export function scanFileSync(job: FileJob): SourceResult {
  let content: Buffer;
  try {
    const fd = fs.openSync(job.file, 'r');
    try {
      if (fs.fstatSync(fd).size > MAX_FILE_BYTES) {
        return tooLarge(job);
      }
      content = fs.readFileSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    return readError(job, err);
  }
  return extract(job, content);
}

function extract(job: FileJob, content: Buffer): SourceResult {
  return extractCertificates(content, { name: job.name, source: job.source, file: job.file, field: path.basename(job.file) });
}

function tooLarge(job: FileJob): SourceResult {
  return {
    certificates: [],
    skipped: [{ name: job.file, source: job.source, reason: `not a certificate (larger than ${MAX_FILE_BYTES / 1024 / 1024} MiB)` }],
    errors: [],
  };
}

function readError(job: FileJob, err: unknown): SourceResult {
  return { certificates: [], skipped: [], errors: [{ source: job.source, message: `cannot read ${job.file}: ${ioReason(err)}` }] };
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
