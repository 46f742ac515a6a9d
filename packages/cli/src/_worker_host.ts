/**
 * The main-thread side of a guest run in a worker: start the worker, serve
 * its stdin requests, and stop it when its time is up.
 *
 * The clock starts when the worker says it is about to instantiate, so the
 * worker's own start-up does not count against a short limit; a start section
 * that loops forever still does.
 *
 * One case the limit cannot cut short: a guest blocked writing to a stdout or
 * stderr pipe that nobody reads. The worker writes those fds directly (a
 * round trip per write would slow every program down), and a thread inside
 * write(2) cannot be terminated, so the process ends only once the pipe
 * drains. The time-limit message and exit status are still reported on time.
 */
import { Worker } from "node:worker_threads";
import type { GuestPlan, Outcome } from "@donjon/keep/guest";
import { StdinServer, type StdinSource, stdinChannel } from "@donjon/keep/stdin-bridge";
import type { WorkerInput, WorkerMessage } from "./_worker.ts";

/**
 * The worker starts from this plain script rather than from `_worker.ts`, so
 * that it can turn on Node's compile cache before loading any TypeScript:
 * type-stripping the host's modules again in the new isolate would otherwise
 * cost more than the rest of the worker's start-up.
 */
const BOOT = `require("node:module").enableCompileCache?.();
import(${JSON.stringify(new URL("./_worker.ts", import.meta.url).href)});`;

export interface WorkerRunOptions {
  /** Wall-clock limit in milliseconds. */
  timeoutMs: number;
  /** Open the host's stdin as a stream of chunks; called only if the guest reads it. */
  openStdin: () => StdinSource;
}

/** An outcome of the guest, or the time limit. */
export type WorkerResult = Outcome | { kind: "timeout" };

export function runInWorker(
  module: WebAssembly.Module,
  plan: GuestPlan,
  options: WorkerRunOptions,
): Promise<WorkerResult> {
  return new Promise((resolve, reject) => {
    const stdin = stdinChannel();
    const server = new StdinServer(stdin, options.openStdin);
    const input: WorkerInput = { module, plan, stdin };
    const worker = new Worker(BOOT, { eval: true, workerData: input });
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      clearTimeout(timer);
      server.close();
      return true;
    };
    worker.on("message", (m: WorkerMessage) => {
      if (m.type === "started") {
        timer = setTimeout(() => {
          if (settle()) {
            void worker.terminate();
            resolve({ kind: "timeout" });
          }
        }, options.timeoutMs);
      } else if (m.type === "stdin") {
        void server.serve();
      } else if (settle()) {
        resolve(m.outcome);
      }
    });
    worker.on("error", (e) => {
      if (settle()) reject(e);
    });
    worker.on("exit", (code) => {
      if (settle()) reject(new Error(`the guest worker exited (code ${code}) without a result`));
    });
  });
}
