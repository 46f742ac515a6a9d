/**
 * The guest platform on Node.js: the host's stdio fds, host directories
 * (`HostFs`) and in-memory ones (`MemoryFs`). Made on whichever thread runs
 * the guest; stdin can be replaced (the worker reads it through the main
 * thread, see `stdin_bridge.ts`).
 */

import type { Handle } from "@donjon/wasi";
import { hostStream } from "@donjon/wasi/node";
import type { GuestPlan, GuestPlatform } from "./guest.ts";

// Not `import … from "node:fs"`, which loads node:stream for nothing (see main.ts).
const nodeFs = process.getBuiltinModule("node:fs");

export interface NodePlatformOptions {
  /** fd 0 for the guest instead of a blocking read of the host's fd 0. */
  stdin?: Handle;
  /** fds 1 and 2 for the guest instead of the process's own (a Keep relays them to the host). */
  stdout?: Handle;
  stderr?: Handle;
  /** Where host-bug warnings go. */
  warn: (message: string) => void;
  /**
   * Hold small stdout writes back and write them together (see
   * `hostStream`). Only where nothing can stop the thread between a write
   * and its flush: not in a worker that a time limit may terminate.
   */
  bufferStdout?: boolean;
}

/**
 * The platform for `plan`. Each filesystem module is loaded only when the
 * plan has a directory of its kind: a guest without directories starts
 * faster and smaller without them.
 */
export async function nodePlatform(
  plan: GuestPlan,
  options: NodePlatformOptions,
): Promise<GuestPlatform> {
  // Each host directory is resolved once, however many others it is compared with.
  const real = new Map<string, string | null>();
  const realpath = (p: string): string | null => {
    if (!real.has(p)) real.set(p, realpathOrNull(p));
    return real.get(p) ?? null;
  };
  const { HostFs } = plan.dirs.some((d) => d.host !== null)
    ? await import("@donjon/wasi/hostfs")
    : { HostFs: null };
  const { MemoryFs } = plan.dirs.some((d) => d.host === null)
    ? await import("@donjon/wasi/memfs")
    : { MemoryFs: null };
  return {
    stream: (kind) =>
      kind === "stdin"
        ? (options.stdin ?? hostStream(0, "read"))
        : kind === "stdout"
          ? (options.stdout ?? hostStream(1, "write", { buffer: options.bufferStdout ?? false }))
          : (options.stderr ?? hostStream(2, "write")),
    hostFs: (path, readonly) =>
      new HostFs!({ path, readonly, stableRoot: stableRoot(path, plan, realpath) }),
    memoryFs: (readonly) => new MemoryFs!({ readonly }),
    warn: options.warn,
  };
}

/**
 * True when no other host directory of the plan contains `path`: then the
 * guest cannot rename or replace anything on the way to it, and HostFs may
 * look names in its root up by path (see `HostFsOptions.stableRoot`).
 * Compared as real paths; an unreadable path is "not stable" (HostFs will
 * say what is wrong with it).
 */
export function stableRoot(path: string, plan: GuestPlan, realpath = realpathOrNull): boolean {
  const self = realpath(path);
  if (self === null) return false;
  for (const d of plan.dirs) {
    if (d.host === null) continue;
    const other = realpath(d.host);
    if (other === null) return false;
    if (other !== self && (other === "/" || self.startsWith(`${other}/`))) return false;
  }
  return true;
}

function realpathOrNull(path: string): string | null {
  try {
    return nodeFs.realpathSync(path);
  } catch {
    return null;
  }
}
