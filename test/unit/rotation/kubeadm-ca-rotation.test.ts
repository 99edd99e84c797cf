import { spawnSync } from 'child_process';
import * as os from 'os';
import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { generateCa, generateLeaf } from '../../../lib/pki';
import { KubeadmCaRotation, KubeadmCaRotationProps } from '../../../lib/rotation';
import { kubeadmNodeScript } from '../../../lib/rotation/kubeadm-node-script';
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
    for (const name of [...LEAVES, 'kubelet-w-1']) {
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

  test('each phase: gate, node step, kube-root-ca wait, (caBundles), (cluster-info), rollout, record, in that order', () => {
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
      expect(steps).toEqual([
        'kubeadm-phase', 'kubeadm-node', 'kubeadm-node-check', 'root-ca',
        ...(phase === 'drop-old' ? ['extension-auth-prune'] : ['ca-bundles']),
        ...(phase === 'trust-both' ? [] : ['cluster-info']),
        'restart-all', 'kubeadm-phase',
      ]);
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

  test('frontProxy: the front-proxy CA and front-proxy-client go to the nodes too; it must be a CA of its own', () => {
    const fpDir = path.join(dir, 'new-front-proxy');
    const oldFpFile = path.join(dir, 'old-front-proxy-ca.crt');
    if (!fs.existsSync(fpDir)) {
      fs.mkdirSync(fpDir);
      const now = new Date();
      const later = new Date(now.getTime() + 86400_000 * 30);
      fs.writeFileSync(oldFpFile, generateCa({ commonName: 'old-fp', notBefore: now, notAfter: later }).certPem);
      const fp = generateCa({ commonName: 'new-fp', notBefore: now, notAfter: later });
      fs.writeFileSync(path.join(fpDir, 'ca.crt'), fp.certPem);
      fs.writeFileSync(path.join(fpDir, 'ca.key'), fp.keyPem, { mode: 0o600 });
      const leaf = generateLeaf({ commonName: 'front-proxy-client', notBefore: now, notAfter: later, issuer: fp, usage: 'client', dnsNames: [] });
      fs.writeFileSync(path.join(fpDir, 'front-proxy-client.crt'), leaf.certPem);
      fs.writeFileSync(path.join(fpDir, 'front-proxy-client.key'), leaf.keyPem, { mode: 0o600 });
    }
    const frontProxy = { oldCaFile: oldFpFile, newPkiDir: fpDir };
    const node = (phase: 'trust-both' | 'switch' | 'drop-old') =>
      resourcesOfType(synth({ phase, frontProxy }).json, 'terraform_data').find(([, r]) => r.triggers_replace.step === 'kubeadm-node')![1];
    expect(Object.keys(node('trust-both').triggers_replace.files)).toEqual(['ca.crt', 'ca.key', 'front-proxy-ca.crt', 'front-proxy-ca.key']);
    expect(Object.keys(node('switch').triggers_replace.files)).toEqual(expect.arrayContaining(['front-proxy-ca.key', 'front-proxy-client.crt', 'front-proxy-client.key']));
    expect(node('drop-old').triggers_replace.writes).toEqual(expect.arrayContaining(['/etc/kubernetes/pki/front-proxy-ca.crt', '/etc/kubernetes/pki/front-proxy-ca.key', '/etc/kubernetes/pki/front-proxy-client.crt']));
    expect(() => synth({ frontProxy: { oldCaFile: oldFpFile, newPkiDir: pkiDir } })).toThrow(/'frontProxy.newPkiDir' \(".*ca.crt"\) holds the cluster CA; give the front-proxy CA one of its own/);
    expect(() => synth({ frontProxy: { oldCaFile: 'old.crt', newPkiDir: fpDir } })).toThrow(/'frontProxy.oldCaFile' \("old.crt"\) is not an absolute path/);
  });

  test('workers: after the control plane, one by one; their kubelet only, with no CA key', () => {
    const workers = [{ name: 'w-1', host: '10.0.0.21', privateKeyFile: '/abs/id_ed25519', certDir: '/srv/w-1/pki', kubernetesDir: '/srv/w-1' }];
    const nodeSteps = (phase: 'trust-both' | 'switch') => {
      const { json } = synth({ phase, workers });
      return resourcesOfType(json, 'terraform_data').filter(([, r]) => r.triggers_replace.step === 'kubeadm-node').map(([id, r]) => ({ id, r }));
    };
    const trust = nodeSteps('trust-both');
    expect(trust.map((s) => s.r.triggers_replace.node)).toEqual(['cp-1', 'w-1']);
    expect(trust[1].r.depends_on).toEqual([`terraform_data.${trust[0].id}`]);
    expect(trust[1].r.triggers_replace).toMatchObject({ files: {}, writes: ['/srv/w-1/pki/ca.crt', '/srv/w-1/kubelet.conf'], restarts: ['kubelet'] });
    const sw = nodeSteps('switch')[1].r;
    expect(Object.keys(sw.triggers_replace.files)).toEqual(['kubelet-w-1.crt', 'kubelet-w-1.key']);
    const script: string = sw.provisioner.find((p: any) => p.file?.content)?.file.content;
    expect(script).toContain('put_b64 644 "$D/ca.crt" "$BOTH_B64"');
    expect(script).toContain("kubeconfig kubelet.conf 'kubelet-w-1'");
    expect(script).not.toMatch(/ca\.key|restart kube-apiserver/);
    expect(() => synth({ workers: [{ ...workers[0], name: 'cp-1' }] })).toThrow(/'workers\[0\].name' \("cp-1"\) is listed twice; list each node once, in nodes or in workers/);
    expect(() => synth({ phase: 'switch', workers: [{ ...workers[0], name: 'w-2' }] })).toThrow(/kubelet-w-2.crt"\) cannot be read/);
  });

  test("each node's check, after every node step and before the rest, finds the mark its step's script wrote last", () => {
    const { json } = synth({ phase: 'switch', workers: [{ name: 'w-1', host: '10.0.0.21', privateKeyFile: '/abs/id_ed25519', kubernetesDir: '/srv/w-1' }] });
    const all = resourcesOfType(json, 'terraform_data');
    const of = (step: string) => all.filter(([, r]) => r.triggers_replace.step === step);
    const nodes = of('kubeadm-node');
    const checks = of('kubeadm-node-check');
    expect(checks.map(([, r]) => [r.triggers_replace.node, r.depends_on])).toEqual([['cp-1', [`terraform_data.${nodes[1][0]}`]], ['w-1', [`terraform_data.${nodes[1][0]}`]]]);
    expect(of('root-ca')[0][1].depends_on).toEqual(checks.map(([id]) => `terraform_data.${id}`));
    const run: string = nodes[0][1].provisioner.at(-1)['remote-exec'].inline[0];
    expect(run).toMatch(/^bash \/etc\/kubernetes\/tmp\/cert-rotation\/run\.sh '\$\{sha256\(jsonencode\(self\.triggers_replace\)\)\}'$/);
    const [test] = checks[1][1].provisioner[0]['remote-exec'].inline as string[];
    expect(test).toContain(`test "$(cat /srv/w-1/cert-rotation-state/kubeadm-ca.done 2>/dev/null)" = '\${sha256(jsonencode(terraform_data.${nodes[1][0]}.triggers_replace))}'`);
    expect(test).toContain(`Run it again: terraform apply -replace=terraform_data.${nodes[1][0]}`);
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

describe('the node script of a phase', () => {
  test("a kubelet.conf that names kubelet-client-current.pem (client certificate rotation): the new certificate goes into the kubelet's store and the link moves", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kubeadm-node-'));
    try {
      const k = path.join(dir, 'etc/kubernetes');
      const store = path.join(dir, 'var/lib/kubelet/pki');
      const staging = path.join(dir, 'staging');
      for (const d of [path.join(k, 'pki'), store, staging]) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(path.join(store, 'kubelet-client-2026-01-01-00-00-00.pem'), 'OLD CERT\nOLD KEY\n', { mode: 0o600 });
      fs.symlinkSync(path.join(store, 'kubelet-client-2026-01-01-00-00-00.pem'), path.join(store, 'kubelet-client-current.pem'));
      fs.writeFileSync(path.join(k, 'kubelet.conf'), [
        'apiVersion: v1', 'kind: Config', 'clusters:', '- cluster:', '    certificate-authority-data: T0xE', '    server: https://10.0.0.1:6443', '  name: kubernetes',
        'users:', '- name: system:node:cp-1', '  user:',
        `    client-certificate: ${store}/kubelet-client-current.pem`,
        `    client-key: ${store}/kubelet-client-current.pem`, '',
      ].join('\n'));
      const script = kubeadmNodeScript({ phase: 'switch', node: 'cp-1', staging, certDir: path.join(k, 'pki'), kubernetesDir: k, bothPem: 'old\nnew\n', newPem: 'new\n', waitSeconds: 1 });
      // The script's functions, then only its kubelet.conf line (no restarts here).
      const functions = script.slice(0, script.indexOf('\ncr_unhold\n'));
      const line = script.split('\n').find((l) => l.startsWith('kubeconfig kubelet.conf'))!;
      expect(line).toBe("kubeconfig kubelet.conf 'kubelet-cp-1'");
      for (let run = 0; run < 2; run++) {
        // The upload (the script removes it when it ends).
        fs.mkdirSync(staging, { recursive: true });
        fs.writeFileSync(path.join(staging, 'kubelet-cp-1.crt'), 'NEW CERT\n');
        fs.writeFileSync(path.join(staging, 'kubelet-cp-1.key'), 'NEW KEY\n');
        const r = spawnSync('bash', ['-c', `${functions}\n${line}\n`], { encoding: 'utf8' });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
      }
      const current = fs.readlinkSync(path.join(store, 'kubelet-client-current.pem'));
      expect(path.basename(current)).toMatch(/^kubelet-client-\d{4}-\d{2}-\d{2}-\d{2}-\d{2}-\d{2}\.pem$/);
      expect(current).not.toBe(path.join(store, 'kubelet-client-2026-01-01-00-00-00.pem'));
      expect(fs.readFileSync(path.join(store, 'kubelet-client-current.pem'), 'utf8')).toBe('NEW CERT\nNEW KEY\n');
      expect(fs.statSync(current).mode & 0o777).toBe(0o600);
      // The old one stays (the kubelet's store keeps it too); the second run wrote nothing new.
      expect(fs.readdirSync(store).filter((f) => f.startsWith('kubelet-client-2')).length).toBe(2);
      const conf = fs.readFileSync(path.join(k, 'kubelet.conf'), 'utf8');
      expect(conf).toContain(`certificate-authority-data: ${Buffer.from('old\nnew\n').toString('base64')}`);
      expect(conf).toContain(`client-certificate: ${store}/kubelet-client-current.pem`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
