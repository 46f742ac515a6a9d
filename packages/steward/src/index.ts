/**
 * @donjon/steward — the attestation service and certificate authority.
 * Public surface (named exports only; `_*.ts` files are internal).
 */
export type { BuildCsrOptions, CsrExtension, ParsedCsr } from "./csr.ts";
export { buildCsr, CSR_MAX_SIZE, findEvidenceExtension, parseCsr, verifyCsr } from "./csr.ts";
export type { CheckCode, DecideContext, Decision, IssueClaims } from "./decide.ts";
export { CHECK_CODES, decide } from "./decide.ts";
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
export type {
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
