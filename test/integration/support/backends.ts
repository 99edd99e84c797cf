/**
 * The shared-state backends the integration tests deploy with: the `backend:` section of the configuration
 * file, and how to read the state and the lock as the backend keeps them.
 */
import { gunzipSync } from 'zlib';
import { kubeGet, run } from '../../../scripts/testbed/client';
import type { RancherScenario } from './rancher-scenario';

/** Tells one test run's state apart from an earlier run's on the same bed. */
const RUN = Date.now().toString(36);

export interface Backend {
  readonly name: string;
  /** The `backend:` section of the configuration file. */
  readonly section: Record<string, unknown>;
  /** The state as the backend holds it (undefined: none yet). */
  state(): any | undefined;
  /** Whether somebody holds the state's lock now. */
  locked(): boolean;
}

export function kubernetesBackend(sc: RancherScenario, name = 'rancher'): Backend {
  const namespace = 'cert-rotation-state';
  const suffix = `${name}-${RUN}`;
  const get = (p: string): any | undefined => {
    try {
      return kubeGet(sc.server, p);
    } catch {
      return undefined; // 404: not there (yet)
    }
  };
  return {
    name: 'kubernetes',
    section: { type: 'kubernetes', kubeconfig: sc.env.KUBECONFIG, context: `testbed-${sc.server}`, namespace, secretSuffix: suffix },
    state: () => {
      // The backend's Secret holds the state gzipped (https://developer.hashicorp.com/terraform/language/backend/kubernetes).
      const secret = get(`/api/v1/namespaces/${namespace}/secrets/tfstate-default-${suffix}`);
      if (!secret) return undefined;
      let bytes = Buffer.from(secret.data.tfstate, 'base64');
      if (bytes[0] !== 0x1f) bytes = Buffer.from(bytes.toString(), 'base64'); // base64 text of the gzip, not the gzip
      return JSON.parse(gunzipSync(bytes).toString());
    },
    locked: () => Boolean(get(`/apis/coordination.k8s.io/v1/namespaces/${namespace}/leases/lock-tfstate-default-${suffix}`)?.spec?.holderIdentity),
  };
}

export function pgBackend(sc: RancherScenario, name = 'cert_rotation'): Backend {
  const conn = sc.env.TESTBED_PG_CONN_STR;
  if (!conn) throw new Error('the test bed has no PostgreSQL: start it with scripts/testbed/testbed up ... --postgres');
  const schema = `${name}_${RUN}`;
  const psql = (sql: string): string => run('psql', [conn, '-Atc', sql]).stdout.trim();
  return {
    name: 'pg',
    section: { type: 'pg', connStr: conn, schemaName: schema },
    state: () => {
      const exists = psql(`select count(*) from information_schema.tables where table_schema = '${schema}' and table_name = 'states'`);
      if (exists === '0') return undefined;
      const data = psql(`select data from ${schema}.states where name = 'default'`);
      return data ? JSON.parse(data) : undefined;
    },
    // Terraform's pg backend locks with a session-level advisory lock (https://developer.hashicorp.com/terraform/language/backend/pg).
    locked: () => Number(psql("select count(*) from pg_locks where locktype = 'advisory' and granted")) > 0,
  };
}
