/**
 * The Steward's bootstrap and the only file that listens: read and validate
 * steward.toml, load the CA (refusing a key file others can read), the TLS
 * certificate and the policy, open the store, build Fastify with pino and
 * the app plugin, and listen — HTTPS unless the config asks for plain HTTP on
 * loopback. Signals are the caller's (the CLI): it calls `reloadPolicy()` and
 * `close()`.
 */
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { createDcapVerifier, createKdsClient, createSnpVerifier } from "@donjon/attest";
import Fastify, { type FastifyInstance } from "fastify";
import pino from "pino";
import pkg from "../package.json" with { type: "json" };
import { stewardApp } from "./app.ts";
import { loadCa, readKeyFile } from "./ca.ts";
import { formatListen, type ListenAddress, parseConfig, type StewardConfig } from "./config.ts";
import { type CollateralFileInput, createStewardDcapSource } from "./dcap.ts";
import { decide } from "./decide.ts";
import { StewardError } from "./error.ts";
import { createMetrics } from "./metrics.ts";
import { parsePolicy, type StewardPolicy } from "./policy.ts";
import { openStore, redact, type Store } from "./store.ts";

/** Options of {@link startSteward}. */
export interface StartStewardOptions {
  /** Path of steward.toml. */
  configFile: string;
  /** Listen here instead of the config's `listen` (`--listen`). */
  listen?: ListenAddress;
  /** Where log lines (pino JSON, one per line) go. Default: nowhere. */
  log?: { write(line: string): void };
  /** pino level. Default `info`. */
  logLevel?: string;
  /** The clock. Default `() => new Date()`. */
  now?: () => Date;
  /**
   * fetch for AMD KDS collateral (VCEK, CRL) when SNP evidence lacks it, and
   * for Intel PCS / PCCS collateral (`[dcap] pcs_url`). Default: none — then
   * SNP evidence must carry its VCEK and chain, and `pcs_url` is refused.
   */
  fetch?: typeof fetch;
  /**
   * The Intel SGX Root CA to pin (DER) instead of attest's: tests only
   * (testkit `fakeIntel().root`).
   */
  intelRoot?: Uint8Array;
}

/** A running Steward. */
export interface RunningSteward {
  /** `https://HOST:PORT` (or `http://` on plain-HTTP loopback), with the bound port. */
  url: string;
  config: StewardConfig;
  /** The Fastify instance (for inject in tests). */
  app: FastifyInstance;
  /**
   * Read the policy file again and put it in force (SIGHUP), recording the
   * change (an unchanged file is not a change). An invalid file leaves the
   * running policy in force and rejects with `steward.policy`.
   */
  reloadPolicy(): Promise<{ sha256: string }>;
  /** Stop listening, finish requests in flight, close the store. Idempotent. */
  close(): Promise<void>;
}

/**
 * Validate the configuration, load everything, listen.
 *
 * @throws {StewardError} `steward.config*`, `steward.key.*`, `steward.ca.invalid`,
 *   `steward.policy`, `steward.listen`; a `StoreError` when the store cannot be opened.
 */
export async function startSteward(options: StartStewardOptions): Promise<RunningSteward> {
  const now = options.now ?? (() => new Date());
  const configFile = path.resolve(options.configFile);
  const config = parseConfig(readText(configFile, "steward.config", "config file"), configFile);
  const listen = options.listen ?? config.listen;

  const ca = await loadCa(
    readText(config.ca.cert, "steward.ca.invalid", "CA certificate"),
    readKeyFile(config.ca.key),
    config.ca,
  );
  let https: { cert: string; key: string } | null = null;
  if (config.tls) {
    const key = readKeyFile(config.tls.key);
    const cert = readText(config.tls.cert, "steward.ca.invalid", "TLS certificate");
    https = { cert, key };
  }

  // Intel collateral: the directory is read once, here; a bad file stops the boot.
  if (config.dcap.pcsUrl !== null && !options.fetch) {
    throw new StewardError(
      "steward.config",
      `${config.file}: dcap.pcs_url: this Steward was started without fetch, so it cannot reach ${config.dcap.pcsUrl}; use collateral_dir`,
    );
  }
  const dcapSource = createStewardDcapSource({
    files: config.dcap.collateralDir === null ? [] : readCollateralDir(config.dcap.collateralDir),
    pcsUrl: config.dcap.pcsUrl,
    ...(options.fetch ? { fetch: options.fetch } : {}),
    now,
  });

  const policyDir = path.dirname(config.policy);
  const parse = (text: string, name: string): StewardPolicy =>
    parsePolicy(text, name, {
      readFile: (p) => fs.readFileSync(path.resolve(policyDir, p), "utf8"),
    });
  const policyText = readText(config.policy, "steward.policy", "policy file");
  let policy = parse(policyText, config.policy);
  /** SHA-256 of the policy text in force: a reload of the same text is not a change. */
  let policySha = createHashHex(policyText);

  const logger = pino(
    {
      level: options.logLevel ?? "info",
      base: { service: "donjon-steward" },
      // Belt and braces: the app never logs these, and Fastify's request
      // serializer does not include headers.
      redact: ["req.headers.authorization", "authorization"],
    },
    options.log ?? { write: () => {} },
  );

  const store: Store = await openStore(config.storage);
  let app: FastifyInstance | null = null;
  try {
    const metrics = await createMetrics({ processMetrics: true });
    const sha = (t: string) => createHashHex(t);

    // The audit covers edits made while the Steward was down.
    const [last] = await store.listPolicyChanges({ limit: 1 });
    if (last?.sha256 !== sha(policyText)) {
      await store.recordPolicyChange({
        time: now(),
        actor: "boot",
        sha256: sha(policyText),
        text: policyText,
      });
    }

    const verifier = createSnpVerifier();
    const dcapVerifier = createDcapVerifier(options.intelRoot ? { root: options.intelRoot } : {});
    const collateral = options.fetch ? createKdsClient({ fetch: options.fetch, now }) : undefined;

    app = Fastify({
      loggerInstance: logger,
      ...(https ? { https } : {}),
      // A backstop behind the app's own body timeout (which answers 408 first).
      requestTimeout: config.limits.bodyTimeoutMs * 2 + 5000,
      bodyLimit: config.limits.body,
    }) as unknown as FastifyInstance;
    await app.register(stewardApp, {
      ca,
      store,
      getPolicy: () => policy,
      setPolicy: (p, text) => {
        // Written first, so that a reload or restart keeps what the admin put in force.
        replaceFile(config.policy, text);
        policy = p;
        policySha = sha(text);
      },
      parsePolicy: (text) => parse(text, "(uploaded policy)"),
      decide: (csr, ctx) =>
        decide(csr, {
          ...ctx,
          snp: collateral ? { verifier, collateral } : { verifier },
          dcap: dcapSource ? { source: dcapSource, verifier: dcapVerifier } : {},
        }),
      now,
      adminTokens: config.adminTokens,
      limits: config.limits,
      metrics,
      version: pkg.version,
    });

    try {
      await app.listen({ host: listen.host, port: listen.port });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code ?? String(e);
      throw new StewardError(
        "steward.listen",
        `cannot listen on ${formatListen(listen)}: ${code}${code === "EADDRINUSE" ? " (the port is in use; pick another with --listen HOST:PORT)" : ""}`,
        { cause: e },
      );
    }
    const address = app.server.address();
    const port = typeof address === "object" && address ? address.port : listen.port;
    const url = `${https ? "https" : "http"}://${formatListen({ host: listen.host, port })}`;
    logger.info(
      {
        url,
        storage: redact(config.storage),
        policy: config.policy,
        policySha256: sha(policyText),
        ca: ca.cert.subject,
      },
      "steward listening",
    );

    let closed: Promise<void> | null = null;
    const running: RunningSteward = {
      url,
      config,
      app,
      async reloadPolicy() {
        let text: string;
        let next: StewardPolicy;
        try {
          text = readText(config.policy, "steward.policy", "policy file");
          next = parse(text, config.policy);
        } catch (e) {
          metrics.policyChanges.inc({ source: "reload", result: "invalid" });
          logger.error(
            { err: e instanceof Error ? e.message : String(e) },
            "policy reload refused; the running policy stays in force",
          );
          throw e;
        }
        const sha256 = sha(text);
        if (sha256 === policySha) {
          logger.info({ sha256 }, "policy reloaded: unchanged");
          return { sha256 };
        }
        await store.recordPolicyChange({ time: now(), actor: "reload", sha256, text });
        policy = next;
        policySha = sha256;
        metrics.policyChanges.inc({ source: "reload", result: "ok" });
        logger.info({ sha256 }, "policy reloaded");
        return { sha256 };
      },
      close() {
        closed ??= (async () => {
          logger.info("steward stopping");
          await app!.close();
          await store.close();
        })();
        return closed;
      },
    };
    return running;
  } catch (e) {
    await app?.close().catch(() => {});
    await store.close().catch(() => {});
    throw e;
  }
}

/** The regular files of `[dcap] collateral_dir` (not recursive; dot files skipped). */
function readCollateralDir(dir: string): CollateralFileInput[] {
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new StewardError(
      "steward.collateral",
      `[dcap] collateral_dir: cannot read ${dir}: ${why}`,
      { cause: e },
    );
  }
  const files: CollateralFileInput[] = [];
  for (const name of names) {
    if (name.startsWith(".")) continue;
    const p = path.join(dir, name);
    try {
      if (!fs.statSync(p).isFile()) continue;
      files.push({ name, data: new Uint8Array(fs.readFileSync(p)) });
    } catch (e) {
      const why = (e as NodeJS.ErrnoException).code ?? String(e);
      throw new StewardError("steward.collateral", `[dcap] collateral_dir: ${p}: ${why}`, {
        cause: e,
      });
    }
  }
  return files;
}

function readText(
  file: string,
  code: "steward.config" | "steward.ca.invalid" | "steward.policy",
  what: string,
): string {
  try {
    return fs.readFileSync(file, "utf8");
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new StewardError(code, `cannot read the ${what} ${file}: ${why}`, { cause: e });
  }
}

function createHashHex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Replace `file` atomically: temporary file in the same directory, fsync, rename, fsync of the directory. */
function replaceFile(file: string, text: string): void {
  const nonce = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(6))).toString("hex");
  const tmp = `${file}.${nonce}.tmp`;
  let mode = 0o644;
  try {
    mode = fs.statSync(file).mode & 0o777;
  } catch {}
  try {
    const fd = fs.openSync(tmp, "wx", mode);
    try {
      fs.fchmodSync(fd, mode);
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
    const dfd = fs.openSync(path.dirname(file), "r");
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}
