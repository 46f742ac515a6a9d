/**
 * The Keep-claims codec: a round trip, and a table of malformed values and
 * certificates, each refused with its `claims.*` code. Certificates are built
 * here as bare DER (the walker reads structure, not signatures); the Steward's
 * tests and @donjon/client's decode real Steward-issued certificates.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  certificateExtensions,
  decodeKeepClaims,
  decodeKeepClaimsValue,
  encodeKeepClaims,
  findKeepClaimsExtension,
  KEEP_CLAIMS_MAX_SIZE,
  KEEP_CLAIMS_OID,
  KEEP_CLAIMS_OID_DER,
  type KeepCertClaims,
} from "./claims.ts";
import { EvidenceError } from "./error.ts";

const CLAIMS: KeepCertClaims = {
  tee: "snp",
  tier: "hardware",
  measurement: "ab".repeat(48),
  workload: "cd".repeat(32),
  tcbStatus: "meets-minimum",
  tcb: "0300000000000873",
  evidenceSha256: "ef".repeat(32),
};
const SANDBOX: KeepCertClaims = {
  tee: "sandbox",
  tier: "software",
  measurement: "12".repeat(48),
  workload: "34".repeat(32),
  tcbStatus: "none",
  tcb: null,
  evidenceSha256: "56".repeat(32),
};

/** An Intel Keep: MRTD, Intel's TCB status, TEE_TCB_SVN. */
const TDX: KeepCertClaims = {
  tee: "tdx",
  tier: "hardware",
  measurement: "7d".repeat(48),
  workload: "cd".repeat(32),
  tcbStatus: "UpToDate",
  tcb: "06010300000000000000000000000000",
  evidenceSha256: "ef".repeat(32),
};
const SGX: KeepCertClaims = {
  ...TDX,
  tee: "sgx",
  measurement: "e1".repeat(32),
  tcbStatus: "SWHardeningNeeded",
};

const enc = (s: string) => new TextEncoder().encode(s);

function tlv(tag: number, body: Uint8Array | number[]): Uint8Array {
  const b = Uint8Array.from(body);
  const len =
    b.length < 0x80
      ? [b.length]
      : b.length < 0x100
        ? [0x81, b.length]
        : [0x82, b.length >> 8, b.length & 0xff];
  return Uint8Array.from([tag, ...len, ...b]);
}
const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));
const seq = (...p: Uint8Array[]) => tlv(0x30, cat(...p));

/** A UTF8String of `json` (the extension value). */
const utf8 = (json: string | Uint8Array) => tlv(0x0c, typeof json === "string" ? enc(json) : json);

/** Canonical JSON of CLAIMS with members replaced by `patch` (in place) and `drop` removed. */
function json(patch: Record<string, unknown> = {}, drop: string[] = []): string {
  const o = JSON.parse(new TextDecoder().decode(encodeKeepClaims(CLAIMS).subarray(4)));
  for (const k of drop) delete o[k];
  return JSON.stringify(Object.assign(o, patch));
}

function ext(oidDer: Uint8Array, value: Uint8Array, critical?: Uint8Array): Uint8Array {
  return seq(oidDer, ...(critical ? [critical] : []), tlv(0x04, value));
}
const CLAIMS_EXT = ext(KEEP_CLAIMS_OID_DER, encodeKeepClaims(CLAIMS));
// basicConstraints (2.5.29.19) = SEQUENCE {}: an ordinary second extension.
const BC_EXT = ext(Uint8Array.from([0x06, 0x03, 0x55, 0x1d, 0x13]), seq(), tlv(0x01, [0xff]));

/** A certificate skeleton: version, serial, algorithm, names, validity, SPKI, then `tail` fields. */
function cert(...tail: Uint8Array[]): Uint8Array {
  const tbs = seq(
    tlv(0xa0, tlv(0x02, [2])),
    tlv(0x02, [1]),
    seq(),
    seq(),
    seq(),
    seq(),
    seq(),
    ...tail,
  );
  return seq(tbs, seq(), tlv(0x03, [0]));
}
const exts = (...e: Uint8Array[]) => tlv(0xa3, seq(...e));

const isCode = (code: string) => (e: unknown) => {
  assert.ok(e instanceof EvidenceError, `expected EvidenceError, got ${String(e)}`);
  assert.equal(e.code, code, e.message);
  return true;
};

describe("Keep claims", () => {
  it("round trip: encode, then decode from the value and from a certificate", () => {
    for (const c of [CLAIMS, SANDBOX, TDX, SGX, { ...CLAIMS, workload: null }]) {
      assert.deepEqual(decodeKeepClaimsValue(encodeKeepClaims(c)), c);
    }
    const der = cert(exts(BC_EXT, CLAIMS_EXT));
    assert.deepEqual(decodeKeepClaims(der), CLAIMS);
    assert.deepEqual(decodeKeepClaims({ rawData: der.slice().buffer }), CLAIMS);
    assert.deepEqual(findKeepClaimsExtension(der)!.critical, false);
    const list = certificateExtensions(der);
    assert.deepEqual(
      list.map((e) => [e.oid, e.critical]),
      [
        ["2.5.29.19", true],
        [KEEP_CLAIMS_OID, false],
      ],
    );
  });

  it("OIDs are read in dotted form whatever their first arcs (X.690 §8.19.4)", () => {
    const der = cert(
      exts(
        ext(Uint8Array.of(0x06, 0x01, 0x00), seq()),
        ext(Uint8Array.of(0x06, 0x02, 0x28, 0x05), seq()),
      ),
    );
    assert.deepEqual(
      certificateExtensions(der).map((e) => e.oid),
      ["0.0", "1.0.5"],
    );
  });

  it("a certificate without the extension, or without extensions, has no claims", () => {
    assert.equal(decodeKeepClaims(cert(exts(BC_EXT))), null);
    assert.equal(decodeKeepClaims(cert()), null);
  });

  const values: [string, Uint8Array, string][] = [
    ["larger than the bound", utf8("x".repeat(KEEP_CLAIMS_MAX_SIZE)), "claims.size"],
    ["an OCTET STRING, not a UTF8String", tlv(0x04, enc(json())), "claims.der"],
    ["trailing bytes after the UTF8String", cat(utf8(json()), Uint8Array.of(0)), "claims.der"],
    ["a length past the end", Uint8Array.of(0x0c, 0x05, 0x7b), "claims.der"],
    [
      "a non-minimal length (0x81 for 3 bytes)",
      Uint8Array.of(0x0c, 0x81, 3, 0x7b, 0x7d, 0x20),
      "claims.der",
    ],
    ["an indefinite length", Uint8Array.of(0x0c, 0x80, 0x7b, 0x7d, 0, 0), "claims.der"],
    ["empty", new Uint8Array(0), "claims.der"],
    ["a multi-byte tag", Uint8Array.of(0x1f, 0x0c, 0x01, 0x7b), "claims.der"],
    ["a five-octet length", Uint8Array.of(0x0c, 0x85, 0, 0, 0, 0, 1, 0x7b), "claims.der"],
    ["a truncated length", Uint8Array.of(0x0c, 0x82, 0x01), "claims.der"],
    ["invalid UTF-8", utf8(Uint8Array.of(0x7b, 0xff, 0x7d)), "claims.utf8"],
    ["not JSON", utf8("{v:1}"), "claims.json"],
    ["a JSON array", utf8("[1]"), "claims.json"],
    ["JSON null", utf8("null"), "claims.json"],
    ["version 2", utf8(json({ v: 2 })), "claims.version"],
    ["version as a string", utf8(json({ v: "1" })), "claims.version"],
    ["no version", utf8(json({}, ["v"])), "claims.version"],
    ["an unknown member", utf8(json({ extra: 1 })), "claims.member"],
    ["a missing member (tcb)", utf8(json({}, ["tcb"])), "claims.member"],
    ["a missing member (workload)", utf8(json({}, ["workload"])), "claims.member"],
    ["tee unknown", utf8(json({ tee: "kvm" })), "claims.field"],
    ["tee a number", utf8(json({ tee: 1 })), "claims.field"],
    ["tier unknown", utf8(json({ tier: "firmware" })), "claims.field"],
    ["measurement upper-case hex", utf8(json({ measurement: "AB".repeat(48) })), "claims.field"],
    ["measurement too short", utf8(json({ measurement: "ab".repeat(16) })), "claims.field"],
    ["measurement too long", utf8(json({ measurement: "ab".repeat(65) })), "claims.field"],
    ["measurement odd length", utf8(json({ measurement: `${"ab".repeat(48)}a` })), "claims.field"],
    ["measurement null", utf8(json({ measurement: null })), "claims.field"],
    ["workload 31 bytes", utf8(json({ workload: "cd".repeat(31) })), "claims.field"],
    ["workload a number", utf8(json({ workload: 5 })), "claims.field"],
    ["tcb_status unknown", utf8(json({ tcb_status: "up-to-date" })), "claims.field"],
    ["tcb_status Intel's, for snp", utf8(json({ tcb_status: "UpToDate" })), "claims.field"],
    [
      "tcb_status Revoked (never recorded)",
      utf8(json({ tee: "tdx", tcb_status: "Revoked" })),
      "claims.field",
    ],
    [
      "tcb_status meets-minimum, for tdx",
      utf8(json({ tee: "tdx", tcb_status: "meets-minimum" })),
      "claims.field",
    ],
    [
      "tcb_status none, for sgx",
      utf8(json({ tee: "sgx", measurement: "e1".repeat(32), tcb_status: "none" })),
      "claims.field",
    ],
    [
      "tcb_status UpToDate, for sandbox",
      utf8(json({ tee: "sandbox", tier: "software", tcb_status: "UpToDate" })),
      "claims.field",
    ],
    ["tcb empty", utf8(json({ tcb: "" })), "claims.field"],
    ["tcb an object", utf8(json({ tcb: {} })), "claims.field"],
    ["evidence_sha256 not hex", utf8(json({ evidence_sha256: "zz".repeat(32) })), "claims.field"],
    [
      "sandbox claiming hardware tier",
      utf8(json({ tee: "sandbox", tcb_status: "none" })),
      "claims.tier",
    ],
    ["snp claiming software tier", utf8(json({ tier: "software" })), "claims.tier"],
    ["whitespace in the JSON", utf8(json().replace(",", ", ")), "claims.json"],
    [
      "members out of order",
      utf8(JSON.stringify({ tee: "snp", ...JSON.parse(json()) })),
      "claims.json",
    ],
    [
      "a duplicated member (the last would win in JSON.parse)",
      utf8(json().replace('"tee":"snp"', '"tee":"sandbox","tee":"snp"')),
      "claims.json",
    ],
  ];
  for (const [name, value, code] of values) {
    it(`refuses a value: ${name} → ${code}`, () => {
      assert.throws(() => decodeKeepClaimsValue(value), isCode(code));
    });
  }

  const certs: [string, Uint8Array, string][] = [
    ["the claims extension twice", cert(exts(CLAIMS_EXT, CLAIMS_EXT)), "claims.duplicate"],
    ["another extension twice", cert(exts(BC_EXT, BC_EXT, CLAIMS_EXT)), "claims.duplicate"],
    [
      "trailing bytes after the certificate",
      cat(cert(exts(CLAIMS_EXT)), Uint8Array.of(0)),
      "claims.der",
    ],
    ["a truncated certificate", cert(exts(CLAIMS_EXT)).subarray(0, 60), "claims.der"],
    ["not a SEQUENCE", tlv(0x31, [0]), "claims.der"],
    [
      "critical encoded as FALSE (DER omits a default)",
      cert(exts(ext(KEEP_CLAIMS_OID_DER, encodeKeepClaims(CLAIMS), tlv(0x01, [0])))),
      "claims.der",
    ],
    ["an extension without extnValue", cert(exts(seq(KEEP_CLAIMS_OID_DER))), "claims.der"],
    [
      "an extension with a field after extnValue",
      cert(exts(seq(KEEP_CLAIMS_OID_DER, tlv(0x04, [0x0c, 0]), tlv(0x05, [])))),
      "claims.der",
    ],
    ["an extension that is not a SEQUENCE", cert(exts(tlv(0x31, []))), "claims.der"],
    [
      "an extension whose first field is not an OID",
      cert(exts(seq(tlv(0x02, [1]), tlv(0x04, [])))),
      "claims.der",
    ],
    [
      "an OID with a non-minimal arc",
      cert(exts(ext(Uint8Array.of(0x06, 0x02, 0x80, 0x01), seq()))),
      "claims.der",
    ],
    [
      "an OID ending inside an arc",
      cert(exts(ext(Uint8Array.of(0x06, 0x01, 0x81), seq()))),
      "claims.der",
    ],
    ["fields after the extensions", cert(exts(CLAIMS_EXT), tlv(0x05, [])), "claims.der"],
    [
      "extensions holding two SEQUENCEs",
      cert(tlv(0xa3, cat(seq(CLAIMS_EXT), seq()))),
      "claims.der",
    ],
    [
      "a malformed claims value inside a well-formed certificate",
      cert(exts(ext(KEEP_CLAIMS_OID_DER, utf8("{}")))),
      "claims.version",
    ],
  ];
  certs.push(
    [
      "a tbsCertificate that is not a SEQUENCE",
      seq(tlv(0x31, []), seq(), tlv(0x03, [0])),
      "claims.der",
    ],
    ["an empty OID", cert(exts(ext(Uint8Array.of(0x06, 0x00), seq()))), "claims.der"],
  );
  for (const [name, der, code] of certs) {
    it(`refuses a certificate: ${name} → ${code}`, () => {
      assert.throws(() => decodeKeepClaims(der), isCode(code));
    });
  }

  it("messages name what was expected and what came", () => {
    assert.throws(
      () => decodeKeepClaimsValue(utf8(json({ measurement: "ab".repeat(16) }))),
      /expected Keep claims "measurement" to be 32–64 bytes as lowercase hex, got "abab/,
    );
    assert.throws(
      () => decodeKeepClaimsValue(utf8(json({ v: 7 }))),
      /expected Keep claims version 1, got number 7/,
    );
  });
});
