/**
 * Certificates held in Kubernetes secrets:
 *
 * - every `kubernetes.io/tls` secret: `tls.crt` (server certificate and its
 *   intermediates) and `ca.crt` when present (e.g. `cattle-system/tls-rancher-ingress`),
 * - every secret named `tls-ca`: `cacerts.pem` (Rancher's private CA bundle),
 * - every secret named `rke2-serving`: `tls.crt` (RKE2's dynamic serving certificate), whatever its type.
 *
 * Secrets are listed with field selectors and in pages (`limit` + `continue`),
 * so clusters with thousands of secrets are read in a few requests and only
 * the matching secrets are transferred. Key material (`tls.key`) is never decoded.
 */
import { KubeApiError, KubeClient } from '../../kube/client';
import { loadKubeconfig, selectContext } from '../../kube/kubeconfig';
import { extractCertificates } from '../extract';
import { emptyResult, mergeResults, SourceResult } from '../model';

/** The part of a Secret this source reads. */
export interface SecretLike {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly type?: string;
  /** Base64-encoded values, as the API returns them. */
  readonly data?: { readonly [key: string]: string };
}

/** One list request: a namespace (or all), a field selector and a page. */
export interface SecretListRequest {
  /** Undefined for all namespaces. */
  readonly namespace?: string;
  readonly fieldSelector: string;
  readonly limit: number;
  /** The `continue` token of the previous page. */
  readonly continueToken?: string;
}

/** One page of secrets. */
export interface SecretPage {
  readonly items: readonly SecretLike[];
  /** Set when more pages follow. */
  readonly continueToken?: string;
}

/** Lists secrets. {@link kubernetesSecretLister} talks to a cluster; tests pass a fake. */
export interface SecretLister {
  /** The kubeconfig context, for the source name `secrets:<context>`. */
  readonly context: string;
  list(request: SecretListRequest): Promise<SecretPage>;
}

/** Options of {@link scanSecrets}. */
export interface ScanSecretsOptions {
  /** Only this namespace. @default all namespaces */
  readonly namespace?: string;
  /** Secrets per list request. @default 500 */
  readonly pageSize?: number;
}

const QUERIES: readonly string[] = ['type=kubernetes.io/tls', 'metadata.name=tls-ca', 'metadata.name=rke2-serving'];

/**
 * Reads the certificates of the TLS, `tls-ca` and `rke2-serving` secrets.
 * Entries are named `<namespace>/<name>:<key>#N`. A failed request is an
 * error of the source; what was read before it is kept.
 */
export async function scanSecrets(lister: SecretLister, options: ScanSecretsOptions = {}): Promise<SourceResult> {
  const source = `secrets:${lister.context}`;
  const result = emptyResult();
  const secrets = new Map<string, SecretLike>();
  for (const fieldSelector of QUERIES) {
    let continueToken: string | undefined;
    do {
      let page: SecretPage;
      try {
        page = await lister.list({ namespace: options.namespace, fieldSelector, limit: options.pageSize ?? 500, continueToken });
      } catch (err) {
        const where = options.namespace ? `in namespace ${options.namespace}` : 'in all namespaces';
        result.errors.push({ source, message: `cannot list secrets (${fieldSelector}) ${where} with context ${lister.context}: ${describeKubeError(err)}` });
        return finish(secrets, source, result);
      }
      for (const secret of page.items) {
        const id = `${secret.metadata?.namespace ?? ''}/${secret.metadata?.name ?? ''}`;
        secrets.set(id, secret);
      }
      continueToken = page.continueToken || undefined;
    } while (continueToken);
  }
  return finish(secrets, source, result);
}

function finish(secrets: Map<string, SecretLike>, source: string, result: SourceResult): SourceResult {
  const ids = [...secrets.keys()].sort();
  for (const id of ids) {
    const secret = secrets.get(id)!;
    const data = secret.data ?? {};
    const name = secret.metadata?.name ?? '';
    const required = name === 'tls-ca' && secret.type !== 'kubernetes.io/tls' ? ['cacerts.pem'] : ['tls.crt'];
    const optional = name === 'tls-ca' && secret.type !== 'kubernetes.io/tls' ? [] : ['ca.crt'];
    for (const key of [...required, ...optional]) {
      const value = data[key];
      const itemName = `${id}:${key}`;
      if (value === undefined || value === '') {
        if (required.includes(key)) {
          result.skipped.push({ name: itemName, source, reason: value === undefined ? `not a certificate (no ${key} key)` : 'not a certificate (empty)' });
        }
        continue;
      }
      mergeResults(result, extractCertificates(Buffer.from(value, 'base64'), { name: itemName, source, file: `secret ${id}`, field: key }));
    }
  }
  return result;
}

/** A one-line reason from a client error: the HTTP status and the API's message, or the network error. */
export function describeKubeError(err: unknown): string {
  if (err instanceof KubeApiError) {
    return err.message;
  }
  const e = err as { code?: string; message?: string };
  if (e?.code && e.message) {
    return e.message.replace(/^Error: /, '');
  }
  return err instanceof Error ? err.message : String(err);
}

/** Options of {@link kubernetesSecretLister}. */
export interface KubernetesSecretListerOptions {
  /** The kubeconfig file. @default $KUBECONFIG, then ~/.kube/config, then the in-cluster service account */
  readonly kubeconfig?: string;
  /** The context. @default the kubeconfig's current context */
  readonly context?: string;
  /** Timeout of each request, in milliseconds. @default 30000 */
  readonly timeoutMs?: number;
}

/**
 * A lister that talks to the cluster of a kubeconfig context through {@link KubeClient}.
 *
 * @throws Error naming the kubeconfig or context when they cannot be loaded
 */
export async function kubernetesSecretLister(options: KubernetesSecretListerOptions = {}): Promise<SecretLister> {
  const config = loadKubeconfig({ file: options.kubeconfig });
  const client = new KubeClient(selectContext(config, options.context), { timeoutMs: options.timeoutMs });
  return {
    context: client.context,
    list(req: SecretListRequest): Promise<SecretPage> {
      const apiPath = req.namespace ? `/api/v1/namespaces/${encodeURIComponent(req.namespace)}/secrets` : '/api/v1/secrets';
      return client.listPage<SecretLike>(apiPath, { fieldSelector: req.fieldSelector, limit: req.limit, continueToken: req.continueToken });
    },
  };
}
