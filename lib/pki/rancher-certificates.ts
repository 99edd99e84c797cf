/**
 * The Rancher server certificate as Rancher's certificate update procedure
 * asks for it: `tls.crt` (server certificate and intermediates) with `tls.key`
 * for the `tls-rancher-ingress` secret, and optionally `cacerts.pem`
 * (intermediates, then root) for the `tls-ca` secret and `CATTLE_CA_CHECKSUM`.
 *
 * {@link loadServerCertificate} reads the files and runs every check of this
 * library; constructs and the config loader use what it returns and nothing
 * else. The private key is read only to check that it matches; it is never
 * returned, logged or quoted.
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
import { readFileSync } from 'fs';
import { CaBundle } from './ca-bundle';
import { sha256Hex } from './fingerprint';
import { CertificateInfo, describeCertificate, describeKeyType, parseCertificates } from './certificate';
import { extraRoots, isIssuedBy, verifyCaBundle, verifyChain, verifyLeafAgainstCa } from './chain';
import { CertificateInputError } from './errors';
import { hostCoverage } from './hostname';
import { splitPem } from './pem';
import { keyMatchesCertificate, parsePrivateKey } from './private-key';
import { MIN_RSA_BITS, weaknesses } from './strength';
import { checkValidity, DAY_MS, formatDays, formatIsoSeconds } from './validity';

/** What Kubernetes accepts in one Secret's data, in bytes (1 MiB). */
const MAX_SECRET_BYTES = 1024 * 1024;

/** Options of {@link loadServerCertificate}. */
export interface LoadServerCertificateOptions {
  /** Path of `tls.crt`: the PEM server certificate, then its intermediate(s). Used as given. */
  readonly certFile: string;
  /** Path of `tls.key`: the server certificate's PEM private key, unencrypted. Used as given. */
  readonly keyFile: string;
  /**
   * Path of `cacerts.pem`: the PEM intermediate(s), then the root, for a private CA.
   * @default - no CA bundle (a publicly trusted certificate)
   */
  readonly caFile?: string;
  /** The hostname (or IP address) clients use to reach Rancher; the certificate must cover it. */
  readonly hostname: string;
  /** The time of the check. */
  readonly now: Date;
  /** How long before expiry a certificate is due for rotation, in milliseconds (see `parseDuration`). */
  readonly renewBefore: number;
  /**
   * Accept RSA or DSA keys shorter than 2048 bits and MD5 or SHA-1 signatures
   * (each then a `cert-rotation:weakCrypto` warning instead of an error).
   * @default false
   */
  readonly allowWeak?: boolean;
}

/** A finding that does not stop synth but that the user should see. */
export interface CertificateWarning {
  /** A namespaced id, e.g. `cert-rotation:expiresSoon`. */
  readonly id: string;
  /** One sentence naming the file, what is found and what to do. */
  readonly message: string;
}

/** A checked Rancher server certificate. Holds no private key material. */
export interface ServerCertificate {
  /** Path of `tls.crt`, as given. */
  readonly certFile: string;
  /** Path of `tls.key`, as given. The key itself is not part of this object. */
  readonly keyFile: string;
  /**
   * SHA-256 of the key file's bytes as they were checked (not the key: a
   * digest), so that an apply can refuse a key file that changed since.
   */
  readonly keyFileSha256?: string;
  /** Path of `cacerts.pem`, as given, when there is one. */
  readonly caFile?: string;
  /** The served chain: the server certificate, then its intermediate(s). */
  readonly chain: CertificateInfo[];
  /** The chain as canonical PEM (LF line endings, one trailing newline): the `tls.crt` to deploy. */
  readonly chainPem: string;
  /** The server certificate (`chain[0]`). */
  readonly leaf: CertificateInfo;
  /** The CA bundle (`cacerts.pem`: certificates, PEM and agents' checksum), when `caFile` is given. */
  readonly caBundle?: CaBundle;
  /** Findings that need attention but do not stop synth. */
  readonly warnings: CertificateWarning[];
}

/** Warning ids this module emits. */
export const CertificateWarningIds = {
  /** A certificate is inside the renew-before window. */
  EXPIRES_SOON: 'cert-rotation:expiresSoon',
  /** The served chain stops before an intermediate that only cacerts.pem holds. */
  INTERMEDIATE_NOT_SERVED: 'cert-rotation:intermediateNotServed',
  /** cacerts.pem holds only the root although an intermediate signed the server certificate (Rancher wants the intermediate(s), then the root, in `tls-ca`). */
  INTERMEDIATE_NOT_IN_CA_BUNDLE: 'cert-rotation:intermediateNotInCaBundle',
  /** tls.crt also holds a private key, which is left out. */
  KEY_IN_CERTIFICATE_FILE: 'cert-rotation:keyInCertificateFile',
  /** A short RSA/DSA key or an MD5/SHA-1 signature, accepted with `allowWeak`. */
  WEAK_CRYPTO: 'cert-rotation:weakCrypto',
  /** The server certificate is itself a CA (basicConstraints CA:TRUE). */
  LEAF_IS_CA: 'cert-rotation:leafIsCa',
  /** tls.key holds text besides the key block, which is sent to the Secret as it is. */
  TEXT_IN_KEY_FILE: 'cert-rotation:textInKeyFile',
  /** cacerts.pem lists another root after its chain: clients trust both (a CA rollover's overlap). */
  EXTRA_TRUSTED_ROOTS: 'cert-rotation:extraTrustedRoots',
} as const;

/**
 * Reads and checks a Rancher server certificate, its key and optional CA bundle.
 *
 * Checks, in order: every file is non-empty, complete PEM (not DER) and
 * parses, and the key is not encrypted; `tls.crt` is ordered leaf, then
 * intermediate(s); the key matches the server certificate; `cacerts.pem`
 * lists intermediate(s), then the root, and joins the served chain; no
 * certificate is expired or not yet valid at `now`; the server certificate
 * covers `hostname` through a subjectAltName.
 *
 * @throws CertificateInputError for the first check that fails
 */
export function loadServerCertificate(options: LoadServerCertificateOptions): ServerCertificate {
  const { certFile, keyFile, caFile, now, renewBefore } = options;
  const hostname = options.hostname.trim();
  if (hostname === '') {
    throw new Error(`'hostname' (${JSON.stringify(options.hostname)}) must be the DNS name or IP address clients use to reach Rancher.`);
  }
  if (Number.isNaN(now.getTime())) {
    throw new Error(`'now' (${String(now)}) must be a valid date.`);
  }
  if (!Number.isFinite(renewBefore) || renewBefore < 0) {
    throw new Error(`'renewBefore' (${renewBefore}) must be a duration of zero or more milliseconds, e.g. parseDuration('28d').`);
  }
  const warnings: CertificateWarning[] = [];

  // 1. Formats: every file reads as PEM and parses.
  const certText = readInput(certFile, 'tls.crt');
  const chain = parseCertificates(certText, certFile, 'tls.crt');
  const keyInCertFile = splitPem(certText, certFile, 'tls.crt').find((b) => b.label.endsWith('PRIVATE KEY'));
  if (keyInCertFile) {
    warnings.push({
      id: CertificateWarningIds.KEY_IN_CERTIFICATE_FILE,
      message: `${certFile}: tls.crt also holds a private key (PEM block on line ${keyInCertFile.line}), which is left out of the served chain; remove it from this file and keep the key only in ${keyFile}.`,
    });
  }
  const keyBytes = readInput(keyFile, 'tls.key');
  const key = parsePrivateKey(keyBytes, keyFile, 'tls.key');
  // Terraform sends the key file as it is (file()), so its size counts against the Secret's limit.
  const secretBytes = keyBytes.length + chain.reduce((n, c) => n + c.pem.length, 0);
  if (secretBytes > MAX_SECRET_BYTES) {
    throw new CertificateInputError({
      file: keyFile,
      field: 'tls.key',
      problem: `tls.crt and tls.key together are ${secretBytes} bytes, more than the ${MAX_SECRET_BYTES} bytes a Kubernetes Secret may hold (the key file alone is ${keyBytes.length} bytes)`,
      fix: 'keep only the PEM private key in this file (remove any text after or before it)',
    });
  }
  const keyBlocks = splitPem(keyBytes, keyFile, 'tls.key');
  const outside = keyBytes.toString('utf8').length - keyBlocks.reduce((n, b) => n + b.text.length, 0);
  if (outside > 256) {
    warnings.push({
      id: CertificateWarningIds.TEXT_IN_KEY_FILE,
      message: `${keyFile}: tls.key holds about ${outside} bytes besides the key block, which Terraform sends into the Secret as they are; keep only the PEM private key in this file.`,
    });
  }
  const cas = caFile !== undefined ? parseCertificates(readInput(caFile, 'cacerts.pem'), caFile, 'cacerts.pem') : undefined;

  // 2. Order of the served chain, then the key.
  verifyChain(chain, certFile, 'tls.crt');
  const leaf = chain[0];
  if (!keyMatchesCertificate(key, leaf)) {
    const keyType = describeKeyType(key);
    const types = keyType === leaf.keyType ? '' : `; the key is ${keyType} but the certificate holds an ${leaf.keyType} public key`;
    throw new CertificateInputError({
      file: keyFile,
      field: 'tls.key',
      problem: `the private key does not match the certificate in ${certFile} (subject ${describeCertificate(leaf)})${types}`,
      fix: 'supply the key that was used to create the CSR for this certificate',
    });
  }

  // 3. The CA bundle and how the chain joins it.
  if (cas !== undefined && caFile !== undefined) {
    verifyCaBundle(cas, caFile, 'cacerts.pem');
    verifyLeafAgainstCa(chain, cas, caFile, 'cacerts.pem');
    warnings.push(...joinWarnings(chain, cas, certFile, caFile));
    const extra = extraRoots(cas);
    if (extra.length > 0) {
      warnings.push({
        id: CertificateWarningIds.EXTRA_TRUSTED_ROOTS,
        message:
          `${caFile}: cacerts.pem also lists ${extra.map((c) => `${describeCertificate(c)} (sha256 ${c.sha256Fingerprint.slice(0, 23)}…, notAfter ${formatIsoSeconds(c.notAfter)})`).join(', ')} ` +
          `after the chain's root, so Rancher's agents and every client that trusts this bundle trust ${extra.length === 1 ? 'that root' : 'those roots'} too. ` +
          'That is the overlap of a CA rollover (cert-rotation pki rollover); it ends when the bundle lists one root again.',
      });
    }
  }

  // 4. Validity at `now`.
  const checked: Array<{ cert: CertificateInfo; file: string; field: string; role: string }> = [
    ...chain.map((cert, i) => ({
      cert,
      file: certFile,
      field: 'tls.crt',
      role: i === 0 ? 'the server certificate' : `certificate ${i + 1} of the chain`,
    })),
    ...(cas ?? []).map((cert, i) => ({
      cert,
      file: caFile as string,
      field: 'cacerts.pem',
      role: `CA certificate ${i + 1}`,
    })),
  ];
  const warned = new Set<string>();
  for (const { cert, file, field, role } of checked) {
    const validity = checkValidity(cert, { now, renewBefore });
    const what = `${role} (${describeCertificate(cert)})`;
    if (validity.status === 'expired') {
      throw new CertificateInputError({
        file,
        field,
        problem: `in ${field}, ${what} expired on ${formatIsoSeconds(cert.notAfter)}, ${plural(daysSince(cert.notAfter, now), 'day')} before ${formatIsoSeconds(now)}`,
        fix:
          field === 'cacerts.pem' || cert.isCA
            ? `renew the expired CA certificate, re-issue what it signed, and write the new certificates into ${field}`
            : `issue a new certificate for ${hostname} and write it, followed by its intermediate(s), into this file`,
      });
    }
    if (validity.status === 'not-yet-valid') {
      throw new CertificateInputError({
        file,
        field,
        problem: `in ${field}, ${what} is not valid until ${formatIsoSeconds(cert.notBefore)} (checked at ${formatIsoSeconds(now)})`,
        fix: 'wait until its start date, or issue it again with a start date in the past (check the clock of the machine that issued it)',
      });
    }
    if (validity.status === 'renew' && !warned.has(cert.sha256Fingerprint)) {
      // An intermediate in both tls.crt and cacerts.pem is reported once, for tls.crt.
      warned.add(cert.sha256Fingerprint);
      warnings.push({
        id: CertificateWarningIds.EXPIRES_SOON,
        message:
          `${file}: certificate ${describeCertificate(cert)} expires on ${formatIsoSeconds(cert.notAfter)} ` +
          `(in ${plural(validity.daysLeft, 'day')}), inside the renew-before window of ${formatDays(renewBefore)} days; rotate it.`,
      });
    }
  }

  // 5. Strength: short keys and broken signature hashes (a self-signed root's own signature is not checked by anyone).
  for (const { cert, file, field, role } of checked) {
    for (const weakness of weaknesses(cert)) {
      if (weakness.kind === 'signature' && cert.selfSigned) continue;
      const what = weakness.kind === 'key' ? `an ${weakness.found} key, shorter than ${MIN_RSA_BITS} bits` : `a ${weakness.found} signature, a hash with known collisions`;
      if (!options.allowWeak) {
        throw new CertificateInputError({
          file,
          field,
          problem: `in ${field}, ${role} (${describeCertificate(cert)}) has ${what}`,
          fix: `issue it again with ${weakness.kind === 'key' ? `RSA ${MIN_RSA_BITS} or longer, or ECDSA P-256` : 'a SHA-256 (or stronger) signature'}, or accept it knowingly with allowWeak: true`,
        });
      }
      warnings.push({ id: CertificateWarningIds.WEAK_CRYPTO, message: `${file}: ${role} (${describeCertificate(cert)}) has ${what}; accepted because allowWeak is set.` });
    }
  }
  if (leaf.isCA) {
    warnings.push({
      id: CertificateWarningIds.LEAF_IS_CA,
      message: `${certFile}: the server certificate (${describeCertificate(leaf)}) is a CA (basicConstraints CA:TRUE), so whoever holds its key can issue certificates clients trust; issue a server certificate with CA:FALSE.`,
    });
  }

  // 6. The hostname.
  const coverage = hostCoverage(leaf, hostname);
  if (coverage !== 'san') {
    const sans = [...leaf.dnsNames.map((n) => `DNS:${n}`), ...leaf.ipAddresses.map((ip) => `IP:${ip}`)];
    throw new CertificateInputError({
      file: certFile,
      field: 'tls.crt',
      problem:
        coverage === 'common-name'
          ? `the server certificate (${describeCertificate(leaf)}) names ${hostname} only in its subject CN and has no subjectAltName, which Rancher agents and kubectl (Go 1.15 and later) reject`
          : `the server certificate (${describeCertificate(leaf)}) does not cover the hostname ${hostname} (its subjectAltName: ${sans.length > 0 ? sans.join(', ') : 'none'})`,
      fix: `issue a certificate with ${hostname} (or a matching *. wildcard) in its subjectAltName, or correct the configured hostname`,
    });
  }

  return {
    certFile,
    keyFile,
    keyFileSha256: sha256Hex(keyBytes),
    ...(caFile !== undefined ? { caFile } : {}),
    chain,
    chainPem: chain.map((c) => c.pem).join(''),
    leaf,
    ...(cas !== undefined ? { caBundle: new CaBundle(cas, caFile) } : {}),
    warnings,
  };
}

/** Warnings about how the served chain and cacerts.pem share the intermediate(s). */
function joinWarnings(chain: CertificateInfo[], cas: CertificateInfo[], certFile: string, caFile: string): CertificateWarning[] {
  const last = chain[chain.length - 1];
  if (last.selfSigned || cas.some((ca) => ca.sha256Fingerprint === last.sha256Fingerprint) || !isIssuedBy(last, cas[0])) {
    return [];
  }
  const first = cas[0];
  if (!first.selfSigned) {
    return [
      {
        id: CertificateWarningIds.INTERMEDIATE_NOT_SERVED,
        message:
          `${certFile}: the served chain ends with ${describeCertificate(last)}, whose issuer ${describeCertificate(first)} is only in cacerts.pem, ` +
          `so clients that trust only the root cannot verify it; append ${describeCertificate(first)} to tls.crt after the server certificate.`,
      },
    ];
  }
  if (chain.length > 1) {
    return [
      {
        id: CertificateWarningIds.INTERMEDIATE_NOT_IN_CA_BUNDLE,
        message:
          `${caFile}: cacerts.pem holds the root ${describeCertificate(first)} but not the intermediate ${describeCertificate(last)} that tls.crt serves, ` +
          'while Rancher expects intermediate(s), then the root; put the intermediate(s) of tls.crt before the root in cacerts.pem.',
      },
    ];
  }
  return [];
}

function readInput(file: string, field: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const problem =
      code === 'ENOENT'
        ? `${field} does not exist`
        : code === 'EISDIR'
          ? `${field} is a directory, not a file`
          : code === 'EACCES' || code === 'EPERM'
            ? `${field} cannot be read (permission denied)`
            : `${field} cannot be read (${code ?? 'unknown error'})`;
    throw new CertificateInputError({
      file,
      field,
      problem,
      fix: 'check the path in the configuration (paths are used as given, relative ones against the working directory) and that the file is readable',
    });
  }
}

/** Whole days from `then` to `now`, rounded down. */
function daysSince(then: Date, now: Date): number {
  return Math.floor((now.getTime() - then.getTime()) / DAY_MS);
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}
