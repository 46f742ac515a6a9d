/**
 * keepAgent and connectKeep with `crl: { url }`: the agent fetches the
 * Steward's CRL and keeps it fresh. Real parts: a loopback HTTP(S) server
 * standing in for the Steward's GET /api/v1/crl, signing each answer with the
 * real Steward `crl()` at the injected clock's time (as the Steward does with
 * its own clock), and real Keeps over TLS (recordingServer) that record every
 * application byte, so a refused Keep is shown to have received none.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { after, before, beforeEach, describe, it } from "node:test";
import { type Ca, type CrlEntry, crl } from "@donjon/steward";
import {
  HOUR,
  type KeepCert,
  keepCert,
  type RecordingServer,
  recordingServer,
  steward,
  stewardTlsCert,
} from "./_fixtures.ts";
import { connectKeep, type KeepCrlSource, keepAgent } from "./connect.ts";
import { ClientError } from "./error.ts";
import type { KeepVerdict } from "./verify.ts";

const MINUTE = 60_000;
// Whole seconds: a CRL's times are (UTCTime), so thisUpdate = the clock exactly.
const NOW = new Date(Math.floor(Date.now() / 1000) * 1000);
/** The injected clock every agent here reads; tests move it. */
let t = NOW;
const now = () => t;
const at = (ms: number) => {
  t = new Date(NOW.getTime() + ms);
};

let ca: Ca;
let other: Ca;
let keep: KeepCert;
let serial: string;
let server: RecordingServer;

/** What the stand-in Steward serves, per test. */
const steward_ = {
  /** GETs answered (every fetch the agents made). */
  hits: 0,
  revoked: [] as CrlEntry[],
  /** Instead of a fresh CRL signed now: another answer (a failure). */
  answer: null as null | ((res: http.ServerResponse) => void | Promise<void>),
  /** Held answers: each GET waits until release() (to hold fetches in flight). */
  gate: null as null | Promise<void>,
};
let crlServer: http.Server;
let tlsCrlServer: https.Server;
let url: string;
let tlsUrl: string;

const serve = async (req: http.IncomingMessage, res: http.ServerResponse) => {
  if (req.url !== "/api/v1/crl") {
    res.writeHead(404).end();
    return;
  }
  steward_.hits++;
  if (steward_.gate) await steward_.gate;
  if (steward_.answer) return void (await steward_.answer(res));
  const der = await crl(ca, steward_.revoked, now());
  res.writeHead(200, { "content-type": "application/pkix-crl" }).end(der);
};

before(async () => {
  [ca, other] = await Promise.all([steward(NOW), steward(NOW)]);
  keep = await keepCert(ca, { now: NOW });
  serial = new X509Certificate(keep.der).serialNumber;
  server = await recordingServer(keep);
  crlServer = http.createServer((req, res) => void serve(req, res));
  crlServer.listen(0, "127.0.0.1");
  await once(crlServer, "listening");
  url = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}`;
  const tlsCert = await stewardTlsCert(ca, NOW);
  tlsCrlServer = https.createServer(
    { cert: tlsCert.chainPem, key: tlsCert.keyPem },
    (req, res) => void serve(req, res),
  );
  tlsCrlServer.listen(0, "127.0.0.1");
  await once(tlsCrlServer, "listening");
  tlsUrl = `https://127.0.0.1:${(tlsCrlServer.address() as AddressInfo).port}`;
});
after(async () => {
  await server.close();
  crlServer.close();
  tlsCrlServer.close();
});
beforeEach(() => {
  t = NOW;
  steward_.hits = 0;
  steward_.revoked = [];
  steward_.answer = null;
  steward_.gate = null;
});

/** GET / through `agent`; the body, or the error the request failed with. */
function get(agent: https.Agent): Promise<{ body?: string; error?: unknown }> {
  return new Promise((resolve) => {
    const req = https.get({ host: "127.0.0.1", port: server.port, path: "/", agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ body }));
    });
    req.on("error", (error) => resolve({ error }));
  });
}

/** An agent fetching from the stand-in Steward, recording each verdict. */
function agent(source: Partial<KeepCrlSource> = {}) {
  const verdicts: KeepVerdict[] = [];
  const a = keepAgent({
    stewardCa: ca.certPem,
    now,
    crl: { url, ...source },
    onVerified: (v) => verdicts.push(v),
  });
  return { agent: a, verdicts };
}

/** The last verdict's CRL check's actual (what the CRL was, and any failed refresh). */
const crlCheck = (v: KeepVerdict) => v.checks.find((c) => c.id === "client.revocation.crl")!;

/** The request succeeds; returns the verdict's CRL check. */
async function accepted(a: ReturnType<typeof agent>) {
  const r = await get(a.agent);
  assert.equal(r.error, undefined, String(r.error));
  assert.equal(r.body, "ok");
  const c = crlCheck(a.verdicts.at(-1)!);
  assert.equal(c.ok, true);
  return c;
}

/** The request fails with `code` and the Keep receives not one application byte. */
async function refused(a: ReturnType<typeof agent>, code: string) {
  const before = { connections: server.connections, received: server.received.length };
  const r = await get(a.agent);
  assert.ok(r.error instanceof ClientError, `expected a ClientError, got ${String(r.error)}`);
  assert.equal(r.error.code, code, r.error.message);
  await server.settled(before.connections + 1);
  assert.equal(server.received.length, before.received, "application bytes reached a refused peer");
  return r.error;
}

describe("keepAgent with crl: { url }", () => {
  it("fetches the CRL once, when the first peer is judged, and uses it for the next", async () => {
    const a = agent();
    assert.equal(steward_.hits, 0, "nothing is fetched when the agent is made");
    const c = await accepted(a);
    assert.equal(steward_.hits, 1);
    assert.match(c.actual!, new RegExp(`thisUpdate ${NOW.toISOString()}`));
    assert.doesNotMatch(c.actual!, /failed/);
    at(10 * MINUTE);
    await accepted(a);
    assert.equal(steward_.hits, 1, "a current CRL before its middle is not fetched again");
    assert.equal(a.verdicts.length, 2);
    a.agent.destroy();
  });

  it("many concurrent connections share one fetch", async () => {
    const a = agent();
    // Hold the fetch until every connection is waiting for it.
    let release!: () => void;
    steward_.gate = new Promise((r) => {
      release = r;
    });
    const requests = Array.from({ length: 8 }, () => get(a.agent));
    while (steward_.hits === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50));
    release();
    const results = await Promise.all(requests);
    for (const r of results) assert.equal(r.body, "ok", String(r.error));
    assert.equal(steward_.hits, 1, "one fetch for eight connections");
    assert.equal(a.verdicts.length, 8);
    a.agent.destroy();
  });

  it("fetches again once past the middle of the CRL's validity (30 minutes of the hour)", async () => {
    const a = agent();
    await accepted(a);
    at(29 * MINUTE);
    await accepted(a);
    assert.equal(steward_.hits, 1, "before the middle: the held CRL");
    at(31 * MINUTE);
    const c = await accepted(a);
    assert.equal(steward_.hits, 2, "past the middle: fetched again");
    assert.match(c.actual!, new RegExp(`thisUpdate ${t.toISOString()}`), "the new CRL was used");
    at(62 * MINUTE);
    await accepted(a);
    assert.equal(steward_.hits, 3, "past the middle of the second: again");
    a.agent.destroy();
  });

  it("a revocation published between fetches is seen after the refresh: the revoked Keep gets no byte", async () => {
    const a = agent();
    await accepted(a);
    steward_.revoked = [
      { serial, revokedAt: new Date(NOW.getTime() + MINUTE), reason: "keyCompromise" },
    ];
    // Until the refresh, the CRL held does not list it (the window the Steward's hour allows).
    at(20 * MINUTE);
    await accepted(a);
    at(31 * MINUTE);
    const e = await refused(a, "client.revoked");
    assert.equal(steward_.hits, 2);
    const failed = e.verdict!.checks.find((c) => !c.ok)!;
    assert.match(failed.actual!, /revoked: serial .*, reason keyCompromise/);
    a.agent.destroy();
  });

  // Refreshes that fail, each while the held CRL is still current: the Keep is
  // still accepted, and the CRL check says the refresh failed and why.
  const badRefreshes: [string, (res: http.ServerResponse) => void | Promise<void>, RegExp][] = [
    ["the Steward answers 503", (res) => void res.writeHead(503).end(), /HTTP 503, expected 200/],
    [
      "a CRL signed by another Steward",
      async (res) =>
        void res
          .writeHead(200, { "content-type": "application/pkix-crl" })
          .end(await crl(other, [], now())),
      /the CRL fetched cannot be used: .*the signature does not verify with its key/,
    ],
    [
      "an older CRL than the one held (a replay)",
      async (res) =>
        void res
          .writeHead(200, { "content-type": "application/pkix-crl" })
          .end(await crl(ca, [], new Date(NOW.getTime() - 10 * MINUTE))),
      /older than the one held/,
    ],
    [
      "a stale CRL",
      async (res) =>
        void res
          .writeHead(200, { "content-type": "application/pkix-crl" })
          .end(await crl(ca, [], new Date(t.getTime() - 2 * HOUR))),
      /the CRL fetched cannot be used: stale: /,
    ],
    [
      "not a CRL",
      (res) => void res.writeHead(200, { "content-type": "application/pkix-crl" }).end("nope"),
      /not a DER X\.509 CRL|PEM text without/,
    ],
  ];
  for (const [name, answer, why] of badRefreshes) {
    it(`a failed refresh (${name}) keeps the held CRL while it is current, and the verdict says so`, async () => {
      const a = agent();
      await accepted(a);
      steward_.answer = answer;
      at(40 * MINUTE);
      const c = await accepted(a);
      assert.equal(steward_.hits, 2);
      assert.match(c.actual!, new RegExp(`thisUpdate ${NOW.toISOString()}`), "the held CRL");
      assert.match(c.actual!, /refreshing it failed at /);
      assert.match(c.actual!, why);
      // Not asked again for every connection: at most every 30 s by the clock.
      at(40 * MINUTE + 20_000);
      await accepted(a);
      assert.equal(steward_.hits, 2);
      at(40 * MINUTE + 31_000);
      await accepted(a);
      assert.equal(steward_.hits, 3);
      a.agent.destroy();
    });
  }

  it("once the held CRL is stale and no fresh one can be had, peers are refused (client.crl); when the Steward is back, accepted", async () => {
    const a = agent();
    await accepted(a);
    steward_.answer = (res) => void res.writeHead(503).end();
    at(HOUR + MINUTE);
    const e = await refused(a, "client.crl");
    const c = crlCheck(e.verdict!);
    assert.match(c.actual!, /^stale: /);
    assert.match(c.actual!, /refreshing it failed at .*HTTP 503/);
    steward_.answer = null;
    at(HOUR + 2 * MINUTE);
    const ok = await accepted(a);
    assert.doesNotMatch(ok.actual!, /failed/);
    a.agent.destroy();
  });

  it("with no CRL ever fetched, peers are refused (client.crl_unavailable), not accepted", async () => {
    const a = agent();
    steward_.answer = (res) => void res.writeHead(503).end();
    const e = await refused(a, "client.crl_unavailable");
    assert.match(crlCheck(e.verdict!).actual!, /no CRL could be fetched .*HTTP 503/);
    assert.ok(
      e.verdict!.notChecked.some((n) => /no CRL to use \(client\.crl_unavailable\)/.test(n)),
    );
    a.agent.destroy();
  });

  it("nothing listening at the URL: client.crl_unavailable", async () => {
    const probe = http.createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const a = agent({ url: `http://127.0.0.1:${port}/api/v1/crl` });
    await refused(a, "client.crl_unavailable");
    a.agent.destroy();
  });

  it("over https, trusts stewardCa for the Steward's TLS unless ca is given", async () => {
    const a = agent({ url: tlsUrl });
    await accepted(a);
    assert.equal(steward_.hits, 1);
    a.agent.destroy();
    // Another CA for the Steward's TLS: the fetch fails, the Keep is refused.
    const b = agent({ url: tlsUrl, ca: other.certPem });
    await refused(b, "client.crl_unavailable");
    b.agent.destroy();
  });

  it("uses the fetch given", async () => {
    const urls: string[] = [];
    const a = agent({
      url: "http://steward.invalid:8443",
      fetch: (u, init) => {
        urls.push(u);
        return fetch(`${url}/api/v1/crl`, init);
      },
    });
    await accepted(a);
    assert.deepEqual(urls, ["http://steward.invalid:8443/api/v1/crl"]);
    a.agent.destroy();
  });

  it("the bytes form is unchanged: read once, not fetched", async () => {
    const bytes = await crl(ca, [], NOW);
    const verdicts: KeepVerdict[] = [];
    const a = keepAgent({
      stewardCa: ca.certPem,
      now,
      crl: bytes,
      onVerified: (v) => verdicts.push(v),
    });
    at(40 * MINUTE);
    assert.equal((await get(a)).body, "ok");
    assert.equal(steward_.hits, 0);
    a.destroy();
  });
});

describe("connectKeep with crl: { url }", () => {
  it("fetches the CRL for the connection and judges with it", async () => {
    const s = await connectKeep(`127.0.0.1:${server.port}`, {
      stewardCa: ca.certPem,
      now,
      crl: { url },
    });
    s.destroy();
    assert.equal(steward_.hits, 1);
    steward_.revoked = [{ serial, revokedAt: NOW }];
    const before = server.received.length;
    await assert.rejects(
      connectKeep(`127.0.0.1:${server.port}`, { stewardCa: ca.certPem, now, crl: { url } }),
      (e: unknown) => e instanceof ClientError && e.code === "client.revoked",
    );
    assert.equal(steward_.hits, 2);
    assert.equal(server.received.length, before);
  });
});

describe("crl: { url } options", () => {
  const bad: [string, unknown][] = [
    ["null", null],
    ["a number", 7],
    ["an object without url", {}],
    ["a url that is not a string or URL", { url: 7 }],
    ["a url that does not parse", { url: "not a url" }],
    ["a url that is not http(s)", { url: "ftp://steward.example/crl" }],
    ["ca that is not text", { url: "http://steward.example", ca: new Uint8Array(1) }],
    ["fetch that is not a function", { url: "http://steward.example", fetch: "yes" }],
    ["timeoutMs 0", { url: "http://steward.example", timeoutMs: 0 }],
    ["timeoutMs NaN", { url: "http://steward.example", timeoutMs: Number.NaN }],
    ["timeoutMs as text", { url: "http://steward.example", timeoutMs: "10" }],
  ];
  const isOptions = (e: unknown) => {
    assert.ok(e instanceof ClientError, String(e));
    assert.equal(e.code, "client.options");
    assert.match(e.message, /^crl: /);
    return true;
  };
  for (const [name, value] of bad) {
    it(`refuses ${name}: keepAgent throws, connectKeep rejects, client.options`, async () => {
      const o = { stewardCa: ca.certPem, crl: value as KeepCrlSource };
      assert.throws(() => keepAgent(o), isOptions);
      await assert.rejects(connectKeep(`127.0.0.1:${server.port}`, o), isOptions);
    });
  }
  it("refuses a now that is not a function, with a source", () => {
    assert.throws(
      () => keepAgent({ stewardCa: ca.certPem, now: 5 as unknown as () => Date, crl: { url } }),
      (e: unknown) =>
        e instanceof ClientError && e.code === "client.options" && /^now: /.test(e.message),
    );
  });
});
