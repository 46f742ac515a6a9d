/**
 * The host side of a Keep (the loader): start the Keep process locked down,
 * speak sallyport with it, relay stdio, and enforce the limits from outside
 * as well (time, output, memory of the whole process tree). The host trusts
 * the Keep no more than it must: its frames are checked like the Keep checks
 * the host's, and a Keep that breaks the protocol is killed.
 *
 * The Keep process:
 *   [prlimit --cpu=N --] [bwrap …] node --permission --allow-worker
 *     --allow-fs-read=<runtime> [--allow-fs-read/--allow-fs-write=<mapped dirs>]
 *     packages/keep/bin/keep.js --backend NAME [--state-dir DIR]
 * with an empty environment, no stdin or stdout, stderr shown to the user
 * (Node's own fatal errors), and the channel as fd 3.
 */
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Duplex } from "node:stream";
import type { ExitReport, StartRequest } from "./agent.ts";
import { KeepError } from "./error.ts";
import type { GuestPlan } from "./guest.ts";
import {
  decodeJsonPayload,
  decodeU32,
  encodeFrame,
  encodeJsonFrame,
  FRAME,
  type Frame,
  FrameDecoder,
  frameName,
  loadFrames,
} from "./sallyport.ts";
import type { StdinSource } from "./stdin_bridge.ts";

/** The repository root: the runtime the Keep loads lives here. */
export const RUNTIME_ROOT = path.resolve(import.meta.dirname, "../../..");
const ENTRY = path.join(RUNTIME_ROOT, "packages/keep/bin/keep.js");
/**
 * The Keep's working directory. Node 24's permission model lets worker
 * threads read below the working directory whatever the grants say, so it
 * must hold nothing the Keep may not read: without bubblewrap the launcher's
 * own directory (public runtime code), inside bubblewrap an empty directory.
 */
const KEEP_CWD = path.join(RUNTIME_ROOT, "packages/keep/bin");
const BWRAP_CWD = "/run/donjon-keep";

/** Memory the Keep's runtime may use besides the workload's linear memory. */
export const RUNTIME_ALLOWANCE = 768 * 1024 * 1024;
/** How often the host measures the Keep's memory. */
const RSS_INTERVAL_MS = 100;
/** The host's time limit is the Keep's plus this, so the Keep normally reports first. */
const TIME_GRACE_MS = 2000;

export interface KeepLaunchOptions {
  backend: "sandbox" | "snp" | "tdx" | "sgx";
  plan: GuestPlan;
  limits: StartRequest["limits"];
  module: Uint8Array;
  config: Uint8Array;
  /** Node binary for the Keep (the host's own by default). */
  nodePath: string;
  /** bubblewrap, or null to run without it. */
  bwrap: string | null;
  /** prlimit (util-linux), or null: the CPU-time limit is then not set. */
  prlimit: string | null;
  /** State directory holding the sandbox key (sandbox only; it must exist). */
  stateDir: string | null;
  stdout(bytes: Uint8Array): void;
  stderr(bytes: Uint8Array): void;
  openStdin(): StdinSource;
  /** Called with the EVIDENCE frame's bytes (the CMW wrapper). */
  onEvidence?(bytes: Uint8Array): void;
  /**
   * A directory for Node's compile cache of the Keep runtime, or null. Only
   * for sandbox, whose host is trusted with its key anyway: in a TEE the
   * host must not supply code the Keep runs, and a cache is code.
   */
  compileCache?: string | null;
  /** Test hook: another entry script in place of the Keep runtime (a "compromised runtime"). */
  entry?: string;
}

/** How a Keep ended, as the host saw it. */
export type KeepResult =
  | ExitReport
  | { kind: "limit"; limit: "memory"; message: string }
  | { kind: "crash"; message: string };

/**
 * The command line that starts a Keep process.
 *
 * @throws {KeepError} `keep.host.dirs` when host directories are mapped
 *   without bubblewrap (see below).
 */
export function keepCommand(o: KeepLaunchOptions): { command: string; args: string[] } {
  const mapped = o.plan.dirs.filter((d) => d.host !== null);
  if (mapped.length > 0 && o.bwrap === null) {
    // HostFs walks mapped directories through /proc/self/fd/N/name, so the
    // Keep needs /proc/self/fd in its grants — and with that grant alone, a
    // compromised runtime could write through any descriptor it can open,
    // its own code and the sandbox key included. bubblewrap's read-only
    // binds stop that at the kernel; without them, no host directory.
    throw new KeepError(
      "keep.host.dirs",
      `mapping host directories (${mapped.map((d) => d.host).join(", ")}) into a ${o.backend} Keep needs bubblewrap, which is not installed; install it (apt-get install bubblewrap) or give the workload in-memory directories ([[dirs]] without host)`,
    );
  }
  const node = [
    "--permission",
    "--allow-worker",
    "--disable-warning=SecurityWarning",
    `--allow-fs-read=${path.join(RUNTIME_ROOT, "packages")}`,
    `--allow-fs-read=${path.join(RUNTIME_ROOT, "node_modules")}`,
  ];
  const binds: string[] = [];
  for (const d of mapped) {
    node.push(`--allow-fs-read=${d.host}`);
    if (!d.readonly) node.push(`--allow-fs-write=${d.host}`);
    binds.push(d.readonly ? "--ro-bind" : "--bind", d.host!, d.host!);
  }
  if (mapped.length > 0) {
    // HostFs's descriptor-relative paths; safe only under bubblewrap (above).
    node.push("--allow-fs-read=/proc/self/fd");
    if (mapped.some((d) => !d.readonly)) node.push("--allow-fs-write=/proc/self/fd");
  }
  const keepArgs = ["--backend", o.backend];
  if (o.stateDir !== null) {
    node.push(`--allow-fs-read=${o.stateDir}`);
    binds.push("--ro-bind", o.stateDir, o.stateDir);
    keepArgs.push("--state-dir", o.stateDir);
  }
  if (o.compileCache) {
    node.push(`--allow-fs-read=${o.compileCache}`, `--allow-fs-write=${o.compileCache}`);
    binds.push("--bind", o.compileCache, o.compileCache);
  }
  const entry = o.entry ?? ENTRY;
  let argv = [o.nodePath, ...node, entry, ...keepArgs];
  if (o.bwrap !== null) {
    const nodeReal = fs.realpathSync(o.nodePath);
    argv = [
      o.bwrap,
      "--die-with-parent",
      "--new-session",
      "--unshare-all", // a new network namespace (loopback only), pid, ipc, uts, cgroup
      "--ro-bind",
      "/usr",
      "/usr",
      ...["/lib", "/lib64", "/bin", "/etc/ld.so.cache"].flatMap((p) => ["--ro-bind-try", p, p]),
      "--ro-bind",
      RUNTIME_ROOT,
      RUNTIME_ROOT,
      ...(nodeReal.startsWith(`${RUNTIME_ROOT}/`)
        ? []
        : ["--ro-bind", path.dirname(nodeReal), path.dirname(nodeReal)]),
      "--proc",
      "/proc",
      "--dev",
      "/dev",
      "--tmpfs",
      "/tmp",
      ...binds,
      "--clearenv",
      ...(o.compileCache ? ["--setenv", "NODE_COMPILE_CACHE", o.compileCache] : []),
      "--dir",
      BWRAP_CWD,
      "--chdir",
      BWRAP_CWD,
      "--",
      ...argv,
    ];
  }
  if (o.prlimit !== null && o.limits.timeoutMs !== null) {
    // CPU seconds for every thread together: twice the wall time, at least 10 s.
    const cpu = Math.max(10, Math.ceil((2 * o.limits.timeoutMs) / 1000));
    argv = [o.prlimit, `--cpu=${cpu}`, "--", ...argv];
  }
  return { command: argv[0]!, args: argv.slice(1) };
}

/** Start a Keep, run the workload in it, and say how it ended. */
export function runKeep(o: KeepLaunchOptions): Promise<KeepResult> {
  return new Promise((resolve) => {
    const { command, args } = keepCommand(o);
    const child: ChildProcess = spawn(command, args, {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
      cwd: KEEP_CWD,
      env: o.compileCache ? { NODE_COMPILE_CACHE: o.compileCache } : {},
    });
    const channel = child.stdio[3] as Duplex;
    const decoder = new FrameDecoder("host");
    let state: "hello" | "running" | "done" = "hello";
    let result: KeepResult | null = null;
    let relayed = 0;
    let stdin: StdinSource | null = null;
    let stdinLeft: Uint8Array = new Uint8Array(0);
    let stdinEnded = false;
    let stdinPending = false;
    let keepStderr = "";
    const timers: ReturnType<typeof setTimeout>[] = [];

    // A function, because callbacks change `state` behind TypeScript's narrowing.
    const done = (): boolean => state === "done";
    const end = (r: KeepResult, kill: boolean): void => {
      if (result === null) result = r;
      if (state === "done") return;
      state = "done";
      for (const t of timers) clearTimeout(t);
      stdin?.close();
      if (kill) child.kill("SIGKILL");
    };
    const broken = (message: string): void =>
      end({ kind: "crash", message: `the Keep broke the sallyport protocol: ${message}` }, true);

    const onFrame = (f: Frame): void => {
      if (state === "hello") {
        if (f.type !== FRAME.HELLO) {
          broken(`expected HELLO first, got ${frameName(f.type)}`);
          return;
        }
        const h = decodeJsonPayload(f);
        if (h.protocol !== "donjon-sallyport" || h.version !== 1) {
          broken(`HELLO speaks ${JSON.stringify(h)}; the host speaks donjon-sallyport 1`);
          return;
        }
        state = "running";
        send();
        return;
      }
      switch (f.type) {
        case FRAME.EVIDENCE:
          o.onEvidence?.(f.payload);
          return;
        case FRAME.STDOUT:
        case FRAME.STDERR: {
          relayed += f.payload.length;
          const limit = o.limits.outputBytes;
          if (limit !== null && relayed > limit) {
            end(
              {
                kind: "limit",
                limit: "output",
                message: `output limit of ${limit} bytes reached; the workload was stopped`,
              },
              true,
            );
            return;
          }
          (f.type === FRAME.STDOUT ? o.stdout : o.stderr)(f.payload);
          return;
        }
        case FRAME.STDIN_READ: {
          if (stdinPending) {
            broken("a second STDIN_READ before the first was answered");
            return;
          }
          stdinPending = true;
          void serveStdin(decodeU32(f.payload));
          return;
        }
        case FRAME.EXIT: {
          const r = decodeJsonPayload(f);
          if (typeof r.kind !== "string") {
            broken("EXIT without a kind");
            return;
          }
          end(r as unknown as KeepResult, false);
          return;
        }
        default: {
          broken(`unexpected ${frameName(f.type)}`);
          return;
        }
      }
    };

    const serveStdin = async (max: number): Promise<void> => {
      try {
        if (stdinLeft.length === 0 && !stdinEnded) {
          stdin ??= o.openStdin();
          const chunk = await stdin.next();
          if (chunk === null) stdinEnded = true;
          else stdinLeft = chunk;
        }
      } catch {
        stdinEnded = true;
      }
      if (state === "done") return;
      stdinPending = false;
      if (stdinLeft.length === 0) {
        channel.write(encodeFrame(FRAME.STDIN_EOF));
        return;
      }
      const n = Math.min(max, stdinLeft.length);
      channel.write(encodeFrame(FRAME.STDIN_DATA, stdinLeft.subarray(0, n)));
      stdinLeft = stdinLeft.subarray(n);
    };

    const send = (): void => {
      const start = {
        plan: o.plan,
        limits: o.limits,
        module: { size: o.module.length },
        config: { size: o.config.length },
      };
      channel.write(encodeJsonFrame(FRAME.START, start));
      for (const f of loadFrames(FRAME.MODULE, o.module)) channel.write(f);
      for (const f of loadFrames(FRAME.CONFIG, o.config)) channel.write(f);
      if (o.limits.timeoutMs !== null) {
        const limit = o.limits.timeoutMs;
        timers.push(
          setTimeout(
            () =>
              end(
                {
                  kind: "limit",
                  limit: "time",
                  message: `time limit of ${limit} ms reached; the Keep was stopped by the host`,
                },
                true,
              ),
            limit + TIME_GRACE_MS,
          ),
        );
      }
    };

    channel.on("data", (chunk: Buffer) => {
      if (state === "done") return;
      try {
        for (const f of decoder.push(new Uint8Array(chunk))) {
          onFrame(f);
          if (done()) return;
        }
      } catch (e) {
        broken((e as Error).message);
      }
    });
    channel.on("error", () => {});
    child.stderr!.setEncoding("utf8").on("data", (s: string) => {
      keepStderr += s;
      o.stderr(new TextEncoder().encode(s));
    });

    // The memory of the whole tree (bwrap, node and its threads), measured from outside.
    const memoryLimit = o.limits.memoryPages * 65536 + RUNTIME_ALLOWANCE;
    const watch = setInterval(() => {
      if (child.pid === undefined || state === "done") return;
      const rss = treeRss(child.pid);
      if (rss > memoryLimit) {
        end(
          {
            kind: "limit",
            limit: "memory",
            message: `the Keep used ${mib(rss)} of memory, over its limit of ${mib(memoryLimit)} (the workload's memory limit + ${mib(RUNTIME_ALLOWANCE)} for the runtime); it was stopped`,
          },
          true,
        );
      }
    }, RSS_INTERVAL_MS);
    watch.unref();

    child.on("error", (e) => {
      end(
        {
          kind: "crash",
          message: `cannot start the Keep process (${command}): ${e.message}`,
        },
        false,
      );
    });
    child.on("close", (code, signal) => {
      clearInterval(watch);
      if (result === null) {
        const how = signal ? `was killed by ${signal}` : `exited with status ${code}`;
        const detail = keepStderr.trim() === "" ? "" : " (its messages are above)";
        end({ kind: "crash", message: `the Keep process ${how} without a result${detail}` }, false);
      }
      state = "done";
      resolve(result!);
    });
  });
}

/** Resident memory of `pid` and all its descendants, in bytes (0 if it is gone). */
export function treeRss(pid: number): number {
  let total = 0;
  const seen = new Set<number>();
  const stack = [pid];
  while (stack.length > 0) {
    const p = stack.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    try {
      const status = fs.readFileSync(`/proc/${p}/status`, "latin1");
      const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
      if (m) total += Number(m[1]) * 1024;
      for (const t of fs.readdirSync(`/proc/${p}/task`)) {
        const children = fs.readFileSync(`/proc/${p}/task/${t}/children`, "latin1").trim();
        if (children !== "") for (const c of children.split(" ")) stack.push(Number(c));
      }
    } catch {
      // Gone while we looked, or no /proc: count what we could.
    }
  }
  return total;
}

function mib(n: number): string {
  return `${Math.round(n / 1048576)} MiB`;
}
