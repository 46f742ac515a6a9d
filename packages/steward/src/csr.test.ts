import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { buildCsr, findEvidenceExtension, type ParsedCsr, parseCsr, verifyCsr } from "./csr.ts";
import {
  derTlv,
  OID_CMW,
  OID_ENARX_SNP,
  TAG_BIT_STRING,
  TAG_BOOLEAN,
  TAG_INTEGER,
  TAG_NULL,
  TAG_OCTET_STRING,
  TAG_OID,
  TAG_SEQUENCE,
  TAG_SET,
} from "./evidence_ext.ts";
import { MalformedRequestError } from "./problem.ts";

const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
  "sign",
  "verify",
])) as CryptoKeyPair;
const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
const evidence = derTlv(0x0c, new TextEncoder().encode("{}"));

const cat = (...p: (Uint8Array | number[])[]) => Uint8Array.from(p.flatMap((x) => [...x]));
const seq = (...p: Uint8Array[]) => derTlv(TAG_SEQUENCE, cat(...p));
const hex = (s: string) => Uint8Array.from(s.match(/../g) ?? [], (x) => Number.parseInt(x, 16));
const OID_EXT_REQ = derTlv(TAG_OID, hex("2a864886f70d01090e"));
const OID_ECDSA_SHA384 = derTlv(TAG_OID, hex("2a8648ce3d040303"));
const OID_ECDSA_SHA256 = derTlv(TAG_OID, hex("2a8648ce3d040302"));
const oidDer = (dotted: string) => {
  const arcs = dotted.split(".").map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const a of arcs.slice(2)) {
    const b = [a & 0x7f];
    for (let n = a >> 7; n > 0; n >>= 7) b.unshift((n & 0x7f) | 0x80);
    out.push(...b);
  }
  return derTlv(TAG_OID, Uint8Array.from(out));
};

/** DER INTEGER of an unsigned big-endian value, minimal. */
function int(b: Uint8Array): Uint8Array {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return derTlv(TAG_INTEGER, v[0]! & 0x80 ? cat([0], v) : v);
}

interface Hand {
  version?: Uint8Array;
  key?: Uint8Array;
  attributes?: Uint8Array[];
  alg?: Uint8Array;
  /** The BIT STRING's unused-bits octet. Default 0. */
  unusedBits?: number;
  /** Rewrite the DER signature (tests of its encoding). */
  sig?: (rs: Uint8Array) => Uint8Array;
}

/** A CSR put together by hand and signed for real, so each field can be wrong on its own. */
async function hand(h: Hand = {}): Promise<Uint8Array> {
  const info = seq(
    h.version ?? derTlv(TAG_INTEGER, Uint8Array.of(0)),
    seq(),
    h.key ?? spki,
    derTlv(0xa0, cat(...(h.attributes ?? []))),
  );
  const rs = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-384" },
      keys.privateKey,
      info as Uint8Array<ArrayBuffer>,
    ),
  );
  const sigDer = h.sig ? h.sig(rs) : seq(int(rs.subarray(0, 48)), int(rs.subarray(48)));
  return seq(
    info,
    h.alg ?? seq(OID_ECDSA_SHA384),
    derTlv(TAG_BIT_STRING, cat([h.unusedBits ?? 0], sigDer)),
  );
}

const ext = (oid: string, value: Uint8Array, critical?: Uint8Array) =>
  seq(oidDer(oid), ...(critical ? [critical] : []), derTlv(TAG_OCTET_STRING, value));
const extReq = (...exts: Uint8Array[]) => seq(OID_EXT_REQ, derTlv(TAG_SET, seq(...exts)));

function code(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof MalformedRequestError, String(e));
    return e.code;
  }
  return "no error";
}

describe("buildCsr → parseCsr → verifyCsr", () => {
  test("round trip: the key as exported, the subject, the evidence extension, a valid signature", async () => {
    const der = await buildCsr({ keys, evidence, subject: "CN=keep-1" });
    const csr = parseCsr(der);
    assert.deepEqual(csr.spki, spki);
    assert.equal(csr.subject, "CN=keep-1");
    assert.deepEqual(csr.extensions, [{ oid: OID_CMW, critical: false, value: evidence }]);
    assert.equal(csr.signature.length, 96);
    assert.equal(await verifyCsr(csr), true);
    assert.deepEqual(findEvidenceExtension(csr).value, evidence);
  });

  test("OpenSSL reads and verifies the CSR buildCsr writes (an independent DER and signature check)", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "steward-csr-"));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const file = join(dir, "keep.csr");
    writeFileSync(file, await buildCsr({ keys, evidence }));
    let out: string;
    try {
      out = execFileSync(
        "openssl",
        ["req", "-inform", "DER", "-in", file, "-noout", "-verify", "-text"],
        {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return t.skip("openssl is not installed");
      throw e;
    }
    assert.match(out, /1\.3\.6\.1\.5\.5\.7\.1\.35/);
    assert.match(out, /ecdsa-with-SHA384/);
    assert.match(out, /NIST CURVE: P-384|secp384r1/);
  });

  test("a critical evidence extension is read and accepted (RFC 9999: MAY be critical)", async () => {
    const der = await buildCsr({
      keys,
      extensions: [{ oid: OID_CMW, critical: true, value: evidence }],
    });
    const e = findEvidenceExtension(parseCsr(der));
    assert.equal(e.critical, true);
  });

  test("a hand-built CSR parses and verifies like a generated one", async () => {
    const csr = parseCsr(await hand({ attributes: [extReq(ext(OID_CMW, evidence))] }));
    assert.equal(await verifyCsr(csr), true);
    assert.equal(csr.extensions.length, 1);
  });

  test("a signature by another key does not verify", async () => {
    const other = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const otherSpki = new Uint8Array(await crypto.subtle.exportKey("spki", other.publicKey));
    const csr = parseCsr(await hand({ key: otherSpki }));
    assert.equal(await verifyCsr(csr), false);
  });
});

describe("parseCsr: strict, each rule with its code", async () => {
  const ok = [extReq(ext(OID_CMW, evidence))];
  const p256 = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
  ])) as CryptoKeyPair;
  const p256Spki = new Uint8Array(await crypto.subtle.exportKey("spki", p256.publicKey));
  const table: [string, () => Promise<Uint8Array>, string][] = [
    [
      "version 1 (not v1 = 0)",
      () => hand({ version: derTlv(TAG_INTEGER, Uint8Array.of(1)), attributes: ok }),
      "csr.structure",
    ],
    [
      "ecdsa-with-SHA256",
      () => hand({ alg: seq(OID_ECDSA_SHA256), attributes: ok }),
      "csr.algorithm",
    ],
    [
      "ecdsa-with-SHA384 with NULL parameters",
      () =>
        hand({ alg: seq(OID_ECDSA_SHA384, derTlv(TAG_NULL, new Uint8Array(0))), attributes: ok }),
      "csr.algorithm",
    ],
    ["a P-256 key", () => hand({ key: p256Spki, attributes: ok }), "csr.algorithm"],
    [
      "two extensionRequest attributes",
      () => hand({ attributes: [extReq(ext(OID_CMW, evidence)), extReq(ext("2.5.29.17", seq()))] }),
      "csr.extension_request",
    ],
    [
      "an extensionRequest with two values",
      () =>
        hand({
          attributes: [
            seq(
              OID_EXT_REQ,
              derTlv(TAG_SET, cat(seq(ext(OID_CMW, evidence)), seq(ext("2.5.29.17", seq())))),
            ),
          ],
        }),
      "csr.extension_request",
    ],
    [
      "the same ordinary extension twice",
      () =>
        hand({
          attributes: [
            extReq(ext(OID_CMW, evidence), ext("2.5.29.17", seq()), ext("2.5.29.17", seq())),
          ],
        }),
      "csr.extension_request",
    ],
    [
      "critical = FALSE encoded (DER omits a DEFAULT)",
      () =>
        hand({
          attributes: [extReq(ext(OID_CMW, evidence, derTlv(TAG_BOOLEAN, Uint8Array.of(0))))],
        }),
      "csr.der",
    ],
    [
      "critical TRUE as 0x01 (DER is 0xff)",
      () =>
        hand({
          attributes: [extReq(ext(OID_CMW, evidence, derTlv(TAG_BOOLEAN, Uint8Array.of(1))))],
        }),
      "csr.der",
    ],
    [
      "an extension without extnValue",
      () => hand({ attributes: [extReq(seq(oidDer(OID_CMW)))] }),
      "csr.structure",
    ],
    [
      "an attribute that is not a SEQUENCE",
      () => hand({ attributes: [derTlv(TAG_SET, new Uint8Array(0))] }),
      "csr.structure",
    ],
    [
      "a signature with a non-minimal INTEGER",
      () =>
        hand({
          attributes: ok,
          sig: (rs) =>
            seq(derTlv(TAG_INTEGER, cat([0, 0], rs.subarray(0, 48))), int(rs.subarray(48))),
        }),
      "csr.signature",
    ],
    [
      "a signature with a negative INTEGER",
      () =>
        hand({
          attributes: ok,
          sig: (rs) =>
            seq(derTlv(TAG_INTEGER, cat([0x80], rs.subarray(1, 48))), int(rs.subarray(48))),
        }),
      "csr.signature",
    ],
    [
      "a signature r of 49 bytes",
      () =>
        hand({
          attributes: ok,
          sig: (rs) => seq(derTlv(TAG_INTEGER, cat([1], rs.subarray(0, 48))), int(rs.subarray(48))),
        }),
      "csr.signature",
    ],
    [
      "a signature of three INTEGERs",
      () =>
        hand({
          attributes: ok,
          sig: (rs) => seq(int(rs.subarray(0, 48)), int(rs.subarray(48)), int(Uint8Array.of(1))),
        }),
      "csr.signature",
    ],
  ];
  for (const [name, make, want] of table) {
    test(`${name} → ${want}`, async () => {
      const der = await make();
      assert.equal(
        code(() => parseCsr(der)),
        want,
      );
    });
  }

  test("a BIT STRING signature with unused bits → csr.signature", async () => {
    const der = await hand({ attributes: ok, unusedBits: 1 });
    assert.equal(
      code(() => parseCsr(der)),
      "csr.signature",
    );
  });

  test("a P-384 key that is not on the curve → csr.algorithm from verifyCsr", async () => {
    const bogus = spki.slice();
    bogus.fill(0x01, 24);
    const csr: ParsedCsr = parseCsr(await hand({ key: bogus, attributes: ok }));
    await assert.rejects(
      verifyCsr(csr),
      (e) => e instanceof MalformedRequestError && e.code === "csr.algorithm",
    );
  });
});

describe("findEvidenceExtension", async () => {
  const v = evidence;
  const table: [string, { oid: string; critical?: boolean; value: Uint8Array }[], string][] = [
    ["none at all", [], "csr.evidence.missing"],
    ["only a SAN request", [{ oid: "2.5.29.17", value: seq() }], "csr.evidence.missing"],
    [
      "CMW twice",
      [
        { oid: OID_CMW, value: v },
        { oid: OID_CMW, value: v },
      ],
      "csr.evidence.duplicate",
    ],
    [
      "CMW and Enarx SNP",
      [
        { oid: OID_CMW, value: v },
        { oid: OID_ENARX_SNP, value: v },
      ],
      "csr.evidence.duplicate",
    ],
    [
      "an unknown critical extension",
      [
        { oid: OID_CMW, value: v },
        { oid: "1.2.3.4", critical: true, value: v },
      ],
      "csr.extension.critical",
    ],
    [
      "an unknown non-critical extension is ignored",
      [
        { oid: OID_CMW, value: v },
        { oid: "1.2.3.4", value: v },
      ],
      "no error",
    ],
  ];
  for (const [name, exts, want] of table) {
    test(`${name} → ${want}`, async () => {
      const csr = parseCsr(await buildCsr({ keys, extensions: exts }));
      assert.equal(
        code(() => findEvidenceExtension(csr)),
        want,
      );
    });
  }
});
