/**
 * The public form of a step: what its `terraform_data` carries as
 * `triggers_replace`, so the plan shows old → new and the step runs again
 * exactly when what it writes changes. Secret data is named by SHA-256 (and a
 * key by its file), never carried. Also a one-line description of a step for
 * `explain` and logs.
 *
 * Dependency-free.
 */
import { sha256Hex as sha256Of } from '../contract';
import type { StepSpec, StepWorkload } from './spec';

/** The public form of a step: the spec with secret data replaced by digests, and the cluster's name. */
export type PublicStep = Record<string, unknown> & { readonly step: string; readonly cluster: string };

/** The public form of `spec` on `cluster`. */
export function publicStep(spec: StepSpec, cluster: string): PublicStep {
  if (spec.step === 'secret') {
    const data: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(spec.data)) {
      data[key] = 'text' in value ? { sha256: sha256Of(value.text) } : { file: value.file, sha256: value.sha256 };
    }
    return { ...spec, data, cluster };
  }
  if (spec.step === 'cacerts-gate') {
    // The trusted bundle is public but long: its digest is enough to see a change.
    const { trustPem, ...rest } = spec;
    return { ...rest, ...(trustPem !== undefined ? { trustSha256: sha256Of(trustPem) } : {}), cluster };
  }
  if (spec.step === 'cluster-info') {
    const { caPem, ...rest } = spec;
    return { ...rest, caSha256: sha256Of(caPem), cluster };
  }
  if (spec.step === 'ca-bundles') {
    const { addPem, ...rest } = spec;
    return { ...rest, addSha256: sha256Of(addPem), cluster };
  }
  if (spec.step === 'converge') {
    return {
      step: 'converge',
      cluster,
      steps: spec.steps.map((e) => sha256Of(JSON.stringify('shell' in e ? e : publicStep(e.spec, e.target.cluster)))),
    };
  }
  return { ...spec, cluster };
}

function workloads(list: unknown): string {
  return Array.isArray(list) ? (list as StepWorkload[]).map((w) => `${w.kind} ${w.namespace}/${w.name}`).join(', ') : '';
}

/** `N`, or `old → N` when the step replaces the same cluster's earlier rotation. */
function generationChange(p: Record<string, unknown>, before?: Record<string, unknown>): string {
  const same = before !== undefined && before.step === p.step && before.name === p.name && before.namespace === p.namespace;
  return same && before!.generation !== undefined && before!.generation !== p.generation ? `${before!.generation} → ${p.generation}` : String(p.generation);
}

function short(v: unknown): string {
  const s = String(v ?? '');
  return s.length > 16 ? `${s.slice(0, 12)}…` : s;
}

/**
 * One line saying what a step does, from its public form (as in a plan);
 * `before` is the public form it replaces, when the plan replaces one.
 */
export function describeStep(p: Record<string, unknown>, before?: Record<string, unknown>): string {
  const cluster = String(p.cluster ?? '?');
  switch (p.step) {
    case 'secret':
      return `cert-rotation step secret [${cluster}]: server-side apply Secret ${p.namespace}/${p.name} (created, or taken over if it exists), then read it back`;
    case 'restart': {
      const wait = Number(p.waitSeconds ?? 0);
      return `cert-rotation step restart [${cluster}]: roll ${workloads(p.workloads)} (each skipped if missing)${wait > 0 ? `, wait up to ${wait} s for each rollout` : ''}`;
    }
    case 'force-deploy':
      return `cert-rotation step force-deploy [${cluster}]: annotate clusters.management.cattle.io/${p.clusterId} with io.cattle.agent.force.deploy=true (Rancher re-renders that cluster's agents), wait until Rancher took it`;
    case 'fleet-force-update':
      return (
        `cert-rotation step fleet-force-update [${cluster}]: Force Update clusters.fleet.cattle.io ${p.namespace}/${p.name} ` +
        `(raise spec.redeployAgentGeneration once for CA ${p.checksum === '' ? 'public' : short(p.checksum)}), wait up to ${Number(p.timeoutSeconds ?? 0)} s until Fleet re-deployed its fleet-agent`
      );
    case 'rancher-cluster-rotate': {
      const services = Array.isArray(p.services) && p.services.length > 0 ? `services ${(p.services as string[]).join(', ')}` : 'all services';
      const object = p.kind === 'rke1' ? `clusters.management.cattle.io/${p.name} spec.rancherKubernetesEngineConfig.rotateCertificates` : `clusters.provisioning.cattle.io ${p.namespace}/${p.name} spec.rkeConfig.rotateCertificates`;
      return (
        `cert-rotation step rancher-cluster-rotate [${cluster}]: ask Rancher to rotate ${services}${p.caCertificates ? ' and the CA' : ''} (generation ${generationChange(p, before)}) through ${object}, ` +
        `wait up to ${Number(p.timeoutSeconds ?? 0)} s until Rancher reports it done`
      );
    }
    case 'agents':
      if (p.verifyOnly) {
        return (
          `cert-rotation step agents [${cluster}]: wait until Rancher has re-rendered ${workloads(p.workloads)} ` +
          `with ${p.checksum === null ? 'no CATTLE_CA_CHECKSUM' : `CATTLE_CA_CHECKSUM=${short(p.checksum)}`} and they are Ready (up to ${Number(p.waitSeconds ?? 0)} s)`
        );
      }
      return (
        `cert-rotation step agents [${cluster}]: ${p.checksum === null ? 'remove CATTLE_CA_CHECKSUM from' : `set CATTLE_CA_CHECKSUM=${short(p.checksum)} on`} ` +
        `${workloads(p.workloads)} (each skipped if missing), wait up to ${Number(p.waitSeconds ?? 0)} s until their pods are Ready`
      );
    case 'cacerts-gate': {
      const d = (p.deployment ?? {}) as { namespace?: string; name?: string };
      const what = p.checksum === '' ? 'an empty cacerts setting (public CA)' : `CA checksum ${short(p.checksum)}`;
      return (
        `cert-rotation step cacerts-gate [${cluster}]: GATE: wait for deploy ${d.namespace}/${d.name} to roll out, then until ${p.url}` +
        `${p.connectTo ? ` (via ${p.connectTo})` : ''} serves ${what}${p.leafSha256 ? ` and presents certificate ${short(p.leafSha256)}` : ''}; ` +
        `fails after ${Number(p.timeoutSeconds ?? 0)} s, before any agent changes`
      );
    }
    case 'kubeadm-phase':
      return p.mode === 'check'
        ? `cert-rotation step kubeadm-phase [${cluster}]: GATE: refuse, before anything is written, unless the cluster finished the phase before '${p.phase}' (or '${p.phase}' itself) of the rotation to CA ${short(p.caSha256)}`
        : `cert-rotation step kubeadm-phase [${cluster}]: record in kube-system/cert-rotation-kubeadm-ca that phase '${p.phase}' of the rotation to CA ${short(p.caSha256)} is done`;
    case 'kubeadm-node': {
      const list = (v: unknown) => (Array.isArray(v) ? v.map(String).join(', ') : '');
      const cas = String(p.caSha256 ?? '').split(',').filter(Boolean).map(short).join(' + ');
      return (
        `kubeadm CA rotation [${cluster}] phase '${p.phase}' on node ${p.node}: upload ${list(Object.keys((p.files as object) ?? {}))} (by SHA-256), ` +
        `write ${list(p.writes)} (trusting CA ${cas}), restart ${list(p.restarts)} (static Pod manifests moved out and back); ` +
        `next phase: ${p.next ? `'${p.next}'` : 'none, the rotation is done'}`
      );
    }
    case 'kubeadm-node-check':
      return `kubeadm CA rotation [${cluster}] phase '${p.phase}' on node ${p.node}: check that the node's step finished (the mark its script writes last); if not, fail before the phase is recorded, naming the -replace that finishes it`;
    case 'root-ca':
      return `cert-rotation step root-ca [${cluster}]: wait up to ${Number(p.timeoutSeconds ?? 0)} s until every kube-root-ca.crt holds exactly CA ${Array.isArray(p.caSha256) ? p.caSha256.map(short).join(' + ') : '?'}`;
    case 'cluster-info':
      return `cert-rotation step cluster-info [${cluster}]: set certificate-authority-data of kube-public/cluster-info to the CA bundle ${short(p.caSha256)}, then read it back`;
    case 'ca-bundles':
      return `cert-rotation step ca-bundles [${cluster}]: add the new CA to every caBundle of a webhook, APIService or CRD conversion that trusts the old CA ${short(p.oldCaSha256)}, then read each back`;
    case 'extension-auth-prune':
      return `cert-rotation step extension-auth-prune [${cluster}]: take CA ${Array.isArray(p.removeSha256) ? p.removeSha256.map(short).join(' + ') : '?'} out of kube-system/extension-apiserver-authentication (what aggregated API servers trust), then read it back`;
    case 'restart-all': {
      const kinds = Array.isArray(p.kinds) ? p.kinds.join(', ') : '';
      return `cert-rotation step restart-all [${cluster}]: roll every ${kinds} in every namespace (pod-template annotation), wait up to ${Number(p.waitSeconds ?? 0)} s for each rollout`;
    }
    case 'converge': {
      const n = Array.isArray(p.steps) ? p.steps.length : 0;
      return `cert-rotation step converge [${cluster}]: run the ${n} steps above again, in order (each writes only what differs), so that a run killed mid-step is finished`;
    }
    default:
      return `cert-rotation step ${String(p.step)} [${cluster}]`;
  }
}
