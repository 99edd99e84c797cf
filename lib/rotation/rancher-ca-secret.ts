import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { Construct } from 'constructs';
import { caBundleMetadata } from '../contract';
import { CaBundle } from '../pki';
import { DEFAULTS, dnsLabel, dnsSubdomain } from '../rules';
import { checkProp, RotationBaseProps, RotationPropError } from './common';

/** Properties of {@link RancherCaSecret}. */
export interface RancherCaSecretProps extends RotationBaseProps {
  /**
   * The private CA bundle, `cacerts.pem`: the intermediate CA(s), then the
   * root (`ServerCertificate.caBundle`). Public data, stored as it is in the
   * Secret's `data`.
   */
  readonly bundle: CaBundle;
  /**
   * The namespace Rancher is installed in.
   * @default 'cattle-system'
   */
  readonly namespace?: string;
  /**
   * The Secret's name; Rancher's chart reads `tls-ca` when `privateCA=true`.
   * @default 'tls-ca'
   */
  readonly secretName?: string;
}

/**
 * Rancher's private CA bundle, the generic Secret `cattle-system/tls-ca` with
 * the key `cacerts.pem`. Its annotations show the CA fingerprints, the agents'
 * `CATTLE_CA_CHECKSUM` and the earliest expiry, so the plan shows old → new
 * when the CA changes.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
export class RancherCaSecret extends Construct {
  /** The Secret name Rancher's chart expects. */
  public static readonly DEFAULT_SECRET_NAME = DEFAULTS.caSecretName;
  /** The namespace Rancher is installed in by default. */
  public static readonly DEFAULT_NAMESPACE = DEFAULTS.rancherNamespace;

  /** The `kubernetes_secret_v1` resource, for escape hatches. */
  public readonly resource: SecretV1;
  /** `CATTLE_CA_CHECKSUM` for this bundle. */
  public readonly checksum: string;
  /** The Secret's name. */
  public readonly secretName: string;
  /** The Secret's namespace. */
  public readonly namespace: string;
  /** The annotations written on the Secret. */
  public readonly annotations: Record<string, string>;

  constructor(scope: Construct, id: string, props: RancherCaSecretProps) {
    super(scope, id);
    const what = 'RancherCaSecret';
    this.secretName = props.secretName ?? RancherCaSecret.DEFAULT_SECRET_NAME;
    this.namespace = props.namespace ?? RancherCaSecret.DEFAULT_NAMESPACE;
    checkProp(what, 'secretName', this.secretName, dnsSubdomain);
    checkProp(what, 'namespace', this.namespace, dnsLabel());
    if (!(props.bundle instanceof CaBundle)) {
      throw new RotationPropError(
        what,
        'bundle',
        typeof props.bundle,
        'is not a CaBundle',
        'pass ServerCertificate.caBundle from loadServerCertificate({ …, caFile }) or new CaBundle(parseCertificates(…))',
      );
    }

    this.checksum = props.bundle.checksum;
    this.annotations = caBundleMetadata(props.bundle.certificates, this.checksum);

    this.resource = new SecretV1(this, 'Resource', {
      provider: props.provider,
      dependsOn: props.dependsOn,
      metadata: {
        name: this.secretName,
        namespace: this.namespace,
        annotations: this.annotations,
      },
      type: 'Opaque',
      data: { 'cacerts.pem': props.bundle.pem },
    });
  }
}
