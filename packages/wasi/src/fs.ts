/**
 * The filesystem port. Every filesystem the WASI host can preopen (the
 * in-memory one, a mapped host directory) implements these two interfaces, and
 * one contract suite (`fs.contract.ts`) runs against each.
 *
 * The port is `*at`-shaped on purpose: every name is a single path component
 * (never "", ".", "..", never containing "/" or NUL) looked up in a directory
 * handle the caller already holds, and no operation ever follows a symlink.
 * Path walking, ".." and symlink expansion live in one place above the port
 * (`_resolve.ts`), which is what keeps a guest inside its preopen. This is the
 * manual algorithm of shared/specs/wasi-preview1/path-resolution.md.
 *
 * A name the port forbids ("" → ENOENT; ".", "..", or one containing "/" or
 * NUL → EINVAL) is refused by the implementation too, so that a host-backed
 * filesystem never passes `..` to its host.
 *
 * Implementations report failure by throwing: either a `WasiErrno`, or a host
 * error carrying a Node-style `code` (`ENOENT`, …) that `_errno.ts` maps.
 */

/** File attributes, as `filestat` in typenames.witx. Times are nanoseconds. */
export interface Stat {
  dev: bigint;
  ino: bigint;
  /** A WASI `filetype` value (see `_constants.ts`). */
  filetype: number;
  nlink: bigint;
  size: bigint;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
}

/** One directory entry. `readdir` includes "." and ".." first. */
export interface DirEntry {
  name: string;
  ino: bigint;
  filetype: number;
}

/** A time to set: nanoseconds since the epoch, "now", or leave unchanged (null). */
export type TimeSpec = bigint | "now" | null;

/** How `openAt` opens a name. */
export interface OpenFlags {
  read: boolean;
  write: boolean;
  /** Create the file if it does not exist. */
  create: boolean;
  /** With `create`: fail with EEXIST if the name exists (symlinks included). */
  exclusive: boolean;
  /** Truncate a regular file to zero length. */
  truncate: boolean;
  /** Fail with ENOTDIR unless the name is a directory. With `create` on a missing name: EINVAL (Linux 6.4+). */
  directory: boolean;
  /** Writes go to the end of the file. */
  append: boolean;
  /**
   * The caller can do without the filetype for now: an implementation may
   * skip looking it up (HostFs saves an fstat per open) and return a handle
   * with `settle`, whose `filetype` says FILETYPE_REGULAR_FILE until then.
   * Default false: `filetype` is exact and a directory opens as a DirHandle.
   */
  presume?: boolean;
}

/** An open file, directory or stream. */
export interface Handle {
  /** WASI filetype of what is open. */
  readonly filetype: number;
  stat(): Stat;
  /**
   * Read into `buf` at `position` (bytes from the start; files stay below
   * 2^53 bytes), or from the handle's own cursor when `position` is null
   * (a stream's position; for a file, a cursor kept on the handle).
   * Returns the count read; 0 at end.
   */
  read(buf: Uint8Array, position: number | null): number;
  /**
   * Write `buf` at `position`, or at the end of the file when `position` is
   * null (append mode, and streams). Returns the count written.
   */
  write(buf: Uint8Array, position: number | null): number;
  truncate(size: bigint): void;
  setTimes(atim: TimeSpec, mtim: TimeSpec): void;
  sync(): void;
  datasync(): void;
  /** Turn append mode on or off: in append mode every write goes to the end, whatever the position. */
  setAppend?(append: boolean): void;
  /**
   * On a handle opened with `presume`: look up what is open and return the
   * handle to use from now on — this one, its `filetype` now exact, or a
   * DirHandle for the same open directory (this one is then spent: EBADF).
   * Until it is called, `read` and `write` (at `position` null or at the
   * handle's own cursor, which starts at 0 and moves with every byte
   * transferred) and `close` behave as on what is really open; call it before
   * relying on `filetype` or calling anything else. Calling it again is free.
   */
  settle?(): Handle;
  /**
   * True when a read would not block (data, end of file, or an error waiting).
   * Regular files and directories are always ready.
   */
  readReady?(): boolean;
  /**
   * Push out writes the handle has held back (a buffered stream). The host
   * calls it before any other syscall and at exit, so a guest never observes
   * held-back output; a failure is thrown here or from the next write.
   */
  flush?(): void;
  close(): void;
}

/** An open directory: the handle every path operation starts from. */
export interface DirHandle extends Handle {
  /** A new handle to this same directory (what opening "." gives). */
  reopen(): DirHandle;
  /** All entries, "." and ".." first, in an order that is stable while the directory is unchanged. */
  readdir(): DirEntry[];
  /** lstat: never follows a final symlink. */
  statAt(name: string): Stat;
  /**
   * Open `name` without following it: a symlink fails with ELOOP (or EEXIST
   * under `create` + `exclusive`). Opening a directory returns a DirHandle.
   */
  openAt(name: string, flags: OpenFlags): Handle;
  readlinkAt(name: string): string;
  mkdirAt(name: string): void;
  rmdirAt(name: string): void;
  unlinkAt(name: string): void;
  /** `to` is a directory of the same filesystem, else EXDEV. */
  renameAt(name: string, to: DirHandle, toName: string): void;
  /** Hard link; never follows `name`. `to` is of the same filesystem, else EXDEV. */
  linkAt(name: string, to: DirHandle, toName: string): void;
  symlinkAt(target: string, name: string): void;
  /** Set times of `name` without following it. */
  setTimesAt(name: string, atim: TimeSpec, mtim: TimeSpec): void;
  /** Identity of the filesystem, so that rename and link across filesystems fail with EXDEV. */
  readonly fsId: object;
}

/** A filesystem that can be preopened: it hands out its root directory. */
export interface Filesystem {
  /** Open the root. Each call returns a new handle that the caller closes. */
  openRoot(): DirHandle;
  /** True when no change is allowed; every mutation then fails with EROFS. */
  readonly readonly: boolean;
}

export function isDir(h: Handle): h is DirHandle {
  return (h as DirHandle).openAt !== undefined;
}
