/**
 * Kubeconfig loading the way kubectl does it:
 *
 * 1. an explicit file (it must exist), else
 * 2. `$KUBECONFIG`, a list of files separated by `:` (`;` on Windows); files
 *    that do not exist are passed over, the others merged with kubectl's rules:
 *    the first file to define a cluster, user or context of a name wins (the
 *    whole entry), and the first non-empty `current-context` wins, else
 * 3. `~/.kube/config`, else
 * 4. the pod's service account (`KUBERNETES_SERVICE_HOST`/`_PORT` and
 *    /var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt}), also
 *    when 2. or 3. yield an empty configuration.
 *
 * Relative paths (`certificate-authority`, `client-certificate`, `client-key`,
 * `tokenFile`, and an exec `command` that contains a `/`) are relative to the
 * directory of the file that defines them. Only paths are read here: key and
 * token files are read by the client when it connects.
 */
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { ioReason } from '../check/sources/read-file';
import { yaml } from '../yaml';

/** A cluster entry. */
export interface KubeCluster {
  readonly server: string;
  /** Absolute path of a PEM CA bundle. */
  readonly certificateAuthority?: string;
  /** Base64 of a PEM CA bundle. */
  readonly certificateAuthorityData?: string;
  readonly insecureSkipTlsVerify: boolean;
  /** The name to send (SNI) and to verify the server certificate against, instead of the server's host. */
  readonly tlsServerName?: string;
}

/** An `exec` credential plugin (client.authentication.k8s.io ExecConfig). */
export interface ExecConfig {
  readonly apiVersion: string;
  /** A command on PATH, or an absolute path. */
  readonly command: string;
  readonly args: readonly string[];
  readonly env: ReadonlyArray<{ readonly name: string; readonly value: string }>;
  readonly provideClusterInfo: boolean;
  /** `Never`, `IfAvailable` or `Always`. */
  readonly interactiveMode?: string;
  readonly installHint?: string;
}

/** A user entry: how to authenticate. Paths are absolute. */
export interface KubeUser {
  readonly clientCertificate?: string;
  readonly clientCertificateData?: string;
  readonly clientKey?: string;
  readonly clientKeyData?: string;
  readonly token?: string;
  readonly tokenFile?: string;
  readonly username?: string;
  readonly password?: string;
  readonly exec?: ExecConfig;
  /** The name of an `auth-provider` (gcp, azure, oidc): not supported. */
  readonly authProvider?: string;
}

/** A context entry: names of a cluster and a user. */
export interface KubeContextRef {
  readonly cluster?: string;
  readonly user?: string;
}

/** An entry and the file that defined it. */
export interface Defined<T> {
  readonly value: T;
  readonly file: string;
}

/** A loaded, merged kubeconfig. */
export interface Kubeconfig {
  /** For messages: `kubeconfig FILE`, or `the default kubeconfig`. */
  readonly description: string;
  readonly clusters: ReadonlyMap<string, Defined<KubeCluster>>;
  readonly users: ReadonlyMap<string, Defined<KubeUser>>;
  readonly contexts: ReadonlyMap<string, Defined<KubeContextRef>>;
  readonly currentContext?: string;
}

/** What a client needs: the context's cluster and user. */
export interface KubeContext {
  /** The context's name. */
  readonly name: string;
  readonly cluster: KubeCluster;
  /** The user's name; undefined for a context without a user (anonymous requests). */
  readonly userName?: string;
  readonly user: KubeUser;
  /** The file that defines the user (or the cluster, for an anonymous context). */
  readonly userFile: string;
}

/** Where to look; the defaults are the process's environment and the real service account directory. */
export interface LoadKubeconfigOptions {
  /** An explicit kubeconfig file. @default $KUBECONFIG, ~/.kube/config, then the service account */
  readonly file?: string;
  /** @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** @default /var/run/secrets/kubernetes.io/serviceaccount */
  readonly serviceAccountDir?: string;
}

export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

/** The names client-node gave the in-cluster configuration (the context's name is the source name `secrets:inClusterContext`). */
const IN_CLUSTER = { cluster: 'inCluster', user: 'inClusterUser', context: 'inClusterContext' };

/**
 * Loads a kubeconfig as kubectl does (see the module comment).
 *
 * @throws Error `cannot load kubeconfig FILE: …` or `cannot load the default kubeconfig: …`
 */
export function loadKubeconfig(options: LoadKubeconfigOptions = {}): Kubeconfig {
  const env = options.env ?? process.env;
  const description = options.file !== undefined ? `kubeconfig ${options.file}` : 'the default kubeconfig';
  const fail = (reason: string): never => {
    throw new Error(`cannot load ${description}: ${reason}`);
  };
  if (options.file !== undefined) {
    const text = readText(options.file, fail) ?? fail('the file does not exist');
    return merge(description, [parseFile(options.file, text, fail)]);
  }
  const inCluster = () => inClusterConfig(description, env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
  let files: string[];
  if (env.KUBECONFIG) {
    files = env.KUBECONFIG.split(path.delimiter).filter((f) => f !== '');
  } else {
    const home = env.HOME || os.homedir();
    files = [path.join(home, '.kube', 'config')];
  }
  const parsed: ParsedFile[] = [];
  for (const file of files) {
    const failIn = (reason: string) => fail(`${file}: ${reason}`);
    const text = readText(file, failIn);
    if (text !== undefined) parsed.push(parseFile(file, text, failIn));
  }
  const config = merge(description, parsed);
  if (isEmpty(config)) {
    const fallback = inCluster();
    if (fallback) return fallback;
    if (parsed.length === 0) {
      fail(
        env.KUBECONFIG
          ? `none of the files in $KUBECONFIG exists (${files.join(', ')}), and this is not a pod (no KUBERNETES_SERVICE_HOST or service account token)`
          : `$KUBECONFIG is not set, ${files[0]} does not exist, and this is not a pod (no KUBERNETES_SERVICE_HOST or service account token)`,
      );
    }
  }
  return config;
}

/**
 * The cluster and user of a context: `name`, else the current context.
 *
 * @throws Error naming the kubeconfig, and the known contexts when the context is missing
 */
export function selectContext(config: Kubeconfig, name?: string): KubeContext {
  const what = config.description;
  if (name !== undefined && !config.contexts.has(name)) {
    const known = [...config.contexts.keys()].join(', ') || 'none';
    throw new Error(`${what} has no context '${name}' (contexts: ${known})`);
  }
  const contextName = name ?? config.currentContext ?? '';
  const context = config.contexts.get(contextName);
  const cluster = context?.value.cluster !== undefined ? config.clusters.get(context.value.cluster) : undefined;
  if (!context || !cluster) {
    throw new Error(`${what}: context '${contextName || '(none)'}' names no cluster; pass --context with a context that has one`);
  }
  if (!cluster.value.server) {
    throw new Error(`${what}: cluster '${context.value.cluster}' (in ${cluster.file}) has no server`);
  }
  const userName = context.value.user;
  if (userName === undefined) {
    return { name: contextName, cluster: cluster.value, user: {}, userFile: cluster.file };
  }
  const user = config.users.get(userName);
  if (!user) {
    const known = [...config.users.keys()].join(', ') || 'none';
    throw new Error(`${what}: context '${contextName}' names user '${userName}', which is not defined (users: ${known})`);
  }
  return { name: contextName, cluster: cluster.value, userName, user: user.value, userFile: user.file };
}

interface ParsedFile {
  readonly file: string;
  readonly clusters: Array<[string, KubeCluster]>;
  readonly users: Array<[string, KubeUser]>;
  readonly contexts: Array<[string, KubeContextRef]>;
  readonly currentContext?: string;
}

/** The file's text; undefined when it does not exist (other errors go to `fail`). */
function readText(file: string, fail: (reason: string) => never): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? undefined : fail(ioReason(err));
  }
}

function parseFile(file: string, text: string, fail: (reason: string) => never): ParsedFile {
  let doc: unknown;
  try {
    doc = yaml().parse(text);
  } catch (err) {
    // The parser's message quotes the offending line; keep only its first line (it could be key data).
    fail(`it is not valid YAML (${(err as Error).message.split('\n')[0].replace(/:$/, '')})`);
  }
  if (doc === null || doc === undefined) {
    return { file, clusters: [], users: [], contexts: [] };
  }
  if (!isRecord(doc)) {
    return fail('it is not a kubeconfig (expected a YAML mapping with clusters, users and contexts)');
  }
  const dir = path.dirname(path.resolve(file));
  const abs = (p: unknown) => (typeof p === 'string' && p !== '' ? path.resolve(dir, p) : undefined);
  const entries = <T>(list: string, body: string, read: (b: Record<string, unknown>, name: string) => T): Array<[string, T]> => {
    const items = doc[list];
    if (items === undefined || items === null) return [];
    if (!Array.isArray(items)) return fail(`'${list}' must be a list`);
    return items.map((item, i): [string, T] => {
      if (!isRecord(item) || typeof item.name !== 'string' || item.name === '') return fail(`${list}[${i}] has no name`);
      const b = item[body];
      return [item.name, read(isRecord(b) ? b : {}, item.name)];
    });
  };
  return {
    file,
    clusters: entries('clusters', 'cluster', (c) => ({
      server: str(c.server) ?? '',
      certificateAuthority: abs(c['certificate-authority']),
      certificateAuthorityData: str(c['certificate-authority-data']),
      insecureSkipTlsVerify: c['insecure-skip-tls-verify'] === true,
      tlsServerName: str(c['tls-server-name']),
    })),
    users: entries('users', 'user', (u, name) => ({
      clientCertificate: abs(u['client-certificate']),
      clientCertificateData: str(u['client-certificate-data']),
      clientKey: abs(u['client-key']),
      clientKeyData: str(u['client-key-data']),
      token: str(u.token),
      tokenFile: abs(u.tokenFile),
      username: str(u.username),
      password: str(u.password),
      exec: isRecord(u.exec) ? readExec(u.exec, dir, (reason) => fail(`user '${name}': ${reason}`)) : undefined,
      authProvider: isRecord(u['auth-provider']) ? str(u['auth-provider'].name) ?? '(unnamed)' : undefined,
    })),
    contexts: entries('contexts', 'context', (c) => ({ cluster: str(c.cluster), user: str(c.user) })),
    currentContext: str(doc['current-context']),
  };
}

function readExec(exec: Record<string, unknown>, dir: string, fail: (reason: string) => never): ExecConfig {
  const command = str(exec.command);
  if (command === undefined) return fail('exec has no command');
  const args = Array.isArray(exec.args) ? exec.args.map(String) : [];
  const env = Array.isArray(exec.env)
    ? exec.env.filter(isRecord).map((e) => ({ name: String(e.name ?? ''), value: String(e.value ?? '') }))
    : [];
  return {
    apiVersion: str(exec.apiVersion) ?? '',
    // kubectl: a relative command with a path separator is relative to the kubeconfig; a bare name is looked up on PATH.
    command: !path.isAbsolute(command) && command.includes('/') ? path.resolve(dir, command) : command,
    args,
    env,
    provideClusterInfo: exec.provideClusterInfo === true,
    interactiveMode: str(exec.interactiveMode),
    installHint: str(exec.installHint),
  };
}

/** kubectl's merge: the first file to define a name wins, the first non-empty current-context wins. */
function merge(description: string, files: readonly ParsedFile[]): Kubeconfig {
  const clusters = new Map<string, Defined<KubeCluster>>();
  const users = new Map<string, Defined<KubeUser>>();
  const contexts = new Map<string, Defined<KubeContextRef>>();
  let currentContext: string | undefined;
  const add = <T>(map: Map<string, Defined<T>>, file: string, list: Array<[string, T]>) => {
    for (const [name, value] of list) {
      if (!map.has(name)) map.set(name, { value, file });
    }
  };
  for (const f of files) {
    add(clusters, f.file, f.clusters);
    add(users, f.file, f.users);
    add(contexts, f.file, f.contexts);
    currentContext ??= f.currentContext;
  }
  return { description, clusters, users, contexts, currentContext };
}

function isEmpty(config: Kubeconfig): boolean {
  return config.clusters.size === 0 && config.users.size === 0 && config.contexts.size === 0 && config.currentContext === undefined;
}

/** The pod's service account, as kubectl's in-cluster configuration; undefined outside a pod. */
function inClusterConfig(description: string, env: NodeJS.ProcessEnv, dir: string): Kubeconfig | undefined {
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  const tokenFile = path.join(dir, 'token');
  if (!host || !port || !fs.existsSync(tokenFile)) return undefined;
  const file = `the service account (${dir})`;
  const server = `https://${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
  const caFile = path.join(dir, 'ca.crt');
  const cluster: KubeCluster = { server, certificateAuthority: fs.existsSync(caFile) ? caFile : undefined, insecureSkipTlsVerify: false };
  return {
    description,
    clusters: new Map([[IN_CLUSTER.cluster, { value: cluster, file }]]),
    users: new Map([[IN_CLUSTER.user, { value: { tokenFile }, file }]]),
    contexts: new Map([[IN_CLUSTER.context, { value: { cluster: IN_CLUSTER.cluster, user: IN_CLUSTER.user }, file }]]),
    currentContext: IN_CLUSTER.context,
  };
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
