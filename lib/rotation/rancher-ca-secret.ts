import { Construct } from 'constructs';
import { caBundleMetadata, fieldManagerFor } from '../contract';
import { CaBundle } from '../pki';
import { DEFAULTS, dnsLabel, dnsSubdomain } from '../rules';
import { ClusterStep, StepBaseProps } from './cluster-step';
import { checkProp, RotationPropError } from './common';

/** Properties of {@link RancherCaSecret}. */
export interface RancherCaSecretProps extends StepBaseProps {
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

  /** The step that writes the Secret (server-side apply, then read back); a Secret that exists is taken over. */
  public readonly step: ClusterStep;
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

    this.step = new ClusterStep(this, 'Step', {
      target: props.target,
      dependsOn: props.dependsOn,
      spec: {
        step: 'secret',
        namespace: this.namespace,
        name: this.secretName,
        type: 'Opaque',
        data: { 'cacerts.pem': { text: props.bundle.pem } },
        annotations: this.annotations,
        fieldManager: fieldManagerFor(this.node.path, 'secret'),
      },
    });
  }

  /** The `terraform_data` of the step, to depend on. */
  public get resource() {
    return this.step.resource;
  }
}
