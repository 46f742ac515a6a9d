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
import * as net from "node:net";
import * as path from "node:path";
import type { Duplex } from "node:stream";
import type { ExitReport, StartRequest } from "./agent.ts";
import { KeepError } from "./error.ts";
import type { GuestPlan } from "./guest.ts";
import {
  DATA_CHUNK,
  decodeJsonPayload,
  decodeU32,
  encodeFrame,
  encodeJsonFrame,
  encodeSocketData,
  encodeU32Frame,
  FRAME,
  type Frame,
  FrameDecoder,
  frameName,
  loadFrames,
  MAX_SOCKETS,
  SOCKET_WINDOW,
  STEWARD_TIMEOUT_MS,
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
   * The Steward the Keep attests to before the workload starts, or null:
   * START carries it to the Keep, and the host relays the Keep's `steward`
   * connection to the URL's host and port — the only address it connects
   * to. `ca` is the PEM the Steward's TLS certificate chains to (null only
   * for `http://` on loopback); TLS runs inside the Keep.
   */
  steward?: { url: string; ca: string | null } | null;
  /** Called with the CERTIFICATE frame's bytes (the PEM chain the Steward issued). */
  onCertificate?(pem: Uint8Array): void;
  /**
   * A directory for Node's compile cache of the Keep runtime, or null. Only
   * for sandbox, whose host is trusted with its key anyway: in a TEE the
   * host must not supply code the Keep runs, and a cache is code.
   */
  compileCache?: string | null;
  /** Test hook: another entry script in place of the Keep runtime (a "compromised runtime"). */
  entry?: string;
}

/** The address the host connects to for a Steward URL: its host and port (default 443 / 80). */
export function stewardAddress(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = u.port === "" ? (u.protocol === "https:" ? 443 : 80) : Number(u.port);
  return { host: u.hostname.replace(/^\[(.*)\]$/, "$1"), port };
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
      // Mounts apply in order: the fresh /proc, /dev and private /tmp first,
      // so that binds of paths below them (a repository or a mapped
      // directory under /tmp) land on top instead of being hidden.
      "--proc",
      "/proc",
      "--dev",
      "/dev",
      "--tmpfs",
      "/tmp",
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
    let certified = false;
    /** Relayed connections by id (the Keep's ids), and every id the Keep has used. */
    const relays = new Map<number, Relay>();
    const usedIds = new Set<number>();

    // A function, because callbacks change `state` behind TypeScript's narrowing.
    const done = (): boolean => state === "done";
    const end = (r: KeepResult, kill: boolean): void => {
      if (result === null) result = r;
      if (state === "done") return;
      state = "done";
      for (const t of timers) clearTimeout(t);
      stdin?.close();
      for (const r of relays.values()) r.tcp?.destroy();
      relays.clear();
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
        case FRAME.CONNECT:
          connect(decodeJsonPayload(f));
          return;
        case FRAME.SOCKET_SEND:
        case FRAME.SOCKET_CLOSE:
        case FRAME.SOCKET_CREDIT:
          relayFrame(f);
          return;
        case FRAME.CERTIFICATE: {
          if (!o.steward || certified) {
            broken(
              o.steward ? "a second CERTIFICATE" : "CERTIFICATE, but the host named no Steward",
            );
            return;
          }
          certified = true;
          o.onCertificate?.(f.payload);
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

    /**
     * CONNECT: the Keep names a purpose; the host connects to the address its
     * own options give for it (only "steward" exists in version 1).
     */
    const connect = (req: Record<string, unknown>): void => {
      const id = req.id;
      if (typeof id !== "number" || !Number.isInteger(id) || id < 1 || id > 0xffffffff) {
        broken(`CONNECT with id ${JSON.stringify(id)}; expected an integer from 1 to 4294967295`);
        return;
      }
      if (req.purpose !== "steward" || Object.keys(req).length !== 2) {
        broken(`CONNECT ${JSON.stringify(req)}; expected {id, purpose: "steward"}`);
        return;
      }
      if (!o.steward) {
        broken("CONNECT to a Steward, but the host named no Steward");
        return;
      }
      if (usedIds.has(id)) {
        broken(`CONNECT reuses connection id ${id}`);
        return;
      }
      if (relays.size >= MAX_SOCKETS) {
        broken(`CONNECT with ${MAX_SOCKETS} connections open already`);
        return;
      }
      usedIds.add(id);
      const { host, port } = stewardAddress(o.steward.url);
      const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
      const r: Relay = {
        id,
        tcp: null,
        open: false,
        credit: SOCKET_WINDOW,
        pending: [],
        keepClosed: false,
        hostClosed: false,
        tcpEnded: false,
      };
      relays.set(id, r);
      const tcp = net.connect({ host, port });
      r.tcp = tcp;
      tcp.on("connect", () => {
        if (done()) return;
        r.open = true;
        channel.write(encodeJsonFrame(FRAME.CONNECTED, { id, ok: true }));
      });
      tcp.on("data", (chunk: Buffer) => {
        r.pending.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        pumpRelay(r);
      });
      const ended = (): void => {
        r.tcpEnded = true;
        pumpRelay(r);
      };
      tcp.on("end", ended);
      tcp.on("close", ended);
      tcp.on("error", (e: Error & { code?: string }) => {
        if (done() || r.open) return; // after connecting, 'close' follows and ends it
        relays.delete(id);
        const why = e.code ?? e.message;
        channel.write(
          encodeJsonFrame(FRAME.CONNECTED, {
            id,
            ok: false,
            error: `the host could not connect to ${where}: ${why}`.slice(0, 512),
          }),
        );
      });
    };

    /** Send what the peer sent, within the Keep's credit; then SOCKET_CLOSED once it ended. */
    const pumpRelay = (r: Relay): void => {
      if (done() || !r.open || r.hostClosed) return;
      while (r.pending.length > 0 && r.credit > 0) {
        const head = r.pending[0]!;
        const n = Math.min(head.length, r.credit, DATA_CHUNK);
        if (!r.keepClosed)
          channel.write(encodeSocketData(FRAME.SOCKET_RECV, r.id, head.subarray(0, n)));
        r.credit -= n;
        if (n === head.length) r.pending.shift();
        else r.pending[0] = head.subarray(n);
      }
      if (r.pending.length > 0) r.tcp?.pause();
      else if (!r.tcpEnded) r.tcp?.resume();
      if (r.tcpEnded && r.pending.length === 0) closeRelay(r);
    };

    const closeRelay = (r: Relay): void => {
      if (r.hostClosed) return;
      r.hostClosed = true;
      r.tcp?.destroy();
      channel.write(encodeU32Frame(FRAME.SOCKET_CLOSED, r.id));
      if (r.keepClosed) relays.delete(r.id);
    };

    /** SOCKET_SEND, SOCKET_CLOSE, SOCKET_CREDIT: only for a connection the host opened for the Keep. */
    const relayFrame = (f: Frame): void => {
      const id = decodeU32(f.payload);
      const r = relays.get(id);
      if (r === undefined || !r.open || r.keepClosed) {
        const why =
          r === undefined
            ? "which is not open"
            : !r.open
              ? "before CONNECTED"
              : "after the Keep closed it";
        broken(`${frameName(f.type)} for connection ${id}, ${why}`);
        return;
      }
      if (f.type === FRAME.SOCKET_CREDIT) {
        const n = decodeU32(f.payload, 4);
        if (r.credit + n > SOCKET_WINDOW) {
          broken(`SOCKET_CREDIT for connection ${id} grants ${n} bytes the host never sent`);
          return;
        }
        r.credit += n;
        pumpRelay(r);
        return;
      }
      if (f.type === FRAME.SOCKET_CLOSE) {
        r.keepClosed = true;
        r.pending = [];
        if (r.hostClosed) relays.delete(id);
        else closeRelay(r);
        return;
      }
      if (r.hostClosed) return; // the peer is gone: what the Keep still sends is dropped
      // Backpressure: while the peer does not keep up, stop reading the Keep.
      if (r.tcp!.write(f.payload.subarray(4)) === false) {
        channel.pause();
        r.tcp!.once("drain", () => channel.resume());
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
        steward: o.steward ? { url: o.steward.url, ca: o.steward.ca } : null,
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
            // The Keep's own limit runs from the workload's start, after its Steward answered.
            limit + TIME_GRACE_MS + (o.steward ? STEWARD_TIMEOUT_MS : 0),
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

/** The host's end of one relayed connection. */
interface Relay {
  id: number;
  tcp: net.Socket | null;
  /** CONNECTED ok was sent. */
  open: boolean;
  /** Bytes the Keep will still take (SOCKET_WINDOW, less what was sent, plus SOCKET_CREDIT). */
  credit: number;
  /** Bytes from the peer waiting for credit. */
  pending: Uint8Array[];
  /** The Keep sent SOCKET_CLOSE. */
  keepClosed: boolean;
  /** The host sent SOCKET_CLOSED. */
  hostClosed: boolean;
  /** The peer's side ended (or the socket closed). */
  tcpEnded: boolean;
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
