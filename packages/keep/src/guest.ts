/**
 * Run one compiled WASI command under the @donjon/wasi host and say how it
 * ended. The same function runs on the main thread (no time limit) and in the
 * worker (`_worker.ts`), so everything it takes is either structured-cloneable
 * (`GuestPlan`) or built on the running thread (`GuestPlatform`).
 */
import {
  type Filesystem,
  type Handle,
  nullStream,
  type Preopen,
  Wasi,
  WasiError,
  type WasiSockets,
} from "@donjon/wasi";

/** What fds 0, 1 and 2 are connected to. */
export type StdioKind = "null" | "stdin" | "stdout" | "stderr";

/** Everything the guest is given. Plain data, so it can be posted to a worker. */
export interface GuestPlan {
  /** argv, argv[0] included. */
  args: string[];
  env: Record<string, string>;
  /** fds 0, 1, 2. */
  stdio: [StdioKind, StdioKind, StdioKind];
  /** Preopens from fd 3, in order. `host` null: an in-memory directory. */
  dirs: { guest: string; host: string | null; readonly: boolean }[];
}

/** Host resources, made on the thread that runs the guest. */
export interface GuestPlatform {
  /** The host's stdin, stdout or stderr as a WASI stream. */
  stream(kind: "stdin" | "stdout" | "stderr"): Handle;
  /** A host directory; throws (WasiError) when it cannot be opened. */
  hostFs(path: string, readonly: boolean): Filesystem;
  /** An empty in-memory directory. */
  memoryFs(readonly: boolean): Filesystem;
  /** Report a host bug met during a syscall (the guest gets EIO). */
  warn(message: string): void;
}

/** How a run ended. Plain data, so it can be posted from a worker. */
export type Outcome =
  /** `_start` returned (code 0) or the guest called proc_exit. `memory`: final size in bytes. */
  | { kind: "exit"; code: number; memory: number }
  /** The guest trapped: the engine's message and the wasm frames, innermost first. */
  | { kind: "trap"; message: string; frames: string[]; memory: number }
  /** The host could not set the guest up (a directory that cannot be opened, no memory). */
  | { kind: "error"; message: string };

/** Exception handling's `WebAssembly.Exception`, which the TypeScript DOM types lack. */
const WasmException = (WebAssembly as unknown as { Exception?: abstract new () => object })
  .Exception;

/** Frames kept from a trap's stack; deep recursion is folded anyway. */
const STACK_FRAMES = 64;

/** What a Keep adds to the plan from its own reading of the measured config. */
export interface GuestExtras {
  /** The workload's sockets, at fds 3… (before the preopens). */
  sockets?: WasiSockets;
  /** Preopens after the plan's (the Keep's certificate directory, `CERT_DIR` in `_cert.ts`). */
  preopens?: Preopen[];
}

/** Build the WASI host, instantiate, start. Never throws for anything the guest does. */
export function runGuest(
  module: WebAssembly.Module,
  plan: GuestPlan,
  platform: GuestPlatform,
  extras: GuestExtras = {},
): Outcome {
  let wasi: Wasi;
  try {
    const stdio = plan.stdio.map((k) => (k === "null" ? nullStream() : platform.stream(k)));
    const preopens: Preopen[] = plan.dirs.map((d) => ({
      path: d.guest,
      fs: d.host === null ? platform.memoryFs(d.readonly) : platform.hostFs(d.host, d.readonly),
      readonly: d.readonly,
    }));
    preopens.push(...(extras.preopens ?? []));
    wasi = new Wasi({
      ...(extras.sockets ? { sockets: extras.sockets } : {}),
      args: plan.args,
      env: plan.env,
      preopens,
      stdin: stdio[0],
      stdout: stdio[1],
      stderr: stdio[2],
      onHostError: (e, syscall) =>
        platform.warn(`host error in ${syscall}: ${e instanceof Error ? e.message : String(e)}`),
    });
  } catch (e) {
    if (e instanceof WasiError) return { kind: "error", message: e.message };
    throw e;
  }
  let instance: WebAssembly.Instance | null = null;
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = STACK_FRAMES;
  try {
    // A start section runs during instantiation, so a trap can come from here too.
    instance = new WebAssembly.Instance(module, { wasi_snapshot_preview1: wasi.imports });
    const code = wasi.start(instance);
    return { kind: "exit", code, memory: memorySize(instance) };
  } catch (e) {
    const trap = asTrap(e, STACK_FRAMES);
    if (trap) return { kind: "trap", ...trap, memory: memorySize(instance) };
    if (e instanceof RangeError && /out of memory/i.test(e.message)) {
      return {
        kind: "error",
        message: `cannot allocate the guest's memory: ${stripApi(e.message)}`,
      };
    }
    if (e instanceof WasiError || e instanceof WebAssembly.LinkError) {
      return { kind: "error", message: stripApi(e.message) };
    }
    throw e;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function memorySize(instance: WebAssembly.Instance | null): number {
  const m = instance?.exports.memory;
  return m instanceof WebAssembly.Memory ? m.buffer.byteLength : 0;
}

/** `WebAssembly.Instance(): Import #0 ...` → `Import #0 ...` */
function stripApi(message: string): string {
  return message.replace(/^WebAssembly\.\w+\(\): /, "");
}

/** V8's trap messages, where a plainer one helps. */
const TRAP_MESSAGES: Readonly<Record<string, string>> = {
  unreachable: "unreachable executed",
  "Maximum call stack size exceeded": "call stack exhausted",
};

/**
 * A trap's message and frames, or null when `e` is not a trap. `limit` is
 * the `Error.stackTraceLimit` the error was made under: a stack that long was
 * cut, and the frames end with "...".
 */
export function asTrap(
  e: unknown,
  limit = Error.stackTraceLimit,
): { message: string; frames: string[] } | null {
  let message: string;
  if (e instanceof WebAssembly.RuntimeError) message = e.message;
  else if (e instanceof RangeError && e.message === "Maximum call stack size exceeded")
    message = e.message;
  else if (WasmException && e instanceof WasmException) message = "uncaught wasm exception";
  else return null;
  const stack = (e as { stack?: unknown }).stack;
  if (typeof stack !== "string") return { message: TRAP_MESSAGES[message] ?? message, frames: [] };
  const frames = wasmFrames(stack);
  const depth = stack.split("\n").filter((l) => /^\s+at /.test(l)).length;
  if (depth >= limit) frames.push("...");
  return { message: TRAP_MESSAGES[message] ?? message, frames };
}

/**
 * V8 writes a wasm frame as `at NAME (wasm://wasm/HASH:wasm-function[INDEX]:0xOFFSET)`,
 * or without `NAME (...)` when the module has no name for the function.
 */
const FRAME = /^\s*at (?:(.+) \()?wasm:\/\/wasm\/[^\s]*:wasm-function\[(\d+)\]:0x[0-9a-f]+\)?$/;

/**
 * The wasm frames of a stack, innermost first, as `at NAME (wasm function N)`
 * (`at wasm function N` when unnamed). A run of one frame repeated, as deep
 * recursion leaves, is folded into one line. JS frames (the host) are left out.
 */
export function wasmFrames(stack: string): string[] {
  const frames: string[] = [];
  for (const line of stack.split("\n")) {
    const m = FRAME.exec(line);
    if (m) frames.push(m[1] ? `at ${m[1]} (wasm function ${m[2]})` : `at wasm function ${m[2]}`);
  }
  const out: string[] = [];
  for (let i = 0; i < frames.length; ) {
    let j = i + 1;
    while (j < frames.length && frames[j] === frames[i]) j++;
    out.push(j - i > 1 ? `${frames[i]} (${j - i} times)` : frames[i]!);
    i = j;
  }
  return out;
}
