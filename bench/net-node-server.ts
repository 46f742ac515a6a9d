/**
 * The network benchmark's third server (bench/net.ts): examples/https-hello's
 * routes served by plain Node — `https.createServer`, TLS 1.3 in this
 * process, no Keep — so that the Keep's figures can be told apart from what
 * Node's TLS costs anyway. The certificate is self-signed for a fresh ECDSA
 * P-384 key, signed with SHA-384, as a Keep without a Steward makes its own
 * (packages/keep/src/tls_identity.ts).
 *
 *   node bench/net-node-server.ts [PORT]     (PORT 0, the default: any free port)
 *
 * Prints `net-node-server: listening on 127.0.0.1:PORT` on stdout once it
 * accepts connections, and exits when its stdin closes (its parent is gone).
 *
 * Routes, as in examples/https-hello.c: GET / (a short page), GET /echo?TEXT,
 * GET /bytes?n=N (N bytes of the same 16-byte pattern, written in 64 KiB
 * chunks as the C server sends them), 404 otherwise.
 */
import "reflect-metadata";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { X509CertificateGenerator } from "@peculiar/x509";

const PAGE =
  "Hello from a plain Node TLS server (no Keep)!\n" +
  "This is bench/net-node-server.ts: examples/https-hello's routes in Node's https module.\n";
const CHUNK = 64 * 1024;
const BYTES_MAX = 2 ** 30;
const PATTERN = Buffer.alloc(CHUNK, "0123456789abcdef");

async function selfSigned(): Promise<{ key: string; cert: string }> {
  const keys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ]);
  const now = Date.now();
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=donjon bench plain Node TLS server",
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    keys,
    signingAlgorithm: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams,
  });
  const pkcs8 = Buffer.from(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  const b64 = pkcs8.toString("base64").replace(/.{64}/g, "$&\n");
  return {
    key: `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`,
    cert: cert.toString("pem"),
  };
}

/** N bytes of the pattern, chunk by chunk, waiting for "drain" as a blocking send would. */
async function sendBytes(res: import("node:http").ServerResponse, n: number): Promise<void> {
  let left = n;
  while (left > 0 && !res.destroyed) {
    const k = Math.min(left, CHUNK);
    left -= k;
    if (!res.write(k === CHUNK ? PATTERN : PATTERN.subarray(0, k))) {
      await new Promise<void>((resolve) => {
        res.once("drain", resolve);
        res.once("close", resolve);
      });
    }
  }
  res.end();
}

const { key, cert } = await selfSigned();
const server = https.createServer(
  { key, cert, minVersion: "TLSv1.3", keepAliveTimeout: 30_000 },
  (req, res) => {
    // The C server sends no Date header; neither does this one.
    res.sendDate = false;
    res.setHeader("Server", "donjon-bench-node");
    const target = req.url ?? "/";
    const q = target.indexOf("?");
    const route = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? "" : target.slice(q + 1);
    const get = req.method === "GET" || req.method === "HEAD";
    const text = (status: number, body: string) => {
      res.writeHead(status, {
        "Content-Type": "text/plain; charset=utf-8",
        "Content-Length": Buffer.byteLength(body),
      });
      res.end(req.method === "HEAD" ? undefined : body);
    };
    if (!get) return text(405, "use GET\n");
    if (route === "/") return text(200, PAGE);
    if (route === "/echo") return text(200, query);
    if (route === "/bytes") {
      const n = /^n=\d{1,18}$/.test(query) ? Number(query.slice(2)) : -1;
      if (n < 0 || n > BYTES_MAX)
        return text(400, "expected /bytes?n=N with N from 0 to 1073741824\n");
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": n });
      if (req.method === "HEAD" || n === 0) return res.end();
      void sendBytes(res, n);
      return;
    }
    return text(404, "not found\n");
  },
);
server.listen(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  const a = server.address() as AddressInfo;
  process.stdout.write(`net-node-server: listening on 127.0.0.1:${a.port}\n`);
});
// The parent holds our stdin: when it goes (even by SIGKILL), so do we.
process.stdin.on("data", () => {});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
