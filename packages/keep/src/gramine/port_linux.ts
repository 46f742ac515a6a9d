/**
 * The real Gramine attestation port: node:fs on `/dev/attestation` inside a
 * Gramine-SGX enclave. It only moves bytes; what Gramine does with them (the
 * report, the quote from the Quoting Enclave) is exercised against
 * `@donjon/testkit` `fakeGramine`.
 */
import type { GraminePort } from "./port.ts";

// Not `import … from "node:fs"`: see platform_node.ts (startup cost of the ESM namespace).
const fs = process.getBuiltinModule("node:fs");

/** The Gramine attestation port over node:fs. */
export function linuxGraminePort(): GraminePort {
  return {
    async readFile(p) {
      const data = await fs.promises.readFile(p);
      return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    },
    async writeFile(p, data) {
      // One open, one write: Gramine takes user_report_data in a single write().
      const handle = await fs.promises.open(p, "w");
      try {
        const { bytesWritten } = await handle.write(data, 0, data.length, null);
        if (bytesWritten !== data.length) {
          throw new Error(`short write to ${p}: ${bytesWritten} of ${data.length} bytes`);
        }
      } finally {
        await handle.close();
      }
    },
    async exists(p) {
      try {
        await fs.promises.access(p);
        return true;
      } catch (e) {
        if ((e as { code?: unknown }).code === "ENOENT") return false;
        throw e;
      }
    },
  };
}
