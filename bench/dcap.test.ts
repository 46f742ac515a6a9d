/** bench/dcap.ts on a few iterations: it runs, verifies the real quotes, and reports its rates. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";

const ROOT = path.resolve(import.meta.dirname, "..");

describe("bench/dcap.ts", () => {
  it("measures warm attestDcap and two raw P-256 verifies on a few iterations", () => {
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, "bench/dcap.ts"), "--iterations", "20", "--warmup", "2", "--rounds", "2"],
      { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 },
    );
    const out = r.stdout.toString();
    assert.equal(r.status, 0, `${r.stderr}\n${out}`);
    assert.match(out, /^## Intel DCAP verification/m);
    assert.match(out, /^\| `attestDcap`, TDX quote v5, warm \| [\d,]+\/s \| \d\.\d{3}× /m);
    const m = /^attestDcap rate (\d+)\/s vs raw (\d+)\/s: (\d\.\d{3})×/m.exec(out);
    assert.ok(m, out);
    assert.ok(Number(m[1]) > 0 && Number(m[2]) > 0, out);
  });

  it("--json gives the numbers run.ts puts in docs/BENCHMARKS.md", () => {
    const r = spawnSync(
      process.execPath,
      [
        path.join(ROOT, "bench/dcap.ts"),
        "--json",
        "--iterations",
        "10",
        "--warmup",
        "1",
        "--rounds",
        "2",
      ],
      { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 },
    );
    assert.equal(r.status, 0, r.stderr.toString());
    const j = JSON.parse(r.stdout.toString()) as Record<string, number>;
    assert.equal(j.iterations, 10);
    for (const k of [
      "raw",
      "attest",
      "verify",
      "sgx",
      "sgxRaw",
      "ratio",
      "verifyRatio",
      "sgxRatio",
    ])
      assert.ok(j[k]! > 0, `${k}: ${j[k]}`);
    assert.equal(j.goal, 0.8);
  });

  it("a bad option is refused", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, "bench/dcap.ts"), "--iterations", "0"], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr.toString(), /--iterations takes a positive integer/);
  });
});
