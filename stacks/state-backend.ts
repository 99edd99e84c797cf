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
 */
export function addStateBackend(stack: TerraformStack, backend: ResolvedBackend | undefined, cwd: string): string | undefined {
  const name = stack.node.id;
  const b = backend ?? { type: 'local' as const };
  switch (b.type) {
    case 'local': {
      const file = b.path ?? path.join(cwd, `terraform.${name}.tfstate`);
      new LocalBackend(stack, { path: file });
      return file;
    }
    case 'kubernetes':
      new KubernetesBackend(stack, {
        secret_suffix: b.secretSuffix ?? name,
        namespace: b.namespace,
        config_path: b.kubeconfig,
        ...(b.context !== undefined ? { config_context: b.context } : {}),
      });
      return undefined;
    case 'pg':
      // Without connStr, Terraform reads PG_CONN_STR from the runner's environment.
      new PgBackend(stack, {
        ...(b.connStr !== undefined ? { connStr: b.connStr } : {}),
        ...(b.schemaName !== undefined ? { schemaName: b.schemaName } : {}),
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
