import * as fs from 'fs';
import * as path from 'path';
import {
  describeKubeError,
  scanSecrets,
  SecretLike,
  SecretListRequest,
  SecretLister,
  SecretPage,
} from '../../../lib/cli/check/sources/secrets';
import { KubeApiError } from '../../../lib/cli/kube/client';
import { report, runCli } from './support/run-cli';
import { buildNodeTrees, NodeTrees, removeTrees } from './support/trees';

let trees: NodeTrees;
let leafPem: string;
let caPem: string;
let keyPem: string;

beforeAll(() => {
  trees = buildNodeTrees();
  const ssl = path.join(trees.rkeRoot, 'etc/kubernetes/ssl');
  leafPem = fs.readFileSync(path.join(ssl, 'kube-apiserver.pem'), 'utf8');
  caPem = fs.readFileSync(path.join(ssl, 'kube-ca.pem'), 'utf8');
  keyPem = fs.readFileSync(path.join(ssl, 'kube-apiserver-key.pem'), 'utf8');
}, 60_000);

afterAll(() => removeTrees(trees));

const b64 = (s: string) => Buffer.from(s).toString('base64');

function secret(namespace: string, name: string, type: string, data: Record<string, string>): SecretLike {
  return { metadata: { namespace, name }, type, data };
}

/** An API server in memory: field selectors on type and name, pages by `limit` and `continue`. */
class FakeLister implements SecretLister {
  readonly context = 'fake';
  readonly requests: SecretListRequest[] = [];
  constructor(
    private readonly secrets: SecretLike[],
    private readonly failAt?: { fieldSelector: string; page: number },
  ) {}

  async list(req: SecretListRequest): Promise<SecretPage> {
    this.requests.push(req);
    const [field, value] = req.fieldSelector.split('=');
    const matching = this.secrets.filter(
      (s) =>
        (req.namespace === undefined || s.metadata?.namespace === req.namespace) &&
        (field === 'type' ? s.type === value : s.metadata?.name === value),
    );
    const offset = req.continueToken ? Number(req.continueToken.replace('token-', '')) : 0;
    if (this.failAt && this.failAt.fieldSelector === req.fieldSelector && offset / req.limit === this.failAt.page) {
      throw new KubeApiError(410, { kind: 'Status', message: 'The provided continue parameter is too old' });
    }
    const items = matching.slice(offset, offset + req.limit);
    const next = offset + req.limit < matching.length ? `token-${offset + req.limit}` : undefined;
    return { items, continueToken: next };
  }
}

function cluster(): SecretLike[] {
  const secrets: SecretLike[] = [];
  for (let i = 0; i < 1200; i++) {
    const ns = `team-${i % 3}`;
    secrets.push(secret(ns, `web-${String(i).padStart(4, '0')}`, 'kubernetes.io/tls', { 'tls.crt': b64(leafPem + caPem), 'tls.key': b64(keyPem) }));
  }
  secrets.push(secret('cattle-system', 'tls-rancher-ingress', 'kubernetes.io/tls', { 'tls.crt': b64(leafPem), 'tls.key': b64(keyPem), 'ca.crt': b64(caPem) }));
  secrets.push(secret('cattle-system', 'tls-ca', 'Opaque', { 'cacerts.pem': b64(caPem) }));
  secrets.push(secret('kube-system', 'rke2-serving', 'Opaque', { 'tls.crt': b64(leafPem) }));
  secrets.push(secret('cattle-system', 'empty-tls', 'kubernetes.io/tls', { 'tls.crt': '', 'tls.key': '' }));
  secrets.push(secret('default', 'not-tls', 'Opaque', { 'ca.crt': b64(caPem) }));
  secrets.push(secret('default', 'sa-token', 'kubernetes.io/service-account-token', { 'ca.crt': b64(caPem), token: b64('x') }));
  return secrets;
}

describe('check --secrets (against an in-memory lister)', () => {
  test('reads tls secrets, tls-ca and rke2-serving across pages; names ns/name:key#N', async () => {
    const lister = new FakeLister(cluster());
    const result = await scanSecrets(lister, { pageSize: 500 });
    expect(result.errors).toEqual([]);
    // 1,200 secrets with a two-certificate tls.crt, tls-rancher-ingress (tls.crt + ca.crt), tls-ca, rke2-serving
    expect(result.certificates).toHaveLength(2400 + 2 + 1 + 1);
    const names = result.certificates.map((c) => c.name);
    expect(names).toContain('team-0/web-0000:tls.crt#1');
    expect(names).toContain('team-0/web-0000:tls.crt#2');
    expect(names).toContain('team-2/web-1199:tls.crt#2');
    expect(names).toContain('cattle-system/tls-rancher-ingress:tls.crt#1');
    expect(names).toContain('cattle-system/tls-rancher-ingress:ca.crt#1');
    expect(names).toContain('cattle-system/tls-ca:cacerts.pem#1');
    expect(names).toContain('kube-system/rke2-serving:tls.crt#1');
    expect(names.some((n) => n.startsWith('default/'))).toBe(false);
    expect(new Set(result.certificates.map((c) => c.source))).toEqual(new Set(['secrets:fake']));
    expect(result.skipped).toEqual([{ name: 'cattle-system/empty-tls:tls.crt', source: 'secrets:fake', reason: 'not a certificate (empty)' }]);
  });

  test('pages through with limit and continue, one selector after another', async () => {
    const lister = new FakeLister(cluster());
    await scanSecrets(lister, { pageSize: 500 });
    expect(lister.requests.map((r) => [r.fieldSelector, r.limit, r.continueToken, r.namespace])).toEqual([
      ['type=kubernetes.io/tls', 500, undefined, undefined],
      ['type=kubernetes.io/tls', 500, 'token-500', undefined],
      ['type=kubernetes.io/tls', 500, 'token-1000', undefined],
      ['metadata.name=tls-ca', 500, undefined, undefined],
      ['metadata.name=rke2-serving', 500, undefined, undefined],
    ]);
  });

  test('--namespace limits every request to that namespace', async () => {
    const lister = new FakeLister(cluster());
    const result = await scanSecrets(lister, { namespace: 'cattle-system' });
    expect(lister.requests.every((r) => r.namespace === 'cattle-system')).toBe(true);
    expect(result.certificates.map((c) => c.name)).toEqual([
      'cattle-system/tls-ca:cacerts.pem#1',
      'cattle-system/tls-rancher-ingress:tls.crt#1',
      'cattle-system/tls-rancher-ingress:ca.crt#1',
    ]);
  });

  test('a failed request is an error naming the context; what was read is kept', async () => {
    const lister = new FakeLister(cluster(), { fieldSelector: 'type=kubernetes.io/tls', page: 2 });
    const result = await scanSecrets(lister, { pageSize: 500 });
    expect(result.certificates).toHaveLength(2000);
    expect(result.errors).toEqual([
      {
        source: 'secrets:fake',
        message:
          'cannot list secrets (type=kubernetes.io/tls) in all namespaces with context fake: the API server answered HTTP 410: The provided continue parameter is too old',
      },
    ]);
  });

  test('key material of the secrets never reaches the result', async () => {
    const result = await scanSecrets(new FakeLister(cluster()));
    const text = JSON.stringify({ ...result, certificates: result.certificates.map((c) => ({ name: c.name, subject: c.facts.subject })) });
    expect(text).not.toContain(keyPem.split('\n')[1]);
  });

  test('describeKubeError reads HTTP errors and network errors', () => {
    expect(describeKubeError(new KubeApiError(403, { kind: 'Status', message: 'secrets is forbidden: User "x" cannot list resource "secrets"' }))).toBe(
      'the API server answered HTTP 403: secrets is forbidden: User "x" cannot list resource "secrets"',
    );
    expect(describeKubeError(new KubeApiError(500, ''))).toBe('the API server answered HTTP 500');
    expect(describeKubeError(new KubeApiError(502, '<html>Bad Gateway</html>\n'))).toBe('the API server answered HTTP 502: <html>Bad Gateway</html>');
    expect(describeKubeError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }))).toBe('connect ECONNREFUSED 127.0.0.1:1');
  });
});

describe('check --secrets (connection errors through the real client)', () => {
  test('a missing kubeconfig is a read error (exit 3)', async () => {
    const missing = path.join(trees.root, 'missing-kubeconfig');
    const r = await runCli('check', '--secrets', '--kubeconfig', missing, '-o', 'json');
    expect(r.code).toBe(3);
    expect(report(r).errors).toEqual([{ source: `secrets:${missing}`, message: `cannot load kubeconfig ${missing}: the file does not exist` }]);
  });

  test('an unknown context is a read error naming the contexts there are', async () => {
    const kc = path.join(trees.root, 'kc-one-context');
    fs.writeFileSync(
      kc,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: one\n  context:\n    cluster: c\n    user: u\ncurrent-context: one\n',
    );
    const r = await runCli('check', '--secrets', '--kubeconfig', kc, '--context', 'two', '-o', 'json');
    expect(r.code).toBe(3);
    expect(report(r).errors[0].message).toBe(`kubeconfig ${kc} has no context 'two' (contexts: one)`);
  });

  test('an unreachable API server is a read error (exit 3)', async () => {
    const kc = path.join(trees.root, 'kc-unreachable');
    fs.writeFileSync(
      kc,
      'apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: https://127.0.0.1:1\n    insecure-skip-tls-verify: true\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: one\n  context:\n    cluster: c\n    user: u\ncurrent-context: one\n',
    );
    const r = await runCli('check', '--secrets', '--kubeconfig', kc, '-o', 'json', '--timeout', '5s');
    expect(r.code).toBe(3);
    expect(report(r).errors).toHaveLength(1);
    expect(report(r).errors[0].source).toBe('secrets:one');
    expect(report(r).errors[0].message).toMatch(/^cannot list secrets \(type=kubernetes\.io\/tls\) in all namespaces with context one: .*ECONNREFUSED/);
  });
});
