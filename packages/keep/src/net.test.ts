/**
 * The Keep's workload sockets, driven in process: `runAgent` over FakeHost,
 * with a relay written here playing the host's part — on ACCEPTED it makes a
 * `duplexPair()`, turns what the client writes into SOCKET_RECV frames
 * (≤ 64 KiB, within the Keep's 256 KiB credit), writes SOCKET_SEND payloads
 * to the client and ends it on SOCKET_CLOSE; on CONNECT it relays to a real
 * TCP socket (a test server, or a loopback test Steward). Over it run real
 * `node:tls` clients and servers against real workloads (examples/https-hello,
 * examples/cat, test/wasm/print_env, sock_client, sock_echo): TLS ending
 * inside the Keep with its key, no plaintext on the channel, concurrent
 * clients, /donjon/cert.pem, FD_COUNT and FD_NAMES from the measured config,
 * hostile hosts, mutual TLS with pinned workloads, connect sockets with
 * trusted and pinned peers, the WASI socket calls through the worker bridge,
 * half-close, the Steward's chain, and the time limit over a waiting server.
 * Certificates come from the Steward's own CA code (@donjon/steward).
 */
import assert from "node:assert/strict";
import { randomBytes, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { type Duplex, duplexPair } from "node:stream";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import type { KeepCertClaims } from "@donjon/attest/claims";
import { decodeKeepEvidence, encodeKeepEvidence } from "@donjon/attest/cmw";
import { type Ca, createCa, issueKeepCert, issueTlsCert, toPem } from "@donjon/steward";
import { FakeHost, loadWorkload, type Workload } from "./_fake_host.ts";
import * as x509 from "./_x509.ts";
import { type AgentOptions, type EvidenceSource, type ExitReport, runAgent } from "./agent.ts";
import { HANDSHAKE_TIMEOUT_MS } from "./net.ts";
import {
  DATA_CHUNK,
  decodeJsonPayload,
  decodeU32,
  encodeJsonFrame,
  encodeSocketData,
  encodeU32Frame,
  FRAME,
  type Frame,
  HOST_ID_BASE,
  MAX_SOCKETS,
  SOCKET_WINDOW,
} from "./sallyport.ts";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const wasm = (p: string) => new Uint8Array(fs.readFileSync(path.join(ROOT, p)));
const HTTPS_HELLO = wasm("examples/https-hello.wasm");
const HTTPS_HELLO_TOML = wasm("examples/https-hello.toml");
const CAT = wasm("examples/cat.wasm");
const PRINT_ENV = wasm("test/wasm/print_env.wasm");
const SOCK_CLIENT = wasm("test/wasm/sock_client.wasm");
const utf8 = new TextEncoder();
const T = { timeout: 60_000 };
/** A line of examples/https-hello.c's page. */
const PAGE_LINE = "This is examples/https-hello: a WebAssembly workload serving HTTP/1.1.";
const STDIO = '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n';
const HOUR = 3_600_000;

const testEvidence: EvidenceSource = {
  tee: "sandbox",
  collect: async (b) => ({ evidence: b.reportData.slice(), certs: [] }),
};
const OPTIONS: AgentOptions = {
  backend: "test",
  evidence: testEvidence,
  wrapEvidence: encodeKeepEvidence,
};

/** One relayed connection, as the test's host keeps it. */
interface Relay {
  id: number;
  /** The host's end: what the peer wrote comes out, what the Keep sent goes in. */
  peer: Duplex;
  /** Bytes the host may still send before the Keep credits more. */
  credit: number;
  queue: Buffer[];
  peerEnded: boolean;
  hostClosed: boolean;
  keepClosed: boolean;
}

/**
 * A run of `runAgent` with the test's host: every byte both ways is kept,
 * and connections are relayed as a well-behaved host relays them.
 */
class Session {
  readonly host = new FakeHost();
  /** Every byte the Keep wrote to the channel. */
  readonly fromKeep: Uint8Array[] = [];
  /** Every byte the host wrote to the channel. */
  readonly toKeep: Uint8Array[] = [];
  readonly report: Promise<ExitReport | null>;
  readonly evidence: Promise<Frame>;
  readonly relays = new Map<number, Relay>();
  /** Answers CONNECT `{id, purpose:"file", fd}` (default: CONNECTED ok false). */
  onConnect: (req: { id: number; fd: number }) => void = (req) =>
    this.send(encodeJsonFrame(FRAME.CONNECTED, { id: req.id, ok: false, error: "no route" }));
  #nextId = HOST_ID_BASE;

  /** `afterLoad`: frames the host sends right after the last CONFIG (before the Keep has read it). */
  constructor(w: Workload, o: Partial<AgentOptions> = {}, afterLoad: Uint8Array[] = []) {
    this.host.onFrame((f) => this.#frame(f));
    const ch = this.host.channel;
    const channel = {
      ...ch,
      write: (b: Uint8Array) => {
        this.fromKeep.push(b.slice());
        return ch.write(b);
      },
    };
    this.evidence = this.host.waitFor((f) => f.type === FRAME.EVIDENCE);
    this.host.onFrame((f) => {
      if (f.type !== FRAME.HELLO) return;
      // afterLoad rides in the same write as the last CONFIG frame: the Keep decodes
      // it before its config reading (async) can have finished.
      const frames = loadWorkload(w);
      if (afterLoad.length > 0) frames.push(Buffer.concat([frames.pop()!, ...afterLoad]));
      this.send(...frames);
    });
    this.report = runAgent(channel, { ...OPTIONS, ...o });
  }

  send(...frames: Uint8Array[]): void {
    for (const f of frames) this.toKeep.push(f.slice());
    this.host.send(...frames);
  }

  /** The Keep key from EVIDENCE (DER SPKI). */
  async keepKey(): Promise<Buffer> {
    return Buffer.from(decodeKeepEvidence((await this.evidence).payload).keepKey);
  }

  /** A client connection on listen entry `fd`: ACCEPTED, then relayed. Returns the client's end. */
  accept(fd = 3, id = this.#nextId++): Duplex {
    const [client, hostEnd] = duplexPair();
    this.send(encodeJsonFrame(FRAME.ACCEPTED, { id, fd }));
    this.#relay(id, hostEnd);
    return client;
  }

  /** Where CONNECT "steward" goes: a loopback port. */
  steward: number | null = null;

  /** CONNECTED ok once a TCP connection to 127.0.0.1:`port` is up, then relayed. */
  #relayTo(id: number, port: number): void {
    const tcp = net.connect(port, "127.0.0.1");
    tcp.once("connect", () => {
      this.send(encodeJsonFrame(FRAME.CONNECTED, { id, ok: true }));
      this.#relay(id, tcp);
    });
    tcp.once("error", (e) =>
      this.send(encodeJsonFrame(FRAME.CONNECTED, { id, ok: false, error: e.message })),
    );
  }

  /** Relay connection `id` to `peer` (a duplexPair end or a real socket). */
  relay(id: number, peer: Duplex): void {
    this.#relay(id, peer);
  }

  #relay(id: number, peer: Duplex): void {
    const r: Relay = {
      id,
      peer,
      credit: SOCKET_WINDOW,
      queue: [],
      peerEnded: false,
      hostClosed: false,
      keepClosed: false,
    };
    this.relays.set(id, r);
    peer.on("data", (chunk: Buffer) => {
      r.queue.push(chunk);
      this.#pump(r);
    });
    peer.on("end", () => {
      r.peerEnded = true;
      this.#pump(r);
    });
    peer.on("error", () => {
      r.peerEnded = true;
      this.#pump(r);
    });
  }

  /** SOCKET_RECV within the credit, ≤ 64 KiB each; SOCKET_CLOSED once the peer's bytes are out. */
  #pump(r: Relay): void {
    while (r.queue.length > 0 && r.credit > 0 && !r.hostClosed && !this.host.isEnded) {
      const head = r.queue[0]!;
      const n = Math.min(head.length, r.credit, DATA_CHUNK);
      this.send(encodeSocketData(FRAME.SOCKET_RECV, r.id, head.subarray(0, n)));
      r.credit -= n;
      if (n === head.length) r.queue.shift();
      else r.queue[0] = head.subarray(n);
    }
    if (r.queue.length > 0) r.peer.pause();
    else if (!r.peerEnded) r.peer.resume();
    if (r.queue.length === 0 && r.peerEnded && !r.hostClosed && !this.host.isEnded) {
      r.hostClosed = true;
      this.send(encodeU32Frame(FRAME.SOCKET_CLOSED, r.id));
    }
  }

  #frame(f: Frame): void {
    switch (f.type) {
      case FRAME.SOCKET_SEND: {
        // A connection a hostile-host row opened without a relay has no peer.
        const r = this.relays.get(decodeU32(f.payload));
        if (r && !r.peer.writableEnded) r.peer.write(Buffer.from(f.payload.subarray(4)));
        return;
      }
      case FRAME.SOCKET_CREDIT: {
        const r = this.relays.get(decodeU32(f.payload));
        if (!r) return;
        r.credit += decodeU32(f.payload, 4);
        assert.ok(r.credit <= SOCKET_WINDOW, "the Keep credited more than the host sent");
        this.#pump(r);
        return;
      }
      case FRAME.SOCKET_CLOSE: {
        const r = this.relays.get(decodeU32(f.payload));
        if (!r) return;
        r.keepClosed = true;
        r.peer.end();
        if (!r.hostClosed) {
          r.hostClosed = true;
          this.send(encodeU32Frame(FRAME.SOCKET_CLOSED, r.id));
        }
        return;
      }
      case FRAME.CONNECT: {
        const o = decodeJsonPayload(f);
        if (o.purpose === "steward") {
          assert.ok(this.steward, "CONNECT steward, but the test named no Steward");
          this.#relayTo(o.id as number, this.steward);
          return;
        }
        assert.equal(o.purpose, "file");
        this.onConnect({ id: o.id as number, fd: o.fd as number });
        return;
      }
    }
  }

  /** The host goes away (ends a workload that serves forever). */
  async close(): Promise<ExitReport | null> {
    this.host.close();
    return this.report;
  }

  /** The EXIT payload. */
  exit(): Record<string, unknown> | null {
    const f = this.host.of(FRAME.EXIT)[0];
    return f ? decodeJsonPayload(f) : null;
  }

  /** Every byte that crossed the channel, both ways, but the MODULE frames (the workload's code). */
  crossed(): Buffer {
    const notModule = this.toKeep.filter((b) => b[1] !== FRAME.MODULE);
    return Buffer.concat([...this.fromKeep, ...notModule]);
  }
}

/** What every finished run must leave: EXIT last, once, nothing after, nothing undecodable. */
function assertEndedCleanly(s: Session): void {
  assert.equal(s.host.decodeError, null);
  assert.ok(s.host.isEnded, "the Keep did not end the channel");
  assert.deepEqual(s.host.afterEnd, [], "the Keep wrote after ending the channel");
  if (s.exit() !== null) {
    assert.equal(s.host.frames.at(-1)?.type, FRAME.EXIT, "EXIT is not the last frame");
    assert.equal(s.host.of(FRAME.EXIT).length, 1);
  }
}

/** A TLS client over `socket`; resolves once the handshake is done. */
function tlsClient(socket: Duplex, o: tls.ConnectionOptions = {}): Promise<tls.TLSSocket> {
  return new Promise((resolve, reject) => {
    const t = tls.connect({ socket, rejectUnauthorized: false, servername: "keep", ...o });
    t.once("secureConnect", () => resolve(t));
    t.once("error", reject);
  });
}

/** Send `request`, read to the end; what the client decrypted (or the error that ended it). */
function exchange(
  t: tls.TLSSocket,
  request: string,
): Promise<{ text: string; error: Error | null }> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    t.on("data", (c: Buffer) => got.push(c));
    t.once("end", () => resolve({ text: Buffer.concat(got).toString(), error: null }));
    t.once("error", (e) => resolve({ text: Buffer.concat(got).toString(), error: e }));
    t.write(request);
  });
}

const get = (p: string) => `GET ${p} HTTP/1.1\r\nHost: keep\r\nConnection: close\r\n\r\n`;

/** An https-hello Keep with `toml` (default its own); -q keeps request lines off stderr. */
function httpsHello(toml: Uint8Array = HTTPS_HELLO_TOML, limits: Workload["limits"] = {}) {
  return new Session({
    wasm: HTTPS_HELLO,
    config: toml,
    plan: { args: ["https-hello.wasm", "-q"] },
    limits,
  });
}

describe("Keep sockets: https-hello over a relayed listen socket", () => {
  it(
    "TLS 1.3 with the Keep's self-signed certificate for the Keep key; the page; no plaintext on the channel",
    T,
    async () => {
      const s = httpsHello();
      const key = await s.keepKey();
      const t = await tlsClient(s.accept());
      assert.equal(t.getProtocol(), "TLSv1.3");
      const cert = t.getPeerX509Certificate()!;
      assert.deepEqual(cert.publicKey.export({ type: "spki", format: "der" }), key);
      assert.ok(cert.verify(cert.publicKey), "self-signed: signed by the Keep key itself");
      assert.match(cert.subject, /\(self-signed\\?; no Steward\)/);
      const page = await exchange(t, get("/"));
      assert.match(page.text, /^HTTP\/1\.1 200 /);
      assert.ok(page.text.includes(PAGE_LINE), page.text);

      // A second connection with a secret only this test knows, both ways.
      const secret = `secret-${randomBytes(12).toString("hex")}`;
      const t2 = await tlsClient(s.accept());
      const echo = await exchange(t2, get(`/echo?${secret}`));
      assert.ok(echo.text.endsWith(secret), echo.text);

      assert.equal(await s.close(), null);
      assertEndedCleanly(s);
      const crossed = s.crossed();
      // The check can fail: the client saw the same strings in plaintext.
      const seen = Buffer.from(page.text + echo.text + get("/") + get(`/echo?${secret}`));
      for (const needle of [PAGE_LINE, "GET / HTTP/1.1", `/echo?${secret}`, secret]) {
        assert.ok(seen.includes(needle), `the client's own view lacks ${needle}`);
        assert.ok(!crossed.includes(needle), `plaintext crossed the channel: ${needle}`);
      }
      // …and the channel did carry the TLS records (it is not empty).
      assert.ok(s.host.of(FRAME.SOCKET_SEND).length > 0);
      assert.ok(s.toKeep.some((b) => b[1] === FRAME.SOCKET_RECV));
    },
  );

  it(
    "serves many clients at once; one that never finishes its handshake blocks nobody",
    T,
    async () => {
      const s = httpsHello();
      await s.evidence;
      // A client that sends half a ClientHello and then nothing.
      const stalled = s.accept();
      stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
      const answers = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const t = await tlsClient(s.accept());
          return (await exchange(t, get(`/echo?client-${i}`))).text;
        }),
      );
      for (const [i, a] of answers.entries()) assert.ok(a.endsWith(`client-${i}`), a);
      assert.ok(!stalled.readableEnded, "the stalled client is still waiting, not dropped");
      assert.equal(await s.close(), null);
      assertEndedCleanly(s);
    },
  );

  it(`a client that stalls its handshake is dropped after ${HANDSHAKE_TIMEOUT_MS / 1000} s, with a note (its relay is freed)`, {
    timeout: HANDSHAKE_TIMEOUT_MS + 30_000,
  }, async () => {
    const s = httpsHello();
    await s.evidence;
    const stalled = s.accept();
    stalled.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    stalled.resume();
    const t0 = Date.now();
    await new Promise<void>((r) => stalled.once("end", r));
    assert.ok(Date.now() - t0 >= HANDSHAKE_TIMEOUT_MS - 500, `dropped after ${Date.now() - t0} ms`);
    assert.ok(s.host.of(FRAME.SOCKET_CLOSE).some((f) => decodeU32(f.payload) === HOST_ID_BASE));
    assert.equal(
      s.host.text(FRAME.STDERR),
      `donjon keep: fd 3 "web": a client did not finish its TLS handshake within ${HANDSHAKE_TIMEOUT_MS / 1000} s; dropped\n`,
    );
    assert.equal(await s.close(), null);
    assertEndedCleanly(s);
  });

  it(
    "a request larger than the credit window arrives whole (POST /echo, 64 KiB body)",
    T,
    async () => {
      const s = httpsHello();
      await s.evidence;
      const t = await tlsClient(s.accept());
      const body = Buffer.alloc(64 * 1024, "x");
      body.write("first", 0);
      body.write("last!", body.length - 5);
      const r = await exchange(
        t,
        `POST /echo HTTP/1.1\r\nHost: keep\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
      );
      assert.match(r.text, /^HTTP\/1\.1 200 /);
      assert.ok(r.text.endsWith(body.toString()), r.text.slice(0, 200));
      assert.equal(await s.close(), null);
      assertEndedCleanly(s);
    },
  );

  it(
    "8 MiB down one connection arrives whole; a client that vanishes mid-answer harms nobody",
    T,
    async () => {
      const s = httpsHello();
      await s.evidence;
      const n = 8 * 1024 * 1024;
      const t = await tlsClient(s.accept());
      const r = await exchange(t, get(`/bytes?n=${n}`));
      const body = r.text.slice(r.text.indexOf("\r\n\r\n") + 4);
      assert.equal(body.length, n);
      assert.equal(body, "0123456789abcdef".repeat(n / 16));
      // A client that goes away after the first bytes of a large answer.
      const gone = await tlsClient(s.accept());
      await new Promise<void>((resolve) => {
        gone.once("data", () => {
          gone.destroy();
          resolve();
        });
        gone.write(get(`/bytes?n=${n}`));
      });
      const after = await exchange(await tlsClient(s.accept()), get("/"));
      assert.ok(after.text.includes(PAGE_LINE), after.text);
      assert.equal(await s.close(), null);
      assertEndedCleanly(s);
    },
  );

  it(
    `more connections over time than MAX_SOCKETS (${MAX_SOCKETS}): closed ones are freed`,
    T,
    async () => {
      const s = httpsHello();
      await s.evidence;
      const total = MAX_SOCKETS + 40;
      let served = 0;
      // Ten at a time, each closed by the server (Connection: close) before the next.
      await Promise.all(
        Array.from({ length: 10 }, async (_, lane) => {
          for (let i = lane; i < total; i += 10) {
            const r = await exchange(await tlsClient(s.accept()), get(`/echo?n${i}`));
            assert.ok(r.text.endsWith(`n${i}`), r.text);
            served++;
          }
        }),
      );
      assert.equal(served, total);
      assert.equal(s.exit(), null, JSON.stringify(s.exit()));
      assert.equal(await s.close(), null);
      assertEndedCleanly(s);
    },
  );

  it(
    "a connection ACCEPTED right after CONFIG (before the Keep read it) is served once it has",
    T,
    async () => {
      const [early, hostEnd] = duplexPair();
      const s = new Session(
        { wasm: HTTPS_HELLO, config: HTTPS_HELLO_TOML, plan: { args: ["https-hello", "-q"] } },
        {},
        [encodeJsonFrame(FRAME.ACCEPTED, { id: HOST_ID_BASE, fd: 3 })],
      );
      s.relay(HOST_ID_BASE, hostEnd);
      const r = await exchange(await tlsClient(early), get("/echo?early"));
      assert.ok(r.text.endsWith("early"), r.text);
      assert.equal(await s.close(), null);
      assertEndedCleanly(s);
    },
  );

  for (const clients of [false, true]) {
    it(
      `a time limit ends a server waiting for connections${clients ? ", with clients connected" : ""} (EXIT limit time)`,
      T,
      async () => {
        // https-hello waits in poll() on the listener (no timeout while it has no
        // connection): the worker is blocked in the socket bridge, as in accept().
        const s = httpsHello(HTTPS_HELLO_TOML, { timeoutMs: 800 });
        if (clients) {
          // One client connected and idle, one mid-handshake: neither keeps the Keep alive.
          await s.evidence;
          const idle = await tlsClient(s.accept());
          idle.on("error", () => {});
          s.accept().write(Buffer.from([0x16, 0x03, 0x01]));
        }
        const report = await s.report;
        assert.equal(report?.kind, "limit");
        assert.equal(report?.kind === "limit" && report.limit, "time");
        assertEndedCleanly(s);
        assert.deepEqual(s.exit(), JSON.parse(JSON.stringify(report)));
      },
    );
  }
});

describe("Keep sockets: /donjon/cert.pem and FD_COUNT / FD_NAMES", () => {
  const LISTEN = `${STDIO}[[files]]\nkind = "listen"\nname = "web"\naddr = "127.0.0.1"\nport = 0\n`;

  it("cat /donjon/cert.pem prints the Keep's certificate (for the Keep key)", T, async () => {
    const s = new Session({
      wasm: CAT,
      config: utf8.encode(LISTEN),
      plan: { args: ["cat", "/donjon/cert.pem"] },
    });
    const report = await s.report;
    assertEndedCleanly(s);
    assert.deepEqual(report, s.exit());
    assert.equal(s.exit()?.code, 0, s.host.text(FRAME.STDERR));
    const pem = s.host.text(FRAME.STDOUT);
    assert.match(pem, /^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n?$/);
    const cert = new X509Certificate(pem);
    assert.deepEqual(cert.publicKey.export({ type: "spki", format: "der" }), await s.keepKey());
  });

  it("without sockets and without a Steward there is no /donjon", T, async () => {
    const s = new Session({
      wasm: CAT,
      config: utf8.encode(STDIO),
      plan: { args: ["cat", "/donjon/cert.pem"] },
    });
    await s.report;
    assertEndedCleanly(s);
    assert.equal(s.exit()?.code, 1);
    assert.equal(s.host.text(FRAME.STDOUT), "");
    assert.match(s.host.text(FRAME.STDERR), /cat: \/donjon\/cert\.pem: /);
  });

  it("a [[dirs]] entry at /donjon is refused (keep.config)", T, async () => {
    for (const guest of ["/donjon", "/donjon/sub"]) {
      const s = new Session({
        wasm: CAT,
        config: utf8.encode(LISTEN),
        plan: { args: ["cat"], dirs: [{ guest, host: null, readonly: false }] },
      });
      const report = await s.report;
      assertEndedCleanly(s);
      assert.equal(report?.kind, "error");
      assert.equal(s.exit()?.code, "keep.config");
      assert.match(s.exit()?.message as string, /\/donjon is where the Keep puts its certificate/);
      assert.equal(s.host.of(FRAME.STDOUT).length, 0);
    }
  });

  it("FD_COUNT and FD_NAMES come from the measured config, not from START's env", T, async () => {
    const env = { FD_COUNT: "9", FD_NAMES: "stdin:stdout:stderr:a:b:c:d:e:f", OTHER: "kept" };
    const cases: [string, string[]][] = [
      [LISTEN, ["FD_COUNT=4", "FD_NAMES=stdin:stdout:stderr:web"]],
      // [[files]] without a socket still names the fds.
      [STDIO, ["FD_COUNT=3", "FD_NAMES=stdin:stdout:stderr"]],
    ];
    for (const [toml, expected] of cases) {
      const s = new Session({
        wasm: PRINT_ENV,
        config: utf8.encode(toml),
        plan: { args: ["print_env"], env },
      });
      await s.report;
      assertEndedCleanly(s);
      assert.equal(s.exit()?.code, 0);
      const lines = s.host.text(FRAME.STDOUT).trim().split("\n").sort();
      assert.deepEqual(lines, [...expected, "OTHER=kept"].sort());
    }
  });
});

/** ACCEPTED frames a hostile host sends once the Keep has proved itself. */
interface HostileRow {
  name: string;
  config?: string;
  frames: () => Uint8Array[];
  code: string;
  message: string;
}

const accepted = (id: number, fd: number, extra: Record<string, unknown> = {}) =>
  encodeJsonFrame(FRAME.ACCEPTED, { id, fd, ...extra });
const NOT_LISTEN = (fd: number) =>
  `sallyport: ACCEPTED on fd ${fd}, which is not a listen socket of the config the Keep measured`;

const HOSTILE: HostileRow[] = [
  {
    name: "ACCEPTED with an id below HOST_ID_BASE (a Keep id)",
    frames: () => [accepted(5, 3)],
    code: "keep.sallyport.payload",
    message: `sallyport: ACCEPTED id must be an integer from ${HOST_ID_BASE} to 4294967295`,
  },
  {
    name: "ACCEPTED reusing an id",
    frames: () => [accepted(HOST_ID_BASE, 3), accepted(HOST_ID_BASE, 3)],
    code: "keep.sallyport.order",
    message: `sallyport: ACCEPTED reuses or goes back to connection id ${HOST_ID_BASE} (the last was ${HOST_ID_BASE}; host ids only grow)`,
  },
  {
    name: "ACCEPTED going back to a lower id",
    frames: () => [accepted(HOST_ID_BASE + 7, 3), accepted(HOST_ID_BASE + 2, 3)],
    code: "keep.sallyport.order",
    message: `sallyport: ACCEPTED reuses or goes back to connection id ${HOST_ID_BASE + 2} (the last was ${HOST_ID_BASE + 7}; host ids only grow)`,
  },
  {
    name: "ACCEPTED on fd 4 (not an entry)",
    frames: () => [accepted(HOST_ID_BASE, 4)],
    code: "keep.sallyport.order",
    message: NOT_LISTEN(4),
  },
  {
    name: "ACCEPTED on fd 0 (stdin)",
    frames: () => [accepted(HOST_ID_BASE, 0)],
    code: "keep.sallyport.order",
    message: NOT_LISTEN(0),
  },
  {
    name: "ACCEPTED on a connect entry's fd",
    config: `${STDIO}[[files]]\nkind = "listen"\nport = 0\n[[files]]\nkind = "connect"\nprot = "tcp"\nhost = "h"\nport = 1\n`,
    frames: () => [accepted(HOST_ID_BASE, 4)],
    code: "keep.sallyport.order",
    message: NOT_LISTEN(4),
  },
  {
    name: "ACCEPTED with an unknown field",
    frames: () => [accepted(HOST_ID_BASE, 3, { addr: "10.0.0.1:5555" })],
    code: "keep.sallyport.payload",
    message: 'sallyport: ACCEPTED has unknown field "addr"',
  },
  {
    name: "ACCEPTED with a fd that is not an integer",
    frames: () => [accepted(HOST_ID_BASE, 3.5)],
    code: "keep.sallyport.payload",
    message: "sallyport: ACCEPTED fd must be an integer from 0 to 65535",
  },
  {
    name: "ACCEPTED when the config has no sockets",
    config: STDIO,
    frames: () => [accepted(HOST_ID_BASE, 3)],
    code: "keep.sallyport.order",
    message: NOT_LISTEN(3),
  },
  {
    name: "ACCEPTED when there is no config at all",
    config: "",
    frames: () => [accepted(HOST_ID_BASE, 3)],
    code: "keep.sallyport.order",
    message: NOT_LISTEN(3),
  },
  {
    name: `more than MAX_SOCKETS (${MAX_SOCKETS}) connections open`,
    frames: () => Array.from({ length: MAX_SOCKETS + 1 }, (_, i) => accepted(HOST_ID_BASE + i, 3)),
    code: "keep.sallyport.order",
    message: `sallyport: ACCEPTED with ${MAX_SOCKETS} connections open already`,
  },
  {
    name: "SOCKET_RECV past the credit on an accepted connection",
    // One write: the Keep decodes every frame before its reader can credit any of them.
    frames: () => [
      Buffer.concat([
        accepted(HOST_ID_BASE, 3),
        ...Array.from({ length: SOCKET_WINDOW / DATA_CHUNK }, () =>
          encodeSocketData(FRAME.SOCKET_RECV, HOST_ID_BASE, new Uint8Array(DATA_CHUNK)),
        ),
        encodeSocketData(FRAME.SOCKET_RECV, HOST_ID_BASE, new Uint8Array(1)),
      ]),
    ],
    code: "keep.sallyport.length",
    message: `sallyport: SOCKET_RECV (0x87) for connection ${HOST_ID_BASE} brings ${SOCKET_WINDOW + 1} bytes not yet credited; the Keep granted ${SOCKET_WINDOW}`,
  },
];

describe("Keep sockets: a hostile host", () => {
  for (const row of HOSTILE) {
    for (const when of ["while the workload runs", "right after CONFIG"] as const) {
      // The early path (ACCEPTED before the Keep read its config) must reach the
      // same verdict; rows that need open connections first run late only.
      if (when === "right after CONFIG" && row.frames().length > 2) continue;
      it(`${row.name}, ${when} → ${row.code}`, T, async () => {
        const config = row.config ?? new TextDecoder().decode(HTTPS_HELLO_TOML);
        // A workload that stays up: https-hello in poll, or (no listen socket) cat
        // waiting for stdin the host never sends.
        const w: Workload = config.includes('"listen"')
          ? {
              wasm: HTTPS_HELLO,
              config: utf8.encode(config),
              plan: { args: ["https-hello", "-q"] },
            }
          : { wasm: CAT, config: utf8.encode(config), plan: { args: ["cat"] } };
        const s = new Session(w, {}, when === "right after CONFIG" ? row.frames() : []);
        // A connect entry gets a connection (nothing at the other end).
        s.onConnect = (req) => {
          s.send(encodeJsonFrame(FRAME.CONNECTED, { id: req.id, ok: true }));
          s.relay(req.id, duplexPair()[1]);
        };
        if (when === "while the workload runs") {
          // Running: the Keep proved itself and started it (https-hello sits in poll, cat in read).
          await s.evidence;
          await new Promise((r) => setTimeout(r, 300));
          assert.equal(s.exit(), null, "the workload ended before the test's frames");
          s.send(...row.frames());
        }
        const report = await Promise.race([
          s.report,
          new Promise<"hang">((r) => setTimeout(() => r("hang"), 10_000)),
        ]);
        if (report === "hang") {
          await s.close();
          assert.fail("the Keep took the frames and kept running");
        }
        assertEndedCleanly(s);
        assert.deepEqual(s.exit(), { kind: "error", code: row.code, message: row.message });
      });
    }
  }
});

/** A test CA (the Steward's own code) and certificates it issues. */
interface Pki {
  ca: Ca;
  /** A client certificate chain and key from `ca` (a Keep certificate, clientAuth). */
  client(claims?: Partial<KeepCertClaims>): Promise<{ cert: string; key: string }>;
  /** A server certificate and key from `ca` for localhost (optionally a Keep certificate). */
  server(claims?: Partial<KeepCertClaims>): Promise<{ cert: string; key: string }>;
}

const CLAIMS: KeepCertClaims = {
  tee: "sandbox",
  tier: "software",
  measurement: "12".repeat(48),
  workload: "c0".repeat(32),
  tcbStatus: "none",
  tcb: null,
  evidenceSha256: "56".repeat(32),
};

async function pki(subject: string): Promise<Pki> {
  const now = new Date();
  const { ca } = await createCa({ now: new Date(now.getTime() - HOUR), subject });
  const keep = async (claims: Partial<KeepCertClaims>, dns: boolean) => {
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey));
    const issued = await issueKeepCert(ca, {
      spki,
      claims: { ...CLAIMS, ...claims },
      lifetimeMs: HOUR,
      now,
      ...(dns ? { san: [{ type: "dns" as const, value: "localhost" }] } : {}),
    });
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
    return { cert: issued.pem + ca.certPem, key: toPem("PRIVATE KEY", pkcs8) };
  };
  return {
    ca,
    client: (claims = {}) => keep(claims, false),
    server: async (claims) => {
      if (claims !== undefined) return keep(claims, true);
      const t = await issueTlsCert(ca, { now });
      return { cert: t.certPem + ca.certPem, key: t.keyPem };
    },
  };
}

describe("Keep sockets: mutual TLS on a listen socket", () => {
  let A: Pki;
  let B: Pki;
  before(async () => {
    A = await pki("CN=Test Steward A");
    B = await pki("CN=Test Steward B");
  });
  const WORKLOAD = "c0".repeat(32);
  const OTHER = "d1".repeat(32);
  const mtls = (ca: string, workload?: string) =>
    utf8.encode(
      `${STDIO}[[files]]\nkind = "listen"\nname = "web"\nport = 0\nclient_ca = ${JSON.stringify(ca)}\n${workload ? `client_workload = "${workload}"\n` : ""}`,
    );

  /** The request's fate: the page, or refused (an error or an end with no answer). */
  async function ask(s: Session, o: tls.ConnectionOptions): Promise<string> {
    let t: tls.TLSSocket;
    try {
      t = await tlsClient(s.accept(), o);
    } catch (e) {
      return `refused: ${(e as Error).message}`;
    }
    const r = await exchange(t, get("/echo?mtls"));
    if (r.error !== null) return `refused: ${r.error.message}`;
    return r.text === "" ? "refused: closed" : r.text;
  }

  it(
    "client_ca: no certificate, or one from another CA, is refused in the handshake; one from the CA is served",
    T,
    async () => {
      const s = httpsHello(mtls(A.ca.certPem));
      await s.evidence;
      const none = await ask(s, {});
      assert.match(none, /^refused: /);
      const fromB = await ask(s, await B.client());
      assert.match(fromB, /^refused: /);
      const fromA = await ask(s, await A.client());
      assert.match(fromA, /^HTTP\/1\.1 200 [\s\S]*mtls$/, s.host.text(FRAME.STDERR));
      assert.equal(await s.close(), null);
      assertEndedCleanly(s);
      const notes = s.host.text(FRAME.STDERR).trim().split("\n");
      const refused = 'donjon keep: fd 3 "web": a client was refused during the TLS handshake: ';
      assert.equal(notes.length, 2, notes.join("\n"));
      // No certificate: OpenSSL's own refusal (or, should it let one through, the chain check's).
      assert.ok(
        [
          `${refused}peer did not return a certificate (ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE)`,
          `${refused}client certificate not accepted: UNABLE_TO_GET_ISSUER_CERT`,
        ].includes(notes[0]!),
        notes[0],
      );
      // B's chain ends in B's root, which this listener does not trust.
      assert.equal(
        notes[1],
        `${refused}client certificate not accepted: SELF_SIGNED_CERT_IN_CHAIN`,
      );
    },
  );

  it(
    "client_workload: a Keep certificate for another workload (or none) is refused; the pinned one is served",
    T,
    async () => {
      const s = httpsHello(mtls(A.ca.certPem, WORKLOAD));
      await s.evidence;
      assert.match(await ask(s, await A.client({ workload: OTHER })), /^refused: /);
      assert.match(await ask(s, await A.client({ workload: null })), /^refused: /);
      // The pinned workload, but certified by a CA the listener does not trust.
      assert.match(await ask(s, await B.client({ workload: WORKLOAD })), /^refused: /);
      assert.match(await ask(s, await A.client({ workload: WORKLOAD })), /^HTTP\/1\.1 200 /);
      assert.equal(await s.close(), null);
      assertEndedCleanly(s);
      const notes = s.host.text(FRAME.STDERR).trim().split("\n");
      assert.deepEqual(notes.slice(0, 2), [
        `donjon keep: fd 3 "web": a client was refused: it runs workload ${OTHER}, not the pinned ${WORKLOAD}`,
        `donjon keep: fd 3 "web": a client was refused: it runs workload (none named), not the pinned ${WORKLOAD}`,
      ]);
      assert.match(
        notes[2] ?? "",
        /^donjon keep: fd 3 "web": a client was refused during the TLS handshake: /,
      );
      assert.equal(notes.length, 3, notes.join("\n"));
    },
  );
});

describe("Keep sockets: connect entries", () => {
  let A: Pki;
  let B: Pki;
  const servers: net.Server[] = [];
  before(async () => {
    A = await pki("CN=Test Steward A");
    B = await pki("CN=Test Steward B");
  });
  after(() => {
    for (const s of servers) s.close();
  });

  /** A TLS server on 127.0.0.1 that answers one line with "reply: LINE" and closes. */
  async function lineServer(id: { cert: string; key: string }): Promise<number> {
    const server = tls.createServer({ cert: id.cert, key: id.key }, (t) => {
      let got = "";
      t.on("data", (c: Buffer) => {
        got += c.toString();
        if (got.includes("\n")) t.end(`reply: ${got}`);
      });
      t.on("error", () => {});
    });
    server.on("tlsClientError", () => {});
    servers.push(server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return (server.address() as net.AddressInfo).port;
  }

  const connectToml = (port: number, roots: string[], pin?: string, host = "localhost") =>
    utf8.encode(
      `${STDIO}[[files]]\nkind = "connect"\nname = "api"\nhost = "${host}"\nport = ${port}\n${pin ? `peer_workload = "${pin}"\n` : ""}` +
        `[trust]\nroots = ${JSON.stringify(roots)}\npublic = false\n`,
    );

  /** sock_client with `toml`; the host relays fd 3's CONNECT to 127.0.0.1:`port`. */
  async function runClient(
    toml: Uint8Array,
    port: number,
    answer?: (s: Session, id: number) => void,
  ) {
    const s = new Session({
      wasm: SOCK_CLIENT,
      config: toml,
      plan: { args: ["sock_client", "ping"] },
    });
    const asked: { id: number; fd: number }[] = [];
    s.onConnect = (req) => {
      asked.push(req);
      if (answer) return answer(s, req.id);
      const tcp = net.connect(port, "127.0.0.1");
      tcp.once("connect", () => {
        s.send(encodeJsonFrame(FRAME.CONNECTED, { id: req.id, ok: true }));
        s.relay(req.id, tcp);
      });
      tcp.once("error", () => {});
    };
    const report = await s.report;
    assertEndedCleanly(s);
    return { s, report, asked };
  }

  it(
    "a server certified by a [trust] root: the reply reaches stdout; no plaintext on the channel",
    T,
    async () => {
      const port = await lineServer(await A.server());
      const { s, report, asked } = await runClient(connectToml(port, [A.ca.certPem]), port);
      assert.deepEqual(asked, [{ id: 1, fd: 3 }]);
      assert.equal(report?.kind, "exit", JSON.stringify(report));
      assert.equal(s.host.text(FRAME.STDOUT), "reply: ping\n", s.host.text(FRAME.STDERR));
      assert.equal(s.exit()?.code, 0, s.host.text(FRAME.STDERR));
      const crossed = s.crossed();
      // STDOUT carries the reply by design; the socket frames must not.
      const sockets = Buffer.concat(
        [
          ...s.host.of(FRAME.SOCKET_SEND),
          ...s.toKeep.filter((b) => b[1] === FRAME.SOCKET_RECV),
        ].map((f) => ("payload" in f ? Buffer.from(f.payload) : Buffer.from(f))),
      );
      assert.ok(sockets.length > 0);
      assert.ok(!sockets.includes("ping"), "the request crossed in plaintext");
      assert.ok(!sockets.includes("reply:"), "the reply crossed in plaintext");
      assert.ok(crossed.includes("reply: ping"), "the check can fail: STDOUT does carry it");
    },
  );

  const REFUSED: {
    name: string;
    make: () => Promise<{
      toml: (port: number) => Uint8Array;
      server: { cert: string; key: string };
    }>;
    message: (port: number) => RegExp;
  }[] = [
    {
      name: "a server certified by a CA the config does not trust",
      make: async () => ({ toml: (p) => connectToml(p, [A.ca.certPem]), server: await B.server() }),
      message: (p) =>
        new RegExp(
          `^TLS to fd 3 "api" \\(localhost:${p}\\) failed: (unable to get local issuer certificate|self-signed certificate in certificate chain)`,
        ),
    },
    {
      // The host relays to the server it chose; the Keep checks the name it asked for.
      name: "a trusted server whose certificate names another host",
      make: async () => ({
        toml: (p) => connectToml(p, [A.ca.certPem], undefined, "api.example"),
        server: await A.server(),
      }),
      message: (p) =>
        new RegExp(
          `^TLS to fd 3 "api" \\(api\\.example:${p}\\) failed: Hostname/IP does not match certificate's altnames`,
        ),
    },
    {
      name: "public roots off and no [trust] roots",
      make: async () => ({ toml: (p) => connectToml(p, []), server: await A.server() }),
      message: (p) => new RegExp(`^TLS to fd 3 "api" \\(localhost:${p}\\) failed: `),
    },
    {
      name: "peer_workload pinned, the server a Keep of another workload",
      make: async () => ({
        toml: (p) => connectToml(p, [A.ca.certPem], "c0".repeat(32)),
        server: await A.server({ workload: "d1".repeat(32) }),
      }),
      message: (p) =>
        new RegExp(
          `^the peer of fd 3 "api" \\(localhost:${p}\\) is refused: it runs workload ${"d1".repeat(32)}, not the pinned ${"c0".repeat(32)}$`,
        ),
    },
    {
      name: "peer_workload pinned, the server not a Keep at all",
      make: async () => ({
        toml: (p) => connectToml(p, [A.ca.certPem], "c0".repeat(32)),
        server: await A.server(),
      }),
      message: (p) =>
        new RegExp(
          `^the peer of fd 3 "api" \\(localhost:${p}\\) is refused: its certificate is not a Keep certificate`,
        ),
    },
  ];
  for (const row of REFUSED) {
    it(`${row.name} → keep.net.connect, the workload never ran`, T, async () => {
      const { toml, server } = await row.make();
      const port = await lineServer(server);
      const { s, report } = await runClient(toml(port), port);
      assert.equal(report?.kind, "error", JSON.stringify(report));
      assert.equal(s.exit()?.code, "keep.net.connect");
      assert.match(s.exit()?.message as string, row.message(port));
      assert.equal(s.host.of(FRAME.STDOUT).length, 0);
      // sock_client would have said why on stderr had it run with a dead fd 3.
      assert.equal(s.host.of(FRAME.STDERR).length, 0, s.host.text(FRAME.STDERR));
    });
  }

  it(
    "peer_workload pinned, the server a Keep of that workload (Steward-issued): served",
    T,
    async () => {
      const port = await lineServer(await A.server({ workload: "c0".repeat(32) }));
      const { s, report } = await runClient(
        connectToml(port, [A.ca.certPem], "c0".repeat(32)),
        port,
      );
      assert.equal(report?.kind, "exit", JSON.stringify(report));
      assert.equal(s.host.text(FRAME.STDOUT), "reply: ping\n");
    },
  );

  it(
    "prot tcp: plain bytes both ways (what the config chose), the reply reaches stdout",
    T,
    async () => {
      const server = net.createServer((c) => {
        let got = "";
        c.on("data", (b: Buffer) => {
          got += b.toString();
          if (got.includes("\n")) c.end(`plain: ${got}`);
        });
        c.on("error", () => {});
      });
      servers.push(server);
      await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
      const port = (server.address() as net.AddressInfo).port;
      const toml = utf8.encode(
        `${STDIO}[[files]]\nkind = "connect"\nprot = "tcp"\nhost = "127.0.0.1"\nport = ${port}\n`,
      );
      const { s, report } = await runClient(toml, port);
      assert.equal(report?.kind, "exit", JSON.stringify(report));
      assert.equal(s.host.text(FRAME.STDOUT), "plain: ping\n", s.host.text(FRAME.STDERR));
      // No TLS: the host relays the line as it is (this is what prot = "tls" prevents).
      assert.ok(s.crossed().includes("ping\n"));
    },
  );

  it("the host never answers CONNECT → keep.net.connect after connectTimeoutMs", T, async () => {
    const s = new Session(
      {
        wasm: SOCK_CLIENT,
        config: connectToml(443, [A.ca.certPem]),
        plan: { args: ["sock_client"] },
      },
      { connectTimeoutMs: 300 },
    );
    s.onConnect = () => {};
    const report = await s.report;
    assertEndedCleanly(s);
    assert.deepEqual(report, {
      kind: "error",
      code: "keep.net.connect",
      message: 'fd 3 "api" (localhost:443) did not connect within 0.3 s',
    });
  });

  it(
    "the host answers CONNECTED ok:false → keep.net.connect naming the fd and the host's reason",
    T,
    async () => {
      const { s, report } = await runClient(connectToml(1, [A.ca.certPem]), 1, (host, id) =>
        host.send(encodeJsonFrame(FRAME.CONNECTED, { id, ok: false, error: "ECONNREFUSED" })),
      );
      assert.deepEqual(report, {
        kind: "error",
        code: "keep.net.connect",
        message: 'cannot open fd 3 "api" (localhost:1): ECONNREFUSED',
      });
      assert.equal(s.host.of(FRAME.STDOUT).length, 0);
      // sock_client would have said why on stderr had it run with a dead fd 3.
      assert.equal(s.host.of(FRAME.STDERR).length, 0, s.host.text(FRAME.STDERR));
    },
  );
});

describe("Keep sockets: the WASI socket calls through the bridge (sock_echo.wasm)", () => {
  const SOCK_ECHO = wasm("test/wasm/sock_echo.wasm");
  const DATA = fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), "donjon-net-test-"));
  fs.writeFileSync(path.join(DATA, "greeting.txt"), "hi from the preopen\n");
  after(() => fs.rmSync(DATA, { recursive: true, force: true }));

  for (const prot of ["tls", "tcp"] as const) {
    it(
      `prot ${prot}: accept, accept4 NONBLOCK, peek, recv/read, send/write, poll, shutdown, then EAGAIN`,
      T,
      async () => {
        const s = new Session({
          wasm: SOCK_ECHO,
          config: utf8.encode(
            `${STDIO}[[files]]\nkind = "listen"\nname = "echo"\nprot = "${prot}"\nport = 0\n`,
          ),
          plan: {
            args: ["sock_echo.wasm", "3"],
            dirs: [{ guest: "/data", host: DATA, readonly: true }],
          },
        });
        await s.evidence;
        // One client at a time, each sending only after a pause: connection 2 must
        // see EAGAIN from a nonblocking recv before its line arrives.
        for (let k = 0; k < 3; k++) {
          const raw = s.accept();
          const sock: Duplex = prot === "tls" ? await tlsClient(raw) : raw;
          const got: Buffer[] = [];
          sock.on("data", (b: Buffer) => got.push(b));
          const ended = new Promise<void>((r) => sock.once("end", r));
          await new Promise((r) => setTimeout(r, 200));
          sock.write(`line ${k}\n`);
          await ended;
          assert.equal(Buffer.concat(got).toString(), `hi from the preopen\nline ${k}\n`);
          sock.end();
        }
        const report = await s.report;
        assertEndedCleanly(s);
        const out = s.host.text(FRAME.STDOUT);
        assert.deepEqual(report, { ...report, kind: "exit", code: 0 }, out);
        assert.match(out, /^done \d+ passed, 0 failed$/m);
        assert.match(out, /^# FD_NAMES=stdin:stdout:stderr:echo$/m);
      },
    );
  }
});

describe("Keep sockets: half-close", () => {
  it("tcp: a client that half-closes after its request still gets the answer", T, async () => {
    const s = httpsHello(
      utf8.encode(`${STDIO}[[files]]\nkind = "listen"\nname = "web"\nprot = "tcp"\nport = 0\n`),
    );
    await s.evidence;
    const c = s.accept();
    const got: Buffer[] = [];
    c.on("data", (b: Buffer) => got.push(b));
    const ended = new Promise<void>((r) => c.once("end", r));
    c.end("GET /echo?half HTTP/1.0\r\n\r\n");
    await ended;
    await s.close();
    assert.match(Buffer.concat(got).toString(), /^HTTP\/1\.[01] 200 [\s\S]*half$/);
  });
});

describe("Keep sockets: with a Steward", () => {
  let A: Pki;
  let stewardPort = 0;
  let server: http.Server;
  /** The Keep keys the test Steward certified. */
  const issued: string[] = [];
  before(async () => {
    A = await pki("CN=Test Steward A");
    // A Steward on loopback http:// that certifies whatever key asks (the CSR's
    // checks are the Steward's own tests): a Keep certificate from A's CA for
    // localhost, the chain as the real Steward answers it.
    server = http.createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (b: Buffer) => parts.push(b));
      req.on("end", async () => {
        const csr = new x509.Pkcs10CertificateRequest(Buffer.concat(parts));
        const spki = new Uint8Array(csr.publicKey.rawData);
        issued.push(Buffer.from(spki).toString("hex"));
        const cert = await issueKeepCert(A.ca, {
          spki,
          claims: CLAIMS,
          lifetimeMs: HOUR,
          now: new Date(),
          san: [{ type: "dns", value: "localhost" }],
        });
        res.writeHead(200, { "content-type": "application/pem-certificate-chain" });
        res.end(cert.pem + A.ca.certPem);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    stewardPort = (server.address() as net.AddressInfo).port;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const withSteward = (w: Workload) => {
    const s = new Session({ ...w, steward: { url: `http://127.0.0.1:${stewardPort}`, ca: null } });
    s.steward = stewardPort;
    return s;
  };

  it(
    "the TLS listener serves the Steward's chain: a client trusting only the Steward CA is served",
    T,
    async () => {
      const s = withSteward({
        wasm: HTTPS_HELLO,
        config: HTTPS_HELLO_TOML,
        plan: { args: ["https-hello", "-q"] },
      });
      const key = await s.keepKey();
      await s.host.waitFor((f) => f.type === FRAME.CERTIFICATE);
      const t = await tlsClient(s.accept(), {
        rejectUnauthorized: true,
        ca: A.ca.certPem,
        servername: "localhost",
      });
      assert.ok(t.authorized);
      const leaf = t.getPeerX509Certificate()!;
      assert.deepEqual(leaf.publicKey.export({ type: "spki", format: "der" }), key);
      assert.equal(leaf.issuer, new X509Certificate(A.ca.certPem).subject);
      const r = await exchange(t, get("/"));
      assert.ok(r.text.includes(PAGE_LINE), r.text);
      assert.equal(await s.close(), null);
      assertEndedCleanly(s);
      assert.ok(issued.includes(key.toString("hex")));
    },
  );

  it("/donjon/cert.pem holds the chain the Steward issued, also without sockets", T, async () => {
    const s = withSteward({ wasm: CAT, plan: { args: ["cat", "/donjon/cert.pem"] } });
    const report = await s.report;
    assertEndedCleanly(s);
    assert.deepEqual(report, { ...report, kind: "exit", code: 0 }, s.host.text(FRAME.STDERR));
    const certificate = s.host.text(FRAME.CERTIFICATE);
    assert.match(certificate, /^-----BEGIN CERTIFICATE-----/);
    assert.equal(s.host.text(FRAME.STDOUT), certificate);
  });
});
