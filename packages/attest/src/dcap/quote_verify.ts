/**
 * Verify what an Intel DCAP quote proves by itself, with no TCB collateral:
 * the attestation key's signature over the header and body, the QE report's
 * signature by the PCK key, the binding of the attestation key to the QE
 * (QE REPORT_DATA), the PCK certificate chain to a *pinned* Intel SGX Root CA
 * (signatures, names, CA roles, validity at an injected time), and, when
 * CRLs are given, the Intel SGX Root CA CRL (for the PCK CA) and the PCK CRL
 * (for the PCK certificate). TCB Info, QE Identity and TCB levels are the
 * collateral side's (`collateral.ts`, `tcb.ts`).
 *
 * References: Intel "SGX ECDSA Quote Library API" appendix "Quote Format" and
 * "TDX DCAP Quoting Library API" (the signed regions, the QE binding); Intel
 * "SGX PCK Certificate and CRL Profile Specification" (the chain, its CRLs);
 * ../shared/vectors/LAYOUTS.md §2. Behaviour follows Intel's Quote
 * Verification Library and Phala's dcap-qvl: the chain's root must be the
 * trusted root byte for byte, and only the pinned root anchors the chain.
 *
 * Every check that ran is returned, pass or fail. A check that cannot run
 * because an earlier one failed is reported failed with the reason in
 * `actual`, or left out when the earlier failure already says it all.
 *
 * The verifier caches parsed certificates and CRLs, imported keys, decoded PCK
 * extensions and verified certificate and CRL signatures, keyed by the bytes
 * involved, so a warm verifier spends two ECDSA verifies and one SHA-256 per
 * quote (see `createDcapQuoteVerifier`).
 */
import { bytesEqual, toHex } from "../_bytes.ts";
import { cachedSignature, Lru } from "../_lru.ts";
import {
  BasicConstraintsExtension,
  KeyUsageFlags,
  KeyUsagesExtension,
  X509Certificate,
  X509Crl,
} from "../_x509.ts";
import { CODES } from "../codes.ts";
import { EvidenceError } from "../error.ts";
import { type Check, failed as fail, passed as pass } from "../verdict.ts";
import { parsePckExtensions } from "./abi.ts";
import { INTEL_SGX_ROOT_CA } from "./roots/intel.ts";
import type { DcapQuote, PckExtensions } from "./types.ts";

/** A certificate as DER bytes or PEM text. */
export type DcapCertificateInput = Uint8Array | string;

/** A CRL as DER bytes, PEM text, or an already parsed `X509Crl`. */
export type DcapCrlInput = Uint8Array | string | X509Crl;

/** Intel's QE vendor ID, 939a7233-f79c-4ca9-940a-0db3957f0607 (LAYOUTS.md §2). */
export const INTEL_QE_VENDOR_ID = "939a7233f79c4ca9940a0db3957f0607";

/** Options fixed for the lifetime of a verifier. */
export interface DcapQuoteVerifierOptions {
  /**
   * The trust anchor: the Intel SGX Root CA, DER or PEM. Default: the pinned
   * `INTEL_SGX_ROOT_CA` (SHA-256 44a0196b…). Pass another only for test
   * hierarchies; a root that comes inside a quote is never trusted.
   */
  root?: DcapCertificateInput;
  /** WebCrypto implementation. Default: `globalThis.crypto`. */
  crypto?: Crypto;
  /**
   * Maximum entries of each cache (parsed certificates and CRLs, verified
   * signatures). Oldest entries are dropped first. Default 256; 0 disables caching.
   */
  cacheSize?: number;
}

/** The CRLs of the PCK chain, as Intel PCS serves them. */
export interface DcapQuoteCrls {
  /** The Intel SGX Root CA CRL: speaks for the PCK CA. Not checked if null or unset. */
  rootCaCrl?: DcapCrlInput | null;
  /**
   * The PCK CRL of the CA that issued the PCK certificate (`pckcrl?ca=processor`
   * or `ca=platform`): speaks for the PCK certificate. Not checked if null or unset.
   */
  pckCrl?: DcapCrlInput | null;
}

/** Options of one verification. */
export interface DcapQuoteVerifyOptions {
  /** The verification time: certificate validity and CRL freshness are judged at this instant. Required. */
  now: Date;
  /**
   * CRLs for the PCK chain. A missing one yields the warning check
   * `dcap.collateral.crl_unavailable` (an error when `requireCrl` is set).
   * Default: none.
   */
  crls?: DcapQuoteCrls;
  /** When true, a missing CRL fails verification instead of warning. Default false. */
  requireCrl?: boolean;
  /**
   * Set false when revocation of the PCK chain is judged elsewhere (e.g. by
   * `DcapCollateralVerifier.pckRevocationChecks` with CRLs the collateral
   * verifier already verified): then no CRL check runs here, not even the
   * missing-CRL warning, and `crls`/`requireCrl` are ignored. Default true.
   */
  checkRevocation?: boolean;
}

/** The outcome of a verification. */
export interface DcapQuoteVerifyResult {
  /** True when no check with severity "error" (the default) failed. */
  ok: boolean;
  /** Every check that ran, in order. */
  checks: Check[];
  /** The PCK certificate's SGX extensions; null when the certificate or its extensions could not be read. */
  pck: PckExtensions | null;
}

/** A verifier holding the pinned root and its caches. Safe to share; holds no per-call state. */
export interface DcapQuoteVerifier {
  verify(quote: DcapQuote, options: DcapQuoteVerifyOptions): Promise<DcapQuoteVerifyResult>;
}

/**
 * Creates a verifier. It parses the pinned root once (lazily) and caches, per
 * instance, parsed certificates and CRLs, imported PCK keys, decoded PCK
 * extensions and the outcome of every certificate and CRL signature check. A
 * warm verifier therefore does, per quote: one attestation key import, two
 * ECDSA P-256 verifies (quote, QE report), one SHA-256 (the QE binding) and
 * cheap comparisons. Validity and CRL freshness are judged at every call's
 * `now`, never cached.
 */
export function createDcapQuoteVerifier(options: DcapQuoteVerifierOptions = {}): DcapQuoteVerifier {
  return new Verifier(options);
}

/**
 * One-shot verification with a fresh verifier (no warm cache). Prefer
 * `createDcapQuoteVerifier` when verifying many quotes.
 */
export function verifyDcapQuoteSignatures(
  quote: DcapQuote,
  options: DcapQuoteVerifyOptions & DcapQuoteVerifierOptions,
): Promise<DcapQuoteVerifyResult> {
  return createDcapQuoteVerifier(options).verify(quote, options);
}

const P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" } as const;

/** A parsed certificate with what verification needs, cached by its bytes. */
interface Cert {
  /** Unique per verifier: the cache hands out one Cert per byte string, so the id names the bytes. */
  id: number;
  der: Uint8Array;
  x509: X509Certificate;
  /** The imported ECDSA P-256 key; created on first use. */
  key?: Promise<CryptoKey>;
  /** Decoded SGX extensions (PCK certificates), or the error that decoding raised. */
  pck?: PckExtensions | EvidenceError;
  /** The names and window, read once: the library's getters re-derive them on every call. */
  subject: string;
  issuer: string;
  /** Normalised (see `normalizeSerial`). */
  serial: string;
  notBefore: number;
  notAfter: number;
  /** The role checks' outcomes by role (null: passed), computed on first use: the same bytes may come as a leaf in one quote and as a CA in another. */
  roles?: { pck?: string | null; pck_ca?: string | null };
}

/** A parsed CRL with what the checks read, derived once. */
interface Crl {
  /** Unique per verifier, like `Cert.id`. */
  id: number;
  der: Uint8Array;
  x509: X509Crl;
  issuer: string;
  thisUpdate: Date;
  nextUpdate: Date | undefined;
  /** Revoked serial numbers (normalised hex) → revocation date. */
  revoked: Map<string, Date>;
}

/** The pinned root, parsed, with whether it is a self-signed CA. */
interface Root {
  cert: Cert;
  /** null when it is a self-signed CA; else why not. */
  problem: string | null;
}

/** The chain roles, leaf first, as the quote carries them. */
const ROLES = ["pck", "pck_ca", "root"] as const;
type Role = (typeof ROLES)[number];
const ROLE_NAMES: Record<Role, string> = {
  pck: "PCK certificate",
  pck_ca: "PCK CA",
  root: "root CA",
};

class Verifier implements DcapQuoteVerifier {
  readonly #crypto: Crypto;
  readonly #rootInput: DcapCertificateInput;
  readonly #certs: Lru<Cert>;
  readonly #crls: Lru<Crl>;
  readonly #sigs: Lru<boolean>;
  /** Imported attestation keys by their 64 bytes (hex): a platform's QE keeps its key across quotes. */
  readonly #attestationKeys: Lru<Promise<CryptoKey>>;
  /**
   * The QE REPORT_DATA expected for an attestation key and QE authentication
   * data (hex of both): a platform's QE keeps both across quotes, so a warm
   * verifier skips the SHA-256 (a round trip to WebCrypto's thread pool).
   */
  readonly #bindings: Lru<Promise<Uint8Array>>;
  #nextId = 0;
  #root: Promise<Root> | undefined;

  constructor(options: DcapQuoteVerifierOptions) {
    this.#crypto = options.crypto ?? globalThis.crypto;
    this.#rootInput = options.root ?? INTEL_SGX_ROOT_CA;
    const size = options.cacheSize ?? 256;
    this.#certs = new Lru(size);
    this.#crls = new Lru(size);
    this.#sigs = new Lru(size);
    this.#attestationKeys = new Lru(size);
    this.#bindings = new Lru(size);
  }

  async verify(quote: DcapQuote, options: DcapQuoteVerifyOptions): Promise<DcapQuoteVerifyResult> {
    const { now } = options;
    const checks: Check[] = [];

    // The chain as the quote carries it, leaf first; what cannot be parsed is reported in (d).
    const parsed: (Cert | null)[] = [];
    const unparsable: Check[] = [];
    for (const [i, role] of ROLES.entries()) {
      const der = quote.pckChain[i];
      try {
        if (der === undefined) throw new Error("absent from the quote");
        parsed.push(this.#cert(der));
      } catch (e) {
        parsed.push(null);
        unparsable.push(
          fail(`dcap.verify.certificate.${role}`, "dcap.verify.certificate", {
            expected: `the ${ROLE_NAMES[role]} (certificate ${i + 1} of the PCK chain) as X.509 DER`,
            actual: `unparsable (${errorText(e)})`,
          }),
        );
      }
    }
    const [leaf, ca, quoteRoot] = parsed as [Cert | null, Cert | null, Cert | null];

    // The per-quote cryptography (two ECDSA verifies, one SHA-256) runs
    // concurrently: a warm verifier waits for the slowest, not for the sum.
    const perQuote = Promise.all([
      this.#quoteSignature(quote),
      this.#qeBinding(quote),
      this.#qeReportSignature(quote, leaf),
    ]);

    // (a) The QE is Intel's: only its reports and PCK chains are defined here.
    const vendor = toHex(quote.header.qeVendorId);
    checks.push(
      vendor === INTEL_QE_VENDOR_ID
        ? pass("dcap.verify.qe_vendor")
        : fail("dcap.verify.qe_vendor", "dcap.verify.qe_vendor", {
            expected: `QE vendor ID ${INTEL_QE_VENDOR_ID} (Intel)`,
            actual: vendor,
          }),
    );

    // (b) The attestation key signed header ‖ body, as received; (c) the QE
    // bound the attestation key: REPORT_DATA = SHA-256(key ‖ auth data) ‖ 0^32;
    // (g) below, the PCK key signed the QE report.
    const [quoteSignature, binding, qeReportSignature] = await perQuote;
    checks.push(quoteSignature, binding);

    // (d) The PCK chain: leaf ← PCK CA ← pinned root.
    const root = await this.#pinnedRoot();
    checks.push(
      root.problem === null
        ? pass("dcap.verify.root")
        : fail("dcap.verify.root", "dcap.verify.root", {
            expected: "the pinned root a self-signed CA certificate",
            actual: root.problem,
          }),
    );
    for (const c of unparsable) checks.push(c);

    // The quote's root must be the pinned one byte for byte; it is never used itself.
    if (quoteRoot) {
      checks.push(
        bytesEqual(quoteRoot.der, root.cert.der)
          ? pass("dcap.verify.chain.root")
          : fail("dcap.verify.chain.root", "dcap.verify.untrusted_root", {
              expected: `the pinned root "${root.cert.x509.subject}" (serial ${root.cert.x509.serialNumber})`,
              actual: `"${quoteRoot.x509.subject}" (serial ${quoteRoot.x509.serialNumber}), ${quoteRoot.der.length} bytes that differ from the pinned root's`,
            }),
      );
    }
    // The PCK CA by the pinned root, the leaf by the PCK CA.
    const caTrusted = ca ? await this.#link(ca, root.cert) : false;
    if (ca)
      checks.push(
        caTrusted ? pass("dcap.verify.chain.pck_ca") : this.#linkFailure("pck_ca", ca, root.cert),
      );
    if (leaf && ca) {
      const ok = await this.#link(leaf, ca);
      checks.push(ok ? pass("dcap.verify.chain.pck") : this.#linkFailure("pck", leaf, ca));
    }
    if (ca) checks.push(roleCheck("pck_ca", ca));
    if (leaf) checks.push(roleCheck("pck", leaf));

    // (e) Validity at `now`: the leaf, the PCK CA and the pinned root.
    if (leaf) checks.push(validity("pck", leaf, now));
    if (ca) checks.push(validity("pck_ca", ca, now));
    checks.push(validity("root", root.cert, now));

    // (f) The PCK certificate's SGX extensions (FMSPC, TCB, … for the collateral side).
    let pck: PckExtensions | null = null;
    if (leaf) {
      leaf.pck ??= decodePck(leaf.der);
      if (leaf.pck instanceof EvidenceError) {
        checks.push({
          id: "dcap.verify.pck_extensions",
          ok: false,
          code: leaf.pck.code,
          expected: "the Intel SGX extensions (1.2.840.113741.1.13.1) of a PCK certificate",
          actual: leaf.pck.message,
          remedy: CODES[leaf.pck.code].remedy,
        });
      } else {
        pck = leaf.pck;
        checks.push(pass("dcap.verify.pck_extensions"));
      }
    }

    // (g) The QE report was signed by the PCK key.
    checks.push(qeReportSignature);

    // (h) Revocation: the root CA CRL speaks for the PCK CA, the PCK CRL for the leaf.
    if (options.checkRevocation !== false) {
      for (const c of await this.#crlChecks(options, root.cert, ca, leaf)) checks.push(c);
    }

    return { ok: checks.every((c) => c.ok || c.severity === "warning"), checks, pck };
  }

  async #quoteSignature(quote: DcapQuote): Promise<Check> {
    const id = "dcap.verify.quote_signature";
    const region = `header ‖ body (bytes 0–${quote.signedBytes.length - 1})`;
    let key: CryptoKey;
    const name = toHex(quote.attestationKey);
    try {
      let imported = this.#attestationKeys.get(name);
      if (imported === undefined) {
        const point = new Uint8Array(65);
        point[0] = 0x04; // uncompressed SEC1 point
        point.set(quote.attestationKey, 1);
        imported = this.#crypto.subtle.importKey("raw", point, P256, false, ["verify"]);
        this.#attestationKeys.set(name, imported);
      }
      key = await imported;
    } catch (e) {
      // Not kept: a key that failed to import is reported again next time.
      this.#attestationKeys.delete(name);
      return fail(id, "dcap.verify.quote_signature", {
        expected: `an ECDSA P-256 signature over ${region} by the attestation key`,
        actual: `the attestation key ${toHex(quote.attestationKey)} is not a P-256 point (${errorText(e)})`,
      });
    }
    // The quote's r ‖ s is IEEE P1363, what WebCrypto takes.
    const ok = await this.#crypto.subtle.verify(
      ECDSA_SHA256,
      key,
      plain(quote.quoteSignature),
      plain(quote.signedBytes),
    );
    return ok
      ? pass(id)
      : fail(id, "dcap.verify.quote_signature", {
          expected: `an ECDSA P-256/SHA-256 signature over ${region} by the attestation key`,
          actual: "the signature does not verify",
        });
  }

  async #qeBinding(quote: DcapQuote): Promise<Check> {
    const id = "dcap.verify.qe_report_data";
    const name = `${toHex(quote.attestationKey)}:${toHex(quote.qeAuthData)}`;
    let digest = this.#bindings.get(name);
    if (digest === undefined) {
      const input = new Uint8Array(quote.attestationKey.length + quote.qeAuthData.length);
      input.set(quote.attestationKey);
      input.set(quote.qeAuthData, quote.attestationKey.length);
      digest = this.#crypto.subtle.digest("SHA-256", input).then((d) => {
        const want = new Uint8Array(64);
        want.set(new Uint8Array(d));
        return want;
      });
      this.#bindings.set(name, digest);
    }
    const want = await digest;
    if (bytesEqual(quote.qeReport.reportData, want)) return pass(id);
    return fail(id, "dcap.verify.qe_report_data", {
      expected: `QE REPORT_DATA = SHA-256(attestation key ‖ QE authentication data) ‖ 32 zero bytes = ${toHex(want)}`,
      actual: toHex(quote.qeReport.reportData),
    });
  }

  async #qeReportSignature(quote: DcapQuote, leaf: Cert | null): Promise<Check> {
    const id = "dcap.verify.qe_report_signature";
    const expected = "an ECDSA P-256/SHA-256 signature over the 384-byte QE report by the PCK key";
    if (!leaf) {
      return fail(id, "dcap.verify.qe_report_signature", {
        expected,
        actual: "not checked: the PCK certificate is unparsable",
      });
    }
    let key: CryptoKey;
    try {
      key = await this.#key(leaf);
    } catch (e) {
      return fail(id, "dcap.verify.certificate", {
        expected: "an ECDSA P-256 public key in the PCK certificate",
        actual: `${leaf.x509.publicKey.algorithm.name} key (${errorText(e)})`,
      });
    }
    const ok = await this.#crypto.subtle.verify(
      ECDSA_SHA256,
      key,
      plain(quote.qeReportSignature),
      plain(quote.qeReportRaw),
    );
    return ok
      ? pass(id)
      : fail(id, "dcap.verify.qe_report_signature", {
          expected,
          actual: `the signature does not verify with the key of "${leaf.x509.subject}" (serial ${leaf.x509.serialNumber})`,
        });
  }

  /** Whether `child` names `issuer` as its issuer and `issuer`'s key signed it. */
  async #link(child: Cert, issuer: Cert): Promise<boolean> {
    return child.issuer === issuer.subject && (await this.#signedBy(child, issuer));
  }

  #linkFailure(role: Role, child: Cert, issuer: Cert): Check {
    const id = `dcap.verify.chain.${role}`;
    const what = role === "pck_ca" ? "the pinned root" : "the PCK CA";
    const expected = `the ${ROLE_NAMES[role]} issued and signed (ECDSA P-256/SHA-256) by ${what} "${issuer.x509.subject}"`;
    if (child.x509.issuer !== issuer.x509.subject) {
      return fail(id, "dcap.verify.chain", {
        expected,
        actual: `"${child.x509.subject}" names issuer "${child.x509.issuer}"`,
      });
    }
    return fail(id, "dcap.verify.chain", {
      expected,
      actual: `"${child.x509.subject}" (serial ${child.x509.serialNumber}): the signature does not verify`,
    });
  }

  async #crlChecks(
    options: DcapQuoteVerifyOptions,
    root: Cert,
    ca: Cert | null,
    leaf: Cert | null,
  ): Promise<Check[]> {
    const out: Check[] = [];
    const required = options.requireCrl === true;
    const slots = [
      {
        name: "root_ca",
        input: options.crls?.rootCaCrl,
        label: "the Intel SGX Root CA CRL",
        issuer: root as Cert | null,
        subject: ca,
        subjectRole: "pck_ca" as Role,
      },
      {
        name: "pck",
        input: options.crls?.pckCrl,
        label: "the PCK CRL",
        issuer: ca,
        subject: leaf,
        subjectRole: "pck" as Role,
      },
    ];
    for (const s of slots) {
      const id = `dcap.verify.crl.${s.name}`;
      if (s.input === undefined || s.input === null) {
        out.push({
          id,
          ok: !required,
          code: "dcap.collateral.crl_unavailable",
          expected: `${s.label}${required ? " (requireCrl is set)" : " (optional)"}`,
          actual: `none given: revocation of the ${ROLE_NAMES[s.subjectRole]} not checked`,
          remedy: CODES["dcap.collateral.crl_unavailable"].remedy,
          severity: required ? "error" : "warning",
        });
        continue;
      }
      let crl: Crl;
      try {
        crl = await this.#crl(s.input);
      } catch (e) {
        out.push(
          fail(id, "dcap.collateral.crl", {
            expected: `${s.label} as DER or PEM`,
            actual: `unparsable (${errorText(e)}); revocation not checked`,
          }),
        );
        continue;
      }
      if (s.issuer === null) {
        out.push(
          fail(`${id}.issuer`, "dcap.collateral.crl_issuer", {
            expected: `${s.label} and the PCK CA that issued it`,
            actual: "the PCK CA certificate is unparsable; revocation not checked",
          }),
        );
        continue;
      }
      if (crl.issuer !== s.issuer.subject) {
        out.push(
          fail(`${id}.issuer`, "dcap.collateral.crl_issuer", {
            expected: `${s.label} issued by "${s.issuer.x509.subject}"`,
            actual: `a CRL issued by "${crl.issuer}"; revocation not checked`,
          }),
        );
        continue;
      }
      out.push(pass(`${id}.issuer`));
      const signed = await this.#crlSignedBy(crl, s.issuer);
      out.push(
        signed
          ? pass(`${id}.signature`)
          : fail(`${id}.signature`, "dcap.collateral.crl_signature", {
              expected: `${s.label} signed by "${s.issuer.x509.subject}"`,
              actual: "the signature does not verify; revocation not checked",
            }),
      );
      out.push(crlFreshness(`${id}.fresh`, crl, options.now));
      if (!signed || s.subject === null) continue;
      const revokedOn = crl.revoked.get(s.subject.serial);
      out.push(
        revokedOn
          ? fail(`dcap.verify.revoked.${s.subjectRole}`, "dcap.collateral.revoked", {
              expected: `the ${ROLE_NAMES[s.subjectRole]} (serial ${s.subject.x509.serialNumber}) not revoked by ${s.label}`,
              actual: `revoked on ${iso(revokedOn)}`,
            })
          : pass(`dcap.verify.revoked.${s.subjectRole}`),
      );
    }
    return out;
  }

  // ── caches ────────────────────────────────────────────────────────────

  #pinnedRoot(): Promise<Root> {
    this.#root ??= (async () => {
      const cert = this.#cert(derOf(this.#rootInput));
      let problem: string | null = null;
      const bc = cert.x509.getExtension(BasicConstraintsExtension);
      if (cert.x509.subject !== cert.x509.issuer) {
        problem = `"${cert.x509.subject}" is issued by "${cert.x509.issuer}", not by itself`;
      } else if (!bc?.ca) {
        problem = `"${cert.x509.subject}" is not a CA (basicConstraints cA is not set)`;
      } else if (!(await this.#signedBy(cert, cert))) {
        problem = `"${cert.x509.subject}": its signature does not verify under its own key`;
      }
      return { cert, problem };
    })();
    return this.#root;
  }

  #cert(der: Uint8Array): Cert {
    // Certificates end in a signature, so length + last 32 bytes picks the
    // candidate without a digest, and a full byte compare confirms it.
    const tail = `${der.length}:${toHex(der.subarray(der.length - 32))}`;
    const hit = this.#certs.get(tail);
    if (hit && bytesEqual(hit.der, der)) return hit;
    const own = der.slice(); // the caller may reuse its buffer; the cache keeps its own bytes
    const x509 = new X509Certificate(own);
    const cert: Cert = {
      id: this.#nextId++,
      der: own,
      x509,
      subject: x509.subject,
      issuer: x509.issuer,
      serial: normalizeSerial(x509.serialNumber),
      notBefore: x509.notBefore.getTime(),
      notAfter: x509.notAfter.getTime(),
    };
    this.#certs.set(tail, cert);
    return cert;
  }

  #key(cert: Cert): Promise<CryptoKey> {
    cert.key ??= cert.x509.publicKey.export(P256, ["verify"], this.#crypto);
    // A failed import is not cached: the next call reports it again.
    cert.key.catch(() => {
      cert.key = undefined;
    });
    return cert.key;
  }

  async #crl(input: DcapCrlInput): Promise<Crl> {
    const der = input instanceof X509Crl ? new Uint8Array(input.rawData) : derOf(input, "CRL");
    const tail = `${der.length}:${toHex(der.subarray(der.length - 32))}`;
    const hit = this.#crls.get(tail);
    if (hit && bytesEqual(hit.der, der)) return hit;
    const own = der.slice();
    const x509 = new X509Crl(own);
    const revoked = new Map<string, Date>();
    for (const e of x509.entries) revoked.set(normalizeSerial(e.serialNumber), e.revocationDate);
    const crl: Crl = {
      id: this.#nextId++,
      der: own,
      x509,
      issuer: x509.issuer,
      thisUpdate: x509.thisUpdate,
      nextUpdate: x509.nextUpdate,
      revoked,
    };
    this.#crls.set(tail, crl);
    return crl;
  }

  /**
   * Whether `child`'s signature verifies under `issuer`'s key, cached by the
   * ids of both: ids name exact byte strings, so an altered certificate never
   * meets a cached verdict.
   */
  #signedBy(child: Cert, issuer: Cert): Promise<boolean> {
    return cachedSignature(this.#sigs, `${child.id}<${issuer.id}`, () =>
      child.x509.verify({ publicKey: issuer.x509, signatureOnly: true }, this.#crypto),
    );
  }

  async #crlSignedBy(crl: Crl, issuer: Cert): Promise<boolean> {
    // An issuer key that cannot verify this CRL's algorithm throws: a failed signature.
    return cachedSignature(this.#sigs, `crl:${crl.id}<${issuer.id}`, async () =>
      // Import with the injected crypto ourselves: X509Crl.verify would use the global provider.
      crl.x509.verify({ publicKey: await this.#key(issuer) }, this.#crypto),
    );
  }
}

// ── checks that need no crypto ──────────────────────────────────────────────

/**
 * A CA must say so (basicConstraints cA, keyCertSign when keyUsage is
 * present), and the PCK certificate must not (RFC 5280 §4.2.1.9, §6.1.4). The
 * PCK CA's own pathLenConstraint is moot: only an end entity follows it.
 */
function roleCheck(role: "pck_ca" | "pck", cert: Cert): Check {
  const id = `dcap.verify.ca.${role}`;
  cert.roles ??= {};
  cert.roles[role] ??= roleProblem(role, cert.x509);
  const problem = cert.roles[role];
  if (problem === null) return pass(id);
  return fail(id, "dcap.verify.ca", {
    expected:
      role === "pck"
        ? "the PCK certificate an end entity (basicConstraints cA false or absent)"
        : "the PCK CA a CA (basicConstraints cA, keyUsage keyCertSign)",
    actual: `"${cert.subject}": ${problem}`,
  });
}

/** Why `x` cannot play `role`, or null when it can. */
function roleProblem(role: "pck_ca" | "pck", x: X509Certificate): string | null {
  const bc = x.getExtension(BasicConstraintsExtension);
  if (role === "pck") return bc?.ca ? "has cA set" : null;
  if (!bc?.ca) return "basicConstraints cA is not set";
  const ku = x.getExtension(KeyUsagesExtension);
  if (ku && (ku.usages & KeyUsageFlags.keyCertSign) === 0) return "keyUsage lacks keyCertSign";
  return null;
}

function validity(role: Role, cert: Cert, now: Date): Check {
  const id = `dcap.verify.validity.${role}`;
  const t = now.getTime();
  const window = () =>
    `${ROLE_NAMES[role]} "${cert.subject}" valid ${iso(new Date(cert.notBefore))} → ${iso(new Date(cert.notAfter))}`;
  // RFC 5280 §4.1.2.5: both bounds are inclusive.
  if (t < cert.notBefore) {
    return fail(id, "dcap.verify.not_yet_valid", {
      expected: `valid at ${iso(now)}`,
      actual: window(),
    });
  }
  if (t > cert.notAfter) {
    return fail(id, "dcap.verify.expired", { expected: `valid at ${iso(now)}`, actual: window() });
  }
  return pass(id);
}

function crlFreshness(id: string, crl: Crl, now: Date): Check {
  // Built only for a failure: this runs for every CRL of every quote.
  const window = () =>
    `thisUpdate ${iso(crl.thisUpdate)}, nextUpdate ${crl.nextUpdate ? iso(crl.nextUpdate) : "absent"}`;
  if (now.getTime() < crl.thisUpdate.getTime()) {
    return fail(id, "dcap.collateral.crl_not_yet_valid", {
      expected: `thisUpdate ≤ ${iso(now)}`,
      actual: window(),
    });
  }
  if (!crl.nextUpdate || now.getTime() > crl.nextUpdate.getTime()) {
    return fail(id, "dcap.collateral.crl_stale", {
      expected: `nextUpdate ≥ ${iso(now)}`,
      actual: window(),
    });
  }
  return pass(id);
}

/** A serial number as hex without leading zero bytes, lower-case: certificate and CRL spellings may differ. */
function normalizeSerial(hex: string): string {
  return hex.toLowerCase().replace(/^(00)+(?=.)/, "");
}

function decodePck(der: Uint8Array): PckExtensions | EvidenceError {
  try {
    return parsePckExtensions(der);
  } catch (e) {
    // A bounds-checked walk over bytes: it throws nothing but EvidenceError.
    return e as EvidenceError;
  }
}

// ── input decoding ──────────────────────────────────────────────────────────

/**
 * DER bytes from DER, PEM bytes or PEM text (the first block with `label`; a
 * CRL may be labelled "X509 CRL", as RFC 7468 says, or "CRL").
 */
function derOf(
  input: Uint8Array | string,
  label: "CERTIFICATE" | "CRL" = "CERTIFICATE",
): Uint8Array<ArrayBuffer> {
  const text =
    typeof input === "string"
      ? input
      : input[0] === 0x2d // "-": PEM given as bytes
        ? new TextDecoder().decode(input)
        : null;
  if (text === null) return plain(input as Uint8Array);
  const tag = label === "CRL" ? "(?:X509 )?CRL" : label;
  const m = new RegExp(`-----BEGIN ${tag}-----([A-Za-z0-9+/=\\s]*)-----END ${tag}-----`).exec(text);
  if (!m) throw new Error(`no PEM "${label}" block`);
  return Uint8Array.from(atob(m[1]!.replace(/\s+/g, "")), (c) => c.charCodeAt(0));
}

/** The same bytes backed by a plain ArrayBuffer, as WebCrypto's types demand (copied only if shared). */
function plain(b: Uint8Array): Uint8Array<ArrayBuffer> {
  return b.buffer instanceof ArrayBuffer ? (b as Uint8Array<ArrayBuffer>) : new Uint8Array(b);
}

function iso(d: Date): string {
  return d.toISOString();
}

/** The thrown value as text ("Error: …" for errors, whatever else was thrown otherwise). */
function errorText(e: unknown): string {
  return String(e);
}
