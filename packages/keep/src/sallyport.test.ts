/**
 * The sallyport codec: what one side encodes the other decodes, however the
 * bytes are cut, and every hostile header is refused with a code and a message
 * naming the frame and where it starts — before its payload is buffered.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { KeepError, type KeepErrorCode } from "./error.ts";
import {
  CERTIFICATE_MAX,
  DATA_CHUNK,
  decodeJsonPayload,
  decodeU32,
  encodeFrame,
  encodeJsonFrame,
  encodeStdinRead,
  FRAME,
  type Frame,
  FrameDecoder,
  type FrameType,
  frameName,
  HEADER_SIZE,
  LOAD_CHUNK,
  type Receiver,
} from "./sallyport.ts";

/** A raw header, so a test can say anything a hostile peer could. */
function header(version: number, type: number, length: number, reserved = 0): Uint8Array {
  const h = new Uint8Array(HEADER_SIZE);
  const v = new DataView(h.buffer);
  h[0] = version;
  h[1] = type;
  v.setUint16(2, reserved);
  v.setUint32(4, length);
  return h;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function isKeepError(code: KeepErrorCode, message: string) {
  return (e: unknown) => {
    assert.ok(e instanceof KeepError, `expected a KeepError, got ${e}`);
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    return true;
  };
}

const utf8 = new TextEncoder();
const KEEP_ACCEPTS =
  "START (0x81), MODULE (0x82), CONFIG (0x83), STDIN_DATA (0x84), STDIN_EOF (0x85), CONNECTED (0x86), SOCKET_RECV (0x87), SOCKET_CLOSED (0x88), ACCEPTED (0x89)";
const HOST_ACCEPTS =
  "HELLO (0x01), EVIDENCE (0x02), STDOUT (0x03), STDERR (0x04), STDIN_READ (0x05), EXIT (0x06), CONNECT (0x07), SOCKET_SEND (0x08), SOCKET_CLOSE (0x09), SOCKET_CREDIT (0x0a), CERTIFICATE (0x0b)";

/** A stream of frames for each direction, covering empty, small and maximal payloads. */
const TO_KEEP: Frame[] = [
  { type: FRAME.START, payload: utf8.encode('{"a":1}') },
  { type: FRAME.MODULE, payload: Uint8Array.from({ length: 300 }, (_, i) => i & 0xff) },
  { type: FRAME.CONFIG, payload: new Uint8Array([0]) },
  { type: FRAME.STDIN_DATA, payload: new Uint8Array(DATA_CHUNK).fill(7) },
  { type: FRAME.STDIN_EOF, payload: new Uint8Array(0) },
  { type: FRAME.CONNECTED, payload: utf8.encode('{"id":1,"ok":true}') },
  { type: FRAME.SOCKET_RECV, payload: new Uint8Array(4 + DATA_CHUNK).fill(3) },
  { type: FRAME.SOCKET_RECV, payload: new Uint8Array([0, 0, 0, 1, 9]) },
  { type: FRAME.SOCKET_CLOSED, payload: new Uint8Array([0, 0, 0, 1]) },
];
const TO_HOST: Frame[] = [
  { type: FRAME.HELLO, payload: utf8.encode("{}") },
  { type: FRAME.EVIDENCE, payload: utf8.encode('{"x":"y"}') },
  { type: FRAME.STDOUT, payload: utf8.encode("hello\n") },
  { type: FRAME.STDERR, payload: new Uint8Array([0xff]) },
  { type: FRAME.STDIN_READ, payload: new Uint8Array([0, 1, 0, 0]) },
  { type: FRAME.CONNECT, payload: utf8.encode('{"id":1,"purpose":"steward"}') },
  { type: FRAME.SOCKET_SEND, payload: new Uint8Array(4 + DATA_CHUNK).fill(5) },
  { type: FRAME.SOCKET_CREDIT, payload: new Uint8Array([0, 0, 0, 1, 0, 0, 1, 0]) },
  { type: FRAME.SOCKET_CLOSE, payload: new Uint8Array([0, 0, 0, 1]) },
  { type: FRAME.CERTIFICATE, payload: new Uint8Array(CERTIFICATE_MAX).fill(0x41) },
  { type: FRAME.EXIT, payload: utf8.encode('{"kind":"exit"}') },
];

describe("encodeFrame / FrameDecoder round trip", () => {
  for (const [receiver, frames] of [
    ["keep", TO_KEEP],
    ["host", TO_HOST],
  ] as const) {
    const stream = concat(...frames.map((f) => encodeFrame(f.type, f.payload)));

    it(`${receiver}: the whole stream in one chunk gives every frame, in order`, () => {
      const d = new FrameDecoder(receiver);
      assert.deepEqual(d.push(stream), frames);
      d.end();
    });

    it(`${receiver}: the stream fed byte by byte gives the same frames`, () => {
      const d = new FrameDecoder(receiver);
      const got: Frame[] = [];
      for (let i = 0; i < stream.length; i++) got.push(...d.push(stream.subarray(i, i + 1)));
      assert.deepEqual(got, frames);
      d.end();
    });

    it(`${receiver}: a frame is returned only once its last byte arrived`, () => {
      const d = new FrameDecoder(receiver);
      const first = encodeFrame(frames[0]!.type, frames[0]!.payload);
      assert.deepEqual(d.push(first.subarray(0, first.length - 1)), []);
      assert.deepEqual(d.push(first.subarray(first.length - 1)), [frames[0]]);
    });
  }

  it("lays the header out as the spec says: version, type, zero, u32 big-endian length", () => {
    const f = encodeFrame(FRAME.STDOUT, new Uint8Array(0x0102));
    assert.deepEqual([...f.subarray(0, HEADER_SIZE)], [1, 0x03, 0, 0, 0, 0, 0x01, 0x02]);
  });

  it("a payload is a copy: it does not change when the fed chunk is reused", () => {
    const d = new FrameDecoder("host");
    const chunk = encodeFrame(FRAME.STDOUT, utf8.encode("abc"));
    const [f] = d.push(chunk);
    chunk.fill(0);
    assert.deepEqual(f!.payload, utf8.encode("abc"));
  });

  it("encodes JSON frames and STDIN_READ counts that decode back", () => {
    const d = new FrameDecoder("host");
    const [hello, read] = d.push(
      concat(encodeJsonFrame(FRAME.HELLO, { backend: "sandbox" }), encodeStdinRead(65536)),
    );
    assert.deepEqual(decodeJsonPayload(hello!), { backend: "sandbox" });
    assert.equal(decodeU32(read!.payload), 65536);
  });

  it("encodeFrame refuses a payload outside its type's bounds: a bug of the sender", () => {
    assert.throws(() => encodeFrame(FRAME.STDOUT), {
      name: "RangeError",
      message: "STDOUT (0x03) payload of 0 bytes is outside 1..65536",
    });
    assert.throws(() => encodeFrame(FRAME.MODULE, new Uint8Array(LOAD_CHUNK + 1)), RangeError);
    assert.throws(() => encodeFrame(FRAME.STDIN_EOF, new Uint8Array(1)), RangeError);
  });

  it("frameName names known types and prints unknown ones in hex", () => {
    assert.equal(frameName(FRAME.STDIN_DATA), "STDIN_DATA (0x84)");
    assert.equal(frameName(0x7f), "0x7f");
    assert.equal(frameName(0), "0x00");
  });
});

/**
 * Each row: what a hostile peer sends to `receiver`, and the one error the
 * decoder must raise. `end` rows close the stream after the bytes.
 */
const HOSTILE: {
  name: string;
  receiver: Receiver;
  bytes: Uint8Array;
  end?: boolean;
  code: KeepErrorCode;
  message: string;
}[] = [
  {
    name: "wrong version",
    receiver: "keep",
    bytes: header(2, FRAME.START, 2),
    code: "keep.sallyport.version",
    message: "sallyport: frame at byte 0 has version 2; expected 1",
  },
  {
    name: "version 0",
    receiver: "keep",
    bytes: header(0, FRAME.START, 2),
    code: "keep.sallyport.version",
    message: "sallyport: frame at byte 0 has version 0; expected 1",
  },
  {
    name: "unknown type",
    receiver: "keep",
    bytes: header(1, 0x90, 0),
    code: "keep.sallyport.type",
    message: `sallyport: unknown frame type 0x90 at byte 0 (the keep accepts ${KEEP_ACCEPTS})`,
  },
  {
    name: "a Keep → host type sent to the Keep",
    receiver: "keep",
    bytes: header(1, FRAME.STDOUT, 1),
    code: "keep.sallyport.type",
    message: `sallyport: frame type STDOUT (0x03) is sent the other way; it arrived at byte 0 (the keep accepts ${KEEP_ACCEPTS})`,
  },
  {
    name: "a host → Keep type sent to the host",
    receiver: "host",
    bytes: header(1, FRAME.START, 2),
    code: "keep.sallyport.type",
    message: `sallyport: frame type START (0x81) is sent the other way; it arrived at byte 0 (the host accepts ${HOST_ACCEPTS})`,
  },
  {
    name: "non-zero reserved (high byte)",
    receiver: "keep",
    bytes: header(1, FRAME.START, 2, 0x0100),
    code: "keep.sallyport.reserved",
    message: "sallyport: START (0x81) at byte 0 has reserved bytes 01 00; expected 00 00",
  },
  {
    name: "non-zero reserved (low byte)",
    receiver: "keep",
    bytes: header(1, FRAME.STDIN_EOF, 0, 0x0001),
    code: "keep.sallyport.reserved",
    message: "sallyport: STDIN_EOF (0x85) at byte 0 has reserved bytes 00 01; expected 00 00",
  },
  {
    // Only the header is fed: the decoder must refuse before a payload arrives.
    name: "MODULE over its max, header only",
    receiver: "keep",
    bytes: header(1, FRAME.MODULE, LOAD_CHUNK + 1),
    code: "keep.sallyport.length",
    message:
      "sallyport: MODULE (0x82) at byte 0 declares 1048577 payload bytes; expected 1 to 1048576",
  },
  {
    name: "STDIN_DATA of 4 GiB − 1, header only",
    receiver: "keep",
    bytes: header(1, FRAME.STDIN_DATA, 0xffffffff),
    code: "keep.sallyport.length",
    message:
      "sallyport: STDIN_DATA (0x84) at byte 0 declares 4294967295 payload bytes; expected 1 to 65536",
  },
  {
    name: "STDOUT over its max, header only",
    receiver: "host",
    bytes: header(1, FRAME.STDOUT, DATA_CHUNK + 1),
    code: "keep.sallyport.length",
    message: "sallyport: STDOUT (0x03) at byte 0 declares 65537 payload bytes; expected 1 to 65536",
  },
  {
    name: "STDIN_READ with 3 bytes",
    receiver: "host",
    bytes: concat(header(1, FRAME.STDIN_READ, 3), new Uint8Array(3)),
    code: "keep.sallyport.length",
    message: "sallyport: STDIN_READ (0x05) at byte 0 declares 3 payload bytes; expected 4",
  },
  {
    name: "STDIN_EOF with 1 byte",
    receiver: "keep",
    bytes: concat(header(1, FRAME.STDIN_EOF, 1), new Uint8Array(1)),
    code: "keep.sallyport.length",
    message: "sallyport: STDIN_EOF (0x85) at byte 0 declares 1 payload byte; expected 0",
  },
  {
    name: "SOCKET_RECV over 4 + 64 KiB, header only",
    receiver: "keep",
    bytes: header(1, FRAME.SOCKET_RECV, 4 + DATA_CHUNK + 1),
    code: "keep.sallyport.length",
    message:
      "sallyport: SOCKET_RECV (0x87) at byte 0 declares 65541 payload bytes; expected 5 to 65540",
  },
  {
    name: "SOCKET_RECV with an id and no bytes",
    receiver: "keep",
    bytes: concat(header(1, FRAME.SOCKET_RECV, 4), new Uint8Array(4)),
    code: "keep.sallyport.length",
    message:
      "sallyport: SOCKET_RECV (0x87) at byte 0 declares 4 payload bytes; expected 5 to 65540",
  },
  {
    name: "SOCKET_CLOSED with 5 bytes",
    receiver: "keep",
    bytes: concat(header(1, FRAME.SOCKET_CLOSED, 5), new Uint8Array(5)),
    code: "keep.sallyport.length",
    message: "sallyport: SOCKET_CLOSED (0x88) at byte 0 declares 5 payload bytes; expected 4",
  },
  {
    name: "CONNECTED over 1 KiB, header only",
    receiver: "keep",
    bytes: header(1, FRAME.CONNECTED, 1025),
    code: "keep.sallyport.length",
    message:
      "sallyport: CONNECTED (0x86) at byte 0 declares 1025 payload bytes; expected 2 to 1024",
  },
  {
    name: "a Keep → host connection frame (SOCKET_SEND) sent to the Keep",
    receiver: "keep",
    bytes: header(1, FRAME.SOCKET_SEND, 5),
    code: "keep.sallyport.type",
    message: `sallyport: frame type SOCKET_SEND (0x08) is sent the other way; it arrived at byte 0 (the keep accepts ${KEEP_ACCEPTS})`,
  },
  {
    name: "CERTIFICATE over 64 KiB, header only",
    receiver: "host",
    bytes: header(1, FRAME.CERTIFICATE, CERTIFICATE_MAX + 1),
    code: "keep.sallyport.length",
    message:
      "sallyport: CERTIFICATE (0x0b) at byte 0 declares 65537 payload bytes; expected 1 to 65536",
  },
  {
    name: "SOCKET_CREDIT without its byte count",
    receiver: "host",
    bytes: concat(header(1, FRAME.SOCKET_CREDIT, 4), new Uint8Array(4)),
    code: "keep.sallyport.length",
    message: "sallyport: SOCKET_CREDIT (0x0a) at byte 0 declares 4 payload bytes; expected 8",
  },
  {
    name: "START with an empty payload",
    receiver: "keep",
    bytes: header(1, FRAME.START, 0),
    code: "keep.sallyport.length",
    message: "sallyport: START (0x81) at byte 0 declares 0 payload bytes; expected 2 to 65536",
  },
  {
    // The offset names where the bad frame starts in the stream, after the good one.
    name: "a bad header after a good frame in the same chunk",
    receiver: "keep",
    bytes: concat(encodeFrame(FRAME.START, utf8.encode("{}")), header(9, FRAME.MODULE, 1)),
    code: "keep.sallyport.version",
    message: "sallyport: frame at byte 10 has version 9; expected 1",
  },
  {
    name: "a bad header after two good frames in the same chunk",
    receiver: "keep",
    bytes: concat(
      encodeFrame(FRAME.START, utf8.encode("{}")),
      encodeFrame(FRAME.MODULE, new Uint8Array(6)),
      header(1, FRAME.MODULE, 0),
    ),
    code: "keep.sallyport.length",
    message: "sallyport: MODULE (0x82) at byte 24 declares 0 payload bytes; expected 1 to 1048576",
  },
  {
    name: "end inside a header",
    receiver: "keep",
    bytes: header(1, FRAME.START, 2).subarray(0, 3),
    end: true,
    code: "keep.sallyport.truncated",
    message: "sallyport: the channel closed after 3 of the 8 bytes of a frame header at byte 0",
  },
  {
    name: "end inside a payload",
    receiver: "keep",
    bytes: concat(header(1, FRAME.MODULE, 10), new Uint8Array(4)),
    end: true,
    code: "keep.sallyport.truncated",
    message: "sallyport: the channel closed inside MODULE (0x82) (4 of 10 payload bytes) at byte 0",
  },
  {
    name: "end inside a payload after a whole frame",
    receiver: "host",
    bytes: concat(encodeFrame(FRAME.STDOUT, new Uint8Array(2)), header(1, FRAME.STDERR, 5)),
    end: true,
    code: "keep.sallyport.truncated",
    message: "sallyport: the channel closed inside STDERR (0x04) (0 of 5 payload bytes) at byte 10",
  },
];

describe("FrameDecoder: hostile frames", () => {
  for (const row of HOSTILE) {
    it(`${row.name} → ${row.code}`, () => {
      const d = new FrameDecoder(row.receiver);
      const want = isKeepError(row.code, row.message);
      if (row.end) {
        d.push(row.bytes);
        assert.throws(() => d.end(), want);
      } else {
        assert.throws(() => d.push(row.bytes), want);
      }
      // Broken for good: no resynchronising, whatever comes next.
      const next =
        row.receiver === "keep"
          ? encodeFrame(FRAME.STDIN_EOF)
          : encodeFrame(FRAME.STDOUT, new Uint8Array([1]));
      assert.throws(() => d.push(next), want);
      assert.throws(() => d.end(), want);
    });

    if (!row.end) {
      it(`${row.name}, fed byte by byte → the same error at the same offset`, () => {
        const d = new FrameDecoder(row.receiver);
        assert.throws(
          () => {
            for (let i = 0; i < row.bytes.length; i++) d.push(row.bytes.subarray(i, i + 1));
          },
          isKeepError(row.code, row.message),
        );
      });
    }
  }

  it("refuses an oversized header as soon as its 8th byte arrives, holding no payload", () => {
    const d = new FrameDecoder("keep");
    const h = header(1, FRAME.CONFIG, LOAD_CHUNK + 1);
    assert.deepEqual(d.push(h.subarray(0, 7)), []);
    assert.throws(() => d.push(h.subarray(7)), { code: "keep.sallyport.length" });
  });
});

describe("decodeJsonPayload", () => {
  const rows: { name: string; payload: Uint8Array; message: string }[] = [
    {
      name: "not JSON",
      payload: utf8.encode("{nope"),
      message: "sallyport: START (0x81) payload is not UTF-8 JSON: ",
    },
    {
      name: "not UTF-8",
      payload: new Uint8Array([0x22, 0xff, 0x22]),
      message: "sallyport: START (0x81) payload is not UTF-8 JSON: ",
    },
    {
      name: "an array",
      payload: utf8.encode("[1,2]"),
      message: "sallyport: START (0x81) payload must be a JSON object",
    },
    {
      name: "null",
      payload: utf8.encode("null"),
      message: "sallyport: START (0x81) payload must be a JSON object",
    },
    {
      name: "a string",
      payload: utf8.encode('"{}"'),
      message: "sallyport: START (0x81) payload must be a JSON object",
    },
  ];
  for (const r of rows) {
    it(`${r.name} → keep.sallyport.payload`, () => {
      assert.throws(
        () => decodeJsonPayload({ type: FRAME.START as FrameType, payload: r.payload }),
        (e: unknown) => {
          assert.ok(e instanceof KeepError);
          assert.equal(e.code, "keep.sallyport.payload");
          assert.ok(e.message.startsWith(r.message), e.message);
          return true;
        },
      );
    });
  }
});
