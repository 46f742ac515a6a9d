/**
 * @donjon/attest — parse, validate and verify TEE evidence. Public surface.
 * Pure: no `node:*` imports; crypto (WebCrypto), time and fetch are injected.
 */
export type { Code, CodeInfo, EvidenceCode, PolicyCode, UsageCode } from "./codes.ts";
export { CODES } from "./codes.ts";
export { EvidenceError, OptionsError, PolicyError } from "./error.ts";
export type { Check } from "./verdict.ts";
