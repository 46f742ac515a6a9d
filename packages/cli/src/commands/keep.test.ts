/**
 * `donjon keep manifest`: in process (flags, usage errors, --output) and the
 * real CLI, whose output must parse as TOML with the keys Gramine needs.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { parse } from "smol-toml";
import { CliError } from "../error.ts";
import { type KeepContext, keep } from "./keep.ts";

const ROOT = path.resolve(import.meta.dirname, "../../../..");
const BIN = path.join(ROOT, "packages/cli/bin/donjon.js");

const temps: string[] = [];
after(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-keep-"));
  temps.push(d);
  return d;
}

function fake(): KeepContext & { stdout: string; stderr: string; files: Map<string, string> } {
  const ctx = {
    cwd: "/work",
    stdout: "",
    stderr: "",
    files: new Map<string, string>(),
    nodePath: "/opt/node/bin/node",
    out: (t: string) => {
      ctx.stdout += t;
    },
    err: (t: string) => {
      ctx.stderr += t;
    },
    writeFile: (p: string, data: Uint8Array) => {
      if (p.startsWith("/missing/")) throw Object.assign(new Error("ENOENT"), { code: "ENOENT" });
      ctx.files.set(p, new TextDecoder().decode(data));
    },
  };
  return ctx;
}

type Manifest = {
  loader: { entrypoint: string; argv: string[]; log_level: string; env: Record<string, string> };
  libos: { entrypoint: string };
  fs: { mounts: { path: string; uri: string }[] };
  sys: { insecure__allow_eventfd: boolean; disallow_subprocesses: boolean };
  sgx: {
    remote_attestation: string;
    debug: boolean;
    enclave_size: string;
    max_threads: number;
    trusted_files: string[];
  };
};

describe("donjon keep manifest, in process", () => {
  it("prints the template for sgx with the flags applied", async () => {
    const ctx = fake();
    const status = await keep(
      [
        "manifest",
        "--backend",
        "sgx",
        "--runtime-dir",
        "/opt/donjon",
        "--enclave-size=8G",
        "--max-threads",
        "48",
        "--debug",
      ],
      ctx,
    );
    assert.equal(status, 0);
    const m = parse(ctx.stdout) as unknown as Manifest;
    assert.equal(m.libos.entrypoint, "/opt/node/bin/node");
    assert.deepEqual(m.loader.argv.slice(-3), [
      "/opt/donjon/packages/keep/bin/keep.js",
      "--backend",
      "sgx",
    ]);
    assert.equal(m.sgx.enclave_size, "8G");
    assert.equal(m.sgx.max_threads, 48);
    assert.equal(m.sgx.debug, true);
  });

  it("--output writes the file (relative to the working directory) and prints nothing", async () => {
    const ctx = fake();
    assert.equal(await keep(["manifest", "--backend", "sgx", "--output", "k.toml"], ctx), 0);
    assert.equal(ctx.stdout, "");
    assert.match(ctx.files.get("/work/k.toml")!, /^sgx\.remote_attestation = "dcap"$/m);
    assert.match(ctx.stderr, /wrote the Gramine manifest template to k\.toml/);
  });

  const usage: [string[], RegExp][] = [
    [["manifest"], /--backend is required \(only sgx has a manifest\)/],
    [
      ["manifest", "--backend", "snp"],
      /backend snp needs no manifest: only sgx \(Gramine\) does; snp and tdx run Donjon inside the confidential VM/,
    ],
    [
      ["manifest", "--backend", "sandbox"],
      /backend sandbox needs no manifest: only sgx .*sandbox needs nothing prepared/,
    ],
    [
      ["manifest", "--backend", "sev"],
      /unknown backend "sev" \(expected one of nil, sandbox, snp, tdx, sgx\)/,
    ],
    [
      ["manifest", "--backend", "sgx", "--max-threads", "many"],
      /--max-threads: expected a whole number, got "many"/,
    ],
    [
      ["manifest", "--backend", "sgx", "--max-threads", "0"],
      /maxThreads: expected an integer 1–1024, got 0/,
    ],
    [
      ["manifest", "--backend", "sgx", "--enclave-size", "lots"],
      /enclaveSize: expected a number with unit K, M or G/,
    ],
    [
      ["manifest", "--backend", "sgx", "--entry", "/tmp/x.js"],
      /entry: expected a file inside runtimeDir/,
    ],
    [["manifest", "--backend", "sgx", "extra"], /unexpected argument "extra"/],
    [["manifest", "--bakend", "sgx"], /unknown flag --bakend/],
    [["show"], /unknown verb "show" for keep \(expected manifest/],
  ];
  for (const [argv, message] of usage) {
    it(`${argv.join(" ")} is a usage error`, async () => {
      await assert.rejects(
        keep(argv, fake()),
        (e: unknown) => e instanceof CliError && e.code === "USAGE" && message.test(e.message),
      );
    });
  }

  it("an --output whose directory is missing: NOT_FOUND", async () => {
    await assert.rejects(
      keep(["manifest", "--backend", "sgx", "--output", "/missing/k.toml"], fake()),
      (e: unknown) =>
        e instanceof CliError &&
        e.code === "NOT_FOUND" &&
        /its directory does not exist/.test(e.message),
    );
  });

  it("help, and no verb", async () => {
    const ctx = fake();
    assert.equal(await keep(["manifest", "--help"], ctx), 0);
    assert.match(ctx.stdout, /^Usage: donjon keep manifest --backend sgx/);
    assert.equal(await keep([], ctx), 2);
    assert.match(ctx.stderr, /^Usage: donjon keep <VERB>/);
  });
});

describe("donjon keep manifest, the real CLI", () => {
  const donjon = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });

  it("prints TOML with the keys Gramine needs to run this installation's Keep", () => {
    const r = donjon("keep", "manifest", "--backend", "sgx");
    assert.equal(r.status, 0, r.stderr);
    const m = parse(r.stdout) as unknown as Manifest;
    assert.equal(m.loader.entrypoint, "file:{{ gramine.libos }}");
    assert.equal(m.libos.entrypoint, process.execPath);
    assert.equal(m.loader.argv[0], process.execPath);
    assert.ok(m.loader.argv.includes("--permission"));
    assert.ok(m.loader.argv.includes(path.join(ROOT, "packages/keep/bin/keep.js")));
    assert.equal(m.loader.log_level, "error");
    assert.deepEqual(Object.keys(m.loader.env), ["LD_LIBRARY_PATH"]);
    assert.ok(m.fs.mounts.some((x) => x.path === path.join(ROOT, "packages")));
    assert.equal(m.sys.insecure__allow_eventfd, true);
    assert.equal(m.sgx.remote_attestation, "dcap");
    assert.equal(m.sgx.debug, false);
    assert.equal(m.sgx.enclave_size, "4G");
    assert.equal(m.sgx.max_threads, 32);
    assert.ok(m.sgx.trusted_files.includes(`file:${path.join(ROOT, "packages")}/`));
    assert.ok(m.sgx.trusted_files.includes(`file:${process.execPath}`));
  });

  it("--output FILE writes the same text", () => {
    const file = path.join(tempDir(), "keep.manifest.template");
    const r = donjon("keep", "manifest", "--backend", "sgx", "--output", file);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(
      fs.readFileSync(file, "utf8"),
      donjon("keep", "manifest", "--backend", "sgx").stdout,
    );
  });

  it("another backend: exit 2 and a message saying only sgx needs a manifest", () => {
    const r = donjon("keep", "manifest", "--backend", "tdx");
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^donjon: backend tdx needs no manifest: only sgx \(Gramine\) does/);
  });

  it("donjon help keep shows the verbs", () => {
    const r = donjon("help", "keep");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: donjon keep <VERB>/);
  });
});
