import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { SecretV1 } from '@cdktf/provider-kubernetes/lib/secret-v1';
import { Fn, TerraformStack } from 'cdktf';
import { kubernetesProvider } from '../../stacks/providers';
import { expectNoKey, Workspace } from './support/terraform';
import { kubeGet, loadTestbedEnv } from '../../scripts/testbed/client';

// GIVEN a key generated now, WHEN a stack whose secret gets the key only through
// data_wo is deployed with `cdktf deploy`, THEN the API server holds the exact
// bytes, a second plan is empty, and the key is in no artifact.
describe('write-only secret on the test bed', () => {
  const env = loadTestbedEnv();
  const ws = new Workspace('write-only-secret');
  const secretName = `generated-key-${Date.now().toString(36)}`;
  const keyFile = path.join(ws.dir, 'generated.key');
  const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

  beforeAll(() => {
    fs.writeFileSync(keyFile, keyPem, { mode: 0o600 });
    ws.synth((app) => {
      const stack = new TerraformStack(app, 'write-only-secret');
      const provider = kubernetesProvider(stack, 'kubernetes', { kubeconfig: env.KUBECONFIG, context: 'testbed-1' });
      new SecretV1(stack, 'secret', {
        provider,
        metadata: { name: secretName, namespace: 'default' },
        dataWo: { 'tls.key': Fn.file(keyFile) },
        dataWoRevision: 1,
      });
    });
  });

  afterAll(() => {
    try {
      ws.destroy('write-only-secret');
    } finally {
      ws.remove();
    }
  });

  test('deploys, reads back the same bytes, plans nothing more, leaks nothing', () => {
    ws.deploy('write-only-secret');

    const secret = kubeGet(1, `/api/v1/namespaces/default/secrets/${secretName}`);
    expect(Buffer.from(secret.data['tls.key'], 'base64').toString()).toBe(keyPem);

    const second = ws.plan('write-only-secret');
    expect(second.changes).toEqual([]);

    expectNoKey(ws.synthesizedText(), keyPem, 'cdktf.out');
    expectNoKey(second.raw, keyPem, 'the plan JSON');
    expectNoKey(fs.readFileSync(ws.statePath('write-only-secret'), 'utf8'), keyPem, 'the state file');
    expectNoKey(ws.logs.join('\n'), keyPem, 'the deploy and plan logs');
  });
});
