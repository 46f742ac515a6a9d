/**
 * End to end: fakes from `fakeSnp`, parsed, verified and validated by
 * `@donjon/attest` with the fake roots pinned. A good fake passes every check;
 * each negative row damages one thing and must fail with exactly the expected
 * code(s) at the expected check id — a verifier that stops checking, or fails
 * for another reason, fails the row.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type Check,
  createSnpVerifier,
  parseSnpReport,
  type SnpProduct,
  type SnpRootSet,
  type SnpValidateOptions,
  type SnpVerifyOptions,
  type SnpVerifyResult,
  validateSnpReport,
} from "@donjon/attest";
import { X509Crl } from "./_x509.ts";
import { type FakeSnp, type FakeSnpOptions, fakeSnp } from "./snp.ts";

const DAY = 86_400_000;
const NOW = new Date("2025-06-01T00:00:00Z");
const before = (ms: number) => new Date(NOW.getTime() - ms);
const after = (ms: number) => new Date(NOW.getTime() + ms);

interface Outcome {
  fake: FakeSnp;
  verify: SnpVerifyResult;
  validate: Check[];
}

async function run(
  options: FakeSnpOptions,
  extra: {
    verify?: Partial<SnpVerifyOptions>;
    validate?: SnpValidateOptions;
    roots?: (fake: FakeSnp) => SnpRootSet[];
  } = {},
): Promise<Outcome> {
  const fake = await fakeSnp(options);
  // v2 carries no CPUID and needs the product; v3+ must be judged on its own CPUID.
  const report = parseSnpReport(fake.report, fake.report[0] === 2 ? { product: fake.product } : {});
  const verifier = createSnpVerifier({ roots: extra.roots ? extra.roots(fake) : fake.roots });
  const verify = await verifier.verify(report, {
    now: fake.now,
    endorsementKey: fake.endorsementKey,
    intermediates: fake.intermediates,
    crls: [fake.crl],
    ...extra.verify,
  });
  return { fake, verify, validate: validateSnpReport(report, extra.validate) };
}

/** "id=code" of every failed check, sorted. */
function failures(checks: readonly Check[]): string[] {
  return checks
    .filter((c) => !c.ok)
    .map((c) => `${c.id}=${c.code}`)
    .sort();
}

describe("fakeSnp end to end: a good fake verifies and validates", () => {
  const cases: [SnpProduct, "vcek" | "vlek", number | undefined][] = [];
  for (const p of ["Milan", "Genoa", "Turin"] as const)
    for (const s of ["vcek", "vlek"] as const) cases.push([p, s, undefined]);
  cases.push(["Milan", "vcek", 2], ["Genoa", "vcek", 5], ["Turin", "vlek", 3]);
  for (const [product, signer, version] of cases) {
    it(`${product} ${signer}${version ? ` v${version}` : ""}`, async () => {
      const o = await run({ product, signer, report: version ? { version } : {} });
      assert.deepEqual(failures(o.verify.checks), []);
      assert.equal(o.verify.ok, true);
      assert.equal(o.verify.rootProduct, product);
      assert.equal(o.verify.endorsement?.kind, signer);
      assert.deepEqual(failures(o.validate), []);
      // The checks that matter ran and passed (a verifier that skips them fails here).
      const ran = new Set(o.verify.checks.filter((c) => c.ok).map((c) => c.id));
      for (const id of [
        "snp.verify.report_signature",
        `snp.verify.chain.${signer}`,
        `snp.verify.chain.${signer === "vcek" ? "ask" : "asvk"}`,
        "snp.verify.chain.ark",
        "snp.verify.product",
        "snp.verify.tcb.bootloader",
        "snp.verify.tcb.tee",
        "snp.verify.tcb.snp",
        "snp.verify.tcb.microcode",
        ...(product === "Turin" ? ["snp.verify.tcb.fmc"] : []),
        ...(signer === "vcek" ? ["snp.verify.hwid"] : []),
        `snp.verify.validity.${signer}`,
        "snp.verify.crl.signature",
        "snp.verify.crl.fresh",
        `snp.verify.crl.revoked.${signer === "vcek" ? "ask" : "asvk"}`,
      ])
        assert.ok(ran.has(id), `${id} did not run and pass`);
    });
  }
});

interface Row {
  name: string;
  options: FakeSnpOptions;
  verify?: Partial<SnpVerifyOptions>;
  validate?: SnpValidateOptions;
  /** The pinned roots, when not the fake's own. */
  roots?: (fake: FakeSnp) => SnpRootSet[];
  /** Every failed verify check, as `id=code`. */
  verifyFails?: string[];
  /** Every failed validate check, as `id=code`. */
  validateFails?: string[];
}

const TCB = ["bootloader", "tee", "snp", "microcode"] as const;

const rows: Row[] = [
  // Chain building: what is pinned and what the evidence carries.
  {
    name: "ASK only in the evidence (the pinned set holds the ARK alone): verifies",
    options: {},
    roots: (f) => [{ product: f.product, ark: f.ark }],
    verifyFails: [],
  },
  {
    name: "ASK only in the evidence, signed by the wrong key",
    options: { certs: { ask: { signedBy: "other" } } },
    roots: (f) => [{ product: f.product, ark: f.ark }],
    verifyFails: ["snp.verify.chain.ask=snp.verify.untrusted_root"],
  },
  {
    name: "no ASK anywhere (not pinned, not in the evidence)",
    options: {},
    roots: (f) => [{ product: f.product, ark: f.ark }],
    verify: { intermediates: [] },
    verifyFails: ["snp.verify.chain.vcek=snp.verify.chain"],
  },
  {
    name: "VCEK issuer name is not the ASK's",
    options: { certs: { vcek: { issuer: "CN=SEV-Nowhere" } } },
    verifyFails: ["snp.verify.chain.vcek=snp.verify.chain"],
  },
  // Revocation (CRL signed by the fake ARK).
  {
    // The ARK's CRL speaks for what the ARK signed (RFC 5280 §6.3.3): a VCEK
    // serial on it is not the VCEK's revocation (real VCEK serials are all 0).
    name: "a VCEK serial on the ARK's CRL does not revoke the VCEK",
    options: { crl: { revoked: ["vcek"] } },
    verifyFails: [],
  },
  {
    name: "revoked ASK",
    options: { crl: { revoked: ["ask"] } },
    verifyFails: ["snp.verify.crl.revoked.ask=snp.verify.revoked"],
  },
  {
    name: "revoked ASVK (VLEK chain)",
    options: { signer: "vlek", crl: { revoked: ["asvk"] } },
    verifyFails: ["snp.verify.crl.revoked.asvk=snp.verify.revoked"],
  },
  {
    name: "a VLEK serial on the ARK's CRL does not revoke the VLEK",
    options: { signer: "vlek", crl: { revoked: ["vlek"] } },
    verifyFails: [],
  },
  // Validity windows.
  {
    name: "expired ASK",
    options: { certs: { ask: { notAfter: before(DAY) } } },
    verifyFails: ["snp.verify.validity.ask=snp.verify.expired"],
  },
  {
    name: "expired ARK",
    options: { certs: { ark: { notAfter: before(DAY) } } },
    verifyFails: ["snp.verify.validity.ark=snp.verify.expired"],
  },
  {
    name: "expired VLEK",
    options: { signer: "vlek", certs: { vlek: { notAfter: before(1000) } } },
    verifyFails: ["snp.verify.validity.vlek=snp.verify.expired"],
  },
  {
    name: "not-yet-valid VCEK",
    options: { certs: { vcek: { notBefore: after(DAY) } } },
    verifyFails: ["snp.verify.validity.vcek=snp.verify.not_yet_valid"],
  },
  // Product.
  {
    name: "Genoa certificates for a Milan report (CPUID says Milan)",
    options: { product: "Genoa", report: { cpuid: { family: 0x19, model: 0x01, stepping: 1 } } },
    verifyFails: ["snp.verify.product=snp.verify.product"],
  },
  {
    name: "CPUID mismatch: Milan certificates, CPUID says Genoa",
    options: { product: "Milan", report: { cpuid: { family: 0x19, model: 0x11, stepping: 1 } } },
    verifyFails: ["snp.verify.product=snp.verify.product"],
  },
  {
    name: "VCEK productName Genoa under the Milan ASK",
    options: { certs: { vcek: { productName: "Genoa" } } },
    verifyFails: ["snp.verify.product=snp.verify.product"],
  },
  {
    name: "VCEK without productName",
    options: { certs: { vcek: { productName: null } } },
    verifyFails: ["snp.verify.product=snp.verify.product"],
  },
  // TCB: each SPL extension against REPORTED_TCB.
  ...TCB.map(
    (c): Row => ({
      name: `TCB mismatch: VCEK ${c} SPL ≠ REPORTED_TCB (Milan)`,
      options: { certs: { vcek: { tcb: { [c]: 99 } } } },
      verifyFails: [`snp.verify.tcb.${c}=snp.verify.tcb`],
    }),
  ),
  ...[...TCB, "fmc" as const].map(
    (c): Row => ({
      name: `TCB mismatch: VCEK ${c} SPL ≠ REPORTED_TCB (Turin)`,
      options: { product: "Turin", certs: { vcek: { tcb: { [c]: 99 } } } },
      verifyFails: [`snp.verify.tcb.${c}=snp.verify.tcb`],
    }),
  ),
  {
    name: "TCB mismatch: REPORTED_TCB.snp newer than the VCEK",
    options: { report: { reportedTcb: { snp: 23 } }, certs: { vcek: { tcb: { snp: 22 } } } },
    verifyFails: ["snp.verify.tcb.snp=snp.verify.tcb"],
  },
  {
    name: "TCB: VLEK microcode SPL absent",
    options: { signer: "vlek", certs: { vlek: { tcb: { microcode: null } } } },
    verifyFails: ["snp.verify.tcb.microcode=snp.verify.tcb"],
  },
  // hwID.
  {
    name: "hwID ≠ CHIP_ID",
    options: { certs: { vcek: { hwId: new Uint8Array(64).fill(0xee) } } },
    verifyFails: ["snp.verify.hwid=snp.verify.hwid"],
  },
  {
    name: "hwID ≠ CHIP_ID[0:8] (Turin)",
    options: { product: "Turin", certs: { vcek: { hwId: new Uint8Array(8).fill(0xee) } } },
    verifyFails: ["snp.verify.hwid=snp.verify.hwid"],
  },
  {
    name: "hwID absent",
    options: { certs: { vcek: { hwId: null } } },
    verifyFails: ["snp.verify.hwid=snp.verify.hwid"],
  },
  // Signatures.
  {
    name: "signature corrupted (R)",
    options: { corrupt: { signature: true } },
    verifyFails: ["snp.verify.report_signature=snp.verify.report_signature"],
  },
  {
    name: "signature corrupted (S)",
    options: { corrupt: { signature: 0x2e8 + 10 } },
    verifyFails: ["snp.verify.report_signature=snp.verify.report_signature"],
  },
  {
    name: "signed region corrupted (MEASUREMENT)",
    options: { corrupt: { signedRegion: true } },
    verifyFails: ["snp.verify.report_signature=snp.verify.report_signature"],
  },
  {
    name: "report signed by the wrong key",
    options: { reportSignedBy: "other" },
    verifyFails: ["snp.verify.report_signature=snp.verify.report_signature"],
  },
  {
    name: "VCEK signed by the wrong key",
    options: { certs: { vcek: { signedBy: "other" } } },
    verifyFails: ["snp.verify.chain.vcek=snp.verify.chain"],
  },
  {
    name: "VLEK signed by the wrong key",
    options: { signer: "vlek", certs: { vlek: { signedBy: "other" } } },
    verifyFails: ["snp.verify.chain.vlek=snp.verify.chain"],
  },
  {
    name: "ASK signed by the wrong key",
    options: { certs: { ask: { signedBy: "other" } } },
    verifyFails: ["snp.verify.chain.ask=snp.verify.untrusted_root"],
  },
  {
    name: "ARK not self-signed",
    options: { certs: { ark: { signedBy: "other" } } },
    verifyFails: ["snp.verify.chain.ark=snp.verify.ark"],
  },
  {
    name: "KEY_INFO says VLEK, the certificate is a VCEK",
    options: { report: { signingKey: "vlek" } },
    verifyFails: ["snp.verify.signing_key=snp.verify.signing_key"],
  },
  // CRL.
  {
    name: "CRL stale (nextUpdate passed)",
    options: { crl: { thisUpdate: before(40 * DAY), nextUpdate: before(DAY) } },
    verifyFails: ["snp.verify.crl.fresh=snp.verify.crl_stale"],
  },
  {
    name: "CRL not yet valid (thisUpdate ahead)",
    options: { crl: { thisUpdate: after(DAY), nextUpdate: after(30 * DAY) } },
    verifyFails: ["snp.verify.crl.fresh=snp.verify.crl_not_yet_valid"],
  },
  {
    name: "CRL signed by another key",
    options: { crl: { signedBy: "other" } },
    verifyFails: ["snp.verify.crl.signature=snp.verify.crl_signature"],
  },
  {
    name: "CRL issued by another ARK's name",
    options: { crl: { issuer: "CN=ARK-Genoa" } },
    verifyFails: ["snp.verify.crl.issuer=snp.verify.crl_issuer"],
  },
  {
    name: "no CRL and requireCrl",
    options: {},
    verify: { crls: [], requireCrl: true },
    verifyFails: ["snp.verify.crl=snp.verify.crl_unavailable"],
  },
  // Policy (validate): the fake verifies; the policy rejects.
  {
    name: "debug policy rejected by default",
    options: { report: { policy: { debug: true } } },
    validateFails: ["snp.validate.debug=snp.validate.debug"],
  },
  {
    name: "migration agent rejected by default",
    options: { report: { policy: { migrateMa: true } } },
    validateFails: ["snp.validate.migrate_ma=snp.validate.migrate_ma"],
  },
  {
    name: "report data mismatch",
    options: { report: { reportData: new Uint8Array(64).fill(0xaa) } },
    validate: { reportData: new Uint8Array(64).fill(0xbb) },
    validateFails: ["snp.validate.report_data=snp.validate.report_data"],
  },
  {
    name: "VMPL 1 where 0 is required",
    options: { report: { vmpl: 1 } },
    validate: { vmpl: 0 },
    validateFails: ["snp.validate.vmpl=snp.validate.vmpl"],
  },
  {
    name: "measurement not allowed",
    options: {},
    validate: { measurements: [new Uint8Array(48)] },
    validateFails: ["snp.validate.measurement=snp.validate.measurement"],
  },
  {
    name: "REPORTED_TCB below the minimum (microcode)",
    options: { report: { reportedTcb: { microcode: 200 } } },
    validate: { minimumTcb: { microcode: 210 } },
    validateFails: ["snp.validate.tcb.microcode=snp.validate.tcb"],
  },
  {
    name: "VLEK where only VCEK is allowed",
    options: { signer: "vlek" },
    validate: { allowedSigningKeys: ["vcek"] },
    validateFails: ["snp.validate.signing_key=snp.validate.signing_key"],
  },
  {
    name: "SMT enabled where it is forbidden",
    options: { report: { platformInfo: 1n } },
    validate: { allowSmt: false },
    validateFails: ["snp.validate.smt=snp.validate.smt"],
  },
];

describe("fakeSnp end to end: one damaged field fails with its code", () => {
  for (const row of rows) {
    it(row.name, async () => {
      const o = await run(row.options, row);
      const want = row.verifyFails ?? [];
      assert.deepEqual(failures(o.verify.checks), want, "verify failures");
      assert.equal(o.verify.ok, want.length === 0);
      assert.deepEqual(failures(o.validate), row.validateFails ?? [], "validate failures");
    });
  }

  it("no CRL: a warning (crl_unavailable) that does not fail verification", async () => {
    const o = await run({}, { verify: { crls: [] } });
    assert.equal(o.verify.ok, true);
    const crl = o.verify.checks.find((c) => c.id === "snp.verify.crl");
    assert.equal(crl?.ok, true);
    assert.equal(crl?.code, "snp.verify.crl_unavailable");
  });

  it("the fake roots are needed: the real AMD roots reject the fake chain", async () => {
    const fake = await fakeSnp();
    const report = parseSnpReport(fake.report);
    const res = await createSnpVerifier().verify(report, {
      now: fake.now,
      endorsementKey: fake.endorsementKey,
      intermediates: fake.intermediates,
    });
    assert.equal(res.ok, false);
    assert.ok(failures(res.checks).includes("snp.verify.chain.ask=snp.verify.untrusted_root"));
  });

  it("VLEK from an unexpected provider (cspID not allowed) fails with snp.verify.csp_id", async () => {
    const rogue = await run(
      { signer: "vlek", certs: { vlek: { cspId: "CN=rogue.example" } } },
      { verify: { allowedCspIds: ["CN=cc-us-east-2.amazonaws.com"] } },
    );
    assert.deepEqual(failures(rogue.verify.checks), ["snp.verify.csp_id=snp.verify.csp_id"]);
    const known = await run(
      { signer: "vlek", certs: { vlek: { cspId: "CN=cc-us-east-2.amazonaws.com" } } },
      { verify: { allowedCspIds: ["CN=cc-us-east-2.amazonaws.com"] } },
    );
    assert.deepEqual(failures(known.verify.checks), []);
    assert.ok(known.verify.checks.some((c) => c.id === "snp.verify.csp_id" && c.ok));
  });
  it("VLEK cspID is reported in the endorsement info", async () => {
    const o = await run({ signer: "vlek", certs: { vlek: { cspId: "CN=rogue.example" } } });
    assert.equal(o.verify.ok, true);
    assert.equal(o.verify.endorsement?.cspId, "CN=rogue.example");
  });
});

describe("verify.ts corners no real vector reaches", () => {
  it("a CRL without nextUpdate is stale, and says its nextUpdate is absent", async () => {
    const o = await run({ crl: { nextUpdate: null } });
    assert.deepEqual(failures(o.verify.checks), ["snp.verify.crl.fresh=snp.verify.crl_stale"]);
    const fresh = o.verify.checks.find((c) => c.id === "snp.verify.crl.fresh");
    assert.match(fresh?.actual ?? "", /nextUpdate absent/);
  });

  it("a CRL handed over as a parsed X509Crl is used as is", async () => {
    const fake = await fakeSnp({});
    const report = parseSnpReport(fake.report);
    const crl = new X509Crl(fake.crl as Uint8Array<ArrayBuffer>);
    const res = await createSnpVerifier({ roots: fake.roots }).verify(report, {
      now: fake.now,
      endorsementKey: fake.endorsementKey,
      intermediates: fake.intermediates,
      crls: [crl],
      requireCrl: true,
    });
    assert.deepEqual(failures(res.checks), []);
  });

  it("a VLEK without cspID fails an allow-list; an empty allow-list admits nothing", async () => {
    const none = await run(
      { signer: "vlek", certs: { vlek: { cspId: null } } },
      { verify: { allowedCspIds: ["CN=cc-us-east-2.amazonaws.com"] } },
    );
    assert.deepEqual(failures(none.verify.checks), ["snp.verify.csp_id=snp.verify.csp_id"]);
    assert.equal(
      none.verify.checks.find((c) => c.id === "snp.verify.csp_id")?.actual,
      "cspID absent",
    );
    const empty = await run({ signer: "vlek" }, { verify: { allowedCspIds: [] } });
    assert.match(
      empty.verify.checks.find((c) => c.id === "snp.verify.csp_id")?.expected ?? "",
      /none allowed/,
    );
  });

  it("a signed region in shared memory is copied before WebCrypto sees it", async () => {
    const fake = await fakeSnp({});
    const report = parseSnpReport(fake.report);
    const shared = new Uint8Array(new SharedArrayBuffer(report.signedRegion.length));
    shared.set(report.signedRegion);
    const res = await createSnpVerifier({ roots: fake.roots }).verify(
      { ...report, signedRegion: shared },
      {
        now: fake.now,
        endorsementKey: fake.endorsementKey,
        intermediates: fake.intermediates,
        crls: [fake.crl],
      },
    );
    assert.deepEqual(failures(res.checks), []);
  });
});

describe("verify.ts when the platform misbehaves", () => {
  it("a digest that throws a non-Error still gives a failed check naming it", async () => {
    const fake = await fakeSnp({});
    const report = parseSnpReport(fake.report);
    const subtle = new Proxy(crypto.subtle, {
      get(target, prop) {
        if (prop === "digest") {
          return () => {
            throw "digest unavailable";
          };
        }
        const v = Reflect.get(target, prop);
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const broken = { subtle, getRandomValues: crypto.getRandomValues.bind(crypto) } as Crypto;
    const res = await createSnpVerifier({ roots: fake.roots, crypto: broken }).verify(report, {
      now: fake.now,
      endorsementKey: fake.endorsementKey,
    });
    assert.equal(res.ok, false);
    const cert = res.checks.find((c) => c.id === "snp.verify.certificate");
    assert.match(cert?.actual ?? "", /digest unavailable/);
  });
});
