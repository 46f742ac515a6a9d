/**
 * attestDcap end to end with the testkit's fake Intel hierarchies (fakeIntel
 * quotes, fakeIntelCollateral TCB Info / QE Identity / CRLs): what real
 * vectors cannot show — every TCB status, Revoked, expired collateral, a
 * wrong FMSPC, a QE identity mismatch, revoked PCK certificates, debug
 * enclaves and TDs, each policy field, missing collateral and its
 * relaxation, a collateral source, and bad options. Real quotes: vectors.test.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type FakeIntel,
  type FakeIntelOptions,
  type FakeSgxQuoteFields,
  type FakeTdxQuoteFields,
  fakeIntel,
} from "../../../testkit/src/intel.ts";
import {
  type FakeIntelCollateralOptions,
  fakeIntelCollateral,
} from "../../../testkit/src/intel_collateral.ts";
import { CollateralError, OptionsError } from "../error.ts";
import type { Check } from "../verdict.ts";
import { parseDcapQuote } from "./abi.ts";
import {
  type AttestDcapOptions,
  attestDcap,
  createDcapVerifier,
  type DcapCollateralSource,
  type DcapVerdict,
  dcapClaims,
} from "./attest.ts";
import { INTEL_PCS_URL } from "./pcs.ts";
import type { DcapCollateral, TcbStatus } from "./types.ts";
import type { DcapValidateOptions } from "./validate.ts";

const intels = new Map<string, Promise<FakeIntel>>();
/** One fake hierarchy per option set (its root is the one the quotes embed: pin it). */
function intel(o: FakeIntelOptions = {}): Promise<FakeIntel> {
  const k = JSON.stringify(o, (_k, v) => (v instanceof Uint8Array ? [...v] : v));
  let i = intels.get(k);
  if (!i) {
    i = fakeIntel(o);
    intels.set(k, i);
  }
  return i;
}

interface Case {
  tee?: "sgx" | "tdx";
  intel?: FakeIntelOptions;
  sgx?: Partial<FakeSgxQuoteFields>;
  tdx?: Partial<FakeTdxQuoteFields>;
  collateral?: Omit<FakeIntelCollateralOptions, "tee">;
  /** Change the collateral before attesting. */
  edit?: (c: DcapCollateral) => DcapCollateral;
  options?: Partial<AttestDcapOptions>;
}

const REPORT_DATA = new Uint8Array(64).fill(0x42);

async function quoteOf(c: Case): Promise<{ fi: FakeIntel; quote: Uint8Array }> {
  const fi = await intel(c.intel);
  const quote =
    (c.tee ?? "sgx") === "sgx"
      ? await fi.sgxQuote({ reportData: REPORT_DATA, ...c.sgx })
      : await fi.tdxQuote({ reportData: REPORT_DATA, ...c.tdx });
  return { fi, quote };
}

async function run(c: Case = {}): Promise<DcapVerdict> {
  const { fi, quote } = await quoteOf(c);
  const fc = await fakeIntelCollateral({ tee: c.tee ?? "sgx", ...c.collateral });
  const collateral = c.edit ? c.edit({ ...fc.collateral }) : fc.collateral;
  return attestDcap(quote, { now: fc.now, collateral, root: fi.root, ...c.options });
}

/** The failed checks of severity error, as [id, code]. */
const failures = (checks: readonly Check[]) =>
  checks.filter((c) => !c.ok && c.severity !== "warning").map((c) => [c.id, c.code]);
const warningCodes = (v: DcapVerdict) => v.warnings.map((w) => [w.id, w.code]);

const STATUSES: readonly Exclude<TcbStatus, "Revoked">[] = [
  "UpToDate",
  "SWHardeningNeeded",
  "ConfigurationNeeded",
  "ConfigurationAndSWHardeningNeeded",
  "OutOfDate",
  "OutOfDateConfigurationNeeded",
];
const ANY_STATUS = { allowedTcbStatuses: STATUSES };

describe("every TCB status end to end", () => {
  for (const tee of ["sgx", "tdx"] as const) {
    for (const status of STATUSES) {
      it(`${tee} ${status}: refused by the default policy unless UpToDate, accepted when allowed`, async () => {
        const advisoryIds = status === "UpToDate" ? [] : ["INTEL-SA-00615"];
        const c: Case = { tee, collateral: { tcbInfo: { levels: [{ status, advisoryIds }] } } };
        const strict = await run(c);
        assert.equal(strict.ok, status === "UpToDate");
        assert.deepEqual(
          failures(strict.checks),
          status === "UpToDate" ? [] : [["dcap.policy.tcb_status", "dcap.policy.tcb_status"]],
        );
        assert.equal(strict.claims?.tcb.status, status);
        assert.deepEqual(strict.claims?.tcb.advisory_ids, advisoryIds);
        assert.deepEqual(strict.claims?.tcb.platform, { status, advisory_ids: advisoryIds });
        const relaxed = await run({ ...c, options: { policy: { allowedTcbStatuses: [status] } } });
        assert.equal(relaxed.ok, true);
        assert.deepEqual(relaxed.warnings, []);
        assert.equal(relaxed.tee, tee);
      });
    }
  }

  it("Revoked platform level: dcap.tcb.revoked whatever the policy says", async () => {
    const v = await run({
      collateral: { tcbInfo: { levels: [{ status: "Revoked" }] } },
      options: { policy: ANY_STATUS },
    });
    assert.equal(v.ok, false);
    assert.equal(v.claims?.tcb.status, "Revoked");
    assert.deepEqual(failures(v.checks), [
      ["dcap.tcb.level", "dcap.tcb.revoked"],
      ["dcap.policy.tcb_status", "dcap.policy.tcb_status"],
    ]);
  });

  it("Revoked QE level: the merged status is Revoked", async () => {
    const v = await run({
      collateral: { qeIdentity: { levels: [{ isvSvn: 0, status: "Revoked" }] } },
    });
    assert.equal(v.claims?.tcb.status, "Revoked");
    assert.equal(v.claims?.tcb.qe?.status, "Revoked");
    assert.deepEqual(failures(v.checks)[0], ["dcap.tcb.level", "dcap.tcb.revoked"]);
  });

  it("an OutOfDate QE makes an UpToDate platform OutOfDate (advisories merged)", async () => {
    const v = await run({
      collateral: {
        qeIdentity: {
          levels: [{ isvSvn: 0, status: "OutOfDate", advisoryIds: ["INTEL-SA-00999"] }],
        },
      },
      options: { policy: ANY_STATUS },
    });
    assert.equal(v.ok, true);
    assert.equal(v.claims?.tcb.status, "OutOfDate");
    assert.deepEqual(v.claims?.tcb.advisory_ids, ["INTEL-SA-00999"]);
    assert.deepEqual(v.claims?.tcb.qe, {
      status: "OutOfDate",
      advisory_ids: ["INTEL-SA-00999"],
      isv_svn: 9,
    });
  });

  it("TDX: an OutOfDate TDX module makes the TD OutOfDate", async () => {
    const v = await run({
      tee: "tdx",
      collateral: {
        tcbInfo: {
          tdxModuleIdentities: [{ id: "TDX_01", levels: [{ isvSvn: 6, status: "OutOfDate" }] }],
        },
      },
      options: { policy: ANY_STATUS },
    });
    assert.equal(v.claims?.tcb.status, "OutOfDate");
    assert.deepEqual(v.claims?.tcb.tdx_module, { status: "OutOfDate", advisory_ids: [] });
    assert.equal(v.claims?.tcb.relaunch_advised, false);
  });

  it("no level matches the platform: not-supported", async () => {
    const v = await run({ collateral: { tcbInfo: { levels: [{ sgx: Array(16).fill(200) }] } } });
    assert.equal(v.claims?.tcb.status, "not-supported");
    assert.deepEqual(failures(v.checks), [["dcap.tcb.level", "dcap.tcb.not_supported"]]);
    assert.deepEqual(warningCodes(v), [["dcap.policy.tcb_status", "dcap.policy.tcb_not_checked"]]);
  });
});

describe("collateral that does not fit", () => {
  const DAY = 86_400_000;
  const now = new Date("2025-06-01T00:00:00Z");
  const table: [string, Case, [string, string][]][] = [
    [
      "expired TCB Info",
      { collateral: { tcbInfo: { nextUpdate: new Date(now.getTime() - DAY) } } },
      [["dcap.collateral.tcb_info.validity", "dcap.collateral.expired"]],
    ],
    [
      "QE Identity not yet valid",
      { collateral: { qeIdentity: { issueDate: new Date(now.getTime() + DAY) } } },
      [["dcap.collateral.qe_identity.validity", "dcap.collateral.not_yet_valid"]],
    ],
    [
      "expired TCB signing certificate",
      { collateral: { signing: { notAfter: new Date(now.getTime() - DAY) } } },
      [
        ["dcap.collateral.tcb_info.chain.validity", "dcap.collateral.expired"],
        ["dcap.collateral.qe_identity.chain.validity", "dcap.collateral.expired"],
      ],
    ],
    [
      "stale PCK CRL",
      {
        collateral: {
          pckCrl: {
            nextUpdate: new Date(now.getTime() - DAY),
            thisUpdate: new Date(now.getTime() - 2 * DAY),
          },
        },
      },
      [["dcap.collateral.pck_crl.fresh", "dcap.collateral.crl_stale"]],
    ],
    [
      "wrong FMSPC",
      { collateral: { tcbInfo: { fmspc: "00906ED50000" } } },
      [["dcap.tcb.fmspc", "dcap.collateral.fmspc"]],
    ],
    [
      "wrong PCE ID",
      { collateral: { tcbInfo: { pceId: "0001" } } },
      [["dcap.tcb.pce_id", "dcap.collateral.pce_id"]],
    ],
    [
      "QE identity mismatch (MRSIGNER)",
      { collateral: { qeIdentity: { mrsigner: "AB".repeat(32) } } },
      [["dcap.tcb.qe_identity.mrsigner", "dcap.tcb.qe_identity"]],
    ],
    [
      "QE identity of the other TEE",
      { collateral: { qeIdentity: { id: "TD_QE" } } },
      [["dcap.tcb.qe_identity_id", "dcap.collateral.id"]],
    ],
    [
      "TCB Info signed by another key",
      { collateral: { jsonSignedBy: "other" } },
      [
        ["dcap.collateral.tcb_info.signature", "dcap.collateral.signature"],
        ["dcap.collateral.qe_identity.signature", "dcap.collateral.signature"],
      ],
    ],
    [
      "PCK certificate revoked",
      { collateral: { pckCrl: { revoked: ["03"] } } },
      [["dcap.collateral.revoked.pck", "dcap.collateral.revoked"]],
    ],
    [
      "PCK CA revoked by the root CA CRL",
      { collateral: { rootCrl: { revoked: ["02"] } } },
      [["dcap.collateral.revoked.pck_ca", "dcap.collateral.revoked"]],
    ],
  ];
  for (const [name, c, want] of table) {
    it(`${name}: ${want.map((w) => w[1]).join(", ")}`, async () => {
      const v = await run(c);
      assert.equal(v.ok, false);
      // A judged TCB adds nothing else: the failures are exactly the collateral's.
      assert.deepEqual(
        failures(v.checks).filter(([id]) => id !== "dcap.policy.tcb_status"),
        want,
      );
    });
  }
});

describe("debug enclaves and TDs", () => {
  for (const tee of ["sgx", "tdx"] as const) {
    it(`${tee}: a debug ${tee === "sgx" ? "enclave" : "TD"} is refused by default, accepted with allowDebug`, async () => {
      const c: Case = tee === "sgx" ? { tee, sgx: { debug: true } } : { tee, tdx: { debug: true } };
      const v = await run(c);
      assert.equal(v.claims?.debug, true);
      assert.deepEqual(failures(v.checks), [["dcap.policy.debug", "dcap.policy.debug"]]);
      assert.match(
        v.checks.find((x) => x.id === "dcap.policy.debug")!.actual!,
        tee === "sgx" ? /ATTRIBUTES\.FLAGS\.DEBUG = 1/ : /TD_ATTRIBUTES\.DEBUG = 1/,
      );
      const allowed = await run({ ...c, options: { policy: { allowDebug: true } } });
      assert.equal(allowed.ok, true);
      const plain = await run({ tee });
      assert.equal(plain.claims?.debug, false);
    });
  }
});

describe("each policy field, on a fake quote", () => {
  const h = (b: number, n: number) => Buffer.alloc(n, b).toString("hex");
  const rtmrs = [0xa0, 0xa1, 0xa2, 0xa3].map((b) => new Uint8Array(48).fill(b));
  // [tee, field, a value the fake quote has, one it has not, code]
  const table: [string, keyof DcapValidateOptions, unknown, unknown, string][] = [
    ["sgx", "tee", "sgx", "tdx", "dcap.policy.tee"],
    ["sgx", "reportData", REPORT_DATA, h(0x43, 64), "dcap.policy.report_data"],
    ["sgx", "mrEnclave", h(0xe1, 32), h(0xe2, 32), "dcap.policy.mr_enclave"],
    ["sgx", "mrEnclave", [h(0xe2, 32), h(0xe1, 32)], [h(0xe2, 32)], "dcap.policy.mr_enclave"],
    ["sgx", "mrSigner", h(0x51, 32), h(0x52, 32), "dcap.policy.mr_signer"],
    ["sgx", "isvProdId", 7, 8, "dcap.policy.isv_prod_id"],
    ["sgx", "minIsvSvn", 3, 4, "dcap.policy.isv_svn"],
    [
      "sgx",
      "miscSelect",
      { value: 0x10, mask: 0xf0 },
      { value: 0x20, mask: 0xf0 },
      "dcap.policy.misc_select",
    ],
    ["sgx", "miscSelect", { value: 0x1f }, { value: 0x10 }, "dcap.policy.misc_select"],
    ["tdx", "tee", "tdx", "sgx", "dcap.policy.tee"],
    ["tdx", "reportData", REPORT_DATA, new Uint8Array(64), "dcap.policy.report_data"],
    ["tdx", "mrTd", h(0x7d, 48), h(0x7e, 48), "dcap.policy.mr_td"],
    ["tdx", "rtmr0", rtmrs[0], h(0, 48), "dcap.policy.rtmr"],
    ["tdx", "rtmr1", [rtmrs[1]], [rtmrs[0]], "dcap.policy.rtmr"],
    ["tdx", "rtmr2", rtmrs[2], rtmrs[3], "dcap.policy.rtmr"],
    ["tdx", "rtmr3", rtmrs[3], rtmrs[2], "dcap.policy.rtmr"],
    ["tdx", "mrConfigId", h(0x0c, 48), h(0, 48), "dcap.policy.mr_config_id"],
    ["tdx", "mrOwner", h(0x0d, 48), h(0, 48), "dcap.policy.mr_owner"],
    ["tdx", "mrOwnerConfig", h(0x0e, 48), h(0, 48), "dcap.policy.mr_owner_config"],
    ["tdx", "xfam", "e71a060000000000", "e700060000000000", "dcap.policy.xfam"],
  ];
  const sgx: Partial<FakeSgxQuoteFields> = { isvProdId: 7, isvSvn: 3, miscSelect: 0x1f };
  const tdx: Partial<FakeTdxQuoteFields> = {
    mrConfigId: new Uint8Array(48).fill(0x0c),
    mrOwner: new Uint8Array(48).fill(0x0d),
    mrOwnerConfig: new Uint8Array(48).fill(0x0e),
    xfam: 0x61ae7n,
  };
  for (const [tee, field, good, bad, code] of table) {
    it(`${tee} ${field}: ${code}`, async () => {
      const c: Case = { tee: tee as "sgx" | "tdx", sgx, tdx };
      const pass = await run({ ...c, options: { policy: { [field]: good } } });
      assert.deepEqual(failures(pass.checks), []);
      assert.ok(
        pass.checks.some((x) => x.id.startsWith(code) && x.ok),
        `${code} ran`,
      );
      const fail = await run({ ...c, options: { policy: { [field]: bad } } });
      assert.deepEqual(
        failures(fail.checks).map((f) => f[1]),
        [code],
      );
      const check = fail.checks.find((x) => !x.ok)!;
      assert.ok(check.expected && check.actual && check.remedy, "expected, actual, remedy");
    });
  }

  it("a policy written for the other TEE fails with dcap.policy.tee naming its fields", async () => {
    const v = await run({
      tee: "tdx",
      options: { policy: { mrEnclave: h(0xe1, 32), minIsvSvn: 0 } },
    });
    assert.deepEqual(failures(v.checks), [["dcap.policy.tee.fields", "dcap.policy.tee"]]);
    assert.match(v.checks.find((x) => !x.ok)!.expected!, /mrEnclave, minIsvSvn/);
    const s = await run({ tee: "sgx", options: { policy: { rtmr0: h(0, 48) } } });
    assert.deepEqual(failures(s.checks), [["dcap.policy.tee.fields", "dcap.policy.tee"]]);
  });
});

describe("missing collateral", () => {
  const none = (c: DcapCollateral, keys: (keyof DcapCollateral)[]) => {
    const out = { ...c };
    for (const k of keys) out[k] = null;
    return out;
  };
  const table: [string, (keyof DcapCollateral)[], [string, string][]][] = [
    ["no TCB Info", ["tcbInfo"], [["dcap.collateral.tcb_info", "dcap.collateral.missing"]]],
    [
      "no QE Identity",
      ["qeIdentity"],
      [["dcap.collateral.qe_identity", "dcap.collateral.missing"]],
    ],
    [
      "no TCB signing chain",
      ["tcbInfoIssuerChain", "qeIdentityIssuerChain"],
      [
        ["dcap.collateral.tcb_info.chain", "dcap.collateral.missing"],
        ["dcap.collateral.qe_identity.chain", "dcap.collateral.missing"],
      ],
    ],
    [
      "nothing at all",
      [
        "tcbInfo",
        "qeIdentity",
        "tcbInfoIssuerChain",
        "qeIdentityIssuerChain",
        "rootCaCrl",
        "pckCrl",
      ],
      [
        ["dcap.collateral.tcb_info", "dcap.collateral.missing"],
        ["dcap.collateral.qe_identity", "dcap.collateral.missing"],
      ],
    ],
  ];
  for (const [name, keys, want] of table) {
    it(`${name}: ${want.map((w) => w[0]).join(", ")}`, async () => {
      const v = await run({ edit: (c) => none(c, keys) });
      assert.equal(v.ok, false);
      assert.deepEqual(failures(v.checks), want);
      assert.equal(v.claims?.tcb.status, "not-checked");
    });
  }

  it("the missing TCB Info's check names the PCS URL it comes from", async () => {
    const v = await run({ edit: (c) => none(c, ["tcbInfo", "qeIdentity"]) });
    const [tcb, qe] = v.checks.filter((c) => !c.ok && c.severity !== "warning");
    assert.match(
      tcb!.expected!,
      new RegExp(`${INTEL_PCS_URL}/sgx/certification/v4/tcb\\?fmspc=00606A000000`),
    );
    assert.match(qe!.expected!, /\/sgx\/certification\/v4\/qe\/identity/);
  });

  it("requireCollateral false: missing TCB Info and QE Identity are warnings, the status not-checked", async () => {
    const v = await run({
      edit: (c) => none(c, ["tcbInfo", "qeIdentity"]),
      options: { requireCollateral: false },
    });
    assert.equal(v.ok, true);
    assert.equal(v.claims?.tcb.status, "not-checked");
    assert.deepEqual(warningCodes(v), [
      ["dcap.collateral.tcb_info", "dcap.collateral.missing"],
      ["dcap.collateral.qe_identity", "dcap.collateral.missing"],
      ["dcap.policy.tcb_status", "dcap.policy.tcb_not_checked"],
    ]);
    // Collateral that is present is still verified.
    const bad = await run({
      edit: (c) => none(c, ["qeIdentity"]),
      collateral: { jsonSignedBy: "other" },
      options: { requireCollateral: false },
    });
    assert.deepEqual(failures(bad.checks), [
      ["dcap.collateral.tcb_info.signature", "dcap.collateral.signature"],
    ]);
  });

  it("no CRLs: one warning each (not again from the quote verifier); requireCrl makes them errors", async () => {
    const edit = (c: DcapCollateral) => none(c, ["rootCaCrl", "pckCrl"]);
    const v = await run({ edit });
    assert.equal(v.ok, true);
    assert.deepEqual(warningCodes(v), [
      ["dcap.collateral.root_ca_crl", "dcap.collateral.crl_unavailable"],
      ["dcap.collateral.pck_crl", "dcap.collateral.crl_unavailable"],
    ]);
    const strict = await run({ edit, options: { requireCrl: true } });
    assert.deepEqual(failures(strict.checks), [
      ["dcap.collateral.root_ca_crl", "dcap.collateral.crl_unavailable"],
      ["dcap.collateral.pck_crl", "dcap.collateral.crl_unavailable"],
    ]);
  });
});

describe("a collateral source", () => {
  async function setup(tee: "sgx" | "tdx" = "sgx") {
    const { fi, quote } = await quoteOf({ tee });
    const fc = await fakeIntelCollateral({ tee });
    const asked: string[] = [];
    const c = fc.collateral;
    const source: DcapCollateralSource = {
      async tcbInfo(t, fmspc) {
        asked.push(`tcb ${t} ${fmspc}`);
        return { body: c.tcbInfo, issuerChain: c.tcbInfoIssuerChain };
      },
      async qeIdentity(t) {
        asked.push(`qe ${t}`);
        return { body: c.qeIdentity, issuerChain: c.qeIdentityIssuerChain };
      },
      async pckCrl(ca) {
        asked.push(`pckcrl ${ca}`);
        return { der: c.pckCrl, issuerChain: c.pckCrlIssuerChain };
      },
      async rootCaCrl() {
        asked.push("rootcrl");
        return { der: c.rootCaCrl, issuerChain: [] };
      },
    };
    return { fi, quote, fc, source, asked };
  }

  it("fetches what the collateral lacks, by the PCK's FMSPC and CA, and stays warm", async () => {
    const { fi, quote, fc, source, asked } = await setup("tdx");
    const verifier = createDcapVerifier({ root: fi.root });
    const v = await attestDcap(quote, { now: fc.now, source, verifier });
    assert.equal(v.ok, true, JSON.stringify(failures(v.checks)));
    assert.deepEqual(asked.sort(), [
      "pckcrl platform",
      "qe tdx",
      "rootcrl",
      "tcb tdx 00606a000000",
    ]);
    const again = await attestDcap(quote, { now: fc.now, source, verifier });
    assert.deepEqual(again, v);
    // Given items are not asked for.
    asked.length = 0;
    const partial = await attestDcap(quote, {
      now: fc.now,
      source,
      verifier,
      collateral: { ...fc.collateral, tcbInfo: fc.collateral.tcbInfo, pckCrl: null },
    });
    assert.equal(partial.ok, true);
    assert.deepEqual(asked, ["pckcrl platform"]);
  });

  it("fresh answers each time (no caching source): every verdict is right, the merged objects stay few", async () => {
    const { fi, quote, fc, source } = await setup();
    const verifier = createDcapVerifier({ root: fi.root });
    const fresh: DcapCollateralSource = {
      ...source,
      rootCaCrl: async () => ({ der: fc.collateral.rootCaCrl.slice(), issuerChain: [] }),
    };
    for (let i = 0; i < 10; i++) {
      const v = await attestDcap(quote, { now: fc.now, source: fresh, verifier });
      assert.equal(v.ok, true);
    }
  });

  for (const tee of ["sgx", "tdx"] as const) {
    it(`${tee}: what the source cannot give is a failed check with its code; a CRL's reason goes into its warning`, async () => {
      const { fi, quote, fc } = await setup(tee);
      const down = () =>
        Promise.reject(
          new CollateralError("dcap.pcs.network", "api.trustedservices.intel.com unreachable"),
        );
      const source: DcapCollateralSource = {
        tcbInfo: down,
        qeIdentity: () => Promise.reject(new CollateralError("dcap.pcs.not_found", "404")),
        pckCrl: down,
        rootCaCrl: down,
      };
      const v = await attestDcap(quote, { now: fc.now, source, root: fi.root });
      assert.deepEqual(failures(v.checks), [
        ["dcap.collateral.tcb_info", "dcap.pcs.network"],
        ["dcap.collateral.qe_identity", "dcap.pcs.not_found"],
      ]);
      assert.match(
        v.checks.find((c) => c.id === "dcap.collateral.qe_identity")!.expected!,
        tee === "tdx" ? /TD_QE Identity/ : /the QE Identity/,
      );
      const crl = v.warnings.filter((w) => w.code === "dcap.collateral.crl_unavailable");
      assert.equal(crl.length, 2);
      for (const w of crl) assert.match(w.actual!, /unreachable/);
    });
  }

  it("a source that refuses the question (OptionsError) is reported as missing collateral", async () => {
    const { fi, quote, fc, source } = await setup();
    const v = await attestDcap(quote, {
      now: fc.now,
      root: fi.root,
      source: {
        ...source,
        tcbInfo: () =>
          Promise.reject(new OptionsError("options.invalid", "FMSPC must be 12 hex digits")),
      },
    });
    assert.deepEqual(failures(v.checks), [["dcap.collateral.tcb_info", "dcap.collateral.missing"]]);
  });

  it("anything else a source throws is not evidence: it propagates", async () => {
    const { fi, quote, fc, source } = await setup();
    await assert.rejects(
      attestDcap(quote, {
        now: fc.now,
        root: fi.root,
        source: { ...source, rootCaCrl: () => Promise.reject(new TypeError("bug")) },
      }),
      TypeError,
    );
  });

  it("a quote whose PCK extensions cannot be read: nothing is fetched by FMSPC, the TCB is not-checked", async () => {
    const { fi, quote, fc, source, asked } = await setup();
    const v = await attestDcap(breakPckExtension(quote), { now: fc.now, source, root: fi.root });
    assert.deepEqual(asked.sort(), ["qe sgx", "rootcrl"]);
    assert.equal(v.claims?.pck, null);
    assert.equal(v.claims?.tcb.status, "not-checked");
    assert.deepEqual(failures(v.checks), [
      ["dcap.verify.chain.pck", "dcap.verify.chain"],
      ["dcap.verify.pck_extensions", "dcap.pck.extension"],
    ]);
  });
  it("a warm verifier never mistakes a twin PCK certificate (same length and tail) for the one it saw", async () => {
    const { fi, quote, fc } = await setup();
    const verifier = createDcapVerifier({ root: fi.root });
    const o = { now: fc.now, collateral: fc.collateral, verifier };
    assert.equal((await attestDcap(quote, o)).ok, true);
    const twin = await attestDcap(breakPckExtension(quote), o);
    assert.equal(twin.ok, false);
    assert.equal(twin.claims?.pck, null);
    assert.deepEqual(
      twin,
      await attestDcap(breakPckExtension(quote), { ...o, verifier: undefined, root: fi.root }),
    );
    assert.equal((await attestDcap(quote, o)).ok, true);
  });
});

/**
 * An SGX v3 quote with its certification data (type 5) replaced by `pem`:
 * the signature data length and the certification data size follow it. No
 * signature covers the certification data (LAYOUTS.md §2).
 */
function withPckChain(quote: Uint8Array, pem: string): Uint8Array {
  const v = new DataView(quote.buffer, quote.byteOffset, quote.byteLength);
  const sigData = 48 + 384 + 4; // header, report body, signature data length
  const auth = sigData + 64 + 64 + 384 + 64; // after the signatures, the key and the QE report
  const certAt = auth + 2 + v.getUint16(auth, true) + 2 + 4;
  const data = new TextEncoder().encode(pem);
  const out = new Uint8Array(certAt + data.length);
  out.set(quote.subarray(0, certAt));
  out.set(data, certAt);
  const o = new DataView(out.buffer);
  o.setUint32(certAt - 4, data.length, true);
  o.setUint32(sigData - 4, out.length - sigData, true);
  return out;
}

/**
 * The quote with the OID of its PCK certificate's SGX extension
 * (1.2.840.113741.1.13.1) changed to …13.2: the PEM stays well-formed, the
 * certificate no longer carries the extension (and its signature breaks). No
 * signature covers the certification data, so the quote itself still verifies.
 */
function breakPckExtension(quote: Uint8Array): Uint8Array {
  const text = new TextDecoder("latin1").decode(quote);
  const begin = text.indexOf("-----BEGIN CERTIFICATE-----") + 27;
  const end = text.indexOf("-----END CERTIFICATE-----", begin);
  const positions: number[] = [];
  for (let i = begin; i < end; i++) if (!/\s/.test(text[i]!)) positions.push(i);
  const der = Buffer.from(positions.map((i) => text[i]).join(""), "base64");
  const oid = Buffer.from("06092a864886f84d010d01", "hex");
  const at = der.indexOf(oid);
  assert.ok(at > 0);
  der[at + oid.length - 1] = 0x02;
  const b64 = der.toString("base64");
  assert.equal(b64.length, positions.length);
  const out = quote.slice();
  positions.forEach((p, k) => {
    out[p] = b64.charCodeAt(k);
  });
  return out;
}

describe("bad evidence never throws", () => {
  const table: [string, Uint8Array, "sgx" | "tdx" | null, string][] = [
    ["empty", new Uint8Array(0), null, "dcap.quote.size"],
    ["an SGX header only", Uint8Array.from([3, 0, 2, 0, 0, 0, 0, 0]), "sgx", "dcap.quote.size"],
    ["a TDX header only", Uint8Array.from([4, 0, 2, 0, 0x81, 0, 0, 0]), "tdx", "dcap.quote.size"],
    ["an unknown TEE", Uint8Array.from([4, 0, 2, 0, 0x7f, 0, 0, 0]), null, "dcap.quote.size"],
  ];
  for (const [name, bytes, tee, code] of table) {
    it(`${name}: dcap.parse fails with ${code}, tee ${tee}`, async () => {
      const v = await attestDcap(bytes, { now: new Date() });
      assert.deepEqual(failures(v.checks), [["dcap.parse", code]]);
      assert.equal(v.tee, tee);
      assert.equal(v.claims, null);
      assert.equal(v.ok, false);
    });
  }

  it("a tampered fake quote: the quote signature fails, the verdict says so", async () => {
    const { fi, quote } = await quoteOf({});
    const fc = await fakeIntelCollateral();
    const t = quote.slice();
    t[48 + 64] = t[48 + 64]! ^ 1; // MRENCLAVE's first byte
    const v = await attestDcap(t, { now: fc.now, collateral: fc.collateral, root: fi.root });
    assert.deepEqual(failures(v.checks), [
      ["dcap.verify.quote_signature", "dcap.verify.quote_signature"],
    ]);
  });

  it('PCK "certificates" of a few bytes: failed checks, twice over with a warm verifier, never a throw', async () => {
    const { fi, quote } = await quoteOf({});
    const fc = await fakeIntelCollateral();
    const pem = (b64: string) => `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
    // An empty SEQUENCE and an 18-byte one: well-formed DER, no certificates.
    const tiny = withPckChain(
      quote,
      `${pem("MAA=")}${pem("MBAEDgAAAAAAAAAAAAAAAAAA")}${pem("MAA=")}\0`,
    );
    const verifier = createDcapVerifier({ root: fi.root });
    for (let i = 0; i < 2; i++) {
      const v = await attestDcap(tiny, { now: fc.now, collateral: fc.collateral, verifier });
      assert.equal(v.ok, false);
      assert.equal(v.claims?.pck, null);
      assert.ok(failures(v.checks).some(([, code]) => code === "dcap.verify.certificate"));
    }
    // The helper itself: the real chain put back gives the original quote.
    const chain = new TextDecoder().decode(quote.subarray(quote.indexOf(0x2d, 1012)));
    assert.deepEqual(withPckChain(quote, chain), quote);
  });

  it("the pinned Intel root refuses a fake hierarchy", async () => {
    const { quote } = await quoteOf({});
    const fc = await fakeIntelCollateral();
    const v = await attestDcap(quote, { now: fc.now, collateral: fc.collateral });
    const codes = failures(v.checks).map((f) => f[1]);
    assert.ok(codes.includes("dcap.verify.untrusted_root"));
    assert.ok(codes.includes("dcap.collateral.chain"));
  });
});

describe("options", () => {
  const bytes = new Uint8Array(0);
  const now = new Date("2025-06-01T00:00:00Z");
  const table: [string, unknown, unknown, RegExp][] = [
    ["no options", bytes, undefined, /expected an options object/],
    ["no now", bytes, {}, /now: expected a valid Date/],
    ["an invalid now", bytes, { now: new Date("x") }, /now: expected a valid Date/],
    ["evidence not bytes", "quote", { now }, /evidence: expected a Uint8Array/],
    ["an unknown option", bytes, { now, polcy: {} }, /unknown option "polcy"/],
    [
      "a malformed policy",
      bytes,
      { now, policy: { mrTd: "00" } },
      /policy: mrTd: expected 48 bytes, got 1/,
    ],
    ["requireCrl not boolean", bytes, { now, requireCrl: "yes" }, /requireCrl: expected a boolean/],
    [
      "allowTrailing not boolean",
      bytes,
      { now, allowTrailing: 1 },
      /allowTrailing: expected a boolean/,
    ],
    [
      "collateral not an object",
      bytes,
      { now, collateral: "x" },
      /collateral: expected a DcapCollateral/,
    ],
    [
      "collateral lacking a member",
      bytes,
      { now, collateral: { tcbInfo: null } },
      /collateral\.tcbInfoIssuerChain: missing/,
    ],
    [
      "source lacking a method",
      bytes,
      { now, source: { tcbInfo() {} } },
      /source\.qeIdentity: expected a function/,
    ],
    [
      "verifier and root",
      bytes,
      { now, verifier: createDcapVerifier(), root: "x" },
      /root, crypto: set them on the verifier/,
    ],
    [
      "a verifier not made here",
      bytes,
      { now, verifier: { quote: {}, collateral: {} } },
      /verifier: expected one made by createDcapVerifier/,
    ],
    ["a root that is no certificate", bytes, { now, root: new Uint8Array([1, 2, 3]) }, /root: /],
  ];
  for (const [name, evidence, options, message] of table) {
    it(`${name}: OptionsError`, async () => {
      await assert.rejects(
        attestDcap(evidence as Uint8Array, options as AttestDcapOptions),
        (e: unknown) =>
          e instanceof OptionsError && e.code === "options.invalid" && message.test(e.message),
      );
    });
  }

  it("crypto and cacheSize reach the verifiers", async () => {
    const { fi, quote } = await quoteOf({});
    const fc = await fakeIntelCollateral();
    let calls = 0;
    const counting = {
      getRandomValues: crypto.getRandomValues.bind(crypto),
      randomUUID: crypto.randomUUID.bind(crypto),
      subtle: new Proxy(crypto.subtle, {
        get(t, p) {
          const f = Reflect.get(t, p);
          if (typeof f !== "function") return f;
          return (...a: unknown[]) => {
            calls++;
            return f.apply(t, a);
          };
        },
      }),
    } as Crypto;
    const v = await attestDcap(quote, {
      now: fc.now,
      collateral: fc.collateral,
      root: fi.root,
      crypto: counting,
    });
    assert.equal(v.ok, true);
    assert.ok(calls > 0);
    const verifier = createDcapVerifier({ root: fi.root, cacheSize: 0 });
    assert.equal(
      (await attestDcap(quote, { now: fc.now, collateral: fc.collateral, verifier })).ok,
      true,
    );
  });
});

describe("claims", () => {
  it("an SGX quote: the stable shape, and dcapClaims gives the same for a parsed quote", async () => {
    const { fi, quote } = await quoteOf({ sgx: { isvProdId: 7, isvSvn: 3 } });
    const fc = await fakeIntelCollateral();
    const v = await attestDcap(quote, { now: fc.now, collateral: fc.collateral, root: fi.root });
    const c = v.claims!;
    assert.deepEqual(Object.keys(c), [
      "version",
      "tee",
      "tcb",
      "debug",
      "report_data",
      "trailing_bytes",
      "header",
      "pck",
      "qe_report",
      "sgx",
      "tdx",
    ]);
    assert.equal(c.version, 3);
    assert.equal(c.sgx?.mr_enclave, "e1".repeat(32));
    assert.equal(c.sgx?.isv_prod_id, 7);
    assert.equal(c.report_data, "42".repeat(64));
    assert.equal(c.pck?.ca, "platform");
    assert.equal(c.header.qe_vendor_id, "939a7233f79c4ca9940a0db3957f0607");
    assert.equal(JSON.stringify(JSON.parse(JSON.stringify(c))), JSON.stringify(c));
    const parsed = parseDcapQuote(quote);
    const bare = dcapClaims(parsed);
    assert.equal(bare.tcb.status, "not-checked");
    assert.equal(bare.pck, null);
    assert.equal(bare.tcb.fmspc, null);
    assert.deepEqual({ ...bare, tcb: c.tcb, pck: c.pck }, c);
  });
});
