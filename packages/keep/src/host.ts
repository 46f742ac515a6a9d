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
  HOST_ID_BASE,
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
/**
 * Connections accepted on listen sockets that wait for a free relay (at most
 * MAX_SOCKETS are relayed at once), paused; past this many a new one is dropped.
 */
export const ACCEPT_QUEUE = 1024;
/**
 * How long a connection the Keep closed may wait for its peer's FIN once
 * everything the Keep sent was handed to the system; then the host destroys it.
 */
export const CLOSE_GRACE_MS = 5000;
/** How long such a connection may take to flush at all (a peer that reads nothing). */
const FLUSH_LIMIT_MS = 30_000;

/**
 * A network entry of Donjon.toml `[[files]]`: the workload's fd `fd` (the
 * entry's index) is a socket the host binds (`listen`) or connects
 * (`connect`) and relays over sallyport. `prot` is for the Keep, which runs
 * TLS itself: the host relays the same bytes either way.
 */
export type NetFile =
  | { fd: number; name: string; kind: "listen"; prot: "tls" | "tcp"; addr: string; port: number }
  | { fd: number; name: string; kind: "connect"; prot: "tls" | "tcp"; host: string; port: number };

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
  /**
   * Network [[files]] entries (fd = entry index). The host binds every
   * `listen` entry before it starts the Keep and relays each connection it
   * accepts (ACCEPTED); it connects a `connect` entry when the Keep asks
   * (CONNECT purpose "file"). None by default.
   */
  net?: NetFile[];
  /** Called once per listen entry when bound (port 0 → the port the OS chose). */
  onListening?(
    file: NetFile & { kind: "listen" },
    address: { address: string; port: number },
  ): void;
  /** Test hook: every byte of the sallyport channel, both ways, as it passes the host. */
  tap?(from: "keep" | "host", bytes: Uint8Array): void;
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

/** A listen entry of `net`. */
type ListenFile = NetFile & { kind: "listen" };

/** A connection accepted on a listen socket, paused until it gets a relay. */
interface Accepted {
  file: ListenFile;
  tcp: net.Socket;
}

/**
 * Start a Keep, run the workload in it, and say how it ended.
 *
 * @throws {KeepError} `keep.host.dirs` when host directories are mapped
 *   without bubblewrap; `keep.host.listen` when a listen entry of `net`
 *   cannot be bound. Either way no Keep was started and no socket is left open.
 */
export async function runKeep(o: KeepLaunchOptions): Promise<KeepResult> {
  const { command, args } = keepCommand(o);
  /** Accepted connections waiting for a relay, oldest first (at most ACCEPT_QUEUE). */
  const waiting: Accepted[] = [];
  /** The session's dispatcher once the Keep runs; until then connections only wait. */
  let wake = (): void => {};
  // Bound before the Keep starts, so that a port in use fails the run before
  // anything runs, and connections that arrive while the Keep starts wait.
  const listeners = await bindListeners(o.net ?? [], (file, tcp) => {
    // Until it is relayed, a reset only ends the connection.
    tcp.on("error", () => {});
    if (waiting.length >= ACCEPT_QUEUE) {
      tcp.destroy();
      return;
    }
    waiting.push({ file, tcp });
    wake();
  });
  try {
    for (const { file, server } of listeners) {
      const a = server.address() as net.AddressInfo;
      o.onListening?.(file, { address: a.address, port: a.port });
    }
  } catch (e) {
    // The caller's callback failed: nothing starts, nothing stays bound.
    for (const { server } of listeners) server.close();
    for (const { tcp } of waiting.splice(0)) tcp.destroy();
    throw e;
  }

  return new Promise((resolve) => {
    const child: ChildProcess = spawn(command, args, {
      stdio: ["ignore", "ignore", "pipe", "pipe"],
      cwd: KEEP_CWD,
      env: o.compileCache ? { NODE_COMPILE_CACHE: o.compileCache } : {},
    });
    const channel = child.stdio[3] as Duplex;
    /** Every write to the Keep goes through here (the tap sees it). */
    const put = (bytes: Uint8Array): void => {
      o.tap?.("host", bytes);
      channel.write(bytes);
    };
    const decoder = new FrameDecoder("host");
    let state: "hello" | "running" | "done" = "hello";
    /** START, MODULE and CONFIG are sent: ACCEPTED may follow. */
    let loaded = false;
    let result: KeepResult | null = null;
    let childClosed = false;
    let relayed = 0;
    let stdin: StdinSource | null = null;
    let stdinLeft: Uint8Array = new Uint8Array(0);
    let stdinEnded = false;
    let stdinPending = false;
    let keepStderr = "";
    const timers: ReturnType<typeof setTimeout>[] = [];
    let certified = false;
    /** Relayed connections by id: the Keep's (CONNECT) and the host's (ACCEPTED). */
    const relays = new Map<number, Relay>();
    /** Every id the Keep has used; the host's are the ones below `nextHostId`. */
    const usedIds = new Set<number>();
    let nextHostId = HOST_ID_BASE;
    /** TCP sockets not closed yet: relayed, or flushing after the Keep closed them. */
    const sockets = new Set<net.Socket>();
    /** Relays whose peer's socket is full: the host reads no frame while there is one. */
    let blocked = 0;

    // A function, because callbacks change `state` behind TypeScript's narrowing.
    const done = (): boolean => state === "done";
    /** The run is over when the Keep process is gone and every socket has flushed and closed. */
    const settle = (): void => {
      if (childClosed && sockets.size === 0) resolve(result!);
    };
    const end = (r: KeepResult, kill: boolean): void => {
      if (result === null) result = r;
      if (state === "done") return;
      state = "done";
      for (const t of timers) clearTimeout(t);
      stdin?.close();
      for (const { server } of listeners) server.close();
      for (const { tcp } of waiting.splice(0)) tcp.destroy();
      if (kill) {
        for (const s of sockets) s.destroy();
      } else {
        // The workload ended: what it sent still reaches its peers.
        for (const r of relays.values()) {
          if (r.open) finish(r.tcp);
          else r.tcp.destroy();
        }
      }
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

    /** A relay for `tcp` under `id`: the peer's bytes go to the Keep within its credit. */
    const relay = (id: number, tcp: net.Socket): Relay => {
      const r: Relay = {
        id,
        tcp,
        open: false,
        credit: SOCKET_WINDOW,
        pending: [],
        keepClosed: false,
        hostClosed: false,
        tcpEnded: false,
        tcpGone: false,
        blocking: false,
      };
      relays.set(id, r);
      sockets.add(tcp);
      tcp.on("data", (chunk: Buffer) => {
        if (done() || r.keepClosed) return; // the Keep is done reading: dropped
        r.pending.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
        pump(r);
      });
      tcp.on("end", () => {
        r.tcpEnded = true;
        pump(r);
      });
      tcp.on("close", () => {
        r.tcpEnded = true;
        r.tcpGone = true;
        sockets.delete(tcp);
        unblock(r);
        pump(r);
        settle();
      });
      return r;
    };

    /**
     * CONNECT: the Keep names a purpose; the host connects to the address its
     * own options give for it — the Steward's, or a `connect` entry of `net`.
     */
    const connect = (req: Record<string, unknown>): void => {
      const id = req.id;
      if (typeof id !== "number" || !Number.isInteger(id) || id < 1 || id >= HOST_ID_BASE) {
        broken(
          `CONNECT with id ${JSON.stringify(id)}; expected an integer from 1 to ${HOST_ID_BASE - 1} (ids from ${HOST_ID_BASE} up are the host's)`,
        );
        return;
      }
      const keys = Object.keys(req).length;
      let target: { host: string; port: number; what: string };
      if (req.purpose === "steward" && keys === 2) {
        if (!o.steward) {
          broken("CONNECT to a Steward, but the host named no Steward");
          return;
        }
        target = { ...stewardAddress(o.steward.url), what: "" };
      } else if (req.purpose === "file" && keys === 3 && "fd" in req) {
        const file = (o.net ?? []).find((n) => n.fd === req.fd);
        if (file?.kind !== "connect") {
          const entries = (o.net ?? []).filter((n) => n.kind === "connect").map((n) => n.fd);
          broken(
            `CONNECT for fd ${JSON.stringify(req.fd)}, which is ${file === undefined ? "no network [[files]] entry" : `the listen entry "${file.name}"`}; expected the fd of a connect entry (${entries.length === 0 ? "there is none" : entries.join(", ")})`,
          );
          return;
        }
        target = { host: file.host, port: file.port, what: ` (fd ${file.fd} "${file.name}")` };
      } else {
        broken(
          `CONNECT ${JSON.stringify(req)}; expected {id, purpose: "steward"} or {id, purpose: "file", fd}`,
        );
        return;
      }
      if (usedIds.has(id)) {
        broken(`CONNECT reuses connection id ${id}`);
        return;
      }
      let own = 0;
      for (const r of relays.values()) if (r.id < HOST_ID_BASE) own++;
      if (own >= MAX_SOCKETS) {
        broken(`CONNECT with ${MAX_SOCKETS} connections of its own open already`);
        return;
      }
      usedIds.add(id);
      const { host, port } = target;
      const where = `${host.includes(":") ? `[${host}]` : host}:${port}${target.what}`;
      if (relays.size >= MAX_SOCKETS) {
        // ACCEPTEDs of the host crossed this CONNECT on the channel: the Keep
        // could not know, so the connection is refused, not the Keep.
        put(
          encodeJsonFrame(FRAME.CONNECTED, {
            id,
            ok: false,
            error: `the host did not connect to ${where}: ${MAX_SOCKETS} connections are open (some accepted while the CONNECT was on its way)`,
          }),
        );
        return;
      }
      // Half-open: the peer's FIN ends only its direction; the Keep may still send.
      const tcp = net.connect({ host, port, allowHalfOpen: true });
      const r = relay(id, tcp);
      tcp.on("connect", () => {
        if (done()) return;
        r.open = true;
        put(encodeJsonFrame(FRAME.CONNECTED, { id, ok: true }));
      });
      tcp.on("error", (e: Error & { code?: string }) => {
        if (done() || r.open) return; // after connecting, 'close' follows and ends it
        relays.delete(id);
        const why = e.code ?? e.message;
        put(
          encodeJsonFrame(FRAME.CONNECTED, {
            id,
            ok: false,
            error: `the host could not connect to ${where}: ${why}`.slice(0, 512),
          }),
        );
        dispatch();
      });
    };

    /** Relay waiting connections while there is room: ACCEPTED, then the same relay as CONNECT. */
    const dispatch = (): void => {
      while (loaded && !done() && waiting.length > 0 && relays.size < MAX_SOCKETS) {
        const { file, tcp } = waiting.shift()!;
        if (tcp.destroyed) continue;
        if (nextHostId > 0xffffffff) {
          // Ids are never reused: a run that accepted 2³¹ connections accepts no more.
          tcp.destroy();
          continue;
        }
        const id = nextHostId++;
        const r = relay(id, tcp);
        r.open = true;
        put(encodeJsonFrame(FRAME.ACCEPTED, { id, fd: file.fd }));
        pump(r); // resumes the socket (accepted paused)
      }
    };
    wake = dispatch;

    /** Send what the peer sent, within the Keep's credit; then SOCKET_CLOSED once it ended. */
    const pump = (r: Relay): void => {
      if (done() || !r.open || r.hostClosed) return;
      while (r.pending.length > 0 && r.credit > 0) {
        const head = r.pending[0]!;
        const n = Math.min(head.length, r.credit, DATA_CHUNK);
        put(encodeSocketData(FRAME.SOCKET_RECV, r.id, head.subarray(0, n)));
        r.credit -= n;
        if (n === head.length) r.pending.shift();
        else r.pending[0] = head.subarray(n);
      }
      if (r.pending.length > 0) r.tcp.pause();
      else if (!r.tcpEnded) r.tcp.resume();
      if (r.tcpEnded && r.pending.length === 0) {
        // Only the peer's direction ended: the socket stays writable for the
        // Keep until its own SOCKET_CLOSE (or until the socket is gone).
        r.hostClosed = true;
        put(encodeU32Frame(FRAME.SOCKET_CLOSED, r.id));
      }
    };

    /**
     * The Keep is done with a socket: flush what it sent, then FIN (`end`),
     * never `destroy` — that would drop bytes still buffered, such as a
     * response written just before the close. What the peer still sends is
     * read and dropped (closing with unread bytes resets the connection,
     * which can discard the response at the peer). The socket closes when
     * the peer's FIN comes too, or CLOSE_GRACE_MS after everything was
     * handed to the system (FLUSH_LIMIT_MS at most, for a peer that reads
     * nothing).
     */
    const finish = (tcp: net.Socket): void => {
      if (tcp.destroyed) return;
      tcp.end();
      tcp.resume();
      let t = setTimeout(() => tcp.destroy(), FLUSH_LIMIT_MS);
      tcp.once("finish", () => {
        clearTimeout(t);
        t = setTimeout(() => tcp.destroy(), CLOSE_GRACE_MS);
      });
      tcp.once("close", () => clearTimeout(t));
    };

    /** The peer's socket took its bytes (or is gone): read frames again once no relay is full. */
    const unblock = (r: Relay): void => {
      if (!r.blocking) return;
      r.blocking = false;
      blocked--;
      if (blocked === 0 && !done()) channel.resume();
    };

    /** SOCKET_SEND, SOCKET_CLOSE, SOCKET_CREDIT: only for an open connection the Keep has not closed. */
    const relayFrame = (f: Frame): void => {
      const id = decodeU32(f.payload);
      const r = relays.get(id);
      if (r === undefined || !r.open) {
        const used = usedIds.has(id) || (id >= HOST_ID_BASE && id < nextHostId);
        const why =
          r !== undefined
            ? "before CONNECTED"
            : used
              ? "which is finished"
              : "which was never opened";
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
        pump(r);
        return;
      }
      if (f.type === FRAME.SOCKET_CLOSE) {
        r.keepClosed = true;
        r.pending = [];
        if (!r.hostClosed) {
          r.hostClosed = true;
          put(encodeU32Frame(FRAME.SOCKET_CLOSED, id));
        }
        relays.delete(id);
        unblock(r);
        finish(r.tcp);
        dispatch();
        return;
      }
      // The peer's socket is gone: what the Keep still sends is dropped.
      if (r.tcpGone || r.tcp.destroyed) return;
      // Backpressure: while the peer does not keep up, stop reading the Keep.
      if (r.tcp.write(f.payload.subarray(4)) === false && !r.blocking) {
        r.blocking = true;
        if (blocked++ === 0) channel.pause();
        r.tcp.once("drain", () => unblock(r));
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
        put(encodeFrame(FRAME.STDIN_EOF));
        return;
      }
      const n = Math.min(max, stdinLeft.length);
      put(encodeFrame(FRAME.STDIN_DATA, stdinLeft.subarray(0, n)));
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
      put(encodeJsonFrame(FRAME.START, start));
      for (const f of loadFrames(FRAME.MODULE, o.module)) put(f);
      for (const f of loadFrames(FRAME.CONFIG, o.config)) put(f);
      loaded = true;
      dispatch(); // connections that arrived while the Keep started
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
      o.tap?.("keep", new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
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
      childClosed = true;
      settle();
    });
  });
}

/**
 * Bind every listen entry, in order; on the first failure close those bound
 * and throw `keep.host.listen`.
 */
async function bindListeners(
  files: readonly NetFile[],
  onConnection: (file: ListenFile, tcp: net.Socket) => void,
): Promise<{ file: ListenFile; server: net.Server }[]> {
  const bound: { file: ListenFile; server: net.Server }[] = [];
  for (const file of files) {
    if (file.kind !== "listen") continue;
    // Half-open like the Keep's sockets; paused until the Keep has a relay for it.
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true });
    server.on("connection", (tcp: net.Socket) => onConnection(file, tcp));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen({ host: file.addr, port: file.port }, () => {
          server.off("error", reject);
          resolve();
        });
      });
    } catch (e) {
      await Promise.all(
        bound.map(({ server }) => new Promise<void>((r) => server.close(() => r()))),
      );
      throw listenError(file, e as Error & { code?: string });
    }
    // A later error on a bound socket (rare: EMFILE on accept) must not crash the host.
    server.on("error", () => {});
    bound.push({ file, server });
  }
  return bound;
}

/** `keep.host.listen` for `file`, naming the system's reason and how to fix it. */
function listenError(file: ListenFile, e: Error & { code?: string }): KeepError {
  const where = `${file.addr.includes(":") ? `[${file.addr}]` : file.addr}:${file.port}`;
  const fixes: Record<string, string> = {
    EADDRINUSE: `another process listens there: stop it, or give the entry another port (0 lets the system choose)`,
    EACCES: `ports below 1024 need privilege: use a port from 1024 up, or grant node the capability (setcap cap_net_bind_service=+ep "$(command -v node)")`,
    EADDRNOTAVAIL: `${file.addr} is not an address of this machine: use 0.0.0.0 (every interface), 127.0.0.1 (this machine only) or one that \`ip -brief address\` lists`,
  };
  const fix = fixes[e.code ?? ""] ?? "check the entry's addr and port";
  return new KeepError(
    "keep.host.listen",
    `cannot listen for [[files]] fd ${file.fd} "${file.name}" on ${where}: ${e.message}; ${fix}`,
    { cause: e },
  );
}

/** The host's end of one relayed connection. */
interface Relay {
  /** The Keep's id (CONNECT, below HOST_ID_BASE) or the host's (ACCEPTED, from it up). */
  id: number;
  tcp: net.Socket;
  /** CONNECTED ok or ACCEPTED was sent. */
  open: boolean;
  /** Bytes the Keep will still take (SOCKET_WINDOW, less what was sent, plus SOCKET_CREDIT). */
  credit: number;
  /** Bytes from the peer waiting for credit. */
  pending: Uint8Array[];
  /** The Keep sent SOCKET_CLOSE. */
  keepClosed: boolean;
  /** The host sent SOCKET_CLOSED. */
  hostClosed: boolean;
  /** The peer's side ended (FIN), or the socket closed. */
  tcpEnded: boolean;
  /** The socket closed (both ways, or after an error): nothing more can be written. */
  tcpGone: boolean;
  /** Its socket's buffer is full: the host waits for 'drain' before it reads the channel. */
  blocking: boolean;
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
