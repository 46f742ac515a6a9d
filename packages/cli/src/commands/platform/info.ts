/**
 * `donjon platform info [--json]`: the probe tree of every Keep backend on
 * this machine — which can run, which `auto` picks, and for each failed
 * probe the command or step that fixes it.
 */
import {
  type BackendReport,
  KeepError,
  type PlatformPort,
  type Probe,
  pickBackend,
  probeBackends,
} from "@donjon/keep";
import { CliError } from "../../error.ts";
import { parseArgs } from "../attest/_args.ts";

/** What `donjon platform` needs from the process; `main` makes the real one. */
export interface PlatformContext {
  /** Write to stdout (the probe tree). */
  out(text: string): void;
  /** Write to stderr. */
  err(text: string): void;
  /**
   * The machine to probe. Async so that `main` loads @donjon/keep only when
   * a command asks. Default: none, then `platform info` cannot run.
   */
  platform?: () => Promise<PlatformPort>;
}

export const INFO_HELP = `Usage: donjon platform info [OPTIONS]

Probe every Keep backend (nil, sandbox, snp, tdx, sgx) on this machine: the
hardware present and how the machine is configured. Each failed probe comes
with the command or step that fixes it. Nothing is created or changed.

Options:
  --json      Print the probe tree as JSON.
  -h, --help  Show this help.

Exit status: 0 (the probes ran, whatever they found); 2 for a usage error.
`;

const SPEC = { values: {}, booleans: ["--json"] };

/** The JSON shape of `--json`. */
export interface PlatformInfo {
  /** The backend `--backend auto` would choose, or null when none can run. */
  auto: string | null;
  backends: BackendReport[];
}

/** Run `donjon platform info` with `argv` (what follows `info`); resolve to the exit status. */
export async function info(argv: readonly string[], ctx: PlatformContext): Promise<number> {
  const a = parseArgs(argv, SPEC, "platform info");
  if (a.help) {
    ctx.out(INFO_HELP);
    return 0;
  }
  if (a.positionals.length > 0) {
    throw new CliError(
      "USAGE",
      `unexpected argument ${JSON.stringify(a.positionals[0])} (see donjon platform info --help)`,
    );
  }
  if (!ctx.platform) {
    throw new CliError("UNSUPPORTED", "platform probes are not available in this context");
  }
  const backends = probeBackends(await ctx.platform());
  let auto: string | null;
  try {
    auto = pickBackend("auto", backends).name;
  } catch (e) {
    if (!(e instanceof KeepError)) throw e;
    auto = null;
  }
  const result: PlatformInfo = { auto, backends };
  ctx.out(a.booleans.has("--json") ? `${JSON.stringify(result, null, 2)}\n` : render(result));
  return 0;
}

/** The probe tree for people: ✔/✗ per backend and probe, the fix under each failure. */
export function render(result: PlatformInfo): string {
  const lines: string[] = [];
  for (const b of result.backends) {
    const note = b.autoPick ? "" : " (never picked by auto)";
    lines.push(`${mark(b.available)} ${b.name} — ${b.description}${note}`);
    for (const p of b.probes) lines.push(...probeLines(p, ""));
    for (const p of b.hardening) lines.push(...probeLines(p, " (optional)"));
  }
  lines.push("");
  lines.push(result.auto === null ? "auto: no backend can run here" : `auto picks: ${result.auto}`);
  // Until the next step of issue 4 lands, say what `run` really does.
  lines.push("(donjon run does not take --backend auto yet: it runs nil)");
  return `${lines.join("\n")}\n`;
}

function probeLines(p: Probe, suffix: string): string[] {
  const line = `  ${mark(p.pass)} ${p.name}${suffix} — ${p.info}`;
  return p.remedy === null ? [line] : [line, `      fix: ${p.remedy}`];
}

function mark(pass: boolean): string {
  return pass ? "✔" : "✗";
}
