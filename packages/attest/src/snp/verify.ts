/**
 * Verify an SEV-SNP attestation report: the report signature (ECDSA P-384 by
 * the VCEK or VLEK), the certificate chain (VCEK → ASK → ARK, VLEK → ASVK →
 * ARK, RSASSA-PSS SHA-384) to a *pinned* AMD root, the product, the VCEK TCB
 * and hwID extensions against the report, validity windows at an injected
 * time, and the AMD CRL. References: AMD pub. 56860 (SEV-SNP ABI) table
 * "ATTESTATION_REPORT Structure"; AMD pub. 57230 (VCEK certificate and KDS
 * interface) for the extensions and the chain; ../shared/vectors/LAYOUTS.md.
 *
 * Every check that ran is returned, pass or fail; a check that cannot run
 * because an earlier one failed is either reported as failed with the reason
 * in `actual`, or left out when the earlier failure already says it all.
 *
 * The verifier caches parsed certificates, imported keys and verified
 * certificate signatures, keyed by the SHA-256 of the DER bytes, so a warm
 * verifier spends one ECDSA verify per report (see `createSnpVerifier`).
 */
import { bytesEqual, toHex } from "../_bytes.ts";
import { cachedSignature, Lru } from "../_lru.ts";
import { X509Certificate, X509Crl } from "../_x509.ts";
import { CODES } from "../codes.ts";
import { type Check, failed as fail, passed as pass } from "../verdict.ts";
import {
  OID_BL_SPL,
  OID_CSP_ID,
  OID_FMC_SPL,
  OID_HWID,
  OID_PRODUCT_NAME,
  OID_SNP_SPL,
  OID_TEE_SPL,
  OID_UCODE_SPL,
  productFromName,
  unwrapHwid,
} from "./_amdcerts.ts";
import { AMD_SNP_ROOTS, type CertificateBytes, type SnpRootSet } from "./roots/amd.ts";
import type { SnpProduct, SnpReport, SnpTcb } from "./types.ts";

/** A certificate as DER bytes, PEM text, or an already parsed `X509Certificate`. */
export type CertificateInput = CertificateBytes | X509Certificate;

/** A CRL as DER bytes, PEM text, or an already parsed `X509Crl`. */
export type CrlInput = Uint8Array | string | X509Crl;

/** Options fixed for the lifetime of a verifier. */
export interface SnpVerifierOptions {
  /** Pinned trust anchors, one set per product. Default: `AMD_SNP_ROOTS` (Milan, Genoa, Turin). */
  roots?: readonly SnpRootSet[];
  /** WebCrypto implementation. Default: `globalThis.crypto`. */
  crypto?: Crypto;
  /**
   * Maximum entries of each cache (parsed certificates and CRLs, verified
   * signatures). Oldest entries are dropped first. Default 256; 0 disables caching.
   */
  cacheSize?: number;
}

/** Options of one verification. */
export interface SnpVerifyOptions {
  /** The verification time: validity windows and CRL freshness are judged at this instant. Required. */
  now: Date;
  /** The VCEK or VLEK certificate that signed the report (from the certificate table or the AMD KDS). Required. */
  endorsementKey: CertificateInput;
  /**
   * Further certificates that came with the evidence (ASK, ASVK, even an ARK).
   * An ASK/ASVK is used only if a pinned ARK signed it; an ARK here is never
   * trusted (only pinned ARKs anchor a chain). Default: none (the pinned
   * ASK/ASVK of each root set are always candidates).
   */
  intermediates?: readonly CertificateInput[];
  /**
   * AMD KDS CRLs (`…/vcek/v1/<product>/crl`). The one issued by the chain's ARK
   * is checked (signature, freshness at `now`, revoked serials). Default: none,
   * which yields the warning check `snp.verify.crl_unavailable`.
   */
  crls?: readonly CrlInput[];
  /** When true, a missing CRL fails verification instead of warning. Default false. */
  requireCrl?: boolean;
  /**
   * The cloud providers whose VLEKs are accepted, as the VLEK's cspID
   * extension names them (e.g. `CN=cc-us-east-2.amazonaws.com`). Compared
   * exactly. Not checked if unset; a VCEK has no cspID and is not affected.
   */
  allowedCspIds?: readonly string[];
}

/** What the endorsement key certificate says, decoded. */
export interface SnpEndorsementInfo {
  kind: "vcek" | "vlek";
  /** The productName extension as written (`Milan-B0`, `Genoa`, `Turin`, `Milan`), or null when absent. */
  productName: string | null;
  subject: string;
  issuer: string;
  /** Hex, as the certificate encodes it. */
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** The SPL extensions; a component is null when its extension is absent or malformed. */
  tcb: {
    bootloader: number | null;
    tee: number | null;
    snp: number | null;
    microcode: number | null;
    fmc: number | null;
  };
  /** hwID (VCEK only), unwrapped, lower-case hex; null when absent. */
  hwId: string | null;
  /** cspID (VLEK only), e.g. `CN=cc-us-east-2.amazonaws.com`; null when absent. */
  cspId: string | null;
}

/** The outcome of `verify`. */
export interface SnpVerifyResult {
  /** True when no check with severity "error" (the default) failed. */
  ok: boolean;
  /** Every check that ran, in order. */
  checks: Check[];
  /** The decoded endorsement key certificate; null when it could not be parsed. */
  endorsement: SnpEndorsementInfo | null;
  /** The product of the pinned root the chain reached; null when it reached none. */
  rootProduct: SnpProduct | null;
}

/** A verifier holding pinned roots and a chain cache. Safe to share; holds no per-call state. */
export interface SnpVerifier {
  verify(report: SnpReport, options: SnpVerifyOptions): Promise<SnpVerifyResult>;
}

// AMD pub. 57230, "VCEK certificate extensions".
const TCB_COMPONENTS = [
  ["bootloader", OID_BL_SPL, "blSPL"],
  ["tee", OID_TEE_SPL, "teeSPL"],
  ["snp", OID_SNP_SPL, "snpSPL"],
  ["microcode", OID_UCODE_SPL, "ucodeSPL"],
  ["fmc", OID_FMC_SPL, "fmcSPL"],
] as const;

/** A parsed certificate with what verification needs, cached by DER hash. */
interface Cert {
  hash: string;
  der: Uint8Array;
  x509: X509Certificate;
  /** The imported ECDSA P-384 key, for endorsement keys; created on first use. */
  ecKey?: Promise<CryptoKey>;
  info?: SnpEndorsementInfo;
}

interface Root {
  set: SnpRootSet;
  ark: Cert;
  ask: Cert | null;
  asvk: Cert | null;
}

/**
 * Creates a verifier. It parses the pinned roots once (lazily) and caches, per
 * instance, parsed certificates and CRLs and the outcome of every certificate
 * and CRL signature check, keyed by the SHA-256 of the bytes involved. A warm
 * verifier therefore does, per report: one SHA-256 of the endorsement
 * certificate, one ECDSA P-384 verify, and the cheap comparisons. Validity
 * windows and CRL freshness are judged at every call's `now`, never cached.
 */
export function createSnpVerifier(options: SnpVerifierOptions = {}): SnpVerifier {
  return new Verifier(options);
}

/**
 * One-shot verification with a fresh verifier (no warm cache). Prefer
 * `createSnpVerifier` when verifying many reports.
 */
export function verifySnpReport(
  report: SnpReport,
  options: SnpVerifyOptions & SnpVerifierOptions,
): Promise<SnpVerifyResult> {
  return createSnpVerifier(options).verify(report, options);
}

class Verifier implements SnpVerifier {
  readonly #crypto: Crypto;
  readonly #rootSets: readonly SnpRootSet[];
  readonly #certs: Lru<Cert>;
  readonly #byTail: Lru<Cert>;
  readonly #crls: Lru<X509Crl>;
  readonly #sigs: Lru<boolean>;
  #roots: Promise<Root[]> | undefined;

  constructor(options: SnpVerifierOptions) {
    this.#crypto = options.crypto ?? globalThis.crypto;
    this.#rootSets = options.roots ?? AMD_SNP_ROOTS;
    const size = options.cacheSize ?? 256;
    this.#certs = new Lru(size);
    this.#byTail = new Lru(size);
    this.#crls = new Lru(size);
    this.#sigs = new Lru(size);
  }

  async verify(report: SnpReport, options: SnpVerifyOptions): Promise<SnpVerifyResult> {
    const { now } = options;
    const checks: Check[] = [];
    const done = (endorsement: SnpEndorsementInfo | null, rootProduct: SnpProduct | null) => ({
      ok: checks.every((c) => c.ok || c.severity === "warning"),
      checks,
      endorsement,
      rootProduct,
    });

    // The endorsement key certificate: nothing else can run without it.
    let ek: Cert;
    try {
      ek = await this.#cert(options.endorsementKey);
    } catch (e) {
      checks.push(
        fail("snp.verify.certificate", "snp.verify.certificate", {
          expected: "a DER or PEM X.509 VCEK/VLEK certificate",
          actual: `unparsable (${errorText(e)}); the report signature, chain, TCB and hwID checks did not run`,
        }),
      );
      return done(null, null);
    }
    const info = endorsementInfo(ek);
    const roleName = info.kind.toUpperCase();

    // (h) KEY_INFO.SIGNING_KEY must name the kind of key the certificate holds.
    checks.push(
      report.signingKey === info.kind
        ? pass("snp.verify.signing_key")
        : fail("snp.verify.signing_key", "snp.verify.signing_key", {
            expected: `KEY_INFO.SIGNING_KEY = ${info.kind} (the certificate is a ${roleName})`,
            actual: report.signingKey,
          }),
    );

    // (a) The report signature over 0x000–0x29F, r ‖ s in IEEE P1363 form.
    checks.push(await this.#reportSignature(report, ek, roleName));

    // (b) The chain: endorsement key ← ASK/ASVK ← pinned ARK.
    const roots = await this.#pinnedRoots();
    const interName = info.kind === "vcek" ? "ASK" : "ASVK";
    const inter = await this.#findIntermediate(ek, info.kind, roots, options.intermediates ?? []);
    let root: Root | null = null;
    if (inter.cert === null) {
      checks.push(
        fail(`snp.verify.chain.${info.kind}`, "snp.verify.chain", {
          expected: `the ${roleName} signed (RSASSA-PSS SHA-384) by an ${interName} named "${ek.x509.issuer}"`,
          actual: inter.tried.length
            ? `no candidate verifies: ${inter.tried.join("; ")}`
            : `no ${interName} with that subject among the pinned roots or the evidence`,
        }),
      );
    } else {
      checks.push(pass(`snp.verify.chain.${info.kind}`));
      root = await this.#findRoot(inter.cert, roots);
      checks.push(
        root
          ? pass(`snp.verify.chain.${interName.toLowerCase()}`)
          : fail(`snp.verify.chain.${interName.toLowerCase()}`, "snp.verify.untrusted_root", {
              expected: `the ${interName} signed by a pinned ARK (${roots.map((r) => r.set.product).join(", ")})`,
              actual: `${interName} "${inter.cert.x509.subject}" issued by "${inter.cert.x509.issuer}", which no pinned ARK signed`,
            }),
      );
      if (root) {
        const selfSigned = await this.#signedBy(root.ark, root.ark);
        checks.push(
          selfSigned
            ? pass("snp.verify.chain.ark")
            : fail("snp.verify.chain.ark", "snp.verify.ark", {
                expected: `pinned ARK-${root.set.product} self-signed`,
                actual: "its signature does not verify under its own key",
              }),
        );
      }
    }

    // (c) Product: the report's, the certificate's productName, the root's.
    checks.push(productCheck(report.product, info.productName, root?.set.product ?? null));

    // (d) The SPL extensions equal REPORTED_TCB.
    for (const c of tcbChecks(report.reportedTcb, info, roleName)) checks.push(c);

    // (e) hwID equals CHIP_ID (VCEK only: a VLEK is not tied to a chip).
    if (info.kind === "vcek") checks.push(hwIdCheck(report, info));
    if (info.kind === "vlek" && options.allowedCspIds !== undefined) {
      checks.push(cspIdCheck(info, options.allowedCspIds));
    }

    // (f) Validity windows at `now`.
    checks.push(validity(info.kind, ek.x509, now));
    if (inter.cert) checks.push(validity(interName.toLowerCase(), inter.cert.x509, now));
    if (root) checks.push(validity("ark", root.ark.x509, now));

    // (g) CRL. AMD's CRLs are issued by the ARK, and a CRL speaks only for
    // certificates its issuer signed (RFC 5280 §6.3.3): the ASK/ASVK. The
    // VCEK/VLEK is the ASK's, so its serial (0 on real VCEKs) is not looked up.
    const revocable: [string, Cert | null][] = [[interName.toLowerCase(), inter.cert]];
    for (const c of await this.#crlChecks(options, report.product, root, revocable)) checks.push(c);

    return done(info, root?.set.product ?? null);
  }

  async #reportSignature(report: SnpReport, ek: Cert, roleName: string): Promise<Check> {
    const id = "snp.verify.report_signature";
    let key: CryptoKey;
    try {
      ek.ecKey ??= ek.x509.publicKey.export(
        { name: "ECDSA", namedCurve: "P-384" },
        ["verify"],
        this.#crypto,
      );
      key = await ek.ecKey;
    } catch (e) {
      ek.ecKey = undefined;
      return fail(id, "snp.verify.report_signature", {
        expected: `an ECDSA P-384 public key in the ${roleName}`,
        actual: `${ek.x509.publicKey.algorithm.name} key (${errorText(e)})`,
      });
    }
    const sig = new Uint8Array(96);
    sig.set(report.signature.r, 48 - report.signature.r.length);
    sig.set(report.signature.s, 96 - report.signature.s.length);
    const ok = await this.#crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-384" },
      key,
      sig,
      plain(report.signedRegion),
    );
    return ok
      ? pass(id)
      : fail(id, "snp.verify.report_signature", {
          expected: `ECDSA P-384/SHA-384 signature over report bytes 0x000–0x29F by the ${roleName}`,
          actual: "the signature does not verify",
        });
  }

  /** The intermediate (ASK or ASVK) that signed `ek`, pinned ones first, then the evidence's. */
  async #findIntermediate(
    ek: Cert,
    kind: "vcek" | "vlek",
    roots: Root[],
    extra: readonly CertificateInput[],
  ): Promise<{ cert: Cert | null; tried: string[] }> {
    const candidates: Cert[] = [];
    for (const r of roots) {
      const c = kind === "vcek" ? r.ask : r.asvk;
      if (c) candidates.push(c);
    }
    for (const input of extra) {
      try {
        candidates.push(await this.#cert(input));
      } catch {
        // An unparsable extra certificate cannot be the issuer; the chain check reports the outcome.
      }
    }
    const tried: string[] = [];
    for (const c of candidates) {
      if (c.x509.subject !== ek.x509.issuer) continue;
      if (await this.#signedBy(ek, c)) return { cert: c, tried };
      tried.push(`"${c.x509.subject}" (serial ${c.x509.serialNumber}): signature does not verify`);
    }
    return { cert: null, tried };
  }

  /** The pinned root whose ARK signed `inter`, or null. */
  async #findRoot(inter: Cert, roots: Root[]): Promise<Root | null> {
    for (const r of roots) {
      if (r.ark.x509.subject !== inter.x509.issuer) continue;
      if (await this.#signedBy(inter, r.ark)) return r;
    }
    return null;
  }

  async #crlChecks(
    options: SnpVerifyOptions,
    product: SnpProduct,
    root: Root | null,
    revocable: [string, Cert | null][],
  ): Promise<Check[]> {
    const inputs = options.crls ?? [];
    if (inputs.length === 0) {
      const required = options.requireCrl === true;
      return [
        {
          id: "snp.verify.crl",
          ok: !required,
          code: "snp.verify.crl_unavailable",
          expected: required
            ? "a CRL from the AMD KDS (requireCrl is set)"
            : "a CRL from the AMD KDS (optional)",
          actual: "no CRL given: revocation of the ASK/ASVK not checked",
          remedy: CODES["snp.verify.crl_unavailable"].remedy,
          severity: required ? "error" : "warning",
        },
      ];
    }
    const out: Check[] = [];
    const crls: X509Crl[] = [];
    for (const [i, input] of inputs.entries()) {
      try {
        crls.push(await this.#crl(input));
      } catch (e) {
        out.push(
          fail(`snp.verify.crl.parse.${i}`, "snp.verify.crl_malformed", {
            expected: "a DER or PEM X.509 CRL",
            actual: `CRL #${i} is unparsable (${errorText(e)})`,
          }),
        );
      }
    }
    // The ARK that must have issued the CRL: the chain's; when the chain reached no
    // root, the pinned ARK of the report's product, else any pinned ARK that issued a given CRL.
    const pinned = await this.#pinnedRoots();
    const ark =
      root?.ark ??
      pinned.find((r) => r.set.product === product)?.ark ??
      pinned.find((r) => crls.some((c) => c.issuer === r.ark.x509.subject))?.ark;
    if (!ark) {
      out.push(
        fail("snp.verify.crl.issuer", "snp.verify.crl_issuer", {
          expected: `a CRL issued by a pinned ARK (${pinned.map((r) => r.set.product).join(", ")})`,
          actual: crls.length
            ? `CRLs issued by ${crls.map((c) => `"${c.issuer}"`).join(", ")}; revocation not checked`
            : "no parsable CRL; revocation not checked",
        }),
      );
      return out;
    }
    const crl = crls.find((c) => c.issuer === ark.x509.subject);
    if (!crl) {
      out.push(
        fail("snp.verify.crl.issuer", "snp.verify.crl_issuer", {
          expected: `a CRL issued by "${ark.x509.subject}"`,
          actual: crls.length
            ? `CRLs issued by ${crls.map((c) => `"${c.issuer}"`).join(", ")}; revocation not checked`
            : "no parsable CRL; revocation not checked",
        }),
      );
      return out;
    }
    out.push(pass("snp.verify.crl.issuer"));
    const signed = await this.#crlSignedBy(crl, ark);
    out.push(
      signed
        ? pass("snp.verify.crl.signature")
        : fail("snp.verify.crl.signature", "snp.verify.crl_signature", {
            expected: `CRL signed (RSASSA-PSS SHA-384) by "${ark.x509.subject}"`,
            actual: "the signature does not verify; revocation not checked",
          }),
    );
    const now = options.now;
    const window = `thisUpdate ${iso(crl.thisUpdate)}, nextUpdate ${crl.nextUpdate ? iso(crl.nextUpdate) : "absent"}`;
    if (now.getTime() < crl.thisUpdate.getTime()) {
      out.push(
        fail("snp.verify.crl.fresh", "snp.verify.crl_not_yet_valid", {
          expected: `thisUpdate ≤ ${iso(now)}`,
          actual: window,
        }),
      );
    } else if (!crl.nextUpdate || now.getTime() > crl.nextUpdate.getTime()) {
      out.push(
        fail("snp.verify.crl.fresh", "snp.verify.crl_stale", {
          expected: `nextUpdate ≥ ${iso(now)}`,
          actual: window,
        }),
      );
    } else {
      out.push(pass("snp.verify.crl.fresh"));
    }
    if (!signed) return out;
    for (const [role, cert] of revocable) {
      if (!cert) continue;
      const entry = crl.findRevoked(cert.x509);
      out.push(
        entry
          ? fail(`snp.verify.crl.revoked.${role}`, "snp.verify.revoked", {
              expected: `serial ${cert.x509.serialNumber} ("${cert.x509.subject}") not revoked`,
              actual: `revoked on ${iso(entry.revocationDate)}`,
            })
          : pass(`snp.verify.crl.revoked.${role}`),
      );
    }
    return out;
  }

  // ── caches ────────────────────────────────────────────────────────────

  #pinnedRoots(): Promise<Root[]> {
    this.#roots ??= Promise.all(
      this.#rootSets.map(async (set) => ({
        set,
        ark: await this.#cert(set.ark),
        ask: set.ask === undefined ? null : await this.#cert(set.ask),
        asvk: set.asvk === undefined ? null : await this.#cert(set.asvk),
      })),
    );
    return this.#roots;
  }

  async #cert(input: CertificateInput): Promise<Cert> {
    const der = input instanceof X509Certificate ? new Uint8Array(input.rawData) : derOf(input);
    // Fast path without an async digest: certificates end in a signature, so
    // length + last 32 bytes picks the candidate and a full byte compare confirms it.
    const tail = `${der.length}:${toHex(der.subarray(der.length - 32))}`;
    const seen = this.#byTail.get(tail);
    if (seen && bytesEqual(seen.der, der)) return seen;
    const hash = await this.#sha256(der);
    const hit = this.#certs.get(hash);
    if (hit) return hit;
    const own = der.slice(); // the caller may reuse its buffer; the cache keeps its own bytes
    const x509 = input instanceof X509Certificate ? input : new X509Certificate(own);
    const cert: Cert = { hash, der: own, x509 };
    this.#certs.set(hash, cert);
    this.#byTail.set(tail, cert);
    return cert;
  }

  async #crl(input: CrlInput): Promise<X509Crl> {
    const der =
      input instanceof X509Crl ? new Uint8Array(input.rawData) : derOf(input, "(?:X509 )?CRL");
    const hash = await this.#sha256(der);
    const hit = this.#crls.get(hash);
    if (hit) return hit;
    const crl = input instanceof X509Crl ? input : new X509Crl(der);
    this.#crls.set(hash, crl);
    return crl;
  }

  /** Whether `child`'s signature verifies under `issuer`'s key (cached by both hashes). */
  #signedBy(child: Cert, issuer: Cert): Promise<boolean> {
    return cachedSignature(this.#sigs, `${child.hash}<${issuer.hash}`, () =>
      child.x509.verify({ publicKey: issuer.x509, signatureOnly: true }, this.#crypto),
    );
  }

  async #crlSignedBy(crl: X509Crl, ark: Cert): Promise<boolean> {
    const key = `crl:${await this.#sha256(new Uint8Array(crl.rawData))}<${ark.hash}`;
    // An ARK key that cannot verify this algorithm (caller-supplied roots) throws: a failed signature.
    return cachedSignature(this.#sigs, key, async () => {
      // Import with the injected crypto ourselves: X509Crl.verify would use the global provider.
      const publicKey = await ark.x509.publicKey.export(
        { ...ark.x509.publicKey.algorithm, ...crl.signatureAlgorithm },
        ["verify"],
        this.#crypto,
      );
      return crl.verify({ publicKey }, this.#crypto);
    });
  }

  async #sha256(bytes: Uint8Array): Promise<string> {
    return toHex(new Uint8Array(await this.#crypto.subtle.digest("SHA-256", plain(bytes))));
  }
}

// ── checks that need no crypto ──────────────────────────────────────────────

function productCheck(
  reportProduct: SnpProduct,
  productName: string | null,
  rootProduct: SnpProduct | null,
): Check {
  const certProduct = productName === null ? null : productFromName(productName);
  const actual = `report ${reportProduct}, certificate productName ${productName === null ? "absent" : `"${productName}"`}, pinned root ${rootProduct ?? "not reached"}`;
  const agree =
    certProduct === reportProduct && (rootProduct === null || rootProduct === reportProduct);
  return agree
    ? { id: "snp.verify.product", ok: true, actual }
    : fail("snp.verify.product", "snp.verify.product", {
        expected: `one product (Milan, Genoa or Turin) named by the report, the certificate and the pinned root`,
        actual,
      });
}

function tcbChecks(tcb: SnpTcb, info: SnpEndorsementInfo, roleName: string): Check[] {
  const out: Check[] = [];
  for (const [name, , ext] of TCB_COMPONENTS) {
    const reported = tcb[name];
    if (reported === null) continue; // fmc exists on Turin only
    const certified = info.tcb[name];
    const id = `snp.verify.tcb.${name}`;
    out.push(
      certified === reported
        ? pass(id)
        : fail(id, "snp.verify.tcb", {
            expected: `${roleName} ${ext} = REPORTED_TCB.${name} = ${reported}`,
            actual: certified === null ? `${ext} absent or malformed` : `${ext} = ${certified}`,
          }),
    );
  }
  return out;
}

/** A VLEK names the cloud provider it was issued to; only the allowed ones pass. */
function cspIdCheck(info: SnpEndorsementInfo, allowed: readonly string[]): Check {
  if (info.cspId !== null && allowed.includes(info.cspId)) return pass("snp.verify.csp_id");
  return fail("snp.verify.csp_id", "snp.verify.csp_id", {
    expected: `VLEK cspID one of ${allowed.map((a) => JSON.stringify(a)).join(", ") || "(none allowed)"}`,
    actual: info.cspId === null ? "cspID absent" : JSON.stringify(info.cspId),
  });
}

function hwIdCheck(report: SnpReport, info: SnpEndorsementInfo): Check {
  // Turin VCEKs carry only the 8 significant bytes of CHIP_ID (LAYOUTS.md).
  const chip = report.product === "Turin" ? report.chipId.subarray(0, 8) : report.chipId;
  const want = toHex(chip);
  if (info.hwId === want) return pass("snp.verify.hwid");
  return fail("snp.verify.hwid", "snp.verify.hwid", {
    expected: `VCEK hwID = CHIP_ID${report.product === "Turin" ? "[0:8]" : ""} = ${want}${report.maskChipKey ? " (MASK_CHIP_KEY is set)" : ""}`,
    actual: info.hwId === null ? "hwID absent" : info.hwId,
  });
}

function validity(role: string, cert: X509Certificate, now: Date): Check {
  const id = `snp.verify.validity.${role}`;
  const t = now.getTime();
  // Built only for a failure: this runs for every certificate of every report.
  const window = () =>
    `${role.toUpperCase()} "${cert.subject}" valid ${iso(cert.notBefore)} → ${iso(cert.notAfter)}`;
  // RFC 5280 §4.1.2.5: both bounds are inclusive.
  if (t < cert.notBefore.getTime())
    return fail(id, "snp.verify.not_yet_valid", {
      expected: `valid at ${iso(now)}`,
      actual: window(),
    });
  if (t > cert.notAfter.getTime())
    return fail(id, "snp.verify.expired", { expected: `valid at ${iso(now)}`, actual: window() });
  return pass(id);
}

// ── the endorsement key certificate's AMD extensions ────────────────────────

function endorsementInfo(cert: Cert): SnpEndorsementInfo {
  if (cert.info) return cert.info;
  const x = cert.x509;
  const ext = (oid: string) => {
    const e = x.getExtension(oid);
    return e ? new Uint8Array(e.value) : null;
  };
  const cspId = derString(ext(OID_CSP_ID));
  const kind = x.subject.includes("CN=SEV-VLEK") || cspId !== null ? "vlek" : "vcek";
  const hw = ext(OID_HWID);
  const info: SnpEndorsementInfo = {
    kind,
    productName: derString(ext(OID_PRODUCT_NAME)),
    subject: x.subject,
    issuer: x.issuer,
    serialNumber: x.serialNumber,
    notBefore: x.notBefore,
    notAfter: x.notAfter,
    tcb: {
      bootloader: derSmallInt(ext(OID_BL_SPL)),
      tee: derSmallInt(ext(OID_TEE_SPL)),
      snp: derSmallInt(ext(OID_SNP_SPL)),
      microcode: derSmallInt(ext(OID_UCODE_SPL)),
      fmc: derSmallInt(ext(OID_FMC_SPL)),
    },
    hwId: hw === null ? null : toHex(unwrapHwid(hw)),
    cspId,
  };
  cert.info = info;
  return info;
}

/**
 * A DER INTEGER (tag 0x02) holding 0..255 — an SPL. Values ≥ 128 take a
 * leading zero byte (`02 02 00 D9`); non-minimal or negative encodings are malformed.
 */
function derSmallInt(v: Uint8Array | null): number | null {
  if (v === null || v[0] !== 0x02) return null;
  if (v.length === 3 && v[1] === 1 && v[2]! < 0x80) return v[2]!;
  if (v.length === 4 && v[1] === 2 && v[2] === 0 && v[3]! >= 0x80) return v[3]!;
  return null;
}

/** A DER IA5String (0x16) or UTF8String (0x0C) of under 128 bytes. */
function derString(v: Uint8Array | null): string | null {
  if (v === null || v.length < 2 || (v[0] !== 0x16 && v[0] !== 0x0c)) return null;
  if (v[1]! >= 0x80 || v[1] !== v.length - 2) return null;
  return new TextDecoder().decode(v.subarray(2));
}

// ── input decoding ──────────────────────────────────────────────────────────

/** DER bytes from DER, PEM bytes or PEM text (the first block with `label`). */
function derOf(input: Uint8Array | string, label = "CERTIFICATE"): Uint8Array<ArrayBuffer> {
  const text =
    typeof input === "string"
      ? input
      : input[0] === 0x2d // "-": PEM given as bytes
        ? new TextDecoder().decode(input)
        : null;
  if (text === null) return plain(input as Uint8Array);
  const m = new RegExp(`-----BEGIN ${label}-----([A-Za-z0-9+/=\\s]*)-----END ${label}-----`).exec(
    text,
  );
  if (!m) throw new Error(`no PEM "${label}" block`);
  const bin = atob(m[1]!.replace(/\s+/g, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The same bytes backed by a plain ArrayBuffer, as WebCrypto's types demand (copied only if shared). */
function plain(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b.buffer instanceof ArrayBuffer ? (b as Uint8Array<ArrayBuffer>) : new Uint8Array(b);
}

function iso(d: Date): string {
  return d.toISOString();
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
