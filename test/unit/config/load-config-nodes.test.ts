import * as fs from 'fs';
import * as path from 'path';
import { Testing } from 'cdktf';
import { stringify } from 'yaml';
import { ConfigError } from '../../../lib/config/config-error';
import { loadConfig } from '../../../lib/config/load-config';
import { RancherStack } from '../../../stacks/rancher-stack';
import { removeDir, tempDir } from '../../support/pki';

const NOW = new Date('2026-06-01T00:00:00Z');

// GIVEN a configuration file that rotates machines over SSH (nodes:, rke2:, rke:,
// rancherContainer:) with or without a rancher section, WHEN loaded and
// synthesized, THEN each section becomes its construct, the nodes are named
// once and referenced by name, and every mistake is one ConfigError with the
// file, the field and the fix.
describe('loadConfig: nodes and the rotations that run on them', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('cfg-nodes-');
    fs.writeFileSync(path.join(dir, 'id_ed25519'), 'not read at synth\n');
    fs.writeFileSync(path.join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
  });
  afterEach(() => removeDir(dir));

  const node = (port: number) => ({ address: '10.0.0.1', port, user: 'root', privateKeyFile: 'id_ed25519', hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA' });
  const NODES = { 'cp-1': node(22), 'cp-2': node(2202), 'cp-3': node(2203), 'wk-1': node(2204), 'wk-2': { address: '10.0.0.9', agent: true } };

  function write(content: Record<string, unknown>): string {
    const file = path.join(dir, 'cert-rotation.yaml');
    fs.writeFileSync(file, stringify(content));
    return file;
  }
  function error(file: string): ConfigError {
    try {
      loadConfig(file, { now: NOW });
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error('no ConfigError');
  }

  test('an RKE2 HA rotation, rke and a Rancher container without a rancher section: each section resolved, keys by path only', () => {
    const c = loadConfig(write({
      nodes: NODES,
      rke2: { servers: ['cp-1', 'cp-2', 'cp-3'], agents: ['wk-1', 'wk-2'], generation: 2, services: ['api-server'], readinessTimeoutSeconds: 600 },
      rke: { host: 'cp-1', clusterConfigPath: '/root/rke/cluster.yml', generation: 1, rotateCA: true, cluster: { kubeconfig: 'kubeconfig', context: 'prod' } },
      rancherContainer: { host: 'cp-1', container: 'rancher', rancherVersion: '2.8.5', generation: 1, servedEndpoint: 'rancher.example.com:443' },
    }), { now: NOW });
    expect(c.rancher).toBeUndefined();
    expect(c.downstream).toEqual([]);
    expect(c.rke2).toMatchObject({ generation: 2, services: ['api-server'], mode: 'rotate', readinessTimeoutSeconds: 600 });
    expect(c.rke2!.servers.map((n) => n.name)).toEqual(['cp-1', 'cp-2', 'cp-3']);
    expect(c.rke2!.servers[0]).toEqual({ name: 'cp-1', host: '10.0.0.1', port: 22, user: 'root', privateKeyPath: path.join(dir, 'id_ed25519'), hostKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA' });
    expect(c.rke2!.agents[1]).toEqual({ name: 'wk-2', host: '10.0.0.9', agent: true });
    expect(c.rke).toMatchObject({ clusterConfigPath: '/root/rke/cluster.yml', rotateCA: true, upFirst: false, services: [], cluster: { kubeconfig: path.join(dir, 'kubeconfig'), context: 'prod' } });
    expect(c.rancherContainer).toMatchObject({ container: 'rancher', rancherVersion: '2.8.5', generation: 1 });

    const stack = new RancherStack(Testing.app(), 'nodes', c);
    expect(stack.rotation).toBeUndefined();
    expect(stack.rke2!.plan.map((p) => [p.node, p.role])).toEqual([['cp-1', 'server'], ['cp-2', 'server'], ['cp-3', 'server'], ['wk-1', 'agent'], ['wk-2', 'agent']]);
    expect(stack.rke!.restart).toBeDefined();
    expect(stack.rancherContainer!.commands[0]).toBe("docker exec rancher mv /var/lib/rancher/k3s/server/tls /var/lib/rancher/k3s/server/tls-bak-g1");
    const synthesized = Testing.synth(stack);
    expect(synthesized).toContain(path.join(dir, 'id_ed25519'));
    expect(synthesized).not.toContain('not read at synth');
  });

  const REFUSED: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ nodes: NODES }, 'rancher', /add what to rotate: a rancher, rke2, rke or rancherContainer section/],
    [{ nodes: NODES, rke2: { servers: ['cp-1'], generation: 1 }, downstream: [] }, 'rancher', /downstream clusters follow the Rancher server certificate/],
    [{ nodes: NODES, rke2: { servers: ['cp-9'], generation: 1 } }, 'rke2.servers[0]', /'cp-9' is not in nodes.*Fix: use one of cp-1, cp-2, cp-3, wk-1, wk-2/],
    [{ rke2: { servers: ['cp-1'], generation: 1 } }, 'rke2.servers[0]', /Fix: add a nodes section/],
    [{ nodes: NODES, rke2: { servers: [], generation: 1 } }, 'rke2.servers', /is missing or empty/],
    [{ nodes: NODES, rke2: { servers: ['cp-1'], generation: 0 } }, 'rke2.generation', /'0' is not a whole number of at least 1/],
    [{ nodes: NODES, rke2: { servers: ['cp-1'] } }, 'rke2.generation', /is missing/],
    [{ nodes: NODES, rke2: { servers: ['cp-1'], generation: 1, mode: 'fast' } }, 'rke2.mode', /'fast' is not one of rotate, expired/],
    [{ nodes: { 'cp-1': { address: '10.0.0.1' } }, rke2: { servers: ['cp-1'], generation: 1 } }, 'nodes.cp-1.privateKeyFile', /is missing and agent is not true/],
    [{ nodes: { 'cp-1': { ...node(22), privateKeyFile: 'missing' } }, rke2: { servers: ['cp-1'], generation: 1 } }, 'nodes.cp-1.privateKeyFile', /does not exist/],
    [{ nodes: { 'cp-1': node(70000) }, rke2: { servers: ['cp-1'], generation: 1 } }, 'nodes.cp-1.port', /'70000' is not a port/],
    [{ nodes: { CP1: node(22) }, rke2: { servers: ['CP1'], generation: 1 } }, 'nodes.CP1', /is not a node name/],
    [{ nodes: { 'cp-1': { ...node(22), password: 'x' } }, rke2: { servers: ['cp-1'], generation: 1 } }, 'nodes.cp-1.password', /is not a known key/],
    [{ nodes: NODES, rancherContainer: { host: 'cp-1', container: 'rancher', rancherVersion: 2.8, generation: 1 } }, 'rancherContainer.rancherVersion', /is a number in YAML/],
  ];
  test.each(REFUSED.map(([content, field, message], i) => [`${i + 1}`, field, content, message] as const))('case %s: refused at %s', (_n, field, content, message) => {
    const e = error(write(content));
    expect(e.field).toBe(field);
    expect(e.message).toContain(path.join(dir, 'cert-rotation.yaml'));
    expect(e.message).toMatch(message);
    expect(e.message).toMatch(/Fix: \S/);
  });

  test('a value the construct refuses names its section and prop', () => {
    const c = loadConfig(write({ nodes: NODES, rke2: { servers: ['cp-1'], generation: 1, services: ['apiserver'] } }), { now: NOW });
    let e: unknown;
    try {
      new RancherStack(Testing.app(), 'nodes', c);
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as ConfigError).field).toBe('rke2.services');
    expect((e as ConfigError).message).toMatch(/'apiserver'.*Fix: /);
  });
});
