/**
 * One entry point for Intel DCAP evidence (SGX and TDX quotes): parse
 * (`abi.ts`) → collateral (`collateral.ts`, fetched with `pcs.ts` when a
 * source is given) → verify (`quote_verify.ts` signatures and PCK chain, the
 * PCK revocation checks, `tcb.ts` TCB evaluation) → validate (`validate.ts`),
 * every check collected into one verdict with the decoded claims in a stable
 * JSON shape (README.md, "SGX and TDX: one verdict").
 *
 * Bad evidence never throws: a quote that does not parse gives a verdict
 * whose failed check carries the parser's code; missing collateral gives a
 * failed check naming exactly what is missing (TCB Info, QE Identity, their
 * issuer chain). Only bad options throw (`OptionsError`).
 *
 * Revocation of the PCK chain is judged once, by the collateral verifier
 * (`pckRevocationChecks`, with the CRLs it verified); the quote verifier runs
 * with `checkRevocation: false`, so a missing CRL is one warning, not two.
 */
import { toHex } from "../_bytes.ts";
import { CODES, type EvidenceCode } from "../codes.ts";
import { CollateralError, EvidenceError, OptionsError } from "../error.ts";
import type { Check } from "../verdict.ts";
import { parseDcapQuote, parsePckExtensions } from "./abi.ts";
import {
  createDcapCollateralVerifier,
  type DcapCollateralResult,
  type DcapCollateralVerifier,
} from "./collateral.ts";
import { type PcsClient, pcsQeIdentityUrl, pcsTcbInfoUrl } from "./pcs.ts";
import {
  createDcapQuoteVerifier,
  type DcapCertificateInput,
  type DcapQuoteVerifier,
} from "./quote_verify.ts";
import { evaluateTcb } from "./tcb.ts";
import {
  type DcapCollateral,
  type DcapQuote,
  NO_COLLATERAL,
  type PckExtensions,
  type TcbEvaluation,
  type TcbStatus,
} from "./types.ts";
import {
  type DcapValidateOptions,
  isDebug,
  type ResolvedDcapValidateOptions,
  resolveDcapValidateOptions,
  validateDcapQuote,
} from "./validate.ts";

/** Where missing collateral comes from: an Intel PCS / PCCS client (`createPcsClient`), or anything answering the same questions. */
export type DcapCollateralSource = Pick<
  PcsClient,
  "tcbInfo" | "qeIdentity" | "pckCrl" | "rootCaCrl"
>;

/** Options of {@link createDcapVerifier}: fixed for the verifier's lifetime. */
export interface DcapVerifierOptions {
  /**
   * The trust anchor (DER or PEM). Default: the pinned Intel SGX Root CA
   * (`INTEL_SGX_ROOT_CA`). Pass another only for test hierarchies (testkit
   * `fakeIntel`); a root that comes inside a quote is never trusted.
   */
  root?: DcapCertificateInput;
  /** WebCrypto implementation. Default `globalThis.crypto`. */
  crypto?: Crypto;
  /** Maximum entries of each cache (see the quote and collateral verifiers). Default: theirs. */
  cacheSize?: number;
}

/**
 * A warm verifier for repeated `attestDcap` calls: the quote verifier and the
 * collateral verifier with their caches (parsed certificates, CRLs, TCB Info,
 * QE Identity, imported keys, signature outcomes), and the last collateral
 * merged from a source. Safe to share; holds no per-call state.
 */
export interface DcapVerifier {
  readonly quote: DcapQuoteVerifier;
  readonly collateral: DcapCollateralVerifier;
}

/**
 * Create a {@link DcapVerifier}.
 *
 * @throws {OptionsError} `options.invalid` when `root` is not a certificate.
 */
export function createDcapVerifier(options: DcapVerifierOptions = {}): DcapVerifier {
  const common = {
    ...(options.root === undefined ? {} : { root: options.root }),
    ...(options.crypto === undefined ? {} : { crypto: options.crypto }),
    ...(options.cacheSize === undefined ? {} : { cacheSize: options.cacheSize }),
  };
  let collateral: DcapCollateralVerifier;
  try {
    collateral = createDcapCollateralVerifier(common);
  } catch (e) {
    throw new OptionsError("options.invalid", `root: ${(e as Error).message}`, { cause: e });
  }
  const verifier = { quote: createDcapQuoteVerifier(common), collateral };
  state.set(verifier, {
    merged: [],
    certs: new Map(),
    maxCerts: options.cacheSize ?? 64,
    pcks: new WeakMap(),
  });
  return verifier;
}

/** Options of {@link attestDcap}. */
export interface AttestDcapOptions {
  /** The verification time: every certificate, CRL and collateral window is judged at this instant. Required. */
  now: Date;
  /**
   * Collateral for the quote: TCB Info, QE Identity, their issuer chain, the
   * root CA CRL and the PCK CRL (e.g. `offlineCollateral(files)`). Items that
   * are null are asked of `source` when there is one. Default: none.
   */
  collateral?: DcapCollateral;
  /**
   * Where missing collateral is fetched: a PCS v4 / PCCS client
   * (`createPcsClient({ fetch, now })`), asked by the PCK certificate's FMSPC
   * and issuing CA. Default: none (nothing is fetched; a missing item's check
   * names the PCS URL it comes from).
   */
  source?: DcapCollateralSource;
  /** The policy (`validateDcapQuote` options). Default `{}`: TCB status UpToDate only, debug refused. */
  policy?: DcapValidateOptions;
  /** When true, a CRL (root CA or PCK) that is neither given nor obtainable fails the verdict instead of warning. Default false. */
  requireCrl?: boolean;
  /**
   * Whether TCB Info and QE Identity are required. Default true: a missing
   * one fails with `dcap.collateral.missing` naming it. false relaxes this
   * explicitly: a missing item is a warning, and the TCB status is
   * "not-checked" (the `dcap.policy.tcb_not_checked` warning). Collateral that
   * is present is verified either way.
   */
  requireCollateral?: boolean;
  /**
   * Accept bytes after the quote's signature data (zero padding of a larger
   * buffer, LAYOUTS.md §2.7): no signature covers them. Default false
   * (`dcap.quote.trailing`). The claims say how many there were.
   */
  allowTrailing?: boolean;
  /** A verifier to reuse (its caches stay warm across calls). Default: a new one. Exclusive with `root`, `crypto`. */
  verifier?: DcapVerifier;
  /** The trust anchor for a new verifier (see {@link DcapVerifierOptions}). Default: the pinned Intel SGX Root CA. */
  root?: DcapCertificateInput;
  /** WebCrypto for a new verifier. Default `globalThis.crypto`. */
  crypto?: Crypto;
}

/** The verdict on one DCAP quote. */
export interface DcapVerdict {
  /** True when no check with severity "error" failed: genuine, verified and meeting the policy. */
  ok: boolean;
  /** The quote's TEE, from its header; null only when the header could not be read. */
  tee: "sgx" | "tdx" | null;
  /** Every check that ran, in order: parse, collateral, verify (quote, revocation, TCB), validate. */
  checks: Check[];
  /** The checks of severity "warning" that carry a code (e.g. `dcap.collateral.crl_unavailable`); they do not fail the verdict. */
  warnings: Check[];
  /** What the quote claims, decoded; null when it did not parse. */
  claims: DcapClaims | null;
}

/** A TCB level's part in the claims. */
export interface DcapClaimsTcbPart {
  status: TcbStatus;
  advisory_ids: string[];
}

/** The decoded quote in a stable JSON shape (snake_case, bytes as lower-case hex). */
export interface DcapClaims {
  /** Quote version: 3, 4 or 5. */
  version: number;
  tee: "sgx" | "tdx";
  /** The TCB as evaluated against the collateral. */
  tcb: {
    /**
     * Intel's TCB status; "not-supported" when no TCB level matches the
     * platform, "not-checked" when the TCB was not evaluated (collateral
     * missing, or a check it depends on failed).
     */
    status: TcbStatus | "not-supported" | "not-checked";
    /** Sorted, unique; empty when not evaluated. */
    advisory_ids: string[];
    /** The matched platform level's tcbDate; null when not evaluated. */
    tcb_date: string | null;
    /** From the PCK certificate (12 / 4 lower-case hex digits); null when it could not be read. */
    fmspc: string | null;
    pce_id: string | null;
    /** TD 1.5: the TD would be at the newest TCB after a relaunch (no host update needed). */
    relaunch_advised: boolean;
    platform: DcapClaimsTcbPart | null;
    qe: (DcapClaimsTcbPart & { isv_svn: number }) | null;
    /** TDX only. */
    tdx_module: DcapClaimsTcbPart | null;
  };
  /** SGX ATTRIBUTES.DEBUG or TDX TD_ATTRIBUTES.DEBUG. */
  debug: boolean;
  /** The 64-byte REPORT_DATA of the enclave or TD. */
  report_data: string;
  /** Bytes after the signature data (accepted only with `allowTrailing`). */
  trailing_bytes: number;
  header: {
    qe_svn: number;
    pce_svn: number;
    qe_vendor_id: string;
    user_data: string;
  };
  /** The PCK certificate's SGX extensions; null when they could not be read. */
  pck: {
    fmspc: string;
    pce_id: string;
    ca: "processor" | "platform";
    sgx_type: "standard" | "scalable" | "scalable-with-integrity";
    pce_svn: number;
    cpu_svn: string;
    tcb_components: number[];
  } | null;
  /** The Quoting Enclave's report. */
  qe_report: { mr_enclave: string; mr_signer: string; isv_prod_id: number; isv_svn: number };
  /** The enclave's REPORT_BODY (SGX quotes); null for TDX. */
  sgx: {
    cpu_svn: string;
    misc_select: number;
    isv_ext_prod_id: string;
    attributes: string;
    mr_enclave: string;
    mr_signer: string;
    config_id: string;
    isv_prod_id: number;
    isv_svn: number;
    config_svn: number;
    isv_family_id: string;
  } | null;
  /** The TD report body (TDX quotes); null for SGX. */
  tdx: {
    /** "td10" (TDX 1.0) or "td15" (TDX 1.5). */
    body: "td10" | "td15";
    tee_tcb_svn: string;
    mr_seam: string;
    mr_signer_seam: string;
    seam_attributes: string;
    td_attributes: string;
    xfam: string;
    mr_td: string;
    mr_config_id: string;
    mr_owner: string;
    mr_owner_config: string;
    rtmr0: string;
    rtmr1: string;
    rtmr2: string;
    rtmr3: string;
    /** TD 1.5 only; null on 1.0. */
    tee_tcb_svn_2: string | null;
    /** TD 1.5 only; null on 1.0. */
    mr_service_td: string | null;
  } | null;
}

const OPTION_KEYS: readonly string[] = [
  "now",
  "collateral",
  "source",
  "policy",
  "requireCrl",
  "requireCollateral",
  "allowTrailing",
  "verifier",
  "root",
  "crypto",
];

/**
 * Per verifier: the collateral last merged from a source, and the PCK chain
 * certificates seen, so warm calls pass the same objects — the collateral
 * verifier keeps its verified plan per collateral object — and decode the
 * PCK extensions once per certificate.
 */
const state = new WeakMap<
  DcapVerifier,
  {
    merged: { parts: unknown[]; value: DcapCollateral }[];
    /** Certificates of PCK chains by length and tail, confirmed byte for byte. */
    certs: Map<string, Uint8Array>;
    /** When `certs` is cleared (the verifier's cacheSize). */
    maxCerts: number;
    pcks: WeakMap<Uint8Array, PckExtensions | null>;
  }
>();

/**
 * Parse, verify and validate one DCAP quote (SGX v3/v4/v5 or TDX v4/v5),
 * collecting every check. See the module comment and {@link AttestDcapOptions}.
 *
 * @throws {OptionsError} `options.invalid` for bad options (missing `now`, a malformed policy, an unknown option).
 */
export async function attestDcap(
  evidence: Uint8Array,
  options: AttestDcapOptions,
): Promise<DcapVerdict> {
  const o = resolveOptions(evidence, options);
  const checks: Check[] = [];
  const verdict = (tee: "sgx" | "tdx" | null, claims: DcapClaims | null): DcapVerdict => ({
    ok: checks.every((c) => c.ok || c.severity === "warning"),
    tee,
    checks,
    warnings: checks.filter((c) => c.severity === "warning" && c.code !== undefined),
    claims,
  });

  // ── 1. parse ─────────────────────────────────────────────────────────
  let quote: DcapQuote;
  try {
    quote = parseDcapQuote(evidence, { allowTrailing: o.allowTrailing });
  } catch (e) {
    /* node:coverage ignore next */
    if (!(e instanceof EvidenceError)) throw e; // a bug, not evidence: never a verdict
    checks.push(failed("dcap.parse", e.code, "a well-formed SGX or TDX DCAP quote", e.message));
    return verdict(teeOf(evidence), null);
  }
  const tee = quote.body.tee;
  checks.push({
    id: "dcap.parse",
    ok: true,
    actual: `${tee.toUpperCase()} quote v${quote.header.version}${quote.body.tee === "tdx" ? ` (${quote.body.report.kind === "td15" ? "TD 1.5" : "TD 1.0"})` : ""}${quote.trailing.length ? `, ${quote.trailing.length} trailing bytes accepted` : ""}`,
  });

  // The quote's own checks need no collateral: its cryptography starts now and
  // runs on WebCrypto's thread pool while the collateral, the TCB and the
  // policy are judged here; its checks are reported after the collateral's.
  const [verified, rest] = await Promise.all([
    o.verifier.quote.verify(quote, { now: o.now, checkRevocation: false }),
    judge(o, quote),
  ]);
  checks.push(...rest.collateral, ...verified.checks, ...rest.verify, ...rest.validate);
  return verdict(tee, rest.claims);
}

/**
 * Everything but the quote verifier's checks: ── 2. collateral, the PCK
 * revocation and TCB parts of ── 3. verify, and ── 4. validate, with the claims.
 */
async function judge(
  o: Resolved,
  quote: DcapQuote,
): Promise<{ collateral: Check[]; verify: Check[]; validate: Check[]; claims: DcapClaims }> {
  const tee = quote.body.tee;
  // The parser guarantees the three certificates (PCK_CHAIN_LENGTH); whether they are certificates is verify's.
  const [quotePckLeaf, quotePckCa] = quote.pckChain as [Uint8Array, Uint8Array];
  const pckLeaf = canonical(o.verifier, quotePckLeaf);
  const pckCa = canonical(o.verifier, quotePckCa);
  // The same decoding the quote verifier does (parsePckExtensions); a failure is its check to report.
  const pck = pckOf(o.verifier, pckLeaf);

  // ── 2. collateral ────────────────────────────────────────────────────
  const checks: Check[] = [];
  const got = await gather(o, quote, pck);
  checks.push(...got.checks);
  const fmspc = pck?.fmspc.toLowerCase();
  const collateral = await o.verifier.collateral.verify(got.collateral, {
    now: o.now,
    pckCa,
    pckCaKind: pck?.ca ?? null,
    requireCrl: o.requireCrl,
    allowMissingTcbInfo: !o.requireCollateral || got.failedTcbInfo,
    allowMissingQeIdentity: !o.requireCollateral || got.failedQeIdentity,
    fetchHint: {
      ...(fmspc ? { tcbInfoUrl: pcsTcbInfoUrl(tee, fmspc) } : {}),
      qeIdentityUrl: pcsQeIdentityUrl(tee),
    },
  });
  for (const c of collateral.checks) {
    const why =
      c.code === "dcap.collateral.crl_unavailable" ? got.crlProblems.get(c.id) : undefined;
    checks.push(why ? { ...c, actual: `${c.actual}; ${why}` } : c);
  }
  if (!o.requireCollateral) {
    // The relaxation is said, naming exactly what was not there.
    for (const [present, what, id] of [
      [got.collateral.tcbInfo !== null, "TCB Info", "dcap.collateral.tcb_info"],
      [got.collateral.qeIdentity !== null, "QE Identity", "dcap.collateral.qe_identity"],
    ] as const) {
      if (!present) {
        checks.push({
          ...failed(
            id,
            "dcap.collateral.missing",
            `the ${what} (requireCollateral is false: not required)`,
            `absent: the ${what === "TCB Info" ? "platform TCB" : "Quoting Enclave"} is not judged`,
          ),
          severity: "warning",
        });
      }
    }
  }

  // ── 3. verify: the PCK chain's revocation, the TCB (the quote's own checks come before these) ──
  const verify = o.verifier.collateral.pckRevocationChecks(collateral, { pck: pckLeaf, pckCa });
  const tcb = evaluate(quote, pck, collateral, verify);

  // ── 4. validate ──────────────────────────────────────────────────────
  return {
    collateral: checks,
    verify,
    validate: validateDcapQuote(quote, tcb.evaluation, o.policy),
    claims: claimsOf(quote, pck, tcb.evaluation, tcb.notSupported),
  };
}

/** The TCB evaluation, when the collateral allows one; its checks go into `checks`. */
function evaluate(
  quote: DcapQuote,
  pck: PckExtensions | null,
  collateral: DcapCollateralResult,
  checks: Check[],
): { evaluation: TcbEvaluation | null; notSupported: boolean } {
  if (!pck || !collateral.tcbInfo || !collateral.qeIdentity) {
    return { evaluation: null, notSupported: false };
  }
  const r = evaluateTcb({
    tee: quote.body.tee,
    tcbInfo: collateral.tcbInfo,
    qeIdentity: collateral.qeIdentity,
    pck,
    qeReport: quote.qeReport,
    td: quote.body.tee === "tdx" ? quote.body.report : null,
  });
  checks.push(...r.checks);
  return {
    evaluation: r.evaluation,
    notSupported: r.checks.some((c) => c.code === "dcap.tcb.not_supported"),
  };
}

interface Resolved {
  now: Date;
  collateral: DcapCollateral;
  source: DcapCollateralSource | undefined;
  policy: ResolvedDcapValidateOptions;
  requireCrl: boolean;
  requireCollateral: boolean;
  allowTrailing: boolean;
  verifier: DcapVerifier;
}

/** Check every option before any work (a malformed policy throws even when the evidence turns out broken). */
function resolveOptions(evidence: Uint8Array, options: AttestDcapOptions): Resolved {
  if (typeof options !== "object" || options === null) invalid("expected an options object");
  for (const k of Object.keys(options)) {
    if (!OPTION_KEYS.includes(k)) invalid(`unknown option ${JSON.stringify(k)}`);
  }
  if (!(options.now instanceof Date) || Number.isNaN(options.now.getTime())) {
    invalid("now: expected a valid Date (the verification time)");
  }
  if (!(evidence instanceof Uint8Array)) invalid("evidence: expected a Uint8Array");
  const bool = (name: "requireCrl" | "requireCollateral" | "allowTrailing", dflt: boolean) => {
    const v = options[name];
    if (v === undefined) return dflt;
    if (typeof v !== "boolean") invalid(`${name}: expected a boolean, got ${typeof v}`);
    return v;
  };
  const c = options.collateral;
  if (c !== undefined) {
    if (typeof c !== "object" || c === null)
      invalid("collateral: expected a DcapCollateral object");
    for (const k of Object.keys(NO_COLLATERAL) as (keyof DcapCollateral)[]) {
      if (!(k in c)) invalid(`collateral.${k}: missing (null when absent)`);
    }
  }
  const s = options.source;
  if (s !== undefined) {
    for (const m of ["tcbInfo", "qeIdentity", "pckCrl", "rootCaCrl"] as const) {
      if (typeof s?.[m] !== "function") invalid(`source.${m}: expected a function (a PCS client)`);
    }
  }
  let verifier = options.verifier;
  if (verifier !== undefined) {
    if (options.root !== undefined || options.crypto !== undefined) {
      invalid("root, crypto: set them on the verifier (createDcapVerifier), not beside it");
    }
    if (!state.has(verifier)) invalid("verifier: expected one made by createDcapVerifier");
  } else {
    verifier = createDcapVerifier({
      ...(options.root === undefined ? {} : { root: options.root }),
      ...(options.crypto === undefined ? {} : { crypto: options.crypto }),
    });
  }
  let policy: ResolvedDcapValidateOptions;
  try {
    policy = resolveDcapValidateOptions(options.policy ?? {});
  } catch (e) {
    if (e instanceof OptionsError) invalid(e.message, e);
    throw e;
  }
  return {
    now: options.now,
    collateral: c ?? NO_COLLATERAL,
    source: s,
    policy,
    requireCrl: bool("requireCrl", false),
    requireCollateral: bool("requireCollateral", true),
    allowTrailing: bool("allowTrailing", false),
    verifier,
  };
}

interface Gathered {
  collateral: DcapCollateral;
  checks: Check[];
  /** The TCB Info / QE Identity was asked of the source and could not be had (its check says why). */
  failedTcbInfo: boolean;
  failedQeIdentity: boolean;
  /** Why a CRL could not be had, by the id of the collateral check that reports it missing. */
  crlProblems: Map<string, string>;
}

/** The given collateral, completed from the source by the PCK's FMSPC and CA. */
async function gather(o: Resolved, quote: DcapQuote, pck: PckExtensions | null): Promise<Gathered> {
  const given = o.collateral;
  const out: Gathered = {
    collateral: given,
    checks: [],
    failedTcbInfo: false,
    failedQeIdentity: false,
    crlProblems: new Map(),
  };
  const source = o.source;
  if (!source) return out;
  const tee = quote.body.tee;
  const c: DcapCollateral = { ...given };
  const ask = async <T>(
    f: () => Promise<T>,
  ): Promise<{ value: T } | { error: CollateralError }> => {
    try {
      return { value: await f() };
    } catch (e) {
      if (e instanceof CollateralError) return { error: e };
      if (e instanceof OptionsError) {
        // e.g. an FMSPC the PCS client refuses: the evidence's problem, said as missing collateral.
        return { error: new CollateralError("dcap.collateral.missing", e.message, { cause: e }) };
      }
      throw e;
    }
  };
  const jobs: Promise<void>[] = [];
  if (c.tcbInfo === null) {
    if (!pck) {
      out.failedTcbInfo = true; // the quote verifier's failed check says why there is no FMSPC
    } else {
      jobs.push(
        ask(() => source.tcbInfo(tee, pck.fmspc)).then((r) => {
          if ("error" in r) {
            out.failedTcbInfo = true;
            out.checks.push(
              failed(
                "dcap.collateral.tcb_info",
                r.error.code,
                `TCB Info for FMSPC ${pck.fmspc.toLowerCase()} from the collateral source`,
                r.error.message,
              ),
            );
          } else {
            c.tcbInfo = r.value.body;
            c.tcbInfoIssuerChain ??= r.value.issuerChain;
          }
        }),
      );
    }
  }
  if (c.qeIdentity === null) {
    jobs.push(
      ask(() => source.qeIdentity(tee)).then((r) => {
        if ("error" in r) {
          out.failedQeIdentity = true;
          out.checks.push(
            failed(
              "dcap.collateral.qe_identity",
              r.error.code,
              `the ${tee === "tdx" ? "TD_QE" : "QE"} Identity from the collateral source`,
              r.error.message,
            ),
          );
        } else {
          c.qeIdentity = r.value.body;
          c.qeIdentityIssuerChain ??= r.value.issuerChain;
        }
      }),
    );
  }
  if (c.rootCaCrl === null) {
    jobs.push(
      ask(() => source.rootCaCrl()).then((r) => {
        if ("error" in r) out.crlProblems.set("dcap.collateral.root_ca_crl", r.error.message);
        else c.rootCaCrl = r.value.der;
      }),
    );
  }
  if (c.pckCrl === null && pck) {
    jobs.push(
      ask(() => source.pckCrl(pck.ca)).then((r) => {
        if ("error" in r) out.crlProblems.set("dcap.collateral.pck_crl", r.error.message);
        else {
          c.pckCrl = r.value.der;
          if (r.value.issuerChain.length) c.pckCrlIssuerChain ??= r.value.issuerChain;
        }
      }),
    );
  }
  await Promise.all(jobs);
  out.collateral = reuse(o.verifier, c);
  return out;
}

/**
 * The same collateral object for the same parts: a PCS client's cache hands
 * out the same strings and buffers, and the collateral verifier keeps its
 * verified plan per object, so warm calls through a source cost no crypto.
 */
function reuse(verifier: DcapVerifier, c: DcapCollateral): DcapCollateral {
  const list = state.get(verifier)!.merged;
  const parts = (Object.keys(NO_COLLATERAL) as (keyof DcapCollateral)[]).map((k) => c[k]);
  const hit = list.find((e) => e.parts.every((p, i) => p === parts[i]));
  if (hit) return hit.value;
  list.push({ parts, value: c });
  if (list.length > 8) list.shift();
  return c;
}

/**
 * The one object per PCK chain certificate (by its bytes): every quote of a
 * platform carries the same PCK and PCK CA, parsed into a new buffer each time.
 */
function canonical(verifier: DcapVerifier, der: Uint8Array): Uint8Array {
  // A "certificate" shorter than its key's tail is no certificate (verify says so): nothing to share.
  if (der.length < 20) return der;
  const { certs: cas, maxCerts } = state.get(verifier)!;
  // A certificate ends in its signature: the length and tail pick the entry, a byte compare confirms it.
  const key = `${der.length}:${toHex(der.subarray(der.length - 16))}`;
  const hit = cas.get(key);
  if (hit && sameBytes(hit, der)) return hit;
  if (cas.size >= maxCerts) cas.clear();
  cas.set(key, der);
  return der;
}

/**
 * Whether two certificates of the same length and the same last 16 bytes
 * (`canonical`'s key) are the same bytes, 4 at a time: this runs on every warm call.
 */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const va = new DataView(a.buffer, a.byteOffset, a.length);
  const vb = new DataView(b.buffer, b.byteOffset, b.length);
  const m = a.length - 16;
  for (let i = 0; i + 4 <= m; i += 4) if (va.getUint32(i) !== vb.getUint32(i)) return false;
  // The last 0–3 bytes before the tail, read as the word that ends there.
  return va.getUint32(m - 4) === vb.getUint32(m - 4);
}

/** The PCK certificate's SGX extensions, decoded once per certificate object; null when they cannot be read. */
function pckOf(verifier: DcapVerifier, der: Uint8Array): PckExtensions | null {
  const pcks = state.get(verifier)!.pcks;
  let pck = pcks.get(der);
  if (pck === undefined) {
    try {
      pck = parsePckExtensions(der);
    } catch {
      pck = null; // the quote verifier reports why (dcap.verify.pck_extensions)
    }
    pcks.set(der, pck);
  }
  return pck;
}

/** The TEE a quote's header names, when the bytes reach that far (a verdict on unparsable evidence still says what it claimed to be). */
function teeOf(evidence: Uint8Array): "sgx" | "tdx" | null {
  if (evidence.length < 8) return null;
  const t = new DataView(evidence.buffer, evidence.byteOffset, 8).getUint32(4, true);
  return t === 0x81 ? "tdx" : t === 0 ? "sgx" : null;
}

function failed(id: string, code: EvidenceCode, expected: string, actual: string): Check {
  return { id, ok: false, code, expected, actual, remedy: CODES[code].remedy, severity: "error" };
}

function invalid(message: string, cause?: unknown): never {
  throw new OptionsError(
    "options.invalid",
    `attestDcap: ${message}`,
    cause === undefined ? undefined : { cause },
  );
}

const part = (p: { status: TcbStatus; advisoryIds: string[] }): DcapClaimsTcbPart => ({
  status: p.status,
  advisory_ids: [...p.advisoryIds],
});

/**
 * The claims of a parsed quote, with its PCK extensions and TCB evaluation
 * when there are any (the same shape `attestDcap` returns).
 */
export function dcapClaims(
  quote: DcapQuote,
  pck: PckExtensions | null = null,
  tcb: TcbEvaluation | null = null,
): DcapClaims {
  return claimsOf(quote, pck, tcb, false);
}

function claimsOf(
  q: DcapQuote,
  pck: PckExtensions | null,
  t: TcbEvaluation | null,
  notSupported: boolean,
): DcapClaims {
  const h = q.header;
  const b = q.body;
  return {
    version: h.version,
    tee: b.tee,
    tcb: {
      status: t ? t.status : notSupported ? "not-supported" : "not-checked",
      advisory_ids: t ? [...t.advisoryIds] : [],
      tcb_date: t ? t.tcbDate : null,
      fmspc: pck ? pck.fmspc.toLowerCase() : null,
      pce_id: pck ? pck.pceId.toLowerCase() : null,
      relaunch_advised: t ? t.relaunchAdvised : false,
      platform: t ? part(t.platform) : null,
      qe: t ? { ...part(t.qe), isv_svn: t.qe.isvSvn } : null,
      tdx_module: t?.tdxModule ? part(t.tdxModule) : null,
    },
    debug: isDebug(q),
    report_data: toHex(b.report.reportData),
    trailing_bytes: q.trailing.length,
    header: {
      qe_svn: h.qeSvn,
      pce_svn: h.pceSvn,
      qe_vendor_id: toHex(h.qeVendorId),
      user_data: toHex(h.userData),
    },
    pck: pck
      ? {
          fmspc: pck.fmspc.toLowerCase(),
          pce_id: pck.pceId.toLowerCase(),
          ca: pck.ca,
          sgx_type: pck.sgxType,
          pce_svn: pck.pceSvn,
          cpu_svn: toHex(pck.cpuSvn),
          tcb_components: [...pck.tcbComponents],
        }
      : null,
    qe_report: {
      mr_enclave: toHex(q.qeReport.mrEnclave),
      mr_signer: toHex(q.qeReport.mrSigner),
      isv_prod_id: q.qeReport.isvProdId,
      isv_svn: q.qeReport.isvSvn,
    },
    sgx:
      b.tee === "sgx"
        ? {
            cpu_svn: toHex(b.report.cpuSvn),
            misc_select: b.report.miscSelect,
            isv_ext_prod_id: toHex(b.report.isvExtProdId),
            attributes: toHex(b.report.attributes),
            mr_enclave: toHex(b.report.mrEnclave),
            mr_signer: toHex(b.report.mrSigner),
            config_id: toHex(b.report.configId),
            isv_prod_id: b.report.isvProdId,
            isv_svn: b.report.isvSvn,
            config_svn: b.report.configSvn,
            isv_family_id: toHex(b.report.isvFamilyId),
          }
        : null,
    tdx:
      b.tee === "tdx"
        ? {
            body: b.report.kind,
            tee_tcb_svn: toHex(b.report.teeTcbSvn),
            mr_seam: toHex(b.report.mrSeam),
            mr_signer_seam: toHex(b.report.mrSignerSeam),
            seam_attributes: toHex(b.report.seamAttributes),
            td_attributes: toHex(b.report.tdAttributes),
            xfam: toHex(b.report.xfam),
            mr_td: toHex(b.report.mrTd),
            mr_config_id: toHex(b.report.mrConfigId),
            mr_owner: toHex(b.report.mrOwner),
            mr_owner_config: toHex(b.report.mrOwnerConfig),
            rtmr0: toHex(b.report.rtmr[0]),
            rtmr1: toHex(b.report.rtmr[1]),
            rtmr2: toHex(b.report.rtmr[2]),
            rtmr3: toHex(b.report.rtmr[3]),
            tee_tcb_svn_2: b.report.teeTcbSvn2 ? toHex(b.report.teeTcbSvn2) : null,
            mr_service_td: b.report.mrServiceTd ? toHex(b.report.mrServiceTd) : null,
          }
        : null,
  };
}
