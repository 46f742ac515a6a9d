/**
 * The Steward's policy: which Keeps get a certificate, and what it says.
 * TOML (smol-toml), one section per TEE type, validated strictly — an unknown
 * key is an error naming the key and its line, never ignored.
 *
 * ```toml
 * [sandbox]                 # software tier: refused unless allow = true
 * allow = true
 * host_keys = ["sandbox-key.pub.pem"]      # or the PEM text itself
 * measurements = ["<96 hex>"]              # runtime measurement allow-list (SHA-384)
 * workload_identities = ["<64 hex>"]
 * lifetime = "1h"
 * san = ["keep.example.com", "127.0.0.1", "spiffe://example.com/keep"]
 *
 * [snp]
 * measurements = ["<96 hex>"]
 * denied_measurements = ["<96 hex>"]
 * debug = false
 * min_tcb = { bootloader = 3, tee = 0, snp = 8, microcode = 115 }
 * require_crl = true                       # refuse when AMD's CRL cannot be had
 *
 * [tdx]                     # Intel TDX: needs [dcap] collateral in steward.toml
 * measurements = ["<96 hex>"]              # MRTD allow-list
 * debug = false                            # TDATTRIBUTES.DEBUG
 * tcb_statuses = ["UpToDate"]              # Intel TCB statuses accepted
 * require_crl = true                       # refuse when a CRL (root CA, PCK) cannot be had
 *
 * [sgx]                     # Intel SGX: needs [dcap] collateral in steward.toml
 * measurements = ["<64 hex>"]              # MRENCLAVE allow-list
 * debug = false                            # ATTRIBUTES.DEBUG
 * tcb_statuses = ["UpToDate", "SWHardeningNeeded"]
 * ```
 *
 * Keys of every section: `allow` (bool), `measurements` and
 * `denied_measurements` (hex; absent or empty = not checked), `debug` (bool,
 * not in `[sandbox]`: a sandbox is software, there is nothing to debug-enable),
 * `workload_identities` (hex, 32 bytes; absent or empty = any), `lifetime`
 * (`"24h"`, `"90m"`, `"1d12h"`; 1 minute to 30 days), `san` (DNS names, IP
 * addresses and URIs for the leaf certificate). `[snp]` adds `min_tcb` (SPLs of
 * REPORTED_TCB); `[snp]`, `[tdx]` and `[sgx]` add `require_crl` (bool, default
 * false: a CRL that cannot be had — AMD's for SNP, Intel's root CA and PCK
 * CRLs for TDX and SGX — is a warning on the decision; true: a refusal, with
 * the attest code naming the missing CRL); `[sandbox]` adds `host_keys`, the host sandbox public keys
 * whose evidence is believed (none → no sandbox evidence verifies). TDX and SGX
 * have no `min_tcb`: their TCB is judged from Intel's collateral (TCB Info and
 * QE Identity, from steward.toml `[dcap]`), and `tcb_statuses` lists the Intel
 * TCB statuses accepted (default `["UpToDate"]`; any of `UpToDate`,
 * `SWHardeningNeeded`, `ConfigurationNeeded`, `ConfigurationAndSWHardeningNeeded`,
 * `OutOfDate`, `OutOfDateConfigurationNeeded` — `Revoked` never). Their
 * `measurements` are MRTD (TDX, 48 bytes) and MRENCLAVE (SGX, 32 bytes).
 *
 * The safe default ({@link defaultPolicy}, also what an empty file means):
 * hardware only (`[sandbox] allow = false`), debug refused everywhere, any
 * measurement, Intel TCB UpToDate only, 24-hour certificates without SAN.
 *
 * Generic code: files are read through the injected `readFile` (for
 * `host_keys` given as paths); this module imports nothing from `node:*`.
 */
import { isIP } from "node:net";
import { ACCEPTABLE_TCB_STATUSES } from "@donjon/attest";
import { parse, TomlError } from "smol-toml";
import { StewardError } from "./error.ts";

/** A subjectAltName entry for the leaf. */
export interface SanEntry {
  type: "dns" | "ip" | "uri";
  value: string;
}

/** What every TEE section says. Hex values are lower-case. */
export interface TeePolicy {
  /** Whether this TEE type gets certificates at all. */
  allow: boolean;
  /** Allowed measurements; empty = not checked. */
  measurements: string[];
  /** Refused measurements, checked even when `measurements` is empty. */
  deniedMeasurements: string[];
  /** Accept debug-enabled guests (the host can read them). */
  debug: boolean;
  /** Allowed workload identities; empty = any. */
  workloadIdentities: string[];
  /** Certificate lifetime in milliseconds. */
  lifetimeMs: number;
  /** subjectAltName of the leaf. */
  san: SanEntry[];
}

/** Minimum SPLs of SEV-SNP REPORTED_TCB; unset components are not checked. */
export interface SnpMinTcb {
  bootloader?: number;
  tee?: number;
  snp?: number;
  microcode?: number;
}

/** The `[snp]` section. */
export interface SnpTeePolicy extends TeePolicy {
  minTcb: SnpMinTcb;
  /** Refuse when no AMD CRL can be had (default false: a warning). */
  requireCrl: boolean;
}

/** Intel's TCB statuses a policy may accept (`Revoked` is never accepted): attest's list. */
export const INTEL_TCB_STATUSES = ACCEPTABLE_TCB_STATUSES;

/** An Intel TCB status a policy may accept. */
export type IntelTcbStatus = (typeof INTEL_TCB_STATUSES)[number];

/** The `[tdx]` and `[sgx]` sections. */
export interface IntelTeePolicy extends TeePolicy {
  /** The TCB statuses accepted (from TCB Info and QE Identity). Default `["UpToDate"]`. */
  tcbStatuses: IntelTcbStatus[];
  /** Refuse when the root CA or PCK CRL cannot be had (default false: a warning). */
  requireCrl: boolean;
}

/** The `[sandbox]` section. */
export interface SandboxTeePolicy extends TeePolicy {
  /** DER SubjectPublicKeyInfo (ECDSA P-384) of every trusted host sandbox key. */
  hostKeys: Uint8Array[];
}

/** A whole, validated policy. */
export interface StewardPolicy {
  sandbox: SandboxTeePolicy;
  snp: SnpTeePolicy;
  tdx: IntelTeePolicy;
  sgx: IntelTeePolicy;
}

/** Options of {@link parsePolicy}. */
export interface ParsePolicyOptions {
  /**
   * Reads a `host_keys` entry given as a path, as UTF-8 text. The caller
   * resolves relative paths (against the policy file's directory). Without it,
   * only PEM text is accepted in `host_keys`.
   */
  readFile?: (path: string) => string;
}

/** Default certificate lifetime: 24 hours. */
export const DEFAULT_LIFETIME_MS = 24 * 3600_000;
/** Longest lifetime a policy may set: 30 days. */
export const MAX_LIFETIME_MS = 30 * 24 * 3600_000;
/** Shortest: 1 minute. */
export const MIN_LIFETIME_MS = 60_000;

/** Measurement sizes in bytes: sandbox runtime (SHA-384), SNP MEASUREMENT, TDX MRTD, SGX MRENCLAVE. */
const MEASUREMENT_SIZE = { sandbox: 48, snp: 48, tdx: 48, sgx: 32 } as const;
const IDENTITY_SIZE = 32;
const SECTIONS = ["sandbox", "snp", "tdx", "sgx"] as const;
type Section = (typeof SECTIONS)[number];
const COMMON_KEYS = [
  "allow",
  "measurements",
  "denied_measurements",
  "workload_identities",
  "lifetime",
  "san",
];
const KEYS: Record<Section, readonly string[]> = {
  sandbox: [...COMMON_KEYS, "host_keys"],
  snp: [...COMMON_KEYS, "debug", "min_tcb", "require_crl"],
  tdx: [...COMMON_KEYS, "debug", "tcb_statuses", "require_crl"],
  sgx: [...COMMON_KEYS, "debug", "tcb_statuses", "require_crl"],
};
const TCB_KEYS = ["bootloader", "tee", "snp", "microcode"] as const;

/** The safe default: hardware only, no debug, the software tier refused. */
export function defaultPolicy(): StewardPolicy {
  return parsePolicy("", "(default policy)");
}

/**
 * Parse and validate a policy file.
 *
 * @param text the file's contents.
 * @param fileName named in every error message.
 * @throws {StewardError} `steward.policy`, naming the file, the key and (when it can) the line.
 */
export function parsePolicy(
  text: string,
  fileName: string,
  options: ParsePolicyOptions = {},
): StewardPolicy {
  let doc: Record<string, unknown>;
  try {
    doc = parse(text) as Record<string, unknown>;
  } catch (cause) {
    if (cause instanceof TomlError) {
      const first = cause.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      fail(fileName, cause.line, `not valid TOML: ${first}`, cause);
    }
    throw cause;
  }
  const ctx = { text, fileName, readFile: options.readFile };
  for (const key of Object.keys(doc)) {
    if (!(SECTIONS as readonly string[]).includes(key)) {
      fail(
        fileName,
        lineOf(text, undefined, key),
        `unknown key ${JSON.stringify(key)} (expected the sections ${SECTIONS.map((s) => `[${s}]`).join(", ")})`,
      );
    }
  }
  const section = (s: Section): Record<string, unknown> => {
    const v = doc[s] ?? {};
    if (!isTable(v)) fail(fileName, lineOf(text, undefined, s), `${s}: expected a table [${s}]`);
    for (const key of Object.keys(v)) {
      if (!KEYS[s].includes(key)) {
        const why =
          s === "sandbox" && (key === "debug" || key === "min_tcb" || key === "require_crl")
            ? " (it does not apply to the software tier)"
            : (s === "tdx" || s === "sgx") && key === "min_tcb"
              ? " (TDX and SGX TCB comes from Intel collateral, not a minimum)"
              : "";
        fail(
          fileName,
          lineOf(text, s, key),
          `unknown key ${JSON.stringify(`${s}.${key}`)}${why}; expected one of ${KEYS[s].join(", ")}`,
        );
      }
    }
    return v;
  };
  const common = (s: Section, t: Record<string, unknown>, allowDefault: boolean): TeePolicy => ({
    allow: bool(ctx, s, t, "allow", allowDefault),
    measurements: hexList(ctx, s, t, "measurements", MEASUREMENT_SIZE[s]),
    deniedMeasurements: hexList(ctx, s, t, "denied_measurements", MEASUREMENT_SIZE[s]),
    debug: s === "sandbox" ? false : bool(ctx, s, t, "debug", false),
    workloadIdentities: hexList(ctx, s, t, "workload_identities", IDENTITY_SIZE),
    lifetimeMs: lifetime(ctx, s, t),
    san: san(ctx, s, t),
  });
  const intel = (s: "tdx" | "sgx"): IntelTeePolicy => {
    const t = section(s);
    return {
      ...common(s, t, true),
      tcbStatuses: tcbStatuses(ctx, s, t),
      requireCrl: bool(ctx, s, t, "require_crl", false),
    };
  };
  const sb = section("sandbox");
  const snp = section("snp");
  return {
    sandbox: { ...common("sandbox", sb, false), hostKeys: hostKeys(ctx, sb) },
    snp: {
      ...common("snp", snp, true),
      minTcb: minTcb(ctx, snp),
      requireCrl: bool(ctx, "snp", snp, "require_crl", false),
    },
    tdx: intel("tdx"),
    sgx: intel("sgx"),
  };
}

interface Ctx {
  text: string;
  fileName: string;
  readFile: ((path: string) => string) | undefined;
}

function bool(ctx: Ctx, s: Section, t: Record<string, unknown>, key: string, dflt: boolean) {
  const v = t[key];
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") bad(ctx, s, key, `expected true or false, got ${show(v)}`);
  return v;
}

function hexList(
  ctx: Ctx,
  s: Section,
  t: Record<string, unknown>,
  key: string,
  size: number,
): string[] {
  const v = t[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) bad(ctx, s, key, `expected an array of hex strings, got ${show(v)}`);
  return v.map((x, i) => {
    if (typeof x !== "string" || !/^[0-9a-fA-F]*$/.test(x) || x.length !== 2 * size) {
      bad(ctx, s, key, `[${i}]: expected ${size} bytes as ${2 * size} hex digits, got ${show(x)}`);
    }
    return x.toLowerCase();
  });
}

function lifetime(ctx: Ctx, s: Section, t: Record<string, unknown>): number {
  const v = t.lifetime;
  if (v === undefined) return DEFAULT_LIFETIME_MS;
  const unit = { s: 1000, m: 60_000, h: 3600_000, d: 86_400_000 } as const;
  if (typeof v !== "string" || !/^(?:\d{1,6}[smhd])+$/.test(v)) {
    bad(ctx, s, "lifetime", `expected a duration like "24h", "90m" or "1d12h", got ${show(v)}`);
  }
  let ms = 0;
  for (const [, n, u] of v.matchAll(/(\d+)([smhd])/g))
    ms += Number(n) * unit[u as keyof typeof unit];
  if (ms < MIN_LIFETIME_MS || ms > MAX_LIFETIME_MS) {
    bad(ctx, s, "lifetime", `expected 1m to 30d, got ${JSON.stringify(v)}`);
  }
  return ms;
}

const DNS_NAME =
  /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;

function san(ctx: Ctx, s: Section, t: Record<string, unknown>): SanEntry[] {
  const v = t.san;
  if (v === undefined) return [];
  if (!Array.isArray(v))
    bad(ctx, s, "san", `expected an array of DNS names, IP addresses and URIs, got ${show(v)}`);
  return v.map((x, i) => {
    // An IP address first: an IPv6 address has colons, like a URI.
    if (typeof x === "string" && isIP(x) !== 0) return { type: "ip", value: x };
    if (typeof x === "string" && x.includes(":")) {
      // A URI (RFC 5280 §4.2.1.6: absolute, with a scheme).
      if (URL.canParse(x) && /^[a-z][a-z0-9+.-]*:/i.test(x)) return { type: "uri", value: x };
    } else if (typeof x === "string" && DNS_NAME.test(x)) {
      return { type: "dns", value: x.toLowerCase() };
    }
    return bad(
      ctx,
      s,
      "san",
      `[${i}]: expected a DNS name (no wildcard), an IP address or an absolute URI, got ${show(x)}`,
    );
  });
}

function minTcb(ctx: Ctx, t: Record<string, unknown>): SnpMinTcb {
  const v = t.min_tcb;
  if (v === undefined) return {};
  if (!isTable(v))
    bad(
      ctx,
      "snp",
      "min_tcb",
      `expected a table { bootloader, tee, snp, microcode }, got ${show(v)}`,
    );
  const out: SnpMinTcb = {};
  for (const [k, n] of Object.entries(v)) {
    if (!(TCB_KEYS as readonly string[]).includes(k)) {
      bad(
        ctx,
        "snp",
        "min_tcb",
        `unknown component ${JSON.stringify(k)}; expected ${TCB_KEYS.join(", ")}`,
      );
    }
    if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > 255) {
      bad(ctx, "snp", "min_tcb", `${k}: expected an SPL from 0 to 255, got ${show(n)}`);
    }
    out[k as keyof SnpMinTcb] = n;
  }
  return out;
}

function tcbStatuses(ctx: Ctx, s: "tdx" | "sgx", t: Record<string, unknown>): IntelTcbStatus[] {
  const v = t.tcb_statuses;
  if (v === undefined) return ["UpToDate"];
  const known = INTEL_TCB_STATUSES as readonly unknown[];
  if (!Array.isArray(v) || v.length === 0) {
    bad(
      ctx,
      s,
      "tcb_statuses",
      `expected a non-empty array of Intel TCB statuses (${INTEL_TCB_STATUSES.join(", ")}), got ${show(v)}`,
    );
  }
  return v.map((x, i) => {
    if (!known.includes(x)) {
      const why = x === "Revoked" ? " (a revoked TCB is never accepted)" : "";
      bad(
        ctx,
        s,
        "tcb_statuses",
        `[${i}]: expected one of ${INTEL_TCB_STATUSES.join(", ")}, got ${show(x)}${why}`,
      );
    }
    return x as IntelTcbStatus;
  });
}

function hostKeys(ctx: Ctx, t: Record<string, unknown>): Uint8Array[] {
  const v = t.host_keys;
  if (v === undefined) return [];
  if (!Array.isArray(v))
    bad(ctx, "sandbox", "host_keys", `expected an array of paths or PEM texts, got ${show(v)}`);
  return v.map((x, i) => {
    if (typeof x !== "string" || x.length === 0) {
      return bad(
        ctx,
        "sandbox",
        "host_keys",
        `[${i}]: expected a path or PEM text, got ${show(x)}`,
      );
    }
    let pem = x;
    if (!x.includes("-----BEGIN")) {
      if (!ctx.readFile) {
        bad(
          ctx,
          "sandbox",
          "host_keys",
          `[${i}]: ${JSON.stringify(x)} is a path and no file reader was given`,
        );
      }
      try {
        pem = ctx.readFile(x);
      } catch (cause) {
        bad(
          ctx,
          "sandbox",
          "host_keys",
          `[${i}]: cannot read ${JSON.stringify(x)}: ${(cause as Error).message}`,
          cause,
        );
      }
    }
    const der = pemPublicKey(pem);
    if (!der) {
      bad(
        ctx,
        "sandbox",
        "host_keys",
        `[${i}]: expected one PEM "PUBLIC KEY" holding an ECDSA P-384 SubjectPublicKeyInfo (a host's sandbox-key.pub.pem)`,
      );
    }
    return der;
  });
}

const P384_SPKI_PREFIX = [
  0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b,
  0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00, 0x04,
];

/** The DER of the one `PUBLIC KEY` block, if it is a P-384 SPKI. */
function pemPublicKey(pem: string): Uint8Array | undefined {
  const m =
    /^\s*-----BEGIN PUBLIC KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PUBLIC KEY-----\s*$/.exec(
      pem,
    );
  if (!m) return undefined;
  let der: Uint8Array;
  try {
    der = Uint8Array.from(atob(m[1]!.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
  } catch {
    return undefined;
  }
  if (der.length !== 120 || P384_SPKI_PREFIX.some((b, i) => der[i] !== b)) return undefined;
  return der;
}

function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function show(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

function bad(ctx: Ctx, s: Section, key: string, message: string, cause?: unknown): never {
  return fail(ctx.fileName, lineOf(ctx.text, s, key), `${s}.${key}: ${message}`, cause);
}

function fail(fileName: string, line: number | undefined, message: string, cause?: unknown): never {
  const where = line === undefined ? fileName : `${fileName}:${line}`;
  throw new StewardError(
    "steward.policy",
    `${where}: ${message}`,
    cause === undefined ? {} : { cause },
  );
}

/**
 * The 1-based line where `key` is set in `[section]` (or at the top level), by
 * a plain scan: good enough to point at the line, never used to decide anything.
 */
function lineOf(text: string, section: string | undefined, key: string): number | undefined {
  const lines = text.split(/\r?\n/);
  let current: string | undefined;
  const keyRe = new RegExp(`^\\s*("?)${key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\1\\s*=`);
  for (const [i, raw] of lines.entries()) {
    const header = /^\s*\[\s*([^\]\s]+)\s*\]/.exec(raw);
    if (header) {
      current = header[1];
      if (section === undefined && current === key) return i + 1;
      continue;
    }
    if (current === section && keyRe.test(raw)) return i + 1;
    if (section === undefined && current === undefined && keyRe.test(raw)) return i + 1;
  }
  return undefined;
}
