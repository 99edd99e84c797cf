import * as fs from 'fs';
import * as path from 'path';
import { Testing, TerraformStack } from 'cdktf';
import { certificateMetadata } from '../../../lib/contract';
import { ServerCertificate, sha256Hex } from '../../../lib/pki';
import { TlsCertificateSecret } from '../../../lib/rotation';
import { SecretStepSpec, STEP_SPEC_VERSION } from '../../../lib/steps/spec';
import { issueServerCertificate, makePrivateCa, pemBodyLines, PrivateCa, removeDir, tempDir } from '../../support/pki';
import { HOSTNAME, newStack, onlyStep, stepEnvelope, synthJson, TARGET, VALIDITY, writeServerCertificate } from './support/fixtures';

describe('TlsCertificateSecret', () => {
  let dir: string;
  let ca: PrivateCa;
  let keyPem: string;
  let cert: ServerCertificate;

  beforeAll(() => {
    dir = tempDir();
    ca = makePrivateCa('Secret', VALIDITY);
    const leaf = issueServerCertificate(ca, HOSTNAME, VALIDITY);
    keyPem = leaf.keyPem;
    cert = writeServerCertificate(dir, 'first', ca, leaf);
  });
  afterAll(() => removeDir(dir));

  function synth(certificate: ServerCertificate, extra: Partial<{ extraAnnotations: Record<string, string> }> = {}) {
    const stack = newStack();
    const secret = new TlsCertificateSecret(stack, 'secret', { certificate, name: 'web-tls', namespace: 'web', target: TARGET, ...extra });
    const json = synthJson(stack);
    const step = onlyStep(json);
    return { stack, secret, json, step, spec: stepEnvelope(step).spec as SecretStepSpec, text: Testing.synth(stack) };
  }

  test('is a secret step: kubernetes.io/tls with tls.crt the chain and tls.key the key file by path and SHA-256', () => {
    // GIVEN a loaded certificate WHEN the secret is synthesized
    const { step, secret } = synth(cert);
    // THEN the step's envelope targets the cluster and writes the chain as text and the key by reference
    const envelope = stepEnvelope(step);
    expect(envelope.version).toBe(STEP_SPEC_VERSION);
    expect(envelope.target).toEqual(TARGET);
    expect(envelope.spec).toEqual({
      step: 'secret',
      namespace: 'web',
      name: 'web-tls',
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': { text: cert.chainPem }, 'tls.key': { file: cert.keyFile, sha256: sha256Hex(fs.readFileSync(cert.keyFile)) } },
      annotations: secret.annotations,
      fieldManager: expect.stringMatching(/^cert-rotation-secret-[0-9a-f]{10}$/),
    });
    expect(path.isAbsolute(cert.keyFile)).toBe(true);
    // AND triggers_replace names both values by SHA-256 (and the key by its file), with the cluster
    expect(step.triggers_replace).toEqual({
      ...envelope.spec,
      data: { 'tls.crt': { sha256: sha256Hex(cert.chainPem) }, 'tls.key': { file: cert.keyFile, sha256: cert.keyFileSha256 } },
      cluster: 'prod',
    });
    expect(secret.resource).toBe(secret.step.resource);
    expect(secret.chainSha256).toBe(sha256Hex(cert.chainPem));
  });

  test('puts no byte of the private key into the synthesized JSON', () => {
    // GIVEN the key PEM WHEN the stack is synthesized THEN neither its header nor any base64 line is in the output
    const { text } = synth(cert);
    expect(text).not.toContain('PRIVATE KEY');
    for (const line of pemBodyLines(keyPem)) {
      expect(text).not.toContain(line);
    }
    expect(text).not.toContain(fs.readFileSync(cert.keyFile, 'utf8').slice(40, 100));
  });

  test('annotates the public metadata and the chain hash', () => {
    const { spec, step } = synth(cert);
    expect(spec.annotations).toEqual({
      ...certificateMetadata(cert.leaf),
      'cert-rotation.io/chain-sha256': sha256Hex(cert.chainPem),
    });
    expect(spec.annotations['cert-rotation.io/sans']).toBe('rancher.example.com');
    expect(spec.annotations['cert-rotation.io/sha256']).toBe(cert.leaf.sha256Fingerprint);
    expect(step.triggers_replace.annotations).toEqual(spec.annotations);
    expect(Object.keys(spec.annotations)).toEqual([...Object.keys(spec.annotations)].sort());
  });

  test('keeps triggers_replace for the same chain and key, and changes it for a new chain', () => {
    // GIVEN the same certificate loaded twice, and a new leaf for the same key
    const again = writeServerCertificate(dir, 'again', ca, { certPem: cert.leaf.pem, keyPem });
    const renewed = writeServerCertificate(dir, 'renewed', ca, issueServerCertificate(ca, HOSTNAME, { ...VALIDITY, keyPem }));
    // WHEN each is synthesized
    const first = synth(cert).step.triggers_replace;
    const same = synth(again).step.triggers_replace;
    const next = synth(renewed).step.triggers_replace;
    // THEN the same chain and key (at another path) differ only in the key's path
    expect({ ...same, data: { ...same.data, 'tls.key': { ...same.data['tls.key'], file: 'x' } } }).toEqual({
      ...first,
      data: { ...first.data, 'tls.key': { ...first.data['tls.key'], file: 'x' } },
    });
    // AND a new chain for the same key changes the chain digest and the annotations, not the key's digest
    expect(next.data['tls.crt'].sha256).not.toBe(first.data['tls.crt'].sha256);
    expect(next.data['tls.key'].sha256).toBe(first.data['tls.key'].sha256);
    expect(next.annotations['cert-rotation.io/serial']).not.toBe(first.annotations['cert-rotation.io/serial']);
    expect(next.data['tls.key'].file).toBe(path.resolve(renewed.keyFile));
  });

  test('merges extra annotations but refuses to override the certificate metadata', () => {
    const ok = synth(cert, { extraAnnotations: { team: 'platform' } });
    expect(ok.spec.annotations.team).toBe('platform');
    expect(ok.step.triggers_replace.annotations.team).toBe('platform');
    expect(() => synth(cert, { extraAnnotations: { 'cert-rotation.io/sha256': 'x' } })).toThrow(
      /'extraAnnotations' \("cert-rotation.io\/sha256"\) sets an annotation this construct writes from the certificate; remove it/,
    );
  });

  test('resolves a relative key path to an absolute one', () => {
    // GIVEN a certificate whose keyFile is relative to the working directory
    const relative: ServerCertificate = { ...cert, keyFile: path.relative(process.cwd(), cert.keyFile) };
    expect(path.isAbsolute(relative.keyFile)).toBe(false);
    // WHEN synthesized THEN the step reads the absolute path (Terraform runs it in cdktf.out/stacks/<stack>)
    expect(synth(relative).spec.data['tls.key']).toEqual({ file: cert.keyFile, sha256: cert.keyFileSha256 });
  });

  test('carries any key path: quotes as they are, ${ escaped for Terraform', () => {
    const quoted = synth({ ...cert, keyFile: '/keys/"rancher"/tls.key' });
    expect(quoted.spec.data['tls.key']).toEqual({ file: '/keys/"rancher"/tls.key', sha256: cert.keyFileSha256 });
    const dollar = synth({ ...cert, keyFile: '/keys/${var.x}/tls.key' });
    expect(dollar.step.triggers_replace.data['tls.key'].file).toBe('/keys/$${var.x}/tls.key');
    expect(dollar.spec.data['tls.key']).toEqual({ file: '/keys/${var.x}/tls.key', sha256: cert.keyFileSha256 });
  });

  test('refuses a certificate without a key file or a chain, naming the field and the fix', () => {
    expect(() => synth({ ...cert, keyFile: '' })).toThrow(
      /^TlsCertificateSecret: 'certificate.keyFile' \(""\) is empty: the private key is read by the step from this file at apply time; load the certificate with loadServerCertificate/,
    );
    expect(() => synth({ ...cert, keyFileSha256: undefined })).toThrow(/'certificate.keyFile' .* is empty/);
    expect(() => synth({ ...cert, chainPem: ' ' })).toThrow(/'certificate.chainPem' .* is missing; pass the object loadServerCertificate\(\) returns/);
  });

  test('adds every certificate warning as a namespaced cdktf warning', () => {
    // GIVEN a certificate with a warning from lib/pki
    const warned: ServerCertificate = {
      ...cert,
      warnings: [{ id: 'cert-rotation:expiresSoon', message: 'tls.crt: expires in 3 days; rotate it.' }],
    };
    // WHEN the construct is created
    const { secret } = synth(warned);
    // THEN the construct carries the warning with its id once
    const warnings = secret.node.metadata.filter((m) => m.type === '@cdktf/warn').map((m) => m.data);
    expect(warnings).toEqual(['[cert-rotation:expiresSoon] tls.crt: expires in 3 days; rotate it.']);
  });

  test('rejects names Kubernetes would reject, naming the prop and the rule', () => {
    const stack = new TerraformStack(Testing.app(), 'bad');
    expect(() => new TlsCertificateSecret(stack, 'a', { certificate: cert, name: 'Web_TLS', namespace: 'web', target: TARGET })).toThrow(
      /TlsCertificateSecret: 'name' \("Web_TLS"\) is not a valid Kubernetes object name: it must be a DNS-1123 subdomain/,
    );
    expect(() => new TlsCertificateSecret(stack, 'b', { certificate: cert, name: 'web-tls', namespace: 'web.ns', target: TARGET })).toThrow(
      /'namespace' \("web.ns"\) is not a valid Kubernetes namespace name: it must be a DNS-1123 label/,
    );
  });

  test('gives each secret its own field manager, from its construct path', () => {
    const stack = newStack();
    const a = new TlsCertificateSecret(stack, 'a', { certificate: cert, name: 'a-tls', namespace: 'web', target: TARGET });
    const b = new TlsCertificateSecret(stack, 'b', { certificate: cert, name: 'b-tls', namespace: 'web', target: TARGET });
    const managers = [a, b].map((s) => (s.step.spec as SecretStepSpec).fieldManager);
    expect(new Set(managers).size).toBe(2);
    expect(synth(cert).spec.fieldManager).toBe(synth(cert).spec.fieldManager);
  });

  test('synthesizes byte-identical JSON twice', () => {
    expect(synth(cert).text).toBe(synth(cert).text);
  });
});
