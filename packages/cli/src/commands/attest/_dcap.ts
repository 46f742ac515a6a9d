/**
 * Intel DCAP quotes (SGX and TDX) for `donjon attest verify` and `inspect`:
 * recognising a quote by its header, verifying it with @donjon/attest's
 * `attestDcap` over the `--collateral` files (`offlineCollateral`: TCB Info
 * and QE Identity JSON, CRLs, PEM chains, recognised by content) and, unless
 * `--offline`, Intel PCS or a PCCS for what they lack, and printing the verdict
 * the way SEV-SNP's is printed.
 */
import {
  attestDcap,
  type Check,
  CollateralError,
  createPcsClient,
  type DcapClaims,
  type DcapCollateral,
  type DcapVerdict,
  dcapClaims,
  EvidenceError,
  type KeepEvidence,
  OptionsError,
  offlineCollateral,
  parseDcapQuote,
  parsePckExtensions,
} from "@donjon/attest";
import { CliError } from "../../error.ts";
import { type AttestContext, columns, flatten, formatChecks } from "./_io.ts";
import type { DcapPolicy } from "./_policy.ts";

/** The quote header (Intel DCAP Quote Library, "Quote Header"; LAYOUTS.md §2.1). */
const HEADER_SIZE = 48;
/** ATT_KEY_TYPE 2: ECDSA-256-with-P-256 (3, P-384, is defined but not produced). */
const ATT_KEY_TYPES = [2, 3];
/** TEE_TYPE (bytes 4–7; reserved, zero, in SGX v3): 0x00000000 SGX, 0x00000081 TDX. */
const TEE_TYPES: Readonly<Record<number, "sgx" | "tdx">> = { 0: "sgx", 129: "tdx" };

/**
 * The TEE an Intel DCAP quote header names, or undefined when `bytes` do not
 * start like a quote: version 3, 4 or 5 (u16 LE), an ECDSA attestation key
 * type (u16 LE), a known TEE type (u32 LE). An SNP report starts with its u32
 * version, so its bytes 2–3 are zero and never a key type.
 */
export function dcapTeeOf(bytes: Uint8Array): "sgx" | "tdx" | undefined {
  if (bytes.length < HEADER_SIZE) return undefined;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, HEADER_SIZE);
  const version = dv.getUint16(0, true);
  if (version < 3 || version > 5 || !ATT_KEY_TYPES.includes(dv.getUint16(2, true)))
    return undefined;
  return TEE_TYPES[dv.getUint32(4, true)];
}

/** Human names. */
export const DCAP_NAMES = { sgx: "Intel SGX", tdx: "Intel TDX" } as const;

/** What {@link verifyDcap} is given. */
export interface DcapRequest {
  /** The evidence file as named on the command line (in messages). */
  file: string;
  /** The quote. */
  quote: Uint8Array;
  /** The TEE: from `--format`, the wrapper, or the header. */
  tee: "sgx" | "tdx";
  /** `--collateral` files. */
  collateral: readonly { name: string; data: Uint8Array }[];
  /** The `[sgx]` / `[tdx]` table of `--policy`, when there is one. */
  policy: DcapPolicy | undefined;
  /** How to name the policy file in messages. */
  policyFile: string | undefined;
  requireCrl: boolean;
  allowTrailing: boolean;
  /** Fetch nothing (`--offline`). */
  offline: boolean;
  /** `--pcs URL`. */
  pcs: string | undefined;
  now: Date;
}

/** Remedies that read differently on this command line than in the library (option names → flags and policy keys). */
const REMEDY: Readonly<Record<string, string>> = {
  "dcap.policy.tcb_status":
    "Update the platform (microcode, BIOS, TDX module) as the advisories say, or accept the status in the policy's [sgx] / [tdx] tcb_statuses (--policy FILE).",
  "dcap.policy.advisory":
    "Mitigate the advisory (update the platform), or list its ID in the policy's [sgx] / [tdx] advisory_ids once you judged it harmless for this workload.",
  "dcap.policy.debug":
    "Launch a production enclave or TD (debug off), or allow debug in the policy ([sgx] / [tdx] debug = true) for test environments only.",
  "dcap.quote.trailing":
    "Pass the quote alone (trim the buffer to the length the quote states), or accept the trailing bytes with --allow-trailing: no signature covers them.",
};

/** The verdict with this command's remedies. */
function withRemedies(v: DcapVerdict): DcapVerdict {
  const fix = (c: Check): Check =>
    c.code !== undefined && !c.ok && REMEDY[c.code] ? { ...c, remedy: REMEDY[c.code] } : c;
  return { ...v, checks: v.checks.map(fix), warnings: v.warnings.map(fix) };
}

/** Run attestDcap for `r`: offline collateral first, then (unless offline) the PCS. */
export async function verifyDcap(r: DcapRequest, ctx: AttestContext): Promise<DcapVerdict> {
  let collateral: DcapCollateral;
  try {
    collateral = offlineCollateral(r.collateral);
  } catch (e) {
    if (e instanceof CollateralError) {
      throw new CliError(
        "BAD_INPUT",
        `${e.message} (expected TCB Info or QE Identity JSON, raw or as the PCS body, a CRL in PEM or DER, or a PEM certificate chain)`,
        { cause: e },
      );
    }
    throw e;
  }
  let source: ReturnType<typeof createPcsClient> | undefined;
  if (!r.offline) {
    if (!ctx.fetch) {
      throw new CliError(
        "USAGE",
        "no network access here: pass --offline and --collateral FILE (see donjon attest verify --help)",
      );
    }
    source = createPcsClient({
      fetch: ctx.fetch,
      now: () => ctx.now?.() ?? r.now,
      ...(r.pcs === undefined ? {} : { baseUrl: r.pcs }),
    });
  }
  try {
    return withRemedies(
      await attestDcap(r.quote, {
        now: r.now,
        collateral,
        ...(source ? { source } : {}),
        policy: { tee: r.tee, ...r.policy?.validate },
        requireCrl: r.requireCrl,
        requireCollateral: r.policy?.requireCollateral ?? true,
        allowTrailing: r.allowTrailing,
        ...(ctx.intelRoot ? { root: ctx.intelRoot } : {}),
      }),
    );
  } catch (e) {
    if (e instanceof OptionsError) {
      throw new CliError("CONFIG", `${r.policyFile ?? "policy"}: ${e.message}`, { cause: e });
    }
    throw e;
  }
}

/** The human-readable verdict; `keepRows` are the rows of a Keep evidence wrapper. */
export function formatDcapVerdict(
  file: string,
  v: DcapVerdict,
  now: Date,
  keepRows: [string, string][] = [],
): string {
  const c = v.claims;
  const name = v.tee ? DCAP_NAMES[v.tee] : "Intel DCAP";
  const what = c
    ? `${name} quote version ${c.version}${c.tdx ? ` (${c.tdx.body === "td15" ? "TD 1.5" : "TD 1.0"})` : ""}${c.pck ? `, FMSPC ${c.pck.fmspc}` : ""}`
    : `${name} evidence`;
  const wrapped = keepRows.length ? " in a Keep evidence wrapper" : "";
  let s = `${file}: ${v.ok ? "ACCEPTED" : "REJECTED"} — ${what}${wrapped}, as of ${now.toISOString()}\n`;
  if (c) s += columns([...verdictRows(c), ...keepRows], "  ");
  return s + formatChecks(v);
}

function verdictRows(c: DcapClaims): [string, string][] {
  const t = c.tcb;
  const part = (p: { status: string; advisory_ids: string[] } | null) =>
    p ? `${p.status}${p.advisory_ids.length ? ` [${p.advisory_ids.join(", ")}]` : ""}` : "—";
  const rows: [string, string][] = [
    ["tcb status", part(t)],
    ["tcb date", t.tcb_date ?? "—"],
    ["platform tcb", part(t.platform)],
    ["qe tcb", t.qe ? `${part(t.qe)} (isvsvn ${t.qe.isv_svn})` : "—"],
  ];
  if (c.tdx) {
    rows.push(["tdx module tcb", part(t.tdx_module)]);
    if (t.relaunch_advised)
      rows.push(["relaunch advised", "yes (a newer TCB after a TD relaunch)"]);
    rows.push(
      ["mr_td", c.tdx.mr_td],
      ["rtmr0", c.tdx.rtmr0],
      ["rtmr1", c.tdx.rtmr1],
      ["rtmr2", c.tdx.rtmr2],
      ["rtmr3", c.tdx.rtmr3],
      ["td_attributes", `${c.tdx.td_attributes} (debug ${c.debug})`],
      ["tee_tcb_svn", c.tdx.tee_tcb_svn],
    );
  }
  if (c.sgx) {
    rows.push(
      ["mr_enclave", c.sgx.mr_enclave],
      ["mr_signer", c.sgx.mr_signer],
      ["isv_prod_id", String(c.sgx.isv_prod_id)],
      ["isv_svn", String(c.sgx.isv_svn)],
      ["attributes", `${c.sgx.attributes} (debug ${c.debug})`],
    );
  }
  rows.push(["report_data", c.report_data]);
  if (c.pck) {
    rows.push([
      "pck",
      `FMSPC ${c.pck.fmspc}, PCE ID ${c.pck.pce_id}, ${c.pck.ca} CA, ${c.pck.sgx_type}, PCESVN ${c.pck.pce_svn}`,
    ]);
  }
  if (c.trailing_bytes > 0)
    rows.push(["trailing bytes", `${c.trailing_bytes} (covered by no signature)`]);
  return rows;
}

/**
 * Decode a quote for `inspect`: its claims without any TCB evaluation (the
 * `tcb` member is left out: nothing was judged). Trailing bytes are accepted
 * and counted; a PCK certificate whose extensions do not read leaves `pck` null.
 */
export function inspectDcap(
  bytes: Uint8Array,
  file: string,
  err: (t: string) => void,
): Omit<DcapClaims, "tcb"> {
  let claims: DcapClaims;
  try {
    const quote = parseDcapQuote(bytes, { allowTrailing: true });
    let pck = null;
    try {
      pck = quote.pckChain[0] ? parsePckExtensions(quote.pckChain[0]) : null;
    } catch (e) {
      if (!(e instanceof EvidenceError)) throw e;
      err(
        `donjon: note: ${file}: the PCK certificate's SGX extensions do not read: ${e.message}\n`,
      );
    }
    claims = dcapClaims(quote, pck);
  } catch (e) {
    if (e instanceof EvidenceError) {
      throw new CliError(
        "BAD_INPUT",
        `${file}: not a valid Intel DCAP quote: ${e.message} (${e.code})`,
        { cause: e },
      );
    }
    throw e;
  }
  const { tcb: _tcb, ...rest } = claims;
  return rest;
}

/** The rows `inspect` prints for a quote's claims. */
export function inspectRows(claims: Omit<DcapClaims, "tcb">): [string, string][] {
  const { sgx, tdx, pck, ...rest } = claims;
  return flatten({
    ...rest,
    // The 16 SVNs on one row, as Intel's TCB Info lists them.
    pck: pck ? { ...pck, tcb_components: pck.tcb_components.join(" ") } : null,
    ...(sgx ? { sgx } : {}),
    ...(tdx ? { tdx } : {}),
  });
}

/** Whether a wrapper holds Intel evidence. */
export function isDcapWrapper(w: KeepEvidence): w is KeepEvidence & { tee: "sgx" | "tdx" } {
  return w.tee === "sgx" || w.tee === "tdx";
}
