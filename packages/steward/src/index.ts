/**
 * @donjon/steward — the attestation service and certificate authority.
 * Public surface (named exports only; `_*.ts` files are internal).
 */
export type { StewardAppOptions } from "./app.ts";
export {
  authenticate,
  CHAIN_MEDIA_TYPE,
  CRL_MEDIA_TYPE,
  CSR_MEDIA_TYPE,
  HttpProblem,
  MAX_PAGE,
  ROUTES,
  stewardApp,
} from "./app.ts";
export type {
  Ca,
  CertAndKey,
  CreateCaOptions,
  CrlEntry,
  IssueKeepOptions,
  IssueTlsOptions,
  KeepCertClaims,
  KeepCertificate,
  RevocationReason,
  SanName,
} from "./ca.ts";
export {
  BACKDATE_MS,
  createCa,
  crl,
  decodeKeepClaims,
  encodeKeepClaims,
  findKeepClaimsExtension,
  importKeyPem,
  issueKeepCert,
  issueTlsCert,
  KEEP_CLAIMS_OID,
  KEEP_CLAIMS_OID_DER,
  KEEP_CLAIMS_VERSION,
  loadCa,
  REVOCATION_REASONS,
  randomSerial,
  readKeyFile,
  toPem,
  writeKeyFile,
  writeNewFile,
} from "./ca.ts";
export type { ListenAddress, StewardConfig, StewardDcapConfig, StewardLimits } from "./config.ts";
export {
  CONFIG_DEFAULTS,
  formatListen,
  isLoopback,
  MIN_ADMIN_TOKEN_LENGTH,
  parseConfig,
  parseDuration,
  parseListen,
  parseSize,
} from "./config.ts";
export type { BuildCsrOptions, CsrExtension, ParsedCsr } from "./csr.ts";
export { buildCsr, CSR_MAX_SIZE, findEvidenceExtension, parseCsr, verifyCsr } from "./csr.ts";
export type { CollateralFileInput, StewardDcapSourceOptions } from "./dcap.ts";
export { createStewardDcapSource } from "./dcap.ts";
export type { CheckCode, DecideContext, Decision, IssueClaims } from "./decide.ts";
export { CHECK_CODES, decide } from "./decide.ts";
export type { StewardErrorCode, StewardErrorOptions } from "./error.ts";
export { STEWARD_ERRORS, StewardError } from "./error.ts";
export type { EvidenceExtension, EvidenceFormat, RawExtension } from "./evidence_ext.ts";
export {
  decodeEvidenceExtension,
  EVIDENCE_EXTENSION_MAX_SIZE,
  EVIDENCE_OIDS,
  encodeEvidenceExtension,
  OID_CMW,
  OID_ENARX_KVM,
  OID_ENARX_SGX,
  OID_ENARX_SNP,
} from "./evidence_ext.ts";
export type { InitOptions, InitResult } from "./init.ts";
export { DEFAULT_POLICY_TEXT, INIT_FILES, initSteward } from "./init.ts";
export type { MetricsOptions, StewardMetrics } from "./metrics.ts";
export { createMetrics } from "./metrics.ts";
export type { ResponseDoc, RouteDoc } from "./openapi.ts";
export { openApiDocument } from "./openapi.ts";
export type {
  IntelTcbStatus,
  IntelTeePolicy,
  ParsePolicyOptions,
  SandboxTeePolicy,
  SanEntry,
  SnpMinTcb,
  SnpTeePolicy,
  StewardPolicy,
  TeePolicy,
} from "./policy.ts";
export {
  DEFAULT_LIFETIME_MS,
  defaultPolicy,
  INTEL_TCB_STATUSES,
  MAX_LIFETIME_MS,
  MIN_LIFETIME_MS,
  parsePolicy,
} from "./policy.ts";
export type { FailedCheck, MalformedCode, Problem } from "./problem.ts";
export {
  MALFORMED_CODES,
  MalformedRequestError,
  malformedProblem,
  PROBLEM_MEDIA_TYPE,
  PROBLEM_TYPE_BASE,
  refusalProblem,
  tooLargeProblem,
} from "./problem.ts";
export type { RunningSteward, StartStewardOptions } from "./server.ts";
export { startSteward } from "./server.ts";
