import * as fs from 'fs';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { CliResult, report, runCli } from './support/run-cli';
import { buildNodeTrees, NodeTrees, NOW, removeTrees } from './support/trees';

let trees: NodeTrees;

beforeAll(() => {
  trees = buildNodeTrees();
}, 60_000);

afterAll(() => removeTrees(trees));

/** Rows of a table, split at the header's column starts. */
function tableRows(stdout: string): Array<Record<string, string>> {
  const lines = stdout.split('\n');
  const header = lines[0];
  const names = header.split(/ {2,}/);
  const starts = names.map((n) => header.indexOf(n));
  const rows: Array<Record<string, string>> = [];
  for (const line of lines.slice(1)) {
    if (line === '') break;
    const row: Record<string, string> = {};
    names.forEach((n, i) => (row[n] = line.slice(starts[i], i + 1 < starts.length ? starts[i + 1] : undefined).trim()));
    rows.push(row);
  }
  return rows;
}

/** Every private key under the trees: its base64 must never appear in any output. */
function keyMaterial(): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (fs.readFileSync(p, 'latin1').includes('PRIVATE KEY-----')) found.push(fs.readFileSync(p, 'utf8').split('\n')[1]);
    }
  };
  walk(trees.root);
  return found;
}

function expectNoKeyMaterial(...results: CliResult[]): void {
  const keys = keyMaterial();
  expect(keys.length).toBeGreaterThan(3);
  for (const r of results) {
    expect(r.stdout).not.toContain('PRIVATE KEY-----');
    expect(r.stderr).not.toContain('PRIVATE KEY-----');
    for (const line of keys) {
      expect(r.stdout).not.toContain(line);
      expect(r.stderr).not.toContain(line);
    }
  }
}

describe('check: RKE node (/etc/kubernetes/ssl)', () => {
  let json: CliResult;
  let table: CliResult;

  beforeAll(async () => {
    json = await runCli('check', '--preset', 'rke', '--root', trees.rkeRoot, '--now', NOW, '--output', 'json');
    table = await runCli('check', '--preset', 'rke', '--root', trees.rkeRoot, '--now', NOW);
  });

  test('lists every certificate, soonest expiry first, with days left and status', () => {
    const r = report(json);
    expect(r.certificates.map((c) => [c.name, c.daysLeft, c.status, c.isCA, c.keyType])).toEqual([
      ['kube-node.pem#1', -3, 'expired', false, 'RSA 2048'],
      ['kube-apiserver.pem#1', 20, 'warn', false, 'RSA 2048'],
      ['kube-etcd-10-0-0-1.pem#1', 300, 'ok', false, 'ECDSA P-256'],
      ['kube-ca.pem#1', 3650, 'ok', true, 'RSA 2048'],
      // RKE's kubecfg-kube-node.yaml references /etc/kubernetes/ssl/kube-ca.pem: read below --root.
      ['kubecfg-kube-node.yaml:clusters/local:certificate-authority#1', 3650, 'ok', true, 'RSA 2048'],
    ]);
    const source = `file:${path.join(trees.rkeRoot, 'etc/kubernetes/ssl')}`;
    expect(new Set(r.certificates.map((c) => c.source))).toEqual(new Set([source]));
  });

  test('reports subject, issuer, dates (ISO 8601) and SANs', () => {
    const apiserver = report(json).certificates.find((c) => c.name === 'kube-apiserver.pem#1')!;
    expect(apiserver.subject).toBe('CN=kube-apiserver');
    expect(apiserver.subjectCommonName).toBe('kube-apiserver');
    expect(apiserver.issuer).toBe('CN=kube-ca');
    expect(apiserver.notAfter).toBe('2031-03-21T00:00:00.000Z');
    expect(apiserver.notBefore).toBe('2031-01-30T00:00:00.000Z');
    expect(apiserver.dnsNames).toEqual(['kubernetes', 'kubernetes.default']);
    expect(apiserver.ipAddresses).toEqual(['10.43.0.1', '127.0.0.1']);
    expect(apiserver.selfSigned).toBe(false);
    expect(apiserver.sha256Fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(apiserver.serialNumber).toMatch(/^[0-9a-f]+$/);
    const node = report(json).certificates.find((c) => c.name === 'kube-node.pem#1')!;
    expect(node.subject).toBe('O=system:nodes, CN=system:node');
    const ca = report(json).certificates.find((c) => c.name === 'kube-ca.pem#1')!;
    expect(ca.selfSigned).toBe(true);
  });

  test('keys are skipped on stderr, the kubeconfig is read; the scan goes on', () => {
    const ssl = path.join(trees.rkeRoot, 'etc/kubernetes/ssl');
    expect(json.stderr.split('\n').filter(Boolean)).toEqual([
      `skipped ${ssl}/kube-apiserver-key.pem: not a certificate (private key)`,
      `skipped ${ssl}/kube-ca-key.pem: not a certificate (private key)`,
    ]);
    expect(report(json).skipped.map((s) => s.reason)).toEqual(['not a certificate (private key)', 'not a certificate (private key)']);
  });

  test('an expired certificate makes the exit code 2, in the report too', () => {
    expect(json.code).toBe(2);
    expect(table.code).toBe(2);
    const r = report(json);
    expect(r.status).toBe('crit');
    expect(r.exitCode).toBe(2);
    expect(r.summary).toEqual({ total: 5, ok: 3, warn: 1, crit: 0, expired: 1, notYetValid: 0, invalid: 0, skipped: 2, errors: 0 });
    expect(r.now).toBe(NOW);
    expect(r.thresholds).toEqual({ warn: '28d', crit: '14d' });
  });

  test('the tables of kubeadm certs check-expiration: leaves by days left with STATUS and their CA, then the CAs', () => {
    const [leaves, cas, summary] = table.stdout.split('\n\n');
    expect(leaves.split('\n')[0].split(/ {2,}/)).toEqual(['NAME', 'SOURCE', 'SUBJECT', 'NOT AFTER', 'DAYS LEFT', 'STATUS', 'CERTIFICATE AUTHORITY', 'KEY TYPE']);
    const rows = tableRows(table.stdout);
    expect(rows.map((r) => [r.NAME, r['NOT AFTER'], r['DAYS LEFT'], r.STATUS, r['CERTIFICATE AUTHORITY'], r['KEY TYPE']])).toEqual([
      ['kube-node.pem#1', '2031-02-26T00:00:00Z', '-3', 'expired', 'kube-ca.pem#1', 'RSA 2048'],
      ['kube-apiserver.pem#1', '2031-03-21T00:00:00Z', '20', 'warn', 'kube-ca.pem#1', 'RSA 2048'],
      ['kube-etcd-10-0-0-1.pem#1', '2031-12-26T00:00:00Z', '300', 'ok', 'kube-ca.pem#1', 'ECDSA P-256'],
    ]);
    expect(rows[1].SUBJECT).toBe('CN=kube-apiserver');
    expect(rows[0].SOURCE).toBe(`file:${path.join(trees.rkeRoot, 'etc/kubernetes/ssl')}`);
    expect(tableRows(cas).map((r) => [r['CERTIFICATE AUTHORITY'], r.SUBJECT, r['DAYS LEFT'], r.STATUS, r['SIGNED BY']])).toEqual([
      ['kube-ca.pem#1', 'CN=kube-ca', '3650', 'ok', 'self-signed'],
      ['kubecfg-kube-node.yaml:clusters/local:certificate-authority#1', 'CN=kube-ca', '3650', 'ok', 'self-signed'],
    ]);
    expect(summary).toBe(`5 certificates: 1 expired, 1 warn (< 28d), 3 ok; 2 skipped (at ${NOW})\n`);
  });

  test('YAML output holds the same report as JSON', async () => {
    const yaml = await runCli('check', '--preset', 'rke', '--root', trees.rkeRoot, '--now', NOW, '-o', 'yaml');
    expect(yaml.code).toBe(2);
    expect(parseYaml(yaml.stdout)).toEqual(report(json));
  });

  test('private keys are never printed', () => {
    expectNoKeyMaterial(json, table);
  });
});

describe('check: kubeadm control plane (/etc/kubernetes/pki)', () => {
  const kubeadm = (...extra: string[]) => runCli('check', '--preset', 'kubeadm', '--root', trees.kubeadmRoot, '--output', 'json', ...extra);

  test('recurses into etcd/, reads Ed25519, and 10 days left is critical (exit 2)', async () => {
    const r = await kubeadm('--now', NOW);
    expect(r.code).toBe(2);
    expect(report(r).certificates.map((c) => [c.name, c.daysLeft, c.status, c.keyType])).toEqual([
      ['apiserver-kubelet-client.crt#1', 10, 'crit', 'RSA 2048'],
      ['etcd/server.crt#1', 100, 'ok', 'Ed25519'],
      ['apiserver.crt#1', 200, 'ok', 'RSA 2048'],
      ['ca.crt#1', 3650, 'ok', 'RSA 2048'],
      ['etcd/ca.crt#1', 3650, 'ok', 'Ed25519'],
    ]);
    const client = report(r).certificates[0];
    expect(client.subject).toBe('O=kubeadm:cluster-admins, CN=kube-apiserver-kubelet-client');
    expect(report(r).skipped.map((s) => path.basename(s.name) + ': ' + s.reason)).toEqual([
      // /var/lib/kubelet/pki: this tree has no kubelet directory, which the preset reads when present.
      'pki: not present (a location of the preset this node does not have)',
      'ca.key: not a certificate (private key)',
      'sa.key: not a certificate (private key)',
      'sa.pub: not a certificate (public key)',
    ]);
  });

  test('--crit 7d turns 10 days left into a warning (exit 1)', async () => {
    const r = await kubeadm('--now', NOW, '--crit', '7d');
    expect(r.code).toBe(1);
    expect(report(r).status).toBe('warn');
    expect(report(r).certificates[0].status).toBe('warn');
  });

  test('--warn 7d --crit 7d: everything is ok (exit 0)', async () => {
    const r = await kubeadm('--now', NOW, '--warn', '7d', '--crit', '7d');
    expect(r.code).toBe(0);
    expect(report(r).status).toBe('ok');
    expect(report(r).certificates.every((c) => c.status === 'ok')).toBe(true);
  });

  test('--now moves the check in time: a month earlier, 38 days are left (exit 0)', async () => {
    const r = await kubeadm('--now', '2031-02-01');
    expect(r.code).toBe(0);
    expect(report(r).certificates[0]).toMatchObject({ name: 'apiserver-kubelet-client.crt#1', daysLeft: 38, status: 'ok' });
  });

  test('--now before notBefore: not yet valid counts as critical', async () => {
    const r = await kubeadm('--now', '2031-01-01');
    expect(r.code).toBe(2);
    const statuses = new Map(report(r).certificates.map((c) => [c.name, c.status]));
    expect(statuses.get('apiserver.crt#1')).toBe('notYetValid');
    expect(statuses.get('ca.crt#1')).toBe('ok');
  });

  test('expiry day by day around the thresholds (both ends inclusive)', async () => {
    // apiserver-kubelet-client expires 2031-03-11T00:00:00Z.
    const at = async (now: string) => report(await kubeadm('--now', now)).certificates[0];
    expect(await at('2031-02-11T00:00:00Z')).toMatchObject({ daysLeft: 28, status: 'warn' });
    expect(await at('2031-02-10T23:59:59Z')).toMatchObject({ daysLeft: 28, status: 'ok' });
    expect(await at('2031-02-25T00:00:00Z')).toMatchObject({ daysLeft: 14, status: 'crit' });
    expect(await at('2031-03-11T00:00:00Z')).toMatchObject({ daysLeft: 0, status: 'crit' });
    expect(await at('2031-03-11T00:00:01Z')).toMatchObject({ daysLeft: -1, status: 'expired' });
  });
});

describe('check: RKE2 server and agent (/var/lib/rancher/rke2)', () => {
  test('reads ECDSA certificates and every certificate of a CRLF bundle', async () => {
    const r = await runCli('check', '--preset', 'rke2-server', '--root', trees.rke2Root, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(0);
    expect(report(r).certificates.map((c) => [c.name, c.daysLeft, c.isCA, c.keyType])).toEqual([
      ['client-admin.crt#1', 50, false, 'ECDSA P-256'],
      // A server runs the agent too: its kubelet certificate (source …/agent sorts before …/server/tls).
      ['client-kubelet.crt#1', 364, false, 'ECDSA P-256'],
      ['etcd/server-client.crt#1', 364, false, 'ECDSA P-256'],
      ['serving-kube-apiserver.crt#1', 364, false, 'ECDSA P-256'],
      ['server-ca.crt#1', 3650, true, 'ECDSA P-256'],
      ['client-admin.crt#2', 3651, true, 'ECDSA P-256'],
      ['client-ca.crt#1', 3651, true, 'ECDSA P-256'],
    ]);
    const admin = report(r).certificates[0];
    expect(admin.subject).toBe('O=system:masters, CN=system:admin');
    expect(admin.issuer).toBe('CN=rke2-client-ca@1708499173');
    const tls = path.join(trees.rke2Root, 'var/lib/rancher/rke2/server/tls');
    const absent = 'not present (a location of the preset this node does not have)';
    expect(r.stderr).toBe(
      `skipped ${path.join(trees.rke2Root, 'var/lib/rancher/rke2/server/cred')}: ${absent}\n` +
        `skipped ${path.join(trees.rke2Root, 'etc/rancher/rke2/rke2.yaml')}: ${absent}\n` +
        `skipped ${tls}/dynamic-cert.json: not a certificate\n` +
        `skipped ${tls}/random.bin: not a certificate\n`,
    );
  });

  test('the agent preset reads only the top level (not containerd\'s image store)', async () => {
    const r = await runCli('check', '--preset', 'rke2-agent', '--preset', 'rke2-server', '--root', trees.rke2Root, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(0);
    const agent = `file:${path.join(trees.rke2Root, 'var/lib/rancher/rke2/agent')}`;
    expect(report(r).certificates.filter((c) => c.source === agent).map((c) => c.name)).toEqual(['client-kubelet.crt#1']);
    expect(report(r).certificates).toHaveLength(7);
    expect(r.stdout).not.toContain('expired.crt');
    expect(r.stderr).not.toContain('containerd');
  });

  test('a directory given as PATH is walked completely, names relative to it', async () => {
    const agent = path.join(trees.rke2Root, 'var/lib/rancher/rke2/agent');
    const r = await runCli('check', agent, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(2);
    expect(report(r).certificates.map((c) => [c.name, c.status])).toEqual([
      ['containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/1/fs/etc/ssl/expired.crt#1', 'expired'],
      ['client-kubelet.crt#1', 'ok'],
    ]);
  });
});

describe('check: files given directly, read errors and exit codes', () => {
  const ssl = () => path.join(trees.rkeRoot, 'etc/kubernetes/ssl');

  test('a file is named by its base name; several sources mix', async () => {
    const tls = path.join(trees.rke2Root, 'var/lib/rancher/rke2/server/tls');
    const r = await runCli('check', path.join(ssl(), 'kube-ca.pem'), '-f', path.join(tls, 'client-admin.crt'), '--now', NOW, '-o', 'json');
    expect(r.code).toBe(0);
    expect(report(r).certificates.map((c) => [c.name, c.source])).toEqual([
      ['client-admin.crt#1', `file:${tls}/client-admin.crt`],
      ['kube-ca.pem#1', `file:${ssl()}/kube-ca.pem`],
      ['client-admin.crt#2', `file:${tls}/client-admin.crt`],
    ]);
  });

  test('only warnings: exit 1', async () => {
    const r = await runCli('check', path.join(ssl(), 'kube-apiserver.pem'), path.join(ssl(), 'kube-ca.pem'), '--now', NOW);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('');
  });

  test('a missing path is a read error: the rest is still reported, then exit 3', async () => {
    const missing = path.join(trees.root, 'no/such/dir');
    const r = await runCli('check', path.join(ssl(), 'kube-ca.pem'), missing, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(3);
    const rep = report(r);
    expect(rep.certificates.map((c) => c.name)).toEqual(['kube-ca.pem#1']);
    expect(rep.status).toBe('error');
    expect(rep.exitCode).toBe(3);
    expect(rep.errors).toEqual([{ source: `file:${missing}`, message: `cannot read ${missing}: no such file or directory (ENOENT)` }]);
    expect(r.stderr).toBe(`error: cannot read ${missing}: no such file or directory (ENOENT)\n`);
  });

  test('a read error wins over a critical certificate (3, not 2), and the table still shows it', async () => {
    const r = await runCli('check', ssl(), path.join(trees.root, 'nope.pem'), '--now', NOW);
    expect(r.code).toBe(3);
    expect(tableRows(r.stdout)[0].NAME).toBe('kube-node.pem#1');
    // Without --root, kubecfg-kube-node.yaml's /etc/kubernetes/ssl/kube-ca.pem is this machine's, which has none: a second read error.
    expect(r.stdout).toContain('4 certificates: 1 expired, 1 warn (< 28d), 2 ok; 2 skipped, 2 read errors');
  });

  test('a file given directly that holds no certificate is an error', async () => {
    const key = path.join(ssl(), 'kube-ca-key.pem');
    const r = await runCli('check', key, '-o', 'json');
    expect(r.code).toBe(3);
    expect(report(r).errors).toEqual([{ source: `file:${key}`, message: `${key}: not a certificate (private key)` }]);
    expect(report(r).certificates).toEqual([]);
    expectNoKeyMaterial(r);
  });

  test('a corrupt certificate in a directory is an invalid finding naming the file (exit 2); the others are read', async () => {
    const dir = path.join(trees.root, 'corrupt');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(ssl(), 'kube-ca.pem'), path.join(dir, 'good.pem'));
    const lines = fs.readFileSync(path.join(ssl(), 'kube-apiserver.pem'), 'utf8').split('\n');
    lines.splice(3, 2); // cut two base64 lines out of the middle
    fs.writeFileSync(path.join(dir, 'bad.pem'), lines.join('\n'));
    const r = await runCli('check', dir, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(2);
    expect(report(r).status).toBe('crit');
    expect(report(r).certificates.map((c) => c.name)).toEqual(['good.pem#1']);
    expect(report(r).errors).toEqual([]);
    expect(report(r).summary.invalid).toBe(1);
    expect(report(r).invalid).toHaveLength(1);
    expect(report(r).invalid[0]).toMatchObject({ name: 'bad.pem', source: `file:${dir}`, file: path.join(dir, 'bad.pem'), status: 'invalid' });
    expect(report(r).invalid[0].message).toMatch(new RegExp(`^${path.join(dir, 'bad.pem').replace(/[.]/g, '\\.')}: .*Fix: `));
    expect(r.stderr).toMatch(/^invalid: .*bad\.pem: /m);
    const table = await runCli('check', dir, '--now', NOW);
    expect(table.code).toBe(2);
    expect(tableRows(table.stdout)[0]).toMatchObject({ NAME: 'bad.pem', STATUS: 'invalid' });
    expect(table.stdout).toContain('1 certificate: 1 invalid, 1 ok');
  });

  test('an empty .crt, garbage after BEGIN, and bad DER in a .der are invalid; an empty .txt or a key is skipped', async () => {
    const dir = path.join(trees.root, 'broken-kinds');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'empty.crt'), '');
    fs.writeFileSync(path.join(dir, 'garbage.pem'), '-----BEGIN CERTIFICATE-----\nthis is not base64 at all!\n-----END CERTIFICATE-----\n');
    fs.writeFileSync(path.join(dir, 'bad.der'), Buffer.concat([Buffer.from([0x30, 0x82, 0x01, 0x00]), Buffer.alloc(256, 7)]));
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    fs.copyFileSync(path.join(ssl(), 'kube-ca-key.pem'), path.join(dir, 'kube-ca-key.pem'));
    const r = await runCli('check', dir, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(2);
    expect(report(r).invalid.map((i) => i.name)).toEqual(['bad.der', 'empty.crt', 'garbage.pem']);
    expect(report(r).invalid.map((i) => i.message)).toEqual([
      expect.stringMatching(/bad\.der: bad\.der is binary but not a valid DER certificate/),
      `${path.join(dir, 'empty.crt')}: empty.crt is empty. Fix: write the certificate (PEM, -----BEGIN CERTIFICATE-----) into it again, e.g. from a backup, or renew it.`,
      expect.stringMatching(/garbage\.pem: in garbage\.pem, the PEM block -----BEGIN CERTIFICATE----- that starts on line 1 is not valid base64/),
    ]);
    expect(report(r).skipped.map((s) => [path.basename(s.name), s.reason])).toEqual([
      ['empty.txt', 'not a certificate (empty)'],
      ['kube-ca-key.pem', 'not a certificate (private key)'],
    ]);
    expectNoKeyMaterial(r);
  });

  test('a DER certificate is read too', async () => {
    const dir = path.join(trees.root, 'der');
    fs.mkdirSync(dir, { recursive: true });
    const pem = fs.readFileSync(path.join(ssl(), 'kube-ca.pem'), 'utf8');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    fs.writeFileSync(path.join(dir, 'kube-ca.der'), der);
    const r = await runCli('check', dir, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(0);
    expect(report(r).certificates.map((c) => [c.name, c.subject])).toEqual([['kube-ca.der#1', 'CN=kube-ca']]);
  });

  test('a directory without certificates: nothing found, exit 0, said in the table', async () => {
    const dir = path.join(trees.root, 'keys-only');
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(ssl(), 'kube-ca-key.pem'), path.join(dir, 'k-key.pem'));
    fs.writeFileSync(path.join(dir, 'empty.txt'), '');
    const r = await runCli('check', dir, '--now', NOW);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0].split(/ {2,}/)[0]).toBe('NAME');
    expect(r.stdout).toContain('no certificates found (2 skipped: not certificates)');
    expect(r.stderr).toBe(`skipped ${dir}/empty.txt: not a certificate (empty)\nskipped ${dir}/k-key.pem: not a certificate (private key)\n`);
  });

  test('symbolic links to files are read, to directories not followed', async () => {
    const dir = path.join(trees.root, 'links');
    fs.mkdirSync(dir, { recursive: true });
    fs.symlinkSync(path.join(ssl(), 'kube-ca.pem'), path.join(dir, 'ca-link.pem'));
    fs.symlinkSync(ssl(), path.join(dir, 'ssl-link'));
    const r = await runCli('check', dir, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(0);
    expect(report(r).certificates.map((c) => c.name)).toEqual(['ca-link.pem#1']);
    expect(report(r).skipped).toEqual([{ name: path.join(dir, 'ssl-link'), source: `file:${dir}`, reason: 'symbolic link to a directory, not followed' }]);
  });

  test('a bundle whose second certificate is not X.509: the error names the block and its line', async () => {
    const dir = path.join(trees.root, 'bad-bundle');
    fs.mkdirSync(dir, { recursive: true });
    const notX509 = Buffer.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02]).toString('base64');
    const good = fs.readFileSync(path.join(ssl(), 'kube-ca.pem'), 'utf8');
    fs.writeFileSync(path.join(dir, 'chain.pem'), `${good}-----BEGIN CERTIFICATE-----\n${notX509}\n-----END CERTIFICATE-----\n`);
    const r = await runCli('check', dir, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(2);
    expect(report(r).certificates).toEqual([]);
    expect(report(r).errors).toEqual([]);
    const line = good.split('\n').length;
    expect(report(r).invalid[0].message).toContain(`certificate 2 of 2 (PEM block on line ${line})`);
    expect(report(r).invalid[0].message).toMatch(/is not a valid X\.509 certificate/);
  });

  test('a large directory is read in batches: every file, in name order, the same certificate each time', async () => {
    const dir = path.join(trees.root, 'many');
    fs.mkdirSync(dir, { recursive: true });
    const tls = path.join(trees.rke2Root, 'var/lib/rancher/rke2/server/tls');
    for (let i = 0; i < 150; i++) {
      fs.copyFileSync(path.join(tls, i % 2 ? 'client-admin.crt' : 'server-ca.crt'), path.join(dir, `c${String(i).padStart(3, '0')}.crt`));
    }
    const r = await runCli('check', dir, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(0);
    const certs = report(r).certificates;
    expect(certs).toHaveLength(75 + 150);
    expect(certs.filter((c) => c.subject === 'O=system:masters, CN=system:admin').map((c) => c.name)).toEqual(
      Array.from({ length: 75 }, (_, k) => `c${String(2 * k + 1).padStart(3, '0')}.crt#1`),
    );
    expect(new Set(certs.filter((c) => c.name.endsWith('#2')).map((c) => c.sha256Fingerprint)).size).toBe(1);
  });
});
