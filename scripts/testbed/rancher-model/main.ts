// The test bed's model of Rancher: what a real Rancher install does to files,
// API objects and HTTPS answers, where Rancher itself cannot run here. Every
// behaviour comes from a written fact (../shared/RANCHER-FACTS.md, the Rancher
// chart, the agent's start script); see scripts/testbed/rancher-model/README.md
// for each fact and its source. It plays six parts:
//
//  1. cert-manager's ingress-shim, on the Rancher server cluster: an Ingress that
//     carries `cert-manager.io/issuer` gets its TLS secret issued by that Issuer
//     (a CA Issuer signs with its CA secret; an ACME Issuer with a stand-in
//     public CA), when the secret is missing or was not issued by that Issuer.
//  2. The Rancher server process, per rancher pod: at start it reads cacerts
//     once (`/etc/rancher/ssl/cacerts.pem` from the tls-ca subPath mount when
//     privateCA is set; empty with --no-cacerts; otherwise its own CA, secret
//     tls-rancher, made on first start). A running pod never re-reads it.
//  3. The ingress: an HTTPS server on loopback that presents the chain of the
//     Ingress's TLS secret as it is now, and serves GET /v3/settings/cacerts
//     with the value the newest started rancher pod read.
//  4. The agents' start script (agent image run.sh), in every cluster: a pod
//     whose container carries CATTLE_CA_CHECKSUM downloads the cacerts setting
//     at start and exits 1 when its sha256 differs (CrashLoopBackOff, restarted
//     with the kubelet's back-off), or when the setting is empty. A running
//     agent keeps the CA it downloaded; when the ingress later presents a chain
//     that CA does not verify, the agent's TLS fails (logged).
//  5. Rancher's clusterdeploy controller, on clusters.management.cattle.io:
//     annotation io.cattle.agent.force.deploy=true (or a status.agentImage
//     that differs from the agent image) re-applies a downstream cluster's agent
//     workloads with the checksum of the cacerts Rancher holds in memory, and
//     sets the annotation back to "false" (method 1).
//  6. Fleet's agent import, on clusters.fleet.cattle.io: a changed
//     spec.redeployAgentGeneration (Rancher's "Force Update") deletes the
//     downstream fleet-agent workload, applies it again and records
//     status.agentDeployedGeneration.
//
// Every decision goes to $TESTBED_DIR/rancher-model/events.jsonl, one JSON
// object a line, which tests read.
import { execFile, execFileSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { KubeClient } from './kube-client';

interface Options {
  testbedDir: string;
  serverCluster: number;
  clusters: number[];
  port: number;
  hostname: string;
}

function parseOptions(argv: string[]): Options {
  const get = (flag: string): string => {
    const i = argv.indexOf(flag);
    if (i < 0 || i + 1 >= argv.length) throw new Error(`rancher-model: ${flag} is required`);
    return argv[i + 1];
  };
  return {
    testbedDir: get('--testbed-dir'),
    serverCluster: Number(get('--server-cluster')),
    clusters: get('--clusters').split(',').map(Number),
    port: Number(get('--port')),
    hostname: get('--hostname'),
  };
}

const NS = 'cattle-system';
const CATTLE_CA_CHECKSUM = 'CATTLE_CA_CHECKSUM';
/** Method 1's trigger: clusterdeploy.AgentForceDeployAnn (rancher/rancher pkg/controllers/management/clusterdeploy). */
const AGENT_FORCE_DEPLOY = 'io.cattle.agent.force.deploy';
/** Which test-bed cluster a clusters.{management,fleet}.cattle.io object stands for (testbed-I). */
const TESTBED_CLUSTER_LABEL = 'testbed.cert-rotation/cluster';
/** On a cluster object: the test bed's stand-in nodes (--nodes) are that cluster's machines. */
const STANDIN_NODES = 'testbed.cert-rotation/standin-nodes';
/** Fleet's agent namespace downstream (rancher/fleet internal/config/config.go, DefaultNamespace). */
const FLEET_AGENT_NS = 'cattle-fleet-system';
/** The agent workloads Rancher's template renders (pkg/systemtemplate/template.go); the node agent only for RKE1 up to 2.11. */
const AGENT_WORKLOADS = [
  { kind: 'Deployment', plural: 'deployments', name: 'cattle-cluster-agent', container: 'cluster-register' },
  { kind: 'DaemonSet', plural: 'daemonsets', name: 'cattle-node-agent', container: 'agent' },
];
/** Kubelet's container restart back-off: 10 s doubling, at most 5 min. */
const BACKOFF_START_MS = 10_000;
const BACKOFF_MAX_MS = 300_000;

interface RancherStart {
  pod: string;
  created: string;
  startedAt: number;
  cacerts: string;
  source: string;
}

interface AgentRun {
  ok: boolean;
  restarts: number;
  nextTry: number;
  trusted?: string;
  tlsFailed?: boolean;
}

class RancherModel {
  private readonly clients = new Map<number, KubeClient>();
  private readonly server: KubeClient;
  private readonly stateDir: string;
  private readonly eventsFile: string;
  private readonly starts = new Map<string, RancherStart>();
  private readonly agents = new Map<string, AgentRun>();
  /** Rotations in progress, by cluster object: what was asked and when it started. */
  private readonly rotations = new Map<string, { request: string; startedAt: number; lastFailure?: number }>();
  private served: RancherStart | undefined;
  private servedChain = '';
  private servedKey = '';
  private httpsServer?: https.Server;

  constructor(private readonly opts: Options) {
    for (const i of new Set([opts.serverCluster, ...opts.clusters])) {
      this.clients.set(i, new KubeClient(`testbed-${i}`, path.join(opts.testbedDir, 'clusters', String(i))));
    }
    this.server = this.clients.get(opts.serverCluster)!;
    this.stateDir = path.join(opts.testbedDir, 'rancher-model');
    fs.mkdirSync(this.stateDir, { recursive: true });
    this.eventsFile = path.join(this.stateDir, 'events.jsonl');
  }

  record(event: string, fields: Record<string, unknown>): void {
    fs.appendFileSync(this.eventsFile, JSON.stringify({ time: new Date().toISOString(), event, ...fields }) + '\n');
  }

  /** The stand-in nodes (node-<i> under <testbed>/nodes), in order; an RKE2 server has the rke2-server unit. */
  private standinNodes(): Array<{ name: string; root: string; role: 'server' | 'agent' }> {
    const dir = path.join(this.opts.testbedDir, 'nodes');
    if (!fs.existsSync(dir)) return [];
    return fs.readdirSync(dir)
      .filter((n) => /^node-\d+$/.test(n))
      .sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))
      .map((name) => {
        const root = path.join(dir, name, 'root');
        return { name, root, role: fs.existsSync(path.join(root, 'etc/systemd/system/rke2-server.service')) ? 'server' as const : 'agent' as const };
      });
  }

  /** Runs commands on a stand-in node, as its agent would (the node's command wrappers: logged, then modelled). */
  private async onNode(node: { name: string; root: string }, commands: string[][]): Promise<{ ok: boolean; output: string }> {
    let output = '';
    for (const [cmd, ...args] of commands) {
      const r = await new Promise<{ ok: boolean; out: string }>((resolve) => {
        execFile(path.join(this.opts.testbedDir, 'node-bin', cmd), args, {
          cwd: node.root,
          env: { ...process.env, TESTBED_DIR: this.opts.testbedDir, TESTBED_NODE: node.name, TESTBED_NODE_ROOT: node.root },
          timeout: 60_000,
        }, (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}` }));
      });
      output += `$ ${[cmd, ...args].join(' ')}\n${r.out}`;
      if (!r.ok) return { ok: false, output };
    }
    return { ok: true, output };
  }

  async run(): Promise<void> {
    await this.listen();
    for (;;) {
      const t = Date.now();
      try {
        await this.tick();
      } catch (e) {
        process.stderr.write(`[rancher-model] ${(e as Error).message}\n`);
      }
      await new Promise((r) => setTimeout(r, Math.max(50, 200 - (Date.now() - t))));
    }
  }

  private async tick(): Promise<void> {
    await this.certManager();
    await this.rancherPods();
    await this.ingress();
    // Rancher's and Fleet's controllers fail on their own (a CRD still initialising, say); the agents go on.
    await this.clusterDeploy().catch((e) => process.stderr.write(`[rancher-model] clusterdeploy: ${(e as Error).message}\n`));
    await this.fleetImport().catch((e) => process.stderr.write(`[rancher-model] fleet import: ${(e as Error).message}\n`));
    await this.certificateRotationV2().catch((e) => process.stderr.write(`[rancher-model] v2 certificate rotation: ${(e as Error).message}\n`));
    await this.certificateRotationRke1().catch((e) => process.stderr.write(`[rancher-model] rke1 certificate rotation: ${(e as Error).message}\n`));
    for (const [i, client] of this.clients) await this.agentPods(i, client);
  }

  // ---- 1. cert-manager ingress-shim -------------------------------------

  private async certManager(): Promise<void> {
    for (const ing of await this.server.list('/apis/networking.k8s.io/v1/ingresses')) {
      const issuerName = ing.metadata.annotations?.['cert-manager.io/issuer'];
      if (!issuerName) continue;
      const ns = ing.metadata.namespace;
      const issuer = await this.server.find(`/apis/cert-manager.io/v1/namespaces/${ns}/issuers/${issuerName}`);
      if (!issuer) continue; // cert-manager waits for the Issuer
      const ca = await this.issuerCa(ns, issuer);
      if (!ca) continue; // a CA Issuer whose secret does not exist yet is not Ready
      for (const tls of ing.spec.tls ?? []) {
        if (!tls.secretName) continue;
        const existing = await this.server.find(`/api/v1/namespaces/${ns}/secrets/${tls.secretName}`);
        if (existing && this.issuedBy(existing, ca.cert, tls.hosts ?? [])) continue;
        const leaf = issueLeaf(ca, tls.hosts ?? [], 90);
        const body = {
          apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
          metadata: {
            name: tls.secretName, namespace: ns,
            annotations: {
              'cert-manager.io/issuer-name': issuerName,
              'cert-manager.io/issuer-kind': 'Issuer',
              'cert-manager.io/issuer-group': 'cert-manager.io',
              'cert-manager.io/certificate-name': tls.secretName,
              'cert-manager.io/alt-names': (tls.hosts ?? []).join(','),
            },
          },
          data: { 'tls.crt': b64(leaf.cert), 'tls.key': b64(leaf.key), 'ca.crt': b64(ca.cert) },
        };
        if (existing) {
          await this.server.request('PUT', `/api/v1/namespaces/${ns}/secrets/${tls.secretName}`, { ...body, metadata: { ...existing.metadata, annotations: { ...existing.metadata.annotations, ...body.metadata.annotations } } });
        } else {
          await this.server.create(`/api/v1/namespaces/${ns}/secrets`, body);
        }
        this.record('cert-manager-issued', { namespace: ns, secret: tls.secretName, issuer: issuerName, hosts: tls.hosts, replaced: Boolean(existing) });
      }
    }
  }

  private async issuerCa(ns: string, issuer: any): Promise<{ cert: string; key: string } | undefined> {
    if (issuer.spec?.ca?.secretName) {
      const s = await this.server.find(`/api/v1/namespaces/${ns}/secrets/${issuer.spec.ca.secretName}`);
      if (!s?.data?.['tls.crt'] || !s.data['tls.key']) return undefined;
      return { cert: unb64(s.data['tls.crt']), key: unb64(s.data['tls.key']) };
    }
    if (issuer.spec?.acme) return this.publicCa();
    return undefined;
  }

  /** A stand-in for a public ACME CA (Let's Encrypt), made once per test bed. */
  private publicCa(): { cert: string; key: string } {
    const certFile = path.join(this.stateDir, 'public-ca.crt');
    const keyFile = path.join(this.stateDir, 'public-ca.key');
    if (!fs.existsSync(certFile)) {
      const ca = makeCa('Test Bed Public ACME CA (stand-in for Let\'s Encrypt)');
      fs.writeFileSync(keyFile, ca.key, { mode: 0o600 });
      fs.writeFileSync(certFile, ca.cert);
    }
    return { cert: fs.readFileSync(certFile, 'utf8'), key: fs.readFileSync(keyFile, 'utf8') };
  }

  private issuedBy(secret: any, caPem: string, hosts: string[]): boolean {
    const crt = secret.data?.['tls.crt'];
    if (!crt) return false;
    try {
      const leaf = new crypto.X509Certificate(unb64(crt));
      const ca = new crypto.X509Certificate(caPem);
      return leaf.verify(ca.publicKey) && hosts.every((h) => leaf.checkHost(h) !== undefined);
    } catch {
      return false; // not a certificate: cert-manager re-issues
    }
  }

  // ---- 2. the Rancher server process ------------------------------------

  private async rancherPods(): Promise<void> {
    const pods = await this.server.list(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Drancher`);
    const alive = new Set<string>();
    for (const pod of pods) {
      const uid = pod.metadata.uid;
      if (pod.metadata.deletionTimestamp) continue;
      alive.add(uid);
      // The container starts once the pod is bound to a node.
      if (this.starts.has(uid) || !pod.spec.nodeName) continue;
      const start = await this.readCacertsAtStart(pod);
      this.starts.set(uid, start);
      this.record('rancher-started', { pod: pod.metadata.name, cacertsSource: start.source, cacertsSha256: sha256(start.cacerts), checksum: agentChecksum(start.cacerts) });
    }
    for (const uid of [...this.starts.keys()]) if (!alive.has(uid)) this.starts.delete(uid);
    const ready = pods.filter((p: any) => !p.metadata.deletionTimestamp && this.starts.has(p.metadata.uid) && isReady(p));
    ready.sort((a: any, b: any) => this.starts.get(a.metadata.uid)!.startedAt - this.starts.get(b.metadata.uid)!.startedAt);
    const newest = ready.length ? this.starts.get(ready[ready.length - 1].metadata.uid) : undefined;
    if (newest?.cacerts !== this.served?.cacerts || (newest === undefined) !== (this.served === undefined)) {
      this.record('cacerts-served', { pod: newest?.pod ?? null, cacertsSha256: newest ? sha256(newest.cacerts) : null, checksum: newest ? agentChecksum(newest.cacerts) : null });
    }
    this.served = newest;
  }

  private async readCacertsAtStart(pod: any): Promise<RancherStart> {
    const base = { pod: pod.metadata.name, created: pod.metadata.creationTimestamp, startedAt: Date.now() };
    const container = pod.spec.containers.find((c: any) => c.name === 'rancher') ?? pod.spec.containers[0];
    // Rancher makes its own CA (dynamiclistener, secret tls-rancher) on every start when it is missing.
    const ownCa = await this.ensureRancherCa();
    if ((container.args ?? []).includes('--no-cacerts')) return { ...base, cacerts: '', source: '--no-cacerts' };
    const mount = (container.volumeMounts ?? []).find((m: any) => m.mountPath === '/etc/rancher/ssl/cacerts.pem');
    if (mount) {
      const volume = (pod.spec.volumes ?? []).find((v: any) => v.name === mount.name);
      const secretName = volume?.secret?.secretName;
      const secret = secretName ? await this.server.find(`/api/v1/namespaces/${NS}/secrets/${secretName}`) : undefined;
      const key = mount.subPath ?? 'cacerts.pem';
      const content = secret?.data?.[key];
      // A missing secret keeps the pod in ContainerCreating in real life; here it starts with nothing read.
      return { ...base, cacerts: content ? unb64(content).trim() : '', source: `secret ${secretName}/${key} (subPath mount)` };
    }
    return { ...base, cacerts: ownCa.trim(), source: 'secret tls-rancher (Rancher\'s own CA)' };
  }

  private async ensureRancherCa(): Promise<string> {
    const existing = await this.server.find(`/api/v1/namespaces/${NS}/secrets/tls-rancher`);
    if (existing?.data?.['tls.crt']) return unb64(existing.data['tls.crt']);
    const ca = makeCa(`dynamiclistener-ca@${Math.floor(Date.now() / 1000)}`, 'dynamiclistener-org');
    await this.server.create(`/api/v1/namespaces/${NS}/secrets`, {
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
      metadata: { name: 'tls-rancher', namespace: NS },
      data: { 'tls.crt': b64(ca.cert), 'tls.key': b64(ca.key) },
    });
    this.record('rancher-ca-created', { secret: 'tls-rancher', cacertsSha256: sha256(ca.cert.trim()) });
    return ca.cert;
  }

  // ---- 3. the ingress -----------------------------------------------------

  private async ingress(): Promise<void> {
    const ing = await this.server.find(`/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses/rancher`);
    const secretName = ing?.spec?.tls?.[0]?.secretName;
    const secret = secretName ? await this.server.find(`/api/v1/namespaces/${NS}/secrets/${secretName}`) : undefined;
    const chain = secret?.data?.['tls.crt'] ? unb64(secret.data['tls.crt']) : '';
    const key = secret?.data?.['tls.key'] ? unb64(secret.data['tls.key']) : '';
    if (chain === this.servedChain && key === this.servedKey) return;
    try {
      if (chain && key) this.httpsServer!.setSecureContext({ cert: chain, key });
      this.servedChain = chain;
      this.servedKey = key;
      this.record('ingress-chain', { secret: secretName ?? null, leafSha256: chain ? new crypto.X509Certificate(chain).fingerprint256 : null });
    } catch (e) {
      // nginx keeps serving the previous certificate when the secret does not load.
      if (chain !== this.servedChain) this.record('ingress-chain-rejected', { secret: secretName, error: (e as Error).message });
      this.servedChain = chain;
      this.servedKey = key;
    }
  }

  private listen(): Promise<void> {
    this.httpsServer = https.createServer({}, (req, res) => {
      const url = new URL(req.url ?? '/', 'https://localhost');
      if (url.pathname === '/v3/settings/cacerts') {
        if (!this.served) {
          res.writeHead(503, { 'Content-Type': 'text/plain' }).end('no rancher pod is ready');
          return;
        }
        res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({
          baseType: 'setting', id: 'cacerts', name: 'cacerts', type: 'setting', value: this.served.cacerts,
        }));
      } else if (url.pathname === '/ping') {
        res.writeHead(this.served ? 200 : 503, { 'Content-Type': 'text/plain' }).end(this.served ? 'pong' : 'not ready');
      } else if (url.pathname === '/healthz') {
        res.writeHead(this.served ? 200 : 503, { 'Content-Type': 'text/plain' }).end(this.served ? 'ok' : 'not ready');
      } else {
        res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not modelled');
      }
    });
    return new Promise((resolve) => this.httpsServer!.listen(this.opts.port, '127.0.0.1', () => {
      fs.writeFileSync(path.join(this.stateDir, 'url'), `https://${this.opts.hostname}:${this.opts.port}\n`);
      resolve();
    }));
  }

  // ---- 4. the agents' start script -------------------------------------

  private async agentPods(cluster: number, client: KubeClient): Promise<void> {
    const pods = await client.list('/api/v1/pods');
    const alive = new Set<string>();
    for (const pod of pods) {
      // The checksum check is the agent image's start script (package/run.sh): only a
      // rancher-agent container that carries the variable runs it.
      const container = (pod.spec.containers ?? []).find(
        (c: any) => /(^|\/)rancher-agent:/.test(String(c.image ?? '')) && (c.env ?? []).some((e: any) => e.name === CATTLE_CA_CHECKSUM),
      );
      if (!container || pod.metadata.deletionTimestamp || !pod.spec.nodeName) continue;
      const id = `${cluster}/${pod.metadata.uid}`;
      alive.add(id);
      let run = this.agents.get(id);
      if (run?.ok) {
        await this.checkRunningAgentTls(cluster, pod, run);
        continue;
      }
      if (run && Date.now() < run.nextTry) continue;
      const restarts = run ? run.restarts + 1 : 0;
      const env = (container.env as any[]).find((e) => e.name === CATTLE_CA_CHECKSUM);
      const given: string = env.value ?? '';
      const server = (container.env as any[]).find((e) => e.name === 'CATTLE_SERVER')?.value ?? `https://${this.opts.hostname}`;
      const url = `${server}/v3/settings/cacerts`;
      const fields = { cluster: `testbed-${cluster}`, namespace: pod.metadata.namespace, pod: pod.metadata.name, owner: ownerName(pod), container: container.name, given, served: this.served ? agentChecksum(this.served.cacerts) : null, restarts };
      let error: string | undefined;
      if (given) {
        if (!this.served || this.served.cacerts === '') {
          error = `The environment variable CATTLE_CA_CHECKSUM is set but there is no CA certificate configured at ${url}`;
        } else if (agentChecksum(this.served.cacerts) !== given) {
          error = `Configured cacerts checksum (${agentChecksum(this.served.cacerts)}) does not match given --ca-checksum (${given})`;
        }
      }
      if (error) {
        run = { ok: false, restarts, nextTry: Date.now() + Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** restarts) };
        this.agents.set(id, run);
        this.record('agent-start-failed', { ...fields, message: error });
        await this.setAgentStatus(client, pod, container.name, cluster, restarts, `ERROR: ${error}`);
      } else {
        run = { ok: true, restarts, nextTry: 0, trusted: given ? this.served!.cacerts : undefined };
        this.agents.set(id, run);
        this.record('agent-started', { ...fields, checked: Boolean(given) });
        await this.setAgentStatus(client, pod, container.name, cluster, restarts);
      }
    }
    for (const id of [...this.agents.keys()]) if (id.startsWith(`${cluster}/`) && !alive.has(id)) this.agents.delete(id);
  }

  private async checkRunningAgentTls(cluster: number, pod: any, run: AgentRun): Promise<void> {
    if (!run.trusted || !this.servedChain || run.tlsFailed) return;
    if (chainVerifies(this.servedChain, run.trusted)) return;
    run.tlsFailed = true;
    const message = 'x509: certificate signed by unknown authority (the agent trusts the CA it downloaded at start)';
    this.record('agent-tls-failed', { cluster: `testbed-${cluster}`, namespace: pod.metadata.namespace, pod: pod.metadata.name, owner: ownerName(pod), message });
    await this.event(this.clients.get(cluster)!, pod, 'Warning', 'TLSFailed', message);
  }

  private async setAgentStatus(client: KubeClient, pod: any, container: string, cluster: number, restarts: number, error?: string): Promise<void> {
    const now = new Date().toISOString();
    const ready = error ? 'False' : 'True';
    const podIp = `10.${200 + cluster}.${(hash(pod.metadata.uid) >> 8) & 255}.${hash(pod.metadata.uid) & 255}`;
    const status = {
      phase: 'Running',
      hostIP: '127.0.0.1',
      podIP: podIp,
      podIPs: [{ ip: podIp }],
      startTime: pod.status?.startTime ?? now,
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
        { type: 'Initialized', status: 'True', lastTransitionTime: now },
        { type: 'ContainersReady', status: ready, lastTransitionTime: now, ...(error ? { reason: 'ContainersNotReady', message: `containers with unready status: [${container}]` } : {}) },
        { type: 'Ready', status: ready, lastTransitionTime: now, ...(error ? { reason: 'ContainersNotReady', message: `containers with unready status: [${container}]` } : {}) },
      ],
      containerStatuses: pod.spec.containers.map((c: any) => ({
        name: c.name, image: c.image, imageID: '', restartCount: restarts,
        ready: !error, started: !error,
        state: error
          ? { waiting: { reason: 'CrashLoopBackOff', message: `back-off restarting failed container ${c.name} in pod ${pod.metadata.name}` } }
          : { running: { startedAt: now } },
        ...(error ? { lastState: { terminated: { exitCode: 1, reason: 'Error', message: error, startedAt: now, finishedAt: now } } } : {}),
      })),
    };
    await client.mergePatch(`/api/v1/namespaces/${pod.metadata.namespace}/pods/${pod.metadata.name}/status`, { status });
    if (error) await this.event(client, pod, 'Warning', 'BackOff', `Back-off restarting failed container ${container}: ${error}`);
  }

  // ---- 5. Rancher's clusterdeploy controller (method 1) ------------------

  /**
   * For each clusters.management.cattle.io object of a downstream cluster:
   * when annotation io.cattle.agent.force.deploy is "true", or status.agentImage
   * differs from the agent image Rancher wants, re-apply the agent workloads
   * with the checksum of the cacerts Rancher holds in memory (what it serves),
   * then record the image and set the annotation back to "false".
   */
  private async clusterDeploy(): Promise<void> {
    // The controller runs in the Rancher process: nothing happens while no rancher pod is ready.
    if (!this.served) return;
    for (const cluster of await this.server.list('/apis/management.cattle.io/v3/clusters')) {
      if (cluster.spec?.internal) continue; // deployAgent returns at Spec.Internal: no agents on local
      const i = testbedIndex(cluster);
      const client = i === undefined ? undefined : this.clients.get(i);
      if (!client) continue;
      const workloads = [];
      for (const w of AGENT_WORKLOADS) {
        const obj = await client.find(`/apis/apps/v1/namespaces/${NS}/${w.plural}/${w.name}`);
        if (obj) workloads.push({ ...w, obj });
      }
      const clusterAgent = workloads.find((w) => w.name === 'cattle-cluster-agent');
      if (!clusterAgent) continue; // not deployed yet (the test bed applies the profile first)
      // Rancher's desired agent image (setting agent-image) is what it rendered at install: the profile's image.
      const desiredImage: string = clusterAgent.obj.spec.template.spec.containers.find((c: any) => c.name === clusterAgent.container).image;
      const base = `/apis/management.cattle.io/v3/clusters/${cluster.metadata.name}`;
      if (cluster.status?.agentImage === undefined) {
        // The install deployed the agents: record what Rancher records after a deploy, without re-applying.
        await this.server.mergePatch(base, { status: { agentImage: desiredImage } });
        continue;
      }
      const forced = cluster.metadata.annotations?.[AGENT_FORCE_DEPLOY] === 'true';
      if (!forced && cluster.status.agentImage === desiredImage) continue;
      const checksum = this.served.cacerts === '' ? '' : agentChecksum(this.served.cacerts);
      const changed: string[] = [];
      for (const w of workloads) {
        const container = w.obj.spec.template.spec.containers.find((c: any) => c.name === w.container);
        const current = (container?.env ?? []).find((e: any) => e.name === CATTLE_CA_CHECKSUM);
        // Unchanged (the API server stores value "" as no value): kubectl apply changes nothing, nothing rolls.
        if (current && !current.valueFrom && (current.value ?? '') === checksum) continue;
        // The template renders `value: "{{.CAChecksum}}"` always, "" when cacerts is empty.
        await client.request('PATCH', `/apis/apps/v1/namespaces/${NS}/${w.plural}/${w.name}`,
          { spec: { template: { spec: { containers: [{ name: w.container, env: [{ name: CATTLE_CA_CHECKSUM, value: checksum, ...(current?.valueFrom ? { valueFrom: null } : {}) }] }] } } } },
          'application/strategic-merge-patch+json');
        changed.push(`${w.kind}/${w.name}`);
      }
      await this.server.mergePatch(base, {
        ...(forced ? { metadata: { annotations: { [AGENT_FORCE_DEPLOY]: 'false' } } } : {}),
        status: { agentImage: desiredImage },
      });
      this.record('agents-redeployed', {
        cluster: cluster.metadata.name, testbedCluster: `testbed-${i}`,
        trigger: forced ? `annotation ${AGENT_FORCE_DEPLOY}` : `status.agentImage ${JSON.stringify(cluster.status.agentImage)}`,
        checksum, workloads: workloads.map((w) => `${w.kind}/${w.name}`), changed,
      });
    }
  }

  // ---- 7. Certificate rotation of the clusters Rancher provisioned -----------

  /**
   * RKE2/K3s: for each clusters.provisioning.cattle.io with
   * spec.rkeConfig.rotateCertificates whose generation differs from its
   * RKEControlPlane's status.certificateRotationGeneration, the planner
   * rotates node by node (Ready Unknown, "certificate rotation" messages),
   * then records the generation and is Reconciled again. Rancher never clears
   * the block. (rancher/rancher pkg/capr/planner/certificaterotation.go
   * shouldRotate/rotateCertificates; pkg/controllers/capr/planner/controller.go)
   */
  private async certificateRotationV2(): Promise<void> {
    for (const cluster of await this.server.list('/apis/provisioning.cattle.io/v1/clusters')) {
      const { namespace: ns, name } = cluster.metadata;
      const cpPath = `/apis/rke.cattle.io/v1/namespaces/${ns}/rkecontrolplanes/${name}`;
      const cp = await this.server.find(cpPath);
      if (!cp) continue;
      if (cp.status?.initialized === undefined) {
        // As after provisioning: initialized, nothing rotated yet, Ready and Reconciled.
        let conditions = withCondition(undefined, 'Ready', 'True');
        conditions = withCondition(conditions, 'Reconciled', 'True');
        await this.server.mergePatch(`${cpPath}/status`, { status: { initialized: true, certificateRotationGeneration: 0, conditions } });
        continue;
      }
      const asked = cluster.spec?.rkeConfig?.rotateCertificates;
      const generation = Number(asked?.generation ?? 0);
      if (!asked || generation === Number(cp.status.certificateRotationGeneration ?? 0)) continue;
      const services: string[] = asked.services ?? [];
      const key = `v2:${ns}/${name}`;
      const request = JSON.stringify({ generation, services });
      const nodes = (await (this.clients.get(testbedIndex(cluster) ?? -1)?.list('/api/v1/nodes') ?? Promise.resolve([]))).map((n: any) => n.metadata.name).sort();
      const run = this.rotations.get(key);
      if (!run || run.request !== request) {
        this.rotations.set(key, { request, startedAt: Date.now() });
        let conditions = withCondition(cp.status.conditions, 'Ready', 'Unknown', `starting [${nodes[0] ?? name}] certificate rotation`, 'Waiting');
        conditions = withCondition(conditions, 'Reconciled', 'Unknown', '', 'Waiting');
        await this.server.mergePatch(`${cpPath}/status`, { status: { conditions } });
        this.record('certificate-rotation-started', { kind: 'v2', cluster: `${ns}/${name}`, testbedCluster: cluster.metadata.labels?.[TESTBED_CLUSTER_LABEL], generation, previousGeneration: cp.status.certificateRotationGeneration ?? 0, services });
        continue;
      }
      if (Date.now() - run.startedAt < 1500) continue; // the nodes take their time
      this.rotations.delete(key);
      const testbedCluster = cluster.metadata.labels?.[TESTBED_CLUSTER_LABEL];
      let done: Array<{ node: string; commands: string[]; output?: string }>;
      if (cluster.metadata.annotations?.[STANDIN_NODES] === 'true') {
        // The machines are the stand-in nodes: each runs its plan, servers (etcd + control plane) first.
        done = [];
        const machines = this.standinNodes();
        for (const node of [...machines.filter((m) => m.role === 'server'), ...machines.filter((m) => m.role === 'agent')]) {
          if (!v2NodeRotates(node.role, services)) continue;
          const commands = v2RotationPlan(node.role, services);
          const result = await this.onNode(node, commands);
          done.push({ node: node.name, commands: commands.map((c) => c.join(' ')), output: result.output });
          if (!result.ok) {
            const message = `operation [${node.name}] certificate rotation failed`;
            await this.server.mergePatch(`${cpPath}/status`, { status: { conditions: withCondition(cp.status.conditions, 'Ready', 'False', message, 'Error') } });
            this.record('certificate-rotation-failed', { kind: 'v2', cluster: `${ns}/${name}`, testbedCluster, generation, node: node.name, message, output: result.output });
            return;
          }
        }
      } else {
        // Fake (kwok) nodes: what each would run, recorded, not run.
        done = nodes.map((node: string) => ({ node, commands: v2RotationPlan('server', services).map((c) => c.join(' ')) }));
      }
      let conditions = withCondition(cp.status.conditions, 'Ready', 'True');
      conditions = withCondition(conditions, 'Reconciled', 'True');
      await this.server.mergePatch(`${cpPath}/status`, { status: { certificateRotationGeneration: generation, conditions } });
      this.record('certificate-rotation-done', { kind: 'v2', cluster: `${ns}/${name}`, testbedCluster, generation, services, nodes: done });
    }
  }

  /**
   * RKE1: for each clusters.management.cattle.io with
   * spec.rancherKubernetesEngineConfig.rotateCertificates, the cluster
   * provisioner runs rke's rotation (Updated Unknown); on success it clears the
   * block from spec (resetRkeConfigFlags) and Updated is True; on failure the
   * block stays, Updated is False with rke's error, and it retries with
   * back-off for as long as the block is there. The failure modelled is rke's
   * "CA Certificate or Key is empty" (pki/services.go) for a cluster whose
   * state lacks its CA, marked on the test bed with the annotation
   * testbed.cert-rotation/state-without-ca=true; rotating the CA too
   * (caCertificates) makes a new one and succeeds.
   * (rancher/rancher pkg/controllers/management/clusterprovisioner/provisioner.go;
   * rancher/rke cmd/cert.go, cluster/certificates.go)
   */
  private async certificateRotationRke1(): Promise<void> {
    for (const cluster of await this.server.list('/apis/management.cattle.io/v3/clusters')) {
      const rke = cluster.spec?.rancherKubernetesEngineConfig;
      if (!rke) continue;
      const base = `/apis/management.cattle.io/v3/clusters/${cluster.metadata.name}`;
      const conditions = cluster.status?.conditions;
      if (!(conditions ?? []).some((c: any) => c.type === 'Updated')) {
        await this.server.mergePatch(base, { status: { conditions: withCondition(withCondition(conditions, 'Provisioned', 'True'), 'Updated', 'True') } });
        continue;
      }
      const asked = rke.rotateCertificates;
      const key = `rke1:${cluster.metadata.name}`;
      if (!asked) {
        this.rotations.delete(key);
        continue;
      }
      const request = JSON.stringify(asked);
      const run = this.rotations.get(key);
      const testbedCluster = cluster.metadata.labels?.[TESTBED_CLUSTER_LABEL];
      if (!run || run.request !== request) {
        this.rotations.set(key, { request, startedAt: Date.now() });
        await this.server.mergePatch(base, { status: { conditions: withCondition(conditions, 'Updated', 'Unknown') } });
        this.record('certificate-rotation-started', { kind: 'rke1', cluster: cluster.metadata.name, testbedCluster, caCertificates: asked.caCertificates === true, services: asked.services ?? [] });
        continue;
      }
      if (Date.now() - (run.lastFailure ?? run.startedAt) < 1500) continue;
      const withoutCa = cluster.metadata.annotations?.['testbed.cert-rotation/state-without-ca'] === 'true';
      if (withoutCa && asked.caCertificates !== true) {
        run.lastFailure = Date.now();
        await this.server.mergePatch(base, { status: { conditions: withCondition(conditions, 'Updated', 'False', 'CA Certificate or Key is empty', 'Error') } });
        this.record('certificate-rotation-failed', { kind: 'rke1', cluster: cluster.metadata.name, testbedCluster, message: 'CA Certificate or Key is empty' });
        continue;
      }
      // rke: with caCertificates a new CA and every service certificate; else the listed services (none: all).
      const listed: string[] = (asked.services ?? []).filter(Boolean);
      const services = asked.caCertificates === true || !listed.length ? ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-proxy', 'kube-scheduler', 'kubelet'] : listed;
      let output: string | undefined;
      if (cluster.metadata.annotations?.[STANDIN_NODES] === 'true') {
        // Rancher runs rke's rotation in-process against the cluster's nodes; the stand-in rke does to the
        // nodes' files what it does (its cluster.yml lists the stand-in nodes).
        const node = this.standinNodes()[0];
        const command = ['rke', 'cert', 'rotate', ...(asked.caCertificates === true ? ['--rotate-ca'] : listed.flatMap((sv) => ['--service', sv])), '--config', path.join(node?.root ?? '', 'root/rke/cluster.yml')];
        const result = node ? await this.onNode(node, [command]) : { ok: false, output: 'no stand-in node' };
        output = result.output;
        if (!result.ok) {
          run.lastFailure = Date.now();
          const message = (/Failed to rotate certificates: [^\n]*/.exec(result.output) ?? ['rke cert rotate failed'])[0];
          await this.server.mergePatch(base, { status: { conditions: withCondition(conditions, 'Updated', 'False', message, 'Error') } });
          this.record('certificate-rotation-failed', { kind: 'rke1', cluster: cluster.metadata.name, testbedCluster, message, output });
          continue;
        }
      }
      this.rotations.delete(key);
      await this.server.mergePatch(base, {
        metadata: withoutCa ? { annotations: { 'testbed.cert-rotation/state-without-ca': null } } : {},
        spec: { rancherKubernetesEngineConfig: { rotateCertificates: null } },
        status: { conditions: withCondition(conditions, 'Updated', 'True') },
      });
      this.record('certificate-rotation-done', { kind: 'rke1', cluster: cluster.metadata.name, testbedCluster, caCertificates: asked.caCertificates === true, services, ...(output !== undefined ? { output } : {}) });
    }
  }

  // ---- 6. Fleet's agent import (Force Update) ------------------------------

  /**
   * For each clusters.fleet.cattle.io object of a downstream cluster: when
   * spec.redeployAgentGeneration differs from status.agentDeployedGeneration,
   * Fleet deletes the fleet-agent workload and applies it again (new object,
   * new pods), then sets status.agentDeployedGeneration.
   */
  private async fleetImport(): Promise<void> {
    for (const cluster of await this.server.list('/apis/fleet.cattle.io/v1alpha1/clusters')) {
      if (!cluster.spec?.kubeConfigSecret) continue; // agent-initiated registration: Fleet's import does nothing
      const i = testbedIndex(cluster);
      const client = i === undefined ? undefined : this.clients.get(i);
      if (!client) continue;
      const ns = cluster.spec.agentNamespace || FLEET_AGENT_NS;
      let found: { plural: string; obj: any } | undefined;
      for (const plural of ['deployments', 'statefulsets']) {
        const obj = await client.find(`/apis/apps/v1/namespaces/${ns}/${plural}/fleet-agent`);
        if (obj) found = { plural, obj };
      }
      if (!found) continue;
      const want = cluster.spec.redeployAgentGeneration ?? 0;
      const statusPath = `/apis/fleet.cattle.io/v1alpha1/namespaces/${cluster.metadata.namespace}/clusters/${cluster.metadata.name}/status`;
      if (cluster.status?.agentDeployedGeneration === undefined) {
        // The install deployed the agent: record what Fleet records after an import, without redeploying.
        await this.server.mergePatch(statusPath, { status: { agentDeployedGeneration: want } });
        continue;
      }
      if (cluster.status.agentDeployedGeneration === want) continue;
      const { plural, obj } = found;
      const apiPath = `/apis/apps/v1/namespaces/${ns}/${plural}`;
      await client.request('DELETE', `${apiPath}/fleet-agent`, { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: 'Background' });
      const fresh = {
        apiVersion: 'apps/v1', kind: obj.kind,
        metadata: { name: obj.metadata.name, namespace: ns, labels: obj.metadata.labels, annotations: withoutLastApplied(obj.metadata.annotations) },
        spec: obj.spec,
      };
      const created = await client.create(apiPath, fresh);
      await this.server.mergePatch(statusPath, { status: { agentDeployedGeneration: want } });
      this.record('fleet-agent-redeployed', {
        cluster: `${cluster.metadata.namespace}/${cluster.metadata.name}`, testbedCluster: `testbed-${i}`,
        generation: want, previousGeneration: cluster.status.agentDeployedGeneration,
        workload: `${obj.kind}/${ns}/fleet-agent`, oldUid: obj.metadata.uid, newUid: created.metadata.uid,
        apiServerCASha256: this.served ? sha256(this.served.cacerts) : null,
      });
    }
  }

  private async event(client: KubeClient, pod: any, type: string, reason: string, message: string): Promise<void> {
    const ns = pod.metadata.namespace;
    await client.create(`/api/v1/namespaces/${ns}/events`, {
      apiVersion: 'v1', kind: 'Event',
      metadata: { generateName: `${pod.metadata.name}.`, namespace: ns },
      involvedObject: { kind: 'Pod', namespace: ns, name: pod.metadata.name, uid: pod.metadata.uid, apiVersion: 'v1' },
      reason, message, type, count: 1,
      firstTimestamp: new Date().toISOString(), lastTimestamp: new Date().toISOString(),
      source: { component: 'kubelet', host: pod.spec.nodeName },
    }).catch(() => undefined);
  }
}

// ---- certificates (openssl, as the stand-ins' own tooling) -------------------

function makeCa(cn: string, org?: string): { cert: string; key: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rancher-model-'));
  try {
    const subj = org ? `/O=${org}/CN=${cn}` : `/CN=${cn}`;
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', path.join(dir, 'ca.key'), '-out', path.join(dir, 'ca.crt'), '-days', '3650', '-subj', subj,
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign,digitalSignature'], { stdio: 'pipe' });
    return { cert: fs.readFileSync(path.join(dir, 'ca.crt'), 'utf8'), key: fs.readFileSync(path.join(dir, 'ca.key'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function issueLeaf(ca: { cert: string; key: string }, hosts: string[], days: number): { cert: string; key: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rancher-model-'));
  try {
    fs.writeFileSync(path.join(dir, 'ca.crt'), ca.cert);
    fs.writeFileSync(path.join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'ext'), `subjectAltName=${hosts.map((h) => `DNS:${h}`).join(',') || 'DNS:localhost'}\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\n`);
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', path.join(dir, 'tls.key'), '-out', path.join(dir, 'tls.csr'), '-subj', `/CN=${hosts[0] ?? 'localhost'}`], { stdio: 'pipe' });
    execFileSync('openssl', ['x509', '-req', '-in', path.join(dir, 'tls.csr'), '-CA', path.join(dir, 'ca.crt'), '-CAkey', path.join(dir, 'ca.key'),
      '-CAcreateserial', '-days', String(days), '-sha256', '-extfile', path.join(dir, 'ext'), '-out', path.join(dir, 'tls.crt')], { stdio: 'pipe' });
    return { cert: fs.readFileSync(path.join(dir, 'tls.crt'), 'utf8'), key: fs.readFileSync(path.join(dir, 'tls.key'), 'utf8') };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** True when some certificate of `chainPem` (leaf first) is signed by a CA in `bundlePem`. */
function chainVerifies(chainPem: string, bundlePem: string): boolean {
  const chain = splitPem(chainPem).map((p) => new crypto.X509Certificate(p));
  const cas = splitPem(bundlePem).map((p) => new crypto.X509Certificate(p));
  return chain.some((c) => cas.some((ca) => c.fingerprint256 === ca.fingerprint256 || (c.checkIssued(ca) && c.verify(ca.publicKey))));
}

function splitPem(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/**
 * What an agent compares with CATTLE_CA_CHECKSUM: sha256 of the file that
 * `jq -r .value` writes (the setting, which Rancher stored trimmed, and a newline).
 */
function agentChecksum(cacerts: string): string {
  return sha256(`${cacerts}\n`);
}

function sha256(s: string): string {
  return crypto.createHash('sha256').update(s).digest('hex');
}

function b64(s: string): string {
  return Buffer.from(s).toString('base64');
}

function unb64(s: string): string {
  return Buffer.from(s, 'base64').toString('utf8');
}

function isReady(pod: any): boolean {
  return (pod.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True');
}

function ownerName(pod: any): string | null {
  const ref = pod.metadata.ownerReferences?.[0];
  if (!ref) return null;
  // Deployment pods belong to a ReplicaSet named <deployment>-<hash>.
  return ref.kind === 'ReplicaSet' ? `Deployment/${ref.name.replace(/-[a-z0-9]+$/, '')}` : `${ref.kind}/${ref.name}`;
}

/** The test-bed cluster index an object's testbed.cert-rotation/cluster label names. */
/** Rancher's planner condition list with `type` set to `status`/`message` (other conditions kept). */
function withCondition(conditions: any[] | undefined, type: string, status: string, message = '', reason = ''): any[] {
  const rest = (conditions ?? []).filter((c) => c.type !== type);
  return [...rest, { type, status, message, reason, lastUpdateTime: new Date().toISOString() }];
}

/**
 * The commands Rancher's planner has a node run for an RKE2 certificate rotation
 * (rancher/rancher pkg/capr/planner/certificaterotation.go, rotateCertificatesPlan):
 * server nodes stop rke2-server, `rke2 certificate rotate` with one -s per service,
 * restart; worker-only nodes restart rke2-agent. The test bed's fake nodes carry
 * every role, so each is a server node.
 */
/**
 * What Rancher's planner runs on a machine (rancher/rancher pkg/capr/planner/certificaterotation.go
 * rotateCertificatesPlan): a server (etcd and/or control plane) stops rke2-server, runs
 * `rke2 certificate rotate` with one -s per service (none: all) and restarts; a worker only restarts
 * rke2-agent.
 */
function v2RotationPlan(role: 'server' | 'agent', services: string[]): string[][] {
  if (role === 'agent') return [['systemctl', 'restart', 'rke2-agent']];
  return [['systemctl', 'stop', 'rke2-server'], ['rke2', 'certificate', 'rotate', ...services.flatMap((s) => ['-s', s])], ['systemctl', 'restart', 'rke2-server']];
}

/**
 * Whether the planner rotates a machine (shouldRotateEntry): every machine when no service is named,
 * else a worker only for a service its kubelet or proxy uses; an RKE2 server runs etcd and the control
 * plane, and every name is one of theirs.
 */
function v2NodeRotates(role: 'server' | 'agent', services: string[]): boolean {
  if (services.length === 0 || role === 'server') return true;
  return services.some((s) => ['rke2-server', 'k3s-server', 'api-server', 'kubelet', 'kube-proxy', 'auth-proxy'].includes(s));
}

function testbedIndex(obj: any): number | undefined {
  const m = /^testbed-(\d+)$/.exec(obj.metadata.labels?.[TESTBED_CLUSTER_LABEL] ?? '');
  return m ? Number(m[1]) : undefined;
}

function withoutLastApplied(annotations: Record<string, string> | undefined): Record<string, string> | undefined {
  if (!annotations) return undefined;
  const { 'kubectl.kubernetes.io/last-applied-configuration': _, ...rest } = annotations;
  return rest;
}

function hash(s: string): number {
  return crypto.createHash('sha1').update(s).digest().readUInt32BE(0);
}

new RancherModel(parseOptions(process.argv.slice(2))).run().catch((e) => {
  process.stderr.write(`[rancher-model] fatal: ${(e as Error).stack}\n`);
  process.exit(1);
});
