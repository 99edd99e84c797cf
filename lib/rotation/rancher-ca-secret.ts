import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { ITerraformDependable, TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { cattleCaChecksum, CertificateInfo, formatIsoSeconds } from '../pki';
import { ANNOTATION_PREFIX, checkDnsLabel, checkDnsSubdomain, RotationPropError } from './common';

/** Annotation: SHA-256 fingerprints of the CA certificates in `cacerts.pem`, in file order, comma-separated. */
export const CA_SHA256_ANNOTATION = `${ANNOTATION_PREFIX}/ca-sha256`;
/** Annotation: the `CATTLE_CA_CHECKSUM` agents must carry for this bundle. */
export const CATTLE_CA_CHECKSUM_ANNOTATION = `${ANNOTATION_PREFIX}/cattle-ca-checksum`;
/** Annotation: the earliest `notAfter` of the bundle, ISO 8601 UTC to the second (as on the ingress Secret). */
export const NOT_AFTER_ANNOTATION = `${ANNOTATION_PREFIX}/not-after`;

/** Properties of {@link RancherCaSecret}. */
export interface RancherCaSecretProps {
  /**
   * The content of `cacerts.pem`: the intermediate CA(s), then the root, PEM
   * (seed 004 §2). Public data, stored as it is in the Secret's `data`.
   */
  readonly caPem: string;
  /** The certificates of `caPem`, parsed (`ServerCertificate.cas`); must not be empty. */
  readonly cas: CertificateInfo[];
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
 * Rancher's private CA bundle, the generic Secret `cattle-system/tls-ca` with
 * the key `cacerts.pem` (seed 004 §2). Its annotations show the CA
 * fingerprints, the agents' `CATTLE_CA_CHECKSUM` and the earliest expiry, so
 * the plan shows old → new when the CA changes.
 */
export class RancherCaSecret extends Construct {
  /** The Secret name Rancher's chart expects. */
  public static readonly DEFAULT_SECRET_NAME = 'tls-ca';
  /** The namespace Rancher is installed in by default. */
  public static readonly DEFAULT_NAMESPACE = 'cattle-system';

  /** The `kubernetes_secret_v1` resource, for escape hatches. */
  public readonly resource: SecretV1;
  /** `CATTLE_CA_CHECKSUM` for this bundle: `cattleCaChecksum(caPem)`. */
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
    checkDnsSubdomain(what, 'secretName', this.secretName);
    checkDnsLabel(what, 'namespace', this.namespace);
    if (typeof props.caPem !== 'string' || !props.caPem.includes('-----BEGIN')) {
      throw new RotationPropError(
        `${what}: 'caPem' holds no PEM certificate: it must be the content of cacerts.pem (intermediates, then the root); ` +
          `pass ServerCertificate.caPem from loadServerCertificate({ …, caFile }).`,
      );
    }
    if (!Array.isArray(props.cas) || props.cas.length === 0) {
      throw new RotationPropError(
        `${what}: 'cas' is empty: it must list the parsed certificates of 'caPem'; pass ServerCertificate.cas.`,
      );
    }

    this.checksum = cattleCaChecksum(props.caPem);
    const earliest = props.cas.reduce((a, b) => (b.notAfter.getTime() < a.notAfter.getTime() ? b : a));
    this.annotations = {
      [CA_SHA256_ANNOTATION]: props.cas.map((c) => c.sha256Fingerprint).join(','),
      [CATTLE_CA_CHECKSUM_ANNOTATION]: this.checksum,
      [NOT_AFTER_ANNOTATION]: formatIsoSeconds(earliest.notAfter),
    };

    this.resource = new SecretV1(this, 'Resource', {
      provider: props.provider,
      dependsOn: props.dependsOn,
      metadata: {
        name: this.secretName,
        namespace: this.namespace,
        annotations: this.annotations,
      },
      type: 'Opaque',
      data: { 'cacerts.pem': props.caPem },
    });
  }
}
