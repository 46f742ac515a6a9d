/**
 * `donjon attest verify` and `inspect` on Keep evidence wrappers, in-process:
 * SNP evidence from testkit's fake AMD hierarchy (its roots injected as the
 * context's trust anchors), TDX and SGX quotes from testkit's fake Intel
 * hierarchy (its root injected) with fake collateral as files, sandbox
 * evidence signed with `createSandboxEvidence`, each bound — or not — to a
 * Keep key and workload.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import {
  encodeKeepEvidence,
  type KeepEvidence,
  reportData,
  workloadIdentity,
} from "@donjon/attest";
import { createSandboxEvidence, generateKeepKey } from "@donjon/keep";
import {
  type FakeIntel,
  type FakeSnp,
  fakeIntel,
  fakeIntelCollateral,
  fakeSnp,
} from "@donjon/testkit";
import { CliError } from "../../error.ts";
import type { AttestContext } from "./_io.ts";
import { attest } from "./attest.ts";

const sha256 = (s: string) => new Uint8Array(createHash("sha256").update(s).digest());
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const WASM = sha256("hello.wasm");
const CONFIG = sha256("Donjon.toml");

/** A context whose files live in a map (names relative to "/"). */
function fake(files: Record<string, Uint8Array>, extra: Partial<AttestContext> = {}) {
  const ctx = {
    stdout: "",
    stderr: "",
    cwd: "/",
    out: (t: string) => {
      ctx.stdout += t;
    },
    err: (t: string) => {
      ctx.stderr += t;
    },
    readFile: (p: string) => {
      const f = files[path.relative("/", p)];
      if (!f) throw Object.assign(new Error(`ENOENT: ${p}`), { code: "ENOENT" });
      return f;
    },
    ...extra,
  };
  return ctx;
}

async function rejectsWith(p: Promise<number>, status: number, message: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof CliError, String(e));
    assert.equal(e.exitStatus, status);
    assert.match(e.message, message);
    return true;
  });
}

interface Keep {
  spki: Uint8Array;
  identity: Uint8Array;
  reportData: Uint8Array;
}

async function keep(): Promise<Keep> {
  const { spki } = await generateKeepKey();
  const identity = await workloadIdentity(WASM, CONFIG);
  return { spki, identity, reportData: await reportData(spki, identity) };
}

const wrap = (k: Keep, e: Pick<KeepEvidence, "tee" | "evidence" | "certs">) =>
  encodeKeepEvidence({ ...e, keepKey: k.spki, wasmDigest: WASM, configDigest: CONFIG });

describe("attest verify/inspect, SNP evidence in a Keep evidence wrapper", () => {
  let k: Keep;
  let snp: FakeSnp;
  let files: Record<string, Uint8Array>;
  const ctxOf = (extra: Partial<AttestContext> = {}) =>
    fake(files, { now: () => snp.now, snpRoots: snp.roots, ...extra });

  before(async () => {
    k = await keep();
    snp = await fakeSnp({ report: { reportData: k.reportData } });
    const unbound = await fakeSnp();
    const other = await keep();
    const certs = [snp.vcek!, snp.ask, snp.ark];
    files = {
      "bound.json": wrap(k, { tee: "snp", evidence: snp.report, certs }),
      // The report binds another key (the fake's default report_data 00 01 … 3f).
      "unbound.json": wrap(k, { tee: "snp", evidence: unbound.report, certs }),
      // The report binds k, the wrapper names another Keep key.
      "other-key.json": wrap(other, { tee: "snp", evidence: snp.report, certs }),
      "no-certs.json": wrap(k, { tee: "snp", evidence: snp.report, certs: [] }),
      "vcek.der": snp.vcek!,
      "ask.der": snp.ask,
      "crl.der": snp.crl,
      "junk.json": new TextEncoder().encode('{"__cmwc_t": "tag:example.com,2026:x"}'),
    };
  });

  it("accepts a report bound to the wrapper's key and workload, certificates from the wrapper", async () => {
    const ctx = ctxOf();
    const status = await attest(["verify", "bound.json", "--offline"], ctx);
    assert.equal(status, 0, ctx.stdout + ctx.stderr);
    assert.match(
      ctx.stdout,
      /ACCEPTED — SEV-SNP report version 3, Milan, signed by VCEK in a Keep evidence wrapper/,
    );
    const fp = hex(new Uint8Array(createHash("sha256").update(k.spki).digest()));
    assert.match(ctx.stdout, new RegExp(`keep key +sha256:${fp}`));
    assert.match(ctx.stdout, new RegExp(`workload identity +${hex(k.identity)}`));
    assert.match(ctx.stdout, new RegExp(`report_data +${hex(k.reportData)}`));
  });

  it("--json carries the binding check and the Keep's facts", async () => {
    const ctx = ctxOf();
    assert.equal(
      await attest(["verify", "bound.json", "--offline", "--json", "--collateral", "crl.der"], ctx),
      0,
    );
    const v = JSON.parse(ctx.stdout);
    assert.equal(v.ok, true);
    assert.deepEqual(v.checks.at(-1), { id: "binding.report_data", ok: true });
    assert.equal(v.keep.workload_identity, hex(k.identity));
    assert.equal(v.keep.report_data, hex(k.reportData));
    assert.equal(v.keep.certs, 3);
  });

  it("refuses a genuine report that binds another key: binding.report_data, expected and actual", async () => {
    const ctx = ctxOf();
    assert.equal(await attest(["verify", "unbound.json", "--offline"], ctx), 1);
    assert.match(ctx.stdout, /REJECTED/);
    assert.match(ctx.stdout, /FAIL binding\.report_data \(binding\.report_data\)/);
    assert.match(ctx.stdout, new RegExp(`expected: ${hex(k.reportData)}`));
    assert.match(ctx.stdout, /actual: {3}000102030405/);
    assert.match(ctx.stderr, /rejected: 1 check failed \(binding\.report_data\)/);
  });

  it("refuses a wrapper naming another Keep key than the report binds", async () => {
    const ctx = ctxOf();
    assert.equal(await attest(["verify", "other-key.json", "--offline"], ctx), 1);
    assert.match(ctx.stderr, /\(binding\.report_data\)/);
  });

  it("trusts only the pinned roots unless told otherwise: the fake ARK in the wrapper is no anchor", async () => {
    const ctx = ctxOf({ snpRoots: undefined });
    assert.equal(await attest(["verify", "bound.json", "--offline"], ctx), 1);
    assert.match(ctx.stdout, /FAIL snp\.verify\.untrusted_root/);
  });

  it("a wrapper without certificates takes them from --collateral", async () => {
    const bare = ctxOf();
    assert.equal(await attest(["verify", "no-certs.json", "--offline"], bare), 1);
    assert.match(bare.stdout, /snp\.collateral\.endorsement_key/);
    const ctx = ctxOf();
    const status = await attest(
      [
        "verify",
        "no-certs.json",
        "--offline",
        "--collateral",
        "vcek.der",
        "--collateral",
        "ask.der",
      ],
      ctx,
    );
    assert.equal(status, 0, ctx.stdout);
  });

  it("inspect prints the Keep key, the workload, the binding and the report", async () => {
    const ctx = ctxOf();
    assert.equal(await attest(["inspect", "bound.json"], ctx), 0);
    assert.match(ctx.stdout, /^bound\.json: Keep evidence wrapper \(keep-evidence\/v1\)/);
    assert.match(ctx.stdout, /tee +AMD SEV-SNP/);
    assert.match(
      ctx.stdout,
      /evidence +application\/vnd\.amd\.sev-snp\.attestation-report, 1184 bytes/,
    );
    assert.match(ctx.stdout, /certs +3 \(/);
    assert.match(ctx.stdout, /keep key +sha256:[0-9a-f]{64} \(ECDSA P-384\)/);
    assert.match(ctx.stdout, new RegExp(`wasm digest +${hex(WASM)}`));
    assert.match(ctx.stdout, new RegExp(`workload identity +${hex(k.identity)}`));
    assert.match(ctx.stdout, /binding +matches \(unverified/);
    assert.match(ctx.stdout, /measurement +4d4d4d/);
    const u = ctxOf();
    assert.equal(await attest(["inspect", "unbound.json"], u), 0);
    assert.match(u.stdout, /binding +DIFFERS: the evidence carries 000102/);
  });

  it("inspect --json", async () => {
    const ctx = ctxOf();
    assert.equal(await attest(["inspect", "bound.json", "--json"], ctx), 0);
    const j = JSON.parse(ctx.stdout);
    assert.equal(j.keep.tee, "snp");
    assert.equal(j.keep.binding, true);
    assert.equal(j.keep.config_digest, hex(CONFIG));
    assert.equal(j.claims.report_data, hex(k.reportData));
  });

  it("a malformed wrapper is exit 1 naming the rule", async () => {
    await rejectsWith(
      attest(["verify", "junk.json", "--offline"], ctxOf()),
      1,
      /junk\.json: Keep evidence wrapper: .*__cmwc_t.*\(cmw\.type\)/,
    );
    await rejectsWith(attest(["inspect", "junk.json"], ctxOf()), 1, /\(cmw\.type\)/);
  });
});

describe("attest verify/inspect, sandbox evidence in a Keep evidence wrapper", () => {
  const NOW = new Date("2026-11-27T12:00:00Z");
  let files: Record<string, Uint8Array>;
  let k: Keep;
  const ctxOf = () => fake(files, { now: () => NOW });

  before(async () => {
    k = await keep();
    const host = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const hostSpki = new Uint8Array(await crypto.subtle.exportKey("spki", host.publicKey));
    const signer = { privateKey: host.privateKey, spki: hostSpki };
    const sandbox = (identity: Uint8Array, rd: Uint8Array) =>
      createSandboxEvidence({
        signer,
        runtimeMeasurement: new Uint8Array(48).fill(0x5e),
        workloadIdentity: identity,
        reportData: rd,
        issuedAt: new Date(NOW.getTime() - 1000),
      });
    const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(hostSpki)
      .toString("base64")
      .replace(/(.{64})/g, "$1\n")}\n-----END PUBLIC KEY-----\n`;
    const other = await keep();
    const bound = await sandbox(k.identity, k.reportData);
    // The evidence states another workload identity, and report_data binds it.
    const otherId = await workloadIdentity(sha256("other.wasm"), CONFIG);
    const otherWorkload = await sandbox(otherId, await reportData(k.spki, otherId));
    files = {
      "sandbox-key.pub.pem": new TextEncoder().encode(pem),
      "bound.json": wrap(k, { tee: "sandbox", evidence: bound, certs: [] }),
      "other-key.json": wrap(other, { tee: "sandbox", evidence: bound, certs: [] }),
      "other-workload.json": wrap(k, { tee: "sandbox", evidence: otherWorkload, certs: [] }),
      "not-a-key.pem": new TextEncoder().encode("hello"),
    };
  });

  it("accepts it with the host key when the software tier is allowed, and never calls it confidential", async () => {
    const ctx = ctxOf();
    const status = await attest(
      ["verify", "bound.json", "--sandbox-key", "sandbox-key.pub.pem", "--allow-software-tier"],
      ctx,
    );
    assert.equal(status, 0, ctx.stdout + ctx.stderr);
    assert.match(ctx.stdout, /ACCEPTED — sandbox evidence \(software tier: NOT confidential/);
    assert.match(ctx.stdout, new RegExp(`workload identity +${hex(k.identity)}`));
    assert.match(ctx.stdout, /checks: \d+ passed, 0 failed/);
  });

  it("refuses it by default: sandbox.policy.software_tier", async () => {
    const ctx = ctxOf();
    assert.equal(
      await attest(["verify", "bound.json", "--sandbox-key", "sandbox-key.pub.pem"], ctx),
      1,
    );
    assert.match(ctx.stdout, /FAIL sandbox\.policy\.software_tier/);
    assert.match(ctx.stderr, /rejected: 1 check failed \(sandbox\.policy\.software_tier\)/);
  });

  for (const [file, codes] of [
    ["other-key.json", /\(binding\.report_data\)/],
    ["other-workload.json", /\(binding\.report_data, binding\.workload_identity\)/],
  ] as const) {
    it(`refuses ${file}: the binding does not hold`, async () => {
      const ctx = ctxOf();
      const args = [
        "verify",
        file,
        "--sandbox-key",
        "sandbox-key.pub.pem",
        "--allow-software-tier",
      ];
      assert.equal(await attest(args, ctx), 1);
      assert.match(ctx.stderr, codes);
    });
  }

  it("--json says software tier and carries the Keep's facts", async () => {
    const ctx = ctxOf();
    const args = [
      "verify",
      "bound.json",
      "--sandbox-key",
      "sandbox-key.pub.pem",
      "--allow-software-tier",
      "--json",
    ];
    assert.equal(await attest(args, ctx), 0);
    const v = JSON.parse(ctx.stdout);
    assert.equal(v.tier, "software");
    assert.equal(v.claims.confidential, false);
    assert.deepEqual(
      v.checks.slice(-2).map((c: { id: string }) => c.id),
      ["binding.report_data", "binding.workload_identity"],
    );
    assert.equal(v.keep.tee, "sandbox");
  });

  it("needs --sandbox-key (exit 2), and a key file that is one (exit 1); SNP-only flags are usage errors", async () => {
    await rejectsWith(attest(["verify", "bound.json"], ctxOf()), 2, /pass --sandbox-key FILE/);
    await rejectsWith(
      attest(["verify", "bound.json", "--sandbox-key", "not-a-key.pem"], ctxOf()),
      1,
      /not-a-key\.pem: expected a PEM public key/,
    );
    await rejectsWith(
      attest(
        ["verify", "bound.json", "--sandbox-key", "sandbox-key.pub.pem", "--collateral", "x"],
        ctxOf(),
      ),
      2,
      /--collateral applies to SEV-SNP evidence/,
    );
  });

  it("inspect decodes the statement and the binding", async () => {
    const ctx = ctxOf();
    assert.equal(await attest(["inspect", "bound.json"], ctx), 0);
    assert.match(ctx.stdout, /tee +sandbox \(software tier, not confidential\)/);
    assert.match(ctx.stdout, /binding +matches/);
    assert.match(ctx.stdout, /confidential +false/);
    assert.match(ctx.stdout, /runtime_measurement +5e5e/);
  });
});

describe("attest verify/inspect, TDX and SGX evidence in a Keep evidence wrapper", () => {
  let k: Keep;
  let intel: FakeIntel;
  let files: Record<string, Uint8Array>;
  const ctxOf = (extra: Partial<AttestContext> = {}) =>
    fake(files, { now: () => intel.now, intelRoot: intel.root, ...extra });
  const pem = (ders: readonly Uint8Array[]) =>
    new TextEncoder().encode(
      ders
        .map(
          (d) =>
            `-----BEGIN CERTIFICATE-----\n${Buffer.from(d).toString("base64")}\n-----END CERTIFICATE-----\n`,
        )
        .join(""),
    );
  const collateral = (tee: "sgx" | "tdx") =>
    ["tcb_info.json", "qe_identity.json", "chain.pem", "root.crl", "pck.crl"].flatMap((f) => [
      "--collateral",
      `${tee}/${f}`,
    ]);

  before(async () => {
    k = await keep();
    intel = await fakeIntel();
    const other = await keep();
    files = {
      "tdx.json": wrap(k, {
        tee: "tdx",
        evidence: await intel.tdxQuote({ reportData: k.reportData }),
        certs: [],
      }),
      "sgx.json": wrap(k, {
        tee: "sgx",
        evidence: await intel.sgxQuote({ reportData: k.reportData }),
        certs: [],
      }),
      "sgx-debug.json": wrap(k, {
        tee: "sgx",
        evidence: await intel.sgxQuote({ reportData: k.reportData, debug: true }),
        certs: [],
      }),
      // The quote binds another Keep's key.
      "tdx-unbound.json": wrap(k, {
        tee: "tdx",
        evidence: await intel.tdxQuote({ reportData: other.reportData }),
        certs: [],
      }),
      "debug.toml": new TextEncoder().encode("[sgx]\ndebug = true\n"),
    };
    for (const tee of ["sgx", "tdx"] as const) {
      const c = (await fakeIntelCollateral({ tee, now: intel.now })).collateral;
      files[`${tee}/tcb_info.json`] = new TextEncoder().encode(c.tcbInfo);
      files[`${tee}/qe_identity.json`] = new TextEncoder().encode(c.qeIdentity);
      files[`${tee}/chain.pem`] = pem(c.tcbInfoIssuerChain);
      files[`${tee}/root.crl`] = c.rootCaCrl;
      files[`${tee}/pck.crl`] = c.pckCrl;
    }
  });

  for (const tee of ["tdx", "sgx"] as const) {
    it(`${tee}: a quote bound to the wrapper's key and workload is accepted, the binding checked`, async () => {
      const ctx = ctxOf();
      const status = await attest(["verify", `${tee}.json`, ...collateral(tee), "--offline"], ctx);
      assert.equal(status, 0, ctx.stdout + ctx.stderr);
      assert.match(
        ctx.stdout,
        new RegExp(
          `ACCEPTED — Intel ${tee.toUpperCase()} quote version ${tee === "tdx" ? "4 \\(TD 1\\.0\\)" : "3"}, FMSPC 00606a000000 in a Keep evidence wrapper`,
        ),
      );
      assert.match(ctx.stdout, /tcb status +UpToDate\n/);
      assert.match(ctx.stdout, /checks: \d+ passed, 0 failed, 0 warnings/);
      assert.match(ctx.stdout, new RegExp(`workload identity +${hex(k.identity)}`));
      const j = ctxOf();
      await attest(["verify", `${tee}.json`, ...collateral(tee), "--offline", "--json"], j);
      const v = JSON.parse(j.stdout);
      assert.deepEqual(v.checks.at(-1), { id: "binding.report_data", ok: true });
      assert.equal(v.keep.tee, tee);
    });
  }

  it("a quote that binds another key: binding.report_data, exit 1", async () => {
    const ctx = ctxOf();
    assert.equal(
      await attest(["verify", "tdx-unbound.json", ...collateral("tdx"), "--offline"], ctx),
      1,
    );
    assert.match(ctx.stdout, /FAIL binding\.report_data/);
    assert.match(ctx.stderr, /rejected: 1 check failed \(binding\.report_data\)/);
  });

  it("a debug enclave: refused by default, accepted by a policy with [sgx] debug = true", async () => {
    const ctx = ctxOf();
    assert.equal(
      await attest(["verify", "sgx-debug.json", ...collateral("sgx"), "--offline"], ctx),
      1,
    );
    assert.match(
      ctx.stdout,
      /FAIL dcap\.policy\.debug[^\n]*\n +expected: ATTRIBUTES\.FLAGS\.DEBUG = 0/,
    );
    const ok = ctxOf();
    const args = [
      "verify",
      "sgx-debug.json",
      ...collateral("sgx"),
      "--offline",
      "--policy",
      "debug.toml",
    ];
    assert.equal(await attest(args, ok), 0, ok.stdout);
  });

  it("the pinned Intel root by default: the fake hierarchy is untrusted", async () => {
    const ctx = fake(files, { now: () => intel.now });
    assert.equal(await attest(["verify", "tdx.json", ...collateral("tdx"), "--offline"], ctx), 1);
    assert.match(ctx.stdout, /FAIL dcap\.verify\.untrusted_root/);
  });

  it("--format names another TEE than the wrapper's: exit 1", async () => {
    await rejectsWith(
      attest(["verify", "tdx.json", "--format", "sgx", "--offline"], ctxOf()),
      1,
      /tdx\.json is a Keep evidence wrapper holding Intel TDX evidence, not Intel SGX \(--format sgx\)/,
    );
  });

  it("inspect: the Keep's facts, the binding (unverified) and the quote's fields", async () => {
    const ctx = ctxOf();
    assert.equal(await attest(["inspect", "tdx.json"], ctx), 0, ctx.stderr);
    assert.match(ctx.stdout, /tee +Intel TDX/);
    assert.match(ctx.stdout, /binding +matches \(unverified/);
    assert.match(ctx.stdout, new RegExp(`tdx\\.mr_td +${"7d".repeat(48)}`));
    assert.match(ctx.stdout, /pck\.fmspc +00606a000000/);
    const j = ctxOf();
    assert.equal(await attest(["inspect", "sgx.json", "--json"], j), 0);
    const v = JSON.parse(j.stdout);
    assert.equal(v.keep.binding, true);
    assert.equal(v.claims.sgx.mr_enclave, "e1".repeat(32));
  });
});
