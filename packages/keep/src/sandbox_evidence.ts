/**
 * Produce sandbox evidence: the software statement a `sandbox` Keep signs with
 * its host's sandbox key. The layout is the "Sandbox evidence" table of
 * README.md (format version 1); `@donjon/attest` parses and verifies it
 * (`parseSandboxEvidence`, `attestSandbox`), and the round-trip test holds the
 * two to the same table.
 *
 * Pure WebCrypto; time is injected (`issuedAt`).
 */
import { KeepError } from "./error.ts";
import { REPORT_DATA_SIZE, WORKLOAD_IDENTITY_SIZE } from "./identity.ts";

/** Size of a sandbox evidence record. */
export const SANDBOX_EVIDENCE_SIZE = 0x150;
/** Size of the runtime measurement (SHA-384). */
export const RUNTIME_MEASUREMENT_SIZE = 48;

const SIGNED_SIZE = 0xf0;

/** A host sandbox signing key as the Keep runtime holds it. */
export interface SandboxSigner {
  /** ECDSA P-384 private key with usage "sign". */
  privateKey: CryptoKey;
  /** DER SubjectPublicKeyInfo of the matching public key (its SHA-256 is the host key id). */
  spki: Uint8Array;
}

/** Input of {@link createSandboxEvidence}. */
export interface SandboxEvidenceInput {
  /** The host's sandbox key (see `loadOrCreateSandboxKey`). */
  signer: SandboxSigner;
  /** SHA-384 of the Keep runtime's files, 48 bytes; computing it is the caller's job. */
  runtimeMeasurement: Uint8Array;
  /** The workload identity, 32 bytes (`workloadIdentity`). */
  workloadIdentity: Uint8Array;
  /** The binding, 64 bytes (`reportData`). */
  reportData: Uint8Array;
  /** When the statement is issued; millisecond precision, at or after 1970-01-01. */
  issuedAt: Date;
  /** WebCrypto implementation. Default: `globalThis.crypto`. */
  crypto?: Crypto;
}

/**
 * Build and sign one sandbox evidence record (336 bytes).
 *
 * @throws {KeepError} `keep.identity.input` when a field has the wrong size or the time is invalid.
 */
export async function createSandboxEvidence(input: SandboxEvidenceInput): Promise<Uint8Array> {
  const crypto = input.crypto ?? globalThis.crypto;
  need("runtimeMeasurement", input.runtimeMeasurement, RUNTIME_MEASUREMENT_SIZE);
  need("workloadIdentity", input.workloadIdentity, WORKLOAD_IDENTITY_SIZE);
  need("reportData", input.reportData, REPORT_DATA_SIZE);
  const ms = input.issuedAt instanceof Date ? input.issuedAt.getTime() : Number.NaN;
  if (!Number.isInteger(ms) || ms < 0) {
    throw new KeepError("keep.identity.input", "issuedAt: expected a valid Date at or after 1970");
  }
  if (!(input.signer?.spki instanceof Uint8Array) || input.signer.spki.length === 0) {
    throw new KeepError("keep.identity.input", "signer.spki: expected a DER SubjectPublicKeyInfo");
  }
  const keyId = new Uint8Array(
    await crypto.subtle.digest("SHA-256", input.signer.spki as Uint8Array<ArrayBuffer>),
  );

  const out = new Uint8Array(SANDBOX_EVIDENCE_SIZE);
  const view = new DataView(out.buffer);
  const ascii = (s: string, at: number) => out.set(new TextEncoder().encode(s), at);
  ascii("donjon-evidence", 0x000); // MAGIC, NUL-padded to 16
  view.setUint32(0x010, 1, false); // VERSION
  // 0x014–0x017 RESERVED, zero
  ascii("sandbox", 0x018); // TEE, NUL-padded to 16
  ascii("software", 0x028); // TIER, NUL-padded to 16
  view.setBigUint64(0x038, BigInt(ms), false); // ISSUED_AT, ms since the epoch
  out.set(keyId, 0x040); // HOST_KEY_ID
  out.set(input.runtimeMeasurement, 0x060); // RUNTIME_MEASUREMENT
  out.set(input.workloadIdentity, 0x090); // WORKLOAD_IDENTITY
  out.set(input.reportData, 0x0b0); // REPORT_DATA
  const signature = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-384" },
      input.signer.privateKey,
      out.subarray(0, SIGNED_SIZE),
    ),
  );
  out.set(signature, SIGNED_SIZE); // SIGNATURE, r ‖ s (IEEE P1363)
  return out;
}

function need(name: string, v: Uint8Array, size: number): void {
  if (!(v instanceof Uint8Array) || v.length !== size) {
    const got = v instanceof Uint8Array ? `${v.length} bytes` : typeof v;
    throw new KeepError("keep.identity.input", `${name}: expected ${size} bytes, got ${got}`);
  }
}
