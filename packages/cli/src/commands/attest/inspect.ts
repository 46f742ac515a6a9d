/**
 * `donjon attest inspect FILE`: decode TEE evidence (today an AMD SEV-SNP
 * report) and print its fields — parse only, nothing is verified.
 */
import {
  EvidenceError,
  extractSnpReport,
  parseSnpReport,
  type SnpProduct,
  type SnpReport,
  snpClaims,
} from "@donjon/attest";
import { CliError } from "../../error.ts";
import { parseArgs } from "./_args.ts";
import { type AttestContext, columns, decodeEvidence, flatten, readInput } from "./_io.ts";

export const INSPECT_HELP = `Usage: donjon attest inspect [OPTIONS] FILE

Decode an AMD SEV-SNP attestation report (raw, HCL-wrapped, or hex text) and
print every field. Nothing is verified: use donjon attest verify for that.

Options:
  --product NAME  Milan, Genoa or Turin: the product of a version 2 report,
                  which does not name it (default: decoded with the
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
  const bytes = decodeEvidence(readInput(ctx, file, "evidence file"), "auto");
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
