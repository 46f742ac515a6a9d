/**
 * Workload sockets in the real Keep process: `runKeep` (host.ts) binds the
 * listen entry of examples/https-hello.toml on loopback and relays each
 * connection to a sandbox Keep running examples/https-hello.wasm. A real TCP
 * client speaks TLS to it: the certificate carries the Keep key of the
 * EVIDENCE frame, the page comes back, and the host's tap — every byte of
 * the channel both ways — holds none of the plaintext the client exchanged.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import * as tls from "node:tls";
import { decodeKeepEvidence } from "@donjon/attest/cmw";
import { type NetFile, RUNTIME_ROOT, runKeep } from "./host.ts";
import { loadOrCreateSandboxKey } from "./sandbox_key.ts";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-net-keep-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));
const BWRAP = fs.existsSync("/usr/bin/bwrap") ? "/usr/bin/bwrap" : null;
const PAGE_LINE = "This is examples/https-hello: a WebAssembly workload serving HTTP/1.1.";

/** What one request saw: the decrypted answer, the peer's key (DER SPKI), the TLS version. */
interface Reply {
  text: string;
  spki: Buffer;
  protocol: string;
}

/** One HTTPS request over a fresh TLS connection. */
function request(port: number, target: string) {
  return new Promise<Reply>((resolve, reject) => {
    // The Keep's certificate is self-signed (no Steward): the test checks its key instead.
    const t = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false });
    const got: Buffer[] = [];
    t.once("secureConnect", () =>
      t.write(`GET ${target} HTTP/1.1\r\nHost: keep\r\nConnection: close\r\n\r\n`),
    );
    t.on("data", (b: Buffer) => got.push(b));
    t.once("error", reject);
    t.once("end", () => {
      const x = t.getPeerX509Certificate()!;
      resolve({
        text: Buffer.concat(got).toString(),
        spki: x.publicKey.export({ type: "spki", format: "der" }),
        protocol: String(t.getProtocol()),
      });
    });
  });
}

describe("runKeep: https-hello in a sandbox Keep, over real TCP", { timeout: 90_000 }, () => {
  it("TLS ends in the Keep with the Keep key; the page comes back; the tap sees no plaintext", async () => {
    const key = await loadOrCreateSandboxKey({ stateDir: path.join(TMP, "state") });
    const toml = fs.readFileSync(path.join(RUNTIME_ROOT, "examples/https-hello.toml"));
    const web: NetFile = {
      fd: 3,
      name: "web",
      kind: "listen",
      prot: "tls",
      addr: "127.0.0.1",
      port: 0,
    };
    const tapped: Record<"keep" | "host", Buffer[]> = { keep: [], host: [] };
    let evidence: Uint8Array | null = null;
    const secret = `secret-${randomBytes(12).toString("hex")}`;
    let clients!: Promise<[Reply, Reply]>;
    const stderr: Buffer[] = [];
    const result = await runKeep({
      backend: "sandbox",
      plan: {
        args: ["https-hello.wasm", "-q"],
        env: {},
        stdio: ["null", "stdout", "stderr"],
        dirs: [],
      },
      // Ends the server once the clients are done (it serves until stopped).
      limits: { memoryPages: 256, timeoutMs: 6000, outputBytes: null },
      module: fs.readFileSync(path.join(RUNTIME_ROOT, "examples/https-hello.wasm")),
      config: toml,
      nodePath: process.execPath,
      bwrap: BWRAP,
      prlimit: null,
      stateDir: path.dirname(key.keyPath),
      stdout: () => {},
      stderr: (b) => stderr.push(Buffer.from(b)),
      openStdin: () => assert.fail("no stdin"),
      onEvidence: (b) => {
        evidence = b.slice();
      },
      net: [web],
      onListening: (file, address) => {
        assert.equal(file.fd, 3);
        assert.equal(address.address, "127.0.0.1");
        // Connections wait in the host's queue until the Keep takes them.
        clients = Promise.all([
          request(address.port, "/"),
          request(address.port, `/echo?${secret}`),
        ]);
      },
      tap: (from, bytes) => tapped[from].push(Buffer.from(bytes)),
    });
    const [page, echo] = await clients;
    assert.equal(result.kind, "limit", JSON.stringify(result) + Buffer.concat(stderr));
    assert.equal(page.protocol, "TLSv1.3");
    assert.match(page.text, /^HTTP\/1\.1 200 /);
    assert.ok(page.text.includes(PAGE_LINE), page.text);
    assert.ok(echo.text.endsWith(secret), echo.text);
    assert.ok(evidence, "no EVIDENCE");
    assert.deepEqual(page.spki, Buffer.from(decodeKeepEvidence(evidence).keepKey));
    assert.deepEqual(echo.spki, page.spki);

    const fromKeep = Buffer.concat(tapped.keep);
    const all = Buffer.concat([...tapped.host, fromKeep]);
    assert.ok(all.length > 0);
    // The secret went both ways (request line and echoed body): nowhere on the channel.
    for (const needle of [secret, `GET /echo?${secret}`, "GET / HTTP/1.1"]) {
      assert.ok(!all.includes(needle), `plaintext on the channel: ${needle}`);
    }
    // The page's text is in the module the host sent (MODULE), but never comes back out.
    assert.ok(!fromKeep.includes(PAGE_LINE), "the page crossed the channel in plaintext");
    assert.ok(page.text.includes(PAGE_LINE) && echo.text.includes(secret), "the check can fail");
  });
});
