import assert from "node:assert/strict";
import { describe, it } from "node:test";
import * as C from "./_constants.ts";
import { assertErrno, CREATE, fsContract, READ, RW } from "./fs.contract.ts";
import type { DirHandle, Handle } from "./fs.ts";
import { MemoryFs } from "./memfs.ts";

fsContract("MemoryFs", () => ({ fs: new MemoryFs() }), {
  makeReadonly() {
    const fs = new MemoryFs({ readonly: true });
    fs.writeFile("/ro.txt", "hello");
    fs.mkdirp("/sub");
    return { fs };
  },
});

const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A clock that moves only when told to, so every stamp can be predicted. */
function manualClock(start = 1_000n) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

describe("MemoryFs seeding helpers", () => {
  it("writeFile creates parents, replaces content and keeps the inode", () => {
    const fs = new MemoryFs();
    fs.writeFile("/a/b/c.txt", "first");
    const root = fs.openRoot();
    const ino = (root.openAt("a", READ) as DirHandle).statAt("b").ino;
    fs.writeFile("a/b/c.txt", new Uint8Array([104, 105]));
    assert.equal(text(fs.readFile("/a/b/c.txt")), "hi");
    assert.equal((root.openAt("a", READ) as DirHandle).statAt("b").ino, ino);
    fs.writeFile("/empty", "");
    assert.equal(fs.readFile("/empty").length, 0);
  });

  it("writeFile copies its input and readFile returns a copy", () => {
    const fs = new MemoryFs();
    const data = new Uint8Array([1, 2, 3]);
    fs.writeFile("/f", data);
    data[0] = 9;
    const out = fs.readFile("/f");
    assert.deepEqual([...out], [1, 2, 3]);
    out[1] = 9;
    assert.deepEqual([...fs.readFile("/f")], [1, 2, 3]);
  });

  it("mkdirp makes every level and accepts existing directories", () => {
    const fs = new MemoryFs();
    fs.mkdirp("/x/y/z");
    fs.mkdirp("/x/y");
    fs.mkdirp("/");
    const x = fs.openRoot().openAt("x", READ) as DirHandle;
    assert.deepEqual(
      x.readdir().map((e) => e.name),
      [".", "..", "y"],
    );
  });

  it("symlink stores a target that readlinkAt returns", () => {
    const fs = new MemoryFs();
    fs.symlink("../target", "/d/link");
    const d = fs.openRoot().openAt("d", READ) as DirHandle;
    assert.equal(d.readlinkAt("link"), "../target");
    assertErrno(() => fs.symlink("t", "/d/link"), C.EEXIST);
    assertErrno(() => fs.symlink("", "/d/empty"), C.ENOENT);
  });

  it("fail with the errno the port would give", () => {
    const fs = new MemoryFs();
    fs.writeFile("/f", "x");
    fs.mkdirp("/d");
    fs.symlink("f", "/l");
    const table: [string, () => unknown, number][] = [
      ["readFile missing", () => fs.readFile("/missing"), C.ENOENT],
      ["readFile in missing dir", () => fs.readFile("/nodir/f"), C.ENOENT],
      ["readFile dir", () => fs.readFile("/d"), C.EISDIR],
      ["readFile symlink", () => fs.readFile("/l"), C.ELOOP],
      ["readFile root", () => fs.readFile("/"), C.EINVAL],
      ["writeFile over dir", () => fs.writeFile("/d", "x"), C.EISDIR],
      ["writeFile over symlink", () => fs.writeFile("/l", "x"), C.ELOOP],
      ["writeFile under a file", () => fs.writeFile("/f/g", "x"), C.ENOTDIR],
      ["writeFile through a symlink", () => fs.writeFile("/l/g", "x"), C.ENOTDIR],
      ["writeFile with ..", () => fs.writeFile("/d/../g", "x"), C.EINVAL],
      ["mkdirp over file", () => fs.mkdirp("/f"), C.ENOTDIR],
      ["mkdirp long name", () => fs.mkdirp(`/${"n".repeat(256)}`), C.ENAMETOOLONG],
    ];
    for (const [what, fn, expected] of table) assertErrno(fn, expected, what);
  });

  it("seed a read-only filesystem that handles cannot change", () => {
    const fs = new MemoryFs({ readonly: true });
    fs.writeFile("/etc/conf", "k=v");
    const etc = fs.openRoot().openAt("etc", READ) as DirHandle;
    assertErrno(() => etc.unlinkAt("conf"), C.EROFS);
    assertErrno(() => etc.openAt("conf", RW), C.EROFS);
    assert.equal(text(fs.readFile("/etc/conf")), "k=v");
  });
});

describe("MemoryFs inodes", () => {
  it("numbers inodes uniquely, never reusing a freed number", () => {
    const fs = new MemoryFs();
    const root = fs.openRoot();
    const seen = new Set<bigint>([root.stat().ino]);
    for (let i = 0; i < 50; i++) {
      root.openAt(`f${i}`, CREATE).close();
      root.mkdirAt(`d${i}`);
      root.symlinkAt("t", `l${i}`);
      for (const n of [`f${i}`, `d${i}`, `l${i}`]) seen.add(root.statAt(n).ino);
      root.unlinkAt(`f${i}`);
    }
    assert.equal(seen.size, 151);
  });

  it("gives each instance its own dev and fsId", () => {
    const a = new MemoryFs().openRoot();
    const b = new MemoryFs().openRoot();
    assert.notEqual(a.stat().dev, b.stat().dev);
    assert.notEqual(a.fsId, b.fsId);
    assert.ok(Object.isFrozen(a.fsId));
  });

  it('makes ".." of the root the root', () => {
    const root = new MemoryFs().openRoot();
    const [dot, dotdot] = root.readdir();
    assert.equal(dot?.ino, root.stat().ino);
    assert.equal(dotdot?.ino, root.stat().ino);
  });

  it("counts directory links as 2 + subdirectories", () => {
    const fs = new MemoryFs();
    fs.mkdirp("/a/x");
    fs.mkdirp("/a/y");
    fs.mkdirp("/b");
    fs.writeFile("/a/f", "not a directory");
    const root = fs.openRoot();
    const a = root.openAt("a", READ) as DirHandle;
    const b = root.openAt("b", READ) as DirHandle;
    assert.equal(root.stat().nlink, 4n);
    assert.equal(a.stat().nlink, 4n);
    a.renameAt("x", b, "x");
    assert.equal(a.stat().nlink, 3n);
    assert.equal(b.stat().nlink, 3n);
    b.mkdirAt("e");
    a.renameAt("y", b, "e"); // replaces the empty "e"
    assert.equal(a.stat().nlink, 2n);
    assert.equal(b.stat().nlink, 4n);
    b.rmdirAt("x");
    assert.equal(b.stat().nlink, 3n);
  });

  it("refuses new entries in a removed directory, as Linux", () => {
    const fs = new MemoryFs();
    fs.mkdirp("/gone");
    const root = fs.openRoot();
    const gone = root.openAt("gone", READ) as DirHandle;
    root.rmdirAt("gone");
    assert.equal(gone.stat().nlink, 0n);
    assertErrno(() => gone.openAt("f", CREATE), C.ENOENT);
    assertErrno(() => gone.mkdirAt("d"), C.ENOENT);
    assertErrno(() => gone.symlinkAt("t", "l"), C.ENOENT);
    fs.writeFile("/f", "x");
    assertErrno(() => root.renameAt("f", gone, "f"), C.ENOENT);
    assertErrno(() => root.linkAt("f", gone, "f"), C.ENOENT);
  });
});

describe("MemoryFs handles", () => {
  it("keeps an offset for null-position reads", () => {
    const fs = new MemoryFs();
    fs.writeFile("/f", "abcdef");
    const h = fs.openRoot().openAt("f", READ);
    const buf = new Uint8Array(4);
    assert.equal(h.read(buf, null), 4);
    assert.equal(text(buf), "abcd");
    assert.equal(h.read(buf, null), 2);
    assert.equal(text(buf.subarray(0, 2)), "ef");
    assert.equal(h.read(buf, null), 0);
  });

  it("in append mode writes at the end whatever the position", () => {
    const fs = new MemoryFs();
    fs.writeFile("/f", "abc");
    const h = fs.openRoot().openAt("f", { ...RW, append: true });
    h.write(new TextEncoder().encode("d"), 0);
    assert.equal(text(fs.readFile("/f")), "abcd");
    h.setAppend?.(false);
    h.write(new TextEncoder().encode("A"), 0);
    assert.equal(text(fs.readFile("/f")), "Abcd");
  });

  it("enforces the access mode and refuses a closed handle with EBADF", () => {
    const fs = new MemoryFs();
    fs.writeFile("/f", "x");
    const root = fs.openRoot();
    const r = root.openAt("f", READ);
    const w = root.openAt("f", { ...READ, read: false, write: true });
    assertErrno(() => r.write(new Uint8Array(1), 0), C.EBADF);
    assertErrno(() => r.truncate(0n), C.EINVAL);
    assertErrno(() => w.read(new Uint8Array(1), 0), C.EBADF);
    r.close();
    assertErrno(() => r.stat(), C.EBADF);
    assertErrno(() => r.close(), C.EBADF);
    const d = root.reopen();
    d.close();
    assertErrno(() => d.readdir(), C.EBADF);
    assertErrno(() => root.renameAt("f", d, "g"), C.EBADF);
  });

  it("refuses reads and writes on a directory handle with EISDIR", () => {
    const root = new MemoryFs().openRoot();
    assertErrno(() => root.read(new Uint8Array(1), 0), C.EISDIR);
    assertErrno(() => root.write(new Uint8Array(1), 0), C.EISDIR);
    assertErrno(() => root.truncate(0n), C.EISDIR);
  });

  it("refuses bad offsets and sizes", () => {
    const h = new MemoryFs().openRoot().openAt("f", CREATE);
    const one = new Uint8Array(1);
    assertErrno(() => h.write(one, -1), C.EINVAL);
    assertErrno(() => h.read(one, 1.5), C.EINVAL);
    assertErrno(() => h.write(one, Number.MAX_SAFE_INTEGER), C.EFBIG);
    assertErrno(() => h.truncate(-1n), C.EINVAL);
    assertErrno(() => h.truncate(1n << 53n), C.EFBIG);
    assert.equal(h.stat().size, 0n);
  });

  it("refuses creating a directory through openAt", () => {
    const root = new MemoryFs().openRoot();
    assertErrno(() => root.openAt("d", { ...CREATE, directory: true }), C.EINVAL);
    assertErrno(() => root.statAt("d"), C.ENOENT);
  });

  it("refuses symlink targets that are empty, hold NUL or are too long", () => {
    const root = new MemoryFs().openRoot();
    assertErrno(() => root.symlinkAt("", "l"), C.ENOENT);
    assertErrno(() => root.symlinkAt("a\0b", "l"), C.EINVAL);
    assertErrno(() => root.symlinkAt("t".repeat(4097), "l"), C.ENAMETOOLONG);
    root.symlinkAt("t".repeat(4096), "l");
  });
});

describe("MemoryFs timestamps", () => {
  function setup() {
    const clock = manualClock();
    const fs = new MemoryFs({ now: clock.now });
    const root = fs.openRoot();
    return { clock, fs, root };
  }

  it("stamps a new file and its parent with the injected clock", () => {
    const { clock, root } = setup();
    clock.t = 2_000n;
    const h = root.openAt("f", CREATE);
    assert.deepEqual([h.stat().atim, h.stat().mtim, h.stat().ctim], [2_000n, 2_000n, 2_000n]);
    assert.equal(root.stat().mtim, 2_000n);
    assert.equal(root.stat().ctim, 2_000n);
    assert.equal(root.stat().atim, 1_000n);
  });

  it("moves atim on read, mtim and ctim on write and truncate", () => {
    const { clock, root } = setup();
    const h = root.openAt("f", CREATE);
    clock.t = 2_000n;
    h.write(new Uint8Array(3), 0);
    assert.deepEqual([h.stat().atim, h.stat().mtim, h.stat().ctim], [1_000n, 2_000n, 2_000n]);
    clock.t = 3_000n;
    h.read(new Uint8Array(3), 0);
    assert.deepEqual([h.stat().atim, h.stat().mtim, h.stat().ctim], [3_000n, 2_000n, 2_000n]);
    clock.t = 4_000n;
    h.truncate(1n);
    assert.deepEqual([h.stat().atim, h.stat().mtim, h.stat().ctim], [3_000n, 4_000n, 4_000n]);
    clock.t = 5_000n;
    h.write(new Uint8Array(0), 0); // a zero-length write changes nothing
    assert.equal(h.stat().mtim, 4_000n);
  });

  it("moves ctim on link, unlink and rename, and parent times on each", () => {
    const { clock, fs, root } = setup();
    fs.mkdirp("/d");
    const d = root.openAt("d", READ) as DirHandle;
    const h: Handle = root.openAt("f", CREATE);
    clock.t = 2_000n;
    root.linkAt("f", d, "g");
    assert.deepEqual([h.stat().mtim, h.stat().ctim], [1_000n, 2_000n]);
    assert.deepEqual([d.stat().mtim, d.stat().ctim], [2_000n, 2_000n]);
    assert.equal(root.stat().mtim, 1_000n);
    clock.t = 3_000n;
    root.unlinkAt("f");
    assert.equal(h.stat().ctim, 3_000n);
    assert.equal(root.stat().mtim, 3_000n);
    clock.t = 4_000n;
    d.renameAt("g", root, "h");
    assert.equal(h.stat().ctim, 4_000n);
    assert.deepEqual([d.stat().mtim, root.stat().mtim], [4_000n, 4_000n]);
  });

  it("setTimes stamps ctim, uses the clock for now, and does nothing for null, null", () => {
    const { clock, root } = setup();
    const h = root.openAt("f", CREATE);
    clock.t = 2_000n;
    h.setTimes(5n, "now");
    assert.deepEqual([h.stat().atim, h.stat().mtim, h.stat().ctim], [5n, 2_000n, 2_000n]);
    clock.t = 3_000n;
    h.setTimes(null, null);
    assert.equal(h.stat().ctim, 2_000n);
  });

  it("stamps nothing on a read-only filesystem", () => {
    const clock = manualClock();
    const fs = new MemoryFs({ readonly: true, now: clock.now });
    fs.writeFile("/f", "x");
    const root = fs.openRoot();
    const h = root.openAt("f", READ);
    clock.t = 2_000n;
    h.read(new Uint8Array(1), 0);
    root.readdir();
    assert.equal(h.stat().atim, 1_000n);
    assert.equal(root.stat().atim, 1_000n);
  });
});

describe("MemoryFs storage", () => {
  it("keeps data and zero fill when a large file shrinks to a small one", () => {
    const fs = new MemoryFs();
    const h = fs.openRoot().openAt("f", CREATE);
    h.write(new Uint8Array(1 << 20).fill(1), 0);
    h.truncate(10n); // small enough to move to a smaller buffer
    h.truncate(100n);
    const all = fs.readFile("/f");
    assert.equal(all.length, 100);
    assert.deepEqual([...all.subarray(8, 12)], [1, 1, 0, 0]);
    assert.ok(all.subarray(10).every((b) => b === 0));
  });
});
