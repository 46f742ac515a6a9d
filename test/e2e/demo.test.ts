/**
 * `donjon demo` end to end, as `npm run demo` runs it on a fresh machine: a
 * state directory with no sandbox key yet, a real Steward, a real sandbox
 * Keep serving the example over TLS, a real client and verification. The
 * output is what a newcomer reads, so its steps, the served page, the verdict
 * and the statement of what was not proved are held here.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "packages/cli/bin/donjon.js");
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-e2e-demo-"));

after(() => fs.rmSync(TMP, { recursive: true, force: true }));

interface Run {
  status: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

/**
 * `donjon demo ARGS` with its own state directory; `onStdout` sees the output
 * as it grows and may signal the child.
 */
function demo(
  args: string[],
  state: string,
  onStdout?: (text: string, child: ReturnType<typeof spawn>) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "demo", ...args], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, XDG_STATE_HOME: state },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (s: string) => {
      stdout += s;
      onStdout?.(stdout, child);
    });
    child.stderr.setEncoding("utf8").on("data", (s: string) => (stderr += s));
    const kill = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("error", reject);
    child.on("close", (status, signal) => {
      clearTimeout(kill);
      resolve({ status, signal, stdout, stderr });
    });
  });
}

/** Temporary directories the demo made and should have removed. */
function demoDirs(stdout: string): string[] {
  return [...new Set(stdout.match(/\/[^\s]*donjon-demo-[A-Za-z0-9]+/g) ?? [])];
}

describe("donjon demo", { timeout: 180_000 }, () => {
  it("on a machine without a sandbox key: every step passes, the page and the verdict are printed, what was not proved is said, everything is cleaned up", async () => {
    const state = path.join(TMP, "fresh");
    const started = Date.now();
    const r = await demo([], state);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    const out = r.stdout;
    // Six numbered steps, in order.
    const steps = [...out.matchAll(/^\[(\d)\/6\] /gm)].map((m) => Number(m[1]));
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
    // The key was created in the state directory the demo was given, and the policy names it.
    const pub = path.join(state, "donjon", "sandbox-key.pub.pem");
    assert.ok(fs.existsSync(pub));
    assert.match(out, new RegExp(`this machine's sandbox key only \\(${pub}, created now\\)`));
    assert.match(out, /^\[2\/6\] Steward listening on https:\/\/127\.0\.0\.1:\d+$/m);
    assert.match(
      out,
      /^ {6}listening on 127\.0\.0\.1:\d+ \(TLS inside the Keep\); the Keep attests/m,
    );
    // The client (keepAgent) judged the Keep before sending, then got the example's page over TLS 1.3.
    assert.match(
      out,
      /^ {6}judged before a byte was sent: \d+ checks passed, warning client\.software_tier$/m,
    );
    assert.match(
      out,
      /^ {7}and checks the Steward's CRL, fetched from https:\/\/127\.0\.0\.1:\d+\/api\/v1\/crl\)$/m,
    );
    assert.match(out, /^ {6}TLSv1\.3 TLS_\w+; HTTP 200$/m);
    assert.match(out, /^ {6}│ Hello from a Donjon Keep!$/m);
    // donjon verify's verdict, with the example's workload identity and the software tier said.
    assert.match(
      out,
      /^\[5\/6\] Verify: donjon verify https:\/\/localhost:\d+ --steward-ca \S+ca\.pem --workload [0-9a-f]{64} --allow-software-tier --crl https:\/\/127\.0\.0\.1:\d+\/api\/v1\/crl$/m,
    );
    assert.match(
      out,
      /^ {6}│ https:\/\/localhost:\d+: VERIFIED — a sandbox Keep \(SOFTWARE TIER: NO HARDWARE CONFIDENTIALITY\)/m,
    );
    const id = /--workload ([0-9a-f]{64})/.exec(out)![1]!;
    assert.match(out, new RegExp(`^ {6}│ {3}workload identity {2}${id}$`, "m"));
    assert.match(out, /^ {6}│ {3}checks: \d+ passed, 0 failed, 1 warning$/m);
    assert.match(out, /^ {6}exit status 0: verified$/m);
    // What was and was not proved, plainly.
    assert.match(out, new RegExp(`^ {8}${id} \\(SHA-256 of both files' digests\\),$`, "m"));
    assert.match(out, /TLS ended inside the Keep, with a key generated there that never left it/);
    // Revocation is proved (the client and donjon verify read the Steward's CRL), no longer listed as not.
    assert.match(
      out,
      /^ {6}✓ the Steward has not revoked the certificate: it is not on the Steward's CRL, signed by its CA and$/m,
    );
    assert.doesNotMatch(out, /CRL was not consulted/);
    assert.match(
      out,
      /What it did NOT prove:\n {6}✗ confidentiality from this machine's owner: the tier is software/,
    );
    assert.match(out, /^ {2}curl --cacert \S+ca\.pem https:\/\/localhost:\d+\/$/m);
    // The workload's own log: the request it served.
    assert.match(out, /keep │ https-hello: GET \/ 200 \d+/);
    assert.match(
      r.stderr,
      /^donjon demo: stopped what it started and removed its temporary directory \(\d+\.\d s\)\n$/,
    );
    for (const d of demoDirs(out)) assert.equal(fs.existsSync(d), false, `${d} left behind`);
    // "A few seconds": generous for a loaded CI machine.
    assert.ok(Date.now() - started < 30_000, `took ${Date.now() - started} ms`);
  });

  it("--keep-running serves until SIGINT; the curl line it prints works; then it stops cleanly", async () => {
    const state = path.join(TMP, "running");
    let served: Promise<string> | null = null;
    const r = await demo(["--keep-running"], state, (out, child) => {
      if (served !== null) return;
      // The signal handler is in place once "Ctrl-C stops them" is printed.
      const m = /curl --cacert (\S+) https:\/\/localhost:(\d+)\/\n[\s\S]*Ctrl-C stops them/.exec(
        out,
      );
      if (!m) return;
      const [, caFile, port] = m;
      served = new Promise<string>((resolve, reject) => {
        https
          .get(
            {
              host: "127.0.0.1",
              port: Number(port),
              servername: "localhost",
              path: "/echo?still-running",
              ca: fs.readFileSync(caFile!),
              agent: false,
            },
            (res) => {
              let body = "";
              res.setEncoding("utf8").on("data", (s: string) => (body += s));
              res.on("end", () => resolve(body));
            },
          )
          .on("error", reject);
      }).finally(() => child.kill("SIGINT"));
    });
    assert.ok(served, r.stdout + r.stderr);
    assert.equal(await served, "still-running");
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /Ctrl-C stops them/);
    assert.match(r.stdout, /donjon demo: stopping \(SIGINT\)/);
    for (const d of demoDirs(r.stdout)) assert.equal(fs.existsSync(d), false, `${d} left behind`);
  });

  it("usage mistakes exit 2 before anything starts", async () => {
    for (const args of [["--bogus"], ["extra"]]) {
      const r = await demo(args, path.join(TMP, "usage"));
      assert.equal(r.status, 2, `${args}: ${r.stderr}`);
      assert.equal(r.stdout, "");
      assert.match(r.stderr, /see donjon demo --help/);
    }
  });
});
