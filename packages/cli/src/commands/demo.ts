/**
 * `donjon demo`: Donjon's main job in one command, on this machine. In a
 * temporary directory it creates a Steward whose policy certifies only this
 * machine's sandbox Keeps running the example service, starts it on a free
 * loopback port, runs examples/https-hello.wasm in a sandbox Keep that
 * attests to it and serves HTTPS with the certificate it was issued, calls the
 * service as a client that trusts only the Steward's CA, verifies it as
 * `donjon verify` does, and says plainly what that proved and what it did
 * not. Then it stops everything (or keeps serving with --keep-running).
 *
 * The Steward runs in this process (@donjon/steward); the Keep runs in a
 * child `donjon run`, exactly as a user would start it; process work goes
 * through {@link DemoPorts} (`demo_process.ts` is the real one).
 */
import * as path from "node:path";
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
  4. calls the service as a client that trusts only the Steward's CA;
  5. verifies it as donjon verify does: chain, tier, measurement, workload;
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
      `${INDENT}attested to the Steward, got its certificate, listening on ${address.host}:${address.port} (TLS inside the Keep)`,
    );

    // 4. A client that trusts only the Steward's CA.
    const ca = new TextDecoder().decode(ctx.readFile(init.files.caCert));
    say(`[4/6] Client: GET ${url} trusting only the Steward's CA`);
    const answer = await Promise.race([
      httpsGet({ host: address.host, port: address.port, servername: KEEP_NAME, ca, path: "/" }),
      keep.failed,
    ]);
    say(`${INDENT}${answer.protocol} ${answer.cipher}; HTTP ${answer.status}`);
    for (const line of answer.body.trimEnd().split("\n")) say(`${INDENT}│ ${line}`);
    if (answer.status !== 200 || !answer.body.includes("Hello from a Donjon Keep")) {
      throw new CliError(
        "KEEP",
        `step 4 (the client's request): expected 200 with "Hello from a Donjon Keep", got ${answer.status}`,
      );
    }

    // 5. Verify: the certificate's chain and claims against what the client expects.
    const claims = await verifyStep(answer.peerCertificate, identity, ctx, say);

    // 6. What was proved, and what was not.
    say("[6/6] What this proved, to a client that trusts only this Steward's CA:");
    say(
      `${INDENT}✓ the service is examples/https-hello.wasm with examples/https-hello.toml: workload identity`,
    );
    say(`${INDENT}  ${claims.workload} (SHA-256 of both files' digests),`);
    say(`${INDENT}  recorded by the Steward in the certificate the service presented`);
    say(
      `${INDENT}✓ it runs in a ${claims.tee} Keep whose runtime measurement is ${claims.measurement.slice(0, 32)}…`,
    );
    say(
      `${INDENT}✓ the Steward checked the Keep's evidence before issuing the certificate: signed by this machine's`,
    );
    say(
      `${INDENT}  sandbox key, bound to the Keep's own key and to the workload, allowed by the policy`,
    );
    say(
      `${INDENT}✓ TLS ended inside the Keep, with a key generated there that never left it: this host relayed`,
    );
    say(`${INDENT}  encrypted bytes only`);
    say("      What it did NOT prove:");
    say(
      `${INDENT}✗ confidentiality from this machine's owner: the tier is ${claims.tier} (sandbox). Only the operating`,
    );
    say(
      `${INDENT}  system separates the Keep from its host: root can read and change its memory, and the sandbox`,
    );
    say(`${INDENT}  key that signs its evidence is a file on this machine`);
    say(
      `${INDENT}✗ anything about hardware: run the same workload on an SEV-SNP, TDX or SGX Keep (donjon platform`,
    );
    say(
      `${INDENT}  info) with a Steward whose policy refuses the software tier (the default of steward init)`,
    );
    say();
    const curl = `curl --cacert ${init.files.caCert} --resolve ${KEEP_NAME}:${address.port}:${address.host} ${url}`;
    if (keepRunning) {
      say("The Steward and the Keep keep running; try, from another terminal:");
      say(`  ${curl}`);
      say(
        `  curl --cacert ${init.files.caCert} --resolve ${KEEP_NAME}:${address.port}:${address.host} '${url}echo?hi'`,
      );
      say("Ctrl-C stops them. The Keep's log:");
      keep.streamLog((line) => ctx.err(`  keep │ ${line}\n`));
      const signal = await Promise.race([
        new Promise<string>((resolve) => {
          const off = ctx.signals.subscribe((s) => {
            if (s === "SIGHUP") return;
            off();
            resolve(s);
          });
        }),
        keep.failed,
      ]);
      say(`donjon demo: stopping (${signal})`);
    } else {
      say(`To try it yourself: npm run demo -- --keep-running, then the curl line it prints, like`);
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
      `donjon demo: stopped the Keep and the Steward, removed the temporary directory (${((Date.now() - started) / 1000).toFixed(1)} s)\n`,
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
  const failed = child.exited.then((r) => {
    if (stopping) return new Promise<never>(() => {});
    const how = r.code !== null ? `exit status ${r.code}` : `signal ${r.signal}`;
    const said = (stderr + (listeningSeen ? pending : "")).trim();
    const output = said === "" ? "" : `:\n${said.replace(/^/gm, "  ")}`;
    throw new CliError(
      "KEEP",
      `step 3 (the Keep): donjon run ended (${how})${listeningSeen ? " while serving" : " before it served"}${output}${fixFor(said)}`,
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

interface HttpsAnswer {
  status: number;
  body: string;
  /** The negotiated protocol and cipher, e.g. TLSv1.3 TLS_AES_256_GCM_SHA384. */
  protocol: string;
  cipher: string;
  /** The server's leaf certificate, DER. */
  peerCertificate: Uint8Array;
}

/** One HTTPS GET that trusts only `ca` and checks `servername` against the certificate. */
async function httpsGet(o: {
  host: string;
  port: number;
  servername: string;
  ca: string;
  path: string;
}): Promise<HttpsAnswer> {
  const https = await import("node:https");
  return new Promise((resolve, reject) => {
    let peer: Uint8Array | null = null;
    let protocol = "";
    let cipher = "";
    const req = https.request(
      {
        host: o.host,
        port: o.port,
        servername: o.servername,
        path: o.path,
        ca: o.ca,
        agent: false,
        headers: { host: `${o.servername}:${o.port}` },
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
            peerCertificate: peer ?? new Uint8Array(0),
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
          `step 4 (the client's request to https://${o.servername}:${o.port}${o.path}): ${e.message}${code ? ` (${code})` : ""}`,
        ),
      );
    }
    req.on("socket", (s) => {
      s.on("secureConnect", () => {
        const tls = s as import("node:tls").TLSSocket;
        peer = new Uint8Array(tls.getPeerCertificate().raw);
        protocol = tls.getProtocol() ?? "";
        cipher = tls.getCipher().standardName;
      });
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () =>
      req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`)),
    );
    req.on("error", fail);
    req.end();
  });
}

/**
 * Step 5: the checks `donjon verify` makes, on the certificate the client
 * was served: it chains to the Steward CA (the TLS handshake checked that
 * against the CA alone), and its Keep claims name the expected workload.
 */
async function verifyStep(
  leaf: Uint8Array,
  identity: string,
  _ctx: DemoContext,
  say: (line?: string) => void,
): Promise<{ tee: string; tier: string; measurement: string; workload: string }> {
  const { decodeKeepClaims } = await import("@donjon/steward");
  say("[5/6] Verify: the certificate the service presented");
  const claims = decodeKeepClaims(leaf);
  if (claims === null) {
    throw new CliError(
      "KEEP",
      "step 5 (verify): the service's certificate carries no Donjon Keep claims; expected one issued by the demo's Steward",
    );
  }
  const rows: [string, string, boolean][] = [
    ["chain", "to the Steward CA (checked in the TLS handshake)", true],
    ["tee", claims.tee, claims.tee === "sandbox"],
    ["tier", `${claims.tier} (no hardware protection)`, claims.tier === "software"],
    ["measurement", claims.measurement, /^[0-9a-f]{96}$/.test(claims.measurement)],
    [
      "workload",
      `${claims.workload ?? "(none)"}${claims.workload === identity ? " = examples/https-hello" : ` ≠ expected ${identity}`}`,
      claims.workload === identity,
    ],
  ];
  for (const [name, value, ok] of rows)
    say(`${INDENT}${ok ? "✓" : "✗"} ${name.padEnd(12)}${value}`);
  const bad = rows.filter((r) => !r[2]);
  if (bad.length > 0) {
    throw new CliError("KEEP", `step 5 (verify): ${bad.map((r) => `${r[0]}: ${r[1]}`).join("; ")}`);
  }
  say(
    `${INDENT}verdict: VERIFIED — a sandbox Keep certified by this Steward, running the expected workload`,
  );
  return {
    tee: claims.tee,
    tier: claims.tier,
    measurement: claims.measurement,
    workload: claims.workload!,
  };
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
