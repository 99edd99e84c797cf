/**
 * The contract between the rotation constructs and `cert-rotation step`: what
 * one step writes to or checks on a cluster, as plain JSON.
 *
 * Why steps and not provider resources: a Terraform resource that fails or is
 * killed mid-apply is either not in the state or tainted, so the next plan runs
 * it again; a step reads the cluster back after it writes and fails loudly on a
 * mismatch; it takes over an object that already exists (no AlreadyExists, no
 * `terraform import` that would copy a private key into the state); it skips a
 * workload that does not exist instead of failing; and removing it from the
 * configuration changes nothing in the cluster.
 *
 * A construct puts the spec in the `CERT_ROTATION_STEP` environment variable
 * of a `local-exec` provisioner of a `terraform_data` resource; the spec's
 * public part (everything but where the cluster is) is also its
 * `triggers_replace`, so the step runs again exactly when what it writes
 * changes, and `explain` reads it from the plan. No spec ever holds a private
 * key: a key is named by its file and the file's SHA-256 at synth.
 *
 * Dependency-free: the CLI loads it without cdktf.
 */

/** The environment variable that carries a step's spec (JSON). */
export const STEP_ENV = 'CERT_ROTATION_STEP';

/**
 * A spec too long for one environment variable (Linux refuses to start a
 * command with a variable over 128 KiB: "argument list too long"; a converge
 * step of 500 downstream clusters is longer) travels compressed instead: the
 * JSON, deflated (raw, no header, so the same bytes on every machine) and in
 * base64, cut into `CERT_ROTATION_STEP_DEFLATE_0` … `_<n-1>`, with
 * `CERT_ROTATION_STEP_DEFLATE_PARTS` = n.
 */
export const STEP_ENV_DEFLATE = 'CERT_ROTATION_STEP_DEFLATE';

/** The longest value one step variable holds; a longer spec is deflated and cut into parts of this length. */
export const STEP_ENV_MAX_LENGTH = 96 * 1024;

/** The version of the spec format; a step refuses a spec of another version. */
export const STEP_SPEC_VERSION = 1;

/** Which cluster a step works on: a kubeconfig context. */
export interface StepTarget {
  /** The name shown in messages and in `explain` (e.g. `server`, `downstream-2`). */
  readonly cluster: string;
  /** Absolute path of the kubeconfig. */
  readonly kubeconfig: string;
  /** The context; the kubeconfig's current context when absent. */
  readonly context?: string;
}

/** One data key of a Secret: its value inline (public data) or from a file (a key). */
export type SecretValue =
  | { readonly text: string }
  | {
      /** Absolute path, read when the step runs. */
      readonly file: string;
      /** SHA-256 of the file at synth: a file changed since stops the step. */
      readonly sha256: string;
    };

/** Server-side applies one Secret and reads it back. */
export interface SecretStepSpec {
  readonly step: 'secret';
  readonly namespace: string;
  readonly name: string;
  readonly type: 'kubernetes.io/tls' | 'Opaque';
  readonly data: Readonly<Record<string, SecretValue>>;
  /** Annotations written with the data (public metadata of what is in it). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly fieldManager: string;
}

/** A workload and, for agents, the container that carries the variable. */
export interface StepWorkload {
  readonly kind: 'Deployment' | 'DaemonSet' | 'StatefulSet';
  readonly namespace: string;
  readonly name: string;
  readonly container?: string;
}

/**
 * Sets pod-template annotations on workloads that exist (a missing one is
 * reported and skipped), then optionally waits for their rollouts.
 */
export interface RestartStepSpec {
  readonly step: 'restart';
  readonly workloads: readonly StepWorkload[];
  readonly annotations: Readonly<Record<string, string>>;
  readonly fieldManager: string;
  /** Seconds to wait for each rollout; 0: do not wait. */
  readonly waitSeconds: number;
}

/**
 * Sets (or, with `checksum: null`, removes) `CATTLE_CA_CHECKSUM` on the agent
 * workloads that exist, then waits until their pods are Ready.
 */
export interface AgentsStepSpec {
  readonly step: 'agents';
  /** The checksum, or null to remove the variable (the server uses a public CA). */
  readonly checksum: string | null;
  /**
   * Only wait until the agents carry the checksum (Rancher re-renders them,
   * method 1) and are Ready; never patch them.
   */
  readonly verifyOnly?: boolean;
  readonly workloads: readonly StepWorkload[];
  readonly fieldManager: string;
  /** Seconds to wait for each agent rollout. */
  readonly waitSeconds: number;
}

/**
 * Method 1 of Rancher's procedure: annotate the Rancher cluster object
 * (`clusters.management.cattle.io/<id>`, on the Rancher server cluster) with
 * `io.cattle.agent.force.deploy=true`, so that Rancher re-renders and
 * re-applies that cluster's agents with the checksum of the CA it serves, and
 * wait until Rancher has taken the request (it sets the annotation back to
 * "false").
 */
export interface ForceDeployStepSpec {
  readonly step: 'force-deploy';
  /** The Rancher cluster id (`c-xxxxx`, `c-m-xxxxxxxx`). */
  readonly clusterId: string;
  /** The checksum the agents must end with, for the plan ('' for a public CA): a new one runs the step again. */
  readonly checksum: string;
  readonly timeoutSeconds: number;
}

/**
 * Fleet's "Force Update" of one downstream cluster: raises
 * `spec.redeployAgentGeneration` of `clusters.fleet.cattle.io/<name>` (on the
 * Rancher server cluster) once per CA, so that Fleet re-deploys the
 * downstream fleet-agent with a kubeconfig that embeds the CA Rancher now
 * serves, and waits until Fleet reports `status.agentDeployedGeneration` at
 * that generation.
 */
export interface FleetForceUpdateStepSpec {
  readonly step: 'fleet-force-update';
  /** The Fleet workspace (namespace) of the cluster object, `fleet-default` for downstream clusters. */
  readonly namespace: string;
  /** The Fleet cluster's name (the provisioning cluster's name; the cluster id for a legacy RKE1 cluster). */
  readonly name: string;
  /** The CA checksum the update is for ('' for a public CA): recorded on the object, a new one updates again. */
  readonly checksum: string;
  readonly timeoutSeconds: number;
}

/**
 * Rancher's own certificate rotation of a cluster it provisioned, requested
 * through its cluster object on the Rancher server cluster:
 * - `v2` (RKE2/K3s, Rancher 2.6.4+): `provisioning.cattle.io/v1` Cluster
 *   `spec.rkeConfig.rotateCertificates {generation, services}`; done when the
 *   cluster's `rkecontrolplanes.rke.cattle.io` reports
 *   `status.certificateRotationGeneration` = generation and `Reconciled` True;
 * - `rke1`: `management.cattle.io/v3` Cluster
 *   `spec.rancherKubernetesEngineConfig.rotateCertificates {caCertificates, services}`;
 *   done when Rancher has cleared the block and `Updated` is True.
 * Only the rotation fields are patched (merge patch, own field manager).
 */
export interface RancherClusterRotateStepSpec {
  readonly step: 'rancher-cluster-rotate';
  readonly kind: 'v2' | 'rke1';
  /** v2: the provisioning cluster's namespace (`fleet-default`). */
  readonly namespace?: string;
  /** v2: the provisioning cluster's name; rke1: the cluster id (`c-xxxxx`). */
  readonly name: string;
  /** The rotation's number: a new one rotates again (v2: Rancher's generation; rke1: recorded on the object). */
  readonly generation: number;
  /** Services to rotate; empty: all. */
  readonly services: readonly string[];
  /** rke1: rotate the CA too (and so every certificate). */
  readonly caCertificates?: boolean;
  readonly fieldManager: string;
  readonly timeoutSeconds: number;
}

/**
 * The gate between Rancher and its agents: waits until the Rancher Deployment
 * has rolled out, then polls `/v3/settings/cacerts` (verifying the server with
 * the new CA) until Rancher serves the expected CA, and checks the certificate
 * the server presents.
 */
export interface CacertsGateStepSpec {
  readonly step: 'cacerts-gate';
  /** The Rancher Deployment whose rollout is waited for. */
  readonly deployment: { readonly namespace: string; readonly name: string };
  /** `https://<hostname>/v3/settings/cacerts`. */
  readonly url: string;
  /** Connect to this `host:port` instead of resolving the URL's host (load balancer, tests). */
  readonly connectTo?: string;
  /**
   * PEM bundle the server's certificate is verified with (the new private CA);
   * absent: the system's trust store.
   */
  readonly trustPem?: string;
  /** The `CATTLE_CA_CHECKSUM` Rancher must serve, or '' when the setting must be empty (public CA). */
  readonly checksum: string;
  /** SHA-256 fingerprint (lowercase hex) of the leaf the server must present; absent with `tls=external`. */
  readonly leafSha256?: string;
  readonly timeoutSeconds: number;
}

/**
 * Runs other steps again, in order, each on its own cluster. Terraform records
 * a `terraform_data` in the state before its command has finished, so a run
 * killed in the middle of a step can leave that step recorded as done; the
 * converge step, created only after every other step, runs them all again
 * (each writes only what differs) and so finishes whatever a kill left half
 * done.
 */
export interface ConvergeStepSpec {
  readonly step: 'converge';
  readonly steps: readonly (StepEnvelope | ShellCommands)[];
}

/** Shell commands of a command step that is not a cert-rotation step (the `helm upgrade` of an external release). */
export interface ShellCommands {
  readonly shell: readonly string[];
  /** The cluster the commands work on, for messages. */
  readonly cluster: string;
}

/** The phases of a kubeadm CA rotation, in order. */
export type KubeadmCaPhase = 'trust-both' | 'switch' | 'drop-old';
export const KUBEADM_CA_PHASES: readonly KubeadmCaPhase[] = ['trust-both', 'switch', 'drop-old'];

/**
 * kubeadm CA rotation: `check` refuses, before anything is written, a phase
 * that would skip one or go back (reading the phase the cluster finished from
 * the ConfigMap `record` wrote); `record` writes the finished phase.
 */
export interface KubeadmPhaseStepSpec {
  readonly step: 'kubeadm-phase';
  readonly mode: 'check' | 'record';
  readonly phase: KubeadmCaPhase;
  /** SHA-256 fingerprint of the new CA certificate (what this rotation moves to). */
  readonly caSha256: string;
  readonly fieldManager: string;
}

/**
 * Waits until every namespace's `kube-root-ca.crt` ConfigMap holds exactly
 * the CA certificates named (kube-controller-manager publishes its
 * `--root-ca-file` there).
 */
export interface RootCaStepSpec {
  readonly step: 'root-ca';
  /** SHA-256 fingerprints of the CA certificates `ca.crt` must hold, in any order. */
  readonly caSha256: readonly string[];
  readonly timeoutSeconds: number;
}

/**
 * Sets `certificate-authority-data` of the kubeconfig in `kube-public/cluster-info`
 * (what joining nodes trust) to a public CA bundle, and reads it back.
 */
export interface ClusterInfoStepSpec {
  readonly step: 'cluster-info';
  /** The PEM bundle (public certificates only). */
  readonly caPem: string;
  readonly fieldManager: string;
}

/**
 * Annotates the pod template of every workload of the kinds named, in every
 * namespace (found when the step runs), and waits for the rollouts.
 */
export interface RestartAllStepSpec {
  readonly step: 'restart-all';
  readonly kinds: readonly StepWorkload['kind'][];
  readonly annotations: Readonly<Record<string, string>>;
  readonly fieldManager: string;
  readonly waitSeconds: number;
}

/**
 * kubeadm CA rotation: every `caBundle` the API server verifies an extension
 * server with (admission webhooks, APIServices, CRD conversion webhooks) that
 * trusts the old cluster CA also gets the new one, so a serving certificate
 * the cluster's signer issues from now on (it signs with the new CA from
 * trust-both on) is trusted too. Bundles that do not hold the old CA (their
 * servers have a CA of their own) are left alone.
 */
export interface CaBundlesStepSpec {
  readonly step: 'ca-bundles';
  /** SHA-256 fingerprint of the old cluster CA (lowercase hex). */
  readonly oldCaSha256: string;
  /** PEM of the new cluster CA certificate (public). */
  readonly addPem: string;
  readonly fieldManager: string;
}

/**
 * kubeadm CA rotation, drop-old: the API server publishes its client CA and
 * front-proxy CA to aggregated API servers in
 * `kube-system/extension-apiserver-authentication`, merged with what the
 * ConfigMap held (kube-apiserver's cluster authentication trust controller
 * drops a CA only once it has expired). This step takes the retired CAs out,
 * so extension servers stop trusting them now, and reads the ConfigMap back.
 */
export interface ExtensionAuthPruneStepSpec {
  readonly step: 'extension-auth-prune';
  /** SHA-256 fingerprints (lowercase hex) of the CA certificates to take out. */
  readonly removeSha256: readonly string[];
  readonly fieldManager: string;
}

/** Every kind of step. */
export type StepSpec =
  | SecretStepSpec
  | RestartStepSpec
  | AgentsStepSpec
  | ForceDeployStepSpec
  | FleetForceUpdateStepSpec
  | RancherClusterRotateStepSpec
  | CacertsGateStepSpec
  | ConvergeStepSpec
  | KubeadmPhaseStepSpec
  | RootCaStepSpec
  | ClusterInfoStepSpec
  | CaBundlesStepSpec
  | ExtensionAuthPruneStepSpec
  | RestartAllStepSpec;

/** What the step's environment variable holds: the spec, its target and the format version. */
export interface StepEnvelope {
  readonly version: number;
  readonly target: StepTarget;
  readonly spec: StepSpec;
}
