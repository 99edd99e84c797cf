/**
 * A small RSA certificate issuer (node-forge): root and intermediate CAs,
 * server and client certificates, and CSRs. It is what `cert-rotation pki`
 * issues with, and what the tests and the demo make their certificates with.
 *
 * Keys come from Node's native `crypto.generateKeyPairSync` (fast) and are
 * returned to the caller as PKCS#8 PEM; nothing here writes them anywhere.
 * Every PEM it returns uses LF line endings and ends in one newline.
 *
 * node-forge is loaded on the first call, not when this module is imported:
 * everything that imports `lib/pki` (the `check` and `explain` commands, the
 * constructs) stays free of it until a certificate is issued.
 */
import { generateKeyPairSync, randomBytes } from 'crypto';
import type * as Forge from 'node-forge';
import { encodePem } from './pem';

let forgeModule: typeof Forge | undefined;

/** node-forge, required on first use. */
function forge(): typeof Forge {
  forgeModule ??= require('node-forge') as typeof Forge;
  return forgeModule;
}

/** A certificate and its private key, both PEM. */
export interface IssuedCertificate {
  /** The certificate, PEM. */
  readonly certPem: string;
  /** The certificate's private key: PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`) when generated, else the `keyPem` given. */
  readonly keyPem: string;
}

/** Properties shared by every certificate this module issues. */
export interface CertificateRequestBase {
  /** The subject common name. */
  readonly commonName: string;
  /**
   * The subject organization (O), if any.
   * @default - no O attribute
   */
  readonly organization?: string;
  /** Start of the validity period. */
  readonly notBefore: Date;
  /** End of the validity period. */
  readonly notAfter: Date;
  /**
   * RSA key size for a new key; ignored when `keyPem` is given.
   * @default 2048
   */
  readonly keyBits?: number;
  /**
   * An existing RSA private key (PEM, PKCS#1 or PKCS#8) to certify instead of
   * generating one, e.g. to keep tests fast or to re-issue for the same key.
   * @default - a new key of `keyBits` bits
   */
  readonly keyPem?: string;
  /**
   * The serial number as hex.
   * @default - 16 random bytes (positive, non-zero first byte)
   */
  readonly serialNumber?: string;
}

/** Properties of {@link generateCa}. */
export interface GenerateCaProps extends CertificateRequestBase {
  /**
   * The CA that signs the new CA, which then is an intermediate.
   * @default - a self-signed root CA
   */
  readonly issuer?: IssuedCertificate;
  /**
   * basicConstraints pathLenConstraint.
   * @default - no constraint
   */
  readonly pathLength?: number;
}

/**
 * What a leaf certificate is for (extKeyUsage): `server` (serverAuth, a TLS
 * server such as Rancher's ingress), `client` (clientAuth, e.g. a kubeconfig
 * user such as kubeadm's admin), or `both` (etcd peers).
 */
export type LeafUsage = 'server' | 'client' | 'both';

/** Properties of {@link generateLeaf}. */
export interface GenerateLeafProps extends CertificateRequestBase {
  /** DNS names for the subjectAltName extension. */
  readonly dnsNames: string[];
  /**
   * IP addresses (IPv4 or IPv6) for the subjectAltName extension.
   * @default []
   */
  readonly ipAddresses?: string[];
  /** The CA that signs the certificate. */
  readonly issuer: IssuedCertificate;
  /**
   * What the certificate is for.
   * @default 'server'
   */
  readonly usage?: LeafUsage;
}

/** Properties of {@link createCsr}. */
export interface CreateCsrProps {
  /** The subject common name. */
  readonly commonName: string;
  /** DNS names to request in the subjectAltName extension. */
  readonly dnsNames: string[];
  /**
   * IP addresses to request in the subjectAltName extension.
   * @default []
   */
  readonly ipAddresses?: string[];
  /**
   * The subject organization (O), if any.
   * @default - no O attribute
   */
  readonly organization?: string;
  /**
   * RSA key size for a new key; ignored when `keyPem` is given.
   * @default 2048
   */
  readonly keyBits?: number;
  /**
   * An existing RSA private key (PEM) to request a certificate for.
   * @default - a new key of `keyBits` bits
   */
  readonly keyPem?: string;
}

/** A certificate signing request and its private key, both PEM. */
export interface CertificateSigningRequest {
  /** The CSR, PEM (`-----BEGIN CERTIFICATE REQUEST-----`). */
  readonly csrPem: string;
  /** The private key: PKCS#8 PEM when generated, else the `keyPem` given. */
  readonly keyPem: string;
}

/**
 * Issues a CA certificate: a self-signed root, or an intermediate when
 * `issuer` is given. Extensions: basicConstraints CA:TRUE (critical),
 * keyUsage keyCertSign + cRLSign + digitalSignature (critical), subject and authority key
 * identifiers.
 */
export function generateCa(props: GenerateCaProps): IssuedCertificate {
  const key = loadOrCreateKey(props.keyPem, props.keyBits);
  const cert = newCertificate(props, key.publicKey);
  const signer = props.issuer ? loadIssuer(props.issuer) : { cert, key: key.privateKey };
  cert.setIssuer(signer.cert.subject.attributes);
  cert.setExtensions([
    {
      name: 'basicConstraints',
      cA: true,
      critical: true,
      ...(props.pathLength !== undefined ? { pathLenConstraint: props.pathLength } : {}),
    },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    { name: 'subjectKeyIdentifier' },
    authorityKeyIdentifier(signer.cert === cert ? undefined : signer.cert, cert),
  ]);
  cert.sign(signer.key, forge().md.sha256.create());
  return { certPem: certificateToPem(cert), keyPem: key.pem };
}

/**
 * Issues a server (or client) certificate signed by `issuer`. Extensions:
 * basicConstraints CA:FALSE, keyUsage digitalSignature + keyEncipherment
 * (critical), extKeyUsage serverAuth (clientAuth for `usage: 'client'`, both
 * for `'both'`), subjectAltName (left out when there are no names), key
 * identifiers.
 */
export function generateLeaf(props: GenerateLeafProps): IssuedCertificate {
  const key = loadOrCreateKey(props.keyPem, props.keyBits);
  const cert = newCertificate(props, key.publicKey);
  const signer = loadIssuer(props.issuer);
  const usage = props.usage ?? 'server';
  const names = altNames(props.dnsNames, props.ipAddresses ?? []);
  cert.setIssuer(signer.cert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: usage !== 'client', clientAuth: usage !== 'server' },
    ...(names.length > 0 ? [{ name: 'subjectAltName', altNames: names }] : []),
    { name: 'subjectKeyIdentifier' },
    authorityKeyIdentifier(signer.cert, cert),
  ]);
  cert.sign(signer.key, forge().md.sha256.create());
  return { certPem: certificateToPem(cert), keyPem: key.pem };
}

/** Creates a PKCS#10 certificate signing request with a subjectAltName extension request. */
export function createCsr(props: CreateCsrProps): CertificateSigningRequest {
  const key = loadOrCreateKey(props.keyPem, props.keyBits);
  const csr = forge().pki.createCertificationRequest();
  csr.publicKey = key.publicKey;
  csr.setSubject(subjectAttributes(props.commonName, props.organization));
  csr.setAttributes([
    {
      name: 'extensionRequest',
      extensions: [{ name: 'subjectAltName', altNames: altNames(props.dnsNames, props.ipAddresses ?? []) }],
    },
  ]);
  csr.sign(key.privateKey, forge().md.sha256.create());
  const der = Buffer.from(forge().asn1.toDer(forge().pki.certificationRequestToAsn1(csr)).getBytes(), 'binary');
  return { csrPem: encodePem('CERTIFICATE REQUEST', der), keyPem: key.pem };
}

interface ForgeKey {
  readonly pem: string;
  readonly privateKey: Forge.pki.rsa.PrivateKey;
  readonly publicKey: Forge.pki.rsa.PublicKey;
}

function loadOrCreateKey(keyPem: string | undefined, keyBits: number = 2048): ForgeKey {
  let pem = keyPem;
  if (pem === undefined) {
    if (!Number.isInteger(keyBits) || keyBits < 1024) {
      throw new Error(`'keyBits' (${keyBits}) must be a whole number of at least 1024; use 2048 or more.`);
    }
    pem = generateKeyPairSync('rsa', { modulusLength: keyBits }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  }
  const privateKey = readRsaKey(pem, "'keyPem'");
  return {
    pem: pem.replace(/\r\n?/g, '\n'),
    privateKey,
    publicKey: forge().pki.setRsaPublicKey(privateKey.n, privateKey.e),
  };
}

function readRsaKey(pem: string, what: string): Forge.pki.rsa.PrivateKey {
  try {
    return forge().pki.privateKeyFromPem(pem) as Forge.pki.rsa.PrivateKey;
  } catch {
    throw new Error(`${what} is not an unencrypted RSA private key in PEM; this generator signs with RSA keys only.`);
  }
}

function loadIssuer(issuer: IssuedCertificate): { cert: Forge.pki.Certificate; key: Forge.pki.rsa.PrivateKey } {
  let cert: Forge.pki.Certificate;
  try {
    cert = forge().pki.certificateFromPem(issuer.certPem);
  } catch {
    throw new Error(`'issuer.certPem' is not an RSA certificate in PEM; this generator signs with RSA CAs only.`);
  }
  return { cert, key: readRsaKey(issuer.keyPem, "'issuer.keyPem'") };
}

function newCertificate(props: CertificateRequestBase, publicKey: Forge.pki.rsa.PublicKey): Forge.pki.Certificate {
  if (!(props.notBefore.getTime() < props.notAfter.getTime())) {
    throw new Error(
      `'notBefore' (${props.notBefore.toISOString()}) must be before 'notAfter' (${props.notAfter.toISOString()}).`,
    );
  }
  const cert = forge().pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = props.serialNumber ?? randomSerial();
  cert.validity.notBefore = props.notBefore;
  cert.validity.notAfter = props.notAfter;
  cert.setSubject(subjectAttributes(props.commonName, props.organization));
  return cert;
}

function subjectAttributes(commonName: string, organization?: string): Forge.pki.CertificateField[] {
  return [
    ...(organization !== undefined ? [{ shortName: 'O', value: organization }] : []),
    { shortName: 'CN', value: commonName },
  ];
}

function altNames(dnsNames: string[], ipAddresses: string[]): object[] {
  return [...dnsNames.map((value) => ({ type: 2, value })), ...ipAddresses.map((ip) => ({ type: 7, ip }))];
}

function authorityKeyIdentifier(issuer: Forge.pki.Certificate | undefined, self: Forge.pki.Certificate): object {
  const ski = issuer?.getExtension('subjectKeyIdentifier') as { subjectKeyIdentifier?: string } | undefined;
  const keyIdentifier = ski?.subjectKeyIdentifier
    ? forge().util.hexToBytes(ski.subjectKeyIdentifier)
    : (issuer ?? self).generateSubjectKeyIdentifier().getBytes();
  return { name: 'authorityKeyIdentifier', keyIdentifier };
}

function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return bytes.toString('hex');
}

function certificateToPem(cert: Forge.pki.Certificate): string {
  const der = Buffer.from(forge().asn1.toDer(forge().pki.certificateToAsn1(cert)).getBytes(), 'binary');
  return encodePem('CERTIFICATE', der);
}
