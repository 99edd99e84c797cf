/**
 * The public API of cert-rotation: pure certificate logic (`lib/pki`) and the
 * cdktf constructs that turn a rotation into a Terraform plan (`lib/rotation`).
 */
export * from './pki';
export * from './rotation';
