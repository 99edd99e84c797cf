/**
 * A small Kubernetes API client: JSON requests over HTTPS (or HTTP) — GET and
 * list pages for `check`, PATCH for the steps Terraform runs — for a context of a kubeconfig
 * ({@link selectContext}). No dependencies beyond Node.
 *
 * Authentication, as kubectl: client certificate and key (files or data),
 * bearer token (`token`, or `tokenFile` read again for every request, as
 * service account tokens rotate), basic (`username`/`password`), and `exec`
 * credential plugins (client.authentication.k8s.io/v1 and v1beta1; the
 * credential is kept until its expirationTimestamp, and fetched again once
 * when the API server answers 401). `auth-provider` is not supported.
 *
 * TLS: the cluster's `certificate-authority[-data]` (else the system's CAs),
 * `insecure-skip-tls-verify`, `tls-server-name`. A server URL may carry a path
 * prefix (e.g. Rancher's /k8s/clusters/c-xxxxx).
 *
 * Nothing here logs or puts key material, tokens or a plugin's output in an error.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import type * as http from 'http';
import type * as https from 'https';
import { ioReason } from '../check/sources/read-file';
import type { ExecConfig, KubeCluster, KubeContext, KubeUser } from './kubeconfig';

/** The API server answered with an HTTP error status. */
export class KubeApiError extends Error {
  /** The HTTP status. */
  readonly statusCode: number;
  /** The answer: a Kubernetes Status object when it is JSON, else its text. */
  readonly body: unknown;

  constructor(statusCode: number, body: unknown) {
    const status = body as { message?: unknown; reason?: unknown } | string | undefined;
    const detail = typeof status === 'object' && status ? status.message ?? status.reason : typeof status === 'string' ? status.trim().slice(0, 200) : undefined;
    super(`the API server answered HTTP ${statusCode}${detail ? `: ${String(detail)}` : ''}`);
    this.name = 'KubeApiError';
    this.statusCode = statusCode;
    this.body = body;
  }
}

/** Options of {@link KubeClient}. */
export interface KubeClientOptions {
  /** Timeout of each request (connection and answer), in milliseconds. @default 30000 */
  readonly timeoutMs?: number;
  /** How long an exec credential plugin may run, in milliseconds. @default 60000 */
  readonly execTimeoutMs?: number;
}

/** Query parameters of a request; undefined values are left out. */
export type Query = Readonly<Record<string, string | number | undefined>>;

/** One page of a list request. */
export interface ListPageRequest {
  readonly fieldSelector?: string;
  readonly labelSelector?: string;
  readonly limit?: number;
  /** The `continue` token of the previous page. */
  readonly continueToken?: string;
}

/** One page of a list. */
export interface ListPage<T> {
  readonly items: T[];
  /** Set when more pages follow. */
  readonly continueToken?: string;
}

/** A request body and its content type. */
interface Payload {
  readonly body: string;
  readonly contentType: string;
}

/** What a request authenticates with. */
interface Credential {
  readonly authorization?: string;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  /** Epoch milliseconds after which an exec credential is fetched again. */
  readonly expiresAt?: number;
}

/** A client for one context. */
export class KubeClient {
  /** The context's name. */
  readonly context: string;
  private readonly base: URL;
  private readonly ca?: Buffer;
  private readonly staticCredential: Credential;
  private readonly timeoutMs: number;
  private readonly execTimeoutMs: number;
  private execCredential?: Promise<Credential>;
  private agent?: { credential: Credential; agent: http.Agent };

  /**
   * Reads the files the context names (CA, client certificate and key).
   *
   * @throws Error naming the file, the user and the kubeconfig entry when a file cannot be read, or when the user uses an auth-provider
   */
  constructor(private readonly kube: KubeContext, options: KubeClientOptions = {}) {
    this.context = kube.name;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.execTimeoutMs = options.execTimeoutMs ?? 60_000;
    const { cluster, user } = kube;
    try {
      this.base = new URL(cluster.server);
    } catch {
      throw new Error(`cluster of context '${kube.name}': server '${cluster.server}' is not a URL`);
    }
    if (this.base.protocol !== 'https:' && this.base.protocol !== 'http:') {
      throw new Error(`cluster of context '${kube.name}': server '${cluster.server}' is not an http(s) URL`);
    }
    if (user.authProvider !== undefined) {
      throw new Error(
        `user '${kube.userName}' in ${kube.userFile} authenticates with auth-provider '${user.authProvider}', which cert-rotation does not support; ` +
          'use a context with a client certificate, a token or an exec credential plugin (e.g. kubelogin for OIDC)',
      );
    }
    this.ca = this.material(cluster.certificateAuthority, cluster.certificateAuthorityData, 'certificate-authority');
    this.staticCredential = {
      cert: this.material(user.clientCertificate, user.clientCertificateData, 'client-certificate'),
      key: this.material(user.clientKey, user.clientKeyData, 'client-key'),
    };
    if (!this.staticCredential.cert !== !this.staticCredential.key) {
      throw new Error(`user '${kube.userName}' in ${kube.userFile} has a client ${this.staticCredential.cert ? 'certificate but no key' : 'key but no certificate'}`);
    }
  }

  /** GET `apiPath` (below the server URL's path) and parse the JSON answer. */
  async get<T = unknown>(apiPath: string, query: Query = {}): Promise<T> {
    return this.request<T>('GET', apiPath, query);
  }

  /**
   * PATCH `apiPath` with a JSON body of the given patch type
   * (`application/apply-patch+yaml` for server-side apply, which takes JSON,
   * `application/strategic-merge-patch+json`, `application/merge-patch+json`).
   */
  async patch<T = unknown>(apiPath: string, body: unknown, contentType: string, query: Query = {}): Promise<T> {
    return this.request<T>('PATCH', apiPath, query, { body: JSON.stringify(body), contentType });
  }

  private async request<T>(method: string, apiPath: string, query: Query, payload?: Payload): Promise<T> {
    let credential = await this.credential();
    try {
      return (await this.send(method, apiPath, query, credential, payload)) as T;
    } catch (err) {
      // As client-go: an exec credential the server refuses is fetched again, once.
      if (err instanceof KubeApiError && err.statusCode === 401 && this.kube.user.exec) {
        this.execCredential = undefined;
        credential = await this.credential();
        return (await this.send(method, apiPath, query, credential, payload)) as T;
      }
      throw err;
    }
  }

  /** One page of a list (`limit` + `continue`). */
  async listPage<T = unknown>(apiPath: string, page: ListPageRequest = {}): Promise<ListPage<T>> {
    const body = await this.get<{ items?: T[]; metadata?: { continue?: string } }>(apiPath, {
      fieldSelector: page.fieldSelector,
      labelSelector: page.labelSelector,
      limit: page.limit,
      continue: page.continueToken,
    });
    return { items: body?.items ?? [], continueToken: body?.metadata?.continue || undefined };
  }

  /** A file's content, else base64 data, else undefined. */
  private material(file: string | undefined, data: string | undefined, field: string): Buffer | undefined {
    if (file !== undefined) {
      try {
        return fs.readFileSync(file);
      } catch (err) {
        const owner = field === 'certificate-authority' ? `cluster of context '${this.kube.name}'` : `user '${this.kube.userName}' in ${this.kube.userFile}`;
        throw new Error(`cannot read ${field} ${file} (${owner}): ${ioReason(err)}`);
      }
    }
    return data !== undefined ? Buffer.from(data, 'base64') : undefined;
  }

  private async credential(): Promise<Credential> {
    const user = this.kube.user;
    if (user.exec) {
      const cached = this.execCredential && (await this.execCredential.catch(() => undefined));
      if (!cached || (cached.expiresAt !== undefined && cached.expiresAt <= Date.now())) {
        this.execCredential = runExecPlugin(user.exec, this.kube, this.execTimeoutMs);
      }
      const fromPlugin = await this.execCredential!;
      // A plugin that answers with a token keeps the kubeconfig's client certificate.
      return fromPlugin.cert ? fromPlugin : { ...this.staticCredential, authorization: fromPlugin.authorization };
    }
    return { ...this.staticCredential, authorization: this.authorization(user) };
  }

  private authorization(user: KubeUser): string | undefined {
    if (user.token !== undefined) return `Bearer ${user.token}`;
    if (user.tokenFile !== undefined) {
      let token: string;
      try {
        token = fs.readFileSync(user.tokenFile, 'utf8').trim();
      } catch (err) {
        throw new Error(`cannot read tokenFile ${user.tokenFile} (user '${this.kube.userName}' in ${this.kube.userFile}): ${ioReason(err)}`);
      }
      return `Bearer ${token}`;
    }
    if (user.username !== undefined || user.password !== undefined) {
      return `Basic ${Buffer.from(`${user.username ?? ''}:${user.password ?? ''}`).toString('base64')}`;
    }
    return undefined;
  }

  /** A keep-alive agent for the credential's TLS identity (a new one when an exec plugin hands out another certificate). */
  private agentFor(credential: Credential): http.Agent {
    if (this.agent && this.agent.credential.cert === credential.cert && this.agent.credential.key === credential.key) {
      return this.agent.agent;
    }
    this.agent?.agent.destroy();
    const cluster: KubeCluster = this.kube.cluster;
    const agent =
      this.base.protocol === 'http:'
        ? new (httpModule().Agent)({ keepAlive: true })
        : new (httpsModule().Agent)({
            keepAlive: true,
            ca: this.ca,
            cert: credential.cert,
            key: credential.key,
            rejectUnauthorized: !cluster.insecureSkipTlsVerify,
            ...(cluster.tlsServerName ? { servername: cluster.tlsServerName } : {}),
          });
    this.agent = { credential, agent };
    return agent;
  }

  private send(method: string, apiPath: string, query: Query, credential: Credential, payload?: Payload): Promise<unknown> {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) {
      if (v !== undefined && v !== '') params.set(k, String(v));
    }
    const prefix = this.base.pathname.replace(/\/+$/, '');
    const search = params.toString();
    const requestPath = `${prefix}${apiPath.startsWith('/') ? '' : '/'}${apiPath}${search ? `?${search}` : ''}`;
    const module = this.base.protocol === 'http:' ? httpModule() : httpsModule();
    const timeoutMs = this.timeoutMs;
    const server = this.base.origin;
    return new Promise((resolve, reject) => {
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      const req = module.request(
        {
          method,
          hostname: this.base.hostname.replace(/^\[(.*)\]$/, '$1'),
          port: this.base.port || undefined,
          path: requestPath,
          agent: this.agentFor(credential),
          headers: {
            Accept: 'application/json',
            'User-Agent': 'cert-rotation',
            ...(credential.authorization ? { Authorization: credential.authorization } : {}),
            ...(payload ? { 'Content-Type': payload.contentType, 'Content-Length': Buffer.byteLength(payload.body) } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', fail);
          res.on('end', () => {
            clearTimeout(timer);
            const status = res.statusCode ?? 0;
            const text = Buffer.concat(chunks).toString('utf8');
            let body: unknown;
            try {
              body = JSON.parse(text);
            } catch {
              if (status < 200 || status >= 300) {
                reject(new KubeApiError(status, text));
              } else {
                reject(new Error(`the API server at ${server} answered HTTP ${status} with a body that is not JSON (${res.headers['content-type'] ?? 'no content type'})`));
              }
              return;
            }
            if (status < 200 || status >= 300) reject(new KubeApiError(status, body));
            else resolve(body);
          });
        },
      );
      const timer = setTimeout(() => {
        req.destroy(Object.assign(new Error(`the API server at ${server} did not answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
      }, timeoutMs);
      req.on('error', fail);
      req.end(payload?.body);
    });
  }
}

const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

/**
 * Runs an exec credential plugin as kubectl does (KUBERNETES_EXEC_INFO, the
 * configured args and env, stdin closed) and reads its ExecCredential.
 */
function runExecPlugin(exec: ExecConfig, kube: KubeContext, timeoutMs: number): Promise<Credential> {
  const who = `exec plugin '${exec.command}' of user '${kube.userName}' in ${kube.userFile}`;
  if (!EXEC_API_VERSIONS.includes(exec.apiVersion)) {
    return Promise.reject(new Error(`${who}: apiVersion '${exec.apiVersion}' is not supported; use one of: ${EXEC_API_VERSIONS.join(', ')}`));
  }
  if (exec.interactiveMode === 'Always') {
    return Promise.reject(new Error(`${who}: interactiveMode Always needs a terminal, and cert-rotation runs plugins without one`));
  }
  const cluster = kube.cluster;
  const info = {
    apiVersion: exec.apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo
        ? {
            cluster: {
              server: cluster.server,
              'tls-server-name': cluster.tlsServerName,
              'insecure-skip-tls-verify': cluster.insecureSkipTlsVerify,
              'certificate-authority-data': cluster.certificateAuthority ? fs.readFileSync(cluster.certificateAuthority).toString('base64') : cluster.certificateAuthorityData,
            },
          }
        : {}),
    },
  };
  const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
  for (const { name, value } of exec.env) env[name] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(exec.command, [...exec.args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    // Not spawn's own timeout option: its timer outlives a command that cannot start (ENOENT).
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => (stderr = (stderr + c.toString('utf8')).slice(-2000)));
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const hint = exec.installHint ? `; ${exec.installHint.trim()}` : '';
      reject(new Error(err.code === 'ENOENT' ? `${who} was not found${hint}` : `${who} could not run: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        // stderr is the plugin's message to the user; its stdout (the credential) is never quoted.
        const last = stderr.trim().split('\n').slice(-3).join(' ').slice(0, 300);
        const how = timedOut ? `did not finish within ${timeoutMs} ms` : signal ? `was killed (${signal})` : `failed (exit ${code})`;
        reject(new Error(`${who} ${how}${last ? `: ${last}` : ''}`));
        return;
      }
      try {
        resolve(readExecCredential(Buffer.concat(out).toString('utf8'), exec.apiVersion));
      } catch (err) {
        reject(new Error(`${who}: ${(err as Error).message}`));
      }
    });
  });
}

function readExecCredential(stdout: string, apiVersion: string): Credential {
  let doc: { apiVersion?: unknown; kind?: unknown; status?: Record<string, unknown> };
  try {
    doc = JSON.parse(stdout);
  } catch {
    throw new Error('it printed no ExecCredential (its output is not JSON)');
  }
  if (doc?.kind !== 'ExecCredential') {
    throw new Error('it printed no ExecCredential (kind is not ExecCredential)');
  }
  if (doc.apiVersion !== apiVersion) {
    throw new Error(`it printed an ExecCredential of apiVersion '${String(doc.apiVersion)}', the kubeconfig asks for ${apiVersion}`);
  }
  const status = doc.status ?? {};
  const token = typeof status.token === 'string' && status.token !== '' ? status.token : undefined;
  const cert = typeof status.clientCertificateData === 'string' && status.clientCertificateData !== '' ? status.clientCertificateData : undefined;
  const key = typeof status.clientKeyData === 'string' && status.clientKeyData !== '' ? status.clientKeyData : undefined;
  if (!cert !== !key) {
    throw new Error('its ExecCredential has only one of status.clientCertificateData and status.clientKeyData');
  }
  if (!token && !cert) {
    throw new Error('its ExecCredential has neither status.token nor status.clientCertificateData and clientKeyData');
  }
  const expires = typeof status.expirationTimestamp === 'string' ? Date.parse(status.expirationTimestamp) : NaN;
  return {
    authorization: token ? `Bearer ${token}` : undefined,
    cert: cert ? Buffer.from(cert) : undefined,
    key: key ? Buffer.from(key) : undefined,
    expiresAt: Number.isNaN(expires) ? undefined : expires,
  };
}

/** http, required on the first request: `check` of files, `explain` and `pki` never need it. */
function httpModule(): typeof http {
  return require('http') as typeof http;
}

/** https (and tls with it), required on the first request. */
function httpsModule(): typeof https {
  return require('https') as typeof https;
}
