/**
 * Parse an Intel DCAP quote (SGX quote v3 and v4, TDX quote v4 and v5) and the
 * SGX extensions of a PCK certificate: structure only (sizes, lengths,
 * versions, types, reserved-must-be-zero, encodings). It never checks a
 * signature (`quote_verify.ts`) and never judges TCB or policy.
 *
 * Layouts: Intel, "SGX ECDSA Quote Library API" appendix "Quote Format"
 * (quote v3, certification data types); Intel, "TDX DCAP Quoting Library API"
 * (quote v4 and v5, TD quote body 1.0 and 1.5); Intel, "SGX PCK Certificate
 * and CRL Profile Specification" (the SGX extensions). Confirmed byte-for-byte
 * on the real quotes in `../shared/vectors/sgx/` and `tdx/` (see
 * `../shared/vectors/LAYOUTS.md` §2). Integers are little-endian; the ECDSA
 * signature and key fields are big-endian r ‖ s and x ‖ y.
 *
 * Rules this parser decides:
 * - VERSION 3 (SGX), 4 (SGX or TDX) or 5 (SGX or TDX, body type and size after
 *   the header); ATT_KEY_TYPE 2 (ECDSA-256 with P-256) only;
 * - v3 carries no TEE_TYPE (bytes 4–7 are reserved, zero); v4/v5 TEE_TYPE is 0
 *   (SGX) or 0x81 (TDX), and bytes 8–11 (QE_SVN/PCE_SVN in v3) are reserved, zero;
 * - every length field is checked against what its enclosing record leaves,
 *   and a record must be filled exactly: slack inside the signature data is an error;
 * - the certification data must lead to a PCK certificate chain (type 5): v3
 *   has it right after the QE authentication data, v4/v5 nest it in type 6
 *   (QE report certification data). Types 1–4 and 7 are refused: they carry
 *   no chain and cannot be verified offline;
 * - the chain is three PEM certificates (PCK, PCK CA, root), separated by
 *   whitespace, optionally followed by one NUL (Intel's QE writes one);
 *   each is strict base64 of one complete DER SEQUENCE;
 * - bytes after the signature data are an error unless `allowTrailing` is set
 *   (see `ParseDcapQuoteOptions.allowTrailing` for why it exists);
 * - the reserved ranges of every SGX REPORT_BODY (the enclave's and the QE's) are zero.
 */
import { hexOffset, nonZeroOffsets, toHex } from "../_bytes.ts";
import { EvidenceError } from "../error.ts";
import type {
  DcapQuote,
  PckExtensions,
  QuoteHeader,
  SgxReportBody,
  TdReportBody,
} from "./types.ts";

// ── Quote header (LAYOUTS.md §2; all versions) ──────────────────────────────

/** Size of the quote header. */
export const QUOTE_HEADER_SIZE = 48;

const VERSION = 0x00; // u16
const ATT_KEY_TYPE = 0x02; // u16
const TEE_TYPE = 0x04; // u32 (v4/v5); reserved in v3
const QE_SVN = 0x08; // u16 (v3); reserved in v4/v5
const PCE_SVN = 0x0a; // u16 (v3); reserved in v4/v5
const QE_VENDOR_ID = 0x0c;
const QE_VENDOR_ID_SIZE = 16;
const USER_DATA = 0x1c;
const USER_DATA_SIZE = 20;

/** ATT_KEY_TYPE 2: ECDSA-256-with-P-256 curve. 3 (P-384) is defined but never seen and not supported. */
const ATT_KEY_ECDSA_P256 = 2;
const TEE_TYPE_SGX = 0x00000000;
const TEE_TYPE_TDX = 0x00000081;

// ── Bodies ──────────────────────────────────────────────────────────────────

/** SGX REPORT_BODY (LAYOUTS.md §2.4): the enclave's report in SGX quotes and the QE's in all. */
export const SGX_REPORT_BODY_SIZE = 384;
/** TD quote body, TDX 1.0 (LAYOUTS.md §2.5). */
export const TD10_BODY_SIZE = 584;
/** TD quote body, TDX 1.5: TD 1.0 ‖ TEE_TCB_SVN_2 (16) ‖ MRSERVICETD (48). */
export const TD15_BODY_SIZE = 648;

// sgx_report_body_t, in spec order
const RB_CPU_SVN = 0;
const RB_MISC_SELECT = 16;
const RB_RESERVED1 = 20; // 12 bytes
const RB_ISV_EXT_PROD_ID = 32;
const RB_ATTRIBUTES = 48;
const RB_MR_ENCLAVE = 64;
const RB_RESERVED2 = 96; // 32 bytes
const RB_MR_SIGNER = 128;
const RB_RESERVED3 = 160; // 32 bytes
const RB_CONFIG_ID = 192;
const RB_ISV_PROD_ID = 256;
const RB_ISV_SVN = 258;
const RB_CONFIG_SVN = 260;
const RB_RESERVED4 = 262; // 42 bytes
const RB_ISV_FAMILY_ID = 304;
const RB_REPORT_DATA = 320;

/** The reserved ranges [start, end) of an SGX REPORT_BODY. */
const RB_RESERVED: readonly [number, number][] = [
  [RB_RESERVED1, RB_ISV_EXT_PROD_ID],
  [RB_RESERVED2, RB_MR_SIGNER],
  [RB_RESERVED3, RB_CONFIG_ID],
  [RB_RESERVED4, RB_ISV_FAMILY_ID],
];

// TD quote body (TD 1.0, then the TD 1.5 additions)
const TD_TEE_TCB_SVN = 0;
const TD_MR_SEAM = 16;
const TD_MR_SIGNER_SEAM = 64;
const TD_SEAM_ATTRIBUTES = 112;
const TD_TD_ATTRIBUTES = 120;
const TD_XFAM = 128;
const TD_MR_TD = 136;
const TD_MR_CONFIG_ID = 184;
const TD_MR_OWNER = 232;
const TD_MR_OWNER_CONFIG = 280;
const TD_RTMR0 = 328;
const TD_REPORT_DATA = 520;
const TD_TEE_TCB_SVN_2 = 584;
const TD_MR_SERVICE_TD = 600;
const MR48 = 48;

/** v5 body descriptor (LAYOUTS.md §2.3): body type u16 ‖ body size u32, right after the header. */
const V5_BODY_DESCRIPTOR_SIZE = 6;
const V5_BODY_TYPES: Record<number, { tee: "sgx" | "tdx"; size: number; name: string }> = {
  1: { tee: "sgx", size: SGX_REPORT_BODY_SIZE, name: "SGX enclave report" },
  2: { tee: "tdx", size: TD10_BODY_SIZE, name: "TD report, TDX 1.0" },
  3: { tee: "tdx", size: TD15_BODY_SIZE, name: "TD report, TDX 1.5" },
};

// ── Signature data (LAYOUTS.md §2.1, §2.2) ──────────────────────────────────

const SIG_DATA_LENGTH_SIZE = 4;
const ECDSA_SIGNATURE_SIZE = 64; // r ‖ s
const ECDSA_KEY_SIZE = 64; // x ‖ y

/** Certification data types (LAYOUTS.md §2.6). */
const CERT_DATA_TYPES: Record<number, string> = {
  1: "PPID in clear text",
  2: "PPID encrypted with RSA-2048-OAEP",
  3: "PPID encrypted with RSA-3072-OAEP",
  4: "PCK leaf certificate",
  5: "PCK certificate chain",
  6: "QE report certification data",
  7: "platform manifest",
};
const CERT_DATA_PCK_CHAIN = 5;
const CERT_DATA_QE_REPORT = 6;

/** Intel's PCK chains are leaf, PCK CA, root. */
export const PCK_CHAIN_LENGTH = 3;

/** Options for `parseDcapQuote`. */
export interface ParseDcapQuoteOptions {
  /**
   * Accept bytes after the end of the signature data and return them in
   * `trailing`. Default false: trailing bytes are an error
   * (`dcap.quote.trailing`). They are covered by no signature, so accepting
   * them cannot change what verifies; the option exists because real
   * producers hand out quotes inside larger buffers (zero padding to 5006 or
   * 8000 bytes, an appended note; LAYOUTS.md §2.7) and a caller that reads
   * such a buffer may choose to accept it — explicitly.
   */
  allowTrailing?: boolean;
}

/** A cursor over one length-delimited record of the quote: every read is checked against the record, not just the buffer. */
class Reader {
  readonly bytes: Uint8Array;
  readonly view: DataView;
  at: number;
  end: number;
  constructor(bytes: Uint8Array, at: number, end: number) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.at = at;
    this.end = end;
  }
  /** Throw `dcap.quote.length` unless `n` bytes remain in the current record. */
  need(n: number, what: string, record: string): void {
    if (this.at + n > this.end) {
      throw new EvidenceError(
        "dcap.quote.length",
        `expected ${n} bytes of ${what} at ${hexOffset(this.at)}, but ${record} has only ${this.end - this.at} left`,
      );
    }
  }
  take(n: number, what: string, record: string): Uint8Array {
    this.need(n, what, record);
    const out = this.bytes.slice(this.at, this.at + n);
    this.at += n;
    return out;
  }
  u16(what: string, record: string): number {
    this.need(2, what, record);
    const v = this.view.getUint16(this.at, true);
    this.at += 2;
    return v;
  }
  u32(what: string, record: string): number {
    this.need(4, what, record);
    const v = this.view.getUint32(this.at, true);
    this.at += 4;
    return v;
  }
  /** A length-prefixed sub-record: its declared length must fit what is left. */
  sub(length: number, what: string, record: string): Reader {
    if (this.at + length > this.end) {
      throw new EvidenceError(
        "dcap.quote.length",
        `${what} at ${hexOffset(this.at)} declares ${length} bytes, but ${record} has only ${this.end - this.at} left`,
      );
    }
    const r = new Reader(this.bytes, this.at, this.at + length);
    this.at += length;
    return r;
  }
  /** The record must be used up exactly. */
  done(record: string): void {
    if (this.at !== this.end) {
      throw new EvidenceError(
        "dcap.quote.length",
        `expected ${record} to end at ${hexOffset(this.at)} after its last field, but its length runs ${this.end - this.at} bytes further (to ${hexOffset(this.end)})`,
      );
    }
  }
}

/**
 * Parse a raw DCAP quote: SGX v3/v4/v5 or TDX v4/v5.
 *
 * @throws {EvidenceError} with a `dcap.quote.*` code when the bytes are not a
 *   well-formed quote this parser supports; the message names the field, its
 *   offset, what was expected and what was found.
 */
export function parseDcapQuote(bytes: Uint8Array, options: ParseDcapQuoteOptions = {}): DcapQuote {
  // One private copy: later changes to the caller's buffer cannot reach the quote.
  const raw = new Uint8Array(bytes);
  if (raw.length < QUOTE_HEADER_SIZE) {
    throw new EvidenceError(
      "dcap.quote.size",
      `expected at least a ${QUOTE_HEADER_SIZE}-byte quote header, got ${raw.length} bytes`,
    );
  }
  const view = new DataView(raw.buffer);
  const header = parseHeader(raw, view);

  // The body, and where the signed region ends.
  let bodyAt = QUOTE_HEADER_SIZE;
  const tee = header.teeType;
  let bodySize: number;
  let tdKind: "td10" | "td15" = "td10";
  if (header.version === 5) {
    need(raw, QUOTE_HEADER_SIZE + V5_BODY_DESCRIPTOR_SIZE, "the v5 body type and size");
    const bodyType = view.getUint16(QUOTE_HEADER_SIZE, true);
    const declared = view.getUint32(QUOTE_HEADER_SIZE + 2, true);
    const known = V5_BODY_TYPES[bodyType];
    if (known === undefined || known.tee !== tee) {
      const want = tee === "sgx" ? "1 (SGX enclave report)" : "2 (TD 1.0) or 3 (TD 1.5)";
      throw new EvidenceError(
        "dcap.quote.body_type",
        `expected body type ${want} for a ${tee.toUpperCase()} quote v5 at ${hexOffset(QUOTE_HEADER_SIZE)}, got ${bodyType}${known ? ` (${known.name})` : ""}`,
      );
    }
    if (declared !== known.size) {
      throw new EvidenceError(
        "dcap.quote.body_type",
        `expected body size ${known.size} for body type ${bodyType} (${known.name}) at ${hexOffset(QUOTE_HEADER_SIZE + 2)}, got ${declared}`,
      );
    }
    bodyAt += V5_BODY_DESCRIPTOR_SIZE;
    bodySize = known.size;
    if (bodyType === 3) tdKind = "td15";
  } else {
    bodySize = tee === "sgx" ? SGX_REPORT_BODY_SIZE : TD10_BODY_SIZE;
  }
  const signedEnd = bodyAt + bodySize;
  need(
    raw,
    signedEnd + SIG_DATA_LENGTH_SIZE,
    `the ${describeBody(tee, tdKind)} and the signature data length`,
  );
  const body: DcapQuote["body"] =
    tee === "sgx"
      ? { tee, report: parseSgxReportBody(raw, bodyAt, "enclave REPORT_BODY") }
      : { tee, report: parseTdReportBody(raw, bodyAt, tdKind) };

  // The signature data: its declared length must fit, and its contents must fill it.
  const top = new Reader(raw, signedEnd, raw.length);
  const sigLength = top.u32("signature data length", "the quote");
  const sig = top.sub(sigLength, "the signature data", "the quote");
  const SD = "the signature data";
  const quoteSignature = sig.take(ECDSA_SIGNATURE_SIZE, "quote signature (r ‖ s)", SD);
  const attestationKey = sig.take(ECDSA_KEY_SIZE, "attestation key (x ‖ y)", SD);
  let qe: QeSection;
  if (header.version === 3) {
    // v3 (LAYOUTS.md §2.1): the QE material sits directly in the signature data.
    qe = parseQeSection(sig, SD);
  } else {
    // v4/v5 (LAYOUTS.md §2.2): certification data type 6 wraps it.
    const outer = certData(sig, SD);
    if (outer.type !== CERT_DATA_QE_REPORT) throw wrongCertType(outer, CERT_DATA_QE_REPORT);
    qe = parseQeSection(outer.data, "the QE report certification data (type 6)");
    outer.data.done("the QE report certification data (type 6)");
  }
  sig.done(SD);

  const trailing = raw.slice(top.at);
  if (trailing.length > 0 && options.allowTrailing !== true) {
    throw new EvidenceError(
      "dcap.quote.trailing",
      `expected the quote to end with its signature data at ${hexOffset(top.at)}, got ${trailing.length} trailing byte(s) after it (${describeTrailing(trailing)}); pass the quote alone, or set allowTrailing to accept them`,
    );
  }

  return {
    header,
    signedBytes: raw.slice(0, signedEnd),
    body,
    quoteSignature,
    attestationKey,
    qeReport: qe.report,
    qeReportRaw: qe.raw,
    qeReportSignature: qe.signature,
    qeAuthData: qe.authData,
    pckChain: qe.pckChain,
    trailing,
  };
}

function need(raw: Uint8Array, n: number, what: string): void {
  if (raw.length < n) {
    throw new EvidenceError(
      "dcap.quote.size",
      `expected at least ${n} bytes to hold ${what}, got ${raw.length}`,
    );
  }
}

function describeBody(tee: "sgx" | "tdx", kind: "td10" | "td15"): string {
  if (tee === "sgx") return `${SGX_REPORT_BODY_SIZE}-byte enclave REPORT_BODY`;
  return kind === "td15"
    ? `${TD15_BODY_SIZE}-byte TD 1.5 quote body`
    : `${TD10_BODY_SIZE}-byte TD 1.0 quote body`;
}

function describeTrailing(t: Uint8Array): string {
  if (t.every((b) => b === 0)) return "all zero";
  const head = toHex(t.subarray(0, 16));
  return `starting ${head}${t.length > 16 ? "…" : ""}`;
}

function parseHeader(raw: Uint8Array, view: DataView): QuoteHeader {
  const version = view.getUint16(VERSION, true) as QuoteHeader["version"];
  if (version !== 3 && version !== 4 && version !== 5) {
    throw new EvidenceError(
      "dcap.quote.version",
      `expected quote version 3, 4 or 5 at ${hexOffset(VERSION)}, got ${version}`,
    );
  }
  const keyType = view.getUint16(ATT_KEY_TYPE, true);
  if (keyType !== ATT_KEY_ECDSA_P256) {
    throw new EvidenceError(
      "dcap.quote.key_type",
      `expected attestation key type 2 (ECDSA-256 with P-256) at ${hexOffset(ATT_KEY_TYPE)}, got ${keyType}${keyType === 3 ? " (ECDSA-384 with P-384, not supported)" : ""}`,
    );
  }
  const teeValue = view.getUint32(TEE_TYPE, true);
  let teeType: "sgx" | "tdx";
  if (version === 3) {
    // Quote v3 is SGX only; these four bytes are reserved.
    if (teeValue !== TEE_TYPE_SGX) {
      throw new EvidenceError(
        "dcap.quote.tee_type",
        `expected zero at ${hexOffset(TEE_TYPE)} (reserved in quote v3, which is SGX only), got 0x${teeValue.toString(16)}`,
      );
    }
    teeType = "sgx";
  } else if (teeValue === TEE_TYPE_SGX) {
    teeType = "sgx";
  } else if (teeValue === TEE_TYPE_TDX) {
    teeType = "tdx";
  } else {
    throw new EvidenceError(
      "dcap.quote.tee_type",
      `expected TEE type 0x00 (SGX) or 0x81 (TDX) at ${hexOffset(TEE_TYPE)}, got 0x${teeValue.toString(16)}`,
    );
  }
  if (version !== 3) checkZero(raw, QE_SVN, QE_VENDOR_ID, "header bytes reserved in quote v4/v5");
  return {
    version,
    attestationKeyType: keyType,
    teeType,
    qeSvn: view.getUint16(QE_SVN, true),
    pceSvn: view.getUint16(PCE_SVN, true),
    qeVendorId: raw.slice(QE_VENDOR_ID, QE_VENDOR_ID + QE_VENDOR_ID_SIZE),
    userData: raw.slice(USER_DATA, USER_DATA + USER_DATA_SIZE),
  };
}

/** Throw `dcap.quote.reserved` unless raw[start, end) is zero; offsets are absolute. */
function checkZero(raw: Uint8Array, start: number, end: number, what: string): void {
  const bad = nonZeroOffsets(raw.subarray(start, end), start);
  if (bad.length === 0) return;
  const shown = bad
    .slice(0, 8)
    .map((o) => `${hexOffset(o)}=${toHex(raw.subarray(o, o + 1))}`)
    .join(", ");
  const more = bad.length > 8 ? ` and ${bad.length - 8} more` : "";
  throw new EvidenceError(
    "dcap.quote.reserved",
    `expected zero bytes at ${hexOffset(start)}–${hexOffset(end - 1)} (${what}), got non-zero ${shown}${more}`,
  );
}

/** SGX REPORT_BODY at `at` (LAYOUTS.md §2.4). */
function parseSgxReportBody(raw: Uint8Array, at: number, what: string): SgxReportBody {
  for (const [s, e] of RB_RESERVED) checkZero(raw, at + s, at + e, `${what} reserved`);
  const v = new DataView(raw.buffer, raw.byteOffset + at, SGX_REPORT_BODY_SIZE);
  const f = (o: number, n: number) => raw.slice(at + o, at + o + n);
  return {
    cpuSvn: f(RB_CPU_SVN, 16),
    miscSelect: v.getUint32(RB_MISC_SELECT, true),
    isvExtProdId: f(RB_ISV_EXT_PROD_ID, 16),
    attributes: f(RB_ATTRIBUTES, 16),
    mrEnclave: f(RB_MR_ENCLAVE, 32),
    mrSigner: f(RB_MR_SIGNER, 32),
    configId: f(RB_CONFIG_ID, 64),
    isvProdId: v.getUint16(RB_ISV_PROD_ID, true),
    isvSvn: v.getUint16(RB_ISV_SVN, true),
    configSvn: v.getUint16(RB_CONFIG_SVN, true),
    isvFamilyId: f(RB_ISV_FAMILY_ID, 16),
    reportData: f(RB_REPORT_DATA, 64),
  };
}

/** TD quote body at `at` (LAYOUTS.md §2.5): every byte is a field, none reserved. */
function parseTdReportBody(raw: Uint8Array, at: number, kind: "td10" | "td15"): TdReportBody {
  const f = (o: number, n: number) => raw.slice(at + o, at + o + n);
  const rtmr = (i: number) => f(TD_RTMR0 + MR48 * i, MR48);
  return {
    kind,
    teeTcbSvn: f(TD_TEE_TCB_SVN, 16),
    mrSeam: f(TD_MR_SEAM, MR48),
    mrSignerSeam: f(TD_MR_SIGNER_SEAM, MR48),
    seamAttributes: f(TD_SEAM_ATTRIBUTES, 8),
    tdAttributes: f(TD_TD_ATTRIBUTES, 8),
    xfam: f(TD_XFAM, 8),
    mrTd: f(TD_MR_TD, MR48),
    mrConfigId: f(TD_MR_CONFIG_ID, MR48),
    mrOwner: f(TD_MR_OWNER, MR48),
    mrOwnerConfig: f(TD_MR_OWNER_CONFIG, MR48),
    rtmr: [rtmr(0), rtmr(1), rtmr(2), rtmr(3)],
    reportData: f(TD_REPORT_DATA, 64),
    teeTcbSvn2: kind === "td15" ? f(TD_TEE_TCB_SVN_2, 16) : null,
    mrServiceTd: kind === "td15" ? f(TD_MR_SERVICE_TD, MR48) : null,
  };
}

interface QeSection {
  report: SgxReportBody;
  raw: Uint8Array;
  signature: Uint8Array;
  authData: Uint8Array;
  pckChain: Uint8Array[];
}

/** QE REPORT_BODY ‖ its signature ‖ auth data size ‖ auth data ‖ certification data type 5. */
function parseQeSection(r: Reader, record: string): QeSection {
  r.need(SGX_REPORT_BODY_SIZE, "QE REPORT_BODY", record);
  const reportAt = r.at;
  const report = parseSgxReportBody(r.bytes, reportAt, "QE REPORT_BODY");
  const raw = r.take(SGX_REPORT_BODY_SIZE, "QE REPORT_BODY", record);
  const signature = r.take(ECDSA_SIGNATURE_SIZE, "QE report signature (r ‖ s)", record);
  const authSize = r.u16("QE authentication data size", record);
  const authData = r.sub(authSize, "the QE authentication data", record);
  const inner = certData(r, record);
  if (inner.type !== CERT_DATA_PCK_CHAIN) throw wrongCertType(inner, CERT_DATA_PCK_CHAIN);
  const pckChain = parsePckChainPem(inner.data);
  return {
    report,
    raw,
    signature,
    authData: r.bytes.slice(authData.at, authData.end),
    pckChain,
  };
}

interface CertData {
  type: number;
  at: number;
  data: Reader;
}

function certData(r: Reader, record: string): CertData {
  const at = r.at;
  const type = r.u16("certification data type", record);
  const size = r.u32("certification data size", record);
  return { type, at, data: r.sub(size, `certification data (type ${type})`, record) };
}

function wrongCertType(c: CertData, want: number): EvidenceError {
  const name = CERT_DATA_TYPES[c.type];
  const why =
    name === undefined
      ? "an unknown type"
      : c.type >= 1 && c.type <= 4
        ? `${name}: it carries no PCK certificate chain, so the quote cannot be verified offline`
        : name;
  return new EvidenceError(
    "dcap.quote.cert_data_type",
    `expected certification data type ${want} (${CERT_DATA_TYPES[want]}) at ${hexOffset(c.at)}, got ${c.type} (${why})`,
  );
}

// ── PCK certificate chain, certification data type 5 (LAYOUTS.md §2.6) ─────

const PEM_BEGIN = "-----BEGIN CERTIFICATE-----";
const PEM_END = "-----END CERTIFICATE-----";

/** The DER certificates of a type-5 PEM chain, leaf first. */
function parsePckChainPem(r: Reader): Uint8Array[] {
  const at = r.at;
  let bytes = r.bytes.subarray(r.at, r.end);
  r.at = r.end;
  const bad = (why: string) =>
    new EvidenceError(
      "dcap.quote.pem",
      `expected the PCK certificate chain at ${hexOffset(at)} as ${PCK_CHAIN_LENGTH} PEM certificates (PCK, PCK CA, root), ${why}`,
    );
  // Intel's QE terminates the PEM text with one NUL.
  if (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes = bytes.subarray(0, -1);
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    if (!(b === 0x0a || b === 0x0d || b === 0x09 || (b >= 0x20 && b <= 0x7e))) {
      throw bad(
        `got a byte 0x${b.toString(16).padStart(2, "0")} that is not PEM text at ${hexOffset(at + i)}`,
      );
    }
  }
  const text = new TextDecoder().decode(bytes);
  const out: Uint8Array[] = [];
  let pos = 0;
  const skipSpace = () => {
    // Only tab, LF, CR and space passed the byte check above.
    while (pos < text.length && text.charCodeAt(pos) <= 0x20) pos++;
  };
  skipSpace();
  while (pos < text.length) {
    if (!text.startsWith(PEM_BEGIN, pos)) {
      throw bad(
        `got ${JSON.stringify(text.slice(pos, pos + 20))} at ${hexOffset(at + pos)} where "${PEM_BEGIN}" should start`,
      );
    }
    const bodyAt = pos + PEM_BEGIN.length;
    const endAt = text.indexOf(PEM_END, bodyAt);
    if (endAt < 0) throw bad(`got no "${PEM_END}" after the BEGIN line at ${hexOffset(at + pos)}`);
    const b64 = text.slice(bodyAt, endAt).replace(/[\r\n\t ]/g, "");
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 !== 0) {
      throw bad(
        `got certificate ${out.length + 1} whose body is not base64 (${b64.length} characters)`,
      );
    }
    const bin = atob(b64);
    const der = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) der[i] = bin.charCodeAt(i);
    const why = derSequenceProblem(der);
    if (why !== null)
      throw bad(`got certificate ${out.length + 1} that is not one DER SEQUENCE (${why})`);
    out.push(der);
    pos = endAt + PEM_END.length;
    skipSpace();
  }
  if (out.length !== PCK_CHAIN_LENGTH) throw bad(`got ${out.length}`);
  return out;
}

/** Why `der` is not exactly one definite-length DER SEQUENCE, or null when it is. */
function derSequenceProblem(der: Uint8Array): string | null {
  try {
    const t = readTlv(der, 0, der.length, "dcap.quote.pem");
    if (t.tag !== SEQUENCE) return `tag 0x${t.tag.toString(16)}`;
    if (t.end !== der.length) return `${der.length - t.end} trailing byte(s)`;
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

// ── Strict DER (X.690 §8.1, §10.1) ──────────────────────────────────────────

const BOOLEAN = 0x01;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const OID = 0x06;
const ENUMERATED = 0x0a;
const UTF8_STRING = 0x0c;
const PRINTABLE_STRING = 0x13;
const SEQUENCE = 0x30;
const SET = 0x31;
const CTX_0 = 0xa0;
const CTX_1 = 0x81; // issuerUniqueID, IMPLICIT BIT STRING
const CTX_2 = 0x82; // subjectUniqueID
const CTX_3 = 0xa3;

interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  at: number;
  /** Offset of the first content byte. */
  start: number;
  /** Offset one past the last content byte. */
  end: number;
}

type DerCode = "dcap.quote.pem" | "dcap.pck.der";

/** One TLV at `offset`: definite, minimal length; low tag numbers only; inside `limit`. */
function readTlv(b: Uint8Array, offset: number, limit: number, code: DerCode): Tlv {
  const err = (why: string) => new EvidenceError(code, `DER: ${why} at offset ${offset}`);
  if (offset + 2 > limit) throw err("truncated header");
  const tag = b[offset]!;
  if ((tag & 0x1f) === 0x1f) throw err("high tag number");
  let len = b[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0) throw err("indefinite length");
    if (n > 3) throw err(`${n}-byte length`);
    if (start + n > limit) throw err("truncated length");
    if (b[start] === 0) throw err("non-minimal length");
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    if (len < 0x80) throw err("non-minimal length");
    start += n;
  }
  if (start + len > limit) {
    throw err(`element claims ${len} bytes, only ${limit - start} remain`);
  }
  return { tag, at: offset, start, end: start + len };
}

function children(b: Uint8Array, parent: Tlv, code: DerCode): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.start; at < parent.end; ) {
    const t = readTlv(b, at, parent.end, code);
    out.push(t);
    at = t.end;
  }
  return out;
}

// ── PCK certificate SGX extensions (LAYOUTS.md §2.8, Intel PCK profile) ──────

/** 1.2.840.113741.1.13.1, the SGX extension, as DER OID content (hex). */
const SGX_EXTENSIONS_OID = "2a864886f84d010d01";
/** id-at-commonName 2.5.4.3. */
const CN_OID = "550403";

/** The PCK CA that issued a PCK certificate, by the CN Intel gives it. */
const PCK_CA_NAMES: Record<string, PckExtensions["ca"]> = {
  "Intel SGX PCK Processor CA": "processor",
  "Intel SGX PCK Platform CA": "platform",
};

const SGX_TYPES: Record<number, PckExtensions["sgxType"]> = {
  0: "standard",
  1: "scalable",
  2: "scalable-with-integrity",
};

/** The sub-OIDs of the SGX extension this parser knows; any other is refused. */
const SGX_FIELDS: Record<number, string> = {
  1: "PPID",
  2: "TCB",
  3: "PCE-ID",
  4: "FMSPC",
  5: "SGX Type",
  6: "PlatformInstanceID",
  7: "Configuration",
};

/** Number of SGX TCB component SVNs (sub-OIDs .2.1–.2.16). */
const TCB_COMPONENTS = 16;
const TCB_PCESVN = 17;
const TCB_CPUSVN = 18;

/**
 * Read the SGX extensions of a PCK certificate (DER): PPID, TCB (16 component
 * SVNs, PCESVN, CPUSVN), PCE-ID, FMSPC, SGX type, and — from the issuer's
 * common name — which PCK CA issued it. A strict DER walk of the certificate
 * down to its extensions; it verifies nothing (`quote_verify.ts` does).
 *
 * @throws {EvidenceError} `dcap.pck.der` when the certificate is not strict
 *   DER of the X.509 shape; `dcap.pck.extension` when the SGX extension is
 *   missing, repeated or malformed (a missing, repeated, unknown or
 *   ill-typed field); `dcap.pck.issuer` when the issuer is neither Intel PCK CA.
 */
export function parsePckExtensions(pckLeafDer: Uint8Array): PckExtensions {
  const b = pckLeafDer;
  const D: DerCode = "dcap.pck.der";
  const shape = (what: string, t: Tlv | undefined, tag: number): Tlv => {
    if (t === undefined || t.tag !== tag) {
      throw new EvidenceError(
        D,
        `expected ${what} (tag 0x${tag.toString(16)}) in the PCK certificate${t ? ` at offset ${t.at}, got tag 0x${t.tag.toString(16)}` : ", got nothing"}`,
      );
    }
    return t;
  };
  const cert = readTlv(b, 0, b.length, D);
  if (cert.end !== b.length) {
    throw new EvidenceError(
      D,
      `expected one DER certificate, got ${b.length - cert.end} trailing byte(s)`,
    );
  }
  shape("Certificate SEQUENCE", cert, SEQUENCE);
  const top = children(b, cert, D);
  if (top.length !== 3) {
    throw new EvidenceError(
      D,
      `expected Certificate to hold 3 elements (tbsCertificate, signatureAlgorithm, signature), got ${top.length}`,
    );
  }
  const tbs = children(b, shape("tbsCertificate", top[0], SEQUENCE), D);
  let i = tbs[0]?.tag === CTX_0 ? 1 : 0;
  shape("serialNumber", tbs[i++], INTEGER);
  shape("signature AlgorithmIdentifier", tbs[i++], SEQUENCE);
  const issuer = shape("issuer Name", tbs[i++], SEQUENCE);
  shape("validity", tbs[i++], SEQUENCE);
  shape("subject Name", tbs[i++], SEQUENCE);
  shape("subjectPublicKeyInfo", tbs[i++], SEQUENCE);
  // RFC 5280 §4.1: then issuerUniqueID [1], subjectUniqueID [2] (optional, in
  // that order) and extensions [3], which a PCK certificate must have.
  if (tbs[i]?.tag === CTX_1) i++;
  if (tbs[i]?.tag === CTX_2) i++;
  const extsWrap = tbs[i];
  if (extsWrap?.tag !== CTX_3 || i !== tbs.length - 1) {
    throw new EvidenceError(
      D,
      `expected the PCK certificate's tbsCertificate to end with its extensions ([3]) after subjectPublicKeyInfo, got ${
        tbs
          .slice(i)
          .map((t) => `tag 0x${t.tag.toString(16)}`)
          .join(", ") || "nothing"
      }`,
    );
  }
  const extsSeq = children(b, extsWrap, D);
  if (extsSeq.length !== 1)
    throw new EvidenceError(D, `expected one Extensions SEQUENCE in [3], got ${extsSeq.length}`);
  let sgx: Tlv | null = null;
  for (const ext of children(b, shape("Extensions SEQUENCE", extsSeq[0], SEQUENCE), D)) {
    const parts = children(b, shape("Extension SEQUENCE", ext, SEQUENCE), D);
    const oid = shape("extnID", parts[0], OID);
    if (hexOf(b, oid) !== SGX_EXTENSIONS_OID) continue;
    if (sgx !== null) {
      throw new EvidenceError(
        "dcap.pck.extension",
        "expected the SGX extension (1.2.840.113741.1.13.1) once, got it twice",
      );
    }
    const value = parts[parts.length - 1];
    const critical = parts.length === 3 ? parts[1] : undefined;
    if (
      parts.length < 2 ||
      parts.length > 3 ||
      value?.tag !== OCTET_STRING ||
      (critical !== undefined && (critical.tag !== BOOLEAN || critical.end - critical.start !== 1))
    ) {
      throw new EvidenceError(
        D,
        "expected the SGX extension as SEQUENCE { extnID, [critical], extnValue OCTET STRING }",
      );
    }
    sgx = value;
  }
  if (sgx === null) {
    throw new EvidenceError(
      "dcap.pck.extension",
      "expected the SGX extension (1.2.840.113741.1.13.1) in the PCK certificate, got none",
    );
  }
  return { ...readSgxExtension(b, sgx), ca: pckCa(b, issuer) };
}

function hexOf(b: Uint8Array, t: Tlv): string {
  return toHex(b.subarray(t.start, t.end));
}

/** Which PCK CA the issuer's CN names. */
function pckCa(b: Uint8Array, issuer: Tlv): PckExtensions["ca"] {
  const cns: string[] = [];
  for (const rdn of children(b, issuer, "dcap.pck.der")) {
    if (rdn.tag !== SET)
      throw new EvidenceError(
        "dcap.pck.der",
        `expected a SET in the issuer Name at offset ${rdn.at}, got tag 0x${rdn.tag.toString(16)}`,
      );
    for (const atv of children(b, rdn, "dcap.pck.der")) {
      const [type, value] = children(b, atv, "dcap.pck.der");
      if (atv.tag !== SEQUENCE || type?.tag !== OID || value === undefined) {
        throw new EvidenceError(
          "dcap.pck.der",
          `expected AttributeTypeAndValue SEQUENCE { OID, value } at offset ${atv.at}`,
        );
      }
      if (hexOf(b, type) !== CN_OID) continue;
      if (value.tag !== UTF8_STRING && value.tag !== PRINTABLE_STRING) {
        throw new EvidenceError(
          "dcap.pck.der",
          `expected the issuer CN as UTF8String or PrintableString, got tag 0x${value.tag.toString(16)}`,
        );
      }
      cns.push(new TextDecoder().decode(b.subarray(value.start, value.end)));
    }
  }
  const ca = cns.length === 1 ? PCK_CA_NAMES[cns[0]!] : undefined;
  if (ca === undefined) {
    throw new EvidenceError(
      "dcap.pck.issuer",
      `expected the PCK certificate's issuer CN "Intel SGX PCK Processor CA" or "Intel SGX PCK Platform CA", got ${cns.length === 0 ? "no CN" : cns.map((c) => JSON.stringify(c)).join(", ")}`,
    );
  }
  return ca;
}

type SgxFields = Omit<PckExtensions, "ca">;

function readSgxExtension(b: Uint8Array, value: Tlv): SgxFields {
  const E = "dcap.pck.extension" as const;
  const bad = (why: string) => new EvidenceError(E, `expected a well-formed SGX extension, ${why}`);
  const outer = readTlv(b, value.start, value.end, "dcap.pck.der");
  if (outer.tag !== SEQUENCE || outer.end !== value.end) {
    throw bad("got an extension value that is not exactly one SEQUENCE");
  }
  const seen = new Map<number, Tlv>();
  for (const [sub, v] of oidValuePairs(b, outer, SGX_EXTENSIONS_OID, "SGX extension")) {
    if (SGX_FIELDS[sub] === undefined)
      throw bad(`got an unknown field 1.2.840.113741.1.13.1.${sub}`);
    if (seen.has(sub)) throw bad(`got ${SGX_FIELDS[sub]} twice`);
    seen.set(sub, v);
  }
  const field = (sub: number): Tlv => {
    const v = seen.get(sub);
    if (v === undefined) throw bad(`got no ${SGX_FIELDS[sub]} (1.2.840.113741.1.13.1.${sub})`);
    return v;
  };
  const ppid = octets(b, field(1), 16, "PPID");
  const tcb = readTcb(b, field(2));
  const pceId = octets(b, field(3), 2, "PCE-ID");
  const fmspc = octets(b, field(4), 6, "FMSPC");
  const typeTlv = field(5);
  if (typeTlv.tag !== ENUMERATED)
    throw bad(`got SGX Type with tag 0x${typeTlv.tag.toString(16)}, not ENUMERATED`);
  const typeValue = derUint(b, typeTlv, "SGX Type");
  const sgxType = SGX_TYPES[typeValue];
  if (sgxType === undefined)
    throw bad(
      `got SGX Type ${typeValue} (known: 0 standard, 1 scalable, 2 scalable with integrity)`,
    );
  const instance = seen.get(6);
  if (instance !== undefined) octets(b, instance, 16, "PlatformInstanceID");
  const config = seen.get(7);
  if (config !== undefined) {
    if (config.tag !== SEQUENCE) throw bad("got Configuration that is not a SEQUENCE");
    for (const [sub, v] of oidValuePairs(b, config, `${SGX_EXTENSIONS_OID}07`, "Configuration")) {
      if (sub < 1 || sub > 3 || v.tag !== BOOLEAN || v.end - v.start !== 1) {
        throw bad(
          `got Configuration field .7.${sub} that is not a BOOLEAN of dynamicPlatform, cachedKeys or SMTEnabled`,
        );
      }
    }
  }
  return {
    ppid,
    tcbComponents: tcb.components,
    pceSvn: tcb.pceSvn,
    cpuSvn: tcb.cpuSvn,
    pceId: toHex(pceId),
    fmspc: toHex(fmspc),
    sgxType,
  };
}

/** The children of `seq`, each SEQUENCE { OID prefix.N, value }, as [N, value]. */
function oidValuePairs(b: Uint8Array, seq: Tlv, prefix: string, what: string): [number, Tlv][] {
  const out: [number, Tlv][] = [];
  for (const item of children(b, seq, "dcap.pck.der")) {
    const parts = item.tag === SEQUENCE ? children(b, item, "dcap.pck.der") : [];
    const oid = parts[0];
    const hex = oid?.tag === OID ? hexOf(b, oid) : "";
    // One arc below the prefix, < 128 so one byte.
    const sub =
      hex.length === prefix.length + 2 && hex.startsWith(prefix)
        ? Number.parseInt(hex.slice(-2), 16)
        : -1;
    if (parts.length !== 2 || sub < 0 || sub >= 0x80) {
      throw new EvidenceError(
        "dcap.pck.extension",
        `expected every ${what} entry as SEQUENCE { OID under its arc, value }, got one at offset ${item.at} that is not`,
      );
    }
    out.push([sub, parts[1]!]);
  }
  return out;
}

function octets(b: Uint8Array, t: Tlv, size: number, what: string): Uint8Array {
  if (t.tag !== OCTET_STRING || t.end - t.start !== size) {
    throw new EvidenceError(
      "dcap.pck.extension",
      `expected ${what} as a ${size}-byte OCTET STRING, got tag 0x${t.tag.toString(16)} with ${t.end - t.start} bytes`,
    );
  }
  return b.slice(t.start, t.end);
}

/** A non-negative INTEGER/ENUMERATED in minimal encoding, up to 0xFFFFFF. */
function derUint(b: Uint8Array, t: Tlv, what: string): number {
  const n = t.end - t.start;
  const bad = (why: string) =>
    new EvidenceError(
      "dcap.pck.extension",
      `expected ${what} as a minimal non-negative DER integer, got ${why}`,
    );
  if (n === 0) throw bad("an empty one");
  const first = b[t.start]!;
  if (first & 0x80) throw bad("a negative one");
  if (n > 1 && first === 0 && !(b[t.start + 1]! & 0x80)) throw bad("a non-minimal one");
  if (n > 4 || (n === 4 && first !== 0)) throw bad(`a ${n}-byte one`);
  let v = 0;
  for (let i = t.start; i < t.end; i++) v = v * 256 + b[i]!;
  return v;
}

function readTcb(
  b: Uint8Array,
  tcb: Tlv,
): { components: number[]; pceSvn: number; cpuSvn: Uint8Array } {
  const bad = (why: string) =>
    new EvidenceError(
      "dcap.pck.extension",
      `expected a well-formed SGX TCB (1.2.840.113741.1.13.1.2), ${why}`,
    );
  if (tcb.tag !== SEQUENCE) throw bad(`got tag 0x${tcb.tag.toString(16)}, not a SEQUENCE`);
  const seen = new Map<number, Tlv>();
  for (const [sub, v] of oidValuePairs(b, tcb, `${SGX_EXTENSIONS_OID}02`, "TCB")) {
    if (sub < 1 || sub > TCB_CPUSVN) throw bad(`got an unknown field .2.${sub}`);
    if (seen.has(sub)) throw bad(`got field .2.${sub} twice`);
    seen.set(sub, v);
  }
  const get = (sub: number) => {
    const v = seen.get(sub);
    if (v === undefined) throw bad(`got no field .2.${sub}`);
    return v;
  };
  const int = (sub: number, max: number, what: string) => {
    const t = get(sub);
    if (t.tag !== INTEGER) throw bad(`got ${what} with tag 0x${t.tag.toString(16)}, not INTEGER`);
    const v = derUint(b, t, what);
    if (v > max) throw bad(`got ${what} = ${v}, above ${max}`);
    return v;
  };
  const components: number[] = [];
  for (let k = 1; k <= TCB_COMPONENTS; k++)
    components.push(int(k, 0xff, `SGX TCB component ${k} SVN`));
  return {
    components,
    pceSvn: int(TCB_PCESVN, 0xffff, "PCESVN"),
    cpuSvn: octets(b, get(TCB_CPUSVN), 16, "CPUSVN"),
  };
}
