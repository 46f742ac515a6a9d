/**
 * One contract, every backend that can run here (issue 4, "Tests"): the same
 * workload through each Keep must say which backend it is, prove itself with
 * evidence of the right kind whose report_data binds the Keep key to the
 * workload, relay the program's output and end with its exit status.
 *
 * - sandbox, snp, tdx, sgx: `runAgent` in process, with the evidence source
 *   each backend uses in `keep_main.ts`, over testkit's fakes where the
 *   backend needs hardware (configfs-tsm for snp and tdx, Gramine for sgx);
 * - sandbox again as the real Keep process (`runKeep`), under bubblewrap when
 *   it is installed;
 * - nil through the CLI, which has no Keep and must say so.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { promisify } from "node:util";
import {
  attestSandbox,
  createSnpVerifier,
  parseSandboxEvidence,
  parseSnpReport,
} from "@donjon/attest";
import { reportData, workloadIdentity } from "@donjon/attest/binding";
import {
  checkKeepBinding,
  decodeKeepEvidence,
  encodeKeepEvidence,
  type KeepEvidence,
  type KeepTee,
} from "@donjon/attest/cmw";
import {
  type FakeSnp,
  fakeGramine,
  fakeTsm,
  SGX_QUOTE_REPORT_DATA_OFFSET,
  TDX_QUOTE_REPORT_DATA_OFFSET,
} from "@donjon/testkit";
import { hostRun } from "./_fake_host.ts";
import type { EvidenceSource } from "./agent.ts";
import { gramineEvidenceSource, sandboxEvidenceSource, tsmEvidenceSource } from "./evidence.ts";
import { RUNTIME_ROOT, runKeep } from "./host.ts";
import { runtimeMeasurement } from "./measure.ts";
import { FRAME } from "./sallyport.ts";
import { loadOrCreateSandboxKey } from "./sandbox_key.ts";

const HELLO_PATH = path.join(RUNTIME_ROOT, "examples/hello.wasm");
const HELLO = new Uint8Array(fs.readFileSync(HELLO_PATH));
const CONFIG = new TextEncoder().encode('[workload]\nname = "hello"\n');
const ARGS = ["hello.wasm", "a", "b"];
const ENV = { NAME: "Ada" };
/** hello.c's output for ARGS and ENV. */
const STDOUT = "Hello from Donjon! argv[0]=hello.wasm argv[1]=a argv[2]=b\nHello, Ada!\n";
/** Sandbox evidence is stamped with this, and verified at it: the clock is pinned. */
const NOW = new Date("2026-11-27T12:00:00.000Z");
const T = { timeout: 60_000 };

const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-keep-contract-"));
after(() => fs.rmSync(TMP, { recursive: true, force: true }));

/** What the contract needs of a backend besides its evidence source. */
interface Backend {
  name: KeepTee;
  /** A fresh evidence source — the one keep_main.ts uses (evidence.ts) — over fakes where hardware is needed. */
  source(): Promise<EvidenceSource>;
  /** Where this evidence format carries report_data, after checking the evidence verifies. */
  reportDataOf(e: KeepEvidence): Promise<Uint8Array>;
}

/** A DCAP quote's ISV signature (ECDSA P-256, r‖s big-endian) over its signed region. */
async function verifyQuoteSignature(
  quote: Uint8Array<ArrayBuffer>,
  signedSize: number,
): Promise<void> {
  // LAYOUTS.md §2.1/§2.2: u32 signature data length, then signature(64) ‖ attestation key(64).
  const sigData = signedSize + 4;
  const key = new Uint8Array(65);
  key[0] = 0x04;
  key.set(quote.subarray(sigData + 64, sigData + 128), 1);
  const pub = await crypto.subtle.importKey(
    "raw",
    key,
    { name: "ECDSA", namedCurve: "P-256" },
    false,
    ["verify"],
  );
  const ok = await crypto.subtle.verify(
    { name: "ECDSA", hash: "SHA-256" },
    pub,
    quote.subarray(sigData, sigData + 64),
    quote.subarray(0, signedSize),
  );
  assert.ok(ok, "the quote's ISV signature does not verify over its header and body");
}

const sandboxKey = await loadOrCreateSandboxKey({ stateDir: path.join(TMP, "in-process-state") });
const measurement = runtimeMeasurement(RUNTIME_ROOT, process.version);
let lastSnp: FakeSnp | null = null;

const BACKENDS: Backend[] = [
  {
    name: "sandbox",
    source: async () =>
      sandboxEvidenceSource({
        signer: sandboxKey,
        runtimeMeasurement: measurement,
        now: () => NOW,
      }),
    reportDataOf: async (e) => {
      const identity = await workloadIdentity(e.wasmDigest, e.configDigest);
      const v = await attestSandbox(e.evidence, {
        trustedHostKeys: [sandboxKey.spki],
        now: NOW,
        policy: {
          allowSoftwareTier: true,
          reportData: await reportData(e.keepKey, identity),
          workloadIdentities: [identity],
          runtimeMeasurements: [measurement],
        },
      });
      assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => !c.ok)));
      return parseSandboxEvidence(e.evidence).reportData;
    },
  },
  {
    name: "snp",
    source: async () => {
      const tsm = fakeTsm();
      const real = tsmEvidenceSource(tsm, "snp");
      return {
        tee: "snp",
        collect: async (binding) => {
          const r = await real.collect(binding);
          lastSnp = tsm.lastSnp;
          return r;
        },
      };
    },
    reportDataOf: async (e) => {
      const report = parseSnpReport(e.evidence);
      const snp = lastSnp!;
      assert.equal(e.certs.length, 3, "VCEK, ASK and ARK travel with the report");
      const result = await createSnpVerifier({ roots: snp.roots }).verify(report, {
        now: snp.now,
        endorsementKey: e.certs[0]!,
        intermediates: [e.certs[1]!],
        crls: [snp.crl],
      });
      assert.equal(result.ok, true, JSON.stringify(result.checks.filter((c) => !c.ok)));
      return report.reportData;
    },
  },
  {
    name: "tdx",
    source: async () => tsmEvidenceSource(fakeTsm({ provider: "tdx_guest" }), "tdx"),
    reportDataOf: async (e) => {
      const q = e.evidence;
      const v = new DataView(q.buffer, q.byteOffset, q.byteLength);
      // LAYOUTS.md §2: version 4, TEE_TYPE 0x81 (TDX); §2.2: signed region 0–631.
      assert.equal(v.getUint16(0, true), 4);
      assert.equal(v.getUint32(4, true), 0x81);
      await verifyQuoteSignature(q as Uint8Array<ArrayBuffer>, 48 + 584);
      // §2.5: REPORTDATA at body offset 520, after the 48-byte header.
      assert.equal(TDX_QUOTE_REPORT_DATA_OFFSET, 48 + 520);
      return q.subarray(48 + 520, 48 + 520 + 64);
    },
  },
  {
    name: "sgx",
    source: async () => gramineEvidenceSource(fakeGramine()),
    reportDataOf: async (e) => {
      const q = e.evidence;
      const v = new DataView(q.buffer, q.byteOffset, q.byteLength);
      // LAYOUTS.md §2: version 3, reserved TEE type 0 (SGX); §2.1: signed region 0–431.
      assert.equal(v.getUint16(0, true), 3);
      assert.equal(v.getUint32(4, true), 0);
      await verifyQuoteSignature(q as Uint8Array<ArrayBuffer>, 48 + 384);
      // §2.4: REPORT_DATA at body offset 320, after the 48-byte header.
      assert.equal(SGX_QUOTE_REPORT_DATA_OFFSET, 48 + 320);
      return q.subarray(48 + 320, 48 + 320 + 64);
    },
  },
];

/** The part of the contract every Keep backend shares, on the evidence wrapper it produced. */
async function assertBound(tee: KeepTee, wrapper: Uint8Array, bound: Uint8Array): Promise<void> {
  const e = decodeKeepEvidence(wrapper);
  assert.equal(e.tee, tee);
  assert.deepEqual(e.wasmDigest, sha256(HELLO));
  assert.deepEqual(e.configDigest, sha256(CONFIG));
  const expected = await reportData(
    e.keepKey,
    await workloadIdentity(sha256(HELLO), sha256(CONFIG)),
  );
  assert.deepEqual(bound, expected, "the evidence's report_data is not the Keep's binding");
  const binding = await checkKeepBinding(e, bound);
  assert.equal(binding.ok, true, JSON.stringify(binding.checks));
}

for (const backend of BACKENDS) {
  describe(`Keep contract: ${backend.name} (runAgent in process)`, () => {
    it("names the backend, proves itself bound to the workload, runs it, exits 0", T, async () => {
      const v = await hostRun(
        { wasm: HELLO, config: CONFIG, plan: { args: ARGS, env: ENV } },
        {
          backend: backend.name,
          evidence: await backend.source(),
          wrapEvidence: encodeKeepEvidence,
        },
      );
      assert.equal(v.host.decodeError, null);
      assert.deepEqual(v.host.afterEnd, []);
      assert.equal(v.hello.backend, backend.name);
      assert.equal(v.host.frames[1]?.type, FRAME.EVIDENCE, "EVIDENCE comes before any output");
      assert.ok(v.evidence);
      const e = decodeKeepEvidence(v.evidence);
      await assertBound(backend.name, v.evidence, await backend.reportDataOf(e));
      assert.equal(v.stdout, STDOUT);
      assert.equal(v.stderr, "");
      assert.equal(v.exit?.kind, "exit");
      assert.equal(v.exit?.code, 0);
    });
  });
}

describe("Keep contract: sandbox (the Keep process, runKeep)", () => {
  const bwrap = fs.existsSync("/usr/bin/bwrap") ? "/usr/bin/bwrap" : null;
  it(
    `runs hello.wasm ${bwrap ? "under bubblewrap" : "without bubblewrap (not installed)"}`,
    T,
    async () => {
      const stateDir = path.join(TMP, "process-state");
      const key = await loadOrCreateSandboxKey({ stateDir });
      let stdout = "";
      let stderr = "";
      const evidence: Uint8Array[] = [];
      const result = await runKeep({
        backend: "sandbox",
        plan: { args: ARGS, env: ENV, stdio: ["stdin", "stdout", "stderr"], dirs: [] },
        limits: { memoryPages: 1024, timeoutMs: 30_000, outputBytes: null },
        module: HELLO,
        config: CONFIG,
        nodePath: process.execPath,
        bwrap,
        prlimit: null,
        stateDir,
        stdout: (b) => {
          stdout += Buffer.from(b).toString("utf8");
        },
        stderr: (b) => {
          stderr += Buffer.from(b).toString("utf8");
        },
        openStdin: () => ({ next: async () => null, close: () => {} }),
        onEvidence: (b) => evidence.push(b.slice()),
      });
      assert.equal(result.kind, "exit", `${JSON.stringify(result)}\n${stderr}`);
      assert.equal((result as { code: number }).code, 0);
      assert.equal(stdout, STDOUT);
      assert.equal(stderr, "");
      // The HELLO stays inside runKeep; which backend ran shows in the evidence's type.
      assert.equal(evidence.length, 1);
      const e = decodeKeepEvidence(evidence[0]!);
      const identity = await workloadIdentity(e.wasmDigest, e.configDigest);
      // The Keep stamps its evidence with its own clock; verify at the time it was issued.
      const issued = parseSandboxEvidence(e.evidence).issuedAt;
      const v = await attestSandbox(e.evidence, {
        trustedHostKeys: [key.spki],
        now: issued,
        policy: {
          allowSoftwareTier: true,
          reportData: await reportData(e.keepKey, identity),
          workloadIdentities: [identity],
          // The Keep measured the files it runs from: they are this checkout's.
          runtimeMeasurements: [measurement],
        },
      });
      assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => !c.ok)));
      await assertBound("sandbox", evidence[0]!, parseSandboxEvidence(e.evidence).reportData);
    },
  );
});

describe("Keep contract: nil (the CLI, no Keep)", () => {
  it(
    "runs hello.wasm with the same output, and says there is no isolation and no evidence",
    T,
    async () => {
      const { stdout, stderr } = await promisify(execFile)(
        process.execPath,
        [
          path.join(RUNTIME_ROOT, "packages/cli/bin/donjon.js"),
          "run",
          "--backend",
          "nil",
          "--env",
          "NAME=Ada",
          HELLO_PATH,
          "a",
          "b",
        ],
        { cwd: TMP, env: { ...process.env, NODE_COMPILE_CACHE: path.join(TMP, "cache") } },
      );
      // execFile rejects on a non-zero status, so reaching here is the exit code 0 of the contract.
      assert.equal(stdout, STDOUT);
      assert.match(
        stderr,
        /backend nil: the workload runs in this process, with no isolation and no evidence/,
      );
    },
  );
});
