/** The code registry and docs/errors.md list the same codes, with the same kinds. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { it } from "node:test";
import { CODES } from "./codes.ts";
import { EvidenceError, OptionsError, PolicyError } from "./error.ts";

const DOC = path.join(import.meta.dirname, "../../../docs/errors.md");

/** Rows of the form "| `code` | kind | …" in docs/errors.md, as code → kind. */
function documented(): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of fs.readFileSync(DOC, "utf8").split("\n")) {
    const m = /^\|\s*`([^`]+)`\s*\|\s*([a-z]+)\s*\|/.exec(line);
    if (m) {
      assert.ok(!out.has(m[1]!), `docs/errors.md lists ${m[1]} twice`);
      out.set(m[1]!, m[2]!);
    }
  }
  return out;
}

it("docs/errors.md lists every registered code and no other", () => {
  const doc = documented();
  const missing = Object.keys(CODES).filter((c) => !doc.has(c));
  const extra = [...doc.keys()].filter((c) => !(c in CODES));
  assert.deepEqual({ missing, extra }, { missing: [], extra: [] });
});

it("docs/errors.md gives each code the registry's kind", () => {
  const doc = documented();
  for (const [code, info] of Object.entries(CODES)) assert.equal(doc.get(code), info.kind, code);
});

it("every code has a summary and a remedy, and codes are dotted lower-case", () => {
  for (const [code, info] of Object.entries(CODES)) {
    assert.match(code, /^[a-z0-9_]+(\.[a-z0-9_]+)+$/, code);
    assert.ok(info.summary.length > 10, code);
    assert.ok(info.remedy.length > 10, code);
  }
});

it("error classes carry their code, name and cause", () => {
  const cause = new Error("inner");
  const e = new EvidenceError("snp.report.size", "expected 1184-byte report, got 1", { cause });
  assert.equal(e.name, "EvidenceError");
  assert.equal(e.code, "snp.report.size");
  assert.equal(e.cause, cause);
  assert.ok(e instanceof Error);
  const check = { id: "snp.validate.debug", ok: false, code: "snp.validate.debug" };
  const p = new PolicyError("snp.validate.debug", "debug", [check]);
  assert.equal(p.name, "PolicyError");
  assert.deepEqual(p.checks, [check]);
  const o = new OptionsError("options.invalid", "bad");
  assert.equal(o.name, "OptionsError");
  assert.equal(o.code, "options.invalid");
});
