/**
 * `donjon steward`: init and run in process with fake signals, and the real
 * CLI under real signals (SIGHUP reloads, SIGTERM stops with status 0).
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import { CliError } from "../../error.ts";
import { type StewardContext, type StewardSignal, steward } from "./steward.ts";

const ROOT = path.resolve(import.meta.dirname, "../../../../..");
const BIN = path.join(ROOT, "packages/cli/bin/donjon.js");

function fake(cwd: string) {
  let handler: ((s: StewardSignal) => void) | null = null;
  const ctx: StewardContext & { stdout: string; stderr: string; send(s: StewardSignal): void } = {
    stdout: "",
    stderr: "",
    cwd,
    out: (t) => {
      ctx.stdout += t;
    },
    err: (t) => {
      ctx.stderr += t;
    },
    now: () => new Date(),
    signals: {
      subscribe(h) {
        handler = h;
        return () => {
          handler = null;
        };
      },
    },
    send: (s) => handler?.(s),
  };
  return ctx;
}

function get(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (res) => {
        let body = "";
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on("error", reject);
  });
}

const usage = (re: RegExp) => (e: unknown) =>
  e instanceof CliError && e.code === "USAGE" && re.test(e.message);

describe("donjon steward, in process", () => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-steward-"));

  it("init DIR writes the Steward's files and says how to run it; a second init is refused", async () => {
    const ctx = fake(cwd);
    assert.equal(
      await steward(["init", "s", "--san", "steward.test", "--san", "10.1.2.3"], ctx),
      0,
    );
    assert.match(ctx.stdout, /^Created a Steward in s:$/m);
    assert.match(ctx.stdout, /^CA SHA-256 fingerprint: ([0-9A-F]{2}:){31}[0-9A-F]{2}$/m);
    assert.match(ctx.stdout, /^Run it with: donjon steward --config s\/steward\.toml$/m);
    for (const f of ["ca.pem", "ca.key", "tls.pem", "tls.key", "policy.toml", "steward.toml"]) {
      assert.ok(fs.existsSync(path.join(cwd, "s", f)), f);
    }
    await assert.rejects(
      steward(["init", "s"], fake(cwd)),
      (e: unknown) =>
        e instanceof CliError &&
        e.code === "CONFIG" &&
        /exist; refusing to replace .*\[steward\.init\.exists\]$/.test(e.message),
    );
  });

  it("runs until SIGTERM, reloading on SIGHUP; logs are JSON lines on stdout", async () => {
    const ctx = fake(cwd);
    const done = steward(["--config", "s/steward.toml", "--listen", "127.0.0.1:0"], ctx);
    const deadline = Date.now() + 10_000;
    while (!/listening on (\S+)/.test(ctx.stderr) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const url = /listening on (\S+)/.exec(ctx.stderr)![1]!;
    const ca = fs.readFileSync(path.join(cwd, "s", "ca.pem"), "utf8");
    assert.equal((await get(`${url}/healthz`, ca)).status, 200);
    fs.appendFileSync(path.join(cwd, "s", "policy.toml"), "# edited\n");
    ctx.send("SIGHUP");
    await new Promise((r) => setTimeout(r, 100));
    assert.match(ctx.stdout, /"msg":"policy reloaded"/);
    ctx.send("SIGTERM");
    assert.equal(await done, 0);
    assert.match(ctx.stderr, /stopping \(SIGTERM\)/);
    for (const line of ctx.stdout.trim().split("\n")) JSON.parse(line);
  });

  it("a configuration the Steward refuses is exit 1 with its message and code", async () => {
    const bad = path.join(cwd, "bad.toml");
    fs.writeFileSync(bad, 'listen = "0.0.0.0:1"\nplain_http = true\n');
    await assert.rejects(
      steward(["--config", bad], fake(cwd)),
      (e: unknown) =>
        e instanceof CliError &&
        e.code === "CONFIG" &&
        /plain HTTP is allowed only on a loopback address.*\[steward\.config\.plain_http\]$/.test(
          e.message,
        ),
    );
  });

  it("usage errors, help, and no --config", async () => {
    await assert.rejects(steward(["--confg", "x"], fake(cwd)), usage(/unknown flag --confg/));
    await assert.rejects(steward(["serve"], fake(cwd)), usage(/unexpected argument "serve"/));
    await assert.rejects(
      steward(["--config", "x", "--listen", "nowhere"], fake(cwd)),
      usage(/--listen: expected HOST:PORT/),
    );
    await assert.rejects(steward(["init"], fake(cwd)), usage(/needs a directory/));
    await assert.rejects(steward(["init", "a", "b"], fake(cwd)), usage(/unexpected argument "b"/));
    await assert.rejects(
      steward(["init", "a", "--san", "bad name"], fake(cwd)),
      usage(/--san: expected a DNS name or an IP address/),
    );
    const ctx = fake(cwd);
    assert.equal(await steward(["--help"], ctx), 0);
    assert.match(ctx.stdout, /^Usage: donjon steward --config FILE/);
    const none = fake(cwd);
    assert.equal(await steward([], none), 2);
    assert.match(none.stderr, /^Usage: donjon steward/);
  });
});

describe("donjon steward, the real CLI", () => {
  it("init, run, SIGHUP reloads, SIGTERM stops with status 0", async () => {
    const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-steward-bin-"));
    const init = spawnSync(process.execPath, [BIN, "steward", "init", "s"], {
      cwd,
      encoding: "utf8",
    });
    assert.equal(init.status, 0, init.stderr);
    const child = spawn(
      process.execPath,
      [BIN, "steward", "--config", "s/steward.toml", "--listen", "127.0.0.1:0"],
      { cwd, stdio: ["ignore", "pipe", "pipe"] },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c) => {
      stdout += c;
    });
    child.stderr.on("data", (c) => {
      stderr += c;
    });
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    try {
      const deadline = Date.now() + 20_000;
      while (!/listening on (\S+)/.test(stderr) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 25));
      }
      const url = /listening on (\S+)/.exec(stderr)?.[1];
      assert.ok(url, stderr);
      const ca = fs.readFileSync(path.join(cwd, "s", "ca.pem"), "utf8");
      assert.equal((await get(`${url}/readyz`, ca)).status, 200);
      fs.appendFileSync(path.join(cwd, "s", "policy.toml"), "# edited\n");
      child.kill("SIGHUP");
      const until = Date.now() + 5000;
      while (!/policy reloaded/.test(stdout) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 25));
      }
      assert.match(stdout, /"msg":"policy reloaded"/);
      child.kill("SIGTERM");
      assert.equal(await exited, 0, stderr);
    } finally {
      child.kill("SIGKILL");
    }
  });
});
