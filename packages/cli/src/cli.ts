/**
 * The `donjon` command line: global flags and the command table. Takes raw
 * arguments and an injected context, so tests drive it without a process.
 */
import pkg from "../package.json" with { type: "json" };
import { ATTEST_HELP, type AttestContext, attest } from "./commands/attest/attest.ts";
import { RUN_HELP, type RunContext, run } from "./commands/run.ts";
import { CliError } from "./error.ts";

/** What every command may use; `main` makes the real one from `process`. */
export type CliContext = RunContext & Pick<AttestContext, "now" | "fetch">;

export const VERSION: string = pkg.version;

export const HELP = `donjon ${VERSION}: run WebAssembly workloads in attested Keeps

Usage: donjon <COMMAND> [ARGS...]

Commands:
  run     Run a WASI preview1 module (donjon run --help)
  attest  Verify or inspect TEE evidence (donjon attest --help)
  help    Show help for a command

Options:
  -h, --help     Show this help
  -V, --version  Show the version
`;

const COMMANDS: Readonly<
  Record<string, { help: string; run: (argv: string[], ctx: CliContext) => Promise<number> }>
> = {
  run: { help: RUN_HELP, run },
  attest: { help: ATTEST_HELP, run: attest },
};

/** Run the command line `argv` (without the program name); resolve to the exit status. */
export async function dispatch(argv: readonly string[], ctx: CliContext): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    ctx.err(HELP);
    return 2;
  }
  if (first === "-h" || first === "--help") {
    ctx.out(HELP);
    return 0;
  }
  if (first === "-V" || first === "--version") {
    ctx.out(`donjon ${VERSION}\n`);
    return 0;
  }
  if (first === "help") {
    const topic = rest[0];
    if (topic === undefined) ctx.out(HELP);
    else {
      const c = COMMANDS[topic];
      if (!c)
        throw new CliError("USAGE", `unknown command ${JSON.stringify(topic)} (see donjon --help)`);
      ctx.out(c.help);
    }
    return 0;
  }
  if (first.startsWith("-"))
    throw new CliError("USAGE", `unknown flag ${first} (see donjon --help)`);
  const command = COMMANDS[first];
  if (!command)
    throw new CliError("USAGE", `unknown command ${JSON.stringify(first)} (see donjon --help)`);
  return command.run(rest, ctx);
}
