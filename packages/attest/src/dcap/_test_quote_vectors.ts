/**
 * Test helper (not library code): the real DCAP quotes of
 * ../shared/vectors/sgx and tdx, with their documented verification time and
 * CRLs (README.md, index.json), and the fields the vectors' generated
 * appendix (README.md "Appendix: decoded fields per vector", written by
 * tools/vectors/summarize.py from LAYOUTS.md) gives for each.
 */
import * as fs from "node:fs";
import * as path from "node:path";

export const VECTORS = path.resolve(import.meta.dirname, "../../../../../shared/vectors");

export function readVector(p: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(fs.readFileSync(path.join(VECTORS, p)));
}

/** One real quote and what its provenance says about it. */
export interface QuoteVector {
  /** The vector's id in README.md / index.json. */
  id: string;
  /** The quote file, relative to the vectors folder. */
  file: string;
  /** index.json "attime": inside the window where every certificate and CRL is valid. */
  at: string;
  /** The CRLs that come with the vector (DER files), when it has them. */
  crls?: { rootCa: string; pck: string };
  /** Bytes after the signature data (LAYOUTS.md §2.7). */
  trailing: number;
  /** The PCK CA that issued the PCK certificate (README "PCK CA type"). */
  ca: "processor" | "platform";
  /** README appendix section to read the decoded fields from (default: `id`). */
  appendix?: string;
}

export const QUOTE_VECTORS: QuoteVector[] = [
  {
    id: "sgx/phala-v3-00a067110000",
    file: "sgx/phala-v3-00a067110000/sgx_quote",
    at: "2025-07-01T00:00:00Z",
    crls: {
      rootCa: "sgx/phala-v3-00a067110000/derived/root_ca_crl.der",
      pck: "sgx/phala-v3-00a067110000/derived/pck_crl.der",
    },
    trailing: 0,
    ca: "processor",
  },
  {
    id: "sgx/oasis-v3-00606a000000",
    file: "sgx/oasis-v3-00606a000000/quote_v3_ecdsa_p256_pck_chain.bin",
    at: "2022-12-20T00:50:04Z",
    trailing: 0,
    ca: "platform",
  },
  {
    id: "sgx/dcaprs-v3-00606a000000",
    file: "sgx/dcaprs-v3-00606a000000/derived/quote.bin",
    at: "2025-02-13T04:00:32Z",
    crls: {
      rootCa: "sgx/dcaprs-v3-00606a000000/intel_root_ca_crl.der",
      pck: "sgx/dcaprs-v3-00606a000000/pck_platform_crl.der",
    },
    trailing: 0,
    ca: "platform",
  },
  {
    id: "sgx/automata-v3-00606a000000",
    file: "sgx/automata-v3-00606a000000/derived/quote.bin",
    at: "2025-08-15T05:45:00Z",
    crls: {
      rootCa: "sgx/automata-v3-00606a000000/derived/root_ca_crl.der",
      pck: "sgx/automata-v3-00606a000000/platform_crl.der",
    },
    trailing: 0,
    ca: "platform",
  },
  {
    id: "tdx/phala-v4-b0c06f000000",
    file: "tdx/phala-v4-b0c06f000000/tdx_quote",
    at: "2025-07-01T00:00:00Z",
    crls: {
      rootCa: "tdx/phala-v4-b0c06f000000/derived/root_ca_crl.der",
      pck: "tdx/phala-v4-b0c06f000000/derived/pck_crl.der",
    },
    trailing: 70,
    ca: "platform",
  },
  {
    id: "tdx/phala-v5-90c06f000000-tcb-not-supported",
    file: "tdx/phala-v5-90c06f000000-tcb-not-supported/tdx_quote_outdated",
    at: "2026-03-01T00:00:00Z",
    crls: {
      rootCa: "tdx/phala-v5-90c06f000000-tcb-not-supported/derived/root_ca_crl.der",
      pck: "tdx/phala-v5-90c06f000000-tcb-not-supported/derived/pck_crl.der",
    },
    trailing: 0,
    ca: "platform",
  },
  {
    id: "tdx/gtg-v4-50806f000000-spr-e4",
    file: "tdx/gtg-v4-50806f000000-spr-e4/tdx_prod_quote_SPR_E4.dat",
    at: "2023-07-01T01:00:00Z",
    crls: {
      rootCa: "tdx/gtg-v4-50806f000000-spr-e4/rootcrl.der",
      pck: "tdx/gtg-v4-50806f000000-spr-e4/pckcrl",
    },
    trailing: 39,
    ca: "platform",
  },
  {
    id: "tdx/oasis-v4-c0806f000000",
    file: "tdx/oasis-v4-c0806f000000/quote_v4_tdx_ecdsa_p256.bin",
    at: "2024-09-02T07:43:52Z",
    trailing: 0,
    ca: "platform",
  },
  {
    // A different quote from the same platform and TD image (README); its PCK
    // was issued 2024-09-20, so index.json verifies it at 2024-09-25.
    id: "tdx/oasis-v4-c0806f000000#trailing",
    file: "tdx/oasis-v4-c0806f000000/quote_v4_tdx_ecdsa_p256_trailing.bin",
    at: "2024-09-25T00:00:00Z",
    trailing: 70,
    ca: "platform",
    appendix: "tdx/oasis-v4-c0806f000000",
  },
  {
    id: "tdx/dcaprs-v4-00806f050000",
    file: "tdx/dcaprs-v4-00806f050000/quote_tdx_00806f050000.dat",
    at: "2025-02-13T04:00:32Z",
    crls: {
      rootCa: "tdx/dcaprs-v4-00806f050000/intel_root_ca_crl.der",
      pck: "tdx/dcaprs-v4-00806f050000/pck_platform_crl.der",
    },
    trailing: 3065,
    ca: "platform",
  },
  {
    id: "tdx/automata-v5-90c06f000000-alibaba",
    file: "tdx/automata-v5-90c06f000000-alibaba/alibaba_quote_5.dat",
    at: "2025-06-15T00:00:00Z",
    crls: {
      rootCa: "tdx/automata-v5-90c06f000000-alibaba/derived/root_ca_crl.der",
      pck: "tdx/automata-v5-90c06f000000-alibaba/derived/platform_crl.der",
    },
    trailing: 0,
    ca: "platform",
  },
];

export function quoteVector(id: string): QuoteVector {
  const v = QUOTE_VECTORS.find((x) => x.id === id);
  if (!v) throw new Error(`no vector ${id}`);
  return v;
}

/** The decoded fields of one vector, as README.md's generated appendix states them. */
export interface Appendix {
  version: number;
  teeType: number;
  body: "sgx" | "td10" | "td15";
  trailing: number;
  /** Lower-case hex fields by the appendix's names (mrenclave, mrtd, rtmr0, report_data, …). */
  hex: Record<string, string>;
  pck: { fmspc: string; pceid: string; pcesvn: number; tcb: number[]; sgxType: number };
  qe: { isvsvn: number; mrsigner: string };
}

/** Parse README.md's appendix section `### <id>`. */
export function appendix(id: string): Appendix {
  const readme = fs.readFileSync(path.join(VECTORS, "README.md"), "utf8");
  const start = readme.indexOf(`\n### ${id}\n\n- quote v`);
  if (start < 0) throw new Error(`no appendix for ${id}`);
  const end = readme.indexOf("\n### ", start + 5);
  const lines = readme.slice(start, end < 0 ? undefined : end).split("\n");
  const head = lines.find((l) => l.startsWith("- quote v"))!;
  const m =
    /^- quote v(\d), tee_type 0x([0-9a-f]+), body (SGX enclave report|TD10|TD15)[^,]*, cert data type 5 \(outer [-6]\), trailing bytes (\d+)$/.exec(
      head,
    );
  if (!m) throw new Error(`unexpected appendix line: ${head}`);
  const hex: Record<string, string> = {};
  for (const l of lines) {
    const h = /^- ([a-z_0-9]+) `([0-9a-f]+)`$/.exec(l);
    if (h) hex[h[1]!] = h[2]!;
  }
  const p =
    /^- PCK: fmspc ([0-9a-f]{12}), pceid ([0-9a-f]{4}), pcesvn (\d+), tcb comps \[([\d, ]+)\], sgx_type (\d)$/.exec(
      lines.find((l) => l.startsWith("- PCK:"))!,
    );
  const q = /^- QE report: isvsvn (\d+), mrsigner `([0-9a-f]{64})`$/.exec(
    lines.find((l) => l.startsWith("- QE report:"))!,
  );
  if (!p || !q) throw new Error(`unexpected PCK/QE lines for ${id}`);
  return {
    version: Number(m[1]),
    teeType: Number.parseInt(m[2]!, 16),
    body: m[3] === "TD10" ? "td10" : m[3] === "TD15" ? "td15" : "sgx",
    trailing: Number(m[4]),
    hex,
    pck: {
      fmspc: p[1]!,
      pceid: p[2]!,
      pcesvn: Number(p[3]),
      tcb: p[4]!.split(", ").map(Number),
      sgxType: Number(p[5]),
    },
    qe: { isvsvn: Number(q[1]), mrsigner: q[2]! },
  };
}
