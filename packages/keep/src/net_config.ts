/**
 * The network part of Donjon.toml: `[[files]]` `listen` / `connect` entries
 * and `[trust]`. One reading, used twice: `donjon run` checks a config with
 * it (inside its strict, line-aware parser), and the Keep reads its OWN copy
 * from the config bytes it measured — so the host, which sends the Keep
 * everything else, cannot change which sockets exist, whom a `connect`
 * socket trusts or which clients a `listen` socket admits. Those settings are
 * covered by the workload identity; a host that lies about them changes the
 * identity the Steward sees.
 *
 * ```toml
 * [[files]]                       # entry n is fd n (Enarx semantics)
 * kind = "listen"
 * prot = "tls"                    # "tls" (default): TLS ends in the Keep; "tcp": plain bytes the host can read
 * addr = "127.0.0.1"              # default "::"
 * port = 8443                     # 0: any free port (donjon run prints it)
 * name = "web"                    # FD_NAMES; default the kind
 * client_ca = "-----BEGIN CERTIFICATE-----…"  # tls: require client certificates from this CA (mutual TLS)
 * client_workload = "<hex>"       # with client_ca: the client must be a Keep running this workload
 *
 * [[files]]
 * kind = "connect"
 * prot = "tls"
 * host = "api.example.com"
 * port = 443
 * peer_workload = "<hex>"         # tls: the peer must be a Keep (certified by a [trust] root) running this workload
 *
 * [trust]
 * roots = ["-----BEGIN CERTIFICATE-----…"]  # CAs connect sockets trust, e.g. a Steward's CA
 * public = true                   # also the public roots Node ships (default true)
 * ```
 */
import { X509Certificate } from "node:crypto";
import { KeepError } from "./error.ts";

/** Where in the document a problem is: `["files", 3, "port"]`. */
export type ConfigPath = (string | number)[];

/** A problem with the network settings, with where it is. */
export class NetConfigError extends Error {
  readonly path: ConfigPath;
  constructor(path: ConfigPath, message: string) {
    super(message);
    this.name = "NetConfigError";
    this.path = path;
  }
}

export interface ListenEntry {
  kind: "listen";
  fd: number;
  name: string;
  prot: "tls" | "tcp";
  addr: string;
  port: number;
  /** PEM: client certificates must chain to it (mutual TLS), or null. */
  clientCa: string | null;
  /** Hex workload identity the client's Keep certificate must carry, or null. */
  clientWorkload: string | null;
}

export interface ConnectEntry {
  kind: "connect";
  fd: number;
  name: string;
  prot: "tls" | "tcp";
  host: string;
  port: number;
  /** Hex workload identity the peer's Keep certificate must carry, or null. */
  peerWorkload: string | null;
}

export type NetEntry = ListenEntry | ConnectEntry;

/** What the workload's sockets are and whom they trust. */
export interface NetPlan {
  entries: NetEntry[];
  /** Every [[files]] entry's name, for FD_NAMES (FD_COUNT is its length); null without [[files]]. */
  names: string[] | null;
  trust: { roots: string[]; public: boolean };
}

export const EMPTY_NET_PLAN: NetPlan = {
  entries: [],
  names: null,
  trust: { roots: [], public: true },
};

/** Sockets one workload may be given. */
export const MAX_NET_ENTRIES = 64;
const MAX_PEM = 32 * 1024;
const MAX_ROOTS = 64;
const LISTEN_KEYS = ["kind", "name", "prot", "addr", "port", "client_ca", "client_workload"];
const CONNECT_KEYS = ["kind", "name", "prot", "host", "port", "peer_workload"];
const TRUST_KEYS = ["roots", "public"];
const PEM =
  /^\s*(-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\s*)+$/;
const HEX_ID = /^[0-9a-f]{64}$/;

/**
 * Read the network settings of a parsed Donjon.toml. Entries whose kind is
 * not `listen` or `connect` are skipped (the caller checks those); the
 * network entries and `[trust]` are checked strictly.
 *
 * @throws {NetConfigError} naming the key and what was expected
 */
export function readNetPlan(doc: Record<string, unknown>): NetPlan {
  const plan: NetPlan = { entries: [], names: null, trust: { roots: [], public: true } };
  const files = doc.files;
  if (Array.isArray(files)) {
    plan.names = files.map((f) =>
      isTable(f) && typeof f.name === "string"
        ? f.name
        : isTable(f) && typeof f.kind === "string"
          ? f.kind
          : "",
    );
    files.forEach((f, fd) => {
      if (!isTable(f)) return;
      if (f.kind !== "listen" && f.kind !== "connect") return;
      const p: ConfigPath = ["files", fd];
      if (fd < 3) {
        throw new NetConfigError(
          [...p, "kind"],
          `fd ${fd} is ${["stdin", "stdout", "stderr"][fd]}; "${f.kind}" entries start at fd 3 (the 4th [[files]] entry)`,
        );
      }
      keys(f, p, f.kind === "listen" ? LISTEN_KEYS : CONNECT_KEYS);
      const name = f.name === undefined ? f.kind : str(f.name, [...p, "name"]);
      if (name === "" || name.includes(":")) {
        throw new NetConfigError(
          [...p, "name"],
          `${show([...p, "name"])} must be non-empty and must not contain ":" (FD_NAMES is colon-separated)`,
        );
      }
      let prot: "tls" | "tcp" = "tls";
      if (f.prot !== undefined) {
        const v = str(f.prot, [...p, "prot"]);
        if (v !== "tls" && v !== "tcp") {
          throw new NetConfigError(
            [...p, "prot"],
            `${show([...p, "prot"])} must be "tls" or "tcp", got ${JSON.stringify(v)}`,
          );
        }
        prot = v;
      }
      if (f.port === undefined) throw new NetConfigError(p, `${show(p)} needs a "port"`);
      const port = f.port;
      const min = f.kind === "listen" ? 0 : 1;
      if (typeof port !== "number" || !Number.isInteger(port) || port < min || port > 65535) {
        throw new NetConfigError(
          [...p, "port"],
          `${show([...p, "port"])} must be an integer from ${min} to 65535, got ${JSON.stringify(port)}`,
        );
      }
      if (f.kind === "listen") {
        const addr = f.addr === undefined ? "::" : str(f.addr, [...p, "addr"]);
        if (addr === "")
          throw new NetConfigError([...p, "addr"], `${show([...p, "addr"])} must not be empty`);
        const clientCa = f.client_ca === undefined ? null : pem(f.client_ca, [...p, "client_ca"]);
        const clientWorkload =
          f.client_workload === undefined
            ? null
            : hexId(f.client_workload, [...p, "client_workload"]);
        if (prot === "tcp" && (clientCa !== null || clientWorkload !== null)) {
          throw new NetConfigError(
            [...p, "prot"],
            `${show(p)}: client_ca and client_workload need prot = "tls"`,
          );
        }
        if (clientWorkload !== null && clientCa === null) {
          throw new NetConfigError(
            [...p, "client_workload"],
            `${show([...p, "client_workload"])} needs "client_ca": the CA (a Steward's) that certified the client Keep`,
          );
        }
        plan.entries.push({ kind: "listen", fd, name, prot, addr, port, clientCa, clientWorkload });
      } else {
        if (f.host === undefined) throw new NetConfigError(p, `${show(p)} needs a "host"`);
        const host = str(f.host, [...p, "host"]);
        if (host === "")
          throw new NetConfigError([...p, "host"], `${show([...p, "host"])} must not be empty`);
        const peerWorkload =
          f.peer_workload === undefined ? null : hexId(f.peer_workload, [...p, "peer_workload"]);
        if (prot === "tcp" && peerWorkload !== null) {
          throw new NetConfigError([...p, "prot"], `${show(p)}: peer_workload needs prot = "tls"`);
        }
        plan.entries.push({ kind: "connect", fd, name, prot, host, port, peerWorkload });
      }
    });
    if (plan.entries.length > MAX_NET_ENTRIES) {
      throw new NetConfigError(
        ["files"],
        `[[files]] has ${plan.entries.length} listen and connect entries; at most ${MAX_NET_ENTRIES}`,
      );
    }
  }
  if (doc.trust !== undefined) {
    if (!isTable(doc.trust)) throw new NetConfigError(["trust"], `"trust" must be a table`);
    const t = doc.trust;
    keys(t, ["trust"], TRUST_KEYS);
    if (t.roots !== undefined) {
      if (!Array.isArray(t.roots) || t.roots.length > MAX_ROOTS) {
        throw new NetConfigError(
          ["trust", "roots"],
          `"trust.roots" must be an array of at most ${MAX_ROOTS} PEM strings`,
        );
      }
      plan.trust.roots = t.roots.map((r, i) => pem(r, ["trust", "roots", i]));
    }
    if (t.public !== undefined) {
      if (typeof t.public !== "boolean") {
        throw new NetConfigError(["trust", "public"], `"trust.public" must be true or false`);
      }
      plan.trust.public = t.public;
    }
  }
  return plan;
}

/**
 * The Keep's reading of the config bytes it measured. Empty bytes (no
 * Donjon.toml) give no sockets.
 *
 * @throws {KeepError} `keep.config` when the bytes are not a valid config
 */
export async function netPlanOf(config: Uint8Array): Promise<NetPlan> {
  if (config.length === 0) return EMPTY_NET_PLAN;
  let doc: Record<string, unknown>;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(config);
    // Loaded only when there is a config: most Keeps never parse TOML.
    const { parse } = await import("smol-toml");
    doc = parse(text) as Record<string, unknown>;
  } catch (e) {
    throw new KeepError(
      "keep.config",
      `the config the Keep measured is not valid TOML: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  try {
    return readNetPlan(doc);
  } catch (e) {
    if (e instanceof NetConfigError)
      throw new KeepError("keep.config", `the config the Keep measured: ${e.message}`);
    throw e;
  }
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function show(p: ConfigPath): string {
  return `"${p.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("")}"`;
}

function keys(t: Record<string, unknown>, p: ConfigPath, allowed: readonly string[]): void {
  for (const k of Object.keys(t)) {
    if (!allowed.includes(k)) {
      throw new NetConfigError(
        [...p, k],
        `unknown key ${show([...p, k])} (expected one of: ${allowed.join(", ")})`,
      );
    }
  }
}

function str(v: unknown, p: ConfigPath): string {
  if (typeof v !== "string" || v.includes("\0")) {
    throw new NetConfigError(p, `${show(p)} must be a string without NUL characters`);
  }
  return v;
}

function pem(v: unknown, p: ConfigPath): string {
  const s = str(v, p);
  if (s.length > MAX_PEM || !PEM.test(s)) {
    throw new NetConfigError(
      p,
      `${show(p)} must be PEM certificates ("-----BEGIN CERTIFICATE-----…"), at most ${MAX_PEM} characters`,
    );
  }
  // OpenSSL skips a block it cannot read, which would quietly trust less
  // than the config says: every block must be a certificate.
  const blocks = s.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch (e) {
      throw new NetConfigError(
        p,
        `${show(p)}: certificate ${i + 1} of ${blocks.length} is not a valid X.509 certificate (${(e as Error).message})`,
      );
    }
  });
  return s;
}

function hexId(v: unknown, p: ConfigPath): string {
  const s = str(v, p).toLowerCase();
  if (!HEX_ID.test(s)) {
    throw new NetConfigError(
      p,
      `${show(p)} must be a workload identity: 64 hex digits (donjon run --print-evidence shows it), got ${JSON.stringify(String(v).slice(0, 80))}`,
    );
  }
  return s;
}
