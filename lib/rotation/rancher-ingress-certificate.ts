import { ITerraformDependable, TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { ServerCertificate } from '../pki';
import { TlsCertificateSecret } from './tls-certificate-secret';

/** Properties of {@link RancherIngressCertificate}. */
export interface RancherIngressCertificateProps {
  /**
   * The Rancher server certificate (leaf + intermediates) and the path of its
   * key, as `loadServerCertificate` returns them.
   */
  readonly certificate: ServerCertificate;
  /**
   * The namespace Rancher is installed in.
   * @default 'cattle-system'
   */
  readonly namespace?: string;
  /**
   * The Secret's name; Rancher's chart reads `tls-rancher-ingress` when
   * `ingress.tls.source=secret`.
   * @default 'tls-rancher-ingress'
   */
  readonly secretName?: string;
  /**
   * More annotations for the Secret.
   * @default {} - only the certificate metadata annotations
   */
  readonly extraAnnotations?: Record<string, string>;
  /**
   * The Kubernetes provider of the Rancher server (local) cluster.
   * @default - the stack's default `kubernetes` provider
   */
  readonly provider?: TerraformProvider;
  /**
   * Resources the Secret is written after.
   * @default [] - no explicit dependencies
   */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * Rancher's ingress certificate, `cattle-system/tls-rancher-ingress`
 * (seed 004 §1): a {@link TlsCertificateSecret} with Rancher's names.
 */
export class RancherIngressCertificate extends TlsCertificateSecret {
  /** The Secret name Rancher's chart expects. */
  public static readonly DEFAULT_SECRET_NAME = 'tls-rancher-ingress';
  /** The namespace Rancher is installed in by default. */
  public static readonly DEFAULT_NAMESPACE = 'cattle-system';

  constructor(scope: Construct, id: string, props: RancherIngressCertificateProps) {
    super(scope, id, {
      certificate: props.certificate,
      name: props.secretName ?? RancherIngressCertificate.DEFAULT_SECRET_NAME,
      namespace: props.namespace ?? RancherIngressCertificate.DEFAULT_NAMESPACE,
      extraAnnotations: props.extraAnnotations,
      provider: props.provider,
      dependsOn: props.dependsOn,
    });
  }
}
