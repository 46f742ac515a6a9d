/**
 * The Keep's identity and its binding into evidence (DESIGN.md, "Identity and
 * binding"; formats in README.md, "Workload identity and report_data"):
 *
 * - workload identity and report_data: computed by `@donjon/attest`
 *   (`src/binding.ts`) and re-exported here, so that the Keep and every
 *   verifier run the same code;
 * - the Keep key: ECDSA P-384, generated inside the Keep, private half non-extractable.
 *
 * Pure WebCrypto: runs wherever the Keep runtime runs.
 */
export {
  REPORT_DATA_SIZE,
  REPORT_DATA_TAG,
  reportData,
  WORKLOAD_IDENTITY_SIZE,
  WORKLOAD_IDENTITY_TAG,
  workloadIdentity,
  workloadIdentityInput,
} from "@donjon/attest/binding";

/** Options shared by the identity functions. */
export interface IdentityOptions {
  /** WebCrypto implementation. Default: `globalThis.crypto`. */
  crypto?: Crypto;
}

/** The Keep's key pair: the private key never leaves the Keep. */
export interface KeepKey {
  /** ECDSA P-384 private key, non-extractable (`extractable === false`). */
  privateKey: CryptoKey;
  /** The matching public key. */
  publicKey: CryptoKey;
  /** DER SubjectPublicKeyInfo of `publicKey`: what report_data binds and the CSR carries. */
  spki: Uint8Array;
}

/** Generate the Keep's ECDSA P-384 key pair; the private key cannot be exported. */
export async function generateKeepKey(options: IdentityOptions = {}): Promise<KeepKey> {
  const crypto = options.crypto ?? globalThis.crypto;
  const pair = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, false, [
    "sign",
    "verify",
  ]);
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey));
  return { privateKey: pair.privateKey, publicKey: pair.publicKey, spki };
}
