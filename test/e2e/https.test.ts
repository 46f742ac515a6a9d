/**
 * End to end over loopback with real TLS, nothing faked: a Steward (in this
 * process, @donjon/steward; its policy allows this test's sandbox key and the
 * example workload only), and examples/https-hello.wasm in real sandbox Keeps
 * with examples/https-hello.toml. The Keep attests, gets its certificate and
 * serves HTTPS with TLS that ends inside it. Clients: curl, `donjon verify`,
 * Node through @donjon/client's keepAgent, and clients trusting another CA
 * (refused). An expired certificate is judged at an injected time; `donjon
 * verify --crl` passes with the Steward's CRL until the Steward revokes the
 * Keep's certificate (POST /api/v1/admin/revoke), then refuses it. And the
 * host's view: every byte of the sallyport channel (runKeep's tap) while the
 * workload serves holds neither what it served nor what the client sent.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import type * as tls from "node:tls";
import { workloadIdentity } from "@donjon/attest/binding";
import { decodeKeepClaims } from "@donjon/attest/claims";
import {
  ClientError,
  fetchPeerChain,
  type KeepAgentOptions,
  keepAgent,
  verifyKeepCertificate,
} from "@donjon/client";
import { runKeep } from "@donjon/keep/host";
import { loadOrCreateSandboxKey } from "@donjon/keep/sandbox-key";
import { initSteward, type RunningSteward, startSteward } from "@donjon/steward";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "packages/cli/bin/donjon.js");
const WASM = path.join(ROOT, "examples/https-hello.wasm");
const TOML = path.join(ROOT, "examples/https-hello.toml");
/**
 * The name the Keep's certificate lists (the policy's san): a Steward's SANs
 * are DNS names, so clients dial localhost (curl --resolve pins it to the
 * address the Keep listens on).
 */
const NAME = "localhost";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-e2e-https-"));
const STATE = path.join(TMP, "state", "donjon");
const HAVE_CURL = spawnSync("sh", ["-c", "command -v curl"]).status === 0;
const BWRAP =
  spawnSync("sh", ["-c", "command -v bwrap"], { encoding: "utf8" }).stdout.trim() || null;

let steward: RunningSteward;
let caFile: string;
let ca: string;
/** The Steward's admin token (its config.toml, written by initSteward). */
let adminToken: string;
let otherCaFile: string;
let identity: string;
let keep: ChildProcess;
let port: number;

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion (60 s at most). */
function exec(cmd: string, args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: TMP,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, XDG_STATE_HOME: path.dirname(STATE) },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const kill = setTimeout(() => child.kill("SIGKILL"), 60_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(kill);
      resolve({ status, stdout, stderr });
    });
  });
}

const donjon = (args: string[]) => exec(process.execPath, [BIN, ...args]);

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
  peer: Uint8Array;
}

/** One HTTPS request to 127.0.0.1:`o.port` (default: the Keep) as `NAME`, through `o.agent` or trusting `o.ca`. */
function request(
  o: {
    method?: string;
    path?: string;
    body?: Buffer;
    ca?: string;
    port?: number;
    agent?: https.Agent;
  } = {},
): Promise<Answer> {
  const p = o.port ?? port;
  return new Promise((resolve, reject) => {
    let peer = new Uint8Array(0);
    const req = https.request(
      {
        host: "127.0.0.1",
        port: p,
        servername: NAME,
        method: o.method ?? "GET",
        path: o.path ?? "/",
        ...(o.agent ? { agent: o.agent } : { agent: false, ca: o.ca ?? ca }),
        headers: { host: `${NAME}:${p}` },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            peer,
          }),
        );
        res.on("error", reject);
      },
    );
    req.on("socket", (s) =>
      s.once("secureConnect", () => {
        peer = new Uint8Array((s as tls.TLSSocket).getPeerCertificate().raw);
      }),
    );
    req.setTimeout(30_000, () => req.destroy(new Error("no answer in 30 s")));
    req.on("error", reject);
    req.end(o.body);
  });
}

/** keepAgent for this test's Steward, expecting the example (sandbox allowed). */
function agent(o: Partial<KeepAgentOptions> = {}): https.Agent {
  return keepAgent({
    stewardCa: ca,
    workload: identity,
    policy: { allowSoftware: true, tees: ["sandbox"] },
    ...o,
  });
}

/** Wait for `donjon run`'s listening line on `child`'s stderr; its port. */
function listeningPort(child: ChildProcess): Promise<number> {
  let stderr = "";
  return new Promise<number>((resolve, reject) => {
    child.stderr!.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
      const m = /^donjon: fd 3 "web" listening on https:\/\/127\.0\.0\.1:(\d+) /m.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.on("exit", (code) => reject(new Error(`donjon run exited (${code}): ${stderr}`)));
  });
}

before(async () => {
  const key = await loadOrCreateSandboxKey({ stateDir: STATE });
  const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
  identity = Buffer.from(
    await workloadIdentity(sha256(fs.readFileSync(WASM)), sha256(fs.readFileSync(TOML))),
  ).toString("hex");
  const init = await initSteward({ dir: path.join(TMP, "steward"), now: new Date() });
  fs.writeFileSync(
    init.files.policy,
    `[sandbox]\nallow = true\nhost_keys = [${JSON.stringify(key.publicKeyPath)}]\n` +
      `workload_identities = ["${identity}"]\nsan = ["${NAME}"]\n`,
  );
  caFile = init.files.caCert;
  adminToken = /tokens = \["([^"]+)"\]/.exec(fs.readFileSync(init.files.config, "utf8"))![1]!;
  ca = fs.readFileSync(caFile, "utf8");
  // Another Steward's CA: clients that trust it must refuse the Keep.
  otherCaFile = (await initSteward({ dir: path.join(TMP, "other"), now: new Date() })).files.caCert;
  steward = await startSteward({
    configFile: init.files.config,
    listen: { host: "127.0.0.1", port: 0 },
  });
  keep = spawn(
    process.execPath,
    [
      BIN,
      "run",
      "--backend",
      "sandbox",
      "--config",
      TOML,
      "--steward",
      steward.url,
      "--steward-ca",
      caFile,
      WASM,
    ],
    {
      cwd: TMP,
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, XDG_STATE_HOME: path.dirname(STATE) },
    },
  );
  port = await listeningPort(keep);
});

after(async () => {
  if (keep && keep.exitCode === null && keep.signalCode === null) {
    const gone = new Promise((r) => keep.on("exit", r));
    keep.kill("SIGTERM");
    await gone;
  }
  await steward?.close();
  fs.rmSync(TMP, { recursive: true, force: true });
});

describe("the example HTTPS service in a sandbox Keep, certified by a Steward", {
  concurrency: true,
  timeout: 120_000,
}, () => {
  it("curl --cacert <steward CA> gets the page", {
    skip: !HAVE_CURL && "curl is not installed (.ci/run installs it)",
  }, async () => {
    const r = await exec("curl", [
      "--silent",
      "--show-error",
      "--fail",
      "--cacert",
      caFile,
      "--resolve",
      `${NAME}:${port}:127.0.0.1`,
      `https://${NAME}:${port}/`,
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Hello from a Donjon Keep!\n/);
  });

  it("curl trusting another Steward's CA is refused: exit 60, the peer cannot be authenticated", {
    skip: !HAVE_CURL && "curl is not installed (.ci/run installs it)",
  }, async () => {
    const r = await exec("curl", [
      "--silent",
      "--show-error",
      "--cacert",
      otherCaFile,
      "--resolve",
      `${NAME}:${port}:127.0.0.1`,
      `https://${NAME}:${port}/`,
    ]);
    assert.equal(r.status, 60, r.stderr);
    assert.equal(r.stdout, "");
  });

  it("donjon verify: passes for the example, fails with its code for a wrong workload, the default policy and another CA", async () => {
    const url = `https://${NAME}:${port}`;
    const wrong = "ab".repeat(32);
    const cases: [string, string[], number, RegExp][] = [
      [
        "the example, sandbox allowed",
        ["--steward-ca", caFile, "--workload", identity, "--allow-software-tier"],
        0,
        new RegExp(
          `^${url}: VERIFIED — a sandbox Keep \\(SOFTWARE TIER: NO HARDWARE CONFIDENTIALITY\\)`,
        ),
      ],
      [
        "a wrong workload",
        ["--steward-ca", caFile, "--workload", wrong, "--allow-software-tier"],
        1,
        /^FAIL client\.policy\.workload /m,
      ],
      [
        "the software tier not allowed (the default)",
        ["--steward-ca", caFile, "--workload", identity],
        1,
        /^FAIL client\.policy\.tier /m,
      ],
      [
        "another Steward's CA",
        ["--steward-ca", otherCaFile, "--allow-software-tier"],
        1,
        /^FAIL client\.chain /m,
      ],
    ];
    for (const [name, args, status, out] of cases) {
      const r = await donjon(["verify", url, ...args]);
      assert.equal(r.status, status, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, out, name);
    }
  });

  it("donjon verify --json: the verdict with the claims of the example's certificate", async () => {
    const r = await donjon([
      "verify",
      `https://${NAME}:${port}`,
      "--steward-ca",
      caFile,
      "--workload",
      identity,
      "--allow-software-tier",
      "--json",
    ]);
    assert.equal(r.status, 0, r.stderr);
    const v = JSON.parse(r.stdout);
    assert.equal(v.ok, true);
    assert.equal(v.claims.tee, "sandbox");
    assert.equal(v.claims.tier, "software");
    assert.equal(v.claims.workload, identity);
    assert.deepEqual(
      v.warnings.map((w: { code: string }) => w.code),
      ["client.software_tier"],
    );
  });

  it("the certificate the Keep serves: issued by the Steward CA, claims of a sandbox Keep running the example", async () => {
    const r = await request();
    assert.equal(r.status, 200);
    const leaf = new X509Certificate(r.peer);
    assert.ok(leaf.verify(new X509Certificate(ca).publicKey));
    const claims = decodeKeepClaims(r.peer);
    assert.ok(claims);
    assert.equal(claims.tee, "sandbox");
    assert.equal(claims.tier, "software");
    assert.equal(claims.workload, identity);
  });

  it("routes through keepAgent: GET /, /echo?…, POST /echo, /bytes?n=N, 400, 404, 405", async () => {
    const a = agent();
    try {
      const cases: [Parameters<typeof request>[0], number, string | number][] = [
        [{ path: "/" }, 200, "Hello from a Donjon Keep!\n"],
        [{ path: "/echo?over-tls" }, 200, "over-tls"],
        [
          { method: "POST", path: "/echo", body: Buffer.from("a posted body") },
          200,
          "a posted body",
        ],
        [{ path: "/bytes?n=1000000" }, 200, 1_000_000],
        [{ path: "/bytes?n=x" }, 400, "expected /bytes?n=N with N from 0 to 1073741824\n"],
        [{ path: "/nowhere" }, 404, "not found\n"],
        [{ method: "DELETE", path: "/" }, 405, "use GET\n"],
      ];
      for (const [req, status, body] of cases) {
        const r = await request({ ...req, agent: a });
        const what = `${req?.method ?? "GET"} ${req?.path}`;
        assert.equal(r.status, status, what);
        if (typeof body === "number") {
          assert.equal(r.body.length, body, what);
          assert.equal(r.body.subarray(0, 20).toString(), "0123456789abcdef0123");
        } else if (req?.path === "/") assert.ok(r.body.toString().startsWith(body), what);
        else assert.equal(r.body.toString(), body, what);
      }
    } finally {
      a.destroy();
    }
  });

  it("malformed and oversized requests over TLS: answered with their status, then the connection is closed", async () => {
    const cases: [string, string, number][] = [
      ["not HTTP", "GARBAGE\r\n\r\n", 400],
      ["no version", "GET /\r\n\r\n", 400],
      ["absolute-form target", "GET http://x/ HTTP/1.1\r\n\r\n", 400],
      ["obsolete line folding", "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", 400],
      [
        "two Content-Lengths",
        "POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
        400,
      ],
      ["HTTP/2.0", "GET / HTTP/2.0\r\n\r\n", 505],
      ["chunked", "POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 501],
      ["a 70 000-byte body", "POST /echo HTTP/1.1\r\nContent-Length: 70000\r\n\r\n", 413],
      ["9 KiB of headers", `GET / HTTP/1.1\r\nX: ${"a".repeat(9000)}\r\n\r\n`, 431],
    ];
    const tls = await import("node:tls");
    for (const [name, raw, status] of cases) {
      const answer = await new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: "127.0.0.1", port, servername: NAME, ca }, () =>
          s.write(raw),
        );
        let text = "";
        s.setEncoding("utf8").on("data", (t: string) => (text += t));
        // The server closes after an error answer; the client sees the end.
        s.on("end", () => resolve(text));
        s.on("error", reject);
        s.setTimeout(20_000, () => s.destroy(new Error(`${name}: no end in 20 s: ${text}`)));
      });
      assert.match(answer, new RegExp(`^HTTP/1\\.1 ${status} `), name);
      assert.match(answer, /\r\nConnection: close\r\n/, name);
    }
  });

  it("keep-alive and concurrency: 40 requests over 8 connections, each answered with its own echo", async () => {
    const a = agent({ agent: { keepAlive: true, maxSockets: 8 } });
    try {
      const answers = await Promise.all(
        Array.from({ length: 40 }, (_, i) => request({ path: `/echo?request-${i}`, agent: a })),
      );
      answers.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), `request-${i}`);
      });
    } finally {
      a.destroy();
    }
  });

  it("refused peers: keepAgent expecting another workload, and a plain Node client trusting another CA", async () => {
    const a = agent({ workload: "cd".repeat(32) });
    try {
      await assert.rejects(request({ agent: a }), (e: unknown) => {
        assert.ok(e instanceof ClientError, String(e));
        assert.equal(e.code, "client.policy.workload");
        return true;
      });
    } finally {
      a.destroy();
    }
    await assert.rejects(
      request({ ca: fs.readFileSync(otherCaFile, "utf8") }),
      (e: NodeJS.ErrnoException) => {
        assert.equal(e.code, "SELF_SIGNED_CERT_IN_CHAIN");
        return true;
      },
    );
  });

  it("donjon verify --crl <steward>/api/v1/crl: passes; once the Steward revokes the Keep's certificate, exit 1 with client.revoked", async () => {
    const url = `https://${NAME}:${port}`;
    // The Steward serves HTTPS (its CA, given by --steward-ca, is trusted to fetch the CRL).
    const args = [
      "verify",
      url,
      "--steward-ca",
      caFile,
      "--workload",
      identity,
      "--allow-software-tier",
      "--crl",
      `${steward.url}/api/v1/crl`,
    ];
    const before = await donjon(args);
    assert.equal(before.status, 0, before.stdout + before.stderr);
    assert.match(
      before.stdout,
      /^ {2}- the Steward has not revoked the certificate: not on its CRL /m,
    );
    const serial = new X509Certificate(
      (await fetchPeerChain(url)).chain[0]!,
    ).serialNumber.toLowerCase();
    const revoked = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const body = JSON.stringify({ serial, reason: "keyCompromise" });
      const req = https.request(
        `${steward.url}/api/v1/admin/revoke`,
        {
          method: "POST",
          ca,
          headers: {
            authorization: `Bearer ${adminToken}`,
            "content-type": "application/json",
            "content-length": Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = "";
          res.setEncoding("utf8").on("data", (t: string) => (text += t));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on("error", reject);
      req.end(body);
    });
    assert.equal(revoked.status, 200, revoked.body);
    const after = await donjon(args);
    assert.equal(after.status, 1, after.stdout + after.stderr);
    assert.match(after.stdout, /^FAIL client\.revoked \(client\.revocation\)$/m);
    assert.match(
      after.stdout,
      new RegExp(`actual: +revoked: serial ${serial}, on \\S+, reason keyCompromise$`, "m"),
    );
    assert.match(after.stderr, /refused: 1 check failed \(client\.revoked\)/);
  });

  it("an expired certificate (and one not yet valid) is refused with client.expired at the time it is judged", async () => {
    const { chain } = await fetchPeerChain(`https://${NAME}:${port}`);
    const leaf = new X509Certificate(chain[0]!);
    const notAfter = new Date(leaf.validTo).getTime();
    const notBefore = new Date(leaf.validFrom).getTime();
    const cases: [string, number, string | null][] = [
      ["now", Date.now(), null],
      ["a second after notAfter", notAfter + 1000, "client.expired"],
      ["a day after notAfter", notAfter + 86_400_000, "client.expired"],
      ["a second before notBefore", notBefore - 1000, "client.expired"],
    ];
    for (const [name, at, code] of cases) {
      const v = verifyKeepCertificate(chain, {
        stewardCa: ca,
        workload: identity,
        policy: { allowSoftware: true },
        host: NAME,
        now: () => new Date(at),
      });
      // Unique codes: before the leaf's notBefore (a minute before issue) the CA, made just
      // before the test, is not yet valid either — two checks, one code.
      const failed = new Set(
        v.checks.filter((c) => !c.ok && c.severity !== "warning").map((c) => c.code),
      );
      assert.deepEqual([...failed], code === null ? [] : [code], name);
      assert.equal(v.ok, code === null, name);
    }
  });
});

describe("the host's view of a Keep serving HTTPS", { timeout: 120_000 }, () => {
  it("every byte of the sallyport channel while the workload serves: no served page, no client body — both of which the client decrypts", async () => {
    const wasm = fs.readFileSync(WASM);
    const toml = fs.readFileSync(TOML);
    /** Channel bytes from the moment the Keep holds its certificate (before that: the module itself, whose data holds the page). */
    const tapped: Buffer[] = [];
    let serving = false;
    const stderr: Buffer[] = [];
    let onPort: (p: number) => void = () => {};
    const bound = new Promise<number>((r) => {
      onPort = r;
    });
    const run = runKeep({
      backend: "sandbox",
      plan: {
        args: ["https-hello.wasm"],
        env: { FD_COUNT: "4", FD_NAMES: "stdin:stdout:stderr:web" },
        stdio: ["stdin", "stdout", "stderr"],
        dirs: [],
      },
      // The time limit ends this Keep: a server does not exit by itself.
      limits: { memoryPages: 1024, timeoutMs: 8000, outputBytes: null },
      module: wasm,
      config: toml,
      nodePath: process.execPath,
      bwrap: BWRAP,
      prlimit: null,
      stateDir: STATE,
      stdout: () => {},
      stderr: (b) => stderr.push(Buffer.from(b)),
      openStdin: () => ({ next: async () => null, close: () => {} }),
      steward: { url: steward.url, ca },
      onCertificate: () => {
        serving = true;
      },
      net: [{ fd: 3, name: "web", kind: "listen", prot: "tls", addr: "127.0.0.1", port: 0 }],
      onListening: (_file, address) => onPort(address.port),
      tap: (_from, bytes) => {
        if (serving) tapped.push(Buffer.from(bytes));
      },
    });
    const tapPort = await bound;
    const secret = `client secret ${process.pid}-${Date.now()} that only the Keep may read`;
    const a = agent();
    try {
      const page = await request({ port: tapPort, agent: a });
      const echo = await request({
        port: tapPort,
        agent: a,
        method: "POST",
        path: "/echo",
        body: Buffer.from(secret),
      });
      // The client decrypted both…
      assert.match(page.body.toString(), /^Hello from a Donjon Keep!\n/);
      assert.equal(echo.body.toString(), secret);
    } finally {
      a.destroy();
    }
    const result = await run;
    assert.equal(result.kind, "limit", JSON.stringify(result));
    // …while the host relayed them: the channel carried the connection (TLS records)…
    const channel = Buffer.concat(tapped);
    assert.ok(serving, "the Keep got its certificate");
    assert.ok(channel.length > 3000, `tapped ${channel.length} bytes`);
    assert.notEqual(
      channel.indexOf(Buffer.from([0x17, 0x03, 0x03])),
      -1,
      "TLS application data records",
    );
    // …and the workload's log (its stderr, the host's to read) says it served both requests…
    const log = Buffer.concat(stderr).toString();
    assert.match(log, /https-hello: GET \/ 200 \d+\n/);
    assert.match(log, /https-hello: POST \/echo 200 \d+\n/);
    // …but not one plaintext byte of either: not the page, not the body, not even HTTP's framing.
    for (const plain of [
      "Hello from a Donjon Keep",
      "TLS ends inside the Keep with a key that never leaves",
      secret,
      "HTTP/1.1 200 OK",
      "Content-Length:",
    ]) {
      assert.equal(
        channel.indexOf(plain),
        -1,
        `${JSON.stringify(plain)} crossed the host in clear`,
      );
    }
  });
});
