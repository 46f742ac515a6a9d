/**
 * Validate a parsed Intel DCAP quote (SGX or TDX) and its TCB evaluation
 * against a policy: fields only, no signatures (that is `quote_verify.ts`,
 * `collateral.ts`, `tcb.ts`). Returns every check that ran, pass or fail; a
 * failure carries a stable `dcap.policy.*` code, the expected and the actual
 * value, and a remedy. It never throws for a policy failure — use
 * `throwIfRejected` for that — and throws `OptionsError` for invalid options,
 * naming the field.
 *
 * Field meanings: Intel "SGX ECDSA Quote Library API" appendix "Quote Format"
 * (REPORT_BODY: ATTRIBUTES.FLAGS bit 1 is DEBUG) and Intel TDX Module ABI
 * "TDREPORT_STRUCT" (TD_ATTRIBUTES bit 0 is DEBUG); ../shared/vectors/LAYOUTS.md §2.
 * Modelled on go-tdx-guest `validate.Options` and go-sev-guest's.
 */
import { bytesEqual, fromHex, toHex } from "../_bytes.ts";
import { CODES, type PolicyCode } from "../codes.ts";
import { OptionsError } from "../error.ts";
import type { Check } from "../verdict.ts";
import {
  ACCEPTABLE_TCB_STATUSES,
  type DcapQuote,
  type SgxReportBody,
  TCB_STATUSES,
  type TcbEvaluation,
  type TcbStatus,
  type TdReportBody,
} from "./types.ts";

/** Bytes, or the same bytes as a hex string (either case, no `0x`). */
export type DcapBytesLike = Uint8Array | string;

/** One expected value, or a non-empty list of allowed values. */
export type DcapAllowed = DcapBytesLike | readonly DcapBytesLike[];

/**
 * The policy a quote is validated against. Every field is optional. The TCB
 * status and debug have secure defaults; every other field is **not checked
 * if unset**. Unknown keys are refused (a misspelt option must not silently
 * turn a check off). A field of the other TEE (`mrEnclave` for a TDX quote,
 * `mrTd` for an SGX one) fails the quote with `dcap.policy.tee`: the policy
 * was written for the other kind of evidence.
 */
export interface DcapValidateOptions {
  /**
   * The TEE the quote must come from. Not checked if unset (the SGX and TDX
   * fields below still only make sense for their TEE).
   */
  tee?: "sgx" | "tdx";
  /**
   * TCB statuses accepted (the status after merging the platform, QE and TDX
   * module levels, `TcbEvaluation.status`). **Default `["UpToDate"]` only**:
   * any other status fails with `dcap.policy.tcb_status`. A policy relaxes it
   * explicitly, e.g. `["UpToDate", "SWHardeningNeeded"]` for a platform whose
   * remaining advisories the enclave mitigates in software. `Revoked` can
   * never be accepted (it is refused here as an option).
   */
  allowedTcbStatuses?: readonly Exclude<TcbStatus, "Revoked">[];
  /**
   * Advisory IDs (`INTEL-SA-00615`, …) accepted. When set, any advisory of the
   * evaluation not in the list fails with `dcap.policy.advisory`; an empty
   * list accepts none. Not checked if unset.
   */
  allowedAdvisoryIds?: readonly string[];
  /**
   * Accept a debug enclave (SGX ATTRIBUTES.FLAGS.DEBUG, bit 1) or a debug TD
   * (TD_ATTRIBUTES.DEBUG, bit 0): the host can then read and change its
   * memory. Default `false`: refused with `dcap.policy.debug`. Test
   * environments only.
   */
  allowDebug?: boolean;
  /** The exact 64-byte REPORT_DATA (SGX report_data, TDX REPORTDATA), e.g. the key/nonce binding. Not checked if unset. */
  reportData?: DcapBytesLike;

  // ── SGX enclave (REPORT_BODY) ──────────────────────────────────────────
  /** MRENCLAVE (32 bytes): one value or an allow-list. Not checked if unset. */
  mrEnclave?: DcapAllowed;
  /** MRSIGNER (32 bytes, the enclave signer's key hash): one value or an allow-list. Not checked if unset. */
  mrSigner?: DcapAllowed;
  /** ISVPRODID (0–65535), exact. Not checked if unset. */
  isvProdId?: number;
  /** Minimum ISVSVN (0–65535). Not checked if unset. */
  minIsvSvn?: number;
  /**
   * MISCSELECT under a mask: `(MISCSELECT & mask) = (value & mask)` (u32 each;
   * `mask` defaults to 0xFFFFFFFF, an exact match). Not checked if unset.
   */
  miscSelect?: { value: number; mask?: number };

  // ── TDX TD (TD report body) ────────────────────────────────────────────
  /** MRTD (48 bytes, the TD's initial contents): one value or an allow-list. Not checked if unset. */
  mrTd?: DcapAllowed;
  /** RTMR0 (48 bytes; firmware configuration): one value or an allow-list. Not checked if unset. */
  rtmr0?: DcapAllowed;
  /** RTMR1 (48 bytes; OS loader and kernel): one value or an allow-list. Not checked if unset. */
  rtmr1?: DcapAllowed;
  /** RTMR2 (48 bytes; OS, command line, initrd): one value or an allow-list. Not checked if unset. */
  rtmr2?: DcapAllowed;
  /** RTMR3 (48 bytes; runtime): one value or an allow-list. Not checked if unset. */
  rtmr3?: DcapAllowed;
  /** MRCONFIGID (48 bytes): one value or an allow-list. Not checked if unset. */
  mrConfigId?: DcapAllowed;
  /** MROWNER (48 bytes): one value or an allow-list. Not checked if unset. */
  mrOwner?: DcapAllowed;
  /** MROWNERCONFIG (48 bytes): one value or an allow-list. Not checked if unset. */
  mrOwnerConfig?: DcapAllowed;
  /** XFAM (8 bytes, as in the quote: little-endian), exact. Not checked if unset. */
  xfam?: DcapBytesLike;
}

/** The byte-valued options: option, TEE, spec name, size, code, the field of the report body. */
const BYTE_FIELDS = [
  ["mrEnclave", "sgx", "MRENCLAVE", 32, "dcap.policy.mr_enclave"],
  ["mrSigner", "sgx", "MRSIGNER", 32, "dcap.policy.mr_signer"],
  ["mrTd", "tdx", "MRTD", 48, "dcap.policy.mr_td"],
  ["rtmr0", "tdx", "RTMR0", 48, "dcap.policy.rtmr"],
  ["rtmr1", "tdx", "RTMR1", 48, "dcap.policy.rtmr"],
  ["rtmr2", "tdx", "RTMR2", 48, "dcap.policy.rtmr"],
  ["rtmr3", "tdx", "RTMR3", 48, "dcap.policy.rtmr"],
  ["mrConfigId", "tdx", "MRCONFIGID", 48, "dcap.policy.mr_config_id"],
  ["mrOwner", "tdx", "MROWNER", 48, "dcap.policy.mr_owner"],
  ["mrOwnerConfig", "tdx", "MROWNERCONFIG", 48, "dcap.policy.mr_owner_config"],
] as const satisfies readonly (readonly [
  keyof DcapValidateOptions,
  "sgx" | "tdx",
  string,
  number,
  PolicyCode,
])[];

type ByteOption = (typeof BYTE_FIELDS)[number][0];

const SGX_ONLY: readonly (keyof DcapValidateOptions)[] = [
  "mrEnclave",
  "mrSigner",
  "isvProdId",
  "minIsvSvn",
  "miscSelect",
];
const TDX_ONLY: readonly (keyof DcapValidateOptions)[] = [
  "mrTd",
  "rtmr0",
  "rtmr1",
  "rtmr2",
  "rtmr3",
  "mrConfigId",
  "mrOwner",
  "mrOwnerConfig",
  "xfam",
];
const OPTION_KEYS: readonly string[] = [
  "tee",
  "allowedTcbStatuses",
  "allowedAdvisoryIds",
  "allowDebug",
  "reportData",
  ...SGX_ONLY,
  ...TDX_ONLY,
];

/** Options checked and resolved once (`resolveDcapValidateOptions`). */
export interface ResolvedDcapValidateOptions {
  tee: "sgx" | "tdx" | undefined;
  allowedTcbStatuses: readonly TcbStatus[];
  allowedAdvisoryIds: ReadonlySet<string> | undefined;
  allowDebug: boolean;
  reportData: Uint8Array | undefined;
  bytes: Partial<Record<ByteOption, Uint8Array[]>>;
  isvProdId: number | undefined;
  minIsvSvn: number | undefined;
  miscSelect: { value: number; mask: number } | undefined;
  xfam: Uint8Array | undefined;
  /** The option names set that belong to SGX / TDX only. */
  sgxOnly: string[];
  tdxOnly: string[];
}

/**
 * Validate `quote` (and its TCB evaluation) against `options`. Returns every
 * check that ran, in a fixed order; the quote meets the policy when every
 * check with severity "error" (the default) is ok.
 *
 * `tcb` null means the TCB was not evaluated (collateral missing and the
 * requirement relaxed, or the evaluation failed — which the caller reports):
 * the status and advisories are then not checked, said by the warning
 * `dcap.policy.tcb_not_checked`.
 *
 * @throws {OptionsError} `options.invalid` naming the field when an option is
 *   malformed (wrong length, bad hex, out of range, unknown key, empty list).
 */
export function validateDcapQuote(
  quote: DcapQuote,
  tcb: TcbEvaluation | null,
  options: DcapValidateOptions | ResolvedDcapValidateOptions = {},
): Check[] {
  const o = isResolved(options) ? options : resolveDcapValidateOptions(options);
  const checks: Check[] = [];
  const add = (
    id: string,
    code: PolicyCode,
    ok: boolean,
    expected: string,
    actual: () => string,
  ): void => {
    checks.push(
      ok
        ? { id, ok }
        : {
            id,
            ok,
            code,
            expected,
            actual: actual(),
            remedy: CODES[code].remedy,
            severity: "error",
          },
    );
  };
  const tee = quote.body.tee;
  const TEE = tee.toUpperCase();
  /** "an SGX quote", "a TDX quote". */
  const aQuote = (t: string): string => `${t === "SGX" ? "an" : "a"} ${t} quote`;

  if (o.tee !== undefined) {
    add("dcap.policy.tee", "dcap.policy.tee", tee === o.tee, aQuote(o.tee.toUpperCase()), () =>
      aQuote(TEE),
    );
  }
  const foreign = tee === "sgx" ? o.tdxOnly : o.sgxOnly;
  if (foreign.length > 0) {
    add(
      "dcap.policy.tee.fields",
      "dcap.policy.tee",
      false,
      `${aQuote(tee === "sgx" ? "TDX" : "SGX")} (the policy sets ${foreign.join(", ")})`,
      () => `${aQuote(TEE)}, which has no such fields`,
    );
  }

  // The TCB: status, then advisories.
  if (tcb === null) {
    checks.push({
      id: "dcap.policy.tcb_status",
      ok: false,
      code: "dcap.policy.tcb_not_checked",
      expected: `TCB status ${o.allowedTcbStatuses.join(" or ")}`,
      actual: "not checked: the TCB was not evaluated (status and advisories unknown)",
      remedy: CODES["dcap.policy.tcb_not_checked"].remedy,
      severity: "warning",
    });
  } else {
    add(
      "dcap.policy.tcb_status",
      "dcap.policy.tcb_status",
      o.allowedTcbStatuses.includes(tcb.status),
      `TCB status ${o.allowedTcbStatuses.join(" or ")}`,
      () =>
        `TCB status ${tcb.status}${tcb.advisoryIds.length ? ` [${tcb.advisoryIds.join(", ")}]` : ""}`,
    );
    const allowed = o.allowedAdvisoryIds;
    if (allowed !== undefined) {
      const other = tcb.advisoryIds.filter((a) => !allowed.has(a.toUpperCase()));
      add(
        "dcap.policy.advisory",
        "dcap.policy.advisory",
        other.length === 0,
        allowed.size ? `advisories among ${[...allowed].join(", ")}` : "no advisories",
        () => `advisories ${tcb.advisoryIds.join(", ")} (not allowed: ${other.join(", ")})`,
      );
    }
  }

  const body = quote.body;
  const debug = isDebug(quote);
  if (!o.allowDebug) {
    const field = tee === "sgx" ? "ATTRIBUTES.FLAGS.DEBUG" : "TD_ATTRIBUTES.DEBUG";
    add("dcap.policy.debug", "dcap.policy.debug", !debug, `${field} = 0`, () => `${field} = 1`);
  }
  const reportData = body.report.reportData;
  if (o.reportData !== undefined) {
    const want = o.reportData;
    add(
      "dcap.policy.report_data",
      "dcap.policy.report_data",
      bytesEqual(reportData, want),
      `REPORT_DATA = ${toHex(want)}`,
      () => `REPORT_DATA = ${toHex(reportData)}`,
    );
  }

  if (body.tee === "sgx") sgxChecks(body.report, o, add);
  else tdxChecks(body.report, o, add);
  return checks;
}

type Add = (
  id: string,
  code: PolicyCode,
  ok: boolean,
  expected: string,
  actual: () => string,
) => void;

function allowList(
  o: ResolvedDcapValidateOptions,
  option: ByteOption,
  name: string,
  code: PolicyCode,
  actual: Uint8Array,
  add: Add,
): void {
  const allowed = o.bytes[option];
  if (allowed === undefined) return;
  add(
    // One id per field (rtmr0…rtmr3 share their code).
    code === "dcap.policy.rtmr" ? `dcap.policy.${option}` : code,
    code,
    allowed.some((a) => bytesEqual(a, actual)),
    allowed.length === 1
      ? `${name} = ${toHex(allowed[0]!)}`
      : `${name} one of ${allowed.map(toHex).join(", ")}`,
    () => `${name} = ${toHex(actual)}`,
  );
}

function sgxChecks(r: SgxReportBody, o: ResolvedDcapValidateOptions, add: Add): void {
  allowList(o, "mrEnclave", "MRENCLAVE", "dcap.policy.mr_enclave", r.mrEnclave, add);
  allowList(o, "mrSigner", "MRSIGNER", "dcap.policy.mr_signer", r.mrSigner, add);
  if (o.isvProdId !== undefined) {
    add(
      "dcap.policy.isv_prod_id",
      "dcap.policy.isv_prod_id",
      r.isvProdId === o.isvProdId,
      `ISVPRODID = ${o.isvProdId}`,
      () => `ISVPRODID = ${r.isvProdId}`,
    );
  }
  if (o.minIsvSvn !== undefined) {
    add(
      "dcap.policy.isv_svn",
      "dcap.policy.isv_svn",
      r.isvSvn >= o.minIsvSvn,
      `ISVSVN ≥ ${o.minIsvSvn}`,
      () => `ISVSVN = ${r.isvSvn}`,
    );
  }
  const m = o.miscSelect;
  if (m !== undefined) {
    const hex32 = (v: number) => `0x${(v >>> 0).toString(16).padStart(8, "0")}`;
    add(
      "dcap.policy.misc_select",
      "dcap.policy.misc_select",
      (r.miscSelect & m.mask) >>> 0 === (m.value & m.mask) >>> 0,
      `MISCSELECT & ${hex32(m.mask)} = ${hex32(m.value & m.mask)}`,
      () => `MISCSELECT = ${hex32(r.miscSelect)}`,
    );
  }
}

function tdxChecks(r: TdReportBody, o: ResolvedDcapValidateOptions, add: Add): void {
  allowList(o, "mrTd", "MRTD", "dcap.policy.mr_td", r.mrTd, add);
  for (let i = 0; i < 4; i++) {
    const opt = `rtmr${i}` as "rtmr0" | "rtmr1" | "rtmr2" | "rtmr3";
    allowList(o, opt, `RTMR${i}`, "dcap.policy.rtmr", r.rtmr[i]!, add);
  }
  allowList(o, "mrConfigId", "MRCONFIGID", "dcap.policy.mr_config_id", r.mrConfigId, add);
  allowList(o, "mrOwner", "MROWNER", "dcap.policy.mr_owner", r.mrOwner, add);
  allowList(
    o,
    "mrOwnerConfig",
    "MROWNERCONFIG",
    "dcap.policy.mr_owner_config",
    r.mrOwnerConfig,
    add,
  );
  const xfam = o.xfam;
  if (xfam !== undefined) {
    add(
      "dcap.policy.xfam",
      "dcap.policy.xfam",
      bytesEqual(r.xfam, xfam),
      `XFAM = ${toHex(xfam)}`,
      () => `XFAM = ${toHex(r.xfam)}`,
    );
  }
}

/** Whether the enclave (ATTRIBUTES.FLAGS bit 1) or the TD (TD_ATTRIBUTES bit 0) is a debug one. */
export function isDebug(quote: DcapQuote): boolean {
  const b = quote.body;
  return b.tee === "sgx"
    ? (b.report.attributes[0]! & 0x02) !== 0
    : (b.report.tdAttributes[0]! & 0x01) !== 0;
}

// ── options: checked and resolved once ─────────────────────────────────────

const RESOLVED = Symbol("resolved");

function isResolved(
  o: DcapValidateOptions | ResolvedDcapValidateOptions,
): o is ResolvedDcapValidateOptions {
  return typeof o === "object" && o !== null && RESOLVED in o;
}

function invalid(message: string): never {
  throw new OptionsError("options.invalid", `policy: ${message}`);
}

function uint(name: string, v: unknown, max: number): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    invalid(`${name}: expected an integer 0–${max}, got ${String(v)}`);
  }
  return v;
}

function bytes(name: string, v: unknown, size: number): Uint8Array {
  const b = typeof v === "string" ? fromHex(v) : v instanceof Uint8Array ? v.slice() : undefined;
  if (b === undefined) invalid(`${name}: expected ${size} bytes or ${2 * size} hex digits`);
  if (b.length !== size) invalid(`${name}: expected ${size} bytes, got ${b.length}`);
  return b;
}

/**
 * Check `options` and resolve their defaults once; the result can be passed
 * to `validateDcapQuote` in place of the options (what `attestDcap` does, so a
 * malformed policy throws before any work and is not re-checked per quote).
 *
 * @throws {OptionsError} `options.invalid` naming the field.
 */
export function resolveDcapValidateOptions(
  options: DcapValidateOptions,
): ResolvedDcapValidateOptions {
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    invalid("expected an options object");
  }
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.includes(k)) invalid(`unknown option ${JSON.stringify(k)}`);
  }
  const tee = options.tee;
  if (tee !== undefined && tee !== "sgx" && tee !== "tdx") {
    invalid(`tee: expected "sgx" or "tdx", got ${JSON.stringify(tee)}`);
  }
  let statuses: readonly TcbStatus[] = ["UpToDate"];
  if (options.allowedTcbStatuses !== undefined) {
    const s: unknown = options.allowedTcbStatuses;
    if (!Array.isArray(s) || s.length === 0) {
      invalid(
        "allowedTcbStatuses: expected a non-empty list of TCB statuses (leave it unset for UpToDate only)",
      );
    }
    for (const x of s) {
      if (x === "Revoked") invalid("allowedTcbStatuses: Revoked can never be accepted");
      if (!TCB_STATUSES.includes(x)) {
        invalid(
          `allowedTcbStatuses: unknown status ${JSON.stringify(x)} (expected one of ${ACCEPTABLE_TCB_STATUSES.join(", ")})`,
        );
      }
    }
    statuses = s as TcbStatus[];
  }
  let advisories: Set<string> | undefined;
  if (options.allowedAdvisoryIds !== undefined) {
    const a: unknown = options.allowedAdvisoryIds;
    if (!Array.isArray(a))
      invalid("allowedAdvisoryIds: expected a list of advisory IDs (e.g. INTEL-SA-00615)");
    for (const x of a) {
      if (typeof x !== "string" || !/^[A-Za-z]+-[A-Za-z]+-\d+$/.test(x)) {
        invalid(
          `allowedAdvisoryIds: expected advisory IDs like INTEL-SA-00615, got ${JSON.stringify(x)}`,
        );
      }
    }
    advisories = new Set((a as string[]).map((x) => x.toUpperCase()));
  }
  const allowDebug = options.allowDebug ?? false;
  if (typeof allowDebug !== "boolean") {
    invalid(`allowDebug: expected a boolean, got ${typeof allowDebug}`);
  }
  const resolvedBytes: ResolvedDcapValidateOptions["bytes"] = {};
  for (const [option, , , size] of BYTE_FIELDS) {
    const v: unknown = options[option];
    if (v === undefined) continue;
    if (Array.isArray(v)) {
      if (v.length === 0)
        invalid(`${option}: expected a non-empty list (leave it unset to skip the check)`);
      resolvedBytes[option] = v.map((x, i) => bytes(`${option}[${i}]`, x, size));
    } else resolvedBytes[option] = [bytes(option, v, size)];
  }
  let misc: { value: number; mask: number } | undefined;
  if (options.miscSelect !== undefined) {
    const m: unknown = options.miscSelect;
    if (typeof m !== "object" || m === null) invalid("miscSelect: expected { value, mask? }");
    const mm = m as { value?: unknown; mask?: unknown };
    if (mm.value === undefined)
      invalid("miscSelect.value: expected an integer 0–4294967295, got none");
    misc = {
      value: uint("miscSelect.value", mm.value, 0xffff_ffff)!,
      mask: uint("miscSelect.mask", mm.mask, 0xffff_ffff) ?? 0xffff_ffff,
    };
  }
  const set = (keys: readonly (keyof DcapValidateOptions)[]) =>
    keys.filter((k) => options[k] !== undefined);
  return {
    [RESOLVED]: true,
    tee,
    allowedTcbStatuses: statuses,
    allowedAdvisoryIds: advisories,
    allowDebug,
    reportData:
      options.reportData === undefined ? undefined : bytes("reportData", options.reportData, 64),
    bytes: resolvedBytes,
    isvProdId: uint("isvProdId", options.isvProdId, 0xffff),
    minIsvSvn: uint("minIsvSvn", options.minIsvSvn, 0xffff),
    miscSelect: misc,
    xfam: options.xfam === undefined ? undefined : bytes("xfam", options.xfam, 8),
    sgxOnly: set(SGX_ONLY),
    tdxOnly: set(TDX_ONLY),
  } as ResolvedDcapValidateOptions;
}
