/**
 * Every SGX and TDX case of ../shared/vectors/index.json through `attestDcap`,
 * with its collateral (`offlineCollateral` over the files its `args` name) at
 * its documented verify-at time: the documented TCB status and advisories
 * (README.md table, index.json `expect_status` / `observed_tcb`), the checks
 * index.json expects OK or failing, and the exact codes of the negatives
 * (tampered quotes and collateral, expired at a later time, the EPPID quote).
 * A case index.json gains without a row here fails the first test.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import type { Check } from "../verdict.ts";
import { appendix } from "./_test_quote_vectors.ts";
import {
  type AttestDcapOptions,
  attestDcap,
  createDcapVerifier,
  type DcapVerdict,
} from "./attest.ts";
import { offlineCollateral } from "./pcs.ts";
import type { DcapCollateral, TcbStatus } from "./types.ts";

const VECTORS = path.resolve(import.meta.dirname, "../../../../../shared/vectors");
const read = (p: string) => new Uint8Array(fs.readFileSync(path.join(VECTORS, p)));

interface IndexEntry {
  id: string;
  attime: string;
  args: string[];
  expect_ok?: string[];
  expect_fail?: string[];
  expect_status?: string;
  expect_error?: boolean;
  expect_skipped?: string[];
  observed_tcb?: { advisoryIDs?: string[]; final_status?: string };
}

const INDEX = (
  JSON.parse(fs.readFileSync(path.join(VECTORS, "index.json"), "utf8")) as IndexEntry[]
).filter((e) => /^(sgx|tdx)\//.test(e.id));

/**
 * What each case must give: the TCB status (and advisories from index.json)
 * for the valid ones, or the exact codes of the checks that fail (severity
 * error), in order. "not-supported" is Intel's "TCB level not supported".
 */
const EXPECTED: Record<string, { status: TcbStatus | "not-supported" } | { fails: string[] }> = {
  "sgx/phala-v3-00a067110000": { status: "ConfigurationAndSWHardeningNeeded" },
  "sgx/phala-v3-00a067110000#split-files": { status: "ConfigurationAndSWHardeningNeeded" },
  "sgx/phala-v3-00a067110000#expired-now": {
    fails: [
      "dcap.collateral.crl_stale",
      "dcap.collateral.expired",
      "dcap.collateral.expired",
      "dcap.collateral.crl_stale",
      // At 2026-11-27 the status itself is still known (expired collateral is judged by its own checks).
      "dcap.policy.tcb_status",
    ],
  },
  "sgx/phala-v3-00a067110000#tampered-body": {
    fails: ["dcap.collateral.missing", "dcap.collateral.missing", "dcap.verify.quote_signature"],
  },
  "sgx/phala-v3-00a067110000#tampered-qe-report": {
    fails: [
      "dcap.collateral.missing",
      "dcap.collateral.missing",
      "dcap.verify.qe_report_signature",
    ],
  },
  "sgx/oasis-v3-00606a000000": { status: "SWHardeningNeeded" },
  // The bad "chain" is the PCK Platform CA: recognised by content as the PCK CRL issuer chain,
  // so the TCB Info and QE Identity have no TCB signing chain (the chain given explicitly: below).
  "sgx/oasis-v3-00606a000000#certs-bad": {
    fails: ["dcap.collateral.missing", "dcap.collateral.missing"],
  },
  // Character 16 of the signed member lands in "version": the parse fails before the signature.
  "sgx/oasis-v3-00606a000000#tampered-tcbinfo": { fails: ["dcap.collateral.version"] },
  "sgx/oasis-v3-00606a000000#tampered-qeidentity": { fails: ["dcap.collateral.json"] },
  // Certification data type 3 (encrypted PPID, no PCK chain): cannot be verified offline.
  "sgx/oasis-v3-00606a000000#eppid": { fails: ["dcap.quote.cert_data_type"] },
  "sgx/dcaprs-v3-00606a000000": { status: "OutOfDate" },
  "sgx/automata-v3-00606a000000": { status: "SWHardeningNeeded" },
  "tdx/phala-v4-b0c06f000000": { status: "UpToDate" },
  "tdx/phala-v5-90c06f000000-tcb-not-supported": { status: "not-supported" },
  "tdx/gtg-v4-50806f000000-spr-e4": { status: "not-supported" },
  "tdx/oasis-v4-c0806f000000": { status: "UpToDate" },
  "tdx/oasis-v4-c0806f000000#trailing": { status: "UpToDate" },
  "tdx/oasis-v4-c0806f000000#trailing-pck-not-yet-valid": {
    fails: ["dcap.collateral.missing", "dcap.collateral.missing", "dcap.verify.not_yet_valid"],
  },
  "tdx/dcaprs-v4-00806f050000": { status: "OutOfDate" },
  "tdx/automata-v5-90c06f000000-alibaba": { status: "UpToDate" },
  "tdx/gtg-v4-50806f000000-spr-e4#tampered-version_3_0x0.dat": { fails: ["dcap.quote.tee_type"] },
  "tdx/gtg-v4-50806f000000-spr-e4#tampered-sigdata_size_0x278.dat": {
    fails: ["dcap.quote.length"],
  },
  "tdx/gtg-v4-50806f000000-spr-e4#tampered-certchain_byte_0x1343.dat": {
    fails: ["dcap.quote.pem"],
  },
  "tdx/gtg-v4-50806f000000-spr-e4#tampered-root_cert_byte_0x1329.dat": {
    fails: ["dcap.collateral.missing", "dcap.collateral.missing", "dcap.verify.untrusted_root"],
  },
  "tdx/gtg-v4-50806f000000-spr-e4#tampered-intermediate_cert_byte_0xf5f.dat": {
    fails: ["dcap.collateral.missing", "dcap.collateral.missing", "dcap.verify.chain"],
  },
  "tdx/gtg-v4-50806f000000-spr-e4#tampered-pck_cert_byte_0xb77.dat": {
    fails: ["dcap.collateral.missing", "dcap.collateral.missing", "dcap.verify.chain"],
  },
  "tdx/gtg-v4-50806f000000-spr-e4#tampered-header_byte_0x1e.dat": {
    fails: ["dcap.collateral.missing", "dcap.collateral.missing", "dcap.verify.quote_signature"],
  },
  "tdx/gtg-v4-50806f000000-spr-e4#tampered-td_body_byte_0x3c.dat": {
    fails: ["dcap.collateral.missing", "dcap.collateral.missing", "dcap.verify.quote_signature"],
  },
};

/**
 * index.json's check names (tools/vectors/dcap_quote.py) → the ids of the
 * checks that decide them here. A name is OK when at least one of its checks
 * ran and all that ran passed; it FAILS when one of them failed.
 */
const NAMES: Record<string, readonly string[]> = {
  quote_signature: ["dcap.verify.quote_signature"],
  qe_report_data_binding: ["dcap.verify.qe_report_data"],
  qe_vendor_is_intel: ["dcap.verify.qe_vendor"],
  qe_report_signature: ["dcap.verify.qe_report_signature"],
  embedded_root_is_trusted_root: ["dcap.verify.chain.root"],
  pck_chain: [
    "dcap.verify.chain.pck_ca",
    "dcap.verify.chain.pck",
    "dcap.verify.ca.pck_ca",
    "dcap.verify.ca.pck",
    "dcap.verify.validity.pck",
    "dcap.verify.validity.pck_ca",
    "dcap.verify.validity.root",
  ],
  tcb_info_signing_cert_chain: [
    "dcap.collateral.tcb_info.chain",
    "dcap.collateral.tcb_info.chain.validity",
  ],
  tcb_info_signature: [
    "dcap.collateral.tcb_info.parse",
    "dcap.collateral.tcb_info.chain",
    "dcap.collateral.tcb_info.signature",
  ],
  tcb_info_current_at_attime: ["dcap.collateral.tcb_info.validity"],
  tcb_info_fmspc_matches_pck: ["dcap.tcb.fmspc"],
  tcb_info_pceid_matches_pck: ["dcap.tcb.pce_id"],
  tcb_info_id: ["dcap.tcb.tcb_info_id"],
  qe_identity_signing_cert_chain: [
    "dcap.collateral.qe_identity.chain",
    "dcap.collateral.qe_identity.chain.validity",
  ],
  qe_identity_signature: [
    "dcap.collateral.qe_identity.parse",
    "dcap.collateral.qe_identity.chain",
    "dcap.collateral.qe_identity.signature",
  ],
  qe_identity_current_at_attime: ["dcap.collateral.qe_identity.validity"],
  qe_identity_id: ["dcap.tcb.qe_identity_id"],
  qe_identity_match: [
    "dcap.tcb.qe_identity.miscselect",
    "dcap.tcb.qe_identity.attributes",
    "dcap.tcb.qe_identity.mrsigner",
    "dcap.tcb.qe_identity.isvprodid",
  ],
  root_ca_crl_signature: [
    "dcap.collateral.root_ca_crl.issuer",
    "dcap.collateral.root_ca_crl.signature",
  ],
  root_ca_crl_current_at_attime: ["dcap.collateral.root_ca_crl.fresh"],
  pck_crl_signature: ["dcap.collateral.pck_crl.issuer", "dcap.collateral.pck_crl.signature"],
  pck_crl_current_at_attime: ["dcap.collateral.pck_crl.fresh"],
  pck_intermediate_not_revoked: ["dcap.collateral.revoked.pck_ca"],
  pck_leaf_not_revoked: ["dcap.collateral.revoked.pck"],
};

const COLLATERAL_ARGS = new Set([
  "--collateral-json",
  "--tcb-info",
  "--qe-identity",
  "--tcb-chain",
  "--pck-crl",
  "--root-crl",
]);

/** The quote, the root and the collateral files a case's `args` name. */
function inputs(e: IndexEntry): {
  quote: Uint8Array;
  root: string;
  files: { name: string; data: Uint8Array }[];
} {
  const [quote, ...rest] = e.args;
  let root: string | undefined;
  const files: { name: string; data: Uint8Array }[] = [];
  for (let i = 0; i < rest.length; i += 2) {
    const [flag, file] = [rest[i]!, rest[i + 1]!];
    if (flag === "--root") root = fs.readFileSync(path.join(VECTORS, file), "utf8");
    else if (COLLATERAL_ARGS.has(flag)) files.push({ name: file, data: read(file) });
    else throw new Error(`${e.id}: unknown argument ${flag}`);
  }
  assert.ok(root, `${e.id} names its root`);
  return { quote: read(quote!), root, files };
}

function runCase(e: IndexEntry, extra: Partial<AttestDcapOptions> = {}): Promise<DcapVerdict> {
  const { quote, root, files } = inputs(e);
  return attestDcap(quote, {
    now: new Date(e.attime),
    collateral: offlineCollateral(files),
    allowTrailing: true,
    // The vector's own root file: the same certificate as the pinned one (asserted below).
    ...(extra.verifier ? {} : { root }),
    ...extra,
  });
}

const errors = (checks: readonly Check[]) =>
  checks.filter((c) => !c.ok && c.severity !== "warning").map((c) => c.code);

function nameOutcome(checks: readonly Check[], name: string): "ok" | "fail" | "absent" {
  const ids = NAMES[name];
  assert.ok(ids, `no mapping for index.json check ${name}`);
  const ran = checks.filter((c) => ids.includes(c.id));
  if (ran.length === 0) return "absent";
  return ran.every((c) => c.ok) ? "ok" : "fail";
}

it("every SGX and TDX case of index.json has an expectation here, and no other", () => {
  assert.deepEqual(INDEX.map((e) => e.id).sort(), Object.keys(EXPECTED).sort());
  // And every vector folder has at least one case.
  for (const tee of ["sgx", "tdx"]) {
    for (const dir of fs.readdirSync(path.join(VECTORS, tee))) {
      assert.ok(
        INDEX.some((e) => e.id.split("#")[0] === `${tee}/${dir}`),
        `${tee}/${dir}`,
      );
    }
  }
});

it("the vectors' root files are the pinned Intel SGX Root CA", async () => {
  const { INTEL_SGX_ROOT_CA } = await import("./roots/intel.ts");
  const der = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s+/g, "");
  for (const e of INDEX) assert.equal(der(inputs(e).root), der(INTEL_SGX_ROOT_CA), e.id);
});

describe("index.json cases through attestDcap", () => {
  for (const e of INDEX) {
    const want = EXPECTED[e.id]!;
    it(`${e.id} at ${e.attime}: ${"status" in want ? want.status : want.fails.join(", ")}`, async () => {
      const status = "status" in want ? want.status : null;
      const allowed =
        status && status !== "not-supported" && status !== "UpToDate" && status !== "Revoked"
          ? [status]
          : undefined;
      const v = await runCase(e, allowed ? { policy: { allowedTcbStatuses: allowed } } : {});
      // index.json's own expectations, name by name.
      if (!e.expect_error && !e.expect_skipped) {
        for (const n of e.expect_ok ?? []) {
          assert.equal(nameOutcome(v.checks, n), "ok", `${n} expected OK`);
        }
        for (const n of e.expect_fail ?? []) {
          assert.equal(nameOutcome(v.checks, n), "fail", `${n} expected to fail`);
        }
      }
      if (status === null) {
        assert.equal(v.ok, false);
        assert.deepEqual(errors(v.checks), (want as { fails: string[] }).fails);
        return;
      }
      assert.equal(v.claims?.tcb.status, status);
      if (status === "not-supported") {
        assert.equal(e.expect_status, "TcbNotSupported");
        assert.equal(v.ok, false);
        assert.deepEqual(errors(v.checks), ["dcap.tcb.not_supported"]);
        assert.deepEqual(v.claims?.tcb.advisory_ids, []);
        return;
      }
      assert.equal(e.expect_status, status);
      assert.equal(v.ok, true, JSON.stringify(v.checks.filter((c) => !c.ok)));
      assert.deepEqual(v.claims?.tcb.advisory_ids, e.observed_tcb?.advisoryIDs ?? []);
      // No CRLs in the case: each missing one is a warning, once (not again from the quote verifier).
      const crlWarnings = v.warnings.filter((w) => w.code === "dcap.collateral.crl_unavailable");
      const hasCrls = e.args.includes("--pck-crl") || e.args.includes("--collateral-json");
      assert.deepEqual(
        crlWarnings.map((w) => w.id),
        hasCrls ? [] : ["dcap.collateral.root_ca_crl", "dcap.collateral.pck_crl"],
      );
      assert.deepEqual(
        v.warnings.map((w) => w.code),
        crlWarnings.map((w) => w.code),
      );
    });
  }
});

/** The main case of each vector folder (no `#`) with a status. */
const MAIN = INDEX.filter((e) => !e.id.includes("#"));

describe("policy on the real vectors", () => {
  for (const e of MAIN) {
    const want = EXPECTED[e.id] as { status: TcbStatus | "not-supported" };
    if (want.status === "not-supported") continue;
    it(`${e.id}: the default policy accepts UpToDate only; advisories are checked when listed`, async () => {
      const v = await runCase(e);
      assert.equal(v.ok, want.status === "UpToDate");
      assert.deepEqual(
        errors(v.checks),
        want.status === "UpToDate" ? [] : ["dcap.policy.tcb_status"],
      );
      const advisories = e.observed_tcb?.advisoryIDs ?? [];
      const statuses = [want.status as Exclude<TcbStatus, "Revoked">];
      const listed = await runCase(e, {
        policy: { allowedTcbStatuses: statuses, allowedAdvisoryIds: advisories },
      });
      assert.equal(listed.ok, true);
      const none = await runCase(e, {
        policy: { allowedTcbStatuses: statuses, allowedAdvisoryIds: [] },
      });
      assert.deepEqual(errors(none.checks), advisories.length ? ["dcap.policy.advisory"] : []);
    });
  }
});

describe("claims of the real vectors match their appendix", () => {
  for (const e of MAIN) {
    it(e.id, async () => {
      const v = await runCase(e);
      const a = appendix(e.id);
      const c = v.claims!;
      assert.equal(c.version, a.version);
      assert.equal(v.tee, a.teeType === 0x81 ? "tdx" : "sgx");
      assert.equal(c.tee, v.tee);
      assert.equal(c.trailing_bytes, a.trailing);
      assert.equal(c.report_data, a.hex.report_data);
      assert.equal(c.debug, false);
      assert.equal(c.tcb.fmspc, a.pck.fmspc);
      assert.equal(c.tcb.pce_id, a.pck.pceid);
      assert.deepEqual(c.pck?.tcb_components, a.pck.tcb);
      assert.equal(c.pck?.pce_svn, a.pck.pcesvn);
      assert.equal(c.qe_report.isv_svn, a.qe.isvsvn);
      assert.equal(c.qe_report.mr_signer, a.qe.mrsigner);
      if (c.sgx) {
        assert.equal(c.tdx, null);
        assert.equal(c.sgx.mr_enclave, a.hex.mrenclave);
        assert.equal(c.sgx.mr_signer, a.hex.mrsigner);
        assert.equal(c.sgx.attributes, a.hex.attributes);
        assert.equal(c.tcb.tdx_module, null);
      } else {
        const t = c.tdx!;
        assert.equal(t.body, a.body);
        assert.equal(t.mr_td, a.hex.mrtd);
        for (const i of [0, 1, 2, 3] as const) assert.equal(t[`rtmr${i}`], a.hex[`rtmr${i}`]);
        assert.equal(t.td_attributes, a.hex.td_attributes);
        assert.equal(t.xfam, a.hex.xfam);
        assert.equal(t.tee_tcb_svn, a.hex.tee_tcb_svn);
        assert.equal(t.mr_signer_seam, a.hex.mrsignerseam);
        assert.equal(t.tee_tcb_svn_2, a.hex.tee_tcb_svn2 ?? null);
        assert.equal(t.mr_service_td, a.hex.mrservicetd ?? null);
      }
      if (c.tcb.status !== "not-supported") {
        assert.equal(c.tcb.qe?.status, "UpToDate");
        assert.equal(c.tcb.relaunch_advised, false);
        assert.match(c.tcb.tcb_date ?? "", /^\d{4}-\d\d-\d\dT/);
        if (c.tdx) assert.equal(c.tcb.tdx_module?.status, "UpToDate");
      }
    });
  }
});

/** README appendix: "all certificates/collateral simultaneously valid from A to B". */
function window(id: string): { from: Date; to: Date } {
  const readme = fs.readFileSync(path.join(VECTORS, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf(`\n### ${id}\n\n- quote v`));
  const m = /simultaneously valid from (\S+) to (\S+)/.exec(section)!;
  return { from: new Date(m[1]!), to: new Date(m[2]!) };
}

describe("at the edges of each vector's window", () => {
  for (const e of MAIN) {
    it(`${e.id}: valid at both ends, refused one second outside`, async () => {
      const { from, to } = window(e.id);
      const policy = { allowedTcbStatuses: [...ALL] };
      const codes = async (at: Date) =>
        errors((await runCase({ ...e, attime: at.toISOString() }, { policy })).checks).filter(
          (c) => c !== "dcap.tcb.not_supported",
        );
      assert.deepEqual(await codes(from), []);
      assert.deepEqual(await codes(to), []);
      const before = await codes(new Date(from.getTime() - 1000));
      const after = await codes(new Date(to.getTime() + 1000));
      assert.ok(before.length > 0 && before.every((c) => NOT_YET.has(c!)), `${before}`);
      assert.ok(after.length > 0 && after.every((c) => EXPIRED.has(c!)), `${after}`);
    });
  }
});

const ALL = [
  "UpToDate",
  "SWHardeningNeeded",
  "ConfigurationNeeded",
  "ConfigurationAndSWHardeningNeeded",
  "OutOfDate",
  "OutOfDateConfigurationNeeded",
] as const;
const NOT_YET = new Set([
  "dcap.verify.not_yet_valid",
  "dcap.collateral.not_yet_valid",
  "dcap.collateral.crl_not_yet_valid",
]);
const EXPIRED = new Set([
  "dcap.verify.expired",
  "dcap.collateral.expired",
  "dcap.collateral.crl_stale",
]);

describe("trailing bytes", () => {
  for (const e of INDEX.filter((x) => EXPECTED[x.id] && "status" in EXPECTED[x.id]!)) {
    const { quote } = inputs(e);
    it(`${e.id}: without allowTrailing ${appendixTrailing(e) ? "refused (dcap.quote.trailing)" : "accepted (none)"}`, async () => {
      const v = await attestDcap(quote, {
        now: new Date(e.attime),
        collateral: offlineCollateral(inputs(e).files),
        policy: { allowedTcbStatuses: [...ALL] },
      });
      if (appendixTrailing(e)) {
        assert.deepEqual(errors(v.checks), ["dcap.quote.trailing"]);
        assert.equal(v.claims, null);
        assert.equal(v.tee, e.id.startsWith("tdx") ? "tdx" : "sgx");
      } else {
        assert.equal(v.checks[0]?.ok, true);
      }
    });
  }
});

function appendixTrailing(e: IndexEntry): boolean {
  // The #trailing case is another quote of the same folder (70 zero bytes, README).
  return e.id.endsWith("#trailing") || (!e.id.includes("#") && appendix(e.id).trailing > 0);
}

it("oasis #certs-bad with its chain given explicitly as the TCB signing chain: the chain is refused", async () => {
  const e = INDEX.find((x) => x.id === "sgx/oasis-v3-00606a000000#certs-bad")!;
  const { quote, files } = inputs(e);
  const good = offlineCollateral(files.filter((f) => !f.name.endsWith(".pem")));
  const bad = offlineCollateral(files.filter((f) => f.name.endsWith("_bad.pem")));
  const collateral: DcapCollateral = {
    ...good,
    tcbInfoIssuerChain: bad.pckCrlIssuerChain,
    qeIdentityIssuerChain: bad.pckCrlIssuerChain,
  };
  const v = await attestDcap(quote, { now: new Date(e.attime), collateral });
  assert.deepEqual(
    v.checks.filter((c) => !c.ok && c.severity !== "warning").map((c) => [c.id, c.code]),
    [
      ["dcap.collateral.tcb_info.chain", "dcap.collateral.chain"],
      ["dcap.collateral.tcb_info.signature", "dcap.collateral.signature"],
      ["dcap.collateral.qe_identity.chain", "dcap.collateral.chain"],
      ["dcap.collateral.qe_identity.signature", "dcap.collateral.signature"],
    ],
  );
  assert.equal(v.claims?.tcb.status, "not-checked");
});

it("one warm verifier gives every case the verdict a fresh one gives, twice over", async () => {
  const verifier = createDcapVerifier();
  const policy = { allowedTcbStatuses: [...ALL] };
  for (let round = 0; round < 2; round++) {
    for (const e of INDEX) {
      const fresh = await runCase(e, { policy });
      const warm = await runCase(e, { policy, verifier });
      assert.deepEqual(warm, fresh, `${e.id} round ${round}`);
    }
  }
});

it("README.md's DCAP claims block is the alibaba TDX quote's claims", async () => {
  const readme = fs.readFileSync(path.join(import.meta.dirname, "../../README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### DCAP claims"));
  const block = /```json\n([\s\S]*?)```/.exec(section)![1]!;
  const e = INDEX.find((x) => x.id === "tdx/automata-v5-90c06f000000-alibaba")!;
  const v = await runCase(e);
  assert.equal(v.ok, true);
  assert.deepEqual(JSON.parse(block), v.claims);
});
