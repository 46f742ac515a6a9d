/**
 * The host loader against the real Keep process: the command line it builds,
 * and output that arrives whole however the workload writes it.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { KeepError } from "./error.ts";
import { type KeepLaunchOptions, keepCommand, RUNTIME_ROOT, runKeep } from "./host.ts";
import { SOCKET_WINDOW } from "./sallyport.ts";
import { loadOrCreateSandboxKey } from "./sandbox_key.ts";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-host-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));
const BWRAP = fs.existsSync("/usr/bin/bwrap") ? "/usr/bin/bwrap" : null;

function options(o: Partial<KeepLaunchOptions>): KeepLaunchOptions {
  return {
    backend: "sandbox",
    plan: { args: ["w"], env: {}, stdio: ["null", "stdout", "stderr"], dirs: [] },
    limits: { memoryPages: 256, timeoutMs: null, outputBytes: null },
    module: new Uint8Array(0),
    config: new Uint8Array(0),
    nodePath: process.execPath,
    bwrap: BWRAP,
    prlimit: null,
    stateDir: null,
    stdout: () => {},
    stderr: () => {},
    openStdin: () => assert.fail("no stdin"),
    ...o,
  };
}

describe("keepCommand", () => {
  it("maps host directories only under bubblewrap, and grants /proc/self/fd with them", () => {
    const dirs = [{ guest: "/d", host: "/srv/data", readonly: true }];
    const plan = { args: ["w"], env: {}, stdio: ["null", "null", "null"] as const, dirs };
    assert.throws(
      () =>
        keepCommand(options({ bwrap: null, plan: { ...plan, stdio: ["null", "null", "null"] } })),
      (e: unknown) => e instanceof KeepError && e.code === "keep.host.dirs",
    );
    const { args } = keepCommand(
      options({ bwrap: "/usr/bin/bwrap", plan: { ...plan, stdio: ["null", "null", "null"] } }),
    );
    assert.ok(args.includes("--allow-fs-read=/proc/self/fd"));
    assert.ok(
      !args.includes("--allow-fs-write=/proc/self/fd"),
      "read-only dirs need no write grant",
    );
    const i = args.indexOf("/srv/data");
    assert.equal(args[i - 1], "--ro-bind");
  });

  it("mounts the private /tmp before the runtime and the mapped dirs, so a checkout under /tmp is not hidden", () => {
    const dirs = [{ guest: "/d", host: "/tmp/some/dir", readonly: false }];
    const { args } = keepCommand(
      options({
        bwrap: "/usr/bin/bwrap",
        plan: { args: ["w"], env: {}, stdio: ["null", "null", "null"], dirs },
      }),
    );
    const tmpfs = args.indexOf("--tmpfs");
    assert.equal(args[tmpfs + 1], "/tmp");
    assert.ok(tmpfs < args.indexOf(RUNTIME_ROOT), "the runtime is bound after /tmp");
    assert.ok(tmpfs < args.indexOf("/tmp/some/dir"), "mapped dirs are bound after /tmp");
  });

  it("starts the Keep in a directory that holds nothing secret", () => {
    const { args } = keepCommand(options({ bwrap: "/usr/bin/bwrap" }));
    assert.equal(args[args.indexOf("--chdir") + 1], "/run/donjon-keep");
  });
});

describe("runKeep: output", { timeout: 60_000 }, () => {
  it("4 MiB in 16-byte writes (262,144 fd_writes) arrives whole, in few frames", async () => {
    const key = await loadOrCreateSandboxKey({ stateDir: path.join(TMP, "state") });
    const chunks: Uint8Array[] = [];
    const r = await runKeep(
      options({
        plan: {
          args: ["stdoutbulk", "4", "16"],
          env: {},
          stdio: ["null", "stdout", "stderr"],
          dirs: [],
        },
        module: fs.readFileSync(path.join(RUNTIME_ROOT, "bench/wasm/stdoutbulk.wasm")),
        stateDir: path.dirname(key.keyPath),
        stdout: (b) => chunks.push(b.slice()),
      }),
    );
    assert.deepEqual(r, { ...r, kind: "exit", code: 0 });
    const out = Buffer.concat(chunks);
    assert.equal(out.length, 4 * 1024 * 1024);
    assert.equal(out.subarray(0, 32).toString(), "line 0000000000\nline 0000000001\n");
    assert.equal(out.subarray(-16).toString(), `line ${String(4 * 65536 - 1).padStart(10, "0")}\n`);
    // Merged into frames of up to 64 KiB: a frame per write would be 262,144.
    assert.ok(chunks.length <= 4 * 1024, `${chunks.length} frames`);
  });
});

describe("runKeep: a relayed connection to the Steward", () => {
  const ENTRY = path.join(import.meta.dirname, "../test/relay_keep.js");
  const MiB = 1024 * 1024;

  /** A TCP peer that writes `size` bytes to each connection, then ends it; records what it got. */
  async function peer(size: number) {
    const got: Buffer[] = [];
    const server = net.createServer((s) => {
      s.on("data", (b: Buffer) => got.push(b));
      s.on("error", () => {});
      s.end(Buffer.alloc(size, 0x5a));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as net.AddressInfo).port;
    return { server, url: `http://127.0.0.1:${port}`, got };
  }

  async function relay(credit: boolean, size: number, url?: string) {
    const p = await peer(size);
    const dir = fs.mkdtempSync(path.join(TMP, "relay-"));
    fs.writeFileSync(path.join(dir, "relay.json"), JSON.stringify({ credit, waitMs: 1500 }));
    try {
      const result = await runKeep(
        options({
          entry: ENTRY,
          stateDir: dir,
          module: new Uint8Array(8),
          steward: { url: url ?? p.url, ca: null },
        }),
      );
      return { result, peerGot: Buffer.concat(p.got).toString("utf8") };
    } finally {
      p.server.close();
    }
  }

  it("relays both ways; with the Keep crediting what it takes, all of a 1 MiB answer arrives, then SOCKET_CLOSED", async () => {
    const r = await relay(true, MiB);
    assert.deepEqual(r.result, { kind: "error", code: "test.received", message: String(MiB) });
    assert.equal(r.peerGot, "hello");
  });

  it("a Keep that credits nothing gets exactly the 256 KiB window and no more", async () => {
    const r = await relay(false, MiB);
    assert.deepEqual(r.result, {
      kind: "error",
      code: "test.received",
      message: String(SOCKET_WINDOW),
    });
  });

  it("an address nobody listens at: CONNECTED ok:false, not a crash", async () => {
    const { server, url } = await peer(0);
    await new Promise<void>((r) => server.close(() => r()));
    const r = await relay(true, 0, url);
    assert.deepEqual(r.result, { kind: "error", code: "test.received", message: "-1" });
  });
});
