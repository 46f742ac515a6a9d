/**
 * fakeIntel's quotes have the structure of the real ones: a small reader
 * written from ../shared/vectors/LAYOUTS.md §2 walks a real SGX v3 and a real
 * TDX v4 vector and the fakes the same way, and every signature of the fakes
 * verifies with WebCrypto.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import * as x509 from "./_x509.ts";
import { TestkitError } from "./error.ts";
import {
  type FakeIntel,
  fakeIntel,
  SGX_QUOTE_REPORT_DATA_OFFSET,
  TDX_QUOTE_REPORT_DATA_OFFSET,
} from "./intel.ts";

const VECTORS = path.resolve(import.meta.dirname, "../../../../shared/vectors");
const REAL_SGX = path.join(VECTORS, "sgx/dcaprs-v3-00606a000000/derived/quote.bin");
const REAL_TDX = path.join(VECTORS, "tdx/phala-v4-b0c06f000000/tdx_quote");

/** What the reader found: the pieces a verifier needs, at the offsets LAYOUTS.md gives. */
interface Walked {
  version: number;
  attKeyType: number;
  teeType: number;
  bodySize: number;
  signed: Uint8Array;
  reportData: Uint8Array;
  isvSignature: Uint8Array;
  attestationKey: Uint8Array;
  qeReport: Uint8Array;
  qeSignature: Uint8Array;
  qeAuthData: Uint8Array;
  /** [outer type, nested type] for v4 (6, 5); [5] for v3. */
  certTypes: number[];
  pckChain: Uint8Array;
  /** Bytes after the signature data. */
  trailing: number;
}

/** LAYOUTS.md §2.1 (v3) and §2.2 (v4). */
function walk(q: Uint8Array): Walked {
  const v = new DataView(q.buffer, q.byteOffset, q.byteLength);
  const version = v.getUint16(0, true);
  const bodySize = version === 3 ? 384 : 584;
  const sigLenAt = 48 + bodySize;
  const sigLen = v.getUint32(sigLenAt, true);
  let at = sigLenAt + 4;
  const end = at + sigLen;
  assert.ok(end <= q.length, "signature data fits");
  const take = (n: number) => {
    const out = q.subarray(at, at + n);
    at += n;
    return out;
  };
  const isvSignature = take(64);
  const attestationKey = take(64);
  const certTypes: number[] = [];
  if (version === 4) {
    certTypes.push(v.getUint16(at, true));
    const size = v.getUint32(at + 2, true);
    at += 6;
    assert.equal(at + size, end, "type-6 data ends the signature data");
  }
  const qeReport = take(384);
  const qeSignature = take(64);
  const authSize = v.getUint16(at, true);
  at += 2;
  const qeAuthData = take(authSize);
  certTypes.push(v.getUint16(at, true));
  const chainSize = v.getUint32(at + 2, true);
  at += 6;
  const pckChain = take(chainSize);
  assert.equal(at, end, "the PCK chain ends the signature data");
  const rd = version === 3 ? SGX_QUOTE_REPORT_DATA_OFFSET : TDX_QUOTE_REPORT_DATA_OFFSET;
  return {
    version,
    attKeyType: v.getUint16(2, true),
    teeType: v.getUint32(4, true),
    bodySize,
    signed: q.subarray(0, sigLenAt),
    reportData: q.subarray(rd, rd + 64),
    isvSignature,
    attestationKey,
    qeReport,
    qeSignature,
    qeAuthData,
    certTypes,
    pckChain,
    trailing: q.length - end,
  };
}

const ECDSA = { name: "ECDSA", hash: "SHA-256" } as const;
const buf = (b: Uint8Array) => b.slice() as Uint8Array<ArrayBuffer>;

async function attestationPublicKey(raw: Uint8Array): Promise<CryptoKey> {
  const point = new Uint8Array(65);
  point[0] = 0x04;
  point.set(raw, 1);
  return crypto.subtle.importKey("raw", point, { name: "ECDSA", namedCurve: "P-256" }, true, [
    "verify",
  ]);
}

function pemCerts(chain: Uint8Array): x509.X509Certificate[] {
  let end = chain.length;
  while (end > 0 && chain[end - 1] === 0) end--;
  const text = new TextDecoder().decode(chain.subarray(0, end));
  return (text.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map(
    (p) => new x509.X509Certificate(p),
  );
}

/** Every signature and binding of a quote, checked as a verifier would. */
async function assertGenuine(w: Walked): Promise<void> {
  const ak = await attestationPublicKey(w.attestationKey);
  assert.ok(await crypto.subtle.verify(ECDSA, ak, buf(w.isvSignature), buf(w.signed)), "ISV sig");
  const [pck, ca, root] = pemCerts(w.pckChain);
  assert.ok(pck && ca && root, "three certificates");
  const pckKey = await pck.publicKey.export({ name: "ECDSA", namedCurve: "P-256" }, ["verify"]);
  assert.ok(
    await crypto.subtle.verify(ECDSA, pckKey, buf(w.qeSignature), buf(w.qeReport)),
    "QE report signed by the PCK key",
  );
  const binding = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      buf(new Uint8Array([...w.attestationKey, ...w.qeAuthData])),
    ),
  );
  assert.deepEqual(w.qeReport.subarray(320, 352), binding, "QE REPORT_DATA binds the key");
  assert.deepEqual(w.qeReport.subarray(352, 384), new Uint8Array(32));
  assert.ok(await pck.verify({ publicKey: ca }), "PCK signed by the CA");
  assert.ok(await ca.verify({ publicKey: root }), "CA signed by the root");
  assert.ok(await root.verify({ publicKey: root }), "root self-signed");
}

/** The structure a verifier depends on, without the values. */
function shape(w: Walked) {
  return {
    version: w.version,
    attKeyType: w.attKeyType,
    teeType: w.teeType,
    bodySize: w.bodySize,
    authSize: w.qeAuthData.length,
    certTypes: w.certTypes,
    chainCerts: pemCerts(w.pckChain).length,
    chainEndsInNul: w.pckChain.at(-1) === 0,
    qeVendorId: Buffer.from(w.signed.subarray(12, 28)).toString("hex"),
    qeAttributes: Buffer.from(w.qeReport.subarray(48, 64)).toString("hex"),
  };
}

const REPORT_DATA = Uint8Array.from({ length: 64 }, (_, i) => 0x80 + i);

describe("fakeIntel", () => {
  let intel: FakeIntel;
  before(async () => {
    intel = await fakeIntel();
  });

  it("SGX quote v3: the structure of the real dcap-rs vector, genuine signatures", async () => {
    const real = walk(new Uint8Array(fs.readFileSync(REAL_SGX)));
    const fake = walk(await intel.sgxQuote({ reportData: REPORT_DATA }));
    assert.deepEqual(shape(fake), shape(real));
    assert.deepEqual(fake.certTypes, [5]);
    assert.equal(fake.trailing, 0);
    assert.deepEqual(fake.reportData, REPORT_DATA);
    await assertGenuine(fake);
    await assertGenuine(real); // the reader and checks are right on Intel's own quote
  });

  it("TDX quote v4: the structure of the real Phala vector, genuine signatures", async () => {
    const real = walk(new Uint8Array(fs.readFileSync(REAL_TDX)));
    const fake = walk(await intel.tdxQuote({ reportData: REPORT_DATA }));
    assert.deepEqual(shape(fake), shape(real));
    assert.deepEqual(fake.certTypes, [6, 5]);
    assert.equal(fake.trailing, 0);
    assert.deepEqual(fake.reportData, REPORT_DATA);
    await assertGenuine(fake);
    await assertGenuine(real);
  });

  it("SGX overrides land at their LAYOUTS.md §2.4 offsets", async () => {
    const q = await intel.sgxQuote({
      reportData: REPORT_DATA,
      mrenclave: new Uint8Array(32).fill(0x11),
      mrsigner: new Uint8Array(32).fill(0x22),
      debug: true,
      isvProdId: 7,
      isvSvn: 3,
    });
    const body = q.subarray(48, 432);
    const v = new DataView(body.buffer, body.byteOffset);
    assert.deepEqual(body.subarray(64, 96), new Uint8Array(32).fill(0x11));
    assert.deepEqual(body.subarray(128, 160), new Uint8Array(32).fill(0x22));
    assert.equal(v.getBigUint64(48, true), 0x07n, "INIT | DEBUG | MODE64BIT");
    assert.equal(v.getUint16(256, true), 7);
    assert.equal(v.getUint16(258, true), 3);
    await assertGenuine(walk(q));
  });

  it("TDX overrides land at their LAYOUTS.md §2.5 offsets", async () => {
    const rtmrs = [1, 2, 3, 4].map((b) => new Uint8Array(48).fill(b));
    const q = await intel.tdxQuote({
      reportData: REPORT_DATA,
      mrtd: new Uint8Array(48).fill(0x33),
      rtmrs,
      debug: true,
    });
    const body = q.subarray(48, 632);
    assert.deepEqual(body.subarray(136, 184), new Uint8Array(48).fill(0x33));
    for (let i = 0; i < 4; i++)
      assert.deepEqual(body.subarray(328 + 48 * i, 376 + 48 * i), rtmrs[i]);
    assert.equal(new DataView(body.buffer, body.byteOffset).getBigUint64(120, true), 0x1000_0001n);
    await assertGenuine(walk(q));
  });

  it("puts the FMSPC and TCB in the PCK certificate's SGX extension", async () => {
    const fmspc = Uint8Array.from([0x90, 0xc0, 0x6f, 0, 0, 0]);
    const other = await fakeIntel({ fmspc, pceSvn: 11 });
    const ext = new x509.X509Certificate(other.pck as Uint8Array<ArrayBuffer>).getExtension(
      "1.2.840.113741.1.13.1",
    );
    assert.ok(ext);
    const value = new Uint8Array(ext.value);
    // SEQUENCE { OID …13.1.4, OCTET STRING(6) fmspc } somewhere in the extension.
    const needle = Buffer.from([
      0x06,
      0x0a,
      0x2a,
      0x86,
      0x48,
      0x86,
      0xf8,
      0x4d,
      1,
      0x0d,
      1,
      4,
      4,
      6,
      ...fmspc,
    ]);
    assert.ok(Buffer.from(value).includes(needle), "FMSPC entry");
    const pceSvn = Buffer.from([
      0x0b, 0x2a, 0x86, 0x48, 0x86, 0xf8, 0x4d, 1, 0x0d, 1, 2, 17, 2, 1, 11,
    ]);
    assert.ok(Buffer.from(value).includes(pceSvn), "PCESVN entry");
    // The header's PCE_SVN follows the certificate's.
    const q = await other.sgxQuote({ reportData: REPORT_DATA });
    assert.equal(new DataView(q.buffer).getUint16(10, true), 11);
  });

  it("is deterministic apart from the ECDSA signatures", async () => {
    const again = await fakeIntel();
    assert.deepEqual(again.attestationKey, intel.attestationKey);
    const [a, b] = [
      walk(await intel.sgxQuote({ reportData: REPORT_DATA })),
      walk(await again.sgxQuote({ reportData: REPORT_DATA })),
    ];
    assert.deepEqual(a.signed, b.signed);
    assert.deepEqual(a.qeReport, b.qeReport);
  });

  const bad: [string, () => Promise<unknown>, RegExp][] = [
    [
      "a 32-byte reportData",
      () => intel.sgxQuote({ reportData: new Uint8Array(32) }),
      /reportData: expected 64 bytes, got 32/,
    ],
    [
      "a short mrenclave",
      () => intel.sgxQuote({ reportData: REPORT_DATA, mrenclave: new Uint8Array(31) }),
      /mrenclave: expected 32 bytes, got 31/,
    ],
    [
      "three rtmrs",
      () => intel.tdxQuote({ reportData: REPORT_DATA, rtmrs: [new Uint8Array(48)] }),
      /rtmrs: expected 4 values, got 1/,
    ],
    [
      "a 47-byte mrtd",
      () => intel.tdxQuote({ reportData: REPORT_DATA, mrtd: new Uint8Array(47) }),
      /mrtd: expected 48 bytes, got 47/,
    ],
    [
      "a 5-byte fmspc",
      () => fakeIntel({ fmspc: new Uint8Array(5) }),
      /fmspc: expected 6 bytes, got 5/,
    ],
    [
      "15 TCB components",
      () => fakeIntel({ tcbComponents: new Array(15).fill(0) }),
      /tcbComponents: expected 16 integers/,
    ],
  ];
  for (const [name, run, message] of bad) {
    it(`${name}: testkit.options`, async () => {
      await assert.rejects(run(), (e: unknown) => {
        assert.ok(e instanceof TestkitError);
        assert.equal(e.code, "testkit.options");
        assert.match(e.message, message);
        return true;
      });
    });
  }
});
