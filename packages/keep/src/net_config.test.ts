/**
 * The Keep's own reading of the network part of Donjon.toml (`[[files]]`
 * listen/connect, `[trust]`): what an accepted config gives (defaults,
 * FD_NAMES, trust), and a malformed-input table where every row names the
 * message it must produce — through `readNetPlan` (the parsed document, as
 * `donjon run` calls it, with the path of the problem) and through
 * `netPlanOf` (the measured bytes, as the Keep calls it: `keep.config`).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { INTEL_SGX_ROOT_CA } from "@donjon/attest/dcap";
import { parse } from "smol-toml";
import { KeepError } from "./error.ts";
import {
  type ConfigPath,
  EMPTY_NET_PLAN,
  MAX_NET_ENTRIES,
  NetConfigError,
  type NetPlan,
  netPlanOf,
  readNetPlan,
} from "./net_config.ts";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const utf8 = new TextEncoder();

/** The three stdio entries that put the next [[files]] entry at fd 3. */
const STDIO = '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "stderr"\n';
/** A real certificate (Intel's SGX root): the reader checks that every PEM block is X.509. */
const PEM = `${INTEL_SGX_ROOT_CA.trim()}\n`;
const PEM2 = `${PEM}${PEM}`;
const ID = "ab".repeat(32);

const plan = (toml: string): NetPlan => readNetPlan(parse(toml) as Record<string, unknown>);
/** TOML for a string value (basic string, escapes as TOML wants them). */
const q = (s: string) => JSON.stringify(s);

describe("readNetPlan / netPlanOf: accepted configs", () => {
  it("examples/https-hello.toml: one TLS listen entry at fd 3 named web", async () => {
    const bytes = new Uint8Array(fs.readFileSync(path.join(ROOT, "examples/https-hello.toml")));
    const p = await netPlanOf(bytes);
    assert.deepEqual(p, {
      entries: [
        {
          kind: "listen",
          fd: 3,
          name: "web",
          prot: "tls",
          addr: "127.0.0.1",
          port: 0,
          clientCa: null,
          clientWorkload: null,
        },
      ],
      names: ["stdin", "stdout", "stderr", "web"],
      trust: { roots: [], public: true },
    });
  });

  it("defaults: prot tls, addr ::, name = kind; connect port from 1", () => {
    const p = plan(
      `${STDIO}[[files]]\nkind = "listen"\nport = 8443\n[[files]]\nkind = "connect"\nhost = "api.example"\nport = 1\n`,
    );
    assert.deepEqual(p.entries, [
      {
        kind: "listen",
        fd: 3,
        name: "listen",
        prot: "tls",
        addr: "::",
        port: 8443,
        clientCa: null,
        clientWorkload: null,
      },
      {
        kind: "connect",
        fd: 4,
        name: "connect",
        prot: "tls",
        host: "api.example",
        port: 1,
        peerWorkload: null,
      },
    ]);
    assert.deepEqual(p.names, ["stdin", "stdout", "stderr", "listen", "connect"]);
    assert.deepEqual(p.trust, { roots: [], public: true });
  });

  it("every option set: tcp, mutual TLS with a pinned client, a pinned peer, trust", () => {
    const p = plan(
      `${STDIO}
[[files]]
kind = "listen"
name = "plain"
prot = "tcp"
addr = "0.0.0.0"
port = 65535
[[files]]
kind = "listen"
name = "mtls"
client_ca = ${q(PEM2)}
client_workload = "${ID.toUpperCase()}"
port = 0
[[files]]
kind = "connect"
name = "peer"
prot = "tls"
host = "127.0.0.1"
port = 443
peer_workload = "${ID}"
[[files]]
kind = "connect"
prot = "tcp"
host = "db"
port = 5432
[trust]
roots = [${q(PEM)}, ${q(PEM2)}]
public = false
`,
    );
    assert.deepEqual(
      p.entries.map((e) => [e.fd, e.kind, e.name, e.prot]),
      [
        [3, "listen", "plain", "tcp"],
        [4, "listen", "mtls", "tls"],
        [5, "connect", "peer", "tls"],
        [6, "connect", "connect", "tcp"],
      ],
    );
    const mtls = p.entries[1]!;
    assert.ok(mtls.kind === "listen");
    assert.equal(mtls.clientCa, PEM2);
    assert.equal(mtls.clientWorkload, ID, "the workload identity is read as lowercase hex");
    assert.equal(p.entries[0]!.kind === "listen" && p.entries[0]!.addr, "0.0.0.0");
    assert.equal(p.entries[2]!.kind === "connect" && p.entries[2]!.peerWorkload, ID);
    assert.deepEqual(p.names, ["stdin", "stdout", "stderr", "plain", "mtls", "peer", "connect"]);
    assert.deepEqual(p.trust, { roots: [PEM, PEM2], public: false });
  });

  it("FD_NAMES: every [[files]] entry's name, or its kind; other kinds are not checked here", () => {
    const p = plan(
      '[[files]]\nkind = "null"\n[[files]]\nkind = "stdout"\nname = "out"\n[[files]]\nkind = "stderr"\n' +
        '[[files]]\nkind = "listen"\nport = 1\n[[files]]\nkind = "something-else"\nport = "x"\n',
    );
    assert.deepEqual(p.names, ["null", "out", "stderr", "listen", "something-else"]);
    assert.equal(p.entries.length, 1);
  });

  it("a config without [[files]] or [trust]: no sockets, no FD_NAMES", async () => {
    assert.deepEqual(plan('[workload]\nname = "x"\n'), EMPTY_NET_PLAN);
    assert.deepEqual(await netPlanOf(utf8.encode('[workload]\nname = "x"\n')), EMPTY_NET_PLAN);
    assert.deepEqual(await netPlanOf(new Uint8Array(0)), EMPTY_NET_PLAN);
    // [trust] alone is fine (a workload with no connect entry yet).
    assert.deepEqual(plan(`[trust]\nroots = [${q(PEM)}]\n`).trust, { roots: [PEM], public: true });
  });

  it(`exactly ${MAX_NET_ENTRIES} listen and connect entries are accepted`, () => {
    const p = plan(STDIO + '[[files]]\nkind = "listen"\nport = 0\n'.repeat(MAX_NET_ENTRIES));
    assert.equal(p.entries.length, MAX_NET_ENTRIES);
    assert.equal(p.entries.at(-1)!.fd, 3 + MAX_NET_ENTRIES - 1);
  });
});

interface Bad {
  name: string;
  toml: string;
  /** The NetConfigError message (readNetPlan). */
  /** The exact message, or a pattern where it quotes the platform's own words. */
  message: string | RegExp;
  path: ConfigPath;
}

const listen = (body: string) => `${STDIO}[[files]]\nkind = "listen"\n${body}`;
const connect = (body: string) => `${STDIO}[[files]]\nkind = "connect"\n${body}`;
const LISTEN_KEYS = "kind, name, prot, addr, port, client_ca, client_workload";
const CONNECT_KEYS = "kind, name, prot, host, port, peer_workload";
const PEM_MSG = `must be PEM certificates ("-----BEGIN CERTIFICATE-----…"), at most 32768 characters`;
const HEX_MSG =
  "must be a workload identity: 64 hex digits (donjon run --print-evidence shows it), got";

const BAD: Bad[] = [
  {
    name: "a listen entry at fd 0",
    toml: '[[files]]\nkind = "listen"\nport = 1\n',
    message: 'fd 0 is stdin; "listen" entries start at fd 3 (the 4th [[files]] entry)',
    path: ["files", 0, "kind"],
  },
  {
    name: "a connect entry at fd 2",
    toml: '[[files]]\nkind = "stdin"\n[[files]]\nkind = "stdout"\n[[files]]\nkind = "connect"\nhost = "h"\nport = 1\n',
    message: 'fd 2 is stderr; "connect" entries start at fd 3 (the 4th [[files]] entry)',
    path: ["files", 2, "kind"],
  },
  {
    name: "listen without a port",
    toml: listen(""),
    message: '"files[3]" needs a "port"',
    path: ["files", 3],
  },
  {
    name: "connect without a port",
    toml: connect('host = "h"\n'),
    message: '"files[3]" needs a "port"',
    path: ["files", 3],
  },
  {
    name: "connect without a host",
    toml: connect("port = 443\n"),
    message: '"files[3]" needs a "host"',
    path: ["files", 3],
  },
  {
    name: "listen port -1",
    toml: listen("port = -1\n"),
    message: '"files[3].port" must be an integer from 0 to 65535, got -1',
    path: ["files", 3, "port"],
  },
  {
    name: "listen port 65536",
    toml: listen("port = 65536\n"),
    message: '"files[3].port" must be an integer from 0 to 65535, got 65536',
    path: ["files", 3, "port"],
  },
  {
    name: "connect port 0 (a connect needs a real port)",
    toml: connect('host = "h"\nport = 0\n'),
    message: '"files[3].port" must be an integer from 1 to 65535, got 0',
    path: ["files", 3, "port"],
  },
  {
    name: "port as a string",
    toml: listen('port = "8443"\n'),
    message: '"files[3].port" must be an integer from 0 to 65535, got "8443"',
    path: ["files", 3, "port"],
  },
  {
    name: "port as a float",
    toml: listen("port = 80.5\n"),
    message: '"files[3].port" must be an integer from 0 to 65535, got 80.5',
    path: ["files", 3, "port"],
  },
  {
    name: 'prot "udp"',
    toml: listen('prot = "udp"\nport = 1\n'),
    message: '"files[3].prot" must be "tls" or "tcp", got "udp"',
    path: ["files", 3, "prot"],
  },
  {
    name: "prot not a string",
    toml: connect('prot = true\nhost = "h"\nport = 1\n'),
    message: '"files[3].prot" must be a string without NUL characters',
    path: ["files", 3, "prot"],
  },
  {
    name: "an unknown key on listen (host belongs to connect)",
    toml: listen('host = "h"\nport = 1\n'),
    message: `unknown key "files[3].host" (expected one of: ${LISTEN_KEYS})`,
    path: ["files", 3, "host"],
  },
  {
    name: "an unknown key on connect (addr belongs to listen)",
    toml: connect('host = "h"\naddr = "::"\nport = 1\n'),
    message: `unknown key "files[3].addr" (expected one of: ${CONNECT_KEYS})`,
    path: ["files", 3, "addr"],
  },
  {
    name: "client_ca on connect (a connect entry trusts [trust] roots)",
    toml: connect(`host = "h"\nport = 1\nclient_ca = ${q(PEM)}\n`),
    message: `unknown key "files[3].client_ca" (expected one of: ${CONNECT_KEYS})`,
    path: ["files", 3, "client_ca"],
  },
  {
    name: "an empty name",
    toml: listen('name = ""\nport = 1\n'),
    message:
      '"files[3].name" must be non-empty and must not contain ":" (FD_NAMES is colon-separated)',
    path: ["files", 3, "name"],
  },
  {
    name: "a name with a colon",
    toml: listen('name = "a:b"\nport = 1\n'),
    message:
      '"files[3].name" must be non-empty and must not contain ":" (FD_NAMES is colon-separated)',
    path: ["files", 3, "name"],
  },
  {
    name: "a name that is not a string",
    toml: listen("name = 7\nport = 1\n"),
    message: '"files[3].name" must be a string without NUL characters',
    path: ["files", 3, "name"],
  },
  {
    name: "a name with a NUL character",
    toml: listen('name = "a\\u0000b"\nport = 1\n'),
    message: '"files[3].name" must be a string without NUL characters',
    path: ["files", 3, "name"],
  },
  {
    name: "an empty addr",
    toml: listen('addr = ""\nport = 1\n'),
    message: '"files[3].addr" must not be empty',
    path: ["files", 3, "addr"],
  },
  {
    name: "an empty host",
    toml: connect('host = ""\nport = 1\n'),
    message: '"files[3].host" must not be empty',
    path: ["files", 3, "host"],
  },
  {
    name: "client_ca that is not PEM",
    toml: listen('client_ca = "trust me"\nport = 1\n'),
    message: `"files[3].client_ca" ${PEM_MSG}`,
    path: ["files", 3, "client_ca"],
  },
  {
    name: "client_ca that is a private key",
    toml: listen(
      `client_ca = ${q("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n")}\nport = 1\n`,
    ),
    message: `"files[3].client_ca" ${PEM_MSG}`,
    path: ["files", 3, "client_ca"],
  },
  {
    name: "client_ca over 32 KiB",
    toml: listen(
      `client_ca = ${q(`-----BEGIN CERTIFICATE-----\n${"A".repeat(32 * 1024)}\n-----END CERTIFICATE-----\n`)}\nport = 1\n`,
    ),
    message: `"files[3].client_ca" ${PEM_MSG}`,
    path: ["files", 3, "client_ca"],
  },
  {
    name: "client_ca with PEM armour around bytes that are not a certificate (OpenSSL would skip it)",
    toml: listen(
      `client_ca = ${q(`${PEM}-----BEGIN CERTIFICATE-----\nMIIBszCCATqgAwIBAgIU\n-----END CERTIFICATE-----\n`)}\nport = 1\n`,
    ),
    message: /^"files\[3\]\.client_ca": certificate 2 of 2 is not a valid X\.509 certificate \(/,
    path: ["files", 3, "client_ca"],
  },
  {
    name: "client_workload of 63 hex digits",
    toml: listen(`client_ca = ${q(PEM)}\nclient_workload = "${ID.slice(1)}"\nport = 1\n`),
    message: `"files[3].client_workload" ${HEX_MSG} "${ID.slice(1)}"`,
    path: ["files", 3, "client_workload"],
  },
  {
    name: "peer_workload that is not hex",
    toml: connect(`host = "h"\nport = 1\npeer_workload = "${"zz".repeat(32)}"\n`),
    message: `"files[3].peer_workload" ${HEX_MSG} "${"zz".repeat(32)}"`,
    path: ["files", 3, "peer_workload"],
  },
  {
    name: "client_ca on a tcp listener (the Keep cannot check a client it does not handshake with)",
    toml: listen(`prot = "tcp"\nclient_ca = ${q(PEM)}\nport = 1\n`),
    message: '"files[3]": client_ca and client_workload need prot = "tls"',
    path: ["files", 3, "prot"],
  },
  {
    name: "peer_workload on a tcp connect",
    toml: connect(`prot = "tcp"\nhost = "h"\nport = 1\npeer_workload = "${ID}"\n`),
    message: '"files[3]": peer_workload needs prot = "tls"',
    path: ["files", 3, "prot"],
  },
  {
    name: "client_workload without client_ca",
    toml: listen(`client_workload = "${ID}"\nport = 1\n`),
    message:
      '"files[3].client_workload" needs "client_ca": the CA (a Steward\'s) that certified the client Keep',
    path: ["files", 3, "client_workload"],
  },
  {
    name: `${MAX_NET_ENTRIES + 1} listen and connect entries`,
    toml:
      STDIO +
      '[[files]]\nkind = "listen"\nport = 0\n'.repeat(MAX_NET_ENTRIES) +
      '[[files]]\nkind = "connect"\nhost = "h"\nport = 1\n',
    message: `[[files]] has ${MAX_NET_ENTRIES + 1} listen and connect entries; at most ${MAX_NET_ENTRIES}`,
    path: ["files"],
  },
  {
    name: "trust that is not a table",
    toml: "trust = 1\n",
    message: '"trust" must be a table',
    path: ["trust"],
  },
  {
    name: "trust as an array of tables",
    toml: "[[trust]]\npublic = true\n",
    message: '"trust" must be a table',
    path: ["trust"],
  },
  {
    name: "an unknown key in [trust]",
    toml: "[trust]\nca = 1\n",
    message: 'unknown key "trust.ca" (expected one of: roots, public)',
    path: ["trust", "ca"],
  },
  {
    name: "trust.roots as a string",
    toml: `[trust]\nroots = ${q(PEM)}\n`,
    message: '"trust.roots" must be an array of at most 64 PEM strings',
    path: ["trust", "roots"],
  },
  {
    name: "trust.roots with 65 entries",
    toml: `[trust]\nroots = [${Array.from({ length: 65 }, () => q(PEM)).join(", ")}]\n`,
    message: '"trust.roots" must be an array of at most 64 PEM strings',
    path: ["trust", "roots"],
  },
  {
    name: "trust.roots with a non-PEM entry",
    toml: `[trust]\nroots = [${q(PEM)}, "not a pem"]\n`,
    message: `"trust.roots[1]" ${PEM_MSG}`,
    path: ["trust", "roots", 1],
  },
  {
    name: "trust.roots with a number",
    toml: "[trust]\nroots = [1]\n",
    message: '"trust.roots[0]" must be a string without NUL characters',
    path: ["trust", "roots", 0],
  },
  {
    name: "trust.public as a string",
    toml: '[trust]\npublic = "no"\n',
    message: '"trust.public" must be true or false',
    path: ["trust", "public"],
  },
];

describe("readNetPlan / netPlanOf: malformed input", () => {
  for (const b of BAD) {
    it(`${b.name}: ${String(b.message).slice(0, 60)}`, async () => {
      // readNetPlan: the message and where it is.
      assert.throws(
        () => plan(b.toml),
        (e: unknown) => {
          assert.ok(e instanceof NetConfigError, String(e));
          if (typeof b.message === "string") assert.equal(e.message, b.message);
          else assert.match(e.message, b.message);
          assert.deepEqual(e.path, b.path);
          return true;
        },
      );
      // netPlanOf: the same message, as the Keep's keep.config.
      await assert.rejects(netPlanOf(utf8.encode(b.toml)), (e: unknown) => {
        assert.ok(e instanceof KeepError, String(e));
        assert.equal(e.code, "keep.config");
        const prefix = "the config the Keep measured: ";
        if (typeof b.message === "string") assert.equal(e.message, `${prefix}${b.message}`);
        else assert.match(e.message.slice(prefix.length), b.message);
        return true;
      });
    });
  }

  const BYTES: { name: string; bytes: Uint8Array; message: RegExp }[] = [
    {
      name: "invalid TOML",
      bytes: utf8.encode('[[files]]\nkind = "listen"\nport = \n'),
      message: /^the config the Keep measured is not valid TOML: \S/,
    },
    {
      name: "a key defined twice",
      bytes: utf8.encode('[[files]]\nkind = "listen"\nkind = "connect"\n'),
      message: /^the config the Keep measured is not valid TOML: \S/,
    },
    {
      name: "bytes that are not UTF-8",
      bytes: Uint8Array.of(...utf8.encode('name = "'), 0xff, 0xfe, ...utf8.encode('"\n')),
      message: /^the config the Keep measured is not valid TOML: The encoded data was not valid/,
    },
    {
      name: "a NUL byte outside a string",
      bytes: Uint8Array.of(...utf8.encode("a = 1\n"), 0, 0x0a),
      message: /^the config the Keep measured is not valid TOML: \S/,
    },
  ];
  for (const b of BYTES) {
    it(`netPlanOf: ${b.name} → keep.config`, async () => {
      await assert.rejects(netPlanOf(b.bytes), (e: unknown) => {
        assert.ok(e instanceof KeepError, String(e));
        assert.equal(e.code, "keep.config");
        assert.match(e.message, b.message);
        // One line: the parser's code frame stays out of EXIT.
        assert.ok(!e.message.includes("\n"), e.message);
        return true;
      });
    });
  }
});
