/**
 * `donjon attest verify` and `inspect` end to end: the real bin as a child
 * process over the real vectors in ../shared/vectors/snp, always `--offline`
 * or against a loopback fake KDS (tests never reach the network).
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
const SNP = path.resolve(ROOT, "../shared/vectors/snp");
const v = (p: string) => path.join(SNP, p);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-attest-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function donjon(args: string[]): Promise<DonjonResult> {
  return runDonjon(args);
}

function file(name: string, text: string | Uint8Array): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

const VIRTEE = [
  "attest",
  "verify",
  v("milan-v2-virtee/derived/report.bin"),
  "--collateral",
  v("milan-v2-virtee/vcek_milan.der"),
  "--collateral",
  v("milan-v2-virtee/ask.pem"),
  "--collateral",
  v("milan-v2-virtee/ark.pem"),
  "--at",
  "2026-11-27T00:00:00Z",
  "--offline",
];

describe("donjon attest verify", () => {
  it("a genuine report with its VCEK and chain: exit 0, the CRL warning shown", async () => {
    const r = await donjon(VIRTEE);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /: ACCEPTED — SEV-SNP report version 2, Milan, signed by VCEK/);
    assert.match(r.stdout, /measurement +7a1e5c266c0108db/);
    assert.match(r.stdout, /WARN snp\.verify\.crl_unavailable/);
    assert.match(r.stdout, /kdsintf\.amd\.com\/vcek\/v1\/Milan\/crl/);
    assert.equal(r.stderr, "");
  });

  const vectors: [string, string[], string][] = [
    [
      "milan-v2-gsg (policy debug = true)",
      [
        "milan-v2-gsg/attestation.bin",
        "milan-v2-gsg/vcek.testcer",
        "milan-v2-gsg/ask_ark_milan.pem",
      ],
      "2026-11-27T00:00:00Z",
    ],
    [
      "genoa-v3-azure-trustee (PEM VCEK)",
      [
        "genoa-v3-azure-trustee/derived/report.bin",
        "genoa-v3-azure-trustee/vcek-genoa.pem",
        "genoa-v3-azure-trustee/ask_ark_genoa.pem",
      ],
      "2026-11-27T00:00:00Z",
    ],
    [
      "milan-v3-vlek-aws-trustee (VLEK, before it expires)",
      [
        "milan-v3-vlek-aws-trustee/test-vlek-report.bin",
        "milan-v3-vlek-aws-trustee/test-vlek.der",
        "milan-v3-vlek-aws-trustee/ask_ark_milan_vlek.pem",
      ],
      "2025-06-01T00:00:00Z",
    ],
    [
      "milan-v2-steward-crl (PkiPath chain and the CRL: no warning)",
      [
        "milan-v2-steward-crl/derived/report.bin",
        "milan-v2-steward-crl/derived/vcek.der",
        "milan-v2-steward-crl/milan.pkipath",
        "milan-v2-steward-crl/derived/crl_milan.der",
      ],
      "2022-12-01T00:00:00Z",
    ],
    [
      "turin-v5-oak",
      [
        "turin-v5-oak/derived/report.bin",
        "turin-v5-oak/derived/vcek.der",
        "turin-v5-oak/ask_ark_turin_vcek.pem",
      ],
      "2026-11-27T00:00:00Z",
    ],
  ];
  const debugOk = file("debug-ok.toml", "debug = true\n");
  for (const [name, [report, ...collateral], at] of vectors) {
    it(`${name}: exit 0`, async () => {
      const r = await donjon([
        "attest",
        "verify",
        v(report!),
        ...collateral.flatMap((c) => ["--collateral", v(c)]),
        "--at",
        at,
        "--offline",
        "--policy",
        debugOk,
      ]);
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /ACCEPTED/);
      if (name.includes("no warning")) assert.match(r.stdout, /0 failed, 0 warnings/);
    });
  }

  it("--json prints the verdict", async () => {
    const r = await donjon([...VIRTEE, "--json"]);
    assert.equal(r.status, 0, r.stderr);
    const verdict = JSON.parse(r.stdout) as {
      ok: boolean;
      tee: string;
      checks: { id: string }[];
      warnings: { code: string }[];
      claims: { measurement: string; signing_key: { product_name: string } };
    };
    assert.equal(verdict.ok, true);
    assert.equal(verdict.tee, "sev-snp");
    assert.equal(verdict.checks[0]!.id, "snp.parse");
    assert.deepEqual(
      verdict.warnings.map((w) => w.code),
      ["snp.verify.crl_unavailable"],
    );
    assert.equal(verdict.claims.signing_key.product_name, "Milan-B0");
  });

  it("milan-v2-gsg under the default policy (debug refused): exit 1, the code, expected and actual", async () => {
    const r = await donjon([
      "attest",
      "verify",
      v("milan-v2-gsg/attestation.bin"),
      "--collateral",
      v("milan-v2-gsg/vcek.testcer"),
      "--collateral",
      v("milan-v2-gsg/ask_ark_milan.pem"),
      "--at",
      "2026-11-27T00:00:00Z",
      "--offline",
    ]);
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /REJECTED/);
    assert.match(
      r.stdout,
      /FAIL snp\.validate\.debug[^\n]*\n +expected: POLICY\.DEBUG = 0\n +actual: +POLICY\.DEBUG = 1\n +remedy: /,
    );
    assert.match(
      r.stderr,
      /^donjon: .*attestation\.bin: rejected: 1 check failed \(snp\.validate\.debug\)\n$/,
    );
  });

  it("a policy file rejecting debug and demanding a measurement: every failure printed", async () => {
    const policy = file(
      "strict.toml",
      `debug = false\nmeasurements = ["${"ab".repeat(48)}"]\n[min_tcb]\nsnp = 9\n`,
    );
    const r = await donjon([
      "attest",
      "verify",
      v("milan-v2-gsg/attestation.bin"),
      "--collateral",
      v("milan-v2-gsg/vcek.testcer"),
      "--at",
      "2026-11-27T00:00:00Z",
      "--offline",
      "--policy",
      policy,
    ]);
    assert.equal(r.status, 1, r.stderr + r.stdout);
    for (const code of ["snp.validate.debug", "snp.validate.tcb", "snp.validate.measurement"]) {
      assert.match(r.stdout, new RegExp(`FAIL ${code.replaceAll(".", "\\.")} `));
    }
    assert.match(r.stderr, /rejected: 3 checks failed/);
  });

  it("the VLEK vector after its VLEK expired: exit 1 with snp.verify.expired", async () => {
    const r = await donjon([
      "attest",
      "verify",
      v("milan-v3-vlek-aws-trustee/test-vlek-report.bin"),
      "--collateral",
      v("milan-v3-vlek-aws-trustee/test-vlek.der"),
      "--collateral",
      v("milan-v3-vlek-aws-trustee/ask_ark_milan_vlek.pem"),
      "--at",
      "2026-11-27T00:00:00Z",
      "--offline",
    ]);
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /FAIL snp\.verify\.expired \(snp\.verify\.validity\.vlek\)/);
    assert.match(r.stdout, /2025-12-10T22:14:21\.000Z/);
    assert.match(r.stderr, /snp\.verify\.expired/);
  });

  it("a policy accepting other cloud providers than the VLEK's: exit 1 with snp.verify.csp_id", async () => {
    const vlek = [
      "attest",
      "verify",
      v("milan-v3-vlek-aws-trustee/test-vlek-report.bin"),
      "--collateral",
      v("milan-v3-vlek-aws-trustee/test-vlek.der"),
      "--at",
      "2025-06-01T00:00:00Z",
      "--offline",
      "--policy",
    ];
    const other = await donjon([
      ...vlek,
      file("csp-other.toml", 'csp_ids = ["CN=elsewhere.example"]\n'),
    ]);
    assert.equal(other.status, 1, other.stderr + other.stdout);
    assert.match(
      other.stdout,
      /FAIL snp\.verify\.csp_id[^\n]*\n[^\n]*\n +actual: +"CN=cc-us-east-2\.amazonaws\.com"/,
    );
    const aws = await donjon([
      ...vlek,
      file("csp-aws.toml", 'csp_ids = ["CN=cc-us-east-2.amazonaws.com"]\n'),
    ]);
    assert.equal(aws.status, 0, aws.stderr + aws.stdout);
  });

  it("--require-crl without a CRL: exit 1", async () => {
    const r = await donjon([...VIRTEE, "--require-crl"]);
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(r.stdout, /FAIL snp\.verify\.crl_unavailable/);
  });

  it("no VCEK in the collateral: exit 1 naming the missing certificate and where to get it", async () => {
    const r = await donjon([
      "attest",
      "verify",
      v("genoa-v3-azure-trustee/derived/report.bin"),
      "--collateral",
      v("genoa-v3-azure-trustee/ask_ark_genoa.pem"),
      "--at",
      "2026-11-27T00:00:00Z",
      "--offline",
    ]);
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /FAIL snp\.collateral\.missing[^\n]*\n[^\n]*\n +actual: +no VCEK for Genoa chip 0x0506ffba[0-9a-f]+ at TCB bl=10 tee=0 snp=23 ucode=84 in the collateral; fetch it from https:\/\/kdsintf\.amd\.com\/vcek\/v1\/Genoa\//,
    );
  });

  it("a garbage evidence file: exit 1 with the parser's reason", async () => {
    const r = await donjon([
      "attest",
      "verify",
      file("garbage.bin", "this is not a report\n"),
      "--offline",
      "--at",
      "2026-11-27",
    ]);
    assert.equal(r.status, 1, r.stderr + r.stdout);
    assert.match(
      r.stdout,
      /FAIL snp\.report\.size \(snp\.parse\)\n +expected: [^\n]+\n +actual: +expected 1184-byte SNP report, got 21/,
    );
    assert.match(
      r.stderr,
      /^donjon: .*garbage\.bin: rejected: 1 check failed \(snp\.report\.size\)\n$/,
    );
    assert.doesNotMatch(r.stderr, /at .*\.ts:/);
  });

  it("the report as hex text (--format auto) verifies too", async () => {
    const args = [...VIRTEE];
    args[2] = v("milan-v2-virtee/report_milan.hex");
    const r = await donjon(args);
    assert.equal(r.status, 0, r.stderr + r.stdout);
    const snp = await donjon([...args, "--format", "snp"]);
    assert.equal(snp.status, 1, "--format snp takes the bytes as they are");
  });

  const oneLine = (r: DonjonResult) => {
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^donjon: [^\n]+\n$/);
  };

  it("a file that is not collateral: exit 1 naming the file", async () => {
    const bad = file("notacert.pem", "hello\n");
    const r = await donjon([...VIRTEE, "--collateral", bad]);
    assert.equal(r.status, 1);
    oneLine(r);
    assert.match(r.stderr, /collateral file .*notacert\.pem: neither PEM nor DER/);
  });

  it("missing files: exit 1", async () => {
    for (const args of [
      ["attest", "verify", path.join(tmp, "nope.bin"), "--offline", "--at", "2026-11-27"],
      [...VIRTEE, "--collateral", path.join(tmp, "nope.pem")],
      [...VIRTEE, "--policy", path.join(tmp, "nope.toml")],
    ]) {
      const r = await donjon(args);
      assert.equal(r.status, 1, r.stderr);
      oneLine(r);
      assert.match(r.stderr, /nope\.(bin|pem|toml) not found/);
    }
  });

  it("a bad policy file: exit 1 naming the key and the line", async () => {
    const policy = file("bad.toml", "debug = false\n\n[min_tcb]\nsnpp = 3\n");
    const r = await donjon([...VIRTEE, "--policy", policy]);
    assert.equal(r.status, 1);
    oneLine(r);
    assert.match(r.stderr, /bad\.toml:4: unknown key "min_tcb\.snpp"/);
  });

  const usage: [string, string[], RegExp][] = [
    ["no FILE", ["attest", "verify", "--offline"], /missing FILE/],
    ["two FILEs", ["attest", "verify", "a", "b"], /one FILE expected, got 2/],
    ["an unknown flag", [...VIRTEE, "--frobnicate"], /unknown flag --frobnicate/],
    ["a flag without its value", [...VIRTEE, "--policy"], /--policy needs a value/],
    ["a bad --format", [...VIRTEE, "--format", "sev"], /--format must be snp, sgx, tdx or auto/],
    [
      "--pcs with --offline",
      [...VIRTEE, "--pcs", "http://127.0.0.1:1"],
      /--pcs and --offline exclude each other/,
    ],
    ["a bad --at", ["attest", "verify", "x", "--at", "last tuesday"], /--at must be an ISO-8601/],
    ["--at twice", [...VIRTEE, "--at", "2026-01-01"], /--at given twice/],
    ["a time without a zone", ["attest", "verify", "x", "--at", "2026-11-27T10:00"], /--at/],
    ["--json=yes", [...VIRTEE, "--json=yes"], /--json takes no value/],
    ["--kds with --offline", [...VIRTEE, "--kds", "http://127.0.0.1:1"], /exclude each other/],
    ["an unknown verb", ["attest", "frob"], /unknown verb "frob"/],
  ];
  for (const [name, args, message] of usage) {
    it(`usage error, ${name}: exit 2`, async () => {
      const r = await donjon(args);
      assert.equal(r.status, 2, r.stderr + r.stdout);
      oneLine(r);
      assert.match(r.stderr, message);
    });
  }

  it("help: donjon attest --help, attest verify --help, help attest", async () => {
    const a = await donjon(["attest", "--help"]);
    assert.equal(a.status, 0);
    assert.match(a.stdout, /verify +Verify the evidence/);
    const b = await donjon(["attest", "verify", "--help"]);
    assert.equal(b.status, 0);
    assert.match(b.stdout, /--collateral FILE/);
    const c = await donjon(["help", "attest"]);
    assert.equal(c.status, 0);
    assert.match(c.stdout, /Usage: donjon attest/);
    const d = await donjon(["--help"]);
    assert.match(d.stdout, /attest +Verify or inspect TEE evidence/);
    const e = await donjon(["attest"]);
    assert.equal(e.status, 2);
  });

  describe("without --offline: what the files lack comes from the KDS (a loopback fake)", () => {
    let server: http.Server;
    let base = "";
    const seen: string[] = [];
    before(async () => {
      server = http.createServer((req, res) => {
        seen.push(req.url ?? "");
        if (req.url?.startsWith("/vcek/v1/Milan/d49554ec")) {
          res.writeHead(200, { "content-type": "application/pkix-cert" });
          res.end(fs.readFileSync(v("milan-v2-virtee/vcek_milan.der")));
        } else {
          res.writeHead(404);
          res.end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    after(() => server.close());

    it("fetches the VCEK by chip id and TCB; the missing CRL stays a warning", async () => {
      const r = await donjon([
        "attest",
        "verify",
        v("milan-v2-virtee/derived/report.bin"),
        "--at",
        "2026-11-27T00:00:00Z",
        "--kds",
        base,
      ]);
      assert.equal(r.status, 0, r.stderr + r.stdout);
      assert.match(r.stdout, /ACCEPTED/);
      assert.match(r.stdout, /WARN snp\.verify\.crl_unavailable/);
      assert.ok(
        seen.some((u) => u.includes("?blSPL=3&teeSPL=0&snpSPL=8&ucodeSPL=115")),
        seen.join(" "),
      );
      assert.ok(seen.includes("/vcek/v1/Milan/crl"), seen.join(" "));
    });
  });
});

describe("donjon attest inspect", () => {
  it("prints every field as a table", async () => {
    const r = await donjon(["attest", "inspect", v("turin-v5-oak/derived/report.bin")]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /SEV-SNP attestation report, version 5, Turin/);
    assert.match(r.stdout, /\n {2}measurement +f924dd18f168df60/);
    assert.match(r.stdout, /\n {2}tcb\.reported\.fmc +0\n/);
    assert.match(r.stdout, /\n {2}policy\.debug +false\n/);
    assert.match(r.stdout, /\n {2}cpuid\.family +26\n/);
  });

  it("--json prints the claims; a v2 report gets a note unless --product says", async () => {
    const r = await donjon([
      "attest",
      "inspect",
      v("milan-v2-virtee/derived/report.bin"),
      "--json",
    ]);
    assert.equal(r.status, 0, r.stderr);
    const fixture = path.join(ROOT, "packages/attest/test/fixtures/claims-milan-v2-virtee.json");
    const want = JSON.parse(fs.readFileSync(fixture, "utf8")) as { signing_key: object };
    const got = JSON.parse(r.stdout) as { signing_key: object };
    // inspect decodes only: no certificate, so the signing key's identity is null.
    assert.deepEqual({ ...got, signing_key: null }, { ...want, signing_key: null });
    assert.match(r.stderr, /note: .* version 2 report/);
    const q = await donjon([
      "attest",
      "inspect",
      v("milan-v2-virtee/derived/report.bin"),
      "--product",
      "milan",
    ]);
    assert.equal(q.status, 0);
    assert.equal(q.stderr, "");
  });

  it("garbage: exit 1 with the reason; usage errors exit 2", async () => {
    const r = await donjon(["attest", "inspect", file("junk.bin", "junk")]);
    assert.equal(r.status, 1);
    assert.match(
      r.stderr,
      /^donjon: .*junk\.bin: not a valid SEV-SNP attestation report: expected 1184-byte SNP report, got 4 \(snp\.report\.size\)\n$/,
    );
    const u = await donjon(["attest", "inspect", "--product", "Rome", "x"]);
    assert.equal(u.status, 2);
    assert.match(u.stderr, /--product must be Milan, Genoa or Turin/);
  });
});
