import * as fs from 'fs';
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { stringify } from 'yaml';
import { ConfigError } from '../../../lib/config/config-error';
import { loadConfig } from '../../../lib/config/load-config';
import { addStateBackend } from '../../../stacks/state-backend';
import { removeDir, tempDir } from '../../support/pki';

const NOW = new Date('2026-06-01T00:00:00Z');

// GIVEN a configuration file with a backend section, WHEN loaded and the stack
// synthesized, THEN cdk.tf.json holds exactly Terraform's backend block for it,
// local state is the one the app guards, and a credential in the file is
// refused naming the field and the environment variable to use instead.
describe('loadConfig: backend', () => {
  let dir: string;
  beforeEach(() => {
    dir = tempDir('cfg-backend-');
    fs.writeFileSync(path.join(dir, 'id_ed25519'), 'not read at synth\n');
    fs.writeFileSync(path.join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
  });
  afterEach(() => removeDir(dir));

  // A file that rotates one RKE2 server: the smallest valid configuration without certificates.
  const BASE = {
    nodes: { 'cp-1': { address: '10.0.0.1', privateKeyFile: 'id_ed25519' } },
    rke2: { servers: ['cp-1'], generation: 1 },
  };
  function write(backend: unknown): string {
    const file = path.join(dir, 'cert-rotation.yaml');
    fs.writeFileSync(file, stringify({ ...BASE, backend }));
    return file;
  }
  function error(backend: unknown): ConfigError {
    try {
      loadConfig(write(backend), { now: NOW });
    } catch (e) {
      if (e instanceof ConfigError) return e;
      throw e;
    }
    throw new Error('no ConfigError');
  }
  /** The terraform.backend block the stack synthesizes, and what addStateBackend returned. */
  function synth(backend: unknown): { block: Record<string, any>; local?: string } {
    const config = loadConfig(write(backend), { now: NOW });
    const app = new App({ outdir: path.join(dir, 'out') });
    const stack = new TerraformStack(app, 'rancher');
    const local = addStateBackend(stack, config.backend, '/runner/work');
    app.synth();
    const json = JSON.parse(fs.readFileSync(path.join(dir, 'out', 'stacks', 'rancher', 'cdk.tf.json'), 'utf8'));
    return { block: json.terraform.backend, local };
  }

  test('no backend section: local state beside the app, guarded', () => {
    expect(synth(undefined)).toEqual({ block: { local: { path: '/runner/work/terraform.rancher.tfstate' } }, local: '/runner/work/terraform.rancher.tfstate' });
  });

  test('local with a path: relative to the configuration file', () => {
    expect(synth({ type: 'local', path: 'state/rancher.tfstate' }).local).toBe(path.join(dir, 'state/rancher.tfstate'));
  });

  test('kubernetes: the state Secret is named after the stack unless secretSuffix says otherwise; not guarded locally', () => {
    expect(synth({ type: 'kubernetes', kubeconfig: 'kubeconfig', context: 'mgmt', namespace: 'cert-rotation' })).toEqual({
      block: { kubernetes: { secret_suffix: 'rancher', namespace: 'cert-rotation', config_path: path.join(dir, 'kubeconfig'), config_context: 'mgmt' } },
      local: undefined,
    });
    expect(synth({ type: 'kubernetes', kubeconfig: 'kubeconfig', secretSuffix: 'prod-rancher' }).block.kubernetes)
      .toEqual({ secret_suffix: 'prod-rancher', namespace: 'default', config_path: path.join(dir, 'kubeconfig') });
  });

  test('kubernetes without kubeconfig and without a rancher section: the field and the fix', () => {
    expect(error({ type: 'kubernetes' }).message).toMatch(/backend\.kubeconfig: is missing and there is no rancher section/);
  });

  test('pg: conn_str and schema_name as Terraform spells them; without connStr Terraform reads PG_CONN_STR', () => {
    expect(synth({ type: 'pg', connStr: 'postgres://terraform@db.example.com/terraform?sslmode=require', schemaName: 'cert_rotation' }).block)
      .toEqual({ pg: { conn_str: 'postgres://terraform@db.example.com/terraform?sslmode=require', schema_name: 'cert_rotation' } });
    expect(synth({ type: 'pg' }).block).toEqual({ pg: {} });
  });

  test.each([
    ['postgres://terraform:hunter2@db.example.com/terraform'],
    ['postgresql://terraform:hunter2@db/terraform'],
    ['postgres://db.example.com/terraform?password=hunter2'],
    ['host=db user=terraform password=hunter2 dbname=terraform'],
  ])('a password in the pg connection string is refused: %s', (connStr) => {
    const e = error({ type: 'pg', connStr });
    expect(e.field).toBe('backend.connStr');
    expect(e.fix).toMatch(/PGPASSWORD/);
    expect(e.message).not.toContain('hunter2');
  });

  test('s3 and remote pass their options through, credentials refused with the variable to set', () => {
    expect(synth({ type: 's3', options: { bucket: 'tfstate', key: 'rancher.tfstate', region: 'eu-west-1', use_lockfile: true } }).block)
      .toEqual({ s3: { bucket: 'tfstate', key: 'rancher.tfstate', region: 'eu-west-1', use_lockfile: true } });
    const s3 = error({ type: 's3', options: { bucket: 'tfstate', secret_key: 'x' } });
    expect(s3.field).toBe('backend.options.secret_key');
    expect(s3.fix).toMatch(/AWS_SECRET_ACCESS_KEY/);
    expect(error({ type: 'remote', options: { organization: 'acme', token: 'x' } }).fix).toMatch(/TF_TOKEN_/);
  });

  test('an unknown type or a key of another type: the field and the choices', () => {
    expect(error({ type: 'consul' }).message).toMatch(/backend\.type: 'consul' is not one of local, kubernetes, pg, s3, remote/);
    expect(error({ type: 'pg', namespace: 'x' }).message).toMatch(/backend\.namespace: is not a known key.*connStr, schemaName, skipSchemaCreation/);
    expect(error({ type: 'kubernetes', kubeconfig: 'kubeconfig', secretSuffix: 'Prod_1' }).field).toBe('backend.secretSuffix');
  });
});
