import { ITerraformDependable, TerraformLocal, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { parseDuration } from '../pki/validity';
import { RotationPropError, shellQuote } from './common';
import { STATIC_POD_RESTART, STATIC_POD_UNHOLD } from './kubeadm-node-script';
import { checkNodeSsh, NodeCommand, NodeSsh, scriptPrelude } from './node-command';

export type { NodeSsh } from './node-command';

/** Where a certificate `kubeadm certs renew` knows lives, and the static Pod that must restart to load it. */
interface Renewable {
  /** `pki` (the certificate directory) or `conf` (the kubeconfig directory). */
  readonly dir: 'pki' | 'conf';
  /** The file, relative to that directory. */
  readonly file: string;
  /** The static Pod that reads it, if any. */
  readonly restarts?: 'etcd' | 'kube-apiserver' | 'kube-controller-manager' | 'kube-scheduler';
  /** Only on nodes with stacked etcd (kubeadm leaves these out when etcd is external). */
  readonly etcd?: boolean;
}

/**
 * The certificates `kubeadm certs renew` renews, by the name it takes
 * (cmd/kubeadm/app/phases/certs/renewal: the PKI certificates by base name,
 * etcd's with an `etcd-` prefix under `etcd/`, and the kubeconfig files by
 * file name).
 *
 * @see https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/#manual-certificate-renewal
 */
export const KUBEADM_RENEWABLE: Readonly<Record<string, Renewable>> = {
  'admin.conf': { dir: 'conf', file: 'admin.conf' },
  'super-admin.conf': { dir: 'conf', file: 'super-admin.conf' },
  'controller-manager.conf': { dir: 'conf', file: 'controller-manager.conf', restarts: 'kube-controller-manager' },
  'scheduler.conf': { dir: 'conf', file: 'scheduler.conf', restarts: 'kube-scheduler' },
  apiserver: { dir: 'pki', file: 'apiserver.crt', restarts: 'kube-apiserver' },
  'apiserver-kubelet-client': { dir: 'pki', file: 'apiserver-kubelet-client.crt', restarts: 'kube-apiserver' },
  'front-proxy-client': { dir: 'pki', file: 'front-proxy-client.crt', restarts: 'kube-apiserver' },
  'apiserver-etcd-client': { dir: 'pki', file: 'apiserver-etcd-client.crt', restarts: 'kube-apiserver', etcd: true },
  'etcd-server': { dir: 'pki', file: 'etcd/server.crt', restarts: 'etcd', etcd: true },
  'etcd-peer': { dir: 'pki', file: 'etcd/peer.crt', restarts: 'etcd', etcd: true },
  'etcd-healthcheck-client': { dir: 'pki', file: 'etcd/healthcheck-client.crt', etcd: true },
};

/** The order kubeadm's message names the components in, etcd first so the API server finds it serving. */
const RESTART_ORDER = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/** Name of the Terraform variable a plan can be run "as of" (what-if runs; tests). */
export const PLAN_TIME_VARIABLE = 'cert_rotation_now';

/** Properties of {@link KubeadmCertificateRenewal}. */
export interface KubeadmCertificateRenewalProps {
  /** The control-plane nodes, renewed one after the other in this order. */
  readonly nodes: NodeSsh[];
  /**
   * Renewal number: the certificates are renewed when the construct is first
   * applied and again when this number (or `certificates`) changes.
   */
  readonly generation: number;
  /**
   * What to renew: `all`, or names `kubeadm certs renew` takes (`apiserver`,
   * `admin.conf`, `etcd-server`, …; see {@link KUBEADM_RENEWABLE}).
   * @default ['all']
   */
  readonly certificates?: string[];
  /**
   * Renew again on schedule, so certificates never come within this window of
   * their expiry: a duration (`30d`, `8w`). The plan renews at its first run
   * in each new period of whole calendar months that fits between renewals
   * (`certificateValidity` minus this window, rounded down to months of 31
   * days), and plans nothing otherwise. A nightly `cdktf deploy` therefore
   * renews on the first night of each period.
   * @default - no schedule: only `generation` renews
   */
  readonly renewBefore?: string;
  /**
   * How long kubeadm's renewed certificates are valid (the cluster's
   * `certificateValidityPeriod`).
   * @default '365d'
   */
  readonly certificateValidity?: string;
  /**
   * kubeadm's certificate directory on the nodes (`--cert-dir`). kubeadm's
   * flag default overrides the cluster's `certificatesDir`, so a cluster with
   * another directory must say it here.
   * @default '/etc/kubernetes/pki'
   */
  readonly certDir?: string;
  /**
   * The directory of the kubeconfig files and `manifests/` on the nodes.
   * `kubeadm certs renew` itself always uses `/etc/kubernetes`.
   * @default '/etc/kubernetes'
   */
  readonly kubernetesDir?: string;
  /**
   * After the API server restarts, check that it serves the `apiserver.crt`
   * now on disk (`openssl s_client` on the node). Needs `openssl` on the nodes.
   * @default true
   */
  readonly apiServingCheck?: boolean;
  /**
   * Where the API server answers, seen from each node (`host:port`).
   * @default - `127.0.0.1` and the `--secure-port` of the node's kube-apiserver manifest
   */
  readonly apiAddress?: string;
  /**
   * Seconds to wait for each static Pod to stop, to run again, and for the API server to serve the new certificate.
   * @default 300
   */
  readonly waitSeconds?: number;
  /**
   * Resources the renewal runs after.
   * @default []
   */
  readonly dependsOn?: ITerraformDependable[];
}

/** One node's part of the renewal, in the order the apply runs it. */
export interface KubeadmRenewalNodePlan {
  readonly node: string;
  /** The commands, waits and checks, in order (what `explain` shows). */
  readonly commands: string[];
}

const WHAT = 'KubeadmCertificateRenewal';
const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `kubeadm certs renew` on each kubeadm control-plane node over SSH, one node
 * after the other, then the restarts kubeadm asks for, done the way its
 * documentation does them for static Pods: each manifest moves out of
 * `manifests/` until `crictl` no longer lists the container, then back until
 * it runs again.
 *
 * Each node's step reads its work back before the next node starts: every
 * certificate file it renewed has changed, each restarted static Pod runs a
 * new container, and the API server serves the `apiserver.crt` now on disk.
 *
 * Renewal runs on the first apply, when `generation` or `certificates`
 * change, and (with `renewBefore`) at the first plan of each renewal period.
 * The plan's time is `plantimestamp()`; the Terraform variable
 * `cert_rotation_now` (RFC 3339) plans as of another time, e.g.
 * `TF_VAR_cert_rotation_now=2027-10-01T00:00:00Z cdktf diff`.
 *
 * No key is uploaded: kubeadm signs with the CA key on the node.
 *
 * @see https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/#manual-certificate-renewal
 */
export class KubeadmCertificateRenewal extends Construct {
  /** The per-node steps, in apply order. */
  public readonly steps: NodeCommand[] = [];
  /** Per node, after every node step: finds that the node's renewal finished, or runs it again. */
  public readonly checks: NodeCommand[] = [];
  /** The commands per node, in apply order. */
  public readonly plan: KubeadmRenewalNodePlan[] = [];
  /** Months between scheduled renewals, or undefined without `renewBefore`. */
  public readonly periodMonths: number | undefined;

  constructor(scope: Construct, id: string, props: KubeadmCertificateRenewalProps) {
    super(scope, id);
    const nodes = props.nodes ?? [];
    if (!Array.isArray(nodes) || nodes.length === 0) throw new RotationPropError(WHAT, 'nodes', nodes, 'is empty', 'list every control-plane node');
    nodes.forEach((n, i) => checkNodeSsh(WHAT, `nodes[${i}]`, n));
    const names = new Set<string>();
    for (const n of nodes) {
      if (names.has(n.name)) throw new RotationPropError(WHAT, 'nodes', n.name, 'names a node twice', 'list each node once');
      names.add(n.name);
    }
    if (!Number.isInteger(props.generation) || props.generation < 1) {
      throw new RotationPropError(WHAT, 'generation', props.generation, 'is not a whole number of at least 1', 'start at 1 and raise it by one to renew again');
    }
    const certificates = props.certificates ?? ['all'];
    if (!Array.isArray(certificates) || certificates.length === 0) {
      throw new RotationPropError(WHAT, 'certificates', certificates, 'is empty', "leave it out to renew all, or name what kubeadm certs renew takes, e.g. ['apiserver']");
    }
    for (const c of certificates) {
      if (c !== 'all' && !(c in KUBEADM_RENEWABLE)) {
        throw new RotationPropError(WHAT, 'certificates', c, 'is not a certificate kubeadm certs renew knows', `use 'all' or some of ${Object.keys(KUBEADM_RENEWABLE).join(', ')}`);
      }
    }
    if (new Set(certificates).size !== certificates.length) throw new RotationPropError(WHAT, 'certificates', certificates, 'lists a name twice', 'list each once');
    if (certificates.includes('all') && certificates.length > 1) {
      throw new RotationPropError(WHAT, 'certificates', certificates, "lists 'all' with other names", "use ['all'] alone, or only names");
    }
    const all = certificates[0] === 'all';
    const waitSeconds = props.waitSeconds ?? 300;
    if (!Number.isInteger(waitSeconds) || waitSeconds < 1) {
      throw new RotationPropError(WHAT, 'waitSeconds', waitSeconds, 'is not a whole number of seconds of at least 1', 'give how long a static Pod may take to stop or start, e.g. 300');
    }
    const absolute = (prop: string, value: string | undefined, fallback: string): string => {
      const v = (value ?? fallback).replace(/(.)\/+$/, '$1');
      if (!v.startsWith('/')) throw new RotationPropError(WHAT, prop, value, 'is not an absolute path', `pass an absolute path on the nodes, e.g. ${fallback}`);
      return v;
    };
    const certDir = absolute('certDir', props.certDir, '/etc/kubernetes/pki');
    const kubernetesDir = absolute('kubernetesDir', props.kubernetesDir, '/etc/kubernetes');
    if (props.apiAddress !== undefined && !/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/.test(props.apiAddress)) {
      throw new RotationPropError(WHAT, 'apiAddress', props.apiAddress, 'is not host:port', 'give where the API server answers on the node, e.g. 127.0.0.1:6443');
    }

    this.periodMonths = schedulePeriod(props.renewBefore, props.certificateValidity);
    const triggers: Record<string, unknown> = { generation: props.generation, certificates: [...certificates].sort() };
    if (this.periodMonths !== undefined) triggers.renewalPeriod = periodExpression(this, this.periodMonths);

    // What this renewal touches: every known certificate for `all` (etcd's only where etcd is stacked), or the names.
    const renewed = all ? Object.keys(KUBEADM_RENEWABLE) : certificates;
    const restarts = RESTART_ORDER.filter((r) => renewed.some((n) => KUBEADM_RENEWABLE[n].restarts === r));

    let previous: ITerraformDependable[] | undefined = props.dependsOn;
    const runs: { node: NodeSsh; lines: string[]; step: NodeCommand; header: number }[] = [];
    nodes.forEach((node, i) => {
      const done = i > 0 ? `nodes ${nodes.slice(0, i).map((n) => n.name).join(', ')} are done` : 'no node was changed before this one';
      const lines = scriptPrelude(node.name);
      const commands: string[] = [];
      const state = (s: string) => lines.push(`CR_STATE=${shellQuote(s)}`);
      lines.push(
        `D=${shellQuote(certDir)} K=${shellQuote(kubernetesDir)}`,
        'M="$K/manifests" HOLD="$K/cert-rotation-held-manifests" WAIT=' + waitSeconds,
        '# cr_sum FILE: its SHA-256, or "absent".',
        'cr_sum() { if [ -f "$1" ]; then sha256sum "$1" | cut -d" " -f1; else echo absent; fi; }',
        ...STATIC_POD_UNHOLD,
        ...STATIC_POD_RESTART,
      );
      const header = lines.length;
      const files = renewed.map((name) => ({ name, ...KUBEADM_RENEWABLE[name], path: `$${KUBEADM_RENEWABLE[name].dir === 'pki' ? 'D' : 'K'}/${KUBEADM_RENEWABLE[name].file}` }));
      lines.push('cr_unhold');
      files.forEach((f, j) => lines.push(`cr_before_${j}=$(cr_sum "${f.path}")`));
      state(`nothing changed on ${node.name} yet; ${done}`);
      for (const name of certificates) {
        const command = ['kubeadm', 'certs', 'renew', name, '--cert-dir', certDir].map(shellQuote).join(' ');
        commands.push(command);
        lines.push(
          `cr_out=$(${command} 2>&1) || { echo "$cr_out" >&2; cr_fail ${shellQuote(command)}; }`,
          'echo "$cr_out"',
          // kubeadm skips, with a message and exit 0, what it cannot renew: a CA without its key on the node.
          `if echo "$cr_out" | grep -q "can't be renewed"; then cr_fail ${shellQuote(`${command}: kubeadm found an external CA (no key on the node) and renewed nothing signed by it; renew those certificates with that CA`)}; fi`,
        );
      }
      state(`certificates on ${node.name} renewed on disk; the control plane still serves the old ones until it restarts; ${done}`);
      commands.push(`check: ${all ? 'every certificate file on the node' : 'each named certificate file'} has changed`);
      files.forEach((f, j) => {
        const label = `${f.dir === 'pki' ? certDir : kubernetesDir}/${f.file}`;
        const skip = `echo "cert-rotation: node $CR_NODE: ${f.name}: not on this node (kubeadm prints MISSING), skipped"`;
        const check = `[ "$(cr_sum "${f.path}")" != "$cr_before_${j}" ] || cr_fail ${shellQuote(`check: ${label} renewed (it has not changed)`)}`;
        const cond = f.etcd && all ? `[ "$cr_before_${j}" = absent ] || [ ! -f "$M/etcd.yaml" ]` : `[ "$cr_before_${j}" = absent ]`;
        lines.push(`if ${cond}; then ${f.etcd && all ? ':' : skip}; else ${check}; fi`);
      });
      for (const r of restarts) {
        commands.push(`restart static Pod ${r} (manifest out of ${kubernetesDir}/manifests until stopped, back until running; up to ${waitSeconds}s each)`);
        const restart = `cr_restart ${r}`;
        lines.push(r === 'etcd' ? `if [ -f "$M/etcd.yaml" ]; then ${restart}; fi` : restart);
      }
      if (restarts.includes('kube-apiserver') && (props.apiServingCheck ?? true)) {
        const address = props.apiAddress
          ? shellQuote(props.apiAddress)
          : '"127.0.0.1:$(sed -n -E "s/.*--secure-port=([0-9]+).*/\\1/p" "$M/kube-apiserver.yaml" | head -n 1)"';
        commands.push(`check: the API server at ${props.apiAddress ?? '127.0.0.1:<--secure-port>'} serves ${certDir}/apiserver.crt`);
        state(`${node.name}'s certificates are renewed and its static Pods restarted, but its API server does not serve the new apiserver.crt; ${done}`);
        lines.push(
          `cr_api=${address}`,
          'cr_fp="openssl x509 -noout -fingerprint -sha256"',
          `cr_wait "API server at $cr_api serves $D/apiserver.crt" "$WAIT" "served=\\$(echo | openssl s_client -connect $cr_api 2>/dev/null | $cr_fp) && [ -n \\"\\$served\\" ] && [ \\"\\$served\\" = \\"\\$($cr_fp -in '$D/apiserver.crt')\\" ]"`,
        );
      }
      lines.push(
        // What the node's check step (below) looks for: this run finished.
        'mkdir -p "$K/cert-rotation-state" && printf "%s\\n" "$CR_MARK" >"$K/cert-rotation-state/kubeadm-renewal.done"',
        'echo "cert-rotation: node $CR_NODE: done"',
      );
      const step = new NodeCommand(this, `node-${node.name}`, {
        node,
        script: lines,
        applyTimeLines: [`CR_MARK='\${sha256(jsonencode(self.triggers_replace))}'`],
        triggers: { ...triggers, node: node.name },
        describe: { node: node.name, order: i + 1, commands, ...(this.periodMonths ? { schedule: `renewed again at the first plan of every ${this.periodMonths}-month period` } : {}) },
        dependsOn: previous,
      });
      this.steps.push(step);
      this.plan.push({ node: node.name, commands });
      previous = [step.resource];
      runs.push({ node, lines, step, header });
    });

    // Terraform can record a step as done while its script still runs (its state is saved when another resource
    // changes); an apply killed then leaves a node half renewed behind an empty plan. Each node's check, created
    // after every node step, finds the mark of this run on the node, or runs the renewal there again.
    const afterAll = previous;
    for (const { node, lines, step, header } of runs) {
      const check = new NodeCommand(this, `check-${node.name}`, {
        node,
        script: [
          ...lines.slice(0, header),
          'if [ "$(cat "$K/cert-rotation-state/kubeadm-renewal.done" 2>/dev/null)" = "$CR_MARK" ]; then echo "cert-rotation: node $CR_NODE: the renewal finished"; exit 0; fi',
          'echo "cert-rotation: node $CR_NODE: the renewal did not finish (an apply stopped while it ran): running it again"',
          ...lines.slice(header),
        ],
        applyTimeLines: [`CR_MARK='\${sha256(jsonencode(${step.resource.fqn}.triggers_replace))}'`],
        triggers: { ...triggers, node: node.name, check: true },
        describe: { node: node.name, commands: [`check: the renewal on ${node.name} finished; if not (an apply stopped while it ran), run it again`] },
        dependsOn: afterAll,
      });
      this.checks.push(check);
    }
  }
}

/** Months between scheduled renewals, from `renewBefore` and `certificateValidity`. */
function schedulePeriod(renewBefore: string | undefined, validity: string | undefined): number | undefined {
  if (renewBefore === undefined) {
    if (validity !== undefined) throw new RotationPropError(WHAT, 'certificateValidity', validity, 'is set without renewBefore', 'set renewBefore too, or leave certificateValidity out');
    return undefined;
  }
  const parse = (prop: string, value: string): number => {
    try {
      return parseDuration(value, prop);
    } catch {
      throw new RotationPropError(WHAT, prop, value, 'is not a duration', "write a number and a unit, e.g. '30d', '8w' or '720h'");
    }
  };
  const before = parse('renewBefore', renewBefore);
  const valid = parse('certificateValidity', validity ?? '365d');
  const months = Math.floor((valid - before) / (31 * DAY_MS));
  if (months < 1) {
    throw new RotationPropError(WHAT, 'renewBefore', renewBefore, `leaves less than a month between renewals of certificates valid ${validity ?? '365d'}`, 'use a shorter window, or set certificateValidity to what the cluster issues');
  }
  return months;
}

/**
 * The renewal period the plan falls in, as `YYYY-MM` of its first month: the
 * month count since year 0 of the plan's time, rounded down to a multiple of
 * `months`. Evaluated by Terraform at plan time; the stack's variable
 * `cert_rotation_now` replaces the plan's time when set.
 */
function periodExpression(scope: Construct, months: number): string {
  const stack = TerraformStack.of(scope);
  const existing = stack.node.tryFindChild(PLAN_TIME_VARIABLE);
  if (!existing) {
    new TerraformVariable(stack, PLAN_TIME_VARIABLE, {
      type: 'string',
      default: '',
      description: 'Plan as of this time (RFC 3339, e.g. 2027-10-01T00:00:00Z) instead of now: scheduled renewals only.',
      validation: [
        {
          condition: `\${var.${PLAN_TIME_VARIABLE} == "" || can(formatdate("YYYY", var.${PLAN_TIME_VARIABLE}))}`,
          errorMessage: `${PLAN_TIME_VARIABLE} must be empty or an RFC 3339 time such as 2027-10-01T00:00:00Z.`,
        },
      ],
    });
  }
  const local = `${PLAN_TIME_VARIABLE}_month`;
  if (!stack.node.tryFindChild(local)) {
    // Months since year 0 at the plan's time (or cert_rotation_now).
    const now = `(var.${PLAN_TIME_VARIABLE} != "" ? var.${PLAN_TIME_VARIABLE} : plantimestamp())`;
    new TerraformLocal(stack, local, `\${tonumber(formatdate("YYYY", ${now})) * 12 + tonumber(formatdate("M", ${now})) - 1}`);
  }
  const start = `floor(local.${local} / ${months}) * ${months}`;
  return `\${format("%04d-%02d", floor(${start} / 12), ${start} % 12 + 1)}`;
}
