import { Testing } from 'cdktf';
import { cattleCaChecksum, ServerCertificate } from '../../../lib/pki';
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
    const ca = new RancherCaSecret(stack, 'ca', { caPem: cert.caPem!, cas: cert.cas!, ...props });
    return { ca, json: synthJson(stack), text: Testing.synth(stack) };
  }

  test('writes cattle-system/tls-ca with cacerts.pem as plain data (seed 004 §2)', () => {
    // GIVEN a CA bundle (intermediate, then root) WHEN synthesized
    const { text } = synth();
    // THEN the generic secret holds it under cacerts.pem
    expect(
      Testing.toHaveResourceWithProperties(text, 'kubernetes_secret_v1', {
        metadata: { name: 'tls-ca', namespace: 'cattle-system' },
        type: 'Opaque',
        data: { 'cacerts.pem': cert.caPem },
      }),
    ).toBe(true);
  });

  test('annotates fingerprints in file order, the agents checksum and the earliest expiry', () => {
    const { ca, json } = synth();
    const secret = onlyResource(json, 'kubernetes_secret_v1');
    expect(cert.cas).toHaveLength(2);
    expect(secret.metadata.annotations).toEqual({
      'cert-rotation.io/ca-sha256': `${cert.cas![0].sha256Fingerprint},${cert.cas![1].sha256Fingerprint}`,
      'cert-rotation.io/cattle-ca-checksum': cattleCaChecksum(cert.caPem!),
      'cert-rotation.io/not-after': '2026-01-01T00:00:00Z',
    });
    expect(ca.checksum).toBe(cattleCaChecksum(cert.caPem!));
    expect(ca.checksum).toBe(cert.caChecksum);
  });

  test('reports the earliest notAfter of the bundle', () => {
    // GIVEN a bundle whose second certificate expires first
    const early = { ...cert.cas![1], notAfter: new Date('2025-09-30T12:00:00.500Z') };
    const { json } = synth({ cas: [cert.cas![0], early] });
    // THEN the annotation carries that date, to the second
    expect(onlyResource(json, 'kubernetes_secret_v1').metadata.annotations['cert-rotation.io/not-after']).toBe('2025-09-30T12:00:00Z');
  });

  test('takes another namespace and secret name', () => {
    const secret = onlyResource(synth({ namespace: 'rancher', secretName: 'my-ca' }).json, 'kubernetes_secret_v1');
    expect(secret.metadata).toMatchObject({ name: 'my-ca', namespace: 'rancher' });
  });

  test('rejects an empty bundle, naming the prop and the fix', () => {
    expect(() => synth({ cas: [] })).toThrow(/RancherCaSecret: 'cas' is empty: .* pass ServerCertificate.cas/);
    expect(() => synth({ caPem: '' })).toThrow(/RancherCaSecret: 'caPem' holds no PEM certificate/);
  });

  test('synthesizes byte-identical JSON twice', () => {
    expect(synth().text).toBe(synth().text);
  });
});
