import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cattleCaChecksum, sha256Hex } from '../../../lib/pki';
import { makeOpensslChain, OpensslChain, sha256sum } from '../../support/pki';

describe('sha256Hex', () => {
  test('GIVEN the FIPS 180-2 vector "abc" WHEN hashed THEN the known digest comes back', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex(Buffer.from('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });

  test('GIVEN empty input WHEN hashed THEN the empty-string digest comes back', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
  });
});

// https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
describe('cattleCaChecksum (the manual-checksum method of Rancher\'s certificate update)', () => {
  let dir: string;
  let chain: OpensslChain;
  let cacerts: string;

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pki-sum-'));
    chain = makeOpensslChain(path.join(dir, 'chain'), {
      keyType: 'ec-p384',
      hostname: 'rancher.example.com',
      notBefore: new Date('2025-01-01T00:00:00Z'),
      days: 90,
    });
    cacerts = fs.readFileSync(chain.cacertsPem, 'utf8');
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  /** What an operator gets from `curl …/v3/settings/cacerts | jq -r .value > cacert.tmp; sha256sum cacert.tmp`. */
  function manualChecksum(settingValue: string): string {
    const response = path.join(dir, 'settings-cacerts.json');
    fs.writeFileSync(response, JSON.stringify({ type: 'setting', id: 'cacerts', value: settingValue }));
    const tmp = path.join(dir, 'cacert.tmp');
    fs.writeFileSync(tmp, execFileSync('jq', ['-r', '.value', response]));
    return sha256sum(tmp);
  }

  test('GIVEN cacerts.pem ending in one newline WHEN summed THEN it equals `sha256sum cacerts.pem`', () => {
    expect(cacerts.endsWith('-----END CERTIFICATE-----\n')).toBe(true);
    expect(cattleCaChecksum(cacerts)).toBe(sha256sum(chain.cacertsPem));
    expect(cattleCaChecksum(fs.readFileSync(chain.cacertsPem))).toBe(sha256sum(chain.cacertsPem));
  });

  test('GIVEN the setting value Rancher serves (trailing whitespace trimmed) WHEN the manual-checksum commands run THEN it equals our checksum', () => {
    expect(manualChecksum(cacerts.trimEnd())).toBe(cattleCaChecksum(cacerts));
  });

  test.each([
    ['no trailing newline', (t: string) => t.trimEnd()],
    ['several trailing newlines and spaces', (t: string) => t + '\n\n  \n'],
    ['trailing CRLF', (t: string) => t.trimEnd() + '\r\n'],
  ])('GIVEN cacerts.pem with %s WHEN summed THEN it equals sha256sum of the text trimmed plus one newline', (_name, variant) => {
    const text = variant(cacerts);
    const normalized = path.join(dir, 'normalized.pem');
    fs.writeFileSync(normalized, text.trimEnd() + '\n');
    expect(cattleCaChecksum(text)).toBe(sha256sum(normalized));
    expect(cattleCaChecksum(text)).toBe(manualChecksum(text.trimEnd()));
    expect(cattleCaChecksum(text)).toBe(cattleCaChecksum(cacerts));
  });

  test('GIVEN a different bundle WHEN summed THEN the checksum changes', () => {
    const rootOnly = fs.readFileSync(chain.rootCert, 'utf8');
    expect(cattleCaChecksum(rootOnly)).toBe(sha256sum(chain.rootCert));
    expect(cattleCaChecksum(rootOnly)).not.toBe(cattleCaChecksum(cacerts));
  });
});
