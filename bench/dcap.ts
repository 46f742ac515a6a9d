/**
 * Intel DCAP verification throughput: quotes verified per second by
 * `attestDcap` with warm collateral (a reused `createDcapVerifier()`, the same
 * collateral object every call: its TCB Info, QE Identity, CRLs and PCK chain
 * verified once, only validity windows re-judged) against two raw P-256
 * `crypto.subtle.verify` calls — the quote signature by the attestation key
 * and the QE report signature by the PCK key, the two verifications a quote
 * costs at the least — of the same data, one after the other, in the same
 * process and run. Goal: ≥ 0.8× the raw rate. For context, the SGX vector too.
 *
 *   node bench/dcap.ts [--iterations N] [--warmup N] [--rounds N] [--json]
 *
 * The vectors are ../shared/vectors/tdx/automata-v5-90c06f000000-alibaba (TDX
 * quote v5, TD 1.5, with both CRLs, UpToDate) and sgx/phala-v3-00a067110000
 * (SGX v3, both CRLs), at their documented verify-at times. Every loop awaits
 * one verification at a time (as a Steward handles one request's evidence);
 * iterations are split into rounds that alternate the order of the loops, so
 * a drift in machine load hits all of them.
 */
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  attestDcap,
  createDcapVerifier,
  type DcapCollateral,
  type DcapValidateOptions,
  evaluateTcb,
  offlineCollateral,
  parseDcapQuote,
} from "@donjon/attest";
import { intOption, median } from "./_stats.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const VECTORS = path.resolve(ROOT, "../shared/vectors");

export interface DcapBenchResult {
  iterations: number;
  /** Quotes per second. */
  raw: number;
  attest: number;
  /** The verification alone of an already parsed TDX quote (quote verifier, collateral verifier, PCK revocation, TCB), no policy or claims: for context. */
  verify: number;
  /** verify rate / raw rate, median of the rounds. */
  verifyRatio: number;
  /** `attestDcap` on the SGX vector, for context. */
  sgx: number;
  /** sgx raw (its two P-256 verifies). */
  sgxRaw: number;
  /** attest rate / raw rate (TDX): the median over rounds of the ratio within each round. */
  ratio: number;
  /** The same for SGX. */
  sgxRatio: number;
  goal: number;
}

interface Vector {
  bytes: Uint8Array;
  collateral: DcapCollateral;
  now: Date;
  policy: DcapValidateOptions;
}

function vector(
  dir: string,
  quote: string,
  files: string[],
  at: string,
  policy: DcapValidateOptions,
): Vector {
  const read = (f: string) => new Uint8Array(fs.readFileSync(path.join(VECTORS, dir, f)));
  return {
    bytes: read(quote),
    collateral: offlineCollateral(files.map((f) => ({ name: f, data: read(f) }))),
    now: new Date(at),
    policy,
  };
}

/** The two P-256 verifications of a quote, straight to WebCrypto, sequentially. */
async function rawOf(bytes: Uint8Array): Promise<() => Promise<void>> {
  const q = parseDcapQuote(bytes);
  const subtle = globalThis.crypto.subtle;
  const p256 = { name: "ECDSA", namedCurve: "P-256" } as const;
  const point = new Uint8Array(65);
  point[0] = 4;
  point.set(q.attestationKey, 1);
  const ak = await subtle.importKey("raw", point, p256, false, ["verify"]);
  const spki = new X509Certificate(q.pckChain[0]!).publicKey.export({
    type: "spki",
    format: "der",
  });
  const pck = await subtle.importKey("spki", spki, p256, false, ["verify"]);
  const alg = { name: "ECDSA", hash: "SHA-256" } as const;
  const sig1 = new Uint8Array(q.quoteSignature);
  const data1 = new Uint8Array(q.signedBytes);
  const sig2 = new Uint8Array(q.qeReportSignature);
  const data2 = new Uint8Array(q.qeReportRaw);
  return async () => {
    if (!(await subtle.verify(alg, ak, sig1, data1))) throw new Error("raw quote verify failed");
    if (!(await subtle.verify(alg, pck, sig2, data2)))
      throw new Error("raw QE report verify failed");
  };
}

/** Run the benchmark; resolve to the rates. */
export async function benchDcap(
  iterations = 2000,
  warmup = 200,
  rounds = 20,
): Promise<DcapBenchResult> {
  const tdx = vector(
    "tdx/automata-v5-90c06f000000-alibaba",
    "alibaba_quote_5.dat",
    [
      "tcbinfov3_90C06F000000.json",
      "qe_td.json",
      "derived/tcb_signing_chain.pem",
      "derived/platform_crl.der",
      "derived/root_ca_crl.der",
    ],
    "2025-06-15T00:00:00Z",
    {},
  );
  const sgx = vector(
    "sgx/phala-v3-00a067110000",
    "sgx_quote",
    ["sgx_quote_collateral.json"],
    "2025-07-01T00:00:00Z",
    { allowedTcbStatuses: ["ConfigurationAndSWHardeningNeeded"] },
  );
  const verifier = createDcapVerifier();
  const whole = (v: Vector) => async () => {
    const r = await attestDcap(v.bytes, {
      now: v.now,
      collateral: v.collateral,
      policy: v.policy,
      verifier,
    });
    if (!r.ok || r.warnings.length)
      throw new Error(
        `attestDcap rejected the vector: ${JSON.stringify(r.checks.filter((c) => !c.ok))}`,
      );
  };

  // The verification steps attestDcap runs, on a quote parsed once.
  const parsed = parseDcapQuote(tdx.bytes);
  const [leaf, ca] = parsed.pckChain as [Uint8Array, Uint8Array];
  const verifyOnly = async () => {
    const [q, c] = await Promise.all([
      verifier.quote.verify(parsed, { now: tdx.now, checkRevocation: false }),
      verifier.collateral.verify(tdx.collateral, {
        now: tdx.now,
        pckCa: ca,
        pckCaKind: "platform",
      }),
    ]);
    const revocation = verifier.collateral.pckRevocationChecks(c, { pck: leaf, pckCa: ca });
    const t = evaluateTcb({
      tee: "tdx",
      tcbInfo: c.tcbInfo!,
      qeIdentity: c.qeIdentity!,
      pck: q.pck!,
      qeReport: parsed.qeReport,
      td: parsed.body.tee === "tdx" ? parsed.body.report : null,
    });
    if (!q.ok || !c.ok || !t.ok || revocation.some((x) => !x.ok))
      throw new Error("verification failed");
  };

  const loops = {
    raw: await rawOf(tdx.bytes),
    attest: whole(tdx),
    verify: verifyOnly,
    sgxRaw: await rawOf(sgx.bytes),
    sgx: whole(sgx),
  } as const;
  type Name = keyof typeof loops;
  const names = Object.keys(loops) as Name[];
  for (const n of names) for (let i = 0; i < warmup; i++) await loops[n]();

  const spent: Record<Name, number> = { raw: 0, attest: 0, verify: 0, sgxRaw: 0, sgx: 0 };
  const ratios: number[] = [];
  const verifyRatios: number[] = [];
  const sgxRatios: number[] = [];
  const per = Math.max(1, Math.floor(iterations / rounds));
  const total = per * rounds;
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    const round: Record<Name, number> = { raw: 0, attest: 0, verify: 0, sgxRaw: 0, sgx: 0 };
    for (const n of order) {
      const f = loops[n];
      const t0 = performance.now();
      for (let i = 0; i < per; i++) await f();
      round[n] = performance.now() - t0;
      spent[n] += round[n];
    }
    ratios.push(round.raw / round.attest);
    verifyRatios.push(round.raw / round.verify);
    sgxRatios.push(round.sgxRaw / round.sgx);
  }
  const rate = (n: Name) => total / (spent[n] / 1000);
  return {
    iterations: total,
    raw: rate("raw"),
    attest: rate("attest"),
    verify: rate("verify"),
    verifyRatio: median(verifyRatios),
    sgx: rate("sgx"),
    sgxRaw: rate("sgxRaw"),
    ratio: median(ratios),
    sgxRatio: median(sgxRatios),
    goal: 0.8,
  };
}

/** The result as a Markdown section for docs/BENCHMARKS.md. */
export function dcapSection(r: DcapBenchResult): string {
  const f = (x: number) => `${Math.round(x).toLocaleString("en")}/s`;
  return [
    "## Intel DCAP verification (quotes per second, one at a time, warm collateral)",
    "",
    `${r.iterations.toLocaleString("en")} iterations each after warm-up, in interleaved rounds, one process (\`bench/dcap.ts\`). \`attestDcap\` runs parse → collateral → verify → TCB → validate → claims with a reused \`createDcapVerifier()\` and the same collateral object (TCB Info, QE Identity, both CRLs) every call. "Raw" is the quote's two ECDSA P-256/SHA-256 verifications (quote signature, QE report signature) as two sequential \`crypto.subtle.verify\` calls with the same keys and data. Rates are totals; the ratio is the median of the per-round ratios.`,
    "",
    "| what | rate | / raw (two P-256 verifies) |",
    "| --- | --- | --- |",
    `| raw, TDX quote v5 (alibaba, TD 1.5) | ${f(r.raw)} | 1.000× |`,
    `| \`attestDcap\`, TDX quote v5, warm | ${f(r.attest)} | ${r.ratio.toFixed(3)}× (goal ≥ ${r.goal.toFixed(2)}×: ${r.ratio >= r.goal ? "met" : "**missed**"}) |`,
    `| verification alone of the parsed TDX quote (quote verifier, collateral, PCK revocation, TCB; no parse, policy or claims) | ${f(r.verify)} | ${r.verifyRatio.toFixed(3)}× |`,
    `| raw, SGX quote v3 (phala) | ${f(r.sgxRaw)} | 1.000× |`,
    `| \`attestDcap\`, SGX quote v3, warm | ${f(r.sgx)} | ${r.sgxRatio.toFixed(3)}× |`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const r = await benchDcap(
    intOption(argv, "--iterations", 2000, "bench/dcap"),
    intOption(argv, "--warmup", 200, "bench/dcap"),
    intOption(argv, "--rounds", 20, "bench/dcap"),
  );
  if (argv.includes("--json")) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(dcapSection(r));
    process.stdout.write(
      `\nattestDcap rate ${Math.round(r.attest)}/s vs raw ${Math.round(r.raw)}/s: ${r.ratio.toFixed(3)}× (goal ≥ ${r.goal}×)\n`,
    );
  }
}
