/**
 * fetchStewardCrl against a real Steward (initSteward / startSteward: HTTPS
 * with its own CA, GET /api/v1/crl) and a plain loopback HTTP server for the
 * answers a Steward never gives (wrong status, media type, size, silence).
 * parseCrl's malformed-input table is in verify.test.ts, where a bad CRL is a
 * failed check of the verdict.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { initSteward, type RunningSteward, startSteward } from "@donjon/steward";
import { CRL_MAX_SIZE, fetchStewardCrl, parseCrl } from "./crl.ts";
import { ClientError } from "./error.ts";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-client-crl-"));
let steward: RunningSteward;
let stewardCa: string;
let plain: http.Server;
let base: string;
const paths: string[] = [];
let crlBytes: Uint8Array;
/** A loopback port nothing listens on (bound, then closed). */
let closedPort: number;

before(async () => {
  const init = await initSteward({ dir: path.join(TMP, "steward"), now: new Date() });
  stewardCa = fs.readFileSync(init.files.caCert, "utf8");
  steward = await startSteward({
    configFile: init.files.config,
    listen: { host: "127.0.0.1", port: 0 },
  });
  crlBytes = await fetchStewardCrl(steward.url, { ca: stewardCa });
  plain = http.createServer((req, res) => {
    paths.push(req.url ?? "");
    const send = (status: number, type: string | null, body: Uint8Array | string) => {
      res.writeHead(status, type === null ? {} : { "content-type": type });
      res.end(body);
    };
    switch (req.url) {
      case "/api/v1/crl":
      case "/crl":
        return send(200, "application/pkix-crl", crlBytes);
      case "/octets":
        return send(200, "application/octet-stream", crlBytes);
      case "/html":
        return send(200, "text/html; charset=utf-8", "<html></html>");
      case "/empty":
        return send(200, "application/pkix-crl", "");
      case "/declared-big":
        res.writeHead(200, {
          "content-type": "application/pkix-crl",
          "content-length": String(2 * CRL_MAX_SIZE),
        });
        res.write("0");
        return;
      case "/big": {
        // Chunked, no length: the bound is enforced while reading.
        res.writeHead(200, { "content-type": "application/pkix-crl" });
        const chunk = new Uint8Array(64 * 1024);
        for (let i = 0; i < 17; i++) res.write(chunk);
        return res.end();
      }
      case "/slow":
        return; // never answers
      default:
        return send(404, "application/problem+json", "{}");
    }
  });
  plain.listen(0, "127.0.0.1");
  await once(plain, "listening");
  base = `http://127.0.0.1:${(plain.address() as AddressInfo).port}`;
  const probe = http.createServer().listen(0, "127.0.0.1");
  await once(probe, "listening");
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
});

after(async () => {
  plain.closeAllConnections();
  plain.close();
  await steward.close();
  fs.rmSync(TMP, { recursive: true, force: true });
});

const unavailable = (why: RegExp) => (e: unknown) => {
  assert.ok(e instanceof ClientError, String(e));
  assert.equal(e.code, "client.crl_unavailable", e.message);
  assert.match(e.message, why);
  return true;
};

describe("fetchStewardCrl", () => {
  it("a real Steward over HTTPS, trusting its CA: its base URL gets /api/v1/crl, a CRL signed in its CA's name", () => {
    const c = parseCrl(crlBytes);
    assert.equal(c.issuer, "CN=Donjon Steward CA");
    assert.equal(c.entries.length, 0);
    assert.equal(c.nextUpdate!.getTime() - c.thisUpdate.getTime(), 3_600_000);
  });

  it("plain http is fine (the CRL is signed): a base URL or the CRL's own URL; application/octet-stream too", async () => {
    paths.length = 0;
    for (const u of [base, `${base}/`, `${base}/crl`, `${base}/octets`]) {
      assert.deepEqual(await fetchStewardCrl(u), crlBytes, u);
    }
    assert.deepEqual(paths, ["/api/v1/crl", "/api/v1/crl", "/crl", "/octets"]);
  });

  it("an injected fetch is the one called, with a timeout signal", async () => {
    const seen: string[] = [];
    const got = await fetchStewardCrl(new URL(base), {
      fetch: (u, init) => {
        seen.push(u);
        assert.ok(init.signal instanceof AbortSignal);
        return fetch(u, init);
      },
    });
    assert.deepEqual(got, crlBytes);
    assert.deepEqual(seen, [`${base}/api/v1/crl`]);
  });

  const failures: [string, () => string, Parameters<typeof fetchStewardCrl>[1], RegExp][] = [
    [
      "HTTPS to the Steward without trusting its CA",
      () => steward.url,
      {},
      /^GET https:\/\/127\.0\.0\.1:\d+\/api\/v1\/crl: cannot connect \(SELF_SIGNED_CERT_IN_CHAIN\)$/,
    ],
    ["a 404", () => `${base}/nowhere`, {}, /\/nowhere: HTTP 404, expected 200 with the CRL$/],
    [
      "an HTML page",
      () => `${base}/html`,
      {},
      /: content-type text\/html, expected application\/pkix-crl/,
    ],
    ["an empty body", () => `${base}/empty`, {}, /: an empty body, expected the CRL$/],
    [
      "a declared length over 1 MiB",
      () => `${base}/declared-big`,
      {},
      /: 2097152 bytes, more than the 1048576 a CRL may have$/,
    ],
    [
      "a body over 1 MiB without a declared length",
      () => `${base}/big`,
      {},
      /: more than 1048576 bytes/,
    ],
    [
      "a server that never answers",
      () => `${base}/slow`,
      { timeoutMs: 200 },
      /\/slow: no complete answer within 200 ms$/,
    ],
    [
      "nothing listening",
      () => `http://127.0.0.1:${closedPort}`,
      {},
      /^GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/crl: cannot connect \(ECONNREFUSED\)$/,
    ],
  ];
  for (const [name, url, o, why] of failures) {
    it(`${name} → client.crl_unavailable, naming the URL and the reason`, async () => {
      await assert.rejects(fetchStewardCrl(url(), o), unavailable(why));
    });
  }

  const options: [string, string, Parameters<typeof fetchStewardCrl>[1]][] = [
    ["not a URL", "steward", {}],
    ["an ftp:// URL", "ftp://127.0.0.1/crl", {}],
    ["a zero timeout", "http://127.0.0.1:1", { timeoutMs: 0 }],
    ["a ca that is not text", "https://127.0.0.1:1", { ca: 1 as unknown as string }],
  ];
  for (const [name, url, o] of options) {
    it(`refuses ${name} → client.options`, async () => {
      await assert.rejects(
        fetchStewardCrl(url, o),
        (e: unknown) => e instanceof ClientError && e.code === "client.options",
      );
    });
  }
});
