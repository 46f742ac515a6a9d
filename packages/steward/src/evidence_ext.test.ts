import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeKeepEvidence, type KeepEvidence } from "@donjon/attest";
import {
  DerError,
  decodeEvidenceExtension,
  derOid,
  derOne,
  derTlv,
  EVIDENCE_EXTENSION_MAX_SIZE,
  encodeEvidenceExtension,
  OID_CMW,
  OID_ENARX_KVM,
  OID_ENARX_SGX,
  OID_ENARX_SNP,
  TAG_BIT_STRING,
  TAG_INTEGER,
  TAG_OCTET_STRING,
  TAG_SEQUENCE,
  TAG_UTF8STRING,
} from "./evidence_ext.ts";
import { MalformedRequestError } from "./problem.ts";

const P384_PREFIX = [
  0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b,
  0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00, 0x04,
];
const keep: KeepEvidence = {
  tee: "snp",
  evidence: new Uint8Array(1184).fill(7),
  certs: [Uint8Array.of(0x30, 1, 2)],
  keepKey: Uint8Array.from([...P384_PREFIX, ...new Uint8Array(96).fill(9)]),
  wasmDigest: new Uint8Array(32).fill(1),
  configDigest: new Uint8Array(32).fill(2),
};
const wrapper = encodeKeepEvidence(keep);
const seq = (...parts: Uint8Array[]) =>
  derTlv(TAG_SEQUENCE, Uint8Array.from(parts.flatMap((p) => [...p])));
const cat = (...parts: (Uint8Array | number[])[]) => Uint8Array.from(parts.flatMap((p) => [...p]));

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof MalformedRequestError, `expected MalformedRequestError, got ${e}`);
    return e.code;
  }
  return "no error";
}

describe("the CMW extension (RFC 9999)", () => {
  test("encode: the json choice, a DER UTF8String holding the wrapper", () => {
    const v = encodeEvidenceExtension(wrapper);
    assert.equal(v[0], TAG_UTF8STRING);
    // > 255 bytes: a two-octet long-form length.
    assert.deepEqual([...v.subarray(1, 4)], [0x82, wrapper.length >> 8, wrapper.length & 0xff]);
    assert.deepEqual(v.subarray(4), wrapper);
  });

  test("decode: back to the wrapper, the TEE and the bytes the evidence hash covers", () => {
    const d = decodeEvidenceExtension({
      oid: OID_CMW,
      critical: false,
      value: encodeEvidenceExtension(wrapper),
    });
    assert.equal(d.format, "cmw");
    assert.equal(d.tee, "snp");
    assert.deepEqual(d.evidence, keep.evidence);
    assert.deepEqual(d.certs, keep.certs);
    assert.deepEqual(d.crls, []);
    assert.deepEqual(d.keep, keep);
    assert.deepEqual(d.hashed, wrapper);
  });

  test("short and one-octet lengths", () => {
    for (const n of [1, 127, 128, 255]) {
      const v = derTlv(TAG_UTF8STRING, new Uint8Array(n).fill(0x41));
      assert.equal(derOne(v).value.length, n);
      assert.equal(v.length, n + (n < 128 ? 2 : 3));
    }
  });

  test("encode refuses an empty, oversized or non-UTF-8 wrapper", () => {
    assert.equal(
      code(() => encodeEvidenceExtension(new Uint8Array(0))),
      "evidence.size",
    );
    assert.equal(
      code(() => encodeEvidenceExtension(new Uint8Array(256 * 1024 + 1).fill(0x20))),
      "evidence.size",
    );
    assert.equal(
      code(() => encodeEvidenceExtension(Uint8Array.of(0xff))),
      "evidence.extension",
    );
  });

  const json = (s: string) => derTlv(TAG_UTF8STRING, new TextEncoder().encode(s));
  const table: [string, Uint8Array, string][] = [
    ["an empty value", new Uint8Array(0), "evidence.extension"],
    ["trailing bytes", cat(encodeEvidenceExtension(wrapper), [0]), "evidence.extension"],
    ["a non-minimal length", cat([0x0c, 0x81, 0x02], [0x7b, 0x7d]), "evidence.extension"],
    ["a leading-zero length", cat([0x0c, 0x82, 0x00, 0x02], [0x7b, 0x7d]), "evidence.extension"],
    ["an indefinite length (BER)", cat([0x0c, 0x80, 0x7b, 0x7d, 0, 0]), "evidence.extension"],
    ["a five-octet length", cat([0x0c, 0x85, 0, 0, 0, 0, 2], [0x7b, 0x7d]), "evidence.extension"],
    ["a length past the end", cat([0x0c, 0x05, 0x7b]), "evidence.extension"],
    ["only a tag", Uint8Array.of(0x0c), "evidence.extension"],
    ["a multi-byte tag", cat([0x1f, 0x81, 0x01, 0x00]), "evidence.extension"],
    ["an INTEGER", derTlv(TAG_INTEGER, Uint8Array.of(1)), "evidence.extension"],
    ["the cbor choice", derTlv(TAG_OCTET_STRING, Uint8Array.of(0x82, 1, 2)), "evidence.cbor"],
    ["JSON that is not a wrapper", json("[1, 2]"), "cmw.json"],
    ["not JSON", json("evidence"), "cmw.json"],
    ["not UTF-8", derTlv(TAG_UTF8STRING, Uint8Array.of(0x7b, 0xff, 0x7d)), "cmw.utf8"],
    [
      "over the size limit",
      new Uint8Array(EVIDENCE_EXTENSION_MAX_SIZE + 1).fill(0x20),
      "evidence.size",
    ],
  ];
  for (const [name, value, want] of table) {
    test(`strict: ${name} → ${want}`, () => {
      assert.equal(
        code(() => decodeEvidenceExtension({ oid: OID_CMW, critical: false, value })),
        want,
      );
    });
  }

  test("an OID that is not an evidence extension", () => {
    assert.equal(
      code(() =>
        decodeEvidenceExtension({ oid: "2.5.29.17", critical: false, value: new Uint8Array(2) }),
      ),
      "evidence.extension",
    );
  });
});

describe("Enarx's evidence extensions", () => {
  const vcek = seq(
    seq(derTlv(TAG_INTEGER, Uint8Array.of(1))),
    seq(),
    derTlv(TAG_BIT_STRING, Uint8Array.of(0)),
  );
  const report = new Uint8Array(1184).fill(5);
  const crl = seq(seq(), seq(), derTlv(TAG_BIT_STRING, Uint8Array.of(0)));
  const crlList = seq(
    seq(seq(derTlv(TAG_UTF8STRING, new TextEncoder().encode("https://kds/crl")), crl)),
  );

  test("1.3.6.1.4.1.58270.1.1 (KVM): an empty value, no TEE", () => {
    const d = decodeEvidenceExtension({
      oid: OID_ENARX_KVM,
      critical: false,
      value: new Uint8Array(0),
    });
    assert.equal(d.format, "enarx-kvm");
    assert.equal(d.tee, "kvm");
    assert.equal(d.evidence.length, 0);
    assert.equal(
      code(() =>
        decodeEvidenceExtension({ oid: OID_ENARX_KVM, critical: false, value: Uint8Array.of(0) }),
      ),
      "evidence.extension",
    );
  });

  test("1.3.6.1.4.1.58270.1.2 (SGX): the quote bytes", () => {
    const q = new Uint8Array(600).fill(3);
    const d = decodeEvidenceExtension({ oid: OID_ENARX_SGX, critical: false, value: q });
    assert.equal(d.format, "enarx-sgx");
    assert.equal(d.tee, "sgx");
    assert.deepEqual(d.evidence, q);
    assert.equal(
      code(() =>
        decodeEvidenceExtension({ oid: OID_ENARX_SGX, critical: false, value: new Uint8Array(0) }),
      ),
      "evidence.extension",
    );
  });

  test("1.3.6.1.4.1.58270.1.3 (SNP), first form: SEQUENCE { vcek, report }", () => {
    const value = seq(vcek, derTlv(TAG_OCTET_STRING, report));
    const d = decodeEvidenceExtension({ oid: OID_ENARX_SNP, critical: false, value });
    assert.equal(d.format, "enarx-snp");
    assert.equal(d.tee, "snp");
    assert.deepEqual(d.evidence, report);
    assert.deepEqual(d.certs, [vcek]);
    assert.deepEqual(d.crls, []);
    assert.equal(d.keep, null);
    assert.deepEqual(d.hashed, value);
  });

  test("1.3.6.1.4.1.58270.1.3 (SNP), later form: SEQUENCE { SEQUENCE { vcek, CrlList }, report }", () => {
    const value = seq(seq(vcek, crlList), derTlv(TAG_OCTET_STRING, report));
    const d = decodeEvidenceExtension({ oid: OID_ENARX_SNP, critical: false, value });
    assert.deepEqual(d.certs, [vcek]);
    assert.deepEqual(d.crls, [crl]);
  });

  const bad: [string, Uint8Array][] = [
    ["an OCTET STRING only", derTlv(TAG_OCTET_STRING, report)],
    ["three fields", seq(vcek, derTlv(TAG_OCTET_STRING, report), derTlv(TAG_OCTET_STRING, report))],
    ["a report that is not an OCTET STRING", seq(vcek, derTlv(TAG_INTEGER, Uint8Array.of(1)))],
    ["an empty report", seq(vcek, derTlv(TAG_OCTET_STRING, new Uint8Array(0)))],
    [
      "a first field of four elements",
      seq(seq(vcek, vcek, vcek, vcek), derTlv(TAG_OCTET_STRING, report)),
    ],
    [
      "a CrlList of two fields",
      seq(seq(vcek, seq(seq(), seq())), derTlv(TAG_OCTET_STRING, report)),
    ],
    [
      "a CRL entry without its URL",
      seq(seq(vcek, seq(seq(seq(crl)))), derTlv(TAG_OCTET_STRING, report)),
    ],
    [
      "a CrlList that is not a SEQUENCE",
      seq(seq(vcek, derTlv(TAG_INTEGER, Uint8Array.of(0))), derTlv(TAG_OCTET_STRING, report)),
    ],
    ["trailing bytes", cat(seq(vcek, derTlv(TAG_OCTET_STRING, report)), [0])],
  ];
  for (const [name, value] of bad) {
    test(`SNP strict: ${name} → evidence.extension`, () => {
      assert.equal(
        code(() => decodeEvidenceExtension({ oid: OID_ENARX_SNP, critical: false, value })),
        "evidence.extension",
      );
    });
  }
});

describe("DER OBJECT IDENTIFIER", () => {
  const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (x) => Number.parseInt(x, 16));
  test("vectors (X.690 §8.19)", () => {
    assert.equal(derOid(hex("2a864886f70d01090e")), "1.2.840.113549.1.9.14");
    assert.equal(derOid(hex("2b0601050507012300".slice(0, 16))), "1.3.6.1.5.5.7.1.35");
    assert.equal(derOid(hex("2b0601040183c71e0103")), "1.3.6.1.4.1.58270.1.3");
    assert.equal(derOid(hex("8837")), "2.999");
    assert.equal(derOid(hex("00")), "0.0");
  });
  test("refuses non-minimal, truncated and empty identifiers", () => {
    for (const bad of ["2a8001", "2a86", "", "ffffffffffffffffff7f"]) {
      assert.throws(() => derOid(hex(bad)), DerError, bad);
    }
  });
});
