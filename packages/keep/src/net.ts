/**
 * The workload's sockets on the Keep's I/O thread: where `listen` and
 * `connect` entries of the measured config become streams, TLS ends, and the
 * worker's requests (`net_bridge.ts`) are answered.
 *
 * A listen entry's connections arrive from the host (ACCEPTED, `relay.ts`)
 * as raw relayed streams. With `prot = "tls"` the Keep runs the TLS server
 * here, with its own key and the certificate the Steward issued (or a
 * self-signed one without a Steward); the workload is handed the connection
 * only once the handshake — and, when configured, the client's certificate
 * check — has passed, so it never sees a peer the config does not admit.
 * Only TLS records cross the channel: the host never sees plaintext.
 *
 * At most one blocking worker request is pending at a time (the worker
 * waits on it); every change of a socket's state looks at it again. A
 * "write" (a send the worker does not wait for) is handled as it arrives:
 * the worker cannot post one while it waits, so it never overtakes a
 * blocking request, and requests stay in the order the worker made them.
 */
import type { Duplex } from "node:stream";
import type * as tlsTypes from "node:tls";
import { EAGAIN, EBADF, ECONNRESET, EINVAL, ENOTCONN, EPIPE } from "@donjon/wasi/constants";
import { opensslReason } from "./_tls_reason.ts";
import {
  CONNECTION_HANDLE_BASE,
  ERRNO,
  FAILED,
  INFLIGHT,
  NET_CHUNK,
  NET_POLL_MAX,
  NET_PREFETCH,
  NET_PREFETCH_CONNS,
  type NetChannel,
  type NetRequest,
  PRE_COUNT,
  PRE_TABLE,
  READY,
  RESULT,
  STATE,
} from "./net_bridge.ts";
import type { ListenEntry, NetPlan } from "./net_config.ts";

/** Bytes a connection buffers for the workload before it stops reading its peer. */
const HIGH_WATER = 256 * 1024;
/** A TLS client that has not finished its handshake by then is dropped. */
export const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Connections that passed their handshake and wait for the workload's accept, per listener. */
const ACCEPT_BACKLOG = 128;

/** What the Keep's TLS server presents: its key and chain, PEM, kept in the Keep's memory only. */
export interface KeepTlsIdentity {
  key: string;
  /** The chain, leaf first. */
  cert: string;
}

/** Checks a TLS client's certificate beyond the CA (a pinned workload); a string names why it is refused. */
export type PeerCheck = (socket: tlsTypes.TLSSocket, entry: ListenEntry) => string | null;

interface Conn {
  h: number;
  s: Duplex;
  buf: Buffer[];
  size: number;
  eof: boolean;
  error: number;
  readShut: boolean;
  writeShut: boolean;
  /** Bytes of "write" requests not yet flushed by `s` (part of the shared INFLIGHT). */
  inflight: number;
}

interface Listener {
  entry: ListenEntry;
  context?: tlsTypes.SecureContext;
  ready: Conn[];
  closed: boolean;
}

export interface KeepNetOptions {
  plan: NetPlan;
  channel: NetChannel;
  /** A note for the user (a dropped client, why): goes to the workload's stderr stream. */
  note?(message: string): void;
  /** Extra client checks (pinned workloads); default none. */
  peerCheck?: PeerCheck;
}

export class KeepNet {
  readonly #o: KeepNetOptions;
  readonly #control: Int32Array;
  readonly #data: Uint8Array;
  readonly #listeners = new Map<number, Listener>();
  readonly #conns = new Map<number, Conn>();
  /** Raw streams that arrived before the TLS identity was known. */
  #early: { fd: number; raw: Duplex }[] = [];
  /** Whether the TLS contexts are built. */
  #tls = false;
  #tlsModule: typeof tlsTypes | null = null;
  #next = CONNECTION_HANDLE_BASE;
  #pending: NetRequest | null = null;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timedOut = false;
  #ended = false;
  /** Every stream not yet closed, for the end (each leaves the set when it closes). */
  readonly #all = new Set<Duplex>();
  /** Connections closed (by the workload or at its end) whose last bytes may still be going out. */
  readonly #closing = new Set<Conn>();
  /** Failures of "write" requests not yet reported to the workload, by handle (their count is FAILED). */
  readonly #failed = new Map<number, number>();

  constructor(options: KeepNetOptions) {
    this.#o = options;
    this.#control = new Int32Array(options.channel.control);
    this.#data = new Uint8Array(options.channel.data);
    for (const e of options.plan.entries) {
      if (e.kind === "listen") this.#listeners.set(e.fd, { entry: e, ready: [], closed: false });
    }
  }

  /** Track a stream until it closes: a long-running server must not keep every connection it ever had. */
  #keep(s: Duplex): void {
    if (s.destroyed) return;
    this.#all.add(s);
    s.once("close", () => this.#all.delete(s));
  }

  /** Whether `fd` is a listen entry (the relay checks ACCEPTED with it). */
  isListener(fd: number): boolean {
    return this.#listeners.has(fd);
  }

  /** Whether any listen entry speaks TLS (then the Keep needs a certificate). */
  get needsTls(): boolean {
    for (const l of this.#listeners.values()) if (l.entry.prot === "tls") return true;
    return false;
  }

  /** The Keep's TLS identity is known: start the handshakes that waited for it. */
  async setIdentity(id: KeepTlsIdentity): Promise<void> {
    const tls = await import("node:tls");
    this.#tlsModule = tls;
    for (const l of this.#listeners.values()) {
      if (l.entry.prot !== "tls") continue;
      // One context per listener: a client CA belongs to its listener only.
      l.context = tls.createSecureContext({
        key: id.key,
        cert: id.cert,
        minVersion: "TLSv1.3",
        ...(l.entry.clientCa !== null ? { ca: l.entry.clientCa } : {}),
      });
    }
    this.#tls = true;
    const early = this.#early;
    this.#early = [];
    for (const e of early) this.accepted(e.fd, e.raw);
  }

  /** A relayed connection arrived on listener `fd` (after ACCEPTED). */
  accepted(fd: number, raw: Duplex): void {
    const l = this.#listeners.get(fd)!;
    this.#keep(raw);
    if (this.#ended || l.closed) {
      raw.destroy();
      return;
    }
    if (l.entry.prot === "tcp") {
      this.#queue(l, raw);
      return;
    }
    if (!this.#tls) {
      this.#early.push({ fd, raw });
      return;
    }
    const tls = this.#tlsModule!;
    const e = l.entry;
    // With a client CA, OpenSSL refuses a client without a certificate during the handshake;
    // whether the certificate chains to the CA is checked at "secure" (below).
    const s = new tls.TLSSocket(raw, {
      isServer: true,
      secureContext: l.context!,
      ...(e.clientCa !== null ? { requestCert: true, rejectUnauthorized: true } : {}),
    });
    this.#keep(s);
    const timer = setTimeout(() => {
      this.#o.note?.(
        `fd ${fd} "${e.name}": a client did not finish its TLS handshake within ${HANDSHAKE_TIMEOUT_MS / 1000} s; dropped`,
      );
      s.destroy();
    }, HANDSHAKE_TIMEOUT_MS);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      this.#o.note?.(
        `fd ${fd} "${e.name}": a client was refused during the TLS handshake: ${opensslReason(err)}`,
      );
      s.destroy();
    };
    s.once("error", fail);
    s.once("secure", () => {
      clearTimeout(timer);
      s.removeListener("error", fail);
      // A bare server TLSSocket (no tls.Server) does not act on the chain's
      // verification: Node's OpenSSL verify callback accepts every chain and
      // only tls.Server reads the verdict (`_handle.verifyError()`, in its
      // onServerSocketSecure) — without this, a client certificate from any
      // CA was served. Read the same verdict; fail closed if it is not there.
      if (e.clientCa !== null) {
        const handle = (s as unknown as { _handle?: { verifyError?(): Error | null } })._handle;
        const err =
          typeof handle?.verifyError === "function"
            ? handle.verifyError()
            : new Error("cannot read the client certificate's verification");
        if (err !== null) {
          fail(
            new Error(
              `client certificate not accepted: ${(err as { code?: string }).code ?? err.message}`,
            ),
          );
          return;
        }
      }
      const why = this.#o.peerCheck?.(s, e) ?? null;
      if (why !== null) {
        this.#o.note?.(`fd ${fd} "${e.name}": a client was refused: ${why}`);
        s.destroy();
        return;
      }
      this.#queue(l, s);
    });
  }

  /** A connected stream of a `connect` entry; returns its handle. */
  connection(s: Duplex): number {
    this.#keep(s);
    const c = this.#track(s);
    // Open from the start: the workload never accepts it (without this, every call on it was EBADF).
    this.#conns.set(c.h, c);
    return c.h;
  }

  #queue(l: Listener, s: Duplex): void {
    if (l.ready.length >= ACCEPT_BACKLOG) {
      this.#o.note?.(
        `fd ${l.entry.fd} "${l.entry.name}": ${ACCEPT_BACKLOG} connections wait for the workload to accept them; one more was dropped`,
      );
      s.destroy();
      return;
    }
    l.ready.push(this.#track(s));
    this.#look();
  }

  #track(s: Duplex): Conn {
    const c: Conn = {
      h: this.#next++,
      s,
      buf: [],
      size: 0,
      eof: false,
      error: 0,
      readShut: false,
      writeShut: false,
      inflight: 0,
    };
    s.on("data", (chunk: Buffer) => {
      if (c.readShut) return;
      c.buf.push(chunk);
      c.size += chunk.length;
      if (c.size >= HIGH_WATER) s.pause();
      this.#look();
    });
    s.on("end", () => {
      c.eof = true;
      this.#look();
    });
    s.on("error", () => {
      c.error = ECONNRESET;
      this.#look();
    });
    s.on("close", () => {
      c.eof = true;
      // What was not flushed never will be: it no longer takes the worker's room.
      this.#flushed(c, c.inflight);
      this.#look();
    });
    s.on("drain", () => this.#look());
    return c;
  }

  /** The worker posted a request. */
  serve(r: NetRequest): void {
    if (r.op === "write") {
      this.#write(r.h, r.bytes);
      return;
    }
    if (r.op === "consume") {
      // The head of the buffer is what the poll handed over: only the worker consumes.
      const c = this.#conns.get(r.h);
      if (c !== undefined && !c.readShut) this.#consume(c, Math.min(r.n, c.size));
      return;
    }
    if (this.#pending !== null) {
      this.#answer(0, EINVAL); // cannot happen: the worker waits for each answer
      return;
    }
    this.#pending = r;
    this.#timedOut = false;
    if (r.op === "poll" && r.ms !== null) {
      this.#timer = setTimeout(
        () => {
          this.#timedOut = true;
          this.#look();
        },
        Math.max(0, r.ms),
      );
    }
    this.#look();
  }

  /** A send the worker did not wait for: write it, or keep its failure for the next call. */
  #write(h: number, bytes: Uint8Array): void {
    const n = bytes.length;
    const c = this.#conns.get(h);
    const errno =
      this.#pending !== null
        ? EINVAL // cannot happen: the worker posts nothing while it waits
        : c === undefined
          ? EBADF
          : c.writeShut || c.s.destroyed || !c.s.writable
            ? EPIPE
            : c.error;
    if (c === undefined || errno !== 0) {
      Atomics.sub(this.#control, INFLIGHT, n);
      this.#fail(h, errno);
      return;
    }
    c.inflight += n;
    c.s.write(bytes, (err) => {
      this.#flushed(c, n);
      if (err && this.#conns.get(h) === c) this.#fail(h, ECONNRESET);
    });
  }

  /** `n` bytes of `c`'s writes left its stream (or never will). */
  #flushed(c: Conn, n: number): void {
    const k = Math.min(n, c.inflight);
    if (k === 0) return;
    c.inflight -= k;
    Atomics.sub(this.#control, INFLIGHT, k);
  }

  /** A write on `h` failed: the next send or recv on it reports `errno` (the first failure only). */
  #fail(h: number, errno: number): void {
    if (this.#failed.has(h)) return;
    this.#failed.set(h, errno);
    Atomics.store(this.#control, FAILED, this.#failed.size);
  }

  /** The failure kept for `h`, now reported (or forgotten, on close); 0 if none. */
  #takeFailure(h: number): number {
    const errno = this.#failed.get(h);
    if (errno === undefined) return 0;
    this.#failed.delete(h);
    Atomics.store(this.#control, FAILED, this.#failed.size);
    return errno;
  }

  /** Try to answer the pending request. */
  #look(): void {
    const r = this.#pending;
    if (r === null) return;
    const done = this.#try(r);
    if (done === null) return;
    this.#pending = null;
    clearTimeout(this.#timer);
    this.#answer(done[0], done[1]);
  }

  /** [result, errno], or null to wait. */
  #try(r: NetRequest): [number, number] | null {
    switch (r.op) {
      case "accept": {
        const l = this.#listeners.get(r.h);
        if (l === undefined || l.closed) return [0, EBADF];
        const c = l.ready.shift();
        if (c === undefined) return r.nb ? [0, EAGAIN] : null;
        this.#conns.set(c.h, c);
        return [c.h, 0];
      }
      case "recv": {
        const failed = this.#takeFailure(r.h);
        if (failed !== 0) return [0, failed];
        const c = this.#conns.get(r.h);
        if (c === undefined) return [0, EBADF];
        if (c.readShut) return [0, 0];
        if (c.size === 0) {
          if (c.error !== 0) return [0, c.error];
          if (c.eof) return [0, 0];
          return r.nb ? [0, EAGAIN] : null;
        }
        const n = Math.min(r.max, c.size, NET_CHUNK);
        let at = 0;
        for (const chunk of c.buf) {
          const take = Math.min(chunk.length, n - at);
          this.#data.set(chunk.subarray(0, take), at);
          at += take;
          if (at === n) break;
        }
        if (!r.peek) this.#consume(c, n);
        return [n, 0];
      }
      case "send": {
        const failed = this.#takeFailure(r.h);
        if (failed !== 0) return [0, failed];
        const c = this.#conns.get(r.h);
        if (c === undefined) return [0, EBADF];
        if (c.writeShut || c.s.destroyed || !c.s.writable) return [0, EPIPE];
        if (c.error !== 0) return [0, c.error];
        if (c.s.writableNeedDrain) return r.nb ? [0, EAGAIN] : null;
        c.s.write(r.bytes);
        return [r.bytes.length, 0];
      }
      case "shutdown": {
        const c = this.#conns.get(r.h);
        if (c === undefined) return [0, this.#listeners.has(r.h) ? ENOTCONN : EBADF];
        if (r.rd) {
          c.readShut = true;
          c.buf = [];
          c.size = 0;
          c.s.resume();
        }
        if (r.wr && !c.writeShut) {
          c.writeShut = true;
          c.s.end();
        }
        return [0, 0];
      }
      case "close": {
        const l = this.#listeners.get(r.h);
        if (l !== undefined) {
          l.closed = true;
          for (const c of l.ready) c.s.destroy();
          l.ready = [];
          return [0, 0];
        }
        // A failed write nobody asked about dies with its connection (as with close(2)).
        this.#takeFailure(r.h);
        const c = this.#conns.get(r.h);
        if (c === undefined) return [0, EBADF];
        this.#conns.delete(r.h);
        this.#closeConn(c);
        return [0, 0];
      }
      case "write":
      case "consume":
        return [0, EINVAL]; // handled in serve, never pending
      case "poll": {
        let any = 0;
        for (let i = 0; i < r.hs.length; i++) {
          const ok = this.#ready(r.hs[i]!, r.w[i] === 1);
          this.#data[i] = ok ? 1 : 0;
          if (ok) any++;
        }
        if (any > 0 || this.#timedOut || r.ms === 0) {
          this.#prefetch(r.hs, r.w);
          return [any, 0];
        }
        return null;
      }
    }
  }

  /** Hand over the first bytes of the readable connections polled, in poll order (see net_bridge.ts). */
  #prefetch(hs: number[], w: number[]): void {
    let count = 0;
    let at = NET_POLL_MAX;
    const end = NET_POLL_MAX + NET_PREFETCH;
    const seen = new Set<number>();
    for (let i = 0; i < hs.length && count < NET_PREFETCH_CONNS && at < end; i++) {
      const h = hs[i]!;
      if (w[i] === 1 || this.#data[i] !== 1 || this.#failed.has(h) || seen.has(h)) continue;
      const c = this.#conns.get(h);
      if (c === undefined || c.readShut || c.size === 0) continue;
      seen.add(h);
      const n = Math.min(c.size, end - at);
      let got = 0;
      for (const chunk of c.buf) {
        const take = Math.min(chunk.length, n - got);
        this.#data.set(chunk.subarray(0, take), at + got);
        got += take;
        if (got === n) break;
      }
      Atomics.store(this.#control, PRE_TABLE + 2 * count, h);
      Atomics.store(this.#control, PRE_TABLE + 2 * count + 1, n);
      count++;
      at += n;
    }
    Atomics.store(this.#control, PRE_COUNT, count);
  }

  #ready(h: number, write: boolean): boolean {
    if (this.#failed.has(h)) return true; // the call that follows reports it
    const l = this.#listeners.get(h);
    if (l !== undefined) return write ? false : l.ready.length > 0 || l.closed;
    const c = this.#conns.get(h);
    if (c === undefined) return true; // the call that follows reports EBADF
    if (write) return c.writeShut || c.error !== 0 || !c.s.writable || !c.s.writableNeedDrain;
    return c.readShut || c.size > 0 || c.eof || c.error !== 0;
  }

  #consume(c: Conn, n: number): void {
    c.size -= n;
    while (n > 0) {
      const head = c.buf[0]!;
      if (head.length <= n) {
        c.buf.shift();
        n -= head.length;
      } else {
        c.buf[0] = head.subarray(n);
        n = 0;
      }
    }
    if (c.size < HIGH_WATER && c.s.isPaused()) c.s.resume();
  }

  /** Close a connection the workload is done with: what it wrote still goes out (TLS close_notify included). */
  #closeConn(c: Conn): void {
    c.readShut = true;
    c.buf = [];
    if (!c.writeShut) {
      c.writeShut = true;
      c.s.end();
    }
    c.s.resume();
    // Until its last bytes are out, settle() waits for it too: a workload that
    // closes and exits at once must not lose its last answer to the Keep's end.
    this.#closing.add(c);
    const t = setTimeout(() => c.s.destroy(), 5000);
    t.unref();
    c.s.once("close", () => {
      clearTimeout(t);
      this.#closing.delete(c);
    });
  }

  #answer(result: number, errno: number): void {
    Atomics.store(this.#control, RESULT, result);
    Atomics.store(this.#control, ERRNO, errno);
    Atomics.store(this.#control, STATE, READY);
    Atomics.notify(this.#control, STATE);
  }

  /**
   * The workload has ended: end every connection it left open so what it
   * wrote goes out, then resolve (at most `ms` later).
   */
  settle(ms: number): Promise<void> {
    for (const c of this.#conns.values()) if (!c.s.destroyed) this.#closeConn(c);
    this.#conns.clear();
    // Every connection still flushing, the ones the workload closed itself included.
    const open = [...this.#closing].filter((c) => !c.s.destroyed);
    if (open.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      let left = open.length;
      const t = setTimeout(resolve, ms);
      for (const c of open) {
        let counted = false;
        const one = (): void => {
          // "finish" and then "close" both come: count each connection once.
          if (counted) return;
          counted = true;
          if (--left === 0) {
            clearTimeout(t);
            resolve();
          }
        };
        if (c.s.writableFinished || c.s.destroyed) one();
        else {
          c.s.once("finish", one);
          c.s.once("close", one);
        }
      }
    });
  }

  /** The Keep ends: every stream is destroyed. */
  end(): void {
    this.#ended = true;
    clearTimeout(this.#timer);
    for (const s of this.#all) s.destroy();
    this.#all.clear();
    this.#conns.clear();
  }
}
