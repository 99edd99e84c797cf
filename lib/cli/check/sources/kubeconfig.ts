/**
 * Certificates of a kubeconfig file: every user's client certificate and every
 * cluster's CA, embedded (`client-certificate-data`,
 * `certificate-authority-data`) or referenced by path (`client-certificate`,
 * `certificate-authority`; relative paths are relative to the kubeconfig's
 * directory, as kubectl reads them). Keys (`client-key-data`) are never read.
 */
import { promises as fsp } from 'fs';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { extractCertificates } from '../extract';
import { emptyResult, mergeResults, SourceResult } from '../model';
import { ioReason } from './files';

interface Field {
  /** `users` or `clusters`. */
  readonly list: 'users' | 'clusters';
  /** `user` or `cluster`: the key of the entry's body. */
  readonly body: 'user' | 'cluster';
  readonly dataKey: string;
  readonly fileKey: string;
}

const FIELDS: readonly Field[] = [
  { list: 'users', body: 'user', dataKey: 'client-certificate-data', fileKey: 'client-certificate' },
  { list: 'clusters', body: 'cluster', dataKey: 'certificate-authority-data', fileKey: 'certificate-authority' },
];

/**
 * Scans one kubeconfig file. Entries are named `users/<name>:client-certificate-data#N`,
 * `clusters/<name>:certificate-authority-data#N` (or the file-reference field).
 */
export async function scanKubeconfig(file: string): Promise<SourceResult> {
  const source = `kubeconfig:${file}`;
  const result = emptyResult();
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    result.errors.push({ source, message: `cannot read kubeconfig ${file}: ${ioReason(err)}` });
    return result;
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    // The parser's message quotes the offending line; keep only its first line (it could be key data).
    const why = (err as Error).message.split('\n')[0].replace(/:$/, '');
    result.errors.push({ source, message: `cannot read kubeconfig ${file}: it is not valid YAML (${why})` });
    return result;
  }
  if (!isRecord(doc)) {
    result.errors.push({ source, message: `cannot read kubeconfig ${file}: it is not a kubeconfig (expected a YAML mapping with clusters and users)` });
    return result;
  }
  const baseDir = path.dirname(file);
  for (const field of FIELDS) {
    const entries = doc[field.list];
    if (entries === undefined || entries === null) {
      continue;
    }
    if (!Array.isArray(entries)) {
      result.errors.push({ source, message: `${file}: '${field.list}' must be a list` });
      continue;
    }
    for (const [index, entry] of entries.entries()) {
      if (!isRecord(entry)) {
        continue;
      }
      const entryName = typeof entry.name === 'string' ? entry.name : `#${index + 1}`;
      const body = entry[field.body];
      if (!isRecord(body)) {
        continue;
      }
      const data = body[field.dataKey];
      if (typeof data === 'string' && data.trim() !== '') {
        const name = `${field.list}/${entryName}:${field.dataKey}`;
        mergeResults(result, extractCertificates(Buffer.from(data, 'base64'), { name, source, file: `${file} ${name}`, field: field.dataKey }));
      }
      const ref = body[field.fileKey];
      if (typeof ref === 'string' && ref.trim() !== '') {
        const name = `${field.list}/${entryName}:${field.fileKey}`;
        const target = path.resolve(baseDir, ref);
        let content: Buffer;
        try {
          content = await fsp.readFile(target);
        } catch (err) {
          result.errors.push({ source, message: `cannot read ${target} (${name} of ${file}): ${ioReason(err)}` });
          continue;
        }
        mergeResults(result, extractCertificates(content, { name, source, file: target, field: path.basename(target) }));
      }
    }
  }
  return result;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
