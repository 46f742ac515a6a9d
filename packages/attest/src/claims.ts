/**
 * The Donjon Keep-claims certificate extension: what a Steward-issued Keep
 * certificate records about the attested Keep (TEE, tier, measurement,
 * workload identity, TCB status, evidence hash). The Steward writes it
 * (`@donjon/steward`'s `issueKeepCert`); clients read it (`@donjon/client`)
 * without pulling in the Steward's server. Exported as `@donjon/attest/claims`.
 *
 * Format (packages/steward/README.md, "The certificate extension"):
 * `Extension ::= SEQUENCE { extnID OID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }`
 * (RFC 5280 §4.1, §4.2) whose extnValue contents are one DER UTF8String
 * (X.690 §8.23) holding the JSON object
 * `{"v":1,"tee":…,"tier":…,"measurement":…,"workload":…|null,"tcb_status":…,"tcb":…|null,"evidence_sha256":…}`.
 *
 * The decoder reads bytes from the network, so it is strict: DER lengths
 * minimal and within their container, no trailing bytes, each extension at
 * most once, the value at most {@link KEEP_CLAIMS_MAX_SIZE} bytes, fatal
 * UTF-8, exactly the v1 members with their types and forms, and the JSON in
 * the canonical form {@link encodeKeepClaims} writes (which also refuses
 * duplicate member names, which `JSON.parse` would silently drop). Every
 * refusal is an `EvidenceError` with a `claims.*` code.
 *
 * Pure: no `node:*` imports (the package's purity test holds it).
 */
import { bytesEqual } from "./_bytes.ts";
import type { EvidenceCode } from "./codes.ts";
import { ACCEPTABLE_TCB_STATUSES } from "./dcap/types.ts";
import { EvidenceError } from "./error.ts";

/**
 * OID of the Donjon Keep-claims extension: `2.25.<UUID fdf0bbde-0f90-451b-b2b1-0823c2877e61 as an integer>.1`
 * (ITU-T X.667: an OID made from a UUID needs no registration and cannot clash;
 * Donjon has no IANA Private Enterprise Number). Further arcs are free for later extensions.
 */
export const KEEP_CLAIMS_OID = "2.25.337544644583696722324132901659704000097.1";

/**
 * The extension's OID as DER (tag, length, content). asn1js (under
 * @peculiar/x509) cannot print an arc above 2^53 in dotted form, so the
 * extension is found by these bytes.
 */
export const KEEP_CLAIMS_OID_DER: Uint8Array<ArrayBuffer> = Uint8Array.from([
  0x06, 0x15, 0x69, 0x83, 0xfb, 0xf0, 0xdd, 0xf7, 0xc1, 0xf9, 0x82, 0x94, 0xb7, 0xb2, 0xd8, 0xc2,
  0x84, 0xbc, 0x94, 0x9d, 0xfc, 0x61, 0x01,
]);

/** Version of the JSON in the Keep-claims extension (`"v"`); any other is refused. */
export const KEEP_CLAIMS_VERSION = 1;

/** The largest extension value (the UTF8String with its tag and length) accepted, in bytes; a real one is about 330. */
export const KEEP_CLAIMS_MAX_SIZE = 4096;

/** The TEE types a Keep certificate can name. */
export const KEEP_CLAIMS_TEES = ["sandbox", "snp", "tdx", "sgx"] as const;

/**
 * The TCB statuses a Keep certificate can record: `none` (sandbox),
 * `meets-minimum` and `not-checked` (SEV-SNP, judged against the policy's
 * minimum), and Intel's statuses as Intel PCS spells them (SGX and TDX, from
 * TCB Info and QE Identity). `Revoked` is never recorded: a Steward refuses it.
 */
export const KEEP_CLAIMS_TCB_STATUSES = [
  "none",
  "meets-minimum",
  "not-checked",
  ...ACCEPTABLE_TCB_STATUSES,
] as const;

/** Which TCB statuses each TEE can record: a status of another TEE's kind is malformed. */
const TCB_STATUSES_OF: Readonly<Record<(typeof KEEP_CLAIMS_TEES)[number], readonly string[]>> = {
  sandbox: ["none"],
  snp: ["meets-minimum", "not-checked"],
  tdx: ACCEPTABLE_TCB_STATUSES,
  sgx: ACCEPTABLE_TCB_STATUSES,
};

/** What a Keep certificate records about the attested Keep. All byte strings are lowercase hex. */
export interface KeepCertClaims {
  /** TEE type: `sandbox`, `snp`, `tdx`, `sgx`. */
  tee: string;
  /** Trust tier: `hardware` (a TEE vouches) or `software` (the sandbox host's key vouches: no confidentiality from the host). */
  tier: "hardware" | "software";
  /** The launch measurement (SNP MEASUREMENT, sandbox runtime measurement, TDX MRTD, SGX MRENCLAVE). */
  measurement: string;
  /** The workload identity (SHA-256 of the canonical wasm and config digests); null when the evidence names none (Enarx). */
  workload: string | null;
  /**
   * How the TCB was judged: `none` (sandbox), `meets-minimum`, `not-checked`
   * (SNP without `min_tcb`), or Intel's TCB status (SGX, TDX: `UpToDate`,
   * `SWHardeningNeeded`, … — {@link KEEP_CLAIMS_TCB_STATUSES}).
   */
  tcbStatus: string;
  /** The TCB the evidence reported (SNP REPORTED_TCB, 8 bytes); null when none (sandbox). */
  tcb: string | null;
  /** SHA-256 of the evidence as received. */
  evidenceSha256: string;
}

/** One extension of a certificate, as read by {@link certificateExtensions}. */
export interface CertificateExtension {
  /** The OID in dotted form (arcs of any size). */
  oid: string;
  /** The extnID's DER (tag, length, content). */
  oidDer: Uint8Array;
  critical: boolean;
  /** The extnValue's contents. */
  value: Uint8Array;
}

/**
 * The extension value: a DER UTF8String holding
 * `{"v":1,"tee":…,"tier":…,"measurement":…,"workload":…|null,"tcb_status":…,"tcb":…|null,"evidence_sha256":…}`.
 * Not a validator: the Steward encodes what its decision holds.
 *
 * @throws {RangeError} when the JSON is longer than 65535 bytes.
 */
export function encodeKeepClaims(c: KeepCertClaims): Uint8Array<ArrayBuffer> {
  const body = new TextEncoder().encode(claimsJson(c));
  if (body.length > 0xffff) throw new RangeError("Keep claims too large");
  const len = derLength(body.length);
  const out = new Uint8Array(1 + len.length + body.length);
  out[0] = 0x0c; // UTF8String
  out.set(len, 1);
  out.set(body, 1 + len.length);
  return out;
}

/**
 * The extensions of a DER certificate, in order: walks Certificate →
 * tbsCertificate → `[3] extensions` (RFC 5280 §4.1) without interpreting the
 * rest.
 *
 * @throws {EvidenceError} `claims.der` when the certificate is not well-formed
 * DER of that shape; `claims.duplicate` when an extension appears twice
 * (RFC 5280 §4.2: "MUST NOT include more than one instance of a particular extension").
 */
export function certificateExtensions(cert: Uint8Array): CertificateExtension[] {
  const top = readTlv(cert, 0, cert.length, "the certificate");
  if (top.tag !== 0x30 || top.end !== cert.length) {
    fail("claims.der", "expected a certificate: one DER SEQUENCE with nothing after it");
  }
  const tbs = readTlv(cert, top.body, top.end, "tbsCertificate");
  if (tbs.tag !== 0x30) fail("claims.der", "expected tbsCertificate to be a SEQUENCE");
  let exts: Tlv | undefined;
  for (let at = tbs.body; at < tbs.end; ) {
    const t = readTlv(cert, at, tbs.end, "a tbsCertificate field");
    if (exts) fail("claims.der", "expected extensions ([3]) to be tbsCertificate's last field");
    if (t.tag === 0xa3) exts = t;
    at = t.end;
  }
  if (!exts) return [];
  const list = readTlv(cert, exts.body, exts.end, "extensions");
  if (list.tag !== 0x30 || list.end !== exts.end) {
    fail("claims.der", "expected [3] extensions to hold exactly one SEQUENCE OF Extension");
  }
  const out: CertificateExtension[] = [];
  for (let at = list.body; at < list.end; ) {
    const e = readTlv(cert, at, list.end, "an Extension");
    if (e.tag !== 0x30) fail("claims.der", "expected each Extension to be a SEQUENCE");
    const id = readTlv(cert, e.body, e.end, "extnID");
    if (id.tag !== 0x06) fail("claims.der", "expected an Extension to start with its OID");
    let next = readTlv(cert, id.end, e.end, "an Extension field");
    let critical = false;
    if (next.tag === 0x01) {
      // DER (X.690 §11.5): a DEFAULT FALSE that is FALSE is omitted, so a present one is TRUE (0xff).
      if (next.end - next.body !== 1 || cert[next.body] !== 0xff) {
        fail("claims.der", "expected critical, when present, to be the DER BOOLEAN TRUE (ff)");
      }
      critical = true;
      next = readTlv(cert, next.end, e.end, "extnValue");
    }
    if (next.tag !== 0x04 || next.end !== e.end) {
      fail("claims.der", "expected an Extension to end with one OCTET STRING extnValue");
    }
    const oid = dottedOid(cert.subarray(id.body, id.end));
    if (out.some((x) => x.oid === oid)) {
      fail("claims.duplicate", `expected each extension once, got ${oid} twice`);
    }
    out.push({
      oid,
      oidDer: cert.slice(e.body, id.end),
      critical,
      value: cert.slice(next.body, next.end),
    });
    at = e.end;
  }
  return out;
}

/**
 * The Keep-claims extension of a DER certificate (or anything with its DER as
 * `rawData`, such as an @peculiar/x509 certificate): its criticality and
 * value (the extnValue's contents); null when the certificate has none.
 *
 * @throws {EvidenceError} as {@link certificateExtensions}.
 */
export function findKeepClaimsExtension(
  cert: Uint8Array | { rawData: ArrayBuffer },
): { critical: boolean; value: Uint8Array } | null {
  const raw = cert instanceof Uint8Array ? cert : new Uint8Array(cert.rawData);
  const ext = certificateExtensions(raw).find((e) => bytesEqual(e.oidDer, KEEP_CLAIMS_OID_DER));
  return ext ? { critical: ext.critical, value: ext.value } : null;
}

/**
 * Read the Keep-claims extension of a certificate; null when it has none.
 *
 * @throws {EvidenceError} `claims.*` when the certificate or the extension is malformed.
 */
export function decodeKeepClaims(
  cert: Uint8Array | { rawData: ArrayBuffer },
): KeepCertClaims | null {
  const ext = findKeepClaimsExtension(cert);
  return ext ? decodeKeepClaimsValue(ext.value) : null;
}

const MEMBERS = [
  "v",
  "tee",
  "tier",
  "measurement",
  "workload",
  "tcb_status",
  "tcb",
  "evidence_sha256",
] as const;

/**
 * Decode the extension's value (the extnValue's contents: a DER UTF8String of JSON).
 *
 * @throws {EvidenceError} `claims.size`, `claims.der`, `claims.utf8`,
 * `claims.json`, `claims.version`, `claims.member`, `claims.field`, `claims.tier`.
 */
export function decodeKeepClaimsValue(value: Uint8Array): KeepCertClaims {
  if (value.length > KEEP_CLAIMS_MAX_SIZE) {
    fail(
      "claims.size",
      `expected a Keep claims value of at most ${KEEP_CLAIMS_MAX_SIZE} bytes, got ${value.length}`,
    );
  }
  const s = readTlv(value, 0, value.length, "the Keep claims value");
  if (s.tag !== 0x0c || s.end !== value.length) {
    fail("claims.der", "expected the Keep claims value to be one DER UTF8String (tag 0c)");
  }
  const bytes = value.subarray(s.body);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch (cause) {
    return fail("claims.utf8", "expected the Keep claims to be valid UTF-8", cause);
  }
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (cause) {
    return fail("claims.json", "expected the Keep claims to be JSON", cause);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) {
    fail("claims.json", `expected the Keep claims to be a JSON object, got ${describe(o)}`);
  }
  const m = o as Record<string, unknown>;
  if (m.v !== KEEP_CLAIMS_VERSION) {
    fail(
      "claims.version",
      `expected Keep claims version ${KEEP_CLAIMS_VERSION}, got ${Object.hasOwn(m, "v") ? describe(m.v) : "none"}`,
    );
  }
  for (const k of Object.keys(m)) {
    if (!(MEMBERS as readonly string[]).includes(k)) {
      fail("claims.member", `unknown Keep claims member ${JSON.stringify(k)} in version 1`);
    }
  }
  for (const k of MEMBERS) {
    if (!Object.hasOwn(m, k)) fail("claims.member", `missing Keep claims member "${k}"`);
  }
  const claims: KeepCertClaims = {
    tee: oneOf(m.tee, "tee", KEEP_CLAIMS_TEES),
    tier: oneOf(m.tier, "tier", ["hardware", "software"] as const),
    measurement: hex(m.measurement, "measurement", 32, 64),
    workload: m.workload === null ? null : hex(m.workload, "workload", 32, 32),
    tcbStatus: oneOf(m.tcb_status, "tcb_status", KEEP_CLAIMS_TCB_STATUSES),
    tcb: m.tcb === null ? null : hex(m.tcb, "tcb", 1, 64),
    evidenceSha256: hex(m.evidence_sha256, "evidence_sha256", 32, 32),
  };
  // The tier is the TEE's, never a separate statement: sandbox evidence is
  // software tier (its host can read and change the Keep), a TEE's is hardware.
  const want = claims.tee === "sandbox" ? "software" : "hardware";
  if (claims.tier !== want) {
    fail("claims.tier", `expected tier ${want} for tee ${claims.tee}, got ${claims.tier}`);
  }
  // Likewise the TCB status is of the TEE's kind: Intel's statuses only for SGX and TDX.
  const statuses = TCB_STATUSES_OF[claims.tee as keyof typeof TCB_STATUSES_OF];
  if (!statuses.includes(claims.tcbStatus)) {
    fail(
      "claims.field",
      `expected Keep claims "tcb_status" for tee ${claims.tee} to be one of ${statuses.join(", ")}, got ${JSON.stringify(claims.tcbStatus)}`,
    );
  }
  // Canonical form: exactly what encodeKeepClaims writes. This also refuses
  // duplicated member names (JSON.parse keeps the last one silently).
  if (text !== claimsJson(claims)) {
    fail(
      "claims.json",
      "expected the Keep claims JSON in canonical form (members once, in order, no whitespace)",
    );
  }
  return claims;
}

// ── helpers ────────────────────────────────────────────────────────────────

function claimsJson(c: KeepCertClaims): string {
  return JSON.stringify({
    v: KEEP_CLAIMS_VERSION,
    tee: c.tee,
    tier: c.tier,
    measurement: c.measurement,
    workload: c.workload,
    tcb_status: c.tcbStatus,
    tcb: c.tcb,
    evidence_sha256: c.evidenceSha256,
  });
}

function oneOf<T extends string>(v: unknown, name: string, allowed: readonly T[]): T {
  if (typeof v === "string" && (allowed as readonly string[]).includes(v)) return v as T;
  return fail(
    "claims.field",
    `expected Keep claims "${name}" to be one of ${allowed.join(", ")}, got ${describe(v)}`,
  );
}

function hex(v: unknown, name: string, min: number, max: number): string {
  const size = min === max ? `${min}` : `${min}–${max}`;
  if (
    typeof v !== "string" ||
    !/^(?:[0-9a-f]{2})+$/.test(v) ||
    v.length < 2 * min ||
    v.length > 2 * max
  ) {
    fail(
      "claims.field",
      `expected Keep claims "${name}" to be ${size} bytes as lowercase hex, got ${describe(v)}`,
    );
  }
  return v as string;
}

function describe(v: unknown): string {
  if (typeof v === "string")
    return v.length > 40 ? `a ${v.length}-character string` : JSON.stringify(v);
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `${typeof v} ${String(v)}`;
}

function fail(code: EvidenceCode, message: string, cause?: unknown): never {
  throw new EvidenceError(code, message, cause === undefined ? undefined : { cause });
}

interface Tlv {
  tag: number;
  /** Where the contents start. */
  body: number;
  /** Where the contents end (exclusive). */
  end: number;
}

/**
 * One DER TLV at `at`, which must end by `limit` (X.690 §8.1, §10.1): a
 * single-byte tag (every tag here is low-numbered), a definite length in its
 * minimal form, of at most four length octets.
 */
function readTlv(b: Uint8Array, at: number, limit: number, what: string): Tlv {
  if (at + 2 > limit) fail("claims.der", `${what}: truncated DER (no tag and length)`);
  const tag = b[at]!;
  if ((tag & 0x1f) === 0x1f) fail("claims.der", `${what}: unexpected multi-byte DER tag`);
  const first = b[at + 1]!;
  let len = first;
  let body = at + 2;
  if (first >= 0x80) {
    const n = first & 0x7f;
    if (n === 0) fail("claims.der", `${what}: indefinite length is not DER`);
    if (n > 4) fail("claims.der", `${what}: a ${n}-octet length is too large`);
    if (body + n > limit) fail("claims.der", `${what}: truncated DER length`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[body + i]!;
    if (b[body] === 0 || len < 0x80) {
      fail("claims.der", `${what}: length ${len} not in its minimal DER form`);
    }
    body += n;
  }
  if (body + len > limit) {
    fail(
      "claims.der",
      `${what}: length ${len} runs past its container (${limit - body} bytes left)`,
    );
  }
  return { tag, body, end: body + len };
}

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  if (n < 0x100) return [0x81, n];
  return [0x82, n >> 8, n & 0xff];
}

/** The dotted form of an OID's contents (X.690 §8.19): base-128 arcs, minimal, of any size. */
function dottedOid(c: Uint8Array): string {
  if (c.length === 0) fail("claims.der", "expected an OID with at least one arc");
  const arcs: bigint[] = [];
  let v = 0n;
  for (let i = 0; i < c.length; i++) {
    if (v === 0n && c[i] === 0x80) fail("claims.der", "OID arc not in its minimal form");
    v = (v << 7n) | BigInt(c[i]! & 0x7f);
    if ((c[i]! & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
    } else if (i === c.length - 1) fail("claims.der", "OID ends inside an arc");
  }
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join(".");
}
