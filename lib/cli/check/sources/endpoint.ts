/**
 * Certificates served by a TLS endpoint: connect (without verifying: the point
 * is to look at what is served, even when expired or untrusted), read the
 * peer's chain by walking `issuerCertificate` from the leaf, stop at a
 * self-signed certificate (which Node links to itself) or a repeat.
 */
import * as net from 'net';
import type * as tls from 'tls';
import { extractCertificates } from '../extract';
import { emptyResult, mergeResults, SourceResult } from '../model';

/** A parsed `host:port`. */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
  /** `host:port`, with brackets around IPv6 hosts: `[::1]:6443`. */
  readonly label: string;
}

/**
 * Parses `host:port`, `[ipv6]:port`, or `host` (port 443).
 *
 * @throws Error with a sentence naming the value when it cannot be read
 */
export function parseEndpoint(value: string): Endpoint {
  let host: string;
  let portText: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(value);
  if (bracketed) {
    host = bracketed[1];
    portText = bracketed[2];
  } else if ((value.match(/:/g) ?? []).length > 1) {
    throw new Error(`--endpoint '${value}': put IPv6 addresses in brackets, e.g. [::1]:6443`);
  } else {
    const colon = value.lastIndexOf(':');
    host = colon >= 0 ? value.slice(0, colon) : value;
    portText = colon >= 0 ? value.slice(colon + 1) : undefined;
  }
  const port = portText === undefined ? 443 : Number(portText);
  if (host === '' || !Number.isInteger(port) || port < 1 || port > 65535 || (portText !== undefined && !/^\d+$/.test(portText))) {
    throw new Error(`--endpoint '${value}' is not host:port (a host name or IP address, a colon and a port from 1 to 65535), e.g. 10.0.0.1:6443`);
  }
  const label = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  return { host, port, label };
}

/** Options of {@link scanEndpoint}. */
export interface ScanEndpointOptions {
  /** Connect and handshake timeout in milliseconds. @default 10000 */
  readonly timeoutMs?: number;
}

/**
 * Reads the certificate chain an endpoint serves; entries are named
 * `host:port#1` (the leaf), `#2` (its issuer), …
 *
 * The chain is what the server sent, plus the root when the local trust store
 * holds it. SNI is the host name (not sent for IP addresses, per RFC 6066).
 */
export async function scanEndpoint(endpoint: Endpoint, options: ScanEndpointOptions = {}): Promise<SourceResult> {
  const source = `endpoint:${endpoint.label}`;
  let chain: Buffer[];
  try {
    chain = await fetchChain(endpoint, options.timeoutMs ?? 10_000);
  } catch (err) {
    return { certificates: [], skipped: [], errors: [{ source, message: `cannot read the certificates of ${endpoint.label}: ${(err as Error).message}` }], invalid: [] };
  }
  const result = emptyResult();
  chain.forEach((der, i) => {
    const found = extractCertificates(der, { name: endpoint.label, source, file: endpoint.label, field: `certificate ${i + 1} of the served chain` });
    // Each certificate is its own item: rename `#1` to its position in the chain.
    mergeResults(result, {
      certificates: found.certificates.map((c) => ({ ...c, name: `${endpoint.label}#${i + 1}` })),
      skipped: found.skipped,
      errors: found.errors,
      invalid: found.invalid,
    });
  });
  return result;
}

function fetchChain(endpoint: Endpoint, timeoutMs: number): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    // tls (and what it loads) on the first connection: a check of files never needs it.
    const socket = (require('tls') as typeof tls).connect({
      host: endpoint.host,
      port: endpoint.port,
      servername: net.isIP(endpoint.host) ? undefined : endpoint.host,
      rejectUnauthorized: false,
      timeout: timeoutMs,
    });
    let settled = false;
    const done = (err: Error | undefined, chain?: Buffer[]) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (err) reject(err);
      else resolve(chain ?? []);
    };
    socket.once('secureConnect', () => {
      const chain: Buffer[] = [];
      const seen = new Set<string>();
      let cert: tls.DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (cert && cert.raw && cert.raw.length > 0) {
        const key = cert.raw.toString('base64');
        if (seen.has(key)) break;
        seen.add(key);
        chain.push(cert.raw);
        const issuer: tls.DetailedPeerCertificate | undefined = cert.issuerCertificate;
        if (!issuer || issuer === cert) break;
        cert = issuer;
      }
      if (chain.length === 0) {
        done(new Error('the server sent no certificate'));
      } else {
        done(undefined, chain);
      }
    });
    socket.once('timeout', () => done(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.once('error', (err) => done(err));
  });
}
