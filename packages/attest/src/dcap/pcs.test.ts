/**
 * The PCS client against a fake fetch that serves the Phala vectors as Intel
 * PCS and a PCCS would (no network here), and offline bundles recognised by
 * content.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CollateralError } from "../error.ts";
import { failures, runFake } from "./_test_dcap_fakes.ts";
import { DCAP_VECTORS, INTEL_ROOT_DER, vectorFile, vectorQuote } from "./_test_dcap_vectors.ts";
import { createDcapCollateralVerifier } from "./collateral.ts";
import {
  createMemoryPcsCache,
  createPcsClient,
  INTEL_PCS_URL,
  INTEL_ROOT_CA_CRL_URL,
  offlineCollateral,
  pcsBaseUrl,
  pcsPckCrlUrl,
  pcsQeIdentityUrl,
  pcsTcbInfoUrl,
} from "./pcs.ts";

const sgx = DCAP_VECTORS.find((v) => v.id === "sgx/phala-v3-00a067110000" && v.files.length > 1)!;
const tdx = DCAP_VECTORS.find((v) => v.id === "tdx/phala-v4-b0c06f000000")!;
const text = (vec: typeof sgx, f: string) => new TextDecoder().decode(vectorFile(vec, f).data);
const bytes = (vec: typeof sgx, f: string) => vectorFile(vec, f).data;

interface Route {
  status?: number;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

/** A fetch that answers from a table and records every URL asked. */
function fakeFetch(routes: Record<string, Route | (() => Route) | Error>) {
  const asked: string[] = [];
  const fetch = (async (input: string | URL | Request) => {
    const url = String(input);
    asked.push(url);
    const r = routes[url];
    if (r === undefined) return new Response("not here", { status: 404 });
    if (r instanceof Error) throw r;
    const route = typeof r === "function" ? r() : r;
    return new Response(route.body as BodyInit, {
      status: route.status ?? 200,
      headers: route.headers,
    });
  }) as typeof globalThis.fetch;
  return { fetch, asked };
}

const enc = (pem: string) => encodeURIComponent(pem);
const TCB_URL = `${INTEL_PCS_URL}/sgx/certification/v4/tcb?fmspc=00A067110000`;
const noSleep = async () => {};

/** Intel PCS answering for the Phala SGX (processor CA) and TDX (platform CA) vectors. */
function pcsRoutes(base = INTEL_PCS_URL): Record<string, Route> {
  const tcbChain = enc(text(sgx, "derived/tcb_info_issuer_chain.pem"));
  return {
    [`${base}/sgx/certification/v4/tcb?fmspc=00A067110000`]: {
      body: text(sgx, "derived/tcb_info.json"),
      headers: { "TCB-Info-Issuer-Chain": tcbChain },
    },
    [`${base}/tdx/certification/v4/tcb?fmspc=B0C06F000000`]: {
      body: text(tdx, "derived/tcb_info.json"),
      headers: { "SGX-TCB-Info-Issuer-Chain": tcbChain },
    },
    [`${base}/sgx/certification/v4/qe/identity`]: {
      body: text(sgx, "derived/qe_identity.json"),
      headers: { "SGX-Enclave-Identity-Issuer-Chain": tcbChain },
    },
    [`${base}/tdx/certification/v4/qe/identity`]: {
      body: text(tdx, "derived/qe_identity.json"),
      headers: { "SGX-Enclave-Identity-Issuer-Chain": tcbChain },
    },
    [`${base}/sgx/certification/v4/pckcrl?ca=processor&encoding=der`]: {
      body: bytes(sgx, "derived/pck_crl.der"),
      headers: { "SGX-PCK-CRL-Issuer-Chain": enc(text(sgx, "derived/pck_crl_issuer_chain.pem")) },
    },
    [`${base}/sgx/certification/v4/pckcrl?ca=platform&encoding=der`]: {
      body: bytes(tdx, "derived/pck_crl.der"),
      headers: { "SGX-PCK-CRL-Issuer-Chain": enc(text(tdx, "derived/pck_crl_issuer_chain.pem")) },
    },
    [INTEL_ROOT_CA_CRL_URL]: { body: bytes(sgx, "derived/root_ca_crl.der") },
  };
}

describe("URLs", () => {
  it("PCS v4 paths, base URLs with or without /sgx/certification/v4", () => {
    assert.equal(
      pcsTcbInfoUrl("tdx", "b0c06f000000"),
      `${INTEL_PCS_URL}/tdx/certification/v4/tcb?fmspc=B0C06F000000`,
    );
    assert.equal(
      pcsQeIdentityUrl("sgx", "https://pccs:8081/sgx/certification/v4/"),
      "https://pccs:8081/sgx/certification/v4/qe/identity",
    );
    assert.equal(
      pcsPckCrlUrl("platform", "https://pccs:8081"),
      "https://pccs:8081/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
    );
    assert.equal(pcsBaseUrl("https://pccs:8081/tdx/certification/v4"), "https://pccs:8081");
  });
  for (const [name, f] of [
    ["a TEE", () => pcsTcbInfoUrl("snp" as "sgx", "00a067110000")],
    ["an FMSPC", () => pcsTcbInfoUrl("sgx", "00a0")],
    ["a CA", () => pcsPckCrlUrl("root" as "platform")],
  ] as const) {
    it(`refuses a wrong ${name} (options.invalid)`, () =>
      assert.throws(f, { code: "options.invalid" }));
  }
});

describe("client against a fake Intel PCS", () => {
  let t = new Date("2025-07-01T00:00:00Z").getTime();
  const now = () => new Date(t);

  it("fetches SGX collateral that verifies, and the vector's status follows", async () => {
    const { fetch, asked } = fakeFetch(pcsRoutes());
    const client = createPcsClient({ fetch, now, sleep: noSleep });
    const c = await client.collateral("sgx", "00a067110000", "processor");
    assert.equal(asked.length, 4);
    // Warm: the same object (a verifier's per-collateral plan stays warm), no request.
    assert.equal(await client.collateral("sgx", "00A067110000", "processor"), c);
    assert.equal(asked.length, 4);
    const { quote, pck } = vectorQuote(sgx);
    const r = await createDcapCollateralVerifier({ root: INTEL_ROOT_DER }).verify(c, {
      now: sgx.at,
      pckCa: quote.pckChain[1]!,
      pckCaKind: pck.ca,
    });
    assert.deepEqual(failures(r.checks), []);
    // The body is kept as received: the signed text is inside it byte for byte.
    assert.equal(c.tcbInfo, text(sgx, "derived/tcb_info.json"));
  });

  it("TDX TCB Info under the v3 header name, the platform CA's CRL", async () => {
    const { fetch } = fakeFetch(pcsRoutes());
    const client = createPcsClient({ fetch, now, sleep: noSleep });
    const c = await client.collateral("tdx", "B0C06F000000", "platform");
    const r = await createDcapCollateralVerifier({ root: INTEL_ROOT_DER }).verify(c, {
      now: tdx.at,
    });
    assert.deepEqual(failures(r.checks), []);
  });

  it("caches until nextUpdate (at most maxAgeMs), then fetches again; concurrent callers share a request", async () => {
    const { fetch, asked } = fakeFetch(pcsRoutes());
    const cache = createMemoryPcsCache();
    const client = createPcsClient({ fetch, now, cache, maxAgeMs: 365 * 86_400_000 });
    await Promise.all([
      client.tcbInfo("sgx", "00a067110000"),
      client.tcbInfo("sgx", "00a067110000"),
    ]);
    assert.equal(asked.length, 1);
    await client.tcbInfo("sgx", "00a067110000");
    assert.equal(asked.length, 1);
    const before = await client.collateral("sgx", "00a067110000", "processor");
    t = new Date("2025-07-19T10:56:12Z").getTime(); // one second after the TCB Info's nextUpdate
    await client.tcbInfo("sgx", "00a067110000");
    assert.equal(asked.filter((u) => u === TCB_URL).length, 2);
    // A refreshed part makes a new collateral object.
    assert.notEqual(await client.collateral("sgx", "00a067110000", "processor"), before);
    const rootCrls = () => asked.filter((u) => u === INTEL_ROOT_CA_CRL_URL).length;
    const n0 = rootCrls();
    const short = createPcsClient({ fetch, now, maxAgeMs: 1000 });
    await short.rootCaCrl();
    await short.rootCaCrl();
    t += 1001;
    await short.rootCaCrl();
    assert.equal(rootCrls(), n0 + 2);
    t = new Date("2025-07-01T00:00:00Z").getTime();
  });

  it("a PCCS: its own root CA CRL (hex-encoded DER), the base URL trimmed", async () => {
    const base = "https://pccs.example:8081";
    const routes = pcsRoutes(base);
    delete routes[INTEL_ROOT_CA_CRL_URL];
    routes[`${base}/sgx/certification/v4/rootcacrl`] = {
      body: Array.from(bytes(sgx, "derived/root_ca_crl.der"), (b) =>
        b.toString(16).padStart(2, "0"),
      ).join(""),
    };
    const { fetch } = fakeFetch(routes);
    const client = createPcsClient({ fetch, now, baseUrl: `${base}/sgx/certification/v4/` });
    assert.equal(client.baseUrl, base);
    const crl = await client.rootCaCrl();
    assert.deepEqual(crl.der, bytes(sgx, "derived/root_ca_crl.der"));
    assert.deepEqual(crl.issuerChain, []);
  });

  const chain = enc(text(sgx, "derived/tcb_info_issuer_chain.pem"));
  const TCB = `${INTEL_PCS_URL}/sgx/certification/v4/tcb?fmspc=00A067110000`;
  const errors: [string, Route | Error, string, RegExp][] = [
    ["a network failure", new Error("ECONNREFUSED"), "dcap.pcs.network", /could not reach/],
    ["HTTP 404", { status: 404 }, "dcap.pcs.not_found", /HTTP 404/],
    ["HTTP 429", { status: 429 }, "dcap.pcs.rate_limited", /HTTP 429/],
    ["HTTP 500", { status: 500, body: "oops" }, "dcap.pcs.http", /HTTP 500/],
    [
      "no issuer chain header",
      { body: text(sgx, "derived/tcb_info.json") },
      "dcap.pcs.bad_response",
      /no TCB-Info-Issuer-Chain/,
    ],
    [
      "a header that is not URL-encoded",
      {
        body: text(sgx, "derived/tcb_info.json"),
        headers: { "TCB-Info-Issuer-Chain": "%E0%A4%A" },
      },
      "dcap.pcs.bad_response",
      /not URL-encoded PEM/,
    ],
    [
      "a header that is not PEM certificates",
      {
        body: text(sgx, "derived/tcb_info.json"),
        headers: {
          "TCB-Info-Issuer-Chain": enc("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----"),
        },
      },
      "dcap.pcs.bad_response",
      /PEM X509 CRL block/,
    ],
    [
      "an empty body",
      { body: "", headers: { "TCB-Info-Issuer-Chain": chain } },
      "dcap.pcs.bad_response",
      /empty/,
    ],
    [
      "a body too large (declared)",
      { body: "{}", headers: { "TCB-Info-Issuer-Chain": chain, "content-length": "2000000" } },
      "dcap.pcs.bad_response",
      /more than/,
    ],
    [
      "a body too large",
      { body: "x".repeat(1024 * 1024 + 1), headers: { "TCB-Info-Issuer-Chain": chain } },
      "dcap.pcs.bad_response",
      /more than/,
    ],
    [
      "not UTF-8",
      { body: Uint8Array.of(0x7b, 0xff), headers: { "TCB-Info-Issuer-Chain": chain } },
      "dcap.pcs.bad_response",
      /not UTF-8/,
    ],
    [
      "malformed JSON",
      { body: "{", headers: { "TCB-Info-Issuer-Chain": chain } },
      "dcap.pcs.bad_response",
      /malformed/,
    ],
    [
      "TCB Info for another FMSPC",
      {
        body: text(DCAP_VECTORS[3]!, "tcbinfov2.json"),
        headers: { "TCB-Info-Issuer-Chain": chain },
      },
      "dcap.pcs.bad_response",
      /FMSPC 00606a000000/,
    ],
  ];
  for (const [name, route, code, message] of errors) {
    it(`TCB Info: ${name} → ${code}`, async () => {
      const { fetch } = fakeFetch({ [TCB]: route });
      const client = createPcsClient({ fetch, now, sleep: noSleep });
      await assert.rejects(client.tcbInfo("sgx", "00a067110000"), (e: unknown) => {
        assert.ok(e instanceof CollateralError);
        assert.equal(e.code, code);
        assert.match(e.message, message);
        assert.equal(e.url, TCB);
        return true;
      });
    });
  }

  it("TDX TCB Info asked, SGX TCB Info served → bad_response", async () => {
    const r = pcsRoutes();
    const { fetch } = fakeFetch({
      [`${INTEL_PCS_URL}/tdx/certification/v4/tcb?fmspc=00A067110000`]: r[TCB]!,
    });
    await assert.rejects(
      createPcsClient({ fetch, now, sleep: noSleep }).tcbInfo("tdx", "00A067110000"),
      /TCB Info id SGX/,
    );
  });

  it("QE Identity of the other TEE → bad_response", async () => {
    const r = pcsRoutes();
    const { fetch } = fakeFetch({
      [`${INTEL_PCS_URL}/tdx/certification/v4/qe/identity`]:
        r[`${INTEL_PCS_URL}/sgx/certification/v4/qe/identity`]!,
    });
    await assert.rejects(createPcsClient({ fetch, now, sleep: noSleep }).qeIdentity("tdx"), {
      code: "dcap.pcs.bad_response",
    });
  });

  it("a PCK CRL of the other CA, a malformed CRL → bad_response", async () => {
    const r = pcsRoutes();
    const platform = `${INTEL_PCS_URL}/sgx/certification/v4/pckcrl?ca=platform&encoding=der`;
    const { fetch } = fakeFetch({
      [platform]: r[`${INTEL_PCS_URL}/sgx/certification/v4/pckcrl?ca=processor&encoding=der`]!,
      [INTEL_ROOT_CA_CRL_URL]: { body: Uint8Array.of(0x30, 0x00) },
    });
    const client = createPcsClient({ fetch, now, sleep: noSleep });
    await assert.rejects(client.pckCrl("platform"), /issued by "CN=Intel SGX PCK Processor CA/);
    await assert.rejects(client.rootCaCrl(), { code: "dcap.pcs.bad_response" });
  });

  it("retries 429 and 503 (Retry-After seconds, else exponential backoff), then answers", async () => {
    const r = pcsRoutes();
    const QE = `${INTEL_PCS_URL}/sgx/certification/v4/qe/identity`;
    const answers: Route[] = [
      { status: 429, headers: { "retry-after": "3" } },
      { status: 503 },
      r[QE]!,
    ];
    const { fetch, asked } = fakeFetch({ [QE]: () => answers.shift()! });
    const waits: number[] = [];
    const client = createPcsClient({
      fetch,
      now,
      sleep: async (ms) => void waits.push(ms),
      baseDelayMs: 100,
    });
    const qe = await client.qeIdentity("sgx");
    assert.match(qe.body, /"enclaveIdentity"/);
    assert.equal(asked.length, 3);
    assert.deepEqual(waits, [3000, 200]);
  });

  it("gives up after maxRetries, or at once when Retry-After asks for more than maxDelayMs", async () => {
    const QE = `${INTEL_PCS_URL}/sgx/certification/v4/qe/identity`;
    const always = fakeFetch({ [QE]: { status: 503 } });
    await assert.rejects(
      createPcsClient({ fetch: always.fetch, now, sleep: noSleep, maxRetries: 3 }).qeIdentity(
        "sgx",
      ),
      (e: unknown) =>
        e instanceof CollateralError &&
        e.code === "dcap.pcs.http" &&
        e.attempts === 4 &&
        /4 times/.test(e.message),
    );
    const slow = fakeFetch({ [QE]: { status: 429, headers: { "retry-after": "120" } } });
    await assert.rejects(
      createPcsClient({ fetch: slow.fetch, now, sleep: noSleep }).qeIdentity("sgx"),
      (e: unknown) =>
        e instanceof CollateralError &&
        e.code === "dcap.pcs.rate_limited" &&
        /retry after 120 s/.test(e.message),
    );
    assert.equal(slow.asked.length, 1);
    const down = fakeFetch({ [QE]: new Error("ECONNRESET") });
    await assert.rejects(
      createPcsClient({ fetch: down.fetch, now, sleep: noSleep }).qeIdentity("sgx"),
      (e: unknown) =>
        e instanceof CollateralError && e.code === "dcap.pcs.network" && e.attempts === 3,
    );
    // Aborted: no retry.
    const ac = new AbortController();
    ac.abort();
    const aborted = fakeFetch({ [QE]: new Error("aborted") });
    await assert.rejects(
      createPcsClient({ fetch: aborted.fetch, now, sleep: noSleep, signal: ac.signal }).qeIdentity(
        "sgx",
      ),
      (e: unknown) => e instanceof CollateralError && e.attempts === 1,
    );
  });

  it("the default sleep really waits", async () => {
    const QE = `${INTEL_PCS_URL}/sgx/certification/v4/qe/identity`;
    const { fetch } = fakeFetch({ [QE]: { status: 503 } });
    const t0 = performance.now();
    await assert.rejects(
      createPcsClient({ fetch, now, maxRetries: 1, baseDelayMs: 20 }).qeIdentity("sgx"),
    );
    assert.ok(performance.now() - t0 >= 15);
  });

  it("passes the abort signal to fetch", async () => {
    let seen: AbortSignal | undefined;
    const signal = new AbortController().signal;
    const fetch = (async (_u: string, init?: RequestInit) => {
      seen = init?.signal ?? undefined;
      return new Response("x", { status: 503 });
    }) as typeof globalThis.fetch;
    await assert.rejects(
      createPcsClient({ fetch, now, signal, sleep: noSleep }).qeIdentity("sgx"),
      {
        code: "dcap.pcs.http",
      },
    );
    assert.equal(seen, signal);
  });
});

describe("offlineCollateral: files recognised by content", () => {
  it("the Phala bundle and the same collateral as separate files give the same collateral", () => {
    const bundle = offlineCollateral([
      vectorFile(sgx, "../phala-v3-00a067110000/sgx_quote_collateral.json"),
    ]);
    const split = offlineCollateral(sgx.files.map((f) => vectorFile(sgx, f)));
    assert.deepEqual(split.rootCaCrl, bundle.rootCaCrl);
    assert.deepEqual(split.pckCrl, bundle.pckCrl);
    assert.deepEqual(split.tcbInfoIssuerChain, bundle.tcbInfoIssuerChain);
    assert.deepEqual(split.pckCrlIssuerChain, bundle.pckCrlIssuerChain);
    assert.ok(
      bundle.tcbInfo?.includes(
        JSON.parse(text(sgx, "../phala-v3-00a067110000/sgx_quote_collateral.json")).tcb_info,
      ),
    );
  });

  it("CRLs in PEM and hex, a chain repeated, an identical file twice", () => {
    const der = bytes(sgx, "derived/root_ca_crl.der");
    const pem = `-----BEGIN X509 CRL-----\n${btoa(String.fromCharCode(...der))}\n-----END X509 CRL-----\n`;
    const hex = Array.from(der, (b) => b.toString(16).padStart(2, "0")).join("");
    const c = offlineCollateral([
      new TextEncoder().encode(pem),
      { name: "hex", data: new TextEncoder().encode(`${hex}\n`) },
      vectorFile(sgx, "derived/tcb_info_issuer_chain.pem"),
      vectorFile(sgx, "derived/qe_identity_issuer_chain.pem"),
      vectorFile(sgx, "derived/tcb_info.json"),
      vectorFile(sgx, "derived/tcb_info.json"),
      {
        name: "root only",
        data: new TextEncoder().encode(
          `${text(sgx, "derived/tcb_info_issuer_chain.pem")
            .split("-----END CERTIFICATE-----")[1]!
            .trim()}\n-----END CERTIFICATE-----\n`,
        ),
      },
    ]);
    assert.deepEqual(c.rootCaCrl, der);
    assert.equal(c.pckCrl, null);
    assert.equal(c.qeIdentity, null);
  });

  it("a bundle with only some members leaves the others null", () => {
    const full = JSON.parse(text(sgx, "../phala-v3-00a067110000/sgx_quote_collateral.json"));
    const c = offlineCollateral([
      new TextEncoder().encode(
        JSON.stringify({ tcb_info: full.tcb_info, tcb_info_signature: full.tcb_info_signature }),
      ),
    ]);
    assert.ok(c.tcbInfo);
    assert.equal(c.qeIdentity, null);
    assert.equal(c.tcbInfoIssuerChain, null);
    assert.equal(c.rootCaCrl, null);
  });

  it("a CRL without nextUpdate is cached for maxAgeMs", async () => {
    const r = await runFake({ collateral: { pckCrl: { nextUpdate: null } } });
    const url = `${INTEL_PCS_URL}/sgx/certification/v4/pckcrl?ca=platform&encoding=der`;
    const { fetch, asked } = fakeFetch({
      [url]: { body: r.fake.collateral.pckCrl, headers: { "SGX-PCK-CRL-Issuer-Chain": "" } },
    });
    let t = 0;
    const client = createPcsClient({ fetch, now: () => new Date(t), maxAgeMs: 10 });
    await assert.rejects(
      client.pckCrl("platform"),
      /PEM: a BEGIN line without a matching END line|issuer chain/,
    );
    const pem = r.fake.collateral.pckCrlIssuerChain
      .map(
        (d) =>
          `-----BEGIN CERTIFICATE-----\n${btoa(String.fromCharCode(...d))}\n-----END CERTIFICATE-----\n`,
      )
      .join("");
    const ok = fakeFetch({
      [url]: { body: r.fake.collateral.pckCrl, headers: { "SGX-PCK-CRL-Issuer-Chain": enc(pem) } },
    });
    const c2 = createPcsClient({ fetch: ok.fetch, now: () => new Date(t), maxAgeMs: 10 });
    await c2.pckCrl("platform");
    t = 5;
    await c2.pckCrl("platform");
    t = 11;
    await c2.pckCrl("platform");
    assert.equal(ok.asked.length, 2);
    assert.equal(asked.length, 1);
  });

  it("a chain whose leaf has no CN, a CRL whose issuer has no CN", async () => {
    const r = await runFake({
      collateral: {
        signing: { subject: "O=Intel Corporation, C=US" },
        rootCrl: { issuer: "O=Nobody" },
      },
    });
    const pem = `-----BEGIN CERTIFICATE-----\n${btoa(String.fromCharCode(...r.fake.tcbSigning))}\n-----END CERTIFICATE-----\n`;
    assert.throws(() => offlineCollateral([new TextEncoder().encode(pem)]), /leaf is ""/);
    assert.throws(
      () => offlineCollateral([r.fake.collateral.rootCaCrl]),
      /issued by "O=Nobody", not by an Intel SGX CA/,
    );
  });

  it("fake collateral files round-trip", async () => {
    const r = await runFake();
    const f = r.fake.collateral;
    const pem = (der: Uint8Array) =>
      `-----BEGIN CERTIFICATE-----\n${btoa(String.fromCharCode(...der))}\n-----END CERTIFICATE-----\n`;
    const c = offlineCollateral([
      new TextEncoder().encode(f.tcbInfo),
      new TextEncoder().encode(f.qeIdentity),
      new TextEncoder().encode(f.tcbInfoIssuerChain.map(pem).join("")),
      new TextEncoder().encode(f.pckCrlIssuerChain.map(pem).join("")),
      f.rootCaCrl,
      f.pckCrl,
    ]);
    assert.deepEqual(c, f);
  });

  const utf8 = (s: string) => new TextEncoder().encode(s);
  const table: [string, Uint8Array[], RegExp][] = [
    ["an empty file", [new Uint8Array(0)], /empty/],
    ["a huge file", [new Uint8Array(1024 * 1024 + 1)], /more than/],
    ["garbage", [utf8("hello")], /neither JSON, PEM, DER nor hex/],
    ["JSON of another kind", [utf8('{"hello":1}')], /neither TCB Info/],
    ["invalid JSON", [utf8('{"tcb_info":')], /invalid JSON/],
    [
      "a bundle member that is unknown",
      [utf8('{"tcb_info":"{}","extra":"x"}')],
      /bundle member "extra" is unknown/,
    ],
    ["a bundle member that is not a string", [utf8('{"tcb_info":{}}')], /not a string/],
    ["a bundle TCB Info without signature", [utf8('{"tcb_info":"{}"}')], /without a hex signature/],
    [
      "a bundle QE Identity with a bad signature",
      [utf8('{"qe_identity":"{}","qe_identity_signature":"zz"}')],
      /without a hex signature/,
    ],
    [
      "a CRL of someone else",
      [bytes(DCAP_VECTORS[0]!, "../../snp/milan-v2-steward-crl/derived/crl_milan.der")],
      /not by an Intel SGX CA/,
    ],
    ["a malformed DER CRL", [Uint8Array.of(0x30, 0x00)], /CRL/],
    [
      "a PEM private key",
      [utf8("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")],
      /PEM PRIVATE KEY block/,
    ],
    ["bad PEM", [utf8("-----BEGIN CERTIFICATE-----\nAAAA")], /BEGIN line without a matching END/],
    [
      "a chain whose leaf is a PCK certificate",
      [
        utf8(
          `-----BEGIN CERTIFICATE-----\n${btoa(String.fromCharCode(...vectorQuote(sgx).quote.pckChain[0]!))}\n-----END CERTIFICATE-----\n`,
        ),
      ],
      /leaf is "Intel SGX PCK Certificate"/,
    ],
    [
      "two different TCB Infos",
      [bytes(sgx, "derived/tcb_info.json"), bytes(tdx, "derived/tcb_info.json")],
      /a second, different TCB Info/,
    ],
    [
      "two different root CA CRLs",
      [bytes(sgx, "derived/root_ca_crl.der"), bytes(DCAP_VECTORS[3]!, "intel_root_ca_crl.der")],
      /a second, different root CA CRL/,
    ],
  ];
  for (const [name, files, message] of table) {
    it(`refuses ${name} (dcap.collateral.malformed)`, () => {
      assert.throws(
        () => offlineCollateral(files.map((data, i) => ({ name: `f${i}`, data }))),
        (e: unknown) =>
          e instanceof CollateralError &&
          e.code === "dcap.collateral.malformed" &&
          message.test(e.message) &&
          /collateral file f\d/.test(e.message),
      );
    });
  }
});
