import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import * as fs from 'fs';
import * as path from 'path';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { Testing, TerraformStack } from 'cdktf';
import { certificateMetadata } from '../../../lib/contract';
import { ServerCertificate, sha256Hex } from '../../../lib/pki';
import { contentRevision, TlsCertificateSecret } from '../../../lib/rotation';
import { issueServerCertificate, makePrivateCa, pemBodyLines, PrivateCa, removeDir, tempDir } from '../../support/pki';
import { HOSTNAME, newStack, onlyResource, resourcesOfType, synthJson, VALIDITY, writeServerCertificate } from './support/fixtures';

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
    const secret = new TlsCertificateSecret(stack, 'secret', { certificate, name: 'web-tls', namespace: 'web', ...extra });
    return { stack, secret, json: synthJson(stack), text: Testing.synth(stack) };
  }

  test('writes a kubernetes.io/tls secret whose key is only a file() reference in data_wo', () => {
    // GIVEN a loaded certificate WHEN the secret is synthesized
    const { text } = synth(cert);
    // THEN tls.crt is the public chain, tls.key is file("<absolute path>"), and the revision follows the chain
    expect(text).toHaveResourceWithProperties(SecretV1, {
        type: 'kubernetes.io/tls',
        metadata: expect.objectContaining({ name: 'web-tls', namespace: 'web' }),
        data_wo: { 'tls.crt': cert.chainPem, 'tls.key': `\${file("${path.resolve(cert.keyFile)}")}` },
        data_wo_revision: contentRevision(cert.chainPem),
      });
    expect(path.isAbsolute(cert.keyFile)).toBe(true);
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

  test('uses data_wo only: no data attribute (data_wo conflicts with data)', () => {
    const resource = onlyResource(synth(cert).json, 'kubernetes_secret_v1');
    expect(resource).not.toHaveProperty('data');
    expect(Object.keys(resource.data_wo).sort()).toEqual(['tls.crt', 'tls.key']);
  });

  test('annotates the public metadata and the chain hash', () => {
    const resource = onlyResource(synth(cert).json, 'kubernetes_secret_v1');
    expect(resource.metadata.annotations).toEqual({
      ...certificateMetadata(cert.leaf),
      'cert-rotation.io/chain-sha256': sha256Hex(cert.chainPem),
    });
    expect(resource.metadata.annotations['cert-rotation.io/sans']).toBe('rancher.example.com');
    expect(resource.metadata.annotations['cert-rotation.io/sha256']).toBe(cert.leaf.sha256Fingerprint);
  });

  test('keeps the revision for the same chain and changes it for a new chain', () => {
    // GIVEN the same certificate loaded twice, and a new leaf for the same key
    const again = writeServerCertificate(dir, 'again', ca, { certPem: cert.leaf.pem, keyPem });
    const renewed = writeServerCertificate(dir, 'renewed', ca, issueServerCertificate(ca, HOSTNAME, { ...VALIDITY, keyPem }));
    // WHEN each is synthesized
    const first = onlyResource(synth(cert).json, 'kubernetes_secret_v1');
    const same = onlyResource(synth(again).json, 'kubernetes_secret_v1');
    const next = onlyResource(synth(renewed).json, 'kubernetes_secret_v1');
    // THEN the revision is unchanged for the same chain and changes for the new one, as do the annotations
    expect(same.data_wo_revision).toBe(first.data_wo_revision);
    expect(same.metadata.annotations).toEqual(first.metadata.annotations);
    expect(next.data_wo_revision).not.toBe(first.data_wo_revision);
    expect(next.data_wo_revision).toBeGreaterThanOrEqual(1);
    expect(next.metadata.annotations['cert-rotation.io/serial']).not.toBe(first.metadata.annotations['cert-rotation.io/serial']);
    // the key path is a reference, the same file() expression for both (the key did not change)
    expect(next.data_wo['tls.key']).toBe(`\${file("${path.resolve(renewed.keyFile)}")}`);
  });

  test('merges extra annotations but refuses to override the certificate metadata', () => {
    const ok = onlyResource(synth(cert, { extraAnnotations: { team: 'platform' } }).json, 'kubernetes_secret_v1');
    expect(ok.metadata.annotations.team).toBe('platform');
    expect(() => synth(cert, { extraAnnotations: { 'cert-rotation.io/sha256': 'x' } })).toThrow(
      /'extraAnnotations' \("cert-rotation.io\/sha256"\) sets an annotation this construct writes/,
    );
  });

  test('resolves a relative key path to an absolute one', () => {
    // GIVEN a certificate whose keyFile is relative to the working directory
    const relative: ServerCertificate = { ...cert, keyFile: path.relative(process.cwd(), cert.keyFile) };
    expect(path.isAbsolute(relative.keyFile)).toBe(false);
    // WHEN synthesized THEN file() gets the absolute path (Terraform runs in cdktf.out/stacks/<stack>)
    const resource = onlyResource(synth(relative).json, 'kubernetes_secret_v1');
    expect(resource.data_wo['tls.key']).toBe(`\${file("${cert.keyFile}")}`);
  });

  test('rejects a key path that file() cannot carry', () => {
    const quoted: ServerCertificate = { ...cert, keyFile: '/keys/"rancher"/tls.key' };
    expect(() => synth(quoted)).toThrow(
      /TlsCertificateSecret: 'certificate.keyFile' \("\/keys\/\\"rancher\\"\/tls.key"\) holds a character .* move or rename the key file/,
    );
    expect(() => synth({ ...cert, keyFile: '/keys/${var.x}/tls.key' })).toThrow(/holds a character/);
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
    expect(() => new TlsCertificateSecret(stack, 'a', { certificate: cert, name: 'Web_TLS', namespace: 'web' })).toThrow(
      /TlsCertificateSecret: 'name' \("Web_TLS"\) is not a valid Kubernetes object name: it must be a DNS-1123 subdomain/,
    );
    expect(() => new TlsCertificateSecret(stack, 'b', { certificate: cert, name: 'web-tls', namespace: 'web.ns' })).toThrow(
      /'namespace' \("web.ns"\) is not a valid Kubernetes namespace name: it must be a DNS-1123 label/,
    );
  });

  test('skips the name checks for values that are tokens', () => {
    // GIVEN a namespace that the stack creates, referenced by token
    const stack = newStack();
    const ns = new NamespaceV1(stack, 'ns', { metadata: { name: 'web' } });
    new TlsCertificateSecret(stack, 'secret', { certificate: cert, name: 'web-tls', namespace: ns.metadata.name });
    // WHEN synthesized THEN the reference is kept
    const secret = resourcesOfType(synthJson(stack), 'kubernetes_secret_v1')[0][1];
    expect(secret.metadata.namespace).toMatch(/^\$\{kubernetes_namespace_v1\.ns\.metadata\[0\]\.name\}$/);
  });

  test('synthesizes byte-identical JSON twice', () => {
    expect(synth(cert).text).toBe(synth(cert).text);
  });

  test('the apply refuses a key file that changed after synth: a precondition on its digest', () => {
    // GIVEN a loaded certificate WHEN synthesized THEN the secret carries a precondition comparing
    // filesha256(key file) with the digest taken at synth, which is in a local (never the key itself)
    const { json } = synth(cert);
    const resource = onlyResource(json, 'kubernetes_secret_v1');
    const [precondition] = resource.lifecycle.precondition;
    expect(precondition.condition).toMatch(/^\$\{\(filesha256\(".*tls\.key"\) == local\.\S+\)\}$/);
    expect(Object.values((json as unknown as { locals: Record<string, string> }).locals)).toEqual([cert.keyFileSha256]);
    expect(precondition.error_message).toMatch(/changed after this plan was made/);
  });
});
