/**
 * The policy file of `donjon verify --policy FILE`: TOML mapped onto
 * @donjon/client's `KeepPeerPolicy`, read strictly like `donjon attest
 * verify`'s policy (an unknown key, a wrong type or a malformed value names
 * the key, the file and the line). Every key is optional; an absent one is not
 * checked.
 *
 * ```toml
 * steward_ca = "steward/ca.pem"     # the Steward's CA (relative to this file); --steward-ca wins
 * tees = ["snp", "tdx"]             # TEE types accepted (snp, tdx, sgx, sandbox)
 * allow_software = false            # accept the software tier (a sandbox Keep); default false
 * measurements = ["<hex>"]          # launch measurements accepted (32–64 bytes of hex each)
 * workloads = ["<64 hex>"]          # workload identities accepted (--workload adds one that must match)
 * tcb_statuses = ["meets-minimum"]  # TCB statuses accepted (meets-minimum, not-checked, none; Intel's UpToDate…)
 * ignore_hostname = false           # do not check the host against the certificate's names
 * ```
 */
import * as path from "node:path";
import { KEEP_CLAIMS_TCB_STATUSES, KEEP_CLAIMS_TEES } from "@donjon/attest/claims";
import type { KeepPeerPolicy } from "@donjon/client";
import { type Path, readStrictToml, show, typeName } from "../_toml_strict.ts";

/** A validated `donjon verify` policy file. */
export interface VerifyPolicy {
  policy: KeepPeerPolicy;
  /** `steward_ca`, resolved against the policy file's directory; undefined when absent. */
  stewardCa?: string;
  /** `ignore_hostname`. */
  ignoreHostname: boolean;
}

const KEYS = [
  "steward_ca",
  "tees",
  "allow_software",
  "measurements",
  "workloads",
  "tcb_statuses",
  "ignore_hostname",
];

/**
 * Parse and validate a policy file.
 * @param source the file's text
 * @param file the path the user gave (messages name it; `steward_ca` is relative to it)
 * @param cwd the directory `file` is relative to
 * @throws {CliError} `CONFIG` naming the file, the line and the key.
 */
export function parseVerifyPolicy(source: string, file: string, cwd: string): VerifyPolicy {
  const { doc, fail, keys } = readStrictToml(source, file);
  keys(doc, [], KEYS);
  const bool = (k: string): boolean | undefined => {
    const v = doc[k];
    if (v === undefined) return undefined;
    return typeof v === "boolean" ? v : fail([k], `"${k}" must be a boolean, got ${typeName(v)}`);
  };
  const strings = (k: string, ok: (s: string) => boolean, want: string): string[] | undefined => {
    const v = doc[k];
    if (v === undefined) return undefined;
    if (!Array.isArray(v))
      return fail([k], `"${k}" must be an array of strings, got ${typeName(v)}`);
    if (v.length === 0) fail([k], `"${k}" must not be empty (leave it out to skip the check)`);
    return v.map((x: unknown, i: number) => {
      const p: Path = [k, i];
      if (typeof x !== "string")
        return fail(p, `"${show(p)}" must be a string, got ${typeName(x)}`);
      const s = x.replace(/^0x/i, "");
      return ok(s)
        ? s.toLowerCase()
        : fail(p, `"${show(p)}" must be ${want}, got ${JSON.stringify(x)}`);
    });
  };
  const policy: KeepPeerPolicy = {};
  const tees = strings(
    "tees",
    (s) => (KEEP_CLAIMS_TEES as readonly string[]).includes(s),
    `one of ${KEEP_CLAIMS_TEES.join(", ")}`,
  );
  if (tees) policy.tees = tees;
  const allowSoftware = bool("allow_software");
  if (allowSoftware !== undefined) policy.allowSoftware = allowSoftware;
  const measurements = strings(
    "measurements",
    (s) => /^(?:[0-9a-fA-F]{2}){32,64}$/.test(s),
    "hex of 32–64 bytes",
  );
  if (measurements) policy.measurements = measurements;
  const workloads = strings("workloads", (s) => /^[0-9a-fA-F]{64}$/.test(s), "64 hex digits");
  if (workloads) policy.workloads = workloads;
  const tcb = strings(
    "tcb_statuses",
    (s) => (KEEP_CLAIMS_TCB_STATUSES as readonly string[]).includes(s),
    `one of ${KEEP_CLAIMS_TCB_STATUSES.join(", ")}`,
  );
  if (tcb) policy.tcbStatuses = tcb;
  let stewardCa: string | undefined;
  if (doc.steward_ca !== undefined) {
    if (typeof doc.steward_ca !== "string" || doc.steward_ca === "") {
      fail(["steward_ca"], `"steward_ca" must be a file path, got ${typeName(doc.steward_ca)}`);
    }
    stewardCa = path.resolve(path.dirname(path.resolve(cwd, file)), doc.steward_ca as string);
  }
  return {
    policy,
    ignoreHostname: bool("ignore_hostname") ?? false,
    ...(stewardCa === undefined ? {} : { stewardCa }),
  };
}
