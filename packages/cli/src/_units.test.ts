import assert from "node:assert/strict";
import { test } from "node:test";
import { formatDuration, formatMiB, parseDuration, parseSize } from "./_units.ts";

const sizes: [string, number | null][] = [
  ["0", 0],
  ["65536", 65536],
  ["100B", 100],
  ["64KiB", 65536],
  ["256MiB", 256 * 1024 ** 2],
  ["1GiB", 1024 ** 3],
  ["1.5GiB", 1.5 * 1024 ** 3],
  ["2 MiB", 2 * 1024 ** 2],
  ["1MB", 1_000_000],
  ["1KB", 1000],
  ["4GB", 4_000_000_000],
  ["", null],
  ["MiB", null],
  ["1M", null],
  ["1mib", null],
  ["-1", null],
  ["1e6", null],
  ["0x10", null],
  ["1.5", 1],
];
for (const [s, want] of sizes)
  test(`parseSize(${JSON.stringify(s)})`, () => assert.equal(parseSize(s), want));

const durations: [string, number | null][] = [
  ["500ms", 500],
  ["10s", 10000],
  ["1.5s", 1500],
  ["2m", 120000],
  ["1h", 3600000],
  ["0s", 0],
  ["10", null],
  ["10sec", null],
  ["1d", null],
  ["-1s", null],
  ["", null],
];
for (const [s, want] of durations) {
  test(`parseDuration(${JSON.stringify(s)})`, () => assert.equal(parseDuration(s), want));
}

test("formatMiB", () => {
  assert.equal(formatMiB(256 * 1024 ** 2), "256 MiB");
  assert.equal(formatMiB(65536), "0.06 MiB");
  assert.equal(formatMiB(4 * 1024 ** 3), "4096 MiB");
});

test("formatDuration picks the largest unit that divides", () => {
  assert.deepEqual([10000, 1500, 120000, 7200000, 90000, 1].map(formatDuration), [
    "10s",
    "1500ms",
    "2m",
    "2h",
    "90s",
    "1ms",
  ]);
});
