/**
 * The Keep's table of relayed connections, driven frame by frame: the
 * frames it sends for a connection's life (CONNECT, SOCKET_SEND in pieces of
 * at most 64 KiB, SOCKET_CLOSE), and the credit it grants — only as its
 * reader takes bytes, so a host that honours it can never make the Keep hold
 * more than the window. The hostile-host rules are in agent.test.ts.
 */
import assert from "node:assert/strict";
import type { Duplex } from "node:stream";
import { describe, it } from "node:test";
import { KeepError } from "./error.ts";
import { KeepSockets } from "./relay.ts";
import {
  DATA_CHUNK,
  decodeJsonPayload,
  decodeU32,
  encodeJsonFrame,
  encodeSocketData,
  encodeU32Frame,
  FRAME,
  type Frame,
  FrameDecoder,
  MAX_SOCKETS,
  SOCKET_WINDOW,
} from "./sallyport.ts";

/** A table whose frames are decoded as the host would; `handle` feeds it host frames. */
function table() {
  const decoder = new FrameDecoder("host");
  const sent: Frame[] = [];
  const sockets = new KeepSockets({
    send: (bytes) => {
      sent.push(...decoder.push(bytes));
      return true;
    },
    waitDrain: () => Promise.resolve(),
  });
  const feed = (bytes: Uint8Array) => {
    for (const f of new FrameDecoder("keep").push(bytes)) sockets.handle(f);
  };
  return { sockets, sent, feed };
}

const tick = () => new Promise((r) => setImmediate(r));
const credited = (sent: Frame[]) =>
  sent
    .filter((f) => f.type === FRAME.SOCKET_CREDIT)
    .reduce((n, f) => n + decodeU32(f.payload, 4), 0);

async function open(t: ReturnType<typeof table>): Promise<Duplex> {
  const p = t.sockets.connect("steward");
  const req = decodeJsonPayload(t.sent.at(-1)!);
  assert.deepEqual(req, { id: 1, purpose: "steward" });
  t.feed(encodeJsonFrame(FRAME.CONNECTED, { id: 1, ok: true }));
  return p;
}

describe("KeepSockets", () => {
  it("a connection's life: CONNECT, SOCKET_SEND in ≤ 64 KiB pieces, SOCKET_CLOSE; SOCKET_CLOSED finishes it", async () => {
    const t = table();
    const s = await open(t);
    const big = new Uint8Array(DATA_CHUNK * 2 + 10).fill(7);
    await new Promise<void>((r) => s.write(big, () => r()));
    const sends = t.sent.filter((f) => f.type === FRAME.SOCKET_SEND);
    assert.deepEqual(
      sends.map((f) => [decodeU32(f.payload), f.payload.length - 4]),
      [
        [1, DATA_CHUNK],
        [1, DATA_CHUNK],
        [1, 10],
      ],
    );
    s.end();
    await tick();
    assert.equal(t.sent.at(-1)!.type, FRAME.SOCKET_CLOSE);
    assert.equal(t.sockets.size, 1, "open until the host's SOCKET_CLOSED");
    t.feed(encodeU32Frame(FRAME.SOCKET_CLOSED, 1));
    assert.equal(t.sockets.size, 0);
    // The id is finished: anything more about it is out of order.
    assert.throws(
      () => t.feed(encodeU32Frame(FRAME.SOCKET_CLOSED, 1)),
      (e: unknown) => e instanceof KeepError && e.code === "keep.sallyport.order",
    );
  });

  it("credit comes back only as the reader takes the bytes: a stalled reader stops the host at the window", async () => {
    const t = table();
    const s = await open(t);
    s.pause();
    let fed = 0;
    // A well-behaved host sends while it has credit.
    while (fed - credited(t.sent) + DATA_CHUNK <= SOCKET_WINDOW) {
      t.feed(encodeSocketData(FRAME.SOCKET_RECV, 1, new Uint8Array(DATA_CHUNK)));
      fed += DATA_CHUNK;
      if (fed > 4 * SOCKET_WINDOW) assert.fail("the Keep kept granting credit to a stalled reader");
    }
    const held = fed - credited(t.sent);
    assert.ok(held > SOCKET_WINDOW - DATA_CHUNK && held <= SOCKET_WINDOW, `held ${held}`);
    // The reader takes everything: all of it is credited back.
    let read = 0;
    s.on("data", (b: Buffer) => (read += b.length));
    s.resume();
    await tick();
    await tick();
    assert.equal(read, fed);
    assert.equal(credited(t.sent), fed);
  });

  it("the host's CONNECTED ok:false rejects the connect with its reason; the id is finished", async () => {
    const t = table();
    const p = t.sockets.connect("steward");
    t.feed(encodeJsonFrame(FRAME.CONNECTED, { id: 1, ok: false, error: "ECONNREFUSED" }));
    await assert.rejects(p, (e: unknown) => e instanceof KeepError && e.message === "ECONNREFUSED");
    assert.equal(t.sockets.size, 0);
  });

  it(`at most ${MAX_SOCKETS} connections open at once`, async () => {
    const t = table();
    for (let i = 0; i < MAX_SOCKETS; i++) void t.sockets.connect("steward").catch(() => {});
    await assert.rejects(
      t.sockets.connect("steward"),
      new RegExp(`has ${MAX_SOCKETS} connections open already`),
    );
    t.sockets.end();
  });

  it("after end(), nothing more is sent and pending connects are rejected", async () => {
    const t = table();
    const s = await open(t);
    const pending = t.sockets.connect("steward");
    const before = t.sent.length;
    t.sockets.end();
    await assert.rejects(pending, /the Keep ended/);
    assert.ok(s.destroyed);
    await tick();
    assert.equal(t.sent.length, before);
  });
});
