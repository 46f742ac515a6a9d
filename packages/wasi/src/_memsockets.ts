/**
 * Test-only in-memory implementation of the socket ports (sockets.ts), for
 * driving `Wasi` without a network: a listener with a queue of ready-made
 * connections, and connections with an inbound byte queue and a capture of
 * what the guest sends. Not exported from index.ts.
 *
 * It cannot block — there is no other thread to make progress. Where a real
 * port would wait, it takes the next scripted arrival instead (a chunk from
 * `later`, a connection from `later`): the peer "sent while the guest
 * waited". When nothing is scripted either, a wait without a timeout throws
 * `FakeWouldBlock` (the test then has a bug, or the host blocked where it
 * must not), and a poll with a timeout calls `sleep(timeout)` — a fake
 * clock's, say — and reports nothing ready.
 */
import * as C from "./_constants.ts";
import { FsError } from "./error.ts";
import type {
  ConnectionSocket,
  GuestSocket,
  ListenerSocket,
  SocketInterest,
  WasiSockets,
} from "./sockets.ts";

/** A wait the fake cannot serve: nothing ready, nothing scripted, no timeout. */
export class FakeWouldBlock extends Error {
  constructor(what: string) {
    super(`${what} would block for ever: nothing is ready and nothing more is scripted`);
    this.name = "FakeWouldBlock";
  }
}

const enc = new TextEncoder();
const bytes = (b: string | Uint8Array): Uint8Array => (typeof b === "string" ? enc.encode(b) : b);

export interface MemConnectionOptions {
  /** Bytes that have arrived already. */
  inbound?: string | Uint8Array;
  /** Chunks that arrive one at a time, each when the guest would otherwise wait. */
  later?: (string | Uint8Array)[];
  /** The peer shuts down its side once `inbound` and `later` are read (recv then gives 0). Default true. */
  eof?: boolean;
  /** Bytes `send` takes before the peer's window is full (then null or FakeWouldBlock). Default unlimited. */
  room?: number;
}

export class MemConnection implements ConnectionSocket {
  readonly kind = "connection";
  /** Every port call, for asserting what the host asked: "recv 4 nb peek", "send 3", … */
  readonly calls: string[] = [];
  private inbound: Uint8Array;
  private readonly later: Uint8Array[];
  private readonly eof: boolean;
  private room: number;
  private readonly out: Uint8Array[] = [];
  private readShut = false;
  private writeShut = false;
  closed = false;

  constructor(o: MemConnectionOptions = {}) {
    this.inbound = bytes(o.inbound ?? "");
    this.later = (o.later ?? []).map(bytes);
    this.eof = o.eof ?? true;
    this.room = o.room ?? Number.POSITIVE_INFINITY;
  }

  /** What the guest has sent, as text. */
  text(): string {
    return Buffer.concat(this.out).toString();
  }

  /** Give the guest more room to send. */
  grow(n: number): void {
    this.room += n;
  }

  /** A read would not block: bytes, end of stream, or the read side shut. */
  readable(): boolean {
    return this.inbound.length > 0 || this.readShut || (this.later.length === 0 && this.eof);
  }

  /** A send would not block: room, or the write side shut (send then fails at once). */
  writable(): boolean {
    return this.room > 0 || this.writeShut;
  }

  /** The peer sends the next scripted chunk; false when there is none. */
  arrive(): boolean {
    const next = this.later.shift();
    if (next === undefined) return false;
    const joined = new Uint8Array(this.inbound.length + next.length);
    joined.set(this.inbound);
    joined.set(next, this.inbound.length);
    this.inbound = joined;
    return true;
  }

  recv(buf: Uint8Array, o: { peek: boolean; nonblocking: boolean }): number | null {
    this.calls.push(`recv ${buf.length}${o.nonblocking ? " nb" : ""}${o.peek ? " peek" : ""}`);
    if (this.closed) throw new FsError(C.EBADF, "closed");
    if (this.readShut) return 0;
    if (this.inbound.length === 0 && !this.readable()) {
      if (o.nonblocking) return null;
      if (!this.arrive()) throw new FakeWouldBlock("recv");
    }
    const n = Math.min(buf.length, this.inbound.length);
    buf.set(this.inbound.subarray(0, n));
    if (!o.peek) this.inbound = this.inbound.subarray(n);
    return n;
  }

  send(buf: Uint8Array, o: { nonblocking: boolean }): number | null {
    this.calls.push(`send ${buf.length}${o.nonblocking ? " nb" : ""}`);
    if (this.closed) throw new FsError(C.EBADF, "closed");
    if (this.writeShut) throw new FsError(C.EPIPE, "write side shut down");
    if (buf.length === 0) return 0;
    if (this.room <= 0) {
      if (o.nonblocking) return null;
      throw new FakeWouldBlock("send");
    }
    const n = Math.min(buf.length, this.room);
    this.out.push(Buffer.from(buf.subarray(0, n)));
    this.room -= n;
    return n;
  }

  shutdown(read: boolean, write: boolean): void {
    this.calls.push(`shutdown${read ? " rd" : ""}${write ? " wr" : ""}`);
    if (read) this.readShut = true;
    if (write) this.writeShut = true;
  }

  close(): void {
    this.calls.push("close");
    this.closed = true;
  }
}

export class MemListener implements ListenerSocket {
  readonly kind = "listener";
  readonly calls: string[] = [];
  closed = false;
  private readonly queue: MemConnection[];
  private readonly later: MemConnection[];

  /** `waiting` have connected already; `later` connect one at a time when the guest would wait. */
  constructor(waiting: MemConnection[] = [], later: MemConnection[] = []) {
    this.queue = [...waiting];
    this.later = [...later];
  }

  readable(): boolean {
    return this.queue.length > 0;
  }

  arrive(): boolean {
    const next = this.later.shift();
    if (next === undefined) return false;
    this.queue.push(next);
    return true;
  }

  accept(o: { nonblocking: boolean }): ConnectionSocket | null {
    this.calls.push(`accept${o.nonblocking ? " nb" : ""}`);
    if (this.closed) throw new FsError(C.EBADF, "closed");
    if (this.queue.length === 0) {
      if (o.nonblocking) return null;
      if (!this.arrive()) throw new FakeWouldBlock("accept");
    }
    return this.queue.shift()!;
  }

  close(): void {
    this.calls.push("close");
    this.closed = true;
  }
}

export type MemSocket = MemConnection | MemListener;

/** Every poll the host made: the interests by fd position and event, and the timeout. */
export interface PollRecord {
  interests: string[];
  timeoutNs: bigint | null;
  ready: boolean[];
}

/**
 * WasiSockets over `fds`. `sleep` is called with the timeout of a poll that
 * finds nothing ready and has no scripted arrival to take (default: return
 * at once). Poll records name the sockets `fd3`, `fd4`, … by position and
 * accepted ones `conn0`, `conn1`, … in the order polls first see them.
 */
export function memSockets(
  fds: MemSocket[],
  o: { sleep?: (ns: bigint) => void } = {},
): WasiSockets & { polls: PollRecord[] } {
  const polls: PollRecord[] = [];
  const names = new Map<GuestSocket, string>();
  let accepted = 0;
  const name = (s: GuestSocket): string => {
    let n = names.get(s);
    if (n === undefined) {
      n = `conn${accepted++}`;
      names.set(s, n);
    }
    return n;
  };
  fds.forEach((s, i) => {
    names.set(s, `fd${i + 3}`);
  });
  const ready = (i: SocketInterest): boolean => {
    const s = i.socket as MemSocket;
    if (s.kind === "listener") return i.event === "read" && s.readable();
    return i.event === "read" ? s.readable() : s.writable();
  };
  return {
    fds,
    polls,
    poll(interests, timeoutNs) {
      const record: PollRecord = {
        interests: interests.map((i) => `${name(i.socket)} ${i.event}`),
        timeoutNs,
        ready: [],
      };
      polls.push(record);
      let now = interests.map(ready);
      if (!now.includes(true) && timeoutNs !== 0n) {
        // Waiting: the first socket with something scripted gets it.
        const arrived = interests.some(
          (i) => i.event === "read" && (i.socket as MemSocket).arrive(),
        );
        if (arrived) now = interests.map(ready);
        else if (timeoutNs === null) throw new FakeWouldBlock("poll");
        else o.sleep?.(timeoutNs);
      }
      record.ready = now;
      return now;
    },
  };
}
