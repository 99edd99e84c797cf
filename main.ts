// The cdktf app: configuration file -> stacks -> cdk.tf.json.
//   CERT_ROTATION_CONFIG  path of the configuration file (default: cert-rotation.yaml)
//   CERT_ROTATION_NOW     ISO time certificates are checked against (default: now)
//   CERT_ROTATION_STACK   stack name (default: rancher); with fleet.stacks per-cluster or groups,
//                         the downstream clusters' stacks are <name>-<cluster> or <name>-group-<group>
import { App } from 'cdktf';
import { ConfigError } from './lib/config/config-error';
import { loadConfig } from './lib/config/load-config';
import { runEngineVersionChecksOnce } from './stacks/engine-version';
import { addRotationStacks } from './stacks/app-stacks';

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
  addRotationStacks(app, stackName, config, process.cwd());
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
