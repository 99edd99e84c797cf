import * as fs from 'fs';
import * as path from 'path';
import { App } from 'cdktf';
import { stringify } from 'yaml';
import { ConfigError } from '../../../lib/config/config-error';
import { loadConfig } from '../../../lib/config/load-config';
import { addRotationStacks } from '../../../stacks/app-stacks';
import { splitSchemaName } from '../../../stacks/state-backend';
import { makePrivateCa, removeDir, tempDir, writeRancherFiles } from '../../support/pki';

const NOW = new Date('2026-06-01T00:00:00Z');
const HOST = 'rancher.example.com';

type Json = Record<string, any>;

// GIVEN a configuration with downstream clusters and fleet.stacks, WHEN the app
// is synthesized, THEN the downstream clusters' steps are in one stack, one per
// cluster or one per group; each split stack depends on the server's, starts
// with the server's gate (read only), keeps a state of its own, and names its
// clusters for `cert-rotation fleet`. A bad fleet section is one ConfigError.
describe('fleet.stacks', () => {
  let dir: string;
  const ca = makePrivateCa('Fleet', { now: NOW });

  beforeEach(() => {
    dir = tempDir('fleet-');
    writeRancherFiles(path.join(dir, 'certs'), ca, HOST, { now: NOW });
    fs.writeFileSync(path.join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
  });
  afterEach(() => removeDir(dir));

  const DOWNSTREAM = [
    { name: 'stage-1', kubeconfig: 'kubeconfig', context: 's1', distribution: 'rke2', group: 'staging' },
    { name: 'prod-eu', kubeconfig: 'kubeconfig', context: 'eu', distribution: 'rke1', group: 'prod', fleetCluster: 'prod-eu' },
    { name: 'prod-us', kubeconfig: 'kubeconfig', context: 'us', distribution: 'k3s', group: 'prod' },
  ];

  function write(extra: Json, downstream: Json[] = DOWNSTREAM): string {
    const file = path.join(dir, 'cert-rotation.yaml');
    fs.writeFileSync(file, stringify({
      rancher: {
        kubeconfig: 'kubeconfig',
        hostname: HOST,
        certificate: { certFile: 'certs/tls.crt', keyFile: 'certs/tls.key', caFile: 'certs/cacerts.pem' },
      },
      downstream,
      ...extra,
    }));
    return file;
  }

  /** Synthesizes the app; returns each stack's cdk.tf.json and the manifest. */
  function synth(extra: Json, downstream?: Json[]): { stacks: Record<string, Json>; manifest: Json } {
    const config = loadConfig(write(extra, downstream), { now: NOW });
    const out = path.join(dir, 'out');
    const app = new App({ outdir: out });
    addRotationStacks(app, 'rancher', config, '/runner/work');
    app.synth();
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    const stacks: Record<string, Json> = {};
    for (const s of Object.values<Json>(manifest.stacks)) {
      stacks[s.name] = JSON.parse(fs.readFileSync(path.join(out, s.synthesizedStackPath), 'utf8'));
    }
    return { stacks, manifest };
  }

  function error(extra: Json, downstream?: Json[]): ConfigError {
    try {
      loadConfig(write(extra, downstream), { now: NOW });
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error('no ConfigError');
  }

  test('no fleet section: one stack with the server and every downstream cluster', () => {
    const { stacks } = synth({});
    expect(Object.keys(stacks)).toEqual(['rancher']);
    expect(stacks.rancher['//']['cert-rotation']).toEqual({ clusters: ['server', 'stage-1', 'prod-eu', 'prod-us'] });
    const text = JSON.stringify(stacks.rancher);
    for (const d of DOWNSTREAM) expect(text).toContain(`Downstream-${d.name}`);
  });

  test('groups: a stack per group, after the server, each starting with the gate, with its own local state', () => {
    const { stacks, manifest } = synth({ fleet: { stacks: 'groups' } });
    expect(Object.keys(stacks).sort()).toEqual(['rancher', 'rancher-group-prod', 'rancher-group-staging']);
    expect(stacks.rancher['//']['cert-rotation']).toEqual({ clusters: ['server'] });
    expect(JSON.stringify(stacks.rancher)).not.toContain('Downstream-');
    expect(stacks['rancher-group-prod']['//']['cert-rotation']).toEqual({ clusters: ['prod-eu', 'prod-us'] });
    expect(manifest.stacks['rancher-group-prod'].dependencies).toEqual(['rancher']);
    expect(manifest.stacks['rancher-group-staging'].dependencies).toEqual(['rancher']);

    const prod = stacks['rancher-group-prod'];
    const resources = prod.resource.terraform_data as Record<string, Json>;
    const names = Object.keys(resources);
    const gate = names.find((n) => n.includes('Gate'));
    expect(gate).toBeDefined();
    // Every agent step waits for this stack's own gate.
    const agentSteps = names.filter((n) => n.includes('AgentCaChecksum'));
    expect(agentSteps.length).toBeGreaterThanOrEqual(2);
    for (const n of agentSteps) expect(JSON.stringify(resources[n].depends_on ?? [])).toContain(gate as string);
    // The gate is the server's gate: same hostname and checksum as in the server's stack.
    const serverGate = Object.entries<Json>(stacks.rancher.resource.terraform_data).find(([n]) => n.includes('Gate'))?.[1];
    expect(resources[gate as string].input).toEqual(serverGate?.input);
    // The converge step runs the gate and this group's clusters only.
    const converge = names.find((n) => n.includes('Converge')) as string;
    const spec = JSON.stringify(resources[converge]);
    expect(spec).toContain('prod-eu');
    expect(spec).not.toContain('stage-1');

    expect(prod.terraform.backend).toEqual({ local: { path: '/runner/work/terraform.rancher-group-prod.tfstate' } });
    expect(stacks.rancher.terraform.backend).toEqual({ local: { path: '/runner/work/terraform.rancher.tfstate' } });
  });

  test('per-cluster: a stack per downstream cluster', () => {
    const { stacks } = synth({ fleet: { stacks: 'per-cluster' } });
    expect(Object.keys(stacks).sort()).toEqual(['rancher', 'rancher-prod-eu', 'rancher-prod-us', 'rancher-stage-1']);
    expect(stacks['rancher-prod-us']['//']['cert-rotation']).toEqual({ clusters: ['prod-us'] });
  });

  test('split stacks get a state of their own on every backend', () => {
    const k8s = synth({ fleet: { stacks: 'groups' }, backend: { type: 'kubernetes', namespace: 'tf', secretSuffix: 'certs' } }).stacks;
    expect(k8s.rancher.terraform.backend.kubernetes.secret_suffix).toBe('certs');
    expect(k8s['rancher-group-prod'].terraform.backend.kubernetes.secret_suffix).toBe('certs-group-prod');
    const pg = synth({ fleet: { stacks: 'groups' }, backend: { type: 'pg' } }).stacks;
    expect(pg.rancher.terraform.backend.pg.schema_name).toBeUndefined();
    expect(pg['rancher-group-staging'].terraform.backend.pg.schema_name).toBe('terraform_remote_state_group_staging');
    const local = synth({ fleet: { stacks: 'groups' }, backend: { type: 'local', path: 'state/rotation.tfstate' } }).stacks;
    expect(local.rancher.terraform.backend.local.path).toBe(path.join(dir, 'state/rotation.tfstate'));
    expect(local['rancher-group-prod'].terraform.backend.local.path).toBe(path.join(dir, 'state/rotation.group-prod.tfstate'));
  });

  test('a long pg schema name is cut and ends in a hash, within PostgreSQL\'s 63 characters', () => {
    const a = splitSchemaName('terraform_remote_state', 'group-' + 'a'.repeat(40));
    const b = splitSchemaName('terraform_remote_state', 'group-' + 'a'.repeat(39) + 'b');
    expect(a.length).toBeLessThanOrEqual(63);
    expect(a).toMatch(/^[a-z0-9_]+$/);
    expect(a).not.toBe(b);
  });

  test('bad fleet sections name the field and the fix', () => {
    const noGroup = error({ fleet: { stacks: 'groups' } }, [DOWNSTREAM[0], { name: 'x', kubeconfig: 'kubeconfig', distribution: 'rke2' }]);
    expect(noGroup.field).toBe('downstream[1].group');
    expect(noGroup.message).toMatch(/Fix: give it a group/);
    expect(error({ fleet: { stacks: 'all' } }).field).toBe('fleet.stacks');
    expect(error({ fleet: { stack: 'one' } }).field).toBe('fleet.stack');
    expect(error({}, [{ ...DOWNSTREAM[0], group: 'Prod EU' }]).field).toBe('downstream[0].group');
    const s3 = error({ fleet: { stacks: 'per-cluster' }, backend: { type: 's3', options: { bucket: 'b', key: 'k', region: 'eu-west-1' } } });
    expect(s3.field).toBe('fleet.stacks');
    expect(s3.message).toMatch(/local, kubernetes or pg/);
  });

  test('fleet without a rancher section is refused', () => {
    const file = path.join(dir, 'nodes.yaml');
    fs.writeFileSync(path.join(dir, 'id'), 'k\n');
    fs.writeFileSync(file, stringify({ nodes: { n1: { address: '10.0.0.1', privateKeyFile: 'id' } }, rke2: { servers: ['n1'], generation: 1 }, fleet: { stacks: 'groups' } }));
    expect(() => loadConfig(file, { now: NOW })).toThrow(/fleet.*no rancher section/s);
  });
});
