/**
 * The Node edge: host descriptors as WASI streams, buffered or not.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { hostStream } from "./node.ts";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-node-"));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
const enc = (s: string) => new TextEncoder().encode(s);

describe("hostStream", () => {
  it("writes through at once when not buffered", () => {
    const file = path.join(dir, "plain");
    const fd = fs.openSync(file, "w");
    const s = hostStream(fd, "write");
    assert.equal(s.write(enc("now"), null), 3);
    assert.equal(fs.readFileSync(file, "utf8"), "now");
    fs.closeSync(fd);
  });

  it("holds small writes until flushed or full", () => {
    const file = path.join(dir, "held");
    const fd = fs.openSync(file, "w");
    const s = hostStream(fd, "write", { buffer: true });
    s.write(enc("one "), null);
    s.write(enc("two"), null);
    assert.equal(fs.readFileSync(file, "utf8"), "", "held");
    s.flush!();
    assert.equal(fs.readFileSync(file, "utf8"), "one two");
    // Past 64 KiB the held bytes go out before the next write is held.
    const chunk = new Uint8Array(40_000).fill(0x61);
    s.write(chunk, null);
    s.write(chunk, null);
    assert.equal(fs.statSync(file).size, 7 + 40_000);
    // A write as large as the buffer goes straight through.
    s.write(new Uint8Array(70_000).fill(0x62), null);
    assert.equal(fs.statSync(file).size, 7 + 80_000 + 70_000);
    fs.closeSync(fd);
  });

  it("reports a failed flush from the next write, once", () => {
    const fd = fs.openSync(path.join(dir, "fails"), "w");
    const s = hostStream(fd, "write", { buffer: true });
    s.write(enc("lost"), null);
    fs.closeSync(fd);
    assert.throws(() => s.flush!(), { code: "EBADF" });
    assert.throws(() => s.write(enc("x"), null), { code: "EBADF" });
  });

  it("reads a file descriptor to its end", () => {
    const file = path.join(dir, "in");
    fs.writeFileSync(file, "input");
    const fd = fs.openSync(file, "r");
    const s = hostStream(fd, "read");
    const buf = new Uint8Array(10);
    assert.equal(s.read(buf, null), 5);
    assert.equal(s.read(buf, null), 0);
    fs.closeSync(fd);
  });
});
