/**
 * Donjon.toml: what a workload declares it needs. The subset `donjon run`
 * reads today, compatible with Enarx.toml:
 *
 * ```toml
 * steward = "https://steward.example"   # Enarx; the nil backend ignores it
 * args = ["--verbose"]                  # after argv[0], before command-line args
 * [env]
 * GREETING = "hello"
 * [[files]]                             # the n-th entry is fd n (Enarx semantics)
 * kind = "stdin"                        # fds 0-2: null | stdin | stdout | stderr
 * name = "in"                           # optional; FD_NAMES lists the names
 * [[files]]                             # fd 3 on: listen | connect (see @donjon/keep net_config.ts)
 * kind = "listen"
 * prot = "tls"                          # TLS ends inside the Keep; "tcp": plain
 * addr = "127.0.0.1"
 * port = 8443
 * [trust]                               # CAs connect sockets trust
 * roots = ["-----BEGIN CERTIFICATE-----…"]
 * [[dirs]]                              # Donjon: preopened directories
 * guest = "/data"
 * host = "./data"                       # relative to this file; omit for an in-memory directory
 * mode = "rw"                           # "ro" (default) or "rw"
 * [limits]
 * memory = "256MiB"
 * time = "30s"
 * ```
 *
 * Strict: an unknown key or a wrong type is an error that names the key, the
 * file and the line.
 */
import * as path from "node:path";
import { NetConfigError, type NetPlan, readNetPlan } from "@donjon/keep/net-config";
import { type Path, readStrictToml, show, typeName } from "./_toml_strict.ts";
import {
  DURATION_HINT,
  MAX_MEMORY_LIMIT,
  MAX_TIME_LIMIT_MS,
  MAX_TIME_LIMIT_TEXT,
  parseDuration,
  parseSize,
  SIZE_HINT,
} from "./_units.ts";

/** What a file descriptor can be: stdio kinds for fds 0-2, sockets from fd 3. */
export type FileKind = "null" | "stdin" | "stdout" | "stderr" | "listen" | "connect";

/** One `[[files]]` entry: the fd at its index. */
export interface FileSpec {
  kind: FileKind;
  /** The name in FD_NAMES; defaults to the kind, as in Enarx. */
  name: string;
}

/** One `[[dirs]]` entry. */
export interface DirSpec {
  /** Guest path of the preopen ("/data"). */
  guest: string;
  /** Absolute host directory, or null for an in-memory directory. */
  host: string | null;
  readonly: boolean;
}

/** A validated Donjon.toml. */
export interface Config {
  /** Steward URL (Enarx `steward`), or null. */
  steward: string | null;
  args: string[];
  env: Record<string, string>;
  /** `[[files]]`, or null when the file has none (then stdin, stdout, stderr). */
  files: FileSpec[] | null;
  dirs: DirSpec[];
  /** `[[files]]` listen and connect entries and `[trust]`: read the same way by the Keep. */
  net: NetPlan;
  limits: {
    /** Bytes, or null when not set. */
    memory: number | null;
    /** Milliseconds, or null when not set. */
    time: number | null;
  };
}

const TOP_KEYS = ["steward", "args", "env", "files", "dirs", "trust", "limits"];
const FILE_KINDS = ["null", "stdin", "stdout", "stderr", "listen", "connect"];
const FILE_KEYS = ["kind", "name"];
const DIR_KEYS = ["guest", "host", "mode"];
const LIMIT_KEYS = ["memory", "time"];
/** The kinds each of fds 0, 1, 2 can be: the WASI host gives fd 0 read rights, 1 and 2 write rights. */
const FD_KINDS: readonly (readonly FileKind[])[] = [
  ["stdin", "null"],
  ["stdout", "stderr", "null"],
  ["stdout", "stderr", "null"],
];

/**
 * Parse and validate a Donjon.toml (or Enarx.toml).
 * @param source the file's text
 * @param file how to name the file in messages (the path the user gave)
 * @param dir absolute directory of the file; `[[dirs]] host` paths are relative to it
 */
export function parseConfig(source: string, file: string, dir: string): Config {
  const { doc, fail, keys, table } = readStrictToml(source, file);
  const str = (v: unknown, p: Path): string => {
    if (typeof v !== "string") fail(p, `"${show(p)}" must be a string, got ${typeName(v)}`);
    if ((v as string).includes("\0")) fail(p, `"${show(p)}" must not contain a NUL character`);
    return v as string;
  };
  const tables = (v: unknown, p: Path): Record<string, unknown>[] => {
    if (!Array.isArray(v)) fail(p, `"${show(p)}" must be an array of tables, got ${typeName(v)}`);
    return (v as unknown[]).map((t, i) => table(t, [...p, i]));
  };

  keys(doc, [], TOP_KEYS);
  const config: Config = {
    steward: null,
    args: [],
    env: {},
    files: null,
    dirs: [],
    net: { entries: [], names: null, trust: { roots: [], public: true } },
    limits: { memory: null, time: null },
  };

  if (doc.steward !== undefined) {
    const url = str(doc.steward, ["steward"]);
    if (!URL.canParse(url))
      fail(["steward"], `"steward" must be a URL, got ${JSON.stringify(url)}`);
    config.steward = url;
  }

  if (doc.args !== undefined) {
    if (!Array.isArray(doc.args)) {
      fail(["args"], `"args" must be an array of strings, got ${typeName(doc.args)}`);
    }
    config.args = (doc.args as unknown[]).map((a, i) => str(a, ["args", i]));
  }

  if (doc.env !== undefined) {
    const env = table(doc.env, ["env"]);
    for (const [k, v] of Object.entries(env)) {
      if (k === "" || k.includes("=") || k.includes("\0")) {
        fail(["env", k], `environment variable name ${JSON.stringify(k)} is not valid`);
      }
      if (k === "FD_COUNT" || k === "FD_NAMES") {
        fail(["env", k], `"env.${k}" is set by donjon from [[files]]`);
      }
      config.env[k] = str(v, ["env", k]);
    }
  }

  if (doc.files !== undefined) {
    const files = tables(doc.files, ["files"]);
    config.files = files.map((f, i) => {
      const p: Path = ["files", i];
      if (f.kind === undefined)
        fail(p, `"${show(p)}" needs a "kind" (one of: ${FILE_KINDS.join(", ")})`);
      const kind = str(f.kind, [...p, "kind"]);
      if (!FILE_KINDS.includes(kind)) {
        fail(
          [...p, "kind"],
          `"${show([...p, "kind"])}" must be one of: ${FILE_KINDS.join(", ")}; got ${JSON.stringify(kind)}`,
        );
      }
      if (kind === "listen" || kind === "connect") {
        // Checked below by readNetPlan, the Keep's own reader.
        return { kind, name: typeof f.name === "string" ? f.name : kind };
      }
      keys(f, p, FILE_KEYS);
      let name = kind;
      if (f.name !== undefined) {
        name = str(f.name, [...p, "name"]);
        if (name.includes(":")) {
          fail(
            [...p, "name"],
            `"${show([...p, "name"])}" must not contain ":" (FD_NAMES is colon-separated)`,
          );
        }
      }
      if (i < FD_KINDS.length && !FD_KINDS[i]!.includes(kind as FileKind)) {
        fail(
          [...p, "kind"],
          `"${show([...p, "kind"])}" = "${kind}": fd ${i} can only be ${FD_KINDS[i]!.map((k) => `"${k}"`).join(" or ")} for now`,
          "UNSUPPORTED",
        );
      }
      if (i >= FD_KINDS.length) {
        fail(
          [...p, "kind"],
          `"${show([...p, "kind"])}" = "${kind}": fds from 3 on are sockets, "listen" or "connect"`,
          "UNSUPPORTED",
        );
      }
      return { kind: kind as FileKind, name };
    });
  }
  try {
    config.net = readNetPlan(doc);
  } catch (e) {
    if (e instanceof NetConfigError) fail(e.path, e.message);
    throw e;
  }

  if (doc.dirs !== undefined) {
    const seen = new Set<string>();
    config.dirs = tables(doc.dirs, ["dirs"]).map((d, i) => {
      const p: Path = ["dirs", i];
      keys(d, p, DIR_KEYS);
      if (d.guest === undefined) fail(p, `"${show(p)}" needs a "guest" path`);
      const guest = str(d.guest, [...p, "guest"]);
      if (!guest.startsWith("/")) {
        fail(
          [...p, "guest"],
          `"${show([...p, "guest"])}" must be an absolute path, got ${JSON.stringify(guest)}`,
        );
      }
      if (seen.has(guest))
        fail([...p, "guest"], `"${show([...p, "guest"])}": ${guest} is listed twice`);
      seen.add(guest);
      const host = d.host === undefined ? null : path.resolve(dir, str(d.host, [...p, "host"]));
      let readonly = true;
      if (d.mode !== undefined) {
        const mode = str(d.mode, [...p, "mode"]);
        if (mode !== "ro" && mode !== "rw") {
          fail(
            [...p, "mode"],
            `"${show([...p, "mode"])}" must be "ro" or "rw", got ${JSON.stringify(mode)}`,
          );
        }
        readonly = mode === "ro";
      }
      return { guest, host, readonly };
    });
  }

  if (doc.limits !== undefined) {
    const limits = table(doc.limits, ["limits"]);
    keys(limits, ["limits"], LIMIT_KEYS);
    if (limits.memory !== undefined) {
      const p = ["limits", "memory"];
      const v = limits.memory;
      const bytes = Number.isSafeInteger(v) ? (v as number) : parseSize(str(v, p));
      if (bytes === null || bytes < 0) {
        fail(p, `"limits.memory" = ${JSON.stringify(v)} is not a size: expected ${SIZE_HINT}`);
      }
      if (bytes! > MAX_MEMORY_LIMIT) {
        fail(p, `"limits.memory" = ${JSON.stringify(v)} is above the wasm32 maximum of 4GiB`);
      }
      config.limits.memory = bytes;
    }
    if (limits.time !== undefined) {
      const p = ["limits", "time"];
      const ms = parseDuration(str(limits.time, p));
      if (ms === null || ms <= 0) {
        fail(
          p,
          `"limits.time" = ${JSON.stringify(limits.time)} is not a duration: expected ${DURATION_HINT}`,
        );
      }
      if (ms! > MAX_TIME_LIMIT_MS) {
        fail(
          p,
          `"limits.time" = ${JSON.stringify(limits.time)} is above the maximum of ${MAX_TIME_LIMIT_TEXT}`,
        );
      }
      config.limits.time = ms;
    }
  }
  return config;
}
