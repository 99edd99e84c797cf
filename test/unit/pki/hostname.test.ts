import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  CertificateInfo,
  certificateCoversHost,
  generateCa,
  generateLeaf,
  hostCoverage,
  hostnameMatches,
  normalizeIp,
  parseCertificate,
} from '../../../lib/pki';
import { makeOpensslSelfSigned } from '../../support/pki';

describe('hostnameMatches (RFC 6125 §6.4.3)', () => {
  test.each([
    ['rancher.example.com', 'rancher.example.com', true],
    ['Rancher.Example.COM', 'rancher.example.com', true],
    ['rancher.example.com.', 'RANCHER.example.com', true],
    ['rancher.example.com', 'rancher.example.com.', true],
    ['rancher.example.com', 'rancher.example.org', false],
    ['rancher.example.com', 'example.com', false],
    ['*.example.com', 'a.example.com', true],
    ['*.example.com', 'A.EXAMPLE.COM', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'a.b.example.com', false],
    ['*.example.com', '.example.com', false],
    ['*.example.com', 'a.example.org', false],
    ['*.com', 'example.com', false],
    ['*', 'localhost', false],
    ['a.*.example.com', 'a.b.example.com', false],
    ['w*.example.com', 'www.example.com', false],
    ['*w.example.com', 'ww.example.com', false],
    ['**.example.com', 'a.example.com', false],
    ['*.*.example.com', 'a.b.example.com', false],
    ['', 'example.com', false],
    ['example.com', '', false],
    // IP addresses only match IP identifiers.
    ['10.0.0.1', '10.0.0.1', true],
    ['10.0.0.1', '10.0.0.2', false],
    ['*.0.0.1', '10.0.0.1', false],
    ['2001:db8::1', '2001:DB8:0:0:0:0:0:1', true],
    ['2001:db8::1', '[2001:db8::1]', true],
    ['2001:db8::1', '2001:db8::2', false],
    ['10.0.0.1', '10.0.0.1.example.com', false],
  ])('hostnameMatches(%j, %j) is %s', (pattern, hostname, expected) => {
    expect(hostnameMatches(pattern, hostname)).toBe(expected);
  });
});

describe('normalizeIp', () => {
  test.each([
    ['10.1.2.3', '10.1.2.3'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['FE80:0:0:0:1:0:0:1', 'fe80::1:0:0:1'],
    [' 192.168.0.1 ', '192.168.0.1'],
    ['rancher.example.com', undefined],
    ['999.1.1.1', undefined],
  ])('normalizeIp(%j) is %j', (input, expected) => {
    expect(normalizeIp(input)).toBe(expected);
  });
});

describe('certificateCoversHost and hostCoverage', () => {
  let dir: string;
  let sanCert: CertificateInfo;
  let ipOnlyCert: CertificateInfo;
  let cnOnlyCert: CertificateInfo;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-host-'));
    const validity = { notBefore: new Date('2025-01-01T00:00:00Z'), notAfter: new Date('2026-01-01T00:00:00Z') };
    const ca = generateCa({ commonName: 'Host Test CA', ...validity });
    const san = generateLeaf({
      commonName: 'cn-only-name.example.com',
      dnsNames: ['rancher.example.com', '*.apps.example.com'],
      ipAddresses: ['192.168.10.5', '2001:db8::10'],
      ...validity,
      issuer: ca,
      keyPem: ca.keyPem,
    });
    sanCert = parseCertificate(san.certPem, '/x/san.crt', 'tls.crt');
    const ipOnly = generateLeaf({
      commonName: '192.168.10.6',
      dnsNames: [],
      ipAddresses: ['192.168.10.6'],
      ...validity,
      issuer: ca,
      keyPem: ca.keyPem,
    });
    ipOnlyCert = parseCertificate(ipOnly.certPem, '/x/ip.crt', 'tls.crt');
    const cnOnly = makeOpensslSelfSigned(dir, 'cn-only', {
      keyType: 'ec-p256',
      commonName: 'legacy.example.com',
      dnsNames: [],
      notBefore: validity.notBefore,
      days: 30,
      isCA: false,
    });
    cnOnlyCert = parseCertificate(fs.readFileSync(cnOnly.cert), cnOnly.cert, 'tls.crt');
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('GIVEN a forge certificate WHEN parsed THEN its SANs come back normalized', () => {
    expect(sanCert.dnsNames).toEqual(['rancher.example.com', '*.apps.example.com']);
    expect(sanCert.ipAddresses).toEqual(['192.168.10.5', '2001:db8::10']);
  });

  test.each([
    ['rancher.example.com', 'san'],
    ['RANCHER.example.com', 'san'],
    ['x.apps.example.com', 'san'],
    ['apps.example.com', 'none'],
    ['a.b.apps.example.com', 'none'],
    ['192.168.10.5', 'san'],
    ['2001:DB8:0::10', 'san'],
    ['[2001:db8::10]', 'san'],
    ['192.168.10.6', 'none'],
    // SANs exist, so the subject CN is never consulted.
    ['cn-only-name.example.com', 'none'],
  ] as const)('GIVEN a SAN certificate WHEN the host is %s THEN coverage is %s', (host, expected) => {
    expect(hostCoverage(sanCert, host)).toBe(expected);
    expect(certificateCoversHost(sanCert, host)).toBe(expected !== 'none');
  });

  test('GIVEN a certificate with only an IP SAN WHEN checked THEN its IP CN is not used for names and the IP SAN matches', () => {
    expect(certificateCoversHost(ipOnlyCert, '192.168.10.6')).toBe(true);
    expect(certificateCoversHost(ipOnlyCert, 'rancher.example.com')).toBe(false);
  });

  test('GIVEN a certificate without any SAN WHEN checked THEN the CN is a fallback that hostCoverage flags', () => {
    expect(cnOnlyCert.dnsNames).toEqual([]);
    expect(hostCoverage(cnOnlyCert, 'legacy.example.com')).toBe('common-name');
    expect(certificateCoversHost(cnOnlyCert, 'Legacy.Example.com')).toBe(true);
    expect(certificateCoversHost(cnOnlyCert, 'other.example.com')).toBe(false);
  });
});
