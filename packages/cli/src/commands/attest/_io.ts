/**
 * What `donjon attest verify` and `inspect` share: reading the files named on
 * the command line (a missing file is exit 1, not a stack) and recognising
 * the evidence format.
 */
import * as path from "node:path";
import type { Check, SnpRootSet } from "@donjon/attest";
import { CliError } from "../../error.ts";

/** What the attest verbs need from the process; `main` makes the real one. */
export interface AttestContext {
  /** Directory that relative paths on the command line are resolved against. */
  cwd: string;
  /** Write to stdout (the verdict, the decoded report). */
  out(text: string): void;
  /** Write to stderr (notes and the one-line rejection summary). */
  err(text: string): void;
  /** Read a whole file. Throws a Node-style error with `code` (ENOENT, EISDIR…). */
  readFile(path: string): Uint8Array;
  /** The current time (the default verification time). Default: none, then `--at` is required. */
  now?: () => Date;
  /** `fetch` for the AMD KDS and Intel PCS. Default: none, then only `--offline` verification works. */
  fetch?: typeof fetch;
  /**
   * Trust anchors for SEV-SNP instead of the pinned AMD roots: tests use
   * testkit's fake hierarchy (`fakeSnp().roots`). Default: the pinned roots.
   */
  snpRoots?: SnpRootSet[];
  /**
   * The Intel SGX Root CA (DER) instead of the pinned one: tests use
   * testkit's fake hierarchy (`fakeIntel().root`). Default: the pinned root.
   */
  intelRoot?: Uint8Array;
}

/** Read `given` (relative to the working directory); `what` names it in messages. */
export function readInput(ctx: AttestContext, given: string, what: string): Uint8Array {
  try {
    return ctx.readFile(path.resolve(ctx.cwd, given));
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOENT") throw new CliError("NOT_FOUND", `${what} ${given} not found`);
    if (code === "EISDIR") throw new CliError("NOT_FOUND", `${what} ${given} is a directory`);
    if (code === "EACCES") throw new CliError("NOT_FOUND", `${what} ${given}: permission denied`);
    throw e;
  }
}

/**
 * The evidence bytes in `format`: `snp` takes the file as it is (a raw
 * 1184-byte report, or an Azure HCL report); `auto` also accepts the report
 * as hex text (as virtee's `report_milan.hex`).
 */
export function decodeEvidence(bytes: Uint8Array, format: "snp" | "auto"): Uint8Array {
  if (format === "auto" && bytes.length > 0 && bytes.length <= 16 * 1024) {
    const text = new TextDecoder().decode(bytes).replace(/\s+/g, "");
    if (text.length > 0 && text.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text)) {
      const out = new Uint8Array(text.length / 2);
      for (let i = 0; i < out.length; i++)
        out[i] = Number.parseInt(text.slice(2 * i, 2 * i + 2), 16);
      return out;
    }
  }
  return bytes;
}

/** A claims object as `name  value` rows with dotted names (`tcb.reported.snp`), in order. */
export function flatten(value: unknown, prefix = ""): [string, string][] {
  if (value === null || typeof value !== "object") {
    return [[prefix, value === null ? "—" : String(value)]];
  }
  const rows: [string, string][] = [];
  for (const [k, v] of Object.entries(value))
    rows.push(...flatten(v, prefix ? `${prefix}.${k}` : k));
  return rows;
}

/** Rows as an aligned two-column table. */
export function columns(rows: readonly [string, string][], indent = ""): string {
  const w = Math.max(0, ...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${indent}${k.padEnd(w)}  ${v}\n`).join("");
}

/**
 * A verdict's last lines: how many checks passed and failed, then every
 * failed check and every warning with its code, expected and actual values
 * and remedy. `passed` defaults to the checks that are ok.
 */
export function formatChecks(
  v: { checks: readonly Check[]; warnings: readonly Check[] },
  passed = v.checks.filter((c) => c.ok).length,
): string {
  const failed = v.checks.filter((c) => !c.ok && c.severity !== "warning");
  let s = `  checks: ${passed} passed, ${failed.length} failed, ${v.warnings.length} warning${v.warnings.length === 1 ? "" : "s"}\n`;
  for (const f of failed) s += formatCheck("FAIL", f);
  for (const w of v.warnings) s += formatCheck("WARN", w);
  return s;
}

function formatCheck(tag: string, c: Check): string {
  let s = `${tag} ${c.code ?? c.id} (${c.id})\n`;
  if (c.expected !== undefined) s += `     expected: ${c.expected}\n`;
  if (c.actual !== undefined) s += `     actual:   ${c.actual}\n`;
  if (c.remedy !== undefined) s += `     remedy:   ${c.remedy}\n`;
  return s;
}
