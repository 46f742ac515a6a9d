/** The fake configfs-tsm tree behaves like the kernel's where a caller can tell. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseSnpCertTable, parseSnpReport } from "@donjon/attest";
import { FAKE_CERT_GUIDS, fakeSnpCertTable, fakeTsm } from "./faketsm.ts";
import { TDX_QUOTE_REPORT_DATA_OFFSET } from "./intel.ts";

const DIR = "/sys/kernel/config/tsm/report";
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const enc = (s: string) => new TextEncoder().encode(s);

describe("fakeTsm", () => {
  it("counts writes in generation and caches outblob per generation", async () => {
    const tsm = fakeTsm();
    const e = await tsm.mkdirTemp(DIR, "t-");
    assert.equal(dec(await tsm.readFile(`${e}/generation`)), "0\n");
    assert.equal(dec(await tsm.readFile(`${e}/provider`)), "sev_guest\n");
    await assert.rejects(tsm.readFile(`${e}/outblob`), { code: "EINVAL" });
    await tsm.writeFile(`${e}/inblob`, new Uint8Array([1, 2, 3]));
    const a = await tsm.readFile(`${e}/outblob`);
    assert.deepEqual(await tsm.readFile(`${e}/outblob`), a);
    // A shorter inblob is zero-padded into REPORT_DATA.
    assert.deepEqual(parseSnpReport(a).reportData.subarray(0, 4), new Uint8Array([1, 2, 3, 0]));
    await tsm.writeFile(`${e}/privlevel`, enc("3\n"));
    assert.equal(dec(await tsm.readFile(`${e}/generation`)), "2\n");
    assert.equal(parseSnpReport(await tsm.readFile(`${e}/outblob`)).vmpl, 3);
    assert.deepEqual(await tsm.readDir(DIR), [e.slice(DIR.length + 1)]);
    assert.ok((await tsm.readDir(e)).includes("auxblob"));
    await tsm.removeAll(e);
    await assert.rejects(tsm.readFile(`${e}/generation`), { code: "ENOENT" });
    assert.deepEqual(tsm.entries(), []);
  });

  it("refuses what the kernel refuses", async () => {
    const tsm = fakeTsm({ privlevelFloor: 1 });
    await assert.rejects(tsm.mkdirTemp("/elsewhere", "t-"), { code: "ENOENT" });
    const e = await tsm.mkdirTemp(DIR, "t-");
    await assert.rejects(tsm.writeFile(`${e}/inblob`, new Uint8Array(65)), { code: "EINVAL" });
    await assert.rejects(tsm.writeFile(`${e}/privlevel`, enc("0")), { code: "EINVAL" });
    await assert.rejects(tsm.writeFile(`${e}/privlevel`, enc("x")), { code: "EINVAL" });
    await assert.rejects(tsm.writeFile(`${e}/outblob`, enc("x")), { code: "EACCES" });
    await assert.rejects(tsm.readFile(`${e}/inblob`), { code: "EACCES" });
    await assert.rejects(tsm.readFile(`${e}/nope`), { code: "ENOENT" });
    await assert.rejects(tsm.readFile(e), { code: "EISDIR" });
    await assert.rejects(tsm.removeAll(`${e}/inblob`), { code: "ENOTDIR" });
    assert.equal(dec(await tsm.readFile(`${e}/privlevel_floor`)), "1\n");
    assert.equal(dec(await tsm.readFile(`${e}/generation`)), "0\n");
  });

  it("a concurrent writer replaces the inblob and advances generation", async () => {
    const theirs = new Uint8Array(64).fill(0x42);
    const tsm = fakeTsm({ concurrentWriter: { inblob: theirs } });
    const e = await tsm.mkdirTemp(DIR, "t-");
    await tsm.writeFile(`${e}/inblob`, new Uint8Array(64));
    assert.equal(dec(await tsm.readFile(`${e}/generation`)), "2\n");
    assert.deepEqual(parseSnpReport(await tsm.readFile(`${e}/outblob`)).reportData, theirs);
  });

  it("tdx_guest serves a fake-Intel TDX quote v4 over the inblob and an empty auxblob", async () => {
    const tsm = fakeTsm({ provider: "tdx_guest", tdx: { debug: true } });
    const e = await tsm.mkdirTemp(DIR, "t-");
    assert.equal(dec(await tsm.readFile(`${e}/provider`)), "tdx_guest\n");
    await tsm.writeFile(`${e}/inblob`, new Uint8Array([5, 6, 7]));
    const quote = await tsm.readFile(`${e}/outblob`);
    const v = new DataView(quote.buffer, quote.byteOffset);
    assert.equal(v.getUint16(0, true), 4, "quote version 4");
    assert.equal(v.getUint32(4, true), 0x81, "TEE_TYPE TDX");
    const reportData = new Uint8Array(64);
    reportData.set([5, 6, 7]);
    const at = TDX_QUOTE_REPORT_DATA_OFFSET;
    assert.deepEqual(quote.subarray(at, at + 64), reportData);
    assert.equal(v.getBigUint64(48 + 120, true) & 1n, 1n, "the tdx options reach the body");
    assert.deepEqual(await tsm.readFile(`${e}/auxblob`), new Uint8Array(0));
    assert.ok(tsm.lastIntel);
    assert.equal(tsm.lastSnp, null);
  });

  it("encodes the certificate table the attest parser reads", () => {
    const bytes = fakeSnpCertTable([
      { guid: FAKE_CERT_GUIDS.ark, data: new Uint8Array([1]) },
      { guid: FAKE_CERT_GUIDS.vcek, data: new Uint8Array([2, 3]) },
    ]);
    assert.equal(bytes.length, 72 + 3);
    const t = parseSnpCertTable(bytes);
    assert.deepEqual(t.ark, new Uint8Array([1]));
    assert.deepEqual(t.vcek, new Uint8Array([2, 3]));
  });
});
