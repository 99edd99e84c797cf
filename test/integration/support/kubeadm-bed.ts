/**
 * The test bed's kubeadm cluster (`testbed up --kubeadm`, docs/testbed.md "The
 * kubeadm cluster") as the kubeadm tests use it: its env, the control-plane
 * node's directories, and the certificate its API server presents.
 */
import { X509Certificate } from 'crypto';
import * as path from 'path';
import * as tls from 'tls';
import { loadTestbedEnv } from '../../../scripts/testbed/client';

/** The bed's env and the control-plane node's root, certificate and kubeconfig directories; throws without a kubeadm cluster. */
export function kubeadmBed(): { env: Record<string, string>; root: string; certDir: string; kubernetesDir: string } {
  const env = loadTestbedEnv();
  if (!env.TESTBED_KUBEADM_NODE_ROOT) {
    throw new Error('the test bed has no kubeadm cluster: start it with scripts/testbed/testbed up --kubeadm');
  }
  const root = env.TESTBED_KUBEADM_NODE_ROOT;
  return { env, root, certDir: path.join(root, 'etc/kubernetes/pki'), kubernetesDir: path.join(root, 'etc/kubernetes') };
}

/** The certificate the API server at `server` (https://host:port) presents, unverified. */
export function servedCertificate(server: string): Promise<X509Certificate> {
  const u = new URL(server);
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false, servername: 'localhost' }, () => {
      const raw = s.getPeerCertificate().raw;
      s.end();
      resolve(new X509Certificate(raw));
    });
    s.on('error', reject);
  });
}
