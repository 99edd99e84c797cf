import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { RotationPropError, shellQuote } from './common';
import { checkNodeSsh, NodeCommand, NodeSsh, scriptPrelude } from './node-command';

export type { NodeSsh } from './node-command';

/**
 * The services `rke2 certificate rotate --service` accepts (k3s
 * `pkg/util/services`, with the program name rke2).
 *
 * @see https://docs.rke2.io/security/certificates
 */
export const RKE2_SERVICES = [
  'admin', 'api-server', 'controller-manager', 'scheduler', 'etcd', 'cloud-controller', 'supervisor',
  'auth-proxy', 'rke2-server', 'rke2-controller', 'kubelet', 'kube-proxy',
] as const;

/** An RKE2 node: SSH settings and, where a node differs from the rest, its own paths. */
export interface Rke2Node extends NodeSsh {
  /**
   * This node's data directory.
   * @default - the construct's `dataDir`
   */
  readonly dataDir?: string;
  /**
   * This node's admin kubeconfig (servers).
   * @default - the construct's `kubeconfigPath`
   */
  readonly kubeconfigPath?: string;
  /**
   * Where this server's API answers, seen from the node (`host:port`).
   * @default - the construct's `apiAddress`
   */
  readonly apiAddress?: string;
}

/** How the certificates are renewed. */
export type Rke2RotationMode =
  /** `systemctl stop rke2-server`, `rke2 certificate rotate`, `systemctl start rke2-server`. */
  | 'rotate'
  /**
   * Certificates already expired, the API unreachable with verification:
   * delete the `rke2-serving` Secret with `--insecure-skip-tls-verify` (first
   * server), remove `server/tls/dynamic-cert.json`, `systemctl restart
   * rke2-server` (a restart renews certificates that expired or expire within 90 days).
   */
  | 'expired';

/** Properties of {@link Rke2CertificateRotation}. */
export interface Rke2CertificateRotationProps {
  /** The server nodes, rotated one at a time in this order. */
  readonly servers: Rke2Node[];
  /**
   * The agent nodes: `systemctl restart rke2-agent` on each after every server is done.
   * @default []
   */
  readonly agents?: Rke2Node[];
  /**
   * Rotation number: the rotation runs when the construct is first applied and
   * again only when this number (or `services`) changes. Raise it to rotate again.
   */
  readonly generation: number;
  /**
   * Services to rotate (`--service`, repeated); empty rotates all of them.
   * @default [] - every service
   */
  readonly services?: string[];
  /**
   * @default 'rotate'
   */
  readonly mode?: Rke2RotationMode;
  /**
   * RKE2's data directory on the nodes (`--data-dir`).
   * @default '/var/lib/rancher/rke2'
   */
  readonly dataDir?: string;
  /**
   * The admin kubeconfig RKE2 writes on servers, used by the readiness check.
   * @default '/etc/rancher/rke2/rke2.yaml'
   */
  readonly kubeconfigPath?: string;
  /**
   * After each server is Ready again, check that its API serves the
   * `serving-kube-apiserver.crt` now on disk (`openssl s_client` on the node,
   * SHA-256 fingerprints compared), so the apply does not go on while the old
   * certificate is still served. Needs `openssl` on the servers.
   * @default true
   */
  readonly apiServingCheck?: boolean;
  /**
   * Where the servers' API answers, seen from each server (`host:port`).
   * @default '127.0.0.1:6443'
   */
  readonly apiAddress?: string;
  /**
   * The shell command that succeeds when the node is Ready; `{node}` is
   * replaced by the node's name (quoted).
   * @default - `<dataDir>/bin/kubectl --kubeconfig <kubeconfigPath> get node {node}` reports Ready True
   */
  readonly readinessCommand?: string;
  /**
   * The shell command, run on an agent, that succeeds when it is back; `{node}` is replaced by its name.
   * @default 'systemctl is-active --quiet rke2-agent'
   */
  readonly agentReadinessCommand?: string;
  /**
   * How long to wait for each node to be Ready again, in seconds.
   * @default 300
   */
  readonly readinessTimeoutSeconds?: number;
  /**
   * Resources the rotation runs after.
   * @default []
   */
  readonly dependsOn?: ITerraformDependable[];
}

/** One node's part of the rotation, in the order the apply runs it. */
export interface Rke2NodePlan {
  /** The node's name. */
  readonly node: string;
  /** `server` or `agent`. */
  readonly role: 'server' | 'agent';
  /** The commands, in order (the readiness wait included as `wait: …`). */
  readonly commands: string[];
}

/**
 * RKE2 certificate rotation over SSH: on each server in turn `systemctl stop
 * rke2-server`, `rke2 certificate rotate [--service …]`, `systemctl start
 * rke2-server`, then a wait until the node is Ready again before the next
 * server; then `systemctl restart rke2-agent` on every agent. The backup
 * directory `rotate` prints (`<data-dir>/server/tls-<unix time>`) appears in
 * the apply log as `backup: <path>`.
 *
 * Only `generation` and `services` trigger a rotation: other prop changes
 * update the plan's description in place and run nothing.
 *
 * @see https://docs.rke2.io/security/certificates
 */
export class Rke2CertificateRotation extends Construct {
  /** The per-node steps, servers first, in apply order. */
  public readonly steps: NodeCommand[] = [];
  /** The commands per node, in apply order (what `explain` shows). */
  public readonly plan: Rke2NodePlan[] = [];

  constructor(scope: Construct, id: string, props: Rke2CertificateRotationProps) {
    super(scope, id);
    const what = 'Rke2CertificateRotation';
    const servers = props.servers ?? [];
    const agents = props.agents ?? [];
    if (!Array.isArray(servers) || servers.length === 0) throw new RotationPropError(what, 'servers', servers, 'is empty', 'list at least one server node');
    servers.forEach((n, i) => checkNodeSsh(what, `servers[${i}]`, n));
    agents.forEach((n, i) => checkNodeSsh(what, `agents[${i}]`, n));
    const names = new Set<string>();
    for (const n of [...servers, ...agents]) {
      if (names.has(n.name)) throw new RotationPropError(what, 'servers/agents', n.name, 'names a node twice', 'list each node once, as server or agent');
      names.add(n.name);
    }
    if (!Number.isInteger(props.generation) || props.generation < 1) {
      throw new RotationPropError(what, 'generation', props.generation, 'is not a whole number of at least 1', 'start at 1 and raise it by one for each new rotation');
    }
    const services = props.services ?? [];
    for (const s of services) {
      if (!(RKE2_SERVICES as readonly string[]).includes(s)) {
        throw new RotationPropError(what, 'services', s, 'is not a service rke2 certificate rotate knows', `use one of ${RKE2_SERVICES.join(', ')}`);
      }
    }
    if (new Set(services).size !== services.length) throw new RotationPropError(what, 'services', services, 'lists a service twice', 'list each service once');
    const mode = props.mode ?? 'rotate';
    if (mode !== 'rotate' && mode !== 'expired') throw new RotationPropError(what, 'mode', mode, 'is not a mode', "use 'rotate' or 'expired'");
    if (mode === 'expired' && services.length) throw new RotationPropError(what, 'services', services, "does not apply in mode 'expired' (a restart renews whatever expired)", "leave services empty, or use mode 'rotate'");
    const absolute = (prop: string, value: string | undefined, fallback: string): string => {
      const v = (value ?? fallback).replace(/(.)\/+$/, '$1');
      if (!v.startsWith('/')) throw new RotationPropError(what, prop, value, 'is not an absolute path', `pass an absolute path on the nodes, e.g. ${fallback}`);
      return v;
    };
    const defaultDataDir = absolute('dataDir', props.dataDir, '/var/lib/rancher/rke2');
    const defaultKubeconfig = absolute('kubeconfigPath', props.kubeconfigPath, '/etc/rancher/rke2/rke2.yaml');
    const timeout = props.readinessTimeoutSeconds ?? 300;
    if (!Number.isInteger(timeout) || timeout < 1) throw new RotationPropError(what, 'readinessTimeoutSeconds', timeout, 'is not a whole number of seconds of at least 1', 'use e.g. 300');
    const readiness = (node: string, dataDir: string, kubeconfig: string) => (props.readinessCommand
      ? props.readinessCommand.split('{node}').join(shellQuote(node))
      : `${shellQuote(`${dataDir}/bin/kubectl`)} --kubeconfig ${shellQuote(kubeconfig)} get node ${shellQuote(node)} -o 'jsonpath={.status.conditions[?(@.type=="Ready")].status}' | grep -qx True`);

    const triggers = { generation: props.generation, services: [...services].sort(), mode };
    let previous: ITerraformDependable[] | undefined = props.dependsOn;

    servers.forEach((node, i) => {
      const dataDir = absolute(`servers[${i}].dataDir`, node.dataDir, defaultDataDir);
      const kubeconfig = absolute(`servers[${i}].kubeconfigPath`, node.kubeconfigPath, defaultKubeconfig);
      const tls = `${dataDir}/server/tls`;
      const before = servers.slice(0, i).map((s) => s.name);
      const lines = scriptPrelude(node.name);
      const commands: string[] = [];
      const state = (s: string) => lines.push(`CR_STATE=${shellQuote(s)}`);
      const done = before.length ? `servers ${before.join(', ')} are done` : 'no server was changed before this one';
      if (mode === 'rotate') {
        const rotate = ['rke2', 'certificate', 'rotate', ...services.flatMap((s) => ['--service', s]), '--data-dir', dataDir].map(shellQuote).join(' ');
        commands.push('systemctl stop rke2-server', rotate, 'systemctl start rke2-server');
        state(`rke2-server on ${node.name} may still run; ${done}; later servers and the agents are untouched`);
        lines.push("cr_step 'systemctl stop rke2-server' systemctl stop rke2-server");
        state(`rke2-server on ${node.name} is stopped with its certificates unchanged; ${done}; later servers and the agents are untouched`);
        lines.push(`cr_out=$(${rotate} 2>&1) || { echo "$cr_out" >&2; cr_fail 'rke2 certificate rotate'; }`);
        lines.push('echo "$cr_out"');
        lines.push(`cr_backup=$(echo "$cr_out" | sed -n 's/.* to path \\([^,]*\\),.*/\\1/p; s/.*backed up certificates to \\([^,]*\\),.*/\\1/p' | tail -n 1)`);
        lines.push('echo "cert-rotation: node $CR_NODE: backup: ${cr_backup:-unknown}"');
        state(`rke2-server on ${node.name} is stopped; its old certificates are in the backup directory printed above and new ones are made at start; ${done}`);
        lines.push("cr_step 'systemctl start rke2-server' systemctl start rke2-server");
      } else {
        if (i === 0) {
          const del = `${shellQuote(`${dataDir}/bin/kubectl`)} --kubeconfig ${shellQuote(kubeconfig)} --insecure-skip-tls-verify delete secret rke2-serving -n kube-system --ignore-not-found`;
          commands.push(del);
          state(`nothing changed on ${node.name} yet`);
          lines.push(`cr_step 'delete secret kube-system/rke2-serving' sh -c ${shellQuote(del)}`);
        }
        const rm = `rm -f ${shellQuote(`${tls}/dynamic-cert.json`)}`;
        commands.push(rm, 'systemctl restart rke2-server');
        state(`rke2-server on ${node.name} still runs; ${done}`);
        lines.push(`cr_step 'remove server/tls/dynamic-cert.json' ${rm}`);
        lines.push("cr_step 'systemctl restart rke2-server' systemctl restart rke2-server");
      }
      commands.push(`wait: node ${node.name} Ready (up to ${timeout}s)`);
      state(`rke2-server on ${node.name} was started with new certificates but the node is not Ready; ${done}; later servers and the agents are untouched`);
      lines.push(`cr_wait ${shellQuote(`node ${node.name} Ready`)} ${timeout} ${shellQuote(readiness(node.name, dataDir, kubeconfig))}`);
      if (mode === 'rotate' && (services.length === 0 || services.includes('api-server'))) {
        // The serving certificate on disk is a new one (not the backup's).
        commands.push('check: server/tls/serving-kube-apiserver.crt renewed');
        lines.push(`cr_step 'check serving-kube-apiserver.crt renewed' sh -c ${shellQuote(`test -s ${tls}/serving-kube-apiserver.crt && ! cmp -s "$0"/serving-kube-apiserver.crt ${tls}/serving-kube-apiserver.crt`)} "$cr_backup"`);
      }
      if (props.apiServingCheck ?? true) {
        // What clients see: the API answers with the certificate on disk (it loads it at start).
        const address = node.apiAddress ?? props.apiAddress ?? '127.0.0.1:6443';
        if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(address)) {
          throw new RotationPropError(what, node.apiAddress ? `servers[${i}].apiAddress` : 'apiAddress', address, 'is not host:port', 'give where the API answers on the server, e.g. 127.0.0.1:6443');
        }
        const fingerprint = 'openssl x509 -noout -fingerprint -sha256';
        const probe = `served=$(echo | openssl s_client -connect ${address} 2>/dev/null | ${fingerprint}) && [ -n "$served" ] && [ "$served" = "$(${fingerprint} -in ${shellQuote(`${tls}/serving-kube-apiserver.crt`)})" ]`;
        commands.push(`check: the API at ${address} serves server/tls/serving-kube-apiserver.crt`);
        state(`rke2-server on ${node.name} is Ready but its API does not serve the certificate on disk; ${done}; later servers and the agents are untouched`);
        lines.push(`cr_wait ${shellQuote(`API at ${address} serves the serving-kube-apiserver.crt on disk`)} ${timeout} ${shellQuote(probe)}`);
      }
      lines.push('echo "cert-rotation: node $CR_NODE: done"');
      const step = new NodeCommand(this, `server-${node.name}`, {
        node,
        script: lines,
        triggers: { ...triggers, node: node.name, role: 'server' },
        describe: { node: node.name, role: 'server', order: i + 1, commands },
        dependsOn: previous,
      });
      this.steps.push(step);
      this.plan.push({ node: node.name, role: 'server', commands });
      previous = [step.resource];
    });

    const afterServers = previous;
    agents.forEach((node, i) => {
      const lines = scriptPrelude(node.name);
      const commands = ['systemctl restart rke2-agent', `wait: node ${node.name} Ready (up to ${timeout}s)`];
      lines.push(`CR_STATE=${shellQuote(`every server is rotated; rke2-agent on ${node.name} did not restart cleanly`)}`);
      lines.push("cr_step 'systemctl restart rke2-agent' systemctl restart rke2-agent");
      lines.push(`CR_STATE=${shellQuote(`every server is rotated; rke2-agent on ${node.name} was restarted but the node is not Ready`)}`);
      // Agents have no admin kubeconfig: by default the agent's unit must be active again.
      const check = props.agentReadinessCommand ? props.agentReadinessCommand.split('{node}').join(shellQuote(node.name)) : 'systemctl is-active --quiet rke2-agent';
      lines.push(`cr_wait ${shellQuote(`node ${node.name} Ready`)} ${timeout} ${shellQuote(check)}`);
      lines.push('echo "cert-rotation: node $CR_NODE: done"');
      const step = new NodeCommand(this, `agent-${node.name}`, {
        node,
        script: lines,
        triggers: { ...triggers, node: node.name, role: 'agent' },
        describe: { node: node.name, role: 'agent', order: servers.length + i + 1, commands },
        dependsOn: afterServers,
      });
      this.steps.push(step);
      this.plan.push({ node: node.name, role: 'agent', commands });
    });
  }
}
