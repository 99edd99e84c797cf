/**
 * Where each kind of node keeps its certificates: RKE `/etc/kubernetes/ssl`,
 * kubeadm `/etc/kubernetes/pki`, RKE2 and K3s
 * `/var/lib/rancher/<product>/server/tls` and the RKE2 agent directory.
 *
 * @see https://rke.docs.rancher.com/cert-mgmt
 * @see https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/
 * @see https://docs.rke2.io/security/certificates
 */
import * as path from 'path';

/** A directory a preset scans. */
export interface PresetDirectory {
  /** Absolute path on the node. */
  readonly path: string;
  /**
   * Whether subdirectories are scanned too. The RKE2 agent directory also holds
   * containerd's image store, so only its top level is read.
   */
  readonly recursive: boolean;
}

/** The presets `--preset` accepts. */
export const PRESETS: Readonly<Record<string, PresetDirectory>> = {
  rke: { path: '/etc/kubernetes/ssl', recursive: true },
  kubeadm: { path: '/etc/kubernetes/pki', recursive: true },
  'rke2-server': { path: '/var/lib/rancher/rke2/server/tls', recursive: true },
  'rke2-agent': { path: '/var/lib/rancher/rke2/agent', recursive: false },
  'k3s-server': { path: '/var/lib/rancher/k3s/server/tls', recursive: true },
};

/** The preset names, in the order help text lists them. */
export const PRESET_NAMES: readonly string[] = Object.keys(PRESETS);

/**
 * The directory a preset scans, below `root` when given (for a tree copied off a node).
 *
 * @returns undefined for an unknown preset name
 */
export function presetDirectory(name: string, root?: string): PresetDirectory | undefined {
  const preset = Object.prototype.hasOwnProperty.call(PRESETS, name) ? PRESETS[name] : undefined;
  if (!preset) {
    return undefined;
  }
  return root ? { ...preset, path: path.join(root, preset.path) } : preset;
}
