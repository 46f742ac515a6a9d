/**
 * Socket syscalls, driven from JavaScript through the import object as a
 * guest calls them (`_testguest.ts`), over the in-memory ports of
 * `_memsockets.ts`. The compiled C echo server (test/wasm/sock_echo.c) runs
 * at the end, through wasi-libc's accept/recv/send/poll.
 */
import assert from "node:assert/strict";
import * as nodefs from "node:fs";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as C from "./_constants.ts";
import {
  FakeWouldBlock,
  MemConnection,
  MemListener,
  type MemSocket,
  memSockets,
} from "./_memsockets.ts";
import { streamHandle } from "./_streams.ts";
import { type Guest, runGuest } from "./_testguest.ts";
import { FsError } from "./error.ts";
import { MemoryFs } from "./memfs.ts";
import type { ConnectionSocket } from "./sockets.ts";
import { type Clock, Wasi, type WasiOptions } from "./wasi.ts";

const hostErrors: unknown[] = [];
const onHostError = (e: unknown, syscall: string) => hostErrors.push([syscall, e]);
after(() => assert.deepEqual(hostErrors, [], "no syscall may fail with a host exception"));

/** A clock whose sleep advances time instead of waiting. */
function fakeClock(): Clock & { slept: bigint[] } {
  let t = 1_000_000_000n;
  const slept: bigint[] = [];
  return {
    slept,
    realtime: () => 1_700_000_000_000_000_000n + t,
    monotonic: () => t,
    resolution: { realtime: 1000n, monotonic: 1n, processCpu: 1000n, threadCpu: 1000n },
    sleep: (ns) => {
      slept.push(ns);
      t += ns;
    },
  };
}

/** Run `body` with `fds` at 3, 4, … (then the preopens of `opts`), on a fake clock. */
function run(
  fds: MemSocket[],
  body: (g: Guest, polls: ReturnType<typeof memSockets>["polls"]) => void,
  opts: WasiOptions = {},
): Clock & { slept: bigint[] } {
  const clock = fakeClock();
  const sockets = memSockets(fds, { sleep: clock.sleep });
  runGuest({ onHostError, clock, sockets, ...opts }, (g) => body(g, sockets.polls));
  return clock;
}

const iov = (g: Guest, sizes: number[]): { iovs: number; n: number; bufs: [number, number][] } => {
  const bufs = sizes.map((s): [number, number] => [g.alloc(s), s]);
  const [iovs, n] = g.iovs(bufs);
  return { iovs, n, bufs };
};

/** sock_recv into iovecs of `sizes`: [errno, count, text per iovec, roflags]. */
function recv(
  g: Guest,
  fd: number,
  sizes: number[],
  flags = 0,
): [number, number, string[], number] {
  const { iovs, n, bufs } = iov(g, sizes);
  const out = g.alloc(4);
  const ro = g.alloc(4);
  new DataView(g.mem.buffer).setUint16(ro, 0xffff, true);
  const e = g.call("sock_recv", fd, iovs, n, flags, out, ro);
  const count = e === 0 ? g.u32(out) : 0;
  let left = count;
  const texts = bufs.map(([p, len]) => {
    const k = Math.min(left, len);
    left -= k;
    return g.text(p, k);
  });
  return [e, count, texts, e === 0 ? g.u16(ro) : -1];
}

/** sock_send of `parts` gathered: [errno, count]. */
function send(g: Guest, fd: number, parts: string[], flags = 0): [number, number] {
  const [iovs, n] = g.iovs(parts.map((p) => g.put(p)));
  const out = g.alloc(4);
  const e = g.call("sock_send", fd, iovs, n, flags, out);
  return [e, e === 0 ? g.u32(out) : 0];
}

function fdstat(
  g: Guest,
  fd: number,
): { errno: number; type: number; flags: number; base: bigint; inh: bigint } {
  const p = g.alloc(24);
  const errno = g.call("fd_fdstat_get", fd, p);
  return { errno, type: g.u8(p), flags: g.u16(p + 2), base: g.u64(p + 8), inh: g.u64(p + 16) };
}

function accept(g: Guest, fd: number, flags = 0): [number, number] {
  const out = g.alloc(4);
  const e = g.call("sock_accept", fd, flags, out);
  return [e, e === 0 ? g.u32(out) : -1];
}

const OUT_OF_BOUNDS = 4 * 65536 - 2; // the test guest's memory is 4 pages

describe("socket fds", () => {
  it("are placed at 3, 4, … before the preopens, as stream sockets with socket rights", () => {
    const conn = new MemConnection();
    const listener = new MemListener();
    run(
      [listener, conn],
      (g) => {
        const l = fdstat(g, 3);
        assert.deepEqual(l, {
          errno: 0,
          type: C.FILETYPE_SOCKET_STREAM,
          flags: 0,
          base: C.RIGHTS_SOCKET_LISTENER,
          inh: 0n,
        });
        const c = fdstat(g, 4);
        assert.deepEqual(c, {
          errno: 0,
          type: C.FILETYPE_SOCKET_STREAM,
          flags: 0,
          base: C.RIGHTS_SOCKET_CONNECTION,
          inh: 0n,
        });
        assert.equal(fdstat(g, 5).type, C.FILETYPE_DIRECTORY);
        // The preopen is found behind the sockets: it is fd 5, named /data.
        const ps = g.alloc(8);
        assert.equal(g.call("fd_prestat_get", 5, ps), 0);
        assert.equal(g.u8(ps), C.PREOPENTYPE_DIR);
        assert.equal(g.u32(ps + 4), 5);
        const name = g.alloc(8);
        assert.equal(g.call("fd_prestat_dir_name", 5, name, 5), 0);
        assert.equal(g.text(name, 5), "/data");
        assert.equal(fdstat(g, 6).errno, C.EBADF);
      },
      { preopens: [{ path: "/data", fs: new MemoryFs() }] },
    );
    // Every socket still open at exit is closed.
    assert.ok(conn.closed && listener.closed);
  });

  it("answer fd_prestat_get with success and a tag that is not `dir`, so wasi-libc scans on", () => {
    run([new MemListener(), new MemConnection()], (g) => {
      for (const fd of [3, 4]) {
        const ps = g.alloc(8);
        new DataView(g.mem.buffer).setUint32(ps + 4, 99, true);
        assert.equal(g.call("fd_prestat_get", fd, ps), 0);
        assert.equal(g.u8(ps), 1, "tag 1: not a directory");
        assert.equal(g.u32(ps + 4), 0, "no name");
        assert.equal(g.call("fd_prestat_dir_name", fd, g.alloc(8), 8), C.EBADF);
      }
      assert.equal(g.call("fd_prestat_get", 5, g.alloc(8)), C.EBADF, "the scan ends after them");
    });
  });

  it("stat as zeros with the socket filetype, and have no positions", () => {
    run([new MemListener(), new MemConnection()], (g) => {
      for (const fd of [3, 4]) {
        const st = g.alloc(64);
        new Uint8Array(g.mem.buffer, st, 64).fill(0xaa);
        assert.equal(g.call("fd_filestat_get", fd, st), 0);
        assert.equal(g.u8(st + 16), C.FILETYPE_SOCKET_STREAM);
        const rest = [...g.bytes(st, 64)].filter((_, i) => i !== 16);
        assert.ok(
          rest.every((b) => b === 0),
          "all other fields zero",
        );
        const [iovs, n] = g.iovs([[g.alloc(4), 4]]);
        assert.equal(g.call("fd_seek", fd, 0n, C.WHENCE_CUR, g.alloc(8)), C.ESPIPE);
        assert.equal(g.call("fd_tell", fd, g.alloc(8)), C.ESPIPE);
        assert.equal(g.call("fd_pread", fd, iovs, n, 0n, g.alloc(4)), C.ESPIPE);
        assert.equal(g.call("fd_pwrite", fd, iovs, n, 0n, g.alloc(4)), C.ESPIPE);
        // Calls that need rights a socket never has.
        assert.equal(g.call("fd_sync", fd), C.ENOTCAPABLE);
        assert.equal(g.call("fd_filestat_set_size", fd, 0n), C.ENOTCAPABLE);
        assert.equal(g.call("fd_readdir", fd, g.alloc(64), 64, 0n, g.alloc(4)), C.ENOTCAPABLE);
      }
    });
  });

  it("take NONBLOCK through fd_fdstat_set_flags and refuse every other flag with EINVAL", () => {
    run([new MemListener(), new MemConnection()], (g) => {
      for (const fd of [3, 4]) {
        assert.equal(g.call("fd_fdstat_set_flags", fd, C.FDFLAGS_NONBLOCK), 0);
        assert.equal(fdstat(g, fd).flags, C.FDFLAGS_NONBLOCK);
        for (const bad of [
          C.FDFLAGS_APPEND,
          C.FDFLAGS_DSYNC,
          C.FDFLAGS_RSYNC,
          C.FDFLAGS_SYNC,
          C.FDFLAGS_NONBLOCK | C.FDFLAGS_APPEND,
          0x100,
        ]) {
          assert.equal(g.call("fd_fdstat_set_flags", fd, bad), C.EINVAL, `flags ${bad}`);
        }
        assert.equal(fdstat(g, fd).flags, C.FDFLAGS_NONBLOCK, "unchanged by a refusal");
        assert.equal(g.call("fd_fdstat_set_flags", fd, 0), 0);
        assert.equal(fdstat(g, fd).flags, 0);
      }
    });
  });

  it("close the socket on fd_close and fd_renumber, after which the number is EBADF", () => {
    const a = new MemConnection();
    const b = new MemConnection();
    const c = new MemConnection();
    run([a, b, c], (g) => {
      assert.equal(g.call("fd_close", 3), 0);
      assert.ok(a.closed);
      assert.equal(recv(g, 3, [4])[0], C.EBADF);
      assert.equal(send(g, 3, ["x"])[0], C.EBADF);
      assert.equal(g.call("sock_shutdown", 3, C.SDFLAGS_WR), C.EBADF);
      assert.equal(accept(g, 3)[0], C.EBADF);
      assert.equal(g.call("fd_renumber", 4, 5), 0);
      assert.ok(c.closed && !b.closed, "the socket renumbered over is closed");
      assert.equal(fdstat(g, 4).errno, C.EBADF);
      assert.equal(fdstat(g, 5).type, C.FILETYPE_SOCKET_STREAM);
    });
    assert.deepEqual(b.calls, ["close"], "closed at exit");
  });

  it("refuses sockets that are not connections or listeners", () => {
    const bad = { kind: "datagram" } as unknown as MemSocket;
    assert.throws(() => new Wasi({ sockets: memSockets([bad]) }), {
      code: "INVALID_OPTIONS",
      message:
        /sockets\.fds\[0\]: expected a socket of kind "connection" or "listener", got "datagram"/,
    });
  });
});

describe("sock_accept", () => {
  it("takes the next connection at the lowest free fd, blocking unless the listener is nonblocking", () => {
    const c1 = new MemConnection({ inbound: "one" });
    const c2 = new MemConnection({ inbound: "two" });
    const c3 = new MemConnection({ inbound: "three" });
    const listener = new MemListener([c1, c2], [c3]);
    run(
      [listener],
      (g) => {
        // fd 3 the listener, fd 4 the preopen: the first connection is 5.
        assert.deepEqual(accept(g, 3), [0, 5]);
        assert.deepEqual(accept(g, 3, C.FDFLAGS_NONBLOCK), [0, 6]);
        assert.equal(fdstat(g, 5).flags, 0);
        assert.equal(fdstat(g, 6).flags, C.FDFLAGS_NONBLOCK, "NONBLOCK from the flags");
        assert.deepEqual(fdstat(g, 6).base, C.RIGHTS_SOCKET_CONNECTION);
        assert.equal(g.call("fd_close", 5), 0);
        // A blocking accept waits: c3 arrives while it does.
        assert.deepEqual(accept(g, 3), [0, 5]);
        assert.deepEqual(recv(g, 5, [8]).slice(0, 3), [0, 5, ["three"]]);
        assert.deepEqual(recv(g, 6, [8]).slice(0, 3), [0, 3, ["two"]]);
        assert.equal(g.call("fd_fdstat_set_flags", 3, C.FDFLAGS_NONBLOCK), 0);
        assert.deepEqual(accept(g, 3), [C.EAGAIN, -1]);
      },
      { preopens: [{ path: "/d", fs: new MemoryFs() }] },
    );
    assert.deepEqual(listener.calls, ["accept", "accept", "accept", "accept nb", "close"]);
    assert.ok(c1.closed && c2.closed && c3.closed);
  });

  it("refuses what accept(2) refuses, before taking a connection", () => {
    const waiting = new MemConnection();
    const listener = new MemListener([waiting]);
    run([listener, new MemConnection()], (g) => {
      const cases: [string, number, number, number, number][] = [
        ["an unused number", 9, 0, g.alloc(4), C.EBADF],
        ["stdout", 1, 0, g.alloc(4), C.ENOTSOCK],
        ["a connection", 4, 0, g.alloc(4), C.EINVAL],
        ["flag APPEND", 3, C.FDFLAGS_APPEND, g.alloc(4), C.EINVAL],
        ["flags NONBLOCK|SYNC", 3, C.FDFLAGS_NONBLOCK | C.FDFLAGS_SYNC, g.alloc(4), C.EINVAL],
        ["an unknown flag", 3, 0x40, g.alloc(4), C.EINVAL],
        ["a result outside memory", 3, 0, OUT_OF_BOUNDS, C.EFAULT],
        ["a negative result address", 3, 0, -4, C.EFAULT],
      ];
      for (const [what, fd, flags, out, errno] of cases) {
        assert.equal(g.call("sock_accept", fd, flags, out), errno, what);
      }
      assert.deepEqual(listener.calls, [], "no connection was taken");
      // Without the SOCK_ACCEPT right.
      assert.equal(g.call("fd_fdstat_set_rights", 3, C.RIGHTS_FD_FILESTAT_GET, 0n), 0);
      assert.equal(accept(g, 3)[0], C.ENOTCAPABLE);
    });
  });
});

describe("sock_recv and fd_read", () => {
  it("scatters into the iovecs, going on only while data is there without blocking", () => {
    const conn = new MemConnection({ inbound: "hello world" });
    run([conn], (g) => {
      assert.deepEqual(recv(g, 3, [5, 0, 1, 100]), [0, 11, ["hello", "", " ", "world"], 0]);
    });
    // One recv per iovec; after the first byte none may block.
    assert.deepEqual(conn.calls.slice(0, 3), ["recv 5", "recv 1 nb", "recv 100 nb"]);
  });

  it("returns what has arrived rather than wait for more", () => {
    const conn = new MemConnection({ inbound: "ab", later: ["cd"] });
    run([conn], (g) => {
      assert.deepEqual(recv(g, 3, [2, 2]), [0, 2, ["ab", ""], 0]);
      // The next call blocks (the chunk arrives), then ends the stream.
      assert.deepEqual(recv(g, 3, [2, 2]), [0, 2, ["cd", ""], 0]);
      assert.deepEqual(recv(g, 3, [4]), [0, 0, [""], 0]);
    });
    assert.deepEqual(conn.calls, ["recv 2", "recv 2 nb", "recv 2", "recv 2 nb", "recv 4", "close"]);
  });

  it("stops at a short read without asking again", () => {
    const conn = new MemConnection({ inbound: "abc", later: ["more"] });
    run([conn], (g) => {
      assert.deepEqual(recv(g, 3, [5, 5]), [0, 3, ["abc", ""], 0]);
    });
    assert.deepEqual(conn.calls, ["recv 5", "close"]);
  });

  it("with WAITALL blocks until every iovec is full, or the stream ends", () => {
    const conn = new MemConnection({ inbound: "ab", later: ["cd", "efgh"] });
    run([conn], (g) => {
      assert.deepEqual(recv(g, 3, [3, 3], C.RIFLAGS_RECV_WAITALL), [0, 6, ["abc", "def"], 0]);
      assert.deepEqual(recv(g, 3, [5], C.RIFLAGS_RECV_WAITALL), [0, 2, ["gh"], 0]);
    });
    assert.deepEqual(conn.calls.slice(0, 4), ["recv 3", "recv 1", "recv 3", "recv 2"]);
  });

  it("with WAITALL on a nonblocking socket takes what is there, EAGAIN if nothing", () => {
    const conn = new MemConnection({ inbound: "ab", later: ["cd"] });
    run([conn], (g) => {
      g.call("fd_fdstat_set_flags", 3, C.FDFLAGS_NONBLOCK);
      assert.deepEqual(recv(g, 3, [4], C.RIFLAGS_RECV_WAITALL), [0, 2, ["ab"], 0]);
      assert.equal(recv(g, 3, [4], C.RIFLAGS_RECV_WAITALL)[0], C.EAGAIN);
    });
  });

  it("with PEEK copies what is there into all iovecs and leaves it to be read", () => {
    const conn = new MemConnection({ inbound: "hello", eof: false });
    run([conn], (g) => {
      assert.deepEqual(recv(g, 3, [2, 10], C.RIFLAGS_RECV_PEEK), [0, 5, ["he", "llo"], 0]);
      assert.deepEqual(recv(g, 3, [2, 2], C.RIFLAGS_RECV_PEEK | C.RIFLAGS_RECV_WAITALL), [
        0,
        4,
        ["he", "ll"],
        0,
      ]);
      assert.deepEqual(recv(g, 3, [10]), [0, 5, ["hello"], 0]);
      assert.deepEqual(recv(g, 3, [0], C.RIFLAGS_RECV_PEEK), [0, 0, [""], 0]);
      g.call("fd_fdstat_set_flags", 3, C.FDFLAGS_NONBLOCK);
      assert.equal(recv(g, 3, [4], C.RIFLAGS_RECV_PEEK)[0], C.EAGAIN);
    });
    assert.deepEqual(conn.calls.slice(0, 3), ["recv 12 peek", "recv 4 peek", "recv 10"]);
  });

  it("reads 0 at the end of the stream, and EAGAIN when nonblocking and nothing is ready", () => {
    const ended = new MemConnection({ inbound: "" });
    const idle = new MemConnection({ eof: false });
    run([ended, idle], (g) => {
      assert.deepEqual(recv(g, 3, [8]), [0, 0, [""], 0]);
      assert.equal(g.call("fd_fdstat_set_flags", 4, C.FDFLAGS_NONBLOCK), 0);
      assert.equal(recv(g, 4, [8])[0], C.EAGAIN);
      assert.deepEqual(g.read(4, 8), [C.EAGAIN, ""]);
    });
    assert.deepEqual(idle.calls, ["recv 8 nb", "recv 8 nb", "close"]);
  });

  it("reports bytes already received when the socket fails after them", () => {
    let calls = 0;
    const flaky: ConnectionSocket = {
      kind: "connection",
      recv(buf) {
        calls++;
        if (calls === 2 || calls === 3) throw new FsError(C.ECONNRESET, "reset");
        buf.set([120, 121]);
        return 2;
      },
      send: () => 0,
      shutdown: () => {},
      close: () => {},
    };
    run([flaky as MemSocket], (g) => {
      assert.deepEqual(recv(g, 3, [2, 2]), [0, 2, ["xy", ""], 0]);
      assert.equal(recv(g, 3, [2])[0], C.ECONNRESET, "the failure comes on the next call");
    });
  });

  it("fd_read on a connection is recv without flags", () => {
    const conn = new MemConnection({ inbound: "line\n" });
    run([conn], (g) => {
      const { iovs, n, bufs } = iov(g, [2, 10]);
      const out = g.alloc(4);
      assert.equal(g.call("fd_read", 3, iovs, n, out), 0);
      assert.equal(g.u32(out), 5);
      assert.equal(g.text(bufs[0]![0], 2) + g.text(bufs[1]![0], 3), "line\n");
    });
    assert.deepEqual(conn.calls.slice(0, 2), ["recv 2", "recv 10 nb"]);
  });

  it("refuses bad arguments with the errno, before taking any byte", () => {
    const conn = new MemConnection({ inbound: "keep" });
    run([conn, new MemListener()], (g) => {
      const good = iov(g, [4]);
      const outside = g.iovs([[OUT_OF_BOUNDS - 2, 8]]);
      const later = g.iovs([
        [g.alloc(4), 4],
        [OUT_OF_BOUNDS, 4],
      ]);
      const out = g.alloc(4);
      const ro = g.alloc(4);
      const cases: [string, (number | bigint)[], number][] = [
        ["an unused number", [9, good.iovs, 1, 0, out, ro], C.EBADF],
        ["stdin", [0, good.iovs, 1, 0, out, ro], C.ENOTSOCK],
        ["a listener", [4, good.iovs, 1, 0, out, ro], C.ENOTCONN],
        ["an unknown riflag", [3, good.iovs, 1, 4, out, ro], C.ENOTSUP],
        ["the roflag DATA_TRUNCATED as input", [3, good.iovs, 1, 0x100, out, ro], C.ENOTSUP],
        ["an iovec outside memory", [3, outside[0], 1, 0, out, ro], C.EFAULT],
        ["a later iovec outside memory", [3, later[0], 2, 0, out, ro], C.EFAULT],
        ["iovecs outside memory", [3, OUT_OF_BOUNDS, 1, 0, out, ro], C.EFAULT],
        ["ro_datalen outside memory", [3, good.iovs, 1, 0, OUT_OF_BOUNDS, ro], C.EFAULT],
        ["ro_flags outside memory", [3, good.iovs, 1, 0, out, OUT_OF_BOUNDS + 1], C.EFAULT],
      ];
      for (const [what, args, errno] of cases) {
        assert.equal(g.call("sock_recv", ...args), errno, what);
      }
      const [iovs, n] = g.iovs([[g.alloc(4), 4]]);
      assert.equal(g.call("fd_read", 4, iovs, n, out), C.ENOTCONN, "fd_read on a listener");
      assert.equal(g.call("fd_read", 3, OUT_OF_BOUNDS, 1, out), C.EFAULT);
      assert.deepEqual(conn.calls, [], "nothing was taken");
      // Without FD_READ.
      assert.equal(g.call("fd_fdstat_set_rights", 3, C.RIGHTS_FD_WRITE, 0n), 0);
      assert.equal(recv(g, 3, [4])[0], C.ENOTCAPABLE);
      assert.equal(g.read(3, 4)[0], C.ENOTCAPABLE);
    });
  });
});

describe("sock_send and fd_write", () => {
  it("gathers the iovecs in order", () => {
    const conn = new MemConnection();
    run([conn], (g) => {
      assert.deepEqual(send(g, 3, ["hel", "", "lo"]), [0, 5]);
      assert.deepEqual(g.write(3, " world"), [0, 6]);
    });
    assert.equal(conn.text(), "hello world");
    assert.deepEqual(conn.calls.slice(0, 3), ["send 3", "send 2", "send 6"]);
  });

  it("blocking, sends every byte even when the port takes a few at a time", () => {
    const got: number[] = [];
    const trickle: ConnectionSocket = {
      kind: "connection",
      recv: () => 0,
      send(buf, o) {
        assert.equal(o.nonblocking, false);
        got.push(buf[0]!);
        return 1;
      },
      shutdown: () => {},
      close: () => {},
    };
    run([trickle as MemSocket], (g) => {
      assert.deepEqual(send(g, 3, ["abc", "de"]), [0, 5]);
    });
    assert.equal(Buffer.from(got).toString(), "abcde");
  });

  it("nonblocking, takes what fits and then says EAGAIN", () => {
    const conn = new MemConnection({ room: 3 });
    run([conn], (g) => {
      assert.equal(g.call("fd_fdstat_set_flags", 3, C.FDFLAGS_NONBLOCK), 0);
      assert.deepEqual(send(g, 3, ["he", "llo"]), [0, 3]);
      assert.deepEqual(send(g, 3, ["lo"]), [C.EAGAIN, 0]);
      conn.grow(10);
      assert.deepEqual(send(g, 3, ["lo"]), [0, 2]);
    });
    assert.equal(conn.text(), "hello");
    // "he" whole, 1 of "llo", then the rest refused; EAGAIN; after growing, all of it.
    assert.deepEqual(conn.calls, [
      "send 2 nb",
      "send 3 nb",
      "send 2 nb",
      "send 2 nb",
      "send 2 nb",
      "close",
    ]);
  });

  it("fails with EPIPE once the write side is shut down, after reporting bytes already sent", () => {
    let sent = 0;
    const closing: ConnectionSocket = {
      kind: "connection",
      recv: () => 0,
      send(buf) {
        if (sent > 0) throw new FsError(C.EPIPE, "peer gone");
        sent += buf.length;
        return buf.length;
      },
      shutdown: () => {},
      close: () => {},
    };
    const conn = new MemConnection();
    run([closing as MemSocket, conn], (g) => {
      assert.deepEqual(send(g, 3, ["ab", "cd"]), [0, 2]);
      assert.deepEqual(send(g, 3, ["cd"]), [C.EPIPE, 0]);
      assert.equal(g.call("sock_shutdown", 4, C.SDFLAGS_WR), 0);
      assert.deepEqual(send(g, 4, ["x"]), [C.EPIPE, 0]);
      assert.deepEqual(g.write(4, "x")[0], C.EPIPE);
    });
  });

  it("refuses bad arguments with the errno, before sending any byte", () => {
    const conn = new MemConnection();
    run([conn, new MemListener()], (g) => {
      const [iovs, n] = g.iovs([g.put("data")]);
      const out = g.alloc(4);
      const outside = g.iovs([[OUT_OF_BOUNDS, 4]]);
      const cases: [string, (number | bigint)[], number][] = [
        ["an unused number", [9, iovs, n, 0, out], C.EBADF],
        ["stdout", [1, iovs, n, 0, out], C.ENOTSOCK],
        ["a listener", [4, iovs, n, 0, out], C.ENOTCONN],
        ["any siflag", [3, iovs, n, 1, out], C.ENOTSUP],
        ["an iovec outside memory", [3, outside[0], 1, 0, out], C.EFAULT],
        ["so_datalen outside memory", [3, iovs, n, 0, OUT_OF_BOUNDS], C.EFAULT],
      ];
      for (const [what, args, errno] of cases) {
        assert.equal(g.call("sock_send", ...args), errno, what);
      }
      assert.equal(g.write(4, "x")[0], C.ENOTCONN, "fd_write on a listener");
      assert.deepEqual(conn.calls, [], "nothing was sent");
      assert.equal(g.call("fd_fdstat_set_rights", 3, C.RIGHTS_FD_READ, 0n), 0);
      assert.equal(send(g, 3, ["x"])[0], C.ENOTCAPABLE);
      assert.equal(g.write(3, "x")[0], C.ENOTCAPABLE);
    });
  });

  it("pushes out held-back stdout before writing to a socket", () => {
    const order: string[] = [];
    const stdout = streamHandle({
      write: (b) => b.length,
      flush: () => order.push("flush"),
    });
    const sock: ConnectionSocket = {
      kind: "connection",
      recv: () => 0,
      send: (b) => {
        order.push("send");
        return b.length;
      },
      shutdown: () => {},
      close: () => {},
    };
    runGuest({ onHostError, stdout, sockets: memSockets([sock as MemSocket]) }, (g) => {
      g.write(1, "out");
      g.write(3, "net");
    });
    assert.deepEqual(order.slice(0, 2), ["flush", "send"]);
  });
});

describe("sock_shutdown", () => {
  it("shuts down the read side, the write side or both", () => {
    const a = new MemConnection({ inbound: "unread" });
    const b = new MemConnection();
    run([a, b], (g) => {
      assert.equal(g.call("sock_shutdown", 3, C.SDFLAGS_RD), 0);
      assert.deepEqual(recv(g, 3, [8]), [0, 0, [""], 0], "reads end after SHUT_RD");
      assert.equal(g.call("sock_shutdown", 4, C.SDFLAGS_RD | C.SDFLAGS_WR), 0);
    });
    assert.deepEqual(a.calls.slice(0, 1), ["shutdown rd"]);
    assert.deepEqual(b.calls.slice(0, 1), ["shutdown rd wr"]);
  });

  it("refuses bad arguments with the errno", () => {
    const conn = new MemConnection();
    run([conn, new MemListener()], (g) => {
      const cases: [string, number, number, number][] = [
        ["an unused number", 9, C.SDFLAGS_WR, C.EBADF],
        ["stdout", 1, C.SDFLAGS_WR, C.ENOTSOCK],
        ["no direction", 3, 0, C.EINVAL],
        ["an unknown bit", 3, 4, C.EINVAL],
        ["an unknown bit with WR", 3, C.SDFLAGS_WR | 8, C.EINVAL],
        ["a listener", 4, C.SDFLAGS_RD, C.ENOTCONN],
      ];
      for (const [what, fd, how, errno] of cases) {
        assert.equal(g.call("sock_shutdown", fd, how), errno, what);
      }
      assert.equal(g.call("fd_fdstat_set_rights", 3, C.RIGHTS_FD_READ, 0n), 0);
      assert.equal(g.call("sock_shutdown", 3, C.SDFLAGS_WR), C.ENOTCAPABLE);
    });
    assert.deepEqual(conn.calls, ["close"]);
  });
});

describe("poll_oneoff with sockets", () => {
  function sub(
    g: Guest,
    subs: Array<{ ud: bigint; type: number; fd?: number; timeout?: bigint }>,
  ): number {
    const p = g.alloc(48 * subs.length);
    const dv = new DataView(g.mem.buffer);
    subs.forEach((s, i) => {
      const o = p + i * 48;
      dv.setBigUint64(o, s.ud, true);
      dv.setUint8(o + 8, s.type);
      if (s.type === C.EVENTTYPE_CLOCK) {
        dv.setUint32(o + 16, C.CLOCK_MONOTONIC, true);
        dv.setBigUint64(o + 24, s.timeout ?? 0n, true);
      } else {
        dv.setUint32(o + 16, s.fd ?? 0, true);
      }
    });
    return p;
  }

  /** Poll and return the events as [userdata, errno, type, nbytes]. */
  function poll(
    g: Guest,
    subs: Array<{ ud: bigint; type: number; fd?: number; timeout?: bigint }>,
  ): [bigint, number, number, bigint][] {
    const inp = sub(g, subs);
    const out = g.alloc(32 * subs.length);
    const n = g.alloc(4);
    assert.equal(g.call("poll_oneoff", inp, out, subs.length, n), 0);
    const events: [bigint, number, number, bigint][] = [];
    for (let i = 0; i < g.u32(n); i++) {
      const o = out + i * 32;
      events.push([g.u64(o), g.u16(o + 8), g.u8(o + 10), g.u64(o + 16)]);
    }
    return events;
  }

  const R = C.EVENTTYPE_FD_READ;
  const W = C.EVENTTYPE_FD_WRITE;
  const T = C.EVENTTYPE_CLOCK;

  it("asks the port once, with every socket interest and the time to the earliest deadline", () => {
    const conn = new MemConnection({ eof: false, room: 0 });
    const listener = new MemListener();
    const clock = run([listener, conn], (g, polls) => {
      const events = poll(g, [
        { ud: 1n, type: R, fd: 4 },
        { ud: 2n, type: T, timeout: 9_000_000n },
        { ud: 3n, type: R, fd: 3 },
        { ud: 4n, type: W, fd: 4 },
        { ud: 5n, type: T, timeout: 5_000_000n },
      ]);
      assert.deepEqual(events, [[5n, 0, T, 0n]]);
      assert.deepEqual(polls, [
        {
          interests: ["fd4 read", "fd3 read", "fd4 write"],
          timeoutNs: 5_000_000n,
          ready: [false, false, false],
        },
      ]);
    });
    assert.deepEqual(clock.slept, [5_000_000n]);
  });

  it("reports ready sockets with nbytes 0, and a listener with a connection waiting as readable", () => {
    const conn = new MemConnection({ inbound: "data", room: 10 });
    const idle = new MemConnection({ eof: false, room: 0 });
    const listener = new MemListener([new MemConnection()]);
    run([listener, conn, idle], (g, polls) => {
      const events = poll(g, [
        { ud: 1n, type: R, fd: 3 },
        { ud: 2n, type: R, fd: 4 },
        { ud: 3n, type: W, fd: 4 },
        { ud: 4n, type: R, fd: 5 },
        { ud: 5n, type: W, fd: 5 },
        { ud: 6n, type: W, fd: 3 },
      ]);
      assert.deepEqual(events, [
        [1n, 0, R, 0n],
        [2n, 0, R, 0n],
        [3n, 0, W, 0n],
      ]);
      assert.equal(polls[0]!.timeoutNs, null, "no clock: no timeout");
      assert.deepEqual(
        polls[0]!.interests,
        ["fd3 read", "fd4 read", "fd4 write", "fd5 read", "fd5 write"],
        "a listener's write interest never reaches the port",
      );
    });
  });

  it("only looks (timeout 0) when something else is ready already", () => {
    const conn = new MemConnection({ inbound: "x" });
    const idle = new MemConnection({ eof: false });
    run([conn, idle], (g, polls) => {
      const events = poll(g, [
        { ud: 1n, type: W, fd: 1 },
        { ud: 2n, type: R, fd: 3 },
        { ud: 3n, type: R, fd: 4 },
        { ud: 4n, type: R, fd: 99 },
      ]);
      assert.deepEqual(events, [
        [1n, 0, W, 0n],
        [4n, C.EBADF, R, 0n],
        [2n, 0, R, 0n],
      ]);
      assert.deepEqual(
        polls.map((p) => p.timeoutNs),
        [0n],
      );
      // A deadline already passed: only look, too.
      const again = poll(g, [
        { ud: 5n, type: T, timeout: 0n },
        { ud: 6n, type: R, fd: 4 },
      ]);
      assert.deepEqual(again, [[5n, 0, T, 0n]]);
      assert.equal(polls[1]!.timeoutNs, 0n);
    });
  });

  it("blocks until data arrives when there is no clock", () => {
    const conn = new MemConnection({ eof: false, later: ["late"] });
    run([conn], (g, polls) => {
      assert.deepEqual(poll(g, [{ ud: 7n, type: R, fd: 3 }]), [[7n, 0, R, 0n]]);
      assert.deepEqual(polls[0], { interests: ["fd3 read"], timeoutNs: null, ready: [true] });
      assert.deepEqual(recv(g, 3, [8]).slice(0, 3), [0, 4, ["late"]]);
    });
  });

  it("with an unready stream (stdin) beside the sockets, polls a millisecond at a time", () => {
    let checks = 0;
    const stdin = streamHandle({ read: () => 0, readReady: () => ++checks > 3 });
    const idle = new MemConnection({ eof: false });
    const clock = run(
      [idle],
      (g, polls) => {
        const events = poll(g, [
          { ud: 1n, type: R, fd: 0 },
          { ud: 2n, type: R, fd: 3 },
          { ud: 3n, type: T, timeout: 10_000_000n },
        ]);
        assert.deepEqual(events, [[1n, 0, R, 0n]]);
        assert.deepEqual(
          polls.map((p) => p.timeoutNs),
          [1_000_000n, 1_000_000n, 1_000_000n],
        );
      },
      { stdin },
    );
    assert.deepEqual(clock.slept, [1_000_000n, 1_000_000n, 1_000_000n]);
  });

  it("with an unready stream, lets the clock fire first when it is nearer than a step", () => {
    const stdin = streamHandle({ read: () => 0, readReady: () => false });
    const clock = run(
      [new MemConnection({ eof: false })],
      (g, polls) => {
        const events = poll(g, [
          { ud: 1n, type: R, fd: 0 },
          { ud: 2n, type: R, fd: 3 },
          { ud: 3n, type: T, timeout: 1_500_000n },
        ]);
        assert.deepEqual(events, [[3n, 0, T, 0n]]);
        assert.deepEqual(
          polls.map((p) => p.timeoutNs),
          [1_000_000n, 500_000n],
        );
      },
      { stdin },
    );
    assert.deepEqual(clock.slept, [1_000_000n, 500_000n]);
  });

  it("reports a WASI failure of the port on each socket subscription", () => {
    const sockets = {
      fds: [new MemConnection(), new MemListener()],
      poll: () => {
        throw new FsError(C.ENETDOWN, "bridge down");
      },
    };
    runGuest({ onHostError, sockets }, (g) => {
      const events = poll(g, [
        { ud: 1n, type: R, fd: 3 },
        { ud: 2n, type: R, fd: 4 },
      ]);
      assert.deepEqual(events, [
        [1n, C.ENETDOWN, R, 0n],
        [2n, C.ENETDOWN, R, 0n],
      ]);
    });
  });

  it("turns any other failure of the port into EIO for the call, reported as a host error", () => {
    const seen: unknown[] = [];
    const sockets = memSockets([new MemConnection({ eof: false })]);
    runGuest({ onHostError: (e) => seen.push(e), sockets }, (g) => {
      const inp = sub(g, [{ ud: 1n, type: R, fd: 3 }]);
      assert.equal(g.call("poll_oneoff", inp, g.alloc(32), 1, g.alloc(4)), C.EIO);
    });
    assert.equal(seen.length, 1);
    assert.ok(seen[0] instanceof FakeWouldBlock, "the fake cannot block with nothing scripted");
  });

  it("never reports a listener writable, without asking the port", () => {
    const clock = run([new MemListener([new MemConnection()])], (g, polls) => {
      assert.deepEqual(
        poll(g, [
          { ud: 1n, type: W, fd: 3 },
          { ud: 2n, type: T, timeout: 2_000_000n },
        ]),
        [[2n, 0, T, 0n]],
      );
      assert.deepEqual(polls, []);
    });
    assert.deepEqual(clock.slept, [2_000_000n]);
  });

  it("refuses a socket without the poll right", () => {
    run([new MemConnection({ inbound: "x" })], (g, polls) => {
      assert.equal(g.call("fd_fdstat_set_rights", 3, C.RIGHTS_FD_READ, 0n), 0);
      assert.deepEqual(poll(g, [{ ud: 1n, type: R, fd: 3 }]), [[1n, C.ENOTCAPABLE, R, 0n]]);
      assert.deepEqual(polls, [], "the port is not asked");
    });
  });
});

describe("sock_echo.wasm (wasi-libc accept/recv/send/poll)", () => {
  const WASM = path.resolve(import.meta.dirname, "../../../test/wasm/sock_echo.wasm");

  it("serves several connections in turn and reads a file from the preopen behind the socket", async () => {
    const module = await WebAssembly.compile(nodefs.readFileSync(WASM));
    const data = new MemoryFs();
    const root = data.openRoot();
    const f = root.openAt("greeting.txt", {
      read: false,
      write: true,
      create: true,
      exclusive: true,
      truncate: false,
      directory: false,
      append: false,
    });
    f.write(new TextEncoder().encode("hi "), 0);
    f.close();
    root.close();
    const conns = [
      new MemConnection({ inbound: "first\n" }),
      // Arrives in two pieces: the server reads until the newline.
      new MemConnection({ inbound: "sec", later: ["ond\n"], eof: false }),
      new MemConnection({ later: ["third\n"], eof: false }),
    ];
    // Two connect at once; the third only while the server waits.
    const listener = new MemListener(conns.slice(0, 2), conns.slice(2));
    const out: Buffer[] = [];
    const clock = fakeClock();
    const wasi = new Wasi({
      args: ["sock_echo.wasm", "3"],
      env: { FD_COUNT: "4", FD_NAMES: "stdin:stdout:stderr:listen" },
      sockets: memSockets([listener], { sleep: clock.sleep }),
      preopens: [{ path: "/data", fs: data }],
      stdout: streamHandle({
        write: (b) => {
          out.push(Buffer.from(b));
          return b.length;
        },
      }),
      clock,
      onHostError,
    });
    const instance = await WebAssembly.instantiate(module, {
      wasi_snapshot_preview1: wasi.imports,
    });
    const code = wasi.start(instance);
    const stdout = Buffer.concat(out).toString();
    assert.deepEqual(
      stdout.split("\n").filter((l) => l.startsWith("FAIL")),
      [],
      stdout,
    );
    assert.match(stdout, /^done \d+ passed, 0 failed$/m);
    for (const check of [
      "listener.is_stream_socket",
      "preopen_after_socket",
      "conn0.peek_leaves_bytes",
      "conn2.nonblocking_recv_eagain",
      "conn2.request",
      "listener.nonblocking_accept_eagain",
    ]) {
      assert.match(stdout, new RegExp(`^ok ${check.replace(".", "\\.")}$`, "m"));
    }
    assert.match(stdout, /^# FD_NAMES=stdin:stdout:stderr:listen$/m);
    assert.equal(code, 0, stdout);
    assert.deepEqual(
      conns.map((c) => c.text()),
      ["hi first\n", "hi second\n", "hi third\n"],
    );
    for (const c of conns) {
      assert.ok(c.calls.includes("shutdown wr"), "each reply ends with shutdown(SHUT_WR)");
      assert.equal(c.calls.at(-1), "close");
    }
    assert.ok(listener.closed);
  });
});
