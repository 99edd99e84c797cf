import { Testing } from 'cdktf';
import { CaBundle, cattleCaChecksum, ServerCertificate, sha256Hex } from '../../../lib/pki';
import { RancherCaSecret } from '../../../lib/rotation';
import { SecretStepSpec } from '../../../lib/steps/spec';
import { issueServerCertificate, makePrivateCa, removeDir, tempDir } from '../../support/pki';
import { HOSTNAME, newStack, onlyStep, stepEnvelope, synthJson, TARGET, VALIDITY, writeServerCertificate } from './support/fixtures';

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
    const ca = new RancherCaSecret(stack, 'ca', { bundle: cert.caBundle!, target: TARGET, ...props });
    const step = onlyStep(synthJson(stack));
    return { ca, step, spec: stepEnvelope(step).spec as SecretStepSpec, text: Testing.synth(stack) };
  }

  test('is a secret step writing cattle-system/tls-ca, Opaque, with cacerts.pem as text (the CA secret of Rancher\'s certificate update)', () => {
    // GIVEN a CA bundle (intermediate, then root) WHEN synthesized
    const { step, ca } = synth();
    // THEN the step writes the generic secret with the bundle under cacerts.pem, on the target cluster
    expect(stepEnvelope(step)).toEqual({
      version: 1,
      target: TARGET,
      spec: {
        step: 'secret',
        namespace: 'cattle-system',
        name: 'tls-ca',
        type: 'Opaque',
        data: { 'cacerts.pem': { text: cert.caBundle!.pem } },
        annotations: ca.annotations,
        fieldManager: expect.stringMatching(/^cert-rotation-secret-[0-9a-f]{10}$/),
      },
    });
    // AND the plan shows the bundle by its SHA-256 (the agents' checksum, as the bundle ends with one newline)
    expect(step.triggers_replace.data).toEqual({ 'cacerts.pem': { sha256: sha256Hex(cert.caBundle!.pem) } });
    expect(step.triggers_replace).toMatchObject({ step: 'secret', type: 'Opaque', name: 'tls-ca', namespace: 'cattle-system', cluster: 'prod' });
    expect(ca.resource).toBe(ca.step.resource);
  });

  test('annotates fingerprints in file order, the agents checksum and the earliest expiry', () => {
    const { ca, spec, step } = synth();
    expect(cert.caBundle?.certificates).toHaveLength(2);
    expect(step.triggers_replace.annotations).toEqual(spec.annotations);
    expect(spec.annotations).toEqual({
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
    // THEN the annotation carries that date, to the second
    expect(synth({ bundle: new CaBundle([cert.caBundle!.certificates[0], early]) }).spec.annotations['cert-rotation.io/not-after']).toBe('2025-09-30T12:00:00Z');
  });

  test('takes another namespace and secret name', () => {
    const { spec, ca } = synth({ namespace: 'rancher', secretName: 'my-ca' });
    expect(spec).toMatchObject({ name: 'my-ca', namespace: 'rancher' });
    expect([ca.secretName, ca.namespace]).toEqual(['my-ca', 'rancher']);
    expect(() => synth({ namespace: 'Rancher' })).toThrow(/^RancherCaSecret: 'namespace' \("Rancher"\) is not a valid Kubernetes namespace name/);
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
