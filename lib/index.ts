/**
 * The public API of cert-rotation: pure certificate logic (`lib/pki`), the
 * cdktf constructs that turn a rotation into a Terraform plan (`lib/rotation`),
 * the keys they write into a cluster (`lib/contract`) and the defaults they
 * share with the configuration file (`lib/rules`).
 */
export * from './pki';
export * from './rotation';
export {
  ANNOTATION_PREFIX,
  ANNOTATIONS,
  CATTLE_CA_CHECKSUM,
  FIELD_MANAGER_PREFIX,
  CertificateFacts,
  certificateMetadata,
  caBundleMetadata,
  trustAnnotations,
} from './contract';
export { DEFAULTS, WORKLOAD_KINDS, Workload, WorkloadKind } from './rules';
export { CLUSTER_AGENT, NODE_AGENT, DISTRIBUTIONS, Distribution, rancherAgents, parseRancherVersion } from './rancher-agents';
export { STEP_ENV, StepSpec, StepTarget, StepWorkload } from './steps/spec';
