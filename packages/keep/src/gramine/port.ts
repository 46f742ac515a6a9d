/**
 * The Gramine attestation port: the three filesystem operations evidence
 * collection under Gramine-SGX needs, and nothing else. `quote.ts` speaks only
 * to this port; the real implementation is `port_linux.ts` (node:fs on
 * Gramine's `/dev/attestation` pseudo-filesystem), the fake is
 * `@donjon/testkit` `fakeGramine` (serving fake-Intel-signed SGX quotes).
 *
 * Gramine's interface (Documentation/attestation.rst, "/dev/attestation"):
 * `attestation_type` reads `none`, `epid` or `dcap`; writing 64 bytes to
 * `user_report_data` sets the REPORT_DATA of the next report; reading `quote`
 * makes the Quoting Enclave produce a quote over a report with that data.
 *
 * Paths are absolute POSIX paths. Implementations reject with the OS error (or
 * an `Error` carrying an errno-style `code`); `quote.ts` wraps every failure in
 * a `KeepError` with the operation and the path.
 */
export interface GraminePort {
  /** The whole content of file `path`. */
  readFile(path: string): Promise<Uint8Array>;
  /** Write `data` to file `path` in one write (Gramine takes `user_report_data` in one write). */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Whether `path` exists (a failure to tell is a rejection, not `false`). */
  exists(path: string): Promise<boolean>;
}

/** Gramine's attestation pseudo-filesystem inside the enclave. */
export const GRAMINE_ATTESTATION_DIR = "/dev/attestation";
