import { RancherClusterCertificateRotation, RancherClusterCertificateRotationProps, RKE_ROTATE_CA_WORKLOADS } from '../../../lib/rotation';
import { describeStep } from '../../../lib/steps/public';
import { newStack, synthJson } from './support/fixtures';

const SERVER = { kubeconfig: '/abs/rancher.yaml', context: 'local' };
const DOWNSTREAM = { kubeconfig: '/abs/c-abc12.yaml', context: 'c-abc12' };

function synth(props: Partial<RancherClusterCertificateRotationProps>) {
  const stack = newStack();
  const rotation = new RancherClusterCertificateRotation(stack, 'rotate', { server: SERVER, clusters: [], ...props });
  const steps: any[] = Object.values(synthJson(stack).resource!.terraform_data);
  return { rotation, steps };
}

describe('RancherClusterCertificateRotation', () => {
  test('one step per cluster in order; the triggers are the rotation asked (generation, sorted services, CA), not the timeout', () => {
    const { rotation, steps } = synth({
      clusters: [
        { name: 'prod', distribution: 'rke2', generation: 2, services: ['kubelet', 'api-server'] },
        { name: 'c-abc12', distribution: 'rke1', generation: 1, caCertificates: true, restartAfter: DOWNSTREAM },
      ],
    });
    expect(rotation.steps).toHaveLength(2);
    const rotate = (name: string) => steps.find((s) => s.triggers_replace.step === 'rancher-cluster-rotate' && s.triggers_replace.name === name);
    const [v2, rke1] = [rotate('prod'), rotate('c-abc12')];
    expect(v2.triggers_replace).toMatchObject({ cluster: 'server', kind: 'v2', namespace: 'fleet-default', name: 'prod', generation: 2, services: ['api-server', 'kubelet'] });
    expect(rke1.triggers_replace).toMatchObject({ kind: 'rke1', name: 'c-abc12', generation: 1, caCertificates: true, services: [] });
    expect(rke1.triggers_replace.namespace).toBeUndefined();
    expect(rke1.depends_on).toEqual([expect.stringContaining('Rotate-prod')]);
  });

  test('restartAfter on an RKE1 cluster: the system workloads roll on the downstream cluster after Rancher is done, and only when a new rotation is asked', () => {
    const run = (generation: number) => synth({ clusters: [{ name: 'c-abc12', distribution: 'rke1', generation, restartAfter: DOWNSTREAM }] });
    const { rotation, steps } = run(1);
    expect(rotation.restarts).toHaveLength(1);
    expect(rotation.restarts[0].workloads).toEqual(RKE_ROTATE_CA_WORKLOADS);
    const restart = steps.find((s) => s.triggers_replace.step === 'restart');
    expect(restart.triggers_replace).toMatchObject({ cluster: 'c-abc12' });
    expect(restart.depends_on).toEqual([expect.stringContaining('Rotate-c-abc12')]);
    const again = run(1).steps.find((s) => s.triggers_replace.step === 'restart');
    const next = run(2).steps.find((s) => s.triggers_replace.step === 'restart');
    expect(again.triggers_replace).toEqual(restart.triggers_replace);
    expect(next.triggers_replace).not.toEqual(restart.triggers_replace);
  });

  test('a CA rotation without restartAfter warns [cert-rotation:podsNotRestarted]', () => {
    const { rotation } = synth({ clusters: [{ name: 'c-abc12', distribution: 'rke1', generation: 1, caCertificates: true }] });
    expect(rotation.node.metadata.map((m) => m.data)).toEqual([expect.stringMatching(/^\[cert-rotation:podsNotRestarted\] .*'c-abc12'.*Fix: set restartAfter/)]);
    const quiet = synth({ clusters: [{ name: 'c-abc12', distribution: 'rke1', generation: 1 }] });
    expect(quiet.rotation.node.metadata).toEqual([]);
  });

  test('explain shows the generation old → new of a replaced rotation, services and CA', () => {
    const triggers = (generation: number) => synth({ clusters: [{ name: 'c-abc12', distribution: 'rke1', generation, caCertificates: true }] })
      .steps[0].triggers_replace;
    expect(describeStep(triggers(3), triggers(2))).toMatch(
      /^cert-rotation step rancher-cluster-rotate \[server\]: ask Rancher to rotate all services and the CA \(generation 2 → 3\) through clusters\.management\.cattle\.io\/c-abc12 spec\.rancherKubernetesEngineConfig\.rotateCertificates/,
    );
    expect(describeStep(triggers(3))).toContain('(generation 3)');
  });

  test.each([
    [{ clusters: [] }, /'clusters' .* is empty/],
    [{ clusters: [{ name: 'prod', distribution: 'rke2', generation: 0 }] }, /'generation' \(0\) is not a whole number ≥ 1/],
    [{ clusters: [{ name: 'prod', distribution: 'rke2', generation: 1, services: ['kube-apiserver'] }] }, /'services' \("kube-apiserver"\) is not a rke2 service Rancher rotates/],
    [{ clusters: [{ name: 'c-1', distribution: 'rke1', generation: 1, services: ['api-server'] }] }, /is not a rke1 service Rancher rotates/],
    [{ clusters: [{ name: 'prod', distribution: 'rke2', generation: 1, caCertificates: true }] }, /'caCertificates' \(true\) is for RKE1 clusters only/],
    [{ clusters: [{ name: 'prod', distribution: 'rke2', generation: 1, restartAfter: DOWNSTREAM }] }, /'restartAfter' .* is for RKE1 clusters only/],
    [{ clusters: [{ name: 'c-1', distribution: 'rke1', generation: 1, restartAfter: { kubeconfig: 'rel.yaml' } }] }, /'target.kubeconfig' \("rel.yaml"\) is not an absolute path/],
    [{ clusters: [{ name: 'prod', distribution: 'rke2', generation: 1 }, { name: 'prod', distribution: 'rke2', generation: 2 }] }, /is listed twice/],
  ])('refuses %j', (props, message) => {
    expect(() => synth(props as Partial<RancherClusterCertificateRotationProps>)).toThrow(message);
  });
});
