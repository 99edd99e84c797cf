import * as fs from 'fs';
import * as path from 'path';
import { X509Certificate } from 'crypto';
import { cattleCaChecksum } from '../../../lib/pki/fingerprint';
import { loadConfig } from '../../../lib/config/load-config';
import { RancherStack } from '../../../stacks/rancher-stack';
import { PrivateCa, RancherFiles, writeRancherFiles } from '../../support/pki';
import { agentWorkloads, writeConfig } from './rancher-bed';
import { modelEvents, presentedChain, secretData, servedCacerts } from '../../../scripts/testbed/rancher-model/client';
import { expectNoKey, Workspace } from './terraform';
import { kubectl, kubeGet, loadTestbedEnv, REPO_ROOT } from '../../../scripts/testbed/client';

export const STACK = 'rancher';
const CHART = path.join(REPO_ROOT, 'test/fixtures/charts/rancher');

export interface SynthOptions {
  /** Test-bed clusters that are downstream clusters. @default [2, 3] */
  readonly downstream?: number[];
  readonly privateCa?: boolean;
  readonly gateTimeout?: number;
  readonly restartWorkloads?: string[];
  /** Test-bed clusters whose agents Rancher re-renders (agents: redeploy, method 1). @default [] */
  readonly redeploy?: number[];
  /** Give each downstream cluster its Fleet cluster (Force Update after a CA change), as a user following Rancher's procedure would. @default true */
  readonly fleet?: boolean;
  /** rancher.rancherVersion. @default - the release's version, 2.8.5 */
  readonly rancherVersion?: string;
}

/**
 * The Rancher stack of the app (config file → RancherStack) on the test bed's
 * Rancher model: testbed-1 runs Rancher, the others are its downstream
 * clusters (distribution from their profile). Synthesizes, and asserts on the
 * clusters and the model's log the way the rotation's guarantees read.
 */
export class RancherScenario {
  readonly env = loadTestbedEnv();
  readonly server = Number(this.env.TESTBED_RANCHER_CLUSTER);
  readonly hostname = this.env.TESTBED_RANCHER_HOSTNAME;
  readonly ws: Workspace;
  readonly keysSeen: string[] = [];
  private n = 0;

  constructor(name: string) {
    this.ws = new Workspace(name);
  }

  /** Files for a new leaf from `ca`, in their own directory. */
  files(ca: PrivateCa): RancherFiles {
    return writeRancherFiles(path.join(this.ws.dir, `certs-${++this.n}`), ca, this.hostname);
  }

  synth(f: RancherFiles, o: SynthOptions = {}): void {
    const configFile = this.writeConfig(f, o);
    this.ws.synth((app) => new RancherStack(app, STACK, loadConfig(configFile, { now: new Date() })));
  }

  /** Writes the configuration file a user would for `f` (cert-rotation.yaml in the workspace); returns its path. */
  writeConfig(f: RancherFiles, o: SynthOptions = {}): string {
    this.keysSeen.push(f.keyPem);
    const env = this.env;
    return writeConfig(this.ws.dir, {
      rancher: {
        kubeconfig: env.KUBECONFIG,
        context: `testbed-${this.server}`,
        hostname: this.hostname,
        certificate: { certFile: f.certFile, keyFile: f.keyFile, ...(o.privateCa === false ? {} : { caFile: f.caFile }) },
        ...(o.privateCa === false ? { privateCa: false } : {}),
        release: { mode: 'external', chart: CHART, version: '2.8.5', helmBinary: env.TESTBED_HELM },
        gate: { connectTo: `127.0.0.1:${env.TESTBED_RANCHER_PORT}`, timeoutSeconds: o.gateTimeout ?? 180 },
        agentWaitSeconds: 180,
        ...(o.rancherVersion ? { rancherVersion: o.rancherVersion } : {}),
        ...(o.restartWorkloads ? { restartWorkloads: o.restartWorkloads } : {}),
      },
      downstream: (o.downstream ?? [2, 3]).map((i) => ({
        name: `downstream-${i}`,
        kubeconfig: env.KUBECONFIG,
        context: `testbed-${i}`,
        distribution: env[`TESTBED_PROFILE_${i}`] === 'rke1' ? 'rke1' : 'rke2',
        ...((o.redeploy ?? []).includes(i) ? { agents: 'redeploy', clusterId: env[`TESTBED_RANCHER_CLUSTER_ID_${i}`] } : {}),
        ...(o.fleet === false ? {} : { fleetCluster: env[`TESTBED_FLEET_CLUSTER_${i}`] }),
      })),
    });
  }

  agentChecksum(cluster: number, kind: string, name: string): string | undefined {
    const w = kubeGet(cluster, `/apis/apps/v1/namespaces/cattle-system/${kind}/${name}`);
    return w.spec.template.spec.containers[0].env?.find((e: any) => e.name === 'CATTLE_CA_CHECKSUM')?.value;
  }

  /** Every agent in `clusters` carries `checksum` (undefined: none) and is rolled out and Ready. */
  expectAgents(clusters: number[], checksum: string | undefined): void {
    for (const c of clusters) {
      for (const w of agentWorkloads(c)) {
        const plural = w.kind === 'Deployment' ? 'deployments' : 'daemonsets';
        expect({ cluster: c, agent: w.name, checksum: this.agentChecksum(c, plural, w.name) }).toEqual({ cluster: c, agent: w.name, checksum });
        kubectl(c, ['rollout', 'status', '-n', 'cattle-system', `${w.kind.toLowerCase()}/${w.name}`, '--timeout=5s']);
      }
    }
  }

  /**
   * No agent pod was started since `since` with a checksum Rancher did not serve.
   * (Running agents may lose TLS between the ingress presenting the new chain and
   * their replacement: they trust only the CA they downloaded at start. That
   * window is the procedure's own; it closes when they roll.)
   */
  expectNoAgentStartFailures(since: string): void {
    expect(modelEvents().filter((e) => e.time >= since && e.event === 'agent-start-failed')).toEqual([]);
  }

  /**
   * Fleet re-deployed the fleet-agent of each of `clusters` exactly once since `since`, after Rancher
   * served `checksum` (the CA Rancher hands Fleet as apiServerCA), and never before.
   */
  expectFleetForceUpdated(clusters: number[], since: string, checksum: string): void {
    const events = modelEvents().filter((e) => e.time >= since);
    const served = events.findIndex((e) => e.event === 'cacerts-served' && e.checksum === checksum);
    expect(served).toBeGreaterThanOrEqual(0);
    for (const c of clusters) {
      const redeploys = events.map((e, i) => ({ e, i })).filter(({ e }) => e.event === 'fleet-agent-redeployed' && e.testbedCluster === `testbed-${c}`);
      expect({ cluster: c, redeploys: redeploys.length }).toEqual({ cluster: c, redeploys: 1 });
      expect(redeploys[0].i).toBeGreaterThan(served);
      expect(redeploys[0].e.apiServerCASha256).toBe(events[served].cacertsSha256);
    }
  }

  /** Rancher serves the CA of `f` (or an empty setting), the ingress presents its leaf, and the Secret holds its chain. */
  expectServed(f: RancherFiles, privateCa = true): void {
    expect(servedCacerts().value ?? '').toBe(privateCa ? f.caPem.trim() : '');
    expect(new X509Certificate(presentedChain()).fingerprint256).toBe(new X509Certificate(f.chainPem).fingerprint256);
    const data = secretData(this.server, 'cattle-system', 'tls-rancher-ingress');
    expect(data['tls.crt']).toBe(f.chainPem);
    expect(data['tls.key']).toBe(f.keyPem);
  }

  expectNoKeyAnywhere(): void {
    const statePath = path.join(this.ws.dir, `terraform.${STACK}.tfstate`);
    const state = fs.existsSync(statePath) ? fs.readFileSync(statePath, 'utf8') : '';
    // Terraform's .backup, and the app's .last-good and .torn-* copies (lib/local-state.ts).
    const copies = fs.readdirSync(this.ws.dir)
      .filter((f) => f.startsWith(`terraform.${STACK}.tfstate.`))
      .map((f) => fs.readFileSync(path.join(this.ws.dir, f), 'utf8'))
      .join('\n');
    for (const key of this.keysSeen) {
      expectNoKey(this.ws.synthesizedText(), key, 'cdktf.out');
      expectNoKey(state + copies, key, 'the state file or its copies');
      expectNoKey(this.ws.logs.join('\n'), key, 'the deploy logs');
    }
  }

  /**
   * A plain re-deploy after a failed or killed one, then the cluster read back: Rancher serves `f`, the agents of
   * downstream clusters 2 and 3 carry its checksum without start failures since `since`, the second plan is
   * empty, and no key is anywhere.
   */
  expectConverges(f: RancherFiles, since: string): void {
    this.ws.deploy(STACK);
    this.expectServed(f);
    this.expectAgents([2, 3], cattleCaChecksum(f.caPem));
    this.expectNoAgentStartFailures(since);
    this.expectSecondPlanEmpty();
    this.expectNoKeyAnywhere();
  }

  expectSecondPlanEmpty(): void {
    const plan = this.ws.plan(STACK);
    expect(plan.changes).toEqual([]);
    for (const key of this.keysSeen) expectNoKey(plan.raw, key, 'plan JSON');
  }

  /** Destroys the stack when it has state (nothing changes in the clusters) and removes the workspace. */
  cleanUp(): void {
    try {
      if (fs.existsSync(path.join(this.ws.dir, `terraform.${STACK}.tfstate`))) this.ws.destroy(STACK);
    } finally {
      this.ws.remove();
    }
  }
}
