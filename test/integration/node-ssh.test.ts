import * as fs from 'fs';
import { DataResource, Fn, TerraformStack } from 'cdktf';
import { expectNoKey, Workspace } from './support/terraform';
import { loadTestbedEnv } from '../../scripts/testbed/client';

// Node steps run over real SSH: Terraform's remote-exec reaches each stand-in
// node's sshd on loopback, where `systemctl` and `rke2` are recorders. Two
// nodes in order: RKE2's certificate rotation (stop, rotate, start; see
// https://docs.rke2.io/security/certificates) on one server after the other.
describe('remote-exec over SSH to the stand-in nodes', () => {
  const env = loadTestbedEnv();
  const ws = new Workspace('node-ssh');

  afterAll(() => ws.remove());

  test('runs the commands on node-1, then node-2, and records them', () => {
    const before = fs.readFileSync(env.TESTBED_NODE_CALLS, 'utf8').split('\n').filter(Boolean).length;
    ws.synth((app) => {
      const stack = new TerraformStack(app, 'node-ssh');
      let previous: DataResource | undefined;
      for (const node of [1, 2]) {
        previous = new DataResource(stack, `node-${node}`, {
          triggersReplace: { generation: 1 },
          dependsOn: previous ? [previous] : undefined,
          connection: {
            type: 'ssh',
            host: '127.0.0.1',
            port: Number(env[`TESTBED_SSH_PORT_${node}`]),
            user: env.TESTBED_SSH_USER,
            privateKey: Fn.file(env.TESTBED_SSH_KEY),
            hostKey: fs.readFileSync(`${env.TESTBED_DIR}/ssh/host-${node}.pub`, 'utf8').split(' ').slice(0, 2).join(' '),
          },
          provisioners: [{ type: 'remote-exec', inline: ['systemctl stop rke2-server', 'rke2 certificate rotate', 'systemctl start rke2-server'] }],
        });
      }
    });
    ws.deploy('node-ssh');

    const calls = fs.readFileSync(env.TESTBED_NODE_CALLS, 'utf8').split('\n').filter(Boolean).slice(before);
    expect(calls).toEqual([
      'node-1\tsystemctl\tstop rke2-server',
      'node-1\trke2\tcertificate rotate',
      'node-1\tsystemctl\tstart rke2-server',
      'node-2\tsystemctl\tstop rke2-server',
      'node-2\trke2\tcertificate rotate',
      'node-2\tsystemctl\tstart rke2-server',
    ]);
    expect(ws.plan('node-ssh').changes).toEqual([]);
    const sshKey = fs.readFileSync(env.TESTBED_SSH_KEY, 'utf8');
    expectNoKey(ws.synthesizedText(), sshKey, 'cdktf.out');
    expectNoKey(fs.readFileSync(ws.statePath('node-ssh'), 'utf8'), sshKey, 'the state file');
    expectNoKey(ws.logs.join('\n'), sshKey, 'the deploy logs');
  });
});
