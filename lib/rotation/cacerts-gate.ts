import { Construct } from 'constructs';
import { DEFAULTS, dnsLabel, dnsSubdomain, rancherHostname, sha256HexValue } from '../rules';
import { ClusterStep, StepBaseProps } from './cluster-step';
import { checkProp, RotationPropError } from './common';

/** Properties of {@link CacertsGate}. */
export interface CacertsGateProps extends StepBaseProps {
  /** Rancher's hostname: the gate reads `https://<hostname>/v3/settings/cacerts`. */
  readonly hostname: string;
  /**
   * The `CATTLE_CA_CHECKSUM` Rancher must serve (`CaBundle.checksum`), or
   * `''` when Rancher must serve an empty setting (publicly trusted certificate).
   */
  readonly checksum: string;
  /**
   * The PEM bundle the server's certificate is verified with: the new private
   * CA (`CaBundle.pem`).
   * @default - the system's trust store (a publicly trusted certificate)
   */
  readonly trustPem?: string;
  /**
   * SHA-256 fingerprint of the leaf the server must present (lowercase hex).
   * @default - not checked (`tls=external`: the certificate is on the load balancer)
   */
  readonly leafSha256?: string;
  /**
   * Connect to this `host:port` instead of resolving the hostname (a load
   * balancer's address; the test bed). The TLS server name stays the hostname.
   * @default - the hostname, port 443
   */
  readonly connectTo?: string;
  /**
   * How long the gate waits for the rollout and the new CA, in seconds.
   * @default 600
   */
  readonly timeoutSeconds?: number;
  /**
   * The Rancher Deployment whose rollout the gate waits for.
   * @default { namespace: 'cattle-system', name: 'rancher' }
   */
  readonly deployment?: { readonly namespace: string; readonly name: string };
}

/**
 * The gate between Rancher and its agents. Rancher reads `cacerts.pem` once,
 * when its process starts, and agents exit at start when the CA Rancher
 * serves does not hash to their `CATTLE_CA_CHECKSUM`; so nothing may change
 * an agent before Rancher serves the new CA. The gate's step waits until the
 * Rancher Deployment has rolled out, then polls `/v3/settings/cacerts`,
 * verifying the server with the new CA, until the setting hashes to the new
 * checksum (or is empty for a public CA) and the server presents the new
 * certificate. On timeout the apply fails with what Rancher serves, what was
 * expected and what to run; no agent has changed by then.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
export class CacertsGate extends Construct {
  /** The step. */
  public readonly step: ClusterStep;
  /** The URL the gate polls. */
  public readonly url: string;

  constructor(scope: Construct, id: string, props: CacertsGateProps) {
    super(scope, id);
    const what = 'CacertsGate';
    checkProp(what, 'hostname', props.hostname, rancherHostname);
    if (props.checksum !== '') checkProp(what, 'checksum', props.checksum, sha256HexValue);
    if (props.leafSha256 !== undefined) checkProp(what, 'leafSha256', props.leafSha256, sha256HexValue);
    if (props.connectTo !== undefined && !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(props.connectTo)) {
      throw new RotationPropError(what, 'connectTo', props.connectTo, 'is not host:port', "give the load balancer's address, e.g. 10.0.0.5:443");
    }
    const timeoutSeconds = props.timeoutSeconds ?? 600;
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1) {
      throw new RotationPropError(what, 'timeoutSeconds', timeoutSeconds, 'is not a whole number of seconds ≥ 1', 'give how long Rancher may take to restart, e.g. 600');
    }
    const deployment = props.deployment ?? { namespace: DEFAULTS.rancherNamespace, name: DEFAULTS.releaseName };
    checkProp(what, 'deployment.namespace', deployment.namespace, dnsLabel());
    checkProp(what, 'deployment.name', deployment.name, dnsSubdomain);
    this.url = `https://${props.hostname}/v3/settings/cacerts`;
    this.step = new ClusterStep(this, 'Step', {
      target: props.target,
      dependsOn: props.dependsOn,
      spec: {
        step: 'cacerts-gate',
        deployment: { namespace: deployment.namespace, name: deployment.name },
        url: this.url,
        ...(props.connectTo !== undefined ? { connectTo: props.connectTo } : {}),
        ...(props.trustPem !== undefined ? { trustPem: props.trustPem } : {}),
        checksum: props.checksum,
        ...(props.leafSha256 !== undefined ? { leafSha256: props.leafSha256 } : {}),
        timeoutSeconds,
      },
    });
  }

  /** The `terraform_data` of the step, to depend on. */
  public get resource() {
    return this.step.resource;
  }
}
