import * as fs from 'fs';
import * as path from 'path';
import { NamespaceV1 } from '@cdktf/provider-kubernetes/lib/namespace-v1';
import { Testing, TerraformStack } from 'cdktf';
import { sha256Hex } from '../../../lib/contract';
import { ServerCertificate } from '../../../lib/pki';
import { ClusterStep } from '../../../lib/rotation/cluster-step';
import { publicStep } from '../../../lib/steps/public';
import { SecretStepSpec, STEP_ENV, STEP_SPEC_VERSION, StepSpec } from '../../../lib/steps/spec';
import { issueServerCertificate, makePrivateCa, pemBodyLines, removeDir, tempDir } from '../../support/pki';
import { HOSTNAME, newStack, onlyStep, stepEnvelope, synthJson, TARGET, VALIDITY, writeServerCertificate } from './support/fixtures';

const BIN = path.resolve(__dirname, '../../../bin/cert-rotation.js');

const RESTART: StepSpec = {
  step: 'restart',
  workloads: [{ kind: 'Deployment', namespace: 'apps', name: 'web' }],
  annotations: { 'cert-rotation.io/trust-sha256': sha256Hex('trust') },
  fieldManager: 'cert-rotation-restart-0123456789',
  waitSeconds: 30,
};

function synth(spec: StepSpec, target = TARGET) {
  const stack = newStack();
  const step = new ClusterStep(stack, 'step', { spec, target });
  const text = Testing.synth(stack);
  return { stack, step, text, json: JSON.parse(text), resource: onlyStep(JSON.parse(text)) };
}

/** Whether a synthesized text holds `${` or `%{` that Terraform would evaluate (not escaped as `$${` / `%%{`). */
function unescapedInterpolation(text: string): string[] {
  return [...text.matchAll(/(?<![$%])[$%]\{/g)].map((m) => text.slice(Math.max(0, m.index! - 20), m.index! + 20));
}

describe('ClusterStep', () => {
  test('is a terraform_data whose triggers_replace is the public form and whose provisioner runs the step with the envelope', () => {
    // GIVEN a restart spec WHEN synthesized
    const { resource, step } = synth(RESTART);
    // THEN triggers_replace is publicStep(spec, cluster): the spec and the cluster's name, not where the cluster is
    expect(resource.triggers_replace).toEqual({ ...RESTART, cluster: 'prod' });
    expect(resource.triggers_replace).toEqual(publicStep(RESTART, 'prod'));
    expect(step.publicForm).toEqual(resource.triggers_replace);
    expect(JSON.stringify(resource.triggers_replace)).not.toContain('/abs/kubeconfig');
    // AND one local-exec runs `node <package>/bin/cert-rotation.js step` with the envelope in $CERT_ROTATION_STEP
    expect(resource.provisioner).toHaveLength(1);
    const exec = resource.provisioner[0]['local-exec'];
    expect(exec.command).toBe(`node ${BIN} step`);
    expect(exec).not.toHaveProperty('when');
    expect(Object.keys(exec.environment)).toEqual([STEP_ENV]);
    expect(stepEnvelope(resource)).toEqual({ version: STEP_SPEC_VERSION, target: TARGET, spec: RESTART });
    expect(resource).not.toHaveProperty('depends_on');
  });

  test('$CERT_ROTATION_CLI at synth replaces the command', () => {
    const saved = process.env.CERT_ROTATION_CLI;
    process.env.CERT_ROTATION_CLI = ' /opt/cert-rotation/bin/cert-rotation ';
    try {
      expect(synth(RESTART).resource.provisioner[0]['local-exec'].command).toBe('/opt/cert-rotation/bin/cert-rotation step');
    } finally {
      if (saved === undefined) delete process.env.CERT_ROTATION_CLI;
      else process.env.CERT_ROTATION_CLI = saved;
    }
  });

  test('escapes ${ and %{ in triggers_replace and in the environment: Terraform takes them as text', () => {
    // GIVEN a spec whose strings (values and keys) hold what Terraform would evaluate
    const spec: StepSpec = {
      ...RESTART,
      annotations: { 'example.com/${key}': '${file("/etc/passwd")}', 'example.com/tpl': '%{ if true }x%{ endif }' },
      fieldManager: 'cert-rotation-$${already}',
    };
    const target = { ...TARGET, kubeconfig: '/abs/${path.module}/kubeconfig', context: '%{context}' };
    // WHEN synthesized
    const { text, resource } = synth(spec, target);
    // THEN nothing in the JSON is an expression
    expect(unescapedInterpolation(text)).toEqual([]);
    expect(resource.triggers_replace.annotations).toEqual({ 'example.com/$${key}': '$${file("/etc/passwd")}', 'example.com/tpl': '%%{ if true }x%%{ endif }' });
    expect(resource.triggers_replace.fieldManager).toBe('cert-rotation-$$${already}');
    expect(resource.provisioner[0]['local-exec'].environment[STEP_ENV]).toContain('$${file(\\"/etc/passwd\\")}');
    // AND what Terraform passes to the step is exactly the spec and target given
    expect(stepEnvelope(resource)).toEqual({ version: STEP_SPEC_VERSION, target, spec });
  });

  test('depends_on lists the resources given', () => {
    const stack = newStack();
    const first = new ClusterStep(stack, 'first', { spec: RESTART, target: TARGET });
    const second = new ClusterStep(stack, 'second', { spec: RESTART, target: TARGET, dependsOn: [first.resource] });
    const json = synthJson(stack);
    expect(json.resource!.terraform_data[second.resource.friendlyUniqueId].depends_on).toEqual([`terraform_data.${first.resource.friendlyUniqueId}`]);
  });

  test('rejects a target without cluster name or with a relative kubeconfig, naming the field and the fix', () => {
    expect(() => synth(RESTART, { ...TARGET, kubeconfig: 'kubeconfig' })).toThrow(
      /^ClusterStep: 'target.kubeconfig' \("kubeconfig"\) is not an absolute path; pass the absolute path of the kubeconfig \(path.resolve it\)\.$/,
    );
    expect(() => synth(RESTART, { ...TARGET, cluster: ' ' })).toThrow(/^ClusterStep: 'target.cluster' \(" "\) must not be empty/);
    expect(() => new ClusterStep(newStack(), 'step', { spec: RESTART, target: undefined as never })).toThrow(/'target' .* is missing; pass \{ cluster, kubeconfig, context \}/);
  });

  test('refuses a Terraform reference in the spec: it would reach the cluster as text', () => {
    // GIVEN a namespace that is a reference to another resource
    const stack = new TerraformStack(Testing.app(), 'tokens');
    const ns = new NamespaceV1(stack, 'ns', { metadata: { name: 'web' } });
    const spec: StepSpec = { ...RESTART, workloads: [{ kind: 'Deployment', namespace: ns.metadata.name, name: 'web' }] };
    // WHEN a step is made of it THEN synth fails naming the field, instead of writing '${kubernetes_namespace_v1…}' as the namespace
    expect(() => new ClusterStep(stack, 'step', { spec, target: TARGET })).toThrow(
      /^ClusterStep: 'workloads\[0\]\.namespace' \("\(a Terraform reference\)"\) is an unresolved token: .*; pass the value itself, known at synth\.$/,
    );
    expect(() => new ClusterStep(stack, 'ctx', { spec: RESTART, target: { ...TARGET, context: ns.metadata.name } })).toThrow(/'target\.context' .* is an unresolved token/);
  });

  describe('with a private key', () => {
    let dir: string;
    let keyPem: string;
    let cert: ServerCertificate;

    beforeAll(() => {
      dir = tempDir();
      const ca = makePrivateCa('Step', VALIDITY);
      const leaf = issueServerCertificate(ca, HOSTNAME, VALIDITY);
      keyPem = leaf.keyPem;
      cert = writeServerCertificate(dir, 'server', ca, leaf);
    });
    afterAll(() => removeDir(dir));

    test('names the key by its file and SHA-256 only: no byte of it in the synthesized JSON', () => {
      // GIVEN a secret step whose tls.key is the key file
      const spec: SecretStepSpec = {
        step: 'secret',
        namespace: 'web',
        name: 'web-tls',
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': { text: cert.chainPem }, 'tls.key': { file: cert.keyFile, sha256: cert.keyFileSha256! } },
        annotations: {},
        fieldManager: 'cert-rotation-secret-0123456789',
      };
      // WHEN synthesized
      const { text, resource } = synth(spec);
      // THEN no header or base64 line of the key is anywhere
      expect(text).not.toContain('PRIVATE KEY');
      for (const line of pemBodyLines(keyPem)) expect(text).not.toContain(line);
      // AND the key is its absolute path and the SHA-256 of the file, in the triggers and in the environment
      const keySha = sha256Hex(fs.readFileSync(cert.keyFile));
      expect(cert.keyFileSha256).toBe(keySha);
      expect(path.isAbsolute(cert.keyFile)).toBe(true);
      expect(resource.triggers_replace.data).toEqual({ 'tls.crt': { sha256: sha256Hex(cert.chainPem) }, 'tls.key': { file: cert.keyFile, sha256: keySha } });
      expect(stepEnvelope(resource).spec).toEqual(spec);
      // the public chain is in the environment only, the triggers carry its digest
      expect(JSON.stringify(resource.triggers_replace)).not.toContain(pemBodyLines(cert.chainPem)[0]);
    });
  });
});
