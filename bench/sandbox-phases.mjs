// Where a sandbox Keep's start-up time goes (the break-down in
// bench/FINDINGS.md; not part of `npm run bench`):
//
//   node bench/sandbox-phases.mjs [--reps N]
//
// Prints three tables of medians over N runs (default 7, after one discarded
// warm-up; every run a fresh process, the variants interleaved):
//   - floor: bare process costs — `node -e 0`, the same in the Keep's
//     bubblewrap and permission flags (keepCommand() with the entry replaced),
//     `bwrap … true`, and a Node process with one empty worker (time and peak
//     RSS);
//   - host: what `donjon run --backend sandbox` loads and does before it
//     spawns the Keep, each step timed in one fresh process, in the CLI's
//     order (compile cache on, as bin/donjon.js has it), and what loading
//     the sandbox key costs (the CLI no longer does it per run);
//   - Keep: runKeep() on hello.wasm as the CLI calls it, with the time from
//     the call to the EVIDENCE frame, to the first stdout bytes and to the
//     channel's close — with bubblewrap, without, and without the Keep's
//     compile cache.
// Plain JavaScript, like bin/donjon.js, so that the compile cache is on
// before any TypeScript loads. State (sandbox key, caches) lives in a temp dir.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import module from "node:module";
import * as os from "node:os";
import * as path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "..");
const SRC = path.join(ROOT, "packages/keep/src");
const HELLO = path.join(ROOT, "bench/wasm/hello.wasm");
const SELF = import.meta.filename;

const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const part = opt("--part");
/** The temp dir with the sandbox key and the caches (the driver makes it, the parts get --state). */
let state = opt("--state");

const now = () => performance.now();
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const which = (cmd) =>
  (process.env.PATH ?? "")
    .split(":")
    .map((d) => path.join(d, cmd))
    .find((p) => {
      try {
        fs.accessSync(p, fs.constants.X_OK);
        return true;
      } catch {
        return false;
      }
    }) ?? null;

function peakKiB() {
  return Number(/^VmHWM:\s*(\d+) kB$/m.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]);
}

/** The options `donjon run --backend sandbox hello.wasm` gives runKeep. */
function launch(variant, marks, t0) {
  return {
    backend: "sandbox",
    plan: { args: ["hello.wasm"], env: {}, stdio: ["null", "stdout", "stderr"], dirs: [] },
    limits: { memoryPages: 16384, timeoutMs: null, outputBytes: null },
    module: fs.readFileSync(HELLO),
    config: new Uint8Array(0),
    nodePath: process.execPath,
    bwrap: variant === "no bwrap" ? null : which("bwrap"),
    prlimit: null,
    stateDir: path.join(state, "donjon"),
    compileCache: variant === "no compile cache" ? null : path.join(state, "donjon/keep-cache"),
    stdout: () => {
      marks.stdout ??= now() - t0;
    },
    stderr: (b) => process.stderr.write(b),
    openStdin: () => ({ next: async () => null, close() {} }),
    onEvidence: () => {
      marks.evidence = now() - t0;
    },
  };
}

// ---- the parts, each in a process of its own --------------------------------

async function runPart() {
  module.enableCompileCache(path.join(state, "bench-cache"));
  const out = {};
  const step = async (name, f) => {
    const t = now();
    await f();
    out[name] = now() - t;
  };
  if (part === "host") {
    // run.ts imports the module check statically (`module.ts`, which takes
    // WASI_IMPORTS from @donjon/wasi/imports); the nil path loads on demand.
    await step("the module check (`@donjon/keep/module`, `wasm`, `error`)", () =>
      Promise.all(["module.ts", "wasm.ts", "error.ts"].map((f) => import(`${SRC}/${f}`))),
    );
    let mods;
    await step("backend table and platform port modules", async () => {
      mods = await Promise.all([import(`${SRC}/backends.ts`), import(`${SRC}/platform_node.ts`)]);
    });
    await step("probes", () => {
      const reports = mods[0].probeBackends(mods[1].nodePlatformPort({ path: process.env.PATH }));
      mods[0].pickBackend("sandbox", reports);
    });
    let key;
    await step("`host` and `sandbox-key` modules", async () => {
      [, key] = await Promise.all([import(`${SRC}/host.ts`), import(`${SRC}/sandbox_key.ts`)]);
    });
    // Since c4dc1fe the CLI only checks that the key file exists; the Keep loads it.
    await step("loading the sandbox key (the CLI now only stats it; the Keep loads it)", () =>
      key.loadOrCreateSandboxKey({ stateDir: path.join(state, "donjon") }),
    );
  } else if (part.startsWith("keep:")) {
    const { runKeep } = await import(`${SRC}/host.ts`);
    const marks = {};
    const t0 = now();
    const r = await runKeep(launch(part.slice(5), marks, t0));
    if (r.kind !== "exit" || r.code !== 0) throw new Error(`Keep: ${JSON.stringify(r)}`);
    Object.assign(out, marks, { closed: now() - t0 });
  } else if (part === "worker") {
    const { Worker } = await import("node:worker_threads");
    const w = new Worker("0", { eval: true });
    await new Promise((res) => w.on("exit", res));
    out.peakKiB = peakKiB();
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

// ---- the driver ------------------------------------------------------------

function spawnTimed(cmd, args) {
  const t = now();
  const r = spawnSync(cmd, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { PATH: process.env.PATH },
  });
  const ms = now() - t;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")}: ${r.status}\n${r.stderr}`);
  return { ms, out: r.stdout.toString() };
}

async function main() {
  const reps = Number(opt("--reps") ?? 7);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-phases-"));
  state = dir;
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, "donjon/keep-cache"), { recursive: true, mode: 0o700 });
  const partArgs = (p) => [SELF, "--part", p, "--state", dir];

  const { keepCommand } = await import(`${SRC}/host.ts`);
  const { loadOrCreateSandboxKey } = await import(`${SRC}/sandbox_key.ts`);
  await loadOrCreateSandboxKey({ stateDir: path.join(dir, "donjon") });
  const bwrap = which("bwrap");
  // The Keep's command line with `-e 0` (or `true`) for the Keep runtime.
  const keepArgv = (tail, withNode = true) => {
    const o = launch(bwrap ? "bwrap" : "no bwrap", {}, 0);
    const { command, args } = keepCommand(o);
    const full = [command, ...args];
    const entry = full.findIndex((a) => a.endsWith("packages/keep/bin/keep.js"));
    if (withNode) return [...full.slice(0, entry), ...tail];
    const node = full.indexOf(process.execPath);
    return [...full.slice(0, node), ...tail];
  };

  const floor = {
    "`node -e 0`": () => spawnTimed(process.execPath, ["-e", "0"]).ms,
    "the Keep's command line with `-e 0` for the runtime": () => {
      const a = keepArgv(["-e", "0"]);
      return spawnTimed(a[0], a.slice(1)).ms;
    },
    ...(bwrap
      ? {
          "its bubblewrap around `true`": () => {
            const a = keepArgv(["/bin/true"], false);
            return spawnTimed(a[0], a.slice(1)).ms;
          },
        }
      : {}),
  };
  const keeps = ["bwrap", "no bwrap", "no compile cache"].filter((v) => bwrap || v !== "bwrap");

  const f = new Map(Object.keys(floor).map((k) => [k, []]));
  const host = new Map();
  const keep = new Map(keeps.map((k) => [k, []]));
  const workerPeak = [];
  const workerMs = [];
  for (let i = 0; i <= reps; i++) {
    const keepI = i === 0; // warm-up: fills the compile caches
    for (const [k, run] of Object.entries(floor)) {
      const ms = run();
      if (!keepI) f.get(k).push(ms);
    }
    const h = spawnTimed(process.execPath, partArgs("host"));
    if (!keepI)
      for (const [k, v] of Object.entries(JSON.parse(h.out)))
        host.set(k, [...(host.get(k) ?? []), v]);
    for (const v of keeps) {
      const r = JSON.parse(spawnTimed(process.execPath, partArgs(`keep:${v}`)).out);
      if (!keepI) keep.get(v).push(r);
    }
    const w = spawnTimed(process.execPath, partArgs("worker"));
    if (!keepI) {
      workerMs.push(w.ms);
      workerPeak.push(JSON.parse(w.out).peakKiB);
    }
  }

  const ms = (x) => `${x.toFixed(1)} ms`;
  const lines = [
    `Node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(2)}; medians of ${reps} runs`,
    "",
    "| process | wall time |",
    "| --- | --- |",
    ...[...f].map(([k, xs]) => `| ${k} | ${ms(median(xs))} |`),
    `| a Node process that runs one empty worker | ${ms(median(workerMs))}, peak RSS ${(median(workerPeak) / 1024).toFixed(1)} MiB |`,
    "",
    "| host step before the spawn (one fresh process) | time |",
    "| --- | --- |",
    ...[...host].map(([k, xs]) => `| ${k} | ${ms(median(xs))} |`),
    "",
    "| runKeep(hello.wasm) | → EVIDENCE | → first stdout | → closed |",
    "| --- | --- | --- | --- |",
    ...[...keep].map(
      ([k, rs]) =>
        `| ${k} | ${ms(median(rs.map((r) => r.evidence)))} | ${ms(median(rs.map((r) => r.stdout)))} | ${ms(median(rs.map((r) => r.closed)))} |`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

if (part) await runPart();
else await main();
