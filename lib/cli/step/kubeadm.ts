/**
 * The steps of a kubeadm CA rotation that work on the API server: the phase
 * gate and record, the wait for `kube-root-ca.crt`, `kube-public/cluster-info`
 * and the rollout of every workload. The node files are written over SSH by
 * the construct's node steps, between the gate and these.
 *
 * @see https://kubernetes.io/docs/tasks/tls/manual-rotation-of-ca-certificates/
 */
import { X509Certificate } from 'crypto';
import { yaml } from '../yaml';
import { KUBEADM_CA_PHASE_CONFIGMAP, KUBEADM_CA_PHASE_KEYS } from '../../contract';
import {
  CaBundlesStepSpec,
  ExtensionAuthPruneStepSpec,
  ClusterInfoStepSpec,
  KUBEADM_CA_PHASES,
  KubeadmCaPhase,
  KubeadmPhaseStepSpec,
  RestartAllStepSpec,
  RootCaStepSpec,
  StepWorkload,
} from '../../steps/spec';
import { isNotFound, short, StepContext, StepFailure } from './context';
import { runRestartStep } from './workloads';

interface ConfigMap {
  metadata: { name: string; namespace: string; resourceVersion?: string };
  data?: Record<string, string>;
}

const PHASE_CM_PATH = `/api/v1/namespaces/${KUBEADM_CA_PHASE_CONFIGMAP.namespace}/configmaps/${KUBEADM_CA_PHASE_CONFIGMAP.name}`;

/** Whether `phase` may run on a cluster that finished `done` (undefined: no rotation recorded). */
export function phaseRefusal(
  done: { phase: string; caSha256: string } | undefined,
  phase: KubeadmCaPhase,
  caSha256: string,
): string | undefined {
  const where = `kube-system/${KUBEADM_CA_PHASE_CONFIGMAP.name}`;
  if (!done) {
    if (phase === 'trust-both') return undefined;
    return (
      `phase '${phase}' would skip 'trust-both': the cluster has no finished phase of a kubeadm CA rotation (${where} does not exist). ` +
      `Nothing was written. Set phase: 'trust-both', deploy, check the cluster, then move on`
    );
  }
  const i = KUBEADM_CA_PHASES.indexOf(done.phase as KubeadmCaPhase);
  const j = KUBEADM_CA_PHASES.indexOf(phase);
  if (i < 0) return `${where} holds phase '${done.phase}', which is not a phase of this rotation (${KUBEADM_CA_PHASES.join(', ')}); nothing was written. Fix or delete the ConfigMap`;
  if (done.caSha256 !== caSha256) {
    if (done.phase === 'drop-old' && phase === 'trust-both') return undefined;
    if (done.phase === 'drop-old') {
      return `phase '${phase}' of a rotation to CA ${short(caSha256)} would skip 'trust-both': the cluster finished the rotation to CA ${short(done.caSha256)}. Nothing was written. Start the new rotation with phase: 'trust-both'`;
    }
    return (
      `the cluster is in the middle of a rotation to another CA (${short(done.caSha256)}, phase '${done.phase}' done), and this is phase '${phase}' of a rotation to CA ${short(caSha256)}. ` +
      `Nothing was written. Finish that rotation first (phases after '${done.phase}' with its CA), or point newPkiDir at its files`
    );
  }
  if (j === i || j === i + 1) return undefined;
  if (j < i) {
    return (
      `phase '${phase}' would go back: the cluster already finished phase '${done.phase}' of the rotation to CA ${short(caSha256)}. Nothing was written. ` +
      `Phases only move forward (${KUBEADM_CA_PHASES.join(' → ')}); set phase: '${KUBEADM_CA_PHASES[Math.min(i + 1, KUBEADM_CA_PHASES.length - 1)]}'`
    );
  }
  return (
    `phase '${phase}' would skip '${KUBEADM_CA_PHASES[i + 1]}': the cluster finished phase '${done.phase}' of the rotation to CA ${short(caSha256)}. ` +
    `Nothing was written. Set phase: '${KUBEADM_CA_PHASES[i + 1]}' and deploy that first`
  );
}

async function readPhase(ctx: StepContext): Promise<{ phase: string; caSha256: string } | undefined> {
  try {
    const cm = await ctx.kube.get<ConfigMap>(PHASE_CM_PATH);
    return { phase: cm.data?.[KUBEADM_CA_PHASE_KEYS.phase] ?? '', caSha256: cm.data?.[KUBEADM_CA_PHASE_KEYS.caSha256] ?? '' };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function runKubeadmPhaseStep(spec: KubeadmPhaseStepSpec, ctx: StepContext): Promise<void> {
  const done = await readPhase(ctx);
  if (spec.mode === 'check') {
    const refusal = phaseRefusal(done, spec.phase, spec.caSha256);
    if (refusal) throw new StepFailure(refusal);
    ctx.log(`phase '${spec.phase}' may run: ${done ? `the cluster finished phase '${done.phase}' of this rotation` : 'no rotation recorded yet'}`);
    return;
  }
  const body = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: KUBEADM_CA_PHASE_CONFIGMAP.name, namespace: KUBEADM_CA_PHASE_CONFIGMAP.namespace },
    data: { [KUBEADM_CA_PHASE_KEYS.phase]: spec.phase, [KUBEADM_CA_PHASE_KEYS.caSha256]: spec.caSha256 },
  };
  await ctx.kube.patch(PHASE_CM_PATH, body, 'application/apply-patch+yaml', { fieldManager: spec.fieldManager, force: 'true' });
  const back = await readPhase(ctx);
  if (back?.phase !== spec.phase || back.caSha256 !== spec.caSha256) {
    throw new StepFailure(`kube-system/${KUBEADM_CA_PHASE_CONFIGMAP.name} read back as phase '${back?.phase}' CA ${short(back?.caSha256 ?? '')}, expected '${spec.phase}' ${short(spec.caSha256)}: another writer changed it; deploy again`);
  }
  ctx.log(`recorded: phase '${spec.phase}' of the rotation to CA ${short(spec.caSha256)} is done`);
}

/** SHA-256 fingerprints (lowercase hex) of the certificates of a PEM bundle, in order. */
export function pemFingerprints(pem: string): string[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((b) => new X509Certificate(b).fingerprint256.replace(/:/g, '').toLowerCase());
}

export async function runRootCaStep(spec: RootCaStepSpec, ctx: StepContext): Promise<void> {
  const want = [...spec.caSha256].sort().join(',');
  const deadline = ctx.now() + spec.timeoutSeconds * 1000;
  let lastLog = 0;
  for (;;) {
    const list = await ctx.kube.get<{ items: ConfigMap[] }>('/api/v1/configmaps', { fieldSelector: 'metadata.name=kube-root-ca.crt' });
    const namespaces = await ctx.kube.get<{ items: { metadata: { name: string }; status?: { phase?: string } }[] }>('/api/v1/namespaces');
    const held = new Map(list.items.map((cm) => [cm.metadata.namespace, cm.data?.['ca.crt'] ?? '']));
    const wrong: string[] = [];
    for (const ns of namespaces.items) {
      if (ns.status?.phase === 'Terminating') continue;
      const pem = held.get(ns.metadata.name);
      if (pem === undefined) {
        wrong.push(`${ns.metadata.name} (none yet)`);
        continue;
      }
      let got: string[];
      try {
        got = pemFingerprints(pem);
      } catch {
        got = ['unreadable'];
      }
      if ([...got].sort().join(',') !== want) wrong.push(`${ns.metadata.name} (${got.map(short).join(' + ')})`);
    }
    if (wrong.length === 0) {
      ctx.log(`kube-root-ca.crt holds CA ${spec.caSha256.map(short).join(' + ')} in all ${namespaces.items.length} namespaces`);
      return;
    }
    if (ctx.now() >= deadline) {
      throw new StepFailure(
        `kube-root-ca.crt does not hold CA ${spec.caSha256.map(short).join(' + ')} after ${spec.timeoutSeconds} s in: ${wrong.slice(0, 5).join(', ')}${wrong.length > 5 ? ` and ${wrong.length - 5} more` : ''}. ` +
          `kube-controller-manager publishes its --root-ca-file there: check that it runs with the new file (its log, crictl ps on the control-plane nodes), then deploy again`,
      );
    }
    if (ctx.now() - lastLog >= 15_000) {
      ctx.log(`waiting for kube-root-ca.crt in ${wrong.length} namespace(s): ${wrong.slice(0, 3).join(', ')}`);
      lastLog = ctx.now();
    }
    await ctx.sleep(1000);
  }
}

export async function runClusterInfoStep(spec: ClusterInfoStepSpec, ctx: StepContext): Promise<void> {
  const apiPath = '/api/v1/namespaces/kube-public/configmaps/cluster-info';
  let cm: ConfigMap;
  try {
    cm = await ctx.kube.get<ConfigMap>(apiPath);
  } catch (err) {
    if (isNotFound(err)) {
      ctx.log('kube-public/cluster-info does not exist (the cluster does not join nodes with bootstrap tokens): skipped');
      return;
    }
    throw err;
  }
  const want = Buffer.from(spec.caPem).toString('base64');
  const kubeconfigOf = (c: ConfigMap) => yaml().parse(c.data?.kubeconfig ?? '') as { clusters?: { cluster: Record<string, string> }[] } | null;
  const config = kubeconfigOf(cm);
  if (!config?.clusters?.length) throw new StepFailure('kube-public/cluster-info has no kubeconfig with a cluster; nothing was written. Re-create it with kubeadm init phase bootstrap-token');
  if (config.clusters.every((c) => c.cluster['certificate-authority-data'] === want)) {
    ctx.log('kube-public/cluster-info already holds the CA bundle: unchanged');
    return;
  }
  for (const c of config.clusters) c.cluster['certificate-authority-data'] = want;
  // A merge patch of the kubeconfig key only: the bootstrap signer keeps its jws-kubeconfig-* keys up to date.
  await ctx.kube.patch(apiPath, { data: { kubeconfig: yaml().stringify(config) } }, 'application/merge-patch+json', { fieldManager: spec.fieldManager });
  const back = kubeconfigOf(await ctx.kube.get<ConfigMap>(apiPath));
  if (!back?.clusters?.every((c) => c.cluster['certificate-authority-data'] === want)) {
    throw new StepFailure('kube-public/cluster-info read back without the new CA bundle: another writer changed it; deploy again');
  }
  ctx.log(`kube-public/cluster-info: certificate-authority-data set to CA ${pemFingerprints(spec.caPem).map(short).join(' + ')}`);
}

/** Where the API server keeps the CA bundles it verifies extension servers with, per kind. */
const CA_BUNDLE_HOLDERS: readonly { kind: string; list: string; bundles: (o: any) => { caBundle?: string }[] }[] = [
  { kind: 'ValidatingWebhookConfiguration', list: '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', bundles: (o) => (o.webhooks ?? []).map((w: any) => w.clientConfig ?? {}) },
  { kind: 'MutatingWebhookConfiguration', list: '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', bundles: (o) => (o.webhooks ?? []).map((w: any) => w.clientConfig ?? {}) },
  { kind: 'APIService', list: '/apis/apiregistration.k8s.io/v1/apiservices', bundles: (o) => (o.spec?.service ? [o.spec] : []) },
  {
    kind: 'CustomResourceDefinition',
    list: '/apis/apiextensions.k8s.io/v1/customresourcedefinitions',
    bundles: (o) => (o.spec?.conversion?.webhook?.clientConfig ? [o.spec.conversion.webhook.clientConfig] : []),
  },
];

/** The fingerprints of a base64 caBundle, or undefined when it is not a readable PEM bundle. */
function bundleFingerprints(b64: string): string[] | undefined {
  try {
    const fps = pemFingerprints(Buffer.from(b64, 'base64').toString('utf8'));
    return fps.length ? fps : undefined;
  } catch {
    return undefined;
  }
}

export async function runCaBundlesStep(spec: CaBundlesStepSpec, ctx: StepContext): Promise<void> {
  const [addSha256] = pemFingerprints(spec.addPem);
  let changed = 0;
  let trusting = 0;
  for (const holder of CA_BUNDLE_HOLDERS) {
    const list = await ctx.kube.get<{ items: any[] }>(holder.list);
    for (const o of list.items) {
      const name = `${holder.kind} ${o.metadata.name}`;
      const needs = (obj: any) => holder.bundles(obj).some((c) => {
        const fps = c.caBundle ? bundleFingerprints(c.caBundle) : undefined;
        return fps?.includes(spec.oldCaSha256) && !fps.includes(addSha256);
      });
      const olds = holder.bundles(o).filter((c) => c.caBundle && bundleFingerprints(c.caBundle)?.includes(spec.oldCaSha256)).length;
      if (olds === 0) continue;
      trusting++;
      if (!needs(o)) continue;
      for (const c of holder.bundles(o)) {
        const fps = c.caBundle ? bundleFingerprints(c.caBundle) : undefined;
        if (fps?.includes(spec.oldCaSha256) && !fps.includes(addSha256)) {
          const pem = Buffer.from(c.caBundle!, 'base64').toString('utf8');
          c.caBundle = Buffer.from(`${pem.replace(/\s*$/, '\n')}${spec.addPem.replace(/\s*$/, '\n')}`).toString('base64');
        }
      }
      const path = `${holder.list}/${o.metadata.name}`;
      // The object as read, with the new bundles; resourceVersion makes a concurrent change a conflict, not a lost write.
      const body = holder.kind.endsWith('WebhookConfiguration')
        ? { metadata: { resourceVersion: o.metadata.resourceVersion }, webhooks: o.webhooks }
        : { metadata: { resourceVersion: o.metadata.resourceVersion }, spec: o.spec };
      await ctx.kube.patch(path, body, 'application/merge-patch+json', { fieldManager: spec.fieldManager });
      const back = await ctx.kube.get<any>(path);
      if (needs(back)) throw new StepFailure(`${name} read back with a caBundle that trusts the old CA ${short(spec.oldCaSha256)} but not the new one: another writer changed it; deploy again`);
      ctx.log(`${name}: caBundle trusts the old CA ${short(spec.oldCaSha256)} and now the new CA ${short(addSha256)} too`);
      changed++;
    }
  }
  ctx.log(
    trusting === 0
      ? `no webhook, APIService or CRD conversion trusts the old CA ${short(spec.oldCaSha256)}: unchanged`
      : `${trusting} object(s) trust the old CA, ${changed} changed now; their servers' certificates issued from now on by the cluster's signer are trusted. ` +
        `Drop the old CA from these bundles once each server presents a certificate from the new CA`,
  );
}

const EXTENSION_AUTH = '/api/v1/namespaces/kube-system/configmaps/extension-apiserver-authentication';
const EXTENSION_AUTH_KEYS = ['client-ca-file', 'requestheader-client-ca-file'] as const;

export async function runExtensionAuthPruneStep(spec: ExtensionAuthPruneStepSpec, ctx: StepContext): Promise<void> {
  const remove = new Set(spec.removeSha256);
  const blocks = (pem: string | undefined) => (pem ?? '').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  const retired = (cm: ConfigMap) => EXTENSION_AUTH_KEYS.flatMap((k) => blocks(cm.data?.[k]).filter((b) => remove.has(pemFingerprints(b)[0])).map(() => k));
  let cm: ConfigMap;
  try {
    cm = await ctx.kube.get<ConfigMap>(EXTENSION_AUTH);
  } catch (err) {
    if (isNotFound(err)) {
      ctx.log('kube-system/extension-apiserver-authentication does not exist (the API server writes it at start): nothing to take out');
      return;
    }
    throw err;
  }
  if (retired(cm).length === 0) {
    ctx.log(`kube-system/extension-apiserver-authentication holds none of CA ${spec.removeSha256.map(short).join(' + ')}: unchanged`);
    return;
  }
  const data: Record<string, string> = {};
  for (const k of EXTENSION_AUTH_KEYS) {
    const all = blocks(cm.data?.[k]);
    const kept = all.filter((b) => !remove.has(pemFingerprints(b)[0]));
    if (kept.length === all.length) continue;
    if (kept.length === 0) {
      throw new StepFailure(`kube-system/extension-apiserver-authentication ${k} would hold no CA without ${spec.removeSha256.map(short).join(' + ')}: the API server does not run with the new CA yet; nothing was written`);
    }
    data[k] = kept.map((b) => `${b}\n`).join('');
  }
  await ctx.kube.patch(EXTENSION_AUTH, { metadata: { resourceVersion: cm.metadata.resourceVersion }, data }, 'application/merge-patch+json', { fieldManager: spec.fieldManager });
  const back = await ctx.kube.get<ConfigMap>(EXTENSION_AUTH);
  const left = retired(back);
  if (left.length) {
    throw new StepFailure(`kube-system/extension-apiserver-authentication read back with a retired CA in ${[...new Set(left)].join(', ')}: an API server still runs with the old CA (its --client-ca-file or --requestheader-client-ca-file) and adds it back; restart it with the new files, then deploy again`);
  }
  ctx.log(`kube-system/extension-apiserver-authentication: took CA ${spec.removeSha256.map(short).join(' + ')} out of ${Object.keys(data).join(', ')}; aggregated API servers trust the new CA alone`);
}

const LIST: Record<StepWorkload['kind'], string> = { Deployment: '/apis/apps/v1/deployments', DaemonSet: '/apis/apps/v1/daemonsets', StatefulSet: '/apis/apps/v1/statefulsets' };

export async function runRestartAllStep(spec: RestartAllStepSpec, ctx: StepContext): Promise<void> {
  const workloads: StepWorkload[] = [];
  for (const kind of spec.kinds) {
    const list = await ctx.kube.get<{ items: { metadata: { namespace: string; name: string } }[] }>(LIST[kind]);
    for (const o of list.items) workloads.push({ kind, namespace: o.metadata.namespace, name: o.metadata.name });
  }
  ctx.log(`${workloads.length} workload(s) in the cluster: ${workloads.map((w) => `${w.kind} ${w.namespace}/${w.name}`).join(', ') || 'none'}`);
  await runRestartStep({ step: 'restart', workloads, annotations: spec.annotations, fieldManager: spec.fieldManager, waitSeconds: spec.waitSeconds }, ctx);
}
