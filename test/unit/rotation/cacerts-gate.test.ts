import { Testing } from 'cdktf';
import { sha256Hex } from '../../../lib/pki';
import { CacertsGate, CacertsGateProps } from '../../../lib/rotation/cacerts-gate';
import { CacertsGateStepSpec } from '../../../lib/steps/spec';
import { HOSTNAME, newStack, onlyStep, stepEnvelope, synthJson, TARGET } from './support/fixtures';

const CHECKSUM = sha256Hex('cacerts');
const LEAF = sha256Hex('leaf');
const TRUST = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

function synth(props: Partial<CacertsGateProps> = {}) {
  const stack = newStack();
  const gate = new CacertsGate(stack, 'gate', { hostname: HOSTNAME, checksum: CHECKSUM, trustPem: TRUST, leafSha256: LEAF, target: TARGET, ...props });
  const step = onlyStep(synthJson(stack));
  return { gate, step, spec: stepEnvelope(step).spec as CacertsGateStepSpec, text: Testing.synth(stack) };
}

describe('CacertsGate', () => {
  test('is a cacerts-gate step on the server: the Rancher deployment, the cacerts URL, the checksum, the leaf, the trust bundle', () => {
    // GIVEN a private CA's checksum and bundle, and the new leaf WHEN synthesized
    const { step, gate } = synth();
    // THEN the step waits for cattle-system/rancher and polls https://<hostname>/v3/settings/cacerts for 600 s by default
    expect(stepEnvelope(step)).toEqual({
      version: 1,
      target: TARGET,
      spec: {
        step: 'cacerts-gate',
        deployment: { namespace: 'cattle-system', name: 'rancher' },
        url: `https://${HOSTNAME}/v3/settings/cacerts`,
        trustPem: TRUST,
        checksum: CHECKSUM,
        leafSha256: LEAF,
        timeoutSeconds: 600,
      },
    });
    expect(gate.url).toBe(`https://${HOSTNAME}/v3/settings/cacerts`);
    // AND the plan shows the bundle by its SHA-256, not the bundle
    const { trustPem, ...rest } = stepEnvelope(step).spec as CacertsGateStepSpec;
    expect(step.triggers_replace).toEqual({ ...rest, trustSha256: sha256Hex(trustPem!), cluster: 'prod' });
    expect(gate.resource).toBe(gate.step.resource);
  });

  test('a public CA: empty checksum, no trust bundle (system trust store)', () => {
    const { spec, step } = synth({ checksum: '', trustPem: undefined });
    expect(spec.checksum).toBe('');
    expect(spec).not.toHaveProperty('trustPem');
    expect(step.triggers_replace).not.toHaveProperty('trustSha256');
  });

  test('tls external: no leaf to check', () => {
    const { spec, step } = synth({ leafSha256: undefined });
    expect(spec).not.toHaveProperty('leafSha256');
    expect(step.triggers_replace).not.toHaveProperty('leafSha256');
  });

  test('takes connectTo, timeoutSeconds and another deployment', () => {
    const { spec } = synth({ connectTo: '10.0.0.5:8443', timeoutSeconds: 120, deployment: { namespace: 'rancher', name: 'my-rancher' } });
    expect(spec).toMatchObject({ connectTo: '10.0.0.5:8443', timeoutSeconds: 120, deployment: { namespace: 'rancher', name: 'my-rancher' } });
    expect(synth({ connectTo: '[::1]:443' }).spec.connectTo).toBe('[::1]:443');
  });

  test('a new leaf or a new CA changes the triggers; the same inputs do not', () => {
    const base = synth().step.triggers_replace;
    expect(synth().step.triggers_replace).toEqual(base);
    expect(synth({ leafSha256: sha256Hex('other') }).step.triggers_replace).toEqual({ ...base, leafSha256: sha256Hex('other') });
    const newCa = synth({ checksum: sha256Hex('new'), trustPem: TRUST.replace('MIIB', 'MIIC') }).step.triggers_replace;
    expect(newCa.checksum).toBe(sha256Hex('new'));
    expect(newCa.trustSha256).not.toBe(base.trustSha256);
  });

  test('rejects a bad hostname, checksum, leaf, connectTo, timeout and deployment, naming the prop and the fix', () => {
    expect(() => synth({ hostname: 'https://rancher.example.com' })).toThrow(/^CacertsGate: 'hostname' \("https:\/\/rancher.example.com"\) is not a DNS name/);
    expect(() => synth({ checksum: 'ABC' })).toThrow(/^CacertsGate: 'checksum' \("ABC"\) is not a SHA-256 in lowercase hex/);
    expect(() => synth({ leafSha256: 'AB:CD' })).toThrow(/'leafSha256' \("AB:CD"\) is not a SHA-256/);
    expect(() => synth({ connectTo: 'lb.example.com' })).toThrow(/'connectTo' \("lb.example.com"\) is not host:port; give the load balancer's address, e.g. 10.0.0.5:443/);
    expect(() => synth({ timeoutSeconds: 0 })).toThrow(/'timeoutSeconds' \(0\) is not a whole number of seconds ≥ 1; give how long Rancher may take to restart/);
    expect(() => synth({ deployment: { namespace: 'Cattle', name: 'rancher' } })).toThrow(/'deployment.namespace' \("Cattle"\) is not a valid Kubernetes namespace name/);
  });

  test('synthesizes byte-identical JSON twice', () => {
    expect(synth().text).toBe(synth().text);
  });
});
