// Runs one WASI command under Node's built-in `node:wasi` (the baseline of
// `npm run bench`):
//
//   node bench/nodewasi-run.mjs [--dir HOST::GUEST]... MODULE.wasm [ARGS...]
//
// stdin, stdout and stderr are the process's own fds 0, 1, 2. The exit code is
// the guest's. When DONJON_BENCH_REPORT names a file, timings and peak RSS are
// written there as JSON (see bench/report.mjs); stdout stays the guest's.
//
// Plain JavaScript on purpose: it is also the "minimal node:wasi runner" that
// Donjon's cold start is compared with, so it loads nothing but node:wasi.
import { readFileSync } from "node:fs";
import { WASI } from "node:wasi";
import { parseArgs, report } from "./report.mjs";

const t0 = performance.now();
const { dirs, module: file, args } = parseArgs(process.argv.slice(2), "nodewasi-run");
const preopens = {};
for (const d of dirs) preopens[d.guest] = d.host;
const wasi = new WASI({
  version: "preview1",
  args: [file.split("/").pop(), ...args],
  env: {},
  preopens,
  returnOnExit: true,
});
const module = await WebAssembly.compile(readFileSync(file));
const t1 = performance.now();
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
const t2 = performance.now();
const cpu0 = process.threadCpuUsage();
const code = wasi.start(instance);
const cpu = process.threadCpuUsage(cpu0);
const t3 = performance.now();
report("node:wasi", code, t0, t1, t2, t3, cpu);
process.exitCode = code;
