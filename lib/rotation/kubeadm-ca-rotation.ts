import * as fs from 'fs';
import * as path from 'path';
import { App, DataResource, Fn, ITerraformDependable, SSHProvisionerConnection } from 'cdktf';
import { Construct } from 'constructs';
import { fieldManagerFor, sha256Hex, trustAnnotations } from '../contract';
import { CertificateInfo, parseCertificate, parseCertificates } from '../pki/certificate';
import { isIssuedBy } from '../pki/chain';
import { KUBEADM_CA_PHASES, KubeadmCaPhase, StepTarget } from '../steps/spec';
import { ClusterStep, StepBaseProps } from './cluster-step';
import { RotationPropError, shellQuote, terraformLiteral } from './common';
import { KUBEADM_CA_DONE, KUBEADM_KUBECONFIGS, KUBEADM_SERVER_LEAVES, kubeadmNodeScript } from './kubeadm-node-script';

export type { KubeadmCaPhase } from '../steps/spec';

/** A kubeadm control-plane node, reached over SSH. */
export interface KubeadmNode {
  /** The node's name (kubeadm's `nodeRegistration.name`): its kubelet certificate is `kubelet-<name>.crt` in `newPkiDir`. */
  readonly name: string;
  /** Host name or address sshd listens on. */
  readonly host: string;
  /**
   * sshd's port.
   * @default 22
   */
  readonly port?: number;
  /**
   * The user (root, or one that may write the certificate directory and run crictl).
   * @default 'root'
   */
  readonly user?: string;
  /** Absolute path of the SSH private key; Terraform reads it at apply (`file()`), it is never in the plan or state. */
  readonly privateKeyFile: string;
  /**
   * The node's SSH host public key (`ssh-ed25519 AAAA…`), checked on connect.
   * @default - not checked (Terraform's default)
   */
  readonly hostKey?: string;
  /**
   * This node's certificate directory, where it differs from the rest.
   * @default - the construct's `certDir`
   */
  readonly certDir?: string;
  /**
   * This node's directory of kubeconfig files and `manifests/`, where it differs from the rest.
   * @default - the construct's `kubernetesDir`
   */
  readonly kubernetesDir?: string;
}

/** Properties of {@link KubeadmCaRotation}. */
export interface KubeadmCaRotationProps extends StepBaseProps {
  /**
   * The phase to apply. Phases run in order, each as its own reviewed plan:
   * `trust-both` (old and new CA trusted everywhere), `switch` (the API
   * server's and every kubeconfig's certificates issued by the new CA),
   * `drop-old` (only the new CA). A phase that would skip one or go back is
   * refused at apply, before anything is written (see the README).
   */
  readonly phase: KubeadmCaPhase;
  /** Absolute path of the cluster's current CA certificate (a copy of a control-plane node's `ca.crt` before the rotation). */
  readonly oldCaFile: string;
  /**
   * Absolute path of the directory written by `cert-rotation pki`, outside
   * `cdktf.out`: `ca.crt`, `ca.key` (the new CA), and for `switch` and
   * `drop-old` `apiserver`, `apiserver-kubelet-client`, `admin`,
   * `super-admin`, `controller-manager`, `scheduler` and `kubelet-<node>`
   * (`.crt` and `.key`, keys mode 0600), all issued by the new CA.
   */
  readonly newPkiDir: string;
  /** The control-plane nodes, rotated one after the other. */
  readonly nodes: KubeadmNode[];
  /**
   * Nodes that run only the kubelet, done after the control plane, one after
   * the other: the kubelet's `clientCAFile` (`<certDir>/ca.crt`) and
   * `kubelet.conf` trust the CAs of the phase; from `switch` on the kubelet's
   * client certificate is `kubelet-<name>` of `newPkiDir`. They get no CA key.
   * @default []
   */
  readonly workers?: KubeadmNode[];
  /**
   * Rotate the front-proxy CA too (kubeadm's `front-proxy-ca`: the API
   * server's `--requestheader-client-ca-file`, which signs
   * `front-proxy-client`), in the same phases: `oldCaFile` a copy of the nodes'
   * `front-proxy-ca.crt`; `newPkiDir` written by `cert-rotation pki ca` (its own
   * CA, not the cluster's), with `front-proxy-client.crt`/`.key` issued there
   * for `switch` and `drop-old`.
   * @default - the front-proxy CA is left as it is
   */
  readonly frontProxy?: { readonly oldCaFile: string; readonly newPkiDir: string };
  /**
   * kubeadm's certificate directory on the nodes (`certificatesDir`, `--cert-dir`).
   * @default '/etc/kubernetes/pki'
   */
  readonly certDir?: string;
  /**
   * kubeadm's directory of kubeconfig files and `manifests/` on the nodes.
   * @default '/etc/kubernetes'
   */
  readonly kubernetesDir?: string;
  /**
   * Roll StatefulSets too (the document leaves them to the operator).
   * @default false
   */
  readonly includeStatefulSets?: boolean;
  /**
   * Seconds to wait for each static Pod, for `kube-root-ca.crt` and for each rollout.
   * @default 300
   */
  readonly waitSeconds?: number;
}

const WHAT = 'KubeadmCaRotation';

function absolute(prop: string, value: string | undefined, fix: string): string {
  if (typeof value !== 'string' || !path.isAbsolute(value)) throw new RotationPropError(WHAT, prop, value, 'is not an absolute path', fix);
  return path.normalize(value);
}

function readFile(prop: string, file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new RotationPropError(WHAT, prop, file, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'write it with cert-rotation pki, or fix the path');
  }
}

/** A key file must be private to its owner: mode 0600 (or stricter). */
function readKey(prop: string, file: string): Buffer {
  const bytes = readFile(prop, file);
  const mode = fs.statSync(file).mode & 0o777;
  if (mode & 0o077) {
    throw new RotationPropError(WHAT, prop, file, `is readable by others (mode ${mode.toString(8).padStart(4, '0')})`, `run chmod 600 ${shellQuote(file)}`);
  }
  return bytes;
}

/** Terraform's SSH connection to a node; the key is read by Terraform at apply (`file()`). */
function sshConnection(n: KubeadmNode): SSHProvisionerConnection {
  return {
    type: 'ssh',
    host: n.host,
    port: n.port ?? 22,
    user: n.user ?? 'root',
    privateKey: Fn.file(n.privateKeyFile),
    ...(n.hostKey ? { hostKey: n.hostKey } : {}),
  };
}

/** An old CA (a copy of the nodes' file) and the new one `cert-rotation pki ca` wrote into a directory outside cdktf.out. */
function loadCas(outdir: string, oldProp: string, oldFile: string | undefined, dirProp: string, dir: string | undefined): { oldCa: CertificateInfo; newCa: CertificateInfo; pkiDir: string } {
  const oldPath = absolute(oldProp, oldFile, "copy a control-plane node's CA certificate and give its absolute path");
  const oldCa = parseCertificate(readFile(oldProp, oldPath), oldPath, path.basename(oldPath));
  const pkiDir = absolute(dirProp, dir, 'give the absolute path of the directory cert-rotation pki wrote');
  if (pkiDir === outdir || pkiDir.startsWith(outdir + path.sep)) {
    throw new RotationPropError(WHAT, dirProp, pkiDir, `is inside the synth output ${outdir}, which is not a place for keys`, 'keep the new PKI directory outside cdktf.out');
  }
  const caFile = path.join(pkiDir, 'ca.crt');
  const newCas = parseCertificates(readFile(dirProp, caFile), caFile, 'ca.crt');
  if (newCas.length !== 1 || !newCas[0].isCA) {
    throw new RotationPropError(WHAT, dirProp, caFile, 'does not hold exactly one CA certificate', `write the new CA with cert-rotation pki ca --out <${dirProp}>`);
  }
  const newCa = newCas[0];
  if (newCa.sha256Fingerprint === oldCa.sha256Fingerprint) {
    throw new RotationPropError(WHAT, dirProp, caFile, `holds the same CA as ${oldProp}`, `issue a new CA with cert-rotation pki ca, or give the CA the cluster has now as ${oldProp}`);
  }
  return { oldCa, newCa, pkiDir };
}

/** A file of `dir` to upload as `as`: keys private to their owner, certificates other than the CA issued by it. */
function uploadFile(prop: string, dir: string, ca: CertificateInfo, name: string, as: string): { name: string; file: string; sha256: string } {
  const file = path.join(dir, name);
  const bytes = name.endsWith('.key') ? readKey(prop, file) : readFile(prop, file);
  if (name.endsWith('.crt') && name !== 'ca.crt') {
    const leaf: CertificateInfo = parseCertificates(bytes, file, name)[0];
    if (!isIssuedBy(leaf, ca)) {
      throw new RotationPropError(WHAT, prop, file, `is not issued by the new CA (${ca.subject})`, `issue it with cert-rotation pki leaf --ca-dir ${shellQuote(dir)}`);
    }
  }
  return { name: as, file, sha256: sha256Hex(bytes) };
}

/**
 * The manual CA rotation of a kubeadm cluster, one phase per plan:
 *
 * - `trust-both`: the new CA is copied to every control-plane node;
 *   `ca.crt` (the API server's `--client-ca-file`, the controller manager's
 *   `--root-ca-file`, the kubelet's `clientCAFile`) and every kubeconfig's
 *   `certificate-authority-data` hold old + new; the controller manager signs
 *   with the new CA from its own copy (its `--client-ca-file` and
 *   `--cluster-signing-cert-file` must not be bundles); static Pods
 *   restarted; the step waits until every `kube-root-ca.crt` holds both, adds
 *   the new CA to every webhook, APIService and CRD conversion `caBundle` that
 *   trusts the old one, then rolls every Deployment and DaemonSet (webhook and
 *   aggregated API servers in the cluster among them).
 * - `switch`: `apiserver`, `apiserver-kubelet-client` and every kubeconfig's
 *   client certificate issued by the new CA; restarts; `kube-public/cluster-info`
 *   holds both CAs; every workload rolled.
 * - `drop-old`: `ca.crt`/`ca.key` are the new CA alone, kubeconfigs trust it
 *   alone, `cluster-info` too; restarts; the old CA taken out of
 *   `extension-apiserver-authentication` (the API server only adds to it);
 *   rolls.
 *
 * Workers (`workers`) follow the control plane in each phase: the kubelet's
 * `clientCAFile` and `kubelet.conf`, and from `switch` on its client
 * certificate (into the kubelet's certificate store when `kubelet.conf` names
 * `kubelet-client-current.pem`).
 *
 * Each apply first runs a gate that reads the phase the cluster finished
 * (ConfigMap `kube-system/cert-rotation-kubeadm-ca`, written by the last step
 * of each phase) and refuses a phase that skips one or goes back, before
 * anything is written.
 *
 * Keys go from `newPkiDir` to the nodes by Terraform's file provisioner at
 * apply; the plan and the state hold only their SHA-256.
 *
 * With `frontProxy`, the front-proxy CA moves in the same phases.
 *
 * @see https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/
 * @see https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/
 */
export class KubeadmCaRotation extends Construct {
  /** The phase. */
  public readonly phase: KubeadmCaPhase;
  /** The phase after this one, or undefined after `drop-old`. */
  public readonly nextPhase: KubeadmCaPhase | undefined;
  /** SHA-256 fingerprint of the new CA. */
  public readonly newCaSha256: string;
  /** SHA-256 fingerprint of the old CA. */
  public readonly oldCaSha256: string;
  /** The gate step (runs first). */
  public readonly gate: ClusterStep;
  /** One `terraform_data` per node, in order. */
  public readonly nodeSteps: DataResource[] = [];
  /** The last step (records the phase); depend on it to run after the whole phase. */
  public readonly record: ClusterStep;
  /** Per node, the files written on it. */
  public readonly nodeFiles: Record<string, string[]> = {};

  constructor(scope: Construct, id: string, props: KubeadmCaRotationProps) {
    super(scope, id);
    if (!KUBEADM_CA_PHASES.includes(props.phase)) {
      throw new RotationPropError(WHAT, 'phase', props.phase, `is not one of ${KUBEADM_CA_PHASES.join(', ')}`, "start with 'trust-both', then 'switch', then 'drop-old'");
    }
    this.phase = props.phase;
    this.nextPhase = KUBEADM_CA_PHASES[KUBEADM_CA_PHASES.indexOf(props.phase) + 1];
    const waitSeconds = props.waitSeconds ?? 300;
    if (!Number.isInteger(waitSeconds) || waitSeconds < 1) {
      throw new RotationPropError(WHAT, 'waitSeconds', waitSeconds, 'is not a whole number of seconds ≥ 1', 'give how long a restart or rollout may take');
    }
    const defaultCertDir = absolute('certDir', props.certDir ?? '/etc/kubernetes/pki', "give kubeadm's certificatesDir on the nodes");
    const defaultKubernetesDir = absolute('kubernetesDir', props.kubernetesDir ?? '/etc/kubernetes', 'give the directory of admin.conf and manifests/ on the nodes');

    const outdir = path.resolve(App.of(this).outdir);
    const { oldCa, newCa, pkiDir } = loadCas(outdir, 'oldCaFile', props.oldCaFile, 'newPkiDir', props.newPkiDir);
    const fp = props.frontProxy === undefined ? undefined : loadCas(outdir, 'frontProxy.oldCaFile', props.frontProxy?.oldCaFile, 'frontProxy.newPkiDir', props.frontProxy?.newPkiDir);
    if (fp && [oldCa.sha256Fingerprint, newCa.sha256Fingerprint].includes(fp.newCa.sha256Fingerprint)) {
      throw new RotationPropError(WHAT, 'frontProxy.newPkiDir', path.join(fp.pkiDir, 'ca.crt'), 'holds the cluster CA', 'give the front-proxy CA one of its own (cert-rotation pki ca --out <dir> --cn front-proxy-ca), as kubeadm does');
    }
    this.newCaSha256 = newCa.sha256Fingerprint;
    this.oldCaSha256 = oldCa.sha256Fingerprint;

    if (!Array.isArray(props.nodes) || props.nodes.length === 0) {
      throw new RotationPropError(WHAT, 'nodes', props.nodes, 'is empty', 'list every control-plane node (name, host, privateKeyFile)');
    }
    if (props.workers !== undefined && !Array.isArray(props.workers)) {
      throw new RotationPropError(WHAT, 'workers', props.workers, 'is not a list', 'list the worker nodes (name, host, privateKeyFile), or leave it out');
    }
    const all = [
      ...props.nodes.map((n, i) => ({ n, prop: `nodes[${i}]`, role: 'control-plane' as const })),
      ...(props.workers ?? []).map((n, i) => ({ n, prop: `workers[${i}]`, role: 'worker' as const })),
    ];
    const names = new Set<string>();
    for (const { n, prop } of all) {
      if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(n.name ?? '')) {
        throw new RotationPropError(WHAT, `${prop}.name`, n.name, 'is not a node name', "give the node's name as kubeadm registered it (lowercase letters, digits, '-', '.')");
      }
      if (names.has(n.name)) throw new RotationPropError(WHAT, `${prop}.name`, n.name, 'is listed twice', 'list each node once, in nodes or in workers');
      names.add(n.name);
      absolute(`${prop}.privateKeyFile`, n.privateKeyFile, 'give the absolute path of the SSH private key');
      if (!n.host) throw new RotationPropError(WHAT, `${prop}.host`, n.host, 'is empty', "give the node's address");
    }

    // The files each node receives, by name in newPkiDir, with their SHA-256 (the plan shows digests only).
    const upload = (node: string, role: 'control-plane' | 'worker'): { name: string; file: string; sha256: string }[] => {
      if (role === 'worker') {
        // The kubelet's client certificate from switch on; ca.crt is written from the public PEM in the script.
        return props.phase === 'trust-both' ? [] : [`kubelet-${node}.crt`, `kubelet-${node}.key`].map((name) => uploadFile('newPkiDir', pkiDir, newCa, name, name));
      }
      const wanted = ['ca.crt', 'ca.key'];
      if (props.phase !== 'trust-both') {
        for (const leaf of [...KUBEADM_SERVER_LEAVES, ...KUBEADM_KUBECONFIGS.map((k) => k.leaf(node))]) wanted.push(`${leaf}.crt`, `${leaf}.key`);
      }
      const files = wanted.map((name) => uploadFile('newPkiDir', pkiDir, newCa, name, name));
      if (fp) {
        files.push(uploadFile('frontProxy.newPkiDir', fp.pkiDir, fp.newCa, 'ca.crt', 'front-proxy-ca.crt'), uploadFile('frontProxy.newPkiDir', fp.pkiDir, fp.newCa, 'ca.key', 'front-proxy-ca.key'));
        if (props.phase !== 'trust-both') {
          files.push(
            uploadFile('frontProxy.newPkiDir', fp.pkiDir, fp.newCa, 'front-proxy-client.crt', 'front-proxy-client.crt'),
            uploadFile('frontProxy.newPkiDir', fp.pkiDir, fp.newCa, 'front-proxy-client.key', 'front-proxy-client.key'),
          );
        }
      }
      return files;
    };

    const bothPem = oldCa.pem + newCa.pem;
    const target: StepTarget = props.target;
    const trusted = props.phase === 'drop-old' ? [newCa.sha256Fingerprint] : [oldCa.sha256Fingerprint, newCa.sha256Fingerprint];
    const common = { phase: props.phase, caSha256: newCa.sha256Fingerprint };

    this.gate = new ClusterStep(this, 'Gate', {
      target,
      dependsOn: props.dependsOn,
      spec: { step: 'kubeadm-phase', mode: 'check', ...common, fieldManager: fieldManagerFor(this.node.path, 'kubeadm-phase') },
    });

    let previous: ITerraformDependable = this.gate.resource;
    const marks: { n: KubeadmNode; step: DataResource; kubernetesDir: string }[] = [];
    for (const { n, role, prop } of all) {
      const files = upload(n.name, role);
      const certDir = n.certDir === undefined ? defaultCertDir : absolute(`${prop}.certDir`, n.certDir, "give kubeadm's certificatesDir on this node");
      const kubernetesDir = n.kubernetesDir === undefined ? defaultKubernetesDir : absolute(`${prop}.kubernetesDir`, n.kubernetesDir, 'give the directory of kubelet.conf on this node');
      const staging = path.posix.join(kubernetesDir, 'tmp', 'cert-rotation');
      const script = kubeadmNodeScript({
        phase: props.phase, node: n.name, role, staging, certDir, kubernetesDir, bothPem, newPem: newCa.pem, waitSeconds,
        ...(fp && role === 'control-plane' ? { frontProxy: { bothPem: fp.oldCa.pem + fp.newCa.pem, newPem: fp.newCa.pem } } : {}),
      });
      this.nodeFiles[n.name] = role === 'worker' ? [path.posix.join(certDir, 'ca.crt'), path.posix.join(kubernetesDir, 'kubelet.conf')] : [
        ...(props.phase === 'drop-old' ? ['ca.crt', 'ca.key'] : ['ca.crt', 'ca-new.crt', 'ca-new.key']).map((f) => path.posix.join(certDir, f)),
        ...(props.phase !== 'trust-both' ? KUBEADM_SERVER_LEAVES.flatMap((l) => [`${l}.crt`, `${l}.key`]).map((f) => path.posix.join(certDir, f)) : []),
        ...(fp ? (props.phase === 'drop-old' ? ['front-proxy-ca.crt', 'front-proxy-ca.key'] : ['front-proxy-ca.crt', 'front-proxy-ca-new.crt', 'front-proxy-ca-new.key']).map((f) => path.posix.join(certDir, f)) : []),
        ...(fp && props.phase !== 'trust-both' ? ['front-proxy-client.crt', 'front-proxy-client.key'].map((f) => path.posix.join(certDir, f)) : []),
        ...KUBEADM_KUBECONFIGS.map((k) => path.posix.join(kubernetesDir, k.file)),
        path.posix.join(kubernetesDir, 'manifests', 'kube-controller-manager.yaml'),
      ];
      const step = new DataResource(this, `Node-${n.name}`, {
        dependsOn: [previous],
        triggersReplace: {
          step: 'kubeadm-node',
          cluster: target.cluster,
          node: n.name,
          phase: props.phase,
          next: this.nextPhase ?? '',
          caSha256: trusted.join(','),
          files: Object.fromEntries(files.map((f) => [f.name, f.sha256])),
          writes: this.nodeFiles[n.name].map(terraformLiteral),
          restarts: role === 'worker' ? ['kubelet'] : ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kubelet'],
          scriptSha256: sha256Hex(script),
        },
        connection: sshConnection(n),
        provisioners: [
          { type: 'remote-exec', inline: [terraformLiteral(`rm -rf ${shellQuote(staging)} && mkdir -p ${shellQuote(staging)} && chmod 700 ${shellQuote(staging)}`)] },
          ...files.map((f) => ({ type: 'file' as const, source: terraformLiteral(f.file), destination: terraformLiteral(path.posix.join(staging, f.name)) })),
          { type: 'file' as const, content: terraformLiteral(script), destination: terraformLiteral(path.posix.join(staging, 'run.sh')) },
          // The mark is filled in by Terraform at apply: the digest of this step's triggers.
          { type: 'remote-exec', inline: [`${terraformLiteral(`bash ${shellQuote(path.posix.join(staging, 'run.sh'))}`)} '\${sha256(jsonencode(self.triggers_replace))}'`] },
        ],
      });
      this.nodeSteps.push(step);
      previous = step;
      marks.push({ n, step, kubernetesDir });
    }

    // Terraform can record a node step as done while its script still runs (its state is saved when another
    // resource changes): an apply stopped then would leave the phase half done on that node behind an empty plan.
    // Each node's check, created after every node step, finds the mark the script writes last, or fails the apply
    // with the command that runs the node's step again. Nothing after it (the record of the phase) runs before.
    const checks: ITerraformDependable[] = [];
    for (const m of marks) {
      const address = `terraform_data.${m.step.friendlyUniqueId}`;
      const done = path.posix.join(m.kubernetesDir, KUBEADM_CA_DONE);
      checks.push(new DataResource(this, `Check-${m.n.name}`, {
        dependsOn: [previous],
        triggersReplace: { step: 'kubeadm-node-check', cluster: target.cluster, node: m.n.name, phase: props.phase, of: m.step.id },
        connection: sshConnection(m.n),
        provisioners: [{
          type: 'remote-exec',
          inline: [
            `test "$(cat ${terraformLiteral(shellQuote(done))} 2>/dev/null)" = '\${sha256(jsonencode(${address}.triggers_replace))}' || ` +
              terraformLiteral(`{ echo ${shellQuote(`cert-rotation kubeadm [${m.n.name}]: FAILED: phase ${props.phase} did not finish on this node: Terraform recorded its step as done while it still ran, and the apply stopped. Run it again: terraform apply -replace=${address}`)} >&2; exit 1; }`),
            terraformLiteral(`echo ${shellQuote(`cert-rotation kubeadm [${m.n.name}]: phase ${props.phase} finished on this node`)}`),
          ],
        }],
      }));
    }

    const rootCa = new ClusterStep(this, 'RootCa', {
      target,
      dependsOn: checks,
      spec: { step: 'root-ca', caSha256: trusted, timeoutSeconds: waitSeconds },
    });
    previous = rootCa.resource;
    if (props.phase !== 'drop-old') {
      // Extension servers whose caBundle trusts the cluster CA (certificates from its signer) must trust the new CA
      // before they get certificates from it; drop-old leaves the old CA in those bundles (see the README).
      const bundles = new ClusterStep(this, 'CaBundles', {
        target,
        dependsOn: [previous],
        spec: { step: 'ca-bundles', oldCaSha256: oldCa.sha256Fingerprint, addPem: newCa.pem, fieldManager: fieldManagerFor(this.node.path, 'ca-bundles') },
      });
      previous = bundles.resource;
    }
    if (props.phase === 'drop-old') {
      // The API server merges what extension-apiserver-authentication held with its own CAs: take the old ones out.
      const prune = new ClusterStep(this, 'ExtensionAuth', {
        target,
        dependsOn: [previous],
        spec: {
          step: 'extension-auth-prune',
          removeSha256: [oldCa.sha256Fingerprint, ...(fp ? [fp.oldCa.sha256Fingerprint] : [])],
          fieldManager: fieldManagerFor(this.node.path, 'extension-auth'),
        },
      });
      previous = prune.resource;
    }
    if (props.phase !== 'trust-both') {
      const info = new ClusterStep(this, 'ClusterInfo', {
        target,
        dependsOn: [previous],
        spec: { step: 'cluster-info', caPem: props.phase === 'drop-old' ? newCa.pem : bothPem, fieldManager: fieldManagerFor(this.node.path, 'cluster-info') },
      });
      previous = info.resource;
    }
    const roll = new ClusterStep(this, 'Rollout', {
      target,
      dependsOn: [previous],
      spec: {
        step: 'restart-all',
        kinds: props.includeStatefulSets ? ['Deployment', 'DaemonSet', 'StatefulSet'] : ['Deployment', 'DaemonSet'],
        annotations: trustAnnotations(sha256Hex(`kubeadm-ca ${props.phase} ${trusted.join(',')}`)),
        fieldManager: fieldManagerFor(this.node.path, 'restart'),
        waitSeconds,
      },
    });
    this.record = new ClusterStep(this, 'Record', {
      target,
      dependsOn: [roll.resource],
      spec: { step: 'kubeadm-phase', mode: 'record', ...common, fieldManager: fieldManagerFor(this.node.path, 'kubeadm-phase') },
    });
  }
}
