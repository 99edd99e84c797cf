/**
 * The configuration file (`cert-rotation.yaml`), as written by a person.
 * Relative paths are relative to the file's own directory.
 *
 * @example
 * rancher:
 *   kubeconfig: ~/.kube/rancher-local.yaml
 *   context: local
 *   hostname: rancher.example.com
 *   certificate:
 *     certFile: certs/tls.crt      # server certificate, then intermediates
 *     keyFile: certs/tls.key       # read by Terraform at apply time only
 *     caFile: certs/cacerts.pem    # private CA: intermediate(s), then root
 *   release:
 *     mode: external               # or: managed
 *     chart: rancher-stable/rancher
 *     version: 2.8.5               # the deployed chart version
 * downstream:
 *   - name: prod-eu
 *     kubeconfig: ~/.kube/prod-eu.yaml
 */
export interface ConfigFile {
  readonly rancher: RancherSection;
  readonly downstream?: DownstreamSection[];
}

export interface ClusterSection {
  /** Path of the kubeconfig file Terraform uses for this cluster. */
  readonly kubeconfig: string;
  /** Context in that kubeconfig. @default its current-context */
  readonly context?: string;
}

export interface RancherSection extends ClusterSection {
  /** Rancher's hostname (the Helm value `hostname`); must be in the certificate's SANs. */
  readonly hostname: string;
  readonly certificate: CertificateSection;
  /** Warn when the certificate expires within this window, e.g. `30d`. @default 30d */
  readonly renewBefore?: string;
  /** Whether the certificate comes from a private CA. @default true when `certificate.caFile` is set */
  readonly privateCa?: boolean;
  /** The Helm release to reconfigure (seed 004 step 3). Omit when Rancher already uses `ingress.tls.source=secret`. */
  readonly release?: ReleaseSection;
  /**
   * Workloads to restart after a rotation, as `Kind/namespace/name`.
   * @default the list of seed 000 step 4 (cattle-cluster-agent, cattle-node-agent, kube-api-auth, nginx-ingress-controller, canal, kube-dns, kube-dns-autoscaler)
   */
  readonly restartWorkloads?: string[];
}

export interface CertificateSection {
  /** PEM: the server certificate followed by its intermediates (`tls.crt`). */
  readonly certFile: string;
  /** PEM private key of the server certificate (`tls.key`); never copied into any output. */
  readonly keyFile: string;
  /** PEM CA bundle (`cacerts.pem`): intermediate(s) then root. Only for a private CA. */
  readonly caFile?: string;
}

export interface ReleaseSection {
  /** `managed`: Terraform owns the `helm_release`; `external`: run `helm upgrade --reuse-values` on a release installed by someone else. */
  readonly mode: 'managed' | 'external';
  /** Release name. @default rancher */
  readonly name?: string;
  /** Namespace of the release. @default cattle-system */
  readonly namespace?: string;
  /** Chart reference (`rancher-stable/rancher`, a path, or a chart name with `repository`). */
  readonly chart: string;
  /** Chart repository URL (managed mode). */
  readonly repository?: string;
  /** The deployed chart version (`helm ls -A`), so the upgrade changes values only. */
  readonly version: string;
  /** Helm binary for external mode. @default helm */
  readonly helmBinary?: string;
}

export interface DownstreamSection extends ClusterSection {
  /** A short name for the cluster; used in resource names and provider aliases. */
  readonly name: string;
}
