/**
 * Golden vectors for the workload identity and the report_data binding. The
 * expected hex was computed with Python's hashlib (provenance: the one-liner in
 * packages/keep/README.md, "Workload identity and report_data"); each test also recomputes
 * it with node:crypto's createHash, independently of the WebCrypto code under test. (Moved here from
 * @donjon/keep with the functions; the vectors are unchanged.)
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import {
  REPORT_DATA_TAG,
  reportData,
  WORKLOAD_IDENTITY_TAG,
  workloadIdentity,
  workloadIdentityInput,
} from "./binding.ts";
import { OptionsError } from "./error.ts";

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
  wasm: "336154bf67f765f8f75d16a0accee61b5ee5f6a75b2a2905703df913bd550f3e",
  config: "b79606fb3afea5bd1609ed40b622142f1c98125abcfe89a76a661b0e8e343910",
  identity: "e0700a02071676b706d0bbd7a091f659e3693e2636d1a82fbfdef37c3ea11c34",
  identityOfZeros: "61a6800bae3c3950b3e1964079830e2e3e0e0d70e5eb8913e4b68e6359d16d20",
  reportData:
    "8f5053b565ef7f3948020090d119b4d94f58cf137d075aa1746fdd402ae3f531" +
    "fd288c3a9a39e03cbf1432972edf66b7a204b4ac1d044fd540ad58903c87da6e",
};

describe("workload identity", () => {
  it("matches the golden vector and an independent createHash", async () => {
    assert.equal(hex(WASM_DIGEST), GOLDEN.wasm);
    assert.equal(hex(CONFIG_DIGEST), GOLDEN.config);
    const id = await workloadIdentity(WASM_DIGEST, CONFIG_DIGEST);
    assert.equal(hex(id), GOLDEN.identity);
    const independent = sha(
      "sha256",
      utf8("donjon-workload-v1"),
      new Uint8Array([0]),
      WASM_DIGEST,
      CONFIG_DIGEST,
    );
    assert.equal(hex(id), hex(independent));
  });

  it("of two all-zero digests", async () => {
    const z = new Uint8Array(32);
    assert.equal(hex(await workloadIdentity(z, z)), GOLDEN.identityOfZeros);
  });

  it("encodes tag ‖ NUL ‖ wasm ‖ config in 83 bytes, and order matters", async () => {
    const input = workloadIdentityInput(WASM_DIGEST, CONFIG_DIGEST);
    assert.equal(input.length, 83);
    assert.equal(WORKLOAD_IDENTITY_TAG.length + 1 + 64, 83);
    assert.equal(new TextDecoder().decode(input.subarray(0, 18)), "donjon-workload-v1");
    assert.equal(input[18], 0);
    assert.deepEqual(input.subarray(19, 51), WASM_DIGEST);
    assert.deepEqual(input.subarray(51), CONFIG_DIGEST);
    const swapped = await workloadIdentity(CONFIG_DIGEST, WASM_DIGEST);
    assert.notEqual(hex(swapped), GOLDEN.identity);
  });

  for (const [name, wasm, config] of [
    ["short wasm digest", new Uint8Array(31), new Uint8Array(32)],
    ["long config digest", new Uint8Array(32), new Uint8Array(48)],
    ["not bytes", "00".repeat(32) as unknown as Uint8Array, new Uint8Array(32)],
  ] as const) {
    it(`rejects a ${name}`, async () => {
      await assert.rejects(workloadIdentity(wasm, config), (e: unknown) => {
        assert.ok(e instanceof OptionsError);
        assert.equal(e.code, "options.invalid");
        return true;
      });
    });
  }
});

describe("report_data", () => {
  it("matches the golden vector and an independent createHash", async () => {
    const id = await workloadIdentity(WASM_DIGEST, CONFIG_DIGEST);
    const rd = await reportData(SPKI, id);
    assert.equal(rd.length, 64);
    assert.equal(hex(rd), GOLDEN.reportData);
    const independent = sha("sha512", utf8(REPORT_DATA_TAG), new Uint8Array([0]), SPKI, id);
    assert.equal(hex(rd), hex(independent));
  });

  it("changes with every input", async () => {
    const id = await workloadIdentity(WASM_DIGEST, CONFIG_DIGEST);
    const other = SPKI.slice();
    other[119]! ^= 1;
    assert.notEqual(hex(await reportData(other, id)), GOLDEN.reportData);
    const id2 = id.slice();
    id2[0]! ^= 1;
    assert.notEqual(hex(await reportData(SPKI, id2)), GOLDEN.reportData);
  });

  for (const [name, spki, id] of [
    ["empty SPKI", new Uint8Array(0), new Uint8Array(32)],
    ["SPKI that is not bytes", [1, 2] as unknown as Uint8Array, new Uint8Array(32)],
    ["31-byte identity", SPKI, new Uint8Array(31)],
    ["64-byte identity", SPKI, new Uint8Array(64)],
  ] as const) {
    it(`rejects an ${name}`, async () => {
      await assert.rejects(reportData(spki, id), {
        name: "OptionsError",
        code: "options.invalid",
      });
    });
  }
});
