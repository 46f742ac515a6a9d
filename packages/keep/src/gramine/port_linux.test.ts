/**
 * The real Gramine port against a plain temporary directory that imitates
 * /dev/attestation. This tests the fs plumbing only (one-write writes, reads,
 * exists); what Gramine does — the quote over user_report_data — is covered
 * by quote.test.ts against testkit's fakeGramine. At the end, getGramineQuote
 * runs over this port on a tree whose quote was prepared by fakeIntel.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { fakeIntel } from "@donjon/testkit";
import { KeepError } from "../error.ts";
import { linuxGraminePort } from "./port_linux.ts";
import { getGramineQuote } from "./quote.ts";

describe("linuxGraminePort on a plain directory", () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-gramine-"));
    dir = path.join(root, "dev", "attestation");
    fs.mkdirSync(dir, { recursive: true });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("writes bytes in one write and reads them back", async () => {
    const port = linuxGraminePort();
    const data = Uint8Array.from({ length: 64 }, (_, i) => i);
    await port.writeFile(path.join(dir, "user_report_data"), data);
    assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(dir, "user_report_data"))), data);
    assert.deepEqual(await port.readFile(path.join(dir, "user_report_data")), data);
    await assert.rejects(port.readFile(path.join(dir, "quote")), { code: "ENOENT" });
    await assert.rejects(port.writeFile(path.join(root, "no", "such"), data), { code: "ENOENT" });
  });

  it("exists: true, false for a missing path, and rejects what it cannot tell", async () => {
    const port = linuxGraminePort();
    assert.equal(await port.exists(dir), true);
    assert.equal(await port.exists(path.join(root, "missing")), false);
    // A path through a regular file is ENOTDIR: not "missing", so not false.
    fs.writeFileSync(path.join(root, "file"), "x");
    await assert.rejects(port.exists(path.join(root, "file", "x")), { code: "ENOTDIR" });
  });

  it("getGramineQuote over the real port: dcap, our data written, the quote read and checked", async () => {
    const reportData = new Uint8Array(64).fill(0x5a);
    const intel = await fakeIntel();
    fs.writeFileSync(path.join(dir, "attestation_type"), "dcap");
    // A plain directory cannot make the quote when written to: prepare it over the same data.
    fs.writeFileSync(path.join(dir, "quote"), await intel.sgxQuote({ reportData }));
    const { quote } = await getGramineQuote(linuxGraminePort(), { reportData, dir });
    assert.deepEqual(
      new Uint8Array(fs.readFileSync(path.join(dir, "user_report_data"))),
      reportData,
    );
    assert.deepEqual(quote.subarray(368, 432), reportData);

    // The same tree with other data written: the prepared quote is not ours.
    await assert.rejects(
      getGramineQuote(linuxGraminePort(), { reportData: new Uint8Array(64), dir }),
      (e: unknown) => e instanceof KeepError && e.code === "keep.gramine.race",
    );
  });

  it("getGramineQuote over the real port outside Gramine: keep.gramine.io", async () => {
    await assert.rejects(
      getGramineQuote(linuxGraminePort(), {
        reportData: new Uint8Array(64),
        dir: path.join(root, "nope"),
      }),
      (e: unknown) =>
        e instanceof KeepError && e.code === "keep.gramine.io" && /does not exist/.test(e.message),
    );
  });
});
