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
  const sources = await import("./evidence.ts");
  switch (backend) {
    case "sandbox": {
      const stateDir = arg("--state-dir");
      if (stateDir === null)
        throw new KeepError("keep.process", "sandbox Keep: --state-dir is missing");
      const [{ loadOrCreateSandboxKey }, { runtimeMeasurement }] = await Promise.all([
        import("./sandbox_key.ts"),
        import("./measure.ts"),
      ]);
      return sources.sandboxEvidenceSource({
        signer: await loadOrCreateSandboxKey({ stateDir, create: false }),
        runtimeMeasurement: runtimeMeasurement(ROOT, process.version),
        now: () => new Date(),
      });
    }
    case "snp":
    case "tdx": {
      const { linuxTsmPort } = await import("./tsm/port_linux.ts");
      return sources.tsmEvidenceSource(linuxTsmPort(), backend);
    }
    case "sgx": {
      const { linuxGraminePort } = await import("./gramine/port_linux.ts");
      return sources.gramineEvidenceSource(linuxGraminePort());
    }
    default:
      throw new KeepError(
        "keep.backend.unknown",
        `Keep: unknown backend ${JSON.stringify(backend)}`,
      );
  }
}

const socket = new net.Socket({ fd: 3, readable: true, writable: true });
const report = await runAgent(
  {
    write: (b) => socket.write(b),
    onDrain: (l) => socket.on("drain", l),
    onData: (l) => socket.on("data", l),
    onEnd: (l) => {
      socket.on("end", l);
      socket.on("error", l);
    },
    end: () => socket.end(),
  },
  // Not awaited here: set up while the agent starts the worker and says HELLO.
  { backend, evidence: evidenceSource(), wrapEvidence: encodeKeepEvidence },
);
process.exitCode = report === null ? 1 : 0;
