/**
 * `donjon platform info`: in process on fake machines (the rendering, the
 * flags), and the real CLI on this machine, which has no TEE.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { type FakeMachine, fakePlatformPort } from "@donjon/keep";
import { CliError } from "../../error.ts";
import type { PlatformInfo } from "./info.ts";
import { type PlatformContext, platform } from "./platform.ts";

const ROOT = path.resolve(import.meta.dirname, "../../../../..");
const BIN = path.join(ROOT, "packages/cli/bin/donjon.js");

const SNP_GUEST: FakeMachine = {
  kernel: "6.11.0-1012-azure",
  cpuFlags: ["sev_snp"],
  files: { "/sys/kernel/config/tsm/report/r/provider": "sev_guest\n" },
  dirs: ["/dev/sev-guest"],
};

function fake(machine: FakeMachine | null): PlatformContext & { stdout: string; stderr: string } {
  const ctx = {
    stdout: "",
    stderr: "",
    out: (t: string) => {
      ctx.stdout += t;
    },
    err: (t: string) => {
      ctx.stderr += t;
    },
    ...(machine ? { platform: async () => fakePlatformPort(machine) } : {}),
  };
  return ctx;
}

describe("donjon platform info, in process", () => {
  it("prints ✔/✗ per backend and probe, the fix under each failure, and auto's choice", async () => {
    const ctx = fake({ kernel: "6.1.0-18-amd64", commands: { bwrap: "/usr/bin/bwrap" } });
    assert.equal(await platform(["info"], ctx), 0);
    const out = ctx.stdout;
    assert.match(
      out,
      /^✔ nil — in process, no isolation, no evidence .*\(never picked by auto\)$/m,
    );
    assert.match(out, /^✔ sandbox — /m);
    assert.match(out, /^ {2}✔ bwrap \(optional\) — \/usr\/bin\/bwrap$/m);
    assert.match(out, /^✗ snp — /m);
    assert.match(
      out,
      /^ {2}✗ \/dev\/sev-guest — missing\n {6}fix: load the sev-guest module: modprobe sev-guest$/m,
    );
    assert.match(out, /^ {2}✗ kernel — 6\.1\.0-18-amd64; configfs-tsm needs ≥ 6\.7\n {6}fix: /m);
    assert.match(out, /^auto picks: sandbox$/m);
  });

  it("--json prints the probe tree; an SNP guest's auto is snp", async () => {
    const ctx = fake(SNP_GUEST);
    assert.equal(await platform(["info", "--json"], ctx), 0);
    const tree = JSON.parse(ctx.stdout) as PlatformInfo;
    assert.equal(tree.auto, "snp");
    const snp = tree.backends.find((b) => b.name === "snp")!;
    assert.equal(snp.available, true);
    assert.deepEqual(
      snp.probes.map((p) => [p.name, p.pass, p.info]),
      [
        ["cpu flag sev_snp", true, "sev_snp in /proc/cpuinfo flags"],
        ["/dev/sev-guest", true, "present"],
        ["kernel", true, "6.11.0-1012-azure (configfs-tsm needs ≥ 6.7)"],
        ["configfs-tsm", true, "configfs-tsm present (r: provider sev_guest)"],
      ],
    );
  });

  const usage: [string[], RegExp][] = [
    [["info", "--jsn"], /unknown flag --jsn/],
    [["info", "extra"], /unexpected argument "extra"/],
    [["show"], /unknown verb "show" for platform/],
  ];
  for (const [argv, message] of usage) {
    it(`${argv.join(" ")} is a usage error`, async () => {
      await assert.rejects(
        platform(argv, fake(SNP_GUEST)),
        (e: unknown) => e instanceof CliError && e.code === "USAGE" && message.test(e.message),
      );
    });
  }

  it("help, and no verb", async () => {
    const ctx = fake(null);
    assert.equal(await platform(["info", "--help"], ctx), 0);
    assert.match(ctx.stdout, /^Usage: donjon platform info/);
    assert.equal(await platform([], ctx), 2);
    assert.match(ctx.stderr, /^Usage: donjon platform <VERB>/);
  });

  it("without a platform port in the context it says so", async () => {
    await assert.rejects(
      platform(["info"], fake(null)),
      (e: unknown) => e instanceof CliError && e.code === "UNSUPPORTED",
    );
  });
});

describe("donjon platform info, the real CLI on this machine", () => {
  const donjon = (...args: string[]) =>
    spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: "utf8" });

  it("--json: no TEE here, so snp, tdx and sgx fail and say why; auto is sandbox", () => {
    const r = donjon("platform", "info", "--json");
    assert.equal(r.status, 0, r.stderr);
    const tree = JSON.parse(r.stdout) as PlatformInfo;
    assert.deepEqual(
      tree.backends.map((b) => b.name),
      ["nil", "sandbox", "snp", "tdx", "sgx"],
    );
    for (const name of ["snp", "tdx", "sgx"]) {
      const b = tree.backends.find((x) => x.name === name)!;
      assert.equal(b.available, false, `${name} is not available on this machine`);
      const failed = b.probes.filter((p) => !p.pass);
      assert.ok(failed.length > 0);
      for (const p of failed) {
        assert.ok(p.info.length > 0, `${name}/${p.name} says what it found`);
        assert.ok(p.remedy !== null && p.remedy.length > 0, `${name}/${p.name} names a fix`);
      }
    }
    const kernel = tree.backends
      .find((b) => b.name === "snp")!
      .probes.find((p) => p.name === "kernel")!;
    assert.match(kernel.info, /configfs-tsm needs ≥ 6\.7/);
    assert.equal(tree.auto, "sandbox");
  });

  it("human output: a ✔/✗ header per backend and fix lines", () => {
    const r = donjon("platform", "info");
    assert.equal(r.status, 0, r.stderr);
    for (const name of ["nil", "sandbox"]) assert.match(r.stdout, new RegExp(`^✔ ${name} — `, "m"));
    for (const name of ["snp", "tdx", "sgx"])
      assert.match(r.stdout, new RegExp(`^✗ ${name} — `, "m"));
    assert.match(
      r.stdout,
      /^ {2}✗ \/dev\/tdx_guest — missing\n {6}fix: load the tdx-guest module/m,
    );
    assert.match(r.stdout, /^auto picks: sandbox$/m);
  });

  it("donjon help platform shows the verbs", () => {
    const r = donjon("help", "platform");
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: donjon platform <VERB>/);
  });
});
