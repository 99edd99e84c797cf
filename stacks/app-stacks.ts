import { App, TerraformStack } from 'cdktf';
import { RotationConfig } from '../lib/config/load-config';
import { guardLocalState } from '../lib/local-state';
import { addRotationWarning } from '../lib/rotation/common';
import { RancherDownstreamStack, splitStacks } from './fleet';
import { RancherStack } from './rancher-stack';
import { addStateBackend } from './state-backend';

/** A stack of the app, and what sets its state apart when it was split off the base stack. */
export interface AppStack {
  readonly stack: TerraformStack;
  readonly part?: string;
}

/**
 * The app's stacks for a configuration: the base stack `stackName`
 * ({@link RancherStack}) and, with `fleet.stacks` per-cluster or groups, a
 * {@link RancherDownstreamStack} per cluster or group that depends on it;
 * each with the configured state backend (local state guarded against a torn
 * write, relative to `cwd`).
 */
export function addRotationStacks(app: App, stackName: string, config: RotationConfig, cwd: string): AppStack[] {
  const stack = new RancherStack(app, stackName, config);
  const split = splitStacks(stackName, config);
  // The clusters each stack changes, for `cert-rotation fleet` (Terraform ignores '//' keys).
  stack.addOverride('//.cert-rotation', {
    clusters: [...(config.rancher ? ['server'] : []), ...(split.length === 0 ? config.downstream.map((d) => d.name) : [])],
  });
  const stacks: Array<{ stack: TerraformStack; part?: string }> = [{ stack }];
  // `fleet.stacks` per-cluster or groups: the downstream clusters' steps in stacks of their own.
  for (const part of split) {
    if (!stack.rotation) break; // the loader refuses fleet without rancher
    const s = new RancherDownstreamStack(app, part.name, stack.rotation.trust, part, config.file);
    s.addDependency(stack);
    s.addOverride('//.cert-rotation', { clusters: part.clusters.map((d) => d.name) });
    stacks.push({ stack: s, part: part.part });
  }
  for (const { stack: s, part } of stacks) {
    // `backend:` in the file; by default local state, terraform.<stack>.tfstate in this directory.
    const localState = addStateBackend(s, config.backend, cwd, part);
    if (localState) {
      // A local state torn by a killed run is put back before Terraform reads it (lib/local-state.ts).
      // Remote backends write and lock the state themselves.
      const state = guardLocalState(localState);
      if (state.message) {
        process.stderr.write(`cert-rotation: ${state.message}\n`);
        addRotationWarning(s, state.action === 'restored' ? 'stateRestored' : 'stateSetAside', state.message);
      }
    }
  }
  return stacks;
}
