/**
 * attestSnp: every SNP entry of ../shared/vectors/index.json gives its
 * documented result at its documented time; the claims of a real report are
 * pinned by a committed JSON fixture; bad evidence gives a verdict, bad
 * options throw; collateral from an offline bundle, including what is missing.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { OptionsError } from "../error.ts";
import type { Check } from "../verdict.ts";
import { parseSnpReport } from "./abi.ts";
import { attestSnp, type SnpVerdict, snpClaims } from "./attest.ts";
import { createOfflineKds, parseCollateral } from "./collateral.ts";
import type { SnpRootSet } from "./roots/amd.ts";
import { readVector, VECTORS_DIR } from "./vectors.test.ts";
import { createSnpVerifier } from "./verify.ts";

const FIXTURES = path.resolve(import.meta.dirname, "../../test/fixtures");
const NOW = new Date("2026-11-27T00:00:00Z");

interface IndexEntry {
  id: string;
  tool: string;
  attime: string;
  args: string[];
  expect_ok?: string[];
  expect_fail?: string[];
}

const INDEX = (
  JSON.parse(fs.readFileSync(path.join(VECTORS_DIR, "index.json"), "utf8")) as IndexEntry[]
).filter((e) => e.tool === "snp");

/** index.json's check names → the ids of attestSnp's checks that decide them. */
const CHECK_IDS: Record<string, (id: string) => boolean> = {
  report_signature: (id) => id === "snp.verify.report_signature",
  vcek_tcb_matches_reported_tcb: (id) => id.startsWith("snp.verify.tcb."),
  signing_key_field_vs_cert: (id) => id === "snp.verify.signing_key",
  ark_self_signed: (id) => id === "snp.verify.chain.ark",
  // openssl verify at the documented time: the chain and every validity window.
  vcek_chain_openssl_verify: (id) =>
    id.startsWith("snp.verify.chain.") ||
    id.startsWith("snp.verify.validity.") ||
    id === "snp.verify.certificate",
  vcek_hwid_matches_chip_id: (id) => id === "snp.verify.hwid",
  crl_signed_by_ark: (id) => id === "snp.verify.crl.signature",
  crl_current_at_attime: (id) => id === "snp.verify.crl.fresh",
  // The verifier checks revocation of the certificates in the chain it built;
  // when the chain fails (genoa-crl-vs-genoa-ark) the CRL signature is what is left to check.
  "SEV-Milan_not_revoked": (id) => id === "snp.verify.crl.revoked.ask",
  "SEV-Genoa_not_revoked": (id) =>
    id === "snp.verify.crl.revoked.ask" || id === "snp.verify.crl.signature",
};

function flag(args: string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) if (args[i] === name) out.push(args[i + 1]!);
  return out;
}

/** The trust anchors index.json's `--chain` names: its ARK and its ASK or ASVK. */
function rootsOf(chainFile: string): SnpRootSet[] {
  const certs = parseCollateral([readVector(chainFile)]).certificates;
  const ark = certs.find((c) => c.role === "ark")!;
  const set: SnpRootSet = { product: ark.product!, ark: ark.der };
  for (const c of certs) {
    if (c.role === "ask") set.ask = c.der;
    if (c.role === "asvk") set.asvk = c.der;
  }
  return [set];
}

function decided(checks: Check[], name: string): Check[] {
  const match = CHECK_IDS[name];
  assert.ok(match, `no mapping for index.json check ${name}`);
  return checks.filter((c) => match(c.id));
}

describe("attestSnp over index.json", () => {
  for (const e of INDEX) {
    it(`${e.id} at ${e.attime}`, async () => {
      const chain = flag(e.args, "--chain")[0]!;
      const v = await attestSnp(readVector(e.args[0]!), {
        now: new Date(e.attime),
        endorsementKey: readVector(flag(e.args, "--vcek")[0]!),
        crls: flag(e.args, "--crl").map(readVector),
        verifier: createSnpVerifier({ roots: rootsOf(chain) }),
        // milan-v2-gsg is a debug guest: the vectors document verification, not this policy.
        policy: { allowDebug: true },
      });
      const certBroken = v.checks.some((c) => c.id === "snp.verify.certificate" && !c.ok);
      for (const name of e.expect_ok ?? []) {
        const cs = decided(v.checks, name);
        assert.ok(cs.length > 0, `${name}: no check ran`);
        for (const c of cs) assert.ok(c.ok, `${name}: ${c.id} failed: ${c.actual}`);
      }
      for (const name of e.expect_fail ?? []) {
        const cs = decided(v.checks, name);
        // An unparsable certificate stops the checks that need it; that is the failure.
        if (cs.length === 0) assert.ok(certBroken, `${name}: no check ran`);
        else
          assert.ok(
            cs.some((c) => !c.ok),
            `${name}: expected a failure`,
          );
      }
      assert.equal(v.ok, (e.expect_fail ?? []).length === 0, JSON.stringify(failures(v)));
      assert.equal(v.tee, "sev-snp");
    });
  }
});

function failures(v: SnpVerdict): string[] {
  return v.checks.filter((c) => !c.ok).map((c) => `${c.id}:${c.code}: ${c.actual}`);
}

describe("attestSnp", () => {
  const virtee = () => readVector("snp/milan-v2-virtee/derived/report.bin");
  const virteeVcek = () => readVector("snp/milan-v2-virtee/vcek_milan.der");

  it("claims of milan-v2-virtee match the committed fixture (the documented shape)", async () => {
    const v = await attestSnp(virtee(), { now: NOW, endorsementKey: virteeVcek() });
    assert.equal(v.ok, true, JSON.stringify(failures(v)));
    const want = JSON.parse(
      fs.readFileSync(path.join(FIXTURES, "claims-milan-v2-virtee.json"), "utf8"),
    ) as unknown;
    assert.deepEqual(JSON.parse(JSON.stringify(v.claims)), want);
  });

  it("runs parse, verify and validate in that order and reports the missing CRL as a warning", async () => {
    const v = await attestSnp(virtee(), { now: NOW, endorsementKey: virteeVcek() });
    const ids = v.checks.map((c) => c.id);
    assert.equal(ids[0], "snp.parse");
    const firstVerify = ids.findIndex((id) => id.startsWith("snp.verify."));
    const firstValidate = ids.findIndex((id) => id.startsWith("snp.validate."));
    assert.ok(firstVerify > 0 && firstValidate > firstVerify, ids.join(", "));
    assert.deepEqual(
      v.warnings.map((c) => c.code),
      ["snp.verify.crl_unavailable"],
    );
  });

  it("requireCrl turns the missing CRL into a failure", async () => {
    const v = await attestSnp(virtee(), {
      now: NOW,
      endorsementKey: virteeVcek(),
      requireCrl: true,
    });
    assert.equal(v.ok, false);
    assert.deepEqual(
      v.checks.filter((c) => !c.ok).map((c) => c.code),
      ["snp.verify.crl_unavailable"],
    );
  });

  it("collects verify and validate failures together", async () => {
    const v = await attestSnp(readVector("snp/milan-v2-gsg/attestation.bin"), {
      now: NOW,
      endorsementKey: readVector("snp/milan-v2-gsg/vcek.testcer"),
      policy: { vmpl: 1 },
    });
    assert.deepEqual(
      v.checks.filter((c) => !c.ok).map((c) => c.code),
      ["snp.validate.debug", "snp.validate.vmpl"],
    );
    for (const c of v.checks.filter((x) => !x.ok)) assert.ok(c.expected && c.actual && c.remedy);
  });

  it("allowedCspIds reaches the verifier; the VLEK's cspID is a claim", async () => {
    const run = (allowedCspIds: string[]) =>
      attestSnp(readVector("snp/milan-v3-vlek-aws-trustee/test-vlek-report.bin"), {
        now: new Date("2025-06-01T00:00:00Z"),
        endorsementKey: readVector("snp/milan-v3-vlek-aws-trustee/test-vlek.der"),
        allowedCspIds,
      });
    const good = await run(["CN=cc-us-east-2.amazonaws.com"]);
    assert.equal(good.ok, true, JSON.stringify(failures(good)));
    assert.equal(good.claims?.signing_key.csp_id, "CN=cc-us-east-2.amazonaws.com");
    const other = await run(["CN=elsewhere.example"]);
    assert.deepEqual(
      other.checks.filter((c) => !c.ok).map((c) => c.code),
      ["snp.verify.csp_id"],
    );
  });

  const bad: [string, Uint8Array, string][] = [
    ["empty", new Uint8Array(0), "snp.report.size"],
    ["garbage", new TextEncoder().encode("not a report\n"), "snp.report.size"],
    ["one byte short", virtee().subarray(0, 1183), "snp.report.size"],
    ["trailing byte", new Uint8Array([...virtee(), 0]), "snp.report.size"],
    [
      "unknown version",
      (() => {
        const b = virtee().slice();
        b[0] = 9;
        return b;
      })(),
      "snp.report.version",
    ],
  ];
  for (const [name, bytes, code] of bad) {
    it(`bad evidence (${name}) gives a verdict with ${code}, no throw`, async () => {
      const v = await attestSnp(bytes, { now: NOW, endorsementKey: virteeVcek() });
      assert.equal(v.ok, false);
      assert.equal(v.claims, null);
      assert.deepEqual(
        v.checks.map((c) => [c.id, c.code]),
        [["snp.parse", code]],
      );
      assert.ok(v.checks[0]!.remedy);
    });
  }

  it("throws OptionsError for bad options only", async () => {
    const bytes = virtee();
    await assert.rejects(attestSnp(bytes, {} as never), OptionsError);
    await assert.rejects(attestSnp(bytes, { now: new Date("nope") }), OptionsError);
    await assert.rejects(
      attestSnp(bytes, {
        now: NOW,
        endorsementKey: virteeVcek(),
        policy: { measurements: ["abcd"] },
      }),
      OptionsError,
    );
    await assert.rejects(
      attestSnp(bytes, { now: NOW, policy: { bogus: true } as never }),
      OptionsError,
    );
  });

  it("without a certificate or a source: a failed check saying what to pass", async () => {
    const v = await attestSnp(readVector("snp/genoa-v3-azure-trustee/derived/report.bin"), {
      now: NOW,
    });
    assert.equal(v.ok, false);
    const c = v.checks.find((x) => x.id === "snp.collateral.endorsement_key")!;
    assert.equal(c.code, "snp.collateral.missing");
    assert.match(c.actual!, /--collateral FILE/);
    assert.ok(v.claims);
  });

  describe("the product of a version 2 report", () => {
    const pem = (der: Uint8Array) =>
      `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString("base64")}\n-----END CERTIFICATE-----\n`;

    it("from a PEM certificate's productName, given as text", async () => {
      const v = await attestSnp(virtee(), { now: NOW, endorsementKey: pem(virteeVcek()) });
      assert.equal(v.ok, true, JSON.stringify(failures(v)));
      assert.equal(v.claims?.product, "Milan");
    });

    it("from options.product, which wins", async () => {
      const v = await attestSnp(virtee(), {
        now: NOW,
        endorsementKey: virteeVcek(),
        product: "Genoa",
      });
      assert.equal(v.claims?.product, "Genoa");
      assert.ok(v.checks.some((c) => c.id === "snp.verify.product" && !c.ok));
    });

    it("a certificate without productName: its CN (ARK-Milan) is the hint", async () => {
      const ark = parseCollateral([readVector("snp/milan-v2-virtee/ark.pem")]).certificates[0]!;
      const v = await attestSnp(virtee(), { now: NOW, endorsementKey: ark.der });
      assert.equal(v.claims?.product, "Milan");
      assert.equal(v.ok, false);
    });

    it("an unreadable certificate gives no hint: the parse check says product_required", async () => {
      const v = await attestSnp(virtee(), { now: NOW, endorsementKey: new Uint8Array([1, 2, 3]) });
      assert.deepEqual(
        v.checks.map((c) => c.code),
        ["snp.report.product_required"],
      );
    });

    it("a Turin VCEK for a v2 report: parsed with Turin's layout, which it breaks", async () => {
      const v = await attestSnp(virtee(), {
        now: NOW,
        endorsementKey: readVector("snp/turin-v5-oak/derived/vcek.der"),
      });
      assert.deepEqual(
        v.checks.map((c) => c.code),
        ["snp.report.reserved"],
      );
    });

    it("a broken v2 report with only collateral: the parser's finding, not product_required", async () => {
      const bytes = virtee().slice();
      bytes[0x1f8] = 1; // LAUNCH_MIT_VECTOR: reserved before v5
      const v = await attestSnp(bytes, {
        now: NOW,
        collateral: createOfflineKds(
          parseCollateral([readVector("snp/milan-v2-virtee/vcek_milan.der")]),
        ),
      });
      assert.deepEqual(
        v.checks.map((c) => c.code),
        ["snp.report.reserved"],
      );
    });
  });

  it("snpClaims: the claims of a parsed report without a certificate", async () => {
    const v = await attestSnp(virtee(), { now: NOW, endorsementKey: virteeVcek() });
    const plain = snpClaims(parseSnpReport(virtee(), { product: "Milan" }));
    assert.deepEqual(plain, {
      ...v.claims,
      signing_key: {
        kind: "vcek",
        subject: null,
        issuer: null,
        serial_number: null,
        product_name: null,
        csp_id: null,
        not_before: null,
        not_after: null,
      },
    });
  });

  it("a masked (all-zero) CHIP_ID cannot be looked up: the check says why", async () => {
    const bytes = readVector("snp/genoa-v3-azure-trustee/derived/report.bin").slice();
    bytes.fill(0, 0x1a0, 0x1e0);
    const v = await attestSnp(bytes, {
      now: NOW,
      collateral: createOfflineKds(
        parseCollateral([readVector("snp/genoa-v3-azure-trustee/vcek-genoa.pem")]),
      ),
    });
    const c = v.checks.find((x) => x.id === "snp.collateral.endorsement_key")!;
    assert.equal(c.code, "snp.collateral.missing");
    assert.match(c.actual!, /all zero/);
  });

  describe("collateral from an offline bundle", () => {
    const bundle = (...files: string[]) =>
      createOfflineKds(parseCollateral(files.map((f) => ({ name: f, data: readVector(f) }))));

    it("finds the VCEK by chip id and TCB, and a v2 report's product by it", async () => {
      const v = await attestSnp(virtee(), {
        now: NOW,
        collateral: bundle("snp/milan-v2-virtee/vcek_milan.der", "snp/milan-v2-virtee/ask.pem"),
      });
      assert.equal(v.ok, true, JSON.stringify(failures(v)));
      assert.equal(v.claims?.signing_key.product_name, "Milan-B0");
      // No CRL in the bundle: the warning says where to fetch it.
      assert.equal(v.warnings.length, 1);
      assert.match(v.warnings[0]!.actual!, /kdsintf\.amd\.com\/vcek\/v1\/Milan\/crl/);
    });

    it("checks the CRL the bundle has", async () => {
      const v = await attestSnp(readVector("snp/milan-v2-steward-crl/derived/report.bin"), {
        now: new Date("2022-12-01T00:00:00Z"),
        collateral: bundle(
          "snp/milan-v2-steward-crl/derived/vcek.der",
          "snp/milan-v2-steward-crl/derived/crl_milan.der",
        ),
      });
      assert.equal(v.ok, true, JSON.stringify(failures(v)));
      assert.deepEqual(v.warnings, []);
      assert.ok(v.checks.some((c) => c.id === "snp.verify.crl.revoked.ask" && c.ok));
    });

    it("a missing VCEK is named with its KDS URL (v3 report)", async () => {
      const v = await attestSnp(readVector("snp/genoa-v3-azure-trustee/derived/report.bin"), {
        now: NOW,
        collateral: bundle("snp/genoa-v3-azure-trustee/ask_ark_genoa.pem"),
      });
      assert.equal(v.ok, false);
      const c = v.checks.find((x) => !x.ok)!;
      assert.equal(c.id, "snp.collateral.endorsement_key");
      assert.equal(c.code, "snp.collateral.missing");
      assert.match(
        c.actual!,
        /no VCEK for Genoa chip 0x0506ffba.*kdsintf\.amd\.com\/vcek\/v1\/Genoa\//,
      );
    });

    it("a missing VCEK of a v2 report names both products it could be", async () => {
      const v = await attestSnp(virtee(), {
        now: NOW,
        collateral: bundle("snp/milan-v2-virtee/ask.pem"),
      });
      const c = v.checks.find((x) => !x.ok)!;
      assert.equal(c.code, "snp.collateral.missing");
      assert.match(c.actual!, /no VCEK for Milan chip .*; no VCEK for Genoa chip/);
      assert.ok(v.claims, "the report parsed");
    });

    it("a VLEK is never fetched: the check says to pass it", async () => {
      const v = await attestSnp(readVector("snp/milan-v3-vlek-aws-trustee/test-vlek-report.bin"), {
        now: new Date("2025-06-01T00:00:00Z"),
        collateral: bundle("snp/milan-v3-vlek-aws-trustee/ask_ark_milan_vlek.pem"),
      });
      const c = v.checks.find((x) => !x.ok)!;
      assert.equal(c.code, "snp.collateral.missing");
      assert.match(c.actual!, /VLEK/);
    });

    it("a chain that reaches no root names the certificate the bundle lacks", async () => {
      const v = await attestSnp(virtee(), {
        now: NOW,
        endorsementKey: virteeVcek(),
        verifier: createSnpVerifier({ roots: rootsOf("roots/amd/ask_ark_genoa.pem") }),
        collateral: bundle("snp/milan-v2-virtee/vcek_milan.der"),
      });
      const c = v.checks.find((x) => x.id === "snp.collateral.chain");
      assert.ok(c, JSON.stringify(failures(v)));
      assert.equal(c.code, "snp.collateral.missing");
      assert.match(c.actual!, /ARK-Milan/);
    });
  });
});

it("README's claims example is the fixture", () => {
  const readme = fs.readFileSync(path.resolve(import.meta.dirname, "../../README.md"), "utf8");
  const block = /### Claims[\s\S]*?```json\n([\s\S]*?)```/.exec(readme);
  assert.ok(block, "no json block under ### Claims");
  const fixture = fs.readFileSync(path.join(FIXTURES, "claims-milan-v2-virtee.json"), "utf8");
  assert.deepEqual(JSON.parse(block[1]!), JSON.parse(fixture));
});
