/**
 * The CSR extension that carries a Keep's evidence, and the few DER rules the
 * Steward's parsers share (`csr.ts` uses the reader below).
 *
 * ## The CMW extension (RFC 9999, "Transporting CMW in X.509 Messages")
 *
 * RFC 9999 (draft-ietf-rats-msg-wrap, section "Transporting CMW in X.509
 * Messages" and its "ASN.1 Module") defines one extension for CSRs,
 * certificates and CRLs:
 *
 * ```asn.1
 * id-pe-cmw  OBJECT IDENTIFIER ::=
 *         { iso(1) identified-organization(3) dod(6) internet(1)
 *           security(5) mechanisms(5) pkix(7) id-pe(1) 35 }
 *
 * CMW ::= CHOICE {
 *     json UTF8String,
 *     cbor OCTET STRING
 * }
 * ```
 *
 * "The DER-encoded CMW is the value of the OCTET STRING for the extnValue
 * field of the extension." The arc 35 was allocated early by IANA in "SMI
 * Security for PKIX Certificate Extension" (1.3.6.1.5.5.7.1); the draft text
 * says TBD. The RFC says the extension SHOULD NOT be critical and MAY be; the
 * Steward accepts both, since it understands it.
 *
 * A Keep's evidence is the JSON Keep evidence wrapper of `@donjon/attest`
 * (`encodeKeepEvidence`: a JSON CMW collection) in the `json` choice. The
 * `cbor` choice is well-formed CMW but not a Keep's: refused as `evidence.cbor`.
 *
 * ## Enarx's evidence extensions (read for compatibility)
 *
 * Enarx (github.com/enarx/enarx, the shim and `src/backend/*`; github.com/enarx/steward,
 * `src/ext/{kvm,sgx,snp}`, `crates/attestation/src/{sgx,snp}`) used three private OIDs
 * under its PEN 58270, each verified only when non-critical:
 *
 * | OID | Enarx name | extnValue |
 * |---|---|---|
 * | 1.3.6.1.4.1.58270.1.1 | `Kvm` | empty: KVM has no attestation (Enarx's Steward accepted it in debug mode only) |
 * | 1.3.6.1.4.1.58270.1.2 | `Sgx` | the DCAP quote bytes as the enclave produced them |
 * | 1.3.6.1.4.1.58270.1.3 | `Snp` | DER `Evidence`, below |
 *
 * ```asn.1
 * -- enarx shim asn1_encode_report_vcek, steward src/ext/snp (first form)
 * Evidence ::= SEQUENCE { vcek Certificate, report OCTET STRING }
 * -- steward crates/attestation/src/snp (later form, with CRLs)
 * Evidence ::= SEQUENCE { crts Certificates, report OCTET STRING }
 * Certificates ::= SEQUENCE { vcek Certificate, crl CrlList }
 * CrlList ::= SEQUENCE { crls SEQUENCE OF CrlListEntry }
 * CrlListEntry ::= SEQUENCE { url UTF8String, crl CertificateList }
 * ```
 *
 * All map to one internal form, {@link EvidenceExtension}. Enarx evidence has
 * no Keep evidence wrapper: no workload digests, and its binding is Enarx's
 * (SNP: REPORT_DATA[0..48] = SHA-384 of the CSR's SubjectPublicKeyInfo; SGX:
 * REPORT_DATA[0..32] = SHA-256 of it), which `decide.ts` checks instead.
 */
import {
  decodeKeepEvidence,
  EvidenceError,
  KEEP_EVIDENCE_MAX_EVIDENCE,
  KEEP_EVIDENCE_MAX_SIZE,
  type KeepEvidence,
  type KeepTee,
} from "@donjon/attest";
import { CMW_EXTENSION_OID } from "@donjon/attest/cmw";
import { MalformedRequestError } from "./problem.ts";

/** id-pe-cmw (RFC 9999): the CMW extension; the constant lives with the wrapper in attest. */
export const OID_CMW = CMW_EXTENSION_OID;
/** Enarx's KVM "evidence" (empty: no attestation). */
export const OID_ENARX_KVM = "1.3.6.1.4.1.58270.1.1";
/** Enarx's SGX evidence: a DCAP quote. */
export const OID_ENARX_SGX = "1.3.6.1.4.1.58270.1.2";
/** Enarx's SEV-SNP evidence: DER `Evidence` (VCEK, optional CRLs, report). */
export const OID_ENARX_SNP = "1.3.6.1.4.1.58270.1.3";
/** Every OID the Steward reads as an evidence extension. */
export const EVIDENCE_OIDS: readonly string[] = [
  OID_CMW,
  OID_ENARX_KVM,
  OID_ENARX_SGX,
  OID_ENARX_SNP,
];

/** Largest extnValue read: the largest wrapper plus a DER header. */
export const EVIDENCE_EXTENSION_MAX_SIZE = KEEP_EVIDENCE_MAX_SIZE + 8;

/** Where the evidence came from. */
export type EvidenceFormat = "cmw" | "enarx-kvm" | "enarx-sgx" | "enarx-snp";

/** An evidence extension, decoded: the one internal form every OID maps to. */
export interface EvidenceExtension {
  /** The extension's OID. */
  oid: string;
  /** The carrier: a CMW Keep evidence wrapper, or one of Enarx's forms. */
  format: EvidenceFormat;
  /** The TEE kind; `kvm` is Enarx's KVM backend, which has no TEE and no evidence. */
  tee: KeepTee | "kvm";
  /** The evidence as the TEE produced it (SNP report, DCAP quote, sandbox record); empty for `kvm`. */
  evidence: Uint8Array;
  /** Certificates that came with it (DER): collateral candidates, never trust anchors. */
  certs: Uint8Array[];
  /** CRLs that came with it (DER; Enarx SNP's later form only). */
  crls: Uint8Array[];
  /** The Keep evidence wrapper (format `cmw`); null for Enarx forms. */
  keep: KeepEvidence | null;
  /**
   * The bytes the evidence hash is taken over: the wrapper's JSON (what
   * `donjon run --print-evidence` writes) for `cmw`, the extnValue for Enarx forms.
   */
  hashed: Uint8Array;
}

/** One extension as a CSR carries it. */
export interface RawExtension {
  /** Dotted OID. */
  oid: string;
  critical: boolean;
  /** The contents of extnValue's OCTET STRING. */
  value: Uint8Array;
}

// ── encode ────────────────────────────────────────────────────────────────

/**
 * The extnValue of a CMW extension carrying `wrapper` (the bytes of
 * `encodeKeepEvidence`): the DER of `CMW.json`, a UTF8String.
 *
 * @throws {MalformedRequestError} `evidence.size` when the wrapper is empty or too large,
 *   `evidence.extension` when it is not UTF-8.
 */
export function encodeEvidenceExtension(wrapper: Uint8Array): Uint8Array {
  if (!(wrapper instanceof Uint8Array) || wrapper.length === 0) {
    throw new MalformedRequestError("evidence.size", "expected the wrapper's bytes, got none");
  }
  if (wrapper.length > KEEP_EVIDENCE_MAX_SIZE) {
    throw new MalformedRequestError(
      "evidence.size",
      `expected a wrapper of at most ${KEEP_EVIDENCE_MAX_SIZE} bytes, got ${wrapper.length}`,
    );
  }
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(wrapper);
  } catch (cause) {
    throw new MalformedRequestError(
      "evidence.extension",
      "expected UTF-8 JSON (a UTF8String holds text only)",
      { cause },
    );
  }
  return derTlv(TAG_UTF8STRING, wrapper);
}

// ── decode ────────────────────────────────────────────────────────────────

/**
 * Decode an evidence extension, strictly: one DER value filling extnValue,
 * the choice or structure its OID defines, and a wrapper that decodes.
 *
 * @throws {MalformedRequestError} `evidence.size`, `evidence.extension`, `evidence.cbor`, or the
 *   wrapper's `cmw.*` code — the message says what is wrong and what was expected.
 */
export function decodeEvidenceExtension(ext: RawExtension): EvidenceExtension {
  const v = ext.value;
  if (v.length > EVIDENCE_EXTENSION_MAX_SIZE) {
    throw new MalformedRequestError(
      "evidence.size",
      `evidence extension ${ext.oid}: expected at most ${EVIDENCE_EXTENSION_MAX_SIZE} bytes, got ${v.length}`,
    );
  }
  switch (ext.oid) {
    case OID_CMW:
      return decodeCmw(v);
    case OID_ENARX_KVM:
      if (v.length !== 0) {
        bad(ext.oid, `Enarx KVM evidence: expected an empty value, got ${v.length} bytes`);
      }
      return enarx(ext.oid, "enarx-kvm", "kvm", v, v, [], []);
    case OID_ENARX_SGX:
      if (v.length === 0 || v.length > KEEP_EVIDENCE_MAX_EVIDENCE) {
        bad(
          ext.oid,
          `Enarx SGX evidence: expected a DCAP quote of 1 to ${KEEP_EVIDENCE_MAX_EVIDENCE} bytes, got ${v.length}`,
        );
      }
      return enarx(ext.oid, "enarx-sgx", "sgx", v, v, [], []);
    case OID_ENARX_SNP:
      return decodeEnarxSnp(v);
    default:
      return bad(
        ext.oid,
        `not an evidence extension (expected one of ${EVIDENCE_OIDS.join(", ")})`,
      );
  }
}

function decodeCmw(v: Uint8Array): EvidenceExtension {
  const cmw = der(() => derOne(v), OID_CMW, "CMW");
  if (cmw.tag === TAG_OCTET_STRING) {
    throw new MalformedRequestError(
      "evidence.cbor",
      "CMW extension: expected the json choice (UTF8String) holding the Keep evidence wrapper, got the cbor choice (OCTET STRING)",
    );
  }
  if (cmw.tag !== TAG_UTF8STRING) {
    bad(
      OID_CMW,
      `CMW: expected a UTF8String (json) or OCTET STRING (cbor), got tag 0x${hex2(cmw.tag)}`,
    );
  }
  let keep: KeepEvidence;
  try {
    keep = decodeKeepEvidence(cmw.value);
  } catch (e) {
    if (e instanceof EvidenceError) {
      // decodeKeepEvidence throws cmw.* codes only; anything else is still a bad extension.
      const code = e.code.startsWith("cmw.") ? (e.code as `cmw.${string}`) : "evidence.extension";
      throw new MalformedRequestError(code, e.message, { cause: e });
    }
    throw e;
  }
  return {
    oid: OID_CMW,
    format: "cmw",
    tee: keep.tee,
    evidence: keep.evidence,
    certs: keep.certs,
    crls: [],
    keep,
    hashed: cmw.value,
  };
}

function decodeEnarxSnp(v: Uint8Array): EvidenceExtension {
  const oid = OID_ENARX_SNP;
  const top = der(() => derOne(v), oid, "Evidence");
  const fields = der(() => derChildren(expectTag(top, TAG_SEQUENCE, "Evidence")), oid, "Evidence");
  if (fields.length !== 2) {
    bad(oid, `Evidence: expected SEQUENCE { certificates, report }, got ${fields.length} fields`);
  }
  const [first, report] = fields as [Der, Der];
  expectTag(first, TAG_SEQUENCE, "Evidence.vcek/crts");
  expectTag(report, TAG_OCTET_STRING, "Evidence.report");
  const inner = der(() => derChildren(first.value), oid, "Evidence.vcek/crts");
  let vcek: Der;
  const crls: Uint8Array[] = [];
  // A Certificate has three fields (tbs, algorithm, BIT STRING signature);
  // Certificates has two (vcek, crl).
  if (inner.length === 3 && inner[2]!.tag === TAG_BIT_STRING) vcek = first;
  else if (inner.length === 2) {
    expectTag(inner[0]!, TAG_SEQUENCE, "Certificates.vcek");
    vcek = inner[0]!;
    const list = der(
      () => derChildren(expectTag(inner[1]!, TAG_SEQUENCE, "CrlList")),
      oid,
      "CrlList",
    );
    if (list.length !== 1)
      bad(oid, `CrlList: expected SEQUENCE { crls }, got ${list.length} fields`);
    const entries = der(
      () => derChildren(expectTag(list[0]!, TAG_SEQUENCE, "CrlList.crls")),
      oid,
      "CrlList.crls",
    );
    for (const [i, entry] of entries.entries()) {
      const parts = der(
        () => derChildren(expectTag(entry, TAG_SEQUENCE, `CrlList.crls[${i}]`)),
        oid,
        `CrlList.crls[${i}]`,
      );
      if (
        parts.length !== 2 ||
        parts[0]!.tag !== TAG_UTF8STRING ||
        parts[1]!.tag !== TAG_SEQUENCE
      ) {
        bad(oid, `CrlList.crls[${i}]: expected SEQUENCE { url UTF8String, crl CertificateList }`);
      }
      crls.push(parts[1]!.raw);
    }
  } else {
    return bad(
      oid,
      `Evidence: expected a Certificate or Certificates first, got a SEQUENCE of ${inner.length} fields`,
    );
  }
  if (report.value.length === 0 || report.value.length > KEEP_EVIDENCE_MAX_EVIDENCE) {
    bad(
      oid,
      `Evidence.report: expected 1 to ${KEEP_EVIDENCE_MAX_EVIDENCE} bytes, got ${report.value.length}`,
    );
  }
  return enarx(oid, "enarx-snp", "snp", report.value, v, [vcek.raw], crls);
}

function enarx(
  oid: string,
  format: EvidenceFormat,
  tee: KeepTee | "kvm",
  evidence: Uint8Array,
  hashed: Uint8Array,
  certs: Uint8Array[],
  crls: Uint8Array[],
): EvidenceExtension {
  return { oid, format, tee, evidence, certs, crls, keep: null, hashed };
}

function expectTag(d: Der, tag: number, where: string): Uint8Array {
  if (d.tag !== tag) {
    throw new MalformedRequestError(
      "evidence.extension",
      `${where}: expected tag 0x${hex2(tag)}, got 0x${hex2(d.tag)}`,
    );
  }
  return d.value;
}

function der<T>(f: () => T, oid: string, where: string): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DerError) bad(oid, `${where}: ${e.message}`);
    throw e;
  }
}

function bad(oid: string, message: string): never {
  throw new MalformedRequestError("evidence.extension", `evidence extension ${oid}: ${message}`);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

// ── DER (X.690 §8, §10): the strict subset the Steward reads ─────────────

/** ASN.1 universal tags used here. */
export const TAG_BOOLEAN = 0x01;
export const TAG_INTEGER = 0x02;
export const TAG_BIT_STRING = 0x03;
export const TAG_OCTET_STRING = 0x04;
export const TAG_NULL = 0x05;
export const TAG_OID = 0x06;
export const TAG_UTF8STRING = 0x0c;
export const TAG_SEQUENCE = 0x30;
export const TAG_SET = 0x31;

/** One DER TLV. `raw` is the whole TLV as received, `value` its contents. */
export interface Der {
  tag: number;
  value: Uint8Array;
  raw: Uint8Array;
}

/** A DER rule broken; the message says which and where. */
export class DerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DerError";
  }
}

/**
 * Read the TLV at `at`: single-byte tags only (every tag the Steward reads is
 * one), definite lengths in the minimal number of octets (X.690 §10.1), at
 * most 2^32−1, within the buffer.
 */
export function derRead(b: Uint8Array, at: number): { tlv: Der; next: number } {
  if (at >= b.length) throw new DerError(`expected a tag at offset ${at}, got the end`);
  const tag = b[at]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError(`unexpected multi-byte tag at offset ${at}`);
  if (at + 1 >= b.length) throw new DerError(`expected a length at offset ${at + 1}, got the end`);
  const first = b[at + 1]!;
  let length: number;
  let header: number;
  if (first < 0x80) {
    length = first;
    header = 2;
  } else if (first === 0x80) {
    throw new DerError(`indefinite length at offset ${at + 1} (BER, not DER)`);
  } else {
    const n = first & 0x7f;
    if (n > 4) throw new DerError(`a ${n}-octet length at offset ${at + 1}`);
    if (at + 2 + n > b.length) throw new DerError(`a length at offset ${at + 1} runs past the end`);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + b[at + 2 + i]!;
    if (b[at + 2] === 0 || length < 0x80) {
      throw new DerError(`a non-minimal length at offset ${at + 1}`);
    }
    header = 2 + n;
  }
  const end = at + header + length;
  if (end > b.length) {
    throw new DerError(
      `length ${length} at offset ${at + 1} runs past the end (${b.length - at - header} bytes left)`,
    );
  }
  return {
    tlv: { tag, value: b.subarray(at + header, end), raw: b.subarray(at, end) },
    next: end,
  };
}

/** Every TLV in `b`, which they must fill exactly. */
export function derChildren(b: Uint8Array): Der[] {
  const out: Der[] = [];
  let at = 0;
  while (at < b.length) {
    const { tlv, next } = derRead(b, at);
    out.push(tlv);
    at = next;
  }
  return out;
}

/** Exactly one TLV filling `b` (no trailing bytes). */
export function derOne(b: Uint8Array): Der {
  if (b.length === 0) throw new DerError("expected a DER value, got no bytes");
  const { tlv, next } = derRead(b, 0);
  if (next !== b.length) {
    throw new DerError(`${b.length - next} trailing bytes after the value (at offset ${next})`);
  }
  return tlv;
}

/** A DER OBJECT IDENTIFIER's contents as dotted decimal (X.690 §8.19), minimal sub-identifiers only. */
export function derOid(value: Uint8Array): string {
  if (value.length === 0) throw new DerError("an empty OBJECT IDENTIFIER");
  const arcs: number[] = [];
  let n = 0;
  let start = true;
  for (const [i, byte] of value.entries()) {
    if (start && byte === 0x80)
      throw new DerError("a non-minimal OBJECT IDENTIFIER sub-identifier");
    n = n * 128 + (byte & 0x7f);
    if (n > Number.MAX_SAFE_INTEGER / 128) throw new DerError("an OBJECT IDENTIFIER arc too large");
    start = (byte & 0x80) === 0;
    if (start) {
      if (arcs.length === 0) arcs.push(n < 80 ? Math.floor(n / 40) : 2, n < 80 ? n % 40 : n - 80);
      else arcs.push(n);
      n = 0;
    } else if (i === value.length - 1) {
      throw new DerError("an OBJECT IDENTIFIER that ends inside a sub-identifier");
    }
  }
  return arcs.join(".");
}

/** Encode one TLV with a minimal definite length. */
export function derTlv(tag: number, value: Uint8Array): Uint8Array<ArrayBuffer> {
  const n = value.length;
  // Three length octets at most: nothing this package encodes comes near 16 MiB.
  if (n > 0xffffff) throw new RangeError(`DER value of ${n} bytes: more than this encoder writes`);
  const len =
    n < 0x80
      ? [n]
      : n < 0x100
        ? [0x81, n]
        : n < 0x10000
          ? [0x82, n >> 8, n & 0xff]
          : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(1 + len.length + n);
  out[0] = tag;
  out.set(len, 1);
  out.set(value, 1 + len.length);
  return out;
}
