/**
 * `lib/pki`: pure certificate logic. Parsing (Node `crypto.X509Certificate`),
 * validation at an injected time, fingerprints, chains and bundles, and a
 * small RSA generator (node-forge). No cdktf, no network, no key writes.
 */
export * from './errors';
export * from './pem';
export * from './certificate';
export * from './private-key';
export * from './chain';
export * from './hostname';
export * from './validity';
export * from './fingerprint';
export * from './ca-bundle';
export * from './strength';
export * from './issue';
export * from './rancher-certificates';
