/**
 * Private keys: read PEM keys (PKCS#1, PKCS#8, SEC1, Ed25519) into Node
 * `KeyObject`s and check that a key belongs to a certificate.
 *
 * Nothing here returns, logs or puts into an error message any key material.
 */
import { createPrivateKey, KeyObject } from 'crypto';
import { CertificateInfo, openSslReason } from './certificate';
import { CertificateInputError } from './errors';
import { splitPem } from './pem';

/** PEM labels of unencrypted private keys Node can read. */
const KEY_LABELS: Record<string, 'pkcs1' | 'pkcs8' | 'sec1'> = {
  'RSA PRIVATE KEY': 'pkcs1',
  'PRIVATE KEY': 'pkcs8',
  'EC PRIVATE KEY': 'sec1',
};

/**
 * Reads the one private key of a PEM file. Other blocks (such as the
 * `EC PARAMETERS` that `openssl ecparam -genkey` writes, or certificates) are
 * skipped.
 *
 * @param text the file's content
 * @param file the file name for error messages
 * @param field the field for error messages (default `tls.key`)
 * @throws CertificateInputError when the file is empty, DER, truncated,
 *   encrypted, holds no or several private keys, or the key does not parse
 */
export function parsePrivateKey(text: string | Buffer, file: string, field: string = 'tls.key'): KeyObject {
  const blocks = splitPem(text, file, field);
  const encrypted = blocks.find(
    (b) => b.label === 'ENCRYPTED PRIVATE KEY' || /ENCRYPTED/i.test(b.headers['Proc-Type'] ?? ''),
  );
  if (encrypted) {
    throw new CertificateInputError({
      file,
      field,
      problem: `${field} holds an encrypted private key (PEM block on line ${encrypted.line}), which cannot be read without its passphrase`,
      fix: `decrypt it with \`openssl pkey -in ${file} -out ${file}.plain\` and use ${file}.plain (keep it out of version control)`,
    });
  }
  const keyBlocks = blocks.filter((b) => b.label in KEY_LABELS || b.label.endsWith('PRIVATE KEY'));
  if (keyBlocks.length === 0) {
    const found = [...new Set(blocks.map((b) => b.label))].join(', ');
    throw new CertificateInputError({
      file,
      field,
      problem: `${field} holds no private key (it holds: ${found})`,
      fix: 'write the PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY or EC PRIVATE KEY) of the server certificate into this file',
    });
  }
  if (keyBlocks.length > 1) {
    throw new CertificateInputError({
      file,
      field,
      problem: `${field} holds ${keyBlocks.length} private keys (PEM blocks on lines ${keyBlocks.map((b) => b.line).join(', ')}) where exactly one is expected`,
      fix: 'keep only the private key of the server certificate in this file',
    });
  }
  const block = keyBlocks[0];
  const type = KEY_LABELS[block.label];
  if (!type) {
    throw new CertificateInputError({
      file,
      field,
      problem: `${field} holds a private key of an unsupported kind (-----BEGIN ${block.label}----- on line ${block.line})`,
      fix: `convert it to PKCS#8 with \`openssl pkey -in ${file} -out ${file}.pem\` and use ${file}.pem`,
    });
  }
  try {
    return createPrivateKey({ key: block.der, format: 'der', type });
  } catch (err) {
    throw new CertificateInputError({
      file,
      field,
      problem: `in ${field}, the -----BEGIN ${block.label}----- block on line ${block.line} is not a valid private key (${openSslReason(err)})`,
      fix: `check it with \`openssl pkey -in ${file} -noout\` and export the key again`,
    });
  }
}

/**
 * True when the private key belongs to the certificate (Node's
 * `X509Certificate.checkPrivateKey`: the key pair is consistent). A key of
 * another type than the certificate's public key never matches.
 */
export function keyMatchesCertificate(key: KeyObject, cert: CertificateInfo): boolean {
  if (key.asymmetricKeyType !== cert.x509.publicKey.asymmetricKeyType) {
    return false;
  }
  return cert.x509.checkPrivateKey(key);
}
