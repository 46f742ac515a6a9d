/**
 * Reading a TOML file strictly, the way every donjon file (Donjon.toml, an
 * attestation policy) is read: parse with smol-toml, then check it key by key,
 * and say what is wrong with the file name and the line (`_toml_lines.ts`).
 */
import { parse, TomlError } from "smol-toml";
import { keyLines, lineOf } from "./_toml_lines.ts";
import { CliError, type CliErrorCode } from "./error.ts";

/** A path into the parsed document: table keys and array indexes. */
export type Path = (string | number)[];

/** `["files", 1, "kind"]` → `files[1].kind` */
export function show(p: Path): string {
  return p.map((k, i) => (typeof k === "number" ? `[${k}]` : i === 0 ? k : `.${k}`)).join("");
}

/** The TOML type of a parsed value, as a message names it. */
export function typeName(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v instanceof Date) return "datetime";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "float";
  if (typeof v === "object" && v !== null) return "table";
  return typeof v;
}

export function isTable(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

/** A parsed document and the checks every reader of one needs. */
export interface StrictToml {
  doc: Record<string, unknown>;
  /** Throw a CliError naming the file and the line of `p` (when it can be found). */
  fail(p: Path, message: string, code?: CliErrorCode): never;
  /** Refuse any key of `t` (at `p`) that is not in `allowed`. */
  keys(t: Record<string, unknown>, p: Path, allowed: readonly string[]): void;
  /** `v` as a table, or a failure naming its type. */
  table(v: unknown, p: Path): Record<string, unknown>;
}

/**
 * Parse `source` (named `file` in messages). Invalid TOML fails with the
 * parser's line and column.
 */
export function readStrictToml(source: string, file: string): StrictToml {
  let doc: Record<string, unknown>;
  try {
    doc = parse(source) as Record<string, unknown>;
  } catch (e) {
    if (e instanceof TomlError) {
      const what = e.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      throw new CliError("CONFIG", `${file}:${e.line}:${e.column}: not valid TOML: ${what}`, {
        cause: e,
      });
    }
    throw e;
  }
  const lines = keyLines(source);
  const fail = (p: Path, message: string, code: CliErrorCode = "CONFIG"): never => {
    const line = lineOf(lines, p);
    throw new CliError(code, `${line === null ? file : `${file}:${line}`}: ${message}`);
  };
  return {
    doc,
    fail,
    keys(t, p, allowed) {
      for (const k of Object.keys(t)) {
        if (!allowed.includes(k)) {
          fail(
            [...p, k],
            `unknown key "${show([...p, k])}" (expected one of: ${allowed.join(", ")})`,
          );
        }
      }
    },
    table(v, p) {
      if (!isTable(v)) fail(p, `"${show(p)}" must be a table, got ${typeName(v)}`);
      return v as Record<string, unknown>;
    },
  };
}
