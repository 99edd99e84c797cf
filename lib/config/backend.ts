import * as path from 'path';
import { ConfigError } from './config-error';
import type { Validator } from './load-config';

/**
 * Where Terraform keeps the stack's state (`backend:`). The state of a rotation
 * holds no private key (keys are write-only or read from files at apply), but
 * a backend block is written into cdk.tf.json and `.terraform/`: credentials
 * never go in it, they come from the environment the backend reads.
 *
 * @see https://developer.hashicorp.com/terraform/language/backend/kubernetes
 * @see https://developer.hashicorp.com/terraform/language/backend/pg
 */
export type ResolvedBackend =
  | { readonly type: 'local'; readonly path?: string }
  | {
    readonly type: 'kubernetes';
    /** The state is the Secret `tfstate-<workspace>-<secretSuffix>`, its lock the Lease `lock-tfstate-<workspace>-<secretSuffix>`. @default the stack name */
    readonly secretSuffix?: string;
    readonly namespace: string;
    readonly kubeconfig: string;
    readonly context?: string;
  }
  | {
    readonly type: 'pg';
    /** Without it Terraform reads PG_CONN_STR. Never holds a password (PGPASSWORD or ~/.pgpass do). */
    readonly connStr?: string;
    readonly schemaName?: string;
    readonly skipSchemaCreation?: boolean;
  }
  | { readonly type: 's3' | 'remote'; readonly options: Record<string, unknown> };

export const BACKEND_TYPES = ['local', 'kubernetes', 'pg', 's3', 'remote'] as const;

/** Options of the passed-through backends that are credentials: they belong in the environment. */
const CREDENTIAL_OPTIONS: Record<'s3' | 'remote', Record<string, string>> = {
  s3: {
    access_key: 'AWS_ACCESS_KEY_ID',
    secret_key: 'AWS_SECRET_ACCESS_KEY',
    token: 'AWS_SESSION_TOKEN',
  },
  remote: {
    token: 'TF_TOKEN_<hostname> (e.g. TF_TOKEN_app_terraform_io) or a credentials block in the CLI configuration',
  },
};

/** The default when the file has no `backend:`: cdktf's local state beside the app. */
export const LOCAL_BACKEND: ResolvedBackend = { type: 'local' };

/**
 * Reads `backend:`. `cluster` is the Rancher server cluster, the default place
 * of a kubernetes backend's Secret.
 */
export function loadBackend(v: Validator, value: unknown, cluster?: { kubeconfig: string; context?: string }): ResolvedBackend {
  if (value === undefined || value === null) return LOCAL_BACKEND;
  const type = v.oneOf(v.object(value, 'backend', ['type', 'path', 'namespace', 'secretSuffix', 'kubeconfig', 'context', 'connStr', 'schemaName', 'skipSchemaCreation', 'options']).type, 'backend.type', [...BACKEND_TYPES]);
  const allowed: Record<string, string[]> = {
    local: ['type', 'path'],
    kubernetes: ['type', 'namespace', 'secretSuffix', 'kubeconfig', 'context'],
    pg: ['type', 'connStr', 'schemaName', 'skipSchemaCreation'],
    s3: ['type', 'options'],
    remote: ['type', 'options'],
  };
  const b = v.object(value, 'backend', allowed[type]);
  switch (type) {
    case 'local': {
      const p = v.optionalString(b.path, 'backend.path');
      return { type, ...(p !== undefined ? { path: path.resolve(path.dirname(v.file), p) } : {}) };
    }
    case 'kubernetes': {
      if (b.kubeconfig === undefined && !cluster) {
        throw new ConfigError(v.file, 'backend.kubeconfig', 'is missing and there is no rancher section to take it from', 'give the kubeconfig of the cluster that keeps the state Secret');
      }
      const secretSuffix = v.optionalString(b.secretSuffix, 'backend.secretSuffix');
      if (secretSuffix !== undefined && !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(secretSuffix)) {
        throw new ConfigError(v.file, 'backend.secretSuffix', `'${secretSuffix}' cannot end a Secret name (lowercase letters, digits, '-' and '.')`, 'write e.g. rancher-prod; the Secret is tfstate-default-<secretSuffix>');
      }
      const namespace = v.optionalString(b.namespace, 'backend.namespace') ?? 'default';
      if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) {
        throw new ConfigError(v.file, 'backend.namespace', `'${namespace}' is not a namespace name`, 'write an existing namespace, e.g. cert-rotation');
      }
      const kubeconfig = b.kubeconfig !== undefined ? v.existingFile(b.kubeconfig, 'backend.kubeconfig') : cluster!.kubeconfig;
      const context = v.optionalString(b.context, 'backend.context') ?? (b.kubeconfig === undefined ? cluster?.context : undefined);
      return { type, namespace, kubeconfig, ...(secretSuffix !== undefined ? { secretSuffix } : {}), ...(context !== undefined ? { context } : {}) };
    }
    case 'pg': {
      const connStr = v.optionalString(b.connStr, 'backend.connStr');
      if (connStr !== undefined && hasPassword(connStr)) {
        throw new ConfigError(v.file, 'backend.connStr', 'holds a password, which would be written into cdk.tf.json and .terraform/', 'remove it and give it to Terraform through PGPASSWORD or ~/.pgpass (or leave connStr out and set PG_CONN_STR in the runner)');
      }
      const schemaName = v.optionalString(b.schemaName, 'backend.schemaName');
      if (schemaName !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schemaName)) {
        throw new ConfigError(v.file, 'backend.schemaName', `'${schemaName}' is not a plain PostgreSQL schema name`, 'use lowercase letters, digits and _, e.g. cert_rotation_rancher');
      }
      const skipSchemaCreation = v.optionalBoolean(b.skipSchemaCreation, 'backend.skipSchemaCreation');
      return {
        type,
        ...(connStr !== undefined ? { connStr } : {}),
        ...(schemaName !== undefined ? { schemaName } : {}),
        ...(skipSchemaCreation !== undefined ? { skipSchemaCreation } : {}),
      };
    }
    default: {
      const options = v.object(b.options, 'backend.options', Object.keys(b.options && typeof b.options === 'object' ? b.options : {}));
      for (const key of Object.keys(options)) {
        const env = CREDENTIAL_OPTIONS[type as 's3' | 'remote'][key];
        if (env) {
          throw new ConfigError(v.file, `backend.options.${key}`, 'is a credential, which would be written into cdk.tf.json and .terraform/', `remove it and set ${env} in the runner's environment`);
        }
      }
      return { type: type as 's3' | 'remote', options };
    }
  }
}

/** `postgres://user:secret@host/db` or `password=secret` in a key/value connection string. */
function hasPassword(connStr: string): boolean {
  const url = /^postgres(ql)?:\/\/([^@/?#]*)@/.exec(connStr);
  if (url && url[2].includes(':')) return true;
  if (/[?&]password=/i.test(connStr)) return true;
  return /(^|\s)password\s*=/i.test(connStr);
}
