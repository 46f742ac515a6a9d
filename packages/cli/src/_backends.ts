/**
 * The backend names `donjon run --backend` takes: `auto` and the names of
 * @donjon/keep's one backend table (imported from its own module so that
 * parsing the command line loads nothing else).
 */
import { BACKEND_NAMES } from "@donjon/keep/backends";

export const BACKEND_CHOICES: readonly string[] = ["auto", ...BACKEND_NAMES];

/** The backend used when none is named: the first available of snp, tdx, sgx, sandbox. */
export const DEFAULT_BACKEND = "auto";
