/**
 * `donjon run`: run a WASI preview1 command module on a Keep backend (today:
 * `nil`, in this process). Everything the guest gets is declared by flags and
 * Donjon.toml; nothing is inherited from the host.
 *
 * Order of work: parse the command line, read the config, check the module
 * (header and sections, memory against the limit, imports against the host,
 * then full validation by the engine, then the exports a command needs),
 * build the plan, run, report.
 */
import * as path from "node:path";
import type { PlatformPort } from "@donjon/keep";
import { KeepError } from "@donjon/keep/error";
import type { GuestPlan, Outcome, StdioKind } from "@donjon/keep/guest";
import type { KeepResult } from "@donjon/keep/host";
import { type PreparedModule, prepareModule } from "@donjon/keep/module";
import type { NetEntry } from "@donjon/keep/net-config";
import type { StdinSource } from "@donjon/keep/stdin-bridge";
import { PAGE_SIZE } from "@donjon/keep/wasm";
import { BACKEND_CHOICES } from "../_backends.ts";
import type { Config } from "../_config.ts";
import { formatDuration, formatMiB, MAX_MEMORY_LIMIT } from "../_units.ts";
import type { WorkerResult } from "../_worker_host.ts";
import { CliError } from "../error.ts";
import { type DirFlag, parseRunArgs } from "./_run_args.ts";

/** What `donjon run` needs from the process; `main` makes the real one. */
export interface RunContext {
  /** Directory that relative paths on the command line are resolved against. */
  cwd: string;
  /** Write to the host's stdout (help). */
  out(text: string): void;
  /** Write to the host's stderr (notes and hints; errors are thrown). */
  err(text: string): void;
  /** Read a whole file. Throws a Node-style error with `code` (ENOENT, EISDIR…). */
  readFile(path: string): Uint8Array<ArrayBuffer>;
  /** What is at `path`, following symlinks. */
  kindOf(path: string): "directory" | "file" | "missing";
  /** The host's stdin, read asynchronously; opened only when a guest in a worker reads it. */
  openStdin(): StdinSource;
  /** Write bytes to the host's stdout / stderr (a Keep's relayed output). */
  writeOut(bytes: Uint8Array): void;
  writeErr(bytes: Uint8Array): void;
  /** Make a directory (and its parents) with mode 0700 if it is missing. */
  makeDir(path: string): void;
  /** Write a whole file (mode 0644), replacing it. */
  writeFile(path: string, bytes: Uint8Array): void;
  /** The machine, for choosing a backend. */
  platform(): Promise<PlatformPort>;
  /** Donjon's state directory (the sandbox key lives there): $XDG_STATE_HOME/donjon or ~/.local/state/donjon. */
  stateDir: string;
  /** The Node binary that runs Keeps. */
  nodePath: string;
}

export const RUN_HELP = `Usage: donjon run [OPTIONS] MODULE.wasm [ARGS...]

Run a WASI preview1 command module. Everything after MODULE is passed to the
guest; the guest's argv[0] is MODULE's file name.

Options:
  --dir HOST[::GUEST]     Give the guest host directory HOST, read-write, at
                          GUEST (default: HOST; a relative HOST such as ./data
                          is seen at /data). Repeatable.
  --dir-ro HOST[::GUEST]  The same, read-only. Repeatable.
  --env KEY=VALUE         Set a guest environment variable. Repeatable.
  --config FILE           Read a Donjon.toml (or Enarx.toml): args, env,
                          [[files]], [[dirs]], [limits]. Flags add to it and
                          win over it.
  --backend NAME          Keep backend: ${BACKEND_CHOICES.join(", ")} (default auto:
                          the first of snp, tdx, sgx, sandbox this machine
                          can run; see donjon platform info). nil runs the
                          workload in this process: no isolation, no evidence.
  --max-memory SIZE       Limit the guest's linear memory: 256MiB, 1GiB, or a
                          byte count (default 4GiB, the wasm32 maximum). Past
                          it memory.grow fails, so malloc returns NULL.
  --timeout DURATION      Stop the guest after DURATION: 500ms, 10s, 2m, 1h
                          (default: no limit).
  --max-output SIZE       Stop the guest once it has written SIZE bytes to
                          stdout and stderr together (Keeps only; default: no
                          limit).
  --print-evidence FILE   Write the Keep's evidence (a JSON CMW collection:
                          evidence, certificates, Keep key, workload digests)
                          to FILE; check it with donjon attest verify.
  --steward URL           Attest to this Steward before the workload starts
                          (overrides Donjon.toml's steward): the Keep sends
                          its CSR and evidence over TLS that ends inside the
                          Keep (this host relays bytes only) and gets its
                          certificate; refused, the run ends with exit 1 and
                          the Steward's reasons. https://, or http:// on
                          localhost / 127.0.0.1 / ::1 only. Not with nil.
  --steward-ca FILE       The CA (PEM) the Steward's TLS certificate chains
                          to, e.g. ca.pem from donjon steward init. Required
                          for https:// (a Keep has no system roots).
  --print-cert FILE       Write the certificate chain the Steward issued
                          (PEM: the Keep's certificate, then the CA's) to FILE.
  -h, --help              Show this help.

Exit status: the guest's exit code (its proc_exit code & 255, as a process's);
134 when the guest traps; 124 when the time limit stops it; 1 when donjon
cannot run it (or a Keep failed or passed its output limit, or the Steward
refused it); 2 for a usage error or a backend that cannot run here.
`;

/** Run `donjon run` with `argv` (what follows `run`); resolve to the exit status. */
export async function run(argv: readonly string[], ctx: RunContext): Promise<number> {
  const a = parseRunArgs(argv);
  if (a.help) {
    ctx.out(RUN_HELP);
    return 0;
  }
  const backend = await chooseBackend(a.backend, ctx);
  if (backend === "nil") {
    ctx.err(
      "donjon: note: backend nil: the workload runs in this process, with no isolation and no evidence\n",
    );
    if (a.printEvidence !== null) {
      throw new CliError(
        "USAGE",
        "--print-evidence: backend nil has no evidence; use a Keep backend (sandbox, snp, tdx, sgx)",
      );
    }
  }
  const loaded = a.config === null ? null : await loadConfig(a.config, ctx);
  const config = loaded?.config ?? null;
  const steward = stewardTarget(a, config, backend, ctx);

  // Limits: flags win over the config; the memory default is all of wasm32.
  const memoryLimit = a.maxMemory ?? config?.limits.memory ?? MAX_MEMORY_LIMIT;
  const memorySource =
    a.maxMemory === null && config?.limits.memory != null
      ? `[limits] memory in ${a.config}`
      : "--max-memory";
  const timeout = a.timeout ?? config?.limits.time ?? null;
  const maxPages = Math.floor(memoryLimit / PAGE_SIZE);

  const modulePath = path.resolve(ctx.cwd, a.module);
  const bytes = readModuleFile(a.module, modulePath, ctx);
  let prepared: PreparedModule;
  try {
    prepared = await prepareModule(bytes, {
      maxPages,
      limitBytes: memoryLimit,
      name: a.module,
      limitSource: memorySource,
    });
  } catch (e) {
    if (e instanceof KeepError) {
      throw new CliError(
        MODULE_ERRORS[e.code as keyof typeof MODULE_ERRORS] ?? "INVALID_MODULE",
        e.message,
      );
    }
    throw e;
  }
  const { module, initial } = prepared;

  const plan = makePlan(a.module, a.args, a.env, a.dirs, config, ctx);
  const outputLimit = a.maxOutput ?? null;
  const net = config?.net.entries ?? [];
  if (backend === "nil" && net.length > 0) {
    throw new CliError(
      "USAGE",
      `${a.config}: [[files]] "${net[0]!.kind}" sockets need a Keep (TLS ends inside it, with its key); backend nil has none — use --backend sandbox (or snp, tdx, sgx)`,
    );
  }
  let result: WorkerResult | KeepResult;
  if (backend !== "nil") {
    result = await runInKeep(
      backend,
      {
        plan,
        bytes,
        // The bytes parsed above, not a second read: the Keep measures the very
        // file whose settings the host applied.
        configBytes: loaded?.bytes ?? new Uint8Array(0),
        maxPages,
        timeout,
        outputLimit,
        printEvidence: a.printEvidence === null ? null : path.resolve(ctx.cwd, a.printEvidence),
        steward,
        printCert: a.printCert === null ? null : path.resolve(ctx.cwd, a.printCert),
        net,
      },
      ctx,
    );
  } else if (timeout === null) {
    // No time limit: run on this thread. A worker costs tens of milliseconds
    // of start-up (a new isolate that loads the host's modules again; see
    // the package README for numbers), which only a time limit pays for.
    // Loaded here: a Keep backend runs the guest elsewhere and needs neither.
    const [{ runGuest }, { nodePlatform }] = await Promise.all([
      import("@donjon/keep/guest"),
      import("@donjon/keep/node-platform"),
    ]);
    result = runGuest(
      module,
      plan,
      await nodePlatform(plan, {
        warn: (message) => ctx.err(`donjon: ${message}\n`),
        bufferStdout: true,
      }),
    );
  } else {
    // Loaded only when needed: the TOML parser and worker_threads cost a
    // few milliseconds each of a ~50 ms cold start.
    const { runInWorker } = await import("../_worker_host.ts");
    result = await runInWorker(module, plan, { timeoutMs: timeout, openStdin: ctx.openStdin });
  }
  const explicit = a.maxMemory !== null || config?.limits.memory != null;
  return report(
    result,
    { memoryLimit, maxPages, memorySource, initial, explicit, timeout: timeout ?? 0 },
    ctx,
  );
}

/**
 * The Steward to attest to: `--steward` or Donjon.toml's `steward`, with the
 * CA from `--steward-ca`. A Keep has no system roots, so an https:// Steward
 * needs its CA; plain http:// is accepted on loopback only (the Steward
 * itself serves plain HTTP only there). Checked here so that mistakes are
 * usage errors before any Keep starts; the Keep checks START again.
 */
function stewardTarget(
  a: ReturnType<typeof parseRunArgs>,
  config: Config | null,
  backend: string,
  ctx: RunContext,
): { url: string; ca: string | null } | null {
  const given = a.steward ?? config?.steward ?? null;
  const from = a.steward !== null ? "--steward" : `steward in ${a.config}`;
  if (given === null) {
    for (const [flag, v] of [
      ["--steward-ca", a.stewardCa],
      ["--print-cert", a.printCert],
    ] as const) {
      if (v !== null) {
        throw new CliError(
          "USAGE",
          `${flag} needs a Steward: give --steward URL (or steward in Donjon.toml)`,
        );
      }
    }
    return null;
  }
  if (backend === "nil") {
    throw new CliError(
      "USAGE",
      `${from}: backend nil has no Keep, no key and no evidence to attest with; use a Keep backend (sandbox, snp, tdx, sgx)`,
    );
  }
  let url: URL;
  try {
    url = new URL(given);
  } catch {
    throw new CliError("USAGE", `${from}: ${JSON.stringify(given)} is not a URL`);
  }
  if (url.username !== "" || url.password !== "" || url.search !== "" || url.hash !== "") {
    throw new CliError(
      "USAGE",
      `${from}: ${given}: a Steward URL has no credentials, query or fragment`,
    );
  }
  const loopback = ["localhost", "[::1]"].includes(url.hostname) || /^127\./.test(url.hostname);
  if (url.protocol === "http:" && !loopback) {
    throw new CliError(
      "USAGE",
      `${from}: ${given}: plain http:// is for a Steward on this machine (localhost, 127.0.0.1, ::1) only; use https://`,
    );
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new CliError("USAGE", `${from}: ${given}: expected an https:// URL`);
  }
  if (a.stewardCa === null) {
    if (url.protocol === "https:") {
      throw new CliError(
        "USAGE",
        `${from}: ${given}: give --steward-ca FILE, the CA the Steward's TLS certificate chains to (ca.pem from donjon steward init): a Keep has no system roots`,
      );
    }
    return { url: url.href, ca: null };
  }
  let pem: string;
  try {
    pem = new TextDecoder("utf-8", { fatal: true }).decode(
      ctx.readFile(path.resolve(ctx.cwd, a.stewardCa)),
    );
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT")
      throw new CliError("NOT_FOUND", `--steward-ca ${a.stewardCa}: not found`);
    throw new CliError(
      "BAD_INPUT",
      `--steward-ca ${a.stewardCa}: cannot read it: ${(e as Error).message}`,
    );
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----") || pem.length > 32 * 1024) {
    throw new CliError(
      "BAD_INPUT",
      `--steward-ca ${a.stewardCa}: expected PEM certificates (-----BEGIN CERTIFICATE-----) of at most 32 KiB`,
    );
  }
  return { url: url.href, ca: pem };
}

/** The config file parsed, and its bytes as read (what a Keep's config digest covers). */
async function loadConfig(
  file: string,
  ctx: RunContext,
): Promise<{ config: Config; bytes: Uint8Array }> {
  const { parseConfig } = await import("../_config.ts");
  const abs = path.resolve(ctx.cwd, file);
  let bytes: Uint8Array;
  let text: string;
  try {
    bytes = ctx.readFile(abs);
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") throw new CliError("NOT_FOUND", `config file ${file} not found`);
    if (e instanceof TypeError) throw new CliError("CONFIG", `${file}: not valid UTF-8`);
    throw new CliError("CONFIG", `cannot read config file ${file}: ${(e as Error).message}`);
  }
  return { config: parseConfig(text, file, path.dirname(abs)), bytes };
}

function readModuleFile(given: string, abs: string, ctx: RunContext): Uint8Array<ArrayBuffer> {
  try {
    return ctx.readFile(abs);
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === "ENOENT") throw new CliError("NOT_FOUND", `module ${given} not found`);
    if (code === "EISDIR") throw new CliError("NOT_FOUND", `module ${given} is a directory`);
    throw new CliError("NOT_FOUND", `cannot read module ${given}: ${(e as Error).message}`);
  }
}

/** The CLI's codes for the Keep's module errors. */
const MODULE_ERRORS = {
  "keep.module.invalid": "INVALID_MODULE",
  "keep.module.memory": "MEMORY_LIMIT",
  "keep.module.import": "UNKNOWN_IMPORT",
} as const;

const DEFAULT_STDIO: StdioKind[] = ["stdin", "stdout", "stderr"];

/** Merge flags and config into what the guest gets. */
function makePlan(
  module: string,
  args: readonly string[],
  env: readonly [string, string][],
  dirFlags: readonly DirFlag[],
  config: Config | null,
  ctx: RunContext,
): GuestPlan {
  const files = config?.files ?? DEFAULT_STDIO.map((kind) => ({ kind, name: kind }));
  const stdio = [0, 1, 2].map((fd) => files[fd]?.kind ?? "null") as GuestPlan["stdio"];

  const guestEnv: Record<string, string> = {};
  if (config) {
    Object.assign(guestEnv, config.env);
    // As Enarx does: the workload learns its fds from the environment.
    guestEnv.FD_COUNT = String(files.length);
    guestEnv.FD_NAMES = files.map((f) => f.name).join(":");
  }
  for (const [k, v] of env) guestEnv[k] = v;

  const dirs: GuestPlan["dirs"] = [];
  for (const d of config?.dirs ?? []) {
    if (d.host !== null) checkDir(d.host, `[[dirs]] host ${d.host}`, ctx);
    dirs.push(d);
  }
  const flagged = new Set<string>();
  for (const d of dirFlags) {
    const flag = d.readonly ? "--dir-ro" : "--dir";
    if (flagged.has(d.guest)) {
      throw new CliError("USAGE", `${flag} ${d.host}: guest path ${d.guest} is mapped twice`);
    }
    flagged.add(d.guest);
    const host = path.resolve(ctx.cwd, d.host);
    checkDir(host, `${flag} ${d.host}`, ctx);
    // A flag replaces the config's entry for the same guest path.
    const i = dirs.findIndex((x) => x.guest === d.guest);
    const entry = { guest: d.guest, host, readonly: d.readonly };
    if (i >= 0) dirs[i] = entry;
    else dirs.push(entry);
  }

  return {
    args: [path.basename(module), ...(config?.args ?? []), ...args],
    env: guestEnv,
    stdio,
    dirs,
  };
}

function checkDir(host: string, what: string, ctx: RunContext): void {
  const kind = ctx.kindOf(host);
  if (kind === "missing") throw new CliError("NOT_FOUND", `${what}: no such directory`);
  if (kind !== "directory") throw new CliError("NOT_FOUND", `${what}: not a directory`);
}

interface Limits {
  memoryLimit: number;
  maxPages: number;
  memorySource: string;
  /** Initial memory in bytes. */
  initial: number;
  /** The limit was set by a flag or the config, not the default. */
  explicit: boolean;
  timeout: number;
}

/** Turn the outcome into an exit status, or a CliError for a trap or a limit. */
function report(result: WorkerResult | KeepResult, limits: Limits, ctx: RunContext): number {
  if (result.kind === "timeout" || (result.kind === "limit" && result.limit === "time")) {
    throw new CliError(
      "TIMEOUT",
      `time limit of ${formatDuration(limits.timeout)} reached; the workload was stopped (--timeout / [limits] time)`,
    );
  }
  if (result.kind === "limit" && result.limit === "output") {
    throw new CliError("OUTPUT_LIMIT", `${result.message} (--max-output)`);
  }
  if (result.kind === "limit") throw new CliError("MEMORY_LIMIT", result.message);
  if (result.kind === "crash") throw new CliError("KEEP", result.message);
  if (result.kind === "refused") {
    // One line per failed check, as the Steward stated it; the workload never ran.
    for (const c of result.checks) {
      ctx.err(
        `donjon: refused by the Steward: ${c.code}: expected ${c.expected}, actual ${c.actual}; ${c.remedy}\n`,
      );
    }
    if (result.checks.length === 0) ctx.err(`donjon: ${result.message}\n`);
    return 1;
  }
  if (result.kind === "error") {
    if ("code" in result) {
      // The Keep's own checks of the module repeat the host's; anything else is the Keep's failure.
      if (result.code === "keep.module.memory") throw new CliError("MEMORY_LIMIT", result.message);
      if (result.code.startsWith("keep.module."))
        throw new CliError("INVALID_MODULE", result.message);
      if (result.code.startsWith("keep.host") || result.code === "keep.setup") {
        throw new CliError("HOST_SETUP", result.message);
      }
      if (result.code.startsWith("keep.steward.") || result.code === "keep.relay") {
        throw new CliError(
          "KEEP",
          `attestation to the Steward failed: ${result.message} [${result.code}]; the workload did not run`,
        );
      }
      throw new CliError("KEEP", `the Keep stopped: ${result.message} [${result.code}]`);
    }
    throw new CliError("HOST_SETUP", result.message);
  }
  const hint = memoryHint(result, limits);
  if (result.kind === "trap") {
    throw new CliError("TRAP", `wasm trap: ${result.message}`, {
      details: [...result.frames.map((f) => `  ${f}`), ...(hint ? [hint] : [])],
    });
  }
  const status = result.code & 255;
  if (status !== 0 && hint) ctx.err(`${hint}\n`);
  return status;
}

/**
 * A line for a failed guest that may have run out of memory. The engine does
 * not say when memory.grow fails, so this is offered when the memory grew to
 * within an eighth of the limit, or when the user set a limit at all (one
 * large malloc fails without growing anything). It states both numbers so
 * the reader can judge.
 */
function memoryHint(
  result: Extract<Outcome, { kind: "exit" | "trap" }>,
  limits: Limits,
): string | null {
  const cap = limits.maxPages * PAGE_SIZE;
  const near =
    result.memory > limits.initial && cap - result.memory <= Math.max(PAGE_SIZE, cap / 8);
  if (!near && !limits.explicit) return null;
  return `donjon: note: the guest was using ${formatMiB(result.memory)} of memory under a limit of ${formatMiB(limits.memoryLimit)} (${limits.memorySource}); if it ran out, raise the limit`;
}

/** `auto` or a name → the backend to use; a backend that cannot run here is a usage-class error naming the fixes. */
async function chooseBackend(choice: string, ctx: RunContext): Promise<string> {
  if (choice === "nil") return "nil";
  const { pickBackend, probeBackends } = await import("@donjon/keep/backends");
  const { KeepError } = await import("@donjon/keep/error");
  const reports = await probeBackends(await ctx.platform());
  try {
    return pickBackend(choice as Parameters<typeof pickBackend>[0], reports).name;
  } catch (e) {
    if (!(e instanceof KeepError)) throw e;
    throw new CliError("BACKEND_UNAVAILABLE", e.message, {
      details: e.failed.map(
        (p) => `  ✗ ${p.name}: ${p.info}${p.remedy ? ` — fix: ${p.remedy}` : ""}`,
      ),
    });
  }
}

interface KeepRun {
  plan: GuestPlan;
  bytes: Uint8Array;
  configBytes: Uint8Array;
  maxPages: number;
  timeout: number | null;
  outputLimit: number | null;
  printEvidence: string | null;
  steward: { url: string; ca: string | null } | null;
  printCert: string | null;
  /** `[[files]]` listen and connect entries: the host binds and connects, the Keep speaks TLS. */
  net: NetEntry[];
}

/** Run the workload in a Keep process of `backend`. */
async function runInKeep(backend: string, r: KeepRun, ctx: RunContext): Promise<KeepResult> {
  const { runKeep } = await import("@donjon/keep/host");
  const platform = await ctx.platform();
  let stateDir: string | null = null;
  let compileCache: string | null = null;
  if (backend === "sandbox") {
    // The Keep loads and checks the key itself; the host only makes it once
    // (loading it here too would cost ~12 ms of every start).
    const keyPath = path.join(ctx.stateDir, "sandbox-key.pem");
    const { loadOrCreateSandboxKey } = await import("@donjon/keep/sandbox-key");
    const key =
      ctx.kindOf(keyPath) === "file"
        ? { created: false, keyPath, publicKeyPath: "" }
        : await loadOrCreateSandboxKey({ stateDir: ctx.stateDir });
    if (key.created) {
      ctx.err(
        `donjon: created this host's sandbox key ${key.keyPath} (public key: ${key.publicKeyPath})\n`,
      );
    }
    stateDir = path.dirname(key.keyPath);
    compileCache = path.join(stateDir, "keep-cache");
    ctx.makeDir(compileCache);
  }
  let evidence: Uint8Array | null = null;
  let certificate: Uint8Array | null = null;
  const { KeepError } = await import("@donjon/keep/error");
  const result = await runKeep({
    backend: backend as "sandbox" | "snp" | "tdx" | "sgx",
    plan: r.plan,
    limits: { memoryPages: r.maxPages, timeoutMs: r.timeout, outputBytes: r.outputLimit },
    module: r.bytes,
    config: r.configBytes,
    nodePath: ctx.nodePath,
    bwrap: await platform.which("bwrap"),
    prlimit: await platform.which("prlimit"),
    stateDir,
    compileCache,
    stdout: (b) => ctx.writeOut(b),
    stderr: (b) => ctx.writeErr(b),
    openStdin: ctx.openStdin,
    onEvidence: (b) => {
      evidence = b;
    },
    steward: r.steward,
    onCertificate: (b) => {
      certificate = b;
    },
    net: r.net.map((e) =>
      e.kind === "listen"
        ? { fd: e.fd, name: e.name, kind: e.kind, prot: e.prot, addr: e.addr, port: e.port }
        : { fd: e.fd, name: e.name, kind: e.kind, prot: e.prot, host: e.host, port: e.port },
    ),
    onListening: (file, address) => {
      const host = address.address.includes(":") ? `[${address.address}]` : address.address;
      const url = `${file.prot === "tls" ? "https" : "tcp"}://${host}:${address.port}`;
      const how =
        file.prot === "tls"
          ? "TLS ends inside the Keep"
          : "plain TCP: the host and the network see the bytes";
      ctx.err(`donjon: fd ${file.fd} "${file.name}" listening on ${url} (${how})\n`);
    },
  }).catch((e: unknown) => {
    if (e instanceof KeepError && (e.code === "keep.host.dirs" || e.code === "keep.host.listen")) {
      throw new CliError("HOST_SETUP", e.message);
    }
    throw e;
  });
  if (r.printEvidence !== null) {
    if (evidence === null) {
      ctx.err(`donjon: the Keep sent no evidence; ${r.printEvidence} was not written\n`);
    } else {
      ctx.writeFile(r.printEvidence, evidence);
    }
  }
  // Written only when the Steward issued one (never on refusal or failure).
  if (r.printCert !== null && certificate !== null) ctx.writeFile(r.printCert, certificate);
  return result;
}
