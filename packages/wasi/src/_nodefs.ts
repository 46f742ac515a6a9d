/**
 * `node:fs` without its ESM namespace. `import … from "node:fs"` builds the
 * module namespace by reading every export, and that wakes the lazy
 * `ReadStream`/`promises` getters: node:stream and fs/promises load for
 * nothing, some 8 ms of a 50 ms cold start. `getBuiltinModule` hands over
 * the plain object, whose getters stay asleep.
 */
import {
  FILETYPE_BLOCK_DEVICE,
  FILETYPE_CHARACTER_DEVICE,
  FILETYPE_DIRECTORY,
  FILETYPE_REGULAR_FILE,
  FILETYPE_SOCKET_STREAM,
  FILETYPE_SYMBOLIC_LINK,
  FILETYPE_UNKNOWN,
} from "./_constants.ts";

export const nodeFs: typeof import("node:fs") = process.getBuiltinModule("node:fs");

const { S_IFMT, S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFSOCK } = nodeFs.constants;

/** The WASI filetype of a host `st_mode` (FILETYPE_* values of `_constants.ts`). */
export function filetypeOfMode(mode: number): number {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return FILETYPE_REGULAR_FILE;
    case S_IFDIR:
      return FILETYPE_DIRECTORY;
    case S_IFLNK:
      return FILETYPE_SYMBOLIC_LINK;
    case S_IFCHR:
      return FILETYPE_CHARACTER_DEVICE;
    case S_IFBLK:
      return FILETYPE_BLOCK_DEVICE;
    case S_IFSOCK:
      // A socket's mode does not tell stream from datagram; stream is the usual kind.
      return FILETYPE_SOCKET_STREAM;
    default:
      return FILETYPE_UNKNOWN; // a FIFO: WASI has no filetype for it
  }
}
