/**
 * The one table of Keep backends (DESIGN.md, "The Keep"). `donjon run`
 * accepts any name listed here; an entry without `available` is an explicit
 * stub that says why it cannot run, never a scattered platform check.
 */

export interface Backend {
  name: string;
  /** One line for `--help`. */
  summary: string;
  /** True when `donjon run` can use this backend now. */
  available: boolean;
}

export const BACKENDS: readonly Backend[] = [
  { name: "nil", summary: "in-process, no isolation, no evidence (debugging)", available: true },
  {
    name: "sandbox",
    summary: "separate locked-down Node process, software evidence",
    available: false,
  },
  { name: "snp", summary: "AMD SEV-SNP confidential VM", available: false },
  { name: "tdx", summary: "Intel TDX confidential VM", available: false },
  { name: "sgx", summary: "Intel SGX enclave under Gramine", available: false },
];

/** The backend used when none is named. `sandbox` takes over once it exists. */
export const DEFAULT_BACKEND = "nil";
