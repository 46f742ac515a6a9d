/**
 * quote_verify.ts against every real quote of ../shared/vectors/sgx and tdx at
 * its documented verification time (index.json "attime") with its CRLs, the
 * tampered variants, the documented time-based negatives, a wrong root, and
 * CRL freshness and issuers; and testkit's fake Intel hierarchy (genuine
 * signatures under a fake root, passed explicitly) for what real vectors
 * cannot show: a revoked PCK certificate and PCK CA, a QE binding mismatch, a
 * bad QE report signature, certificates in the wrong role, a bad pinned root.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, it } from "node:test";
import { type FakeIntel, fakeIntel } from "@donjon/testkit";
// The fake hierarchy's fixed TEST-ONLY keys: a CRL of the fake PCK CA, and
// certificates in the wrong role, need the CA's and the root's private keys.
import { INTEL_PCK_CA_KEY, INTEL_ROOT_KEY } from "../../../testkit/src/_intel_keys.ts";
import { toHex } from "../_bytes.ts";
import * as x509 from "../_x509.ts";
import { QUOTE_VECTORS, quoteVector, readVector, VECTORS } from "./_test_quote_vectors.ts";
import { parseDcapQuote } from "./abi.ts";
import {
  createDcapQuoteVerifier,
  type DcapQuoteVerifyOptions,
  type DcapQuoteVerifyResult,
  verifyDcapQuoteSignatures,
} from "./quote_verify.ts";
import { INTEL_SGX_ROOT_CA, INTEL_SGX_ROOT_CA_SHA256 } from "./roots/intel.ts";
import type { DcapQuote } from "./types.ts";

const at = (iso: string) => new Date(iso);

/** `id:code` of every failed check (severity error), sorted. */
function failed(r: DcapQuoteVerifyResult): string[] {
  return r.checks
    .filter((c) => !c.ok && c.severity !== "warning")
    .map((c) => `${c.id}:${c.code}`)
    .sort();
}

function check(r: DcapQuoteVerifyResult, id: string) {
  const c = r.checks.find((x) => x.id === id);
  assert.ok(c, `no check ${id} in ${r.checks.map((x) => x.id).join(", ")}`);
  return c;
}

function quoteOf(file: string): DcapQuote {
  return parseDcapQuote(readVector(file), { allowTrailing: true });
}

const verifier = createDcapQuoteVerifier();

/** The check ids every verification of a well-formed quote reports, in order. */
const CHAIN_IDS = [
  "dcap.verify.qe_vendor",
  "dcap.verify.quote_signature",
  "dcap.verify.qe_report_data",
  "dcap.verify.root",
  "dcap.verify.chain.root",
  "dcap.verify.chain.pck_ca",
  "dcap.verify.chain.pck",
  "dcap.verify.ca.pck_ca",
  "dcap.verify.ca.pck",
  "dcap.verify.validity.pck",
  "dcap.verify.validity.pck_ca",
  "dcap.verify.validity.root",
  "dcap.verify.pck_extensions",
  "dcap.verify.qe_report_signature",
];
const CRL_IDS = [
  "dcap.verify.crl.root_ca.issuer",
  "dcap.verify.crl.root_ca.signature",
  "dcap.verify.crl.root_ca.fresh",
  "dcap.verify.revoked.pck_ca",
  "dcap.verify.crl.pck.issuer",
  "dcap.verify.crl.pck.signature",
  "dcap.verify.crl.pck.fresh",
  "dcap.verify.revoked.pck",
];

describe("verifyDcapQuoteSignatures: real quotes at their documented time", () => {
  for (const v of QUOTE_VECTORS) {
    it(`${v.id} at ${v.at}${v.crls ? " with its CRLs" : ""}: every check passes`, async () => {
      const q = quoteOf(v.file);
      const crls = v.crls && {
        rootCaCrl: readVector(v.crls.rootCa),
        pckCrl: readVector(v.crls.pck),
      };
      const r = await verifier.verify(q, { now: at(v.at), ...(crls ? { crls } : {}) });
      assert.deepEqual(failed(r), []);
      assert.equal(r.ok, true);
      if (crls) {
        assert.deepEqual(
          r.checks.map((c) => c.id),
          [...CHAIN_IDS, ...CRL_IDS],
        );
        assert.ok(r.checks.every((c) => c.ok));
      } else {
        // No CRLs come with this vector: two warnings, verification still passes.
        assert.deepEqual(
          r.checks.map((c) => c.id),
          [...CHAIN_IDS, "dcap.verify.crl.root_ca", "dcap.verify.crl.pck"],
        );
        for (const id of ["dcap.verify.crl.root_ca", "dcap.verify.crl.pck"]) {
          const c = check(r, id);
          assert.equal(c.ok, true);
          assert.equal(c.severity, "warning");
          assert.equal(c.code, "dcap.collateral.crl_unavailable");
          assert.match(c.actual!, /revocation of the (PCK CA|PCK certificate) not checked/);
        }
      }
      assert.equal(r.pck?.ca, v.ca);
      assert.equal(r.pck?.fmspc, v.id.match(/-([0-9a-f]{12})/)![1]);
    });
  }

  it("the one-shot verifier gives the same verdict as a shared one", async () => {
    const v = quoteVector("sgx/phala-v3-00a067110000");
    const r = await verifyDcapQuoteSignatures(quoteOf(v.file), { now: at(v.at) });
    assert.equal(r.ok, true);
    assert.equal(r.pck?.sgxType, "standard");
  });

  it("the pinned root is the Intel SGX Root CA of ../shared/vectors, SHA-256 44a0196b…", async () => {
    const der = new x509.X509Certificate(INTEL_SGX_ROOT_CA).rawData;
    const sha = toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", der)));
    assert.equal(sha, INTEL_SGX_ROOT_CA_SHA256);
    assert.equal(sha, "44a0196b2b99f889b8e149e95b807a350e7424964399e885a7cbb8ccfab674d3");
    assert.deepEqual(new Uint8Array(der), readVector("roots/intel/Intel_SGX_Root_CA.der"));
    assert.ok(
      fs.readFileSync(path.join(import.meta.dirname, "roots/SOURCES.md"), "utf8").includes(sha),
    );
  });
});

describe("verifyDcapQuoteSignatures: tampered and negative vectors", () => {
  const PHALA = quoteVector("sgx/phala-v3-00a067110000");
  const GTG = quoteVector("tdx/gtg-v4-50806f000000-spr-e4");
  const table: [string, string, string, string[]][] = [
    // index.json "#tampered-body" / "#tampered-qe-report" (Phala, local negatives).
    [
      "phala body byte",
      "sgx/phala-v3-00a067110000/tampered/quote_mrenclave0_xor01",
      PHALA.at,
      ["dcap.verify.quote_signature:dcap.verify.quote_signature"],
    ],
    [
      "phala QE report ISVSVN",
      "sgx/phala-v3-00a067110000/tampered/quote_qereport_isvsvn_xor01",
      PHALA.at,
      ["dcap.verify.qe_report_signature:dcap.verify.qe_report_signature"],
    ],
    // go-tdx-guest TestNegativeVerification (README "tdx/gtg…", table of eight).
    [
      "gtg header byte 0x1e",
      "tdx/gtg-v4-50806f000000-spr-e4/tampered/header_byte_0x1e.dat",
      GTG.at,
      ["dcap.verify.quote_signature:dcap.verify.quote_signature"],
    ],
    [
      "gtg TD body byte 0x3c",
      "tdx/gtg-v4-50806f000000-spr-e4/tampered/td_body_byte_0x3c.dat",
      GTG.at,
      ["dcap.verify.quote_signature:dcap.verify.quote_signature"],
    ],
    [
      "gtg root certificate byte 0x1329",
      "tdx/gtg-v4-50806f000000-spr-e4/tampered/root_cert_byte_0x1329.dat",
      GTG.at,
      ["dcap.verify.chain.root:dcap.verify.untrusted_root"],
    ],
    [
      "gtg PCK CA certificate byte 0xf5f",
      "tdx/gtg-v4-50806f000000-spr-e4/tampered/intermediate_cert_byte_0xf5f.dat",
      GTG.at,
      ["dcap.verify.chain.pck_ca:dcap.verify.chain"],
    ],
    [
      "gtg PCK certificate byte 0xb77",
      "tdx/gtg-v4-50806f000000-spr-e4/tampered/pck_cert_byte_0xb77.dat",
      GTG.at,
      ["dcap.verify.chain.pck:dcap.verify.chain"],
    ],
    // index.json "#trailing-pck-not-yet-valid": the PCK was issued 2024-09-20.
    [
      "oasis trailing quote at 2024-09-02",
      "tdx/oasis-v4-c0806f000000/quote_v4_tdx_ecdsa_p256_trailing.bin",
      "2024-09-02T07:43:52Z",
      ["dcap.verify.validity.pck:dcap.verify.not_yet_valid"],
    ],
    // README "sgx/oasis…": the repository's own time-based negatives.
    [
      "oasis SGX at 2029-12-05 (PCK expired)",
      "sgx/oasis-v3-00606a000000/quote_v3_ecdsa_p256_pck_chain.bin",
      "2029-12-05T15:52:02Z",
      ["dcap.verify.validity.pck:dcap.verify.expired"],
    ],
    [
      "oasis SGX at 2022-12-05 (PCK not yet valid)",
      "sgx/oasis-v3-00606a000000/quote_v3_ecdsa_p256_pck_chain.bin",
      "2022-12-05T11:12:00Z",
      ["dcap.verify.validity.pck:dcap.verify.not_yet_valid"],
    ],
    // README "tdx/gtg…": at 2053-07-01 the PCK has expired (go-tdx-guest futureTime); so have the PCK CA and the root.
    [
      "gtg at 2053-07-01",
      GTG.file,
      "2053-07-01T00:00:00Z",
      [
        "dcap.verify.validity.pck:dcap.verify.expired",
        "dcap.verify.validity.pck_ca:dcap.verify.expired",
        "dcap.verify.validity.root:dcap.verify.expired",
      ],
    ],
  ];
  for (const [name, file, when, want] of table) {
    it(`${name} → ${want.join(", ")}`, async () => {
      const r = await verifier.verify(quoteOf(file), { now: at(when) });
      assert.deepEqual(failed(r), want);
      assert.equal(r.ok, false);
      for (const c of r.checks.filter((x) => !x.ok)) {
        assert.ok(c.expected && c.actual && c.remedy, `${c.id} has expected, actual and remedy`);
      }
    });
  }

  it("a quote whose chain ends in another root fails on the root and on the PCK CA's issuer", async () => {
    const intel = await fakeIntel();
    const r = await verifyDcapQuoteSignatures(quoteOf(PHALA.file), {
      now: at(PHALA.at),
      root: intel.root,
    });
    assert.deepEqual(failed(r), [
      "dcap.verify.chain.pck_ca:dcap.verify.chain",
      "dcap.verify.chain.root:dcap.verify.untrusted_root",
    ]);
    assert.match(
      check(r, "dcap.verify.chain.root").actual!,
      /bytes that differ from the pinned root's/,
    );
  });

  it("the pinned root may be given as DER or PEM", async () => {
    for (const root of [
      readVector("roots/intel/Intel_SGX_Root_CA.der"),
      fs.readFileSync(path.join(VECTORS, "roots/intel/Intel_SGX_Root_CA.pem"), "utf8"),
    ]) {
      const r = await verifyDcapQuoteSignatures(quoteOf(PHALA.file), { now: at(PHALA.at), root });
      assert.deepEqual(failed(r), []);
    }
  });

  it("Phala SGX now (2026-11-27): signatures and chain still verify, both CRLs are stale", async () => {
    const v = PHALA;
    const r = await verifier.verify(quoteOf(v.file), {
      now: at("2026-11-27T00:00:00Z"),
      crls: { rootCaCrl: readVector(v.crls!.rootCa), pckCrl: readVector(v.crls!.pck) },
    });
    assert.deepEqual(failed(r), [
      "dcap.verify.crl.pck.fresh:dcap.collateral.crl_stale",
      "dcap.verify.crl.root_ca.fresh:dcap.collateral.crl_stale",
    ]);
  });

  it("a CRL judged before its thisUpdate is not yet valid", async () => {
    const v = quoteVector("sgx/dcaprs-v3-00606a000000");
    const r = await verifier.verify(quoteOf(v.file), {
      now: at("2024-03-01T00:00:00Z"), // root CA CRL issued 2024-03-20, PCK CRL 2025-02-13
      crls: { rootCaCrl: readVector(v.crls!.rootCa), pckCrl: readVector(v.crls!.pck) },
    });
    assert.deepEqual(failed(r), [
      "dcap.verify.crl.pck.fresh:dcap.collateral.crl_not_yet_valid",
      "dcap.verify.crl.root_ca.fresh:dcap.collateral.crl_not_yet_valid",
    ]);
  });

  it("a Platform CA CRL for a Processor-CA PCK, and the root CA CRL as a PCK CRL, have the wrong issuer", async () => {
    const r = await verifier.verify(quoteOf(PHALA.file), {
      now: at(PHALA.at),
      crls: {
        rootCaCrl: readVector(PHALA.crls!.pck),
        pckCrl: readVector(quoteVector("tdx/phala-v4-b0c06f000000").crls!.pck),
      },
    });
    assert.deepEqual(failed(r), [
      "dcap.verify.crl.pck.issuer:dcap.collateral.crl_issuer",
      "dcap.verify.crl.root_ca.issuer:dcap.collateral.crl_issuer",
    ]);
    assert.match(check(r, "dcap.verify.crl.pck.issuer").actual!, /Intel SGX PCK Platform CA/);
    assert.match(check(r, "dcap.verify.crl.pck.issuer").expected!, /Intel SGX PCK Processor CA/);
  });

  it("CRLs as PEM text and as parsed X509Crl objects are read too", async () => {
    const v = quoteVector("tdx/dcaprs-v4-00806f050000");
    const pem = new x509.X509Crl(readVector(v.crls!.rootCa)).toString("pem");
    const r = await verifier.verify(quoteOf(v.file), {
      now: at(v.at),
      crls: { rootCaCrl: pem, pckCrl: new x509.X509Crl(readVector(v.crls!.pck)) },
    });
    assert.deepEqual(failed(r), []);
    assert.ok(r.checks.some((c) => c.id === "dcap.verify.revoked.pck"));
  });

  it("an unparsable CRL fails as dcap.collateral.crl and checks nothing else", async () => {
    const r = await verifier.verify(quoteOf(PHALA.file), {
      now: at(PHALA.at),
      crls: {
        rootCaCrl: new Uint8Array([0x30, 0x03, 1, 2, 3]),
        pckCrl: "-----BEGIN X509 CRL-----\n-----END X509 CRL-----\n",
      },
    });
    assert.deepEqual(failed(r), [
      "dcap.verify.crl.pck:dcap.collateral.crl",
      "dcap.verify.crl.root_ca:dcap.collateral.crl",
    ]);
    const text = await verifier.verify(quoteOf(PHALA.file), {
      now: at(PHALA.at),
      crls: { pckCrl: "not a CRL" },
    });
    assert.match(check(text, "dcap.verify.crl.pck").actual!, /no PEM "CRL" block/);
  });

  it("requireCrl turns a missing CRL into a failure", async () => {
    const v = quoteVector("tdx/oasis-v4-c0806f000000");
    const r = await verifier.verify(quoteOf(v.file), {
      now: at(v.at),
      requireCrl: true,
      crls: { rootCaCrl: null },
    });
    assert.deepEqual(failed(r), [
      "dcap.verify.crl.pck:dcap.collateral.crl_unavailable",
      "dcap.verify.crl.root_ca:dcap.collateral.crl_unavailable",
    ]);
    assert.match(check(r, "dcap.verify.crl.pck").expected!, /requireCrl is set/);
  });

  it("checkRevocation false runs no CRL check (revocation judged by the collateral side)", async () => {
    const v = quoteVector("tdx/oasis-v4-c0806f000000");
    const r = await verifier.verify(quoteOf(v.file), {
      now: at(v.at),
      requireCrl: true,
      checkRevocation: false,
    });
    assert.deepEqual(
      r.checks.map((c) => c.id),
      CHAIN_IDS,
    );
    assert.equal(r.ok, true);
  });
});

// ── the fake Intel hierarchy: what real vectors cannot show ────────────────────

const P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

async function privateKey(pem: string): Promise<CryptoKey> {
  const der = Uint8Array.from(
    atob(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "")),
    (c) => c.charCodeAt(0),
  );
  return crypto.subtle.importKey("pkcs8", der, P256, false, ["sign"]);
}

interface Fake {
  intel: FakeIntel;
  sgx: Uint8Array;
  tdx: Uint8Array;
  root: x509.X509Certificate;
  ca: x509.X509Certificate;
  pck: x509.X509Certificate;
  caKey: CryptoKey;
  rootKey: CryptoKey;
  opts: DcapQuoteVerifyOptions & { root: Uint8Array };
}

let F: Fake;

before(async () => {
  const intel = await fakeIntel();
  F = {
    intel,
    sgx: await intel.sgxQuote({ reportData: new Uint8Array(64).fill(0x42) }),
    tdx: await intel.tdxQuote({ reportData: new Uint8Array(64).fill(0x43) }),
    root: new x509.X509Certificate(intel.root as Uint8Array<ArrayBuffer>),
    ca: new x509.X509Certificate(intel.pckCa as Uint8Array<ArrayBuffer>),
    pck: new x509.X509Certificate(intel.pck as Uint8Array<ArrayBuffer>),
    caKey: await privateKey(INTEL_PCK_CA_KEY),
    rootKey: await privateKey(INTEL_ROOT_KEY),
    opts: { now: intel.now, root: intel.root },
  };
});

/** A CRL of `issuer` (default: the fake PCK CA) signed by `key`. */
async function fakeCrl(o: {
  issuer?: string;
  key?: CryptoKey;
  revoked?: string[];
  nextUpdate?: Date | null;
}): Promise<Uint8Array> {
  const now = F.intel.now;
  const crl = await x509.X509CrlGenerator.create({
    issuer: o.issuer ?? F.ca.subject,
    thisUpdate: new Date(now.getTime() - 86_400_000),
    nextUpdate:
      o.nextUpdate === null
        ? undefined
        : (o.nextUpdate ?? new Date(now.getTime() + 30 * 86_400_000)),
    entries: (o.revoked ?? []).map((serialNumber) => ({
      serialNumber,
      revocationDate: new Date(now.getTime() - 2 * 86_400_000),
    })),
    signingKey: o.key ?? F.caKey,
    signingAlgorithm: SIGN,
  });
  return new Uint8Array(crl.rawData);
}

/** A certificate signed by `signer` with the given subject/issuer/extensions and a fresh key of `curve`. */
async function fakeCert(o: {
  subject: string;
  issuer: string;
  signer: CryptoKey;
  extensions: x509.Extension[];
  curve?: "P-256" | "P-384";
  publicKey?: CryptoKey;
}): Promise<Uint8Array> {
  const keys = (await crypto.subtle.generateKey(
    { name: "ECDSA", namedCurve: o.curve ?? "P-256" },
    true,
    ["sign", "verify"],
  )) as CryptoKeyPair;
  const c = await x509.X509CertificateGenerator.create({
    serialNumber: "0a",
    subject: o.subject,
    issuer: o.issuer,
    notBefore: new Date(F.intel.now.getTime() - 86_400_000),
    notAfter: new Date(F.intel.now.getTime() + 86_400_000),
    publicKey: o.publicKey ?? keys.publicKey,
    signingKey: o.signer,
    signingAlgorithm: SIGN,
    extensions: o.extensions,
  });
  return new Uint8Array(c.rawData);
}

/** The fake SGX quote, parsed, with some fields replaced. */
function fakeQuote(over: Partial<DcapQuote> = {}): DcapQuote {
  return { ...parseDcapQuote(F.sgx), ...over };
}

/** Byte offsets in a fake SGX v3 quote (LAYOUTS.md §2.1): the signature data starts at 436. */
const SD = 436;
const QE_SIG = SD + 512;
const QE_AUTH = SD + 578;

function flip(bytes: Uint8Array, at: number): Uint8Array {
  const out = new Uint8Array(bytes);
  out[at]! ^= 0x01;
  return out;
}

describe("verifyDcapQuoteSignatures: a fake Intel hierarchy (root passed explicitly)", () => {
  it("the fake SGX v3 and TDX v4 quotes verify under the fake root, and not under Intel's", async () => {
    for (const bytes of [F.sgx, F.tdx]) {
      const r = await verifyDcapQuoteSignatures(parseDcapQuote(bytes), F.opts);
      assert.deepEqual(failed(r), []);
      assert.equal(r.pck?.fmspc, "00606a000000");
      assert.equal(r.pck?.ca, "platform");
      const intel = await verifier.verify(parseDcapQuote(bytes), { now: F.intel.now });
      assert.deepEqual(failed(intel), [
        "dcap.verify.chain.pck_ca:dcap.verify.chain",
        "dcap.verify.chain.root:dcap.verify.untrusted_root",
      ]);
    }
  });

  it("a revoked PCK certificate (PCK CRL) and a revoked PCK CA (root CA CRL) fail as dcap.collateral.revoked", async () => {
    const crls = {
      pckCrl: await fakeCrl({ revoked: [F.pck.serialNumber] }),
      rootCaCrl: await fakeCrl({
        issuer: F.root.subject,
        key: F.rootKey,
        revoked: [F.ca.serialNumber],
      }),
    };
    const r = await verifyDcapQuoteSignatures(parseDcapQuote(F.tdx), { ...F.opts, crls });
    assert.deepEqual(failed(r), [
      "dcap.verify.revoked.pck:dcap.collateral.revoked",
      "dcap.verify.revoked.pck_ca:dcap.collateral.revoked",
    ]);
    assert.match(
      check(r, "dcap.verify.revoked.pck").actual!,
      /^revoked on 2025-05-30T00:00:00\.000Z$/,
    );
    assert.match(check(r, "dcap.verify.revoked.pck").expected!, /serial 03/);
    // The same CRLs revoking other serials: nothing fails.
    const other = {
      pckCrl: await fakeCrl({ revoked: ["7f"] }),
      rootCaCrl: await fakeCrl({ issuer: F.root.subject, key: F.rootKey, revoked: ["7e"] }),
    };
    const ok = await verifyDcapQuoteSignatures(parseDcapQuote(F.tdx), { ...F.opts, crls: other });
    assert.deepEqual(failed(ok), []);
    assert.equal(check(ok, "dcap.verify.revoked.pck").ok, true);
  });

  it("a CRL with the right issuer name but another signer fails its signature, and its entries are not trusted", async () => {
    const crls = { pckCrl: await fakeCrl({ key: F.rootKey, revoked: [F.pck.serialNumber] }) };
    const r = await verifyDcapQuoteSignatures(parseDcapQuote(F.sgx), { ...F.opts, crls });
    assert.deepEqual(failed(r), ["dcap.verify.crl.pck.signature:dcap.collateral.crl_signature"]);
    assert.equal(
      r.checks.some((c) => c.id === "dcap.verify.revoked.pck"),
      false,
    );
  });

  it("a CRL without nextUpdate is stale", async () => {
    const crls = { pckCrl: await fakeCrl({ nextUpdate: null }) };
    const r = await verifyDcapQuoteSignatures(parseDcapQuote(F.sgx), { ...F.opts, crls });
    assert.deepEqual(failed(r), ["dcap.verify.crl.pck.fresh:dcap.collateral.crl_stale"]);
    assert.match(check(r, "dcap.verify.crl.pck.fresh").actual!, /nextUpdate absent/);
  });

  it("QE authentication data altered: the binding fails, every signature still verifies", async () => {
    const r = await verifyDcapQuoteSignatures(parseDcapQuote(flip(F.sgx, QE_AUTH + 3)), F.opts);
    assert.deepEqual(failed(r), ["dcap.verify.qe_report_data:dcap.verify.qe_report_data"]);
    assert.match(
      check(r, "dcap.verify.qe_report_data").expected!,
      /SHA-256\(attestation key ‖ QE authentication data\) ‖ 32 zero bytes = [0-9a-f]{64}0{64}$/,
    );
  });

  it("QE REPORT_DATA with a non-zero upper half fails the binding", async () => {
    const q = fakeQuote();
    const reportData = new Uint8Array(q.qeReport.reportData);
    reportData[63] = 1;
    const r = await verifyDcapQuoteSignatures(
      { ...q, qeReport: { ...q.qeReport, reportData } },
      F.opts,
    );
    assert.deepEqual(failed(r), ["dcap.verify.qe_report_data:dcap.verify.qe_report_data"]);
  });

  it("a bad QE report signature fails only that check", async () => {
    const r = await verifyDcapQuoteSignatures(parseDcapQuote(flip(F.sgx, QE_SIG + 40)), F.opts);
    assert.deepEqual(failed(r), [
      "dcap.verify.qe_report_signature:dcap.verify.qe_report_signature",
    ]);
    assert.match(check(r, "dcap.verify.qe_report_signature").actual!, /Intel SGX PCK Certificate/);
  });

  it("an attestation key that is not a P-256 point fails the quote signature and the binding", async () => {
    const r = await verifyDcapQuoteSignatures(
      fakeQuote({ attestationKey: new Uint8Array(64).fill(1) }),
      F.opts,
    );
    assert.deepEqual(failed(r), [
      "dcap.verify.qe_report_data:dcap.verify.qe_report_data",
      "dcap.verify.quote_signature:dcap.verify.quote_signature",
    ]);
    assert.match(check(r, "dcap.verify.quote_signature").actual!, /is not a P-256 point/);
  });

  it("a QE vendor ID other than Intel's fails dcap.verify.qe_vendor", async () => {
    const q = fakeQuote();
    const r = await verifyDcapQuoteSignatures(
      { ...q, header: { ...q.header, qeVendorId: new Uint8Array(16) } },
      F.opts,
    );
    assert.ok(failed(r).includes("dcap.verify.qe_vendor:dcap.verify.qe_vendor"));
    assert.equal(check(r, "dcap.verify.qe_vendor").actual, "0".repeat(32));
  });

  it("unparsable or absent chain certificates fail dcap.verify.certificate; what needs them is skipped or fails", async () => {
    const q = fakeQuote();
    const junk = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]);
    const leafless = await verifyDcapQuoteSignatures(
      { ...q, pckChain: [junk, q.pckChain[1]!, q.pckChain[2]!] },
      F.opts,
    );
    assert.deepEqual(failed(leafless), [
      "dcap.verify.certificate.pck:dcap.verify.certificate",
      "dcap.verify.qe_report_signature:dcap.verify.qe_report_signature",
    ]);
    assert.equal(leafless.pck, null);
    assert.match(
      check(leafless, "dcap.verify.qe_report_signature").actual!,
      /PCK certificate is unparsable/,
    );
    const caless = await verifyDcapQuoteSignatures(
      { ...q, pckChain: [q.pckChain[0]!, junk, q.pckChain[2]!] },
      { ...F.opts, crls: { pckCrl: await fakeCrl({}) } },
    );
    assert.deepEqual(failed(caless), [
      "dcap.verify.certificate.pck_ca:dcap.verify.certificate",
      "dcap.verify.crl.pck.issuer:dcap.collateral.crl_issuer",
    ]);
    const short = await verifyDcapQuoteSignatures(
      { ...q, pckChain: [q.pckChain[0]!, q.pckChain[1]!] },
      F.opts,
    );
    assert.deepEqual(failed(short), ["dcap.verify.certificate.root:dcap.verify.certificate"]);
    assert.match(check(short, "dcap.verify.certificate.root").actual!, /absent from the quote/);
  });

  it("a PCK certificate whose extensions are malformed reports the parser's code, and pck is null", async () => {
    const pck = await fakeCert({
      subject: "CN=Intel SGX PCK Certificate",
      issuer: F.ca.subject,
      signer: F.caKey,
      extensions: [],
    });
    const r = await verifyDcapQuoteSignatures(
      fakeQuote({ pckChain: [pck, F.intel.pckCa, F.intel.root] }),
      F.opts,
    );
    assert.deepEqual(failed(r), [
      "dcap.verify.pck_extensions:dcap.pck.extension",
      "dcap.verify.qe_report_signature:dcap.verify.qe_report_signature",
    ]);
    assert.equal(r.pck, null);
  });

  it("a PCK certificate with a P-384 key cannot have signed the QE report", async () => {
    const pck = await fakeCert({
      subject: "CN=Intel SGX PCK Certificate",
      issuer: F.ca.subject,
      signer: F.caKey,
      extensions: [F.pck.getExtension("1.2.840.113741.1.13.1")!],
      curve: "P-384",
    });
    const v = createDcapQuoteVerifier({ root: F.intel.root });
    for (let i = 0; i < 2; i++) {
      // Twice: a failed key import is not cached as a key.
      const r = await v.verify(fakeQuote({ pckChain: [pck, F.intel.pckCa, F.intel.root] }), {
        now: F.intel.now,
      });
      assert.deepEqual(failed(r), ["dcap.verify.qe_report_signature:dcap.verify.certificate"]);
      assert.match(check(r, "dcap.verify.qe_report_signature").actual!, /^ECDSA key/);
    }
  });

  it("certificates in the wrong role fail dcap.verify.ca; a leaf naming another issuer fails the chain", async () => {
    const sgxExt = F.pck.getExtension("1.2.840.113741.1.13.1")!;
    const caLeaf = await fakeCert({
      subject: "CN=Intel SGX PCK Certificate",
      issuer: F.ca.subject,
      signer: F.caKey,
      extensions: [sgxExt, new x509.BasicConstraintsExtension(true, 0, true)],
    });
    const r1 = await verifyDcapQuoteSignatures(
      fakeQuote({ pckChain: [caLeaf, F.intel.pckCa, F.intel.root] }),
      F.opts,
    );
    assert.ok(failed(r1).includes("dcap.verify.ca.pck:dcap.verify.ca"));

    const strangerLeaf = await fakeCert({
      subject: "CN=Intel SGX PCK Certificate",
      issuer: "CN=Intel SGX PCK Platform CA, O=Someone Else",
      signer: F.caKey,
      extensions: [sgxExt],
    });
    const r2 = await verifyDcapQuoteSignatures(
      fakeQuote({ pckChain: [strangerLeaf, F.intel.pckCa, F.intel.root] }),
      F.opts,
    );
    assert.ok(failed(r2).includes("dcap.verify.chain.pck:dcap.verify.chain"));
    assert.match(
      check(r2, "dcap.verify.chain.pck").actual!,
      /names issuer "CN=Intel SGX PCK Platform CA, O=Someone Else"/,
    );

    const caKeyPublic = await crypto.subtle.importKey("spki", F.ca.publicKey.rawData, P256, true, [
      "verify",
    ]);
    for (const [name, extensions, why] of [
      ["no basicConstraints", [], /basicConstraints cA is not set/],
      [
        "keyUsage without keyCertSign",
        [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        ],
        /keyUsage lacks keyCertSign/,
      ],
    ] as const) {
      const ca = await fakeCert({
        subject: F.ca.subject,
        issuer: F.root.subject,
        signer: F.rootKey,
        extensions: [...extensions],
        publicKey: caKeyPublic,
      });
      const r = await verifyDcapQuoteSignatures(
        fakeQuote({ pckChain: [F.intel.pck, ca, F.intel.root] }),
        F.opts,
      );
      assert.deepEqual(failed(r), ["dcap.verify.ca.pck_ca:dcap.verify.ca"], name);
      assert.match(check(r, "dcap.verify.ca.pck_ca").actual!, why);
    }
  });

  it("a certificate signature that is not an ECDSA-Sig-Value fails the chain (the library's throw is a failed signature)", async () => {
    const pck = new Uint8Array(F.intel.pck);
    // The signature BIT STRING ends the certificate: 03 LL 00 30 LL 02 …; make its SEQUENCE a SET.
    let at = pck.length - 1;
    while (
      !(
        pck[at] === 0x03 &&
        pck[at + 2] === 0x00 &&
        pck[at + 3] === 0x30 &&
        at + 2 + pck[at + 1]! === pck.length
      )
    )
      at--;
    pck[at + 3] = 0x31;
    const r = await verifyDcapQuoteSignatures(
      fakeQuote({ pckChain: [pck, F.intel.pckCa, F.intel.root] }),
      F.opts,
    );
    assert.deepEqual(failed(r), ["dcap.verify.chain.pck:dcap.verify.chain"]);
  });

  it("a PCK CRL whose issuer has a P-384 key fails its signature", async () => {
    const p384 = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
      "sign",
      "verify",
    ])) as CryptoKeyPair;
    const ca = await fakeCert({
      subject: F.ca.subject,
      issuer: F.root.subject,
      signer: F.rootKey,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true)],
      publicKey: p384.publicKey,
    });
    const r = await verifyDcapQuoteSignatures(
      fakeQuote({ pckChain: [F.intel.pck, ca, F.intel.root] }),
      {
        ...F.opts,
        crls: { pckCrl: await fakeCrl({}) },
      },
    );
    assert.deepEqual(failed(r), [
      "dcap.verify.chain.pck:dcap.verify.chain",
      "dcap.verify.crl.pck.signature:dcap.collateral.crl_signature",
    ]);
  });

  it("a role outcome cached for a certificate as PCK CA is not reused when the same bytes come as the leaf", async () => {
    const v = createDcapQuoteVerifier({ root: F.intel.root });
    const q = parseDcapQuote(F.sgx);
    assert.deepEqual(failed(await v.verify(q, F.opts)), []);
    const r = await v.verify(
      { ...q, pckChain: [F.intel.pckCa, F.intel.pckCa, F.intel.root] },
      F.opts,
    );
    assert.equal(check(r, "dcap.verify.ca.pck").ok, false);
    assert.match(check(r, "dcap.verify.ca.pck").actual!, /has cA set/);
    assert.equal(check(r, "dcap.verify.ca.pck_ca").ok, true);
  });

  it("a pinned root that is not a self-signed CA fails dcap.verify.root", async () => {
    const rootPublic = await crypto.subtle.importKey("spki", F.root.publicKey.rawData, P256, true, [
      "verify",
    ]);
    const notCa = await fakeCert({
      subject: F.root.subject,
      issuer: F.root.subject,
      signer: F.rootKey,
      extensions: [],
      publicKey: rootPublic,
    });
    const forged = await fakeCert({
      subject: F.root.subject,
      issuer: F.root.subject,
      signer: F.caKey,
      extensions: [new x509.BasicConstraintsExtension(true, 1, true)],
      publicKey: rootPublic,
    });
    for (const [root, why] of [
      [F.intel.pckCa, /is issued by "CN=Intel SGX Root CA/],
      [notCa, /is not a CA/],
      [forged, /does not verify under its own key/],
    ] as const) {
      const r = await verifyDcapQuoteSignatures(parseDcapQuote(F.sgx), { now: F.intel.now, root });
      assert.ok(failed(r).includes("dcap.verify.root:dcap.verify.root"));
      assert.match(check(r, "dcap.verify.root").actual!, why);
    }
  });

  it("a warm verifier spends two ECDSA verifies per quote, and a SHA-256 only for a QE key and auth data it has not seen", async () => {
    let verifies = 0;
    let digests = 0;
    const subtle = crypto.subtle;
    const counting = {
      getRandomValues: crypto.getRandomValues.bind(crypto),
      randomUUID: crypto.randomUUID.bind(crypto),
      subtle: new Proxy(subtle, {
        get(target, p) {
          const value = Reflect.get(target, p);
          if (p === "verify")
            return (...a: Parameters<SubtleCrypto["verify"]>) => {
              verifies++;
              return subtle.verify(...a);
            };
          if (p === "digest")
            return (...a: Parameters<SubtleCrypto["digest"]>) => {
              digests++;
              return subtle.digest(...a);
            };
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
    } as Crypto;
    const v = createDcapQuoteVerifier({ root: F.intel.root, crypto: counting });
    const crls = {
      pckCrl: await fakeCrl({}),
      rootCaCrl: await fakeCrl({ issuer: F.root.subject, key: F.rootKey }),
    };
    const first = await v.verify(parseDcapQuote(F.tdx), { now: F.intel.now, crls });
    assert.deepEqual(failed(first), []);
    verifies = 0;
    digests = 0;
    const warm = await v.verify(parseDcapQuote(F.tdx), { now: F.intel.now, crls });
    assert.deepEqual(failed(warm), []);
    assert.deepEqual({ verifies, digests }, { verifies: 2, digests: 0 });
    // Other QE authentication data: the binding is computed again (and no longer holds).
    digests = 0;
    const q = parseDcapQuote(F.tdx);
    const other = await v.verify(
      { ...q, qeAuthData: q.qeAuthData.map((b) => b ^ 1) },
      { now: F.intel.now, crls },
    );
    assert.deepEqual(failed(other), ["dcap.verify.qe_report_data:dcap.verify.qe_report_data"]);
    assert.equal(digests, 1);
  });

  it("a cache of one entry still verifies quotes of two hierarchies in turn", async () => {
    const v = createDcapQuoteVerifier({ root: F.intel.root, cacheSize: 1 });
    for (let i = 0; i < 2; i++) {
      assert.deepEqual(failed(await v.verify(parseDcapQuote(F.sgx), F.opts)), []);
      assert.deepEqual(failed(await v.verify(parseDcapQuote(F.tdx), F.opts)), []);
    }
  });

  it("the root as PEM bytes, and quote fields backed by a SharedArrayBuffer, are read too", async () => {
    const pem = new TextEncoder().encode(F.root.toString("pem"));
    const q = parseDcapQuote(F.sgx);
    const shared = (b: Uint8Array) => {
      const out = new Uint8Array(new SharedArrayBuffer(b.length));
      out.set(b);
      return out;
    };
    const r = await verifyDcapQuoteSignatures(
      {
        ...q,
        signedBytes: shared(q.signedBytes),
        quoteSignature: shared(q.quoteSignature),
        qeReportRaw: shared(q.qeReportRaw),
        qeReportSignature: shared(q.qeReportSignature),
      },
      { now: F.intel.now, root: pem },
    );
    assert.deepEqual(failed(r), []);
  });

  it("cacheSize 0 verifies every time and gives the same verdict", async () => {
    const v = createDcapQuoteVerifier({ root: F.intel.root, cacheSize: 0 });
    for (let i = 0; i < 2; i++)
      assert.deepEqual(failed(await v.verify(parseDcapQuote(F.sgx), F.opts)), []);
  });

  it("a cached verdict never reaches an altered certificate of the same length and tail", async () => {
    const v = createDcapQuoteVerifier({ root: F.intel.root });
    const q = parseDcapQuote(F.sgx);
    assert.deepEqual(failed(await v.verify(q, F.opts)), []);
    const pck = new Uint8Array(q.pckChain[0]!);
    pck[200]! ^= 0x01; // inside the tbsCertificate; the signature (the tail) is unchanged
    const r = await v.verify({ ...q, pckChain: [pck, q.pckChain[1]!, q.pckChain[2]!] }, F.opts);
    assert.ok(failed(r).includes("dcap.verify.chain.pck:dcap.verify.chain"), failed(r).join(", "));
  });
});
