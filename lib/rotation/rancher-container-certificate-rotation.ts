import { ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';
import { RotationPropError, shellQuote } from './common';
import { checkNodeSsh, NodeCommand, NodeSsh, scriptPrelude } from './node-command';

/** Properties of {@link RancherContainerCertificateRotation}. */
export interface RancherContainerCertificateRotationProps {
  /** The machine that runs the Rancher container. */
  readonly host: NodeSsh;
  /** The container's name or id. */
  readonly container: string;
  /** The Rancher version the container runs (already upgraded to v2.0.14+, v2.1.9+ or v2.2.2+), e.g. '2.8.5'. */
  readonly rancherVersion: string;
  /** Rotation number: the rotation runs when first applied and again only when this number changes. */
  readonly generation: number;
  /**
   * `host:port` whose served certificate must be valid for at least `minValidDays` afterwards (checked with `openssl s_client` on the host).
   * @default - no check of the served certificate
   */
  readonly servedEndpoint?: string;
  /**
   * Days the served certificate must still be valid after the rotation.
   * @default 30
   */
  readonly minValidDays?: number;
  /**
   * The docker command on the host.
   * @default 'docker'
   */
  readonly dockerCommand?: string;
  /**
   * Resources the rotation runs after.
   * @default []
   */
  readonly dependsOn?: ITerraformDependable[];
}

/** What the document moves aside, per Rancher version, and how many restarts follow. */
export function rancherContainerCertificatePath(version: string): { path: string; restarts: number } {
  const m = /^v?2\.(\d+)\.\d+/.exec(version);
  if (!m) throw new Error(`not a Rancher 2.x version: ${version}`);
  const minor = Number(m[1]);
  if (minor <= 1) return { path: '/var/lib/rancher/management-state/certs/bundle.json', restarts: 1 };
  if (minor === 2) return { path: '/var/lib/rancher/management-state/tls/localhost.crt', restarts: 1 };
  // 2.3+: the embedded k3s; the first restart makes the certificates, the second loads them.
  return { path: '/var/lib/rancher/k3s/server/tls', restarts: 2 };
}

/**
 * Expired certificates of a single-container Rancher (`docker run rancher/rancher`):
 * moves the version's certificate file aside inside the container (2.0/2.1
 * `bundle.json`, 2.2 `localhost.crt`, 2.3+ the embedded k3s `tls` directory),
 * restarts the container (twice for 2.3+) and checks the file is made again
 * (and, with `servedEndpoint`, that the served certificate is valid long enough).
 * The backup is `<path>-bak-g<generation>`, so an earlier backup is never overwritten.
 *
 * @see https://ranchermanager.docs.rancher.com/how-to-guides/advanced-user-guides/manage-clusters/rotate-certificates
 */
export class RancherContainerCertificateRotation extends Construct {
  /** The step on the host. */
  public readonly rotation: NodeCommand;
  /** The commands, in order. */
  public readonly commands: string[];

  constructor(scope: Construct, id: string, props: RancherContainerCertificateRotationProps) {
    super(scope, id);
    const what = 'RancherContainerCertificateRotation';
    checkNodeSsh(what, 'host', props.host);
    if (typeof props.container !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(props.container)) {
      throw new RotationPropError(what, 'container', props.container, 'is not a container name or id', 'pass the name or id docker ps shows');
    }
    if (!Number.isInteger(props.generation) || props.generation < 1) {
      throw new RotationPropError(what, 'generation', props.generation, 'is not a whole number of at least 1', 'start at 1 and raise it by one for each new rotation');
    }
    let where: { path: string; restarts: number };
    try {
      where = rancherContainerCertificatePath(props.rancherVersion);
    } catch {
      throw new RotationPropError(what, 'rancherVersion', props.rancherVersion, 'is not a Rancher 2.x version', "write it as a string, e.g. '2.8.5'");
    }
    const minDays = props.minValidDays ?? 30;
    const docker = props.dockerCommand ?? 'docker';
    const c = props.container;
    const backup = `${where.path}-bak-g${props.generation}`;
    const mv = [docker, 'exec', c, 'mv', where.path, backup].map(shellQuote).join(' ');
    const restart = [docker, 'restart', c].map(shellQuote).join(' ');
    const check = [docker, 'exec', c, 'test', '-e', where.path].map(shellQuote).join(' ');
    const commands = [mv, ...Array(where.restarts).fill(restart), check];
    const lines = scriptPrelude(props.host.name);
    lines.push(`CR_STATE=${shellQuote(`nothing changed in container ${c}`)}`);
    lines.push(`cr_step ${shellQuote(`move ${where.path} aside`)} ${mv}`);
    lines.push(`CR_STATE=${shellQuote(`${where.path} is moved to ${backup} in container ${c}; move it back to undo`)}`);
    for (let i = 0; i < where.restarts; i++) lines.push(`cr_step ${shellQuote(`docker restart (${i + 1} of ${where.restarts})`)} ${restart}`);
    lines.push(`cr_step ${shellQuote(`check ${where.path} made again`)} ${check}`);
    if (props.servedEndpoint) {
      const probe = `echo | openssl s_client -connect ${shellQuote(props.servedEndpoint)} 2>/dev/null | openssl x509 -noout -checkend ${minDays * 86400}`;
      commands.push(`check: certificate served at ${props.servedEndpoint} valid ${minDays} more days`);
      lines.push(`cr_wait ${shellQuote(`served certificate at ${props.servedEndpoint} valid ${minDays} more days`)} 120 ${shellQuote(probe)}`);
    }
    lines.push('echo "cert-rotation: node $CR_NODE: done"');
    this.commands = commands;
    this.rotation = new NodeCommand(this, 'rotate', {
      node: props.host,
      script: lines,
      triggers: { generation: props.generation },
      describe: { node: props.host.name, role: 'rancher-container', order: 1, commands },
      dependsOn: props.dependsOn,
    });
  }
}
