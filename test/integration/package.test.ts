import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makePrivateCa, RancherFiles, writeRancherFiles } from '../support/pki';
import { expectNoKey } from './support/terraform';
import { REPO_ROOT, run, RunResult } from '../../scripts/testbed/client';

// GIVEN the tarball `npm pack` builds, WHEN a fresh cdktf project installs it
// and synthesizes a rotation written the way the README shows, THEN the package
// holds only the compiled library, loads without ts-node, type-checks for the
// consumer, and the synthesized stack declares the rotation with the private
// key only as a file() reference. Needs no test bed and no network: the
// consumer installs from the npm cache that `npm ci` filled.

const HOSTNAME = 'rancher.example.com';

/**
 * The consumer's main.ts: a cdktf app as a user of the package writes it
 * (README, "RancherServerRotation"), with the certificate files in ./certs.
 */
const CONSUMER_MAIN_TS = `
import * as path from 'path';
import { App, TerraformStack } from 'cdktf';
import { loadServerCertificate, RancherRelease, RancherServerRotation } from 'cert-rotation';

const hostname = '${HOSTNAME}';
const certs = path.resolve('certs');

const app = new App();
const stack = new TerraformStack(app, 'rancher');
const certificate = loadServerCertificate({
  certFile: path.join(certs, 'tls.crt'), keyFile: path.join(certs, 'tls.key'), caFile: path.join(certs, 'cacerts.pem'),
  hostname, now: new Date(), renewBefore: 30 * 86400_000,
});
new RancherServerRotation(stack, 'rotation', {
  hostname,
  certificate,
  release: RancherRelease.external({ chart: 'rancher-stable/rancher', deployedVersion: '2.8.5' }),
  server: { kubeconfig: '/kube/local.yaml' },
  rancherVersion: '2.8.5',
  downstream: [{ name: 'prod-eu', kubeconfig: '/kube/prod-eu.yaml', distribution: 'rke1' }],
});
app.synth();
`;

/** tsconfig.json as `cdktf init --template typescript` writes it: CommonJS, node10 module resolution. */
const CONSUMER_TSCONFIG = {
  compilerOptions: {
    target: 'ES2020', module: 'CommonJS', lib: ['es2020'], types: ['node'],
    strict: true, esModuleInterop: true, skipLibCheck: true, noEmitOnError: true,
  },
  include: ['main.ts'],
};

const CDKTF_JSON = { language: 'typescript', app: 'node main.js', projectId: 'rotation-app', sendCrashReports: 'false', terraformProviders: [], terraformModules: [], context: {} };

const TSC = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');

/** What the tarball may hold: the compiled library and CLI, the provider helpers, the docs. */
const PACKED = [
  /^package\.json$/,
  /^README\.md$/,
  /^LICENSE$/,
  /^bin\/cert-rotation\.js$/,
  /^dist\/lib\/([\w-]+\/)*[\w-]+\.(js|d\.ts)$/,
  /^dist\/stacks\/providers\.(js|d\.ts)$/,
];

describe('the npm package, installed in a fresh cdktf project', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cert-rotation-package-'));
  const app = path.join(tmp, 'app');
  const installed = path.join(app, 'node_modules', 'cert-rotation');
  const env = consumerEnv();
  let packedFiles: string[];
  let files: RancherFiles;

  beforeAll(() => {
    const packDir = path.join(tmp, 'pack');
    fs.mkdirSync(packDir);
    // `npm pack` as a publisher runs it: prepack empties dist/, prepare builds it.
    const pack = JSON.parse(npm(['pack', '--json', '--pack-destination', packDir], REPO_ROOT).stdout);
    packedFiles = pack[0].files.map((f: { path: string }) => f.path);
    const tarball = path.join(packDir, pack[0].filename);

    fs.mkdirSync(app);
    const pkg = {
      name: 'rotation-app',
      version: '1.0.0',
      private: true,
      dependencies: { 'cert-rotation': `file:${path.relative(app, tarball)}`, cdktf: '^0.21.0', constructs: '^10.4.5' },
      devDependencies: { '@types/node': '^20.19.8' },
    };
    writeJson(path.join(app, 'package.json'), pkg);
    writeJson(path.join(app, 'package-lock.json'), consumerLock(pkg, JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8'))));
    writeJson(path.join(app, 'cdktf.json'), CDKTF_JSON);
    writeJson(path.join(app, 'tsconfig.json'), CONSUMER_TSCONFIG);
    fs.writeFileSync(path.join(app, 'main.ts'), CONSUMER_MAIN_TS.trimStart());
    files = writeRancherFiles(path.join(app, 'certs'), makePrivateCa('Package'), HOSTNAME);

    npm(['install', '--offline', '--no-audit', '--no-fund'], app);
  });

  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('the tarball holds only the compiled library, the CLI, README, LICENSE and package.json', () => {
    expect(packedFiles.filter((f) => !PACKED.some((re) => re.test(f)))).toEqual([]);
    expect(packedFiles).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'bin/cert-rotation.js', 'dist/lib/index.js', 'dist/lib/index.d.ts', 'dist/stacks/providers.d.ts']));
  });

  test('the installed package has no tests, scripts, TypeScript sources or internal entry points', () => {
    for (const dir of ['test', 'scripts', 'lib', 'stacks', 'dist/main.js', 'dist/stacks/rancher-stack.js']) {
      expect(fs.existsSync(path.join(installed, dir))).toBe(false);
    }
    const sources = listFiles(installed).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
    expect(sources).toEqual([]);
  });

  test('plain node loads the compiled entry points, without ts-node; deep imports are closed', () => {
    const script = `
      const r = {
        main: require.resolve('cert-rotation'),
        tsHook: require.extensions['.ts'] !== undefined,
        exports: Object.keys(require('cert-rotation')).filter((k) => ['RancherServerRotation', 'loadServerCertificate', 'generateCa'].includes(k)).sort(),
        providers: typeof require('cert-rotation/stacks/providers').kubernetesProvider,
        version: require('cert-rotation/package.json').version,
      };
      try { require('cert-rotation/dist/lib/pki'); r.deep = 'open'; } catch (e) { r.deep = e.code; }
      console.log(JSON.stringify(r));`;
    const r = JSON.parse(run(process.execPath, ['-e', script], { cwd: app, env }).stdout);
    expect(r).toEqual({
      main: path.join(fs.realpathSync(installed), 'dist/lib/index.js'),
      tsHook: false,
      exports: ['RancherServerRotation', 'generateCa', 'loadServerCertificate'],
      providers: 'function',
      version: '0.1.0',
      deep: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    });
    expect(fs.existsSync(path.join(app, 'node_modules', 'ts-node'))).toBe(false);
    expect(fs.existsSync(path.join(installed, 'dist/lib/index.d.ts'))).toBe(true);
  });

  test("the consumer's main.ts type-checks against the shipped declarations (node10 and node16 resolution)", () => {
    // The consumer's compiler is this repository's TypeScript: what is under test is the package, not tsc.
    run(process.execPath, [TSC], { cwd: app, env });
    run(process.execPath, [TSC, '--noEmit', '--module', 'node16', '--moduleResolution', 'node16'], { cwd: app, env });
  });

  test('the synthesized stack declares the rotation as steps run by the installed cert-rotation; the private key is only a path and a digest', () => {
    // The app command of cdktf.json, which is what `cdktf synth` runs (after ~10 s of
    // Terraform checks that are not the package's business).
    run('sh', ['-c', CDKTF_JSON.app], { cwd: app, env });
    const out = path.join(app, 'cdktf.out');
    const stack = JSON.parse(fs.readFileSync(path.join(out, 'stacks/rancher/cdk.tf.json'), 'utf8'));
    const steps = Object.values<any>(stack.resource.terraform_data).filter((r) => r.triggers_replace?.step);
    const envelope = (r: any) => JSON.parse(r.provisioner[0]['local-exec'].environment.CERT_ROTATION_STEP);
    // Each step runs the cert-rotation command of the installed package, not of this repository.
    const installedBin = fs.realpathSync(path.join(installed, 'bin/cert-rotation.js'));
    for (const r of steps) expect(r.provisioner[0]['local-exec'].command).toBe(`node ${installedBin} step`);
    const secret = (name: string) => envelope(steps.find((r) => r.triggers_replace.step === 'secret' && r.triggers_replace.name === name));
    expect(secret('tls-rancher-ingress').spec.data).toEqual({
      'tls.crt': { text: files.chainPem },
      'tls.key': { file: files.keyFile, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect(secret('tls-ca').spec.data['cacerts.pem']).toEqual({ text: files.caPem });
    const agents = envelope(steps.find((r) => r.triggers_replace.step === 'agents'));
    expect(agents.target).toEqual({ cluster: 'prod-eu', kubeconfig: '/kube/prod-eu.yaml' });
    expect(agents.spec.workloads.map((w: any) => `${w.kind}/${w.name}`)).toEqual(['Deployment/cattle-cluster-agent', 'DaemonSet/cattle-node-agent']);
    expect(steps.map((r) => r.triggers_replace.step).sort()).toEqual(['agents', 'cacerts-gate', 'converge', 'restart', 'secret', 'secret']);

    for (const file of listFiles(out)) {
      expectNoKey(fs.readFileSync(file, 'utf8'), files.keyPem, path.relative(app, file));
    }
  });

  test('the installed cert-rotation command runs', () => {
    const r = run(path.join(app, 'node_modules/.bin/cert-rotation'), ['check', 'certs'], { cwd: app, env });
    expect(r.stdout).toContain(`CN=${HOSTNAME}`);
  });
});

/** The environment of the consumer's commands: nothing of this repository's npm or ts-node setup. */
function consumerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|NODE_OPTIONS$|NODE_PATH$|TS_NODE_|INIT_CWD$)/i.test(k)) env[k] = v;
  }
  env.PATH = (process.env.PATH ?? '').split(path.delimiter).filter((d) => !d.includes('node_modules')).join(path.delimiter);
  return { ...env, CHECKPOINT_DISABLE: '1', CI: 'true', FORCE_COLOR: '0', NO_COLOR: '1' };
}

function npm(args: string[], cwd: string): RunResult {
  return run('npm', args, { cwd, env: consumerEnv() });
}

function writeJson(file: string, value: unknown): void {
  fs.writeFileSync(file, JSON.stringify(value, null, 2) + '\n');
}

function listFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

interface PackageJson {
  name: string;
  version: string;
  license?: string;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}

/**
 * A package-lock.json for the consumer, taken from this repository's: the
 * same versions at the same places, cut to what the consumer needs. With it,
 * `npm install --offline` finds every tarball in the cache `npm ci` filled; a
 * lock-less install would need the registry's package metadata, which that
 * cache does not hold.
 */
function consumerLock(consumer: PackageJson & Required<Pick<PackageJson, 'dependencies'>>, library: PackageJson): unknown {
  const repo: Record<string, any> = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')).packages;
  const packages: Record<string, any> = {
    '': { name: consumer.name, version: consumer.version, dependencies: consumer.dependencies, devDependencies: consumer.devDependencies },
    'node_modules/cert-rotation': {
      version: library.version,
      resolved: consumer.dependencies['cert-rotation'],
      license: library.license,
      bin: library.bin,
      dependencies: library.dependencies,
      peerDependencies: library.peerDependencies,
    },
  };
  // Node's lookup, on lock paths: <from>/node_modules/<name>, then each parent's.
  const locate = (from: string, name: string): string | undefined => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(dir.lastIndexOf('/node_modules/'), 0))) {
      const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (candidate in repo) return candidate;
      if (!dir) return undefined;
    }
  };
  const add = (from: string, deps: Record<string, string> = {}, optional: Record<string, unknown> = {}): void => {
    for (const name of Object.keys(deps)) {
      const at = locate(from, name);
      if (at === undefined) {
        if (optional[name]) continue;
        throw new Error(`${name}, needed by ${from || 'the consumer'}, is not in package-lock.json`);
      }
      if (at in packages) continue;
      const entry = (packages[at] = repo[at]);
      const peerOptional = Object.fromEntries(Object.entries<any>(entry.peerDependenciesMeta ?? {}).map(([k, m]) => [k, m.optional]));
      add(at, entry.dependencies);
      add(at, entry.optionalDependencies, entry.optionalDependencies);
      add(at, entry.peerDependencies, peerOptional);
    }
  };
  const { 'cert-rotation': _library, ...others } = { ...consumer.dependencies, ...consumer.devDependencies };
  add('', others);
  add('node_modules/cert-rotation', { ...library.dependencies, ...library.peerDependencies });
  return { name: consumer.name, version: consumer.version, lockfileVersion: 3, requires: true, packages };
}
