/**
 * HostFs-specific tests, on real temporary directories: what only a host
 * filesystem can get wrong (symlinks and renames by someone else, the host
 * tree left untouched, descriptors leaked), beyond what the shared contract
 * suite checks.
 *
 * Each test maps `<tmp>/jail` and keeps a sibling `<tmp>/outside` holding a
 * secret: nothing through the port may read, change or even stat it.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import * as nodefs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as C from "./_constants.ts";
import { errnoOf } from "./_errno.ts";
import { FOLLOW, walk } from "./_resolve.ts";
import { type Guest, runGuest } from "./_testguest.ts";
import { WasiError } from "./error.ts";
import { fsContract } from "./fs.contract.ts";
import { type DirHandle, type Handle, isDir, type OpenFlags } from "./fs.ts";
import { HOSTFS_TIME_PRECISION_NS, HostFs } from "./hostfs.ts";

const tmpRoots: string[] = [];
after(() => {
  for (const d of tmpRoots) nodefs.rmSync(d, { recursive: true, force: true });
});

interface Tree {
  base: string;
  jail: string;
  outside: string;
  secret: string;
}

/** A fresh `<tmp>/{jail,outside/secret.txt}`. */
function tree(): Tree {
  const base = nodefs.mkdtempSync(path.join(os.tmpdir(), "donjon-hostfs-"));
  tmpRoots.push(base);
  const jail = path.join(base, "jail");
  const outside = path.join(base, "outside");
  nodefs.mkdirSync(jail);
  nodefs.mkdirSync(outside);
  const secret = path.join(outside, "secret.txt");
  nodefs.writeFileSync(secret, "SECRET");
  return { base, jail, outside, secret };
}

const READ: OpenFlags = {
  read: true,
  write: false,
  create: false,
  exclusive: false,
  truncate: false,
  directory: false,
  append: false,
};
const WRITE: OpenFlags = { ...READ, write: true };
const CREATE: OpenFlags = { ...READ, write: true, create: true, truncate: true };
const DIR: OpenFlags = { ...READ, directory: true };

const enc = new TextEncoder();
const dec = new TextDecoder();

function throwsErrno(fn: () => unknown, errno: number, what = ""): void {
  assert.throws(fn, (e: unknown) => {
    assert.equal(errnoOf(e), errno, `${what}: ${String(e)}`);
    return true;
  });
}

function readAll(h: Handle): string {
  const buf = new Uint8Array(4096);
  return dec.decode(buf.subarray(0, h.read(buf, 0)));
}

function fdCount(): number {
  return nodefs.readdirSync("/proc/self/fd").length;
}

/**
 * Everything about a host tree that a mutation could change, symlinks never
 * followed: type, mode, size, contents or target, mtime and ctime (ctime
 * moves on any metadata change, so it catches what the rest would miss).
 */
function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (p: string, rel: string): void => {
    const s = nodefs.lstatSync(p, { bigint: true });
    let body = "";
    if (s.isSymbolicLink()) body = `-> ${nodefs.readlinkSync(p)}`;
    else if (s.isFile()) body = nodefs.readFileSync(p).toString("base64");
    out[rel] = `${s.mode} ${s.nlink} ${s.size} ${s.mtimeNs} ${s.ctimeNs} ${body}`;
    if (s.isDirectory()) {
      for (const n of nodefs.readdirSync(p)) visit(path.join(p, n), `${rel}/${n}`);
    }
  };
  visit(root, ".");
  return out;
}

describe("HostFs: mapping a directory", () => {
  it("refuses a missing path, a file, and a non-string, naming the path", () => {
    const t = tree();
    const missing = path.join(t.base, "nope");
    assert.throws(
      () => new HostFs({ path: missing }),
      (e: unknown) =>
        e instanceof WasiError && e.code === "INVALID_OPTIONS" && e.message.includes(missing),
    );
    assert.throws(
      () => new HostFs({ path: t.secret }),
      (e: unknown) =>
        e instanceof WasiError && e.message.includes(t.secret) && /not a directory/.test(e.message),
    );
    assert.throws(() => new HostFs({ path: "" }), WasiError);
    assert.throws(() => new HostFs({ path: 42 as unknown as string }), WasiError);
  });

  it("resolves the path once: swapping it later cannot move the preopen", () => {
    const t = tree();
    const link = path.join(t.base, "link");
    nodefs.symlinkSync(t.jail, link);
    const hfs = new HostFs({ path: link });
    assert.equal(hfs.path, nodefs.realpathSync(t.jail));
    // Point the configured path elsewhere: the preopen stays on the jail.
    nodefs.unlinkSync(link);
    nodefs.symlinkSync(t.outside, link);
    const root = hfs.openRoot();
    throwsErrno(() => root.statAt("secret.txt"), C.ENOENT);
    root.close();
    // Replace the directory itself: openRoot refuses rather than map another one.
    nodefs.renameSync(t.jail, path.join(t.base, "jail.old"));
    nodefs.mkdirSync(t.jail);
    assert.throws(
      () => hfs.openRoot(),
      (e: unknown) => e instanceof WasiError && /no longer the directory/.test(e.message),
    );
    nodefs.rmdirSync(t.jail);
    assert.throws(
      () => hfs.openRoot(),
      (e: unknown) => e instanceof WasiError && e.message.includes(hfs.path),
    );
  });

  it("'..' of the root reports the root itself, never the host parent", () => {
    const t = tree();
    const root = new HostFs({ path: t.jail }).openRoot();
    const ino = nodefs.statSync(t.jail, { bigint: true }).ino;
    const entries = root.readdir();
    assert.deepEqual(entries.slice(0, 2), [
      { name: ".", ino, filetype: C.FILETYPE_DIRECTORY },
      { name: "..", ino, filetype: C.FILETYPE_DIRECTORY },
    ]);
    const again = root.reopen();
    assert.equal(again.readdir()[1]!.ino, ino, "a reopened root is still the root");
    // Below the root, ".." is the real parent.
    root.mkdirAt("sub");
    const sub = root.openAt("sub", DIR) as DirHandle;
    const subEntries = sub.readdir();
    assert.equal(
      subEntries[0]!.ino,
      nodefs.statSync(path.join(t.jail, "sub"), { bigint: true }).ino,
    );
    assert.equal(subEntries[1]!.ino, ino);
    for (const h of [root, again, sub]) h.close();
  });
});

describe("HostFs: symlinks are never followed", () => {
  function withLinks(): { t: Tree; root: DirHandle } {
    const t = tree();
    nodefs.symlinkSync(t.secret, path.join(t.jail, "abs")); // absolute, to the secret
    nodefs.symlinkSync("../outside/secret.txt", path.join(t.jail, "rel"));
    nodefs.symlinkSync("../outside", path.join(t.jail, "dirlink"));
    nodefs.symlinkSync(path.join(t.outside, "new.txt"), path.join(t.jail, "dangling"));
    return { t, root: new HostFs({ path: t.jail }).openRoot() };
  }

  it("openAt on a link fails with ELOOP, whatever the flags (EEXIST under create+exclusive)", () => {
    const { t, root } = withLinks();
    const before = snapshot(t.outside);
    for (const name of ["abs", "rel", "dangling"]) {
      for (const flags of [READ, WRITE, CREATE, { ...WRITE, append: true }]) {
        throwsErrno(() => root.openAt(name, flags), C.ELOOP, `${name} ${JSON.stringify(flags)}`);
      }
      throwsErrno(() => root.openAt(name, { ...CREATE, exclusive: true }), C.EEXIST, name);
    }
    // O_DIRECTORY|O_NOFOLLOW on a link: ELOOP or ENOTDIR, never the directory.
    assert.throws(
      () => root.openAt("dirlink", DIR),
      (e: unknown) => [C.ELOOP, C.ENOTDIR].includes(errnoOf(e)),
    );
    assert.deepEqual(snapshot(t.outside), before, "nothing created or truncated outside");
    assert.equal(nodefs.existsSync(path.join(t.outside, "new.txt")), false);
    root.close();
  });

  it("statAt, readlinkAt and readdir describe the link itself", () => {
    const { t, root } = withLinks();
    const s = root.statAt("abs");
    assert.equal(s.filetype, C.FILETYPE_SYMBOLIC_LINK);
    assert.equal(s.size, BigInt(Buffer.byteLength(t.secret)));
    assert.equal(s.ino, nodefs.lstatSync(path.join(t.jail, "abs"), { bigint: true }).ino);
    assert.equal(root.statAt("dirlink").filetype, C.FILETYPE_SYMBOLIC_LINK);
    assert.equal(root.readlinkAt("rel"), "../outside/secret.txt");
    assert.equal(root.statAt("dangling").filetype, C.FILETYPE_SYMBOLIC_LINK);
    const names = root.readdir().map((e) => [e.name, e.filetype]);
    assert.deepEqual(names.slice(2), [
      ["abs", C.FILETYPE_SYMBOLIC_LINK],
      ["dangling", C.FILETYPE_SYMBOLIC_LINK],
      ["dirlink", C.FILETYPE_SYMBOLIC_LINK],
      ["rel", C.FILETYPE_SYMBOLIC_LINK],
    ]);
    root.close();
  });

  it("setTimesAt changes the link, not its target outside", () => {
    const { t, root } = withLinks();
    // Snapshot first: it reads the secret, which may move its atime (relatime).
    const outsideDir = snapshot(t.outside);
    const target = nodefs.statSync(t.secret, { bigint: true });
    const mtim = 1_000_000_123n;
    root.setTimesAt("abs", mtim, mtim);
    root.setTimesAt("rel", "now", null);
    root.setTimesAt("dirlink", null, mtim);
    const link = nodefs.lstatSync(path.join(t.jail, "abs"), { bigint: true });
    assert.equal(link.mtimeNs, mtim);
    assert.equal(link.atimeNs, mtim);
    const after = nodefs.statSync(t.secret, { bigint: true });
    assert.equal(after.mtimeNs, target.mtimeNs);
    assert.equal(after.atimeNs, target.atimeNs);
    assert.equal(after.ctimeNs, target.ctimeNs);
    assert.deepEqual(snapshot(t.outside), outsideDir);
    root.close();
  });

  it("unlink, rename, link and mkdir act on the link, never through it", () => {
    const { t, root } = withLinks();
    const before = snapshot(t.outside);
    throwsErrno(() => root.mkdirAt("dirlink"), C.EEXIST);
    throwsErrno(() => root.rmdirAt("dirlink"), C.ENOTDIR);
    throwsErrno(() => root.symlinkAt("x", "abs"), C.EEXIST);
    root.linkAt("abs", root, "abs2"); // a hard link to the symlink itself
    assert.equal(root.statAt("abs2").filetype, C.FILETYPE_SYMBOLIC_LINK);
    assert.equal(root.statAt("abs2").ino, root.statAt("abs").ino);
    root.renameAt("rel", root, "rel2");
    assert.equal(root.readlinkAt("rel2"), "../outside/secret.txt");
    root.unlinkAt("dirlink");
    root.unlinkAt("abs");
    root.unlinkAt("abs2");
    assert.deepEqual(snapshot(t.outside), before);
    root.close();
  });

  it("a held directory stays itself when its name is swapped for a link to outside", () => {
    const t = tree();
    const d = path.join(t.jail, "d");
    nodefs.mkdirSync(d);
    nodefs.writeFileSync(path.join(d, "inside.txt"), "inside");
    const root = new HostFs({ path: t.jail }).openRoot();
    const held = root.openAt("d", DIR) as DirHandle;
    // Someone else moves the directory away and puts a link to outside in its place.
    nodefs.renameSync(d, path.join(t.jail, "moved"));
    nodefs.symlinkSync(t.outside, d);
    throwsErrno(() => held.statAt("secret.txt"), C.ENOENT);
    throwsErrno(() => held.openAt("secret.txt", READ), C.ENOENT);
    const f = held.openAt("inside.txt", READ);
    assert.equal(readAll(f), "inside");
    f.close();
    held.openAt("made.txt", CREATE).close();
    assert.ok(nodefs.existsSync(path.join(t.jail, "moved", "made.txt")));
    assert.ok(!nodefs.existsSync(path.join(t.outside, "made.txt")));
    assert.deepEqual(
      held.readdir().map((e) => e.name),
      [".", "..", "inside.txt", "made.txt"],
    );
    // Moved right out of the jail by the host: the handle still names that directory.
    nodefs.renameSync(path.join(t.jail, "moved"), path.join(t.base, "elsewhere"));
    assert.equal(held.statAt("inside.txt").filetype, C.FILETYPE_REGULAR_FILE);
    // The walker sees the link at the old name and refuses it.
    throwsErrno(() => walk(root, "d/secret.txt", true, (dir, n) => dir.statAt(n)), C.EPERM);
    held.close();
    root.close();
  });

  it("the walker over HostFs never escapes: .., absolute and relative links", () => {
    const { t, root } = withLinks();
    const open = (p: string) =>
      walk(root, p, true, (dir, n) => {
        try {
          return dir.openAt(n, READ);
        } catch (e) {
          if (errnoOf(e) === C.ELOOP) throw FOLLOW;
          throw e;
        }
      });
    for (const p of ["../outside/secret.txt", "abs", "rel", "dirlink/secret.txt", "dirlink/"]) {
      throwsErrno(() => open(p), C.EPERM, p);
    }
    throwsErrno(() => open(t.secret), C.EPERM, "absolute path");
    root.close();
  });

  it("survives a racing swapper: a directory and a file flipping to links outside", async () => {
    const t = tree();
    const d = path.join(t.jail, "d");
    nodefs.mkdirSync(d);
    nodefs.writeFileSync(path.join(d, "secret.txt"), "inside");
    nodefs.writeFileSync(path.join(t.jail, "f"), "inside");
    // A separate process flips jail/d and jail/f between the real thing and
    // links to outside (absolute and relative) as fast as it can.
    const script = `
      const fs = require("fs"), p = require("path");
      const [jail, outside] = process.argv.slice(1);
      const d = p.join(jail, "d"), f = p.join(jail, "f");
      const targets = [outside, "../outside"], ftargets = [p.join(outside, "secret.txt"), "../outside/secret.txt"];
      process.stdout.write("ready\\n");
      for (let i = 0; ; i++) {
        fs.renameSync(d, d + ".real"); fs.symlinkSync(targets[i & 1], d);
        fs.renameSync(f, f + ".real"); fs.symlinkSync(ftargets[i & 1], f);
        fs.unlinkSync(d); fs.renameSync(d + ".real", d);
        fs.unlinkSync(f); fs.renameSync(f + ".real", f);
      }`;
    const child = spawn(process.execPath, ["-e", script, t.jail, t.outside], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    await new Promise<void>((resolve) => child.stdout!.once("data", () => resolve()));
    const root = new HostFs({ path: t.jail }).openRoot();
    let inside = 0;
    let refused = 0;
    const deadline = Date.now() + 400;
    try {
      while (Date.now() < deadline) {
        for (const [p, follow] of [
          ["d/secret.txt", true],
          ["f", true],
          ["f", false],
        ] as const) {
          let h: Handle;
          try {
            h = walk(root, p, follow, (dir, n) => {
              try {
                return dir.openAt(n, READ);
              } catch (e) {
                if (follow && errnoOf(e) === C.ELOOP) throw FOLLOW;
                throw e;
              }
            });
          } catch (e) {
            assert.ok(errnoOf(e) !== C.EIO, String(e));
            refused++;
            continue;
          }
          const text = readAll(h);
          h.close();
          assert.notEqual(text, "SECRET", `${p} reached outside`);
          inside++;
        }
      }
    } finally {
      child.kill();
      root.close();
    }
    await new Promise((resolve) => child.once("exit", resolve));
    assert.ok(inside > 0 && refused > 0, `inside ${inside}, refused ${refused}`);
  });
});

describe("HostFs: names", () => {
  it("refuses what is not a single component before the host sees it", () => {
    const t = tree();
    const root = new HostFs({ path: t.jail }).openRoot();
    nodefs.writeFileSync(path.join(t.base, "above.txt"), "above");
    const before = snapshot(t.base);
    for (const bad of ["..", ".", "a/b", "../outside", "x\0y", "/etc"]) {
      const calls: [string, () => unknown][] = [
        ["statAt", () => root.statAt(bad)],
        ["openAt", () => root.openAt(bad, CREATE)],
        ["readlinkAt", () => root.readlinkAt(bad)],
        ["mkdirAt", () => root.mkdirAt(bad)],
        ["rmdirAt", () => root.rmdirAt(bad)],
        ["unlinkAt", () => root.unlinkAt(bad)],
        ["renameAt from", () => root.renameAt(bad, root, "x")],
        ["renameAt to", () => root.renameAt("x", root, bad)],
        ["linkAt", () => root.linkAt("x", root, bad)],
        ["symlinkAt", () => root.symlinkAt("x", bad)],
        ["setTimesAt", () => root.setTimesAt(bad, 0n, 0n)],
      ];
      for (const [what, call] of calls)
        throwsErrno(call, C.EINVAL, `${what}(${JSON.stringify(bad)})`);
    }
    throwsErrno(() => root.statAt(""), C.ENOENT);
    throwsErrno(() => root.symlinkAt("a\0b", "l"), C.EINVAL);
    assert.deepEqual(snapshot(t.base), before);
    root.close();
  });

  it("handles spaces, unicode and the longest names", () => {
    const t = tree();
    const root = new HostFs({ path: t.jail }).openRoot();
    const names = [
      "with space",
      " lead and trail ",
      "ünïcødé",
      "日本語のファイル",
      "🐉 donjon",
      "a\tb\nc",
      "-",
      "x".repeat(255),
    ];
    for (const [i, name] of names.entries()) {
      const f = root.openAt(name, { ...CREATE, exclusive: true });
      assert.equal(f.write(enc.encode(`#${i}`), 0), 2);
      f.close();
    }
    assert.deepEqual(
      nodefs.readdirSync(t.jail).sort(),
      [...names].sort(),
      "the host sees the same names",
    );
    const listed = root.readdir().slice(2);
    assert.deepEqual(listed.map((e) => e.name).sort(), [...names].sort());
    for (const e of listed) {
      assert.equal(e.ino, root.statAt(e.name).ino);
      assert.equal(e.filetype, C.FILETYPE_REGULAR_FILE);
    }
    for (const [i, name] of names.entries()) {
      const f = root.openAt(name, READ);
      assert.equal(readAll(f), `#${i}`);
      f.close();
    }
    root.mkdirAt("dossier ü");
    const sub = root.openAt("dossier ü", DIR) as DirHandle;
    root.renameAt("🐉 donjon", sub, "dragon 🐉");
    root.symlinkAt("../日本語のファイル", "lien ✓");
    assert.equal(root.readlinkAt("lien ✓"), "../日本語のファイル");
    assert.equal(nodefs.readFileSync(path.join(t.jail, "dossier ü", "dragon 🐉"), "utf8"), "#4");
    // NAME_MAX is the host's: 256 bytes is too long, and so is a name of 86 three-byte characters.
    throwsErrno(() => root.openAt("x".repeat(256), CREATE), C.ENAMETOOLONG);
    throwsErrno(() => root.mkdirAt("日".repeat(86)), C.ENAMETOOLONG);
    sub.close();
    root.close();
  });
});

describe("HostFs: read-only", () => {
  it("refuses every mutation with EROFS and leaves the host tree byte-for-byte unchanged", () => {
    const t = tree();
    nodefs.writeFileSync(path.join(t.jail, "file.txt"), "original");
    nodefs.mkdirSync(path.join(t.jail, "dir"));
    nodefs.mkdirSync(path.join(t.jail, "empty"));
    nodefs.writeFileSync(path.join(t.jail, "dir", "inner.txt"), "inner");
    nodefs.symlinkSync("file.txt", path.join(t.jail, "link"));
    nodefs.symlinkSync(t.secret, path.join(t.jail, "out"));
    const before = snapshot(t.base);
    const fds = fdCount();

    const hfs = new HostFs({ path: t.jail, readonly: true });
    assert.equal(hfs.readonly, true);
    const root = hfs.openRoot();
    const dir = root.openAt("dir", DIR) as DirHandle;
    const file = root.openAt("file.txt", READ);
    const other = new HostFs({ path: t.jail }).openRoot();

    const mutations: [string, () => unknown][] = [
      ["open for write", () => root.openAt("file.txt", WRITE)],
      ["open read+truncate", () => root.openAt("file.txt", { ...READ, truncate: true })],
      ["open for append", () => root.openAt("file.txt", { ...WRITE, append: true })],
      ["create a new file", () => root.openAt("new.txt", { ...READ, create: true })],
      ["create exclusive", () => root.openAt("new.txt", { ...CREATE, exclusive: true })],
      ["create+truncate existing", () => root.openAt("file.txt", CREATE)],
      ["mkdir new", () => root.mkdirAt("newdir")],
      ["mkdir existing", () => root.mkdirAt("dir")],
      ["rmdir", () => root.rmdirAt("empty")],
      ["rmdir missing", () => root.rmdirAt("missing")],
      ["unlink", () => root.unlinkAt("file.txt")],
      ["unlink link", () => root.unlinkAt("out")],
      ["rename", () => root.renameAt("file.txt", root, "moved.txt")],
      ["rename onto", () => root.renameAt("file.txt", dir, "inner.txt")],
      ["link", () => root.linkAt("file.txt", root, "hard.txt")],
      ["symlink", () => root.symlinkAt("file.txt", "link2")],
      ["setTimesAt", () => root.setTimesAt("file.txt", 0n, 0n)],
      ["setTimesAt now", () => root.setTimesAt("dir", "now", "now")],
      ["setTimesAt on a link", () => root.setTimesAt("out", 0n, null)],
      ["setTimesAt nothing", () => root.setTimesAt("file.txt", null, null)],
      ["handle write", () => file.write(enc.encode("x"), 0)],
      ["handle append write", () => file.write(enc.encode("x"), null)],
      ["handle truncate", () => file.truncate(0n)],
      ["handle setTimes", () => file.setTimes(0n, "now")],
      ["dir handle setTimes", () => dir.setTimes("now", null)],
      ["root setTimes", () => root.setTimes(0n, 0n)],
    ];
    for (const [what, call] of mutations) throwsErrno(call, C.EROFS, what);
    // What Linux answers on a read-only mount when nothing would change anyway.
    throwsErrno(() => root.openAt("file.txt", { ...CREATE, exclusive: true }), C.EEXIST);
    throwsErrno(() => root.openAt("dir", WRITE), C.EISDIR);
    throwsErrno(() => root.openAt("link", WRITE), C.ELOOP);
    throwsErrno(() => root.openAt("missing", WRITE), C.ENOENT);
    throwsErrno(() => root.renameAt("file.txt", other, "x"), C.EXDEV);
    const again = root.openAt("file.txt", { ...READ, create: true });
    assert.equal(readAll(again), "original", "O_CREAT on an existing name just opens it");
    again.close();

    // Reading still works.
    assert.equal(readAll(file), "original");
    assert.equal(root.statAt("file.txt").size, 8n);
    assert.equal(root.readlinkAt("link"), "file.txt");
    assert.deepEqual(
      root.readdir().map((e) => e.name),
      [".", "..", "dir", "empty", "file.txt", "link", "out"],
    );
    const inner = dir.openAt("inner.txt", READ);
    assert.equal(readAll(inner), "inner");
    root.sync();
    file.datasync();
    for (const h of [inner, file, dir, root, other]) h.close();

    // Reads move atimes (relatime): the snapshot leaves them out, and checks
    // contents, modes, sizes, link counts, mtimes and ctimes.
    assert.deepEqual(snapshot(t.base), before);
    assert.equal(fdCount(), fds);
  });
});

describe("HostFs: descriptors", () => {
  it("leaks no descriptor, on success or failure", () => {
    const t = tree();
    nodefs.symlinkSync(t.secret, path.join(t.jail, "out"));
    const hfs = new HostFs({ path: t.jail });
    const fds = fdCount();
    const root = hfs.openRoot();
    for (let i = 0; i < 50; i++) {
      const f = root.openAt(`f${i}`, CREATE);
      f.write(enc.encode("data"), 0);
      f.stat();
      f.setTimes("now", null);
      (f as Required<Handle>).setAppend(true);
      f.write(enc.encode("more"), null);
      (f as Required<Handle>).setAppend(false);
      f.close();
      root.mkdirAt(`d${i}`);
      const d = root.openAt(`d${i}`, DIR) as DirHandle;
      const d2 = d.reopen();
      d2.readdir();
      d2.close();
      d.close();
      root.renameAt(`f${i}`, root, `g${i}`);
      // Failures.
      throwsErrno(() => root.openAt(`missing${i}`, READ), C.ENOENT);
      throwsErrno(() => root.openAt("out", READ), C.ELOOP);
      throwsErrno(() => root.openAt(`d${i}`, WRITE), C.EISDIR);
      throwsErrno(() => root.openAt(`g${i}`, DIR), C.ENOTDIR);
      throwsErrno(() => root.openAt(`g${i}`, { ...CREATE, exclusive: true }), C.EEXIST);
      throwsErrno(() => root.rmdirAt(`g${i}`), C.ENOTDIR);
      throwsErrno(() => walk(root, `d${i}/../../x`, true, (dd, n) => dd.statAt(n)), C.EPERM);
      throwsErrno(() => walk(root, `g${i}/x`, true, (dd, n) => dd.statAt(n)), C.ENOTDIR);
      walk(root, `d${i}/.`, true, (dd) => dd.stat());
    }
    assert.equal(root.readdir().length, 2 + 50 + 50 + 1);
    root.close();
    assert.equal(fdCount(), fds);
  });

  it("a closed handle says EBADF, even once its fd number is reused", () => {
    const t = tree();
    nodefs.writeFileSync(path.join(t.jail, "a"), "A");
    nodefs.writeFileSync(path.join(t.jail, "b"), "B");
    const root = new HostFs({ path: t.jail }).openRoot();
    const a = root.openAt("a", READ);
    a.close();
    const b = root.openAt("b", READ); // very likely gets a's old fd number
    throwsErrno(() => a.read(new Uint8Array(1), 0), C.EBADF);
    throwsErrno(() => a.stat(), C.EBADF);
    throwsErrno(() => a.close(), C.EBADF);
    const d = root.reopen();
    d.close();
    throwsErrno(() => d.statAt("b"), C.EBADF);
    throwsErrno(() => d.readdir(), C.EBADF);
    throwsErrno(() => d.reopen(), C.EBADF);
    throwsErrno(() => root.renameAt("a", d, "c"), C.EBADF);
    assert.equal(readAll(b), "B");
    b.close();
    root.close();
  });
});

describe("HostFs: files", () => {
  it("reads and writes at positions; append mode goes through O_APPEND and can be toggled", () => {
    const t = tree();
    const root = new HostFs({ path: t.jail }).openRoot();
    const f = root.openAt("log", CREATE);
    assert.equal(f.filetype, C.FILETYPE_REGULAR_FILE);
    f.write(enc.encode("hello"), 0);
    f.write(enc.encode("J"), 0);
    (f as Required<Handle>).setAppend(true);
    f.write(enc.encode(" world"), null);
    f.write(enc.encode("!"), 0); // Linux: under O_APPEND, pwrite appends too
    (f as Required<Handle>).setAppend(false);
    f.write(enc.encode("j"), 0);
    assert.equal(nodefs.readFileSync(path.join(t.jail, "log"), "utf8"), "jello world!");
    // Without append mode, a null position still means "at the end".
    f.write(enc.encode("?"), null);
    assert.equal(readAll(f), "jello world!?");
    f.truncate(5n);
    assert.equal(f.stat().size, 5n);
    f.truncate(7n);
    assert.equal(readAll(f), "jello\0\0");
    f.sync();
    f.datasync();
    f.close();

    // Opened in append mode from the start; a second writer does not get overwritten.
    const a = root.openAt("log", { ...WRITE, append: true });
    nodefs.appendFileSync(path.join(t.jail, "log"), "[host]");
    a.write(enc.encode("[guest]"), null);
    a.close();
    assert.equal(nodefs.readFileSync(path.join(t.jail, "log"), "utf8"), "jello\0\0[host][guest]");

    // A handle keeps working on a file renamed or unlinked since, setAppend included.
    const g = root.openAt("log", { ...READ, write: true });
    root.unlinkAt("log");
    (g as Required<Handle>).setAppend(true);
    g.write(enc.encode("+"), null);
    assert.equal(g.stat().nlink, 0n);
    assert.equal(g.stat().size, 21n);
    g.close();
    root.close();
  });

  it("a null position uses a cursor kept on the handle, which survives setAppend", () => {
    const t = tree();
    nodefs.writeFileSync(path.join(t.jail, "f"), "abcdef");
    const root = new HostFs({ path: t.jail }).openRoot();
    const f = root.openAt("f", WRITE) as Required<Handle>;
    const b = new Uint8Array(2);
    const next = () => dec.decode(b.subarray(0, f.read(b, null)));
    assert.equal(next(), "ab");
    assert.equal(f.read(b, 4), 2, "an explicit position leaves the cursor alone");
    assert.equal(next(), "cd");
    f.setAppend(true); // a reopen underneath
    assert.equal(next(), "ef");
    f.write(enc.encode("XY"), null);
    assert.equal(next(), "", "an append leaves the cursor at the end");
    f.setAppend(false);
    f.write(enc.encode("12"), null);
    f.write(enc.encode("Z"), 0);
    assert.equal(next(), "");
    assert.equal(nodefs.readFileSync(path.join(t.jail, "f"), "utf8"), "ZbcdefXY12");
    f.close();
    root.close();
  });

  it("create with directory: EINVAL for a missing name, never a file made", () => {
    const t = tree();
    nodefs.mkdirSync(path.join(t.jail, "d"));
    nodefs.writeFileSync(path.join(t.jail, "f"), "");
    for (const readonly of [false, true]) {
      const root = new HostFs({ path: t.jail, readonly }).openRoot();
      const flags = { ...DIR, create: true };
      throwsErrno(() => root.openAt("new", flags), C.EINVAL);
      throwsErrno(() => root.openAt("new", { ...flags, exclusive: true }), C.EINVAL);
      assert.equal(nodefs.existsSync(path.join(t.jail, "new")), false);
      const d = root.openAt("d", flags);
      assert.equal(d.filetype, C.FILETYPE_DIRECTORY);
      d.close();
      throwsErrno(() => root.openAt("d", { ...flags, exclusive: true }), C.EEXIST);
      throwsErrno(() => root.openAt("f", flags), C.ENOTDIR);
      root.close();
    }
  });

  it("directories: opening for write is EISDIR, reading one is EISDIR", () => {
    const t = tree();
    nodefs.mkdirSync(path.join(t.jail, "d"));
    const root = new HostFs({ path: t.jail }).openRoot();
    throwsErrno(() => root.openAt("d", WRITE), C.EISDIR);
    throwsErrno(() => root.openAt("d", { ...READ, truncate: true }), C.EISDIR);
    throwsErrno(() => root.openAt("d", { ...READ, create: true }), C.EISDIR);
    const d = root.openAt("d", READ);
    assert.equal(d.filetype, C.FILETYPE_DIRECTORY);
    throwsErrno(() => d.read(new Uint8Array(4), 0), C.EISDIR);
    throwsErrno(() => d.write(new Uint8Array(4), 0), C.EISDIR);
    throwsErrno(() => d.truncate(0n), C.EISDIR);
    d.close();
    root.close();
  });

  it("a FIFO or socket in the tree cannot hang the host", async () => {
    const t = tree();
    const fifo = path.join(t.jail, "fifo");
    execFileSync("mkfifo", [fifo]);
    const sock = path.join(t.jail, "sock");
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    try {
      const root = new HostFs({ path: t.jail }).openRoot();
      assert.equal(root.statAt("fifo").filetype, C.FILETYPE_UNKNOWN);
      assert.equal(root.statAt("sock").filetype, C.FILETYPE_SOCKET_STREAM);
      // Without O_NONBLOCK this open would wait for a writer forever.
      const r = root.openAt("fifo", READ);
      assert.equal(r.filetype, C.FILETYPE_UNKNOWN);
      assert.equal(r.read(new Uint8Array(8), null), 0, "no writer: end of file");
      r.close();
      throwsErrno(() => root.openAt("fifo", { ...WRITE, read: false }), C.ENXIO); // no reader
      throwsErrno(() => root.openAt("sock", READ), C.ENXIO);
      const types = Object.fromEntries(root.readdir().map((e) => [e.name, e.filetype]));
      assert.equal(types.fifo, C.FILETYPE_UNKNOWN);
      assert.equal(types.sock, C.FILETYPE_SOCKET_STREAM);
      root.close();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it("rename and link work across directories of one HostFs, EXDEV across two", () => {
    const t = tree();
    nodefs.writeFileSync(path.join(t.jail, "f"), "f");
    nodefs.mkdirSync(path.join(t.jail, "sub"));
    const hfs = new HostFs({ path: t.jail });
    const root = hfs.openRoot();
    const sub = root.openAt("sub", DIR) as DirHandle;
    root.linkAt("f", sub, "hard");
    assert.equal(root.statAt("f").nlink, 2n);
    sub.renameAt("hard", root, "back");
    assert.equal(root.statAt("back").ino, root.statAt("f").ino);
    // Same host directory, but another HostFs: a different filesystem to the guest.
    const other = new HostFs({ path: t.jail }).openRoot();
    throwsErrno(() => root.renameAt("f", other, "g"), C.EXDEV);
    throwsErrno(() => root.linkAt("f", other, "g"), C.EXDEV);
    assert.notEqual(root.fsId, other.fsId);
    assert.equal(root.fsId, sub.fsId);
    for (const h of [sub, root, other]) h.close();
  });
});

describe("HostFs: opened without looking (OpenFlags.presume)", () => {
  const PRESUME: OpenFlags = { ...READ, presume: true };

  it("a file: reads and writes at the handle's cursor, elsewhere after one look", () => {
    const t = tree();
    nodefs.writeFileSync(path.join(t.jail, "f"), "hello");
    const root = new HostFs({ path: t.jail }).openRoot();
    const f = root.openAt("f", { ...PRESUME, write: true });
    assert.equal(f.filetype, C.FILETYPE_REGULAR_FILE, "presumed");
    const buf = new Uint8Array(8);
    assert.equal(dec.decode(buf.subarray(0, f.read(buf.subarray(0, 2), 0))), "he");
    assert.equal(f.write(enc.encode("L"), 2), 1, "at the cursor");
    assert.equal(dec.decode(buf.subarray(0, f.read(buf, 1))), "eLlo", "not at the cursor");
    assert.equal(f.write(enc.encode("!"), 5), 1);
    assert.equal(f.settle?.(), f, "a file settles as itself");
    assert.equal(f.filetype, C.FILETYPE_REGULAR_FILE);
    f.close();
    assert.equal(nodefs.readFileSync(path.join(t.jail, "f"), "utf8"), "heLlo!");
    root.close();
  });

  it("a directory: EISDIR until settled, then a DirHandle on the same fd, leaking none", () => {
    const t = tree();
    nodefs.mkdirSync(path.join(t.jail, "d"));
    nodefs.writeFileSync(path.join(t.jail, "d", "inner"), "in");
    const root = new HostFs({ path: t.jail }).openRoot();
    const fds = fdCount();
    const h = root.openAt("d", PRESUME);
    assert.ok(!isDir(h));
    throwsErrno(() => h.read(new Uint8Array(4), 0), C.EISDIR);
    throwsErrno(() => h.write(new Uint8Array(4), 0), C.EISDIR);
    const d = h.settle?.() as DirHandle;
    assert.ok(isDir(d));
    assert.equal(d.filetype, C.FILETYPE_DIRECTORY);
    assert.deepEqual(
      d.readdir().map((e) => e.name),
      [".", "..", "inner"],
    );
    const inner = d.openAt("inner", READ);
    assert.equal(readAll(inner), "in");
    inner.close();
    throwsErrno(() => h.read(new Uint8Array(4), 0), C.EBADF, "the presumed handle is spent");
    d.close();
    assert.equal(fdCount(), fds);
    root.close();
  });

  it("a FIFO reads and writes through the kernel until settled, then is a stream", () => {
    const t = tree();
    const fifo = path.join(t.jail, "fifo");
    execFileSync("mkfifo", [fifo]);
    const root = new HostFs({ path: t.jail }).openRoot();
    const reader = nodefs.openSync(fifo, nodefs.constants.O_RDONLY | nodefs.constants.O_NONBLOCK);
    try {
      const w = root.openAt("fifo", { ...PRESUME, read: false, write: true });
      assert.equal(w.write(enc.encode("ping"), 0), 4);
      assert.equal(w.write(enc.encode("pong"), 4), 4);
      assert.equal(nodefs.readSync(reader, Buffer.alloc(16)), 8);
      throwsErrno(() => w.write(enc.encode("x"), 0), C.ESPIPE, "a position that is not the cursor");
      assert.equal(w.filetype, C.FILETYPE_UNKNOWN, "looked");
      assert.equal(w.settle?.(), w);
      w.close();
    } finally {
      nodefs.closeSync(reader);
    }
    root.close();
  });
});

describe("HostFs under WASI: path_open looks up what it opened only when needed", () => {
  const RO =
    C.RIGHTS_ALL &
    ~(
      C.RIGHTS_FD_WRITE |
      C.RIGHTS_FD_DATASYNC |
      C.RIGHTS_FD_ALLOCATE |
      C.RIGHTS_FD_FILESTAT_SET_SIZE
    );
  const WO = (C.RIGHTS_ALL & ~(C.RIGHTS_FD_READ | C.RIGHTS_FD_READDIR)) | C.RIGHTS_FD_WRITE;
  const fdstat = (g: Guest, fd: number): [number, number, bigint, bigint] => {
    const st = g.alloc(24);
    return [g.call("fd_fdstat_get", fd, st), g.u8(st), g.u64(st + 8), g.u64(st + 16)];
  };
  const seek = (g: Guest, fd: number) => g.call("fd_seek", fd, 1n, C.WHENCE_SET, g.alloc(8));
  const tell = (g: Guest, fd: number) => g.call("fd_tell", fd, g.alloc(8));

  it("a FIFO without O_DIRECTORY: an unknown-type stream, whichever call comes first", () => {
    const t = tree();
    const fifo = path.join(t.jail, "fifo");
    execFileSync("mkfifo", [fifo]);
    const file = RO & C.RIGHTS_FILE_BASE;
    const preopens = [{ path: "/j", fs: new HostFs({ path: t.jail }) }];
    const reader = nodefs.openSync(fifo, nodefs.constants.O_RDONLY | nodefs.constants.O_NONBLOCK);
    try {
      runGuest({ preopens }, (g) => {
        for (const first of ["fd_read", "fd_fdstat_get", "fd_seek", "fd_tell"]) {
          const [e, fd] = g.open(3, "fifo", 0, RO);
          assert.equal(e, 0);
          if (first === "fd_read") assert.deepEqual(g.read(fd, 8), [0, ""], "nothing written yet");
          if (first === "fd_seek") assert.equal(seek(g, fd), C.ESPIPE);
          if (first === "fd_tell") assert.equal(tell(g, fd), C.ESPIPE);
          assert.deepEqual(fdstat(g, fd), [0, C.FILETYPE_UNKNOWN, file, 0n], `after ${first}`);
          assert.equal(seek(g, fd), C.ESPIPE, `after ${first}`);
          g.call("fd_close", fd);
        }
        // The write end: positions are never used, before or after settling.
        const [e, w] = g.open(3, "fifo", C.OFLAGS_TRUNC, WO);
        assert.equal(e, 0);
        assert.deepEqual(g.write(w, "ping"), [0, 4]);
        assert.deepEqual(g.write(w, "pong"), [0, 4]);
        const buf = Buffer.alloc(16);
        assert.equal(buf.toString("utf8", 0, nodefs.readSync(reader, buf)), "pingpong");
        const [p, n] = g.put("x");
        const [iov] = g.iovs([[p, n]]);
        assert.equal(g.call("fd_pwrite", w, iov, 1, 0n, g.alloc(4)), C.ESPIPE);
        assert.deepEqual(g.write(w, "after"), [0, 5]);
        assert.equal(buf.toString("utf8", 0, nodefs.readSync(reader, buf)), "after");
        assert.deepEqual(fdstat(g, w), [0, C.FILETYPE_UNKNOWN, WO & C.RIGHTS_FILE_BASE, 0n]);
        g.call("fd_close", w);
        // A call that fails half-way (a full pipe, an empty one: EAGAIN on the
        // second iovec) leaves a stream that goes on as one.
        const PIPE = 65536; // Linux's default pipe capacity
        const [, w2] = g.open(3, "fifo", 0, WO);
        const big = g.alloc(PIPE);
        const [one] = g.put("1");
        const [iovs] = g.iovs([
          [big, PIPE],
          [one, 1],
        ]);
        assert.equal(g.call("fd_write", w2, iovs, 2, g.alloc(4)), C.EAGAIN);
        assert.equal(nodefs.readSync(reader, Buffer.alloc(2 * PIPE)), PIPE);
        assert.deepEqual(g.write(w2, "more"), [0, 4]);
        const [, r2] = g.open(3, "fifo", 0, RO);
        const [iovr] = g.iovs([
          [g.alloc(4), 4],
          [g.alloc(4), 4],
        ]);
        assert.equal(g.call("fd_read", r2, iovr, 2, g.alloc(4)), C.EAGAIN, "4 bytes, then none");
        assert.deepEqual(g.write(w2, "again"), [0, 5]);
        assert.deepEqual(g.read(r2, 8), [0, "again"]);
      });
    } finally {
      nodefs.closeSync(reader);
    }
  });

  it("a character device (/dev, read-only): a stream with the tty-less file rights", () => {
    const preopens = [{ path: "/dev", fs: new HostFs({ path: "/dev", readonly: true }) }];
    runGuest({ preopens }, (g) => {
      const ro = RO & ~C.RIGHTS_MUTATING;
      for (const first of ["fd_read", "fd_fdstat_get", "fd_seek", "fd_filestat_get"]) {
        const [e, fd] = g.open(3, "zero", 0, RO);
        assert.equal(e, 0);
        if (first === "fd_read") assert.deepEqual(g.read(fd, 4), [0, "\0\0\0\0"]);
        if (first === "fd_seek") assert.equal(seek(g, fd), C.ESPIPE);
        if (first === "fd_filestat_get") {
          const st = g.alloc(64);
          assert.equal(g.call("fd_filestat_get", fd, st), 0);
          assert.equal(g.u8(st + 16), C.FILETYPE_CHARACTER_DEVICE);
        }
        const want = [0, C.FILETYPE_CHARACTER_DEVICE, ro & C.RIGHTS_FILE_BASE, 0n];
        assert.deepEqual(fdstat(g, fd), want, `after ${first}`);
        assert.equal(tell(g, fd), C.ESPIPE, `after ${first}`);
        g.call("fd_close", fd);
      }
      const [, nul] = g.open(3, "null", 0, RO);
      assert.deepEqual(g.read(nul, 4), [0, ""]);
      assert.equal(fdstat(g, nul)[1], C.FILETYPE_CHARACTER_DEVICE);
    });
  });
});

describe("HostFs: times", () => {
  const near = (got: bigint, want: bigint, what: string) =>
    assert.ok(
      got - want <= HOSTFS_TIME_PRECISION_NS && want - got <= HOSTFS_TIME_PRECISION_NS,
      `${what}: ${got} vs ${want}`,
    );

  it("sets times within HOSTFS_TIME_PRECISION_NS (small ones exactly), now, or leaves them", () => {
    const t = tree();
    const p = path.join(t.jail, "f");
    nodefs.writeFileSync(p, "x");
    const root = new HostFs({ path: t.jail }).openRoot();
    const host = () => nodefs.lstatSync(p, { bigint: true });
    // Small values survive the double exactly, nanoseconds included.
    root.setTimesAt("f", 1_000_000_123n, 999_999_999n);
    assert.equal(host().atimeNs, 1_000_000_123n);
    assert.equal(host().mtimeNs, 999_999_999n);
    for (const ns of [
      1_700_000_000_123_456_789n, // today: ~120 ns
      4_102_444_800_999_999_999n, // 2100
      15_000_000_000_000_000_001n, // 2445, near ext4's limit
    ]) {
      root.setTimesAt("f", ns, ns + 1n);
      near(host().atimeNs, ns, "atim");
      near(host().mtimeNs, ns + 1n, "mtim");
      assert.equal(root.statAt("f").mtim, host().mtimeNs, "stat reads back exactly");
    }
    // null keeps a time (within the precision: it is read and written back).
    root.setTimesAt("f", 5_000_000_000n, 6_000_000_000n);
    root.setTimesAt("f", null, 7_000_000_000n);
    assert.equal(host().atimeNs, 5_000_000_000n);
    assert.equal(host().mtimeNs, 7_000_000_000n);
    // Both null changes nothing, not even ctim, and still wants the name to exist.
    const ctim = host().ctimeNs;
    root.setTimesAt("f", null, null);
    assert.equal(host().ctimeNs, ctim);
    throwsErrno(() => root.setTimesAt("missing", null, null), C.ENOENT);
    throwsErrno(() => root.setTimesAt("missing", 0n, 0n), C.ENOENT);
    // "now" is the wall clock (milliseconds), the same for both times.
    const before = BigInt(Date.now()) * 1_000_000n;
    root.setTimesAt("f", "now", "now");
    const after = BigInt(Date.now()) * 1_000_000n;
    const s = host();
    assert.equal(s.atimeNs, s.mtimeNs);
    assert.ok(
      s.mtimeNs + HOSTFS_TIME_PRECISION_NS >= before &&
        s.mtimeNs <= after + HOSTFS_TIME_PRECISION_NS,
    );
    // Through a handle too.
    const f = root.openAt("f", READ);
    f.setTimes(1_000_000_123n, null);
    assert.equal(host().atimeNs, 1_000_000_123n);
    near(host().mtimeNs, s.mtimeNs, "kept mtim");
    f.setTimes(null, "now");
    assert.ok(host().mtimeNs + HOSTFS_TIME_PRECISION_NS >= after);
    assert.deepEqual(f.stat(), root.statAt("f"));
    f.close();
    root.close();
  });
});

// The shared contract, on a fresh temp dir per test. The time precision is
// HostFs's own bound (Node's utimes takes double seconds), not a tolerance
// picked to pass.

/** A fresh temp dir for the contract suite, removed by its cleanup. */
function contractDir(): { dir: string; cleanup: () => void } {
  const dir = nodefs.mkdtempSync(path.join(os.tmpdir(), "donjon-hostfs-contract-"));
  return { dir, cleanup: () => nodefs.rmSync(dir, { recursive: true, force: true }) };
}

for (const stableRoot of [false, true]) {
  fsContract(
    stableRoot ? "HostFs with a stable root" : "HostFs",
    () => {
      const { dir, cleanup } = contractDir();
      return { fs: new HostFs({ path: dir, stableRoot }), cleanup };
    },
    {
      makeReadonly: () => {
        const { dir, cleanup } = contractDir();
        nodefs.writeFileSync(path.join(dir, "ro.txt"), "hello");
        nodefs.mkdirSync(path.join(dir, "sub"));
        return { fs: new HostFs({ path: dir, readonly: true, stableRoot }), cleanup };
      },
      timePrecisionNs: HOSTFS_TIME_PRECISION_NS,
    },
  );
}
