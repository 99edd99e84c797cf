import { ValidateBinaryVersion } from 'cdktf/lib/validations/validate-binary-version';

/**
 * cdktf 0.21 gives every `terraform_data` resource a validation that runs
 * `terraform version` when the app synthesizes (TerraformDataResource adds
 * ValidateTerraformVersion ">=1.4"). A rotation of N downstream clusters has a
 * step per cluster, so synth started N `terraform version` processes: at 100
 * clusters most of a minute on a loaded 2-core runner (docs/benchmarks.md,
 * "Synth"). The answer is the same for every resource of one run, so the first
 * is kept and reused; each distinct command and constraint still runs once.
 */
export function runEngineVersionChecksOnce(): void {
  const proto = ValidateBinaryVersion.prototype as ValidateBinaryVersion & { readonly __once?: true };
  if (proto.__once) return;
  const validate = proto.validate;
  const answers = new Map<string, string[]>();
  proto.validate = function (this: ValidateBinaryVersion): string[] {
    const self = this as unknown as { versionCommand: string; versionConstraint: string };
    const key = `${self.versionCommand}\0${self.versionConstraint}`;
    let answer = answers.get(key);
    if (answer === undefined) {
      answer = validate.call(this);
      answers.set(key, answer);
    }
    return [...answer];
  };
  Object.defineProperty(proto, '__once', { value: true });
}
