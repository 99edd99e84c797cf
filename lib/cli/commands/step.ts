/**
 * `cert-rotation step`: runs one write-and-verify step of a rotation. Terraform
 * runs it from the `local-exec` provisioner of the step's `terraform_data`
 * resource, with the step's spec in $CERT_ROTATION_STEP (see lib/steps/spec.ts).
 */
import { spawnSync } from 'child_process';
import { inflateRawSync } from 'zlib';
import { ShellCommands, STEP_ENV, STEP_ENV_DEFLATE, STEP_SPEC_VERSION, StepEnvelope } from '../../steps/spec';
import { CliIo, defineCommand, ExitCode, parseCommandArgs, UsageError } from '../io';
import { KubeApiError } from '../kube/client';
import { runCacertsGate } from '../step/cacerts-gate';
import { runFleetForceUpdate } from '../step/fleet-force-update';
import { runForceDeploy } from '../step/force-deploy';
import { runRancherClusterRotate } from '../step/rancher-cluster-rotate';
import { StepFailure, stepContext } from '../step/context';
import { runSecretStep } from '../step/secret';
import { runAgentsStep, runRestartStep } from '../step/workloads';
import { runCaBundlesStep, runClusterInfoStep, runExtensionAuthPruneStep, runKubeadmPhaseStep, runRestartAllStep, runRootCaStep } from '../step/kubeadm';

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
                exist, read it back, wait until their pods are Ready (or, after
                force-deploy, only wait until Rancher has re-rendered them)
  force-deploy  method 1: annotate clusters.management.cattle.io/<id> with
                io.cattle.agent.force.deploy=true and wait until Rancher took it
  fleet-force-update
                Fleet's Force Update: raise spec.redeployAgentGeneration of
                clusters.fleet.cattle.io/<name> once per CA, wait until Fleet
                reports status.agentDeployedGeneration at that generation
  rancher-cluster-rotate
                ask Rancher to rotate the certificates of a cluster it
                provisioned (rotateCertificates on its cluster object) and
                wait until Rancher reports the rotation done
  cacerts-gate  wait for Rancher's rollout, then poll /v3/settings/cacerts,
                verifying the server with the new CA, until Rancher serves the
                expected CA and presents the new certificate
  kubeadm-phase kubeadm CA rotation: refuse a phase that skips one or goes
                back (before anything is written), or record a finished phase
                in kube-system/cert-rotation-kubeadm-ca
  root-ca       wait until every kube-root-ca.crt holds exactly the CAs named
  cluster-info  set the CA of kube-public/cluster-info, read it back
  ca-bundles    add the new CA to the caBundle of every webhook, APIService
                and CRD conversion that trusts the old CA, read each back
  extension-auth-prune
                take retired CAs out of kube-system/extension-apiserver-
                authentication (the API server only adds), read it back
  restart-all   roll every Deployment/DaemonSet (StatefulSet) of the cluster
  converge      run the rotation's other steps again, in order: Terraform
                records a step before its command has finished, so a run
                killed mid-step is finished here

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
    const envelope = readEnvelope(stepEnvText(process.env));
    if (options.describe) {
      io.stdout.write(`${JSON.stringify(envelope, null, 2)}\n`);
      return ExitCode.OK;
    }
    const spec = envelope.spec;
    try {
      await runEnvelope(envelope, io);
      return ExitCode.OK;
    } catch (err) {
      // StepFailure, KubeApiError and any other error: one FAILED line; never a stack trace.
      if (err instanceof Error) {
        const reason = err instanceof KubeApiError ? `the cluster refused a request: ${err.message}; deploy again once it answers` : err.message;
        io.stderr.write(`cert-rotation ${spec.step} [${envelope.target.cluster}]: FAILED: ${reason}\n`);
        return ExitCode.ERROR;
      }
      throw err;
    }
  },
});

/** Runs the commands of a command step (the helm upgrade of an external release) as Terraform's local-exec does. */
function runShell(entry: ShellCommands, io: CliIo): void {
  for (const command of entry.shell) {
    const r = spawnSync('/bin/sh', ['-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    io.stdout.write(r.stdout ?? '');
    if (r.status !== 0) {
      throw new StepFailure(`a command on ${entry.cluster} exited ${r.status ?? r.signal}: ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' ')}`);
    }
    io.stderr.write(r.stderr ?? '');
  }
}

/** Runs one step; a converge step runs its steps in order. */
async function runEnvelope(envelope: StepEnvelope, io: CliIo): Promise<void> {
  const spec = envelope.spec;
  if (spec.step === 'converge') {
    io.stdout.write(`cert-rotation converge [${envelope.target.cluster}]: running the ${spec.steps.length} steps of this rotation again\n`);
    for (const inner of spec.steps) {
      if ('shell' in inner) runShell(inner, io);
      else await runEnvelope(inner, io);
    }
    io.stdout.write(`cert-rotation converge [${envelope.target.cluster}]: every step holds\n`);
    return;
  }
  const ctx = stepContext(envelope.target, spec.step, io.stdout);
  switch (spec.step) {
    case 'secret':
      return runSecretStep(spec, ctx);
    case 'restart':
      return runRestartStep(spec, ctx);
    case 'agents':
      return runAgentsStep(spec, ctx);
    case 'cacerts-gate':
      return runCacertsGate(spec, ctx);
    case 'force-deploy':
      return runForceDeploy(spec, ctx);
    case 'fleet-force-update':
      return runFleetForceUpdate(spec, ctx);
    case 'rancher-cluster-rotate':
      return runRancherClusterRotate(spec, ctx);
    case 'kubeadm-phase':
      return runKubeadmPhaseStep(spec, ctx);
    case 'root-ca':
      return runRootCaStep(spec, ctx);
    case 'cluster-info':
      return runClusterInfoStep(spec, ctx);
    case 'ca-bundles':
      return runCaBundlesStep(spec, ctx);
    case 'extension-auth-prune':
      return runExtensionAuthPruneStep(spec, ctx);
    case 'restart-all':
      return runRestartAllStep(spec, ctx);
  }
}

/** The envelope's JSON: `$CERT_ROTATION_STEP`, or the deflated parts a long spec travels in. */
export function stepEnvText(env: NodeJS.ProcessEnv): string | undefined {
  const parts = env[`${STEP_ENV_DEFLATE}_PARTS`];
  if (parts === undefined) return env[STEP_ENV];
  const n = Number(parts);
  const chunks = Number.isInteger(n) && n > 0 ? Array.from({ length: n }, (_, i) => env[`${STEP_ENV_DEFLATE}_${i}`]) : [];
  if (chunks.length === 0 || chunks.some((c) => c === undefined)) {
    throw new UsageError(`$${STEP_ENV_DEFLATE}_PARTS is ${parts}, but not every part $${STEP_ENV_DEFLATE}_0 … is set`);
  }
  try {
    return inflateRawSync(Buffer.from(chunks.join(''), 'base64')).toString('utf8');
  } catch {
    throw new UsageError(`$${STEP_ENV_DEFLATE}_0 … do not inflate to a step: synthesize again`);
  }
}

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
  const known = ['secret', 'restart', 'agents', 'force-deploy', 'fleet-force-update', 'rancher-cluster-rotate', 'cacerts-gate', 'converge', 'kubeadm-phase', 'root-ca', 'cluster-info', 'ca-bundles', 'extension-auth-prune', 'restart-all'];
  if (!known.includes(envelope.spec?.step) || typeof envelope.target?.kubeconfig !== 'string') {
    throw new UsageError(`$${STEP_ENV} holds no step this cert-rotation knows (${known.join(', ')}) with a target kubeconfig`);
  }
  return envelope;
}
