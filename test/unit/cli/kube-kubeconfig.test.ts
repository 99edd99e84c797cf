import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { stringify } from 'yaml';
import { loadKubeconfig, selectContext } from '../../../lib/cli/kube/kubeconfig';

let dir: string;

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-kubeconfig-'));
});

afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Writes a kubeconfig (`rel` below the test's directory) and returns its path. */
function write(rel: string, config: Record<string, unknown>): string {
  const file = path.join(dir, rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, stringify({ apiVersion: 'v1', kind: 'Config', ...config }));
  return file;
}

const cluster = (name: string, body: Record<string, unknown>) => ({ name, cluster: body });
const user = (name: string, body: Record<string, unknown>) => ({ name, user: body });
const context = (name: string, clusterName: string, userName?: string) => ({ name, context: { cluster: clusterName, ...(userName ? { user: userName } : {}) } });

/** An environment without KUBECONFIG, a HOME without .kube and not in a pod. */
const bareEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({ HOME: dir, ...extra });

describe('loadKubeconfig: where it looks', () => {
  test('an explicit file: relative paths are relative to its directory', () => {
    const file = write('cfg/explicit', {
      clusters: [cluster('c', { server: 'https://10.0.0.1:6443', 'certificate-authority': 'pki/ca.crt', 'tls-server-name': 'kube.test' })],
      users: [user('u', { 'client-certificate': 'pki/admin.crt', 'client-key': '/abs/admin.key', tokenFile: '../token' })],
      contexts: [context('one', 'c', 'u')],
      'current-context': 'one',
    });
    const config = loadKubeconfig({ file, env: bareEnv() });
    expect(config.description).toBe(`kubeconfig ${file}`);
    const ctx = selectContext(config);
    expect(ctx.name).toBe('one');
    expect(ctx.cluster).toEqual({
      server: 'https://10.0.0.1:6443',
      certificateAuthority: path.join(dir, 'cfg/pki/ca.crt'),
      certificateAuthorityData: undefined,
      insecureSkipTlsVerify: false,
      tlsServerName: 'kube.test',
    });
    expect(ctx.user).toMatchObject({ clientCertificate: path.join(dir, 'cfg/pki/admin.crt'), clientKey: '/abs/admin.key', tokenFile: path.join(dir, 'token') });
    expect(ctx.userName).toBe('u');
    expect(ctx.userFile).toBe(file);
  });

  test('a missing explicit file is an error even with $KUBECONFIG set', () => {
    const other = write('other', { clusters: [cluster('c', { server: 'https://x' })], contexts: [context('a', 'c')], 'current-context': 'a' });
    const missing = path.join(dir, 'missing');
    expect(() => loadKubeconfig({ file: missing, env: bareEnv({ KUBECONFIG: other }) })).toThrow(`cannot load kubeconfig ${missing}: the file does not exist`);
  });

  test('$KUBECONFIG: missing files are passed over; the first file to define a name wins, and the first current-context', () => {
    const a = write('a/config', {
      clusters: [cluster('shared', { server: 'https://a.example:6443', 'certificate-authority': 'ca-a.crt' })],
      users: [user('admin', { token: 'from-a' })],
      contexts: [context('ctx-a', 'shared', 'admin'), context('shared-ctx', 'shared', 'admin')],
      // no current-context: the next file's wins
    });
    const b = write('b/nested/config', {
      clusters: [cluster('shared', { server: 'https://b.example:6443' }), cluster('only-b', { server: 'https://only-b:6443', 'certificate-authority': 'ca-b.crt' })],
      users: [user('admin', { token: 'from-b' }), user('user-b', { token: 'b' })],
      contexts: [context('shared-ctx', 'only-b', 'user-b'), context('ctx-b', 'only-b', 'user-b')],
      'current-context': 'ctx-b',
    });
    const c = write('c/config', { 'current-context': 'ctx-a' });
    const config = loadKubeconfig({ env: bareEnv({ KUBECONFIG: [path.join(dir, 'missing'), a, '', b, c].join(path.delimiter) }) });
    expect(config.description).toBe('the default kubeconfig');
    expect(config.currentContext).toBe('ctx-b');
    expect([...config.contexts.keys()]).toEqual(['ctx-a', 'shared-ctx', 'ctx-b']);
    expect(config.clusters.get('shared')!.value.server).toBe('https://a.example:6443');
    expect(config.users.get('admin')!.value.token).toBe('from-a');
    // An entry is taken whole from the first file that defines it.
    expect(selectContext(config, 'shared-ctx')).toMatchObject({ cluster: { server: 'https://a.example:6443' }, userName: 'admin', user: { token: 'from-a' }, userFile: a });
    // Relative paths are relative to the file that defines the entry.
    expect(selectContext(config).cluster.certificateAuthority).toBe(path.join(dir, 'b/nested/ca-b.crt'));
    expect(selectContext(config, 'ctx-a').cluster.certificateAuthority).toBe(path.join(dir, 'a/ca-a.crt'));
  });

  test('without $KUBECONFIG: ~/.kube/config', () => {
    write('.kube/config', { clusters: [cluster('home', { server: 'https://home:6443' })], contexts: [context('home', 'home')], 'current-context': 'home' });
    const ctx = selectContext(loadKubeconfig({ env: bareEnv() }));
    expect(ctx).toMatchObject({ name: 'home', cluster: { server: 'https://home:6443' }, user: {} });
    expect(ctx.userName).toBeUndefined();
  });

  test('no kubeconfig anywhere, in a pod: the service account (IPv6 host in brackets)', () => {
    const sa = path.join(dir, 'sa');
    fs.mkdirSync(sa);
    fs.writeFileSync(path.join(sa, 'token'), 'sa-token\n');
    fs.writeFileSync(path.join(sa, 'ca.crt'), 'CA');
    const env = bareEnv({ KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' });
    const ctx = selectContext(loadKubeconfig({ env, serviceAccountDir: sa }));
    expect(ctx).toMatchObject({
      name: 'inClusterContext',
      userName: 'inClusterUser',
      cluster: { server: 'https://[fd00::1]:443', certificateAuthority: path.join(sa, 'ca.crt') },
      user: { tokenFile: path.join(sa, 'token') },
    });
    // $KUBECONFIG naming only missing files falls back to the service account too.
    expect(selectContext(loadKubeconfig({ env: { ...env, KUBECONFIG: path.join(dir, 'nope') }, serviceAccountDir: sa })).name).toBe('inClusterContext');
  });

  test('no kubeconfig anywhere and not in a pod: an error saying where it looked', () => {
    expect(() => loadKubeconfig({ env: bareEnv(), serviceAccountDir: path.join(dir, 'no-sa') })).toThrow(
      `cannot load the default kubeconfig: $KUBECONFIG is not set, ${path.join(dir, '.kube/config')} does not exist, and this is not a pod`,
    );
    const list = [path.join(dir, 'x'), path.join(dir, 'y')].join(path.delimiter);
    expect(() => loadKubeconfig({ env: bareEnv({ KUBECONFIG: list }), serviceAccountDir: path.join(dir, 'no-sa') })).toThrow(
      `cannot load the default kubeconfig: none of the files in $KUBECONFIG exists (${path.join(dir, 'x')}, ${path.join(dir, 'y')})`,
    );
  });

  test('invalid YAML: the parser message, without the offending line (it could be key data)', () => {
    const file = path.join(dir, 'broken');
    fs.writeFileSync(file, 'users:\n- name: u\n  user:\n    client-key-data: SECRETKEYDATA: [\n');
    let message = '';
    try {
      loadKubeconfig({ file });
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toMatch(new RegExp(`^cannot load kubeconfig ${file}: it is not valid YAML \\(`));
    expect(message).not.toContain('SECRETKEYDATA');
    // In $KUBECONFIG, the message names the file.
    expect(() => loadKubeconfig({ env: bareEnv({ KUBECONFIG: file }) })).toThrow(`cannot load the default kubeconfig: ${file}: it is not valid YAML`);
  });

  test('entries without a name and lists that are not lists are errors', () => {
    const file = write('bad-name', { clusters: [{ cluster: { server: 'https://x' } }] });
    expect(() => loadKubeconfig({ file })).toThrow(`cannot load kubeconfig ${file}: clusters[0] has no name`);
    const notList = write('not-list', { users: { u: {} } });
    expect(() => loadKubeconfig({ file: notList })).toThrow(`cannot load kubeconfig ${notList}: 'users' must be a list`);
  });

  test('exec: a relative command with a slash is relative to the kubeconfig, a bare name stays for PATH', () => {
    const file = write('cfg/exec', {
      users: [
        user('rel', { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './bin/plugin', args: ['get-token'], env: [{ name: 'A', value: 'b' }], interactiveMode: 'Never' } }),
        user('bare', { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'kubelogin', provideClusterInfo: true } }),
      ],
    });
    const config = loadKubeconfig({ file });
    expect(config.users.get('rel')!.value.exec).toEqual({
      apiVersion: 'client.authentication.k8s.io/v1',
      command: path.join(dir, 'cfg/bin/plugin'),
      args: ['get-token'],
      env: [{ name: 'A', value: 'b' }],
      provideClusterInfo: false,
      interactiveMode: 'Never',
      installHint: undefined,
    });
    expect(config.users.get('bare')!.value.exec).toMatchObject({ command: 'kubelogin', args: [], provideClusterInfo: true });
  });
});

describe('selectContext', () => {
  const config = () =>
    loadKubeconfig({
      file: write('ctx', {
        clusters: [cluster('c', { server: 'https://c:6443' }), cluster('no-server', {})],
        users: [user('u', { token: 't' })],
        contexts: [context('one', 'c', 'u'), context('two', 'c', 'ghost'), context('dangling', 'nowhere', 'u'), context('serverless', 'no-server', 'u')],
        'current-context': 'one',
      }),
    });

  test('a missing context lists the contexts there are', () => {
    expect(() => selectContext(config(), 'prod')).toThrow(`kubeconfig ${path.join(dir, 'ctx')} has no context 'prod' (contexts: one, two, dangling, serverless)`);
  });

  test('a context whose cluster is not defined, or no current context', () => {
    const file = path.join(dir, 'ctx');
    expect(() => selectContext(config(), 'dangling')).toThrow(`kubeconfig ${file}: context 'dangling' names no cluster; pass --context with a context that has one`);
    const none = loadKubeconfig({ file: write('none', { clusters: [cluster('c', { server: 'https://c' })] }) });
    expect(() => selectContext(none)).toThrow(`kubeconfig ${path.join(dir, 'none')}: context '(none)' names no cluster; pass --context with a context that has one`);
  });

  test('a context naming a user that is not defined; a cluster without server', () => {
    const file = path.join(dir, 'ctx');
    expect(() => selectContext(config(), 'two')).toThrow(`kubeconfig ${file}: context 'two' names user 'ghost', which is not defined (users: u)`);
    expect(() => selectContext(config(), 'serverless')).toThrow(`kubeconfig ${file}: cluster 'no-server' (in ${file}) has no server`);
  });
});
