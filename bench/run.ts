/**
 * `npm run bench`: Donjon's WASI host against Node's built-in `node:wasi` on
 * the same modules, and against the same C compiled natively (gcc -O2).
 *
 *   node bench/run.ts [--quick] [--reps N] [--only NAME,...] [--tmp DIR] [--out FILE | --no-write]
 *
 * `--only` takes workload names (or their beginnings) and the sections
 * `hello` (cold start and peak memory of hello.wasm, `donjon run` on
 * backends nil and sandbox included), `stdout` (stdout throughput of a
 * sandbox Keep's channel against nil's direct write), `attest` (SEV-SNP
 * verification throughput, bench/attest.ts in a child process of its own),
 * `dcap` (Intel SGX/TDX quote verification throughput, bench/dcap.ts likewise)
 * and `net` (requests/s and MiB/s through a sandbox Keep's TLS listen socket
 * against the same C natively and plain Node TLS, bench/net.ts likewise).
 *
 * `donjon run` rows name their backend: the workload rows measure
 * `--backend nil` (in process, as before backends existed); the sandbox Keep
 * (`--backend sandbox`, a locked-down Node process under bubblewrap) has rows
 * of its own. Sandbox runs get a fresh XDG_STATE_HOME in the scratch
 * directory (their sandbox key and the Keep's compile cache).
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
import { median } from "./_stats.ts";
import { type AttestBenchResult, attestSection } from "./attest.ts";
import { type DcapBenchResult, dcapSection } from "./dcap.ts";
import { type NetBenchResult, netRatios, netSection } from "./net.ts";
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
const TREE_RSS = path.join(ROOT, "bench/tree-rss.mjs");
const DRAIN = path.join(ROOT, "bench/drain.mjs");

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
  /**
   * Cold start only, from bench/tree-rss.mjs: the root process's peak (the
   * larger of its exact VmHWM at exit and the last poll), the sum of the
   * peaks of every other process in its tree, and the largest sum of VmRSS
   * seen in one poll. `rssKiB` is then `rootKiB + restKiB`.
   */
  tree?: {
    rootKiB: number;
    restKiB: number;
    maxSumRssKiB: number;
    processes: number;
    /** The root's last poll minus its exact VmHWM at exit: how much polling misses (if < 0). */
    pollErrorKiB: number;
  };
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

/**
 * The parent's environment without anything that changes Node's compile
 * cache, and with a state directory of this run's own: `donjon run --backend
 * sandbox` keeps the host's sandbox key and the Keep runtime's compile cache
 * in $XDG_STATE_HOME/donjon (created by the first, discarded, run).
 */
const baseEnv: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) {
  if (v !== undefined && k !== "NODE_COMPILE_CACHE" && k !== "NODE_DISABLE_COMPILE_CACHE") {
    baseEnv[k] = v;
  }
}
baseEnv.XDG_STATE_HOME = path.join(scratch, "state");
fs.mkdirSync(baseEnv.XDG_STATE_HOME, { mode: 0o700 });

/** Where a program is on `PATH`, or null (as the donjon host looks bwrap and prlimit up). */
function which(cmd: string, searchPath = process.env.PATH ?? ""): string | null {
  for (const dir of searchPath.split(":")) {
    if (dir === "") continue;
    const p = path.join(dir, cmd);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {}
  }
  return null;
}
const BWRAP = which("bwrap");
/**
 * A PATH without bubblewrap, for the sandbox Keep without it: one directory
 * holding only prlimit (the host's other lookup), so that nothing but bwrap's
 * absence differs. The host finds both through PATH; the Keep gets no PATH.
 */
const NO_BWRAP_PATH = (() => {
  const dir = path.join(scratch, "no-bwrap-bin");
  fs.mkdirSync(dir);
  const prlimit = which("prlimit");
  if (prlimit) fs.symlinkSync(prlimit, path.join(dir, "prlimit"));
  return dir;
})();

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
            "--backend",
            "nil",
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
  "donjon run, nil": `Donjon CLI, in process — \`node ${CLI_REL} run --backend nil hello.wasm\``,
  "donjon run, sandbox": `Donjon CLI, sandbox Keep — \`… run --backend sandbox hello.wasm\`${BWRAP ? " (bubblewrap)" : " (no bubblewrap here)"}`,
  "donjon run, sandbox, no bwrap": "Donjon CLI, sandbox Keep, bwrap not on PATH",
  "donjon API": "Donjon API — `node bench/donjon-run.ts hello.wasm`, no compile cache",
  "donjon API, cached": "Donjon API, `NODE_COMPILE_CACHE` warm",
} as const;
type Starter = keyof typeof STARTERS;
const STARTER_LIST = (Object.keys(STARTERS) as Starter[]).filter(
  // Without bubblewrap installed the sandbox row already runs without it.
  (s) => s !== "donjon run, sandbox, no bwrap" || BWRAP !== null,
);

const TREE_REPORT = path.join(scratch, "tree.json");

interface TreeReport {
  sumPeakKiB: number;
  maxSumRssKiB: number;
  polls: number;
  processes: { pid: number; name: string; hwmKiB: number }[];
}

function coldStart(reps: number, rssReps: number): Map<Starter, Sample[]> {
  const hello = path.join(WASM, "hello.wasm");
  const argvOf = (s: Starter, probe: string[]): string[] => {
    switch (s) {
      case "node:wasi":
        return [NODE, ...NODE_FLAGS, ...probe, RUNNERS["node:wasi"], hello];
      case "donjon run, nil":
        return [NODE, ...NODE_FLAGS, ...probe, CLI, "run", "--backend", "nil", hello];
      case "donjon run, sandbox":
      case "donjon run, sandbox, no bwrap":
        return [NODE, ...NODE_FLAGS, ...probe, CLI, "run", "--backend", "sandbox", hello];
      case "donjon API":
      case "donjon API, cached":
        return [NODE, ...NODE_FLAGS, ...probe, RUNNERS.donjon, hello];
    }
  };
  const once = (s: Starter, probe: boolean): Sample => {
    fs.rmSync(REPORT, { force: true });
    fs.rmSync(TREE_REPORT, { force: true });
    const argv = argvOf(s, probe ? ["--import", RSS_PROBE] : []);
    const r = spawn(probe ? [NODE, TREE_RSS, TREE_REPORT, "--", ...argv] : argv, {
      ...(s === "donjon API, cached" ? API_CACHE : {}),
      ...(s === "donjon run, sandbox, no bwrap" ? { PATH: NO_BWRAP_PATH } : {}),
      ...(probe ? { DONJON_BENCH_RSS: REPORT } : {}),
    });
    if (r.status !== 0) throw new Error(`hello under ${s}: exit status ${r.status}\n${r.stderr}`);
    if (fs.readFileSync(STDOUT, "utf8") !== "Hello, world!\n")
      throw new Error(`hello under ${s}: no greeting\n${r.stderr}`);
    if (!probe) return { wallMs: r.wallMs, runMs: r.wallMs, cpuMs: null, rssKiB: null };
    const t = JSON.parse(fs.readFileSync(TREE_REPORT, "utf8")) as TreeReport;
    const [root, ...rest] = t.processes;
    if (!root) throw new Error(`hello under ${s}: tree-rss saw no process`);
    const sandbox = s.startsWith("donjon run, sandbox");
    if (sandbox !== rest.length > 0)
      throw new Error(`hello under ${s}: ${rest.length} processes besides the root`);
    // The exact VmHWM read at the root's "exit" event, or the last poll if later (Node frees and allocates a little after "exit").
    const exact = readReport().maxRssKiB;
    const rootKiB = Math.max(exact, root.hwmKiB);
    const restKiB = rest.reduce((a, p) => a + p.hwmKiB, 0);
    return {
      wallMs: r.wallMs,
      runMs: r.wallMs,
      cpuMs: null,
      rssKiB: rootKiB + restKiB,
      tree: {
        rootKiB,
        restKiB,
        maxSumRssKiB: t.maxSumRssKiB,
        processes: t.processes.length,
        pollErrorKiB: root.hwmKiB - exact,
      },
    };
  };
  // Timed runs load nothing but the runner itself; peak RSS comes from
  // separate runs with the probes (tree-rss around, rss-probe preloaded).
  const timed = measure(STARTER_LIST, reps, (s) => once(s, false));
  const rss = measure(STARTER_LIST, rssReps, (s) => once(s, true));
  for (const s of STARTER_LIST) {
    const t = timed.get(s)!;
    const m = rss.get(s)!;
    for (let i = 0; i < t.length; i++) {
      t[i]!.rssKiB = m[i % m.length]!.rssKiB;
    }
  }
  coldRss = rss;
  return timed;
}
/** The probe runs of the last coldStart(), for the memory table. */
let coldRss: Map<Starter, Sample[]> | null = null;

// ---- stdout throughput -----------------------------------------------------

/** The two ways `donjon run` gets a workload's stdout to fd 1. */
const OUT_ENGINES = {
  nil: "`--backend nil`: the host's own fd 1, small writes held back",
  sandbox: "`--backend sandbox`: worker → ring → Keep I/O thread → STDOUT frames → host → fd 1",
} as const;
type OutEngine = keyof typeof OUT_ENGINES;

/** Write sizes for bench/wasm/stdoutbulk.wasm: large, and what C's stdio flushes (BUFSIZ). */
const OUT_SIZES = [1 << 20, 1024] as const;

interface DrainReport {
  bytes: number;
  reads: number;
  firstMs: number | null;
  lastMs: number | null;
  head: string;
  tail: string;
}

interface OutSample {
  /** Whole pipeline (donjon run and the drain), ms. */
  wallMs: number;
  /** From the spawn to the first byte at the drain, ms. */
  firstByteMs: number;
  /** Bytes per second from the first byte to the last, MiB/s. */
  mibPerS: number;
}

const DRAIN_REPORT = path.join(scratch, "drain.json");

/**
 * `donjon run --backend ENGINE stdoutbulk.wasm MIB SIZE` with its stdout a
 * pipe to bench/drain.mjs (through /bin/sh, which makes the pipe). The rate
 * is taken where the bytes arrive, first byte to last, so that the engines'
 * different start-up times do not count as channel time.
 */
function runStdout(engine: OutEngine, mib: number, size: number): OutSample {
  fs.rmSync(DRAIN_REPORT, { force: true });
  const argv = [
    NODE,
    ...NODE_FLAGS,
    CLI,
    "run",
    "--backend",
    engine,
    path.join(WASM, "stdoutbulk.wasm"),
    String(mib),
    String(size),
  ];
  const t0 = performance.timeOrigin + performance.now();
  const r = spawn(
    ["/bin/sh", "-c", '"$@" | "$BENCH_NODE" "$BENCH_DRAIN" "$BENCH_DRAIN_REPORT"', "sh", ...argv],
    {
      BENCH_NODE: NODE,
      BENCH_DRAIN: DRAIN,
      BENCH_DRAIN_REPORT: DRAIN_REPORT,
    },
  );
  const what = `stdoutbulk ${mib} MiB in ${size} B writes under ${engine}`;
  if (r.status !== 0) throw new Error(`${what}: exit status ${r.status}\n${r.stderr.slice(-2000)}`);
  const d = JSON.parse(fs.readFileSync(DRAIN_REPORT, "utf8")) as DrainReport;
  const lines = mib << 16;
  const last = `line ${String(lines - 1).padStart(10, "0")}\n`;
  if (d.bytes !== mib << 20 || d.head !== "line 0000000000\n" || d.tail !== last)
    throw new Error(
      `${what}: ${d.bytes} bytes, first ${JSON.stringify(d.head)}, last ${JSON.stringify(d.tail)}\n${r.stderr}`,
    );
  const span = (d.lastMs! - d.firstMs!) / 1000;
  return { wallMs: r.wallMs, firstByteMs: d.firstMs! - t0, mibPerS: mib / span };
}

function stdoutThroughput(
  mib: number,
  reps: number,
): { size: number; s: Map<OutEngine, OutSample[]> }[] {
  const engines = Object.keys(OUT_ENGINES) as OutEngine[];
  return OUT_SIZES.map((size) => {
    // measure() deals in Samples (and drops the warm-up runs): map them back.
    const of = new Map<Sample, OutSample>();
    const samples = measure(engines, reps, (e) => {
      const x = runStdout(e, mib, size);
      const sample: Sample = { wallMs: x.wallMs, runMs: x.wallMs, cpuMs: null, rssKiB: null };
      of.set(sample, x);
      return sample;
    });
    const s = new Map<OutEngine, OutSample[]>();
    for (const e of engines)
      s.set(
        e,
        samples.get(e)!.map((x) => of.get(x)!),
      );
    return { size, s };
  });
}

// ---- statistics and output -----------------------------------------------

function fmtMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  return `${ms.toFixed(1)} ms`;
}

function fmtBytes(n: number): string {
  return n >= 1 << 20 ? `${n / (1 << 20)} MiB` : n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
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

/** bench/dcap.ts in a child process (its own heap and thread pool); its JSON result. */
function dcapBench(quick: boolean): DcapBenchResult {
  const args = quick ? ["--iterations", "400", "--warmup", "50"] : [];
  const r = spawnSync(NODE, [path.join(ROOT, "bench/dcap.ts"), "--json", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: baseEnv,
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`bench/dcap.ts: exit status ${r.status}\n${r.stderr}`);
  const result = JSON.parse(r.stdout.toString()) as DcapBenchResult;
  process.stderr.write(
    `       attestDcap ${Math.round(result.attest)}/s, raw ${Math.round(result.raw)}/s: ${result.ratio.toFixed(3)}×\n`,
  );
  return result;
}

/** bench/net.ts in a child process (it starts and stops its three servers); its JSON result. */
function netBench(quick: boolean): NetBenchResult {
  const r = spawnSync(
    NODE,
    [path.join(ROOT, "bench/net.ts"), "--json", ...(quick ? ["--quick"] : [])],
    // Its progress lines go straight to our stderr; a hung run is stopped (it kills its servers on SIGTERM).
    { stdio: ["ignore", "pipe", "inherit"], env: baseEnv, timeout: 300_000 },
  );
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`bench/net.ts: exit status ${r.status ?? r.signal}`);
  return JSON.parse(r.stdout.toString()) as NetBenchResult;
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
  for (const name of ["hello", "stdoutbulk", ...list.map((w) => w.module ?? w.name)]) {
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
    const rssReps = opts.quick ? Math.min(reps, 3) : 7;
    process.stderr.write(
      `bench: cold start of hello.wasm, ${reps} runs each, and ${rssReps} with peak memory probes …\n`,
    );
    cold = coldStart(reps, rssReps);
    const parts = [...cold].map(([s, xs]) => `${s} ${fmtMs(median(xs.map((x) => x.wallMs)))}`);
    process.stderr.write(`       ${parts.join(", ")}\n`);
  }
  let out: ReturnType<typeof stdoutThroughput> | null = null;
  const outMiB = opts.quick ? 8 : 64;
  if (!opts.only || opts.only.includes("stdout")) {
    const reps = opts.reps ?? (opts.quick ? 2 : 7);
    process.stderr.write(
      `bench: stdout throughput, ${outMiB} MiB to a pipe, nil vs sandbox, ${reps} runs each …\n`,
    );
    out = stdoutThroughput(outMiB, reps);
    for (const { size, s } of out) {
      const parts = [...s].map(
        ([e, xs]) => `${e} ${median(xs.map((x) => x.mibPerS)).toFixed(0)} MiB/s`,
      );
      process.stderr.write(`       ${fmtBytes(size)} writes: ${parts.join(", ")}\n`);
    }
  }
  let snp: AttestBenchResult | null = null;
  if (!opts.only || opts.only.includes("attest")) {
    process.stderr.write("bench: SEV-SNP verification, warm verifier vs raw P-384 …\n");
    snp = attestBench(opts.quick);
  }
  let dcap: DcapBenchResult | null = null;
  if (!opts.only || opts.only.includes("dcap")) {
    process.stderr.write("bench: Intel DCAP verification, warm attestDcap vs two raw P-256 …\n");
    dcap = dcapBench(opts.quick);
  }
  let netResult: NetBenchResult | null = null;
  if (!opts.only || opts.only.includes("net")) {
    process.stderr.write(
      "bench: network, a sandbox Keep's TLS socket vs native (plain HTTP) vs plain Node TLS …\n",
    );
    netResult = netBench(opts.quick);
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
  const verdictAtLeast = (what: string, r: number, goal: number) => {
    verdicts.push(
      `${what}: ${ratio(r, 1)} (goal ≥ ${goal.toFixed(2)}×) — ${r >= goal ? "met" : "MISSED"}`,
    );
    return mark(r >= goal);
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
  const memRows: string[][] = [];
  if (cold) {
    const base = med(cold.get("node:wasi"), (x) => x.wallMs);
    const rssOf = (st: Starter) => coldRss?.get(st);
    const baseRss = med(rssOf("node:wasi"), (x) => x.rssKiB);
    for (const [s, xs] of cold) {
      const m = med(xs, (x) => x.wallMs);
      const r = med(rssOf(s), (x) => x.rssKiB);
      let goal = "";
      if (s === "donjon run, nil") {
        goal = `time ≤ 1.5×: ${verdict("cold start, donjon run --backend nil / node:wasi", m / base, 1.5)}; RSS ≤ 1.2×: ${verdict("hello peak RSS, donjon run --backend nil / node:wasi", r / baseRss, 1.2)}`;
      } else if (s === "donjon run, sandbox") {
        goal = `time ≤ 3×: ${verdict("cold start, donjon run --backend sandbox / node:wasi", m / base, 3)}; memory ≤ 2.5×: ${verdict("hello peak memory of host + Keep processes, sandbox / node:wasi", r / baseRss, 2.5)}`;
      }
      coldRows.push([
        STARTERS[s],
        cell(xs.map((x) => x.wallMs)),
        ratio(m, base),
        fmtMiB(r),
        ratio(r, baseRss),
        goal,
      ]);
      const t = rssOf(s);
      if (t?.[0]?.tree && (s === "node:wasi" || s.startsWith("donjon run"))) {
        const f = (g: (x: NonNullable<Sample["tree"]>) => number) => med(t, (x) => g(x.tree!));
        memRows.push([
          s,
          String(t[0].tree.processes),
          fmtMiB(f((x) => x.rootKiB)),
          s.startsWith("donjon run, sandbox") ? fmtMiB(f((x) => x.restKiB)) : "—",
          fmtMiB(r),
          ratio(r, baseRss),
          fmtMiB(f((x) => x.maxSumRssKiB)),
          ratio(
            f((x) => x.maxSumRssKiB),
            med(rssOf("node:wasi"), (x) => x.tree!.maxSumRssKiB),
          ),
          `${Math.min(...t.map((x) => x.tree!.pollErrorKiB))} to ${Math.max(...t.map((x) => x.tree!.pollErrorKiB))} KiB`,
        ]);
      }
    }
  }
  const outRows: string[][] = [];
  if (out) {
    for (const { size, s } of out) {
      const rate = (e: OutEngine) => median(s.get(e)!.map((x) => x.mibPerS));
      const r = rate("sandbox") / rate("nil");
      for (const e of Object.keys(OUT_ENGINES) as OutEngine[]) {
        const xs = s.get(e)!;
        outRows.push([
          `${fmtBytes(size)} writes`,
          OUT_ENGINES[e],
          `${rate(e).toFixed(0)} MiB/s ±${(((Math.max(...xs.map((x) => x.mibPerS)) - Math.min(...xs.map((x) => x.mibPerS))) / 2 / rate(e)) * 100).toFixed(1)}%`,
          e === "nil" ? "1.000×" : ratio(r, 1),
          fmtMs(median(xs.map((x) => x.firstByteMs))),
          cell(xs.map((x) => x.wallMs)),
          e === "nil"
            ? ""
            : `≥ 0.5×: ${verdictAtLeast(`stdout throughput in ${fmtBytes(size)} writes, sandbox / nil`, r, 0.5)}`,
        ]);
      }
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
      "## Whole process, `donjon run --backend nil` (the CLI, in process) included (median wall time)",
      "",
      table(
        [
          "workload",
          "node:wasi runner",
          "Donjon API runner",
          "`donjon run --backend nil`",
          "`donjon run --backend nil` / node:wasi",
        ],
        cliRows,
      ),
      "",
    );
  }
  if (rssRows.length)
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
          "`donjon run --backend nil`",
          "CLI / node:wasi, goal ≤ 1.2×",
        ],
        rssRows,
      ),
      "",
    );
  if (cold) {
    sections.push(
      "## Cold start of hello.wasm (whole process, median wall time; peak memory of its process tree)",
      "",
      table(["runner", "wall time", "/ node:wasi", "peak memory", "/ node:wasi", "goal"], coldRows),
      "",
      "## Peak memory of hello.wasm's processes (median of the probe runs)",
      "",
      "The host is the process started (`node …`); the Keep is everything it started (bwrap, its",
      "sandbox's init, the Keep's Node). Sum of peaks: each process's own VmHWM added up (an upper",
      "bound of the tree's peak; what the goal is judged on). Largest simultaneous sum: the most",
      "VmRSS seen at one poll of the whole tree (a lower bound). The last column checks the polling",
      "on the host, whose exact VmHWM at exit rss-probe.mjs reads: last poll minus exact, over the",
      "probe runs (negative: growth the polls missed).",
      "",
      table(
        [
          "runner",
          "processes",
          "host (root) peak",
          "Keep processes' peaks",
          "sum of peaks",
          "/ node:wasi",
          "largest simultaneous sum",
          "/ node:wasi",
          "host: last poll − exact",
        ],
        memRows,
      ),
      "",
    );
  }
  if (out) {
    sections.push(
      `## stdout throughput: ${outMiB} MiB from \`stdoutbulk.wasm\` to a pipe (median rate, first byte to last, at the reader)`,
      "",
      table(
        [
          "writes",
          "`donjon run`",
          "rate",
          "sandbox / nil",
          "first byte after",
          "whole pipeline",
          "goal",
        ],
        outRows,
      ),
      "",
    );
  }
  if (snp) {
    sections.push(attestSection(snp));
    verdicts.push(
      `SEV-SNP reports verified per second, warm verifier / raw P-384 verify: ${snp.ratio.toFixed(3)}× (goal ≥ ${snp.goal.toFixed(2)}×) — ${snp.ratio >= snp.goal ? "met" : "MISSED"}`,
    );
  }
  if (dcap) {
    sections.push(dcapSection(dcap));
    verdicts.push(
      `Intel DCAP quotes verified per second, warm attestDcap / two raw P-256 verifies: ${dcap.ratio.toFixed(3)}× (goal ≥ ${dcap.goal.toFixed(2)}×) — ${dcap.ratio >= dcap.goal ? "met" : "MISSED"}`,
    );
  }
  if (netResult) {
    sections.push(netSection(netResult));
    verdicts.push(...netRatios(netResult));
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
  with the same V8. *\`donjon run\`* is the CLI, \`${CLI_REL}\`, with \`--backend nil\`
  (the workload in the CLI's own process) wherever the backend is not named: the rows
  measured that path before backends existed and keep their meaning. The *sandbox* rows
  are \`donjon run --backend sandbox\`: the host process starts the Keep, a second Node
  process under the permission model and (when bwrap is on PATH) bubblewrap, and relays
  its stdio from the sallyport channel. They run with \`XDG_STATE_HOME\` in the scratch
  directory: the first (discarded) run creates the sandbox key and fills the Keep's
  compile cache there, as a user's first \`donjon run\` does. The *no bwrap* row puts on
  PATH a directory holding only \`prlimit\`, so the host finds no bubblewrap. *native* is the same C
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
- **Peak memory of a process tree** (cold start): \`bench/tree-rss.mjs\` starts the runner
  and polls its process tree every millisecond (\`/proc/PID/task/*/children\`, recursively),
  keeping each process's last \`VmHWM\`; the root's figure is the larger of that and
  \`rss-probe.mjs\`'s exact reading. The goal is judged on the **sum of the per-process
  peaks** (host + bwrap + the Keep's Node; an upper bound, as the peaks need not
  coincide, and shared pages such as the node binary's code count once per process); the
  largest sum of \`VmRSS\` seen in one poll (a lower bound) is shown beside it. These are
  separate runs from the timed ones.
- **stdout throughput**: \`bench/wasm/stdoutbulk.wasm\` writes 64 MiB of 16-byte lines in
  \`write(2)\`s of 1 MiB or of 1 KiB (BUFSIZ of C's stdio); its stdout is a pipe (made by
  \`/bin/sh\`) to \`bench/drain.mjs\`, which counts and checks the bytes and notes when the
  first and the last arrived. The rate is bytes over that span, so start-up is not counted
  (the first-byte column shows it); the goal compares the sandbox's rate with nil's, whose
  host writes to fd 1 itself.
- **Scratch** (stdout files, smallfiles' directories) is on tmpfs (\`/dev/shm\`) unless
  \`--tmp DIR\`: on this machine's virtio ext4 the same smallfiles run takes 0.5 to 10 s
  depending on journal and discard traffic, which would measure the disk, not the host.
  smallfiles gets a fresh empty directory per run, preopened at \`${GUEST_DIR}\`.
  Every run's stdout goes to a file (fd 1 of the child, the same for every engine) and
  is checked: sha256's digest and nbody's energies must equal native's.
- **Goals** are ratios within this one run: CPU-bound ≤ 1.02× node:wasi; syscall-heavy
  ≤ 1.00×; cold start of \`donjon run\` (nil) ≤ 1.5×; peak RSS ≤ 1.2× on every workload;
  sandbox: cold start ≤ 3×, peak memory of host + Keep ≤ 2.5× (both against node:wasi),
  stdout throughput ≥ 0.5× nil's. The
  ± shows how noisy a row is; a ratio within the noise is not a difference.
- **SEV-SNP verification** (\`bench/attest.ts\`, in a child process of its own): one real
  report (milan-v2-virtee) verified one at a time by a warm \`createSnpVerifier()\` (its
  chain cache filled by the warm-up) and, with the same key, signed region and signature,
  by raw \`crypto.subtle.verify\`; 2,000 iterations each after 200 warm-up, in 20
  interleaved rounds. The goal (≥ 0.9× raw) is judged on the median of the per-round
  ratios. WebCrypto runs ECDSA on libuv's thread pool, so both include one round trip to it.
- **Intel DCAP verification** (\`bench/dcap.ts\`, in a child process of its own): real
  quotes (tdx/automata-v5-90c06f000000-alibaba, TDX v5 with both CRLs; sgx/phala-v3 for
  context) through \`attestDcap\` one at a time with a reused \`createDcapVerifier()\` and
  the same collateral object (warm: no collateral crypto, only windows re-judged), against
  the quote's two P-256 verifications (quote signature, QE report signature) as two
  sequential raw \`crypto.subtle.verify\` calls; 2,000 iterations each after 200 warm-up, in
  20 interleaved rounds. The goal (≥ 0.8× raw) is judged on the median of the per-round ratios.
- **Network** (\`bench/net.ts\`, in a child process of its own, which starts and stops the
  three servers): its section says what is measured and how; no goal is set, the Goals list
  repeats its ratios.
${notes}`;
}

main();
