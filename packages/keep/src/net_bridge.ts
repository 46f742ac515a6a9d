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

export const STATE = 0;
export const RESULT = 1;
export const ERRNO = 2;
export const IDLE = 0;
export const WAITING = 1;
export const READY = 2;

/** The shared buffers; structured-cloneable, so they travel in `workerData`. */
export interface NetChannel {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export function netChannel(): NetChannel {
  return {
    control: new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT),
    data: new SharedArrayBuffer(Math.max(NET_CHUNK, NET_POLL_MAX)),
  };
}

/** A request from the worker. `h`: a listener's fd, or a connection's handle. `nb`: nonblocking. */
export type NetRequest =
  | { op: "accept"; h: number; nb: boolean }
  | { op: "recv"; h: number; max: number; peek: boolean; nb: boolean }
  | { op: "send"; h: number; bytes: Uint8Array; nb: boolean }
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
 * posts one request with `post` and waits for the answer.
 */
export function bridgedSockets(
  channel: NetChannel,
  fds: NetFdPlan,
  post: (r: NetRequest) => void,
): WasiSockets {
  const control = new Int32Array(channel.control);
  const data = new Uint8Array(channel.data);
  const call = (r: NetRequest): number => {
    Atomics.store(control, STATE, WAITING);
    post(r);
    while (Atomics.load(control, STATE) === WAITING) Atomics.wait(control, STATE, WAITING);
    Atomics.store(control, STATE, IDLE);
    const errno = Atomics.load(control, ERRNO);
    if (errno !== 0) throw new FsError(errno);
    return Atomics.load(control, RESULT);
  };
  /** null where the call would have blocked (EAGAIN with `nb`). */
  const maybe = (r: NetRequest): number | null => {
    try {
      return call(r);
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
        const n = maybe({ op: "recv", h, max, peek: o.peek, nb: o.nonblocking });
        if (n === null) return null;
        buf.set(data.subarray(0, n));
        return n;
      },
      send: (buf, o) => {
        if (buf.length === 0) return 0;
        // A copy: the guest's memory must not travel (nor be detached).
        const bytes = buf.slice(0, NET_CHUNK);
        return maybe({ op: "send", h, bytes, nb: o.nonblocking });
      },
      shutdown: (rd, wr) => {
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
      return interests.map((_, i) => data[i] === 1);
    },
  };
}
