/**
 * The Keep process: the sallyport channel on fd 3, the evidence source of
 * its backend, the agent. Started by the host (`host.ts`) under Node's
 * permission model and, where present, bubblewrap; it has no environment,
 * no stdio but the channel, and reads only its own code, the mapped
 * directories and — for `sandbox` — the host's sandbox key.
 *
 * Arguments: `--backend NAME` and, for sandbox, `--state-dir DIR`.
 */
import * as net from "node:net";
import * as path from "node:path";
import { encodeKeepEvidence } from "@donjon/attest/cmw";
import { type EvidenceSource, runAgent } from "./agent.ts";
import { KeepError } from "./error.ts";

const args = process.argv.slice(2);
const arg = (name: string): string | null => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1]! : null;
};
const backend = arg("--backend") ?? "";
const ROOT = path.resolve(import.meta.dirname, "../../..");

async function evidenceSource(): Promise<EvidenceSource> {
  switch (backend) {
    case "sandbox": {
      const stateDir = arg("--state-dir");
      if (stateDir === null)
        throw new KeepError("keep.process", "sandbox Keep: --state-dir is missing");
      const [{ loadOrCreateSandboxKey }, { createSandboxEvidence }, { runtimeMeasurement }] =
        await Promise.all([
          import("./sandbox_key.ts"),
          import("./sandbox_evidence.ts"),
          import("./measure.ts"),
        ]);
      const signer = await loadOrCreateSandboxKey({ stateDir, create: false });
      const measurement = runtimeMeasurement(ROOT, process.version);
      return {
        tee: "sandbox",
        collect: async ({ reportData, workloadIdentity }) => ({
          evidence: await createSandboxEvidence({
            signer,
            runtimeMeasurement: measurement,
            workloadIdentity,
            reportData,
            issuedAt: new Date(),
          }),
          certs: [],
        }),
      };
    }
    case "snp":
    case "tdx": {
      const [{ getTsmReport }, { linuxTsmPort }] = await Promise.all([
        import("./tsm/report.ts"),
        import("./tsm/port_linux.ts"),
      ]);
      const port = linuxTsmPort();
      return {
        tee: backend,
        collect: async ({ reportData }) => {
          const r = await getTsmReport(port, { inblob: reportData, getAuxblob: backend === "snp" });
          const certs: Uint8Array[] = [];
          if (backend === "snp" && r.auxblob && r.auxblob.length > 0) {
            const { parseSnpCertTable } = await import("@donjon/attest");
            const t = parseSnpCertTable(r.auxblob);
            for (const c of [t.vcek ?? t.vlek, t.ask, t.ark]) if (c) certs.push(c);
          }
          return { evidence: r.outblob, certs };
        },
      };
    }
    case "sgx": {
      const [{ getGramineQuote }, { linuxGraminePort }] = await Promise.all([
        import("./gramine/quote.ts"),
        import("./gramine/port_linux.ts"),
      ]);
      const port = linuxGraminePort();
      return {
        tee: "sgx",
        collect: async ({ reportData }) => ({
          evidence: (await getGramineQuote(port, { reportData })).quote,
          certs: [],
        }),
      };
    }
    default:
      throw new KeepError(
        "keep.backend.unknown",
        `Keep: unknown backend ${JSON.stringify(backend)}`,
      );
  }
}

const socket = new net.Socket({ fd: 3, readable: true, writable: true });
const evidence = await evidenceSource().catch((e: unknown) => e);
if (evidence instanceof Error) {
  // Said on the Keep's stderr, which the host shows: the channel has no frame for it before START.
  process.stderr.write(`donjon keep: ${evidence.message}\n`);
  socket.destroy();
  process.exitCode = 70;
} else {
  const report = await runAgent(
    {
      write: (b) => socket.write(b),
      onData: (l) => socket.on("data", l),
      onEnd: (l) => {
        socket.on("end", l);
        socket.on("error", l);
      },
      end: () => socket.end(),
    },
    { backend, evidence: evidence as EvidenceSource, wrapEvidence: encodeKeepEvidence },
  );
  process.exitCode = report === null ? 1 : 0;
}
