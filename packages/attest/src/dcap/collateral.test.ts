/**
 * Collateral verification: the real vectors (valid at their documented time,
 * expired now, the Oasis bad chain and tampered JSON), then fake collateral
 * for every failure code, and malformed-input tables for the parsers.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EvidenceError } from "../error.ts";
import { failures, runFake } from "./_test_dcap_fakes.ts";
import { DCAP_VECTORS, INTEL_ROOT_DER, vectorFile, vectorQuote } from "./_test_dcap_vectors.ts";
import {
  createDcapCollateralVerifier,
  normalizeSerial,
  parseDcapCrl,
  parseQeIdentity,
  parseTcbInfo,
  revokedAt,
  verifyDcapCollateral,
} from "./collateral.ts";
import { offlineCollateral } from "./pcs.ts";
import { INTEL_SGX_ROOT_CA } from "./roots/intel.ts";
import type { DcapCollateral } from "./types.ts";

const verifier = createDcapCollateralVerifier({ root: INTEL_ROOT_DER });
const byId = (id: string) => DCAP_VECTORS.find((v) => v.id === id)!;

describe("real vectors", () => {
  for (const vec of DCAP_VECTORS) {
    it(`${vec.id} (${vec.files.length} file(s)) verifies at ${vec.at.toISOString()}, and the PCK chain is not revoked`, async () => {
      const { quote, pck } = vectorQuote(vec);
      const collateral = offlineCollateral(vec.files.map((f) => vectorFile(vec, f)));
      const r = await verifier.verify(collateral, {
        now: vec.at,
        pckCa: quote.pckChain[1]!,
        pckCaKind: pck.ca,
      });
      assert.deepEqual(failures(r.checks), []);
      assert.ok(r.tcbInfo && r.qeIdentity);
      assert.equal(r.tcbInfo.id, quote.body.tee === "tdx" ? "TDX" : "SGX");
      assert.equal(r.qeIdentity.id, quote.body.tee === "tdx" ? "TD_QE" : "QE");
      assert.equal(r.rootCaCrl !== null && r.pckCrl !== null, vec.crls);
      const rev = verifier.pckRevocationChecks(r, {
        pck: quote.pckChain[0]!,
        pckCa: quote.pckChain[1]!,
      });
      assert.deepEqual(
        rev.map((c) => [c.id, c.ok]),
        vec.crls
          ? [
              ["dcap.collateral.revoked.pck_ca", true],
              ["dcap.collateral.revoked.pck", true],
            ]
          : [],
      );
    });
  }

  it("the default root is the pinned Intel SGX Root CA (roots/intel.ts)", async () => {
    const vec = DCAP_VECTORS[0]!;
    const { quote } = vectorQuote(vec);
    const r = await verifyDcapCollateral(
      offlineCollateral(vec.files.map((f) => vectorFile(vec, f))),
      {
        now: vec.at,
        pckCa: quote.pckChain[1]!,
      },
    );
    assert.deepEqual(failures(r.checks), []);
    const pem = await verifyDcapCollateral(
      offlineCollateral(vec.files.map((f) => vectorFile(vec, f))),
      {
        now: vec.at,
        root: INTEL_SGX_ROOT_CA,
        pckCa: quote.pckChain[1]!,
      },
    );
    assert.ok(pem.ok);
  });

  it("phala SGX at 2026-11-27: TCB Info and QE Identity expired, both CRLs stale", async () => {
    const vec = byId("sgx/phala-v3-00a067110000");
    const { quote } = vectorQuote(vec);
    const r = await verifier.verify(
      offlineCollateral([vectorFile(vec, "sgx_quote_collateral.json")]),
      {
        now: new Date("2026-11-27T00:00:00Z"),
        pckCa: quote.pckChain[1]!,
      },
    );
    assert.deepEqual(failures(r.checks), [
      ["dcap.collateral.root_ca_crl.fresh", "dcap.collateral.crl_stale"],
      ["dcap.collateral.tcb_info.validity", "dcap.collateral.expired"],
      ["dcap.collateral.qe_identity.validity", "dcap.collateral.expired"],
      ["dcap.collateral.pck_crl.fresh", "dcap.collateral.crl_stale"],
    ]);
  });

  it("dcaprs SGX before its collateral was issued: not yet valid", async () => {
    const vec = byId("sgx/dcaprs-v3-00606a000000");
    const { quote } = vectorQuote(vec);
    const r = await verifier.verify(offlineCollateral(vec.files.map((f) => vectorFile(vec, f))), {
      now: new Date("2025-02-01T00:00:00Z"),
      pckCa: quote.pckChain[1]!,
    });
    assert.deepEqual(failures(r.checks), [
      ["dcap.collateral.tcb_info.validity", "dcap.collateral.not_yet_valid"],
      ["dcap.collateral.qe_identity.validity", "dcap.collateral.not_yet_valid"],
      ["dcap.collateral.pck_crl.fresh", "dcap.collateral.crl_not_yet_valid"],
    ]);
  });

  const oasis = byId("sgx/oasis-v3-00606a000000");
  const oasisFiles = (tcb: string, qe: string, chain: string) =>
    offlineCollateral([vectorFile(oasis, tcb), vectorFile(oasis, qe), vectorFile(oasis, chain)]);

  it("oasis certs_bad: a PCK Platform CA is not the TCB signer — chain and both signatures fail", async () => {
    const r = await verifier.verify(
      {
        ...oasisFiles(
          "tcb_info_v3_fmspc_00606A000000.json",
          "qe_identity_v2.json",
          "tcb_info_v3_fmspc_00606A000000_certs.pem",
        ),
        ...(() => {
          const bad = offlineCollateral([]);
          const certs = vectorFile(oasis, "tcb_info_v3_fmspc_00606A000000_certs_bad.pem");
          // The bad chain's leaf is a PCK CA, so the bundle reader files it as a PCK CRL issuer chain.
          const c = offlineCollateral([certs]);
          return {
            ...bad,
            tcbInfoIssuerChain: c.pckCrlIssuerChain,
            qeIdentityIssuerChain: c.pckCrlIssuerChain,
          };
        })(),
        tcbInfo: oasisFiles(
          "tcb_info_v3_fmspc_00606A000000.json",
          "qe_identity_v2.json",
          "tcb_info_v3_fmspc_00606A000000_certs.pem",
        ).tcbInfo,
        qeIdentity: new TextDecoder().decode(vectorFile(oasis, "qe_identity_v2.json").data),
      },
      { now: oasis.at },
    );
    assert.deepEqual(
      failures(r.checks).filter(([, code]) => code !== "dcap.collateral.crl_unavailable"),
      [
        ["dcap.collateral.tcb_info.chain", "dcap.collateral.chain"],
        ["dcap.collateral.tcb_info.signature", "dcap.collateral.signature"],
        ["dcap.collateral.qe_identity.chain", "dcap.collateral.chain"],
        ["dcap.collateral.qe_identity.signature", "dcap.collateral.signature"],
      ],
    );
    assert.equal(r.tcbInfo, null);
    assert.equal(r.qeIdentity, null);
  });

  it("oasis tampered TCB Info (a member name changed): rejected, never evaluated", async () => {
    const r = await verifier.verify(
      oasisFiles(
        "tampered/tcb_info_member_idx16_x.json",
        "qe_identity_v2.json",
        "tcb_info_v3_fmspc_00606A000000_certs.pem",
      ),
      { now: oasis.at },
    );
    assert.deepEqual(failures(r.checks), [
      ["dcap.collateral.tcb_info.parse", "dcap.collateral.version"],
    ]);
    assert.equal(r.tcbInfo, null);
  });

  it("oasis tampered QE Identity (invalid JSON): rejected with dcap.collateral.json", async () => {
    const r = await verifier.verify(
      oasisFiles(
        "tcb_info_v3_fmspc_00606A000000.json",
        "tampered/qe_identity_member_idx22_x.json",
        "tcb_info_v3_fmspc_00606A000000_certs.pem",
      ),
      { now: oasis.at },
    );
    assert.deepEqual(failures(r.checks), [
      ["dcap.collateral.qe_identity.parse", "dcap.collateral.json"],
    ]);
    assert.equal(r.qeIdentity, null);
  });

  it("a one-character change of the signed text breaks the signature (exact bytes, never re-serialised)", async () => {
    const c = oasisFiles(
      "tcb_info_v3_fmspc_00606A000000.json",
      "qe_identity_v2.json",
      "tcb_info_v3_fmspc_00606A000000_certs.pem",
    );
    const reformatted = c.tcbInfo!.replace('"tcbType":0', '"tcbType": 0');
    const r = await verifier.verify({ ...c, tcbInfo: reformatted }, { now: oasis.at });
    assert.deepEqual(
      failures(r.checks).filter(([, code]) => code !== "dcap.collateral.crl_unavailable"),
      [["dcap.collateral.tcb_info.signature", "dcap.collateral.signature"]],
    );
  });
});

describe("fake collateral: every failure", () => {
  const NOW = new Date("2025-06-01T00:00:00Z");
  const DAY = 86_400_000;
  const cases: [string, Parameters<typeof runFake>[0], [string, string][]][] = [
    [
      "TCB Info expired (nextUpdate passed)",
      {
        collateral: {
          tcbInfo: {
            issueDate: new Date(NOW.getTime() - 40 * DAY),
            nextUpdate: new Date(NOW.getTime() - DAY),
          },
        },
      },
      [["dcap.collateral.tcb_info.validity", "dcap.collateral.expired"]],
    ],
    [
      "QE Identity not yet valid",
      { collateral: { qeIdentity: { issueDate: new Date(NOW.getTime() + DAY) } } },
      [["dcap.collateral.qe_identity.validity", "dcap.collateral.not_yet_valid"]],
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
      "TCB Info changed after signing",
      { collateral: { corrupt: "tcbInfo" } },
      [["dcap.collateral.tcb_info.signature", "dcap.collateral.signature"]],
    ],
    [
      "QE Identity changed after signing",
      { collateral: { corrupt: "qeIdentity" } },
      [["dcap.collateral.qe_identity.signature", "dcap.collateral.signature"]],
    ],
    [
      "TCB signing certificate not signed by the pinned root",
      { collateral: { signing: { signedBy: "other" } } },
      [
        ["dcap.collateral.tcb_info.chain", "dcap.collateral.chain"],
        ["dcap.collateral.qe_identity.chain", "dcap.collateral.chain"],
      ],
    ],
    [
      "TCB signing certificate with another name",
      {
        collateral: {
          signing: {
            subject:
              "CN=Intel SGX PCK Platform CA, O=Intel Corporation, L=Santa Clara, ST=CA, C=US",
          },
        },
      },
      [
        ["dcap.collateral.tcb_info.chain", "dcap.collateral.chain"],
        ["dcap.collateral.qe_identity.chain", "dcap.collateral.chain"],
      ],
    ],
    [
      "TCB signing certificate expired",
      { collateral: { signing: { notAfter: new Date(NOW.getTime() - DAY) } } },
      [
        ["dcap.collateral.tcb_info.chain.validity", "dcap.collateral.expired"],
        ["dcap.collateral.qe_identity.chain.validity", "dcap.collateral.expired"],
      ],
    ],
    [
      "TCB signing certificate not yet valid",
      { collateral: { signing: { notBefore: new Date(NOW.getTime() + DAY) } } },
      [
        ["dcap.collateral.tcb_info.chain.validity", "dcap.collateral.not_yet_valid"],
        ["dcap.collateral.qe_identity.chain.validity", "dcap.collateral.not_yet_valid"],
      ],
    ],
    [
      "TCB signing certificate revoked by the root CA CRL",
      { collateral: { rootCrl: { revoked: ["0a"] } } },
      [
        ["dcap.collateral.tcb_info.chain.revoked", "dcap.collateral.revoked"],
        ["dcap.collateral.qe_identity.chain.revoked", "dcap.collateral.revoked"],
      ],
    ],
    [
      "root CA CRL signed by another key",
      { collateral: { rootCrl: { signedBy: "other" } } },
      [["dcap.collateral.root_ca_crl.signature", "dcap.collateral.crl_signature"]],
    ],
    [
      "root CA CRL stale",
      {
        collateral: {
          rootCrl: {
            thisUpdate: new Date(NOW.getTime() - 40 * DAY),
            nextUpdate: new Date(NOW.getTime() - DAY),
          },
        },
      },
      [["dcap.collateral.root_ca_crl.fresh", "dcap.collateral.crl_stale"]],
    ],
    [
      "PCK CRL not yet valid",
      { collateral: { pckCrl: { thisUpdate: new Date(NOW.getTime() + DAY) } } },
      [["dcap.collateral.pck_crl.fresh", "dcap.collateral.crl_not_yet_valid"]],
    ],
    [
      "PCK CRL signed by another key",
      { collateral: { pckCrl: { signedBy: "other" } } },
      [["dcap.collateral.pck_crl.signature", "dcap.collateral.crl_signature"]],
    ],
    [
      "PCK CRL of the processor CA for a platform-CA PCK",
      { verify: { pckCaKind: "processor" } },
      [["dcap.collateral.pck_crl.issuer", "dcap.collateral.crl_issuer"]],
    ],
    ["CRLs required and present", { verify: { requireCrl: true } }, []],
    [
      "a TCB signing certificate without a CN",
      { collateral: { signing: { subject: "O=Intel Corporation, C=US" } } },
      [
        ["dcap.collateral.tcb_info.chain", "dcap.collateral.chain"],
        ["dcap.collateral.qe_identity.chain", "dcap.collateral.chain"],
      ],
    ],
    [
      "a TCB signing certificate with a P-384 key (cannot have signed the JSON)",
      { collateral: { signing: { curve: "P-384" }, jsonSignedBy: "other" } },
      [
        ["dcap.collateral.tcb_info.signature", "dcap.collateral.signature"],
        ["dcap.collateral.qe_identity.signature", "dcap.collateral.signature"],
      ],
    ],
    [
      "a PCK CRL without nextUpdate",
      { collateral: { pckCrl: { nextUpdate: null } } },
      [["dcap.collateral.pck_crl.fresh", "dcap.collateral.crl_stale"]],
    ],
  ];
  for (const [name, c, want] of cases) {
    it(name, async () => {
      const r = await runFake(c);
      assert.deepEqual(failures(r.verified.checks), want);
      for (const f of r.verified.checks.filter((x) => !x.ok))
        assert.ok(f.expected && f.actual && f.remedy, f.id);
    });
  }

  it("revoked PCK certificate and PCK CA: pckRevocationChecks", async () => {
    const r = await runFake({
      collateral: { rootCrl: { revoked: ["02"] }, pckCrl: { revoked: ["0003"] } },
    });
    assert.deepEqual(failures(r.revocation), [
      ["dcap.collateral.revoked.pck_ca", "dcap.collateral.revoked"],
      ["dcap.collateral.revoked.pck", "dcap.collateral.revoked"],
    ]);
    assert.ok(revokedAt(r.verified.pckCrl!, "03"));
    assert.ok(revokedAt(r.verified.pckCrl!, r.quote.pckChain[0]!));
    assert.equal(revokedAt(r.verified.pckCrl!, "04"), null);
  });

  it("pckRevocationChecks: a CRL of another issuer, an unparsable certificate", async () => {
    const r = await runFake();
    const swapped = r.verifier.pckRevocationChecks(
      { rootCaCrl: r.verified.pckCrl, pckCrl: r.verified.rootCaCrl },
      { pck: r.quote.pckChain[0]!, pckCa: Uint8Array.of(1, 2, 3) },
    );
    assert.deepEqual(failures(swapped), [
      ["dcap.collateral.revoked.pck_ca", "dcap.collateral.revoked"],
      ["dcap.collateral.revoked.pck", "dcap.collateral.crl_issuer"],
    ]);
  });

  const missing: [string, Partial<DcapCollateral>, object, [string, string][]][] = [
    [
      "no TCB Info",
      { tcbInfo: null },
      {},
      [["dcap.collateral.tcb_info", "dcap.collateral.missing"]],
    ],
    [
      "no QE Identity",
      { qeIdentity: null },
      {},
      [["dcap.collateral.qe_identity", "dcap.collateral.missing"]],
    ],
    ["no TCB Info, allowed by policy", { tcbInfo: null }, { allowMissingTcbInfo: true }, []],
    [
      "no QE Identity, allowed by policy",
      { qeIdentity: null },
      { allowMissingQeIdentity: true },
      [],
    ],
    [
      "no TCB Info issuer chain",
      { tcbInfoIssuerChain: null },
      {},
      [["dcap.collateral.tcb_info.chain", "dcap.collateral.missing"]],
    ],
    [
      "a chain of the root alone",
      { tcbInfoIssuerChain: "root" as never },
      {},
      [["dcap.collateral.tcb_info.chain", "dcap.collateral.chain"]],
    ],
    [
      "an unparsable chain certificate",
      { qeIdentityIssuerChain: [Uint8Array.of(0x30, 0x03, 2, 1, 0)] },
      {},
      [["dcap.collateral.qe_identity.chain", "dcap.collateral.chain"]],
    ],
    [
      "the QE Identity under the TCB Info issuer chain (no chain of its own)",
      { qeIdentityIssuerChain: null },
      {},
      [],
    ],
    [
      "a TCB signing chain whose leaf another CA issued (the PCK certificate)",
      { tcbInfoIssuerChain: "pckLeaf" as never },
      {},
      [
        ["dcap.collateral.tcb_info.chain", "dcap.collateral.chain"],
        ["dcap.collateral.tcb_info.signature", "dcap.collateral.signature"],
      ],
    ],
    [
      "an unparsable PCK CRL issuer candidate",
      { pckCrlIssuerChain: [Uint8Array.of(1, 2, 3)] },
      { pckCa: null },
      [["dcap.collateral.pck_crl.issuer", "dcap.collateral.crl_issuer"]],
    ],
    [
      "no PCK CRL issuer anywhere",
      { pckCrlIssuerChain: null },
      { pckCa: null },
      [["dcap.collateral.pck_crl.issuer", "dcap.collateral.crl_issuer"]],
    ],
    [
      "a malformed root CA CRL",
      { rootCaCrl: Uint8Array.of(0x30, 0x00) },
      {},
      [["dcap.collateral.root_ca_crl.parse", "dcap.collateral.crl"]],
    ],
    [
      "the PCK CRL where the root CA CRL belongs, and the other way round",
      { rootCaCrl: "pck" as never, pckCrl: "root" as never },
      {},
      [
        ["dcap.collateral.root_ca_crl.issuer", "dcap.collateral.crl_issuer"],
        ["dcap.collateral.pck_crl.issuer", "dcap.collateral.crl_issuer"],
      ],
    ],
  ];
  for (const [name, patch, opts, want] of missing) {
    it(name, async () => {
      const base = await runFake();
      const c = { ...base.fake.collateral } as DcapCollateral;
      for (const [k, v] of Object.entries(patch)) {
        (c as unknown as Record<string, unknown>)[k] =
          v === "pckLeaf"
            ? [base.quote.pckChain[0]!]
            : v === "root"
              ? k.endsWith("Crl")
                ? base.fake.collateral.rootCaCrl
                : [base.fake.root]
              : v === "pck"
                ? base.fake.collateral.pckCrl
                : v;
      }
      const v = createDcapCollateralVerifier({ root: base.fake.root });
      const r = await v.verify(c, { now: base.fake.now, pckCa: base.quote.pckChain[1]!, ...opts });
      assert.deepEqual(failures(r.checks), want);
    });
  }

  it("missing CRLs warn (crl_unavailable) unless required", async () => {
    const base = await runFake();
    const c = { ...base.fake.collateral, rootCaCrl: null, pckCrl: null };
    const v = createDcapCollateralVerifier({ root: base.fake.root });
    const warn = await v.verify(c, { now: base.fake.now });
    assert.ok(warn.ok);
    assert.deepEqual(
      warn.checks.filter((x) => x.severity === "warning").map((x) => x.code),
      ["dcap.collateral.crl_unavailable", "dcap.collateral.crl_unavailable"],
    );
    const required = await v.verify(c, { now: base.fake.now, requireCrl: true });
    assert.equal(required.ok, false);
    assert.deepEqual(
      failures(required.checks).map(([id]) => id),
      ["dcap.collateral.root_ca_crl", "dcap.collateral.pck_crl"],
    );
  });

  it("messages name the fetch URL when given", async () => {
    const base = await runFake();
    const v = createDcapCollateralVerifier({ root: base.fake.root });
    const r = await v.verify(
      { ...base.fake.collateral, tcbInfo: null, qeIdentity: null },
      {
        now: base.fake.now,
        fetchHint: { tcbInfoUrl: "https://pcs/tcb", qeIdentityUrl: "https://pcs/qe" },
      },
    );
    assert.match(
      r.checks.find((x) => x.id === "dcap.collateral.tcb_info")!.expected!,
      /https:\/\/pcs\/tcb/,
    );
    assert.match(
      r.checks.find((x) => x.id === "dcap.collateral.qe_identity")!.expected!,
      /https:\/\/pcs\/qe/,
    );
  });

  it("a warm verifier answers from its caches, and still judges time at every call", async () => {
    const base = await runFake();
    const v = createDcapCollateralVerifier({ root: base.fake.root });
    const first = await v.verify(base.fake.collateral, {
      now: base.fake.now,
      pckCa: base.quote.pckChain[1]!,
    });
    const second = await v.verify(base.fake.collateral, {
      now: base.fake.now,
      pckCa: base.quote.pckChain[1]!,
    });
    assert.ok(first.ok && second.ok);
    assert.equal(first.tcbInfo, second.tcbInfo);
    const later = await v.verify(base.fake.collateral, {
      now: new Date(base.fake.now.getTime() + 60 * DAY),
    });
    assert.ok(failures(later.checks).some(([, code]) => code === "dcap.collateral.expired"));
    // A cached parse failure is reported again.
    for (let i = 0; i < 2; i++) {
      // A new collateral object each time: the parse cache, not the per-object plan, answers the second.
      const r = await v.verify({ ...base.fake.collateral, tcbInfo: "{" }, { now: base.fake.now });
      assert.deepEqual(failures(r.checks).slice(0, 1), [
        ["dcap.collateral.tcb_info.parse", "dcap.collateral.json"],
      ]);
    }
    const uncached = createDcapCollateralVerifier({ root: base.fake.root, cacheSize: 0 });
    assert.ok(
      (
        await uncached.verify(base.fake.collateral, {
          now: base.fake.now,
          pckCa: base.quote.pckChain[1]!,
        })
      ).ok,
    );
  });

  it("a root CA CRL whose issuer has no CN", async () => {
    const r = await runFake({ collateral: { rootCrl: { issuer: "O=Nobody" } } });
    assert.deepEqual(failures(r.verified.checks), [
      ["dcap.collateral.root_ca_crl.issuer", "dcap.collateral.crl_issuer"],
    ]);
    assert.equal(parseDcapCrl(r.fake.collateral.rootCaCrl).issuerCn, "");
  });

  it("a signed TCB Info without a required member is still refused (signature is not structure)", async () => {
    const r = await runFake({ collateral: { tcbInfo: { fields: { tcbType: undefined } } } });
    assert.deepEqual(failures(r.verified.checks), [
      ["dcap.collateral.tcb_info.parse", "dcap.collateral.field"],
    ]);
  });

  it("windows are inclusive: valid at issueDate and at nextUpdate, not a millisecond outside", async () => {
    const base = await runFake();
    const v = createDcapCollateralVerifier({ root: base.fake.root });
    const tcb = v.verify(base.fake.collateral, { now: base.fake.now });
    const info = (await tcb).tcbInfo!;
    const at = async (ms: number) =>
      failures((await v.verify(base.fake.collateral, { now: new Date(ms) })).checks).filter(
        ([id]) => id.startsWith("dcap.collateral.tcb_info.validity"),
      );
    assert.deepEqual(await at(info.issueDate.getTime()), []);
    assert.deepEqual(await at(info.nextUpdate.getTime()), []);
    assert.deepEqual(await at(info.issueDate.getTime() - 1), [
      ["dcap.collateral.tcb_info.validity", "dcap.collateral.not_yet_valid"],
    ]);
    assert.deepEqual(await at(info.nextUpdate.getTime() + 1), [
      ["dcap.collateral.tcb_info.validity", "dcap.collateral.expired"],
    ]);
  });

  it("a cached CRL is not mistaken for another with the same length and signature", async () => {
    const base = await runFake();
    const v = createDcapCollateralVerifier({ root: base.fake.root });
    const ok = await v.verify(base.fake.collateral, {
      now: base.fake.now,
      pckCa: base.quote.pckChain[1]!,
    });
    assert.ok(ok.ok);
    // Same length, same last 32 bytes (the signature), one byte of the thisUpdate digits changed.
    const twin = base.fake.collateral.pckCrl.slice();
    const at = new TextDecoder("latin1").decode(twin).search(/\d{12}Z/);
    twin[at + 11] = twin[at + 11] === 0x30 ? 0x31 : 0x30;
    const r = await v.verify(
      { ...base.fake.collateral, pckCrl: twin },
      { now: base.fake.now, pckCa: base.quote.pckChain[1]! },
    );
    assert.deepEqual(failures(r.checks), [
      ["dcap.collateral.pck_crl.signature", "dcap.collateral.crl_signature"],
    ]);
    // The same twin at an odd offset (compared byte by byte).
    const odd = new Uint8Array(twin.length + 1);
    odd.set(twin, 1);
    const r2 = await v.verify(
      { ...base.fake.collateral, pckCrl: odd.subarray(1) },
      { now: base.fake.now, pckCa: base.quote.pckChain[1]! },
    );
    assert.deepEqual(failures(r2.checks), [
      ["dcap.collateral.pck_crl.signature", "dcap.collateral.crl_signature"],
    ]);
  });

  it("buffers at any offset (subarrays of a larger buffer) verify the same", async () => {
    const base = await runFake();
    const at1 = (b: Uint8Array) => {
      const big = new Uint8Array(b.length + 1);
      big.set(b, 1);
      return big.subarray(1);
    };
    const c = base.fake.collateral;
    const v = createDcapCollateralVerifier({ root: base.fake.root });
    for (let i = 0; i < 2; i++) {
      const r = await v.verify(
        {
          ...c,
          rootCaCrl: at1(c.rootCaCrl),
          pckCrl: at1(c.pckCrl),
          tcbInfoIssuerChain: c.tcbInfoIssuerChain.map(at1),
        },
        { now: base.fake.now, pckCa: at1(base.quote.pckChain[1]!) },
      );
      assert.deepEqual(failures(r.checks), []);
    }
  });

  it("a copy of the PCK CA (each parsed quote has its own) reuses the plan; an unparsable one is judged", async () => {
    const base = await runFake();
    const v = createDcapCollateralVerifier({ root: base.fake.root });
    const c = { ...base.fake.collateral, pckCrlIssuerChain: null };
    const a = await v.verify(c, { now: base.fake.now, pckCa: base.quote.pckChain[1]!.slice() });
    const b = await v.verify(c, { now: base.fake.now, pckCa: base.quote.pckChain[1]!.slice() });
    assert.ok(a.ok && b.ok);
    assert.equal(a.pckCrl, b.pckCrl);
    for (let i = 0; i < 2; i++) {
      const bad = await v.verify(c, { now: base.fake.now, pckCa: Uint8Array.of(1, 2, 3) });
      assert.deepEqual(failures(bad.checks), [
        ["dcap.collateral.pck_crl.issuer", "dcap.collateral.crl_issuer"],
      ]);
    }
  });

  it("many option sets for one collateral object: each verdict follows its own options", async () => {
    const base = await runFake();
    const v = createDcapCollateralVerifier({ root: base.fake.root });
    const c = { ...base.fake.collateral, pckCrl: null };
    for (let round = 0; round < 2; round++) {
      for (const requireCrl of [false, true]) {
        for (const url of ["a", "b", "c"]) {
          const r = await v.verify(c, {
            now: base.fake.now,
            requireCrl,
            fetchHint: { tcbInfoUrl: url },
          });
          assert.equal(r.ok, !requireCrl);
        }
      }
    }
  });

  it("a verifier with one cache entry per kind still verifies several collaterals", async () => {
    const a = await runFake();
    const b = await runFake({ tee: "tdx" });
    const v = createDcapCollateralVerifier({ root: a.fake.root, cacheSize: 1 });
    for (const r of [a, b, a])
      assert.ok(
        (await v.verify(r.fake.collateral, { now: r.fake.now, pckCa: r.quote.pckChain[1]! })).ok,
      );
  });

  it("a root that is not a certificate is refused at creation", () => {
    const pem = new TextDecoder().decode(
      vectorFile(DCAP_VECTORS[1]!, "derived/tcb_info_issuer_chain.pem").data,
    );
    assert.throws(
      () => createDcapCollateralVerifier({ root: pem }),
      /one PEM CERTIFICATE block, got 2/,
    );
    assert.throws(() => createDcapCollateralVerifier({ root: Uint8Array.of(1, 2, 3) }), {
      code: "dcap.collateral.chain",
    });
    assert.throws(
      () =>
        createDcapCollateralVerifier({
          root: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----",
        }),
      {
        code: "dcap.collateral.chain",
      },
    );
  });
});

// ── parsers: malformed-input tables ────────────────────────────────────────

const phala = byId("sgx/phala-v3-00a067110000");
const phalaTdx = byId("tdx/phala-v4-b0c06f000000");
const sgxTcb = new TextDecoder().decode(vectorFile(phala, "derived/tcb_info.json").data);
const tdxTcb = new TextDecoder().decode(vectorFile(phalaTdx, "derived/tcb_info.json").data);
const sgxQe = new TextDecoder().decode(vectorFile(phala, "derived/qe_identity.json").data);
const v2Tcb = new TextDecoder().decode(
  vectorFile(byId("sgx/dcaprs-v3-00606a000000"), "tcbinfov2.json").data,
);

/** The body with its signed member edited (the signature no longer matters to the parser). */
function edit(body: string, member: string, f: (o: Record<string, unknown>) => void): string {
  const o = JSON.parse(body) as Record<string, Record<string, unknown>>;
  f(o[member]!);
  return JSON.stringify(o);
}

/** A signature of the right form (what it signs does not matter to the parser). */
const SIG = "00".repeat(64);

describe("parseTcbInfo", () => {
  it("reads v3 SGX, v3 TDX and v2 as written", () => {
    const s = parseTcbInfo(sgxTcb);
    assert.equal(s.id, "SGX");
    assert.equal(s.fmspc, "00a067110000");
    assert.equal(s.tcbLevels[0]!.sgxComponents.length, 16);
    assert.equal(s.tdxModule, null);
    assert.ok(sgxTcb.includes(s.signedText));
    const t = parseTcbInfo(new TextEncoder().encode(tdxTcb));
    assert.equal(t.id, "TDX");
    assert.deepEqual(
      t.tdxModuleIdentities?.map((m) => m.id),
      ["TDX_03", "TDX_01"],
    );
    assert.equal(t.tcbLevels[0]!.tdxComponents!.length, 16);
    // Escapes inside strings are JSON, and the signed text keeps them as written.
    const escaped = sgxTcb.replace('{"svn":11}', '{"svn":11,"category":"a\\u0041\\n\\"b\\/"}');
    assert.ok(parseTcbInfo(escaped).signedText.includes('"category":"a\\u0041\\n\\"b\\/"'));
    const v2 = parseTcbInfo(v2Tcb);
    assert.equal(v2.version, 2);
    assert.equal(v2.id, "SGX");
    assert.deepEqual(
      v2.tcbLevels[0]!.sgxComponents,
      [14, 14, 3, 3, 255, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    );
  });

  const T = "tcbInfo";
  const table: [string, string | Uint8Array, string, RegExp][] = [
    ["not JSON", "{", "dcap.collateral.json", /invalid JSON/],
    ["not an object", "[]", "dcap.collateral.json", /expected a JSON object/],
    ["trailing text", `${sgxTcb} x`, "dcap.collateral.json", /trailing/],
    [
      "a duplicated tcbInfo",
      sgxTcb.replace('{"tcbInfo":', '{"tcbInfo":{},"tcbInfo":'),
      "dcap.collateral.json",
      /duplicated member "tcbInfo"/,
    ],
    ["not UTF-8", Uint8Array.of(0x7b, 0xff, 0x7d), "dcap.collateral.json", /UTF-8/],
    ["a bad escape", '{"tcbInfo":"\\x"}', "dcap.collateral.json", /bad escape/],
    ["a bad \\u escape", '{"tcbInfo":"\\u12"}', "dcap.collateral.json", /bad \\u escape/],
    ["a control character", '{"tcbInfo":"\u0001"}', "dcap.collateral.json", /control character/],
    ["an unterminated string", '{"tcbInfo":"abc', "dcap.collateral.json", /unterminated/],
    ["a missing colon", '{"tcbInfo" 1}', "dcap.collateral.json", /expected :/],
    ["a bad separator", '{"tcbInfo":1 "x":2}', "dcap.collateral.json", /expected , or \}/],
    ["a bad array separator", '{"tcbInfo":[1 2]}', "dcap.collateral.json", /expected , or \]/],
    ["a member name that is not a string", "{1:2}", "dcap.collateral.json", /member name/],
    [
      "nesting too deep",
      `{"tcbInfo":${"[".repeat(40)}${"]".repeat(40)}}`,
      "dcap.collateral.json",
      /deeper/,
    ],
    ["a bare word", '{"tcbInfo":nope}', "dcap.collateral.json", /expected a JSON value/],
    [
      "tcbInfo true",
      `{"tcbInfo":true,"signature":"${SIG}"}`,
      "dcap.collateral.field",
      /TCB Info\.tcbInfo: expected an object, got boolean true/,
    ],
    [
      "tcbInfo false",
      `{"tcbInfo":false,"signature":"${SIG}"}`,
      "dcap.collateral.field",
      /got boolean false/,
    ],
    ["tcbInfo null", `{"tcbInfo":null,"signature":"${SIG}"}`, "dcap.collateral.field", /got null/],
    [
      "tcbInfo an array",
      `{"tcbInfo":[],"signature":"${SIG}"}`,
      "dcap.collateral.field",
      /got an array/,
    ],
    [
      "tcbInfo an empty object",
      `{"tcbInfo":{},"signature":"${SIG}"}`,
      "dcap.collateral.version",
      /got absent/,
    ],
    [
      "no signature",
      edit(sgxTcb, T, () => {}).replace(/,"signature":"[0-9a-f]+"/, ""),
      "dcap.collateral.field",
      /signature: missing/,
    ],
    [
      "an extra top-level member",
      sgxTcb.replace('{"tcbInfo":', '{"x":1,"tcbInfo":'),
      "dcap.collateral.field",
      /x: unknown member/,
    ],
    [
      "a short signature",
      sgxTcb.replace(/"signature":"[0-9a-f]{2}/, '"signature":"'),
      "dcap.collateral.field",
      /signature: expected 128 hex digits/,
    ],
    [
      "version 4",
      edit(sgxTcb, T, (o) => (o.version = 4)),
      "dcap.collateral.version",
      /version 2 or 3/,
    ],
    ["id XYZ", edit(sgxTcb, T, (o) => (o.id = "XYZ")), "dcap.collateral.id", /SGX or TDX/],
    [
      "an unknown member",
      edit(sgxTcb, T, (o) => (o.extra = 1)),
      "dcap.collateral.field",
      /tcbInfo\.extra: unknown member/,
    ],
    [
      "fmspc too short",
      edit(sgxTcb, T, (o) => (o.fmspc = "00A0")),
      "dcap.collateral.field",
      /fmspc: expected 12 hex digits/,
    ],
    ["pceId not hex", edit(sgxTcb, T, (o) => (o.pceId = "zzzz")), "dcap.collateral.field", /pceId/],
    [
      "a bad date",
      edit(sgxTcb, T, (o) => (o.issueDate = "2025-06-19")),
      "dcap.collateral.field",
      /issueDate: expected an ISO 8601/,
    ],
    [
      "an impossible date",
      edit(sgxTcb, T, (o) => (o.nextUpdate = "2025-13-45T99:00:00Z")),
      "dcap.collateral.field",
      /nextUpdate/,
    ],
    [
      "tcbType a string",
      edit(sgxTcb, T, (o) => (o.tcbType = "0")),
      "dcap.collateral.field",
      /tcbType: expected an integer/,
    ],
    [
      "no levels",
      edit(sgxTcb, T, (o) => (o.tcbLevels = [])),
      "dcap.collateral.field",
      /tcbLevels: empty/,
    ],
    [
      "levels not an array",
      edit(sgxTcb, T, (o) => (o.tcbLevels = {})),
      "dcap.collateral.field",
      /tcbLevels: expected an array/,
    ],
    [
      "a level not an object",
      edit(sgxTcb, T, (o) => (o.tcbLevels = [1])),
      "dcap.collateral.field",
      /tcbLevels\[0\]: expected an object, got number/,
    ],
    [
      "15 components",
      edit(sgxTcb, T, (o) =>
        (o.tcbLevels as { tcb: { sgxtcbcomponents: unknown[] } }[])[0]!.tcb.sgxtcbcomponents.pop(),
      ),
      "dcap.collateral.field",
      /sgxtcbcomponents: expected 16 components, got 15/,
    ],
    [
      "an SVN of 256",
      edit(
        sgxTcb,
        T,
        (o) =>
          ((o.tcbLevels as { tcb: { sgxtcbcomponents: { svn: number }[] } }[])[1]!.tcb
            .sgxtcbcomponents[3]!.svn = 256),
      ),
      "dcap.collateral.field",
      /tcbLevels\[1\]\.tcb\.sgxtcbcomponents\[3\]\.svn: expected an integer 0–255/,
    ],
    [
      "a component category that is not a string",
      edit(
        sgxTcb,
        T,
        (o) =>
          ((o.tcbLevels as { tcb: { sgxtcbcomponents: object[] } }[])[0]!.tcb.sgxtcbcomponents[0] =
            { svn: 1, category: 5 }),
      ),
      "dcap.collateral.field",
      /category: expected a string/,
    ],
    [
      "a component type that is not a string",
      edit(
        sgxTcb,
        T,
        (o) =>
          ((o.tcbLevels as { tcb: { sgxtcbcomponents: object[] } }[])[0]!.tcb.sgxtcbcomponents[0] =
            { svn: 1, type: null }),
      ),
      "dcap.collateral.field",
      /type: expected a string, got null/,
    ],
    [
      "an unknown status",
      edit(sgxTcb, T, (o) => ((o.tcbLevels as { tcbStatus: string }[])[0]!.tcbStatus = "Fine")),
      "dcap.collateral.field",
      /tcbStatus: expected one of UpToDate/,
    ],
    [
      "an advisory ID of the wrong form",
      edit(
        sgxTcb,
        T,
        (o) => ((o.tcbLevels as { advisoryIDs: string[] }[])[0]!.advisoryIDs = ["SA-1"]),
      ),
      "dcap.collateral.field",
      /advisoryIDs\[0\]: expected INTEL-SA-NNNNN/,
    ],
    [
      "tdxtcbcomponents in SGX TCB Info",
      edit(
        sgxTcb,
        T,
        (o) => ((o.tcbLevels as { tcb: Record<string, unknown> }[])[0]!.tcb.tdxtcbcomponents = []),
      ),
      "dcap.collateral.field",
      /tdxtcbcomponents: unknown member/,
    ],
    [
      "tdxModule in SGX TCB Info",
      edit(sgxTcb, T, (o) => (o.tdxModule = {})),
      "dcap.collateral.field",
      /tdxModule: unknown member/,
    ],
    [
      "TDX without tdxModule",
      edit(tdxTcb, T, (o) => delete o.tdxModule),
      "dcap.collateral.field",
      /tdxModule: missing/,
    ],
    [
      "TDX without tdxtcbcomponents",
      edit(
        tdxTcb,
        T,
        (o) => delete (o.tcbLevels as { tcb: Record<string, unknown> }[])[0]!.tcb.tdxtcbcomponents,
      ),
      "dcap.collateral.field",
      /tdxtcbcomponents: missing/,
    ],
    [
      "a tdxModule mrsigner of 32 bytes",
      edit(tdxTcb, T, (o) => ((o.tdxModule as { mrsigner: string }).mrsigner = "00".repeat(32))),
      "dcap.collateral.field",
      /tdxModule\.mrsigner: expected 96 hex digits/,
    ],
    [
      "a module identity id of the wrong form",
      edit(tdxTcb, T, (o) => ((o.tdxModuleIdentities as { id: string }[])[0]!.id = "TDX-1")),
      "dcap.collateral.field",
      /id: expected TDX_XX/,
    ],
    [
      "a module identity without levels",
      edit(
        tdxTcb,
        T,
        (o) => ((o.tdxModuleIdentities as { tcbLevels: unknown[] }[])[0]!.tcbLevels = []),
      ),
      "dcap.collateral.field",
      /tdxModuleIdentities\[0\]\.tcbLevels: empty/,
    ],
    [
      "a module level status ConfigurationNeeded",
      edit(
        tdxTcb,
        T,
        (o) =>
          ((o.tdxModuleIdentities as { tcbLevels: { tcbStatus: string }[] }[])[0]!
            .tcbLevels[0]!.tcbStatus = "ConfigurationNeeded"),
      ),
      "dcap.collateral.field",
      /expected one of UpToDate, OutOfDate, Revoked/,
    ],
    [
      "v2 with sgxtcbcomponents",
      edit(
        v2Tcb,
        T,
        (o) => ((o.tcbLevels as { tcb: Record<string, unknown> }[])[0]!.tcb.sgxtcbcomponents = []),
      ),
      "dcap.collateral.field",
      /sgxtcbcomponents: unknown member/,
    ],
    [
      "v2 without sgxtcbcomp16svn",
      edit(
        v2Tcb,
        T,
        (o) => delete (o.tcbLevels as { tcb: Record<string, unknown> }[])[0]!.tcb.sgxtcbcomp16svn,
      ),
      "dcap.collateral.field",
      /sgxtcbcomp16svn: missing/,
    ],
    [
      "v2 with an id",
      edit(v2Tcb, T, (o) => (o.id = "SGX")),
      "dcap.collateral.field",
      /id: unknown member/,
    ],
  ];
  for (const [name, body, code, message] of table) {
    it(`rejects ${name}: ${code}`, () => {
      assert.throws(
        () => parseTcbInfo(body),
        (e: unknown) => e instanceof EvidenceError && e.code === code && message.test(e.message),
      );
    });
  }
});

describe("parseQeIdentity", () => {
  it("reads QE and TD_QE", () => {
    const q = parseQeIdentity(sgxQe);
    assert.equal(q.id, "QE");
    assert.equal(q.isvProdId, 1);
    assert.equal(q.mrSigner.length, 32);
  });
  const E = "enclaveIdentity";
  const table: [string, string, string, RegExp][] = [
    [
      "version 1",
      edit(sgxQe, E, (o) => (o.version = 1)),
      "dcap.collateral.version",
      /Enclave Identity version 2/,
    ],
    ["id QAE", edit(sgxQe, E, (o) => (o.id = "QAE")), "dcap.collateral.id", /QE, TD_QE or QVE/],
    [
      "an unknown member",
      edit(sgxQe, E, (o) => (o.x = 1)),
      "dcap.collateral.field",
      /enclaveIdentity\.x: unknown member/,
    ],
    [
      "no mrsigner",
      edit(sgxQe, E, (o) => delete o.mrsigner),
      "dcap.collateral.field",
      /mrsigner: missing/,
    ],
    [
      "isvprodid 70000",
      edit(sgxQe, E, (o) => (o.isvprodid = 70000)),
      "dcap.collateral.field",
      /isvprodid: expected an integer 0–65535/,
    ],
    [
      "miscselect of 3 bytes",
      edit(sgxQe, E, (o) => (o.miscselect = "000000")),
      "dcap.collateral.field",
      /miscselect: expected 8 hex digits/,
    ],
    [
      "no levels",
      edit(sgxQe, E, (o) => (o.tcbLevels = [])),
      "dcap.collateral.field",
      /tcbLevels: empty/,
    ],
    [
      "a level without isvsvn",
      edit(sgxQe, E, (o) => ((o.tcbLevels as { tcb: object }[])[0]!.tcb = {})),
      "dcap.collateral.field",
      /tcb\.isvsvn: missing/,
    ],
    [
      "a level with an extra member",
      edit(sgxQe, E, (o) => ((o.tcbLevels as Record<string, unknown>[])[0]!.x = 1)),
      "dcap.collateral.field",
      /tcbLevels\[0\]\.x: unknown member/,
    ],
    [
      "the TCB Info member",
      sgxQe.replace('"enclaveIdentity"', '"tcbInfo"'),
      "dcap.collateral.field",
      /enclaveIdentity: missing/,
    ],
    [
      "an id that is not a string",
      edit(sgxQe, E, (o) => (o.id = 1)),
      "dcap.collateral.field",
      /id: expected a string, got number/,
    ],
  ];
  for (const [name, body, code, message] of table) {
    it(`rejects ${name}: ${code}`, () => {
      assert.throws(
        () => parseQeIdentity(body),
        (e: unknown) => e instanceof EvidenceError && e.code === code && message.test(e.message),
      );
    });
  }
});

describe("parseDcapCrl", () => {
  const der = vectorFile(phala, "derived/root_ca_crl.der").data;
  const b64 = btoa(String.fromCharCode(...der));
  it("reads DER, PEM text and bytes, and PCCS hex", () => {
    for (const input of [
      der,
      `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`,
      new TextEncoder().encode(`-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`),
      Array.from(der, (b) => b.toString(16).padStart(2, "0")).join(""),
      `-----BEGIN CRL-----\n${b64}\n-----END CRL-----\n`,
    ]) {
      const c = parseDcapCrl(input);
      assert.equal(c.issuerCn, "Intel SGX Root CA");
      assert.deepEqual(c.der, der);
    }
  });
  it("normalizes serials for lookup", () => {
    assert.equal(normalizeSerial("000ABc"), "abc");
    assert.equal(normalizeSerial("00"), "0");
  });
  const table: [string, Uint8Array | string, RegExp][] = [
    ["empty", new Uint8Array(0), /empty/],
    [
      "two PEM blocks",
      `-----BEGIN X509 CRL-----\n${b64}\n-----END X509 CRL-----\n`.repeat(2),
      /one PEM X509 CRL block, got 2/,
    ],
    ["text", "hello", /neither DER, PEM nor hex/],
    ["DER that is not a CRL", Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00), /does not parse/],
  ];
  for (const [name, input, message] of table) {
    it(`rejects ${name}`, () => {
      assert.throws(
        () => parseDcapCrl(input),
        (e: unknown) =>
          e instanceof EvidenceError && e.code === "dcap.collateral.crl" && message.test(e.message),
      );
    });
  }
});
