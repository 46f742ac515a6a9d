/**
 * `donjon steward init DIR`: everything a Steward needs to start, in one
 * directory — a new CA, a TLS certificate for the Steward issued by it, the
 * safe default policy (commented) and a `steward.toml` that points at them
 * with a fresh admin token. Never replaces a file: an existing CA is refused.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { createCa, issueTlsCert, writeKeyFile, writeNewFile } from "./ca.ts";
import { StewardError } from "./error.ts";

/** The files `init` writes, by role. */
export const INIT_FILES = {
  caCert: "ca.pem",
  caKey: "ca.key",
  tlsCert: "tls.pem",
  tlsKey: "tls.key",
  policy: "policy.toml",
  config: "steward.toml",
} as const;

/**
 * The safe default policy as a commented file: hardware TEEs only, the
 * software tier (sandbox) refused, debug-enabled guests refused, 24-hour
 * certificates. It parses to exactly `defaultPolicy()` (a test holds it to that).
 */
export const DEFAULT_POLICY_TEXT = `# Donjon Steward policy: which Keeps get a certificate, and what it records.
# Reloaded on SIGHUP; replaced by POST /api/v1/admin/policy (which rewrites
# this file). Every key is checked: a typo is an error, never ignored.
#
# This is the safe default: hardware TEEs only, debug refused, the software
# tier refused, 24-hour certificates without subjectAltName.

# The software tier: a sandbox Keep is protected by nothing but its host, and
# its evidence is signed by the host's own key. Refused unless allow = true —
# for development only — and then only from the hosts whose public sandbox key
# (~/.local/state/donjon/sandbox-key.pub.pem) is listed.
[sandbox]
allow = false
# host_keys = ["sandbox-key.pub.pem"]   # paths relative to this file, or PEM text
# lifetime = "1h"

# AMD SEV-SNP. Reports are verified against AMD's pinned roots.
[snp]
allow = true
debug = false            # true lets the host read guest memory: never in production
lifetime = "24h"         # 1m to 30d
# measurements = ["<96 hex digits>"]          # allow-list of launch measurements; empty: any
# denied_measurements = ["<96 hex digits>"]   # always refused
# min_tcb = { bootloader = 3, tee = 0, snp = 8, microcode = 115 }
# require_crl = true     # refuse when AMD's CRL cannot be had (default: a warning)
# workload_identities = ["<64 hex digits>"]   # allow-list; empty: any workload
# san = ["keep.example.com", "127.0.0.1"]     # DNS names, IP addresses or URIs for the certificate

# Intel TDX and SGX. Quotes are verified against Intel's pinned SGX Root CA
# with Intel's collateral (TCB Info, QE Identity, CRLs), which steward.toml's
# [dcap] section provides (pcs_url and/or collateral_dir); without it their
# evidence is refused as config.dcap whatever this says.
[tdx]
allow = true
debug = false            # TDATTRIBUTES.DEBUG: the host can read the TD
lifetime = "24h"
tcb_statuses = ["UpToDate"]   # Intel TCB statuses accepted; also SWHardeningNeeded,
                              # ConfigurationNeeded, ConfigurationAndSWHardeningNeeded,
                              # OutOfDate, OutOfDateConfigurationNeeded (never Revoked)
# measurements = ["<96 hex digits>"]          # MRTD allow-list; empty: any
# require_crl = true     # refuse when Intel's root CA or PCK CRL cannot be had (default: a warning)

[sgx]
allow = true
debug = false            # ATTRIBUTES.DEBUG: the host can read the enclave
lifetime = "24h"
tcb_statuses = ["UpToDate"]
# measurements = ["<64 hex digits>"]          # MRENCLAVE allow-list; empty: any
# require_crl = true
`;

/** Options of {@link initSteward}. */
export interface InitOptions {
  /** The directory to fill (created with mode 0700 when missing). */
  dir: string;
  /** Extra names for the Steward's TLS certificate (DNS names or IP addresses); localhost, 127.0.0.1 and ::1 are always in. */
  sans?: readonly string[];
  /** The time the certificates start. */
  now: Date;
  /** The `listen` written to steward.toml. Default `127.0.0.1:8443`. */
  listen?: string;
  /** WebCrypto. Default `globalThis.crypto`. */
  crypto?: Crypto;
}

/** What {@link initSteward} wrote. */
export interface InitResult {
  /** Absolute paths, by role. */
  files: Record<keyof typeof INIT_FILES, string>;
  /** SHA-256 fingerprint of the CA certificate (hex, colon-separated), to pin on Keeps. */
  caFingerprint: string;
}

/**
 * Create a Steward directory.
 *
 * @throws {StewardError} `steward.init.exists` when any of the files exists (nothing is written then).
 */
export async function initSteward(options: InitOptions): Promise<InitResult> {
  const crypto = options.crypto ?? globalThis.crypto;
  const dir = path.resolve(options.dir);
  const files = Object.fromEntries(
    Object.entries(INIT_FILES).map(([role, name]) => [role, path.join(dir, name)]),
  ) as Record<keyof typeof INIT_FILES, string>;
  const existing = Object.values(files).filter((f) => fs.existsSync(f));
  if (existing.length > 0) {
    throw new StewardError(
      "steward.init.exists",
      `${existing.join(", ")} ${existing.length === 1 ? "exists" : "exist"}; refusing to replace a Steward's CA or configuration (choose a new directory)`,
    );
  }
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });

  const { ca, keyPem } = await createCa({ now: options.now, crypto });
  const tls = await issueTlsCert(ca, { now: options.now, sans: options.sans ?? [] });
  const token = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");

  // The CA key first: once it exists, a second init in this directory is refused.
  writeKeyFile(files.caKey, keyPem);
  writeNewFile(files.caCert, ca.certPem, 0o644);
  writeKeyFile(files.tlsKey, tls.keyPem);
  // The TLS file is the chain a client needs: the Steward's certificate, then the CA's.
  writeNewFile(files.tlsCert, tls.certPem + ca.certPem, 0o644);
  writeNewFile(files.policy, DEFAULT_POLICY_TEXT, 0o644);
  // 0600: it holds the admin token.
  writeNewFile(files.config, configText(options.listen ?? "127.0.0.1:8443", token), 0o600);

  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", ca.cert.rawData));
  const caFingerprint = Array.from(digest, (b) =>
    b.toString(16).padStart(2, "0").toUpperCase(),
  ).join(":");
  return { files, caFingerprint };
}

function configText(listen: string, token: string): string {
  return `# Donjon Steward configuration, written by donjon steward init.
# Run it with: donjon steward --config ${INIT_FILES.config}
# Relative paths are relative to this file. Every key is checked.

listen = "${listen}"           # HOST:PORT; plain_http = true instead of [tls] only on loopback
policy = "${INIT_FILES.policy}"
storage = "sqlite:steward.db"     # or "postgres://USER@HOST:PORT/DB"

[tls]
cert = "${INIT_FILES.tlsCert}"    # the Steward's certificate, then the CA's
key = "${INIT_FILES.tlsKey}"

[ca]
cert = "${INIT_FILES.caCert}"
key = "${INIT_FILES.caKey}"       # mode 0600; the Steward refuses a key others can read

[admin]
# Bearer tokens for /api/v1/admin/* (at least 32 characters each).
# This file holds them: keep it mode 0600.
tokens = ["${token}"]

[limits]
body = "256KiB"          # largest request body
body_timeout = "10s"     # longest a request body may take to arrive

# Intel SGX and TDX collateral (TCB Info, QE Identity, CRLs). Without a source,
# SGX and TDX evidence is refused (config.dcap).
# [dcap]
# pcs_url = "https://api.trustedservices.intel.com"   # Intel PCS, or your PCCS
# collateral_dir = "intel"                            # offline files, read at start
`;
}
