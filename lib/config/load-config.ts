import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseDocument } from 'yaml';
import { CertificateInputError } from '../pki/errors';
import { loadServerCertificate, ServerCertificate } from '../pki/rancher-certificates';
import { parseDuration } from '../pki/validity';
import { Distribution, DISTRIBUTIONS, parseRancherVersion } from '../rancher-agents';
import type { NodeSsh } from '../rotation/node-command';
import { clusterName, DEFAULTS, dnsLabel, dnsSubdomain, defaultPrivateCa, parseWorkloadRef, rancherHostname, Rule, Workload } from '../rules';
import { loadBackend, ResolvedBackend } from './backend';
import { ConfigError } from './config-error';

/** A workload to restart after a rotation. */
export type WorkloadRef = Workload;

export interface ResolvedCluster {
  readonly name: string;
  readonly kubeconfig: string;
  readonly context?: string;
}

export interface ResolvedDownstream extends ResolvedCluster {
  readonly distribution: Distribution;
  /** @default 'checksum' */
  readonly agents?: 'checksum' | 'redeploy';
  readonly clusterId?: string;
  /** The cluster in Fleet (`name` or `workspace/name`), force-updated after a CA change. */
  readonly fleetCluster?: string;
  /** The stack this cluster's steps go into with `fleet.stacks: groups`. */
  readonly group?: string;
}

/**
 * How the downstream clusters are split into stacks (`fleet.stacks`): `one`
 * stack with the server's steps and every cluster's; `per-cluster`, a stack
 * per downstream cluster; `groups`, a stack per `downstream[].group`. Split
 * stacks each start with the server's gate, read only, so that one cluster's
 * failure stops only its own stack (see README, "Fleets").
 */
export type FleetStacks = 'one' | 'per-cluster' | 'groups';
export const FLEET_STACKS: readonly FleetStacks[] = ['one', 'per-cluster', 'groups'];

export interface ResolvedRelease {
  readonly mode: 'managed' | 'external';
  readonly name: string;
  readonly namespace: string;
  readonly chart: string;
  readonly repository?: string;
  readonly version: string;
  readonly helmBinary: string;
}

/** A machine reached over SSH (`nodes:`), by name. */
export interface ResolvedNode extends NodeSsh {
  /** RKE2: this node's data directory and admin kubeconfig, when they differ from the `rke2:` section's. */
  readonly dataDir?: string;
  readonly kubeconfigPath?: string;
  readonly apiAddress?: string;
}

/** `rke2:` — RKE2 `rke2 certificate rotate` on the servers, one at a time, then the agents restart. */
export interface ResolvedRke2 {
  readonly servers: ResolvedNode[];
  readonly agents: ResolvedNode[];
  readonly generation: number;
  readonly services: string[];
  readonly mode: 'rotate' | 'expired';
  readonly dataDir?: string;
  readonly kubeconfigPath?: string;
  readonly readinessTimeoutSeconds?: number;
  readonly apiServingCheck?: boolean;
  readonly apiAddress?: string;
}

/** `rke:` — `rke cert rotate` on the machine that holds cluster.yml. */
export interface ResolvedRke {
  readonly host: ResolvedNode;
  readonly clusterConfigPath: string;
  readonly generation: number;
  readonly services: string[];
  readonly rotateCA: boolean;
  readonly upFirst: boolean;
  readonly rkeCommand?: string;
  /** The cluster whose system workloads restart after `rotateCA`. */
  readonly cluster?: ResolvedCluster;
}

/** `rancherContainer:` — the certificate of a single-container Rancher (`docker run rancher/rancher`). */
export interface ResolvedRancherContainer {
  readonly host: ResolvedNode;
  readonly container: string;
  readonly rancherVersion: string;
  readonly generation: number;
  readonly servedEndpoint?: string;
  readonly minValidDays?: number;
}

/** The configuration after validation: absolute paths, certificates checked. */
export interface RotationConfig {
  readonly file: string;
  /** Where Terraform keeps the state (`backend:`). @default local */
  readonly backend?: ResolvedBackend;
  readonly rke2?: ResolvedRke2;
  readonly rke?: ResolvedRke;
  readonly rancherContainer?: ResolvedRancherContainer;
  /** The Rancher server certificate rotation (`rancher:`); absent when the file rotates only nodes. */
  readonly rancher?: ResolvedCluster & {
    readonly hostname: string;
    readonly certificate: ServerCertificate;
    readonly privateCa: boolean;
    readonly renewBefore: number;
    readonly release?: ResolvedRelease;
    readonly restartWorkloads?: WorkloadRef[];
    readonly rancherVersion?: string;
    readonly tls: 'ingress' | 'external';
    readonly ingressSecretName: string;
    readonly gate: { readonly connectTo?: string; readonly timeoutSeconds?: number };
    readonly agentWaitSeconds?: number;
  };
  readonly downstream: ResolvedDownstream[];
  /** How the downstream clusters are split into stacks (`fleet:`). @default { stacks: 'one' } */
  readonly fleet?: { readonly stacks: FleetStacks };
}

export interface LoadConfigOptions {
  /** The time certificates are checked against. */
  readonly now: Date;
}

/** A configuration file is a few hundred bytes; anything far larger is not one. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Reads and validates a configuration file. Every error names the file, the
 * field and the fix; nothing is deployed when one is thrown.
 */
export function loadConfig(file: string, options: LoadConfigOptions): RotationConfig {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) {
    throw new ConfigError(abs, '(file)', 'the configuration file does not exist', 'create it (see README, "Configuration") or pass its path with CERT_ROTATION_CONFIG');
  }
  const stat = fs.statSync(abs);
  if (!stat.isFile()) {
    throw new ConfigError(abs, '(file)', 'is a directory, not a configuration file', 'pass the path of the YAML file itself, e.g. cert-rotation.yaml inside it');
  }
  if (stat.size > MAX_CONFIG_BYTES) {
    throw new ConfigError(abs, '(file)', `is ${stat.size} bytes, more than a configuration file needs (${MAX_CONFIG_BYTES})`, 'point CERT_ROTATION_CONFIG at the cert-rotation.yaml file');
  }
  const doc = parseDocument(fs.readFileSync(abs, 'utf8'), { prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(abs, '(file)', `is not valid YAML: ${doc.errors[0].message.split('\n')[0]}`, 'correct the YAML syntax at the line named');
  }
  let content: unknown;
  try {
    // A few aliases are fine; an alias bomb (aliases of aliases, billions of nodes) is refused by the parser.
    content = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new ConfigError(abs, '(file)', `cannot be read as configuration: ${(e as Error).message.split('\n')[0]}`, 'write the values out instead of repeating YAML aliases (*name)');
  }
  const v = new Validator(abs);
  const root = v.object(content, '', ['rancher', 'downstream', 'nodes', 'rke2', 'rke', 'rancherContainer', 'backend', 'fleet']);
  const nodeRotations = loadNodeRotations(v, root);
  if (root.rancher === undefined && (root.downstream !== undefined || Object.keys(nodeRotations).length === 0)) {
    throw new ConfigError(abs, 'rancher', 'is missing', root.downstream !== undefined
      ? 'add the rancher section: downstream clusters follow the Rancher server certificate (see README, "Configuration")'
      : 'add what to rotate: a rancher, rke2, rke or rancherContainer section (see README, "Configuration")');
  }
  if (root.rancher === undefined) {
    if (root.fleet !== undefined) {
      throw new ConfigError(abs, 'fleet', 'splits downstream clusters into stacks, and this file has no rancher section', 'remove fleet, or add the rancher and downstream sections it splits');
    }
    return { file: abs, backend: loadBackend(v, root.backend), downstream: [], ...nodeRotations };
  }

  const r = v.object(root.rancher, 'rancher', [
    'kubeconfig', 'context', 'hostname', 'certificate', 'renewBefore', 'privateCa', 'release', 'restartWorkloads',
    'rancherVersion', 'tls', 'ingressSecretName', 'networkExposure', 'gate', 'agentWaitSeconds',
  ]);
  const exposure = r.networkExposure === undefined ? 'ingress' : v.oneOf(r.networkExposure, 'rancher.networkExposure', ['ingress', 'gateway']);
  if (exposure === 'gateway') {
    throw new ConfigError(
      abs,
      'rancher.networkExposure',
      "'gateway' (Rancher 2.14+ through the Gateway API) is not supported yet: the certificate is then in gateway.gatewayClass.tls.secretName, often owned by a cert-manager Certificate",
      'rotate the Gateway\'s certificate with its own tooling, or expose Rancher through its Ingress (networkExposure: ingress)',
    );
  }
  const tls = (r.tls === undefined ? 'ingress' : v.oneOf(r.tls, 'rancher.tls', ['ingress', 'external'])) as 'ingress' | 'external';
  const ingressSecretName = v.checked(v.optionalString(r.ingressSecretName, 'rancher.ingressSecretName') ?? DEFAULTS.ingressSecretName, 'rancher.ingressSecretName', dnsSubdomain);
  const rancherVersion = v.optionalString(v.notNumber(r.rancherVersion, 'rancher.rancherVersion'), 'rancher.rancherVersion');
  if (rancherVersion !== undefined && !parseRancherVersion(rancherVersion)) {
    throw new ConfigError(abs, 'rancher.rancherVersion', `'${rancherVersion}' is not a Rancher version`, "write it as major.minor.patch, e.g. '2.8.5' (kubectl -n cattle-system get deploy rancher -o jsonpath='{..image}')");
  }
  const g = r.gate === undefined ? {} : v.object(r.gate, 'rancher.gate', ['connectTo', 'timeoutSeconds']);
  const connectTo = v.optionalString(g.connectTo, 'rancher.gate.connectTo');
  if (connectTo !== undefined && !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(connectTo)) {
    throw new ConfigError(abs, 'rancher.gate.connectTo', `'${connectTo}' is not host:port`, "give the address of Rancher's load balancer, e.g. 10.0.0.5:443, or leave it out to resolve the hostname");
  }
  const gate = { connectTo, timeoutSeconds: v.optionalSeconds(g.timeoutSeconds, 'rancher.gate.timeoutSeconds') };
  const agentWaitSeconds = v.optionalSeconds(r.agentWaitSeconds, 'rancher.agentWaitSeconds');
  const hostname = v.checked(v.string(r.hostname, 'rancher.hostname'), 'rancher.hostname', rancherHostname);
  const renewText = v.optionalString(r.renewBefore, 'rancher.renewBefore') ?? DEFAULTS.renewBefore;
  let renewBefore: number;
  try {
    renewBefore = parseDuration(renewText);
  } catch {
    throw new ConfigError(abs, 'rancher.renewBefore', `'${renewText}' is not a duration`, "write a number and a unit, e.g. '30d', '2w' or '12h'");
  }

  const c = v.object(r.certificate, 'rancher.certificate', ['certFile', 'keyFile', 'caFile', 'allowWeak']);
  const certFile = v.existingFile(c.certFile, 'rancher.certificate.certFile');
  const keyFile = v.existingFile(c.keyFile, 'rancher.certificate.keyFile');
  const caFile = c.caFile === undefined ? undefined : v.existingFile(c.caFile, 'rancher.certificate.caFile');
  const privateCa = v.optionalBoolean(r.privateCa, 'rancher.privateCa') ?? defaultPrivateCa(caFile !== undefined);
  if (privateCa && !caFile) {
    throw new ConfigError(abs, 'rancher.privateCa', 'is true but rancher.certificate.caFile is not set', 'set caFile to the cacerts.pem of the private CA (intermediate(s), then root), or set privateCa: false for a public CA');
  }
  let certificate: ServerCertificate;
  try {
    certificate = loadServerCertificate({
      certFile,
      keyFile,
      caFile,
      hostname,
      now: options.now,
      renewBefore,
      allowWeak: v.optionalBoolean(c.allowWeak, 'rancher.certificate.allowWeak') ?? false,
    });
  } catch (e) {
    if (e instanceof CertificateInputError) {
      throw new ConfigError(abs, `rancher.certificate.${fieldOfFile(e.file, { certFile, keyFile, caFile })}`, `${e.file}: ${e.problem}`, e.fix);
    }
    throw e;
  }

  let release: ResolvedRelease | undefined;
  if (r.release !== undefined) {
    const rel = v.object(r.release, 'rancher.release', ['mode', 'name', 'namespace', 'chart', 'repository', 'version', 'helmBinary']);
    const mode = v.oneOf(rel.mode, 'rancher.release.mode', ['managed', 'external']) as 'managed' | 'external';
    release = {
      mode,
      name: v.optionalString(rel.name, 'rancher.release.name') ?? DEFAULTS.releaseName,
      namespace: v.checked(v.optionalString(rel.namespace, 'rancher.release.namespace') ?? DEFAULTS.rancherNamespace, 'rancher.release.namespace', dnsLabel()),
      chart: v.string(rel.chart, 'rancher.release.chart'),
      repository: v.optionalString(rel.repository, 'rancher.release.repository'),
      version: v.string(v.notNumber(rel.version, 'rancher.release.version'), 'rancher.release.version'),
      helmBinary: v.optionalString(rel.helmBinary, 'rancher.release.helmBinary') ?? DEFAULTS.helmBinary,
    };
  }

  let restartWorkloads: WorkloadRef[] | undefined;
  if (r.restartWorkloads !== undefined) {
    if (!Array.isArray(r.restartWorkloads)) {
      throw new ConfigError(abs, 'rancher.restartWorkloads', 'must be a list', "write one 'Kind/namespace/name' per line, e.g. '- Deployment/cattle-system/cattle-cluster-agent'");
    }
    restartWorkloads = r.restartWorkloads.map((w: unknown, i: number) => parseWorkload(v, w, `rancher.restartWorkloads[${i}]`));
  }

  const downstream: ResolvedDownstream[] = [];
  if (root.downstream !== undefined) {
    if (!Array.isArray(root.downstream)) {
      throw new ConfigError(abs, 'downstream', 'must be a list of clusters', 'write each cluster as an item with name and kubeconfig');
    }
    const seen = new Set<string>();
    root.downstream.forEach((d: unknown, i: number) => {
      const f = `downstream[${i}]`;
      const o = v.object(d, f, ['name', 'kubeconfig', 'context', 'distribution', 'agents', 'clusterId', 'fleetCluster', 'group']);
      const name = v.checked(v.string(o.name, `${f}.name`), `${f}.name`, clusterName);
      if (seen.has(name)) {
        throw new ConfigError(abs, `${f}.name`, `'${name}' names another downstream cluster too`, 'give every downstream cluster its own name');
      }
      seen.add(name);
      if (name === 'server') {
        throw new ConfigError(abs, `${f}.name`, "'server' is the name of the Rancher server cluster in plans and logs", "use the cluster's name in Rancher");
      }
      if (o.distribution === undefined) {
        throw new ConfigError(abs, `${f}.distribution`, 'is missing', `say how the cluster was made, one of ${DISTRIBUTIONS.join(', ')}: it decides which Rancher agents run there`);
      }
      const distribution = v.oneOf(o.distribution, `${f}.distribution`, [...DISTRIBUTIONS]) as Distribution;
      const agents = (o.agents === undefined ? 'checksum' : v.oneOf(o.agents, `${f}.agents`, ['checksum', 'redeploy'])) as 'checksum' | 'redeploy';
      const clusterId = v.optionalString(o.clusterId, `${f}.clusterId`);
      if (agents === 'redeploy' && clusterId === undefined) {
        throw new ConfigError(
          abs,
          `${f}.clusterId`,
          "is missing: agents: redeploy asks Rancher to re-render this cluster's agents, which needs its id in Rancher",
          'set it from kubectl get clusters.management.cattle.io -o custom-columns=ID:.metadata.name,NAME:.spec.displayName on the Rancher server cluster',
        );
      }
      const fleetCluster = v.optionalString(o.fleetCluster, `${f}.fleetCluster`);
      if (fleetCluster !== undefined && !/^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/)?[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(fleetCluster)) {
        throw new ConfigError(
          abs,
          `${f}.fleetCluster`,
          `'${fleetCluster}' is not a Fleet cluster name (lowercase letters, digits, '-', '.'; 'workspace/name' for another workspace than fleet-default)`,
          'copy it from kubectl get clusters.fleet.cattle.io -n fleet-default on the Rancher server cluster',
        );
      }
      const group = o.group === undefined ? undefined : v.checked(v.string(v.notNumber(o.group, `${f}.group`), `${f}.group`), `${f}.group`, clusterName);
      downstream.push({
        name,
        ...(group !== undefined ? { group } : {}),
        kubeconfig: v.existingFile(o.kubeconfig, `${f}.kubeconfig`),
        context: v.optionalString(o.context, `${f}.context`),
        distribution,
        agents,
        ...(clusterId !== undefined ? { clusterId } : {}),
        ...(fleetCluster !== undefined ? { fleetCluster } : {}),
      });
    });
  }

  const kubeconfig = v.existingFile(r.kubeconfig, 'rancher.kubeconfig');
  const context = v.optionalString(r.context, 'rancher.context');
  const backend = loadBackend(v, root.backend, { kubeconfig, context });
  const fleet = loadFleet(v, root.fleet, downstream, backend);
  return {
    file: abs,
    backend,
    ...(fleet ? { fleet } : {}),
    ...nodeRotations,
    rancher: {
      name: 'rancher',
      kubeconfig,
      context,
      hostname,
      certificate,
      privateCa,
      renewBefore,
      release,
      restartWorkloads,
      rancherVersion: rancherVersion ?? release?.version,
      tls,
      ingressSecretName,
      gate,
      agentWaitSeconds,
    },
    downstream,
  };
}

/** `fleet:`: how the downstream clusters are split into stacks. */
function loadFleet(v: Validator, value: unknown, downstream: ResolvedDownstream[], backend: ResolvedBackend | undefined): RotationConfig['fleet'] {
  if (value === undefined) return undefined;
  const o = v.object(value, 'fleet', ['stacks']);
  const stacks = (o.stacks === undefined ? 'one' : v.oneOf(o.stacks, 'fleet.stacks', [...FLEET_STACKS])) as FleetStacks;
  if (stacks === 'groups') {
    const i = downstream.findIndex((d) => d.group === undefined);
    if (i >= 0) {
      throw new ConfigError(v.file, `downstream[${i}].group`, "is missing: with fleet.stacks 'groups' every downstream cluster names the stack it goes into",
        "give it a group (e.g. 'staging', 'prod-eu'), or use fleet.stacks 'per-cluster'");
    }
  }
  if (stacks !== 'one' && backend !== undefined && (backend.type === 's3' || backend.type === 'remote')) {
    throw new ConfigError(v.file, 'fleet.stacks', `'${stacks}' needs a state per stack, which the ${backend.type} backend's options here name only once`,
      "use backend type local, kubernetes or pg (each stack gets its own state there), or fleet.stacks 'one'");
  }
  return { stacks };
}

/** Rotation numbers: whole numbers ≥ 1, raised by the user to rotate again. */
function generation(v: Validator, value: unknown, field: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigError(v.file, field, value === undefined ? 'is missing' : `'${String(value)}' is not a whole number of at least 1`,
      'start at 1 and raise it by one for each new rotation (nothing else re-runs a rotation)');
  }
  return value;
}

function services(v: Validator, value: unknown, field: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new ConfigError(v.file, field, 'must be a list', "write one service per item, e.g. '- api-server', or leave it out to rotate all");
  return value.map((s, i) => v.string(s, `${field}[${i}]`));
}

/**
 * `nodes:` (name → SSH settings) and the rotations that run on them: `rke2:`,
 * `rke:` and `rancherContainer:`, each naming its machines from `nodes`.
 */
function loadNodeRotations(v: Validator, root: Record<string, any>): Pick<RotationConfig, 'rke2' | 'rke' | 'rancherContainer'> {
  const nodes = new Map<string, ResolvedNode>();
  if (root.nodes !== undefined) {
    const n = v.object(root.nodes, 'nodes', Object.keys(root.nodes && typeof root.nodes === 'object' ? root.nodes : {}));
    for (const [name, value] of Object.entries(n)) {
      const f = `nodes.${name}`;
      if (!/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/.test(name)) {
        throw new ConfigError(v.file, f, `'${name}' is not a node name (lowercase letters, digits, dots and dashes)`, 'use the Kubernetes node name as the key');
      }
      const o = v.object(value, f, ['address', 'port', 'user', 'privateKeyFile', 'agent', 'hostKey', 'dataDir', 'kubeconfigPath', 'apiAddress']);
      const port = o.port === undefined ? undefined : Number(o.port);
      if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) {
        throw new ConfigError(v.file, `${f}.port`, `'${String(o.port)}' is not a port`, 'write the SSH port, e.g. 22');
      }
      const agent = v.optionalBoolean(o.agent, `${f}.agent`);
      if (o.privateKeyFile === undefined && agent !== true) {
        throw new ConfigError(v.file, `${f}.privateKeyFile`, 'is missing and agent is not true', 'give the path of the SSH key file (it is read at apply, never stored), or agent: true to use the running ssh-agent');
      }
      nodes.set(name, {
        name,
        host: v.string(o.address, `${f}.address`),
        ...(port !== undefined ? { port } : {}),
        ...(o.user !== undefined ? { user: v.string(o.user, `${f}.user`) } : {}),
        ...(o.privateKeyFile !== undefined ? { privateKeyPath: v.existingFile(o.privateKeyFile, `${f}.privateKeyFile`) } : {}),
        ...(agent !== undefined ? { agent } : {}),
        ...(o.hostKey !== undefined ? { hostKey: v.string(o.hostKey, `${f}.hostKey`) } : {}),
        ...(o.dataDir !== undefined ? { dataDir: v.string(o.dataDir, `${f}.dataDir`) } : {}),
        ...(o.kubeconfigPath !== undefined ? { kubeconfigPath: v.string(o.kubeconfigPath, `${f}.kubeconfigPath`) } : {}),
        ...(o.apiAddress !== undefined ? { apiAddress: v.string(o.apiAddress, `${f}.apiAddress`) } : {}),
      });
    }
  }
  const node = (value: unknown, field: string): ResolvedNode => {
    const name = v.string(value, field);
    const found = nodes.get(name);
    if (!found) {
      throw new ConfigError(v.file, field, `'${name}' is not in nodes`, nodes.size ? `use one of ${[...nodes.keys()].join(', ')}, or add it under nodes` : 'add a nodes section with its address and SSH settings');
    }
    return found;
  };
  const nodeList = (value: unknown, field: string): ResolvedNode[] => {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw new ConfigError(v.file, field, 'must be a list of node names', "write one name from nodes per item, e.g. '- cp-1'");
    return value.map((x, i) => node(x, `${field}[${i}]`));
  };

  const out: { rke2?: ResolvedRke2; rke?: ResolvedRke; rancherContainer?: ResolvedRancherContainer } = {};
  if (root.rke2 !== undefined) {
    const o = v.object(root.rke2, 'rke2', ['servers', 'agents', 'generation', 'services', 'mode', 'dataDir', 'kubeconfigPath', 'readinessTimeoutSeconds', 'apiServingCheck', 'apiAddress']);
    const servers = nodeList(o.servers, 'rke2.servers');
    if (servers.length === 0) throw new ConfigError(v.file, 'rke2.servers', 'is missing or empty', 'list the server nodes (from nodes), in the order they rotate');
    out.rke2 = {
      servers,
      agents: nodeList(o.agents, 'rke2.agents'),
      generation: generation(v, o.generation, 'rke2.generation'),
      services: services(v, o.services, 'rke2.services'),
      mode: (o.mode === undefined ? 'rotate' : v.oneOf(o.mode, 'rke2.mode', ['rotate', 'expired'])) as 'rotate' | 'expired',
      ...(o.dataDir !== undefined ? { dataDir: v.string(o.dataDir, 'rke2.dataDir') } : {}),
      ...(o.kubeconfigPath !== undefined ? { kubeconfigPath: v.string(o.kubeconfigPath, 'rke2.kubeconfigPath') } : {}),
      ...(o.readinessTimeoutSeconds !== undefined ? { readinessTimeoutSeconds: v.optionalSeconds(o.readinessTimeoutSeconds, 'rke2.readinessTimeoutSeconds') } : {}),
      ...(o.apiServingCheck !== undefined ? { apiServingCheck: v.optionalBoolean(o.apiServingCheck, 'rke2.apiServingCheck') } : {}),
      ...(o.apiAddress !== undefined ? { apiAddress: v.string(o.apiAddress, 'rke2.apiAddress') } : {}),
    };
  }
  if (root.rke !== undefined) {
    const o = v.object(root.rke, 'rke', ['host', 'clusterConfigPath', 'generation', 'services', 'rotateCA', 'upFirst', 'rkeCommand', 'cluster']);
    let cluster: ResolvedCluster | undefined;
    if (o.cluster !== undefined) {
      const c = v.object(o.cluster, 'rke.cluster', ['kubeconfig', 'context']);
      cluster = { name: 'rke', kubeconfig: v.existingFile(c.kubeconfig, 'rke.cluster.kubeconfig'), context: v.optionalString(c.context, 'rke.cluster.context') };
    }
    out.rke = {
      host: node(o.host, 'rke.host'),
      clusterConfigPath: v.string(o.clusterConfigPath, 'rke.clusterConfigPath'),
      generation: generation(v, o.generation, 'rke.generation'),
      services: services(v, o.services, 'rke.services'),
      rotateCA: v.optionalBoolean(o.rotateCA, 'rke.rotateCA') ?? false,
      upFirst: v.optionalBoolean(o.upFirst, 'rke.upFirst') ?? false,
      ...(o.rkeCommand !== undefined ? { rkeCommand: v.string(o.rkeCommand, 'rke.rkeCommand') } : {}),
      ...(cluster ? { cluster } : {}),
    };
  }
  if (root.rancherContainer !== undefined) {
    const o = v.object(root.rancherContainer, 'rancherContainer', ['host', 'container', 'rancherVersion', 'generation', 'servedEndpoint', 'minValidDays']);
    out.rancherContainer = {
      host: node(o.host, 'rancherContainer.host'),
      container: v.string(o.container, 'rancherContainer.container'),
      rancherVersion: v.string(v.notNumber(o.rancherVersion, 'rancherContainer.rancherVersion'), 'rancherContainer.rancherVersion'),
      generation: generation(v, o.generation, 'rancherContainer.generation'),
      ...(o.servedEndpoint !== undefined ? { servedEndpoint: v.string(o.servedEndpoint, 'rancherContainer.servedEndpoint') } : {}),
      ...(o.minValidDays !== undefined ? { minValidDays: Number(v.string(o.minValidDays, 'rancherContainer.minValidDays')) } : {}),
    };
  }
  return out;
}

function fieldOfFile(file: string, files: Record<string, string | undefined>): string {
  for (const [field, f] of Object.entries(files)) {
    if (f && path.resolve(f) === path.resolve(file)) return field;
  }
  return 'certFile';
}

function parseWorkload(v: Validator, w: unknown, field: string): WorkloadRef {
  const text = v.string(w, field);
  const parsed = parseWorkloadRef(text);
  if ('problem' in parsed) {
    throw new ConfigError(v.file, field, `'${text}' ${parsed.problem}`, parsed.fix);
  }
  return parsed;
}

/** Field checks that throw ConfigError with the field's dotted path. */
export class Validator {
  constructor(readonly file: string) {}

  object(value: unknown, field: string, allowed: string[]): Record<string, any> {
    const where = field || '(top level)';
    if (value === undefined || value === null) {
      throw new ConfigError(this.file, where, 'is missing', `add the ${field || 'rancher'} section (see README, "Configuration")`);
    }
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ConfigError(this.file, where, 'must be a mapping of keys to values', `write it as 'key: value' lines; allowed keys: ${allowed.join(', ')}`);
    }
    for (const key of Object.keys(value)) {
      if (!allowed.includes(key)) {
        const near = allowed.find((a) => a.toLowerCase() === key.toLowerCase() || a.startsWith(key.slice(0, 4)));
        throw new ConfigError(this.file, field ? `${field}.${key}` : key, 'is not a known key', near ? `did you mean '${near}'?` : `use one of: ${allowed.join(', ')}`);
      }
    }
    return value as Record<string, any>;
  }

  string(value: unknown, field: string): string {
    if (value === undefined || value === null || value === '') {
      throw new ConfigError(this.file, field, 'is missing', 'set it (see README, "Configuration")');
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new ConfigError(this.file, field, `must be text, not ${Array.isArray(value) ? 'a list' : typeof value}`, 'write a single value');
    }
    return String(value);
  }

  /** `value` when it keeps `rule` (the rule the constructs apply too), else a ConfigError quoting it. */
  checked(value: string, field: string, rule: Rule): string {
    const violation = rule(value);
    if (violation) {
      throw new ConfigError(this.file, field, `'${value}' ${violation.problem}`, violation.fix);
    }
    return value;
  }

  optionalString(value: unknown, field: string): string | undefined {
    return value === undefined || value === null ? undefined : this.string(value, field);
  }

  optionalBoolean(value: unknown, field: string): boolean | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'boolean') {
      throw new ConfigError(this.file, field, `must be true or false, not '${String(value)}'`, 'write true or false without quotes');
    }
    return value;
  }

  /** A version must be YAML text: unquoted, 2.10 is the number 2.1 and 2.8 a Helm range. */
  notNumber(value: unknown, field: string): unknown {
    if (typeof value === 'number') {
      throw new ConfigError(
        this.file,
        field,
        `'${String(value)}' is a number in YAML, not a version (2.10 unquoted reads as 2.1)`,
        `quote the full version, e.g. ${field.split('.').pop()}: '2.10.1'`,
      );
    }
    return value;
  }

  optionalSeconds(value: unknown, field: string): number | undefined {
    if (value === undefined || value === null) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 86_400) {
      throw new ConfigError(this.file, field, `'${String(value)}' is not a whole number of seconds from 1 to 86400`, 'write a number of seconds, e.g. 600');
    }
    return value;
  }

  oneOf(value: unknown, field: string, choices: string[]): string {
    const s = this.string(value, field);
    if (!choices.includes(s)) {
      throw new ConfigError(this.file, field, `'${s}' is not one of ${choices.join(', ')}`, `choose ${choices.join(' or ')}`);
    }
    return s;
  }

  existingFile(value: unknown, field: string): string {
    const raw = this.string(value, field);
    const expanded = raw.startsWith('~/') ? path.join(os.homedir(), raw.slice(2)) : raw;
    const abs = path.resolve(path.dirname(this.file), expanded);
    if (!fs.existsSync(abs) || !fs.statSync(abs).isFile()) {
      throw new ConfigError(this.file, field, `file ${abs} does not exist`, 'correct the path (relative paths start at the configuration file\'s directory)');
    }
    return abs;
  }
}
