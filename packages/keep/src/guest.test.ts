import assert from "node:assert/strict";
import { test } from "node:test";
import { asTrap, wasmFrames } from "./guest.ts";

test("wasm frames: named, unnamed, JS frames dropped, recursion folded", () => {
  const stack = `RuntimeError: unreachable
    at crash (wasm://wasm/28726e22:wasm-function[12]:0x1c3)
    at wasm://wasm/28726e22:wasm-function[3]:0x4f
    at std::rt::lang_start::h1c2 (wasm://wasm/app-9a8b7c6d:wasm-function[40]:0x2a00)
    at rec (wasm://wasm/28726e22:wasm-function[7]:0x59)
    at rec (wasm://wasm/28726e22:wasm-function[7]:0x59)
    at rec (wasm://wasm/28726e22:wasm-function[7]:0x59)
    at Wasi.start (file:///work/packages/wasi/src/wasi.ts:212:7)
    at runGuest (file:///work/packages/keep/src/guest.ts:80:24)`;
  assert.deepEqual(wasmFrames(stack), [
    "at crash (wasm function 12)",
    "at wasm function 3",
    "at std::rt::lang_start::h1c2 (wasm function 40)",
    "at rec (wasm function 7) (3 times)",
  ]);
});

test("a real trap from the engine", () => {
  // wat2wasm --debug-names of (module (func $boom (export "boom") unreachable))
  const bytes = Uint8Array.from([
    0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 7, 8, 1, 4, 98, 111, 111, 109, 0, 0,
    10, 5, 1, 3, 0, 0, 11, 0, 19, 4, 110, 97, 109, 101, 1, 7, 1, 0, 4, 98, 111, 111, 109, 2, 3, 1,
    0, 0,
  ]);
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes));
  let caught: unknown;
  try {
    (inst.exports.boom as () => void)();
  } catch (e) {
    caught = e;
  }
  assert.deepEqual(asTrap(caught), {
    message: "unreachable executed",
    frames: ["at boom (wasm function 0)"],
  });
});

test("not traps", () => {
  assert.equal(asTrap(new Error("x")), null);
  assert.equal(asTrap(new RangeError("Invalid array length")), null);
  assert.equal(asTrap("string"), null);
});

test("a stack as long as the trace limit was cut: the frames end with ...", () => {
  const e = new WebAssembly.RuntimeError("unreachable");
  e.stack =
    "RuntimeError: unreachable\n    at f (wasm://wasm/1:wasm-function[1]:0x1)\n    at f (wasm://wasm/1:wasm-function[1]:0x1)";
  assert.deepEqual(asTrap(e, 2)?.frames, ["at f (wasm function 1) (2 times)", "..."]);
  assert.deepEqual(asTrap(e, 3)?.frames, ["at f (wasm function 1) (2 times)"]);
});
