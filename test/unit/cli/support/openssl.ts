/**
 * Test certificates made with the real `openssl` CLI, with exact validity
 * dates (`openssl ca -startdate/-enddate`), so expiry tests run at a fixed
 * `--now` and never depend on the clock.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

export type KeyAlgorithm = 'rsa' | 'ec' | 'ed25519';

const DAY_MS = 24 * 60 * 60 * 1000;

/** A certificate and the key it certifies. */
export interface Issued {
  /** PEM file of the certificate. */
  readonly cert: string;
  /** PEM file of the private key. */
  readonly key: string;
  /** Subject as given (`/O=system:masters/CN=kube-admin`). */
  readonly subject: string;
}

/** Options of a certificate. */
export interface CertOptions {
  /** Subject in openssl's slash form, e.g. `/CN=kube-apiserver`. */
  readonly subject: string;
  readonly algorithm: KeyAlgorithm;
  /** Days from the fixture's `now` to notBefore. @default -30 */
  readonly notBeforeDays?: number;
  /** Days from the fixture's `now` to notAfter. */
  readonly notAfterDays: number;
  /** subjectAltName entries, e.g. `['DNS:kubernetes', 'IP:10.43.0.1']`. */
  readonly san?: readonly string[];
  /** Reuse this key instead of generating one. */
  readonly key?: string;
}

/** Makes keys and certificates in a work directory, at dates relative to `now`. */
export class OpensslFixtures {
  private counter = 0;
  private readonly keys = new Map<KeyAlgorithm, string>();

  constructor(
    /** Scratch directory for keys, CSRs and openssl's CA database. */
    public readonly workDir: string,
    /** The time the dates are relative to; tests pass the same value as `--now`. */
    public readonly now: Date,
  ) {
    fs.mkdirSync(workDir, { recursive: true });
  }

  /** A new private key (PEM file). */
  newKey(algorithm: KeyAlgorithm): string {
    const file = path.join(this.workDir, `key-${++this.counter}.pem`);
    const args =
      algorithm === 'rsa'
        ? ['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', file]
        : algorithm === 'ec'
          ? ['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', file]
          : ['genpkey', '-algorithm', 'ed25519', '-out', file];
    openssl(args);
    return file;
  }

  /** One shared key per algorithm: RSA key generation is slow, and tests do not care which key signs. */
  sharedKey(algorithm: KeyAlgorithm): string {
    let key = this.keys.get(algorithm);
    if (!key) {
      key = this.newKey(algorithm);
      this.keys.set(algorithm, key);
    }
    return key;
  }

  /** A self-signed CA certificate (basicConstraints CA:TRUE). */
  ca(options: CertOptions): Issued {
    const key = options.key ?? this.newKey(options.algorithm);
    const csr = this.csr(key, options.subject);
    const ext = this.extFile(['basicConstraints = critical,CA:TRUE', 'keyUsage = critical,keyCertSign,cRLSign,digitalSignature', 'subjectKeyIdentifier = hash']);
    const cert = this.sign(['-selfsign', '-keyfile', key], csr, ext, options);
    return { cert, key, subject: options.subject };
  }

  /** An intermediate CA certificate (CA:TRUE, pathlen 0) signed by `issuer`. */
  intermediate(issuer: Issued, options: CertOptions): Issued {
    const key = options.key ?? this.newKey(options.algorithm);
    const csr = this.csr(key, options.subject);
    const ext = this.extFile(['basicConstraints = critical,CA:TRUE,pathlen:0', 'keyUsage = critical,keyCertSign,cRLSign', 'subjectKeyIdentifier = hash']);
    const cert = this.sign(['-cert', issuer.cert, '-keyfile', issuer.key], csr, ext, options);
    return { cert, key, subject: options.subject };
  }

  /** A leaf certificate (CA:FALSE) signed by `issuer`. */
  leaf(issuer: Issued, options: CertOptions): Issued {
    const key = options.key ?? this.sharedKey(options.algorithm);
    const csr = this.csr(key, options.subject);
    const lines = ['basicConstraints = critical,CA:FALSE', 'keyUsage = critical,digitalSignature,keyEncipherment', 'extendedKeyUsage = serverAuth,clientAuth'];
    if (options.san && options.san.length > 0) {
      lines.push(`subjectAltName = ${options.san.join(',')}`);
    }
    const cert = this.sign(['-cert', issuer.cert, '-keyfile', issuer.key], csr, this.extFile(lines), options);
    return { cert, key, subject: options.subject };
  }

  /** openssl's `YYYYMMDDHHMMSSZ` at `now + days`. */
  date(days: number): string {
    return new Date(this.now.getTime() + days * DAY_MS).toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, 'Z');
  }

  private csr(key: string, subject: string): string {
    const file = path.join(this.workDir, `req-${++this.counter}.csr`);
    openssl(['req', '-new', '-key', key, '-subj', subject, '-out', file]);
    return file;
  }

  private extFile(lines: readonly string[]): string {
    const file = path.join(this.workDir, `ext-${++this.counter}.cnf`);
    fs.writeFileSync(file, lines.join('\n') + '\n');
    return file;
  }

  private sign(signer: readonly string[], csr: string, ext: string, options: CertOptions): string {
    const db = path.join(this.workDir, `ca-${++this.counter}`);
    fs.mkdirSync(db);
    fs.writeFileSync(path.join(db, 'index.txt'), '');
    fs.writeFileSync(path.join(db, 'serial'), `${(1000 + this.counter).toString(16).padStart(4, '0')}\n`);
    const config = path.join(db, 'ca.cnf');
    fs.writeFileSync(
      config,
      [
        '[ca]',
        'default_ca = d',
        '[d]',
        `database = ${path.join(db, 'index.txt')}`,
        `new_certs_dir = ${db}`,
        `serial = ${path.join(db, 'serial')}`,
        'default_md = default',
        'policy = p',
        'unique_subject = no',
        'email_in_dn = no',
        '[p]',
        'organizationName = optional',
        'commonName = supplied',
        '',
      ].join('\n'),
    );
    const out = path.join(this.workDir, `cert-${++this.counter}.pem`);
    openssl([
      'ca', '-batch', '-notext', '-config', config, ...signer, '-in', csr, '-out', out, '-extfile', ext,
      '-startdate', this.date(options.notBeforeDays ?? -30), '-enddate', this.date(options.notAfterDays),
    ]);
    return out;
  }
}

/** Runs openssl; throws with its stderr when it fails. */
export function openssl(args: readonly string[]): string {
  try {
    return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
}

/** Copies files into place, creating directories; `content` may be a file to copy or literal text. */
export function put(file: string, content: string | Buffer): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
}

/** The text of one or more PEM files, concatenated (a bundle). */
export function bundle(...files: string[]): string {
  return files.map((f) => fs.readFileSync(f, 'utf8')).join('');
}
