import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { toHex } from "../_bytes.ts";
import { OptionsError, PolicyError } from "../error.ts";
import type { Check } from "../verdict.ts";
import { parseSnpReport } from "./abi.ts";
import type { SnpReport } from "./types.ts";
import { type SnpValidateOptions, throwIfRejected, validateSnpReport } from "./validate.ts";
import { readVector, SNP_VECTORS, type SnpVector, vector } from "./vectors.test.ts";

function load(v: SnpVector): SnpReport {
  return parseSnpReport(readVector(v.file), v.hint ? { product: v.hint } : {});
}

const GSG = load(vector("milan-v2-gsg")); // DEBUG set
const VLEK = load(vector("vlek")); // VMPL 1, VLEK, v3
const GCP = load(vector("sev-gcp.bin")); // v5, report_data zero
const GCP_RD = load(vector("sev-gcp-reportdata")); // VMPL 1
const AZURE = load(vector("azure")); // family/image id, id key digest
const TURIN = load(vector("turin")); // fmc
const STEWARD = load(vector("steward")); // policy ABI 1.51, author key

const failed = (checks: Check[]) => checks.filter((c) => !c.ok);
const ids = (checks: Check[]) => checks.map((c) => c.id);

/** A copy of `r` with some fields replaced: for what real vectors cannot show. */
function withFields(r: SnpReport, patch: Partial<SnpReport>): SnpReport {
  return { ...r, ...patch };
}

describe("validateSnpReport: defaults", () => {
  it("default options reject milan-v2-gsg for its DEBUG policy, with expected, actual and remedy", () => {
    const checks = validateSnpReport(GSG);
    assert.deepEqual(ids(checks), [
      "snp.validate.signing_key",
      "snp.validate.debug",
      "snp.validate.migrate_ma",
    ]);
    assert.deepEqual(failed(checks), [
      {
        id: "snp.validate.debug",
        ok: false,
        code: "snp.validate.debug",
        expected: "POLICY.DEBUG = 0",
        actual: "POLICY.DEBUG = 1",
        remedy:
          "Launch the guest with POLICY.DEBUG = 0, or allow debugging (allowDebug; `debug = true` in a donjon policy file) for test environments only.",
        severity: "error",
      },
    ]);
  });

  it("allowDebug accepts it", () => {
    const checks = validateSnpReport(GSG, { allowDebug: true });
    assert.deepEqual(failed(checks), []);
    assert.ok(!ids(checks).includes("snp.validate.debug"));
  });

  for (const v of SNP_VECTORS) {
    it(`default options on ${v.file}: ${v.debug ? "rejected (debug)" : "accepted"}`, () => {
      const checks = validateSnpReport(load(v));
      assert.deepEqual(
        failed(checks).map((c) => c.code),
        v.debug ? ["snp.validate.debug"] : [],
      );
      for (const c of checks) {
        assert.equal(typeof c.expected, "string");
        assert.equal(typeof c.actual, "string");
      }
    });
  }
});

type Row = [name: string, report: SnpReport, options: SnpValidateOptions, failing: string[]];

const ZERO64 = "00".repeat(64);
const rows: Row[] = [
  // signing key
  ["VLEK allowed by default", VLEK, {}, []],
  [
    "VLEK refused when only VCEK allowed",
    VLEK,
    { allowedSigningKeys: ["vcek"] },
    ["snp.validate.signing_key"],
  ],
  [
    "VCEK refused when only VLEK allowed",
    GCP,
    { allowedSigningKeys: ["vlek"] },
    ["snp.validate.signing_key"],
  ],
  [
    "unsigned report always refused",
    withFields(GCP, { signingKey: "none" }),
    {},
    ["snp.validate.signing_key"],
  ],
  // migration agent, SMT
  [
    "migration agent refused by default",
    withFields(GCP, { policy: { ...GCP.policy, migrateMa: true } }),
    {},
    ["snp.validate.migrate_ma"],
  ],
  [
    "migration agent allowed",
    withFields(GCP, { policy: { ...GCP.policy, migrateMa: true } }),
    { allowMigrationAgent: true },
    [],
  ],
  ["SMT enabled on the platform, refused", GCP, { allowSmt: false }, ["snp.validate.smt"]],
  [
    "SMT disabled on the platform, accepted",
    withFields(GCP, { platformInfo: { ...GCP.platformInfo, smtEnabled: false } }),
    { allowSmt: false },
    [],
  ],
  // VMPL
  ["VMPL 0 exact, report VMPL 0", GCP, { vmpl: 0 }, []],
  ["VMPL 0 exact, report VMPL 1", GCP_RD, { vmpl: 0 }, ["snp.validate.vmpl"]],
  ["max VMPL 1, report VMPL 1", VLEK, { maxVmpl: 1 }, []],
  ["max VMPL 0, report VMPL 1", VLEK, { maxVmpl: 0 }, ["snp.validate.vmpl.max"]],
  // TCB (reported: VLEK bl 4 tee 0 snp 24 ucode 217; Turin fmc 0 bl 1 tee 0 snp 2 ucode 71)
  [
    "TCB at the minimum",
    VLEK,
    { minimumTcb: { bootloader: 4, tee: 0, snp: 24, microcode: 217 } },
    [],
  ],
  [
    "microcode below the minimum (current TCB 220 does not count)",
    VLEK,
    { minimumTcb: { microcode: 220 } },
    ["snp.validate.tcb.microcode"],
  ],
  [
    "every component below",
    VLEK,
    { minimumTcb: { bootloader: 5, tee: 1, snp: 25, microcode: 218 } },
    [
      "snp.validate.tcb.bootloader",
      "snp.validate.tcb.tee",
      "snp.validate.tcb.snp",
      "snp.validate.tcb.microcode",
    ],
  ],
  ["fmc not checked on Milan", VLEK, { minimumTcb: { fmc: 9 } }, []],
  ["fmc checked on Turin", TURIN, { minimumTcb: { fmc: 1 } }, ["snp.validate.tcb.fmc"]],
  ["fmc at the minimum on Turin", TURIN, { minimumTcb: { fmc: 0, snp: 2 } }, []],
  // guest SVN (Azure: 65547)
  ["guest SVN at the minimum", AZURE, { minimumGuestSvn: 65547 }, []],
  ["guest SVN below", AZURE, { minimumGuestSvn: 65548 }, ["snp.validate.guest_svn"]],
  // report data
  ["report data equal (hex)", GCP, { reportData: ZERO64 }, []],
  ["report data equal (bytes)", GCP_RD, { reportData: GCP_RD.reportData }, []],
  ["report data different", GCP_RD, { reportData: ZERO64 }, ["snp.validate.report_data"]],
  // allow-lists
  ["measurement allowed", GCP, { measurements: [toHex(AZURE.measurement), GCP.measurement] }, []],
  [
    "measurement not allowed",
    GCP,
    { measurements: [AZURE.measurement] },
    ["snp.validate.measurement"],
  ],
  ["host data allowed", GCP, { hostData: ["00".repeat(32)] }, []],
  ["host data not allowed", GCP, { hostData: ["01".repeat(32)] }, ["snp.validate.host_data"]],
  ["id key digest allowed", AZURE, { idKeyDigests: [AZURE.idKeyDigest] }, []],
  [
    "id key digest not allowed",
    GCP,
    { idKeyDigests: [AZURE.idKeyDigest] },
    ["snp.validate.id_key_digest"],
  ],
  ["author key digest allowed", STEWARD, { authorKeyDigests: [STEWARD.authorKeyDigest] }, []],
  [
    "author key digest not allowed",
    GCP,
    { authorKeyDigests: [STEWARD.authorKeyDigest] },
    ["snp.validate.author_key_digest"],
  ],
  [
    "family id allowed (upper-case hex)",
    AZURE,
    { familyIds: [`012320${"00".repeat(13)}`.toUpperCase()] },
    [],
  ],
  ["family id not allowed", GCP, { familyIds: [AZURE.familyId] }, ["snp.validate.family_id"]],
  ["image id allowed", AZURE, { imageIds: [`02${"00".repeat(15)}`] }, []],
  ["image id not allowed", GCP, { imageIds: [AZURE.imageId] }, ["snp.validate.image_id"]],
  // firmware (GCP 1.55.35) and policy ABI (steward 1.51)
  ["firmware at the minimum", GCP, { minimumFirmware: { major: 1, minor: 55, build: 35 } }, []],
  [
    "firmware build below",
    GCP,
    { minimumFirmware: { major: 1, minor: 55, build: 36 } },
    ["snp.validate.firmware"],
  ],
  [
    "firmware minor below",
    GSG,
    { allowDebug: true, minimumFirmware: { major: 1, minor: 51 } },
    ["snp.validate.firmware"],
  ],
  [
    "firmware major above the minimum",
    GCP,
    { minimumFirmware: { major: 0, minor: 99, build: 99 } },
    [],
  ],
  [
    "firmware major below",
    GCP,
    { minimumFirmware: { major: 2, minor: 0 } },
    ["snp.validate.firmware"],
  ],
  ["policy ABI at the minimum", STEWARD, { minimumPolicyAbi: { major: 1, minor: 51 } }, []],
  [
    "policy ABI below",
    STEWARD,
    { minimumPolicyAbi: { major: 1, minor: 52 } },
    ["snp.validate.policy_abi"],
  ],
  [
    "policy ABI 0.0 below 1.0",
    GCP,
    { minimumPolicyAbi: { major: 1, minor: 0 } },
    ["snp.validate.policy_abi"],
  ],
  // platform info (VLEK 0x27: SMT, TSME, ECC, alias check; GSG 0x1: SMT only)
  [
    "required flags set",
    VLEK,
    { platformInfo: { require: ["tsmeEnabled", "eccEnabled", "aliasCheckComplete"] } },
    [],
  ],
  [
    "required flag clear",
    GSG,
    { allowDebug: true, platformInfo: { require: ["tsmeEnabled"] } },
    ["snp.validate.platform_info.tsmeEnabled"],
  ],
  [
    "forbidden flag clear",
    VLEK,
    { platformInfo: { forbid: ["ciphertextHidingEnabled", "tioEnabled"] } },
    [],
  ],
  [
    "forbidden flag set",
    VLEK,
    { platformInfo: { forbid: ["smtEnabled"] } },
    ["snp.validate.platform_info.smtEnabled"],
  ],
];

describe("validateSnpReport: one option at a time over real reports", () => {
  for (const [name, report, options, failing] of rows) {
    it(`${name} → ${failing.length ? failing.join(", ") : "ok"}`, () => {
      const checks = validateSnpReport(report, options);
      assert.deepEqual(ids(failed(checks)), failing);
      for (const c of failed(checks)) {
        assert.match(c.code ?? "", /^snp\.validate\./);
        assert.ok(c.id.startsWith(c.code!), c.id);
        assert.ok(c.remedy && c.expected && c.actual, c.id);
        assert.equal(c.severity, "error");
      }
    });
  }

  it("expected and actual name the values", () => {
    const [tcb] = failed(validateSnpReport(VLEK, { minimumTcb: { microcode: 220 } }));
    assert.equal(tcb!.expected, "REPORTED_TCB.microcode ≥ 220");
    assert.equal(tcb!.actual, "REPORTED_TCB.microcode = 217");
    const [fw] = failed(validateSnpReport(GCP, { minimumFirmware: { major: 1, minor: 56 } }));
    assert.equal(fw!.expected, "firmware ≥ 1.56.0");
    assert.equal(fw!.actual, "firmware 1.55.35");
    const [vmpl] = failed(validateSnpReport(VLEK, { maxVmpl: 0 }));
    assert.deepEqual([vmpl!.expected, vmpl!.actual], ["VMPL ≤ 0", "VMPL 1"]);
    const [key] = failed(validateSnpReport(VLEK, { allowedSigningKeys: ["vcek"] }));
    assert.deepEqual([key!.expected, key!.actual], ["signed by vcek", "signed by vlek"]);
    const [none] = failed(validateSnpReport(withFields(GCP, { signingKey: "none" })));
    assert.equal(none!.actual, "unsigned (SIGNING_KEY = none)");
    const [m] = failed(validateSnpReport(GCP, { measurements: [AZURE.measurement] }));
    assert.equal(m!.expected, `MEASUREMENT one of ${toHex(AZURE.measurement)}`);
    assert.equal(m!.actual, `MEASUREMENT = ${toHex(GCP.measurement)}`);
    const [pi] = failed(validateSnpReport(VLEK, { platformInfo: { forbid: ["smtEnabled"] } }));
    assert.deepEqual(
      [pi!.expected, pi!.actual],
      ["PLATFORM_INFO.SMT_EN = 0", "PLATFORM_INFO.SMT_EN = 1"],
    );
  });

  it("passing checks carry expected and actual but no code or remedy", () => {
    const checks = validateSnpReport(GCP, { vmpl: 0 });
    const vmpl = checks.find((c) => c.id === "snp.validate.vmpl");
    assert.deepEqual(vmpl, {
      id: "snp.validate.vmpl",
      ok: true,
      expected: "VMPL 0",
      actual: "VMPL 0",
    });
  });

  it("a full policy over a real report: every check runs and passes", () => {
    const checks = validateSnpReport(AZURE, {
      allowSmt: true,
      allowedSigningKeys: ["vcek"],
      vmpl: 0,
      maxVmpl: 0,
      minimumTcb: { bootloader: 10, tee: 0, snp: 23, microcode: 84, fmc: 0 },
      minimumGuestSvn: 1,
      reportData: AZURE.reportData,
      measurements: [AZURE.measurement],
      hostData: [AZURE.hostData],
      idKeyDigests: [AZURE.idKeyDigest],
      authorKeyDigests: [AZURE.authorKeyDigest],
      familyIds: [AZURE.familyId],
      imageIds: [AZURE.imageId],
      minimumFirmware: { major: 1, minor: 55, build: 40 },
      minimumPolicyAbi: { major: 0, minor: 0x1f },
      platformInfo: { require: ["eccEnabled"], forbid: ["smtEnabled"] },
    });
    assert.deepEqual(
      failed(checks).map((c) => c.id),
      [],
    );
    assert.equal(checks.length, 21); // fmc is not a Genoa component
  });
});

describe("validateSnpReport: invalid options", () => {
  const bad: [string, unknown, RegExp][] = [
    ["unknown key", { allowDebgu: true }, /unknown option "allowDebgu"/],
    ["non-boolean", { allowDebug: "yes" }, /allowDebug: expected a boolean, got string/],
    ["vmpl out of range", { vmpl: 4 }, /vmpl: expected an integer 0–3, got 4/],
    ["maxVmpl negative", { maxVmpl: -1 }, /maxVmpl/],
    ["vmpl not an integer", { vmpl: 0.5 }, /vmpl/],
    ["guest SVN too large", { minimumGuestSvn: 2 ** 32 }, /minimumGuestSvn/],
    ["report data short", { reportData: "00".repeat(32) }, /reportData: expected 64 bytes, got 32/],
    [
      "report data not hex",
      { reportData: "zz".repeat(64) },
      /reportData: expected 64 bytes or 128 hex digits/,
    ],
    ["report data odd hex", { reportData: "0".repeat(127) }, /reportData/],
    ["report data a number", { reportData: 5 }, /reportData/],
    [
      "measurement wrong size",
      { measurements: ["00".repeat(32)] },
      /measurements\[0\]: expected 48 bytes, got 32/,
    ],
    ["empty allow-list", { hostData: [] }, /hostData: expected a non-empty list/],
    ["allow-list not a list", { imageIds: "00" }, /imageIds: expected a non-empty list/],
    ["signing keys empty", { allowedSigningKeys: [] }, /allowedSigningKeys/],
    [
      "signing key none",
      { allowedSigningKeys: ["none"] },
      /allowedSigningKeys: expected vcek or vlek, got "none"/,
    ],
    [
      "TCB component unknown",
      { minimumTcb: { ucode: 1 } },
      /minimumTcb: unknown component "ucode"/,
    ],
    ["TCB over 255", { minimumTcb: { snp: 256 } }, /minimumTcb.snp/],
    [
      "firmware without major",
      { minimumFirmware: { minor: 1 } },
      /minimumFirmware.major: expected an integer 0–255, got none/,
    ],
    [
      "firmware minor wrong",
      { minimumFirmware: { major: 1, minor: "55" } },
      /minimumFirmware.minor/,
    ],
    [
      "firmware build wrong",
      { minimumFirmware: { major: 1, minor: 1, build: 300 } },
      /minimumFirmware.build/,
    ],
    ["policy ABI without minor", { minimumPolicyAbi: { major: 1 } }, /minimumPolicyAbi.minor/],
    [
      "policy ABI major wrong",
      { minimumPolicyAbi: { major: -1, minor: 0 } },
      /minimumPolicyAbi.major/,
    ],
    [
      "platform flag unknown",
      { platformInfo: { require: ["smt"] } },
      /platformInfo.require: unknown flag "smt"/,
    ],
    [
      "platform flag inherited name",
      { platformInfo: { forbid: ["toString"] } },
      /platformInfo.forbid/,
    ],
    ["not an object", null, /expected an options object/],
  ];
  for (const [name, options, message] of bad) {
    it(`${name} → OptionsError options.invalid`, () => {
      assert.throws(
        () => validateSnpReport(GCP, options as SnpValidateOptions),
        (e: unknown) =>
          e instanceof OptionsError && e.code === "options.invalid" && message.test(e.message),
      );
    });
  }
});

describe("throwIfRejected", () => {
  it("returns when every check passed", () => {
    throwIfRejected(validateSnpReport(GCP));
  });

  it("ignores failed warnings", () => {
    throwIfRejected([{ id: "x", ok: false, code: "snp.validate.smt", severity: "warning" }]);
  });

  it("throws a PolicyError with every failed check", () => {
    const checks = validateSnpReport(GSG, { vmpl: 1, measurements: [GCP.measurement] });
    assert.throws(
      () => throwIfRejected(checks),
      (e: unknown) => {
        assert.ok(e instanceof PolicyError);
        assert.equal(e.code, "snp.validate.debug");
        assert.deepEqual(
          e.checks.map((c) => c.id),
          ["snp.validate.debug", "snp.validate.vmpl", "snp.validate.measurement"],
        );
        assert.match(
          e.message,
          /3 failed\): snp\.validate\.debug: expected POLICY\.DEBUG = 0, got POLICY\.DEBUG = 1; /,
        );
        return true;
      },
    );
  });
});
