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

export function decodeU32(payload: Uint8Array): number {
  return new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0);
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
