/** The certificate table parser: the well-formed shapes, and a malformed-input table. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EvidenceError } from "../error.ts";
import {
  parseSnpCertTable,
  SNP_CERT_GUIDS,
  SNP_CERT_TABLE_ENTRY_SIZE,
  SNP_CERT_TABLE_MAX_ENTRIES,
  SNP_CERT_TABLE_MAX_SIZE,
} from "./certtable.ts";

function guidBytes(guid: string): Uint8Array {
  const hex = guid.replaceAll("-", "");
  return Uint8Array.from({ length: 16 }, (_, i) =>
    Number.parseInt(hex.slice(2 * i, 2 * i + 2), 16),
  );
}

interface RawEntry {
  guid: string | Uint8Array;
  offset: number;
  length: number;
}

/** Header entries (a terminator is NOT added), then `body` at the end. */
function raw(entries: RawEntry[], size: number, fill: [number, Uint8Array][] = []): Uint8Array {
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  entries.forEach((e, i) => {
    out.set(typeof e.guid === "string" ? guidBytes(e.guid) : e.guid, i * 24);
    view.setUint32(i * 24 + 16, e.offset, true);
    view.setUint32(i * 24 + 20, e.length, true);
  });
  for (const [at, bytes] of fill) out.set(bytes, at);
  return out;
}

/** A well-formed table of `certs` laid out contiguously after the terminator. */
function table(certs: [string, Uint8Array][]): Uint8Array {
  let at = (certs.length + 1) * SNP_CERT_TABLE_ENTRY_SIZE;
  const entries: RawEntry[] = [];
  const fill: [number, Uint8Array][] = [];
  for (const [guid, data] of certs) {
    entries.push({ guid, offset: at, length: data.length });
    fill.push([at, data]);
    at += data.length;
  }
  return raw(entries, at, fill);
}

const ARK = new Uint8Array([0x30, 1, 1]);
const ASK = new Uint8Array([0x30, 2, 2, 2]);
const VCEK = new Uint8Array([0x30, 3]);

describe("parseSnpCertTable", () => {
  it("reads ARK, ASK and VCEK by GUID, in table order, with offsets", () => {
    const bytes = table([
      [SNP_CERT_GUIDS.ark, ARK],
      [SNP_CERT_GUIDS.ask, ASK],
      [SNP_CERT_GUIDS.vcek, VCEK],
    ]);
    const t = parseSnpCertTable(bytes);
    assert.deepEqual(
      t.entries.map((e) => [e.role, e.guid, e.offset]),
      [
        ["ark", SNP_CERT_GUIDS.ark, 96],
        ["ask", SNP_CERT_GUIDS.ask, 99],
        ["vcek", SNP_CERT_GUIDS.vcek, 103],
      ],
    );
    assert.deepEqual(t.ark, ARK);
    assert.deepEqual(t.ask, ASK);
    assert.deepEqual(t.vcek, VCEK);
    assert.equal(t.vlek, null);
  });

  it("keeps an unknown GUID with role null, and accepts a VLEK", () => {
    const other = "00000000-0000-c0de-0000-000000000000";
    const t = parseSnpCertTable(
      table([
        [SNP_CERT_GUIDS.vlek, VCEK],
        [other, ASK],
      ]),
    );
    assert.deepEqual(
      t.entries.map((e) => [e.role, e.guid]),
      [
        ["vlek", SNP_CERT_GUIDS.vlek],
        [null, other],
      ],
    );
    assert.deepEqual(t.vlek, VCEK);
    assert.equal(t.vcek, null);
  });

  it("accepts a table with only the terminator (no certificates)", () => {
    const t = parseSnpCertTable(new Uint8Array(24));
    assert.deepEqual(t.entries, []);
  });

  it("accepts zero padding between certificates and returns copies", () => {
    // Header 48 bytes, 4 zero bytes of padding, then the ARK at 52.
    const padded = raw([{ guid: SNP_CERT_GUIDS.ark, offset: 52, length: 4 }], 56, [
      [52, new Uint8Array([1, 2, 3, 4])],
    ]);
    const t = parseSnpCertTable(padded);
    assert.deepEqual(t.ark, new Uint8Array([1, 2, 3, 4]));
    t.ark![0] = 0xff;
    assert.equal(padded[52], 1);
  });

  const cases: [string, Uint8Array, RegExp][] = [
    ["empty input", new Uint8Array(0), /no all-zero terminator/],
    [
      "no terminator",
      table([[SNP_CERT_GUIDS.vcek, VCEK]]).subarray(0, 24),
      /no all-zero terminator/,
    ],
    [
      "zero GUID with an offset",
      raw([{ guid: new Uint8Array(16), offset: 24, length: 0 }], 24),
      /zero GUID but offset 24, length 0/,
    ],
    [
      "zero GUID with a length",
      raw([{ guid: new Uint8Array(16), offset: 0, length: 5 }], 24),
      /zero GUID but offset 0, length 5/,
    ],
    [
      "entry of length 0",
      raw([{ guid: SNP_CERT_GUIDS.vcek, offset: 48, length: 0 }], 48),
      /has length 0/,
    ],
    [
      "entry pointing into the header",
      raw([{ guid: SNP_CERT_GUIDS.vcek, offset: 40, length: 8 }], 48),
      /inside the 48-byte header/,
    ],
    [
      "entry past the end",
      raw([{ guid: SNP_CERT_GUIDS.vcek, offset: 48, length: 9 }], 56, [[48, VCEK]]),
      /spans 48\.\.57, past the end of the 56-byte table/,
    ],
    [
      "entry whose offset + length overflows u32 arithmetic",
      raw([{ guid: SNP_CERT_GUIDS.vcek, offset: 0xffff_fff0, length: 0x20 }], 48),
      /past the end/,
    ],
    [
      "overlapping entries",
      raw(
        [
          { guid: SNP_CERT_GUIDS.ask, offset: 72, length: 4 },
          { guid: SNP_CERT_GUIDS.vcek, offset: 74, length: 4 },
        ],
        78,
        [[72, new Uint8Array([1, 1, 1, 1, 1, 1])]],
      ),
      /entry 1 \(63da758d-.*\) overlaps another entry at 0x4a/,
    ],
    [
      "repeated GUID",
      raw(
        [
          { guid: SNP_CERT_GUIDS.vcek, offset: 72, length: 1 },
          { guid: SNP_CERT_GUIDS.vcek, offset: 73, length: 1 },
        ],
        74,
        [[72, new Uint8Array([1, 1])]],
      ),
      /GUID 63da758d-e664-4564-adc5-f4b93be8accd appears twice/,
    ],
    [
      "trailing bytes",
      (() => {
        const t = table([[SNP_CERT_GUIDS.vcek, VCEK]]);
        const out = new Uint8Array(t.length + 3);
        out.set(t);
        return out;
      })(),
      /3 trailing bytes after the last certificate \(ends at 50\)/,
    ],
    [
      "non-zero byte between certificates",
      raw([{ guid: SNP_CERT_GUIDS.vcek, offset: 52, length: 2 }], 54, [
        [49, new Uint8Array([7])],
        [52, new Uint8Array([1, 2])],
      ]),
      /non-zero byte 0x7 at 0x31 outside any certificate/,
    ],
    [
      "too large",
      new Uint8Array(SNP_CERT_TABLE_MAX_SIZE + 1),
      /expected at most 32768 bytes, got 32769/,
    ],
    [
      "too many entries",
      raw(
        Array.from({ length: SNP_CERT_TABLE_MAX_ENTRIES + 1 }, (_, i) => {
          const g = new Uint8Array(16);
          g[15] = i + 1;
          return { guid: g, offset: 0, length: 0 };
        }),
        (SNP_CERT_TABLE_MAX_ENTRIES + 2) * 24,
      ),
      /more than 64 entries/,
    ],
  ];
  for (const [name, bytes, message] of cases) {
    it(`rejects ${name} with snp.certtable.malformed`, () => {
      assert.throws(
        () => parseSnpCertTable(bytes),
        (e: unknown) =>
          e instanceof EvidenceError &&
          e.code === "snp.certtable.malformed" &&
          message.test(e.message),
      );
    });
  }
});
