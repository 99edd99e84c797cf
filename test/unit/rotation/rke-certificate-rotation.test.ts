import { RKE_ROTATE_CA_WORKLOADS, RkeCertificateRotation, RkeCertificateRotationProps } from '../../../lib/rotation';
import { newStack, synthJson, TARGET } from './support/fixtures';

const HOST = { name: 'rke-host', host: '10.0.0.5', privateKeyPath: '/keys/id', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA' };

function synth(props: Partial<RkeCertificateRotationProps> = {}) {
  const stack = newStack();
  const rotation = new RkeCertificateRotation(stack, 'rke', { host: HOST, clusterConfigPath: '/srv/rke/cluster.yml', generation: 1, ...props });
  return { rotation, json: synthJson(stack) };
}

describe('RkeCertificateRotation', () => {
  test('rke cert rotate --config in the cluster.yml directory, triggered by generation and services only', () => {
    const { rotation, json } = synth({ services: ['kubelet'] });
    expect(rotation.commands).toEqual(['rke cert rotate --service kubelet --config /srv/rke/cluster.yml']);
    const [res]: any[] = Object.values(json.resource!.terraform_data);
    expect(res.triggers_replace).toEqual({ generation: 1, services: ['kubelet'], rotateCA: false, upFirst: false });
    expect(res.provisioner[0]['remote-exec'].inline).toContain("cd /srv/rke || cr_fail 'cd /srv/rke'");
  });

  test('--rotate-ca is followed by a restart step of the system workloads, after the rotation', () => {
    const { rotation, json } = synth({ rotateCA: true, cluster: TARGET, upFirst: true });
    expect(rotation.commands.slice(0, 2)).toEqual(['rke up --config /srv/rke/cluster.yml', 'rke cert rotate --rotate-ca --config /srv/rke/cluster.yml']);
    expect(rotation.restart!.workloads).toEqual(RKE_ROTATE_CA_WORKLOADS);
    const step: any = Object.values(json.resource!.terraform_data).find((r: any) => r.provisioner[0]['local-exec']);
    expect(step.depends_on).toEqual([expect.stringContaining('rke_rotate')]);
  });

  test.each([
    [{ clusterConfigPath: 'cluster.yml' }, /'clusterConfigPath' \("cluster.yml"\) is not an absolute path/],
    [{ services: ['kubelet', 'etcd'] }, /lists more than one service/],
    [{ rotateCA: true }, /'cluster' \(undefined\) is missing while rotateCA is true/],
    [{ rotateCA: true, cluster: TARGET, services: ['etcd'] }, /is set with rotateCA/],
    [{ services: ['apiserver'] }, /not a service rke cert rotate knows/],
  ])('refuses %j', (props, message) => {
    expect(() => synth(props as Partial<RkeCertificateRotationProps>)).toThrow(message);
  });
});
