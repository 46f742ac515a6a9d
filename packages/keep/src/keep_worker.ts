/**
 * Worker entry inside a Keep: runs the workload off the Keep's I/O thread.
 * Output goes into the shared ring (`ring.ts`), stdin is asked of the I/O
 * thread through the stdin bridge; both wait on SharedArrayBuffers, which
 * `Worker.terminate()` interrupts. Memory-only WASI calls never leave here.
 */
import { parentPort, workerData } from "node:worker_threads";
import { type Preopen, streamHandle } from "@donjon/wasi";
import { type GuestPlan, type Outcome, runGuest } from "./guest.ts";
import type { NetChannel, NetFdPlan, NetRequest } from "./net_bridge.ts";
import { nodePlatform } from "./node_platform.ts";
import { type RingChannel, RingWriter } from "./ring.ts";
import { bridgedStdin, type StdinChannel } from "./stdin_bridge.ts";

/** In `workerData`; the module and the plan follow in a message once the Keep has checked them. */
export interface KeepWorkerInput {
  output: RingChannel;
  stdin: StdinChannel;
}

/** The message that starts the workload, once the Keep has checked and proved it. */
export interface KeepWorkerStart {
  type: "module";
  module: WebAssembly.Module;
  plan: GuestPlan;
  /** Sockets at fds 3… from the Keep's own reading of the config. */
  net: NetFdPlan;
  /** The socket bridge's shared buffers: made only for a workload with sockets, else null. */
  netChannel: NetChannel | null;
  /** The Keep's certificate chain for `/donjon/cert.pem`, or null. */
  cert: string | null;
}

/** Messages from the worker to the I/O thread. */
export type KeepWorkerMessage =
  | { type: "started" }
  | { type: "stdin" }
  | { type: "net"; req: NetRequest }
  | { type: "done"; outcome: Outcome };

const port = parentPort!;
const input = workerData as KeepWorkerInput;
const post = (m: KeepWorkerMessage, transfer: ArrayBuffer[] = []): void =>
  port.postMessage(m, transfer);
const ring = new RingWriter(input.output);
const writer = (stream: 1 | 2) =>
  streamHandle({
    write: (buf) => {
      ring.write(stream, buf);
      return buf.length;
    },
  });
const { module, plan, net, netChannel, cert } = await new Promise<KeepWorkerStart>((resolve) =>
  port.once("message", resolve),
);
const platform = await nodePlatform(plan, {
  stdin: bridgedStdin(input.stdin, () => post({ type: "stdin" })),
  stdout: writer(1),
  stderr: writer(2),
  warn: (message) => ring.write(2, new TextEncoder().encode(`donjon keep: ${message}\n`)),
});
post({ type: "started" });
const preopens: Preopen[] = [];
if (cert !== null) {
  const [{ MemoryFs }, { CERT_DIR, CERT_PATH }] = await Promise.all([
    import("@donjon/wasi/memfs"),
    import("./_cert.ts"),
  ]);
  const fs = new MemoryFs({ readonly: true });
  fs.writeFile(CERT_PATH.slice(CERT_DIR.length), cert);
  preopens.push({ path: CERT_DIR, fs, readonly: true });
}
// The bridge is loaded only by a workload with sockets.
const sockets =
  net.length > 0
    ? (await import("./net_bridge.ts")).bridgedSockets(netChannel!, net, (req, transfer) =>
        post({ type: "net", req }, transfer),
      )
    : undefined;
post({
  type: "done",
  outcome: runGuest(module, plan, platform, { ...(sockets ? { sockets } : {}), preopens }),
});
