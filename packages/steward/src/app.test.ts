/**
 * The Steward's HTTP API through `fastify.inject()`, with the real decision,
 * CA and SQLite store (in memory), and sandbox Keeps' CSRs built as a Keep builds them.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Readable, Writable } from "node:stream";
import { afterEach, describe, it } from "node:test";
import type { SnpRootSet } from "@donjon/attest";
import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import {
  intelCsr,
  sandboxCsr,
  sandboxPolicy,
  sandboxPolicyText,
  snpCsr,
  type TestKey,
  testKey,
} from "./_app_fixtures.ts";
import * as x509 from "./_x509.ts";
import { authenticate, CHAIN_MEDIA_TYPE, ROUTES, stewardApp } from "./app.ts";
import { type Ca, createCa, decodeKeepClaims } from "./ca.ts";
import { buildCsr } from "./csr.ts";
import { type DecideContext, decide } from "./decide.ts";
import { encodeEvidenceExtension, OID_CMW } from "./evidence_ext.ts";
import { createMetrics, type StewardMetrics } from "./metrics.ts";
import { defaultPolicy, parsePolicy, type StewardPolicy } from "./policy.ts";
import { openStore, type Store } from "./store.ts";

const NOW = new Date("2026-11-27T12:00:00Z");
const TOKEN = "admin-token-0123456789abcdef-0123456789";
const TOKEN2 = "second-admin-token-0123456789abcdef-xyz";

interface Harness {
  app: FastifyInstance;
  ca: Ca;
  store: Store;
  host: TestKey;
  metrics: StewardMetrics;
  logs: string[];
  policy(): StewardPolicy;
  written: string[];
}

const open: Harness[] = [];

async function harness(
  options: {
    bodyTimeoutMs?: number;
    body?: number;
    tokens?: string[];
    now?: Date;
    snpRoots?: SnpRootSet[];
    dcap?: DecideContext["dcap"];
  } = {},
): Promise<Harness> {
  const { ca } = await createCa({ now: NOW });
  const store = await openStore("sqlite::memory:");
  const host = await testKey();
  let policy = sandboxPolicy(host);
  const written: string[] = [];
  const metrics = await createMetrics();
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      logs.push(String(chunk));
      cb();
    },
  });
  const app = Fastify({ loggerInstance: pino({ level: "info" }, sink) });
  await app.register(stewardApp, {
    ca,
    store,
    getPolicy: () => policy,
    setPolicy: (p, text) => {
      policy = p;
      written.push(text);
    },
    parsePolicy: (text) => parsePolicy(text, "(upload)"),
    decide: (csr, ctx) =>
      decide(csr, {
        ...ctx,
        ...(options.snpRoots ? { snp: { roots: options.snpRoots } } : {}),
        ...(options.dcap ? { dcap: options.dcap } : {}),
      }),
    now: () => options.now ?? NOW,
    adminTokens: options.tokens ?? [TOKEN, TOKEN2],
    limits: { body: options.body ?? 256 * 1024, bodyTimeoutMs: options.bodyTimeoutMs ?? 300 },
    metrics,
    version: "9.9.9",
  });
  await app.ready();
  const h: Harness = {
    app: app as unknown as FastifyInstance,
    ca,
    store,
    host,
    metrics,
    logs,
    policy: () => policy,
    written,
  };
  open.push(h);
  return h;
}

afterEach(async () => {
  for (const h of open.splice(0)) {
    await h.app.close();
    await h.store.close();
  }
});

const attest = (h: Harness, der: Uint8Array, type = "application/pkcs10") =>
  h.app.inject({
    method: "POST",
    url: "/api/v1/attest",
    headers: { "content-type": type },
    payload: Buffer.from(der),
  });

const admin = (token = TOKEN) => ({ authorization: `Bearer ${token}` });

function problemOf(res: { headers: Record<string, unknown>; body: string }) {
  assert.match(String(res.headers["content-type"]), /^application\/problem\+json/);
  return JSON.parse(res.body) as {
    type: string;
    title: string;
    status: number;
    detail: string;
    code?: string;
    checks?: { code: string; expected: string; actual: string; remedy: string }[];
  };
}

describe("POST /api/v1/attest", () => {
  it("issues: a chain of the Keep's certificate and the CA's; claims recorded; audit log and store agree", async () => {
    const h = await harness();
    const { der, identity, keep } = await sandboxCsr({ host: h.host, now: NOW });
    const res = await attest(h, der);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers["content-type"], CHAIN_MEDIA_TYPE);
    const pems = res.body.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----\n/g)!;
    assert.equal(pems.length, 2);
    assert.equal(pems[1], h.ca.certPem);
    const leaf = new x509.X509Certificate(pems[0]!);
    assert.ok(await leaf.verify({ publicKey: h.ca.cert.publicKey, signatureOnly: true }));
    assert.deepEqual(new Uint8Array(leaf.publicKey.rawData), keep.spki);
    assert.equal(leaf.notAfter.getTime() - NOW.getTime(), 3_600_000);
    const claims = decodeKeepClaims(leaf)!;
    assert.equal(claims.tee, "sandbox");
    assert.equal(claims.tier, "software");
    assert.equal(claims.workload, identity);
    assert.equal(claims.measurement, "5a".repeat(48));
    assert.equal(claims.tcbStatus, "none");
    assert.match(claims.evidenceSha256, /^[0-9a-f]{64}$/);
    const san = leaf.getExtension(x509.SubjectAlternativeNameExtension)!;
    assert.deepEqual(
      san.names.items.map((n) => n.value),
      ["keep.example"],
    );

    const serial = leaf.serialNumber.toLowerCase();
    const [d] = await h.store.listDecisions({ limit: 10 });
    assert.equal(d!.verdict, "issued");
    assert.equal(d!.serial, serial);
    assert.equal(d!.evidenceHash, claims.evidenceSha256);
    assert.equal(d!.workloadIdentity, identity);
    const stored = await h.store.getCertificate(serial);
    assert.equal(stored!.pem, pems[0]);
    assert.equal(stored!.revokedAt, null);
  });

  it("refuses the same Keep under the default policy: 403 with every failed check, software tier among them", async () => {
    const h = await harness();
    const { der } = await sandboxCsr({ host: h.host, now: NOW });
    await h.app.inject({
      method: "POST",
      url: "/api/v1/admin/policy",
      headers: { ...admin(), "content-type": "application/toml" },
      payload: "",
    });
    const res = await attest(h, der);
    assert.equal(res.statusCode, 403);
    const p = problemOf(res);
    assert.equal(p.status, 403);
    assert.equal(p.type, "https://donjon.dev/problems/attestation-refused");
    const codes = p.checks!.map((c) => c.code);
    assert.ok(codes.includes("sandbox.policy.software_tier"), codes.join());
    for (const c of p.checks!) {
      assert.ok(c.expected && c.actual && c.remedy, JSON.stringify(c));
    }
    const [d] = await h.store.listDecisions({ limit: 1 });
    assert.equal(d!.verdict, "refused");
    assert.deepEqual(
      d!.failedChecks.map((c) => c.code),
      codes,
    );
  });

  it("a fake SEV-SNP Keep: issued by the default policy as hardware with its TCB; refused when its measurement is denied", async () => {
    const { der, identity, fake } = await snpCsr();
    const h = await harness({ now: fake.now, snpRoots: fake.roots });
    await h.app.inject({
      method: "POST",
      url: "/api/v1/admin/policy",
      headers: { ...admin(), "content-type": "application/toml" },
      payload: "",
    });
    const res = await attest(h, der);
    assert.equal(res.statusCode, 200, res.body);
    const leaf = new x509.X509Certificate(res.body.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
    const claims = decodeKeepClaims(leaf)!;
    assert.equal(claims.tee, "snp");
    assert.equal(claims.tier, "hardware");
    assert.equal(claims.workload, identity);
    assert.equal(claims.tcbStatus, "not-checked");
    assert.match(claims.tcb!, /^[0-9a-f]{16}$/);
    assert.match(claims.measurement, /^[0-9a-f]{96}$/);
    assert.equal(leaf.notAfter.getTime() - fake.now.getTime(), 24 * 3_600_000);
    // The CRL warning is logged, not refused.
    assert.match(h.logs.join(""), /"warnings":\["snp\.verify\.crl_unavailable"\]/);

    await h.app.inject({
      method: "POST",
      url: "/api/v1/admin/policy",
      headers: { ...admin(), "content-type": "application/toml" },
      payload: `[snp]\ndenied_measurements = ["${claims.measurement}"]\n`,
    });
    const refused = await attest(h, der);
    assert.equal(refused.statusCode, 403);
    assert.deepEqual(
      problemOf(refused).checks!.map((c) => c.code),
      ["policy.measurement_denied"],
    );
  });

  for (const tee of ["tdx", "sgx"] as const) {
    it(`a fake ${tee.toUpperCase()} Keep: issued with Intel's TCB status in its certificate; refused when debug, or when the Steward has no collateral`, async () => {
      const { der, identity, intel, dcap } = await intelCsr(tee);
      const h = await harness({ now: intel.now, dcap });
      await h.app.inject({
        method: "POST",
        url: "/api/v1/admin/policy",
        headers: { ...admin(), "content-type": "application/toml" },
        payload: "",
      });
      const res = await attest(h, der);
      assert.equal(res.statusCode, 200, res.body);
      const leaf = new x509.X509Certificate(res.body.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!);
      const claims = decodeKeepClaims(leaf)!;
      assert.equal(claims.tee, tee);
      assert.equal(claims.tier, "hardware");
      assert.equal(claims.workload, identity);
      assert.equal(claims.tcbStatus, "UpToDate");
      assert.match(claims.tcb!, tee === "tdx" ? /^[0-9a-f]{68}$/ : /^[0-9a-f]{36}$/);
      assert.match(claims.measurement, tee === "tdx" ? /^[0-9a-f]{96}$/ : /^[0-9a-f]{64}$/);
      const decisions = await h.store.listDecisions({ limit: 1 });
      assert.equal(decisions[0]!.tee, tee);
      assert.equal(decisions[0]!.verdict, "issued");

      const debug = await intelCsr(tee, { debug: true });
      const refused = await attest(await harness({ now: intel.now, dcap: debug.dcap }), debug.der);
      assert.equal(refused.statusCode, 403);
      assert.deepEqual(
        problemOf(refused).checks!.map((c) => c.code),
        ["dcap.policy.debug"],
      );

      const unconfigured = await attest(await harness({ now: intel.now }), der);
      assert.equal(unconfigured.statusCode, 403);
      assert.deepEqual(
        problemOf(unconfigured).checks!.map((c) => c.code),
        ["config.dcap"],
      );
    });
  }

  it("refuses a CSR whose key is not the one report_data binds, with a binding code", async () => {
    const h = await harness();
    const other = await testKey();
    const { der } = await sandboxCsr({ host: h.host, now: NOW, bindTo: other.spki });
    const res = await attest(h, der);
    assert.equal(res.statusCode, 403);
    const codes = problemOf(res).checks!.map((c) => c.code);
    assert.ok(
      codes.some((c) => c.startsWith("binding.")),
      codes.join(),
    );
  });

  /** Hostile requests: each is answered with its status and code, recorded, and the next Keep is served. */
  const hostile: [string, (host: TestKey) => Promise<Uint8Array>, number, string][] = [
    ["not a CSR", async () => new TextEncoder().encode("hello"), 400, "csr.der"],
    ["an empty body", async () => new Uint8Array(0), 400, "csr.size"],
    [
      "a bad CSR signature",
      async (host) => {
        const der = Uint8Array.from((await sandboxCsr({ host, now: NOW })).der);
        der[der.length - 5]! ^= 1;
        return der;
      },
      400,
      "csr.signature",
    ],
    [
      "no evidence extension",
      async () => buildCsr({ keys: (await testKey()).pair }),
      400,
      "csr.evidence.missing",
    ],
    [
      "two evidence extensions",
      async () => {
        const value = encodeEvidenceExtension(new TextEncoder().encode("{}"));
        return buildCsr({
          keys: (await testKey()).pair,
          extensions: [
            { oid: OID_CMW, value },
            { oid: OID_CMW, value },
          ],
        });
      },
      400,
      "csr.evidence.duplicate",
    ],
    [
      "an unknown evidence type",
      async (host) =>
        (
          await sandboxCsr({
            host,
            now: NOW,
            mutateWrapper: (j) =>
              j.replace("application/vnd.donjon.sandbox-evidence", "application/vnd.example.tee"),
          })
        ).der,
      400,
      "cmw.media_type",
    ],
  ];
  for (const [name, body, status, code] of hostile) {
    it(`${name}: ${status} ${code}, recorded as malformed, and the server keeps serving`, async () => {
      const h = await harness();
      const res = await attest(h, await body(h.host));
      assert.equal(res.statusCode, status, res.body);
      const p = problemOf(res);
      assert.equal(p.code, code);
      assert.equal(p.type, "https://donjon.dev/problems/malformed-request");
      assert.ok(p.detail.length > 0);
      const [d] = await h.store.listDecisions({ limit: 1 });
      assert.equal(d!.verdict, "malformed");
      assert.equal(d!.failedChecks[0]!.code, code);
      assert.equal(d!.tee, "unknown");
      const { der } = await sandboxCsr({ host: h.host, now: NOW });
      assert.equal((await attest(h, der)).statusCode, 200);
    });
  }

  it("a body over the limit is 413 whether Content-Length says so or the stream grows past it", async () => {
    const h = await harness({ body: 2048 });
    const declared = await attest(h, new Uint8Array(4096));
    assert.equal(declared.statusCode, 413);
    assert.equal(problemOf(declared).type, "https://donjon.dev/problems/request-too-large");
    assert.equal(declared.headers.connection, "close");
    const streamed = await h.app.inject({
      method: "POST",
      url: "/api/v1/attest",
      headers: { "content-type": "application/pkcs10" },
      payload: Readable.from([Buffer.alloc(1500), Buffer.alloc(1500)]),
    });
    assert.equal(streamed.statusCode, 413);
    assert.equal(JSON.parse(streamed.body).limit, 2048);
    // Nothing is recorded for a request that was never read.
    assert.deepEqual(await h.store.listDecisions({ limit: 5 }), []);
  });

  it("a body that stalls past body_timeout is 408, and the server keeps serving", async () => {
    const h = await harness({ bodyTimeoutMs: 100 });
    const stalled = new Readable({ read() {} });
    stalled.push(Buffer.from([0x30, 0x82]));
    const t0 = Date.now();
    const res = await h.app.inject({
      method: "POST",
      url: "/api/v1/attest",
      headers: { "content-type": "application/pkcs10" },
      payload: stalled,
    });
    assert.equal(res.statusCode, 408);
    assert.equal(problemOf(res).type, "https://donjon.dev/problems/request-timeout");
    assert.ok(Date.now() - t0 >= 90);
    stalled.destroy();
    const { der } = await sandboxCsr({ host: h.host, now: NOW });
    assert.equal((await attest(h, der)).statusCode, 200);
  });

  it("when the audit log cannot record, the answer is 500 without details and no certificate leaves", async () => {
    const h = await harness();
    const { der } = await sandboxCsr({ host: h.host, now: NOW });
    const record = h.store.recordDecision.bind(h.store);
    h.store.recordDecision = async () => {
      throw new Error("disk full at /var/lib/secret/path");
    };
    const res = await attest(h, der);
    assert.equal(res.statusCode, 500);
    const p = problemOf(res);
    assert.equal(p.type, "https://donjon.dev/problems/internal-error");
    assert.doesNotMatch(res.body, /disk full|secret|BEGIN/);
    assert.match(h.logs.join(""), /disk full/);
    h.store.recordDecision = record;
    const text = (await h.app.inject({ method: "GET", url: "/metrics" })).body;
    assert.match(text, /^steward_attestations_total\{verdict="error"\} 1$/m);
  });

  it("another Content-Type is 415 problem+json", async () => {
    const h = await harness();
    const res = await attest(h, new Uint8Array([1, 2, 3]), "application/octet-stream");
    assert.equal(res.statusCode, 415);
    assert.equal(problemOf(res).status, 415);
    const bare = await h.app.inject({ method: "POST", url: "/api/v1/attest" });
    assert.equal(bare.statusCode, 415);
    assert.match(problemOf(bare).detail, /application\/pkcs10/);
  });

  it("logs the hash, verdict, codes and serial — never the evidence, a key, a certificate or a token", async () => {
    const h = await harness();
    const { der } = await sandboxCsr({ host: h.host, now: NOW });
    await attest(h, der);
    await h.app.inject({
      method: "GET",
      url: "/api/v1/admin/attestations",
      headers: admin(),
    });
    const text = h.logs.join("");
    assert.match(text, /"msg":"attestation issued"/);
    assert.match(text, /"evidenceHash":"[0-9a-f]{64}"/);
    assert.match(text, /"serial":"[0-9a-f]{32}"/);
    assert.doesNotMatch(text, /BEGIN|PRIVATE/);
    assert.doesNotMatch(text, new RegExp(TOKEN));
    // No long base64 or hex runs beyond the 64-digit hashes: no evidence, keys or CSR.
    assert.doesNotMatch(text, /[A-Za-z0-9+/_-]{120,}/);
  });
});

describe("GET /api/v1/ca and /api/v1/crl, POST /api/v1/admin/revoke", () => {
  it("the CA certificate as PEM", async () => {
    const h = await harness();
    const res = await h.app.inject({ method: "GET", url: "/api/v1/ca" });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, h.ca.certPem);
  });

  it("revoke needs an admin token; a revoked serial is in the CRL; an unknown one is 404", async () => {
    const h = await harness();
    const { der } = await sandboxCsr({ host: h.host, now: NOW });
    const leaf = new x509.X509Certificate(
      (await attest(h, der)).body.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!,
    );
    const serial = leaf.serialNumber.toLowerCase();
    const revoke = (headers: Record<string, string>, payload: unknown) =>
      h.app.inject({
        method: "POST",
        url: "/api/v1/admin/revoke",
        headers,
        payload: payload as object,
      });

    const none = await revoke({}, { serial });
    assert.equal(none.statusCode, 401);
    assert.equal(none.headers["www-authenticate"], 'Bearer realm="donjon-steward"');
    assert.equal(problemOf(none).status, 401);
    assert.equal((await revoke(admin("x".repeat(40)), { serial })).statusCode, 401);
    assert.equal((await revoke({ authorization: `Basic ${TOKEN}` }, { serial })).statusCode, 401);

    const ok = await revoke(admin(TOKEN2), {
      serial: serial.toUpperCase(),
      reason: "keyCompromise",
    });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.deepEqual(JSON.parse(ok.body), {
      serial,
      reason: "keyCompromise",
      revokedAt: NOW.toISOString(),
    });
    assert.match(h.logs.join(""), /"actor":"token #2"/);

    const crlRes = await h.app.inject({ method: "GET", url: "/api/v1/crl" });
    assert.equal(crlRes.statusCode, 200);
    assert.equal(crlRes.headers["content-type"], "application/pkix-crl");
    const list = new x509.X509Crl(new Uint8Array(crlRes.rawPayload));
    assert.ok(await list.verify({ publicKey: h.ca.cert.publicKey }));
    assert.equal(list.entries.length, 1);
    assert.equal(list.entries[0]!.serialNumber.toLowerCase(), serial);
    assert.equal(list.entries[0]!.reason, x509.X509CrlReason.keyCompromise);

    // Queryable by serial, by anyone: valid before, revoked after.
    const byId = await h.app.inject({
      method: "GET",
      url: `/api/v1/certificates/${serial.toUpperCase()}`,
    });
    assert.equal(byId.statusCode, 200, byId.body);
    const got = JSON.parse(byId.body);
    assert.equal(got.serial, serial);
    assert.equal(got.status, "revoked");
    assert.equal(got.revocationReason, "keyCompromise");
    assert.equal(got.tee, "sandbox");
    assert.equal(new x509.X509Certificate(got.pem).serialNumber.toLowerCase(), serial);
    const missing = await h.app.inject({ method: "GET", url: "/api/v1/certificates/0abc" });
    assert.equal(missing.statusCode, 404);
    assert.equal(problemOf(missing).status, 404);
    const notHex = await h.app.inject({ method: "GET", url: "/api/v1/certificates/xyz" });
    assert.equal(notHex.statusCode, 400);

    const unknown = await revoke(admin(), { serial: "0abc" });
    assert.equal(unknown.statusCode, 404);
    for (const bad of [
      { serial: "xyz" },
      { serial, reason: "because" },
      { serial, extra: 1 },
      {},
    ]) {
      const r = await revoke(admin(), bad);
      assert.equal(r.statusCode, 400, JSON.stringify(bad));
      assert.equal(problemOf(r).type, "https://donjon.dev/problems/invalid-request");
    }
    const notJson = await h.app.inject({
      method: "POST",
      url: "/api/v1/admin/revoke",
      headers: { ...admin(), "content-type": "application/json" },
      payload: "{nope",
    });
    assert.equal(notJson.statusCode, 400);
  });

  it("with no [admin] tokens the admin API is off and says so", async () => {
    const h = await harness({ tokens: [] });
    const res = await h.app.inject({
      method: "GET",
      url: "/api/v1/admin/attestations",
      headers: admin(),
    });
    assert.equal(res.statusCode, 401);
    assert.match(problemOf(res).detail, /no \[admin\] tokens/);
  });
});

describe("POST /api/v1/admin/policy", () => {
  it("an invalid policy is 400 naming the line, and the policy in force stays", async () => {
    const h = await harness();
    const before = h.policy();
    const res = await h.app.inject({
      method: "POST",
      url: "/api/v1/admin/policy",
      headers: { ...admin(), "content-type": "application/toml" },
      payload: "[sandbox]\nallow = true\nbogus = 1\n",
    });
    assert.equal(res.statusCode, 400);
    const p = problemOf(res);
    assert.equal(p.code, "steward.policy");
    assert.match(p.detail, /bogus/);
    assert.match(p.detail, /3/);
    assert.equal(h.policy(), before);
    assert.deepEqual(await h.store.listPolicyChanges({ limit: 5 }), []);
  });

  it("a valid policy is swapped in, handed to setPolicy for the file, and audited", async () => {
    const h = await harness();
    const text = "# hardware only\n";
    const res = await h.app.inject({
      method: "POST",
      url: "/api/v1/admin/policy",
      headers: { ...admin(), "content-type": "application/toml" },
      payload: text,
    });
    assert.equal(res.statusCode, 200, res.body);
    const body = JSON.parse(res.body);
    assert.match(body.sha256, /^[0-9a-f]{64}$/);
    assert.deepEqual(h.policy(), defaultPolicy());
    assert.deepEqual(h.written, [text]);
    const [change] = await h.store.listPolicyChanges({ limit: 1 });
    assert.equal(change!.text, text);
    assert.equal(change!.actor, "token #1");
    assert.equal(change!.sha256, body.sha256);
    // And back: the sandbox policy as text.
    const again = await h.app.inject({
      method: "POST",
      url: "/api/v1/admin/policy",
      headers: { ...admin(), "content-type": "text/plain" },
      payload: sandboxPolicyText(h.host),
    });
    assert.equal(again.statusCode, 200);
    assert.equal(h.policy().sandbox.allow, true);
  });

  it("a JSON body is refused with 415", async () => {
    const h = await harness();
    const res = await h.app.inject({
      method: "POST",
      url: "/api/v1/admin/policy",
      headers: admin(),
      payload: { sandbox: {} },
    });
    assert.equal(res.statusCode, 415);
  });
});

describe("GET /api/v1/admin/attestations", () => {
  it("newest first, in pages", async () => {
    const h = await harness();
    for (let i = 0; i < 3; i++) await attest(h, new TextEncoder().encode(`junk ${i}`));
    const { der } = await sandboxCsr({ host: h.host, now: NOW });
    await attest(h, der);
    const page = async (q: string) => {
      const r = await h.app.inject({
        method: "GET",
        url: `/api/v1/admin/attestations${q}`,
        headers: admin(),
      });
      assert.equal(r.statusCode, 200, r.body);
      return JSON.parse(r.body) as {
        decisions: { id: number; verdict: string; time: string }[];
        next: number | null;
      };
    };
    const one = await page("?limit=3");
    assert.deepEqual(
      one.decisions.map((d) => d.verdict),
      ["issued", "malformed", "malformed"],
    );
    assert.equal(one.decisions[0]!.time, NOW.toISOString());
    assert.equal(one.next, one.decisions[2]!.id);
    const two = await page(`?limit=3&before=${one.next}`);
    assert.equal(two.decisions.length, 1);
    assert.equal(two.next, null);
    const all = await page("");
    assert.equal(all.decisions.length, 4);
    for (const q of ["?limit=0", "?limit=501", "?before=x", "?other=1"]) {
      const r = await h.app.inject({
        method: "GET",
        url: `/api/v1/admin/attestations${q}`,
        headers: admin(),
      });
      assert.equal(r.statusCode, 400, q);
    }
  });
});

describe("operations", () => {
  it("/healthz; /readyz follows the store", async () => {
    const h = await harness();
    assert.deepEqual((await h.app.inject({ method: "GET", url: "/healthz" })).json(), {
      status: "ok",
    });
    assert.deepEqual((await h.app.inject({ method: "GET", url: "/readyz" })).json(), {
      status: "ready",
    });
    await h.store.close();
    const res = await h.app.inject({ method: "GET", url: "/readyz" });
    assert.equal(res.statusCode, 503);
    assert.equal(problemOf(res).status, 503);
  });

  it("/metrics: requests, verdicts, refusal codes and latency, in this app's registry only", async () => {
    const h = await harness();
    const other = await harness();
    const { der } = await sandboxCsr({ host: h.host, now: NOW });
    await attest(h, der);
    await attest(h, new Uint8Array([1]));
    const text = (await h.app.inject({ method: "GET", url: "/metrics" })).body;
    assert.match(text, /^steward_attestations_total\{verdict="issued"\} 1$/m);
    assert.match(text, /^steward_attestations_total\{verdict="malformed"\} 1$/m);
    assert.match(text, /^steward_attestation_refusals_total\{code="csr\.der"\} 1$/m);
    assert.match(
      text,
      /^steward_http_requests_total\{method="POST",route="\/api\/v1\/attest",status="200"\} 1$/m,
    );
    assert.match(text, /^steward_attestation_duration_seconds_count\{verdict="issued"\} 1$/m);
    assert.match(
      text,
      /^steward_http_request_duration_seconds_bucket\{le="\+Inf",method="POST",route="\/api\/v1\/attest"\} 2$/m,
    );
    const otherText = (await other.app.inject({ method: "GET", url: "/metrics" })).body;
    assert.doesNotMatch(otherText, /steward_attestations_total\{/);
  });

  it("an unknown route is a 404 problem, counted under route=unmatched", async () => {
    const h = await harness();
    const res = await h.app.inject({ method: "GET", url: "/nope?x=1" });
    assert.equal(res.statusCode, 404);
    assert.equal(problemOf(res).detail, "no route GET /nope");
    const text = (await h.app.inject({ method: "GET", url: "/metrics" })).body;
    assert.match(text, /route="unmatched",status="404"/);
  });

  it("/api/v1/openapi.json describes every route the app serves", async () => {
    const h = await harness();
    const doc = (await h.app.inject({ method: "GET", url: "/api/v1/openapi.json" })).json() as {
      openapi: string;
      info: { version: string };
      paths: Record<
        string,
        Record<string, { responses: Record<string, unknown>; security?: unknown }>
      >;
    };
    assert.equal(doc.openapi, "3.1.0");
    assert.equal(doc.info.version, "9.9.9");
    for (const r of ROUTES) {
      const op = doc.paths[r.path]?.[r.method.toLowerCase()];
      assert.ok(op, `${r.method} ${r.path}`);
      assert.equal(op.security !== undefined, r.admin === true);
      // Each documented route exists: it answers something other than the 404 problem.
      assert.ok(
        // OpenAPI writes a path parameter as {name}, Fastify as :name.
        h.app.hasRoute({ method: r.method, url: r.path.replace(/\{(\w+)\}/g, ":$1") }),
        `${r.method} ${r.path} is served`,
      );
    }
    assert.ok(doc.paths["/api/v1/attest"]!.post!.responses["403"]);
  });
});

describe("authenticate", () => {
  it("names the matching token by position, or null", () => {
    const digest = (t: string) => createHash("sha256").update(t).digest();
    const tokens = [digest(TOKEN), digest(TOKEN2)];
    assert.equal(authenticate(`Bearer ${TOKEN}`, tokens), "token #1");
    assert.equal(authenticate(`Bearer ${TOKEN2}`, tokens), "token #2");
    for (const h of [
      undefined,
      "",
      "Bearer",
      `Bearer  ${TOKEN}`,
      `bearer ${TOKEN}`,
      `Bearer ${TOKEN}x`,
    ]) {
      assert.equal(authenticate(h, tokens), null, String(h));
    }
    assert.equal(authenticate("Bearer ", [digest("")]), null);
    assert.equal(authenticate(`Bearer ${TOKEN}`, []), null);
  });
});
