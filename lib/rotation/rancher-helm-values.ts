import { Release } from '@cdktf/provider-helm/lib/release';
import { DataResource, ITerraformDependable, TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { sha256Hex } from '../pki';
import {
  canonicalJson,
  checkDnsLabel,
  checkHostname,
  checkNotEmpty,
  quoteProp,
  RotationPropError,
  shellQuote,
} from './common';

/** Options of {@link RancherRelease.managed}: the `helm_release` is in this stack's state. */
export interface ManagedRancherReleaseOptions {
  /**
   * The Helm release name.
   * @default 'rancher'
   */
  readonly name?: string;
  /**
   * The release's namespace.
   * @default 'cattle-system'
   */
  readonly namespace?: string;
  /** The chart, e.g. `rancher` (with `repository`) or `rancher-stable/rancher`. */
  readonly chart: string;
  /**
   * The chart repository URL, e.g. `https://releases.rancher.com/server-charts/stable`.
   * @default - none: `chart` is a local path, an OCI reference or `repo/chart`
   */
  readonly repository?: string;
  /**
   * The chart version that is deployed now (`helm ls -n cattle-system`).
   * Keeping it prevents the rotation from upgrading Rancher (seed 004 §3).
   */
  readonly version: string;
  /**
   * The release's other values as YAML documents (what `helm get values rancher
   * -n cattle-system` prints), so the plan shows the whole configuration.
   * @default [] - earlier values are kept through `reuse_values`
   */
  readonly values?: string[];
  /**
   * The Helm provider of the Rancher server (local) cluster.
   * @default - the stack's default `helm` provider
   */
  readonly provider?: TerraformProvider;
}

/** Options of {@link RancherRelease.external}: the release is installed by someone else and upgraded with the Helm CLI. */
export interface ExternalRancherReleaseOptions {
  /**
   * The Helm release name.
   * @default 'rancher'
   */
  readonly release?: string;
  /** The chart as `helm upgrade` takes it, e.g. `rancher-stable/rancher` (the repository must be added where Terraform runs). */
  readonly chart: string;
  /**
   * The chart version that is deployed now (`helm ls -n cattle-system`),
   * passed as `--version` so the rotation does not upgrade Rancher.
   */
  readonly deployedVersion: string;
  /**
   * The release's namespace.
   * @default 'cattle-system'
   */
  readonly namespace?: string;
  /**
   * Absolute path of the kubeconfig `helm` uses (`--kubeconfig`).
   * @default - helm's own default (`KUBECONFIG` or `~/.kube/config`)
   */
  readonly kubeconfig?: string;
  /**
   * The kubeconfig context `helm` uses (`--kube-context`).
   * @default - the kubeconfig's current-context
   */
  readonly context?: string;
  /**
   * The `helm` command.
   * @default 'helm'
   */
  readonly helmBinary?: string;
}

/**
 * How the Rancher Helm release is changed: managed by this stack
 * (`helm_release`) or upgraded by command (`helm upgrade --reuse-values`).
 */
export class RancherRelease {
  /**
   * The release is a `helm_release` in this stack (created here or imported
   * with `terraform import`). Only the three values are `set`; earlier values
   * are kept with `reuse_values`.
   */
  public static managed(options: ManagedRancherReleaseOptions): RancherRelease {
    return new RancherRelease('managed', options, undefined);
  }

  /**
   * The release is installed and owned elsewhere; a `terraform_data` resource
   * runs `helm upgrade … --reuse-values --set …` whenever the values it sets or
   * the deployed version change.
   */
  public static external(options: ExternalRancherReleaseOptions): RancherRelease {
    return new RancherRelease('external', undefined, options);
  }

  private constructor(
    /** Which kind of release this is. */
    public readonly kind: 'managed' | 'external',
    /** The options of a managed release. */
    public readonly managedOptions: ManagedRancherReleaseOptions | undefined,
    /** The options of an external release. */
    public readonly externalOptions: ExternalRancherReleaseOptions | undefined,
  ) {}
}

/** Properties of {@link RancherHelmValues}. */
export interface RancherHelmValuesProps {
  /** Rancher's hostname, the chart value `hostname` (e.g. `rancher.example.com`). */
  readonly hostname: string;
  /** Whether the certificate is signed by a private CA: the chart value `privateCA` (then `tls-ca` must exist). */
  readonly privateCa: boolean;
  /** How the release is changed: {@link RancherRelease.managed} or {@link RancherRelease.external}. */
  readonly mode: RancherRelease;
  /**
   * Resources the upgrade runs after, typically the `tls-rancher-ingress` and `tls-ca` Secrets.
   * @default [] - no explicit dependencies
   */
  readonly dependsOn?: ITerraformDependable[];
}

/**
 * Sets Rancher's chart values for a custom certificate (seed 004 §3):
 * `ingress.tls.source=secret`, `privateCA=<bool>` and `hostname=<hostname>`,
 * keeping every other value and the deployed chart version.
 */
export class RancherHelmValues extends Construct {
  /** The `helm_release` (managed) or `terraform_data` (external) resource, for escape hatches. */
  public readonly resource: Release | DataResource;
  /** The chart values this construct sets, by their `--set` path. */
  public readonly values: Record<string, string>;
  /** SHA-256 of the canonical JSON of {@link values}. */
  public readonly valuesSha256: string;
  /** The `helm upgrade` command (external mode only). */
  public readonly command?: string;

  constructor(scope: Construct, id: string, props: RancherHelmValuesProps) {
    super(scope, id);
    const what = 'RancherHelmValues';
    checkHostname(what, props.hostname);
    if (typeof props.privateCa !== 'boolean') {
      throw new RotationPropError(
        `${what}: ${quoteProp('privateCa', props.privateCa)} must be true or false: true when the server certificate is signed by a private CA.`,
      );
    }
    if (!(props.mode instanceof RancherRelease)) {
      throw new RotationPropError(
        `${what}: 'mode' must be RancherRelease.managed({ … }) or RancherRelease.external({ … }).`,
      );
    }
    this.values = {
      'ingress.tls.source': 'secret',
      privateCA: props.privateCa ? 'true' : 'false',
      hostname: props.hostname,
    };
    this.valuesSha256 = sha256Hex(canonicalJson(this.values));

    if (props.mode.kind === 'managed') {
      const o = props.mode.managedOptions!;
      const namespace = o.namespace ?? 'cattle-system';
      checkNotEmpty(what, 'mode.chart', o.chart);
      checkNotEmpty(what, 'mode.version', o.version);
      checkNotEmpty(what, 'mode.name', o.name ?? 'rancher');
      checkDnsLabel(what, 'mode.namespace', namespace);
      this.resource = new Release(this, 'Resource', {
        provider: o.provider,
        dependsOn: props.dependsOn,
        name: o.name ?? 'rancher',
        namespace,
        chart: o.chart,
        repository: o.repository,
        version: o.version,
        values: o.values,
        set: Object.entries(this.values).map(([name, value]) => ({ name, value })),
        reuseValues: true,
        wait: false,
      });
    } else {
      const o = props.mode.externalOptions!;
      const release = o.release ?? 'rancher';
      const namespace = o.namespace ?? 'cattle-system';
      checkNotEmpty(what, 'mode.chart', o.chart);
      checkNotEmpty(what, 'mode.deployedVersion', o.deployedVersion);
      checkNotEmpty(what, 'mode.release', release);
      checkNotEmpty(what, 'mode.helmBinary', o.helmBinary ?? 'helm');
      checkDnsLabel(what, 'mode.namespace', namespace);
      const args = [
        o.helmBinary ?? 'helm',
        'upgrade',
        release,
        o.chart,
        '--namespace',
        namespace,
        '--version',
        o.deployedVersion,
        '--reuse-values',
        ...Object.entries(this.values).flatMap(([name, value]) => ['--set', `${name}=${value}`]),
        ...(o.kubeconfig !== undefined ? ['--kubeconfig', o.kubeconfig] : []),
        ...(o.context !== undefined ? ['--kube-context', o.context] : []),
      ];
      this.command = args.map(shellQuote).join(' ');
      this.resource = new DataResource(this, 'Resource', {
        dependsOn: props.dependsOn,
        triggersReplace: {
          valuesSha256: this.valuesSha256,
          version: o.deployedVersion,
        },
        provisioners: [{ type: 'local-exec', command: this.command }],
      });
    }
  }
}
