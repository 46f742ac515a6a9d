/**
 * Sandbox evidence: parse (malformed-input table), verify (trust, signature,
 * freshness), validate (the software tier is refused unless asked for), the
 * verdict, and a tamper sweep — one byte flipped at every offset is rejected.
 *
 * Evidence is built here, independently of @donjon/keep's writer, from the
 * layout table (packages/keep/README.md); the round trip through the real
 * writer is in packages/keep/src/sandbox_evidence.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EvidenceError, OptionsError } from "../error.ts";
import {
  parseSandboxEvidence,
  SANDBOX_EVIDENCE_FIELDS,
  SANDBOX_EVIDENCE_SIZE,
  SANDBOX_SIGNED_REGION_SIZE,
} from "./abi.ts";
import { attestSandbox } from "./attest.ts";
import { validateSandboxEvidence } from "./validate.ts";
import { sandboxHostKeyId, verifySandboxEvidence } from "./verify.ts";

const NOW = new Date("2026-11-27T12:00:00.000Z");
const ALG = { name: "ECDSA", namedCurve: "P-384" } as const;
const SIG = { name: "ECDSA", hash: "SHA-384" } as const;

interface Host {
  privateKey: CryptoKey;
  spki: Uint8Array;
}

async function newHost(): Promise<Host> {
  const pair = await crypto.subtle.generateKey(ALG, false, ["sign", "verify"]);
  return {
    privateKey: pair.privateKey,
    spki: new Uint8Array(await crypto.subtle.exportKey("spki", pair.publicKey)),
  };
}

const HOST = await newHost();
const OTHER = await newHost();

const fill = (n: number, v: number) => new Uint8Array(n).fill(v);
const MEASUREMENT = fill(48, 0xaa);
const IDENTITY = fill(32, 0xbb);
const REPORT_DATA = fill(64, 0xcc);

interface Build {
  host?: Host;
  issuedAt?: number;
  /** Changes to the body before signing. */
  edit?: (b: Uint8Array, v: DataView) => void;
}

/** A record per the layout table, signed (after `edit`) by `host`. */
async function build(o: Build = {}): Promise<Uint8Array> {
  const host = o.host ?? HOST;
  const b = new Uint8Array(SANDBOX_EVIDENCE_SIZE);
  const v = new DataView(b.buffer);
  const enc = new TextEncoder();
  b.set(enc.encode("donjon-evidence"), 0x000);
  v.setUint32(0x010, 1);
  b.set(enc.encode("sandbox"), 0x018);
  b.set(enc.encode("software"), 0x028);
  v.setBigUint64(0x038, BigInt(o.issuedAt ?? NOW.getTime() - 1000));
  b.set(await sandboxHostKeyId(host.spki), 0x040);
  b.set(MEASUREMENT, 0x060);
  b.set(IDENTITY, 0x090);
  b.set(REPORT_DATA, 0x0b0);
  o.edit?.(b, v);
  const sig = await crypto.subtle.sign(SIG, host.privateKey, b.subarray(0, 0xf0));
  b.set(new Uint8Array(sig), 0x0f0);
  return b;
}

const GOOD = await build();
const ALLOW = { allowSoftwareTier: true };
const opts = { trustedHostKeys: [HOST.spki], now: NOW };

describe("parseSandboxEvidence", () => {
  it("decodes every field of a good record", () => {
    const e = parseSandboxEvidence(GOOD);
    assert.equal(e.version, 1);
    assert.equal(e.tee, "sandbox");
    assert.equal(e.tier, "software");
    assert.equal(e.issuedAt.toISOString(), "2026-11-27T11:59:59.000Z");
    assert.deepEqual(e.runtimeMeasurement, MEASUREMENT);
    assert.deepEqual(e.workloadIdentity, IDENTITY);
    assert.deepEqual(e.reportData, REPORT_DATA);
    assert.equal(e.signature.length, 96);
    assert.equal(e.signedRegion.length, SANDBOX_SIGNED_REGION_SIZE);
    assert.equal(e.raw, GOOD);
  });

  it("lists fields that tile the record exactly", () => {
    let at = 0;
    for (const f of SANDBOX_EVIDENCE_FIELDS) {
      assert.equal(f.offset, at, f.name);
      at += f.size;
    }
    assert.equal(at, SANDBOX_EVIDENCE_SIZE);
    assert.equal(SANDBOX_EVIDENCE_SIZE, 336);
  });

  const set = (at: number, bytes: number[]) => (b: Uint8Array) => {
    const c = b.slice();
    c.set(bytes, at);
    return c;
  };
  const TABLE: [string, (b: Uint8Array) => Uint8Array, string, RegExp][] = [
    ["empty", () => new Uint8Array(0), "sandbox.evidence.size", /expected 336-byte .* got 0/],
    ["one byte short", (b) => b.subarray(0, 335), "sandbox.evidence.size", /got 335/],
    ["a trailing byte", (b) => Uint8Array.from([...b, 0]), "sandbox.evidence.size", /got 337/],
    ["not bytes", () => "x" as unknown as Uint8Array, "sandbox.evidence.size", /Uint8Array/],
    ["an SNP report", () => new Uint8Array(0x4a0), "sandbox.evidence.size", /got 1184/],
    ["magic changed", set(0, [0x44]), "sandbox.evidence.magic", /646f6e6a6f6e/],
    ["magic without its NUL", set(15, [0x21]), "sandbox.evidence.magic", /expected magic/],
    ["version 0", set(0x13, [0]), "sandbox.evidence.version", /expected .* version 1, got 0/],
    ["version 2", set(0x13, [2]), "sandbox.evidence.version", /got 2/],
    ["version 0x01000001", set(0x10, [1]), "sandbox.evidence.version", /got 16777217/],
    ["reserved byte set", set(0x016, [0x80]), "sandbox.evidence.reserved", /0x016/],
    [
      "tee sgx",
      set(0x18, [...new TextEncoder().encode("sgx\0\0\0\0")]),
      "sandbox.evidence.tee",
      /"sandbox"/,
    ],
    ["tee with junk after its NUL", set(0x27, [1]), "sandbox.evidence.tee", /NUL-padded/],
    [
      "tier hardware",
      set(0x28, [...new TextEncoder().encode("hardware")]),
      "sandbox.evidence.tier",
      /"software"/,
    ],
    ["tier with junk after its NUL", set(0x37, [0x20]), "sandbox.evidence.tier", /NUL-padded/],
    [
      "issued_at beyond any Date",
      set(0x38, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      "sandbox.evidence.issued_at",
      /18446744073709551615/,
    ],
  ];
  for (const [name, corrupt, code, message] of TABLE) {
    it(`rejects ${name} with ${code}`, () => {
      assert.throws(
        () => parseSandboxEvidence(corrupt(GOOD)),
        (e: unknown) => {
          assert.ok(e instanceof EvidenceError);
          assert.equal(e.code, code);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }

  it("accepts the largest Date as issued_at", () => {
    const b = set(0x38, [0, 0x1e, 0xb2, 0x08, 0xc2, 0xdc, 0x00, 0x00])(GOOD); // 8.64e15
    assert.equal(parseSandboxEvidence(b).issuedAt.getTime(), 8.64e15);
  });

  it("reads from an offset view without copying", () => {
    const big = new Uint8Array(GOOD.length + 8);
    big.set(GOOD, 8);
    const e = parseSandboxEvidence(big.subarray(8));
    assert.deepEqual(e.reportData, REPORT_DATA);
  });
});

describe("verifySandboxEvidence", () => {
  it("passes a record signed by a trusted key, issued just now", async () => {
    const r = await verifySandboxEvidence(parseSandboxEvidence(GOOD), {
      ...opts,
      trustedHostKeys: [OTHER.spki, HOST.spki],
    });
    assert.equal(r.ok, true);
    assert.deepEqual(
      r.checks.map((c) => [c.id, c.ok]),
      [
        ["sandbox.verify.host_key", true],
        ["sandbox.verify.signature", true],
        ["sandbox.verify.freshness", true],
      ],
    );
  });

  const codes = (r: { checks: { ok: boolean; code?: string }[] }) =>
    r.checks.filter((c) => !c.ok).map((c) => c.code);

  it("fails a key nobody trusts, and says which ids it wanted", async () => {
    const r = await verifySandboxEvidence(parseSandboxEvidence(GOOD), {
      ...opts,
      trustedHostKeys: [OTHER.spki],
    });
    assert.equal(r.ok, false);
    assert.deepEqual(codes(r), ["sandbox.verify.untrusted_key"]);
    const id = Buffer.from(await sandboxHostKeyId(OTHER.spki)).toString("hex");
    assert.match(r.checks[0]!.expected!, new RegExp(id));
    assert.ok(r.checks[0]!.remedy);
  });

  it("fails when no key is trusted at all", async () => {
    const r = await verifySandboxEvidence(parseSandboxEvidence(GOOD), {
      ...opts,
      trustedHostKeys: [],
    });
    assert.deepEqual(codes(r), ["sandbox.verify.untrusted_key"]);
    assert.match(r.checks[0]!.expected!, /none is trusted/);
  });

  it("fails a record whose host_key_id names a trusted key but another key signed it", async () => {
    // Signed by OTHER, then host_key_id pointed at HOST: the signature must decide.
    const b = (await build({ host: OTHER })).slice();
    b.set(await sandboxHostKeyId(HOST.spki), 0x040);
    const r = await verifySandboxEvidence(parseSandboxEvidence(b), opts);
    assert.deepEqual(codes(r), ["sandbox.verify.signature"]);
  });

  const FRESH: [string, number, Record<string, number>, string | null][] = [
    ["issued exactly maxAge ago", NOW.getTime() - 300_000, {}, null],
    ["issued 1 ms too long ago", NOW.getTime() - 300_001, {}, "sandbox.verify.stale"],
    ["old, with a larger maxAge", NOW.getTime() - 86_400_000, { maxAge: 86_400_000 }, null],
    ["issued at the skew limit", NOW.getTime() + 60_000, {}, null],
    ["issued 1 ms past the skew", NOW.getTime() + 60_001, {}, "sandbox.verify.future"],
    ["in the future with no skew", NOW.getTime() + 1, { maxClockSkew: 0 }, "sandbox.verify.future"],
    ["the epoch", 0, {}, "sandbox.verify.stale"],
  ];
  for (const [name, issuedAt, extra, code] of FRESH) {
    it(`freshness: ${name}`, async () => {
      const e = parseSandboxEvidence(await build({ issuedAt }));
      const r = await verifySandboxEvidence(e, { ...opts, ...extra });
      assert.deepEqual(codes(r), code === null ? [] : [code]);
      const f = r.checks.find((c) => c.id === "sandbox.verify.freshness")!;
      assert.match(f.actual!, /issued at/);
    });
  }

  const BAD: [string, unknown][] = [
    ["no options", undefined],
    ["no now", { trustedHostKeys: [] }],
    ["an invalid now", { trustedHostKeys: [], now: new Date(Number.NaN) }],
    ["trusted keys not an array", { trustedHostKeys: HOST.spki, now: NOW }],
    ["a trusted key as hex", { trustedHostKeys: ["00"], now: NOW }],
    ["a negative maxAge", { ...opts, maxAge: -1 }],
    ["a NaN maxClockSkew", { ...opts, maxClockSkew: Number.NaN }],
    ["a string maxAge", { ...opts, maxAge: "300" }],
  ];
  for (const [name, o] of BAD) {
    it(`throws OptionsError for ${name}`, async () => {
      await assert.rejects(
        verifySandboxEvidence(parseSandboxEvidence(GOOD), o as never),
        (e: unknown) => e instanceof OptionsError && e.code === "options.invalid",
      );
    });
  }

  it("throws OptionsError for a trusted key that matches the id but is no P-384 SPKI", async () => {
    const junk = new Uint8Array([1, 2, 3]);
    const b = GOOD.slice();
    b.set(await sandboxHostKeyId(junk), 0x040);
    await assert.rejects(
      verifySandboxEvidence(parseSandboxEvidence(b), { ...opts, trustedHostKeys: [junk] }),
      (e: unknown) =>
        e instanceof OptionsError &&
        /trustedHostKeys\[0\]/.test(e.message) &&
        e.cause !== undefined,
    );
  });
});

describe("validateSandboxEvidence", () => {
  const e = parseSandboxEvidence(GOOD);
  const failed = (checks: { ok: boolean; code?: string }[]) =>
    checks.filter((c) => !c.ok).map((c) => c.code);

  it("refuses the software tier by default", () => {
    const checks = validateSandboxEvidence(e);
    assert.deepEqual(failed(checks), ["sandbox.policy.software_tier"]);
    assert.match(checks[0]!.actual!, /software/);
    assert.match(checks[0]!.remedy!, /allowSoftwareTier/);
  });

  it("refuses it when allowSoftwareTier is false", () => {
    assert.deepEqual(failed(validateSandboxEvidence(e, { allowSoftwareTier: false })), [
      "sandbox.policy.software_tier",
    ]);
  });

  it("allows it only when asked, and checks the rest of the policy", () => {
    const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
    const checks = validateSandboxEvidence(e, {
      allowSoftwareTier: true,
      reportData: hex(REPORT_DATA),
      runtimeMeasurements: [fill(48, 1), MEASUREMENT],
      workloadIdentities: [IDENTITY],
    });
    assert.deepEqual(
      checks.map((c) => [c.id, c.ok]),
      [
        ["sandbox.policy.software_tier", true],
        ["sandbox.policy.report_data", true],
        ["sandbox.policy.runtime_measurement", true],
        ["sandbox.policy.workload_identity", true],
      ],
    );
  });

  it("fails each value the policy does not allow", () => {
    const checks = validateSandboxEvidence(e, {
      allowSoftwareTier: true,
      reportData: fill(64, 0),
      runtimeMeasurements: [],
      workloadIdentities: [fill(32, 0)],
    });
    assert.deepEqual(failed(checks), [
      "sandbox.policy.report_data",
      "sandbox.policy.runtime_measurement",
      "sandbox.policy.workload_identity",
    ]);
    for (const c of checks.filter((c) => !c.ok)) assert.ok(c.expected && c.actual && c.remedy);
  });

  const BAD: [string, unknown][] = [
    ["a policy that is not an object", null],
    ["allowSoftwareTier as a string", { allowSoftwareTier: "true" }],
    ["allowSoftwareTier as 1", { allowSoftwareTier: 1 }],
    ["a 32-byte reportData", { reportData: fill(32, 0) }],
    ["a reportData that is not hex", { reportData: "zz".repeat(64) }],
    ["a reportData number", { reportData: 5 }],
    ["measurements not an array", { runtimeMeasurements: MEASUREMENT }],
    ["a 32-byte measurement", { runtimeMeasurements: [fill(32, 0)] }],
    ["a 48-byte identity", { workloadIdentities: [fill(48, 0)] }],
  ];
  for (const [name, policy] of BAD) {
    it(`throws OptionsError for ${name}`, () => {
      assert.throws(
        () => validateSandboxEvidence(e, policy as never),
        (err: unknown) => err instanceof OptionsError && err.code === "options.invalid",
      );
    });
  }
});

describe("attestSandbox", () => {
  it("passes good evidence under a policy that allows the software tier, and says so loudly", async () => {
    const v = await attestSandbox(GOOD, { ...opts, policy: { ...ALLOW, reportData: REPORT_DATA } });
    assert.equal(v.ok, true, JSON.stringify(v.checks));
    assert.equal(v.tee, "sandbox");
    assert.equal(v.tier, "software");
    assert.deepEqual(v.warnings, []);
    assert.deepEqual(v.claims, {
      tee: "sandbox",
      tier: "software",
      confidential: false,
      version: 1,
      issued_at: "2026-11-27T11:59:59.000Z",
      host_key_id: Buffer.from(await sandboxHostKeyId(HOST.spki)).toString("hex"),
      runtime_measurement: "aa".repeat(48),
      workload_identity: "bb".repeat(32),
      report_data: "cc".repeat(64),
    });
    assert.deepEqual(
      v.checks.map((c) => c.id),
      [
        "sandbox.parse",
        "sandbox.verify.host_key",
        "sandbox.verify.signature",
        "sandbox.verify.freshness",
        "sandbox.policy.software_tier",
        "sandbox.policy.report_data",
      ],
    );
  });

  it("fails the same evidence under the default policy, with the software-tier code only", async () => {
    const v = await attestSandbox(GOOD, opts);
    assert.equal(v.ok, false);
    assert.deepEqual(
      v.checks.filter((c) => !c.ok).map((c) => c.code),
      ["sandbox.policy.software_tier"],
    );
    assert.equal(v.claims?.tier, "software");
  });

  it("reports a parse failure as a failed check with no claims", async () => {
    const v = await attestSandbox(GOOD.subarray(1), { ...opts, policy: ALLOW });
    assert.equal(v.ok, false);
    assert.equal(v.claims, null);
    assert.equal(v.checks.length, 1);
    assert.equal(v.checks[0]!.code, "sandbox.evidence.size");
    assert.ok(v.checks[0]!.remedy);
  });

  it("throws OptionsError for bad options before looking at the evidence", async () => {
    for (const o of [{ trustedHostKeys: [] }, { ...opts, policy: { allowSoftwareTier: "yes" } }]) {
      await assert.rejects(attestSandbox(new Uint8Array(1), o as never), OptionsError);
    }
    await assert.rejects(attestSandbox("x" as never, opts), OptionsError);
  });

  it("rethrows what is not an EvidenceError", async () => {
    const ev = new Proxy(GOOD, {
      get(t, p) {
        if (p === "length") throw new TypeError("boom");
        return Reflect.get(t, p);
      },
    });
    await assert.rejects(attestSandbox(ev, opts), TypeError);
  });
});

describe("tamper: one byte flipped anywhere is rejected", () => {
  it(`at each of the ${SANDBOX_EVIDENCE_SIZE} offsets`, async () => {
    const policy = { ...ALLOW, reportData: REPORT_DATA };
    assert.equal((await attestSandbox(GOOD, { ...opts, policy })).ok, true);
    const accepted: string[] = [];
    for (let i = 0; i < SANDBOX_EVIDENCE_SIZE; i++) {
      for (const mask of [0x01, 0x80]) {
        const b = GOOD.slice();
        b[i]! ^= mask;
        const v = await attestSandbox(b, { ...opts, policy });
        if (v.ok) accepted.push(`offset 0x${i.toString(16)} ^ 0x${mask.toString(16)}`);
        else {
          const field = SANDBOX_EVIDENCE_FIELDS.find(
            (f) => i >= f.offset && i < f.offset + f.size,
          )!;
          const codes = v.checks.filter((c) => !c.ok).map((c) => c.code);
          // Structural fields fail in the parser; host_key_id on trust; the rest on the signature.
          // issued_at: a high bit makes the time unrepresentable (parser), a low one breaks the signature.
          const want =
            field.name === "host_key_id"
              ? ["sandbox.verify.untrusted_key"]
              : ["magic", "version", "reserved", "tee", "tier"].includes(field.name)
                ? [`sandbox.evidence.${field.name}`]
                : field.name === "issued_at"
                  ? ["sandbox.evidence.issued_at", "sandbox.verify.signature"]
                  : ["sandbox.verify.signature"];
          assert.ok(
            codes.some((c) => want.includes(c!)),
            `offset 0x${i.toString(16)}: ${codes.join(", ")}`,
          );
        }
      }
    }
    assert.deepEqual(accepted, []);
  });
});
