/**
 * The stdin bridge's channel and its main-thread side (`StdinServer`); the
 * protocol is in `stdin_bridge.ts`, which re-exports all of this beside the
 * worker's side. Apart, because the main thread needs none of the WASI
 * modules the worker's side is built on: the Keep's I/O thread loads only
 * this file.
 */

/** Largest read served at once. */
export const STDIN_CHUNK = 65536;

/** Words of `control` (see `stdin_bridge.ts` for the protocol). */
export const STATE = 0;
export const MAX = 1;
export const COUNT = 2;
/** Values of STATE. */
export const IDLE = 0;
export const WAITING = 1;
export const READY = 2;

/** The shared buffers; structured-cloneable, so they travel in `workerData`. */
export interface StdinChannel {
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
}

export function stdinChannel(): StdinChannel {
  return {
    control: new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT),
    data: new SharedArrayBuffer(STDIN_CHUNK),
  };
}

/** The host's stdin as the main thread reads it. */
export interface StdinSource {
  /** The next chunk, or null at end of input. */
  next(): Promise<Uint8Array | null>;
  /** Stop reading now, even with a read pending, so stdin no longer keeps the process alive. */
  close(): void;
}

/** Main side: answers the worker's requests from `open()`, opened on the first one. */
export class StdinServer {
  readonly #control: Int32Array;
  readonly #data: Uint8Array;
  readonly #open: () => StdinSource;
  #source: StdinSource | null = null;
  #left: Uint8Array = new Uint8Array(0);
  #ended = false;

  constructor(channel: StdinChannel, open: () => StdinSource) {
    this.#control = new Int32Array(channel.control);
    this.#data = new Uint8Array(channel.data);
    this.#open = open;
  }

  /** Serve one request; call when the worker posts one. */
  async serve(): Promise<void> {
    let n: number;
    try {
      if (this.#left.length === 0 && !this.#ended) {
        this.#source ??= this.#open();
        const chunk = await this.#source.next();
        if (chunk === null) this.#ended = true;
        else this.#left = chunk;
      }
      n = Math.min(this.#left.length, Atomics.load(this.#control, MAX));
      this.#data.set(this.#left.subarray(0, n));
      this.#left = this.#left.subarray(n);
    } catch {
      n = -1;
    }
    Atomics.store(this.#control, COUNT, n);
    Atomics.store(this.#control, STATE, READY);
    Atomics.notify(this.#control, STATE);
  }

  /** Stop reading the host's stdin so that it no longer keeps the process alive. */
  close(): void {
    const s = this.#source;
    this.#source = null;
    this.#ended = true;
    s?.close();
  }
}
