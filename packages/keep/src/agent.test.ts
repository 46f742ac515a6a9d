/**
 * The Keep agent driven in process over an in-memory channel, with a fake
 * host written here and real workloads (examples/, test/wasm/): the protocol
 * order, the evidence binding, stdin, the limits, and a table of hostile
 * hosts, each of which must end the Keep with a named error — never a hang.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { EventEmitter } from "node:events";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import type { Worker } from "node:worker_threads";
import { reportData, workloadIdentity } from "@donjon/attest/binding";
import { checkKeepBinding, decodeKeepEvidence, encodeKeepEvidence } from "@donjon/attest/cmw";
import {
  FakeHost,
  type HostView,
  hostRun,
  loadWorkload,
  startPayload,
  view,
  type Workload,
} from "./_fake_host.ts";
import {
  type AgentOptions,
  CONFIG_MAX,
  type EvidenceSource,
  fitRefusal,
  MODULE_MAX,
  runAgent,
  STEWARD_CA_MAX,
} from "./agent.ts";
import { KeepError } from "./error.ts";
import { type RingChannel, RingWriter } from "./ring.ts";
import {
  DATA_CHUNK,
  encodeFrame,
  encodeJsonFrame,
  encodeSocketData,
  encodeU32Frame,
  FRAME,
  type Frame,
  HEADER_SIZE,
  LOAD_CHUNK,
  SOCKET_WINDOW,
} from "./sallyport.ts";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const wasm = (p: string) => new Uint8Array(fs.readFileSync(path.join(ROOT, p)));
const HELLO = wasm("examples/hello.wasm");
const CAT = wasm("examples/cat.wasm");
const SPIN = wasm("test/wasm/spin.wasm");
const EXITCODE = wasm("test/wasm/exitcode.wasm");
const MEMHOG = wasm("test/wasm/memhog.wasm");
const BIG_MEMORY = wasm("test/wasm/big_memory.wasm");
const NO_START = wasm("test/wasm/no_start.wasm");
const BAD_IMPORT = wasm("test/wasm/bad_import.wasm");

const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
const utf8 = new TextEncoder();
/** Every test ends a Keep; a hang is a failure, not a stuck run. */
const T = { timeout: 30_000 };

/** Test evidence: a tag, then the report data, so a test can find what the Keep bound. */
const EVIDENCE_TAG = utf8.encode("agent.test evidence\n");

interface Collected {
  reportData: Uint8Array;
  workloadIdentity: Uint8Array;
}

function testEvidence(calls: Collected[] = []): EvidenceSource {
  return {
    tee: "sandbox",
    collect: async (binding) => {
      calls.push(binding);
      const evidence = new Uint8Array(EVIDENCE_TAG.length + binding.reportData.length);
      evidence.set(EVIDENCE_TAG);
      evidence.set(binding.reportData, EVIDENCE_TAG.length);
      return { evidence, certs: [] };
    },
  };
}

function options(evidence: EvidenceSource = testEvidence()): AgentOptions {
  return { backend: "test", evidence, wrapEvidence: encodeKeepEvidence };
}

const run = (w: Workload, o: AgentOptions = options()) => hostRun(w, o);

/** What every run must leave: the channel ended, the report sent as the last frame, nothing after. */
function assertEndedCleanly(v: HostView): void {
  assert.equal(v.host.decodeError, null, "the Keep sent bytes the host cannot decode");
  assert.ok(v.host.isEnded, "the Keep did not end the channel");
  assert.deepEqual(v.host.afterEnd, [], "the Keep wrote after ending the channel");
  assert.equal(v.host.frames[0]?.type, FRAME.HELLO);
  if (v.report === null) {
    assert.equal(v.exit, null);
  } else {
    assert.equal(v.host.frames.at(-1)?.type, FRAME.EXIT, "EXIT is not the last frame");
    assert.equal(v.host.of(FRAME.EXIT).length, 1);
    assert.deepEqual(v.exit, JSON.parse(JSON.stringify(v.report)));
  }
}

function types(frames: Frame[]): string[] {
  const name = new Map<number, string>(Object.entries(FRAME).map(([k, t]) => [t, k]));
  return frames.map((f) => name.get(f.type)!);
}

describe("runAgent: a well-behaved host", () => {
  it("HELLO → START → MODULE → CONFIG → EVIDENCE → STDOUT → EXIT for hello.wasm", T, async () => {
    const config = utf8.encode('[workload]\nname = "hello"\n');
    const v = await run({
      wasm: HELLO,
      config,
      plan: { args: ["hello.wasm", "a", "b"], env: { NAME: "Ada" } },
    });
    assertEndedCleanly(v);
    assert.deepEqual(v.hello, { protocol: "donjon-sallyport", version: 1, backend: "test" });
    const seq = types(v.host.frames);
    assert.deepEqual(
      [seq[0], seq[1], ...new Set(seq.slice(2, -1)), seq.at(-1)],
      ["HELLO", "EVIDENCE", "STDOUT", "EXIT"],
    );
    assert.equal(
      v.stdout,
      "Hello from Donjon! argv[0]=hello.wasm argv[1]=a argv[2]=b\nHello, Ada!\n",
    );
    assert.equal(v.stderr, "");
    assert.equal(v.exit?.kind, "exit");
    assert.equal(v.exit?.code, 0);
  });

  it(
    "binds report_data = reportData(keepKey, workloadIdentity(sha256(wasm), sha256(config)))",
    T,
    async () => {
      const config = utf8.encode("# config bytes (the Keep reads them as Donjon.toml)\n");
      const calls: Collected[] = [];
      const v = await run({ wasm: HELLO, config }, options(testEvidence(calls)));
      assertEndedCleanly(v);
      assert.ok(v.evidence);
      const e = decodeKeepEvidence(v.evidence);
      assert.equal(e.tee, "sandbox");
      assert.deepEqual(e.certs, []);
      assert.deepEqual(e.wasmDigest, sha256(HELLO));
      assert.deepEqual(e.configDigest, sha256(config));

      // Recomputed here from the wrapper's key and our own digests of what we sent.
      const identity = await workloadIdentity(sha256(HELLO), sha256(config));
      const expected = await reportData(e.keepKey, identity);
      assert.equal(calls.length, 1);
      assert.deepEqual(calls[0]!.workloadIdentity, identity);
      assert.deepEqual(calls[0]!.reportData, expected);
      const fromEvidence = e.evidence.subarray(EVIDENCE_TAG.length);
      assert.deepEqual(fromEvidence, expected);
      const binding = await checkKeepBinding(e, fromEvidence);
      assert.equal(binding.ok, true, JSON.stringify(binding.checks));

      // The Keep key is a usable ECDSA P-384 public key.
      await crypto.subtle.importKey(
        "spki",
        e.keepKey as Uint8Array<ArrayBuffer>,
        { name: "ECDSA", namedCurve: "P-384" },
        true,
        ["verify"],
      );
    },
  );

  it("an empty config is the SHA-256 of no bytes, and no CONFIG frame is needed", T, async () => {
    const v = await run({ wasm: HELLO });
    assertEndedCleanly(v);
    assert.equal(v.host.of(FRAME.CONFIG).length, 0);
    assert.deepEqual(decodeKeepEvidence(v.evidence!).configDigest, sha256(new Uint8Array(0)));
  });

  it("generates a fresh Keep key for every Keep", T, async () => {
    const [a, b] = await Promise.all([run({ wasm: HELLO }), run({ wasm: HELLO })]);
    assert.notDeepEqual(
      decodeKeepEvidence(a.evidence!).keepKey,
      decodeKeepEvidence(b.evidence!).keepKey,
    );
  });

  it("serves stdin through STDIN_READ / STDIN_DATA / STDIN_EOF (cat.wasm)", T, async () => {
    const big = Uint8Array.from({ length: 150_000 }, (_, i) => (i * 7) & 0xff);
    const chunks = [utf8.encode("first line\n"), big, utf8.encode("last\n")];
    const v = await run({ wasm: CAT, plan: { args: ["cat.wasm"] }, stdin: chunks });
    assertEndedCleanly(v);
    assert.equal(v.exit?.code, 0);
    const out = Buffer.concat(v.host.of(FRAME.STDOUT).map((f) => f.payload));
    assert.deepEqual(new Uint8Array(out), new Uint8Array(Buffer.concat(chunks)));
    // Each read is asked for: one STDIN_READ per answer, the last answered by EOF.
    assert.ok(v.host.of(FRAME.STDIN_READ).length >= 4);
  });

  it("stdin at EOF at once: cat prints nothing and exits 0", T, async () => {
    const v = await run({ wasm: CAT, plan: { args: ["cat.wasm"] }, stdin: [] });
    assertEndedCleanly(v);
    assert.equal(v.stdout, "");
    assert.equal(v.exit?.code, 0);
  });

  it("passes the exit status and stderr through (exitcode.wasm 3)", T, async () => {
    const v = await run({ wasm: EXITCODE, plan: { args: ["exitcode.wasm", "3"] } });
    assertEndedCleanly(v);
    assert.equal(v.exit?.kind, "exit");
    assert.equal(v.exit?.code, 3);
    assert.equal(v.stdout, "");
    assert.equal(v.stderr, "exitcode: exiting with 3\n");
  });

  it("stdout mapped to null sends no STDOUT frame", T, async () => {
    const v = await run({ wasm: HELLO, plan: { stdio: ["null", "null", "stderr"] } });
    assertEndedCleanly(v);
    assert.equal(v.host.of(FRAME.STDOUT).length, 0);
    assert.equal(v.exit?.code, 0);
  });
});

describe("runAgent: limits", () => {
  it(
    "a workload that never ends is stopped at the time limit, its output so far relayed",
    T,
    async () => {
      const v = await run({
        wasm: SPIN,
        plan: { args: ["spin.wasm"] },
        limits: { timeoutMs: 300 },
      });
      assertEndedCleanly(v);
      assert.deepEqual(v.exit, {
        kind: "limit",
        limit: "time",
        message: "time limit of 300 ms reached; the workload was stopped",
      });
      assert.equal(v.stdout, "spinning\n");
    },
  );

  for (const limit of [0, 1, 10, 40]) {
    it(
      `the output limit of ${limit} bytes relays exactly that many bytes (hello.wasm)`,
      T,
      async () => {
        const full = "Hello from Donjon! argv[0]=hello.wasm\nNAME is not set\n";
        const v = await run({
          wasm: HELLO,
          plan: { args: ["hello.wasm"] },
          limits: { outputBytes: limit },
        });
        assertEndedCleanly(v);
        assert.equal(v.stdout, full.slice(0, limit));
        assert.deepEqual(v.exit, {
          kind: "limit",
          limit: "output",
          message: `output limit of ${limit} bytes reached; the workload was stopped`,
        });
      },
    );
  }

  it("an output limit the output fits in exactly is not a breach", T, async () => {
    const full = "Hello from Donjon! argv[0]=hello.wasm\nNAME is not set\n";
    const v = await run({
      wasm: HELLO,
      plan: { args: ["hello.wasm"] },
      limits: { outputBytes: full.length },
    });
    assertEndedCleanly(v);
    assert.equal(v.stdout, full);
    assert.equal(v.exit?.kind, "exit");
  });

  it(
    "the output limit counts stdout and stderr together, over many writes (cat.wasm)",
    T,
    async () => {
      const input = Uint8Array.from({ length: 300_000 }, (_, i) => i & 0xff);
      const v = await run({
        wasm: CAT,
        plan: { args: ["cat.wasm"] },
        stdin: [input],
        limits: { outputBytes: 200_001 },
      });
      assertEndedCleanly(v);
      const out = Buffer.concat(v.host.of(FRAME.STDOUT).map((f) => f.payload));
      assert.deepEqual(new Uint8Array(out), input.subarray(0, 200_001));
      assert.equal(v.exit?.limit, "output");
    },
  );

  it(
    "a module whose initial memory is over the limit is refused: keep.module.memory",
    T,
    async () => {
      const v = await run({ wasm: BIG_MEMORY, limits: { memoryPages: 100 } });
      assertEndedCleanly(v);
      assert.equal(v.exit?.kind, "error");
      assert.equal(v.exit?.code, "keep.module.memory");
      assert.match(
        String(v.exit?.message),
        /needs 1250 MiB of memory at start; the limit is 6\.25 MiB/,
      );
      assert.equal(v.stdout, "");
    },
  );

  it(
    "malloc beyond the memory limit fails inside the workload (memhog 64 MiB, limit 16 MiB)",
    T,
    async () => {
      const v = await run({
        wasm: MEMHOG,
        plan: { args: ["memhog.wasm", "64"] },
        limits: { memoryPages: 256 },
      });
      assertEndedCleanly(v);
      assert.equal(v.stdout, "FAIL memhog: expected 64 MiB got NULL from malloc\n");
      assert.equal(v.exit?.code, 1);
    },
  );

  it("memory within the limit is usable (memhog 8 MiB, limit 16 MiB)", T, async () => {
    const v = await run({
      wasm: MEMHOG,
      plan: { args: ["memhog.wasm", "8"] },
      limits: { memoryPages: 256 },
    });
    assertEndedCleanly(v);
    assert.equal(v.stdout, "ok memhog 8 MiB\n");
    assert.equal(v.exit?.code, 0);
  });
});

describe("runAgent: workloads and evidence sources that fail", () => {
  const rows: { name: string; w: Workload; o?: AgentOptions; code: string; message: string }[] = [
    {
      name: "a module without _start",
      w: { wasm: NO_START },
      code: "keep.module.invalid",
      message: 'the module: not a WASI command: it exports no "_start" function',
    },
    {
      name: "a module importing env.foo",
      w: { wasm: BAD_IMPORT },
      code: "keep.module.import",
      message: 'the module: unknown import "env"."foo" (function)',
    },
    {
      name: "bytes that are not wasm",
      w: { wasm: utf8.encode("not wasm at all") },
      code: "keep.module.invalid",
      message: "the module: ",
    },
    {
      name: "an evidence source that throws a KeepError",
      w: { wasm: HELLO },
      o: options({
        tee: "snp",
        collect: async () => {
          throw new KeepError("keep.tsm.io", "configfs-tsm: cannot create the report entry");
        },
      }),
      code: "keep.tsm.io",
      message: "configfs-tsm: cannot create the report entry",
    },
    {
      name: "an evidence source that throws anything else",
      w: { wasm: HELLO },
      o: options({
        tee: "snp",
        collect: async () => {
          throw new TypeError("boom");
        },
      }),
      code: "keep.internal",
      message: "TypeError: boom",
    },
  ];
  for (const r of rows) {
    it(`${r.name} → EXIT error ${r.code}`, T, async () => {
      const v = await run(r.w, r.o);
      assertEndedCleanly(v);
      assert.equal(v.exit?.kind, "error");
      assert.equal(v.exit?.code, r.code);
      assert.ok(String(v.exit?.message).includes(r.message), String(v.exit?.message));
      assert.equal(v.host.of(FRAME.STDOUT).length, 0);
    });
  }
});

// ── hostile hosts ─────────────────────────────────────────────────────────

const json = (v: unknown) => encodeJsonFrame(FRAME.START, v);
// biome-ignore lint/suspicious/noExplicitAny: a hostile START breaks its types on purpose
type Loose = Record<string, any>;
const start = (patch: (s: Loose) => void, w: Workload = { wasm: HELLO }) => {
  const s = structuredClone(startPayload(w)) as Loose;
  patch(s);
  return json(s);
};
const raw = (type: number, length: number, body = new Uint8Array(0), version = 1, reserved = 0) => {
  const h = new Uint8Array(HEADER_SIZE + body.length);
  const v = new DataView(h.buffer);
  h[0] = version;
  h[1] = type;
  v.setUint16(2, reserved);
  v.setUint32(4, length);
  h.set(body, HEADER_SIZE);
  return h;
};
const module = (bytes: Uint8Array) => encodeFrame(FRAME.MODULE, bytes);
/** The well-behaved load of hello.wasm (START and MODULE), to append something hostile to. */
const LOADED = loadWorkload({ wasm: HELLO });

/**
 * Each row: when the host turns hostile (`on`: after HELLO by default, or at
 * the workload's first STDOUT or first STDIN_READ), what it sends, and the
 * EXIT `{kind: "error", code}` with a message substring. `close`: the host
 * then goes away; `code: null` means the Keep must resolve null and send nothing more.
 */
const HOSTILE: {
  name: string;
  wasm?: Uint8Array;
  args?: string[];
  on?: "hello" | "stdout" | "stdin";
  send: Uint8Array[];
  close?: boolean;
  code: string | null;
  message?: string;
}[] = [
  // order
  {
    name: "MODULE before START",
    send: [module(HELLO.subarray(0, 16))],
    code: "keep.sallyport.order",
    message: "sallyport: unexpected MODULE (0x82); expected START",
  },
  {
    name: "STDIN_EOF before START",
    send: [encodeFrame(FRAME.STDIN_EOF)],
    code: "keep.sallyport.order",
    message: "sallyport: unexpected STDIN_EOF (0x85); expected START",
  },
  {
    name: "START twice",
    send: [LOADED[0]!, LOADED[0]!],
    code: "keep.sallyport.order",
    message: "sallyport: unexpected START (0x81); expected MODULE (0x82)",
  },
  {
    name: "CONFIG while the module is loading",
    send: [start((s) => (s.config.size = 4)), encodeFrame(FRAME.CONFIG, utf8.encode("abcd"))],
    code: "keep.sallyport.order",
    message: "sallyport: unexpected CONFIG (0x83); expected MODULE (0x82)",
  },
  {
    name: "CONFIG when no config was declared",
    send: [...LOADED, encodeFrame(FRAME.CONFIG, utf8.encode("x"))],
    code: "keep.sallyport.order",
    message: "sallyport: unexpected CONFIG (0x83)",
  },
  {
    name: "MODULE again after the module is complete",
    send: [...LOADED, module(new Uint8Array(1))],
    code: "keep.sallyport.order",
    message: "sallyport: unexpected MODULE (0x82)",
  },
  {
    name: "STDIN_DATA unasked (the workload is running and reads nothing)",
    wasm: SPIN,
    on: "stdout",
    send: [encodeFrame(FRAME.STDIN_DATA, utf8.encode("x"))],
    code: "keep.sallyport.order",
    message: "sallyport: STDIN_DATA (0x84) arrived, but the Keep asked for no stdin",
  },
  {
    name: "STDIN_EOF unasked",
    wasm: SPIN,
    on: "stdout",
    send: [encodeFrame(FRAME.STDIN_EOF)],
    code: "keep.sallyport.order",
    message: "sallyport: STDIN_EOF (0x85) arrived, but the Keep asked for no stdin",
  },
  {
    name: "MODULE while the workload runs",
    wasm: SPIN,
    on: "stdout",
    send: [module(new Uint8Array(1))],
    code: "keep.sallyport.order",
    message: "sallyport: unexpected MODULE (0x82); expected STDIN_DATA or STDIN_EOF",
  },
  // sizes
  {
    name: "MODULE bytes past the declared size",
    send: [LOADED[0]!, module(new Uint8Array([...HELLO, 0]))],
    code: "keep.sallyport.length",
    message: `sallyport: MODULE (0x82) carries 1 bytes past the ${HELLO.length} START declared`,
  },
  {
    name: "CONFIG bytes past the declared size",
    send: [
      start((s) => (s.config.size = 2)),
      ...LOADED.slice(1),
      encodeFrame(FRAME.CONFIG, utf8.encode("abc")),
    ],
    code: "keep.sallyport.length",
    message: "sallyport: CONFIG (0x83) carries 1 bytes past the 2 START declared",
  },
  {
    name: "STDIN_DATA larger than asked (refused at its header)",
    wasm: CAT,
    on: "stdin",
    send: [raw(FRAME.STDIN_DATA, 65537)],
    code: "keep.sallyport.length",
    message: "declares 65537 payload bytes; expected 1 to 65536",
  },
  {
    name: "an oversized MODULE header (refused before its payload)",
    send: [LOADED[0]!, raw(FRAME.MODULE, LOAD_CHUNK + 1)],
    code: "keep.sallyport.length",
    message: "sallyport: MODULE (0x82) at byte",
  },
  {
    name: "an oversized START header",
    send: [raw(FRAME.START, 64 * 1024 + 1)],
    code: "keep.sallyport.length",
    message: "sallyport: START (0x81) at byte 0 declares 65537 payload bytes; expected 2 to 65536",
  },
  // framing
  {
    name: "an unknown type",
    send: [raw(0x90, 0)],
    code: "keep.sallyport.type",
    message: "sallyport: unknown frame type 0x90 at byte 0",
  },
  {
    name: "a Keep → host type (EXIT) sent to the Keep",
    send: [raw(FRAME.EXIT, 2, utf8.encode("{}"))],
    code: "keep.sallyport.type",
    message: "sallyport: frame type EXIT (0x06) is sent the other way; it arrived at byte 0",
  },
  {
    name: "a wrong version",
    send: [raw(FRAME.START, 2, utf8.encode("{}"), 2)],
    code: "keep.sallyport.version",
    message: "sallyport: frame at byte 0 has version 2; expected 1",
  },
  {
    name: "non-zero reserved bytes",
    send: [raw(FRAME.START, 2, utf8.encode("{}"), 1, 1)],
    code: "keep.sallyport.reserved",
    message: "sallyport: START (0x81) at byte 0 has reserved bytes 00 01; expected 00 00",
  },
  // START payloads
  {
    name: "START not JSON",
    send: [encodeFrame(FRAME.START, utf8.encode("{plan:"))],
    code: "keep.sallyport.payload",
    message: "sallyport: START (0x81) payload is not UTF-8 JSON",
  },
  {
    name: "START a JSON array",
    send: [json([])],
    code: "keep.sallyport.payload",
    message: "sallyport: START (0x81) payload must be a JSON object",
  },
  {
    name: "START with an unknown field",
    send: [start((s) => (s.debug = true))],
    code: "keep.sallyport.payload",
    message: 'sallyport: START payload has unknown field "debug"',
  },
  {
    name: "START with an unknown plan field",
    send: [start((s) => (s.plan.cwd = "/"))],
    code: "keep.sallyport.payload",
    message: 'sallyport: START plan has unknown field "cwd"',
  },
  {
    name: "START missing a field",
    send: [start((s) => delete s.limits)],
    code: "keep.sallyport.payload",
    message: 'sallyport: START payload lacks field "limits"',
  },
  {
    name: "START limits missing a field",
    send: [start((s) => delete s.limits.timeoutMs)],
    code: "keep.sallyport.payload",
    message: 'sallyport: START limits lacks field "timeoutMs"',
  },
  {
    name: "args not an array",
    send: [start((s) => (s.plan.args = "hello.wasm"))],
    code: "keep.sallyport.payload",
    message: "sallyport: START plan.args must be a non-empty array (argv[0] included)",
  },
  {
    name: "args empty",
    send: [start((s) => (s.plan.args = []))],
    code: "keep.sallyport.payload",
    message: "sallyport: START plan.args must be a non-empty array",
  },
  {
    name: "an arg with a NUL",
    send: [start((s) => (s.plan.args = ["a\0b"]))],
    code: "keep.sallyport.payload",
    message: "sallyport: START plan.args[0] contains a NUL character",
  },
  {
    name: "an env value that is a number",
    send: [start((s) => (s.plan.env = { NAME: 42 }))],
    code: "keep.sallyport.payload",
    message: "sallyport: START plan.env.NAME must be a string",
  },
  {
    name: "an env name with =",
    send: [start((s) => (s.plan.env = { "A=B": "c" }))],
    code: "keep.sallyport.payload",
    message: 'sallyport: START plan.env has an invalid name "A=B"',
  },
  {
    name: "env an array",
    send: [start((s) => (s.plan.env = ["A=B"]))],
    code: "keep.sallyport.payload",
    message: "sallyport: START plan.env must be an object",
  },
  {
    name: "stdio of the wrong length",
    send: [start((s) => (s.plan.stdio = ["stdin", "stdout"]))],
    code: "keep.sallyport.payload",
    message: "sallyport: START plan.stdio must be an array of 3 entries (fds 0, 1, 2)",
  },
  {
    name: "stdio of an unknown kind",
    send: [start((s) => (s.plan.stdio = ["stdin", "socket", "stderr"]))],
    code: "keep.sallyport.payload",
    message: "sallyport: START plan.stdio[1] must be one of null, stdin, stdout, stderr",
  },
  {
    name: "a dir whose host path is relative",
    send: [start((s) => (s.plan.dirs = [{ guest: "/data", host: "data", readonly: true }]))],
    code: "keep.sallyport.payload",
    message: "sallyport: START plan.dirs[0].host must be an absolute path",
  },
  {
    name: "a dir without readonly",
    send: [start((s) => (s.plan.dirs = [{ guest: "/data", host: null }]))],
    code: "keep.sallyport.payload",
    message: 'sallyport: START plan.dirs[0] lacks field "readonly"',
  },
  {
    name: "65 dirs",
    send: [
      start(
        (s) =>
          (s.plan.dirs = Array.from({ length: 65 }, (_, i) => ({
            guest: `/d${i}`,
            host: null,
            readonly: true,
          }))),
      ),
    ],
    code: "keep.sallyport.payload",
    message: "sallyport: START plan.dirs must be an array of at most 64 directories",
  },
  {
    name: "memoryPages 70000",
    send: [start((s) => (s.limits.memoryPages = 70000))],
    code: "keep.sallyport.payload",
    message: "sallyport: START limits.memoryPages must be an integer from 0 to 65536, not 70000",
  },
  {
    name: "memoryPages 1.5",
    send: [start((s) => (s.limits.memoryPages = 1.5))],
    code: "keep.sallyport.payload",
    message: "sallyport: START limits.memoryPages must be an integer from 0 to 65536, not 1.5",
  },
  {
    name: "timeoutMs 0",
    send: [start((s) => (s.limits.timeoutMs = 0))],
    code: "keep.sallyport.payload",
    message: "sallyport: START limits.timeoutMs must be an integer from 1 to 2147483647, not 0",
  },
  {
    name: "outputBytes a string",
    send: [start((s) => (s.limits.outputBytes = "100"))],
    code: "keep.sallyport.payload",
    message:
      'sallyport: START limits.outputBytes must be an integer from 0 to 9007199254740991, not "100"',
  },
  {
    name: "module.size 4",
    send: [start((s) => (s.module.size = 4))],
    code: "keep.sallyport.payload",
    message: `sallyport: START module.size must be an integer from 8 to ${MODULE_MAX}, not 4`,
  },
  {
    name: "config.size over the limit",
    send: [start((s) => (s.config.size = CONFIG_MAX + 1))],
    code: "keep.sallyport.payload",
    message: `sallyport: START config.size must be an integer from 0 to ${CONFIG_MAX}, not ${CONFIG_MAX + 1}`,
  },
  // START's steward
  {
    name: "steward with plain http to another machine",
    send: [start((s) => (s.steward = { url: "http://steward.example", ca: null }))],
    code: "keep.sallyport.payload",
    message:
      'sallyport: START steward.url must be https:// (or http:// on a loopback host), not "http://steward.example"',
  },
  {
    name: "steward https without a CA",
    send: [start((s) => (s.steward = { url: "https://steward.example", ca: null }))],
    code: "keep.sallyport.payload",
    message: "sallyport: START steward.ca is required for an https:// Steward",
  },
  {
    name: "steward CA that is not PEM",
    send: [start((s) => (s.steward = { url: "https://steward.example", ca: "trust me" }))],
    code: "keep.sallyport.payload",
    message: "sallyport: START steward.ca must be PEM certificates (-----BEGIN CERTIFICATE-----)",
  },
  {
    name: "steward CA over its bound",
    send: [
      start(
        (s) =>
          (s.steward = {
            url: "https://steward.example",
            ca: `-----BEGIN CERTIFICATE-----\n${"A".repeat(STEWARD_CA_MAX)}\n-----END CERTIFICATE-----\n`,
          }),
      ),
    ],
    code: "keep.sallyport.payload",
    message: `sallyport: START steward.ca is ${STEWARD_CA_MAX + 55} characters; at most ${STEWARD_CA_MAX}`,
  },
  {
    name: "steward URL with credentials",
    send: [start((s) => (s.steward = { url: "https://u:p@steward.example", ca: null }))],
    code: "keep.sallyport.payload",
    message: "sallyport: START steward.url must not carry credentials, a query or a fragment",
  },
  {
    name: "steward URL that does not parse",
    send: [start((s) => (s.steward = { url: "steward", ca: null }))],
    code: "keep.sallyport.payload",
    message: 'sallyport: START steward.url is not a URL: "steward"',
  },
  {
    name: "steward with an unknown field",
    send: [start((s) => (s.steward = { url: "http://127.0.0.1:1", ca: null, port: 1 }))],
    code: "keep.sallyport.payload",
    message: 'sallyport: START steward has unknown field "port"',
  },
  {
    name: "START without steward",
    send: [start((s) => delete s.steward)],
    code: "keep.sallyport.payload",
    message: 'sallyport: START payload lacks field "steward"',
  },
  // connection frames when the Keep opened no connection
  {
    name: "CONNECTED before START",
    send: [encodeJsonFrame(FRAME.CONNECTED, { id: 1, ok: true })],
    code: "keep.sallyport.order",
    message: "sallyport: unexpected CONNECTED (0x86); expected START",
  },
  {
    name: "SOCKET_RECV while the Keep proves itself (no connection is open)",
    send: [...LOADED, encodeSocketData(FRAME.SOCKET_RECV, 1, utf8.encode("x"))],
    code: "keep.sallyport.order",
    message: "sallyport: SOCKET_RECV (0x87) for connection 1, which is not open",
  },
  {
    name: "CONNECTED the Keep never asked for, while the workload runs",
    wasm: SPIN,
    on: "stdout",
    send: [encodeJsonFrame(FRAME.CONNECTED, { id: 1, ok: true })],
    code: "keep.sallyport.order",
    message: "sallyport: CONNECTED for connection 1, which the Keep did not ask for",
  },
  // the host goes away
  {
    name: "the channel closes inside a header",
    send: [LOADED[0]!.subarray(0, 5)],
    close: true,
    code: null,
  },
  {
    name: "the channel closes inside the START payload",
    send: [LOADED[0]!.subarray(0, 20)],
    close: true,
    code: null,
  },
  {
    name: "the channel closes inside a MODULE payload",
    send: [LOADED[0]!, LOADED[1]!.subarray(0, 1000)],
    close: true,
    code: null,
  },
  {
    name: "the channel closes between frames, before the module is complete",
    send: [LOADED[0]!, module(HELLO.subarray(0, 100))],
    close: true,
    code: null,
  },
  {
    name: "the channel closes while the workload runs",
    wasm: SPIN,
    on: "stdout",
    send: [],
    close: true,
    code: null,
  },
  {
    name: "the channel closes while the workload waits for stdin",
    wasm: CAT,
    on: "stdin",
    send: [],
    close: true,
    code: null,
  },
];

describe("runAgent: hostile hosts", () => {
  for (const row of HOSTILE) {
    it(`${row.name} → ${row.code ?? "ends silently"}`, T, async () => {
      const host = new FakeHost();
      const w: Workload = { wasm: row.wasm ?? HELLO, plan: { args: ["w.wasm"] } };
      const hostile = () => {
        host.send(...row.send);
        if (row.close) host.close();
      };
      let turned = false;
      host.onFrame((f) => {
        if (f.type === FRAME.HELLO) {
          if ((row.on ?? "hello") === "hello") {
            turned = true;
            hostile();
          } else {
            host.send(...loadWorkload(w));
          }
        } else if (!turned && f.type === FRAME.STDOUT && row.on === "stdout") {
          turned = true;
          hostile();
        } else if (!turned && f.type === FRAME.STDIN_READ && row.on === "stdin") {
          turned = true;
          hostile();
        }
      });
      const report = await runAgent(host.channel, options());
      await host.ended;
      const v = view(host, report);
      assertEndedCleanly(v);
      assert.ok(turned);
      if (row.code === null) {
        assert.equal(report, null);
        assert.equal(v.exit, null);
        return;
      }
      assert.equal(v.exit?.kind, "error", JSON.stringify(v.exit));
      assert.equal(v.exit?.code, row.code, String(v.exit?.message));
      assert.ok(
        String(v.exit?.message).includes(row.message!),
        `expected the message to include ${JSON.stringify(row.message)}, got ${JSON.stringify(v.exit?.message)}`,
      );
    });
  }

  it(
    "a hostile chunk that carries a good frame and a bad one is refused at the bad one",
    T,
    async () => {
      const host = new FakeHost();
      host.onFrame((f) => {
        if (f.type === FRAME.HELLO) {
          const [s] = LOADED;
          const both = new Uint8Array(s!.length + HEADER_SIZE);
          both.set(s!);
          both.set(raw(0x90, 0), s!.length);
          host.send(both);
        }
      });
      const report = await runAgent(host.channel, options());
      await host.ended;
      assertEndedCleanly(view(host, report));
      assert.equal(report?.kind, "error");
      assert.match(
        (report as { message: string }).message,
        new RegExp(`unknown frame type 0x90 at byte ${LOADED[0]!.length} `),
      );
    },
  );
});

/**
 * A stand-in for the workload's worker, in this thread, so a test can order
 * its events exactly: `script` runs in a microtask once the worker has its
 * module (in `workerData`, or posted after the Keep checked it), with the ring
 * the agent reads and a way to post the worker's messages.
 */
function fakeWorker(
  script: (
    ring: RingWriter,
    post: (m: unknown) => void,
    emit: (e: string, v?: unknown) => void,
  ) => void,
): NonNullable<AgentOptions["startWorker"]> {
  return (data) => {
    const ring = new RingWriter((data as { output: RingChannel }).output);
    const go = () =>
      queueMicrotask(() =>
        script(
          ring,
          (m) => w.emit("message", m),
          (e, v) => w.emit(e, v),
        ),
      );
    const w = Object.assign(new EventEmitter(), {
      terminate: async () => 0,
      postMessage: (m: { type?: string }) => {
        if (m?.type === "module") go();
      },
    });
    if ((data as { module?: unknown }).module) go();
    return w as unknown as Worker;
  };
}

const EXIT_0 = { type: "done", outcome: { kind: "exit", code: 0, memory: 65536 } };

describe("runAgent: the workload's worker", () => {
  const rows: {
    name: string;
    startWorker: NonNullable<AgentOptions["startWorker"]>;
    outputBytes?: number;
    exit: Record<string, unknown>;
    stdout?: string;
  }[] = [
    {
      // The worker's "done" can overtake the ring's wake-up: the last pump must still see the breach.
      name: "writes past the output limit and ends before the Keep relayed anything",
      startWorker: fakeWorker((ring, post) => {
        ring.write(1, utf8.encode("0123456789abcdef"));
        post({ type: "started" });
        post(EXIT_0);
      }),
      outputBytes: 10,
      exit: {
        kind: "limit",
        limit: "output",
        message: "output limit of 10 bytes reached; the workload was stopped",
      },
      stdout: "0123456789",
    },
    {
      // The pump before a read breaches the limit: the Keep must stop, not ask the host for stdin.
      name: "writes past the output limit, then reads stdin",
      startWorker: fakeWorker((ring, post) => {
        post({ type: "started" });
        ring.write(2, utf8.encode("0123456789abcdef"));
        post({ type: "stdin" });
      }),
      outputBytes: 4,
      exit: {
        kind: "limit",
        limit: "output",
        message: "output limit of 4 bytes reached; the workload was stopped",
      },
    },
    {
      name: "exits without a result",
      startWorker: fakeWorker((_ring, post, emit) => {
        post({ type: "started" });
        emit("exit", 1);
      }),
      exit: {
        kind: "error",
        code: "keep.process",
        message: "the workload's worker exited without a result",
      },
    },
    {
      name: "fails with an uncaught error",
      startWorker: fakeWorker((_ring, _post, emit) => emit("error", new Error("worker broke"))),
      exit: { kind: "error", code: "keep.internal", message: "Error: worker broke" },
    },
    {
      name: "cannot be started",
      startWorker: () => {
        throw new Error("ERR_WORKER_INIT_FAILED");
      },
      exit: { kind: "error", code: "keep.internal", message: "Error: ERR_WORKER_INIT_FAILED" },
    },
  ];
  for (const r of rows) {
    it(`a worker that ${r.name}`, T, async () => {
      const v = await hostRun(
        { wasm: HELLO, limits: { outputBytes: r.outputBytes ?? null } },
        { ...options(), startWorker: r.startWorker },
      );
      assertEndedCleanly(v);
      assert.deepEqual(v.exit, r.exit);
      assert.equal(v.host.of(FRAME.STDIN_READ).length, 0);
      if (r.stdout !== undefined) assert.equal(v.stdout + v.stderr, r.stdout);
    });
  }
});

describe("runAgent: a host frame while the Keep collects its evidence", () => {
  it("ends the Keep, and the evidence collected meanwhile is never sent", T, async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    let collecting!: () => void;
    const started = new Promise<void>((r) => {
      collecting = r;
    });
    const inner = testEvidence();
    const source: EvidenceSource = {
      tee: "sandbox",
      collect: async (b) => {
        collecting();
        await gate;
        return inner.collect(b);
      },
    };
    const host = new FakeHost();
    host.onFrame((f) => {
      if (f.type === FRAME.HELLO) host.send(...LOADED);
    });
    const done = runAgent(host.channel, options(source));
    await started;
    host.send(encodeFrame(FRAME.CONFIG, utf8.encode("x")));
    const report = await done;
    assert.equal(report?.kind, "error");
    // Now let the evidence arrive, and the agent's continuation after it run.
    release();
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    assertEndedCleanly(view(host, report));
    assert.equal(host.of(FRAME.EVIDENCE).length, 0);
  });
});

/**
 * A host that names a Steward and then, when the Keep asks for the
 * connection (CONNECT), answers with `reply(id)`: each row must end the Keep
 * with its code — never a hang, never the workload.
 */
describe("runAgent: a hostile host while the Keep attests", () => {
  const STEWARD = { url: "http://127.0.0.1:9", ca: null };
  const ok = (id: number) => encodeJsonFrame(FRAME.CONNECTED, { id, ok: true });
  const recv = (id: number, n = 1) => encodeSocketData(FRAME.SOCKET_RECV, id, new Uint8Array(n));
  const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
  const rows: {
    name: string;
    reply: (id: number) => Uint8Array[];
    code: string;
    message: string;
  }[] = [
    {
      name: "CONNECTED for an id the Keep did not ask for",
      reply: (id) => [ok(id + 1)],
      code: "keep.sallyport.order",
      message: "sallyport: CONNECTED for connection 2, which the Keep did not ask for",
    },
    {
      name: "CONNECTED twice",
      reply: (id) => [concat(ok(id), ok(id))],
      code: "keep.sallyport.order",
      message:
        "sallyport: CONNECTED for connection 1, which the Keep has already been answered about",
    },
    {
      name: "CONNECTED with an unknown field",
      reply: (id) => [encodeJsonFrame(FRAME.CONNECTED, { id, ok: true, addr: "10.0.0.1" })],
      code: "keep.sallyport.payload",
      message: 'sallyport: CONNECTED has unknown field "addr"',
    },
    {
      name: "CONNECTED ok false without an error",
      reply: (id) => [encodeJsonFrame(FRAME.CONNECTED, { id, ok: false })],
      code: "keep.sallyport.payload",
      message: "sallyport: CONNECTED with ok false needs an error string of at most 512 characters",
    },
    {
      name: "CONNECTED with id 0",
      reply: () => [encodeJsonFrame(FRAME.CONNECTED, { id: 0, ok: true })],
      code: "keep.sallyport.payload",
      message: "sallyport: CONNECTED id must be an integer from 1 to 4294967295",
    },
    {
      name: "SOCKET_RECV before CONNECTED",
      reply: (id) => [recv(id)],
      code: "keep.sallyport.order",
      message: "sallyport: SOCKET_RECV (0x87) for connection 1, before CONNECTED",
    },
    {
      name: "SOCKET_CLOSED for a connection that was never opened",
      reply: (id) => [encodeU32Frame(FRAME.SOCKET_CLOSED, id + 5)],
      code: "keep.sallyport.order",
      message: "sallyport: SOCKET_CLOSED (0x88) for connection 6, which is not open",
    },
    {
      name: "SOCKET_CLOSED twice",
      reply: (id) => [
        concat(
          ok(id),
          encodeU32Frame(FRAME.SOCKET_CLOSED, id),
          encodeU32Frame(FRAME.SOCKET_CLOSED, id),
        ),
      ],
      code: "keep.sallyport.order",
      message: "sallyport: SOCKET_CLOSED (0x88) for connection 1, after the host closed it",
    },
    {
      name: "SOCKET_RECV after SOCKET_CLOSED",
      reply: (id) => [concat(ok(id), encodeU32Frame(FRAME.SOCKET_CLOSED, id), recv(id))],
      code: "keep.sallyport.order",
      message: "sallyport: SOCKET_RECV (0x87) for connection 1, after the host closed it",
    },
    {
      // All in one chunk: the window is enforced as the frames are decoded,
      // before anything reads the bytes.
      name: "SOCKET_RECV beyond the Keep's credit",
      reply: (id) => [
        concat(
          ok(id),
          ...Array.from({ length: SOCKET_WINDOW / DATA_CHUNK }, () => recv(id, DATA_CHUNK)),
          recv(id, 1),
        ),
      ],
      code: "keep.sallyport.length",
      message: `sallyport: SOCKET_RECV (0x87) for connection 1 brings ${SOCKET_WINDOW + 1} bytes not yet credited; the Keep granted ${SOCKET_WINDOW}`,
    },
    {
      name: "STDIN_DATA while the Keep attests",
      reply: () => [encodeFrame(FRAME.STDIN_DATA, utf8.encode("x"))],
      code: "keep.sallyport.order",
      message:
        "sallyport: unexpected STDIN_DATA (0x84); expected CONNECTED, SOCKET_RECV or SOCKET_CLOSED",
    },
    {
      // Not a violation: the host says it could not connect. Its words are
      // shown to the user, control characters replaced.
      name: "CONNECTED ok false (the host could not connect)",
      reply: (id) => [
        encodeJsonFrame(FRAME.CONNECTED, { id, ok: false, error: "ECONNREFUSED\u001b[2J" }),
      ],
      code: "keep.steward.connect",
      message: "cannot reach the Steward at http://127.0.0.1:9 (ECONNREFUSED?[2J)",
    },
  ];
  for (const row of rows) {
    it(`${row.name} → ${row.code}`, T, async () => {
      const host = new FakeHost();
      const w: Workload = { wasm: HELLO, steward: STEWARD };
      host.onFrame((f) => {
        if (f.type === FRAME.HELLO) host.send(...loadWorkload(w));
        if (f.type === FRAME.CONNECT) {
          const req = JSON.parse(Buffer.from(f.payload).toString("utf8")) as { id: number };
          assert.deepEqual(req, { id: 1, purpose: "steward" });
          host.send(...row.reply(req.id));
        }
      });
      const report = await runAgent(host.channel, options());
      await host.ended;
      const v = view(host, report);
      assertEndedCleanly(v);
      assert.equal(host.of(FRAME.CONNECT).length, 1);
      assert.equal(v.exit?.kind, "error", JSON.stringify(v.exit));
      assert.equal(v.exit?.code, row.code, String(v.exit?.message));
      assert.equal(v.exit?.message, row.message);
      assert.equal(v.stdout, "", "the workload must not run");
      assert.equal(host.of(FRAME.CERTIFICATE).length, 0);
    });
  }
});

describe("fitRefusal", () => {
  it("keeps a refusal within EXIT's 64 KiB: as many checks as fit, in order, and says how many were left out", () => {
    const check = (i: number) => ({
      code: `c${i}`,
      expected: "\u00e9".repeat(1024),
      actual: '"'.repeat(1024),
      remedy: "r".repeat(1024),
    });
    const checks = Array.from({ length: 32 }, (_, i) => check(i));
    const r = fitRefusal("refused", checks) as { message: string; checks: { code: string }[] };
    const bytes = encodeJsonFrame(FRAME.EXIT, r).length;
    assert.ok(bytes <= 64 * 1024, `${bytes} bytes`);
    assert.ok(r.checks.length > 0 && r.checks.length < 32);
    assert.deepEqual(
      r.checks.map((c) => c.code),
      checks.slice(0, r.checks.length).map((c) => c.code),
    );
    assert.equal(r.message, `refused (${32 - r.checks.length} more checks not shown)`);
    assert.deepEqual(fitRefusal("refused", checks.slice(0, 2)), {
      kind: "refused",
      message: "refused",
      checks: checks.slice(0, 2),
    });
  });
});
