import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { CliError } from "../../error.ts";
import { parsePolicy } from "./_policy.ts";

const M = "ab".repeat(48);
const H = "cd".repeat(32);

describe("policy TOML → SnpValidateOptions", () => {
  const good: [string, string, object, boolean?][] = [
    ["empty: the secure defaults", "", {}],
    [
      "booleans",
      "debug = true\nmigrate_ma = false\nsmt = false\n",
      { allowDebug: true, allowMigrationAgent: false, allowSmt: false },
    ],
    ["vmpl and max_vmpl", "vmpl = 0\nmax_vmpl = 2\n", { vmpl: 0, maxVmpl: 2 }],
    ["signing keys", 'signing_keys = ["vcek"]\n', { allowedSigningKeys: ["vcek"] }],
    [
      "min_tcb table",
      "[min_tcb]\nbootloader = 3\ntee = 0\nsnp = 8\nmicrocode = 115\nfmc = 1\n",
      { minimumTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115, fmc: 1 } },
    ],
    ["min_tcb dotted", "min_tcb.snp = 8\n", { minimumTcb: { snp: 8 } }],
    ["min_guest_svn", "min_guest_svn = 4294967295\n", { minimumGuestSvn: 4294967295 }],
    [
      "report_data (0x and upper case accepted)",
      `report_data = "0x${"AB".repeat(64)}"\n`,
      { reportData: "ab".repeat(64) },
    ],
    [
      "allow-lists",
      `measurements = ["${M}"]\nhost_data = ["${H}", "${H}"]\nid_key_digests = ["${M}"]\nauthor_key_digests = ["${M}"]\nfamily_ids = ["${"00".repeat(16)}"]\nimage_ids = ["${"11".repeat(16)}"]\n`,
      {
        measurements: [M],
        hostData: [H, H],
        idKeyDigests: [M],
        authorKeyDigests: [M],
        familyIds: ["00".repeat(16)],
        imageIds: ["11".repeat(16)],
      },
    ],
    [
      "firmware and ABI",
      'min_firmware = "1.55.7"\nmin_policy_abi = "0.31"\n',
      {
        minimumFirmware: { major: 1, minor: 55, build: 7 },
        minimumPolicyAbi: { major: 0, minor: 31 },
      },
    ],
    [
      "firmware without build",
      'min_firmware = "1.51"\n',
      { minimumFirmware: { major: 1, minor: 51 } },
    ],
    [
      "platform_info",
      '[platform_info]\nrequire = ["tsme_enabled"]\nforbid = ["smt_enabled", "tio_enabled"]\n',
      { platformInfo: { require: ["tsmeEnabled"], forbid: ["smtEnabled", "tioEnabled"] } },
    ],
    ["require_crl", "require_crl = true\n", {}, true],
  ];

  it("good: csp_ids", () => {
    assert.deepEqual(parsePolicy('csp_ids = ["CN=cc-us-east-2.amazonaws.com"]\n', "p.toml"), {
      validate: {},
      requireCrl: false,
      allowedCspIds: ["CN=cc-us-east-2.amazonaws.com"],
    });
  });
  for (const [name, source, validate, requireCrl] of good) {
    it(`good: ${name}`, () => {
      assert.deepEqual(parsePolicy(source, "p.toml"), {
        validate,
        requireCrl: requireCrl ?? false,
      });
    });
  }

  it("good: [sgx] and [tdx] map onto DcapValidateOptions", () => {
    const E = "e1".repeat(32);
    const T = "7d".repeat(48);
    const p = parsePolicy(
      `[sgx]\ntcb_statuses = ["UpToDate", "SWHardeningNeeded"]\nadvisory_ids = ["INTEL-SA-00615"]\ndebug = true\nmr_enclave = ["${E}"]\nmr_signer = "${E.toUpperCase()}"\nisv_prod_id = 1\nmin_isv_svn = 2\nmisc_select = 0x0\nmisc_select_mask = 0xffff_ffff\nrequire_collateral = false\n` +
        `[tdx]\nmr_td = "${T}"\nrtmr0 = ["${T}", "${"00".repeat(48)}"]\nrtmr3 = "${T}"\nmr_config_id = "${T}"\nmr_owner = "${T}"\nmr_owner_config = "${T}"\nxfam = "e702060000000000"\nreport_data = "${"00".repeat(64)}"\n`,
      "p.toml",
    );
    assert.deepEqual(p, {
      validate: {},
      requireCrl: false,
      sgx: {
        validate: {
          allowedTcbStatuses: ["UpToDate", "SWHardeningNeeded"],
          allowedAdvisoryIds: ["INTEL-SA-00615"],
          allowDebug: true,
          mrEnclave: [E],
          mrSigner: E,
          isvProdId: 1,
          minIsvSvn: 2,
          miscSelect: { value: 0, mask: 0xffffffff },
        },
        requireCollateral: false,
      },
      tdx: {
        validate: {
          mrTd: T,
          rtmr0: [T, "00".repeat(48)],
          rtmr3: T,
          mrConfigId: T,
          mrOwner: T,
          mrOwnerConfig: T,
          xfam: "e702060000000000",
          reportData: "00".repeat(64),
        },
        requireCollateral: true,
      },
    });
    assert.deepEqual(parsePolicy("[tdx]\n", "p.toml").tdx, {
      validate: {},
      requireCollateral: true,
    });
  });

  const bad: [string, string, string][] = [
    [
      "[sgx] unknown key (an SNP key)",
      "[sgx]\nmeasurements = []\n",
      'p.toml:2: unknown key "sgx.measurements" (expected one of: tcb_statuses,',
    ],
    [
      "[tdx] an SGX key",
      `[tdx]\nmr_enclave = "${"00".repeat(32)}"\n`,
      'p.toml:2: unknown key "tdx.mr_enclave"',
    ],
    [
      "[tdx] Revoked accepted",
      '[tdx]\ntcb_statuses = ["UpToDate", "Revoked"]\n',
      'p.toml:2: "tdx.tcb_statuses[1]" must be one of UpToDate, SWHardeningNeeded, ConfigurationNeeded, ConfigurationAndSWHardeningNeeded, OutOfDate, OutOfDateConfigurationNeeded, got "Revoked" (a revoked TCB is never accepted)',
    ],
    [
      "[sgx] a status in another spelling",
      '[sgx]\ntcb_statuses = ["up_to_date"]\n',
      'p.toml:2: "sgx.tcb_statuses[0]" must be one of UpToDate',
    ],
    [
      "[sgx] tcb_statuses empty",
      "[sgx]\ntcb_statuses = []\n",
      'p.toml:2: "sgx.tcb_statuses" must not be empty',
    ],
    [
      "[sgx] an advisory that is not Intel's form",
      '[sgx]\nadvisory_ids = ["SA-615"]\n',
      'p.toml:2: "sgx.advisory_ids[0]" must be an Intel advisory ID like "INTEL-SA-00615", got "SA-615"',
    ],
    [
      "[tdx] MRTD of 32 bytes",
      `[tdx]\nmr_td = "${"00".repeat(32)}"\n`,
      'p.toml:2: "tdx.mr_td" must be 96 hex digits (48 bytes)',
    ],
    [
      "[sgx] MRENCLAVE list with a short entry",
      `[sgx]\nmr_enclave = ["${"00".repeat(32)}", "00"]\n`,
      'p.toml:2: "sgx.mr_enclave[1]" must be 64 hex digits (32 bytes)',
    ],
    [
      "[sgx] isv_prod_id too big",
      "[sgx]\nisv_prod_id = 65536\n",
      'p.toml:2: "sgx.isv_prod_id" must be an integer 0–65535, got 65536',
    ],
    [
      "[sgx] a mask without a value",
      "[sgx]\nmisc_select_mask = 1\n",
      'p.toml:2: "sgx.misc_select_mask" needs "sgx.misc_select"',
    ],
    [
      "[tdx] xfam as a number",
      "[tdx]\nxfam = 7\n",
      'p.toml:2: "tdx.xfam" must be a hex string, got integer',
    ],
    [
      "[tdx] require_collateral not boolean",
      '[tdx]\nrequire_collateral = "no"\n',
      'p.toml:2: "tdx.require_collateral" must be a boolean, got string',
    ],
    ["[sgx] not a table", "sgx = 1\n", 'p.toml:1: "sgx" must be a table, got integer'],
    [
      "unknown top-level key",
      "debug = false\ndebgu = true\n",
      'p.toml:2: unknown key "debgu" (expected one of: debug,',
    ],
    [
      "unknown min_tcb key",
      "\n[min_tcb]\nsnp = 1\nucode = 2\n",
      'p.toml:4: unknown key "min_tcb.ucode" (expected one of: bootloader, tee, snp, microcode, fmc)',
    ],
    [
      "unknown platform_info key",
      "[platform_info]\nallow = []\n",
      'p.toml:2: unknown key "platform_info.allow"',
    ],
    ["boolean as string", 'debug = "no"\n', 'p.toml:1: "debug" must be a boolean, got string'],
    ["vmpl out of range", "\n\nvmpl = 4\n", 'p.toml:3: "vmpl" must be an integer 0–3, got 4'],
    [
      "tcb float",
      "[min_tcb]\nsnp = 1.5\n",
      'p.toml:2: "min_tcb.snp" must be an integer 0–255, got float',
    ],
    [
      "tcb too big",
      "min_tcb.tee = 256\n",
      'p.toml:1: "min_tcb.tee" must be an integer 0–255, got 256',
    ],
    ["min_tcb not a table", "min_tcb = 3\n", 'p.toml:1: "min_tcb" must be a table, got integer'],
    [
      "short measurement",
      'measurements = [\n  "abcd",\n]\n',
      'p.toml:1: "measurements[0]" must be 96 hex digits (48 bytes), got "abcd"',
    ],
    [
      "non-hex host_data",
      `host_data = ["${"zz".repeat(32)}"]\n`,
      'p.toml:1: "host_data[0]" must be 64 hex digits (32 bytes)',
    ],
    [
      "empty allow-list",
      "image_ids = []\n",
      'p.toml:1: "image_ids" must not be empty (leave it out to skip the check)',
    ],
    [
      "allow-list not an array",
      `measurements = "${M}"\n`,
      'p.toml:1: "measurements" must be an array of strings, got string',
    ],
    [
      "allow-list of numbers",
      "family_ids = [1]\n",
      'p.toml:1: "family_ids[0]" must be a string, got integer',
    ],
    [
      "report_data wrong size",
      'report_data = "00"\n',
      'p.toml:1: "report_data" must be 128 hex digits (64 bytes), got "00"',
    ],
    [
      "signing key",
      'signing_keys = ["vcek", "ask"]\n',
      'p.toml:1: "signing_keys[1]" must be "vcek" or "vlek", got "ask"',
    ],
    [
      "firmware malformed",
      'min_firmware = "1.x"\n',
      'p.toml:1: "min_firmware" must be a string "major.minor[.build]", got "1.x"',
    ],
    [
      "firmware as number",
      "min_firmware = 1.5\n",
      'p.toml:1: "min_firmware" must be a string "major.minor[.build]", got float',
    ],
    [
      "ABI with build",
      'min_policy_abi = "1.2.3"\n',
      'p.toml:1: "min_policy_abi" must be a string "major.minor", got "1.2.3"',
    ],
    [
      "firmware part too big",
      'min_firmware = "1.256"\n',
      'p.toml:1: "min_firmware": each part must be 0–255',
    ],
    [
      "unknown platform flag",
      '[platform_info]\nforbid = ["smt"]\n',
      'p.toml:2: "platform_info.forbid[0]": unknown flag "smt" (expected one of: smt_enabled,',
    ],
    ["csp_ids empty", "csp_ids = []\n", 'p.toml:1: "csp_ids" must not be empty'],
    [
      "require_crl not boolean",
      "require_crl = 1\n",
      'p.toml:1: "require_crl" must be a boolean, got integer',
    ],
    ["not TOML", "debug = \n", "p.toml:1:9: not valid TOML:"],
  ];
  for (const [name, source, message] of bad) {
    it(`bad: ${name}`, () => {
      assert.throws(
        () => parsePolicy(source, "p.toml"),
        (e: unknown) => {
          assert.ok(e instanceof CliError);
          assert.equal(e.code, "CONFIG");
          assert.equal(e.exitStatus, 1);
          assert.ok(
            e.message.startsWith(message),
            `${e.message}\n  does not start with\n${message}`,
          );
          return true;
        },
      );
    });
  }
});
