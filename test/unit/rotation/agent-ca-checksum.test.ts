import { Testing } from 'cdktf';
import { sha256Hex } from '../../../lib/pki';
import { CLUSTER_AGENT, NODE_AGENT } from '../../../lib/rancher-agents';
import { AgentCaChecksum, AgentCaChecksumProps } from '../../../lib/rotation';
import { AgentsStepSpec } from '../../../lib/steps/spec';
import { newStack, onlyStep, stepEnvelope, stepResources, synthJson, TARGET } from './support/fixtures';

const CHECKSUM = sha256Hex('cacerts');

function synth(props: Partial<AgentCaChecksumProps> = {}) {
  const stack = newStack();
  const agents = new AgentCaChecksum(stack, 'agents', { checksum: CHECKSUM, clusterName: 'prod', target: TARGET, ...props });
  const step = onlyStep(synthJson(stack));
  return { agents, step, spec: stepEnvelope(step).spec as AgentsStepSpec, text: Testing.synth(stack) };
}

describe('AgentCaChecksum', () => {
  test('is an agents step setting CATTLE_CA_CHECKSUM on the cluster agent and the node agent by default (the manual-checksum method)', () => {
    // GIVEN a checksum WHEN synthesized
    const { step, agents } = synth();
    // THEN the step carries the checksum, both agents with their containers, a 300 s wait and its own field manager
    expect(stepEnvelope(step)).toEqual({
      version: 1,
      target: TARGET,
      spec: {
        step: 'agents',
        checksum: CHECKSUM,
        workloads: [
          { kind: 'Deployment', namespace: 'cattle-system', name: 'cattle-cluster-agent', container: 'cluster-register' },
          { kind: 'DaemonSet', namespace: 'cattle-system', name: 'cattle-node-agent', container: 'agent' },
        ],
        fieldManager: expect.stringMatching(/^cert-rotation-agent-env-[0-9a-f]{10}$/),
        waitSeconds: 300,
      },
    });
    // AND the plan shows all of it (nothing in it is secret), with the cluster's name
    expect(step.triggers_replace).toEqual({ ...stepEnvelope(step).spec, cluster: 'prod' });
    expect(agents.agents).toEqual([CLUSTER_AGENT, NODE_AGENT]);
    expect(AgentCaChecksum.DEFAULT_CLUSTER_AGENT).toBe(CLUSTER_AGENT);
    expect(AgentCaChecksum.DEFAULT_NODE_AGENT).toBe(NODE_AGENT);
    expect(agents.resource).toBe(agents.step.resource);
  });

  test('checksum null removes the variable (a publicly trusted certificate)', () => {
    const { spec, step, agents } = synth({ checksum: null });
    expect(spec.checksum).toBeNull();
    expect(step.triggers_replace.checksum).toBeNull();
    expect(agents.checksum).toBeNull();
  });

  test('takes the agents and the wait given', () => {
    const { spec } = synth({ agents: [CLUSTER_AGENT], waitSeconds: 60 });
    expect(spec.workloads).toEqual([CLUSTER_AGENT]);
    expect(spec.waitSeconds).toBe(60);
    const custom = { kind: 'Deployment' as const, namespace: 'cattle-agents', name: 'my-cluster-agent', container: 'register' };
    expect(synth({ agents: [custom] }).spec.workloads).toEqual([custom]);
  });

  test('one step per downstream cluster: its own target, cluster name in the triggers and field manager', () => {
    // GIVEN two downstream clusters
    const stack = newStack();
    for (const name of ['east', 'west']) {
      new AgentCaChecksum(stack, `agents-${name}`, { checksum: CHECKSUM, clusterName: name, target: { cluster: name, kubeconfig: `/abs/${name}` } });
    }
    // WHEN synthesized THEN each step goes to its own cluster, with a field manager of its own
    const steps = stepResources(synthJson(stack)).map(([, r]) => r);
    expect(steps.map((s) => stepEnvelope(s).target)).toEqual([
      { cluster: 'east', kubeconfig: '/abs/east' },
      { cluster: 'west', kubeconfig: '/abs/west' },
    ]);
    expect(steps.map((s) => s.triggers_replace.cluster)).toEqual(['east', 'west']);
    expect(new Set(steps.map((s) => s.triggers_replace.fieldManager)).size).toBe(2);
  });

  test('a new checksum changes only the checksum in the triggers', () => {
    const before = synth().step.triggers_replace;
    const after = synth({ checksum: sha256Hex('new cacerts') }).step.triggers_replace;
    expect(after).toEqual({ ...before, checksum: sha256Hex('new cacerts') });
    expect(after.checksum).not.toBe(before.checksum);
  });

  test('rejects a bad checksum, agents and wait, naming the cluster, the prop and the fix', () => {
    expect(() => synth({ checksum: 'ABC' })).toThrow(
      /AgentCaChecksum \(cluster 'prod'\): 'checksum' \("ABC"\) is not a SHA-256 in lowercase hex .* pass CaBundle.checksum/,
    );
    expect(() => synth({ agents: [] })).toThrow(/^AgentCaChecksum: 'agents' \("\[\]"\) is empty; list the agent workloads \(rancherAgents\(distribution, rancherVersion\)\)/);
    expect(() => synth({ agents: [{ ...CLUSTER_AGENT, container: 'Cluster_Register' }] })).toThrow(
      /'agents\[\].container' \("Cluster_Register"\) is not a valid Kubernetes container name/,
    );
    expect(() => synth({ agents: [{ ...CLUSTER_AGENT, container: undefined }] })).toThrow(/'agents\[\].container' \(""\)/);
    expect(() => synth({ agents: [{ ...CLUSTER_AGENT, kind: 'Pod' as never }] })).toThrow(/'agents\[\].kind' \("Pod"\) is not Deployment, DaemonSet or StatefulSet/);
    expect(() => synth({ waitSeconds: 0 })).toThrow(/'waitSeconds' \(0\) is not a whole number of seconds ≥ 1; give how long the agents may take to roll/);
    expect(() => synth({ clusterName: ' ' })).toThrow(/'clusterName' \(" "\) must not be empty/);
  });

  test('synthesizes byte-identical JSON twice', () => {
    expect(synth().text).toBe(synth().text);
  });
});
