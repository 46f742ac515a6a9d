/**
 * The real SEV-SNP reports of ../shared/vectors/snp with the values their
 * provenance notes give (../shared/vectors/README.md). Shared by the abi and
 * validate tests; its own test keeps the table in step with index.json.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { it } from "node:test";
import type { SnpProduct, SnpSigningKey } from "./types.ts";

export const VECTORS_DIR = path.resolve(import.meta.dirname, "../../../../../shared/vectors");

/** One real report and what its provenance says about it. */
export interface SnpVector {
  /** Path under ../shared/vectors. */
  file: string;
  version: number;
  product: SnpProduct;
  /** The product hint a v2 report needs (from its VCEK's productName). */
  hint?: SnpProduct;
  cpuid: [number, number, number] | null;
  vmpl: number;
  signingKey: SnpSigningKey;
  policy: bigint;
  debug: boolean;
  /** reported_tcb [bootloader, tee, snp, microcode, fmc]. */
  tcb: [number, number, number, number, number | null];
  firmware: [number, number, number];
  /** Measurement hex prefix. */
  measurement: string;
  /** Report data hex prefix. */
  reportData: string;
  /** The VCEK/VLEK (DER or PEM) whose key signed the report, under ../shared/vectors. */
  signer: string;
}

export const SNP_VECTORS: readonly SnpVector[] = [
  {
    file: "snp/milan-v2-gsg/attestation.bin",
    version: 2,
    product: "Milan",
    hint: "Milan",
    cpuid: null,
    vmpl: 0,
    signingKey: "vcek",
    policy: 0xb0000n,
    debug: true,
    tcb: [2, 0, 5, 68, null],
    firmware: [1, 49, 3],
    measurement:
      "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01",
    reportData: `0102030405${"00".repeat(59)}`,
    signer: "snp/milan-v2-gsg/vcek.testcer",
  },
  {
    file: "snp/milan-v2-virtee/derived/report.bin",
    version: 2,
    product: "Milan",
    hint: "Milan",
    cpuid: null,
    vmpl: 0,
    signingKey: "vcek",
    policy: 0x30000n,
    debug: false,
    tcb: [3, 0, 8, 115, null],
    firmware: [1, 52, 4],
    measurement:
      "7a1e5c266c0108dbc9bb94fa926951320940915d0aafb42464bd88b579ea158d3e1a0dc39b2c60bd95b9c480cd81841f",
    reportData: "d447b55d197491bfe15c",
    signer: "snp/milan-v2-virtee/vcek_milan.der",
  },
  {
    file: "snp/milan-v2-steward-crl/derived/report.bin",
    version: 2,
    product: "Milan",
    hint: "Milan",
    cpuid: null,
    vmpl: 0,
    signingKey: "vcek",
    policy: 0x30133n,
    debug: false,
    tcb: [2, 0, 6, 93, null],
    firmware: [1, 51, 3],
    measurement:
      "ff717ae719840c93c1fca3b7db96488454c3c21b43531488eecff51cfed3febcd91da8be87a4cbcbc52a3bae770987c3",
    reportData: "e74229bb545adffc0288",
    signer: "snp/milan-v2-steward-crl/derived/vcek.der",
  },
  {
    file: "snp/milan-v3-vlek-aws-trustee/test-vlek-report.bin",
    version: 3,
    product: "Milan",
    cpuid: [0x19, 0x01, 0x01],
    vmpl: 1,
    signingKey: "vlek",
    policy: 0x30000n,
    debug: false,
    tcb: [4, 0, 24, 217, null],
    firmware: [1, 55, 29],
    measurement:
      "8922ebbdd00ec2c541f36a6e7a82a8773a7accb451ed67bc94e740dbe92c93c4e8c9af857f5ceeb5a493df2a570d7bf0",
    reportData: "819770b7e6ea6df8dd8f",
    signer: "snp/milan-v3-vlek-aws-trustee/test-vlek.der",
  },
  {
    file: "snp/genoa-v3-azure-trustee/derived/report.bin",
    version: 3,
    product: "Genoa",
    cpuid: [0x19, 0x11, 0x01],
    vmpl: 0,
    signingKey: "vcek",
    policy: 0x3001fn,
    debug: false,
    tcb: [10, 0, 23, 84, null],
    firmware: [1, 55, 40],
    measurement:
      "f57dc09a507c6ecd82369bffb600f0003792f4d99bc26e985ec0c266fc34faf3706faf814c9e61065768a6ff917c89ae",
    reportData: "b581f12e29a2d7d64e5e",
    signer: "snp/genoa-v3-azure-trustee/vcek-genoa.pem",
  },
  {
    file: "snp/genoa-v3-siena-trustee-e2e/derived/report.bin",
    version: 3,
    product: "Genoa",
    cpuid: [0x19, 0xa0, 0x02],
    vmpl: 0,
    signingKey: "vcek",
    policy: 0x30000n,
    debug: false,
    tcb: [10, 0, 23, 25, null],
    firmware: [1, 55, 40],
    measurement:
      "6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e",
    reportData: "7e7320889600c7ac133a",
    signer: "snp/genoa-v3-siena-trustee-e2e/derived/vcek.der",
  },
  {
    file: "snp/milan-v5-gcp-teekit/sev-gcp.bin",
    version: 5,
    product: "Milan",
    cpuid: [0x19, 0x01, 0x01],
    vmpl: 0,
    signingKey: "vcek",
    policy: 0x30000n,
    debug: false,
    tcb: [4, 0, 27, 222, null],
    firmware: [1, 55, 35],
    measurement:
      "b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3",
    reportData: "00".repeat(64),
    signer: "snp/milan-v5-gcp-teekit/sev-gcp-vcek.pem",
  },
  {
    file: "snp/milan-v5-gcp-teekit/sev-gcp-reportdata.bin",
    version: 5,
    product: "Milan",
    cpuid: [0x19, 0x01, 0x01],
    vmpl: 1,
    signingKey: "vcek",
    policy: 0x30000n,
    debug: false,
    tcb: [4, 0, 27, 222, null],
    firmware: [1, 55, 35],
    measurement:
      "b747d55452e0b9e9079770a49e397c5e6d9573581e246da7baac4f28b5cdc5b1b6d19251b8ee600fd16a3708f58406f3",
    reportData: "32fc4f6c",
    signer: "snp/milan-v5-gcp-teekit/sev-gcp-vcek.pem",
  },
  {
    file: "snp/turin-v5-oak/derived/report.bin",
    version: 5,
    product: "Turin",
    cpuid: [0x1a, 0x02, 0x01],
    vmpl: 0,
    signingKey: "vcek",
    policy: 0x30000n,
    debug: false,
    tcb: [1, 0, 2, 71, 0],
    firmware: [1, 55, 61],
    measurement:
      "f924dd18f168df60fbea937f0b086284d51b1b376de872bac43694f61134d57967c318018de7335503023dbb50dee624",
    reportData: "e0fd0bdb6aa4030a6dde",
    signer: "snp/turin-v5-oak/derived/vcek.der",
  },
];

/** The bytes of a file under ../shared/vectors. */
export function readVector(file: string): Uint8Array {
  return new Uint8Array(fs.readFileSync(path.join(VECTORS_DIR, file)));
}

/** The vector whose file path contains `part` (exactly one). */
export function vector(part: string): SnpVector {
  const found = SNP_VECTORS.filter((v) => v.file.includes(part));
  assert.equal(found.length, 1, `one vector matching ${part}`);
  return found[0]!;
}

it("the vector table covers every untampered SNP report in index.json", () => {
  const index = JSON.parse(fs.readFileSync(path.join(VECTORS_DIR, "index.json"), "utf8")) as {
    id: string;
    tool: string;
    args: string[];
  }[];
  const reports = new Set(
    index
      .filter((e) => e.tool === "snp")
      .map((e) => e.args[0]!)
      .filter((f) => !f.includes("/tampered/")),
  );
  assert.deepEqual([...reports].sort(), SNP_VECTORS.map((v) => v.file).sort());
});
