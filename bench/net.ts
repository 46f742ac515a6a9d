/**
 * Network benchmark (issue 6): requests per second and download rate through
 * a Keep's TLS listen socket, against the same C service natively and against
 * a plain Node TLS server, all measured by one client in this process.
 *
 *   node bench/net.ts [--segment S] [--warmup S] [--rounds N] [--concurrency 1,16]
 *                     [--mib N] [--reps N] [--json]
 *
 * Servers, each a child process started here and stopped on every way out:
 * - keep: examples/https-hello.wasm in a sandbox Keep, `donjon run --backend
 *   sandbox --config examples/https-hello.toml` (self-signed Keep certificate,
 *   no Steward): TLS 1.3 ends inside the Keep; the host relays records.
 * - native: the same C built with gcc -O2 (bench/out/native/https-hello,
 *   `scripts/build-wasm.sh --native`, made here when missing or stale). It
 *   binds its own port and speaks **plain HTTP**: there is no native build
 *   with TLS, and none is invented here.
 * - node: bench/net-node-server.ts, Node's `https.createServer` with the same
 *   routes and the same kind of certificate (P-384, self-signed).
 *
 * Measures: keep-alive GET / with C connections each sending one request at
 * a time (closed loop), for each C in --concurrency; and GET /bytes?n=N
 * downloads on a fresh connection each (timed from the request to the last
 * byte, handshake excluded), median of --reps. Servers are interleaved
 * (A B C, C B A, …) so that drifting machine load hits them alike. CPU time
 * of the client and of each server's processes (the Keep's split by thread:
 * its I/O thread, the worker running the guest, the rest) is read from
 * /proc around every measured span, to show where the time goes.
 *
 * The client is deliberately small (a raw HTTP/1.1 reader over `net`/`tls`
 * sockets, no `http.Agent`) so that its own cost stays low and identical for
 * every server. It checks every answer: status 200, Content-Length, the start
 * of the body, and no byte past the body.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as tls from "node:tls";
import { median } from "./_stats.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const NODE = process.execPath;
const CLI = path.join(ROOT, "packages/cli/bin/donjon.js");
const EXAMPLE = path.join(ROOT, "examples/https-hello");
const NATIVE = path.join(ROOT, "bench/out/native/https-hello");
const NODE_SERVER = path.join(ROOT, "bench/net-node-server.ts");

/** The three servers, as the report names them. */
export const NET_SERVERS = {
  keep: "*Keep (TLS inside)*: `examples/https-hello.wasm` in a sandbox Keep (`donjon run --backend sandbox --config examples/https-hello.toml`, self-signed Keep certificate, no Steward); TLS 1.3 ends inside the Keep, the host relays records",
  native:
    "*native (plain HTTP)*: the same C built with gcc -O2 (`bench/out/native/https-hello`); **no TLS** — there is no native TLS build of the service",
  node: "*plain Node TLS*: Node's `https.createServer` serving the same routes (`bench/net-node-server.ts`, self-signed P-384 certificate); TLS 1.3 in Node, no Keep",
} as const;
export type NetServer = keyof typeof NET_SERVERS;
const SERVERS = Object.keys(NET_SERVERS) as NetServer[];

/** What one run measures; every field is required (`defaultNetOptions` fills them). */
export interface NetOptions {
  /** Seconds measured per server and concurrency in each round. */
  segmentS: number;
  /** Seconds of requests before each measured segment, on the same connections. */
  warmupS: number;
  /** Rounds of the request benchmark (servers interleaved within each). */
  rounds: number;
  /** Connections sending requests at once, one row each. */
  concurrency: number[];
  /** Size of each /bytes download, MiB. */
  mib: number;
  /** Timed downloads per server, after one discarded. */
  reps: number;
}

export function defaultNetOptions(quick = false): NetOptions {
  return quick
    ? { segmentS: 0.3, warmupS: 0.1, rounds: 1, concurrency: [1, 16], mib: 4, reps: 1 }
    : { segmentS: 1, warmupS: 0.25, rounds: 3, concurrency: [1, 16], mib: 64, reps: 5 };
}

/** CPU milliseconds by part: `client`, and the server's processes (see `cpuParts`). */
export type Cpu = Record<string, number>;

export interface RpsRow {
  server: NetServer;
  concurrency: number;
  /** Requests answered over seconds measured, all rounds together. */
  rate: number;
  /** The rate of each round. */
  rounds: number[];
  requests: number;
  /** CPU µs per request, by part. */
  cpuUsPerRequest: Cpu;
  /** Time from request to answer, ms: median, 99th percentile, slowest. */
  latencyMs: { p50: number; p99: number; max: number };
}

export interface DownloadRow {
  server: NetServer;
  /** MiB/s of each timed download, request to last byte. */
  mibPerS: number[];
  median: number;
  /** CPU ms per MiB, by part (all timed downloads together). */
  cpuMsPerMiB: Cpu;
}

export interface NetBenchResult {
  options: NetOptions;
  machine: { date: string; node: string; cpu: string; cores: number; load: [number, number] };
  /** Protocol and cipher each server negotiated with the client ("plain HTTP" natively). */
  transport: Record<NetServer, string>;
  /** From the spawn to the first answer to GET /, ms. */
  startMs: Record<NetServer, number>;
  rps: RpsRow[];
  download: DownloadRow[];
  elapsedS: number;
  /** Clock ticks per second of the CPU figures (their resolution). */
  clkTck: number;
}

// ---- servers ----------------------------------------------------------------

/** Kernel clock ticks per second, the unit of /proc/PID/stat's CPU times (asked once). */
let clkTck = 0;
function CLK_TCK(): number {
  if (clkTck === 0) {
    const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
    const n = Number(r.stdout?.trim());
    clkTck = Number.isInteger(n) && n > 0 ? n : 100;
  }
  return clkTck;
}

/**
 * The server's children die with it where util-linux's setpriv exists
 * (PR_SET_PDEATHSIG), so that even a SIGKILL of this process leaves no
 * server behind; the "exit" handler below covers every other way out.
 */
const SETPRIV = fs.existsSync("/usr/bin/setpriv")
  ? ["/usr/bin/setpriv", "--pdeathsig", "KILL", "--"]
  : [];

export interface Running {
  name: NetServer;
  child: ChildProcess;
  port: number;
  tls: boolean;
  /** stderr (and stdout) so far, for error messages. */
  log: () => string;
}

const running = new Set<Running>();

/** Every process below `pid` (children first found through /proc/PID/task/TID/children). */
export function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number) => {
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = "";
      try {
        kids = fs.readFileSync(`/proc/${p}/task/${t}/children`, "utf8");
      } catch {}
      for (const k of kids.split(" ").filter(Boolean).map(Number)) {
        out.push(k);
        walk(k);
      }
    }
  };
  walk(pid);
  return out;
}

/** SIGKILL a server's process group and whatever of its tree left the group (bwrap's new session). */
function killNow(r: Running): void {
  const pid = r.child.pid;
  if (pid === undefined) return;
  const tree = descendants(pid);
  try {
    process.kill(-pid, "SIGKILL");
  } catch {}
  for (const p of tree) {
    try {
      process.kill(p, "SIGKILL");
    } catch {}
  }
  running.delete(r);
}

let cleanupInstalled = false;

/** Kill the servers on every way out of this process (installed by the first benchNet). */
export function installCleanup(): void {
  if (cleanupInstalled) return;
  cleanupInstalled = true;
  process.on("exit", () => {
    for (const r of running) killNow(r);
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => process.exit(128 + os.constants.signals[sig]));
  }
}

/** Stop a server: SIGTERM to its group, SIGKILL to its whole tree after 2 s. */
export async function stop(r: Running): Promise<void> {
  const pid = r.child.pid;
  if (pid === undefined || r.child.exitCode !== null || r.child.signalCode !== null) {
    running.delete(r);
    return;
  }
  const tree = descendants(pid);
  const exited = new Promise<void>((resolve) => r.child.once("close", () => resolve()));
  try {
    process.kill(-pid, "SIGTERM");
  } catch {}
  const timer = setTimeout(() => killNow(r), 2000);
  await exited;
  clearTimeout(timer);
  // The Keep's bwrap runs in a session of its own: it dies with the host (--die-with-parent); make sure.
  for (const p of tree) {
    try {
      process.kill(p, "SIGKILL");
    } catch {}
  }
  running.delete(r);
}

/** Build bench/out/native/https-hello with gcc -O2 when it is missing or older than its source. */
export function ensureNativeServer(): void {
  const src = `${EXAMPLE}.c`;
  if (fs.existsSync(NATIVE) && fs.statSync(NATIVE).mtimeMs >= fs.statSync(src).mtimeMs) return;
  fs.mkdirSync(path.dirname(NATIVE), { recursive: true });
  process.stderr.write(`bench/net: gcc -O2 ${path.relative(ROOT, src)}\n`);
  const flags = ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"];
  const r = spawnSync("gcc", [...flags, "-o", NATIVE, src, "-lm"], { stdio: "inherit" });
  if (r.status !== 0) throw new Error("bench/net: cannot build examples/https-hello.c natively");
}

/** Start a server and wait for the line that names its port. */
export function start(name: NetServer, stateHome: string): Promise<Running> {
  let argv: string[];
  let listening: RegExp;
  switch (name) {
    case "keep":
      // -q goes to the guest: no log line per request.
      argv = [
        NODE,
        CLI,
        "run",
        "--backend",
        "sandbox",
        "--config",
        `${EXAMPLE}.toml`,
        `${EXAMPLE}.wasm`,
        "-q",
      ];
      listening = /listening on https:\/\/127\.0\.0\.1:(\d+) /;
      break;
    case "native":
      argv = [NATIVE, "-q", "0"];
      listening = /listening on 127\.0\.0\.1:(\d+) /;
      break;
    case "node":
      argv = [NODE, NODE_SERVER, "0"];
      listening = /listening on 127\.0\.0\.1:(\d+)$/m;
      break;
  }
  const full = [...SETPRIV, ...argv];
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && k !== "NODE_COMPILE_CACHE" && k !== "NODE_OPTIONS") env[k] = v;
  }
  env.XDG_STATE_HOME = stateHome;
  const child = spawn(full[0]!, full.slice(1), {
    // detached: a process group of its own, which stop() signals as one.
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    env,
  });
  let text = "";
  const r: Running = { name, child, port: 0, tls: name !== "native", log: () => text.slice(-4000) };
  running.add(r);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error("no listening line in 30 s")), 30_000);
    const fail = (e: Error) => {
      clearTimeout(timer);
      killNow(r);
      reject(new Error(`bench/net: ${name} server: ${e.message}\n${text}`));
    };
    const seen = (chunk: Buffer) => {
      text += chunk.toString();
      const m = listening.exec(text);
      if (m && r.port === 0) {
        r.port = Number(m[1]);
        clearTimeout(timer);
        resolve(r);
      }
    };
    child.stdout!.on("data", seen);
    child.stderr!.on("data", seen);
    child.on("error", fail);
    child.on("close", (code, signal) => {
      if (r.port === 0) fail(new Error(`exited (${signal ?? `status ${code}`}) before listening`));
    });
  });
}

/** CPU ticks of a server's processes by part: the root (`server`, or the Keep's `host`) and, under it, the Keep's threads. */
function cpuParts(r: Running): Cpu {
  const out: Cpu = {};
  const add = (k: string, ticks: number) => {
    out[k] = (out[k] ?? 0) + (ticks * 1000) / CLK_TCK();
  };
  const ticksOf = (stat: string) => {
    // Fields after the ")" that ends comm: state is field 3, utime 14, stime 15.
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(f[11]) + Number(f[12]);
  };
  const pid = r.child.pid!;
  try {
    add(
      r.name === "keep" ? "host" : "server",
      ticksOf(fs.readFileSync(`/proc/${pid}/stat`, "utf8")),
    );
  } catch {}
  for (const p of descendants(pid)) {
    let tids: string[];
    try {
      tids = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const t of tids) {
      try {
        const comm = fs.readFileSync(`/proc/${p}/task/${t}/comm`, "utf8").trim();
        const part =
          comm === "MainThread"
            ? "Keep I/O thread"
            : comm === "WorkerThread"
              ? "Keep worker"
              : "Keep other";
        add(part, ticksOf(fs.readFileSync(`/proc/${p}/task/${t}/stat`, "utf8")));
      } catch {}
    }
  }
  return out;
}

function cpuNow(r: Running): Cpu {
  const u = process.cpuUsage();
  return { client: (u.user + u.system) / 1000, ...cpuParts(r) };
}

function cpuSince(a: Cpu, b: Cpu, per: number): Cpu {
  const out: Cpu = {};
  for (const k of Object.keys(b)) out[k] = ((b[k] ?? 0) - (a[k] ?? 0)) / per;
  return out;
}

function addCpu(into: Cpu, more: Cpu): void {
  for (const [k, v] of Object.entries(more)) into[k] = (into[k] ?? 0) + v;
}

// ---- the client ------------------------------------------------------------

/** One answer: status, body length, and its first bytes. */
export interface Answer {
  status: number;
  length: number;
  head: Buffer;
}

const HEADER_END = Buffer.from("\r\n\r\n");

/**
 * One keep-alive HTTP/1.1 connection that sends a request, reads its answer
 * (Content-Length framing only, as the servers send), then the next.
 */
export class Conn {
  readonly socket: net.Socket;
  readonly transport: string;
  #pending: Buffer | null = null;
  #left = -1;
  #answer: Answer | null = null;
  #done: ((a: Answer) => void) | null = null;
  #fail: ((e: Error) => void) | null = null;
  #error: Error | null = null;

  private constructor(socket: net.Socket, transport: string) {
    this.socket = socket;
    this.transport = transport;
    socket.on("data", (c: Buffer) => this.#data(c));
    const broke = (e: Error) => {
      this.#error ??= e;
      this.#fail?.(e);
      this.#done = this.#fail = null;
    };
    socket.on("error", broke);
    socket.on("close", () => broke(new Error("connection closed by the server")));
  }

  static open(r: Running): Promise<Conn> {
    return new Promise((resolve, reject) => {
      if (r.tls) {
        // Self-signed certificates (the Keep's own, no Steward): nothing to verify them against.
        const s = tls.connect(
          { host: "127.0.0.1", port: r.port, rejectUnauthorized: false },
          () => {
            s.removeListener("error", reject);
            s.setNoDelay(true);
            resolve(new Conn(s, `${s.getProtocol()} ${s.getCipher().standardName}`));
          },
        );
        s.once("error", reject);
      } else {
        const s = net.connect({ host: "127.0.0.1", port: r.port }, () => {
          s.removeListener("error", reject);
          s.setNoDelay(true);
          resolve(new Conn(s, "TCP, no TLS"));
        });
        s.once("error", reject);
      }
    });
  }

  get(target: string): Promise<Answer> {
    if (this.#error) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => {
      this.#done = resolve;
      this.#fail = reject;
      this.socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    });
  }

  #data(c: Buffer): void {
    if (this.#done === null) {
      this.#broken(`${c.length} bytes arrived with no request outstanding`);
      return;
    }
    if (this.#answer === null) {
      const buf = this.#pending ? Buffer.concat([this.#pending, c]) : c;
      const end = buf.indexOf(HEADER_END);
      if (end < 0) {
        if (buf.length > 8192) this.#broken("a response head over 8 KiB");
        this.#pending = buf;
        return;
      }
      this.#pending = null;
      const head = buf.subarray(0, end).toString("latin1");
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(head)?.[1] ?? 0);
      const len = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (!len) {
        this.#broken(`no Content-Length in ${JSON.stringify(head)}`);
        return;
      }
      this.#left = Number(len[1]);
      this.#answer = { status, length: this.#left, head: Buffer.alloc(0) };
      c = buf.subarray(end + 4);
    }
    const a = this.#answer;
    if (a.head.length < 64 && c.length > 0)
      a.head = Buffer.concat([a.head, c.subarray(0, 64 - a.head.length)]);
    this.#left -= c.length;
    if (this.#left < 0) {
      this.#broken(`${-this.#left} bytes past the body`);
      return;
    }
    if (this.#left === 0) {
      const done = this.#done;
      this.#answer = null;
      this.#done = this.#fail = null;
      done(a);
    }
  }

  #broken(why: string): void {
    const e = new Error(`bench/net client: ${why}`);
    this.#error = e;
    this.#fail?.(e);
    this.#done = this.#fail = null;
    this.socket.destroy();
  }

  close(): void {
    this.socket.removeAllListeners("close");
    this.socket.on("error", () => {});
    this.socket.destroy();
  }
}

const now = () => performance.now();

export function checkPage(s: NetServer, a: Answer): void {
  if (a.status !== 200 || a.length === 0 || !a.head.toString().startsWith("Hello from"))
    throw new Error(`bench/net: ${s} answered GET / with ${a.status}: ${a.head}`);
}

/** Open `n` connections (in parallel; handshakes are not timed). */
async function openAll(r: Running, n: number): Promise<Conn[]> {
  return Promise.all(Array.from({ length: n }, () => Conn.open(r)));
}

/**
 * Each connection sends GET / after GET / until `until`; how many answers
 * came. With `latencies`, each answer's time from request to last byte (ms)
 * is pushed to it.
 */
async function hammer(
  s: NetServer,
  conns: Conn[],
  until: number,
  latencies?: number[],
): Promise<number> {
  let n = 0;
  await Promise.all(
    conns.map(async (c) => {
      for (let t = now(); t < until; ) {
        checkPage(s, await c.get("/"));
        const t1 = now();
        latencies?.push(t1 - t);
        t = t1;
        n++;
      }
    }),
  );
  return n;
}

/** The first answer to GET / after the server said it listens (a Keep boots its worker meanwhile). */
async function firstAnswer(r: Running): Promise<void> {
  const c = await Conn.open(r);
  try {
    checkPage(r.name, await c.get("/"));
  } finally {
    c.close();
  }
}

async function download(r: Running, bytes: number): Promise<{ ms: number; transport: string }> {
  const c = await Conn.open(r);
  try {
    const t0 = now();
    const a = await c.get(`/bytes?n=${bytes}`);
    const ms = now() - t0;
    if (a.status !== 200 || a.length !== bytes || !a.head.toString().startsWith("0123456789abcdef"))
      throw new Error(`bench/net: ${r.name} /bytes: ${a.status}, ${a.length} bytes, ${a.head}`);
    return { ms, transport: c.transport };
  } finally {
    c.close();
  }
}

// ---- the benchmark ---------------------------------------------------------

function cpuModel(): string {
  try {
    const m = /^model name\s*:\s*(.*)$/m.exec(fs.readFileSync("/proc/cpuinfo", "utf8"));
    if (m) return m[1]!.trim();
  } catch {}
  return os.cpus()[0]?.model ?? "unknown";
}

/** Scratch for the Keep's state (sandbox key, compile cache): tmpfs when there is one. */
function scratchDir(): string {
  let base = os.tmpdir();
  try {
    fs.accessSync("/dev/shm", fs.constants.W_OK);
    base = "/dev/shm";
  } catch {}
  return fs.mkdtempSync(path.join(base, "donjon-bench-net-"));
}

/** Run the benchmark: start the three servers, measure, stop them. */
export async function benchNet(
  o: NetOptions,
  log: (s: string) => void = () => {},
): Promise<NetBenchResult> {
  installCleanup();
  const t0 = now();
  const date = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const load0 = os.loadavg()[0]!;
  for (const f of [`${EXAMPLE}.wasm`, `${EXAMPLE}.toml`, CLI, NODE_SERVER])
    if (!fs.existsSync(f)) throw new Error(`bench/net: ${path.relative(ROOT, f)} missing`);
  ensureNativeServer();
  const scratch = scratchDir();
  const servers = new Map<NetServer, Running>();
  try {
    const startMs = {} as Record<NetServer, number>;
    for (const s of SERVERS) {
      const ts = now();
      const r = await start(s, path.join(scratch, "state"));
      servers.set(s, r);
      await firstAnswer(r);
      startMs[s] = now() - ts;
      // Every process of the server (the Keep's tree is complete once it answers): bench/net.test.ts checks they all go.
      log(
        `  ${s}: 127.0.0.1:${r.port}, pids ${[r.child.pid!, ...descendants(r.child.pid!)].join(" ")}`,
      );
    }
    const order = (round: number) => (round % 2 === 0 ? SERVERS : [...SERVERS].reverse());

    // Requests per second.
    const rps: RpsRow[] = [];
    for (const c of o.concurrency) {
      const rows = new Map<NetServer, RpsRow & { seconds: number; cpu: Cpu; lat: number[] }>();
      for (const s of SERVERS)
        rows.set(s, {
          server: s,
          concurrency: c,
          rate: 0,
          rounds: [],
          requests: 0,
          cpuUsPerRequest: {},
          latencyMs: { p50: 0, p99: 0, max: 0 },
          seconds: 0,
          cpu: {},
          lat: [],
        });
      for (let round = 0; round < o.rounds; round++) {
        for (const s of order(round)) {
          const r = servers.get(s)!;
          const conns = await openAll(r, c);
          try {
            await hammer(s, conns, now() + o.warmupS * 1000);
            const cpu0 = cpuNow(r);
            const ta = now();
            const row = rows.get(s)!;
            const n = await hammer(s, conns, ta + o.segmentS * 1000, row.lat);
            const seconds = (now() - ta) / 1000;
            row.requests += n;
            row.seconds += seconds;
            row.rounds.push(n / seconds);
            addCpu(row.cpu, cpuSince(cpu0, cpuNow(r), 1));
          } finally {
            for (const x of conns) x.close();
          }
        }
      }
      for (const row of rows.values()) {
        const { seconds, cpu, lat, ...rest } = row;
        rest.rate = row.requests / seconds;
        lat.sort((a, b) => a - b);
        rest.latencyMs = {
          p50: lat[lat.length >> 1]!,
          p99: lat[Math.min(lat.length - 1, Math.floor(lat.length * 0.99))]!,
          max: lat[lat.length - 1]!,
        };
        for (const [k, v] of Object.entries(cpu))
          rest.cpuUsPerRequest[k] = (v * 1000) / row.requests;
        rps.push(rest);
      }
      log(
        `  GET / over ${c} connection${c === 1 ? "" : "s"}: ${SERVERS.map((s) => `${s} ${Math.round(rows.get(s)!.requests / rows.get(s)!.seconds)}/s`).join(", ")}`,
      );
    }

    // Downloads.
    const bytes = o.mib * 2 ** 20;
    const transport = {} as Record<NetServer, string>;
    const rates = new Map<NetServer, number[]>(SERVERS.map((s) => [s, []]));
    const cpus = new Map<NetServer, Cpu>(SERVERS.map((s) => [s, {}]));
    for (const s of SERVERS) transport[s] = (await download(servers.get(s)!, bytes)).transport;
    for (let rep = 0; rep < o.reps; rep++) {
      for (const s of order(rep)) {
        const r = servers.get(s)!;
        const cpu0 = cpuNow(r);
        const { ms } = await download(r, bytes);
        addCpu(cpus.get(s)!, cpuSince(cpu0, cpuNow(r), o.mib * o.reps));
        rates.get(s)!.push(o.mib / (ms / 1000));
      }
    }
    const dl: DownloadRow[] = SERVERS.map((s) => ({
      server: s,
      mibPerS: rates.get(s)!,
      median: median(rates.get(s)!),
      cpuMsPerMiB: cpus.get(s)!,
    }));
    log(
      `  /bytes?n=${bytes}: ${dl.map((d) => `${d.server} ${d.median.toFixed(0)} MiB/s`).join(", ")}`,
    );

    return {
      options: o,
      machine: {
        date,
        node: process.version,
        cpu: cpuModel(),
        cores: os.cpus().length,
        load: [load0, os.loadavg()[0]!],
      },
      transport,
      startMs,
      rps,
      download: dl,
      elapsedS: (now() - t0) / 1000,
      clkTck: CLK_TCK(),
    };
  } finally {
    await Promise.all([...servers.values()].map(stop));
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

// ---- the report ---------------------------------------------------------------

/** "1.23×" */
const x = (a: number, b: number) => `${(a / b).toFixed(3)}×`;

/** ±half the min–max range, in percent of the median. */
function spread(xs: number[]): string {
  if (xs.length < 2) return "";
  return ` ±${(((Math.max(...xs) - Math.min(...xs)) / 2 / median(xs)) * 100).toFixed(1)}%`;
}

function cpuCell(c: Cpu, digits: number): string {
  const order = ["client", "server", "host", "Keep I/O thread", "Keep worker", "Keep other"];
  return order
    .filter((k) => c[k] !== undefined)
    .map((k) => `${k} ${c[k]!.toFixed(digits)}`)
    .join(", ");
}

/** Short names for the table rows; NET_SERVERS says what each is. */
const LABEL: Record<NetServer, string> = {
  keep: "Keep (TLS inside)",
  native: "native (plain HTTP)",
  node: "plain Node TLS",
};

/** The result as a Markdown section for docs/BENCHMARKS.md. */
export function netSection(r: NetBenchResult): string {
  const o = r.options;
  const m = r.machine;
  const plural = (c: number) => `${c} connection${c === 1 ? "" : "s"}`;
  const rateOf = (s: NetServer, c: number) =>
    r.rps.find((x) => x.server === s && x.concurrency === c)!;
  const dlOf = (s: NetServer) => r.download.find((d) => d.server === s)!;
  const ms = (v: number) => (v >= 10 ? v.toFixed(0) : v >= 1 ? v.toFixed(1) : v.toFixed(2));
  const rpsRows = o.concurrency.flatMap((c) =>
    SERVERS.map((s) => {
      const row = rateOf(s, c);
      const l = row.latencyMs;
      return `| ${plural(c)} | ${LABEL[s]} | ${Math.round(row.rate).toLocaleString("en")}${spread(row.rounds)} | ${s === "keep" ? "—" : x(rateOf("keep", c).rate, row.rate)} | ${ms(l.p50)} / ${ms(l.p99)} / ${ms(l.max)} ms | ${cpuCell(row.cpuUsPerRequest, 0)} |`;
    }),
  );
  const dlRows = SERVERS.map((s) => {
    const d = dlOf(s);
    return `| ${LABEL[s]} | ${d.median.toFixed(0)} MiB/s${spread(d.mibPerS)} | ${s === "keep" ? "—" : x(dlOf("keep").median, d.median)} | ${cpuCell(d.cpuMsPerMiB, 2)} |`;
  });
  const ratio = (what: string, keep: number, native: number, node: number) =>
    `| ${what} | ${x(keep, native)} | ${x(keep, node)} |`;
  return [
    "## Network: requests/s and MiB/s through a Keep's TLS listen socket (`bench/net.ts`)",
    "",
    `Measured ${m.date}: Node ${m.node}, ${m.cpu}, ${m.cores} cores; load average ${m.load[0].toFixed(2)} at start, ${m.load[1].toFixed(2)} at the end (1 min); ${r.elapsedS.toFixed(0)} s in all. Servers, each a child process on 127.0.0.1, against one client in the bench process (a raw HTTP/1.1 reader over \`net\`/\`tls\` that checks every answer), all on the same cores:`,
    "",
    ...SERVERS.map(
      (s) =>
        `- ${NET_SERVERS[s]}; negotiated: ${r.transport[s]}; first answer ${r.startMs[s].toFixed(0)} ms after the spawn`,
    ),
    "",
    `Requests: keep-alive GET / (a ~300-byte page), each connection one request at a time; ${o.rounds} round${o.rounds === 1 ? "" : "s"} of ${o.segmentS} s per server and connection count, each after ${o.warmupS} s of warm-up on the same connections, servers interleaved. The rate is all answers over all measured time (± half the range of the per-round rates); latency is request to last byte. Downloads: GET /bytes?n=${o.mib * 2 ** 20} on a fresh connection, timed from the request to the last byte (handshake excluded), median of ${o.reps} after one discarded. CPU comes from /proc (${r.clkTck} Hz ticks) around the measured spans: *client* is the bench process; *server* the server's process; for the Keep, *host* is \`donjon run\`'s process (relay) and the Keep process is split by thread: *I/O thread* (TLS, the socket bridge, the channel), *worker* (the guest), *other* (V8's helper threads: GC, compiler). No goal is set: the figures answer issue 6's question, Keep / other (below 1: the Keep is slower).`,
    "",
    "| GET / over | server | requests/s | Keep / this | latency p50 / p99 / max | CPU µs per request |",
    "| --- | --- | --- | --- | --- | --- |",
    ...rpsRows,
    "",
    `| ${o.mib} MiB download | rate | Keep / this | CPU ms per MiB |`,
    "| --- | --- | --- | --- |",
    ...dlRows,
    "",
    "| Keep / … | native (plain HTTP) | plain Node TLS |",
    "| --- | --- | --- |",
    ...o.concurrency.map((c) =>
      ratio(
        `requests/s, ${plural(c)}`,
        rateOf("keep", c).rate,
        rateOf("native", c).rate,
        rateOf("node", c).rate,
      ),
    ),
    ratio("download MiB/s", dlOf("keep").median, dlOf("native").median, dlOf("node").median),
    "",
  ].join("\n");
}

/** The ratios as lines for the Goals list at the end of docs/BENCHMARKS.md (no goal set). */
export function netRatios(r: NetBenchResult): string[] {
  const rate = (s: NetServer, c: number) =>
    r.rps.find((x) => x.server === s && x.concurrency === c)!.rate;
  const dl = (s: NetServer) => r.download.find((d) => d.server === s)!.median;
  return [
    ...r.options.concurrency.map(
      (c) =>
        `network, GET / requests/s over ${c} connection${c === 1 ? "" : "s"}, Keep / native (plain HTTP): ${x(rate("keep", c), rate("native", c))}; Keep / plain Node TLS: ${x(rate("keep", c), rate("node", c))} (no goal set)`,
    ),
    `network, ${r.options.mib} MiB download MiB/s, Keep / native (plain HTTP): ${x(dl("keep"), dl("native"))}; Keep / plain Node TLS: ${x(dl("keep"), dl("node"))} (no goal set)`,
  ];
}

// ---- command line ------------------------------------------------------------

function parseArgs(argv: string[]): { o: NetOptions; json: boolean } {
  const o = defaultNetOptions(argv.includes("--quick"));
  let json = false;
  const num = (name: string, v: string | undefined, int: boolean): number => {
    const n = Number(v);
    if (!(n > 0) || (int && !Number.isInteger(n))) {
      process.stderr.write(
        `bench/net: ${name} takes a positive ${int ? "integer" : "number"}, got ${v}\n`,
      );
      process.exit(2);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--json") json = true;
    else if (a === "--quick") {
    } else if (a === "--segment") o.segmentS = num(a, argv[++i], false);
    else if (a === "--warmup") o.warmupS = num(a, argv[++i], false);
    else if (a === "--rounds") o.rounds = num(a, argv[++i], true);
    else if (a === "--mib") o.mib = num(a, argv[++i], true);
    else if (a === "--reps") o.reps = num(a, argv[++i], true);
    else if (a === "--concurrency")
      o.concurrency = (argv[++i] ?? "").split(",").map((c) => num(a, c, true));
    else {
      process.stderr.write(
        "usage: node bench/net.ts [--quick] [--segment S] [--warmup S] [--rounds N] [--concurrency 1,16] [--mib N] [--reps N] [--json]\n",
      );
      process.exit(2);
    }
  }
  return { o, json };
}

if (import.meta.main) {
  const { o, json } = parseArgs(process.argv.slice(2));
  const r = await benchNet(o, (s) => process.stderr.write(`${s}\n`));
  process.stdout.write(json ? `${JSON.stringify(r)}\n` : netSection(r));
}
