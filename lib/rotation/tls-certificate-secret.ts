import * as path from 'path';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { Fn, Op, TerraformLocal } from 'cdktf';
import { Construct } from 'constructs';
import { ANNOTATIONS, certificateMetadata, sha256Hex } from '../contract';
import { ServerCertificate } from '../pki';
import { dnsLabel, dnsSubdomain } from '../rules';
import { addRotationWarning, checkProp, contentRevision, RotationBaseProps, RotationPropError, sortedRecord } from './common';

/** Properties of {@link TlsCertificateSecret}. */
export interface TlsCertificateSecretProps extends RotationBaseProps {
  /**
   * The server certificate, its chain and the path of its key, as
   * `loadServerCertificate` returns them. `tls.crt` becomes `chainPem`;
   * `tls.key` is read by Terraform from `keyFile` at apply time and never
   * appears in the synthesized configuration, the plan or the state.
   */
  readonly certificate: ServerCertificate;
  /** The Secret's name, a DNS-1123 subdomain. */
  readonly name: string;
  /** The Secret's namespace, a DNS-1123 label. */
  readonly namespace: string;
  /**
   * More annotations for the Secret. Keys under `cert-rotation.io/` that this
   * construct writes itself (the certificate metadata) cannot be overridden.
   * @default {} - only the certificate metadata annotations
   */
  readonly extraAnnotations?: Record<string, string>;
}

/**
 * A `kubernetes.io/tls` Secret whose private key reaches the cluster only
 * through the write-only `data_wo` attribute (for Rancher, the
 * `tls-rancher-ingress` secret of its certificate update procedure).
 *
 * - `tls.crt` is the public PEM chain (leaf first, then intermediates) and
 *   `tls.key` is `file("<absolute keyFile>")`, both in `data_wo` (the provider
 *   does not allow `data` and `data_wo` together).
 * - `data_wo_revision` is {@link contentRevision} of the chain, so it changes
 *   exactly when the certificate changes and a second plan is empty.
 * - The Secret's annotations carry the public metadata of the leaf
 *   (`cert-rotation.io/sha256`, `/serial`, `/issuer`, `/not-after`, `/sans`)
 *   and `cert-rotation.io/chain-sha256`, so the plan shows old → new.
 *
 * Terraform or OpenTofu ≥ 1.11 is needed for write-only attributes.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
export class TlsCertificateSecret extends Construct {
  /** The `kubernetes_secret_v1` resource, for escape hatches. */
  public readonly resource: SecretV1;
  /** The Secret's name. */
  public readonly secretName: string;
  /** The Secret's namespace. */
  public readonly namespace: string;
  /** SHA-256 of the `tls.crt` chain as stored, lowercase hex. */
  public readonly chainSha256: string;
  /** The `data_wo_revision`: {@link contentRevision} of the chain. */
  public readonly revision: number;
  /** The annotations written on the Secret. */
  public readonly annotations: Record<string, string>;

  constructor(scope: Construct, id: string, props: TlsCertificateSecretProps) {
    super(scope, id);
    const what = this.constructor.name;
    checkProp(what, 'name', props.name, dnsSubdomain);
    checkProp(what, 'namespace', props.namespace, dnsLabel());
    const certificate = props.certificate;
    if (!certificate || typeof certificate.chainPem !== 'string' || certificate.chainPem.trim().length === 0) {
      throw new RotationPropError(what, 'certificate.chainPem', undefined, 'is missing', 'pass the object loadServerCertificate() returns for the server certificate');
    }
    if (typeof certificate.keyFile !== 'string' || certificate.keyFile.length === 0) {
      throw new RotationPropError(
        what,
        'certificate.keyFile',
        certificate.keyFile ?? '',
        'is empty: the private key is read by Terraform from this file at apply time',
        'load the certificate with loadServerCertificate({ certFile, keyFile, … })',
      );
    }

    const metadata = certificateMetadata(certificate.leaf);
    this.chainSha256 = sha256Hex(certificate.chainPem);
    const own: Record<string, string> = { ...metadata, [ANNOTATIONS.chainSha256]: this.chainSha256 };
    for (const key of Object.keys(props.extraAnnotations ?? {})) {
      if (key in own) {
        throw new RotationPropError(
          what,
          'extraAnnotations',
          key,
          'sets an annotation this construct writes from the certificate',
          "remove it from 'extraAnnotations' (the value always follows the certificate)",
        );
      }
    }
    this.annotations = sortedRecord({ ...(props.extraAnnotations ?? {}), ...own });
    this.secretName = props.name;
    this.namespace = props.namespace;
    this.revision = contentRevision(certificate.chainPem);

    // Resolved against the working directory of synth: Terraform runs in
    // cdktf.out/stacks/<stack>, where a relative path would point elsewhere.
    const keyFile = path.resolve(certificate.keyFile);
    if (/["\\\n\r]|\$\{|%\{/.test(keyFile)) {
      throw new RotationPropError(
        what,
        'certificate.keyFile',
        keyFile,
        "holds a character Terraform's file() argument cannot carry safely (a double quote, a backslash, a line break, '${' or '%{')",
        'move or rename the key file',
      );
    }

    this.resource = new SecretV1(this, 'Resource', {
      provider: props.provider,
      dependsOn: props.dependsOn,
      metadata: {
        name: props.name,
        namespace: props.namespace,
        annotations: this.annotations,
      },
      type: 'kubernetes.io/tls',
      dataWo: {
        'tls.crt': certificate.chainPem,
        'tls.key': Fn.file(keyFile),
      },
      dataWoRevision: this.revision,
      lifecycle: certificate.keyFileSha256
        ? {
            // Terraform reads the key file again at apply; a key swapped after the plan
            // (which then would not match the certificate) stops the apply here. The digest
            // sits in a local because a condition must refer to another object.
            precondition: [
              {
                condition: Op.eq(Fn.filesha256(keyFile), new TerraformLocal(this, 'KeyFileSha256', certificate.keyFileSha256).expression),
                errorMessage:
                  `${keyFile} changed after this plan was made (it no longer holds the key checked against ` +
                  `${certificate.certFile}); make the plan again from the files you mean to deploy.`,
              },
            ],
          }
        : undefined,
    });

    for (const warning of certificate.warnings ?? []) {
      addRotationWarning(this, warning.id, warning.message);
    }
  }
}

