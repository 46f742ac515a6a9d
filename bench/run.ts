/**
 * `npm run bench`: Donjon's WASI host against Node's built-in `node:wasi` on
 * the same modules, and against the same C compiled natively (gcc -O2).
 *
 *   node bench/run.ts [--quick] [--reps N] [--only NAME,...] [--tmp DIR] [--out FILE | --no-write]
 *
 * `--only attest` (or a full run) also measures SEV-SNP verification
 * throughput (bench/attest.ts, in a child process of its own).
 *
 * Every run is a child process of its own (see "Method" in the report it
 * writes, docs/BENCHMARKS.md by default; `--quick` only prints unless --out
 * is given). The workloads are bench/wasm/*.wasm (scripts/build-wasm.sh);
 * native binaries are bench/out/native/* (`build-wasm.sh --native`), built
 * here with gcc -O2 when missing.
 *
 * Goals are ratios between engines measured in this one run on this one
 * machine; absolute times are only context.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { type AttestBenchResult, attestSection } from "./attest.ts";
import type { Report } from "./report.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const WASM = path.join(ROOT, "bench/wasm");
const NATIVE = path.join(ROOT, "bench/out/native");
const NODE = process.execPath;
/** node:wasi prints an ExperimentalWarning; the same flags go to every Node child. */
const NODE_FLAGS = ["--disable-warning=ExperimentalWarning"];
const RUNNERS = {
  donjon: path.join(ROOT, "bench/donjon-run.ts"),
  "node:wasi": path.join(ROOT, "bench/nodewasi-run.mjs"),
} as const;
/** The `donjon` command, as packages/cli/package.json's "bin" names it. */
const CLI = (() => {
  const pkg = path.join(ROOT, "packages/cli/package.json");
  const bin = (JSON.parse(fs.readFileSync(pkg, "utf8")) as { bin?: { donjon?: string } }).bin;
  return path.join(ROOT, "packages/cli", bin?.donjon ?? "bin/donjon.js");
})();
const CLI_REL = path.relative(ROOT, CLI);
const RSS_PROBE = path.join(ROOT, "bench/rss-probe.mjs");

// ---- options ------------------------------------------------------------

interface Options {
  quick: boolean;
  reps: number | null;
  only: string[] | null;
  out: string | null;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { quick: false, reps: null, only: null, out: null };
  let write = true;
  let out: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--quick") o.quick = true;
    else if (a === "--reps") o.reps = Number(argv[++i]);
    else if (a === "--only") o.only = (argv[++i] ?? "").split(",");
    else if (a === "--out") out = argv[++i] ?? null;
    else if (a === "--no-write") write = false;
    else if (a === "--tmp")
      i++; // read by scratchBase()
    else if (a === "-h" || a === "--help") {
      process.stdout.write(
        "usage: node bench/run.ts [--quick] [--reps N] [--only NAME,...] [--tmp DIR] [--out FILE | --no-write]\n",
      );
      process.exit(0);
    } else {
      process.stderr.write(`bench: unknown argument ${a}\n`);
      process.exit(2);
    }
  }
  if (o.reps !== null && !(Number.isInteger(o.reps) && o.reps >= 1)) {
    process.stderr.write("bench: --reps takes a positive integer\n");
    process.exit(2);
  }
  // Only a complete run rewrites docs/BENCHMARKS.md unless --out says where.
  o.out =
    out ?? (write && !o.quick && o.only === null ? path.join(ROOT, "docs/BENCHMARKS.md") : null);
  if (!write) o.out = null;
  return o;
}

// ---- workloads ------------------------------------------------------------

/** `donjon` is the API runner (bench/donjon-run.ts); `donjon run` the CLI. */
type Engine = "native" | "node:wasi" | "donjon" | "donjon run";

interface Workload {
  /** Row label; also the module (bench/wasm/NAME.wasm, bench/out/native/NAME) unless `module` says. */
  name: string;
  module?: string;
  /** Extra options for the Donjon API runner. */
  donjonFlags?: string[];
  group: "cpu" | "syscall" | "memory";
  what: string;
  /** Guest arguments; "{dir}" becomes the preopen's guest path (or the host path, natively). */
  args: string[];
  /** A fresh host directory per run, preopened at /sandbox. */
  dir: boolean;
  engines: Engine[];
  reps: number;
  /**
   * Checks a run's stdout (and its directory); returns what is wrong, or null.
   * `native` is what the native build printed, when it ran.
   */
  verify: (out: Buffer, dir: string | null, native: Buffer | null) => string | null;
}

const GUEST_DIR = "/sandbox";

function workloads(quick: boolean): Workload[] {
  const sha = quick ? 4 : 64;
  const nbody = quick ? 200_000 : 5_000_000;
  const files = quick ? 1000 : 20_000;
  const writes = quick ? 50_000 : 1_000_000;
  /** manywrites prints `line NNNNNNNNNN\n` (16 bytes) per write: check the count and the last. */
  const verifyManywrites = (out: Buffer): string | null => {
    if (out.length !== 16 * writes) return `expected ${16 * writes} bytes, got ${out.length}`;
    const last = out.subarray(out.length - 16).toString();
    const want = `line ${String(writes - 1).padStart(10, "0")}\n`;
    return last === want ? null : `last line ${JSON.stringify(last)}`;
  };
  const cpuReps = quick ? 3 : 15;
  const sysReps = quick ? 3 : 15;
  /** Every engine must print what native printed (the digest, the energies). */
  const sameAsNative = (out: Buffer, native: Buffer | null) =>
    native === null || out.equals(native) ? null : `output differs from native: ${out}`;
  return [
    {
      name: "sha256",
      group: "cpu",
      what: `SHA-256 of ${sha} MiB`,
      args: [String(sha)],
      dir: false,
      engines: ["native", "node:wasi", "donjon", "donjon run"],
      reps: cpuReps,
      verify: (out, _dir, native) =>
        new RegExp(`^[0-9a-f]{64}  ${sha} MiB\n$`).test(out.toString())
          ? sameAsNative(out, native)
          : `no digest: ${out}`,
    },
    {
      name: "nbody",
      group: "cpu",
      what: `n-body, ${nbody.toLocaleString("en")} steps`,
      args: [String(nbody)],
      dir: false,
      engines: ["native", "node:wasi", "donjon", "donjon run"],
      reps: cpuReps,
      verify: (out, _dir, native) =>
        /^-0\.169075164\n-0\.\d{9}\n$/.test(out.toString())
          ? sameAsNative(out, native)
          : `unexpected energies: ${out}`,
    },
    {
      name: "smallfiles",
      group: "syscall",
      what: `${files.toLocaleString("en")} files of ~100 B: create+write, read back, unlink`,
      args: [String(files), "{dir}"],
      dir: true,
      engines: ["native", "node:wasi", "donjon", "donjon run"],
      reps: sysReps,
      verify: (out, dir) => {
        if (out.toString() !== `smallfiles: ${files} files written, verified and removed\n`)
          return `unexpected output: ${out}`;
        const left = fs.readdirSync(dir!).length;
        return left === 0 ? null : `${left} files left behind`;
      },
    },
    {
      name: "manywrites",
      group: "syscall",
      what: `${writes.toLocaleString("en")} write(2)s of 16 B to stdout → file`,
      args: [String(writes)],
      dir: false,
      engines: ["native", "node:wasi", "donjon", "donjon run"],
      reps: sysReps,
      verify: verifyManywrites,
    },
    {
      name: "manywrites, unbuffered",
      module: "manywrites",
      donjonFlags: ["--unbuffered"],
      group: "syscall",
      what: "the same, Donjon's stdout not holding writes back (as node:wasi)",
      args: [String(writes)],
      dir: false,
      engines: ["node:wasi", "donjon"],
      reps: sysReps,
      verify: verifyManywrites,
    },
    {
      name: "bigmem",
      group: "memory",
      what: "grow linear memory to 1 GiB, touch every 4 KiB page",
      args: [],
      dir: false,
      engines: ["node:wasi", "donjon", "donjon run"],
      reps: quick ? 2 : 5,
      verify: (out) =>
        out.toString() === "bigmem: 262144 pages touched\n" ? null : `unexpected output: ${out}`,
    },
  ];
}

// ---- running ------------------------------------------------------------

interface Sample {
  /** Parent's wall clock around the whole child process, ms. */
  wallMs: number;
  /**
   * Time in `_start` for the two runners (compile and instantiate excluded);
   * the whole process's wall time for native and the CLI, ms.
   */
  runMs: number;
  /** CPU time of the thread running `_start`, during it (runners only), ms. */
  cpuMs: number | null;
  /** Peak RSS of the child, KiB (null where it cannot be read). */
  rssKiB: number | null;
}

/**
 * Scratch space for stdout files and smallfiles' directories: tmpfs
 * (/dev/shm) when there is one, so that runs measure the WASI hosts rather
 * than the disk (on this machine's virtio ext4 the same smallfiles run takes
 * 0.5 to 10 s, depending on journal and discard traffic). --tmp overrides.
 */
function scratchBase(): string {
  const i = process.argv.indexOf("--tmp");
  if (i > 0 && process.argv[i + 1]) return path.resolve(process.argv[i + 1]!);
  try {
    fs.accessSync("/dev/shm", fs.constants.W_OK);
    if (fs.statSync("/dev/shm").isDirectory()) return "/dev/shm";
  } catch {}
  return os.tmpdir();
}
const scratch = fs.mkdtempSync(path.join(scratchBase(), "donjon-bench-"));
process.on("exit", () => fs.rmSync(scratch, { recursive: true, force: true }));
const TIME = fs.existsSync("/usr/bin/time") ? "/usr/bin/time" : null;
const STDOUT = path.join(scratch, "stdout");
const REPORT = path.join(scratch, "report.json");

/**
 * Donjon's TypeScript sources are type-stripped as Node loads them, which
 * costs ~90 ms and ~30 MiB per process unless Node's compile cache holds the
 * result. The CLI enables the cache itself (\`module.enableCompileCache()\`);
 * the API runner gets it through NODE_COMPILE_CACHE, warmed by the discarded
 * first run, so that workload runs compare WASI hosts, not TypeScript loading.
 * The cold-start table shows both.
 */
const API_CACHE = { NODE_COMPILE_CACHE: path.join(scratch, "compile-cache") };

/** The parent's environment without anything that changes Node's compile cache. */
const baseEnv: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) {
  if (v !== undefined && k !== "NODE_COMPILE_CACHE" && k !== "NODE_DISABLE_COMPILE_CACHE") {
    baseEnv[k] = v;
  }
}

interface Spawned {
  wallMs: number;
  status: number | null;
  stderr: string;
  /** Peak RSS read by /usr/bin/time, KiB, when asked for and installed. */
  timeRss: number | null;
}

/** Run `argv` with stdout to STDOUT (a fresh file), stdin from /dev/null, stderr captured. */
function spawn(argv: string[], env: Record<string, string>, timeRss = false): Spawned {
  const out = fs.openSync(STDOUT, "w");
  const rssFile = path.join(scratch, "time-rss");
  const full = timeRss && TIME ? [TIME, "-f", "%M", "-o", rssFile, ...argv] : argv;
  const t0 = process.hrtime.bigint();
  const r = spawnSync(full[0]!, full.slice(1), {
    stdio: ["ignore", out, "pipe"],
    env: { ...baseEnv, ...env },
    maxBuffer: 64 << 20,
  });
  const wallMs = Number(process.hrtime.bigint() - t0) / 1e6;
  fs.closeSync(out);
  if (r.error) throw r.error;
  let rss: number | null = null;
  if (timeRss && TIME) rss = Number(fs.readFileSync(rssFile, "utf8").trim().split("\n").pop());
  return { wallMs, status: r.status, stderr: r.stderr.toString(), timeRss: rss };
}

function readReport(): Report {
  return JSON.parse(fs.readFileSync(REPORT, "utf8")) as Report;
}

/** What each workload's native build printed first, which every later run must match. */
const nativeOut = new Map<string, Buffer>();

function runWorkload(w: Workload, engine: Engine): Sample {
  const mod = w.module ?? w.name;
  const dir = w.dir ? fs.mkdtempSync(path.join(scratch, `${mod}-`)) : null;
  const wasm = path.join(WASM, `${mod}.wasm`);
  const args = (where: string | null) => w.args.map((a) => (a === "{dir}" ? (where ?? "") : a));
  const dirArgs = dir ? ["--dir", `${dir}::${GUEST_DIR}`] : [];
  fs.rmSync(REPORT, { force: true });
  try {
    let r: Spawned;
    switch (engine) {
      case "native":
        r = spawn([path.join(NATIVE, mod), ...args(dir)], {}, true);
        break;
      case "node:wasi":
        r = spawn(
          [NODE, ...NODE_FLAGS, RUNNERS["node:wasi"], ...dirArgs, wasm, ...args(GUEST_DIR)],
          { DONJON_BENCH_REPORT: REPORT },
        );
        break;
      case "donjon":
        r = spawn(
          [
            NODE,
            ...NODE_FLAGS,
            RUNNERS.donjon,
            ...dirArgs,
            ...(w.donjonFlags ?? []),
            wasm,
            ...args(GUEST_DIR),
          ],
          {
            DONJON_BENCH_REPORT: REPORT,
            ...API_CACHE,
          },
        );
        break;
      case "donjon run":
        r = spawn(
          [
            NODE,
            ...NODE_FLAGS,
            "--import",
            RSS_PROBE,
            CLI,
            "run",
            ...dirArgs,
            wasm,
            ...args(GUEST_DIR),
          ],
          { DONJON_BENCH_RSS: REPORT },
        );
        break;
    }
    const fail = (why: string) =>
      new Error(`${w.name} under ${engine}: ${why}\n${r.stderr.slice(-2000)}`);
    if (r.status !== 0) throw fail(`exit status ${r.status}`);
    const printed = fs.readFileSync(STDOUT);
    if (engine === "native" && !nativeOut.has(mod)) nativeOut.set(mod, printed);
    const bad = w.verify(printed, dir, nativeOut.get(mod) ?? null);
    if (bad) throw fail(bad);
    if (engine === "native")
      return { wallMs: r.wallMs, runMs: r.wallMs, cpuMs: null, rssKiB: r.timeRss };
    const rep = readReport();
    if (process.env.BENCH_DEBUG)
      process.stderr.write(`  ${w.name} ${engine} ${JSON.stringify(rep)}\n`);
    return {
      wallMs: r.wallMs,
      runMs: engine === "donjon run" ? r.wallMs : rep.runMs,
      cpuMs: engine === "donjon run" ? null : rep.runCpuMs,
      rssKiB: rep.maxRssKiB,
    };
  } finally {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `reps` samples of each engine, interleaved (A B C, then C B A, ...) so that
 * a drift in machine load hits every engine alike. One discarded warm-up run
 * each first fills the page cache and the compile caches.
 */
function measure<E extends string>(
  engines: readonly E[],
  reps: number,
  once: (e: E) => Sample,
): Map<E, Sample[]> {
  const samples = new Map<E, Sample[]>(engines.map((e) => [e, []]));
  for (const e of engines) once(e);
  for (let i = 0; i < reps; i++) {
    const order = i % 2 === 0 ? engines : [...engines].reverse();
    for (const e of order) samples.get(e)!.push(once(e));
  }
  return samples;
}

// ---- cold start -----------------------------------------------------------

const STARTERS = {
  "node:wasi": "node:wasi — `node bench/nodewasi-run.mjs hello.wasm`",
  "donjon run": `Donjon CLI — \`node ${CLI_REL} run hello.wasm\``,
  "donjon API": "Donjon API — `node bench/donjon-run.ts hello.wasm`, no compile cache",
  "donjon API, cached": "Donjon API, `NODE_COMPILE_CACHE` warm",
} as const;
type Starter = keyof typeof STARTERS;

function coldStart(reps: number): Map<Starter, Sample[]> {
  const hello = path.join(WASM, "hello.wasm");
  const argvOf = (s: Starter, probe: string[]): string[] => {
    switch (s) {
      case "node:wasi":
        return [NODE, ...NODE_FLAGS, ...probe, RUNNERS["node:wasi"], hello];
      case "donjon run":
        return [NODE, ...NODE_FLAGS, ...probe, CLI, "run", hello];
      case "donjon API":
      case "donjon API, cached":
        return [NODE, ...NODE_FLAGS, ...probe, RUNNERS.donjon, hello];
    }
  };
  const starters = Object.keys(STARTERS) as Starter[];
  const once = (s: Starter, probe: boolean): Sample => {
    fs.rmSync(REPORT, { force: true });
    const r = spawn(argvOf(s, probe ? ["--import", RSS_PROBE] : []), {
      ...(s === "donjon API, cached" ? API_CACHE : {}),
      ...(probe ? { DONJON_BENCH_RSS: REPORT } : {}),
    });
    if (r.status !== 0) throw new Error(`hello under ${s}: exit status ${r.status}\n${r.stderr}`);
    if (fs.readFileSync(STDOUT, "utf8") !== "Hello, world!\n")
      throw new Error(`hello under ${s}: no greeting\n${r.stderr}`);
    const rssKiB = probe ? readReport().maxRssKiB : null;
    return { wallMs: r.wallMs, runMs: r.wallMs, cpuMs: null, rssKiB };
  };
  // Timed runs load nothing but the runner itself; peak RSS comes from
  // separate runs with the probe preloaded.
  const timed = measure(starters, reps, (s) => once(s, false));
  const rss = measure(starters, 3, (s) => once(s, true));
  for (const s of starters) {
    const t = timed.get(s)!;
    const m = rss.get(s)!;
    for (let i = 0; i < t.length; i++) t[i]!.rssKiB = m[i % m.length]!.rssKiB;
  }
  return timed;
}

// ---- statistics and output -----------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function fmtMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

function fmtMiB(kib: number | null): string {
  return kib === null ? "—" : `${(kib / 1024).toFixed(1)} MiB`;
}

function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(3)}×`;
}

/** Median and the spread of the samples around it, as "1.23 s ±1.5%" (half the min–max range). */
function cell(xs: number[]): string {
  const m = median(xs);
  const spread = ((Math.max(...xs) - Math.min(...xs)) / 2 / m) * 100;
  return `${fmtMs(m)} ±${spread.toFixed(1)}%`;
}

function table(head: string[], rows: string[][]): string {
  const line = (r: string[]) => `| ${r.join(" | ")} |`;
  return [line(head), line(head.map(() => "---")), ...rows.map(line)].join("\n");
}

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1]!.trim();
  } catch {}
  return os.cpus()[0]?.model ?? "unknown";
}

// ---- main -----------------------------------------------------------------

/** Native builds, from `build-wasm.sh --native` or made here when missing or stale. */
function ensureNative(names: string[]): void {
  fs.mkdirSync(NATIVE, { recursive: true });
  for (const n of names) {
    const src = path.join(WASM, `${n}.c`);
    const bin = path.join(NATIVE, n);
    if (fs.existsSync(bin) && fs.statSync(bin).mtimeMs >= fs.statSync(src).mtimeMs) continue;
    process.stderr.write(`bench: gcc -O2 ${path.relative(ROOT, src)}\n`);
    const flags = ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"];
    const r = spawnSync("gcc", [...flags, "-o", bin, src, "-lm"], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`bench: cannot build ${n} natively (gcc -O2)`);
  }
}

const mark = (ok: boolean) => (ok ? "met" : "**missed**");

/** bench/attest.ts in a child process (its own heap and thread pool); its JSON result. */
function attestBench(quick: boolean): AttestBenchResult {
  const args = quick ? ["--iterations", "400", "--warmup", "50"] : [];
  const r = spawnSync(NODE, [path.join(ROOT, "bench/attest.ts"), "--json", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: baseEnv,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`bench/attest.ts: exit status ${r.status}\n${r.stderr}`);
  const result = JSON.parse(r.stdout.toString()) as AttestBenchResult;
  process.stderr.write(
    `       warm verifier ${Math.round(result.verifier)}/s, raw ${Math.round(result.raw)}/s: ${result.ratio.toFixed(3)}×\n`,
  );
  return result;
}

function main(): void {
  const opts = parseOptions(process.argv.slice(2));
  if (!process.version.startsWith("v24.")) {
    process.stderr.write(`bench: warning: Node ${process.version}; the project pins 24\n`);
  }
  const started = new Date();
  const load = os.loadavg()[0]!;
  const t0 = performance.now();
  let list = workloads(opts.quick);
  if (opts.only) list = list.filter((w) => opts.only!.some((o) => w.name.startsWith(o)));
  for (const name of ["hello", ...list.map((w) => w.module ?? w.name)]) {
    if (!fs.existsSync(path.join(WASM, `${name}.wasm`)))
      throw new Error(`bench: bench/wasm/${name}.wasm missing; run npm run build:wasm`);
  }
  ensureNative([
    ...new Set(list.filter((w) => w.engines.includes("native")).map((w) => w.module ?? w.name)),
  ]);

  const results: { w: Workload; s: Map<Engine, Sample[]> }[] = [];
  for (const w of list) {
    const reps = opts.reps ?? w.reps;
    process.stderr.write(`bench: ${w.name} (${w.what}), ${reps} runs per engine …\n`);
    const s = measure(w.engines, reps, (e) => runWorkload(w, e));
    results.push({ w, s });
    const parts = w.engines.map((e) => `${e} ${fmtMs(median(s.get(e)!.map((x) => x.runMs)))}`);
    process.stderr.write(`       ${parts.join(", ")}\n`);
  }
  let cold: Map<Starter, Sample[]> | null = null;
  if (!opts.only || opts.only.includes("hello")) {
    const reps = opts.reps ?? (opts.quick ? 5 : 30);
    process.stderr.write(`bench: cold start of hello.wasm, ${reps} runs each …\n`);
    cold = coldStart(reps);
  }
  let snp: AttestBenchResult | null = null;
  if (!opts.only || opts.only.includes("attest")) {
    process.stderr.write("bench: SEV-SNP verification, warm verifier vs raw P-384 …\n");
    snp = attestBench(opts.quick);
  }
  const elapsed = (performance.now() - t0) / 1000;

  // ---- tables
  const med = (xs: Sample[] | undefined, f: (x: Sample) => number | null) =>
    xs ? median(xs.map((x) => f(x) ?? Number.NaN)) : Number.NaN;
  const timeRows: string[][] = [];
  const cliRows: string[][] = [];
  const rssRows: string[][] = [];
  const verdicts: string[] = [];
  const verdict = (what: string, r: number, goal: number) => {
    verdicts.push(
      `${what}: ${ratio(r, 1)} (goal ≤ ${goal.toFixed(2)}×) — ${r <= goal ? "met" : "MISSED"}`,
    );
    return mark(r <= goal);
  };
  for (const { w, s } of results) {
    const run = (e: Engine) => med(s.get(e), (x) => x.runMs);
    const wall = (e: Engine) => med(s.get(e), (x) => x.wallMs);
    const rss = (e: Engine) => med(s.get(e), (x) => x.rssKiB);
    const runCell = (e: Engine) => (s.has(e) ? cell(s.get(e)!.map((x) => x.runMs)) : "—");
    const wallCell = (e: Engine) => (s.has(e) ? cell(s.get(e)!.map((x) => x.wallMs)) : "—");
    if (w.group !== "memory") {
      const goal = w.group === "cpu" ? 1.02 : 1.0;
      const cpu = (e: Engine) => med(s.get(e), (x) => x.cpuMs);
      const r = cpu("donjon") / cpu("node:wasi");
      timeRows.push([
        w.name,
        w.what,
        runCell("native"),
        runCell("node:wasi"),
        runCell("donjon"),
        ratio(run("donjon"), run("node:wasi")),
        `${fmtMs(cpu("node:wasi"))} / ${fmtMs(cpu("donjon"))} = ${ratio(cpu("donjon"), cpu("node:wasi"))}`,
        s.has("native") ? ratio(run("donjon"), run("native")) : "—",
        `≤ ${goal.toFixed(2)}×: ${verdict(`${w.name} time (CPU), Donjon / node:wasi`, r, goal)}`,
      ]);
    }
    if (s.has("donjon run")) {
      cliRows.push([
        w.name,
        wallCell("node:wasi"),
        wallCell("donjon"),
        wallCell("donjon run"),
        ratio(wall("donjon run"), wall("node:wasi")),
      ]);
    }
    rssRows.push([
      w.name,
      Number.isNaN(rss("native")) ? "—" : fmtMiB(rss("native")),
      fmtMiB(rss("node:wasi")),
      fmtMiB(rss("donjon")),
      `${ratio(rss("donjon"), rss("node:wasi"))} ${verdict(`${w.name} peak RSS, Donjon API / node:wasi`, rss("donjon") / rss("node:wasi"), 1.2)}`,
      s.has("donjon run") ? fmtMiB(rss("donjon run")) : "—",
      s.has("donjon run")
        ? `${ratio(rss("donjon run"), rss("node:wasi"))} ${verdict(`${w.name} peak RSS, donjon run / node:wasi`, rss("donjon run") / rss("node:wasi"), 1.2)}`
        : "—",
    ]);
  }
  const coldRows: string[][] = [];
  if (cold) {
    const base = med(cold.get("node:wasi"), (x) => x.wallMs);
    const baseRss = med(cold.get("node:wasi"), (x) => x.rssKiB);
    for (const [s, xs] of cold) {
      const m = med(xs, (x) => x.wallMs);
      const r = med(xs, (x) => x.rssKiB);
      let goal = "";
      if (s === "donjon run") {
        goal = `time ≤ 1.5×: ${verdict("cold start, donjon run / node:wasi", m / base, 1.5)}; RSS ≤ 1.2×: ${verdict("hello peak RSS, donjon run / node:wasi", r / baseRss, 1.2)}`;
      }
      coldRows.push([
        STARTERS[s],
        cell(xs.map((x) => x.wallMs)),
        ratio(m, base),
        fmtMiB(r),
        ratio(r, baseRss),
        goal,
      ]);
    }
  }

  const sections: string[] = [];
  if (timeRows.length) {
    sections.push(
      "## Time in `_start` (median wall time ± half the min–max range; CPU time of the guest's thread)",
      "",
      table(
        [
          "workload",
          "what",
          "native gcc -O2",
          "node:wasi",
          "Donjon",
          "Donjon / node:wasi",
          "CPU time: node:wasi / Donjon = ratio",
          "Donjon / native",
          "goal (on CPU time)",
        ],
        timeRows,
      ),
      "",
    );
  }
  if (cliRows.length) {
    sections.push(
      "## Whole process, `donjon run` (the CLI) included (median wall time)",
      "",
      table(
        [
          "workload",
          "node:wasi runner",
          "Donjon API runner",
          "`donjon run`",
          "`donjon run` / node:wasi",
        ],
        cliRows,
      ),
      "",
    );
  }
  sections.push(
    "## Peak RSS (median)",
    "",
    table(
      [
        "workload",
        "native",
        "node:wasi",
        "Donjon API",
        "API / node:wasi, goal ≤ 1.2×",
        "`donjon run`",
        "CLI / node:wasi, goal ≤ 1.2×",
      ],
      rssRows,
    ),
    "",
  );
  if (cold) {
    sections.push(
      "## Cold start of hello.wasm (whole process, median wall time)",
      "",
      table(["runner", "wall time", "/ node:wasi", "peak RSS", "/ node:wasi", "goal"], coldRows),
      "",
    );
  }
  if (snp) {
    sections.push(attestSection(snp));
    verdicts.push(
      `SEV-SNP reports verified per second, warm verifier / raw P-384 verify: ${snp.ratio.toFixed(3)}× (goal ≥ ${snp.goal.toFixed(2)}×) — ${snp.ratio >= snp.goal ? "met" : "MISSED"}`,
    );
  }
  const env = [
    `- Date: ${started.toISOString().replace(/\.\d+Z$/, "Z")}`,
    `- Node ${process.version} (V8 ${process.versions.v8}), ${os.type()} ${os.release()} ${os.arch()}`,
    `- CPU: ${cpuModel()}, ${os.cpus().length} cores; ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB memory; load average ${load.toFixed(2)} at start, ${os.loadavg()[0]!.toFixed(2)} at the end (1 min)`,
    `- ${opts.quick ? "`--quick` run" : "Full run"}${opts.reps ? `, ${opts.reps} runs per engine` : ""}; ${elapsed.toFixed(0)} s in all; scratch on ${path.dirname(scratch)}`,
  ].join("\n");
  const text = sections.join("\n");
  process.stdout.write(
    `\n${env}\n\n${text}\n## Goals\n\n${verdicts.map((v) => `- ${v}`).join("\n")}\n`,
  );
  if (opts.out) {
    fs.writeFileSync(opts.out, document(env, text, verdicts, opts));
    process.stderr.write(`bench: wrote ${path.relative(ROOT, opts.out)}\n`);
  }
}

function document(env: string, text: string, verdicts: string[], opts: Options): string {
  const findings = path.join(ROOT, "bench/FINDINGS.md");
  const notes = fs.existsSync(findings) ? `\n${fs.readFileSync(findings, "utf8").trim()}\n` : "";
  return `# Benchmarks

Written by \`npm run bench\` (\`bench/run.ts${opts.quick ? " --quick" : ""}\`): do not edit by hand.
The analysis at the end is \`bench/FINDINGS.md\`, copied in.

${env}

${text}
## Goals

${verdicts.map((v) => `- ${v}`).join("\n")}

## Method

- **Engines.** *Donjon* (the API runner) is \`bench/donjon-run.ts\`: \`new Wasi()\` from
  \`@donjon/wasi\` with \`HostFs\` preopens and \`hostStream\` stdio, in-process; its stdout
  holds small writes back as \`donjon run\` does on its main thread (the *unbuffered* row
  turns that off). *node:wasi* is \`bench/nodewasi-run.mjs\`: Node's built-in \`WASI\` with
  the same arguments, preopens and fds 0/1/2. Both compile the same \`bench/wasm/*.wasm\`
  with the same V8. *\`donjon run\`* is the CLI, \`${CLI_REL}\`. *native* is the same C
  built with \`gcc -O2\` (\`scripts/build-wasm.sh --native\`). \`bench/ab.ts\` A/B-tests a
  patched copy of the host against these runners.
- **One process per run.** Every run is a fresh child process, and the engines are
  interleaved (A B C D, D C B A, …) after one discarded warm-up run each. Separate
  processes rather than alternating in one, because V8 shares compiled wasm code
  between modules of the same bytes within a process (the second engine would start with
  the first one's optimised code), because each host's garbage (or lack of it) stays
  its own, and because peak RSS is only measurable per process.
- **Time** of a runner is the time spent in \`_start\`: compile and instantiate are the
  same V8 calls for both and belong to the cold start. Both its wall time and the CPU
  time (user + system) of the thread that runs the guest are recorded; **goals are judged
  on CPU time**, which other load on this shared 2-core machine cannot inflate by
  descheduling the guest (wall-time ratios are shown beside them). Native and
  \`donjon run\` are timed as whole processes by the parent (fork/exec included: ~1 ms).
- **Compile cache.** Donjon is TypeScript that Node type-strips as it loads it (~90 ms
  and ~30 MiB per process). The CLI turns Node's compile cache on; the API runner gets
  \`NODE_COMPILE_CACHE\` (warmed by the warm-up run) so that the workload tables compare
  WASI hosts. The cold-start table shows Donjon with and without the cache.
- **Peak RSS** is the child's VmHWM (\`/proc/self/status\`), read by the runner as it
  finishes, or, for the CLI, by \`bench/rss-probe.mjs\` preloaded with \`--import\` (in
  separate runs from the timed ones for the cold start). Not \`getrusage\`'s
  \`ru_maxrss\`: Linux carries that over \`execve\` from the forked copy of the parent, so
  every child would report at least the benchmark driver's own RSS. Native: \`/usr/bin/time
  -f %M\` when installed (its ~1 MiB floor is \`time\`'s own).
- **Scratch** (stdout files, smallfiles' directories) is on tmpfs (\`/dev/shm\`) unless
  \`--tmp DIR\`: on this machine's virtio ext4 the same smallfiles run takes 0.5 to 10 s
  depending on journal and discard traffic, which would measure the disk, not the host.
  smallfiles gets a fresh empty directory per run, preopened at \`${GUEST_DIR}\`.
  Every run's stdout goes to a file (fd 1 of the child, the same for every engine) and
  is checked: sha256's digest and nbody's energies must equal native's.
- **Goals** are ratios within this one run: CPU-bound ≤ 1.02× node:wasi; syscall-heavy
  ≤ 1.00×; cold start of \`donjon run\` ≤ 1.5×; peak RSS ≤ 1.2× on every workload. The
  ± shows how noisy a row is; a ratio within the noise is not a difference.
- **SEV-SNP verification** (\`bench/attest.ts\`, in a child process of its own): one real
  report (milan-v2-virtee) verified one at a time by a warm \`createSnpVerifier()\` (its
  chain cache filled by the warm-up) and, with the same key, signed region and signature,
  by raw \`crypto.subtle.verify\`; 2,000 iterations each after 200 warm-up, in 20
  interleaved rounds. The goal (≥ 0.9× raw) is judged on the median of the per-round
  ratios. WebCrypto runs ECDSA on libuv's thread pool, so both include one round trip to it.
${notes}`;
}

main();
