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

/** The files `cert-rotation <args>` loads, run through the exported `run()`. */
function loadedModules(args: string[]): string[] {
  return filesLoadedBy(`const sink = { write() {} }; return require('./lib/cli/main.ts').run(${JSON.stringify(args)}, { stdout: sink, stderr: sink });`);
}

describe('what the command-line tool loads', () => {
  test.each([
    ['--help', ['--help']],
    ['explain', ['explain', 'test/unit/cli/fixtures/plans/new-ca.json']],
    ['check', ['check', 'test/unit/cli/fixtures']],
  ])('%s loads neither cdktf, a provider binding, constructs nor node-forge', (_name, args) => {
    const files = loadedModules(args);
    // THEN the tool's own modules were loaded (the run happened) and none of the heavy ones
    expect(files.some((f) => f.endsWith(path.join('lib', 'cli', 'main.ts')))).toBe(true);
    expect(files.filter((f) => HEAVY.test(f))).toEqual([]);
  });

  test('the contract and the shared rules load no other module of the project or its dependencies', () => {
    const files = filesLoadedBy("require('./lib/contract.ts'); require('./lib/rules.ts');")
      .map((f) => path.relative(ROOT, f))
      .filter((f) => !f.startsWith('node_modules'));
    expect(files.sort()).toEqual(['lib/contract.ts', 'lib/rules.ts']);
  });
});
