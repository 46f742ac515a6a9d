/**
 * The Keep evidence wrapper: what a Keep's evidence is written as (`donjon run
 * --print-evidence FILE`, the Steward's CSR extension), so that a verifier gets
 * the evidence, its certificates, the Keep key and the workload digests in one
 * file and can check the binding (`binding.ts`) without asking anyone.
 *
 * The form is a RATS Conceptual Message Wrapper (CMW), RFC 9999
 * (draft-ietf-rats-msg-wrap-22/-23), JSON serialization:
 *
 * - §3.1 `json-record = [type: media-type, value: base64url-string, ? ind: uint .bits cm-type]`;
 *   the value is the base64url encoding of RFC 4648 §5 without padding (the
 *   CDDL `.b64u` control), `ind` the conceptual-message bits (endorsements = bit 1,
 *   value 2; evidence = bit 2, value 4);
 * - §3.2 `json-collection = { ? "__cmwc_t": uri / oid, + label => json-cmw }`;
 *   `__cmwc_t` names the collection type, here a `tag:` URI of Donjon's own;
 * - the whole file is `application/cmw+json` (the media type RFC 9999
 *   registers, with the optional `cmwc_t` parameter).
 *
 * Donjon's profile (packages/attest/README.md, "The Keep evidence wrapper"):
 *
 * ```
 * { "__cmwc_t": "tag:donjon.dev,2026:keep-evidence/v1",
 *   "evidence": [<evidence media type>, b64u, 4],
 *   "certs":    { "__cmwc_t": "tag:donjon.dev,2026:keep-evidence/certs/v1",
 *                 "0": ["application/pkix-cert", b64u, 2], "1": … },      (optional)
 *   "keep-key": ["application/vnd.donjon.spki+der", b64u],
 *   "workload": { "__cmwc_t": "tag:donjon.dev,2026:keep-evidence/workload/v1",
 *                 "wasm":   ["application/vnd.donjon.sha-256", b64u],
 *                 "config": ["application/vnd.donjon.sha-256", b64u] } }
 * ```
 *
 * No IANA media type exists for a raw SNP report, a TDX or SGX DCAP quote, a
 * bare SubjectPublicKeyInfo or a raw digest (checked against the IANA registry
 * and RFC 9999 in 2026-11), so those are unregistered vendor-tree names and
 * say so in the README; `application/pkix-cert` is RFC 2585's.
 *
 * Decoding is a parser of untrusted bytes: strict, bounded, and every refusal
 * an `EvidenceError` with a `cmw.*` code. The JSON reader is our own because
 * `JSON.parse` silently keeps the last of duplicated member names.
 */
import { bytesEqual, toHex } from "./_bytes.ts";
import { type BindingOptions, reportData, workloadIdentity } from "./binding.ts";
import { CODES, type EvidenceCode } from "./codes.ts";
import { EvidenceError, OptionsError } from "./error.ts";
import type { Check } from "./verdict.ts";

/** The TEE kinds a Keep evidence wrapper can carry. */
export type KeepTee = "sandbox" | "snp" | "tdx" | "sgx";

/** A Keep's evidence and what a verifier needs to check its binding. */
export interface KeepEvidence {
  /** Which kind of evidence `evidence` is (from its media type). */
  tee: KeepTee;
  /** The evidence as the TEE produced it: sandbox record, SNP report, TDX or SGX quote. */
  evidence: Uint8Array;
  /** Auxiliary certificates (DER), e.g. SNP's VCEK, ASK, ARK; empty when none. In order. */
  certs: Uint8Array[];
  /** The Keep key: DER SubjectPublicKeyInfo of its ECDSA P-384 public key (120 bytes). */
  keepKey: Uint8Array;
  /** SHA-256 of the `.wasm` file, 32 bytes. */
  wasmDigest: Uint8Array;
  /** SHA-256 of the config file, 32 bytes. */
  configDigest: Uint8Array;
}

/**
 * id-pe-cmw (RFC 9999, "Transporting CMW in X.509 Messages"; IANA's early
 * allocation 35 under id-pe): the X.509 extension that carries a CMW. A Keep's
 * CSR carries its wrapper here, as the DER UTF8String of the CMW's JSON choice.
 * One constant for the Keep that writes it and the Steward that reads it.
 */
export const CMW_EXTENSION_OID = "1.3.6.1.5.5.7.1.35";

/** `__cmwc_t` of the wrapper. A new format gets a new URI; there are no extension labels. */
export const KEEP_EVIDENCE_TYPE = "tag:donjon.dev,2026:keep-evidence/v1";
/** `__cmwc_t` of the `certs` collection. */
export const KEEP_EVIDENCE_CERTS_TYPE = "tag:donjon.dev,2026:keep-evidence/certs/v1";
/** `__cmwc_t` of the `workload` collection. */
export const KEEP_EVIDENCE_WORKLOAD_TYPE = "tag:donjon.dev,2026:keep-evidence/workload/v1";
/** Media type of a JSON CMW (RFC 9999), the whole wrapper. */
export const KEEP_EVIDENCE_MEDIA_TYPE = `application/cmw+json; cmwc_t="${KEEP_EVIDENCE_TYPE}"`;

/** The evidence record's media type for each TEE. */
export const KEEP_EVIDENCE_MEDIA_TYPES: Readonly<Record<KeepTee, string>> = {
  sandbox: "application/vnd.donjon.sandbox-evidence",
  snp: "application/vnd.amd.sev-snp.attestation-report",
  tdx: "application/vnd.intel.tdx.quote",
  sgx: "application/vnd.intel.sgx.quote",
};
/** Media type of a certificate record (RFC 2585). */
export const CERT_MEDIA_TYPE = "application/pkix-cert";
/** Media type of the keep-key record: a DER SubjectPublicKeyInfo (no registered type exists). */
export const KEEP_KEY_MEDIA_TYPE = "application/vnd.donjon.spki+der";
/** Media type of a workload digest record: 32 raw bytes of SHA-256. */
export const DIGEST_MEDIA_TYPE = "application/vnd.donjon.sha-256";

/** Largest wrapper accepted, in bytes of UTF-8 JSON. */
export const KEEP_EVIDENCE_MAX_SIZE = 256 * 1024;
/** Largest evidence value accepted (an SNP report is 1184 bytes, a DCAP quote a few KiB). */
export const KEEP_EVIDENCE_MAX_EVIDENCE = 64 * 1024;
/** Largest certificate accepted. */
export const KEEP_EVIDENCE_MAX_CERT = 16 * 1024;
/** Most certificates accepted (VCEK, ASK, ARK; a PCK chain is three). */
export const KEEP_EVIDENCE_MAX_CERTS = 8;

/** RFC 9999 §3.1 cm-type bits as `ind` values. */
const IND_ENDORSEMENTS = 2;
const IND_EVIDENCE = 4;
const DIGEST_SIZE = 32;
/**
 * The fixed DER prefix of every ECDSA P-384 SubjectPublicKeyInfo with an
 * uncompressed point (RFC 5480): SEQUENCE(118) { SEQUENCE { id-ecPublicKey,
 * secp384r1 }, BIT STRING(98) 00 04 … } — followed by the 96-byte X ‖ Y.
 */
const P384_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b,
  0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00, 0x04,
]);
const P384_SPKI_SIZE = 120;
/** Nesting allowed in the JSON: collection → collection → record. */
const MAX_DEPTH = 4;

// ── encode ────────────────────────────────────────────────────────────────

/**
 * The wrapper as UTF-8 JSON, members in a fixed order (`__cmwc_t`, `evidence`,
 * `certs` when there are any, `keep-key`, `workload`), two-space indented,
 * one final newline: the same input always gives the same bytes.
 *
 * @throws {OptionsError} `options.invalid` when a field breaks a rule the decoder enforces.
 */
export function encodeKeepEvidence(e: KeepEvidence): Uint8Array {
  const bad = problem(e);
  if (bad) throw new OptionsError("options.invalid", `encodeKeepEvidence: ${bad[1]}`);
  // Maps, not objects: a JS object would put the integer-like labels "0", "1"… first.
  const doc = new Map<string, Json>([
    ["__cmwc_t", KEEP_EVIDENCE_TYPE],
    ["evidence", [KEEP_EVIDENCE_MEDIA_TYPES[e.tee], b64u(e.evidence), IND_EVIDENCE]],
  ]);
  if (e.certs.length > 0) {
    const certs = new Map<string, Json>([["__cmwc_t", KEEP_EVIDENCE_CERTS_TYPE]]);
    for (const [i, c] of e.certs.entries())
      certs.set(String(i), [CERT_MEDIA_TYPE, b64u(c), IND_ENDORSEMENTS]);
    doc.set("certs", certs);
  }
  doc.set("keep-key", [KEEP_KEY_MEDIA_TYPE, b64u(e.keepKey)]);
  doc.set(
    "workload",
    new Map<string, Json>([
      ["__cmwc_t", KEEP_EVIDENCE_WORKLOAD_TYPE],
      ["wasm", [DIGEST_MEDIA_TYPE, b64u(e.wasmDigest)]],
      ["config", [DIGEST_MEDIA_TYPE, b64u(e.configDigest)]],
    ]),
  );
  return new TextEncoder().encode(`${writeJson(doc, "")}\n`);
}

/** JSON.stringify(…, null, 2) of a tree whose objects are Maps, members in insertion order. */
function writeJson(v: Json, indent: string): string {
  const inner = `${indent}  `;
  if (v instanceof Map) {
    const members = [...v].map(([k, x]) => `${inner}${JSON.stringify(k)}: ${writeJson(x, inner)}`);
    return `{\n${members.join(",\n")}\n${indent}}`;
  }
  if (Array.isArray(v)) {
    return `[\n${v.map((x) => `${inner}${writeJson(x, inner)}`).join(",\n")}\n${indent}]`;
  }
  return JSON.stringify(v);
}

// ── decode ────────────────────────────────────────────────────────────────

/**
 * Read a wrapper written by {@link encodeKeepEvidence} (or any producer following
 * the README's rules: member order and whitespace are free, nothing else is).
 *
 * @throws {EvidenceError} `cmw.*` for anything else, naming what was wrong and what was expected.
 */
export function decodeKeepEvidence(bytes: Uint8Array): KeepEvidence {
  if (!(bytes instanceof Uint8Array)) {
    throw new OptionsError("options.invalid", "decodeKeepEvidence: expected a Uint8Array");
  }
  if (bytes.length === 0 || bytes.length > KEEP_EVIDENCE_MAX_SIZE) {
    fail("cmw.size", `expected 1 to ${KEEP_EVIDENCE_MAX_SIZE} bytes, got ${bytes.length}`);
  }
  let text: string;
  try {
    // ignoreBOM keeps a BOM in the text, where the JSON reader refuses it (RFC 8259 §8.1).
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    fail("cmw.utf8", "expected UTF-8 text, got invalid byte sequences", cause);
  }
  const top = readJson(text);
  if (!(top instanceof Map))
    fail("cmw.json", "expected a JSON object (a CMW collection) at the top");

  const root = collection(top, "the wrapper", KEEP_EVIDENCE_TYPE, {
    required: ["evidence", "keep-key", "workload"],
    optional: ["certs"],
  });

  const ev = record(root.get("evidence")!, "evidence", IND_EVIDENCE);
  const tee = (Object.keys(KEEP_EVIDENCE_MEDIA_TYPES) as KeepTee[]).find(
    (t) => KEEP_EVIDENCE_MEDIA_TYPES[t] === ev.type,
  );
  if (tee === undefined) {
    fail(
      "cmw.media_type",
      `evidence: expected one of ${Object.values(KEEP_EVIDENCE_MEDIA_TYPES).join(", ")}, got ${JSON.stringify(ev.type)}`,
    );
  }

  const certs: Uint8Array[] = [];
  const certsValue = root.get("certs");
  if (certsValue !== undefined) {
    if (!(certsValue instanceof Map)) fail("cmw.record", "certs: expected a CMW collection");
    const n = certsValue.size - 1; // less __cmwc_t
    if (n > KEEP_EVIDENCE_MAX_CERTS) {
      fail(
        "cmw.value_size",
        `certs: expected at most ${KEEP_EVIDENCE_MAX_CERTS} certificates, got ${n}`,
      );
    }
    const labels = Array.from({ length: Math.max(n, 0) }, (_, i) => String(i));
    const c = collection(certsValue, "certs", KEEP_EVIDENCE_CERTS_TYPE, { required: labels });
    if (labels.length === 0)
      fail("cmw.label_missing", 'certs: expected at least one certificate (label "0"), got none');
    for (const label of labels) {
      const r = record(c.get(label)!, `certs.${label}`, IND_ENDORSEMENTS);
      mediaType(r.type, CERT_MEDIA_TYPE, `certs.${label}`);
      certs.push(r.value);
    }
  }

  const key = record(root.get("keep-key")!, "keep-key", undefined);
  mediaType(key.type, KEEP_KEY_MEDIA_TYPE, "keep-key");

  const w = root.get("workload")!;
  if (!(w instanceof Map)) fail("cmw.record", "workload: expected a CMW collection");
  const wc = collection(w, "workload", KEEP_EVIDENCE_WORKLOAD_TYPE, {
    required: ["wasm", "config"],
  });
  const digest = (label: string): Uint8Array => {
    const r = record(wc.get(label)!, `workload.${label}`, undefined);
    mediaType(r.type, DIGEST_MEDIA_TYPE, `workload.${label}`);
    return r.value;
  };

  const out: KeepEvidence = {
    tee,
    evidence: ev.value,
    certs,
    keepKey: key.value,
    wasmDigest: digest("wasm"),
    configDigest: digest("config"),
  };
  const bad = problem(out);
  if (bad) fail(bad[0], bad[1]);
  return out;
}

/**
 * The rules on the decoded fields, shared by the encoder (an `OptionsError`)
 * and the decoder (an `EvidenceError` with the code): `[code, message]` of the
 * first one broken, or undefined.
 */
function problem(e: KeepEvidence): [EvidenceCode, string] | undefined {
  if (e === null || typeof e !== "object") return ["cmw.record", "expected a KeepEvidence object"];
  if (!Object.hasOwn(KEEP_EVIDENCE_MEDIA_TYPES, e.tee)) {
    return [
      "cmw.media_type",
      `tee: expected sandbox, snp, tdx or sgx, got ${JSON.stringify(e.tee)}`,
    ];
  }
  const bytes = (v: unknown): v is Uint8Array => v instanceof Uint8Array;
  if (
    !bytes(e.evidence) ||
    e.evidence.length === 0 ||
    e.evidence.length > KEEP_EVIDENCE_MAX_EVIDENCE
  ) {
    return [
      "cmw.value_size",
      `evidence: expected 1 to ${KEEP_EVIDENCE_MAX_EVIDENCE} bytes, got ${describe(e.evidence)}`,
    ];
  }
  if (!Array.isArray(e.certs) || e.certs.length > KEEP_EVIDENCE_MAX_CERTS) {
    return ["cmw.value_size", `certs: expected at most ${KEEP_EVIDENCE_MAX_CERTS} certificates`];
  }
  for (const [i, c] of e.certs.entries()) {
    if (!bytes(c) || c.length === 0 || c.length > KEEP_EVIDENCE_MAX_CERT) {
      return [
        "cmw.value_size",
        `certs.${i}: expected 1 to ${KEEP_EVIDENCE_MAX_CERT} bytes, got ${describe(c)}`,
      ];
    }
  }
  if (
    !bytes(e.keepKey) ||
    e.keepKey.length !== P384_SPKI_SIZE ||
    !bytesEqual(e.keepKey.subarray(0, P384_SPKI_PREFIX.length), P384_SPKI_PREFIX)
  ) {
    return [
      "cmw.keep_key",
      `keep-key: expected the ${P384_SPKI_SIZE}-byte DER SubjectPublicKeyInfo of an ECDSA P-384 key, got ${describe(e.keepKey)}`,
    ];
  }
  for (const [name, d] of [
    ["wasm", e.wasmDigest],
    ["config", e.configDigest],
  ] as const) {
    if (!bytes(d) || d.length !== DIGEST_SIZE) {
      return [
        "cmw.digest",
        `workload.${name}: expected a ${DIGEST_SIZE}-byte SHA-256, got ${describe(d)}`,
      ];
    }
  }
  return undefined;
}

function describe(v: unknown): string {
  if (!(v instanceof Uint8Array)) return "no bytes";
  const head = v.length > 24 ? `${toHex(v.subarray(0, 24))}…` : toHex(v);
  return `${v.length} bytes${v.length > 0 ? ` (${head})` : ""}`;
}

function fail(code: EvidenceCode, message: string, cause?: unknown): never {
  throw new EvidenceError(
    code,
    `Keep evidence wrapper: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

/** Check one collection: its `__cmwc_t` and exactly the labels it may have. */
function collection(
  m: Map<string, Json>,
  where: string,
  type: string,
  labels: { required: readonly string[]; optional?: readonly string[] },
): Map<string, Json> {
  const t = m.get("__cmwc_t");
  if (t !== type) {
    fail(
      "cmw.type",
      `${where}: expected __cmwc_t ${JSON.stringify(type)}, got ${t === undefined ? "none" : JSON.stringify(t)}`,
    );
  }
  const allowed = new Set(["__cmwc_t", ...labels.required, ...(labels.optional ?? [])]);
  for (const k of m.keys()) {
    if (!allowed.has(k)) {
      fail(
        "cmw.label_unknown",
        `${where}: unknown label ${JSON.stringify(k)} (expected ${[...allowed].slice(1).join(", ") || "none"})`,
      );
    }
  }
  for (const k of labels.required) {
    if (!m.has(k))
      fail("cmw.label_missing", `${where}: expected label ${JSON.stringify(k)}, got none`);
  }
  return m;
}

/** Check one record's shape (`[type, value]`, or `[type, value, ind]` when `ind` is given) and decode its value. */
function record(
  v: Json,
  where: string,
  ind: number | undefined,
): { type: string; value: Uint8Array } {
  const arity = ind === undefined ? 2 : 3;
  const shape = ind === undefined ? "[media type, base64url]" : `[media type, base64url, ${ind}]`;
  if (!Array.isArray(v) || v.length !== arity) {
    fail("cmw.record", `${where}: expected a CMW record ${shape}, got ${kind(v)}`);
  }
  const [type, value, i] = v;
  if (typeof type !== "string" || typeof value !== "string" || (ind !== undefined && i !== ind)) {
    fail("cmw.record", `${where}: expected a CMW record ${shape}, got [${v.map(kind).join(", ")}]`);
  }
  return { type, value: unb64u(value, where) };
}

function mediaType(got: string, want: string, where: string): void {
  if (got !== want)
    fail("cmw.media_type", `${where}: expected ${want}, got ${JSON.stringify(got)}`);
}

function kind(v: Json): string {
  if (v instanceof Map) return "an object";
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === "string") return v.length > 40 ? "a string" : JSON.stringify(v);
  return String(v);
}

// ── base64url (RFC 4648 §5, no padding, canonical) ────────────────────────

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const INDEX = new Map([...ALPHABET].map((c, i) => [c, i]));

function b64u(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = Math.min(4, Math.ceil(((bytes.length - i) * 8) / 6));
    for (let k = 0; k < chars; k++) s += ALPHABET[(n >> (18 - 6 * k)) & 63];
  }
  return s;
}

/** Strict: only the url-safe alphabet, no padding, no length ≡ 1 (mod 4), zero unused bits (§3.5). */
function unb64u(s: string, where: string): Uint8Array {
  const bad = [...s].findIndex((c) => !INDEX.has(c));
  if (bad >= 0) {
    const what = s[bad] === "=" ? "padding '='" : `character ${JSON.stringify(s[bad])}`;
    fail("cmw.base64url", `${where}: expected unpadded base64url, got ${what} at ${bad}`);
  }
  if (s.length % 4 === 1) {
    fail(
      "cmw.base64url",
      `${where}: expected unpadded base64url, got an impossible length ${s.length}`,
    );
  }
  const out = new Uint8Array(Math.floor((s.length * 6) / 8));
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const c of s) {
    acc = (acc << 6) | INDEX.get(c)!;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (acc >> bits) & 0xff;
      acc &= (1 << bits) - 1;
    }
  }
  if (acc !== 0) {
    fail(
      "cmw.base64url",
      `${where}: expected canonical base64url, got non-zero unused bits at the end`,
    );
  }
  return out;
}

// ── a strict JSON reader (RFC 8259) that refuses duplicate member names ───

type Json = string | number | boolean | null | Json[] | Map<string, Json>;

function readJson(text: string): Json {
  let i = 0;
  const syntax = (what: string): never =>
    fail("cmw.json", `expected JSON, got ${what} at offset ${i}`);
  const ws = () => {
    while (i < text.length && " \t\n\r".includes(text[i]!)) i++;
  };
  const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const value = (depth: number): Json => {
    if (depth > MAX_DEPTH) syntax(`nesting deeper than ${MAX_DEPTH}`);
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      const m = new Map<string, Json>();
      ws();
      if (text[i] === "}") {
        i++;
        return m;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') syntax("a member name that is not a string");
        const k = string();
        if (m.has(k))
          fail("cmw.label_duplicate", `expected each label once, got ${JSON.stringify(k)} twice`);
        ws();
        if (text[i] !== ":") syntax("no ':' after a member name");
        i++;
        m.set(k, value(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return m;
        }
        syntax("no ',' or '}' in an object");
      }
    }
    if (c === "[") {
      i++;
      const a: Json[] = [];
      ws();
      if (text[i] === "]") {
        i++;
        return a;
      }
      for (;;) {
        a.push(value(depth + 1));
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return a;
        }
        syntax("no ',' or ']' in an array");
      }
    }
    if (c === '"') return string();
    for (const [word, v] of [
      ["true", true],
      ["false", false],
      ["null", null],
    ] as const) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return v;
      }
    }
    NUMBER.lastIndex = i;
    const n = NUMBER.exec(text);
    if (n) {
      i += n[0].length;
      return Number(n[0]);
    }
    return syntax(i >= text.length ? "the end of the text" : `${JSON.stringify(c)}`);
  };
  const string = (): string => {
    const start = i++;
    while (i < text.length && text[i] !== '"') {
      if (text.charCodeAt(i) < 0x20) syntax("a control character in a string");
      i += text[i] === "\\" ? 2 : 1;
    }
    if (i >= text.length) syntax("an unterminated string");
    i++;
    try {
      // Escapes are decoded (and checked) by the platform's reader on this one token.
      return JSON.parse(text.slice(start, i)) as string;
    } catch (cause) {
      return fail(
        "cmw.json",
        `expected JSON, got a bad escape in the string at offset ${start}`,
        cause,
      );
    }
  };
  const top = value(1);
  ws();
  if (i !== text.length) syntax("trailing text");
  return top;
}

// ── the binding ───────────────────────────────────────────────────────────

/** Options of {@link checkKeepBinding}. */
export interface KeepBindingOptions extends BindingOptions {
  /**
   * The workload identity the evidence itself states, when its format carries
   * one (sandbox evidence does; an SNP report does not). Not checked if unset.
   */
  evidenceWorkloadIdentity?: Uint8Array;
}

/** What {@link checkKeepBinding} found. */
export interface KeepBinding {
  /** True when every check passed. */
  ok: boolean;
  /** `binding.report_data`, then `binding.workload_identity` when it ran. */
  checks: Check[];
  /** The workload identity computed from the wrapper's digests. */
  workloadIdentity: Uint8Array;
  /** The report_data computed from the wrapper's Keep key and that identity. */
  reportData: Uint8Array;
}

/**
 * Recompute the workload identity and report_data from the wrapper's Keep key
 * and digests, and compare them with what the (verified) evidence carries. A
 * mismatch is a failed check with code `binding.report_data` (or
 * `binding.workload_identity`), expected and actual in hex; it never throws for one.
 */
export async function checkKeepBinding(
  e: KeepEvidence,
  reportDataFromEvidence: Uint8Array,
  options: KeepBindingOptions = {},
): Promise<KeepBinding> {
  if (!(reportDataFromEvidence instanceof Uint8Array)) {
    throw new OptionsError(
      "options.invalid",
      "checkKeepBinding: reportDataFromEvidence: expected a Uint8Array",
    );
  }
  const crypto = options.crypto === undefined ? {} : { crypto: options.crypto };
  const identity = await workloadIdentity(e.wasmDigest, e.configDigest, crypto);
  const expected = await reportData(e.keepKey, identity, crypto);
  const checks: Check[] = [compare("binding.report_data", expected, reportDataFromEvidence)];
  if (options.evidenceWorkloadIdentity !== undefined) {
    checks.push(compare("binding.workload_identity", identity, options.evidenceWorkloadIdentity));
  }
  return {
    ok: checks.every((c) => c.ok),
    checks,
    workloadIdentity: identity,
    reportData: expected,
  };
}

function compare(
  code: "binding.report_data" | "binding.workload_identity",
  expected: Uint8Array,
  actual: Uint8Array,
): Check {
  if (bytesEqual(expected, actual)) return { id: code, ok: true };
  return {
    id: code,
    ok: false,
    code,
    expected: toHex(expected),
    actual: toHex(actual),
    remedy: CODES[code].remedy,
  };
}
