/**
 * What `donjon attest verify` and `inspect` share for a Keep evidence wrapper
 * (@donjon/attest `decodeKeepEvidence`; format in packages/attest/README.md,
 * "The Keep evidence wrapper"): recognising one by content, decoding it into a
 * user-facing error, and the rows both print about the Keep.
 */
import {
  decodeKeepEvidence,
  EvidenceError,
  KEEP_EVIDENCE_MEDIA_TYPES,
  type KeepEvidence,
  type KeepTee,
  reportData,
  workloadIdentity,
} from "@donjon/attest";
import { CliError } from "../../error.ts";

/**
 * Whether `bytes` is a Keep evidence wrapper rather than raw evidence: it is
 * JSON, so it starts with `{` (after JSON whitespace). No raw format Donjon
 * reads starts so: an SNP report and a DCAP quote start with their version,
 * sandbox evidence with "donjon-evidence", hex text with a hex digit.
 */
export function isKeepEvidenceWrapper(bytes: Uint8Array): boolean {
  let i = 0;
  while (i < bytes.length && [0x20, 0x09, 0x0a, 0x0d].includes(bytes[i]!)) i++;
  return bytes[i] === 0x7b;
}

/** Decode the wrapper in `file`; a malformed one is exit 1 naming the rule it breaks. */
export function decodeWrapper(bytes: Uint8Array, file: string): KeepEvidence {
  try {
    return decodeKeepEvidence(bytes);
  } catch (e) {
    if (e instanceof EvidenceError) {
      throw new CliError("BAD_INPUT", `${file}: ${e.message} (${e.code})`, { cause: e });
    }
    throw e;
  }
}

/** Human names of the TEE kinds. */
export const TEE_NAMES: Readonly<Record<KeepTee, string>> = {
  sandbox: "sandbox (software tier, not confidential)",
  snp: "AMD SEV-SNP",
  tdx: "Intel TDX",
  sgx: "Intel SGX",
};

/** What the wrapper says about the Keep, computed once: the binding it expects. */
export interface KeepFacts {
  /** SHA-256 of the Keep key's SPKI, hex: how the key is named in output. */
  keepKeySha256: string;
  workloadIdentity: Uint8Array;
  /** The report_data the evidence must carry. */
  reportData: Uint8Array;
}

export async function keepFacts(w: KeepEvidence): Promise<KeepFacts> {
  const id = await workloadIdentity(w.wasmDigest, w.configDigest);
  const fp = new Uint8Array(
    await crypto.subtle.digest("SHA-256", w.keepKey as Uint8Array<ArrayBuffer>),
  );
  return {
    keepKeySha256: hex(fp),
    workloadIdentity: id,
    reportData: await reportData(w.keepKey, id),
  };
}

/** The wrapper's rows for a two-column table. */
export function wrapperRows(w: KeepEvidence, f: KeepFacts): [string, string][] {
  return [
    ["tee", TEE_NAMES[w.tee]],
    ["evidence", `${KEEP_EVIDENCE_MEDIA_TYPES[w.tee]}, ${w.evidence.length} bytes`],
    [
      "certs",
      w.certs.length === 0
        ? "none"
        : `${w.certs.length} (${w.certs.map((c) => c.length).join(", ")} bytes)`,
    ],
    ["keep key", `sha256:${f.keepKeySha256} (ECDSA P-384)`],
    ["wasm digest", hex(w.wasmDigest)],
    ["config digest", hex(w.configDigest)],
    ["workload identity", hex(f.workloadIdentity)],
    ["report_data (bound)", hex(f.reportData)],
  ];
}

/** The same facts as JSON (snake_case, hex). */
export function wrapperJson(w: KeepEvidence, f: KeepFacts): Record<string, unknown> {
  return {
    tee: w.tee,
    media_type: KEEP_EVIDENCE_MEDIA_TYPES[w.tee],
    evidence_size: w.evidence.length,
    certs: w.certs.length,
    keep_key_sha256: f.keepKeySha256,
    wasm_digest: hex(w.wasmDigest),
    config_digest: hex(w.configDigest),
    workload_identity: hex(f.workloadIdentity),
    report_data: hex(f.reportData),
  };
}

export function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** Bytes of lower-case or upper-case hex (claims carry report_data as hex). */
export function unhex(s: string): Uint8Array {
  const out = new Uint8Array(s.length >> 1);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
