import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { stringify } from 'yaml';
import { ConfigError } from '../../../lib/config/config-error';
import { loadConfig } from '../../../lib/config/load-config';
import { generateCa } from '../../../lib/pki';
import { issueServerCertificate, makePrivateCa, opensslCertToDer, opensslEncryptedKey, removeDir, tempDir, writeRancherFiles } from '../../support/pki';

const NOW = new Date('2026-06-01T00:00:00Z');
const DAY = 86400_000;
const HOST = 'rancher.example.com';

// GIVEN a directory with valid tls.crt, tls.key and cacerts.pem and a config pointing at them,
// WHEN one thing is wrong, THEN loadConfig throws a ConfigError naming the
// config file, the field, the certificate file and a fix.
describe('loadConfig', () => {
  let dir: string;
  const ca = makePrivateCa('Unit', { now: NOW });

  beforeEach(() => {
    dir = tempDir('cfg-');
    writeRancherFiles(path.join(dir, 'certs'), ca, HOST, { now: NOW });
    fs.writeFileSync(path.join(dir, 'kubeconfig'), 'apiVersion: v1\nkind: Config\n');
  });
  afterEach(() => removeDir(dir));

  function config(
    overrides: Record<string, unknown> = {},
    certificate: Record<string, unknown> = {},
    downstream: Array<Record<string, unknown>> = [{ name: 'prod-eu', kubeconfig: 'kubeconfig', context: 'eu', distribution: 'rke2' }],
  ): string {
    const file = path.join(dir, 'cert-rotation.yaml');
    fs.writeFileSync(file, stringify({
      rancher: {
        kubeconfig: 'kubeconfig',
        hostname: HOST,
        certificate: { certFile: 'certs/tls.crt', keyFile: 'certs/tls.key', caFile: 'certs/cacerts.pem', ...certificate },
        ...overrides,
      },
      downstream,
    }));
    return file;
  }

  function expectConfigError(file: string, field: string, ...fragments: RegExp[]): ConfigError {
    let error: unknown;
    try {
      loadConfig(file, { now: NOW });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const ce = error as ConfigError;
    expect(ce.field).toBe(field);
    expect(ce.message).toContain(file);
    expect(ce.message).toMatch(/Fix: \S/);
    expect(ce.message.match(/Fix:/g)).toHaveLength(1);
    for (const f of fragments) expect(ce.message).toMatch(f);
    return ce;
  }

  test('a valid file resolves paths, privateCa and the CA checksum', () => {
    const c = loadConfig(config(), { now: NOW });
    expect(c.rancher!.kubeconfig).toBe(path.join(dir, 'kubeconfig'));
    expect(c.rancher!.privateCa).toBe(true);
    expect(c.rancher!.certificate.caBundle?.checksum).toMatch(/^[0-9a-f]{64}$/);
    expect(c.rancher!.certificate.chain.map((x) => x.subjectCommonName)).toEqual([HOST, 'Unit Intermediate CA']);
    expect(c.downstream).toEqual([{ name: 'prod-eu', kubeconfig: path.join(dir, 'kubeconfig'), context: 'eu', distribution: 'rke2', agents: 'checksum' }]);
    expect(c.rancher!.renewBefore).toBe(30 * DAY);
  });

  test('the defaults of the rotation settings: ingress TLS, tls-rancher-ingress, no gate settings, no Rancher version', () => {
    const c = loadConfig(config(), { now: NOW });
    expect(c.rancher!.tls).toBe('ingress');
    expect(c.rancher!.ingressSecretName).toBe('tls-rancher-ingress');
    expect(c.rancher!.gate).toEqual({ connectTo: undefined, timeoutSeconds: undefined });
    expect(c.rancher!.agentWaitSeconds).toBeUndefined();
    expect(c.rancher!.rancherVersion).toBeUndefined();
  });

  test('rancherVersion, tls, ingressSecretName, networkExposure: ingress, gate and agentWaitSeconds are read', () => {
    const c = loadConfig(
      config({
        rancherVersion: 'v2.12.1',
        tls: 'external',
        ingressSecretName: 'rancher-tls',
        networkExposure: 'ingress',
        gate: { connectTo: '10.0.0.5:443', timeoutSeconds: 900 },
        agentWaitSeconds: 120,
      }),
      { now: NOW },
    );
    expect(c.rancher).toMatchObject({
      rancherVersion: 'v2.12.1',
      tls: 'external',
      ingressSecretName: 'rancher-tls',
      gate: { connectTo: '10.0.0.5:443', timeoutSeconds: 900 },
      agentWaitSeconds: 120,
    });
    expect(loadConfig(config({ gate: { connectTo: '[fd00::5]:8443' } }), { now: NOW }).rancher!.gate.connectTo).toBe('[fd00::5]:8443');
  });

  test("the Rancher version defaults to the release's chart version", () => {
    const c = loadConfig(config({ release: { mode: 'external', chart: 'rancher-stable/rancher', version: '2.8.5' } }), { now: NOW });
    expect(c.rancher!.rancherVersion).toBe('2.8.5');
    const explicit = loadConfig(config({ rancherVersion: '2.9.2', release: { mode: 'external', chart: 'rancher-stable/rancher', version: '2.8.5' } }), { now: NOW });
    expect(explicit.rancher!.rancherVersion).toBe('2.9.2');
  });

  test('a version written as a YAML number is refused: 2.10 unquoted reads as 2.1', () => {
    const file = config({ rancherVersion: 'X' });
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('rancherVersion: X', 'rancherVersion: 2.10'));
    expectConfigError(file, 'rancher.rancherVersion', /'2.1' is a number in YAML, not a version/, /Fix: quote the full version, e.g. rancherVersion: '2.10.1'/);
    const release = config({ release: { mode: 'external', chart: 'rancher-stable/rancher', version: 2.1 } });
    expectConfigError(release, 'rancher.release.version', /'2.1' is a number in YAML/, /Fix: quote the full version, e.g. version: '2.10.1'/);
    // 2.8.5 is text in YAML even without quotes
    const dotted = config({ rancherVersion: 'X' });
    fs.writeFileSync(dotted, fs.readFileSync(dotted, 'utf8').replace('rancherVersion: X', 'rancherVersion: 2.10.1'));
    expect(loadConfig(dotted, { now: NOW }).rancher!.rancherVersion).toBe('2.10.1');
  });

  test('every distribution is read; a downstream cluster without one is an error naming the field and the choices', () => {
    const clusters = ['rke1', 'rke2', 'k3s', 'imported'].map((distribution, i) => ({ name: `c${i}`, kubeconfig: 'kubeconfig', distribution }));
    expect(loadConfig(config({}, {}, clusters), { now: NOW }).downstream.map((d) => d.distribution)).toEqual(['rke1', 'rke2', 'k3s', 'imported']);
    expectConfigError(
      config({}, {}, [{ name: 'prod-eu', kubeconfig: 'kubeconfig' }]),
      'downstream[0].distribution',
      /downstream\[0\]\.distribution: is missing/,
      /Fix: say how the cluster was made, one of rke1, rke2, k3s, imported/,
    );
    expectConfigError(
      config({}, {}, [{ name: 'prod-eu', kubeconfig: 'kubeconfig', distribution: 'rke1' }, { name: 'prod-us', kubeconfig: 'kubeconfig', distribution: 'eks' }]),
      'downstream[1].distribution',
      /'eks' is not one of rke1, rke2, k3s, imported/,
      /Fix: choose rke1 or rke2 or k3s or imported/,
    );
  });

  test('agents: redeploy (method 1) needs the cluster id; checksum is the default', () => {
    const read = loadConfig(
      config({}, {}, [
        { name: 'a', kubeconfig: 'kubeconfig', distribution: 'rke2', agents: 'redeploy', clusterId: 'c-m-abcd1234' },
        { name: 'b', kubeconfig: 'kubeconfig', distribution: 'rke1' },
      ]),
      { now: NOW },
    ).downstream;
    expect(read.map((d) => [d.agents, d.clusterId])).toEqual([['redeploy', 'c-m-abcd1234'], ['checksum', undefined]]);
    expectConfigError(
      config({}, {}, [{ name: 'a', kubeconfig: 'kubeconfig', distribution: 'rke2', agents: 'redeploy' }]),
      'downstream[0].clusterId',
      /downstream\[0\]\.clusterId: is missing: agents: redeploy asks Rancher to re-render/,
      /Fix: set it from kubectl get clusters\.management\.cattle\.io/,
    );
    expectConfigError(
      config({}, {}, [{ name: 'a', kubeconfig: 'kubeconfig', distribution: 'rke2', agents: 'restart' }]),
      'downstream[0].agents',
      /'restart' is not one of checksum, redeploy/,
      /Fix: choose checksum or redeploy/,
    );
  });


  test('downstream[].fleetCluster: a Fleet cluster name, or workspace/name; anything else names the field and where to copy it from', () => {
    const read = loadConfig(
      config({}, {}, [
        { name: 'a', kubeconfig: 'kubeconfig', distribution: 'rke2', fleetCluster: 'prod-eu' },
        { name: 'b', kubeconfig: 'kubeconfig', distribution: 'rke1', fleetCluster: 'fleet-other/c-tbd02' },
        { name: 'c', kubeconfig: 'kubeconfig', distribution: 'k3s' },
      ]),
      { now: NOW },
    ).downstream;
    expect(read.map((d) => d.fleetCluster)).toEqual(['prod-eu', 'fleet-other/c-tbd02', undefined]);
    expectConfigError(
      config({}, {}, [{ name: 'a', kubeconfig: 'kubeconfig', distribution: 'rke2', fleetCluster: 'Prod EU' }]),
      'downstream[0].fleetCluster',
      /downstream\[0\]\.fleetCluster: 'Prod EU' is not a Fleet cluster name .*kubectl get clusters\.fleet\.cattle\.io -n fleet-default/,
    );
  });
  test("'server' is refused as a downstream name: plans and logs name the Rancher cluster so", () => {
    expectConfigError(
      config({}, {}, [{ name: 'server', kubeconfig: 'kubeconfig', distribution: 'rke2' }]),
      'downstream[0].name',
      /'server' is the name of the Rancher server cluster/,
      /Fix: use the cluster's name in Rancher/,
    );
  });

  test('networkExposure: gateway is refused, naming the field and what to do instead', () => {
    expectConfigError(config({ networkExposure: 'gateway' }), 'rancher.networkExposure', /'gateway' .* is not supported yet/, /Fix: .*networkExposure: ingress/);
    expectConfigError(config({ networkExposure: 'nodeport' }), 'rancher.networkExposure', /'nodeport' is not one of ingress, gateway/);
  });

  test('the new settings: each wrong value is one ConfigError naming the file, the field and the fix', () => {
    expectConfigError(config({ tls: 'passthrough' }), 'rancher.tls', /'passthrough' is not one of ingress, external/, /Fix: choose ingress or external/);
    expectConfigError(config({ ingressSecretName: 'Rancher_TLS' }), 'rancher.ingressSecretName', /'Rancher_TLS' is not a valid Kubernetes object name/);
    expectConfigError(config({ rancherVersion: 'latest' }), 'rancher.rancherVersion', /'latest' is not a Rancher version/, /Fix: write it as major.minor.patch, e.g. '2.8.5'/);
    expectConfigError(config({ gate: { connectTo: 'lb.example.com' } }), 'rancher.gate.connectTo', /'lb.example.com' is not host:port/, /Fix: give the address of Rancher's load balancer/);
    expectConfigError(config({ gate: { timeoutSeconds: 0 } }), 'rancher.gate.timeoutSeconds', /'0' is not a whole number of seconds from 1 to 86400/, /Fix: write a number of seconds/);
    expectConfigError(config({ gate: { timeoutSeconds: '10m' } }), 'rancher.gate.timeoutSeconds', /'10m' is not a whole number of seconds/);
    expectConfigError(config({ gate: { timeout: 60 } }), 'rancher.gate.timeout', /is not a known key/, /did you mean 'timeoutSeconds'\?/);
    expectConfigError(config({ gate: 'fast' }), 'rancher.gate', /must be a mapping/);
    expectConfigError(config({ agentWaitSeconds: 86_401 }), 'rancher.agentWaitSeconds', /'86401' is not a whole number of seconds from 1 to 86400/);
    expectConfigError(config({ agentWaitSeconds: 1.5 }), 'rancher.agentWaitSeconds', /'1.5' is not a whole number/);
  });

  test('key not matching the certificate', () => {
    const other = issueServerCertificate(ca, HOST, { now: NOW, days: 90 });
    fs.writeFileSync(path.join(dir, 'certs/other.key'), other.keyPem);
    expectConfigError(config({}, { keyFile: 'certs/other.key' }), 'rancher.certificate.keyFile', /does not match/, /other\.key/);
  });

  test('intermediate missing from tls.crt and from cacerts.pem', () => {
    const leafOnly = fs.readFileSync(path.join(dir, 'certs/tls.crt'), 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/)[0];
    fs.writeFileSync(path.join(dir, 'certs/leaf.crt'), leafOnly);
    fs.writeFileSync(path.join(dir, 'certs/root.pem'), ca.root.certPem);
    expectConfigError(config({}, { certFile: 'certs/leaf.crt', caFile: 'certs/root.pem' }), 'rancher.certificate.caFile', /intermediate/i);
  });

  test('intermediates out of order in tls.crt', () => {
    const [leaf, intermediate] = fs.readFileSync(path.join(dir, 'certs/tls.crt'), 'utf8').split(/(?<=-----END CERTIFICATE-----\n)/);
    fs.writeFileSync(path.join(dir, 'certs/swapped.crt'), intermediate + leaf);
    expectConfigError(config({}, { certFile: 'certs/swapped.crt' }), 'rancher.certificate.certFile', /swapped\.crt/);
  });

  test('root before intermediate in cacerts.pem', () => {
    fs.writeFileSync(path.join(dir, 'certs/cacerts.pem'), ca.root.certPem + ca.intermediate.certPem);
    expectConfigError(config(), 'rancher.certificate.caFile', /root/i, /cacerts\.pem/);
  });

  test('expired and not-yet-valid certificates', () => {
    writeRancherFiles(path.join(dir, 'old'), ca, HOST, { now: new Date(NOW.getTime() - 400 * DAY), days: 365 });
    expectConfigError(config({}, { certFile: 'old/tls.crt', keyFile: 'old/tls.key' }), 'rancher.certificate.certFile', /expired/);
    writeRancherFiles(path.join(dir, 'future'), ca, HOST, { now: new Date(NOW.getTime() + 10 * DAY), days: 365 });
    expectConfigError(config({}, { certFile: 'future/tls.crt', keyFile: 'future/tls.key' }), 'rancher.certificate.certFile', /not (yet )?valid/);
  });

  test('hostname not covered by the SANs', () => {
    expectConfigError(config({ hostname: 'other.example.com' }), 'rancher.certificate.certFile', /other\.example\.com/);
  });

  test('DER where PEM is expected', () => {
    opensslCertToDer(path.join(dir, 'certs/tls.crt'), path.join(dir, 'certs/tls.der'));
    expectConfigError(config({}, { certFile: 'certs/tls.der' }), 'rancher.certificate.certFile', /DER/, /openssl x509 -inform der/);
  });

  test('encrypted key', () => {
    opensslEncryptedKey(path.join(dir, 'certs/tls.key'), path.join(dir, 'certs/enc.key'), 'pkcs8');
    expectConfigError(config({}, { keyFile: 'certs/enc.key' }), 'rancher.certificate.keyFile', /encrypted/);
  });

  test('empty and truncated files', () => {
    fs.writeFileSync(path.join(dir, 'certs/empty.crt'), '');
    expectConfigError(config({}, { certFile: 'certs/empty.crt' }), 'rancher.certificate.certFile', /empty/);
    const text = fs.readFileSync(path.join(dir, 'certs/tls.crt'), 'utf8');
    fs.writeFileSync(path.join(dir, 'certs/cut.crt'), text.slice(0, 300));
    expectConfigError(config({}, { certFile: 'certs/cut.crt' }), 'rancher.certificate.certFile', /truncated|END/i);
  });

  test('inside the renew-before window is a warning, not an error', () => {
    writeRancherFiles(path.join(dir, 'soon'), ca, HOST, { now: new Date(NOW.getTime() - 355 * DAY), days: 365 });
    const c = loadConfig(config({ renewBefore: '30d' }, { certFile: 'soon/tls.crt', keyFile: 'soon/tls.key' }), { now: NOW });
    expect(c.rancher!.certificate.warnings.map((w) => w.id)).toContain('cert-rotation:expiresSoon');
  });

  test('field errors name the field and the fix', () => {
    expectConfigError(config({ hostnme: 'x' }), 'rancher.hostnme', /not a known key/, /did you mean 'hostname'/);
    expectConfigError(config({ renewBefore: 'soon' }), 'rancher.renewBefore', /not a duration/);
    expectConfigError(config({ release: { mode: 'helm', chart: 'c', version: '1' } }), 'rancher.release.mode', /managed, external/);
    expectConfigError(config({ restartWorkloads: ['Pod/kube-system/x'] }), 'rancher.restartWorkloads[0]', /Kind\/namespace\/name/);
    expectConfigError(config({}, { keyFile: 'certs/missing.key' }), 'rancher.certificate.keyFile', /does not exist/);
    expectConfigError(config({ privateCa: true }, { caFile: undefined }), 'rancher.privateCa', /caFile/);
  });

  test('values the constructs would reject are rejected here first, by the same rule', () => {
    // GIVEN a hostname in upper case, a wildcard hostname and a namespace that is no DNS label
    // THEN each is one ConfigError naming the field and the fix, before any synth
    expectConfigError(config({ hostname: 'Rancher.Example.com' }), 'rancher.hostname', /upper-case/, /'rancher.example.com'/);
    expectConfigError(config({ hostname: '*.example.com' }), 'rancher.hostname', /wildcard/, /'rancher.example.com'/);
    expectConfigError(
      config({ release: { mode: 'external', chart: 'c', version: '1', namespace: 'Cattle' } }),
      'rancher.release.namespace',
      /not a valid Kubernetes namespace name/,
    );
  });

  test('a private key never appears in an error message', () => {
    const keyPem = fs.readFileSync(path.join(dir, 'certs/tls.key'), 'utf8');
    const other = generateCa({ commonName: 'Other', notBefore: NOW, notAfter: new Date(NOW.getTime() + DAY) });
    fs.writeFileSync(path.join(dir, 'certs/other.crt'), other.certPem);
    try {
      loadConfig(config({}, { certFile: 'certs/other.crt' }), { now: NOW });
      throw new Error('expected a ConfigError');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      const body = keyPem.split('\n').filter((l) => l && !l.startsWith('-----'));
      for (const line of body) expect((e as Error).message).not.toContain(line);
    }
  });

  test('a directory, an oversized file and a YAML alias bomb are one ConfigError each, not a stack trace', () => {
    expectConfigError(dir, '(file)', /is a directory/, /path of the YAML file itself/);
    const big = path.join(dir, 'big.yaml');
    fs.writeFileSync(big, `# ${'x'.repeat(2 * 1024 * 1024)}\n`);
    expectConfigError(big, '(file)', /more than a configuration file needs/);
    const bomb = path.join(dir, 'bomb.yaml');
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    fs.writeFileSync(bomb, `${levels.join('\n')}\nrancher: *i\n`);
    expectConfigError(bomb, '(file)', /cannot be read as configuration/, /write the values out/);
  });

  test('weak crypto is refused unless rancher.certificate.allowWeak is true', () => {
    const weakKey = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const short = issueServerCertificate(ca, HOST, { now: NOW, keyPem: weakKey });
    fs.writeFileSync(path.join(dir, 'certs/short.crt'), short.certPem + ca.intermediate.certPem);
    fs.writeFileSync(path.join(dir, 'certs/short.key'), short.keyPem);
    const certificate = { certFile: 'certs/short.crt', keyFile: 'certs/short.key' };
    expectConfigError(config({}, certificate), 'rancher.certificate.certFile', /RSA 1024 key/, /allowWeak: true/);
    const loaded = loadConfig(config({}, { ...certificate, allowWeak: true }), { now: NOW });
    expect(loaded.rancher!.certificate.warnings.map((w) => w.id)).toContain('cert-rotation:weakCrypto');
  });
});
