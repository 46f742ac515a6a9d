/**
 * One entry point for SEV-SNP evidence: parse (`abi.ts`) → verify
 * (`verify.ts`) → validate (`validate.ts`), every check collected into one
 * verdict with the decoded claims in a stable JSON shape (README.md, "Claims").
 *
 * Bad evidence never throws: a report that does not parse gives a verdict
 * whose failed check carries the parser's code; missing collateral gives a
 * failed check naming what is missing. Only bad options throw (`OptionsError`).
 */
import { toHex } from "../_bytes.ts";
import { X509Certificate } from "../_x509.ts";
import { CODES, type EvidenceCode } from "../codes.ts";
import { CollateralError, EvidenceError, OptionsError } from "../error.ts";
import type { Check } from "../verdict.ts";
import { extractSnpReport, parseSnpReport } from "./abi.ts";
import { parseCollateral } from "./collateral.ts";
import type { SnpCollateralSource } from "./kds.ts";
import type { SnpProduct, SnpReport, SnpTcb } from "./types.ts";
import { type SnpValidateOptions, validateSnpReport } from "./validate.ts";
import {
  type CertificateInput,
  type CrlInput,
  createSnpVerifier,
  type SnpEndorsementInfo,
  type SnpVerifier,
} from "./verify.ts";

/** Options of {@link attestSnp}. */
export interface AttestSnpOptions {
  /** The verification time: validity windows and CRL freshness are judged at this instant. Required. */
  now: Date;
  /**
   * The VCEK or VLEK that signed the report (DER, PEM or parsed). When unset,
   * it is obtained from `collateral` by CHIP_ID and REPORTED_TCB (VCEK only:
   * the KDS does not serve VLEKs). One of the two is needed.
   */
  endorsementKey?: CertificateInput;
  /** ASK/ASVK (and ARK) certificates that came with the evidence. Default: none (the pinned ones are always used). */
  intermediates?: readonly CertificateInput[];
  /** AMD CRLs. Default: none, then the CRL is asked of `collateral` when there is one. */
  crls?: readonly CrlInput[];
  /**
   * Where missing collateral comes from: an offline bundle (`createOfflineKds`)
   * or the AMD KDS (`createKdsClient`). Default: none (nothing is fetched).
   */
  collateral?: SnpCollateralSource;
  /** The policy (`validateSnpReport` options). Default `{}`: debug and migration agent refused. */
  policy?: SnpValidateOptions;
  /** When true, a CRL that is neither given nor obtainable fails the verdict instead of warning. Default false. */
  requireCrl?: boolean;
  /**
   * Cloud providers (VLEK cspID, e.g. `CN=cc-us-east-2.amazonaws.com`) whose VLEK
   * is accepted, compared exactly. Not checked if unset; a VCEK is not affected.
   */
  allowedCspIds?: readonly string[];
  /**
   * The product of a version 2 report (which does not name it). Default: the
   * endorsement certificate's productName; with only `collateral`, Milan then Genoa are tried.
   */
  product?: SnpProduct;
  /** A verifier to reuse (its chain cache stays warm across calls). Default: a new one. */
  verifier?: SnpVerifier;
}

/** The verdict on one piece of SEV-SNP evidence. */
export interface SnpVerdict {
  /** True when no check with severity "error" failed: genuine, verified and meeting the policy. */
  ok: boolean;
  tee: "sev-snp";
  /** Every check that ran, in order: parse, collateral, verify, validate. */
  checks: Check[];
  /** The checks of severity "warning" that carry a code (e.g. `snp.verify.crl_unavailable`); they do not fail the verdict. */
  warnings: Check[];
  /** What the report claims, decoded; null when it did not parse. */
  claims: SnpClaims | null;
}

/** A TCB_VERSION as claims show it. */
export interface SnpClaimsTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  /** Turin only; null elsewhere. */
  fmc: number | null;
  /** The 8 bytes as received, hex. */
  raw: string;
}

/** The decoded report in a stable JSON shape (snake_case, bytes as lower-case hex, 64-bit values as `0x` hex). */
export interface SnpClaims {
  version: number;
  product: SnpProduct;
  /** v3+: CPUID_FAM_ID / MOD_ID / STEP; null on v2. */
  cpuid: { family: number; model: number; stepping: number } | null;
  guest_svn: number;
  vmpl: number;
  policy: {
    raw: string;
    abi_major: number;
    abi_minor: number;
    smt: boolean;
    migrate_ma: boolean;
    debug: boolean;
    single_socket: boolean;
    cxl_allow: boolean;
    mem_aes_256_xts: boolean;
    rapl_dis: boolean;
    ciphertext_hiding: boolean;
    page_swap_disable: boolean;
  };
  platform_info: {
    raw: string;
    smt_enabled: boolean;
    tsme_enabled: boolean;
    ecc_enabled: boolean;
    rapl_disabled: boolean;
    ciphertext_hiding_enabled: boolean;
    alias_check_complete: boolean;
    tio_enabled: boolean;
  };
  measurement: string;
  report_data: string;
  host_data: string;
  id_key_digest: string;
  author_key_digest: string;
  family_id: string;
  image_id: string;
  report_id: string;
  report_id_ma: string;
  chip_id: string;
  author_key_en: boolean;
  mask_chip_key: boolean;
  tcb: {
    reported: SnpClaimsTcb;
    current: SnpClaimsTcb;
    committed: SnpClaimsTcb;
    launch: SnpClaimsTcb;
  };
  firmware: {
    current: { major: number; minor: number; build: number };
    committed: { major: number; minor: number; build: number };
  };
  /** v5+: mitigation vectors as `0x` hex; null before. */
  mitigation_vector: { launch: string; current: string } | null;
  /**
   * The key that signed the report: `kind` from KEY_INFO; the rest from the
   * endorsement certificate, null when none was decoded.
   */
  signing_key: {
    kind: "vcek" | "vlek" | "none";
    subject: string | null;
    issuer: string | null;
    serial_number: string | null;
    product_name: string | null;
    /** The VLEK's cspID (its cloud provider); null for a VCEK or when none was decoded. */
    csp_id: string | null;
    not_before: string | null;
    not_after: string | null;
  };
}

const V2_PRODUCTS: readonly SnpProduct[] = ["Milan", "Genoa"];
const PRODUCTS: readonly SnpProduct[] = ["Milan", "Genoa", "Turin"];

let placeholder: SnpReport | undefined;

/**
 * An all-zero v2 report (POLICY bit 17 set, SIGNATURE_ALGO 1: the least the
 * parser accepts), to run `validateSnpReport`'s option checks on before the
 * evidence is parsed. Its checks are discarded.
 */
function placeholderReport(): SnpReport {
  if (!placeholder) {
    const b = new Uint8Array(0x4a0);
    b[0x000] = 2; // VERSION
    b[0x008 + 2] = 0x02; // GUEST_POLICY bit 17
    b[0x034] = 1; // SIGNATURE_ALGO: ECDSA P-384 with SHA-384
    placeholder = parseSnpReport(b, { product: "Milan" });
  }
  return placeholder;
}

/**
 * Parse, verify and validate one SEV-SNP report (raw 1184 bytes, or an Azure
 * HCL report that wraps one), collecting every check.
 *
 * @throws {OptionsError} `options.invalid` for bad options (missing `now`, a malformed policy).
 */
export async function attestSnp(
  evidence: Uint8Array,
  options: AttestSnpOptions,
): Promise<SnpVerdict> {
  if (typeof options !== "object" || options === null) invalid("expected an options object");
  if (!(options.now instanceof Date) || Number.isNaN(options.now.getTime())) {
    invalid("now: expected a valid Date (the verification time)");
  }
  if (!(evidence instanceof Uint8Array)) invalid("evidence: expected a Uint8Array");
  // A malformed policy throws before any work, even when the evidence turns out broken.
  if (options.policy !== undefined) validateSnpReport(placeholderReport(), options.policy);
  const checks: Check[] = [];
  const verdict = (claims: SnpClaims | null): SnpVerdict => ({
    ok: checks.every((c) => c.ok || c.severity === "warning"),
    tee: "sev-snp",
    checks,
    warnings: checks.filter((c) => c.severity === "warning" && c.code !== undefined),
    claims,
  });

  // ── 1. parse ─────────────────────────────────────────────────────────
  const source = options.collateral;
  const parsed = await parseStep(evidence, options);
  if ("error" in parsed) {
    const e = parsed.error;
    checks.push(failed("snp.parse", e.code, "a well-formed SEV-SNP attestation report", e.message));
    return verdict(null);
  }
  const { report, missing, note } = parsed;
  let endorsementKey = parsed.endorsementKey;
  checks.push({
    id: "snp.parse",
    ok: true,
    actual: `version ${report.version}, ${report.product}${note}`,
  });

  // ── 2. collateral and verify ─────────────────────────────────────────
  if (missing) checks.push(missing);
  else if (endorsementKey === undefined) {
    const got = await fetchEndorsement(report, source);
    if (got instanceof Uint8Array) endorsementKey = got;
    else checks.push(got);
  }
  let crls = options.crls ?? [];
  const kind = report.signingKey === "vlek" ? "vlek" : "vcek";
  let crlProblem: CollateralError | null = null;
  if (crls.length === 0 && source) {
    try {
      crls = [await source.crl(report.product, kind)];
    } catch (e) {
      if (!(e instanceof CollateralError)) throw e;
      crlProblem = e;
    }
  }
  let endorsement: SnpEndorsementInfo | null = null;
  if (endorsementKey !== undefined) {
    const verifier = options.verifier ?? createSnpVerifier();
    const result = await verifier.verify(report, {
      now: options.now,
      endorsementKey,
      intermediates: options.intermediates ?? [],
      crls,
      requireCrl: options.requireCrl === true,
      ...(options.allowedCspIds === undefined ? {} : { allowedCspIds: options.allowedCspIds }),
    });
    endorsement = result.endorsement;
    // Why there is no CRL goes into verify's crl_unavailable check (one check, not two).
    for (const c of result.checks) {
      if (crlProblem && c.code === "snp.verify.crl_unavailable") {
        checks.push({ ...c, actual: `${c.actual}; ${crlProblem.message}` });
      } else checks.push(c);
    }
    // The chain did not reach a pinned root: say which certificate the collateral lacks.
    const chainFailed = result.checks.some((c) => !c.ok && c.code === "snp.verify.chain");
    if (chainFailed && source) {
      try {
        await source.certChain(report.product, endorsement?.kind ?? kind);
      } catch (e) {
        if (!(e instanceof CollateralError)) throw e;
        checks.push(failed("snp.collateral.chain", e.code, "the AMD certificate chain", e.message));
      }
    }
  }

  // ── 3. validate ──────────────────────────────────────────────────────
  checks.push(...validateSnpReport(report, options.policy ?? {}));
  return verdict(claimsOf(report, endorsement));
}

type Parsed =
  | {
      report: SnpReport;
      endorsementKey: CertificateInput | undefined;
      missing: Check | null;
      note: string;
    }
  | { error: EvidenceError };

/**
 * Parse, finding the product of a v2 report (which names none): the one
 * `options.product` says, else the endorsement certificate's productName, else
 * the one the collateral has a VCEK for.
 */
async function parseStep(evidence: Uint8Array, options: AttestSnpOptions): Promise<Parsed> {
  const key = options.endorsementKey;
  const ok = (report: SnpReport) => ({ report, endorsementKey: key, missing: null, note: "" });
  try {
    return ok(parseSnp(evidence, options.product));
  } catch (e) {
    if (!(e instanceof EvidenceError)) throw e;
    if (e.code !== "snp.report.product_required") return { error: e };
    const hint = productOf(key);
    if (hint) {
      try {
        return ok(parseSnp(evidence, hint));
      } catch (again) {
        if (!(again instanceof EvidenceError)) throw again;
        return { error: again };
      }
    }
    if (!options.collateral || key !== undefined) return { error: e };
    const guess = await guessProduct(evidence, options.collateral);
    if (!guess) return { error: e };
    if ("error" in guess) return guess;
    return guess.vcek
      ? {
          report: guess.report,
          endorsementKey: guess.vcek,
          missing: null,
          note: " (product from the VCEK the collateral has for its chip)",
        }
      : {
          report: guess.report,
          endorsementKey: undefined,
          missing: guess.missing,
          note: " (a v2 report does not name its product: decoded with the Milan/Genoa layout)",
        };
  }
}

function parseSnp(evidence: Uint8Array, product: SnpProduct | undefined): SnpReport {
  return parseSnpReport(extractSnpReport(evidence), product ? { product } : {});
}

/**
 * A v2 report names no product; Milan and Genoa (the products with v2
 * firmware) share its layout. The product is the one the collateral has a
 * VCEK for; with none, the report decoded as Milan and a check naming what is missing.
 */
async function guessProduct(
  evidence: Uint8Array,
  source: SnpCollateralSource,
): Promise<
  | { report: SnpReport; vcek: Uint8Array; missing: null }
  | { report: SnpReport; vcek: null; missing: Check }
  | { error: EvidenceError }
  | null
> {
  const problems: string[] = [];
  let first: SnpReport | null = null;
  let code: EvidenceCode = "snp.collateral.missing";
  for (const product of V2_PRODUCTS) {
    let report: SnpReport;
    try {
      report = parseSnp(evidence, product);
    } catch (e) {
      // Broken beyond the missing product (a reserved byte set): that is the finding.
      if (e instanceof EvidenceError) return { error: e };
      throw e;
    }
    first ??= report;
    const got = await fetchEndorsement(report, source);
    if (got instanceof Uint8Array) return { report, vcek: got, missing: null };
    if (problems.length === 0 && got.code) code = got.code as EvidenceCode;
    problems.push(got.actual ?? "");
  }
  return {
    report: first!,
    vcek: null,
    missing: failed(
      "snp.collateral.endorsement_key",
      code,
      "the VCEK for the report's CHIP_ID and REPORTED_TCB (Milan or Genoa)",
      problems.join("; "),
    ),
  };
}

/** The VCEK from the collateral source, or a failed check saying why there is none. */
async function fetchEndorsement(
  report: SnpReport,
  source: SnpCollateralSource | undefined,
): Promise<Uint8Array | Check> {
  const id = "snp.collateral.endorsement_key";
  const kind = report.signingKey.toUpperCase();
  if (!source) {
    return failed(
      id,
      "snp.collateral.missing",
      `the ${kind} certificate that signed the report`,
      "none given and no collateral source to obtain it from: pass it with --collateral FILE",
    );
  }
  if (report.signingKey !== "vcek") {
    return failed(
      id,
      "snp.collateral.missing",
      `the ${kind} certificate that signed the report`,
      report.signingKey === "vlek"
        ? "the AMD KDS does not serve VLEKs without the cloud provider's credentials: pass the VLEK with --collateral FILE"
        : "the report is unsigned (SIGNING_KEY = none)",
    );
  }
  try {
    return await source.vcek(report.product, report.chipId, report.reportedTcb);
  } catch (e) {
    if (e instanceof CollateralError) {
      return failed(id, e.code, "the VCEK for the report's CHIP_ID and REPORTED_TCB", e.message);
    }
    if (e instanceof OptionsError) {
      // e.g. a masked (all-zero) CHIP_ID: the KDS cannot be asked.
      return failed(
        id,
        "snp.collateral.missing",
        "the VCEK for the report's CHIP_ID and REPORTED_TCB",
        e.message,
      );
    }
    throw e;
  }
}

/** productName (1.3.6.1.4.1.3704.1.2) as a DER OBJECT IDENTIFIER (AMD pub. 57230). */
const PRODUCT_NAME_OID = [0x06, 0x09, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x9c, 0x78, 0x01, 0x02];

/**
 * The product a certificate's productName extension names (`Milan-B0` → Milan).
 * DER bytes take a fast path (find the extension, read its string: no full
 * X.509 parse per report); anything else goes through `parseCollateral`.
 * Only a hint for the parser: `verify.ts` checks the product for real.
 */
function productOf(cert: CertificateInput | undefined): SnpProduct | undefined {
  if (cert === undefined) return undefined;
  const der = cert instanceof X509Certificate ? new Uint8Array(cert.rawData) : cert;
  if (der instanceof Uint8Array && der[0] === 0x30) {
    const name = productNameOf(der);
    if (name !== null) return PRODUCTS.find((p) => p === name.split("-")[0]);
  }
  try {
    const bytes = typeof der === "string" ? new TextEncoder().encode(der) : der;
    return parseCollateral([bytes]).certificates[0]?.product ?? undefined;
  } catch {
    // Unreadable: the verifier reports it as a failed certificate check.
    return undefined;
  }
}

/** The productName extension's string: OID, optional `critical`, OCTET STRING { IA5String | UTF8String }. */
function productNameOf(der: Uint8Array): string | null {
  const n = PRODUCT_NAME_OID.length;
  outer: for (let i = 0; i + n < der.length; i++) {
    for (let j = 0; j < n; j++) if (der[i + j] !== PRODUCT_NAME_OID[j]) continue outer;
    let k = i + n;
    if (der[k] === 0x01 && der[k + 1] === 0x01) k += 3; // critical BOOLEAN
    if (der[k] !== 0x04 || der[k + 1]! >= 0x80) return null;
    const t = der[k + 2];
    const len = der[k + 3]!;
    if ((t !== 0x16 && t !== 0x0c) || len >= 0x80 || k + 4 + len > der.length) return null;
    return new TextDecoder().decode(der.subarray(k + 4, k + 4 + len));
  }
  return null;
}

function failed(id: string, code: EvidenceCode, expected: string, actual: string): Check {
  return { id, ok: false, code, expected, actual, remedy: CODES[code].remedy, severity: "error" };
}

function invalid(message: string): never {
  throw new OptionsError("options.invalid", `attestSnp: ${message}`);
}

const hex64 = (v: bigint): string => `0x${v.toString(16).padStart(16, "0")}`;

function tcbClaims(t: SnpTcb): SnpClaimsTcb {
  return {
    bootloader: t.bootloader,
    tee: t.tee,
    snp: t.snp,
    microcode: t.microcode,
    fmc: t.fmc,
    raw: toHex(t.raw),
  };
}

/** The claims of a parsed report, with the endorsement certificate's identity when it was decoded. */
export function snpClaims(
  report: SnpReport,
  endorsement: SnpEndorsementInfo | null = null,
): SnpClaims {
  return claimsOf(report, endorsement);
}

function claimsOf(r: SnpReport, e: SnpEndorsementInfo | null): SnpClaims {
  const p = r.policy;
  const pi = r.platformInfo;
  return {
    version: r.version,
    product: r.product,
    cpuid: r.cpuid ? { ...r.cpuid } : null,
    guest_svn: r.guestSvn,
    vmpl: r.vmpl,
    policy: {
      raw: hex64(p.raw),
      abi_major: p.abiMajor,
      abi_minor: p.abiMinor,
      smt: p.smt,
      migrate_ma: p.migrateMa,
      debug: p.debug,
      single_socket: p.singleSocket,
      cxl_allow: p.cxlAllow,
      mem_aes_256_xts: p.memAes256Xts,
      rapl_dis: p.raplDis,
      ciphertext_hiding: p.ciphertextHiding,
      page_swap_disable: p.pageSwapDisable,
    },
    platform_info: {
      raw: hex64(pi.raw),
      smt_enabled: pi.smtEnabled,
      tsme_enabled: pi.tsmeEnabled,
      ecc_enabled: pi.eccEnabled,
      rapl_disabled: pi.raplDisabled,
      ciphertext_hiding_enabled: pi.ciphertextHidingEnabled,
      alias_check_complete: pi.aliasCheckComplete,
      tio_enabled: pi.tioEnabled,
    },
    measurement: toHex(r.measurement),
    report_data: toHex(r.reportData),
    host_data: toHex(r.hostData),
    id_key_digest: toHex(r.idKeyDigest),
    author_key_digest: toHex(r.authorKeyDigest),
    family_id: toHex(r.familyId),
    image_id: toHex(r.imageId),
    report_id: toHex(r.reportId),
    report_id_ma: toHex(r.reportIdMa),
    chip_id: toHex(r.chipId),
    author_key_en: r.authorKeyEn,
    mask_chip_key: r.maskChipKey,
    tcb: {
      reported: tcbClaims(r.reportedTcb),
      current: tcbClaims(r.currentTcb),
      committed: tcbClaims(r.committedTcb),
      launch: tcbClaims(r.launchTcb),
    },
    firmware: { current: { ...r.currentVersion }, committed: { ...r.committedVersion } },
    mitigation_vector:
      r.launchMitVector === null || r.currentMitVector === null
        ? null
        : { launch: hex64(r.launchMitVector), current: hex64(r.currentMitVector) },
    signing_key: {
      kind: r.signingKey,
      subject: e?.subject ?? null,
      issuer: e?.issuer ?? null,
      serial_number: e?.serialNumber ?? null,
      product_name: e?.productName ?? null,
      csp_id: e?.cspId ?? null,
      not_before: e ? e.notBefore.toISOString() : null,
      not_after: e ? e.notAfter.toISOString() : null,
    },
  };
}
