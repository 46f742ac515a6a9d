/**
 * @donjon/attest — parse, validate and verify TEE evidence. Public surface.
 * Pure: no `node:*` imports; crypto (WebCrypto), time and fetch are injected.
 */
export type { BindingOptions } from "./binding.ts";
export {
  REPORT_DATA_SIZE,
  REPORT_DATA_TAG,
  reportData,
  WORKLOAD_DIGEST_SIZE,
  WORKLOAD_IDENTITY_SIZE,
  WORKLOAD_IDENTITY_TAG,
  workloadIdentity,
  workloadIdentityInput,
} from "./binding.ts";
export type { KeepBinding, KeepBindingOptions, KeepEvidence, KeepTee } from "./cmw.ts";
export {
  CERT_MEDIA_TYPE,
  checkKeepBinding,
  DIGEST_MEDIA_TYPE,
  decodeKeepEvidence,
  encodeKeepEvidence,
  KEEP_EVIDENCE_CERTS_TYPE,
  KEEP_EVIDENCE_MAX_CERT,
  KEEP_EVIDENCE_MAX_CERTS,
  KEEP_EVIDENCE_MAX_EVIDENCE,
  KEEP_EVIDENCE_MAX_SIZE,
  KEEP_EVIDENCE_MEDIA_TYPE,
  KEEP_EVIDENCE_MEDIA_TYPES,
  KEEP_EVIDENCE_TYPE,
  KEEP_EVIDENCE_WORKLOAD_TYPE,
  KEEP_KEY_MEDIA_TYPE,
} from "./cmw.ts";
export type { Code, CodeInfo, EvidenceCode, PolicyCode, UsageCode } from "./codes.ts";
export { CODES } from "./codes.ts";
export type {
  AttestDcapOptions,
  DcapAllowed,
  DcapBytesLike,
  DcapCertificateInput,
  DcapClaims,
  DcapClaimsTcbPart,
  DcapCollateral,
  DcapCollateralFile,
  DcapCollateralResult,
  DcapCollateralSource,
  DcapCollateralVerifier,
  DcapCollateralVerifierOptions,
  DcapCollateralVerifyOptions,
  DcapCrl,
  DcapCrlInput,
  DcapQuote,
  DcapQuoteCrls,
  DcapQuoteVerifier,
  DcapQuoteVerifierOptions,
  DcapQuoteVerifyOptions,
  DcapQuoteVerifyResult,
  DcapValidateOptions,
  DcapVerdict,
  DcapVerifier,
  DcapVerifierOptions,
  EvaluateTcbInput,
  IdentityTcbLevel,
  ParseDcapQuoteOptions,
  PckExtensions,
  PcsCache,
  PcsCacheEntry,
  PcsClient,
  PcsClientOptions,
  PcsCrl,
  PcsSignedBody,
  QeIdentity,
  QuoteHeader,
  ResolvedDcapValidateOptions,
  SgxReportBody,
  TcbEvaluation,
  TcbInfo,
  TcbLevel,
  TcbResult,
  TcbStatus,
  TdReportBody,
  TdxModule,
  TdxModuleIdentity,
} from "./dcap/index.ts";
export {
  ACCEPTABLE_TCB_STATUSES,
  attestDcap,
  createDcapCollateralVerifier,
  createDcapQuoteVerifier,
  createDcapVerifier,
  createMemoryPcsCache,
  createPcsClient,
  dcapClaims,
  evaluateTcb,
  INTEL_PCK_CA_CN,
  INTEL_PCS_URL,
  INTEL_QE_VENDOR_ID,
  INTEL_ROOT_CA_CRL_URL,
  INTEL_ROOT_CN,
  INTEL_SGX_ROOT_CA,
  INTEL_SGX_ROOT_CA_SHA256,
  INTEL_TCB_SIGNING_CN,
  isDebug,
  normalizeSerial,
  offlineCollateral,
  PCK_CHAIN_LENGTH,
  parseDcapCrl,
  parseDcapQuote,
  parsePckExtensions,
  parseQeIdentity,
  parseTcbInfo,
  pcsBaseUrl,
  pcsPckCrlUrl,
  pcsQeIdentityUrl,
  pcsTcbInfoUrl,
  QUOTE_HEADER_SIZE,
  resolveDcapValidateOptions,
  revokedAt,
  SGX_REPORT_BODY_SIZE,
  TD10_BODY_SIZE,
  TD15_BODY_SIZE,
  validateDcapQuote,
  verifyDcapCollateral,
  verifyDcapQuoteSignatures,
} from "./dcap/index.ts";
export type { CollateralCode } from "./error.ts";
export { CollateralError, EvidenceError, OptionsError, PolicyError } from "./error.ts";
export type { SandboxEvidence } from "./sandbox/abi.ts";
export {
  parseSandboxEvidence,
  SANDBOX_EVIDENCE_FIELDS,
  SANDBOX_EVIDENCE_SIZE,
  SANDBOX_EVIDENCE_VERSION,
  SANDBOX_SIGNED_REGION_SIZE,
} from "./sandbox/abi.ts";
export type { AttestSandboxOptions, SandboxClaims, SandboxVerdict } from "./sandbox/attest.ts";
export { attestSandbox, sandboxClaims } from "./sandbox/attest.ts";
export type { SandboxBytes, SandboxValidateOptions } from "./sandbox/validate.ts";
export { validateSandboxEvidence } from "./sandbox/validate.ts";
export type { SandboxVerifyOptions, SandboxVerifyResult } from "./sandbox/verify.ts";
export {
  SANDBOX_DEFAULT_MAX_AGE_MS,
  SANDBOX_DEFAULT_MAX_CLOCK_SKEW_MS,
  sandboxHostKeyId,
  verifySandboxEvidence,
} from "./sandbox/verify.ts";
export type { ParseSnpReportOptions } from "./snp/abi.ts";
export {
  extractSnpReport,
  parseSnpReport,
  SNP_REPORT_FIELDS,
  SNP_REPORT_SIZE,
  SNP_REPORT_VERSIONS,
  SNP_SIGNED_REGION_SIZE,
  snpProductFromCpuid,
} from "./snp/abi.ts";
export type { AttestSnpOptions, SnpClaims, SnpClaimsTcb, SnpVerdict } from "./snp/attest.ts";
export { attestSnp, snpClaims } from "./snp/attest.ts";
export type { SnpCertTable, SnpCertTableEntry, SnpCertTableRole } from "./snp/certtable.ts";
export {
  parseSnpCertTable,
  SNP_CERT_GUIDS,
  SNP_CERT_TABLE_ENTRY_SIZE,
  SNP_CERT_TABLE_MAX_ENTRIES,
  SNP_CERT_TABLE_MAX_SIZE,
} from "./snp/certtable.ts";
export type {
  AmdCertRole,
  AmdCertTcb,
  Collateral,
  CollateralCertificate,
  CollateralCrl,
  CollateralFile,
  OfflineKdsOptions,
} from "./snp/collateral.ts";
export { createOfflineKds, parseCollateral } from "./snp/collateral.ts";
export type {
  AmdCertChain,
  KdsCache,
  KdsCacheEntry,
  KdsClient,
  KdsClientOptions,
  KdsKeyKind,
  KdsTcb,
  MemoryKdsCacheOptions,
  SnpCollateralSource,
} from "./snp/kds.ts";
export {
  AMD_KDS_URL,
  createKdsClient,
  createMemoryKdsCache,
  formatTcb,
  kdsCertChainUrl,
  kdsCrlUrl,
  kdsHwid,
  kdsVcekUrl,
  parseRetryAfter,
} from "./snp/kds.ts";
export type { CertificateBytes, SnpRootSet } from "./snp/roots/amd.ts";
export { AMD_SNP_ROOTS } from "./snp/roots/amd.ts";
export type {
  SnpFirmwareVersion,
  SnpPlatformInfo,
  SnpPolicy,
  SnpProduct,
  SnpReport,
  SnpSigningKey,
  SnpTcb,
} from "./snp/types.ts";
export type {
  BytesLike,
  SnpPlatformFlag,
  SnpTcbComponent,
  SnpValidateOptions,
} from "./snp/validate.ts";
export { throwIfRejected, validateSnpReport } from "./snp/validate.ts";
export type {
  CertificateInput,
  CrlInput,
  SnpEndorsementInfo,
  SnpVerifier,
  SnpVerifierOptions,
  SnpVerifyOptions,
  SnpVerifyResult,
} from "./snp/verify.ts";
export { createSnpVerifier, verifySnpReport } from "./snp/verify.ts";
export type { Check } from "./verdict.ts";
