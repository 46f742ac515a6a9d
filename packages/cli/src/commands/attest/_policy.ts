/**
 * The attestation policy file of `donjon attest verify --policy FILE`: TOML
 * mapped onto `SnpValidateOptions` of @donjon/attest (its README documents
 * each check).
 *
 * ```toml
 * debug = false                 # allow POLICY.DEBUG (default false)
 * migrate_ma = false            # allow POLICY.MIGRATE_MA (default false)
 * smt = true                    # allow PLATFORM_INFO.SMT_EN (default true)
 * vmpl = 0                      # exact VMPL; max_vmpl = 1 for "at most"
 * signing_keys = ["vcek"]       # vcek, vlek (default both)
 * min_guest_svn = 1
 * report_data = "00…"           # 128 hex digits
 * measurements = ["…"]          # 96 hex digits each
 * host_data = ["…"]             # 64 hex digits each
 * id_key_digests = ["…"]        # 96 hex digits each
 * author_key_digests = ["…"]    # 96 hex digits each
 * family_ids = ["…"]            # 32 hex digits each
 * image_ids = ["…"]             # 32 hex digits each
 * min_firmware = "1.55.0"       # CURRENT major.minor[.build]
 * min_policy_abi = "0.0"        # POLICY.ABI major.minor
 * require_crl = true            # a CRL must be checked (as --require-crl)
 * csp_ids = ["CN=cc-us-east-2.amazonaws.com"]  # cloud providers whose VLEK is accepted
 * [min_tcb]                     # minimum REPORTED_TCB components (0–255)
 * bootloader = 3
 * tee = 0
 * snp = 8
 * microcode = 115
 * fmc = 0                       # Turin only
 * [platform_info]               # PLATFORM_INFO flags that must be set / clear
 * require = ["tsme_enabled"]
 * forbid = ["smt_enabled"]
 * ```
 *
 * The top-level keys are SEV-SNP's (`require_crl` applies to every TEE). Intel
 * quotes are appraised by the `[sgx]` or `[tdx]` table, mapped onto
 * `DcapValidateOptions`; a table for the other TEE is not used:
 *
 * ```toml
 * [sgx]                         # and [tdx]: common keys
 * tcb_statuses = ["UpToDate", "SWHardeningNeeded"]  # default ["UpToDate"]; never Revoked
 * advisory_ids = ["INTEL-SA-00615"]  # advisories accepted (default: not checked)
 * debug = false                 # allow a debug enclave / TD (default false)
 * report_data = "00…"           # 128 hex digits
 * require_collateral = true     # TCB Info and QE Identity required (default true)
 * mr_enclave = ["…"]            # SGX: 64 hex digits each (a string: one value)
 * mr_signer = ["…"]             # 64 hex digits each
 * isv_prod_id = 0
 * min_isv_svn = 1
 * misc_select = 0x00000000      # with misc_select_mask = 0xFFFFFFFF (default)
 * [tdx]
 * mr_td = ["…"]                 # TDX: 96 hex digits each; rtmr0…rtmr3, mr_config_id,
 * rtmr0 = "…"                   #      mr_owner, mr_owner_config likewise
 * xfam = "e702060000000000"     # 16 hex digits, as in the quote (little-endian)
 * ```
 *
 * Strict: an unknown key, a wrong type or a malformed value is an error that
 * names the key, the file and the line.
 */
import {
  ACCEPTABLE_TCB_STATUSES,
  type DcapValidateOptions,
  type SnpPlatformFlag,
  type SnpValidateOptions,
} from "@donjon/attest";
import { type Path, readStrictToml, show, typeName } from "../../_toml_strict.ts";

/** A validated policy file. */
export interface AttestPolicy {
  validate: SnpValidateOptions;
  /** `require_crl`: a CRL must be obtained and checked. */
  requireCrl: boolean;
  /** `csp_ids`: the VLEK cspIDs accepted; undefined when not checked. */
  allowedCspIds?: string[];
  /** `[sgx]`: how an SGX quote is appraised; absent: attest's defaults. */
  sgx?: DcapPolicy;
  /** `[tdx]`: how a TDX quote is appraised; absent: attest's defaults. */
  tdx?: DcapPolicy;
}

/** An `[sgx]` or `[tdx]` table. */
export interface DcapPolicy {
  validate: DcapValidateOptions;
  /** `require_collateral` (default true): false lets a quote without TCB Info or QE Identity pass with warnings. */
  requireCollateral: boolean;
}

const DCAP_COMMON = ["tcb_statuses", "advisory_ids", "debug", "report_data", "require_collateral"];
/** Byte-valued keys: TOML key → [option, size in bytes]. */
const DCAP_BYTES = {
  sgx: { mr_enclave: ["mrEnclave", 32], mr_signer: ["mrSigner", 32] },
  tdx: {
    mr_td: ["mrTd", 48],
    rtmr0: ["rtmr0", 48],
    rtmr1: ["rtmr1", 48],
    rtmr2: ["rtmr2", 48],
    rtmr3: ["rtmr3", 48],
    mr_config_id: ["mrConfigId", 48],
    mr_owner: ["mrOwner", 48],
    mr_owner_config: ["mrOwnerConfig", 48],
  },
} as const;
const DCAP_KEYS = {
  sgx: [
    ...DCAP_COMMON,
    ...Object.keys(DCAP_BYTES.sgx),
    "isv_prod_id",
    "min_isv_svn",
    "misc_select",
    "misc_select_mask",
  ],
  tdx: [...DCAP_COMMON, ...Object.keys(DCAP_BYTES.tdx), "xfam"],
};

const ALLOW_LISTS = {
  measurements: ["measurements", 48],
  host_data: ["hostData", 32],
  id_key_digests: ["idKeyDigests", 48],
  author_key_digests: ["authorKeyDigests", 48],
  family_ids: ["familyIds", 16],
  image_ids: ["imageIds", 16],
} as const;

const TOP_KEYS = [
  "debug",
  "migrate_ma",
  "smt",
  "vmpl",
  "max_vmpl",
  "signing_keys",
  "min_tcb",
  "min_guest_svn",
  "report_data",
  ...Object.keys(ALLOW_LISTS),
  "min_firmware",
  "min_policy_abi",
  "platform_info",
  "require_crl",
  "csp_ids",
  "sgx",
  "tdx",
];
const TCB_KEYS = ["bootloader", "tee", "snp", "microcode", "fmc"] as const;
const PLATFORM_FLAGS: Record<string, SnpPlatformFlag> = {
  smt_enabled: "smtEnabled",
  tsme_enabled: "tsmeEnabled",
  ecc_enabled: "eccEnabled",
  rapl_disabled: "raplDisabled",
  ciphertext_hiding_enabled: "ciphertextHidingEnabled",
  alias_check_complete: "aliasCheckComplete",
  tio_enabled: "tioEnabled",
};

/**
 * Parse and validate a policy file.
 * @param source the file's text
 * @param file how to name the file in messages (the path the user gave)
 */
export function parsePolicy(source: string, file: string): AttestPolicy {
  const { doc, fail, keys, table } = readStrictToml(source, file);
  const bool = (v: unknown, p: Path): boolean =>
    typeof v === "boolean" ? v : fail(p, `"${show(p)}" must be a boolean, got ${typeName(v)}`);
  const int = (v: unknown, p: Path, max: number): number =>
    typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max
      ? v
      : fail(
          p,
          `"${show(p)}" must be an integer 0–${max}, got ${typeName(v) === "integer" ? v : typeName(v)}`,
        );
  const strings = (v: unknown, p: Path): string[] => {
    if (!Array.isArray(v)) fail(p, `"${show(p)}" must be an array of strings, got ${typeName(v)}`);
    const a = v as unknown[];
    if (a.length === 0) fail(p, `"${show(p)}" must not be empty (leave it out to skip the check)`);
    return a.map((x, i) =>
      typeof x === "string"
        ? x
        : fail([...p, i], `"${show([...p, i])}" must be a string, got ${typeName(x)}`),
    );
  };
  const hex = (v: unknown, p: Path, size: number): string => {
    if (typeof v !== "string") fail(p, `"${show(p)}" must be a hex string, got ${typeName(v)}`);
    const s = (v as string).replace(/^0x/i, "");
    if (!/^[0-9a-fA-F]*$/.test(s) || s.length !== 2 * size) {
      fail(
        p,
        `"${show(p)}" must be ${2 * size} hex digits (${size} bytes), got ${JSON.stringify(v)}`,
      );
    }
    return s.toLowerCase();
  };
  const version = (v: unknown, p: Path, parts: 2 | 3) => {
    const re = parts === 3 ? /^(\d+)\.(\d+)(?:\.(\d+))?$/ : /^(\d+)\.(\d+)$/;
    const m = typeof v === "string" ? re.exec(v) : null;
    const want = parts === 3 ? "major.minor[.build]" : "major.minor";
    if (!m)
      fail(
        p,
        `"${show(p)}" must be a string "${want}", got ${typeof v === "string" ? JSON.stringify(v) : typeName(v)}`,
      );
    const n = m!.slice(1).map((x) => (x === undefined ? undefined : Number(x)));
    if (n.some((x) => x !== undefined && x > 255)) fail(p, `"${show(p)}": each part must be 0–255`);
    return { major: n[0]!, minor: n[1]!, ...(n[2] === undefined ? {} : { build: n[2] }) };
  };

  keys(doc, [], TOP_KEYS);
  const o: SnpValidateOptions = {};
  if (doc.debug !== undefined) o.allowDebug = bool(doc.debug, ["debug"]);
  if (doc.migrate_ma !== undefined) o.allowMigrationAgent = bool(doc.migrate_ma, ["migrate_ma"]);
  if (doc.smt !== undefined) o.allowSmt = bool(doc.smt, ["smt"]);
  if (doc.vmpl !== undefined) o.vmpl = int(doc.vmpl, ["vmpl"], 3);
  if (doc.max_vmpl !== undefined) o.maxVmpl = int(doc.max_vmpl, ["max_vmpl"], 3);
  if (doc.signing_keys !== undefined) {
    o.allowedSigningKeys = strings(doc.signing_keys, ["signing_keys"]).map((k, i) =>
      k === "vcek" || k === "vlek"
        ? k
        : fail(
            ["signing_keys", i],
            `"signing_keys[${i}]" must be "vcek" or "vlek", got ${JSON.stringify(k)}`,
          ),
    );
  }
  if (doc.min_tcb !== undefined) {
    const t = table(doc.min_tcb, ["min_tcb"]);
    keys(t, ["min_tcb"], TCB_KEYS);
    o.minimumTcb = {};
    for (const k of TCB_KEYS)
      if (t[k] !== undefined) o.minimumTcb[k] = int(t[k], ["min_tcb", k], 255);
  }
  if (doc.min_guest_svn !== undefined) {
    o.minimumGuestSvn = int(doc.min_guest_svn, ["min_guest_svn"], 0xffff_ffff);
  }
  if (doc.report_data !== undefined) o.reportData = hex(doc.report_data, ["report_data"], 64);
  for (const [key, [option, size]] of Object.entries(ALLOW_LISTS)) {
    if (doc[key] === undefined) continue;
    o[option] = strings(doc[key], [key]).map((s, i) => hex(s, [key, i], size));
  }
  if (doc.min_firmware !== undefined)
    o.minimumFirmware = version(doc.min_firmware, ["min_firmware"], 3);
  if (doc.min_policy_abi !== undefined) {
    const v = version(doc.min_policy_abi, ["min_policy_abi"], 2);
    o.minimumPolicyAbi = { major: v.major, minor: v.minor };
  }
  if (doc.platform_info !== undefined) {
    const t = table(doc.platform_info, ["platform_info"]);
    keys(t, ["platform_info"], ["require", "forbid"]);
    o.platformInfo = {};
    for (const which of ["require", "forbid"] as const) {
      if (t[which] === undefined) continue;
      o.platformInfo[which] = strings(t[which], ["platform_info", which]).map((f, i) =>
        Object.hasOwn(PLATFORM_FLAGS, f)
          ? PLATFORM_FLAGS[f]!
          : fail(
              ["platform_info", which, i],
              `"platform_info.${which}[${i}]": unknown flag ${JSON.stringify(f)} (expected one of: ${Object.keys(PLATFORM_FLAGS).join(", ")})`,
            ),
      );
    }
  }
  const requireCrl = doc.require_crl === undefined ? false : bool(doc.require_crl, ["require_crl"]);
  const cspIds = doc.csp_ids === undefined ? undefined : strings(doc.csp_ids, ["csp_ids"]);

  const dcap = (tee: "sgx" | "tdx"): DcapPolicy => {
    const t = table(doc[tee], [tee]);
    keys(t, [tee], DCAP_KEYS[tee]);
    const v: DcapValidateOptions = {};
    if (t.tcb_statuses !== undefined) {
      v.allowedTcbStatuses = strings(t.tcb_statuses, [tee, "tcb_statuses"]).map((x, i) =>
        (ACCEPTABLE_TCB_STATUSES as readonly string[]).includes(x)
          ? (x as (typeof ACCEPTABLE_TCB_STATUSES)[number])
          : fail(
              [tee, "tcb_statuses", i],
              `"${tee}.tcb_statuses[${i}]" must be one of ${ACCEPTABLE_TCB_STATUSES.join(", ")}, got ${JSON.stringify(x)}${x === "Revoked" ? " (a revoked TCB is never accepted)" : ""}`,
            ),
      );
    }
    if (t.advisory_ids !== undefined) {
      v.allowedAdvisoryIds = strings(t.advisory_ids, [tee, "advisory_ids"]).map((x, i) =>
        /^INTEL-SA-\d{5}$/.test(x)
          ? x
          : fail(
              [tee, "advisory_ids", i],
              `"${tee}.advisory_ids[${i}]" must be an Intel advisory ID like "INTEL-SA-00615", got ${JSON.stringify(x)}`,
            ),
      );
    }
    if (t.debug !== undefined) v.allowDebug = bool(t.debug, [tee, "debug"]);
    if (t.report_data !== undefined) v.reportData = hex(t.report_data, [tee, "report_data"], 64);
    for (const [key, [option, size]] of Object.entries(DCAP_BYTES[tee])) {
      const x = t[key];
      if (x === undefined) continue;
      // One value as a string, or an allow-list.
      (v as Record<string, unknown>)[option] =
        typeof x === "string"
          ? hex(x, [tee, key], size)
          : strings(x, [tee, key]).map((y, i) => hex(y, [tee, key, i], size));
    }
    if (tee === "sgx") {
      if (t.isv_prod_id !== undefined)
        v.isvProdId = int(t.isv_prod_id, [tee, "isv_prod_id"], 0xffff);
      if (t.min_isv_svn !== undefined)
        v.minIsvSvn = int(t.min_isv_svn, [tee, "min_isv_svn"], 0xffff);
      if (t.misc_select_mask !== undefined && t.misc_select === undefined) {
        fail([tee, "misc_select_mask"], `"sgx.misc_select_mask" needs "sgx.misc_select"`);
      }
      if (t.misc_select !== undefined) {
        v.miscSelect = {
          value: int(t.misc_select, [tee, "misc_select"], 0xffff_ffff),
          ...(t.misc_select_mask === undefined
            ? {}
            : { mask: int(t.misc_select_mask, [tee, "misc_select_mask"], 0xffff_ffff) }),
        };
      }
    } else if (t.xfam !== undefined) v.xfam = hex(t.xfam, [tee, "xfam"], 8);
    const requireCollateral =
      t.require_collateral === undefined
        ? true
        : bool(t.require_collateral, [tee, "require_collateral"]);
    return { validate: v, requireCollateral };
  };

  return {
    validate: o,
    requireCrl,
    ...(cspIds === undefined ? {} : { allowedCspIds: cspIds }),
    ...(doc.sgx === undefined ? {} : { sgx: dcap("sgx") }),
    ...(doc.tdx === undefined ? {} : { tdx: dcap("tdx") }),
  };
}
