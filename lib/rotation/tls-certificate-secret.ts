import * as path from 'path';
import { Construct } from 'constructs';
import { ANNOTATIONS, certificateMetadata, fieldManagerFor, sha256Hex } from '../contract';
import { ServerCertificate } from '../pki';
import { dnsLabel, dnsSubdomain } from '../rules';
import { ClusterStep, StepBaseProps } from './cluster-step';
import { addRotationWarning, checkProp, RotationPropError, sortedRecord } from './common';

/** Properties of {@link TlsCertificateSecret}. */
export interface TlsCertificateSecretProps extends StepBaseProps {
  /**
   * The server certificate, its chain and the path of its key, as
   * `loadServerCertificate` returns them. `tls.crt` becomes `chainPem`;
   * `tls.key` is read from `keyFile` by the step at apply time (and must still
   * have the SHA-256 it had at synth); it never appears in the synthesized
   * configuration, the plan, the state or a log.
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
 * A `kubernetes.io/tls` Secret written by a step ({@link ClusterStep}): for
 * Rancher, the `tls-rancher-ingress` secret of its certificate update
 * procedure.
 *
 * - The step server-side applies `tls.crt` (the PEM chain: leaf first, then
 *   intermediates), `tls.key` (read from `keyFile` at apply) and the public
 *   metadata annotations (`cert-rotation.io/sha256`, `/serial`, `/issuer`,
 *   `/not-after`, `/sans`, `/chain-sha256`). A Secret that already exists
 *   (written by cert-manager, by hand, or by an earlier tool) is taken over:
 *   no AlreadyExists, and no `terraform import`, which would copy the key
 *   into the state.
 * - It then reads the Secret back and fails the apply unless every key's
 *   SHA-256 and every annotation are what it wrote.
 * - The step runs again exactly when the chain or the key file's SHA-256
 *   changes, and after a failed or interrupted run; the plan shows the
 *   annotations old → new.
 * - Destroying the construct leaves the Secret as it is.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
export class TlsCertificateSecret extends Construct {
  /** The step that writes the Secret; its `resource` is the `terraform_data`. */
  public readonly step: ClusterStep;
  /** The Secret's name. */
  public readonly secretName: string;
  /** The Secret's namespace. */
  public readonly namespace: string;
  /** SHA-256 of the `tls.crt` chain as stored, lowercase hex. */
  public readonly chainSha256: string;
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
    if (typeof certificate.keyFile !== 'string' || certificate.keyFile.length === 0 || typeof certificate.keyFileSha256 !== 'string') {
      throw new RotationPropError(
        what,
        'certificate.keyFile',
        certificate.keyFile ?? '',
        'is empty: the private key is read by the step from this file at apply time',
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

    this.step = new ClusterStep(this, 'Step', {
      target: props.target,
      dependsOn: props.dependsOn,
      spec: {
        step: 'secret',
        namespace: props.namespace,
        name: props.name,
        type: 'kubernetes.io/tls',
        data: {
          'tls.crt': { text: certificate.chainPem },
          // Resolved against the working directory of synth: the step runs in cdktf.out/stacks/<stack>.
          'tls.key': { file: path.resolve(certificate.keyFile), sha256: certificate.keyFileSha256 },
        },
        annotations: this.annotations,
        fieldManager: fieldManagerFor(this.node.path, 'secret'),
      },
    });

    for (const warning of certificate.warnings ?? []) {
      addRotationWarning(this, warning.id, warning.message);
    }
  }

  /** The `terraform_data` of the step, to depend on. */
  public get resource() {
    return this.step.resource;
  }
}
