/**
 * Digests of certificate material, including Rancher's `CATTLE_CA_CHECKSUM`.
 */
import { sha256Hex } from '../contract';

export { sha256Hex };

/**
 * The value Rancher agents expect in `CATTLE_CA_CHECKSUM` for a CA bundle, as
 * the manual-checksum method of Rancher's certificate update procedure
 * (reconfiguring the agents to trust the new CA) computes it:
 *
 * ```
 * curl -k -s -fL <RANCHER_SERVER>/v3/settings/cacerts | jq -r .value > cacert.tmp
 * sha256sum cacert.tmp | awk '{print $1}'
 * ```
 *
 * Rancher's `cacerts` setting holds the content of `cacerts.pem` without
 * trailing whitespace, and `jq -r` prints it followed by one newline, so the
 * checksum is `sha256(trimEnd(text) + "\n")`. For a file that ends in exactly
 * one newline this equals `sha256sum cacerts.pem`.
 *
 * @param cacertsText the content of `cacerts.pem` as it goes into the `tls-ca` secret
 * @see https://ranchermanager.docs.rancher.com/getting-started/installation-and-upgrade/resources/update-rancher-certificate
 */
export function cattleCaChecksum(cacertsText: string | Buffer): string {
  const text = Buffer.isBuffer(cacertsText) ? cacertsText.toString('utf8') : cacertsText;
  return sha256Hex(text.trimEnd() + '\n');
}
