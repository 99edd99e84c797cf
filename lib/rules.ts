/**
 * The rules and defaults shared by the configuration file and the constructs,
 * written once. A rule returns `undefined` for a good value, or what is wrong
 * and how to fix it; the caller adds where the value came from (the config
 * file and field, or the construct and prop).
 *
 * Dependency-free: the config schema, the constructs and the CLI all load it.
 */

/** What is wrong with a value and how to fix it; both are sentences without the value's location. */
export interface Violation {
  readonly problem: string;
  readonly fix: string;
}

/** A check of one value. */
export type Rule<T = string> = (value: T) => Violation | undefined;

/** Defaults applied when a value is not given, the same for the config file and the constructs. */
export const DEFAULTS = {
  /** Where Rancher and its agents are installed. */
  rancherNamespace: 'cattle-system',
  /** The Helm release name of Rancher. */
  releaseName: 'rancher',
  /** The `helm` command for an external release. */
  helmBinary: 'helm',
  /** The Secret Rancher's chart reads the server certificate from. */
  ingressSecretName: 'tls-rancher-ingress',
  /** The Secret Rancher's chart reads the private CA bundle from (`privateCA=true`). */
  caSecretName: 'tls-ca',
  /** How long before expiry a certificate is due for rotation. */
  renewBefore: '30d',
} as const;

/**
 * Whether the server certificate is signed by a private CA when the user does
 * not say: exactly when a CA bundle (`cacerts.pem`) is given.
 */
export function defaultPrivateCa(hasCaBundle: boolean): boolean {
  return hasCaBundle;
}

/** The workload kinds whose pod template can be annotated to roll them (group `apps/v1`). */
export const WORKLOAD_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet'] as const;
/** A workload kind that can be rolled. */
export type WorkloadKind = (typeof WORKLOAD_KINDS)[number];

/** A workload to roll. */
export interface Workload {
  /** `Deployment`, `DaemonSet` or `StatefulSet` (group `apps/v1`). */
  readonly kind: WorkloadKind;
  /** The workload's namespace. */
  readonly namespace: string;
  /** The workload's name. */
  readonly name: string;
}

const LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS1123_LABEL = new RegExp(`^${LABEL}$`);
const DNS1123_SUBDOMAIN = new RegExp(`^${LABEL}(\\.${LABEL})*$`);
const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/** A DNS-1123 label: what Kubernetes requires of a namespace or a container name. */
export function dnsLabel(kind: string = 'namespace name'): Rule {
  return (value) =>
    typeof value === 'string' && value.length > 0 && value.length <= 63 && DNS1123_LABEL.test(value)
      ? undefined
      : {
          problem:
            `is not a valid Kubernetes ${kind}: it must be a DNS-1123 label ` +
            `(1 to 63 lowercase letters, digits or '-', starting and ending with a letter or digit)`,
          fix: 'use the name exactly as `kubectl get` prints it',
        };
}

/** A DNS-1123 subdomain: what Kubernetes requires of Secret, Deployment, DaemonSet and StatefulSet names. */
export const dnsSubdomain: Rule = (value) =>
  typeof value === 'string' && value.length > 0 && value.length <= 253 && DNS1123_SUBDOMAIN.test(value)
    ? undefined
    : {
        problem:
          'is not a valid Kubernetes object name: it must be a DNS-1123 subdomain (at most 253 characters; ' +
          "dot-separated parts of lowercase letters, digits or '-', each starting and ending with a letter or digit)",
        fix: 'use the name exactly as `kubectl get` prints it',
      };

/**
 * Rancher's hostname (the chart value `hostname`): a lowercase DNS name
 * without scheme, port, path or wildcard.
 */
export const rancherHostname: Rule = (value) => {
  if (typeof value === 'string' && HOSTNAME.test(value)) return undefined;
  const text = typeof value === 'string' ? value : '';
  const lower = text.toLowerCase();
  if (text !== lower && HOSTNAME.test(lower)) {
    return { problem: 'has upper-case letters, which Rancher\'s hostname may not have', fix: `write it in lower case: '${lower}'` };
  }
  if (text.startsWith('*.')) {
    return {
      problem: 'is a wildcard, but Rancher\'s hostname is the one name users type (a wildcard certificate may cover it)',
      fix: `give the full name, e.g. 'rancher${text.slice(1)}'`,
    };
  }
  return {
    problem: "is not a DNS name: Rancher's hostname must be lowercase letters, digits, '-' and '.', without scheme, port or path",
    fix: "use the name users type in the browser, e.g. 'rancher.example.com'",
  };
};

/** The name of a downstream cluster in the configuration: it names resources and provider aliases. */
export const clusterName: Rule = (value) =>
  typeof value === 'string' && value.length <= 40 && DNS1123_LABEL.test(value)
    ? undefined
    : {
        problem: 'is not a short DNS label',
        fix: 'use lower-case letters, digits and dashes, at most 40 characters, e.g. prod-eu',
      };

/** Text that must not be empty. */
export const notEmpty: Rule<string | undefined> = (value) =>
  typeof value === 'string' && value.trim().length > 0
    ? undefined
    : { problem: 'must not be empty', fix: "set it to the value described in the field's documentation" };

/** A SHA-256 as lowercase hex, the form Rancher agents compare in `CATTLE_CA_CHECKSUM`. */
export const sha256HexValue: Rule = (value) =>
  typeof value === 'string' && /^[0-9a-f]{64}$/.test(value)
    ? undefined
    : {
        problem: 'is not a SHA-256 in lowercase hex (64 characters 0-9a-f), the form Rancher agents compare',
        fix: 'pass CaBundle.checksum (from loadServerCertificate with a caFile) or cattleCaChecksum() of cacerts.pem',
      };

/** A content hash for a rollout annotation: never a counter or a timestamp. */
export const contentHash: Rule = (value) =>
  typeof value === 'string' && /^[0-9a-f]{32,128}$/.test(value)
    ? undefined
    : {
        problem: 'is not a content hash: it must be 32 to 128 lowercase hex characters',
        fix: 'pass e.g. sha256Hex() of what the pods must trust (a counter or a timestamp would restart them on every plan)',
      };

/** One of a fixed set of words. */
export function oneOf<T extends string>(choices: readonly T[]): Rule<string> {
  return (value) =>
    (choices as readonly string[]).includes(value)
      ? undefined
      : { problem: `is not one of ${choices.map((c) => `'${c}'`).join(', ')}`, fix: `use one of ${choices.map((c) => `'${c}'`).join(', ')}` };
}

/** The rules of one workload, each with the part of the workload it names. */
export function workloadViolation(workload: Workload): { part: keyof Workload; violation: Violation } | undefined {
  const kind = oneOf(WORKLOAD_KINDS)(workload.kind);
  if (kind) return { part: 'kind', violation: { problem: `${kind.problem}, the workload kinds that can be rolled`, fix: kind.fix } };
  const namespace = dnsLabel()(workload.namespace);
  if (namespace) return { part: 'namespace', violation: namespace };
  const name = dnsSubdomain(workload.name);
  if (name) return { part: 'name', violation: name };
  return undefined;
}

/**
 * Parses `Kind/namespace/name`, the way the configuration file lists
 * workloads, e.g. `DaemonSet/kube-system/canal`.
 */
export function parseWorkloadRef(text: string): Workload | Violation {
  const parts = text.split('/');
  const fix = `write e.g. 'DaemonSet/kube-system/canal'; Kind is one of ${WORKLOAD_KINDS.join(', ')}`;
  if (parts.length !== 3) return { problem: 'is not Kind/namespace/name', fix };
  const workload = { kind: parts[0] as WorkloadKind, namespace: parts[1], name: parts[2] };
  const bad = workloadViolation(workload);
  return bad ? { problem: `is not Kind/namespace/name: its ${bad.part} ${bad.violation.problem}`, fix } : workload;
}
