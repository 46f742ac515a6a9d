/**
 * HostFs: a directory of the host, mapped as a preopen (Linux only).
 *
 * The port (`fs.ts`) is `*at`-shaped: every call names one component inside a
 * directory handle we already hold. Node has no `openat(2)` and friends, so we
 * get the same thing from Linux's `/proc/self/fd/<dirfd>/<name>`: a DirHandle
 * holds an open directory fd, the kernel resolves the magic link
 * `/proc/self/fd/<dirfd>` to exactly the directory that fd refers to (by
 * identity, not by name: renaming it, or swapping its old path for a symlink,
 * changes nothing), and only `<name>` is then looked up by name. Every call
 * passes a single, checked component and never follows it when it is a
 * symlink (O_NOFOLLOW, lstat, lutimes, and the syscalls that never follow:
 * readlink, mkdir, rmdir, unlink, rename, link, symlink). Walking longer paths,
 * "..", and symlink expansion happen above the port, in `_resolve.ts`, which is
 * what keeps a guest inside the mapped directory even while someone swaps
 * symlinks in between check and use.
 *
 * Host failures are thrown as the Node errors they are; `_errno.ts` maps them.
 */
import type { Dirent } from "node:fs";
import {
  EBADF,
  EEXIST,
  EFBIG,
  EINVAL,
  EISDIR,
  ELOOP,
  ENOENT,
  EROFS,
  EXDEV,
  FILETYPE_BLOCK_DEVICE,
  FILETYPE_CHARACTER_DEVICE,
  FILETYPE_DIRECTORY,
  FILETYPE_REGULAR_FILE,
  FILETYPE_SOCKET_STREAM,
  FILETYPE_SYMBOLIC_LINK,
  FILETYPE_UNKNOWN,
} from "./_constants.ts";
import { fail } from "./_errno.ts";
import { filetypeOfMode, nodeFs } from "./_nodefs.ts";
import { WasiError } from "./error.ts";
import type { DirEntry, DirHandle, Filesystem, Handle, OpenFlags, Stat, TimeSpec } from "./fs.ts";

const {
  closeSync,
  constants,
  fdatasyncSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  futimesSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  readlinkSync,
  readSync,
  realpathSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} = nodeFs;

/** Options of `new HostFs()`. */
export interface HostFsOptions {
  /** The host directory to map. Resolved (symlinks included) once, when the HostFs is made. */
  path: string;
  /** Refuse every change with EROFS, before anything reaches the host. Default false. */
  readonly?: boolean;
  /**
   * Look names directly in the mapped directory up by path (`PATH/name`)
   * instead of through its descriptor (`/proc/self/fd/N/name`), which saves
   * the kernel's /proc walk: about 2 µs a call, a sixth of a small-file
   * workload. Safe only when the guest cannot change any directory on the
   * way to PATH — that is, when no other preopen of the same guest contains
   * this one. Names deeper down always go through held descriptors, since
   * the guest can swap those directories. Default false.
   */
  stableRoot?: boolean;
}

/**
 * How far a timestamp set through HostFs may read back from the value asked
 * for, in nanoseconds (strictly less than this). Node's `utimes` family takes
 * seconds as a double, whose spacing is 2^-22 s (238 ns) until 2038, 2^-20 s
 * (954 ns) until 2242 and 2^-18 s (3.8 µs) at the top of the u64 nanosecond
 * range. We send the double nearest to the value (see `seconds`), so a time
 * reads back within half that spacing plus a nanosecond: about 120 ns for
 * today's dates, exactly for times in the first weeks of 1970, and under
 * 2 µs for any time a WASI timestamp can express. Reading times (stat) is
 * exact; the host filesystem's own granularity (1 s on ext3, 2 s on FAT)
 * comes on top. The same bound holds for the time a null TimeSpec keeps
 * while the other one is set, since Node cannot pass UTIME_OMIT: that time
 * is read and written back. It comes back identical when it was itself set
 * through HostFs (it already is what a double gives); a time the kernel
 * stamped (say, the atime of the last read) may move by up to the bound.
 */
export const HOSTFS_TIME_PRECISION_NS = 2_000n;

const {
  O_RDONLY,
  O_WRONLY,
  O_RDWR,
  O_CREAT,
  O_EXCL,
  O_TRUNC,
  O_APPEND,
  O_DIRECTORY,
  O_NOFOLLOW,
  O_NONBLOCK,
} = constants;

// O_NONBLOCK on every open: the host is synchronous, and opening a FIFO that
// someone left in the mapped tree would otherwise hang the whole process until
// a peer shows up. On regular files and directories it changes nothing.
// (libuv adds O_CLOEXEC itself, so no fd leaks into child processes.)
const OPEN_BASE = O_NOFOLLOW | O_NONBLOCK;
const DIR_REOPEN = O_RDONLY | O_DIRECTORY | O_NONBLOCK;
const BIG = { bigint: true } as const;
const BIG_NOTHROW = { bigint: true, throwIfNoEntry: false } as const;
const PROC_FD = "/proc/self/fd/";
const NS_PER_S = 1_000_000_000n;
const MAX_SIZE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A host directory as a filesystem: read-write, or read-only with every
 * mutation refused (EROFS) before it reaches the host. Linux only: it relies
 * on `/proc/self/fd` (see the module comment).
 *
 * Each `openRoot()` opens the directory again by its resolved path and checks
 * that it is still the directory (device and inode) that was mapped, so the
 * HostFs itself holds no file descriptor and needs no closing.
 */
export class HostFs implements Filesystem {
  readonly readonly: boolean;
  /** The mapped directory, as an absolute path with symlinks resolved. */
  readonly path: string;
  /** How precisely times can be set, in nanoseconds: `HOSTFS_TIME_PRECISION_NS`. */
  readonly timePrecisionNs: bigint = HOSTFS_TIME_PRECISION_NS;
  /** See `HostFsOptions.stableRoot`. */
  readonly stableRoot: boolean;
  readonly #dev: bigint;
  readonly #ino: bigint;

  /** @throws WasiError(INVALID_OPTIONS) naming the path when it is not a usable directory. */
  constructor(options: HostFsOptions) {
    const given = options?.path;
    if (typeof given !== "string" || given === "") {
      throw new WasiError("INVALID_OPTIONS", "HostFs: `path` must be a non-empty string");
    }
    if (process.platform !== "linux") {
      throw new WasiError("INVALID_OPTIONS", `HostFs: cannot map ${given}: needs Linux`);
    }
    const refuse = (why: string, cause?: unknown): WasiError =>
      new WasiError("INVALID_OPTIONS", `HostFs: cannot map ${given}: ${why}`, { cause });
    // Resolve once: later symlink games on the path itself cannot move the preopen.
    let path: string;
    let fd: number;
    try {
      path = realpathSync(given);
      fd = openSync(path, O_RDONLY | O_DIRECTORY);
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      throw refuse(code === "ENOTDIR" ? "not a directory" : message(e), e);
    }
    try {
      const s = fstatSync(fd, BIG);
      let via: { dev: bigint; ino: bigint } | undefined;
      try {
        via = lstatSync(`${PROC_FD}${fd}/.`, BIG_NOTHROW);
      } catch {}
      if (via === undefined || via.dev !== s.dev || via.ino !== s.ino) {
        // Missing in a chroot, masked in some containers.
        throw refuse("/proc/self/fd does not lead to open directories here");
      }
      this.#dev = s.dev;
      this.#ino = s.ino;
    } finally {
      closeSync(fd);
    }
    this.path = path;
    this.readonly = options.readonly ?? false;
    this.stableRoot = options.stableRoot ?? false;
  }

  /**
   * @throws WasiError(INVALID_OPTIONS) when the mapped directory is gone, or
   * its path now leads to another directory (replaced since it was mapped).
   */
  openRoot(): DirHandle {
    let fd: number;
    try {
      fd = openSync(this.path, O_RDONLY | O_DIRECTORY);
    } catch (e) {
      throw new WasiError("INVALID_OPTIONS", `HostFs: cannot open ${this.path}: ${message(e)}`, {
        cause: e,
      });
    }
    let same = false;
    try {
      const s = fstatSync(fd, BIG);
      same = s.dev === this.#dev && s.ino === this.#ino;
    } finally {
      if (!same) closeSync(fd);
    }
    if (!same) {
      throw new WasiError(
        "INVALID_OPTIONS",
        `HostFs: ${this.path} is no longer the directory that was mapped`,
      );
    }
    return new HostDir(this, fd, true);
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Refuse what the port says a name never is. Checked on every call rather than
 * trusted: a ".." or a "/" would make the kernel walk out of the held
 * directory, to its parent and beyond.
 */
function checkName(name: string): void {
  if (name.length === 0) fail(ENOENT, "empty name");
  if (name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    fail(EINVAL, `not a single path component: ${JSON.stringify(name)}`);
  }
}

interface BigStat {
  dev: bigint;
  ino: bigint;
  mode: bigint;
  nlink: bigint;
  size: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
}

function toStat(s: BigStat): Stat {
  return {
    dev: s.dev,
    ino: s.ino,
    filetype: filetypeOfMode(Number(s.mode)),
    nlink: s.nlink,
    size: s.size,
    atim: s.atimeNs,
    mtim: s.mtimeNs,
    ctim: s.ctimeNs,
  };
}

/**
 * `ns` as the seconds Node's utimes family takes. Whole seconds and the
 * fraction are converted apart so that only the final addition rounds (the
 * nanosecond count itself is usually above 2^53), and the fraction is nudged
 * up half a nanosecond because libuv truncates when it splits the double back
 * into a timespec: small times then come back exact, today's ones within
 * about 120 ns (see HOSTFS_TIME_PRECISION_NS).
 */
function seconds(ns: bigint): number {
  return Number(ns / NS_PER_S) + (Number(ns % NS_PER_S) + 0.5) / 1e9;
}

/**
 * The two times to pass to a utimes call, or null when nothing is to change.
 * `current` reads the present times; it is only called when one stays as is.
 */
function times(atim: TimeSpec, mtim: TimeSpec, current: () => BigStat): [number, number] | null {
  let keep: BigStat | null = null;
  if (atim === null || mtim === null) {
    // Read even when both are null: a missing name must still fail.
    keep = current();
    if (atim === null && mtim === null) return null; // as utimensat: not even ctim changes
  }
  const now = atim === "now" || mtim === "now" ? BigInt(Date.now()) * 1_000_000n : 0n;
  const a = atim === null ? keep!.atimeNs : atim === "now" ? now : atim;
  const m = mtim === null ? keep!.mtimeNs : mtim === "now" ? now : mtim;
  return [seconds(a), seconds(m)];
}

/** What file and directory handles share: an open fd of this process. */
class HostHandle {
  readonly fs: HostFs;
  /** The host fd; -1 once closed, so that a stale handle can never reach a reused fd number. */
  protected fd: number;

  constructor(fs: HostFs, fd: number) {
    this.fs = fs;
    this.fd = fd;
  }

  /** The fd, or EBADF when closed. */
  protected live(): number {
    const fd = this.fd;
    if (fd < 0) fail(EBADF, "handle is closed");
    return fd;
  }

  protected writable(): void {
    if (this.fs.readonly) fail(EROFS, "read-only filesystem");
  }

  stat(): Stat {
    return toStat(fstatSync(this.live(), BIG));
  }

  setTimes(atim: TimeSpec, mtim: TimeSpec): void {
    const fd = this.live();
    this.writable();
    const t = times(atim, mtim, () => fstatSync(fd, BIG));
    if (t !== null) futimesSync(fd, t[0], t[1]);
  }

  sync(): void {
    fsyncSync(this.live());
  }

  datasync(): void {
    fdatasyncSync(this.live());
  }

  close(): void {
    const fd = this.live();
    // Forget the number first: Linux releases it even when close reports an error.
    this.fd = -1;
    closeSync(fd);
  }
}

/**
 * An open non-directory: a regular file, or a device, FIFO, … found in the
 * tree. Or, opened with `presume` (see `OpenFlags.presume`), anything at all
 * until `settle()`: a directory opened without O_DIRECTORY too.
 */
class HostFile extends HostHandle implements Handle {
  /** Presumed FILETYPE_REGULAR_FILE while `#presumed`; exact otherwise. */
  filetype: number;
  /** The access mode the fd was opened with, kept for `setAppend`'s reopen. */
  readonly #access: number;
  #append: boolean;
  /**
   * Opened without an fstat: the filetype is not known yet. Reads and writes
   * then go through the kernel's own file position, which for a regular file
   * is the cursor below (both start at 0, without O_APPEND) and for a stream
   * is what it uses anyway, so the same call is right whatever is open; a
   * directory answers EISDIR by itself. Anything else looks first (`#learn`).
   */
  #presumed: boolean;
  /**
   * A regular file's cursor for null-position reads and writes, kept here
   * rather than in the kernel: Node has no lseek to place it, and
   * `setAppend`'s reopen would reset it. -1 means "at the end", after an
   * O_APPEND write whose landing place only the kernel knew; it is resolved
   * (one fstat) when next needed. Streams use the kernel's own position.
   */
  #pos = 0;

  constructor(
    fs: HostFs,
    fd: number,
    filetype: number,
    access: number,
    append: boolean,
    presumed = false,
  ) {
    super(fs, fd);
    this.filetype = filetype;
    this.#access = access;
    this.#append = append;
    this.#presumed = presumed;
  }

  /** Find out what a presumed handle has open: one fstat. */
  #learn(): void {
    this.filetype = filetypeOfMode(fstatSync(this.live()).mode);
    this.#presumed = false;
  }

  settle(): Handle {
    if (this.#presumed) this.#learn();
    if (this.filetype !== FILETYPE_DIRECTORY) return this;
    const dir = new HostDir(this.fs, this.live(), false);
    this.fd = -1; // the directory handle owns the fd now
    return dir;
  }

  read(buf: Uint8Array, position: number | null): number {
    const fd = this.live();
    if (this.#presumed) {
      if (position === null || position === this.#pos) {
        const n = readSync(fd, buf, 0, buf.length, null);
        this.#pos += n;
        return n;
      }
      this.#learn();
    }
    if (position !== null || this.filetype !== FILETYPE_REGULAR_FILE) {
      if (this.filetype === FILETYPE_DIRECTORY) fail(EISDIR, "is a directory");
      return readSync(fd, buf, 0, buf.length, position);
    }
    if (this.#pos < 0) this.#pos = fstatSync(fd).size;
    const n = readSync(fd, buf, 0, buf.length, this.#pos);
    this.#pos += n;
    return n;
  }

  /**
   * In append mode the kernel appends (O_APPEND), which is atomic against
   * other writers of the file; as on Linux, that holds whatever the position.
   * Otherwise a null position writes a regular file at its current size and
   * moves the cursor past it; a stream just gets a `write(2)`.
   */
  write(buf: Uint8Array, position: number | null): number {
    const fd = this.live();
    if (this.#presumed) {
      // Opened for writing, it cannot be a directory (the kernel says EISDIR).
      if (position === this.#pos && this.#access !== O_RDONLY) {
        this.writable();
        const n = writeSync(fd, buf, 0, buf.length, null);
        this.#pos += n;
        return n;
      }
      this.#learn();
    }
    if (this.filetype === FILETYPE_DIRECTORY) fail(EISDIR, "is a directory");
    this.writable();
    if (position !== null || this.filetype !== FILETYPE_REGULAR_FILE) {
      return writeSync(fd, buf, 0, buf.length, position);
    }
    if (this.#append) {
      const n = writeSync(fd, buf, 0, buf.length, null);
      this.#pos = -1;
      return n;
    }
    const at = fstatSync(fd).size;
    const n = writeSync(fd, buf, 0, buf.length, at);
    this.#pos = at + n;
    return n;
  }

  truncate(size: bigint): void {
    const fd = this.live();
    if (this.#presumed) this.#learn();
    if (this.filetype === FILETYPE_DIRECTORY) fail(EISDIR, "is a directory");
    this.writable();
    if (size > MAX_SIZE) fail(EFBIG, "file would exceed 2^53 bytes");
    ftruncateSync(fd, Number(size));
  }

  /**
   * Node cannot fcntl(F_SETFL), so the file is opened again through
   * `/proc/self/fd/<fd>` (the same inode, even if renamed or unlinked since)
   * with O_APPEND toggled and the same access mode, and the old fd closed.
   * A regular file's cursor lives here, so it survives; a stream's position
   * starts over. The reopen checks permissions again, so it fails if the
   * file's mode no longer allows the access mode.
   */
  setAppend(append: boolean): void {
    const fd = this.live();
    if (this.#presumed) this.#learn(); // the reopen below starts the kernel's position over
    if (this.filetype === FILETYPE_DIRECTORY) fail(EISDIR, "is a directory");
    if (append === this.#append) return;
    const flags = this.#access | O_NONBLOCK | (append ? O_APPEND : 0);
    const next = openSync(`${PROC_FD}${fd}`, flags);
    this.fd = next;
    this.#append = append;
    closeSync(fd);
  }
}

/** An open directory. */
class HostDir extends HostHandle implements DirHandle {
  readonly filetype: number = FILETYPE_DIRECTORY;
  readonly fsId: object;
  /** This is the mapped directory itself: its ".." must not reveal the host directory above. */
  readonly #root: boolean;

  constructor(fs: HostFs, fd: number, root: boolean) {
    super(fs, fd);
    this.fsId = fs;
    this.#root = root;
  }

  /** The /proc path of `name` in this directory, after checking both. */
  #at(name: string): string {
    const fd = this.live();
    checkName(name);
    // The root's own path is as good as its descriptor when nothing the
    // guest controls lies on the way to it (HostFsOptions.stableRoot).
    if (this.#root && this.fs.stableRoot)
      return this.fs.path === "/" ? `/${name}` : `${this.fs.path}/${name}`;
    return `${PROC_FD}${fd}/${name}`;
  }

  /** `to` as one of our directories, or EXDEV. */
  #peer(to: DirHandle): HostDir {
    if (!(to instanceof HostDir) || to.fsId !== this.fsId) fail(EXDEV, "not the same filesystem");
    return to;
  }

  read(): number {
    this.live();
    return fail(EISDIR, "is a directory");
  }

  write(): number {
    this.live();
    return fail(EISDIR, "is a directory");
  }

  truncate(): void {
    this.live();
    fail(EISDIR, "is a directory");
  }

  reopen(): DirHandle {
    return new HostDir(this.fs, openSync(`${PROC_FD}${this.live()}`, DIR_REOPEN), this.#root);
  }

  /**
   * "." and "..", then the entries sorted by name bytes (libuv sorts), which
   * is stable while the directory is unchanged. Inode numbers come from one
   * lstat per entry (readdir via Node gives names and types only); an entry
   * removed in between is left out.
   */
  readdir(): DirEntry[] {
    const fd = this.live();
    const base = `${PROC_FD}${fd}`;
    const self = fstatSync(fd, BIG).ino;
    const parent = this.#root ? self : lstatSync(`${base}/..`, BIG).ino;
    const out: DirEntry[] = [
      { name: ".", ino: self, filetype: FILETYPE_DIRECTORY },
      { name: "..", ino: parent, filetype: FILETYPE_DIRECTORY },
    ];
    for (const d of readdirSync(base, { withFileTypes: true })) {
      let s: BigStat | undefined;
      try {
        s = lstatSync(`${base}/${d.name}`, BIG_NOTHROW);
        if (s === undefined) continue; // removed since readdir saw it
      } catch {
        // Listed but not stat-able (a directory readable but not searchable):
        // still an entry, as readdir(3) would show it, with what getdents knew.
        out.push({ name: d.name, ino: 0n, filetype: direntType(d) });
        continue;
      }
      out.push({ name: d.name, ino: s.ino, filetype: filetypeOfMode(Number(s.mode)) });
    }
    return out;
  }

  statAt(name: string): Stat {
    return toStat(lstatSync(this.#at(name), BIG));
  }

  openAt(name: string, flags: OpenFlags): Handle {
    return this.#openPath(this.#at(name), flags);
  }

  #openPath(path: string, flags: OpenFlags): Handle {
    if (flags.create && flags.directory) {
      // O_CREAT|O_DIRECTORY, which the port defines as Linux 6.4+ has it for a
      // missing name (EINVAL), never reaches the kernel: older ones would
      // create a regular file. An existing name opens as without `create`
      // (EEXIST under `exclusive`), as MemoryFs does.
      if (lstatSync(path, { throwIfNoEntry: false }) === undefined) {
        fail(EINVAL, "cannot create a directory with openAt");
      }
      if (flags.exclusive) fail(EEXIST, "already exists");
      return this.#openPath(path, { ...flags, create: false });
    }
    if (this.fs.readonly && (flags.write || flags.create || flags.truncate)) {
      return this.#openReadonly(path, flags);
    }
    return this.#open(path, flags);
  }

  #open(path: string, flags: OpenFlags): Handle {
    const access = flags.write ? (flags.read ? O_RDWR : O_WRONLY) : O_RDONLY;
    let oflags = access | OPEN_BASE;
    if (flags.create) oflags |= flags.exclusive ? O_CREAT | O_EXCL : O_CREAT;
    if (flags.truncate) oflags |= O_TRUNC;
    if (flags.directory) oflags |= O_DIRECTORY;
    if (flags.append) oflags |= O_APPEND;
    const fd = openSync(path, oflags, 0o666);
    // The kernel answers what the handle is without another syscall when it can:
    // O_DIRECTORY only opens directories, O_CREAT|O_EXCL only makes regular files.
    if (flags.directory) return new HostDir(this.fs, fd, false);
    if (flags.create && flags.exclusive) {
      return new HostFile(this.fs, fd, FILETYPE_REGULAR_FILE, access, flags.append);
    }
    // The caller will ask when it needs to know (HostFile.settle). Not in
    // append mode, where the kernel's position is not the file's cursor.
    if (flags.presume && !flags.append) {
      return new HostFile(this.fs, fd, FILETYPE_REGULAR_FILE, access, false, true);
    }
    let filetype: number;
    try {
      filetype = filetypeOfMode(fstatSync(fd).mode);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    // Write access, O_CREAT and O_TRUNC all fail with EISDIR on a directory.
    if (filetype === FILETYPE_DIRECTORY) return new HostDir(this.fs, fd, false);
    return new HostFile(this.fs, fd, filetype, access, flags.append);
  }

  /**
   * A read-only filesystem answers what Linux answers on a read-only mount:
   * EROFS only for what would change something (creating a missing name,
   * writing or truncating a file), the usual errors otherwise, and a plain
   * read-only open when O_CREAT met an existing name. The lstat here is only
   * advice: what is then opened is opened O_RDONLY|O_NOFOLLOW, whatever the
   * name has become meanwhile.
   */
  #openReadonly(path: string, flags: OpenFlags): Handle {
    const s = lstatSync(path, { throwIfNoEntry: false });
    if (s === undefined) fail(flags.create ? EROFS : ENOENT, "read-only filesystem");
    if (flags.create && flags.exclusive) fail(EEXIST, "already exists");
    if (s.isSymbolicLink()) fail(ELOOP, "is a symlink");
    if (s.isDirectory()) fail(EISDIR, "is a directory"); // O_CREAT, O_TRUNC or write access
    // A non-directory under O_DIRECTORY: the open below says ENOTDIR.
    if (!flags.directory && (flags.write || flags.truncate)) fail(EROFS, "read-only filesystem");
    return this.#open(path, { ...flags, write: false, create: false, truncate: false });
  }

  readlinkAt(name: string): string {
    return readlinkSync(this.#at(name));
  }

  mkdirAt(name: string): void {
    const path = this.#at(name);
    this.writable();
    mkdirSync(path, 0o777);
  }

  rmdirAt(name: string): void {
    const path = this.#at(name);
    this.writable();
    rmdirSync(path);
  }

  unlinkAt(name: string): void {
    const path = this.#at(name);
    this.writable();
    unlinkSync(path);
  }

  renameAt(name: string, to: DirHandle, toName: string): void {
    const from = this.#at(name);
    const dest = this.#peer(to).#at(toName);
    this.writable();
    renameSync(from, dest);
  }

  /** link(2) on Linux never follows `name` (it is linkat without AT_SYMLINK_FOLLOW). */
  linkAt(name: string, to: DirHandle, toName: string): void {
    const from = this.#at(name);
    const dest = this.#peer(to).#at(toName);
    this.writable();
    linkSync(from, dest);
  }

  symlinkAt(target: string, name: string): void {
    const path = this.#at(name);
    this.writable();
    if (target.includes("\0")) fail(EINVAL, "NUL byte in symlink target");
    symlinkSync(target, path);
  }

  setTimesAt(name: string, atim: TimeSpec, mtim: TimeSpec): void {
    const path = this.#at(name);
    this.writable();
    const t = times(atim, mtim, () => lstatSync(path, BIG));
    if (t !== null) lutimesSync(path, t[0], t[1]);
  }
}

function direntType(d: Dirent): number {
  if (d.isFile()) return FILETYPE_REGULAR_FILE;
  if (d.isDirectory()) return FILETYPE_DIRECTORY;
  if (d.isSymbolicLink()) return FILETYPE_SYMBOLIC_LINK;
  if (d.isCharacterDevice()) return FILETYPE_CHARACTER_DEVICE;
  if (d.isBlockDevice()) return FILETYPE_BLOCK_DEVICE;
  if (d.isSocket()) return FILETYPE_SOCKET_STREAM;
  return FILETYPE_UNKNOWN;
}
