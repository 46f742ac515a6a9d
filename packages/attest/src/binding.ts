/**
 * The binding of a Keep's key and workload into its evidence (DESIGN.md,
 * "Identity and binding"; byte layouts in packages/keep/README.md, "Workload
 * identity and report_data"):
 *
 * - workload identity = SHA-256("donjon-workload-v1" ‖ 0x00 ‖ wasm digest ‖ config digest),
 *   both digests raw 32-byte SHA-256 values;
 * - report_data = SHA-512("donjon-keep-v1" ‖ 0x00 ‖ SPKI-DER ‖ workload identity).
 *
 * The Keep computes both before asking for evidence; a verifier (the Steward,
 * `donjon attest verify`) recomputes them from the key and digests it was given
 * and compares. They live here, not in @donjon/keep, so that both sides run the
 * same code. Pure WebCrypto, injected.
 */
import { OptionsError } from "./error.ts";

/** Tag of the workload identity encoding (19 bytes with its NUL). */
export const WORKLOAD_IDENTITY_TAG = "donjon-workload-v1";
/** Tag of the report_data binding (15 bytes with its NUL). */
export const REPORT_DATA_TAG = "donjon-keep-v1";
/** Size of a workload identity (SHA-256). */
export const WORKLOAD_IDENTITY_SIZE = 32;
/** Size of report_data (SHA-512). */
export const REPORT_DATA_SIZE = 64;
/** Size of the wasm and config digests (SHA-256). */
export const WORKLOAD_DIGEST_SIZE = 32;

/** Options shared by the binding functions. */
export interface BindingOptions {
  /** WebCrypto implementation. Default: `globalThis.crypto`. */
  crypto?: Crypto;
}

/**
 * The 83 bytes hashed into the workload identity: tag, NUL, wasm digest, config digest.
 *
 * @throws {OptionsError} `options.invalid` when a digest is not 32 bytes.
 */
export function workloadIdentityInput(
  wasmDigest: Uint8Array,
  configDigest: Uint8Array,
): Uint8Array {
  need("wasmDigest", wasmDigest, WORKLOAD_DIGEST_SIZE);
  need("configDigest", configDigest, WORKLOAD_DIGEST_SIZE);
  const tag = new TextEncoder().encode(WORKLOAD_IDENTITY_TAG);
  const out = new Uint8Array(tag.length + 1 + 2 * WORKLOAD_DIGEST_SIZE);
  out.set(tag, 0);
  out.set(wasmDigest, tag.length + 1);
  out.set(configDigest, tag.length + 1 + WORKLOAD_DIGEST_SIZE);
  return out;
}

/**
 * The workload identity: SHA-256 over the tag, a NUL, the SHA-256 of the
 * `.wasm` bytes and the SHA-256 of the config bytes (both raw, 32 bytes each).
 *
 * @throws {OptionsError} `options.invalid` when a digest is not 32 bytes.
 */
export async function workloadIdentity(
  wasmDigest: Uint8Array,
  configDigest: Uint8Array,
  options: BindingOptions = {},
): Promise<Uint8Array> {
  const crypto = options.crypto ?? globalThis.crypto;
  const input = workloadIdentityInput(wasmDigest, configDigest);
  return new Uint8Array(await crypto.subtle.digest("SHA-256", input as Uint8Array<ArrayBuffer>));
}

/**
 * report_data = SHA-512("donjon-keep-v1" ‖ 0x00 ‖ SPKI-DER ‖ workload identity): 64 bytes,
 * binding the Keep key to the workload in the evidence.
 *
 * @throws {OptionsError} `options.invalid` for an empty SPKI or an identity that is not 32 bytes.
 */
export async function reportData(
  spkiDer: Uint8Array,
  identity: Uint8Array,
  options: BindingOptions = {},
): Promise<Uint8Array> {
  const crypto = options.crypto ?? globalThis.crypto;
  if (!(spkiDer instanceof Uint8Array) || spkiDer.length === 0) {
    throw new OptionsError(
      "options.invalid",
      "reportData: spkiDer: expected a non-empty DER SubjectPublicKeyInfo",
    );
  }
  need("workload identity", identity, WORKLOAD_IDENTITY_SIZE);
  const tag = new TextEncoder().encode(REPORT_DATA_TAG);
  const input = new Uint8Array(tag.length + 1 + spkiDer.length + identity.length);
  input.set(tag, 0);
  input.set(spkiDer, tag.length + 1);
  input.set(identity, tag.length + 1 + spkiDer.length);
  return new Uint8Array(await crypto.subtle.digest("SHA-512", input));
}

function need(name: string, v: Uint8Array, size: number): void {
  if (!(v instanceof Uint8Array)) {
    throw new OptionsError("options.invalid", `${name}: expected ${size} bytes as a Uint8Array`);
  }
  if (v.length !== size) {
    throw new OptionsError("options.invalid", `${name}: expected ${size} bytes, got ${v.length}`);
  }
}
