/**
 * A CA bundle as Rancher's `cacerts.pem` holds it: the intermediate CA(s),
 * then the root. One value carries the certificates, their canonical PEM and
 * the `CATTLE_CA_CHECKSUM` agents must carry for it, so the three are never
 * passed apart.
 */
import type { CertificateInfo } from './certificate';
import { cattleCaChecksum } from './fingerprint';

/** A parsed, ordered CA bundle (intermediate(s), then the root). Public data only. */
export class CaBundle {
  /** The bundle as canonical PEM (LF line endings, one trailing newline each): the `cacerts.pem` to deploy. */
  public readonly pem: string;
  /** `CATTLE_CA_CHECKSUM` for this bundle (see `cattleCaChecksum`). */
  public readonly checksum: string;

  /**
   * @param certificates the parsed certificates in file order; at least one
   * @param file the file they were read from, for messages
   */
  constructor(
    public readonly certificates: readonly CertificateInfo[],
    public readonly file?: string,
  ) {
    if (certificates.length === 0) {
      throw new Error(`a CA bundle${file ? ` (${file})` : ''} must hold at least one certificate: the intermediate CA(s), then the root`);
    }
    this.pem = certificates.map((c) => c.pem).join('');
    this.checksum = cattleCaChecksum(this.pem);
  }
}
