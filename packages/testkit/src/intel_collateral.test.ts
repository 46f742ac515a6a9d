/** fakeIntelCollateral: the shapes it builds, its overrides and the options it refuses. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { X509Certificate, X509Crl } from "./_x509.ts";
import { TestkitError } from "./error.ts";
import { fakeIntel } from "./intel.ts";
import { fakeIntelCollateral } from "./intel_collateral.ts";

describe("fakeIntelCollateral", () => {
  it("signs TCB Info and QE Identity over their exact text with the TCB signing key, under fakeIntel's root", async () => {
    const f = await fakeIntelCollateral();
    const signing = new X509Certificate(f.tcbSigning as Uint8Array<ArrayBuffer>);
    const root = new X509Certificate(
      (await fakeIntel({ now: f.now })).root as Uint8Array<ArrayBuffer>,
    );
    assert.equal(signing.issuer, root.subject);
    assert.ok(await signing.verify({ publicKey: root, signatureOnly: true }));
    const key = await signing.publicKey.export({ name: "ECDSA", namedCurve: "P-256" }, ["verify"]);
    for (const [body, member] of [
      [f.collateral.tcbInfo, "tcbInfo"],
      [f.collateral.qeIdentity, "enclaveIdentity"],
    ] as const) {
      const m = new RegExp(`^\\{"${member}":(.*),"signature":"([0-9a-f]{128})"\\}$`).exec(body)!;
      const sig = Uint8Array.from(m[2]!.match(/../g)!, (h) => Number.parseInt(h, 16));
      assert.ok(
        await crypto.subtle.verify(
          { name: "ECDSA", hash: "SHA-256" },
          key,
          sig,
          new TextEncoder().encode(m[1]!),
        ),
      );
    }
    const crl = new X509Crl(f.collateral.rootCaCrl as Uint8Array<ArrayBuffer>);
    assert.equal(crl.issuer, root.subject);
  });

  it("raw field overrides (undefined removes a member), v2 TCB Info, a CRL issuer, signJson", async () => {
    const f = await fakeIntelCollateral({
      tcbInfo: { version: 2, fields: { tcbType: undefined, extra: 1 } },
      qeIdentity: { fields: { isvprodid: 7 } },
      rootCrl: { issuer: "O=Nobody" },
    });
    const tcb = JSON.parse(f.collateral.tcbInfo).tcbInfo;
    assert.equal(tcb.version, 2);
    assert.equal("tcbType" in tcb, false);
    assert.equal(tcb.extra, 1);
    assert.equal(tcb.tcbLevels[0].tcb.sgxtcbcomp01svn, 12);
    assert.equal(JSON.parse(f.collateral.qeIdentity).enclaveIdentity.isvprodid, 7);
    assert.equal(new X509Crl(f.collateral.rootCaCrl as Uint8Array<ArrayBuffer>).issuer, "O=Nobody");
    assert.match(
      await f.signJson("tcbInfo", "{}"),
      /^\{"tcbInfo":\{\},"signature":"[0-9a-f]{128}"\}$/,
    );
  });

  it("TDX collateral: tdxModule, TDX_01, tdxtcbcomponents", async () => {
    const f = await fakeIntelCollateral({
      tee: "tdx",
      tcbInfo: { levels: [{ advisoryIds: ["INTEL-SA-00001"] }] },
    });
    const tcb = JSON.parse(f.collateral.tcbInfo).tcbInfo;
    assert.equal(tcb.id, "TDX");
    assert.equal(tcb.tdxModuleIdentities[0].id, "TDX_01");
    assert.equal(tcb.tcbLevels[0].tcb.tdxtcbcomponents.length, 16);
    assert.deepEqual(tcb.tcbLevels[0].advisoryIDs, ["INTEL-SA-00001"]);
    assert.equal(JSON.parse(f.collateral.qeIdentity).enclaveIdentity.id, "TD_QE");
  });

  for (const [name, options, message] of [
    ["TDX TCB Info v2", { tee: "tdx", tcbInfo: { version: 2 } }, /version 3/],
    ["15 SGX components", { tcbInfo: { levels: [{ sgx: [1, 2, 3] }] } }, /expected 16 SVNs, got 3/],
  ] as const) {
    it(`refuses ${name} (testkit.options)`, async () => {
      await assert.rejects(
        fakeIntelCollateral(options as Parameters<typeof fakeIntelCollateral>[0]),
        (e: unknown) =>
          e instanceof TestkitError && e.code === "testkit.options" && message.test(e.message),
      );
    });
  }
});
