/**
 * A small strict command-line reader for the `donjon attest` verbs: flags with
 * a value (`--at T` or `--at=T`), repeatable ones, boolean ones, `-h`/`--help`,
 * `--` ending the flags. Anything unknown or malformed is a usage error (exit 2).
 */
import { CliError } from "../../error.ts";

export interface FlagSpec {
  /** Flags taking a value; a repeatable one collects every value. */
  values: Record<string, { repeatable?: boolean }>;
  /** Flags taking no value. */
  booleans: readonly string[];
}

export interface ParsedArgs {
  help: boolean;
  values: Map<string, string[]>;
  booleans: Set<string>;
  positionals: string[];
}

/** Read `argv` against `spec`; `verb` names the command in messages (`attest verify`). */
export function parseArgs(argv: readonly string[], spec: FlagSpec, verb: string): ParsedArgs {
  const out: ParsedArgs = { help: false, values: new Map(), booleans: new Set(), positionals: [] };
  const usage = (m: string) => new CliError("USAGE", `${m} (see donjon ${verb} --help)`);
  let flags = true;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!flags || !a.startsWith("-") || a === "-") {
      out.positionals.push(a);
      continue;
    }
    if (a === "--") {
      flags = false;
      continue;
    }
    if (a === "-h" || a === "--help") {
      out.help = true;
      continue;
    }
    const eq = a.indexOf("=");
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (spec.booleans.includes(name)) {
      if (eq > 0) throw usage(`${name} takes no value`);
      out.booleans.add(name);
      continue;
    }
    const v = spec.values[name];
    if (!v) throw usage(`unknown flag ${name}`);
    let value: string | undefined;
    if (eq > 0) value = a.slice(eq + 1);
    else {
      value = argv[++i];
      if (value === undefined) throw usage(`${name} needs a value`);
    }
    const list = out.values.get(name) ?? [];
    if (list.length > 0 && !v.repeatable) throw usage(`${name} given twice`);
    list.push(value);
    out.values.set(name, list);
  }
  return out;
}
