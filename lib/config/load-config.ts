import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseDocument } from 'yaml';
import { CertificateInputError } from '../pki/errors';
import { loadServerCertificate, ServerCertificate } from '../pki/rancher-certificates';
import { parseDuration } from '../pki/validity';
import { Distribution, DISTRIBUTIONS, parseRancherVersion } from '../rancher-agents';
import { clusterName, DEFAULTS, dnsLabel, dnsSubdomain, defaultPrivateCa, parseWorkloadRef, rancherHostname, Rule, Workload } from '../rules';
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
}

export interface ResolvedRelease {
  readonly mode: 'managed' | 'external';
  readonly name: string;
  readonly namespace: string;
  readonly chart: string;
  readonly repository?: string;
  readonly version: string;
  readonly helmBinary: string;
}

/** The configuration after validation: absolute paths, certificates checked. */
export interface RotationConfig {
  readonly file: string;
  readonly rancher: ResolvedCluster & {
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
  const root = v.object(content, '', ['rancher', 'downstream']);

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
      const o = v.object(d, f, ['name', 'kubeconfig', 'context', 'distribution', 'agents', 'clusterId', 'fleetCluster']);
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
      downstream.push({
        name,
        kubeconfig: v.existingFile(o.kubeconfig, `${f}.kubeconfig`),
        context: v.optionalString(o.context, `${f}.context`),
        distribution,
        agents,
        ...(clusterId !== undefined ? { clusterId } : {}),
        ...(fleetCluster !== undefined ? { fleetCluster } : {}),
      });
    });
  }

  return {
    file: abs,
    rancher: {
      name: 'rancher',
      kubeconfig: v.existingFile(r.kubeconfig, 'rancher.kubeconfig'),
      context: v.optionalString(r.context, 'rancher.context'),
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
class Validator {
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
