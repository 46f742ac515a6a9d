/**
 * The Keep asks its Steward for a certificate: over a connection the host
 * relays (`relay.ts`), TLS runs here, inside the Keep, authenticated with the
 * Steward CA from START — the host sees only TLS records. The request is
 * `POST /api/v1/attest` with the Keep's CSR (packages/steward README); the
 * answer is a certificate chain (200), a refusal with every failed check
 * (403), or an error that names what went wrong.
 *
 * Loaded only by Keeps that have a Steward: it brings `node:tls`,
 * `node:http` and `@peculiar/x509`.
 */
import * as http from "node:http";
import { isIP } from "node:net";
import type { Duplex } from "node:stream";
import * as tls from "node:tls";
import { opensslReason } from "./_tls_reason.ts";
import { X509Certificate } from "./_x509.ts";
import { KeepError, type KeepErrorCode } from "./error.ts";
import { CERTIFICATE_MAX } from "./sallyport.ts";

/** The Steward a Keep attests to, as START names it (checked by the agent). */
export interface StewardTarget {
  /** `https://HOST[:PORT][/BASE]`, or `http://` on a loopback host. */
  url: string;
  /** PEM: the CA the Steward's TLS certificate chains to; null only for loopback `http://`. */
  ca: string | null;
}

/** One failed check of a refusal, as the Steward states it (RFC 9457 `checks`). */
export interface StewardCheck {
  code: string;
  expected: string;
  actual: string;
  remedy: string;
}

/** What the Steward decided. */
export type StewardAnswer =
  | {
      kind: "issued";
      /** The chain as received (PEM: the Keep's certificate, then the CA's). */
      pem: string;
      /** DER of each certificate, leaf first. */
      chain: Uint8Array[];
    }
  | { kind: "refused"; detail: string; checks: StewardCheck[] };

/** Options of {@link requestCertificate}. */
export interface RequestCertificateOptions {
  steward: StewardTarget;
  /** The CSR (DER) from `buildKeepCsr`. */
  csr: Uint8Array;
  /** The Keep key's SubjectPublicKeyInfo (DER): the issued leaf must carry exactly this key. */
  keepSpki: Uint8Array;
  /** Open a connection to the Steward (through the host). */
  connect(): Promise<Duplex>;
  /** The whole exchange must end within this many milliseconds. */
  timeoutMs: number;
  /** The time certificates are checked at. */
  now: () => Date;
}

/** Longest answer body read. */
export const ANSWER_MAX = 256 * 1024;
/** At most this many checks, each field cut to FIELD_MAX characters, travel in EXIT. */
const CHECKS_MAX = 32;
const FIELD_MAX = 1024;

/** Ask the Steward for a certificate. Throws `KeepError` `keep.steward.*` when there is no decision. */
export async function requestCertificate(o: RequestCertificateOptions): Promise<StewardAnswer> {
  const url = new URL(o.steward.url);
  const where = `${url.protocol}//${url.host}`;
  const streams: Duplex[] = [];
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new KeepError(
            "keep.steward.timeout",
            `the Steward at ${where} did not answer within ${o.timeoutMs / 1000} s`,
          ),
        ),
      o.timeoutMs,
    );
  });
  try {
    const exchange = async (): Promise<{ status: number; type: string; body: Uint8Array }> => {
      let raw: Duplex;
      try {
        raw = await o.connect();
      } catch (e) {
        throw new KeepError(
          "keep.steward.connect",
          `cannot reach the Steward at ${where} (${(e as Error).message})`,
          { cause: e },
        );
      }
      streams.push(raw);
      const stream = url.protocol === "https:" ? await secure(raw, url, o.steward.ca!) : raw;
      streams.push(stream);
      return post(stream, url, o.csr, where);
    };
    const decided = decodeAnswer(await Promise.race([exchange(), timeout]), where, o);
    if (decided.kind === "issued" && !(await verifyIssued(decided.chain, o.now()))) {
      throw cert(
        `the certificate from the Steward at ${where} does not verify with the CA it came with at ${o.now().toISOString()} (signature or validity)`,
      );
    }
    return decided;
  } finally {
    clearTimeout(timer);
    for (const s of streams) s.destroy();
  }
}

/** TLS inside the Keep, over the relayed stream, checked against the Steward CA. */
function secure(raw: Duplex, url: URL, ca: string): Promise<tls.TLSSocket> {
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return new Promise((resolve, reject) => {
    const s = tls.connect({
      socket: raw,
      ca,
      host,
      // SNI carries names only (RFC 6066 §3); an address is checked against the IP SANs.
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ["http/1.1"],
      minVersion: "TLSv1.2",
    });
    const fail = (e: Error): void => {
      s.destroy();
      reject(
        new KeepError(
          "keep.steward.tls",
          `TLS with the Steward at ${url.host} failed: ${tlsReason(e)}`,
          { cause: e },
        ),
      );
    };
    s.once("error", fail);
    s.once("close", () => fail(new Error("the connection closed during the handshake")));
    s.once("secureConnect", () => {
      s.removeAllListeners("close");
      s.removeListener("error", fail);
      resolve(s);
    });
  });
}

/** OpenSSL's verdicts that mean "this certificate does not chain to the CA given". */
const UNTRUSTED = new Set([
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
]);

function tlsReason(e: Error): string {
  const code = (e as { code?: string }).code;
  const text = opensslReason(e);
  if (code && UNTRUSTED.has(code)) {
    return `${text}: its certificate does not chain to the Steward CA given (--steward-ca)`;
  }
  return text;
}

/** POST the CSR over `stream`; the answer's status, media type and body (at most ANSWER_MAX). */
function post(
  stream: Duplex,
  url: URL,
  csr: Uint8Array,
  where: string,
): Promise<{ status: number; type: string; body: Uint8Array }> {
  const path = `${url.pathname.replace(/\/+$/, "")}/api/v1/attest`;
  return new Promise((resolve, reject) => {
    const fail = (e: Error): void => {
      const tlsFailure =
        /(bad record mac|decrypt|alert|wrong version|ssl|tls)/i.test(e.message) ||
        (e as { code?: string }).code?.startsWith("ERR_SSL") === true;
      reject(
        tlsFailure
          ? new KeepError(
              "keep.steward.tls",
              `TLS with the Steward at ${url.host} failed: ${tlsReason(e)}`,
              { cause: e },
            )
          : new KeepError(
              "keep.steward.answer",
              `the Steward at ${where} sent no answer: ${e.message}`,
              { cause: e },
            ),
      );
    };
    stream.once("error", fail);
    const req = http.request(
      {
        method: "POST",
        path,
        setHost: false,
        createConnection: () => stream as unknown as import("node:net").Socket,
        headers: {
          Host: url.host,
          "Content-Type": "application/pkcs10",
          "Content-Length": String(csr.length),
          Accept: "application/pem-certificate-chain, application/problem+json",
          Connection: "close",
        },
      },
      (res) => {
        const parts: Buffer[] = [];
        let size = 0;
        res.on("data", (b: Buffer) => {
          size += b.length;
          if (size > ANSWER_MAX) {
            res.destroy();
            reject(
              new KeepError(
                "keep.steward.answer",
                `the Steward at ${where} answered with more than ${ANSWER_MAX} bytes`,
              ),
            );
            return;
          }
          parts.push(b);
        });
        res.on("error", fail);
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers["content-type"] ?? "")
              .split(";")[0]!
              .trim()
              .toLowerCase(),
            body: new Uint8Array(Buffer.concat(parts)),
          }),
        );
      },
    );
    req.on("error", fail);
    req.end(csr);
  });
}

function decodeAnswer(
  a: { status: number; type: string; body: Uint8Array },
  where: string,
  o: RequestCertificateOptions,
): StewardAnswer {
  const text = () => {
    try {
      return new TextDecoder("utf-8", { fatal: true }).decode(a.body);
    } catch {
      throw answer(`the Steward at ${where} answered ${a.status} with a body that is not UTF-8`);
    }
  };
  if (a.status === 200) {
    if (a.type !== "application/pem-certificate-chain") {
      throw answer(
        `the Steward at ${where} answered 200 with ${a.type || "no media type"}; expected application/pem-certificate-chain`,
      );
    }
    const pem = text();
    if (a.body.length > CERTIFICATE_MAX) {
      throw cert(
        `the Steward at ${where} sent a chain of ${a.body.length} bytes; a Keep takes at most ${CERTIFICATE_MAX}`,
      );
    }
    return { kind: "issued", pem, chain: checkChain(pem, where, o) };
  }
  if (a.status === 403 && a.type === "application/problem+json") {
    const p = problem(text(), where);
    if (Array.isArray(p.checks) && p.checks.length > 0) {
      const checks = p.checks.slice(0, CHECKS_MAX).map((c: unknown) => {
        const r = (c ?? {}) as Record<string, unknown>;
        const f = (k: string) => (typeof r[k] === "string" ? clip(r[k] as string) : "");
        return {
          code: f("code"),
          expected: f("expected"),
          actual: f("actual"),
          remedy: f("remedy"),
        };
      });
      return { kind: "refused", detail: clip(String(p.detail ?? "")), checks };
    }
  }
  let reason = "";
  if (a.type === "application/problem+json") {
    try {
      const p = problem(text(), where);
      reason = `: ${clip(String(p.title ?? ""))}${p.detail ? ` — ${clip(String(p.detail))}` : ""}${typeof p.code === "string" ? ` [${clip(p.code)}]` : ""}`;
    } catch {}
  }
  throw answer(`the Steward at ${where} answered ${a.status}${reason}`);
}

function problem(body: string, where: string): Record<string, unknown> {
  try {
    const v = JSON.parse(body) as unknown;
    if (typeof v === "object" && v !== null && !Array.isArray(v))
      return v as Record<string, unknown>;
  } catch {}
  throw answer(`the Steward at ${where} sent a problem that is not a JSON object`);
}

/**
 * The chain is for this Keep: its leaf carries exactly the Keep's key, and
 * verifies with the CA certificate that follows it, at `now`. (The Steward is
 * authenticated by TLS; this catches a Steward that answers for another key.)
 */
function checkChain(pem: string, where: string, o: RequestCertificateOptions): Uint8Array[] {
  const blocks = [
    ...pem.matchAll(
      /-----BEGIN CERTIFICATE-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END CERTIFICATE-----/g,
    ),
  ];
  if (blocks.length < 2) {
    throw cert(
      `the Steward at ${where} sent ${blocks.length} certificate${blocks.length === 1 ? "" : "s"}; expected the Keep's, then the CA's`,
    );
  }
  const chain = blocks.map((m) => new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64")));
  let leaf: X509Certificate;
  let ca: X509Certificate;
  try {
    leaf = new X509Certificate(chain[0] as Uint8Array<ArrayBuffer>);
    ca = new X509Certificate(chain[1] as Uint8Array<ArrayBuffer>);
  } catch (e) {
    throw cert(
      `the Steward at ${where} sent a certificate that does not parse: ${(e as Error).message}`,
    );
  }
  const spki = new Uint8Array(leaf.publicKey.rawData);
  if (!equal(spki, o.keepSpki)) {
    throw cert(`the certificate from the Steward at ${where} is for another key than the Keep's`);
  }
  if (leaf.issuer !== ca.subject) {
    throw cert(
      `the certificate from the Steward at ${where} is issued by ${leaf.issuer}, not by the CA it came with (${ca.subject})`,
    );
  }
  return chain;
}

/** Verify the leaf's signature and validity with the CA's key (async: WebCrypto). */
async function verifyIssued(chain: Uint8Array[], now: Date): Promise<boolean> {
  const leaf = new X509Certificate(chain[0] as Uint8Array<ArrayBuffer>);
  const ca = new X509Certificate(chain[1] as Uint8Array<ArrayBuffer>);
  return leaf.verify({ publicKey: ca.publicKey, date: now });
}

function clip(s: string): string {
  const printable = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, " ");
  return printable.length > FIELD_MAX ? `${printable.slice(0, FIELD_MAX)}…` : printable;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function err(code: KeepErrorCode, message: string): KeepError {
  return new KeepError(code, message);
}
const answer = (m: string) => err("keep.steward.answer", m);
const cert = (m: string) => err("keep.steward.certificate", m);
