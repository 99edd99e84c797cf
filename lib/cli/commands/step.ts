/**
 * `cert-rotation step`: runs one write-and-verify step of a rotation. Terraform
 * runs it from the `local-exec` provisioner of the step's `terraform_data`
 * resource, with the step's spec in $CERT_ROTATION_STEP (see lib/steps/spec.ts).
 */
import { STEP_ENV, STEP_SPEC_VERSION, StepEnvelope } from '../../steps/spec';
import { CliIo, defineCommand, ExitCode, parseCommandArgs, UsageError } from '../io';
import { KubeApiError } from '../kube/client';
import { runCacertsGate } from '../step/cacerts-gate';
import { StepFailure, stepContext } from '../step/context';
import { runSecretStep } from '../step/secret';
import { runAgentsStep, runRestartStep } from '../step/workloads';

export const STEP_HELP = `Usage: cert-rotation step [--describe]

Run one step of a rotation: the rotation constructs put each write to a
cluster in a terraform_data resource whose local-exec provisioner runs this
command with the step in $${STEP_ENV} (JSON). You do not run it by hand, except
to retry or inspect a step (copy the variable from cdktf.out).

Steps:
  secret        server-side apply a Secret (taking it over when it exists),
                then read it back: every data key's SHA-256, the annotations,
                and for kubernetes.io/tls that tls.key belongs to tls.crt. A
                key is read from its file here and must still have the SHA-256
                it had when the plan was made.
  restart       annotate the pod template of each workload that exists
                (a missing one is skipped with a line saying so), read it
                back, wait for the rollout
  agents        set (or remove) CATTLE_CA_CHECKSUM on the Rancher agents that
                exist, read it back, wait until their pods are Ready
  cacerts-gate  wait for Rancher's rollout, then poll /v3/settings/cacerts,
                verifying the server with the new CA, until Rancher serves the
                expected CA and presents the new certificate

Options:
      --describe   print the step's spec (no secret data: keys are named by file) and exit
  -h, --help       show this help

Exit codes:
  0  the step wrote and verified what it should
  3  it failed: the message names the object, what the cluster holds and what to run
`;

export const stepCommand = defineCommand<{ describe: boolean }>({
  name: 'step',
  summary: 'run one write-and-verify step of a rotation (Terraform runs it)',
  help: STEP_HELP,
  parse(args) {
    const { values, positionals } = parseCommandArgs(args, {
      describe: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    });
    if (values.help) return 'help';
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (the step is read from $${STEP_ENV})`);
    return { describe: values.describe === true };
  },
  async execute(options, io: CliIo) {
    const envelope = readEnvelope(process.env[STEP_ENV]);
    if (options.describe) {
      io.stdout.write(`${JSON.stringify(envelope, null, 2)}\n`);
      return ExitCode.OK;
    }
    const spec = envelope.spec;
    try {
      const ctx = stepContext(envelope.target, spec.step, io.stdout);
      switch (spec.step) {
        case 'secret':
          await runSecretStep(spec, ctx);
          break;
        case 'restart':
          await runRestartStep(spec, ctx);
          break;
        case 'agents':
          await runAgentsStep(spec, ctx);
          break;
        case 'cacerts-gate':
          await runCacertsGate(spec, ctx);
          break;
      }
      return ExitCode.OK;
    } catch (err) {
      if (err instanceof StepFailure || err instanceof KubeApiError || err instanceof Error) {
        const reason = err instanceof KubeApiError ? `the cluster refused a request: ${err.message}; deploy again once it answers` : err.message;
        io.stderr.write(`cert-rotation ${spec.step} [${envelope.target.cluster}]: FAILED: ${reason}\n`);
        return ExitCode.ERROR;
      }
      throw err;
    }
  },
});

function readEnvelope(text: string | undefined): StepEnvelope {
  if (text === undefined || text.trim() === '') {
    throw new UsageError(`$${STEP_ENV} is not set: this command runs the step Terraform passes in that variable`);
  }
  let envelope: StepEnvelope;
  try {
    envelope = JSON.parse(text);
  } catch {
    throw new UsageError(`$${STEP_ENV} is not JSON`);
  }
  if (envelope?.version !== STEP_SPEC_VERSION) {
    throw new UsageError(
      `$${STEP_ENV} has spec version ${String(envelope?.version)}, this cert-rotation reads version ${STEP_SPEC_VERSION}: synthesize again with the same cert-rotation that runs the steps`,
    );
  }
  const known = ['secret', 'restart', 'agents', 'cacerts-gate'];
  if (!known.includes(envelope.spec?.step) || typeof envelope.target?.kubeconfig !== 'string') {
    throw new UsageError(`$${STEP_ENV} holds no step this cert-rotation knows (${known.join(', ')}) with a target kubeconfig`);
  }
  return envelope;
}
