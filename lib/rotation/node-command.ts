/**
 * Commands run on machines over SSH: one `terraform_data` per node whose
 * `remote-exec` provisioner runs a generated POSIX shell script. Shared by the
 * node-level rotations (RKE2, RKE, single-container Rancher).
 *
 * Secrets: the private key is read by Terraform at apply time with
 * `file(<path>)`, so cdktf.out and the plan hold the path only, and Terraform
 * keeps no connection settings in its state. With `agent: true` the key stays
 * in the SSH agent.
 */
import * as path from 'path';
import { DataResource, Fn, ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { RotationPropError, shellQuote, terraformLiteral } from './common';

/** How to reach one machine over SSH. */
export interface NodeSsh {
  /** A name for messages, plans and the Kubernetes node name (`kubectl get node <name>`). */
  readonly name: string;
  /** Host name or address the SSH connection goes to. */
  readonly host: string;
  /**
   * SSH port.
   * @default 22
   */
  readonly port?: number;
  /**
   * SSH user; commands run as this user, so it must be root or use passwordless sudo via `sudo`.
   * @default 'root'
   */
  readonly user?: string;
  /**
   * Absolute path of the private key on the machine that applies; read by
   * Terraform at apply time (`file()`), never written to the plan or state.
   * @default - none: `agent` must be true
   */
  readonly privateKeyPath?: string;
  /**
   * Use the SSH agent (`SSH_AUTH_SOCK`) instead of a key file.
   * @default false
   */
  readonly agent?: boolean;
  /**
   * The node's public host key (`ssh-ed25519 AAAA…`), checked on connect.
   * @default - Terraform accepts any host key (not recommended)
   */
  readonly hostKey?: string;
}

/** Checks one node's SSH settings; `what` and `prop` name the construct and the prop in errors. */
export function checkNodeSsh(what: string, prop: string, node: NodeSsh): void {
  if (!node || typeof node !== 'object') throw new RotationPropError(what, prop, node, 'is not a node', 'pass { name, host, port, user, privateKeyPath | agent }');
  if (typeof node.name !== 'string' || !/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(node.name)) {
    throw new RotationPropError(what, `${prop}.name`, node.name, 'is not a node name (lowercase letters, digits, dots and dashes)', 'use the Kubernetes node name');
  }
  if (typeof node.host !== 'string' || !node.host.trim()) throw new RotationPropError(what, `${prop}.host`, node.host, 'is empty', 'pass the address SSH connects to');
  if (node.port !== undefined && (!Number.isInteger(node.port) || node.port < 1 || node.port > 65535)) {
    throw new RotationPropError(what, `${prop}.port`, node.port, 'is not a TCP port', 'use a whole number from 1 to 65535');
  }
  if (!node.agent && !node.privateKeyPath) {
    throw new RotationPropError(what, `${prop}.privateKeyPath`, node.privateKeyPath, 'is missing while agent is false', 'pass the absolute path of the SSH private key, or set agent: true');
  }
  if (node.privateKeyPath !== undefined && !path.isAbsolute(node.privateKeyPath)) {
    throw new RotationPropError(what, `${prop}.privateKeyPath`, node.privateKeyPath, 'is not an absolute path', 'pass the absolute path of the key file (path.resolve it); the key itself is never passed');
  }
  if (node.hostKey !== undefined && !/^(ssh-|ecdsa-)[a-z0-9-]+ [A-Za-z0-9+/=]+$/.test(node.hostKey.trim())) {
    throw new RotationPropError(what, `${prop}.hostKey`, node.hostKey, 'is not a public host key', 'pass the "<type> <base64>" part of the host key (ssh-keyscan prints it)');
  }
}

/** Lines of a node script: a step runner that names the node, step and state on failure. */
export function scriptPrelude(node: string): string[] {
  return [
    '#!/bin/sh',
    'set -u',
    `CR_NODE=${shellQuote(node)}`,
    'CR_STATE=""',
    'cr_fail() { echo "cert-rotation: FAILED on node $CR_NODE at step: $1${CR_STATE:+; state: $CR_STATE}" >&2; exit 1; }',
    'cr_step() { cr_name=$1; shift; echo "cert-rotation: node $CR_NODE: $cr_name"; "$@" || cr_fail "$cr_name (exit $?)"; }',
    // cr_wait NAME SECONDS COMMAND: runs COMMAND every 2 s until it succeeds or SECONDS pass.
    'cr_wait() { cr_name=$1; cr_limit=$2; shift 2; echo "cert-rotation: node $CR_NODE: wait: $cr_name (up to ${cr_limit}s)"; cr_end=$(( $(date +%s) + cr_limit )); '
      + 'until sh -c "$1" >/dev/null 2>&1; do if [ "$(date +%s)" -ge "$cr_end" ]; then cr_fail "wait: $cr_name (not done after ${cr_limit}s)"; fi; sleep 2; done; echo "cert-rotation: node $CR_NODE: $cr_name: done"; }',
  ];
}

/** Props of {@link NodeCommand}. */
export interface NodeCommandProps {
  /** The machine. */
  readonly node: NodeSsh;
  /** The script (first line `#!/bin/sh`). */
  readonly script: string[];
  /** What replaces the resource (and runs the script again) when it changes: nothing else does. */
  readonly triggers: Record<string, unknown>;
  /** What the plan shows about the step (`input`; a change updates it in place and runs nothing). */
  readonly describe: Record<string, unknown>;
  /**
   * Resources the step runs after.
   * @default []
   */
  readonly dependsOn?: ITerraformDependable[];
  /**
   * Lines put right after the script's first line as they are, for Terraform
   * to fill in at apply (`${self.triggers_replace…}`); the script's own lines
   * are escaped.
   * @default []
   */
  readonly applyTimeLines?: string[];
}

/** One script run on one machine over SSH, re-run only when `triggers` change. */
export class NodeCommand extends Construct {
  /** The `terraform_data` resource. */
  public readonly resource: DataResource;

  constructor(scope: Construct, id: string, props: NodeCommandProps) {
    super(scope, id);
    const n = props.node;
    this.resource = new DataResource(this, 'Resource', {
      dependsOn: props.dependsOn,
      triggersReplace: props.triggers,
      input: props.describe,
      connection: {
        type: 'ssh',
        host: terraformLiteral(n.host),
        port: n.port ?? 22,
        user: terraformLiteral(n.user ?? 'root'),
        ...(n.privateKeyPath ? { privateKey: Fn.file(n.privateKeyPath) } : {}),
        agent: n.agent ? 'true' : 'false',
        ...(n.hostKey ? { hostKey: n.hostKey.trim() } : {}),
      },
      provisioners: [{ type: 'remote-exec', inline: [...props.script.slice(0, 1).map(terraformLiteral), ...(props.applyTimeLines ?? []), ...props.script.slice(1).map(terraformLiteral)] }],
    });
  }
}
