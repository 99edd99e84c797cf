import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { Testing } from 'cdktf';
import { CaBundle, cattleCaChecksum, ServerCertificate } from '../../../lib/pki';
import { RancherCaSecret } from '../../../lib/rotation';
import { issueServerCertificate, makePrivateCa, removeDir, tempDir } from '../../support/pki';
import { HOSTNAME, newStack, onlyResource, synthJson, VALIDITY, writeServerCertificate } from './support/fixtures';

describe('RancherCaSecret', () => {
  let dir: string;
  let cert: ServerCertificate;

  beforeAll(() => {
    dir = tempDir();
    const ca = makePrivateCa('Bundle', VALIDITY);
    cert = writeServerCertificate(dir, 'server', ca, issueServerCertificate(ca, HOSTNAME, VALIDITY));
  });
  afterAll(() => removeDir(dir));

  function synth(props: Partial<ConstructorParameters<typeof RancherCaSecret>[2]> = {}) {
    const stack = newStack();
    const ca = new RancherCaSecret(stack, 'ca', { bundle: cert.caBundle!, ...props });
    return { ca, json: synthJson(stack), text: Testing.synth(stack) };
  }

  test('writes cattle-system/tls-ca with cacerts.pem as plain data (the CA secret of Rancher\'s certificate update)', () => {
    // GIVEN a CA bundle (intermediate, then root) WHEN synthesized
    const { text } = synth();
    // THEN the generic secret holds it under cacerts.pem
    expect(text).toHaveResourceWithProperties(SecretV1, {
        metadata: expect.objectContaining({ name: 'tls-ca', namespace: 'cattle-system' }),
        type: 'Opaque',
        data: { 'cacerts.pem': cert.caBundle?.pem },
      });
  });

  test('annotates fingerprints in file order, the agents checksum and the earliest expiry', () => {
    const { ca, json } = synth();
    const secret = onlyResource(json, 'kubernetes_secret_v1');
    expect(cert.caBundle?.certificates).toHaveLength(2);
    expect(secret.metadata.annotations).toEqual({
      'cert-rotation.io/ca-sha256': `${cert.caBundle!.certificates[0].sha256Fingerprint},${cert.caBundle!.certificates[1].sha256Fingerprint}`,
      'cert-rotation.io/cattle-ca-checksum': cattleCaChecksum(cert.caBundle!.pem),
      'cert-rotation.io/not-after': '2026-01-01T00:00:00Z',
    });
    expect(ca.checksum).toBe(cattleCaChecksum(cert.caBundle!.pem));
    expect(ca.checksum).toBe(cert.caBundle?.checksum);
  });

  test('reports the earliest notAfter of the bundle', () => {
    // GIVEN a bundle whose second certificate expires first
    const early = { ...cert.caBundle!.certificates[1], notAfter: new Date('2025-09-30T12:00:00.500Z') };
    const { json } = synth({ bundle: new CaBundle([cert.caBundle!.certificates[0], early]) });
    // THEN the annotation carries that date, to the second
    expect(onlyResource(json, 'kubernetes_secret_v1').metadata.annotations['cert-rotation.io/not-after']).toBe('2025-09-30T12:00:00Z');
  });

  test('takes another namespace and secret name', () => {
    const secret = onlyResource(synth({ namespace: 'rancher', secretName: 'my-ca' }).json, 'kubernetes_secret_v1');
    expect(secret.metadata).toMatchObject({ name: 'my-ca', namespace: 'rancher' });
  });

  test('rejects a bundle that is not a CaBundle, naming the prop and the fix', () => {
    expect(() => synth({ bundle: { pem: '', certificates: [] } as unknown as CaBundle })).toThrow(
      /RancherCaSecret: 'bundle' \("object"\) is not a CaBundle; pass ServerCertificate.caBundle/,
    );
    expect(() => new CaBundle([])).toThrow(/must hold at least one certificate/);
  });

  test('synthesizes byte-identical JSON twice', () => {
    expect(synth().text).toBe(synth().text);
  });
});
