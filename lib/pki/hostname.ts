/**
 * Server identity checks per RFC 6125 §6.4: does a certificate cover the host
 * clients connect to?
 *
 * Written here rather than with Node's `X509Certificate.checkHost` because
 * that (OpenSSL's X509_check_host) answers differently on two inputs we test:
 * a host with a leading dot (`.example.com`) matches `*.example.com` there, as
 * "any subdomain", and a SAN with a trailing dot (`rancher.example.com.`)
 * matches nothing there, while RFC 6125 ignores the dot.
 */
import { isIP } from 'net';
import type { CertificateInfo } from './certificate';

/**
 * Returns the canonical text of an IP address (IPv4 dotted quad; IPv6
 * compressed and lowercase per RFC 5952), or undefined for anything else.
 */
export function normalizeIp(text: string): string | undefined {
  const value = text.trim();
  const kind = isIP(value);
  if (kind === 4) {
    return value;
  }
  if (kind === 6) {
    return new URL(`http://[${value}]/`).hostname.slice(1, -1);
  }
  return undefined;
}

/**
 * Matches one presented DNS identifier (or IP SAN) against the host a client
 * connects to, per RFC 6125 §6.4.3:
 * - comparison is case-insensitive and ignores one trailing dot;
 * - `*` is only a wildcard as the whole left-most label of a pattern with at
 *   least two further labels, and stands for exactly one label: `*.example.com`
 *   matches `a.example.com` but neither `example.com` nor `a.b.example.com`;
 *   partial wildcards such as `w*.example.com` match nothing;
 * - an IP address only matches an equal IP address, never a DNS pattern.
 */
export function hostnameMatches(pattern: string, hostname: string): boolean {
  const hostIp = normalizeIp(stripBrackets(hostname));
  const patternIp = normalizeIp(pattern);
  if (hostIp !== undefined || patternIp !== undefined) {
    return hostIp !== undefined && hostIp === patternIp;
  }
  const host = canonicalDnsName(hostname);
  const presented = canonicalDnsName(pattern);
  if (host === '' || presented === '') {
    return false;
  }
  if (!presented.includes('*')) {
    return presented === host;
  }
  const labels = presented.split('.');
  if (labels[0] !== '*' || labels.slice(1).some((l) => l.includes('*')) || labels.length < 3) {
    return false;
  }
  const hostLabels = host.split('.');
  if (hostLabels.length !== labels.length || hostLabels[0] === '') {
    return false;
  }
  return hostLabels.slice(1).join('.') === labels.slice(1).join('.');
}

/**
 * How a certificate covers a host: through a subjectAltName entry (`san`),
 * only through the subject common name of a certificate without any DNS or IP
 * SAN (`common-name`, which RFC 6125 allows but Go clients such as Rancher
 * agents and kubectl reject since Go 1.15), or not at all (`none`).
 */
export function hostCoverage(cert: CertificateInfo, hostname: string): 'san' | 'common-name' | 'none' {
  const hostIp = normalizeIp(stripBrackets(hostname));
  if (hostIp !== undefined) {
    return cert.ipAddresses.some((ip) => ip === hostIp) ? 'san' : 'none';
  }
  if (cert.dnsNames.some((name) => hostnameMatches(name, hostname))) {
    return 'san';
  }
  const hasSans = cert.dnsNames.length > 0 || cert.ipAddresses.length > 0;
  if (!hasSans && cert.subjectCommonName !== undefined && hostnameMatches(cert.subjectCommonName, hostname)) {
    return 'common-name';
  }
  return 'none';
}

/**
 * True when the certificate is valid for the host per RFC 6125: a matching
 * DNS SAN (or IP SAN for an IP address); the subject CN is only consulted when
 * the certificate has no SAN at all, and never for IP addresses.
 */
export function certificateCoversHost(cert: CertificateInfo, hostname: string): boolean {
  return hostCoverage(cert, hostname) !== 'none';
}

function stripBrackets(host: string): string {
  const h = host.trim();
  return h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h;
}

function canonicalDnsName(name: string): string {
  return name.trim().toLowerCase().replace(/\.$/, '');
}
