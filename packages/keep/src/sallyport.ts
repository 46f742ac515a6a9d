/**
 * The sallyport channel: the one framed, versioned byte stream between the
 * host (the `donjon` process, which the Keep does not trust) and a Keep. The
 * specification, with its MUST and MUST NOT, is in the package README
 * ("The sallyport channel"); this file is its codec.
 *
 * A frame is an 8-byte header and a payload:
 *
 *   0  u8   version (1)
 *   1  u8   type
 *   2  u16  reserved, zero
 *   4  u32  payload length, big-endian
 *
 * Every type has a direction and payload bounds. The decoder checks a header
 * before it buffers the payload, so a peer can never make the other side hold
 * more than the largest payload its type allows.
 */
import { KeepError } from "./error.ts";

export const SALLYPORT_VERSION = 1;
export const HEADER_SIZE = 8;

/** Largest data payload (stdio bytes): one chunk. */
export const DATA_CHUNK = 65536;
/** Largest module or config chunk. */
export const LOAD_CHUNK = 1 << 20;
/** Largest CERTIFICATE payload (a PEM chain). */
export const CERTIFICATE_MAX = 64 * 1024;
/** Bytes the host may send on a relayed connection before the Keep credits more (SOCKET_CREDIT). */
export const SOCKET_WINDOW = 256 * 1024;
/** Relayed connections open (or opening) at once, at most: the Keep buffers at most MAX_SOCKETS × SOCKET_WINDOW. */
export const MAX_SOCKETS = 128;
/**
 * Connection ids: the Keep picks ids below this for its CONNECTs, the host
 * picks ids from it up for the connections it ACCEPTED on a listener, so
 * neither side can ever pick an id the other has in use.
 */
export const HOST_ID_BASE = 0x80000000;
/**
 * How long a Keep waits for its Steward's decision (connect, TLS, answer);
 * the host adds it to its own time limit, which would otherwise run from
 * START while the Keep's runs from the workload's start.
 */
export const STEWARD_TIMEOUT_MS = 30_000;

/**
 * Frame types. Keep → host have the high bit clear, host → Keep have it set,
 * so a frame sent the wrong way is an unknown type to its receiver.
 */
export const FRAME = {
  // Keep → host
  /** First frame of the Keep: JSON `{ protocol, version, backend }`. */
  HELLO: 0x01,
  /** The Keep's evidence wrapper (JSON CMW collection), once loaded. */
  EVIDENCE: 0x02,
  /** Bytes the workload wrote to fd 1. */
  STDOUT: 0x03,
  /** Bytes the workload wrote to fd 2. */
  STDERR: 0x04,
  /** The workload is reading stdin: u32 big-endian, the most bytes it takes now. */
  STDIN_READ: 0x05,
  /** The last frame: JSON, how the run ended. */
  EXIT: 0x06,
  /** Open a host-relayed connection: JSON `{ id, purpose }` (the host picks the address). */
  CONNECT: 0x07,
  /** Bytes for a relayed connection: u32 id, then 1 to 65536 bytes (TLS records, never plaintext). */
  SOCKET_SEND: 0x08,
  /** The Keep closes a relayed connection: u32 id. */
  SOCKET_CLOSE: 0x09,
  /** The Keep has taken more of a connection's bytes: u32 id, u32 bytes the host may send on top. */
  SOCKET_CREDIT: 0x0a,
  /** The certificate chain the Steward issued to the Keep (PEM: leaf, then CA). */
  CERTIFICATE: 0x0b,
  // host → Keep
  /** First frame of the host: JSON, what to run and under which limits. */
  START: 0x81,
  /** A piece of the module's bytes. */
  MODULE: 0x82,
  /** A piece of the config file's bytes. */
  CONFIG: 0x83,
  /** Stdin bytes answering one STDIN_READ, at most the count it asked for. */
  STDIN_DATA: 0x84,
  /** End of stdin, answering one STDIN_READ. Empty. */
  STDIN_EOF: 0x85,
  /** Answer to one CONNECT: JSON `{ id, ok, error? }`. */
  CONNECTED: 0x86,
  /** Bytes from a relayed connection's peer: u32 id, then 1 to 65536 bytes, within the Keep's credit. */
  SOCKET_RECV: 0x87,
  /** The peer (or the host) closed a relayed connection: u32 id. */
  SOCKET_CLOSED: 0x88,
  /** A connection arrived on a listen socket: JSON `{ id, fd }` (id ≥ HOST_ID_BASE, fd a `listen` entry). */
  ACCEPTED: 0x89,
} as const;

export type FrameType = (typeof FRAME)[keyof typeof FRAME];

/** Payload bounds of each type, in bytes, inclusive. */
const BOUNDS: Readonly<Record<FrameType, readonly [number, number]>> = {
  [FRAME.HELLO]: [2, 1024],
  [FRAME.EVIDENCE]: [1, 256 * 1024],
  [FRAME.STDOUT]: [1, DATA_CHUNK],
  [FRAME.STDERR]: [1, DATA_CHUNK],
  [FRAME.STDIN_READ]: [4, 4],
  [FRAME.EXIT]: [2, 64 * 1024],
  [FRAME.START]: [2, 64 * 1024],
  [FRAME.MODULE]: [1, LOAD_CHUNK],
  [FRAME.CONFIG]: [1, LOAD_CHUNK],
  [FRAME.STDIN_DATA]: [1, DATA_CHUNK],
  [FRAME.STDIN_EOF]: [0, 0],
  [FRAME.CONNECT]: [2, 1024],
  [FRAME.SOCKET_SEND]: [5, 4 + DATA_CHUNK],
  [FRAME.SOCKET_CLOSE]: [4, 4],
  [FRAME.SOCKET_CREDIT]: [8, 8],
  [FRAME.CERTIFICATE]: [1, CERTIFICATE_MAX],
  [FRAME.CONNECTED]: [2, 1024],
  [FRAME.SOCKET_RECV]: [5, 4 + DATA_CHUNK],
  [FRAME.SOCKET_CLOSED]: [4, 4],
  [FRAME.ACCEPTED]: [2, 256],
};

const NAMES = new Map<number, string>(Object.entries(FRAME).map(([k, v]) => [v, k]));

/** `STDIN_DATA (0x84)`, or `0x7f` for a type nobody knows. */
export function frameName(type: number): string {
  const hex = `0x${type.toString(16).padStart(2, "0")}`;
  const name = NAMES.get(type);
  return name === undefined ? hex : `${name} (${hex})`;
}

export interface Frame {
  type: FrameType;
  payload: Uint8Array;
}

/** Who reads: the Keep takes host → Keep types, the host Keep → host ones. */
export type Receiver = "keep" | "host";

function acceptedBy(type: number, receiver: Receiver): type is FrameType {
  if (!NAMES.has(type)) return false;
  return receiver === "keep" ? type >= 0x80 : type < 0x80;
}

/** One frame's bytes. Throws when the payload is outside its type's bounds: a bug of ours. */
export function encodeFrame(type: FrameType, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + payload.length);
  writeHeader(out, type, payload.length);
  out.set(payload, HEADER_SIZE);
  return out;
}

/**
 * Write a header for `length` payload bytes at the start of `out`, whose
 * payload the caller has placed (or will place) after it: how the Keep
 * builds output frames without copying their bytes twice.
 */
export function writeHeader(out: Uint8Array, type: FrameType, length: number): void {
  const [min, max] = BOUNDS[type];
  if (length < min || length > max) {
    throw new RangeError(`${frameName(type)} payload of ${length} bytes is outside ${min}..${max}`);
  }
  out[0] = SALLYPORT_VERSION;
  out[1] = type;
  out[2] = 0;
  out[3] = 0;
  new DataView(out.buffer, out.byteOffset, 8).setUint32(4, length);
}

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A frame whose payload is JSON. */
export function encodeJsonFrame(type: FrameType, value: unknown): Uint8Array {
  return encodeFrame(type, utf8.encode(JSON.stringify(value)));
}

/** A frame's JSON payload as an object; anything else is `keep.sallyport.payload`. */
export function decodeJsonPayload(frame: Frame): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(frame.payload));
  } catch (e) {
    throw new KeepError(
      "keep.sallyport.payload",
      `sallyport: ${frameName(frame.type)} payload is not UTF-8 JSON: ${(e as Error).message}`,
    );
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new KeepError(
      "keep.sallyport.payload",
      `sallyport: ${frameName(frame.type)} payload must be a JSON object`,
    );
  }
  return value as Record<string, unknown>;
}

/** STDIN_READ's payload. */
export function encodeStdinRead(max: number): Uint8Array {
  const p = new Uint8Array(4);
  new DataView(p.buffer).setUint32(0, max);
  return encodeFrame(FRAME.STDIN_READ, p);
}

export function decodeU32(payload: Uint8Array, at = 0): number {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(at);
}

/** A SOCKET_DATA frame (either direction): u32 id, then the bytes. */
export function encodeSocketData(
  type: typeof FRAME.SOCKET_SEND | typeof FRAME.SOCKET_RECV,
  id: number,
  bytes: Uint8Array,
): Uint8Array {
  const out = new Uint8Array(HEADER_SIZE + 4 + bytes.length);
  writeHeader(out, type, 4 + bytes.length);
  new DataView(out.buffer).setUint32(HEADER_SIZE, id);
  out.set(bytes, HEADER_SIZE + 4);
  return out;
}

/** A frame whose payload is one u32 (SOCKET_CLOSE either way), or two (SOCKET_CREDIT). */
export function encodeU32Frame(type: FrameType, ...values: number[]): Uint8Array {
  const p = new Uint8Array(4 * values.length);
  const v = new DataView(p.buffer);
  for (const [i, n] of values.entries()) v.setUint32(4 * i, n);
  return encodeFrame(type, p);
}

/**
 * Splits a byte stream into frames, checking each header before buffering its
 * payload. Errors are `KeepError` `keep.sallyport.*` naming the frame and the
 * byte offset in the stream where its header starts; after one, the decoder
 * refuses everything (the channel is broken, there is no resynchronising).
 */
export class FrameDecoder {
  readonly #receiver: Receiver;
  /** The current frame's header as far as it has arrived. */
  readonly #head = new Uint8Array(HEADER_SIZE);
  #headFill = 0;
  /** Its payload, allocated once the header is checked (so never beyond the type's bound). */
  #type: FrameType = FRAME.HELLO;
  #payload: Uint8Array | null = null;
  #payloadFill = 0;
  /** Stream offset of the current frame's first byte. */
  #offset = 0;
  #broken: KeepError | null = null;

  constructor(receiver: Receiver) {
    this.#receiver = receiver;
  }

  /**
   * Feed bytes; returns the frames they complete, in order. Each payload byte
   * is copied once, from the chunk into its frame's own buffer (so a frame
   * kept by its receiver pins nothing else).
   */
  push(chunk: Uint8Array): Frame[] {
    if (this.#broken) throw this.#broken;
    const frames: Frame[] = [];
    let at = 0;
    try {
      while (at < chunk.length) {
        if (this.#payload === null) {
          const take = Math.min(HEADER_SIZE - this.#headFill, chunk.length - at);
          this.#head.set(chunk.subarray(at, at + take), this.#headFill);
          this.#headFill += take;
          at += take;
          if (this.#headFill < HEADER_SIZE) break;
          // A header is checked as soon as it is complete, before its payload arrives.
          this.#type = this.#header(this.#head, 0);
          this.#payload = new Uint8Array(new DataView(this.#head.buffer).getUint32(4));
          this.#payloadFill = 0;
        } else {
          const take = Math.min(this.#payload.length - this.#payloadFill, chunk.length - at);
          this.#payload.set(chunk.subarray(at, at + take), this.#payloadFill);
          this.#payloadFill += take;
          at += take;
        }
        if (this.#payload.length === this.#payloadFill) {
          frames.push({ type: this.#type, payload: this.#payload });
          this.#offset += HEADER_SIZE + this.#payload.length;
          this.#payload = null;
          this.#headFill = 0;
        }
      }
    } catch (e) {
      this.#broken = e as KeepError;
      throw e;
    }
    return frames;
  }

  /** The stream ended: an error when it ended inside a frame. */
  end(): void {
    if (this.#broken) throw this.#broken;
    if (this.#headFill > 0) {
      const what =
        this.#payload === null
          ? `after ${this.#headFill} of the ${HEADER_SIZE} bytes of a frame header`
          : `inside ${frameName(this.#type)} (${this.#payloadFill} of ${this.#payload.length} payload bytes)`;
      this.#broken = new KeepError(
        "keep.sallyport.truncated",
        `sallyport: the channel closed ${what} at byte ${this.#offset}`,
      );
      throw this.#broken;
    }
  }

  /** Validate the header at `at`; returns its type. */
  #header(buf: Uint8Array, at: number): FrameType {
    // #offset advances with `at` as frames are taken, so it is already this header's position.
    const where = `at byte ${this.#offset}`;
    const version = buf[at]!;
    const type = buf[at + 1]!;
    if (version !== SALLYPORT_VERSION) {
      throw new KeepError(
        "keep.sallyport.version",
        `sallyport: frame ${where} has version ${version}; expected ${SALLYPORT_VERSION}`,
      );
    }
    if (!acceptedBy(type, this.#receiver)) {
      throw new KeepError(
        "keep.sallyport.type",
        `sallyport: ${NAMES.has(type) ? `frame type ${frameName(type)} is sent the other way; it arrived` : `unknown frame type ${frameName(type)}`} ${where} (the ${this.#receiver} accepts ${[
          ...NAMES.keys(),
        ]
          .filter((t) => acceptedBy(t, this.#receiver))
          .map(frameName)
          .join(", ")})`,
      );
    }
    if (buf[at + 2] !== 0 || buf[at + 3] !== 0) {
      throw new KeepError(
        "keep.sallyport.reserved",
        `sallyport: ${frameName(type)} ${where} has reserved bytes ${hex2(buf[at + 2]!)} ${hex2(buf[at + 3]!)}; expected 00 00`,
      );
    }
    const length = new DataView(buf.buffer, buf.byteOffset + at + 4, 4).getUint32(0);
    const [min, max] = BOUNDS[type];
    if (length < min || length > max) {
      throw new KeepError(
        "keep.sallyport.length",
        `sallyport: ${frameName(type)} ${where} declares ${length} payload ${length === 1 ? "byte" : "bytes"}; expected ${min === max ? min : `${min} to ${max}`}`,
      );
    }
    return type;
  }
}

/** LOAD_CHUNK-sized MODULE or CONFIG frames for `bytes` (the host side). */
export function loadFrames(
  type: typeof FRAME.MODULE | typeof FRAME.CONFIG,
  bytes: Uint8Array,
): Uint8Array[] {
  const frames: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += LOAD_CHUNK) {
    frames.push(encodeFrame(type, bytes.subarray(at, at + LOAD_CHUNK)));
  }
  return frames;
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, "0");
}
