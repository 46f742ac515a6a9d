/**
 * The workload's output, from the worker that runs it to the Keep's I/O
 * thread: a single-producer single-consumer ring of records in a
 * SharedArrayBuffer. A write costs a copy and two atomic operations — no
 * message, no system call — and what is in the ring survives the worker being
 * terminated (a time limit), so output written before the limit is not lost.
 *
 * Record: u8 stream (1 stdout, 2 stderr), u8 × 3 zero, u32 length (native
 * order: both ends are one process), then the bytes. Records never wrap: when
 * the tail is too short for one, the writer fills it with a PAD record.
 *
 * Control (Int32Array): WRITE and READ are free-running byte counts mod 2^32
 * (compared with `>>> 0`), so `WRITE − READ` is the bytes in use.
 */

const WRITE = 0;
const READ = 1;
const HEADER = 8;
const PAD = 0;

export type OutputStream = 1 | 2;

/** The shared buffers; structured-cloneable, so they travel in `workerData`. */
export interface RingChannel {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

/** Largest record payload; longer writes are split. */
export const RING_RECORD_MAX = 65536;

/** A ring of `capacity` bytes: a power of two, at least two records long. */
export function ringChannel(capacity = 1 << 20): RingChannel {
  if (capacity & (capacity - 1) || capacity < 2 * (HEADER + RING_RECORD_MAX)) {
    throw new RangeError(`ring capacity ${capacity} must be a power of two ≥ 2 records`);
  }
  return {
    control: new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT),
    data: new SharedArrayBuffer(capacity),
  };
}

/** Worker side. `write` blocks while the ring is full. */
export class RingWriter {
  readonly #control: Int32Array;
  readonly #data: Uint8Array;
  readonly #view: DataView;

  constructor(channel: RingChannel) {
    this.#control = new Int32Array(channel.control);
    this.#data = new Uint8Array(channel.data);
    this.#view = new DataView(channel.data);
  }

  write(stream: OutputStream, bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; at += RING_RECORD_MAX) {
      this.#record(stream, bytes.subarray(at, at + RING_RECORD_MAX));
    }
  }

  #record(stream: number, bytes: Uint8Array): void {
    const cap = this.#data.length;
    const size = align(HEADER + bytes.length);
    let w = Atomics.load(this.#control, WRITE) >>> 0;
    const tail = cap - (w & (cap - 1));
    // A record that does not fit before the end starts again at 0, after a PAD.
    const need = tail < size ? tail + size : size;
    this.#waitFor(w, need);
    if (tail < size) {
      this.#view.setUint32(w & (cap - 1), PAD, true);
      this.#view.setUint32((w & (cap - 1)) + 4, tail - HEADER, true);
      w = (w + tail) >>> 0;
    }
    const at = w & (cap - 1);
    this.#view.setUint32(at, stream, true);
    this.#view.setUint32(at + 4, bytes.length, true);
    this.#data.set(bytes, at + HEADER);
    Atomics.store(this.#control, WRITE, (w + size) | 0);
    Atomics.notify(this.#control, WRITE);
  }

  /** Wait until `need` bytes are free after write position `w`. */
  #waitFor(w: number, need: number): void {
    const cap = this.#data.length;
    for (;;) {
      const r = Atomics.load(this.#control, READ);
      if (cap - ((w - r) >>> 0) >= need) return;
      Atomics.wait(this.#control, READ, r);
    }
  }
}

/** I/O-thread side. */
export class RingReader {
  readonly #control: Int32Array;
  readonly #data: Uint8Array;
  readonly #view: DataView;

  constructor(channel: RingChannel) {
    this.#control = new Int32Array(channel.control);
    this.#data = new Uint8Array(channel.data);
    this.#view = new DataView(channel.data);
  }

  /**
   * Visit every record written so far, in order, then free their space.
   * `bytes` is a view into the shared ring, valid only during the call: the
   * reader copies it once, straight into what it sends.
   */
  drainInto(visit: (stream: OutputStream, bytes: Uint8Array) => void): void {
    const cap = this.#data.length;
    let r = Atomics.load(this.#control, READ) >>> 0;
    const w = Atomics.load(this.#control, WRITE) >>> 0;
    try {
      while (r !== w) {
        const at = r & (cap - 1);
        const stream = this.#view.getUint32(at, true);
        const length = this.#view.getUint32(at + 4, true);
        if (stream !== PAD) {
          visit(stream as OutputStream, this.#data.subarray(at + HEADER, at + HEADER + length));
        }
        r = (r + align(HEADER + length)) >>> 0;
      }
    } finally {
      Atomics.store(this.#control, READ, r | 0);
      Atomics.notify(this.#control, READ);
    }
  }

  /** Every record written so far, copied out, in order; frees their space. */
  drain(): { stream: OutputStream; bytes: Uint8Array }[] {
    const out: { stream: OutputStream; bytes: Uint8Array }[] = [];
    this.drainInto((stream, bytes) => out.push({ stream, bytes: bytes.slice() }));
    return out;
  }

  /** Resolves when something was written after the last drain (or at once if it was). */
  async written(): Promise<void> {
    const w = Atomics.load(this.#control, WRITE);
    if (w !== Atomics.load(this.#control, READ)) return;
    const r = Atomics.waitAsync(this.#control, WRITE, w);
    if (r.async) await r.value;
  }
}

/** Records start on 8-byte boundaries, so a header never straddles the end. */
function align(n: number): number {
  return (n + 7) & ~7;
}
