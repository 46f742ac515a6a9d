/**
 * Parse Donjon sandbox evidence: structure only (size, magic, version,
 * reserved-must-be-zero, the TEE and tier labels). It never judges policy
 * (`validate.ts`) and never checks the signature (`verify.ts`).
 *
 * Layout: the "Sandbox evidence" table in packages/keep/README.md, format
 * version 1. One fixed-size record, integers big-endian, no optional fields:
 * a record of any other size, or with any byte outside the table's rules, is
 * rejected, so there is no unknown field to skip and nothing to re-encode.
 */
import { bytesEqual, hexOffset, nonZeroOffsets, toHex } from "../_bytes.ts";
import { EvidenceError } from "../error.ts";

// ── Sandbox evidence, format version 1 (packages/keep/README.md) ───────────

const MAGIC = 0x000;
const MAGIC_SIZE = 16;
const VERSION = 0x010;
const VERSION_SIZE = 4;
const RESERVED = 0x014;
const RESERVED_SIZE = 4;
const TEE = 0x018;
const TEE_SIZE = 16;
const TIER = 0x028;
const TIER_SIZE = 16;
const ISSUED_AT = 0x038;
const ISSUED_AT_SIZE = 8;
const HOST_KEY_ID = 0x040;
const HOST_KEY_ID_SIZE = 32;
const RUNTIME_MEASUREMENT = 0x060;
const RUNTIME_MEASUREMENT_SIZE = 48;
const WORKLOAD_IDENTITY = 0x090;
const WORKLOAD_IDENTITY_SIZE = 32;
const REPORT_DATA = 0x0b0;
const REPORT_DATA_SIZE = 64;
const SIGNATURE = 0x0f0;
const SIGNATURE_SIZE = 96;

/** Bytes 0x000–0x0EF are signed (ECDSA P-384, SHA-384). */
export const SANDBOX_SIGNED_REGION_SIZE = SIGNATURE;
/** Size of the whole record. */
export const SANDBOX_EVIDENCE_SIZE = SIGNATURE + SIGNATURE_SIZE;
/** The only format version this parser knows. */
export const SANDBOX_EVIDENCE_VERSION = 1;

const ascii = (s: string, size: number): Uint8Array => {
  const out = new Uint8Array(size);
  out.set(new TextEncoder().encode(s));
  return out;
};

/** `donjon-evidence` then one NUL: 16 bytes. */
const MAGIC_BYTES = ascii("donjon-evidence", MAGIC_SIZE);
const TEE_BYTES = ascii("sandbox", TEE_SIZE);
const TIER_BYTES = ascii("software", TIER_SIZE);

/** Parsed sandbox evidence. Byte fields are views of the input. */
export interface SandboxEvidence {
  version: 1;
  /** Always `"sandbox"`: the parser rejects any other label. */
  tee: "sandbox";
  /** Always `"software"`: no hardware protects this Keep. */
  tier: "software";
  /** When the Keep runtime signed the statement (millisecond precision). */
  issuedAt: Date;
  /** SHA-256 of the DER SubjectPublicKeyInfo of the host's sandbox key. */
  hostKeyId: Uint8Array;
  /** SHA-384 over the Keep runtime's files (as the host computed it). */
  runtimeMeasurement: Uint8Array;
  /** The workload identity (SHA-256, packages/keep README "Workload identity"). */
  workloadIdentity: Uint8Array;
  /** SHA-512 binding of the Keep key and the workload identity. */
  reportData: Uint8Array;
  /** ECDSA P-384 signature, r ‖ s, 48 bytes each (IEEE P1363). */
  signature: Uint8Array;
  /** The signed bytes 0x000–0x0EF as received. */
  signedRegion: Uint8Array;
  /** The whole record as received. */
  raw: Uint8Array;
}

/** The fields of the record, in layout order: name, offset, size (for tamper tests and tooling). */
export const SANDBOX_EVIDENCE_FIELDS: readonly { name: string; offset: number; size: number }[] = [
  { name: "magic", offset: MAGIC, size: MAGIC_SIZE },
  { name: "version", offset: VERSION, size: VERSION_SIZE },
  { name: "reserved", offset: RESERVED, size: RESERVED_SIZE },
  { name: "tee", offset: TEE, size: TEE_SIZE },
  { name: "tier", offset: TIER, size: TIER_SIZE },
  { name: "issued_at", offset: ISSUED_AT, size: ISSUED_AT_SIZE },
  { name: "host_key_id", offset: HOST_KEY_ID, size: HOST_KEY_ID_SIZE },
  { name: "runtime_measurement", offset: RUNTIME_MEASUREMENT, size: RUNTIME_MEASUREMENT_SIZE },
  { name: "workload_identity", offset: WORKLOAD_IDENTITY, size: WORKLOAD_IDENTITY_SIZE },
  { name: "report_data", offset: REPORT_DATA, size: REPORT_DATA_SIZE },
  { name: "signature", offset: SIGNATURE, size: SIGNATURE_SIZE },
];

/**
 * Parse one sandbox evidence record (exactly 336 bytes).
 *
 * @throws {EvidenceError} `sandbox.evidence.*` naming the field, the expected and the actual value.
 */
export function parseSandboxEvidence(bytes: Uint8Array): SandboxEvidence {
  if (!(bytes instanceof Uint8Array)) {
    throw new EvidenceError("sandbox.evidence.size", "expected sandbox evidence as a Uint8Array");
  }
  if (bytes.length !== SANDBOX_EVIDENCE_SIZE) {
    throw new EvidenceError(
      "sandbox.evidence.size",
      `expected ${SANDBOX_EVIDENCE_SIZE}-byte sandbox evidence, got ${bytes.length}`,
    );
  }
  const field = (offset: number, size: number) => bytes.subarray(offset, offset + size);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);

  const magic = field(MAGIC, MAGIC_SIZE);
  if (!bytesEqual(magic, MAGIC_BYTES)) {
    throw new EvidenceError(
      "sandbox.evidence.magic",
      `expected magic ${toHex(MAGIC_BYTES)} ("donjon-evidence\\0") at ${hexOffset(MAGIC)}, got ${toHex(magic)}`,
    );
  }
  const version = view.getUint32(VERSION, false);
  if (version !== SANDBOX_EVIDENCE_VERSION) {
    throw new EvidenceError(
      "sandbox.evidence.version",
      `expected sandbox evidence version ${SANDBOX_EVIDENCE_VERSION}, got ${version}`,
    );
  }
  const reserved = nonZeroOffsets(field(RESERVED, RESERVED_SIZE), RESERVED);
  if (reserved.length > 0) {
    throw new EvidenceError(
      "sandbox.evidence.reserved",
      `expected zero reserved bytes ${hexOffset(RESERVED)}–${hexOffset(RESERVED + RESERVED_SIZE - 1)}, got non-zero at ${reserved.map((o) => hexOffset(o)).join(", ")} (${toHex(field(RESERVED, RESERVED_SIZE))})`,
    );
  }
  const tee = field(TEE, TEE_SIZE);
  if (!bytesEqual(tee, TEE_BYTES)) {
    throw new EvidenceError(
      "sandbox.evidence.tee",
      `expected TEE "sandbox" NUL-padded to 16 bytes at ${hexOffset(TEE)}, got ${toHex(tee)}`,
    );
  }
  const tier = field(TIER, TIER_SIZE);
  if (!bytesEqual(tier, TIER_BYTES)) {
    throw new EvidenceError(
      "sandbox.evidence.tier",
      `expected tier "software" NUL-padded to 16 bytes at ${hexOffset(TIER)}, got ${toHex(tier)}`,
    );
  }
  const issuedAtMs = view.getBigUint64(ISSUED_AT, false);
  if (issuedAtMs > 8_640_000_000_000_000n) {
    // Beyond the largest instant a Date can hold (ECMA-262 §21.4.1.1).
    throw new EvidenceError(
      "sandbox.evidence.issued_at",
      `expected issued_at at most 8640000000000000 ms since the epoch, got ${issuedAtMs}`,
    );
  }
  return {
    version: 1,
    tee: "sandbox",
    tier: "software",
    issuedAt: new Date(Number(issuedAtMs)),
    hostKeyId: field(HOST_KEY_ID, HOST_KEY_ID_SIZE),
    runtimeMeasurement: field(RUNTIME_MEASUREMENT, RUNTIME_MEASUREMENT_SIZE),
    workloadIdentity: field(WORKLOAD_IDENTITY, WORKLOAD_IDENTITY_SIZE),
    reportData: field(REPORT_DATA, REPORT_DATA_SIZE),
    signature: field(SIGNATURE, SIGNATURE_SIZE),
    signedRegion: field(0, SANDBOX_SIGNED_REGION_SIZE),
    raw: bytes,
  };
}
