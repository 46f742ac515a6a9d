import assert from "node:assert/strict";
import { it } from "node:test";
import { bytesEqual, fromHex, hexOffset, nonZeroOffsets, reversed, toHex } from "./_bytes.ts";

it("hex round-trips and refuses what is not hex", () => {
  assert.equal(toHex(new Uint8Array([0, 1, 0xab, 0xff])), "0001abff");
  assert.deepEqual(fromHex("0001ABff"), new Uint8Array([0, 1, 0xab, 0xff]));
  assert.deepEqual(fromHex(""), new Uint8Array(0));
  for (const bad of ["0", "0g", "0x00", " 00", "00 "]) assert.equal(fromHex(bad), undefined, bad);
});

it("bytesEqual compares length and content", () => {
  assert.ok(bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2])));
  assert.ok(!bytesEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3])));
  assert.ok(!bytesEqual(new Uint8Array([1]), new Uint8Array([1, 0])));
});

it("nonZeroOffsets, hexOffset and reversed", () => {
  assert.deepEqual(nonZeroOffsets(new Uint8Array([0, 5, 0, 7])), [1, 3]);
  assert.deepEqual(nonZeroOffsets(new Uint8Array([0, 5]), 0x100), [0x101]);
  assert.equal(hexOffset(0x4c), "0x04C");
  assert.equal(hexOffset(0x4c, 1), "0x4C");
  assert.deepEqual(reversed(new Uint8Array([1, 2, 3])), new Uint8Array([3, 2, 1]));
});
