/**
 * The collateral bundle parser over every certificate and CRL file in
 * ../shared/vectors (PEM, DER, PkiPath), roles and products detected by content,
 * the offline KDS, and a malformed-input table.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { CollateralError } from "../error.ts";
import { hex } from "./_amdcerts.ts";
import { type Collateral, createOfflineKds, parseCollateral } from "./collateral.ts";
import type { KdsTcb } from "./kds.ts";
import type { SnpProduct } from "./types.ts";

const VECTORS = path.join(import.meta.dirname, "../../../../../shared/vectors");
const SNP = path.join(VECTORS, "snp");
const ROOTS = path.join(VECTORS, "roots/amd");
const read = (p: string) => new Uint8Array(fs.readFileSync(p));
const file = (p: string) => ({ name: path.relative(VECTORS, p), data: read(p) });

/** CHIP_ID at 0x1A0 and REPORTED_TCB at 0x180 (LAYOUTS.md §1). */
function reportIdentity(report: Uint8Array, product: SnpProduct) {
  const chipId = report.slice(0x1a0, 0x1e0);
  const t = report.subarray(0x180, 0x188);
  const tcb: KdsTcb =
    product === "Turin"
      ? { fmc: t[0]!, bootloader: t[1]!, tee: t[2]!, snp: t[3]!, microcode: t[7]! }
      : { bootloader: t[0]!, tee: t[1]!, snp: t[6]!, microcode: t[7]! };
  return { chipId, tcb };
}

/** What each collateral file in the vectors holds: roles with products, and CRL products. */
const EXPECTED: Record<string, { certs: string[]; crls: string[] }> = {
  "roots/amd/ask_ark_genoa.pem": { certs: ["ask Genoa", "ark Genoa"], crls: [] },
  "roots/amd/ask_ark_genoa_vlek.pem": { certs: ["asvk Genoa", "ark Genoa"], crls: [] },
  "roots/amd/ask_ark_milan.pem": { certs: ["ask Milan", "ark Milan"], crls: [] },
  "roots/amd/ask_ark_milan_vlek.pem": { certs: ["asvk Milan", "ark Milan"], crls: [] },
  "roots/amd/ask_ark_turin_vcek.pem": { certs: ["ask Turin", "ark Turin"], crls: [] },
  "roots/amd/ask_ark_turin_vlek.pem": { certs: ["asvk Turin", "ark Turin"], crls: [] },
  "snp/genoa-v3-azure-trustee/ask_ark_genoa.pem": { certs: ["ask Genoa", "ark Genoa"], crls: [] },
  "snp/genoa-v3-azure-trustee/vcek-genoa.pem": { certs: ["vcek Genoa"], crls: [] },
  "snp/genoa-v3-siena-trustee-e2e/ask_ark_genoa.pem": {
    certs: ["ask Genoa", "ark Genoa"],
    crls: [],
  },
  "snp/genoa-v3-siena-trustee-e2e/derived/vcek.der": { certs: ["vcek Genoa"], crls: [] },
  "snp/milan-v2-gsg/ask_ark_milan.pem": { certs: ["ask Milan", "ark Milan"], crls: [] },
  "snp/milan-v2-gsg/vcek.testcer": { certs: ["vcek Milan"], crls: [] },
  "snp/milan-v2-steward-crl/milan.pkipath": { certs: ["ark Milan", "ask Milan"], crls: [] },
  "snp/milan-v2-steward-crl/derived/crl_genoa.der": { certs: [], crls: ["Genoa"] },
  "snp/milan-v2-steward-crl/derived/crl_milan.der": { certs: [], crls: ["Milan"] },
  "snp/milan-v2-steward-crl/derived/vcek.der": { certs: ["vcek Milan"], crls: [] },
  "snp/milan-v2-virtee/ark.pem": { certs: ["ark Milan"], crls: [] },
  "snp/milan-v2-virtee/ask.pem": { certs: ["ask Milan"], crls: [] },
  "snp/milan-v2-virtee/vcek_milan.der": { certs: ["vcek Milan"], crls: [] },
  "snp/milan-v2-virtee/tampered/vcek_b40_xorff.der": { certs: ["vcek Milan"], crls: [] },
  "snp/milan-v3-vlek-aws-trustee/ask_ark_milan_vlek.pem": {
    certs: ["asvk Milan", "ark Milan"],
    crls: [],
  },
  "snp/milan-v3-vlek-aws-trustee/test-vlek.der": { certs: ["vlek Milan"], crls: [] },
  "snp/milan-v5-gcp-teekit/sev-gcp-cert-chain.pem": { certs: ["ask Milan", "ark Milan"], crls: [] },
  "snp/milan-v5-gcp-teekit/sev-gcp-vcek.pem": { certs: ["vcek Milan"], crls: [] },
  "snp/parsing-fixtures-trustee/test-vcek-invalid-legacy.der": { certs: ["vcek Milan"], crls: [] },
  "snp/parsing-fixtures-trustee/test-vcek-invalid-new.der": { certs: ["vcek Milan"], crls: [] },
  "snp/turin-v5-oak/ask_ark_turin_vcek.pem": { certs: ["ask Turin", "ark Turin"], crls: [] },
  "snp/turin-v5-oak/derived/vcek.der": { certs: ["vcek Turin"], crls: [] },
};

/** Every certificate/CRL-looking file under the vectors (by extension here; the parser ignores names). */
function collateralFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(pem|der|testcer|pkipath|crl)$/.test(e.name)) out.push(p);
    }
  };
  walk(path.join(VECTORS, "roots/amd"));
  walk(SNP);
  return out.sort();
}

const summary = (c: Collateral) => ({
  certs: c.certificates.map((x) => `${x.role} ${x.product}`),
  crls: c.crls.map((x) => `${x.product}`),
});

describe("parseCollateral over every vector file", () => {
  const files = collateralFiles();
  it("finds every file the table expects, and no other", () => {
    assert.deepEqual(
      files.map((f) => path.relative(VECTORS, f)).sort(),
      Object.keys(EXPECTED).sort(),
    );
  });
  for (const f of files) {
    const name = path.relative(VECTORS, f);
    it(`recognises ${name}`, () => {
      assert.deepEqual(summary(parseCollateral([read(f)])), EXPECTED[name]);
    });
  }

  it("reads the SNP extensions of a VCEK (Turin: 8-byte hwID and fmc)", () => {
    const { certificates } = parseCollateral([
      read(path.join(SNP, "turin-v5-oak/derived/vcek.der")),
    ]);
    const report = read(path.join(SNP, "turin-v5-oak/derived/report.bin"));
    const { chipId, tcb } = reportIdentity(report, "Turin");
    const c = certificates[0]!;
    assert.equal(c.productName, "Turin");
    assert.deepEqual(c.hwid, chipId.slice(0, 8));
    assert.deepEqual(c.tcb, { ...tcb, fmc: tcb.fmc });
  });

  it("reads the hwID of the fixture that wraps it in an OCTET STRING", () => {
    const { certificates } = parseCollateral([
      read(path.join(SNP, "parsing-fixtures-trustee/test-vcek-invalid-new.der")),
    ]);
    assert.equal(certificates[0]!.hwid!.length, 64);
  });

  it("reads the CRL dates", () => {
    const { crls } = parseCollateral([
      read(path.join(SNP, "milan-v2-steward-crl/derived/crl_milan.der")),
    ]);
    assert.equal(crls[0]!.thisUpdate.toISOString(), "2022-05-09T17:07:45.000Z");
    assert.equal(crls[0]!.nextUpdate!.toISOString(), "2023-05-09T23:00:00.000Z");
  });

  it("lists an object given twice once", () => {
    const c = parseCollateral([
      read(path.join(ROOTS, "ask_ark_milan.pem")),
      read(path.join(SNP, "milan-v2-steward-crl/milan.pkipath")),
      read(path.join(SNP, "milan-v2-virtee/ark.pem")),
    ]);
    assert.deepEqual(summary(c).certs, ["ask Milan", "ark Milan"]);
  });

  it("takes PEM blocks and CRLs in one file, with text between blocks", () => {
    const crl = read(path.join(SNP, "milan-v2-steward-crl/derived/crl_milan.der"));
    const crlPem = `-----BEGIN X509 CRL-----\n${Buffer.from(crl).toString("base64").replace(/.{64}/g, "$&\n")}\n-----END X509 CRL-----\n`;
    const text = `subject=whatever\n${fs.readFileSync(path.join(ROOTS, "ask_ark_milan.pem"), "utf8")}\n# the CRL\n${crlPem}`;
    const c = parseCollateral([new TextEncoder().encode(text)]);
    assert.deepEqual(summary(c), { certs: ["ask Milan", "ark Milan"], crls: ["Milan"] });
  });
});

describe("malformed collateral", () => {
  const vcek = read(path.join(SNP, "milan-v2-virtee/vcek_milan.der"));
  const pem = fs.readFileSync(path.join(SNP, "milan-v2-virtee/ark.pem"), "utf8");
  const enc = (s: string) => new TextEncoder().encode(s);
  const nonMinimal = Uint8Array.from([0x30, 0x81, 0x03, 0x02, 0x01, 0x00]);
  const table: [string, Uint8Array, RegExp][] = [
    ["empty", new Uint8Array(0), /empty/],
    ["garbage text", enc("hello, world\n"), /neither PEM nor DER/],
    ["garbage bytes starting like DER", Uint8Array.from([0x30, 0x05, 1, 2]), /claims 5 bytes/],
    ["truncated DER", vcek.slice(0, 900), /claims/],
    ["DER with a trailing byte", Uint8Array.from([...vcek, 0]), /1 trailing byte/],
    ["DER with a non-minimal length", nonMinimal, /non-minimal length/],
    ["DER with an indefinite length", Uint8Array.from([0x30, 0x80, 0, 0]), /indefinite length/],
    [
      "a DER SEQUENCE that is not a certificate",
      Uint8Array.from([0x30, 0x03, 0x02, 0x01, 0x00]),
      /not a certificate, CRL or PkiPath/,
    ],
    [
      "the PKCS#10 request of milan-v2-steward-crl",
      read(path.join(SNP, "milan-v2-steward-crl/milan.signed.crl.csr")),
      /PKCS#10/,
    ],
    ["PEM with a bad base64 character", enc(pem.replace(/\n[A-Za-z]/, "\n!")), /outside base64/],
    [
      "PEM with a bad base64 length",
      enc(pem.replace(/\n([A-Za-z0-9+/]{10})/, "\n$1A")),
      /not a multiple of 4/,
    ],
    [
      "PEM whose base64 is not a certificate",
      enc("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"),
      /trailing byte/,
    ],
    [
      "PEM with mismatched labels",
      enc(pem.replace("-----END CERTIFICATE-----", "-----END X509 CRL-----")),
      /ends with END X509 CRL/,
    ],
    [
      "PEM without an END line",
      enc(pem.replace("-----END CERTIFICATE-----", "")),
      /without a matching END/,
    ],
    [
      "PEM of a private key",
      enc("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
      /PRIVATE KEY block/,
    ],
    [
      "an empty PEM block",
      enc("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"),
      /block is empty/,
    ],
    [
      "a CRL with a certificate's PEM label",
      enc(
        `-----BEGIN CERTIFICATE-----\n${Buffer.from(read(path.join(SNP, "milan-v2-steward-crl/derived/crl_milan.der"))).toString("base64")}\n-----END CERTIFICATE-----\n`,
      ),
      /not a certificate/,
    ],
  ];
  for (const [name, data, message] of table) {
    it(`rejects ${name} with snp.collateral.malformed`, () => {
      assert.throws(
        () =>
          parseCollateral([read(path.join(ROOTS, "ask_ark_milan.pem")), { name: "bad.bin", data }]),
        (e: unknown) => {
          assert.ok(e instanceof CollateralError, String(e));
          assert.equal(e.code, "snp.collateral.malformed");
          assert.match(e.message, /^collateral file bad\.bin: /);
          assert.match(e.message, message);
          return true;
        },
      );
    });
  }
});

describe("offline KDS", () => {
  const VCEKS: [string, SnpProduct, string, string][] = [
    ["milan-v2-virtee", "Milan", "derived/report.bin", "vcek_milan.der"],
    ["milan-v2-steward-crl", "Milan", "derived/report.bin", "derived/vcek.der"],
    ["genoa-v3-siena-trustee-e2e", "Genoa", "derived/report.bin", "derived/vcek.der"],
    ["turin-v5-oak", "Turin", "derived/report.bin", "derived/vcek.der"],
  ];
  const bundle = parseCollateral([
    ...VCEKS.map(([dir, , , v]) => file(path.join(SNP, dir, v))),
    file(path.join(SNP, "milan-v2-steward-crl/milan.pkipath")),
    file(path.join(SNP, "milan-v2-steward-crl/derived/crl_milan.der")),
    file(path.join(ROOTS, "ask_ark_turin_vcek.pem")),
    file(path.join(ROOTS, "ask_ark_milan_vlek.pem")),
  ]);
  const kds = createOfflineKds(bundle);

  for (const [dir, product, report, v] of VCEKS) {
    it(`answers the VCEK of ${dir} by the chip id and TCB of its report`, async () => {
      const { chipId, tcb } = reportIdentity(read(path.join(SNP, dir, report)), product);
      assert.deepEqual(await kds.vcek(product, chipId, tcb), read(path.join(SNP, dir, v)));
    });
  }

  it("answers chains and CRLs it holds", async () => {
    const milan = await kds.certChain("Milan", "vcek");
    const pkipath = parseCollateral([read(path.join(SNP, "milan-v2-steward-crl/milan.pkipath"))]);
    assert.deepEqual(milan, {
      ark: pkipath.certificates[0]!.der,
      ask: pkipath.certificates[1]!.der,
    });
    const vlek = await kds.certChain("Milan", "vlek");
    assert.deepEqual(vlek.ark, milan.ark);
    assert.notDeepEqual(vlek.ask, milan.ask);
    await kds.certChain("Turin", "vcek");
    assert.deepEqual(
      await kds.crl("Milan", "vcek"),
      read(path.join(SNP, "milan-v2-steward-crl/derived/crl_milan.der")),
    );
  });

  it("names the missing VCEK, its TCB, its KDS URL and the flag", async () => {
    const { chipId } = reportIdentity(
      read(path.join(SNP, "milan-v2-virtee/derived/report.bin")),
      "Milan",
    );
    await assert.rejects(
      kds.vcek("Milan", chipId, { bootloader: 3, tee: 0, snp: 8, microcode: 116 }),
      (e: unknown) => {
        assert.ok(e instanceof CollateralError);
        assert.equal(e.code, "snp.collateral.missing");
        assert.equal(
          e.message,
          `no VCEK for Milan chip 0x${hex(chipId)} at TCB bl=3 tee=0 snp=8 ucode=116 in the collateral; ` +
            `fetch it from https://kdsintf.amd.com/vcek/v1/Milan/${hex(chipId)}?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=116 ` +
            "or pass --collateral FILE",
        );
        return true;
      },
    );
  });

  const missing: [string, () => Promise<unknown>, RegExp][] = [
    [
      "the Genoa ARK",
      () => kds.certChain("Genoa", "vcek"),
      /^no ARK-Genoa .*fetch it from https:\/\/kdsintf\.amd\.com\/vcek\/v1\/Genoa\/cert_chain or pass --collateral FILE$/,
    ],
    [
      "the Turin ASVK",
      () => kds.certChain("Turin", "vlek"),
      /^no ASVK for Turin \(SEV-VLEK-Turin, signs the VLEK\)/,
    ],
    [
      "the Genoa CRL",
      () => kds.crl("Genoa", "vcek"),
      /^no VCEK CRL for Genoa \(issued by ARK-Genoa\) in the collateral; fetch it from https:\/\/kdsintf\.amd\.com\/vcek\/v1\/Genoa\/crl/,
    ],
    [
      "a VCEK for a Turin chip at another fmc",
      () =>
        kds.vcek("Turin", Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]), {
          fmc: 9,
          bootloader: 1,
          tee: 1,
          snp: 1,
          microcode: 1,
        }),
      /^no VCEK for Turin chip 0x0102030405060708 at TCB fmc=9 bl=1/,
    ],
  ];
  for (const [name, call, message] of missing) {
    it(`says precisely that ${name} is missing`, async () => {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof CollateralError);
        assert.equal(e.code, "snp.collateral.missing");
        assert.match(e.message, message);
        return true;
      });
    });
  }

  it("points at the configured KDS", async () => {
    const offline = createOfflineKds(
      { certificates: [], crls: [] },
      { baseUrl: "https://kds.mirror.example" },
    );
    await assert.rejects(
      offline.crl("Milan", "vlek"),
      /fetch it from https:\/\/kds\.mirror\.example\/vlek\/v1\/Milan\/crl/,
    );
  });
});
