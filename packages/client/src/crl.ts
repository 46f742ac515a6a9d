/**
 * The Steward's CRL (RFC 5280 §5): parse it strictly, once, and fetch it.
 * What the CRL says about a Keep is judged in verify.ts; here it is only read.
 *
 * Reading is split between two readers on purpose. A strict DER walk
 * (`_der.ts`) finds the signed bytes (tbsCertList, verified as received,
 * never re-encoded), refuses trailing bytes, checks that the inner and outer
 * signature algorithms agree (§5.1.1.2) and reads each revoked serial number
 * and the counts of extensions. `@peculiar/x509`'s `X509Crl` reads the values
 * (names, times, reasons, extension OIDs and criticality). The two must agree
 * on how many entries and extensions there are: X509Crl alone accepts
 * trailing bytes and a PEM of any label, and loses every entry of a CRL that
 * has no nextUpdate (seen with @peculiar/x509 2.2.0), so it is never trusted
 * alone with what decides a verdict.
 */
import * as https from "node:https";
import { Readable } from "node:stream";
import * as tls from "node:tls";
import { children, content, encoded, type Tlv, whole } from "./_der.ts";
import * as x509 from "./_x509.ts";
import { ClientError } from "./error.ts";

/** An extension of a CRL or of one of its entries. */
export interface CrlExtensionInfo {
  oid: string;
  critical: boolean;
}

/** One revoked certificate listed in a CRL. */
export interface CrlEntryInfo {
  /** Serial number: lowercase hex, no leading zero bytes. */
  serial: string;
  revokedAt: Date;
  /** The reasonCode (RFC 5280 §5.3.1) by name (`keyCompromise`…); null when absent. */
  reason: string | null;
  extensions: CrlExtensionInfo[];
}

/** A CRL read once: the bytes that were signed and what it lists. @internal */
export interface ParsedCrl {
  /** tbsCertList as received: what the signature covers. */
  tbs: Uint8Array;
  /** The signature algorithm's OID content bytes (hex), the same inside and outside the signed part. */
  signatureAlgorithm: string;
  /** The signatureValue BIT STRING's bits. */
  signature: Uint8Array;
  /** The issuer Name, DER as received. */
  issuerDer: Uint8Array;
  /** The issuer as text (`CN=Donjon Steward CA`). */
  issuer: string;
  thisUpdate: Date;
  /** Null when the CRL has none (then it is refused as never fresh). */
  nextUpdate: Date | null;
  extensions: CrlExtensionInfo[];
  entries: CrlEntryInfo[];
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n?([A-Za-z0-9+/=\s]*?)-----END \1-----/;
const EXPECTED =
  "expected a DER or PEM (-----BEGIN X509 CRL-----) X.509 CRL, as the Steward serves at GET /api/v1/crl";

/** RFC 5280 §5.3.1 CRLReason values by number. */
const REASONS: Record<number, string> = {
  0: "unspecified",
  1: "keyCompromise",
  2: "cACompromise",
  3: "affiliationChanged",
  4: "superseded",
  5: "cessationOfOperation",
  6: "certificateHold",
  8: "removeFromCRL",
  9: "privilegeWithdrawn",
  10: "aACompromise",
};

/**
 * Read a CRL: PEM text (`-----BEGIN X509 CRL-----`), or DER bytes (PEM text as
 * bytes is read as PEM). Judges nothing: who signed it, and when it is valid,
 * are verify.ts's checks.
 *
 * @throws {ClientError} `client.crl`, naming what was wrong.
 */
export function parseCrl(input: string | Uint8Array): ParsedCrl {
  const bad = (why: string, cause?: unknown): never => {
    throw new ClientError(
      "client.crl",
      `crl: ${why}; ${EXPECTED}`,
      cause === undefined ? {} : { cause },
    );
  };
  let der: Uint8Array;
  const text =
    typeof input === "string"
      ? input
      : startsWithPem(input)
        ? new TextDecoder().decode(input)
        : null;
  if (text !== null) {
    const m = PEM_BLOCK.exec(text);
    if (!m) return bad("PEM text without a complete -----BEGIN …----- / -----END …----- block");
    if (m[1] !== "X509 CRL") return bad(`a PEM block labelled ${m[1]}, not X509 CRL`);
    der = new Uint8Array(Buffer.from(m[2]!.replace(/\s+/g, ""), "base64"));
  } else {
    // A copy: what is read once must not change when the caller reuses its buffer.
    der = Uint8Array.from(input as Uint8Array);
  }
  if (der.length === 0) return bad("empty");

  // CertificateList ::= SEQUENCE { tbsCertList, signatureAlgorithm, signatureValue BIT STRING } (§5.1)
  let tbs: Tlv;
  let outerAlg: Tlv;
  let sig: Tlv;
  let issuerTlv: Tlv;
  let entryTlvs: Tlv[] = [];
  let crlExtCount = 0;
  const entryExtCounts: number[] = [];
  try {
    const top = whole(der);
    if (top.tag !== 0x30) throw new Error(`expected a SEQUENCE (0x30), got tag 0x${hex(top.tag)}`);
    const parts = children(der, top);
    if (parts.length !== 3)
      throw new Error(`expected 3 parts (tbsCertList, algorithm, signature), got ${parts.length}`);
    [tbs, outerAlg, sig] = parts as [Tlv, Tlv, Tlv];
    if (tbs.tag !== 0x30 || outerAlg.tag !== 0x30 || sig.tag !== 0x03) {
      throw new Error("expected SEQUENCE, SEQUENCE, BIT STRING");
    }
    // TBSCertList (§5.1.2): version INTEGER OPTIONAL, signature, issuer, thisUpdate,
    // nextUpdate OPTIONAL, revokedCertificates OPTIONAL, [0] crlExtensions OPTIONAL.
    const tbsParts = children(der, tbs);
    if (tbsParts[0]?.tag === 0xa0) {
      throw new Error(
        "it is a certificate (its signed part starts with tbsCertificate's [0] version)",
      );
    }
    let i = tbsParts[0]?.tag === 0x02 ? 1 : 0;
    const innerAlg = tbsParts[i++];
    const issuer = tbsParts[i++];
    const thisUpdate = tbsParts[i++];
    if (innerAlg?.tag !== 0x30 || issuer?.tag !== 0x30) {
      throw new Error("tbsCertList lacks its signature algorithm or issuer");
    }
    issuerTlv = issuer;
    if (!thisUpdate || !isTime(thisUpdate)) throw new Error("tbsCertList lacks thisUpdate");
    if (tbsParts[i] && isTime(tbsParts[i]!)) i++;
    if (tbsParts[i]?.tag === 0x30) {
      entryTlvs = children(der, tbsParts[i]!);
      for (const e of entryTlvs) {
        const f = e.tag === 0x30 ? children(der, e) : [];
        if (f.length < 2 || f.length > 3 || f[0]!.tag !== 0x02 || !isTime(f[1]!)) {
          throw new Error(`revoked entry at offset ${e.start} is not {serial, date, extensions}`);
        }
        entryExtCounts.push(f[2] ? extensionCount(der, f[2]) : 0);
      }
      i++;
    }
    if (tbsParts[i]?.tag === 0xa0) {
      const wrapped = children(der, tbsParts[i]!);
      if (wrapped.length !== 1) throw new Error("crlExtensions [0] holds more than one value");
      crlExtCount = extensionCount(der, wrapped[0]!);
      i++;
    }
    if (i !== tbsParts.length) throw new Error(`unexpected field at offset ${tbsParts[i]!.start}`);
    // §5.1.1.2: the algorithm outside the signed part must be the one inside it.
    if (Buffer.compare(encoded(der, innerAlg), encoded(der, outerAlg)) !== 0) {
      throw new Error("the signature algorithm inside tbsCertList differs from the outer one");
    }
    if (der[sig.contentStart] !== 0 || sig.end - sig.contentStart < 2) {
      throw new Error("signatureValue is not a whole-byte BIT STRING");
    }
  } catch (e) {
    return bad(`not a DER X.509 CRL (${(e as Error).message})`, e);
  }

  let crl: x509.X509Crl;
  try {
    crl = new x509.X509Crl(new Uint8Array(der));
  } catch (e) {
    return bad(`not an X.509 CRL (${(e as Error).message})`, e);
  }
  if (crl.entries.length !== entryTlvs.length || crl.extensions.length !== crlExtCount) {
    return bad(
      `it has ${entryTlvs.length} revoked entries and ${crlExtCount} extensions, and @peculiar/x509 read ${crl.entries.length} and ${crl.extensions.length}: a CRL read two ways is not used`,
    );
  }
  const entries = entryTlvs.map((t, n): CrlEntryInfo => {
    const e = crl.entries[n]!;
    const serial = serialHex(content(der, children(der, t)[0]!));
    if (e.extensions.length !== entryExtCounts[n]) {
      bad(`entry ${n} (serial ${serial}): its extensions were misread`);
    }
    return {
      serial,
      revokedAt: e.revocationDate,
      reason: e.reason === undefined ? null : (REASONS[e.reason] ?? `reason ${e.reason}`),
      extensions: e.extensions.map((x) => ({ oid: x.type, critical: x.critical })),
    };
  });
  const algParts = children(der, outerAlg!);
  return {
    tbs: encoded(der, tbs!),
    signatureAlgorithm: algParts[0]?.tag === 0x06 ? hexOf(content(der, algParts[0])) : "",
    signature: der.subarray(sig!.contentStart + 1, sig!.end),
    issuerDer: encoded(der, issuerTlv!),
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate ?? null,
    extensions: crl.extensions.map((x) => ({ oid: x.type, critical: x.critical })),
    entries,
  };
}

/** The number of Extension values in an Extensions SEQUENCE (§4.1: SEQUENCE SIZE (1..MAX) OF Extension). */
function extensionCount(der: Uint8Array, t: Tlv): number {
  if (t.tag !== 0x30) throw new Error(`extensions at offset ${t.start} are not a SEQUENCE`);
  const list = children(der, t);
  for (const x of list) {
    if (x.tag !== 0x30) throw new Error(`an extension at offset ${x.start} is not a SEQUENCE`);
  }
  return list.length;
}

function isTime(t: Tlv): boolean {
  return t.tag === 0x17 || t.tag === 0x18; // UTCTime, GeneralizedTime (§5.1.2.4)
}

function startsWithPem(b: Uint8Array): boolean {
  const head = new TextDecoder().decode(b.subarray(0, 64)).trimStart();
  return head.startsWith("-----BEGIN");
}

/** An INTEGER's content as the serial's hex: lowercase, without the sign byte's leading zeros. */
export function serialHex(b: Uint8Array): string {
  return normalizeSerial(hexOf(b));
}

/** A serial in hex, any case, as CRL entries are compared: lowercase, no leading zero bytes. */
export function normalizeSerial(s: string): string {
  return s.toLowerCase().replace(/^(00)+(?=.)/, "");
}

function hexOf(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

function hex(n: number): string {
  return n.toString(16).padStart(2, "0");
}

// ── fetching ────────────────────────────────────────────────────────────────

/** The fetch {@link fetchStewardCrl} calls: the global `fetch` has this shape. */
export type CrlFetch = (url: string, init: RequestInit) => Promise<Response>;

/** Options of {@link fetchStewardCrl}. */
export interface FetchStewardCrlOptions {
  /** The fetch to use. Default: the global `fetch`, or, for an https:// URL when `ca` is given, Node's https trusting `ca`. */
  fetch?: CrlFetch;
  /**
   * For an https:// URL: CA certificates (PEM) to trust besides the system's
   * roots — the Steward's ca.pem, which issued the Steward's own TLS
   * certificate. Used only when `fetch` is not given. Default: the system's roots only.
   */
  ca?: string;
  /** Time for the request and the whole body, in milliseconds. Default 10 000. */
  timeoutMs?: number;
}

/** The largest CRL accepted: 1 MiB (a Steward's lists a few hundred bytes per revoked Keep). */
export const CRL_MAX_SIZE = 1024 * 1024;
const CRL_TYPES = new Set([
  "application/pkix-crl",
  "application/x-pkcs7-crl",
  "application/octet-stream",
]);

/**
 * GET a Steward's CRL: `url` is the CRL's URL, or a Steward's base URL
 * (`https://steward:8443` → `https://steward:8443/api/v1/crl`). Resolves to
 * the CRL's bytes as served (DER), for `crl` of {@link verifyKeepCertificate},
 * {@link keepAgent} or {@link connectKeep}, which check its signature, issuer
 * and freshness. The CRL's authenticity comes from the CA's signature, not
 * from the transport, so plain `http://` is as good as `https://` here: a
 * party in the middle can withhold a fresh CRL (then the old one goes stale
 * and is refused) but cannot forge one.
 *
 * The Steward's CRL is valid one hour: fetch it again before its nextUpdate.
 * An agent given `crl: { url }` does that itself (`KeepCrlSource`).
 *
 * @throws {ClientError} (rejects) `client.options` for a URL that is not
 * http(s) or a bad timeout; `client.crl_unavailable` when the CRL cannot be
 * fetched (unreachable, timed out, not 200, not a CRL media type, empty or
 * larger than 1 MiB), naming the URL and the reason.
 */
export async function fetchStewardCrl(
  url: string | URL,
  options: FetchStewardCrlOptions = {},
): Promise<Uint8Array> {
  const target = crlUrl(url);
  const timeoutMs = options.timeoutMs ?? 10_000;
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ClientError(
      "client.options",
      `timeoutMs: expected a positive number, got ${timeoutMs}`,
    );
  }
  if (options.ca !== undefined && typeof options.ca !== "string") {
    throw new ClientError("client.options", "ca: expected PEM text (the Steward's ca.pem)");
  }
  const doFetch: CrlFetch =
    options.fetch ??
    (options.ca !== undefined && target.protocol === "https:"
      ? httpsFetch(options.ca)
      : (u, init) => globalThis.fetch(u, init));
  const unavailable = (why: string, cause?: unknown): ClientError =>
    new ClientError(
      "client.crl_unavailable",
      `GET ${target.href}: ${why}`,
      cause === undefined ? {} : { cause },
    );
  const signal = AbortSignal.timeout(timeoutMs);
  const timedOut = () => unavailable(`no complete answer within ${timeoutMs} ms`);
  let res: Response;
  try {
    res = await doFetch(target.href, {
      signal,
      headers: { accept: "application/pkix-crl" },
    });
  } catch (e) {
    if (signal.aborted) throw timedOut();
    throw unavailable(`cannot connect (${reason(e)})`, e);
  }
  const cancel = () => void res.body?.cancel().catch(() => {});
  if (res.status !== 200) {
    cancel();
    throw unavailable(`HTTP ${res.status}, expected 200 with the CRL`);
  }
  const type = (res.headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "" && !CRL_TYPES.has(type)) {
    cancel();
    throw unavailable(
      `content-type ${type}, expected application/pkix-crl (is this the Steward's /api/v1/crl?)`,
    );
  }
  const declared = Number(res.headers.get("content-length") ?? "NaN");
  if (declared > CRL_MAX_SIZE) {
    cancel();
    throw unavailable(`${declared} bytes, more than the ${CRL_MAX_SIZE} a CRL may have`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    const reader = res.body?.getReader();
    while (reader) {
      const r = await reader.read();
      if (r.done) break;
      size += r.value.length;
      if (size > CRL_MAX_SIZE) {
        await reader.cancel().catch(() => {});
        throw unavailable(`more than ${CRL_MAX_SIZE} bytes, more than a CRL may have`);
      }
      chunks.push(r.value);
    }
  } catch (e) {
    if (e instanceof ClientError) throw e;
    if (signal.aborted) throw timedOut();
    throw unavailable(`the body was cut short (${reason(e)})`, e);
  }
  if (size === 0) throw unavailable("an empty body, expected the CRL");
  return new Uint8Array(Buffer.concat(chunks));
}

/** The CRL's URL: `url` itself, or `/api/v1/crl` of a Steward's base URL. */
function crlUrl(url: string | URL): URL {
  let u: URL;
  try {
    u = new URL(String(url));
  } catch {
    throw new ClientError(
      "client.options",
      `url: expected http(s)://STEWARD[:PORT][/api/v1/crl], got ${JSON.stringify(String(url))}`,
    );
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") {
    throw new ClientError(
      "client.options",
      `url: expected an http:// or https:// URL, not ${u.protocol}//`,
    );
  }
  if (u.pathname === "/" || u.pathname === "") u.pathname = "/api/v1/crl";
  return u;
}

function reason(e: unknown): string {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const code = (e as { code?: string }).code;
  return cause?.code ?? code ?? cause?.message ?? (e as Error).message ?? String(e);
}

/** A fetch over Node's https that trusts the system's roots and `ca`; no redirects. */
function httpsFetch(ca: string): CrlFetch {
  return (url, init) =>
    new Promise<Response>((resolve, reject) => {
      const req = https.get(
        url,
        {
          ca: [...tls.rootCertificates, ca],
          headers: init.headers as Record<string, string>,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (typeof v === "string") headers.set(k, v);
          }
          const status = res.statusCode ?? 0;
          if (status < 200 || status > 599) {
            res.resume();
            reject(new Error(`HTTP status ${status}`));
            return;
          }
          // A Response with a null-body status may not have a body.
          const empty = status === 204 || status === 205 || status === 304;
          if (empty) res.resume();
          resolve(
            new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
              status,
              headers,
            }),
          );
        },
      );
      req.on("error", reject);
    });
}
