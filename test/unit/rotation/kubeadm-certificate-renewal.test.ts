import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Testing } from 'cdktf';
import { KubeadmCertificateRenewal, KubeadmCertificateRenewalProps, NodeSsh } from '../../../lib/rotation';
import { newStack, synthJson } from './support/fixtures';

const node = (name: string): NodeSsh => ({ name, host: `${name}.example`, privateKeyPath: '/keys/id_ed25519', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA' });

function synth(props: Partial<KubeadmCertificateRenewalProps> = {}) {
  const stack = newStack();
  const renewal = new KubeadmCertificateRenewal(stack, 'renew', { nodes: [node('cp-1'), node('cp-2'), node('cp-3')], generation: 1, ...props });
  const json = synthJson(stack) as any;
  const all = Object.values(json.resource?.terraform_data ?? {}) as any[];
  const data = all.filter((d) => !d.triggers_replace.check).sort((a, b) => a.input.order - b.input.order);
  const checks = all.filter((d) => d.triggers_replace.check);
  return { renewal, json, data, checks, text: Testing.synth(stack) };
}

/** The script Terraform runs on a node (the `$${` escapes undone, as Terraform renders them). */
function script(step: any): string {
  return step.provisioner[0]['remote-exec'].inline.join('\n').replace(/\$\$\{/g, '${') + '\n';
}

describe('KubeadmCertificateRenewal', () => {
  test('one step per control-plane node, in a chain; the plan lists renew, checks, restarts and the served-certificate check', () => {
    const { data, renewal } = synth();
    expect(data.map((d) => d.input.node)).toEqual(['cp-1', 'cp-2', 'cp-3']);
    expect(data[0].depends_on).toBeUndefined();
    expect(data[1].depends_on).toEqual([expect.stringContaining('node-cp-1')]);
    expect(data[2].depends_on).toEqual([expect.stringContaining('node-cp-2')]);
    expect(renewal.plan[0].commands).toEqual([
      'kubeadm certs renew all --cert-dir /etc/kubernetes/pki',
      'check: every certificate file on the node has changed',
      'restart static Pod etcd (manifest out of /etc/kubernetes/manifests until stopped, back until running; up to 300s each)',
      'restart static Pod kube-apiserver (manifest out of /etc/kubernetes/manifests until stopped, back until running; up to 300s each)',
      'restart static Pod kube-controller-manager (manifest out of /etc/kubernetes/manifests until stopped, back until running; up to 300s each)',
      'restart static Pod kube-scheduler (manifest out of /etc/kubernetes/manifests until stopped, back until running; up to 300s each)',
      'check: the API server at 127.0.0.1:<--secure-port> serves /etc/kubernetes/pki/apiserver.crt',
    ]);
    expect(data[0].input.commands).toEqual(renewal.plan[0].commands);
  });

  test('named certificates renew and restart only what reads them', () => {
    const { renewal } = synth({ certificates: ['scheduler.conf', 'admin.conf'] });
    expect(renewal.plan[0].commands).toEqual([
      'kubeadm certs renew scheduler.conf --cert-dir /etc/kubernetes/pki',
      'kubeadm certs renew admin.conf --cert-dir /etc/kubernetes/pki',
      'check: each named certificate file has changed',
      'restart static Pod kube-scheduler (manifest out of /etc/kubernetes/manifests until stopped, back until running; up to 300s each)',
    ]);
    expect(synth({ certificates: ['admin.conf'] }).renewal.plan[0].commands).toEqual([
      'kubeadm certs renew admin.conf --cert-dir /etc/kubernetes/pki',
      'check: each named certificate file has changed',
    ]);
  });

  test('only generation and certificates trigger (no schedule): other props change the description only; no key anywhere', () => {
    const { data, json, text } = synth();
    expect(data[0].triggers_replace).toEqual({ generation: 1, certificates: ['all'], node: 'cp-1' });
    expect(json.variable).toBeUndefined();
    expect(synth({ waitSeconds: 60, apiServingCheck: false }).data[0].triggers_replace).toEqual(data[0].triggers_replace);
    expect(data[0].connection).toMatchObject({ type: 'ssh', host: 'cp-1.example', user: 'root', private_key: '${file("/keys/id_ed25519")}' });
    expect(text).not.toMatch(/PRIVATE KEY/);
  });

  test('renewBefore: the trigger is the renewal period the plan falls in, from plantimestamp() or cert_rotation_now', () => {
    const { data, json, renewal } = synth({ renewBefore: '30d' });
    expect(renewal.periodMonths).toBe(10);
    expect(data[0].triggers_replace.renewalPeriod).toBe('${format("%04d-%02d", floor(floor(local.cert_rotation_now_month / 10) * 10 / 12), floor(local.cert_rotation_now_month / 10) * 10 % 12 + 1)}');
    expect(json.locals.cert_rotation_now_month).toContain('plantimestamp()');
    expect(json.variable.cert_rotation_now).toMatchObject({ type: 'string', default: '' });
    expect(data[0].input.schedule).toBe('renewed again at the first plan of every 10-month period');
    expect(synth({ renewBefore: '90d', certificateValidity: '730d' }).renewal.periodMonths).toBe(20);
  });

  test('the node script is valid POSIX shell and checks each file it renews', () => {
    const { data } = synth({ certDir: '/srv/pki', kubernetesDir: '/srv/k8s', apiAddress: '10.0.0.11:6443' });
    const text = script(data[0]);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renew-script-'));
    try {
      fs.writeFileSync(path.join(dir, 'run.sh'), text);
      const r = spawnSync('sh', ['-n', path.join(dir, 'run.sh')], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(text).toContain("D=/srv/pki K=/srv/k8s");
    expect(text).toContain('kubeadm certs renew all --cert-dir /srv/pki');
    expect(text).toContain(`cr_fail 'check: /srv/pki/apiserver.crt renewed (it has not changed)'`);
    expect(text).toContain(`cr_fail 'check: /srv/k8s/admin.conf renewed (it has not changed)'`);
    // etcd's certificates are checked only where etcd runs as a static Pod (kubeadm skips them for external etcd).
    expect(text).toMatch(/if \[ "\$cr_before_8" = absent \] \|\| \[ ! -f "\$M\/etcd.yaml" \]; then :; else .*etcd\/server.crt/);
    expect(text).toContain('if [ -f "$M/etcd.yaml" ]; then cr_restart etcd; fi');
    expect(text).toContain('cr_api=10.0.0.11:6443');
    expect(text).toContain(`can't be renewed`);
  });

  test("each node's check runs after every node step: it finds the mark the node's step writes last, or runs the renewal again", () => {
    const { data, checks } = synth({ kubernetesDir: '/srv/k8s' });
    expect(checks.map((c) => [c.input.node, c.depends_on])).toEqual(['cp-1', 'cp-2', 'cp-3'].map((n) => [n, [expect.stringContaining('node-cp-3')]]));
    expect(checks[0].triggers_replace).toEqual({ ...data[0].triggers_replace, check: true });
    const node = data[0].provisioner[0]['remote-exec'].inline;
    expect(node[1]).toBe("CR_MARK='${sha256(jsonencode(self.triggers_replace))}'");
    expect(script(data[0])).toContain('printf "%s\\n" "$CR_MARK" >"$K/cert-rotation-state/kubeadm-renewal.done"');
    const check: string[] = checks[0].provisioner[0]['remote-exec'].inline;
    expect(check[1]).toMatch(/^CR_MARK='\$\{sha256\(jsonencode\(terraform_data\.renew_node-cp-1_[0-9A-F]+\.triggers_replace\)\)\}'$/);
    // The guard, run with a mark: the same mark on the node ends the check; another (or none) goes on to renew.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'renew-check-'));
    try {
      const k = path.join(dir, 'k8s');
      const lines = script(checks[0]).split('\n');
      const upTo = lines.findIndex((l) => l.includes('did not finish'));
      const guard = ["CR_MARK='abc'", ...lines.slice(2, upTo + 1).map((l) => l.replace(/^D=.* K=\S+/, `D=${k}/pki K=${k}`)), 'echo WOULD-RENEW'].join('\n');
      const run = () => spawnSync('sh', ['-c', guard], { encoding: 'utf8' }).stdout;
      expect(run()).toContain('did not finish (an apply stopped while it ran): running it again\nWOULD-RENEW');
      fs.mkdirSync(path.join(k, 'cert-rotation-state'), { recursive: true });
      fs.writeFileSync(path.join(k, 'cert-rotation-state/kubeadm-renewal.done'), 'abc\n');
      expect(run()).toBe('cert-rotation: node cp-1: the renewal finished\n');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test.each([
    [{ nodes: [] }, /'nodes' \(\[\]\) is empty/],
    [{ generation: 0 }, /'generation' \(0\) is not a whole number of at least 1/],
    [{ certificates: ['apiserver', 'kubelet.conf'] }, /'certificates' \("kubelet.conf"\) is not a certificate kubeadm certs renew knows; use 'all' or some of admin.conf/],
    [{ certificates: ['all', 'apiserver'] }, /lists 'all' with other names/],
    [{ certificates: [] }, /'certificates' \(\[\]\) is empty/],
    [{ renewBefore: 'a month' }, /'renewBefore' \("a month"\) is not a duration/],
    [{ renewBefore: '340d' }, /'renewBefore' \("340d"\) leaves less than a month between renewals of certificates valid 365d/],
    [{ certificateValidity: '365d' }, /'certificateValidity' \("365d"\) is set without renewBefore/],
    [{ certDir: 'pki' }, /'certDir' \("pki"\) is not an absolute path/],
    [{ apiAddress: 'localhost' }, /'apiAddress' \("localhost"\) is not host:port/],
    [{ nodes: [node('cp-1'), node('cp-1')] }, /'nodes' \("cp-1"\) names a node twice/],
  ])('refuses %j', (props, message) => {
    expect(() => synth(props as Partial<KubeadmCertificateRenewalProps>)).toThrow(message);
  });
});
