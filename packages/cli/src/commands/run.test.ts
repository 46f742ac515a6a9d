/**
 * End to end: the real `donjon` bin as a child process, on real modules —
 * the shared programs (examples/, test/wasm/, built by `npm run build:wasm`)
 * and this package's fixtures (test/fixtures/). Exit statuses and messages
 * are asserted exactly.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";

const ROOT = path.resolve(import.meta.dirname, "../../../..");
const BIN = path.join(ROOT, "packages/cli/bin/donjon.js");
const FIXTURES = "packages/cli/test/fixtures";

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

interface Options {
  /** Written to stdin, which is then closed. Default: stdin closed at once. */
  input?: string;
  /** Leave stdin open (a pipe nobody writes to) for the whole run. */
  holdStdin?: boolean;
  cwd?: string;
}

/** A state directory of the tests' own, so sandbox Keeps never touch the user's key. */
const STATE_HOME = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-state-"));
const NIL_NOTE =
  "donjon: note: backend nil: the workload runs in this process, with no isolation and no evidence\n";

/**
 * Run `donjon ARGS...` from the repository root (or `cwd`). With `backend`,
 * `run` gets `--backend BACKEND`; nil's note about its missing isolation is
 * checked and taken out of stderr, so the same assertions hold on every backend.
 */
function runDonjon(
  args: string[],
  options: Options = {},
  backend: string | null = null,
): Promise<Result> {
  const start = performance.now();
  const argv =
    backend !== null && args[0] === "run" ? ["run", "--backend", backend, ...args.slice(1)] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...argv], {
      cwd: options.cwd ?? ROOT,
      stdio: ["pipe", "pipe", "pipe"],
      env: { ...process.env, XDG_STATE_HOME: STATE_HOME },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => (stdout += s));
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    child.stdin.on("error", () => {}); // the guest may exit without reading
    if (!options.holdStdin) child.stdin.end(options.input ?? "");
    const kill = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (status) => {
      clearTimeout(kill);
      child.stdin.destroy();
      if (backend === "nil" && args[0] === "run" && !args.includes("--help")) {
        if (!stderr.startsWith(NIL_NOTE) && status !== 2) {
          reject(new Error(`backend nil did not say it has no isolation:\n${stderr}`));
          return;
        }
        stderr = stderr.replace(NIL_NOTE, "");
      }
      resolve({ status, stdout, stderr, ms: performance.now() - start });
    });
  });
}

/** A shared program; fails (does not skip) when it has not been built. */
function program(rel: string): string {
  if (!fs.existsSync(path.join(ROOT, rel))) {
    assert.fail(`${rel} is missing: build it with npm run build:wasm`);
  }
  return rel;
}

const temps: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-cli-"));
  temps.push(d);
  return d;
}
after(() => {
  fs.rmSync(STATE_HOME, { recursive: true, force: true });
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

// The same workloads and the same assertions on every backend that runs here:
// in process (nil) and in a sandbox Keep (a separate locked-down process
// speaking sallyport). The sandbox key is made once, before the Keeps race for it.
before(async () => {
  const r = await runDonjon(["run", "--backend", "sandbox", "examples/hello.wasm"]);
  assert.equal(r.status, 0, r.stderr);
});

for (const backend of ["nil", "sandbox"])
  describe(`donjon run (${backend})`, { concurrency: true }, () => {
    const donjon = (args: string[], options: Options = {}) => runDonjon(args, options, backend);

    test("hello: args, env, stdout, exit 0", async () => {
      const r = await donjon([
        "run",
        "--env",
        "NAME=Ada",
        program("examples/hello.wasm"),
        "a",
        "b",
      ]);
      assert.deepEqual(r, {
        ...r,
        status: 0,
        stdout: "Hello from Donjon! argv[0]=hello.wasm argv[1]=a argv[2]=b\nHello, Ada!\n",
        stderr: "",
      });
    });

    test("args and env reach the guest in order; --env may repeat and later wins", async () => {
      const r = await donjon([
        "run",
        "--env",
        "A=1",
        "--env=B=x=y",
        "--env",
        "A=2",
        `${FIXTURES}/env_args.wasm`,
        "one",
        "two words",
        "--env",
      ]);
      assert.equal(r.stderr, "");
      assert.equal(r.status, 0);
      assert.equal(
        r.stdout,
        "arg: env_args.wasm\narg: one\narg: two words\narg: --env\nenv: A=2\nenv: B=x=y\n",
      );
    });

    test("the exit status is the guest's exit code & 255", async () => {
      const exitcode = program("test/wasm/exitcode.wasm");
      for (const [code, want] of [
        ["0", 0],
        ["7", 7],
        ["255", 255],
        ["300", 44],
      ] as const) {
        const r = await donjon(["run", exitcode, code]);
        assert.equal(r.status, want, `exit ${code}`);
        assert.equal(r.stderr, `exitcode: exiting with ${code}\n`);
      }
    });

    test("a trap exits 134 with the trap and the wasm backtrace", async () => {
      const r = await donjon(["run", `${FIXTURES}/deep_trap.wasm`]);
      assert.equal(r.status, 134);
      assert.equal(r.stdout, "");
      assert.equal(
        r.stderr,
        "donjon: wasm trap: divide by zero\n" +
          "  at inner (wasm function 0)\n" +
          "  at outer (wasm function 1)\n" +
          "  at _start (wasm function 2)\n",
      );
    });

    test("a trap in a C program names its functions, innermost first", async () => {
      const r = await donjon(["run", program("test/wasm/trap.wasm")]);
      assert.equal(r.status, 134);
      assert.equal(r.stdout, "about to trap\n");
      const lines = r.stderr.trimEnd().split("\n");
      assert.equal(lines[0], "donjon: wasm trap: unreachable executed");
      const names = lines.slice(1).map((l) => /^ {2}at (\S+) \(wasm function \d+\)$/.exec(l)?.[1]);
      assert.ok(!names.includes(undefined), r.stderr);
      assert.deepEqual(names.slice(0, 4), [
        "donjon_trap_innermost",
        "donjon_trap_middle",
        "donjon_trap_outer",
        "main",
      ]);
    });

    test("--timeout stops a spinning guest: exit 124 and one line", async () => {
      const r = await donjon(["run", "--timeout", "300ms", program("test/wasm/spin.wasm")]);
      assert.equal(r.status, 124);
      assert.equal(r.stdout, "spinning\n");
      assert.equal(
        r.stderr,
        "donjon: time limit of 300ms reached; the workload was stopped (--timeout / [limits] time)\n",
      );
      assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
    });

    test("--timeout stops a guest blocked reading a stdin that stays open", async () => {
      const r = await donjon(["run", "--timeout", "300ms", program("test/wasm/stdin_echo.wasm")], {
        holdStdin: true,
      });
      assert.equal(r.status, 124);
      assert.equal(
        r.stderr,
        "donjon: time limit of 300ms reached; the workload was stopped (--timeout / [limits] time)\n",
      );
      assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
    });

    test("stdin reaches the guest, on the main thread and in the worker", async () => {
      const input = `${"0123456789abcdef".repeat(10_000)}\nend\n`;
      for (const flags of [[], ["--timeout", "1m"]]) {
        const r = await donjon(["run", ...flags, program("test/wasm/stdin_echo.wasm")], { input });
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, input);
        assert.equal(r.stderr, `${input.length} bytes\n`);
      }
    });

    test("a guest that finishes within --timeout keeps its exit code", async () => {
      const r = await donjon(["run", "--timeout", "1m", program("test/wasm/exitcode.wasm"), "5"]);
      assert.equal(r.status, 5);
    });

    test("--max-memory below the initial memory refuses to start", async () => {
      const big = program("test/wasm/big_memory.wasm");
      const r = await donjon(["run", "--max-memory", "1GiB", big]);
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        `donjon: ${big}: module needs 1250 MiB of memory at start; the limit is 1024 MiB (--max-memory)\n`,
      );
    });

    test("under the limit, the same module runs", async () => {
      const r = await donjon(["run", "--max-memory", "2GiB", program("test/wasm/big_memory.wasm")]);
      assert.equal(r.stderr, "");
      assert.equal(r.status, 0);
    });

    test("past --max-memory malloc returns NULL, and a note names the limit", async () => {
      const memhog = program("test/wasm/memhog.wasm");
      const fail = await donjon(["run", "--max-memory", "16MiB", memhog, "64"]);
      assert.equal(fail.status, 1);
      assert.equal(fail.stdout, "FAIL memhog: expected 64 MiB got NULL from malloc\n");
      assert.match(
        fail.stderr,
        /^donjon: note: the guest was using [\d.]+ MiB of memory under a limit of 16 MiB \(--max-memory\); if it ran out, raise the limit\n$/,
      );
      const ok = await donjon(["run", "--max-memory", "16MiB", memhog, "8"]);
      assert.equal(ok.status, 0);
      assert.equal(ok.stdout, "ok memhog 8 MiB\n");
    });

    test("a guest that grew to the limit gets the note even with the default limit source", async () => {
      const r = await donjon(["run", "--max-memory", "1MiB", `${FIXTURES}/grow_all.wasm`]);
      assert.equal(r.status, 3);
      assert.equal(
        r.stderr,
        "donjon: note: the guest was using 1 MiB of memory under a limit of 1 MiB (--max-memory); if it ran out, raise the limit\n",
      );
    });

    test("an unknown import is named", async () => {
      const bad = program("test/wasm/bad_import.wasm");
      const r = await donjon(["run", bad]);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, `donjon: ${bad}: unknown import "env"."foo" (function)\n`);
    });

    test("a WASI name the host lacks, or a non-function from WASI, is unknown too", async () => {
      const r = await donjon(["run", `${FIXTURES}/odd_imports.wasm`]);
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        `donjon: ${FIXTURES}/odd_imports.wasm: unknown import "wasi_snapshot_preview1"."fd_frobnicate" (function) and 1 more\n`,
      );
    });

    test("a file that is not WebAssembly", async () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, "notes.wasm"), "hello\n");
      const r = await donjon(["run", "notes.wasm"], { cwd: dir });
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        "donjon: notes.wasm: not a WebAssembly module: expected magic 00 61 73 6d, found 68 65 6c 6c\n",
      );
    });

    test("a module the engine rejects", async () => {
      const dir = tempDir();
      // A function section that declares a function with no code section.
      fs.writeFileSync(
        path.join(dir, "broken.wasm"),
        Uint8Array.from([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0]),
      );
      const r = await donjon(["run", "broken.wasm"], { cwd: dir });
      assert.equal(r.status, 1);
      assert.match(r.stderr, /^donjon: broken\.wasm: not a valid WebAssembly module: .+\n$/);
      assert.doesNotMatch(r.stderr, /WebAssembly\.\w+\(\)/);
    });

    test("a module without _start", async () => {
      const r = await donjon(["run", program("test/wasm/no_start.wasm")]);
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        'donjon: test/wasm/no_start.wasm: not a WASI command: it exports no "_start" function (a library or reactor module?)\n',
      );
    });

    test("a module that does not export its memory", async () => {
      const dir = tempDir();
      // (module (func (export "_start")))
      fs.writeFileSync(
        path.join(dir, "nomem.wasm"),
        Uint8Array.from([
          0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 3, 2, 1, 0, 7, 10, 1, 6, 0x5f, 0x73,
          0x74, 0x61, 0x72, 0x74, 0, 0, 10, 4, 1, 2, 0, 0x0b,
        ]),
      );
      const r = await donjon(["run", "nomem.wasm"], { cwd: dir });
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        'donjon: nomem.wasm: not a WASI command: it does not export its memory as "memory"\n',
      );
    });

    test("a missing module", async () => {
      const r = await donjon(["run", "nothere.wasm", "x"]);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, "donjon: module nothere.wasm not found\n");
    });

    test("--dir is read-write, --dir-ro read-only", async () => {
      const dir = tempDir();
      const rw = await donjon(["run", "--dir", `${dir}::/data`, `${FIXTURES}/write_file.wasm`]);
      assert.equal(rw.stderr, "");
      assert.equal(rw.status, 0);
      assert.equal(fs.readFileSync(path.join(dir, "out.txt"), "utf8"), "written\n");
      fs.rmSync(path.join(dir, "out.txt"));

      const ro = await donjon(["run", "--dir-ro", `${dir}::/data`, `${FIXTURES}/write_file.wasm`]);
      assert.ok(ro.status === 76 || ro.status === 69, `exit ${ro.status}: ENOTCAPABLE or EROFS`);
      assert.deepEqual(fs.readdirSync(dir), []);
    });

    test("--dir without a guest path maps a relative directory under /", async () => {
      const dir = tempDir();
      fs.mkdirSync(path.join(dir, "data"));
      fs.writeFileSync(path.join(dir, "data", "f.txt"), "x");
      const r = await donjon(
        ["run", "--dir", "./data", path.join(ROOT, program("examples/ls.wasm"))],
        {
          cwd: dir,
        },
      );
      assert.equal(r.stderr, "");
      assert.equal(r.status, 0);
      assert.match(r.stdout, /f\.txt/);
    });

    test("--dir naming a missing directory", async () => {
      const r = await donjon([
        "run",
        "--dir",
        "/nonexistent-donjon-dir::/d",
        `${FIXTURES}/write_file.wasm`,
      ]);
      assert.equal(r.status, 1);
      assert.equal(r.stderr, "donjon: --dir /nonexistent-donjon-dir: no such directory\n");
    });

    test("Donjon.toml round trip: args, env, files, dirs, limits; flags add and win", async () => {
      const dir = tempDir();
      fs.mkdirSync(path.join(dir, "data"));
      const config = path.join(dir, "Donjon.toml");
      fs.writeFileSync(
        config,
        `args = ["from-config"]

[env]
GREETING = "hi"
WHO = "config"

[[files]]
kind = "stdin"
name = "in"

[[files]]
kind = "stdout"

[[files]]
kind = "stderr"
name = "log"

[[dirs]]
guest = "/data"
host = "data"
mode = "rw"

[limits]
memory = "64MiB"
time = "1m"
`,
      );
      const env = await donjon([
        "run",
        "--config",
        config,
        "--env",
        "WHO=flag",
        `${FIXTURES}/env_args.wasm`,
        "from-cli",
      ]);
      assert.equal(env.stderr, "");
      assert.equal(env.status, 0);
      assert.equal(
        env.stdout,
        "arg: env_args.wasm\narg: from-config\narg: from-cli\n" +
          "env: GREETING=hi\nenv: WHO=flag\nenv: FD_COUNT=3\nenv: FD_NAMES=in:stdout:log\n",
      );

      const write = await donjon(["run", "--config", config, `${FIXTURES}/write_file.wasm`]);
      assert.equal(write.status, 0, write.stderr);
      assert.equal(fs.readFileSync(path.join(dir, "data", "out.txt"), "utf8"), "written\n");
    });

    test("Donjon.toml: [[dirs]] without host is an in-memory directory; read-only by default", async () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, "rw.toml"), '[[dirs]]\nguest = "/scratch"\nmode = "rw"\n');
      fs.writeFileSync(path.join(dir, "ro.toml"), '[[dirs]]\nguest = "/scratch"\n');
      const rw = await donjon(
        ["run", "--config", "rw.toml", path.join(ROOT, FIXTURES, "write_file.wasm")],
        {
          cwd: dir,
        },
      );
      assert.equal(rw.status, 0, rw.stderr);
      const ro = await donjon(
        ["run", "--config", "ro.toml", path.join(ROOT, FIXTURES, "write_file.wasm")],
        {
          cwd: dir,
        },
      );
      assert.ok(ro.status === 76 || ro.status === 69, `exit ${ro.status}`);
    });

    test("Donjon.toml: a null stdout", async () => {
      const dir = tempDir();
      const config = path.join(dir, "Enarx.toml");
      fs.writeFileSync(
        config,
        '[[files]]\nkind = "stdin"\n[[files]]\nkind = "null"\n[[files]]\nkind = "stderr"\n',
      );
      const r = await donjon(["run", "--config", config, program("examples/hello.wasm")]);
      assert.equal(r.status, 0);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, "");
    });

    test("Donjon.toml: an https steward without --steward-ca is a usage error before any Keep starts", async () => {
      const dir = tempDir();
      const config = path.join(dir, "Enarx.toml");
      fs.writeFileSync(config, 'steward = "https://attest.example.com"\n');
      const r = await donjon(["run", "--config", config, program("examples/hello.wasm")]);
      assert.equal(r.status, 2);
      assert.equal(r.stdout, "");
      assert.equal(
        r.stderr,
        backend === "nil"
          ? `donjon: steward in ${config}: backend nil has no Keep, no key and no evidence to attest with; use a Keep backend (sandbox, snp, tdx, sgx)\n`
          : `donjon: steward in ${config}: https://attest.example.com: give --steward-ca FILE, the CA the Steward's TLS certificate chains to (ca.pem from donjon steward init): a Keep has no system roots\n`,
      );
    });

    test("Donjon.toml: [limits] memory names the config in the refusal", async () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, "Donjon.toml"), '[limits]\nmemory = "1GiB"\n');
      const r = await donjon(
        ["run", "--config", "Donjon.toml", path.join(ROOT, program("test/wasm/big_memory.wasm"))],
        { cwd: dir },
      );
      assert.equal(r.status, 1);
      assert.match(
        r.stderr,
        /module needs 1250 MiB of memory at start; the limit is 1024 MiB \(\[limits\] memory in Donjon\.toml\)\n$/,
      );
    });

    test("Donjon.toml: [limits] time stops the guest; --timeout wins over it", async () => {
      const dir = tempDir();
      const config = path.join(dir, "Donjon.toml");
      fs.writeFileSync(config, '[limits]\ntime = "1h"\n');
      const r = await donjon([
        "run",
        "--config",
        config,
        "--timeout",
        "200ms",
        program("test/wasm/spin.wasm"),
      ]);
      assert.equal(r.status, 124);
      assert.match(r.stderr, /^donjon: time limit of 200ms reached/);
    });

    test("Donjon.toml mistakes: exit 1, file and line named", async () => {
      const dir = tempDir();
      const bad = path.join(dir, "bad.toml");
      fs.writeFileSync(bad, 'args = []\n\n[limits]\nmemroy = "1MiB"\n');
      const r = await donjon(["run", "--config", bad, `${FIXTURES}/env_args.wasm`]);
      assert.equal(r.status, 1);
      assert.equal(
        r.stderr,
        `donjon: ${bad}:4: unknown key "limits.memroy" (expected one of: memory, time)\n`,
      );

      const net = path.join(dir, "net.toml");
      fs.writeFileSync(net, '[[files]]\nkind = "listen"\nname = "web"\nport = 8080\n');
      const n = await donjon(["run", "--config", net, `${FIXTURES}/env_args.wasm`]);
      assert.equal(n.status, 1);
      assert.equal(
        n.stderr,
        `donjon: ${net}:2: fd 0 is stdin; "listen" entries start at fd 3 (the 4th [[files]] entry)\n`,
      );

      const missing = await donjon(["run", "--config", "nope.toml", `${FIXTURES}/env_args.wasm`]);
      assert.equal(missing.status, 1);
      assert.equal(missing.stderr, "donjon: config file nope.toml not found\n");
    });
  });

describe("donjon: usage", { concurrency: true }, () => {
  const cases: [string[], number, RegExp | string, "stdout" | "stderr"][] = [
    [["--version"], 0, "donjon 0.1.0\n", "stdout"],
    [["-V"], 0, "donjon 0.1.0\n", "stdout"],
    [["--help"], 0, /^donjon 0\.1\.0: run WebAssembly workloads/, "stdout"],
    [["help", "run"], 0, /^Usage: donjon run \[OPTIONS\] MODULE\.wasm \[ARGS\.\.\.\]/, "stdout"],
    [["run", "--help"], 0, /--dir-ro HOST\[::GUEST\]/, "stdout"],
    [[], 2, /^donjon 0\.1\.0: run WebAssembly workloads/, "stderr"],
    [["frob"], 2, 'donjon: unknown command "frob" (see donjon --help)\n', "stderr"],
    [["--frob"], 2, "donjon: unknown flag --frob (see donjon --help)\n", "stderr"],
    [
      ["run", "--frob", "x.wasm"],
      2,
      "donjon: unknown flag --frob (see donjon run --help)\n",
      "stderr",
    ],
    [["run"], 2, "donjon: missing MODULE.wasm (see donjon run --help)\n", "stderr"],
    [
      ["run", "--backend", "sgx", "x.wasm"],
      2,
      /^donjon: backend sgx cannot run here: .*\n {2}✗ cpu flag sgx: /,
      "stderr",
    ],
    [
      ["run", "--backend", "kvm", "x.wasm"],
      2,
      'donjon: unknown backend "kvm" (one of: auto, nil, sandbox, snp, tdx, sgx) (see donjon run --help)\n',
      "stderr",
    ],
  ];
  for (const [args, status, want, stream] of cases) {
    test(`donjon ${args.join(" ")}`, async () => {
      const r = await runDonjon(args);
      assert.equal(r.status, status, r.stderr);
      if (typeof want === "string") assert.equal(r[stream], want);
      else assert.match(r[stream], want);
    });
  }
});

describe("donjon run --steward: mistakes are refused before any Keep starts", {
  concurrency: true,
}, () => {
  const rows: [string, string[], number, string][] = [
    [
      "--print-cert without a Steward",
      ["--print-cert", "keep.pem"],
      2,
      "donjon: --print-cert needs a Steward: give --steward URL (or steward in Donjon.toml)\n",
    ],
    [
      "--steward-ca without a Steward",
      ["--steward-ca", "ca.pem"],
      2,
      "donjon: --steward-ca needs a Steward: give --steward URL (or steward in Donjon.toml)\n",
    ],
    [
      "plain http:// to another machine",
      ["--steward", "http://steward.example"],
      2,
      "donjon: --steward: http://steward.example: plain http:// is for a Steward on this machine (localhost, 127.0.0.1, ::1) only; use https://\n",
    ],
    [
      "another scheme",
      ["--steward", "ftp://steward.example"],
      2,
      "donjon: --steward: ftp://steward.example: expected an https:// URL\n",
    ],
    [
      "credentials in the URL",
      ["--steward", "https://u:p@steward.example"],
      2,
      "donjon: --steward: https://u:p@steward.example: a Steward URL has no credentials, query or fragment\n",
    ],
    [
      "not a URL",
      ["--steward", "steward.example"],
      2,
      'donjon: --steward: "steward.example" is not a URL\n',
    ],
    [
      "a --steward-ca that does not exist",
      ["--steward", "https://steward.example", "--steward-ca", "no-such-ca.pem"],
      1,
      "donjon: --steward-ca no-such-ca.pem: not found\n",
    ],
    [
      "a --steward-ca that is not PEM",
      ["--steward", "https://steward.example", "--steward-ca", "examples/hello.c"],
      1,
      "donjon: --steward-ca examples/hello.c: expected PEM certificates (-----BEGIN CERTIFICATE-----) of at most 32 KiB\n",
    ],
  ];
  for (const [name, flags, status, stderr] of rows) {
    test(name, async () => {
      const r = await runDonjon(["run", "--backend", "sandbox", ...flags, "examples/hello.wasm"]);
      assert.deepEqual(
        { status: r.status, stdout: r.stdout, stderr: r.stderr },
        { status, stdout: "", stderr },
      );
    });
  }
});

describe("donjon run: sockets ([[files]] listen / connect)", { concurrency: true }, () => {
  const config = (port: number): string => {
    const file = path.join(tempDir(), "Donjon.toml");
    fs.writeFileSync(
      file,
      `[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "listen"\nname = "web"\naddr = "127.0.0.1"\nport = ${port}\n`,
    );
    return file;
  };

  test("backend nil has no Keep to end TLS in: refused before anything runs", async () => {
    const file = config(0);
    const r = await runDonjon(["run", "--backend", "nil", "--config", file, "examples/hello.wasm"]);
    assert.deepEqual(
      { status: r.status, stdout: r.stdout, stderr: r.stderr },
      {
        status: 2,
        stdout: "",
        stderr: `donjon: note: backend nil: the workload runs in this process, with no isolation and no evidence\ndonjon: ${file}: [[files]] "listen" sockets need a Keep (TLS ends inside it, with its key); backend nil has none — use --backend sandbox (or snp, tdx, sgx)\n`,
      },
    );
  });

  test("a port in use: the listen entry is named, nothing starts, exit 1", async () => {
    const net = await import("node:net");
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const file = config(port);
      const r = await runDonjon([
        "run",
        "--backend",
        "sandbox",
        "--config",
        file,
        "examples/hello.wasm",
      ]);
      assert.equal(r.status, 1);
      assert.equal(r.stdout, "", "the workload never ran");
      assert.match(r.stderr, new RegExp(`fd 3 "web".*127\\.0\\.0\\.1:${port}.*EADDRINUSE`));
    } finally {
      busy.close();
    }
  });

  test("port 0: the address bound is printed, and the workload runs with its socket", async () => {
    // hello.wasm never accepts: it prints and exits, and the listener closes with the run.
    const r = await runDonjon([
      "run",
      "--backend",
      "sandbox",
      "--config",
      config(0),
      "examples/hello.wasm",
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Hello from Donjon!/);
    assert.match(
      r.stderr,
      /^donjon: fd 3 "web" listening on https:\/\/127\.0\.0\.1:\d+ \(TLS ends inside the Keep\)\n/,
    );
  });
});

test("the committed fixtures are what their .wat sources assemble to", {
  skip: spawnSync("wat2wasm", ["--version"]).status !== 0 && "wat2wasm (wabt) is not installed",
}, () => {
  const dir = path.join(ROOT, FIXTURES);
  const out = tempDir();
  const sources = fs.readdirSync(dir).filter((f) => f.endsWith(".wat"));
  assert.ok(sources.length >= 5, `found ${sources.length} fixtures`);
  for (const wat of sources) {
    const wasm = wat.replace(/\.wat$/, ".wasm");
    const r = spawnSync(
      "wat2wasm",
      ["--debug-names", path.join(dir, wat), "-o", path.join(out, wasm)],
      {
        encoding: "utf8",
      },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.ok(
      fs.readFileSync(path.join(dir, wasm)).equals(fs.readFileSync(path.join(out, wasm))),
      `${FIXTURES}/${wasm} is stale: rebuild it (see ${FIXTURES}/README.md)`,
    );
  }
});
