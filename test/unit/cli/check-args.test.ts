import { parseCheckArgs, parseNow } from '../../../lib/cli/commands/check';
import { parseEndpoint } from '../../../lib/cli/check/sources/endpoint';
import { UsageError } from '../../../lib/cli/io';
import { runCli } from './support/run-cli';

const clock = () => new Date('2031-03-01T00:00:00Z');

function options(...args: string[]) {
  const parsed = parseCheckArgs(args, clock);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed;
}

describe('check: command line', () => {
  test('defaults: table, 28d/14d, the clock, 10s timeout', () => {
    const o = options('/tmp/x');
    expect(o.output).toBe('table');
    expect(o.thresholds).toEqual({ warnMs: 28 * 86_400_000, critMs: 14 * 86_400_000, warnText: '28d', critText: '14d' });
    expect(o.now.toISOString()).toBe('2031-03-01T00:00:00.000Z');
    expect(o.timeoutMs).toBe(10_000);
    expect(o.paths).toEqual([{ path: '/tmp/x', recursive: true }]);
  });

  test('positional paths and --file mix; presets expand below --root', () => {
    const o = options('a.crt', '-f', 'dir', '--file=b.pem', '--preset', 'rke2-server', '-p', 'rke2-agent', '--preset=kubeadm', '--root', '/copy');
    expect(o.paths).toEqual([
      { path: 'a.crt', recursive: true },
      { path: 'dir', recursive: true },
      { path: 'b.pem', recursive: true },
      // rke2-server: its TLS directory, the control plane's kubeconfigs, the admin kubeconfig, the agent directory it runs too
      { path: '/copy/var/lib/rancher/rke2/server/tls', recursive: true, optional: false, root: '/copy' },
      { path: '/copy/var/lib/rancher/rke2/server/cred', recursive: false, optional: true, match: /\.kubeconfig$/, root: '/copy' },
      { path: '/copy/etc/rancher/rke2/rke2.yaml', recursive: false, optional: true, root: '/copy' },
      // …which rke2-agent names too, as its main directory: read once, and required.
      { path: '/copy/var/lib/rancher/rke2/agent', recursive: false, optional: false, root: '/copy' },
      // kubeadm: the PKI, the kubeconfigs next to it, the kubelet's current certificates
      { path: '/copy/etc/kubernetes/pki', recursive: true, optional: false, root: '/copy' },
      { path: '/copy/etc/kubernetes', recursive: false, optional: true, match: /\.conf$/, root: '/copy' },
      {
        path: '/copy/var/lib/kubelet/pki',
        recursive: false,
        optional: true,
        match: /^(kubelet-client-current\.pem|kubelet-server-current\.pem|kubelet\.crt)$/,
        root: '/copy',
      },
    ]);
  });

  test('every preset maps to the directory the distribution keeps its certificates in', () => {
    const dirs = ['rke', 'kubeadm', 'rke2-server', 'rke2-agent', 'k3s-server', 'k3s-agent'].map((p) => options('--preset', p).paths[0].path);
    expect(dirs).toEqual([
      '/etc/kubernetes/ssl',
      '/etc/kubernetes/pki',
      '/var/lib/rancher/rke2/server/tls',
      '/var/lib/rancher/rke2/agent',
      '/var/lib/rancher/k3s/server/tls',
      '/var/lib/rancher/k3s/agent',
    ]);
  });

  test('secrets, endpoints, output and thresholds', () => {
    const o = options('--secrets', '--kubeconfig', 'kc', '--context', 'prod', '-n', 'cattle-system', '-e', 'rancher.example.com', '--endpoint', '[::1]:6443', '-o', 'yaml', '--warn', '60d', '--crit', '2w', '--timeout', '1500ms', '--now', '2027-01-01T08:00:00+08:00');
    expect(o.secrets).toBe(true);
    expect(o.kubeconfig).toBe('kc');
    expect(o.context).toBe('prod');
    expect(o.namespace).toBe('cattle-system');
    expect(o.endpoints.map((e) => e.label)).toEqual(['rancher.example.com:443', '[::1]:6443']);
    expect(o.output).toBe('yaml');
    expect(o.thresholds.warnMs).toBe(60 * 86_400_000);
    expect(o.thresholds.critMs).toBe(14 * 86_400_000);
    expect(o.timeoutMs).toBe(1500);
    expect(o.now.toISOString()).toBe('2027-01-01T00:00:00.000Z');
  });

  test('--help anywhere asks for help', () => {
    expect(parseCheckArgs(['--preset', 'rke', '--help'], clock)).toBe('help');
  });

  test.each([
    [[], /no source given/],
    [['--preset', 'rancher'], /--preset 'rancher' is not a preset; use one of: rke, kubeadm, rke2-server, rke2-agent, k3s-server/],
    [['x', '--root', '/r'], /--root only applies to --preset directories/],
    [['x', '--context', 'c'], /--context only applies to --secrets/],
    [['x', '--namespace', 'n'], /--namespace only applies to --secrets/],
    [['x', '--output', 'xml'], /--output 'xml' is not a format; use one of: table, json, yaml/],
    [['x', '--warn', '4 weeks'], /--warn '4 weeks' is not a duration/],
    [['x', '--crit=-1d'], /--crit '-1d' is not a duration/],
    [['x', '--warn', '7d'], /--warn \(7d\) must be at least --crit \(14d\)/],
    [['x', '--timeout', '0s'], /--timeout \(0s\) must be longer than 0/],
    [['x', '--now', 'tomorrow'], /--now 'tomorrow' is not an ISO 8601 time/],
    [['x', '--now', '2027-01-01T08:00:00'], /--now '2027-01-01T08:00:00' has no time zone/],
    [['x', '--now', '2027-02-31'], /is not an ISO 8601 time/],
    [['x', '--endpoint', 'host:99999'], /--endpoint 'host:99999' is not host:port/],
    [['x', '--endpoint', '::1:443'], /put IPv6 addresses in brackets/],
    [['x', '--bogus'], /Unknown option '--bogus'/],
    [['x', '--warn'], /--warn/],
  ])('usage error for %j', (args, message) => {
    expect(() => parseCheckArgs(args as string[], clock)).toThrow(UsageError);
    expect(() => parseCheckArgs(args as string[], clock)).toThrow(message);
  });

  test('a usage error exits 3 before reading anything', async () => {
    const r = await runCli('check', '/definitely/not/here', '--output', 'xml');
    expect(r.code).toBe(3);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^cert-rotation check: --output 'xml' is not a format/);
    expect(r.stderr).not.toContain('/definitely/not/here');
  });

  test('--now accepts a date (midnight UTC) and date-times with zones', () => {
    expect(parseNow('2027-01-01').toISOString()).toBe('2027-01-01T00:00:00.000Z');
    expect(parseNow('2027-01-01T12:30Z').toISOString()).toBe('2027-01-01T12:30:00.000Z');
    expect(parseNow('2027-01-01T12:30:00.250-0100').toISOString()).toBe('2027-01-01T13:30:00.250Z');
  });

  test('endpoints: host:port, [ipv6]:port, default port 443', () => {
    expect(parseEndpoint('10.0.0.1:6443')).toEqual({ host: '10.0.0.1', port: 6443, label: '10.0.0.1:6443' });
    expect(parseEndpoint('[::1]:9345')).toEqual({ host: '::1', port: 9345, label: '[::1]:9345' });
    expect(parseEndpoint('[::1]')).toEqual({ host: '::1', port: 443, label: '[::1]:443' });
    expect(parseEndpoint('rancher.example.com')).toEqual({ host: 'rancher.example.com', port: 443, label: 'rancher.example.com:443' });
    expect(() => parseEndpoint(':443')).toThrow(/is not host:port/);
    expect(() => parseEndpoint('h:0')).toThrow(/is not host:port/);
    expect(() => parseEndpoint('h:12a')).toThrow(/is not host:port/);
  });
});
