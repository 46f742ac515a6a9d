/**
 * The sandbox Keep's runtime measurement: the manifest is `sha256sum`'s
 * format over the runtime's sources, hashed however long a file is (the
 * Keep reads them in chunks), tests and other packages left out.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { RUNTIME_PACKAGES, runtimeManifest, runtimeMeasurement } from "./measure.ts";

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-measure-"));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));

/** Files of the fake repository: path → contents. */
const FILES: Record<string, Uint8Array> = {
  "packages/attest/package.json": new TextEncoder().encode("{}\n"),
  "packages/attest/src/index.ts": new TextEncoder().encode("export {};\n"),
  "packages/keep/package.json": new TextEncoder().encode('{"name":"@donjon/keep"}\n'),
  // Past one read chunk (64 KiB) and not a multiple of it: hashed across reads.
  "packages/keep/src/big.ts": randomBytes(3 * 64 * 1024 + 17),
  "packages/keep/src/empty.ts": new Uint8Array(0),
  "packages/keep/src/tsm/port.ts": new TextEncoder().encode("// nested\n"),
  "packages/wasi/package.json": new TextEncoder().encode("{}\n"),
  "packages/wasi/src/wasi.ts": randomBytes(64 * 1024),
};
/** Present, but not part of the runtime. */
const LEFT_OUT: Record<string, Uint8Array> = {
  "packages/keep/src/agent.test.ts": new TextEncoder().encode("test\n"),
  "packages/cli/src/main.ts": new TextEncoder().encode("cli\n"),
  "packages/keep/README.md": new TextEncoder().encode("readme\n"),
};
for (const [f, bytes] of Object.entries({ ...FILES, ...LEFT_OUT })) {
  fs.mkdirSync(path.dirname(path.join(ROOT, f)), { recursive: true });
  fs.writeFileSync(path.join(ROOT, f), bytes);
}

describe("runtimeManifest", () => {
  it("is sha256sum's output over the runtime's sources, sorted, then the Node version", () => {
    const expected = `${Object.keys(FILES)
      .sort()
      .map((f) => `${createHash("sha256").update(FILES[f]!).digest("hex")}  ${f}\n`)
      .join("")}node v24.0.0\n`;
    assert.equal(runtimeManifest(ROOT, "v24.0.0"), expected);
    assert.deepEqual(RUNTIME_PACKAGES, ["attest", "keep", "wasi"]);
  });

  it("changes with any byte of a source file past the first read", () => {
    const before = runtimeMeasurement(ROOT, "v24.0.0");
    const big = path.join(ROOT, "packages/keep/src/big.ts");
    const bytes = fs.readFileSync(big);
    bytes[bytes.length - 1]! ^= 1;
    fs.writeFileSync(big, bytes);
    try {
      const changed = runtimeMeasurement(ROOT, "v24.0.0");
      assert.equal(changed.length, 48);
      assert.notDeepEqual(changed, before);
    } finally {
      bytes[bytes.length - 1]! ^= 1;
      fs.writeFileSync(big, bytes);
    }
    assert.deepEqual(runtimeMeasurement(ROOT, "v24.0.0"), before);
  });
});
