/**
 * The Keep's certificate request: a PKCS#10 CSR (RFC 2986) holding the Keep
 * key and one evidence extension (`evidence_ext.ts`) in an extensionRequest
 * attribute (PKCS#9, RFC 2985 §5.4.2).
 *
 * Parse, then verify, then find the evidence — three steps, three functions:
 *
 * - {@link parseCsr} reads the DER strictly (X.690 DER, no trailing bytes) and
 *   keeps what it needs as received: the signed `certificationRequestInfo`
 *   bytes, the SubjectPublicKeyInfo bytes (the binding compares them byte for
 *   byte with the wrapper's keep-key), every requested extension.
 * - {@link verifyCsr} checks the signature over the bytes received, never a re-encoding.
 * - {@link findEvidenceExtension} picks the one evidence extension.
 *
 * Algorithms: a Keep key is ECDSA P-384 (`generateKeepKey`, and the wrapper's
 * `keep-key` must be a P-384 SPKI), so the CSR key must be P-384 and the
 * signature ecdsa-with-SHA384 (RFC 5758 §3.2, parameters absent). P-256 or
 * RSA could never match a wrapper's key, so they are refused up front as
 * `csr.algorithm` rather than later as a binding failure.
 *
 * `@peculiar/x509` builds CSRs ({@link buildCsr}) and cross-reads the subject;
 * it needs the Reflect metadata polyfill loaded first (ES modules evaluate in order).
 */
import "reflect-metadata";

import {
  Extension,
  Pkcs10CertificateRequest,
  Pkcs10CertificateRequestGenerator,
} from "@peculiar/x509";
import {
  type Der,
  DerError,
  derChildren,
  derOid,
  derOne,
  EVIDENCE_EXTENSION_MAX_SIZE,
  EVIDENCE_OIDS,
  OID_CMW,
  type RawExtension,
  TAG_BIT_STRING,
  TAG_BOOLEAN,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_SET,
} from "./evidence_ext.ts";
import { type MalformedCode, MalformedRequestError } from "./problem.ts";

/** Largest CSR read: the largest evidence extension plus 16 KiB for the rest. */
export const CSR_MAX_SIZE = EVIDENCE_EXTENSION_MAX_SIZE + 16 * 1024;

/** ecdsa-with-SHA384 (RFC 5758 §3.2). */
const OID_ECDSA_SHA384 = "1.2.840.10045.4.3.3";
/** pkcs-9-at-extensionRequest (RFC 2985 §5.4.2). */
const OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
/**
 * The DER prefix of every ECDSA P-384 SubjectPublicKeyInfo with an
 * uncompressed point (RFC 5480): SEQUENCE(118) { SEQUENCE { id-ecPublicKey,
 * secp384r1 }, BIT STRING(98) 00 04 … }, then X ‖ Y (96 bytes).
 */
const P384_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b,
  0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00, 0x04,
]);
const P384_SPKI_SIZE = 120;
const P384_SCALAR = 48;

/** A CSR as parsed: what the Steward needs, as received. */
export interface ParsedCsr {
  /** The whole CSR. */
  der: Uint8Array;
  /** `certificationRequestInfo` as received: the signed bytes. */
  info: Uint8Array;
  /** The SubjectPublicKeyInfo as received (120 bytes, ECDSA P-384). */
  spki: Uint8Array;
  /** The subject as an RFC 4514 string (informational; the Steward sets the certificate's). */
  subject: string;
  /** Every requested extension, in order. */
  extensions: RawExtension[];
  /** The signature as IEEE P1363 r ‖ s (96 bytes), converted from the DER ECDSA-Sig-Value. */
  signature: Uint8Array;
}

/**
 * Parse a DER PKCS#10 CSR, strictly.
 *
 * @throws {MalformedRequestError} `csr.size`, `csr.der`, `csr.structure`, `csr.algorithm`,
 *   `csr.signature` (a signature that is not an ECDSA-Sig-Value) or `csr.extension_request`.
 */
export function parseCsr(der: Uint8Array): ParsedCsr {
  if (!(der instanceof Uint8Array) || der.length === 0 || der.length > CSR_MAX_SIZE) {
    const got = der instanceof Uint8Array ? `${der.length} bytes` : "no bytes";
    fail("csr.size", `expected a DER CSR of 1 to ${CSR_MAX_SIZE} bytes, got ${got}`);
  }
  // RFC 2986 §4.2: CertificationRequest ::= SEQUENCE { info, signatureAlgorithm, signature BIT STRING }
  const top = read("csr.der", "the CSR", () => derOne(der));
  if (top.tag !== TAG_SEQUENCE) {
    fail("csr.der", `expected a DER SEQUENCE (0x30), got tag 0x${hex2(top.tag)}`);
  }
  const parts = read("csr.der", "CertificationRequest", () => derChildren(top.value));
  shape(parts, [TAG_SEQUENCE, TAG_SEQUENCE, TAG_BIT_STRING], "CertificationRequest");
  const [infoTlv, algTlv, sigTlv] = parts as [Der, Der, Der];

  // §4.1: CertificationRequestInfo ::= SEQUENCE { version INTEGER { v1(0) }, subject Name,
  //        subjectPKInfo SubjectPublicKeyInfo, attributes [0] IMPLICIT SET OF Attribute }
  const info = read("csr.der", "CertificationRequestInfo", () => derChildren(infoTlv.value));
  shape(info, [TAG_INTEGER, TAG_SEQUENCE, TAG_SEQUENCE, 0xa0], "CertificationRequestInfo");
  const [version, , spkiTlv, attrs] = info as [Der, Der, Der, Der];
  if (version.value.length !== 1 || version.value[0] !== 0) {
    fail(
      "csr.structure",
      `CertificationRequestInfo.version: expected v1 (0), got ${hexOf(version.value)}`,
    );
  }

  // The algorithm: ecdsa-with-SHA384, parameters absent (RFC 5758 §3.2).
  const alg = read("csr.der", "signatureAlgorithm", () => derChildren(algTlv.value));
  const algOid = alg[0]?.tag === TAG_OID ? oid(alg[0]) : "a non-OID";
  if (alg.length !== 1 || algOid !== OID_ECDSA_SHA384) {
    fail(
      "csr.algorithm",
      `signatureAlgorithm: expected ecdsa-with-SHA384 (${OID_ECDSA_SHA384}) without parameters, got ${algOid}${alg.length > 1 ? " with parameters" : ""}`,
    );
  }
  const spki = spkiTlv.raw;
  if (spki.length !== P384_SPKI_SIZE || !startsWith(spki, P384_SPKI_PREFIX)) {
    fail(
      "csr.algorithm",
      `subjectPKInfo: expected the ${P384_SPKI_SIZE}-byte SubjectPublicKeyInfo of an uncompressed ECDSA P-384 key, got ${spki.length} bytes (${hexOf(spki.subarray(0, 24))}…)`,
    );
  }

  const extensions = extensionsOf(attrs.value);
  const signature = p1363(sigTlv.value);

  // A second reader on the same bytes: what @peculiar/x509 cannot read is not a CSR either.
  let subject: string;
  try {
    subject = new Pkcs10CertificateRequest(der as Uint8Array<ArrayBuffer>).subject;
  } catch (cause) {
    fail("csr.structure", `not a PKCS#10 CSR: ${(cause as Error).message}`, cause);
  }
  return { der, info: infoTlv.raw, spki, subject, extensions, signature };
}

/**
 * Every extension of the extensionRequest attribute. Other attributes are
 * ignored (the Steward decides the certificate); extensionRequest must be
 * there at most once with exactly one value (RFC 2985 §5.4.2: single-valued),
 * and no extension may appear twice (RFC 5280 §4.2).
 */
function extensionsOf(attrs: Uint8Array): RawExtension[] {
  const where = "attributes";
  const list = read("csr.der", where, () => derChildren(attrs));
  let found: Der | undefined;
  for (const [i, a] of list.entries()) {
    // Attribute ::= SEQUENCE { type OBJECT IDENTIFIER, values SET OF AttributeValue }
    const parts = read("csr.der", `attributes[${i}]`, () =>
      derChildren(seq(a, `attributes[${i}]`)),
    );
    shape(parts, [TAG_OID, TAG_SET], `attributes[${i}]`);
    if (oid(parts[0]!) !== OID_EXTENSION_REQUEST) continue;
    if (found) {
      fail("csr.extension_request", "expected one extensionRequest attribute, got two");
    }
    const values = read("csr.der", "extensionRequest", () => derChildren(parts[1]!.value));
    if (values.length !== 1) {
      fail("csr.extension_request", `extensionRequest: expected one value, got ${values.length}`);
    }
    found = values[0]!;
  }
  if (!found) return [];
  // Extensions ::= SEQUENCE SIZE (1..MAX) OF Extension
  const exts = read("csr.der", "Extensions", () => derChildren(seq(found, "Extensions")));
  const out: RawExtension[] = [];
  for (const [i, e] of exts.entries()) {
    // Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }
    const w = `Extensions[${i}]`;
    const p = read("csr.der", w, () => derChildren(seq(e, w)));
    let critical = false;
    if (p.length === 3) {
      shape(p, [TAG_OID, TAG_BOOLEAN, TAG_OCTET_STRING], w);
      const b = p[1]!.value;
      // DER: a DEFAULT value is omitted (X.690 §11.5), and TRUE is 0xFF (§11.1).
      if (b.length !== 1 || b[0] !== 0xff) {
        fail("csr.der", `${w}.critical: expected TRUE (0xff) or absent, got ${hexOf(b)}`);
      }
      critical = true;
    } else shape(p, [TAG_OID, TAG_OCTET_STRING], w);
    const id = oid(p[0]!);
    if (out.some((x) => x.oid === id) && !EVIDENCE_OIDS.includes(id)) {
      fail("csr.extension_request", `${w}: extension ${id} appears twice`);
    }
    out.push({ oid: id, critical, value: p[p.length - 1]!.value });
  }
  return out;
}

/**
 * Verify the CSR's signature with the key it holds, over
 * `certificationRequestInfo` as received.
 */
export async function verifyCsr(
  csr: ParsedCsr,
  crypto: Crypto = globalThis.crypto,
): Promise<boolean> {
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey(
      "spki",
      csr.spki as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: "P-384" },
      false,
      ["verify"],
    );
  } catch (cause) {
    // Not a point on the curve: the prefix matched, the coordinates did not.
    throw new MalformedRequestError(
      "csr.algorithm",
      "subjectPKInfo: the P-384 public key is not a point on the curve",
      { cause },
    );
  }
  return crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-384" },
    key,
    csr.signature as Uint8Array<ArrayBuffer>,
    csr.info as Uint8Array<ArrayBuffer>,
  );
}

/**
 * The one evidence extension of a CSR.
 *
 * @throws {MalformedRequestError} `csr.extension.critical` when a critical extension is
 *   not one the Steward understands, `csr.evidence.missing` when there is no evidence
 *   extension, `csr.evidence.duplicate` when there are two or more (of any evidence OIDs).
 */
export function findEvidenceExtension(csr: ParsedCsr): RawExtension {
  for (const e of csr.extensions) {
    if (e.critical && !EVIDENCE_OIDS.includes(e.oid)) {
      fail(
        "csr.extension.critical",
        `extension ${e.oid} is marked critical and the Steward does not understand it`,
      );
    }
  }
  const found = csr.extensions.filter((e) => EVIDENCE_OIDS.includes(e.oid));
  if (found.length === 0) {
    fail(
      "csr.evidence.missing",
      `expected one evidence extension (${EVIDENCE_OIDS.join(", ")}), got none`,
    );
  }
  if (found.length > 1) {
    fail(
      "csr.evidence.duplicate",
      `expected one evidence extension, got ${found.length} (${found.map((e) => e.oid).join(", ")})`,
    );
  }
  return found[0]!;
}

// ── build (the Keep side, and tests) ──────────────────────────────────────

/** One extension to put in a CSR. */
export interface CsrExtension {
  oid: string;
  critical?: boolean;
  /** extnValue contents. */
  value: Uint8Array;
}

/** Options of {@link buildCsr}. */
export interface BuildCsrOptions {
  /** The Keep key pair: ECDSA P-384; the private key signs, the public key goes in the CSR. */
  keys: CryptoKeyPair;
  /**
   * The evidence extension's value: `encodeEvidenceExtension(encodeKeepEvidence(…))`.
   * Carried under `evidenceOid`. Ignored when `extensions` is given.
   */
  evidence?: Uint8Array;
  /** The OID for `evidence`. Default: id-pe-cmw. */
  evidenceOid?: string;
  /** Every extension, in order, instead of the one evidence extension (tests build hostile CSRs with it). */
  extensions?: readonly CsrExtension[];
  /** Subject, RFC 4514. Default `CN=donjon-keep`. */
  subject?: string;
  /** WebCrypto implementation. Default: `globalThis.crypto`. */
  crypto?: Crypto;
}

/** Build and sign a CSR (DER) carrying a Keep's evidence. */
export async function buildCsr(options: BuildCsrOptions): Promise<Uint8Array> {
  const crypto = options.crypto ?? globalThis.crypto;
  const exts =
    options.extensions ??
    (options.evidence === undefined
      ? []
      : [{ oid: options.evidenceOid ?? OID_CMW, value: options.evidence }]);
  const csr = await Pkcs10CertificateRequestGenerator.create(
    {
      name: options.subject ?? "CN=donjon-keep",
      keys: options.keys,
      signingAlgorithm: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams,
      extensions: exts.map(
        (e) => new Extension(e.oid, e.critical === true, e.value as Uint8Array<ArrayBuffer>),
      ),
    },
    crypto,
  );
  return new Uint8Array(csr.rawData);
}

// ── helpers ───────────────────────────────────────────────────────────────

/** DER ECDSA-Sig-Value (RFC 5480 §2.2 / RFC 3279 §2.2.3) in a BIT STRING → r ‖ s, 48 bytes each. */
function p1363(bits: Uint8Array): Uint8Array {
  if (bits.length < 1 || bits[0] !== 0) {
    fail("csr.signature", "signature: expected a BIT STRING with 0 unused bits");
  }
  const sig = read("csr.signature", "signature", () => derOne(bits.subarray(1)));
  const rs = read("csr.signature", "signature", () => derChildren(seq(sig, "ECDSA-Sig-Value")));
  shape(rs, [TAG_INTEGER, TAG_INTEGER], "ECDSA-Sig-Value", "csr.signature");
  const out = new Uint8Array(2 * P384_SCALAR);
  for (const [i, n] of rs.entries()) {
    let v = n.value;
    // A DER INTEGER is minimal and, here, positive: one leading 0x00 only before a high bit.
    if (v.length === 0 || v[0]! & 0x80 || (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80))) {
      fail("csr.signature", "ECDSA-Sig-Value: expected minimal positive INTEGERs r and s");
    }
    if (v[0] === 0) v = v.subarray(1);
    if (v.length > P384_SCALAR) {
      fail(
        "csr.signature",
        `ECDSA-Sig-Value: expected r and s of at most ${P384_SCALAR} bytes, got ${v.length}`,
      );
    }
    out.set(v, (i + 1) * P384_SCALAR - v.length);
  }
  return out;
}

function seq(d: Der, where: string): Uint8Array {
  if (d.tag !== TAG_SEQUENCE)
    fail("csr.structure", `${where}: expected a SEQUENCE, got tag 0x${hex2(d.tag)}`);
  return d.value;
}

function shape(
  parts: readonly Der[],
  tags: readonly number[],
  where: string,
  code: MalformedCode = "csr.structure",
): void {
  if (parts.length !== tags.length || parts.some((p, i) => p.tag !== tags[i])) {
    fail(
      code,
      `${where}: expected tags [${tags.map(hex2).join(", ")}], got [${parts.map((p) => hex2(p.tag)).join(", ")}]`,
    );
  }
}

function oid(d: Der): string {
  return read("csr.der", "OBJECT IDENTIFIER", () => derOid(d.value));
}

function read<T>(code: MalformedCode, where: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DerError) fail(code, `${where}: ${e.message}`, e);
    throw e;
  }
}

function fail(code: MalformedCode, message: string, cause?: unknown): never {
  throw new MalformedRequestError(code, message, cause === undefined ? undefined : { cause });
}

function startsWith(b: Uint8Array, prefix: Uint8Array): boolean {
  return prefix.every((x, i) => b[i] === x);
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, "0");
}

function hexOf(b: Uint8Array): string {
  return Array.from(b, hex2).join("") || "(empty)";
}
