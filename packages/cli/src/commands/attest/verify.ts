/**
 * `donjon attest verify FILE`: parse, verify and validate TEE evidence (AMD
 * SEV-SNP reports, Intel SGX and TDX DCAP quotes, and sandbox evidence in a
 * Keep evidence wrapper) with @donjon/attest's `attestSnp` / `attestDcap` /
 * `attestSandbox`, and print the verdict.
 *
 * A Keep evidence wrapper (JSON, recognised by content) also carries the
 * certificates, the Keep key and the workload digests: its certificates join
 * the collateral, and after the evidence the binding is checked
 * (`checkKeepBinding`: report_data must bind the Keep key and workload).
 *
 * Collateral comes from `--collateral` files (SNP: certificates, chains, CRLs;
 * SGX/TDX: TCB Info and QE Identity JSON, CRLs, PEM chains — recognised by
 * content) and, unless `--offline`, from the AMD KDS or Intel PCS for what
 * they lack. Exit 0 when the evidence is genuine and meets the policy, 1 when
 * it is rejected (every failed check printed), 2 on usage errors.
 */
import {
  AMD_KDS_URL,
  attestSandbox,
  attestSnp,
  type Check,
  CollateralError,
  type CollateralFile,
  checkKeepBinding,
  createKdsClient,
  createOfflineKds,
  createSnpVerifier,
  INTEL_PCS_URL,
  type KeepBindingOptions,
  type KeepEvidence,
  OptionsError,
  parseCollateral,
  type SandboxVerdict,
  type SnpCollateralSource,
  type SnpVerdict,
} from "@donjon/attest";
import { CliError } from "../../error.ts";
import { parseArgs } from "./_args.ts";
import { DCAP_NAMES, dcapTeeOf, formatDcapVerdict, verifyDcap } from "./_dcap.ts";
import { type AttestContext, columns, decodeEvidence, formatChecks, readInput } from "./_io.ts";
import { parsePolicy } from "./_policy.ts";
import {
  decodeWrapper,
  hex,
  isKeepEvidenceWrapper,
  type KeepFacts,
  keepFacts,
  TEE_NAMES,
  unhex,
  wrapperJson,
} from "./_wrapper.ts";

export const VERIFY_HELP = `Usage: donjon attest verify [OPTIONS] FILE

Verify TEE evidence: an AMD SEV-SNP attestation report (the signature, the
certificate chain to the pinned AMD roots, the CRL, the policy) or an Intel
SGX or TDX DCAP quote (the quote and QE signatures, the PCK chain to the
pinned Intel SGX Root CA, the CRLs, TCB Info and QE Identity, the TCB status
with its advisories, the policy).

FILE may also be a Keep evidence wrapper (JSON, as donjon run --print-evidence
writes it; see packages/attest/README.md): its evidence is verified with the
verifier of its TEE, its certificates are used as collateral, and then its
binding is checked: report_data must bind the Keep key and the workload.
Sandbox evidence needs --sandbox-key.

Options:
  --format snp|sgx|tdx|auto
                        Evidence format (default auto: a Keep evidence
                        wrapper; an SGX or TDX quote, recognised by its
                        header, or a raw or HCL-wrapped SNP report, each as
                        bytes or hex text).
  --collateral FILE     SNP: certificates (VCEK/VLEK, ASK/ASVK, ARK), chains
                        and CRLs, PEM or DER. SGX/TDX: TCB Info and QE
                        Identity JSON (raw or as the PCS response body), CRLs
                        (PEM or DER) and PEM chains. Recognised by content.
                        Repeatable.
  --at ISO-8601         Verify as of this time (default: now), e.g.
                        2026-11-27T00:00:00Z.
  --policy FILE         A TOML policy (debug, vmpl, min_tcb, measurements…;
                        [sgx] and [tdx] tables for Intel quotes; see
                        packages/cli/README.md).
  --offline             Fetch nothing: collateral comes from --collateral only.
  --kds URL             AMD KDS base URL (default ${AMD_KDS_URL}).
  --pcs URL             Intel PCS or PCCS base URL for SGX/TDX collateral
                        (default ${INTEL_PCS_URL}).
  --require-crl         Fail when no CRL can be checked (default: a warning).
  --allow-trailing      SGX/TDX: accept bytes after the quote's signature data
                        (a quote padded to a buffer; no signature covers them).
  --sandbox-key FILE    The public sandbox key (PEM or DER SubjectPublicKeyInfo,
                        sandbox-key.pub.pem in the host's Donjon state
                        directory) trusted to sign sandbox evidence. Repeatable.
  --allow-software-tier Accept sandbox evidence: software tier, nothing protects
                        the Keep from its host (default: refused).
  --json                Print the verdict as JSON.
  -h, --help            Show this help.

Exit status: 0 when the evidence is genuine and meets the policy; 1 when it
is rejected (every failed check is printed) or a file cannot be used; 2 for a
usage error.
`;

const SPEC = {
  values: {
    "--format": {},
    "--collateral": { repeatable: true },
    "--at": {},
    "--policy": {},
    "--kds": {},
    "--pcs": {},
    "--sandbox-key": { repeatable: true },
  },
  booleans: ["--offline", "--require-crl", "--json", "--allow-software-tier", "--allow-trailing"],
};

/** Run `donjon attest verify` with `argv` (what follows `verify`); resolve to the exit status. */
export async function verify(argv: readonly string[], ctx: AttestContext): Promise<number> {
  const a = parseArgs(argv, SPEC, "attest verify");
  if (a.help) {
    ctx.out(VERIFY_HELP);
    return 0;
  }
  const usage = (m: string) => new CliError("USAGE", `${m} (see donjon attest verify --help)`);
  if (a.positionals.length === 0) throw usage("missing FILE (the evidence to verify)");
  if (a.positionals.length > 1) throw usage(`one FILE expected, got ${a.positionals.length}`);
  const file = a.positionals[0]!;
  const format = a.values.get("--format")?.[0] ?? "auto";
  if (format !== "snp" && format !== "sgx" && format !== "tdx" && format !== "auto") {
    throw usage(`--format must be snp, sgx, tdx or auto, got ${JSON.stringify(format)}`);
  }
  const offline = a.booleans.has("--offline");
  const json = a.booleans.has("--json");
  const kds = a.values.get("--kds")?.[0];
  if (kds !== undefined && !/^https?:\/\//.test(kds)) {
    throw usage(`--kds must be an http(s) URL, got ${JSON.stringify(kds)}`);
  }
  if (kds !== undefined && offline) throw usage("--kds and --offline exclude each other");
  const pcs = a.values.get("--pcs")?.[0];
  if (pcs !== undefined && !/^https?:\/\//.test(pcs)) {
    throw usage(`--pcs must be an http(s) URL, got ${JSON.stringify(pcs)}`);
  }
  if (pcs !== undefined && offline) throw usage("--pcs and --offline exclude each other");
  const now = verificationTime(a.values.get("--at")?.[0], ctx, usage);

  // Inputs: every file is read before any work, so a missing one fails fast.
  const raw = readInput(ctx, file, "evidence file");
  const wrapper =
    format !== "snp" && isKeepEvidenceWrapper(raw) ? decodeWrapper(raw, file) : undefined;
  if (wrapper && format !== "auto" && wrapper.tee !== format) {
    throw new CliError(
      "BAD_INPUT",
      `${file} is a Keep evidence wrapper holding ${TEE_NAMES[wrapper.tee]} evidence, not ${DCAP_NAMES[format as "sgx" | "tdx"]} (--format ${format})`,
    );
  }
  // Intel: by --format, the wrapper's TEE, or (auto) the quote header, raw or as hex text.
  const bare = wrapper ? undefined : decodeEvidence(raw, format === "snp" ? "snp" : "auto");
  const dcapTee =
    wrapper?.tee === "sgx" || wrapper?.tee === "tdx"
      ? wrapper.tee
      : format === "sgx" || format === "tdx"
        ? format
        : format === "auto" && bare
          ? dcapTeeOf(bare)
          : undefined;
  const only = (flag: string, what: string, used: boolean) => {
    if (used)
      throw usage(
        `${flag} applies to ${what}; ${file} holds ${dcapTee ? DCAP_NAMES[dcapTee] : wrapper?.tee === "sandbox" ? "sandbox" : "SEV-SNP"} evidence`,
      );
  };
  only("--kds", "SEV-SNP evidence", kds !== undefined && dcapTee !== undefined);
  only("--pcs", "SGX and TDX evidence", pcs !== undefined && dcapTee === undefined);
  only(
    "--allow-trailing",
    "SGX and TDX evidence",
    a.booleans.has("--allow-trailing") && dcapTee === undefined,
  );
  only("--sandbox-key", "sandbox evidence", a.values.has("--sandbox-key") && dcapTee !== undefined);
  if (dcapTee) {
    const collateral = (a.values.get("--collateral") ?? []).map((f) => ({
      name: f,
      data: readInput(ctx, f, "collateral file"),
    }));
    const policyFile = a.values.get("--policy")?.[0];
    const policy =
      policyFile === undefined
        ? undefined
        : parsePolicy(
            new TextDecoder().decode(readInput(ctx, policyFile, "policy file")),
            policyFile,
          );
    const verdict = await verifyDcap(
      {
        file,
        quote: wrapper ? wrapper.evidence : bare!,
        tee: dcapTee,
        collateral,
        policy: policy?.[dcapTee],
        policyFile,
        requireCrl: a.booleans.has("--require-crl") || (policy?.requireCrl ?? false),
        allowTrailing: a.booleans.has("--allow-trailing"),
        offline,
        pcs,
        now,
      },
      ctx,
    );
    return report(file, verdict, wrapper, json, ctx, (v, keep) =>
      formatDcapVerdict(file, v, now, keepRows(keep)),
    );
  }
  const sandboxKeys = (a.values.get("--sandbox-key") ?? []).map((f) => ({
    name: f,
    spki: publicKey(readInput(ctx, f, "sandbox key file"), f),
  }));
  if (wrapper?.tee === "sandbox") {
    for (const f of ["--collateral", "--policy", "--kds"] as const) {
      if (a.values.has(f))
        throw usage(`${f} applies to SEV-SNP evidence; ${file} holds sandbox evidence`);
    }
    if (sandboxKeys.length === 0) {
      throw usage(
        `${file} holds sandbox evidence: pass --sandbox-key FILE, the host's public sandbox key (sandbox-key.pub.pem in its Donjon state directory)`,
      );
    }
    return verifySandbox(
      file,
      wrapper,
      sandboxKeys,
      a.booleans.has("--allow-software-tier"),
      now,
      json,
      ctx,
    );
  }
  const evidence = wrapper ? wrapper.evidence : bare!;
  // The wrapper's certificates are collateral like any other (never trust anchors).
  const wrapperCerts: CollateralFile[] = (wrapper?.certs ?? []).map((data, i) => ({
    name: `${file} certs.${i}`,
    data,
  }));
  const files: CollateralFile[] = [
    ...wrapperCerts,
    ...(a.values.get("--collateral") ?? []).map((f) => ({
      name: f,
      data: readInput(ctx, f, "collateral file"),
    })),
  ];
  const policyFile = a.values.get("--policy")?.[0];
  const policy =
    policyFile === undefined
      ? { validate: {}, requireCrl: false }
      : parsePolicy(
          new TextDecoder().decode(readInput(ctx, policyFile, "policy file")),
          policyFile,
        );

  let bundle: ReturnType<typeof parseCollateral>;
  try {
    bundle = parseCollateral(files);
  } catch (e) {
    if (e instanceof CollateralError) throw new CliError("BAD_INPUT", e.message, { cause: e });
    throw e;
  }
  const keys = bundle.certificates.filter((c) => c.role === "vcek" || c.role === "vlek");
  const offlineSource = createOfflineKds(bundle);
  let source: SnpCollateralSource = offlineSource;
  if (!offline) {
    if (!ctx.fetch) throw usage("no network access here: pass --offline and --collateral FILE");
    const online = createKdsClient({
      fetch: ctx.fetch,
      now: () => ctx.now?.() ?? now,
      ...(kds === undefined ? {} : { baseUrl: kds }),
    });
    source = layered(offlineSource, online);
  }

  let verdict: SnpVerdict;
  try {
    verdict = await attestSnp(evidence, {
      now,
      // One signing certificate given: use it (its checks then say precisely
      // what does not match); several: the one for this chip and TCB is looked up.
      ...(keys.length === 1 ? { endorsementKey: keys[0]!.der } : {}),
      intermediates: bundle.certificates
        .filter((c) => c.role !== "vcek" && c.role !== "vlek")
        .map((c) => c.der),
      crls: bundle.crls.map((c) => c.der),
      collateral: source,
      policy: policy.validate,
      requireCrl: a.booleans.has("--require-crl") || policy.requireCrl,
      ...("allowedCspIds" in policy ? { allowedCspIds: policy.allowedCspIds } : {}),
      ...(ctx.snpRoots ? { verifier: createSnpVerifier({ roots: ctx.snpRoots }) } : {}),
    });
  } catch (e) {
    if (e instanceof OptionsError) {
      throw new CliError("CONFIG", `${policyFile ?? "policy"}: ${e.message}`, { cause: e });
    }
    throw e;
  }

  return report(file, verdict, wrapper, json, ctx, (v, keep) => formatVerdict(file, v, now, keep));
}

/**
 * The end of every verify: with a Keep evidence wrapper, its facts, and the
 * binding's checks added to the verdict; then the verdict printed (JSON, or
 * `format`) and its exit status.
 */
async function report<
  V extends { ok: boolean; checks: Check[]; claims: { report_data: string } | null },
>(
  file: string,
  verdict: V,
  wrapper: KeepEvidence | undefined,
  json: boolean,
  ctx: AttestContext,
  format: (v: V, keep: KeepFacts | undefined) => string,
  binding: (claims: NonNullable<V["claims"]>) => KeepBindingOptions = () => ({}),
): Promise<number> {
  let keep: KeepFacts | undefined;
  if (wrapper) {
    keep = await keepFacts(wrapper);
    // Evidence that did not parse has no report_data: its verdict has already failed.
    if (verdict.claims) {
      const claims = verdict.claims as NonNullable<V["claims"]>;
      const b = await checkKeepBinding(wrapper, unhex(claims.report_data), binding(claims));
      verdict = { ...verdict, ok: verdict.ok && b.ok, checks: [...verdict.checks, ...b.checks] };
    }
  }
  if (json) {
    const out = wrapper && keep ? { ...verdict, keep: wrapperJson(wrapper, keep) } : verdict;
    ctx.out(`${JSON.stringify(out, null, 2)}\n`);
  } else ctx.out(format(verdict, keep));
  return conclude(file, verdict, ctx);
}

/** Exit status of a verdict; a rejection is summed up on stderr. */
function conclude(file: string, v: { ok: boolean; checks: Check[] }, ctx: AttestContext): number {
  if (v.ok) return 0;
  const failed = v.checks.filter((c) => !c.ok && c.severity !== "warning");
  const codes = [...new Set(failed.map((c) => c.code ?? c.id))].join(", ");
  ctx.err(
    `donjon: ${file}: rejected: ${failed.length} check${failed.length === 1 ? "" : "s"} failed (${codes})\n`,
  );
  return 1;
}

/** Sandbox evidence from a wrapper: attestSandbox, then the binding (report_data and workload identity). */
async function verifySandbox(
  file: string,
  wrapper: KeepEvidence,
  keys: readonly { name: string; spki: Uint8Array }[],
  allowSoftwareTier: boolean,
  now: Date,
  json: boolean,
  ctx: AttestContext,
): Promise<number> {
  let verdict: SandboxVerdict;
  try {
    verdict = await attestSandbox(wrapper.evidence, {
      trustedHostKeys: keys.map((k) => k.spki),
      now,
      policy: { allowSoftwareTier },
    });
  } catch (e) {
    if (e instanceof OptionsError) {
      throw new CliError("BAD_INPUT", `${keys.map((k) => k.name).join(", ")}: ${e.message}`, {
        cause: e,
      });
    }
    throw e;
  }
  return report(
    file,
    verdict,
    wrapper,
    json,
    ctx,
    // Sandbox evidence always comes in a wrapper, so its facts are always there.
    (v, keep) => formatSandboxVerdict(file, v, now, keep!),
    (claims) => ({ evidenceWorkloadIdentity: unhex(claims.workload_identity) }),
  );
}

/** A public key file: PEM "PUBLIC KEY" or DER, as the SubjectPublicKeyInfo's DER. */
function publicKey(bytes: Uint8Array, name: string): Uint8Array {
  if (bytes[0] === 0x30) return bytes;
  const m = /-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\s]+)-----END PUBLIC KEY-----/.exec(
    new TextDecoder().decode(bytes),
  );
  if (!m) {
    throw new CliError(
      "BAD_INPUT",
      `${name}: expected a PEM public key (-----BEGIN PUBLIC KEY-----) or its DER, as sandbox-key.pub.pem`,
    );
  }
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
}

function verificationTime(
  at: string | undefined,
  ctx: AttestContext,
  usage: (m: string) => CliError,
): Date {
  if (at === undefined) {
    if (!ctx.now) throw usage("no clock here: pass --at ISO-8601");
    return ctx.now();
  }
  // A date, or a date and time with a zone: a time without one would depend on the host's zone.
  const ok = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2}))?$/i;
  const t = ok.test(at) ? new Date(at) : null;
  if (t === null || Number.isNaN(t.getTime())) {
    throw usage(
      `--at must be an ISO-8601 date or date-time with a zone (2026-11-27, 2026-11-27T12:00:00Z), got ${JSON.stringify(at)}`,
    );
  }
  return t;
}

/** The bundle first; what it lacks from the KDS. */
function layered(first: SnpCollateralSource, then: SnpCollateralSource): SnpCollateralSource {
  const either =
    <A extends unknown[], R>(f: (s: SnpCollateralSource) => (...a: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await f(first)(...args);
      } catch (e) {
        if (e instanceof CollateralError && e.code === "snp.collateral.missing") {
          return f(then)(...args);
        }
        throw e;
      }
    };
  return {
    vcek: either((s) => s.vcek.bind(s)),
    certChain: either((s) => s.certChain.bind(s)),
    crl: either((s) => s.crl.bind(s)),
  };
}

/** The human-readable verdict; `keep` adds the rows of a Keep evidence wrapper. */
export function formatVerdict(file: string, v: SnpVerdict, now: Date, keep?: KeepFacts): string {
  // A check that is ok but carries a warning code is not counted as passed here.
  const passed = v.checks.filter((c) => c.ok && !(c.severity === "warning" && c.code)).length;
  const c = v.claims;
  const what = c
    ? `SEV-SNP report version ${c.version}, ${c.product}, signed by ${c.signing_key.kind.toUpperCase()}`
    : "SEV-SNP evidence";
  const wrapped = keep ? " in a Keep evidence wrapper" : "";
  let s = `${file}: ${v.ok ? "ACCEPTED" : "REJECTED"} — ${what}${wrapped}, as of ${now.toISOString()}\n`;
  if (c) {
    s += columns(
      [
        ["measurement", c.measurement],
        ["report_data", c.report_data],
        ["chip_id", c.chip_id],
        ["reported_tcb", tcb(c.tcb.reported)],
        [
          "policy",
          `${c.policy.raw} (debug ${c.policy.debug}, migrate_ma ${c.policy.migrate_ma}, smt ${c.policy.smt})`,
        ],
        ["vmpl", String(c.vmpl)],
        [
          "signing key",
          c.signing_key.subject
            ? `${c.signing_key.subject} (${c.signing_key.product_name ?? "no productName"})`
            : "—",
        ],
        ...keepRows(keep),
      ],
      "  ",
    );
  }
  return s + formatChecks(v, passed);
}

/** The human-readable verdict on sandbox evidence from a wrapper: never presented as hardware evidence. */
export function formatSandboxVerdict(
  file: string,
  v: SandboxVerdict,
  now: Date,
  keep: KeepFacts,
): string {
  const what =
    "sandbox evidence (software tier: NOT confidential, the host can read and change the Keep)";
  let s = `${file}: ${v.ok ? "ACCEPTED" : "REJECTED"} — ${what} in a Keep evidence wrapper, as of ${now.toISOString()}\n`;
  const c = v.claims;
  const rows: [string, string][] = c
    ? [
        ["issued_at", c.issued_at],
        ["host_key_id", c.host_key_id],
        ["runtime_measurement", c.runtime_measurement],
        ["report_data", c.report_data],
      ]
    : [];
  s += columns([...rows, ...keepRows(keep)], "  ");
  return s + formatChecks(v);
}

function keepRows(keep: KeepFacts | undefined): [string, string][] {
  if (!keep) return [];
  return [
    ["keep key", `sha256:${keep.keepKeySha256}`],
    ["workload identity", hex(keep.workloadIdentity)],
  ];
}

function tcb(t: {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc: number | null;
  raw: string;
}): string {
  const fmc = t.fmc === null ? "" : ` fmc=${t.fmc}`;
  return `bl=${t.bootloader} tee=${t.tee} snp=${t.snp} ucode=${t.microcode}${fmc} (${t.raw})`;
}
