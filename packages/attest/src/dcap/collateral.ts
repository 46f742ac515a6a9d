/**
 * Intel DCAP collateral: parse and verify TCB Info (SGX and TDX, versions 2
 * and 3), QE Identity (Enclave Identity v2: QE, TD_QE) and the Intel CRLs (the
 * SGX Root CA CRL and the PCK Processor/Platform CA CRL), as Intel PCS v4
 * serves them. References: Intel "Provisioning Certification Service API v4"
 * (TCB Info v2/v3, Enclave Identity v2, PCK CRL, issuer-chain headers); Intel
 * SGX-TDX-DCAP-QuoteVerificationLibrary (QVL) `TCBInfoVerifier`,
 * `EnclaveIdentityV2`, `PckCrlVerifier`; ../shared/vectors/LAYOUTS.md §2.9.
 *
 * The signature of TCB Info / QE Identity is ECDSA P-256/SHA-256 over the
 * EXACT bytes of the `tcbInfo` / `enclaveIdentity` member as it appears in the
 * body, so the body is kept as text and the member's span is cut out of it —
 * never re-serialised (STYLE "Verify the bytes you received").
 *
 * Parsing is strict: invalid JSON, duplicated member names (a second
 * `tcbInfo` could otherwise be parsed while the first is signed), unknown or
 * missing members, wrong types and out-of-range numbers are errors with a
 * stable `dcap.collateral.*` code and the JSON path in the message.
 *
 * Verification (`createDcapCollateralVerifier`) returns every check that ran,
 * pass or fail, like `snp/verify.ts`, and caches parses, signature outcomes
 * and, per collateral object, every check that does not depend on the time,
 * so warm collateral costs no crypto (a few µs); validity windows and CRL
 * freshness are judged at every call's `now`.
 */
import { fromHex, toHex } from "../_bytes.ts";
import { Lru } from "../_lru.ts";
import { X509Certificate, X509Crl } from "../_x509.ts";
import { CODES } from "../codes.ts";
import { EvidenceError } from "../error.ts";
import { decodePem, looksLikePem, parseCertificate } from "../snp/_amdcerts.ts";
import { type Check, failed as fail, passed as pass } from "../verdict.ts";
import { INTEL_SGX_ROOT_CA } from "./roots/intel.ts";
import { type DcapCollateral, TCB_STATUSES, type TcbStatus } from "./types.ts";

// ───────────────────────────────────────────────────────────────────────────
// Parsed collateral

/** One level of a TCB Info's `tcbLevels` (PCS order: newest first). */
export interface TcbLevel {
  /** The 16 SGX TCB component SVNs (v3 `sgxtcbcomponents[i].svn`, v2 `sgxtcbcompNNsvn`). */
  sgxComponents: number[];
  pceSvn: number;
  /** The 16 TDX TCB component SVNs (TDX TCB Info only), else null. */
  tdxComponents: number[] | null;
  /** ISO 8601, as written. */
  tcbDate: string;
  tcbStatus: TcbStatus;
  /** `advisoryIDs` as written (empty when absent). */
  advisoryIds: string[];
}

/** A level of a QE Identity or TDX module identity: selected by ISVSVN. */
export interface IdentityTcbLevel {
  isvSvn: number;
  tcbDate: string;
  /** UpToDate, OutOfDate or Revoked. */
  tcbStatus: TcbStatus;
  advisoryIds: string[];
}

/** TCB Info v3 (TDX) `tdxModule`: the default expected MRSIGNERSEAM and SEAMATTRIBUTES. */
export interface TdxModule {
  /** 48 bytes. */
  mrSigner: Uint8Array;
  /** 8 bytes. */
  attributes: Uint8Array;
  /** 8 bytes. */
  attributesMask: Uint8Array;
}

/** TCB Info v3 (TDX) `tdxModuleIdentities[i]`: a module major version `TDX_%02X` and its levels. */
export interface TdxModuleIdentity extends TdxModule {
  /** `TDX_01`, `TDX_03`… (upper case as compared). */
  id: string;
  tcbLevels: IdentityTcbLevel[];
}

/** A parsed TCB Info (PCS v4 `tcbInfo`). */
export interface TcbInfo {
  /** `SGX` or `TDX`; version 2 has no id and is SGX. */
  id: "SGX" | "TDX";
  version: 2 | 3;
  issueDate: Date;
  nextUpdate: Date;
  /** 12 lowercase hex digits. */
  fmspc: string;
  /** 4 lowercase hex digits. */
  pceId: string;
  tcbType: number;
  tcbEvaluationDataNumber: number;
  /** TDX only (required there). */
  tdxModule: TdxModule | null;
  /** TDX only, optional (older TDX TCB Info has none). */
  tdxModuleIdentities: TdxModuleIdentity[] | null;
  tcbLevels: TcbLevel[];
  /** The exact `tcbInfo` JSON text the signature covers. */
  signedText: string;
  /** r ‖ s, 64 bytes. */
  signature: Uint8Array;
}

/** A parsed QE Identity (PCS v4 `enclaveIdentity`, version 2). */
export interface QeIdentity {
  /** `QE` (SGX quotes), `TD_QE` (TDX quotes), `QVE`. */
  id: "QE" | "TD_QE" | "QVE";
  version: 2;
  issueDate: Date;
  nextUpdate: Date;
  tcbEvaluationDataNumber: number;
  /** 4 bytes, in REPORT_BODY byte order (little-endian u32), as Intel's QVL compares them. */
  miscselect: Uint8Array;
  miscselectMask: Uint8Array;
  /** 16 bytes (flags ‖ xfrm, REPORT_BODY order). */
  attributes: Uint8Array;
  attributesMask: Uint8Array;
  /** 32 bytes. */
  mrSigner: Uint8Array;
  isvProdId: number;
  tcbLevels: IdentityTcbLevel[];
  signedText: string;
  signature: Uint8Array;
}

/** A parsed Intel CRL. */
export interface DcapCrl {
  der: Uint8Array;
  x509: X509Crl;
  /** RFC 4514 string, e.g. `CN=Intel SGX Root CA, O=Intel Corporation, …`. */
  issuer: string;
  /** The issuer's CN. */
  issuerCn: string;
  thisUpdate: Date;
  nextUpdate: Date | null;
  /** Revoked serial numbers (lowercase hex, no leading zeros) → revocation date. */
  revoked: Map<string, Date>;
}

/** Intel's CA names (PCK CRL issuers). */
export const INTEL_ROOT_CN = "Intel SGX Root CA";
export const INTEL_TCB_SIGNING_CN = "Intel SGX TCB Signing";
export const INTEL_PCK_CA_CN = {
  processor: "Intel SGX PCK Processor CA",
  platform: "Intel SGX PCK Platform CA",
} as const;

// ───────────────────────────────────────────────────────────────────────────
// Strict JSON (RFC 8259) with the spans of the top-level members

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

class JsonReader {
  readonly text: string;
  at = 0;
  constructor(text: string) {
    this.text = text;
  }
  fail(what: string): never {
    throw new JsonSyntax(`${what} at offset ${this.at}`);
  }
  ws(): void {
    const t = this.text;
    while (this.at < t.length) {
      const c = t.charCodeAt(this.at);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.at++;
      else break;
    }
  }
  value(depth: number): Json {
    if (depth > 32) this.fail("nesting deeper than 32");
    this.ws();
    const c = this.text[this.at];
    if (c === "{") return this.object(depth, null);
    if (c === "[") {
      this.at++;
      const out: Json[] = [];
      this.ws();
      if (this.text[this.at] === "]") {
        this.at++;
        return out;
      }
      for (;;) {
        out.push(this.value(depth + 1));
        this.ws();
        const d = this.text[this.at++];
        if (d === "]") return out;
        if (d !== ",") {
          this.at--;
          this.fail("expected , or ]");
        }
      }
    }
    if (c === '"') return this.string();
    if (this.text.startsWith("true", this.at)) {
      this.at += 4;
      return true;
    }
    if (this.text.startsWith("false", this.at)) {
      this.at += 5;
      return false;
    }
    if (this.text.startsWith("null", this.at)) {
      this.at += 4;
      return null;
    }
    const m = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(
      this.text.slice(this.at, this.at + 64),
    );
    if (!m) this.fail("expected a JSON value");
    this.at += m[0].length;
    return Number(m[0]);
  }
  /** An object; when `spans` is given, the [start, end) of each member value is recorded. */
  object(depth: number, spans: Map<string, [number, number]> | null): { [k: string]: Json } {
    this.at++; // {
    const out: { [k: string]: Json } = Object.create(null);
    this.ws();
    if (this.text[this.at] === "}") {
      this.at++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.text[this.at] !== '"') this.fail("expected a member name");
      const key = this.string();
      if (Object.hasOwn(out, key)) this.fail(`duplicated member ${JSON.stringify(key)}`);
      this.ws();
      if (this.text[this.at++] !== ":") {
        this.at--;
        this.fail("expected :");
      }
      this.ws();
      const start = this.at;
      out[key] = this.value(depth + 1);
      spans?.set(key, [start, this.at]);
      this.ws();
      const d = this.text[this.at++];
      if (d === "}") return out;
      if (d !== ",") {
        this.at--;
        this.fail("expected , or }");
      }
    }
  }
  string(): string {
    const start = this.at;
    this.at++;
    const t = this.text;
    for (;;) {
      if (this.at >= t.length) this.fail("unterminated string");
      const c = t.charCodeAt(this.at);
      if (c === 0x22) break;
      if (c < 0x20) this.fail("control character in a string");
      if (c === 0x5c) {
        const e = t[this.at + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(t.slice(this.at + 2, this.at + 6)))
            this.fail("bad \\u escape");
          this.at += 6;
          continue;
        }
        if (e === undefined || !'"\\/bfnrt'.includes(e)) this.fail("bad escape");
        this.at += 2;
        continue;
      }
      this.at++;
    }
    this.at++;
    return JSON.parse(t.slice(start, this.at)) as string;
  }
}

class JsonSyntax extends Error {}

/** The top-level object of `text`, and the text span of each of its members. */
function parseTopObject(
  text: string,
  what: string,
): { value: { [k: string]: Json }; spans: Map<string, [number, number]> } {
  const r = new JsonReader(text);
  const spans = new Map<string, [number, number]>();
  try {
    r.ws();
    if (r.text[r.at] !== "{") r.fail("expected a JSON object");
    const value = r.object(0, spans);
    r.ws();
    if (r.at !== text.length) r.fail("trailing characters after the JSON object");
    return { value, spans };
  } catch (e) {
    // Only JsonSyntax is thrown in here (the depth bound keeps the stack small).
    throw new EvidenceError(
      "dcap.collateral.json",
      `${what}: invalid JSON: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  }
}

// ───────────────────────────────────────────────────────────────────────────
// Typed field readers (every message names the JSON path)

type Obj = { [k: string]: Json };

function field(path: string, message: string): never {
  throw new EvidenceError("dcap.collateral.field", `${path}: ${message}`);
}

function describe(v: Json | undefined): string {
  if (v === undefined) return "absent";
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${JSON.stringify(v).slice(0, 40)}`;
}

/** Check that `o` has every required member and no member outside required ∪ optional. */
function members(
  o: Obj,
  path: string,
  required: readonly string[],
  optional: readonly string[] = [],
) {
  for (const k of required) if (!Object.hasOwn(o, k)) field(`${path}.${k}`, "missing");
  for (const k of Object.keys(o)) {
    if (!required.includes(k) && !optional.includes(k)) field(`${path}.${k}`, "unknown member");
  }
}

function obj(v: Json | undefined, path: string): Obj {
  if (v === null || typeof v !== "object" || Array.isArray(v))
    field(path, `expected an object, got ${describe(v)}`);
  return v;
}

function arr(v: Json | undefined, path: string): Json[] {
  if (!Array.isArray(v)) field(path, `expected an array, got ${describe(v)}`);
  return v;
}

function str(v: Json | undefined, path: string): string {
  if (typeof v !== "string") field(path, `expected a string, got ${describe(v)}`);
  return v;
}

function int(v: Json | undefined, path: string, max: number): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max)
    field(path, `expected an integer 0–${max}, got ${describe(v)}`);
  return v;
}

function hexField(v: Json | undefined, path: string, bytes: number): Uint8Array {
  const s = str(v, path);
  const b = s.length === 2 * bytes ? fromHex(s) : undefined;
  if (!b) field(path, `expected ${2 * bytes} hex digits, got ${JSON.stringify(s.slice(0, 140))}`);
  return b;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z$/;

function date(v: Json | undefined, path: string): Date {
  const s = str(v, path);
  const d = new Date(s);
  if (!ISO_DATE.test(s) || Number.isNaN(d.getTime()))
    field(
      path,
      `expected an ISO 8601 UTC date-time (2025-06-19T10:56:11Z), got ${JSON.stringify(s)}`,
    );
  return d;
}

/** A date-time member kept as written (after checking it is one). */
function dateText(v: Json | undefined, path: string): string {
  date(v, path);
  return v as string;
}

/** QE Identity and TDX module identity levels: PCS v4 "Enclave Identity" tcbStatus. */
const IDENTITY_STATUSES: readonly TcbStatus[] = ["UpToDate", "OutOfDate", "Revoked"];

function status(v: Json | undefined, path: string, allowed: readonly TcbStatus[]): TcbStatus {
  const s = str(v, path);
  if (!(allowed as readonly string[]).includes(s))
    field(path, `expected one of ${allowed.join(", ")}, got ${JSON.stringify(s)}`);
  return s as TcbStatus;
}

function advisories(v: Json | undefined, path: string): string[] {
  if (v === undefined) return [];
  return arr(v, path).map((a, i) => {
    const s = str(a, `${path}[${i}]`);
    if (!/^INTEL-SA-\d{5}$/.test(s))
      field(`${path}[${i}]`, `expected INTEL-SA-NNNNN, got ${JSON.stringify(s)}`);
    return s;
  });
}

function signatureOf(v: Json | undefined, path: string): Uint8Array {
  return hexField(v, path, 64);
}

/** The body as text: a string, or UTF-8 bytes (strictly decoded). */
function bodyText(body: string | Uint8Array, what: string): string {
  if (typeof body === "string") return body;
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(body);
  } catch (e) {
    throw new EvidenceError("dcap.collateral.json", `${what}: the body is not valid UTF-8`, {
      cause: e,
    });
  }
}

/** `{"<member>": {…}, "signature": "<hex>"}`: the member's object, its exact text and the signature. */
function signedBody(
  body: string | Uint8Array,
  member: "tcbInfo" | "enclaveIdentity",
  what: string,
): { o: Obj; signedText: string; signature: Uint8Array } {
  const text = bodyText(body, what);
  const { value, spans } = parseTopObject(text, what);
  members(value, what, [member, "signature"]);
  const o = obj(value[member], `${what}.${member}`);
  const [start, end] = spans.get(member)!;
  return {
    o,
    signedText: text.slice(start, end),
    signature: signatureOf(value.signature, `${what}.signature`),
  };
}

// ───────────────────────────────────────────────────────────────────────────
// TCB Info

const TCB_INFO_V2 = [
  "version",
  "issueDate",
  "nextUpdate",
  "fmspc",
  "pceId",
  "tcbType",
  "tcbEvaluationDataNumber",
  "tcbLevels",
] as const;

/**
 * Parse a TCB Info response body `{"tcbInfo":{…},"signature":"<hex>"}` (PCS v4,
 * TCB Info v2 or v3, SGX or TDX). Nothing is verified here.
 *
 * @throws {EvidenceError} `dcap.collateral.json`, `.field`, `.version`, `.id`.
 */
export function parseTcbInfo(body: string | Uint8Array): TcbInfo {
  const { o, signedText, signature } = signedBody(body, "tcbInfo", "TCB Info");
  const p = "tcbInfo";
  const version = o.version;
  if (version !== 2 && version !== 3) {
    throw new EvidenceError(
      "dcap.collateral.version",
      `${p}.version: expected TCB Info version 2 or 3, got ${describe(version)}`,
    );
  }
  let id: "SGX" | "TDX" = "SGX";
  if (version === 3) {
    const s = str(o.id, `${p}.id`);
    if (s !== "SGX" && s !== "TDX") {
      throw new EvidenceError(
        "dcap.collateral.id",
        `${p}.id: expected SGX or TDX, got ${JSON.stringify(s)}`,
      );
    }
    id = s;
    members(o, p, ["id", ...TCB_INFO_V2], id === "TDX" ? ["tdxModule", "tdxModuleIdentities"] : []);
    if (id === "TDX" && !Object.hasOwn(o, "tdxModule"))
      field(`${p}.tdxModule`, "missing (required for TDX)");
  } else {
    members(o, p, TCB_INFO_V2);
  }
  const tdx = id === "TDX";
  const levels = arr(o.tcbLevels, `${p}.tcbLevels`);
  if (levels.length === 0) field(`${p}.tcbLevels`, "empty");
  return {
    id,
    version,
    issueDate: date(o.issueDate, `${p}.issueDate`),
    nextUpdate: date(o.nextUpdate, `${p}.nextUpdate`),
    fmspc: toHex(hexField(o.fmspc, `${p}.fmspc`, 6)),
    pceId: toHex(hexField(o.pceId, `${p}.pceId`, 2)),
    tcbType: int(o.tcbType, `${p}.tcbType`, 0xffff),
    tcbEvaluationDataNumber: int(
      o.tcbEvaluationDataNumber,
      `${p}.tcbEvaluationDataNumber`,
      0xffffffff,
    ),
    tdxModule: tdx ? tdxModule(obj(o.tdxModule, `${p}.tdxModule`), `${p}.tdxModule`, false) : null,
    tdxModuleIdentities:
      tdx && o.tdxModuleIdentities !== undefined
        ? arr(o.tdxModuleIdentities, `${p}.tdxModuleIdentities`).map((m, i) => {
            const path = `${p}.tdxModuleIdentities[${i}]`;
            return tdxModule(obj(m, path), path, true) as TdxModuleIdentity;
          })
        : null,
    tcbLevels: levels.map((l, i) =>
      tcbLevel(obj(l, `${p}.tcbLevels[${i}]`), `${p}.tcbLevels[${i}]`, version, tdx),
    ),
    signedText,
    signature,
  };
}

function tdxModule(o: Obj, path: string, identity: boolean): TdxModule | TdxModuleIdentity {
  const base = ["mrsigner", "attributes", "attributesMask"];
  members(o, path, identity ? ["id", ...base, "tcbLevels"] : base);
  const m: TdxModule = {
    mrSigner: hexField(o.mrsigner, `${path}.mrsigner`, 48),
    attributes: hexField(o.attributes, `${path}.attributes`, 8),
    attributesMask: hexField(o.attributesMask, `${path}.attributesMask`, 8),
  };
  if (!identity) return m;
  const id = str(o.id, `${path}.id`);
  if (!/^TDX_[0-9A-Fa-f]{2}$/.test(id))
    field(`${path}.id`, `expected TDX_XX, got ${JSON.stringify(id)}`);
  const levels = arr(o.tcbLevels, `${path}.tcbLevels`);
  if (levels.length === 0) field(`${path}.tcbLevels`, "empty");
  return {
    ...m,
    id: id.toUpperCase(),
    tcbLevels: levels.map((l, i) => identityLevel(l, `${path}.tcbLevels[${i}]`)),
  };
}

function identityLevel(v: Json, path: string): IdentityTcbLevel {
  const o = obj(v, path);
  members(o, path, ["tcb", "tcbDate", "tcbStatus"], ["advisoryIDs"]);
  const tcb = obj(o.tcb, `${path}.tcb`);
  members(tcb, `${path}.tcb`, ["isvsvn"]);
  return {
    isvSvn: int(tcb.isvsvn, `${path}.tcb.isvsvn`, 0xffff),
    tcbDate: dateText(o.tcbDate, `${path}.tcbDate`),
    tcbStatus: status(o.tcbStatus, `${path}.tcbStatus`, IDENTITY_STATUSES),
    advisoryIds: advisories(o.advisoryIDs, `${path}.advisoryIDs`),
  };
}

function components(v: Json | undefined, path: string): number[] {
  const a = arr(v, path);
  if (a.length !== 16) field(path, `expected 16 components, got ${a.length}`);
  return a.map((c, i) => {
    const o = obj(c, `${path}[${i}]`);
    members(o, `${path}[${i}]`, ["svn"], ["category", "type"]);
    if (o.category !== undefined) str(o.category, `${path}[${i}].category`);
    if (o.type !== undefined) str(o.type, `${path}[${i}].type`);
    return int(o.svn, `${path}[${i}].svn`, 255);
  });
}

const V2_COMPONENTS = Array.from(
  { length: 16 },
  (_, i) => `sgxtcbcomp${String(i + 1).padStart(2, "0")}svn`,
);

function tcbLevel(o: Obj, path: string, version: 2 | 3, tdx: boolean): TcbLevel {
  members(o, path, ["tcb", "tcbDate", "tcbStatus"], ["advisoryIDs"]);
  const tp = `${path}.tcb`;
  const tcb = obj(o.tcb, tp);
  let sgx: number[];
  let tdxComponents: number[] | null = null;
  if (version === 2) {
    members(tcb, tp, [...V2_COMPONENTS, "pcesvn"]);
    sgx = V2_COMPONENTS.map((k) => int(tcb[k], `${tp}.${k}`, 255));
  } else {
    members(
      tcb,
      tp,
      tdx ? ["sgxtcbcomponents", "tdxtcbcomponents", "pcesvn"] : ["sgxtcbcomponents", "pcesvn"],
    );
    sgx = components(tcb.sgxtcbcomponents, `${tp}.sgxtcbcomponents`);
    if (tdx) tdxComponents = components(tcb.tdxtcbcomponents, `${tp}.tdxtcbcomponents`);
  }
  return {
    sgxComponents: sgx,
    pceSvn: int(tcb.pcesvn, `${tp}.pcesvn`, 0xffff),
    tdxComponents,
    tcbDate: dateText(o.tcbDate, `${path}.tcbDate`),
    tcbStatus: status(o.tcbStatus, `${path}.tcbStatus`, TCB_STATUSES),
    advisoryIds: advisories(o.advisoryIDs, `${path}.advisoryIDs`),
  };
}

// ───────────────────────────────────────────────────────────────────────────
// QE Identity

/**
 * Parse a QE Identity response body `{"enclaveIdentity":{…},"signature":"<hex>"}`
 * (PCS v4, Enclave Identity version 2). Nothing is verified here.
 *
 * @throws {EvidenceError} `dcap.collateral.json`, `.field`, `.version`, `.id`.
 */
export function parseQeIdentity(body: string | Uint8Array): QeIdentity {
  const { o, signedText, signature } = signedBody(body, "enclaveIdentity", "QE Identity");
  const p = "enclaveIdentity";
  if (o.version !== 2) {
    throw new EvidenceError(
      "dcap.collateral.version",
      `${p}.version: expected Enclave Identity version 2, got ${describe(o.version)}`,
    );
  }
  const id = str(o.id, `${p}.id`);
  if (id !== "QE" && id !== "TD_QE" && id !== "QVE") {
    throw new EvidenceError(
      "dcap.collateral.id",
      `${p}.id: expected QE, TD_QE or QVE, got ${JSON.stringify(id)}`,
    );
  }
  members(o, p, [
    "id",
    "version",
    "issueDate",
    "nextUpdate",
    "tcbEvaluationDataNumber",
    "miscselect",
    "miscselectMask",
    "attributes",
    "attributesMask",
    "mrsigner",
    "isvprodid",
    "tcbLevels",
  ]);
  const levels = arr(o.tcbLevels, `${p}.tcbLevels`);
  if (levels.length === 0) field(`${p}.tcbLevels`, "empty");
  return {
    id,
    version: 2,
    issueDate: date(o.issueDate, `${p}.issueDate`),
    nextUpdate: date(o.nextUpdate, `${p}.nextUpdate`),
    tcbEvaluationDataNumber: int(
      o.tcbEvaluationDataNumber,
      `${p}.tcbEvaluationDataNumber`,
      0xffffffff,
    ),
    miscselect: hexField(o.miscselect, `${p}.miscselect`, 4),
    miscselectMask: hexField(o.miscselectMask, `${p}.miscselectMask`, 4),
    attributes: hexField(o.attributes, `${p}.attributes`, 16),
    attributesMask: hexField(o.attributesMask, `${p}.attributesMask`, 16),
    mrSigner: hexField(o.mrsigner, `${p}.mrsigner`, 32),
    isvProdId: int(o.isvprodid, `${p}.isvprodid`, 0xffff),
    tcbLevels: levels.map((l, i) => identityLevel(l, `${p}.tcbLevels[${i}]`)),
    signedText,
    signature,
  };
}

// ───────────────────────────────────────────────────────────────────────────
// CRLs

/** Serial number as compared: lowercase hex without leading zeros. */
export function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, "");
}

/**
 * Parse an Intel CRL: DER bytes, PEM (bytes or text, `X509 CRL` block), or the
 * hex text a PCCS serves for the root CA CRL. Nothing is verified here.
 *
 * @throws {EvidenceError} `dcap.collateral.crl` naming the problem.
 */
export function parseDcapCrl(input: Uint8Array | string): DcapCrl {
  let der: Uint8Array;
  try {
    der = crlDer(input);
  } catch (e) {
    throw new EvidenceError("dcap.collateral.crl", `CRL: ${(e as Error).message}`, { cause: e });
  }
  let x: X509Crl;
  try {
    x = new X509Crl(der as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw new EvidenceError("dcap.collateral.crl", `CRL does not parse: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const revoked = new Map<string, Date>();
  for (const entry of x.entries)
    revoked.set(normalizeSerial(entry.serialNumber), entry.revocationDate);
  return {
    der,
    x509: x,
    issuer: x.issuer,
    issuerCn: x.issuerName.getField("CN")[0] ?? "",
    thisUpdate: x.thisUpdate,
    nextUpdate: x.nextUpdate ?? null,
    revoked,
  };
}

function crlDer(input: Uint8Array | string): Uint8Array {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  if (bytes.length === 0) throw new Error("empty");
  if (looksLikePem(bytes)) {
    const blocks = decodePem(bytes).filter((b) => b.label === "X509 CRL" || b.label === "CRL");
    if (blocks.length !== 1)
      throw new Error(`expected one PEM X509 CRL block, got ${blocks.length}`);
    return blocks[0]!.der;
  }
  if (bytes[0] === 0x30) return bytes;
  const text = new TextDecoder().decode(bytes).trim();
  const fromText = /^[0-9a-fA-F]+$/.test(text) ? fromHex(text) : undefined;
  if (fromText?.[0] === 0x30) return fromText;
  throw new Error(`neither DER, PEM nor hex (starts with 0x${toHex(bytes.subarray(0, 4))})`);
}

/**
 * Whether `crl` revokes the certificate with this serial (hex, any case and
 * leading zeros) or this certificate (DER): its revocation date, or null.
 * The caller must check the CRL's issuer is the certificate's issuer.
 */
export function revokedAt(crl: DcapCrl, serialOrCert: string | Uint8Array): Date | null {
  const serial =
    typeof serialOrCert === "string"
      ? serialOrCert
      : new X509Certificate(serialOrCert as Uint8Array<ArrayBuffer>).serialNumber;
  return crl.revoked.get(normalizeSerial(serial)) ?? null;
}

// ───────────────────────────────────────────────────────────────────────────
// Verification

/** Options fixed for the lifetime of a collateral verifier. */
export interface DcapCollateralVerifierOptions {
  /**
   * The pinned Intel SGX Root CA (DER bytes, or PEM text or bytes): every chain
   * must end in it. Default {@link INTEL_SGX_ROOT_CA} (`roots/intel.ts`).
   */
  root?: Uint8Array | string;
  /** WebCrypto implementation. Default `globalThis.crypto`. */
  crypto?: Crypto;
  /**
   * Entries kept of parsed TCB Info, QE Identity and CRLs (and 4× as many
   * certificates), oldest dropped first. Signature outcomes and per-collateral
   * plans live as long as the objects they belong to. Default 64; 0 disables caching.
   */
  cacheSize?: number;
}

/** Options of one verification. */
export interface DcapCollateralVerifyOptions {
  /** The verification time: every validity window and CRL freshness is judged at this instant. Required. */
  now: Date;
  /**
   * The PCK CA certificate (DER) from the quote's PCK chain: a candidate
   * issuer of the PCK CRL besides `pckCrlIssuerChain`. It is used only if the
   * pinned root signed it.
   */
  pckCa?: Uint8Array | null;
  /** Which PCK CA issued the PCK certificate (its PCK CRL must be that CA's). Not checked if unset. */
  pckCaKind?: "processor" | "platform" | null;
  /** Missing CRLs fail verification instead of warning (`dcap.collateral.crl_unavailable`). Default false. */
  requireCrl?: boolean;
  /** Accept collateral without TCB Info (only the policy may relax this). Default false. */
  allowMissingTcbInfo?: boolean;
  /** Accept collateral without QE Identity (only the policy may relax this). Default false. */
  allowMissingQeIdentity?: boolean;
  /** Named in "missing" messages: where the TCB Info and QE Identity come from. */
  fetchHint?: { tcbInfoUrl?: string; qeIdentityUrl?: string };
}

/** The outcome of collateral verification. */
export interface DcapCollateralResult {
  /** True when no check with severity "error" failed. */
  ok: boolean;
  /** Every check that ran, in order. */
  checks: Check[];
  /**
   * The TCB Info, when it parsed, its signature verified and its signing chain
   * holds (signed by the pinned root, named Intel SGX TCB Signing, not revoked).
   * Validity windows are judged in `checks`: a non-null value does not mean current.
   */
  tcbInfo: TcbInfo | null;
  /** The QE Identity, on the same terms as `tcbInfo`. */
  qeIdentity: QeIdentity | null;
  /** The root CA CRL, when it parsed and its signature verified by the pinned root. */
  rootCaCrl: DcapCrl | null;
  /** The PCK CRL, when it parsed and its signature verified by a PCK CA the pinned root signed. */
  pckCrl: DcapCrl | null;
}

/** A verifier holding the pinned root and caches. Safe to share; holds no per-call state. */
export interface DcapCollateralVerifier {
  verify(
    collateral: DcapCollateral,
    options: DcapCollateralVerifyOptions,
  ): Promise<DcapCollateralResult>;
  /**
   * Revocation checks of the quote's PCK chain against verified CRLs: the PCK
   * CA (issued by the root) against the root CA CRL, the PCK certificate
   * against the PCK CRL. A CRL that is null yields no check (its absence was
   * already reported by `verify`).
   */
  pckRevocationChecks(
    result: Pick<DcapCollateralResult, "rootCaCrl" | "pckCrl">,
    chain: { pck: Uint8Array; pckCa: Uint8Array },
  ): Check[];
}

/** A check, or one judged at the verification time (validity windows, CRL freshness). */
type Step = Check | ((now: Date) => Check);

/** What a verification found that does not depend on the time. */
interface Plan {
  steps: Step[];
  tcbInfo: TcbInfo | null;
  qeIdentity: QeIdentity | null;
  rootCaCrl: DcapCrl | null;
  pckCrl: DcapCrl | null;
}

/** A parsed certificate and the fields verification reads, read once (the X.509 getters re-parse). */
interface Cert {
  der: Uint8Array;
  x509: X509Certificate;
  subject: string;
  issuer: string;
  cn: string;
  /** Normalized (see normalizeSerial). */
  serial: string;
  notBefore: number;
  notAfter: number;
  key?: Promise<CryptoKey>;
}

/**
 * Whether two byte arrays are equal, 4 bytes at a time when both are aligned:
 * every warm verification confirms its cached certificates and CRLs this way.
 */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  let i = 0;
  if (a.byteOffset % 4 === 0 && b.byteOffset % 4 === 0) {
    const wa = new Uint32Array(a.buffer, a.byteOffset, n >>> 2);
    const wb = new Uint32Array(b.buffer, b.byteOffset, n >>> 2);
    for (let w = 0; w < wa.length; w++) if (wa[w] !== wb[w]) return false;
    i = wa.length * 4;
  }
  for (; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

function makeCert(der: Uint8Array): Cert {
  const x509 = parseCertificate(der);
  return {
    der,
    x509,
    subject: x509.subject,
    issuer: x509.issuer,
    cn: x509.subjectName.getField("CN")[0] ?? "",
    serial: normalizeSerial(x509.serialNumber),
    notBefore: x509.notBefore.getTime(),
    notAfter: x509.notAfter.getTime(),
  };
}

/**
 * One-shot verification with a fresh verifier (no warm cache). Prefer
 * {@link createDcapCollateralVerifier} when verifying many quotes.
 */
export function verifyDcapCollateral(
  collateral: DcapCollateral,
  options: DcapCollateralVerifyOptions & DcapCollateralVerifierOptions,
): Promise<DcapCollateralResult> {
  return createDcapCollateralVerifier(options).verify(collateral, options);
}

/**
 * Create a collateral verifier. It parses the pinned root once and caches,
 * per instance, parsed certificates, TCB Info, QE Identity and CRLs and the
 * outcome of every signature check, so warm collateral costs no crypto.
 */
export function createDcapCollateralVerifier(
  options: DcapCollateralVerifierOptions,
): DcapCollateralVerifier {
  const crypto = options.crypto ?? globalThis.crypto;
  const size = options.cacheSize ?? 64;
  let root: Cert;
  try {
    root = makeCert(certDer(options.root ?? INTEL_SGX_ROOT_CA));
  } catch (e) {
    throw new EvidenceError(
      "dcap.collateral.chain",
      `the pinned Intel SGX Root CA is not a DER certificate: ${(e as Error).message}`,
      { cause: e },
    );
  }
  const certs = new Lru<Cert>(size * 4);
  const tcbInfos = new Lru<TcbInfo | EvidenceError>(size);
  const qeIdentities = new Lru<QeIdentity | EvidenceError>(size);
  const crls = new Lru<DcapCrl | EvidenceError>(size);

  function certKey(der: Uint8Array): string {
    // Certificates end in their signature: length + last 32 bytes pick the entry, a byte compare confirms it.
    return `${der.length}:${toHex(der.subarray(der.length - 32))}`;
  }

  function cert(der: Uint8Array): Cert {
    const k = certKey(der);
    const hit = certs.get(k);
    if (hit && sameBytes(hit.der, der)) return hit;
    const c = makeCert(der.slice());
    certs.set(k, c);
    return c;
  }

  function ecKey(c: Cert): Promise<CryptoKey> {
    c.key ??= c.x509.publicKey.export({ name: "ECDSA", namedCurve: "P-256" }, ["verify"], crypto);
    c.key.catch(() => {
      c.key = undefined;
    });
    return c.key;
  }

  /**
   * Signature outcomes, keyed by the objects involved: parsed certificates,
   * CRLs, TCB Info and QE Identity are cached objects confirmed byte for byte,
   * so the same object means the same bytes — a key made of a digest prefix
   * could be fooled by a twin with the same tail.
   */
  const sigs = new WeakMap<object, WeakMap<Cert, boolean>>();
  async function memo(subject: object, signer: Cert, f: () => Promise<boolean>): Promise<boolean> {
    let bySigner = sigs.get(subject);
    if (!bySigner) {
      bySigner = new WeakMap();
      sigs.set(subject, bySigner);
    }
    const hit = bySigner.get(signer);
    if (hit !== undefined) return hit;
    const ok = await f();
    bySigner.set(signer, ok);
    return ok;
  }

  /** Whether `child` is signed by `issuer` (subject/issuer names and the signature). */
  async function signedBy(child: Cert, issuer: Cert): Promise<boolean> {
    if (child.issuer !== issuer.subject) return false;
    return memo(child, issuer, async () => {
      try {
        return await child.x509.verify({ publicKey: issuer.x509, signatureOnly: true }, crypto);
        /* node:coverage ignore next 4 */
      } catch {
        // The library throws on a signature it cannot convert; that is a failed signature.
        return false;
      }
    });
  }

  async function jsonSignedBy(item: TcbInfo | QeIdentity, signer: Cert): Promise<boolean> {
    return memo(item, signer, async () => {
      try {
        return await crypto.subtle.verify(
          { name: "ECDSA", hash: "SHA-256" },
          await ecKey(signer),
          item.signature as Uint8Array<ArrayBuffer>,
          new TextEncoder().encode(item.signedText),
        );
      } catch {
        return false; // a signer without a P-256 key cannot have signed it
      }
    });
  }

  async function crlSignedBy(crl: DcapCrl, issuer: Cert): Promise<boolean> {
    return memo(crl, issuer, async () => {
      try {
        return await crl.x509.verify({ publicKey: await ecKey(issuer) }, crypto);
        /* node:coverage ignore next 4 */
      } catch {
        // An issuer (the pinned root or a PCK CA it signed) without a P-256 key: a failed signature.
        return false;
      }
    });
  }

  function cachedParse<T>(cache: Lru<T | EvidenceError>, key: string, parse: () => T): T {
    const hit = cache.get(key);
    if (hit instanceof EvidenceError) throw hit;
    if (hit !== undefined) return hit;
    try {
      const v = parse();
      cache.set(key, v);
      return v;
    } catch (e) {
      if (e instanceof EvidenceError) cache.set(key, e);
      throw e;
    }
  }

  function crlOf(der: Uint8Array): DcapCrl {
    // The CRL's own bytes are the key: a CRL ends in its signature, so the tail tells CRLs apart.
    const key = `${der.length}:${toHex(der.subarray(der.length - 32))}`;
    const hit = crls.get(key);
    if (hit && !(hit instanceof EvidenceError) && !sameBytes(hit.der, der))
      return parseDcapCrl(der.slice());
    return cachedParse(crls, key, () => parseDcapCrl(der.slice()));
  }

  /** The TCB signing chain: its leaf signed by the pinned root, named Intel SGX TCB Signing, not revoked; windows at `now` later. */
  async function signingChain(
    what: string,
    prefix: string,
    chain: Uint8Array[],
    rootCrl: DcapCrl | null,
    checks: Step[],
  ): Promise<Cert | null> {
    let leaf: Cert;
    try {
      const parsed = chain.map(cert);
      // The leaf is the first certificate that is not the root; a chain of the root alone has none.
      const found = parsed.find((c) => !sameBytes(c.der, root.der));
      if (!found) {
        checks.push(
          fail(`${prefix}.chain`, "dcap.collateral.chain", {
            expected: `the ${what} issuer chain: Intel SGX TCB Signing, then Intel SGX Root CA`,
            actual: chain.length === 0 ? "an empty chain" : "only the root CA",
          }),
        );
        return null;
      }
      leaf = found;
    } catch (e) {
      checks.push(
        fail(`${prefix}.chain`, "dcap.collateral.chain", {
          expected: `the ${what} issuer chain as DER certificates`,
          actual: `unparsable (${errorText(e)})`,
        }),
      );
      return null;
    }
    const cn = leaf.cn;
    const byRoot = await signedBy(leaf, root);
    checks.push(
      byRoot && cn === INTEL_TCB_SIGNING_CN
        ? pass(`${prefix}.chain`)
        : fail(`${prefix}.chain`, "dcap.collateral.chain", {
            expected: `"${INTEL_TCB_SIGNING_CN}" signed by the pinned "${root.subject}"`,
            actual: `"${leaf.subject}" issued by "${leaf.issuer}"${byRoot ? "" : ", not signed by the pinned root"}`,
          }),
    );
    checks.push((now) =>
      validity(`${prefix}.chain.validity`, "TCB signing certificate", leaf, now),
    );
    checks.push((now) => validity(`${prefix}.chain.root_validity`, "Intel SGX Root CA", root, now));
    if (rootCrl) {
      const at = rootCrl.revoked.get(leaf.serial);
      checks.push(
        at
          ? fail(`${prefix}.chain.revoked`, "dcap.collateral.revoked", {
              expected: `TCB signing certificate serial ${leaf.x509.serialNumber} not revoked by the root CA CRL`,
              actual: `revoked on ${at.toISOString()}`,
            })
          : pass(`${prefix}.chain.revoked`),
      );
    }
    return leaf;
  }

  async function signedJson<T extends TcbInfo | QeIdentity>(
    what: string,
    prefix: string,
    body: string,
    chain: Uint8Array[] | null,
    parse: (body: string) => T,
    cache: Lru<T | EvidenceError>,
    rootCrl: DcapCrl | null,
    checks: Step[],
  ): Promise<T | null> {
    let item: T;
    try {
      item = cachedParse(cache, body, () => parse(body));
      checks.push(pass(`${prefix}.parse`));
    } catch (e) {
      if (!(e instanceof EvidenceError)) throw e;
      checks.push(
        fail(`${prefix}.parse`, e.code, {
          expected: `a ${what} body as Intel PCS serves it`,
          actual: e.message,
        }),
      );
      return null;
    }
    if (!chain || chain.length === 0) {
      checks.push(
        fail(`${prefix}.chain`, "dcap.collateral.missing", {
          expected: `the ${what} issuer chain (PCS header ${prefix.endsWith("tcb_info") ? "TCB-Info-Issuer-Chain" : "SGX-Enclave-Identity-Issuer-Chain"})`,
          actual: `absent: the ${what} signature cannot be checked`,
        }),
      );
      return null;
    }
    const before = checks.length;
    const signer = await signingChain(what, prefix, chain, rootCrl, checks);
    // Whether the chain holds, windows aside (they are judged at each call's time).
    let chainOk = true;
    for (let i = before; i < checks.length; i++) {
      const s = checks[i]!;
      if (typeof s !== "function" && !s.ok) chainOk = false;
    }
    let sigOk = false;
    if (signer) {
      sigOk = await jsonSignedBy(item, signer);
      checks.push(
        sigOk
          ? pass(`${prefix}.signature`)
          : fail(`${prefix}.signature`, "dcap.collateral.signature", {
              expected: `ECDSA P-256/SHA-256 signature over the exact ${what} JSON by "${signer.subject}"`,
              actual: "the signature does not verify",
            }),
      );
    }
    checks.push((now) => window(`${prefix}.validity`, what, item.issueDate, item.nextUpdate, now));
    return signer && sigOk && chainOk ? item : null;
  }

  async function crlCheck(
    prefix: string,
    what: string,
    input: Uint8Array,
    issuers: (crl: DcapCrl) => Promise<{ cert: Cert | null; expected: string; actual: string }>,
    checks: Step[],
  ): Promise<DcapCrl | null> {
    let crl: DcapCrl;
    try {
      crl = crlOf(input);
    } catch (e) {
      checks.push(
        fail(`${prefix}.parse`, "dcap.collateral.crl", {
          expected: `the ${what} as a DER or PEM X.509 CRL`,
          actual: errorText(e),
        }),
      );
      return null;
    }
    const issuer = await issuers(crl);
    if (!issuer.cert) {
      checks.push(fail(`${prefix}.issuer`, "dcap.collateral.crl_issuer", issuer));
      return null;
    }
    checks.push(pass(`${prefix}.issuer`));
    const signed = await crlSignedBy(crl, issuer.cert);
    checks.push(
      signed
        ? pass(`${prefix}.signature`)
        : fail(`${prefix}.signature`, "dcap.collateral.crl_signature", {
            expected: `the ${what} signed (ECDSA P-256/SHA-256) by "${issuer.cert.subject}"`,
            actual: "the signature does not verify; revocation not checked",
          }),
    );
    checks.push((now) => crlFresh(`${prefix}.fresh`, what, crl, now));
    return signed ? crl : null;
  }

  function missingCrl(id: string, what: string, required: boolean): Check {
    return {
      id,
      ok: !required,
      code: "dcap.collateral.crl_unavailable",
      expected: required ? `the ${what} (requireCrl is set)` : `the ${what} (optional)`,
      actual: "absent: revocation not checked",
      remedy: CODES["dcap.collateral.crl_unavailable"].remedy,
      severity: required ? "error" : "warning",
    };
  }

  async function build(collateral: DcapCollateral, o: DcapCollateralVerifyOptions): Promise<Plan> {
    const checks: Step[] = [];
    const required = o.requireCrl === true;

    // Root CA CRL first: it speaks for the TCB signing certificate and the PCK CA.
    let rootCaCrl: DcapCrl | null = null;
    if (collateral.rootCaCrl) {
      rootCaCrl = await crlCheck(
        "dcap.collateral.root_ca_crl",
        "Intel SGX Root CA CRL",
        collateral.rootCaCrl,
        async (crl) => ({
          cert: crl.issuer === root.subject ? root : null,
          expected: `a CRL issued by the pinned "${root.subject}"`,
          actual: `issued by "${crl.issuer}"`,
        }),
        checks,
      );
    } else {
      checks.push(missingCrl("dcap.collateral.root_ca_crl", "Intel SGX Root CA CRL", required));
    }

    let tcbInfo: TcbInfo | null = null;
    if (collateral.tcbInfo !== null) {
      tcbInfo = await signedJson(
        "TCB Info",
        "dcap.collateral.tcb_info",
        collateral.tcbInfo,
        collateral.tcbInfoIssuerChain,
        parseTcbInfo,
        tcbInfos,
        rootCaCrl,
        checks,
      );
    } else if (o.allowMissingTcbInfo !== true) {
      checks.push(
        fail("dcap.collateral.tcb_info", "dcap.collateral.missing", {
          expected: `TCB Info for the quote's FMSPC${o.fetchHint?.tcbInfoUrl ? ` (${o.fetchHint.tcbInfoUrl})` : ""}`,
          actual: "no TCB Info in the collateral: the platform TCB cannot be judged",
        }),
      );
    }

    let qeIdentity: QeIdentity | null = null;
    if (collateral.qeIdentity !== null) {
      qeIdentity = await signedJson(
        "QE Identity",
        "dcap.collateral.qe_identity",
        collateral.qeIdentity,
        collateral.qeIdentityIssuerChain ?? collateral.tcbInfoIssuerChain,
        parseQeIdentity,
        qeIdentities,
        rootCaCrl,
        checks,
      );
    } else if (o.allowMissingQeIdentity !== true) {
      checks.push(
        fail("dcap.collateral.qe_identity", "dcap.collateral.missing", {
          expected: `the QE Identity${o.fetchHint?.qeIdentityUrl ? ` (${o.fetchHint.qeIdentityUrl})` : ""}`,
          actual: "no QE Identity in the collateral: the Quoting Enclave cannot be judged",
        }),
      );
    }

    let pckCrl: DcapCrl | null = null;
    if (collateral.pckCrl) {
      pckCrl = await crlCheck(
        "dcap.collateral.pck_crl",
        "PCK CRL",
        collateral.pckCrl,
        async (crl) => {
          const want = o.pckCaKind ? INTEL_PCK_CA_CN[o.pckCaKind] : null;
          const expected = `a CRL issued by ${want ? `"${want}"` : "an Intel SGX PCK Processor or Platform CA"}, itself signed by the pinned root`;
          if (
            want
              ? crl.issuerCn !== want
              : !Object.values(INTEL_PCK_CA_CN).includes(crl.issuerCn as never)
          ) {
            return { cert: null, expected, actual: `issued by "${crl.issuer}"` };
          }
          const candidates: Uint8Array[] = [
            ...(collateral.pckCrlIssuerChain ?? []),
            ...(o.pckCa ? [o.pckCa] : []),
          ];
          for (const der of candidates) {
            let c: Cert;
            try {
              c = cert(der);
            } catch {
              continue; // an unparsable candidate cannot be the issuer
            }
            if (c.subject === crl.issuer && (await signedBy(c, root)))
              return { cert: c, expected, actual: "" };
          }
          return {
            cert: null,
            expected,
            actual: `no certificate "${crl.issuer}" signed by the pinned root among ${candidates.length} candidate(s) (the PCK CRL issuer chain, the quote's PCK CA)`,
          };
        },
        checks,
      );
    } else {
      checks.push(missingCrl("dcap.collateral.pck_crl", "PCK CRL", required));
    }

    return { steps: checks, tcbInfo, qeIdentity, rootCaCrl, pckCrl };
  }

  /**
   * Everything but the time-dependent checks depends only on the collateral's
   * bytes and the options, so a plan is kept per collateral object (its
   * members compared by identity on every call: buffers are treated as
   * immutable once passed) and only the windows are judged at each call.
   */
  function pckCaKey(der: Uint8Array | null): unknown {
    if (der === null) return null;
    try {
      return cert(der);
    } catch {
      return der; // unparsable: only the same array is the same key
    }
  }

  const plans = new WeakMap<DcapCollateral, { key: unknown[]; plan: Promise<Plan> }[]>();
  function planFor(collateral: DcapCollateral, o: DcapCollateralVerifyOptions): Promise<Plan> {
    const key: unknown[] = [
      collateral.tcbInfo,
      collateral.qeIdentity,
      collateral.rootCaCrl,
      collateral.pckCrl,
      ...[
        collateral.tcbInfoIssuerChain,
        collateral.qeIdentityIssuerChain,
        collateral.pckCrlIssuerChain,
      ].flatMap((c) => (c === null ? [null] : [c.length, ...c])),
      // Each parsed quote brings its own copy of the PCK CA: keyed by content (the parsed certificate).
      pckCaKey(o.pckCa ?? null),
      o.pckCaKind ?? null,
      o.requireCrl === true,
      o.allowMissingTcbInfo === true,
      o.allowMissingQeIdentity === true,
      o.fetchHint?.tcbInfoUrl ?? null,
      o.fetchHint?.qeIdentityUrl ?? null,
    ];
    let entries = plans.get(collateral);
    if (!entries) {
      entries = [];
      if (size > 0) plans.set(collateral, entries);
    }
    const hit = entries.find(
      (e) => e.key.length === key.length && e.key.every((k, i) => k === key[i]),
    );
    if (hit) return hit.plan;
    const plan = build(collateral, o);
    const entry = { key, plan };
    entries.push(entry);
    // A failure that is not a verdict (a bug, a crypto provider error) is not remembered.
    const list = entries;
    /* node:coverage ignore next */
    plan.catch(() => list.splice(list.indexOf(entry) >>> 0, 1));
    // A handful of option sets per collateral at most; the oldest goes first.
    if (entries.length > 4) entries.shift();
    return plan;
  }

  return {
    async verify(collateral, o) {
      const plan = await planFor(collateral, o);
      const checks = plan.steps.map((s) => (typeof s === "function" ? s(o.now) : s));
      return {
        ok: checks.every((c) => c.ok || c.severity === "warning"),
        checks,
        tcbInfo: plan.tcbInfo,
        qeIdentity: plan.qeIdentity,
        rootCaCrl: plan.rootCaCrl,
        pckCrl: plan.pckCrl,
      };
    },

    pckRevocationChecks(result, chain) {
      const out: Check[] = [];
      const one = (id: string, crl: DcapCrl | null, der: Uint8Array, role: string) => {
        if (!crl) return;
        let c: Cert;
        try {
          c = cert(der);
        } catch (e) {
          out.push(
            fail(id, "dcap.collateral.revoked", {
              expected: `the ${role} as a DER certificate`,
              actual: `unparsable (${errorText(e)}); revocation not checked`,
            }),
          );
          return;
        }
        if (c.issuer !== crl.issuer) {
          out.push(
            fail(id, "dcap.collateral.crl_issuer", {
              expected: `a CRL issued by "${c.issuer}" (the ${role}'s issuer)`,
              actual: `the CRL is issued by "${crl.issuer}"; revocation not checked`,
            }),
          );
          return;
        }
        const at = crl.revoked.get(c.serial);
        out.push(
          at
            ? fail(id, "dcap.collateral.revoked", {
                expected: `${role} serial ${c.x509.serialNumber} not revoked`,
                actual: `revoked on ${at.toISOString()}`,
              })
            : pass(id),
        );
      };
      one("dcap.collateral.revoked.pck_ca", result.rootCaCrl, chain.pckCa, "PCK CA certificate");
      one("dcap.collateral.revoked.pck", result.pckCrl, chain.pck, "PCK certificate");
      return out;
    },
  };
}

/** DER of one certificate given as DER bytes or PEM (text or bytes). */
function certDer(input: Uint8Array | string): Uint8Array {
  const bytes = typeof input === "string" ? new TextEncoder().encode(input) : input;
  if (!looksLikePem(bytes)) return bytes.slice();
  const blocks = decodePem(bytes).filter((b) => b.label === "CERTIFICATE");
  if (blocks.length !== 1)
    throw new Error(`expected one PEM CERTIFICATE block, got ${blocks.length}`);
  return blocks[0]!.der;
}

// ───────────────────────────────────────────────────────────────────────────
// Check helpers

function validity(id: string, what: string, cert: Cert, now: Date): Check {
  const t = now.getTime();
  // Built only for a failure: this runs for every certificate of every verification.
  const span = () =>
    `${what} "${cert.subject}" valid ${new Date(cert.notBefore).toISOString()} → ${new Date(cert.notAfter).toISOString()}`;
  // RFC 5280 §4.1.2.5: both bounds are inclusive.
  if (t < cert.notBefore)
    return fail(id, "dcap.collateral.not_yet_valid", {
      expected: `valid at ${now.toISOString()}`,
      actual: span(),
    });
  if (t > cert.notAfter)
    return fail(id, "dcap.collateral.expired", {
      expected: `valid at ${now.toISOString()}`,
      actual: span(),
    });
  return pass(id);
}

function crlFresh(id: string, what: string, crl: DcapCrl, now: Date): Check {
  const span = () =>
    `thisUpdate ${crl.thisUpdate.toISOString()}, nextUpdate ${crl.nextUpdate?.toISOString() ?? "absent"}`;
  if (now.getTime() < crl.thisUpdate.getTime())
    return fail(id, "dcap.collateral.crl_not_yet_valid", {
      expected: `the ${what}'s thisUpdate ≤ ${now.toISOString()}`,
      actual: span(),
    });
  if (!crl.nextUpdate || now.getTime() > crl.nextUpdate.getTime())
    return fail(id, "dcap.collateral.crl_stale", {
      expected: `the ${what}'s nextUpdate ≥ ${now.toISOString()}`,
      actual: span(),
    });
  return pass(id);
}

function window(id: string, what: string, issueDate: Date, nextUpdate: Date, now: Date): Check {
  const t = now.getTime();
  const span = () => `issueDate ${issueDate.toISOString()}, nextUpdate ${nextUpdate.toISOString()}`;
  if (t < issueDate.getTime())
    return fail(id, "dcap.collateral.not_yet_valid", {
      expected: `the ${what} issued at or before ${now.toISOString()}`,
      actual: span(),
    });
  if (t > nextUpdate.getTime())
    return fail(id, "dcap.collateral.expired", {
      expected: `the ${what} current at ${now.toISOString()} (nextUpdate not passed)`,
      actual: span(),
    });
  return pass(id);
}

/** Every decoder here throws Errors. */
function errorText(e: unknown): string {
  return (e as Error).message;
}
