/** The code registry and docs/errors.md ("@donjon/client") list the same codes, with the same texts. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { it } from "node:test";
import { CLIENT_ERRORS, ClientError } from "./error.ts";

const DOC = path.join(import.meta.dirname, "../../../docs/errors.md");

/** Rows "| `code` | meaning | remedy |" of the @donjon/client section. */
function documented(): Map<string, [string, string]> {
  const text = fs.readFileSync(DOC, "utf8");
  const start = text.indexOf("\n## @donjon/client\n");
  assert.ok(start >= 0, "docs/errors.md has a @donjon/client section");
  const end = text.indexOf("\n## ", start + 1);
  const out = new Map<string, [string, string]>();
  for (const line of text.slice(start, end < 0 ? undefined : end).split("\n")) {
    const m = /^\|\s*`([^`]+)`\s*\|(.*)\|(.*)\|\s*$/.exec(line);
    if (m) {
      assert.ok(!out.has(m[1]!), `docs/errors.md lists ${m[1]} twice`);
      out.set(m[1]!, [m[2]!.trim(), m[3]!.trim()]);
    }
  }
  return out;
}

it("docs/errors.md lists every client code, and no other, with the registry's texts", () => {
  const doc = documented();
  assert.deepEqual([...doc.keys()].sort(), Object.keys(CLIENT_ERRORS).sort());
  for (const [code, info] of Object.entries(CLIENT_ERRORS)) {
    assert.deepEqual(doc.get(code), [info.summary, info.remedy], code);
  }
});

it("codes are dotted lower-case under client.; ClientError carries code, cause and verdict", () => {
  for (const code of Object.keys(CLIENT_ERRORS)) assert.match(code, /^client(\.[a-z_]+)+$/);
  const cause = new Error("inner");
  const e = new ClientError("client.tls", "handshake failed", { cause });
  assert.equal(e.name, "ClientError");
  assert.equal(e.code, "client.tls");
  assert.equal(e.cause, cause);
  assert.equal(e.verdict, undefined);
  assert.ok(e instanceof Error);
});
