/**
 * Stream handles for stdio: a null device (what a guest gets when the embedder
 * grants nothing) and a handle built from read/write functions, which is how
 * an embedder wires stdio to anything (a host fd, a buffer, a channel).
 */
import { EBADF, FILETYPE_CHARACTER_DEVICE } from "./_constants.ts";
import { fail } from "./_errno.ts";
import type { Handle, Stat } from "./fs.ts";

/** What `streamHandle` needs; leave out `read` or `write` for a one-way stream. */
export interface StreamFunctions {
  /** Read up to `buf.length` bytes into `buf`; return the count, 0 at end of stream. May block. */
  read?: (buf: Uint8Array) => number;
  /** Write `buf`; return the count written. */
  write?: (buf: Uint8Array) => number;
  /** Whether a read would return without blocking; default: always. */
  readReady?: () => boolean;
  /** WASI filetype reported by fdstat and filestat; default character device. */
  filetype?: number;
  /** Push out held-back writes (see `Handle.flush`). */
  flush?: () => void;
  /** Called when the guest closes the stream. */
  close?: () => void;
}

const ZERO_STAT: Stat = {
  dev: 0n,
  ino: 0n,
  filetype: FILETYPE_CHARACTER_DEVICE,
  nlink: 1n,
  size: 0n,
  atim: 0n,
  mtim: 0n,
  ctim: 0n,
};

/** A stream handle: positions are ignored, there is no seeking. */
export function streamHandle(f: StreamFunctions): Handle {
  const filetype = f.filetype ?? FILETYPE_CHARACTER_DEVICE;
  return {
    filetype,
    stat: () => ({ ...ZERO_STAT, filetype }),
    read: f.read ? (buf) => f.read!(buf) : () => fail(EBADF, "stream is not readable"),
    write: f.write ? (buf) => f.write!(buf) : () => fail(EBADF, "stream is not writable"),
    truncate: () => fail(EBADF),
    setTimes: () => {},
    sync: () => {},
    datasync: () => {},
    readReady: f.readReady ?? (() => true),
    ...(f.flush ? { flush: f.flush } : {}),
    close: () => {
      f.flush?.();
      f.close?.();
    },
  };
}

/** /dev/null: reads give end of stream, writes are accepted and dropped. */
export function nullStream(): Handle {
  return streamHandle({ read: () => 0, write: (buf) => buf.length });
}
