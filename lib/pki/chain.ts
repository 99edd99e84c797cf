/**
 * Certificate chains: the served chain (`tls.crt`: leaf, then intermediates),
 * the CA bundle (`cacerts.pem`: intermediates, then root) and how they join.
 *
 * "A is issued by B" means OpenSSL's `X509_check_issued` (names, key
 * identifiers, key usage) agrees and B's public key verifies A's signature.
 */
import { CertificateInfo, describeCertificate } from './certificate';
import { CertificateInputError } from './errors';

const CHAIN_ORDER = 'order must be leaf, then intermediate(s), each signed by the next';
const CA_ORDER = 'cacerts.pem must list intermediate(s) first, then the root';

/**
 * True when `child` is issued by `parent`: the names and key identifiers link
 * them and `parent`'s public key verifies `child`'s signature.
 */
export function isIssuedBy(child: CertificateInfo, parent: CertificateInfo): boolean {
  if (!child.x509.checkIssued(parent.x509)) {
    return false;
  }
  return signatureVerifies(child, parent);
}

/**
 * Checks a served chain: every certificate is signed by the one after it.
 *
 * @param certs the certificates in file order (leaf first)
 * @param file the file name for error messages
 * @param field the field for error messages (default `tls.crt`)
 * @throws CertificateInputError naming the position that breaks the chain
 */
export function verifyChain(certs: CertificateInfo[], file: string, field: string = 'tls.crt'): void {
  if (certs.length === 0) {
    throw new CertificateInputError({
      file,
      field,
      problem: `${field} holds no certificate`,
      fix: 'write the PEM server certificate followed by its intermediate CA certificate(s) into this file',
    });
  }
  for (let i = 0; i + 1 < certs.length; i++) {
    const child = certs[i];
    const parent = certs[i + 1];
    if (child.sha256Fingerprint === parent.sha256Fingerprint) {
      throw duplicate(file, field, i + 1, i, child);
    }
    if (isIssuedBy(child, parent)) {
      continue;
    }
    const at = `certificate ${i + 1} (${describeCertificate(child)})`;
    const next = `certificate ${i + 2} (${describeCertificate(parent)})`;
    if (child.x509.checkIssued(parent.x509)) {
      throw new CertificateInputError({
        file,
        field,
        problem: `in ${field}, ${at} names ${next} as its issuer, but the public key of ${next} does not verify its signature`,
        fix: `replace ${next} with the CA certificate that really signed ${at} (a CA re-created with a new key keeps its name but not its key)`,
      });
    }
    if (isIssuedBy(parent, child)) {
      throw new CertificateInputError({
        file,
        field,
        problem: `in ${field}, ${next} is signed by ${at}, so the two are in reverse order; ${CHAIN_ORDER}`,
        fix: `reorder ${field}: the server certificate first, then the CA certificate that signed it, then that CA's issuer`,
      });
    }
    const issuerAt = certs.findIndex((c, j) => j > i + 1 && isIssuedBy(child, c));
    throw new CertificateInputError({
      file,
      field,
      problem: `in ${field}, ${at}, issued by ${child.issuer}, is not signed by ${next}; ${CHAIN_ORDER}`,
      fix:
        issuerAt >= 0
          ? `move certificate ${issuerAt + 1} (${describeCertificate(certs[issuerAt])}) directly after certificate ${i + 1}`
          : `insert the intermediate CA certificate ${child.issuer} after certificate ${i + 1}, or remove ${next} if it does not belong to this chain`,
    });
  }
}

/**
 * Checks a Rancher CA bundle (`cacerts.pem`, the `tls-ca` secret of Rancher's
 * certificate update procedure): only CA certificates, intermediate(s) first,
 * each signed by the next, up to a self-signed root; then, optionally, more
 * self-signed roots that are trusted as well (the overlap of a CA rollover,
 * see {@link extraRoots}). Rancher serves the bundle as it is, and its agents
 * load the whole downloaded file into one pool of trusted roots
 * (rancher/rancher cmd/agent/main.go, rootCATransport).
 *
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 * @param cas the certificates in file order
 * @param file the file name for error messages
 * @param field the field for error messages (default `cacerts.pem`)
 * @throws CertificateInputError naming the position that is wrong
 */
export function verifyCaBundle(cas: CertificateInfo[], file: string, field: string = 'cacerts.pem'): void {
  if (cas.length === 0) {
    throw new CertificateInputError({
      file,
      field,
      problem: `${field} holds no certificate`,
      fix: 'write the PEM intermediate CA certificate(s) followed by the root CA certificate into this file',
    });
  }
  cas.forEach((ca, i) => {
    if (!ca.isCA) {
      throw new CertificateInputError({
        file,
        field,
        problem: `in ${field}, certificate ${i + 1} (${describeCertificate(ca)}) is not a CA certificate (basicConstraints lacks CA:TRUE); ${CA_ORDER}`,
        fix: `remove certificate ${i + 1} from ${field} (a server certificate belongs in tls.crt)`,
      });
    }
  });
  const chainEnd = firstRootAt(cas);
  for (let i = 0; i + 1 < cas.length; i++) {
    const child = cas[i];
    const parent = cas[i + 1];
    const seen = cas.findIndex((c) => c.sha256Fingerprint === parent.sha256Fingerprint);
    if (seen <= i) {
      throw duplicate(file, field, i + 1, seen, parent);
    }
    if (i >= chainEnd && parent.selfSigned) {
      continue; // another trusted root after the chain
    }
    if (isIssuedBy(child, parent)) {
      continue;
    }
    const at = `certificate ${i + 1} (${describeCertificate(child)})`;
    const next = `certificate ${i + 2} (${describeCertificate(parent)})`;
    if (child.selfSigned && isIssuedBy(parent, child)) {
      throw new CertificateInputError({
        file,
        field,
        problem: `in ${field}, the root CA comes before the intermediate: ${at} is the self-signed root and signed ${next}; ${CA_ORDER}`,
        fix: `move the root CA ${describeCertificate(child)} to the end of ${field}`,
      });
    }
    if (isIssuedBy(parent, child)) {
      throw new CertificateInputError({
        file,
        field,
        problem: `in ${field}, ${next} is signed by ${at}, so the two are in reverse order; ${CA_ORDER}, each signed by the next`,
        fix: `reorder ${field}: the CA that signed the server certificate first, then its issuer, ending with the root`,
      });
    }
    if (i >= chainEnd) {
      throw new CertificateInputError({
        file,
        field,
        problem: `in ${field}, ${next} comes after the root ${describeCertificate(cas[chainEnd])} (certificate ${chainEnd + 1}) but is not a self-signed root; ${CA_ORDER}, and only other roots may follow it`,
        fix: `move certificate ${i + 2} before the root it chains to, or remove it from ${field}`,
      });
    }
    throw new CertificateInputError({
      file,
      field,
      problem: `in ${field}, ${at}, issued by ${child.issuer}, is not signed by ${next}; ${CA_ORDER}, each signed by the next`,
      fix: `put the CA certificate ${child.issuer} directly after certificate ${i + 1}, or remove ${next} if it does not belong to this chain`,
    });
  }
  const last = cas[cas.length - 1];
  if (!last.selfSigned) {
    throw new CertificateInputError({
      file,
      field,
      problem: `in ${field}, the last certificate (${describeCertificate(last)}, issued by ${last.issuer}) is not a self-signed root; ${CA_ORDER}`,
      fix: `append the root CA certificate ${last.issuer} to the end of ${field}`,
    });
  }
}

/**
 * Checks that the served chain joins the CA bundle: its last certificate is
 * itself in the bundle, or is issued by the bundle's first certificate.
 *
 * @param chain the served chain (leaf first), already checked by {@link verifyChain}
 * @param cas the CA bundle, already checked by {@link verifyCaBundle}
 * @param file the CA bundle's file name for error messages
 * @param field the field for error messages (default `cacerts.pem`)
 * @throws CertificateInputError when an intermediate is missing or the bundle
 *   belongs to another CA
 */
export function verifyLeafAgainstCa(
  chain: CertificateInfo[],
  cas: CertificateInfo[],
  file: string,
  field: string = 'cacerts.pem',
): void {
  const last = chain[chain.length - 1];
  if (cas.some((ca) => ca.sha256Fingerprint === last.sha256Fingerprint)) {
    return;
  }
  if (isIssuedBy(last, cas[0])) {
    return;
  }
  const lastDesc = `${describeCertificate(last)}`;
  const issuerAt = cas.findIndex((ca) => isIssuedBy(last, ca));
  if (issuerAt > firstRootAt(cas)) {
    throw new CertificateInputError({
      file,
      field,
      problem:
        `the served chain (tls.crt) ends with ${lastDesc}, issued by certificate ${issuerAt + 1} of ${field} (${describeCertificate(cas[issuerAt])}), ` +
        `which ${field} lists only as another trusted root: ${field} starts with ${describeCertificate(cas[0])}, to which tls.crt has not switched yet`,
      fix: `re-issue the server certificate from the CA that ${field} starts with (after \`cert-rotation pki rollover\`'s switch: \`cert-rotation pki renew\`)`,
    });
  }
  if (issuerAt > 0) {
    throw new CertificateInputError({
      file,
      field,
      problem:
        `the served chain (tls.crt) ends with ${lastDesc}, which certificate ${issuerAt + 1} of ${field} ` +
        `(${describeCertificate(cas[issuerAt])}) issued, but ${field} starts with ${describeCertificate(cas[0])}, which is not part of this chain`,
      fix: `list only this chain's CA certificates in ${field}: the intermediate(s) that signed the server certificate first, then the root`,
    });
  }
  if (last.selfSigned) {
    throw new CertificateInputError({
      file,
      field,
      problem: `the served chain (tls.crt) ends with the self-signed ${lastDesc}, which is not in ${field} (first: ${describeCertificate(cas[0])})`,
      fix: `use the ${field} of the CA that issued the server certificate, ending with ${lastDesc}`,
    });
  }
  throw new CertificateInputError({
    file,
    field,
    problem:
      `the served chain (tls.crt) ends with ${lastDesc}, issued by ${last.issuer}, but no certificate of ${field} ` +
      `(first: ${describeCertificate(cas[0])}) issued it: the intermediate CA certificate is missing`,
    fix: `add the intermediate CA certificate ${last.issuer} to tls.crt after the server certificate and at the start of ${field}`,
  });
}

function signatureVerifies(child: CertificateInfo, parent: CertificateInfo): boolean {
  try {
    return child.x509.verify(parent.x509.publicKey);
  } catch {
    // OpenSSL raises instead of answering false when the key type cannot verify this signature algorithm.
    return false;
  }
}

/**
 * The roots a CA bundle trusts besides the root of its chain: the self-signed
 * certificates after the first one. During a CA rollover the bundle is the
 * chain, then the other CA's root, so clients that download it trust both.
 *
 * @param cas a bundle already checked by {@link verifyCaBundle}
 */
export function extraRoots(cas: readonly CertificateInfo[]): CertificateInfo[] {
  return cas.slice(firstRootAt(cas) + 1);
}

/** Index of the first self-signed certificate (the end of the chain), or the last index. */
function firstRootAt(cas: readonly CertificateInfo[]): number {
  const at = cas.findIndex((c) => c.selfSigned);
  return at < 0 ? cas.length - 1 : at;
}

function duplicate(file: string, field: string, at: number, first: number, cert: CertificateInfo): CertificateInputError {
  return new CertificateInputError({
    file,
    field,
    problem: `in ${field}, certificate ${at + 1} is a copy of certificate ${first + 1} (${describeCertificate(cert)})`,
    fix: `remove the duplicate certificate ${at + 1} from ${field}`,
  });
}
