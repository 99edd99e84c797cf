import * as fs from 'fs';
import * as net from 'net';
import * as path from 'path';
import * as tls from 'tls';
import { OpensslIssued } from '../../support/pki';
import { report, runCli } from './support/run-cli';
import { buildNodeTrees, NodeTrees, NOW, removeTrees } from './support/trees';

let trees: NodeTrees;
let server: tls.Server;
let port: number;
let silent: net.Server;
let silentPort: number;
let closedPort: number;
let servedNames: string[];
const sockets: net.Socket[] = [];

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
}

beforeAll(async () => {
  trees = buildNodeTrees();
  const f = trees.fixtures;
  // A chain as Rancher's ingress serves it after a certificate update: server leaf, intermediate CA, root CA.
  const root: OpensslIssued = f.ca({ subject: '/CN=ingress-root', keyType: 'rsa', notAfterDays: 3650 });
  const inter = f.intermediate(root, { subject: '/CN=ingress-intermediate', keyType: 'rsa', notAfterDays: 3000 });
  const leaf = f.leaf(inter, { subject: '/CN=rancher.example.com', keyType: 'ec-p256', notAfterDays: 13, san: ['DNS:rancher.example.com', 'IP:127.0.0.1'] });
  servedNames = [];
  server = tls.createServer({
    key: fs.readFileSync(leaf.key),
    cert: fs.readFileSync(leaf.cert, 'utf8') + fs.readFileSync(inter.cert, 'utf8') + fs.readFileSync(root.cert, 'utf8'),
    // Called only when the client sends SNI; the default context then serves the chain.
    SNICallback: (name, cb) => {
      servedNames.push(name);
      cb(null, undefined);
    },
  });
  server.on('connection', (socket) => sockets.push(socket));
  port = await listen(server);
  silent = net.createServer((socket) => sockets.push(socket)); // accepts TCP, never answers the handshake
  silentPort = await listen(silent);
  const closed = net.createServer();
  closedPort = await listen(closed);
  await new Promise((r) => closed.close(r));
}, 60_000);

afterAll(async () => {
  removeTrees(trees);
  sockets.forEach((s) => s.destroy());
  await new Promise((r) => server.close(r));
  await new Promise((r) => silent.close(r));
});

describe('check --endpoint', () => {
  test('reads the whole served chain: #1 is the leaf, then its issuers up to the self-signed root', async () => {
    const r = await runCli('check', '--endpoint', `127.0.0.1:${port}`, '--now', NOW, '-o', 'json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(2);
    const certs = report(r).certificates;
    const byName = new Map(certs.map((c) => [c.name, c]));
    expect([...byName.keys()].sort()).toEqual([`127.0.0.1:${port}#1`, `127.0.0.1:${port}#2`, `127.0.0.1:${port}#3`]);
    expect(byName.get(`127.0.0.1:${port}#1`)).toMatchObject({
      subject: 'CN=rancher.example.com',
      issuer: 'CN=ingress-intermediate',
      isCA: false,
      daysLeft: 13,
      status: 'crit',
      keyType: 'ECDSA P-256',
      dnsNames: ['rancher.example.com'],
      ipAddresses: ['127.0.0.1'],
      source: `endpoint:127.0.0.1:${port}`,
    });
    expect(byName.get(`127.0.0.1:${port}#2`)).toMatchObject({ subject: 'CN=ingress-intermediate', issuer: 'CN=ingress-root', isCA: true });
    expect(byName.get(`127.0.0.1:${port}#3`)).toMatchObject({ subject: 'CN=ingress-root', issuer: 'CN=ingress-root', isCA: true, selfSigned: true });
  });

  test('sends the host name as SNI, and no SNI for an IP address', async () => {
    servedNames.length = 0;
    const byIp = await runCli('check', '--endpoint', `127.0.0.1:${port}`, '--now', NOW, '-o', 'json');
    expect(report(byIp).errors).toEqual([]);
    expect(servedNames).toEqual([]);
    const byName = await runCli('check', '--endpoint', `localhost:${port}`, '--now', NOW, '-o', 'json');
    expect(report(byName).errors).toEqual([]);
    expect(report(byName).certificates.map((c) => c.name).sort()).toEqual([`localhost:${port}#1`, `localhost:${port}#2`, `localhost:${port}#3`]);
    expect(servedNames).toEqual(['localhost']);
  });

  test('a refused connection is a read error (exit 3); other sources are still reported', async () => {
    const ca = path.join(trees.rkeRoot, 'etc/kubernetes/ssl/kube-ca.pem');
    const r = await runCli('check', ca, '--endpoint', `127.0.0.1:${closedPort}`, '--now', NOW, '-o', 'json');
    expect(r.code).toBe(3);
    expect(report(r).certificates.map((c) => c.name)).toEqual(['kube-ca.pem#1']);
    expect(report(r).errors).toEqual([
      { source: `endpoint:127.0.0.1:${closedPort}`, message: `cannot read the certificates of 127.0.0.1:${closedPort}: connect ECONNREFUSED 127.0.0.1:${closedPort}` },
    ]);
  });

  test('an endpoint that never completes the handshake times out (exit 3)', async () => {
    const started = Date.now();
    const r = await runCli('check', '--endpoint', `127.0.0.1:${silentPort}`, '--timeout', '300ms', '-o', 'json');
    expect(r.code).toBe(3);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(report(r).errors[0].message).toBe(`cannot read the certificates of 127.0.0.1:${silentPort}: no TLS handshake within 300 ms`);
  });
});
