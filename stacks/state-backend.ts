import { createHash } from 'crypto';
import * as path from 'path';
import { LocalBackend, PgBackend, RemoteBackend, S3Backend, TerraformBackend, TerraformRemoteState, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import type { ResolvedBackend } from '../lib/config/backend';

/**
 * Terraform's `kubernetes` backend, which cdktf has no class for: the state is
 * the Secret `tfstate-<workspace>-<secret_suffix>` (gzip, base64) and the lock a
 * Lease `lock-tfstate-<workspace>-<secret_suffix>`, both in `namespace`.
 *
 * @see https://developer.hashicorp.com/terraform/language/backend/kubernetes
 */
export class KubernetesBackend extends TerraformBackend {
  constructor(scope: Construct, private readonly attributes: Record<string, string>) {
    super(scope, 'backend', 'kubernetes');
  }

  protected synthesizeAttributes(): Record<string, string> {
    return { ...this.attributes };
  }

  protected synthesizeHclAttributes(): Record<string, string> {
    return { ...this.attributes };
  }

  getRemoteStateDataSource(scope: Construct, name: string): TerraformRemoteState {
    return new KubernetesRemoteState(scope, name, { ...this.attributes, workspace: '${terraform.workspace}' });
  }
}

class KubernetesRemoteState extends TerraformRemoteState {
  constructor(scope: Construct, id: string, config: Record<string, string>) {
    super(scope, id, 'kubernetes', config);
  }
}

/**
 * Puts the configured backend on `stack`. Returns the local state file when the
 * state is local (the one the app guards against a torn write), else undefined:
 * remote backends write and lock the state themselves.
 *
 * `part` is given for a stack split off the base stack (`fleet.stacks`): what
 * the configuration names once (a state file, a Secret suffix, a schema) gets
 * the part added, so that each stack has a state of its own.
 */
export function addStateBackend(stack: TerraformStack, backend: ResolvedBackend | undefined, cwd: string, part?: string): string | undefined {
  const name = stack.node.id;
  const b = backend ?? { type: 'local' as const };
  switch (b.type) {
    case 'local': {
      const file = b.path === undefined
        ? path.join(cwd, `terraform.${name}.tfstate`)
        : part === undefined ? b.path : `${b.path.replace(/\.tfstate$/, '')}.${part}.tfstate`;
      new LocalBackend(stack, { path: file });
      return file;
    }
    case 'kubernetes':
      new KubernetesBackend(stack, {
        secret_suffix: b.secretSuffix === undefined ? name : part === undefined ? b.secretSuffix : `${b.secretSuffix}-${part}`,
        namespace: b.namespace,
        config_path: b.kubeconfig,
        ...(b.context !== undefined ? { config_context: b.context } : {}),
      });
      return undefined;
    case 'pg':
      // Without connStr, Terraform reads PG_CONN_STR from the runner's environment.
      // The pg backend keeps one state per workspace in its schema: a split stack gets a schema of its own.
      new PgBackend(stack, {
        ...(b.connStr !== undefined ? { connStr: b.connStr } : {}),
        ...(part !== undefined
          ? { schemaName: splitSchemaName(b.schemaName ?? PG_DEFAULT_SCHEMA, part) }
          : b.schemaName !== undefined ? { schemaName: b.schemaName } : {}),
        ...(b.skipSchemaCreation !== undefined ? { skipSchemaCreation: b.skipSchemaCreation } : {}),
      } as { connStr: string });
      return undefined;
    case 's3':
      new S3Backend(stack, b.options as never);
      return undefined;
    case 'remote':
      new RemoteBackend(stack, b.options as never);
      return undefined;
  }
}

/** The pg backend's schema when the configuration names none. */
export const PG_DEFAULT_SCHEMA = 'terraform_remote_state';

/**
 * `<schema>_<part>` in the characters an unquoted PostgreSQL name takes, at
 * most 63 of them (a longer one ends in a hash of the whole name instead).
 */
export function splitSchemaName(schema: string, part: string): string {
  const full = `${schema}_${part.replace(/[^a-z0-9_]/g, '_')}`;
  if (full.length <= 63) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 8);
  return `${full.slice(0, 54)}_${hash}`;
}
