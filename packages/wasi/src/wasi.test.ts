/**
 * Syscall tests, group by group, driven from JavaScript through the import
 * object exactly as a guest calls it (see `_testguest.ts`). The filesystem
 * groups run against every filesystem implementation. Compiled C programs
 * exercising the same calls through wasi-libc run in `programs.test.ts`.
 */
import assert from "node:assert/strict";
import * as nodefs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as C from "./_constants.ts";
import { streamHandle } from "./_streams.ts";
import { type Guest, runGuest } from "./_testguest.ts";
import type { Filesystem } from "./fs.ts";
import { HostFs } from "./hostfs.ts";
import { MemoryFs } from "./memfs.ts";
import { type Clock, Wasi, type WasiOptions } from "./wasi.ts";

const hostErrors: unknown[] = [];
const onHostError = (e: unknown, syscall: string) => hostErrors.push([syscall, e]);
after(() => assert.deepEqual(hostErrors, [], "no syscall may fail with a host exception"));

const tmpRoots: string[] = [];
after(() => {
  for (const d of tmpRoots) nodefs.rmSync(d, { recursive: true, force: true });
});

const filesystems: [string, (readonly?: boolean) => Filesystem][] = [
  ["MemoryFs", (readonly) => new MemoryFs({ readonly })],
  [
    "HostFs",
    (readonly) => {
      const d = nodefs.mkdtempSync(path.join(os.tmpdir(), "donjon-wasi-"));
      tmpRoots.push(d);
      return new HostFs({ path: d, readonly });
    },
  ],
  [
    "HostFs with a stable root",
    (readonly) => {
      const d = nodefs.mkdtempSync(path.join(os.tmpdir(), "donjon-wasi-"));
      tmpRoots.push(d);
      return new HostFs({ path: d, readonly, stableRoot: true });
    },
  ],
];

function run(opts: WasiOptions, body: (g: Guest) => void): number {
  return runGuest({ onHostError, ...opts }, body);
}

/** Capture what the guest writes to a stream. */
function sink(): { handle: ReturnType<typeof streamHandle>; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    handle: streamHandle({
      write: (b) => {
        chunks.push(Buffer.from(b));
        return b.length;
      },
    }),
    text: () => Buffer.concat(chunks).toString(),
  };
}

/** fd_readdir from cookie 0 into a large buffer: [errno, ...names sorted after "." and ".."]. */
function readdirNames(g: Guest, fd: number): unknown[] {
  const buf = g.alloc(4096);
  const used = g.alloc(4);
  const e = g.call("fd_readdir", fd, buf, 4096, 0n, used);
  if (e !== 0) return [e];
  const names: string[] = [];
  for (let at = 0; at + 24 <= g.u32(used); ) {
    const len = g.u32(buf + at + 16);
    names.push(g.text(buf + at + 24, len));
    at += 24 + len;
  }
  return [e, ...names.slice(0, 2), ...names.slice(2).sort()];
}

/** A clock whose sleep advances time instead of waiting. */
function fakeClock(): Clock & { slept: bigint[] } {
  let t = 1_000_000_000n;
  const slept: bigint[] = [];
  return {
    slept,
    realtime: () => 1_700_000_000_000_000_000n + t,
    monotonic: () => t,
    processCpu: () => 5n,
    threadCpu: () => 3n,
    resolution: { realtime: 1000n, monotonic: 1n, processCpu: 1000n, threadCpu: 1000n },
    sleep: (ns) => {
      slept.push(ns);
      t += ns;
    },
  };
}

describe("start() and options", () => {
  const memory = () => new WebAssembly.Memory({ initial: 1 });
  const inst = (exports: object) => ({ exports }) as unknown as WebAssembly.Instance;

  it("refuses an instance that is not a WASI command", () => {
    assert.throws(() => new Wasi({}).start(inst({ _start: () => {} })), {
      code: "INVALID_MODULE",
      message: /memory/,
    });
    assert.throws(() => new Wasi({}).start(inst({ memory: memory() })), {
      code: "INVALID_MODULE",
      message: /_start/,
    });
  });

  it("starts once", () => {
    const w = new Wasi({});
    assert.equal(w.start(inst({ memory: memory(), _start: () => {} })), 0);
    assert.throws(() => w.start(inst({ memory: memory(), _start: () => {} })), {
      code: "ALREADY_STARTED",
    });
  });

  it("refuses a relative preopen path and closes roots it already opened", () => {
    let closed = 0;
    const fs = new MemoryFs();
    const counting = {
      readonly: false,
      openRoot: () => {
        const root = fs.openRoot();
        const close = root.close.bind(root);
        root.close = () => {
          closed++;
          close();
        };
        return root;
      },
    };
    assert.throws(
      () =>
        new Wasi({
          preopens: [
            { path: "/ok", fs: counting },
            { path: "rel", fs },
          ],
        }),
      {
        code: "INVALID_OPTIONS",
      },
    );
    assert.equal(closed, 1);
  });
});

describe("args and environ", () => {
  it("reports nothing unless granted", () => {
    run({}, (g) => {
      const c = g.alloc(4);
      const s = g.alloc(4);
      assert.equal(g.call("args_sizes_get", c, s), 0);
      assert.deepEqual([g.u32(c), g.u32(s)], [0, 0]);
      assert.equal(g.call("environ_sizes_get", c, s), 0);
      assert.deepEqual([g.u32(c), g.u32(s)], [0, 0]);
    });
  });

  it("writes NUL-terminated strings and pointers", () => {
    run({ args: ["prog", "héllo"], env: { A: "1", B: "x=y" } }, (g) => {
      const c = g.alloc(4);
      const s = g.alloc(4);
      g.call("args_sizes_get", c, s);
      assert.deepEqual([g.u32(c), g.u32(s)], [2, 5 + 7]);
      const ptrs = g.alloc(8);
      const buf = g.alloc(12);
      assert.equal(g.call("args_get", ptrs, buf), 0);
      assert.equal(g.text(g.u32(ptrs), 4), "prog");
      assert.equal(g.text(g.u32(ptrs + 4), 6), "héllo");
      assert.equal(g.u8(buf + 4), 0);
      g.call("environ_sizes_get", c, s);
      assert.deepEqual([g.u32(c), g.u32(s)], [2, 4 + 6]);
      const eptrs = g.alloc(8);
      const ebuf = g.alloc(10);
      g.call("environ_get", eptrs, ebuf);
      assert.equal(g.text(g.u32(eptrs + 4), 5), "B=x=y");
    });
  });

  it("refuses NUL bytes and bad names at construction", () => {
    assert.throws(() => run({ args: ["a\0b"] }, () => {}), { code: "INVALID_OPTIONS" });
    assert.throws(() => run({ env: { "A=B": "c" } }, () => {}), { code: "INVALID_OPTIONS" });
  });
});

describe("clocks, random, process", () => {
  it("reads every clock with a non-zero resolution", () => {
    run({}, (g) => {
      const out = g.alloc(8);
      for (const id of [0, 1, 2, 3]) {
        assert.equal(g.call("clock_res_get", id, out), 0);
        assert.ok(g.u64(out) > 0n);
        assert.equal(g.call("clock_time_get", id, 0n, out), 0);
      }
      g.call("clock_time_get", C.CLOCK_REALTIME, 0n, out);
      assert.ok(g.u64(out) > 1_600_000_000n * 1_000_000_000n, "realtime is after 2020");
      g.call("clock_time_get", C.CLOCK_MONOTONIC, 0n, out);
      const a = g.u64(out);
      g.call("clock_time_get", C.CLOCK_MONOTONIC, 0n, out);
      assert.ok(g.u64(out) >= a);
      assert.equal(g.call("clock_time_get", 4, 0n, out), C.EINVAL);
      assert.equal(g.call("clock_res_get", 99, out), C.EINVAL);
    });
  });

  it("uses the injected clock", () => {
    const clock = fakeClock();
    run({ clock }, (g) => {
      const out = g.alloc(8);
      g.call("clock_time_get", C.CLOCK_PROCESS_CPUTIME_ID, 0n, out);
      assert.equal(g.u64(out), 5n);
      g.call("clock_time_get", C.CLOCK_THREAD_CPUTIME_ID, 0n, out);
      assert.equal(g.u64(out), 3n);
    });
  });

  it("fills random buffers, large ones too, and refuses out-of-bounds", () => {
    run({}, (g) => {
      const p = g.alloc(200_000);
      assert.equal(g.call("random_get", p, 200_000), 0);
      const b = g.bytes(p, 200_000);
      assert.ok(b.subarray(0, 64).some((x) => x !== 0));
      assert.ok(
        b.subarray(199_900).some((x) => x !== 0),
        "the tail past 65536 is filled too",
      );
      assert.equal(g.call("random_get", g.mem.buffer.byteLength - 4, 8), C.EFAULT);
    });
  });

  it("returns the proc_exit code from start()", () => {
    assert.equal(
      run({}, (g) => {
        g.call("proc_exit", 42);
        assert.fail("proc_exit returned");
      }),
      42,
    );
    assert.equal(
      run({}, () => {}),
      0,
    );
  });

  it("sched_yield succeeds, proc_raise is ENOSYS", () => {
    run({}, (g) => {
      assert.equal(g.call("sched_yield"), 0);
      assert.equal(g.call("proc_raise", 6), C.ENOSYS);
    });
  });

  it("sockets: ENOTSOCK on open descriptors, EBADF on closed ones", () => {
    run({}, (g) => {
      const p = g.alloc(64);
      assert.equal(g.call("sock_accept", 1, 0, p), C.ENOTSOCK);
      assert.equal(g.call("sock_recv", 0, p, 1, 0, p, p + 4), C.ENOTSOCK);
      assert.equal(g.call("sock_send", 1, p, 1, 0, p), C.ENOTSOCK);
      assert.equal(g.call("sock_shutdown", 1, C.SDFLAGS_RD), C.ENOTSOCK);
      assert.equal(g.call("sock_accept", 77, 0, p), C.EBADF);
      assert.equal(g.call("sock_shutdown", 77, 1), C.EBADF);
    });
  });
});

describe("stdio", () => {
  it("defaults to a null device: stdin at end, stdout dropped", () => {
    run({}, (g) => {
      assert.deepEqual(g.read(0, 10), [0, ""]);
      assert.deepEqual(g.write(1, "gone"), [0, 4]);
    });
  });

  it("writes gathered iovecs to the given stream, in order", () => {
    const out = sink();
    run({ stdout: out.handle }, (g) => {
      const [a, al] = g.put("hello ");
      const [b, bl] = g.put("world\n");
      const [iov, n] = g.iovs([
        [a, al],
        [b, 0],
        [b, bl],
      ]);
      const w = g.alloc(4);
      assert.equal(g.call("fd_write", 1, iov, n, w), 0);
      assert.equal(g.u32(w), 12);
    });
    assert.equal(out.text(), "hello world\n");
  });

  it("reads stdin from the given stream", () => {
    const data = Buffer.from("line one\n");
    let off = 0;
    const stdin = streamHandle({
      read: (b) => {
        const n = Math.min(b.length, data.length - off);
        b.set(data.subarray(off, off + n));
        off += n;
        return n;
      },
    });
    run({ stdin }, (g) => {
      assert.deepEqual(g.read(0, 100), [0, "line one\n"]);
      assert.deepEqual(g.read(0, 100), [0, ""]);
    });
  });

  it("streams do not seek, and rights are per direction", () => {
    run({}, (g) => {
      const out = g.alloc(8);
      assert.equal(g.call("fd_seek", 1, 0n, C.WHENCE_CUR, out), C.ESPIPE);
      assert.equal(g.call("fd_tell", 1, out), C.ESPIPE);
      assert.equal(g.write(0, "x")[0], C.ENOTCAPABLE);
      assert.equal(g.read(1, 1)[0], C.ENOTCAPABLE);
      const [p, n] = g.put("x");
      const [iov] = g.iovs([[p, n]]);
      assert.equal(g.call("fd_pwrite", 1, iov, 1, 0n, out), C.ENOTCAPABLE);
      const st = g.alloc(24);
      assert.equal(g.call("fd_fdstat_get", 1, st), 0);
      assert.equal(g.u8(st), C.FILETYPE_CHARACTER_DEVICE);
    });
  });

  it("refuses iovecs outside linear memory with EFAULT", () => {
    run({}, (g) => {
      const [iov] = g.iovs([[g.mem.buffer.byteLength - 2, 10]]);
      assert.equal(g.call("fd_write", 1, iov, 1, g.alloc(4)), C.EFAULT);
      assert.equal(g.call("fd_write", 1, g.mem.buffer.byteLength + 8, 1, g.alloc(4)), C.EFAULT);
    });
  });
});

describe("poll_oneoff", () => {
  function sub(
    g: Guest,
    subs: Array<{
      ud: bigint;
      type: number;
      fd?: number;
      timeout?: bigint;
      abs?: boolean;
      clock?: number;
    }>,
  ) {
    const p = g.alloc(48 * subs.length);
    const dv = new DataView(g.mem.buffer);
    subs.forEach((s, i) => {
      const o = p + i * 48;
      dv.setBigUint64(o, s.ud, true);
      dv.setUint8(o + 8, s.type);
      if (s.type === C.EVENTTYPE_CLOCK) {
        dv.setUint32(o + 16, s.clock ?? C.CLOCK_MONOTONIC, true);
        dv.setBigUint64(o + 24, s.timeout ?? 0n, true);
        dv.setUint16(o + 40, s.abs ? 1 : 0, true);
      } else {
        dv.setUint32(o + 16, s.fd ?? 0, true);
      }
    });
    return p;
  }

  it("sleeps for a relative clock and reports it", () => {
    const clock = fakeClock();
    run({ clock }, (g) => {
      const inp = sub(g, [{ ud: 7n, type: C.EVENTTYPE_CLOCK, timeout: 20_000_000n }]);
      const out = g.alloc(64);
      const n = g.alloc(4);
      assert.equal(g.call("poll_oneoff", inp, out, 1, n), 0);
      assert.equal(g.u32(n), 1);
      assert.equal(g.u64(out), 7n);
      assert.equal(g.u8(out + 10), C.EVENTTYPE_CLOCK);
    });
    assert.deepEqual(clock.slept, [20_000_000n]);
  });

  it("waits until an absolute deadline on the realtime clock", () => {
    const clock = fakeClock();
    run({ clock }, (g) => {
      const deadline = clock.realtime() + 5_000n;
      const inp = sub(g, [
        { ud: 1n, type: C.EVENTTYPE_CLOCK, timeout: deadline, abs: true, clock: C.CLOCK_REALTIME },
      ]);
      assert.equal(g.call("poll_oneoff", inp, g.alloc(32), 1, g.alloc(4)), 0);
    });
    assert.deepEqual(clock.slept, [5_000n]);
  });

  it("really sleeps with the system clock", () => {
    run({}, (g) => {
      const t = g.alloc(8);
      g.call("clock_time_get", C.CLOCK_MONOTONIC, 0n, t);
      const before = g.u64(t);
      const inp = sub(g, [{ ud: 1n, type: C.EVENTTYPE_CLOCK, timeout: 15_000_000n }]);
      assert.equal(g.call("poll_oneoff", inp, g.alloc(32), 1, g.alloc(4)), 0);
      g.call("clock_time_get", C.CLOCK_MONOTONIC, 0n, t);
      assert.ok(g.u64(t) - before >= 15_000_000n, "slept at least 15 ms");
    });
  });

  it("returns ready descriptors at once, without sleeping", () => {
    const clock = fakeClock();
    run({ clock }, (g) => {
      const inp = sub(g, [
        { ud: 1n, type: C.EVENTTYPE_CLOCK, timeout: 1_000_000_000n },
        { ud: 2n, type: C.EVENTTYPE_FD_WRITE, fd: 1 },
        { ud: 3n, type: C.EVENTTYPE_FD_READ, fd: 99 },
      ]);
      const out = g.alloc(96);
      const n = g.alloc(4);
      assert.equal(g.call("poll_oneoff", inp, out, 3, n), 0);
      assert.equal(g.u32(n), 2);
      assert.equal(g.u64(out), 2n);
      assert.equal(g.u16(out + 8), 0);
      assert.equal(g.u64(out + 32), 3n);
      assert.equal(g.u16(out + 40), C.EBADF);
    });
    assert.deepEqual(clock.slept, []);
  });

  it("waits for a stream that is not ready yet, looking again every millisecond", () => {
    const clock = fakeClock();
    let checks = 0;
    const stdin = streamHandle({ read: () => 0, readReady: () => ++checks > 3 });
    run({ clock, stdin }, (g) => {
      const inp = sub(g, [{ ud: 5n, type: C.EVENTTYPE_FD_READ, fd: 0 }]);
      const out = g.alloc(32);
      const n = g.alloc(4);
      assert.equal(g.call("poll_oneoff", inp, out, 1, n), 0);
      assert.equal(g.u32(n), 1);
      assert.equal(g.u64(out), 5n);
      assert.equal(g.u8(out + 10), C.EVENTTYPE_FD_READ);
    });
    assert.deepEqual(clock.slept, [1_000_000n, 1_000_000n, 1_000_000n]);
  });

  it("a timer fires while a stream stays unready", () => {
    const clock = fakeClock();
    const stdin = streamHandle({ read: () => 0, readReady: () => false });
    run({ clock, stdin }, (g) => {
      const inp = sub(g, [
        { ud: 1n, type: C.EVENTTYPE_FD_READ, fd: 0 },
        { ud: 2n, type: C.EVENTTYPE_CLOCK, timeout: 2_500_000n },
      ]);
      const out = g.alloc(64);
      const n = g.alloc(4);
      assert.equal(g.call("poll_oneoff", inp, out, 2, n), 0);
      assert.equal(g.u32(n), 1);
      assert.equal(g.u64(out), 2n);
    });
    assert.deepEqual(clock.slept, [1_000_000n, 1_000_000n, 500_000n]);
  });

  it("reports how much of a regular file is left to read", () => {
    run({ preopens: [{ path: "/d", fs: new MemoryFs() }] }, (g) => {
      const [, fd] = g.open(3, "f", C.OFLAGS_CREAT);
      g.write(fd, "0123456789");
      g.call("fd_seek", fd, 4n, C.WHENCE_SET, g.alloc(8));
      const inp = sub(g, [{ ud: 9n, type: C.EVENTTYPE_FD_READ, fd }]);
      const out = g.alloc(32);
      assert.equal(g.call("poll_oneoff", inp, out, 1, g.alloc(4)), 0);
      assert.equal(g.u64(out + 16), 6n);
      // A directory has no poll right.
      const dinp = sub(g, [{ ud: 1n, type: C.EVENTTYPE_FD_READ, fd: 3 }]);
      assert.equal(g.call("poll_oneoff", dinp, out, 1, g.alloc(4)), 0);
      assert.equal(g.u16(out + 8), C.ENOTCAPABLE);
    });
  });

  it("refuses zero subscriptions and unknown event types", () => {
    run({}, (g) => {
      assert.equal(g.call("poll_oneoff", g.alloc(48), g.alloc(32), 0, g.alloc(4)), C.EINVAL);
      const inp = sub(g, [{ ud: 1n, type: 9 }]);
      assert.equal(g.call("poll_oneoff", inp, g.alloc(32), 1, g.alloc(4)), C.EINVAL);
    });
  });
});

for (const [fsName, makeFs] of filesystems) {
  describe(`filesystem syscalls on ${fsName}`, () => {
    const rw = () => ({ preopens: [{ path: "/data", fs: makeFs() }] });

    it("exposes preopens from fd 3 with their names", () => {
      run(rw(), (g) => {
        const p = g.alloc(8);
        assert.equal(g.call("fd_prestat_get", 3, p), 0);
        assert.equal(g.u8(p), C.PREOPENTYPE_DIR);
        assert.equal(g.u32(p + 4), 5);
        const name = g.alloc(5);
        assert.equal(g.call("fd_prestat_dir_name", 3, name, 4), C.ENAMETOOLONG);
        assert.equal(g.call("fd_prestat_dir_name", 3, name, 5), 0);
        assert.equal(g.text(name, 5), "/data");
        assert.equal(g.call("fd_prestat_get", 4, p), C.EBADF);
        assert.equal(g.call("fd_prestat_get", 1, p), C.EBADF);
      });
    });

    it("creates, writes, seeks, reads, and reports sizes", () => {
      run(rw(), (g) => {
        const [e, fd] = g.open(3, "f.txt", C.OFLAGS_CREAT | C.OFLAGS_EXCL);
        assert.equal(e, 0);
        assert.deepEqual(g.write(fd, "hello world"), [0, 11]);
        const out = g.alloc(8);
        assert.equal(g.call("fd_tell", fd, out), 0);
        assert.equal(g.u64(out), 11n);
        assert.equal(g.call("fd_seek", fd, 6n, C.WHENCE_SET, out), 0);
        assert.deepEqual(g.read(fd, 100), [0, "world"]);
        assert.deepEqual(g.read(fd, 100), [0, ""], "end of file reads 0");
        assert.equal(g.call("fd_seek", fd, -5n, C.WHENCE_END, out), 0);
        assert.equal(g.u64(out), 6n);
        assert.equal(g.call("fd_seek", fd, -1n, C.WHENCE_CUR, out), 0);
        assert.equal(g.u64(out), 5n);
        assert.equal(g.call("fd_seek", fd, -100n, C.WHENCE_CUR, out), C.EINVAL);
        assert.equal(g.call("fd_seek", fd, 0n, 3, out), C.EINVAL);
        const st = g.alloc(64);
        assert.equal(g.call("fd_filestat_get", fd, st), 0);
        assert.equal(g.u8(st + 16), C.FILETYPE_REGULAR_FILE);
        assert.equal(g.u64(st + 32), 11n);
        assert.equal(g.u64(st + 24), 1n, "nlink");
        assert.equal(g.call("fd_close", fd), 0);
        assert.equal(g.call("fd_close", fd), C.EBADF);
        assert.deepEqual(g.open(3, "f.txt", C.OFLAGS_CREAT | C.OFLAGS_EXCL), [C.EEXIST, -1]);
        assert.deepEqual(g.open(3, "f.txt", C.OFLAGS_DIRECTORY), [C.ENOTDIR, -1]);
        assert.deepEqual(g.open(3, "missing"), [C.ENOENT, -1]);
        assert.deepEqual(g.open(3, "f.txt/"), [C.ENOTDIR, -1]);
        assert.deepEqual(g.open(3, "f.txt/", C.OFLAGS_CREAT), [C.ENOTDIR, -1]);
        assert.deepEqual(
          g.open(3, "newdir/", C.OFLAGS_CREAT),
          [C.EISDIR, -1],
          "O_CREAT never makes a directory",
        );
        assert.deepEqual(g.open(3, ".", C.OFLAGS_CREAT | C.OFLAGS_EXCL), [C.EEXIST, -1]);
      });
    });

    it("a bad result pointer fails before anything is opened or created", () => {
      run(rw(), (g) => {
        const [pp, pl] = g.put("never");
        const bad = g.mem.buffer.byteLength - 2;
        assert.equal(g.call("path_open", 3, 0, pp, pl, C.OFLAGS_CREAT, 0n, 0n, 0, bad), C.EFAULT);
        assert.equal(g.open(3, "never")[0], C.ENOENT, "not created");
        assert.deepEqual(g.open(3, "x", C.OFLAGS_CREAT)[1], 4, "fd 4 is still the lowest free");
      });
    });

    it("pread and pwrite leave the position alone; writes past the end zero-fill", () => {
      run(rw(), (g) => {
        const [, fd] = g.open(3, "p", C.OFLAGS_CREAT);
        const [d, dl] = g.put("XY");
        const [iov] = g.iovs([[d, dl]]);
        const out = g.alloc(8);
        assert.equal(g.call("fd_pwrite", fd, iov, 1, 4n, out), 0);
        assert.equal(g.u32(out), 2);
        assert.equal(g.call("fd_tell", fd, out), 0);
        assert.equal(g.u64(out), 0n);
        const b = g.alloc(6);
        const [riov] = g.iovs([[b, 6]]);
        assert.equal(g.call("fd_pread", fd, riov, 1, 0n, out), 0);
        assert.equal(g.u32(out), 6);
        assert.deepEqual([...g.bytes(b, 6)], [0, 0, 0, 0, 88, 89]);
      });
    });

    it("append mode writes at the end whatever the position", () => {
      run(rw(), (g) => {
        const [, fd] = g.open(3, "log", C.OFLAGS_CREAT, undefined, C.FDFLAGS_APPEND);
        g.write(fd, "one,");
        const out = g.alloc(8);
        g.call("fd_seek", fd, 0n, C.WHENCE_SET, out);
        g.write(fd, "two");
        assert.equal(g.call("fd_tell", fd, out), 0);
        assert.equal(g.u64(out), 7n);
        const st = g.alloc(24);
        g.call("fd_fdstat_get", fd, st);
        assert.equal(g.u16(st + 2), C.FDFLAGS_APPEND);
        // Turning append off: writes go to the position again.
        assert.equal(g.call("fd_fdstat_set_flags", fd, 0), 0);
        g.call("fd_seek", fd, 0n, C.WHENCE_SET, out);
        g.write(fd, "ONE");
        g.call("fd_seek", fd, 0n, C.WHENCE_SET, out);
        assert.deepEqual(g.read(fd, 20), [0, "ONE,two"]);
        assert.equal(g.call("fd_fdstat_set_flags", fd, C.FDFLAGS_SYNC), C.ENOTSUP);
        assert.equal(g.call("fd_fdstat_set_flags", fd, 0x100), C.EINVAL);
      });
    });

    it("truncates, allocates, sets times and syncs", () => {
      run(rw(), (g) => {
        const [, fd] = g.open(3, "t", C.OFLAGS_CREAT);
        g.write(fd, "0123456789");
        const st = g.alloc(64);
        assert.equal(g.call("fd_filestat_set_size", fd, 4n), 0);
        g.call("fd_filestat_get", fd, st);
        assert.equal(g.u64(st + 32), 4n);
        assert.equal(g.call("fd_allocate", fd, 10n, 6n), 0);
        g.call("fd_filestat_get", fd, st);
        assert.equal(g.u64(st + 32), 16n);
        assert.equal(g.call("fd_allocate", fd, 0n, 2n), 0, "allocating inside never shrinks");
        g.call("fd_filestat_get", fd, st);
        assert.equal(g.u64(st + 32), 16n);
        assert.equal(g.call("fd_allocate", fd, 0n, 0n), C.EINVAL);
        // Microsecond multiples: HostFs sets times through Node's utimes (double seconds).
        const t = 1_234_567_891_000_001_000n;
        assert.equal(
          g.call("fd_filestat_set_times", fd, t, t + 1_000n, C.FSTFLAGS_ATIM | C.FSTFLAGS_MTIM),
          0,
        );
        g.call("fd_filestat_get", fd, st);
        const near = (a: bigint, b: bigint) =>
          assert.ok(a - b < 1000n && b - a < 1000n, `${a} ≈ ${b}`);
        near(g.u64(st + 40), t);
        near(g.u64(st + 48), t + 1_000n);
        assert.equal(
          g.call("fd_filestat_set_times", fd, 0n, 0n, C.FSTFLAGS_ATIM | C.FSTFLAGS_ATIM_NOW),
          C.EINVAL,
        );
        assert.equal(
          g.call("fd_filestat_set_times", fd, 0n, 0n, C.FSTFLAGS_MTIM | C.FSTFLAGS_MTIM_NOW),
          C.EINVAL,
        );
        assert.equal(g.call("fd_advise", fd, 0n, 10n, 3), 0);
        assert.equal(g.call("fd_advise", fd, 0n, 10n, 6), C.EINVAL);
        assert.equal(g.call("fd_sync", fd), 0);
        assert.equal(g.call("fd_datasync", fd), 0);
        assert.equal(
          g.call("fd_filestat_set_size", 3, 0n),
          C.ENOTCAPABLE,
          "a directory has no size right",
        );
      });
    });

    it("rights only shrink, and are enforced", () => {
      run(rw(), (g) => {
        const [, fd] = g.open(3, "r", C.OFLAGS_CREAT);
        assert.equal(
          g.call("fd_fdstat_set_rights", fd, C.RIGHTS_FD_READ | C.RIGHTS_FD_SEEK, 0n),
          0,
        );
        assert.equal(g.write(fd, "x")[0], C.ENOTCAPABLE);
        assert.equal(
          g.call("fd_fdstat_set_rights", fd, C.RIGHTS_FD_READ | C.RIGHTS_FD_WRITE, 0n),
          C.ENOTCAPABLE,
        );
        const st = g.alloc(24);
        g.call("fd_fdstat_get", fd, st);
        assert.equal(g.u64(st + 8), C.RIGHTS_FD_READ | C.RIGHTS_FD_SEEK);
        // Opened read-only: no write right, so no write.
        const [, ro] = g.open(3, "r", 0, C.RIGHTS_FD_READ);
        assert.equal(g.write(ro, "x")[0], C.ENOTCAPABLE);
        assert.equal(g.call("fd_filestat_set_size", ro, 0n), C.ENOTCAPABLE);
        // A file is not a directory.
        assert.deepEqual(g.open(ro, "x"), [C.ENOTDIR, -1]);
      });
    });

    it("what path_open opened is exact whichever call comes first: a directory without O_DIRECTORY, a file", () => {
      // HostFs looks up what it opened only when a call needs to know
      // (Handle.settle); MemoryFs always knows. Every call below comes
      // first after the open, and every filesystem must answer the same.
      const RO =
        C.RIGHTS_ALL &
        ~(
          C.RIGHTS_FD_WRITE |
          C.RIGHTS_FD_DATASYNC |
          C.RIGHTS_FD_ALLOCATE |
          C.RIGHTS_FD_FILESTAT_SET_SIZE
        );
      const kinds = {
        dir: {
          name: "d",
          filetype: C.FILETYPE_DIRECTORY,
          base: RO & C.RIGHTS_DIR_BASE,
          inheriting: RO & C.RIGHTS_DIR_INHERITING,
        },
        file: {
          name: "f.txt",
          filetype: C.FILETYPE_REGULAR_FILE,
          base: RO & C.RIGHTS_FILE_BASE,
          inheriting: 0n,
        },
      };
      type Probe = (g: Guest, fd: number) => unknown;
      const probes: [string, Probe, { dir: unknown; file: unknown }][] = [
        ["fd_fdstat_get", (g, fd) => g.call("fd_fdstat_get", fd, g.alloc(24)), { dir: 0, file: 0 }],
        [
          "fd_filestat_get",
          (g, fd) => {
            const st = g.alloc(64);
            return [g.call("fd_filestat_get", fd, st), g.u8(st + 16)];
          },
          { dir: [0, C.FILETYPE_DIRECTORY], file: [0, C.FILETYPE_REGULAR_FILE] },
        ],
        [
          "fd_readdir",
          (g, fd) => readdirNames(g, fd),
          { dir: [0, ".", "..", "inner.txt"], file: [C.ENOTCAPABLE] },
        ],
        [
          "path_open beneath it",
          (g, fd) => {
            const [e, inner] = g.open(fd, "inner.txt", 0, RO);
            return e === 0 ? g.read(inner, 10) : e;
          },
          { dir: [0, "hi"], file: C.ENOTDIR },
        ],
        ["fd_read", (g, fd) => g.read(fd, 10), { dir: [C.ENOTCAPABLE, ""], file: [0, "hello"] }],
        [
          "fd_read into no buffer",
          (g, fd) => g.call("fd_read", fd, g.alloc(8), 0, g.alloc(4)),
          { dir: C.ENOTCAPABLE, file: 0 },
        ],
        [
          "fd_seek",
          (g, fd) => [g.call("fd_seek", fd, 2n, C.WHENCE_SET, g.alloc(8)), g.read(fd, 10)[1]],
          { dir: [C.ENOTCAPABLE, ""], file: [0, "llo"] },
        ],
        ["fd_tell", (g, fd) => g.call("fd_tell", fd, g.alloc(8)), { dir: C.ENOTCAPABLE, file: 0 }],
        [
          "fd_pread",
          (g, fd) => {
            const buf = g.alloc(8);
            const [iov, n] = g.iovs([[buf, 8]]);
            return [g.call("fd_pread", fd, iov, n, 1n, g.alloc(4)), g.text(buf, 4)];
          },
          { dir: [C.ENOTCAPABLE, "\0\0\0\0"], file: [0, "ello"] },
        ],
        [
          "fd_fdstat_set_flags",
          (g, fd) => g.call("fd_fdstat_set_flags", fd, C.FDFLAGS_APPEND),
          { dir: C.EISDIR, file: 0 },
        ],
        [
          "fd_advise",
          (g, fd) => g.call("fd_advise", fd, 0n, 1n, 0),
          { dir: C.ENOTCAPABLE, file: 0 },
        ],
        [
          "poll_oneoff",
          (g, fd) => {
            const sub = g.alloc(48);
            new DataView(g.mem.buffer).setUint8(sub + 8, C.EVENTTYPE_FD_READ);
            new DataView(g.mem.buffer).setUint32(sub + 16, fd, true);
            const ev = g.alloc(32);
            return [g.call("poll_oneoff", sub, ev, 1, g.alloc(4)), g.u16(ev + 8), g.u64(ev + 16)];
          },
          { dir: [0, C.ENOTCAPABLE, 0n], file: [0, 0, 5n] },
        ],
        [
          "fd_close",
          (g, fd) => [g.call("fd_close", fd), g.call("fd_close", fd)],
          { dir: [0, C.EBADF], file: [0, C.EBADF] },
        ],
      ];
      run(rw(), (g) => {
        const [dp, dl] = g.put("d");
        assert.equal(g.call("path_create_directory", 3, dp, dl), 0);
        const [, inner] = g.open(3, "d/inner.txt", C.OFLAGS_CREAT);
        g.write(inner, "hi");
        g.call("fd_close", inner);
        const [, f] = g.open(3, "f.txt", C.OFLAGS_CREAT);
        g.write(f, "hello");
        g.call("fd_close", f);
        for (const [what, probe, want] of probes) {
          for (const [kind, k] of Object.entries(kinds) as [
            keyof typeof kinds,
            (typeof kinds)["dir"],
          ][]) {
            const [e, fd] = g.open(3, k.name, 0, RO);
            assert.equal(e, 0);
            assert.deepEqual(probe(g, fd), want[kind], `${kind}: ${what} first`);
            if (what === "fd_close") continue;
            const st = g.alloc(24);
            assert.equal(g.call("fd_fdstat_get", fd, st), 0);
            assert.deepEqual(
              [g.u8(st), g.u64(st + 8), g.u64(st + 16)],
              [k.filetype, k.base, k.inheriting],
              `${kind}: filetype and rights after ${what}`,
            );
            if (kind === "dir") {
              // Still a directory to list and to open names beneath.
              assert.deepEqual(readdirNames(g, fd), [0, ".", "..", "inner.txt"], `after ${what}`);
              const [ie, ifd] = g.open(fd, "inner.txt", 0, RO);
              assert.deepEqual([ie, g.read(ifd, 10)], [0, [0, "hi"]], `after ${what}`);
              g.call("fd_close", ifd);
            }
            assert.equal(g.call("fd_close", fd), 0);
          }
        }
      });
    });

    it("renumbers descriptors and reports EBADF for closed ones", () => {
      run(rw(), (g) => {
        const [, a] = g.open(3, "a", C.OFLAGS_CREAT);
        const [, b] = g.open(3, "b", C.OFLAGS_CREAT);
        g.write(a, "from a");
        assert.equal(g.call("fd_renumber", a, b), 0);
        assert.equal(g.write(a, "x")[0], C.EBADF);
        const out = g.alloc(8);
        g.call("fd_seek", b, 0n, C.WHENCE_SET, out);
        assert.deepEqual(g.read(b, 20), [0, "from a"]);
        assert.equal(g.call("fd_renumber", b, 50), C.EBADF);
        assert.equal(g.call("fd_renumber", 50, b), C.EBADF);
        for (const name of ["fd_sync", "fd_datasync", "fd_close"])
          assert.equal(g.call(name, 50), C.EBADF, name);
        for (const name of ["fd_fdstat_get", "fd_filestat_get", "fd_tell", "fd_prestat_get"]) {
          assert.equal(g.call(name, 50, out), C.EBADF, name);
        }
      });
    });

    it("directories: create, list with cookies, remove", () => {
      run(rw(), (g) => {
        const mk = (p: string) => {
          const [pp, pl] = g.put(p);
          return g.call("path_create_directory", 3, pp, pl);
        };
        const rm = (p: string) => {
          const [pp, pl] = g.put(p);
          return g.call("path_remove_directory", 3, pp, pl);
        };
        assert.equal(mk("d"), 0);
        assert.equal(mk("d"), C.EEXIST);
        assert.equal(mk("d/sub/"), 0, "a trailing slash is fine on mkdir");
        const names = ["a", "bb", "ccc", "dddd", "eeeee"];
        for (const n of names) g.open(3, `d/${n}`, C.OFLAGS_CREAT);
        const [, dfd] = g.open(3, "d", C.OFLAGS_DIRECTORY);
        // Read with a buffer that fits about one entry at a time, resuming from cookies.
        const seen: string[] = [];
        let cookie = 0n;
        const buf = g.alloc(40);
        const used = g.alloc(4);
        for (let guard = 0; guard < 50; guard++) {
          assert.equal(g.call("fd_readdir", dfd, buf, 40, cookie, used), 0);
          const n = g.u32(used);
          if (n < 24) break;
          const namlen = g.u32(buf + 16);
          if (24 + namlen > n) {
            // Truncated: the guest must retry with more room; take only the cookie of the previous one.
            const big = g.alloc(300);
            assert.equal(g.call("fd_readdir", dfd, big, 300, cookie, used), 0);
            const nl = g.u32(big + 16);
            seen.push(g.text(big + 24, nl));
            cookie = g.u64(big);
            continue;
          }
          seen.push(g.text(buf + 24, namlen));
          cookie = g.u64(buf);
          if (n < 40) {
            // whatever else fit after the first entry is ignored; we resume from its cookie
          }
        }
        assert.deepEqual(seen.slice(0, 2), [".", ".."]);
        assert.deepEqual(seen.slice(2).sort(), [...names, "sub"].sort());
        assert.equal(rm("d"), C.ENOTEMPTY);
        const [ap, al] = g.put("d/a");
        assert.equal(rm("d/a"), C.ENOTDIR);
        assert.equal(g.call("path_unlink_file", 3, ap, al), 0);
        assert.equal(g.call("path_unlink_file", 3, ap, al), C.ENOENT);
        const [sp, sl] = g.put("d/sub");
        assert.equal(g.call("path_unlink_file", 3, sp, sl), C.EISDIR);
        assert.equal(rm("d/sub/"), 0);
        assert.equal(rm("."), C.EINVAL);
        assert.equal(g.call("fd_readdir", 1, buf, 40, 0n, used), C.ENOTCAPABLE);
      });
    });

    it("renames and links with POSIX semantics", () => {
      run(rw(), (g) => {
        const rename = (a: string, b: string) => {
          const [ap, al] = g.put(a);
          const [bp, bl] = g.put(b);
          return g.call("path_rename", 3, ap, al, 3, bp, bl);
        };
        const link = (a: string, b: string) => {
          const [ap, al] = g.put(a);
          const [bp, bl] = g.put(b);
          return g.call("path_link", 3, 0, ap, al, 3, bp, bl);
        };
        const [, f] = g.open(3, "f", C.OFLAGS_CREAT);
        g.write(f, "data");
        g.open(3, "g", C.OFLAGS_CREAT);
        const mk = (p: string) => {
          const [pp, pl] = g.put(p);
          return g.call("path_create_directory", 3, pp, pl);
        };
        mk("empty");
        mk("full");
        g.open(3, "full/x", C.OFLAGS_CREAT);
        assert.equal(rename("f", "g"), 0, "a file replaces a file");
        assert.deepEqual(g.open(3, "f"), [C.ENOENT, -1]);
        assert.equal(rename("g", "empty"), C.EISDIR);
        assert.equal(rename("empty", "g"), C.ENOTDIR);
        assert.equal(rename("g/", "h"), C.ENOTDIR);
        assert.equal(rename("g", "h/"), C.ENOTDIR);
        assert.equal(rename("full", "empty"), 0, "a directory replaces an empty one");
        mk("full2");
        g.open(3, "full2/y", C.OFLAGS_CREAT);
        assert.equal(rename("full2", "empty"), C.ENOTEMPTY);
        assert.equal(rename("empty", "empty/inside"), C.EINVAL);
        assert.equal(link("g", "g2"), 0);
        const st = g.alloc(64);
        const [gp, gl] = g.put("g2");
        assert.equal(g.call("path_filestat_get", 3, 0, gp, gl, st), 0);
        assert.equal(g.u64(st + 24), 2n, "two links");
        assert.equal(link("g", "g2"), C.EEXIST);
        assert.equal(link("empty", "e2"), C.EPERM);
        assert.equal(link("missing", "m2"), C.ENOENT);
      });
    });

    it("symlinks: create, read, follow or not, loops", () => {
      run(rw(), (g) => {
        const symlink = (target: string, at: string) => {
          const [tp, tl] = g.put(target);
          const [ap, al] = g.put(at);
          return g.call("path_symlink", tp, tl, 3, ap, al);
        };
        const [, f] = g.open(3, "target", C.OFLAGS_CREAT);
        g.write(f, "through the link");
        assert.equal(symlink("target", "l"), 0);
        assert.equal(symlink("target", "l"), C.EEXIST);
        assert.equal(symlink("/etc/passwd", "abs"), C.EPERM);
        const [lp, ll] = g.put("l");
        const buf = g.alloc(64);
        const used = g.alloc(4);
        assert.equal(g.call("path_readlink", 3, lp, ll, buf, 64, used), 0);
        assert.equal(g.text(buf, g.u32(used)), "target");
        assert.equal(g.call("path_readlink", 3, lp, ll, buf, 3, used), 0);
        assert.equal(g.text(buf, g.u32(used)), "tar", "truncated to the buffer");
        const [tp, tl] = g.put("target");
        assert.equal(g.call("path_readlink", 3, tp, tl, buf, 64, used), C.EINVAL);
        const [, lf] = g.open(3, "l", 0, undefined, 0, C.LOOKUPFLAGS_SYMLINK_FOLLOW);
        assert.deepEqual(g.read(lf, 100), [0, "through the link"]);
        assert.equal(g.open(3, "l", 0, undefined, 0, 0)[0], C.ELOOP, "no follow: ELOOP");
        const st = g.alloc(64);
        assert.equal(g.call("path_filestat_get", 3, 0, lp, ll, st), 0);
        assert.equal(g.u8(st + 16), C.FILETYPE_SYMBOLIC_LINK);
        assert.equal(g.call("path_filestat_get", 3, C.LOOKUPFLAGS_SYMLINK_FOLLOW, lp, ll, st), 0);
        assert.equal(g.u8(st + 16), C.FILETYPE_REGULAR_FILE);
        symlink("nowhere", "dangling");
        assert.equal(g.open(3, "dangling")[0], C.ENOENT);
        symlink("loop2", "loop1");
        symlink("loop1", "loop2");
        assert.equal(g.open(3, "loop1")[0], C.ELOOP);
        // Creating through a dangling symlink with O_CREAT creates its target.
        assert.equal(g.open(3, "dangling", C.OFLAGS_CREAT)[0], 0);
        assert.equal(g.open(3, "nowhere")[0], 0);
        assert.equal(g.open(3, "l", C.OFLAGS_CREAT | C.OFLAGS_EXCL)[0], C.EEXIST);
        // Directory symlinks are followed in the middle of a path.
        const [dp, dl] = g.put("dir");
        g.call("path_create_directory", 3, dp, dl);
        g.open(3, "dir/inner", C.OFLAGS_CREAT);
        symlink("dir", "dl");
        assert.equal(g.open(3, "dl/inner")[0], 0);
        assert.equal(
          g.open(3, "dl/", C.OFLAGS_DIRECTORY, undefined, 0, 0)[0],
          0,
          "a trailing slash follows",
        );
      });
    });

    it("never leaves the preopen", () => {
      run(rw(), (g) => {
        const symlink = (target: string, at: string) => {
          const [tp, tl] = g.put(target);
          const [ap, al] = g.put(at);
          return g.call("path_symlink", tp, tl, 3, ap, al);
        };
        const [dp, dl] = g.put("sub");
        g.call("path_create_directory", 3, dp, dl);
        symlink("..", "sub/up");
        symlink("../..", "sub/upup");
        symlink("sub/upup", "chain");
        const cases: [string, number][] = [
          ["/etc/passwd", C.EPERM],
          ["..", C.EPERM],
          ["../x", C.EPERM],
          ["sub/../../x", C.EPERM],
          ["sub/up/sub/up/..", C.EPERM],
          ["sub/upup/x", C.EPERM],
          ["chain/etc", C.EPERM],
          ["sub/\0/x", C.EINVAL],
          ["", C.ENOENT],
        ];
        for (const [p, errno] of cases) {
          assert.equal(g.open(3, p)[0], errno, p);
          assert.equal(g.open(3, p, C.OFLAGS_CREAT)[0], errno, `create ${p}`);
        }
        assert.equal(g.open(3, "sub/up/sub/up", 0, C.RIGHTS_FD_READ)[0], 0, "in and out of sub");
        assert.equal(g.open(3, "sub/../sub/./up/.", 0, C.RIGHTS_FD_READ)[0], 0);
        assert.equal(g.open(3, "sub", 0)[0], C.EISDIR, "a directory cannot be opened for writing");
        const [bp, bl] = g.put(new Uint8Array([0x66, 0xff, 0x66]));
        assert.equal(g.call("path_create_directory", 3, bp, bl), C.EILSEQ, "invalid UTF-8");
      });
    });

    it("a read-only preopen withholds every mutating right", () => {
      const fs = makeFs(false);
      // Seed through a writable view first.
      run({ preopens: [{ path: "/", fs }] }, (g) => {
        const [, f] = g.open(3, "seed", C.OFLAGS_CREAT);
        g.write(f, "seed");
        const [dp, dl] = g.put("dir");
        g.call("path_create_directory", 3, dp, dl);
      });
      run({ preopens: [{ path: "/ro", fs, readonly: true }] }, (g) => {
        const st = g.alloc(24);
        g.call("fd_fdstat_get", 3, st);
        assert.equal(g.u64(st + 8) & C.RIGHTS_PATH_CREATE_FILE, 0n);
        assert.equal(g.open(3, "new", C.OFLAGS_CREAT)[0], C.ENOTCAPABLE);
        assert.equal(g.open(3, "seed", C.OFLAGS_TRUNC)[0], C.ENOTCAPABLE);
        assert.equal(g.open(3, "seed")[0], C.ENOTCAPABLE, "asking for FD_WRITE is refused");
        // Other rights beyond what the preopen passes on are dropped, not refused.
        const [e, fd] = g.open(
          3,
          "seed",
          0,
          C.RIGHTS_FD_READ | C.RIGHTS_FD_SEEK | C.RIGHTS_PATH_CREATE_FILE,
        );
        assert.equal(e, 0);
        assert.deepEqual(g.read(fd, 10), [0, "seed"]);
        assert.equal(g.write(fd, "x")[0], C.ENOTCAPABLE);
        assert.equal(g.call("fd_filestat_set_size", fd, 0n), C.ENOTCAPABLE);
        const [sp, sl] = g.put("seed");
        const [np, nl] = g.put("other");
        assert.equal(g.call("path_unlink_file", 3, sp, sl), C.ENOTCAPABLE);
        assert.equal(g.call("path_rename", 3, sp, sl, 3, np, nl), C.ENOTCAPABLE);
        assert.equal(g.call("path_link", 3, 0, sp, sl, 3, np, nl), C.ENOTCAPABLE);
        assert.equal(g.call("path_symlink", sp, sl, 3, np, nl), C.ENOTCAPABLE);
        assert.equal(g.call("path_create_directory", 3, np, nl), C.ENOTCAPABLE);
        const [dp, dl] = g.put("dir");
        assert.equal(g.call("path_remove_directory", 3, dp, dl), C.ENOTCAPABLE);
        assert.equal(
          g.call("path_filestat_set_times", 3, 0, sp, sl, 0n, 0n, C.FSTFLAGS_MTIM_NOW),
          C.ENOTCAPABLE,
        );
        // A directory opened beneath inherits the restriction.
        const [, sub] = g.open(3, "dir", C.OFLAGS_DIRECTORY, C.RIGHTS_DIR_BASE);
        assert.equal(g.open(sub, "x", C.OFLAGS_CREAT)[0], C.ENOTCAPABLE);
      });
      // And the tree is unchanged.
      run({ preopens: [{ path: "/", fs }] }, (g) => {
        assert.deepEqual(g.read(g.open(3, "seed", 0, C.RIGHTS_FD_READ)[1], 10), [0, "seed"]);
        assert.equal(g.open(3, "new")[0], C.ENOENT);
      });
    });
  });
}

describe("held-back output", () => {
  /** A stream that holds writes until flushed, logging what happens when. */
  function holding(log: string[], name: string) {
    let pending = "";
    return streamHandle({
      write: (b) => {
        pending += Buffer.from(b).toString();
        return b.length;
      },
      flush: () => {
        if (pending) log.push(`${name}:${pending}`);
        pending = "";
      },
    });
  }

  it("is flushed before any other call, before another stream's write, and at exit", () => {
    const log: string[] = [];
    const stderr = streamHandle({
      write: (b) => {
        log.push(`stderr:${Buffer.from(b).toString()}`);
        return b.length;
      },
    });
    run({ stdout: holding(log, "stdout"), stderr }, (g) => {
      g.write(1, "a");
      g.write(1, "b");
      assert.deepEqual(log, [], "held while the guest only writes to it");
      g.write(2, "!");
      assert.deepEqual(log, ["stdout:ab", "stderr:!"], "flushed before stderr, in order");
      g.write(1, "c");
      g.call("sched_yield");
      assert.deepEqual(log.at(-1), "stdout:c", "flushed before any other call");
      g.write(1, "d");
    });
    assert.deepEqual(log.at(-1), "stdout:d", "flushed at exit");
  });

  it("is flushed when the guest exits with proc_exit or traps", () => {
    const log: string[] = [];
    assert.equal(
      run({ stdout: holding(log, "out") }, (g) => {
        g.write(1, "bye");
        g.call("proc_exit", 3);
      }),
      3,
    );
    assert.throws(() =>
      run({ stdout: holding(log, "out") }, (g) => {
        g.write(1, "trap");
        throw new WebAssembly.RuntimeError("unreachable");
      }),
    );
    assert.deepEqual(log, ["out:bye", "out:trap"]);
  });
});
