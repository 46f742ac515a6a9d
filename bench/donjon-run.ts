/**
 * Runs one WASI command in-process with Donjon's host (`@donjon/wasi`), the
 * way an embedder uses the API — no CLI, no config, no worker:
 *
 *   node bench/donjon-run.ts [--dir HOST::GUEST]... [--unbuffered] MODULE.wasm [ARGS...]
 *
 * Same arguments, stdio and report as bench/nodewasi-run.mjs, so that the two
 * differ only in the WASI host: `--dir` preopens a `HostFs`, fds 0/1/2 are
 * `hostStream`s over the process's own descriptors. stdout holds small writes
 * back as `donjon run` does on its main thread (`hostStream`'s `buffer`
 * option); `--unbuffered` writes each one through, as node:wasi does.
 */
import { readFileSync } from "node:fs";
import { HostFs } from "../packages/wasi/src/hostfs.ts";
import { Wasi } from "../packages/wasi/src/index.ts";
import { hostStream } from "../packages/wasi/src/node.ts";
import { parseArgs, report } from "./report.mjs";

const t0 = performance.now();
const {
  dirs,
  flags,
  module: file,
  args,
} = parseArgs(process.argv.slice(2), "donjon-run", ["--unbuffered"]);
const wasi = new Wasi({
  args: [file.split("/").pop()!, ...args],
  env: {},
  // One mapped directory cannot be nested in another, so its root path is
  // stable (HostFsOptions.stableRoot), as `donjon run` works out for its own.
  preopens: dirs.map((d) => ({
    path: d.guest,
    fs: new HostFs({ path: d.host, stableRoot: dirs.length === 1 }),
  })),
  stdin: hostStream(0, "read"),
  stdout: hostStream(1, "write", { buffer: !flags.has("--unbuffered") }),
  stderr: hostStream(2, "write"),
});
const module = await WebAssembly.compile(readFileSync(file));
const t1 = performance.now();
const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: wasi.imports });
const t2 = performance.now();
const cpu0 = process.threadCpuUsage();
const code = wasi.start(instance);
const cpu = process.threadCpuUsage(cpu0);
const t3 = performance.now();
report("donjon", code, t0, t1, t2, t3, cpu);
process.exitCode = code;
