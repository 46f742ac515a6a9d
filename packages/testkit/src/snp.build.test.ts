/**
 * What `fakeSnp` builds, checked without `@donjon/attest`'s verifier: the fake
 * certificates carry the same AMD extensions, in the same order and encoding, as
 * the real ones in ../shared/vectors/snp; the report fields land at their offsets;
 * the signature verifies with plain WebCrypto; overrides and corruption do what
 * they say; bad options are typed errors.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { parseSnpReport, type SnpProduct } from "@donjon/attest";
import * as x509 from "./_x509.ts";
import { TestkitError } from "./error.ts";
import { AMD_RSA_PSS_ALGORITHM, derIa5, derInteger, fakeSnp } from "./snp.ts";

const V = path.resolve(import.meta.dirname, "../../../../shared/vectors");
const read = (p: string) => new Uint8Array(fs.readFileSync(path.join(V, p)));
const hex = (b: Uint8Array | ArrayBuffer) => Buffer.from(new Uint8Array(b)).toString("hex");
const AMD = "1.3.6.1.4.1.3704.";

/** [oid, value hex] of the AMD extensions, in certificate order. */
function amdExtensions(c: x509.X509Certificate): [string, string][] {
  return c.extensions.filter((e) => e.type.startsWith(AMD)).map((e) => [e.type, hex(e.value)]);
}

/** An SPL from `02 01 xx` / `02 02 00 xx`. */
function spl(c: x509.X509Certificate, oid: string): number | undefined {
  const e = c.getExtension(oid);
  if (!e) return undefined;
  const v = new Uint8Array(e.value);
  return v[v.length - 1];
}

function contains(hay: Uint8Array, needle: Uint8Array): number {
  let n = 0;
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    n++;
  }
  return n;
}

function pemCerts(p: string): x509.X509Certificate[] {
  const text = fs.readFileSync(path.join(V, p), "utf8");
  return [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map(
    (m) => new x509.X509Certificate(m[0]),
  );
}

const REAL: { name: string; file: string; product: SnpProduct; signer: "vcek" | "vlek" }[] = [
  {
    name: "Milan VCEK",
    file: "snp/milan-v2-steward-crl/derived/vcek.der",
    product: "Milan",
    signer: "vcek",
  },
  {
    name: "Genoa VCEK",
    file: "snp/genoa-v3-siena-trustee-e2e/derived/vcek.der",
    product: "Genoa",
    signer: "vcek",
  },
  {
    name: "Turin VCEK",
    file: "snp/turin-v5-oak/derived/vcek.der",
    product: "Turin",
    signer: "vcek",
  },
  {
    name: "Milan VLEK",
    file: "snp/milan-v3-vlek-aws-trustee/test-vlek.der",
    product: "Milan",
    signer: "vlek",
  },
];

describe("fakeSnp certificates look like AMD's", () => {
  for (const r of REAL) {
    it(`${r.name}: same AMD extensions, order and encoding as the real one`, async () => {
      const real = new x509.X509Certificate(read(r.file));
      const hw = real.getExtension(`${AMD}1.4`);
      const csp = real.getExtension(`${AMD}1.5`);
      const chipId = new Uint8Array(64);
      if (hw) chipId.set(new Uint8Array(hw.value));
      const fake = await fakeSnp({
        product: r.product,
        signer: r.signer,
        report: {
          chipId,
          reportedTcb: {
            bootloader: spl(real, `${AMD}1.3.1`),
            tee: spl(real, `${AMD}1.3.2`),
            snp: spl(real, `${AMD}1.3.3`),
            microcode: spl(real, `${AMD}1.3.8`),
            ...(r.product === "Turin" ? { fmc: spl(real, `${AMD}1.3.9`) } : {}),
          },
        },
        certs: csp ? { vlek: { cspId: new TextDecoder().decode(csp.value).slice(2) } } : {},
      });
      const cert = new x509.X509Certificate(fake.endorsementKey as Uint8Array<ArrayBuffer>);
      assert.deepEqual(amdExtensions(cert), amdExtensions(real));
      assert.equal(cert.subject, real.subject);
      assert.equal(cert.issuer, real.issuer);
      // RSASSA-PSS AlgorithmIdentifier byte for byte, in the tbs and outside it.
      assert.equal(contains(fake.endorsementKey, AMD_RSA_PSS_ALGORITHM), 2);
      // The real 2022 Milan VCEK predates this form (explicit trailerField); the newer ones use it.
      if (r.name !== "Milan VCEK") assert.equal(contains(read(r.file), AMD_RSA_PSS_ALGORITHM), 2);
      assert.equal(cert.publicKey.algorithm.name, "ECDSA");
    });
  }

  for (const product of ["Milan", "Genoa", "Turin"] as const) {
    it(`${product}: ARK, ASK and ASVK subjects and issuers are AMD's`, async () => {
      const [realAsk, realArk] = pemCerts(
        `roots/amd/ask_ark_${product.toLowerCase()}${product === "Turin" ? "_vcek" : ""}.pem`,
      );
      const [realAsvk] = pemCerts(`roots/amd/ask_ark_${product.toLowerCase()}_vlek.pem`);
      const fake = await fakeSnp({ product });
      const [ark, ask, asvk] = [fake.ark, fake.ask, fake.asvk].map(
        (d) => new x509.X509Certificate(d as Uint8Array<ArrayBuffer>),
      );
      assert.equal(ark!.subject, realArk!.subject);
      assert.equal(ark!.issuer, realArk!.issuer);
      assert.equal(ask!.subject, realAsk!.subject);
      assert.equal(ask!.issuer, realAsk!.issuer);
      assert.equal(asvk!.subject, realAsvk!.subject);
      for (const c of [ark!, ask!, asvk!]) {
        assert.equal(contains(new Uint8Array(c.rawData), AMD_RSA_PSS_ALGORITHM), 2);
        assert.ok(await c.verify({ publicKey: ark!, signatureOnly: true }), c.subject);
      }
    });
  }

  it("the CRL: AMD's algorithm, signed by the ARK, entries and dates as asked", async () => {
    const fake = await fakeSnp();
    const thisUpdate = new Date("2025-05-01T00:00:00Z");
    const nextUpdate = new Date("2025-07-01T00:00:00Z");
    const der = await fake.makeCrl({
      revoked: ["ask", { serialNumber: "0abc" }],
      thisUpdate,
      nextUpdate,
    });
    const crl = new x509.X509Crl(der as Uint8Array<ArrayBuffer>);
    assert.equal(contains(der, AMD_RSA_PSS_ALGORITHM), 2);
    assert.equal(
      contains(read("snp/milan-v2-steward-crl/derived/crl_milan.der"), AMD_RSA_PSS_ALGORITHM),
      2,
    );
    const ark = new x509.X509Certificate(fake.ark as Uint8Array<ArrayBuffer>);
    assert.equal(crl.issuer, ark.subject);
    const key = await ark.publicKey.export(
      { ...ark.publicKey.algorithm, ...crl.signatureAlgorithm },
      ["verify"],
    );
    assert.equal(await crl.verify({ publicKey: key }), true);
    assert.equal(crl.thisUpdate.getTime(), thisUpdate.getTime());
    assert.equal(crl.nextUpdate?.getTime(), nextUpdate.getTime());
    assert.deepEqual(crl.entries.map((e) => e.serialNumber).sort(), ["010001", "0abc"]);
    const other = new x509.X509Crl(
      (await fake.makeCrl({ signedBy: "other" })) as Uint8Array<ArrayBuffer>,
    );
    assert.equal(await other.verify({ publicKey: key }), false);
  });

  it("certificate overrides: serial, validity, omitted and extra extensions, wrong signer", async () => {
    const notBefore = new Date("2030-01-01T00:00:00Z");
    const fake = await fakeSnp({
      certs: {
        vcek: {
          serialNumber: "7f01",
          notBefore,
          omitExtensions: [`${AMD}1.3.2`],
          extraExtensions: [{ oid: `${AMD}1.99`, value: derInteger(5) }],
          signedBy: "other",
        },
        ask: { subject: "CN=SEV-Elsewhere" },
      },
    });
    const vcek = new x509.X509Certificate(fake.endorsementKey as Uint8Array<ArrayBuffer>);
    const ask = new x509.X509Certificate(fake.ask as Uint8Array<ArrayBuffer>);
    assert.equal(vcek.serialNumber, "7f01");
    assert.equal(fake.serials.vcek, "7f01");
    assert.equal(vcek.notBefore.getTime(), notBefore.getTime());
    assert.equal(vcek.getExtension(`${AMD}1.3.2`), null);
    assert.equal(hex(vcek.getExtension(`${AMD}1.99`)!.value), "020105");
    assert.equal(ask.subject, "CN=SEV-Elsewhere");
    assert.equal(vcek.issuer, "CN=SEV-Elsewhere");
    assert.equal(await vcek.verify({ publicKey: ask, signatureOnly: true }), false);
  });
});

describe("fakeSnp reports", () => {
  it("fields land at their offsets and parse back (Turin v5)", async () => {
    const measurement = new Uint8Array(48).fill(0x33);
    const reportData = new Uint8Array(64).fill(0x44);
    const fake = await fakeSnp({
      product: "Turin",
      report: {
        vmpl: 2,
        guestSvn: 7,
        policy: { debug: true, abiMajor: 1, abiMinor: 55 },
        measurement,
        reportData,
        reportedTcb: { fmc: 3, bootloader: 4, tee: 5, snp: 6, microcode: 200 },
        maskChipKey: true,
        currentVersion: { major: 1, minor: 58, build: 3 },
        launchMitVector: 5n,
      },
    });
    const r = fake.report;
    assert.equal(r.length, 1184);
    assert.equal(hex(r.subarray(0x180, 0x188)), "0304050600000" + "0c8");
    const p = parseSnpReport(r);
    assert.equal(p.version, 5);
    assert.equal(p.product, "Turin");
    assert.equal(p.vmpl, 2);
    assert.equal(p.guestSvn, 7);
    assert.equal(p.policy.debug, true);
    assert.equal(p.policy.smt, true);
    assert.equal(p.policy.abiMajor, 1);
    assert.equal(p.policy.abiMinor, 55);
    assert.deepEqual(p.measurement, measurement);
    assert.deepEqual(p.reportData, reportData);
    assert.deepEqual(
      { ...p.reportedTcb, raw: undefined },
      { fmc: 3, bootloader: 4, tee: 5, snp: 6, microcode: 200, raw: undefined },
    );
    assert.equal(p.maskChipKey, true);
    assert.equal(p.signingKey, "vcek");
    assert.deepEqual(p.currentVersion, { major: 1, minor: 58, build: 3 });
    assert.equal(p.launchMitVector, 5n);
    assert.deepEqual(p.cpuid, { family: 0x1a, model: 0x02, stepping: 1 });
  });

  it("Milan/Genoa TCB layout; v2 leaves CPUID zero; VLEK has a zero CHIP_ID", async () => {
    const v2 = await fakeSnp({ report: { version: 2, reportedTcb: { snp: 9 } } });
    assert.equal(hex(v2.report.subarray(0x180, 0x188)), "040000000000" + "09d5");
    assert.equal(hex(v2.report.subarray(0x188, 0x18b)), "000000");
    assert.equal(parseSnpReport(v2.report, { product: "Milan" }).cpuid, null);
    const vlek = parseSnpReport((await fakeSnp({ product: "Genoa", signer: "vlek" })).report);
    assert.equal(vlek.signingKey, "vlek");
    assert.equal(vlek.product, "Genoa");
    assert.deepEqual(vlek.chipId, new Uint8Array(64));
  });

  it("the signature verifies with plain WebCrypto: r, s little-endian in 72-byte fields", async () => {
    const fake = await fakeSnp();
    const r = fake.report;
    assert.equal(hex(r.subarray(0x2a0 + 48, 0x2e8)), "00".repeat(24));
    assert.equal(hex(r.subarray(0x2e8 + 48, 0x330)), "00".repeat(24));
    const sig = new Uint8Array(96);
    sig.set(r.slice(0x2a0, 0x2a0 + 48).reverse(), 0);
    sig.set(r.slice(0x2e8, 0x2e8 + 48).reverse(), 48);
    const vcek = new x509.X509Certificate(fake.vcek as Uint8Array<ArrayBuffer>);
    const key = await vcek.publicKey.export({ name: "ECDSA", namedCurve: "P-384" }, ["verify"]);
    const ok = (data: Uint8Array) =>
      crypto.subtle.verify({ name: "ECDSA", hash: "SHA-384" }, key, sig, data.slice(0, 0x2a0));
    assert.equal(await ok(r), true);
    const bad = (await fakeSnp({ corrupt: { signedRegion: 0x30 } })).report;
    assert.equal(bad[0x30], 0xff); // VMPL 0, every bit flipped
    const wrong = (await fakeSnp({ reportSignedBy: "other" })).report;
    const sig2 = new Uint8Array(96);
    sig2.set(wrong.slice(0x2a0, 0x2a0 + 48).reverse(), 0);
    sig2.set(wrong.slice(0x2e8, 0x2e8 + 48).reverse(), 48);
    assert.equal(
      await crypto.subtle.verify(
        { name: "ECDSA", hash: "SHA-384" },
        key,
        sig2,
        wrong.slice(0, 0x2a0),
      ),
      false,
    );
  });

  it("raw policy and signing key none", async () => {
    const fake = await fakeSnp({ report: { policy: 0x3_0000n | (1n << 19n), signingKey: "none" } });
    const p = parseSnpReport(fake.report);
    assert.equal(p.policy.raw, 0x3_0000n | (1n << 19n));
    assert.equal(p.signingKey, "none");
  });
});

describe("fakeSnp options errors", () => {
  const cases: [string, Parameters<typeof fakeSnp>[0]][] = [
    ["a 32-byte measurement", { report: { measurement: new Uint8Array(32) } }],
    ["a 63-byte chipId", { report: { chipId: new Uint8Array(63) } }],
    ["a signature offset in the signed region", { corrupt: { signature: 0x10 } }],
    ["a signed-region offset in the signature", { corrupt: { signedRegion: 0x2a0 } }],
    ["an unknown product", { product: "Naples" as SnpProduct }],
    ["an unknown signer", { signer: "pek" as "vcek" }],
    ["a negative SPL", { certs: { vcek: { tcb: { snp: -1 } } } }],
  ];
  for (const [name, options] of cases) {
    it(`${name} → TestkitError testkit.options`, async () => {
      await assert.rejects(fakeSnp(options), (e: unknown) => {
        assert.ok(e instanceof TestkitError);
        assert.equal(e.code, "testkit.options");
        return true;
      });
    });
  }

  it("DER helpers", () => {
    assert.equal(hex(derInteger(0)), "020100");
    assert.equal(hex(derInteger(127)), "02017f");
    assert.equal(hex(derInteger(217)), "020200d9");
    assert.equal(hex(derInteger(0x1234)), "02021234");
    assert.equal(hex(derIa5("Milan")), "16054d696c616e");
    assert.throws(() => derIa5("x".repeat(200)), TestkitError);
  });
});
