/**
 * decide() on Intel SGX and TDX Keeps: real-format quotes from testkit's
 * `fakeIntel` (every signature genuine, its fake Intel SGX Root CA injected as
 * the pinned root), fake collateral from `fakeIntelCollateral` served by the
 * Steward's own collateral source over files (`createStewardDcapSource`, as
 * `[dcap] collateral_dir` feeds it), CSRs built with buildCsr — issued, and
 * refused on debug, measurement, TCB status, missing collateral and binding.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { encodeKeepEvidence, reportData, workloadIdentity } from "@donjon/attest";
import {
  type FakeIntelCollateralOptions,
  type FakeSgxQuoteFields,
  type FakeTdxQuoteFields,
  fakeIntel,
  fakeIntelCollateral,
} from "@donjon/testkit";
import { buildCsr } from "./csr.ts";
import { type CollateralFileInput, createStewardDcapSource } from "./dcap.ts";
import { type DecideContext, type Decision, decide } from "./decide.ts";
import { encodeEvidenceExtension, OID_ENARX_SGX } from "./evidence_ext.ts";
import { defaultPolicy, parsePolicy, type StewardPolicy } from "./policy.ts";

const enc = new TextEncoder();
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const sha = async (alg: string, b: Uint8Array) =>
  new Uint8Array(await crypto.subtle.digest(alg, b as Uint8Array<ArrayBuffer>));

async function p384(): Promise<CryptoKeyPair & { spki: Uint8Array }> {
  const k = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  return { ...k, spki: new Uint8Array(await crypto.subtle.exportKey("spki", k.publicKey)) };
}

const keep = await p384();
const stranger = await p384();
const wasmDigest = await sha("SHA-256", enc.encode("wasm"));
const configDigest = await sha("SHA-256", enc.encode("config"));
const identity = await workloadIdentity(wasmDigest, configDigest);
const bound = await reportData(keep.spki, identity);
const boundToStranger = await reportData(stranger.spki, identity);
const intel = await fakeIntel();
const NOW = intel.now;
const MRTD = new Uint8Array(48).fill(0x7d);
const MRENCLAVE = new Uint8Array(32).fill(0xe1);

function pem(ders: readonly Uint8Array[]): Uint8Array {
  const b64 = (d: Uint8Array) =>
    Buffer.from(d)
      .toString("base64")
      .match(/.{1,64}/g)!
      .join("\n");
  return enc.encode(
    ders.map((d) => `-----BEGIN CERTIFICATE-----\n${b64(d)}\n-----END CERTIFICATE-----\n`).join(""),
  );
}

/** Fake collateral as the files of a collateral_dir (what Intel PCS serves, one file each). */
async function collateralFiles(
  options: FakeIntelCollateralOptions = {},
  drop: string[] = [],
): Promise<CollateralFileInput[]> {
  const c = (await fakeIntelCollateral({ now: NOW, ...options })).collateral;
  const files: CollateralFileInput[] = [
    { name: "tcb_info.json", data: enc.encode(c.tcbInfo) },
    { name: "qe_identity.json", data: enc.encode(c.qeIdentity) },
    { name: "tcb_signing_chain.pem", data: pem(c.tcbInfoIssuerChain) },
    { name: "root_ca_crl.der", data: c.rootCaCrl },
    { name: "pck_crl.der", data: c.pckCrl },
    { name: "pck_crl_chain.pem", data: pem(c.pckCrlIssuerChain) },
  ];
  return files.filter((f) => !drop.includes(f.name));
}

type Tee = "tdx" | "sgx";

async function quote(
  tee: Tee,
  fields: Partial<FakeTdxQuoteFields & FakeSgxQuoteFields> = {},
): Promise<Uint8Array> {
  const reportData = fields.reportData ?? bound;
  return tee === "tdx"
    ? intel.tdxQuote({ mrtd: MRTD, ...fields, reportData } as FakeTdxQuoteFields)
    : intel.sgxQuote({ mrenclave: MRENCLAVE, ...fields, reportData } as FakeSgxQuoteFields);
}

async function csr(tee: Tee, evidence: Uint8Array): Promise<Uint8Array> {
  const wrapper = encodeKeepEvidence({
    tee,
    evidence,
    certs: [],
    keepKey: keep.spki,
    wasmDigest,
    configDigest,
  });
  return buildCsr({ keys: keep, evidence: encodeEvidenceExtension(wrapper) });
}

async function ctx(
  tee: Tee,
  policy: StewardPolicy = defaultPolicy(),
  collateral: FakeIntelCollateralOptions = {},
  drop: string[] = [],
): Promise<DecideContext> {
  const source = createStewardDcapSource({
    files: await collateralFiles({ tee, ...collateral }, drop),
  });
  return { policy, now: NOW, dcap: { source: source!, root: intel.root } };
}

function codes(d: Decision): string[] {
  if (d.verdict === "refuse") return d.checks.map((c) => c.code);
  if (d.verdict === "malformed") return [d.code];
  return [];
}

const TCBM = "0c0c0303ffff01000000000000000000" + "0d00"; // CPUSVN ‖ PCESVN 13 (u16 LE)

describe("decide: Intel TDX and SGX Keeps (testkit fakes)", () => {
  for (const tee of ["tdx", "sgx"] as const) {
    test(`${tee}: a fake quote under fake collateral is issued by the default policy`, async () => {
      const d = await decide(await csr(tee, await quote(tee)), await ctx(tee));
      assert.equal(d.verdict, "issue", JSON.stringify(d));
      if (d.verdict !== "issue") return;
      assert.equal(d.claims.tee, tee);
      assert.equal(d.claims.tier, "hardware");
      assert.equal(d.claims.measurement, tee === "tdx" ? hex(MRTD) : hex(MRENCLAVE));
      assert.equal(d.claims.workloadIdentity, hex(identity));
      assert.equal(d.claims.tcbStatus, "UpToDate");
      assert.equal(d.claims.tcb, tee === "tdx" ? `${TCBM}06010300000000000000000000000000` : TCBM);
      assert.equal(d.claims.evidenceFormat, "cmw");
      // Both CRLs came from the directory: no warning.
      assert.deepEqual(d.warnings, []);
    });
  }

  const refusals: {
    name: string;
    tee: Tee;
    fields?: Partial<FakeTdxQuoteFields & FakeSgxQuoteFields>;
    policy?: string;
    collateral?: FakeIntelCollateralOptions;
    drop?: string[];
    want: string[];
  }[] = [
    { name: "a debug TD", tee: "tdx", fields: { debug: true }, want: ["dcap.policy.debug"] },
    { name: "a debug enclave", tee: "sgx", fields: { debug: true }, want: ["dcap.policy.debug"] },
    {
      name: "an MRTD not on [tdx] measurements",
      tee: "tdx",
      policy: `[tdx]\nmeasurements = ["${"ab".repeat(48)}"]`,
      want: ["dcap.policy.mr_td"],
    },
    {
      name: "an MRENCLAVE not on [sgx] measurements",
      tee: "sgx",
      policy: `[sgx]\nmeasurements = ["${"ab".repeat(32)}"]`,
      want: ["dcap.policy.mr_enclave"],
    },
    {
      name: "TCB SWHardeningNeeded under the default tcb_statuses",
      tee: "tdx",
      collateral: {
        tcbInfo: { levels: [{ status: "SWHardeningNeeded", advisoryIds: ["INTEL-SA-00615"] }] },
      },
      want: ["dcap.policy.tcb_status"],
    },
    {
      name: "TCB OutOfDate under tcb_statuses = [UpToDate, SWHardeningNeeded]",
      tee: "sgx",
      policy: '[sgx]\ntcb_statuses = ["UpToDate", "SWHardeningNeeded"]',
      collateral: { tcbInfo: { levels: [{ status: "OutOfDate" }] } },
      want: ["dcap.policy.tcb_status"],
    },
    {
      name: "a Revoked TCB, whatever the policy",
      tee: "sgx",
      policy: `[sgx]\ntcb_statuses = ["OutOfDate", "UpToDate"]`,
      collateral: { tcbInfo: { levels: [{ status: "Revoked" }] } },
      want: ["dcap.tcb.revoked", "dcap.policy.tcb_status"],
    },
    {
      name: "no TCB Info in the collateral directory",
      tee: "tdx",
      drop: ["tcb_info.json"],
      want: ["dcap.collateral.missing"],
    },
    {
      name: "report_data bound to another key",
      tee: "tdx",
      fields: { reportData: boundToStranger },
      want: ["binding.report_data"],
    },
    {
      name: "[tdx] allow = false, and debug",
      tee: "tdx",
      fields: { debug: true },
      policy: "[tdx]\nallow = false",
      want: ["policy.tee", "dcap.policy.debug"],
    },
  ];
  for (const r of refusals) {
    test(`refused: ${r.name} → ${r.want.join(", ")}`, async () => {
      const policy = r.policy ? parsePolicy(r.policy, "p") : defaultPolicy();
      const d = await decide(
        await csr(r.tee, await quote(r.tee, r.fields)),
        await ctx(r.tee, policy, r.collateral, r.drop),
      );
      assert.deepEqual(codes(d), r.want, JSON.stringify(d));
      if (d.verdict !== "refuse") return;
      assert.equal(d.tee, r.tee);
      for (const c of d.checks) assert.ok(c.remedy.length > 0, `${c.code} has a remedy`);
    });
  }

  test("what the refusals' remedies say is the Steward's own (policy keys, not library options)", async () => {
    const d = await decide(
      await csr("tdx", await quote("tdx", { debug: true })),
      await ctx("tdx", defaultPolicy(), {
        tcbInfo: { levels: [{ status: "SWHardeningNeeded" }] },
      }),
    );
    assert.equal(d.verdict, "refuse");
    if (d.verdict !== "refuse") return;
    const remedy = Object.fromEntries(d.checks.map((c) => [c.code, c.remedy]));
    assert.match(remedy["dcap.policy.tcb_status"]!, /\[tdx\] \/ \[sgx\] tcb_statuses/);
    assert.match(remedy["dcap.policy.debug"]!, /debug = true in \[tdx\]/);
  });

  test("the policy relaxes what it names: debug = true, tcb_statuses, the measurement listed", async () => {
    const policy = parsePolicy(
      `[tdx]\ndebug = true\ntcb_statuses = ["UpToDate", "SWHardeningNeeded"]\nmeasurements = ["${hex(MRTD)}"]`,
      "p",
    );
    const d = await decide(
      await csr("tdx", await quote("tdx", { debug: true })),
      await ctx("tdx", policy, {
        tcbInfo: { levels: [{ status: "SWHardeningNeeded", advisoryIds: ["INTEL-SA-00615"] }] },
      }),
    );
    assert.equal(d.verdict, "issue", JSON.stringify(d));
    if (d.verdict === "issue") assert.equal(d.claims.tcbStatus, "SWHardeningNeeded");
  });

  test("no CRLs in the directory: issued with the CRL warnings (requireCrl refuses)", async () => {
    const drop = ["root_ca_crl.der", "pck_crl.der", "pck_crl_chain.pem"];
    const c = await ctx("sgx", defaultPolicy(), {}, drop);
    const d = await decide(await csr("sgx", await quote("sgx")), c);
    assert.equal(d.verdict, "issue", JSON.stringify(d));
    if (d.verdict === "issue") {
      assert.deepEqual(
        d.warnings.map((w) => w.code),
        ["dcap.collateral.crl_unavailable", "dcap.collateral.crl_unavailable"],
      );
      assert.match(d.warnings[0]!.actual, /no Intel SGX Root CA CRL in \[dcap\] collateral_dir/);
    }
    const strict = await decide(await csr("sgx", await quote("sgx")), {
      ...c,
      dcap: { ...c.dcap, requireCrl: true },
    });
    assert.deepEqual(codes(strict), [
      "dcap.collateral.crl_unavailable",
      "dcap.collateral.crl_unavailable",
    ]);
    // The same, asked for by the policy ([sgx] require_crl) rather than the Steward's options.
    const byPolicy = await decide(await csr("sgx", await quote("sgx")), {
      ...c,
      policy: parsePolicy("[sgx]\nrequire_crl = true", "policy.toml"),
    });
    assert.deepEqual(codes(byPolicy), [
      "dcap.collateral.crl_unavailable",
      "dcap.collateral.crl_unavailable",
    ]);
  });

  test("the real Intel root is pinned by default: a fake quote is refused without the injected root", async () => {
    const c = await ctx("tdx");
    const d = await decide(await csr("tdx", await quote("tdx")), {
      ...c,
      dcap: { source: c.dcap!.source! },
    });
    assert.equal(d.verdict, "refuse");
    assert.ok(codes(d).includes("dcap.verify.untrusted_root"), codes(d).join());
  });

  test("a TDX quote in an SGX wrapper is refused (dcap.policy.tee)", async () => {
    const d = await decide(await csr("sgx", await quote("tdx")), await ctx("sgx"));
    assert.ok(codes(d).includes("dcap.policy.tee"), codes(d).join());
  });

  test("Enarx SGX evidence (the bare quote, REPORT_DATA[0..32] = SHA-256 of the CSR key) is issued without a workload", async () => {
    const rd = new Uint8Array(64);
    rd.set(await sha("SHA-256", keep.spki));
    const q = await quote("sgx", { reportData: rd });
    const csrDer = await buildCsr({ keys: keep, evidence: q, evidenceOid: OID_ENARX_SGX });
    const d = await decide(csrDer, await ctx("sgx"));
    assert.equal(d.verdict, "issue", JSON.stringify(d));
    if (d.verdict !== "issue") return;
    assert.equal(d.claims.evidenceFormat, "enarx-sgx");
    assert.equal(d.claims.workloadIdentity, null);
    assert.equal(d.claims.tcbStatus, "UpToDate");
    // The same quote in another key's CSR: Enarx's binding does not hold.
    const other = await buildCsr({ keys: stranger, evidence: q, evidenceOid: OID_ENARX_SGX });
    assert.deepEqual(codes(await decide(other, await ctx("sgx"))), ["binding.report_data"]);
  });
});

describe("createStewardDcapSource: a collateral directory", () => {
  test("nothing configured: no source", () => {
    assert.equal(createStewardDcapSource({}), null);
    assert.equal(createStewardDcapSource({ files: [], pcsUrl: null }), null);
  });

  test("groups TCB Info by TEE and FMSPC and QE Identity by TEE: one directory serves both", async () => {
    const files = [
      ...(await collateralFiles({ tee: "sgx" })),
      ...(await collateralFiles({ tee: "tdx" })).filter((f) => f.name.endsWith(".json")),
    ];
    const source = createStewardDcapSource({ files })!;
    const sgx = await source.tcbInfo("sgx", "00606A000000");
    const tdx = await source.tcbInfo("tdx", "00606a000000");
    assert.notEqual(sgx.body, tdx.body);
    assert.match(tdx.body, /"id":"TDX"/);
    assert.equal(sgx.issuerChain.length, 2);
    assert.match((await source.qeIdentity("tdx")).body, /"id":"TD_QE"/);
    assert.equal((await source.pckCrl("platform")).issuerChain.length, 2);
    await assert.rejects(source.tcbInfo("sgx", "112233445566"), {
      code: "dcap.collateral.missing",
      message:
        /no SGX TCB Info for FMSPC 112233445566 in \[dcap\] collateral_dir and no \[dcap\] pcs_url/,
    });
    await assert.rejects(source.pckCrl("processor"), { code: "dcap.collateral.missing" });
    // Warm calls hand out the same objects (attest caches verified collateral per object).
    assert.equal(await source.tcbInfo("sgx", "00606a000000"), sgx);
  });

  const bad: [string, CollateralFileInput[], RegExp][] = [
    [
      "a file that is not collateral",
      [{ name: "notes.txt", data: enc.encode("hello\n") }],
      /collateral_dir: notes\.txt: neither JSON, PEM, DER nor hex/,
    ],
    [
      "JSON that is no collateral",
      [{ name: "x.json", data: enc.encode('{"hello":1}') }],
      /x\.json: JSON that is neither TCB Info/,
    ],
  ];
  for (const [name, files, re] of bad) {
    test(`refuses at boot: ${name}`, () => {
      assert.throws(
        () => createStewardDcapSource({ files }),
        (e: unknown) =>
          (e as { code?: string }).code === "steward.collateral" && re.test((e as Error).message),
      );
    });
  }

  test("refuses two different TCB Infos for one platform", async () => {
    const a = await collateralFiles();
    const b = await collateralFiles({ tcbInfo: { levels: [{ status: "OutOfDate" }] } });
    assert.throws(
      () => createStewardDcapSource({ files: [...a, { ...b[0]!, name: "tcb_info_2.json" }] }),
      /tcb_info_2\.json: a second, different TCB Info for sgx FMSPC 00606a000000/,
    );
  });
});
