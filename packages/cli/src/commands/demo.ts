/**
 * `donjon demo`: Donjon's main job in one command, on this machine. In a
 * temporary directory it creates a Steward whose policy certifies only this
 * machine's sandbox Keeps running the example service, starts it on a free
 * loopback port, runs examples/https-hello.wasm in a sandbox Keep that
 * attests to it and serves HTTPS with the certificate it was issued, calls the
 * service as a client that trusts only the Steward's CA and checks the
 * Steward's CRL, verifies it as `donjon verify --crl` does, and says plainly
 * what that proved and what it did not. Then it stops everything (or keeps serving with --keep-running).
 *
 * The Steward runs in this process (@donjon/steward); the Keep runs in a
 * child `donjon run`, exactly as a user would start it; process work goes
 * through {@link DemoPorts} (`demo_process.ts` is the real one).
 */
import * as path from "node:path";
import type { KeepVerdict } from "@donjon/client";
import { CliError } from "../error.ts";
import { parseArgs } from "./attest/_args.ts";
import type { RunContext } from "./run.ts";
import type { StewardSignals } from "./steward/steward.ts";

/** A child `donjon` process. */
export interface DemoChild {
  /** Text the child writes to stdout, as it arrives (UTF-8). */
  onStdout(listener: (text: string) => void): void;
  /** Text the child writes to stderr, as it arrives (UTF-8). */
  onStderr(listener: (text: string) => void): void;
  /** Settles once the child is gone: its exit status, or the signal that ended it. */
  exited: Promise<{ code: number | null; signal: string | null }>;
  /** Ask it to stop (SIGTERM). */
  stop(): void;
}

/** What `donjon demo` needs besides a `RunContext`; `demo_process.ts` is the real one. */
export interface DemoPorts {
  /** Start this checkout's `donjon ARGS` in `cwd`, with this process's environment. */
  spawnDonjon(args: readonly string[], o: { cwd: string }): DemoChild;
  /** Create a new private temporary directory whose name starts with `prefix`. */
  makeTempDir(prefix: string): string;
  /** Remove a directory and everything in it. */
  removeDir(dir: string): void;
  /** SIGINT/SIGTERM, for --keep-running. */
  signals: StewardSignals;
}

/** What `donjon demo` needs. */
export type DemoContext = RunContext & DemoPorts & { now?: () => Date };

export const DEMO_HELP = `Usage: donjon demo [--keep-running]

Donjon's main job in one command, on this machine, in a few seconds:

  1. creates a Steward (attestation service and CA) in a temporary directory,
     with a policy that certifies only this machine's sandbox Keeps running
     the example service (examples/https-hello.wasm and .toml);
  2. starts it on a free loopback port;
  3. runs the example HTTPS service in a sandbox Keep (donjon run --steward):
     the Keep attests, gets its certificate, and serves TLS that ends inside it;
  4. calls the service as a client that trusts only the Steward's CA and
     checks the Steward's CRL (GET /api/v1/crl): the certificate is not revoked;
  5. verifies it as donjon verify does: chain, revocation, tier, measurement,
     workload;
  6. says what that proved, and what it did not (a sandbox is software:
     no hardware confidentiality), then stops everything.

Options:
  --keep-running  Keep the Steward and the Keep serving after the checks,
                  with a curl line to try, until Ctrl-C.
  -h, --help      Show this help.

Exit status: 0 when every step passed; 1 when one failed (the message names
the step, what failed and the fix); 2 for a usage error.
`;

/** The repository's root: the example and the launcher live in this checkout. */
const ROOT = path.resolve(import.meta.dirname, "../../../..");
const EXAMPLE_WASM = path.join(ROOT, "examples/https-hello.wasm");
const EXAMPLE_TOML = path.join(ROOT, "examples/https-hello.toml");
/** How long the Keep may take to attest and bind its listen socket. */
const START_TIMEOUT_MS = 60_000;
/** How long the client's request may take. */
const REQUEST_TIMEOUT_MS = 20_000;
/** The DNS name the Keep's certificate carries (the policy's `san`): Steward SANs are DNS names and URIs. */
const KEEP_NAME = "localhost";

const INDENT = "      ";

/** Run `donjon demo` with `argv` (what follows `demo`); resolve to the exit status. */
export async function demo(argv: readonly string[], ctx: DemoContext): Promise<number> {
  const a = parseArgs(argv, { values: {}, booleans: ["--keep-running"] }, "demo");
  if (a.help) {
    ctx.out(DEMO_HELP);
    return 0;
  }
  if (a.positionals.length > 0) {
    throw new CliError(
      "USAGE",
      `unexpected argument ${JSON.stringify(a.positionals[0])} (see donjon demo --help)`,
    );
  }
  const keepRunning = a.booleans.has("--keep-running");
  const now = ctx.now ?? (() => new Date());
  const say = (line = ""): void => ctx.out(`${line}\n`);
  const rel = (f: string): string => {
    const r = path.relative(ctx.cwd, f);
    return r === "" || r.startsWith("..") ? f : r;
  };

  // Everything started is stopped in reverse order, whatever happens.
  const cleanups: (() => Promise<void> | void)[] = [];
  const started = Date.now();
  try {
    say("Donjon demo: an HTTPS service in an attested Keep, with a local Steward");
    say();
    const dir = ctx.makeTempDir("donjon-demo-");
    cleanups.push(() => ctx.removeDir(dir));

    // 1. The Steward's files and a policy for this machine's sandbox key and the example only.
    const wasm = readExample(EXAMPLE_WASM, ctx);
    const toml = readExample(EXAMPLE_TOML, ctx);
    const [{ workloadIdentity }, { loadOrCreateSandboxKey }, { KeepError }] = await Promise.all([
      import("@donjon/attest/binding"),
      import("@donjon/keep/sandbox-key"),
      import("@donjon/keep/error"),
    ]);
    const identity = hex(await workloadIdentity(await sha256(wasm), await sha256(toml)));
    let hostKey: { publicKeyPath: string; created: boolean };
    try {
      hostKey = await loadOrCreateSandboxKey({ stateDir: ctx.stateDir });
    } catch (e) {
      if (e instanceof KeepError) {
        throw new CliError(
          "HOST_SETUP",
          `step 1 (this machine's sandbox key): ${e.message} [${e.code}]`,
        );
      }
      throw e;
    }
    const steward = await import("@donjon/steward");
    const stewardDir = path.join(dir, "steward");
    const init = await stewardErrors("step 1 (steward init)", () =>
      steward.initSteward({ dir: stewardDir, now: now() }),
    );
    ctx.writeFile(init.files.policy, new TextEncoder().encode(demoPolicy(hostKey, identity)));
    say(`[1/6] Steward created in ${rel(stewardDir)} (donjon steward init)`);
    say(`${INDENT}CA: ${rel(init.files.caCert)} (SHA-256 ${init.caFingerprint.slice(0, 23)}…)`);
    say(
      `${INDENT}policy: the sandbox tier, for this machine's sandbox key only (${hostKey.publicKeyPath}${hostKey.created ? ", created now" : ""}),`,
    );
    say(`${INDENT}        running workload ${identity.slice(0, 16)}… only (examples/https-hello)`);

    // 2. The Steward, in this process, on a free loopback port.
    const running = await stewardErrors("step 2 (start the Steward)", () =>
      steward.startSteward({
        configFile: init.files.config,
        listen: { host: "127.0.0.1", port: 0 },
        now,
      }),
    );
    cleanups.push(() => running.close());
    say(`[2/6] Steward listening on ${running.url}`);

    // 3. The Keep: `donjon run` with the example, attesting to the Steward first.
    const platform = await ctx.platform();
    const bwrap = platform.which("bwrap");
    const runArgs = [
      "run",
      "--backend",
      "sandbox",
      "--config",
      EXAMPLE_TOML,
      "--steward",
      running.url,
      "--steward-ca",
      init.files.caCert,
      EXAMPLE_WASM,
    ];
    say(
      `[3/6] Keep starting: donjon run --backend sandbox --config ${rel(EXAMPLE_TOML)} --steward ${running.url} --steward-ca ${rel(init.files.caCert)} ${rel(EXAMPLE_WASM)}`,
    );
    if (bwrap === null) {
      say(
        `${INDENT}note: bubblewrap (bwrap) is not installed: the Keep runs under Node's permission model only,`,
      );
      say(
        `${INDENT}      without its own network namespace and read-only root (apt-get install bubblewrap)`,
      );
    }
    const keep = startKeep(ctx.spawnDonjon(runArgs, { cwd: dir }));
    cleanups.push(() => keep.stop());
    const address = await keep.listening;
    const url = `https://${KEEP_NAME}:${address.port}/`;
    say(
      `${INDENT}listening on ${address.host}:${address.port} (TLS inside the Keep); the Keep attests to the Steward before it serves`,
    );

    // 4. A client that trusts only the Steward's CA, with the Steward's CRL fetched now.
    const ca = new TextDecoder().decode(ctx.readFile(init.files.caCert));
    const crlUrl = `${running.url}/api/v1/crl`;
    const { ClientError, fetchStewardCrl } = await import("@donjon/client");
    let crl: Uint8Array;
    try {
      crl = await fetchStewardCrl(crlUrl, { ca, timeoutMs: REQUEST_TIMEOUT_MS });
    } catch (e) {
      if (e instanceof ClientError) {
        throw new CliError("KEEP", `step 4 (the Steward's CRL): ${e.message} [${e.code}]`, {
          cause: e,
        });
      }
      throw e;
    }
    say(`[4/6] Client: GET ${url} with @donjon/client's keepAgent`);
    say(
      `${INDENT}(it trusts only the Steward's CA, expects workload ${identity.slice(0, 16)}…, allows the software tier,`,
    );
    say(`${INDENT} and checks the Steward's CRL, fetched from ${crlUrl})`);
    const answer = await Promise.race([
      keepGet({ host: address.host, port: address.port, ca, identity, crl, path: "/" }),
      keep.failed,
    ]).catch(async (e: unknown) => {
      // A Keep the Steward refused closes the connection: its own reasons say more.
      await Promise.race([keep.failed, new Promise((r) => setTimeout(r, 2000))]);
      throw e;
    });
    const v = answer.verdict;
    say(
      `${INDENT}judged before a byte was sent: ${v.checks.filter((c) => c.ok).length} checks passed${v.warnings.length > 0 ? `, warning ${v.warnings.map((w) => w.code).join(", ")}` : ""}`,
    );
    say(`${INDENT}${answer.protocol} ${answer.cipher}; HTTP ${answer.status}`);
    for (const line of answer.body.trimEnd().split("\n")) say(`${INDENT}│ ${line}`);
    if (answer.status !== 200 || !answer.body.includes("Hello from a Donjon Keep")) {
      throw new CliError(
        "KEEP",
        `step 4 (the client's request): expected 200 with "Hello from a Donjon Keep", got ${answer.status}`,
      );
    }

    // 5. `donjon verify`, as anyone would run it against the service.
    const verifyArgs = [
      "verify",
      url.replace(/\/$/, ""),
      "--steward-ca",
      init.files.caCert,
      "--workload",
      identity,
      "--allow-software-tier",
      "--crl",
      crlUrl,
    ];
    say(
      `[5/6] Verify: donjon ${verifyArgs.map((x) => (x === init.files.caCert ? rel(x) : x)).join(" ")}`,
    );
    await verifyStep(ctx.spawnDonjon(verifyArgs, { cwd: dir }), say);

    // 6. What was proved, and what was not.
    const claims = v.claims!;
    say("[6/6] What this proved, to a client that trusts only this Steward's CA:");
    for (const line of [
      `✓ the service is examples/https-hello.wasm with examples/https-hello.toml: workload identity`,
      `  ${claims.workload} (SHA-256 of both files' digests),`,
      "  recorded by the Steward in the certificate the service presented",
      `✓ it runs in a ${claims.tee} Keep whose runtime measurement is ${claims.measurement.slice(0, 32)}…`,
      "✓ the Steward checked the Keep's evidence before issuing the certificate: signed by this machine's",
      "  sandbox key, bound to the Keep's own key and to the workload, allowed by the policy",
      "✓ TLS ended inside the Keep, with a key generated there that never left it: this host relayed",
      "  encrypted bytes only",
      "✓ the Steward has not revoked the certificate: it is not on the Steward's CRL, signed by its CA and",
      "  current (checked by the client and by donjon verify --crl)",
    ])
      say(`${INDENT}${line}`);
    say("      What it did NOT prove:");
    for (const line of [
      `✗ confidentiality from this machine's owner: the tier is ${claims.tier} (sandbox). Only the operating`,
      "  system separates the Keep from its host: root can read and change its memory, and the sandbox",
      "  key that signs its evidence is a file on this machine",
      "✗ anything about hardware: run the same workload on an SEV-SNP, TDX or SGX Keep (donjon platform",
      "  info) with a Steward whose policy refuses the software tier (the default of steward init)",
      "✗ that it stays unrevoked: the CRL was read now and is valid one hour; a client fetches it again",
    ])
      say(`${INDENT}${line}`);
    say();
    const curl = `curl --cacert ${init.files.caCert} ${url}`;
    if (keepRunning) {
      say("The Steward and the Keep keep running; try, from another terminal:");
      say(`  ${curl}`);
      say(`  curl --cacert ${init.files.caCert} '${url}echo?hi'`);
      say(`  npx donjon ${verifyArgs.join(" ")}`);
      say("Ctrl-C stops them. The Keep's log:");
      keep.streamLog((line) => say(`  keep │ ${line}`));
      const signal = await Promise.race([
        new Promise<string>((resolve) => {
          const off = ctx.signals.subscribe((s) => {
            if (s === "SIGHUP") return;
            off();
            resolve(s);
          });
        }),
        // Ctrl-C in a terminal reaches the Keep's donjon run too: its end is then a stop.
        keep.failed.catch((e: unknown) => {
          if (keep.endedBySignal()) return "SIGINT";
          throw e;
        }),
      ]);
      say(`donjon demo: stopping (${signal})`);
    } else {
      say("To try it yourself: npm run demo -- --keep-running, then the curl line it prints, like");
      say(`  ${curl}`);
      say("The Keep's log (its stderr):");
      for (const line of keep.log()) say(`  keep │ ${line}`);
    }
    return 0;
  } finally {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        // Stopping is best effort: the first failure is what the user needs.
      }
    }
    ctx.err(
      `donjon demo: stopped what it started and removed its temporary directory (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
    );
  }
}

/** The policy the demo's Steward applies: this host's sandbox Keeps running the example, nothing else. */
function demoPolicy(hostKey: { publicKeyPath: string }, identity: string): string {
  return `# Written by donjon demo. The software tier is allowed here ONLY for a demo:
# a sandbox Keep has no hardware protection from the machine it runs on.
[sandbox]
allow = true
# This machine's sandbox key: evidence signed by any other key is refused.
host_keys = [${JSON.stringify(hostKey.publicKeyPath)}]
# examples/https-hello.wasm with examples/https-hello.toml, and nothing else.
workload_identities = ["${identity}"]
lifetime = "1h"
# The name clients check (Steward SANs are DNS names and URIs).
san = ["${KEEP_NAME}"]

# No hardware TEE is certified by this demo Steward.
[snp]
allow = false

[tdx]
allow = false

[sgx]
allow = false
`;
}

/** The Keep's `donjon run` child: its listening address, failure, and log. */
interface KeepProcess {
  /** The address of its listen socket, once bound; rejects when the run ends first. */
  listening: Promise<{ host: string; port: number }>;
  /** Rejects with a CliError whenever the run ends (it should serve until stopped). */
  failed: Promise<never>;
  /** True when the run ended by a signal (SIGINT or SIGTERM), or with their exit statuses. */
  endedBySignal(): boolean;
  /** The workload's stderr lines so far (after the listening line). */
  log(): string[];
  /** From now on, each new log line goes to `sink` as it arrives. */
  streamLog(sink: (line: string) => void): void;
  stop(): Promise<void>;
}

/**
 * The line `donjon run` prints for a bound listen socket, e.g.
 * `donjon: fd 3 "web" listening on 127.0.0.1:41233 (tls)`.
 */
const LISTENING = /listening on (?:[a-z]+:\/\/)?(\[[0-9a-f:]+\]|[0-9.]+):(\d+)/i;

function startKeep(child: DemoChild): KeepProcess {
  /** All of its stderr (the last 64 KiB): what a failure shows. */
  let all = "";
  /** Its stderr until the listening line. */
  let stderr = "";
  let pending = "";
  let listeningSeen = false;
  const lines: string[] = [];
  let sink: ((line: string) => void) | null = null;
  let stopping = false;
  let onListening: (a: { host: string; port: number }) => void = () => {};
  const listening = new Promise<{ host: string; port: number }>((resolve) => {
    onListening = resolve;
  });
  child.onStdout(() => {});
  child.onStderr((text) => {
    all = (all + text).slice(-65536);
    if (!listeningSeen) {
      stderr += text;
      const m = LISTENING.exec(stderr);
      if (m === null) return;
      listeningSeen = true;
      onListening({ host: m[1]!.replace(/^\[|\]$/g, ""), port: Number(m[2]) });
      // What follows the listening line is the workload's log.
      text = stderr.slice(stderr.indexOf("\n", m.index) + 1);
    }
    pending += text;
    let nl = pending.indexOf("\n");
    while (nl >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (lines.length < 1000) lines.push(line);
      sink?.(line);
      nl = pending.indexOf("\n");
    }
  });
  let signalled = false;
  const failed = child.exited.then((r) => {
    if (stopping) return new Promise<never>(() => {});
    signalled = r.signal === "SIGINT" || r.signal === "SIGTERM" || r.code === 130 || r.code === 143;
    const how = r.code !== null ? `exit status ${r.code}` : `signal ${r.signal}`;
    const said = all.trim().split("\n").slice(-40).join("\n");
    const output = said === "" ? "" : `; it said:\n${said.replace(/^/gm, "  ")}`;
    throw new CliError(
      "KEEP",
      `step 3 (the Keep): donjon run ended (${how})${output}${fixFor(said)}`,
    );
  });
  // Callers race `failed`; an unobserved rejection here is not a crash.
  failed.catch(() => {});
  return {
    listening: Promise.race([
      listening,
      failed,
      new Promise<never>((_, reject) => {
        const t = setTimeout(
          () =>
            reject(
              new CliError(
                "KEEP",
                `step 3 (the Keep): no "listening on" line from donjon run within ${START_TIMEOUT_MS / 1000} s${stderr.trim() ? `; it said:\n${stderr.trim().replace(/^/gm, "  ")}` : ""}`,
              ),
            ),
          START_TIMEOUT_MS,
        );
        void listening.then(() => clearTimeout(t));
        void child.exited.then(() => clearTimeout(t));
      }),
    ]),
    failed,
    endedBySignal: () => signalled,
    log: () => [...lines, ...(pending === "" ? [] : [pending])],
    streamLog: (s) => {
      sink = s;
    },
    stop: async () => {
      stopping = true;
      child.stop();
      await child.exited;
    },
  };
}

/** A fix for the failures a first run meets, keyed by what donjon run said. */
function fixFor(said: string): string {
  if (/needs networking|not support/i.test(said)) {
    return "\n  fix: this donjon run cannot serve [[files]] listen sockets yet (issue 6); update the checkout";
  }
  if (/refused by the Steward/.test(said)) {
    return "\n  fix: the demo's policy should have allowed this Keep; check the sandbox key in the state directory (donjon platform info)";
  }
  if (/sandbox_key\.permissions/.test(said)) return "\n  fix: run the chmod named above";
  return "";
}

interface KeepAnswer {
  status: number;
  body: string;
  /** The negotiated protocol and cipher, e.g. TLSv1.3 TLS_AES_256_GCM_SHA384. */
  protocol: string;
  cipher: string;
  /** What the agent judged before it let the request through. */
  verdict: KeepVerdict;
}

/**
 * One GET through @donjon/client's keepAgent: the request is written only
 * once the peer's certificate chains to `ca`, `crl` does not list it and its
 * claims name `identity`.
 */
async function keepGet(o: {
  host: string;
  port: number;
  ca: string;
  identity: string;
  crl: Uint8Array;
  path: string;
}): Promise<KeepAnswer> {
  const [https, { keepAgent }] = await Promise.all([
    import("node:https"),
    import("@donjon/client"),
  ]);
  let verdict: KeepVerdict | null = null;
  let protocol = "";
  let cipher = "";
  const agent = keepAgent({
    stewardCa: o.ca,
    workload: o.identity,
    // A sandbox Keep is the software tier: refused unless allowed, and this demo has no other.
    policy: { allowSoftware: true, tees: ["sandbox"] },
    crl: o.crl,
    timeoutMs: REQUEST_TIMEOUT_MS,
    onVerified: (v, socket) => {
      verdict = v;
      protocol = socket.getProtocol() ?? "";
      cipher = socket.getCipher().standardName;
    },
  });
  try {
    return await new Promise<KeepAnswer>((resolve, reject) => {
      const req = https.request(
        {
          host: o.host,
          port: o.port,
          // The name the certificate lists; the Keep listens on o.host.
          servername: KEEP_NAME,
          headers: { host: `${KEEP_NAME}:${o.port}` },
          path: o.path,
          agent,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              body: Buffer.concat(chunks).toString("utf8"),
              protocol,
              cipher,
              verdict: verdict!,
            }),
          );
          res.on("error", fail);
        },
      );
      function fail(e: Error): void {
        const code = (e as { code?: string }).code;
        reject(
          new CliError(
            "KEEP",
            `step 4 (the client's request to https://${KEEP_NAME}:${o.port}${o.path}): ${e.message}${code ? ` [${code}]` : ""}`,
          ),
        );
      }
      req.setTimeout(REQUEST_TIMEOUT_MS, () =>
        req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)),
      );
      req.on("error", fail);
      req.end();
    });
  } finally {
    agent.destroy();
  }
}

/**
 * Step 5: `donjon verify` in a child process; its report is shown up to its
 * own "Proved:" section (step 6 says that for the demo). Exit 0 is the pass.
 */
async function verifyStep(child: DemoChild, say: (line?: string) => void): Promise<void> {
  let out = "";
  let err = "";
  child.onStdout((t) => {
    out += t;
  });
  child.onStderr((t) => {
    err += t;
  });
  const r = await child.exited;
  const report = out.split(/\nProved:\n/)[0]!.trimEnd();
  for (const line of report.split("\n")) if (line.trim() !== "") say(`${INDENT}│ ${line}`);
  if (r.code !== 0) {
    throw new CliError(
      "KEEP",
      `step 5 (donjon verify): exit status ${r.code ?? r.signal}${err.trim() ? `: ${err.trim()}` : ""}`,
    );
  }
  say(`${INDENT}exit status 0: verified`);
}

function readExample(file: string, ctx: DemoContext): Uint8Array<ArrayBuffer> {
  try {
    return ctx.readFile(file);
  } catch (e) {
    throw new CliError(
      "NOT_FOUND",
      `${file}: ${(e as Error).message}; the demo runs from a Donjon checkout (npm run build:wasm rebuilds the example)`,
    );
  }
}

async function sha256(bytes: Uint8Array<ArrayBuffer>): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString("hex");
}

/** The Steward's errors name the step that failed. */
async function stewardErrors<T>(step: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (e instanceof Error && (e.name === "StewardError" || e.name === "StoreError")) {
      throw new CliError("CONFIG", `${step}: ${e.message} [${String(code)}]`, { cause: e });
    }
    throw e;
  }
}
