import * as api from '../../../lib';
import * as contract from '../../../lib/contract';
import * as pki from '../../../lib/pki';
import * as rotation from '../../../lib/rotation';

describe('lib/index', () => {
  test('exports the contract: the keys the constructs write and explain reads', () => {
    for (const name of ['certificateMetadata', 'caBundleMetadata', 'trustAnnotations']) {
      expect((api as Record<string, unknown>)[name]).toBe((contract as Record<string, unknown>)[name]);
    }
    expect(api.ANNOTATIONS.trustSha256).toBe('cert-rotation.io/trust-sha256');
    expect(api.CATTLE_CA_CHECKSUM).toBe('CATTLE_CA_CHECKSUM');
  });

  test('exports lib/pki and every rotation construct', () => {
    // GIVEN the package entry point THEN the pki functions and the constructs are reachable from it
    for (const name of ['loadServerCertificate', 'sha256Hex', 'cattleCaChecksum', 'generateCa', 'generateLeaf', 'CaBundle']) {
      expect(typeof (api as Record<string, unknown>)[name]).toBe('function');
      expect((api as Record<string, unknown>)[name]).toBe((pki as Record<string, unknown>)[name]);
    }
    for (const name of [
      'TlsCertificateSecret',
      'RancherIngressCertificate',
      'RancherCaSecret',
      'RancherHelmValues',
      'RancherRelease',
      'AgentCaChecksum',
      'RolloutRestart',
      'RancherServerRotation',
      'contentRevision',
      'shellQuote',
    ]) {
      expect(typeof (api as Record<string, unknown>)[name]).toBe('function');
      expect((api as Record<string, unknown>)[name]).toBe((rotation as Record<string, unknown>)[name]);
    }
  });
});
