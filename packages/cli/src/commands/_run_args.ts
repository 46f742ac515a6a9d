/**
 * The command line of `donjon run`, parsed without touching anything: flags
 * as wasmtime users know them, then MODULE, then the guest's arguments
 * (everything after MODULE belongs to the guest, flags included).
 */
import * as path from "node:path";
import { BACKEND_CHOICES, DEFAULT_BACKEND } from "../_backends.ts";
import {
  DURATION_HINT,
  MAX_MEMORY_LIMIT,
  MAX_TIME_LIMIT_MS,
  MAX_TIME_LIMIT_TEXT,
  parseDuration,
  parseSize,
  SIZE_HINT,
} from "../_units.ts";
import { CliError } from "../error.ts";

/** A `--dir` or `--dir-ro` mapping. `host` is as given (the caller resolves it). */
export interface DirFlag {
  host: string;
  guest: string;
  readonly: boolean;
}

export interface RunArgs {
  /** `-h` / `--help`: print help, run nothing. */
  help: boolean;
  /** Path of the module, as given. */
  module: string;
  /** Guest arguments after MODULE. */
  args: string[];
  dirs: DirFlag[];
  /** `--env` pairs in order; a later one wins. */
  env: [string, string][];
  /** `--config` path, as given, or null. */
  config: string | null;
  backend: string;
  /** `--max-memory` in bytes, or null when not given. */
  maxMemory: number | null;
  /** `--timeout` in milliseconds, or null when not given. */
  timeout: number | null;
  /** `--max-output` in bytes, or null when not given. */
  maxOutput: number | null;
  /** `--print-evidence` file, as given, or null. */
  printEvidence: string | null;
  /** `--steward` URL, as given, or null (Donjon.toml's `steward` then applies). */
  steward: string | null;
  /** `--steward-ca` file, as given, or null. */
  stewardCa: string | null;
  /** `--print-cert` file, as given, or null. */
  printCert: string | null;
}

const VALUE_FLAGS = [
  "--dir",
  "--dir-ro",
  "--env",
  "--config",
  "--backend",
  "--max-memory",
  "--timeout",
  "--max-output",
  "--print-evidence",
  "--steward",
  "--steward-ca",
  "--print-cert",
] as const;
const REPEATABLE = new Set(["--dir", "--dir-ro", "--env"]);

function usage(message: string): CliError {
  return new CliError("USAGE", `${message} (see donjon run --help)`);
}

/**
 * `HOST[::GUEST]`. Without GUEST the guest path is HOST itself, as in
 * wasmtime; since preopens are absolute (or "."), a relative HOST such as
 * `./data` maps to `/data`, which is the same preopen to wasi-libc.
 */
export function parseDirFlag(flag: string, value: string): DirFlag {
  const sep = value.indexOf("::");
  const host = sep < 0 ? value : value.slice(0, sep);
  if (host === "") throw usage(`${flag} ${value}: missing host directory`);
  let guest: string;
  if (sep >= 0) {
    guest = value.slice(sep + 2);
    if (guest !== "." && !guest.startsWith("/")) {
      throw usage(
        `${flag} ${value}: guest path must be absolute (or "."), got ${JSON.stringify(guest)}`,
      );
    }
  } else {
    const n = path.posix.normalize(host).replace(/(.)\/+$/, "$1");
    if (n === "." || n.startsWith("/")) guest = n;
    else if (n === ".." || n.startsWith("../")) {
      throw usage(`${flag} ${value}: name the guest path, for example ${flag} ${host}::/data`);
    } else guest = `/${n}`;
  }
  if (guest.includes("\0")) throw usage(`${flag} ${value}: NUL in guest path`);
  return { host, guest, readonly: flag === "--dir-ro" };
}

/** Parse `donjon run`'s arguments (what follows `run`). Throws CliError USAGE. */
export function parseRunArgs(argv: readonly string[]): RunArgs {
  const out: RunArgs = {
    help: false,
    module: "",
    args: [],
    dirs: [],
    env: [],
    config: null,
    backend: DEFAULT_BACKEND,
    maxMemory: null,
    timeout: null,
    maxOutput: null,
    printEvidence: null,
    steward: null,
    stewardCa: null,
    printCert: null,
  };
  const seen = new Set<string>();
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--") {
      i++;
      break;
    }
    if (a === "-h" || a === "--help") {
      out.help = true;
      continue;
    }
    if (!a.startsWith("-") || a === "-") break;
    const eq = a.indexOf("=");
    const flag = eq > 0 && a.startsWith("--") ? a.slice(0, eq) : a;
    if (!(VALUE_FLAGS as readonly string[]).includes(flag)) throw usage(`unknown flag ${flag}`);
    let value: string;
    if (eq > 0 && flag !== a) value = a.slice(eq + 1);
    else {
      if (i + 1 >= argv.length) throw usage(`${flag} needs a value`);
      value = argv[++i]!;
    }
    if (!REPEATABLE.has(flag) && seen.has(flag)) throw usage(`${flag} given twice`);
    seen.add(flag);
    switch (flag) {
      case "--dir":
      case "--dir-ro":
        out.dirs.push(parseDirFlag(flag, value));
        break;
      case "--env": {
        const e = value.indexOf("=");
        if (e <= 0) throw usage(`--env ${value}: expected KEY=VALUE`);
        if (value.includes("\0")) throw usage("--env: NUL in variable");
        out.env.push([value.slice(0, e), value.slice(e + 1)]);
        break;
      }
      case "--config":
        out.config = value;
        break;
      case "--backend": {
        if (!BACKEND_CHOICES.includes(value)) {
          throw usage(
            `unknown backend ${JSON.stringify(value)} (one of: ${BACKEND_CHOICES.join(", ")})`,
          );
        }
        out.backend = value;
        break;
      }
      case "--max-memory": {
        const n = parseSize(value);
        if (n === null) throw usage(`--max-memory ${value}: expected ${SIZE_HINT}`);
        if (n > MAX_MEMORY_LIMIT) {
          throw usage(`--max-memory ${value}: above the wasm32 maximum of 4GiB`);
        }
        out.maxMemory = n;
        break;
      }
      case "--timeout": {
        const ms = parseDuration(value);
        if (ms === null || ms <= 0) throw usage(`--timeout ${value}: expected ${DURATION_HINT}`);
        if (ms > MAX_TIME_LIMIT_MS) {
          throw usage(`--timeout ${value}: above the maximum of ${MAX_TIME_LIMIT_TEXT}`);
        }
        out.timeout = ms;
        break;
      }
      case "--max-output": {
        const n = parseSize(value);
        if (n === null) throw usage(`--max-output ${value}: expected ${SIZE_HINT}`);
        out.maxOutput = n;
        break;
      }
      case "--print-evidence":
        out.printEvidence = value;
        break;
      case "--steward":
        out.steward = value;
        break;
      case "--steward-ca":
        out.stewardCa = value;
        break;
      case "--print-cert":
        out.printCert = value;
        break;
    }
  }
  if (out.help) return out;
  if (i >= argv.length) throw usage("missing MODULE.wasm");
  out.module = argv[i]!;
  out.args = argv.slice(i + 1);
  return out;
}
