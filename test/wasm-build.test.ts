/**
 * The committed .wasm files are what their sources build to: rebuild every
 * workload in a scratch copy with scripts/build-wasm.sh and compare bytes, so
 * a stale binary cannot hide behind an edited source.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { it } from "node:test";

const ROOT = path.resolve(import.meta.dirname, "..");
const DIRS = ["examples", "test/wasm", "bench/wasm"];
const toolchain =
  spawnSync("sh", [
    "-c",
    "command -v clang && command -v wat2wasm && test -d /usr/include/wasm32-wasi",
  ]).status === 0;

it("committed .wasm files match their sources", {
  skip: !toolchain && "clang/wasi-libc/wabt not installed (.ci/run installs them)",
}, () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-build-"));
  try {
    fs.cpSync(path.join(ROOT, "scripts"), path.join(scratch, "scripts"), { recursive: true });
    for (const d of DIRS) {
      fs.cpSync(path.join(ROOT, d), path.join(scratch, d), {
        recursive: true,
        filter: (src) => !src.endsWith(".wasm"),
      });
    }
    const r = spawnSync("bash", [path.join(scratch, "scripts/build-wasm.sh")], {
      encoding: "utf8",
    });
    assert.equal(r.status, 0, r.stderr);
    let compared = 0;
    for (const d of DIRS) {
      for (const f of fs.readdirSync(path.join(ROOT, d)).filter((n) => n.endsWith(".wasm"))) {
        const rebuilt = path.join(scratch, d, f);
        assert.ok(fs.existsSync(rebuilt), `${d}/${f} is committed but has no source`);
        assert.ok(
          fs.readFileSync(path.join(ROOT, d, f)).equals(fs.readFileSync(rebuilt)),
          `${d}/${f} is stale: run npm run build:wasm`,
        );
        compared++;
      }
    }
    assert.ok(compared >= 10, `compared ${compared} modules`);
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
});
