/**
 * abi.ts against every real quote of ../shared/vectors/sgx and tdx (the fields
 * README.md's appendix and LAYOUTS.md give), and malformed-input tables for
 * parseDcapQuote (truncation at every structure boundary, wrong versions and
 * types, overflowing and slack lengths, trailing bytes, bad PEM) and for
 * parsePckExtensions (a strict DER walk).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toHex } from "../_bytes.ts";
import { EvidenceError } from "../error.ts";
import { appendix, QUOTE_VECTORS, quoteVector, readVector } from "./_test_quote_vectors.ts";
import {
  PCK_CHAIN_LENGTH,
  parseDcapQuote,
  parsePckExtensions,
  QUOTE_HEADER_SIZE,
  SGX_REPORT_BODY_SIZE,
  TD10_BODY_SIZE,
  TD15_BODY_SIZE,
} from "./abi.ts";
import type { DcapQuote, SgxReportBody } from "./types.ts";

function sgxBody(q: DcapQuote): SgxReportBody {
  assert.equal(q.body.tee, "sgx");
  return (q.body as { report: SgxReportBody }).report;
}

/** Assert `fn` throws an EvidenceError with `code`; return its message. */
function throwsCode(fn: () => unknown, code: string): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof EvidenceError, `expected EvidenceError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e.message;
  }
  assert.fail(`expected ${code}, nothing thrown`);
}

const hex = toHex;
const TEXT = new TextEncoder();

// ── a quote builder (LAYOUTS.md §2.1–2.3), to make one field wrong at a time ──

/** Every piece of a quote; `build` lays them out as LAYOUTS.md says. */
interface Parts {
  header: Uint8Array; // 48
  version: number;
  keyType: number;
  teeType: number;
  /** v5 body descriptor. */
  bodyType?: number;
  bodySize?: number;
  body: Uint8Array;
  sig: Uint8Array;
  key: Uint8Array;
  /** v4/v5: certification data type 6 wraps the QE section; null for v3. */
  outerType: number | null;
  qeReport: Uint8Array;
  qeSig: Uint8Array;
  auth: Uint8Array;
  innerType: number;
  chain: Uint8Array;
  /** Overrides of the declared sizes (default: the true ones). */
  sigLength?: number;
  outerSize?: number;
  authSize?: number;
  innerSize?: number;
  /** Bytes inside the signature data after its last field (slack). */
  sigSlack?: Uint8Array;
  /** Bytes inside the type-6 record after its last field (slack). */
  outerSlack?: Uint8Array;
  trailing?: Uint8Array;
}

function u16(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, (n >> 8) & 0xff]);
}
function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function build(p: Parts): Uint8Array {
  const header = new Uint8Array(p.header);
  const hv = new DataView(header.buffer);
  hv.setUint16(0, p.version, true);
  hv.setUint16(2, p.keyType, true);
  hv.setUint32(4, p.teeType, true);
  const descriptor =
    p.version === 5
      ? cat(u16(p.bodyType ?? 0), u32(p.bodySize ?? p.body.length))
      : new Uint8Array();
  const qe = cat(
    p.qeReport,
    p.qeSig,
    u16(p.authSize ?? p.auth.length),
    p.auth,
    u16(p.innerType),
    u32(p.innerSize ?? p.chain.length),
    p.chain,
  );
  const cert =
    p.outerType === null
      ? qe
      : cat(
          u16(p.outerType),
          u32(p.outerSize ?? qe.length + (p.outerSlack?.length ?? 0)),
          qe,
          p.outerSlack ?? new Uint8Array(),
        );
  const sigData = cat(p.sig, p.key, cert, p.sigSlack ?? new Uint8Array());
  return cat(
    header,
    descriptor,
    p.body,
    u32(p.sigLength ?? sigData.length),
    sigData,
    p.trailing ?? new Uint8Array(),
  );
}

/** The parts of a real quote, read by the parser under test (`build` must give the bytes back). */
function partsOf(bytes: Uint8Array): Parts {
  const q = parseDcapQuote(bytes, { allowTrailing: true });
  const v5 = q.header.version === 5;
  const bodyAt = QUOTE_HEADER_SIZE + (v5 ? 6 : 0);
  const view = new DataView(bytes.buffer, bytes.byteOffset);
  // The chain as the quote holds it (PEM text and its NUL), found by its size field.
  const chainEnd = bytes.length - q.trailing.length;
  let chainSize = 0;
  for (let n = 1; n < chainEnd; n++) {
    if (
      view.getUint32(chainEnd - n - 4, true) === n &&
      view.getUint16(chainEnd - n - 6, true) === 5
    ) {
      chainSize = n;
      break;
    }
  }
  return {
    header: bytes.slice(0, QUOTE_HEADER_SIZE),
    version: q.header.version,
    keyType: q.header.attestationKeyType,
    teeType: q.header.teeType === "tdx" ? 0x81 : 0,
    bodyType: v5 ? view.getUint16(QUOTE_HEADER_SIZE, true) : undefined,
    body: q.signedBytes.slice(bodyAt),
    sig: q.quoteSignature,
    key: q.attestationKey,
    outerType: q.header.version === 3 ? null : 6,
    qeReport: q.qeReportRaw,
    qeSig: q.qeReportSignature,
    auth: q.qeAuthData,
    innerType: 5,
    chain: bytes.slice(chainEnd - chainSize, chainEnd),
    trailing: q.trailing,
  };
}

const V3 = readVector(quoteVector("sgx/dcaprs-v3-00606a000000").file);
const V4 = readVector(quoteVector("tdx/oasis-v4-c0806f000000").file);
const V5 = readVector(quoteVector("tdx/automata-v5-90c06f000000-alibaba").file);
const P3 = partsOf(V3);
const P4 = partsOf(V4);
const P5 = partsOf(V5);

/** The PEM blocks of a chain as text, without the NUL. */
function pemBlocks(chain: Uint8Array): string[] {
  const text = new TextDecoder().decode(chain);
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----\n?/g)].map(
    (m) => m[0],
  );
}

describe("parseDcapQuote: real quotes", () => {
  for (const v of QUOTE_VECTORS) {
    const a = appendix(v.appendix ?? v.id);
    it(`${v.id}: v${a.version} ${a.body}, decoded as the vector's appendix says`, () => {
      const bytes = readVector(v.file);
      const q = parseDcapQuote(bytes, { allowTrailing: v.trailing > 0 });
      assert.equal(q.header.version, a.version);
      assert.equal(q.header.attestationKeyType, 2);
      assert.equal(q.header.teeType, a.teeType === 0x81 ? "tdx" : "sgx");
      assert.equal(hex(q.header.qeVendorId), "939a7233f79c4ca9940a0db3957f0607");
      assert.equal(q.trailing.length, v.trailing);
      if (v.appendix === undefined) assert.equal(q.trailing.length, a.trailing);
      assert.equal(
        q.signedBytes.length +
          4 +
          new DataView(bytes.buffer, bytes.byteOffset).getUint32(q.signedBytes.length, true) +
          v.trailing,
        bytes.length,
      );
      assert.deepEqual(q.signedBytes, bytes.subarray(0, q.signedBytes.length));
      assert.equal(q.quoteSignature.length, 64);
      assert.equal(q.attestationKey.length, 64);
      assert.equal(q.qeReportRaw.length, SGX_REPORT_BODY_SIZE);
      assert.equal(q.qeReport.isvSvn, a.qe.isvsvn);
      assert.equal(hex(q.qeReport.mrSigner), a.qe.mrsigner);
      assert.equal(q.qeAuthData.length, 32);
      assert.equal(q.pckChain.length, PCK_CHAIN_LENGTH);
      if (v.appendix === undefined) {
        if (q.body.tee === "sgx") {
          const r = q.body.report;
          assert.equal(a.body, "sgx");
          assert.equal(q.signedBytes.length, QUOTE_HEADER_SIZE + SGX_REPORT_BODY_SIZE);
          assert.equal(hex(r.mrEnclave), a.hex.mrenclave);
          assert.equal(hex(r.mrSigner), a.hex.mrsigner);
          assert.equal(String(r.isvProdId), a.hex.isvprodid);
          assert.equal(String(r.isvSvn), a.hex.isvsvn);
          assert.equal(hex(r.attributes), a.hex.attributes);
          assert.equal(hex(r.reportData), a.hex.report_data);
          assert.equal(q.header.qeSvn, a.qe.isvsvn, "v3 header QE_SVN = the QE report's ISVSVN");
        } else {
          const r = q.body.report;
          assert.equal(r.kind, a.body);
          assert.equal(
            q.signedBytes.length,
            a.body === "td15"
              ? QUOTE_HEADER_SIZE + 6 + TD15_BODY_SIZE
              : QUOTE_HEADER_SIZE + TD10_BODY_SIZE,
          );
          assert.equal(hex(r.teeTcbSvn), a.hex.tee_tcb_svn);
          assert.equal(hex(r.mrTd), a.hex.mrtd);
          for (const i of [0, 1, 2, 3] as const) assert.equal(hex(r.rtmr[i]), a.hex[`rtmr${i}`]);
          assert.equal(hex(r.tdAttributes), a.hex.td_attributes);
          assert.equal(hex(r.xfam), a.hex.xfam);
          assert.equal(hex(r.mrSignerSeam), a.hex.mrsignerseam);
          assert.equal(hex(r.reportData), a.hex.report_data);
          if (a.body === "td15") {
            assert.equal(hex(r.teeTcbSvn2!), a.hex.tee_tcb_svn2);
            assert.equal(hex(r.mrServiceTd!), a.hex.mrservicetd);
          } else {
            assert.equal(r.teeTcbSvn2, null);
            assert.equal(r.mrServiceTd, null);
          }
          assert.equal(q.header.qeSvn, 0);
          assert.equal(q.header.pceSvn, 0);
        }
      }
      const pck = parsePckExtensions(q.pckChain[0]!);
      assert.equal(pck.fmspc, a.pck.fmspc);
      assert.equal(pck.pceId, a.pck.pceid);
      assert.equal(pck.pceSvn, a.pck.pcesvn);
      assert.deepEqual(pck.tcbComponents, a.pck.tcb);
      assert.equal(pck.sgxType, ["standard", "scalable", "scalable-with-integrity"][a.pck.sgxType]);
      assert.equal(pck.ca, v.ca);
      assert.equal(pck.ppid.length, 16);
      assert.equal(pck.cpuSvn.length, 16);
    });
  }

  it("a quote with trailing bytes is refused by default, and the message says so plainly", () => {
    for (const v of QUOTE_VECTORS.filter((x) => x.trailing > 0)) {
      const msg = throwsCode(() => parseDcapQuote(readVector(v.file)), "dcap.quote.trailing");
      assert.match(msg, new RegExp(`got ${v.trailing} trailing byte\\(s\\) after it`));
      assert.match(msg, /allowTrailing/);
    }
  });

  it("allowTrailing returns the trailing bytes as they are (the go-tdx-guest note)", () => {
    const q = parseDcapQuote(readVector(quoteVector("tdx/gtg-v4-50806f000000-spr-e4").file), {
      allowTrailing: true,
    });
    assert.equal(new TextDecoder().decode(q.trailing), "\nextra bytes(only for testing purpose)\n");
  });

  it("the EPPID quote (certification data type 3) is refused: no PCK chain, cannot be verified offline", () => {
    const msg = throwsCode(
      () => parseDcapQuote(readVector("sgx/oasis-v3-00606a000000/quote_v3_ecdsa_p256_eppid.bin")),
      "dcap.quote.cert_data_type",
    );
    assert.match(
      msg,
      /got 3 \(PPID encrypted with RSA-3072-OAEP: it carries no PCK certificate chain/,
    );
  });

  it("the builder used by the malformed tables gives every real quote back byte for byte", () => {
    for (const v of QUOTE_VECTORS) {
      const bytes = readVector(v.file);
      assert.deepEqual(build(partsOf(bytes)), bytes, v.id);
    }
  });

  it("keeps private copies: changing the input afterwards changes nothing", () => {
    const bytes = new Uint8Array(V3);
    const q = parseDcapQuote(bytes);
    const before = hex(q.signedBytes);
    bytes.fill(0);
    assert.equal(hex(q.signedBytes), before);
    assert.notEqual(hex(q.quoteSignature), hex(new Uint8Array(64)));
  });

  it("reads a subarray of a larger buffer at its own offsets", () => {
    const big = cat(new Uint8Array(7), V4, new Uint8Array(5));
    const q = parseDcapQuote(big.subarray(7, 7 + V4.length));
    assert.deepEqual(q.signedBytes, V4.subarray(0, QUOTE_HEADER_SIZE + TD10_BODY_SIZE));
  });

  it("the chain may come without its NUL, and each certificate is the DER of its PEM block", () => {
    const chain = TEXT.encode(pemBlocks(P3.chain).join(""));
    const q = parseDcapQuote(build({ ...P3, chain }));
    const withNul = parseDcapQuote(V3);
    assert.deepEqual(q.pckChain, withNul.pckChain);
    assert.equal(withNul.pckChain[0]![0], 0x30);
  });

  it("SGX quotes in the v4 and v5 layouts (no real one exists) parse with their SGX body", () => {
    const sgx4: Parts = { ...P3, version: 4, header: P4.header, outerType: 6 };
    const q4 = parseDcapQuote(build(sgx4));
    assert.equal(q4.header.teeType, "sgx");
    assert.equal(q4.body.tee, "sgx");
    assert.deepEqual(q4.qeReportRaw, P3.qeReport);
    const q5 = parseDcapQuote(build({ ...sgx4, version: 5, bodyType: 1 }));
    assert.equal(q5.body.tee, "sgx");
    assert.equal(q5.signedBytes.length, QUOTE_HEADER_SIZE + 6 + SGX_REPORT_BODY_SIZE);
    assert.deepEqual(sgxBody(q5).mrEnclave, sgxBody(parseDcapQuote(V3)).mrEnclave);
  });

  it("a TDX v5 quote with a TD 1.0 body (type 2) parses as td10", () => {
    const q = parseDcapQuote(
      build({ ...P5, bodyType: 2, body: P5.body.subarray(0, TD10_BODY_SIZE) }),
    );
    assert.equal(q.body.tee === "tdx" && q.body.report.kind, "td10");
  });
});

describe("parseDcapQuote: malformed input", () => {
  /** The boundaries of each structure of a quote, as [offset, what]. */
  function boundaries(p: Parts): [number, string][] {
    const out: [number, string][] = [];
    let at = 0;
    const mark = (n: number, what: string) => {
      out.push([at, `start of ${what}`], [at + n - 1, `last byte of ${what}`]);
      at += n;
    };
    mark(QUOTE_HEADER_SIZE, "header");
    if (p.version === 5) mark(6, "body descriptor");
    mark(p.body.length, "body");
    mark(4, "signature data length");
    mark(64, "quote signature");
    mark(64, "attestation key");
    if (p.outerType !== null) mark(6, "type-6 header");
    mark(384, "QE report");
    mark(64, "QE report signature");
    mark(2, "QE auth data size");
    mark(p.auth.length, "QE auth data");
    mark(6, "type-5 header");
    mark(p.chain.length, "PCK chain");
    return out;
  }
  for (const [name, bytes, parts] of [
    ["SGX v3", V3, P3],
    ["TDX v4", V4, P4],
    ["TDX v5", V5, P5],
  ] as const) {
    const sigAt = QUOTE_HEADER_SIZE + (parts.version === 5 ? 6 : 0) + parts.body.length + 4;
    for (const [cut, what] of boundaries(parts)) {
      // Before the signature data length is complete the quote is too short;
      // after it, the declared length overflows what the buffer holds.
      const code = cut < sigAt ? "dcap.quote.size" : "dcap.quote.length";
      it(`${name} truncated to ${cut} bytes (${what}) → ${code}`, () => {
        throwsCode(() => parseDcapQuote(bytes.subarray(0, cut)), code);
      });
    }
  }

  const table: [string, () => Uint8Array, string, RegExp?][] = [
    ["empty", () => new Uint8Array(), "dcap.quote.size", /got 0 bytes/],
    ["version 2", () => build({ ...P3, version: 2 }), "dcap.quote.version", /got 2$/],
    ["version 6", () => build({ ...P4, version: 6 }), "dcap.quote.version"],
    [
      "key type 3 (P-384)",
      () => build({ ...P3, keyType: 3 }),
      "dcap.quote.key_type",
      /P-384, not supported/,
    ],
    ["key type 0", () => build({ ...P4, keyType: 0 }), "dcap.quote.key_type"],
    [
      "v3 with TEE type 0x81",
      () => build({ ...P3, teeType: 0x81 }),
      "dcap.quote.tee_type",
      /reserved in quote v3/,
    ],
    ["v4 TEE type 0x80", () => build({ ...P4, teeType: 0x80 }), "dcap.quote.tee_type", /got 0x80/],
    ["v5 TEE type 1", () => build({ ...P5, teeType: 1 }), "dcap.quote.tee_type"],
    [
      "v4 header bytes 8–11 non-zero",
      () => {
        const header = new Uint8Array(P4.header);
        header[10] = 0x0d;
        return build({ ...P4, header });
      },
      "dcap.quote.reserved",
      /0x00A=0d/,
    ],
    ["v5 body type 4", () => build({ ...P5, bodyType: 4 }), "dcap.quote.body_type", /got 4$/],
    ["v5 body type 0", () => build({ ...P5, bodyType: 0 }), "dcap.quote.body_type"],
    [
      "v5 TDX with body type 1 (SGX)",
      () => build({ ...P5, bodyType: 1 }),
      "dcap.quote.body_type",
      /\(SGX enclave report\)/,
    ],
    [
      "v5 SGX with body type 3 (TD 1.5)",
      () => build({ ...P5, teeType: 0 }),
      "dcap.quote.body_type",
      /expected body type 1/,
    ],
    [
      "v5 body type 3 with size 584",
      () => build({ ...P5, bodySize: 584 }),
      "dcap.quote.body_type",
      /expected body size 648/,
    ],
    ["v5 truncated in the body descriptor", () => V5.subarray(0, 52), "dcap.quote.size"],
    ...[20, 31, 96, 127, 160, 191, 262, 303].map(
      (o): [string, () => Uint8Array, string, RegExp] => [
        `SGX enclave REPORT_BODY reserved byte ${o} non-zero`,
        () => {
          const body = new Uint8Array(P3.body);
          body[o] = 1;
          return build({ ...P3, body });
        },
        "dcap.quote.reserved",
        /enclave REPORT_BODY reserved/,
      ],
    ),
    ...[20, 303].map((o): [string, () => Uint8Array, string, RegExp] => [
      `QE REPORT_BODY reserved byte ${o} non-zero (v4)`,
      () => {
        const qeReport = new Uint8Array(P4.qeReport);
        qeReport[o] = 0xff;
        return build({ ...P4, qeReport });
      },
      "dcap.quote.reserved",
      /QE REPORT_BODY reserved/,
    ]),
    [
      "every reserved byte non-zero: eight named, the rest counted",
      () => {
        const body = new Uint8Array(P3.body);
        body.fill(1, 96, 128);
        return build({ ...P3, body });
      },
      "dcap.quote.reserved",
      /and 24 more/,
    ],
    [
      "v3 signature data length past the end",
      () => build({ ...P3, sigLength: 1_000_000 }),
      "dcap.quote.length",
      /declares 1000000 bytes/,
    ],
    [
      "v4 signature data length one short",
      () => build({ ...P4, sigLength: 4299, trailing: new Uint8Array(1) }),
      "dcap.quote.length",
    ],
    [
      "v3 signature data length shorter than its fixed fields",
      () => build({ ...P3, sigLength: 100 }),
      "dcap.quote.length",
      /expected 64 bytes of attestation key \(x ‖ y\) at 0x1F4, but the signature data has only 36 left/,
    ],
    [
      "v4 type-6 size shorter than the QE report",
      () => build({ ...P4, outerSize: 10 }),
      "dcap.quote.length",
      /expected 384 bytes of QE REPORT_BODY .* the QE report certification data \(type 6\) has only 10 left/,
    ],
    [
      "v3 signature data with a byte of slack",
      () => build({ ...P3, sigSlack: new Uint8Array(1) }),
      "dcap.quote.length",
      /runs 1 bytes further/,
    ],
    [
      "v4 signature data with slack after type 6",
      () => build({ ...P4, sigSlack: new Uint8Array(3) }),
      "dcap.quote.length",
    ],
    [
      "v4 type-6 record with slack",
      () => build({ ...P4, outerSlack: new Uint8Array(2) }),
      "dcap.quote.length",
      /QE report certification data/,
    ],
    [
      "v4 type-6 size past the signature data",
      () => build({ ...P4, outerSize: 5000 }),
      "dcap.quote.length",
    ],
    [
      "v3 QE auth data size past the signature data",
      () => build({ ...P3, authSize: 0xffff }),
      "dcap.quote.length",
      /QE authentication data/,
    ],
    [
      "v4 QE auth data size past the type-6 record",
      () => build({ ...P4, authSize: 0x2000 }),
      "dcap.quote.length",
    ],
    [
      "v3 type-5 size past the signature data",
      () => build({ ...P3, innerSize: P3.chain.length + 1 }),
      "dcap.quote.length",
    ],
    [
      "v5 type-5 size past the type-6 record",
      () => build({ ...P5, innerSize: 0xffffffff }),
      "dcap.quote.length",
    ],
    [
      "v4 outer certification data type 5 (no QE report wrapper)",
      () => build({ ...P4, outerType: 5 }),
      "dcap.quote.cert_data_type",
      /expected certification data type 6/,
    ],
    [
      "v4 inner certification data type 6",
      () => build({ ...P4, innerType: 6 }),
      "dcap.quote.cert_data_type",
      /got 6 \(QE report certification data\)/,
    ],
    [
      "v3 certification data type 4 (leaf only)",
      () => build({ ...P3, innerType: 4 }),
      "dcap.quote.cert_data_type",
      /cannot be verified offline/,
    ],
    [
      "v3 certification data type 1",
      () => build({ ...P3, innerType: 1 }),
      "dcap.quote.cert_data_type",
    ],
    [
      "v5 certification data type 7",
      () => build({ ...P5, innerType: 7 }),
      "dcap.quote.cert_data_type",
      /platform manifest/,
    ],
    [
      "v3 certification data type 9 (unknown)",
      () => build({ ...P3, innerType: 9 }),
      "dcap.quote.cert_data_type",
      /an unknown type/,
    ],
    [
      "trailing zero bytes",
      () => build({ ...P3, trailing: new Uint8Array(5) }),
      "dcap.quote.trailing",
      /got 5 trailing byte\(s\) after it \(all zero\)/,
    ],
    [
      "trailing text",
      () => build({ ...P5, trailing: TEXT.encode("x".repeat(20)) }),
      "dcap.quote.trailing",
      /starting 7878.*…/,
    ],
    [
      "one trailing byte",
      () => build({ ...P4, trailing: new Uint8Array([7]) }),
      "dcap.quote.trailing",
      /starting 07\)/,
    ],
  ];
  for (const [name, make, code, message] of table) {
    it(`${name} → ${code}`, () => {
      const msg = throwsCode(() => parseDcapQuote(make()), code);
      if (message) assert.match(msg, message);
    });
  }

  // The PCK chain (certification data type 5): three PEM certificates, one optional NUL.
  const blocks = pemBlocks(P3.chain);
  const chainOf = (s: string, nul = true) => cat(TEXT.encode(s), new Uint8Array(nul ? [0] : []));
  const pemTable: [string, Uint8Array, RegExp][] = [
    ["two certificates", chainOf(blocks.slice(0, 2).join("")), /got 2$/],
    ["four certificates", chainOf([...blocks, blocks[2]!].join("")), /got 4$/],
    ["empty", new Uint8Array(), /got 0$/],
    ["only a NUL", new Uint8Array([0]), /got 0$/],
    ["two NULs", cat(P3.chain, new Uint8Array([0])), /byte 0x00 that is not PEM text/],
    ["a NUL between blocks", chainOf(`${blocks[0]}\0${blocks[1]}${blocks[2]}`), /byte 0x00/],
    ["a non-ASCII byte", chainOf(`${blocks[0]}é${blocks[1]}${blocks[2]}`), /byte 0xc3/],
    [
      "text before the first block",
      chainOf(`chain:\n${blocks.join("")}`),
      /"chain:\\n-----BEGIN CE" at 0x41C/,
    ],
    [
      "no END line",
      chainOf(blocks.join("").replace(/-----END CERTIFICATE-----\n?$/, "")),
      /no "-----END CERTIFICATE-----"/,
    ],
    [
      "a private key block",
      chainOf(`${blocks.join("")}-----BEGIN PRIVATE KEY-----\nAA==\n-----END PRIVATE KEY-----\n`),
      /where "-----BEGIN CERTIFICATE-----" should start/,
    ],
    [
      "a base64 character outside the alphabet",
      chainOf(blocks.join("").replace(/MII/, "M*I")),
      /certificate 1 whose body is not base64/,
    ],
    [
      "base64 of a length not a multiple of 4",
      chainOf(blocks.join("").replace(/MII/, "MIIA")),
      /not base64/,
    ],
    ["padding in the middle", chainOf(blocks.join("").replace(/MII/, "M=I")), /not base64/],
    [
      "an empty block",
      chainOf(`-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n${blocks.join("")}`),
      /certificate 1 whose body is not base64/,
    ],
    [
      "DER that is not a SEQUENCE",
      chainOf(`-----BEGIN CERTIFICATE-----\nAgEB\n-----END CERTIFICATE-----\n${blocks.join("")}`),
      /tag 0x2/,
    ],
    [
      "DER with a trailing byte",
      chainOf(`-----BEGIN CERTIFICATE-----\nMAAA\n-----END CERTIFICATE-----\n${blocks.join("")}`),
      /1 trailing byte/,
    ],
    [
      "DER with a length past its end",
      chainOf(`-----BEGIN CERTIFICATE-----\nMAUA\n-----END CERTIFICATE-----\n${blocks.join("")}`),
      /claims 5 bytes/,
    ],
  ];
  for (const [name, chain, message] of pemTable) {
    it(`PCK chain: ${name} → dcap.quote.pem`, () => {
      assert.match(
        throwsCode(() => parseDcapQuote(build({ ...P3, chain })), "dcap.quote.pem"),
        message,
      );
    });
  }
  it("PCK chain: the go-tdx-guest tampered chain (byte 0x1343) → dcap.quote.pem", () => {
    throwsCode(
      () =>
        parseDcapQuote(
          readVector("tdx/gtg-v4-50806f000000-spr-e4/tampered/certchain_byte_0x1343.dat"),
          { allowTrailing: true },
        ),
      "dcap.quote.pem",
    );
  });

  // go-tdx-guest's TestNegativeVerification cases that break the structure (README "tdx/gtg…").
  for (const [file, code] of [
    ["version_3_0x0.dat", "dcap.quote.tee_type"],
    ["sigdata_size_0x278.dat", "dcap.quote.length"],
  ] as const) {
    it(`tampered ${file} → ${code}`, () => {
      throwsCode(
        () =>
          parseDcapQuote(readVector(`tdx/gtg-v4-50806f000000-spr-e4/tampered/${file}`), {
            allowTrailing: true,
          }),
        code,
      );
    });
  }
});

// ── parsePckExtensions: a strict DER walk ─────────────────────────────────────

/** DER TLV with a minimal length. */
function tlv(tag: number, ...content: Uint8Array[]): Uint8Array {
  const c = cat(...content);
  const n = c.length;
  const head = n < 0x80 ? [tag, n] : n < 0x100 ? [tag, 0x81, n] : [tag, 0x82, n >> 8, n & 0xff];
  return cat(new Uint8Array(head), c);
}
function oid(s: string): Uint8Array {
  const arcs = s.split(".").map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const g = [arc & 0x7f];
    for (let a = arc >>> 7; a > 0; a >>>= 7) g.unshift((a & 0x7f) | 0x80);
    out.push(...g);
  }
  return tlv(0x06, new Uint8Array(out));
}
function int(n: number): Uint8Array {
  const body: number[] = [];
  let v = n;
  do {
    body.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (body[0]! & 0x80) body.unshift(0);
  return tlv(0x02, new Uint8Array(body));
}
const seq = (...c: Uint8Array[]) => tlv(0x30, ...c);
const octets = (n: number, fill = 0x11) => tlv(0x04, new Uint8Array(n).fill(fill));
const SGX = "1.2.840.113741.1.13.1";
const pair = (sub: string, value: Uint8Array) => seq(oid(`${SGX}.${sub}`), value);

interface PckSpec {
  /** SGX extension entries (default: a complete platform PCK's). */
  entries?: Uint8Array[];
  tcb?: Uint8Array[];
  /** The SGX extension's extnValue content (default: SEQUENCE of entries). */
  value?: Uint8Array;
  /** Extensions (default: one SGX extension). */
  extensions?: Uint8Array[];
  issuerCn?: Uint8Array[] | null;
  /** tbsCertificate elements after the subjectPublicKeyInfo (default: [3] extensions). */
  tail?: Uint8Array[];
  /** Leave out the [0] version field. */
  noVersion?: boolean;
}

function tcbEntries(over: Record<number, Uint8Array | null> = {}): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let k = 1; k <= 18; k++) {
    const v =
      k in over ? over[k] : k <= 16 ? int(k === 5 ? 255 : k) : k === 17 ? int(13) : octets(16, 7);
    if (v) out.push(pair(`2.${k}`, v));
  }
  return out;
}

function sgxEntries(
  over: Record<number, Uint8Array | null> = {},
  tcb = tcbEntries(),
): Uint8Array[] {
  const defaults: Record<number, Uint8Array> = {
    1: octets(16, 0x99),
    2: seq(...tcb),
    3: octets(2, 0),
    4: tlv(0x04, new Uint8Array([0x00, 0x60, 0x6a, 0, 0, 0])),
    5: tlv(0x0a, new Uint8Array([1])),
    6: octets(16, 0x66),
    7: seq(
      pair("7.1", tlv(0x01, new Uint8Array([0xff]))),
      pair("7.2", tlv(0x01, new Uint8Array([0]))),
      pair("7.3", tlv(0x01, new Uint8Array([0]))),
    ),
  };
  const out: Uint8Array[] = [];
  for (let k = 1; k <= 7; k++) {
    const v = k in over ? over[k] : defaults[k]!;
    if (v) out.push(pair(String(k), v));
  }
  return out;
}

function cnName(...cns: Uint8Array[]): Uint8Array {
  return seq(
    ...cns.map((cn) => tlv(0x31, seq(oid("2.5.4.3"), cn))),
    tlv(0x31, seq(oid("2.5.4.10"), tlv(0x0c, TEXT.encode("Intel Corporation")))),
  );
}
const utf8 = (s: string) => tlv(0x0c, TEXT.encode(s));

/** A certificate-shaped DER (never signed: the parser reads, it does not verify). */
function pckDer(spec: PckSpec = {}): Uint8Array {
  const value = spec.value ?? seq(...(spec.entries ?? sgxEntries({}, spec.tcb ?? tcbEntries())));
  const exts = spec.extensions ?? [
    seq(oid("2.5.29.19"), tlv(0x01, new Uint8Array([0xff])), tlv(0x04, seq())),
    seq(oid(SGX), tlv(0x04, value)),
  ];
  const alg = seq(oid("1.2.840.10045.4.3.2"));
  const issuer =
    spec.issuerCn === null
      ? cnName()
      : cnName(...(spec.issuerCn ?? [utf8("Intel SGX PCK Platform CA")]));
  const tbs = seq(
    ...(spec.noVersion ? [] : [tlv(0xa0, int(2))]),
    int(0x1234),
    alg,
    issuer,
    seq(tlv(0x17, TEXT.encode("250101000000Z")), tlv(0x17, TEXT.encode("320101000000Z"))),
    cnName(utf8("Intel SGX PCK Certificate")),
    seq(seq(oid("1.2.840.10045.2.1"), oid("1.2.840.10045.3.1.7")), tlv(0x03, new Uint8Array(66))),
    ...(spec.tail ?? [tlv(0xa3, seq(...exts))]),
  );
  return seq(tbs, alg, tlv(0x03, new Uint8Array(9)));
}

describe("parsePckExtensions", () => {
  it("reads a well-formed certificate-shaped DER built from LAYOUTS.md §2.8", () => {
    const p = parsePckExtensions(pckDer());
    assert.deepEqual(p.tcbComponents, [1, 2, 3, 4, 255, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    assert.equal(p.pceSvn, 13);
    assert.equal(hex(p.cpuSvn), "07".repeat(16));
    assert.equal(hex(p.ppid), "99".repeat(16));
    assert.equal(p.pceId, "0000");
    assert.equal(p.fmspc, "00606a000000");
    assert.equal(p.sgxType, "scalable");
    assert.equal(p.ca, "platform");
  });

  it("accepts a processor PCK (no PlatformInstanceID, no Configuration), a PrintableString CN, SGX type 2, PCESVN 65535", () => {
    const p = parsePckExtensions(
      pckDer({
        entries: sgxEntries(
          { 5: tlv(0x0a, new Uint8Array([2])), 6: null, 7: null },
          tcbEntries({ 17: int(65535) }),
        ),
        issuerCn: [tlv(0x13, TEXT.encode("Intel SGX PCK Processor CA"))],
      }),
    );
    assert.equal(p.ca, "processor");
    assert.equal(p.sgxType, "scalable-with-integrity");
    assert.equal(p.pceSvn, 65535);
  });

  it("accepts a v1-style tbsCertificate without [0] version, and SGX fields in any order", () => {
    const spec: PckSpec = { entries: [...sgxEntries()].reverse(), noVersion: true };
    assert.equal(parsePckExtensions(pckDer(spec)).fmspc, "00606a000000");
  });

  it("reads every real PCK certificate of the vectors (platform and processor)", () => {
    const cas = new Set<string>();
    for (const v of QUOTE_VECTORS) {
      const q = parseDcapQuote(readVector(v.file), { allowTrailing: true });
      cas.add(parsePckExtensions(q.pckChain[0]!).ca);
      // The CA and root certificates carry no SGX extension.
      throwsCode(() => parsePckExtensions(q.pckChain[1]!), "dcap.pck.extension");
    }
    assert.deepEqual([...cas].sort(), ["platform", "processor"]);
  });

  const ext = (entries: Uint8Array[]) => pckDer({ entries });
  const tcb = (over: Record<number, Uint8Array | null>) => pckDer({ tcb: tcbEntries(over) });
  const table: [string, Uint8Array, string, RegExp?][] = [
    // DER framing
    ["empty", new Uint8Array(), "dcap.pck.der", /truncated header/],
    ["a trailing byte", cat(pckDer(), new Uint8Array(1)), "dcap.pck.der", /1 trailing byte/],
    ["indefinite length", new Uint8Array([0x30, 0x80, 0, 0]), "dcap.pck.der", /indefinite/],
    [
      "non-minimal length 0x81 0x05",
      new Uint8Array([0x30, 0x81, 0x05, 0, 0, 0, 0, 0]),
      "dcap.pck.der",
      /non-minimal/,
    ],
    [
      "non-minimal length 0x82 0x00 …",
      new Uint8Array([0x30, 0x82, 0x00, 0x85]),
      "dcap.pck.der",
      /non-minimal/,
    ],
    [
      "a 4-byte length",
      new Uint8Array([0x30, 0x84, 0, 0, 0, 1, 0]),
      "dcap.pck.der",
      /4-byte length/,
    ],
    ["a truncated length", new Uint8Array([0x30, 0x82, 0x01]), "dcap.pck.der", /truncated length/],
    ["a high tag number", new Uint8Array([0x1f, 0x01, 0x00]), "dcap.pck.der", /high tag/],
    ["a length past the end", new Uint8Array([0x30, 0x05, 0]), "dcap.pck.der", /claims 5 bytes/],
    ["not a SEQUENCE", tlv(0x31), "dcap.pck.der", /Certificate SEQUENCE/],
    ["Certificate with 2 elements", seq(seq(), seq()), "dcap.pck.der", /got 2/],
    [
      "tbsCertificate not a SEQUENCE",
      seq(tlv(0x31), seq(), tlv(0x03, new Uint8Array(1))),
      "dcap.pck.der",
      /tbsCertificate/,
    ],
    [
      "tbsCertificate empty",
      seq(seq(), seq(), tlv(0x03, new Uint8Array(1))),
      "dcap.pck.der",
      /serialNumber.*got nothing/,
    ],
    ["no extensions", pckDer({ tail: [] }), "dcap.pck.der", /extensions \(\[3\]\).*got nothing/],
    [
      "extensions not last",
      pckDer({ tail: [tlv(0xa3, seq()), tlv(0x82, new Uint8Array(1))] }),
      "dcap.pck.der",
      /got tag 0xa3, tag 0x82/,
    ],
    [
      "a stray INTEGER before the extensions",
      pckDer({ tail: [int(1), tlv(0xa3, seq(seq(oid(SGX), tlv(0x04, seq(...sgxEntries())))))] }),
      "dcap.pck.der",
      /got tag 0x2, tag 0xa3/,
    ],
    [
      "subjectUniqueID after issuerUniqueID, then extensions: accepted",
      pckDer({
        tail: [
          tlv(0x81, new Uint8Array([0, 1])),
          tlv(0x82, new Uint8Array([0, 2])),
          tlv(0xa3, seq(seq(oid(SGX), tlv(0x04, seq(...sgxEntries()))))),
        ],
      }),
      "",
    ],
    [
      "subjectUniqueID before issuerUniqueID",
      pckDer({
        tail: [
          tlv(0x82, new Uint8Array([0, 2])),
          tlv(0x81, new Uint8Array([0, 1])),
          tlv(0xa3, seq(seq(oid(SGX), tlv(0x04, seq(...sgxEntries()))))),
        ],
      }),
      "dcap.pck.der",
      /got tag 0x81, tag 0xa3/,
    ],
    [
      "[3] holding two SEQUENCEs",
      pckDer({ tail: [tlv(0xa3, seq(), seq())] }),
      "dcap.pck.der",
      /one Extensions SEQUENCE/,
    ],
    [
      "an extension that is not a SEQUENCE",
      pckDer({ extensions: [tlv(0x31)] }),
      "dcap.pck.der",
      /Extension SEQUENCE/,
    ],
    [
      "an extension without an OID",
      pckDer({ extensions: [seq(int(1))] }),
      "dcap.pck.der",
      /extnID/,
    ],
    [
      "SGX extension value not an OCTET STRING",
      pckDer({ extensions: [seq(oid(SGX), seq())] }),
      "dcap.pck.der",
      /extnValue OCTET STRING/,
    ],
    [
      "SGX extension whose critical flag is not a BOOLEAN",
      pckDer({ extensions: [seq(oid(SGX), int(1), tlv(0x04, seq(...sgxEntries())))] }),
      "dcap.pck.der",
      /\[critical\]/,
    ],
    [
      "SGX extension with a 2-byte critical BOOLEAN",
      pckDer({
        extensions: [
          seq(oid(SGX), tlv(0x01, new Uint8Array([0xff, 0])), tlv(0x04, seq(...sgxEntries()))),
        ],
      }),
      "dcap.pck.der",
      /\[critical\]/,
    ],
    [
      "SGX extension with only its OID",
      pckDer({ extensions: [seq(oid(SGX))] }),
      "dcap.pck.der",
      /extnValue/,
    ],
    [
      "issuer RDN not a SET",
      replaceIssuer(seq(seq(oid("2.5.4.3"), utf8("Intel SGX PCK Platform CA")))),
      "dcap.pck.der",
      /expected a SET/,
    ],
    [
      "issuer attribute not a SEQUENCE { OID, value }",
      replaceIssuer(seq(tlv(0x31, seq(int(1))))),
      "dcap.pck.der",
      /AttributeTypeAndValue/,
    ],
    [
      "issuer CN as an IA5String",
      pckDer({ issuerCn: [tlv(0x16, TEXT.encode("Intel SGX PCK Platform CA"))] }),
      "dcap.pck.der",
      /UTF8String or PrintableString/,
    ],
    // the SGX extension
    [
      "no SGX extension",
      pckDer({ extensions: [seq(oid("2.5.29.19"), tlv(0x04, seq()))] }),
      "dcap.pck.extension",
      /got none/,
    ],
    [
      "the SGX extension twice",
      pckDer({
        extensions: [
          seq(oid(SGX), tlv(0x04, seq(...sgxEntries()))),
          seq(oid(SGX), tlv(0x04, seq(...sgxEntries()))),
        ],
      }),
      "dcap.pck.extension",
      /twice/,
    ],
    [
      "the SGX extension marked critical is still read",
      pckDer({
        extensions: [
          seq(oid(SGX), tlv(0x01, new Uint8Array([0xff])), tlv(0x04, seq(...sgxEntries()))),
        ],
      }),
      "",
      undefined,
    ],
    [
      "extension value not a SEQUENCE",
      pckDer({ value: tlv(0x31) }),
      "dcap.pck.extension",
      /not exactly one SEQUENCE/,
    ],
    [
      "extension value with a trailing byte",
      pckDer({ value: cat(seq(...sgxEntries()), new Uint8Array([0])) }),
      "dcap.pck.extension",
      /not exactly one SEQUENCE/,
    ],
    [
      "extension value not DER",
      pckDer({ value: new Uint8Array([0x30, 0x80]) }),
      "dcap.pck.der",
      /indefinite/,
    ],
    [
      "an unknown field .8",
      ext([...sgxEntries(), pair("8", int(1))]),
      "dcap.pck.extension",
      /unknown field 1\.2\.840\.113741\.1\.13\.1\.8/,
    ],
    [
      "FMSPC twice",
      ext([...sgxEntries(), pair("4", octets(6))]),
      "dcap.pck.extension",
      /FMSPC twice/,
    ],
    [
      "an entry that is not a SEQUENCE",
      ext([...sgxEntries(), int(1)]),
      "dcap.pck.extension",
      /SEQUENCE \{ OID under its arc, value \}/,
    ],
    [
      "an entry with three elements",
      ext([...sgxEntries(), seq(oid(`${SGX}.8`), int(1), int(2))]),
      "dcap.pck.extension",
      /SEQUENCE \{ OID/,
    ],
    [
      "an entry outside the SGX arc",
      ext([...sgxEntries(), seq(oid("1.2.840.113741.1.13.2.1"), int(1))]),
      "dcap.pck.extension",
      /OID under its arc/,
    ],
    [
      "an entry two arcs below",
      ext([...sgxEntries(), seq(oid(`${SGX}.1.1`), int(1))]),
      "dcap.pck.extension",
      /OID under its arc/,
    ],
    [
      "an entry whose arc is ≥ 128",
      ext([...sgxEntries(), seq(oid(`${SGX}.200`), int(1))]),
      "dcap.pck.extension",
      /OID under its arc/,
    ],
    [
      "an entry whose first element is not an OID",
      ext([...sgxEntries(), seq(int(1), int(1))]),
      "dcap.pck.extension",
      /OID under its arc/,
    ],
    ["no PPID", ext(sgxEntries({ 1: null })), "dcap.pck.extension", /got no PPID/],
    ["no TCB", ext(sgxEntries({ 2: null })), "dcap.pck.extension", /got no TCB/],
    ["no PCE-ID", ext(sgxEntries({ 3: null })), "dcap.pck.extension", /got no PCE-ID/],
    ["no FMSPC", ext(sgxEntries({ 4: null })), "dcap.pck.extension", /got no FMSPC/],
    ["no SGX Type", ext(sgxEntries({ 5: null })), "dcap.pck.extension", /got no SGX Type/],
    [
      "PPID of 15 bytes",
      ext(sgxEntries({ 1: octets(15) })),
      "dcap.pck.extension",
      /PPID as a 16-byte OCTET STRING, got tag 0x4 with 15 bytes/,
    ],
    ["FMSPC of 7 bytes", ext(sgxEntries({ 4: octets(7) })), "dcap.pck.extension", /FMSPC/],
    [
      "PCE-ID as an INTEGER",
      ext(sgxEntries({ 3: int(0) })),
      "dcap.pck.extension",
      /PCE-ID.*got tag 0x2/,
    ],
    [
      "SGX Type 3",
      ext(sgxEntries({ 5: tlv(0x0a, new Uint8Array([3])) })),
      "dcap.pck.extension",
      /SGX Type 3/,
    ],
    [
      "SGX Type as an INTEGER",
      ext(sgxEntries({ 5: int(0) })),
      "dcap.pck.extension",
      /not ENUMERATED/,
    ],
    ["SGX Type empty", ext(sgxEntries({ 5: tlv(0x0a) })), "dcap.pck.extension", /an empty one/],
    [
      "PlatformInstanceID of 8 bytes",
      ext(sgxEntries({ 6: octets(8) })),
      "dcap.pck.extension",
      /PlatformInstanceID/,
    ],
    [
      "Configuration not a SEQUENCE",
      ext(sgxEntries({ 7: tlv(0x01, new Uint8Array([0])) })),
      "dcap.pck.extension",
      /Configuration that is not a SEQUENCE/,
    ],
    [
      "Configuration field .7.4",
      ext(sgxEntries({ 7: seq(pair("7.4", tlv(0x01, new Uint8Array([0])))) })),
      "dcap.pck.extension",
      /\.7\.4/,
    ],
    [
      "Configuration field not a BOOLEAN",
      ext(sgxEntries({ 7: seq(pair("7.1", int(1))) })),
      "dcap.pck.extension",
      /not a BOOLEAN/,
    ],
    [
      "Configuration BOOLEAN of 2 bytes",
      ext(sgxEntries({ 7: seq(pair("7.2", tlv(0x01, new Uint8Array([0, 0])))) })),
      "dcap.pck.extension",
      /not a BOOLEAN/,
    ],
    [
      "Configuration field .7.0",
      ext(sgxEntries({ 7: seq(pair("7.0", tlv(0x01, new Uint8Array([0])))) })),
      "dcap.pck.extension",
      /\.7\.0/,
    ],
    // the TCB
    [
      "TCB not a SEQUENCE",
      ext(sgxEntries({ 2: octets(3) })),
      "dcap.pck.extension",
      /not a SEQUENCE/,
    ],
    ["TCB component 16 missing", tcb({ 16: null }), "dcap.pck.extension", /got no field \.2\.16/],
    ["TCB PCESVN missing", tcb({ 17: null }), "dcap.pck.extension", /got no field \.2\.17/],
    ["TCB CPUSVN missing", tcb({ 18: null }), "dcap.pck.extension", /got no field \.2\.18/],
    [
      "TCB field .2.19",
      pckDer({ tcb: [...tcbEntries(), pair("2.19", int(0))] }),
      "dcap.pck.extension",
      /unknown field \.2\.19/,
    ],
    [
      "TCB field .2.0",
      pckDer({ tcb: [...tcbEntries(), pair("2.0", int(0))] }),
      "dcap.pck.extension",
      /unknown field \.2\.0/,
    ],
    [
      "TCB component 3 twice",
      pckDer({ tcb: [...tcbEntries(), pair("2.3", int(3))] }),
      "dcap.pck.extension",
      /\.2\.3 twice/,
    ],
    [
      "TCB component 256",
      tcb({ 1: int(256) }),
      "dcap.pck.extension",
      /component 1 SVN = 256, above 255/,
    ],
    ["PCESVN 65536", tcb({ 17: int(65536) }), "dcap.pck.extension", /PCESVN = 65536/],
    [
      "a negative component",
      tcb({ 2: tlv(0x02, new Uint8Array([0x80])) }),
      "dcap.pck.extension",
      /a negative one/,
    ],
    [
      "a non-minimal component",
      tcb({ 2: tlv(0x02, new Uint8Array([0x00, 0x05])) }),
      "dcap.pck.extension",
      /a non-minimal one/,
    ],
    ["an empty component", tcb({ 2: tlv(0x02) }), "dcap.pck.extension", /an empty one/],
    [
      "a 5-byte PCESVN",
      tcb({ 17: tlv(0x02, new Uint8Array([1, 0, 0, 0, 0])) }),
      "dcap.pck.extension",
      /a 5-byte one/,
    ],
    [
      "a 4-byte PCESVN",
      tcb({ 17: tlv(0x02, new Uint8Array([1, 0, 0, 0])) }),
      "dcap.pck.extension",
      /a 4-byte one/,
    ],
    [
      "a component as an OCTET STRING",
      tcb({ 4: octets(1) }),
      "dcap.pck.extension",
      /component 4 SVN with tag 0x4, not INTEGER/,
    ],
    ["CPUSVN of 15 bytes", tcb({ 18: octets(15) }), "dcap.pck.extension", /CPUSVN/],
    // the issuer
    [
      "issuer CN another CA",
      pckDer({ issuerCn: [utf8("Intel SGX PCK Test CA")] }),
      "dcap.pck.issuer",
      /got "Intel SGX PCK Test CA"/,
    ],
    ["issuer without a CN", pckDer({ issuerCn: null }), "dcap.pck.issuer", /got no CN/],
    [
      "issuer with two CNs",
      pckDer({ issuerCn: [utf8("Intel SGX PCK Platform CA"), utf8("Intel SGX PCK Platform CA")] }),
      "dcap.pck.issuer",
      /got "Intel SGX PCK Platform CA", "Intel SGX PCK Platform CA"/,
    ],
  ];
  for (const [name, der, code, message] of table) {
    it(`${name} → ${code || "accepted"}`, () => {
      if (code === "") {
        assert.equal(parsePckExtensions(der).fmspc, "00606a000000");
        return;
      }
      const msg = throwsCode(() => parsePckExtensions(der), code);
      if (message) assert.match(msg, message);
    });
  }
});

/** pckDer() with its issuer Name replaced by `name`. */
function replaceIssuer(name: Uint8Array): Uint8Array {
  const der = pckDer();
  const issuer = cnName(utf8("Intel SGX PCK Platform CA"));
  const at = indexOf(der, issuer);
  return rebuildLengths(cat(der.subarray(0, at), name, der.subarray(at + issuer.length)));
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  throw new Error("not found");
}

/**
 * The bytes of a Certificate SEQUENCE { tbs SEQUENCE { … }, alg, sig } whose
 * tbs content changed size: re-encode the two outer headers around the same content.
 */
function rebuildLengths(der: Uint8Array): Uint8Array {
  // Outer header: 30 82 LL LL; tbs header: 30 82 LL LL (both long-form in pckDer()).
  const alg = seq(oid("1.2.840.10045.4.3.2"));
  const sig = tlv(0x03, new Uint8Array(9));
  const tbsContent = der.subarray(8, der.length - alg.length - sig.length);
  return seq(tlv(0x30, tbsContent), alg, sig);
}
