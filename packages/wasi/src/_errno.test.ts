/**
 * The one host-error mapping, and EACCES from a real host permission check.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as C from "./_constants.ts";
import { errnoOf } from "./_errno.ts";
import { FsError } from "./error.ts";

describe("errnoOf", () => {
  const table: [string, unknown, number][] = [
    ["FsError carries its errno", new FsError(C.ENOTEMPTY), C.ENOTEMPTY],
    ["host ENOENT", Object.assign(new Error("x"), { code: "ENOENT" }), C.ENOENT],
    ["host EACCES", Object.assign(new Error("x"), { code: "EACCES" }), C.EACCES],
    [
      "Node's permission model (ERR_ACCESS_DENIED)",
      Object.assign(new Error("x"), { code: "ERR_ACCESS_DENIED" }),
      C.EPERM,
    ],
    [
      "host EOPNOTSUPP is ENOTSUP",
      Object.assign(new Error("x"), { code: "EOPNOTSUPP" }),
      C.ENOTSUP,
    ],
    ["host ELOOP", Object.assign(new Error("x"), { code: "ELOOP" }), C.ELOOP],
    ["unknown host code is EIO", Object.assign(new Error("x"), { code: "EWHATEVER" }), C.EIO],
    ["guest pointer out of bounds is EFAULT", new RangeError("offset"), C.EFAULT],
    ["a plain bug is EIO", new TypeError("undefined is not a function"), C.EIO],
    ["a thrown non-error is EIO", "oops", C.EIO],
    ["null is EIO", null, C.EIO],
  ];
  for (const [name, error, errno] of table) it(name, () => assert.equal(errnoOf(error), errno));
});

describe("EACCES from the host", () => {
  // Root bypasses permission checks, so as root the guest runs in a child
  // process whose capabilities are dropped with setpriv (util-linux).
  it("a file the host user cannot read is EACCES for the guest", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-eacces-"));
    try {
      fs.chmodSync(dir, 0o755);
      fs.writeFileSync(path.join(dir, "secret"), "no");
      fs.chmodSync(path.join(dir, "secret"), 0o000);
      const script = `
        import { Wasi, constants as C } from "@donjon/wasi";
        import { HostFs } from "@donjon/wasi/hostfs";
        import { runGuest } from ${JSON.stringify(path.join(import.meta.dirname, "_testguest.ts"))};
        runGuest({ preopens: [{ path: "/d", fs: new HostFs({ path: ${JSON.stringify(dir)} }) }] }, (g) => {
          console.log(JSON.stringify([g.open(3, "secret", 0, C.RIGHTS_FD_READ)[0], g.open(3, "secret", 0, C.RIGHTS_FD_READ | C.RIGHTS_FD_WRITE)[0]]));
        });`;
      // Root without capabilities is held to the file's mode bits like anyone.
      const asRoot = process.getuid?.() === 0;
      const argv = [process.execPath, "--input-type=module", "-e", script];
      const cmd = asRoot ? ["setpriv", "--bounding-set=-all", "--inh-caps=-all", ...argv] : argv;
      const r = spawnSync(cmd[0]!, cmd.slice(1), {
        encoding: "utf8",
        cwd: path.resolve(import.meta.dirname, "../../.."),
      });
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout), [C.EACCES, C.EACCES]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
