/**
 * Worker entry: runs the guest off the main thread, so that the main thread
 * can stop it when its time is up (`_worker_host.ts`). Input arrives in
 * `workerData` (`WorkerInput`); the worker posts `{ type: "started" }` just
 * before instantiating, stdin requests, and finally `{ type: "done", outcome }`.
 */
import * as fs from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import { type GuestPlan, type Outcome, runGuest } from "@donjon/keep/guest";
import { nodePlatform } from "@donjon/keep/node-platform";
import { bridgedStdin, type StdinChannel } from "@donjon/keep/stdin-bridge";

export interface WorkerInput {
  module: WebAssembly.Module;
  plan: GuestPlan;
  stdin: StdinChannel;
}

/** Messages from the worker to the main thread. */
export type WorkerMessage =
  | { type: "started" }
  | { type: "stdin" }
  | { type: "done"; outcome: Outcome };

const port = parentPort!;
const input = workerData as WorkerInput;
const post = (m: WorkerMessage): void => port.postMessage(m);
const platform = await nodePlatform(input.plan, {
  stdin: bridgedStdin(input.stdin, () => post({ type: "stdin" })),
  warn: (message) => fs.writeSync(2, `donjon: ${message}\n`),
});
post({ type: "started" });
post({ type: "done", outcome: runGuest(input.module, input.plan, platform) });
