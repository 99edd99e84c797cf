/**
 * Certificates of a kubeconfig file: every user's client certificate and every
 * cluster's CA, embedded (`client-certificate-data`,
 * `certificate-authority-data`) or referenced by path (`client-certificate`,
 * `certificate-authority`; relative paths are relative to the kubeconfig's
 * directory, as kubectl reads them). Keys (`client-key-data`) are never read.
 *
 * The same reader serves `--kubeconfig FILE` and the kubeconfigs found while
 * walking a directory (kubeadm's `/etc/kubernetes/*.conf`, RKE2's
 * `rke2.yaml` and `*.kubeconfig`, RKE's `kubecfg-*.yaml`).
 *
 * @see https://kubernetes.io/docs/concepts/configuration/organize-cluster-access-kubeconfig/
 */
import * as fs from 'fs';
import { promises as fsp } from 'fs';
import * as path from 'path';
import { extractCertificates } from '../extract';
import { emptyResult, mergeResults, SourceResult } from '../model';
import { ioReason, rootedPath } from './read-file';
import { yaml } from '../../yaml';

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

/** A `kind: Config` line: what makes a YAML file of any name a kubeconfig. */
const KIND_CONFIG = /^kind:[ \t]*["']?Config["']?[ \t]*\r?$/m;

/**
 * Whether a file met while walking a directory is read as a kubeconfig: by
 * name (`*.conf`, `*.kubeconfig`, `kubeconfig`, RKE's `kubecfg-*.yaml`) or by a
 * top-level `kind: Config` line.
 */
export function isKubeconfigCandidate(fileName: string, content: Buffer): boolean {
  if (/\.(conf|kubeconfig)$/.test(fileName) || fileName === 'kubeconfig' || /^kubecfg-.*\.ya?ml$/.test(fileName)) {
    return true;
  }
  return content.includes('Config') && KIND_CONFIG.test(content.toString('latin1', 0, Math.min(content.length, 1024 * 1024)));
}

/** Whether the text says `kind: Config`. */
export function declaresKubeconfig(text: string): boolean {
  return KIND_CONFIG.test(text);
}

/** Where a kubeconfig's content came from and how its rows are named. */
export interface KubeconfigOrigin {
  /** The kubeconfig's path, to read relative references from and to name in messages. */
  readonly file: string;
  /** The source of its rows (`kubeconfig:<file>`, or the walked directory's `file:<dir>`). */
  readonly source: string;
  /** Put before each row's name: `''` for `--kubeconfig`, `admin.conf:` for a file found in a directory. */
  readonly prefix: string;
  /**
   * The directory a node's tree was copied to (`--root`): absolute references
   * (`/etc/kubernetes/ssl/kube-ca.pem`) are read below it. @default the paths as written
   */
  readonly root?: string;
}

/** The text is not a kubeconfig: not YAML, or not a mapping. */
export class NotAKubeconfigError extends Error {}

/**
 * The certificates of kubeconfig text. Entries are named
 * `<prefix>users/<name>:client-certificate-data#N`,
 * `<prefix>clusters/<name>:certificate-authority-data#N` (or the file-reference
 * field). Embedded data and referenced files must hold a certificate: what
 * does not is invalid. A referenced file that cannot be read is an error.
 *
 * @throws NotAKubeconfigError when the text is not YAML or not a mapping
 */
export function extractKubeconfig(text: string, origin: KubeconfigOrigin): SourceResult {
  const { file, source, prefix } = origin;
  const result = emptyResult();
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (err) {
    // The parser's message quotes the offending line; keep only its first line (it could be key data).
    const why = (err as Error).message.split('\n')[0].replace(/:$/, '');
    throw new NotAKubeconfigError(`it is not valid YAML (${why})`);
  }
  if (!isRecord(doc) || (doc.clusters === undefined && doc.users === undefined && doc.kind !== 'Config')) {
    throw new NotAKubeconfigError('it is not a kubeconfig (expected a YAML mapping with clusters and users)');
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
        const name = `${prefix}${field.list}/${entryName}:${field.dataKey}`;
        mergeResults(
          result,
          extractCertificates(Buffer.from(data, 'base64'), { name, source, file: `${file} ${field.list}/${entryName}`, field: field.dataKey, expectCertificate: true }),
        );
      }
      const ref = body[field.fileKey];
      if (typeof ref === 'string' && ref.trim() !== '') {
        const name = `${prefix}${field.list}/${entryName}:${field.fileKey}`;
        const target = path.isAbsolute(ref) && origin.root ? rootedPath(origin.root, ref) : path.resolve(baseDir, ref);
        let content: Buffer;
        try {
          content = fs.readFileSync(target);
        } catch (err) {
          result.errors.push({ source, message: `cannot read ${target} (${field.list}/${entryName}:${field.fileKey} of ${file}): ${ioReason(err)}` });
          continue;
        }
        mergeResults(result, extractCertificates(content, { name, source, file: target, field: path.basename(target), expectCertificate: true }));
      }
    }
  }
  return result;
}

/**
 * Scans one kubeconfig file given with `--kubeconfig`. Entries are named
 * `users/<name>:client-certificate-data#N`, `clusters/<name>:certificate-authority-data#N`
 * (or the file-reference field). A file that cannot be read or is not a
 * kubeconfig is an error.
 */
export async function scanKubeconfig(file: string): Promise<SourceResult> {
  const source = `kubeconfig:${file}`;
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    return { ...emptyResult(), errors: [{ source, message: `cannot read kubeconfig ${file}: ${ioReason(err)}` }] };
  }
  try {
    return extractKubeconfig(text, { file, source, prefix: '' });
  } catch (err) {
    if (err instanceof NotAKubeconfigError) {
      return { ...emptyResult(), errors: [{ source, message: `cannot read kubeconfig ${file}: ${err.message}` }] };
    }
    throw err;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
