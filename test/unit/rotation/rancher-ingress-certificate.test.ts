import { Testing } from 'cdktf';
import { ServerCertificate, sha256Hex } from '../../../lib/pki';
import { RancherIngressCertificate, TlsCertificateSecret } from '../../../lib/rotation';
import { issueServerCertificate, makePrivateCa, removeDir, tempDir } from '../../support/pki';
import { HOSTNAME, newStack, onlyStep, stepEnvelope, synthJson, TARGET, VALIDITY, writeServerCertificate } from './support/fixtures';

describe('RancherIngressCertificate', () => {
  let dir: string;
  let cert: ServerCertificate;

  beforeAll(() => {
    dir = tempDir();
    const ca = makePrivateCa('Ingress', VALIDITY);
    cert = writeServerCertificate(dir, 'server', ca, issueServerCertificate(ca, HOSTNAME, VALIDITY));
  });
  afterAll(() => removeDir(dir));

  test('defaults to cattle-system/tls-rancher-ingress (the certificate secret of Rancher\'s certificate update)', () => {
    // GIVEN only a certificate WHEN synthesized
    const stack = newStack();
    const ingress = new RancherIngressCertificate(stack, 'ingress', { certificate: cert, target: TARGET });
    const step = onlyStep(synthJson(stack));
    // THEN the secret step has Rancher's names and type, tls.crt the chain and tls.key the key file
    expect(ingress).toBeInstanceOf(TlsCertificateSecret);
    expect(ingress.secretName).toBe('tls-rancher-ingress');
    expect(ingress.namespace).toBe('cattle-system');
    expect(stepEnvelope(step).spec).toMatchObject({
      step: 'secret',
      name: 'tls-rancher-ingress',
      namespace: 'cattle-system',
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': { text: cert.chainPem }, 'tls.key': { file: cert.keyFile, sha256: cert.keyFileSha256 } },
    });
    expect(step.triggers_replace.data['tls.crt']).toEqual({ sha256: sha256Hex(cert.chainPem) });
    expect(ingress.resource.node.id).toBe('Resource');
  });

  test('takes another namespace, secret name and target cluster', () => {
    const stack = newStack();
    const local = { cluster: 'local', kubeconfig: '/abs/local', context: 'local' };
    new RancherIngressCertificate(stack, 'ingress', { certificate: cert, namespace: 'rancher', secretName: 'my-tls', target: local });
    const step = onlyStep(synthJson(stack));
    expect(stepEnvelope(step)).toMatchObject({ target: local, spec: { name: 'my-tls', namespace: 'rancher' } });
    expect(step.triggers_replace).toMatchObject({ name: 'my-tls', namespace: 'rancher', cluster: 'local' });
  });

  test('names the subclass in prop errors', () => {
    const stack = newStack();
    expect(() => new RancherIngressCertificate(stack, 'ingress', { certificate: cert, secretName: 'TLS', target: TARGET })).toThrow(
      /^RancherIngressCertificate: 'name' \("TLS"\)/,
    );
  });

  test('synthesizes byte-identical JSON twice', () => {
    const once = () => {
      const stack = newStack();
      new RancherIngressCertificate(stack, 'ingress', { certificate: cert, target: TARGET });
      return Testing.synth(stack);
    };
    expect(once()).toBe(once());
  });
});
