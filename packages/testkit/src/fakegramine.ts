/**
 * A fake Gramine `/dev/attestation` pseudo-filesystem in memory, with the
 * three methods of `@donjon/keep`'s `GraminePort` (typed here structurally:
 * the testkit does not import keep). Its `quote` is a real-format SGX DCAP
 * quote v3 from `fakeIntel`, REPORT_DATA = the last `user_report_data`,
 * signed by the fake Intel hierarchy's QE.
 *
 * Gramine behaviour imitated (Documentation/attestation.rst): `attestation_type`
 * reads `dcap` (or what the manifest chose); `user_report_data` takes exactly
 * 64 bytes and starts as zeros; each read of `quote` makes a fresh quote over
 * the current `user_report_data`. Options simulate what a misconfigured
 * manifest, the host or another thread of the enclave can do to a caller.
 *
 * Pure: no `node:*` imports.
 */
import {
  type FakeIntel,
  type FakeIntelOptions,
  type FakeSgxQuoteFields,
  fakeIntel,
} from "./intel.ts";

/** A file of the fake `/dev/attestation`. */
export type FakeGramineFile = "attestation_type" | "user_report_data" | "quote";

/** Options of `fakeGramine`. Every field is optional. */
export interface FakeGramineOptions {
  /** The attestation directory. Default `/dev/attestation`. */
  dir?: string;
  /** No attestation directory at all (not running under Gramine). Default false. */
  absent?: boolean;
  /** What `attestation_type` reads (Gramine appends nothing). Default `dcap`; `null`: the file is missing. */
  attestationType?: string | null;
  /** Options of the `fakeIntel` behind each quote. */
  intel?: FakeIntelOptions;
  /** Enclave fields of each quote (MRENCLAVE, MRSIGNER, debug…); REPORT_DATA is always `user_report_data`. */
  sgx?: Omit<FakeSgxQuoteFields, "reportData">;
  /**
   * Another thread of the enclave: after the caller's `afterWrites`-th write
   * (default 1) to `user_report_data`, it writes its own (default 64 × 0xEE).
   */
  concurrentWriter?: { afterWrites?: number; reportData?: Uint8Array };
  /** Make operations fail with an errno-style `code` (e.g. `EIO`). */
  fail?: {
    exists?: string;
    read?: Partial<Record<FakeGramineFile, string>>;
    write?: Partial<Record<FakeGramineFile, string>>;
  };
  /** Alter what a read returns: the real bytes in, the served bytes out (oversized, truncated, garbage). */
  tamper?: Partial<Record<"quote" | "attestation_type", (real: Uint8Array) => Uint8Array>>;
}

/** The fake: the port's three methods plus what a test wants to look at. */
export interface FakeGramine {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, data: Uint8Array): Promise<void>;
  exists(path: string): Promise<boolean>;
  /** Every value written to `user_report_data`, by anyone, in order. */
  readonly writes: Uint8Array[];
  /** The `fakeIntel` behind the last quote (its root to pin, `now`); null before. */
  readonly lastIntel: FakeIntel | null;
}

/** An Error with an errno-style code, as node:fs rejects. */
function osError(code: string, message: string): Error {
  return Object.assign(new Error(`${code}: ${message}`), { code });
}

/** Build a fake Gramine attestation pseudo-filesystem. */
export function fakeGramine(options: FakeGramineOptions = {}): FakeGramine {
  const dir = options.dir ?? "/dev/attestation";
  const type = options.attestationType === undefined ? "dcap" : options.attestationType;
  let userReportData = new Uint8Array(64);
  let callerWrites = 0;
  const writes: Uint8Array[] = [];
  let lastIntel: FakeIntel | null = null;

  const fileOf = (path: string): FakeGramineFile => {
    if (options.absent || !path.startsWith(`${dir}/`)) throw osError("ENOENT", path);
    const name = path.slice(dir.length + 1);
    if (name === "attestation_type" && type === null) throw osError("ENOENT", path);
    if (name !== "attestation_type" && name !== "user_report_data" && name !== "quote")
      throw osError("ENOENT", path);
    return name;
  };

  const served = (name: FakeGramineFile, real: Uint8Array): Uint8Array => {
    const f = options.tamper?.[name as "quote"];
    return f ? f(real) : real;
  };

  return {
    async exists(path) {
      if (options.fail?.exists) throw osError(options.fail.exists, `stat ${path}`);
      if (options.absent) return false;
      if (path === dir) return true;
      try {
        fileOf(path);
        return true;
      } catch {
        return false;
      }
    },

    async readFile(path) {
      const name = fileOf(path);
      const code = options.fail?.read?.[name];
      if (code) throw osError(code, `read ${path}`);
      switch (name) {
        case "attestation_type":
          return served(name, new TextEncoder().encode(type!));
        case "user_report_data":
          return userReportData.slice();
        case "quote": {
          lastIntel = await fakeIntel(options.intel);
          const quote = await lastIntel.sgxQuote({ ...options.sgx, reportData: userReportData });
          return served(name, quote);
        }
      }
    },

    async writeFile(path, data) {
      const name = fileOf(path);
      const code = options.fail?.write?.[name];
      if (code) throw osError(code, `write ${path}`);
      if (name !== "user_report_data") throw osError("EACCES", path);
      if (data.length !== 64)
        throw osError("EINVAL", `user_report_data: ${data.length} bytes, expected 64`);
      userReportData = data.slice();
      writes.push(userReportData);
      callerWrites++;
      const other = options.concurrentWriter;
      if (other && callerWrites === (other.afterWrites ?? 1)) {
        userReportData = (other.reportData ?? new Uint8Array(64).fill(0xee)).slice();
        writes.push(userReportData);
      }
    },

    writes,
    get lastIntel() {
      return lastIntel;
    },
  };
}
