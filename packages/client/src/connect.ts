/**
 * Verified connections to a Keep: `connectKeep` (a TLS socket) and
 * `keepAgent` (an `https.Agent`). The rule both keep: nobody gets the socket
 * before the peer is judged. The connection is made here, the TLS handshake
 * completes, the peer's chain is judged with {@link judge}, and only a Keep
 * that passes is handed to the caller (or to the HTTP client, through the
 * agent's asynchronous `createConnection`) — so no request byte can be
 * written to a refused peer, whatever the caller queued.
 *
 * Two layers check the chain: OpenSSL, given the Steward CA as its only
 * trust anchor (`ca`, `rejectUnauthorized: true`, against the system clock),
 * and then the verifier (against the injected clock, plus the claims and the
 * policy). Node's own host-name check is replaced by the verifier's (see
 * verify.ts: the Steward's SAN may not name the host dialled). TLS session
 * resumption is off (`maxCachedSessions: 0`, no `session`): every connection
 * shows its certificate and is judged.
 */
import * as https from "node:https";
import type { Socket } from "node:net";
import * as tls from "node:tls";
import { type CrlKeeper, crlKeeper } from "./_crlkeeper.ts";
import type { CrlFetch } from "./crl.ts";
import { ClientError } from "./error.ts";
import {
  judge,
  type KeepVerdict,
  type ResolvedVerifyOptions,
  resolveOptions,
  type StewardTrust,
  stewardTrust,
  throwIfRefused,
  type VerifyKeepOptions,
} from "./verify.ts";

/**
 * Where an agent fetches the Steward's CRL, and how ({@link fetchStewardCrl}).
 * The agent fetches it before judging its first peer and again once it is
 * past the middle of its validity (the Steward's: half an hour into its hour).
 */
export interface KeepCrlSource {
  /** The CRL's URL, or the Steward's base URL (`https://steward:8443` → `…/api/v1/crl`). Required. */
  url: string | URL;
  /**
   * For an https:// URL: CA certificates (PEM) to trust for the Steward's TLS,
   * besides the system's roots. Default: `stewardCa` (the Steward's ca.pem
   * issued its own TLS certificate). Unused when `fetch` is given.
   */
  ca?: string;
  /** The fetch to use. Default: the global `fetch`, or Node's https trusting `ca` for an https:// URL. */
  fetch?: CrlFetch;
  /** Time for one fetch (request and body), in milliseconds. Default 10 000. */
  timeoutMs?: number;
}

/** Options of {@link connectKeep} and {@link keepAgent}: the verifier's, plus the connection's. */
export interface KeepConnectOptions extends Omit<VerifyKeepOptions, "host" | "crl"> {
  /**
   * The Steward's CRL. Bytes or PEM text (as {@link VerifyKeepOptions.crl}):
   * read once, and it must stay current (the Steward's is valid one hour).
   * Or `{ url, … }` ({@link KeepCrlSource}): fetched before the first peer
   * is judged and kept fresh — fetched again past the middle of its
   * validity, one fetch at a time shared by every connection waiting for it,
   * at most every 30 s by `now`. A failed refresh keeps the held CRL while it
   * is current (the `client.revocation.crl` check says the refresh failed);
   * once it is stale every peer is refused (`client.crl`), and with none
   * fetched yet, `client.crl_unavailable`. Not checked if unset: the
   * verdict's `notChecked` then says revocation was not consulted.
   */
  crl?: string | Uint8Array | KeepCrlSource;
  /**
   * Time for TCP, the TLS handshake and the verdict together, in milliseconds.
   * Default 10 000.
   */
  timeoutMs?: number;
  /** Called with the verdict of every accepted Keep, before the socket is used (to log what was proved). */
  onVerified?: (verdict: KeepVerdict, socket: tls.TLSSocket) => void;
}

/** Options of {@link keepAgent}. */
export interface KeepAgentOptions extends KeepConnectOptions {
  /** Options of the underlying `https.Agent` (keepAlive, maxSockets…). TLS trust options here are overridden. */
  agent?: https.AgentOptions;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Connect to `url` (`https://HOST:PORT`, or `HOST:PORT`) and resolve to the
 * TLS socket once the peer is judged a Keep that meets the options.
 *
 * @throws {ClientError} (rejects) `client.options`, `client.connect`,
 * `client.tls`, or the code of the first failed check (`client.chain`,
 * `client.expired`, `client.revoked`, `client.crl`, `client.crl_unavailable`,
 * `client.policy.workload`…) with the `verdict`.
 */
export async function connectKeep(
  url: string | URL,
  options: KeepConnectOptions,
): Promise<tls.TLSSocket> {
  const { host, port } = parseTarget(url);
  const trust = stewardTrust(options.stewardCa);
  const { bytes, keeper } = crlOption(options, trust);
  const resolved = resolveOptions({ ...options, crl: bytes, host });
  return verifiedConnect({ host, port, servername: sni(host) }, trust, resolved, options, keeper);
}

/**
 * An `https.Agent` whose every connection is judged before the request is
 * written: a refused Keep fails the request with a `ClientError` (its `verdict`
 * lists every check) and never receives a byte of it.
 *
 * With `crl`, a Keep whose certificate the Steward's CRL lists is refused
 * (`client.revoked`). Give it as `{ url }` ({@link KeepCrlSource}) and the
 * agent fetches the CRL and keeps it fresh for as long as it lives; given as
 * bytes it is read when the agent is made and goes stale an hour later.
 *
 * ```ts
 * const agent = keepAgent({ stewardCa, workload, crl: { url: "https://steward.example:8443" } });
 * https.get("https://keep.example:8443/", { agent }, …)
 * ```
 *
 * @throws {ClientError} `client.options` for invalid options (when called).
 */
export function keepAgent(options: KeepAgentOptions): https.Agent {
  const trust = stewardTrust(options.stewardCa);
  // Checked and read once (CRL bytes too), not per connection; each connection
  // adds its host, and with a CRL source the CRL the keeper holds then.
  const { bytes, keeper } = crlOption(options, trust);
  const base = resolveOptions({ ...options, crl: bytes });
  checkTimeout(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const agent = new https.Agent({ ...options.agent, maxCachedSessions: 0 });
  // The Agent calls createConnection(options, callback) and waits for the
  // callback when nothing is returned (node:_http_agent createSocket).
  const create = (
    opts: tls.ConnectionOptions & { host?: string; port?: number | string },
    callback: (err: Error | null, socket?: Socket) => void,
  ): undefined => {
    const host = (opts.host ?? "localhost").replace(/^\[(.*)\]$/, "$1");
    const resolved: ResolvedVerifyOptions = { ...base, host: opts.servername || host };
    verifiedConnect(opts, trust, resolved, options, keeper).then(
      (s) => callback(null, s),
      (e: Error) => callback(e),
    );
    return undefined;
  };
  (agent as unknown as { createConnection: typeof create }).createConnection = create;
  return agent;
}

/**
 * The `crl` option split: bytes for {@link resolveOptions}, or a keeper that
 * fetches from a {@link KeepCrlSource}. The source is checked here, so that
 * a mistake is `client.options` when the agent is made, not a refused peer.
 */
function crlOption(
  options: KeepConnectOptions,
  trust: StewardTrust,
): { bytes: string | Uint8Array | undefined; keeper: CrlKeeper | undefined } {
  const c = options.crl;
  if (c === undefined || typeof c === "string" || c instanceof Uint8Array) {
    return { bytes: c, keeper: undefined };
  }
  const bad = (m: string): never => {
    throw new ClientError("client.options", `crl: ${m}`);
  };
  if (typeof c !== "object" || c === null) {
    bad(
      "expected the Steward's CRL as PEM text or bytes (Uint8Array: DER or PEM), or { url } to fetch it",
    );
  }
  const source = c as Partial<KeepCrlSource>;
  if (typeof source.url !== "string" && !(source.url instanceof URL)) {
    bad(
      `url: expected the Steward's CRL URL or base URL (http(s)://STEWARD[:PORT][/api/v1/crl]), got ${JSON.stringify(source.url)}`,
    );
  }
  let u: URL | undefined;
  try {
    u = new URL(String(source.url));
  } catch {
    u = undefined;
  }
  if (u === undefined || (u.protocol !== "https:" && u.protocol !== "http:")) {
    bad(
      `url: expected an http:// or https:// URL (http(s)://STEWARD[:PORT][/api/v1/crl]), got ${JSON.stringify(String(source.url))}`,
    );
  }
  if (source.ca !== undefined && typeof source.ca !== "string") {
    bad("ca: expected PEM text (the Steward's ca.pem)");
  }
  if (source.fetch !== undefined && typeof source.fetch !== "function") {
    bad("fetch: expected a function with the shape of the global fetch");
  }
  const t = source.timeoutMs;
  if (t !== undefined && (typeof t !== "number" || !Number.isFinite(t) || t <= 0)) {
    bad(`timeoutMs: expected a positive number, got ${t}`);
  }
  if (options.now !== undefined && typeof options.now !== "function") {
    throw new ClientError("client.options", "now: expected a function returning a Date");
  }
  const keeper = crlKeeper(
    {
      url: source.url!,
      // The Steward's ca.pem issued its own TLS certificate too.
      ca: source.ca ?? trust.certs.map((x) => x.toString()).join(""),
      ...(source.fetch === undefined ? {} : { fetch: source.fetch }),
      ...(t === undefined ? {} : { timeoutMs: t }),
    },
    trust,
    options.now ?? (() => new Date()),
  );
  return { bytes: undefined, keeper };
}

/**
 * The peer's certificate chain (DER, leaf first) as it came over TLS.
 * Empty when the peer sent none.
 */
export function peerChain(socket: tls.TLSSocket): Uint8Array[] {
  const out: Uint8Array[] = [];
  const seen = new Set<string>();
  let c = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | undefined;
  while (c?.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(new Uint8Array(c.raw));
    c = c.issuerCertificate;
  }
  return out;
}

/** Options of {@link fetchPeerChain}. */
export interface FetchPeerChainOptions {
  /** Time for TCP and the TLS handshake, in milliseconds. Default 10 000. */
  timeoutMs?: number;
}

/**
 * Connect to `url`, complete the TLS handshake trusting nothing, and close:
 * the peer's chain (DER, leaf first) for {@link verifyKeepCertificate} to
 * judge. Writes no application data. What `donjon verify` uses, so that even
 * a chain OpenSSL would refuse gets a full verdict.
 *
 * @throws {ClientError} (rejects) `client.options`, `client.connect`, `client.tls`.
 */
export async function fetchPeerChain(
  url: string | URL,
  options: FetchPeerChainOptions = {},
): Promise<{ chain: Uint8Array[]; host: string; port: number }> {
  const { host, port } = parseTarget(url);
  const socket = await handshake(
    // Trusting nothing is safe here: nothing is sent, and the chain is judged by the caller.
    { host, port, servername: sni(host), rejectUnauthorized: false },
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  const chain = peerChain(socket);
  close(socket);
  return { chain, host, port };
}

/**
 * Close a socket nobody else has: TLS close_notify after the handshake's last
 * flight (so the peer sees a clean close, not a reset mid-handshake), and a
 * hard close if the peer does not answer within a second.
 */
function close(socket: tls.TLSSocket): void {
  socket.end();
  setTimeout(() => socket.destroy(), 1000).unref();
}

async function verifiedConnect(
  opts: tls.ConnectionOptions,
  trust: StewardTrust,
  resolved: ResolvedVerifyOptions,
  options: KeepConnectOptions,
  keeper: CrlKeeper | undefined,
): Promise<tls.TLSSocket> {
  const { session: _session, ...rest } = opts;
  // The CRL is fetched (when due) while the handshake runs, and awaited
  // before the verdict: the socket reaches nobody until both are done.
  const crl = keeper?.current();
  const handshaken = handshake(
    {
      ...rest,
      ca: trust.certs.map((c) => c.toString()),
      rejectUnauthorized: true,
      // The verifier checks the name (or says why it did not).
      checkServerIdentity: () => undefined,
    },
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
  );
  const [socket, held] = await Promise.all([handshaken, crl]).catch((e: unknown) => {
    // Only the caller's `now` can make the CRL's side throw; the socket is nobody's then.
    handshaken.then(close, () => {});
    throw e;
  });
  const verdict = judge(
    peerChain(socket),
    trust,
    held === undefined ? resolved : { ...resolved, crl: held },
  );
  try {
    throwIfRefused(verdict);
    options.onVerified?.(verdict, socket);
  } catch (e) {
    close(socket);
    throw e;
  }
  return socket;
}

/** tls.connect, resolved at 'secureConnect'; every failure a ClientError. */
function handshake(opts: tls.ConnectionOptions, timeoutMs: number): Promise<tls.TLSSocket> {
  checkTimeout(timeoutMs);
  const where = `${opts.host}:${opts.port}`;
  return new Promise((resolve, reject) => {
    const socket = tls.connect(opts);
    let secure = false;
    const timer = setTimeout(() => {
      socket.destroy();
      reject(
        new ClientError(
          "client.connect",
          `${where}: no TLS connection within ${timeoutMs} ms (${socket.connecting ? "TCP connect" : "TLS handshake"} timed out)`,
        ),
      );
    }, timeoutMs);
    socket.once("secureConnect", () => {
      secure = true;
      clearTimeout(timer);
      socket.removeListener("error", onError);
      resolve(socket);
    });
    const onError = (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (!secure) reject(translate(e, where, socket));
    };
    socket.once("error", onError);
  });
}

function checkTimeout(timeoutMs: number): void {
  if (typeof timeoutMs !== "number" || !Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw new ClientError(
      "client.options",
      `timeoutMs: expected a positive number, got ${timeoutMs}`,
    );
  }
}

const EXPIRY_ERRORS = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]);
const CHAIN_ERRORS = new Set([
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_DECRYPT_CERT_SIGNATURE",
  "UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY",
  "CERT_SIGNATURE_FAILURE",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "CERT_CHAIN_TOO_LONG",
  "CERT_REVOKED",
  "INVALID_CA",
  "PATH_LENGTH_EXCEEDED",
  "INVALID_PURPOSE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "ERROR_IN_CERT_NOT_BEFORE_FIELD",
  "ERROR_IN_CERT_NOT_AFTER_FIELD",
]);
const CONNECT_ERRORS = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EADDRNOTAVAIL",
]);

/** A connection failure as a ClientError: OpenSSL's verdict on the chain, the network's, or TLS's. */
function translate(e: NodeJS.ErrnoException, where: string, socket: tls.TLSSocket): ClientError {
  const code = e.code ?? "";
  if (EXPIRY_ERRORS.has(code)) {
    return new ClientError(
      "client.expired",
      `${where}: the peer's certificate is not valid now (${code})`,
      { cause: e },
    );
  }
  if (CHAIN_ERRORS.has(code)) {
    return new ClientError(
      "client.chain",
      `${where}: the peer's certificate does not chain to the Steward CA (${code})`,
      { cause: e },
    );
  }
  if (CONNECT_ERRORS.has(code) || socket.connecting) {
    return new ClientError("client.connect", `${where}: cannot connect (${code || e.message})`, {
      cause: e,
    });
  }
  return new ClientError("client.tls", `${where}: TLS handshake failed (${code || e.message})`, {
    cause: e,
  });
}

/** `https://HOST:PORT` or `HOST:PORT` → host (brackets removed) and port. */
export function parseTarget(url: string | URL): { host: string; port: number } {
  const bad = (why: string): never => {
    throw new ClientError("client.options", `url: ${why}, got ${JSON.stringify(String(url))}`);
  };
  let u: URL;
  try {
    u =
      url instanceof URL
        ? url
        : new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(url) ? url : `https://${url}`);
  } catch {
    return bad("expected https://HOST:PORT");
  }
  if (u.protocol !== "https:")
    bad(`expected an https:// URL (TLS to the Keep), not ${u.protocol}//`);
  if (u.username || u.password) bad("expected no credentials in the URL");
  if ((u.pathname !== "/" && u.pathname !== "") || u.search || u.hash) {
    bad("expected https://HOST:PORT only (no path, query or fragment)");
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  if (!host) bad("expected a host");
  return { host, port: u.port === "" ? 443 : Number(u.port) };
}

/** SNI for a host name; none for an IP address (RFC 6066 §3 forbids literal addresses). */
function sni(host: string): string | undefined {
  return /^[\d.]+$/.test(host) || host.includes(":") ? undefined : host;
}
