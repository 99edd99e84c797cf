import { Testing } from 'cdktf';
import { Rke2CertificateRotation, Rke2CertificateRotationProps, Rke2Node } from '../../../lib/rotation';
import { newStack, synthJson } from './support/fixtures';

const node = (name: string, port = 22): Rke2Node => ({ name, host: `${name}.example`, port, privateKeyPath: '/keys/id_ed25519', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA' });
const SERVERS = ['m1', 'm2', 'm3'].map((n) => node(n));
const AGENTS = ['w1', 'w2'].map((n) => node(n));

function synth(props: Partial<Rke2CertificateRotationProps> = {}) {
  const stack = newStack();
  const rotation = new Rke2CertificateRotation(stack, 'rke2', { servers: SERVERS, agents: AGENTS, generation: 1, ...props });
  const json = synthJson(stack);
  const data = Object.values(json.resource?.terraform_data ?? {});
  return { rotation, json, data, text: Testing.synth(stack) };
}

describe('Rke2CertificateRotation', () => {
  test('one step per node: servers in a chain, agents after the last server', () => {
    const { data, rotation } = synth();
    expect(data).toHaveLength(5);
    const byNode = Object.fromEntries(data.map((d: any) => [d.input.node, d]));
    expect(byNode.m1.depends_on).toBeUndefined();
    expect(byNode.m2.depends_on).toEqual([expect.stringContaining('server-m1')]);
    expect(byNode.m3.depends_on).toEqual([expect.stringContaining('server-m2')]);
    for (const w of ['w1', 'w2']) expect(byNode[w].depends_on).toEqual([expect.stringContaining('server-m3')]);
    expect(rotation.plan.map((p) => `${p.role}:${p.node}`)).toEqual(['server:m1', 'server:m2', 'server:m3', 'agent:w1', 'agent:w2']);
    expect(rotation.plan[0].commands).toEqual([
      'systemctl stop rke2-server',
      'rke2 certificate rotate --data-dir /var/lib/rancher/rke2',
      'systemctl start rke2-server',
      'wait: node m1 Ready (up to 300s)',
      'check: server/tls/serving-kube-apiserver.crt renewed',
      'check: the API at 127.0.0.1:6443 serves server/tls/serving-kube-apiserver.crt',
    ]);
    expect(rotation.plan[3].commands).toEqual(['systemctl restart rke2-agent', 'wait: node w1 Ready (up to 300s)']);
  });

  test('only generation, services and mode trigger; the key is read at apply by file(), never inlined', () => {
    const { data, text } = synth({ services: ['api-server', 'etcd'] });
    const m1: any = data.find((d: any) => d.input.node === 'm1');
    expect(m1.triggers_replace).toEqual({ generation: 1, services: ['api-server', 'etcd'], mode: 'rotate', node: 'm1', role: 'server' });
    expect(m1.connection).toMatchObject({ type: 'ssh', host: 'm1.example', port: 22, user: 'root', private_key: '${file("/keys/id_ed25519")}', host_key: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA' });
    expect(m1.provisioner[0]['remote-exec'].inline.join('\n')).toContain("rke2 certificate rotate --service api-server --service etcd --data-dir /var/lib/rancher/rke2");
    expect(text).not.toContain('PRIVATE KEY');
    // A different readiness timeout changes the description only.
    const other: any = synth({ services: ['api-server', 'etcd'], readinessTimeoutSeconds: 60 }).data.find((d: any) => d.input.node === 'm1');
    expect(other.triggers_replace).toEqual(m1.triggers_replace);
  });

  test('expired mode: delete rke2-serving on the first server, remove dynamic-cert.json and restart each server', () => {
    const { rotation } = synth({ mode: 'expired', dataDir: '/data/rke2' });
    expect(rotation.plan[0].commands).toEqual([
      "/data/rke2/bin/kubectl --kubeconfig /etc/rancher/rke2/rke2.yaml --insecure-skip-tls-verify delete secret rke2-serving -n kube-system --ignore-not-found",
      'rm -f /data/rke2/server/tls/dynamic-cert.json',
      'systemctl restart rke2-server',
      'wait: node m1 Ready (up to 300s)',
      'check: the API at 127.0.0.1:6443 serves server/tls/serving-kube-apiserver.crt',
    ]);
    expect(rotation.plan[1].commands[0]).toBe('rm -f /data/rke2/server/tls/dynamic-cert.json');
  });

  test("after Ready, each server's API must serve the serving certificate now on disk: per-node address, or off", () => {
    const { rotation, data } = synth({ servers: [{ ...node('m1'), apiAddress: '10.0.0.11:6443' }, node('m2')], apiAddress: '127.0.0.1:16443' });
    expect(rotation.plan[0].commands.at(-1)).toBe('check: the API at 10.0.0.11:6443 serves server/tls/serving-kube-apiserver.crt');
    expect(rotation.plan[1].commands.at(-1)).toBe('check: the API at 127.0.0.1:16443 serves server/tls/serving-kube-apiserver.crt');
    const m1: any = data.find((r: any) => r.triggers_replace.node === 'm1');
    const script: string[] = m1.provisioner[0]['remote-exec'].inline;
    const wait = script.find((l) => l.startsWith("cr_wait 'API at 10.0.0.11:6443"))!;
    expect(wait).toContain('openssl s_client -connect 10.0.0.11:6443');
    expect(wait).toContain('openssl x509 -noout -fingerprint -sha256 -in');
    // The check comes after the Ready wait; it changes no trigger (a deployed rotation is not re-run for it).
    expect(script.indexOf(wait)).toBeGreaterThan(script.findIndex((l) => l.startsWith("cr_wait 'node m1 Ready'")));
    expect(m1.triggers_replace).toEqual({ generation: 1, services: [], mode: 'rotate', node: 'm1', role: 'server' });
    expect(synth({ apiServingCheck: false }).rotation.plan[0].commands.join()).not.toContain('the API at');
    expect(() => synth({ apiAddress: 'localhost' })).toThrow(/'apiAddress' \("localhost"\) is not host:port/);
  });

  test.each([
    [{ servers: [] }, /'servers' \(\[\]\) is empty/],
    [{ generation: 0 }, /'generation' \(0\) is not a whole number of at least 1/],
    [{ services: ['apiserver'] }, /'services' \("apiserver"\) is not a service rke2 certificate rotate knows; use one of admin, api-server/],
    [{ mode: 'expired', services: ['etcd'] }, /does not apply in mode 'expired'/],
    [{ dataDir: 'rke2' }, /'dataDir' \("rke2"\) is not an absolute path/],
    [{ agents: [{ ...node('w1'), privateKeyPath: undefined }] }, /'agents\[0\].privateKeyPath' \(undefined\) is missing while agent is false/],
    [{ agents: [node('m1')] }, /'servers\/agents' \("m1"\) names a node twice/],
  ])('refuses %j', (props, message) => {
    expect(() => synth(props as Partial<Rke2CertificateRotationProps>)).toThrow(message);
  });
});
