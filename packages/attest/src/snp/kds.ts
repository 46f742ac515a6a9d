/**
 * AMD Key Distribution Service (KDS) client: VCEK certificates by chip and TCB,
 * the ASK/ASVK + ARK chains and the CRLs, per AMD publication 57230 "Versioned
 * Chip Endorsement Key (VCEK) Certificate and KDS Interface Specification":
 *
 *   GET {base}/vcek/v1/{product}/{hwid}?blSPL=&teeSPL=&snpSPL=&ucodeSPL=[&fmcSPL=]  → VCEK (DER)
 *   GET {base}/{vcek|vlek}/v1/{product}/cert_chain                                 → ASK|ASVK + ARK (PEM)
 *   GET {base}/{vcek|vlek}/v1/{product}/crl                                        → CRL (DER)
 *
 * fetch, the clock and sleep are injected (this package runs in browsers too).
 * Responses are validated (size, structure, that they are the certificate asked
 * for) and cached until they expire; HTTP 429 and 503 are retried with
 * exponential backoff, honouring Retry-After.
 */

import { CollateralError, OptionsError } from "../error.ts";
import {
  amdCertInfo,
  DecodeError,
  decodePem,
  hex,
  looksLikePem,
  parseCertificate,
  parseCrl,
} from "./_amdcerts.ts";
import type { SnpProduct } from "./types.ts";

/** Which key hierarchy: VCEK (per chip) or VLEK (per cloud provider). */
export type KdsKeyKind = "vcek" | "vlek";

/** The TCB a VCEK is issued for (a report's REPORTED_TCB). `fmc` is required on Turin only. */
export interface KdsTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc?: number | null;
}

/** An AMD signing chain, DER-encoded. `ask` is the ASVK for a VLEK chain. */
export interface AmdCertChain {
  ark: Uint8Array;
  ask: Uint8Array;
}

/**
 * Where SNP collateral comes from: the online KDS client and the offline
 * bundle both implement it, so the verifier does not care which it has.
 */
export interface SnpCollateralSource {
  /** The VCEK (DER) for a chip at a TCB. `chipId` is the report's CHIP_ID (64 bytes; 8 or 64 on Turin). */
  vcek(product: SnpProduct, chipId: Uint8Array, tcb: KdsTcb): Promise<Uint8Array>;
  /** The ARK and the ASK (kind `vcek`) or ASVK (kind `vlek`) of a product. */
  certChain(product: SnpProduct, kind: KdsKeyKind): Promise<AmdCertChain>;
  /** The CRL (DER) AMD publishes for a product's VCEK or VLEK hierarchy. */
  crl(product: SnpProduct, kind: KdsKeyKind): Promise<Uint8Array>;
}

// ---------------------------------------------------------------------------
// URLs

/** The public AMD KDS. */
export const AMD_KDS_URL = "https://kdsintf.amd.com";

const PRODUCTS: readonly SnpProduct[] = ["Milan", "Genoa", "Turin"];

function checkProduct(product: SnpProduct): void {
  if (!PRODUCTS.includes(product)) {
    throw new OptionsError(
      "options.invalid",
      `unknown product ${JSON.stringify(product)}: expected Milan, Genoa or Turin`,
    );
  }
}

/** The hwID path segment: CHIP_ID in lowercase hex; its first 8 bytes on Turin (the rest must be zero). */
export function kdsHwid(product: SnpProduct, chipId: Uint8Array): string {
  if (product === "Turin") {
    if (chipId.length !== 8 && chipId.length !== 64) {
      throw new OptionsError(
        "options.invalid",
        `expected an 8- or 64-byte Turin chip id, got ${chipId.length} bytes`,
      );
    }
    if (chipId.subarray(8).some((x) => x !== 0)) {
      throw new OptionsError(
        "options.invalid",
        "a Turin chip id has 8 significant bytes; bytes 8-63 must be zero",
      );
    }
  } else if (chipId.length !== 64) {
    throw new OptionsError(
      "options.invalid",
      `expected a 64-byte chip id, got ${chipId.length} bytes`,
    );
  }
  if (chipId.every((x) => x === 0)) {
    throw new OptionsError(
      "options.invalid",
      "the chip id is all zero (MASK_CHIP_ID is set, or the report is signed by a VLEK): " +
        "the KDS cannot serve a VCEK for it; pass the signing certificate with --collateral FILE",
    );
  }
  return hex(product === "Turin" ? chipId.subarray(0, 8) : chipId);
}

function checkTcb(product: SnpProduct, tcb: KdsTcb): void {
  const parts: [string, number | null | undefined][] = [
    ["bootloader", tcb.bootloader],
    ["tee", tcb.tee],
    ["snp", tcb.snp],
    ["microcode", tcb.microcode],
  ];
  if (product === "Turin") parts.push(["fmc", tcb.fmc]);
  else if (tcb.fmc != null) {
    throw new OptionsError("options.invalid", `fmc is a Turin TCB component, not ${product}`);
  }
  for (const [name, v] of parts) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 255) {
      throw new OptionsError(
        "options.invalid",
        `TCB ${name} must be an integer 0-255, got ${String(v)}`,
      );
    }
  }
}

/** `bl=3 tee=0 snp=8 ucode=115` (and `fmc=` on Turin), as messages print a TCB. */
export function formatTcb(tcb: KdsTcb): string {
  const s = `bl=${tcb.bootloader} tee=${tcb.tee} snp=${tcb.snp} ucode=${tcb.microcode}`;
  return tcb.fmc == null ? s : `fmc=${tcb.fmc} ${s}`;
}

/** The KDS URL of a VCEK (publication 57230, "Get VCEK Certificate"). */
export function kdsVcekUrl(
  product: SnpProduct,
  chipId: Uint8Array,
  tcb: KdsTcb,
  baseUrl: string = AMD_KDS_URL,
): string {
  checkProduct(product);
  checkTcb(product, tcb);
  const hwid = kdsHwid(product, chipId);
  let q = `blSPL=${tcb.bootloader}&teeSPL=${tcb.tee}&snpSPL=${tcb.snp}&ucodeSPL=${tcb.microcode}`;
  if (product === "Turin") q += `&fmcSPL=${tcb.fmc}`;
  return `${trimSlash(baseUrl)}/vcek/v1/${product}/${hwid}?${q}`;
}

/** The KDS URL of the ASK+ARK (`vcek`) or ASVK+ARK (`vlek`) chain. */
export function kdsCertChainUrl(
  product: SnpProduct,
  kind: KdsKeyKind,
  baseUrl: string = AMD_KDS_URL,
): string {
  checkProduct(product);
  return `${trimSlash(baseUrl)}/${kind}/v1/${product}/cert_chain`;
}

/** The KDS URL of the CRL of a product's VCEK or VLEK hierarchy. */
export function kdsCrlUrl(
  product: SnpProduct,
  kind: KdsKeyKind,
  baseUrl: string = AMD_KDS_URL,
): string {
  checkProduct(product);
  return `${trimSlash(baseUrl)}/${kind}/v1/${product}/crl`;
}

function trimSlash(s: string): string {
  return s.endsWith("/") ? s.slice(0, -1) : s;
}

// ---------------------------------------------------------------------------
// Cache

/** One cached answer: the DER objects (VCEK: [vcek]; chain: [ark, ask]; CRL: [crl]) and when they expire. */
export interface KdsCacheEntry {
  ders: Uint8Array[];
  /** Milliseconds since the epoch, judged against the client's injected `now()`. */
  expiresAt: number;
}

/**
 * Storage for KDS answers. Keys look like `vcek/Milan/<hwid>/bl=3 tee=0 snp=8 ucode=115`,
 * `chain/Milan/vcek`, `crl/Genoa/vlek`. The client judges expiry itself, so a
 * store needs no clock; a persistent store may be asynchronous.
 */
export interface KdsCache {
  get(key: string): KdsCacheEntry | undefined | Promise<KdsCacheEntry | undefined>;
  set(key: string, entry: KdsCacheEntry): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}

/** Options of {@link createMemoryKdsCache}. */
export interface MemoryKdsCacheOptions {
  /** Entries kept before the least recently used is dropped. Default 256. */
  maxEntries?: number;
}

/** An in-memory least-recently-used {@link KdsCache}. */
export function createMemoryKdsCache(options: MemoryKdsCacheOptions = {}): KdsCache {
  const max = options.maxEntries ?? 256;
  if (!Number.isInteger(max) || max < 1) {
    throw new RangeError(`maxEntries must be a positive integer, got ${max}`);
  }
  const map = new Map<string, KdsCacheEntry>();
  return {
    get(key) {
      const e = map.get(key);
      if (e !== undefined) {
        // Map keeps insertion order: re-inserting marks the entry most recently used.
        map.delete(key);
        map.set(key, e);
      }
      return e;
    },
    set(key, entry) {
      map.delete(key);
      map.set(key, entry);
      while (map.size > max) map.delete(map.keys().next().value as string);
    },
    delete(key) {
      map.delete(key);
    },
  };
}

// ---------------------------------------------------------------------------
// Client

/** Options of {@link createKdsClient}. */
export interface KdsClientOptions {
  /** The fetch to use (global `fetch` is never read). */
  fetch: typeof fetch;
  /** The current time; judges cache expiry and HTTP-date Retry-After values. */
  now: () => Date;
  /** Waits between retries. Default: a `setTimeout` promise. */
  sleep?: (ms: number) => Promise<void>;
  /** KDS base URL. Default {@link AMD_KDS_URL}; a mirror or a test server otherwise. */
  baseUrl?: string;
  /** Where answers are kept. Default: a fresh {@link createMemoryKdsCache}. */
  cache?: KdsCache;
  /** Retries after a 429, 503 or network failure (so `maxRetries + 1` requests at most). Default 4. */
  maxRetries?: number;
  /** First backoff delay in ms, doubled on every retry, when there is no Retry-After. Default 1000. */
  baseDelayMs?: number;
  /** Longest wait in ms. A Retry-After asking for more fails at once with `snp.kds.rate_limited`. Default 60000. */
  maxDelayMs?: number;
  /** Certificates are cached until their notAfter, at most this long (ms). Default 7 days. */
  certificateMaxAgeMs?: number;
  /** CRLs are cached until their nextUpdate, at most this long (ms). Default 24 hours. */
  crlMaxAgeMs?: number;
  /** Passed to every fetch, to cancel outstanding requests. */
  signal?: AbortSignal;
}

/** The online {@link SnpCollateralSource}. */
export interface KdsClient extends SnpCollateralSource {
  /** The base URL requests go to. */
  readonly baseUrl: string;
}

/** Size bounds of KDS answers: a VCEK is ~1.4 KiB, a chain ~4.7 KiB, a CRL ~1 KiB today. */
const MAX_CERT_BYTES = 16 * 1024;
const MAX_CHAIN_BYTES = 64 * 1024;
const MAX_CRL_BYTES = 1024 * 1024;

const DAY_MS = 24 * 60 * 60 * 1000;

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => globalThis.setTimeout(resolve, ms));

/** An AMD KDS client with caching and retry. See {@link KdsClientOptions}. */
export function createKdsClient(options: KdsClientOptions): KdsClient {
  const fetchFn = options.fetch;
  const now = options.now;
  const sleep = options.sleep ?? defaultSleep;
  const baseUrl = trimSlash(options.baseUrl ?? AMD_KDS_URL);
  const cache = options.cache ?? createMemoryKdsCache();
  const maxRetries = options.maxRetries ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 60_000;
  const certMaxAge = options.certificateMaxAgeMs ?? 7 * DAY_MS;
  const crlMaxAge = options.crlMaxAgeMs ?? DAY_MS;
  const inflight = new Map<string, Promise<Uint8Array[]>>();

  /** Cached, else fetched once (concurrent callers share one request), validated and stored. */
  async function cached(
    key: string,
    load: () => Promise<{ ders: Uint8Array[]; expiresAt: number }>,
  ): Promise<Uint8Array[]> {
    const hit = await cache.get(key);
    if (hit !== undefined && hit.expiresAt > now().getTime()) return hit.ders;
    const pending = inflight.get(key);
    if (pending) return pending;
    const p = (async () => {
      try {
        const entry = await load();
        await cache.set(key, entry);
        return entry.ders;
      } finally {
        inflight.delete(key);
      }
    })();
    inflight.set(key, p);
    return p;
  }

  async function get(url: string, what: string, maxBytes: number): Promise<Uint8Array> {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetchFn(url, options.signal ? { signal: options.signal } : undefined);
      } catch (e) {
        if (options.signal?.aborted || attempt > maxRetries) {
          throw new CollateralError(
            "snp.kds.network",
            `could not reach the KDS for ${what} at ${url} after ${attempt} attempt(s): ${(e as Error).message}`,
            { url, attempts: attempt, cause: e },
          );
        }
        await sleep(backoff(attempt));
        continue;
      }
      if (res.status === 200) return readBody(res, url, what, maxBytes, attempt);
      await res.body?.cancel().catch(() => {});
      if (res.status === 404) {
        throw new CollateralError(
          "snp.kds.not_found",
          `the KDS has no ${what} (HTTP 404 from ${url})`,
          { url, status: 404, attempts: attempt },
        );
      }
      if (res.status !== 429 && res.status !== 503) {
        throw new CollateralError(
          "snp.kds.http",
          `the KDS answered HTTP ${res.status} for ${what} at ${url}`,
          { url, status: res.status, attempts: attempt },
        );
      }
      const code = res.status === 429 ? "snp.kds.rate_limited" : "snp.kds.http";
      const retryAfter = parseRetryAfter(res.headers.get("retry-after"), now());
      if (attempt > maxRetries) {
        throw new CollateralError(
          code,
          `the KDS answered HTTP ${res.status} for ${what} at ${url} ${attempt} times; try again later`,
          { url, status: res.status, attempts: attempt },
        );
      }
      if (retryAfter !== null && retryAfter > maxDelayMs) {
        throw new CollateralError(
          code,
          `the KDS answered HTTP ${res.status} for ${what} at ${url} and asks to retry after ` +
            `${Math.ceil(retryAfter / 1000)} s, more than the ${maxDelayMs / 1000} s this client waits`,
          { url, status: res.status, attempts: attempt },
        );
      }
      await sleep(retryAfter ?? backoff(attempt));
    }
  }

  function backoff(attempt: number): number {
    return Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  }

  function capped(until: Date | undefined, maxAge: number): number {
    const t = now().getTime();
    return Math.min(until?.getTime() ?? Number.POSITIVE_INFINITY, t + maxAge);
  }

  return {
    baseUrl,

    async vcek(product, chipId, tcb) {
      const url = kdsVcekUrl(product, chipId, tcb, baseUrl);
      const hwid = kdsHwid(product, chipId);
      const what = `VCEK for ${product} chip 0x${hwid} at TCB ${formatTcb(tcb)}`;
      const key = `vcek/${product}/${hwid}/${formatTcb(tcb)}`;
      const [der] = await cached(key, async () => {
        const body = await get(url, what, MAX_CERT_BYTES);
        const der = looksLikePem(body) ? onlyBlock(body, url, what, "CERTIFICATE") : body;
        const cert = decoded(url, what, () => parseCertificate(der));
        const info = decoded(url, what, () => amdCertInfo(cert));
        const mismatch: string[] = [];
        if (info.role !== "vcek") mismatch.push(`role ${info.role}`);
        if (info.product !== product) mismatch.push(`product ${info.product ?? "unknown"}`);
        if (!info.hwid || hex(info.hwid) !== hwid) mismatch.push("hwID");
        const t = info.tcb;
        if (
          t.bootloader !== tcb.bootloader ||
          t.tee !== tcb.tee ||
          t.snp !== tcb.snp ||
          t.microcode !== tcb.microcode ||
          (product === "Turin" && t.fmc !== tcb.fmc)
        ) {
          mismatch.push(
            `TCB bl=${t.bootloader} tee=${t.tee} snp=${t.snp} ucode=${t.microcode}${t.fmc === null ? "" : ` fmc=${t.fmc}`}`,
          );
        }
        if (mismatch.length > 0) {
          throw new CollateralError(
            "snp.kds.bad_response",
            `the KDS answered ${url} with a certificate that is not the ${what}: ${mismatch.join(", ")}`,
            { url, status: 200 },
          );
        }
        return { ders: [der], expiresAt: capped(cert.notAfter, certMaxAge) };
      });
      return der!;
    },

    async certChain(product, kind) {
      const url = kdsCertChainUrl(product, kind, baseUrl);
      const what = `${kind === "vcek" ? "ASK" : "ASVK"}+ARK chain for ${product}`;
      const [ark, ask] = await cached(`chain/${product}/${kind}`, async () => {
        const body = await get(url, what, MAX_CHAIN_BYTES);
        const blocks = decoded(url, what, () => decodePem(body));
        if (blocks.length !== 2 || blocks.some((b) => b.label !== "CERTIFICATE")) {
          throw new CollateralError(
            "snp.kds.bad_response",
            `expected two PEM certificates for the ${what} at ${url}, got ${blocks.map((b) => b.label).join(", ")}`,
            { url, status: 200 },
          );
        }
        const certs = blocks.map((b) => {
          const c = decoded(url, what, () => parseCertificate(b.der));
          return { der: b.der, cert: c, info: decoded(url, what, () => amdCertInfo(c)) };
        });
        // Which is which by subject and issuer, not by order.
        const arkC = certs.find((c) => c.info.role === "ark");
        const wantRole = kind === "vcek" ? "ask" : "asvk";
        const askC = certs.find((c) => c.info.role === wantRole);
        const problems: string[] = [];
        if (!arkC) problems.push("no self-issued ARK");
        else if (arkC.info.product !== product) problems.push(`ARK is for ${arkC.info.product}`);
        if (!askC) problems.push(`no ${wantRole.toUpperCase()}`);
        else if (askC.info.product !== product) {
          problems.push(`${wantRole.toUpperCase()} is for ${askC.info.product}`);
        } else if (arkC && askC.cert.issuer !== arkC.cert.subject) {
          problems.push(`${wantRole.toUpperCase()} is not issued by the ARK`);
        }
        if (problems.length > 0 || !arkC || !askC) {
          throw new CollateralError(
            "snp.kds.bad_response",
            `the KDS answered ${url} with a chain that is not the ${what}: ${problems.join(", ")}`,
            { url, status: 200 },
          );
        }
        const until = new Date(
          Math.min(arkC.cert.notAfter.getTime(), askC.cert.notAfter.getTime()),
        );
        return { ders: [arkC.der, askC.der], expiresAt: capped(until, certMaxAge) };
      });
      return { ark: ark!, ask: ask! };
    },

    async crl(product, kind) {
      const url = kdsCrlUrl(product, kind, baseUrl);
      const what = `${kind.toUpperCase()} CRL for ${product}`;
      const [der] = await cached(`crl/${product}/${kind}`, async () => {
        const body = await get(url, what, MAX_CRL_BYTES);
        const der = looksLikePem(body) ? onlyBlock(body, url, what, "X509 CRL") : body;
        const crl = decoded(url, what, () => parseCrl(der));
        if (crl.issuerName.getField("CN")[0] !== `ARK-${product}`) {
          throw new CollateralError(
            "snp.kds.bad_response",
            `the KDS answered ${url} with a CRL issued by ${crl.issuer}, not ARK-${product}`,
            { url, status: 200 },
          );
        }
        return { ders: [der], expiresAt: capped(crl.nextUpdate, crlMaxAge) };
      });
      return der!;
    },
  };
}

/** Run a decoder, turning its DecodeError into `snp.kds.bad_response`. */
function decoded<T>(url: string, what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof DecodeError) {
      throw new CollateralError(
        "snp.kds.bad_response",
        `the KDS answer for the ${what} at ${url} is malformed: ${e.message}`,
        { url, status: 200, cause: e },
      );
    }
    throw e;
  }
}

function onlyBlock(body: Uint8Array, url: string, what: string, label: string): Uint8Array {
  const blocks = decoded(url, what, () => decodePem(body));
  if (blocks.length !== 1 || blocks[0]!.label !== label) {
    throw new CollateralError(
      "snp.kds.bad_response",
      `expected one PEM ${label} for the ${what} at ${url}, got ${blocks.map((b) => b.label).join(", ")}`,
      { url, status: 200 },
    );
  }
  return blocks[0]!.der;
}

/** Read a body, refusing more than `maxBytes` without buffering past the bound. */
async function readBody(
  res: Response,
  url: string,
  what: string,
  maxBytes: number,
  attempts: number,
): Promise<Uint8Array> {
  const tooBig = (n: string) =>
    new CollateralError(
      "snp.kds.bad_response",
      `the KDS answer for the ${what} at ${url} is ${n} bytes, more than the ${maxBytes} allowed`,
      { url, status: res.status, attempts },
    );
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooBig(String(declared));
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        await reader.cancel().catch(() => {});
        throw tooBig(`over ${maxBytes}`);
      }
      chunks.push(value);
    }
  }
  if (total === 0) {
    throw new CollateralError(
      "snp.kds.bad_response",
      `the KDS answer for the ${what} at ${url} is empty`,
      { url, status: res.status, attempts },
    );
  }
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/**
 * Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date, as milliseconds
 * from `now` (never negative); null when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: Date): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) return null;
  const t = Date.parse(v);
  if (Number.isNaN(t)) return null;
  return Math.max(0, t - now.getTime());
}
