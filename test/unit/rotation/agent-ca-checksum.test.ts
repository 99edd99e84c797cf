import { Env } from '@cdktf/provider-kubernetes/lib/env';
import { KubernetesProvider } from '@cdktf/provider-kubernetes/lib/provider';
import { Testing, TerraformResource } from 'cdktf';
import { sha256Hex } from '../../../lib/pki';
import { AgentCaChecksum, AgentCaChecksumProps, AgentContainer } from '../../../lib/rotation';
import { newStack, resourcesOfType, synthJson } from './support/fixtures';

const CHECKSUM = sha256Hex('cacerts');

function synth(props: Partial<AgentCaChecksumProps> = {}) {
  const stack = newStack();
  const agents = new AgentCaChecksum(stack, 'agents', { checksum: CHECKSUM, clusterName: 'prod', ...props });
  const json = synthJson(stack);
  const byKind = Object.fromEntries(resourcesOfType(json, 'kubernetes_env').map(([, r]) => [r.kind, r]));
  return { agents, json, byKind, text: Testing.synth(stack) };
}

describe('AgentCaChecksum', () => {
  test('sets CATTLE_CA_CHECKSUM on the cluster agent Deployment and the node agent DaemonSet (the manual-checksum method of Rancher\'s certificate update)', () => {
    // GIVEN a checksum WHEN synthesized
    const { text, byKind } = synth();
    // THEN both agents get the env var in their container, with force and their own field manager
    expect(text).toHaveResourceWithProperties(Env, {
        api_version: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'cattle-cluster-agent', namespace: 'cattle-system' },
        container: 'cluster-register',
        env: [{ name: 'CATTLE_CA_CHECKSUM', value: CHECKSUM }],
        force: true,
      });
    expect(text).toHaveResourceWithProperties(Env, {
        api_version: 'apps/v1',
        kind: 'DaemonSet',
        metadata: { name: 'cattle-node-agent', namespace: 'cattle-system' },
        container: 'agent',
        env: [{ name: 'CATTLE_CA_CHECKSUM', value: CHECKSUM }],
        force: true,
      });
    expect(byKind.Deployment.field_manager).toMatch(/^cert-rotation-cluster-agent-env-[0-9a-f]{10}$/);
    expect(byKind.DaemonSet.field_manager).toMatch(/^cert-rotation-node-agent-env-[0-9a-f]{10}$/);
    expect(byKind.Deployment.field_manager).not.toBe(byKind.DaemonSet.field_manager);
  });

  test('uses one provider per downstream cluster and distinct field managers across clusters', () => {
    // GIVEN two downstream clusters, each with its own provider alias
    const stack = newStack();
    const clusters = ['east', 'west'].map((name) => ({
      name,
      provider: new KubernetesProvider(stack, `k8s-${name}`, { alias: name, configPath: `/abs/${name}` }),
    }));
    for (const c of clusters) {
      new AgentCaChecksum(stack, `agents-${c.name}`, { checksum: CHECKSUM, clusterName: c.name, provider: c.provider });
    }
    // WHEN synthesized
    const envs = resourcesOfType(synthJson(stack), 'kubernetes_env').map(([, r]) => r);
    // THEN each cluster has both agents through its own alias, and every field manager is unique
    expect(envs).toHaveLength(4);
    expect(envs.filter((r) => r.provider === 'kubernetes.east').map((r) => r.kind).sort()).toEqual(['DaemonSet', 'Deployment']);
    expect(envs.filter((r) => r.provider === 'kubernetes.west').map((r) => r.kind).sort()).toEqual(['DaemonSet', 'Deployment']);
    expect(new Set(envs.map((r) => r.field_manager)).size).toBe(4);
  });

  test('takes other agent names and containers, and no node agent', () => {
    const { byKind } = synth({
      namespace: 'cattle-agents',
      clusterAgent: { name: 'my-cluster-agent', container: 'register' },
      nodeAgent: { name: 'my-node-agent', container: 'node' },
    });
    expect(byKind.Deployment).toMatchObject({ metadata: { name: 'my-cluster-agent', namespace: 'cattle-agents' }, container: 'register' });
    expect(byKind.DaemonSet).toMatchObject({ metadata: { name: 'my-node-agent', namespace: 'cattle-agents' }, container: 'node' });

    const without = synth({ nodeAgent: false });
    expect(Object.keys(without.byKind)).toEqual(['Deployment']);
    expect(without.agents.nodeAgentResource).toBeUndefined();
  });

  test('lets a subclass replace the DaemonSet part in one place (provider issue #2426)', () => {
    // GIVEN a subclass that writes the node agent's checksum some other way
    class Workaround extends AgentCaChecksum {
      protected nodeAgentEnv(nodeAgent: AgentContainer): TerraformResource {
        return new Env(this, 'Replacement', {
          apiVersion: 'apps/v1',
          kind: 'DaemonSet',
          metadata: { name: `${nodeAgent.name}-patched`, namespace: this.namespace },
          container: nodeAgent.container,
          env: [{ name: 'CATTLE_CA_CHECKSUM', value: this.checksum }],
        });
      }
    }
    const stack = newStack();
    const agents = new Workaround(stack, 'agents', { checksum: CHECKSUM, clusterName: 'prod' });
    // WHEN synthesized THEN only the DaemonSet resource is the replacement
    const envs = resourcesOfType(synthJson(stack), 'kubernetes_env').map(([, r]) => r.metadata.name).sort();
    expect(envs).toEqual(['cattle-cluster-agent', 'cattle-node-agent-patched']);
    expect(agents.nodeAgentResource?.node.id).toBe('Replacement');
  });

  test('changes only the env value when the checksum changes', () => {
    const before = synth();
    const after = synth({ checksum: sha256Hex('new cacerts') });
    for (const kind of ['Deployment', 'DaemonSet']) {
      expect({ ...after.byKind[kind], env: undefined }).toEqual({ ...before.byKind[kind], env: undefined });
      expect(after.byKind[kind].env).toEqual([{ name: 'CATTLE_CA_CHECKSUM', value: sha256Hex('new cacerts') }]);
    }
  });

  test('rejects a checksum that is not a sha256 hex, naming the cluster and the fix', () => {
    expect(() => synth({ checksum: 'ABC' })).toThrow(
      /AgentCaChecksum \(cluster 'prod'\): 'checksum' \("ABC"\) is not a SHA-256 in lowercase hex .* pass CaBundle.checksum/,
    );
    expect(() => synth({ clusterAgent: { name: 'cattle-cluster-agent', container: 'Cluster_Register' } })).toThrow(
      /'clusterAgent.container' \("Cluster_Register"\) is not a valid Kubernetes container name/,
    );
    expect(() => synth({ clusterName: ' ' })).toThrow(/'clusterName' \(" "\) must not be empty/);
  });

  test('synthesizes byte-identical JSON twice', () => {
    expect(synth().text).toBe(synth().text);
  });
});
