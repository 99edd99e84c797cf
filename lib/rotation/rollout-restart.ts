import { Annotations as KubernetesAnnotations } from '@cdktf/provider-kubernetes/lib/annotations';
import { ITerraformDependable, TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { trustAnnotations } from '../contract';
import { contentHash, Workload, workloadViolation } from '../rules';
import { checkProp, fieldManagerName, RotationBaseProps, RotationPropError } from './common';

export type { Workload, WorkloadKind } from '../rules';

/** Properties of {@link RolloutRestart}. */
export interface RolloutRestartProps extends RotationBaseProps {
  /**
   * A content hash of what the pods must trust (lowercase hex, 32 to 128
   * characters), written as the pod-template annotation
   * `cert-rotation.io/trust-sha256`. Pods roll when it changes and only then;
   * never pass a counter or a timestamp, or every plan would restart them.
   */
  readonly trustHash: string;
  /**
   * The workloads to roll.
   * @default RolloutRestart.RANCHER_DEFAULT_WORKLOADS
   */
  readonly workloads?: Workload[];
}

/**
 * Rolls workloads after a rotation by setting the
 * pod-template annotation `cert-rotation.io/trust-sha256` with
 * `kubernetes_annotations` (own field manager per workload, `force`). The value
 * is a content hash, so a second plan after apply is empty.
 *
 * Destroying the construct writes an empty annotation map, which rolls the
 * pods once more.
 *
 * @see https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/manage-clusters/rotate-certificates
 */
export class RolloutRestart extends Construct {
  /**
   * The pods to recreate after rotating the certificates of an RKE1 cluster
   * launched by Rancher: they hold service-account tokens or CA data.
   * RKE1 only; other distributions run other workloads.
   */
  public static readonly RANCHER_DEFAULT_WORKLOADS: readonly Workload[] = Object.freeze([
    { kind: 'Deployment', namespace: 'cattle-system', name: 'cattle-cluster-agent' },
    { kind: 'DaemonSet', namespace: 'cattle-system', name: 'cattle-node-agent' },
    { kind: 'DaemonSet', namespace: 'cattle-system', name: 'kube-api-auth' },
    { kind: 'DaemonSet', namespace: 'ingress-nginx', name: 'nginx-ingress-controller' },
    { kind: 'DaemonSet', namespace: 'kube-system', name: 'canal' },
    { kind: 'Deployment', namespace: 'kube-system', name: 'kube-dns' },
    { kind: 'Deployment', namespace: 'kube-system', name: 'kube-dns-autoscaler' },
  ] as Workload[]);

  /** The trust hash written on every workload. */
  public readonly trustHash: string;

  private readonly provider?: TerraformProvider;
  private readonly dependsOn?: ITerraformDependable[];
  private readonly _resources: KubernetesAnnotations[] = [];
  private readonly _workloads: Workload[] = [];

  constructor(scope: Construct, id: string, props: RolloutRestartProps) {
    super(scope, id);
    checkProp('RolloutRestart', 'trustHash', props.trustHash, contentHash);
    this.trustHash = props.trustHash;
    this.provider = props.provider;
    this.dependsOn = props.dependsOn;
    for (const workload of props.workloads ?? RolloutRestart.RANCHER_DEFAULT_WORKLOADS) {
      this.addWorkload(workload);
    }
  }

  /** The workloads rolled, in the order they were added. */
  public get workloads(): Workload[] {
    return [...this._workloads];
  }

  /** The `kubernetes_annotations` resources, one per workload, in the order added. */
  public get resources(): KubernetesAnnotations[] {
    return [...this._resources];
  }

  /**
   * Rolls one more workload. Its construct id is `<kind>-<namespace>-<name>`,
   * so adding workloads never renames the others' resources.
   */
  public addWorkload(workload: Workload): this {
    const what = 'RolloutRestart';
    const bad = workloadViolation(workload);
    if (bad) {
      throw new RotationPropError(what, `workload.${bad.part}`, workload[bad.part], bad.violation.problem, bad.violation.fix);
    }
    const id = `${workload.kind}-${workload.namespace}-${workload.name}`;
    if (this.node.tryFindChild(id)) {
      throw new RotationPropError(
        what,
        'workloads',
        `${workload.kind}/${workload.namespace}/${workload.name}`,
        'lists this workload twice',
        'remove the duplicate (each workload is annotated once)',
      );
    }
    const resource = new KubernetesAnnotations(this, id, {
      provider: this.provider,
      dependsOn: this.dependsOn,
      apiVersion: 'apps/v1',
      kind: workload.kind,
      metadata: { name: workload.name, namespace: workload.namespace },
      templateAnnotations: trustAnnotations(this.trustHash),
      fieldManager: fieldManagerName(`${this.node.path}/${id}`, 'restart'),
      force: true,
    });
    this._workloads.push({ kind: workload.kind, namespace: workload.namespace, name: workload.name });
    this._resources.push(resource);
    return this;
  }
}
