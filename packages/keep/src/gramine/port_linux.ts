/**
 * The real Gramine attestation port: node:fs on `/dev/attestation` inside a
 * Gramine-SGX enclave. It only moves bytes; what Gramine does with them (the
 * report, the quote from the Quoting Enclave) is exercised against
 * `@donjon/testkit` `fakeGramine`.
 */
import { readWholeFile, writeOnce } from "../_io.ts";
import type { GraminePort } from "./port.ts";

// Not `import … from "node:fs"`: see platform_node.ts (startup cost of the ESM namespace).
const fs = process.getBuiltinModule("node:fs");

/** The Gramine attestation port over node:fs. */
export function linuxGraminePort(): GraminePort {
  return {
    readFile: readWholeFile,
    // One open, one write: Gramine takes user_report_data in a single write().
    writeFile: writeOnce,
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
