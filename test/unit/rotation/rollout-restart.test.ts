import { Annotations as KubernetesAnnotations } from '@cdktf/provider-kubernetes/lib/annotations';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { Testing } from 'cdktf';
import { sha256Hex } from '../../../lib/pki';
import { RolloutRestart, RolloutRestartProps, Workload } from '../../../lib/rotation';
import { changedResources, newStack, resourcesOfType, synthJson } from './support/fixtures';

const TRUST = sha256Hex('leaf\nca');

function synth(props: Partial<RolloutRestartProps> = {}, more: Workload[] = []) {
  const stack = newStack();
  const restart = new RolloutRestart(stack, 'restart', { trustHash: TRUST, ...props });
  more.forEach((w) => restart.addWorkload(w));
  const json = synthJson(stack);
  return { restart, json, annotations: resourcesOfType(json, 'kubernetes_annotations'), text: Testing.synth(stack) };
}

describe('RolloutRestart', () => {
  test('defaults to the RKE1 pods Rancher\'s certificate rotation page restarts', () => {
    // GIVEN no workloads WHEN synthesized
    const { annotations } = synth();
    // THEN the seven Rancher workloads are annotated
    expect(annotations.map(([, r]) => `${r.kind} ${r.metadata.namespace}/${r.metadata.name}`).sort()).toEqual([
      'DaemonSet cattle-system/cattle-node-agent',
      'DaemonSet cattle-system/kube-api-auth',
      'DaemonSet ingress-nginx/nginx-ingress-controller',
      'DaemonSet kube-system/canal',
      'Deployment cattle-system/cattle-cluster-agent',
      'Deployment kube-system/kube-dns',
      'Deployment kube-system/kube-dns-autoscaler',
    ]);
  });

  test('sets the trust hash as a pod-template annotation with its own field manager and force', () => {
    const { text, annotations } = synth();
    expect(text).toHaveResourceWithProperties(KubernetesAnnotations, {
        api_version: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'canal', namespace: 'kube-system' },
        template_annotations: { 'cert-rotation.io/trust-sha256': TRUST },
        force: true,
      });
    for (const [, r] of annotations) {
      expect(r.template_annotations).toEqual({ 'cert-rotation.io/trust-sha256': TRUST });
      expect(r).not.toHaveProperty('annotations');
      expect(r.field_manager).toMatch(/^cert-rotation-restart-[0-9a-f]{10}$/);
    }
    expect(new Set(annotations.map(([, r]) => r.field_manager)).size).toBe(annotations.length);
  });

  test('adding a workload renames none of the others', () => {
    // GIVEN a restart of two workloads, and the same with a third added
    const two: Workload[] = [
      { kind: 'Deployment', namespace: 'apps', name: 'web' },
      { kind: 'StatefulSet', namespace: 'apps', name: 'db' },
    ];
    const before = synth({ workloads: two });
    const after = synth({ workloads: [{ kind: 'DaemonSet', namespace: 'apps', name: 'agent' }, ...two] });
    // THEN the only change is the new resource
    const changed = changedResources(before.json, after.json);
    expect(changed).toHaveLength(1);
    expect(after.json.resource!.kubernetes_annotations[changed[0].split('.')[1]].metadata.name).toBe('agent');
  });

  test('addWorkload is fluent and keeps the order', () => {
    const { restart, annotations } = synth({ workloads: [] }, [
      { kind: 'StatefulSet', namespace: 'apps', name: 'db' },
      { kind: 'Deployment', namespace: 'apps', name: 'web.v2' },
    ]);
    expect(restart.workloads.map((w) => w.name)).toEqual(['db', 'web.v2']);
    expect(restart.resources).toHaveLength(2);
    expect(annotations).toHaveLength(2);
    expect(restart.addWorkload({ kind: 'DaemonSet', namespace: 'apps', name: 'x' })).toBe(restart);
  });

  test('a new trust hash changes every annotation and nothing else; the same one changes nothing', () => {
    const before = synth();
    const same = synth();
    const after = synth({ trustHash: sha256Hex('new') });
    expect(changedResources(before.json, same.json)).toEqual([]);
    const changed = changedResources(before.json, after.json);
    expect(changed).toHaveLength(7);
    for (const [name, r] of after.annotations) {
      const old = before.json.resource!.kubernetes_annotations[name];
      expect({ ...r, template_annotations: undefined }).toEqual({ ...old, template_annotations: undefined });
    }
  });

  test('uses the provider given', () => {
    const stack = newStack();
    const east = new KubernetesProvider(stack, 'east', { alias: 'east', configPath: '/abs/east' });
    new RolloutRestart(stack, 'restart', { trustHash: TRUST, provider: east, workloads: [{ kind: 'Deployment', namespace: 'a', name: 'b' }] });
    const [[, r]] = resourcesOfType(synthJson(stack), 'kubernetes_annotations');
    expect(r.provider).toBe('kubernetes.east');
  });

  test('rejects counters, bad kinds, bad names and duplicates, naming the prop and the fix', () => {
    expect(() => synth({ trustHash: '2' })).toThrow(
      /RolloutRestart: 'trustHash' \("2"\) is not a content hash: .*\(a counter or a timestamp would restart them on every plan/,
    );
    expect(() => synth({ trustHash: new Date('2025-01-01').toISOString() })).toThrow(/is not a content hash/);
    expect(() => synth({ workloads: [{ kind: 'ReplicaSet' as Workload['kind'], namespace: 'a', name: 'b' }] })).toThrow(
      /'workload.kind' \("ReplicaSet"\) is not one of 'Deployment', 'DaemonSet', 'StatefulSet', the workload kinds that can be rolled; use one of/,
    );
    expect(() => synth({ workloads: [{ kind: 'Deployment', namespace: 'kube_system', name: 'b' }] })).toThrow(
      /'workload.namespace' \("kube_system"\) is not a valid Kubernetes namespace name: it must be a DNS-1123 label/,
    );
    expect(() => synth({ workloads: [{ kind: 'Deployment', namespace: 'a', name: '-web' }] })).toThrow(
      /'workload.name' \("-web"\) is not a valid Kubernetes object name: it must be a DNS-1123 subdomain/,
    );
    const w: Workload = { kind: 'Deployment', namespace: 'a', name: 'b' };
    expect(() => synth({ workloads: [w, w] })).toThrow(/'workloads' \("Deployment\/a\/b"\) lists this workload twice; remove the duplicate/);
  });

  test('synthesizes byte-identical JSON twice', () => {
    expect(synth().text).toBe(synth().text);
  });
});
