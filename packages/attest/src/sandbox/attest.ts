/**
 * One entry point for Donjon sandbox evidence: parse (`abi.ts`) → verify
 * (`verify.ts`) → validate (`validate.ts`), every check collected into one
 * verdict whose claims say `tee: "sandbox"`, `tier: "software"` and
 * `confidential: false` — software evidence is labelled as such everywhere and
 * never passes a policy that did not ask for it.
 *
 * Bad evidence never throws: a record that does not parse gives a verdict whose
 * failed check carries the parser's code. Only bad options throw (`OptionsError`).
 */
import { toHex } from "../_bytes.ts";
import { CODES } from "../codes.ts";
import { EvidenceError, OptionsError } from "../error.ts";
import type { Check } from "../verdict.ts";
import { parseSandboxEvidence, type SandboxEvidence } from "./abi.ts";
import { resolvePolicy, type SandboxValidateOptions, validateSandboxEvidence } from "./validate.ts";
import { resolve, type SandboxVerifyOptions, verifySandboxEvidence } from "./verify.ts";

/** Options of {@link attestSandbox}: the verifier's (trusted host keys, time, freshness) and the policy. */
export interface AttestSandboxOptions extends SandboxVerifyOptions {
  /** The policy. Default `{}`: the software tier is refused (`sandbox.policy.software_tier`). */
  policy?: SandboxValidateOptions;
}

/** The decoded statement in a stable JSON shape (snake_case, bytes as lower-case hex). */
export interface SandboxClaims {
  tee: "sandbox";
  /** Software: no hardware protects the Keep from its host. */
  tier: "software";
  /** Always false: the host can read and change the workload and its data. */
  confidential: false;
  version: 1;
  /** ISO 8601. */
  issued_at: string;
  host_key_id: string;
  runtime_measurement: string;
  workload_identity: string;
  report_data: string;
}

/** The verdict on one piece of sandbox evidence. */
export interface SandboxVerdict {
  /** True when no check with severity "error" failed. */
  ok: boolean;
  tee: "sandbox";
  tier: "software";
  /** Every check that ran, in order: parse, verify, validate. */
  checks: Check[];
  /** Failed checks of severity "warning" (none today; kept for the shape shared with `attestSnp`). */
  warnings: Check[];
  /** What the statement claims; null when it did not parse. */
  claims: SandboxClaims | null;
}

/**
 * Parse, verify and validate one sandbox evidence record, collecting every check.
 *
 * @throws {OptionsError} `options.invalid` for bad options (missing `now`, bad trusted keys, a malformed policy).
 */
export async function attestSandbox(
  evidence: Uint8Array,
  options: AttestSandboxOptions,
): Promise<SandboxVerdict> {
  resolve(options);
  if (options.policy !== undefined) resolvePolicy(options.policy);
  if (!(evidence instanceof Uint8Array)) {
    throw new OptionsError("options.invalid", "attestSandbox: evidence: expected a Uint8Array");
  }
  const checks: Check[] = [];
  const verdict = (claims: SandboxClaims | null): SandboxVerdict => ({
    ok: checks.every((c) => c.ok || c.severity === "warning"),
    tee: "sandbox",
    tier: "software",
    checks,
    warnings: checks.filter((c) => c.severity === "warning" && c.code !== undefined),
    claims,
  });

  let parsed: SandboxEvidence;
  try {
    parsed = parseSandboxEvidence(evidence);
  } catch (e) {
    if (!(e instanceof EvidenceError)) throw e;
    checks.push({
      id: "sandbox.parse",
      ok: false,
      code: e.code,
      expected: "well-formed sandbox evidence (format version 1)",
      actual: e.message,
      remedy: CODES[e.code].remedy,
      severity: "error",
    });
    return verdict(null);
  }
  checks.push({ id: "sandbox.parse", ok: true, actual: "version 1, tee sandbox, tier software" });
  checks.push(...(await verifySandboxEvidence(parsed, options)).checks);
  checks.push(...validateSandboxEvidence(parsed, options.policy ?? {}));
  return verdict(sandboxClaims(parsed));
}

/** The claims of parsed sandbox evidence. */
export function sandboxClaims(e: SandboxEvidence): SandboxClaims {
  return {
    tee: "sandbox",
    tier: "software",
    confidential: false,
    version: e.version,
    issued_at: e.issuedAt.toISOString(),
    host_key_id: toHex(e.hostKeyId),
    runtime_measurement: toHex(e.runtimeMeasurement),
    workload_identity: toHex(e.workloadIdentity),
    report_data: toHex(e.reportData),
  };
}
