/**
 * The socket bridge's calls that do not wait (`net_bridge.ts`): a real
 * worker thread runs `bridgedSockets` and blocks on the SharedArrayBuffer
 * while this thread runs `KeepNet` over a `duplexPair()` standing for a
 * relayed tcp connection. What is checked: bytes sent without waiting
 * arrive in order and before the end a later close sends; the bytes in the
 * I/O thread's hands stay within NET_SEND_BOUND (past it, sends wait); a
 * write that fails on the I/O thread is reported by the next call; a poll's
 * handed-over bytes are what peek and recv return, without a round trip.
 */
import assert from "node:assert/strict";
import { type Duplex, duplexPair } from "node:stream";
import { describe, it } from "node:test";
import { Worker } from "node:worker_threads";
import { EPIPE } from "@donjon/wasi/constants";
import { KeepNet } from "./net.ts";
import { FAILED, INFLIGHT, NET_SEND_BOUND, type NetRequest, netChannel } from "./net_bridge.ts";
import type { NetPlan } from "./net_config.ts";

const T = { timeout: 30_000 };
const PLAN: NetPlan = {
  entries: [
    {
      kind: "listen",
      fd: 3,
      name: "test",
      prot: "tcp",
      addr: "127.0.0.1",
      port: 0,
      clientCa: null,
      clientWorkload: null,
    },
  ],
  names: null,
  trust: { roots: [], public: true },
};

/**
 * The worker's side of each scenario. `go`: a shared word the worker waits
 * on until this thread has done its part (1).
 */
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
import(${JSON.stringify(new URL("./net_bridge.ts", import.meta.url).href)}).then((bridge) => {
  const { channel, scenario, go, total } = workerData;
  const post = (req, transfer) => parentPort.postMessage({ type: "net", req }, transfer);
  const sockets = bridge.bridgedSockets(channel, [{ kind: "listener", fd: 3 }], post);
  const conn = sockets.fds[0].accept({ nonblocking: false });
  const result = (value) => parentPort.postMessage({ type: "result", value });
  const errno = (f) => {
    try {
      return ["ok", f()];
    } catch (e) {
      return ["errno", e.errno];
    }
  };
  if (scenario === "bulk") {
    // Deterministic bytes: chunk k is filled with k & 255.
    const chunk = new Uint8Array(64 * 1024);
    for (let k = 0; k < total / chunk.length; k++) {
      chunk.fill(k & 255);
      let at = 0;
      while (at < chunk.length) at += conn.send(chunk.subarray(at), { nonblocking: false });
    }
    conn.close();
    result("closed");
  } else if (scenario === "broken") {
    parentPort.postMessage({ type: "accepted" });
    const g = new Int32Array(go);
    while (Atomics.load(g, 0) === 0) Atomics.wait(g, 0, 0);
    const send = () => conn.send(new Uint8Array([1, 2, 3]), { nonblocking: false });
    const recv = () => conn.recv(new Uint8Array(16), { peek: false, nonblocking: false });
    const steps = [errno(send), errno(recv), errno(send)];
    conn.close();
    result(steps);
  } else if (scenario === "prefetch") {
    parentPort.postMessage({ type: "accepted" });
    const text = (b, n) => new TextDecoder().decode(b.subarray(0, n));
    const recv = (max, peek) => {
      const b = new Uint8Array(max);
      return text(b, conn.recv(b, { peek, nonblocking: false }));
    };
    const ready = sockets.poll([{ socket: conn, event: "read" }], null);
    // Handed over by the poll: a peek, then two reads that post only a consume.
    const steps = [ready, recv(5, true), recv(5, false), recv(100, false)];
    // Nothing handed over any more: this one asks the I/O thread and waits.
    parentPort.postMessage({ type: "more" });
    steps.push(recv(100, false));
    conn.close();
    result(steps);
  } else if (scenario === "prefetch2") {
    const other = sockets.fds[0].accept({ nonblocking: false });
    parentPort.postMessage({ type: "accepted" });
    const recv = (c) => {
      const b = new Uint8Array(100);
      return new TextDecoder().decode(b.subarray(0, c.recv(b, { peek: false, nonblocking: false })));
    };
    // Both clients have written before this poll looks (the test waits for it).
    const g = new Int32Array(go);
    while (Atomics.load(g, 0) === 0) Atomics.wait(g, 0, 0);
    const ready = sockets.poll(
      [{ socket: sockets.fds[0], event: "read" }, { socket: conn, event: "read" }, { socket: other, event: "read" }],
      null,
    );
    const steps = [ready, recv(other), recv(conn)];
    conn.close();
    other.close();
    result(steps);
  }
});
`;

interface Run {
  net: KeepNet;
  control: Int32Array;
  /** The client's end of the connection. */
  client: Duplex;
  /** A second connection's client (accepted after the first; prefetch2 only). */
  client2: Duplex;
  /** The Keep's end (what the host relays). */
  keepSide: Duplex;
  /** Requests seen, by op. */
  ops: Map<string, number>;
  /** Most bytes INFLIGHT held when a request arrived. */
  maxInflight: number;
  worker: Worker;
  result: Promise<unknown>;
  accepted: Promise<void>;
  /** The worker is about to make its last recv (prefetch). */
  more: Promise<void>;
  go: Int32Array;
}

function start(scenario: "bulk" | "broken" | "prefetch" | "prefetch2", total = 0): Run {
  const channel = netChannel();
  const control = new Int32Array(channel.control);
  const net = new KeepNet({ plan: PLAN, channel });
  const [client, keepSide] = duplexPair();
  const [client2, keepSide2] = duplexPair();
  const go = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(WORKER, {
    eval: true,
    workerData: { channel, scenario, go: go.buffer, total },
  });
  let accepted!: () => void;
  let more!: () => void;
  let resolve!: (v: unknown) => void;
  let reject!: (e: unknown) => void;
  const run: Run = {
    net,
    control,
    client,
    client2,
    keepSide,
    ops: new Map(),
    maxInflight: 0,
    worker,
    result: new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    }),
    accepted: new Promise<void>((r) => {
      accepted = r;
    }),
    more: new Promise<void>((r) => {
      more = r;
    }),
    go,
  };
  worker.on("message", (m: { type: string; req?: NetRequest; value?: unknown }) => {
    if (m.type === "net") {
      const op = m.req!.op;
      run.ops.set(op, (run.ops.get(op) ?? 0) + 1);
      run.maxInflight = Math.max(run.maxInflight, Atomics.load(control, INFLIGHT));
      net.serve(m.req!);
    } else if (m.type === "accepted") accepted();
    else if (m.type === "more") more();
    else if (m.type === "result") resolve(m.value);
  });
  worker.on("error", reject);
  net.accepted(3, keepSide);
  if (scenario === "prefetch2") net.accepted(3, keepSide2);
  return run;
}

describe("socket bridge: calls that do not wait", () => {
  it(
    "4 MiB of 64 KiB sends to a client that reads late: in order, then the close's end; in flight ≤ NET_SEND_BOUND, past it sends wait",
    T,
    async () => {
      const total = 4 * 1024 * 1024;
      const r = start("bulk", total);
      try {
        // The client reads nothing until the worker's sends wait, or until the
        // worker is done without waiting (the failure). A wait on the worker's
        // progress, not a fixed time: under load its boot alone can take longer.
        let finished = false;
        const done = () => {
          finished = true;
        };
        r.result.then(done, done);
        while (!finished && (r.ops.get("send") ?? 0) === 0) {
          await new Promise((res) => setTimeout(res, 10));
        }
        assert.ok(
          (r.ops.get("send") ?? 0) >= 1,
          `past ${NET_SEND_BOUND} bytes in flight a send waits (ops: ${JSON.stringify([...r.ops])})`,
        );
        const got: Buffer[] = [];
        r.client.on("data", (b: Buffer) => got.push(b));
        await new Promise((res) => r.client.once("end", res));
        assert.equal(await r.result, "closed");
        const all = Buffer.concat(got);
        assert.equal(all.length, total);
        for (let k = 0; k < total / 65536; k++) {
          const want = k & 255;
          const part = all.subarray(k * 65536, (k + 1) * 65536);
          assert.ok(
            part.every((b) => b === want),
            `chunk ${k} holds ${want} (out of order otherwise)`,
          );
        }
        assert.ok((r.ops.get("write") ?? 0) >= 1, "most sends did not wait");
        assert.ok(
          r.maxInflight <= NET_SEND_BOUND,
          `in flight ${r.maxInflight} ≤ ${NET_SEND_BOUND}`,
        );
        // Every byte flushed: nothing is left counted against the worker's room.
        await new Promise((res) => setImmediate(res));
        assert.equal(Atomics.load(r.control, INFLIGHT), 0);
        assert.equal(Atomics.load(r.control, FAILED), 0);
      } finally {
        await r.worker.terminate();
        r.net.end();
      }
    },
  );

  it(
    "a send that fails on the I/O thread is reported by the next call (recv: EPIPE), and sends wait after it",
    T,
    async () => {
      const r = start("broken");
      try {
        await r.accepted;
        // The connection breaks under the workload, which has not been told.
        r.keepSide.destroy();
        await new Promise((res) => setImmediate(res));
        Atomics.store(r.go, 0, 1);
        Atomics.notify(r.go, 0);
        assert.deepEqual(await r.result, [
          ["ok", 3],
          ["errno", EPIPE],
          ["errno", EPIPE],
        ]);
        assert.equal(r.ops.get("write"), 1);
        assert.equal(r.ops.get("send"), 1);
        assert.equal(Atomics.load(r.control, FAILED), 0, "the failure was reported once");
      } finally {
        await r.worker.terminate();
        r.net.end();
      }
    },
  );

  it(
    "a poll that finds a connection readable hands over its first bytes: peek and recv take them without waiting, in order",
    T,
    async () => {
      const r = start("prefetch");
      try {
        await r.accepted;
        r.client.write("hello world");
        await r.more;
        await new Promise((res) => setTimeout(res, 50));
        r.client.write("again");
        assert.deepEqual(await r.result, [[true], "hello", "hello", " world", "again"]);
        assert.equal(r.ops.get("recv"), 1, "only the last recv waited");
        assert.equal(r.ops.get("consume"), 2);
      } finally {
        await r.worker.terminate();
        r.net.end();
      }
    },
  );

  it(
    "a poll hands over the bytes of every readable connection it reports; each recv takes its own",
    T,
    async () => {
      const r = start("prefetch2");
      try {
        await r.accepted;
        r.client.write("to the first");
        r.client2.write("to the second");
        await new Promise((res) => setTimeout(res, 50));
        Atomics.store(r.go, 0, 1);
        Atomics.notify(r.go, 0);
        assert.deepEqual(await r.result, [[false, true, true], "to the second", "to the first"]);
        assert.equal(r.ops.get("recv"), undefined, "no recv waited");
        assert.equal(r.ops.get("consume"), 2);
      } finally {
        await r.worker.terminate();
        r.net.end();
      }
    },
  );

  it("Worker.terminate() ends a worker blocked in a send past the bound", T, async () => {
    const r = start("bulk", 64 * 1024 * 1024);
    // The client never reads: the worker ends up waiting in a send (however long its boot takes).
    while ((r.ops.get("send") ?? 0) === 0) await new Promise((res) => setTimeout(res, 10));
    assert.equal(await r.worker.terminate(), 1);
    r.net.end();
  });
});
