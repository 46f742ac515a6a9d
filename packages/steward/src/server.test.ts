/**
 * The Steward for real: `init` a directory, start it on a loopback port,
 * and speak HTTPS to it trusting only the CA that `init` made.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as tls from "node:tls";
import { intelCsr, sandboxCsr, sandboxPolicyText, type TestKey, testKey } from "./_app_fixtures.ts";
import * as x509 from "./_x509.ts";
import { decodeKeepClaims } from "./ca.ts";
import { StewardError } from "./error.ts";
import { initSteward } from "./init.ts";
import { type RunningSteward, startSteward } from "./server.ts";
import { openStore } from "./store.ts";

interface Answer {
  status: number;
  type: string;
  body: Buffer;
}

function request(
  url: string,
  options: {
    method?: string;
    headers?: Record<string, string>;
    body?: Uint8Array | string;
    ca?: string;
  },
): Promise<Answer> {
  const u = new URL(url);
  const lib = u.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      u,
      {
        method: options.method ?? "GET",
        headers: options.headers,
        agent: false,
        ...(options.ca ? { ca: options.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers["content-type"] ?? ""),
            body: Buffer.concat(chunks),
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(options.body === undefined ? undefined : Buffer.from(options.body));
  });
}

const isCode = (code: string) => (e: unknown) => e instanceof StewardError && e.code === code;

describe("the Steward over HTTPS on loopback", () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "steward-server-"));
  const dir = path.join(root, "s");
  const config = path.join(dir, "steward.toml");
  const logs: string[] = [];
  let steward: RunningSteward;
  let caPem: string;
  const running: RunningSteward[] = [];
  after(async () => {
    for (const s of running) await s.close();
  });

  it("init, start on a free port, and answer /healthz over TLS that chains to the CA", async () => {
    await initSteward({ dir, now: new Date() });
    caPem = fs.readFileSync(path.join(dir, "ca.pem"), "utf8");
    steward = await startSteward({
      configFile: config,
      listen: { host: "127.0.0.1", port: 0 },
      log: { write: (l) => void logs.push(l) },
    });
    running.push(steward);
    assert.match(steward.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await request(`${steward.url}/healthz`, { ca: caPem });
    assert.equal(res.status, 200);
    assert.deepEqual(JSON.parse(res.body.toString()), { status: "ok" });
    // By name too: the TLS certificate names localhost.
    const byName = await request(`${steward.url.replace("127.0.0.1", "localhost")}/readyz`, {
      ca: caPem,
    });
    assert.equal(byName.status, 200);
    // And a client that does not trust the Steward's CA is refused.
    await assert.rejects(
      request(`${steward.url}/healthz`, {}),
      /self-signed|unable to verify|SELF_SIGNED/i,
    );
    assert.match(logs.join(""), /"msg":"steward listening"/);
  });

  let allowedHost: TestKey;
  it("the default policy refuses a sandbox Keep; after SIGHUP-style reload of an allowing policy it is issued", async () => {
    const host = await testKey();
    allowedHost = host;
    const { der, identity } = await sandboxCsr({ host, now: new Date() });
    const post = () =>
      request(`${steward.url}/api/v1/attest`, {
        method: "POST",
        headers: { "content-type": "application/pkcs10" },
        body: der,
        ca: caPem,
      });
    const refused = await post();
    assert.equal(refused.status, 403);
    assert.match(refused.type, /^application\/problem\+json/);
    const codes = (
      JSON.parse(refused.body.toString()) as { checks: { code: string }[] }
    ).checks.map((c) => c.code);
    assert.ok(codes.includes("sandbox.policy.software_tier"), codes.join());

    fs.writeFileSync(path.join(dir, "policy.toml"), sandboxPolicyText(host));
    await steward.reloadPolicy();
    const issued = await post();
    assert.equal(issued.status, 200, issued.body.toString());
    assert.equal(issued.type, "application/pem-certificate-chain");
    const [leafPem, chainCa] = issued.body.toString().split(/(?<=-----END CERTIFICATE-----\n)/);
    assert.equal(chainCa, caPem);
    const leaf = new x509.X509Certificate(leafPem!);
    assert.equal(decodeKeepClaims(leaf)!.workload, identity);
  });

  it("a reload of an unchanged policy file is not recorded as a change", async () => {
    const { sha256 } = await steward.reloadPolicy();
    assert.match(sha256, /^[0-9a-f]{64}$/);
    assert.match(logs.join(""), /"msg":"policy reloaded: unchanged"/);
  });

  it("an invalid policy file is refused on reload and the running policy stays", async () => {
    fs.writeFileSync(path.join(dir, "policy.toml"), "[sandbox]\nallow = maybe\n");
    await assert.rejects(steward.reloadPolicy(), isCode("steward.policy"));
    assert.match(logs.join(""), /policy reload refused/);
    // Still the allowing policy: the allowed host's Keep is issued.
    const { der } = await sandboxCsr({ host: allowedHost, now: new Date() });
    const res = await request(`${steward.url}/api/v1/attest`, {
      method: "POST",
      headers: { "content-type": "application/pkcs10" },
      body: der,
      ca: caPem,
    });
    assert.equal(res.status, 200, res.body.toString());
  });

  it("an admin policy upload is written to the policy file", async () => {
    const token = /tokens = \["([^"]+)"\]/.exec(fs.readFileSync(config, "utf8"))![1]!;
    const text = "# hardware only, from the admin API\n";
    const res = await request(`${steward.url}/api/v1/admin/policy`, {
      method: "POST",
      headers: { "content-type": "application/toml", authorization: `Bearer ${token}` },
      body: text,
      ca: caPem,
    });
    assert.equal(res.status, 200, res.body.toString());
    assert.equal(fs.readFileSync(path.join(dir, "policy.toml"), "utf8"), text);
    assert.equal(fs.statSync(path.join(dir, "policy.toml")).mode & 0o777, 0o644);
    const metrics = await request(`${steward.url}/metrics`, { ca: caPem });
    assert.match(
      metrics.body.toString(),
      /steward_policy_changes_total\{source="admin",result="ok"\} 1/,
    );
    assert.match(metrics.body.toString(), /process_cpu_user_seconds_total/);
  });

  it("over a real socket: a stalled upload is 408 and closed, a huge one 413 before it is read; the Steward keeps serving", async () => {
    const url = new URL(steward.url);
    const raw = (head: string, body: Buffer) =>
      new Promise<{ text: string; ms: number }>((resolve, reject) => {
        const t0 = Date.now();
        const socket = tls.connect({
          host: url.hostname,
          port: Number(url.port),
          ca: caPem,
          servername: "localhost",
        });
        let text = "";
        socket.on("secureConnect", () => {
          socket.write(head);
          socket.write(body);
        });
        socket.on("data", (c) => {
          text += c;
        });
        socket.on("end", () => resolve({ text, ms: Date.now() - t0 }));
        socket.on("error", reject);
      });
    // The config says body_timeout = "10s"; this Steward was started from it, so
    // a stalled upload waits that long. Use a declared length that never arrives.
    const huge = await raw(
      "POST /api/v1/attest HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/pkcs10\r\ncontent-length: 10000000\r\n\r\n",
      Buffer.alloc(1024),
    );
    assert.match(huge.text, /^HTTP\/1\.1 413 /);
    assert.match(huge.text, /connection: close/i);
    assert.match(huge.text, /"limit":262144/);
    const res = await request(`${steward.url}/healthz`, { ca: caPem });
    assert.equal(res.status, 200);
  });

  it("close() stops it; the audit log survives in steward.db", async () => {
    await steward.close();
    await steward.close();
    await assert.rejects(request(`${steward.url}/healthz`, { ca: caPem }), /ECONNREFUSED/);
    const store = await openStore(`sqlite:${path.join(dir, "steward.db")}`);
    try {
      const decisions = await store.listDecisions({ limit: 10 });
      assert.deepEqual(
        decisions.map((d) => d.verdict),
        ["issued", "issued", "refused"],
      );
      const changes = await store.listPolicyChanges({ limit: 10 });
      assert.deepEqual(
        changes.map((c) => c.actor),
        ["token #1", "reload", "boot"],
      );
    } finally {
      await store.close();
    }
  });

  it("plain HTTP on loopback when the config asks for it; a stalled upload there is 408 and closed", async () => {
    const text = fs
      .readFileSync(config, "utf8")
      .replace(/\[tls\]\ncert = [^\n]+\nkey = [^\n]+\n/, "")
      .replace(/^listen = .*$/m, 'listen = "127.0.0.1:0"\nplain_http = true')
      .replace(/^body_timeout = .*$/m, 'body_timeout = "300ms"');
    const plain = path.join(dir, "plain.toml");
    fs.writeFileSync(plain, text, { mode: 0o600 });
    const s = await startSteward({ configFile: plain });
    running.push(s);
    assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const res = await request(`${s.url}/api/v1/ca`, {});
    assert.equal(res.body.toString(), caPem);

    const url = new URL(s.url);
    const t0 = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(Number(url.port), url.hostname, () => {
        socket.write(
          "POST /api/v1/attest HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/pkcs10\r\ncontent-length: 1000\r\n\r\n0\x82",
        );
      });
      let text = "";
      socket.on("data", (c) => {
        text += c;
      });
      socket.on("end", () => resolve(text));
      socket.on("error", reject);
    });
    assert.match(answer, /^HTTP\/1\.1 408 /);
    assert.match(answer, /connection: close/i);
    assert.match(answer, /request-timeout/);
    assert.ok(Date.now() - t0 >= 250);
    assert.equal((await request(`${s.url}/healthz`, {})).status, 200);
    await s.close();
  });

  it("refuses to start with a CA key others can read, or on a port in use", async () => {
    fs.chmodSync(path.join(dir, "ca.key"), 0o644);
    await assert.rejects(
      startSteward({ configFile: config, listen: { host: "127.0.0.1", port: 0 } }),
      (e: unknown) => isCode("steward.key.permissions")(e) && /chmod 600/.test(String(e)),
    );
    fs.chmodSync(path.join(dir, "ca.key"), 0o600);

    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      await assert.rejects(
        startSteward({ configFile: config, listen: { host: "127.0.0.1", port } }),
        (e: unknown) => isCode("steward.listen")(e) && /EADDRINUSE/.test(String(e)),
      );
    } finally {
      blocker.close();
    }
  });

  /** The config as plain HTTP on a free loopback port, with `extra` appended. */
  const plainConfig = (name: string, extra: string): string => {
    const text = fs
      .readFileSync(config, "utf8")
      .replace(/\[tls\]\ncert = [^\n]+\nkey = [^\n]+\n/, "")
      .replace(/^listen = .*$/m, 'listen = "127.0.0.1:0"\nplain_http = true');
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${text}\n${extra}`, { mode: 0o600 });
    return file;
  };
  const attestOver = (s: RunningSteward, der: Uint8Array) =>
    request(`${s.url}/api/v1/attest`, {
      method: "POST",
      headers: { "content-type": "application/pkcs10" },
      body: der,
    });

  it("[dcap] collateral_dir: a TDX Keep is issued from files read at boot; a bad file stops the boot", async () => {
    const { der, intel, files } = await intelCsr("tdx");
    const cdir = path.join(dir, "intel");
    fs.mkdirSync(cdir);
    for (const f of files) fs.writeFileSync(path.join(cdir, f.name), f.data);
    fs.writeFileSync(path.join(cdir, ".hidden"), "not read");
    const file = plainConfig("dcap-dir.toml", '[dcap]\ncollateral_dir = "intel"\n');
    const s = await startSteward({ configFile: file, now: () => intel.now, intelRoot: intel.root });
    running.push(s);
    const res = await attestOver(s, der);
    assert.equal(res.status, 200, res.body.toString());
    const leaf = new x509.X509Certificate(
      res.body.toString().split(/(?<=-----END CERTIFICATE-----\n)/)[0]!,
    );
    assert.equal(decodeKeepClaims(leaf)!.tee, "tdx");
    assert.equal(decodeKeepClaims(leaf)!.tcbStatus, "UpToDate");
    await s.close();

    fs.writeFileSync(path.join(cdir, "README.txt"), "collateral lives here\n");
    await assert.rejects(
      startSteward({ configFile: file, now: () => intel.now, intelRoot: intel.root }),
      (e: unknown) =>
        isCode("steward.collateral")(e) &&
        /collateral_dir: README\.txt: neither JSON/.test(String(e)),
    );
    const missing = plainConfig("dcap-nodir.toml", '[dcap]\ncollateral_dir = "nowhere"\n');
    await assert.rejects(
      startSteward({ configFile: missing }),
      (e: unknown) => isCode("steward.collateral")(e) && /nowhere: ENOENT/.test(String(e)),
    );
  });

  it("[dcap] pcs_url: collateral fetched from a loopback PCCS with the injected fetch, once (cached)", async () => {
    const { der, intel, collateral: c } = await intelCsr("sgx");
    const chain = (ders: readonly Uint8Array[]) =>
      encodeURIComponent(
        ders
          .map(
            (d) =>
              `-----BEGIN CERTIFICATE-----\n${Buffer.from(d).toString("base64")}\n-----END CERTIFICATE-----\n`,
          )
          .join(""),
      );
    const seen: string[] = [];
    const pccs = http.createServer((req, res) => {
      seen.push(req.url ?? "");
      const u = req.url ?? "";
      if (u === "/sgx/certification/v4/tcb?fmspc=00606A000000") {
        res.writeHead(200, { "TCB-Info-Issuer-Chain": chain(c.tcbInfoIssuerChain) });
        res.end(c.tcbInfo);
      } else if (u === "/sgx/certification/v4/qe/identity") {
        res.writeHead(200, { "SGX-Enclave-Identity-Issuer-Chain": chain(c.qeIdentityIssuerChain) });
        res.end(c.qeIdentity);
      } else if (u === "/sgx/certification/v4/pckcrl?ca=platform&encoding=der") {
        res.writeHead(200, { "SGX-PCK-CRL-Issuer-Chain": chain(c.pckCrlIssuerChain) });
        res.end(Buffer.from(c.pckCrl));
      } else if (u === "/sgx/certification/v4/rootcacrl") {
        res.writeHead(200);
        res.end(Buffer.from(c.rootCaCrl).toString("hex"));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => pccs.listen(0, "127.0.0.1", r));
    try {
      const base = `http://127.0.0.1:${(pccs.address() as net.AddressInfo).port}`;
      const file = plainConfig("dcap-pcs.toml", `[dcap]\npcs_url = "${base}"\n`);
      await assert.rejects(
        startSteward({ configFile: file }),
        (e: unknown) =>
          isCode("steward.config")(e) && /dcap\.pcs_url: .*without fetch/.test(String(e)),
      );
      const s = await startSteward({
        configFile: file,
        now: () => intel.now,
        intelRoot: intel.root,
        fetch: globalThis.fetch,
      });
      running.push(s);
      assert.equal((await attestOver(s, der)).status, 200);
      assert.equal((await attestOver(s, der)).status, 200);
      assert.deepEqual(seen.toSorted(), [
        "/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
        "/sgx/certification/v4/qe/identity",
        "/sgx/certification/v4/rootcacrl",
        "/sgx/certification/v4/tcb?fmspc=00606A000000",
      ]);
      await s.close();
    } finally {
      pccs.close();
    }
  });

  it("a missing config file is a steward.config error naming it", async () => {
    await assert.rejects(
      startSteward({ configFile: path.join(root, "none.toml") }),
      (e: unknown) => isCode("steward.config")(e) && /none\.toml: ENOENT/.test(String(e)),
    );
  });
});
