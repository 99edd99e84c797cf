import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { fieldManagerFor, sha256Hex } from '../contract';
import { dnsLabel, dnsSubdomain, Workload } from '../rules';
import { StepTarget } from '../steps/spec';
import { ClusterStep } from './cluster-step';
import { addRotationWarning, checkProp, RotationPropError } from './common';
import { RKE_ROTATE_CA_WORKLOADS } from './rke-certificate-rotation';
import { RolloutRestart } from './rollout-restart';

/** Services Rancher's RKE1 rotation accepts (rancher/rke `types/rke_types.go`, `RotateCertificates.Services`). */
export const RKE1_ROTATE_SERVICES = ['etcd', 'kubelet', 'kube-apiserver', 'kube-proxy', 'kube-scheduler', 'kube-controller-manager'] as const;

/**
 * Services Rancher's RKE2/K3s planner knows (rancher/rancher
 * `pkg/capr/planner/certificaterotation.go`, `shouldRotateEntry`); each is
 * passed to `rke2|k3s certificate rotate -s`.
 */
export const V2_ROTATE_SERVICES = [
  'admin', 'api-server', 'auth-proxy', 'cloud-controller', 'controller-manager', 'etcd', 'k3s-controller',
  'k3s-server', 'kube-proxy', 'kubelet', 'rke2-controller', 'rke2-server', 'scheduler',
] as const;

/** One cluster Rancher provisioned, and the rotation asked of it. */
export interface RancherClusterRotation {
  /**
   * RKE2/K3s: the provisioning cluster's name (`kubectl get clusters.provisioning.cattle.io -A`);
   * RKE1: the cluster id (`c-xxxxx`).
   */
  readonly name: string;
  /**
   * RKE2/K3s: the provisioning cluster's namespace.
   * @default 'fleet-default'
   */
  readonly namespace?: string;
  /** How Rancher provisioned it. */
  readonly distribution: 'rke1' | 'rke2' | 'k3s';
  /** The rotation's number (≥ 1): raise it to rotate again; nothing else re-runs a rotation. */
  readonly generation: number;
  /**
   * The services whose certificates rotate.
   * @default [] - all services
   */
  readonly services?: string[];
  /**
   * RKE1 only: rotate the CA too (and with it every certificate).
   * @default false
   */
  readonly caCertificates?: boolean;
  /**
   * RKE1 only: after Rancher reports the rotation done, roll the pods that hold
   * service-account tokens or the cluster's CA (the procedure's last step:
   * Rancher's agents, kube-api-auth, the ingress controller, the network and
   * DNS pods, then your own), on the downstream cluster this kubeconfig reaches
   * (absolute path; e.g. the kubeconfig Rancher gives for the cluster, which
   * goes through Rancher and keeps working across the rotation).
   * @default - no restart; rotating the CA without it warns `[cert-rotation:podsNotRestarted]`
   */
  readonly restartAfter?: RancherClusterRestart;
}

/** The restart after an RKE1 rotation: the downstream cluster and what to roll there. */
export interface RancherClusterRestart {
  readonly kubeconfig: string;
  readonly context?: string;
  /**
   * @default RKE_ROTATE_CA_WORKLOADS - the system workloads of an RKE cluster (each skipped when it does not exist)
   */
  readonly workloads?: Workload[];
  /**
   * How long to wait for each rollout, in seconds.
   * @default 300
   */
  readonly waitSeconds?: number;
}

/** Properties of {@link RancherClusterCertificateRotation}. */
export interface RancherClusterCertificateRotationProps {
  /** The Rancher server (local) cluster, where the cluster objects live: kubeconfig (absolute path) and context. */
  readonly server: { readonly kubeconfig: string; readonly context?: string };
  /** The clusters to rotate, one after the other in this order. */
  readonly clusters: RancherClusterRotation[];
  /**
   * How long Rancher may take per cluster, in seconds.
   * @default 1800
   */
  readonly timeoutSeconds?: number;
  /**
   * Resources the first rotation runs after.
   * @default []
   */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * Rotates the certificates of clusters Rancher provisioned the way Rancher
 * supports it (the UI's "Rotate Certificates"): by setting `rotateCertificates`
 * on each cluster's object on the Rancher server cluster and waiting until
 * Rancher reports the rotation done. Only the rotation fields are patched,
 * with this construct's own field manager; the rest of the object belongs to
 * Rancher or to a `rancher2` resource and is left alone.
 *
 * - RKE2/K3s (Rancher 2.6.4+): `provisioning.cattle.io/v1` Cluster
 *   `spec.rkeConfig.rotateCertificates {generation, services}`, the same model
 *   as the rancher2 provider's `cluster_v2.rke_config.rotate_certificates`;
 *   done when `rkecontrolplanes.rke.cattle.io` reports the generation and
 *   `Reconciled`.
 * - RKE1: `management.cattle.io/v3` Cluster
 *   `spec.rancherKubernetesEngineConfig.rotateCertificates {caCertificates, services}`;
 *   done when Rancher has cleared the block and `Updated` is True. A block
 *   this construct did not write stops the step before any change (a leftover
 *   of a failed rotation makes Rancher retry it forever); a failed rotation
 *   is cleared by the step so that it cannot loop. With `restartAfter`, the
 *   pods holding service-account tokens or the CA roll after it.
 *
 * A rotation runs when its generation, services or CA flag change; an
 * unrelated change plans nothing.
 *
 * @see https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/manage-clusters/rotate-certificates
 */
export class RancherClusterCertificateRotation extends Construct {
  /** One step per cluster, in `clusters` order. */
  public readonly steps: ClusterStep[] = [];
  /** The restarts after RKE1 rotations (`restartAfter`), in `clusters` order. */
  public readonly restarts: RolloutRestart[] = [];

  constructor(scope: Construct, id: string, props: RancherClusterCertificateRotationProps) {
    super(scope, id);
    const what = 'RancherClusterCertificateRotation';
    if (!Array.isArray(props.clusters) || props.clusters.length === 0) {
      throw new RotationPropError(what, 'clusters', props.clusters, 'is empty', 'list the clusters to rotate with their generation');
    }
    const timeoutSeconds = props.timeoutSeconds ?? 1800;
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
      throw new RotationPropError(what, 'timeoutSeconds', timeoutSeconds, 'is not a whole number of seconds ≥ 1', 'give how long Rancher may take per cluster, e.g. 1800');
    }
    const target = { cluster: 'server', kubeconfig: props.server.kubeconfig, ...(props.server.context !== undefined ? { context: props.server.context } : {}) };
    const seen = new Set<string>();
    let previous = props.dependsOn;
    for (const c of props.clusters) {
      const at = `${what} (cluster '${c.name}')`;
      checkProp(at, 'name', c.name, dnsSubdomain);
      if (!['rke1', 'rke2', 'k3s'].includes(c.distribution)) {
        throw new RotationPropError(at, 'distribution', c.distribution, 'is not rke1, rke2 or k3s', 'say how Rancher provisioned the cluster');
      }
      const key = `${c.namespace ?? ''}/${c.name}`;
      if (seen.has(key)) throw new RotationPropError(at, 'name', c.name, 'is listed twice', 'list each cluster once');
      seen.add(key);
      if (!Number.isInteger(c.generation) || c.generation < 1) {
        throw new RotationPropError(at, 'generation', c.generation, 'is not a whole number ≥ 1', 'start at 1 and raise it by one for each rotation (0 never rotates)');
      }
      const allowed: readonly string[] = c.distribution === 'rke1' ? RKE1_ROTATE_SERVICES : V2_ROTATE_SERVICES;
      const services = c.services ?? [];
      for (const s of services) {
        if (!allowed.includes(s)) {
          throw new RotationPropError(at, 'services', s, `is not a ${c.distribution} service Rancher rotates (${allowed.join(', ')})`, 'use one of those names, or leave services out to rotate all');
        }
      }
      if (c.caCertificates && c.distribution !== 'rke1') {
        throw new RotationPropError(at, 'caCertificates', true, 'is for RKE1 clusters only', 'Rancher does not rotate the CA of an RKE2/K3s cluster through this field: leave it out');
      }
      if (c.distribution !== 'rke1') checkProp(at, 'namespace', c.namespace ?? 'fleet-default', dnsLabel());
      const step: ClusterStep = new ClusterStep(this, `Rotate-${c.name}`, {
        target,
        dependsOn: previous,
        spec: {
          step: 'rancher-cluster-rotate',
          kind: c.distribution === 'rke1' ? 'rke1' : 'v2',
          ...(c.distribution === 'rke1' ? {} : { namespace: c.namespace ?? 'fleet-default' }),
          name: c.name,
          generation: c.generation,
          services: [...services].sort(),
          ...(c.distribution === 'rke1' ? { caCertificates: c.caCertificates === true } : {}),
          fieldManager: fieldManagerFor(this.node.path, 'rotate-certificates'),
          timeoutSeconds,
        },
      });
      this.steps.push(step);
      previous = [step.resource];
      if (c.restartAfter !== undefined) {
        if (c.distribution !== 'rke1') {
          throw new RotationPropError(at, 'restartAfter', c.restartAfter, 'is for RKE1 clusters only', 'leave it out: Rancher restarts the RKE2/K3s services itself and their tokens do not change');
        }
        const target: StepTarget = { cluster: c.name, kubeconfig: c.restartAfter.kubeconfig, ...(c.restartAfter.context !== undefined ? { context: c.restartAfter.context } : {}) };
        const restart = new RolloutRestart(this, `Restart-${c.name}`, {
          target,
          // Changes exactly when a new rotation of this cluster is asked for.
          trustHash: sha256Hex(`rancher-rke1-rotation:${c.name}:${c.generation}:${[...services].sort().join(',')}:${c.caCertificates === true}`),
          workloads: c.restartAfter.workloads ?? [...RKE_ROTATE_CA_WORKLOADS],
          ...(c.restartAfter.waitSeconds !== undefined ? { waitSeconds: c.restartAfter.waitSeconds } : {}),
          dependsOn: [step.resource],
        });
        this.restarts.push(restart);
        previous = [restart.step.resource];
      } else if (c.distribution === 'rke1' && c.caCertificates) {
        addRotationWarning(this, 'podsNotRestarted',
          `${at}: the CA rotates but no pods are restarted: pods keep the old CA and service-account tokens until they restart. Fix: set restartAfter with the cluster's kubeconfig`);
      }
    }
  }
}
