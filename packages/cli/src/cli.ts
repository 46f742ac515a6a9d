/**
 * The `donjon` command line: global flags and the command table. Takes raw
 * arguments and an injected context, so tests drive it without a process.
 */
import pkg from "../package.json" with { type: "json" };
import type { AttestContext } from "./commands/attest/attest.ts";
import type { PlatformContext } from "./commands/platform/platform.ts";
import type { RunContext } from "./commands/run.ts";
import { CliError } from "./error.ts";

/** What every command may use; `main` makes the real one from `process`. */
export type CliContext = RunContext &
  Pick<AttestContext, "now" | "fetch"> &
  Pick<PlatformContext, "platform">;

export const VERSION: string = pkg.version;

export const HELP = `donjon ${VERSION}: run WebAssembly workloads in attested Keeps

Usage: donjon <COMMAND> [ARGS...]

Commands:
  run       Run a WASI preview1 module (donjon run --help)
  attest    Verify or inspect TEE evidence (donjon attest --help)
  platform  Probe which Keep backends this machine can run (donjon platform --help)
  keep      Prepare what a Keep backend needs: the SGX manifest (donjon keep --help)
  steward   Run or create a Steward, the attestation service and CA (donjon steward --help)
  verify    Check that a TLS peer is a genuine Keep running the expected workload (donjon verify --help)
  demo      Run an HTTPS service in an attested Keep with a local Steward, and verify it
  help      Show help for a command

Options:
  -h, --help     Show this help
  -V, --version  Show the version
`;

interface Command {
  help: string;
  run: (argv: string[], ctx: CliContext) => Promise<number>;
}

/**
 * The command table. Each command is loaded when it is used: `donjon run`
 * must not pay at start-up for the X.509 and ASN.1 code behind
 * `donjon attest` (tens of milliseconds and ~15 MiB), nor the other way round.
 */
const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  run: async () => {
    const m = await import("./commands/run.ts");
    return { help: m.RUN_HELP, run: m.run };
  },
  attest: async () => {
    const m = await import("./commands/attest/attest.ts");
    return { help: m.ATTEST_HELP, run: m.attest };
  },
  platform: async () => {
    const m = await import("./commands/platform/platform.ts");
    return { help: m.PLATFORM_HELP, run: m.platform };
  },
  keep: async () => {
    const m = await import("./commands/keep.ts");
    return { help: m.KEEP_HELP, run: m.keep };
  },
  verify: async () => {
    const m = await import("./commands/verify.ts");
    return { help: m.VERIFY_HELP, run: m.verify };
  },
  steward: async () => {
    const m = await import("./commands/steward/steward.ts");
    const { processSignals } = await import("./commands/steward/_process.ts");
    return {
      help: m.STEWARD_HELP,
      run: (argv, ctx) => m.steward(argv, { ...ctx, signals: processSignals }),
    };
  },
  demo: async () => {
    const m = await import("./commands/demo.ts");
    const { demoProcess } = await import("./commands/demo_process.ts");
    return { help: m.DEMO_HELP, run: (argv, ctx) => m.demo(argv, { ...ctx, ...demoProcess }) };
  },
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
      const load = COMMANDS[topic];
      if (!load)
        throw new CliError("USAGE", `unknown command ${JSON.stringify(topic)} (see donjon --help)`);
      ctx.out((await load()).help);
    }
    return 0;
  }
  if (first.startsWith("-"))
    throw new CliError("USAGE", `unknown flag ${first} (see donjon --help)`);
  const load = COMMANDS[first];
  if (!load)
    throw new CliError("USAGE", `unknown command ${JSON.stringify(first)} (see donjon --help)`);
  return (await load()).run(rest, ctx);
}
