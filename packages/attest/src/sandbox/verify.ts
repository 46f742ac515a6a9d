/**
 * Verify parsed sandbox evidence: the signature by a host sandbox key the
 * caller trusts, and freshness against the injected verification time. It
 * checks nothing the policy decides (`validate.ts`) — in particular it does not
 * decide whether software evidence is acceptable at all.
 *
 * Trust is data: the caller passes the SPKI of every host key it trusts (for
 * example read from `sandbox-key.pub.pem` in the host's state directory). A key
 * id in the evidence is only a hint to find the key; the signature decides.
 */
import { bytesEqual, toHex } from "../_bytes.ts";
import { CODES, type EvidenceCode } from "../codes.ts";
import { OptionsError } from "../error.ts";
import type { Check } from "../verdict.ts";
import type { SandboxEvidence } from "./abi.ts";

/** Default `maxAge`: 5 minutes. */
export const SANDBOX_DEFAULT_MAX_AGE_MS = 5 * 60 * 1000;
/** Default `maxClockSkew`: 1 minute. */
export const SANDBOX_DEFAULT_MAX_CLOCK_SKEW_MS = 60 * 1000;

/** Options of {@link verifySandboxEvidence}. */
export interface SandboxVerifyOptions {
  /** DER SubjectPublicKeyInfo (ECDSA P-384) of every host sandbox key trusted to sign evidence. Required; may be empty (then nothing verifies). */
  trustedHostKeys: readonly Uint8Array[];
  /** The verification time. Required. */
  now: Date;
  /** Oldest accepted evidence, in milliseconds before `now`. Default 300 000 (5 minutes). */
  maxAge?: number;
  /** How far in the future of `now` `issued_at` may lie (clock skew), in milliseconds. Default 60 000. */
  maxClockSkew?: number;
  /** WebCrypto implementation. Default: `globalThis.crypto`. */
  crypto?: Crypto;
}

/** The result of {@link verifySandboxEvidence}. */
export interface SandboxVerifyResult {
  /** True when no check failed. */
  ok: boolean;
  /** Every check that ran, in order: host key, signature (when the key is trusted), freshness. */
  checks: Check[];
}

/** SHA-256 of a DER SPKI, hex: the `host_key_id` of evidence signed with that key. */
export async function sandboxHostKeyId(spki: Uint8Array, crypto: Crypto = globalThis.crypto) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", spki as Uint8Array<ArrayBuffer>));
}

/**
 * Check the signature and freshness of parsed sandbox evidence.
 *
 * @throws {OptionsError} `options.invalid` for a missing `now`, a negative age or a trusted key that is not a P-384 SPKI.
 */
export async function verifySandboxEvidence(
  evidence: SandboxEvidence,
  options: SandboxVerifyOptions,
): Promise<SandboxVerifyResult> {
  const o = resolve(options);
  const checks: Check[] = [];

  // ── host key: one of the trusted keys has this id ─────────────────────
  let key: CryptoKey | null = null;
  const ids: string[] = [];
  for (const [i, spki] of o.trustedHostKeys.entries()) {
    const id = await sandboxHostKeyId(spki, o.crypto);
    ids.push(toHex(id));
    if (key === null && bytesEqual(id, evidence.hostKeyId))
      key = await importKey(spki, i, o.crypto);
  }
  const actualId = toHex(evidence.hostKeyId);
  if (key === null) {
    checks.push(
      failed(
        "sandbox.verify.host_key",
        "sandbox.verify.untrusted_key",
        ids.length === 0
          ? "a trusted host sandbox key (none is trusted)"
          : `a host sandbox key with id in [${ids.join(", ")}]`,
        `host_key_id ${actualId}`,
      ),
    );
  } else {
    checks.push({ id: "sandbox.verify.host_key", ok: true, actual: `host_key_id ${actualId}` });
    // ── signature over bytes 0x000–0x0EF as received ──────────────────
    const ok = await o.crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-384" },
      key,
      evidence.signature as Uint8Array<ArrayBuffer>,
      evidence.signedRegion as Uint8Array<ArrayBuffer>,
    );
    checks.push(
      ok
        ? { id: "sandbox.verify.signature", ok: true, actual: "ECDSA P-384/SHA-384 verified" }
        : failed(
            "sandbox.verify.signature",
            "sandbox.verify.signature",
            `an ECDSA P-384/SHA-384 signature by host key ${actualId} over bytes 0x000–0x0EF`,
            "the signature does not verify",
          ),
    );
  }

  // ── freshness ──────────────────────────────────────────────────────────
  const issued = evidence.issuedAt.getTime();
  const now = o.now.getTime();
  const window = `issued between ${new Date(now - o.maxAge).toISOString()} and ${new Date(now + o.maxClockSkew).toISOString()}`;
  const actual = `issued at ${evidence.issuedAt.toISOString()}`;
  if (issued < now - o.maxAge) {
    checks.push(failed("sandbox.verify.freshness", "sandbox.verify.stale", window, actual));
  } else if (issued > now + o.maxClockSkew) {
    checks.push(failed("sandbox.verify.freshness", "sandbox.verify.future", window, actual));
  } else checks.push({ id: "sandbox.verify.freshness", ok: true, expected: window, actual });

  return { ok: checks.every((c) => c.ok), checks };
}

interface Resolved {
  trustedHostKeys: readonly Uint8Array[];
  now: Date;
  maxAge: number;
  maxClockSkew: number;
  crypto: Crypto;
}

/** Check the options once and fill in the defaults. */
export function resolve(options: SandboxVerifyOptions): Resolved {
  if (typeof options !== "object" || options === null) invalid("expected an options object");
  if (!(options.now instanceof Date) || Number.isNaN(options.now.getTime())) {
    invalid("now: expected a valid Date (the verification time)");
  }
  if (
    !Array.isArray(options.trustedHostKeys) ||
    !options.trustedHostKeys.every((k) => k instanceof Uint8Array)
  ) {
    invalid("trustedHostKeys: expected an array of DER SPKI Uint8Arrays");
  }
  const ms = (name: string, v: number | undefined, dflt: number): number => {
    if (v === undefined) return dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      invalid(`${name}: expected a non-negative number of milliseconds, got ${String(v)}`);
    }
    return v;
  };
  return {
    trustedHostKeys: options.trustedHostKeys,
    now: options.now,
    maxAge: ms("maxAge", options.maxAge, SANDBOX_DEFAULT_MAX_AGE_MS),
    maxClockSkew: ms("maxClockSkew", options.maxClockSkew, SANDBOX_DEFAULT_MAX_CLOCK_SKEW_MS),
    crypto: options.crypto ?? globalThis.crypto,
  };
}

async function importKey(spki: Uint8Array, i: number, crypto: Crypto): Promise<CryptoKey> {
  try {
    return await crypto.subtle.importKey(
      "spki",
      spki as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: "P-384" },
      false,
      ["verify"],
    );
  } catch (cause) {
    throw new OptionsError(
      "options.invalid",
      `verifySandboxEvidence: trustedHostKeys[${i}]: expected an ECDSA P-384 SubjectPublicKeyInfo (DER)`,
      { cause },
    );
  }
}

function failed(id: string, code: EvidenceCode, expected: string, actual: string): Check {
  return { id, ok: false, code, expected, actual, remedy: CODES[code].remedy, severity: "error" };
}

function invalid(message: string): never {
  throw new OptionsError("options.invalid", `verifySandboxEvidence: ${message}`);
}
