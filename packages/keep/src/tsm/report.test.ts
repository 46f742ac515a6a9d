/**
 * getTsmReport against testkit's fake configfs-tsm: the whole path from inblob
 * to a verified SNP report, and every way the tree can let the caller down.
 * The kernel's behaviour (generation, outblob generation, rmdir of an entry)
 * is covered here, by the fake; port_linux.test.ts covers only the fs plumbing.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  createSnpVerifier,
  EvidenceError,
  parseSnpCertTable,
  parseSnpReport,
} from "@donjon/attest";
import { type FakeTsmOptions, fakeTsm, TDX_QUOTE_REPORT_DATA_OFFSET } from "@donjon/testkit";
import { KeepError, type KeepErrorCode } from "../error.ts";
import { getTsmReport, type TsmReportOptions } from "./report.ts";

const INBLOB = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + 3) & 0xff);

function isKeepError(code: KeepErrorCode, message?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof KeepError, `expected KeepError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  };
}

describe("getTsmReport on a fake sev_guest", () => {
  it("returns a report over the inblob that verifies with the VCEK from the auxblob", async () => {
    const tsm = fakeTsm();
    const r = await getTsmReport(tsm, { inblob: INBLOB });
    assert.equal(r.provider, "sev_guest");
    assert.equal(r.generation, 1);

    const report = parseSnpReport(r.outblob);
    assert.deepEqual(report.reportData, INBLOB);

    assert.ok(r.auxblob);
    const table = parseSnpCertTable(r.auxblob);
    assert.deepEqual(
      table.entries.map((e) => e.role),
      ["ark", "ask", "vcek"],
    );
    const snp = tsm.lastSnp!;
    assert.deepEqual(table.vcek, snp.vcek);

    const result = await createSnpVerifier({ roots: snp.roots }).verify(report, {
      now: snp.now,
      endorsementKey: table.vcek!,
      intermediates: [table.ask!],
      crls: [snp.crl],
    });
    assert.equal(result.ok, true, JSON.stringify(result.checks.filter((c) => !c.ok)));
    assert.equal(result.endorsement?.kind, "vcek");

    assert.deepEqual(tsm.entries(), []);
    assert.deepEqual(tsm.removed, tsm.created);
    assert.equal(tsm.created.length, 1);
    assert.match(tsm.created[0]!, /^\/sys\/kernel\/config\/tsm\/report\/donjon-/);
  });

  it("a report whose REPORT_DATA is not the inblob would not be returned: the fake binds it", async () => {
    const other = new Uint8Array(64).fill(1);
    const tsm = fakeTsm();
    const r = await getTsmReport(tsm, { inblob: other });
    assert.deepEqual(parseSnpReport(r.outblob).reportData, other);
  });

  it("writes privlevel when asked: generation counts both writes, the VMPL follows", async () => {
    const tsm = fakeTsm();
    const r = await getTsmReport(tsm, { inblob: INBLOB, privlevel: 2 });
    assert.equal(r.generation, 2);
    assert.equal(parseSnpReport(r.outblob).vmpl, 2);
  });

  it("skips auxblob when not asked for", async () => {
    const tsm = fakeTsm({ fail: { read: { auxblob: "EIO" } } });
    const r = await getTsmReport(tsm, { inblob: INBLOB, getAuxblob: false });
    assert.equal(r.auxblob, null);
  });

  it("returns an empty auxblob when the host installed no certificates", async () => {
    const r = await getTsmReport(fakeTsm({ noCertificates: true }), { inblob: INBLOB });
    assert.deepEqual(r.auxblob, new Uint8Array(0));
  });

  it("serves a VLEK-signed report with the VLEK in the table", async () => {
    const tsm = fakeTsm({ snp: { signer: "vlek" } });
    const r = await getTsmReport(tsm, { inblob: INBLOB });
    const table = parseSnpCertTable(r.auxblob!);
    assert.deepEqual(
      table.entries.map((e) => e.role),
      ["ark", "vlek"],
    );
    assert.deepEqual(table.vlek, tsm.lastSnp!.vlek);
  });

  it("uses another report directory when given one", async () => {
    const tsm = fakeTsm({ dir: "/cfg/tsm/report" });
    await getTsmReport(tsm, { inblob: INBLOB, dir: "/cfg/tsm/report" });
    assert.match(tsm.created[0]!, /^\/cfg\/tsm\/report\/donjon-/);
  });

  it("reads tdx_guest as a provider it knows", async () => {
    const r = await getTsmReport(fakeTsm({ provider: "tdx_guest" }), { inblob: INBLOB });
    assert.equal(r.provider, "tdx_guest");
    assert.ok(r.outblob.length > 0);
  });

  it("on tdx_guest returns a TDX quote v4 whose REPORTDATA is the inblob, and an empty auxblob", async () => {
    const tsm = fakeTsm({ provider: "tdx_guest" });
    const r = await getTsmReport(tsm, { inblob: INBLOB });
    const v = new DataView(r.outblob.buffer, r.outblob.byteOffset);
    assert.equal(v.getUint16(0, true), 4);
    assert.equal(v.getUint32(4, true), 0x81);
    // LAYOUTS.md §2.2/§2.5: header 48 bytes, REPORTDATA at body offset 520.
    assert.equal(TDX_QUOTE_REPORT_DATA_OFFSET, 48 + 520);
    assert.deepEqual(r.outblob.subarray(568, 568 + 64), INBLOB);
    assert.deepEqual(r.auxblob, new Uint8Array(0));
    assert.deepEqual(tsm.entries(), []);
  });

  it("leaves a malformed certificate table for attest to reject", async () => {
    const tsm = fakeTsm({ tamper: { auxblob: (real) => real.subarray(0, real.length - 1) } });
    const r = await getTsmReport(tsm, { inblob: INBLOB });
    assert.throws(
      () => parseSnpCertTable(r.auxblob!),
      (e: unknown) => e instanceof EvidenceError && e.code === "snp.certtable.malformed",
    );
  });
});

describe("getTsmReport failures: a typed error, and the entry is always removed", () => {
  const big = (n: number) => () => new Uint8Array(n).fill(1);
  const cases: [string, FakeTsmOptions, Partial<TsmReportOptions>, KeepErrorCode, RegExp][] = [
    [
      "a concurrent writer after our inblob",
      { concurrentWriter: {} },
      {},
      "keep.tsm.race",
      /generation is 2 after reading outblob, expected 1 \(0 \+ our 1 writes\): another writer/,
    ],
    [
      "a concurrent writer after our privlevel",
      { concurrentWriter: { afterWrites: 2 } },
      { privlevel: 1 },
      "keep.tsm.race",
      /is 3 after reading outblob, expected 2/,
    ],
    [
      "a generation that jumps between outblob and auxblob",
      {
        tamper: {
          generation: (() => {
            let reads = 0;
            return (real: Uint8Array) => (++reads === 3 ? new TextEncoder().encode("7\n") : real);
          })(),
        },
      },
      {},
      "keep.tsm.race",
      /is 7 after reading auxblob, expected 1/,
    ],
    [
      "a missing provider",
      { provider: null },
      {},
      "keep.tsm.provider",
      /could not read .*\/provider: ENOENT/,
    ],
    ["an empty provider", { provider: "" }, {}, "keep.tsm.provider", /provider is empty/],
    [
      "an unknown provider",
      { provider: "cca_guest" },
      {},
      "keep.tsm.provider",
      /unknown configfs-tsm provider "cca_guest": Donjon knows sev_guest .* and tdx_guest/,
    ],
    [
      "an oversized provider",
      { tamper: { provider: big(65) } },
      {},
      "keep.tsm.malformed",
      /provider: expected at most 64 bytes, got 65/,
    ],
    [
      "an oversized outblob",
      { tamper: { outblob: big(32 * 1024 + 1) } },
      {},
      "keep.tsm.malformed",
      /outblob: expected at most 32768 bytes, got 32769/,
    ],
    [
      "an empty outblob",
      { tamper: { outblob: big(0) } },
      {},
      "keep.tsm.malformed",
      /outblob is empty/,
    ],
    [
      "an oversized auxblob",
      { tamper: { auxblob: big(32 * 1024 + 1) } },
      {},
      "keep.tsm.malformed",
      /auxblob: expected at most 32768 bytes, got 32769/,
    ],
    [
      "a generation that is not a number",
      { tamper: { generation: () => new TextEncoder().encode("-1\n") } },
      {},
      "keep.tsm.malformed",
      /generation: expected a decimal number, got "-1\\n"/,
    ],
    [
      "a failing outblob read (firmware error)",
      { fail: { read: { outblob: "EIO" } } },
      {},
      "keep.tsm.io",
      /could not read .*\/outblob: EIO/,
    ],
    [
      "a failing inblob write",
      { fail: { write: { inblob: "EBUSY" } } },
      {},
      "keep.tsm.io",
      /could not write .*\/inblob: EBUSY/,
    ],
    [
      "a privlevel below the floor",
      { privlevelFloor: 2 },
      { privlevel: 1 },
      "keep.tsm.io",
      /could not write .*\/privlevel: EINVAL/,
    ],
  ];
  for (const [name, fake, opts, code, message] of cases) {
    it(`${name}: ${code}`, async () => {
      const tsm = fakeTsm(fake);
      await assert.rejects(
        getTsmReport(tsm, { inblob: INBLOB, ...opts }),
        isKeepError(code, message),
      );
      assert.equal(tsm.created.length, 1);
      assert.deepEqual(tsm.removed, tsm.created);
      assert.deepEqual(tsm.entries(), []);
    });
  }

  it("keeps the OS error as the cause", async () => {
    const tsm = fakeTsm({ fail: { read: { outblob: "EIO" } } });
    const err = await getTsmReport(tsm, { inblob: INBLOB }).catch((e: unknown) => e);
    assert.ok(err instanceof KeepError);
    assert.equal((err.cause as { code?: string }).code, "EIO");
  });

  it("a failing mkdir: keep.tsm.io naming the directory and the remedy, nothing to remove", async () => {
    const tsm = fakeTsm({ fail: { mkdir: "ENXIO" } });
    await assert.rejects(
      getTsmReport(tsm, { inblob: INBLOB }),
      isKeepError(
        "keep.tsm.io",
        /could not create a report entry in \/sys\/kernel\/config\/tsm\/report: ENXIO.*modprobe sev-guest/,
      ),
    );
    assert.deepEqual(tsm.created, []);
  });

  it("a failing removal after success: keep.tsm.io", async () => {
    const tsm = fakeTsm({ fail: { remove: "EBUSY" } });
    await assert.rejects(
      getTsmReport(tsm, { inblob: INBLOB }),
      isKeepError("keep.tsm.io", /could not remove report entry .*donjon-.*: EBUSY/),
    );
  });

  it("a failing removal after a failure: the first failure's code, both in the message", async () => {
    const tsm = fakeTsm({ fail: { remove: "EBUSY" }, concurrentWriter: {} });
    await assert.rejects(
      getTsmReport(tsm, { inblob: INBLOB }),
      isKeepError(
        "keep.tsm.race",
        /another writer.*\(and could not remove report entry .*: EBUSY: .*\)$/,
      ),
    );
  });

  const bad: [string, Partial<TsmReportOptions>, RegExp][] = [
    ["a 32-byte inblob", { inblob: new Uint8Array(32) }, /inblob: expected 64 bytes, got 32 bytes/],
    ["a 65-byte inblob", { inblob: new Uint8Array(65) }, /expected 64 bytes, got 65 bytes/],
    ["no inblob", { inblob: undefined as unknown as Uint8Array }, /got undefined/],
    ["privlevel 4", { privlevel: 4 }, /privlevel: expected an integer 0–3, got 4/],
    ["privlevel 1.5", { privlevel: 1.5 }, /got 1.5/],
  ];
  for (const [name, opts, message] of bad) {
    it(`${name}: keep.tsm.options before touching the tree`, async () => {
      const tsm = fakeTsm();
      await assert.rejects(
        getTsmReport(tsm, { inblob: INBLOB, ...opts }),
        isKeepError("keep.tsm.options", message),
      );
      assert.deepEqual(tsm.created, []);
    });
  }
});
