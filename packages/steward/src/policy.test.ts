import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { StewardError } from "./error.ts";
import {
  DEFAULT_LIFETIME_MS,
  defaultPolicy,
  type ParsePolicyOptions,
  parsePolicy,
} from "./policy.ts";

const FIXTURES = join(import.meta.dirname, "..", "test", "fixtures");
const readFixture = (name: string) => readFileSync(join(FIXTURES, name), "utf8");
const reader: ParsePolicyOptions = { readFile: (p) => readFixture(p) };
const hostPem = readFixture("sandbox-key.pub.pem");
const p256Pem = readFixture("p256-key.pub.pem");

function err(text: string, options: ParsePolicyOptions = {}): string {
  try {
    parsePolicy(text, "policy.toml", options);
  } catch (e) {
    assert.ok(e instanceof StewardError, String(e));
    assert.equal(e.code, "steward.policy");
    return e.message;
  }
  return "no error";
}

describe("defaultPolicy: safe", () => {
  test("hardware only, no debug, the software tier refused, 24-hour certificates, no SAN", () => {
    const p = defaultPolicy();
    assert.equal(p.sandbox.allow, false);
    assert.deepEqual(p.sandbox.hostKeys, []);
    assert.equal(p.snp.allow, true);
    for (const s of [p.sandbox, p.snp, p.tdx, p.sgx]) {
      assert.equal(s.debug, false);
      assert.equal(s.lifetimeMs, DEFAULT_LIFETIME_MS);
      assert.deepEqual(s.san, []);
      assert.deepEqual(s.measurements, []);
      assert.deepEqual(s.deniedMeasurements, []);
      assert.deepEqual(s.workloadIdentities, []);
    }
    assert.deepEqual(p.snp.minTcb, {});
    assert.deepEqual(p.tdx.tcbStatuses, ["UpToDate"]);
    assert.deepEqual(p.sgx.tcbStatuses, ["UpToDate"]);
    // A CRL that cannot be had is a warning unless a policy asks for more.
    assert.deepEqual([p.snp.requireCrl, p.tdx.requireCrl, p.sgx.requireCrl], [false, false, false]);
    assert.deepEqual(parsePolicy("", "empty.toml"), p);
  });
});

describe("parsePolicy: the example with every key (test/fixtures/policy.toml)", () => {
  const p = parsePolicy(readFixture("policy.toml"), "policy.toml", reader);
  test("sandbox", () => {
    assert.equal(p.sandbox.allow, true);
    assert.equal(p.sandbox.hostKeys.length, 1);
    assert.equal(p.sandbox.hostKeys[0]!.length, 120);
    assert.deepEqual(p.sandbox.measurements, ["52".repeat(48)]);
    // Hex is normalised to lower case.
    assert.deepEqual(p.sandbox.workloadIdentities, ["e0700a02".repeat(8)]);
    assert.equal(p.sandbox.lifetimeMs, 3600_000);
    assert.deepEqual(p.sandbox.san, [
      { type: "dns", value: "keep.example.com" },
      { type: "uri", value: "spiffe://example.com/keep" },
    ]);
  });
  test("snp, tdx, sgx", () => {
    assert.deepEqual(p.snp.minTcb, { bootloader: 3, tee: 0, snp: 8, microcode: 115 });
    assert.deepEqual(p.snp.deniedMeasurements, ["00".repeat(48)]);
    assert.equal(p.snp.lifetimeMs, 7 * 86_400_000);
    assert.equal(p.tdx.allow, false);
    assert.equal(p.sgx.allow, false);
    assert.deepEqual(p.tdx.tcbStatuses, ["UpToDate"]);
    assert.deepEqual(p.sgx.tcbStatuses, ["UpToDate", "SWHardeningNeeded"]);
    assert.deepEqual([p.snp.requireCrl, p.tdx.requireCrl, p.sgx.requireCrl], [true, false, false]);
    assert.equal(parsePolicy("[tdx]\nrequire_crl = true", "p").tdx.requireCrl, true);
  });
  test("host_keys as PEM text inline", () => {
    const q = parsePolicy(`[sandbox]\nhost_keys = ['''${hostPem}''']`, "p.toml");
    assert.deepEqual(q.sandbox.hostKeys, p.sandbox.hostKeys);
  });
  test("lifetimes", () => {
    for (const [v, ms] of [
      ["1m", 60_000],
      ["90m", 5_400_000],
      ["1d12h", 129_600_000],
      ["30d", 2_592_000_000],
      ["3600s", 3600_000],
    ] as const) {
      assert.equal(parsePolicy(`[snp]\nlifetime = "${v}"`, "p").snp.lifetimeMs, ms, v);
    }
  });
});

describe("parsePolicy: every mistake is an error naming the key and its line", () => {
  const table: [string, string, RegExp, ParsePolicyOptions?][] = [
    ["not TOML", "[snp\nallow = true", /policy\.toml:1: not valid TOML/],
    [
      "an unknown section",
      "[snp]\nallow = true\n\n[kvm]\nallow = true",
      /policy\.toml:4: unknown key "kvm"/,
    ],
    ["an unknown top-level key", "allow_all = true", /policy\.toml:1: unknown key "allow_all"/],
    [
      "an unknown key (typo)",
      "[snp]\nallow = true\nmeasurement = []",
      /policy\.toml:3: unknown key "snp\.measurement"/,
    ],
    [
      "debug in [sandbox]",
      "[sandbox]\ndebug = true",
      /:2: unknown key "sandbox\.debug" \(it does not apply to the software tier\)/,
    ],
    [
      "require_crl in [sandbox]",
      "[sandbox]\nrequire_crl = true",
      /:2: unknown key "sandbox\.require_crl" \(it does not apply to the software tier\)/,
    ],
    [
      "require_crl not a boolean",
      '[sgx]\nrequire_crl = "yes"',
      /sgx\.require_crl.*expected true or false/,
    ],
    [
      "min_tcb in [tdx]",
      "[tdx]\nmin_tcb = { snp = 1 }",
      /:2: unknown key "tdx\.min_tcb" \(TDX and SGX TCB/,
    ],
    [
      "tcb_statuses in [snp]",
      '[snp]\ntcb_statuses = ["UpToDate"]',
      /:2: unknown key "snp\.tcb_statuses"/,
    ],
    [
      "tcb_statuses empty",
      "[tdx]\ntcb_statuses = []",
      /:2: tdx\.tcb_statuses: expected a non-empty array of Intel TCB statuses/,
    ],
    [
      "tcb_statuses a string",
      '[sgx]\ntcb_statuses = "UpToDate"',
      /sgx\.tcb_statuses: expected a non-empty array/,
    ],
    [
      "tcb_statuses Revoked",
      '[tdx]\ntcb_statuses = ["UpToDate", "Revoked"]',
      /tdx\.tcb_statuses: \[1\]: expected one of UpToDate, .*got "Revoked" \(a revoked TCB is never accepted\)/,
    ],
    [
      "tcb_statuses in another spelling",
      '[sgx]\ntcb_statuses = ["up-to-date"]',
      /sgx\.tcb_statuses: \[0\]: expected one of UpToDate/,
    ],
    ["a section that is not a table", "snp = 1", /snp: expected a table/],
    [
      "allow as a string",
      '[sandbox]\nallow = "yes"',
      /:2: sandbox\.allow: expected true or false, got "yes"/,
    ],
    [
      "a short measurement",
      '[snp]\nmeasurements = ["abcd"]',
      /:2: snp\.measurements: \[0\]: expected 48 bytes as 96 hex digits/,
    ],
    [
      "an SGX measurement of 48 bytes",
      `[sgx]\nmeasurements = ["${"00".repeat(48)}"]`,
      /sgx\.measurements: \[0\]: expected 32 bytes/,
    ],
    ["measurements not a list", '[snp]\nmeasurements = "00"', /expected an array of hex strings/],
    [
      "non-hex identity",
      `[snp]\nworkload_identities = ["${"zz".repeat(32)}"]`,
      /snp\.workload_identities: \[0\]/,
    ],
    ["a lifetime without unit", '[snp]\nlifetime = "24"', /snp\.lifetime: expected a duration/],
    ["a lifetime as a number", "[snp]\nlifetime = 24", /snp\.lifetime: expected a duration/],
    ["a lifetime too long", '[snp]\nlifetime = "31d"', /snp\.lifetime: expected 1m to 30d/],
    ["a lifetime too short", '[snp]\nlifetime = "59s"', /expected 1m to 30d/],
    [
      "a wildcard SAN",
      '[snp]\nsan = ["*.example.com"]',
      /snp\.san: \[0\]: expected a DNS name \(no wildcard\)/,
    ],
    ["a SAN that is not a name", '[snp]\nsan = ["a b"]', /snp\.san: \[0\]/],
    ["a SAN URI that does not parse", '[snp]\nsan = ["http://[::1"]', /snp\.san: \[0\]/],
    ["san not a list", '[snp]\nsan = "a.example"', /expected an array of DNS names/],
    ["min_tcb not a table", "[snp]\nmin_tcb = 3", /snp\.min_tcb: expected a table/],
    ["an unknown TCB component", "[snp]\nmin_tcb = { fmc = 1 }", /unknown component "fmc"/],
    ["a TCB SPL over 255", "[snp]\nmin_tcb = { snp = 256 }", /snp: expected an SPL from 0 to 255/],
    ["a TCB SPL that is not an integer", "[snp]\nmin_tcb = { snp = 1.5 }", /expected an SPL/],
    [
      "host_keys a string",
      '[sandbox]\nhost_keys = "k.pem"',
      /sandbox\.host_keys: expected an array/,
    ],
    [
      "a host key path without a reader",
      '[sandbox]\nhost_keys = ["k.pem"]',
      /"k\.pem" is a path and no file reader was given/,
    ],
    [
      "a host key file that cannot be read",
      '[sandbox]\nhost_keys = ["missing.pem"]',
      /cannot read "missing\.pem"/,
      reader,
    ],
    [
      "a P-256 host key",
      `[sandbox]\nhost_keys = ['''${p256Pem}''']`,
      /expected one PEM "PUBLIC KEY" holding an ECDSA P-384/,
    ],
    [
      "a PEM that is not a public key",
      "[sandbox]\nhost_keys = ['''-----BEGIN CERTIFICATE-----\nMII=\n-----END CERTIFICATE-----''']",
      /ECDSA P-384/,
    ],
    ["an empty host key", '[sandbox]\nhost_keys = [""]', /\[0\]: expected a path or PEM text/],
  ];
  for (const [name, text, re, options] of table) {
    test(name, () => assert.match(err(text, options), re));
  }
});
