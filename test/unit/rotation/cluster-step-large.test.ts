import { Testing, TerraformStack } from 'cdktf';
import { stepEnvText } from '../../../lib/cli/commands/step';
import { ClusterStep, stepEnvironment } from '../../../lib/rotation/cluster-step';
import { STEP_ENV, STEP_ENV_DEFLATE, STEP_ENV_MAX_LENGTH, STEP_SPEC_VERSION, StepEnvelope } from '../../../lib/steps/spec';

// GIVEN a step whose spec is longer than one environment variable may be (Linux refuses a
// variable over 128 KiB: the converge step of a one-stack fleet of 500 downstream clusters
// failed with "argument list too long" in scripts/bench-fleet.ts), WHEN synthesized, THEN it
// travels deflated in parts no longer than STEP_ENV_MAX_LENGTH, and the step command reads
// back exactly the JSON; a short spec stays plain JSON in $CERT_ROTATION_STEP.
describe('ClusterStep: a spec too long for one environment variable', () => {
  const target = { cluster: 'server', kubeconfig: '/etc/kubeconfig' };
  /** A restart of `n` workloads: long enough at a few thousand. */
  const envelope = (n: number): StepEnvelope => ({
    version: STEP_SPEC_VERSION,
    target,
    spec: {
      step: 'restart',
      workloads: Array.from({ length: n }, (_, i) => ({ kind: 'Deployment' as const, namespace: `team-${i}`, name: `app-${i}` })),
      annotations: { 'cert-rotation.io/trust-hash': 'a'.repeat(64) },
      fieldManager: 'cert-rotation',
      waitSeconds: 0,
    },
  });

  test('a short spec: plain JSON in CERT_ROTATION_STEP, as before', () => {
    const env = stepEnvironment(envelope(3));
    expect(Object.keys(env)).toEqual([STEP_ENV]);
    expect(JSON.parse(env[STEP_ENV])).toEqual(envelope(3));
  });

  test('a long spec: deflated parts within the limit, read back byte for byte by the step command', () => {
    const big = envelope(20000);
    expect(JSON.stringify(big).length).toBeGreaterThan(4 * STEP_ENV_MAX_LENGTH);
    const env = stepEnvironment(big);
    expect(env[STEP_ENV]).toBeUndefined();
    const parts = Number(env[`${STEP_ENV_DEFLATE}_PARTS`]);
    expect(parts).toBeGreaterThanOrEqual(1);
    for (let i = 0; i < parts; i++) expect(env[`${STEP_ENV_DEFLATE}_${i}`].length).toBeLessThanOrEqual(STEP_ENV_MAX_LENGTH);
    expect(stepEnvText(env)).toBe(JSON.stringify(big));
    // The same bytes at every synth: no plan change from synthesizing again.
    expect(stepEnvironment(big)).toEqual(env);
  });

  test('synthesized: the provisioner carries the parts, nothing longer than the limit', () => {
    const stack = new TerraformStack(Testing.app(), 'big');
    new ClusterStep(stack, 'Step', { target, spec: envelope(20000).spec });
    const json = JSON.parse(Testing.synth(stack));
    const resource = Object.values<any>(json.resource.terraform_data)[0];
    const environment = resource.provisioner[0]['local-exec'].environment as Record<string, string>;
    expect(Object.keys(environment)).toContain(`${STEP_ENV_DEFLATE}_PARTS`);
    for (const value of Object.values(environment)) expect(value.length).toBeLessThanOrEqual(STEP_ENV_MAX_LENGTH);
  });

  test('a missing part is a clear error', () => {
    const env = stepEnvironment(envelope(20000));
    const parts = Number(env[`${STEP_ENV_DEFLATE}_PARTS`]);
    delete env[`${STEP_ENV_DEFLATE}_${parts - 1}`];
    expect(() => stepEnvText(env)).toThrow(/not every part/);
  });
});
