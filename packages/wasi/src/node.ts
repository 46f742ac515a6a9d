/**
 * The Node.js edge of @donjon/wasi: host stdio descriptors as stream
 * handles. Everything that touches `node:fs` is here or in `hostfs.ts`
 * (host directories as preopens, `@donjon/wasi/hostfs`), so the core stays
 * platform-free.
 */
import { FILETYPE_CHARACTER_DEVICE, FILETYPE_DIRECTORY, FILETYPE_UNKNOWN } from "./_constants.ts";
import { filetypeOfMode, nodeFs as fs } from "./_nodefs.ts";
import { streamHandle } from "./_streams.ts";
import type { Handle } from "./fs.ts";

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * read(2) and write(2) that wait out EAGAIN (a host fd left non-blocking by
 * someone else). Plain functions, not a retry wrapper taking a closure: they
 * run once per guest write, and the closure cost showed in benchmarks.
 */
function readFd(fd: number, buf: Uint8Array, off: number, len: number): number {
  for (;;) {
    try {
      return fs.readSync(fd, buf, off, len, null);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function writeFd(fd: number, buf: Uint8Array, off: number, len: number): number {
  for (;;) {
    try {
      return fs.writeSync(fd, buf, off, len, null);
    } catch (e) {
      if ((e as { code?: string }).code !== "EAGAIN") throw e;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

function filetypeOf(fd: number): number {
  try {
    const type = filetypeOfMode(fs.fstatSync(fd).mode);
    // A pipe has no WASI filetype of its own (unknown, as wasmtime says), and
    // a directory handed over as stdio is no stream either: unknown too.
    return type === FILETYPE_DIRECTORY ? FILETYPE_UNKNOWN : type;
  } catch {
    return FILETYPE_UNKNOWN;
  }
}

/** Options of `hostStream`. */
export interface HostStreamOptions {
  /**
   * Hold small writes back and write them in one go (64 KiB at most, and at
   * most 10 ms after the first one held, checked at each write). The host
   * flushes before every other syscall and at exit, so only a guest that
   * writes and then computes without a syscall sees its output delayed, as
   * C stdio does on a file or pipe. Ignored for a terminal, where output is
   * for a person to read as it comes. Default false.
   */
  buffer?: boolean;
}

/** Bytes held back by a buffered host stream. */
const BUFFER_BYTES = 64 * 1024;
/** Longest a held write waits for company, in milliseconds. */
const BUFFER_MS = 10;

/**
 * A host file descriptor (normally 0, 1 or 2) as a WASI stream. Reads and
 * writes use the descriptor's own offset, so `>>` redirections and pipes
 * behave as they do for a native program.
 */
export function hostStream(
  fd: number,
  mode: "read" | "write",
  options: HostStreamOptions = {},
): Handle {
  const filetype = filetypeOf(fd);
  if (mode === "read") {
    return streamHandle({
      filetype,
      read: (buf) => {
        try {
          return readFd(fd, buf, 0, buf.length);
        } catch (e) {
          // A closed or hung-up stdin reads as end of stream.
          if ((e as { code?: string }).code === "EOF") return 0;
          throw e;
        }
      },
    });
  }
  const writeAll = (buf: Uint8Array, off: number, len: number): void => {
    while (len > 0) {
      const n = writeFd(fd, buf, off, len);
      off += n;
      len -= n;
    }
  };
  // A terminal (a character device) shows output as it comes; never hold it.
  if (!options.buffer || filetype === FILETYPE_CHARACTER_DEVICE) {
    return streamHandle({
      filetype,
      write: (buf) => writeFd(fd, buf, 0, buf.length),
    });
  }
  const held = new Uint8Array(BUFFER_BYTES);
  let used = 0;
  let since = 0;
  let failure: unknown = null;
  const flush = (): void => {
    if (used === 0) return;
    const n = used;
    used = 0;
    try {
      writeAll(held, 0, n);
    } catch (e) {
      // The guest was told these bytes were written; it learns of the
      // failure (EPIPE, ENOSPC…) from its next write, as with a full pipe.
      failure = e;
      throw e;
    }
  };
  return streamHandle({
    filetype,
    write: (buf) => {
      if (failure !== null) {
        const e = failure;
        failure = null;
        throw e;
      }
      if (used > 0 && (used + buf.length > BUFFER_BYTES || performance.now() - since > BUFFER_MS)) {
        try {
          flush();
        } catch (e) {
          failure = null; // reported now, by this write
          throw e;
        }
      }
      if (buf.length >= BUFFER_BYTES) {
        writeAll(buf, 0, buf.length);
        return buf.length;
      }
      if (used === 0) since = performance.now();
      held.set(buf, used);
      used += buf.length;
      return buf.length;
    },
    flush,
  });
}
