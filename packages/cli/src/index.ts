/**
 * @donjon/cli — the `donjon` command. Public surface: `main` for the bin,
 * `dispatch` to drive the command line with an injected context.
 */
export { type CliContext, dispatch, HELP, VERSION } from "./cli.ts";
export type { RunContext } from "./commands/run.ts";
export { CliError, type CliErrorCode, EXIT_STATUS } from "./error.ts";
export { main } from "./main.ts";
