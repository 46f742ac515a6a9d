import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { CODES } from "@donjon/attest";
import { CHECK_CODES } from "./decide.ts";
import {
  MALFORMED_CODES,
  malformedProblem,
  PROBLEM_TYPE_BASE,
  refusalProblem,
  tooLargeProblem,
} from "./problem.ts";

describe("RFC 9457 problem bodies", () => {
  test("403 refusal: every check, and only {code, expected, actual, remedy} of each", () => {
    const checks = [
      {
        code: "sandbox.policy.software_tier",
        expected: "hardware",
        actual: "software",
        remedy: "r1",
      },
      { code: "binding.key", expected: "a", actual: "b", remedy: "r2" },
    ];
    const withExtra = checks.map((c) => ({ ...c, id: "internal", severity: "error" }));
    const p = refusalProblem(withExtra);
    assert.deepEqual(p, {
      type: `${PROBLEM_TYPE_BASE}attestation-refused`,
      title: "Attestation refused",
      status: 403,
      detail: "2 checks failed: sandbox.policy.software_tier, binding.key",
      checks,
    });
    assert.equal(
      refusalProblem(checks.slice(0, 1)).detail,
      "1 check failed: sandbox.policy.software_tier",
    );
    assert.deepEqual(JSON.parse(JSON.stringify(p)), p);
  });

  test("400 malformed: the code and what is wrong", () => {
    assert.deepEqual(malformedProblem("csr.der", "trailing bytes"), {
      type: "https://donjon.dev/problems/malformed-request",
      title: "Malformed attestation request",
      status: 400,
      detail: "trailing bytes",
      code: "csr.der",
    });
  });

  test("413 too large: the limit", () => {
    const p = tooLargeProblem(262144);
    assert.equal(p.status, 413);
    assert.equal(p.limit, 262144);
    assert.equal(p.type, "https://donjon.dev/problems/request-too-large");
    assert.match(p.detail, /262144 bytes/);
  });
});

describe("code registries", () => {
  test("every Steward code has a meaning and a remedy, and none collides with attest's", () => {
    for (const [code, info] of Object.entries({ ...MALFORMED_CODES, ...CHECK_CODES })) {
      assert.ok(info.meaning.length > 10 && info.remedy.length > 10, code);
      assert.ok(!(code in CODES), `${code} is also an attest code`);
      assert.match(code, /^(csr|evidence|policy|binding|config)\.[a-z_.]+$/);
    }
  });

  test("docs/errors.md's @donjon/steward section lists CHECK_CODES, with the same texts", () => {
    const doc = fs.readFileSync(path.join(import.meta.dirname, "../../../docs/errors.md"), "utf8");
    const start = doc.indexOf("\n## @donjon/steward: refusals\n");
    assert.ok(start >= 0, "docs/errors.md has a @donjon/steward section");
    const end = doc.indexOf("\n## ", start + 1);
    const rows = [
      ...doc
        .slice(start, end < 0 ? undefined : end)
        .matchAll(/^\| `([^`]+)` \| (.+) \| (.+) \|$/gm),
    ].map((m) => [m[1], m[2], m[3]]);
    assert.deepEqual(
      rows,
      Object.entries(CHECK_CODES).map(([code, i]) => [code, i.meaning, i.remedy]),
    );
  });
});
