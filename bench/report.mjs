// What both engine runners (donjon-run.ts, nodewasi-run.mjs) share: their
// argument syntax and the JSON report they leave for bench/run.ts. Plain
// JavaScript so that the node:wasi runner stays free of type stripping.
import { readFileSync, writeFileSync } from "node:fs";

/**
 * Peak resident set of this process since its execve, KiB: VmHWM from
 * /proc/self/status. Not getrusage's ru_maxrss (process.resourceUsage()):
 * Linux carries that across execve from the forked copy of the parent, so a
 * child of a 300 MiB parent reports at least 300 MiB whatever it did itself.
 */
export function peakRssKiB() {
  try {
    const m = /^VmHWM:\s*(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]);
  } catch {}
  return process.resourceUsage().maxRSS;
}

/**
 * `[--dir HOST::GUEST]... [FLAG]... MODULE.wasm [ARGS...]`, where the FLAGs
 * are the runner's own boolean options.
 * @param {string[]} argv
 * @param {string} name
 * @param {string[]} [booleans]
 */
export function parseArgs(argv, name, booleans = []) {
  const dirs = [];
  const flags = new Set();
  let i = 0;
  while (i < argv.length && argv[i].startsWith("--")) {
    const flag = argv[i];
    const value = argv[i + 1];
    if (booleans.includes(flag)) {
      flags.add(flag);
      i += 1;
    } else if (flag === "--dir" && value !== undefined) {
      const sep = value.indexOf("::");
      if (sep < 0) usage(name, `--dir takes HOST::GUEST, got ${value}`);
      dirs.push({ host: value.slice(0, sep), guest: value.slice(sep + 2) });
      i += 2;
    } else {
      usage(name, `unknown option ${flag}`);
    }
  }
  const module = argv[i];
  if (module === undefined) usage(name, "missing MODULE.wasm");
  return { dirs, flags, module, args: argv.slice(i + 1) };
}

function usage(name, why) {
  process.stderr.write(
    `${name}: ${why}\nusage: ${name} [--dir HOST::GUEST]... [OPTION]... MODULE.wasm [ARGS...]\n`,
  );
  process.exit(2);
}

/**
 * Write the run's report to the file named by DONJON_BENCH_REPORT, if any.
 * Times are `performance.now()` readings (ms since the process started):
 * t0 runner start, t1 compiled, t2 instantiated, t3 `_start` returned.
 * `cpu` is `process.threadCpuUsage(before)` taken as `_start` returned.
 */
export function report(engine, exitCode, t0, t1, t2, t3, cpu) {
  const file = process.env.DONJON_BENCH_REPORT;
  if (!file) return;
  const r = {
    engine,
    exitCode,
    /** Process start to the runner's first line: Node's own boot. */
    bootMs: t0,
    compileMs: t1 - t0,
    instantiateMs: t2 - t1,
    runMs: t3 - t2,
    /** CPU time (user + system) of the thread that ran `_start`, during it. */
    runCpuMs: (cpu.user + cpu.system) / 1000,
    /** Process start to `_start` returning. */
    totalMs: t3,
    /** Peak resident set of the whole process (every thread), KiB. */
    maxRssKiB: peakRssKiB(),
  };
  writeFileSync(file, `${JSON.stringify(r)}\n`);
}
