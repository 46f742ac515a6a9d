/**
 * Keeps `npm run bench` from rotting silently: each engine runner runs every
 * workload once on a tiny input and must print the right answer (sha256's
 * digest is checked against node:crypto, nbody's energies against the
 * published values) and leave a sane report; the helpers of the sandbox rows
 * (bench/drain.mjs, bench/tree-rss.mjs) are checked on known input, and
 * bench/sandbox-phases.mjs (FINDINGS' break-down) runs once; then
 * bench/run.ts itself does one `--quick` pass of everything (`donjon run` on
 * nil and in sandbox Keeps included) without writing docs/BENCHMARKS.md.
 * Benchmarks are not tests: no timing is asserted here.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import type { Report } from "./report.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const WASM = path.join(ROOT, "bench/wasm");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-bench-test-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: Buffer;
  stderr: string;
  report: Report;
}

function run(runner: string, args: string[]): Run {
  const report = path.join(tmp, `report-${process.hrtime.bigint()}.json`);
  const r = spawnSync(
    process.execPath,
    ["--disable-warning=ExperimentalWarning", path.join(ROOT, "bench", runner), ...args],
    {
      env: { ...process.env, DONJON_BENCH_REPORT: report },
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 64 << 20,
    },
  );
  assert.ifError(r.error);
  const stderr = r.stderr.toString();
  assert.ok(fs.existsSync(report), `${runner} wrote no report (status ${r.status}): ${stderr}`);
  return {
    status: r.status,
    stdout: r.stdout,
    stderr,
    report: JSON.parse(fs.readFileSync(report, "utf8")) as Report,
  };
}

/** sha256.c's input: MiB mebibytes of xorshift64* output, little-endian. */
function sha256Input(mib: number): Buffer {
  const buf = Buffer.alloc(mib << 20);
  const M = (1n << 64n) - 1n;
  let x = 0x9e3779b97f4a7c15n;
  for (let i = 0; i + 8 <= buf.length; i += 8) {
    x ^= x >> 12n;
    x ^= (x << 25n) & M;
    x ^= x >> 27n;
    buf.writeBigUInt64LE((x * 0x2545f4914f6cdd1dn) & M, i);
  }
  return buf;
}

for (const [runner, engine] of [
  ["donjon-run.ts", "donjon"],
  ["nodewasi-run.mjs", "node:wasi"],
] as const) {
  describe(`bench/${runner}`, () => {
    const wasm = (name: string) => path.join(WASM, `${name}.wasm`);
    const ok = (r: Run) => {
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.report.engine, engine);
      assert.equal(r.report.exitCode, 0);
      assert.ok(
        r.report.runMs >= 0 && r.report.totalMs >= r.report.runMs,
        JSON.stringify(r.report),
      );
      // A Node process is tens of MiB: a KiB/MiB mix-up would show.
      assert.ok(
        r.report.maxRssKiB > 10_000 && r.report.maxRssKiB < 4_000_000,
        JSON.stringify(r.report),
      );
    };

    it("hello", () => {
      const r = run(runner, [wasm("hello")]);
      ok(r);
      assert.equal(r.stdout.toString(), "Hello, world!\n");
    });

    it("sha256: the digest node:crypto computes", () => {
      const r = run(runner, [wasm("sha256"), "1"]);
      ok(r);
      const digest = createHash("sha256").update(sha256Input(1)).digest("hex");
      assert.equal(r.stdout.toString(), `${digest}  1 MiB\n`);
    });

    it("nbody: the published energies", () => {
      const r = run(runner, [wasm("nbody"), "1000"]);
      ok(r);
      assert.equal(r.stdout.toString(), "-0.169075164\n-0.169087605\n");
    });

    it("smallfiles: in a preopened host directory, which it leaves empty", () => {
      const dir = fs.mkdtempSync(path.join(tmp, "sf-"));
      const r = run(runner, ["--dir", `${dir}::/sandbox`, wasm("smallfiles"), "50", "/sandbox"]);
      ok(r);
      assert.equal(r.stdout.toString(), "smallfiles: 50 files written, verified and removed\n");
      assert.deepEqual(fs.readdirSync(dir), []);
    });

    it("manywrites: every write reaches fd 1", () => {
      const r = run(runner, [wasm("manywrites"), "100"]);
      ok(r);
      const want = Array.from({ length: 100 }, (_, i) => `line ${String(i).padStart(10, "0")}\n`);
      assert.equal(r.stdout.toString(), want.join(""));
    });

    it("stdoutbulk: every line, in writes of the size asked for", () => {
      const r = run(runner, [wasm("stdoutbulk"), "1", "1024"]);
      ok(r);
      const want = Array.from({ length: 65536 }, (_, i) => `line ${String(i).padStart(10, "0")}\n`);
      assert.ok(r.stdout.equals(Buffer.from(want.join(""))), "stdout differs");
      assert.match(r.stderr, /stdoutbulk: 1 MiB in 1024 writes/);
    });

    it("bigmem: 1 GiB of linear memory, resident once", () => {
      const r = run(runner, [wasm("bigmem")]);
      ok(r);
      assert.equal(r.stdout.toString(), "bigmem: 262144 pages touched\n");
      // Every page is touched, so at least 1 GiB is resident, and not twice that.
      assert.ok(r.report.maxRssKiB > 1 << 20, `${r.report.maxRssKiB} KiB`);
      assert.ok(r.report.maxRssKiB < 1.5 * (1 << 20), `${r.report.maxRssKiB} KiB`);
    });
  });
}

const NODE_ARGS = ["--disable-warning=ExperimentalWarning"];

describe("bench/drain.mjs", () => {
  it("counts what comes through the pipe and keeps its first and last 16 bytes", () => {
    const report = path.join(tmp, "drain.json");
    const input = Buffer.from(Array.from({ length: 3000 }, (_, i) => String(i)).join(","));
    const r = spawnSync(process.execPath, [path.join(ROOT, "bench/drain.mjs"), report], {
      input,
    });
    assert.equal(r.status, 0, r.stderr.toString());
    const d = JSON.parse(fs.readFileSync(report, "utf8"));
    assert.equal(d.bytes, input.length);
    assert.ok(d.reads >= 1 && d.lastMs >= d.firstMs, JSON.stringify(d));
    assert.equal(d.head, input.subarray(0, 16).toString());
    assert.equal(d.tail, input.subarray(-16).toString());
  });
});

/** Run `node -e script` under bench/tree-rss.mjs, writing its report to `report`. */
function treeRss(report: string, script: string) {
  return spawnSync(
    process.execPath,
    [
      ...NODE_ARGS,
      path.join(ROOT, "bench/tree-rss.mjs"),
      report,
      "--",
      process.execPath,
      "-e",
      script,
    ],
    { stdio: ["ignore", "pipe", "pipe"], timeout: 30_000 },
  );
}

describe("bench/tree-rss.mjs", () => {
  it("finds a child's child, reads every process's peak, passes the exit status on", () => {
    const report = path.join(tmp, "tree.json");
    // A Node process that starts a Node process that lives ~300 ms, then exits with 3.
    const inner = "setTimeout(() => {}, 300)";
    const outer = `require("node:child_process").spawnSync(process.execPath, ["-e", ${JSON.stringify(inner)}]); process.exitCode = 3;`;
    const r = treeRss(report, outer);
    assert.equal(r.status, 3, r.stderr.toString());
    const t = JSON.parse(fs.readFileSync(report, "utf8")) as {
      sumPeakKiB: number;
      maxSumRssKiB: number;
      processes: { hwmKiB: number }[];
    };
    assert.equal(t.processes.length, 2, JSON.stringify(t));
    for (const p of t.processes) assert.ok(p.hwmKiB > 10_000, JSON.stringify(t));
    assert.equal(t.sumPeakKiB, t.processes[0]!.hwmKiB + t.processes[1]!.hwmKiB);
    assert.ok(t.maxSumRssKiB > 0 && t.maxSumRssKiB <= t.sumPeakKiB, JSON.stringify(t));
  });
});

describe("bench/tree-rss.mjs across an exec", () => {
  it("counts only the last program a process ran, not the image it replaced", () => {
    const report = path.join(tmp, "tree-exec.json");
    // A Node child that touches 64 MiB, lives long enough to be polled, then
    // execs sleep in the same pid (as a forked copy of the donjon host becomes bwrap).
    const inner = `Buffer.alloc(64 << 20, 1); setTimeout(() => process.execve("/bin/sleep", ["sleep", "0.3"]), 200);`;
    const outer = `require("node:child_process").spawnSync(process.execPath, ["--disable-warning=ExperimentalWarning", "-e", ${JSON.stringify(inner)}], { stdio: "inherit" });`;
    const r = treeRss(report, outer);
    assert.equal(r.status, 0, r.stderr.toString());
    const t = JSON.parse(fs.readFileSync(report, "utf8")) as {
      processes: { name: string; hwmKiB: number }[];
    };
    assert.equal(t.processes.length, 2, JSON.stringify(t));
    const child = t.processes[1]!;
    assert.equal(child.name, "sleep", JSON.stringify(t));
    assert.ok(child.hwmKiB < 16 * 1024, JSON.stringify(t));
  });
});

describe("bench/rss-probe.mjs", () => {
  it("reports the peak at exit and loads nothing the measured program did not", () => {
    const report = path.join(tmp, "probe.json");
    const loaded = path.join(tmp, "probe-loaded.json");
    // The program notes what is loaded before it exits (the probe's exit
    // handler runs first, so anything it loaded then would show up after).
    const program = path.join(tmp, "probe-program.mjs");
    fs.writeFileSync(
      program,
      `Buffer.alloc(32 << 20, 1);
process.getBuiltinModule("node:fs").writeFileSync(${JSON.stringify(loaded)}, JSON.stringify(process.moduleLoadList));
`,
    );
    const r = spawnSync(
      process.execPath,
      ["--import", path.join(ROOT, "bench/rss-probe.mjs"), program],
      { env: { ...process.env, DONJON_BENCH_RSS: report }, stdio: ["ignore", "pipe", "pipe"] },
    );
    assert.equal(r.status, 0, r.stderr.toString());
    const { maxRssKiB } = JSON.parse(fs.readFileSync(report, "utf8")) as { maxRssKiB: number };
    assert.ok(maxRssKiB > 32 * 1024 && maxRssKiB < 256 * 1024, String(maxRssKiB));
    const list = JSON.parse(fs.readFileSync(loaded, "utf8")) as string[];
    for (const m of ["stream", "worker_threads", "internal/fs/streams", "internal/fs/promises"]) {
      assert.equal(list.includes(`NativeModule ${m}`), false, `the probe loaded ${m}`);
    }
  });
});

describe("bench/sandbox-phases.mjs", () => {
  it("--reps 1 times the process floor, the host's steps and the Keep's phases", () => {
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, "bench/sandbox-phases.mjs"), "--reps", "1"],
      { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 },
    );
    const out = r.stdout.toString();
    assert.equal(r.status, 0, `${r.stderr}\n${out}`);
    assert.match(out, /^\| `node -e 0` \| [\d.]+ ms \|$/m);
    assert.match(out, /^\| loading the sandbox key .*\| [\d.]+ ms \|$/m);
    assert.match(out, /^\| no bwrap \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ ms \|$/m);
    assert.match(out, /^\| no compile cache \| [\d.]+ ms \| [\d.]+ ms \| [\d.]+ ms \|$/m);
  });
});

describe("bench/run.ts", () => {
  it("--quick --reps 1 runs every workload and engine and prints the tables", () => {
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, "bench/run.ts"), "--quick", "--reps", "1", "--no-write"],
      { stdio: ["ignore", "pipe", "pipe"], maxBuffer: 64 << 20, timeout: 300_000 },
    );
    const out = r.stdout.toString();
    assert.equal(r.status, 0, `${r.stderr}\n${out}`);
    for (const heading of [
      "## Time in `_start`",
      "## Peak RSS",
      "## Cold start",
      "## Peak memory of hello.wasm's processes",
      "## stdout throughput",
      "## Goals",
    ]) {
      assert.ok(out.includes(heading), `missing ${heading}:\n${out}`);
    }
    for (const name of ["sha256", "nbody", "smallfiles", "manywrites", "bigmem"]) {
      assert.match(out, new RegExp(`^\\| ${name} \\|`, "m"));
    }
    // The sandbox rows ran: a Keep tree of more than one process, and both write sizes.
    assert.match(out, /^\| donjon run, sandbox \| [2-9] \|/m);
    assert.match(out, /^\| 1 MiB writes \| `--backend sandbox`/m);
    assert.match(out, /^\| 1 KiB writes \| `--backend sandbox`/m);
  });
});

describe("bench/attest.ts", () => {
  it("measures warm-verifier and raw P-384 rates on a few iterations", () => {
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, "bench/attest.ts"), "--iterations", "40", "--warmup", "5", "--rounds", "2"],
      { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 },
    );
    const out = r.stdout.toString();
    assert.equal(r.status, 0, `${r.stderr}\n${out}`);
    assert.match(out, /^## SEV-SNP verification/m);
    assert.match(
      out,
      /^\| `createSnpVerifier\(\)\.verify`, warm chain cache \| [\d,]+\/s \| \d\.\d{3}× /m,
    );
    const m = /^verify rate (\d+)\/s vs raw (\d+)\/s: (\d\.\d{3})×/m.exec(out);
    assert.ok(m, out);
    assert.ok(Number(m[1]) > 0 && Number(m[2]) > 0, out);
  });

  it("--json gives the numbers run.ts puts in docs/BENCHMARKS.md", () => {
    const r = spawnSync(
      process.execPath,
      [
        path.join(ROOT, "bench/attest.ts"),
        "--json",
        "--iterations",
        "20",
        "--warmup",
        "2",
        "--rounds",
        "2",
      ],
      { stdio: ["ignore", "pipe", "pipe"], timeout: 120_000 },
    );
    assert.equal(r.status, 0, r.stderr.toString());
    const j = JSON.parse(r.stdout.toString()) as Record<string, number>;
    assert.equal(j.iterations, 20);
    for (const k of ["raw", "verifier", "attest", "ratio"]) assert.ok(j[k]! > 0, `${k}: ${j[k]}`);
    assert.equal(j.goal, 0.9);
  });
});
