/**
 * Keeps bench/net.ts (the network part of `npm run bench`) from rotting:
 * one run with tiny parameters against the three real servers (a sandbox
 * Keep, the native build, plain Node TLS) must produce a number for every
 * row and the section's tables; and every process a server started must be
 * gone afterwards, whether the run ends by itself, by SIGTERM or by SIGKILL
 * in the middle. Benchmarks are not tests: no timing is asserted.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { type NetBenchResult, netRatios, netSection } from "./net.ts";

const NET = path.join(import.meta.dirname, "net.ts");
const TINY = [
  ...["--segment", "0.2", "--warmup", "0.05", "--rounds", "2"],
  ...["--concurrency", "1,3", "--mib", "1", "--reps", "1"],
];

interface Seen {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Every pid the servers' progress lines named, by server. */
  pids: () => Map<string, number[]>;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[]): Seen {
  const child = spawn(process.execPath, [NET, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
  child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("close", (code, signal) => resolve({ code, signal })),
  );
  const pids = () => {
    const m = new Map<string, number[]>();
    for (const [, name, list] of err.matchAll(/^ {2}(\w+): 127\.0\.0\.1:\d+, pids ([\d ]+)$/gm))
      m.set(name!, list!.split(" ").map(Number));
    return m;
  };
  return { child, stdout: () => out, stderr: () => err, pids, closed };
}

/** Alive and not a zombie (killed servers are reparented to an init that may not reap them). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Wait (at most 10 s) until none of `pids` is alive; the ones still alive. */
async function gone(pids: number[]): Promise<number[]> {
  for (let i = 0; i < 100; i++) {
    const left = pids.filter(alive);
    if (left.length === 0) return [];
    await new Promise((r) => setTimeout(r, 100));
  }
  return pids.filter(alive);
}

describe("bench/net.ts", () => {
  it("measures every server with tiny parameters and prints its tables", async () => {
    const r = run(["--json", ...TINY]);
    const { code } = await r.closed;
    assert.equal(code, 0, r.stderr());
    const res = JSON.parse(r.stdout()) as NetBenchResult;
    assert.deepEqual(res.rps.map((x) => `${x.server} ${x.concurrency}`).sort(), [
      "keep 1",
      "keep 3",
      "native 1",
      "native 3",
      "node 1",
      "node 3",
    ]);
    for (const x of res.rps) {
      assert.ok(Number.isFinite(x.rate) && x.rate > 0, JSON.stringify(x));
      assert.equal(x.rounds.length, 2, JSON.stringify(x));
      assert.ok(x.requests > 0 && x.latencyMs.p50 > 0, JSON.stringify(x));
      assert.ok(x.latencyMs.p50 <= x.latencyMs.p99 && x.latencyMs.p99 <= x.latencyMs.max);
      assert.ok(x.cpuUsPerRequest.client !== undefined, JSON.stringify(x));
    }
    assert.deepEqual(res.download.map((d) => d.server).sort(), ["keep", "native", "node"]);
    for (const d of res.download) assert.ok(d.median > 0 && d.mibPerS.length === 1);
    // The Keep's CPU is split by thread: its process tree was found.
    const keep = res.rps.find((x) => x.server === "keep")!;
    assert.ok("host" in keep.cpuUsPerRequest && "Keep I/O thread" in keep.cpuUsPerRequest);
    // TLS where there is TLS, none natively.
    assert.match(res.transport.keep, /^TLSv1\.3 /);
    assert.match(res.transport.node, /^TLSv1\.3 /);
    assert.equal(res.transport.native, "TCP, no TLS");

    const md = netSection(res);
    assert.match(md, /^## Network: /m);
    assert.match(md, /^\| GET \/ over \| server \| requests\/s \|/m);
    assert.match(md, /^\| 3 connections \| Keep \(TLS inside\) \| [\d,]+ /m);
    assert.match(md, /^\| 1 MiB download \| rate \|/m);
    assert.match(md, /^\| plain Node TLS \| \d+ MiB\/s /m);
    assert.match(md, /^\| requests\/s, 1 connection \| \d+\.\d{3}× \| \d+\.\d{3}× \|$/m);
    assert.match(md, /^\| download MiB\/s \| \d+\.\d{3}× \| \d+\.\d{3}× \|$/m);
    assert.equal(netRatios(res).length, 3);

    const pids = r.pids();
    assert.deepEqual([...pids.keys()].sort(), ["keep", "native", "node"], r.stderr());
    // The Keep: host, bwrap's two processes and the Keep's Node at least.
    assert.ok(pids.get("keep")!.length >= 2, r.stderr());
    assert.deepEqual(await gone([...pids.values()].flat()), []);
  });

  // Stopped while it measures (all three servers up): nothing may be left running.
  for (const signal of ["SIGTERM", "SIGKILL"] as const) {
    it(`leaves no server process behind when it gets ${signal} mid-run`, async () => {
      const r = run(["--segment", "30", "--rounds", "1", "--concurrency", "1"]);
      for (let i = 0; i < 600 && r.pids().size < 3; i++) {
        if (r.child.exitCode !== null) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      const pids = r.pids();
      assert.equal(pids.size, 3, r.stderr());
      r.child.kill(signal);
      const { signal: how, code } = await r.closed;
      assert.ok(how === signal || code === 128 + (signal === "SIGTERM" ? 15 : 9), `${how} ${code}`);
      assert.deepEqual(await gone([...pids.values()].flat()), [], r.stderr());
    });
  }
});
