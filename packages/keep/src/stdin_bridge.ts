/**
 * The guest's stdin when it runs in a worker. A worker blocked in a read(2)
 * of fd 0 cannot be terminated (V8 can only interrupt JavaScript and wasm,
 * not a system call), so a time limit could never stop a guest waiting for
 * input, and the process could not even exit. Instead, as DESIGN.md lays out
 * for blocking host I/O, the worker waits on a SharedArrayBuffer — which
 * `Worker.terminate()` does interrupt — while the main thread reads stdin
 * asynchronously and hands the bytes over.
 *
 * Protocol over `control` (Int32Array): the worker writes the most it wants
 * in MAX, sets STATE to WAITING, posts a request and waits while STATE is
 * WAITING; the main thread writes up to MAX bytes into `data`, the count (0
 * at end of input, -1 on error) into COUNT, sets STATE to READY and notifies.
 */
// Subpaths, not the package index: the Keep's I/O thread uses this module and
// must not load the whole WASI host.

import type { Handle } from "@donjon/wasi";
import { EIO } from "@donjon/wasi/constants";
import { FsError } from "@donjon/wasi/error";
import { streamHandle } from "@donjon/wasi/streams";

/** Largest read served at once. */
export const STDIN_CHUNK = 65536;

const STATE = 0;
const MAX = 1;
const COUNT = 2;
const IDLE = 0;
const WAITING = 1;
const READY = 2;

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

/** Worker side: a stdin stream that asks the main thread with `request()` and waits. */
export function bridgedStdin(channel: StdinChannel, request: () => void): Handle {
  const control = new Int32Array(channel.control);
  const data = new Uint8Array(channel.data);
  return streamHandle({
    read: (buf) => {
      const max = Math.min(buf.length, STDIN_CHUNK);
      if (max === 0) return 0;
      Atomics.store(control, MAX, max);
      Atomics.store(control, STATE, WAITING);
      request();
      while (Atomics.load(control, STATE) === WAITING) Atomics.wait(control, STATE, WAITING);
      const n = Atomics.load(control, COUNT);
      Atomics.store(control, STATE, IDLE);
      if (n < 0) throw new FsError(EIO, "reading the host's stdin failed");
      buf.set(data.subarray(0, n));
      return n;
    },
  });
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
