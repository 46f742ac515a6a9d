/** TCB evaluation: every real vector's documented status and advisories, then the algorithm's branches on crafted TCB Info. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type FakeCase, failures, runFake } from "./_test_dcap_fakes.ts";
import { DCAP_VECTORS, INTEL_ROOT_DER, vectorFile, vectorQuote } from "./_test_dcap_vectors.ts";
import { parsePckExtensions } from "./abi.ts";
import { createDcapCollateralVerifier } from "./collateral.ts";
import { offlineCollateral } from "./pcs.ts";
import { evaluateTcb } from "./tcb.ts";
import type { TdReportBody } from "./types.ts";

const verifier = createDcapCollateralVerifier({ root: INTEL_ROOT_DER });

describe("real vectors: status and advisory IDs at the documented time", () => {
  for (const vec of DCAP_VECTORS) {
    it(`${vec.id} (${vec.files.length} file(s)) → ${vec.status}`, async () => {
      const { quote, pck } = vectorQuote(vec);
      const collateral = offlineCollateral(vec.files.map((f) => vectorFile(vec, f)));
      const verified = await verifier.verify(collateral, {
        now: vec.at,
        pckCa: quote.pckChain[1]!,
        pckCaKind: pck.ca,
      });
      assert.deepEqual(
        verified.checks.filter((c) => !c.ok),
        [],
      );
      // Without CRLs, the two warnings say revocation was not checked.
      assert.deepEqual(
        verified.checks.filter((c) => c.severity === "warning").map((c) => c.id),
        vec.crls ? [] : ["dcap.collateral.root_ca_crl", "dcap.collateral.pck_crl"],
      );
      assert.ok(verified.ok);
      const r = evaluateTcb({
        tee: quote.body.tee,
        tcbInfo: verified.tcbInfo!,
        qeIdentity: verified.qeIdentity!,
        pck,
        qeReport: quote.qeReport,
        td: quote.body.tee === "tdx" ? quote.body.report : null,
      });
      if (vec.status === "not_supported") {
        assert.equal(r.ok, false);
        assert.equal(r.evaluation, null);
        const failed = r.checks.filter((c) => !c.ok);
        assert.deepEqual(
          failed.map((c) => [c.id, c.code]),
          [["dcap.tcb.level", "dcap.tcb.not_supported"]],
        );
        return;
      }
      assert.deepEqual(
        r.checks.filter((c) => !c.ok),
        [],
      );
      assert.equal(r.evaluation?.status, vec.status);
      assert.deepEqual(r.evaluation?.advisoryIds, vec.advisoryIds);
      // index.json observed_tcb: platform status = final status, QE UpToDate, TDX module TDX_01 UpToDate.
      assert.equal(r.evaluation?.platform.status, vec.status);
      assert.equal(r.evaluation?.qe.status, "UpToDate");
      assert.deepEqual(
        r.evaluation?.tdxModule,
        quote.body.tee === "tdx" ? { status: "UpToDate", advisoryIds: [] } : null,
      );
      assert.equal(r.evaluation?.relaunchAdvised, false);
    });
  }
});

// ── fakes: what the real vectors cannot show ───────────────────────────────

const HIGHER = [13, 12, 3, 3, 255, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];

describe("every TCB status, from the matched level", () => {
  for (const status of [
    "UpToDate",
    "SWHardeningNeeded",
    "ConfigurationNeeded",
    "ConfigurationAndSWHardeningNeeded",
    "OutOfDate",
    "OutOfDateConfigurationNeeded",
  ] as const) {
    for (const tee of ["sgx", "tdx"] as const) {
      it(`${tee} ${status}, advisories of the level`, async () => {
        const r = await runFake({
          tee,
          collateral: {
            tcbInfo: {
              levels: [
                { sgx: HIGHER, status: "UpToDate" },
                { status, advisoryIds: ["INTEL-SA-00999", "INTEL-SA-00100"] },
              ],
            },
          },
        });
        assert.deepEqual(failures(r.tcb!.checks), []);
        assert.equal(r.tcb!.evaluation!.status, status);
        assert.equal(r.tcb!.evaluation!.platform.status, status);
        assert.deepEqual(r.tcb!.evaluation!.advisoryIds, ["INTEL-SA-00100", "INTEL-SA-00999"]);
      });
    }
  }
  it("Revoked: the evaluation is given, the check fails with dcap.tcb.revoked", async () => {
    const r = await runFake({ collateral: { tcbInfo: { levels: [{ status: "Revoked" }] } } });
    assert.equal(r.tcb!.ok, false);
    assert.equal(r.tcb!.evaluation!.status, "Revoked");
    assert.deepEqual(failures(r.tcb!.checks), [["dcap.tcb.level", "dcap.tcb.revoked"]]);
  });
});

describe("status convergence (QVL convergeTcbStatusWith…)", () => {
  const table: [string, string, string][] = [
    ["UpToDate", "OutOfDate", "OutOfDate"],
    ["SWHardeningNeeded", "OutOfDate", "OutOfDate"],
    ["ConfigurationNeeded", "OutOfDate", "OutOfDateConfigurationNeeded"],
    ["ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded"],
    ["OutOfDate", "OutOfDate", "OutOfDate"],
    ["OutOfDateConfigurationNeeded", "OutOfDate", "OutOfDateConfigurationNeeded"],
    ["UpToDate", "Revoked", "Revoked"],
    ["SWHardeningNeeded", "UpToDate", "SWHardeningNeeded"],
  ];
  for (const [platform, other, want] of table) {
    it(`platform ${platform} + QE ${other} → ${want}`, async () => {
      const r = await runFake({
        collateral: {
          tcbInfo: { levels: [{ status: platform, advisoryIds: ["INTEL-SA-00001"] }] },
          qeIdentity: {
            levels: [
              { isvSvn: 10, status: "UpToDate" },
              { isvSvn: 9, status: other, advisoryIds: ["INTEL-SA-00002"] },
            ],
          },
        },
      });
      assert.equal(r.tcb!.evaluation!.status, want);
      assert.equal(r.tcb!.evaluation!.qe.status, other);
      assert.deepEqual(r.tcb!.evaluation!.advisoryIds, ["INTEL-SA-00001", "INTEL-SA-00002"]);
    });
    it(`tdx platform ${platform} + TDX module ${other} → ${want}`, async () => {
      const r = await runFake({
        tee: "tdx",
        collateral: {
          tcbInfo: {
            levels: [{ status: platform }],
            tdxModuleIdentities: [
              {
                id: "TDX_01",
                levels: [
                  { isvSvn: 7, status: "UpToDate" },
                  { isvSvn: 6, status: other, advisoryIds: ["INTEL-SA-00003"] },
                ],
              },
            ],
          },
        },
      });
      assert.equal(r.tcb!.evaluation!.status, want);
      assert.equal(r.tcb!.evaluation!.tdxModule!.status, other);
      assert.deepEqual(r.tcb!.evaluation!.advisoryIds, ["INTEL-SA-00003"]);
    });
  }
  it("a Revoked platform level stays Revoked whatever the QE", async () => {
    const r = await runFake({
      tee: "tdx",
      collateral: {
        tcbInfo: { levels: [{ status: "Revoked" }] },
        qeIdentity: { levels: [{ isvSvn: 9, status: "OutOfDate" }] },
      },
    });
    assert.equal(r.tcb!.evaluation!.status, "Revoked");
  });
});

describe("level selection", () => {
  it("skips levels above the PCK (any one SGX component, or PCESVN), takes the first at or below", async () => {
    const r = await runFake({
      collateral: {
        tcbInfo: {
          levels: [
            { sgx: HIGHER, status: "UpToDate" },
            { pceSvn: 14, status: "SWHardeningNeeded" },
            { status: "ConfigurationNeeded", tcbDate: "2023-01-01T00:00:00Z" },
            { status: "OutOfDate" },
          ],
        },
      },
    });
    assert.equal(r.tcb!.evaluation!.status, "ConfigurationNeeded");
    assert.equal(r.tcb!.evaluation!.tcbDate, "2023-01-01T00:00:00Z");
  });
  it("TCB Info v2 (flat sgxtcbcompNNsvn) selects the same way", async () => {
    const r = await runFake({
      collateral: { tcbInfo: { version: 2, levels: [{ sgx: HIGHER }, { status: "OutOfDate" }] } },
    });
    assert.deepEqual(failures(r.verified.checks), []);
    assert.equal(r.tcb!.evaluation!.status, "OutOfDate");
  });
  it("TDX: the first SGX-matching level whose TDX components match; from index 2 when TEE_TCB_SVN[1] > 0", async () => {
    const r = await runFake({
      tee: "tdx",
      collateral: {
        tcbInfo: {
          levels: [
            { tdx: [6, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], status: "UpToDate" },
            // Bytes 0–1 are the module's (judged by TDX_01): 99 here does not disqualify the level.
            {
              tdx: [99, 99, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
              status: "SWHardeningNeeded",
            },
          ],
        },
      },
    });
    assert.equal(r.tcb!.evaluation!.status, "SWHardeningNeeded");
  });
  it("TDX module version 0 (TEE_TCB_SVN[1] = 0): tdxModule alone, TDX components from index 0", async () => {
    const td = (t: TdReportBody): TdReportBody => ({
      ...t,
      teeTcbSvn: Uint8Array.of(6, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
    });
    const r = await runFake({
      tee: "tdx",
      td,
      collateral: {
        tcbInfo: {
          tdxModuleIdentities: null,
          levels: [
            { tdx: [7, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], status: "UpToDate" },
            { tdx: [6, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], status: "OutOfDate" },
          ],
        },
      },
    });
    assert.deepEqual(failures(r.tcb!.checks), []);
    assert.equal(r.tcb!.evaluation!.status, "OutOfDate");
    assert.deepEqual(r.tcb!.evaluation!.tdxModule, { status: "UpToDate", advisoryIds: [] });
  });
});

describe("TD 1.5 relaunch advised (QVL checkForRelaunch)", () => {
  const tdx = (first: number, second: number) =>
    Uint8Array.of(first, second, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  const moduleOutOfDate = {
    tee: "tdx" as const,
    collateral: {
      tcbInfo: {
        levels: [{ tdx: [8, 1, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }],
        tdxModuleIdentities: [
          {
            id: "TDX_01",
            levels: [
              { isvSvn: 8, status: "UpToDate" },
              { isvSvn: 6, status: "OutOfDate" },
            ],
          },
          { id: "TDX_03", levels: [{ isvSvn: 2 }] },
        ],
      },
    },
  };
  const cases: [string, Uint8Array, boolean][] = [
    ["TEE_TCB_SVN_2 at the newest module level", tdx(8, 1), true],
    ["TEE_TCB_SVN_2 on a newer major version's newest level", tdx(2, 3), true],
    ["TEE_TCB_SVN_2 not newer", tdx(6, 1), false],
    ["TEE_TCB_SVN_2 version 0 at the newest TDX components", tdx(8, 0), true],
    ["TEE_TCB_SVN_2 version 0 below", tdx(7, 0), false],
  ];
  for (const [name, svn2, advised] of cases) {
    it(`${name} → relaunchAdvised ${advised}`, async () => {
      const r = await runFake({
        ...moduleOutOfDate,
        td: (t) => ({ ...t, kind: "td15", teeTcbSvn2: svn2, mrServiceTd: new Uint8Array(48) }),
      });
      assert.deepEqual(failures(r.tcb!.checks), []);
      assert.equal(r.tcb!.evaluation!.status, "OutOfDate");
      assert.equal(r.tcb!.evaluation!.relaunchAdvised, advised);
    });
  }
  it("no relaunch advice when the SGX side is out of date, or the module is not what is out of date", async () => {
    const td15 = (t: TdReportBody): TdReportBody => ({
      ...t,
      kind: "td15",
      teeTcbSvn2: tdx(8, 1),
      mrServiceTd: new Uint8Array(48),
    });
    const sgxOld = await runFake({
      ...moduleOutOfDate,
      collateral: {
        tcbInfo: { ...moduleOutOfDate.collateral.tcbInfo, levels: [{ status: "OutOfDate" }] },
      },
      td: td15,
    });
    assert.equal(sgxOld.tcb!.evaluation!.status, "OutOfDate");
    assert.equal(sgxOld.tcb!.evaluation!.relaunchAdvised, false);
    // The SGX side matches the newest level; only the TDX components fall to an OutOfDate level, the module is fine.
    const platformOld = await runFake({
      tee: "tdx",
      collateral: {
        tcbInfo: {
          levels: [
            { tdx: [6, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] },
            { status: "OutOfDate" },
          ],
        },
      },
      td: td15,
    });
    assert.equal(platformOld.tcb!.evaluation!.status, "OutOfDate");
    assert.equal(platformOld.tcb!.evaluation!.relaunchAdvised, false);
  });
  it("an unknown TEE_TCB_SVN_2 module version is a TDX module mismatch", async () => {
    const r = await runFake({
      ...moduleOutOfDate,
      td: (t) => ({ ...t, kind: "td15", teeTcbSvn2: tdx(9, 5), mrServiceTd: new Uint8Array(48) }),
    });
    assert.deepEqual(failures(r.tcb!.checks), [["dcap.tcb.relaunch", "dcap.tcb.tdx_module"]]);
    assert.equal(r.tcb!.evaluation, null);
  });
  it("no relaunch advice while the QE is out of date or the module is fine", async () => {
    const qeOld = await runFake({
      ...moduleOutOfDate,
      collateral: {
        ...moduleOutOfDate.collateral,
        qeIdentity: { levels: [{ isvSvn: 9, status: "OutOfDate" }] },
      },
      td: (t) => ({ ...t, kind: "td15", teeTcbSvn2: tdx(8, 1), mrServiceTd: new Uint8Array(48) }),
    });
    assert.equal(qeOld.tcb!.evaluation!.relaunchAdvised, false);
    const fine = await runFake({
      tee: "tdx",
      td: (t) => ({ ...t, kind: "td15", teeTcbSvn2: tdx(8, 1), mrServiceTd: new Uint8Array(48) }),
    });
    assert.equal(fine.tcb!.evaluation!.status, "UpToDate");
    assert.equal(fine.tcb!.evaluation!.relaunchAdvised, false);
  });
});

describe("negative table: the failed check and its code", () => {
  const OTHER = "AB".repeat(32);
  const cases: [string, FakeCase, [string, string][]][] = [
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
      "SGX TCB Info for a TDX quote",
      { tee: "tdx", collateral: { tee: "sgx" } },
      [
        ["dcap.tcb.tcb_info_id", "dcap.collateral.id"],
        ["dcap.tcb.qe_identity_id", "dcap.collateral.id"],
      ],
    ],
    [
      "TDX TCB Info for an SGX quote",
      { tee: "sgx", collateral: { tee: "tdx", qeIdentity: { id: "QE" } } },
      [["dcap.tcb.tcb_info_id", "dcap.collateral.id"]],
    ],
    [
      "QE Identity TD_QE for an SGX quote",
      { collateral: { qeIdentity: { id: "TD_QE" } } },
      [["dcap.tcb.qe_identity_id", "dcap.collateral.id"]],
    ],
    [
      "QE MRSIGNER mismatch",
      { collateral: { qeIdentity: { mrsigner: OTHER } } },
      [["dcap.tcb.qe_identity.mrsigner", "dcap.tcb.qe_identity"]],
    ],
    [
      "QE ISVPRODID mismatch",
      { collateral: { qeIdentity: { isvProdId: 2 } } },
      [["dcap.tcb.qe_identity.isvprodid", "dcap.tcb.qe_identity"]],
    ],
    [
      "QE MISCSELECT mismatch (masked)",
      { collateral: { qeIdentity: { miscselect: "01000000" } } },
      [["dcap.tcb.qe_identity.miscselect", "dcap.tcb.qe_identity"]],
    ],
    [
      "QE ATTRIBUTES mismatch (masked)",
      { collateral: { qeIdentity: { attributes: "13000000000000000000000000000000" } } },
      [["dcap.tcb.qe_identity.attributes", "dcap.tcb.qe_identity"]],
    ],
    [
      "QE ISVSVN below every level",
      { collateral: { qeIdentity: { levels: [{ isvSvn: 10 }] } } },
      [["dcap.tcb.qe_level", "dcap.tcb.not_supported"]],
    ],
    [
      "platform below every SGX level",
      { collateral: { tcbInfo: { levels: [{ sgx: HIGHER }] } } },
      [["dcap.tcb.level", "dcap.tcb.not_supported"]],
    ],
    [
      "TDX: no level with matching TDX components",
      {
        tee: "tdx",
        collateral: {
          tcbInfo: { levels: [{ tdx: [6, 1, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] }] },
        },
      },
      [["dcap.tcb.level", "dcap.tcb.not_supported"]],
    ],
    [
      "TDX: module SVN below every TDX_01 level",
      {
        tee: "tdx",
        collateral: {
          tcbInfo: { tdxModuleIdentities: [{ id: "TDX_01", levels: [{ isvSvn: 7 }] }] },
        },
      },
      [["dcap.tcb.level", "dcap.tcb.not_supported"]],
    ],
    [
      "TDX: no identity TDX_01",
      {
        tee: "tdx",
        collateral: {
          tcbInfo: { tdxModuleIdentities: [{ id: "TDX_03", levels: [{ isvSvn: 1 }] }] },
        },
      },
      [["dcap.tcb.tdx_module", "dcap.tcb.tdx_module"]],
    ],
    [
      "TDX: no tdxModuleIdentities at all for module version 1",
      { tee: "tdx", collateral: { tcbInfo: { tdxModuleIdentities: null } } },
      [["dcap.tcb.tdx_module", "dcap.tcb.tdx_module"]],
    ],
    [
      "TDX: MRSIGNERSEAM mismatch",
      {
        tee: "tdx",
        collateral: {
          tcbInfo: {
            tdxModuleIdentities: [
              { id: "TDX_01", mrsigner: "11".repeat(48), levels: [{ isvSvn: 6 }] },
            ],
          },
        },
      },
      [["dcap.tcb.tdx_module", "dcap.tcb.tdx_module"]],
    ],
    [
      "TDX: SEAMATTRIBUTES mismatch",
      { tee: "tdx", td: (t) => ({ ...t, seamAttributes: Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 0) }) },
      [["dcap.tcb.tdx_module", "dcap.tcb.tdx_module"]],
    ],
  ];
  for (const [name, c, want] of cases) {
    it(name, async () => {
      const r = await runFake(c);
      assert.deepEqual(failures(r.verified.checks), []);
      assert.equal(r.tcb!.ok, false);
      assert.equal(r.tcb!.evaluation, null);
      assert.deepEqual(failures(r.tcb!.checks), want);
      for (const f of r.tcb!.checks.filter((x) => !x.ok)) {
        assert.ok(f.expected && f.actual && f.remedy, `${f.id} says expected, actual and remedy`);
      }
    });
  }
  it("a TDX quote without its TD report", async () => {
    const r = await runFake({ tee: "tdx" });
    const res = evaluateTcb({
      tee: "tdx",
      tcbInfo: r.verified.tcbInfo!,
      qeIdentity: r.verified.qeIdentity!,
      pck: parsePckExtensions(r.quote.pckChain[0]!),
      qeReport: r.quote.qeReport,
    });
    assert.deepEqual(failures(res.checks), [["dcap.tcb.tdx_module", "dcap.tcb.tdx_module"]]);
  });
});
