/**
 * The part of Terraform's JSON plan representation (`terraform show -json
 * tfplan`, format_version 1.x) that `explain` reads, and the checks that tell
 * a plan from everything users mistake for one.
 *
 * @see https://developer.hashicorp.com/terraform/internals/json-format
 */

/** The change to one resource instance. */
export interface ResourceChangeJson {
  readonly address: string;
  readonly module_address?: string;
  readonly mode?: string;
  readonly type: string;
  readonly name: string;
  readonly index?: unknown;
  readonly provider_name?: string;
  readonly action_reason?: string;
  readonly change: {
    readonly actions: string[];
    readonly before?: unknown;
    readonly after?: unknown;
    readonly after_unknown?: unknown;
    readonly before_sensitive?: unknown;
    readonly after_sensitive?: unknown;
    readonly replace_paths?: unknown[][];
  };
}

/** An expression in the configuration: a constant, or the references it is computed from. */
export interface ExpressionJson {
  readonly constant_value?: unknown;
  readonly references?: string[];
}

/** One `provisioner` block of a resource in the configuration. */
export interface ProvisionerJson {
  readonly type: string;
  readonly expressions?: Record<string, unknown>;
}

/** One resource block in the configuration. */
export interface ConfigResourceJson {
  readonly address: string;
  readonly mode?: string;
  readonly type: string;
  readonly name: string;
  readonly provider_config_key?: string;
  readonly expressions?: Record<string, unknown>;
  readonly provisioners?: ProvisionerJson[];
  readonly depends_on?: string[];
  readonly count_expression?: unknown;
  readonly for_each_expression?: unknown;
}

/** A module in the configuration. */
export interface ConfigModuleJson {
  readonly resources?: ConfigResourceJson[];
  readonly module_calls?: Record<string, { readonly module?: ConfigModuleJson; readonly depends_on?: string[] }>;
}

/** One `provider` block in the configuration. */
export interface ProviderConfigJson {
  readonly name?: string;
  readonly full_name?: string;
  readonly alias?: string;
  readonly module_address?: string;
  readonly expressions?: Record<string, unknown>;
}

/** A plan in Terraform's JSON representation. */
export interface PlanJson {
  readonly format_version: string;
  readonly terraform_version?: string;
  readonly resource_changes?: ResourceChangeJson[];
  readonly configuration?: {
    readonly provider_config?: Record<string, ProviderConfigJson>;
    readonly root_module?: ConfigModuleJson;
  };
  readonly errored?: boolean;
  readonly complete?: boolean;
}

/** How to produce the input; every read error ends with it. */
export const PRODUCE_PLAN_JSON = 'produce it with `terraform show -json tfplan > plan.json` (after `terraform plan -out=tfplan`)';

/** The input could not be read or is not a plan; the message names the source, the problem and the fix. */
export class PlanReadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanReadError';
    Object.setPrototypeOf(this, PlanReadError.prototype);
  }
}

/**
 * Parses and checks the text of a plan.
 *
 * @param text what was read
 * @param source the file name as given, or `stdin`, for messages
 * @throws PlanReadError when the text is empty, not JSON, or JSON of something other than a plan
 */
export function parsePlan(text: Buffer | string, source: string): PlanJson {
  const buffer = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  if (buffer.length >= 4 && buffer.subarray(0, 4).equals(Buffer.from([0x50, 0x4b, 0x03, 0x04]))) {
    throw new PlanReadError(
      `${source} is a binary plan file (what \`terraform plan -out\` writes), not its JSON form; ${PRODUCE_PLAN_JSON}.`,
    );
  }
  const content = buffer.toString('utf8').replace(/^\uFEFF/, '');
  if (content.trim().length === 0) {
    throw new PlanReadError(`${source} is empty; ${PRODUCE_PLAN_JSON}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch (err) {
    const firstLine = content.trimStart().split('\n', 1)[0];
    if (/^\{.*"@message"/.test(firstLine)) {
      throw new PlanReadError(
        `${source} is the streamed log of \`terraform plan -json\`, not a plan; ${PRODUCE_PLAN_JSON}.`,
      );
    }
    if (/Terraform (will perform|used the selected providers)|OpenTofu (will perform|used the selected providers)|No changes\./.test(content)) {
      throw new PlanReadError(`${source} is the text output of \`terraform plan\`, not JSON; ${PRODUCE_PLAN_JSON}.`);
    }
    throw new PlanReadError(`${source} is not JSON (${(err as Error).message}); ${PRODUCE_PLAN_JSON}.`);
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new PlanReadError(`${source} is JSON but not a Terraform plan (it is not an object); ${PRODUCE_PLAN_JSON}.`);
  }
  const plan = json as Record<string, unknown>;
  if (typeof plan.format_version !== 'string') {
    throw new PlanReadError(`${source} is JSON but not a Terraform plan (it has no format_version); ${PRODUCE_PLAN_JSON}.`);
  }
  if (!plan.format_version.startsWith('1.')) {
    throw new PlanReadError(
      `${source} has format_version ${plan.format_version}, but only 1.x is understood; ` +
        `produce it with Terraform or OpenTofu ≥ 1.0: \`terraform show -json tfplan > plan.json\`.`,
    );
  }
  if (!('planned_values' in plan) && !('resource_changes' in plan)) {
    const what = 'values' in plan ? 'the JSON of a state (`terraform show -json` without a plan file)' : 'not a plan';
    throw new PlanReadError(`${source} is ${what}, not a plan: it has no planned_values; ${PRODUCE_PLAN_JSON}.`);
  }
  if (plan.resource_changes !== undefined && !Array.isArray(plan.resource_changes)) {
    throw new PlanReadError(`${source} is not a valid plan: resource_changes is not a list; ${PRODUCE_PLAN_JSON}.`);
  }
  for (const [i, rc] of ((plan.resource_changes as unknown[]) ?? []).entries()) {
    const r = rc as Partial<ResourceChangeJson> | null;
    if (!r || typeof r.address !== 'string' || typeof r.type !== 'string' || !r.change || !Array.isArray(r.change.actions)) {
      throw new PlanReadError(
        `${source} is not a valid plan: resource_changes[${i}] has no address, type or change.actions; ${PRODUCE_PLAN_JSON}.`,
      );
    }
  }
  return plan as unknown as PlanJson;
}
