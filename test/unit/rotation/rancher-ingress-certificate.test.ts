import { Testing } from 'cdktf';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { ServerCertificate } from '../../../lib/pki';
import { contentRevision, RancherIngressCertificate, TlsCertificateSecret } from '../../../lib/rotation';
import { issueServerCertificate, makePrivateCa, removeDir, tempDir } from '../../support/pki';
import { HOSTNAME, newStack, onlyResource, synthJson, VALIDITY, writeServerCertificate } from './support/fixtures';

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
    const ingress = new RancherIngressCertificate(stack, 'ingress', { certificate: cert });
    const secret = onlyResource(synthJson(stack), 'kubernetes_secret_v1');
    // THEN the secret has Rancher's names, type and the write-only revision
    expect(ingress).toBeInstanceOf(TlsCertificateSecret);
    expect(ingress.secretName).toBe('tls-rancher-ingress');
    expect(ingress.namespace).toBe('cattle-system');
    expect(secret.metadata.name).toBe('tls-rancher-ingress');
    expect(secret.metadata.namespace).toBe('cattle-system');
    expect(secret.type).toBe('kubernetes.io/tls');
    expect(secret.data_wo_revision).toBe(contentRevision(cert.chainPem));
    expect(ingress.resource.node.id).toBe('Resource');
  });

  test('takes another namespace, secret name and provider', () => {
    const stack = newStack();
    const local = new KubernetesProvider(stack, 'local', { alias: 'local', configPath: '/abs/local' });
    new RancherIngressCertificate(stack, 'ingress', { certificate: cert, namespace: 'rancher', secretName: 'my-tls', provider: local });
    const secret = onlyResource(synthJson(stack), 'kubernetes_secret_v1');
    expect(secret.metadata).toMatchObject({ name: 'my-tls', namespace: 'rancher' });
    expect(secret.provider).toBe('kubernetes.local');
  });

  test('names the subclass in prop errors', () => {
    const stack = newStack();
    expect(() => new RancherIngressCertificate(stack, 'ingress', { certificate: cert, secretName: 'TLS' })).toThrow(
      /^RancherIngressCertificate: 'name' \("TLS"\)/,
    );
  });

  test('synthesizes byte-identical JSON twice', () => {
    const once = () => {
      const stack = newStack();
      new RancherIngressCertificate(stack, 'ingress', { certificate: cert });
      return Testing.synth(stack);
    };
    expect(once()).toBe(once());
  });
});
