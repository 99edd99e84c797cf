import * as fs from 'fs';
import * as path from 'path';
import { KubeApiError } from '../../../lib/cli/kube/client';
import { StepFailure } from '../../../lib/cli/step/context';
import { runSecretStep } from '../../../lib/cli/step/secret';
import { sha256Hex } from '../../../lib/contract';
import { SecretStepSpec } from '../../../lib/steps/spec';
import { issueServerCertificate, makePrivateCa, pemBodyLines, PrivateCa, RancherFiles, removeDir, tempDir, writeRancherFiles } from '../../support/pki';
import { fakeContext, FakeKube, rejection } from './support/fake-step-kube';

const HOST = 'rancher.example.com';
const PATH = '/api/v1/namespaces/cattle-system/secrets/tls-rancher-ingress';
const APPLY = 'application/apply-patch+yaml';
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

describe('runSecretStep', () => {
  let dir: string;
  let ca: PrivateCa;
  let files: RancherFiles;

  beforeAll(() => {
    dir = tempDir();
    ca = makePrivateCa('Step', {});
    files = writeRancherFiles(path.join(dir, 'server'), ca, HOST);
  });
  afterAll(() => removeDir(dir));

  function spec(over: Partial<SecretStepSpec> = {}, keyFile = files.keyFile, keySha = sha256Hex(fs.readFileSync(keyFile))): SecretStepSpec {
    return {
      step: 'secret',
      namespace: 'cattle-system',
      name: 'tls-rancher-ingress',
      type: 'kubernetes.io/tls',
      data: { 'tls.crt': { text: files.chainPem }, 'tls.key': { file: keyFile, sha256: keySha } },
      annotations: { 'cert-rotation.io/sha256': 'abc' },
      fieldManager: 'cert-rotation-secret-0123456789',
      ...over,
    };
  }

  /** Nothing printed or thrown holds a line of the key or the base64 of either value. */
  function expectNoSecretData(text: string): void {
    expect(text).not.toContain('PRIVATE KEY');
    for (const line of pemBodyLines(files.keyPem)) expect(text).not.toContain(line);
    expect(text).not.toContain(b64(files.keyPem).slice(0, 40));
    expect(text).not.toContain(b64(files.chainPem).slice(0, 40));
  }

  test('creates the Secret by server-side apply (force, own field manager), reads it back and logs digests only', async () => {
    // GIVEN a cluster without the Secret
    const kube = new FakeKube();
    const { ctx, lines } = fakeContext(kube);
    // WHEN the step runs
    await runSecretStep(spec(), ctx);
    // THEN one apply sends both values, the type and the annotations
    expect(kube.patches).toEqual([
      {
        path: PATH,
        contentType: APPLY,
        query: { fieldManager: 'cert-rotation-secret-0123456789', force: 'true' },
        body: {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: { name: 'tls-rancher-ingress', namespace: 'cattle-system', annotations: { 'cert-rotation.io/sha256': 'abc' } },
          type: 'kubernetes.io/tls',
          data: { 'tls.crt': b64(files.chainPem), 'tls.key': b64(fs.readFileSync(files.keyFile)) },
        },
      },
    ]);
    // AND the log says what happened without the data
    expect(lines).toEqual([
      `cattle-system/tls-rancher-ingress: created (server-side apply as cert-rotation-secret-0123456789); read back: tls.crt sha256 ${sha256Hex(files.chainPem).slice(0, 12)}…, tls.key from its file, key matches the certificate`,
    ]);
    expectNoSecretData(lines.join('\n'));
  });

  test('takes over a Secret that exists (written by cert-manager): no AlreadyExists', async () => {
    const kube = new FakeKube();
    kube.objects.set(PATH, { type: 'kubernetes.io/tls', metadata: { annotations: { 'cert-manager.io/issuer-name': 'rancher' } }, data: { 'tls.crt': b64('old'), 'tls.key': b64('old') } });
    const { ctx, lines } = fakeContext(kube);
    await runSecretStep(spec(), ctx);
    expect(lines[0]).toMatch(/^cattle-system\/tls-rancher-ingress: taken over and updated/);
    expect(kube.objects.get(PATH).data['tls.key']).toBe(b64(fs.readFileSync(files.keyFile)));
  });

  test('a key file changed after the plan (SHA-256 differs from the spec) stops the step before anything is sent', async () => {
    const kube = new FakeKube();
    const error = await rejection(() => runSecretStep(spec({}, files.keyFile, sha256Hex('what the plan saw')), fakeContext(kube).ctx), StepFailure);
    expect(error.message).toBe(
      `${files.keyFile} changed after this plan was made (it no longer holds what was checked at synth, SHA-256 ${sha256Hex('what the plan saw').slice(0, 12)}…); ` +
        'nothing was written to cattle-system/tls-rancher-ingress: make the plan again from the files you mean to deploy',
    );
    expect(kube.patches).toEqual([]);
    expect(kube.gets).toEqual([]);
    expectNoSecretData(error.message);
  });

  test('a missing key file stops the step, naming the file', async () => {
    const kube = new FakeKube();
    const missing = path.join(dir, 'gone.key');
    const error = await rejection(() => runSecretStep(spec({}, missing, sha256Hex('x')), fakeContext(kube).ctx), StepFailure);
    expect(error.message).toMatch(new RegExp(`^cannot read ${missing} for tls.key of cattle-system/tls-rancher-ingress: .*; nothing was written$`));
    expect(kube.patches).toEqual([]);
  });

  test('a key that does not belong to the certificate stops the step before anything is sent', async () => {
    // GIVEN another key, with its own correct SHA-256
    const other = issueServerCertificate(ca, HOST);
    const otherKey = path.join(dir, 'other.key');
    fs.writeFileSync(otherKey, other.keyPem, { mode: 0o600 });
    const kube = new FakeKube();
    const error = await rejection(() => runSecretStep(spec({}, otherKey), fakeContext(kube).ctx), StepFailure);
    expect(error.message).toBe('tls.key does not belong to the certificate in tls.crt of cattle-system/tls-rancher-ingress; nothing was written');
    expect(kube.patches).toEqual([]);
    for (const line of pemBodyLines(other.keyPem)) expect(error.message).not.toContain(line);
  });

  test('a read-back that differs (a webhook, cert-manager) fails naming the key and digests, never the data', async () => {
    // GIVEN a writer that replaces tls.key and an annotation right after the apply
    const kube = new FakeKube();
    kube.afterPatch = (_p, stored) => {
      stored.data['tls.key'] = b64(issueServerCertificate(ca, HOST).keyPem);
      stored.metadata.annotations['cert-rotation.io/sha256'] = 'zzz';
    };
    const { ctx, lines } = fakeContext(kube);
    // WHEN the step runs THEN it fails naming what differs by key and SHA-256
    const error = await rejection(() => runSecretStep(spec(), ctx), StepFailure);
    const held = sha256Hex(Buffer.from(kube.objects.get(PATH).data['tls.key'], 'base64'));
    expect(error.message).toBe(
      'cattle-system/tls-rancher-ingress read back after the write does not hold what was written: ' +
        `tls.key holds other content (SHA-256 ${held.slice(0, 12)}…, written ${sha256Hex(fs.readFileSync(files.keyFile)).slice(0, 12)}…); ` +
        "annotation cert-rotation.io/sha256 is 'zzz', written 'abc'. " +
        'Something else writes this Secret (cert-manager for a Rancher-issued certificate, a mutating webhook): stop it, then deploy again',
    );
    expectNoSecretData(error.message);
    expect(lines).toEqual([]);
  });

  test('a read-back without a key or of another type fails', async () => {
    const kube = new FakeKube();
    kube.afterPatch = (_p, stored) => {
      delete stored.data['tls.crt'];
      stored.type = 'Opaque';
    };
    const error = await rejection(() => runSecretStep(spec(), fakeContext(kube).ctx), StepFailure);
    expect(error.message).toMatch(/does not hold what was written: tls.crt is missing; type is Opaque, not kubernetes.io\/tls\./);
  });

  test('an Opaque secret of text values (tls-ca) needs no key check', async () => {
    const kube = new FakeKube();
    const { ctx, lines } = fakeContext(kube);
    await runSecretStep(
      spec({ name: 'tls-ca', type: 'Opaque', data: { 'cacerts.pem': { text: files.caPem } }, annotations: {} }),
      ctx,
    );
    expect(kube.patches[0].body.data).toEqual({ 'cacerts.pem': b64(files.caPem) });
    expect(lines[0]).toMatch(/^cattle-system\/tls-ca: created .*read back: cacerts.pem sha256 [0-9a-f]{12}…$/);
  });

  test('an API error on the write says the Secret is as it was, with a hint for a type change', async () => {
    const kube = new FakeKube();
    kube.patch = async () => {
      throw new KubeApiError(422, { message: 'Secret "tls-rancher-ingress" is invalid: type: Invalid value: "kubernetes.io/tls": field is immutable' });
    };
    const error = await rejection(() => runSecretStep(spec(), fakeContext(kube).ctx), StepFailure);
    expect(error.message).toMatch(
      /^writing cattle-system\/tls-rancher-ingress failed: the API server answered HTTP 422: .*field is immutable; the existing Secret has another type than kubernetes.io\/tls: delete it \(kubectl -n cattle-system delete secret tls-rancher-ingress\) and deploy again\. The Secret is as it was; deploy again to retry$/,
    );
  });
});
