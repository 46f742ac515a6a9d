/**
 * The Keep's side of host-relayed connections (sallyport CONNECT, CONNECTED,
 * SOCKET_SEND, SOCKET_RECV, SOCKET_CLOSE, SOCKET_CLOSED, SOCKET_CREDIT; the
 * package README is the specification). The Keep names a purpose, never an
 * address: the host connects only to what its own configuration names, and
 * relays bytes. Each connection is a Duplex stream here, so `node:tls` runs
 * over it inside the Keep and only TLS records cross the channel.
 *
 * Everything the host sends about a connection is checked against the
 * connection's state: CONNECTED only for an id the Keep asked for and once;
 * SOCKET_RECV and SOCKET_CLOSED only for an open id the host has not closed;
 * SOCKET_RECV never beyond the credit the Keep granted (so the host cannot make
 * the Keep buffer without bound). A violation throws `KeepError`
 * `keep.sallyport.*`, which ends the Keep.
 */
import { Duplex } from "node:stream";
import { KeepError } from "./error.ts";
import {
  DATA_CHUNK,
  decodeJsonPayload,
  decodeU32,
  encodeJsonFrame,
  encodeSocketData,
  encodeU32Frame,
  FRAME,
  type Frame,
  frameName,
  HOST_ID_BASE,
  MAX_SOCKETS,
  SOCKET_WINDOW,
} from "./sallyport.ts";

/** Longest `error` text a CONNECTED may carry. */
const CONNECT_ERROR_MAX = 512;

/**
 * Why the Keep opens a connection; the host maps each to an address of its
 * own config: the Steward, or the `connect` entry at fd `fd`.
 */
export type SocketPurpose = "steward" | { fd: number };

interface Connection {
  id: number;
  /** connecting: CONNECT sent, no CONNECTED yet; open: CONNECTED ok. */
  state: "connecting" | "open";
  keepClosed: boolean;
  hostClosed: boolean;
  /** Bytes the host has sent that the Keep has not credited back yet. */
  outstanding: number;
  /** Bytes pushed into the stream that wait for the reader to ask for more. */
  uncredited: number;
  stream: Duplex | null;
  settle: { resolve(d: Duplex): void; reject(e: Error): void } | null;
}

/** A connection's record as it starts: nothing closed, sent or credited yet, no stream. */
function newConnection(id: number, state: Connection["state"]): Connection {
  return {
    id,
    state,
    keepClosed: false,
    hostClosed: false,
    outstanding: 0,
    uncredited: 0,
    stream: null,
    settle: null,
  };
}

/** Options of {@link KeepSockets}. */
export interface KeepSocketsOptions {
  /** Queue a frame for the host; false when the channel is full. Never called after the Keep ended. */
  send(frame: Uint8Array): boolean | undefined;
  /** Resolves when a full channel has drained. */
  waitDrain(): Promise<void>;
  /**
   * A connection arrived on the listen entry at `fd` (ACCEPTED); false when
   * `fd` is not a listen entry of the Keep's own config (a violation).
   */
  onAccepted?(fd: number, stream: Duplex): boolean;
}

/** The Keep's table of relayed connections. */
export class KeepSockets {
  readonly #o: KeepSocketsOptions;
  readonly #conns = new Map<number, Connection>();
  #next = 1;
  /** The last host id ACCEPTED: host ids only grow, so none is ever reused. */
  #lastHostId = HOST_ID_BASE - 1;
  #ended = false;

  constructor(options: KeepSocketsOptions) {
    this.#o = options;
  }

  /** Ask the host for a connection; resolves with its stream once CONNECTED says ok. */
  connect(purpose: SocketPurpose): Promise<Duplex> {
    if (this.#conns.size >= MAX_SOCKETS) {
      return Promise.reject(
        new KeepError("keep.relay", `the Keep has ${MAX_SOCKETS} connections open already`),
      );
    }
    if (this.#next >= HOST_ID_BASE) {
      return Promise.reject(new KeepError("keep.relay", "the Keep has used up its connection ids"));
    }
    const id = this.#next++;
    const c = newConnection(id, "connecting");
    this.#conns.set(id, c);
    return new Promise<Duplex>((resolve, reject) => {
      c.settle = { resolve, reject };
      this.#send(
        encodeJsonFrame(
          FRAME.CONNECT,
          purpose === "steward" ? { id, purpose } : { id, purpose: "file", fd: purpose.fd },
        ),
      );
    });
  }

  /** Handle CONNECTED, SOCKET_RECV or SOCKET_CLOSED; throws `keep.sallyport.*` on a violation. */
  handle(frame: Frame): void {
    switch (frame.type) {
      case FRAME.CONNECTED:
        this.#connected(frame);
        return;
      case FRAME.SOCKET_RECV:
        this.#recv(frame);
        return;
      case FRAME.SOCKET_CLOSED:
        this.#closed(frame);
        return;
      case FRAME.ACCEPTED:
        this.#accepted(frame);
        return;
      default:
        throw new KeepError(
          "keep.sallyport.order",
          `sallyport: ${frameName(frame.type)} is not a connection frame`,
        );
    }
  }

  /** Whether `type` is a frame this table handles. */
  static handles(type: number): boolean {
    return (
      type === FRAME.CONNECTED ||
      type === FRAME.SOCKET_RECV ||
      type === FRAME.SOCKET_CLOSED ||
      type === FRAME.ACCEPTED
    );
  }

  /** The Keep ends: every stream is destroyed, nothing more is sent. */
  end(): void {
    this.#ended = true;
    for (const c of this.#conns.values()) {
      c.settle?.reject(new KeepError("keep.relay", "the Keep ended"));
      c.stream?.destroy();
    }
    this.#conns.clear();
  }

  /** How many connections are open or opening (for tests). */
  get size(): number {
    return this.#conns.size;
  }

  #connected(frame: Frame): void {
    const o = decodeJsonPayload(frame);
    for (const k of Object.keys(o)) {
      if (k !== "id" && k !== "ok" && k !== "error") {
        throw payload(`CONNECTED has unknown field ${JSON.stringify(k)}`);
      }
    }
    if (typeof o.id !== "number" || !Number.isInteger(o.id) || o.id < 1 || o.id > 0xffffffff) {
      throw payload("CONNECTED id must be an integer from 1 to 4294967295");
    }
    if (typeof o.ok !== "boolean") throw payload("CONNECTED ok must be a boolean");
    let error: string | null = null;
    if (o.ok) {
      if ("error" in o) throw payload("CONNECTED with ok true has an error");
    } else {
      if (typeof o.error !== "string" || o.error.length > CONNECT_ERROR_MAX) {
        throw payload(
          `CONNECTED with ok false needs an error string of at most ${CONNECT_ERROR_MAX} characters`,
        );
      }
      // The host's words reach the user through EXIT: printable text only.
      error = o.error.replace(/[\u0000-\u001f\u007f-\u009f]/g, "?");
    }
    const c = this.#conns.get(o.id);
    if (c === undefined || c.state !== "connecting") {
      throw new KeepError(
        "keep.sallyport.order",
        `sallyport: CONNECTED for connection ${o.id}, which the Keep ${c === undefined ? "did not ask for" : "has already been answered about"}`,
      );
    }
    const settle = c.settle!;
    c.settle = null;
    if (!o.ok) {
      this.#conns.delete(c.id);
      settle.reject(new KeepError("keep.relay", error!));
      return;
    }
    c.state = "open";
    c.stream = this.#stream(c);
    settle.resolve(c.stream);
  }

  /** ACCEPTED `{id, fd}`: a connection the host took on a listen socket, open at once. */
  #accepted(frame: Frame): void {
    const o = decodeJsonPayload(frame);
    for (const k of Object.keys(o)) {
      if (k !== "id" && k !== "fd")
        throw payload(`ACCEPTED has unknown field ${JSON.stringify(k)}`);
    }
    if (
      typeof o.id !== "number" ||
      !Number.isInteger(o.id) ||
      o.id < HOST_ID_BASE ||
      o.id > 0xffffffff
    ) {
      throw payload(`ACCEPTED id must be an integer from ${HOST_ID_BASE} to 4294967295`);
    }
    if (typeof o.fd !== "number" || !Number.isInteger(o.fd) || o.fd < 0 || o.fd > 0xffff) {
      throw payload("ACCEPTED fd must be an integer from 0 to 65535");
    }
    if (o.id <= this.#lastHostId) {
      throw new KeepError(
        "keep.sallyport.order",
        `sallyport: ACCEPTED reuses or goes back to connection id ${o.id} (the last was ${this.#lastHostId}; host ids only grow)`,
      );
    }
    // CONNECTs not yet answered do not count: the host may have sent this
    // ACCEPTED before it read them (it answers those CONNECTED ok:false).
    let open = 0;
    for (const c of this.#conns.values()) if (c.state === "open") open++;
    if (open >= MAX_SOCKETS) {
      throw new KeepError(
        "keep.sallyport.order",
        `sallyport: ACCEPTED with ${MAX_SOCKETS} connections open already`,
      );
    }
    this.#lastHostId = o.id;
    const c = newConnection(o.id, "open");
    c.stream = this.#stream(c);
    this.#conns.set(c.id, c);
    if (this.#o.onAccepted?.(o.fd, c.stream) !== true) {
      throw new KeepError(
        "keep.sallyport.order",
        `sallyport: ACCEPTED on fd ${o.fd}, which is not a listen socket of the config the Keep measured`,
      );
    }
  }

  #recv(frame: Frame): void {
    const id = decodeU32(frame.payload);
    const c = this.#open(frame, id);
    const bytes = frame.payload.subarray(4);
    c.outstanding += bytes.length;
    if (c.outstanding > SOCKET_WINDOW) {
      throw new KeepError(
        "keep.sallyport.length",
        `sallyport: SOCKET_RECV (0x87) for connection ${id} brings ${c.outstanding} bytes not yet credited; the Keep granted ${SOCKET_WINDOW}`,
      );
    }
    // Bytes that race the Keep's own close are dropped; their credit no longer matters.
    if (c.keepClosed || c.stream === null) return;
    c.uncredited += bytes.length;
    if (c.stream.push(bytes)) this.#credit(c);
  }

  #closed(frame: Frame): void {
    const id = decodeU32(frame.payload);
    const c = this.#open(frame, id);
    c.hostClosed = true;
    if (c.keepClosed) {
      this.#conns.delete(id);
      return;
    }
    c.stream?.push(null);
  }

  /** The open connection `id`, or an order error naming why not. */
  #open(frame: Frame, id: number): Connection {
    const c = this.#conns.get(id);
    const why =
      c === undefined
        ? "which is not open"
        : c.state === "connecting"
          ? "before CONNECTED"
          : c.hostClosed
            ? "after the host closed it"
            : null;
    if (why !== null) {
      throw new KeepError(
        "keep.sallyport.order",
        `sallyport: ${frameName(frame.type)} for connection ${id}, ${why}`,
      );
    }
    return c!;
  }

  #credit(c: Connection): void {
    if (c.uncredited === 0 || c.keepClosed) return;
    const n = c.uncredited;
    c.uncredited = 0;
    c.outstanding -= n;
    this.#send(encodeU32Frame(FRAME.SOCKET_CREDIT, c.id, n));
  }

  #close(c: Connection): void {
    if (c.keepClosed) return;
    c.keepClosed = true;
    this.#send(encodeU32Frame(FRAME.SOCKET_CLOSE, c.id));
    if (c.hostClosed) this.#conns.delete(c.id);
  }

  #stream(c: Connection): Duplex {
    return new Duplex({
      read: () => this.#credit(c),
      write: (chunk: Buffer, _enc, cb) => {
        // Not c.hostClosed: the peer's FIN ends what the Keep reads, not what it
        // sends (a client that half-closes after its request still gets the answer).
        if (c.keepClosed || this.#ended) {
          cb(new KeepError("keep.relay", `connection ${c.id} is closed`));
          return;
        }
        let full = false;
        for (let at = 0; at < chunk.length; at += DATA_CHUNK) {
          const piece = chunk.subarray(at, at + DATA_CHUNK);
          if (this.#o.send(encodeSocketData(FRAME.SOCKET_SEND, c.id, piece)) === false) full = true;
        }
        if (full) this.#o.waitDrain().then(() => cb(), cb);
        else cb();
      },
      final: (cb) => {
        this.#close(c);
        cb();
      },
      destroy: (err, cb) => {
        this.#close(c);
        cb(err);
      },
    });
  }

  #send(frame: Uint8Array): void {
    if (!this.#ended) this.#o.send(frame);
  }
}

function payload(message: string): KeepError {
  return new KeepError("keep.sallyport.payload", `sallyport: ${message}`);
}
