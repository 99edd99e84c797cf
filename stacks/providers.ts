import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { TerraformStack } from 'cdktf';
import { Construct } from 'constructs';

/**
 * Version constraints written into `required_providers`. The prebuilt bindings
 * were generated against kubernetes 2.38.0 and helm 3.1.1; every resource we
 * use has the same schema in the 3.x releases, which also fix write-only
 * secrets (kubernetes 3.2.1: "Missing Resource Identity After Create" with
 * `data_wo`), so both majors are accepted.
 */
export const PROVIDER_CONSTRAINTS = {
  kubernetes: '>= 2.38.0, < 4.0.0',
  helm: '>= 3.1.1, < 4.0.0',
} as const;

/** Where a stack reaches one Kubernetes cluster. */
export interface ClusterConnection {
  /** Absolute path of the kubeconfig file, read by the provider at plan/apply time. */
  readonly kubeconfig: string;
  /** Context inside the kubeconfig. @default the kubeconfig's current-context */
  readonly context?: string;
}

/** Pins a provider's source and version constraint in the stack's `required_providers`. */
export function constrainProvider(stack: TerraformStack, name: keyof typeof PROVIDER_CONSTRAINTS): void {
  stack.addOverride(`terraform.required_providers.${name}`, {
    source: `registry.terraform.io/hashicorp/${name}`,
    version: PROVIDER_CONSTRAINTS[name],
  });
}

/** A Kubernetes provider for one cluster; `alias` when a stack talks to several. */
export function kubernetesProvider(scope: Construct, id: string, cluster: ClusterConnection, alias?: string): KubernetesProvider {
  constrainProvider(TerraformStack.of(scope), 'kubernetes');
  return new KubernetesProvider(scope, id, {
    configPath: cluster.kubeconfig,
    configContext: cluster.context,
    alias,
  });
}
