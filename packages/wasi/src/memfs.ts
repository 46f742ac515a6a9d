/**
 * MemoryFs: an in-memory, POSIX-like implementation of the filesystem port
 * (`fs.ts`): the in-memory preopen, and the fake that the rest of the WASI
 * host is tested against.
 *
 * Where POSIX leaves a choice, MemoryFs does what Linux does (tmpfs in
 * particular), so that a guest sees the same errno here as on a host-mapped
 * directory: `linkAt` on a directory is EPERM, `unlinkAt` on one is EISDIR,
 * `ftruncate` on a handle not open for writing is EINVAL.
 */
import {
  EBADF,
  EEXIST,
  EFBIG,
  EINVAL,
  EISDIR,
  ELOOP,
  ENAMETOOLONG,
  ENOENT,
  ENOSPC,
  ENOTDIR,
  ENOTEMPTY,
  EPERM,
  EROFS,
  EXDEV,
  FILETYPE_DIRECTORY,
  FILETYPE_REGULAR_FILE,
  FILETYPE_SYMBOLIC_LINK,
} from "./_constants.ts";
import { fail } from "./_errno.ts";
import type { DirEntry, DirHandle, Filesystem, Handle, OpenFlags, Stat, TimeSpec } from "./fs.ts";

/** Options of `new MemoryFs()`. */
export interface MemoryFsOptions {
  /**
   * Refuse every change made through a handle with EROFS. The seeding helpers
   * (`writeFile`, `mkdirp`, `symlink`) still work, so a read-only tree can be
   * filled before it is preopened. Default false.
   */
  readonly?: boolean;
  /**
   * The realtime clock, in nanoseconds since the epoch, read whenever a
   * timestamp is stamped. Default: `Date.now()` scaled to nanoseconds
   * (millisecond resolution); inject one to pin time in tests.
   */
  now?: () => bigint;
}

/** Longest name, in UTF-8 bytes (Linux NAME_MAX). */
const NAME_MAX = 255;
/** Longest symlink target, in UTF-8 bytes (Linux PATH_MAX). */
const TARGET_MAX = 4096;
/** The port promises file offsets below 2^53. */
const MAX_FILE_SIZE = Number.MAX_SAFE_INTEGER;
const MAX_FILE_SIZE_BIG = BigInt(MAX_FILE_SIZE);
/** What `stat` reports as a directory's size: the block size of a disk filesystem, as guests are used to. */
const DIR_SIZE = 4096n;
/** Shared storage of every empty file, so that 20,000 empty files cost no buffers. */
const EMPTY = new Uint8Array(0);

// Device numbers only have to differ between instances, so that a guest that
// compares (dev, ino) pairs never confuses two preopens; a counter is enough.
let nextDev = 0x6d656d00n;

function defaultNow(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** An inode: what a name points at. It lives as long as a name or a handle holds it. */
class Node {
  readonly ino: bigint;
  readonly filetype: number;
  /** Names pointing here; for a directory, 2 + subdirectories, and 0 once removed. */
  nlink: number;
  atim: bigint;
  mtim: bigint;
  ctim: bigint;
  constructor(ino: bigint, filetype: number, nlink: number, t: bigint) {
    this.ino = ino;
    this.filetype = filetype;
    this.nlink = nlink;
    this.atim = t;
    this.mtim = t;
    this.ctim = t;
  }
}

class FileNode extends Node {
  /**
   * Storage; its length is the capacity, grown geometrically so that a run of
   * small writes costs amortised O(1) per byte. Bytes from `size` to the end
   * are always zero, which is what makes growing (by write past the end or by
   * truncate) zero-fill without another pass.
   */
  data: Uint8Array = EMPTY;
  size = 0;
  constructor(ino: bigint, t: bigint) {
    super(ino, FILETYPE_REGULAR_FILE, 1, t);
  }
}

class DirNode extends Node {
  /** Insertion-ordered, which gives `readdir` its stable order. */
  readonly entries = new Map<string, Node>();
  /** What ".." names. Directories cannot be hard-linked, so there is exactly one; the root's is itself. */
  parent: DirNode;
  constructor(ino: bigint, t: bigint, parent: DirNode | null) {
    super(ino, FILETYPE_DIRECTORY, 2, t);
    this.parent = parent ?? this;
  }
}

class LinkNode extends Node {
  readonly target: string;
  /** The target's length in UTF-8 bytes, as lstat reports it. */
  readonly size: number;
  constructor(ino: bigint, t: bigint, target: string, size: number) {
    super(ino, FILETYPE_SYMBOLIC_LINK, 1, t);
    this.target = target;
    this.size = size;
  }
}

/** The state one MemoryFs shares with all of its handles. */
class Volume {
  readonly dev: bigint;
  /** Compared by identity only; frozen so that holding it grants nothing. */
  readonly fsId: object = Object.freeze({});
  readonly readonly: boolean;
  readonly now: () => bigint;
  readonly root: DirNode;
  #nextIno = 1n;

  constructor(readonly: boolean, now: () => bigint) {
    this.dev = nextDev++;
    this.readonly = readonly;
    this.now = now;
    this.root = new DirNode(this.ino(), now(), null);
  }

  ino(): bigint {
    return this.#nextIno++;
  }

  writable(): void {
    if (this.readonly) fail(EROFS, "read-only filesystem");
  }

  stat(node: Node): Stat {
    let size: bigint;
    if (node instanceof FileNode) size = BigInt(node.size);
    else if (node instanceof LinkNode) size = BigInt(node.size);
    else size = DIR_SIZE;
    return {
      dev: this.dev,
      ino: node.ino,
      filetype: node.filetype,
      nlink: BigInt(node.nlink),
      size,
      atim: node.atim,
      mtim: node.mtim,
      ctim: node.ctim,
    };
  }
}

/** UTF-8 length of `s`, as TextEncoder would encode it (a lone surrogate becomes U+FFFD, 3 bytes). */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * Refuse what the port says a name never is. Checked on every call rather than
 * trusted: a ".." that slipped through would otherwise reach a parent.
 */
function checkName(name: string): void {
  if (name.length === 0) fail(ENOENT, "empty name");
  // A UTF-16 unit is at most 3 UTF-8 bytes, so short names skip the count.
  if (name.length * 3 > NAME_MAX && utf8Length(name) > NAME_MAX) {
    fail(ENAMETOOLONG, `name longer than ${NAME_MAX} bytes`);
  }
  if (name === "." || name === ".." || name.includes("/") || name.includes("\0")) {
    fail(EINVAL, `not a single path component: ${JSON.stringify(name)}`);
  }
}

function checkPosition(position: number): number {
  if (!Number.isSafeInteger(position) || position < 0) fail(EINVAL, `bad file offset ${position}`);
  return position;
}

/** A new directory entry cannot be made in a directory that was removed (Linux: ENOENT). */
function checkLive(dir: DirNode): void {
  if (dir.nlink === 0) fail(ENOENT, "directory was removed");
}

function alloc(length: number): Uint8Array {
  try {
    return new Uint8Array(length);
  } catch (e) {
    // Out of memory is this filesystem running out of space.
    if (e instanceof RangeError) fail(ENOSPC, `cannot hold ${length} bytes`);
    throw e;
  }
}

/** Move the file's bytes to a new buffer of `capacity` (at least its size). */
function moveTo(file: FileNode, capacity: number): void {
  const data = alloc(capacity);
  data.set(file.data.subarray(0, file.size));
  file.data = data;
}

/** Make room for `need` bytes: exactly for a file's first data, doubling after that. */
function reserve(file: FileNode, need: number): void {
  const cap = file.data.length;
  if (need <= cap) return;
  try {
    moveTo(file, cap === 0 ? need : Math.max(need, cap * 2));
  } catch {
    moveTo(file, need); // the doubled size did not fit; the exact one may
  }
}

function resize(file: FileNode, size: number): void {
  if (size > file.size) {
    // Truncating up usually sets the final size: take exactly that.
    if (size > file.data.length) moveTo(file, size);
  } else if (size === 0) {
    file.data = EMPTY;
  } else if (size < file.data.length / 4) {
    // Give most of the memory back rather than keep a mostly empty buffer.
    file.data = file.data.slice(0, size);
  } else {
    file.data.fill(0, size, file.size); // keep the tail zero (see FileNode.data)
  }
  file.size = size;
}

/** Set times as utimensat(2) does; the caller has checked that the filesystem is writable. */
function setTimes(vol: Volume, node: Node, atim: TimeSpec, mtim: TimeSpec): void {
  if (atim === null && mtim === null) return; // nothing changes, not even ctim (as utimensat)
  const t = vol.now();
  if (atim !== null) node.atim = atim === "now" ? t : atim;
  if (mtim !== null) node.mtim = mtim === "now" ? t : mtim;
  node.ctim = t;
}

/** The entry `name` of `dir`; ENOENT when there is none. */
function get(dir: DirNode, name: string): Node {
  const node = dir.entries.get(name);
  if (node === undefined) fail(ENOENT, `no such entry: ${name}`);
  return node;
}

/** A directory's content changed: stamp its mtim and ctim. */
function touch(dir: DirNode, t: bigint): void {
  dir.mtim = t;
  dir.ctim = t;
}

/** Enter `node` as `name` in `dir`; the caller has checked that the name is free. */
function insert(dir: DirNode, name: string, node: Node, t: bigint): void {
  dir.entries.set(name, node);
  if (node instanceof DirNode) dir.nlink++;
  touch(dir, t);
}

/** Remove the entry `name` of `dir`, which is `node`. */
function remove(dir: DirNode, name: string, node: Node, t: bigint): void {
  dir.entries.delete(name);
  dropped(dir, node, t);
  touch(dir, t);
}

/** Account for `node` losing one name in `dir`; the caller removes or overwrites the entry. */
function dropped(dir: DirNode, node: Node, t: bigint): void {
  if (node instanceof DirNode) {
    node.nlink = 0;
    dir.nlink--;
  } else {
    node.nlink--;
  }
  node.ctim = t;
}

/** True when `dir` is `ancestor` or lies beneath it. */
function within(dir: DirNode, ancestor: DirNode): boolean {
  for (let d = dir; ; d = d.parent) {
    if (d === ancestor) return true;
    if (d.parent === d) return false;
  }
}

class FileHandle implements Handle {
  readonly filetype: number = FILETYPE_REGULAR_FILE;
  readonly #vol: Volume;
  readonly #file: FileNode;
  readonly #read: boolean;
  readonly #write: boolean;
  #append: boolean;
  /** Offset for calls with a null position; the WASI layer normally passes its own. */
  #pos = 0;
  #closed = false;

  constructor(vol: Volume, file: FileNode, flags: OpenFlags) {
    this.#vol = vol;
    this.#file = file;
    this.#read = flags.read;
    this.#write = flags.write;
    this.#append = flags.append;
  }

  #open(): FileNode {
    if (this.#closed) fail(EBADF, "handle is closed");
    return this.#file;
  }

  stat(): Stat {
    return this.#vol.stat(this.#open());
  }

  /**
   * Read at `position`, or, when it is null, at this handle's own offset,
   * which starts at 0 and moves past what null-position reads and writes
   * touch (as `read(2)` does).
   */
  read(buf: Uint8Array, position: number | null): number {
    const file = this.#open();
    if (!this.#read) fail(EBADF, "handle is not open for reading");
    const at = position === null ? this.#pos : checkPosition(position);
    const n = Math.max(0, Math.min(buf.length, file.size - at));
    if (n > 0) buf.set(file.data.subarray(at, at + n));
    if (position === null) this.#pos = at + n;
    if (!this.#vol.readonly) file.atim = this.#vol.now();
    return n;
  }

  /**
   * Write at `position`, or at the end of the file when it is null. In append
   * mode every write goes to the end, whatever the position, as `pwrite(2)`
   * does on Linux under O_APPEND.
   */
  write(buf: Uint8Array, position: number | null): number {
    const file = this.#open();
    if (!this.#write) fail(EBADF, "handle is not open for writing");
    this.#vol.writable();
    const at = this.#append || position === null ? file.size : checkPosition(position);
    const n = buf.length;
    const end = at + n;
    if (end > MAX_FILE_SIZE) fail(EFBIG, "file would exceed 2^53 bytes");
    if (position === null) this.#pos = end;
    if (n === 0) return 0; // POSIX: a zero-length write changes nothing, not even mtim
    reserve(file, end);
    file.data.set(buf, at);
    if (end > file.size) file.size = end;
    const t = this.#vol.now();
    file.mtim = t;
    file.ctim = t;
    return n;
  }

  truncate(size: bigint): void {
    const file = this.#open();
    this.#vol.writable();
    if (!this.#write) fail(EINVAL, "handle is not open for writing"); // as ftruncate(2) on Linux
    if (size < 0n) fail(EINVAL, "negative size");
    if (size > MAX_FILE_SIZE_BIG) fail(EFBIG, "file would exceed 2^53 bytes");
    resize(file, Number(size));
    const t = this.#vol.now();
    file.mtim = t;
    file.ctim = t;
  }

  setTimes(atim: TimeSpec, mtim: TimeSpec): void {
    const file = this.#open();
    this.#vol.writable();
    setTimes(this.#vol, file, atim, mtim);
  }

  sync(): void {
    this.#open();
  }

  datasync(): void {
    this.#open();
  }

  setAppend(append: boolean): void {
    this.#open();
    this.#append = append;
  }

  readReady(): boolean {
    return true;
  }

  close(): void {
    this.#open();
    this.#closed = true;
  }
}

class MemDirHandle implements DirHandle {
  readonly filetype: number = FILETYPE_DIRECTORY;
  readonly fsId: object;
  readonly #vol: Volume;
  readonly #dir: DirNode;
  #closed = false;

  constructor(vol: Volume, dir: DirNode) {
    this.#vol = vol;
    this.#dir = dir;
    this.fsId = vol.fsId;
  }

  // Every operation checks in the same order: a closed handle (EBADF), the
  // names (ENOENT, EINVAL, ENAMETOOLONG), another filesystem (EXDEV), a
  // read-only one (EROFS), then what the names lead to.

  #open(): DirNode {
    if (this.#closed) fail(EBADF, "handle is closed");
    return this.#dir;
  }

  /** The directory behind `to`, a handle that must be of this filesystem. */
  #peer(to: DirHandle): DirNode {
    if (!(to instanceof MemDirHandle) || to.fsId !== this.fsId) {
      fail(EXDEV, "not the same filesystem");
    }
    return to.#open();
  }

  stat(): Stat {
    return this.#vol.stat(this.#open());
  }

  read(): number {
    this.#open();
    return fail(EISDIR, "is a directory");
  }

  write(): number {
    this.#open();
    return fail(EISDIR, "is a directory");
  }

  truncate(): void {
    this.#open();
    fail(EISDIR, "is a directory");
  }

  setTimes(atim: TimeSpec, mtim: TimeSpec): void {
    const dir = this.#open();
    this.#vol.writable();
    setTimes(this.#vol, dir, atim, mtim);
  }

  sync(): void {
    this.#open();
  }

  datasync(): void {
    this.#open();
  }

  readReady(): boolean {
    return true;
  }

  close(): void {
    this.#open();
    this.#closed = true;
  }

  reopen(): DirHandle {
    return new MemDirHandle(this.#vol, this.#open());
  }

  /** "." and ".." first, then entries in the order they were made. */
  readdir(): DirEntry[] {
    const dir = this.#open();
    const out: DirEntry[] = [
      { name: ".", ino: dir.ino, filetype: FILETYPE_DIRECTORY },
      { name: "..", ino: dir.parent.ino, filetype: FILETYPE_DIRECTORY },
    ];
    for (const [name, node] of dir.entries) {
      out.push({ name, ino: node.ino, filetype: node.filetype });
    }
    if (!this.#vol.readonly) dir.atim = this.#vol.now();
    return out;
  }

  statAt(name: string): Stat {
    const dir = this.#open();
    checkName(name);
    return this.#vol.stat(get(dir, name));
  }

  openAt(name: string, flags: OpenFlags): Handle {
    const dir = this.#open();
    checkName(name);
    const vol = this.#vol;
    const node = dir.entries.get(name);
    if (node === undefined) {
      if (!flags.create) fail(ENOENT, `no such entry: ${name}`);
      // Linux 6.4+ refuses O_CREAT|O_DIRECTORY rather than make a file.
      if (flags.directory) fail(EINVAL, "cannot create a directory with openAt");
      vol.writable();
      checkLive(dir);
      const t = vol.now();
      const file = new FileNode(vol.ino(), t);
      insert(dir, name, file, t);
      return new FileHandle(vol, file, flags);
    }
    // The name exists. O_CREAT alone does not make this a change, so it
    // does not fail with EROFS on a read-only filesystem (as Linux).
    if (flags.create && flags.exclusive) fail(EEXIST, `already exists: ${name}`);
    if (node instanceof LinkNode) fail(ELOOP, `is a symlink: ${name}`);
    if (node instanceof DirNode) {
      if (flags.write || flags.truncate) fail(EISDIR, `is a directory: ${name}`);
      return new MemDirHandle(vol, node);
    }
    if (flags.directory) fail(ENOTDIR, `not a directory: ${name}`);
    const file = node as FileNode;
    if (flags.write || flags.truncate) vol.writable();
    if (flags.truncate) {
      // POSIX: O_TRUNC on an existing file stamps mtim and ctim even if it was empty.
      resize(file, 0);
      const t = vol.now();
      file.mtim = t;
      file.ctim = t;
    }
    return new FileHandle(vol, file, flags);
  }

  readlinkAt(name: string): string {
    const dir = this.#open();
    checkName(name);
    const node = get(dir, name);
    if (!(node instanceof LinkNode)) fail(EINVAL, `not a symlink: ${name}`);
    return node.target;
  }

  mkdirAt(name: string): void {
    const dir = this.#open();
    checkName(name);
    const vol = this.#vol;
    vol.writable();
    if (dir.entries.has(name)) fail(EEXIST, `already exists: ${name}`);
    checkLive(dir);
    const t = vol.now();
    insert(dir, name, new DirNode(vol.ino(), t, dir), t);
  }

  rmdirAt(name: string): void {
    const dir = this.#open();
    checkName(name);
    this.#vol.writable();
    const node = get(dir, name);
    if (!(node instanceof DirNode)) fail(ENOTDIR, `not a directory: ${name}`);
    if (node.entries.size > 0) fail(ENOTEMPTY, `directory not empty: ${name}`);
    remove(dir, name, node, this.#vol.now());
  }

  unlinkAt(name: string): void {
    const dir = this.#open();
    checkName(name);
    this.#vol.writable();
    const node = get(dir, name);
    if (node instanceof DirNode) fail(EISDIR, `is a directory: ${name}`);
    remove(dir, name, node, this.#vol.now());
  }

  renameAt(name: string, to: DirHandle, toName: string): void {
    const from = this.#open();
    checkName(name);
    checkName(toName);
    const dest = this.#peer(to);
    this.#vol.writable();
    const node = get(from, name);
    const old = dest.entries.get(toName);
    // Both names already lead to the same inode (the same entry, or two hard
    // links): POSIX says rename does nothing and succeeds.
    if (old === node) return;
    checkLive(dest);
    if (node instanceof DirNode) {
      if (within(dest, node)) fail(EINVAL, "cannot move a directory beneath itself");
      if (old !== undefined) {
        if (!(old instanceof DirNode)) fail(ENOTDIR, `not a directory: ${toName}`);
        if (old.entries.size > 0) fail(ENOTEMPTY, `directory not empty: ${toName}`);
      }
    } else if (old instanceof DirNode) {
      fail(EISDIR, `is a directory: ${toName}`);
    }
    const t = this.#vol.now();
    from.entries.delete(name);
    if (old !== undefined) dropped(dest, old, t);
    dest.entries.set(toName, node);
    if (node instanceof DirNode && from !== dest) {
      from.nlink--;
      dest.nlink++;
      node.parent = dest;
    }
    node.ctim = t; // Linux stamps the moved inode's ctim
    touch(from, t);
    touch(dest, t);
  }

  linkAt(name: string, to: DirHandle, toName: string): void {
    const dir = this.#open();
    checkName(name);
    checkName(toName);
    const dest = this.#peer(to);
    this.#vol.writable();
    const node = get(dir, name);
    if (node instanceof DirNode) fail(EPERM, `cannot hard-link a directory: ${name}`);
    if (dest.entries.has(toName)) fail(EEXIST, `already exists: ${toName}`);
    checkLive(dest);
    const t = this.#vol.now();
    node.nlink++;
    node.ctim = t;
    insert(dest, toName, node, t);
  }

  symlinkAt(target: string, name: string): void {
    const dir = this.#open();
    checkName(name);
    const vol = this.#vol;
    vol.writable();
    if (dir.entries.has(name)) fail(EEXIST, `already exists: ${name}`);
    insert(dir, name, makeLink(vol, dir, target), vol.now());
  }

  setTimesAt(name: string, atim: TimeSpec, mtim: TimeSpec): void {
    const dir = this.#open();
    checkName(name);
    this.#vol.writable();
    setTimes(this.#vol, get(dir, name), atim, mtim);
  }
}

/** A new symlink to `target`, to be entered in `dir`. */
function makeLink(vol: Volume, dir: DirNode, target: string): LinkNode {
  if (target.length === 0) fail(ENOENT, "empty symlink target"); // as symlink(2)
  if (target.includes("\0")) fail(EINVAL, "NUL byte in symlink target");
  const size = utf8Length(target);
  if (size > TARGET_MAX) fail(ENAMETOOLONG, `symlink target longer than ${TARGET_MAX} bytes`);
  checkLive(dir);
  return new LinkNode(vol.ino(), vol.now(), target, size);
}

const encoder = new TextEncoder();

/**
 * An in-memory POSIX-like filesystem: inodes with unique numbers and link
 * counts, nanosecond timestamps kept as POSIX does, hard links, symlinks,
 * POSIX rename. Open files stay usable after their last name is removed.
 *
 * Besides the port, it has seeding helpers for tests and the CLI that take
 * slash paths from the root ("/a/b" or "a/b"). They do not follow symlinks,
 * refuse "..", and ignore `readonly`, which only binds handles: they are how a
 * read-only tree gets its content.
 */
export class MemoryFs implements Filesystem {
  readonly readonly: boolean;
  readonly #vol: Volume;

  constructor(options: MemoryFsOptions = {}) {
    this.readonly = options.readonly ?? false;
    this.#vol = new Volume(this.readonly, options.now ?? defaultNow);
  }

  openRoot(): DirHandle {
    return new MemDirHandle(this.#vol, this.#vol.root);
  }

  /**
   * Create or replace the regular file at `path` with `data` (a string is
   * written as UTF-8), creating missing parent directories. The bytes are
   * copied. Fails with EISDIR on a directory and ELOOP on a symlink.
   */
  writeFile(path: string, data: Uint8Array | string): void {
    const { dir, name } = this.#parent(path, true);
    const bytes = typeof data === "string" ? encoder.encode(data) : new Uint8Array(data);
    const t = this.#vol.now();
    let file = dir.entries.get(name);
    if (file === undefined) {
      file = new FileNode(this.#vol.ino(), t);
      insert(dir, name, file, t);
    }
    if (!(file instanceof FileNode)) {
      fail(file instanceof DirNode ? EISDIR : ELOOP, `not a regular file: ${path}`);
    }
    file.data = bytes.length > 0 ? bytes : EMPTY;
    file.size = bytes.length;
    file.mtim = t;
    file.ctim = t;
  }

  /**
   * Create the directory `path` and any missing parents (`mkdir -p`); existing
   * directories are fine. ENOTDIR when a component exists and is not a directory.
   */
  mkdirp(path: string): void {
    let dir = this.#vol.root;
    for (const name of components(path)) dir = this.#child(dir, name, true, path);
  }

  /** Create a symlink at `path` pointing to `target`, creating missing parents; EEXIST if `path` exists. */
  symlink(target: string, path: string): void {
    const { dir, name } = this.#parent(path, true);
    if (dir.entries.has(name)) fail(EEXIST, `already exists: ${path}`);
    insert(dir, name, makeLink(this.#vol, dir, target), this.#vol.now());
  }

  /** A copy of the regular file at `path`. ENOENT if missing, EISDIR on a directory, ELOOP on a symlink. */
  readFile(path: string): Uint8Array {
    const { dir, name } = this.#parent(path, false);
    const node = get(dir, name);
    if (!(node instanceof FileNode)) {
      fail(node instanceof DirNode ? EISDIR : ELOOP, `not a regular file: ${path}`);
    }
    return node.data.slice(0, node.size);
  }

  /** The directory holding the last component of `path`, walking (and with `create`, making) directories. */
  #parent(path: string, create: boolean): { dir: DirNode; name: string } {
    const names = components(path);
    const name = names.pop();
    if (name === undefined) fail(EINVAL, `path names the root: ${JSON.stringify(path)}`);
    let dir = this.#vol.root;
    for (const n of names) dir = this.#child(dir, n, create, path);
    return { dir, name };
  }

  /** The subdirectory `name` of `dir`, made when missing if `create`. */
  #child(dir: DirNode, name: string, create: boolean, path: string): DirNode {
    let next = dir.entries.get(name);
    if (next === undefined) {
      if (!create) fail(ENOENT, `no such directory: ${name} in ${path}`);
      const t = this.#vol.now();
      next = new DirNode(this.#vol.ino(), t, dir);
      insert(dir, name, next, t);
    }
    if (!(next instanceof DirNode)) fail(ENOTDIR, `not a directory: ${name} in ${path}`);
    return next;
  }
}

/** The names along a helper path, each checked as the port checks one. */
function components(path: string): string[] {
  const out: string[] = [];
  for (const c of path.split("/")) {
    if (c === "" || c === ".") continue;
    checkName(c); // refuses ".." among others
    out.push(c);
  }
  return out;
}
