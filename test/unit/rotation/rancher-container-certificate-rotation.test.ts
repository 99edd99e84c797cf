import { RancherContainerCertificateRotation, RancherContainerCertificateRotationProps, rancherContainerCertificatePath } from '../../../lib/rotation';
import { newStack, synthJson } from './support/fixtures';

const HOST = { name: 'rancher-host', host: '10.0.0.9', agent: true };

function synth(props: Partial<RancherContainerCertificateRotationProps> = {}) {
  const stack = newStack();
  const rotation = new RancherContainerCertificateRotation(stack, 'rancher', { host: HOST, container: 'rancher', rancherVersion: '2.8.5', generation: 1, ...props });
  const [res]: any[] = Object.values(synthJson(stack).resource!.terraform_data);
  return { rotation, res };
}

describe('RancherContainerCertificateRotation', () => {
  test.each([
    ['2.0.14', '/var/lib/rancher/management-state/certs/bundle.json', 1],
    ['v2.1.9', '/var/lib/rancher/management-state/certs/bundle.json', 1],
    ['2.2.2', '/var/lib/rancher/management-state/tls/localhost.crt', 1],
    ['2.3.0', '/var/lib/rancher/k3s/server/tls', 2],
    ['2.12.3', '/var/lib/rancher/k3s/server/tls', 2],
  ])('Rancher %s: moves %s aside, restarts %i time(s)', (version, path, restarts) => {
    expect(rancherContainerCertificatePath(version)).toEqual({ path, restarts });
  });

  test('2.3+: mv the k3s tls dir, docker restart twice, check it is made again; generation is the only trigger', () => {
    const { rotation, res } = synth({ generation: 2, servedEndpoint: 'rancher.example.com:443' });
    expect(rotation.commands).toEqual([
      'docker exec rancher mv /var/lib/rancher/k3s/server/tls /var/lib/rancher/k3s/server/tls-bak-g2',
      'docker restart rancher',
      'docker restart rancher',
      'docker exec rancher test -e /var/lib/rancher/k3s/server/tls',
      'check: certificate served at rancher.example.com:443 valid 30 more days',
    ]);
    expect(res.triggers_replace).toEqual({ generation: 2 });
    expect(res.connection).toMatchObject({ agent: 'true' });
    expect(res.connection.private_key).toBeUndefined();
  });

  test.each([
    [{ rancherVersion: '3.0' }, /'rancherVersion' \("3.0"\) is not a Rancher 2.x version/],
    [{ container: 'a b' }, /'container' \("a b"\) is not a container name or id/],
    [{ generation: 1.5 }, /'generation' \(1.5\)/],
  ])('refuses %j', (props, message) => {
    expect(() => synth(props as Partial<RancherContainerCertificateRotationProps>)).toThrow(message);
  });
});
