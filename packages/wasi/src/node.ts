/**
 * The Node.js edge of @donjon/wasi: host stdio descriptors as stream handles,
 * and host directories as preopens (`HostFs`). Everything that touches
 * `node:fs` is here or in `hostfs.ts`, so the core stays platform-free.
 */
import * as fs from "node:fs";
import {
  FILETYPE_BLOCK_DEVICE,
  FILETYPE_CHARACTER_DEVICE,
  FILETYPE_REGULAR_FILE,
  FILETYPE_SOCKET_STREAM,
  FILETYPE_UNKNOWN,
} from "./_constants.ts";
import { streamHandle } from "./_streams.ts";
import type { Handle } from "./fs.ts";

export { HostFs } from "./hostfs.ts";

const pause = new Int32Array(new SharedArrayBuffer(4));

/** Retry a call that fails with EAGAIN (a host fd left non-blocking by someone else). */
function blocking<T>(f: () => T): T {
  for (;;) {
    try {
      return f();
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function filetypeOf(fd: number): number {
  try {
    const st = fs.fstatSync(fd);
    if (st.isFile()) return FILETYPE_REGULAR_FILE;
    if (st.isCharacterDevice()) return FILETYPE_CHARACTER_DEVICE;
    if (st.isBlockDevice()) return FILETYPE_BLOCK_DEVICE;
    if (st.isSocket()) return FILETYPE_SOCKET_STREAM;
    // A pipe has no WASI filetype of its own; wasmtime reports it as unknown.
    return FILETYPE_UNKNOWN;
  } catch {
    return FILETYPE_UNKNOWN;
  }
}

/**
 * A host file descriptor (normally 0, 1 or 2) as a WASI stream. Reads and
 * writes use the descriptor's own offset, so `>>` redirections and pipes
 * behave as they do for a native program.
 */
export function hostStream(fd: number, mode: "read" | "write"): Handle {
  const filetype = filetypeOf(fd);
  return streamHandle({
    filetype,
    read:
      mode === "read"
        ? (buf) => {
            try {
              return blocking(() => fs.readSync(fd, buf, 0, buf.length, null));
            } catch (e) {
              // A closed or hung-up stdin reads as end of stream.
              if ((e as { code?: string }).code === "EOF") return 0;
              throw e;
            }
          }
        : undefined,
    write:
      mode === "write"
        ? (buf) => blocking(() => fs.writeSync(fd, buf, 0, buf.length, null))
        : undefined,
  });
}
