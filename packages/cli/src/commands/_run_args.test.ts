import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CliError } from "../error.ts";
import { parseRunArgs, type RunArgs } from "./_run_args.ts";

const DEFAULTS: RunArgs = {
  help: false,
  module: "app.wasm",
  args: [],
  dirs: [],
  env: [],
  config: null,
  backend: "auto",
  maxMemory: null,
  timeout: null,
  maxOutput: null,
  printEvidence: null,
  steward: null,
  stewardCa: null,
  printCert: null,
};

describe("donjon run: accepted command lines", () => {
  const cases: [string[], Partial<RunArgs>][] = [
    [["app.wasm"], {}],
    [["app.wasm", "a", "--timeout", "-x"], { args: ["a", "--timeout", "-x"] }],
    [["--", "app.wasm", "--help"], { args: ["--help"] }],
    [["--", "--weird.wasm"], { module: "--weird.wasm" }],
    [["--help"], { help: true, module: "" }],
    [["-h", "app.wasm"], { help: true, module: "" }],
    [
      [
        "--steward",
        "https://s.example",
        "--steward-ca=ca.pem",
        "--print-cert",
        "c.pem",
        "app.wasm",
      ],
      { steward: "https://s.example", stewardCa: "ca.pem", printCert: "c.pem" },
    ],
    [
      ["--dir", "./data::/data", "--dir-ro=/etc::/host-etc", "app.wasm"],
      {
        dirs: [
          { host: "./data", guest: "/data", readonly: false },
          { host: "/etc", guest: "/host-etc", readonly: true },
        ],
      },
    ],
    [["--dir", ".", "app.wasm"], { dirs: [{ host: ".", guest: ".", readonly: false }] }],
    [["--dir", "./", "app.wasm"], { dirs: [{ host: "./", guest: ".", readonly: false }] }],
    [
      ["--dir", "/srv/data/", "app.wasm"],
      { dirs: [{ host: "/srv/data/", guest: "/srv/data", readonly: false }] },
    ],
    [
      ["--dir", "./data", "app.wasm"],
      { dirs: [{ host: "./data", guest: "/data", readonly: false }] },
    ],
    [["--dir", "a/b", "app.wasm"], { dirs: [{ host: "a/b", guest: "/a/b", readonly: false }] }],
    [["--max-output", "1MiB", "app.wasm"], { maxOutput: 1024 * 1024 }],
    [["--max-output=0", "app.wasm"], { maxOutput: 0 }],
    [["--print-evidence", "ev.json", "app.wasm"], { printEvidence: "ev.json" }],
    [["--dir", "x::.", "app.wasm"], { dirs: [{ host: "x", guest: ".", readonly: false }] }],
    [
      ["--env", "A=1", "--env=B=x=y", "--env", "C=", "app.wasm"],
      {
        env: [
          ["A", "1"],
          ["B", "x=y"],
          ["C", ""],
        ],
      },
    ],
    [["--config", "Donjon.toml", "app.wasm"], { config: "Donjon.toml" }],
    [["--backend", "nil", "app.wasm"], { backend: "nil" }],
    [["--backend", "sandbox", "app.wasm"], { backend: "sandbox" }],
    [["--backend", "sgx", "app.wasm"], { backend: "sgx" }],
    [["--max-memory", "256MiB", "app.wasm"], { maxMemory: 256 * 1024 ** 2 }],
    [["--max-memory=1GiB", "app.wasm"], { maxMemory: 1024 ** 3 }],
    [["--max-memory", "65536", "app.wasm"], { maxMemory: 65536 }],
    [["--max-memory", "4GiB", "app.wasm"], { maxMemory: 4 * 1024 ** 3 }],
    [["--timeout", "500ms", "app.wasm"], { timeout: 500 }],
    [["--timeout", "10s", "app.wasm"], { timeout: 10000 }],
    [["--timeout", "2m", "app.wasm"], { timeout: 120000 }],
  ];
  for (const [argv, want] of cases) {
    test(argv.join(" "), () => {
      assert.deepEqual(parseRunArgs(argv), { ...DEFAULTS, ...want });
    });
  }
});

describe("donjon run: refused command lines (usage errors, exit 2)", () => {
  const cases: [string[], string][] = [
    [[], "missing MODULE.wasm"],
    [["--dir", "x"], "missing MODULE.wasm"],
    [["--frob", "app.wasm"], "unknown flag --frob"],
    [["--frob=1", "app.wasm"], "unknown flag --frob"],
    [["-x", "app.wasm"], "unknown flag -x"],
    [["--mapdir", "a::b", "app.wasm"], "unknown flag --mapdir"],
    [["--dir"], "--dir needs a value"],
    [["--dir", "::/data", "app.wasm"], "--dir ::/data: missing host directory"],
    [
      ["--dir", "./d::data", "app.wasm"],
      '--dir ./d::data: guest path must be absolute (or "."), got "data"',
    ],
    [
      ["--dir-ro", "../up", "app.wasm"],
      "--dir-ro ../up: name the guest path, for example --dir-ro ../up::/data",
    ],
    [["--env", "NOVALUE", "app.wasm"], "--env NOVALUE: expected KEY=VALUE"],
    [["--env", "=1", "app.wasm"], "--env =1: expected KEY=VALUE"],
    [["--config", "a", "--config", "b", "app.wasm"], "--config given twice"],
    [
      ["--backend", "kvm", "app.wasm"],
      'unknown backend "kvm" (one of: auto, nil, sandbox, snp, tdx, sgx)',
    ],
    [
      ["--max-memory", "lots", "app.wasm"],
      "--max-memory lots: expected a byte count with an optional unit B, KiB, MiB, GiB, KB, MB or GB",
    ],
    [
      ["--max-memory", "256M", "app.wasm"],
      "--max-memory 256M: expected a byte count with an optional unit B, KiB, MiB, GiB, KB, MB or GB",
    ],
    [["--max-memory", "5GiB", "app.wasm"], "--max-memory 5GiB: above the wasm32 maximum of 4GiB"],
    [
      ["--max-output", "much", "app.wasm"],
      "--max-output much: expected a byte count with an optional unit B, KiB, MiB, GiB, KB, MB or GB",
    ],
    [["--max-output", "1", "--max-output", "2", "app.wasm"], "--max-output given twice"],
    [["--print-evidence"], "--print-evidence needs a value"],
    [
      ["--timeout", "10", "app.wasm"],
      "--timeout 10: expected a number with a unit ms, s, m or h (for example 500ms, 10s, 2m)",
    ],
    [
      ["--timeout", "0s", "app.wasm"],
      "--timeout 0s: expected a number with a unit ms, s, m or h (for example 500ms, 10s, 2m)",
    ],
    [
      ["--timeout", "1000h", "app.wasm"],
      "--timeout 1000h: above the maximum of 2147483647ms (about 24.8 days)",
    ],
  ];
  for (const [argv, message] of cases) {
    test(argv.join(" ") || "(nothing)", () => {
      assert.throws(
        () => parseRunArgs(argv),
        (e: unknown) => {
          assert.ok(e instanceof CliError);
          assert.equal(e.code, "USAGE");
          assert.equal(e.exitStatus, 2);
          assert.equal(e.message, `${message} (see donjon run --help)`);
          return true;
        },
      );
    });
  }
});
