import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { fieldManagerFor } from '../contract';
import { dnsLabel, dnsSubdomain } from '../rules';
import { ClusterStep } from './cluster-step';
import { checkProp, RotationPropError } from './common';

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
 *   is cleared by the step so that it cannot loop.
 *
 * A rotation runs when its generation, services or CA flag change; an
 * unrelated change plans nothing.
 *
 * @see https://ranchermanager.docs.rancher.com/how-to-guides/new-user-guides/manage-clusters/rotate-certificates
 */
export class RancherClusterCertificateRotation extends Construct {
  /** One step per cluster, in `clusters` order. */
  public readonly steps: ClusterStep[] = [];

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
    }
  }
}
