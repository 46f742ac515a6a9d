/**
 * Sockets the embedder hands the guest. WASI preview1 cannot open sockets,
 * only use those it is given (Enarx.toml `[[files]]` `listen` / `connect`):
 * a listener the guest accepts connections on, or a connection it reads and
 * writes. The embedder implements these ports; a Keep implements them over
 * its worker ↔ I/O-thread bridge, where TLS ends.
 *
 * Every call may block the calling thread unless `nonblocking` is set, in
 * which case it returns `null` where it would have blocked (the guest gets
 * EAGAIN). Failures are thrown as `FsError` with a WASI errno.
 */

/** A connected stream socket (or one end of it). */
export interface ConnectionSocket {
  readonly kind: "connection";
  /**
   * Read up to `buf.length` bytes into `buf`. Returns the count (0 at end of
   * stream: the peer shut down its side), or null when nonblocking and no
   * byte is ready. `peek` leaves the bytes to be read again.
   */
  recv(buf: Uint8Array, o: { peek: boolean; nonblocking: boolean }): number | null;
  /**
   * Send from `buf`; returns the count taken (at least 1 unless `buf` is
   * empty), or null when nonblocking and nothing can be taken now. EPIPE once
   * the write side is shut down or the peer is gone.
   */
  send(buf: Uint8Array, o: { nonblocking: boolean }): number | null;
  /** Shut down the read side, the write side, or both. */
  shutdown(read: boolean, write: boolean): void;
  close(): void;
}

/** A listening socket. */
export interface ListenerSocket {
  readonly kind: "listener";
  /** The next connection, or null when nonblocking and none is waiting. */
  accept(o: { nonblocking: boolean }): ConnectionSocket | null;
  close(): void;
}

export type GuestSocket = ConnectionSocket | ListenerSocket;

/** One poll_oneoff interest in a socket. */
export interface SocketInterest {
  socket: GuestSocket;
  /** read: data, end of stream or a pending connection; write: room to send. */
  event: "read" | "write";
}

/** Sockets for `new Wasi({ sockets })`: fds 3… in order, before the preopens. */
export interface WasiSockets {
  /** The sockets, at fds 3, 4, … in order (Enarx semantics: `[[files]]` entry n is fd n). */
  fds: readonly GuestSocket[];
  /**
   * Block until at least one interest is ready or `timeoutNs` has passed
   * (null: no timeout; 0: just look). Returns, for each interest in order,
   * whether it is ready. One call, so that a Keep asks its I/O thread once.
   */
  poll(interests: readonly SocketInterest[], timeoutNs: bigint | null): boolean[];
}
