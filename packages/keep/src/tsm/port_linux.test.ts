/**
 * The real configfs-tsm port against a plain temporary directory that
 * imitates the tree. This tests the fs plumbing only (mkdir with a random
 * name, one-write writes, reads, removal, the removal guard): there is no
 * configfs here, so what the kernel does — generation, outblob from the
 * firmware, rmdir of an entry with its attributes — is covered by
 * report.test.ts against testkit's fakeTsm.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { linuxTsmPort } from "./port_linux.ts";

describe("linuxTsmPort on a plain directory", () => {
  let root: string;
  let reportDir: string;
  beforeEach(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-tsm-"));
    reportDir = path.join(root, "tsm", "report");
    fs.mkdirSync(reportDir, { recursive: true });
  });
  afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

  it("makes entries with the pattern and a random suffix, each new", async () => {
    const port = linuxTsmPort({ reportDir });
    const a = await port.mkdirTemp(reportDir, "donjon-");
    const b = await port.mkdirTemp(reportDir, "donjon-");
    assert.notEqual(a, b);
    assert.match(path.basename(a), /^donjon-[0-9a-f]{16}$/);
    assert.equal(path.dirname(a), reportDir);
    assert.ok(fs.statSync(a).isDirectory());
    assert.deepEqual(await port.readDir(reportDir), [path.basename(a), path.basename(b)].sort());
  });

  it("rejects a pattern with a slash and a missing parent", async () => {
    const port = linuxTsmPort({ reportDir });
    await assert.rejects(port.mkdirTemp(reportDir, "../x"), /contains \//);
    await assert.rejects(port.mkdirTemp(path.join(root, "nope"), "d-"), { code: "ENOENT" });
  });

  it("writes bytes in one write and reads them back", async () => {
    const port = linuxTsmPort({ reportDir });
    const entry = await port.mkdirTemp(reportDir, "donjon-");
    const data = Uint8Array.from({ length: 64 }, (_, i) => i);
    await port.writeFile(path.join(entry, "inblob"), data);
    assert.deepEqual(new Uint8Array(fs.readFileSync(path.join(entry, "inblob"))), data);
    fs.writeFileSync(path.join(entry, "generation"), "1\n");
    assert.deepEqual(
      await port.readFile(path.join(entry, "generation")),
      new TextEncoder().encode("1\n"),
    );
    await port.writeFile(path.join(entry, "inblob"), new Uint8Array([9]));
    assert.deepEqual(await port.readFile(path.join(entry, "inblob")), new Uint8Array([9]));
    await assert.rejects(port.readFile(path.join(entry, "outblob")), { code: "ENOENT" });
  });

  it("removes an entry with its files, and nothing outside the report directory", async () => {
    const port = linuxTsmPort({ reportDir });
    const entry = await port.mkdirTemp(reportDir, "donjon-");
    fs.writeFileSync(path.join(entry, "outblob"), "x");
    fs.writeFileSync(path.join(entry, "provider"), "sev_guest\n");
    await port.removeAll(entry);
    assert.equal(fs.existsSync(entry), false);

    const empty = await port.mkdirTemp(reportDir, "donjon-");
    await port.removeAll(empty);
    assert.equal(fs.existsSync(empty), false);

    for (const p of [
      root,
      reportDir,
      path.join(reportDir, "a", "b"),
      path.join(reportDir, "..", "x"),
    ]) {
      await assert.rejects(port.removeAll(p), /is not an entry of/);
    }
    assert.ok(fs.existsSync(reportDir));
    await assert.rejects(port.removeAll(path.join(reportDir, "missing")), { code: "ENOENT" });
  });
});
