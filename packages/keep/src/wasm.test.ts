import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { KeepError } from "./error.ts";
import { capMemories, encodeUleb, readModule } from "./wasm.ts";

const HEADER = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
const enc = new TextEncoder();

function name(s: string): number[] {
  const b = enc.encode(s);
  return [...encodeUleb(b.length), ...b];
}
function section(id: number, content: number[]): number[] {
  return [id, ...encodeUleb(content.length), ...content];
}
function vec(items: number[][]): number[] {
  return [...encodeUleb(items.length), ...items.flat()];
}
function mod(...sections: number[][]): Uint8Array<ArrayBuffer> {
  return Uint8Array.from([...HEADER, ...sections.flat()]);
}
const funcImport = (m: string, n: string): number[] => [...name(m), ...name(n), 0x00, 0x00];
/** Type section with one type: () -> (). */
const TYPES = section(1, vec([[0x60, 0x00, 0x00]]));

describe("readModule: well-formed modules", () => {
  test("the empty module", () => {
    const info = readModule(mod());
    assert.deepEqual(info.imports, []);
    assert.deepEqual(info.memories, []);
  });

  test("imports of every kind, in order", () => {
    const bytes = mod(
      TYPES,
      section(
        2,
        vec([
          funcImport("wasi_snapshot_preview1", "fd_write"),
          [...name("env"), ...name("table"), 0x01, 0x70, 0x00, 0x01],
          [...name("env"), ...name("memory"), 0x02, 0x01, 0x02, 0x10],
          [...name("env"), ...name("g"), 0x03, 0x7f, 0x01],
          [...name("env"), ...name("ref"), 0x03, 0x64, 0x70, 0x00],
          [...name("env"), ...name("tag"), 0x04, 0x00, 0x00],
        ]),
      ),
    );
    const info = readModule(bytes);
    assert.deepEqual(
      info.imports.map((i) => `${i.module}.${i.name}:${i.kind}`),
      [
        "wasi_snapshot_preview1.fd_write:function",
        "env.table:table",
        "env.memory:memory",
        "env.g:global",
        "env.ref:global",
        "env.tag:tag",
      ],
    );
    assert.equal(info.memories.length, 1);
    assert.deepEqual(
      { ...info.memories[0], limitsStart: 0, limitsEnd: 0 },
      { imported: true, min: 2, max: 16, shared: false, is64: false, limitsStart: 0, limitsEnd: 0 },
    );
  });

  test("defined memories: no maximum, maximum, shared, 64-bit, padded LEB", () => {
    const info = readModule(
      mod(
        section(
          5,
          vec([
            [0x00, 0x11],
            [0x01, 0x01, 0x80, 0x02],
            [0x03, 0x01, 0x02],
            [0x04, 0x05],
            [0x00, 0x81, 0x80, 0x80, 0x80, 0x00], // 1, padded to 5 bytes (valid)
          ]),
        ),
      ),
    );
    assert.deepEqual(
      info.memories.map((m) => [m.min, m.max, m.shared, m.is64]),
      [
        [17, null, false, false],
        [1, 256, false, false],
        [1, 2, true, false],
        [5, null, false, true],
        [1, null, false, false],
      ],
    );
  });

  test("custom and unknown-to-us sections are skipped whole", () => {
    const info = readModule(
      mod(section(0, [...name("name"), 1, 2, 3]), TYPES, section(5, vec([[0x00, 0x01]]))),
    );
    assert.equal(info.memories[0]!.min, 1);
  });
});

describe("readModule: malformed input", () => {
  const cases: [string, Uint8Array, string][] = [
    [
      "empty file",
      new Uint8Array(0),
      "not a WebAssembly module: expected magic 00 61 73 6d, found an empty file",
    ],
    [
      "short text file",
      Uint8Array.from([0x68, 0x69, 0x0a]),
      "not a WebAssembly module: expected magic 00 61 73 6d, found 68 69 0a",
    ],
    [
      "truncated header",
      Uint8Array.from([0, 0x61, 0x73, 0x6d, 1]),
      "not a WebAssembly module: 5 bytes, shorter than the 8-byte header",
    ],
    [
      "bad magic",
      Uint8Array.from([0x7f, 0x45, 0x4c, 0x46, 1, 0, 0, 0]),
      "not a WebAssembly module: expected magic 00 61 73 6d, found 7f 45 4c 46",
    ],
    [
      "bad version",
      Uint8Array.from([0, 0x61, 0x73, 0x6d, 2, 0, 0, 0]),
      "unsupported WebAssembly version: expected 01 00 00 00, found 02 00 00 00",
    ],
    [
      "a component",
      Uint8Array.from([0, 0x61, 0x73, 0x6d, 0x0d, 0, 1, 0]),
      "this is a WebAssembly component; donjon runs core modules (WASI preview1)",
    ],
    [
      "truncated section size LEB",
      mod([0x01, 0x80]),
      "malformed module at byte 0x9: truncated LEB128 integer (section size)",
    ],
    [
      "overlong section size LEB (6 bytes)",
      mod([0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
      "malformed module at byte 0x9: LEB128 integer too long for u32 (section size)",
    ],
    [
      "u32 LEB with bits past 32",
      mod([0x01, 0xff, 0xff, 0xff, 0xff, 0x1f]),
      "malformed module at byte 0x9: LEB128 integer too long for u32 (section size)",
    ],
    [
      "section size past end",
      mod([0x01, 0x05, 0x00]),
      "malformed module at byte 0x8: section 1 claims 5 bytes but only 1 remain",
    ],
    [
      "unknown section id",
      mod([0x2a, 0x00]),
      "malformed module at byte 0x8: unknown section id 42",
    ],
    [
      "import count too large",
      mod(section(2, [0x80, 0x80, 0x04])),
      "malformed module at byte 0xa: import count 65536 is larger than the 0 bytes that remain",
    ],
    [
      "memory count too large",
      mod(section(5, [0x03, 0x00, 0x01])),
      "malformed module at byte 0xa: memory count 3 is larger than the 2 bytes that remain",
    ],
    [
      "name length past the section",
      mod(section(2, [0x01, 0x09, 0x61, 0x00, 0x00, 0x00])),
      "malformed module at byte 0xb: import module name count 9 is larger than the 4 bytes that remain",
    ],
    [
      "name not UTF-8",
      mod(section(2, [0x01, 0x01, 0xff, 0x00, 0x00, 0x00])),
      "malformed module at byte 0xb: import module name is not valid UTF-8",
    ],
    [
      "unknown import kind",
      mod(section(2, [0x01, ...name("a"), ...name("b"), 0x07, 0x00])),
      "malformed module at byte 0xf: unknown import kind 0x7",
    ],
    [
      "truncated import",
      mod(section(2, [0x01, ...name("a"), ...name("b"), 0x02])),
      "malformed module at byte 0x10: unexpected end while reading memory limits",
    ],
    [
      "unknown value type",
      mod(section(2, [0x01, ...name("a"), ...name("b"), 0x03, 0x40, 0x00])),
      "malformed module at byte 0x10: unknown value type 0x40",
    ],
    [
      "bad global mutability",
      mod(section(2, [0x01, ...name("a"), ...name("b"), 0x03, 0x7f, 0x02])),
      "malformed module at byte 0x11: global mutability must be 0 or 1, got 2",
    ],
    [
      "unsupported limits flags",
      mod(section(5, [0x01, 0x08, 0x01])),
      "malformed module at byte 0xb: unsupported memory limits flags 0x8",
    ],
    [
      "truncated memory maximum",
      mod(section(5, [0x01, 0x01, 0x01, 0x80])),
      "malformed module at byte 0xd: truncated LEB128 integer (memory maximum)",
    ],
    [
      "trailing bytes in a section",
      mod(section(5, [0x01, 0x00, 0x01, 0x00])),
      "malformed module at byte 0xd: section 5 has 1 trailing bytes",
    ],
    [
      "overlong s33 heap type",
      mod(
        section(2, [
          0x01,
          ...name("a"),
          ...name("b"),
          0x03,
          0x64,
          0x80,
          0x80,
          0x80,
          0x80,
          0x80,
          0x00,
          0x00,
        ]),
      ),
      "malformed module at byte 0x11: LEB128 integer too long for s33 (heap type)",
    ],
  ];
  for (const [what, bytes, message] of cases) {
    test(what, () => {
      assert.throws(
        () => readModule(bytes),
        (e: unknown) => {
          assert.ok(e instanceof KeepError);
          assert.equal(e.code, "keep.module.invalid");
          assert.equal(e.message, message);
          return true;
        },
      );
    });
  }
});

describe("capMemories", () => {
  const start = (body: number[]): number[] =>
    section(10, vec([[...encodeUleb(body.length + 2), 0x00, ...body, 0x0b]]));
  const exportStart = section(7, vec([[...name("_start"), 0x00, 0x00]]));

  test("adds a maximum where there is none, and the engine accepts the result", () => {
    const bytes = mod(
      TYPES,
      section(3, vec([[0x00]])),
      section(5, vec([[0x00, 0x01]])),
      exportStart,
      start([]),
    );
    const capped = capMemories(bytes, readModule(bytes), 16);
    assert.ok(WebAssembly.validate(capped));
    assert.deepEqual(
      readModule(capped).memories.map((m) => [m.min, m.max]),
      [[1, 16]],
    );
    // memory.grow past the cap fails instead of growing.
    const grow = mod(
      section(1, vec([[0x60, 0x00, 0x01, 0x7f]])),
      section(3, vec([[0x00]])),
      section(5, vec([[0x00, 0x01]])),
      section(7, vec([[...name("grow"), 0x00, 0x00]])),
      section(10, vec([[0x06, 0x00, 0x41, 0x10, 0x40, 0x00, 0x0b]])), // memory.grow(16)
    );
    const inst = new WebAssembly.Instance(
      new WebAssembly.Module(capMemories(grow, readModule(grow), 16)),
    );
    assert.equal((inst.exports.grow as () => number)(), -1);
  });

  test("lowers a maximum above the cap, keeps one below it, leaves 64-bit memories alone", () => {
    const bytes = mod(
      section(
        5,
        vec([
          [0x01, 0x01, 0x80, 0x80, 0x04], // max 65536
          [0x01, 0x01, 0x08], // max 8
          [0x04, 0x01],
        ]),
      ),
    );
    const capped = capMemories(bytes, readModule(bytes), 16);
    assert.deepEqual(
      readModule(capped).memories.map((m) => [m.min, m.max]),
      [
        [1, 16],
        [1, 8],
        [1, null],
      ],
    );
  });

  test("rewrites an imported memory and keeps the bytes around it", () => {
    const custom = section(0, [...name("x"), 9, 9]);
    const bytes = mod(
      TYPES,
      section(
        2,
        vec([
          funcImport("a", "f"),
          [...name("env"), ...name("memory"), 0x02, 0x00, 0x02],
          funcImport("a", "g"),
        ]),
      ),
      custom,
    );
    const capped = capMemories(bytes, readModule(bytes), 300);
    const info = readModule(capped);
    assert.deepEqual(
      info.imports.map((i) => `${i.module}.${i.name}`),
      ["a.f", "env.memory", "a.g"],
    );
    assert.deepEqual([info.memories[0]!.min, info.memories[0]!.max], [2, 300]);
    assert.deepEqual([...capped.subarray(capped.length - custom.length)], custom);
  });

  test("returns the input when nothing needs a cap", () => {
    const bytes = mod(section(5, vec([[0x01, 0x01, 0x02]])));
    assert.equal(capMemories(bytes, readModule(bytes), 16), bytes);
  });
});

test("encodeUleb is minimal", () => {
  assert.deepEqual(encodeUleb(0), [0]);
  assert.deepEqual(encodeUleb(127), [0x7f]);
  assert.deepEqual(encodeUleb(128), [0x80, 0x01]);
  assert.deepEqual(encodeUleb(65536), [0x80, 0x80, 0x04]);
});
