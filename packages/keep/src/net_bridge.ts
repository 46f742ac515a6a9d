/**
 * The workload's sockets, across the Keep's two threads. The worker runs the
 * workload and must block in `accept`, `recv` and `poll` the way a POSIX
 * program expects; the sockets themselves (relayed connections, TLS) live on
 * the I/O thread, which must never block. As for stdin (`stdin_bridge.ts`),
 * the worker posts a request and waits on a SharedArrayBuffer — which
 * `Worker.terminate()` interrupts, so a time limit still ends a workload
 * blocked in `accept` — and the I/O thread answers when it can.
 *
 * Control words (Int32Array): STATE (IDLE → WAITING → READY), RESULT (a count,
 * a handle, or a readiness count), ERRNO (0 or a WASI errno). Bytes received
 * and poll readiness come back in `data`.
 *
 * A send does not wait for the I/O thread while it has room: the worker
 * posts the bytes (a "write", transferred, not cloned) and returns, as a
 * kernel's send returns once the bytes are in its buffer. INFLIGHT counts the
 * bytes posted that way and not yet flushed by their stream; over
 * NET_SEND_BOUND, or on a connection the worker knows is shut or broken, a
 * send waits as before ("send"). A write that fails on the I/O thread is
 * kept there and reported by the next send or recv on that connection (as
 * POSIX reports an asynchronous send failure); FAILED counts such unreported
 * failures, and while it is not zero every send waits. Requests are handled
 * in the order posted (one port), so a close or shutdown after writes still
 * sends them first; the worker never has more than one request it waits on.
 *
 * A poll that finds connections readable also hands over their first bytes
 * (up to NET_PREFETCH in all, packed from NET_POLL_MAX in `data`, for at
 * most NET_PREFETCH_CONNS connections; PRE_COUNT says how many, and the
 * words from PRE_TABLE hold a handle and a count for each) without consuming
 * them: a recv that follows takes them from there and only posts a
 * "consume" it does not wait for.
 * They stay valid until the worker's next waited-on request (which may
 * overwrite `data`); only the worker consumes a connection's bytes, so they
 * are still the head of its buffer when the consume arrives.
 *
 * This file is the worker's side (`bridgedSockets`) and the request types;
 * the I/O thread's side is `KeepNet` in `net.ts`.
 */
import type { ConnectionSocket, GuestSocket, ListenerSocket, WasiSockets } from "@donjon/wasi";
import { EAGAIN, EINVAL } from "@donjon/wasi/constants";
import { FsError } from "@donjon/wasi/error";

/** Most bytes one recv or send moves across the bridge. */
export const NET_CHUNK = 256 * 1024;
/** Most interests one poll may carry (wasi-libc's poll() passes one per fd). */
export const NET_POLL_MAX = 4096;

/** Bytes sent without waiting that may be in the I/O thread's hands at once, per bridge. */
export const NET_SEND_BOUND = 1024 * 1024;

export const STATE = 0;
export const RESULT = 1;
export const ERRNO = 2;
export const INFLIGHT = 3;
export const FAILED = 4;
export const PRE_COUNT = 5;
export const PRE_TABLE = 6;
/** Most bytes a poll hands over with its answer, all connections together (requests, typically). */
export const NET_PREFETCH = 64 * 1024;
/** Most connections a poll hands bytes over for. */
export const NET_PREFETCH_CONNS = 64;
export const IDLE = 0;
export const WAITING = 1;
export const READY = 2;

/**
 * The shared buffers; structured-cloneable, so they travel to the worker with
 * its module (`KeepWorkerStart`), made only for a workload with sockets.
 */
export interface NetChannel {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export function netChannel(): NetChannel {
  return {
    control: new SharedArrayBuffer(
      (PRE_TABLE + 2 * NET_PREFETCH_CONNS) * Int32Array.BYTES_PER_ELEMENT,
    ),
    data: new SharedArrayBuffer(Math.max(NET_CHUNK, NET_POLL_MAX + NET_PREFETCH)),
  };
}

/** A request from the worker. `h`: a listener's fd, or a connection's handle. `nb`: nonblocking. */
export type NetRequest =
  | { op: "accept"; h: number; nb: boolean }
  | { op: "recv"; h: number; max: number; peek: boolean; nb: boolean }
  | { op: "send"; h: number; bytes: Uint8Array; nb: boolean }
  /** A send the worker does not wait for; its bytes are counted in INFLIGHT. */
  | { op: "write"; h: number; bytes: Uint8Array }
  /** The worker took `n` bytes a poll handed over (not waited for). */
  | { op: "consume"; h: number; n: number }
  | { op: "shutdown"; h: number; rd: boolean; wr: boolean }
  | { op: "close"; h: number }
  /** `w`: 1 for write interest. `ms`: timeout, null for none. */
  | { op: "poll"; hs: number[]; w: number[]; ms: number | null };

/** Connection handles start here; below are listeners, named by their fd. */
export const CONNECTION_HANDLE_BASE = 1024;

/** The sockets the workload starts with, at fds 3… in order. */
export type NetFdPlan = ({ kind: "listener"; fd: number } | { kind: "connection"; h: number })[];

/**
 * Worker side: the workload's sockets as the WASI host's ports. Each call
 * posts one request with `post` and waits for the answer, except a send with
 * room (above). `transfer`: buffers that move with the request (fresh copies).
 */
export function bridgedSockets(
  channel: NetChannel,
  fds: NetFdPlan,
  post: (r: NetRequest, transfer: ArrayBuffer[]) => void,
): WasiSockets {
  const control = new Int32Array(channel.control);
  const data = new Uint8Array(channel.data);
  /** Connections whose sends wait: shut for writing, or a call on them failed. */
  const waiting = new Set<number>();
  /** Bytes the last poll handed over, by connection: where in `data`, how many are left. */
  const pre = new Map<number, { at: number; n: number }>();
  const call = (r: NetRequest, transfer: ArrayBuffer[] = []): number => {
    pre.clear(); // the answer may overwrite them
    Atomics.store(control, STATE, WAITING);
    post(r, transfer);
    while (Atomics.load(control, STATE) === WAITING) Atomics.wait(control, STATE, WAITING);
    Atomics.store(control, STATE, IDLE);
    const errno = Atomics.load(control, ERRNO);
    if (errno !== 0) {
      if (errno !== EAGAIN && (r.op === "send" || r.op === "recv")) waiting.add(r.h);
      throw new FsError(errno);
    }
    return Atomics.load(control, RESULT);
  };
  /** null where the call would have blocked (EAGAIN with `nb`). */
  const maybe = (r: NetRequest, transfer: ArrayBuffer[] = []): number | null => {
    try {
      return call(r, transfer);
    } catch (e) {
      if (e instanceof FsError && e.errno === EAGAIN && "nb" in r && r.nb) return null;
      throw e;
    }
  };
  const handles = new WeakMap<GuestSocket, number>();
  const connection = (h: number): ConnectionSocket => {
    const s: ConnectionSocket = {
      kind: "connection",
      recv: (buf, o) => {
        const max = Math.min(buf.length, NET_CHUNK);
        if (max === 0) return 0;
        const p = pre.get(h);
        if (p !== undefined) {
          const k = Math.min(max, p.n);
          buf.set(data.subarray(p.at, p.at + k));
          if (!o.peek) {
            post({ op: "consume", h, n: k }, []);
            p.at += k;
            p.n -= k;
            if (p.n === 0) pre.delete(h);
          }
          return k;
        }
        const n = maybe({ op: "recv", h, max, peek: o.peek, nb: o.nonblocking });
        if (n === null) return null;
        buf.set(data.subarray(0, n));
        return n;
      },
      send: (buf, o) => {
        if (buf.length === 0) return 0;
        // A copy: the guest's memory must not travel (nor be detached). The copy
        // is transferred, not cloned again.
        const bytes = buf.slice(0, NET_CHUNK);
        const n = bytes.length;
        if (
          !waiting.has(h) &&
          Atomics.load(control, FAILED) === 0 &&
          Atomics.load(control, INFLIGHT) + n <= NET_SEND_BOUND
        ) {
          // Counted before it is posted: the I/O thread subtracts it once flushed.
          Atomics.add(control, INFLIGHT, n);
          post({ op: "write", h, bytes }, [bytes.buffer]);
          return n;
        }
        return maybe({ op: "send", h, bytes, nb: o.nonblocking }, [bytes.buffer]);
      },
      shutdown: (rd, wr) => {
        // After a write shutdown a send must fail at once (EPIPE), not on the next call.
        if (wr) waiting.add(h);
        call({ op: "shutdown", h, rd, wr });
      },
      close: () => {
        call({ op: "close", h });
      },
    };
    handles.set(s, h);
    return s;
  };
  const listener = (fd: number): ListenerSocket => {
    const s: ListenerSocket = {
      kind: "listener",
      accept: (o) => {
        const h = maybe({ op: "accept", h: fd, nb: o.nonblocking });
        return h === null ? null : connection(h);
      },
      // The listener belongs to the host; the workload only stops accepting.
      close: () => {
        call({ op: "close", h: fd });
      },
    };
    handles.set(s, fd);
    return s;
  };
  return {
    fds: fds.map((f) => (f.kind === "listener" ? listener(f.fd) : connection(f.h))),
    poll: (interests, timeoutNs) => {
      if (interests.length > NET_POLL_MAX)
        throw new FsError(EINVAL, `poll on more than ${NET_POLL_MAX} sockets`);
      const hs = interests.map((i) => handles.get(i.socket)!);
      const w = interests.map((i) => (i.event === "write" ? 1 : 0));
      const ms = timeoutNs === null ? null : Number(timeoutNs) / 1e6;
      call({ op: "poll", hs, w, ms });
      const ready = interests.map((_, i) => data[i] === 1);
      let at = NET_POLL_MAX;
      const count = Atomics.load(control, PRE_COUNT);
      for (let i = 0; i < count; i++) {
        const h = Atomics.load(control, PRE_TABLE + 2 * i);
        const n = Atomics.load(control, PRE_TABLE + 2 * i + 1);
        pre.set(h, { at, n });
        at += n;
      }
      return ready;
    },
  };
}
