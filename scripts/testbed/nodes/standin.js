#!/usr/bin/env node
// Test-bed stand-in for the commands an RKE2 / RKE node runs: rke2, systemctl,
// kubectl, rke and docker. A MODEL built from upstream facts (README.md next to
// this file lists them with their sources): it does to the files under the
// node's root directory ($TESTBED_NODE_ROOT) what the real command does.
// Certificates are made with the openssl command (EC P-256, as k3s/dynamiclistener).
//
//   node standin.js <command> ARGS...      (node-bin/<command> wrappers call it)
//   node standin.js testbed-init-rke2 ...  (scripts/testbed/lib/nodes.sh at `up`)
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const { execFileSync } = require('child_process');

const TESTBED_DIR = process.env.TESTBED_DIR || '';
const NODE = process.env.TESTBED_NODE || 'unknown';
const ROOT = process.env.TESTBED_NODE_ROOT || '';
const DAY = 24 * 3600 * 1000;
// k3s pkg/daemons/config: CertificateRenewDays = 90 — leaf certificates that
// expire within 90 days (or have expired) are renewed when the server starts.
// https://docs.rke2.io/security/certificates#client-and-server-certificates
const RENEW_DAYS = 90;

// ---------------------------------------------------------------- helpers

function fail(msg, code = 1) {
  process.stderr.write(msg.endsWith('\n') ? msg : msg + '\n');
  process.exit(code);
}
function info(msg) {
  // logrus's text format, on stderr as rke2/rke print it.
  process.stderr.write(`INFO[0000] ${msg}\n`);
}
function exists(p) { return fs.existsSync(p); }
function mkdirp(p) { fs.mkdirSync(p, { recursive: true }); }
function readCert(p) {
  try { return new crypto.X509Certificate(fs.readFileSync(p)); } catch { return undefined; }
}

/** A self-signed CA (10 years, as k3s's createSigningCertKey / RKE's kube-ca). */
function makeCA(crt, key, cn) {
  mkdirp(path.dirname(crt));
  execFileSync('openssl', ['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', crt, '-subj', `/CN=${cn}`, '-days', '3650',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign'],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.chmodSync(key, 0o600);
}

/**
 * A leaf certificate with a new key, signed by caCrt/caKey: new serial (openssl
 * picks a random one), notAfter `days` from now (365 for k3s and RKE leaves).
 */
function makeLeaf(crt, key, caCrt, caKey, spec, days = 365) {
  mkdirp(path.dirname(crt));
  const subj = (spec.o ? `/O=${spec.o}` : '') + `/CN=${spec.cn}`;
  const args = ['req', '-x509', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', crt, '-subj', subj, '-CA', caCrt, '-CAkey', caKey, '-days', String(days),
    '-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'keyUsage=critical,digitalSignature,keyEncipherment',
    '-addext', `extendedKeyUsage=${spec.eku || 'clientAuth'}`];
  if (spec.sans && spec.sans.length) args.push('-addext', `subjectAltName=${spec.sans.join(',')}`);
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.chmodSync(key, 0o600);
}

function makeKey(key) {
  mkdirp(path.dirname(key));
  execFileSync('openssl', ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', key], { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.chmodSync(key, 0o600);
}

/** Whether a leaf must be (re)issued: missing, not from this CA, or expiring within RENEW_DAYS. */
function needsLeaf(crt, key, caCrt) {
  if (!exists(crt) || !exists(key)) return true;
  const c = readCert(crt);
  const ca = readCert(caCrt);
  if (!c || !ca || !c.checkIssued(ca) || !c.verify(ca.publicKey)) return true;
  return new Date(c.validTo).getTime() - Date.now() < RENEW_DAYS * DAY;
}

function copyTree(src, dst) {
  fs.cpSync(src, dst, { recursive: true, force: true });
}

/** Minimal reader for the flat `key: value` YAML of rke2's config.yaml. */
function readFlatYaml(file) {
  const out = {};
  if (!exists(file)) return out;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Za-z0-9_-]+):\s*"?([^"#]*?)"?\s*$/.exec(line);
    if (m) out[m[1]] = m[2];
  }
  return out;
}

// ------------------------------------------------------------- systemd model
// Per-node unit state lives in the node root: <root>/run/systemd-standin/<unit>.
// A unit exists on the node when <root>/etc/systemd/system/<unit>.service does.

function unitName(u) { return u.replace(/\.service$/, ''); }
function stateFile(unit, root = ROOT) { return path.join(root, 'run', 'systemd-standin', unit); }
function unitState(unit, root = ROOT) {
  try { return fs.readFileSync(stateFile(unit, root), 'utf8').trim(); } catch { return 'inactive'; }
}
function setUnitState(unit, state, root = ROOT) {
  mkdirp(path.dirname(stateFile(unit, root)));
  fs.writeFileSync(stateFile(unit, root), state + '\n');
}
function unitInstalled(unit, root = ROOT) { return exists(path.join(root, 'etc', 'systemd', 'system', `${unit}.service`)); }

// ----------------------------------------------------------------- RKE2 model
// File names: k3s pkg/daemons/control/deps/deps.go (CreateRuntimeCertFiles) with
// version.Program = "rke2"; per-service lists: k3s pkg/util/services/services.go.

const PROGRAM = 'rke2';
const DATASTORE = () => path.join(TESTBED_DIR, 'nodes', 'rke2-datastore');

function rke2Config(root = ROOT) { return readFlatYaml(path.join(root, 'etc', 'rancher', 'rke2', 'config.yaml')); }
function rke2DataDir(flag, root = ROOT) { return flag || rke2Config(root)['data-dir'] || '/var/lib/rancher/rke2'; }

/** CA files under server/tls: [crt, key, CN]. The "bootstrap data" every server shares. */
const RKE2_CAS = [
  ['server-ca.crt', 'server-ca.key', `${PROGRAM}-server-ca`],
  ['client-ca.crt', 'client-ca.key', `${PROGRAM}-client-ca`],
  ['request-header-ca.crt', 'request-header-ca.key', `${PROGRAM}-request-header-ca`],
  ['etcd/server-ca.crt', 'etcd/server-ca.key', 'etcd-server-ca'],
  ['etcd/peer-ca.crt', 'etcd/peer-ca.key', 'etcd-peer-ca'],
];

/** Leaf certificates under server/tls (genClientCerts, genServerCerts, genRequestHeaderCerts, genETCDCerts). */
function rke2ServerLeaves() {
  const api = ['DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local', 'DNS:localhost', 'IP:127.0.0.1'];
  return [
    { name: 'client-admin', ca: 'client-ca', cn: 'system:admin', o: 'system:masters' },
    { name: 'client-supervisor', ca: 'client-ca', cn: `system:${PROGRAM}-supervisor`, o: 'system:masters' },
    { name: 'client-controller', ca: 'client-ca', cn: 'system:kube-controller-manager' },
    { name: 'client-scheduler', ca: 'client-ca', cn: 'system:kube-scheduler' },
    { name: 'client-kube-apiserver', ca: 'client-ca', cn: 'system:apiserver', o: 'system:masters' },
    { name: 'client-kube-proxy', ca: 'client-ca', cn: 'system:kube-proxy' },
    { name: `client-${PROGRAM}-controller`, ca: 'client-ca', cn: `system:${PROGRAM}-controller` },
    { name: `client-${PROGRAM}-cloud-controller`, ca: 'client-ca', cn: `${PROGRAM}-cloud-controller-manager` },
    { name: 'client-auth-proxy', ca: 'request-header-ca', cn: 'system:auth-proxy' },
    { name: 'serving-kube-apiserver', ca: 'server-ca', cn: 'kube-apiserver', eku: 'serverAuth', sans: api },
    { name: 'etcd/client', ca: 'etcd/server-ca', cn: 'etcd-client' },
    { name: 'etcd/server-client', ca: 'etcd/server-ca', cn: 'etcd-server', eku: 'serverAuth,clientAuth', sans: ['DNS:localhost', 'IP:127.0.0.1'] },
    { name: 'etcd/peer-server-client', ca: 'etcd/peer-ca', cn: 'etcd-peer', eku: 'serverAuth,clientAuth', sans: ['DNS:localhost', 'IP:127.0.0.1'] },
  ];
}

/** Files each `--service` removes (k3s pkg/util/services FilesForServices). */
function rke2ServiceFiles(dataDir, service) {
  const s = (n) => path.join(dataDir, 'server', 'tls', n);
  const a = (n) => path.join(dataDir, 'agent', n);
  const pair = (f, n) => [f(`${n}.crt`), f(`${n}.key`)];
  switch (service) {
    case 'admin': return pair(s, 'client-admin');
    case 'api-server': return [...pair(s, 'client-kube-apiserver'), ...pair(s, 'serving-kube-apiserver')];
    case 'controller-manager': return pair(s, 'client-controller');
    case 'scheduler': return pair(s, 'client-scheduler');
    case 'etcd': return [...pair(s, 'etcd/client'), ...pair(s, 'etcd/server-client'), ...pair(s, 'etcd/peer-server-client')];
    case 'cloud-controller': return pair(s, `client-${PROGRAM}-cloud-controller`);
    case `${PROGRAM}-controller`: return [...pair(s, `client-${PROGRAM}-controller`), ...pair(a, `client-${PROGRAM}-controller`)];
    case 'supervisor': return pair(s, 'client-supervisor');
    case 'auth-proxy': return pair(s, 'client-auth-proxy');
    case 'kubelet': return [s('client-kubelet.key'), s('serving-kubelet.key'), ...pair(a, 'client-kubelet'), ...pair(a, 'serving-kubelet')];
    case 'kube-proxy': return [...pair(s, 'client-kube-proxy'), ...pair(a, 'client-kube-proxy')];
    case `${PROGRAM}-server`: return []; // the dynamiclistener cache: regenerate trigger instead
    default: return undefined;
  }
}
const RKE2_AGENT_SERVICES = ['kube-proxy', 'kubelet', `${PROGRAM}-controller`];
const RKE2_SERVER_SERVICES = ['api-server', 'admin', 'auth-proxy', 'cloud-controller', 'controller-manager', 'etcd', 'scheduler', 'supervisor', `${PROGRAM}-server`];

/** The shared CAs: copied from the datastore when missing (bootstrap data), made there on first use. */
function rke2EnsureCAs(tls) {
  const store = DATASTORE();
  for (const [crt, key, cn] of RKE2_CAS) {
    if (!exists(path.join(store, crt))) makeCA(path.join(store, crt), path.join(store, key), `${cn}@${Math.floor(Date.now() / 1000)}`);
    if (!exists(path.join(tls, crt)) || !exists(path.join(tls, key))) {
      mkdirp(path.dirname(path.join(tls, crt)));
      fs.copyFileSync(path.join(store, crt), path.join(tls, crt));
      fs.copyFileSync(path.join(store, key), path.join(tls, key));
      fs.chmodSync(path.join(tls, key), 0o600);
    }
  }
  if (!exists(path.join(store, 'service.key'))) makeKey(path.join(store, 'service.key'));
  for (const k of ['service.key', 'service.current.key']) {
    if (!exists(path.join(tls, k))) { fs.copyFileSync(path.join(store, 'service.key'), path.join(tls, k)); fs.chmodSync(path.join(tls, k), 0o600); }
  }
  // client-ca.nochain.crt / server-ca.nochain.crt: the first certificate of the CA file (genClientCerts).
  fs.copyFileSync(path.join(tls, 'client-ca.crt'), path.join(tls, 'client-ca.nochain.crt'));
  fs.copyFileSync(path.join(tls, 'server-ca.crt'), path.join(tls, 'server-ca.nochain.crt'));
}

function kubeconfigText(server, caPem, certPem, keyPem, name) {
  const b = (s) => Buffer.from(s).toString('base64');
  return `apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: ${b(caPem)}\n    server: ${server}\n  name: ${name}\ncontexts:\n- context:\n    cluster: ${name}\n    user: ${name}\n  name: ${name}\ncurrent-context: ${name}\nkind: Config\npreferences: {}\nusers:\n- name: ${name}\n  user:\n    client-certificate-data: ${b(certPem)}\n    client-key-data: ${b(keyPem)}\n`;
}

/** What `rke2 server` does to files at start (genServerDeps + dynamiclistener + agent + rke2.yaml). */
function rke2ServerStart(root, dataDir, nodeName) {
  const tls = path.join(dataDir, 'server', 'tls');
  mkdirp(tls);
  rke2EnsureCAs(tls);
  const renewed = [];
  for (const leaf of rke2ServerLeaves()) {
    const crt = path.join(tls, `${leaf.name}.crt`);
    const key = path.join(tls, `${leaf.name}.key`);
    const caCrt = path.join(tls, `${leaf.ca}.crt`);
    if (needsLeaf(crt, key, caCrt)) {
      makeLeaf(crt, key, caCrt, path.join(tls, `${leaf.ca}.key`), leaf);
      renewed.push(leaf.name);
    }
  }
  for (const k of ['client-kubelet.key', 'serving-kubelet.key']) if (!exists(path.join(tls, k))) makeKey(path.join(tls, k));
  // dynamiclistener: the supervisor/apiserver listener certificate cached as a
  // kubernetes.io/tls Secret in server/tls/dynamic-cert.json, regenerated when
  // missing, when server/tls/dynamic-cert-regenerate exists (written by
  // `certificate rotate`), or when it expires within 90 days.
  const dyn = path.join(tls, 'dynamic-cert.json');
  const regen = path.join(tls, 'dynamic-cert-regenerate');
  let dynOld;
  try { dynOld = JSON.parse(fs.readFileSync(dyn, 'utf8')); } catch { dynOld = undefined; }
  const dynCert = dynOld && new crypto.X509Certificate(Buffer.from(dynOld.data['tls.crt'], 'base64'));
  if (!dynOld || exists(regen) || new Date(dynCert.validTo).getTime() - Date.now() < RENEW_DAYS * DAY) {
    const tmp = fs.mkdtempSync(path.join(tls, '.dyn-'));
    makeLeaf(path.join(tmp, 'c'), path.join(tmp, 'k'), path.join(tls, 'server-ca.crt'), path.join(tls, 'server-ca.key'),
      { cn: 'dynamic', o: 'dynamic', eku: 'serverAuth', sans: ['DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:localhost', `DNS:${nodeName}`, 'IP:127.0.0.1'] });
    const secret = {
      apiVersion: 'v1', kind: 'Secret', type: 'kubernetes.io/tls',
      metadata: { name: `${PROGRAM}-serving`, namespace: 'kube-system', creationTimestamp: null },
      data: { 'tls.crt': fs.readFileSync(path.join(tmp, 'c')).toString('base64'), 'tls.key': fs.readFileSync(path.join(tmp, 'k')).toString('base64') },
    };
    fs.writeFileSync(dyn, JSON.stringify(secret), { mode: 0o600 });
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(regen, { force: true });
    renewed.push('dynamic-cert.json');
    // The kube-system/rke2-serving Secret follows the listener certificate
    // (dynamiclistener's Kubernetes storage); the datastore model keeps it.
    mkdirp(DATASTORE());
    fs.writeFileSync(path.join(DATASTORE(), `${PROGRAM}-serving.json`), JSON.stringify({ ...secret, data: { 'tls.crt': secret.data['tls.crt'] } }));
  }
  // A server runs an agent too: the agent directory's certificates.
  renewed.push(...rke2AgentCerts(dataDir, nodeName, tls));
  // /etc/rancher/rke2/rke2.yaml: the admin kubeconfig, written at every start.
  const kc = path.join(root, 'etc', 'rancher', PROGRAM, `${PROGRAM}.yaml`);
  mkdirp(path.dirname(kc));
  fs.writeFileSync(kc, kubeconfigText('https://127.0.0.1:6443', fs.readFileSync(path.join(tls, 'server-ca.crt'), 'utf8'),
    fs.readFileSync(path.join(tls, 'client-admin.crt'), 'utf8'), fs.readFileSync(path.join(tls, 'client-admin.key'), 'utf8'), 'default'), { mode: 0o600 });
  fs.rmSync(path.join(dataDir, 'force-restart'), { force: true });
  return renewed;
}

/**
 * The agent's certificates (k3s pkg/agent/config): client-kubelet and
 * serving-kubelet are issued by the supervisor for this node; client-kube-proxy
 * and client-rke2-controller are the server's copies. A server node reads its
 * own server/tls; an agent reads the datastore's CA and a server's copies.
 */
function rke2AgentCerts(dataDir, nodeName, serverTls) {
  const agent = path.join(dataDir, 'agent');
  mkdirp(agent);
  const ca = serverTls || DATASTORE();
  if (!exists(path.join(ca, 'client-ca.crt'))) throw new Error(`rke2-agent: cannot reach a server to fetch certificates (no cluster CA at ${ca})`);
  fs.copyFileSync(path.join(ca, 'client-ca.crt'), path.join(agent, 'client-ca.crt'));
  fs.copyFileSync(path.join(ca, 'server-ca.crt'), path.join(agent, 'server-ca.crt'));
  const renewed = [];
  const issue = (name, spec, caName) => {
    const crt = path.join(agent, `${name}.crt`);
    const key = path.join(agent, `${name}.key`);
    if (needsLeaf(crt, key, path.join(ca, `${caName}.crt`))) {
      makeLeaf(crt, key, path.join(ca, `${caName}.crt`), path.join(ca, `${caName}.key`), spec);
      renewed.push(`agent/${name}`);
    }
  };
  issue('client-kubelet', { cn: `system:node:${nodeName}`, o: 'system:nodes' }, 'client-ca');
  issue('serving-kubelet', { cn: nodeName, eku: 'serverAuth', sans: [`DNS:${nodeName}`, 'DNS:localhost', 'IP:127.0.0.1'] }, 'server-ca');
  const src = serverTls || firstServerTls();
  for (const name of ['client-kube-proxy', `client-${PROGRAM}-controller`]) {
    const from = path.join(src, `${name}.crt`);
    const to = path.join(agent, `${name}.crt`);
    if (!exists(to) || !exists(path.join(agent, `${name}.key`)) || !fs.readFileSync(from).equals(fs.readFileSync(to))) {
      fs.copyFileSync(from, to);
      fs.copyFileSync(path.join(src, `${name}.key`), path.join(agent, `${name}.key`));
      renewed.push(`agent/${name}`);
    }
  }
  return renewed;
}

/** An agent joins through a server: the first running server node's tls dir. */
function firstServerTls() {
  const nodes = path.join(TESTBED_DIR, 'nodes');
  for (const n of fs.readdirSync(nodes).filter((d) => d.startsWith('node-')).sort((a, b) => Number(a.slice(5)) - Number(b.slice(5)))) {
    const root = path.join(nodes, n, 'root');
    if (unitInstalled(`${PROGRAM}-server`, root) && unitState(`${PROGRAM}-server`, root) === 'active') {
      const tls = path.join(rke2DataDir(undefined, root), 'server', 'tls');
      if (exists(path.join(tls, 'client-kube-proxy.crt'))) return tls;
    }
  }
  throw new Error('rke2-agent: no rke2-server is running to join (every server node is stopped)');
}

function rke2(args) {
  if (args[0] === 'certificate' || args[0] === 'cert') return rke2Certificate(args.slice(1));
  if (args[0] === '--version' || args[0] === '-v') { process.stdout.write('rke2 version v1.27.10+rke2r1 (test-bed stand-in)\n'); return; }
  fail(`rke2 stand-in: only "certificate rotate" is modelled, not: rke2 ${args.join(' ')}`);
}

function rke2Certificate(args) {
  if (args[0] !== 'rotate') fail(`rke2 stand-in: only "certificate rotate" is modelled, not: certificate ${args.join(' ')}`);
  let dataDirFlag;
  const services = [];
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    const value = () => { if (i + 1 >= args.length) fail(`flag needs an argument: ${a}`); return args[++i]; };
    if (a === '--service' || a === '-s') services.push(...value().split(',').filter(Boolean));
    else if (a.startsWith('--service=')) services.push(...a.slice(10).split(',').filter(Boolean));
    else if (a === '--data-dir' || a === '-d') dataDirFlag = value();
    else if (a.startsWith('--data-dir=')) dataDirFlag = a.slice(11);
    else if (a === '--debug') { /* accepted */ }
    else fail(`Incorrect Usage: flag provided but not defined: ${a}`);
  }
  const dataDir = rke2DataDir(dataDirFlag);
  const serverDir = path.join(dataDir, 'server');
  for (const s of services) {
    if (![...RKE2_SERVER_SERVICES, ...RKE2_AGENT_SERVICES].includes(s)) fail(`FATA[0000] service ${s} is not recognized`);
  }
  // pkg/cli/cmds/cert.go (rke2): writes <data-dir>/force-restart first.
  if (!exists(dataDir)) fail(`FATA[0000] open ${path.join(dataDir, 'force-restart')}: no such file or directory`);
  fs.writeFileSync(path.join(dataDir, 'force-restart'), '', { mode: 0o600 });
  let list = services;
  if (list.length === 0) {
    if (exists(serverDir)) { info('Server detected, rotating server certificates'); list = [...RKE2_SERVER_SERVICES, ...RKE2_AGENT_SERVICES]; } else { info('Agent detected, rotating agent certificates'); list = RKE2_AGENT_SERVICES; }
  }
  // Rotating while the service runs: the real command does not refuse; the
  // restart that follows then fails on missing files, once (k3s-io/k3s#11347).
  for (const unit of [`${PROGRAM}-server`, `${PROGRAM}-agent`]) {
    if (unitState(unit) === 'active') fs.writeFileSync(stateFile(unit) + '.rotated-while-running', '');
  }
  // backupCertificates: copy server/tls to server/tls-<unix> (agent: agent/tls-<unix>), plus the agent files.
  const backupName = `tls-${Math.floor(Date.now() / 1000)}`;
  const agentDir = path.join(dataDir, 'agent');
  let backup = path.join(agentDir, backupName);
  if (exists(path.join(serverDir, 'tls'))) {
    backup = path.join(serverDir, backupName);
    copyTree(path.join(serverDir, 'tls'), backup);
  }
  mkdirp(backup);
  const fileMap = list.map((s) => [s, rke2ServiceFiles(dataDir, s)]);
  for (const [, files] of fileMap) for (const f of files) if (f.startsWith(agentDir) && exists(f)) fs.copyFileSync(f, path.join(backup, path.basename(f)));
  if (list.includes(`${PROGRAM}-server`)) {
    fs.writeFileSync(path.join(serverDir, 'tls', 'dynamic-cert-regenerate'), '', { mode: 0o600 });
    info('Rotating dynamic listener certificate');
  }
  for (const [s, files] of fileMap) {
    info(`Rotating certificates for ${s} service`);
    for (const f of files) fs.rmSync(f, { force: true });
  }
  info(`Successfully backed up certificates for all services to path ${backup}, please restart ${PROGRAM} server or agent to rotate certificates`);
}

// ------------------------------------------------------------------ systemctl

function systemctl(args) {
  const verb = args[0];
  const units = args.slice(1).filter((a) => !a.startsWith('-')).map(unitName);
  if (verb === 'is-active') {
    const st = units.map((u) => unitState(u));
    process.stdout.write(st.join('\n') + '\n');
    process.exit(st.every((s) => s === 'active') ? 0 : 3);
  }
  if (!['start', 'stop', 'restart'].includes(verb)) fail(`systemctl stand-in: ${verb} is not modelled`);
  for (const unit of units) {
    if (!unitInstalled(unit)) fail(`Failed to ${verb} ${unit}.service: Unit ${unit}.service not found.`, 5);
    if (verb === 'stop') {
      if (unit === `${PROGRAM}-server` && !exists(stateFile(unit) + '.stale-api')) stopApiListener();
      setUnitState(unit, 'inactive');
      continue;
    }
    if (verb === 'start' && unitState(unit) === 'active') continue; // already running: systemd does nothing
    // Test-bed fault: the API keeps serving the certificate it had (a listener that did not restart).
    const staleApi = exists(stateFile(unit) + '.stale-api');
    if (unit === `${PROGRAM}-server` && !staleApi) stopApiListener(); // a (re)start stops the old process first
    const flag = stateFile(unit) + '.rotated-while-running';
    if (exists(flag)) {
      fs.rmSync(flag);
      setUnitState(unit, 'failed');
      fail(`Job for ${unit}.service failed because the control process exited with error code.\nSee "systemctl status ${unit}.service" and "journalctl -xeu ${unit}.service" for details.`);
    }
    if (exists(stateFile(unit) + '.fail-start')) {
      // Test-bed fault: the unit starts but the node never becomes Ready.
      setUnitState(unit, 'failed');
      continue;
    }
    try {
      if (unit === `${PROGRAM}-server`) {
        rke2ServerStart(ROOT, rke2DataDir(), NODE);
        if (!staleApi) startApiListener(rke2DataDir());
      } else if (unit === `${PROGRAM}-agent`) rke2AgentCerts(rke2DataDir(), NODE);
    } catch (e) {
      setUnitState(unit, 'failed');
      fail(`Job for ${unit}.service failed: ${e.message}`);
    }
    setUnitState(unit, 'active');
  }
}

// ------------------------------------------------------- the API's listener
// RKE2's kube-apiserver serves <data-dir>/server/tls/serving-kube-apiserver.crt
// (with its key) on 6443, loaded when rke2-server starts
// (https://docs.rke2.io/security/certificates lists the file). The stand-in
// server node answers TLS on the port in <root>/run/rke2-apiserver.port (given
// at `up`: the nodes share the host's loopback) with the files as they were at
// the unit's last start; it stops with the unit.

function apiPortFile(root = ROOT) { return path.join(root, 'run', `${PROGRAM}-apiserver.port`); }
function apiPidFile(node = NODE) { return path.join(TESTBED_DIR, 'pids', `standin-apiserver-${node}.pid`); }

function stopApiListener() {
  const f = apiPidFile();
  if (!exists(f)) return;
  const pid = Number(fs.readFileSync(f, 'utf8'));
  try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
  fs.rmSync(f, { force: true });
}

function startApiListener(dataDir) {
  stopApiListener();
  if (!exists(apiPortFile())) return; // a node laid out without a port: no listener
  const tls = path.join(dataDir, 'server', 'tls');
  const child = require('child_process').spawn(process.execPath, [__filename, 'testbed-apiserver', fs.readFileSync(apiPortFile(), 'utf8').trim(),
    path.join(tls, 'serving-kube-apiserver.crt'), path.join(tls, 'serving-kube-apiserver.key')], { detached: true, stdio: 'ignore' });
  child.unref();
  mkdirp(path.dirname(apiPidFile()));
  fs.writeFileSync(apiPidFile(), String(child.pid));
  // Serving once the port answers (a real restart has the same gap).
  const deadline = Date.now() + 10000;
  for (;;) {
    try {
      execFileSync('openssl', ['s_client', '-connect', `127.0.0.1:${fs.readFileSync(apiPortFile(), 'utf8').trim()}`], { input: '', stdio: ['pipe', 'ignore', 'ignore'], timeout: 3000 });
      return;
    } catch {
      if (Date.now() > deadline) return;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 100);
    }
  }
}

/** testbed-apiserver PORT CERT KEY: the listener itself (certificate and key read once, at start). */
function apiserver(port, cert, key) {
  require('https').createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, (req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
  }).listen(Number(port), '127.0.0.1');
}

// -------------------------------------------------------------------- kubectl
// Only what the node steps use: a node's Ready condition (Ready while its rke2
// unit is active) and deleting the rke2-serving Secret (the datastore model).

function kubectl(args) {
  const rest = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (['--kubeconfig', '-n', '--namespace', '-o', '--output', '--request-timeout'].includes(a)) { if (a === '-o' || a === '--output') rest.push('-o', args[i + 1]); i++; continue; }
    if (a.startsWith('--kubeconfig=') || a.startsWith('--namespace=') || a === '--insecure-skip-tls-verify' || a.startsWith('--insecure-skip-tls-verify=') || a.startsWith('--request-timeout=')) continue;
    rest.push(a);
  }
  if (rest[0] === 'get' && (rest[1] === 'node' || rest[1] === 'nodes') && rest[2]) {
    const root = path.join(TESTBED_DIR, 'nodes', rest[2], 'root');
    if (!exists(root)) fail(`Error from server (NotFound): nodes "${rest[2]}" not found`);
    const active = [`${PROGRAM}-server`, `${PROGRAM}-agent`].some((u) => unitInstalled(u, root) && unitState(u, root) === 'active');
    process.stdout.write(active ? 'True' : 'Unknown');
    return;
  }
  if (rest[0] === 'delete' && rest[1] === 'secret' && rest[2] === `${PROGRAM}-serving`) {
    const f = path.join(DATASTORE(), `${PROGRAM}-serving.json`);
    if (!exists(f)) {
      if (rest.includes('--ignore-not-found')) return;
      fail(`Error from server (NotFound): secrets "${PROGRAM}-serving" not found`);
    }
    fs.rmSync(f);
    process.stdout.write(`secret "${PROGRAM}-serving" deleted\n`);
    return;
  }
  fail(`kubectl stand-in: not modelled: kubectl ${args.join(' ')}`);
}

// ------------------------------------------------------------------ RKE model
// File names: rancher/rke pki/constants.go and pki/util.go (GetCrtNameForHost…):
// /etc/kubernetes/ssl/<name>.pem and <name>-key.pem, kubecfg-<name>.yaml.

const RKE_SSL = '/etc/kubernetes/ssl';
function rkeCertsForRoles(roles, address) {
  const etcd = `kube-etcd-${address.replace(/[.:]/g, '-')}`;
  const certs = ['kube-ca', 'kube-node', 'kube-proxy'];
  if (roles.includes('controlplane')) certs.push('kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kube-apiserver-proxy-client', 'kube-apiserver-requestheader-ca', 'kube-service-account-token');
  if (roles.includes('etcd')) certs.push(etcd);
  return certs;
}
const RKE_SPEC = {
  'kube-apiserver': { cn: 'kube-apiserver', eku: 'serverAuth,clientAuth', sans: ['DNS:kubernetes', 'DNS:kubernetes.default', 'DNS:kubernetes.default.svc', 'DNS:kubernetes.default.svc.cluster.local', 'DNS:localhost', 'IP:127.0.0.1', 'IP:10.43.0.1'] },
  'kube-controller-manager': { cn: 'system:kube-controller-manager' },
  'kube-scheduler': { cn: 'system:kube-scheduler' },
  'kube-proxy': { cn: 'system:kube-proxy' },
  'kube-node': { cn: 'system:node', o: 'system:nodes' },
  'kube-admin': { cn: 'kube-admin', o: 'system:masters' },
  'kube-apiserver-proxy-client': { cn: 'system:kube-apiserver-proxy-client', ca: 'kube-apiserver-requestheader-ca' },
};
/** Which certificates `rke cert rotate --service S` regenerates (rke cluster/certificates.go RotateRKECertificates). */
const RKE_SERVICE_CERTS = {
  etcd: (n) => n.startsWith('kube-etcd-'),
  kubelet: (n) => n === 'kube-node',
  'kube-apiserver': (n) => n === 'kube-apiserver',
  'kube-proxy': (n) => n === 'kube-proxy',
  'kube-scheduler': (n) => n === 'kube-scheduler',
  'kube-controller-manager': (n) => n === 'kube-controller-manager',
};

/** The nodes of a cluster.yml written by the test bed (flat list of address/port/role/hostname_override). */
function readClusterYml(file) {
  const nodes = [];
  let cur;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    let m;
    if ((m = /^\s*-\s+address:\s*(\S+)/.exec(line))) { cur = { address: m[1], role: [] }; nodes.push(cur); continue; }
    if (!cur) continue;
    if ((m = /^\s+hostname_override:\s*(\S+)/.exec(line))) cur.hostname = m[1];
    else if ((m = /^\s+role:\s*\[(.*)\]/.exec(line))) cur.role = m[1].split(',').map((s) => s.trim()).filter(Boolean);
    else if ((m = /^\s+port:\s*"?(\d+)"?/.exec(line))) cur.port = m[1];
    else if (/^\S/.test(line)) cur = undefined;
  }
  return nodes;
}

/** Writes a certificate bundle entry to PEM files in dir. */
function rkeWritePem(dir, name, entry) {
  mkdirp(dir);
  fs.writeFileSync(path.join(dir, `${name}.pem`), entry.certificatePEM);
  if (entry.keyPEM) fs.writeFileSync(path.join(dir, `${name}-key.pem`), entry.keyPEM, { mode: 0o600 });
}

function rkeIssue(bundle, name, tmp) {
  const spec = RKE_SPEC[name] || (name.startsWith('kube-etcd-') ? { cn: name, eku: 'serverAuth,clientAuth', sans: ['DNS:localhost', 'IP:127.0.0.1'] } : undefined);
  if (name === 'kube-service-account-token') {
    makeKey(path.join(tmp, 'k'));
    // RKE keeps the service-account key pair as a certificate entry too; only the key matters.
    const c = bundle['kube-service-account-token'];
    return { ...(c || {}), keyPEM: fs.readFileSync(path.join(tmp, 'k'), 'utf8'), certificatePEM: c ? c.certificatePEM : '' };
  }
  if (!spec) throw new Error(`no certificate spec for ${name}`);
  const caName = spec.ca || 'kube-ca';
  fs.writeFileSync(path.join(tmp, 'ca.crt'), bundle[caName].certificatePEM);
  fs.writeFileSync(path.join(tmp, 'ca.key'), bundle[caName].keyPEM, { mode: 0o600 });
  makeLeaf(path.join(tmp, 'c'), path.join(tmp, 'k'), path.join(tmp, 'ca.crt'), path.join(tmp, 'ca.key'), spec);
  return { certificatePEM: fs.readFileSync(path.join(tmp, 'c'), 'utf8'), keyPEM: fs.readFileSync(path.join(tmp, 'k'), 'utf8'), path: `${RKE_SSL}/${name}.pem`, keyPath: `${RKE_SSL}/${name}-key.pem` };
}

function rkeCA(name, tmp) {
  makeCA(path.join(tmp, 'ca.crt'), path.join(tmp, 'ca.key'), name === 'kube-ca' ? 'kube-ca' : 'kube-apiserver-requestheader-ca');
  return { certificatePEM: fs.readFileSync(path.join(tmp, 'ca.crt'), 'utf8'), keyPEM: fs.readFileSync(path.join(tmp, 'ca.key'), 'utf8'), path: `${RKE_SSL}/${name}.pem`, keyPath: `${RKE_SSL}/${name}-key.pem` };
}

/** Deploys the bundle to every node's /etc/kubernetes/ssl (in its root) per role, with kubecfg files. */
function rkeDeploy(nodes, bundle) {
  for (const n of nodes) {
    const root = path.join(TESTBED_DIR, 'nodes', n.hostname, 'root');
    const ssl = path.join(root, RKE_SSL);
    for (const name of rkeCertsForRoles(n.role, n.address === '127.0.0.1' ? n.hostname : n.address)) {
      const entry = bundle[name];
      if (!entry) continue;
      rkeWritePem(ssl, name, name === 'kube-ca' || name === 'kube-apiserver-requestheader-ca' ? { certificatePEM: entry.certificatePEM } : entry);
      if (!['kube-ca', 'kube-apiserver-requestheader-ca', 'kube-service-account-token', 'kube-apiserver-proxy-client'].includes(name) && !name.startsWith('kube-etcd-')) {
        fs.writeFileSync(path.join(ssl, `kubecfg-${name}.yaml`), `apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n    api-version: v1\n    certificate-authority: ${RKE_SSL}/kube-ca.pem\n    server: "https://127.0.0.1:6443"\n  name: "local"\ncontexts:\n- context:\n    cluster: "local"\n    user: "${name}-local"\n  name: "local"\ncurrent-context: "local"\nusers:\n- name: "${name}-local"\n  user:\n    client-certificate: ${RKE_SSL}/${name}.pem\n    client-key: ${RKE_SSL}/${name}-key.pem\n`);
      }
    }
  }
}

function rkeNames(nodes) {
  const names = new Set(['kube-ca', 'kube-apiserver-requestheader-ca', 'kube-admin']);
  for (const n of nodes) for (const c of rkeCertsForRoles(n.role, n.address === '127.0.0.1' ? n.hostname : n.address)) names.add(c);
  return [...names];
}

function rke(args) {
  let config = 'cluster.yml';
  let rotateCA = false;
  const services = [];
  const sub = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--config') config = args[++i];
    else if (a.startsWith('--config=')) config = a.slice(9);
    else if (a === '--service') services.push(args[++i]);
    else if (a.startsWith('--service=')) services.push(a.slice(10));
    else if (a === '--rotate-ca') rotateCA = true;
    else if (a.startsWith('-')) fail(`Incorrect Usage: flag provided but not defined: ${a}`);
    else sub.push(a);
  }
  if (sub[0] === '--version' || sub[0] === 'version') { process.stdout.write('rke version v1.5.10 (test-bed stand-in)\n'); return; }
  const cfg = path.resolve(config);
  if (!exists(cfg)) fail(`FATA[0000] Failed to resolve cluster file: open ${cfg}: no such file or directory`);
  const statePath = cfg.replace(/\.ya?ml$/, '') + '.rkestate';
  const nodes = readClusterYml(cfg);
  const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'rke-standin-'));
  try {
    if (sub[0] === 'up') {
      info('Building Kubernetes cluster');
      // `rke up` (v0.2.0+) writes the full state file; a cluster from before
      // v0.2.0 has none, so `up` reads the certificates from the nodes.
      let state = exists(statePath) ? JSON.parse(fs.readFileSync(statePath, 'utf8')) : undefined;
      if (!state) {
        const bundle = {};
        const first = path.join(TESTBED_DIR, 'nodes', nodes[0].hostname, 'root', RKE_SSL);
        for (const f of fs.readdirSync(first).filter((x) => x.endsWith('.pem') && !x.endsWith('-key.pem'))) {
          const name = f.slice(0, -4);
          const key = path.join(first, `${name}-key.pem`);
          bundle[name] = { certificatePEM: fs.readFileSync(path.join(first, f), 'utf8'), keyPEM: exists(key) ? fs.readFileSync(key, 'utf8') : undefined };
        }
        if (!bundle['kube-ca'] || !bundle['kube-ca'].keyPEM) fail('FATA[0000] [certificates] Failed to find CA certificate and key on the nodes');
        state = { desiredState: { certificatesBundle: bundle }, currentState: { certificatesBundle: bundle } };
      }
      fs.writeFileSync(statePath, JSON.stringify(state, null, 2), { mode: 0o600 });
      info(`Successfully Deployed state file at [${statePath}]`);
      info('Finished building Kubernetes cluster successfully');
      return;
    }
    if (sub[0] !== 'cert' || sub[1] !== 'rotate') fail(`rke stand-in: only "up" and "cert rotate" are modelled, not: rke ${args.join(' ')}`);
    for (const s of services) if (!RKE_SERVICE_CERTS[s]) fail(`FATA[0000] Failed to rotate certificates: service ${s} is not valid; valid services: ${Object.keys(RKE_SERVICE_CERTS).join(', ')}`);
    if (rotateCA && services.length) fail('FATA[0000] Failed to rotate certificates: --rotate-ca cannot be used with --service');
    if (!exists(statePath)) fail(`FATA[0000] Failed to rotate certificates: no state file found at [${statePath}]; clusters created before RKE v0.2.0 need "rke up" first`);
    const state = JSON.parse(fs.readFileSync(statePath, 'utf8'));
    const bundle = state.currentState.certificatesBundle;
    info('Initiating Kubernetes cluster');
    info('Rotating Kubernetes cluster certificates');
    if (rotateCA) {
      info('[certificates] Generating CA kubernetes certificates');
      bundle['kube-ca'] = rkeCA('kube-ca', tmp);
      info('[certificates] Generating Kubernetes API server aggregation layer requestheader client CA certificates');
      bundle['kube-apiserver-requestheader-ca'] = rkeCA('kube-apiserver-requestheader-ca', tmp);
    }
    for (const name of rkeNames(nodes)) {
      if (name === 'kube-ca' || name === 'kube-apiserver-requestheader-ca') continue;
      if (name === 'kube-service-account-token' && !rotateCA) continue;
      if (services.length && !services.some((s) => RKE_SERVICE_CERTS[s](name))) continue;
      info(`[certificates] Generating ${name} certificate and key`);
      bundle[name] = rkeIssue(bundle, name, tmp);
    }
    state.desiredState = { ...(state.desiredState || {}), certificatesBundle: bundle };
    fs.writeFileSync(statePath, JSON.stringify(state, null, 2), { mode: 0o600 });
    info(`Successfully Deployed state file at [${statePath}]`);
    info('Rebuilding Kubernetes cluster with rotated certificates');
    rkeDeploy(nodes, bundle);
    info('[controlplane] Successfully restarted Controller Plane..');
    info('[worker] Successfully restarted Worker Plane..');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** At `up`: a fresh RKE cluster (cluster.yml + cluster.rkestate on node-1, /etc/kubernetes/ssl on all). */
function initRke(nodeCount, ports) {
  const nodes = [];
  for (let i = 1; i <= nodeCount; i++) {
    nodes.push({ address: '127.0.0.1', port: ports[i - 1], hostname: `node-${i}`, role: i === 1 || nodeCount < 3 || i <= 3 ? ['controlplane', 'etcd', 'worker'] : ['worker'] });
  }
  const cli = path.join(TESTBED_DIR, 'nodes', 'node-1', 'root', 'root', 'rke');
  mkdirp(cli);
  const yml = ['# Written by the test bed: the RKE cluster of the stand-in nodes (https://rke.docs.rancher.com/config-options/nodes)', 'nodes:'];
  for (const n of nodes) yml.push(`  - address: ${n.address}`, `    port: "${n.port}"`, '    user: root', `    hostname_override: ${n.hostname}`, `    role: [${n.role.join(', ')}]`);
  yml.push('ssh_key_path: ~/.ssh/id_ed25519', '');
  fs.writeFileSync(path.join(cli, 'cluster.yml'), yml.join('\n'));
  const tmp = fs.mkdtempSync(path.join(require('os').tmpdir(), 'rke-standin-'));
  try {
    const bundle = { 'kube-ca': rkeCA('kube-ca', tmp), 'kube-apiserver-requestheader-ca': rkeCA('kube-apiserver-requestheader-ca', tmp) };
    bundle['kube-service-account-token'] = rkeIssue(bundle, 'kube-service-account-token', tmp);
    for (const name of rkeNames(nodes)) if (!bundle[name]) bundle[name] = rkeIssue(bundle, name, tmp);
    const state = { desiredState: { certificatesBundle: bundle }, currentState: { certificatesBundle: bundle } };
    fs.writeFileSync(path.join(cli, 'cluster.rkestate'), JSON.stringify(state, null, 2), { mode: 0o600 });
    rkeDeploy(nodes, bundle);
    fs.writeFileSync(path.join(cli, 'kube_config_cluster.yml'), kubeconfigText('https://127.0.0.1:6443', bundle['kube-ca'].certificatePEM, bundle['kube-admin'].certificatePEM, bundle['kube-admin'].keyPEM, 'local'), { mode: 0o600 });
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// ------------------------------------------------------ single-container Rancher
// `docker` stand-in for one Rancher container per node:
// <root>/var/lib/docker-standin/<name>/{version,rootfs/...,state}. The files
// per Rancher version, and that a restart regenerates what was moved aside:
// https://ranchermanager.docs.rancher.com (single-node certificate expiry) and
// the Rancher 2.x Chinese docs ("独立容器 Rancher Server 证书更新").

function dockerDir() { return path.join(ROOT, 'var', 'lib', 'docker-standin'); }
function containerDir(id) {
  const d = path.join(dockerDir(), id);
  if (!exists(d)) fail(`Error response from daemon: No such container: ${id}`);
  return d;
}
function rancherMinor(version) {
  const m = /^v?2\.(\d+)\./.exec(version);
  return m ? Number(m[1]) : 99;
}
/** Files that hold the Rancher server certificate, per version (inside the container). */
function rancherCertFiles(version) {
  const minor = rancherMinor(version);
  if (minor <= 1) return ['/var/lib/rancher/management-state/certs/bundle.json'];
  if (minor === 2) return ['/var/lib/rancher/management-state/tls/localhost.crt', '/var/lib/rancher/management-state/tls/localhost.key'];
  return ['/var/lib/rancher/k3s/server/tls/serving-kube-apiserver.crt', '/var/lib/rancher/k3s/server/tls/client-ca.crt'];
}

/** What a Rancher container does to its files when it (re)starts. */
function rancherStart(dir) {
  const version = fs.readFileSync(path.join(dir, 'version'), 'utf8').trim();
  const fsRoot = path.join(dir, 'rootfs');
  const minor = rancherMinor(version);
  const state = path.join(dir, 'state.json');
  const st = exists(state) ? JSON.parse(fs.readFileSync(state, 'utf8')) : { restarts: 0 };
  st.restarts += 1;
  const ca = path.join(dir, 'ca');
  if (!exists(path.join(ca, 'ca.crt'))) makeCA(path.join(ca, 'ca.crt'), path.join(ca, 'ca.key'), 'dynamiclistener-ca');
  const serving = { cn: 'rancher', o: 'dynamiclistener-org', eku: 'serverAuth', sans: ['DNS:localhost', 'IP:127.0.0.1'] };
  if (minor <= 1) {
    const f = path.join(fsRoot, 'var/lib/rancher/management-state/certs/bundle.json');
    if (!exists(f)) {
      const tmp = fs.mkdtempSync(path.join(dir, '.t-'));
      makeLeaf(path.join(tmp, 'c'), path.join(tmp, 'k'), path.join(ca, 'ca.crt'), path.join(ca, 'ca.key'), serving);
      mkdirp(path.dirname(f));
      fs.writeFileSync(f, JSON.stringify({ certPEM: fs.readFileSync(path.join(tmp, 'c'), 'utf8'), keyPEM: fs.readFileSync(path.join(tmp, 'k'), 'utf8') }), { mode: 0o600 });
      fs.rmSync(tmp, { recursive: true });
    }
  } else if (minor === 2) {
    const c = path.join(fsRoot, 'var/lib/rancher/management-state/tls/localhost.crt');
    if (!exists(c)) makeLeaf(c, c.replace(/\.crt$/, '.key'), path.join(ca, 'ca.crt'), path.join(ca, 'ca.key'), serving);
  } else {
    // 2.3+: the embedded k3s. A missing tls directory is made on this start
    // (new certificates); the listener loads them only on the next start, hence
    // the document's two restarts.
    const tls = path.join(fsRoot, 'var/lib/rancher/k3s/server/tls');
    if (!exists(tls)) {
      makeCA(path.join(tls, 'client-ca.crt'), path.join(tls, 'client-ca.key'), `k3s-client-ca@${Math.floor(Date.now() / 1000)}`);
      makeCA(path.join(tls, 'server-ca.crt'), path.join(tls, 'server-ca.key'), `k3s-server-ca@${Math.floor(Date.now() / 1000)}`);
      makeLeaf(path.join(tls, 'serving-kube-apiserver.crt'), path.join(tls, 'serving-kube-apiserver.key'), path.join(tls, 'server-ca.crt'), path.join(tls, 'server-ca.key'), { cn: 'kube-apiserver', eku: 'serverAuth', sans: ['DNS:localhost', 'IP:127.0.0.1'] });
      makeLeaf(path.join(tls, 'client-admin.crt'), path.join(tls, 'client-admin.key'), path.join(tls, 'client-ca.crt'), path.join(tls, 'client-ca.key'), { cn: 'system:admin', o: 'system:masters' });
      st.loaded = false;
    } else {
      st.loaded = true;
    }
  }
  fs.writeFileSync(state, JSON.stringify(st));
}

function docker(args) {
  const cmd = args[0];
  if (cmd === 'restart' || cmd === 'start') {
    for (const id of args.slice(1).filter((a) => !a.startsWith('-'))) { rancherStart(containerDir(id)); process.stdout.write(id + '\n'); }
    return;
  }
  if (cmd === 'exec') {
    let i = 1;
    while (i < args.length && args[i].startsWith('-')) i++;
    const dir = containerDir(args[i]);
    const inner = args.slice(i + 1);
    const fsRoot = path.join(dir, 'rootfs');
    const inside = (p) => path.join(fsRoot, p);
    if (inner[0] === 'mv' && inner.length === 3) {
      if (!exists(inside(inner[1]))) fail(`mv: cannot stat '${inner[1]}': No such file or directory`);
      fs.renameSync(inside(inner[1]), inside(inner[2]));
      return;
    }
    if (inner[0] === 'test' && ['-e', '-s', '-d'].includes(inner[1]) && inner.length === 3) {
      const p = inside(inner[2]);
      const ok = inner[1] === '-d' ? exists(p) && fs.statSync(p).isDirectory() : inner[1] === '-s' ? exists(p) && fs.statSync(p).size > 0 : exists(p);
      process.exit(ok ? 0 : 1);
    }
    if (inner[0] === 'cat' && inner.length === 2) { process.stdout.write(fs.readFileSync(inside(inner[1]))); return; }
    if (inner[0] === 'ls') { process.stdout.write(fs.readdirSync(inside(inner[1] || '/')).join('\n') + '\n'); return; }
    fail(`docker stand-in: not modelled inside the container: ${inner.join(' ')}`);
  }
  if (cmd === 'inspect') {
    const dir = containerDir(args[args.length - 1]);
    process.stdout.write(JSON.stringify([{ Name: args[args.length - 1], Config: { Image: `rancher/rancher:${fs.readFileSync(path.join(dir, 'version'), 'utf8').trim()}` }, State: JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')) }]) + '\n');
    return;
  }
  fail(`docker stand-in: not modelled: docker ${args.join(' ')}`);
}

/** At `up`: Rancher containers rancher-2.1, rancher-2.2, rancher-2.8 on this node. */
function initDocker(root, versions) {
  for (const v of versions) {
    const dir = path.join(root, 'var', 'lib', 'docker-standin', `rancher-${v.replace(/^v?(\d+\.\d+).*/, '$1')}`);
    mkdirp(path.join(dir, 'rootfs'));
    fs.writeFileSync(path.join(dir, 'version'), v + '\n');
    rancherStart(dir);
  }
}

// ---------------------------------------------------------------- test-bed init

/** testbed-init-rke2 ROLE [API_PORT]: this node's RKE2 layout (server: server/tls, agent/, rke2.yaml, the API's listener; agent: agent/). */
function initRke2(role, apiPort) {
  if (role === 'server' && apiPort) {
    mkdirp(path.dirname(apiPortFile()));
    fs.writeFileSync(apiPortFile(), String(apiPort));
  }
  const dataDir = path.join(ROOT, 'var', 'lib', 'rancher', PROGRAM);
  mkdirp(path.join(ROOT, 'etc', 'rancher', PROGRAM));
  fs.writeFileSync(path.join(ROOT, 'etc', 'rancher', PROGRAM, 'config.yaml'), `# rke2 config file (https://docs.rke2.io/install/configuration); data-dir points into the stand-in node's root\ndata-dir: ${dataDir}\n`);
  mkdirp(path.join(ROOT, 'etc', 'systemd', 'system'));
  const unit = `${PROGRAM}-${role}`;
  fs.writeFileSync(path.join(ROOT, 'etc', 'systemd', 'system', `${unit}.service`), `[Unit]\nDescription=Rancher Kubernetes Engine v2 (${role}) — test-bed stand-in\n`);
  mkdirp(path.join(dataDir, 'bin'));
  // RKE2 ships kubectl in <data-dir>/bin (https://docs.rke2.io/cluster_access).
  const kubectlLink = path.join(dataDir, 'bin', 'kubectl');
  if (!exists(kubectlLink)) fs.symlinkSync(path.join(TESTBED_DIR, 'node-bin', 'kubectl'), kubectlLink);
  if (role === 'server') {
    rke2ServerStart(ROOT, dataDir, NODE);
    startApiListener(dataDir);
  } else rke2AgentCerts(dataDir, NODE);
  setUnitState(unit, 'active');
}

const [cmd, ...rest] = process.argv.slice(2);
try {
  switch (cmd) {
    case 'rke2': rke2(rest); break;
    case 'systemctl': systemctl(rest); break;
    case 'kubectl': kubectl(rest); break;
    case 'rke': rke(rest); break;
    case 'docker': docker(rest); break;
    case 'testbed-init-rke2': initRke2(rest[0], rest[1]); break;
    case 'testbed-apiserver': apiserver(rest[0], rest[1], rest[2]); break;
    case 'testbed-init-rke': initRke(Number(rest[0]), rest.slice(1)); break;
    case 'testbed-init-docker': initDocker(ROOT, rest); break;
    default: fail(`standin.js: unknown command ${cmd}`);
  }
} catch (e) {
  fail(`${cmd} (test-bed stand-in) failed: ${e && e.stack ? e.stack : e}`);
}
