/**
 * The tamper table over real reports: one bit flipped in each field of the
 * ATTESTATION_REPORT, and the whole pipeline (parse, then verify) must reject
 * it — the parser where the field has a structural rule (version, algorithm,
 * reserved bits, CPUID), the report signature everywhere else.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { EvidenceError } from "../error.ts";
import { parseSnpReport, SNP_REPORT_FIELDS } from "./abi.ts";
import type { SnpProduct } from "./types.ts";
import { createSnpVerifier } from "./verify.ts";

const V = path.resolve(import.meta.dirname, "../../../../../shared/vectors");
const read = (p: string) => new Uint8Array(fs.readFileSync(path.join(V, p)));
const NOW = new Date("2026-11-27T00:00:00Z");

const VECTORS: { name: string; report: string; vcek: string; product?: SnpProduct }[] = [
  {
    name: "milan v2",
    report: "snp/milan-v2-virtee/derived/report.bin",
    vcek: "snp/milan-v2-virtee/vcek_milan.der",
    product: "Milan",
  },
  {
    name: "milan v5",
    report: "snp/milan-v5-gcp-teekit/sev-gcp.bin",
    vcek: "snp/milan-v5-gcp-teekit/sev-gcp-vcek.pem",
  },
  {
    name: "turin v5",
    report: "snp/turin-v5-oak/derived/report.bin",
    vcek: "snp/turin-v5-oak/derived/vcek.der",
  },
];

/**
 * Fields whose every value is checked by the parser itself, and the codes it
 * may give. VERSION 2 flipped is 3, a known version whose CPUID bytes are then
 * zero, hence the CPUID code.
 */
const PARSER_CODES: Partial<Record<keyof typeof SNP_REPORT_FIELDS, string[]>> = {
  VERSION: ["snp.report.version", "snp.report.cpuid"],
  SIGNATURE_ALGO: ["snp.report.signature_algo"],
};

const verifier = createSnpVerifier();

for (const v of VECTORS) {
  describe(`tamper table: ${v.name}`, () => {
    const good = read(v.report);
    const vcek = read(v.vcek);

    it("the untouched report verifies (so every failure below is the flip's)", async () => {
      const res = await verifier.verify(
        parseSnpReport(good, v.product ? { product: v.product } : {}),
        {
          now: NOW,
          endorsementKey: vcek,
        },
      );
      assert.deepEqual(
        res.checks.filter((c) => !c.ok && c.severity !== "warning").map((c) => c.id),
        [],
      );
    });

    for (const [field, { offset }] of Object.entries(SNP_REPORT_FIELDS)) {
      it(`a flipped bit in ${field} (0x${offset.toString(16)}) is rejected`, async () => {
        const bad = good.slice();
        bad[offset]! ^= 0x01;
        let report: ReturnType<typeof parseSnpReport>;
        try {
          report = parseSnpReport(bad, v.product ? { product: v.product } : {});
        } catch (e) {
          assert.ok(e instanceof EvidenceError, `parser threw ${String(e)}`);
          const want = PARSER_CODES[field as keyof typeof SNP_REPORT_FIELDS];
          if (want) assert.ok(want.includes(e.code), `${e.code} is not one of ${want.join(", ")}`);
          else assert.match(e.code, /^snp\.report\./);
          return;
        }
        assert.equal(
          PARSER_CODES[field as keyof typeof SNP_REPORT_FIELDS],
          undefined,
          "the parser should have refused it",
        );
        const res = await verifier.verify(report, { now: NOW, endorsementKey: vcek });
        assert.equal(res.ok, false);
        const sig = res.checks.find((c) => c.id === "snp.verify.report_signature");
        assert.equal(sig?.ok, false, "the report signature must fail");
        assert.equal(sig?.code, "snp.verify.report_signature");
      });
    }
  });
}
