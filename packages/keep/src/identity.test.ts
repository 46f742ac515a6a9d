/**
 * The Keep key, and the binding functions keep re-exports from @donjon/attest
 * (whose src/binding.test.ts holds the golden vectors and the malformed-input
 * table; the two vectors are repeated here to show the re-export is the same code).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import * as attest from "@donjon/attest";
import { generateKeepKey, reportData, workloadIdentity } from "./identity.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const sha = (alg: string, ...parts: Uint8Array[]) => {
  const h = createHash(alg);
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const utf8 = (s: string) => new TextEncoder().encode(s);

const WASM_DIGEST = sha("sha256", utf8("wasm")); // 336154bf…
const CONFIG_DIGEST = sha("sha256", utf8("config")); // b79606fb…
/** A fixed 120-byte stand-in for a P-384 SPKI: bytes 0x00..0x77. */
const SPKI = Uint8Array.from({ length: 120 }, (_, i) => i);

const GOLDEN = {
  identity: "e0700a02071676b706d0bbd7a091f659e3693e2636d1a82fbfdef37c3ea11c34",
  reportData:
    "8f5053b565ef7f3948020090d119b4d94f58cf137d075aa1746fdd402ae3f531" +
    "fd288c3a9a39e03cbf1432972edf66b7a204b4ac1d044fd540ad58903c87da6e",
};

describe("the binding re-exported from @donjon/attest", () => {
  it("is attest's own code, with its golden vectors (src/binding.test.ts there)", async () => {
    assert.equal(workloadIdentity, attest.workloadIdentity);
    assert.equal(reportData, attest.reportData);
    const id = await workloadIdentity(WASM_DIGEST, CONFIG_DIGEST);
    assert.equal(hex(id), GOLDEN.identity);
    assert.equal(hex(await reportData(SPKI, id)), GOLDEN.reportData);
  });
});

describe("generateKeepKey", () => {
  it("makes a P-384 key whose private half cannot leave the Keep", async () => {
    const key = await generateKeepKey();
    assert.equal(key.privateKey.extractable, false);
    assert.deepEqual(key.privateKey.algorithm, { name: "ECDSA", namedCurve: "P-384" });
    assert.deepEqual(key.privateKey.usages, ["sign"]);
    await assert.rejects(crypto.subtle.exportKey("pkcs8", key.privateKey));
    await assert.rejects(crypto.subtle.exportKey("jwk", key.privateKey));
    assert.equal(key.spki.length, 120); // P-384 SPKI, uncompressed point
    const pub = await crypto.subtle.importKey(
      "spki",
      key.spki as Uint8Array<ArrayBuffer>,
      { name: "ECDSA", namedCurve: "P-384" },
      false,
      ["verify"],
    );
    const msg = utf8("bound");
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-384" }, key.privateKey, msg);
    assert.ok(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-384" }, pub, sig, msg));
    const again = await generateKeepKey({ crypto: globalThis.crypto });
    assert.notEqual(hex(again.spki), hex(key.spki));
  });
});
