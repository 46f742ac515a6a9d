/**
 * Validate parsed sandbox evidence against a policy: every check runs and is
 * returned, pass or fail. The first check is the tier itself — software
 * evidence fails unless the policy explicitly asks for it (DESIGN.md, "the
 * Steward accepts it only when its policy says so").
 */
import { bytesEqual, fromHex, toHex } from "../_bytes.ts";
import { CODES, type PolicyCode } from "../codes.ts";
import { OptionsError } from "../error.ts";
import type { Check } from "../verdict.ts";
import type { SandboxEvidence } from "./abi.ts";

/** Bytes, or the same bytes as hex. */
export type SandboxBytes = Uint8Array | string;

/** The policy for sandbox evidence. Every field is optional; unset fields are not checked, except the tier. */
export interface SandboxValidateOptions {
  /**
   * Accept software-tier evidence (no hardware protection: the host can read
   * and change the Keep). Default false: sandbox evidence always fails with
   * `sandbox.policy.software_tier` unless this is exactly `true`.
   */
  allowSoftwareTier?: boolean;
  /** The expected 64-byte report_data (the key binding). Not checked if unset. */
  reportData?: SandboxBytes;
  /** Allowed 48-byte runtime measurements. Not checked if unset. */
  runtimeMeasurements?: readonly SandboxBytes[];
  /** Allowed 32-byte workload identities. Not checked if unset. */
  workloadIdentities?: readonly SandboxBytes[];
}

/**
 * Every policy check on the evidence; a failure has severity "error".
 *
 * @throws {OptionsError} `options.invalid` when a policy value has the wrong length or is not hex.
 */
export function validateSandboxEvidence(
  evidence: SandboxEvidence,
  policy: SandboxValidateOptions = {},
): Check[] {
  const p = resolvePolicy(policy);
  const checks: Check[] = [];
  const tier = "tier software (no hardware protection; the host can read and change the Keep)";
  checks.push(
    p.allowSoftwareTier
      ? {
          id: "sandbox.policy.software_tier",
          ok: true,
          expected: "software tier allowed",
          actual: tier,
        }
      : failed(
          "sandbox.policy.software_tier",
          "hardware-backed evidence (the policy does not allow the software tier)",
          tier,
        ),
  );
  if (p.reportData) {
    const actual = toHex(evidence.reportData);
    const want = toHex(p.reportData);
    checks.push(
      bytesEqual(evidence.reportData, p.reportData)
        ? { id: "sandbox.policy.report_data", ok: true, expected: want, actual }
        : failed("sandbox.policy.report_data", want, actual),
    );
  }
  const member = (
    code: PolicyCode,
    allowed: readonly Uint8Array[] | undefined,
    value: Uint8Array,
  ) => {
    if (!allowed) return;
    const expected = `one of [${allowed.map(toHex).join(", ")}]`;
    const actual = toHex(value);
    checks.push(
      allowed.some((a) => bytesEqual(a, value))
        ? { id: code, ok: true, expected, actual }
        : failed(code, expected, actual),
    );
  };
  member("sandbox.policy.runtime_measurement", p.runtimeMeasurements, evidence.runtimeMeasurement);
  member("sandbox.policy.workload_identity", p.workloadIdentities, evidence.workloadIdentity);
  return checks;
}

interface ResolvedPolicy {
  allowSoftwareTier: boolean;
  reportData: Uint8Array | undefined;
  runtimeMeasurements: Uint8Array[] | undefined;
  workloadIdentities: Uint8Array[] | undefined;
}

/** Check the policy once and decode its byte values. */
export function resolvePolicy(policy: SandboxValidateOptions): ResolvedPolicy {
  if (typeof policy !== "object" || policy === null) invalid("expected a policy object");
  const a = policy.allowSoftwareTier;
  if (a !== undefined && typeof a !== "boolean") {
    invalid(`allowSoftwareTier: expected a boolean, got ${typeof a}`);
  }
  const list = (name: string, v: readonly SandboxBytes[] | undefined, size: number) => {
    if (v === undefined) return undefined;
    if (!Array.isArray(v)) invalid(`${name}: expected an array`);
    return v.map((x, i) => bytes(`${name}[${i}]`, x, size));
  };
  return {
    allowSoftwareTier: a === true,
    reportData:
      policy.reportData === undefined ? undefined : bytes("reportData", policy.reportData, 64),
    runtimeMeasurements: list("runtimeMeasurements", policy.runtimeMeasurements, 48),
    workloadIdentities: list("workloadIdentities", policy.workloadIdentities, 32),
  };
}

function bytes(name: string, v: SandboxBytes, size: number): Uint8Array {
  const b = typeof v === "string" ? fromHex(v) : v instanceof Uint8Array ? v : undefined;
  if (b === undefined) invalid(`${name}: expected ${size} bytes as a Uint8Array or hex`);
  if (b.length !== size) invalid(`${name}: expected ${size} bytes, got ${b.length}`);
  return b;
}

function failed(code: PolicyCode, expected: string, actual: string): Check {
  return {
    id: code,
    ok: false,
    code,
    expected,
    actual,
    remedy: CODES[code].remedy,
    severity: "error",
  };
}

function invalid(message: string): never {
  throw new OptionsError("options.invalid", `validateSandboxEvidence: ${message}`);
}
