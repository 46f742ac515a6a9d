/**
 * Intel DCAP collateral sources: an Intel PCS v4 client (or a PCCS, which
 * serves the same API) with injected fetch and an expiring cache, and offline
 * bundles recognised by content. Intel "Provisioning Certification Service
 * API v4":
 *
 *   GET {base}/{sgx|tdx}/certification/v4/tcb?fmspc={FMSPC}   → TCB Info JSON;  TCB-Info-Issuer-Chain (v3 name: SGX-TCB-Info-Issuer-Chain)
 *   GET {base}/{sgx|tdx}/certification/v4/qe/identity         → QE Identity JSON; SGX-Enclave-Identity-Issuer-Chain
 *   GET {base}/sgx/certification/v4/pckcrl?ca={processor|platform}&encoding=der → PCK CRL (DER); SGX-PCK-CRL-Issuer-Chain
 *   Root CA CRL: Intel's https://certificates.trustedservices.intel.com/IntelSGXRootCA.der,
 *                a PCCS's {base}/sgx/certification/v4/rootcacrl (hex-encoded DER)
 *
 * Issuer chains arrive URL-encoded PEM in a response header. Bodies are
 * returned as received (the TCB Info signature is over its exact text);
 * nothing is verified here — `collateral.ts` does that. Answers are cached
 * until their nextUpdate (at most `maxAgeMs`); a network failure, HTTP 429 or
 * 503 is retried with backoff, honouring Retry-After (as the AMD KDS client).
 */
import { fromHex, toHex } from "../_bytes.ts";
import { CollateralError, OptionsError } from "../error.ts";
import { decodePem, looksLikePem, parseCertificate } from "../snp/_amdcerts.ts";
import { parseRetryAfter } from "../snp/kds.ts";
import { parseDcapCrl, parseQeIdentity, parseTcbInfo } from "./collateral.ts";
import { type DcapCollateral, NO_COLLATERAL } from "./types.ts";

/** Intel's Provisioning Certification Service. */
export const INTEL_PCS_URL = "https://api.trustedservices.intel.com";
/** Where Intel publishes the SGX Root CA CRL (the root certificate's CRL distribution point). */
export const INTEL_ROOT_CA_CRL_URL =
  "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der";

/** A signed JSON answer (TCB Info, QE Identity) and its issuer chain. */
export interface PcsSignedBody {
  /** The body exactly as received. */
  body: string;
  /** The issuer chain from the response header (DER, as sent: leaf first). */
  issuerChain: Uint8Array[];
}

/** A CRL answer and its issuer chain (empty when the service sends none, as for the root CA CRL). */
export interface PcsCrl {
  der: Uint8Array;
  issuerChain: Uint8Array[];
}

/** One cached answer and when it expires. */
export interface PcsCacheEntry {
  value: PcsSignedBody | PcsCrl;
  /** Milliseconds since the epoch, judged against the client's injected `now()`. */
  expiresAt: number;
}

/** Storage for PCS answers (keys like `tcb/tdx/90c06f000000`, `qe/sgx`, `pckcrl/platform`, `rootcacrl`). */
export interface PcsCache {
  get(key: string): PcsCacheEntry | undefined | Promise<PcsCacheEntry | undefined>;
  set(key: string, entry: PcsCacheEntry): void | Promise<void>;
}

/** A plain in-memory {@link PcsCache} (a few entries per platform; never evicts). */
export function createMemoryPcsCache(): PcsCache {
  const map = new Map<string, PcsCacheEntry>();
  return { get: (k) => map.get(k), set: (k, e) => void map.set(k, e) };
}

/** Options of {@link createPcsClient}. */
export interface PcsClientOptions {
  /** The fetch to use (global `fetch` is never read). */
  fetch: typeof fetch;
  /** The current time: judges cache expiry. */
  now: () => Date;
  /**
   * Base URL: Intel PCS (default {@link INTEL_PCS_URL}) or a PCCS
   * (`https://pccs.example:8081`; a trailing `/sgx/certification/v4` is accepted).
   */
  baseUrl?: string;
  /** Where answers are kept. Default: a fresh {@link createMemoryPcsCache}. */
  cache?: PcsCache;
  /** Longest time an answer is kept, even when its nextUpdate is later (ms). Default 24 hours. */
  maxAgeMs?: number;
  /** Where the root CA CRL comes from. Default: {@link INTEL_ROOT_CA_CRL_URL} for Intel PCS, `{base}/sgx/certification/v4/rootcacrl` for a PCCS. */
  rootCaCrlUrl?: string;
  /** Passed to every fetch. */
  signal?: AbortSignal;
  /** Waits between retries. Default: a `setTimeout` promise. */
  sleep?: (ms: number) => Promise<void>;
  /** Retries after a network failure, HTTP 429 or 503 (so `maxRetries + 1` requests at most). Default 2. */
  maxRetries?: number;
  /** First backoff delay (ms), doubled on every retry, when there is no Retry-After. Default 1000. */
  baseDelayMs?: number;
  /** Longest wait (ms); a Retry-After asking for more fails at once. Default 30000. */
  maxDelayMs?: number;
}

/** The PCS client. */
export interface PcsClient {
  readonly baseUrl: string;
  /** TCB Info for an FMSPC (12 hex digits). */
  tcbInfo(tee: "sgx" | "tdx", fmspc: string): Promise<PcsSignedBody>;
  /** The QE Identity (QE for SGX, TD_QE for TDX). */
  qeIdentity(tee: "sgx" | "tdx"): Promise<PcsSignedBody>;
  /** The PCK CRL of the processor or platform CA. */
  pckCrl(ca: "processor" | "platform"): Promise<PcsCrl>;
  /** The Intel SGX Root CA CRL. */
  rootCaCrl(): Promise<PcsCrl>;
  /** Everything a quote needs, as a {@link DcapCollateral}. */
  collateral(
    tee: "sgx" | "tdx",
    fmspc: string,
    ca: "processor" | "platform",
  ): Promise<DcapCollateral>;
}

const MAX_BODY_BYTES = 1024 * 1024;
const DAY_MS = 24 * 60 * 60 * 1000;

/** Base URL without a trailing slash or a trailing `/{sgx|tdx}/certification/v4`. */
export function pcsBaseUrl(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/(?:sgx|tdx)\/certification\/v4$/, "");
}

/** The PCS v4 URL of TCB Info. */
export function pcsTcbInfoUrl(
  tee: "sgx" | "tdx",
  fmspc: string,
  baseUrl: string = INTEL_PCS_URL,
): string {
  return `${pcsBaseUrl(baseUrl)}/${checkTee(tee)}/certification/v4/tcb?fmspc=${checkFmspc(fmspc)}`;
}

/** The PCS v4 URL of the QE Identity. */
export function pcsQeIdentityUrl(tee: "sgx" | "tdx", baseUrl: string = INTEL_PCS_URL): string {
  return `${pcsBaseUrl(baseUrl)}/${checkTee(tee)}/certification/v4/qe/identity`;
}

/** The PCS v4 URL of a PCK CRL (DER). */
export function pcsPckCrlUrl(
  ca: "processor" | "platform",
  baseUrl: string = INTEL_PCS_URL,
): string {
  if (ca !== "processor" && ca !== "platform")
    throw new OptionsError(
      "options.invalid",
      `unknown PCK CA ${JSON.stringify(ca)}: expected processor or platform`,
    );
  return `${pcsBaseUrl(baseUrl)}/sgx/certification/v4/pckcrl?ca=${ca}&encoding=der`;
}

function checkTee(tee: string): string {
  if (tee !== "sgx" && tee !== "tdx")
    throw new OptionsError(
      "options.invalid",
      `unknown TEE ${JSON.stringify(tee)}: expected sgx or tdx`,
    );
  return tee;
}

function checkFmspc(fmspc: string): string {
  if (!/^[0-9a-fA-F]{12}$/.test(fmspc))
    throw new OptionsError(
      "options.invalid",
      `FMSPC must be 12 hex digits, got ${JSON.stringify(fmspc)}`,
    );
  return fmspc.toUpperCase();
}

/** An Intel PCS v4 (or PCCS) client. See {@link PcsClientOptions}. */
export function createPcsClient(options: PcsClientOptions): PcsClient {
  const base = pcsBaseUrl(options.baseUrl ?? INTEL_PCS_URL);
  const isIntel = base === INTEL_PCS_URL;
  const cache = options.cache ?? createMemoryPcsCache();
  const maxAge = options.maxAgeMs ?? DAY_MS;
  const now = options.now;
  const sleep =
    options.sleep ?? ((ms: number) => new Promise<void>((r) => globalThis.setTimeout(r, ms)));
  const maxRetries = options.maxRetries ?? 2;
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const inflight = new Map<string, Promise<PcsSignedBody | PcsCrl>>();
  const assembled = new Map<string, { parts: unknown[]; collateral: DcapCollateral }>();

  async function cached<T extends PcsSignedBody | PcsCrl>(
    key: string,
    load: () => Promise<{ value: T; nextUpdate: Date | null }>,
  ): Promise<T> {
    const hit = await cache.get(key);
    if (hit && hit.expiresAt > now().getTime()) return hit.value as T;
    const pending = inflight.get(key);
    if (pending) return pending as Promise<T>;
    const p = (async () => {
      try {
        const { value, nextUpdate } = await load();
        const t = now().getTime();
        await cache.set(key, {
          value,
          expiresAt: Math.min(nextUpdate?.getTime() ?? Infinity, t + maxAge),
        });
        return value;
      } finally {
        inflight.delete(key);
      }
    })();
    inflight.set(key, p);
    return p;
  }

  /** GET with retries after a network failure, HTTP 429 or 503 (Retry-After honoured, else exponential backoff). */
  async function get(url: string, what: string): Promise<Response> {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await options.fetch(url, options.signal ? { signal: options.signal } : undefined);
      } catch (e) {
        if (options.signal?.aborted || attempt > maxRetries) {
          throw new CollateralError(
            "dcap.pcs.network",
            `could not reach ${url} for the ${what} after ${attempt} attempt(s): ${(e as Error).message}`,
            { url, attempts: attempt, cause: e },
          );
        }
        await sleep(backoff(attempt));
        continue;
      }
      if (res.status === 200) return res;
      // The body is not read; a failure to discard it changes nothing.
      /* node:coverage ignore next */
      await res.body?.cancel().catch(() => {});
      const retryable = res.status === 429 || res.status === 503;
      const code =
        res.status === 404
          ? "dcap.pcs.not_found"
          : res.status === 429
            ? "dcap.pcs.rate_limited"
            : "dcap.pcs.http";
      const retryAfter = retryable ? parseRetryAfter(res.headers.get("retry-after"), now()) : null;
      if (!retryable || attempt > maxRetries || (retryAfter !== null && retryAfter > maxDelayMs)) {
        const wait =
          retryAfter !== null && retryAfter > maxDelayMs
            ? `, asking to retry after ${Math.ceil(retryAfter / 1000)} s`
            : "";
        throw new CollateralError(
          code,
          `${url} answered HTTP ${res.status} for the ${what}${attempt > 1 ? ` ${attempt} times` : ""}${wait}`,
          { url, status: res.status, attempts: attempt },
        );
      }
      await sleep(retryAfter ?? backoff(attempt));
    }
  }

  function backoff(attempt: number): number {
    return Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
  }

  function bad(url: string, message: string, cause?: unknown): CollateralError {
    return new CollateralError("dcap.pcs.bad_response", `${url}: ${message}`, {
      url,
      status: 200,
      ...(cause === undefined ? {} : { cause }),
    });
  }

  async function body(res: Response, url: string, what: string): Promise<Uint8Array> {
    const declared = Number(res.headers.get("content-length") ?? Number.NaN);
    if (declared > MAX_BODY_BYTES)
      throw bad(url, `the ${what} is ${declared} bytes, more than ${MAX_BODY_BYTES}`);
    const b = new Uint8Array(await res.arrayBuffer());
    if (b.length > MAX_BODY_BYTES)
      throw bad(url, `the ${what} is ${b.length} bytes, more than ${MAX_BODY_BYTES}`);
    if (b.length === 0) throw bad(url, `the ${what} is empty`);
    return b;
  }

  function chainHeader(res: Response, url: string, names: readonly string[]): Uint8Array[] {
    const value = names.map((n) => res.headers.get(n)).find((v) => v !== null) ?? null;
    if (value === null) throw bad(url, `no ${names.join(" or ")} header (the issuer chain)`);
    let pem: string;
    try {
      pem = decodeURIComponent(value);
    } catch (e) {
      throw bad(url, `the ${names[0]} header is not URL-encoded PEM`, e);
    }
    try {
      return pemCertificates(new TextEncoder().encode(pem));
    } catch (e) {
      throw bad(url, `the ${names[0]} header: ${(e as Error).message}`, e);
    }
  }

  async function signedJson<P extends { nextUpdate: Date }>(
    url: string,
    what: string,
    header: readonly string[],
    parse: (s: string) => P,
    check: (parsed: P) => string | null,
  ) {
    const res = await get(url, what);
    const issuerChain = chainHeader(res, url, header);
    let text: string;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(await body(res, url, what));
    } catch (e) {
      if (e instanceof CollateralError) throw e;
      throw bad(url, `the ${what} is not UTF-8`, e);
    }
    let parsed: P;
    try {
      parsed = parse(text);
    } catch (e) {
      throw bad(url, `the ${what} is malformed: ${(e as Error).message}`, e);
    }
    const problem = check(parsed);
    if (problem) throw bad(url, `not the ${what} asked for: ${problem}`);
    return { value: { body: text, issuerChain }, nextUpdate: parsed.nextUpdate };
  }

  async function crl(
    url: string,
    what: string,
    header: string | null,
    issuerCn: (cn: string) => boolean,
  ) {
    const res = await get(url, what);
    const issuerChain = header ? chainHeader(res, url, [header]) : [];
    const raw = await body(res, url, what);
    let parsed: ReturnType<typeof parseDcapCrl>;
    try {
      // parseDcapCrl takes DER, PEM, or the hex a PCCS serves.
      parsed = parseDcapCrl(raw);
    } catch (e) {
      throw bad(url, `the ${what} is malformed: ${(e as Error).message}`, e);
    }
    if (!issuerCn(parsed.issuerCn)) throw bad(url, `the ${what} is issued by "${parsed.issuer}"`);
    return { value: { der: parsed.der, issuerChain }, nextUpdate: parsed.nextUpdate };
  }

  const client: PcsClient = {
    baseUrl: base,

    tcbInfo(tee, fmspc) {
      const url = pcsTcbInfoUrl(tee, fmspc, base);
      const want = fmspc.toLowerCase();
      return cached(`tcb/${tee}/${want}`, () =>
        signedJson(
          url,
          `TCB Info for FMSPC ${want}`,
          ["TCB-Info-Issuer-Chain", "SGX-TCB-Info-Issuer-Chain"],
          parseTcbInfo,
          (t) => {
            if (t.fmspc !== want) return `FMSPC ${t.fmspc}`;
            if ((tee === "tdx") !== (t.id === "TDX")) return `TCB Info id ${t.id}`;
            return null;
          },
        ),
      );
    },

    qeIdentity(tee) {
      const url = pcsQeIdentityUrl(tee, base);
      return cached(`qe/${tee}`, () =>
        signedJson(
          url,
          "QE Identity",
          ["SGX-Enclave-Identity-Issuer-Chain"],
          parseQeIdentity,
          (q) => (q.id === (tee === "tdx" ? "TD_QE" : "QE") ? null : `QE Identity id ${q.id}`),
        ),
      );
    },

    pckCrl(ca) {
      const url = pcsPckCrlUrl(ca, base);
      const want = ca === "processor" ? "Intel SGX PCK Processor CA" : "Intel SGX PCK Platform CA";
      return cached(`pckcrl/${ca}`, () =>
        crl(url, `PCK CRL (${ca})`, "SGX-PCK-CRL-Issuer-Chain", (cn) => cn === want),
      );
    },

    rootCaCrl() {
      const url =
        options.rootCaCrlUrl ??
        (isIntel ? INTEL_ROOT_CA_CRL_URL : `${base}/sgx/certification/v4/rootcacrl`);
      return cached("rootcacrl", () =>
        crl(url, "Intel SGX Root CA CRL", null, (cn) => cn === "Intel SGX Root CA"),
      );
    },

    async collateral(tee, fmspc, ca) {
      const parts = await Promise.all([
        client.tcbInfo(tee, fmspc),
        client.qeIdentity(tee),
        client.pckCrl(ca),
        client.rootCaCrl(),
      ]);
      // The same cached answers give the same object, so a verifier's per-collateral plan stays warm.
      const key = `${tee}/${fmspc.toLowerCase()}/${ca}`;
      const last = assembled.get(key);
      if (last?.parts.every((p, i) => p === parts[i])) return last.collateral;
      const [tcb, qe, pck, root] = parts;
      const collateral: DcapCollateral = {
        tcbInfo: tcb.body,
        tcbInfoIssuerChain: tcb.issuerChain,
        qeIdentity: qe.body,
        qeIdentityIssuerChain: qe.issuerChain,
        rootCaCrl: root.der,
        pckCrl: pck.der,
        pckCrlIssuerChain: pck.issuerChain,
      };
      assembled.set(key, { parts, collateral });
      return collateral;
    },
  };
  return client;
}

// ───────────────────────────────────────────────────────────────────────────
// Offline bundles

/** One file of a bundle: bytes, or bytes with a name used in error messages. */
export type DcapCollateralFile = Uint8Array | { name: string; data: Uint8Array };

/**
 * Build a {@link DcapCollateral} from files recognised by content, never by
 * name: TCB Info and QE Identity JSON (the PCS body `{"tcbInfo":…}`, or a
 * bundle), CRLs (DER, PEM or hex), PEM certificate chains (a chain whose leaf
 * is Intel SGX TCB Signing is the TCB Info and QE Identity issuer chain; one
 * whose leaf is a PCK CA is the PCK CRL issuer chain), and the collateral
 * bundles of Phala dcap-qvl (`{"tcb_info":…,"tcb_info_signature":…,…}`; the
 * signed text is kept exactly). Items not found are null: the verifier names
 * what is missing. A second, different item of one kind is an error.
 *
 * @throws {CollateralError} `dcap.collateral.malformed` naming the file and the problem.
 */
export function offlineCollateral(files: readonly DcapCollateralFile[]): DcapCollateral {
  const out: DcapCollateral = { ...NO_COLLATERAL };
  files.forEach((f, i) => {
    const name = f instanceof Uint8Array ? `#${i}` : f.name;
    const data = f instanceof Uint8Array ? f : f.data;
    try {
      addFile(out, data);
    } catch (e) {
      throw new CollateralError(
        "dcap.collateral.malformed",
        `collateral file ${name}: ${(e as Error).message}`,
        {
          cause: e,
        },
      );
    }
  });
  return out;
}

type Slot = keyof DcapCollateral;

function put<K extends Slot>(
  out: DcapCollateral,
  key: K,
  value: NonNullable<DcapCollateral[K]>,
  what: string,
): void {
  const cur = out[key];
  if (cur !== null && !same(cur, value)) throw new Error(`a second, different ${what}`);
  out[key] = value;
}

function same(a: unknown, b: unknown): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return toHex(a) === toHex(b);
  if (Array.isArray(a) && Array.isArray(b))
    return a.length === b.length && a.every((x, i) => same(x, b[i]));
  return a === b;
}

function addFile(out: DcapCollateral, data: Uint8Array): void {
  if (data.length === 0) throw new Error("the file is empty");
  if (data.length > MAX_BODY_BYTES)
    throw new Error(`${data.length} bytes, more than the ${MAX_BODY_BYTES} allowed`);
  const first = data.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  if (first === 0x7b /* { */) return void addJson(out, data);
  if (looksLikePem(data)) {
    const text = new TextDecoder().decode(data);
    if (/-----BEGIN (?:X509 )?CRL-----/.test(text)) return void addCrl(out, data);
    return void addChain(out, pemCertificates(data));
  }
  if (data[0] === 0x30) return void addCrl(out, data);
  const text = new TextDecoder().decode(data).trim();
  if (/^[0-9a-fA-F]+$/.test(text) && text.startsWith("30")) return void addCrl(out, data);
  throw new Error(
    `neither JSON, PEM, DER nor hex (starts with 0x${toHex(data.subarray(0, 4))}): expected TCB Info, QE Identity, CRLs or PEM chains`,
  );
}

function addJson(out: DcapCollateral, data: Uint8Array): void {
  const text = new TextDecoder("utf-8", { fatal: true }).decode(data).trim();
  // Which kind of JSON, from its first member name: a signed body's first member is what it signs.
  const head = /^\{\s*"([A-Za-z_]+)"/.exec(text)?.[1];
  // Recognised only: the verifier parses strictly and reports what is wrong with its own code.
  if (head === "tcbInfo") return void put(out, "tcbInfo", text, "TCB Info");
  if (head === "enclaveIdentity") return void put(out, "qeIdentity", text, "QE Identity");
  // A dcap-qvl collateral bundle: every member a string (PEM, JSON text, hex).
  let bundle: unknown;
  try {
    bundle = JSON.parse(text);
  } catch (e) {
    throw new Error(`invalid JSON: ${(e as Error).message}`);
  }
  const b = bundle as Record<string, unknown>;
  const known = [
    "tcb_info",
    "tcb_info_signature",
    "tcb_info_issuer_chain",
    "qe_identity",
    "qe_identity_signature",
    "qe_identity_issuer_chain",
    "pck_crl",
    "pck_crl_issuer_chain",
    "root_ca_crl",
  ];
  if (
    typeof b !== "object" ||
    b === null ||
    Array.isArray(b) ||
    !Object.keys(b).some((k) => known.includes(k))
  ) {
    throw new Error(
      `JSON that is neither TCB Info ({"tcbInfo":…}), QE Identity ({"enclaveIdentity":…}) nor a collateral bundle (tcb_info, qe_identity, …)`,
    );
  }
  for (const [k, v] of Object.entries(b)) {
    if (!known.includes(k))
      throw new Error(
        `bundle member ${JSON.stringify(k)} is unknown (expected ${known.join(", ")})`,
      );
    if (typeof v !== "string") throw new Error(`bundle member ${k} is not a string`);
  }
  const s = (k: string) => b[k] as string | undefined;
  const signed = (
    member: "tcbInfo" | "enclaveIdentity",
    json: string | undefined,
    sig: string | undefined,
    what: string,
  ) => {
    if (json === undefined) return null;
    if (sig === undefined || !fromHex(sig))
      throw new Error(`bundle ${what} without a hex signature`);
    // The PCS body again, with the signed text inserted exactly as it was.
    return `{"${member}":${json},"signature":"${sig}"}`;
  };
  const tcb = signed("tcbInfo", s("tcb_info"), s("tcb_info_signature"), "tcb_info");
  if (tcb) put(out, "tcbInfo", tcb, "TCB Info");
  const qe = signed("enclaveIdentity", s("qe_identity"), s("qe_identity_signature"), "qe_identity");
  if (qe) put(out, "qeIdentity", qe, "QE Identity");
  const chain = (k: string) =>
    s(k) === undefined ? null : pemCertificates(new TextEncoder().encode(s(k)));
  const tcbChain = chain("tcb_info_issuer_chain");
  if (tcbChain) put(out, "tcbInfoIssuerChain", tcbChain, "TCB Info issuer chain");
  const qeChain = chain("qe_identity_issuer_chain");
  if (qeChain) put(out, "qeIdentityIssuerChain", qeChain, "QE Identity issuer chain");
  const pckChain = chain("pck_crl_issuer_chain");
  if (pckChain) put(out, "pckCrlIssuerChain", pckChain, "PCK CRL issuer chain");
  for (const k of ["pck_crl", "root_ca_crl"]) {
    const v = s(k);
    if (v !== undefined) addCrl(out, new TextEncoder().encode(v));
  }
}

function addCrl(out: DcapCollateral, data: Uint8Array): void {
  let crl: ReturnType<typeof parseDcapCrl>;
  try {
    crl = parseDcapCrl(data);
  } catch (e) {
    throw new Error((e as Error).message);
  }
  if (crl.issuerCn === "Intel SGX Root CA")
    return void put(out, "rootCaCrl", crl.der, "root CA CRL");
  if (crl.issuerCn === "Intel SGX PCK Processor CA" || crl.issuerCn === "Intel SGX PCK Platform CA")
    return void put(out, "pckCrl", crl.der, "PCK CRL");
  throw new Error(`a CRL issued by "${crl.issuer}", not by an Intel SGX CA`);
}

function addChain(out: DcapCollateral, certs: Uint8Array[]): void {
  // The leaf decides the chain's role; a lone root adds nothing.
  const cns = certs.map((der) => subjectCn(der));
  const leaf = cns.findIndex((cn) => cn !== "Intel SGX Root CA");
  if (leaf < 0) return;
  const cn = cns[leaf];
  if (cn === "Intel SGX TCB Signing") {
    put(out, "tcbInfoIssuerChain", certs, "TCB signing chain");
    put(out, "qeIdentityIssuerChain", certs, "TCB signing chain");
    return;
  }
  if (cn === "Intel SGX PCK Processor CA" || cn === "Intel SGX PCK Platform CA") {
    put(out, "pckCrlIssuerChain", certs, "PCK CRL issuer chain");
    return;
  }
  throw new Error(
    `a certificate chain whose leaf is "${cn}": expected Intel SGX TCB Signing or a PCK CA`,
  );
}

/** The certificates (DER) of PEM text, in order; anything but CERTIFICATE blocks is an error. */
function pemCertificates(data: Uint8Array): Uint8Array[] {
  // decodePem's DecodeError names the problem; the callers wrap it in their own code.
  const blocks = decodePem(data);
  for (const b of blocks)
    if (b.label !== "CERTIFICATE") throw new Error(`a PEM ${b.label} block in a certificate chain`);
  return blocks.map((b) => b.der);
}

function subjectCn(der: Uint8Array): string {
  return parseCertificate(der).subjectName.getField("CN")[0] ?? "";
}
