import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { sha256Hex } from '../contract';
import { Workload } from '../rules';
import { StepTarget } from '../steps/spec';
import { RotationPropError, shellQuote } from './common';
import { checkNodeSsh, NodeCommand, NodeSsh, scriptPrelude } from './node-command';
import { RolloutRestart } from './rollout-restart';

/**
 * The services `rke cert rotate --service` accepts.
 *
 * @see https://rke.docs.rancher.com/cert-mgmt
 */
export const RKE_SERVICES = ['etcd', 'kubelet', 'kube-apiserver', 'kube-proxy', 'kube-scheduler', 'kube-controller-manager'] as const;

/**
 * The system workloads that must be restarted after `rke cert rotate
 * --rotate-ca` (network, ingress controller, DNS, Rancher's agents); those that
 * do not exist in the cluster are skipped.
 *
 * @see https://rke.docs.rancher.com/cert-mgmt#rotating-the-ca-and-all-service-certificates
 */
export const RKE_ROTATE_CA_WORKLOADS: readonly Workload[] = [
  { kind: 'Deployment', namespace: 'cattle-system', name: 'cattle-cluster-agent' },
  { kind: 'DaemonSet', namespace: 'cattle-system', name: 'cattle-node-agent' },
  { kind: 'DaemonSet', namespace: 'cattle-system', name: 'kube-api-auth' },
  { kind: 'DaemonSet', namespace: 'ingress-nginx', name: 'nginx-ingress-controller' },
  { kind: 'DaemonSet', namespace: 'kube-system', name: 'canal' },
  { kind: 'DaemonSet', namespace: 'kube-system', name: 'calico-node' },
  { kind: 'DaemonSet', namespace: 'kube-system', name: 'kube-flannel' },
  { kind: 'DaemonSet', namespace: 'kube-system', name: 'weave-net' },
  { kind: 'Deployment', namespace: 'kube-system', name: 'kube-dns' },
  { kind: 'Deployment', namespace: 'kube-system', name: 'kube-dns-autoscaler' },
  { kind: 'Deployment', namespace: 'kube-system', name: 'coredns' },
  { kind: 'Deployment', namespace: 'kube-system', name: 'coredns-autoscaler' },
];

/** Properties of {@link RkeCertificateRotation}. */
export interface RkeCertificateRotationProps {
  /** The machine where `rke` runs and `cluster.yml` / `cluster.rkestate` live. */
  readonly host: NodeSsh;
  /** Absolute path of `cluster.yml` on that machine (`--config`); `cluster.rkestate` is next to it. */
  readonly clusterConfigPath: string;
  /**
   * Rotation number: the rotation runs when first applied and again only when
   * this number, `services` or `rotateCA` changes.
   */
  readonly generation: number;
  /**
   * Services to rotate (`--service`); empty rotates all of them.
   * @default [] - every service
   */
  readonly services?: string[];
  /**
   * Rotate the CA too (`--rotate-ca`), then restart the system workloads.
   * @default false
   */
  readonly rotateCA?: boolean;
  /**
   * The cluster whose system workloads are restarted after `--rotate-ca`
   * (a kubeconfig that trusts the new CA, e.g. `kube_config_cluster.yml`).
   * @default - required when rotateCA is true
   */
  readonly cluster?: StepTarget;
  /**
   * The workloads restarted after `--rotate-ca`.
   * @default RKE_ROTATE_CA_WORKLOADS
   */
  readonly restartWorkloads?: Workload[];
  /**
   * Run `rke up` first: for clusters created before RKE v0.2.0, which have no `cluster.rkestate`.
   * @default false
   */
  readonly upFirst?: boolean;
  /**
   * The rke command on the host.
   * @default 'rke'
   */
  readonly rkeCommand?: string;
  /**
   * Resources the rotation runs after.
   * @default []
   */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * RKE (RKE1) certificate rotation: `rke cert rotate [--service …]
 * [--rotate-ca] --config <cluster.yml>` on the machine that holds the cluster
 * files, re-run only when `generation`, `services` or `rotateCA` change (the
 * Terraform rke provider rotates again on every apply). With `rotateCA`, the
 * system workloads are restarted afterwards so they read the new CA and tokens.
 *
 * @see https://rke.docs.rancher.com/cert-mgmt
 */
export class RkeCertificateRotation extends Construct {
  /** The step that runs rke on the host. */
  public readonly rotation: NodeCommand;
  /** The restart of the system workloads (with `rotateCA`). */
  public readonly restart?: RolloutRestart;
  /** The commands, in order (what `explain` shows). */
  public readonly commands: string[];

  constructor(scope: Construct, id: string, props: RkeCertificateRotationProps) {
    super(scope, id);
    const what = 'RkeCertificateRotation';
    checkNodeSsh(what, 'host', props.host);
    if (typeof props.clusterConfigPath !== 'string' || !props.clusterConfigPath.startsWith('/')) {
      throw new RotationPropError(what, 'clusterConfigPath', props.clusterConfigPath, 'is not an absolute path', 'pass the absolute path of cluster.yml on the host');
    }
    if (!Number.isInteger(props.generation) || props.generation < 1) {
      throw new RotationPropError(what, 'generation', props.generation, 'is not a whole number of at least 1', 'start at 1 and raise it by one for each new rotation');
    }
    const services = props.services ?? [];
    for (const s of services) {
      if (!(RKE_SERVICES as readonly string[]).includes(s)) throw new RotationPropError(what, 'services', s, 'is not a service rke cert rotate knows', `use one of ${RKE_SERVICES.join(', ')}`);
    }
    if (services.length > 1) throw new RotationPropError(what, 'services', services, 'lists more than one service (rke cert rotate takes one --service)', 'list one service, or none for all');
    const rotateCA = props.rotateCA ?? false;
    if (rotateCA && services.length) throw new RotationPropError(what, 'services', services, 'is set with rotateCA (a new CA needs every certificate)', 'leave services empty with rotateCA');
    if (rotateCA && !props.cluster) throw new RotationPropError(what, 'cluster', props.cluster, 'is missing while rotateCA is true', 'pass the cluster whose system workloads must restart (kubeconfig with the new CA)');
    const rke = props.rkeCommand ?? 'rke';
    const dir = props.clusterConfigPath.replace(/\/[^/]*$/, '') || '/';
    const rotate = [rke, 'cert', 'rotate', ...services.flatMap((s) => ['--service', s]), ...(rotateCA ? ['--rotate-ca'] : []), '--config', props.clusterConfigPath];
    const commands: string[] = [];
    const lines = scriptPrelude(props.host.name);
    lines.push(`cd ${shellQuote(dir)} || cr_fail ${shellQuote(`cd ${dir}`)}`);
    if (props.upFirst) {
      const up = [rke, 'up', '--config', props.clusterConfigPath].map(shellQuote).join(' ');
      commands.push(up);
      lines.push(`CR_STATE=${shellQuote('nothing was rotated; rke up may have changed the cluster')}`);
      lines.push(`cr_step 'rke up' ${up}`);
    }
    const rotateText = rotate.map(shellQuote).join(' ');
    commands.push(rotateText);
    lines.push(`CR_STATE=${shellQuote('rke may have written new certificates to cluster.rkestate and some nodes; run the apply again')}`);
    lines.push(`cr_step 'rke cert rotate' ${rotateText}`);
    lines.push('echo "cert-rotation: node $CR_NODE: done"');
    const triggers = { generation: props.generation, services: [...services], rotateCA, upFirst: props.upFirst ?? false };
    this.rotation = new NodeCommand(this, 'rotate', {
      node: props.host,
      script: lines,
      triggers,
      describe: { node: props.host.name, role: 'rke', order: 1, commands },
      dependsOn: props.dependsOn,
    });
    if (rotateCA) {
      const workloads = props.restartWorkloads ?? [...RKE_ROTATE_CA_WORKLOADS];
      this.restart = new RolloutRestart(this, 'restart', {
        target: props.cluster!,
        // Changes exactly when a new CA rotation is asked for.
        trustHash: sha256Hex(`rke-rotate-ca:${props.clusterConfigPath}:${props.generation}`),
        workloads,
        dependsOn: [this.rotation.resource],
      });
      commands.push(`restart: ${workloads.map((w) => `${w.kind}/${w.namespace}/${w.name}`).join(', ')}`);
    }
    this.commands = commands;
  }
}
