/**
 * Internal: recognise AMD certificates and CRLs by content (PEM, DER, DER PkiPath)
 * and read the AMD-specific fields the KDS client and the collateral bundle need
 * (role, product, VCEK/VLEK extensions). Shared by `kds.ts` and `collateral.ts`;
 * never exported from `index.ts`.
 *
 * Parsing only: nothing here checks a signature (that is `verify.ts`'s job).
 */
import { X509Certificate, X509Crl } from "../_x509.ts";
import type { SnpProduct } from "./types.ts";

/** Raised by the decoders here; the caller turns it into its own error code. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
}

// ---------------------------------------------------------------------------
// Strict DER (X.690 §8.1, §10.1): definite lengths, minimal length octets,
// low tag numbers only (every tag in an X.509 certificate or CRL is one).

export interface Tlv {
  tag: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset one past the last content byte. */
  end: number;
}

export function readTlv(b: Uint8Array, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new DecodeError(`DER: truncated header at offset ${offset}`);
  const tag = b[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DecodeError(`DER: high tag number at offset ${offset}`);
  let len = b[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw new DecodeError(`DER: indefinite length at offset ${offset}`);
    if (n > 4) throw new DecodeError(`DER: ${n}-byte length at offset ${offset}`);
    if (start + n > limit) throw new DecodeError(`DER: truncated length at offset ${offset}`);
    if (b[start] === 0) throw new DecodeError(`DER: non-minimal length at offset ${offset}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    if (len < 0x80) throw new DecodeError(`DER: non-minimal length at offset ${offset}`);
    start += n;
  }
  const end = start + len;
  if (end > limit) {
    throw new DecodeError(
      `DER: element at offset ${offset} claims ${len} bytes, only ${limit - start} remain`,
    );
  }
  return { tag, start, end };
}

/** The children of a constructed element. */
export function children(b: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = readTlv(b, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** One TLV that spans all of `b`: trailing bytes are an error. */
export function readWhole(b: Uint8Array): Tlv {
  const t = readTlv(b, 0, b.length);
  if (t.end !== b.length) {
    throw new DecodeError(`DER: ${b.length - t.end} trailing byte(s) after the top-level element`);
  }
  return t;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const CONTEXT_0 = 0xa0;
const UTC_TIME = 0x17;
const GENERALIZED_TIME = 0x18;

/** What a top-level DER object is, from its ASN.1 structure alone. */
export type DerKind = "certificate" | "crl" | "pkipath" | "csr";

/**
 * Certificate (RFC 5280 §4.1): tbs = [0] version?, serial INTEGER, AlgId, issuer, validity SEQUENCE, …
 * CertificateList (§5.1): tbs = version INTEGER?, AlgId, issuer, thisUpdate Time, …
 * CertificationRequest (RFC 2986 §4): info = version INTEGER, subject, spki, [0] attributes.
 * PkiPath: SEQUENCE OF Certificate, so its first child starts with a SEQUENCE (a tbs).
 */
export function classifyDer(b: Uint8Array): DerKind {
  const top = readWhole(b);
  if (top.tag !== SEQUENCE)
    throw new DecodeError(`DER: expected a SEQUENCE, got tag 0x${hex2(top.tag)}`);
  const outer = children(b, top);
  const first = outer[0];
  if (!first || first.tag !== SEQUENCE)
    throw new DecodeError("DER: not a certificate, CRL or PkiPath");
  const inner = children(b, first);
  if (inner[0]?.tag === SEQUENCE && outer.every((c) => c.tag === SEQUENCE)) {
    // SEQUENCE { SEQUENCE { SEQUENCE … } … }: a list of certificates (each one's tbs comes first).
    return "pkipath";
  }
  if (outer.length !== 3) throw new DecodeError(`DER: expected 3 elements, got ${outer.length}`);
  if (inner[0]?.tag === CONTEXT_0) return "certificate";
  const i = inner[0]?.tag === INTEGER ? 1 : 0;
  const afterIssuer = inner[i + 2]?.tag;
  if (afterIssuer === UTC_TIME || afterIssuer === GENERALIZED_TIME) return "crl";
  if (afterIssuer === SEQUENCE && i === 1) return "certificate"; // v1 certificate: serial first
  if (afterIssuer === CONTEXT_0 && i === 1) return "csr";
  throw new DecodeError("DER: the structure is neither a certificate nor a CRL");
}

/** The DER certificates of a PkiPath (RFC 6066 / X.509 PkiPath: SEQUENCE OF Certificate). */
export function splitPkiPath(b: Uint8Array): Uint8Array[] {
  const top = readWhole(b);
  const out: Uint8Array[] = [];
  for (let at = top.start; at < top.end; ) {
    const t = readTlv(b, at, top.end);
    out.push(b.slice(at, t.end));
    at = t.end;
  }
  return out;
}

// ---------------------------------------------------------------------------
// PEM (RFC 7468): text outside the encapsulation boundaries is ignored, base64
// inside is strict (standard alphabet, correct padding, whitespace between lines only).

export interface PemBlock {
  label: string;
  der: Uint8Array;
}

const PEM_BEGIN = "-----BEGIN ";

export function looksLikePem(b: Uint8Array): boolean {
  const head = latin1(b.subarray(0, Math.min(b.length, 4096)));
  return head.includes(PEM_BEGIN);
}

export function decodePem(b: Uint8Array): PemBlock[] {
  const text = latin1(b);
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g;
  const out: PemBlock[] = [];
  let m: RegExpExecArray | null = re.exec(text);
  while (m !== null) {
    const [, label, body, endLabel] = m as unknown as [string, string, string, string];
    if (label !== endLabel) {
      throw new DecodeError(`PEM: block BEGIN ${label} ends with END ${endLabel}`);
    }
    out.push({ label, der: decodeBase64(body, label) });
    m = re.exec(text);
  }
  if (out.length === 0) throw new DecodeError("PEM: a BEGIN line without a matching END line");
  return out;
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const B64_INDEX = new Map([...B64].map((c, i) => [c, i]));

export function decodeBase64(body: string, label: string): Uint8Array {
  const s = body.replace(/[ \t\r\n]+/g, "");
  if (s.length === 0) throw new DecodeError(`PEM: the ${label} block is empty`);
  if (s.length % 4 !== 0) {
    throw new DecodeError(`PEM: ${label} base64 length ${s.length} is not a multiple of 4`);
  }
  const pad = s.endsWith("==") ? 2 : s.endsWith("=") ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    let v = 0;
    for (let j = 0; j < 4; j++) {
      const c = s[i + j]!;
      const last = i + 4 === s.length;
      if (c === "=" && last && j >= 4 - pad) {
        v <<= 6;
        continue;
      }
      const d = B64_INDEX.get(c);
      if (d === undefined) {
        throw new DecodeError(`PEM: ${label} has a character outside base64: ${JSON.stringify(c)}`);
      }
      v = (v << 6) | d;
    }
    if (o < out.length) out[o++] = (v >> 16) & 0xff;
    if (o < out.length) out[o++] = (v >> 8) & 0xff;
    if (o < out.length) out[o++] = v & 0xff;
  }
  return out;
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i += 8192) {
    s += String.fromCharCode(...b.subarray(i, i + 8192));
  }
  return s;
}

// ---------------------------------------------------------------------------
// AMD certificate fields ([VCEK] publication 57230, "VCEK Certificate Extensions").

export const OID_PRODUCT_NAME = "1.3.6.1.4.1.3704.1.2";
export const OID_BL_SPL = "1.3.6.1.4.1.3704.1.3.1";
export const OID_TEE_SPL = "1.3.6.1.4.1.3704.1.3.2";
export const OID_SNP_SPL = "1.3.6.1.4.1.3704.1.3.3";
export const OID_UCODE_SPL = "1.3.6.1.4.1.3704.1.3.8";
export const OID_FMC_SPL = "1.3.6.1.4.1.3704.1.3.9";
export const OID_HWID = "1.3.6.1.4.1.3704.1.4";
export const OID_CSP_ID = "1.3.6.1.4.1.3704.1.5";

/** Role of a certificate in the AMD hierarchy. */
export type AmdCertRole = "ark" | "ask" | "asvk" | "vcek" | "vlek" | "unknown";

/** The SPL extensions of a VCEK/VLEK; null where the extension is absent. */
export interface AmdCertTcb {
  bootloader: number | null;
  tee: number | null;
  snp: number | null;
  microcode: number | null;
  fmc: number | null;
}

export interface AmdCertInfo {
  role: AmdCertRole;
  product: SnpProduct | null;
  /** The productName extension as written (`Milan-B0`, `Genoa`, `Turin`), or null. */
  productName: string | null;
  /** The hwID extension (CHIP_ID: 64 bytes, 8 on Turin), or null (VLEKs have none). */
  hwid: Uint8Array | null;
  tcb: AmdCertTcb;
  subjectCn: string | null;
  issuerCn: string | null;
}

const PRODUCTS: readonly SnpProduct[] = ["Milan", "Genoa", "Turin"];

/** `Milan-B0` → Milan; `Genoa` (also on Siena) → Genoa; anything else → null. */
export function productFromName(name: string): SnpProduct | null {
  const base = name.split("-")[0];
  return PRODUCTS.find((p) => p === base) ?? null;
}

function cn(name: { getField(f: string): string[] }): string | null {
  return name.getField("CN")[0] ?? null;
}

function extBytes(cert: X509Certificate, oid: string): Uint8Array | null {
  const e = cert.getExtension(oid);
  return e ? new Uint8Array(e.value) : null;
}

function extInteger(cert: X509Certificate, oid: string): number | null {
  const b = extBytes(cert, oid);
  if (!b) return null;
  const t = readWhole(b);
  if (t.tag !== INTEGER) throw new DecodeError(`extension ${oid}: expected an INTEGER`);
  const n = t.end - t.start;
  if (n < 1 || n > 5 || (b[t.start]! & 0x80) !== 0) {
    throw new DecodeError(`extension ${oid}: INTEGER out of range`);
  }
  let v = 0;
  for (let i = t.start; i < t.end; i++) v = v * 256 + b[i]!;
  return v;
}

/**
 * The hwID extension's value as CHIP_ID: the raw 64 bytes (8 on Turin), or the
 * same wrapped in an OCTET STRING as some issuers write it (LAYOUTS.md §1).
 */
export function unwrapHwid(v: Uint8Array): Uint8Array {
  if ((v.length === 66 || v.length === 10) && v[0] === 0x04 && v[1] === v.length - 2) {
    return v.subarray(2);
  }
  return v;
}

function extHwid(cert: X509Certificate): Uint8Array | null {
  const b = extBytes(cert, OID_HWID);
  return b ? unwrapHwid(b) : null;
}

function extIa5(cert: X509Certificate, oid: string): string | null {
  const b = extBytes(cert, oid);
  if (!b) return null;
  const t = readWhole(b);
  if (t.tag !== 0x16 && t.tag !== 0x0c)
    throw new DecodeError(`extension ${oid}: expected a string`);
  return latin1(b.subarray(t.start, t.end));
}

/** Role and product from subject/issuer CN and the AMD extensions. */
export function amdCertInfo(cert: X509Certificate): AmdCertInfo {
  const subjectCn = cn(cert.subjectName);
  const issuerCn = cn(cert.issuerName);
  const productName = extIa5(cert, OID_PRODUCT_NAME);
  const tcb: AmdCertTcb = {
    bootloader: extInteger(cert, OID_BL_SPL),
    tee: extInteger(cert, OID_TEE_SPL),
    snp: extInteger(cert, OID_SNP_SPL),
    microcode: extInteger(cert, OID_UCODE_SPL),
    fmc: extInteger(cert, OID_FMC_SPL),
  };
  const hwid = extHwid(cert);
  let role: AmdCertRole = "unknown";
  let product: SnpProduct | null = null;
  const s = subjectCn ?? "";
  const i = issuerCn ?? "";
  const ark = /^ARK-(\w+)$/.exec(s);
  const asvk = /^SEV-VLEK-(\w+)$/.exec(s);
  const ask = /^SEV-(\w+)$/.exec(s);
  const byArk = /^ARK-/.test(i);
  if (ark && s === i) {
    role = "ark";
    product = productFromName(ark[1]!);
  } else if (asvk && byArk) {
    role = "asvk";
    product = productFromName(asvk[1]!);
  } else if (ask && byArk) {
    role = "ask";
    product = productFromName(ask[1]!);
  } else if (s === "SEV-VCEK" || (hwid !== null && tcb.snp !== null)) {
    role = "vcek";
  } else if (s === "SEV-VLEK" || extBytes(cert, OID_CSP_ID) !== null) {
    role = "vlek";
  }
  if (role === "vcek" || role === "vlek") {
    product =
      (productName ? productFromName(productName) : null) ??
      productFromName(/^SEV-(?:VLEK-)?(\w+)$/.exec(i)?.[1] ?? "");
  }
  return { role, product, productName, hwid, tcb, subjectCn, issuerCn };
}

/** Parse a DER certificate with @peculiar/x509, as a DecodeError on failure. */
export function parseCertificate(der: Uint8Array): X509Certificate {
  if (classifyDer(der) !== "certificate") throw new DecodeError("DER: not a certificate");
  try {
    return new X509Certificate(der as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new DecodeError(`certificate does not parse: ${(e as Error).message}`, { cause: e });
  }
}

/** Parse a DER CRL with @peculiar/x509, as a DecodeError on failure. */
export function parseCrl(der: Uint8Array): X509Crl {
  if (classifyDer(der) !== "crl") throw new DecodeError("DER: not a CRL");
  try {
    return new X509Crl(der as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new DecodeError(`CRL does not parse: ${(e as Error).message}`, { cause: e });
  }
}

export function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += hex2(x);
  return s;
}

function hex2(x: number): string {
  return x.toString(16).padStart(2, "0");
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
