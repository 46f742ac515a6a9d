/** The Steward's error registry and the README's table say the same thing. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { it } from "node:test";
import { STEWARD_ERRORS } from "./error.ts";

it("README.md 'Errors of the service' lists exactly STEWARD_ERRORS, with the same words", () => {
  const readme = fs.readFileSync(path.join(import.meta.dirname, "../README.md"), "utf8");
  const section = readme.split("## Errors of the service")[1]!.split("\n## ")[0]!;
  const rows = [...section.matchAll(/^\| `([a-z_.]+)` \| (.+) \| (.+) \|$/gm)].map((m) => ({
    code: m[1]!,
    meaning: m[2]!,
    remedy: m[3]!,
  }));
  assert.deepEqual(
    rows,
    Object.entries(STEWARD_ERRORS).map(([code, e]) => ({ code, ...e })),
  );
});
