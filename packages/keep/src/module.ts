/**
 * Check and compile a workload module, the same way on the host (for early,
 * friendly errors) and inside the Keep (which trusts no check the host made):
 * header and sections, memory against the limit, imports against the WASI
 * host, full validation by the engine, then the exports a command needs. The
 * memory maximum is rewritten to the limit, so the engine itself enforces it.
 */
import { WASI_IMPORTS } from "@donjon/wasi/imports";
import { KeepError } from "./error.ts";
import { capMemories, PAGE_SIZE, readModule, type WasmImport } from "./wasm.ts";

export interface PreparedModule {
  module: WebAssembly.Module;
  /** Initial linear memory in bytes. */
  initial: number;
}

/**
 * `name` prefixes every message (the file name on the host, "the module" in
 * the Keep); `limitSource` says where the memory limit came from.
 */
export async function prepareModule(
  bytes: Uint8Array<ArrayBuffer>,
  options: { maxPages: number; limitBytes: number; name: string; limitSource: string },
): Promise<PreparedModule> {
  const { maxPages, name } = options;
  const bad = (message: string): KeepError =>
    new KeepError("keep.module.invalid", `${name}: ${message}`);
  let info: ReturnType<typeof readModule>;
  try {
    info = readModule(bytes);
  } catch (e) {
    if (e instanceof KeepError) throw bad(e.message);
    throw e;
  }
  for (const m of info.memories) {
    if (m.is64) throw bad("64-bit memories (memory64) are not supported");
    if (m.min > maxPages) {
      throw new KeepError(
        "keep.module.memory",
        `${name}: module needs ${mib(m.min * PAGE_SIZE)} of memory at start; the limit is ${mib(options.limitBytes)} (${options.limitSource})`,
      );
    }
  }
  checkImports(name, info.imports);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(capMemories(bytes, info, maxPages));
  } catch (e) {
    if (e instanceof WebAssembly.CompileError) {
      throw bad(
        `not a valid WebAssembly module: ${e.message.replace(/^WebAssembly\.\w+\(\): /, "")}`,
      );
    }
    throw e;
  }
  const exports = WebAssembly.Module.exports(module);
  if (!exports.some((e) => e.name === "_start" && e.kind === "function")) {
    throw bad('not a WASI command: it exports no "_start" function (a library or reactor module?)');
  }
  if (!exports.some((e) => e.name === "memory" && e.kind === "memory")) {
    throw bad('not a WASI command: it does not export its memory as "memory"');
  }
  const initial = info.memories.reduce((n, m) => Math.max(n, m.min), 0) * PAGE_SIZE;
  return { module, initial };
}

/** Every import must be a function of wasi_snapshot_preview1 that the host implements. */
function checkImports(name: string, imports: readonly WasmImport[]): void {
  const unknown = imports.filter(
    (i) =>
      i.module !== "wasi_snapshot_preview1" ||
      i.kind !== "function" ||
      !WASI_IMPORTS.includes(i.name),
  );
  if (unknown.length === 0) return;
  const first = unknown[0]!;
  const more = unknown.length > 1 ? ` and ${unknown.length - 1} more` : "";
  throw new KeepError(
    "keep.module.import",
    `${name}: unknown import ${JSON.stringify(first.module)}.${JSON.stringify(first.name)} (${first.kind})${more}`,
  );
}

/** Bytes as MiB, as `_units.formatMiB` in the CLI writes them. */
function mib(n: number): string {
  const v = n / 1048576;
  return `${Number.isInteger(v) ? v : Number(v.toFixed(2))} MiB`;
}
