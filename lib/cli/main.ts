/**
 * The `cert-rotation` command-line tool: a dispatcher over subcommands.
 *
 * `bin/cert-rotation.js` calls {@link main}; tests call {@link run} in-process.
 */
import { COMMANDS } from './commands';
import { CliIo, Command, ExitCode, UsageError } from './io';

export { CliIo, Command, ExitCode, UsageError } from './io';

const TOOL = 'cert-rotation';

/** The tool's help: its commands and where to read more. */
export function toolHelp(commands: readonly Command[] = COMMANDS): string {
  const width = Math.max(...commands.map((c) => c.name.length), 'help'.length);
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}`);
  lines.push(`  ${'help'.padEnd(width)}   show the help of a command: ${TOOL} help <command>`);
  return `Usage: ${TOOL} <command> [options]

Kubernetes and Rancher certificate rotation as a reviewable Terraform plan.

Commands:
${lines.join('\n')}

Run '${TOOL} <command> --help' for a command's options.
`;
}

/**
 * Runs the tool with `argv` (the arguments after the program name) and
 * returns the exit code. Never calls process.exit and never throws.
 *
 * - no command: the usage on stderr, 3
 * - `--help`, `-h`, `help`: the usage on stdout, 0; `help <command>`: that command's help
 * - unknown command: a message and the usage on stderr, 3
 * - a command's UsageError: the message and a pointer to its help on stderr, 3
 */
export async function run(argv: readonly string[], io: CliIo, commands: readonly Command[] = COMMANDS): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    io.stderr.write(toolHelp(commands));
    return ExitCode.ERROR;
  }
  if (first === '--help' || first === '-h') {
    io.stdout.write(toolHelp(commands));
    return ExitCode.OK;
  }
  if (first === 'help') {
    if (rest.length === 0) {
      io.stdout.write(toolHelp(commands));
      return ExitCode.OK;
    }
    const command = commands.find((c) => c.name === rest[0]);
    if (!command) {
      io.stderr.write(`${TOOL}: unknown command '${rest[0]}'\n\n${toolHelp(commands)}`);
      return ExitCode.ERROR;
    }
    io.stdout.write(command.help);
    return ExitCode.OK;
  }
  const command = commands.find((c) => c.name === first);
  if (!command) {
    const what = first.startsWith('-') ? `unknown option '${first}' (options follow the command)` : `unknown command '${first}'`;
    io.stderr.write(`${TOOL}: ${what}\n\n${toolHelp(commands)}`);
    return ExitCode.ERROR;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr.write(`${TOOL} ${command.name}: ${err.message}\nRun '${TOOL} ${command.name} --help' for usage.\n`);
      return ExitCode.ERROR;
    }
    const detail = err instanceof Error ? err.stack ?? err.message : String(err);
    io.stderr.write(`${TOOL} ${command.name}: internal error: ${detail}\n`);
    return ExitCode.ERROR;
  }
}

/**
 * The process entry point: runs with process.argv, then exits with the code
 * once stdout and stderr are flushed (an endpoint or API request that hangs
 * past its timeout cannot keep the process alive).
 */
export function main(): void {
  // `cert-rotation check … | head`: a reader that goes away is not an error; the exit code stays the check's.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
    });
  }
  const io: CliIo = { stdout: process.stdout, stderr: process.stderr };
  void run(process.argv.slice(2), io).then((code) => {
    process.exitCode = code;
    let pending = 2;
    const flushed = () => {
      if (--pending === 0) process.exit(code);
    };
    process.stdout.write('', flushed);
    process.stderr.write('', flushed);
  });
}
