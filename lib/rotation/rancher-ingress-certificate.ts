import { Construct } from 'constructs';
import { ServerCertificate } from '../pki';
import { DEFAULTS } from '../rules';
import { StepBaseProps } from './cluster-step';
import { TlsCertificateSecret } from './tls-certificate-secret';

/** Properties of {@link RancherIngressCertificate}. */
export interface RancherIngressCertificateProps extends StepBaseProps {
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
}

/**
 * Rancher's ingress certificate, `cattle-system/tls-rancher-ingress`: a
 * {@link TlsCertificateSecret} with Rancher's names.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
export class RancherIngressCertificate extends TlsCertificateSecret {
  /** The Secret name Rancher's chart expects. */
  public static readonly DEFAULT_SECRET_NAME = DEFAULTS.ingressSecretName;
  /** The namespace Rancher is installed in by default. */
  public static readonly DEFAULT_NAMESPACE = DEFAULTS.rancherNamespace;

  constructor(scope: Construct, id: string, props: RancherIngressCertificateProps) {
    super(scope, id, {
      certificate: props.certificate,
      name: props.secretName ?? RancherIngressCertificate.DEFAULT_SECRET_NAME,
      namespace: props.namespace ?? RancherIngressCertificate.DEFAULT_NAMESPACE,
      extraAnnotations: props.extraAnnotations,
      target: props.target,
      dependsOn: props.dependsOn,
    });
  }
}
