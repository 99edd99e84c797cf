/**
 * A problem in the configuration file. The message names the file, the field
 * (as a dotted path such as `downstream[1].kubeconfig`), what is wrong and the fix.
 */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly field: string,
    readonly problem: string,
    readonly fix: string,
  ) {
    super(`${file}: ${field}: ${problem}. Fix: ${fix}`);
    this.name = 'ConfigError';
  }
}
