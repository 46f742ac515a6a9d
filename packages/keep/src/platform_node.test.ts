/** The real platform port on this machine returns sane values. */
import assert from "node:assert/strict";
import * as os from "node:os";
import { it } from "node:test";
import { probeBackends } from "./backends.ts";
import { nodePlatformPort } from "./platform_node.ts";

const port = nodePlatformPort({ path: process.env.PATH ?? "" });

it("reads the kernel release, CPU flags and files of this machine", () => {
  assert.equal(port.kernelRelease(), os.release());
  assert.ok(port.kernelRelease().length > 0);
  const flags = port.cpuFlags();
  assert.ok(Array.isArray(flags));
  if (process.platform === "linux" && os.arch() === "x64")
    assert.ok(flags.includes("fpu"), "x86 CPUs have fpu");
  assert.equal(typeof port.userNamespaces(), "boolean");
  assert.equal(port.readFile("/nonexistent/donjon"), null);
  assert.equal(port.exists("/"), true);
  assert.equal(port.exists("/nonexistent/donjon"), false);
  assert.ok(port.listDir("/")!.length > 0);
  assert.equal(port.listDir("/nonexistent/donjon"), null);
});

it("which finds sh on PATH and nothing without a PATH", () => {
  const sh = port.which("sh");
  assert.ok(sh?.endsWith("/sh"), String(sh));
  assert.equal(port.which("donjon-no-such-command"), null);
  assert.equal(nodePlatformPort().which("sh"), null);
});

it("probes every backend without throwing", () => {
  const names = probeBackends(port).map((b) => b.name);
  assert.deepEqual(names, ["nil", "sandbox", "snp", "tdx", "sgx"]);
});
