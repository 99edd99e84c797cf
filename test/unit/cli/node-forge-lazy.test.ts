// node-forge is loaded by the first certificate `pki` issues, never by the
// tool's help, `check` or `explain` (they import lib/pki, which holds the issuer).
import * as path from 'path';
import { openssl, removeDir, tempDir } from '../../support/pki';

// The tool is imported inside the test, after this counter exists.
const mockForgeLoaded = jest.fn();
jest.mock('node-forge', () => {
  mockForgeLoaded();
  return jest.requireActual('node-forge');
});

let dir: string;

beforeAll(() => {
  dir = tempDir('cli-lazy-');
});
afterAll(() => removeDir(dir));

test('--help, check and explain run without loading node-forge; pki loads it', async () => {
  const { runCli } = await import('./support/run-cli');
  const { planPath } = await import('./fixtures/plans/plans');
  const cert = path.join(dir, 'ca.crt');
  openssl(['req', '-x509', '-config', '/dev/null', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', path.join(dir, 'ca.key'), '-subj', '/CN=Lazy CA', '-days', '30', '-out', cert]);

  expect((await runCli('--help')).code).toBe(0);
  expect((await runCli('check', cert, '--warn', '1d', '--crit', '1d')).code).toBe(0);
  expect((await runCli('explain', planPath('new-ca'))).code).toBe(0);
  expect((await runCli('pki', 'ca', '--help')).code).toBe(0);
  expect(mockForgeLoaded).not.toHaveBeenCalled();

  expect((await runCli('pki', 'ca', '--out', path.join(dir, 'ca'))).code).toBe(0);
  expect(mockForgeLoaded).toHaveBeenCalledTimes(1);
});
