/** The fake /dev/attestation behaves like Gramine's where a caller can tell. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fakeGramine } from "./fakegramine.ts";
import { SGX_QUOTE_REPORT_DATA_OFFSET } from "./intel.ts";

const DIR = "/dev/attestation";
const at = SGX_QUOTE_REPORT_DATA_OFFSET;

describe("fakeGramine", () => {
  it("serves dcap and a fresh SGX quote v3 over the current user_report_data", async () => {
    const g = fakeGramine({ sgx: { isvSvn: 4 } });
    assert.equal(await g.exists(DIR), true);
    assert.equal(await g.exists(`${DIR}/quote`), true);
    assert.equal(await g.exists(`${DIR}/nope`), false);
    assert.equal(new TextDecoder().decode(await g.readFile(`${DIR}/attestation_type`)), "dcap");
    // Before any write, the report data is zeros.
    assert.deepEqual((await g.readFile(`${DIR}/quote`)).subarray(at, at + 64), new Uint8Array(64));
    const data = new Uint8Array(64).fill(9);
    await g.writeFile(`${DIR}/user_report_data`, data);
    const quote = await g.readFile(`${DIR}/quote`);
    assert.equal(quote[0], 3);
    assert.deepEqual(quote.subarray(at, at + 64), data);
    assert.equal(new DataView(quote.buffer).getUint16(48 + 258, true), 4, "ISVSVN from options");
    assert.deepEqual(await g.readFile(`${DIR}/user_report_data`), data);
    assert.deepEqual(g.writes, [data]);
    assert.ok(g.lastIntel);
  });

  it("refuses what Gramine refuses", async () => {
    const g = fakeGramine();
    await assert.rejects(g.writeFile(`${DIR}/user_report_data`, new Uint8Array(63)), {
      code: "EINVAL",
    });
    await assert.rejects(g.writeFile(`${DIR}/quote`, new Uint8Array(64)), { code: "EACCES" });
    await assert.rejects(g.readFile("/elsewhere/quote"), { code: "ENOENT" });
    await assert.rejects(g.readFile(`${DIR}/report`), { code: "ENOENT" });
  });

  it("absent, a missing attestation_type, a concurrent writer", async () => {
    assert.equal(await fakeGramine({ absent: true }).exists(DIR), false);
    await assert.rejects(
      fakeGramine({ attestationType: null }).readFile(`${DIR}/attestation_type`),
      {
        code: "ENOENT",
      },
    );
    const theirs = new Uint8Array(64).fill(0x42);
    const g = fakeGramine({ concurrentWriter: { reportData: theirs } });
    await g.writeFile(`${DIR}/user_report_data`, new Uint8Array(64));
    assert.deepEqual((await g.readFile(`${DIR}/quote`)).subarray(at, at + 64), theirs);
    assert.equal(g.writes.length, 2);
  });
});
