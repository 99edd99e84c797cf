// The cdktf app: configuration file -> stacks -> cdk.tf.json.
//   CERT_ROTATION_CONFIG  path of the configuration file (default: cert-rotation.yaml)
//   CERT_ROTATION_NOW     ISO time certificates are checked against (default: now)
//   CERT_ROTATION_STACK   stack name (default: rancher)
import { App } from 'cdktf';
import { ConfigError } from './lib/config/config-error';
import { loadConfig } from './lib/config/load-config';
import { guardLocalState } from './lib/local-state';
import { addRotationWarning } from './lib/rotation/common';
import { runEngineVersionChecksOnce } from './stacks/engine-version';
import { RancherStack } from './stacks/rancher-stack';
import { addStateBackend } from './stacks/state-backend';

/**
 * With TF_LOG (or TF_LOG_PROVIDER) at DEBUG or TRACE, the Kubernetes provider
 * logs request bodies, which carry the private key the write-only attribute
 * keeps out of plan and state. Refuse, unless the person running it says they
 * accept that the log holds the key.
 */
function refuseKeyLeakingLogs(): void {
  for (const name of ['TF_LOG', 'TF_LOG_PROVIDER', 'TF_LOG_PROVIDER_KUBERNETES']) {
    const level = (process.env[name] ?? '').trim().toUpperCase();
    if ((level === 'DEBUG' || level === 'TRACE' || level === 'JSON') && process.env.CERT_ROTATION_ALLOW_DEBUG_LOG !== '1') {
      throw new ConfigError(
        name,
        name,
        `is ${level}: at this level the Kubernetes provider logs request bodies, which hold the private key`,
        `unset ${name} (or set INFO/WARN/ERROR); to debug anyway with the key in the log, set CERT_ROTATION_ALLOW_DEBUG_LOG=1 and delete the log after`,
      );
    }
  }
}

function main(): void {
  refuseKeyLeakingLogs();
  const now = process.env.CERT_ROTATION_NOW ? new Date(process.env.CERT_ROTATION_NOW) : new Date();
  if (Number.isNaN(now.getTime())) {
    throw new ConfigError('CERT_ROTATION_NOW', 'CERT_ROTATION_NOW', `'${process.env.CERT_ROTATION_NOW}' is not a date`, 'use ISO 8601, e.g. 2026-01-31T00:00:00Z');
  }
  const config = loadConfig(process.env.CERT_ROTATION_CONFIG ?? 'cert-rotation.yaml', { now });
  runEngineVersionChecksOnce();
  const app = new App();
  const stackName = process.env.CERT_ROTATION_STACK ?? 'rancher';
  const stack = new RancherStack(app, stackName, config);
  // `backend:` in the file; by default local state, terraform.<stack>.tfstate in this directory.
  const localState = addStateBackend(stack, config.backend, process.cwd());
  if (localState) {
    // A local state torn by a killed run is put back before Terraform reads it (lib/local-state.ts).
    // Remote backends write and lock the state themselves.
    const state = guardLocalState(localState);
    if (state.message) {
      process.stderr.write(`cert-rotation: ${state.message}\n`);
      addRotationWarning(stack, state.action === 'restored' ? 'stateRestored' : 'stateSetAside', state.message);
    }
  }
  app.synth();
}

try {
  main();
} catch (e) {
  if (e instanceof ConfigError) {
    // A configuration problem: one clear line, no stack trace, nothing synthesized.
    process.stderr.write(`cert-rotation: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}
