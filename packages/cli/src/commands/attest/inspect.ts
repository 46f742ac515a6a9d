/**
 * `donjon attest inspect FILE`: decode TEE evidence (an AMD SEV-SNP report, an
 * Intel SGX or TDX DCAP quote, or a Keep evidence wrapper holding any of them
 * or sandbox evidence) and print its fields — parse only, nothing is verified.
 */
import {
  EvidenceError,
  extractSnpReport,
  type KeepEvidence,
  parseSandboxEvidence,
  parseSnpReport,
  type SnpProduct,
  type SnpReport,
  sandboxClaims,
  snpClaims,
} from "@donjon/attest";
import { CliError } from "../../error.ts";
import { parseArgs } from "./_args.ts";
import { DCAP_NAMES, dcapTeeOf, inspectDcap, inspectRows } from "./_dcap.ts";
import { type AttestContext, columns, decodeEvidence, flatten, readInput } from "./_io.ts";
import {
  decodeWrapper,
  hex,
  isKeepEvidenceWrapper,
  keepFacts,
  wrapperJson,
  wrapperRows,
} from "./_wrapper.ts";

export const INSPECT_HELP = `Usage: donjon attest inspect [OPTIONS] FILE

Decode an AMD SEV-SNP attestation report (raw, HCL-wrapped, or hex text) or an
Intel SGX or TDX DCAP quote (raw or hex text: header, enclave or TD report
body, QE report, PCK certificate extensions — FMSPC, PCE ID, TCB components)
and print every field. Nothing is verified: use donjon attest verify for that.

FILE may also be a Keep evidence wrapper (JSON, as donjon run --print-evidence
writes it): then the Keep key's fingerprint, the workload digests and identity,
the report_data they bind, whether the evidence carries it (unverified), and
the evidence's own fields are printed.

Options:
  --product NAME  Milan, Genoa or Turin: the product of a version 2 SNP
                  report, which does not name it (default: decoded with the
                  Milan/Genoa layout, with a note).
  --json          Print the claims as JSON (the shape of attest verify --json).
  -h, --help      Show this help.

Exit status: 0 when the report decodes; 1 when it does not; 2 for a usage error.
`;

const SPEC = { values: { "--product": {} }, booleans: ["--json"] };
const PRODUCTS: readonly SnpProduct[] = ["Milan", "Genoa", "Turin"];

/** Run `donjon attest inspect` with `argv` (what follows `inspect`); resolve to the exit status. */
export async function inspect(argv: readonly string[], ctx: AttestContext): Promise<number> {
  const a = parseArgs(argv, SPEC, "attest inspect");
  if (a.help) {
    ctx.out(INSPECT_HELP);
    return 0;
  }
  const usage = (m: string) => new CliError("USAGE", `${m} (see donjon attest inspect --help)`);
  if (a.positionals.length !== 1) {
    throw usage(
      a.positionals.length === 0
        ? "missing FILE (the evidence to inspect)"
        : `one FILE expected, got ${a.positionals.length}`,
    );
  }
  const file = a.positionals[0]!;
  const given = a.values.get("--product")?.[0];
  const product =
    given === undefined ? undefined : PRODUCTS.find((p) => p.toLowerCase() === given.toLowerCase());
  if (given !== undefined && product === undefined) {
    throw usage(`--product must be Milan, Genoa or Turin, got ${JSON.stringify(given)}`);
  }
  const raw = readInput(ctx, file, "evidence file");
  if (isKeepEvidenceWrapper(raw))
    return inspectWrapper(file, decodeWrapper(raw, file), product, a.booleans.has("--json"), ctx);
  const bytes = decodeEvidence(raw, "auto");
  const tee = dcapTeeOf(bytes);
  if (tee) {
    if (product !== undefined)
      throw usage(`--product applies to SEV-SNP reports; ${file} is an ${DCAP_NAMES[tee]} quote`);
    const claims = inspectDcap(bytes, file, ctx.err);
    if (a.booleans.has("--json")) {
      ctx.out(`${JSON.stringify(claims, null, 2)}\n`);
      return 0;
    }
    ctx.out(`${file}: ${dcapTitle(claims)}\n`);
    ctx.out(columns(inspectRows(claims), "  "));
    return 0;
  }
  const report = decodeSnp(bytes, file, product, ctx);
  const claims = snpClaims(report);
  if (a.booleans.has("--json")) {
    ctx.out(`${JSON.stringify(claims, null, 2)}\n`);
    return 0;
  }
  const { signing_key: _key, ...rest } = claims;
  ctx.out(`${file}: SEV-SNP attestation report, version ${claims.version}, ${claims.product}\n`);
  ctx.out(columns([...flatten(rest), ["signing_key", claims.signing_key.kind]], "  "));
  return 0;
}

/** A wrapper: what it says about the Keep, then its evidence decoded. */
async function inspectWrapper(
  file: string,
  w: KeepEvidence,
  product: SnpProduct | undefined,
  json: boolean,
  ctx: AttestContext,
): Promise<number> {
  const facts = await keepFacts(w);
  let claims: Record<string, unknown>;
  if (w.tee === "tdx" || w.tee === "sgx") {
    claims = { ...inspectDcap(w.evidence, `${file}: evidence`, ctx.err) };
  } else if (w.tee === "sandbox") {
    try {
      claims = { ...sandboxClaims(parseSandboxEvidence(w.evidence)) };
    } catch (e) {
      if (e instanceof EvidenceError) {
        throw new CliError(
          "BAD_INPUT",
          `${file}: evidence: not valid sandbox evidence: ${e.message} (${e.code})`,
          { cause: e },
        );
      }
      throw e;
    }
  } else {
    claims = { ...snpClaims(decodeSnp(w.evidence, `${file}: evidence`, product, ctx)) };
  }
  const carried = String(claims.report_data);
  const binding =
    carried === hex(facts.reportData)
      ? "matches (unverified: use donjon attest verify)"
      : `DIFFERS: the evidence carries ${carried}`;
  if (json) {
    ctx.out(
      `${JSON.stringify({ keep: { ...wrapperJson(w, facts), binding: carried === hex(facts.reportData) }, claims }, null, 2)}\n`,
    );
    return 0;
  }
  ctx.out(`${file}: Keep evidence wrapper (keep-evidence/v1)\n`);
  ctx.out(columns([...wrapperRows(w, facts), ["binding", binding]], "  "));
  ctx.out(`evidence:\n`);
  if (w.tee === "tdx" || w.tee === "sgx") {
    ctx.out(columns(inspectRows(claims as ReturnType<typeof inspectDcap>), "  "));
    return 0;
  }
  const { signing_key: key, ...rest } = claims as { signing_key?: { kind: string } };
  ctx.out(
    columns(
      [...flatten(rest), ...(key ? [["signing_key", key.kind] as [string, string]] : [])],
      "  ",
    ),
  );
  return 0;
}

/** "Intel TDX quote, version 4 (TD 1.0)". */
function dcapTitle(c: ReturnType<typeof inspectDcap>): string {
  const body = c.tdx ? ` (${c.tdx.body === "td15" ? "TD 1.5" : "TD 1.0"})` : "";
  return `${DCAP_NAMES[c.tee]} quote, version ${c.version}${body}${c.trailing_bytes ? `, ${c.trailing_bytes} trailing bytes` : ""}`;
}

/** Parse an SNP report for display; a v2 report without --product is decoded with the Milan/Genoa layout, with a note. */
function decodeSnp(
  bytes: Uint8Array,
  file: string,
  product: SnpProduct | undefined,
  ctx: AttestContext,
): SnpReport {
  let report: SnpReport;
  try {
    const raw = extractSnpReport(bytes);
    try {
      report = parseSnpReport(raw, product ? { product } : {});
    } catch (e) {
      if (!(e instanceof EvidenceError && e.code === "snp.report.product_required")) throw e;
      // Milan and Genoa share the TCB layout, so every field decodes the same.
      report = parseSnpReport(raw, { product: "Milan" });
      ctx.err(
        `donjon: note: ${file} is a version 2 report, which does not name its product; decoded with the Milan/Genoa layout (--product to say which)\n`,
      );
    }
  } catch (e) {
    if (e instanceof EvidenceError) {
      throw new CliError(
        "BAD_INPUT",
        `${file}: not a valid SEV-SNP attestation report: ${e.message} (${e.code})`,
        { cause: e },
      );
    }
    throw e;
  }
  return report;
}
