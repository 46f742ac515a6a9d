/**
 * The contract of the filesystem port (`fs.ts`): one suite that every
 * implementation runs from its own test file, e.g.
 *
 *     fsContract("MemoryFs", () => ({ fs: new MemoryFs() }), { makeReadonly });
 *
 * It speaks only the port, never an implementation's internals, so a
 * host-directory filesystem passes it on a real temp dir. Failures are checked
 * by exact WASI errno, read through `errnoOf` as the host reads them. The
 * expected errno values are Linux's where POSIX leaves a choice.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as C from "./_constants.ts";
import { errnoOf } from "./_errno.ts";
import { type DirHandle, type Filesystem, type Handle, isDir, type OpenFlags } from "./fs.ts";

/** What a factory hands the suite: a filesystem, and how to dispose of it. */
export interface FsFixture {
  fs: Filesystem;
  /** Called once the test is over and every handle it opened is closed. */
  cleanup?: () => void;
}

/** Options of `fsContract`. */
export interface FsContractOptions {
  /**
   * Factory of a read-only filesystem (`readonly` true) whose root holds
   * exactly a regular file "ro.txt" containing the 5 bytes "hello" and an empty
   * directory "sub". Unset: the read-only tests are skipped.
   */
  makeReadonly?: () => FsFixture;
  /**
   * How far a stored timestamp may be from the one set, in nanoseconds:
   * 1n (the default) for exact storage, 1000n for a host that keeps
   * microseconds. A difference must be strictly smaller.
   */
  timePrecisionNs?: bigint;
}

/** Open flags with every option off; the presets below (exported for other tests) build on it. */
export const NONE: OpenFlags = {
  read: false,
  write: false,
  create: false,
  exclusive: false,
  truncate: false,
  directory: false,
  append: false,
};
/** Open an existing name for reading. */
export const READ: OpenFlags = { ...NONE, read: true };
/** Open an existing file for reading and writing. */
export const RW: OpenFlags = { ...NONE, read: true, write: true };
/** Open for reading and writing, creating the file if it is missing. */
export const CREATE: OpenFlags = { ...RW, create: true };
/** Create a new file for reading and writing; EEXIST if the name exists. */
export const CREATE_EXCL: OpenFlags = { ...CREATE, exclusive: true };
/** Open a directory (ENOTDIR on anything else). */
export const DIR: OpenFlags = { ...READ, directory: true };

/** 2001-09-09, well in the past of any clock a test runs under. */
const OLD = 1_000_000_000_000_000_000n;
/** Nanoseconds allowed between "now" as a filesystem stamps it and as Date.now() sees it. */
const CLOCK_SLACK = 2_000_000_000n;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** errno value -> name, for failure messages that read "expected ENOENT, got EEXIST". */
const ERRNO_NAMES = new Map<number, string>();
for (const [key, value] of Object.entries(C)) {
  if (/^E[A-Z0-9]+$/.test(key) && typeof value === "number") ERRNO_NAMES.set(value, key);
}
function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `errno ${errno}`;
}

/**
 * Assert that `fn` fails with exactly the WASI errno `expected`, as `errnoOf`
 * reads what it throws; `what` prefixes the failure message. A handle that
 * `fn` returns by mistake is closed.
 */
export function assertErrno(fn: () => unknown, expected: number, what = ""): void {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    const got = errnoOf(e);
    assert.equal(
      errnoName(got),
      errnoName(expected),
      `${what} expected ${errnoName(expected)}, got ${errnoName(got)} (${String(e)})`,
    );
    return;
  }
  if (typeof (result as Handle | undefined)?.close === "function") (result as Handle).close();
  assert.fail(`${what} expected ${errnoName(expected)}, but it succeeded`);
}

function assertErrnoIn(fn: () => unknown, expected: number[], what = ""): void {
  try {
    const result = fn();
    if (typeof (result as Handle | undefined)?.close === "function") (result as Handle).close();
  } catch (e) {
    const got = errnoOf(e);
    assert.ok(
      expected.includes(got),
      `${what} expected one of ${expected.map(errnoName).join(", ")}, got ${errnoName(got)}`,
    );
    return;
  }
  assert.fail(`${what} expected one of ${expected.map(errnoName).join(", ")}, but it succeeded`);
}

/** What a test body works with. Handles go through `track` so that they are closed afterwards. */
interface Ctx {
  fs: Filesystem;
  root: DirHandle;
  /** Register `h` to be closed when the test ends. */
  track<H extends Handle>(h: H): H;
  /** Close `h` now (and not again at the end). */
  close(h: Handle): void;
  open(dir: DirHandle, name: string, flags: OpenFlags): Handle;
  openDir(dir: DirHandle, name: string): DirHandle;
  /** Create (or replace) `name` in `dir` with `text`. */
  put(dir: DirHandle, name: string, text: string): void;
  /** The whole content of `name` in `dir`, as UTF-8. */
  get(dir: DirHandle, name: string): string;
}

/** Run `body` against a fresh filesystem from `factory`, closing what it opened. */
function withFs(factory: () => FsFixture, body: (ctx: Ctx) => void): void {
  const fixture = factory();
  const open = new Set<Handle>();
  const track = <H extends Handle>(h: H): H => {
    open.add(h);
    return h;
  };
  const ctx: Ctx = {
    fs: fixture.fs,
    root: track(fixture.fs.openRoot()),
    track,
    close(h) {
      open.delete(h);
      h.close();
    },
    open: (dir, name, flags) => track(dir.openAt(name, flags)),
    openDir(dir, name) {
      const h = ctx.open(dir, name, DIR);
      assert.ok(isDir(h), `${name} should open as a directory`);
      return h;
    },
    put(dir, name, text) {
      const h = dir.openAt(name, { ...CREATE, truncate: true });
      try {
        const bytes = encoder.encode(text);
        assert.equal(h.write(bytes, 0), bytes.length);
      } finally {
        h.close();
      }
    },
    get(dir, name) {
      const h = dir.openAt(name, READ);
      try {
        return decoder.decode(readAll(h));
      } finally {
        h.close();
      }
    },
  };
  try {
    body(ctx);
  } finally {
    // Children before parents, so a host implementation never holds a
    // directory open under one already closed.
    for (const h of [...open].reverse()) {
      try {
        h.close();
      } catch {
        // A test may have closed it through the port directly.
      }
    }
    fixture.cleanup?.();
  }
}

function readAll(h: Handle): Uint8Array {
  const size = Number(h.stat().size);
  const buf = new Uint8Array(size);
  let at = 0;
  while (at < size) {
    const n = h.read(buf.subarray(at), at);
    if (n === 0) break;
    at += n;
  }
  return buf.subarray(0, at);
}

function names(dir: DirHandle): string[] {
  return dir.readdir().map((e) => e.name);
}

function bytes(text: string): Uint8Array {
  return encoder.encode(text);
}

/**
 * Register the contract suite of the filesystem port under `name`.
 *
 * `make` returns a fresh, empty, writable filesystem on every call (the EXDEV
 * tests call it twice at once); `cleanup` runs after each test. See
 * `FsContractOptions` for the read-only variant and time precision.
 */
export function fsContract(
  name: string,
  make: () => FsFixture,
  options: FsContractOptions = {},
): void {
  const precision = options.timePrecisionNs ?? 1n;
  const test = (title: string, body: (ctx: Ctx) => void) => it(title, () => withFs(make, body));

  /** `actual` is `expected` up to the declared precision. */
  function assertTime(actual: bigint, expected: bigint, what: string): void {
    const diff = actual > expected ? actual - expected : expected - actual;
    assert.ok(diff < precision, `${what}: expected ${expected} ns, got ${actual} ns`);
  }

  /** `t` is a "now" stamped between `before` and the present (with clock slack). */
  function assertRecent(t: bigint, before: bigint, what: string): void {
    const after = BigInt(Date.now()) * 1_000_000n;
    assert.ok(
      t >= before - CLOCK_SLACK && t <= after + CLOCK_SLACK,
      `${what}: ${t} ns is not close to the present (${before}..${after})`,
    );
  }

  describe(`${name}: filesystem contract`, () => {
    describe("openRoot", () => {
      test("gives a writable directory handle", ({ fs, root }) => {
        assert.equal(fs.readonly, false);
        assert.ok(isDir(root));
        assert.equal(root.filetype, C.FILETYPE_DIRECTORY);
        assert.equal(root.stat().filetype, C.FILETYPE_DIRECTORY);
        assert.deepEqual(names(root), [".", ".."]);
      });

      test("gives a new handle each call, on the same directory", (ctx) => {
        const other = ctx.track(ctx.fs.openRoot());
        assert.notEqual(other, ctx.root);
        assert.equal(other.stat().ino, ctx.root.stat().ino);
        assert.equal(other.fsId, ctx.root.fsId);
        ctx.close(other);
        ctx.put(ctx.root, "f", "still usable");
        assert.equal(ctx.get(ctx.root, "f"), "still usable");
      });
    });

    describe("reopen", () => {
      test("gives the same directory, usable after the original is closed", (ctx) => {
        ctx.root.mkdirAt("d");
        const d = ctx.openDir(ctx.root, "d");
        const again = ctx.track(d.reopen());
        assert.ok(isDir(again));
        assert.notEqual(again, d);
        assert.equal(again.stat().ino, d.stat().ino);
        assert.equal(again.fsId, d.fsId);
        ctx.put(d, "a", "x");
        assert.deepEqual(names(again), [".", "..", "a"]);
        ctx.close(d);
        ctx.put(again, "b", "y");
        assert.deepEqual(names(again).sort(), [".", "..", "a", "b"]);
      });
    });

    describe("openAt", () => {
      test("creates a regular file, which then appears in readdir", (ctx) => {
        const h = ctx.open(ctx.root, "new.txt", CREATE);
        assert.ok(!isDir(h));
        assert.equal(h.filetype, C.FILETYPE_REGULAR_FILE);
        const st = h.stat();
        assert.equal(st.filetype, C.FILETYPE_REGULAR_FILE);
        assert.equal(st.size, 0n);
        assert.equal(st.nlink, 1n);
        const entry = ctx.root.readdir().find((e) => e.name === "new.txt");
        assert.deepEqual(entry, {
          name: "new.txt",
          ino: st.ino,
          filetype: C.FILETYPE_REGULAR_FILE,
        });
      });

      test("creating stamps the parent directory's mtim", (ctx) => {
        ctx.root.mkdirAt("d");
        ctx.root.setTimesAt("d", OLD, OLD);
        const d = ctx.openDir(ctx.root, "d");
        ctx.open(d, "f", CREATE);
        assert.ok(ctx.root.statAt("d").mtim > OLD);
      });

      test("fails with ENOENT on a missing name without create", ({ root }) => {
        assertErrno(() => root.openAt("missing", READ), C.ENOENT);
        assertErrno(() => root.openAt("missing", RW), C.ENOENT);
        assertErrno(() => root.openAt("missing", DIR), C.ENOENT);
      });

      test("with create, opens an existing file and keeps its content", (ctx) => {
        ctx.put(ctx.root, "f", "kept");
        const h = ctx.open(ctx.root, "f", CREATE);
        assert.equal(decoder.decode(readAll(h)), "kept");
      });

      test("with create and exclusive, fails with EEXIST on any existing name", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.root.mkdirAt("d");
        ctx.root.symlinkAt("f", "link");
        ctx.root.symlinkAt("nowhere", "dangling");
        for (const n of ["f", "d", "link", "dangling"]) {
          assertErrno(() => ctx.root.openAt(n, CREATE_EXCL), C.EEXIST, n);
        }
        assert.equal(ctx.get(ctx.root, "f"), "x");
      });

      test("never follows a symlink: ELOOP", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.root.symlinkAt("f", "link");
        ctx.root.symlinkAt("nowhere", "dangling");
        assertErrno(() => ctx.root.openAt("link", READ), C.ELOOP);
        assertErrno(() => ctx.root.openAt("link", RW), C.ELOOP);
        assertErrno(() => ctx.root.openAt("link", CREATE), C.ELOOP);
        assertErrno(() => ctx.root.openAt("dangling", CREATE), C.ELOOP);
        // O_NOFOLLOW|O_DIRECTORY on a link: Linux answers either, and the walker takes both.
        ctx.root.mkdirAt("d");
        ctx.root.symlinkAt("d", "dlink");
        assertErrnoIn(() => ctx.root.openAt("dlink", DIR), [C.ELOOP, C.ENOTDIR]);
      });

      test("with directory, fails with ENOTDIR on a regular file", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        assertErrno(() => ctx.root.openAt("f", DIR), C.ENOTDIR);
      });

      test("opens a directory as a DirHandle, with or without the directory flag", (ctx) => {
        ctx.root.mkdirAt("d");
        const ino = ctx.root.statAt("d").ino;
        for (const flags of [READ, DIR, NONE]) {
          const h = ctx.open(ctx.root, "d", flags);
          assert.ok(isDir(h));
          assert.equal(h.filetype, C.FILETYPE_DIRECTORY);
          assert.equal(h.stat().ino, ino);
          assert.equal(h.fsId, ctx.root.fsId);
        }
      });

      test("fails with EISDIR opening a directory for writing or truncation", (ctx) => {
        ctx.root.mkdirAt("d");
        assertErrno(() => ctx.root.openAt("d", RW), C.EISDIR);
        assertErrno(() => ctx.root.openAt("d", { ...NONE, write: true }), C.EISDIR);
        assertErrno(() => ctx.root.openAt("d", { ...READ, truncate: true }), C.EISDIR);
      });

      test("truncate empties an existing file and stamps its mtim", (ctx) => {
        ctx.put(ctx.root, "f", "some content");
        ctx.root.setTimesAt("f", OLD, OLD);
        const h = ctx.open(ctx.root, "f", { ...RW, truncate: true });
        assert.equal(h.stat().size, 0n);
        assert.ok(h.stat().mtim > OLD);
        assert.equal(ctx.root.statAt("f").size, 0n);
      });

      test("append writes at the end of the file", (ctx) => {
        ctx.put(ctx.root, "f", "abc");
        const h = ctx.open(ctx.root, "f", { ...RW, append: true });
        assert.equal(h.write(bytes("de"), null), 2);
        assert.equal(h.write(bytes("f"), null), 1);
        assert.equal(ctx.get(ctx.root, "f"), "abcdef");
      });

      test("opens nested directories and files beneath them", (ctx) => {
        ctx.root.mkdirAt("a");
        const a = ctx.openDir(ctx.root, "a");
        a.mkdirAt("b");
        const b = ctx.openDir(a, "b");
        ctx.put(b, "deep.txt", "deep");
        assert.equal(ctx.get(ctx.openDir(ctx.openDir(ctx.root, "a"), "b"), "deep.txt"), "deep");
      });
    });

    describe("names", () => {
      test("accepts a 255-byte name, refuses 256 bytes with ENAMETOOLONG", (ctx) => {
        const long = "n".repeat(255);
        ctx.open(ctx.root, long, CREATE);
        assert.equal(ctx.root.statAt(long).filetype, C.FILETYPE_REGULAR_FILE);
        assertErrno(() => ctx.root.openAt(`${long}n`, CREATE), C.ENAMETOOLONG);
        assertErrno(() => ctx.root.mkdirAt(`${long}n`), C.ENAMETOOLONG);
        assertErrno(() => ctx.root.statAt(`${long}n`), C.ENAMETOOLONG);
      });

      test("counts name length in UTF-8 bytes", (ctx) => {
        const ok = "é".repeat(127); // 254 bytes
        ctx.root.mkdirAt(ok);
        assert.ok(names(ctx.root).includes(ok));
        assertErrno(() => ctx.root.mkdirAt("é".repeat(128)), C.ENAMETOOLONG); // 256 bytes
      });

      test("keeps non-ASCII names as given", (ctx) => {
        const n = "ünï cødé ✓ 🙂";
        ctx.put(ctx.root, n, "u");
        assert.ok(names(ctx.root).includes(n));
        assert.equal(ctx.get(ctx.root, n), "u");
      });

      // The port promises callers never pass these; an implementation that
      // took ".." at face value would hand out its parent, so it must refuse.
      test("refuses what is not one path component", (ctx) => {
        ctx.root.mkdirAt("d");
        const d = ctx.openDir(ctx.root, "d");
        for (const bad of [".", "..", "a/b", "../d", "a\0b"]) {
          assertErrno(() => d.openAt(bad, READ), C.EINVAL, `openAt ${JSON.stringify(bad)}`);
          assertErrno(() => d.statAt(bad), C.EINVAL, `statAt ${JSON.stringify(bad)}`);
          assertErrno(() => d.mkdirAt(bad), C.EINVAL, `mkdirAt ${JSON.stringify(bad)}`);
        }
        assertErrno(() => d.openAt("", READ), C.ENOENT);
        assertErrno(() => d.statAt(""), C.ENOENT);
      });
    });

    describe("Handle read and write", () => {
      test("round-trips bytes at given positions", (ctx) => {
        const h = ctx.open(ctx.root, "f", CREATE);
        assert.equal(h.write(bytes("hello world"), 0), 11);
        assert.equal(h.write(bytes("W"), 6), 1);
        const buf = new Uint8Array(5);
        assert.equal(h.read(buf, 6), 5);
        assert.equal(decoder.decode(buf), "World");
        assert.equal(h.stat().size, 11n);
        assert.equal(ctx.get(ctx.root, "f"), "hello World");
      });

      test("reads short near the end and 0 at or past it", (ctx) => {
        ctx.put(ctx.root, "f", "abc");
        const h = ctx.open(ctx.root, "f", READ);
        const buf = new Uint8Array(10);
        assert.equal(h.read(buf, 1), 2);
        assert.equal(decoder.decode(buf.subarray(0, 2)), "bc");
        assert.equal(h.read(buf, 3), 0);
        assert.equal(h.read(buf, 100), 0);
        assert.equal(h.read(new Uint8Array(0), 0), 0);
      });

      test("writing past the end zero-fills the gap", (ctx) => {
        const h = ctx.open(ctx.root, "f", CREATE);
        h.write(bytes("ab"), 0);
        h.write(bytes("cd"), 10);
        assert.equal(h.stat().size, 12n);
        const all = readAll(h);
        assert.deepEqual([...all], [97, 98, 0, 0, 0, 0, 0, 0, 0, 0, 99, 100]);
      });

      test("a null position writes at the end of the file", (ctx) => {
        const h = ctx.open(ctx.root, "f", CREATE);
        h.write(bytes("one"), 0);
        assert.equal(h.write(bytes("two"), null), 3);
        assert.equal(ctx.get(ctx.root, "f"), "onetwo");
      });

      test("setAppend turns append mode on and off", (ctx) => {
        const h = ctx.open(ctx.root, "f", CREATE);
        if (h.setAppend === undefined) return; // optional in the port
        h.write(bytes("12345"), 0);
        h.setAppend(true);
        h.write(bytes("67"), null);
        assert.equal(ctx.get(ctx.root, "f"), "1234567");
        h.setAppend(false);
        h.write(bytes("ab"), 0);
        assert.equal(ctx.get(ctx.root, "f"), "ab34567");
      });

      test("writes stamp mtim, and a file grows across many writes", (ctx) => {
        const h = ctx.open(ctx.root, "f", CREATE);
        h.setTimes(OLD, OLD);
        const chunk = new Uint8Array(1000).fill(7);
        for (let i = 0; i < 100; i++) assert.equal(h.write(chunk, i * 1000), 1000);
        const st = h.stat();
        assert.equal(st.size, 100_000n);
        assert.ok(st.mtim > OLD);
        assert.ok(readAll(h).every((b) => b === 7));
      });

      test("a handle's stat matches statAt", (ctx) => {
        ctx.put(ctx.root, "f", "12345");
        const h = ctx.open(ctx.root, "f", READ);
        const a = h.stat();
        const b = ctx.root.statAt("f");
        assert.equal(a.ino, b.ino);
        assert.equal(a.dev, b.dev);
        assert.equal(a.size, 5n);
        assert.equal(b.size, 5n);
        assert.equal(a.nlink, 1n);
        assert.equal(a.filetype, C.FILETYPE_REGULAR_FILE);
      });

      test("sync, datasync and readReady succeed", (ctx) => {
        const h = ctx.open(ctx.root, "f", CREATE);
        h.write(bytes("x"), 0);
        h.sync();
        h.datasync();
        ctx.root.sync();
        ctx.root.datasync();
        assert.equal(h.readReady?.() ?? true, true);
        assert.equal(ctx.root.readReady?.() ?? true, true);
      });
    });

    describe("Handle truncate", () => {
      test("grows with zeros and shrinks", (ctx) => {
        const h = ctx.open(ctx.root, "f", CREATE);
        h.write(bytes("abcdef"), 0);
        h.truncate(3n);
        assert.equal(h.stat().size, 3n);
        assert.equal(ctx.get(ctx.root, "f"), "abc");
        // The cut bytes must not come back when the file grows again.
        h.truncate(6n);
        assert.equal(h.stat().size, 6n);
        assert.deepEqual([...readAll(h)], [97, 98, 99, 0, 0, 0]);
        h.truncate(0n);
        assert.equal(h.stat().size, 0n);
        h.truncate(4096n);
        assert.ok(readAll(h).every((b) => b === 0));
      });

      test("zero-fills a gap written past a shrunk end", (ctx) => {
        const h = ctx.open(ctx.root, "f", CREATE);
        h.write(bytes("xxxxxxxx"), 0);
        h.truncate(2n);
        h.write(bytes("y"), 5);
        assert.deepEqual([...readAll(h)], [120, 120, 0, 0, 0, 121]);
      });

      test("stamps mtim", (ctx) => {
        const h = ctx.open(ctx.root, "f", CREATE);
        h.setTimes(OLD, OLD);
        h.truncate(10n);
        assert.ok(h.stat().mtim > OLD);
      });
    });

    describe("statAt", () => {
      test("reports filetype and size without following symlinks", (ctx) => {
        ctx.put(ctx.root, "f", "12345");
        ctx.root.mkdirAt("d");
        ctx.root.symlinkAt("tärget", "link"); // 7 UTF-8 bytes
        const f = ctx.root.statAt("f");
        assert.equal(f.filetype, C.FILETYPE_REGULAR_FILE);
        assert.equal(f.size, 5n);
        assert.equal(f.nlink, 1n);
        assert.equal(ctx.root.statAt("d").filetype, C.FILETYPE_DIRECTORY);
        const l = ctx.root.statAt("link");
        assert.equal(l.filetype, C.FILETYPE_SYMBOLIC_LINK);
        assert.equal(l.size, 7n);
        ctx.root.symlinkAt("f", "flink");
        assert.equal(ctx.root.statAt("flink").filetype, C.FILETYPE_SYMBOLIC_LINK);
        assert.notEqual(ctx.root.statAt("flink").ino, f.ino);
      });

      test("gives distinct inos to distinct files, one dev to all", (ctx) => {
        ctx.put(ctx.root, "a", "");
        ctx.put(ctx.root, "b", "");
        ctx.root.mkdirAt("c");
        ctx.root.symlinkAt("a", "d");
        const stats = ["a", "b", "c", "d"].map((n) => ctx.root.statAt(n));
        const inos = new Set([...stats.map((s) => s.ino), ctx.root.stat().ino]);
        assert.equal(inos.size, 5);
        for (const s of stats) assert.equal(s.dev, ctx.root.stat().dev);
      });

      test("fails with ENOENT on a missing name", ({ root }) => {
        assertErrno(() => root.statAt("missing"), C.ENOENT);
      });
    });

    describe("readdir", () => {
      test('lists "." and ".." first with their inos', (ctx) => {
        ctx.root.mkdirAt("d");
        const d = ctx.openDir(ctx.root, "d");
        const entries = d.readdir();
        assert.deepEqual(entries.slice(0, 2), [
          { name: ".", ino: d.stat().ino, filetype: C.FILETYPE_DIRECTORY },
          { name: "..", ino: ctx.root.stat().ino, filetype: C.FILETYPE_DIRECTORY },
        ]);
        assert.equal(entries.length, 2);
        const top = ctx.root.readdir();
        assert.deepEqual(top[0], {
          name: ".",
          ino: ctx.root.stat().ino,
          filetype: C.FILETYPE_DIRECTORY,
        });
        assert.equal(top[1]?.name, "..");
        assert.equal(top[1]?.filetype, C.FILETYPE_DIRECTORY);
      });

      test("shows entries with their ino and filetype as they come and go", (ctx) => {
        const { root } = ctx;
        ctx.put(root, "f", "x");
        root.mkdirAt("d");
        root.symlinkAt("f", "l");
        const listed = root.readdir().slice(2);
        assert.deepEqual(
          [...listed].sort((a, b) => (a.name < b.name ? -1 : 1)),
          [
            { name: "d", ino: root.statAt("d").ino, filetype: C.FILETYPE_DIRECTORY },
            { name: "f", ino: root.statAt("f").ino, filetype: C.FILETYPE_REGULAR_FILE },
            { name: "l", ino: root.statAt("l").ino, filetype: C.FILETYPE_SYMBOLIC_LINK },
          ],
        );
        assert.deepEqual(names(root), names(root), "stable while unchanged");
        root.unlinkAt("f");
        root.rmdirAt("d");
        root.renameAt("l", root, "m");
        assert.deepEqual(names(root), [".", "..", "m"]);
        root.unlinkAt("m");
        assert.deepEqual(names(root), [".", ".."]);
      });
    });

    describe("mkdirAt", () => {
      test("creates an empty directory and stamps the parent's mtim", (ctx) => {
        ctx.root.mkdirAt("p");
        ctx.root.setTimesAt("p", OLD, OLD);
        const p = ctx.openDir(ctx.root, "p");
        p.mkdirAt("d");
        assert.equal(p.statAt("d").filetype, C.FILETYPE_DIRECTORY);
        assert.deepEqual(names(ctx.openDir(p, "d")), [".", ".."]);
        assert.ok(ctx.root.statAt("p").mtim > OLD);
      });

      test("fails with EEXIST on any existing name, symlinks included", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.root.mkdirAt("d");
        ctx.root.symlinkAt("d", "link");
        ctx.root.symlinkAt("nowhere", "dangling");
        for (const n of ["f", "d", "link", "dangling"]) {
          assertErrno(() => ctx.root.mkdirAt(n), C.EEXIST, n);
        }
      });
    });

    describe("rmdirAt", () => {
      test("removes an empty directory", (ctx) => {
        ctx.root.mkdirAt("d");
        ctx.root.rmdirAt("d");
        assertErrno(() => ctx.root.statAt("d"), C.ENOENT);
        assert.deepEqual(names(ctx.root), [".", ".."]);
      });

      test("fails with ENOENT, ENOTDIR and ENOTEMPTY", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.root.mkdirAt("d");
        ctx.root.symlinkAt("d", "link");
        ctx.root.mkdirAt("full");
        ctx.openDir(ctx.root, "full").mkdirAt("child");
        assertErrno(() => ctx.root.rmdirAt("missing"), C.ENOENT);
        assertErrno(() => ctx.root.rmdirAt("f"), C.ENOTDIR);
        assertErrno(() => ctx.root.rmdirAt("link"), C.ENOTDIR);
        assertErrno(() => ctx.root.rmdirAt("full"), C.ENOTEMPTY);
        assert.equal(ctx.root.statAt("d").filetype, C.FILETYPE_DIRECTORY);
      });
    });

    describe("unlinkAt", () => {
      test("removes a file and stamps the parent's mtim", (ctx) => {
        ctx.root.mkdirAt("d");
        const d = ctx.openDir(ctx.root, "d");
        ctx.put(d, "f", "x");
        ctx.root.setTimesAt("d", OLD, OLD);
        d.unlinkAt("f");
        assertErrno(() => d.statAt("f"), C.ENOENT);
        assert.ok(ctx.root.statAt("d").mtim > OLD);
      });

      test("removes a symlink, not its target", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.root.symlinkAt("f", "link");
        ctx.root.unlinkAt("link");
        assertErrno(() => ctx.root.statAt("link"), C.ENOENT);
        assert.equal(ctx.get(ctx.root, "f"), "x");
      });

      test("fails with ENOENT on a missing name and EISDIR on a directory", (ctx) => {
        ctx.root.mkdirAt("d");
        assertErrno(() => ctx.root.unlinkAt("missing"), C.ENOENT);
        assertErrno(() => ctx.root.unlinkAt("d"), C.EISDIR);
      });

      test("leaves an open file usable", (ctx) => {
        ctx.put(ctx.root, "f", "before");
        const h = ctx.open(ctx.root, "f", RW);
        ctx.root.unlinkAt("f");
        assertErrno(() => ctx.root.statAt("f"), C.ENOENT);
        assert.equal(decoder.decode(readAll(h)), "before");
        h.write(bytes("after!"), 0);
        assert.equal(decoder.decode(readAll(h)), "after!");
        assert.equal(h.stat().nlink, 0n);
        // A new file under the old name is a different file.
        ctx.put(ctx.root, "f", "new");
        assert.notEqual(ctx.root.statAt("f").ino, h.stat().ino);
        assert.equal(decoder.decode(readAll(h)), "after!");
      });
    });

    describe("renameAt", () => {
      test("renames a file in place, keeping ino and content", (ctx) => {
        ctx.put(ctx.root, "a", "content");
        const ino = ctx.root.statAt("a").ino;
        ctx.root.renameAt("a", ctx.root, "b");
        assertErrno(() => ctx.root.statAt("a"), C.ENOENT);
        assert.equal(ctx.root.statAt("b").ino, ino);
        assert.equal(ctx.get(ctx.root, "b"), "content");
      });

      test("moves files and directories across directories", (ctx) => {
        ctx.root.mkdirAt("src");
        ctx.root.mkdirAt("dst");
        const src = ctx.openDir(ctx.root, "src");
        const dst = ctx.openDir(ctx.root, "dst");
        ctx.put(src, "f", "moved");
        src.mkdirAt("sub");
        ctx.root.setTimesAt("src", OLD, OLD);
        ctx.root.setTimesAt("dst", OLD, OLD);
        src.renameAt("f", dst, "g");
        src.renameAt("sub", dst, "sub2");
        assert.deepEqual(names(src), [".", ".."]);
        assert.deepEqual(names(dst).sort(), [".", "..", "g", "sub2"]);
        assert.equal(ctx.get(dst, "g"), "moved");
        assert.ok(ctx.root.statAt("src").mtim > OLD);
        assert.ok(ctx.root.statAt("dst").mtim > OLD);
        // ".." of a moved directory is its new parent.
        const sub2 = ctx.openDir(dst, "sub2");
        assert.equal(sub2.readdir()[1]?.ino, dst.stat().ino);
      });

      test("replaces a file with a file", (ctx) => {
        ctx.put(ctx.root, "a", "new");
        ctx.put(ctx.root, "b", "old");
        const ino = ctx.root.statAt("a").ino;
        const old = ctx.open(ctx.root, "b", READ);
        ctx.root.renameAt("a", ctx.root, "b");
        assert.equal(ctx.root.statAt("b").ino, ino);
        assert.equal(ctx.get(ctx.root, "b"), "new");
        assert.deepEqual(names(ctx.root), [".", "..", "b"]);
        // The replaced file lives on for whoever holds it.
        assert.equal(decoder.decode(readAll(old)), "old");
        assert.equal(old.stat().nlink, 0n);
      });

      test("replaces an empty directory with a directory", (ctx) => {
        ctx.root.mkdirAt("a");
        ctx.openDir(ctx.root, "a").mkdirAt("inside");
        ctx.root.mkdirAt("b");
        const ino = ctx.root.statAt("a").ino;
        ctx.root.renameAt("a", ctx.root, "b");
        assert.equal(ctx.root.statAt("b").ino, ino);
        assert.deepEqual(names(ctx.openDir(ctx.root, "b")), [".", "..", "inside"]);
        assertErrno(() => ctx.root.statAt("a"), C.ENOENT);
      });

      test("moves a symlink itself", (ctx) => {
        ctx.root.symlinkAt("somewhere", "l");
        ctx.root.renameAt("l", ctx.root, "m");
        assert.equal(ctx.root.readlinkAt("m"), "somewhere");
        assertErrno(() => ctx.root.statAt("l"), C.ENOENT);
      });

      test("to the same name, or onto a hard link of the same file, does nothing", (ctx) => {
        ctx.put(ctx.root, "f", "same");
        ctx.root.renameAt("f", ctx.root, "f");
        assert.equal(ctx.get(ctx.root, "f"), "same");
        ctx.root.linkAt("f", ctx.root, "g");
        ctx.root.renameAt("f", ctx.root, "g");
        assert.deepEqual(names(ctx.root).sort(), [".", "..", "f", "g"]);
        assert.equal(ctx.root.statAt("f").nlink, 2n);
        ctx.root.mkdirAt("d");
        ctx.root.renameAt("d", ctx.root, "d");
        assert.equal(ctx.root.statAt("d").filetype, C.FILETYPE_DIRECTORY);
      });

      test("fails with ENOTEMPTY, EISDIR, ENOTDIR and ENOENT", (ctx) => {
        const { root } = ctx;
        ctx.put(root, "f", "x");
        root.mkdirAt("d");
        root.mkdirAt("full");
        ctx.put(ctx.openDir(root, "full"), "child", "c");
        assertErrno(() => root.renameAt("d", root, "full"), C.ENOTEMPTY);
        assertErrno(() => root.renameAt("f", root, "d"), C.EISDIR);
        assertErrno(() => root.renameAt("d", root, "f"), C.ENOTDIR);
        assertErrno(() => root.renameAt("missing", root, "x"), C.ENOENT);
        assert.deepEqual(names(root).sort(), [".", "..", "d", "f", "full"]);
        assert.equal(ctx.get(root, "f"), "x");
      });

      test("fails with EINVAL moving a directory beneath itself", (ctx) => {
        ctx.root.mkdirAt("a");
        const a = ctx.openDir(ctx.root, "a");
        a.mkdirAt("b");
        const b = ctx.openDir(a, "b");
        assertErrno(() => ctx.root.renameAt("a", a, "x"), C.EINVAL);
        assertErrno(() => ctx.root.renameAt("a", b, "x"), C.EINVAL);
        assert.deepEqual(names(ctx.root), [".", "..", "a"]);
        assert.deepEqual(names(b), [".", ".."]);
      });

      test("fails with EXDEV across filesystems", (ctx) => {
        withFs(make, (other) => {
          ctx.put(ctx.root, "f", "x");
          ctx.root.mkdirAt("d");
          assert.notEqual(other.root.fsId, ctx.root.fsId);
          assertErrno(() => ctx.root.renameAt("f", other.root, "f"), C.EXDEV);
          assertErrno(() => ctx.root.renameAt("d", other.root, "d"), C.EXDEV);
          assert.deepEqual(names(other.root), [".", ".."]);
          assert.equal(ctx.get(ctx.root, "f"), "x");
        });
      });
    });

    describe("linkAt", () => {
      test("makes a second name for the same data", (ctx) => {
        ctx.put(ctx.root, "a", "shared");
        ctx.root.mkdirAt("d");
        const d = ctx.openDir(ctx.root, "d");
        ctx.root.linkAt("a", d, "b");
        const a = ctx.root.statAt("a");
        const b = d.statAt("b");
        assert.equal(a.ino, b.ino);
        assert.equal(a.nlink, 2n);
        assert.equal(b.nlink, 2n);
        const h = ctx.open(d, "b", RW);
        h.write(bytes("SH"), 0);
        assert.equal(ctx.get(ctx.root, "a"), "SHared");
        ctx.root.unlinkAt("a");
        assert.equal(d.statAt("b").nlink, 1n);
        assert.equal(ctx.get(d, "b"), "SHared");
      });

      test("links a symlink itself, never its target", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.root.symlinkAt("f", "l");
        ctx.root.linkAt("l", ctx.root, "l2");
        const st = ctx.root.statAt("l2");
        assert.equal(st.filetype, C.FILETYPE_SYMBOLIC_LINK);
        assert.equal(st.ino, ctx.root.statAt("l").ino);
        assert.equal(ctx.root.readlinkAt("l2"), "f");
        assert.equal(ctx.root.statAt("f").nlink, 1n);
      });

      test("fails with EPERM on a directory, EEXIST and ENOENT", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.put(ctx.root, "g", "y");
        ctx.root.mkdirAt("d");
        assertErrno(() => ctx.root.linkAt("d", ctx.root, "d2"), C.EPERM);
        assertErrno(() => ctx.root.linkAt("f", ctx.root, "g"), C.EEXIST);
        assertErrno(() => ctx.root.linkAt("f", ctx.root, "d"), C.EEXIST);
        assertErrno(() => ctx.root.linkAt("missing", ctx.root, "m"), C.ENOENT);
        assert.equal(ctx.root.statAt("f").nlink, 1n);
        assert.equal(ctx.get(ctx.root, "g"), "y");
      });

      test("fails with EXDEV across filesystems", (ctx) => {
        withFs(make, (other) => {
          ctx.put(ctx.root, "f", "x");
          assertErrno(() => ctx.root.linkAt("f", other.root, "f"), C.EXDEV);
          assert.deepEqual(names(other.root), [".", ".."]);
          assert.equal(ctx.root.statAt("f").nlink, 1n);
        });
      });
    });

    describe("symlinkAt and readlinkAt", () => {
      test("round-trip the target, dangling or not", (ctx) => {
        ctx.root.mkdirAt("d");
        const targets = ["f", "../up/and/over", "d/", "sp ace/ünï 🙂", "nowhere"];
        targets.forEach((t, i) => {
          ctx.root.symlinkAt(t, `l${i}`);
          assert.equal(ctx.root.readlinkAt(`l${i}`), t);
          assert.equal(ctx.root.statAt(`l${i}`).size, BigInt(encoder.encode(t).length));
        });
      });

      test("symlinkAt fails with EEXIST on an existing name", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.root.mkdirAt("d");
        ctx.root.symlinkAt("f", "l");
        for (const n of ["f", "d", "l"]) assertErrno(() => ctx.root.symlinkAt("t", n), C.EEXIST, n);
        assert.equal(ctx.root.readlinkAt("l"), "f");
      });

      test("readlinkAt fails with EINVAL on a non-link and ENOENT on a missing name", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.root.mkdirAt("d");
        assertErrno(() => ctx.root.readlinkAt("f"), C.EINVAL);
        assertErrno(() => ctx.root.readlinkAt("d"), C.EINVAL);
        assertErrno(() => ctx.root.readlinkAt("missing"), C.ENOENT);
      });
    });

    describe("setTimes and setTimesAt", () => {
      const A = 1_234_567_890_123_456_789n;
      const M = 1_700_000_000_987_654_321n;

      test("store nanosecond times", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.root.setTimesAt("f", A, M);
        const st = ctx.root.statAt("f");
        assertTime(st.atim, A, "atim");
        assertTime(st.mtim, M, "mtim");
        const h = ctx.open(ctx.root, "f", READ);
        h.setTimes(M, A);
        assertTime(h.stat().atim, M, "atim");
        assertTime(h.stat().mtim, A, "mtim");
        ctx.root.mkdirAt("d");
        ctx.root.setTimesAt("d", A, M);
        assertTime(ctx.root.statAt("d").mtim, M, "directory mtim");
        const d = ctx.openDir(ctx.root, "d");
        d.setTimes(M, A);
        assertTime(d.stat().mtim, A, "directory mtim through its handle");
      });

      test("null leaves a time unchanged", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.root.setTimesAt("f", A, M);
        const before = ctx.root.statAt("f");
        ctx.root.setTimesAt("f", null, OLD);
        let st = ctx.root.statAt("f");
        assert.equal(st.atim, before.atim);
        assertTime(st.mtim, OLD, "mtim");
        ctx.root.setTimesAt("f", OLD, null);
        st = ctx.root.statAt("f");
        assertTime(st.atim, OLD, "atim");
        assertTime(st.mtim, OLD, "mtim");
      });

      test('"now" is the present, and ctim moves with any change', (ctx) => {
        ctx.put(ctx.root, "f", "x");
        const h = ctx.open(ctx.root, "f", READ);
        h.setTimes(OLD, OLD);
        const before = BigInt(Date.now()) * 1_000_000n;
        assertRecent(h.stat().ctim, before, "ctim after setTimes");
        h.setTimes("now", null);
        assertRecent(h.stat().atim, before, "atim");
        assertTime(h.stat().mtim, OLD, "mtim");
        ctx.root.setTimesAt("f", null, "now");
        assertRecent(ctx.root.statAt("f").mtim, before, "mtim");
      });

      test("setTimesAt does not follow a symlink", (ctx) => {
        ctx.put(ctx.root, "f", "x");
        ctx.root.symlinkAt("f", "l");
        ctx.root.setTimesAt("f", OLD, OLD);
        ctx.root.setTimesAt("l", A, M);
        assertTime(ctx.root.statAt("l").mtim, M, "link mtim");
        assertTime(ctx.root.statAt("f").mtim, OLD, "target mtim");
      });

      test("setTimesAt fails with ENOENT on a missing name", ({ root }) => {
        assertErrno(() => root.setTimesAt("missing", A, M), C.ENOENT);
      });
    });

    describe("fsId", () => {
      test("is one object across handles of a filesystem, another for another", (ctx) => {
        ctx.root.mkdirAt("d");
        const d = ctx.openDir(ctx.root, "d");
        assert.equal(typeof ctx.root.fsId, "object");
        assert.equal(d.fsId, ctx.root.fsId);
        assert.equal(ctx.track(ctx.fs.openRoot()).fsId, ctx.root.fsId);
        withFs(make, (other) => assert.notEqual(other.root.fsId, ctx.root.fsId));
      });
    });

    const makeReadonly = options.makeReadonly;
    describe("read-only", { skip: makeReadonly ? false : "no makeReadonly factory" }, () => {
      const rtest = (title: string, body: (ctx: Ctx) => void) =>
        it(title, () => withFs(makeReadonly!, body));

      rtest("is marked read-only and reads as seeded", (ctx) => {
        assert.equal(ctx.fs.readonly, true);
        assert.deepEqual(names(ctx.root).sort(), [".", "..", "ro.txt", "sub"]);
        assert.equal(ctx.get(ctx.root, "ro.txt"), "hello");
        assert.equal(ctx.root.statAt("ro.txt").size, 5n);
        assert.equal(ctx.root.statAt("sub").filetype, C.FILETYPE_DIRECTORY);
        assert.deepEqual(names(ctx.openDir(ctx.root, "sub")), [".", ".."]);
        // Asking to create a name that exists changes nothing, so it is allowed.
        const h = ctx.open(ctx.root, "ro.txt", { ...READ, create: true });
        assert.equal(decoder.decode(readAll(h)), "hello");
      });

      rtest("refuses every change with EROFS", (ctx) => {
        const { root } = ctx;
        const sub = ctx.openDir(root, "sub");
        const file = ctx.open(root, "ro.txt", READ);
        const attempts: [string, () => unknown][] = [
          ["openAt write", () => root.openAt("ro.txt", RW)],
          ["openAt write-only", () => root.openAt("ro.txt", { ...NONE, write: true })],
          ["openAt truncate", () => root.openAt("ro.txt", { ...READ, truncate: true })],
          ["openAt create", () => root.openAt("new.txt", CREATE)],
          ["openAt create exclusive", () => root.openAt("new.txt", CREATE_EXCL)],
          ["setTimes", () => file.setTimes(OLD, OLD)],
          ["setTimes now", () => file.setTimes("now", "now")],
          ["directory setTimes", () => sub.setTimes(OLD, OLD)],
          ["setTimesAt", () => root.setTimesAt("ro.txt", OLD, OLD)],
          ["mkdirAt", () => root.mkdirAt("newdir")],
          ["rmdirAt", () => root.rmdirAt("sub")],
          ["unlinkAt", () => root.unlinkAt("ro.txt")],
          ["renameAt", () => root.renameAt("ro.txt", root, "moved.txt")],
          ["renameAt into sub", () => root.renameAt("ro.txt", sub, "ro.txt")],
          ["renameAt a directory", () => root.renameAt("sub", root, "sub2")],
          ["linkAt", () => root.linkAt("ro.txt", sub, "linked.txt")],
          ["symlinkAt", () => root.symlinkAt("ro.txt", "link")],
        ];
        const before = root.statAt("ro.txt");
        for (const [what, attempt] of attempts) assertErrno(attempt, C.EROFS, what);
        assert.deepEqual(names(root).sort(), [".", "..", "ro.txt", "sub"]);
        assert.deepEqual(names(sub), [".", ".."]);
        assert.equal(ctx.get(root, "ro.txt"), "hello");
        const after = root.statAt("ro.txt");
        assert.equal(after.mtim, before.mtim);
        assert.equal(after.nlink, 1n);
      });

      rtest("refuses writes and truncation through a read handle", (ctx) => {
        const file = ctx.open(ctx.root, "ro.txt", READ);
        // A read-only handle on a read-only filesystem: either reason is right.
        assertErrnoIn(() => file.write(bytes("x"), 0), [C.EROFS, C.EBADF]);
        assertErrnoIn(() => file.truncate(0n), [C.EROFS, C.EINVAL, C.EBADF]);
        assert.equal(ctx.get(ctx.root, "ro.txt"), "hello");
      });
    });
  });
}
