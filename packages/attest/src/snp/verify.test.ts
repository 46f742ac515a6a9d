/**
 * verify.ts against every real vector of ../shared/vectors/snp at its
 * documented verification time (README.md, index.json), the tampered
 * variants, a negative table over decoded reports, and a fake AMD hierarchy
 * for what real vectors cannot show (revoked ASK, a pinned ARK that is not
 * self-signed).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as x509 from "../_x509.ts";
import { parseSnpReport } from "./abi.ts";
import { AMD_SNP_ROOTS, type SnpRootSet } from "./roots/amd.ts";
import { ARK_GENOA, ASK_GENOA } from "./roots/genoa.ts";
import { ARK_MILAN, ASK_MILAN, ASVK_MILAN } from "./roots/milan.ts";
import type { SnpProduct, SnpReport } from "./types.ts";
import {
  createSnpVerifier,
  type SnpVerifyOptions,
  type SnpVerifyResult,
  verifySnpReport,
} from "./verify.ts";

const V = path.resolve(import.meta.dirname, "../../../../../shared/vectors");
const read = (p: string) => new Uint8Array(fs.readFileSync(path.join(V, p)));
const text = (p: string) => fs.readFileSync(path.join(V, p), "utf8");
const at = (iso: string) => new Date(iso);
const NOW = at("2026-11-27T00:00:00Z");

function report(p: string, product?: SnpProduct): SnpReport {
  return parseSnpReport(read(p), product ? { product } : {});
}

/** The PEM blocks of a chain file (ASK/ASVK first, ARK second). */
function pemBlocks(p: string): string[] {
  return [...text(p).matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map(
    (m) => m[0],
  );
}

/** Ids of failed checks (severity error), sorted. */
function failed(r: SnpVerifyResult): string[] {
  return r.checks
    .filter((c) => !c.ok)
    .map((c) => `${c.id}:${c.code}`)
    .sort();
}

function check(r: SnpVerifyResult, id: string) {
  const c = r.checks.find((x) => x.id === id);
  assert.ok(c, `no check ${id} in ${r.checks.map((x) => x.id).join(", ")}`);
  return c;
}

const verifier = createSnpVerifier();

interface Valid {
  name: string;
  report: string;
  product?: SnpProduct;
  cert: string;
  chain?: string;
  now: Date;
  rootProduct: SnpProduct;
  kind: "vcek" | "vlek";
}

const VALID: Valid[] = [
  {
    name: "milan-v2-gsg",
    report: "snp/milan-v2-gsg/attestation.bin",
    product: "Milan",
    cert: "snp/milan-v2-gsg/vcek.testcer",
    chain: "snp/milan-v2-gsg/ask_ark_milan.pem",
    now: NOW,
    rootProduct: "Milan",
    kind: "vcek",
  },
  {
    name: "milan-v2-virtee",
    report: "snp/milan-v2-virtee/derived/report.bin",
    product: "Milan",
    cert: "snp/milan-v2-virtee/vcek_milan.der",
    now: NOW,
    rootProduct: "Milan",
    kind: "vcek",
  },
  {
    name: "milan-v3-vlek-aws-trustee",
    report: "snp/milan-v3-vlek-aws-trustee/test-vlek-report.bin",
    cert: "snp/milan-v3-vlek-aws-trustee/test-vlek.der",
    chain: "snp/milan-v3-vlek-aws-trustee/ask_ark_milan_vlek.pem",
    now: at("2025-06-01T00:00:00Z"),
    rootProduct: "Milan",
    kind: "vlek",
  },
  {
    name: "genoa-v3-azure-trustee",
    report: "snp/genoa-v3-azure-trustee/derived/report.bin",
    cert: "snp/genoa-v3-azure-trustee/vcek-genoa.pem",
    chain: "snp/genoa-v3-azure-trustee/ask_ark_genoa.pem",
    now: NOW,
    rootProduct: "Genoa",
    kind: "vcek",
  },
  {
    name: "genoa-v3-siena-trustee-e2e",
    report: "snp/genoa-v3-siena-trustee-e2e/derived/report.bin",
    cert: "snp/genoa-v3-siena-trustee-e2e/derived/vcek.der",
    now: NOW,
    rootProduct: "Genoa",
    kind: "vcek",
  },
  {
    name: "milan-v5-gcp-teekit",
    report: "snp/milan-v5-gcp-teekit/sev-gcp.bin",
    cert: "snp/milan-v5-gcp-teekit/sev-gcp-vcek.pem",
    chain: "snp/milan-v5-gcp-teekit/sev-gcp-cert-chain.pem",
    now: NOW,
    rootProduct: "Milan",
    kind: "vcek",
  },
  {
    name: "milan-v5-gcp-teekit#reportdata",
    report: "snp/milan-v5-gcp-teekit/sev-gcp-reportdata.bin",
    cert: "snp/milan-v5-gcp-teekit/sev-gcp-vcek.pem",
    now: NOW,
    rootProduct: "Milan",
    kind: "vcek",
  },
  {
    name: "turin-v5-oak",
    report: "snp/turin-v5-oak/derived/report.bin",
    cert: "snp/turin-v5-oak/derived/vcek.der",
    chain: "snp/turin-v5-oak/ask_ark_turin_vcek.pem",
    now: NOW,
    rootProduct: "Turin",
    kind: "vcek",
  },
];

describe("real vectors, valid at their documented time", () => {
  for (const v of VALID) {
    it(v.name, async () => {
      const r = await verifier.verify(report(v.report, v.product), {
        now: v.now,
        endorsementKey: read(v.cert),
        // The chain shipped with the evidence: its ASK may be used, its ARK never anchors.
        intermediates: v.chain ? pemBlocks(v.chain) : [],
      });
      assert.deepEqual(failed(r), []);
      assert.equal(r.ok, true);
      assert.equal(r.rootProduct, v.rootProduct);
      assert.equal(r.endorsement?.kind, v.kind);
      const ids = r.checks.map((c) => c.id);
      for (const id of [
        "snp.verify.signing_key",
        "snp.verify.report_signature",
        `snp.verify.chain.${v.kind}`,
        `snp.verify.chain.${v.kind === "vcek" ? "ask" : "asvk"}`,
        "snp.verify.chain.ark",
        "snp.verify.product",
        "snp.verify.tcb.bootloader",
        "snp.verify.tcb.tee",
        "snp.verify.tcb.snp",
        "snp.verify.tcb.microcode",
        `snp.verify.validity.${v.kind}`,
        "snp.verify.validity.ark",
      ])
        assert.ok(ids.includes(id), `${id} did not run`);
      assert.equal(ids.includes("snp.verify.hwid"), v.kind === "vcek");
      assert.equal(ids.includes("snp.verify.tcb.fmc"), v.rootProduct === "Turin");
      const crl = check(r, "snp.verify.crl");
      assert.equal(crl.code, "snp.verify.crl_unavailable");
      assert.equal(crl.severity, "warning");
      assert.equal(crl.ok, true);
    });
  }
});

const STEWARD = "snp/milan-v2-steward-crl/derived";
const stewardReport = () => report(`${STEWARD}/report.bin`, "Milan");
const steward = (
  now: Date,
  crls: SnpVerifyOptions["crls"],
  extra: Partial<SnpVerifyOptions> = {},
) =>
  verifier.verify(stewardReport(), {
    now,
    endorsementKey: read(`${STEWARD}/vcek.der`),
    crls,
    ...extra,
  });

describe("milan-v2-steward-crl: the AMD CRLs", () => {
  it("valid including the CRL at 2022-12-01 and 2023-01-01", async () => {
    for (const now of [at("2022-12-01T00:00:00Z"), at("2023-01-01T00:00:00Z")]) {
      const r = await steward(now, [read(`${STEWARD}/crl_milan.der`)], { requireCrl: true });
      assert.deepEqual(failed(r), []);
      for (const id of [
        "snp.verify.crl.issuer",
        "snp.verify.crl.signature",
        "snp.verify.crl.fresh",
        "snp.verify.crl.revoked.ask",
      ])
        assert.equal(check(r, id).ok, true, id);
    }
  });

  it("stale after nextUpdate 2023-05-09T23:00Z; the signature and chain still verify", async () => {
    for (const now of [at("2023-05-10T00:00:00Z"), NOW]) {
      const r = await steward(now, [read(`${STEWARD}/crl_milan.der`)]);
      assert.deepEqual(failed(r), ["snp.verify.crl.fresh:snp.verify.crl_stale"]);
      assert.equal(check(r, "snp.verify.crl.signature").ok, true);
      assert.match(check(r, "snp.verify.crl.fresh").actual!, /nextUpdate 2023-05-09T23:00:00/);
    }
  });

  it("not yet valid before thisUpdate", async () => {
    const r = await steward(at("2022-05-01T00:00:00Z"), [read(`${STEWARD}/crl_milan.der`)]);
    assert.ok(failed(r).includes("snp.verify.crl.fresh:snp.verify.crl_not_yet_valid"));
    // The VCEK (2022-09-29 →) is not valid then either.
    assert.ok(failed(r).includes("snp.verify.validity.vcek:snp.verify.not_yet_valid"));
  });

  it("the Genoa CRL is not the Milan chain's: issuer mismatch; with both, the Milan one is used", async () => {
    const now = at("2023-01-01T00:00:00Z");
    const r = await steward(now, [read(`${STEWARD}/crl_genoa.der`)]);
    assert.deepEqual(failed(r), ["snp.verify.crl.issuer:snp.verify.crl_issuer"]);
    assert.match(check(r, "snp.verify.crl.issuer").actual!, /ARK-Genoa/);
    const both = await steward(now, [
      read(`${STEWARD}/crl_genoa.der`),
      read(`${STEWARD}/crl_milan.der`),
    ]);
    assert.deepEqual(failed(both), []);
  });

  it("the Genoa CRL verifies under ARK-Genoa and does not list the current Genoa ASK 020002", async () => {
    const r = await verifier.verify(report("snp/genoa-v3-azure-trustee/derived/report.bin"), {
      now: at("2025-06-01T00:00:00Z"),
      endorsementKey: read("snp/genoa-v3-azure-trustee/vcek-genoa.pem"),
      crls: [der2pem(read(`${STEWARD}/crl_genoa.der`))],
    });
    // Signed by the ARK and not listing 020002, but its nextUpdate (2023-10-31) is long past.
    assert.deepEqual(failed(r), ["snp.verify.crl.fresh:snp.verify.crl_stale"]);
    assert.equal(check(r, "snp.verify.crl.revoked.ask").ok, true);
  });

  it("a CRL that is not a CRL, and CRLs as parsed objects and PEM", async () => {
    const now = at("2023-01-01T00:00:00Z");
    const bad = await steward(now, [new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00])]);
    assert.deepEqual(failed(bad).sort(), [
      "snp.verify.crl.issuer:snp.verify.crl_issuer",
      "snp.verify.crl.parse.0:snp.verify.crl_malformed",
    ]);
    assert.match(check(bad, "snp.verify.crl.issuer").actual!, /no parsable CRL/);
    const obj = await steward(now, [new x509.X509Crl(read(`${STEWARD}/crl_milan.der`))]);
    assert.deepEqual(failed(obj), []);
  });

  it("a tampered CRL fails its signature and revocation is then not judged", async () => {
    const crl = read(`${STEWARD}/crl_milan.der`).slice();
    crl[crl.length - 10]! ^= 0x01; // inside the signature value
    const r = await steward(at("2023-01-01T00:00:00Z"), [crl]);
    assert.deepEqual(failed(r), ["snp.verify.crl.signature:snp.verify.crl_signature"]);
    assert.equal(
      r.checks.some((c) => c.id.startsWith("snp.verify.crl.revoked")),
      false,
    );
  });

  it("no CRL: a warning, or a failure when requireCrl is set", async () => {
    const r = await steward(at("2023-01-01T00:00:00Z"), undefined, { requireCrl: true });
    assert.equal(r.ok, false);
    const c = check(r, "snp.verify.crl");
    assert.deepEqual([c.ok, c.code, c.severity], [false, "snp.verify.crl_unavailable", "error"]);
  });

  it("a CRL when no pinned root serves the report's product", async () => {
    const r = await createSnpVerifier({
      roots: [{ product: "Genoa", ark: ARK_GENOA, ask: ASK_GENOA }],
    }).verify(stewardReport(), {
      now: at("2023-01-01T00:00:00Z"),
      endorsementKey: read(`${STEWARD}/vcek.der`),
      crls: [read(`${STEWARD}/crl_milan.der`)],
    });
    assert.ok(failed(r).includes("snp.verify.crl.issuer:snp.verify.crl_issuer"));
    assert.match(check(r, "snp.verify.crl.issuer").actual!, /ARK-Milan/);
  });

  it("index.json genoa-crl-vs-genoa-ark: the Milan VCEK fails against Genoa, the Genoa CRL verifies under ARK-Genoa", async () => {
    const r = await createSnpVerifier({
      roots: [{ product: "Genoa", ark: ARK_GENOA, ask: ASK_GENOA }],
    }).verify(stewardReport(), {
      now: at("2023-01-01T00:00:00Z"),
      endorsementKey: read(`${STEWARD}/vcek.der`),
      crls: [read(`${STEWARD}/crl_genoa.der`)],
    });
    assert.deepEqual(failed(r), ["snp.verify.chain.vcek:snp.verify.chain"]);
    assert.equal(check(r, "snp.verify.crl.signature").ok, true);
    assert.equal(check(r, "snp.verify.crl.fresh").ok, true);
    assert.equal(
      r.checks.some((c) => c.id === "snp.verify.crl.revoked.vcek"),
      false,
      "the ARK's CRL does not speak for the VCEK",
    );
  });
});

function der2pem(der: Uint8Array, label = "X509 CRL"): string {
  const b64 = Buffer.from(der).toString("base64");
  return `-----BEGIN ${label}-----\n${b64.match(/.{1,64}/g)!.join("\n")}\n-----END ${label}-----\n`;
}

describe("tampered and negative vectors", () => {
  const virtee = () => report("snp/milan-v2-virtee/derived/report.bin", "Milan");
  const virteeVcek = read("snp/milan-v2-virtee/vcek_milan.der");

  it("virtee report byte 21 ^ 0x80: the report signature fails, the chain holds", async () => {
    const r = await verifier.verify(
      report("snp/milan-v2-virtee/tampered/report_b21_xor80.bin", "Milan"),
      { now: NOW, endorsementKey: virteeVcek },
    );
    assert.deepEqual(failed(r), ["snp.verify.report_signature:snp.verify.report_signature"]);
    const c = check(r, "snp.verify.report_signature");
    assert.ok(c.expected && c.actual && c.remedy);
  });

  it("virtee VCEK byte 40 ^ 0xff: the VCEK signature (chain) fails", async () => {
    const r = await verifier.verify(virtee(), {
      now: NOW,
      endorsementKey: read("snp/milan-v2-virtee/tampered/vcek_b40_xorff.der"),
    });
    assert.deepEqual(failed(r), ["snp.verify.chain.vcek:snp.verify.chain"]);
    assert.match(check(r, "snp.verify.chain.vcek").actual!, /signature does not verify/);
  });

  it("the Milan VCEK against the Genoa root only: no chain", async () => {
    const r = await createSnpVerifier({
      roots: [{ product: "Genoa", ark: ARK_GENOA, ask: ASK_GENOA }],
    }).verify(virtee(), {
      now: NOW,
      endorsementKey: virteeVcek,
      intermediates: pemBlocks("roots/amd/ask_ark_genoa.pem"),
    });
    assert.deepEqual(failed(r), ["snp.verify.chain.vcek:snp.verify.chain"]);
    assert.equal(r.rootProduct, null);
  });

  it("a Genoa VCEK against the Milan root only: no chain", async () => {
    const r = await createSnpVerifier({
      roots: [{ product: "Milan", ark: ARK_MILAN, ask: ASK_MILAN }],
    }).verify(report("snp/genoa-v3-azure-trustee/derived/report.bin"), {
      now: NOW,
      endorsementKey: read("snp/genoa-v3-azure-trustee/vcek-genoa.pem"),
    });
    assert.deepEqual(failed(r), ["snp.verify.chain.vcek:snp.verify.chain"]);
    assert.match(check(r, "snp.verify.chain.vcek").actual!, /no ASK with that subject/);
  });

  it("a Genoa ASK shipped with the evidence cannot anchor a Genoa VCEK to a Milan-only trust store", async () => {
    const r = await createSnpVerifier({
      roots: [{ product: "Milan", ark: ARK_MILAN, ask: ASK_MILAN }],
    }).verify(report("snp/genoa-v3-azure-trustee/derived/report.bin"), {
      now: NOW,
      endorsementKey: read("snp/genoa-v3-azure-trustee/vcek-genoa.pem"),
      intermediates: pemBlocks("roots/amd/ask_ark_genoa.pem"),
    });
    assert.deepEqual(failed(r), ["snp.verify.chain.ask:snp.verify.untrusted_root"]);
    assert.equal(r.rootProduct, null);
  });

  const vlekReport = "snp/milan-v3-vlek-aws-trustee/test-vlek-report.bin";
  const vlek = read("snp/milan-v3-vlek-aws-trustee/test-vlek.der");
  const vlekAt = at("2025-06-01T00:00:00Z");

  it("VLEK: expired now (2026-11-27)", async () => {
    const r = await verifier.verify(report(vlekReport), { now: NOW, endorsementKey: vlek });
    assert.deepEqual(failed(r), ["snp.verify.validity.vlek:snp.verify.expired"]);
    assert.match(check(r, "snp.verify.validity.vlek").actual!, /2025-12-10T22:14:21/);
  });

  it("VLEK: checked against the VCEK ASK (as its ASVK) fails", async () => {
    const r = await createSnpVerifier({
      roots: [{ product: "Milan", ark: ARK_MILAN, asvk: ASK_MILAN }],
    }).verify(report(vlekReport), { now: vlekAt, endorsementKey: vlek });
    assert.deepEqual(failed(r), ["snp.verify.chain.vlek:snp.verify.chain"]);
  });

  it("VLEK: report byte 42 + 1 fails the signature", async () => {
    const r = await verifier.verify(
      report("snp/milan-v3-vlek-aws-trustee/tampered/report_b42_plus1.bin"),
      { now: vlekAt, endorsementKey: vlek },
    );
    assert.deepEqual(failed(r), ["snp.verify.report_signature:snp.verify.report_signature"]);
  });

  it("VLEK: report byte 384 + 1 (REPORTED_TCB.bootloader) fails the signature and the TCB", async () => {
    const r = await verifier.verify(
      report("snp/milan-v3-vlek-aws-trustee/tampered/report_b384_plus1.bin"),
      { now: vlekAt, endorsementKey: vlek },
    );
    assert.deepEqual(failed(r), [
      "snp.verify.report_signature:snp.verify.report_signature",
      "snp.verify.tcb.bootloader:snp.verify.tcb",
    ]);
    const c = check(r, "snp.verify.tcb.bootloader");
    assert.equal(c.expected, "VLEK blSPL = REPORTED_TCB.bootloader = 5");
    assert.equal(c.actual, "blSPL = 4");
  });

  for (const f of ["legacy", "new"]) {
    it(`parsing-fixtures-trustee ${f}: extensions parse, the signature and the report fail`, async () => {
      const r = await verifier.verify(virtee(), {
        now: NOW,
        endorsementKey: read(`snp/parsing-fixtures-trustee/test-vcek-invalid-${f}.der`),
      });
      const fails = failed(r);
      assert.ok(fails.includes("snp.verify.chain.vcek:snp.verify.chain"), fails.join());
      assert.ok(fails.includes("snp.verify.report_signature:snp.verify.report_signature"));
      assert.equal(r.ok, false);
      const hw = Array.from({ length: 64 }, (_, i) => i.toString(16).padStart(2, "0")).join("");
      assert.equal(r.endorsement?.hwId, hw);
      assert.equal(r.endorsement?.productName, "Milan-B0");
      if (f === "legacy") assert.equal(r.endorsement?.tcb.microcode, 169);
    });
  }
});

describe("negative table over decoded reports", () => {
  const base = () => report("snp/milan-v2-virtee/derived/report.bin", "Milan");
  const opts = (): SnpVerifyOptions => ({
    now: NOW,
    endorsementKey: read("snp/milan-v2-virtee/vcek_milan.der"),
  });
  const cases: {
    name: string;
    edit?: (r: SnpReport) => SnpReport;
    options?: Partial<SnpVerifyOptions>;
    want: string[];
  }[] = [
    {
      name: "TCB mismatch (microcode)",
      edit: (r) => ({ ...r, reportedTcb: { ...r.reportedTcb, microcode: 200 } }),
      want: ["snp.verify.tcb.microcode:snp.verify.tcb"],
    },
    {
      name: "hwID mismatch",
      edit: (r) => {
        const chipId = r.chipId.slice();
        chipId[63]! ^= 1;
        return { ...r, chipId };
      },
      want: ["snp.verify.hwid:snp.verify.hwid"],
    },
    {
      name: "hwID mismatch with MASK_CHIP_KEY (chip ID zero)",
      edit: (r) => ({ ...r, chipId: new Uint8Array(64), maskChipKey: true }),
      want: ["snp.verify.hwid:snp.verify.hwid"],
    },
    {
      name: "signature: one flipped bit in r",
      edit: (r) => {
        const sr = r.signature.r.slice();
        sr[10]! ^= 0x04;
        return { ...r, signature: { r: sr, s: r.signature.s } };
      },
      want: ["snp.verify.report_signature:snp.verify.report_signature"],
    },
    {
      name: "signature: one flipped bit in the signed region",
      edit: (r) => {
        const signedRegion = r.signedRegion.slice();
        signedRegion[0x90]! ^= 0x01;
        return { ...r, signedRegion };
      },
      want: ["snp.verify.report_signature:snp.verify.report_signature"],
    },
    {
      name: "product mismatch (report says Genoa, VCEK Milan-B0, root Milan)",
      edit: (r) => ({ ...r, product: "Genoa" }),
      want: ["snp.verify.product:snp.verify.product"],
    },
    {
      name: "signing key mismatch (report says VLEK, certificate is a VCEK)",
      edit: (r) => ({ ...r, signingKey: "vlek" }),
      want: ["snp.verify.signing_key:snp.verify.signing_key"],
    },
    {
      name: "expired after the VCEK's notAfter (2030-04-03)",
      options: { now: at("2030-05-01T00:00:00Z") },
      want: ["snp.verify.validity.vcek:snp.verify.expired"],
    },
    {
      name: "not yet valid before the VCEK's notBefore (2023-04-03)",
      options: { now: at("2023-01-01T00:00:00Z") },
      want: ["snp.verify.validity.vcek:snp.verify.not_yet_valid"],
    },
    {
      name: "every root expired (2050)",
      options: { now: at("2050-01-01T00:00:00Z") },
      want: [
        "snp.verify.validity.ark:snp.verify.expired",
        "snp.verify.validity.ask:snp.verify.expired",
        "snp.verify.validity.vcek:snp.verify.expired",
      ],
    },
    {
      name: "the endorsement key is not a certificate",
      options: { endorsementKey: new Uint8Array([1, 2, 3]) },
      want: ["snp.verify.certificate:snp.verify.certificate"],
    },
    {
      name: "the endorsement key is PEM text without a certificate",
      options: { endorsementKey: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" },
      want: ["snp.verify.certificate:snp.verify.certificate"],
    },
    {
      name: "the endorsement key is an RSA certificate (the ASK)",
      options: { endorsementKey: ASK_MILAN },
      want: [
        "snp.verify.chain.vcek:snp.verify.chain",
        "snp.verify.hwid:snp.verify.hwid",
        "snp.verify.product:snp.verify.product",
        "snp.verify.report_signature:snp.verify.report_signature",
        "snp.verify.tcb.bootloader:snp.verify.tcb",
        "snp.verify.tcb.microcode:snp.verify.tcb",
        "snp.verify.tcb.snp:snp.verify.tcb",
        "snp.verify.tcb.tee:snp.verify.tcb",
      ],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const r = await verifier.verify((c.edit ?? ((x) => x))(base()), {
        ...opts(),
        ...c.options,
      });
      assert.deepEqual(failed(r), c.want);
      for (const f of r.checks.filter((x) => !x.ok)) {
        assert.ok(f.code && f.expected && f.actual && f.remedy, `${f.id} lacks detail`);
      }
    });
  }

  it("accepts the VCEK as PEM bytes, PEM text and X509Certificate; ignores garbage intermediates", async () => {
    const der = read("snp/milan-v2-virtee/vcek_milan.der");
    const pem = der2pem(der, "CERTIFICATE");
    for (const endorsementKey of [
      pem,
      new TextEncoder().encode(pem),
      new x509.X509Certificate(der),
    ]) {
      const r = await verifier.verify(base(), {
        now: NOW,
        endorsementKey,
        intermediates: [new Uint8Array([0]), ARK_MILAN],
      });
      assert.deepEqual(failed(r), []);
    }
  });

  it("verifySnpReport: one-shot, default roots; caching off still verifies", async () => {
    const r = await verifySnpReport(base(), { ...opts(), cacheSize: 0 });
    assert.equal(r.ok, true);
    const r2 = await createSnpVerifier({ cacheSize: 1 }).verify(base(), opts());
    assert.equal(r2.ok, true);
  });
});

describe("roots", () => {
  it("SOURCES.md lists the SHA-256 of every pinned certificate", async () => {
    const sources = fs.readFileSync(path.join(import.meta.dirname, "roots/SOURCES.md"), "utf8");
    for (const set of AMD_SNP_ROOTS) {
      for (const pem of [set.ark, set.ask, set.asvk]) {
        const der = new Uint8Array(new x509.X509Certificate(pem as string).rawData);
        const h = Buffer.from(await crypto.subtle.digest("SHA-256", der)).toString("hex");
        assert.ok(sources.includes(h), `${set.product}: ${h} not in SOURCES.md`);
      }
    }
    assert.deepEqual(
      AMD_SNP_ROOTS.map((r) => r.product),
      ["Milan", "Genoa", "Turin"],
    );
    assert.ok(ASVK_MILAN.includes("BEGIN CERTIFICATE"));
  });
});

// ── a fake AMD hierarchy for what real vectors cannot show ─────────────────

const PSS = { name: "RSA-PSS", hash: "SHA-384", saltLength: 48 } as const;
const AMD_DN = "OU=Engineering, C=US, L=Santa Clara, ST=CA, O=Advanced Micro Devices";

async function rsaKeys() {
  return crypto.subtle.generateKey(
    { ...PSS, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ["sign", "verify"],
  );
}

function intExt(oid: string, n: number): x509.Extension {
  const v = n < 128 ? [0x02, 0x01, n] : [0x02, 0x02, 0x00, n];
  return new x509.Extension(oid, false, new Uint8Array(v));
}

interface Fake {
  roots: SnpRootSet[];
  vcek: x509.X509Certificate;
  crl: string;
  report: SnpReport;
}

/** ARK → ASK (serial 01) → VCEK, a CRL revoking the ASK, and a report re-signed by the VCEK. */
async function fakeHierarchy(
  opts: { arkSignedByOther?: boolean; productName?: number[]; ucodeSpl?: number[] } = {},
): Promise<Fake> {
  const real = report("snp/milan-v2-virtee/derived/report.bin", "Milan");
  const arkKeys = await rsaKeys();
  const askKeys = await rsaKeys();
  const other = await rsaKeys();
  const vcekKeys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ]);
  const notBefore = at("2020-01-01T00:00:00Z");
  const notAfter = at("2040-01-01T00:00:00Z");
  const ark = await x509.X509CertificateGenerator.create(
    {
      serialNumber: "0a0000",
      subject: `${AMD_DN}, CN=ARK-Milan`,
      issuer: `${AMD_DN}, CN=ARK-Milan`,
      notBefore,
      notAfter,
      signingAlgorithm: PSS,
      publicKey: arkKeys.publicKey,
      signingKey: opts.arkSignedByOther ? other.privateKey : arkKeys.privateKey,
    },
    crypto,
  );
  const ask = await x509.X509CertificateGenerator.create(
    {
      serialNumber: "0a0001",
      subject: `${AMD_DN}, CN=SEV-Milan`,
      issuer: ark.subject,
      notBefore,
      notAfter,
      signingAlgorithm: PSS,
      publicKey: askKeys.publicKey,
      signingKey: arkKeys.privateKey,
    },
    crypto,
  );
  const t = real.reportedTcb;
  const vcek = await x509.X509CertificateGenerator.create(
    {
      serialNumber: "00",
      subject: `${AMD_DN}, CN=SEV-VCEK`,
      issuer: ask.subject,
      notBefore,
      notAfter,
      signingAlgorithm: PSS,
      publicKey: vcekKeys.publicKey,
      signingKey: askKeys.privateKey,
      extensions: [
        new x509.Extension(
          "1.3.6.1.4.1.3704.1.2",
          false,
          new Uint8Array(opts.productName ?? [0x16, 5, ...new TextEncoder().encode("Milan")]),
        ),
        intExt("1.3.6.1.4.1.3704.1.3.1", t.bootloader),
        intExt("1.3.6.1.4.1.3704.1.3.2", t.tee),
        intExt("1.3.6.1.4.1.3704.1.3.3", t.snp),
        opts.ucodeSpl
          ? new x509.Extension("1.3.6.1.4.1.3704.1.3.8", false, new Uint8Array(opts.ucodeSpl))
          : intExt("1.3.6.1.4.1.3704.1.3.8", t.microcode),
        new x509.Extension(
          "1.3.6.1.4.1.3704.1.4",
          false,
          new Uint8Array([0x04, 0x40, ...real.chipId]),
        ),
      ],
    },
    crypto,
  );
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: ark.subject,
      thisUpdate: notBefore,
      nextUpdate: notAfter,
      signingAlgorithm: PSS,
      signingKey: arkKeys.privateKey,
      entries: [{ serialNumber: "0a0001", revocationDate: at("2021-01-01T00:00:00Z") }],
    },
    crypto,
  );
  const sig = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-384" },
      vcekKeys.privateKey,
      real.signedRegion as Uint8Array<ArrayBuffer>,
    ),
  );
  return {
    roots: [{ product: "Milan", ark: ark.toString("pem"), ask: ask.toString("pem") }],
    vcek,
    crl: crl.toString("pem"),
    report: { ...real, signature: { r: sig.slice(0, 48), s: sig.slice(48) } },
  };
}

describe("fake hierarchy", () => {
  it("a revoked ASK is rejected; everything else holds", async () => {
    const f = await fakeHierarchy();
    const r = await createSnpVerifier({ roots: f.roots }).verify(f.report, {
      now: NOW,
      endorsementKey: f.vcek,
      crls: [f.crl],
    });
    assert.deepEqual(failed(r), ["snp.verify.crl.revoked.ask:snp.verify.revoked"]);
    assert.match(check(r, "snp.verify.crl.revoked.ask").actual!, /revoked on 2021-01-01/);
    assert.equal(
      r.checks.some((c) => c.id === "snp.verify.crl.revoked.vcek"),
      false,
    );
    assert.equal(r.endorsement?.productName, "Milan");
  });

  it("a pinned ARK that is not self-signed is refused", async () => {
    const f = await fakeHierarchy({ arkSignedByOther: true });
    const r = await createSnpVerifier({ roots: f.roots }).verify(f.report, {
      now: NOW,
      endorsementKey: f.vcek,
    });
    assert.deepEqual(failed(r), ["snp.verify.chain.ark:snp.verify.ark"]);
  });
});

describe("fake hierarchy: malformed productName", () => {
  for (const bytes of [
    [0x16, 0x81, 0x05, 0x4d, 0x69, 0x6c, 0x61, 0x6e], // long-form length
    [0x16, 0x06, 0x4d, 0x69, 0x6c, 0x61, 0x6e], // length past the end
    [0x04, 0x05, 0x4d, 0x69, 0x6c, 0x61, 0x6e], // OCTET STRING, not a string type
    [0x16, 0x05, 0x50, 0x69, 0x7a, 0x7a, 0x61], // "Pizza": no such product
  ]) {
    it(`productName ${Buffer.from(bytes).toString("hex")} is a product mismatch`, async () => {
      const f = await fakeHierarchy({ productName: bytes });
      const r = await createSnpVerifier({ roots: f.roots }).verify(f.report, {
        now: NOW,
        endorsementKey: f.vcek,
      });
      assert.deepEqual(failed(r), ["snp.verify.product:snp.verify.product"]);
    });
  }
});

describe("fake hierarchy: malformed SPL", () => {
  it("a non-minimal INTEGER ucodeSPL is malformed, so a TCB mismatch", async () => {
    const f = await fakeHierarchy({ ucodeSpl: [0x02, 0x02, 0x00, 0x05] });
    const r = await createSnpVerifier({ roots: f.roots }).verify(f.report, {
      now: NOW,
      endorsementKey: f.vcek,
    });
    assert.deepEqual(failed(r), ["snp.verify.tcb.microcode:snp.verify.tcb"]);
    assert.equal(check(r, "snp.verify.tcb.microcode").actual, "ucodeSPL absent or malformed");
  });
});

describe("chain cache", () => {
  it("a warm verifier returns the same verdicts as a cold one", async () => {
    const v = createSnpVerifier();
    const o = { now: NOW, endorsementKey: read("snp/turin-v5-oak/derived/vcek.der") };
    const rep = report("snp/turin-v5-oak/derived/report.bin");
    const cold = await v.verify(rep, o);
    const warm = await v.verify(rep, o);
    assert.deepEqual(warm.checks, cold.checks);
    assert.equal(warm.ok, true);
  });
});
