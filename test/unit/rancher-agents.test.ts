import { CLUSTER_AGENT, DISTRIBUTIONS, NODE_AGENT, parseRancherVersion, rancherAgents } from '../../lib/rancher-agents';

describe('rancherAgents', () => {
  test('the agents are the Deployment cattle-cluster-agent (cluster-register) and the DaemonSet cattle-node-agent (agent)', () => {
    expect(CLUSTER_AGENT).toEqual({ kind: 'Deployment', namespace: 'cattle-system', name: 'cattle-cluster-agent', container: 'cluster-register' });
    expect(NODE_AGENT).toEqual({ kind: 'DaemonSet', namespace: 'cattle-system', name: 'cattle-node-agent', container: 'agent' });
    expect(Object.isFrozen(CLUSTER_AGENT) && Object.isFrozen(NODE_AGENT)).toBe(true);
  });

  test('RKE1 on Rancher 2.5 to 2.11 runs both agents', () => {
    for (const version of ['2.5.0', '2.8.5', 'v2.9.0', '2.11.3', '2.8', '2.8.5-rc1']) {
      expect({ version, agents: rancherAgents('rke1', version) }).toEqual({ version, agents: [CLUSTER_AGENT, NODE_AGENT] });
    }
  });

  test('RKE1 on Rancher 2.12 and later runs the cluster agent only (2.12 removed the node agent)', () => {
    for (const version of ['2.12.0', 'v2.12', '2.13.1', '3.0.0']) {
      expect({ version, agents: rancherAgents('rke1', version) }).toEqual({ version, agents: [CLUSTER_AGENT] });
    }
  });

  test('RKE2, K3s and imported clusters run the cluster agent only, whatever the version', () => {
    for (const distribution of ['rke2', 'k3s', 'imported'] as const) {
      for (const version of [undefined, '2.8.5', '2.12.0']) {
        expect({ distribution, version, agents: rancherAgents(distribution, version) }).toEqual({ distribution, version, agents: [CLUSTER_AGENT] });
      }
    }
  });

  test('RKE1 with an unknown or unreadable version lists both agents (the step skips one that does not exist)', () => {
    expect(rancherAgents('rke1')).toEqual([CLUSTER_AGENT, NODE_AGENT]);
    expect(rancherAgents('rke1', 'latest')).toEqual([CLUSTER_AGENT, NODE_AGENT]);
  });

  test('DISTRIBUTIONS lists the four kinds', () => {
    expect([...DISTRIBUTIONS]).toEqual(['rke1', 'rke2', 'k3s', 'imported']);
  });
});

describe('parseRancherVersion', () => {
  test('reads major.minor from 2.8.5, v2.9.0, 2.12, a pre-release or a build', () => {
    expect(parseRancherVersion('2.8.5')).toEqual({ major: 2, minor: 8 });
    expect(parseRancherVersion(' v2.9.0 ')).toEqual({ major: 2, minor: 9 });
    expect(parseRancherVersion('2.12')).toEqual({ major: 2, minor: 12 });
    expect(parseRancherVersion('2.10.0-rc3')).toEqual({ major: 2, minor: 10 });
    expect(parseRancherVersion('2.8.5+up1')).toEqual({ major: 2, minor: 8 });
  });

  test('refuses text that is not a version', () => {
    for (const text of ['', 'latest', '2', '2.x', 'v2.8.5.1', 'rancher-2.8.5']) {
      expect({ text, parsed: parseRancherVersion(text) }).toEqual({ text, parsed: undefined });
    }
  });
});
