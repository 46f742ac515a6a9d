/**
 * `donjon keep VERB`: what a Keep backend needs prepared outside Donjon.
 * Today one verb, `manifest`: the Gramine manifest template that runs the
 * Keep runtime inside an SGX enclave (`@donjon/keep` `gramineManifest`).
 */
import * as path from "node:path";
import { BACKEND_NAMES, gramineManifest, KeepError } from "@donjon/keep";
import { CliError } from "../error.ts";
import { parseArgs } from "./attest/_args.ts";

/** What `donjon keep` needs from the process; `main` makes the real one. */
export interface KeepContext {
  /** Directory that relative paths on the command line are resolved against. */
  cwd: string;
  /** Write to stdout (the manifest, help). */
  out(text: string): void;
  /** Write to stderr. */
  err(text: string): void;
  /** Write a whole file (`--output`). Default: node:fs `writeFileSync`. */
  writeFile?(path: string, data: Uint8Array): void;
  /** The Node binary the manifest runs. Default: the one running donjon. */
  nodePath?: string;
}

/** The installed Donjon tree (packages/ and node_modules/): this file is packages/cli/src/commands/keep.ts. */
const RUNTIME_DIR = path.resolve(import.meta.dirname, "../../../..");
/** The Keep process entry, as `host.ts` starts it. */
const KEEP_ENTRY = "packages/keep/bin/keep.js";

export const KEEP_HELP = `Usage: donjon keep <VERB> [OPTIONS]

What a Keep backend needs prepared outside Donjon.

Verbs:
  manifest  Write the Gramine manifest template that runs the Keep runtime
            in an SGX enclave (donjon keep manifest --help)
`;

export const MANIFEST_HELP = `Usage: donjon keep manifest --backend sgx [OPTIONS]

Write the Gramine manifest template (TOML) that runs the Keep runtime — Node
running ${KEEP_ENTRY} under its permission model — inside an SGX
enclave with DCAP remote attestation. Every key is explained by a comment in
the output. Then:

  gramine-manifest keep.manifest.template keep.manifest
  gramine-sgx-sign --manifest keep.manifest --output keep.manifest.sgx
  gramine-sgx keep

Only sgx needs a manifest: snp and tdx run Donjon inside a confidential VM
as it is, and nil and sandbox need nothing prepared.

Options:
  --backend NAME        The backend (required; only sgx has a manifest).
  --output FILE         Write the manifest to FILE instead of stdout.
  --node PATH           The Node binary to run (default: the one running donjon).
  --runtime-dir DIR     The Donjon tree holding packages/ and node_modules/
                        (default: this installation).
  --entry FILE          The Keep entry (default: DIR/${KEEP_ENTRY}).
  --enclave-size SIZE   sgx.enclave_size, e.g. 4G (default 4G).
  --max-threads N       sgx.max_threads (default 32).
  --debug               A debug enclave (sgx.debug = true): never for production.
  -h, --help            Show this help.

Exit status: 0 when the manifest was written; 1 if --output cannot be
written; 2 for a usage error.
`;

const SPEC = {
  values: {
    "--backend": {},
    "--output": {},
    "--node": {},
    "--runtime-dir": {},
    "--entry": {},
    "--enclave-size": {},
    "--max-threads": {},
  },
  booleans: ["--debug"],
};

/** Run `donjon keep` with `argv` (what follows `keep`); resolve to the exit status. */
export async function keep(argv: readonly string[], ctx: KeepContext): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined) {
    ctx.err(KEEP_HELP);
    return 2;
  }
  if (verb === "-h" || verb === "--help") {
    ctx.out(KEEP_HELP);
    return 0;
  }
  if (verb !== "manifest") {
    throw new CliError(
      "USAGE",
      `unknown verb ${JSON.stringify(verb)} for keep (expected manifest; see donjon keep --help)`,
    );
  }
  return manifest(rest, ctx);
}

async function manifest(argv: readonly string[], ctx: KeepContext): Promise<number> {
  const a = parseArgs(argv, SPEC, "keep manifest");
  if (a.help) {
    ctx.out(MANIFEST_HELP);
    return 0;
  }
  const usage = (m: string) => new CliError("USAGE", `${m} (see donjon keep manifest --help)`);
  if (a.positionals.length > 0)
    throw usage(`unexpected argument ${JSON.stringify(a.positionals[0])}`);
  const value = (name: string) => a.values.get(name)?.[0];

  const backend = value("--backend");
  if (backend === undefined) throw usage("--backend is required (only sgx has a manifest)");
  if (!(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw usage(
      `unknown backend ${JSON.stringify(backend)} (expected one of ${BACKEND_NAMES.join(", ")})`,
    );
  }
  if (backend !== "sgx") {
    throw usage(
      `backend ${backend} needs no manifest: only sgx (Gramine) does; ${
        backend === "snp" || backend === "tdx"
          ? "snp and tdx run Donjon inside the confidential VM as it is"
          : `${backend} needs nothing prepared`
      }`,
    );
  }

  const resolve = (p: string) => path.resolve(ctx.cwd, p);
  const runtimeDir = resolve(value("--runtime-dir") ?? RUNTIME_DIR);
  const maxThreads = value("--max-threads");
  if (maxThreads !== undefined && !/^[0-9]+$/.test(maxThreads)) {
    throw usage(`--max-threads: expected a whole number, got ${JSON.stringify(maxThreads)}`);
  }
  let text: string;
  try {
    text = gramineManifest({
      // process.execPath: the Node running donjon is the one the sandbox backend runs the Keep with.
      nodePath: resolve(value("--node") ?? ctx.nodePath ?? process.execPath),
      runtimeDir,
      entry: resolve(value("--entry") ?? path.join(runtimeDir, KEEP_ENTRY)),
      ...(value("--enclave-size") === undefined ? {} : { enclaveSize: value("--enclave-size") }),
      ...(maxThreads === undefined ? {} : { maxThreads: Number(maxThreads) }),
      debug: a.booleans.has("--debug"),
    });
  } catch (e) {
    if (e instanceof KeepError && e.code === "keep.gramine.options") throw usage(e.message);
    throw e;
  }

  const output = value("--output");
  if (output === undefined) {
    ctx.out(text);
    return 0;
  }
  const file = resolve(output);
  const write = ctx.writeFile ?? process.getBuiltinModule("node:fs").writeFileSync;
  try {
    write(file, new TextEncoder().encode(text));
  } catch (e) {
    const code = (e as { code?: unknown }).code;
    if (code === "ENOENT" || code === "ENOTDIR") {
      throw new CliError("NOT_FOUND", `--output ${output}: its directory does not exist`);
    }
    if (code === "EISDIR") throw new CliError("NOT_FOUND", `--output ${output} is a directory`);
    if (code === "EACCES") throw new CliError("NOT_FOUND", `--output ${output}: permission denied`);
    throw e;
  }
  ctx.err(`donjon: wrote the Gramine manifest template to ${output}\n`);
  return 0;
}
