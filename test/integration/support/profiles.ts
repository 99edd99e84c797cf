import { kubeGet } from '../../../scripts/testbed/client';

/**
 * The workloads a real cluster of each test-bed profile runs (kind namespace/name),
 * from the distributions' sources as listed in scripts/testbed/profiles/README.md:
 * rancher/rancher pkg/systemtemplate (agents), rancher/kontainer-driver-metadata
 * (RKE1 add-ons), rancher/rke2-charts (RKE2 packaged components), rancher/fleet.
 */
export const PROFILE_WORKLOADS: Record<string, string[]> = {
  // The Rancher server cluster: Rancher (its chart) and what Rancher deploys there; no agents since 2.5.
  'rancher-local': [
    'Deployment cattle-system/rancher',
    'Deployment cattle-system/rancher-webhook',
    'Deployment cattle-provisioning-capi-system/capi-controller-manager',
    'Deployment cattle-fleet-system/fleet-controller',
    'Deployment cattle-fleet-system/gitjob',
    'Deployment cattle-fleet-local-system/fleet-agent',
  ],
  // RKE1 on Rancher 2.8: both agents, the authorized cluster endpoint, RKE1's add-ons.
  rke1: [
    'Deployment cattle-system/cattle-cluster-agent',
    'DaemonSet cattle-system/cattle-node-agent',
    'DaemonSet cattle-system/kube-api-auth',
    'Deployment cattle-system/rancher-webhook',
    'Deployment cattle-fleet-system/fleet-agent',
    'DaemonSet kube-system/canal',
    'Deployment kube-system/calico-kube-controllers',
    'Deployment kube-system/coredns',
    'Deployment kube-system/coredns-autoscaler',
    'Deployment kube-system/metrics-server',
    'DaemonSet ingress-nginx/nginx-ingress-controller',
  ],
  // RKE2 on Rancher 2.9+: the cluster agent only, RKE2's packaged charts.
  rke2: [
    'Deployment cattle-system/cattle-cluster-agent',
    'Deployment cattle-system/rancher-webhook',
    'Deployment cattle-system/system-upgrade-controller',
    'StatefulSet cattle-fleet-system/fleet-agent',
    'DaemonSet kube-system/rke2-canal',
    'Deployment kube-system/rke2-coredns-rke2-coredns',
    'Deployment kube-system/rke2-coredns-rke2-coredns-autoscaler',
    'DaemonSet kube-system/rke2-ingress-nginx-controller',
    'Deployment kube-system/rke2-metrics-server',
    'Deployment kube-system/rke2-snapshot-controller',
    'Deployment kube-system/rke2-snapshot-validation-webhook',
  ],
  // A downstream cluster of Rancher 2.12+: no cattle-node-agent anywhere.
  'rancher-2.12': [
    'Deployment cattle-system/cattle-cluster-agent',
    'Deployment cattle-system/rancher-webhook',
    'Deployment cattle-system/system-upgrade-controller',
    'Deployment cattle-fleet-system/fleet-agent',
    'DaemonSet kube-system/rke2-canal',
    'Deployment kube-system/rke2-coredns-rke2-coredns',
    'Deployment kube-system/rke2-coredns-rke2-coredns-autoscaler',
    'DaemonSet kube-system/rke2-ingress-nginx-controller',
    'Deployment kube-system/rke2-metrics-server',
    'Deployment kube-system/rke2-snapshot-controller',
  ],
};

/** Every Deployment, DaemonSet and StatefulSet in a cluster, as 'Kind namespace/name', with its readiness. */
export function clusterWorkloads(cluster: number, get: (c: number, p: string) => any = kubeGet): { name: string; ready: boolean }[] {
  const out: { name: string; ready: boolean }[] = [];
  for (const [kind, plural] of [['Deployment', 'deployments'], ['DaemonSet', 'daemonsets'], ['StatefulSet', 'statefulsets']]) {
    for (const w of get(cluster, `/apis/apps/v1/${plural}`).items) {
      const st = w.status ?? {};
      const want = kind === 'DaemonSet' ? st.desiredNumberScheduled : w.spec.replicas ?? 1;
      const ready = kind === 'DaemonSet' ? st.numberReady : st.readyReplicas;
      out.push({ name: `${kind} ${w.metadata.namespace}/${w.metadata.name}`, ready: want > 0 && ready === want });
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
