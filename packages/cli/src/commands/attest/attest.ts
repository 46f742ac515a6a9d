/**
 * `donjon attest VERB`: the attestation verbs (`verify`, `inspect`).
 */
import { CliError } from "../../error.ts";
import type { AttestContext } from "./_io.ts";
import { INSPECT_HELP, inspect } from "./inspect.ts";
import { VERIFY_HELP, verify } from "./verify.ts";

export type { AttestContext } from "./_io.ts";

export const ATTEST_HELP = `Usage: donjon attest <VERB> [OPTIONS] FILE

Check TEE evidence: AMD SEV-SNP attestation reports, Intel SGX and TDX DCAP
quotes, and Keep evidence wrappers holding any of them or sandbox evidence.

Verbs:
  verify   Verify the evidence and appraise it against a policy
           (donjon attest verify --help)
  inspect  Decode the evidence and print its fields (donjon attest inspect --help)
`;

const VERBS: Readonly<
  Record<string, { help: string; run: (argv: string[], ctx: AttestContext) => Promise<number> }>
> = {
  verify: { help: VERIFY_HELP, run: verify },
  inspect: { help: INSPECT_HELP, run: inspect },
};

/** Run `donjon attest` with `argv` (what follows `attest`); resolve to the exit status. */
export async function attest(argv: readonly string[], ctx: AttestContext): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined) {
    ctx.err(ATTEST_HELP);
    return 2;
  }
  if (verb === "-h" || verb === "--help") {
    ctx.out(ATTEST_HELP);
    return 0;
  }
  const v = VERBS[verb];
  if (!v) {
    throw new CliError(
      "USAGE",
      `unknown verb ${JSON.stringify(verb)} for attest (expected verify or inspect; see donjon attest --help)`,
    );
  }
  return v.run(rest, ctx);
}
