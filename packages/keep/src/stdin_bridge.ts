/**
 * The guest's stdin when it runs in a worker. A worker blocked in a read(2)
 * of fd 0 cannot be terminated (V8 can only interrupt JavaScript and wasm,
 * not a system call), so a time limit could never stop a guest waiting for
 * input, and the process could not even exit. Instead, as DESIGN.md lays out
 * for blocking host I/O, the worker waits on a SharedArrayBuffer — which
 * `Worker.terminate()` does interrupt — while the main thread reads stdin
 * asynchronously and hands the bytes over.
 *
 * Protocol over `control` (Int32Array): the worker writes the most it wants
 * in MAX, sets STATE to WAITING, posts a request and waits while STATE is
 * WAITING; the main thread writes up to MAX bytes into `data`, the count (0
 * at end of input, -1 on error) into COUNT, sets STATE to READY and notifies.
 */
// Subpaths, not the package index: a host's main thread that imports this
// module for StdinServer must not load the whole WASI host.
import type { Handle } from "@donjon/wasi";
import { EIO } from "@donjon/wasi/constants";
import { FsError } from "@donjon/wasi/error";
import { streamHandle } from "@donjon/wasi/streams";

import {
  COUNT,
  IDLE,
  MAX,
  STATE,
  STDIN_CHUNK,
  type StdinChannel,
  WAITING,
} from "./_stdin_server.ts";

export {
  STDIN_CHUNK,
  type StdinChannel,
  StdinServer,
  type StdinSource,
  stdinChannel,
} from "./_stdin_server.ts";

/** Worker side: a stdin stream that asks the main thread with `request()` and waits. */
export function bridgedStdin(channel: StdinChannel, request: () => void): Handle {
  const control = new Int32Array(channel.control);
  const data = new Uint8Array(channel.data);
  return streamHandle({
    read: (buf) => {
      const max = Math.min(buf.length, STDIN_CHUNK);
      if (max === 0) return 0;
      Atomics.store(control, MAX, max);
      Atomics.store(control, STATE, WAITING);
      request();
      while (Atomics.load(control, STATE) === WAITING) Atomics.wait(control, STATE, WAITING);
      const n = Atomics.load(control, COUNT);
      Atomics.store(control, STATE, IDLE);
      if (n < 0) throw new FsError(EIO, "reading the host's stdin failed");
      buf.set(data.subarray(0, n));
      return n;
    },
  });
}
