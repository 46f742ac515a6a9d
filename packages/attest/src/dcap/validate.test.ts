/**
 * validateDcapQuote on its own: the malformed-options table (every field
 * named in the OptionsError), resolved options reused, a null TCB evaluation,
 * advisory matching, and checks on a real quote (the Phala SGX and TDX
 * vectors). attestDcap's tests (attest.test.ts, vectors.test.ts) cover each
 * field end to end.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OptionsError } from "../error.ts";
import { DCAP_VECTORS, vectorQuote } from "./_test_dcap_vectors.ts";
import type { TcbEvaluation } from "./types.ts";
import {
  type DcapValidateOptions,
  isDebug,
  resolveDcapValidateOptions,
  validateDcapQuote,
} from "./validate.ts";

const sgx = vectorQuote(DCAP_VECTORS.find((v) => v.id === "sgx/phala-v3-00a067110000")!).quote;
const tdx = vectorQuote(DCAP_VECTORS.find((v) => v.id === "tdx/phala-v4-b0c06f000000")!).quote;

function tcb(status: TcbEvaluation["status"], advisoryIds: string[] = []): TcbEvaluation {
  return {
    status,
    advisoryIds,
    tcbDate: "2024-03-13T00:00:00Z",
    relaunchAdvised: false,
    platform: { status, advisoryIds },
    qe: { status: "UpToDate", advisoryIds: [], isvSvn: 10 },
    tdxModule: null,
  };
}

const failed = (checks: ReturnType<typeof validateDcapQuote>) =>
  checks.filter((c) => !c.ok).map((c) => [c.id, c.code, c.severity]);

describe("malformed options: OptionsError naming the field", () => {
  const table: [string, unknown, RegExp][] = [
    ["not an object", null, /expected an options object/],
    ["an array", [], /expected an options object/],
    ["an unknown key", { mrenclave: "00" }, /unknown option "mrenclave"/],
    ["tee", { tee: "sev" }, /tee: expected "sgx" or "tdx"/],
    [
      "allowedTcbStatuses empty",
      { allowedTcbStatuses: [] },
      /allowedTcbStatuses: expected a non-empty list/,
    ],
    [
      "allowedTcbStatuses not a list",
      { allowedTcbStatuses: "UpToDate" },
      /allowedTcbStatuses: expected a non-empty list/,
    ],
    [
      "allowedTcbStatuses Revoked",
      { allowedTcbStatuses: ["Revoked"] },
      /Revoked can never be accepted/,
    ],
    [
      "allowedTcbStatuses unknown",
      { allowedTcbStatuses: ["UpToDate", "Fine"] },
      /unknown status "Fine"/,
    ],
    [
      "allowedAdvisoryIds not a list",
      { allowedAdvisoryIds: "INTEL-SA-00615" },
      /allowedAdvisoryIds: expected a list/,
    ],
    [
      "allowedAdvisoryIds malformed",
      { allowedAdvisoryIds: ["SA-615"] },
      /allowedAdvisoryIds: expected advisory IDs like/,
    ],
    [
      "allowedAdvisoryIds not strings",
      { allowedAdvisoryIds: [615] },
      /allowedAdvisoryIds: expected advisory IDs like/,
    ],
    ["allowDebug", { allowDebug: "no" }, /allowDebug: expected a boolean, got string/],
    ["reportData short", { reportData: "00" }, /reportData: expected 64 bytes, got 1/],
    ["reportData not hex", { reportData: "zz" }, /reportData: expected 64 bytes or 128 hex digits/],
    ["mrEnclave a number", { mrEnclave: 5 }, /mrEnclave: expected 32 bytes or 64 hex digits/],
    ["mrSigner empty list", { mrSigner: [] }, /mrSigner: expected a non-empty list/],
    ["mrTd list item", { mrTd: ["00".repeat(48), "00"] }, /mrTd\[1\]: expected 48 bytes, got 1/],
    ["rtmr2 bytes", { rtmr2: new Uint8Array(32) }, /rtmr2: expected 48 bytes, got 32/],
    ["isvProdId", { isvProdId: 65536 }, /isvProdId: expected an integer 0–65535, got 65536/],
    ["minIsvSvn", { minIsvSvn: 1.5 }, /minIsvSvn: expected an integer 0–65535, got 1.5/],
    ["minIsvSvn a string", { minIsvSvn: "1" }, /minIsvSvn: expected an integer/],
    ["miscSelect not an object", { miscSelect: 3 }, /miscSelect: expected \{ value, mask\? \}/],
    ["miscSelect null", { miscSelect: null }, /miscSelect: expected \{ value, mask\? \}/],
    [
      "miscSelect.value missing",
      { miscSelect: { mask: 1 } },
      /miscSelect\.value: expected an integer 0–4294967295, got none/,
    ],
    [
      "miscSelect.value negative",
      { miscSelect: { value: -1 } },
      /miscSelect\.value: expected an integer/,
    ],
    [
      "miscSelect.mask too large",
      { miscSelect: { value: 0, mask: 2 ** 32 } },
      /miscSelect\.mask: expected an integer/,
    ],
    ["xfam", { xfam: "e7" }, /xfam: expected 8 bytes, got 1/],
  ];
  for (const [name, options, message] of table) {
    it(name, () => {
      assert.throws(
        () => validateDcapQuote(sgx, null, options as DcapValidateOptions),
        (e: unknown) =>
          e instanceof OptionsError &&
          e.code === "options.invalid" &&
          message.test(e.message) &&
          e.message.startsWith("policy: "),
      );
    });
  }
});

it("resolved options are reused as they are, and are not mistaken for unknown keys", () => {
  const resolved = resolveDcapValidateOptions({
    allowedTcbStatuses: ["ConfigurationAndSWHardeningNeeded"],
  });
  const evaluation = tcb("ConfigurationAndSWHardeningNeeded", ["INTEL-SA-00289"]);
  assert.deepEqual(
    validateDcapQuote(sgx, evaluation, resolved),
    validateDcapQuote(sgx, evaluation, {
      allowedTcbStatuses: ["ConfigurationAndSWHardeningNeeded"],
    }),
  );
  assert.deepEqual(failed(validateDcapQuote(sgx, evaluation, resolved)), []);
});

it("defaults: UpToDate only, debug refused, nothing else checked", () => {
  const checks = validateDcapQuote(sgx, tcb("UpToDate"));
  assert.deepEqual(
    checks.map((c) => [c.id, c.ok]),
    [
      ["dcap.policy.tcb_status", true],
      ["dcap.policy.debug", true],
    ],
  );
  assert.deepEqual(failed(validateDcapQuote(sgx, tcb("SWHardeningNeeded", ["INTEL-SA-00615"]))), [
    ["dcap.policy.tcb_status", "dcap.policy.tcb_status", "error"],
  ]);
  // Revoked is never accepted, whatever the list.
  assert.deepEqual(
    failed(
      validateDcapQuote(sgx, tcb("Revoked"), { allowedTcbStatuses: ["UpToDate", "OutOfDate"] }),
    ),
    [["dcap.policy.tcb_status", "dcap.policy.tcb_status", "error"]],
  );
});

it("a null TCB evaluation: status and advisories not checked, said by a warning", () => {
  const checks = validateDcapQuote(tdx, null, { allowedAdvisoryIds: [] });
  assert.deepEqual(failed(checks), [
    ["dcap.policy.tcb_status", "dcap.policy.tcb_not_checked", "warning"],
  ]);
  assert.ok(!checks.some((c) => c.id === "dcap.policy.advisory"));
});

it("advisories: compared case-insensitively; an empty list accepts none; the failure names the others", () => {
  const evaluation = tcb("SWHardeningNeeded", ["INTEL-SA-00615", "INTEL-SA-00657"]);
  const allowed = { allowedTcbStatuses: ["SWHardeningNeeded"] } as const;
  assert.deepEqual(
    failed(
      validateDcapQuote(sgx, evaluation, {
        ...allowed,
        allowedAdvisoryIds: ["intel-sa-00615", "INTEL-SA-00657"],
      }),
    ),
    [],
  );
  const some = validateDcapQuote(sgx, evaluation, {
    ...allowed,
    allowedAdvisoryIds: ["INTEL-SA-00615"],
  });
  const check = some.find((c) => c.id === "dcap.policy.advisory")!;
  assert.equal(check.ok, false);
  assert.equal(check.expected, "advisories among INTEL-SA-00615");
  assert.match(check.actual!, /not allowed: INTEL-SA-00657/);
  const none = validateDcapQuote(sgx, evaluation, { ...allowed, allowedAdvisoryIds: [] });
  assert.equal(none.find((c) => c.id === "dcap.policy.advisory")!.expected, "no advisories");
  assert.deepEqual(failed(validateDcapQuote(sgx, tcb("UpToDate"), { allowedAdvisoryIds: [] })), []);
});

it("real quotes: the Phala SGX enclave and TD against their own values, and one byte off", () => {
  const r = sgx.body.tee === "sgx" ? sgx.body.report : null;
  const t = tdx.body.tee === "tdx" ? tdx.body.report : null;
  assert.ok(r && t);
  const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
  const off = (b: Uint8Array) => {
    const c = b.slice();
    c[0] = c[0]! ^ 1;
    return c;
  };
  const sgxPolicy: DcapValidateOptions = {
    tee: "sgx",
    reportData: hex(r.reportData),
    mrEnclave: hex(r.mrEnclave).toUpperCase(),
    mrSigner: [r.mrSigner],
    isvProdId: r.isvProdId,
    minIsvSvn: r.isvSvn,
    miscSelect: { value: r.miscSelect },
  };
  assert.deepEqual(failed(validateDcapQuote(sgx, tcb("UpToDate"), sgxPolicy)), []);
  assert.deepEqual(
    failed(
      validateDcapQuote(sgx, tcb("UpToDate"), {
        ...sgxPolicy,
        mrEnclave: off(r.mrEnclave),
        minIsvSvn: r.isvSvn + 1,
      }),
    ).map((f) => f[1]),
    ["dcap.policy.mr_enclave", "dcap.policy.isv_svn"],
  );
  const tdxPolicy: DcapValidateOptions = {
    tee: "tdx",
    mrTd: t.mrTd,
    rtmr0: t.rtmr[0],
    rtmr1: t.rtmr[1],
    rtmr2: t.rtmr[2],
    rtmr3: t.rtmr[3],
    mrConfigId: t.mrConfigId,
    mrOwner: t.mrOwner,
    mrOwnerConfig: t.mrOwnerConfig,
    xfam: t.xfam,
    reportData: t.reportData,
  };
  const ok = validateDcapQuote(tdx, tcb("UpToDate"), tdxPolicy);
  assert.deepEqual(failed(ok), []);
  assert.deepEqual(
    ok.map((c) => c.id),
    [
      "dcap.policy.tee",
      "dcap.policy.tcb_status",
      "dcap.policy.debug",
      "dcap.policy.report_data",
      "dcap.policy.mr_td",
      "dcap.policy.rtmr0",
      "dcap.policy.rtmr1",
      "dcap.policy.rtmr2",
      "dcap.policy.rtmr3",
      "dcap.policy.mr_config_id",
      "dcap.policy.mr_owner",
      "dcap.policy.mr_owner_config",
      "dcap.policy.xfam",
    ],
  );
  const bad = validateDcapQuote(tdx, tcb("UpToDate"), {
    ...tdxPolicy,
    rtmr1: [off(t.rtmr[1]), off(t.rtmr[2])],
  });
  const rtmr = bad.find((c) => !c.ok)!;
  assert.equal(rtmr.id, "dcap.policy.rtmr1");
  assert.equal(rtmr.code, "dcap.policy.rtmr");
  assert.match(rtmr.expected!, /^RTMR1 one of [0-9a-f]{96}, [0-9a-f]{96}$/);
  assert.equal(rtmr.actual, `RTMR1 = ${hex(t.rtmr[1])}`);
  assert.equal(isDebug(tdx), false);
  assert.equal(isDebug(sgx), false);
});
