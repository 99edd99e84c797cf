/**
 * `cert-rotation pki ca|leaf|csr`: a private CA kept in directories. Issues a
 * root or intermediate CA, server and client certificates signed by it, and
 * CSRs, with the RSA issuer of lib/pki/issue.ts. Keys are written with mode
 * 0600 and never printed; existing files are never replaced without --force.
 *
 * lib/pki/issue (and node-forge with it) is loaded by `import()` when a
 * certificate is issued, so the tool's other commands never load it.
 */
import { isIP } from 'net';
import * as path from 'path';
import { CertificateInfo, describeCertificate, parseCertificate, parseCertificates } from '../../pki/certificate';
import { isIssuedBy } from '../../pki/chain';
import type { IssuedCertificate, LeafUsage } from '../../pki/issue';
import { DAY_MS, formatIsoSeconds } from '../../pki/validity';
import { DEFAULTS } from '../../rules';
import { CliIo, Command, defineCommand, ExitCode, parseCommandArgs, UsageError } from '../io';
import {
  CaDirectory,
  describeWritten,
  keptKeyBits,
  keyLine,
  lifetimeDays,
  PkiError,
  pkiInput,
  readCaDirectory,
  readText,
  refuseExisting,
  replaceFiles,
  subjectField,
  validity,
  writeFiles,
} from './pki-files';
import { durationOption, wholeNumber } from './pki-args';
import { parseRolloverArgs, PkiRolloverOptions, ROLLOVER_HELP, runRollover } from './pki-rollover';

const CA_HELP = `Usage: cert-rotation pki ca --out DIR [options]

Issue a CA: a self-signed root, or with --issuer-dir an intermediate signed by
the CA in that directory. Writes into DIR (created when missing):

  ca.crt       the CA certificate alone (what kubeadm and RKE call ca.crt)
  ca.key       its RSA private key, mode 0600
  cacerts.pem  the CA, then its issuers up to and including the root: the
               bundle to trust, and Rancher's cacerts.pem (secret tls-ca)

Options:
      --out DIR          the directory to write to (required)
      --cn NAME          subject common name (default: "cert-rotation Root CA",
                         or "cert-rotation Intermediate CA" with --issuer-dir)
      --org O            subject organization (O)
      --days N           validity in days from now (default 3650 for a root,
                         1825 for an intermediate; never past the issuer's end)
      --key-bits N       RSA key size, 2048 to 16384 (default 2048)
      --issuer-dir DIR   sign with the CA in DIR (its ca.crt, ca.key and, when
                         present, cacerts.pem): the new CA is an intermediate
      --force            replace ca.crt, ca.key and cacerts.pem if they exist
  -h, --help             show this help

Examples:
  cert-rotation pki ca --out pki/root --cn "Acme Root CA"
  cert-rotation pki ca --out pki/intermediate --cn "Acme Intermediate CA" --issuer-dir pki/root
`;

const LEAF_HELP = `Usage: cert-rotation pki leaf --ca-dir DIR --out DIR --cn NAME [options]

Issue a server or client certificate signed by the CA in --ca-dir (a directory
written by \`cert-rotation pki ca\`). Writes into --out (created when missing):

  NAME.crt     the certificate, then the CA certificates of --ca-dir's
               cacerts.pem that are not self-signed: leaf and intermediates,
               without the root, as Rancher's tls.crt and TLS servers want it
               (just the leaf when --ca-dir is a root)
  NAME.key     its RSA private key, mode 0600

Clients trust --ca-dir's cacerts.pem; for Rancher it is the caFile.

Options:
      --ca-dir DIR       the signing CA: DIR/ca.crt, DIR/ca.key, DIR/cacerts.pem (required)
      --out DIR          the directory to write to (required)
      --cn NAME          subject common name (required)
      --org O            subject organization (O), e.g. system:masters
      --dns NAMES        DNS subjectAltNames, comma-separated or repeated
      --ip ADDRESSES     IP subjectAltNames (IPv4 or IPv6), comma-separated or repeated
                         (a server certificate without --dns or --ip gets the
                         --cn as its only name)
      --client           a client certificate (extKeyUsage clientAuth), e.g. a
                         kubeconfig user; with --server too, both (etcd peers)
      --server           a server certificate (extKeyUsage serverAuth); the default
      --days N           validity in days from now (default 365; never past the CA's end)
      --key-bits N       RSA key size, 2048 to 16384 (default 2048)
      --name NAME        file names NAME.crt and NAME.key (default tls)
      --force            replace NAME.crt and NAME.key if they exist
  -h, --help             show this help

Examples:
  cert-rotation pki leaf --ca-dir pki/intermediate --out certs --cn rancher.example.com
  cert-rotation pki leaf --ca-dir pki/root --out admin --name admin --client \\
    --cn kubernetes-admin --org system:masters
`;

const CSR_HELP = `Usage: cert-rotation pki csr --out DIR --cn NAME [options]

Create a new RSA key and a certificate signing request (PKCS#10, with the
subjectAltNames requested) for a CA run by someone else. Writes into --out:

  NAME.csr     the request, to send to the CA
  NAME.key     the private key, mode 0600; it stays here

Options:
      --out DIR          the directory to write to (required)
      --cn NAME          subject common name (required)
      --org O            subject organization (O)
      --dns NAMES        DNS subjectAltNames, comma-separated or repeated
      --ip ADDRESSES     IP subjectAltNames, comma-separated or repeated
      --key-bits N       RSA key size, 2048 to 16384 (default 2048)
      --name NAME        file names NAME.csr and NAME.key (default tls)
      --force            replace NAME.csr and NAME.key if they exist
  -h, --help             show this help

Example:
  cert-rotation pki csr --out csr --cn rancher.example.com --dns rancher.example.com
`;

const RENEW_HELP = `Usage: cert-rotation pki renew --ca-dir DIR --out DIR [options]

Re-issue the certificate in --out from the CA in --ca-dir when it is due, and
write nothing when it is not: for a scheduled job that runs every night and
then plans, so the plan shows a rotation exactly on the nights a certificate
was renewed. A certificate is due when it expires within --renew-before, has
expired, or was not issued by the CA in --ca-dir (after that CA was replaced).
The new certificate keeps the old one's subject (CN, O), names, usage (server,
client or both), RSA key size and lifetime (within the CA's), with a new key.

  NAME.crt     the new certificate, then the intermediates (as pki leaf writes it)
  NAME.key     its new RSA private key, mode 0600

Both are written beside the old ones and renamed into place.

Options:
      --ca-dir DIR            the signing CA (made by \`cert-rotation pki ca\`) (required)
      --out DIR               the directory holding NAME.crt and NAME.key (required)
      --name NAME             file names NAME.crt and NAME.key (default tls)
      --renew-before DURATION renew when it expires within this, e.g. 30d, 2w, 12h
                              (default 30d, as renewBefore in cert-rotation.yaml)
      --days N                validity of the new certificate in days (default: the
                              old certificate's lifetime)
      --force                 renew now, due or not
  -h, --help                  show this help

Exit codes:
  0  renewed, or not due (stdout says which)
  3  wrong usage, or a file or the CA directory cannot be used: nothing is written

Example (nightly, then plan: a renewed certificate is a rotation in the plan):
  cert-rotation pki renew --ca-dir pki/intermediate --out certs --renew-before 30d
`;

export const PKI_HELP = `Usage: cert-rotation pki <ca | leaf | csr | renew | rollover> [options]

Issue certificates from a private CA kept in directories: a root CA, an
intermediate, and server or client certificates for Rancher, kubeadm, RKE and
RKE2, all RSA. The files it writes are the input of the rotation (certFile,
keyFile, caFile in cert-rotation.yaml).

Commands:
  ca     a root CA, or an intermediate signed by the CA in --issuer-dir
  leaf   a server or client certificate signed by the CA in --ca-dir
  csr    a key and a certificate signing request for a CA run by someone else
  renew  re-issue a certificate from its CA when it is inside its renew-before
         window (a scheduled job's step); nothing when it is not
  rollover
         replace a CA before it expires, one phase per scheduled run: trust
         both roots, switch to the new one, drop the old (a root), or
         re-issue an intermediate from its issuer; nothing when not due

Run 'cert-rotation pki <command> --help' for its options.

Private keys are written with mode 0600 and never printed. A file that exists
is never replaced without --force, so a CA key is not lost by a second run.
Each file written is listed on stdout, a certificate with its subject,
issuer, names, notBefore, notAfter and SHA-256 fingerprint.

Exit codes:
  0  every file was written (renew, rollover: or nothing was due)
  3  wrong usage, a file exists (without --force) or the CA directory cannot
     be used: nothing is written; or a file cannot be written

Example (a root, an intermediate, and Rancher's three files):
  cert-rotation pki ca --out pki/root --cn "Acme Root CA"
  cert-rotation pki ca --out pki/intermediate --cn "Acme Intermediate CA" --issuer-dir pki/root
  cert-rotation pki leaf --ca-dir pki/intermediate --out certs --cn rancher.example.com
  # certFile certs/tls.crt, keyFile certs/tls.key, caFile pki/intermediate/cacerts.pem
`;

const HELP: Record<PkiCommandName, string> = { ca: CA_HELP, leaf: LEAF_HELP, csr: CSR_HELP, renew: RENEW_HELP, rollover: ROLLOVER_HELP };

type PkiCommandName = 'ca' | 'leaf' | 'csr' | 'renew' | 'rollover';

const PKI_COMMANDS: readonly PkiCommandName[] = ['ca', 'leaf', 'csr', 'renew', 'rollover'];

/** The subject and key every `pki` command asks for. */
interface SubjectOptions {
  readonly out: string;
  readonly commonName: string;
  readonly organization?: string;
  readonly keyBits: number;
  readonly force: boolean;
}

/** `pki ca`. */
export interface PkiCaOptions extends SubjectOptions {
  readonly command: 'ca';
  /** Days from now; undefined: 3650 for a root, 1825 for an intermediate. */
  readonly days?: number;
  readonly issuerDir?: string;
}

/** `pki leaf`. */
export interface PkiLeafOptions extends SubjectOptions {
  readonly command: 'leaf';
  readonly caDir: string;
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
  readonly usage: LeafUsage;
  readonly days: number;
  readonly name: string;
}

/** `pki csr`. */
export interface PkiCsrOptions extends SubjectOptions {
  readonly command: 'csr';
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
  readonly name: string;
}

/** `pki renew`. */
export interface PkiRenewOptions {
  readonly command: 'renew';
  readonly caDir: string;
  readonly out: string;
  readonly name: string;
  /** Milliseconds before notAfter from which the certificate is due. */
  readonly renewBefore: number;
  readonly renewBeforeText: string;
  /** Days; undefined: the old certificate's lifetime. */
  readonly days?: number;
  readonly force: boolean;
}

/** The parsed command line of `pki`: a subcommand, or the help of one. */
export type PkiOptions = PkiCaOptions | PkiLeafOptions | PkiCsrOptions | PkiRenewOptions | PkiRolloverOptions | { readonly command: 'help'; readonly text: string };

const SUBJECT_ARGS = {
  out: { type: 'string' },
  cn: { type: 'string' },
  org: { type: 'string' },
  'key-bits': { type: 'string' },
  force: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const NAME_ARGS = {
  ...SUBJECT_ARGS,
  dns: { type: 'string', multiple: true },
  ip: { type: 'string', multiple: true },
  name: { type: 'string' },
} as const;

/**
 * Parses `pki`'s arguments.
 *
 * @throws UsageError naming the option, the value and the rule
 */
export function parsePkiArgs(args: readonly string[]): PkiOptions | 'help' {
  const [command, ...rest] = args;
  if (command === '--help' || command === '-h') {
    return 'help';
  }
  if (command === undefined) {
    throw new UsageError(`no pki command given; use one of: ${PKI_COMMANDS.join(', ')} (cert-rotation pki <command> [options])`);
  }
  if (!(PKI_COMMANDS as readonly string[]).includes(command)) {
    const what = command.startsWith('-') ? `'${command}' comes before the pki command` : `'${command}' is not a pki command`;
    throw new UsageError(`${what}; use one of: ${PKI_COMMANDS.join(', ')} (cert-rotation pki <command> [options])`);
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    return { command: 'help', text: HELP[command as PkiCommandName] };
  }
  switch (command as PkiCommandName) {
    case 'ca':
      return parseCa(rest);
    case 'leaf':
      return parseLeaf(rest);
    case 'csr':
      return parseCsr(rest);
    case 'renew':
      return parseRenew(rest);
    case 'rollover':
      return parseRolloverArgs(rest);
  }
}

function parseRenew(args: readonly string[]): PkiRenewOptions {
  const v = parseSubcommand('renew', args, {
    'ca-dir': { type: 'string' },
    out: { type: 'string' },
    name: { type: 'string' },
    'renew-before': { type: 'string' },
    days: { type: 'string' },
    force: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  const caDir = optionalPath(v['ca-dir'], '--ca-dir');
  if (caDir === undefined) {
    throw new UsageError('no --ca-dir given; pass the directory of the CA that issues the certificate (made by `cert-rotation pki ca --out DIR`)');
  }
  const out = optionalPath(v.out, '--out');
  if (out === undefined) {
    throw new UsageError('no --out given; pass the directory that holds the certificate to renew (tls.crt and tls.key, or --name)');
  }
  const renewBeforeText = v['renew-before'] ?? DEFAULTS.renewBefore;
  const renewBefore = durationOption(renewBeforeText, '--renew-before', '30d');
  return {
    command: 'renew',
    caDir,
    out,
    name: fileName(v.name),
    renewBefore,
    renewBeforeText,
    days: v.days === undefined ? undefined : parseDays(v.days),
    force: v.force === true,
  };
}

function parseCa(args: readonly string[]): PkiCaOptions {
  const v = parseSubcommand('ca', args, { ...SUBJECT_ARGS, days: { type: 'string' }, 'issuer-dir': { type: 'string' } });
  const issuerDir = optionalPath(v['issuer-dir'], '--issuer-dir');
  return {
    command: 'ca',
    ...subject(v, 'ca', issuerDir === undefined ? 'cert-rotation Root CA' : 'cert-rotation Intermediate CA'),
    days: v.days === undefined ? undefined : parseDays(v.days),
    issuerDir,
  };
}

function parseLeaf(args: readonly string[]): PkiLeafOptions {
  const v = parseSubcommand('leaf', args, {
    ...NAME_ARGS,
    'ca-dir': { type: 'string' },
    client: { type: 'boolean' },
    server: { type: 'boolean' },
    days: { type: 'string' },
  });
  const caDir = optionalPath(v['ca-dir'], '--ca-dir');
  if (caDir === undefined) {
    throw new UsageError('no --ca-dir given; pass the directory of the signing CA (made by `cert-rotation pki ca --out DIR`)');
  }
  const usage: LeafUsage = v.client ? (v.server ? 'both' : 'client') : 'server';
  const s = subject(v, 'leaf');
  const names = subjectAltNames(v.dns, v.ip);
  if (usage === 'server' && names.dnsNames.length === 0 && names.ipAddresses.length === 0) {
    // Clients match the name against the subjectAltName only; the CN alone is ignored.
    if (isIP(s.commonName)) {
      names.ipAddresses.push(s.commonName);
    } else {
      names.dnsNames.push(dnsName(s.commonName, '--cn', 'pass the names with --dns or --ip'));
    }
  }
  return { command: 'leaf', ...s, caDir, ...names, usage, days: v.days === undefined ? 365 : parseDays(v.days), name: fileName(v.name) };
}

function parseCsr(args: readonly string[]): PkiCsrOptions {
  const v = parseSubcommand('csr', args, NAME_ARGS);
  return { command: 'csr', ...subject(v, 'csr'), ...subjectAltNames(v.dns, v.ip), name: fileName(v.name) };
}

function parseSubcommand<T extends Parameters<typeof parseCommandArgs>[1]>(command: PkiCommandName, args: readonly string[], options: T) {
  const parsed = parseCommandArgs(args, options);
  if (parsed.positionals.length > 0) {
    throw new UsageError(`pki ${command} takes no arguments, only options: got '${parsed.positionals.join("', '")}'`);
  }
  return parsed.values;
}

/** The values of {@link SUBJECT_ARGS}. */
interface SubjectValues {
  readonly out?: string;
  readonly cn?: string;
  readonly org?: string;
  readonly 'key-bits'?: string;
  readonly force?: boolean;
}

function subject(v: SubjectValues, command: PkiCommandName, defaultCn?: string): SubjectOptions {
  const out = optionalPath(v.out, '--out');
  if (out === undefined) {
    throw new UsageError(`no --out given; pass the directory to write the ${command === 'ca' ? 'CA' : command === 'leaf' ? 'certificate' : 'request'} and its key to`);
  }
  const commonName = v.cn ?? defaultCn;
  if (commonName === undefined) {
    throw new UsageError('no --cn given; pass the subject common name, e.g. --cn rancher.example.com');
  }
  if (commonName.trim() === '' || commonName.length > 64) {
    throw new UsageError(`--cn '${commonName}' must be 1 to 64 characters (X.509 ub-common-name)`);
  }
  const organization = v.org;
  if (organization !== undefined && (organization.trim() === '' || organization.length > 64)) {
    throw new UsageError(`--org '${organization}' must be 1 to 64 characters (X.509 ub-organization-name)`);
  }
  return { out, commonName, organization, keyBits: keyBits(v['key-bits']), force: v.force === true };
}

function optionalPath(value: string | undefined, option: string): string | undefined {
  if (value === '') {
    throw new UsageError(`${option} is empty; pass a directory`);
  }
  return value;
}

function parseDays(value: string): number {
  return wholeNumber(value, '--days', 1, 36500, 'validity in days');
}

function keyBits(value: string | undefined): number {
  return value === undefined ? 2048 : wholeNumber(value, '--key-bits', 2048, 16384, 'RSA key size in bits');
}

function fileName(value: string | undefined): string {
  const name = value ?? 'tls';
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new UsageError(`--name '${name}' is not a file name; use letters, digits, '.', '_' and '-' without a directory, e.g. --name tls`);
  }
  return name;
}

/** Splits repeated, comma-separated values and drops empty entries. */
function list(values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

function subjectAltNames(dns: string[] | undefined, ip: string[] | undefined): { dnsNames: string[]; ipAddresses: string[] } {
  const dnsNames = list(dns).map((name) => dnsName(name, '--dns', 'pass host names such as rancher.example.com or *.apps.example.com'));
  const ipAddresses = list(ip).map((address) => {
    if (!isIP(address)) {
      throw new UsageError(`--ip '${address}' is not an IPv4 or IPv6 address; pass addresses such as 10.0.0.1 or 2001:db8::1 (host names go in --dns)`);
    }
    return address;
  });
  return { dnsNames, ipAddresses };
}

const DNS_NAME = /^(\*\.)?([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\.)*[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

function dnsName(name: string, option: string, fix: string): string {
  if (!DNS_NAME.test(name) || name.length > 253 || isIP(name)) {
    throw new UsageError(`${option} '${name}' is not a DNS name; ${fix}`);
  }
  return name;
}

async function runCa(o: PkiCaOptions, io: CliIo, now: Date): Promise<void> {
  const certFile = path.join(o.out, 'ca.crt');
  const keyFile = path.join(o.out, 'ca.key');
  const bundleFile = path.join(o.out, 'cacerts.pem');
  await refuseExisting([keyFile, certFile, bundleFile], o.force);
  const issuer = o.issuerDir === undefined ? undefined : await readCaDirectory(o.issuerDir, '--issuer-dir', now);
  const { generateCa } = await import('../../pki/issue');
  const ca = generateCa({
    commonName: o.commonName,
    organization: o.organization,
    keyBits: o.keyBits,
    ...validity(now, o.days ?? (issuer ? 1825 : 3650), issuer?.cert, `--issuer-dir ${o.issuerDir}`),
    issuer: issuer && { certPem: issuer.certPem, keyPem: issuer.keyPem },
  });
  const cert = parseCertificate(ca.certPem, certFile, 'ca.crt');
  const bundlePem = [cert, ...(issuer?.bundle ?? [])].map((c) => c.pem).join('');
  await writeFiles(o.out, [
    { file: keyFile, text: ca.keyPem, secret: true },
    { file: certFile, text: ca.certPem, secret: false },
    { file: bundleFile, text: bundlePem, secret: false },
  ], o.force);
  const kind = issuer ? `intermediate CA signed by ${describeCertificate(issuer.cert)}` : 'root CA';
  const bundleNames = [cert, ...(issuer?.bundle ?? [])].map(describeCertificate).join(', ');
  io.stdout.write(
    [
      keyLine(keyFile, ca.keyPem),
      `wrote ${certFile}: ${kind}`,
      ...describeWritten(cert),
      `wrote ${bundleFile}: the CA bundle to trust (${bundleNames})`,
      '',
    ].join('\n'),
  );
}

async function runLeaf(o: PkiLeafOptions, io: CliIo, now: Date): Promise<void> {
  const certFile = path.join(o.out, `${o.name}.crt`);
  const keyFile = path.join(o.out, `${o.name}.key`);
  await refuseExisting([keyFile, certFile], o.force);
  const ca = await readCaDirectory(o.caDir, '--ca-dir', now);
  const { generateLeaf } = await import('../../pki/issue');
  const leaf: IssuedCertificate = generateLeaf({
    commonName: o.commonName,
    organization: o.organization,
    dnsNames: o.dnsNames,
    ipAddresses: o.ipAddresses,
    usage: o.usage,
    keyBits: o.keyBits,
    ...validity(now, o.days, ca.cert, `--ca-dir ${o.caDir}`),
    issuer: { certPem: ca.certPem, keyPem: ca.keyPem },
  });
  const cert = parseCertificate(leaf.certPem, certFile, 'tls.crt');
  const intermediates = ca.bundle.filter((c) => !c.selfSigned);
  await writeFiles(o.out, [
    { file: keyFile, text: leaf.keyPem, secret: true },
    { file: certFile, text: [cert, ...intermediates].map((c) => c.pem).join(''), secret: false },
  ], o.force);
  const kind = { server: 'server certificate', client: 'client certificate', both: 'server and client certificate' }[o.usage];
  const chain = intermediates.length === 0 ? '' : `, then ${intermediates.map(describeCertificate).join(', ')} (without the root)`;
  io.stdout.write(
    [
      keyLine(keyFile, leaf.keyPem),
      `wrote ${certFile}: ${kind}${chain}`,
      ...describeWritten(cert),
      `trust: ${path.join(o.caDir, 'cacerts.pem')}`,
      '',
    ].join('\n'),
  );
}

async function runCsr(o: PkiCsrOptions, io: CliIo): Promise<void> {
  const csrFile = path.join(o.out, `${o.name}.csr`);
  const keyFile = path.join(o.out, `${o.name}.key`);
  await refuseExisting([keyFile, csrFile], o.force);
  const { createCsr } = await import('../../pki/issue');
  const csr = createCsr({ commonName: o.commonName, organization: o.organization, dnsNames: o.dnsNames, ipAddresses: o.ipAddresses, keyBits: o.keyBits });
  await writeFiles(o.out, [
    { file: keyFile, text: csr.keyPem, secret: true },
    { file: csrFile, text: csr.csrPem, secret: false },
  ], o.force);
  const names = [...o.dnsNames.map((n) => `DNS:${n}`), ...o.ipAddresses.map((ip) => `IP:${ip}`)];
  io.stdout.write(
    [
      keyLine(keyFile, csr.keyPem),
      `wrote ${csrFile}: certificate signing request`,
      `  subject    ${o.organization === undefined ? '' : `O=${o.organization}, `}CN=${o.commonName}`,
      ...(names.length > 0 ? [`  names      ${names.join(', ')}`] : []),
      '',
    ].join('\n'),
  );
}

const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';
const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';

/** Why the certificate is due (undefined: it is not), from the most to the least pressing. */
function renewalReason(o: PkiRenewOptions, old: CertificateInfo, ca: CaDirectory, now: Date): string | undefined {
  if (!isIssuedBy(old, ca.cert)) {
    return `it was not issued by ${describeCertificate(ca.cert)} of --ca-dir ${o.caDir}`;
  }
  if (old.notAfter.getTime() <= now.getTime()) return `it expired at ${formatIsoSeconds(old.notAfter)}`;
  if (old.notAfter.getTime() - now.getTime() <= o.renewBefore) {
    return `it expires at ${formatIsoSeconds(old.notAfter)}, within --renew-before ${o.renewBeforeText}`;
  }
  return o.force ? 'of --force' : undefined;
}

async function runRenew(o: PkiRenewOptions, io: CliIo, now: Date): Promise<void> {
  const certFile = path.join(o.out, `${o.name}.crt`);
  const keyFile = path.join(o.out, `${o.name}.key`);
  const certPem = await readText(certFile, '--out ', `issue it first with \`cert-rotation pki leaf --ca-dir ${o.caDir} --out ${o.out}\``);
  const old = pkiInput(() => parseCertificates(certPem, certFile, `${o.name}.crt`)[0]); // the leaf, then intermediates
  const ca = await readCaDirectory(o.caDir, '--ca-dir', now);
  const reason = renewalReason(o, old, ca, now);
  if (reason === undefined) {
    const left = Math.floor((old.notAfter.getTime() - now.getTime()) / DAY_MS);
    io.stdout.write(`not due: ${certFile}: ${describeCertificate(old)} expires at ${formatIsoSeconds(old.notAfter)}, in ${left} days (--renew-before ${o.renewBeforeText}); nothing written\n`);
    return;
  }
  // The new certificate asks for what the old one had.
  const eku = old.x509.keyUsage ?? [];
  const client = eku.includes(CLIENT_AUTH);
  const usage: LeafUsage = client ? (eku.includes(SERVER_AUTH) ? 'both' : 'client') : 'server';
  const commonName = subjectField(old, 'CN') ?? old.dnsNames[0] ?? old.ipAddresses[0];
  if (commonName === undefined) {
    throw new PkiError(`${certFile}: ${describeCertificate(old)} has no common name and no subjectAltName to keep; issue a new one with \`cert-rotation pki leaf\``);
  }
  const keyBits = keptKeyBits(old);
  const lifetime = lifetimeDays(old);
  const caDaysLeft = Math.floor((ca.cert.notAfter.getTime() - now.getTime()) / DAY_MS);
  if (o.days === undefined && caDaysLeft < 1) {
    throw new PkiError(`the CA ${describeCertificate(ca.cert)} of --ca-dir ${o.caDir} ends at ${formatIsoSeconds(ca.cert.notAfter)}, in less than a day; renew the CA first`);
  }
  const days = o.days ?? Math.min(lifetime, caDaysLeft);
  if (days * DAY_MS <= o.renewBefore) {
    throw new PkiError(
      days < lifetime && o.days === undefined
        ? `${certFile} is due (${reason}), but a new certificate could last only ${days} days, until the CA ${describeCertificate(ca.cert)} of --ca-dir ${o.caDir} ends, within --renew-before ${o.renewBeforeText}; ` +
            `roll the CA over first: cert-rotation pki rollover --ca-dir ${o.caDir}`
        : `a new ${describeCertificate(old)} would last ${days} days, within --renew-before ${o.renewBeforeText}, so it would be due again at once; pass --days with more days than --renew-before`,
    );
  }
  const { generateLeaf } = await import('../../pki/issue');
  const leaf = generateLeaf({
    commonName,
    organization: subjectField(old, 'O'),
    dnsNames: old.dnsNames,
    ipAddresses: old.ipAddresses,
    usage,
    keyBits,
    ...validity(now, days, ca.cert, `--ca-dir ${o.caDir}`),
    issuer: { certPem: ca.certPem, keyPem: ca.keyPem },
  });
  const cert = parseCertificate(leaf.certPem, certFile, `${o.name}.crt`);
  const intermediates = ca.bundle.filter((c) => !c.selfSigned);
  await replaceFiles([
    { file: keyFile, text: leaf.keyPem, secret: true },
    { file: certFile, text: [cert, ...intermediates].map((c) => c.pem).join(''), secret: false },
  ]);
  io.stdout.write(
    [
      `renewed: ${certFile}, because ${reason}`,
      keyLine(keyFile, leaf.keyPem),
      `wrote ${certFile}: replaces ${old.sha256Fingerprint.slice(0, 23)}…`,
      ...describeWritten(cert),
      '',
    ].join('\n'),
  );
}

/** Runs `pki` with parsed options: writes the files and their summary, returns the exit code. */
export async function runPki(options: PkiOptions, io: CliIo, clock: () => Date = () => new Date()): Promise<number> {
  try {
    switch (options.command) {
      case 'help':
        io.stdout.write(options.text);
        break;
      case 'ca':
        await runCa(options, io, clock());
        break;
      case 'leaf':
        await runLeaf(options, io, clock());
        break;
      case 'csr':
        await runCsr(options, io);
        break;
      case 'renew':
        await runRenew(options, io, clock());
        break;
      case 'rollover':
        await runRollover(options, io, clock());
        break;
    }
    return ExitCode.OK;
  } catch (err) {
    if (err instanceof PkiError) {
      io.stderr.write(`cert-rotation pki ${options.command}: ${err.message}\n`);
      return ExitCode.ERROR;
    }
    throw err;
  }
}

export const pkiCommand: Command = defineCommand({
  name: 'pki',
  summary: 'issue a root or intermediate CA, server and client certificates, CSRs; renew a certificate inside its window; roll a CA over (RSA; keys mode 0600)',
  help: PKI_HELP,
  parse: parsePkiArgs,
  execute: (options, io) => runPki(options, io),
});
