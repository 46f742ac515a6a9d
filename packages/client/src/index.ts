/**
 * @donjon/client — check, before sending any data, that a TLS peer is a
 * genuine Keep certified by your Steward and running the expected workload.
 * Public surface (named exports only).
 */
export type {
  FetchPeerChainOptions,
  KeepAgentOptions,
  KeepConnectOptions,
  KeepCrlSource,
} from "./connect.ts";
export { connectKeep, fetchPeerChain, keepAgent, parseTarget, peerChain } from "./connect.ts";
export type { CrlFetch, FetchStewardCrlOptions } from "./crl.ts";
export { CRL_MAX_SIZE, fetchStewardCrl } from "./crl.ts";
export type { ClientCode, ClientCodeInfo, ClientErrorOptions } from "./error.ts";
export { CLIENT_ERRORS, ClientError } from "./error.ts";
export type {
  KeepCertificateInfo,
  KeepPeerPolicy,
  KeepVerdict,
  StewardTrust,
  VerifyKeepOptions,
} from "./verify.ts";
export { stewardTrust, throwIfRefused, verifyKeepCertificate } from "./verify.ts";
