/**
 * SEV-SNP verification throughput: reports verified per second by a warm
 * `createSnpVerifier()` (its chain cache filled by a first call, reused) against
 * raw P-384 `crypto.subtle.verify` of the same signed region and signature
 * with the same key, in the same process and run. Goal: ≥ 0.9× the raw rate.
 * Also, for context, the whole `attestSnp` (parse → verify → validate →
 * claims) with the same warm verifier.
 *
 *   node bench/attest.ts [--iterations N] [--warmup N] [--rounds N] [--json]
 *
 * The vector is ../shared/vectors/snp/milan-v2-virtee (VCEK, Milan), at a
 * pinned time. Both loops await one verification at a time (as a Steward
 * handles one request's evidence); iterations are split into rounds that
 * alternate the order of the two loops, so a drift in machine load hits both.
 */
import { X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { attestSnp, createSnpVerifier, parseSnpReport } from "@donjon/attest";
import { intOption, median } from "./_stats.ts";

const ROOT = path.resolve(import.meta.dirname, "..");
const VECTORS = path.resolve(ROOT, "../shared/vectors/snp/milan-v2-virtee");
const NOW = new Date("2026-11-27T00:00:00Z");

export interface AttestBenchResult {
  iterations: number;
  /** Reports per second. */
  raw: number;
  verifier: number;
  attest: number;
  /**
   * verifier rate / raw rate: the median over rounds of the ratio within each
   * round (both loops ran back to back), which load drifting during the run
   * does not skew as it skews the totals.
   */
  ratio: number;
  goal: number;
}

/** Run the benchmark; resolve to the rates. */
export async function benchAttest(
  iterations = 2000,
  warmup = 200,
  rounds = 20,
): Promise<AttestBenchResult> {
  const bytes = new Uint8Array(fs.readFileSync(path.join(VECTORS, "derived/report.bin")));
  const vcek = new Uint8Array(fs.readFileSync(path.join(VECTORS, "vcek_milan.der")));
  const report = parseSnpReport(bytes, { product: "Milan" });

  // Raw: the same key, data and signature, straight to WebCrypto.
  const spki = new X509Certificate(vcek).publicKey.export({ type: "spki", format: "der" });
  const key = await globalThis.crypto.subtle.importKey(
    "spki",
    spki,
    { name: "ECDSA", namedCurve: "P-384" },
    false,
    ["verify"],
  );
  const sig = new Uint8Array(96);
  sig.set(report.signature.r, 48 - report.signature.r.length);
  sig.set(report.signature.s, 96 - report.signature.s.length);
  const data = new Uint8Array(report.signedRegion);
  const alg = { name: "ECDSA", hash: "SHA-384" } as const;
  const raw = async () => {
    if (!(await globalThis.crypto.subtle.verify(alg, key, sig, data)))
      throw new Error("raw verify failed");
  };

  const verifier = createSnpVerifier();
  const options = { now: NOW, endorsementKey: vcek };
  const warm = async () => {
    const r = await verifier.verify(report, options);
    if (!r.ok) throw new Error(`verifier rejected the vector: ${JSON.stringify(r.checks)}`);
  };
  const whole = async () => {
    const v = await attestSnp(bytes, { ...options, verifier });
    if (!v.ok) throw new Error("attestSnp rejected the vector");
  };

  const loops = { raw, verifier: warm, attest: whole } as const;
  type Name = keyof typeof loops;
  const names = Object.keys(loops) as Name[];
  for (const n of names) for (let i = 0; i < warmup; i++) await loops[n]();

  const spent: Record<Name, number> = { raw: 0, verifier: 0, attest: 0 };
  const ratios: number[] = [];
  const per = Math.max(1, Math.floor(iterations / rounds));
  const total = per * rounds;
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? names : [...names].reverse();
    const round: Record<Name, number> = { raw: 0, verifier: 0, attest: 0 };
    for (const n of order) {
      const f = loops[n];
      const t0 = performance.now();
      for (let i = 0; i < per; i++) await f();
      round[n] = performance.now() - t0;
      spent[n] += round[n];
    }
    ratios.push(round.raw / round.verifier);
  }
  const rate = (n: Name) => total / (spent[n] / 1000);
  return {
    iterations: total,
    raw: rate("raw"),
    verifier: rate("verifier"),
    attest: rate("attest"),
    ratio: median(ratios),
    goal: 0.9,
  };
}

/** The result as a Markdown section for docs/BENCHMARKS.md. */
export function attestSection(r: AttestBenchResult): string {
  const f = (x: number) => `${Math.round(x).toLocaleString("en")}/s`;
  return [
    "## SEV-SNP verification (reports per second, one at a time)",
    "",
    `milan-v2-virtee (VCEK, Milan), ${r.iterations.toLocaleString("en")} iterations each after warm-up, in interleaved rounds, one process (\`bench/attest.ts\`). Rates are totals; the ratio is the median of the per-round ratios.`,
    "",
    "| what | rate | / raw P-384 |",
    "| --- | --- | --- |",
    `| raw \`crypto.subtle.verify\` (ECDSA P-384/SHA-384, the same key, region and signature) | ${f(r.raw)} | 1.000× |`,
    `| \`createSnpVerifier().verify\`, warm chain cache | ${f(r.verifier)} | ${r.ratio.toFixed(3)}× (goal ≥ ${r.goal.toFixed(2)}×: ${r.ratio >= r.goal ? "met" : "**missed**"}) |`,
    `| \`attestSnp\` (parse, verify, validate, claims), same warm verifier | ${f(r.attest)} | ${(r.attest / r.raw).toFixed(3)}× |`,
    "",
  ].join("\n");
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  const r = await benchAttest(
    intOption(argv, "--iterations", 2000, "bench/attest"),
    intOption(argv, "--warmup", 200, "bench/attest"),
    intOption(argv, "--rounds", 20, "bench/attest"),
  );
  if (argv.includes("--json")) process.stdout.write(`${JSON.stringify(r)}\n`);
  else {
    process.stdout.write(attestSection(r));
    process.stdout.write(
      `\nverify rate ${Math.round(r.verifier)}/s vs raw ${Math.round(r.raw)}/s: ${r.ratio.toFixed(3)}× (goal ≥ ${r.goal}×)\n`,
    );
  }
}
