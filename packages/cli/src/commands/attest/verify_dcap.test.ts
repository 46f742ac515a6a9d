/**
 * `donjon attest verify` and `inspect` on Intel SGX and TDX quotes, end to end:
 * the real bin as a child process over the real vectors in
 * ../shared/vectors/{sgx,tdx} with their collateral as files, always
 * `--offline` and with the time pinned (`--at`: the vectors' collateral
 * expired long ago), or against a loopback fake PCS (tests never reach the
 * network). Expected statuses are the vectors' README's.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { type DonjonResult, runDonjon } from "../../_donjon_child.ts";

const ROOT = path.resolve(import.meta.dirname, "../../../../..");
const _BIN = path.join(ROOT, "packages/cli/bin/donjon.js");
const VECTORS = path.resolve(ROOT, "../shared/vectors");
const v = (p: string) => path.join(VECTORS, p);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-attest-dcap-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function donjon(args: string[]): Promise<DonjonResult> {
  return runDonjon(args);
}

function file(name: string, text: string | Uint8Array): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

const ALL_STATUSES =
  '["UpToDate", "SWHardeningNeeded", "ConfigurationNeeded", "ConfigurationAndSWHardeningNeeded", "OutOfDate", "OutOfDateConfigurationNeeded"]';
/** A policy accepting every TCB status but Revoked: the verdict then shows the vector's own status. */
const anyStatus = file(
  "any-status.toml",
  `[sgx]\ntcb_statuses = ${ALL_STATUSES}\n[tdx]\ntcb_statuses = ${ALL_STATUSES}\n`,
);

interface Vector {
  dir: string;
  quote: string;
  collateral: string[];
  at: string;
  /** The TCB status, or "not-supported" (no TCB level matches: rejected whatever the policy). */
  status: string;
  advisories?: string[];
  /** Both CRLs are among the files (else two CRL warnings). */
  crls?: boolean;
  /** Bytes after the signature data (zero padding, a test string): needs --allow-trailing. */
  trailing?: boolean;
}

/** Each vector with its collateral, as ../shared/vectors/README.md documents it. */
const VECTOR_TABLE: Vector[] = [
  {
    dir: "sgx/phala-v3-00a067110000",
    quote: "sgx_quote",
    collateral: ["sgx_quote_collateral.json"],
    at: "2025-07-01T00:00:00Z",
    status: "ConfigurationAndSWHardeningNeeded",
    advisories: ["INTEL-SA-00289", "INTEL-SA-00615"],
    crls: true,
  },
  {
    dir: "sgx/phala-v3-00a067110000",
    quote: "sgx_quote",
    collateral: [
      "derived/tcb_info.json",
      "derived/qe_identity.json",
      "derived/tcb_info_issuer_chain.pem",
      "derived/pck_crl.der",
      "derived/root_ca_crl.der",
      "derived/pck_crl_issuer_chain.pem",
    ],
    at: "2025-07-01T00:00:00Z",
    status: "ConfigurationAndSWHardeningNeeded",
    advisories: ["INTEL-SA-00289", "INTEL-SA-00615"],
    crls: true,
  },
  {
    dir: "sgx/oasis-v3-00606a000000",
    quote: "quote_v3_ecdsa_p256_pck_chain.bin",
    collateral: [
      "tcb_info_v3_fmspc_00606A000000.json",
      "qe_identity_v2.json",
      "tcb_info_v3_fmspc_00606A000000_certs.pem",
    ],
    at: "2022-12-20T00:50:04Z",
    status: "SWHardeningNeeded",
    advisories: ["INTEL-SA-00615", "INTEL-SA-00657"],
  },
  {
    dir: "sgx/dcaprs-v3-00606a000000",
    quote: "derived/quote.bin",
    collateral: [
      "tcbinfov2.json",
      "qeidentityv2.json",
      "tcb_signing_cert.pem",
      "pck_platform_crl.der",
      "intel_root_ca_crl.der",
    ],
    at: "2025-02-13T04:00:32Z",
    status: "OutOfDate",
    crls: true,
  },
  {
    dir: "sgx/automata-v3-00606a000000",
    quote: "derived/quote.bin",
    collateral: [
      "sgx_tcbinfov3_00606a000000.json",
      "sgx_qeidentity_v4.json",
      "derived/tcb_signing_chain.pem",
      "platform_crl.der",
      "derived/root_ca_crl.der",
    ],
    at: "2025-08-15T05:45:00Z",
    status: "SWHardeningNeeded",
    advisories: ["INTEL-SA-00615"],
    crls: true,
  },
  {
    dir: "tdx/phala-v4-b0c06f000000",
    quote: "tdx_quote",
    collateral: ["tdx_quote_collateral.json"],
    at: "2025-07-01T00:00:00Z",
    status: "UpToDate",
    crls: true,
    trailing: true,
  },
  {
    dir: "tdx/phala-v5-90c06f000000-tcb-not-supported",
    quote: "tdx_quote_outdated",
    collateral: ["tdx_quote_outdated_collateral.json"],
    at: "2026-03-01T00:00:00Z",
    status: "not-supported",
    crls: true,
  },
  {
    dir: "tdx/gtg-v4-50806f000000-spr-e4",
    quote: "tdx_prod_quote_SPR_E4.dat",
    collateral: [
      "sample_tcbInfo_response",
      "sample_qeIdentity_response",
      "derived/tcb_info_issuer_chain.pem",
      "pckcrl",
      "rootcrl.der",
      "derived/pck_crl_issuer_chain.pem",
    ],
    at: "2023-07-01T01:00:00Z",
    status: "not-supported",
    crls: true,
    trailing: true,
  },
  {
    dir: "tdx/oasis-v4-c0806f000000",
    quote: "quote_v4_tdx_ecdsa_p256.bin",
    collateral: [
      "tcb_info_v3_tdx_fmspc_C0806F000000.json",
      "qe_identity_v2_tdx2.json",
      "tcb_info_v3_fmspc_00606A000000_certs.pem",
    ],
    at: "2024-09-02T07:43:52Z",
    status: "UpToDate",
  },
  {
    dir: "tdx/dcaprs-v4-00806f050000",
    quote: "quote_tdx_00806f050000.dat",
    collateral: [
      "tcbinfov3_00806f050000.json",
      "qeidentityv2_apiv4.json",
      "tcb_signing_cert.pem",
      "pck_platform_crl.der",
      "intel_root_ca_crl.der",
    ],
    at: "2025-02-13T04:00:32Z",
    status: "OutOfDate",
    advisories: ["INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"],
    crls: true,
    trailing: true,
  },
  {
    dir: "tdx/automata-v5-90c06f000000-alibaba",
    quote: "alibaba_quote_5.dat",
    collateral: [
      "tcbinfov3_90C06F000000.json",
      "qe_td.json",
      "derived/tcb_signing_chain.pem",
      "derived/platform_crl.der",
      "derived/root_ca_crl.der",
    ],
    at: "2025-06-15T00:00:00Z",
    status: "UpToDate",
    crls: true,
  },
];

/** The verify command for a vector. */
function args(vec: Vector, extra: string[] = []): string[] {
  return [
    "attest",
    "verify",
    v(`${vec.dir}/${vec.quote}`),
    ...vec.collateral.flatMap((c) => ["--collateral", v(`${vec.dir}/${c}`)]),
    "--at",
    vec.at,
    "--offline",
    ...(vec.trailing ? ["--allow-trailing"] : []),
    ...extra,
  ];
}

const re = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

interface JsonVerdict {
  ok: boolean;
  tee: string;
  checks: { id: string; ok: boolean; code?: string }[];
  warnings: { code: string }[];
  claims: { tcb: { status: string; advisory_ids: string[] }; tdx: object | null } | null;
}

describe("donjon attest verify: every SGX and TDX vector gives its documented status at its time", () => {
  for (const vec of VECTOR_TABLE) {
    const name = `${vec.dir} (${vec.collateral.length === 1 ? "a bundle" : `${vec.collateral.length} files`})`;
    it(`${name}: ${vec.status}`, async () => {
      const r = await donjon(args(vec, ["--policy", anyStatus]));
      const shown = `${vec.status === "not-supported" ? "not-supported" : vec.status}${vec.advisories ? ` [${vec.advisories.join(", ")}]` : ""}`;
      assert.match(r.stdout, new RegExp(`\\n {2}tcb status +${re(shown)}\\n`), r.stdout);
      if (vec.status === "not-supported") {
        assert.equal(r.status, 1, r.stderr + r.stdout);
        assert.match(r.stdout, /REJECTED/);
        assert.match(r.stdout, /FAIL dcap\.tcb\.not_supported/);
        return;
      }
      assert.equal(r.status, 0, r.stderr + r.stdout);
      const tee = vec.dir.startsWith("tdx") ? "TDX" : "SGX";
      assert.match(r.stdout, new RegExp(`: ACCEPTED — Intel ${tee} quote version \\d`));
      const warnings = vec.crls ? 0 : 2;
      assert.match(r.stdout, new RegExp(`0 failed, ${warnings} warnings?\\n`));
      if (!vec.crls) assert.match(r.stdout, /WARN dcap\.collateral\.crl_unavailable/);
      assert.equal(r.stderr, "");
    });
  }

  it("--json: the verdict with the TCB status, advisories and the claims", async () => {
    const vec = VECTOR_TABLE[0]!;
    const r = await donjon(args(vec, ["--policy", anyStatus, "--json"]));
    assert.equal(r.status, 0, r.stderr);
    const verdict = JSON.parse(r.stdout) as JsonVerdict;
    assert.equal(verdict.ok, true);
    assert.equal(verdict.tee, "sgx");
    assert.equal(verdict.checks[0]!.id, "dcap.parse");
    assert.equal(verdict.claims!.tcb.status, "ConfigurationAndSWHardeningNeeded");
    assert.deepEqual(verdict.claims!.tcb.advisory_ids, vec.advisories);
  });

  it("the default policy accepts UpToDate only: an OutOfDate quote is rejected with every advisory shown", async () => {
    const vec = VECTOR_TABLE.find((x) => x.dir === "tdx/dcaprs-v4-00806f050000")!;
    const r = await donjon(args(vec));
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /FAIL dcap\.policy\.tcb_status \(dcap\.policy\.tcb_status\)\n +expected: TCB status UpToDate\n +actual: +TCB status OutOfDate \[INTEL-SA-00960, INTEL-SA-00982, INTEL-SA-00986\]\n +remedy: +[^\n]*tcb_statuses/,
    );
    assert.match(
      r.stderr,
      /^donjon: .*\.dat: rejected: 1 check failed \(dcap\.policy\.tcb_status\)\n$/,
    );
    const up = await donjon(args(VECTOR_TABLE.find((x) => x.dir.includes("alibaba"))!));
    assert.equal(up.status, 0, up.stderr + up.stdout);
  });

  it("a policy file: measurements, debug and advisories of the [tdx] table are appraised", async () => {
    const vec = VECTOR_TABLE.find((x) => x.dir === "tdx/dcaprs-v4-00806f050000")!;
    const policy = file(
      "tdx-strict.toml",
      `[tdx]\ntcb_statuses = ["UpToDate", "OutOfDate"]\nadvisory_ids = ["INTEL-SA-00960"]\nmr_td = "${"ab".repeat(48)}"\nrtmr0 = "${"00".repeat(48)}"\n`,
    );
    const r = await donjon(args(vec, ["--policy", policy]));
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /FAIL dcap\.policy\.advisory[^\n]*\n[^\n]*\n +actual: +[^\n]*not allowed: INTEL-SA-00982, INTEL-SA-00986/,
    );
    assert.match(r.stdout, /FAIL dcap\.policy\.mr_td /);
    assert.doesNotMatch(r.stdout, /FAIL dcap\.policy\.rtmr/);
    assert.match(
      r.stderr,
      /rejected: 2 checks failed \(dcap\.policy\.advisory, dcap\.policy\.mr_td\)/,
    );
    // An [sgx] table says nothing about a TDX quote.
    const sgxOnly = file(
      "sgx-only.toml",
      `[sgx]\nmr_enclave = "${"ab".repeat(32)}"\n[tdx]\ntcb_statuses = ["OutOfDate"]\n`,
    );
    assert.equal((await donjon(args(vec, ["--policy", sgxOnly]))).status, 0);
  });

  it("--require-crl (or require_crl in the policy): a vector without CRLs is rejected", async () => {
    const vec = VECTOR_TABLE.find((x) => x.dir === "tdx/oasis-v4-c0806f000000")!;
    const r = await donjon(args(vec, ["--require-crl"]));
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(r.stderr, /rejected: 2 checks failed \(dcap\.collateral\.crl_unavailable\)/);
    const p = file("crl.toml", "require_crl = true\n");
    assert.equal((await donjon(args(vec, ["--policy", p]))).status, 1);
  });

  it("--format sgx|tdx: the named TEE must be the quote's", async () => {
    const tdx = VECTOR_TABLE.find((x) => x.dir.includes("alibaba"))!;
    assert.equal((await donjon(args(tdx, ["--format", "tdx"]))).status, 0);
    const r = await donjon(args(tdx, ["--format", "sgx"]));
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /FAIL dcap\.policy\.tee \(dcap\.policy\.tee\)\n +expected: an? SGX quote\n +actual: +a TDX quote/,
    );
  });

  it("the quote as hex text is recognised too", async () => {
    const vec = VECTOR_TABLE.find((x) => x.dir.includes("alibaba"))!;
    const hex = file("alibaba.hex", fs.readFileSync(v(`${vec.dir}/${vec.quote}`)).toString("hex"));
    const a = args(vec);
    a[2] = hex;
    const r = await donjon(a);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /ACCEPTED — Intel TDX quote version 5 \(TD 1\.5\)/);
  });
});

describe("donjon attest verify: SGX/TDX negatives", () => {
  const alibaba = VECTOR_TABLE.find((x) => x.dir.includes("alibaba"))!;
  const dcaprs = VECTOR_TABLE.find((x) => x.dir === "sgx/dcaprs-v3-00606a000000")!;

  it("no collateral: exit 1, the TCB Info and QE Identity named, with where to fetch them", async () => {
    const r = await donjon(args({ ...alibaba, collateral: [] }));
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /FAIL dcap\.collateral\.missing \(dcap\.collateral\.tcb_info\)\n +expected: TCB Info for the quote's FMSPC \(https:\/\/api\.trustedservices\.intel\.com\/tdx\/certification\/v4\/tcb\?fmspc=90C06F000000\)/,
    );
    assert.match(r.stdout, /FAIL dcap\.collateral\.missing \(dcap\.collateral\.qe_identity\)/);
  });

  it("TCB Info without its issuer chain: the chain is named as missing", async () => {
    const r = await donjon(
      args({ ...alibaba, collateral: ["tcbinfov3_90C06F000000.json", "qe_td.json"] }),
    );
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /FAIL dcap\.collateral\.missing \(dcap\.collateral\.tcb_info\.chain\)/);
  });

  it("require_collateral = false: the missing items are warnings and the TCB is not checked", async () => {
    const p = file("relaxed.toml", "[tdx]\nrequire_collateral = false\n");
    const r = await donjon(args({ ...alibaba, collateral: [] }, ["--policy", p]));
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /tcb status +not-checked/);
    assert.match(r.stdout, /WARN dcap\.collateral\.missing/);
    assert.match(r.stdout, /WARN dcap\.policy\.tcb_not_checked/);
  });

  it("a file that is none of the collateral kinds: exit 1 naming it and what was expected", async () => {
    const bad = file("notes.txt", "these are not collateral\n");
    const r = await donjon(args(alibaba, ["--collateral", bad]));
    assert.equal(r.status, 1);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /^donjon: collateral file [^\n]*notes\.txt: neither JSON, PEM, DER nor hex[^\n]*expected TCB Info or QE Identity JSON, raw or as the PCS body, a CRL in PEM or DER, or a PEM certificate chain\)\n$/,
    );
    const json = file("other.json", '{"hello": "world"}');
    const j = await donjon(args(alibaba, ["--collateral", json]));
    assert.equal(j.status, 1);
    assert.match(j.stderr, /other\.json: JSON that is neither TCB Info/);
  });

  it("the wrong TCB Info (another platform's): FMSPC mismatch", async () => {
    const r = await donjon(
      args({
        ...dcaprs,
        collateral: dcaprs.collateral
          .filter((c) => c !== "tcbinfov2.json")
          .concat("../phala-v3-00a067110000/derived/tcb_info.json"),
      }),
    );
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /FAIL dcap\.collateral\.fmspc \(dcap\.tcb\.fmspc\)\n +expected: TCB Info for FMSPC 00606a000000 \(the PCK certificate's\)\n +actual: +TCB Info for FMSPC 00a067110000/,
    );
  });

  it("expired collateral: the vector verified today is rejected", async () => {
    const r = await donjon(args({ ...alibaba, at: "2026-11-27T00:00:00Z" }));
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /FAIL dcap\.collateral\.expired/);
  });

  const tampered: [string, string, string[], RegExp][] = [
    [
      "an SGX quote with MRENCLAVE changed",
      "sgx/phala-v3-00a067110000/tampered/quote_mrenclave0_xor01",
      ["sgx/phala-v3-00a067110000/sgx_quote_collateral.json"],
      /FAIL dcap\.verify\.quote_signature/,
    ],
    [
      "an SGX quote whose QE report ISVSVN changed",
      "sgx/phala-v3-00a067110000/tampered/quote_qereport_isvsvn_xor01",
      ["sgx/phala-v3-00a067110000/sgx_quote_collateral.json"],
      /FAIL dcap\.verify\.qe_report_signature/,
    ],
    [
      "a TDX quote with a TD body byte changed",
      "tdx/gtg-v4-50806f000000-spr-e4/tampered/td_body_byte_0x3c.dat",
      [],
      /FAIL dcap\.verify\.quote_signature/,
    ],
    [
      "a TDX quote claiming version 3",
      "tdx/gtg-v4-50806f000000-spr-e4/tampered/version_3_0x0.dat",
      [],
      /FAIL dcap\.quote\.\w+ \(dcap\.parse\)/,
    ],
  ];
  for (const [name, quote, collateral, want] of tampered) {
    it(`tampered: ${name} → exit 1`, async () => {
      const r = await donjon([
        "attest",
        "verify",
        v(quote),
        ...collateral.flatMap((c) => ["--collateral", v(c)]),
        "--at",
        quote.startsWith("sgx") ? "2025-07-01T00:00:00Z" : "2023-07-01T01:00:00Z",
        "--offline",
        "--allow-trailing",
        "--format",
        quote.startsWith("sgx") ? "sgx" : "tdx",
      ]);
      assert.equal(r.status, 1, r.stderr + r.stdout);
      assert.match(r.stdout, want);
    });
  }

  it("trailing bytes are refused unless --allow-trailing, which the verdict then shows", async () => {
    const vec = VECTOR_TABLE.find((x) => x.dir === "tdx/phala-v4-b0c06f000000")!;
    const r = await donjon(args({ ...vec, trailing: false }));
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /FAIL dcap\.quote\.trailing \(dcap\.parse\)/);
    const ok = await donjon(args(vec));
    assert.match(ok.stdout, /trailing bytes +\d+ \(covered by no signature\)/);
  });

  const oneLine = (r: DonjonResult) => {
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^donjon: [^\n]+\n$/);
  };
  const usage: [string, string[], RegExp][] = [
    [
      "a bad --format",
      [...args(alibaba), "--format", "sev"],
      /--format must be snp, sgx, tdx or auto/,
    ],
    [
      "--kds for a TDX quote",
      [...args(alibaba).filter((x) => x !== "--offline"), "--kds", "http://127.0.0.1:1"],
      /--kds applies to SEV-SNP evidence; .* holds Intel TDX evidence/,
    ],
    [
      "--sandbox-key for a TDX quote",
      [...args(alibaba), "--sandbox-key", v("sgx/oasis-v3-00606a000000/qe_identity_v2.json")],
      /--sandbox-key applies to sandbox evidence; .* holds Intel TDX evidence/,
    ],
    [
      "--pcs with --offline",
      [...args(alibaba), "--pcs", "http://127.0.0.1:1"],
      /--pcs and --offline exclude each other/,
    ],
    [
      "--pcs not a URL",
      [...args(alibaba), "--pcs", "pcs.example"],
      /--pcs must be an http\(s\) URL/,
    ],
    [
      "--pcs for an SNP report",
      [
        "attest",
        "verify",
        v("snp/milan-v2-virtee/derived/report.bin"),
        "--at",
        "2026-11-27",
        "--pcs",
        "http://127.0.0.1:1",
      ],
      /--pcs applies to SGX and TDX evidence/,
    ],
  ];
  for (const [name, a, message] of usage) {
    it(`usage error, ${name}: exit 2`, async () => {
      const r = await donjon(a);
      assert.equal(r.status, 2, r.stderr + r.stdout);
      oneLine(r);
      assert.match(r.stderr, message);
    });
  }

  it("a bad [tdx] table: exit 1 naming the key and the line", async () => {
    const p = file("bad-tdx.toml", '[tdx]\ntcb_statuses = ["Revoked"]\n');
    const r = await donjon(args(alibaba, ["--policy", p]));
    assert.equal(r.status, 1);
    oneLine(r);
    assert.match(r.stderr, /bad-tdx\.toml:2: "tdx\.tcb_statuses\[0\]" must be one of UpToDate/);
  });
});

describe("donjon attest verify: what the files lack comes from Intel PCS (a loopback fake)", () => {
  const vec = VECTOR_TABLE.find((x) => x.dir.includes("alibaba"))!;
  let server: http.Server;
  let base = "";
  const seen: string[] = [];
  before(async () => {
    const pem = fs.readFileSync(v(`${vec.dir}/derived/tcb_signing_chain.pem`), "utf8");
    server = http.createServer((req, res) => {
      seen.push(req.url ?? "");
      if (req.url === "/tdx/certification/v4/tcb?fmspc=90C06F000000") {
        res.writeHead(200, { "TCB-Info-Issuer-Chain": encodeURIComponent(pem) });
        res.end(fs.readFileSync(v(`${vec.dir}/tcbinfov3_90C06F000000.json`)));
      } else if (req.url === "/tdx/certification/v4/qe/identity") {
        res.writeHead(200, { "SGX-Enclave-Identity-Issuer-Chain": encodeURIComponent(pem) });
        res.end(fs.readFileSync(v(`${vec.dir}/qe_td.json`)));
      } else {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => server.close());

  it("fetches TCB Info and QE Identity by the PCK's FMSPC; a CRL the PCS lacks stays a warning", async () => {
    const r = await donjon([
      "attest",
      "verify",
      v(`${vec.dir}/${vec.quote}`),
      "--collateral",
      v(`${vec.dir}/derived/root_ca_crl.der`),
      "--at",
      vec.at,
      "--pcs",
      base,
    ]);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /tcb status +UpToDate\n/);
    assert.match(r.stdout, /WARN dcap\.collateral\.crl_unavailable/);
    assert.match(r.stdout, /answered HTTP 404 for the PCK CRL/);
    assert.ok(seen.includes("/tdx/certification/v4/tcb?fmspc=90C06F000000"), seen.join(" "));
    assert.ok(!seen.some((u) => u.includes("rootcacrl")), "the root CA CRL came from the file");
  });
});

describe("donjon attest inspect: SGX and TDX quotes", () => {
  it("a TDX 1.5 quote: header, TD body, QE report and the PCK extensions", async () => {
    const r = await donjon([
      "attest",
      "inspect",
      v("tdx/automata-v5-90c06f000000-alibaba/alibaba_quote_5.dat"),
    ]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^[^\n]*alibaba_quote_5\.dat: Intel TDX quote, version 5 \(TD 1\.5\)\n/);
    assert.match(r.stdout, /\n {2}pck\.fmspc +90c06f000000\n/);
    assert.match(r.stdout, /\n {2}pck\.pce_id +0000\n/);
    assert.match(r.stdout, /\n {2}pck\.tcb_components +(\d+ ){15}\d+\n/);
    assert.match(r.stdout, /\n {2}header\.qe_vendor_id +939a7233f79c4ca9940a0db3957f0607\n/);
    assert.match(r.stdout, /\n {2}qe_report\.isv_svn +\d+\n/);
    assert.match(r.stdout, /\n {2}tdx\.mr_td +[0-9a-f]{96}\n/);
    assert.match(r.stdout, /\n {2}tdx\.mr_service_td +[0-9a-f]{96}\n/);
    assert.doesNotMatch(r.stdout, /tcb\.status/, "nothing is judged");
  });

  it("an SGX quote; --json prints the claims; trailing bytes are counted", async () => {
    const r = await donjon([
      "attest",
      "inspect",
      v("sgx/phala-v3-00a067110000/sgx_quote"),
      "--json",
    ]);
    assert.equal(r.status, 0, r.stderr);
    const c = JSON.parse(r.stdout) as {
      tee: string;
      version: number;
      sgx: { mr_enclave: string };
      pck: { fmspc: string };
      tcb?: unknown;
    };
    assert.equal(c.tee, "sgx");
    assert.equal(c.version, 3);
    assert.match(c.sgx.mr_enclave, /^[0-9a-f]{64}$/);
    assert.equal(c.pck.fmspc, "00a067110000");
    assert.equal(c.tcb, undefined);
    const t = await donjon([
      "attest",
      "inspect",
      v("tdx/gtg-v4-50806f000000-spr-e4/tdx_prod_quote_SPR_E4.dat"),
    ]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /Intel TDX quote, version 4 \(TD 1\.0\), 39 trailing bytes\n/);
  });

  it("a truncated quote: exit 1 with the parser's reason; --product is for SNP", async () => {
    const q = fs.readFileSync(v("tdx/automata-v5-90c06f000000-alibaba/alibaba_quote_5.dat"));
    const r = await donjon(["attest", "inspect", file("short.dat", q.subarray(0, 700))]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^donjon: .*short\.dat: not a valid Intel DCAP quote: .* \(dcap\.quote\.\w+\)\n$/,
    );
    const p = await donjon(["attest", "inspect", "--product", "milan", file("q.dat", q)]);
    assert.equal(p.status, 2);
    assert.match(p.stderr, /--product applies to SEV-SNP reports/);
  });
});
