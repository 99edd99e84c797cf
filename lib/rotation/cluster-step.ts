import * as fs from 'fs';
import * as path from 'path';
import { deflateRawSync } from 'zlib';
import { DataResource, ITerraformDependable, TerraformStack, Token } from 'cdktf';
import { Construct } from 'constructs';
import { PublicStep, publicStep } from '../steps/public';
import { STEP_ENV, STEP_ENV_DEFLATE, STEP_ENV_MAX_LENGTH, STEP_SPEC_VERSION, StepEnvelope, StepSpec, StepTarget } from '../steps/spec';
import { checkProp, RotationPropError, shellQuote, terraformLiteral } from './common';
import { notEmpty } from '../rules';

export type { StepTarget } from '../steps/spec';

/** Props of every construct that writes to a cluster through a step. */
export interface StepBaseProps {
  /** The cluster: a kubeconfig (absolute path) and context, and the name messages use. */
  readonly target: StepTarget;
  /**
   * Resources the step runs after.
   * @default [] - no explicit dependencies
   */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * The command that runs `cert-rotation step`: `$CERT_ROTATION_CLI` at synth
 * when set (e.g. a cert-rotation installed elsewhere on the machine that
 * applies), else `node <this package>/bin/cert-rotation.js`.
 */
export function stepCommand(): string {
  const override = process.env.CERT_ROTATION_CLI?.trim();
  if (override) return `${override} step`;
  let dir = __dirname;
  for (;;) {
    const bin = path.join(dir, 'bin', 'cert-rotation.js');
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(bin) && fs.existsSync(pkg)) return `node ${shellQuote(bin)} step`;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error('cert-rotation: cannot find bin/cert-rotation.js above ' + __dirname + '; set CERT_ROTATION_CLI to the cert-rotation command');
    dir = parent;
  }
}

/** Every string of a JSON value escaped against Terraform interpolation. */
function literalDeep(value: unknown): unknown {
  if (typeof value === 'string') return terraformLiteral(value);
  if (Array.isArray(value)) return value.map(literalDeep);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [terraformLiteral(k), literalDeep(v)]));
  return value;
}

/**
 * The dotted path of the first unresolved token (a Terraform reference) in a
 * spec, or undefined. A step's spec is JSON fixed at synth and every string in
 * it is escaped as a literal, so a reference would reach the cluster as the
 * text `${…}` instead of its value.
 */
function firstToken(value: unknown, at: string): string | undefined {
  if (Token.isUnresolved(value)) return at;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = firstToken(value[i], `${at}[${i}]`);
      if (found !== undefined) return found;
    }
    return undefined;
  }
  if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const found = firstToken(k, at ? `${at}.${k}` : k) ?? firstToken(v, at ? `${at}.${k}` : k);
      if (found !== undefined) return found;
    }
  }
  return undefined;
}

/** Props of {@link ClusterStep}. */
export interface ClusterStepProps extends StepBaseProps {
  /** What the step does. */
  readonly spec: StepSpec;
}

/**
 * One write-and-verify step on one cluster: a `terraform_data` whose
 * `triggers_replace` is the step's public form ({@link publicStep}) and whose
 * `local-exec` provisioner runs `cert-rotation step` with the spec in
 * `$CERT_ROTATION_STEP`.
 *
 * - The step runs when it is created and again whenever its public form
 *   changes (replacement); a second plan after a successful apply is empty.
 * - A step that fails is left tainted and a step that was killed is not in
 *   the state: either way the next plan runs it again.
 * - Destroying it (or removing it from the configuration) changes nothing in
 *   the cluster: it has no destroy-time command.
 */
export class ClusterStep extends Construct {
  /** The `terraform_data` resource. */
  public readonly resource: DataResource;
  /** The public form, as in `triggers_replace`. */
  public readonly publicForm: PublicStep;
  /** The spec. */
  public readonly spec: StepSpec;
  /** The target cluster. */
  public readonly target: StepTarget;
  /** What the step's command receives: the spec, its target and the format version. */
  public readonly envelope: StepEnvelope;

  constructor(scope: Construct, id: string, props: ClusterStepProps) {
    super(scope, id);
    const t = props.target;
    if (!t || typeof t !== 'object') {
      throw new RotationPropError('ClusterStep', 'target', t, 'is missing', 'pass { cluster, kubeconfig, context } of the cluster the step writes to');
    }
    checkProp('ClusterStep', 'target.cluster', t.cluster, notEmpty);
    if (typeof t.kubeconfig !== 'string' || !path.isAbsolute(t.kubeconfig)) {
      throw new RotationPropError('ClusterStep', 'target.kubeconfig', t.kubeconfig, 'is not an absolute path', 'pass the absolute path of the kubeconfig (path.resolve it)');
    }
    // The owning construct's name in errors: its props carry the spec's fields under the same names.
    const owner = TerraformStack.isStack(scope) ? 'ClusterStep' : scope.constructor.name || 'ClusterStep';
    const token = firstToken(t, 'target') ?? firstToken(props.spec, '');
    if (token !== undefined) {
      throw new RotationPropError(
        owner,
        token,
        '(a Terraform reference)',
        'is an unresolved token: a step runs with a spec fixed at synth, so the reference would reach the cluster as the text ${…}',
        'pass the value itself, known at synth',
      );
    }
    this.spec = props.spec;
    this.target = t;
    this.publicForm = publicStep(props.spec, t.cluster);
    const envelope: StepEnvelope = { version: STEP_SPEC_VERSION, target: t, spec: props.spec };
    this.envelope = envelope;
    this.resource = new DataResource(this, 'Resource', {
      dependsOn: props.dependsOn,
      triggersReplace: literalDeep(this.publicForm) as Record<string, unknown>,
      provisioners: [
        {
          type: 'local-exec',
          command: terraformLiteral(stepCommand()),
          environment: stepEnvironment(envelope),
        },
      ],
    });
  }
}

/**
 * The provisioner's environment for a step: the envelope's JSON in
 * `CERT_ROTATION_STEP`, or, when it is longer than one variable may be,
 * deflated and cut into parts (see `STEP_ENV_DEFLATE`).
 */
export function stepEnvironment(envelope: StepEnvelope): Record<string, string> {
  const json = JSON.stringify(envelope);
  if (json.length <= STEP_ENV_MAX_LENGTH) return { [STEP_ENV]: terraformLiteral(json) };
  const packed = deflateRawSync(Buffer.from(json, 'utf8'), { level: 9 }).toString('base64');
  const env: Record<string, string> = {};
  let n = 0;
  for (let i = 0; i < packed.length; i += STEP_ENV_MAX_LENGTH) env[`${STEP_ENV_DEFLATE}_${n++}`] = packed.slice(i, i + STEP_ENV_MAX_LENGTH);
  env[`${STEP_ENV_DEFLATE}_PARTS`] = String(n);
  return env;
}
