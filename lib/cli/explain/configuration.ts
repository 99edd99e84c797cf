/**
 * The `configuration` part of a plan: which resource block a change belongs
 * to, which provider configuration (and so which cluster) it uses, and what
 * it depends on.
 */
import type { ClusterRef } from './model';
import type { ConfigModuleJson, ConfigResourceJson, PlanJson, ProviderConfigJson, ResourceChangeJson } from './plan-json';
import { valueAt } from './values';

/** The name of the cluster reached through the default (unaliased) provider configuration. */
export const DEFAULT_CLUSTER = 'server';

/** A cluster that cannot be named: the resource is no longer in the configuration. */
export const UNKNOWN_CLUSTER = 'unknown';

interface IndexedResource {
  readonly key: string;
  readonly prefix: string;
  readonly resource: ConfigResourceJson;
  /** The module calls around the resource, outermost first. */
  readonly calls: ModuleCall[];
}

interface ModuleCall {
  /** The call's depends_on, relative to the calling module. */
  readonly dependsOn: string[];
  /** The calling module's key prefix. */
  readonly prefix: string;
}

const INSTANCE_KEY = /\[(?:"(?:[^"\\]|\\.)*"|[0-9]+)\]/g;

/** `module.a[0].module.b["x"]` → `module.a.module.b`. */
export function stripInstanceKeys(address: string): string {
  return address.replace(INSTANCE_KEY, '');
}

/** The configuration of a plan, indexed by resource block. */
export class PlanConfiguration {
  private readonly resources = new Map<string, IndexedResource>();
  private readonly providers: Record<string, ProviderConfigJson>;

  constructor(plan: PlanJson) {
    this.providers = plan.configuration?.provider_config ?? {};
    this.indexModule(plan.configuration?.root_module, '', []);
  }

  /** The key of a change's resource block: `module.a.terraform_data.x` (instance keys dropped). */
  static keyOf(rc: ResourceChangeJson): string {
    const prefix = rc.module_address ? `${stripInstanceKeys(rc.module_address)}.` : '';
    return `${prefix}${rc.mode === 'data' ? 'data.' : ''}${rc.type}.${rc.name}`;
  }

  /** The resource block of a change, when the configuration still has it. */
  resourceOf(rc: ResourceChangeJson): ConfigResourceJson | undefined {
    return this.resources.get(PlanConfiguration.keyOf(rc))?.resource;
  }

  /**
   * The cluster a change is applied to: the alias of its provider
   * configuration (`kubernetes.downstream_2` → `downstream_2`), or
   * {@link DEFAULT_CLUSTER} for the default provider, with the kubeconfig
   * context when the provider configuration sets it as a constant.
   */
  clusterOf(rc: ResourceChangeJson): ClusterRef {
    const key = this.resourceOf(rc)?.provider_config_key;
    if (key === undefined) return { name: UNKNOWN_CLUSTER };
    const provider = this.providers[key];
    const alias = provider ? provider.alias : /^(?:.*:)?[^.]+\.(.+)$/.exec(key)?.[1];
    const context = provider ? providerContext(provider) : undefined;
    return { name: alias ?? DEFAULT_CLUSTER, ...(context !== undefined ? { context } : {}) };
  }

  /**
   * The resource blocks a block waits for: its `depends_on`, the resources its
   * expressions refer to, and the `depends_on` of the modules around it.
   */
  dependenciesOf(key: string): string[] {
    const entry = this.resources.get(key);
    if (!entry) return [];
    const r = entry.resource;
    const refs = [...(r.depends_on ?? []), ...collectReferences([r.expressions, r.provisioners, r.count_expression, r.for_each_expression])];
    const out = new Set<string>();
    const add = (targets: string[]) => targets.filter((t) => t !== key).forEach((t) => out.add(t));
    for (const ref of refs) add(this.resolve(ref, entry.prefix));
    for (const call of entry.calls) {
      for (const ref of call.dependsOn) add(this.resolve(ref, call.prefix));
    }
    return [...out].sort();
  }

  private indexModule(module: ConfigModuleJson | undefined, prefix: string, calls: ModuleCall[]): void {
    if (!module) return;
    for (const resource of module.resources ?? []) {
      const key = `${prefix}${resource.mode === 'data' ? 'data.' : ''}${resource.type}.${resource.name}`;
      this.resources.set(key, { key, prefix, resource, calls });
    }
    for (const [name, call] of Object.entries(module.module_calls ?? {})) {
      this.indexModule(call.module, `${prefix}module.${name}.`, [...calls, { dependsOn: call.depends_on ?? [], prefix }]);
    }
  }

  /** The resource blocks a reference such as `terraform_data.a.id` or `module.m.out` names. */
  private resolve(reference: string, prefix: string): string[] {
    const parts = stripInstanceKeys(reference).split('.');
    if (parts[0] === 'module' && parts.length >= 2) {
      const modulePrefix = `${prefix}module.${parts[1]}.`;
      return [...this.resources.keys()].filter((k) => k.startsWith(modulePrefix));
    }
    const candidate = parts[0] === 'data' ? `${prefix}data.${parts[1]}.${parts[2]}` : `${prefix}${parts[0]}.${parts[1]}`;
    return this.resources.has(candidate) ? [candidate] : [];
  }
}

/** Every string in a `references` list anywhere inside the given expression trees. */
function collectReferences(nodes: unknown[]): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) {
      node.forEach(walk);
    } else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node as Record<string, unknown>)) {
        if (k === 'references' && Array.isArray(v)) {
          out.push(...v.filter((x): x is string => typeof x === 'string'));
        } else if (k !== 'constant_value') {
          walk(v);
        }
      }
    }
  };
  nodes.forEach(walk);
  return out;
}

/** The kubeconfig context of a kubernetes or helm provider configuration, when constant. */
function providerContext(provider: ProviderConfigJson): string | undefined {
  const e = provider.expressions ?? {};
  const candidates = [
    valueAt(e, ['config_context', 'constant_value']),
    valueAt(e, ['kubernetes', 'constant_value', 'config_context']),
    valueAt(e, ['kubernetes', 0, 'config_context', 'constant_value']),
  ];
  const context = candidates.find((c) => typeof c === 'string' && c.length > 0);
  return context as string | undefined;
}
