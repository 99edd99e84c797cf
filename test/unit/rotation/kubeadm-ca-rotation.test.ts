import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { generateCa, generateLeaf } from '../../../lib/pki';
import { KubeadmCaRotation, KubeadmCaRotationProps } from '../../../lib/rotation';
import { removeDir, tempDir } from '../../support/pki';
import { newStack, resourcesOfType, synthJson, TARGET } from './support/fixtures';

const LEAVES = ['apiserver', 'apiserver-kubelet-client', 'admin', 'super-admin', 'controller-manager', 'scheduler', 'kubelet-cp-1'];

describe('KubeadmCaRotation', () => {
  let dir: string;
  let pkiDir: string;
  let oldCaFile: string;
  let keyPems: string[];

  beforeAll(() => {
    dir = tempDir();
    pkiDir = path.join(dir, 'new-pki');
    fs.mkdirSync(pkiDir);
    const now = new Date();
    const later = new Date(now.getTime() + 86400_000 * 30);
    const old = generateCa({ commonName: 'old', notBefore: now, notAfter: later, keyBits: 2048 });
    oldCaFile = path.join(dir, 'old-ca.crt');
    fs.writeFileSync(oldCaFile, old.certPem);
    const ca = generateCa({ commonName: 'new', notBefore: now, notAfter: later });
    fs.writeFileSync(path.join(pkiDir, 'ca.crt'), ca.certPem);
    fs.writeFileSync(path.join(pkiDir, 'ca.key'), ca.keyPem, { mode: 0o600 });
    keyPems = [ca.keyPem];
    for (const name of LEAVES) {
      const leaf = generateLeaf({ commonName: name, notBefore: now, notAfter: later, issuer: ca, usage: 'client', dnsNames: [] });
      fs.writeFileSync(path.join(pkiDir, `${name}.crt`), leaf.certPem);
      fs.writeFileSync(path.join(pkiDir, `${name}.key`), leaf.keyPem, { mode: 0o600 });
      keyPems.push(leaf.keyPem);
    }
  });
  afterAll(() => removeDir(dir));

  function synth(props: Partial<KubeadmCaRotationProps> = {}) {
    const stack = newStack();
    const rotation = new KubeadmCaRotation(stack, 'ca', {
      phase: 'trust-both',
      target: TARGET,
      oldCaFile,
      newPkiDir: pkiDir,
      nodes: [{ name: 'cp-1', host: '10.0.0.1', privateKeyFile: '/abs/id_ed25519' }],
      ...props,
    });
    return { rotation, json: synthJson(stack), text: Testing.synth(stack) };
  }

  test('each phase: gate, node step, kube-root-ca wait, (cluster-info), rollout, record, in that order', () => {
    for (const phase of ['trust-both', 'switch', 'drop-old'] as const) {
      const { json, rotation } = synth({ phase });
      // Follow depends_on from the step nothing depends on back to the gate.
      const all = new Map(resourcesOfType(json, 'terraform_data'));
      const dependedOn = new Set([...all.values()].flatMap((r) => (r.depends_on ?? []).map((d: string) => d.replace(/^terraform_data\./, ''))));
      let id: string | undefined = [...all.keys()].find((k) => !dependedOn.has(k));
      const steps: string[] = [];
      while (id) {
        const r = all.get(id)!;
        steps.unshift(r.triggers_replace.step);
        id = r.depends_on?.[0]?.replace(/^terraform_data\./, '');
      }
      expect(steps).toEqual(['kubeadm-phase', 'kubeadm-node', 'root-ca', ...(phase === 'trust-both' ? [] : ['cluster-info']), 'restart-all', 'kubeadm-phase']);
      expect(rotation.nextPhase).toBe({ 'trust-both': 'switch', switch: 'drop-old', 'drop-old': undefined }[phase]);
    }
  });

  test('the node step uploads files by path and names them by SHA-256; no key in the synthesized output', () => {
    const { json, text, rotation } = synth({ phase: 'switch' });
    const node = resourcesOfType(json, 'terraform_data').find(([, r]) => r.triggers_replace.step === 'kubeadm-node')![1];
    expect(Object.keys(node.triggers_replace.files)).toEqual(expect.arrayContaining(['ca.key', 'apiserver.key', 'kubelet-cp-1.key']));
    expect(node.provisioner.filter((p: any) => p.file).map((p: any) => p.file.source ?? 'script')).toContain(path.join(pkiDir, 'ca.key'));
    expect(node.connection.private_key).toBe('${file("/abs/id_ed25519")}');
    for (const key of keyPems) expect(text).not.toContain(key.split('\n')[3]);
    expect(rotation.nodeFiles['cp-1']).toContain('/etc/kubernetes/pki/apiserver.crt');
  });

  test('synth is deterministic', () => {
    expect(synth({ phase: 'switch' }).text).toBe(synth({ phase: 'switch' }).text);
  });

  test('bad props name the prop, the value and the fix', () => {
    expect(() => synth({ phase: 'later' as any })).toThrow(/KubeadmCaRotation: 'phase' \("later"\) is not one of trust-both, switch, drop-old; start with 'trust-both'/);
    expect(() => synth({ oldCaFile: path.join(pkiDir, 'ca.crt') })).toThrow(/holds the same CA as oldCaFile/);
    expect(() => synth({ newPkiDir: 'relative' })).toThrow(/'newPkiDir' \("relative"\) is not an absolute path/);
    expect(() => synth({ nodes: [] })).toThrow(/'nodes' \(\[\]\) is empty/);
    fs.chmodSync(path.join(pkiDir, 'scheduler.key'), 0o644);
    try {
      expect(() => synth({ phase: 'switch' })).toThrow(/scheduler.key"\) is readable by others \(mode 0644\); run chmod 600/);
    } finally {
      fs.chmodSync(path.join(pkiDir, 'scheduler.key'), 0o600);
    }
  });
});
