/**
 * Validate a parsed SEV-SNP report against a policy: fields only, no
 * signatures (that is `verify.ts`). Returns every check that ran, pass or
 * fail; a failure carries a stable `snp.validate.*` code, the expected and the
 * actual value, and a remedy. It never throws for a policy failure — use
 * `throwIfRejected` for that — and throws `OptionsError` for invalid options.
 *
 * Modelled on go-sev-guest `validate.Options`; field meanings per AMD SEV-SNP
 * ABI spec 56860, "ATTESTATION_REPORT Structure" and "Guest Policy".
 */
import { bytesEqual, fromHex, toHex } from "../_bytes.ts";
import { CODES, type PolicyCode } from "../codes.ts";
import { OptionsError, PolicyError } from "../error.ts";
import type { Check } from "../verdict.ts";
import type { SnpPlatformInfo, SnpReport, SnpSigningKey, SnpTcb } from "./types.ts";

/** Bytes, or the same bytes as a hex string (either case, no `0x`). */
export type BytesLike = Uint8Array | string;

/** A PLATFORM_INFO flag, by its `SnpPlatformInfo` name. */
export type SnpPlatformFlag = Exclude<keyof SnpPlatformInfo, "raw">;

/** A TCB component, by its `SnpTcb` name. */
export type SnpTcbComponent = Exclude<keyof SnpTcb, "raw">;

/**
 * The policy a report is validated against. Every field is optional; the
 * three booleans have secure defaults, every other field is **not checked if
 * unset**. Unknown keys are refused (a misspelt option must not silently turn
 * a check off).
 */
export interface SnpValidateOptions {
  /**
   * Accept a guest whose POLICY.DEBUG bit is set (the host can then read and
   * change guest memory through the debug commands). Default `false`: such a
   * guest is rejected. Set it for test environments only.
   */
  allowDebug?: boolean;
  /**
   * Accept a guest whose POLICY.MIGRATE_MA bit is set (a migration agent may be
   * associated with it and can export its memory). Default `false`.
   */
  allowMigrationAgent?: boolean;
  /**
   * Accept a platform with SMT (hyper-threading) enabled, as PLATFORM_INFO.SMT_EN
   * reports it (the POLICY.SMT bit only says the guest tolerates SMT).
   * Default `true`; when `false`, SMT_EN = 1 is rejected.
   */
  allowSmt?: boolean;
  /**
   * Key kinds that may have signed the report (KEY_INFO.SIGNING_KEY).
   * Default `["vcek", "vlek"]`. A report with SIGNING_KEY = none (unsigned) is
   * always rejected, whatever this says.
   */
  allowedSigningKeys?: readonly ("vcek" | "vlek")[];
  /** The exact VMPL the report must come from (0–3). Not checked if unset. */
  vmpl?: number;
  /** The highest (least privileged) VMPL accepted (0–3). Not checked if unset. */
  maxVmpl?: number;
  /**
   * Minimum of each component of **REPORTED_TCB** (the TCB the VCEK is issued
   * for, which `verify.ts` binds to the certificate) — not CURRENT_TCB or
   * COMMITTED_TCB. Each is an SPL (0–255). Components left unset are not
   * checked; `fmc` exists on Turin only and is not checked on other products.
   */
  minimumTcb?: Partial<Record<SnpTcbComponent, number>>;
  /** Minimum GUEST_SVN (from the ID block, 0–2³²−1). Not checked if unset. */
  minimumGuestSvn?: number;
  /** The exact 64-byte REPORT_DATA (e.g. the key/nonce binding). Not checked if unset. */
  reportData?: BytesLike;
  /** Allowed MEASUREMENT values (48 bytes each). Not checked if unset; must not be empty. */
  measurements?: readonly BytesLike[];
  /** Allowed HOST_DATA values (32 bytes each). Not checked if unset; must not be empty. */
  hostData?: readonly BytesLike[];
  /** Allowed ID_KEY_DIGEST values (48 bytes each). Not checked if unset; must not be empty. */
  idKeyDigests?: readonly BytesLike[];
  /** Allowed AUTHOR_KEY_DIGEST values (48 bytes each). Not checked if unset; must not be empty. */
  authorKeyDigests?: readonly BytesLike[];
  /** Allowed FAMILY_ID values (16 bytes each). Not checked if unset; must not be empty. */
  familyIds?: readonly BytesLike[];
  /** Allowed IMAGE_ID values (16 bytes each). Not checked if unset; must not be empty. */
  imageIds?: readonly BytesLike[];
  /**
   * Minimum SNP firmware version running on the platform (CURRENT_MAJOR,
   * CURRENT_MINOR, CURRENT_BUILD), compared in that order; `build` defaults
   * to 0. Not checked if unset.
   */
  minimumFirmware?: { major: number; minor: number; build?: number };
  /**
   * Minimum ABI version the guest policy demands of the firmware
   * (POLICY.ABI_MAJOR.ABI_MINOR), compared major then minor. Not checked if unset.
   */
  minimumPolicyAbi?: { major: number; minor: number };
  /**
   * PLATFORM_INFO flags that must be set (`require`) or clear (`forbid`), e.g.
   * `{ require: ["tsmeEnabled"], forbid: ["smtEnabled"] }`. Not checked if unset.
   */
  platformInfo?: { require?: readonly SnpPlatformFlag[]; forbid?: readonly SnpPlatformFlag[] };
}

const OPTION_KEYS: readonly (keyof SnpValidateOptions)[] = [
  "allowDebug",
  "allowMigrationAgent",
  "allowSmt",
  "allowedSigningKeys",
  "vmpl",
  "maxVmpl",
  "minimumTcb",
  "minimumGuestSvn",
  "reportData",
  "measurements",
  "hostData",
  "idKeyDigests",
  "authorKeyDigests",
  "familyIds",
  "imageIds",
  "minimumFirmware",
  "minimumPolicyAbi",
  "platformInfo",
];

const TCB_COMPONENTS: readonly SnpTcbComponent[] = ["bootloader", "tee", "snp", "microcode", "fmc"];

const PLATFORM_FLAGS: Record<SnpPlatformFlag, string> = {
  smtEnabled: "SMT_EN",
  tsmeEnabled: "TSME_EN",
  eccEnabled: "ECC_EN",
  raplDisabled: "RAPL_DIS",
  ciphertextHidingEnabled: "CIPHERTEXT_HIDING_EN",
  aliasCheckComplete: "ALIAS_CHECK_COMPLETE",
  tioEnabled: "TIO_EN",
};

/** The allow-list options: option name, report field, spec name, size in bytes, code. */
const ALLOW_LISTS = [
  ["measurements", "measurement", "MEASUREMENT", 48, "snp.validate.measurement"],
  ["hostData", "hostData", "HOST_DATA", 32, "snp.validate.host_data"],
  ["idKeyDigests", "idKeyDigest", "ID_KEY_DIGEST", 48, "snp.validate.id_key_digest"],
  [
    "authorKeyDigests",
    "authorKeyDigest",
    "AUTHOR_KEY_DIGEST",
    48,
    "snp.validate.author_key_digest",
  ],
  ["familyIds", "familyId", "FAMILY_ID", 16, "snp.validate.family_id"],
  ["imageIds", "imageId", "IMAGE_ID", 16, "snp.validate.image_id"],
] as const satisfies readonly (readonly [
  keyof SnpValidateOptions,
  keyof SnpReport,
  string,
  number,
  PolicyCode,
])[];

/**
 * Validate `report` against `options`. Returns every check that ran, in a fixed
 * order; the report meets the policy when every check with severity "error"
 * (the default) is ok.
 *
 * @throws {OptionsError} `options.invalid` when an option is malformed (wrong
 *   length, bad hex, out of range, unknown key, empty allow-list).
 */
export function validateSnpReport(report: SnpReport, options: SnpValidateOptions = {}): Check[] {
  const o = resolveOptions(options);
  const checks: Check[] = [];
  const add = (
    id: string,
    code: PolicyCode,
    ok: boolean,
    expected: string,
    actual: string,
  ): void => {
    checks.push(
      ok
        ? { id, ok, expected, actual }
        : { id, ok, code, expected, actual, remedy: CODES[code].remedy, severity: "error" },
    );
  };

  add(
    "snp.validate.signing_key",
    "snp.validate.signing_key",
    report.signingKey !== "none" && o.allowedSigningKeys.includes(report.signingKey),
    `signed by ${o.allowedSigningKeys.join(" or ")}`,
    signerName(report.signingKey),
  );
  if (!o.allowDebug) {
    add(
      "snp.validate.debug",
      "snp.validate.debug",
      !report.policy.debug,
      "POLICY.DEBUG = 0",
      `POLICY.DEBUG = ${Number(report.policy.debug)}`,
    );
  }
  if (!o.allowMigrationAgent) {
    add(
      "snp.validate.migrate_ma",
      "snp.validate.migrate_ma",
      !report.policy.migrateMa,
      "POLICY.MIGRATE_MA = 0",
      `POLICY.MIGRATE_MA = ${Number(report.policy.migrateMa)}`,
    );
  }
  if (!o.allowSmt) {
    add(
      "snp.validate.smt",
      "snp.validate.smt",
      !report.platformInfo.smtEnabled,
      "PLATFORM_INFO.SMT_EN = 0",
      `PLATFORM_INFO.SMT_EN = ${Number(report.platformInfo.smtEnabled)}`,
    );
  }
  if (o.vmpl !== undefined) {
    add(
      "snp.validate.vmpl",
      "snp.validate.vmpl",
      report.vmpl === o.vmpl,
      `VMPL ${o.vmpl}`,
      `VMPL ${report.vmpl}`,
    );
  }
  if (o.maxVmpl !== undefined) {
    add(
      "snp.validate.vmpl.max",
      "snp.validate.vmpl",
      report.vmpl <= o.maxVmpl,
      `VMPL ≤ ${o.maxVmpl}`,
      `VMPL ${report.vmpl}`,
    );
  }
  for (const c of TCB_COMPONENTS) {
    const min = o.minimumTcb[c];
    const actual = report.reportedTcb[c];
    if (min === undefined || actual === null) continue; // fmc: Turin only
    add(
      `snp.validate.tcb.${c}`,
      "snp.validate.tcb",
      actual >= min,
      `REPORTED_TCB.${c} ≥ ${min}`,
      `REPORTED_TCB.${c} = ${actual}`,
    );
  }
  if (o.minimumGuestSvn !== undefined) {
    add(
      "snp.validate.guest_svn",
      "snp.validate.guest_svn",
      report.guestSvn >= o.minimumGuestSvn,
      `GUEST_SVN ≥ ${o.minimumGuestSvn}`,
      `GUEST_SVN = ${report.guestSvn}`,
    );
  }
  if (o.reportData !== undefined) {
    add(
      "snp.validate.report_data",
      "snp.validate.report_data",
      bytesEqual(report.reportData, o.reportData),
      `REPORT_DATA = ${toHex(o.reportData)}`,
      `REPORT_DATA = ${toHex(report.reportData)}`,
    );
  }
  for (const [option, field, name, , code] of ALLOW_LISTS) {
    const allowed = o.allowLists[option];
    if (allowed === undefined) continue;
    const actual = report[field];
    add(
      code,
      code,
      allowed.some((a) => bytesEqual(a, actual)),
      `${name} one of ${allowed.map(toHex).join(", ")}`,
      `${name} = ${toHex(actual)}`,
    );
  }
  if (o.minimumFirmware !== undefined) {
    const m = o.minimumFirmware;
    const v = report.currentVersion;
    add(
      "snp.validate.firmware",
      "snp.validate.firmware",
      compareVersions([v.major, v.minor, v.build], [m.major, m.minor, m.build ?? 0]) >= 0,
      `firmware ≥ ${m.major}.${m.minor}.${m.build ?? 0}`,
      `firmware ${v.major}.${v.minor}.${v.build}`,
    );
  }
  if (o.minimumPolicyAbi !== undefined) {
    const m = o.minimumPolicyAbi;
    const p = report.policy;
    add(
      "snp.validate.policy_abi",
      "snp.validate.policy_abi",
      compareVersions([p.abiMajor, p.abiMinor], [m.major, m.minor]) >= 0,
      `POLICY.ABI ≥ ${m.major}.${m.minor}`,
      `POLICY.ABI = ${p.abiMajor}.${p.abiMinor}`,
    );
  }
  for (const [list, want] of [
    [o.platformInfo.require, true],
    [o.platformInfo.forbid, false],
  ] as const) {
    for (const flag of list ?? []) {
      const actual = report.platformInfo[flag];
      add(
        `snp.validate.platform_info.${flag}`,
        "snp.validate.platform_info",
        actual === want,
        `PLATFORM_INFO.${PLATFORM_FLAGS[flag]} = ${Number(want)}`,
        `PLATFORM_INFO.${PLATFORM_FLAGS[flag]} = ${Number(actual)}`,
      );
    }
  }
  return checks;
}

/**
 * Throw a `PolicyError` carrying every failed check (severity "error") of
 * `checks`, as `validateSnpReport` returns them; return quietly if none failed.
 */
export function throwIfRejected(checks: readonly Check[]): void {
  const failed = checks.filter((c) => !c.ok && c.severity !== "warning");
  const first = failed[0];
  if (first === undefined) return;
  const lines = failed.map((c) => `${c.code}: expected ${c.expected}, got ${c.actual}`);
  throw new PolicyError(
    first.code as PolicyCode,
    `the report does not meet the policy (${failed.length} failed): ${lines.join("; ")}`,
    failed,
  );
}

function signerName(k: SnpSigningKey): string {
  return k === "none" ? "unsigned (SIGNING_KEY = none)" : `signed by ${k}`;
}

/** Lexicographic comparison of equal-length number tuples. */
function compareVersions(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

// ── options: checked and resolved once ─────────────────────────────────────

interface Resolved {
  allowDebug: boolean;
  allowMigrationAgent: boolean;
  allowSmt: boolean;
  allowedSigningKeys: readonly SnpSigningKey[];
  vmpl?: number;
  maxVmpl?: number;
  minimumTcb: Partial<Record<SnpTcbComponent, number>>;
  minimumGuestSvn?: number;
  reportData?: Uint8Array;
  allowLists: Partial<Record<(typeof ALLOW_LISTS)[number][0], Uint8Array[]>>;
  minimumFirmware?: { major: number; minor: number; build?: number };
  minimumPolicyAbi?: { major: number; minor: number };
  platformInfo: { require?: readonly SnpPlatformFlag[]; forbid?: readonly SnpPlatformFlag[] };
}

function invalid(message: string): never {
  throw new OptionsError("options.invalid", message);
}

function bool(name: string, v: unknown, dflt: boolean): boolean {
  if (v === undefined) return dflt;
  if (typeof v !== "boolean") invalid(`${name}: expected a boolean, got ${typeof v}`);
  return v;
}

function int(name: string, v: unknown, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    invalid(`${name}: expected an integer 0–${max}, got ${String(v)}`);
  }
  return v;
}

function reqInt(name: string, v: unknown, max: number): number {
  if (v === undefined) invalid(`${name}: expected an integer 0–${max}, got none`);
  return int(name, v, max)!;
}

function bytes(name: string, v: unknown, size: number): Uint8Array {
  const b = typeof v === "string" ? fromHex(v) : v instanceof Uint8Array ? v : undefined;
  if (b === undefined) invalid(`${name}: expected ${size} bytes or ${2 * size} hex digits`);
  if (b.length !== size) invalid(`${name}: expected ${size} bytes, got ${b.length}`);
  return b;
}

function resolveOptions(options: SnpValidateOptions): Resolved {
  if (typeof options !== "object" || options === null) invalid("expected an options object");
  for (const k of Object.keys(options)) {
    if (!(OPTION_KEYS as readonly string[]).includes(k))
      invalid(`unknown option ${JSON.stringify(k)}`);
  }
  const keys = options.allowedSigningKeys ?? ["vcek", "vlek"];
  if (!Array.isArray(keys) || keys.length === 0) {
    invalid("allowedSigningKeys: expected a non-empty list of vcek, vlek");
  }
  for (const k of keys) {
    if (k !== "vcek" && k !== "vlek") {
      invalid(`allowedSigningKeys: expected vcek or vlek, got ${JSON.stringify(k)}`);
    }
  }
  const minimumTcb: Partial<Record<SnpTcbComponent, number>> = {};
  for (const [c, v] of Object.entries(options.minimumTcb ?? {})) {
    if (!(TCB_COMPONENTS as readonly string[]).includes(c)) {
      invalid(`minimumTcb: unknown component ${JSON.stringify(c)}`);
    }
    minimumTcb[c as SnpTcbComponent] = int(`minimumTcb.${c}`, v, 0xff);
  }
  const allowLists: Resolved["allowLists"] = {};
  for (const [option, , , size] of ALLOW_LISTS) {
    const list = options[option];
    if (list === undefined) continue;
    if (!Array.isArray(list) || list.length === 0) {
      invalid(`${option}: expected a non-empty list (leave it unset to skip the check)`);
    }
    allowLists[option] = list.map((v, i) => bytes(`${option}[${i}]`, v, size));
  }
  const fw = options.minimumFirmware;
  if (fw !== undefined) {
    reqInt("minimumFirmware.major", fw.major, 0xff);
    reqInt("minimumFirmware.minor", fw.minor, 0xff);
    int("minimumFirmware.build", fw.build, 0xff);
  }
  const abi = options.minimumPolicyAbi;
  if (abi !== undefined) {
    reqInt("minimumPolicyAbi.major", abi.major, 0xff);
    reqInt("minimumPolicyAbi.minor", abi.minor, 0xff);
  }
  const platformInfo = options.platformInfo ?? {};
  for (const which of ["require", "forbid"] as const) {
    for (const f of platformInfo[which] ?? []) {
      if (!Object.hasOwn(PLATFORM_FLAGS, f)) {
        invalid(`platformInfo.${which}: unknown flag ${JSON.stringify(f)}`);
      }
    }
  }
  return {
    allowDebug: bool("allowDebug", options.allowDebug, false),
    allowMigrationAgent: bool("allowMigrationAgent", options.allowMigrationAgent, false),
    allowSmt: bool("allowSmt", options.allowSmt, true),
    allowedSigningKeys: keys,
    vmpl: int("vmpl", options.vmpl, 3),
    maxVmpl: int("maxVmpl", options.maxVmpl, 3),
    minimumTcb,
    minimumGuestSvn: int("minimumGuestSvn", options.minimumGuestSvn, 0xffff_ffff),
    reportData:
      options.reportData === undefined ? undefined : bytes("reportData", options.reportData, 64),
    allowLists,
    minimumFirmware: fw,
    minimumPolicyAbi: abi,
    platformInfo,
  };
}
