/**
 * The host's sandbox signing key, kept in a state directory the caller passes
 * (the CLI resolves `$XDG_STATE_HOME/donjon` or `~/.local/state/donjon`):
 *
 * - `sandbox-key.pem`: the ECDSA P-384 private key, PKCS#8 PEM, mode 0600,
 *   created atomically (temporary file, fsync, then a hard link that never
 *   replaces an existing key, so two Keeps starting at once agree on one key);
 * - `sandbox-key.pub.pem`: its SubjectPublicKeyInfo, PEM, mode 0644 — what a
 *   Steward is given to trust this host's sandbox evidence.
 *
 * A key file that group or others may access is refused with an error naming
 * the file and the `chmod` that fixes it. The only file of @donjon/keep that
 * touches the filesystem for the Keep's identity.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { KeepError } from "./error.ts";
import type { SandboxSigner } from "./sandbox_evidence.ts";

/** File name of the private key inside the state directory. */
export const SANDBOX_KEY_FILE = "sandbox-key.pem";
/** File name of the public key inside the state directory. */
export const SANDBOX_PUBLIC_KEY_FILE = "sandbox-key.pub.pem";

/** Options of {@link loadOrCreateSandboxKey}. */
export interface SandboxKeyOptions {
  /** The state directory (created with mode 0700 when missing). Required; no default is read from the environment here. */
  stateDir: string;
  /** When false, a missing key is an error instead of being created. Default true. */
  create?: boolean;
  /** WebCrypto implementation. Default: `globalThis.crypto`. */
  crypto?: Crypto;
}

/** The host's sandbox key, loaded. */
export interface SandboxKey extends SandboxSigner {
  /** SHA-256 of `spki`: the `host_key_id` of the evidence it signs. */
  keyId: Uint8Array;
  /** Absolute path of the private key file. */
  keyPath: string;
  /** Absolute path of the public key file. */
  publicKeyPath: string;
  /** True when this call created the key. */
  created: boolean;
}

const ALG = { name: "ECDSA", namedCurve: "P-384" } as const;

/**
 * Load the host's sandbox key from `stateDir`, creating it when missing.
 * The returned private key is non-extractable.
 *
 * @throws {KeepError} `keep.sandbox_key.permissions` for a key file group or others can access;
 *   `keep.sandbox_key.invalid` for a key file that is not an ECDSA P-384 PKCS#8 PEM key
 *   (or missing with `create: false`).
 */
export async function loadOrCreateSandboxKey(options: SandboxKeyOptions): Promise<SandboxKey> {
  const crypto = options.crypto ?? globalThis.crypto;
  if (typeof options.stateDir !== "string" || options.stateDir === "") {
    throw new KeepError("keep.sandbox_key.invalid", "stateDir: expected a directory path");
  }
  const dir = path.resolve(options.stateDir);
  const keyPath = path.join(dir, SANDBOX_KEY_FILE);
  const publicKeyPath = path.join(dir, SANDBOX_PUBLIC_KEY_FILE);
  let created = false;
  let pem = readKeyFile(keyPath);
  if (pem === null) {
    if (options.create === false) {
      throw new KeepError(
        "keep.sandbox_key.invalid",
        `no sandbox key at ${keyPath}; run a sandbox Keep once to create it`,
      );
    }
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const pair = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
    created = createExclusive(keyPath, toPem("PRIVATE KEY", pkcs8));
    pem = readKeyFile(keyPath);
    if (pem === null) {
      throw new KeepError("keep.sandbox_key.invalid", `${keyPath} vanished while it was created`);
    }
  }
  const { privateKey, spki } = await importPem(keyPath, pem, crypto);
  const publicPem = toPem("PUBLIC KEY", spki);
  let current: string | null = null;
  try {
    current = fs.readFileSync(publicKeyPath, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  if (current !== publicPem) replaceAtomically(publicKeyPath, publicPem, 0o644);
  const keyId = new Uint8Array(
    await crypto.subtle.digest("SHA-256", spki as Uint8Array<ArrayBuffer>),
  );
  return { privateKey, spki, keyId, keyPath, publicKeyPath, created };
}

/** The key file's text, or null when it does not exist. Refuses symlinks, non-files and loose modes. */
function readKeyFile(file: string): string | null {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    if (code === "ELOOP") {
      throw new KeepError("keep.sandbox_key.invalid", `${file} is a symbolic link; refusing it`, {
        cause: e,
      });
    }
    throw new KeepError("keep.sandbox_key.invalid", `cannot open ${file}: ${code}`, { cause: e });
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile()) {
      throw new KeepError("keep.sandbox_key.invalid", `${file} is not a regular file`);
    }
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new KeepError(
        "keep.sandbox_key.permissions",
        `sandbox key ${file} is accessible by group or others (mode ${mode.toString(8).padStart(4, "0")}, expected 0600); fix it with: chmod 600 ${file}`,
      );
    }
    return fs.readFileSync(fd, "utf8");
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Write `text` to a new file at `file` with mode 0600, never replacing one
 * that exists: temporary file, fsync, hard link. False when another process won the race.
 */
function createExclusive(file: string, text: string): boolean {
  const tmp = tempName(file);
  writeSynced(tmp, text, 0o600);
  try {
    fs.linkSync(tmp, file);
    syncDir(path.dirname(file));
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Replace `file` with `text` atomically: temporary file, fsync, rename. */
function replaceAtomically(file: string, text: string, mode: number): void {
  const tmp = tempName(file);
  try {
    writeSynced(tmp, text, mode);
    fs.renameSync(tmp, file);
    syncDir(path.dirname(file));
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function tempName(file: string): string {
  const nonce = Array.from(globalThis.crypto.getRandomValues(new Uint8Array(6)), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
  return `${file}.${nonce}.tmp`;
}

function writeSynced(file: string, text: string, mode: number): void {
  const fd = fs.openSync(file, "wx", mode);
  try {
    fs.fchmodSync(fd, mode); // the umask may have removed bits from 0644
    fs.writeFileSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function syncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function toPem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

const PEM =
  /^-----BEGIN PRIVATE KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PRIVATE KEY-----\r?\n?$/;

/** Import the PKCS#8 PEM: a non-extractable signing key and the SPKI of its public half. */
async function importPem(
  file: string,
  pem: string,
  crypto: Crypto,
): Promise<{ privateKey: CryptoKey; spki: Uint8Array }> {
  const m = PEM.exec(pem);
  const bad = (why: string, cause?: unknown) =>
    new KeepError(
      "keep.sandbox_key.invalid",
      `sandbox key ${file}: ${why}; move it away and run again to create a new key`,
      cause === undefined ? {} : { cause },
    );
  if (!m) throw bad("expected one PKCS#8 PEM block (-----BEGIN PRIVATE KEY-----)");
  const der = new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
  try {
    const extractable = await crypto.subtle.importKey("pkcs8", der, ALG, true, ["sign"]);
    const { d: _d, key_ops: _ops, ...pub } = await crypto.subtle.exportKey("jwk", extractable);
    const publicKey = await crypto.subtle.importKey("jwk", pub, ALG, true, ["verify"]);
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
    const privateKey = await crypto.subtle.importKey("pkcs8", der, ALG, false, ["sign"]);
    return { privateKey, spki };
  } catch (e) {
    throw bad("expected an ECDSA P-384 private key", e);
  }
}
