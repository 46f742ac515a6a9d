/**
 * The host's side of Keep networking against a Keep process that speaks
 * sallyport (test/net_echo_keep.js, through the `entry` hook), over real TCP
 * on 127.0.0.1: listen sockets bound before the Keep starts and relayed with
 * ACCEPTED, `connect` entries relayed on CONNECT purpose "file", the
 * MAX_SOCKETS bound with a host queue, half-close and flush, and the
 * protocol violations that get a Keep killed.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { KeepError } from "./error.ts";
import {
  ACCEPT_QUEUE,
  type KeepLaunchOptions,
  type KeepResult,
  type NetFile,
  runKeep,
} from "./host.ts";
import {
  encodeSocketData,
  FRAME,
  FrameDecoder,
  HOST_ID_BASE,
  MAX_SOCKETS,
  SOCKET_WINDOW,
} from "./sallyport.ts";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-host-net-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));
const BWRAP = fs.existsSync("/usr/bin/bwrap") ? "/usr/bin/bwrap" : null;
const ENTRY = path.join(import.meta.dirname, "../test/net_echo_keep.js");

const listen = (fd: number, port = 0, addr = "127.0.0.1"): NetFile => ({
  fd,
  name: `in${fd}`,
  kind: "listen",
  prot: "tcp",
  addr,
  port,
});
const connectTo = (fd: number, port: number): NetFile => ({
  fd,
  name: `out${fd}`,
  kind: "connect",
  prot: "tls",
  host: "127.0.0.1",
  port,
});

/** What the fake Keep reports in its EXIT `test.net`. */
interface Report {
  served: number;
  maxOpen: number;
  ids: number[];
  fds: number[];
  connect: { ok: boolean; error: string | null; received: string } | null;
  /** "stall": the bytes relayed to the Keep, which credited none. */
  received: number;
}

/**
 * Run the fake Keep with `keepPlan` (net.json) and `net`; once every listen
 * entry is bound, run `clients` with the ports, by fd. Resolves with the
 * Keep's result, the clients' value and the listening addresses reported.
 */
async function session<T>(
  keepPlan: Record<string, unknown>,
  files: NetFile[],
  clients: (ports: Map<number, number>) => Promise<T>,
  extra: Partial<KeepLaunchOptions> = {},
) {
  const dir = fs.mkdtempSync(path.join(TMP, "keep-"));
  fs.writeFileSync(path.join(dir, "net.json"), JSON.stringify(keepPlan));
  const listening: { fd: number; address: string; port: number }[] = [];
  let bound!: () => void;
  const ready = new Promise<void>((r) => {
    bound = r;
  });
  const listens = files.filter((f) => f.kind === "listen").length;
  if (listens === 0) bound();
  const run = runKeep({
    backend: "sandbox",
    plan: { args: ["w"], env: {}, stdio: ["null", "stdout", "stderr"], dirs: [] },
    limits: { memoryPages: 256, timeoutMs: 30_000, outputBytes: null },
    module: new Uint8Array(8),
    config: new TextEncoder().encode("[[files]]\n"),
    nodePath: process.execPath,
    bwrap: BWRAP,
    prlimit: null,
    stateDir: dir,
    stdout: () => {},
    stderr: (b) => process.stderr.write(b),
    openStdin: () => assert.fail("no stdin"),
    entry: ENTRY,
    net: files,
    onListening: (file, address) => {
      listening.push({ fd: file.fd, ...address });
      if (listening.length === listens) bound();
    },
    ...extra,
  });
  // A refused run rejects before anything listens.
  await Promise.race([ready, run]);
  const ports = new Map(listening.map((l) => [l.fd, l.port]));
  const [result, value] = await Promise.all([run, clients(ports)]);
  return { result, value, listening };
}

/** The report inside a `test.net` EXIT; anything else fails the test with the result. */
function report(result: KeepResult): Report {
  assert.deepEqual(result, { ...result, kind: "error", code: "test.net" }, JSON.stringify(result));
  return JSON.parse((result as { message: string }).message) as Report;
}

interface TalkOptions {
  /** End our side (FIN) once this many bytes came back; default: right after sending. */
  endAfter?: number;
  /** Read slowly: pause this many ms after each chunk, so the sender's buffers stay full. */
  readPauseMs?: number;
}

/** Connect, send `data`, and collect everything the other side sends until it closes. */
function talk(port: number, data: string, o: TalkOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const got: Buffer[] = [];
    let n = 0;
    const s = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => {
      s.write(data);
      if (o.endAfter === undefined) s.end();
    });
    s.on("data", (b: Buffer) => {
      if (o.readPauseMs) {
        s.pause();
        setTimeout(() => s.resume(), o.readPauseMs);
      }
      got.push(b);
      n += b.length;
      if (o.endAfter !== undefined && n >= o.endAfter) s.end();
    });
    s.on("end", () => s.end());
    s.on("error", reject);
    s.on("close", () => resolve(Buffer.concat(got)));
  });
}

describe("runKeep: listen entries", { timeout: 60_000 }, () => {
  it("binds before the Keep starts, reports port 0's real port, relays both ways with fresh host ids", async () => {
    const r = await session(
      { listen: [3, 4], mode: "echo", exitAfter: 3 },
      [listen(3), listen(4)],
      async (ports) => {
        const out: string[] = [];
        // One at a time, so that the ids follow the order of the connections.
        out.push((await talk(ports.get(3)!, "hello", { endAfter: 5 })).toString());
        out.push((await talk(ports.get(4)!, "second one", { endAfter: 10 })).toString());
        out.push(
          (await talk(ports.get(3)!, "x".repeat(200_000), { endAfter: 200_000 })).toString(),
        );
        return out;
      },
    );
    assert.deepEqual(r.value, ["HELLO", "SECOND ONE", "X".repeat(200_000)]);
    assert.equal(r.listening.length, 2);
    for (const l of r.listening) {
      assert.equal(l.address, "127.0.0.1");
      assert.ok(l.port > 0, `port ${l.port}`);
    }
    const rep = report(r.result);
    assert.deepEqual(rep.ids, [HOST_ID_BASE, HOST_ID_BASE + 1, HOST_ID_BASE + 2]);
    assert.deepEqual(rep.fds, [3, 4, 3]);
  });

  it(`150 connections at once: all served, never more than MAX_SOCKETS (${MAX_SOCKETS}) relayed at once, the rest wait`, async () => {
    const n = 150;
    const r = await session(
      // The Keep answers nobody until it has MAX_SOCKETS open at once: the
      // host must open exactly that many, and the rest once those finish.
      { listen: [3], mode: "echo", exitAfter: n, holdUntil: MAX_SOCKETS },
      [listen(3)],
      (ports) =>
        Promise.all(
          Array.from({ length: n }, (_, i) =>
            talk(ports.get(3)!, `ping ${i}`, { endAfter: `ping ${i}`.length }).then(String),
          ),
        ),
    );
    assert.deepEqual(
      r.value,
      Array.from({ length: n }, (_, i) => `PING ${i}`),
    );
    const rep = report(r.result);
    assert.equal(rep.served, n);
    assert.equal(rep.maxOpen, MAX_SOCKETS);
    assert.deepEqual(
      [...rep.ids].sort((a, b) => a - b),
      Array.from({ length: n }, (_, i) => HOST_ID_BASE + i),
    );
  });

  it(`past MAX_SOCKETS relays and ACCEPT_QUEUE (${ACCEPT_QUEUE}) waiting, a new connection is closed at once`, async () => {
    const served = MAX_SOCKETS + ACCEPT_QUEUE;
    const n = served + 8;
    const r = await session(
      // The Keep holds its MAX_SOCKETS connections for 2 s: all the others
      // arrive meanwhile, the queue fills, and the last 8 find it full.
      { listen: [3], mode: "echo", exitAfter: served, holdUntil: MAX_SOCKETS, holdMs: 2000 },
      [listen(3)],
      (ports) =>
        Promise.all(
          Array.from(
            { length: n },
            (_, i) =>
              new Promise<string>((resolve) => {
                const got: Buffer[] = [];
                const s = net.connect({ host: "127.0.0.1", port: ports.get(3)! }, () =>
                  s.write(`ping ${i}`),
                );
                s.on("data", (b: Buffer) => {
                  got.push(b);
                  if (Buffer.concat(got).length === `ping ${i}`.length) s.end();
                });
                s.on("error", () => {}); // a dropped one may be reset: it sent bytes nobody read
                s.on("close", () => resolve(Buffer.concat(got).toString()));
              }),
          ),
        ),
    );
    const answered = r.value.filter((v) => v.startsWith("PING "));
    assert.equal(answered.length, served);
    assert.deepEqual(
      r.value.filter((v) => !v.startsWith("PING ")),
      Array(n - served).fill(""),
    );
    assert.equal(report(r.result).served, served);
  });

  it("a CONNECT that crosses ACCEPTEDs with MAX_SOCKETS open gets CONNECTED ok:false; the Keep is not killed", async () => {
    const server = net.createServer((s) => s.on("error", () => {}));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await session(
        {
          listen: [3],
          mode: "echo",
          exitAfter: MAX_SOCKETS,
          holdUntil: MAX_SOCKETS,
          // As if it sent CONNECT before the last ACCEPTED reached it.
          connectAt: MAX_SOCKETS,
          connect: { fd: 4, send: "" },
        },
        [listen(3), connectTo(4, port)],
        (ports) =>
          Promise.all(
            Array.from({ length: MAX_SOCKETS }, (_, i) =>
              talk(ports.get(3)!, `ping ${i}`, { endAfter: `ping ${i}`.length }),
            ),
          ),
      );
      assert.deepEqual(report(r.result).connect, {
        ok: false,
        error: `the host did not connect to 127.0.0.1:${port} (fd 4 "out4"): ${MAX_SOCKETS} connections are open (some accepted while the CONNECT was on its way)`,
        received: "",
      });
    } finally {
      server.close();
    }
  });

  it("a response the Keep sends right before SOCKET_CLOSE arrives whole, to a client that reads slowly", async () => {
    const size = 16 * 1024 * 1024;
    const r = await session(
      { listen: [3], mode: "big", bigBytes: size, exitAfter: 1 },
      [listen(3)],
      (ports) => talk(ports.get(3)!, "GET / HTTP/1.0\r\n\r\n", { endAfter: size, readPauseMs: 2 }),
    );
    const want = Buffer.alloc(size);
    for (let i = 0; i < size; i++) want[i] = i % 251;
    assert.equal(r.value.length, size);
    assert.equal(
      createHash("sha256").update(r.value).digest("hex"),
      createHash("sha256").update(want).digest("hex"),
    );
    assert.equal(report(r.result).served, 1);
  });

  it("a refusal the Keep sends and closes while the client is still uploading arrives whole, with a FIN, not a reset", async () => {
    const r = await session({ listen: [3], mode: "refuse", exitAfter: 1 }, [listen(3)], (ports) =>
      talk(ports.get(3)!, "x".repeat(8 * 1024 * 1024), { endAfter: 14 }),
    );
    assert.equal(r.value.toString(), "413 too large\n");
    assert.equal(report(r.result).served, 1);
  });

  it("a peer that half-closes still gets the answer the Keep writes after SOCKET_CLOSED; one that is gone gets nothing, and the Keep is not blamed", async () => {
    const r = await session({ listen: [3], mode: "half", exitAfter: 3 }, [listen(3)], (ports) =>
      Promise.all([
        talk(ports.get(3)!, "request then FIN"),
        talk(ports.get(3)!, "y".repeat(300_000)),
        // Sends, then resets: the answer after SOCKET_CLOSED has nowhere to go and is dropped.
        new Promise<string>((resolve) => {
          const s = net.connect({ host: "127.0.0.1", port: ports.get(3)! }, () =>
            s.write("gone", () => {
              s.resetAndDestroy();
              resolve("reset");
            }),
          );
          s.on("error", () => {});
        }),
      ]),
    );
    assert.deepEqual(
      r.value.map((b) => b.toString()),
      ["REQUEST THEN FIN", "Y".repeat(300_000), "reset"],
    );
    assert.equal(report(r.result).served, 3);
  });

  it(`a Keep that credits nothing gets exactly SOCKET_WINDOW (${SOCKET_WINDOW}) bytes of an accepted connection, and the host stops reading the client`, async () => {
    const size = 256 * SOCKET_WINDOW;
    const r = await session(
      { listen: [3], mode: "stall", waitMs: 1000 },
      [listen(3)],
      (ports) =>
        new Promise<number>((resolve) => {
          const s = net.connect({ host: "127.0.0.1", port: ports.get(3)! }, () => {
            s.write(Buffer.alloc(size, 0x61));
            // While the Keep still runs: what has not left the client yet.
            setTimeout(() => resolve(s.writableLength), 800);
          });
          s.on("error", () => {});
        }),
    );
    assert.equal(report(r.result).received, SOCKET_WINDOW);
    // Kernel buffers hold some MiB; a host that read on would have taken all 64.
    assert.ok(r.value > size / 2, `${size - r.value} of ${size} bytes left the client`);
  });

  it("a Keep stopped by the time limit while a client does not read its flood: the run still ends", async () => {
    let client: net.Socket | undefined;
    const r = await session(
      { listen: [3], mode: "flood", bigBytes: 64 * 1024 * 1024 },
      [listen(3)],
      async (ports) => {
        // Reads nothing: the host's writes fill it and the host stops reading the channel.
        client = net.connect({ host: "127.0.0.1", port: ports.get(3)! }, () => client!.write("go"));
        client.pause();
        client.on("error", () => {});
      },
      { limits: { memoryPages: 256, timeoutMs: 200, outputBytes: null } },
    );
    client?.destroy();
    assert.deepEqual(r.result, {
      kind: "limit",
      limit: "time",
      message: "time limit of 200 ms reached; the Keep was stopped by the host",
    });
  });

  it("tap sees every byte of the channel both ways: whole frames, the relayed bytes among them", async () => {
    const seen = { keep: [] as Buffer[], host: [] as Buffer[] };
    const r = await session(
      { listen: [3], mode: "echo", exitAfter: 1 },
      [listen(3)],
      (ports) => talk(ports.get(3)!, "tapped bytes", { endAfter: 12 }),
      { tap: (from, bytes) => seen[from].push(Buffer.from(bytes)) },
    );
    assert.equal(r.value.toString(), "TAPPED BYTES");
    report(r.result);
    const frames = (from: "keep" | "host") => {
      // The host's bytes are read by the Keep and the other way round.
      const d = new FrameDecoder(from === "keep" ? "host" : "keep");
      const all = d.push(Buffer.concat(seen[from]));
      d.end(); // nothing cut: the tap saw whole frames only
      return all;
    };
    const fromHost = frames("host");
    const fromKeep = frames("keep");
    assert.deepEqual(
      fromHost.map((f) => f.type),
      [
        FRAME.START,
        FRAME.MODULE,
        FRAME.CONFIG,
        FRAME.ACCEPTED,
        FRAME.SOCKET_RECV,
        FRAME.SOCKET_CLOSED,
      ],
    );
    const id = HOST_ID_BASE;
    assert.deepEqual(
      Buffer.from(fromHost[4]!.payload),
      Buffer.from(encodeSocketData(FRAME.SOCKET_RECV, id, Buffer.from("tapped bytes")).subarray(8)),
    );
    assert.deepEqual(
      fromKeep.map((f) => f.type),
      [FRAME.HELLO, FRAME.SOCKET_CREDIT, FRAME.SOCKET_SEND, FRAME.SOCKET_CLOSE, FRAME.EXIT],
    );
    assert.equal(Buffer.from(fromKeep[2]!.payload.subarray(4)).toString(), "TAPPED BYTES");
  });
});

describe("runKeep: a listen entry that cannot be bound", { timeout: 30_000 }, () => {
  /** A port nothing listens on now. */
  async function freePort(): Promise<number> {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    return port;
  }

  const cases: { name: string; addr: string; busy: boolean; message: RegExp }[] = [
    {
      name: "a port in use",
      addr: "127.0.0.1",
      busy: true,
      message: /EADDRINUSE.*another process listens there/,
    },
    {
      name: "an address of no interface here (TEST-NET-1)",
      addr: "192.0.2.1",
      busy: false,
      message: /EADDRNOTAVAIL.*192\.0\.2\.1 is not an address of this machine/,
    },
  ];
  for (const c of cases) {
    it(`${c.name}: keep.host.listen naming the entry, nothing started, no listener left`, async () => {
      const first = await freePort();
      const blocker = net.createServer();
      let port = 0;
      if (c.busy) {
        await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
        port = (blocker.address() as net.AddressInfo).port;
      }
      // A "node" that leaves a mark if anything is started at all.
      const marker = path.join(TMP, `started-${port}-${c.addr}`);
      const fakeNode = path.join(TMP, `node-${port}-${c.addr}.sh`);
      fs.writeFileSync(fakeNode, `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
      try {
        await assert.rejects(
          session(
            { listen: [3, 5] },
            [listen(3, first), connectTo(4, 1), listen(5, port, c.addr)],
            async () => {},
            {
              nodePath: fakeNode,
              bwrap: null,
            },
          ),
          (e: unknown) => {
            assert.ok(e instanceof KeepError, String(e));
            assert.equal(e.code, "keep.host.listen");
            assert.match(
              e.message,
              new RegExp(`fd 5 "in5" on ${c.addr.replaceAll(".", "\\.")}:${port}`),
            );
            assert.match(e.message, c.message);
            return true;
          },
        );
        await new Promise((r) => setTimeout(r, 200));
        assert.equal(fs.existsSync(marker), false, "nothing was started");
        // The entry bound before the failure was closed again: its port is free.
        const again = net.createServer();
        await new Promise<void>((resolve, reject) => {
          again.once("error", reject);
          again.listen(first, "127.0.0.1", resolve);
        });
        await new Promise<void>((r) => again.close(() => r()));
      } finally {
        if (c.busy) blocker.close();
      }
    });
  }
});

describe('runKeep: connect entries (CONNECT purpose "file")', { timeout: 30_000 }, () => {
  it("connects to the entry's host and port and relays both ways", async () => {
    const got: Buffer[] = [];
    const server = net.createServer((s) => {
      s.on("data", (b: Buffer) => {
        got.push(b);
        s.end(`hi, ${b.toString()}`);
      });
      s.on("error", () => {});
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const r = await session(
        { listen: [], connect: { fd: 4, send: "keep here" } },
        [listen(3), connectTo(4, port)],
        async () => {},
      );
      assert.deepEqual(report(r.result).connect, {
        ok: true,
        error: null,
        received: "hi, keep here",
      });
      assert.equal(Buffer.concat(got).toString(), "keep here");
    } finally {
      server.close();
    }
  });

  it("an address nobody listens at: CONNECTED ok:false with the system's reason, not a crash", async () => {
    const s = net.createServer();
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    const port = (s.address() as net.AddressInfo).port;
    await new Promise<void>((r) => s.close(() => r()));
    const r = await session(
      { listen: [], connect: { fd: 3, send: "" } },
      [connectTo(3, port)],
      async () => {},
    );
    assert.deepEqual(report(r.result).connect, {
      ok: false,
      error: `the host could not connect to 127.0.0.1:${port} (fd 3 "out3"): ECONNREFUSED`,
      received: "",
    });
  });
});

describe("runKeep: a Keep that breaks the network rules is killed", { timeout: 60_000 }, () => {
  const files = [listen(3), connectTo(4, 9), listen(5)];
  const connect = (json: Record<string, unknown>) => ({ type: FRAME.CONNECT, json });
  const cases: { name: string; frames: object[]; message: RegExp }[] = [
    {
      name: "CONNECT for a listen fd",
      frames: [connect({ id: 1, purpose: "file", fd: 3 })],
      message:
        /CONNECT for fd 3, which is the listen entry "in3"; expected the fd of a connect entry \(4\)/,
    },
    {
      name: "CONNECT for an fd past the entries",
      frames: [connect({ id: 1, purpose: "file", fd: 9 })],
      message: /CONNECT for fd 9, which is no network \[\[files\]\] entry/,
    },
    {
      name: "CONNECT for fd 1 (stdout)",
      frames: [connect({ id: 1, purpose: "file", fd: 1 })],
      message: /CONNECT for fd 1, which is no network/,
    },
    {
      name: "CONNECT with the fd as a string",
      frames: [connect({ id: 1, purpose: "file", fd: "4" })],
      message: /CONNECT for fd "4"/,
    },
    {
      name: "CONNECT with an id of the host's range",
      frames: [connect({ id: HOST_ID_BASE, purpose: "file", fd: 4 })],
      message: new RegExp(
        `CONNECT with id ${HOST_ID_BASE}; expected an integer from 1 to ${HOST_ID_BASE - 1}`,
      ),
    },
    {
      name: "CONNECT with id 0",
      frames: [connect({ id: 0, purpose: "file", fd: 4 })],
      message: /CONNECT with id 0;/,
    },
    {
      name: "CONNECT with an extra key (an address)",
      frames: [connect({ id: 1, purpose: "file", fd: 4, host: "evil.example" })],
      message: /expected \{id, purpose: "steward"\} or \{id, purpose: "file", fd\}/,
    },
    {
      name: "CONNECT purpose file without fd",
      frames: [connect({ id: 1, purpose: "file" })],
      message: /expected \{id, purpose: "steward"\} or \{id, purpose: "file", fd\}/,
    },
    {
      name: "CONNECT to a Steward the host did not name",
      frames: [connect({ id: 1, purpose: "steward" })],
      message: /CONNECT to a Steward, but the host named no Steward/,
    },
    {
      name: "CONNECT reusing an id",
      frames: [
        connect({ id: 2, purpose: "file", fd: 4 }),
        connect({ id: 2, purpose: "file", fd: 4 }),
      ],
      message: /CONNECT reuses connection id 2/,
    },
    {
      name: "SOCKET_SEND for an id never opened",
      frames: [{ type: FRAME.SOCKET_SEND, hex: "0000000768656c6c6f" }],
      message: /SOCKET_SEND \(0x08\) for connection 7, which was never opened/,
    },
    {
      name: "SOCKET_SEND for a host id not yet accepted",
      frames: [{ type: FRAME.SOCKET_SEND, hex: `${HOST_ID_BASE.toString(16)}68` }],
      message: new RegExp(
        `SOCKET_SEND \\(0x08\\) for connection ${HOST_ID_BASE}, which was never opened`,
      ),
    },
    {
      name: "SOCKET_CREDIT for an id never opened",
      frames: [{ type: FRAME.SOCKET_CREDIT, hex: "0000000300000001" }],
      message: /SOCKET_CREDIT \(0x0a\) for connection 3, which was never opened/,
    },
  ];
  it(`CONNECT with MAX_SOCKETS (${MAX_SOCKETS}) of the Keep's own connections open`, async () => {
    const server = net.createServer((s) => s.on("error", () => {}));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    try {
      const frames = Array.from({ length: MAX_SOCKETS + 1 }, (_, i) =>
        connect({ id: i + 1, purpose: "file", fd: 4 }),
      );
      const r = await session(
        { listen: [], frames },
        [listen(3), connectTo(4, port)],
        async () => {},
      );
      assert.deepEqual(r.result, {
        kind: "crash",
        message: `the Keep broke the sallyport protocol: CONNECT with ${MAX_SOCKETS} connections of its own open already`,
      });
    } finally {
      server.close();
    }
  });

  for (const c of cases) {
    it(c.name, async () => {
      const r = await session({ listen: [3, 5], frames: c.frames }, files, async () => {});
      assert.equal(r.result.kind, "crash", JSON.stringify(r.result));
      assert.match(
        (r.result as { message: string }).message,
        /^the Keep broke the sallyport protocol: /,
      );
      assert.match((r.result as { message: string }).message, c.message);
    });
  }
});
