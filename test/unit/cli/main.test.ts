import { run, toolHelp, UsageError } from '../../../lib/cli/main';
import type { Command } from '../../../lib/cli/io';
import { runCli } from './support/run-cli';

describe('cert-rotation dispatcher', () => {
  test('--help prints the commands on stdout and exits 0', async () => {
    const r = await runCli('--help');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^Usage: cert-rotation <command> \[options\]/);
    expect(r.stdout).toMatch(/^ {2}check +list certificates/m);
    expect(r.stdout).toMatch(/^ {2}help +show the help of a command/m);
  });

  test('-h and help behave like --help', async () => {
    const full = await runCli('--help');
    expect((await runCli('-h')).stdout).toBe(full.stdout);
    const help = await runCli('help');
    expect(help.code).toBe(0);
    expect(help.stdout).toBe(full.stdout);
  });

  test('no command prints the usage on stderr and exits 3', async () => {
    const r = await runCli();
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^Usage: cert-rotation <command>/);
  });

  test('an unknown command names it, prints the usage on stderr and exits 3', async () => {
    const r = await runCli('frobnicate', '--now', 'x');
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^cert-rotation: unknown command 'frobnicate'\n/);
    expect(r.stderr).toContain('Usage: cert-rotation <command>');
  });

  test('an option before the command is reported as such', async () => {
    const r = await runCli('--output', 'json', 'check');
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/unknown option '--output' \(options follow the command\)/);
  });

  test('help <command> and <command> --help print the command help on stdout', async () => {
    const viaHelp = await runCli('help', 'check');
    const viaFlag = await runCli('check', '--help');
    const viaShort = await runCli('check', '-h');
    for (const r of [viaHelp, viaFlag, viaShort]) {
      expect(r.code).toBe(0);
      expect(r.stderr).toBe('');
      expect(r.stdout).toMatch(/^Usage: cert-rotation check \[PATH\.\.\.\] \[options\]/);
      expect(r.stdout).toContain('Exit codes (the highest that applies wins):');
      expect(r.stdout).toContain('--preset NAME');
    }
    expect(viaFlag.stdout).toBe(viaHelp.stdout);
  });

  test('help of an unknown command exits 3', async () => {
    const r = await runCli('help', 'explode');
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("unknown command 'explode'");
  });

  test('a usage error of a command is printed with a pointer to its help, exit 3', async () => {
    const r = await runCli('check');
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe(
      "cert-rotation check: no source given; pass a PATH, --preset, --kubeconfig, --secrets or --endpoint\n" +
        "Run 'cert-rotation check --help' for usage.\n",
    );
  });

  test('commands can be added: the dispatcher lists and runs them', async () => {
    const calls: string[][] = [];
    const explain: Command = {
      name: 'explain',
      summary: 'explain a plan',
      help: 'Usage: cert-rotation explain\n',
      async run(args, io) {
        calls.push([...args]);
        if (args[0] === 'bad') throw new UsageError('bad is bad');
        if (args[0] === 'boom') throw new Error('kaput');
        io.stdout.write('explained\n');
        return 0;
      },
    };
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s) } };
    expect(toolHelp([explain])).toMatch(/^ {2}explain +explain a plan$/m);
    expect(await run(['explain', 'x', '--y'], io, [explain])).toBe(0);
    expect(calls).toEqual([['x', '--y']]);
    expect(out.join('')).toBe('explained\n');
    expect(await run(['explain', 'bad'], io, [explain])).toBe(3);
    expect(err.join('')).toContain('cert-rotation explain: bad is bad');
    expect(await run(['explain', 'boom'], io, [explain])).toBe(3);
    expect(err.join('')).toContain('cert-rotation explain: internal error: Error: kaput');
  });
});
