/**
 * `cert-rotation pki` run in-process for the pki tests: every run's output is
 * kept, so a test file can show at the end that no private key it wrote was
 * ever printed.
 */
import * as fs from 'fs';
import * as path from 'path';
import { pemBodyLines } from '../../../support/pki';
import { CliResult, runCli } from './run-cli';

export interface PkiCli {
  /** `cert-rotation pki <argv…>`, whatever its exit code. */
  pki(...argv: string[]): Promise<CliResult>;
  /** The same, failing the test unless it exits 0 with nothing on stderr. */
  ok(...argv: string[]): Promise<CliResult>;
  /** Fails when a line of a `*.key` file under `dir` is in anything a run printed; returns how many key files there were. */
  expectNoKeyPrinted(dir: string): number;
}

export function pkiCli(): PkiCli {
  const outputs: CliResult[] = [];
  const pki = async (...argv: string[]): Promise<CliResult> => {
    const r = await runCli('pki', ...argv);
    outputs.push(r);
    return r;
  };
  return {
    pki,
    ok: async (...argv: string[]) => {
      const r = await pki(...argv);
      if (r.code !== 0) throw new Error(`pki ${argv.join(' ')} exited ${r.code}:\n${r.stderr}`);
      expect(r.stderr).toBe('');
      return r;
    },
    expectNoKeyPrinted: (dir: string) => {
      const keyFiles: string[] = [];
      const walk = (d: string): void => {
        for (const e of fs.readdirSync(d, { withFileTypes: true })) {
          const p = path.join(d, e.name);
          if (e.isDirectory()) walk(p);
          else if (p.endsWith('.key')) keyFiles.push(p);
        }
      };
      walk(dir);
      const printed = outputs.map((o) => o.stdout + o.stderr).join('\n');
      expect(printed).not.toMatch(/PRIVATE KEY/);
      for (const line of keyFiles.flatMap((k) => pemBodyLines(fs.readFileSync(k, 'utf8')))) {
        expect(printed).not.toContain(line);
      }
      return keyFiles.length;
    },
  };
}
