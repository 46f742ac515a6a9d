/**
 * @donjon/attest/dcap — Intel DCAP (SGX and TDX quotes): parse, verify, collateral,
 * TCB evaluation, validate, and the one entry point `attestDcap`. Also re-exported
 * by the package root.
 */
export type { ParseDcapQuoteOptions } from "./abi.ts";
export {
  PCK_CHAIN_LENGTH,
  parseDcapQuote,
  parsePckExtensions,
  QUOTE_HEADER_SIZE,
  SGX_REPORT_BODY_SIZE,
  TD10_BODY_SIZE,
  TD15_BODY_SIZE,
} from "./abi.ts";
export type {
  AttestDcapOptions,
  DcapClaims,
  DcapClaimsTcbPart,
  DcapCollateralSource,
  DcapVerdict,
  DcapVerifier,
  DcapVerifierOptions,
} from "./attest.ts";
export {
  attestDcap,
  createDcapVerifier,
  dcapClaims,
} from "./attest.ts";
export type {
  DcapCollateralResult,
  DcapCollateralVerifier,
  DcapCollateralVerifierOptions,
  DcapCollateralVerifyOptions,
  DcapCrl,
  IdentityTcbLevel,
  QeIdentity,
  TcbInfo,
  TcbLevel,
  TdxModule,
  TdxModuleIdentity,
} from "./collateral.ts";
export {
  createDcapCollateralVerifier,
  INTEL_PCK_CA_CN,
  INTEL_ROOT_CN,
  INTEL_TCB_SIGNING_CN,
  normalizeSerial,
  parseDcapCrl,
  parseQeIdentity,
  parseTcbInfo,
  revokedAt,
  verifyDcapCollateral,
} from "./collateral.ts";
export type {
  DcapCollateralFile,
  PcsCache,
  PcsCacheEntry,
  PcsClient,
  PcsClientOptions,
  PcsCrl,
  PcsSignedBody,
} from "./pcs.ts";
export {
  createMemoryPcsCache,
  createPcsClient,
  INTEL_PCS_URL,
  INTEL_ROOT_CA_CRL_URL,
  offlineCollateral,
  pcsBaseUrl,
  pcsPckCrlUrl,
  pcsQeIdentityUrl,
  pcsTcbInfoUrl,
} from "./pcs.ts";
export type {
  DcapCertificateInput,
  DcapCrlInput,
  DcapQuoteCrls,
  DcapQuoteVerifier,
  DcapQuoteVerifierOptions,
  DcapQuoteVerifyOptions,
  DcapQuoteVerifyResult,
} from "./quote_verify.ts";
export {
  createDcapQuoteVerifier,
  INTEL_QE_VENDOR_ID,
  verifyDcapQuoteSignatures,
} from "./quote_verify.ts";
export {
  INTEL_SGX_ROOT_CA,
  INTEL_SGX_ROOT_CA_SHA256,
} from "./roots/intel.ts";
export type {
  EvaluateTcbInput,
  TcbResult,
} from "./tcb.ts";
export { evaluateTcb } from "./tcb.ts";
export type {
  DcapCollateral,
  DcapQuote,
  PckExtensions,
  QuoteHeader,
  SgxReportBody,
  TcbEvaluation,
  TcbStatus,
  TdReportBody,
} from "./types.ts";
export { ACCEPTABLE_TCB_STATUSES, TCB_STATUSES } from "./types.ts";
export type {
  DcapAllowed,
  DcapBytesLike,
  DcapValidateOptions,
  ResolvedDcapValidateOptions,
} from "./validate.ts";
export {
  isDebug,
  resolveDcapValidateOptions,
  validateDcapQuote,
} from "./validate.ts";
