/**
 * `donjon steward`: run the Steward (`--config FILE [--listen HOST:PORT]`)
 * until SIGINT or SIGTERM, reloading its policy on SIGHUP; or create one
 * (`init DIR [--san NAME]...`). The service itself is @donjon/steward,
 * loaded only when this command runs.
 */
import * as path from "node:path";
import { CliError } from "../../error.ts";
import { parseArgs } from "../attest/_args.ts";

/** The signals `donjon steward` acts on. */
export type StewardSignal = "SIGHUP" | "SIGINT" | "SIGTERM";

/** Where signals come from; `_process.ts` is the real one. */
export interface StewardSignals {
  /** Call `handler` for each signal until the returned function is called. */
  subscribe(handler: (signal: StewardSignal) => void): () => void;
}

/** What `donjon steward` needs from the process. */
export interface StewardContext {
  /** Directory relative paths are resolved against. */
  cwd: string;
  /** stdout: the Steward's log (pino JSON lines) and init's report. */
  out(text: string): void;
  /** stderr: notes. */
  err(text: string): void;
  /** The clock. Default: the system clock. */
  now?: () => Date;
  /** fetch for collateral: AMD KDS (SNP) and Intel PCS / a PCCS (`[dcap] pcs_url`). Default: none (SNP evidence must carry its certificates; SGX/TDX need `[dcap] collateral_dir`). */
  fetch?: typeof fetch;
  /** Signals. Without them the Steward cannot be run (only `init`). */
  signals?: StewardSignals;
}

export const STEWARD_HELP = `Usage: donjon steward --config FILE [--listen HOST:PORT]
       donjon steward init DIR [--san NAME]...

The Steward: Keeps send it a CSR carrying their evidence; it verifies the
evidence, the key binding and the policy, and answers with a short-lived
certificate recording the Keep's attested identity — or with every reason it
refused (RFC 9457 problem+json).

  donjon steward --config FILE
        Run the Steward described by FILE (steward.toml), over HTTPS (plain
        HTTP only when the file says plain_http = true on a loopback address).
        Logs are JSON lines on stdout. SIGHUP reloads the policy file (an
        invalid one is refused and the running policy stays); SIGINT and
        SIGTERM stop it after the requests in flight.
  donjon steward init DIR
        Create DIR with a new CA (ca.pem, ca.key), a TLS certificate for the
        Steward issued by it (tls.pem, tls.key), the safe default policy
        (policy.toml: hardware TEEs only) and steward.toml pointing at them.
        Refuses a directory that already holds a CA.

Options:
  --config FILE       steward.toml to run (required to run).
  --listen HOST:PORT  Listen here instead of the config's listen
                      (127.0.0.1:8443, [::1]:8443; port 0: any free port).
  --san NAME          init: another DNS name or IP address for the Steward's
                      TLS certificate (localhost, 127.0.0.1 and ::1 are
                      always in). Repeatable.
  -h, --help          Show this help.

Exit status: 0 when stopped by a signal or init succeeded; 1 when the
configuration, a key file, the policy, the store or the address is refused
(the message names the file, key or line); 2 for a usage error.
`;

/** Run `donjon steward` with `argv` (what follows `steward`); resolve to the exit status. */
export async function steward(argv: readonly string[], ctx: StewardContext): Promise<number> {
  if (argv[0] === "init") return init(argv.slice(1), ctx);
  const a = parseArgs(
    argv,
    { values: { "--config": {}, "--listen": {} }, booleans: [] },
    "steward",
  );
  if (a.help) {
    ctx.out(STEWARD_HELP);
    return 0;
  }
  if (a.positionals.length > 0) {
    throw new CliError(
      "USAGE",
      `unexpected argument ${JSON.stringify(a.positionals[0])} (expected --config FILE or init DIR; see donjon steward --help)`,
    );
  }
  const config = a.values.get("--config")?.[0];
  if (config === undefined) {
    ctx.err(STEWARD_HELP);
    return 2;
  }
  const lib = await import("@donjon/steward");
  const listenText = a.values.get("--listen")?.[0];
  let listen: { host: string; port: number } | undefined;
  if (listenText !== undefined) {
    try {
      listen = lib.parseListen(listenText);
    } catch (e) {
      throw new CliError("USAGE", `--listen: ${(e as Error).message}`);
    }
  }
  if (!ctx.signals) {
    throw new CliError("UNSUPPORTED", "the Steward cannot run without process signals here");
  }
  const running = await userErrors(() =>
    lib.startSteward({
      configFile: path.resolve(ctx.cwd, config),
      ...(listen ? { listen } : {}),
      log: { write: (line) => ctx.out(line) },
      now: ctx.now ?? (() => new Date()),
      ...(ctx.fetch ? { fetch: ctx.fetch } : {}),
    }),
  );
  ctx.err(`donjon: steward listening on ${running.url} (SIGHUP reloads the policy)\n`);
  const stopped = await new Promise<StewardSignal>((resolve) => {
    const unsubscribe = ctx.signals!.subscribe((signal) => {
      if (signal === "SIGHUP") {
        // A refused policy is logged by the Steward; the running one stays.
        running.reloadPolicy().catch(() => {});
        return;
      }
      unsubscribe();
      resolve(signal);
    });
  });
  ctx.err(`donjon: steward stopping (${stopped})\n`);
  await running.close();
  return 0;
}

async function init(argv: readonly string[], ctx: StewardContext): Promise<number> {
  const a = parseArgs(
    argv,
    { values: { "--san": { repeatable: true }, "--listen": {} }, booleans: [] },
    "steward init",
  );
  if (a.help) {
    ctx.out(STEWARD_HELP);
    return 0;
  }
  if (a.positionals.length !== 1) {
    throw new CliError(
      "USAGE",
      a.positionals.length === 0
        ? "steward init needs a directory (see donjon steward --help)"
        : `unexpected argument ${JSON.stringify(a.positionals[1])} (see donjon steward --help)`,
    );
  }
  const sans = a.values.get("--san") ?? [];
  for (const s of sans) {
    if (!/^[A-Za-z0-9.:*-]+$/.test(s)) {
      throw new CliError(
        "USAGE",
        `--san: expected a DNS name or an IP address, got ${JSON.stringify(s)}`,
      );
    }
  }
  const lib = await import("@donjon/steward");
  const listen = a.values.get("--listen")?.[0];
  if (listen !== undefined) {
    try {
      lib.parseListen(listen);
    } catch (e) {
      throw new CliError("USAGE", `--listen: ${(e as Error).message}`);
    }
  }
  const dir = path.resolve(ctx.cwd, a.positionals[0]!);
  const r = await userErrors(() =>
    lib.initSteward({ dir, sans, now: ctx.now?.() ?? new Date(), ...(listen ? { listen } : {}) }),
  );
  const rel = (f: string) => path.relative(ctx.cwd, f) || f;
  ctx.out(
    [
      `Created a Steward in ${rel(dir)}:`,
      `  ${rel(r.files.caCert)}  the CA certificate: give it to Keeps (--steward-ca) and relying parties`,
      `  ${rel(r.files.caKey)}  the CA key (mode 0600): keep a copy offline`,
      `  ${rel(r.files.tlsCert)}, ${rel(r.files.tlsKey)}  the Steward's TLS certificate and key`,
      `  ${rel(r.files.policy)}  the policy: hardware TEEs only, debug and the software tier refused`,
      `  ${rel(r.files.config)}  the configuration, with an admin token (mode 0600)`,
      `CA SHA-256 fingerprint: ${r.caFingerprint}`,
      `Run it with: donjon steward --config ${rel(r.files.config)}`,
      "",
    ].join("\n"),
  );
  return 0;
}

/** The Steward's and the store's errors are the operator's to fix: exit 1 with the message. */
async function userErrors<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (
      e instanceof Error &&
      (e.name === "StewardError" || e.name === "StoreError") &&
      typeof code === "string"
    ) {
      throw new CliError("CONFIG", `${e.message} [${code}]`, { cause: e });
    }
    throw e;
  }
}
