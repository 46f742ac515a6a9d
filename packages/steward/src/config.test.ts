import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isLoopback, parseConfig, parseDuration, parseListen, parseSize } from "./config.ts";
import { StewardError } from "./error.ts";

const TOKEN = "t".repeat(32);
const FULL = `listen = "0.0.0.0:9443"
policy = "policy.toml"
storage = "sqlite:data/steward.db"

[tls]
cert = "tls.pem"
key = "/etc/donjon/tls.key"

[ca]
cert = "ca.pem"
key = "ca.key"

[admin]
tokens = ["${TOKEN}"]

[limits]
body = "1MiB"
body_timeout = "2s"
`;

const MINIMAL = `policy = "p.toml"
plain_http = true
[ca]
cert = "ca.pem"
key = "ca.key"
`;

const fails = (code: string, re: RegExp) => (e: unknown) => {
  assert.ok(e instanceof StewardError, String(e));
  assert.equal(e.code, code);
  assert.match(e.message, re);
  return true;
};

describe("steward.toml", () => {
  it("a full config: paths relative to the file, sizes and durations resolved", () => {
    const c = parseConfig(FULL, "/srv/steward/steward.toml");
    assert.deepEqual(c, {
      file: "/srv/steward/steward.toml",
      listen: { host: "0.0.0.0", port: 9443 },
      tls: { cert: "/srv/steward/tls.pem", key: "/etc/donjon/tls.key" },
      ca: { cert: "/srv/steward/ca.pem", key: "/srv/steward/ca.key" },
      policy: "/srv/steward/policy.toml",
      storage: "sqlite:/srv/steward/data/steward.db",
      adminTokens: [TOKEN],
      limits: { body: 1024 * 1024, bodyTimeoutMs: 2000 },
      dcap: { pcsUrl: null, collateralDir: null },
    });
  });

  it("[dcap]: a PCS or PCCS URL and a collateral directory beside the file", () => {
    const c = parseConfig(
      `${FULL}[dcap]\npcs_url = "https://pccs.example:8081/sgx/certification/v4"\ncollateral_dir = "intel"\n`,
      "/srv/steward/steward.toml",
    );
    assert.deepEqual(c.dcap, {
      pcsUrl: "https://pccs.example:8081/sgx/certification/v4",
      collateralDir: "/srv/steward/intel",
    });
    // A PCCS on this machine may speak plain HTTP.
    const local = parseConfig(`${MINIMAL}[dcap]\npcs_url = "http://127.0.0.1:8081"\n`, "/s/x.toml");
    assert.deepEqual(local.dcap, { pcsUrl: "http://127.0.0.1:8081", collateralDir: null });
  });

  it("defaults: loopback 8443, sqlite:steward.db beside the config, 256 KiB, 10 s, no admin", () => {
    const c = parseConfig(MINIMAL, "/srv/s/steward.toml");
    assert.deepEqual(c.listen, { host: "127.0.0.1", port: 8443 });
    assert.equal(c.tls, null);
    assert.equal(c.storage, "sqlite:/srv/s/steward.db");
    assert.deepEqual(c.limits, { body: 256 * 1024, bodyTimeoutMs: 10_000 });
    assert.deepEqual(c.adminTokens, []);
  });

  it("postgres storage is kept as given", () => {
    const c = parseConfig(
      `storage = "postgres://steward@db:5432/steward"\n${MINIMAL}`,
      "/s/steward.toml",
    );
    assert.equal(c.storage, "postgres://steward@db:5432/steward");
  });

  const bad: [string, string, string, RegExp][] = [
    ["not TOML", "listen = ", "steward.config", /\(line 1\): not valid TOML/],
    [
      "unknown top-level key",
      `${FULL.replace("policy =", "listen_port = 1\npolicy =")}`,
      "steward.config.unknown_key",
      /:2: listen_port: unknown key \(expected one of listen, plain_http/,
    ],
    [
      "unknown key in a table",
      FULL.replace('key = "ca.key"', 'key = "ca.key"\nkeyy = "x"'),
      "steward.config.unknown_key",
      /:12: ca\.keyy: unknown key \(expected one of cert, key\)/,
    ],
    [
      "key in [ca] misplaced storage",
      `${MINIMAL}storage = "postgres://x"\n`,
      "steward.config.unknown_key",
      /ca\.storage: unknown key/,
    ],
    [
      "plain_http off loopback",
      MINIMAL.replace("plain_http = true", 'plain_http = true\nlisten = "0.0.0.0:80"'),
      "steward.config.plain_http",
      /:2: plain_http: plain HTTP is allowed only on a loopback address, and listen is "0\.0\.0\.0:80": Keeps' requests and certificates would cross the network unprotected/,
    ],
    [
      "plain_http and [tls]",
      `plain_http = true\n${FULL.replace('"0.0.0.0:9443"', '"127.0.0.1:1"')}`,
      "steward.config",
      /plain_http: plain_http = true and a \[tls\] table: pick one/,
    ],
    ["no [tls]", MINIMAL.replace("plain_http = true", ""), "steward.config", /tls: missing/],
    ["no [ca]", 'policy = "p"\nplain_http = true\n', "steward.config", /ca: missing/],
    ["no policy", MINIMAL.replace('policy = "p.toml"', ""), "steward.config", /policy: missing/],
    [
      "tls key missing",
      FULL.replace('key = "/etc/donjon/tls.key"', ""),
      "steward.config",
      /tls\.key: missing/,
    ],
    [
      "listen without port",
      FULL.replace("0.0.0.0:9443", "0.0.0.0"),
      "steward.config",
      /:1: listen: expected HOST:PORT/,
    ],
    [
      "listen port too big",
      FULL.replace("9443", "70000"),
      "steward.config",
      /listen: expected HOST:PORT/,
    ],
    [
      "plain_http not boolean",
      MINIMAL.replace("true", '"yes"'),
      "steward.config",
      /plain_http: expected true or false, got a string/,
    ],
    [
      "storage scheme",
      FULL.replace("sqlite:data/steward.db", "mysql://x"),
      "steward.config",
      /:3: storage: expected "sqlite:PATH" or "postgres:\/\/…"/,
    ],
    [
      "empty sqlite path",
      FULL.replace("sqlite:data/steward.db", "sqlite:"),
      "steward.config",
      /storage: expected "sqlite:PATH", got an empty path/,
    ],
    [
      "short token",
      FULL.replace(TOKEN, "short-secret"),
      "steward.config",
      /admin\.tokens: element 0: expected at least 32 characters, got 12/,
    ],
    [
      "tokens not an array",
      FULL.replace(`["${TOKEN}"]`, `"${TOKEN}"`),
      "steward.config",
      /admin\.tokens: expected an array of strings/,
    ],
    [
      "token not a string",
      FULL.replace(`["${TOKEN}"]`, "[1]"),
      "steward.config",
      /element 0: expected a string/,
    ],
    [
      "body malformed",
      FULL.replace("1MiB", "lots"),
      "steward.config",
      /:17: limits\.body: expected a size/,
    ],
    [
      "body too small",
      FULL.replace("1MiB", "10B"),
      "steward.config",
      /limits\.body: expected a size from 1KiB/,
    ],
    [
      "timeout malformed",
      FULL.replace('"2s"', '"2 fortnights"'),
      "steward.config",
      /:18: limits\.body_timeout: expected a duration/,
    ],
    [
      "table is a string",
      'ca = "x"\n',
      "steward.config",
      /ca: expected a table \[ca\], got a string/,
    ],
    [
      "[dcap] unknown key",
      `${FULL}[dcap]\npccs = "https://x"\n`,
      "steward.config.unknown_key",
      /:20: dcap\.pccs: unknown key \(expected one of pcs_url, collateral_dir\)/,
    ],
    [
      "[dcap] pcs_url not a URL",
      `${FULL}[dcap]\npcs_url = "api.trustedservices.intel.com"\n`,
      "steward.config",
      /:20: dcap\.pcs_url: expected an https:\/\/ base URL/,
    ],
    [
      "[dcap] pcs_url with a query",
      `${FULL}[dcap]\npcs_url = "https://pcs.example/?fmspc=1"\n`,
      "steward.config",
      /dcap\.pcs_url: expected an https:\/\/ base URL/,
    ],
    [
      "[dcap] plain http off loopback",
      `${FULL}[dcap]\npcs_url = "http://pccs.example:8081"\n`,
      "steward.config",
      /dcap\.pcs_url: plain http:\/\/ is allowed only for a PCCS on a loopback address/,
    ],
    [
      "[dcap] collateral_dir empty",
      `${FULL}[dcap]\ncollateral_dir = ""\n`,
      "steward.config",
      /dcap\.collateral_dir: expected a non-empty string/,
    ],
    [
      "path not a string",
      FULL.replace('"policy.toml"', "3"),
      "steward.config",
      /:2: policy: expected a non-empty string, got a number/,
    ],
  ];
  for (const [name, text, code, re] of bad) {
    it(`refuses: ${name}`, () => {
      assert.throws(() => parseConfig(text, "/s/steward.toml"), fails(code, re));
    });
  }

  it("never echoes an admin token in a message", () => {
    const secret = "S3cr3t-but-too-short";
    assert.throws(
      () => parseConfig(FULL.replace(TOKEN, secret), "/s/steward.toml"),
      (e: unknown) => e instanceof StewardError && !e.message.includes(secret),
    );
  });
});

describe("config values", () => {
  it("parseListen: IPv4, names, bracketed IPv6, port 0", () => {
    assert.deepEqual(parseListen("127.0.0.1:8443"), { host: "127.0.0.1", port: 8443 });
    assert.deepEqual(parseListen("steward.example:443"), { host: "steward.example", port: 443 });
    assert.deepEqual(parseListen("[::1]:0"), { host: "::1", port: 0 });
    for (const bad of ["::1:80", "host", ":80", "h:123456", "h:-1", "[::1]"]) {
      assert.throws(() => parseListen(bad), /expected HOST:PORT/, bad);
    }
  });

  it("isLoopback", () => {
    for (const h of ["localhost", "LOCALHOST", "127.0.0.1", "127.1.2.3", "::1"]) {
      assert.equal(isLoopback(h), true, h);
    }
    for (const h of [
      "0.0.0.0",
      "::",
      "10.0.0.1",
      "example.com",
      "128.0.0.1",
      "localhost.example",
    ]) {
      assert.equal(isLoopback(h), false, h);
    }
  });

  it("sizes and durations", () => {
    assert.equal(parseSize("256KiB"), 262144);
    assert.equal(parseSize("1MB"), 1_000_000);
    assert.equal(parseSize("4096"), 4096);
    assert.equal(parseSize("2 GiB"), 2 * 1024 ** 3);
    assert.equal(parseSize("1KB"), 1000);
    assert.equal(parseSize("1kb"), null);
    assert.equal(parseSize("-1"), null);
    assert.equal(parseDuration("500ms"), 500);
    assert.equal(parseDuration("10s"), 10_000);
    assert.equal(parseDuration("2m"), 120_000);
    assert.equal(parseDuration("1h"), 3_600_000);
    assert.equal(parseDuration("10"), null);
  });
});
