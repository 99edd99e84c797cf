/**
 * Where each kind of node keeps its certificates and the kubeconfigs that
 * embed or reference them. File names are the distributions' own:
 *
 * - kubeadm: `/etc/kubernetes/{admin,super-admin,controller-manager,scheduler,kubelet}.conf`
 *   (cmd/kubeadm/app/constants/constants.go: AdminKubeConfigFileName, …), the
 *   PKI under `/etc/kubernetes/pki` (`--cert-dir`), and the kubelet's
 *   `/var/lib/kubelet/pki/kubelet-client-current.pem` and `kubelet-server-current.pem`
 *   (k8s.io/client-go/util/certificate/certificate_store.go: `<prefix>-current.pem`
 *   links to the newest `<prefix>-<timestamp>.pem`; older ones stay behind, so
 *   only the current pair and the self-signed `kubelet.crt` are read).
 *   @see https://kubernetes.io/docs/setup/best-practices/certificates/
 *   @see https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/
 * - RKE2 and K3s (one code base, k3s-io/k3s, with `version.Program` rke2 or k3s):
 *   the server's `/var/lib/rancher/<p>/server/tls` (pkg/daemons/control/deps/deps.go:
 *   `client-ca.crt`, `server-ca.crt`, `client-admin.crt`, `serving-kube-apiserver.crt`,
 *   `etcd/*.crt`, …) and `server/cred/*.kubeconfig` (`admin.kubeconfig`,
 *   `controller.kubeconfig`, `scheduler.kubeconfig`, `api-server.kubeconfig`,
 *   `supervisor.kubeconfig`, …); the admin kubeconfig `/etc/rancher/<p>/<p>.yaml`
 *   (pkg/datadir: GlobalConfig); every node's agent directory
 *   `/var/lib/rancher/<p>/agent` (pkg/agent/config/config.go: `client-kubelet.crt`,
 *   `serving-kubelet.crt`, `client-kube-proxy.crt`, `client-<p>-controller.crt`,
 *   `client-ca.crt`, `server-ca.crt`, `kubelet.kubeconfig`, `kubeproxy.kubeconfig`,
 *   `<p>controller.kubeconfig`), top level only: below it is containerd's image store.
 *   A server runs an agent too, so the server presets include the agent directory.
 *   @see https://docs.rke2.io/security/certificates
 *   @see https://docs.rke2.io/cluster_access
 *   @see https://docs.k3s.io/cli/certificate
 * - RKE: `/etc/kubernetes/ssl`, with the certificates (`kube-ca.pem`, `kube-apiserver.pem`, …)
 *   and the components' kubeconfigs `kubecfg-<component>.yaml`, which reference them
 *   by absolute path (rancher/rke pki/util.go: GetConfigPath, pki/kubeconfig.go).
 *   @see https://rke.docs.rancher.com/cert-mgmt
 */
import * as path from 'path';
import type { PathSpec } from './files';

/** A place a preset reads. */
export interface PresetLocation {
  /** Absolute path on the node. */
  readonly path: string;
  /** Whether subdirectories are read too. */
  readonly recursive: boolean;
  /** Only files whose base name matches. @default every file */
  readonly match?: RegExp;
  /** Whether a node may lack it (noted as skipped then, not an error). */
  readonly optional: boolean;
}

/** A preset: the kind of node, and what it reads. */
export interface Preset {
  /** One line for `--help`. */
  readonly description: string;
  /** The locations; the first is the preset's main directory, which must exist. */
  readonly locations: readonly PresetLocation[];
}

const dir = (p: string, recursive = true): PresetLocation => ({ path: p, recursive, optional: false });
const optionalDir = (p: string, recursive: boolean, match?: RegExp): PresetLocation => ({ path: p, recursive, optional: true, ...(match ? { match } : {}) });
const optionalFile = (p: string): PresetLocation => ({ path: p, recursive: false, optional: true });

function rancherServer(program: 'rke2' | 'k3s'): Preset {
  const data = `/var/lib/rancher/${program}`;
  return {
    description: `${data}/server/tls, server/cred/*.kubeconfig, /etc/rancher/${program}/${program}.yaml, ${data}/agent (top level)`,
    locations: [
      dir(`${data}/server/tls`),
      optionalDir(`${data}/server/cred`, false, /\.kubeconfig$/),
      optionalFile(`/etc/rancher/${program}/${program}.yaml`),
      optionalDir(`${data}/agent`, false),
    ],
  };
}

function rancherAgent(program: 'rke2' | 'k3s'): Preset {
  const data = `/var/lib/rancher/${program}`;
  return {
    description: `${data}/agent (top level: kubelet and kube-proxy certificates, *.kubeconfig)`,
    locations: [dir(`${data}/agent`, false)],
  };
}

/** The presets `--preset` accepts. */
export const PRESETS: Readonly<Record<string, Preset>> = {
  rke: {
    description: '/etc/kubernetes/ssl (certificates and kubecfg-*.yaml)',
    locations: [dir('/etc/kubernetes/ssl')],
  },
  kubeadm: {
    description: '/etc/kubernetes/*.conf, /etc/kubernetes/pki, /var/lib/kubelet/pki (*-current.pem, kubelet.crt)',
    locations: [
      dir('/etc/kubernetes/pki'),
      optionalDir('/etc/kubernetes', false, /\.conf$/),
      optionalDir('/var/lib/kubelet/pki', false, /^(kubelet-client-current\.pem|kubelet-server-current\.pem|kubelet\.crt)$/),
    ],
  },
  'rke2-server': rancherServer('rke2'),
  'rke2-agent': rancherAgent('rke2'),
  'k3s-server': rancherServer('k3s'),
  'k3s-agent': rancherAgent('k3s'),
};

/** The preset names, in the order help text lists them. */
export const PRESET_NAMES: readonly string[] = Object.keys(PRESETS);

/**
 * What presets read, below `root` when given (a tree copied off a node), in
 * preset order without repeats (`rke2-server` and `rke2-agent` share the agent directory).
 *
 * @throws Error naming the preset when it is not one of {@link PRESET_NAMES}
 */
export function presetPaths(names: readonly string[], root?: string): PathSpec[] {
  const out: PathSpec[] = [];
  const seen = new Map<string, number>();
  for (const name of names) {
    const preset = Object.prototype.hasOwnProperty.call(PRESETS, name) ? PRESETS[name] : undefined;
    if (!preset) {
      throw new Error(`--preset '${name}' is not a preset; use one of: ${PRESET_NAMES.join(', ')}`);
    }
    for (const loc of preset.locations) {
      const p = root ? path.join(root, loc.path) : loc.path;
      const key = `${p}\0${loc.recursive}\0${loc.match ?? ''}`;
      const at = seen.get(key);
      if (at !== undefined) {
        // Named by two presets: required if either requires it (rke2-agent's main directory is optional for rke2-server).
        if (!loc.optional) out[at] = { ...out[at], optional: false };
        continue;
      }
      seen.set(key, out.length);
      out.push({ path: p, recursive: loc.recursive, optional: loc.optional, ...(loc.match ? { match: loc.match } : {}), ...(root ? { root } : {}) });
    }
  }
  return out;
}
