import { createHash, X509Certificate } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { TerraformStack } from 'cdktf';
import { run as cli } from '../../../lib/cli/main';
import { KubeadmCertificateRenewal, KubeadmCertificateRenewalProps } from '../../../lib/rotation';
import { run, testbedProcessEnv, waitFor } from '../../../scripts/testbed/client';
import { kubeadmBed, servedCertificate } from '../support/kubeadm-bed';
import { agreed, CheckRow, parity, parseKubeadm } from '../support/kubeadm-expiration';
import { Workspace } from '../support/terraform';

// `kubeadm certs renew` on the test bed's kubeadm node
// (https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/#manual-certificate-renewal)
// with real Terraform: the real kubeadm renews the files over SSH, the real
// control plane restarts through its static Pod manifests, and `kubeadm certs
// check-expiration` (the real binary, on the node) and `cert-rotation check
// --preset kubeadm` agree on every certificate before and after.
jest.setTimeout(15 * 60 * 1000);

const { env, root, certDir, kubernetesDir } = kubeadmBed();
const sshDir = path.dirname(env.TESTBED_KUBEADM_SSH_KEY);

/** What `kubeadm certs renew all` renews on this node (external etcd: no etcd certificates). */
const FILES = {
  'admin.conf': path.join(kubernetesDir, 'admin.conf'),
  'super-admin.conf': path.join(kubernetesDir, 'super-admin.conf'),
  'controller-manager.conf': path.join(kubernetesDir, 'controller-manager.conf'),
  'scheduler.conf': path.join(kubernetesDir, 'scheduler.conf'),
  apiserver: path.join(certDir, 'apiserver.crt'),
  'apiserver-kubelet-client': path.join(certDir, 'apiserver-kubelet-client.crt'),
  'front-proxy-client': path.join(certDir, 'front-proxy-client.crt'),
};
type Name = keyof typeof FILES;

/** A command on the kubeadm node over SSH, as an operator would run it. */
function onNode(command: string): string {
  return run('ssh', [
    '-q', '-i', env.TESTBED_KUBEADM_SSH_KEY, '-o', `UserKnownHostsFile=${path.join(sshDir, 'known_hosts')}`, '-o', 'StrictHostKeyChecking=yes',
    '-o', 'BatchMode=yes', '-p', env.TESTBED_KUBEADM_SSH_PORT, 'root@127.0.0.1', command,
  ]).stdout;
}

/** The certificate in a PEM file or in a kubeconfig's client-certificate-data. */
function certificateOf(file: string): X509Certificate {
  const text = fs.readFileSync(file, 'utf8');
  const data = /^\s*client-certificate-data:\s*(\S+)/m.exec(text);
  return new X509Certificate(data ? Buffer.from(data[1], 'base64') : text);
}

function snapshot(): Record<Name, { sha256: string; notAfter: number; serial: string }> {
  return Object.fromEntries(Object.entries(FILES).map(([name, file]) => {
    const cert = certificateOf(file);
    return [name, { sha256: createHash('sha256').update(fs.readFileSync(file)).digest('hex'), notAfter: Date.parse(cert.validTo), serial: cert.serialNumber }];
  })) as Record<Name, { sha256: string; notAfter: number; serial: string }>;
}

/** The running container of each static Pod (the kubelet stand-in's record, what `crictl ps` lists). */
function containers(): Record<string, string> {
  const dir = path.join(root, 'run/testbed-static-pods');
  return Object.fromEntries(fs.readdirSync(dir).map((n) => [n, fs.readFileSync(path.join(dir, n), 'utf8').split(' ')[0]]));
}

async function agreeWithKubeadm(): Promise<ReturnType<typeof parseKubeadm>> {
  const kube = parseKubeadm(onNode(`kubeadm certs check-expiration --config ${env.TESTBED_KUBEADM_CONFIG}`));
  let stdout = '';
  const code = await cli(['check', '--preset', 'kubeadm', '--root', root, '--output', 'json'], { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: () => true } });
  const report = JSON.parse(stdout) as { certificates: CheckRow[]; errors: unknown[]; invalid: unknown[] };
  expect(report.errors).toEqual([]);
  expect(report.invalid).toEqual([]);
  expect(code).toBe(0);
  expect(kube.certificates.map((c) => c.name).sort()).toEqual(Object.keys(FILES).sort());
  const lines = parity(kube, report.certificates, certDir, kubernetesDir);
  expect(lines).toEqual(agreed(lines));
  return kube;
}

/** First day of the month `months` months from year 0 (`2027*12 + 6` → 2027-07-01). */
function monthStart(months: number): string {
  return `${Math.floor(months / 12)}-${String((months % 12) + 1).padStart(2, '0')}-01T00:00:00Z`;
}

/** SIGKILL every terraform (or tofu) process working in `dir`: a cancelled pipeline or a lost runner. */
/** The pid of the test bed's kubelet stand-in for the kubeadm node's static Pods (scripts/testbed/kubeadm/static-pods.ts). */
function staticPodsStandIn(): number {
  const pid = Number(fs.readFileSync(path.join(env.TESTBED_DIR, 'pids', 'kubeadm-static-pods.pid'), 'utf8').trim());
  if (!fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('static-pods')) throw new Error(`pid ${pid} is not the static-pods stand-in`);
  return pid;
}

function killEngineIn(dir: string): number {
  let killed = 0;
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if ((comm === 'terraform' || comm === 'tofu') && fs.readlinkSync(`/proc/${pid}/cwd`) === dir) {
        process.kill(Number(pid), 'SIGKILL');
        killed++;
      }
    } catch {
      // gone already
    }
  }
  return killed;
}

describe('KubeadmCertificateRenewal on a kubeadm control plane', () => {
  const ws = new Workspace('kubeadm-renew');
  const stack = 'kubeadm-renew';
  let kubeadmBefore: ReturnType<typeof parseKubeadm>;

  afterAll(() => ws.remove());

  function synth(props: Partial<KubeadmCertificateRenewalProps>): KubeadmCertificateRenewal {
    let renewal: KubeadmCertificateRenewal | undefined;
    ws.synth((app) => {
      const s = new TerraformStack(app, stack);
      renewal = new KubeadmCertificateRenewal(s, 'renew', {
        generation: 1,
        renewBefore: '30d',
        certDir,
        kubernetesDir,
        waitSeconds: 120,
        nodes: [{
          name: env.TESTBED_KUBEADM_NODE,
          host: '127.0.0.1',
          port: Number(env.TESTBED_KUBEADM_SSH_PORT),
          privateKeyPath: env.TESTBED_KUBEADM_SSH_KEY,
          hostKey: fs.readFileSync(env.TESTBED_KUBEADM_SSH_HOST_KEY, 'utf8').split(' ').slice(0, 2).join(' '),
        }],
        ...props,
      });
    });
    return renewal!;
  }

  function expectNoKeyAnywhere(): void {
    for (const [what, text] of [['cdktf.out', ws.synthesizedText()], ['the state', fs.readFileSync(ws.statePath(stack), 'utf8')], ['the deploy logs', ws.logs.join('\n')]]) {
      expect({ what, key: /PRIVATE KEY|client-key-data/.test(text) }).toEqual({ what, key: false });
    }
  }

  test('before renewal, kubeadm certs check-expiration and check --preset kubeadm agree on every certificate', async () => {
    kubeadmBefore = await agreeWithKubeadm();
  });

  test('generation 1 renews every certificate, restarts the control plane, and the API server serves the new apiserver.crt', async () => {
    const before = snapshot();
    const caBefore = fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8');
    const running = containers();
    synth({});
    const r = ws.deploy(stack);
    expect(r.stdout).toContain('restarted kube-apiserver');
    const after = snapshot();
    for (const name of Object.keys(FILES) as Name[]) {
      expect({ name, sameFile: after[name].sha256 === before[name].sha256, sameSerial: after[name].serial === before[name].serial, later: after[name].notAfter > before[name].notAfter })
        .toEqual({ name, sameFile: false, sameSerial: false, later: true });
    }
    // Renewed, not re-keyed under another CA: the cluster CA is untouched.
    expect(fs.readFileSync(path.join(certDir, 'ca.crt'), 'utf8')).toBe(caBefore);
    const now = containers();
    for (const pod of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) {
      expect({ pod, restarted: now[pod] !== undefined && now[pod] !== running[pod] }).toEqual({ pod, restarted: true });
    }
    expect((await servedCertificate(env.TESTBED_KUBEADM_APISERVER)).fingerprint256).toBe(certificateOf(FILES.apiserver).fingerprint256);
    expect(ws.plan(stack).changes).toEqual([]);
    expectNoKeyAnywhere();
  });

  test('after renewal they agree again, at the new expiry', async () => {
    const kube = await agreeWithKubeadm();
    const expiry = (k: ReturnType<typeof parseKubeadm>, n: string) => k.certificates.find((c) => c.name === n)!.expires;
    // kubeadm prints minutes: the bed was started minutes before, so each expiry moved.
    for (const name of Object.keys(FILES)) expect({ name, later: expiry(kube, name) > expiry(kubeadmBefore, name) }).toEqual({ name, later: true });
  });

  test('renewBefore: a plan later in the same renewal period plans nothing; a plan in the next period renews again', () => {
    const renewal = synth({});
    const months = renewal.periodMonths!;
    expect(months).toBe(10); // 365d - 30d = 335 days: 10 whole months of 31 days
    const d = new Date();
    const start = Math.floor((d.getUTCFullYear() * 12 + d.getUTCMonth()) / months) * months;
    const lastMonth = monthStart(start + months - 1).replace('-01T', '-28T');
    expect(ws.plan(stack, { TF_VAR_cert_rotation_now: lastMonth }).changes).toEqual([]);
    const next = ws.plan(stack, { TF_VAR_cert_rotation_now: monthStart(start + months) });
    // The node's step and its check, both replaced.
    expect(next.changes.map((c) => [c.address, c.actions])).toEqual([
      [expect.stringMatching(/^terraform_data\.renew_check-/), ['delete', 'create']],
      [expect.stringMatching(/^terraform_data\.renew_node-/), ['delete', 'create']],
    ]);
    expect(next.changes[1].after.triggers_replace.renewalPeriod).toBe(monthStart(start + months).slice(0, 7));
    // And a what-if time that is not a time is refused by the variable's validation.
    const tfEnv: NodeJS.ProcessEnv = { ...testbedProcessEnv(), TF_VAR_cert_rotation_now: 'next tuesday' };
    const bad = run(tfEnv.TERRAFORM_BINARY_NAME ?? 'terraform', ['plan', '-input=false', '-no-color'], { cwd: ws.stackDir(stack), env: tfEnv, ok: [1] });
    expect(bad.stderr).toContain('cert_rotation_now must be empty or an RFC 3339 time');
  });

  test('generation 2 with certificates [apiserver] renews apiserver.crt alone and restarts the API server alone', async () => {
    const before = snapshot();
    const running = containers();
    const renewal = synth({ generation: 2, certificates: ['apiserver'] });
    expect(renewal.plan[0].commands[0]).toBe(`kubeadm certs renew apiserver --cert-dir ${certDir}`);
    // What a reviewer reads: cert-rotation explain on the real plan lists the node's commands in order.
    const planFile = path.join(ws.dir, 'renew-plan.json');
    fs.writeFileSync(planFile, ws.plan(stack).raw);
    let text = '';
    expect(await cli(['explain', planFile], { stdout: { write: (s: string) => (text += s) }, stderr: { write: () => true } })).toBe(0);
    expect(text).toContain(`remote-exec on node ${env.TESTBED_KUBEADM_NODE}:`);
    expect(text).toContain(`$ kubeadm certs renew apiserver --cert-dir ${certDir}`);
    expect(text).toContain('$ restart static Pod kube-apiserver (manifest out of');
    expect(text).not.toContain('restart static Pod kube-scheduler');
    expect(text).toContain(`$ check: the API server at 127.0.0.1:<--secure-port> serves ${certDir}/apiserver.crt`);
    const r = ws.deploy(stack);
    const after = snapshot();
    const changed = (Object.keys(FILES) as Name[]).filter((n) => after[n].sha256 !== before[n].sha256);
    expect(changed).toEqual(['apiserver']);
    // The step restarts the API server alone (the controller manager may restart by itself when it loses
    // its leader lease while the API server is down, as the real one does).
    expect(r.stdout.match(/restarted [a-z-]+/g)).toEqual(['restarted kube-apiserver']);
    expect(containers()['kube-apiserver']).not.toBe(running['kube-apiserver']);
    expect((await servedCertificate(env.TESTBED_KUBEADM_APISERVER)).fingerprint256).toBe(certificateOf(FILES.apiserver).fingerprint256);
    expect(ws.plan(stack).changes).toEqual([]);
  });

  test("a node step Terraform recorded as done without the node's mark (an apply stopped while it ran): the node's check runs the renewal again", async () => {
    const renewal = synth({ generation: 4, certificates: ['apiserver'] });
    ws.deploy(stack);
    const done = path.join(kubernetesDir, 'cert-rotation-state/kubeadm-renewal.done');
    expect(fs.readFileSync(done, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    // What a stopped apply leaves when Terraform saved the step early: the step in the state, no mark on the node.
    fs.rmSync(done);
    const before = snapshot();
    const check = `terraform_data.${renewal.checks[0].resource.friendlyUniqueId}`;
    const r = ws.apply(stack, [0], [`-replace=${check}`]);
    expect(r.stdout).toContain('the renewal did not finish (an apply stopped while it ran): running it again');
    expect(r.stdout.match(/restarted [a-z-]+/g)).toEqual(['restarted kube-apiserver']);
    expect(snapshot().apiserver.sha256).not.toBe(before.apiserver.sha256);
    expect(fs.existsSync(done)).toBe(true);
    expect((await servedCertificate(env.TESTBED_KUBEADM_APISERVER)).fingerprint256).toBe(certificateOf(FILES.apiserver).fingerprint256);
    // With the mark in place, the check finds the renewal finished and renews nothing.
    const again = ws.apply(stack, [0], [`-replace=${check}`]);
    expect(again.stdout).toContain('the renewal finished');
    expect(again.stdout).not.toContain('restarted kube-apiserver');
    expect(ws.plan(stack).changes).toEqual([]);
  });

  test('a run killed while the API server is stopped for its restart: the next deploy puts its manifest back, renews and restarts', async () => {
    const held = path.join(kubernetesDir, 'cert-rotation-held-manifests', 'kube-apiserver.yaml');
    const manifest = path.join(kubernetesDir, 'manifests', 'kube-apiserver.yaml');
    synth({ generation: 3, certificates: ['apiserver'] });
    // The kubelet stand-in is paused for the kill: the step holds the manifest out until the kubelet has stopped
    // the API server, so the window stays open instead of lasting a second or two (CI once missed it).
    const kubelet = staticPodsStandIn();
    process.kill(kubelet, 'SIGSTOP');
    let finished: { status: number; stdout: string; stderr: string } | undefined;
    try {
      const deploying = ws.deployAsync(stack).then((r) => { finished = r; return r; });
      const deadline = Date.now() + 180_000;
      while (!fs.existsSync(held)) {
        if (finished) throw new Error(`the deploy ended (exit ${finished.status}) before the step moved kube-apiserver.yaml out of manifests/:\n${(finished.stdout + finished.stderr).slice(-4000)}`);
        if (Date.now() > deadline) throw new Error('timed out after 180s waiting for the step to move kube-apiserver.yaml out of manifests/');
        await new Promise((r) => setTimeout(r, 200));
      }
      // The runner is lost, and the node's script with it (a cancelled pipeline, a rebooted node).
      expect(killEngineIn(ws.stackDir(stack))).toBeGreaterThan(0);
      run('pkill', ['-KILL', '-f', '^/bin/sh /tmp/terraform_[0-9]+\\.sh'], { ok: [0, 1] });
      await deploying; // cdktf deploy may exit 0 when its engine is killed: the plan after it is the guard
    } finally {
      process.kill(kubelet, 'SIGCONT');
    }
    // The kubelet, going on, stops the API server whose manifest is gone: what the killed run leaves.
    await waitFor('the kubelet stand-in to stop kube-apiserver', () => containers()['kube-apiserver'] === undefined || undefined, 60);
    expect({ held: fs.existsSync(held), running: fs.existsSync(manifest) }).toEqual({ held: true, running: false });
    expect(ws.plan(stack).changes.map((c) => [c.address.replace(/_[^_]+$/, ''), c.actions])).toEqual([
      [`terraform_data.renew_check-${env.TESTBED_KUBEADM_NODE}`, ['create']],
      [`terraform_data.renew_node-${env.TESTBED_KUBEADM_NODE}`, ['create']],
    ]);

    const again = ws.deploy(stack);
    expect(again.stdout).toContain('kube-apiserver.yaml was left in');
    expect({ held: fs.existsSync(held), running: fs.existsSync(manifest) }).toEqual({ held: false, running: true });
    expect(again.stdout.match(/restarted [a-z-]+/g)).toEqual(['restarted kube-apiserver']);
    expect((await servedCertificate(env.TESTBED_KUBEADM_APISERVER)).fingerprint256).toBe(certificateOf(FILES.apiserver).fingerprint256);
    expect(ws.plan(stack).changes).toEqual([]);
    expectNoKeyAnywhere();
  });
});
