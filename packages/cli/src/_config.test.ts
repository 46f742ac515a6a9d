import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { INTEL_SGX_ROOT_CA } from "@donjon/attest/dcap";
import { type Config, parseConfig } from "./_config.ts";
import { CliError, type CliErrorCode } from "./error.ts";

const parse = (source: string): Config => parseConfig(source, "Donjon.toml", "/srv/app");

/** A real certificate (Intel's SGX root): the config checks that every PEM block is X.509. */
const PEM = `${INTEL_SGX_ROOT_CA.trim()}\n`;

const EMPTY: Config = {
  steward: null,
  args: [],
  env: {},
  files: null,
  dirs: [],
  net: { entries: [], names: null, trust: { roots: [], public: true } },
  limits: { memory: null, time: null },
};

describe("Donjon.toml: accepted", () => {
  test("an empty file is all defaults", () => {
    assert.deepEqual(parse(""), EMPTY);
  });

  test("every key", () => {
    const config = parse(`
steward = "https://steward.example.com:8443"
args = ["--verbose", "two words"]

[env]
GREETING = "hello"
EMPTY = ""

[[files]]
kind = "stdin"

[[files]]
kind = "stdout"
name = "out"

[[files]]
kind = "null"

[[files]]
kind = "listen"
name = "web"
addr = "127.0.0.1"
port = 8443
client_ca = """${PEM}"""

[[files]]
kind = "connect"
prot = "tcp"
host = "db.internal"
port = 5432

[trust]
roots = ["""${PEM}"""]
public = false

[[dirs]]
guest = "/data"
host = "./data"
mode = "rw"

[[dirs]]
guest = "/scratch"

[[dirs]]
guest = "/etc/app"
host = "/etc/app"
mode = "ro"

[limits]
memory = "256MiB"
time = "1.5s"
`);
    assert.deepEqual(config, {
      steward: "https://steward.example.com:8443",
      args: ["--verbose", "two words"],
      env: { GREETING: "hello", EMPTY: "" },
      files: [
        { kind: "stdin", name: "stdin" },
        { kind: "stdout", name: "out" },
        { kind: "null", name: "null" },
        { kind: "listen", name: "web" },
        { kind: "connect", name: "connect" },
      ],
      net: {
        entries: [
          {
            kind: "listen",
            fd: 3,
            name: "web",
            prot: "tls",
            addr: "127.0.0.1",
            port: 8443,
            clientCa: PEM,
            clientWorkload: null,
          },
          {
            kind: "connect",
            fd: 4,
            name: "connect",
            prot: "tcp",
            host: "db.internal",
            port: 5432,
            peerWorkload: null,
          },
        ],
        names: ["stdin", "out", "null", "web", "connect"],
        trust: { roots: [PEM], public: false },
      },
      dirs: [
        { guest: "/data", host: "/srv/app/data", readonly: false },
        { guest: "/scratch", host: null, readonly: true },
        { guest: "/etc/app", host: "/etc/app", readonly: true },
      ],
      limits: { memory: 256 * 1024 * 1024, time: 1500 },
    });
  });

  test("an Enarx.toml as Enarx documents it", () => {
    const config = parse(`
steward = "https://attest.profian.com"
args = ["--flag"]
env = { A = "1" }

[[files]]
kind = "stdin"

[[files]]
kind = "stderr"

[[files]]
kind = "stdout"
`);
    assert.deepEqual(config.files, [
      { kind: "stdin", name: "stdin" },
      { kind: "stderr", name: "stderr" },
      { kind: "stdout", name: "stdout" },
    ]);
    assert.deepEqual(config.env, { A: "1" });
  });

  test("memory as a plain byte count; dotted keys", () => {
    assert.deepEqual(parse('limits.memory = 1048576\nlimits.time = "2m"').limits, {
      memory: 1048576,
      time: 120000,
    });
  });

  test("fewer than three files", () => {
    assert.deepEqual(parse('[[files]]\nkind = "null"').files, [{ kind: "null", name: "null" }]);
  });
});

describe("Donjon.toml: refused, naming the key, file and line", () => {
  const cases: [string, string, string, CliErrorCode?][] = [
    ["not TOML", "args = [\n", "Donjon.toml:2:1: not valid TOML: invalid value"],
    [
      "duplicate key",
      "args = []\nargs = []",
      "Donjon.toml:2:1: not valid TOML: trying to redefine an already defined table or value",
    ],
    [
      "unknown top-level key",
      'args = []\n\nstewart = "x"',
      'Donjon.toml:3: unknown key "stewart" (expected one of: steward, args, env, files, dirs, trust, limits)',
    ],
    [
      "unknown key in [limits]",
      '[limits]\nmemory = "1MiB"\nmemroy = "2MiB"',
      'Donjon.toml:3: unknown key "limits.memroy" (expected one of: memory, time)',
    ],
    [
      "unknown key in [[files]]",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\npath = "/x"',
      'Donjon.toml:5: unknown key "files[1].path" (expected one of: kind, name)',
    ],
    [
      "unknown key in [[dirs]]",
      '[[dirs]]\nguest = "/d"\nreadonly = true',
      'Donjon.toml:3: unknown key "dirs[0].readonly" (expected one of: guest, host, mode)',
    ],
    [
      "steward not a string",
      "steward = 1",
      'Donjon.toml:1: "steward" must be a string, got integer',
    ],
    [
      "steward not a URL",
      'steward = "not a url"',
      'Donjon.toml:1: "steward" must be a URL, got "not a url"',
    ],
    [
      "args not an array",
      'args = "x"',
      'Donjon.toml:1: "args" must be an array of strings, got string',
    ],
    [
      "args element not a string",
      'args = [\n  "a",\n  2,\n]',
      'Donjon.toml:1: "args[1]" must be a string, got integer',
    ],
    ["env not a table", 'env = ["A=1"]', 'Donjon.toml:1: "env" must be a table, got array'],
    [
      "env value not a string",
      "[env]\nA = 1",
      'Donjon.toml:2: "env.A" must be a string, got integer',
    ],
    ["env value a float", "[env]\nA = 1.5", 'Donjon.toml:2: "env.A" must be a string, got float'],
    ["env value a bool", "[env]\nA = true", 'Donjon.toml:2: "env.A" must be a string, got boolean'],
    [
      "env value a date",
      "[env]\nA = 1979-05-27",
      'Donjon.toml:2: "env.A" must be a string, got datetime',
    ],
    [
      "env name with =",
      '[env]\n"A=B" = "1"',
      'Donjon.toml:2: environment variable name "A=B" is not valid',
    ],
    [
      "env name empty",
      '[env]\n"" = "1"',
      'Donjon.toml:2: environment variable name "" is not valid',
    ],
    [
      "env value with NUL",
      '[env]\nA = "x\\u0000y"',
      'Donjon.toml:2: "env.A" must not contain a NUL character',
    ],
    [
      "env FD_COUNT",
      '[env]\nFD_COUNT = "9"',
      'Donjon.toml:2: "env.FD_COUNT" is set by donjon from [[files]]',
    ],
    [
      "files not an array",
      'files = "stdin"',
      'Donjon.toml:1: "files" must be an array of tables, got string',
    ],
    [
      "files element not a table",
      'files = ["stdin"]',
      'Donjon.toml:1: "files[0]" must be a table, got string',
    ],
    [
      "file without kind",
      '[[files]]\nname = "x"',
      'Donjon.toml:1: "files[0]" needs a "kind" (one of: null, stdin, stdout, stderr, listen, connect)',
    ],
    [
      "file kind unknown",
      '[[files]]\nkind = "pipe"',
      'Donjon.toml:2: "files[0].kind" must be one of: null, stdin, stdout, stderr, listen, connect; got "pipe"',
    ],
    [
      "file kind not a string",
      "[[files]]\nkind = 0",
      'Donjon.toml:2: "files[0].kind" must be a string, got integer',
    ],
    [
      "file name with a colon",
      '[[files]]\nkind = "stdin"\nname = "a:b"',
      'Donjon.toml:3: "files[0].name" must not contain ":" (FD_NAMES is colon-separated)',
    ],
    [
      "listen at fd 1",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "listen"\nname = "web"\nport = 8080\nprot = "tls"',
      'Donjon.toml:4: fd 1 is stdout; "listen" entries start at fd 3 (the 4th [[files]] entry)',
    ],
    [
      "connect without a host",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "connect"\nport = 443',
      'Donjon.toml:7: "files[3]" needs a "host"',
    ],
    [
      "listen without a port",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "listen"',
      'Donjon.toml:7: "files[3]" needs a "port"',
    ],
    [
      "listen port out of range",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "listen"\nport = 70000',
      'Donjon.toml:9: "files[3].port" must be an integer from 0 to 65535, got 70000',
    ],
    [
      "connect port 0",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "connect"\nhost = "h"\nport = 0',
      'Donjon.toml:10: "files[3].port" must be an integer from 1 to 65535, got 0',
    ],
    [
      "prot unknown",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "listen"\nport = 1\nprot = "udp"',
      'Donjon.toml:10: "files[3].prot" must be "tls" or "tcp", got "udp"',
    ],
    [
      "networking entry with an unknown key",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "listen"\nport = 1\nbacklog = 5',
      'Donjon.toml:10: unknown key "files[3].backlog" (expected one of: kind, name, prot, addr, port, client_ca, client_workload)',
    ],
    [
      "connect with a listen key",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "connect"\nhost = "h"\nport = 1\naddr = "::"',
      'Donjon.toml:11: unknown key "files[3].addr" (expected one of: kind, name, prot, host, port, peer_workload)',
    ],
    [
      "client_workload without client_ca",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "listen"\nport = 1\nclient_workload = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"',
      'Donjon.toml:10: "files[3].client_workload" needs "client_ca": the CA (a Steward\'s) that certified the client Keep',
    ],
    [
      "peer_workload not an identity",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "connect"\nhost = "h"\nport = 1\npeer_workload = "abc"',
      'Donjon.toml:11: "files[3].peer_workload" must be a workload identity: 64 hex digits (donjon run --print-evidence shows it), got "abc"',
    ],
    [
      "peer_workload on tcp",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "connect"\nhost = "h"\nport = 1\nprot = "tcp"\npeer_workload = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"',
      'Donjon.toml:11: "files[3]": peer_workload needs prot = "tls"',
    ],
    [
      "trust root not PEM",
      '[trust]\nroots = ["not a certificate"]',
      'Donjon.toml:2: "trust.roots[0]" must be PEM certificates ("-----BEGIN CERTIFICATE-----…"), at most 32768 characters',
    ],
    [
      "trust public not a boolean",
      '[trust]\npublic = "yes"',
      'Donjon.toml:2: "trust.public" must be true or false',
    ],
    [
      "trust unknown key",
      '[trust]\nca = "x"',
      'Donjon.toml:2: unknown key "trust.ca" (expected one of: roots, public)',
    ],
    [
      "stdout at fd 0",
      '[[files]]\nkind = "stdout"',
      'Donjon.toml:2: "files[0].kind" = "stdout": fd 0 can only be "stdin" or "null" for now',
      "UNSUPPORTED",
    ],
    [
      "stdin at fd 2",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stdin"',
      'Donjon.toml:6: "files[2].kind" = "stdin": fd 2 can only be "stdout" or "stderr" or "null" for now',
      "UNSUPPORTED",
    ],
    [
      "four files",
      '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n[[files]]\nkind = "null"',
      'Donjon.toml:8: "files[3].kind" = "null": fds from 3 on are sockets, "listen" or "connect"',
      "UNSUPPORTED",
    ],
    [
      "dirs not an array",
      'dirs = "x"',
      'Donjon.toml:1: "dirs" must be an array of tables, got string',
    ],
    ["dir without guest", '[[dirs]]\nhost = "."', 'Donjon.toml:1: "dirs[0]" needs a "guest" path'],
    [
      "dir guest relative",
      '[[dirs]]\nguest = "data"',
      'Donjon.toml:2: "dirs[0].guest" must be an absolute path, got "data"',
    ],
    [
      "dir guest twice",
      '[[dirs]]\nguest = "/d"\n[[dirs]]\nguest = "/d"',
      'Donjon.toml:4: "dirs[1].guest": /d is listed twice',
    ],
    [
      "dir host not a string",
      '[[dirs]]\nguest = "/d"\nhost = 1',
      'Donjon.toml:3: "dirs[0].host" must be a string, got integer',
    ],
    [
      "dir mode unknown",
      '[[dirs]]\nguest = "/d"\nmode = "rwx"',
      'Donjon.toml:3: "dirs[0].mode" must be "ro" or "rw", got "rwx"',
    ],
    ["limits not a table", "limits = 5", 'Donjon.toml:1: "limits" must be a table, got integer'],
    [
      "memory not a size",
      '[limits]\nmemory = "lots"',
      'Donjon.toml:2: "limits.memory" = "lots" is not a size: expected a byte count with an optional unit B, KiB, MiB, GiB, KB, MB or GB',
    ],
    [
      "memory a float",
      "[limits]\nmemory = 1.5",
      'Donjon.toml:2: "limits.memory" must be a string, got float',
    ],
    [
      "memory above 4GiB",
      '[limits]\nmemory = "5GiB"',
      'Donjon.toml:2: "limits.memory" = "5GiB" is above the wasm32 maximum of 4GiB',
    ],
    [
      "time without a unit",
      '[limits]\ntime = "10"',
      'Donjon.toml:2: "limits.time" = "10" is not a duration: expected a number with a unit ms, s, m or h (for example 500ms, 10s, 2m)',
    ],
    [
      "time zero",
      '[limits]\ntime = "0s"',
      'Donjon.toml:2: "limits.time" = "0s" is not a duration: expected a number with a unit ms, s, m or h (for example 500ms, 10s, 2m)',
    ],
    [
      "time a number",
      "[limits]\ntime = 10",
      'Donjon.toml:2: "limits.time" must be a string, got integer',
    ],
    [
      "time too long",
      '[limits]\ntime = "30d"',
      'Donjon.toml:2: "limits.time" = "30d" is not a duration: expected a number with a unit ms, s, m or h (for example 500ms, 10s, 2m)',
    ],
    [
      "time above the timer maximum",
      '[limits]\ntime = "600h"',
      'Donjon.toml:2: "limits.time" = "600h" is above the maximum of 2147483647ms (about 24.8 days)',
    ],
    [
      "key in an inline table: the line of the table",
      'limits = { memory = "1MiB", cpu = 2 }',
      'Donjon.toml:1: unknown key "limits.cpu" (expected one of: memory, time)',
    ],
  ];
  for (const [what, source, message, code = "CONFIG"] of cases) {
    test(what, () => {
      assert.throws(
        () => parse(source),
        (e: unknown) => {
          assert.ok(e instanceof CliError, String(e));
          assert.equal(e.message, message);
          assert.equal(e.code, code);
          return true;
        },
      );
    });
  }
});
