/**
 * `donjon platform VERB`: what this machine offers Keeps (`info`).
 */
import { CliError } from "../../error.ts";
import { INFO_HELP, info, type PlatformContext } from "./info.ts";

export type { PlatformContext } from "./info.ts";

export const PLATFORM_HELP = `Usage: donjon platform <VERB> [OPTIONS]

What this machine offers Keeps.

Verbs:
  info  Probe every backend and say which can run here, and what fixes the
        others (donjon platform info --help)
`;

const VERBS: Readonly<
  Record<string, { help: string; run: (argv: string[], ctx: PlatformContext) => Promise<number> }>
> = {
  info: { help: INFO_HELP, run: info },
};

/** Run `donjon platform` with `argv` (what follows `platform`); resolve to the exit status. */
export async function platform(argv: readonly string[], ctx: PlatformContext): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined) {
    ctx.err(PLATFORM_HELP);
    return 2;
  }
  if (verb === "-h" || verb === "--help") {
    ctx.out(PLATFORM_HELP);
    return 0;
  }
  const v = VERBS[verb];
  if (!v) {
    throw new CliError(
      "USAGE",
      `unknown verb ${JSON.stringify(verb)} for platform (expected info; see donjon platform --help)`,
    );
  }
  return v.run(rest, ctx);
}
