/**
 * The in-house Kubernetes client against a real local HTTPS server with
 * certificates made at test time (support/kube-server.ts).
 */
import { X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { describeKubeError, kubernetesSecretLister, scanSecrets, SecretLike } from '../../../lib/cli/check/sources/secrets';
import { KubeApiError, KubeClient, KubeClientOptions, ListPage } from '../../../lib/cli/kube/client';
import { loadKubeconfig, selectContext } from '../../../lib/cli/kube/kubeconfig';
import { BASIC_PASSWORD, BASIC_USER, GOOD_TOKEN, KubeTestServer, makeTestPki, startKubeServer, StoredSecret, TestPki } from './support/kube-server';

let pki: TestPki;
let server: KubeTestServer;
let dir: string;
let clientFingerprint: string;

beforeAll(async () => {
  pki = makeTestPki();
  clientFingerprint = new X509Certificate(pki.client.certPem).fingerprint256;
  server = await startKubeServer(pki);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-client-'));
}, 60_000);

afterAll(async () => {
  await server?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

beforeEach(() => {
  server.requests.length = 0;
  server.secrets = [];
});

const b64 = (s: string) => Buffer.from(s).toString('base64');
let counter = 0;

/** Writes a one-context kubeconfig (context `test`) into a fresh directory and returns its path. */
function kubeconfig(clusterBody: Record<string, unknown>, userBody: Record<string, unknown>, files: Record<string, string> = {}): string {
  const sub = path.join(dir, `kc-${++counter}`);
  fs.mkdirSync(sub);
  for (const [name, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(sub, name)), { recursive: true });
    fs.writeFileSync(path.join(sub, name), content, { mode: 0o755 });
  }
  const file = path.join(sub, 'config');
  fs.writeFileSync(
    file,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test-cluster', cluster: { server: server.url, ...clusterBody } }],
      users: [{ name: 'test-user', user: userBody }],
      contexts: [{ name: 'test', context: { cluster: 'test-cluster', user: 'test-user' } }],
      'current-context': 'test',
    }),
  );
  return file;
}

const caData = () => ({ 'certificate-authority-data': b64(pki.ca.certPem) });
const client = (file: string, options?: KubeClientOptions) => new KubeClient(selectContext(loadKubeconfig({ file })), options);
const listAll = (c: KubeClient) => c.listPage<SecretLike>('/api/v1/secrets');

/** The error a promise rejects with. */
async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

/** An exec credential plugin: a shell script that prints `json` (a JSON text, may use shell expansions) and counts its runs. */
function plugin(name: string, body: string): Record<string, string> {
  return { [name]: `#!/bin/sh\necho run >> "$(dirname "$0")/runs"\n${body}\n` };
}

const runs = (file: string) => (fs.existsSync(path.join(path.dirname(file), 'runs')) ? fs.readFileSync(path.join(path.dirname(file), 'runs'), 'utf8').split('\n').filter(Boolean).length : 0);

describe('KubeClient: authentication', () => {
  test('client certificate and key files (relative to the kubeconfig) and a CA file', async () => {
    const file = kubeconfig(
      { 'certificate-authority': 'pki/ca.crt' },
      { 'client-certificate': 'pki/admin.crt', 'client-key': 'pki/admin.key' },
      { 'pki/ca.crt': pki.ca.certPem, 'pki/admin.crt': pki.client.certPem, 'pki/admin.key': pki.client.keyPem },
    );
    await expect(listAll(client(file))).resolves.toEqual({ items: [], continueToken: undefined });
    expect(server.requests[0]).toMatchObject({ path: '/api/v1/secrets', clientCert: clientFingerprint, authorization: undefined });
  });

  test('client-certificate-data and client-key-data', async () => {
    const file = kubeconfig(caData(), { 'client-certificate-data': b64(pki.client.certPem), 'client-key-data': b64(pki.client.keyPem) });
    await listAll(client(file));
    expect(server.requests[0].clientCert).toBe(clientFingerprint);
  });

  test('a bearer token', async () => {
    await listAll(client(kubeconfig(caData(), { token: GOOD_TOKEN })));
    expect(server.requests[0]).toMatchObject({ authorization: `Bearer ${GOOD_TOKEN}`, clientCert: undefined });
  });

  test('a tokenFile, read again for every request (service account tokens rotate)', async () => {
    const file = kubeconfig(caData(), { tokenFile: 'token' }, { token: `${GOOD_TOKEN}\n` });
    const c = client(file);
    await listAll(c);
    fs.writeFileSync(path.join(path.dirname(file), 'token'), 'rotated');
    const err = await rejection(listAll(c));
    expect(err).toBeInstanceOf(KubeApiError);
    expect(server.requests.map((r) => r.authorization)).toEqual([`Bearer ${GOOD_TOKEN}`, 'Bearer rotated']);
  });

  test("in a pod: the service account's token and CA", async () => {
    const sa = path.join(dir, 'serviceaccount');
    fs.mkdirSync(sa);
    fs.writeFileSync(path.join(sa, 'token'), GOOD_TOKEN);
    fs.writeFileSync(path.join(sa, 'ca.crt'), pki.ca.certPem);
    const env = { HOME: path.join(dir, 'no-home'), KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: String(server.port) };
    const c = new KubeClient(selectContext(loadKubeconfig({ env, serviceAccountDir: sa })));
    expect(c.context).toBe('inClusterContext');
    await listAll(c);
    expect(server.requests[0].authorization).toBe(`Bearer ${GOOD_TOKEN}`);
  });

  test('username and password (basic)', async () => {
    await listAll(client(kubeconfig(caData(), { username: BASIC_USER, password: BASIC_PASSWORD })));
    expect(server.requests[0].authorization).toBe(`Basic ${b64(`${BASIC_USER}:${BASIC_PASSWORD}`)}`);
  });

  test('no credentials: the server answers 401, a one-line error', async () => {
    const err = await rejection(listAll(client(kubeconfig(caData(), {}))));
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).statusCode).toBe(401);
    expect(describeKubeError(err)).toBe('the API server answered HTTP 401: Unauthorized');
  });

  test('auth-provider is not supported: the error names the kubeconfig and the user', () => {
    const file = kubeconfig(caData(), { 'auth-provider': { name: 'oidc', config: { 'id-token': 'x' } } });
    expect(() => client(file)).toThrow(`user 'test-user' in ${file} authenticates with auth-provider 'oidc', which cert-rotation does not support`);
  });

  test('an unreadable client key names the file and the user, not its content', () => {
    const file = kubeconfig(caData(), { 'client-certificate-data': b64(pki.client.certPem), 'client-key': 'missing.key' });
    expect(() => client(file)).toThrow(`cannot read client-key ${path.join(path.dirname(file), 'missing.key')} (user 'test-user' in ${file}): no such file or directory (ENOENT)`);
  });
});

describe('KubeClient: exec credential plugins', () => {
  const v1 = 'client.authentication.k8s.io/v1';

  test('v1: runs the command with its args and env, and KUBERNETES_EXEC_INFO; the token is kept until it expires', async () => {
    const file = kubeconfig(caData(), {
      exec: { apiVersion: v1, command: './plugin.sh', args: ['good', 'token'], env: [{ name: 'PLUGIN_SEPARATOR', value: '-' }], interactiveMode: 'Never', provideClusterInfo: true },
    }, plugin('plugin.sh', `echo "$KUBERNETES_EXEC_INFO" > "$(dirname "$0")/info.json"\nprintf '{"apiVersion":"${v1}","kind":"ExecCredential","status":{"token":"%s%s%s","expirationTimestamp":"2999-01-01T00:00:00Z"}}' "$1" "$PLUGIN_SEPARATOR" "$2"`));
    const c = client(file);
    await listAll(c);
    await listAll(c);
    expect(server.requests.map((r) => r.authorization)).toEqual([`Bearer ${GOOD_TOKEN}`, `Bearer ${GOOD_TOKEN}`]);
    expect(runs(file)).toBe(1);
    const info = JSON.parse(fs.readFileSync(path.join(path.dirname(file), 'info.json'), 'utf8'));
    expect(info).toEqual({
      apiVersion: v1,
      kind: 'ExecCredential',
      spec: { interactive: false, cluster: { server: server.url, 'insecure-skip-tls-verify': false, 'certificate-authority-data': b64(pki.ca.certPem) } },
    });
  });

  /** A plugin that answers `tokens[n-1]` with expiry `expiries[n-1]` on its nth run (the last ones from then on). */
  function sequencePlugin(tokens: string[], expiries: string[]): Record<string, string> {
    const pick = (list: string[]) => list.map((v, i) => `${i + 1}) echo ${v};;`).join(' ') + ` *) echo ${list[list.length - 1]};;`;
    return plugin('plugin.sh', [
      'n=$(wc -l < "$(dirname "$0")/runs")',
      `t=$(case $n in ${pick(tokens)} esac)`,
      `e=$(case $n in ${pick(expiries)} esac)`,
      `printf '{"apiVersion":"${v1}","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}' "$t" "$e"`,
    ].join('\n'));
  }

  test('an expired credential is fetched again before the next request', async () => {
    const file = kubeconfig(caData(), { exec: { apiVersion: v1, command: './plugin.sh' } }, sequencePlugin([GOOD_TOKEN], ['2000-01-01T00:00:00Z', '2999-01-01T00:00:00Z']));
    const c = client(file);
    await listAll(c);
    await listAll(c);
    await listAll(c);
    expect(runs(file)).toBe(2);
    expect(server.requests).toHaveLength(3);
  });

  test('a credential the server refuses (401) is fetched again, once', async () => {
    const file = kubeconfig(caData(), { exec: { apiVersion: v1, command: './plugin.sh' } }, sequencePlugin(['refused', GOOD_TOKEN], ['2999-01-01T00:00:00Z']));
    await listAll(client(file));
    expect(server.requests.map((r) => r.authorization)).toEqual(['Bearer refused', `Bearer ${GOOD_TOKEN}`]);
    const always = kubeconfig(caData(), { exec: { apiVersion: v1, command: './plugin.sh' } }, sequencePlugin(['refused'], ['2999-01-01T00:00:00Z']));
    await expect(listAll(client(always))).rejects.toThrow('the API server answered HTTP 401: Unauthorized');
    expect(runs(always)).toBe(2);
  });

  test('v1beta1 with a client certificate and key', async () => {
    const status = JSON.stringify({ apiVersion: 'client.authentication.k8s.io/v1beta1', kind: 'ExecCredential', status: { clientCertificateData: pki.client.certPem, clientKeyData: pki.client.keyPem } });
    const file = kubeconfig(caData(), { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: './plugin.sh' } }, {
      ...plugin('plugin.sh', 'cat "$(dirname "$0")/credential.json"'),
      'credential.json': status,
    });
    await listAll(client(file));
    expect(server.requests[0]).toMatchObject({ clientCert: clientFingerprint, authorization: undefined });
  });

  test('a failing plugin: its stderr, never its stdout', async () => {
    const file = kubeconfig(caData(), { exec: { apiVersion: v1, command: './plugin.sh' } }, plugin('plugin.sh', 'echo "partial-secret-output"\necho "error: you must be logged in" >&2\nexit 4'));
    const err = await rejection(listAll(client(file)));
    const command = path.join(path.dirname(file), 'plugin.sh');
    expect(err.message).toBe(`exec plugin '${command}' of user 'test-user' in ${file} failed (exit 4): error: you must be logged in`);
    expect(err.message).not.toContain('partial-secret-output');
    expect(describeKubeError(err)).toBe(err.message);
    expect(server.requests).toEqual([]);
  });

  test('a plugin that is not installed: the install hint', async () => {
    const file = kubeconfig(caData(), { exec: { apiVersion: v1, command: 'no-such-plugin-cert-rotation', installHint: 'install it from https://example.com' } });
    await expect(listAll(client(file))).rejects.toThrow(`exec plugin 'no-such-plugin-cert-rotation' of user 'test-user' in ${file} was not found; install it from https://example.com`);
  });

  test('a plugin that hangs is killed after execTimeoutMs', async () => {
    const file = kubeconfig(caData(), { exec: { apiVersion: v1, command: './plugin.sh' } }, plugin('plugin.sh', 'exec sleep 30'));
    const started = Date.now();
    await expect(listAll(client(file, { execTimeoutMs: 300 }))).rejects.toThrow(`of user 'test-user' in ${file} did not finish within 300 ms`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a plugin answering something else than an ExecCredential of its apiVersion', async () => {
    const cases: Array<[string, string]> = [
      ['echo "token: abc"', 'it printed no ExecCredential (its output is not JSON)'],
      [`echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"t"}}'`, `it printed an ExecCredential of apiVersion 'client.authentication.k8s.io/v1beta1', the kubeconfig asks for ${v1}`],
      [`echo '{"apiVersion":"${v1}","kind":"ExecCredential","status":{}}'`, 'its ExecCredential has neither status.token nor status.clientCertificateData and clientKeyData'],
      [`echo '{"apiVersion":"${v1}","kind":"ExecCredential","status":{"clientCertificateData":"x"}}'`, 'its ExecCredential has only one of status.clientCertificateData and status.clientKeyData'],
    ];
    for (const [body, message] of cases) {
      const file = kubeconfig(caData(), { exec: { apiVersion: v1, command: './plugin.sh' } }, plugin('plugin.sh', body));
      await expect(listAll(client(file))).rejects.toThrow(message);
    }
  });

  test('an apiVersion other than v1 and v1beta1, and interactiveMode Always, are errors', async () => {
    const alpha = kubeconfig(caData(), { exec: { apiVersion: 'client.authentication.k8s.io/v1alpha1', command: 'x' } });
    await expect(listAll(client(alpha))).rejects.toThrow("apiVersion 'client.authentication.k8s.io/v1alpha1' is not supported; use one of: client.authentication.k8s.io/v1, client.authentication.k8s.io/v1beta1");
    const always = kubeconfig(caData(), { exec: { apiVersion: v1, command: 'x', interactiveMode: 'Always' } });
    await expect(listAll(client(always))).rejects.toThrow('interactiveMode Always needs a terminal');
  });
});

describe('KubeClient: TLS', () => {
  test("a CA that did not sign the server's certificate: the TLS error", async () => {
    const file = kubeconfig({ 'certificate-authority-data': b64(pki.otherCa.certPem) }, { token: GOOD_TOKEN });
    const err = await rejection(listAll(client(file)));
    expect((err as NodeJS.ErrnoException).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(describeKubeError(err)).toBe('unable to verify the first certificate');
    expect(server.requests).toEqual([]);
  });

  test('no CA in the kubeconfig: the system CAs, which do not know the test CA', async () => {
    const err = await rejection(listAll(client(kubeconfig({}, { token: GOOD_TOKEN }))));
    expect((err as NodeJS.ErrnoException).code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  test('insecure-skip-tls-verify', async () => {
    await listAll(client(kubeconfig({ 'insecure-skip-tls-verify': true }, { token: GOOD_TOKEN })));
    expect(server.requests).toHaveLength(1);
  });

  test('tls-server-name: sent as SNI and verified instead of the host', async () => {
    const byName = { ...caData(), server: `https://localhost:${server.port}` };
    const mismatch = await rejection(listAll(client(kubeconfig(byName, { token: GOOD_TOKEN }))));
    expect((mismatch as NodeJS.ErrnoException).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    await listAll(client(kubeconfig({ ...byName, 'tls-server-name': 'kube.test' }, { token: GOOD_TOKEN })));
    expect(server.requests.map((r) => r.servername)).toEqual(['kube.test']);
  });
});

describe('KubeClient: requests', () => {
  const token = { token: GOOD_TOKEN };

  test('a server URL with a path prefix (as behind Rancher)', async () => {
    const c = client(kubeconfig({ ...caData(), server: `${server.url}/k8s/clusters/c-1/` }, token));
    await c.listPage('/api/v1/namespaces/default/secrets', { fieldSelector: 'type=kubernetes.io/tls', limit: 10 });
    expect(server.requests[0].path).toBe('/k8s/clusters/c-1/api/v1/namespaces/default/secrets');
    expect(Object.fromEntries(server.requests[0].query)).toEqual({ fieldSelector: 'type=kubernetes.io/tls', limit: '10' });
  });

  test('pages: limit and continue', async () => {
    server.secrets = Array.from({ length: 5 }, (_, i): StoredSecret => ({ metadata: { namespace: 'ns', name: `s${i}` }, type: 'Opaque', data: {} }));
    const c = client(kubeconfig(caData(), token));
    const names = (p: ListPage<SecretLike>) => p.items.map((s) => s.metadata?.name);
    const first = await c.listPage<SecretLike>('/api/v1/secrets', { limit: 2 });
    expect([names(first), first.continueToken]).toEqual([['s0', 's1'], '2']);
    const last = await c.listPage<SecretLike>('/api/v1/secrets', { limit: 2, continueToken: '4' });
    expect([names(last), last.continueToken]).toEqual([['s4'], undefined]);
    expect(server.requests.map((r) => r.query.toString())).toEqual(['limit=2', 'limit=2&continue=4']);
  });

  test('an HTTP error: the API server Status message', async () => {
    const err = await rejection(client(kubeconfig(caData(), token)).get('/api/v1/namespaces/locked/secrets'));
    expect(err).toBeInstanceOf(KubeApiError);
    expect((err as KubeApiError).statusCode).toBe(403);
    expect((err as KubeApiError).body).toMatchObject({ kind: 'Status', reason: 'Forbidden' });
    expect(describeKubeError(err)).toBe('the API server answered HTTP 403: secrets is forbidden: User "admin" cannot list resource "secrets" in API group "" in the namespace "locked"');
  });

  test('an answer that is not JSON', async () => {
    await expect(client(kubeconfig(caData(), token)).get('/html')).rejects.toThrow(`the API server at ${server.url} answered HTTP 200 with a body that is not JSON (text/html)`);
  });

  test('a server that does not answer in time', async () => {
    const err = await rejection(client(kubeconfig(caData(), token), { timeoutMs: 300 }).get('/slow'));
    expect((err as NodeJS.ErrnoException).code).toBe('ETIMEDOUT');
    expect(describeKubeError(err)).toBe(`the API server at ${server.url} did not answer within 300 ms`);
  });

  test('a refused connection: the network error', async () => {
    const err = await rejection(client(kubeconfig({ ...caData(), server: 'https://127.0.0.1:1' }, token)).get('/api/v1/secrets'));
    expect(describeKubeError(err)).toBe('connect ECONNREFUSED 127.0.0.1:1');
  });
});

describe('check --secrets through the client', () => {
  const tls = (namespace: string, name: string): StoredSecret => ({
    metadata: { namespace, name },
    type: 'kubernetes.io/tls',
    data: { 'tls.crt': b64(pki.server.certPem), 'tls.key': b64(pki.server.keyPem) },
  });

  test('kubernetesSecretLister + scanSecrets read every page of every selector, and never the keys', async () => {
    server.secrets = [
      ...Array.from({ length: 5 }, (_, i) => tls(i % 2 ? 'a' : 'b', `web-${i}`)),
      { metadata: { namespace: 'cattle-system', name: 'tls-ca' }, type: 'Opaque', data: { 'cacerts.pem': b64(pki.ca.certPem) } },
    ];
    const file = kubeconfig(caData(), { 'client-certificate-data': b64(pki.client.certPem), 'client-key-data': b64(pki.client.keyPem) });
    const lister = await kubernetesSecretLister({ kubeconfig: file, timeoutMs: 5000 });
    expect(lister.context).toBe('test');
    const result = await scanSecrets(lister, { pageSize: 2 });
    expect(result.errors).toEqual([]);
    expect(result.certificates.map((c) => c.name).sort()).toEqual([
      'a/web-1:tls.crt#1',
      'a/web-3:tls.crt#1',
      'b/web-0:tls.crt#1',
      'b/web-2:tls.crt#1',
      'b/web-4:tls.crt#1',
      'cattle-system/tls-ca:cacerts.pem#1',
    ]);
    expect(server.requests.map((r) => `${r.path}?${r.query}`)).toEqual([
      '/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls&limit=2',
      '/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls&limit=2&continue=2',
      '/api/v1/secrets?fieldSelector=type%3Dkubernetes.io%2Ftls&limit=2&continue=4',
      '/api/v1/secrets?fieldSelector=metadata.name%3Dtls-ca&limit=2',
      '/api/v1/secrets?fieldSelector=metadata.name%3Drke2-serving&limit=2',
    ]);
    expect(JSON.stringify(result)).not.toContain(pki.server.keyPem.split('\n')[1]);
  });

  test('--namespace; a 403 is an error of the source in the one-line form', async () => {
    const file = kubeconfig(caData(), { token: GOOD_TOKEN });
    const result = await scanSecrets(await kubernetesSecretLister({ kubeconfig: file }), { namespace: 'locked' });
    expect(server.requests[0].path).toBe('/api/v1/namespaces/locked/secrets');
    expect(result.errors).toEqual([
      {
        source: 'secrets:test',
        message:
          'cannot list secrets (type=kubernetes.io/tls) in namespace locked with context test: the API server answered HTTP 403: secrets is forbidden: User "admin" cannot list resource "secrets" in API group "" in the namespace "locked"',
      },
    ]);
  });
});
