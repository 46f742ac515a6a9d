/**
 * `donjon demo` in process: the real Steward (init, policy, start), with the
 * Keep's `donjon run` replaced by a scripted child — the only way to meet
 * the failures a first run can hit (a donjon run without networking, a
 * Steward refusal) on a machine where the real one succeeds. The whole demo
 * against real Keeps is test/e2e/demo.test.ts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import type { PlatformPort } from "@donjon/keep";
import { CliError } from "../error.ts";
import { DEMO_HELP, type DemoChild, type DemoContext, demo } from "./demo.ts";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-demo-unit-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

/** What the scripted `donjon run` does: lines on stderr, then an exit status (null: runs until stopped). */
interface Script {
  stderr: string[];
  exit: number | null;
}

function context(script: Script) {
  const spawned: string[][] = [];
  const removed: string[] = [];
  let stopped = 0;
  const made: string[] = [];
  const ctx: DemoContext & { stdout: string; stderr: string } = {
    stdout: "",
    stderr: "",
    cwd: TMP,
    out: (t) => {
      ctx.stdout += t;
    },
    err: (t) => {
      ctx.stderr += t;
    },
    readFile: (p) => fs.readFileSync(p),
    kindOf: () => "missing",
    openStdin: () => ({ next: async () => null, close: () => {} }),
    writeOut: () => {},
    writeErr: () => {},
    makeDir: (p) => void fs.mkdirSync(p, { recursive: true }),
    writeFile: (p, b) => fs.writeFileSync(p, b),
    platform: async () => ({ which: () => "/usr/bin/bwrap" }) as unknown as PlatformPort,
    stateDir: path.join(TMP, "state"),
    nodePath: process.execPath,
    makeTempDir: (prefix) => {
      const d = fs.mkdtempSync(path.join(TMP, prefix));
      made.push(d);
      return d;
    },
    removeDir: (d) => {
      removed.push(d);
      fs.rmSync(d, { recursive: true, force: true });
    },
    signals: { subscribe: () => () => {} },
    spawnDonjon(args) {
      spawned.push([...args]);
      let onErr: (t: string) => void = () => {};
      let finish: (r: { code: number | null; signal: string | null }) => void = () => {};
      const exited = new Promise<{ code: number | null; signal: string | null }>((r) => {
        finish = r;
      });
      // Written once the demo listens, as a child's output arrives after spawn.
      setImmediate(() => {
        for (const line of script.stderr) onErr(`${line}\n`);
        if (script.exit !== null) finish({ code: script.exit, signal: null });
      });
      return {
        onStdout: () => {},
        onStderr: (l) => {
          onErr = l;
        },
        exited,
        stop: () => {
          stopped++;
          finish({ code: null, signal: "SIGTERM" });
        },
      } satisfies DemoChild;
    },
  };
  return { ctx, spawned, removed, made, stopped: () => stopped };
}

describe("donjon demo (in process, scripted Keep)", () => {
  it("--help prints the help and starts nothing", async () => {
    const { ctx, spawned, made } = context({ stderr: [], exit: 0 });
    assert.equal(await demo(["--help"], ctx), 0);
    assert.equal(ctx.stdout, DEMO_HELP);
    assert.deepEqual([spawned, made], [[], []]);
  });

  it("usage mistakes are CliError USAGE before anything starts", async () => {
    for (const argv of [["--bogus"], ["extra"], ["--keep-running=yes"]]) {
      const { ctx, made } = context({ stderr: [], exit: 0 });
      await assert.rejects(demo(argv, ctx), (e: unknown) => {
        assert.ok(e instanceof CliError);
        assert.equal(e.code, "USAGE", argv.join(" "));
        assert.match(e.message, /see donjon demo --help/);
        return true;
      });
      assert.deepEqual(made, []);
    }
  });

  /** name, script, the error's message, the last step printed. */
  const failures: [string, Script, RegExp, number][] = [
    [
      "a donjon run that cannot serve listen sockets: its message and the fix",
      {
        stderr: [
          'donjon: examples/https-hello.toml:23: "files[3].kind" = "listen" needs networking, which donjon run does not support yet',
        ],
        exit: 1,
      },
      /^step 3 \(the Keep\): donjon run ended \(exit status 1\); it said:\n {2}donjon: .+needs networking.+\n {2}fix: this donjon run cannot serve \[\[files\]\] listen sockets yet/,
      3,
    ],
    [
      "a Steward refusal after the socket was bound: the refusal, not the client's error",
      {
        stderr: [
          'donjon: fd 3 "web" listening on https://127.0.0.1:9 (TLS ends inside the Keep)',
          "donjon: refused by the Steward: policy.workload_identity: expected one of [ab…], actual cd…; Run an allowed workload",
        ],
        exit: 1,
      },
      /^step 3 \(the Keep\): donjon run ended \(exit status 1\); it said:\n.+listening on.+\n {2}donjon: refused by the Steward: policy\.workload_identity: .+\n {2}fix: the demo's policy should have allowed this Keep/,
      // The socket was bound, so the client had started.
      4,
    ],
    [
      "a crash before any output",
      { stderr: [], exit: 70 },
      /^step 3 \(the Keep\): donjon run ended \(exit status 70\)$/,
      3,
    ],
  ];
  for (const [name, script, message, lastStep] of failures) {
    it(`${name}; the Steward is stopped and the temporary directory removed`, async () => {
      const { ctx, spawned, removed, made } = context(script);
      await assert.rejects(demo([], ctx), (e: unknown) => {
        assert.ok(e instanceof CliError, String(e));
        assert.equal(e.code, "KEEP");
        assert.match(e.message, message);
        return true;
      });
      // The real steps before the Keep ran.
      assert.match(ctx.stdout, /^\[1\/6\] Steward created in /m);
      assert.match(ctx.stdout, /^\[2\/6\] Steward listening on https:\/\/127\.0\.0\.1:\d+$/m);
      assert.match(ctx.stdout, /^\[3\/6\] Keep starting: donjon run --backend sandbox /m);
      const steps = [...ctx.stdout.matchAll(/^\[(\d)\/6\] /gm)].map((m) => Number(m[1]));
      assert.deepEqual(steps, [1, 2, 3, 4].slice(0, lastStep));
      if (lastStep >= 4) {
        // The client step fetched the real Steward's CRL before it called the Keep.
        assert.match(
          ctx.stdout,
          /^ {7}and checks the Steward's CRL, fetched from https:\/\/127\.0\.0\.1:\d+\/api\/v1\/crl\)$/m,
        );
      }
      assert.equal(spawned.length, 1);
      assert.deepEqual(spawned[0]!.slice(0, 3), ["run", "--backend", "sandbox"]);
      // The policy allowed exactly this machine's new key and the example.
      assert.ok(fs.existsSync(path.join(TMP, "state", "sandbox-key.pub.pem")));
      assert.deepEqual(removed, made);
      assert.equal(fs.existsSync(made[0]!), false);
      assert.match(ctx.stderr, /^donjon demo: stopped what it started/);
    });
  }
});
