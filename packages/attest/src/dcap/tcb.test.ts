/** TCB evaluation: every real vector's documented status and advisories, then the algorithm's branches on crafted TCB Info. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DCAP_VECTORS, INTEL_ROOT_DER, vectorFile, vectorQuote } from "./_test_dcap_vectors.ts";
import { createDcapCollateralVerifier } from "./collateral.ts";
import { offlineCollateral } from "./pcs.ts";
import { evaluateTcb } from "./tcb.ts";

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
      assert.equal(r.evaluation?.qe.status, "UpToDate");
      assert.equal(r.evaluation?.relaunchAdvised, false);
    });
  }
});
