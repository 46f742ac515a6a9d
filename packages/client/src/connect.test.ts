/**
 * keepAgent and connectKeep over real TLS on loopback, against a real
 * tls.createServer serving a certificate issued by a real Steward CA made
 * in-process. The server records every application byte it receives, so a
 * refused Keep is shown to have received none of the request.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import * as https from "node:https";
import * as net from "node:net";
import { after, before, describe, it } from "node:test";
import { type Ca, crl } from "@donjon/steward";
import {
  HOUR,
  type KeepCert,
  keepCert,
  type RecordingServer,
  recordingServer,
  SANDBOX_CLAIMS,
  SNP_CLAIMS,
  steward,
  WORKLOAD,
} from "./_fixtures.ts";
import { connectKeep, fetchPeerChain, keepAgent, parseTarget } from "./connect.ts";
import { ClientError } from "./error.ts";
import type { KeepVerdict } from "./verify.ts";

const NOW = new Date();
let ca: Ca;
let other: Ca;
let keep: KeepCert;
let server: RecordingServer;
let expiredServer: RecordingServer;
let sandboxServer: RecordingServer;
/** CRLs of `ca`: one listing `keep`'s certificate, one empty, one stale. */
let revoking: Uint8Array;
let empty: Uint8Array;
let stale: Uint8Array;

before(async () => {
  [ca, other] = await Promise.all([steward(NOW), steward(NOW)]);
  keep = await keepCert(ca, { now: NOW });
  const expired = await keepCert(ca, { now: new Date(NOW.getTime() - 3 * HOUR), lifetimeMs: HOUR });
  const sandbox = await keepCert(ca, { now: NOW, claims: SANDBOX_CLAIMS });
  const serial = new X509Certificate(keep.der).serialNumber;
  [revoking, empty, stale] = await Promise.all([
    crl(ca, [{ serial, revokedAt: NOW, reason: "keyCompromise" }], NOW),
    crl(ca, [], NOW),
    crl(ca, [], new Date(NOW.getTime() - 2 * HOUR)),
  ]);
  [server, expiredServer, sandboxServer] = await Promise.all([
    recordingServer(keep),
    recordingServer(expired),
    recordingServer(sandbox),
  ]);
});
after(async () => {
  await Promise.all([server.close(), expiredServer.close(), sandboxServer.close()]);
});

/** GET / through `agent`; the body, or the error the request failed with. */
function get(port: number, agent: https.Agent): Promise<{ body?: string; error?: unknown }> {
  return new Promise((resolve) => {
    const req = https.get({ host: "127.0.0.1", port, path: "/", agent }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ body }));
    });
    req.on("error", (error) => resolve({ error }));
  });
}

const code = (c: string) => (e: unknown) => {
  assert.ok(e instanceof ClientError, `expected ClientError, got ${String(e)}`);
  assert.equal(e.code, c, e.message);
  return true;
};

describe("keepAgent", () => {
  it("a request to a genuine Keep running the expected workload succeeds; onVerified sees the verdict", async () => {
    const verdicts: KeepVerdict[] = [];
    const agent = keepAgent({
      stewardCa: ca.certPem,
      workload: WORKLOAD,
      onVerified: (v) => verdicts.push(v),
    });
    const r = await get(server.port, agent);
    assert.equal(r.error, undefined);
    assert.equal(r.body, "ok");
    assert.equal(verdicts.length, 1);
    assert.deepEqual(verdicts[0]!.claims, SNP_CLAIMS);
    agent.destroy();
  });

  const refused: [string, () => RecordingServer, () => https.Agent, string][] = [
    [
      "a wrong workload",
      () => server,
      () => keepAgent({ stewardCa: ca.certPem, workload: "d1".repeat(32) }),
      "client.policy.workload",
    ],
    [
      "a Keep certified by another Steward (refused peer)",
      () => server,
      () => keepAgent({ stewardCa: other.certPem }),
      "client.chain",
    ],
    [
      "an expired certificate",
      () => expiredServer,
      () => keepAgent({ stewardCa: ca.certPem }),
      "client.expired",
    ],
    [
      "a certificate judged at a later time (the injected clock)",
      () => server,
      () => keepAgent({ stewardCa: ca.certPem, now: () => new Date(NOW.getTime() + 48 * HOUR) }),
      "client.expired",
    ],
    [
      "a sandbox Keep (software tier not allowed)",
      () => sandboxServer,
      () => keepAgent({ stewardCa: ca.certPem }),
      "client.policy.tier",
    ],
    [
      "a Keep whose certificate the Steward's CRL lists",
      () => server,
      () => keepAgent({ stewardCa: ca.certPem, crl: revoking }),
      "client.revoked",
    ],
    [
      "a stale CRL",
      () => server,
      () => keepAgent({ stewardCa: ca.certPem, crl: stale }),
      "client.crl",
    ],
  ];
  for (const [name, target, make, c] of refused) {
    it(`${name}: the request fails with ${c} and the server receives no application byte`, async () => {
      const s = target();
      const before = {
        connections: s.connections,
        handshakes: s.handshakes,
        received: s.received.length,
      };
      const agent = make();
      const r = await get(s.port, agent);
      assert.ok(r.error, "the request must fail");
      code(c)(r.error);
      // The connection reached the server and is closed (so bytes, if any had been sent, have arrived)…
      await s.settled(before.connections + 1);
      // A policy refusal comes after a complete handshake, so the server could
      // have received bytes; OpenSSL's refusals (chain, expiry) end it earlier.
      if (
        c.startsWith("client.policy") ||
        c.startsWith("client.crl") ||
        c === "client.revoked" ||
        name.includes("injected clock")
      ) {
        assert.equal(s.handshakes, before.handshakes + 1, "the server completed the handshake");
      }
      // …and not one application byte followed it.
      assert.equal(s.received.length, before.received, "application bytes reached a refused peer");
      agent.destroy();
    });
  }

  it("a CRL is read once, when the agent is made: later changes to the caller's bytes do not matter", async () => {
    const bytes = new Uint8Array(empty);
    const verdicts: KeepVerdict[] = [];
    const agent = keepAgent({
      stewardCa: ca.certPem,
      crl: bytes,
      onVerified: (v) => verdicts.push(v),
    });
    bytes.fill(0);
    for (let i = 0; i < 2; i++) assert.equal((await get(server.port, agent)).body, "ok");
    assert.equal(verdicts.length, 2, "two connections, each judged");
    for (const v of verdicts) {
      assert.deepEqual(
        v.checks.filter((c) => c.id.startsWith("client.revocation")).map((c) => [c.id, c.ok]),
        [
          ["client.revocation.crl", true],
          ["client.revocation", true],
        ],
      );
    }
    agent.destroy();
  });

  it("the verdict of a refusal lists every failed check", async () => {
    const agent = keepAgent({ stewardCa: ca.certPem, workload: "d1".repeat(32) });
    const r = await get(sandboxServer.port, agent);
    const e = r.error as ClientError;
    assert.ok(e instanceof ClientError);
    assert.deepEqual(
      e.verdict!.checks.filter((x) => !x.ok).map((x) => x.code),
      ["client.policy.tier", "client.policy.workload"],
    );
    agent.destroy();
  });

  it("invalid options are refused when the agent is made", () => {
    assert.throws(() => keepAgent({ stewardCa: "nope" }), code("client.options"));
    assert.throws(
      () => keepAgent({ stewardCa: ca.certPem, workload: "xyz" }),
      code("client.options"),
    );
    assert.throws(() => keepAgent({ stewardCa: ca.certPem, timeoutMs: 0 }), code("client.options"));
    assert.throws(
      () => keepAgent({ stewardCa: ca.certPem, crl: 7 as unknown as Uint8Array }),
      code("client.options"),
    );
  });
});

describe("connectKeep", () => {
  it("resolves to a verified socket; bytes go both ways", async () => {
    const socket = await connectKeep(`https://127.0.0.1:${server.port}`, {
      stewardCa: ca.certPem,
      workload: WORKLOAD,
    });
    socket.write("ping");
    const [d] = await once(socket, "data");
    assert.equal(String(d), "ping");
    socket.destroy();
  });

  it("a refused Keep: the code of the first failed check, with the verdict; nothing written", async () => {
    const before = server.received.length;
    const connections = server.connections;
    await assert.rejects(
      connectKeep(`127.0.0.1:${server.port}`, { stewardCa: ca.certPem, workload: "d1".repeat(32) }),
      (e: unknown) => code("client.policy.workload")(e) && (e as ClientError).verdict?.ok === false,
    );
    await server.settled(connections + 1);
    assert.equal(server.received.length, before);
  });

  it("a revoked Keep: client.revoked with the verdict; nothing written", async () => {
    const before = server.received.length;
    const connections = server.connections;
    await assert.rejects(
      connectKeep(`127.0.0.1:${server.port}`, { stewardCa: ca.certPem, crl: revoking }),
      (e: unknown) =>
        code("client.revoked")(e) &&
        /revoked: serial [0-9a-f]+, on .*, reason keyCompromise/.test((e as Error).message),
    );
    await server.settled(connections + 1);
    assert.equal(server.received.length, before);
  });

  it("nothing listening: client.connect", async () => {
    const probe = net.createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as net.AddressInfo).port;
    await new Promise((r) => probe.close(r));
    await assert.rejects(
      connectKeep(`https://127.0.0.1:${port}`, { stewardCa: ca.certPem }),
      code("client.connect"),
    );
  });

  it("a peer that does not speak TLS: client.tls", async () => {
    const plain = net
      .createServer((s) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n"))
      .listen(0, "127.0.0.1");
    await once(plain, "listening");
    const port = (plain.address() as net.AddressInfo).port;
    await assert.rejects(
      connectKeep(`https://127.0.0.1:${port}`, { stewardCa: ca.certPem }),
      code("client.tls"),
    );
    plain.close();
  });

  it("a peer that never answers the handshake: client.connect after the timeout", async () => {
    const silent = net.createServer(() => {}).listen(0, "127.0.0.1");
    await once(silent, "listening");
    const port = (silent.address() as net.AddressInfo).port;
    await assert.rejects(
      connectKeep(`https://127.0.0.1:${port}`, { stewardCa: ca.certPem, timeoutMs: 200 }),
      (e: unknown) => code("client.connect")(e) && /within 200 ms/.test((e as Error).message),
    );
    silent.close();
  });

  it("fetchPeerChain: the chain as served (leaf, then the CA), without sending anything", async () => {
    const before = server.received.length;
    const connections = server.connections;
    const { chain, host, port } = await fetchPeerChain(`https://127.0.0.1:${server.port}`);
    assert.equal(host, "127.0.0.1");
    assert.equal(port, server.port);
    assert.deepEqual(chain[0], keep.der);
    assert.deepEqual(chain[1], new Uint8Array(ca.cert.rawData));
    await server.settled(connections + 1);
    assert.equal(server.received.length, before);
  });

  const urls: [string, string][] = [
    ["http://127.0.0.1:1", "https://"],
    ["https://user:pw@127.0.0.1:1", "credentials"],
    ["https://127.0.0.1:1/path", "no path"],
    ["https://", "HOST:PORT"],
  ];
  for (const [url, why] of urls) {
    it(`parseTarget refuses ${url} (client.options)`, () => {
      assert.throws(
        () => parseTarget(url),
        (e: unknown) => code("client.options")(e) && (e as Error).message.includes(why),
      );
    });
  }
  it("parseTarget: https://HOST:PORT, HOST:PORT, [::1]:PORT, default port 443", () => {
    assert.deepEqual(parseTarget("https://keep.example:8443"), {
      host: "keep.example",
      port: 8443,
    });
    assert.deepEqual(parseTarget("keep.example:8443"), { host: "keep.example", port: 8443 });
    assert.deepEqual(parseTarget("https://[::1]:9"), { host: "::1", port: 9 });
    assert.deepEqual(parseTarget("https://keep.example"), { host: "keep.example", port: 443 });
  });
});
