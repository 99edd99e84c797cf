/**
 * Test certificates made by the real `openssl` CLI (OpenSSL 3.0 or later), for
 * known-answer tests: keys of every type Rancher, RKE, kubeadm, RKE2 and K3s
 * use, chains root → intermediate → leaf with exact, back-dated validity
 * periods (`openssl ca -startdate/-enddate`, because `openssl x509 -req
 * -not_before` needs OpenSSL 3.4), and openssl's own view of a certificate
 * (fingerprint, serial, DER) to compare lib/pki with.
 *
 * Everything is written below a directory the caller owns (e.g. from
 * {@link tempDir}); nothing here reads the clock for certificate dates.
 * Import it through `test/support/pki`.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import type { LeafUsage } from '../../lib/pki';

/** Key types the fixtures can create. */
export type OpensslKeyType = 'rsa' | 'ec-p256' | 'ec-p384' | 'ed25519';

/** The `keyType` string `lib/pki` reports for each fixture key type (RSA at 2048 bits). */
export const EXPECTED_KEY_TYPE: Record<OpensslKeyType, string> = {
  rsa: 'RSA 2048',
  'ec-p256': 'ECDSA P-256',
  'ec-p384': 'ECDSA P-384',
  ed25519: 'Ed25519',
};

/** A certificate made by openssl and the key it certifies, as files. */
export interface OpensslIssued {
  /** PEM file of the certificate. */
  readonly cert: string;
  /** PEM file of the private key. */
  readonly key: string;
}

/** Runs `openssl` with arguments (no shell) and returns its stdout; throws with stderr on failure. */
export function openssl(args: string[], options: { cwd?: string; input?: string | Buffer } = {}): string {
  try {
    return execFileSync('openssl', args, {
      cwd: options.cwd,
      input: options.input,
      stdio: ['pipe', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

/** Writes a new unencrypted PKCS#8 private key of the given type to `file`. */
export function opensslKey(file: string, keyType: OpensslKeyType, rsaBits = 2048): string {
  const algorithm: Record<OpensslKeyType, string[]> = {
    rsa: ['-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${rsaBits}`],
    'ec-p256': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'],
    'ec-p384': ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-384'],
    ed25519: ['-algorithm', 'ED25519'],
  };
  openssl(['genpkey', ...algorithm[keyType], '-out', file]);
  return file;
}

/** Rewrites a key as PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) into `out`. */
export function opensslTraditionalKey(keyFile: string, out: string): string {
  openssl(['pkey', '-in', keyFile, '-traditional', '-out', out]);
  return out;
}

/** Encrypts a key with a passphrase: PKCS#8 (`ENCRYPTED PRIVATE KEY`) or legacy (`Proc-Type: 4,ENCRYPTED`). */
export function opensslEncryptedKey(keyFile: string, out: string, format: 'pkcs8' | 'legacy'): string {
  openssl([
    'pkey',
    '-in',
    keyFile,
    ...(format === 'legacy' ? ['-traditional'] : []),
    '-aes256',
    '-passout',
    'pass:fixture-passphrase',
    '-out',
    out,
  ]);
  return out;
}

/** Converts a PEM certificate to DER. */
export function opensslCertToDer(certFile: string, out: string): string {
  openssl(['x509', '-in', certFile, '-outform', 'DER', '-out', out]);
  return out;
}

/** Converts a PEM key to DER. */
export function opensslKeyToDer(keyFile: string, out: string): string {
  openssl(['pkey', '-in', keyFile, '-outform', 'DER', '-out', out]);
  return out;
}

/** `openssl x509 -noout -fingerprint -sha256`, normalized to lowercase hex without colons. */
export function opensslSha256Fingerprint(certFile: string): string {
  const out = openssl(['x509', '-in', certFile, '-noout', '-fingerprint', '-sha256']);
  const m = /Fingerprint=([0-9A-Fa-f:]+)/.exec(out);
  if (!m) {
    throw new Error(`unexpected openssl fingerprint output: ${out}`);
  }
  return m[1].replace(/:/g, '').toLowerCase();
}

/** `openssl x509 -noout -serial`, normalized to lowercase hex. */
export function opensslSerial(certFile: string): string {
  const out = openssl(['x509', '-in', certFile, '-noout', '-serial']);
  const m = /serial=([0-9A-Fa-f]+)/.exec(out);
  if (!m) {
    throw new Error(`unexpected openssl serial output: ${out}`);
  }
  return m[1].toLowerCase();
}

/** The first field of `sha256sum FILE`. */
export function sha256sum(file: string): string {
  return execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(/\s+/)[0];
}

/** Formats a date for `openssl ca -startdate/-enddate`: `YYYYMMDDHHMMSSZ`. */
export function opensslDate(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** Adds whole days to a date. */
export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * 24 * 60 * 60 * 1000);
}

/** Writes a file, creating its directory; `content` is the text or bytes to write. */
export function put(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** The text of one or more PEM files, concatenated (a bundle). */
export function bundle(...files: string[]): string {
  return files.map((f) => fs.readFileSync(f, 'utf8')).join('');
}

/** The extensions of a root CA. */
const CA_EXTENSIONS = [
  'basicConstraints = critical, CA:TRUE',
  'keyUsage = critical, keyCertSign, cRLSign, digitalSignature',
  'subjectKeyIdentifier = hash',
];

/** The extensions of an intermediate CA: a root's, and the key identifier of its issuer. */
const INTERMEDIATE_EXTENSIONS = [...CA_EXTENSIONS, 'authorityKeyIdentifier = keyid:always'];

/** `DNS:…` and `IP:…` subjectAltName entries. */
function sanEntries(dnsNames: readonly string[], ipAddresses: readonly string[]): string[] {
  return [...dnsNames.map((n) => `DNS:${n}`), ...ipAddresses.map((ip) => `IP:${ip}`)];
}

/** The extensions of a leaf: keyUsage fitting the key type, extKeyUsage by usage, the SANs when there are any. */
function leafExtensions(keyType: OpensslKeyType, usage: LeafUsage, san: readonly string[]): string[] {
  const keyUsage = keyType === 'rsa' ? 'digitalSignature, keyEncipherment' : 'digitalSignature';
  const extKeyUsage = { server: 'serverAuth', client: 'clientAuth', both: 'serverAuth, clientAuth' }[usage];
  return [
    'basicConstraints = CA:FALSE',
    `keyUsage = critical, ${keyUsage}`,
    `extendedKeyUsage = ${extKeyUsage}`,
    'subjectKeyIdentifier = hash',
    'authorityKeyIdentifier = keyid:always',
    ...(san.length > 0 ? [`subjectAltName = ${san.join(', ')}`] : []),
  ];
}

/** A throw-away `openssl ca` database below `<dir>/.ca-*`, used to sign with exact dates. */
class OpensslCa {
  private readonly home: string;
  private counter = 0;

  constructor(dir: string) {
    fs.mkdirSync(dir, { recursive: true });
    this.home = fs.mkdtempSync(path.join(dir, '.ca-'));
    fs.writeFileSync(path.join(this.home, 'index.txt'), '');
  }

  /** Certifies `keyFile` as `subject` (openssl's slash form) into `out`; self-signed without `issuer`. */
  sign(options: {
    keyFile: string;
    subject: string;
    out: string;
    extensions: readonly string[];
    start: Date;
    end: Date;
    issuer?: OpensslIssued;
  }): string {
    const n = ++this.counter;
    const config = path.join(this.home, `openssl-${n}.cnf`);
    fs.writeFileSync(
      config,
      [
        '[ ca ]',
        'default_ca = fixture_ca',
        '[ fixture_ca ]',
        `database = ${path.join(this.home, 'index.txt')}`,
        `serial = ${path.join(this.home, 'serial')}`,
        `new_certs_dir = ${this.home}`,
        'default_md = default',
        'policy = fixture_policy',
        'unique_subject = no',
        'copy_extensions = none',
        'email_in_dn = no',
        'preserve = yes',
        '[ fixture_policy ]',
        'organizationName = optional',
        'commonName = supplied',
        '[ req ]',
        'distinguished_name = req_dn',
        '[ req_dn ]',
        '[ ext ]',
        ...options.extensions,
        '',
      ].join('\n'),
    );
    const csr = path.join(this.home, `request-${n}.csr`);
    openssl(['req', '-new', '-config', config, '-key', options.keyFile, '-subj', options.subject, '-out', csr]);
    openssl([
      'ca',
      '-batch',
      '-notext',
      '-rand_serial',
      '-config',
      config,
      '-extensions',
      'ext',
      '-in',
      csr,
      '-out',
      options.out,
      '-startdate',
      opensslDate(options.start),
      '-enddate',
      opensslDate(options.end),
      ...(options.issuer
        ? ['-cert', options.issuer.cert, '-keyfile', options.issuer.key]
        : ['-selfsign', '-keyfile', options.keyFile]),
    ]);
    return options.out;
  }
}

/** The key type and names of a server certificate. */
export interface OpensslServerNames {
  /** Key type of the certificate (of all three in a chain). */
  readonly keyType: OpensslKeyType;
  /** The server hostname: the leaf's CN, and its only DNS SAN unless `dnsNames` is given. */
  readonly hostname: string;
  /**
   * DNS SANs of the leaf; `[]` together with no `ipAddresses` gives a leaf without subjectAltName.
   * @default [hostname]
   */
  readonly dnsNames?: string[];
  /**
   * IP SANs of the leaf.
   * @default []
   */
  readonly ipAddresses?: string[];
}

/** Signs a server certificate (CN and SANs from `names`) for `keyFile` into `out`. */
function signServer(ca: OpensslCa, names: OpensslServerNames, cert: { keyFile: string; out: string; start: Date; end: Date; issuer: OpensslIssued }): string {
  const san = sanEntries(names.dnsNames ?? [names.hostname], names.ipAddresses ?? []);
  return ca.sign({ ...cert, subject: `/CN=${names.hostname}`, extensions: leafExtensions(names.keyType, 'server', san) });
}

/** Options of {@link makeOpensslChain}. */
export interface OpensslChainOptions extends OpensslServerNames {
  /** Start of the leaf's validity. */
  readonly notBefore: Date;
  /** Lifetime of the leaf in days. */
  readonly days: number;
  /**
   * Start of the CAs' validity.
   * @default 365 days before notBefore
   */
  readonly caNotBefore?: Date;
  /**
   * Lifetime of the CAs in days.
   * @default 3650
   */
  readonly caDays?: number;
  /**
   * Name prefix of the CAs, to tell chains apart (`<prefix> Root CA`, `<prefix> Intermediate CA`).
   * @default 'Fixture'
   */
  readonly caName?: string;
  /**
   * Existing keys to reuse instead of generating new ones (faster).
   * @default - new keys
   */
  readonly keys?: { readonly root?: string; readonly intermediate?: string; readonly leaf?: string };
}

/** Files written by {@link makeOpensslChain}; all paths are absolute. */
export interface OpensslChain {
  readonly dir: string;
  readonly rootCert: string;
  readonly rootKey: string;
  readonly intermediateCert: string;
  readonly intermediateKey: string;
  readonly leafCert: string;
  readonly leafKey: string;
  /** leaf, then intermediate: what Rancher's `tls.crt` holds. */
  readonly tlsCrt: string;
  /** intermediate, then root: what Rancher's `cacerts.pem` holds. */
  readonly cacertsPem: string;
  readonly leafNotBefore: Date;
  readonly leafNotAfter: Date;
}

/**
 * Creates root CA → intermediate CA → server certificate with `openssl ca`,
 * plus `tls.crt` (leaf + intermediate) and `cacerts.pem` (intermediate + root).
 */
export function makeOpensslChain(dir: string, options: OpensslChainOptions): OpensslChain {
  const abs = path.resolve(dir);
  const ca = new OpensslCa(abs);
  const caName = options.caName ?? 'Fixture';
  const caStart = options.caNotBefore ?? addDays(options.notBefore, -365);
  const caEnd = addDays(caStart, options.caDays ?? 3650);
  const leafEnd = addDays(options.notBefore, options.days);

  const rootKey = options.keys?.root ?? opensslKey(path.join(abs, 'root.key'), options.keyType);
  const rootCert = ca.sign({
    keyFile: rootKey,
    subject: `/O=cert-rotation tests/CN=${caName} Root CA`,
    out: path.join(abs, 'root.crt'),
    extensions: CA_EXTENSIONS,
    start: caStart,
    end: caEnd,
  });
  const intermediateKey = options.keys?.intermediate ?? opensslKey(path.join(abs, 'intermediate.key'), options.keyType);
  const intermediateCert = ca.sign({
    keyFile: intermediateKey,
    subject: `/O=cert-rotation tests/CN=${caName} Intermediate CA`,
    out: path.join(abs, 'intermediate.crt'),
    extensions: INTERMEDIATE_EXTENSIONS,
    start: caStart,
    end: caEnd,
    issuer: { cert: rootCert, key: rootKey },
  });
  const leafKey = options.keys?.leaf ?? opensslKey(path.join(abs, 'leaf.key'), options.keyType);
  const leafCert = signServer(ca, options, {
    keyFile: leafKey,
    out: path.join(abs, 'leaf.crt'),
    start: options.notBefore,
    end: leafEnd,
    issuer: { cert: intermediateCert, key: intermediateKey },
  });
  const tlsCrt = path.join(abs, 'tls.crt');
  fs.writeFileSync(tlsCrt, bundle(leafCert, intermediateCert));
  const cacertsPem = path.join(abs, 'cacerts.pem');
  fs.writeFileSync(cacertsPem, bundle(intermediateCert, rootCert));
  return {
    dir: abs,
    rootCert,
    rootKey,
    intermediateCert,
    intermediateKey,
    leafCert,
    leafKey,
    tlsCrt,
    cacertsPem,
    leafNotBefore: options.notBefore,
    leafNotAfter: leafEnd,
  };
}

/** Options of {@link makeOpensslServerCertificate}. */
export interface OpensslServerCertificateOptions extends OpensslServerNames {
  /** The chain whose intermediate signs the new certificate. */
  readonly chain: OpensslChain;
  /** File name (inside the chain's directory) of the new certificate. */
  readonly name: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /**
   * Sign with the root instead of the intermediate.
   * @default false
   */
  readonly signedByRoot?: boolean;
  /**
   * Certify this key instead of a new one.
   * @default - a new key `<name>.key`
   */
  readonly keyFile?: string;
}

/** Issues another server certificate from an existing chain's CA; returns the certificate and key paths. */
export function makeOpensslServerCertificate(options: OpensslServerCertificateOptions): OpensslIssued {
  const dir = options.chain.dir;
  const key = options.keyFile ?? opensslKey(path.join(dir, `${options.name}.key`), options.keyType);
  const issuer = options.signedByRoot
    ? { cert: options.chain.rootCert, key: options.chain.rootKey }
    : { cert: options.chain.intermediateCert, key: options.chain.intermediateKey };
  const cert = signServer(new OpensslCa(dir), options, {
    keyFile: key,
    out: path.join(dir, `${options.name}.crt`),
    start: options.notBefore,
    end: options.notAfter,
    issuer,
  });
  return { cert, key };
}

/** Options of {@link makeOpensslSelfSigned}. */
export interface OpensslSelfSignedOptions {
  readonly keyType: OpensslKeyType;
  readonly commonName: string;
  /** @default [commonName] */
  readonly dnsNames?: string[];
  readonly notBefore: Date;
  readonly days: number;
  /** Write the certificate as a CA (basicConstraints CA:TRUE). @default true */
  readonly isCA?: boolean;
}

/** Creates a self-signed certificate `<name>.crt` with key `<name>.key` in `dir`. */
export function makeOpensslSelfSigned(dir: string, name: string, options: OpensslSelfSignedOptions): OpensslIssued {
  const abs = path.resolve(dir);
  const ca = new OpensslCa(abs);
  const key = opensslKey(path.join(abs, `${name}.key`), options.keyType);
  const dnsNames = options.dnsNames ?? [options.commonName];
  const extensions =
    options.isCA === false
      ? ['basicConstraints = CA:FALSE', 'subjectKeyIdentifier = hash', ...(dnsNames.length > 0 ? [`subjectAltName = ${sanEntries(dnsNames, []).join(', ')}`] : [])]
      : CA_EXTENSIONS;
  const cert = ca.sign({
    keyFile: key,
    subject: `/CN=${options.commonName}`,
    out: path.join(abs, `${name}.crt`),
    extensions,
    start: options.notBefore,
    end: addDays(options.notBefore, options.days),
  });
  return { cert, key };
}

/** A certificate of {@link OpensslFixtures}, dated in days from its `now`. */
export interface OpensslCertOptions {
  /** Subject in openssl's slash form, e.g. `/CN=kube-apiserver` or `/O=system:masters/CN=kube-admin`. */
  readonly subject: string;
  readonly keyType: OpensslKeyType;
  /** Days from the fixture's `now` to notBefore. @default -30 */
  readonly notBeforeDays?: number;
  /** Days from the fixture's `now` to notAfter. */
  readonly notAfterDays: number;
  /** subjectAltName entries, e.g. `['DNS:kubernetes', 'IP:10.43.0.1']`. */
  readonly san?: readonly string[];
  /** What a leaf is for (extKeyUsage). @default 'server' */
  readonly usage?: LeafUsage;
  /** Reuse this key file instead of generating one. */
  readonly key?: string;
}

/**
 * Keys and certificates of any subject, key type and dates relative to `now`,
 * in a work directory: for trees of node certificates, kubeconfigs and
 * endpoints that `check --now` judges at that time.
 */
export class OpensslFixtures {
  private counter = 0;
  private readonly keys = new Map<OpensslKeyType, string>();
  private readonly signer: OpensslCa;

  constructor(
    /** Scratch directory for keys, certificates and openssl's CA database. */
    public readonly workDir: string,
    /** The time the dates are relative to; tests pass the same value as `--now`. */
    public readonly now: Date,
  ) {
    this.signer = new OpensslCa(workDir);
  }

  /** A new private key (PEM file). */
  newKey(keyType: OpensslKeyType): string {
    return opensslKey(path.join(this.workDir, `key-${++this.counter}.pem`), keyType);
  }

  /** One shared key per key type: RSA key generation is slow, and tests do not care which key a leaf has. */
  sharedKey(keyType: OpensslKeyType): string {
    let key = this.keys.get(keyType);
    if (!key) {
      key = this.newKey(keyType);
      this.keys.set(keyType, key);
    }
    return key;
  }

  /** A self-signed root CA certificate (basicConstraints CA:TRUE), with its own new key. */
  ca(options: OpensslCertOptions): OpensslIssued {
    return this.issue(options, options.key ?? this.newKey(options.keyType), CA_EXTENSIONS);
  }

  /** An intermediate CA certificate signed by `issuer`, with its own new key. */
  intermediate(issuer: OpensslIssued, options: OpensslCertOptions): OpensslIssued {
    return this.issue(options, options.key ?? this.newKey(options.keyType), INTERMEDIATE_EXTENSIONS, issuer);
  }

  /** A leaf certificate (CA:FALSE) signed by `issuer`, with the shared key of its type unless `key` is given. */
  leaf(issuer: OpensslIssued, options: OpensslCertOptions): OpensslIssued {
    const extensions = leafExtensions(options.keyType, options.usage ?? 'server', options.san ?? []);
    return this.issue(options, options.key ?? this.sharedKey(options.keyType), extensions, issuer);
  }

  private issue(options: OpensslCertOptions, key: string, extensions: readonly string[], issuer?: OpensslIssued): OpensslIssued {
    const cert = this.signer.sign({
      keyFile: key,
      subject: options.subject,
      out: path.join(this.workDir, `cert-${++this.counter}.pem`),
      extensions,
      start: addDays(this.now, options.notBeforeDays ?? -30),
      end: addDays(this.now, options.notAfterDays),
      issuer,
    });
    return { cert, key };
  }
}
