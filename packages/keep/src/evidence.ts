/**
 * The evidence source of each Keep backend: given the Keep's report_data
 * (and, for sandbox, the workload identity), the evidence its platform
 * produces and the certificates that travel with it. The Keep process
 * (`keep_main.ts`) builds them over the real ports; the contract suite
 * (`keep.contract.test.ts`) builds the same ones over the testkit fakes.
 */
// The hardware backends' modules are loaded by their sources when they
// collect: a sandbox Keep, the common case, never evaluates them.
import type { EvidenceSource } from "./agent.ts";
import type { GraminePort } from "./gramine/port.ts";
import { createSandboxEvidence, type SandboxSigner } from "./sandbox_evidence.ts";
import type { TsmPort } from "./tsm/port.ts";

/** Software evidence signed by the host's sandbox key; `now` stamps `issued_at`. */
export function sandboxEvidenceSource(o: {
  signer: SandboxSigner;
  runtimeMeasurement: Uint8Array;
  now: () => Date;
}): EvidenceSource {
  return {
    tee: "sandbox",
    collect: async ({ reportData, workloadIdentity }) => ({
      evidence: await createSandboxEvidence({
        signer: o.signer,
        runtimeMeasurement: o.runtimeMeasurement,
        workloadIdentity,
        reportData,
        issuedAt: o.now(),
      }),
      certs: [],
    }),
  };
}

/**
 * configfs-tsm: an SNP report with the VCEK (or VLEK), ASK and ARK from the
 * auxblob's certificate table, or a TDX quote.
 */
export function tsmEvidenceSource(port: TsmPort, tee: "snp" | "tdx"): EvidenceSource {
  return {
    tee,
    collect: async ({ reportData }) => {
      const { getTsmReport } = await import("./tsm/report.ts");
      const r = await getTsmReport(port, { inblob: reportData, getAuxblob: tee === "snp" });
      const certs: Uint8Array[] = [];
      if (tee === "snp" && r.auxblob && r.auxblob.length > 0) {
        // The full attest index (X.509 code) is loaded only on this path.
        const { parseSnpCertTable } = await import("@donjon/attest");
        const t = parseSnpCertTable(r.auxblob);
        for (const c of [t.vcek ?? t.vlek, t.ask, t.ark]) if (c) certs.push(c);
      }
      return { evidence: r.outblob, certs };
    },
  };
}

/** Gramine-SGX: a DCAP quote from /dev/attestation. */
export function gramineEvidenceSource(port: GraminePort): EvidenceSource {
  return {
    tee: "sgx",
    collect: async ({ reportData }) => {
      const { getGramineQuote } = await import("./gramine/quote.ts");
      return { evidence: (await getGramineQuote(port, { reportData })).quote, certs: [] };
    },
  };
}
