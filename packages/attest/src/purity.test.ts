/**
 * @donjon/attest runs in browsers as well as Node: no `node:*` module, no
 * Node global, anywhere in its library code (tests may use Node).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { it } from "node:test";

const SRC = import.meta.dirname;

function libraryFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...libraryFiles(p));
    else if (
      /\.(ts|js|mjs)$/.test(e.name) &&
      !/\.test\.ts$/.test(e.name) &&
      !e.name.startsWith("_test")
    )
      out.push(p);
  }
  return out;
}

it("library code imports no node: module and touches no Node global", () => {
  const files = libraryFiles(SRC);
  assert.ok(files.length > 0);
  const offences: string[] = [];
  for (const f of files) {
    const text = fs.readFileSync(f, "utf8");
    for (const [re, what] of [
      [/\bfrom\s+["']node:/, "a node: import"],
      [/\bimport\(\s*["']node:/, "a dynamic node: import"],
      [/\brequire\(/, "require()"],
      [/\bprocess\./, "the process global"],
      [/\bBuffer\./, "the Buffer global"],
      [/\bDate\.now\(/, "Date.now() (time is injected)"],
    ] as const) {
      if (re.test(text)) offences.push(`${path.relative(SRC, f)}: ${what}`);
    }
  }
  assert.deepEqual(offences, []);
});
