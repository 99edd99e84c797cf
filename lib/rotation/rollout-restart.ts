import { Construct } from 'constructs';
import { fieldManagerFor, trustAnnotations } from '../contract';
import { contentHash, Workload, workloadViolation } from '../rules';
import { ClusterStep, StepBaseProps } from './cluster-step';
import { checkProp, RotationPropError } from './common';

export type { Workload, WorkloadKind } from '../rules';

/** Properties of {@link RolloutRestart}. */
export interface RolloutRestartProps extends StepBaseProps {
  /**
   * A content hash of what the pods must trust (lowercase hex, 32 to 128
   * characters), written as the pod-template annotation
   * `cert-rotation.io/trust-sha256`. Pods roll when it changes and only then;
   * never pass a counter or a timestamp, or every plan would restart them.
   */
  readonly trustHash: string;
  /** The workloads to roll; one that does not exist in the cluster is skipped with a line saying so. */
  readonly workloads: Workload[];
  /**
   * How long the step waits for each rollout, in seconds; 0 does not wait.
   * @default 300
   */
  readonly waitSeconds?: number;
}

/**
 * Rolls workloads after a rotation: a step sets the pod-template annotation
 * `cert-rotation.io/trust-sha256` (strategic merge patch, own field manager)
 * on each workload that exists, reads it back and waits for the rollout. The
 * value is a content hash, so a second plan after apply is empty. Destroying
 * the construct changes nothing in the cluster.
 *
 * Which workloads hold certificate or CA data depends on the distribution
 * and the Rancher version: nothing is assumed, the caller lists them.
 *
 * @see https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/manage-clusters/rotate-certificates
 */
export class RolloutRestart extends Construct {
  /** The step. */
  public readonly step: ClusterStep;
  /** The trust hash written on every workload. */
  public readonly trustHash: string;
  /** The workloads rolled where they exist, in order. */
  public readonly workloads: Workload[];

  constructor(scope: Construct, id: string, props: RolloutRestartProps) {
    super(scope, id);
    const what = 'RolloutRestart';
    checkProp(what, 'trustHash', props.trustHash, contentHash);
    const seen = new Set<string>();
    for (const workload of props.workloads ?? []) {
      const bad = workloadViolation(workload);
      if (bad) throw new RotationPropError(what, `workload.${bad.part}`, workload[bad.part], bad.violation.problem, bad.violation.fix);
      const key = `${workload.kind}/${workload.namespace}/${workload.name}`;
      if (seen.has(key)) throw new RotationPropError(what, 'workloads', key, 'lists this workload twice', 'remove the duplicate (each workload is annotated once)');
      seen.add(key);
    }
    if (seen.size === 0) {
      throw new RotationPropError(what, 'workloads', '[]', 'is empty', 'list the workloads to roll, or leave the construct out');
    }
    const waitSeconds = props.waitSeconds ?? 300;
    if (!Number.isInteger(waitSeconds) || waitSeconds < 0) {
      throw new RotationPropError(what, 'waitSeconds', waitSeconds, 'is not a whole number of seconds ≥ 0', 'give how long each rollout may take, or 0 not to wait');
    }
    this.trustHash = props.trustHash;
    this.workloads = props.workloads.map((w) => ({ kind: w.kind, namespace: w.namespace, name: w.name }));
    this.step = new ClusterStep(this, 'Step', {
      target: props.target,
      dependsOn: props.dependsOn,
      spec: {
        step: 'restart',
        workloads: this.workloads,
        annotations: trustAnnotations(this.trustHash),
        fieldManager: fieldManagerFor(this.node.path, 'restart'),
        waitSeconds,
      },
    });
  }

  /** The `terraform_data` of the step, to depend on. */
  public get resource() {
    return this.step.resource;
  }
}
