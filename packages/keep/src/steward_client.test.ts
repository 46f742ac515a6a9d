/**
 * The Keep's Steward client against an HTTP server in this process, over a
 * plain loopback connection (the `http://` a Steward serves on loopback):
 * every kind of answer — a chain for the Keep, one for another key, a
 * refusal, another status, another media type, too much, nothing — gives
 * the decision or the one error that names it. TLS and the relay are
 * covered end to end (test/e2e/steward.test.ts).
 */
import assert from "node:assert/strict";
import * as http from "node:http";
import * as net from "node:net";
import type { Duplex } from "node:stream";
import { after, before, describe, it } from "node:test";
import {
  BasicConstraintsExtension,
  PemConverter,
  X509Certificate,
  X509CertificateGenerator,
} from "./_x509.ts";
import { KeepError } from "./error.ts";
import { generateKeepKey } from "./identity.ts";
import { ANSWER_MAX, requestCertificate } from "./steward_client.ts";

const ALG = { name: "ECDSA", namedCurve: "P-384", hash: "SHA-384" };
const NOW = new Date();

async function keys(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ]);
}

/** A CA and a leaf it issues for `publicKey`. */
async function chainFor(publicKey: CryptoKey, o: { notAfter?: Date } = {}): Promise<string> {
  const caKeys = await keys();
  const ca = await X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: "CN=Test Steward CA",
    notBefore: new Date(NOW.getTime() - 60_000),
    notAfter: new Date(NOW.getTime() + 86_400_000),
    keys: caKeys,
    signingAlgorithm: ALG,
    extensions: [new BasicConstraintsExtension(true, undefined, true)],
  });
  const leaf = await X509CertificateGenerator.create({
    serialNumber: "02",
    subject: "CN=donjon keep",
    issuer: ca.subject,
    notBefore: new Date(NOW.getTime() - 60_000),
    notAfter: o.notAfter ?? new Date(NOW.getTime() + 3_600_000),
    publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: ALG,
  });
  return `${leaf.toString("pem")}\n${ca.toString("pem")}\n`;
}

type Answer = { status: number; type?: string; body: string | Buffer } | "hang";
let answer: Answer = "hang";
let server: http.Server;
let port = 0;
const received: { method: string; url: string; type: string; body: Buffer }[] = [];

before(async () => {
  server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on("data", (b: Buffer) => parts.push(b));
    req.on("end", () => {
      received.push({
        method: req.method!,
        url: req.url!,
        type: String(req.headers["content-type"]),
        body: Buffer.concat(parts),
      });
      if (answer === "hang") return;
      res.writeHead(answer.status, answer.type ? { "content-type": answer.type } : {});
      res.end(answer.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as net.AddressInfo).port;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const CSR = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]);

async function ask(
  a: Answer,
  o: { keepSpki?: Uint8Array; timeoutMs?: number; base?: string } = {},
) {
  answer = a;
  const key = await generateKeepKey();
  return requestCertificate({
    steward: { url: `http://127.0.0.1:${port}${o.base ?? ""}`, ca: null },
    csr: CSR,
    keepSpki: o.keepSpki ?? key.spki,
    connect: () =>
      new Promise<Duplex>((resolve, reject) => {
        const s = net.connect(port, "127.0.0.1", () => resolve(s));
        s.once("error", reject);
      }),
    timeoutMs: o.timeoutMs ?? 10_000,
    now: () => NOW,
  });
}

function isKeepError(code: string, message: string | RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof KeepError, String(e));
    assert.equal(e.code, code);
    if (typeof message === "string") assert.equal(e.message, message);
    else assert.match(e.message, message);
    return true;
  };
}

describe("requestCertificate", () => {
  it("posts the CSR as application/pkcs10 to BASE/api/v1/attest and returns the chain issued for the Keep's key", async () => {
    const key = await generateKeepKey();
    const pem = await chainFor(key.publicKey);
    received.length = 0;
    const r = await ask(
      { status: 200, type: "application/pem-certificate-chain", body: pem },
      { keepSpki: key.spki, base: "/steward/" },
    );
    assert.equal(r.kind, "issued");
    assert.equal(r.kind === "issued" && r.pem, pem);
    assert.equal(r.kind === "issued" && r.chain.length, 2);
    assert.deepEqual(
      received.map((q) => [q.method, q.url, q.type, [...q.body]]),
      [["POST", "/steward/api/v1/attest", "application/pkcs10", [...CSR]]],
    );
    const leaf = new X509Certificate(PemConverter.decodeFirst(pem));
    assert.equal(leaf.subject, "CN=donjon keep");
  });

  it("a 403 problem with checks is a refusal carrying every check, control characters replaced", async () => {
    const checks = [
      {
        code: "sandbox.policy.software_tier",
        expected: "hardware",
        actual: "software",
        remedy: "use a TEE",
      },
      { code: "binding.key", expected: "a\u001b[2Jb", actual: "x".repeat(2000), remedy: "" },
    ];
    const r = await ask({
      status: 403,
      type: "application/problem+json",
      body: JSON.stringify({ title: "Attestation refused", detail: "2 checks failed", checks }),
    });
    assert.equal(r.kind, "refused");
    assert.ok(r.kind === "refused");
    assert.equal(r.detail, "2 checks failed");
    assert.deepEqual(r.checks[0], checks[0]);
    assert.equal(r.checks[1]!.expected, "a [2Jb");
    assert.equal(r.checks[1]!.actual, `${"x".repeat(1024)}…`);
  });

  const failures: {
    name: string;
    answer: Answer;
    code: string;
    message: string | RegExp;
    keepSpki?: "other";
  }[] = [
    {
      name: "a 400 problem: its title, detail and code are quoted",
      answer: {
        status: 400,
        type: "application/problem+json; charset=utf-8",
        body: JSON.stringify({ title: "Malformed request", detail: "not a CSR", code: "csr.der" }),
      },
      code: "keep.steward.answer",
      message:
        /^the Steward at http:\/\/127\.0\.0\.1:\d+ answered 400: Malformed request — not a CSR \[csr\.der\]$/,
    },
    {
      name: "a 500 without a body",
      answer: { status: 500, body: "" },
      code: "keep.steward.answer",
      message: /^the Steward at http:\/\/127\.0\.0\.1:\d+ answered 500$/,
    },
    {
      name: "a 403 that is not a problem with checks",
      answer: { status: 403, type: "text/html", body: "<h1>Forbidden</h1>" },
      code: "keep.steward.answer",
      message: /answered 403$/,
    },
    {
      name: "a 200 with another media type",
      answer: { status: 200, type: "text/plain", body: "hello" },
      code: "keep.steward.answer",
      message: /answered 200 with text\/plain; expected application\/pem-certificate-chain$/,
    },
    {
      name: "a 200 with one certificate",
      answer: {
        status: 200,
        type: "application/pem-certificate-chain",
        body: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
      },
      code: "keep.steward.certificate",
      message: /sent 1 certificate; expected the Keep's, then the CA's$/,
    },
    {
      name: "an answer over the limit",
      answer: {
        status: 200,
        type: "application/pem-certificate-chain",
        body: Buffer.alloc(ANSWER_MAX + 1, 0x41),
      },
      code: "keep.steward.answer",
      message: new RegExp(`answered with more than ${ANSWER_MAX} bytes$`),
    },
    {
      name: "a chain larger than CERTIFICATE may carry",
      answer: {
        status: 200,
        type: "application/pem-certificate-chain",
        body: Buffer.alloc(64 * 1024 + 1, 0x41),
      },
      code: "keep.steward.certificate",
      message: /sent a chain of 65537 bytes; a Keep takes at most 65536$/,
    },
    {
      name: "a problem that is not JSON",
      answer: { status: 403, type: "application/problem+json", body: "{" },
      code: "keep.steward.answer",
      message: /sent a problem that is not a JSON object$/,
    },
  ];
  for (const f of failures) {
    it(`${f.name} → ${f.code}`, async () => {
      await assert.rejects(ask(f.answer), isKeepError(f.code, f.message));
    });
  }

  it("a chain for another key → keep.steward.certificate", async () => {
    const other = await keys();
    const pem = await chainFor(other.publicKey);
    await assert.rejects(
      ask({ status: 200, type: "application/pem-certificate-chain", body: pem }),
      isKeepError("keep.steward.certificate", /is for another key than the Keep's$/),
    );
  });

  it("an expired certificate for the Keep's key → keep.steward.certificate", async () => {
    const key = await generateKeepKey();
    const pem = await chainFor(key.publicKey, { notAfter: new Date(NOW.getTime() - 1000) });
    await assert.rejects(
      ask(
        { status: 200, type: "application/pem-certificate-chain", body: pem },
        { keepSpki: key.spki },
      ),
      isKeepError("keep.steward.certificate", /does not verify with the CA it came with at /),
    );
  });

  it("no answer in time → keep.steward.timeout", async () => {
    await assert.rejects(
      ask("hang", { timeoutMs: 300 }),
      isKeepError(
        "keep.steward.timeout",
        /^the Steward at http:\/\/127\.0\.0\.1:\d+ did not answer within 0\.3 s$/,
      ),
    );
  });

  it("the host could not connect → keep.steward.connect naming the URL", async () => {
    await assert.rejects(
      requestCertificate({
        steward: { url: "https://steward.example:8443", ca: "-" },
        csr: CSR,
        keepSpki: new Uint8Array(120),
        connect: () => Promise.reject(new KeepError("keep.relay", "ECONNREFUSED")),
        timeoutMs: 1000,
        now: () => NOW,
      }),
      isKeepError(
        "keep.steward.connect",
        "cannot reach the Steward at https://steward.example:8443 (ECONNREFUSED)",
      ),
    );
  });
});
