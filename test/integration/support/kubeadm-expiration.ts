/**
 * Reading `kubeadm certs check-expiration` and comparing it with `cert-rotation
 * check --preset kubeadm --output json`: every certificate and CA kubeadm
 * lists must be a row of ours with the same expiry to the minute (kubeadm
 * prints minutes) and, for leaves, the same signing CA.
 *
 * @see https://kubernetes.io/docs/tasks/administer-cluster/kubeadm/kubeadm-certs/#check-certificate-expiration
 */

/** A row of `check --output json`. */
export interface CheckRow {
  name: string;
  source: string;
  notAfter: string;
  isCA: boolean;
  status: string;
  signedBy: { name: string; source: string } | null;
}

export interface KubeadmRow {
  name: string;
  /** `2027-12-02T03:44` (UTC, to the minute, as kubeadm prints it). */
  expires: string;
  authority?: string;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `Dec 02, 2027 03:44 UTC` → `2027-12-02T03:44`. */
export function kubeadmTime(text: string): string {
  const m = /^([A-Z][a-z]{2}) (\d{2}), (\d{4}) (\d{2}):(\d{2}) UTC$/.exec(text);
  if (!m) throw new Error(`kubeadm printed an expiry this test cannot read: ${JSON.stringify(text)}`);
  return `${m[3]}-${String(MONTHS.indexOf(m[1]) + 1).padStart(2, '0')}-${m[2]}T${m[4]}:${m[5]}`;
}

/** The two tables of `kubeadm certs check-expiration`: certificates, then certificate authorities. */
export function parseKubeadm(stdout: string): { certificates: KubeadmRow[]; authorities: KubeadmRow[] } {
  const tables = stdout.trim().split(/\n\s*\n/).map((t) => t.split('\n').filter((l) => l.trim() !== ''));
  const certTable = tables.find((t) => t[0].startsWith('CERTIFICATE ') && t[0].includes('CERTIFICATE AUTHORITY'));
  const caTable = tables.find((t) => t[0].startsWith('CERTIFICATE AUTHORITY'));
  if (!certTable || !caTable) throw new Error(`kubeadm certs check-expiration printed no tables:\n${stdout}`);
  const certificates = certTable.slice(1).map((line) => {
    const [name, expires, , authority] = line.trim().split(/ {2,}/);
    if (name.startsWith('!MISSING!')) throw new Error(`kubeadm did not find ${name}:\n${stdout}`);
    return { name, expires: kubeadmTime(expires), authority };
  });
  const authorities = caTable.slice(1).map((line) => {
    const [name, expires] = line.trim().split(/ {2,}/);
    return { name, expires: kubeadmTime(expires) };
  });
  return { certificates, authorities };
}

/** kubeadm's name of a PKI certificate → the file under pki/ (`etcd-server` → `etcd/server.crt`). */
export function pkiFile(name: string): string {
  return name.startsWith('etcd-') ? `etcd/${name.slice('etcd-'.length)}.crt` : `${name}.crt`;
}

/** One line per certificate or CA kubeadm lists: its name, whether we found it, its expiry and CA on both sides. */
export interface ParityLine {
  name: string;
  kubeadm: { expires: string; authority?: string };
  ours: { row?: string; isCA?: boolean; expires?: string; authority?: string };
}

/**
 * Pairs kubeadm's rows with `check`'s: PKI files by `pki/<file>#1` in
 * `pkiDir`, kubeconfigs by their `client-certificate-data` in `confDir`.
 * Each line holds kubeadm's view and ours, ready for `toEqual`.
 */
export function parity(kube: ReturnType<typeof parseKubeadm>, rows: CheckRow[], pkiDir: string, confDir: string): ParityLine[] {
  const pkiSource = `file:${pkiDir}`;
  const confSource = `file:${confDir}`;
  const lines: ParityLine[] = [];
  for (const k of kube.authorities) {
    const ours = rows.find((c) => c.source === pkiSource && c.name === `${pkiFile(k.name)}#1`);
    lines.push({ name: k.name, kubeadm: { expires: k.expires, authority: 'self' }, ours: { row: ours?.name, isCA: ours?.isCA, expires: ours?.notAfter.slice(0, 16), authority: ours ? 'self' : undefined } });
  }
  for (const k of kube.certificates) {
    const ours = k.name.endsWith('.conf')
      ? rows.find((c) => c.source === confSource && c.name.startsWith(`${k.name}:users/`) && c.name.endsWith(':client-certificate-data#1'))
      : rows.find((c) => c.source === pkiSource && c.name === `${pkiFile(k.name)}#1`);
    const signer = ours?.signedBy && ours.signedBy.source === pkiSource ? ours.signedBy.name.replace(/\.crt#1$/, '').replace(/^etcd\//, 'etcd-') : undefined;
    lines.push({ name: k.name, kubeadm: { expires: k.expires, authority: k.authority }, ours: { row: ours?.name, isCA: ours?.isCA, expires: ours?.notAfter.slice(0, 16), authority: signer } });
  }
  return lines;
}

/** What {@link parity} returns when both sides agree: kubeadm's view on both sides. */
export function agreed(lines: ParityLine[]): ParityLine[] {
  return lines.map((l) => ({
    name: l.name,
    kubeadm: l.kubeadm,
    ours: { row: l.ours.row ?? '(not found)', isCA: l.kubeadm.authority === 'self', expires: l.kubeadm.expires, authority: l.kubeadm.authority },
  }));
}
