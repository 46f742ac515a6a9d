/**
 * `donjon verify` end to end: the real bin as a child process against real
 * TLS servers on 127.0.0.1 serving certificates issued by a real Steward CA
 * made in-process (@donjon/steward's createCa / issueKeepCert, the code the
 * Steward signs with). Each server records the application bytes it receives:
 * `donjon verify` must send none.
 */
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { once } from "node:events";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import {
  type Ca,
  createCa,
  crl,
  issueKeepCert,
  issueTlsCert,
  type KeepCertClaims,
  type SanName,
  toPem,
} from "@donjon/steward";
import { type DonjonResult, runDonjon } from "../_donjon_child.ts";

const ROOT = path.resolve(import.meta.dirname, "../../../..");
const _BIN = path.join(ROOT, "packages/cli/bin/donjon.js");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-verify-"));
const HOUR = 3_600_000;
const NOW = new Date();
const WORKLOAD = "c0".repeat(32);
const SNP: KeepCertClaims = {
  tee: "snp",
  tier: "hardware",
  measurement: "ab".repeat(48),
  workload: WORKLOAD,
  tcbStatus: "meets-minimum",
  tcb: "0300000000000873",
  evidenceSha256: "ef".repeat(32),
};
const SANDBOX: KeepCertClaims = {
  tee: "sandbox",
  tier: "software",
  measurement: "12".repeat(48),
  workload: WORKLOAD,
  tcbStatus: "none",
  tcb: null,
  evidenceSha256: "56".repeat(32),
};

function donjon(args: string[]): Promise<DonjonResult> {
  return runDonjon(args, { cwd: tmp });
}

function file(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

/** A Keep certificate chain and key, issued by `ca` as the Steward issues them. */
async function keep(
  ca: Ca,
  o: { claims?: KeepCertClaims; now?: Date; lifetimeMs?: number; san?: SanName[] } = {},
): Promise<{ chainPem: string; keyPem: string; serial: string }> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const issued = await issueKeepCert(ca, {
    spki: new Uint8Array(await crypto.subtle.exportKey("spki", keys.publicKey)),
    claims: o.claims ?? SNP,
    lifetimeMs: o.lifetimeMs ?? 24 * HOUR,
    now: o.now ?? NOW,
    ...(o.san ? { san: o.san } : {}),
  });
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    chainPem: issued.pem + ca.certPem,
    keyPem: toPem("PRIVATE KEY", pkcs8),
    serial: new X509Certificate(issued.der).serialNumber,
  };
}

const servers: tls.Server[] = [];
let received = 0;

/** Serve `cert` on 127.0.0.1; every application byte received is counted in `received`. */
async function serve(cert: { chainPem: string; keyPem: string }): Promise<string> {
  const server = tls.createServer({ cert: cert.chainPem, key: cert.keyPem }, (s) => {
    s.on("data", (d: Buffer) => (received += d.length));
    s.on("error", () => {});
  });
  server.on("tlsClientError", () => {});
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  servers.push(server);
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let caFile: string;
let otherCaFile: string;
const url: Record<string, string> = {};
/** CRL files (DER or PEM), and a loopback HTTP server serving them at /NAME/api/v1/crl (the empty one at /api/v1/crl). */
const crlFile: Record<string, string> = {};
const crlBytes: Record<string, Uint8Array> = {};
let crlServer: http.Server;
let crlBase: string;

before(async () => {
  const [{ ca }, { ca: other }] = await Promise.all([
    createCa({ now: new Date(NOW.getTime() - 24 * HOUR) }),
    createCa({ now: new Date(NOW.getTime() - 24 * HOUR) }),
  ]);
  caFile = file("ca.pem", ca.certPem);
  otherCaFile = file("other-ca.pem", other.certPem);
  const tlsCert = await issueTlsCert(ca, { now: NOW });
  const [snp, sandbox, expired, named, foreign] = await Promise.all([
    keep(ca),
    keep(ca, { claims: SANDBOX }),
    keep(ca, { now: new Date(NOW.getTime() - 3 * HOUR), lifetimeMs: HOUR }),
    keep(ca, { san: [{ type: "dns", value: "keep.example" }] }),
    keep(other),
  ]);
  url.snp = await serve(snp);
  url.sandbox = await serve(sandbox);
  url.expired = await serve(expired);
  url.named = await serve(named);
  url.foreign = await serve(foreign);
  url.steward = await serve({ chainPem: tlsCert.certPem + ca.certPem, keyPem: tlsCert.keyPem });

  // CRLs made by the Steward's own crl(): empty, listing the snp Keep, stale, another CA's.
  const [empty, revoking, stale, foreignCrl] = await Promise.all([
    crl(ca, [], NOW),
    crl(ca, [{ serial: snp.serial, revokedAt: NOW, reason: "keyCompromise" }], NOW),
    crl(ca, [], new Date(NOW.getTime() - 2 * HOUR)),
    crl(other, [], NOW),
  ]);
  Object.assign(crlBytes, { empty, revoking, stale, foreign: foreignCrl });
  crlFile.empty = file("empty.crl", "");
  fs.writeFileSync(crlFile.empty, empty);
  crlFile.revoking = file(
    "revoking.pem",
    `-----BEGIN X509 CRL-----\n${Buffer.from(revoking).toString("base64")}\n-----END X509 CRL-----\n`,
  );
  crlFile.stale = path.join(tmp, "stale.crl");
  fs.writeFileSync(crlFile.stale, stale);
  crlFile.foreign = path.join(tmp, "foreign.crl");
  fs.writeFileSync(crlFile.foreign, foreignCrl);
  crlServer = http.createServer((req, res) => {
    // /api/v1/crl: the empty CRL (a Steward's base URL); /NAME/api/v1/crl: the one named.
    const m = /^(?:\/(\w+))?\/api\/v1\/crl$/.exec(req.url ?? "");
    const name = m ? (m[1] ?? "empty") : undefined;
    const body = name === undefined ? undefined : crlBytes[name];
    if (body === undefined) res.writeHead(404).end();
    else res.writeHead(200, { "content-type": "application/pkix-crl" }).end(body);
  });
  crlServer.listen(0, "127.0.0.1");
  await once(crlServer, "listening");
  crlBase = `http://127.0.0.1:${(crlServer.address() as AddressInfo).port}`;
});

after(async () => {
  for (const s of servers) s.close();
  crlServer.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  // Not one application byte reached any server, over every test.
  assert.equal(received, 0, "donjon verify sent application data");
});

describe("donjon verify", () => {
  it("a hardware Keep running the expected workload: exit 0, what was proved and what was not", async () => {
    const r = await donjon(["verify", url.snp!, "--steward-ca", caFile, "--workload", WORKLOAD]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /^https:\/\/127\.0\.0\.1:\d+: VERIFIED — a snp Keep \(hardware tier\), certified by the Steward CN=Donjon Steward CA, as of /,
    );
    assert.match(r.stdout, /tier +hardware\n/);
    assert.match(r.stdout, /measurement +abab/);
    assert.match(r.stdout, new RegExp(`workload identity +${WORKLOAD}\\n`));
    assert.match(r.stdout, /tcb status +meets-minimum \(reported tcb 0300000000000873\)/);
    assert.match(r.stdout, /steward +CN=Donjon Steward CA \(sha256 [0-9a-f]{64}\)/);
    assert.match(
      r.stdout,
      /Proved:\n.*the peer holds the key of a certificate the Steward CA issued/,
    );
    assert.match(r.stdout, /the Keep runs the expected workload/);
    assert.match(r.stdout, /Not proved:\n.*revocation/);
    assert.match(r.stdout, /host name: the certificate names no host/);
    assert.doesNotMatch(r.stdout, /SOFTWARE TIER/);
    assert.equal(r.stderr, "");
  });

  it("--json: the verdict with every check, claims, certificate and steward", async () => {
    const r = await donjon(["verify", url.snp!, "--steward-ca", caFile, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const v = JSON.parse(r.stdout);
    assert.equal(v.url, url.snp);
    assert.equal(v.ok, true);
    assert.deepEqual(v.claims, SNP);
    assert.deepEqual(Object.keys(v).sort(), [
      "at",
      "certificate",
      "checks",
      "claims",
      "notChecked",
      "ok",
      "steward",
      "url",
      "warnings",
    ]);
    assert.ok(v.checks.every((c: { ok: boolean }) => c.ok));
    assert.match(v.certificate.subject, /donjon keep c0c0/);
    assert.ok(v.notChecked.some((n: string) => /workload identity: no expected identity/.test(n)));
  });

  it("a sandbox Keep with --allow-software-tier: exit 0, and the software tier said loudly", async () => {
    const r = await donjon([
      "verify",
      url.sandbox!,
      "--steward-ca",
      caFile,
      "--allow-software-tier",
    ]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /VERIFIED — a sandbox Keep \(SOFTWARE TIER: NO HARDWARE CONFIDENTIALITY\)/,
    );
    assert.match(
      r.stdout,
      /!! SOFTWARE TIER: NO HARDWARE CONFIDENTIALITY — a sandbox Keep; its host can read and change it/,
    );
    assert.match(r.stdout, /Not proved:\n {2}- confidentiality from the host/);
    const j = JSON.parse(
      (
        await donjon([
          "verify",
          url.sandbox!,
          "--steward-ca",
          caFile,
          "--allow-software-tier",
          "--json",
        ])
      ).stdout,
    );
    assert.deepEqual(
      j.warnings.map((w: { code: string }) => w.code),
      ["client.software_tier"],
    );
  });

  it("a policy file: steward_ca relative to it, workloads, tcb_statuses", async () => {
    const dir = path.join(tmp, "policy");
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(caFile, path.join(dir, "steward-ca.pem"));
    const policy = file(
      "policy/verify.toml",
      `steward_ca = "steward-ca.pem"\ntees = ["snp"]\nworkloads = ["${WORKLOAD}"]\ntcb_statuses = ["meets-minimum"]\n`,
    );
    const r = await donjon(["verify", url.snp!, "--policy", policy]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const refused = file("refuse.toml", `steward_ca = "ca.pem"\ntees = ["tdx"]\n`);
    const r2 = await donjon(["verify", url.snp!, "--policy", refused]);
    assert.equal(r2.status, 1, r2.stderr + r2.stdout);
    assert.match(r2.stdout, /FAIL client\.policy\.tee/);
  });

  const refusals: [string, () => string[], string[]][] = [
    [
      "a wrong workload",
      () => [url.snp!, "--steward-ca", caFile, "--workload", "d1".repeat(32)],
      ["client.policy.workload"],
    ],
    ["an expired certificate", () => [url.expired!, "--steward-ca", caFile], ["client.expired"]],
    [
      "a refused peer (another Steward's Keep)",
      () => [url.foreign!, "--steward-ca", caFile],
      ["client.chain"],
    ],
    ["the wrong Steward CA given", () => [url.snp!, "--steward-ca", otherCaFile], ["client.chain"]],
    [
      "a sandbox Keep without --allow-software-tier",
      () => [url.sandbox!, "--steward-ca", caFile],
      ["client.policy.tier"],
    ],
    [
      "a server that is not a Keep (the Steward's own TLS)",
      () => [url.steward!, "--steward-ca", caFile],
      ["client.claims"],
    ],
    [
      "a certificate naming another host",
      () => [url.named!, "--steward-ca", caFile],
      ["client.hostname"],
    ],
  ];
  for (const [name, args, codes] of refusals) {
    it(`refuses ${name}: exit 1, ${codes.join(", ")}`, async () => {
      const r = await donjon(["verify", ...args()]);
      assert.equal(r.status, 1, r.stderr + r.stdout);
      assert.match(r.stdout, /: REFUSED — /);
      for (const c of codes)
        assert.match(r.stdout, new RegExp(`FAIL ${c.replaceAll(".", "\\.")} \\(`));
      assert.match(r.stdout, /expected: .*\n +actual: .*\n +remedy: /);
      assert.match(
        r.stderr,
        new RegExp(`refused: ${codes.length} checks? failed \\(${codes.join(", ")}\\)`),
      );
      const j = await donjon(["verify", ...args(), "--json"]);
      assert.equal(j.status, 1);
      const v = JSON.parse(j.stdout);
      assert.equal(v.ok, false);
      assert.deepEqual(
        v.checks.filter((c: { ok: boolean }) => !c.ok).map((c: { code: string }) => c.code),
        codes,
      );
    });
  }

  it("--ignore-hostname accepts the certificate naming another host", async () => {
    const r = await donjon(["verify", url.named!, "--steward-ca", caFile, "--ignore-hostname"]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /host name: not checked \(ignoreHostname\); the certificate names DNS:keep\.example/,
    );
  });

  it("--crl FILE (DER) with an empty CRL: exit 0, not revoked is proved, and revocation is no longer listed as not proved", async () => {
    const r = await donjon(["verify", url.snp!, "--steward-ca", caFile, "--crl", crlFile.empty!]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /Proved:\n(?:.*\n)* {2}- the Steward has not revoked the certificate: not on its CRL \(thisUpdate .*, nextUpdate .*; 0 entries\)\n/,
    );
    assert.doesNotMatch(r.stdout.split("Not proved:")[1]!, /revocation/);
    const j = JSON.parse(
      (
        await donjon([
          "verify",
          url.snp!,
          "--steward-ca",
          caFile,
          "--crl",
          crlFile.empty!,
          "--json",
        ])
      ).stdout,
    );
    assert.deepEqual(
      j.checks
        .filter((c: { id: string }) => c.id.startsWith("client.revocation"))
        .map((c: { id: string; ok: boolean }) => [c.id, c.ok]),
      [
        ["client.revocation.crl", true],
        ["client.revocation", true],
      ],
    );
  });

  it("--crl URL: a Steward's base URL gets /api/v1/crl; plain http is fine", async () => {
    const r = await donjon(["verify", url.snp!, "--steward-ca", caFile, "--crl", crlBase]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /the Steward has not revoked the certificate/);
  });

  const crlRefusals: [string, () => string, string, RegExp][] = [
    [
      "a CRL file (PEM) listing the Keep",
      () => crlFile.revoking!,
      "client.revoked",
      /actual: +revoked: serial [0-9a-f]+, on .*, reason keyCompromise/,
    ],
    [
      "a CRL URL listing the Keep",
      () => `${crlBase}/revoking/api/v1/crl`,
      "client.revoked",
      /actual: +revoked: serial/,
    ],
    ["a stale CRL", () => crlFile.stale!, "client.crl", /actual: +stale: thisUpdate/],
    [
      "another Steward's CRL",
      () => crlFile.foreign!,
      "client.crl",
      /actual: +issued in the CA's name .* but the signature does not verify/,
    ],
    [
      "a file that is not a CRL (the CA certificate)",
      () => caFile,
      "client.crl",
      /actual: +a PEM block labelled CERTIFICATE, not X509 CRL/,
    ],
  ];
  for (const [name, crlArg, c, actual] of crlRefusals) {
    it(`--crl: ${name} → exit 1, ${c}`, async () => {
      const r = await donjon(["verify", url.snp!, "--steward-ca", caFile, "--crl", crlArg()]);
      assert.equal(r.status, 1, r.stderr + r.stdout);
      assert.match(r.stdout, new RegExp(`FAIL ${c.replaceAll(".", "\\.")} \\(client\\.revocation`));
      assert.match(r.stdout, actual);
      assert.match(
        r.stderr,
        new RegExp(`refused: 1 check failed \\(${c.replaceAll(".", "\\.")}\\)`),
      );
    });
  }

  it("--crl URL that cannot be fetched → exit 2 before the Keep is dialled, naming the URL and the reason", async () => {
    const probe = net.createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const closed = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((r) => probe.close(r));
    for (const [u, why] of [
      [
        `${crlBase}/nowhere/api/v1/crl`,
        /: HTTP 404, expected 200 with the CRL \[client\.crl_unavailable\]\n$/,
      ],
      [closed, /\/api\/v1\/crl: cannot connect \(ECONNREFUSED\) \[client\.crl_unavailable\]\n$/],
    ] as const) {
      const r = await donjon(["verify", url.snp!, "--steward-ca", caFile, "--crl", u]);
      assert.equal(r.status, 2, r.stderr + r.stdout);
      assert.match(
        r.stderr,
        new RegExp(
          `^donjon: --crl ${u.replaceAll(".", "\\.").replaceAll("/", "\\/")}: unreachable: GET `,
        ),
      );
      assert.match(r.stderr, why);
      assert.equal(r.stdout, "");
    }
  });

  const usage: [string, () => string[], RegExp][] = [
    [
      "a missing --crl file",
      () => [url.snp!, "--steward-ca", caFile, "--crl", "nope.crl"],
      /--crl file nope\.crl not found/,
    ],
    [
      "a --crl URL that is not http(s)",
      () => [url.snp!, "--steward-ca", caFile, "--crl", "ftp://127.0.0.1/crl"],
      /--crl must be a file or an http\(s\):\/\/ URL/,
    ],
    ["no URL", () => ["--steward-ca", caFile], /missing https:\/\/HOST:PORT/],
    ["a bad URL", () => ["not a url", "--steward-ca", caFile], /expected https:\/\/HOST:PORT/],
    [
      "an http:// URL",
      () => ["http://127.0.0.1:1", "--steward-ca", caFile],
      /expected an https:\/\/ URL/,
    ],
    [
      "a URL with a path",
      () => [`${url.snp}/x`, "--steward-ca", caFile],
      /no path, query or fragment/,
    ],
    ["no --steward-ca", () => [url.snp!], /pass --steward-ca FILE/],
    [
      "a missing --steward-ca file",
      () => [url.snp!, "--steward-ca", "nope.pem"],
      /--steward-ca file nope\.pem not found/,
    ],
    [
      "a --steward-ca file that is not PEM",
      () => [url.snp!, "--steward-ca", file("junk.pem", "junk")],
      /expected PEM text/,
    ],
    [
      "a missing --policy file",
      () => [url.snp!, "--steward-ca", caFile, "--policy", "nope.toml"],
      /--policy file nope\.toml not found/,
    ],
    [
      "a policy file with an unknown key",
      () => [url.snp!, "--steward-ca", caFile, "--policy", file("bad.toml", 'tee = ["snp"]\n')],
      /bad\.toml:1: unknown key "tee"/,
    ],
    [
      "a malformed --workload",
      () => [url.snp!, "--steward-ca", caFile, "--workload", "abc"],
      /--workload must be 64 hex digits/,
    ],
    [
      "a malformed --timeout",
      () => [url.snp!, "--steward-ca", caFile, "--timeout", "10"],
      /--timeout must be a number with a unit/,
    ],
    [
      "an unknown flag",
      () => [url.snp!, "--steward-ca", caFile, "--insecure"],
      /unknown flag --insecure/,
    ],
  ];
  for (const [name, args, message] of usage) {
    it(`usage: ${name} → exit 2`, async () => {
      const r = await donjon(["verify", ...args()]);
      assert.equal(r.status, 2, r.stderr + r.stdout);
      assert.match(r.stderr, message);
      assert.equal(r.stdout, "");
    });
  }

  it("unreachable: nothing listening → exit 2, naming the address", async () => {
    const probe = net.createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const r = await donjon(["verify", `https://127.0.0.1:${port}`, "--steward-ca", caFile]);
    assert.equal(r.status, 2, r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `unreachable: 127\\.0\\.0\\.1:${port}: cannot connect \\(ECONNREFUSED\\) \\[client\\.connect\\]`,
      ),
    );
  });

  it("a peer that does not speak TLS → exit 2, no TLS peer", async () => {
    const plain = net
      .createServer((s) => s.end("HTTP/1.1 400 Bad Request\r\n\r\n"))
      .listen(0, "127.0.0.1");
    await once(plain, "listening");
    const port = (plain.address() as AddressInfo).port;
    const r = await donjon(["verify", `https://127.0.0.1:${port}`, "--steward-ca", caFile]);
    plain.close();
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /: no TLS peer: .*TLS handshake failed.*\[client\.tls\]/);
  });

  it("unreachable: a peer that never completes the handshake → exit 2 after --timeout", async () => {
    const silent = net.createServer(() => {}).listen(0, "127.0.0.1");
    await once(silent, "listening");
    const port = (silent.address() as AddressInfo).port;
    const r = await donjon([
      "verify",
      `https://127.0.0.1:${port}`,
      "--steward-ca",
      caFile,
      "--timeout",
      "300ms",
    ]);
    silent.close();
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /no TLS connection within 300 ms/);
  });

  it("--help and donjon help verify print the usage", async () => {
    const r = await donjon(["verify", "--help"]);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /^Usage: donjon verify \[OPTIONS\] https:\/\/HOST:PORT/);
    const top = await donjon(["--help"]);
    assert.match(top.stdout, /\n {2}verify +Check that a TLS peer is a genuine Keep/);
  });
});
