/**
 * The verdict shape shared by `validate.ts` (policy checks) and `verify.ts`
 * (signatures, chains, CRLs): every check that ran, pass or fail.
 */
import { CODES, type EvidenceCode, type PolicyCode } from "./codes.ts";

/** One check that ran. A failed check carries a stable code, expected and actual values, and a remedy. */
export interface Check {
  /** Stable identifier of the check, e.g. `snp.policy.debug` (one per check, pass or fail). */
  id: string;
  /** Whether the evidence met this check. */
  ok: boolean;
  /** Stable error code from `docs/errors.md`; set when `ok` is false. */
  code?: string;
  /** What the policy (or the verifier) wanted, human-readable. */
  expected?: string;
  /** What the evidence carried, human-readable. */
  actual?: string;
  /** How to fix a failure. */
  remedy?: string;
  /** `"error"` (the default when absent) fails the verdict; `"warning"` does not. */
  severity?: "error" | "warning";
}

/** A check that passed. */
export function passed(id: string): Check {
  return { id, ok: true };
}

/** A failed check: its code, what was wanted and found, and the code's remedy from the registry. */
export function failed(
  id: string,
  code: EvidenceCode | PolicyCode,
  detail: { expected: string; actual: string },
): Check {
  return { id, ok: false, code, ...detail, remedy: CODES[code].remedy };
}
