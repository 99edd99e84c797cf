/**
 * The command-line tool must start fast: it reads the contract
 * (lib/contract.ts) and lib/pki's parsers, never cdktf, a provider binding,
 * constructs or node-forge. Each case runs the real tool in a fresh Node
 * process and lists what that process loaded.
 */
import { execFileSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '../../..');
const HEAVY = /node_modules[\\/](cdktf|@cdktf[\\/][^\\/]+|constructs|node-forge)[\\/]/;

/** Runs `script` from the repository root in a fresh Node process (TypeScript through ts-node) and returns the files it loaded. */
function filesLoadedBy(script: string): string[] {
  const out = execFileSync(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', '-e', `Promise.resolve((() => { ${script} })()).then(() => process.stdout.write(JSON.stringify(Object.keys(require.cache))))`],
    { cwd: ROOT, encoding: 'utf8' },
  );
  return JSON.parse(out) as string[];
}

describe('what the command-line tool loads', () => {
  test('--help, explain and check load neither cdktf, a provider binding, constructs nor node-forge', () => {
    // GIVEN one fresh process WHEN it runs the three commands one after the other
    const files = filesLoadedBy(`
      const sink = { write() {} };
      const { run } = require('./lib/cli/main.ts');
      return run(['--help'], { stdout: sink, stderr: sink })
        .then(() => run(['explain', 'test/unit/cli/fixtures/plans/new-ca.json'], { stdout: sink, stderr: sink }))
        .then(() => run(['check', 'test/unit/cli/fixtures/plans'], { stdout: sink, stderr: sink }));`);
    // THEN the commands' own modules were loaded (they ran) and none of the heavy ones
    for (const own of [['lib', 'cli', 'main.ts'], ['lib', 'cli', 'explain', 'analyze.ts'], ['lib', 'cli', 'check', 'extract.ts']]) {
      expect(files.some((f) => f.endsWith(path.join(...own)))).toBe(true);
    }
    expect(files.filter((f) => HEAVY.test(f))).toEqual([]);
  });

  test('the contract and the shared rules load no other module of the project or its dependencies', () => {
    const files = filesLoadedBy("require('./lib/contract.ts'); require('./lib/rules.ts');")
      .map((f) => path.relative(ROOT, f))
      .filter((f) => !f.split(path.sep).includes('node_modules'));
    expect(files.sort()).toEqual(['lib/contract.ts', 'lib/rules.ts']);
  });
});
