/**
 * The `yaml` package, loaded on first use: it takes about a tenth of a second
 * to load, and most runs of the tool never read or write YAML (a `check` of
 * certificate files, `--output json`).
 */
import type * as Yaml from 'yaml';

let yamlModule: typeof Yaml | undefined;

/** The `yaml` package, required on the first call. */
export function yaml(): typeof Yaml {
  yamlModule ??= require('yaml') as typeof Yaml;
  return yamlModule;
}
