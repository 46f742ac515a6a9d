/**
 * The Steward's attestation decision, as one pure function: a CSR in, a
 * verdict out — issue (with the claims the certificate will record), refuse
 * (403, every failed check) or malformed (400, one code). No HTTP, no storage,
 * no clock of its own: time, crypto and SNP collateral are injected.
 *
 * The steps, in order (DESIGN.md "The Steward"; attest README "The Keep evidence wrapper"):
 *
 * 1. parse the CSR (`csr.ts`); verify its signature over the bytes received;
 *    find the one evidence extension and decode it (`evidence_ext.ts`).
 *    Anything wrong here is **malformed** (400): the request cannot be judged.
 * 2. From here every check runs and every failure is collected (**refuse**, 403):
 *    - the TEE type is allowed by the policy (`policy.tee`); Enarx KVM
 *      "evidence" proves nothing (`evidence.unattested`); TDX and SGX evidence
 *      needs a DCAP collateral source (steward.toml `[dcap]`), else `config.dcap`;
 *    - the wrapper's keep-key is the CSR's SubjectPublicKeyInfo, byte for byte (`binding.key`);
 *    - the evidence verifies with `@donjon/attest`: sandbox evidence against the
 *      policy's host keys, the software tier only when `[sandbox] allow = true`;
 *      SNP against the pinned AMD roots, with the wrapper's certificates as
 *      collateral candidates — never as trust anchors; SGX and TDX quotes
 *      against the pinned Intel SGX Root CA with Intel's collateral (TCB Info,
 *      QE Identity, CRLs) from the configured source. The TEE-specific policy
 *      (measurement allow-list, debug, minimum TCB, Intel TCB statuses) is
 *      appraised there, under attest's codes (`snp.validate.*`,
 *      `sandbox.policy.*`, `dcap.policy.*`);
 *    - report_data is recomputed (`checkKeepBinding`: `binding.report_data`,
 *      and `binding.workload_identity` for sandbox evidence; Enarx's binding
 *      for Enarx evidence);
 *    - the Steward's own policy: denied measurements (`policy.measurement_denied`)
 *      and allowed workload identities (`policy.workload_identity`).
 * 3. No failure: **issue**, with the claims the CA puts in the certificate.
 *
 * Every failed check is `{code, expected, actual, remedy}` made of the
 * request's own values, the policy's lists and fixed text: safe to show to the
 * workload owner. Unexpected faults (a bug, a broken injected crypto) are not
 * caught here; the HTTP layer maps them to a 500 without details.
 */
import "reflect-metadata";

import {
  AMD_SNP_ROOTS,
  attestDcap,
  attestSandbox,
  attestSnp,
  type Check,
  CODES,
  checkKeepBinding,
  createSnpVerifier,
  type DcapCollateralSource,
  type DcapValidateOptions,
  type DcapVerifier,
  type SnpCollateralSource,
  type SnpRootSet,
  type SnpVerifier,
} from "@donjon/attest";
import { X509Certificate } from "@peculiar/x509";
import { findEvidenceExtension, parseCsr, verifyCsr } from "./csr.ts";
import {
  decodeEvidenceExtension,
  type EvidenceExtension,
  type EvidenceFormat,
} from "./evidence_ext.ts";
import type {
  IntelTcbStatus,
  IntelTeePolicy,
  SanEntry,
  StewardPolicy,
  TeePolicy,
} from "./policy.ts";
import { type FailedCheck, MalformedRequestError } from "./problem.ts";

/** The Steward's own check codes (attest's are in `@donjon/attest`'s `CODES`). */
export const CHECK_CODES = {
  "policy.tee": {
    meaning: "The policy does not issue certificates to Keeps of this TEE type.",
    remedy:
      "Run the Keep on a TEE type the Steward's policy allows (its operator sets allow per section).",
  },
  "policy.measurement_denied": {
    meaning: "The measurement is on the policy's deny-list.",
    remedy: "Run a Keep runtime or guest image that is not denied (update to a fixed release).",
  },
  "policy.workload_identity": {
    meaning: "The workload identity is not in the policy's allow-list.",
    remedy:
      "Run an allowed workload (wasm and config), or ask the operator to allow this identity.",
  },
  "binding.key": {
    meaning: "The Keep key in the evidence wrapper is not the CSR's public key.",
    remedy:
      "Request the certificate for the Keep key the evidence binds: the CSR and the wrapper must carry the same SubjectPublicKeyInfo.",
  },
  "config.dcap": {
    meaning:
      "The Steward has no source of Intel DCAP collateral (TCB Info, QE Identity, CRLs), so it cannot verify SGX or TDX quotes.",
    remedy:
      "Ask the Steward's operator to configure Intel collateral: [dcap] pcs_url (Intel PCS or a PCCS) or collateral_dir in steward.toml.",
  },
  "evidence.unattested": {
    meaning:
      "The request carries Enarx KVM evidence, which proves nothing: KVM has no attestation.",
    remedy: "Run the Keep in a TEE (SEV-SNP, TDX, SGX) and send its evidence.",
  },
  "evidence.certificate": {
    meaning: "A certificate that came with the evidence is not a DER X.509 certificate.",
    remedy: "Send the certificates exactly as the platform produced them (DER).",
  },
} as const satisfies Record<string, { meaning: string; remedy: string }>;

/** A Steward check code. */
export type CheckCode = keyof typeof CHECK_CODES;

/** Remedies that read differently at a Steward than in the library. */
const REMEDY: Partial<Record<string, string>> = {
  "sandbox.policy.software_tier":
    "Run the Keep on a TEE backend (snp, tdx, sgx). The Steward's operator can allow the software tier with [sandbox] allow = true, for development only.",
  "sandbox.verify.untrusted_key":
    "Ask the Steward's operator to add this host's sandbox-key.pub.pem to [sandbox] host_keys, if the host is trusted.",
  "dcap.policy.tcb_status":
    "Update the platform (microcode, BIOS, TDX module) as the advisories say, or ask the Steward's operator to accept the status in [tdx] / [sgx] tcb_statuses.",
  "dcap.policy.debug":
    "Launch a production TD or enclave (debug off). The Steward's operator can allow debug with debug = true in [tdx] / [sgx], for test environments only.",
  "dcap.policy.mr_td":
    "Launch the expected TD image, or ask the Steward's operator to add its MRTD to [tdx] measurements.",
  "dcap.policy.mr_enclave":
    "Run the expected enclave build, or ask the Steward's operator to add its MRENCLAVE to [sgx] measurements.",
};

/** What {@link decide} needs besides the CSR. */
export interface DecideContext {
  /** The policy in force (`parsePolicy`, `defaultPolicy`). */
  policy: StewardPolicy;
  /** The verification time. Required. */
  now: Date;
  /** WebCrypto implementation. Default: `globalThis.crypto`. */
  crypto?: Crypto;
  /** SEV-SNP verification. */
  snp?: {
    /** Pinned AMD roots. Default `AMD_SNP_ROOTS`. Ignored when `verifier` is given. */
    roots?: readonly SnpRootSet[];
    /** A verifier to reuse across decisions (its chain cache stays warm). Default: one per call. */
    verifier?: SnpVerifier;
    /** Where a VCEK and CRL come from when the evidence lacks them (`createKdsClient`, `createOfflineKds`). Default: none. */
    collateral?: SnpCollateralSource;
    /** Refuse when no CRL can be had, whatever the policy's `[snp] require_crl` says. Default false (a warning, unless the policy asks). */
    requireCrl?: boolean;
  };
  /** Intel SGX and TDX verification. Without `source`, such evidence is refused (`config.dcap`). */
  dcap?: {
    /** Where TCB Info, QE Identity and CRLs come from (`createStewardDcapSource`, or attest's `createPcsClient`). */
    source?: DcapCollateralSource;
    /** A verifier to reuse (its caches stay warm across decisions). Default: one per call. */
    verifier?: DcapVerifier;
    /** The trust anchor of a new verifier (DER). Default: attest's pinned Intel SGX Root CA. Ignored with `verifier`. */
    root?: Uint8Array;
    /** Refuse when a CRL (root CA or PCK) cannot be had, whatever the policy's `require_crl` says. Default false (a warning, unless the policy asks). */
    requireCrl?: boolean;
  };
  /** Sandbox freshness. */
  sandbox?: {
    /** Oldest evidence accepted, ms. Default attest's (5 minutes). */
    maxAge?: number;
    /** Clock skew allowed, ms. Default attest's (1 minute). */
    maxClockSkew?: number;
  };
}

/** What the certificate records about an issued Keep. */
export interface IssueClaims {
  tee: "sandbox" | "snp" | "tdx" | "sgx";
  /** `software` for sandbox: nothing protects the Keep from its host. */
  tier: "software" | "hardware";
  /** Hex: sandbox runtime measurement or SNP MEASUREMENT (48 bytes), TDX MRTD (48), SGX MRENCLAVE (32). */
  measurement: string;
  /** Hex, 32 bytes; null for Enarx evidence (which names no workload). */
  workloadIdentity: string | null;
  /**
   * `none` (sandbox: no hardware TCB), `meets-minimum` (SNP with `min_tcb` set),
   * `not-checked` (SNP without `min_tcb`), or Intel's TCB status (SGX, TDX;
   * one the policy's `tcb_statuses` accepts).
   */
  tcbStatus: "none" | "meets-minimum" | "not-checked" | IntelTcbStatus;
  /**
   * Hex; null for sandbox. SNP: REPORTED_TCB (8 bytes). SGX: the PCK
   * certificate's TCBm, CPUSVN ‖ PCESVN (u16 little-endian), 18 bytes. TDX:
   * the same TCBm ‖ TEE_TCB_SVN, 34 bytes — what Intel's TCB level is chosen by.
   */
  tcb: string | null;
  /** Hex SHA-256 of the evidence (the wrapper's JSON, or Enarx's extnValue). */
  evidenceHash: string;
  /** The Keep key: the CSR's SubjectPublicKeyInfo as received. */
  spki: Uint8Array;
  /** From the policy. */
  lifetimeMs: number;
  /** From the policy. */
  san: SanEntry[];
  /** Where the evidence came from. */
  evidenceFormat: EvidenceFormat;
}

/** The verdict of {@link decide}. */
export type Decision =
  | {
      verdict: "issue";
      claims: IssueClaims;
      /** Checks that did not fail the verdict but are worth logging (e.g. `snp.verify.crl_unavailable`). */
      warnings: FailedCheck[];
    }
  | {
      verdict: "refuse";
      status: 403;
      /** Every failed check, in the order they ran. */
      checks: FailedCheck[];
      /** For the audit log. */
      tee: string;
      evidenceHash: string;
      workloadIdentity: string | null;
    }
  | { verdict: "malformed"; status: 400; code: string; detail: string };

/** Decide on one attestation request (a DER PKCS#10 CSR). */
export async function decide(csrDer: Uint8Array, ctx: DecideContext): Promise<Decision> {
  // Bad options are the caller's bug, not the Keep's: thrown, never a verdict.
  if (!(ctx?.now instanceof Date) || Number.isNaN(ctx.now.getTime())) {
    throw new TypeError("decide: ctx.now: expected a valid Date (the verification time)");
  }
  if (typeof ctx.policy !== "object" || ctx.policy === null) {
    throw new TypeError(
      "decide: ctx.policy: expected a StewardPolicy (parsePolicy, defaultPolicy)",
    );
  }
  const crypto = ctx.crypto ?? globalThis.crypto;

  // ── 1. the request ──────────────────────────────────────────────────
  let ext: EvidenceExtension;
  let spki: Uint8Array;
  try {
    const csr = parseCsr(csrDer);
    if (!(await verifyCsr(csr, crypto))) {
      throw new MalformedRequestError(
        "csr.signature",
        "the CSR's ECDSA P-384/SHA-384 signature does not verify with the public key it holds",
      );
    }
    spki = csr.spki;
    ext = decodeEvidenceExtension(findEvidenceExtension(csr));
  } catch (e) {
    if (e instanceof MalformedRequestError) {
      return { verdict: "malformed", status: 400, code: e.code, detail: e.message };
    }
    throw e;
  }
  const evidenceHash = hex(await sha("SHA-256", ext.hashed, crypto));
  const checks: Check[] = [];
  const refuse = (workloadIdentity: string | null): Decision => ({
    verdict: "refuse",
    status: 403,
    checks: failures(checks),
    tee: ext.tee,
    evidenceHash,
    workloadIdentity,
  });

  // ── 2. the TEE type ─────────────────────────────────────────────────
  if (ext.tee === "kvm") {
    checks.push(
      failed(
        "evidence.unattested",
        "evidence from a TEE (SEV-SNP, TDX, SGX) or, where allowed, a sandbox",
        "Enarx KVM evidence (1.3.6.1.4.1.58270.1.1): no attestation",
      ),
    );
    return refuse(null);
  }
  const tp: TeePolicy = ctx.policy[ext.tee];
  if (!tp.allow && ext.tee !== "sandbox") {
    checks.push(failed("policy.tee", `a TEE type the policy allows`, `${ext.tee} (not allowed)`));
  }
  const dcapSource = ctx.dcap?.source;
  if ((ext.tee === "tdx" || ext.tee === "sgx") && dcapSource === undefined) {
    checks.push(
      failed(
        "config.dcap",
        "a Steward configured with Intel DCAP collateral ([dcap] pcs_url or collateral_dir in steward.toml)",
        `${ext.tee === "tdx" ? "an Intel TDX" : "an Intel SGX"} quote (${ext.evidence.length} bytes), and no collateral source to verify it with`,
      ),
    );
    return refuse(null);
  }

  // ── 3. the key binding: the wrapper's keep-key is the CSR's key ───────
  const keep = ext.keep;
  if (keep && !equal(keep.keepKey, spki)) {
    const fp = async (b: Uint8Array) =>
      `SubjectPublicKeyInfo SHA-256 ${hex(await sha("SHA-256", b, crypto))}`;
    checks.push(
      failed(
        "binding.key",
        `the CSR's key: ${await fp(spki)}`,
        `keep-key: ${await fp(keep.keepKey)}`,
      ),
    );
  }

  // ── 4. the evidence, with its TEE policy ────────────────────────────
  let reportData: Uint8Array | null = null;
  let measurement: string | null = null;
  let evidenceIdentity: Uint8Array | undefined;
  let tcb: string | null = null;
  let intelStatus: IntelTcbStatus | null = null;
  const warnings: Check[] = [];
  if (ext.tee === "sandbox") {
    const p = ctx.policy.sandbox;
    const v = await attestSandbox(ext.evidence, {
      trustedHostKeys: p.hostKeys,
      now: ctx.now,
      crypto,
      ...(ctx.sandbox?.maxAge === undefined ? {} : { maxAge: ctx.sandbox.maxAge }),
      ...(ctx.sandbox?.maxClockSkew === undefined
        ? {}
        : { maxClockSkew: ctx.sandbox.maxClockSkew }),
      policy: {
        allowSoftwareTier: p.allow,
        ...(p.measurements.length > 0 ? { runtimeMeasurements: p.measurements } : {}),
      },
    });
    checks.push(...v.checks);
    warnings.push(...v.warnings);
    if (v.claims) {
      reportData = unhex(v.claims.report_data);
      measurement = v.claims.runtime_measurement;
      evidenceIdentity = unhex(v.claims.workload_identity);
    }
  } else if (ext.tee === "tdx" || ext.tee === "sgx") {
    // The PCK chain is in the quote; certificates beside it are not needed (and never anchors).
    const p: IntelTeePolicy = ctx.policy[ext.tee];
    const policy: DcapValidateOptions = {
      tee: ext.tee,
      allowedTcbStatuses: p.tcbStatuses,
      allowDebug: p.debug,
      ...(p.measurements.length === 0
        ? {}
        : ext.tee === "tdx"
          ? { mrTd: p.measurements }
          : { mrEnclave: p.measurements }),
    };
    const v = await attestDcap(ext.evidence, {
      now: ctx.now,
      source: dcapSource!,
      policy,
      requireCrl: p.requireCrl || ctx.dcap?.requireCrl === true,
      ...(ctx.dcap?.verifier
        ? { verifier: ctx.dcap.verifier }
        : { crypto, ...(ctx.dcap?.root ? { root: ctx.dcap.root } : {}) }),
    });
    checks.push(...v.checks);
    warnings.push(...v.warnings);
    const c = v.claims;
    if (c) {
      reportData = unhex(c.report_data);
      measurement = c.tdx ? c.tdx.mr_td : c.sgx!.mr_enclave;
      if (c.pck) {
        const pce = c.pck.pce_svn;
        const tcbm = `${c.pck.cpu_svn}${hex(Uint8Array.of(pce & 0xff, pce >> 8))}`;
        tcb = c.tdx ? `${tcbm}${c.tdx.tee_tcb_svn}` : tcbm;
      }
      // Revoked and the non-statuses always fail a check, so an issued Keep has one of these.
      const s = c.tcb.status;
      if ((p.tcbStatuses as readonly string[]).includes(s)) intelStatus = s as IntelTcbStatus;
    }
  } else {
    const p = ctx.policy.snp;
    const { endorsementKey, intermediates, bad } = await splitCerts(ext.certs);
    checks.push(...bad);
    const v = await attestSnp(ext.evidence, {
      now: ctx.now,
      ...(endorsementKey ? { endorsementKey } : {}),
      intermediates,
      crls: ext.crls,
      ...(ctx.snp?.collateral ? { collateral: ctx.snp.collateral } : {}),
      requireCrl: p.requireCrl || ctx.snp?.requireCrl === true,
      verifier:
        ctx.snp?.verifier ?? createSnpVerifier({ roots: ctx.snp?.roots ?? AMD_SNP_ROOTS, crypto }),
      policy: {
        allowDebug: p.debug,
        ...(p.measurements.length > 0 ? { measurements: p.measurements } : {}),
        ...(Object.keys(p.minTcb).length > 0 ? { minimumTcb: p.minTcb } : {}),
      },
    });
    checks.push(...v.checks);
    warnings.push(...v.warnings);
    if (v.claims) {
      reportData = unhex(v.claims.report_data);
      measurement = v.claims.measurement;
      tcb = v.claims.tcb.reported.raw;
    }
  }

  // ── 5. report_data: the binding over the key and the workload ───────
  let identity: string | null = null;
  if (reportData) {
    if (keep) {
      const b = await checkKeepBinding(keep, reportData, {
        crypto,
        ...(evidenceIdentity ? { evidenceWorkloadIdentity: evidenceIdentity } : {}),
      });
      checks.push(...b.checks);
      identity = hex(b.workloadIdentity);
    } else {
      // Enarx: REPORT_DATA[0..48] = SHA-384(the CSR's SubjectPublicKeyInfo) for SNP,
      // REPORT_DATA[0..32] = SHA-256 of it for SGX (enarx/steward crates/attestation).
      const alg = ext.tee === "sgx" ? "SHA-256" : "SHA-384";
      const want = await sha(alg, spki, crypto);
      const got = reportData.subarray(0, want.length);
      if (!equal(want, got)) {
        checks.push({
          id: "binding.report_data",
          ok: false,
          code: "binding.report_data",
          expected: `REPORT_DATA[0..${want.length}] = ${alg} of the CSR's key: ${hex(want)}`,
          actual: hex(got),
          remedy: CODES["binding.report_data"].remedy,
        });
      }
    }
  }

  // ── 6. the Steward's own policy ─────────────────────────────────────
  if (measurement !== null && tp.deniedMeasurements.includes(measurement)) {
    checks.push(
      failed("policy.measurement_denied", "a measurement not on the deny-list", measurement),
    );
  }
  if (
    tp.workloadIdentities.length > 0 &&
    (identity === null || !tp.workloadIdentities.includes(identity))
  ) {
    checks.push(
      failed(
        "policy.workload_identity",
        `one of [${tp.workloadIdentities.join(", ")}]`,
        identity ?? "none (the evidence names no workload)",
      ),
    );
  }

  // Belt and braces: a verdict without a measurement (or an Intel Keep without a status) is never issued.
  const intel = ext.tee === "tdx" || ext.tee === "sgx";
  if (failures(checks).length > 0 || measurement === null || (intel && intelStatus === null)) {
    return refuse(identity);
  }
  return {
    verdict: "issue",
    claims: {
      tee: ext.tee,
      tier: ext.tee === "sandbox" ? "software" : "hardware",
      measurement,
      workloadIdentity: identity,
      tcbStatus:
        ext.tee === "sandbox"
          ? "none"
          : ext.tee === "snp"
            ? Object.keys(ctx.policy.snp.minTcb).length > 0
              ? "meets-minimum"
              : "not-checked"
            : intelStatus!,
      tcb,
      evidenceHash,
      spki,
      lifetimeMs: tp.lifetimeMs,
      san: tp.san,
      evidenceFormat: ext.format,
    },
    warnings: failures(warnings, true),
  };
}

/**
 * The wrapper's certificates: the one with an EC key is the VCEK or VLEK
 * (ASK, ASVK and ARK are RSA); the rest are intermediates. Roots among them
 * are never anchors — attest pins its own.
 */
async function splitCerts(certs: readonly Uint8Array[]): Promise<{
  endorsementKey: Uint8Array | undefined;
  intermediates: Uint8Array[];
  bad: Check[];
}> {
  let endorsementKey: Uint8Array | undefined;
  const intermediates: Uint8Array[] = [];
  const bad: Check[] = [];
  for (const [i, der] of certs.entries()) {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(der as Uint8Array<ArrayBuffer>);
    } catch {
      bad.push(
        failed(
          "evidence.certificate",
          "a DER X.509 certificate",
          `certs.${i}: ${der.length} bytes that do not parse`,
        ),
      );
      continue;
    }
    if (endorsementKey === undefined && cert.publicKey.algorithm.name === "ECDSA")
      endorsementKey = der;
    else intermediates.push(der);
  }
  return { endorsementKey, intermediates, bad };
}

function failed(code: CheckCode, expected: string, actual: string): Check {
  return { id: code, ok: false, code, expected, actual, remedy: CHECK_CODES[code].remedy };
}

/** The failed checks (severity error), or with `warnings` the warning checks, as the owner sees them. */
function failures(checks: readonly Check[], warnings = false): FailedCheck[] {
  return checks
    .filter((c) => (warnings ? c.severity === "warning" : !c.ok && c.severity !== "warning"))
    .map((c) => {
      const code = c.code ?? c.id;
      const known = (CODES as Record<string, { remedy: string }>)[code];
      return {
        code,
        expected: c.expected ?? "",
        actual: c.actual ?? "",
        remedy: REMEDY[code] ?? c.remedy ?? known?.remedy ?? "",
      };
    });
}

async function sha(alg: "SHA-256" | "SHA-384", b: Uint8Array, crypto: Crypto): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(alg, b as Uint8Array<ArrayBuffer>));
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function unhex(s: string): Uint8Array {
  return Uint8Array.from(s.match(/../g) ?? [], (x) => Number.parseInt(x, 16));
}
