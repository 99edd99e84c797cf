import * as api from '../../../lib';
import * as pki from '../../../lib/pki';
import * as rotation from '../../../lib/rotation';

describe('lib/index', () => {
  test('exports lib/pki and every rotation construct', () => {
    // GIVEN the package entry point THEN the pki functions and the constructs are reachable from it
    for (const name of ['loadServerCertificate', 'certificateMetadata', 'sha256Hex', 'cattleCaChecksum', 'generateCa', 'generateLeaf']) {
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
