/**
 * The KDS client against a real HTTP server on 127.0.0.1 that plays the AMD KDS,
 * serving the real certificates and CRLs from ../shared/vectors. Each vector's
 * VCEK is served under the URL built from the chip id and REPORTED_TCB read
 * straight from its report bytes (LAYOUTS.md §1), so a wrong URL is a 404.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { after, before, beforeEach, describe, it } from "node:test";
import { CollateralError, OptionsError } from "../error.ts";
import { decodePem, hex } from "./_amdcerts.ts";
import {
  createKdsClient,
  createMemoryKdsCache,
  type KdsClientOptions,
  type KdsTcb,
  kdsVcekUrl,
  parseRetryAfter,
} from "./kds.ts";
import type { SnpProduct } from "./types.ts";

const VECTORS = path.join(import.meta.dirname, "../../../../../shared/vectors");
const SNP = path.join(VECTORS, "snp");
const ROOTS = path.join(VECTORS, "roots/amd");

const read = (p: string) => new Uint8Array(fs.readFileSync(p));
const pemToDer = (p: string) => decodePem(read(p))[0]!.der;

/** CHIP_ID at 0x1A0 (64 bytes) and REPORTED_TCB at 0x180, per product layout (LAYOUTS.md §1). */
function reportIdentity(report: Uint8Array, product: SnpProduct) {
  const chipId = report.slice(0x1a0, 0x1e0);
  const t = report.subarray(0x180, 0x188);
  const tcb: KdsTcb =
    product === "Turin"
      ? { fmc: t[0]!, bootloader: t[1]!, tee: t[2]!, snp: t[3]!, microcode: t[7]! }
      : { bootloader: t[0]!, tee: t[1]!, snp: t[6]!, microcode: t[7]! };
  return { chipId, tcb };
}

/** Every vector with a report and its VCEK. */
const VCEK_VECTORS: {
  name: string;
  product: SnpProduct;
  report: string;
  vcek: () => Uint8Array;
}[] = [
  {
    name: "milan-v2-gsg",
    product: "Milan",
    report: "attestation.bin",
    vcek: () => read(path.join(SNP, "milan-v2-gsg/vcek.testcer")),
  },
  {
    name: "milan-v2-virtee",
    product: "Milan",
    report: "derived/report.bin",
    vcek: () => read(path.join(SNP, "milan-v2-virtee/vcek_milan.der")),
  },
  {
    name: "milan-v2-steward-crl",
    product: "Milan",
    report: "derived/report.bin",
    vcek: () => read(path.join(SNP, "milan-v2-steward-crl/derived/vcek.der")),
  },
  {
    name: "milan-v5-gcp-teekit",
    product: "Milan",
    report: "sev-gcp.bin",
    vcek: () => pemToDer(path.join(SNP, "milan-v5-gcp-teekit/sev-gcp-vcek.pem")),
  },
  {
    name: "genoa-v3-azure-trustee",
    product: "Genoa",
    report: "derived/report.bin",
    vcek: () => pemToDer(path.join(SNP, "genoa-v3-azure-trustee/vcek-genoa.pem")),
  },
  {
    name: "genoa-v3-siena-trustee-e2e",
    product: "Genoa",
    report: "derived/report.bin",
    vcek: () => read(path.join(SNP, "genoa-v3-siena-trustee-e2e/derived/vcek.der")),
  },
  {
    name: "turin-v5-oak",
    product: "Turin",
    report: "derived/report.bin",
    vcek: () => read(path.join(SNP, "turin-v5-oak/derived/vcek.der")),
  },
];

// ---------------------------------------------------------------------------
// The fake KDS

interface Scripted {
  status: number;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

const routes = new Map<string, Uint8Array | string>();
/** Answers served, in order, before the route's real content (per path+query). */
const script = new Map<string, Scripted[]>();
const requests: string[] = [];
let server: http.Server;
let base: string;

const CHAIN_FILES: Record<SnpProduct, { vcek: string; vlek: string }> = {
  Milan: { vcek: "ask_ark_milan.pem", vlek: "ask_ark_milan_vlek.pem" },
  Genoa: { vcek: "ask_ark_genoa.pem", vlek: "ask_ark_genoa_vlek.pem" },
  Turin: { vcek: "ask_ark_turin_vcek.pem", vlek: "ask_ark_turin_vlek.pem" },
};

function pathOf(url: string): string {
  const u = new URL(url);
  return u.pathname + u.search;
}

before(async () => {
  server = http.createServer((req, res) => {
    const key = req.url ?? "";
    requests.push(key);
    const queued = script.get(key);
    const next = queued?.shift();
    if (next) {
      res.writeHead(next.status, next.headers ?? {});
      res.end(next.body ?? "");
      return;
    }
    const body = routes.get(key);
    if (body === undefined) {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("Not Found");
      return;
    }
    res.writeHead(200, { "content-type": "application/octet-stream" });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  for (const v of VCEK_VECTORS) {
    const { chipId, tcb } = reportIdentity(read(path.join(SNP, v.name, v.report)), v.product);
    routes.set(pathOf(kdsVcekUrl(v.product, chipId, tcb, base)), v.vcek());
  }
  for (const p of ["Milan", "Genoa", "Turin"] as const) {
    for (const kind of ["vcek", "vlek"] as const) {
      routes.set(
        `/${kind}/v1/${p}/cert_chain`,
        fs.readFileSync(path.join(ROOTS, CHAIN_FILES[p][kind]), "utf8"),
      );
    }
  }
  routes.set(
    "/vcek/v1/Milan/crl",
    read(path.join(SNP, "milan-v2-steward-crl/derived/crl_milan.der")),
  );
  routes.set(
    "/vcek/v1/Genoa/crl",
    read(path.join(SNP, "milan-v2-steward-crl/derived/crl_genoa.der")),
  );
});

after(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  requests.length = 0;
  script.clear();
});

/** A client on the fake KDS with a settable clock and a sleep that records its delays. */
function client(extra: Partial<KdsClientOptions> = {}) {
  const clock = { t: new Date("2023-01-01T00:00:00Z") };
  const sleeps: number[] = [];
  const kds = createKdsClient({
    fetch: globalThis.fetch,
    now: () => clock.t,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    baseUrl: base,
    ...extra,
  });
  return { kds, clock, sleeps };
}

async function rejects(
  p: Promise<unknown>,
  code: string,
  message?: RegExp,
): Promise<CollateralError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof CollateralError, `expected CollateralError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return e;
  }
  assert.fail(`expected ${code}, got success`);
}

const milan = () => {
  const v = VCEK_VECTORS[1]!; // milan-v2-virtee: bl=3 tee=0 snp=8 ucode=115
  return { v, ...reportIdentity(read(path.join(SNP, v.name, v.report)), v.product) };
};

// ---------------------------------------------------------------------------

describe("URLs", () => {
  it("builds the VCEK URL of publication 57230 (64-byte hwid; Turin: 8 bytes and fmcSPL)", () => {
    const chip = new Uint8Array(64).fill(0xab);
    assert.equal(
      kdsVcekUrl("Milan", chip, { bootloader: 3, tee: 0, snp: 8, microcode: 115 }),
      `https://kdsintf.amd.com/vcek/v1/Milan/${"ab".repeat(64)}?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115`,
    );
    const turin = new Uint8Array(64);
    turin.fill(0xcd, 0, 8);
    assert.equal(
      kdsVcekUrl(
        "Turin",
        turin,
        { fmc: 1, bootloader: 2, tee: 3, snp: 4, microcode: 5 },
        "https://kds.example/",
      ),
      "https://kds.example/vcek/v1/Turin/cdcdcdcdcdcdcdcd?blSPL=2&teeSPL=3&snpSPL=4&ucodeSPL=5&fmcSPL=1",
    );
  });

  const tcb = { bootloader: 1, tee: 1, snp: 1, microcode: 1 };
  const table: [string, () => unknown][] = [
    ["short chip id", () => kdsVcekUrl("Milan", new Uint8Array(8).fill(1), tcb)],
    ["all-zero chip id (masked / VLEK)", () => kdsVcekUrl("Milan", new Uint8Array(64), tcb)],
    [
      "Turin chip id with bytes past 8",
      () => kdsVcekUrl("Turin", new Uint8Array(64).fill(1), { ...tcb, fmc: 1 }),
    ],
    ["Turin without fmc", () => kdsVcekUrl("Turin", new Uint8Array(8).fill(1), tcb)],
    ["fmc on Milan", () => kdsVcekUrl("Milan", new Uint8Array(64).fill(1), { ...tcb, fmc: 1 })],
    ["SPL above 255", () => kdsVcekUrl("Milan", new Uint8Array(64).fill(1), { ...tcb, snp: 256 })],
    ["unknown product", () => kdsVcekUrl("Siena" as SnpProduct, new Uint8Array(64).fill(1), tcb)],
  ];
  for (const [name, f] of table) {
    it(`refuses ${name}`, () => {
      assert.throws(f, (e: unknown) => e instanceof OptionsError && e.code === "options.invalid");
    });
  }
});

describe("fetching from the fake KDS", () => {
  for (const v of VCEK_VECTORS) {
    it(`fetches the VCEK of ${v.name} by the chip id and TCB in its report`, async () => {
      const { kds } = client();
      const { chipId, tcb } = reportIdentity(read(path.join(SNP, v.name, v.report)), v.product);
      const der = await kds.vcek(v.product, chipId, tcb);
      assert.deepEqual(der, v.vcek());
      assert.deepEqual(requests, [pathOf(kdsVcekUrl(v.product, chipId, tcb, base))]);
      if (v.product === "Turin")
        assert.match(requests[0]!, /^\/vcek\/v1\/Turin\/[0-9a-f]{16}\?.*&fmcSPL=\d+$/);
    });
  }

  for (const p of ["Milan", "Genoa", "Turin"] as const) {
    for (const kind of ["vcek", "vlek"] as const) {
      it(`fetches the ${p} ${kind} chain and tells ARK from ${kind === "vcek" ? "ASK" : "ASVK"} by subject`, async () => {
        const { kds } = client();
        const chain = await kds.certChain(p, kind);
        const blocks = decodePem(read(path.join(ROOTS, CHAIN_FILES[p][kind])));
        // The files list the ASK first and the ARK second.
        assert.deepEqual(chain.ask, blocks[0]!.der);
        assert.deepEqual(chain.ark, blocks[1]!.der);
        assert.deepEqual(requests, [`/${kind}/v1/${p}/cert_chain`]);
      });
    }
  }

  it("finds ARK and ASK whatever their order", async () => {
    const blocks = fs
      .readFileSync(path.join(ROOTS, "ask_ark_milan.pem"), "utf8")
      .split(/(?<=-----END CERTIFICATE-----\n)/);
    script.set("/vcek/v1/Milan/cert_chain", [{ status: 200, body: blocks[1]! + blocks[0]! }]);
    const { kds } = client();
    const chain = await kds.certChain("Milan", "vcek");
    assert.deepEqual(chain.ark, decodePem(read(path.join(ROOTS, "ask_ark_milan.pem")))[1]!.der);
  });

  it("fetches the Milan and Genoa CRLs", async () => {
    const { kds } = client();
    assert.deepEqual(
      await kds.crl("Milan", "vcek"),
      read(path.join(SNP, "milan-v2-steward-crl/derived/crl_milan.der")),
    );
    assert.deepEqual(
      await kds.crl("Genoa", "vcek"),
      read(path.join(SNP, "milan-v2-steward-crl/derived/crl_genoa.der")),
    );
    assert.deepEqual(requests, ["/vcek/v1/Milan/crl", "/vcek/v1/Genoa/crl"]);
  });
});

describe("retry", () => {
  it("retries 429 honouring Retry-After in seconds, then succeeds", async () => {
    const { v, chipId, tcb } = milan();
    const url = pathOf(kdsVcekUrl("Milan", chipId, tcb, base));
    script.set(url, [
      { status: 429, headers: { "retry-after": "3" } },
      { status: 429, headers: { "retry-after": "7" } },
    ]);
    const { kds, sleeps } = client();
    assert.deepEqual(await kds.vcek("Milan", chipId, tcb), v.vcek());
    assert.deepEqual(requests, [url, url, url]);
    assert.deepEqual(sleeps, [3000, 7000]);
  });

  it("honours Retry-After as an HTTP date, judged at the injected time", async () => {
    script.set("/vcek/v1/Milan/crl", [
      { status: 429, headers: { "retry-after": "Sun, 01 Jan 2023 00:00:05 GMT" } },
    ]);
    const { kds, sleeps } = client();
    await kds.crl("Milan", "vcek");
    assert.deepEqual(sleeps, [5000]);
  });

  it("backs off exponentially without Retry-After, on 429 and 503", async () => {
    script.set("/vcek/v1/Milan/crl", [{ status: 503 }, { status: 429 }, { status: 503 }]);
    const { kds, sleeps } = client({ baseDelayMs: 250 });
    await kds.crl("Milan", "vcek");
    assert.deepEqual(sleeps, [250, 500, 1000]);
    assert.equal(requests.length, 4);
  });

  it("caps the backoff at maxDelayMs", async () => {
    script.set("/vcek/v1/Milan/crl", [{ status: 503 }, { status: 503 }, { status: 503 }]);
    const { kds, sleeps } = client({ baseDelayMs: 1000, maxDelayMs: 1500 });
    await kds.crl("Milan", "vcek");
    assert.deepEqual(sleeps, [1000, 1500, 1500]);
  });

  it("gives up after maxRetries with snp.kds.rate_limited and the attempt count", async () => {
    script.set(
      "/vcek/v1/Milan/crl",
      Array.from({ length: 5 }, () => ({ status: 429, headers: { "retry-after": "1" } })),
    );
    const { kds, sleeps } = client({ maxRetries: 2 });
    const e = await rejects(
      kds.crl("Milan", "vcek"),
      "snp.kds.rate_limited",
      /HTTP 429 .* 3 times/,
    );
    assert.equal(e.attempts, 3);
    assert.equal(e.status, 429);
    assert.deepEqual(sleeps, [1000, 1000]);
    assert.equal(requests.length, 3);
  });

  it("fails at once when Retry-After asks for longer than maxDelayMs", async () => {
    script.set("/vcek/v1/Milan/crl", [{ status: 429, headers: { "retry-after": "3600" } }]);
    const { kds, sleeps } = client();
    await rejects(kds.crl("Milan", "vcek"), "snp.kds.rate_limited", /retry after 3600 s/);
    assert.deepEqual(sleeps, []);
    assert.equal(requests.length, 1);
  });

  it("retries a network failure, then reports snp.kds.network", async () => {
    let calls = 0;
    const failing: typeof fetch = async () => {
      calls++;
      throw new TypeError("fetch failed");
    };
    const { kds, sleeps } = client({ fetch: failing, maxRetries: 2, baseDelayMs: 10 });
    const e = await rejects(kds.crl("Milan", "vcek"), "snp.kds.network", /after 3 attempt/);
    assert.equal(calls, 3);
    assert.deepEqual(sleeps, [10, 20]);
    assert.ok(e.cause instanceof TypeError);
  });

  it("does not retry 404 or 500", async () => {
    const { kds, sleeps } = client();
    await rejects(
      kds.crl("Turin", "vcek"),
      "snp.kds.not_found",
      /no VCEK CRL for Turin \(HTTP 404/,
    );
    script.set("/vcek/v1/Milan/crl", [{ status: 500, body: "oops" }]);
    const e = await rejects(kds.crl("Milan", "vcek"), "snp.kds.http", /HTTP 500/);
    assert.equal(e.status, 500);
    assert.deepEqual(sleeps, []);
    assert.equal(requests.length, 2);
  });

  it("names the chip and TCB when the KDS has no such VCEK", async () => {
    const { chipId, tcb } = milan();
    const { kds } = client();
    const e = await rejects(
      kds.vcek("Milan", chipId, { ...tcb, microcode: 1 }),
      "snp.kds.not_found",
      new RegExp(`no VCEK for Milan chip 0x${hex(chipId)} at TCB bl=3 tee=0 snp=8 ucode=1`),
    );
    assert.match(e.url!, /ucodeSPL=1$/);
  });
});

describe("validation of answers", () => {
  const { chipId, tcb } = milan();
  const vcekUrl = () => pathOf(kdsVcekUrl("Milan", chipId, tcb, base));
  const cases: [string, () => [string, Scripted], () => Promise<unknown>, RegExp][] = [
    [
      "a garbage VCEK",
      () => [vcekUrl(), { status: 200, body: "<html>maintenance</html>" }],
      () => client().kds.vcek("Milan", chipId, tcb),
      /malformed/,
    ],
    [
      "a truncated VCEK",
      () => [vcekUrl(), { status: 200, body: milan().v.vcek().slice(0, 700) }],
      () => client().kds.vcek("Milan", chipId, tcb),
      /malformed.*claims/,
    ],
    [
      "an empty body",
      () => [vcekUrl(), { status: 200 }],
      () => client().kds.vcek("Milan", chipId, tcb),
      /empty/,
    ],
    [
      "an oversized body",
      () => [vcekUrl(), { status: 200, body: new Uint8Array(20_000).fill(0x30) }],
      () => client().kds.vcek("Milan", chipId, tcb),
      /more than the 16384 allowed/,
    ],
    [
      "another chip's VCEK",
      () => [vcekUrl(), { status: 200, body: VCEK_VECTORS[0]!.vcek() }],
      () => client().kds.vcek("Milan", chipId, tcb),
      /not the VCEK .*hwID, TCB/,
    ],
    [
      "a CRL instead of a VCEK",
      () => [
        vcekUrl(),
        { status: 200, body: read(path.join(SNP, "milan-v2-steward-crl/derived/crl_milan.der")) },
      ],
      () => client().kds.vcek("Milan", chipId, tcb),
      /not a certificate/,
    ],
    [
      "a Genoa chain for Milan",
      () => [
        "/vcek/v1/Milan/cert_chain",
        { status: 200, body: read(path.join(ROOTS, "ask_ark_genoa.pem")) },
      ],
      () => client().kds.certChain("Milan", "vcek"),
      /ARK is for Genoa/,
    ],
    [
      "a VCEK chain for VLEK",
      () => [
        "/vlek/v1/Milan/cert_chain",
        { status: 200, body: read(path.join(ROOTS, "ask_ark_milan.pem")) },
      ],
      () => client().kds.certChain("Milan", "vlek"),
      /no ASVK/,
    ],
    [
      "one certificate for a chain",
      () => [
        "/vcek/v1/Milan/cert_chain",
        { status: 200, body: read(path.join(SNP, "milan-v2-virtee/ark.pem")) },
      ],
      () => client().kds.certChain("Milan", "vcek"),
      /expected two PEM certificates/,
    ],
    [
      "a chain with bad base64",
      () => [
        "/vcek/v1/Milan/cert_chain",
        { status: 200, body: "-----BEGIN CERTIFICATE-----\nMII*\n-----END CERTIFICATE-----\n" },
      ],
      () => client().kds.certChain("Milan", "vcek"),
      /outside base64/,
    ],
    [
      "the Genoa CRL for Milan",
      () => [
        "/vcek/v1/Milan/crl",
        { status: 200, body: read(path.join(SNP, "milan-v2-steward-crl/derived/crl_genoa.der")) },
      ],
      () => client().kds.crl("Milan", "vcek"),
      /not ARK-Milan/,
    ],
    [
      "a certificate for a CRL",
      () => ["/vcek/v1/Milan/crl", { status: 200, body: milan().v.vcek() }],
      () => client().kds.crl("Milan", "vcek"),
      /not a CRL/,
    ],
  ];
  for (const [name, serve, call, message] of cases) {
    it(`rejects ${name} with snp.kds.bad_response`, async () => {
      const [url, answer] = serve();
      script.set(url, [answer]);
      await rejects(call(), "snp.kds.bad_response", message);
    });
  }
});

describe("cache", () => {
  it("answers a second call from the cache", async () => {
    const { chipId, tcb } = milan();
    const { kds } = client();
    const a = await kds.vcek("Milan", chipId, tcb);
    const b = await kds.vcek("Milan", chipId, tcb);
    await kds.certChain("Milan", "vcek");
    await kds.certChain("Milan", "vcek");
    await kds.crl("Milan", "vcek");
    await kds.crl("Milan", "vcek");
    assert.deepEqual(a, b);
    assert.equal(requests.length, 3);
  });

  it("keys VCEKs by TCB: another TCB is another request", async () => {
    const { chipId, tcb } = milan();
    const { kds } = client();
    await kds.vcek("Milan", chipId, tcb);
    await rejects(kds.vcek("Milan", chipId, { ...tcb, snp: 9 }), "snp.kds.not_found");
    assert.equal(requests.length, 2);
  });

  it("shares one request between concurrent callers", async () => {
    const { kds } = client();
    await Promise.all([
      kds.crl("Milan", "vcek"),
      kds.crl("Milan", "vcek"),
      kds.crl("Milan", "vcek"),
    ]);
    assert.equal(requests.length, 1);
  });

  it("refetches a CRL once the injected clock passes its nextUpdate", async () => {
    const { kds, clock } = client({ crlMaxAgeMs: 10 * 365 * 86_400_000 });
    await kds.crl("Milan", "vcek");
    clock.t = new Date("2023-05-09T22:59:59Z"); // nextUpdate is 2023-05-09T23:00:00Z
    await kds.crl("Milan", "vcek");
    assert.equal(requests.length, 1);
    clock.t = new Date("2023-05-09T23:00:01Z");
    await kds.crl("Milan", "vcek");
    assert.equal(requests.length, 2);
  });

  it("caps the life of a cached CRL at crlMaxAgeMs", async () => {
    const { kds, clock } = client({ crlMaxAgeMs: 60_000 });
    await kds.crl("Milan", "vcek");
    clock.t = new Date(clock.t.getTime() + 59_000);
    await kds.crl("Milan", "vcek");
    clock.t = new Date(clock.t.getTime() + 2_000);
    await kds.crl("Milan", "vcek");
    assert.equal(requests.length, 2);
  });

  it("keeps certificates until notAfter when that comes before the cap", async () => {
    const { chipId, tcb } = milan(); // VCEK notAfter 2030-04-03T19:23:43Z
    const { kds, clock } = client({ certificateMaxAgeMs: 100 * 365 * 86_400_000 });
    await kds.vcek("Milan", chipId, tcb);
    clock.t = new Date("2030-04-03T19:23:42Z");
    await kds.vcek("Milan", chipId, tcb);
    assert.equal(requests.length, 1);
    clock.t = new Date("2030-04-03T19:23:44Z");
    await kds.vcek("Milan", chipId, tcb);
    assert.equal(requests.length, 2);
  });

  it("uses a plugged cache, keyed by product, chip and TCB", async () => {
    const { chipId, tcb } = milan();
    const cache = createMemoryKdsCache();
    await client({ cache }).kds.vcek("Milan", chipId, tcb);
    const key = `vcek/Milan/${hex(chipId)}/bl=3 tee=0 snp=8 ucode=115`;
    assert.ok(await cache.get(key));
    // A second client sharing the cache makes no request.
    await client({ cache }).kds.vcek("Milan", chipId, tcb);
    assert.equal(requests.length, 1);
  });

  it("the memory cache drops the least recently used entry", () => {
    const cache = createMemoryKdsCache({ maxEntries: 2 });
    const e = { ders: [new Uint8Array(1)], expiresAt: 0 };
    cache.set("a", e);
    cache.set("b", e);
    cache.get("a");
    cache.set("c", e);
    assert.ok(cache.get("a"));
    assert.equal(cache.get("b"), undefined);
    assert.ok(cache.get("c"));
    assert.throws(() => createMemoryKdsCache({ maxEntries: 0 }), RangeError);
  });
});

describe("parseRetryAfter", () => {
  const now = new Date("2023-01-01T00:00:00Z");
  const table: [string | null, number | null][] = [
    [null, null],
    ["0", 0],
    ["120", 120_000],
    ["Sun, 01 Jan 2023 00:01:00 GMT", 60_000],
    ["Sat, 31 Dec 2022 23:00:00 GMT", 0],
    ["-5", null],
    ["soon", null],
    ["1.5", null],
  ];
  for (const [value, want] of table) {
    it(`${JSON.stringify(value)} → ${want}`, () => assert.equal(parseRetryAfter(value, now), want));
  }
});
