/**
 * A Kubernetes API server stand-in for the client's tests: a real Node HTTPS
 * server on 127.0.0.1 with certificates made at test time, answering
 * `GET [prefix]/api/v1[/namespaces/NS]/secrets` in pages (`limit`, `continue`)
 * to a client that presents the expected client certificate, bearer token or
 * basic credentials, and Kubernetes Status errors otherwise.
 */
import { X509Certificate } from 'crypto';
import * as https from 'https';
import type { AddressInfo } from 'net';
import type { TLSSocket } from 'tls';
import { generateCa, generateLeaf, IssuedCertificate } from '../../../../lib/pki';

/** What the server saw of one request. */
export interface SeenRequest {
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization?: string;
  /** SHA-256 fingerprint of the client certificate presented, if any. */
  readonly clientCert?: string;
  /** The TLS server name (SNI) the client sent. */
  readonly servername?: string;
}

/** The certificates of a test: a CA, the server's certificate, a client identity, and an unrelated CA. */
export interface TestPki {
  readonly ca: IssuedCertificate;
  readonly server: IssuedCertificate;
  readonly client: IssuedCertificate;
  readonly otherCa: IssuedCertificate;
}

export function makeTestPki(): TestPki {
  const notBefore = new Date(Date.now() - 3_600_000);
  const notAfter = new Date(Date.now() + 86_400_000);
  const ca = generateCa({ commonName: 'kube-test-ca', notBefore, notAfter });
  const server = generateLeaf({ commonName: 'kube-apiserver', dnsNames: ['kube.test'], ipAddresses: ['127.0.0.1'], issuer: ca, notBefore, notAfter });
  const client = generateLeaf({ commonName: 'admin', organization: 'system:masters', dnsNames: ['admin'], issuer: ca, notBefore, notAfter });
  const otherCa = generateCa({ commonName: 'unrelated-ca', notBefore, notAfter });
  return { ca, server, client, otherCa };
}

/** Credentials the server accepts. */
export const GOOD_TOKEN = 'good-token';
export const BASIC_USER = 'alice';
export const BASIC_PASSWORD = 's3cret';

/** One secret of the server's store. */
export interface StoredSecret {
  readonly metadata: { readonly namespace: string; readonly name: string };
  readonly type: string;
  readonly data: Record<string, string>;
}

export interface KubeTestServer {
  /** https://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  readonly requests: SeenRequest[];
  /** The secrets it lists; tests may replace them. */
  secrets: StoredSecret[];
  close(): Promise<void>;
}

/**
 * Starts the server. Paths may carry the prefix /k8s/clusters/c-1 (as behind
 * Rancher); `/slow` never answers; namespace `locked` is forbidden (403).
 */
export async function startKubeServer(pki: TestPki): Promise<KubeTestServer> {
  const clientFingerprint = new X509Certificate(pki.client.certPem).fingerprint256;
  const requests: SeenRequest[] = [];
  const state = { secrets: [] as StoredSecret[] };
  const server = https.createServer(
    { cert: pki.server.certPem, key: pki.server.keyPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      const url = new URL(req.url ?? '/', 'https://127.0.0.1');
      const socket = req.socket as TLSSocket;
      const peer = socket.getPeerCertificate();
      const seen: SeenRequest = {
        path: url.pathname,
        query: url.searchParams,
        authorization: req.headers.authorization,
        clientCert: peer && peer.fingerprint256 ? peer.fingerprint256 : undefined,
        servername: (socket as TLSSocket & { servername?: string | false }).servername || undefined,
      };
      requests.push(seen);
      const send = (code: number, body: unknown) => {
        res.writeHead(code, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const status = (code: number, reason: string, message: string) => send(code, { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, reason, code });
      const basic = `Basic ${Buffer.from(`${BASIC_USER}:${BASIC_PASSWORD}`).toString('base64')}`;
      const authenticated = seen.clientCert === clientFingerprint || seen.authorization === `Bearer ${GOOD_TOKEN}` || seen.authorization === basic;
      if (!authenticated) {
        status(401, 'Unauthorized', 'Unauthorized');
        return;
      }
      const apiPath = url.pathname.replace(/^\/k8s\/clusters\/c-1(?=\/)/, '');
      if (apiPath === '/slow') {
        return; // never answers
      }
      if (apiPath === '/html') {
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<html>login</html>');
        return;
      }
      const m = /^\/api\/v1(?:\/namespaces\/([^/]+))?\/secrets$/.exec(apiPath);
      if (!m) {
        status(404, 'NotFound', `the server could not find the requested resource (${apiPath})`);
        return;
      }
      const namespace = m[1];
      if (namespace === 'locked') {
        status(403, 'Forbidden', `secrets is forbidden: User "admin" cannot list resource "secrets" in API group "" in the namespace "locked"`);
        return;
      }
      const [field, value] = (url.searchParams.get('fieldSelector') ?? '').split('=');
      const matching = state.secrets.filter(
        (s) => (!namespace || s.metadata.namespace === namespace) && (!field || (field === 'type' ? s.type === value : s.metadata.name === value)),
      );
      const limit = Number(url.searchParams.get('limit') ?? matching.length) || matching.length;
      const offset = Number(url.searchParams.get('continue') ?? '0');
      const next = offset + limit < matching.length ? String(offset + limit) : undefined;
      send(200, { kind: 'SecretList', apiVersion: 'v1', metadata: { resourceVersion: '1', ...(next ? { continue: next } : {}) }, items: matching.slice(offset, offset + limit) });
    },
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    requests,
    get secrets() {
      return state.secrets;
    },
    set secrets(value: StoredSecret[]) {
      state.secrets = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
