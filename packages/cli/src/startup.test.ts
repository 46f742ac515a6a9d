/**
 * `donjon run` starts lean: a cold start is a benchmark goal (≤ 1.5× node:wasi),
 * and each of these was once loaded at start-up by accident. A probe preloaded
 * into the real CLI reports at exit what got loaded.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import * as path from "node:path";
import { it } from "node:test";

const ROOT = path.resolve(import.meta.dirname, "../../..");
// The list is taken before anything is written, and written to fd 2 directly:
// `process.stderr` would itself load the stream modules the test looks for.
const PROBE = `data:text/javascript,process.on("exit",()=>{const j="PROBE"+JSON.stringify({builtins:process.moduleLoadList.filter(m=>m.startsWith("NativeModule ")),reflectMetadata:typeof Reflect.getMetadata});process.getBuiltinModule("node:fs").writeSync(2,j)})`;

it("donjon run --backend nil hello.wasm loads no HTTP client, no streams, no sockets, no worker threads and no X.509 code", () => {
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      PROBE,
      "packages/cli/bin/donjon.js",
      "run",
      "--backend",
      "nil",
      "examples/hello.wasm",
    ],
    { cwd: ROOT, encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  const json = r.stderr.slice(r.stderr.indexOf("PROBE") + 5);
  const { builtins, reflectMetadata } = JSON.parse(json) as {
    builtins: string[];
    reflectMetadata: string;
  };
  const loaded = (name: string) => builtins.some((m) => m.includes(name));
  assert.ok(loaded("internal/modules/esm"), "the probe sees the module list");
  for (const heavy of ["undici", "internal/fs/streams", "worker_threads", "internal/fs/promises"]) {
    assert.equal(loaded(heavy), false, `${heavy} was loaded at start-up`);
  }
  // Its note goes to stderr: through `process.stderr` that would build a
  // stream (node:stream) over a pipe socket (node:net), ≈ 1.5–2 MiB of peak memory.
  for (const heavy of ["stream", "net"]) {
    assert.equal(
      builtins.includes(`NativeModule ${heavy}`),
      false,
      `node:${heavy} was loaded by donjon run`,
    );
  }
  assert.equal(
    reflectMetadata,
    "undefined",
    "@peculiar/x509 (reflect-metadata) was loaded by donjon run",
  );
});

it("a broken stderr loses donjon's message, not its exit status", async () => {
  // A usage error (exit 2) whose stderr pipe has no reader: writing the message fails with EPIPE.
  const child = spawn(process.execPath, ["packages/cli/bin/donjon.js", "run", "--no-such-flag"], {
    cwd: ROOT,
    stdio: ["ignore", "ignore", "pipe"],
  });
  child.stderr.destroy(); // closes the read end long before the CLI has started
  const [status] = (await once(child, "exit")) as [number | null];
  assert.equal(status, 2);
});
