import { Annotations as KubernetesAnnotations } from '@cdktf/provider-kubernetes/lib/annotations';
import { ITerraformDependable, TerraformProvider, Token } from 'cdktf';
import { Construct } from 'constructs';
import {
  checkDnsLabel,
  checkDnsSubdomain,
  fieldManagerName,
  quoteProp,
  RotationPropError,
  TRUST_ANNOTATION,
} from './common';

/** The workload kinds whose pod template can be annotated to roll them. */
export type WorkloadKind = 'Deployment' | 'DaemonSet' | 'StatefulSet';

const KINDS: readonly WorkloadKind[] = ['Deployment', 'DaemonSet', 'StatefulSet'];

/** A workload to roll. */
export interface Workload {
  /** `Deployment`, `DaemonSet` or `StatefulSet` (group `apps/v1`). */
  readonly kind: WorkloadKind;
  /** The workload's namespace. */
  readonly namespace: string;
  /** The workload's name. */
  readonly name: string;
}

/** Properties of {@link RolloutRestart}. */
export interface RolloutRestartProps {
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
  /**
   * The Kubernetes provider of the cluster that runs the workloads.
   * @default - the stack's default `kubernetes` provider
   */
  readonly provider?: TerraformProvider;
  /**
   * Resources the restarts wait for (the new certificates and values).
   * @default [] - no explicit dependencies
   */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * Rolls workloads after a rotation (seed 000, step 4) by setting the
 * pod-template annotation `cert-rotation.io/trust-sha256` with
 * `kubernetes_annotations` (own field manager per workload, `force`). The value
 * is a content hash, so a second plan after apply is empty.
 *
 * Destroying the construct writes an empty annotation map, which rolls the
 * pods once more.
 */
export class RolloutRestart extends Construct {
  /**
   * The pods to recreate after rotating a Rancher-launched cluster's
   * certificates (seed 000, "RKE 证书轮换", step 4).
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
    if (
      !Token.isUnresolved(props.trustHash) &&
      (typeof props.trustHash !== 'string' || !/^[0-9a-f]{32,128}$/.test(props.trustHash))
    ) {
      throw new RotationPropError(
        `RolloutRestart: ${quoteProp('trustHash', props.trustHash)} is not a content hash: it must be 32 to 128 lowercase ` +
          `hex characters; pass e.g. sha256Hex() of what the pods must trust (a counter or a timestamp would restart them on every plan).`,
      );
    }
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
    if (!KINDS.includes(workload.kind)) {
      throw new RotationPropError(
        `${what}: ${quoteProp('workload.kind', workload.kind)} is not a workload kind this construct can roll; ` +
          `use one of ${KINDS.map((k) => `'${k}'`).join(', ')}.`,
      );
    }
    checkDnsLabel(what, 'workload.namespace', workload.namespace);
    checkDnsSubdomain(what, 'workload.name', workload.name);
    const id = `${workload.kind}-${workload.namespace}-${workload.name}`;
    if (this.node.tryFindChild(id)) {
      throw new RotationPropError(
        `${what}: the workload ${workload.kind} ${workload.namespace}/${workload.name} is listed twice; ` +
          `remove the duplicate from 'workloads' (each workload is annotated once).`,
      );
    }
    const resource = new KubernetesAnnotations(this, id, {
      provider: this.provider,
      dependsOn: this.dependsOn,
      apiVersion: 'apps/v1',
      kind: workload.kind,
      metadata: { name: workload.name, namespace: workload.namespace },
      templateAnnotations: { [TRUST_ANNOTATION]: this.trustHash },
      fieldManager: fieldManagerName(`${this.node.path}/${id}`, 'restart'),
      force: true,
    });
    this._workloads.push({ kind: workload.kind, namespace: workload.namespace, name: workload.name });
    this._resources.push(resource);
    return this;
  }
}
