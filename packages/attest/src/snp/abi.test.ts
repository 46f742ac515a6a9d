import assert from "node:assert/strict";
import * as crypto from "node:crypto";
import { describe, it } from "node:test";
import { toHex } from "../_bytes.ts";
import { EvidenceError, OptionsError } from "../error.ts";
import {
  extractSnpReport,
  parseSnpReport,
  SNP_REPORT_FIELDS,
  SNP_REPORT_SIZE,
  snpProductFromCpuid,
} from "./abi.ts";
import type { SnpProduct, SnpReport } from "./types.ts";
import { readVector, SNP_VECTORS, type SnpVector, vector } from "./vectors.test.ts";

function parseVector(v: SnpVector, bytes = readVector(v.file)): SnpReport {
  return parseSnpReport(bytes, v.hint ? { product: v.hint } : {});
}

/** Assert `fn` throws an error of `type` with `code`; return its message. */
function throwsCode(
  fn: () => unknown,
  code: string,
  type: typeof EvidenceError | typeof OptionsError = EvidenceError,
): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof type, `expected ${type.name}, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e.message;
  }
  assert.fail(`expected ${code}, nothing thrown`);
}

function withBytes(bytes: Uint8Array, edits: Record<number, number>): Uint8Array {
  const out = new Uint8Array(bytes);
  for (const [o, b] of Object.entries(edits)) out[Number(o)] = b;
  return out;
}

function setU32(bytes: Uint8Array, offset: number, value: number): Uint8Array {
  const out = new Uint8Array(bytes);
  new DataView(out.buffer).setUint32(offset, value, true);
  return out;
}

function xorBit(bytes: Uint8Array, offset: number, mask: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[offset]! ^= mask;
  return out;
}

const V2 = vector("milan-v2-gsg");
const V3 = vector("vlek");
const V5 = vector("sev-gcp.bin");
const TURIN = vector("turin");

describe("parseSnpReport: real reports", () => {
  for (const v of SNP_VECTORS) {
    it(`${v.file}: v${v.version} ${v.product}, decoded as its provenance says`, () => {
      const r = parseVector(v);
      assert.equal(r.version, v.version);
      assert.equal(r.product, v.product);
      assert.deepEqual(r.cpuid && [r.cpuid.family, r.cpuid.model, r.cpuid.stepping], v.cpuid);
      assert.equal(r.vmpl, v.vmpl);
      assert.equal(r.signingKey, v.signingKey);
      assert.equal(r.signatureAlgo, 1);
      assert.equal(r.policy.raw, v.policy);
      assert.equal(r.policy.debug, v.debug);
      assert.equal(r.policy.smt, true); // every vector allows SMT
      const t = r.reportedTcb;
      assert.deepEqual([t.bootloader, t.tee, t.snp, t.microcode, t.fmc], v.tcb);
      const fw = r.currentVersion;
      assert.deepEqual([fw.major, fw.minor, fw.build], v.firmware);
      assert.deepEqual(r.committedVersion, r.currentVersion);
      assert.equal(toHex(r.measurement), v.measurement);
      assert.ok(toHex(r.reportData).startsWith(v.reportData), toHex(r.reportData));
      assert.equal(r.reportData.length, 64);
      assert.equal(toHex(r.reportIdMa), "ff".repeat(32)); // no migration agent anywhere
      assert.equal(r.launchMitVector === null, v.version < 5);
      assert.equal(r.currentMitVector === null, v.version < 5);
      // field lengths as the type promises
      for (const [k, n] of [
        ["familyId", 16],
        ["imageId", 16],
        ["hostData", 32],
        ["idKeyDigest", 48],
        ["authorKeyDigest", 48],
        ["reportId", 32],
        ["chipId", 64],
      ] as const)
        assert.equal(r[k].length, n, k);
    });
  }

  it("the signed region is bytes 0x000–0x29F as received, and r ‖ s verifies with the signer's key", async () => {
    for (const v of SNP_VECTORS) {
      const bytes = readVector(v.file);
      const r = parseVector(v, bytes);
      assert.deepEqual(r.signedRegion, bytes.subarray(0, 0x2a0));
      assert.deepEqual(r.raw, bytes);
      assert.equal(r.signature.r.length, 48);
      assert.equal(r.signature.s.length, 48);
      const cert = new crypto.X509Certificate(readVector(v.signer));
      const spki = cert.publicKey.export({ format: "der", type: "spki" });
      const key = await crypto.subtle.importKey(
        "spki",
        spki,
        { name: "ECDSA", namedCurve: "P-384" },
        false,
        ["verify"],
      );
      const sig = new Uint8Array([...r.signature.r, ...r.signature.s]);
      const ok = await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-384" },
        key,
        sig,
        r.signedRegion,
      );
      assert.ok(ok, `${v.file}: signature verifies over the signed region`);
    }
  });

  it("decodes the details the provenance notes name", () => {
    const gsg = parseVector(V2);
    assert.equal(gsg.policy.abiMajor, 0);
    assert.equal(gsg.policy.migrateMa, false);
    assert.equal(gsg.platformInfo.smtEnabled, true);
    assert.equal(toHex(gsg.chipId).slice(0, 8), "3ac3fe21");
    const steward = parseVector(vector("steward"));
    assert.equal(steward.guestSvn, 1);
    assert.deepEqual([steward.policy.abiMajor, steward.policy.abiMinor], [1, 51]);
    assert.equal(steward.authorKeyEn, true);
    const vlek = parseVector(V3);
    assert.equal(toHex(vlek.chipId), "00".repeat(64));
    assert.equal(vlek.currentTcb.microcode, 220); // differs from reported (217)
    assert.equal(vlek.platformInfo.raw, 0x27n);
    assert.equal(vlek.platformInfo.aliasCheckComplete, true);
    const azure = parseVector(vector("azure"));
    assert.equal(azure.guestSvn, 65547);
    assert.equal(toHex(azure.familyId), `012320${"00".repeat(13)}`);
    assert.equal(toHex(azure.imageId), `02${"00".repeat(15)}`);
    assert.notEqual(toHex(azure.idKeyDigest), "00".repeat(48));
    const gcp = parseVector(V5);
    assert.equal(gcp.launchMitVector, 0xbn);
    assert.equal(gcp.currentMitVector, 0xbn);
    const turin = parseVector(TURIN);
    assert.equal(toHex(turin.reportedTcb.raw), "0001000200000047");
    assert.equal(toHex(turin.chipId), `3b42092f69c656d3${"00".repeat(56)}`);
    assert.equal(turin.platformInfo.raw, 0x67n);
    assert.equal(turin.platformInfo.tioEnabled, false);
    assert.equal(turin.platformInfo.ciphertextHidingEnabled, false);
  });

  it("keeps a private copy: changing the input afterwards changes nothing", () => {
    const bytes = readVector(V5.file);
    const r = parseSnpReport(bytes);
    const before = toHex(r.raw);
    bytes.fill(0xee);
    assert.equal(toHex(r.raw), before);
    assert.equal(toHex(r.signedRegion), before.slice(0, 0x2a0 * 2));
  });

  it("accepts a v2 report as Genoa when told so (same TCB layout)", () => {
    const r = parseSnpReport(readVector(V2.file), { product: "Genoa" });
    assert.equal(r.product, "Genoa");
    assert.equal(r.reportedTcb.snp, 5);
  });

  it("accepts options.product that agrees with CPUID", () => {
    assert.equal(parseSnpReport(readVector(TURIN.file), { product: "Turin" }).product, "Turin");
  });
});

describe("parseSnpReport: malformed input", () => {
  const v3 = readVector(V3.file);
  const v2 = readVector(V2.file);
  const v5 = readVector(V5.file);
  const turin = readVector(TURIN.file);

  const sizes: [string, Uint8Array][] = [
    ["empty", new Uint8Array(0)],
    ["one byte", new Uint8Array(1)],
    ["truncated by one", v3.subarray(0, SNP_REPORT_SIZE - 1)],
    ["only the signed region", v3.subarray(0, 0x2a0)],
    ["one trailing byte", new Uint8Array([...v3, 0])],
    ["16 trailing zero bytes", new Uint8Array([...v3, ...new Uint8Array(16)])],
    ["two reports", new Uint8Array([...v3, ...v3])],
    [
      "an HCL wrapper, not unwrapped",
      readVector("snp/genoa-v3-azure-trustee/derived/hcl_report.bin"),
    ],
  ];
  for (const [name, bytes] of sizes) {
    it(`size: ${name} → snp.report.size`, () => {
      const msg = throwsCode(() => parseSnpReport(bytes), "snp.report.size");
      assert.equal(msg, `expected 1184-byte SNP report, got ${bytes.length}`);
    });
  }

  for (const version of [0, 1, 4, 6, 0x100_0002, 0xffff_ffff]) {
    it(`version ${version} → snp.report.version`, () => {
      const msg = throwsCode(
        () => parseSnpReport(setU32(v3, 0, version), { product: "Milan" }),
        "snp.report.version",
      );
      assert.equal(msg, `expected SNP report version 2, 3 or 5, got ${version}`);
    });
  }

  // Every reserved range, written out independently of abi.ts: [first, last, versions it applies to].
  const reserved: [number, number, number[]][] = [
    [0x04c, 0x04f, [2, 3, 5]],
    [0x188, 0x18a, [2]],
    [0x18b, 0x19f, [2, 3, 5]],
    [0x1eb, 0x1eb, [2, 3, 5]],
    [0x1ef, 0x1ef, [2, 3, 5]],
    [0x1f8, 0x207, [2, 3]],
    [0x208, 0x29f, [2, 3, 5]],
    [0x330, 0x49f, [2, 3, 5]],
  ];
  const base: Record<number, [Uint8Array, SnpProduct | undefined]> = {
    2: [v2, "Milan"],
    3: [v3, undefined],
    5: [v5, undefined],
  };
  const hex = (n: number) => `0x${n.toString(16).toUpperCase().padStart(3, "0")}`;
  for (const [first, last, versions] of reserved) {
    for (const version of versions) {
      for (const at of new Set([first, last])) {
        it(`reserved ${hex(first)}–${hex(last)} byte ${hex(at)} non-zero in v${version} → snp.report.reserved`, () => {
          const [bytes, product] = base[version]!;
          const msg = throwsCode(
            () => parseSnpReport(withBytes(bytes, { [at]: 0x5a }), { product }),
            "snp.report.reserved",
          );
          const range = first === last ? hex(first) : `${hex(first)}–${hex(last)}`;
          assert.ok(msg.includes(range), msg);
          assert.ok(msg.includes(`${hex(at)}=5a`), msg);
        });
      }
    }
  }

  it("names at most 8 offending bytes and counts the rest", () => {
    const bytes = new Uint8Array(v3);
    bytes.fill(1, 0x330, 0x340);
    const msg = throwsCode(() => parseSnpReport(bytes), "snp.report.reserved");
    assert.ok(msg.includes("0x337=01 and 8 more"), msg);
  });

  const tcbFields = {
    CURRENT_TCB: 0x038,
    REPORTED_TCB: 0x180,
    COMMITTED_TCB: 0x1e0,
    LAUNCH_TCB: 0x1f0,
  };
  for (const [name, offset] of Object.entries(tcbFields)) {
    for (const i of [2, 3, 4, 5]) {
      it(`${name} byte ${i} (reserved on Milan/Genoa) non-zero → snp.report.reserved`, () => {
        const msg = throwsCode(
          () => parseSnpReport(withBytes(v3, { [offset + i]: 1 })),
          "snp.report.reserved",
        );
        assert.ok(msg.includes(`${name} reserved bytes 2–5`), msg);
      });
    }
    for (const i of [4, 5, 6]) {
      it(`${name} byte ${i} (reserved on Turin) non-zero → snp.report.reserved`, () => {
        const msg = throwsCode(
          () => parseSnpReport(withBytes(turin, { [offset + i]: 1 })),
          "snp.report.reserved",
        );
        assert.ok(msg.includes(`${name} reserved bytes 4–6`), msg);
      });
    }
  }

  it("a Turin-layout TCB read as Milan/Genoa is caught by the reserved bytes", () => {
    // A v2 report whose TCB bytes look like Turin's (SNP at byte 3).
    const bytes = withBytes(v2, { 387: 2 });
    throwsCode(() => parseSnpReport(bytes, { product: "Milan" }), "snp.report.reserved");
  });

  for (const algo of [0, 2, 0x101, 0xffff_ffff]) {
    it(`SIGNATURE_ALGO ${algo} → snp.report.signature_algo`, () => {
      const msg = throwsCode(
        () => parseSnpReport(setU32(v3, 0x34, algo)),
        "snp.report.signature_algo",
      );
      assert.ok(msg.includes(`got ${algo}`), msg);
    });
  }

  for (const [name, at] of [
    ["R byte 48", 0x2d0],
    ["R byte 71", 0x2e7],
    ["S byte 48", 0x318],
    ["S byte 71", 0x32f],
  ] as const) {
    it(`signature ${name} non-zero → snp.report.signature_padding`, () => {
      const msg = throwsCode(
        () => parseSnpReport(withBytes(v3, { [at]: 0x80 })),
        "snp.report.signature_padding",
      );
      assert.ok(msg.includes(`${hex(at)}=80`), msg);
    });
  }

  for (const [name, bytes] of [
    ["bit 17 clear", xorBit(v3, 0x00a, 0x02)],
    ["bit 26 set", xorBit(v3, 0x00b, 0x04)],
    ["bit 31 set", xorBit(v3, 0x00b, 0x80)],
    ["bit 63 set", xorBit(v3, 0x00f, 0x80)],
  ] as const) {
    it(`POLICY ${name} → snp.report.policy`, () => {
      throwsCode(() => parseSnpReport(bytes), "snp.report.policy");
    });
  }

  for (const [name, keyInfo] of [
    ["bit 5", 1 << 5],
    ["bit 31", 0x8000_0000],
    ["SIGNING_KEY 2", 2 << 2],
    ["SIGNING_KEY 3", 3 << 2],
    ["SIGNING_KEY 6", 6 << 2],
  ] as const) {
    it(`KEY_INFO ${name} → snp.report.key_info`, () => {
      throwsCode(() => parseSnpReport(setU32(v3, 0x48, keyInfo)), "snp.report.key_info");
    });
  }

  it("KEY_INFO SIGNING_KEY 7 decodes as an unsigned report (the parser does not judge)", () => {
    const r = parseSnpReport(setU32(v3, 0x48, (7 << 2) | 3));
    assert.equal(r.signingKey, "none");
    assert.equal(r.authorKeyEn, true);
    assert.equal(r.maskChipKey, true);
  });

  for (const [family, model] of [
    [0, 0],
    [0x17, 0x31],
    [0x19, 0x20],
    [0x19, 0x9f],
    [0x19, 0xb0],
    [0x1a, 0x12],
    [0x1b, 0x00],
  ] as const) {
    it(`CPUID family 0x${family.toString(16)} model 0x${model.toString(16)} → snp.report.cpuid`, () => {
      const msg = throwsCode(
        () => parseSnpReport(withBytes(v3, { 392: family, 393: model })),
        "snp.report.cpuid",
      );
      const fm = `family 0x${family.toString(16).toUpperCase().padStart(2, "0")} model 0x${model.toString(16).toUpperCase().padStart(2, "0")}`;
      assert.ok(msg.endsWith(`got ${fm}`), msg);
    });
  }

  it("v2 without options.product → snp.report.product_required", () => {
    throwsCode(() => parseSnpReport(v2), "snp.report.product_required");
  });

  it("options.product that disagrees with CPUID → snp.report.product_mismatch", () => {
    const msg = throwsCode(
      () => parseSnpReport(v3, { product: "Genoa" }),
      "snp.report.product_mismatch",
    );
    assert.equal(
      msg,
      "expected product Genoa (options.product), got Milan from CPUID family 0x19 model 0x01",
    );
    throwsCode(() => parseSnpReport(turin, { product: "Milan" }), "snp.report.product_mismatch");
  });

  for (const product of ["milan", "Siena", "toString", ""]) {
    it(`options.product ${JSON.stringify(product)} → OptionsError options.invalid`, () => {
      for (const bytes of [v2, v3]) {
        throwsCode(
          () => parseSnpReport(bytes, { product: product as SnpProduct }),
          "options.invalid",
          OptionsError,
        );
      }
    });
  }
});

describe("snpProductFromCpuid", () => {
  const table: [number, number, SnpProduct | undefined][] = [
    [0x19, 0x00, "Milan"],
    [0x19, 0x0f, "Milan"],
    [0x19, 0x10, "Genoa"],
    [0x19, 0x1f, "Genoa"],
    [0x19, 0xa0, "Genoa"],
    [0x19, 0xaf, "Genoa"],
    [0x1a, 0x00, "Turin"],
    [0x1a, 0x11, "Turin"],
    [0x19, 0x20, undefined],
    [0x19, 0xb0, undefined],
    [0x1a, 0x12, undefined],
    [0x18, 0x01, undefined],
  ];
  for (const [family, model, product] of table) {
    it(`family 0x${family.toString(16)} model 0x${model.toString(16)} → ${product}`, () => {
      assert.equal(snpProductFromCpuid(family, model), product);
    });
  }
});

describe("parseSnpReport: tamper table (one flipped bit per named field)", () => {
  type Outcome = { code: string } | { changes: (keyof SnpReport)[] };
  /** What flipping bit 0 of the field's first byte does, per report version. */
  const expect: Record<keyof typeof SNP_REPORT_FIELDS, (version: number) => Outcome> = {
    VERSION: () => ({ code: "snp.report.version" }), // flipped in the top byte below
    GUEST_SVN: () => ({ changes: ["guestSvn"] }),
    POLICY: () => ({ changes: ["policy"] }),
    FAMILY_ID: () => ({ changes: ["familyId"] }),
    IMAGE_ID: () => ({ changes: ["imageId"] }),
    VMPL: () => ({ changes: ["vmpl"] }),
    SIGNATURE_ALGO: () => ({ code: "snp.report.signature_algo" }),
    CURRENT_TCB: () => ({ changes: ["currentTcb"] }),
    PLATFORM_INFO: () => ({ changes: ["platformInfo"] }),
    KEY_INFO: () => ({ changes: ["authorKeyEn"] }),
    REPORT_DATA: () => ({ changes: ["reportData"] }),
    MEASUREMENT: () => ({ changes: ["measurement"] }),
    HOST_DATA: () => ({ changes: ["hostData"] }),
    ID_KEY_DIGEST: () => ({ changes: ["idKeyDigest"] }),
    AUTHOR_KEY_DIGEST: () => ({ changes: ["authorKeyDigest"] }),
    REPORT_ID: () => ({ changes: ["reportId"] }),
    REPORT_ID_MA: () => ({ changes: ["reportIdMa"] }),
    REPORTED_TCB: () => ({ changes: ["reportedTcb"] }),
    // 0x19 → 0x18: no longer an SNP family
    CPUID_FAM_ID: (v) => (v < 3 ? { code: "snp.report.reserved" } : { code: "snp.report.cpuid" }),
    CPUID_MOD_ID: (v) => (v < 3 ? { code: "snp.report.reserved" } : { changes: ["cpuid"] }),
    CPUID_STEP: (v) => (v < 3 ? { code: "snp.report.reserved" } : { changes: ["cpuid"] }),
    CHIP_ID: () => ({ changes: ["chipId"] }),
    COMMITTED_TCB: () => ({ changes: ["committedTcb"] }),
    CURRENT_BUILD: () => ({ changes: ["currentVersion"] }),
    CURRENT_MINOR: () => ({ changes: ["currentVersion"] }),
    CURRENT_MAJOR: () => ({ changes: ["currentVersion"] }),
    COMMITTED_BUILD: () => ({ changes: ["committedVersion"] }),
    COMMITTED_MINOR: () => ({ changes: ["committedVersion"] }),
    COMMITTED_MAJOR: () => ({ changes: ["committedVersion"] }),
    LAUNCH_TCB: () => ({ changes: ["launchTcb"] }),
    LAUNCH_MIT_VECTOR: (v) =>
      v < 5 ? { code: "snp.report.reserved" } : { changes: ["launchMitVector"] },
    CURRENT_MIT_VECTOR: (v) =>
      v < 5 ? { code: "snp.report.reserved" } : { changes: ["currentMitVector"] },
    SIGNATURE_R: () => ({ changes: ["signature"] }),
    SIGNATURE_S: () => ({ changes: ["signature"] }),
  };

  for (const v of [V2, V3, V5, TURIN]) {
    const bytes = readVector(v.file);
    const original = parseVector(v, bytes);
    for (const [name, { offset }] of Object.entries(SNP_REPORT_FIELDS)) {
      const outcome = expect[name as keyof typeof SNP_REPORT_FIELDS](v.version);
      it(`v${v.version} ${v.product} ${name}: ${"code" in outcome ? outcome.code : `decodes a new ${outcome.changes.join(", ")}`}`, () => {
        const at = name === "VERSION" ? offset + 3 : offset;
        const tampered = xorBit(bytes, at, name === "VERSION" ? 0x80 : 0x01);
        if ("code" in outcome) {
          throwsCode(() => parseVector(v, tampered), outcome.code);
          return;
        }
        const r = parseVector(v, tampered);
        assert.deepEqual(r.raw, tampered);
        assert.deepEqual(r.signedRegion, tampered.subarray(0, 0x2a0));
        const changed = new Set<string>([...outcome.changes, "raw"]);
        if (at < 0x2a0) changed.add("signedRegion");
        for (const key of Object.keys(original) as (keyof SnpReport)[]) {
          if (changed.has(key)) assert.notDeepEqual(r[key], original[key], key);
          else assert.deepEqual(r[key], original[key], key);
        }
      });
    }
  }

  it("the decoded value is the flipped one", () => {
    const bytes = readVector(TURIN.file);
    const r = parseSnpReport(xorBit(bytes, 0x180, 0x01)); // REPORTED_TCB byte 0: FMC on Turin
    assert.equal(r.reportedTcb.fmc, 1);
    const m = parseSnpReport(xorBit(bytes, 0x090 + 47, 0x01));
    assert.equal(m.measurement[47], 0x24 ^ 0x01);
    const p = parseSnpReport(xorBit(bytes, 0x00a, 0x08)); // POLICY bit 19
    assert.equal(p.policy.debug, true);
    const s = parseSnpReport(xorBit(bytes, 0x2a0, 0x01)); // R's least significant byte
    assert.equal(s.signature.r[47], bytes[0x2a0]! ^ 0x01);
  });
});

describe("extractSnpReport", () => {
  it("unwraps the Azure HCL report to the SNP report at 0x20", () => {
    const hcl = readVector("snp/genoa-v3-azure-trustee/derived/hcl_report.bin");
    const report = extractSnpReport(hcl);
    assert.deepEqual(report, readVector("snp/genoa-v3-azure-trustee/derived/report.bin"));
    assert.equal(parseSnpReport(report).product, "Genoa");
  });

  it("returns anything else unchanged", () => {
    const raw = readVector(V3.file);
    assert.equal(extractSnpReport(raw), raw);
    const short = new Uint8Array([0x48, 0x43]);
    assert.equal(extractSnpReport(short), short);
  });

  it("a truncated HCL report → snp.report.hcl", () => {
    const hcl = readVector("snp/genoa-v3-azure-trustee/derived/hcl_report.bin");
    const msg = throwsCode(() => extractSnpReport(hcl.subarray(0, 0x4bf)), "snp.report.hcl");
    assert.equal(
      msg,
      "expected an HCL report of at least 1216 bytes (SNP report at 0x20), got 1215",
    );
  });
});
