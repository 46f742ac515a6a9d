/**
 * `steward.toml`, validated once at boot: every key is known, typed and in
 * range, and every error names the key and its line. Pure: the caller reads
 * the file and passes its text and path; relative paths in it are resolved
 * against the file's directory.
 *
 * ```toml
 * listen = "127.0.0.1:8443"        # HOST:PORT; [::1]:8443 for IPv6
 * policy = "policy.toml"
 * storage = "sqlite:steward.db"    # default; or "postgres://user@host/db"
 * [tls]                            # or: plain_http = true (loopback only)
 * cert = "tls.pem"
 * key = "tls.key"
 * [ca]
 * cert = "ca.pem"
 * key = "ca.key"
 * [admin]
 * tokens = ["…at least 32 characters…"]
 * [limits]
 * body = "256KiB"
 * body_timeout = "10s"
 * [dcap]                           # Intel SGX and TDX collateral; none: their evidence is refused
 * pcs_url = "https://api.trustedservices.intel.com"   # Intel PCS, or a PCCS base URL
 * collateral_dir = "intel"         # and/or offline files (TCB Info, QE Identity, CRLs, chains)
 * ```
 */
import * as path from "node:path";
import { parse, TomlError } from "smol-toml";
import { StewardError } from "./error.ts";

/** A listen address. */
export interface ListenAddress {
  /** Host name or IP address, without IPv6 brackets. */
  host: string;
  /** TCP port, 0–65535 (0: any free port). */
  port: number;
}

/** The Steward's configuration, resolved: absolute paths, bytes, milliseconds. */
export interface StewardConfig {
  /** Absolute path of the config file itself. */
  file: string;
  listen: ListenAddress;
  /** The TLS certificate chain and key files; null when `plain_http = true` (loopback only). */
  tls: { cert: string; key: string } | null;
  /** The CA certificate and key files. */
  ca: { cert: string; key: string };
  /** The policy file. */
  policy: string;
  /** `sqlite:/absolute/path` or a `postgres://…` URL. */
  storage: string;
  /** Bearer tokens for `/api/v1/admin/*`; empty: the admin API refuses everyone. */
  adminTokens: string[];
  limits: StewardLimits;
  /** Where Intel DCAP collateral comes from (SGX and TDX); both null: none, and such evidence is refused. */
  dcap: StewardDcapConfig;
}

/** `[dcap]`: the sources of Intel DCAP collateral (TCB Info, QE Identity, CRLs). */
export interface StewardDcapConfig {
  /**
   * Intel PCS or a PCCS base URL (`https://…`; `http://` only for a loopback
   * PCCS), fetched with the Steward's injected fetch and cached until each
   * answer's nextUpdate. Null: nothing is fetched.
   */
  pcsUrl: string | null;
  /**
   * A directory of collateral files read at boot (absolute): TCB Info and QE
   * Identity JSON, CRLs, PEM chains, recognised by content; looked at before
   * the PCS. Null: none.
   */
  collateralDir: string | null;
}

/** Request limits. */
export interface StewardLimits {
  /** Largest request body accepted, in bytes. Default 256 KiB. */
  body: number;
  /** Longest a request body may take to arrive, in milliseconds. Default 10 s. */
  bodyTimeoutMs: number;
}

/** Defaults of the optional keys. */
export const CONFIG_DEFAULTS = {
  listen: "127.0.0.1:8443",
  storage: "sqlite:steward.db",
  body: 256 * 1024,
  bodyTimeoutMs: 10_000,
} as const;

/** Shortest admin token accepted, in characters. */
export const MIN_ADMIN_TOKEN_LENGTH = 32;

const SCHEMA: Readonly<Record<string, readonly string[] | null>> = {
  listen: null,
  plain_http: null,
  policy: null,
  storage: null,
  tls: ["cert", "key"],
  ca: ["cert", "key"],
  admin: ["tokens"],
  limits: ["body", "body_timeout"],
  dcap: ["pcs_url", "collateral_dir"],
};

/**
 * Parse and validate `text`, the contents of the config file at `file`.
 *
 * @throws {StewardError} `steward.config` (bad TOML, a missing or ill-typed key),
 *   `steward.config.unknown_key`, `steward.config.plain_http`.
 */
export function parseConfig(text: string, file: string): StewardConfig {
  const abs = path.resolve(file);
  const dir = path.dirname(abs);
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    const where = e instanceof TomlError ? ` (line ${e.line})` : "";
    const first = (e instanceof Error ? e.message : String(e)).split("\n")[0];
    throw new StewardError("steward.config", `${abs}${where}: not valid TOML: ${first}`, {
      cause: e,
    });
  }
  const lines = keyLines(text);
  const at = (key: string): string => {
    const line = lines.get(key);
    return line === undefined ? `${abs}: ${key}` : `${abs}:${line}: ${key}`;
  };
  const fail = (key: string, why: string): never => {
    throw new StewardError("steward.config", `${at(key)}: ${why}`);
  };

  for (const [k, v] of Object.entries(doc)) {
    const sub = SCHEMA[k];
    if (sub === undefined) {
      throw new StewardError(
        "steward.config.unknown_key",
        `${at(k)}: unknown key (expected one of ${Object.keys(SCHEMA).join(", ")})`,
      );
    }
    if (sub === null) continue;
    if (!isTable(v)) fail(k, `expected a table [${k}], got ${typeName(v)}`);
    for (const kk of Object.keys(v as object)) {
      if (!sub.includes(kk)) {
        throw new StewardError(
          "steward.config.unknown_key",
          `${at(`${k}.${kk}`)}: unknown key (expected one of ${sub.join(", ")})`,
        );
      }
    }
  }

  const str = (key: string, value: unknown, required: boolean): string | undefined => {
    if (value === undefined) {
      if (required) fail(key, "missing (required)");
      return undefined;
    }
    if (typeof value !== "string" || value === "") {
      fail(key, `expected a non-empty string, got ${typeName(value)}`);
    }
    return value as string;
  };
  const table = (k: string): Record<string, unknown> =>
    (doc[k] as Record<string, unknown> | undefined) ?? {};
  const file_ = (key: string, value: unknown): string =>
    path.resolve(dir, str(key, value, true) as string);

  const listenText = str("listen", doc.listen, false) ?? CONFIG_DEFAULTS.listen;
  let listen: ListenAddress;
  try {
    listen = parseListen(listenText);
  } catch (e) {
    return fail("listen", (e as Error).message);
  }

  const plain = doc.plain_http;
  if (plain !== undefined && typeof plain !== "boolean") {
    fail("plain_http", `expected true or false, got ${typeName(plain)}`);
  }
  let tls: StewardConfig["tls"] = null;
  if (plain === true) {
    if (doc.tls !== undefined) fail("plain_http", "plain_http = true and a [tls] table: pick one");
    if (!isLoopback(listen.host)) {
      throw new StewardError(
        "steward.config.plain_http",
        `${at("plain_http")}: plain HTTP is allowed only on a loopback address, and listen is ${JSON.stringify(listenText)}: Keeps' requests and certificates would cross the network unprotected; give [tls] cert and key, or listen on 127.0.0.1, ::1 or localhost`,
      );
    }
  } else {
    if (doc.tls === undefined) {
      fail("tls", "missing: give [tls] cert and key (or plain_http = true on a loopback address)");
    }
    const t = table("tls");
    tls = { cert: file_("tls.cert", t.cert), key: file_("tls.key", t.key) };
  }

  if (doc.ca === undefined) fail("ca", "missing: give [ca] cert and key");
  const ca = { cert: file_("ca.cert", table("ca").cert), key: file_("ca.key", table("ca").key) };
  const policy = file_("policy", doc.policy);

  const storageText = str("storage", doc.storage, false) ?? CONFIG_DEFAULTS.storage;
  let storage: string;
  if (storageText.startsWith("sqlite:")) {
    const p = storageText.slice("sqlite:".length);
    if (p === "") fail("storage", 'expected "sqlite:PATH", got an empty path');
    storage = `sqlite:${path.resolve(dir, p)}`;
  } else if (/^postgres(ql)?:\/\//.test(storageText)) {
    storage = storageText;
  } else {
    return fail(
      "storage",
      `expected "sqlite:PATH" or "postgres://…", got ${JSON.stringify(storageText)}`,
    );
  }

  const tokensValue = table("admin").tokens;
  const adminTokens: string[] = [];
  if (tokensValue !== undefined) {
    if (!Array.isArray(tokensValue)) {
      fail("admin.tokens", `expected an array of strings, got ${typeName(tokensValue)}`);
    }
    for (const [i, t] of (tokensValue as unknown[]).entries()) {
      if (typeof t !== "string") fail("admin.tokens", `element ${i}: expected a string`);
      // Never echo a token, not even a short one: it may be a real secret with a typo.
      if ((t as string).length < MIN_ADMIN_TOKEN_LENGTH) {
        fail(
          "admin.tokens",
          `element ${i}: expected at least ${MIN_ADMIN_TOKEN_LENGTH} characters, got ${(t as string).length} (generate one with: openssl rand -base64 32)`,
        );
      }
      adminTokens.push(t as string);
    }
  }

  const limitsTable = table("limits");
  const bodyText = str("limits.body", limitsTable.body, false);
  let body: number = CONFIG_DEFAULTS.body;
  if (bodyText !== undefined) {
    const n = parseSize(bodyText);
    if (n === null || n < 1024 || n > 64 * 1024 * 1024) {
      fail(
        "limits.body",
        `expected a size from 1KiB to 64MiB such as "256KiB", got ${JSON.stringify(bodyText)}`,
      );
    }
    body = n as number;
  }
  const timeoutText = str("limits.body_timeout", limitsTable.body_timeout, false);
  let bodyTimeoutMs: number = CONFIG_DEFAULTS.bodyTimeoutMs;
  if (timeoutText !== undefined) {
    const n = parseDuration(timeoutText);
    if (n === null || n < 100 || n > 600_000) {
      fail(
        "limits.body_timeout",
        `expected a duration from 100ms to 10m such as "10s", got ${JSON.stringify(timeoutText)}`,
      );
    }
    bodyTimeoutMs = n as number;
  }

  const dcapTable = table("dcap");
  const pcsUrl = str("dcap.pcs_url", dcapTable.pcs_url, false) ?? null;
  if (pcsUrl !== null) {
    let u: URL | null = null;
    try {
      u = new URL(pcsUrl);
    } catch {}
    if (!u || (u.protocol !== "https:" && u.protocol !== "http:") || u.search || u.hash) {
      fail(
        "dcap.pcs_url",
        `expected an https:// base URL such as "https://api.trustedservices.intel.com" (Intel PCS) or a PCCS's, got ${JSON.stringify(pcsUrl)}`,
      );
    }
    // Collateral is signed, but its absence or staleness is not: an attacker on the path
    // could withhold CRLs. Plain HTTP only for a PCCS on this machine.
    if (u!.protocol === "http:" && !isLoopback(u!.hostname.replace(/^\[|\]$/g, ""))) {
      fail(
        "dcap.pcs_url",
        `plain http:// is allowed only for a PCCS on a loopback address, got ${JSON.stringify(pcsUrl)}; use https://`,
      );
    }
  }
  const dirText = str("dcap.collateral_dir", dcapTable.collateral_dir, false);
  const collateralDir = dirText === undefined ? null : path.resolve(dir, dirText);

  return {
    file: abs,
    listen,
    tls,
    ca,
    policy,
    storage,
    adminTokens,
    limits: { body, bodyTimeoutMs },
    dcap: { pcsUrl, collateralDir },
  };
}

/**
 * Parse `HOST:PORT` (`[::1]:8443` for IPv6).
 *
 * @throws {Error} naming what is wrong.
 */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(text);
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || port > 65535) {
    throw new Error(
      `expected HOST:PORT (e.g. 127.0.0.1:8443 or [::1]:8443), got ${JSON.stringify(text)}`,
    );
  }
  return { host: (m[1] ?? m[2])!, port };
}

/** Whether `host` names the loopback interface: localhost, 127.0.0.0/8 or ::1. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1" || h === "0:0:0:0:0:0:0:1") return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** `host:port` for a URL (IPv6 in brackets). */
export function formatListen(a: ListenAddress): string {
  return a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

const SIZE_UNITS: Readonly<Record<string, number>> = {
  "": 1,
  B: 1,
  KiB: 1024,
  MiB: 1024 ** 2,
  GiB: 1024 ** 3,
  KB: 1000,
  MB: 1000 ** 2,
  GB: 1000 ** 3,
};

/** `256KiB`, `1MiB`, `4096` → bytes; null when malformed. */
export function parseSize(s: string): number | null {
  const m = /^(\d+)\s*([KMG]i?B|B)?$/.exec(s.trim());
  if (!m) return null;
  const unit = SIZE_UNITS[m[2] ?? ""];
  if (unit === undefined) return null;
  const n = Number(m[1]) * unit;
  return Number.isSafeInteger(n) ? n : null;
}

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** `500ms`, `10s`, `2m`, `1h` → milliseconds; null when malformed. */
export function parseDuration(s: string): number | null {
  const m = /^(\d+)\s*(ms|s|m|h)$/.exec(s.trim());
  if (!m) return null;
  const n = Number(m[1]) * DURATION_UNITS[m[2]!]!;
  return Number.isSafeInteger(n) ? n : null;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function typeName(v: unknown): string {
  if (Array.isArray(v)) return "an array";
  if (v instanceof Date) return "a date";
  if (v === null) return "null";
  if (typeof v === "object") return "a table";
  return `${typeof v === "string" ? "a string" : typeof v === "boolean" ? "a boolean" : `a ${typeof v}`} (${JSON.stringify(v)})`;
}

/**
 * Dotted key → the 1-based line where it is written. A line scanner that is
 * enough for steward.toml's flat shape (top-level keys and `[table]`
 * headers); multi-line arrays hold strings only, never `key =`.
 */
function keyLines(text: string): Map<string, number> {
  const out = new Map<string, number>();
  let table = "";
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const line = raw.trim();
    const header = /^\[\s*([A-Za-z0-9_.-]+)\s*\]/.exec(line);
    if (header) {
      table = header[1]!;
      if (!out.has(table)) out.set(table, i + 1);
      continue;
    }
    const kv = /^([A-Za-z0-9_-]+|"[^"]*")\s*=/.exec(line);
    if (kv) {
      const k = kv[1]!.replace(/^"|"$/g, "");
      const full = table === "" ? k : `${table}.${k}`;
      if (!out.has(full)) out.set(full, i + 1);
    }
  }
  return out;
}
