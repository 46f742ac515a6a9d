/**
 * @donjon/keep — Keeps. Today: the backend table, the platform probes behind
 * a port, and the backend choice. The sandbox process, the sallyport channel
 * and evidence come next (issue 4).
 */
export {
  AUTO_ORDER,
  BACKEND_NAMES,
  type BackendName,
  type BackendReport,
  kernelVersion,
  type Probe,
  pickBackend,
  probeBackends,
  TSM_MIN_KERNEL,
} from "./backends.ts";
export { KeepError, type KeepErrorCode, type KeepErrorOptions } from "./error.ts";
export {
  GRAMINE_DEFAULT_ENCLAVE_SIZE,
  GRAMINE_DEFAULT_MAX_THREADS,
  type GramineManifestOptions,
  gramineManifest,
} from "./gramine/manifest.ts";
export { GRAMINE_ATTESTATION_DIR, type GraminePort } from "./gramine/port.ts";
export { linuxGraminePort } from "./gramine/port_linux.ts";
export {
  GRAMINE_QUOTE_MAX,
  GRAMINE_REPORT_DATA_SIZE,
  type GramineQuote,
  type GramineQuoteOptions,
  getGramineQuote,
} from "./gramine/quote.ts";
export {
  generateKeepKey,
  type IdentityOptions,
  type KeepKey,
  REPORT_DATA_SIZE,
  REPORT_DATA_TAG,
  reportData,
  WORKLOAD_IDENTITY_SIZE,
  WORKLOAD_IDENTITY_TAG,
  workloadIdentity,
  workloadIdentityInput,
} from "./identity.ts";
export type { PlatformPort } from "./platform.ts";
export { type FakeMachine, fakePlatformPort } from "./platform_fake.ts";
export { type NodePlatformPortOptions, nodePlatformPort } from "./platform_node.ts";
export {
  createSandboxEvidence,
  RUNTIME_MEASUREMENT_SIZE,
  SANDBOX_EVIDENCE_SIZE,
  type SandboxEvidenceInput,
  type SandboxSigner,
} from "./sandbox_evidence.ts";
export {
  loadOrCreateSandboxKey,
  SANDBOX_KEY_FILE,
  SANDBOX_PUBLIC_KEY_FILE,
  type SandboxKey,
  type SandboxKeyOptions,
} from "./sandbox_key.ts";
export { TSM_REPORT_DIR, type TsmPort } from "./tsm/port.ts";
export { type LinuxTsmPortOptions, linuxTsmPort } from "./tsm/port_linux.ts";
export {
  getTsmReport,
  TSM_INBLOB_SIZE,
  TSM_OUTBLOB_MAX,
  TSM_PROVIDERS,
  type TsmProvider,
  type TsmReport,
  type TsmReportOptions,
} from "./tsm/report.ts";
