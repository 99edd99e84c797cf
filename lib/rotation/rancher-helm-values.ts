import { Release } from '@cdktf/provider-helm/lib/release';
import { DataResource, ITerraformDependable, TerraformProvider } from 'cdktf';
import { Construct } from 'constructs';
import { sha256Hex } from '../contract';
import { DEFAULTS, dnsLabel, notEmpty, rancherHostname } from '../rules';
import { canonicalJson, checkProp, RotationBaseProps, RotationPropError, shellQuote } from './common';

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
   * Keeping it prevents the rotation from upgrading Rancher.
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

/** What a release creates to set the chart values: the resource, and the command it runs (external mode). */
export interface ReleaseValuesResource {
  /** The `helm_release` (managed) or `terraform_data` (external) resource. */
  readonly resource: Release | DataResource;
  /** The `helm upgrade` command (external mode only). */
  readonly command?: string;
  /** The command that rolls back a release left pending by an interrupted upgrade, run before `command` (external mode only). */
  readonly recoverCommand?: string;
}

/**
 * How the Rancher Helm release is changed: managed by this stack
 * (`helm_release`) or upgraded by command (`helm upgrade --reuse-values`).
 * Each kind knows how to set the values it is given.
 */
export abstract class RancherRelease {
  /**
   * The release is a `helm_release` in this stack (created here or imported
   * with `terraform import`). Only the rotation's values are `set`; earlier
   * values are kept with `reuse_values`.
   */
  public static managed(options: ManagedRancherReleaseOptions): RancherRelease {
    return new ManagedRancherRelease(options);
  }

  /**
   * The release is installed and owned elsewhere; a `terraform_data` resource
   * runs `helm upgrade … --reuse-values --set …` whenever the values it sets or
   * the deployed version change.
   */
  public static external(options: ExternalRancherReleaseOptions): RancherRelease {
    return new ExternalRancherRelease(options);
  }

  /** Which kind of release this is. */
  public abstract readonly kind: 'managed' | 'external';
  /** The release's name: the chart names the Rancher Deployment after it. */
  public abstract readonly releaseName: string;
  /** The release's namespace. */
  public abstract readonly releaseNamespace: string;

  /**
   * Creates, under `scope` with id `Resource`, what sets `values` on the
   * release after `dependsOn`. Checks the release's options first; errors
   * name them as `mode.<option>` of `construct`.
   */
  public abstract bind(scope: Construct, construct: string, values: Record<string, string>, dependsOn?: ITerraformDependable[]): ReleaseValuesResource;
}

class ManagedRancherRelease extends RancherRelease {
  public readonly kind = 'managed';
  public readonly releaseName: string;
  public readonly releaseNamespace: string;

  constructor(private readonly options: ManagedRancherReleaseOptions) {
    super();
    this.releaseName = options.name ?? DEFAULTS.releaseName;
    this.releaseNamespace = options.namespace ?? DEFAULTS.rancherNamespace;
  }

  public bind(scope: Construct, construct: string, values: Record<string, string>, dependsOn?: ITerraformDependable[]): ReleaseValuesResource {
    const o = this.options;
    const name = o.name ?? DEFAULTS.releaseName;
    const namespace = o.namespace ?? DEFAULTS.rancherNamespace;
    checkProp(construct, 'mode.chart', o.chart, notEmpty);
    checkProp(construct, 'mode.version', o.version, notEmpty);
    checkProp(construct, 'mode.name', name, notEmpty);
    checkProp(construct, 'mode.namespace', namespace, dnsLabel());
    const resource = new Release(scope, 'Resource', {
      provider: o.provider,
      dependsOn,
      name,
      namespace,
      chart: o.chart,
      repository: o.repository,
      version: o.version,
      values: o.values,
      set: Object.entries(values).map(([key, value]) => ({ name: key, value })),
      reuseValues: true,
      // The gate that follows waits for Rancher anyway; waiting here keeps a failed rollout on this step.
      wait: true,
    });
    return { resource };
  }
}

class ExternalRancherRelease extends RancherRelease {
  public readonly kind = 'external';
  public readonly releaseName: string;
  public readonly releaseNamespace: string;

  constructor(private readonly options: ExternalRancherReleaseOptions) {
    super();
    this.releaseName = options.release ?? DEFAULTS.releaseName;
    this.releaseNamespace = options.namespace ?? DEFAULTS.rancherNamespace;
  }

  public bind(scope: Construct, construct: string, values: Record<string, string>, dependsOn?: ITerraformDependable[]): ReleaseValuesResource {
    const o = this.options;
    const release = o.release ?? DEFAULTS.releaseName;
    const namespace = o.namespace ?? DEFAULTS.rancherNamespace;
    const helm = o.helmBinary ?? DEFAULTS.helmBinary;
    checkProp(construct, 'mode.chart', o.chart, notEmpty);
    checkProp(construct, 'mode.deployedVersion', o.deployedVersion, notEmpty);
    checkProp(construct, 'mode.release', release, notEmpty);
    checkProp(construct, 'mode.helmBinary', helm, notEmpty);
    checkProp(construct, 'mode.namespace', namespace, dnsLabel());
    const kube = [...(o.kubeconfig !== undefined ? ['--kubeconfig', o.kubeconfig] : []), ...(o.context !== undefined ? ['--kube-context', o.context] : [])];
    const sh = (args: string[]) => args.map(shellQuote).join(' ');
    const command = sh([
      helm,
      'upgrade',
      release,
      o.chart,
      '--namespace',
      namespace,
      '--version',
      o.deployedVersion,
      '--reuse-values',
      '--wait',
      '--timeout',
      '10m',
      ...Object.entries(values).flatMap(([key, value]) => ['--set', `${key}=${value}`]),
      ...kube,
    ]);
    // An upgrade killed midway leaves the release pending, and every later upgrade fails with
    // "another operation (install/upgrade/rollback) is in progress": roll back first, and say so.
    const pending = sh([helm, 'list', '--namespace', namespace, '--pending', '--filter', `^${release.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, '--short', ...kube]);
    const notice = shellQuote(
      `cert-rotation: Helm release ${namespace}/${release} is pending (an earlier helm operation was interrupted); rolling it back to its last deployed revision`,
    );
    const recoverCommand = `if [ -n "$(${pending})" ]; then echo ${notice} >&2; ${sh([helm, 'rollback', release, '--namespace', namespace, ...kube])} || exit 1; fi`;
    const resource = new DataResource(scope, 'Resource', {
      dependsOn,
      triggersReplace: {
        valuesSha256: sha256Hex(canonicalJson(values)),
        version: o.deployedVersion,
      },
      provisioners: [
        { type: 'local-exec', command: recoverCommand },
        { type: 'local-exec', command },
      ],
    });
    return { resource, command, recoverCommand };
  }
}

/** Properties of {@link RancherHelmValues}. */
export interface RancherHelmValuesProps extends Pick<RotationBaseProps, 'dependsOn'> {
  /** Rancher's hostname, the chart value `hostname` (e.g. `rancher.example.com`). */
  readonly hostname: string;
  /** Whether the certificate is signed by a private CA: the chart value `privateCA` (then `tls-ca` must exist). */
  readonly privateCa: boolean;
  /** How the release is changed: {@link RancherRelease.managed} or {@link RancherRelease.external}. */
  readonly mode: RancherRelease;
  /**
   * `ingress`: the chart's Ingress presents the certificate from the Secret
   * (`ingress.tls.source=secret`); `external`: a load balancer does (`tls=external`).
   * @default 'ingress'
   */
  readonly tls?: 'ingress' | 'external';
  /**
   * The Ingress's TLS Secret; set as `ingress.tls.secretName` when it is not the default.
   * @default 'tls-rancher-ingress'
   */
  readonly ingressSecretName?: string;
}

/**
 * Sets Rancher's chart values for a custom certificate:
 * `ingress.tls.source=secret`, `privateCA=<bool>` and `hostname=<hostname>`,
 * keeping every other value and the deployed chart version: the step of
 * Rancher's certificate update procedure that reconfigures the Helm release.
 * The provider is the release's own (`RancherRelease.managed({ provider })`).
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
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
  /** The roll-back of a pending release that runs before {@link command} (external mode only). */
  public readonly recoverCommand?: string;

  constructor(scope: Construct, id: string, props: RancherHelmValuesProps) {
    super(scope, id);
    const what = 'RancherHelmValues';
    checkProp(what, 'hostname', props.hostname, rancherHostname);
    if (typeof props.privateCa !== 'boolean') {
      throw new RotationPropError(what, 'privateCa', props.privateCa, 'must be true or false', 'set true when the server certificate is signed by a private CA');
    }
    if (!(props.mode instanceof RancherRelease)) {
      throw new RotationPropError(what, 'mode', typeof props.mode, 'is not a RancherRelease', 'pass RancherRelease.managed({ … }) or RancherRelease.external({ … })');
    }
    const secretName = props.ingressSecretName ?? DEFAULTS.ingressSecretName;
    this.values =
      (props.tls ?? 'ingress') === 'external'
        ? { tls: 'external', privateCA: props.privateCa ? 'true' : 'false', hostname: props.hostname }
        : {
            'ingress.tls.source': 'secret',
            ...(secretName !== DEFAULTS.ingressSecretName ? { 'ingress.tls.secretName': secretName } : {}),
            privateCA: props.privateCa ? 'true' : 'false',
            hostname: props.hostname,
          };
    this.valuesSha256 = sha256Hex(canonicalJson(this.values));
    const bound = props.mode.bind(this, what, this.values, props.dependsOn);
    this.resource = bound.resource;
    this.command = bound.command;
    this.recoverCommand = bound.recoverCommand;
  }
}
