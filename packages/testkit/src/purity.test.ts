/**
 * The testkit's library code runs wherever `@donjon/attest` runs (browsers
 * included): no `node:*` imports and no Node globals outside tests and scripts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { it } from "node:test";

it("library files import nothing from node: and use no Node globals", () => {
  const dir = import.meta.dirname;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts"));
  assert.ok(files.includes("snp.ts"));
  for (const f of files) {
    const src = fs.readFileSync(path.join(dir, f), "utf8");
    assert.doesNotMatch(src, /from\s+["']node:|import\(["']node:|require\(/, f);
    assert.doesNotMatch(src, /\b(process|Buffer|__dirname)\b/, f);
  }
});
