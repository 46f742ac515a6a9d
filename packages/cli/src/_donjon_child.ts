/**
 * For tests: the real `donjon` bin run as a child process, with its exit
 * status and whole output (decoded as UTF-8 by the stream, so a character
 * split across chunks stays whole).
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

/** The CLI's launcher, bin/donjon.js. */
export const DONJON_BIN = path.resolve(import.meta.dirname, "../bin/donjon.js");

/** What a `donjon` run printed, and how it ended. */
export interface DonjonResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Options of {@link runDonjon}. */
export interface RunDonjonOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Kill the child (SIGKILL) after this many milliseconds. Default: never. */
  timeoutMs?: number;
}

/** Run `donjon ARGS` with stdin closed; resolve when it has exited and closed its output. */
export function runDonjon(
  args: readonly string[],
  options: RunDonjonOptions = {},
): Promise<DonjonResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DONJON_BIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: options.env }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const kill =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(kill);
      resolve({ status, stdout, stderr });
    });
  });
}
