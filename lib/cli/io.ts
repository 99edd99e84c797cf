/**
 * What every subcommand of the `cert-rotation` tool gets: where to write, and
 * the error type that means "the command line is wrong".
 */
import { parseArgs, ParseArgsConfig } from 'util';

/** A place to write text to (process.stdout, a test buffer, …). */
export interface TextSink {
  write(chunk: string): unknown;
}

/** The output streams of one run of the tool. */
export interface CliIo {
  /** Results: tables, JSON, YAML, help asked for with `--help`. */
  readonly stdout: TextSink;
  /** Diagnostics: usage errors, read errors, skipped files. */
  readonly stderr: TextSink;
}

/** Exit codes shared by all subcommands. */
export const ExitCode = {
  /** Everything checked is fine. */
  OK: 0,
  /** At least one certificate is inside the warning window. */
  WARN: 1,
  /** At least one certificate is inside the critical window, expired or not yet valid. */
  CRIT: 2,
  /** The command line is wrong, or a source could not be read. */
  ERROR: 3,
} as const;

/** A wrong command line. The dispatcher prints the message and the usage, and exits 3. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
    Object.setPrototypeOf(this, UsageError.prototype);
  }
}

/** One subcommand of the tool. */
export interface Command {
  /** The word that selects it: `cert-rotation <name> …`. */
  readonly name: string;
  /** One line for the tool's command list. */
  readonly summary: string;
  /** The full help text, printed for `<name> --help`. */
  readonly help: string;
  /**
   * Runs the command.
   *
   * @param args the arguments after the subcommand's name
   * @returns the exit code
   * @throws UsageError when the arguments are wrong
   */
  run(args: readonly string[], io: CliIo): Promise<number>;
}

/**
 * A command whose arguments parse to options or to `'help'`: prints its help
 * for `--help`, otherwise runs with the parsed options.
 */
export function defineCommand<O>(spec: {
  name: string;
  summary: string;
  help: string;
  parse(args: readonly string[]): O | 'help';
  execute(options: O, io: CliIo): Promise<number>;
}): Command {
  return {
    name: spec.name,
    summary: spec.summary,
    help: spec.help,
    async run(args, io) {
      const options = spec.parse(args);
      if (options === 'help') {
        io.stdout.write(spec.help);
        return 0;
      }
      return spec.execute(options, io);
    },
  };
}

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** The strict, positional-allowing configuration `parseCommandArgs` passes to `util.parseArgs`. */
export interface StrictArgsConfig<T extends OptionsConfig> {
  args: string[];
  allowPositionals: true;
  strict: true;
  options: T;
}

/**
 * `util.parseArgs` in strict mode with positionals, its errors turned into
 * UsageError (without Node's hint about `--`).
 */
export function parseCommandArgs<T extends OptionsConfig>(args: readonly string[], options: T): ReturnType<typeof parseArgs<StrictArgsConfig<T>>> {
  try {
    return parseArgs<StrictArgsConfig<T>>({ args: [...args], allowPositionals: true, strict: true, options });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/\. To specify a positional argument.*$/s, ''));
  }
}
