/**
 * Errors of @donjon/attest. Three classes, three meanings (STYLE "Errors"):
 *
 * - `EvidenceError`: the evidence is broken — malformed, inconsistent or
 *   unverifiable. Thrown by the parsers.
 * - `PolicyError`: the evidence is fine but not what the policy wants. The
 *   validators return failed `Check`s; `PolicyError` carries them when a caller
 *   wants to throw (see `throwIfRejected`).
 * - `OptionsError`: the caller passed invalid options.
 *
 * Every code is registered in `codes.ts` and listed in `docs/errors.md`.
 */
import type { EvidenceCode, PolicyCode, UsageCode } from "./codes.ts";
import type { Check } from "./verdict.ts";

export type { EvidenceCode, PolicyCode, UsageCode } from "./codes.ts";

/** The evidence is broken: malformed, inconsistent or unverifiable. */
export class EvidenceError extends Error {
  readonly code: EvidenceCode;
  constructor(code: EvidenceCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EvidenceError";
    this.code = code;
  }
}

/** The evidence is fine but not what the policy wants; `checks` holds every failed check. */
export class PolicyError extends Error {
  /** The code of the first failed check. */
  readonly code: PolicyCode;
  /** Every failed check (severity "error"), in the order they ran. */
  readonly checks: readonly Check[];
  constructor(
    code: PolicyCode,
    message: string,
    checks: readonly Check[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "PolicyError";
    this.code = code;
    this.checks = checks;
  }
}

/** The caller passed invalid options (a wrong length, bad hex, a value out of range). */
export class OptionsError extends Error {
  readonly code: UsageCode;
  constructor(code: UsageCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OptionsError";
    this.code = code;
  }
}

/** A `snp.kds.*`, `snp.collateral.*`, `dcap.pcs.*` or `dcap.collateral.*` code: collateral could not be obtained. */
export type CollateralCode = Extract<
  EvidenceCode,
  | `snp.kds.${string}`
  | `snp.collateral.${string}`
  | `dcap.pcs.${string}`
  | `dcap.collateral.${string}`
>;

/**
 * Collateral (certificates, CRLs) could not be obtained: from the AMD KDS, or
 * from an offline bundle. Without it the evidence cannot be verified.
 */
export class CollateralError extends Error {
  readonly code: CollateralCode;
  /** The URL concerned: the one requested, or the one a missing item can be fetched from. */
  readonly url: string | undefined;
  /** The last HTTP status received, when there was one. */
  readonly status: number | undefined;
  /** How many requests were made, when any were. */
  readonly attempts: number | undefined;
  constructor(
    code: CollateralCode,
    message: string,
    options: { url?: string; status?: number; attempts?: number; cause?: unknown } = {},
  ) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.name = "CollateralError";
    this.code = code;
    this.url = options.url;
    this.status = options.status;
    this.attempts = options.attempts;
  }
}
