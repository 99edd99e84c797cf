/**
 * `lib/rotation`: cdktf constructs that declare a certificate rotation as
 * Terraform resources (write-and-verify steps), one construct per file.
 */
export { contentRevision, fieldManagerName, shellQuote, canonicalJson, RotationPropError, RotationBaseProps } from './common';
export * from './cluster-step';
export * from './tls-certificate-secret';
export * from './rancher-ingress-certificate';
export * from './rancher-ca-secret';
export * from './rancher-helm-values';
export * from './cacerts-gate';
export * from './agent-ca-checksum';
export * from './fleet-force-update';
export * from './rancher-cluster-certificate-rotation';
export * from './rollout-restart';
export * from './rancher-server-rotation';
export * from './rancher-downstream-trust';
export * from './node-command';
export * from './rke2-certificate-rotation';
export * from './rke-certificate-rotation';
export * from './rancher-container-certificate-rotation';
export * from './kubeadm-ca-rotation';
export * from './kubeadm-certificate-renewal';
