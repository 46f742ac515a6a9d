/**
 * The one error class of the `donjon` command. Every failure the user can act
 * on is a `CliError`; `main` prints it as `donjon: <message>` (no stack) and
 * exits with the status its code maps to. Anything else that escapes is a bug
 * and is reported as an internal error.
 */

export type CliErrorCode =
  /** Bad command line: unknown flag, missing or malformed value. Exit 2. */
  | "USAGE"
  /** A backend that exists in the table but cannot run here or yet. Exit 2. */
  | "BACKEND_UNAVAILABLE"
  /** Donjon.toml is unreadable, not TOML, or does not match the schema. Exit 1. */
  | "CONFIG"
  /** A file or directory named on the command line or in the config is missing. Exit 1. */
  | "NOT_FOUND"
  /** The module is not valid WebAssembly or not a WASI command. Exit 1. */
  | "INVALID_MODULE"
  /** The module imports something the host does not provide. Exit 1. */
  | "UNKNOWN_IMPORT"
  /** The module needs more memory at start than the limit allows. Exit 1. */
  | "MEMORY_LIMIT"
  /** The workload asks for something this version does not do yet (networking). Exit 1. */
  | "UNSUPPORTED"
  /** The host could not give the guest what the plan says (a directory it cannot open). Exit 1. */
  | "HOST_SETUP"
  /** A file given to a command is not what it must be (collateral, evidence to inspect). Exit 1. */
  | "BAD_INPUT"
  /** The guest trapped. Exit 134, as a native program killed by SIGABRT. */
  | "TRAP"
  /** The guest ran past its time limit and was stopped. Exit 124, as timeout(1). */
  | "TIMEOUT"
  /** The workload wrote more than its output limit and was stopped. Exit 1. */
  | "OUTPUT_LIMIT"
  /** The Keep failed: it could not start, broke the channel protocol, or refused the host's input. Exit 1. */
  | "KEEP";

/** Exit status of each code. */
export const EXIT_STATUS: Readonly<Record<CliErrorCode, number>> = {
  USAGE: 2,
  BACKEND_UNAVAILABLE: 2,
  CONFIG: 1,
  NOT_FOUND: 1,
  INVALID_MODULE: 1,
  UNKNOWN_IMPORT: 1,
  MEMORY_LIMIT: 1,
  UNSUPPORTED: 1,
  HOST_SETUP: 1,
  BAD_INPUT: 1,
  TRAP: 134,
  TIMEOUT: 124,
  OUTPUT_LIMIT: 1,
  KEEP: 1,
};

/** Exit status for a failure that is a bug in donjon (EX_SOFTWARE of sysexits.h). */
export const EXIT_INTERNAL = 70;

export interface CliErrorOptions {
  cause?: unknown;
  /** Lines printed as they are after the message (a trap's frames, a hint). */
  details?: readonly string[];
}

export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly details: readonly string[];
  constructor(code: CliErrorCode, message: string, options: CliErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = "CliError";
    this.code = code;
    this.details = options.details ?? [];
  }

  /** The process exit status for this error. */
  get exitStatus(): number {
    return EXIT_STATUS[this.code];
  }
}
