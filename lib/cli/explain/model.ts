/**
 * What `cert-rotation explain` finds in a plan, independent of how it is
 * printed. Every value here is public: secret data never enters the model.
 */

/** What Terraform will do to one resource instance. */
export type ChangeAction = 'create' | 'update' | 'delete' | 'replace' | 'forget';

/**
 * A value as the plan shows it: the text, or why there is none to show
 * (`none`: the object does not exist on that side or the field is empty;
 * `unknown`: known after apply; `sensitive`: Terraform marks it sensitive).
 */
export type Shown = { readonly value: string } | { readonly note: 'none' | 'unknown' | 'sensitive' };

/** The cluster a resource is applied to, from its provider configuration. */
export interface ClusterRef {
  /** The provider alias (`kubernetes.downstream_2` → `downstream_2`), or `server` for the default provider. */
  readonly name: string;
  /** The kubeconfig context of that provider configuration, when the plan shows it as a constant. */
  readonly context?: string;
}

/** One field of a certificate, old → new. */
export interface FieldChange {
  /** The annotation's name without `cert-rotation.io/`, e.g. `sha256`. */
  readonly field: string;
  readonly before: Shown;
  readonly after: Shown;
  /** Whether old and new differ (an unknown new value counts as a change). */
  readonly changed: boolean;
}

/** A Secret holding a certificate (`cert-rotation.io/sha256`) or a CA bundle (`cert-rotation.io/ca-sha256`). */
export interface CertificateChange {
  readonly address: string;
  readonly action: ChangeAction;
  readonly cluster: ClusterRef;
  /** `leaf`: a server certificate and its chain; `ca`: a CA bundle such as `tls-ca`. */
  readonly kind: 'leaf' | 'ca';
  readonly namespace: string;
  readonly name: string;
  /** The metadata fields in a fixed order; fingerprint, issuer and expiry always, the others when they change. */
  readonly fields: FieldChange[];
  /** `data_wo_revision` old → new when the write-only content (`tls.crt`, `tls.key`) is sent again. */
  readonly writeOnlyRevision?: { readonly before: Shown; readonly after: Shown };
  /** How the data reaches the cluster when a cert-rotation step writes it (e.g. the key's file). */
  readonly dataNote?: string;
}

/** A change to one workload (Deployment, DaemonSet, …) in one cluster, old → new. */
export interface WorkloadChange {
  readonly address: string;
  readonly action: ChangeAction;
  readonly cluster: ClusterRef;
  readonly kind: string;
  readonly namespace: string;
  readonly name: string;
  readonly before: Shown;
  readonly after: Shown;
}

/** A workload whose pod template annotation `cert-rotation.io/trust-sha256` changes, so its pods roll. */
export type WorkloadRestart = WorkloadChange;

/** A Rancher agent whose `CATTLE_CA_CHECKSUM` changes (`kubernetes_env`). */
export interface AgentChange extends WorkloadChange {
  readonly container: string;
}

/** One provisioner of a resource that runs when the resource is created. */
export interface CommandStep {
  /** `local-exec`, `remote-exec` or `file`. */
  readonly provisioner: string;
  /**
   * What runs: the command (local-exec), the inline lines (remote-exec), or a
   * description (scripts, file copies). Empty when it is computed at apply time.
   */
  readonly lines: string[];
  /** Why `lines` is empty or partial, e.g. "computed at apply time from var.x". */
  readonly note?: string;
  /** Where it runs: `local` (where Terraform runs) or the node. */
  readonly where: string;
}

/** A resource whose provisioners run in this plan, with its place in the order. */
export interface PlannedCommand {
  readonly address: string;
  readonly action: ChangeAction;
  /** 1-based position in the order commands run. */
  readonly order: number;
  /** The positions of the commands this one waits for (empty: it may start first). */
  readonly after: number[];
  readonly steps: CommandStep[];
}

/** Something the plan deletes, or deletes and creates again. */
export interface DestroyedResource {
  readonly address: string;
  readonly action: 'delete' | 'replace';
  /** What the object is, e.g. `Secret`, `the restart annotation of DaemonSet`, `a command resource`. */
  readonly what: string;
  /** The Kubernetes object, `namespace/name` or a name, when there is one. */
  readonly object?: string;
  /** More about the object, e.g. `container agent`. */
  readonly detail?: string;
  readonly cluster?: ClusterRef;
  /** Why Terraform replaces or deletes it, when the plan says. */
  readonly reason?: string;
  /** What else happens as a consequence, e.g. that pods roll. */
  readonly consequence?: string;
}

/** One Helm value, old → new. */
export interface HelmValueChange {
  readonly name: string;
  readonly before: Shown;
  readonly after: Shown;
}

/** A `helm_release` whose `set` values or chart version change. */
export interface HelmReleaseChange {
  readonly address: string;
  readonly action: ChangeAction;
  readonly cluster: ClusterRef;
  readonly release: string;
  readonly namespace: string;
  readonly chart: string;
  /** Chart version old → new, when it changes. */
  readonly version?: { readonly before: Shown; readonly after: Shown };
  readonly values: HelmValueChange[];
}

/** A cert-rotation step removed from the configuration: Terraform forgets it, the cluster keeps what it wrote. */
export interface ReleasedStep {
  readonly address: string;
  readonly cluster: ClusterRef;
  /** What the step wrote, e.g. `CATTLE_CA_CHECKSUM on Deployment cattle-system/cattle-cluster-agent`. */
  readonly what: string;
}

/** A change that is none of the above. */
export interface OtherChange {
  readonly address: string;
  readonly action: ChangeAction;
}

/** Everything `explain` reports about one plan. */
export interface Explanation {
  /** The file name as given, or `stdin`. */
  readonly source: string;
  readonly terraformVersion?: string;
  /** Resource instances with an action other than no-op or read. */
  readonly changeCount: number;
  /** Terraform reported errors while planning (`errored`). */
  readonly errored: boolean;
  /** Some changes are deferred to a later plan (`complete: false`). */
  readonly incomplete: boolean;
  readonly certificates: CertificateChange[];
  readonly agents: AgentChange[];
  readonly restarts: WorkloadRestart[];
  readonly commands: PlannedCommand[];
  readonly helmReleases: HelmReleaseChange[];
  readonly destroyed: DestroyedResource[];
  /** Steps no longer in the configuration (nothing changes in the cluster). */
  readonly released: ReleasedStep[];
  readonly other: OtherChange[];
}
