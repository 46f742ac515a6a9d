/**
 * The command line driven in-process with an injected context: no child
 * process, no host files. (run.test.ts runs the real bin end to end.)
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { fakePlatformPort } from "@donjon/keep";
import { type CliContext, dispatch, VERSION } from "./cli.ts";
import { CliError, type CliErrorCode } from "./error.ts";

/** (module (memory (export "memory") 1) (func (export "_start"))) */
const COMMAND = Uint8Array.from([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 5, 3, 1, 0, 1, 7, 0x13, 2, 6,
  0x6d, 0x65, 0x6d, 0x6f, 0x72, 0x79, 2, 0, 6, 0x5f, 0x73, 0x74, 0x61, 0x72, 0x74, 0, 0, 10, 4, 1,
  2, 0, 0x0b,
]);

interface Fake extends CliContext {
  stdout: string;
  stderr: string;
}

function fake(files: Record<string, Uint8Array | string> = {}, dirs: string[] = []): Fake {
  const ctx: Fake = {
    stdout: "",
    stderr: "",
    cwd: "/work",
    out: (t) => {
      ctx.stdout += t;
    },
    err: (t) => {
      ctx.stderr += t;
    },
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
      return typeof f === "string" ? new TextEncoder().encode(f) : Uint8Array.from(f);
    },
    kindOf: (p) => (dirs.includes(p) ? "directory" : p in files ? "file" : "missing"),
    openStdin: () => assert.fail("stdin is not read in these tests"),
    writeOut: (b) => {
      ctx.stdout += new TextDecoder().decode(b);
    },
    writeErr: (b) => {
      ctx.stderr += new TextDecoder().decode(b);
    },
    makeDir: () => assert.fail("no directories are made in these tests"),
    writeFile: () => assert.fail("no files are written in these tests"),
    platform: async () => fakePlatformPort({ kernel: "6.8.0" }),
    stateDir: "/nonexistent/state/donjon",
    nodePath: process.execPath,
    now: () => new Date(0),
    fetch: () => assert.fail("no fetch in these tests"),
  };
  return ctx;
}

async function refused(
  argv: string[],
  ctx: CliContext,
  code: CliErrorCode,
  message: string,
): Promise<void> {
  await assert.rejects(dispatch(argv, ctx), (e: unknown) => {
    assert.ok(e instanceof CliError, String(e));
    assert.equal(e.code, code);
    assert.equal(e.message, message);
    return true;
  });
}

describe("dispatch", () => {
  test("--version and -V print the package version", async () => {
    for (const flag of ["--version", "-V"]) {
      const ctx = fake();
      assert.equal(await dispatch([flag], ctx), 0);
      assert.equal(ctx.stdout, `donjon ${VERSION}\n`);
    }
  });

  test("no arguments: help on stderr, exit 2", async () => {
    const ctx = fake();
    assert.equal(await dispatch([], ctx), 2);
    assert.match(ctx.stderr, /^donjon .*\n\nUsage: donjon <COMMAND>/);
    assert.equal(ctx.stdout, "");
  });

  test("help, help run, run --help", async () => {
    const a = fake();
    assert.equal(await dispatch(["help"], a), 0);
    assert.match(a.stdout, /Commands:\n {2}run/);
    const b = fake();
    assert.equal(await dispatch(["help", "run"], b), 0);
    const c = fake();
    assert.equal(await dispatch(["run", "--help"], c), 0);
    assert.equal(b.stdout, c.stdout);
    for (const flag of [
      "--dir",
      "--dir-ro",
      "--env",
      "--config",
      "--backend",
      "--max-memory",
      "--timeout",
    ]) {
      assert.ok(c.stdout.includes(`  ${flag} `), `run --help documents ${flag}`);
    }
  });

  test("unknown command, flag, help topic", async () => {
    await refused(["frob"], fake(), "USAGE", 'unknown command "frob" (see donjon --help)');
    await refused(["--frob"], fake(), "USAGE", "unknown flag --frob (see donjon --help)");
    await refused(["help", "frob"], fake(), "USAGE", 'unknown command "frob" (see donjon --help)');
  });
});

describe("run, up to the point of running", () => {
  test("a TEE backend named on a machine without it is refused with the failed probes and their fixes", async () => {
    for (const b of ["snp", "tdx", "sgx"]) {
      await assert.rejects(dispatch(["run", "--backend", b, "app.wasm"], fake()), (e: unknown) => {
        assert.ok(e instanceof CliError);
        assert.equal(e.code, "BACKEND_UNAVAILABLE");
        assert.match(e.message, new RegExp(`^backend ${b} cannot run here`));
        assert.ok(
          e.details.length > 0 && e.details.every((d) => d.startsWith("  ✗ ")),
          e.details.join("\n"),
        );
        assert.ok(
          e.details.some((d) => d.includes(" — fix: ")),
          e.details.join("\n"),
        );
        return true;
      });
    }
  });

  test("a missing module, a missing config", async () => {
    await refused(["run", "app.wasm"], fake(), "NOT_FOUND", "module app.wasm not found");
    await refused(
      ["run", "--config", "Donjon.toml", "app.wasm"],
      fake({ "/work/app.wasm": COMMAND }),
      "NOT_FOUND",
      "config file Donjon.toml not found",
    );
  });

  test("a config that is not UTF-8", async () => {
    await refused(
      ["run", "--config", "Donjon.toml", "app.wasm"],
      fake({ "/work/Donjon.toml": Uint8Array.from([0xff, 0xfe]) }),
      "CONFIG",
      "Donjon.toml: not valid UTF-8",
    );
  });

  test("a guest path given twice on the command line", async () => {
    await refused(
      ["run", "--dir", "a::/d", "--dir-ro", "b::/d", "app.wasm"],
      fake({ "/work/app.wasm": COMMAND }, ["/work/a", "/work/b"]),
      "USAGE",
      "--dir-ro b: guest path /d is mapped twice",
    );
  });

  test("a --dir that is a file, a [[dirs]] host that is missing", async () => {
    await refused(
      ["run", "--dir", "app.wasm::/d", "app.wasm"],
      fake({ "/work/app.wasm": COMMAND }),
      "NOT_FOUND",
      "--dir app.wasm: not a directory",
    );
    await refused(
      ["run", "--config", "cfg/Donjon.toml", "app.wasm"],
      fake({
        "/work/app.wasm": COMMAND,
        "/work/cfg/Donjon.toml": '[[dirs]]\nguest = "/d"\nhost = "data"\n',
      }),
      "NOT_FOUND",
      "[[dirs]] host /work/cfg/data: no such directory",
    );
  });

  test("64-bit memories are refused", async () => {
    const mem64 = Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 5, 3, 1, 0x04, 0x01]);
    await refused(
      ["run", "m.wasm"],
      fake({ "/work/m.wasm": mem64 }),
      "INVALID_MODULE",
      "m.wasm: 64-bit memories (memory64) are not supported",
    );
  });
});
