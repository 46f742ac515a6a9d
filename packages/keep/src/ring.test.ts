/**
 * The output ring between the workload's worker and the Keep's I/O thread:
 * records come out whole and in order whatever the wrap-around does, long
 * writes are split, a full ring makes the writer wait instead of overwriting
 * what the reader has not taken, and what was written survives the writer.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { RING_RECORD_MAX, type RingChannel, RingReader, RingWriter, ringChannel } from "./ring.ts";

/** The smallest ring allowed: two maximal records (2 × (8 + 65536)) rounded up to a power of two. */
const SMALL = 1 << 18;
/** Control word indexes, as ring.ts lays them out (its header comment). */
const WRITE = 0;
const READ = 1;

/** `n` bytes that say which record they belong to, so a lost or overwritten byte shows. */
function record(id: number, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (id * 31 + i) & 0xff;
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe("ringChannel", () => {
  const bad = [0, 1000, 3 * 65536, 1 << 17, -1];
  for (const capacity of bad) {
    it(`refuses capacity ${capacity}`, () => {
      assert.throws(() => ringChannel(capacity), {
        name: "RangeError",
        message: `ring capacity ${capacity} must be a power of two ≥ 2 records`,
      });
    });
  }

  it("accepts the smallest power of two that holds two maximal records, and the default", () => {
    assert.equal(ringChannel(SMALL).data.byteLength, SMALL);
    assert.equal(ringChannel().data.byteLength, 1 << 20);
  });
});

describe("RingWriter → RingReader in one thread", () => {
  it("returns records in order with their stream, and nothing for an empty write", () => {
    const ch = ringChannel(SMALL);
    const w = new RingWriter(ch);
    const r = new RingReader(ch);
    w.write(1, record(1, 5));
    w.write(2, record(2, 1));
    w.write(1, new Uint8Array(0));
    w.write(1, record(3, 8));
    assert.deepEqual(r.drain(), [
      { stream: 1, bytes: record(1, 5) },
      { stream: 2, bytes: record(2, 1) },
      { stream: 1, bytes: record(3, 8) },
    ]);
    assert.deepEqual(r.drain(), []);
  });

  it("keeps order across the wrap-around, skipping the PAD record at the end", () => {
    const ch = ringChannel(SMALL);
    const w = new RingWriter(ch);
    const r = new RingReader(ch);
    // 60000-byte records take 60008 bytes: three, then a fourth that fits before
    // the end and a fifth that does not (22112 bytes left), so it starts at 0 after a PAD.
    for (const id of [1, 2, 3]) w.write(1, record(id, 60000));
    assert.deepEqual(
      r.drain().map((x) => x.bytes),
      [1, 2, 3].map((id) => record(id, 60000)),
    );
    w.write(2, record(4, 60000));
    w.write(1, record(5, 60000));
    w.write(2, record(6, 3));
    assert.deepEqual(r.drain(), [
      { stream: 2, bytes: record(4, 60000) },
      { stream: 1, bytes: record(5, 60000) },
      { stream: 2, bytes: record(6, 3) },
    ]);
    // The fifth record did wrap: the write position passed the end of the buffer.
    assert.ok(Atomics.load(new Int32Array(ch.control), WRITE) > SMALL);
  });

  it("keeps order when the free-running positions pass 2^32", () => {
    const ch = ringChannel(SMALL);
    // Both positions 16 bytes short of 2^32: the first record needs a PAD and
    // the counters wrap, which `>>> 0` must absorb.
    const control = new Int32Array(ch.control);
    Atomics.store(control, WRITE, -16);
    Atomics.store(control, READ, -16);
    const w = new RingWriter(ch);
    const r = new RingReader(ch);
    const got: Uint8Array[] = [];
    for (let id = 0; id < 20; id++) {
      w.write(1, record(id, 30000 + id));
      if (id % 3 === 2) got.push(...r.drain().map((x) => x.bytes));
    }
    got.push(...r.drain().map((x) => x.bytes));
    assert.deepEqual(
      got,
      Array.from({ length: 20 }, (_, id) => record(id, 30000 + id)),
    );
    assert.ok(Atomics.load(control, WRITE) >= 0, "the write position wrapped past 2^32");
  });

  it("splits a write longer than RING_RECORD_MAX into records of at most that size", () => {
    const ch = ringChannel(SMALL);
    const w = new RingWriter(ch);
    const r = new RingReader(ch);
    const big = record(9, 2 * RING_RECORD_MAX + 1234);
    w.write(2, big);
    const out = r.drain();
    assert.deepEqual(
      out.map((x) => [x.stream, x.bytes.length]),
      [
        [2, RING_RECORD_MAX],
        [2, RING_RECORD_MAX],
        [2, 1234],
      ],
    );
    assert.deepEqual(concat(out.map((x) => x.bytes)), big);
  });

  it("a record of exactly RING_RECORD_MAX bytes stays one record", () => {
    const ch = ringChannel(SMALL);
    new RingWriter(ch).write(1, record(1, RING_RECORD_MAX));
    assert.equal(new RingReader(ch).drain().length, 1);
  });

  it("written() resolves at once when something is undrained", async () => {
    const ch = ringChannel(SMALL);
    new RingWriter(ch).write(1, record(1, 1));
    await new RingReader(ch).written();
  });

  it("written() resolves when a write happens after it was called", async () => {
    const ch = ringChannel(SMALL);
    const r = new RingReader(ch);
    let resolved = false;
    const p = r.written().then(() => {
      resolved = true;
    });
    // Let the microtask queue run: nothing written, so it must still be pending.
    await Promise.resolve();
    await Promise.resolve();
    assert.equal(resolved, false);
    new RingWriter(ch).write(2, record(1, 4));
    await p;
    assert.deepEqual(r.drain(), [{ stream: 2, bytes: record(1, 4) }]);
  });
});

/** A worker that writes `count` records of `size` bytes, then says "done" (and optionally hangs). */
function writer(
  channel: RingChannel,
  count: number,
  size: number,
  hang = false,
): { worker: Worker; done: Promise<void> } {
  const code = `
    const { workerData, parentPort } = require("node:worker_threads");
    import(workerData.url).then(({ RingWriter }) => {
      const w = new RingWriter(workerData.channel);
      for (let id = 0; id < workerData.count; id++) {
        const b = new Uint8Array(workerData.size);
        for (let i = 0; i < b.length; i++) b[i] = (id * 31 + i) & 0xff;
        w.write(id % 2 === 0 ? 1 : 2, b);
      }
      parentPort.postMessage("done");
      if (workerData.hang) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    });`;
  const worker = new Worker(code, {
    eval: true,
    workerData: { url: new URL("./ring.ts", import.meta.url).href, channel, count, size, hang },
  });
  const done = new Promise<void>((resolve, reject) => {
    worker.once("message", () => resolve());
    worker.once("error", reject);
  });
  return { worker, done };
}

describe("RingWriter in a worker, RingReader on the main thread", () => {
  it("a full ring blocks the writer until the reader drains; nothing is lost or overwritten", {
    timeout: 30_000,
  }, async () => {
    const ch = ringChannel(SMALL);
    const r = new RingReader(ch);
    const control = new Int32Array(ch.control);
    const COUNT = 64;
    const SIZE = 40000; // 40008 bytes a record: 6 fit in 256 KiB, 64 are ten rings' worth
    const { worker, done } = writer(ch, COUNT, SIZE);
    let finished = false;
    void done.then(() => {
      finished = true;
    });

    // Drain nothing until the ring is full: the writer must then be waiting.
    for (;;) {
      const w = Atomics.load(control, WRITE);
      if (SMALL - ((w - Atomics.load(control, READ)) >>> 0) < 40008 + 8) break;
      const wait = Atomics.waitAsync(control, WRITE, w);
      if (wait.async) await wait.value;
    }
    assert.equal(finished, false, "the writer finished although the ring could not hold it all");
    assert.equal(Atomics.load(control, READ), 0);

    const got: { stream: number; bytes: Uint8Array }[] = [];
    while (got.length < COUNT) {
      await r.written();
      got.push(...r.drain());
    }
    await done;
    await worker.terminate();
    assert.equal(got.length, COUNT);
    got.forEach((x, id) => {
      assert.equal(x.stream, id % 2 === 0 ? 1 : 2, `record ${id}'s stream`);
      assert.deepEqual(x.bytes, record(id, SIZE), `record ${id}'s bytes`);
    });
  });

  it("what was written survives the writer being terminated", { timeout: 30_000 }, async () => {
    const ch = ringChannel(SMALL);
    const { worker, done } = writer(ch, 3, 1000, true);
    await done;
    await worker.terminate();
    assert.deepEqual(
      new RingReader(ch).drain().map((x) => x.bytes),
      [0, 1, 2].map((id) => record(id, 1000)),
    );
  });
});
