/**
 * Test helper: drives a `Wasi` host from JavaScript as a guest would, with a
 * real WebAssembly.Memory, so that syscall tests can check exact errno values
 * and memory contents without compiling a module per case.
 */
import { Wasi, type WasiOptions } from "./wasi.ts";

export interface Guest {
  wasi: Wasi;
  mem: WebAssembly.Memory;
  /** Call a syscall by name. */
  call(name: string, ...args: (number | bigint)[]): number;
  /** Place bytes or a string in guest memory; returns [ptr, len]. */
  put(data: string | Uint8Array): [number, number];
  /** Reserve `n` zeroed bytes; returns the pointer. */
  alloc(n: number): number;
  u32(ptr: number): number;
  u64(ptr: number): bigint;
  u8(ptr: number): number;
  u16(ptr: number): number;
  bytes(ptr: number, len: number): Uint8Array;
  text(ptr: number, len: number): string;
  /** Build an iovec array for the given buffers; returns [iovsPtr, count]. */
  iovs(bufs: [number, number][]): [number, number];
  /** path_open shorthand: returns [errno, fd]. */
  open(
    dirfd: number,
    path: string,
    oflags?: number,
    rights?: bigint,
    fdflags?: number,
    lookup?: number,
  ): [number, number];
  /** Write a string to an fd via fd_write: returns [errno, written]. */
  write(fd: number, data: string | Uint8Array): [number, number];
  /** Read up to n bytes via fd_read: returns [errno, text]. */
  read(fd: number, n: number): [number, string];
}

/**
 * Run `body` as the `_start` of a fake instance under a new Wasi host and
 * return the exit code. Everything `body` does goes through `wasi.imports`.
 */
export function runGuest(options: WasiOptions, body: (g: Guest) => void): number {
  const wasi = new Wasi(options);
  const mem = new WebAssembly.Memory({ initial: 4 });
  let top = 1024;
  const imports = wasi.imports as unknown as Record<string, (...a: (number | bigint)[]) => number>;
  const enc = new TextEncoder();
  const g: Guest = {
    wasi,
    mem,
    call: (name, ...args) => {
      const f = imports[name];
      if (!f) throw new Error(`no import ${name}`);
      return f(...args);
    },
    alloc: (n) => {
      const p = top;
      top += (n + 7) & ~7;
      new Uint8Array(mem.buffer, p, n).fill(0);
      return p;
    },
    put: (data) => {
      const b = typeof data === "string" ? enc.encode(data) : data;
      const p = g.alloc(b.length);
      new Uint8Array(mem.buffer).set(b, p);
      return [p, b.length];
    },
    u32: (p) => new DataView(mem.buffer).getUint32(p, true),
    u64: (p) => new DataView(mem.buffer).getBigUint64(p, true),
    u8: (p) => new DataView(mem.buffer).getUint8(p),
    u16: (p) => new DataView(mem.buffer).getUint16(p, true),
    bytes: (p, n) => new Uint8Array(mem.buffer).slice(p, p + n),
    text: (p, n) => new TextDecoder().decode(new Uint8Array(mem.buffer, p, n)),
    iovs: (bufs) => {
      const p = g.alloc(bufs.length * 8);
      const dv = new DataView(mem.buffer);
      bufs.forEach(([ptr, len], i) => {
        dv.setUint32(p + i * 8, ptr, true);
        dv.setUint32(p + i * 8 + 4, len, true);
      });
      return [p, bufs.length];
    },
    open: (dirfd, path, oflags = 0, rights = (1n << 30n) - 1n, fdflags = 0, lookup = 1) => {
      const [pp, pl] = g.put(path);
      const out = g.alloc(4);
      const e = g.call("path_open", dirfd, lookup, pp, pl, oflags, rights, rights, fdflags, out);
      return [e, e === 0 ? g.u32(out) : -1];
    },
    write: (fd, data) => {
      const [p, n] = g.put(data);
      const [iov, cnt] = g.iovs([[p, n]]);
      const out = g.alloc(4);
      const e = g.call("fd_write", fd, iov, cnt, out);
      return [e, g.u32(out)];
    },
    read: (fd, n) => {
      const p = g.alloc(n);
      const [iov, cnt] = g.iovs([[p, n]]);
      const out = g.alloc(4);
      const e = g.call("fd_read", fd, iov, cnt, out);
      return [e, e === 0 ? g.text(p, g.u32(out)) : ""];
    },
  };
  const instance = {
    exports: {
      memory: mem,
      _start: () => body(g),
    },
  } as unknown as WebAssembly.Instance;
  return wasi.start(instance);
}
