import { Testing } from 'cdktf';
import { sha256Hex } from '../../../lib/pki';
import { RolloutRestart, RolloutRestartProps, Workload } from '../../../lib/rotation';
import { RestartStepSpec } from '../../../lib/steps/spec';
import { newStack, onlyStep, stepEnvelope, synthJson, TARGET } from './support/fixtures';

const TRUST = sha256Hex('leaf\nca');
const WORKLOADS: Workload[] = [
  { kind: 'Deployment', namespace: 'apps', name: 'web' },
  { kind: 'StatefulSet', namespace: 'apps', name: 'db' },
  { kind: 'DaemonSet', namespace: 'kube-system', name: 'canal' },
];

function synth(props: Partial<RolloutRestartProps> = {}) {
  const stack = newStack();
  const restart = new RolloutRestart(stack, 'restart', { trustHash: TRUST, workloads: WORKLOADS, target: TARGET, ...props });
  const step = onlyStep(synthJson(stack));
  return { restart, step, spec: stepEnvelope(step).spec as RestartStepSpec, text: Testing.synth(stack) };
}

describe('RolloutRestart', () => {
  test('is a restart step setting the trust hash as a pod-template annotation on the workloads given, in order', () => {
    // GIVEN three workloads WHEN synthesized
    const { step, restart } = synth();
    // THEN one step annotates them all, waits 300 s for each rollout, with its own field manager
    expect(stepEnvelope(step)).toEqual({
      version: 1,
      target: TARGET,
      spec: {
        step: 'restart',
        workloads: WORKLOADS,
        annotations: { 'cert-rotation.io/trust-sha256': TRUST },
        fieldManager: expect.stringMatching(/^cert-rotation-restart-[0-9a-f]{10}$/),
        waitSeconds: 300,
      },
    });
    expect(step.triggers_replace).toEqual({ ...stepEnvelope(step).spec, cluster: 'prod' });
    expect(restart.workloads).toEqual(WORKLOADS);
    expect(restart.trustHash).toBe(TRUST);
    expect(restart.resource).toBe(restart.step.resource);
  });

  test('waitSeconds 0 does not wait', () => {
    expect(synth({ waitSeconds: 0 }).spec.waitSeconds).toBe(0);
    expect(() => synth({ waitSeconds: -1 })).toThrow(/'waitSeconds' \(-1\) is not a whole number of seconds ≥ 0; give how long each rollout may take, or 0 not to wait/);
    expect(() => synth({ waitSeconds: 1.5 })).toThrow(/'waitSeconds' \(1.5\)/);
  });

  test('a new trust hash changes only the annotation in the triggers; the same one changes nothing', () => {
    const before = synth();
    const same = synth();
    const after = synth({ trustHash: sha256Hex('new') });
    expect(same.text).toBe(before.text);
    expect(after.step.triggers_replace).toEqual({ ...before.step.triggers_replace, annotations: { 'cert-rotation.io/trust-sha256': sha256Hex('new') } });
  });

  test('a workload added changes the workloads in the triggers', () => {
    const before = synth({ workloads: WORKLOADS.slice(0, 2) }).step.triggers_replace;
    const after = synth().step.triggers_replace;
    expect(after).toEqual({ ...before, workloads: WORKLOADS });
  });

  test('carries only kind, namespace and name of each workload', () => {
    const extra = { ...WORKLOADS[0], container: 'web', replicas: 3 } as Workload;
    expect(synth({ workloads: [extra] }).spec.workloads).toEqual([{ kind: 'Deployment', namespace: 'apps', name: 'web' }]);
  });

  test('rejects counters, no workloads, bad kinds, bad names and duplicates, naming the prop and the fix', () => {
    expect(() => synth({ trustHash: '2' })).toThrow(
      /RolloutRestart: 'trustHash' \("2"\) is not a content hash: .*\(a counter or a timestamp would restart them on every plan/,
    );
    expect(() => synth({ trustHash: new Date('2025-01-01').toISOString() })).toThrow(/is not a content hash/);
    expect(() => synth({ workloads: [] })).toThrow(/^RolloutRestart: 'workloads' \("\[\]"\) is empty; list the workloads to roll, or leave the construct out/);
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
