/**
 * The contract between what cert-rotation writes into a cluster and what reads
 * it back: annotation keys, environment variable names, field-manager names
 * and the metadata builders. The constructs (writers) and `cert-rotation
 * explain` / `check` (readers) both import it, so a key is spelled once.
 *
 * Dependency-free on purpose: it loads no cdktf, no provider binding and no
 * node-forge, so the command-line tool stays fast to start.
 */
import { createHash } from 'crypto';

/** The prefix of every annotation key this library writes. */
export const ANNOTATION_PREFIX = 'cert-rotation.io';

/** Annotation keys written on Secrets and pod templates, by what they hold. */
export const ANNOTATIONS = {
  /** Leaf certificate Secret: SHA-256 fingerprint of the server certificate. */
  sha256: `${ANNOTATION_PREFIX}/sha256`,
  /** Leaf certificate Secret: serial number, lowercase hex. */
  serial: `${ANNOTATION_PREFIX}/serial`,
  /** Leaf certificate Secret: issuer distinguished name. */
  issuer: `${ANNOTATION_PREFIX}/issuer`,
  /** Leaf and CA Secrets: `notAfter` (for a bundle the earliest), ISO 8601 UTC to the second. */
  notAfter: `${ANNOTATION_PREFIX}/not-after`,
  /** Leaf certificate Secret: subjectAltNames, DNS names then IP addresses, comma-separated. */
  sans: `${ANNOTATION_PREFIX}/sans`,
  /** Leaf certificate Secret: SHA-256 of the whole `tls.crt` chain as stored. */
  chainSha256: `${ANNOTATION_PREFIX}/chain-sha256`,
  /** CA Secret: SHA-256 fingerprints of the CA certificates in file order, comma-separated. */
  caSha256: `${ANNOTATION_PREFIX}/ca-sha256`,
  /** CA Secret: the `CATTLE_CA_CHECKSUM` agents must carry for this bundle. */
  cattleCaChecksum: `${ANNOTATION_PREFIX}/cattle-ca-checksum`,
  /** Pod template: content hash of what the pods must trust; pods roll when it changes. */
  trustSha256: `${ANNOTATION_PREFIX}/trust-sha256`,
  /** Fleet cluster object: the CA checksum ('' for a public CA) its last Force Update by this library was for. */
  fleetForceUpdateFor: `${ANNOTATION_PREFIX}/fleet-force-update-for`,
  /** RKE1 cluster object: the rotation (generation, CA, services) this library last requested. */
  rotateCertificatesRequest: `${ANNOTATION_PREFIX}/rotate-certificates-request`,
} as const;

/**
 * kubeadm CA rotation: the ConfigMap (namespace kube-system) where the
 * rotation records the phase the cluster finished, and its keys.
 */
export const KUBEADM_CA_PHASE_CONFIGMAP = { namespace: 'kube-system', name: 'cert-rotation-kubeadm-ca' } as const;
export const KUBEADM_CA_PHASE_KEYS = { phase: 'phase', caSha256: 'new-ca-sha256' } as const;

/** The environment variable Rancher agents compare the downloaded CA bundle with. */
export const CATTLE_CA_CHECKSUM = 'CATTLE_CA_CHECKSUM';

/** The prefix of every server-side-apply field manager this library uses. */
export const FIELD_MANAGER_PREFIX = 'cert-rotation';

/**
 * A server-side-apply field manager unique to one resource:
 * `cert-rotation-<purpose>-<first 10 hex of sha256(construct path)>`.
 *
 * Two resources that share a field manager erase each other's fields, so every
 * `kubernetes_annotations`, `kubernetes_env` and `kubernetes_config_map_v1_data`
 * gets its own. The name depends only on the construct path, so it is stable
 * across synths and does not change when sibling constructs are added.
 * Kubernetes limits field managers to 128 characters; keep `purpose` short.
 *
 * @param constructPath the path of the construct that owns the resource
 * @param purpose a short kebab-case word for what the resource does, e.g. `restart`
 */
export function fieldManagerFor(constructPath: string, purpose: string): string {
  return `${FIELD_MANAGER_PREFIX}-${purpose}-${sha256Hex(constructPath).slice(0, 10)}`;
}

/** The public facts of a certificate the metadata annotations carry (lib/pki's `CertificateInfo` has them). */
export interface CertificateFacts {
  readonly sha256Fingerprint: string;
  readonly serialNumber: string;
  readonly issuer: string;
  readonly notAfter: Date;
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
}

/**
 * Public facts about a server certificate for the annotations of its Secret,
 * in a fixed key order so synth stays byte-identical: sha256, serial, issuer,
 * not-after (ISO 8601 UTC), sans (DNS names, then IP addresses).
 */
export function certificateMetadata(info: CertificateFacts): Record<string, string> {
  return {
    [ANNOTATIONS.sha256]: info.sha256Fingerprint,
    [ANNOTATIONS.serial]: info.serialNumber,
    [ANNOTATIONS.issuer]: info.issuer,
    [ANNOTATIONS.notAfter]: isoSeconds(info.notAfter),
    [ANNOTATIONS.sans]: [...info.dnsNames, ...info.ipAddresses].join(','),
  };
}

/**
 * Public facts about a CA bundle for the annotations of its Secret: the
 * fingerprints in file order, the agents' checksum and the earliest expiry.
 */
export function caBundleMetadata(certificates: readonly CertificateFacts[], checksum: string): Record<string, string> {
  const earliest = certificates.reduce((a, b) => (b.notAfter.getTime() < a.notAfter.getTime() ? b : a));
  return {
    [ANNOTATIONS.caSha256]: certificates.map((c) => c.sha256Fingerprint).join(','),
    [ANNOTATIONS.cattleCaChecksum]: checksum,
    [ANNOTATIONS.notAfter]: isoSeconds(earliest.notAfter),
  };
}

/** The pod-template annotations that make a workload roll exactly when `trustHash` changes. */
export function trustAnnotations(trustHash: string): Record<string, string> {
  return { [ANNOTATIONS.trustSha256]: trustHash };
}

/** SHA-256 of the bytes (a string is hashed as UTF-8), as lowercase hex. */
export function sha256Hex(data: Buffer | string): string {
  return createHash('sha256').update(data).digest('hex');
}

/** ISO 8601 UTC to the second, e.g. `2027-01-31T00:00:00Z`. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
