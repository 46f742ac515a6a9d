// Drains its stdin (a pipe from the program under test) for bench/run.ts's
// stdout-throughput rows, and says how fast the bytes came:
//
//   PROGRAM | node bench/drain.mjs REPORT.json
//
// It counts the bytes, notes when the first and the last arrived
// (performance.timeOrigin-based, ms, comparable across processes) and keeps
// the first and last 16 bytes so that the output can be checked without
// storing 64 MiB. Reads with readSync into one 1 MiB buffer: the drain should
// cost less than anything it measures.
import { readSync, writeFileSync } from "node:fs";

const file = process.argv[2];
if (!file) {
  process.stderr.write("usage: PROGRAM | node bench/drain.mjs REPORT.json\n");
  process.exit(2);
}
const buf = Buffer.allocUnsafe(1 << 20);
let bytes = 0;
let reads = 0;
let first = null;
let last = null;
let head = Buffer.alloc(0);
const tail = Buffer.alloc(16);
let tailLen = 0;
for (;;) {
  let n;
  try {
    n = readSync(0, buf, 0, buf.length, null);
  } catch (e) {
    if (e.code === "EAGAIN") continue;
    if (e.code === "EOF") break;
    throw e;
  }
  if (n === 0) break;
  const now = performance.timeOrigin + performance.now();
  first ??= now;
  last = now;
  reads++;
  bytes += n;
  if (head.length < 16)
    head = Buffer.concat([head, buf.subarray(0, Math.min(n, 16 - head.length))]);
  // The last 16 bytes seen, across read boundaries.
  if (n >= 16) {
    buf.copy(tail, 0, n - 16, n);
    tailLen = 16;
  } else {
    const keep = Math.min(tailLen, 16 - n);
    tail.copy(tail, 0, tailLen - keep, tailLen);
    buf.copy(tail, keep, 0, n);
    tailLen = keep + n;
  }
}
writeFileSync(
  file,
  `${JSON.stringify({
    bytes,
    reads,
    firstMs: first,
    lastMs: last,
    head: head.toString("latin1"),
    tail: tail.subarray(0, tailLen).toString("latin1"),
  })}\n`,
);
