/**
 * The backend table on a table of fake machines: each probe's verdict, what
 * it says and the fix it names, and the backend `auto` picks (or the error
 * an explicit choice gets).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BackendReport, kernelVersion, pickBackend, probeBackends } from "./backends.ts";
import { KeepError, type KeepErrorCode } from "./error.ts";
import { type FakeMachine, fakePlatformPort } from "./platform_fake.ts";

const LAPTOP: FakeMachine = {
  kernel: "6.8.0-45-generic",
  cpuFlags: ["fpu", "vme", "sse2", "avx2"],
  files: { "/proc/sys/user/max_user_namespaces": "63354\n" },
  dirs: ["/sys/kernel/config"],
};

const SNP_GUEST: FakeMachine = {
  kernel: "6.11.0-1012-azure",
  cpuFlags: ["fpu", "hypervisor", "sev", "sev_es", "sev_snp"],
  files: {
    "/sys/kernel/config/tsm/report/report0/provider": "sev_guest\n",
    "/sys/kernel/config/tsm/report/report0/generation": "1\n",
  },
  dirs: ["/dev/sev-guest"],
  commands: { bwrap: "/usr/bin/bwrap" },
};

const TDX_GUEST: FakeMachine = {
  kernel: "6.8.0-1008-gcp",
  cpuFlags: ["fpu", "hypervisor", "tdx_guest"],
  dirs: ["/dev/tdx_guest", "/sys/kernel/config/tsm/report"],
};

const GRAMINE_SGX: FakeMachine = {
  kernel: "5.15.0-1050-azure",
  cpuFlags: ["fpu", "sgx", "sgx_lc"],
  files: {
    "/dev/attestation/attestation_type": "dcap",
    "/dev/attestation/quote": "",
    "/dev/attestation/user_report_data": "",
  },
};

/** Probe results as `name: pass` plus the info/remedy of the ones asked for. */
function probesOf(machine: FakeMachine, backend: string): BackendReport {
  const r = probeBackends(fakePlatformPort(machine)).find((b) => b.name === backend);
  assert.ok(r, backend);
  return r;
}

function verdicts(r: BackendReport): Record<string, boolean> {
  return Object.fromEntries([...r.probes, ...r.hardening].map((p) => [p.name, p.pass]));
}

function probe(r: BackendReport, name: string) {
  const p = [...r.probes, ...r.hardening].find((x) => x.name === name);
  assert.ok(p, `${r.name} has a probe ${name}`);
  return p;
}

describe("probes on fake machines", () => {
  it("a laptop without a TEE or bwrap: snp, tdx and sgx fail with the fix; sandbox runs without bwrap", () => {
    const snp = probesOf(LAPTOP, "snp");
    assert.deepEqual(verdicts(snp), {
      "cpu flag sev_snp": false,
      "/dev/sev-guest": false,
      kernel: true,
      "configfs-tsm": false,
    });
    assert.equal(snp.available, false);
    assert.match(probe(snp, "cpu flag sev_snp").info, /no sev_snp in \/proc\/cpuinfo flags/);
    assert.match(probe(snp, "cpu flag sev_snp").remedy!, /SEV-SNP confidential VM.*Azure DCasv5/);
    assert.equal(
      probe(snp, "/dev/sev-guest").remedy,
      "load the sev-guest module: modprobe sev-guest",
    );
    assert.equal(probe(snp, "kernel").info, "6.8.0-45-generic (configfs-tsm needs ≥ 6.7)");
    assert.equal(probe(snp, "kernel").remedy, null);
    assert.match(probe(snp, "configfs-tsm").info, /tsm\/report is missing/);
    assert.match(probe(snp, "configfs-tsm").remedy!, /modprobe sev-guest$/);

    const tdx = probesOf(LAPTOP, "tdx");
    assert.equal(tdx.available, false);
    assert.match(probe(tdx, "cpu flag tdx_guest").remedy!, /Intel TDX confidential VM/);
    assert.equal(
      probe(tdx, "/dev/tdx_guest").remedy,
      "load the tdx-guest module: modprobe tdx-guest",
    );

    const sgx = probesOf(LAPTOP, "sgx");
    assert.deepEqual(verdicts(sgx), {
      "cpu flag sgx": false,
      "gramine /dev/attestation": false,
      "/dev/attestation/quote": false,
      "/dev/attestation/user_report_data": false,
    });
    assert.match(probe(sgx, "gramine /dev/attestation").remedy!, /gramine-sgx/);

    const sandbox = probesOf(LAPTOP, "sandbox");
    assert.equal(sandbox.available, true);
    assert.deepEqual(verdicts(sandbox), { bwrap: false, "user namespaces": true });
    assert.match(probe(sandbox, "bwrap").info, /not on PATH: .*network namespace/);
    assert.equal(probe(sandbox, "bwrap").remedy, "apt-get install bubblewrap");
  });

  it("the same laptop with bwrap: the sandbox has every protection", () => {
    const sandbox = probesOf({ ...LAPTOP, commands: { bwrap: "/usr/bin/bwrap" } }, "sandbox");
    assert.deepEqual(verdicts(sandbox), { bwrap: true, "user namespaces": true });
    assert.deepEqual(probe(sandbox, "bwrap"), {
      name: "bwrap",
      pass: true,
      info: "/usr/bin/bwrap",
      remedy: null,
    });
  });

  it("user namespaces turned off (Debian switch, or the limit at 0) fail with the sysctl", () => {
    const switches: Record<string, string>[] = [
      { "/proc/sys/kernel/unprivileged_userns_clone": "0\n" },
      { "/proc/sys/user/max_user_namespaces": "0\n" },
    ];
    for (const files of switches) {
      const p = probe(probesOf({ ...LAPTOP, files }, "sandbox"), "user namespaces");
      assert.equal(p.pass, false);
      assert.match(p.remedy!, /^sysctl -w /);
    }
  });

  it("an SEV-SNP guest passes every snp probe and names the configfs-tsm provider", () => {
    const snp = probesOf(SNP_GUEST, "snp");
    assert.equal(snp.available, true);
    assert.ok(snp.probes.every((p) => p.remedy === null));
    assert.equal(
      probe(snp, "configfs-tsm").info,
      "configfs-tsm present (report0: provider sev_guest)",
    );
    const tdx = probesOf(SNP_GUEST, "tdx");
    assert.equal(probe(tdx, "configfs-tsm").pass, false);
    assert.match(
      probe(tdx, "configfs-tsm").info,
      /no entry has provider tdx_guest \(report0: provider sev_guest\)/,
    );
  });

  it("a TDX guest with configfs-tsm but no report entry says so honestly", () => {
    const tdx = probesOf(TDX_GUEST, "tdx");
    assert.equal(tdx.available, true);
    assert.equal(probe(tdx, "configfs-tsm").info, "configfs-tsm present (no report entry yet)");
    assert.equal(probesOf(TDX_GUEST, "snp").available, false);
  });

  it("Gramine-SGX: /dev/attestation with dcap, quote and user_report_data", () => {
    const sgx = probesOf(GRAMINE_SGX, "sgx");
    assert.equal(sgx.available, true);
    assert.equal(probe(sgx, "gramine /dev/attestation").info, "present, attestation_type dcap");
    const none = probesOf(
      {
        ...GRAMINE_SGX,
        files: { ...GRAMINE_SGX.files, "/dev/attestation/attestation_type": "none\n" },
      },
      "sgx",
    );
    assert.equal(none.available, false);
    assert.equal(
      probe(none, "gramine /dev/attestation").remedy,
      'set sgx.remote_attestation = "dcap" in the Gramine manifest',
    );
  });

  it("an old kernel fails the kernel probe even on SNP hardware", () => {
    const old = { ...SNP_GUEST, kernel: "6.1.0-18-amd64" };
    const k = probe(probesOf(old, "snp"), "kernel");
    assert.equal(k.pass, false);
    assert.equal(k.info, "6.1.0-18-amd64; configfs-tsm needs ≥ 6.7");
    assert.match(k.remedy!, /boot a kernel ≥ 6\.7/);
    const odd = probe(probesOf({ ...SNP_GUEST, kernel: "custom" }, "snp"), "kernel");
    assert.equal(odd.pass, false);
    assert.match(odd.info, /cannot read a version from "custom"/);
  });

  it("configfs not mounted at all names the mount command", () => {
    const p = probe(probesOf({ kernel: "6.9.0" }, "snp"), "configfs-tsm");
    assert.equal(p.remedy, "mount configfs: mount -t configfs none /sys/kernel/config");
  });

  it("nil has no probes and is never picked automatically", () => {
    const nil = probesOf(LAPTOP, "nil");
    assert.deepEqual(
      [nil.probes, nil.hardening, nil.autoPick, nil.available],
      [[], [], false, true],
    );
  });
});

describe("pickBackend", () => {
  const picks: [string, FakeMachine, string][] = [
    ["laptop", LAPTOP, "sandbox"],
    ["laptop with bwrap", { ...LAPTOP, commands: { bwrap: "/usr/bin/bwrap" } }, "sandbox"],
    ["SEV-SNP guest", SNP_GUEST, "snp"],
    ["TDX guest", TDX_GUEST, "tdx"],
    ["Gramine-SGX", GRAMINE_SGX, "sgx"],
    ["SEV-SNP guest on an old kernel", { ...SNP_GUEST, kernel: "6.1.0-18-amd64" }, "sandbox"],
  ];
  for (const [what, machine, expected] of picks) {
    it(`auto on a ${what} picks ${expected}`, () => {
      assert.equal(pickBackend("auto", probeBackends(fakePlatformPort(machine))).name, expected);
    });
  }

  it("an explicit backend that passes is returned; nil always runs", () => {
    const reports = probeBackends(fakePlatformPort(SNP_GUEST));
    assert.equal(pickBackend("sandbox", reports).name, "sandbox");
    assert.equal(pickBackend("nil", reports).name, "nil");
  });

  const refusals: [string, FakeMachine, string, KeepErrorCode, RegExp, string[]][] = [
    [
      "snp on a laptop",
      LAPTOP,
      "snp",
      "keep.backend.unavailable",
      /^backend snp cannot run here: cpu flag sev_snp, \/dev\/sev-guest, configfs-tsm failed$/,
      ["cpu flag sev_snp", "/dev/sev-guest", "configfs-tsm"],
    ],
    [
      "tdx on an SNP guest",
      SNP_GUEST,
      "tdx",
      "keep.backend.unavailable",
      /^backend tdx cannot run here/,
      ["cpu flag tdx_guest", "/dev/tdx_guest", "configfs-tsm"],
    ],
    [
      "snp on an old kernel",
      { ...SNP_GUEST, kernel: "6.1.0-18-amd64" },
      "snp",
      "keep.backend.unavailable",
      /kernel failed$/,
      ["kernel"],
    ],
    ["an unknown name", LAPTOP, "kvm", "keep.backend.unknown", /^unknown backend "kvm"/, []],
  ];
  for (const [what, machine, choice, code, message, failed] of refusals) {
    it(`refuses ${what} with ${code}`, () => {
      assert.throws(
        () => pickBackend(choice, probeBackends(fakePlatformPort(machine))),
        (e: unknown) => {
          assert.ok(e instanceof KeepError);
          assert.equal(e.code, code);
          assert.match(e.message, message);
          assert.deepEqual(
            e.failed.map((p) => p.name),
            failed,
          );
          assert.ok(e.failed.every((p) => !p.pass && p.remedy !== null));
          return true;
        },
      );
    });
  }

  it("auto with no candidate that runs is keep.backend.none, listing the failed probes", () => {
    const reports = probeBackends(fakePlatformPort(LAPTOP)).filter((r) => r.name !== "sandbox");
    assert.throws(
      () => pickBackend("auto", reports),
      (e: unknown) =>
        e instanceof KeepError && e.code === "keep.backend.none" && e.failed.length === 10,
    );
  });
});

it("kernelVersion reads major.minor", () => {
  assert.deepEqual(kernelVersion("6.18.44-fc-v657"), [6, 18]);
  assert.deepEqual(kernelVersion("5.15.0"), [5, 15]);
  assert.equal(kernelVersion("custom"), null);
});
