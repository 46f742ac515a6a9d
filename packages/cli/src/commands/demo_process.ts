/**
 * The process side of `donjon demo`: child `donjon` processes, a temporary
 * directory and signals. Kept out of `demo.ts` so that the command itself
 * touches no process state (STYLE "Services and CLI"), like
 * `steward/_process.ts`.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { DemoChild, DemoPorts } from "./demo.ts";
import { processSignals } from "./steward/_process.ts";

/** The `donjon` launcher of this checkout. */
const BIN = path.resolve(import.meta.dirname, "../../bin/donjon.js");

/** Child processes of this Node running this checkout's `donjon`, a temporary directory, SIGINT/SIGTERM. */
export const demoProcess: DemoPorts = {
  spawnDonjon(args, o) {
    // The same Node and environment as this process: the child finds the
    // same state directory (the sandbox key) and the same PATH (bwrap).
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: o.cwd,
      stdio: ["ignore", "pipe", "pipe"],
      env: process.env,
    });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      child.on("error", () => resolve({ code: null, signal: "spawn failed" }));
      child.on("close", (code, signal) => resolve({ code, signal }));
    });
    return {
      onStdout: (listener) => void child.stdout.setEncoding("utf8").on("data", listener),
      onStderr: (listener) => void child.stderr.setEncoding("utf8").on("data", listener),
      exited,
      stop: () => void child.kill("SIGTERM"),
    } satisfies DemoChild;
  },
  makeTempDir: (prefix) => fs.mkdtempSync(path.join(os.tmpdir(), prefix)),
  removeDir: (dir) => fs.rmSync(dir, { recursive: true, force: true }),
  signals: processSignals,
};
