/**
 * Judge a Keep's TLS certificate chain: does it chain to the Steward CA, is it
 * valid now, what does its Keep-claims extension say, and does that meet the
 * policy? Every check that ran is in the verdict, pass or fail, with a code,
 * the expected and actual values and a remedy (the shape of `donjon attest
 * verify`'s verdicts, `Check` from @donjon/attest).
 *
 * Chain rules. The Steward signs Keep certificates with its CA directly
 * (packages/steward, `issueKeepCert`), so the path is exactly leaf → one of
 * the trusted Steward CA certificates. Further certificates the peer sends
 * (a Keep usually sends the CA's too) are ignored: a certificate that came
 * from the peer is never an anchor, and there are no intermediates to build.
 * The CA must be a CA (basicConstraints cA) allowed to sign certificates
 * (keyUsage keyCertSign when present) and valid now; the leaf must not be a
 * CA, must allow digitalSignature and serverAuth (when those extensions are
 * present) and carry no critical extension this verifier does not know
 * (RFC 5280 §4.2).
 *
 * Host names. The Steward writes a Keep certificate's subjectAltName from its
 * policy (`san`), which may not name the host a client dials (a Keep behind a
 * port forward, on a laptop, by IP address). So: when the certificate lists
 * DNS or IP names and a host is given, the host must be one of them (RFC 6125,
 * no CN fallback) unless `ignoreHostname`; when it lists none, the host is not
 * checked and the verdict says so — the Keep is then identified by its
 * claims (workload, measurement) alone, which is what the policy is for.
 *
 * The software tier (a sandbox Keep: the host can read and change it) passes
 * only when the policy says `allowSoftware: true`, and even then the verdict
 * carries the warning `client.software_tier`.
 *
 * Revocation. Given the Steward's CRL (`crl`, PEM or DER, from GET
 * /api/v1/crl), and once the chain verified, the CRL must be issued by the CA
 * the leaf chains to (issuer name and signature, and the CA may sign CRLs),
 * current (thisUpdate ≤ now ≤ nextUpdate; a CRL without nextUpdate is
 * refused), carry no critical extension this verifier does not know (RFC 5280
 * §5.2, §5.3), and not list the leaf's serial. Without `crl` the verdict's
 * `notChecked` says that revocation was not consulted — certificates live a
 * day by default. Only full CRLs from the certificate's own issuer are read:
 * no delta CRLs, no indirect CRLs, no distribution points (their critical
 * extensions are refused as unknown).
 */
import { type KeyObject, verify as verifySigned, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import type { Check } from "@donjon/attest";
import {
  type CertificateExtension,
  certificateExtensions,
  decodeKeepClaimsValue,
  KEEP_CLAIMS_OID,
  KEEP_CLAIMS_TCB_STATUSES,
  KEEP_CLAIMS_TEES,
  type KeepCertClaims,
} from "@donjon/attest/claims";
import { children, encoded, whole } from "./_der.ts";
import { normalizeSerial, type ParsedCrl, parseCrl } from "./crl.ts";
import { CLIENT_ERRORS, type ClientCode, ClientError } from "./error.ts";

/** What the client requires of the Keep, beyond a valid chain and claims. Every field: not checked if unset. */
export interface KeepPeerPolicy {
  /** TEE types accepted (`snp`, `tdx`, `sgx`, `sandbox`). Default: any. */
  tees?: readonly string[];
  /**
   * Accept the software tier (a sandbox Keep: no hardware confidentiality, its
   * host can read and change it). Default false: refused.
   */
  allowSoftware?: boolean;
  /** Launch measurements accepted (lowercase or uppercase hex). Default: any. */
  measurements?: readonly string[];
  /** Workload identities accepted (64 hex digits). Default: any. */
  workloads?: readonly string[];
  /** TCB statuses accepted (`meets-minimum`, `not-checked`, `none`; Intel's `UpToDate`, `OutOfDate`…). Default: any. */
  tcbStatuses?: readonly string[];
}

/** Options of {@link verifyKeepCertificate}. */
export interface VerifyKeepOptions {
  /** The Steward CA: PEM text (one or more certificates), or DER certificates. Required. */
  stewardCa: string | readonly Uint8Array[];
  /** The workload identity expected (64 hex digits, as `donjon run` prints it). Not checked if unset. */
  workload?: string;
  /** What else is required. Default: the empty policy (any TEE, hardware tier only). */
  policy?: KeepPeerPolicy;
  /** The host dialled (DNS name or IP address), checked against the certificate's names. Not checked if unset. */
  host?: string;
  /** Do not check `host` even when the certificate lists names. Default false. */
  ignoreHostname?: boolean;
  /** The verification time. Default: the system clock. */
  now?: () => Date;
  /**
   * The Steward's CRL: PEM text (`-----BEGIN X509 CRL-----`) or bytes (DER, or
   * PEM text), as GET /api/v1/crl serves it ({@link fetchStewardCrl}). Read
   * once; it must be current at each verification (the Steward's is valid one
   * hour). An agent also takes `{ url }` and keeps it fresh
   * (`KeepCrlSource`). Not checked if unset:
   * the verdict's `notChecked` then says revocation was not consulted.
   */
  crl?: string | Uint8Array;
}

/** Facts about the certificate that was judged. */
export interface KeepCertificateInfo {
  subject: string;
  issuer: string;
  /** Serial number, lowercase hex. */
  serial: string;
  notBefore: string;
  notAfter: string;
  /** subjectAltName entries as Node prints them (`DNS:keep.example`, `IP Address:127.0.0.1`, `URI:…`). */
  san: string[];
  /** SHA-256 of the DER, lowercase hex. */
  sha256: string;
}

/** The verdict on a Keep's certificate chain: every check that ran. */
export interface KeepVerdict {
  /** True when no check of severity "error" failed: a genuine Keep meeting the policy. */
  ok: boolean;
  /** The verification time (ISO 8601). */
  at: string;
  /** Every check that ran, in order: chain, validity, revocation, claims, host name, policy. */
  checks: Check[];
  /** Failed checks of severity "warning" (`client.software_tier`); they do not fail the verdict. */
  warnings: Check[];
  /** The Keep's claims; null when the certificate has none or they are malformed. */
  claims: KeepCertClaims | null;
  /** The Keep's certificate; null when there was none or it did not parse. */
  certificate: KeepCertificateInfo | null;
  /** The Steward CA the leaf chains to; null when none. */
  steward: { subject: string; sha256: string } | null;
  /** What the verdict does not cover, one sentence each (for "what was not proved"). */
  notChecked: string[];
}

/** A Steward CA resolved once: its certificates, parsed and checked to be CA certificates. */
export interface StewardTrust {
  certs: readonly X509Certificate[];
}

const OID = {
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  subjectAltName: "2.5.29.17",
  subjectKeyId: "2.5.29.14",
  authorityKeyId: "2.5.29.35",
  nameConstraints: "2.5.29.30",
  policyConstraints: "2.5.29.36",
  certificatePolicies: "2.5.29.32",
} as const;
/** Extensions this verifier understands, so may be critical (RFC 5280 §4.2: an unknown critical one is refused). */
const KNOWN = new Set<string>([
  OID.basicConstraints,
  OID.keyUsage,
  OID.extKeyUsage,
  OID.subjectAltName,
  OID.subjectKeyId,
  OID.authorityKeyId,
  KEEP_CLAIMS_OID,
]);
const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const HEX64 = /^[0-9a-fA-F]{64}$/;

/**
 * Parse the Steward CA (PEM text with one or more certificates, or DERs) and
 * check each is a CA certificate.
 *
 * @throws {ClientError} `client.options`.
 */
export function stewardTrust(ca: string | readonly Uint8Array[]): StewardTrust {
  const ders: Uint8Array[] = [];
  if (typeof ca === "string") {
    const re = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;
    for (const m of ca.matchAll(re)) ders.push(new Uint8Array(Buffer.from(m[1]!, "base64")));
    if (ders.length === 0) {
      throw new ClientError(
        "client.options",
        "stewardCa: expected PEM text with at least one certificate (-----BEGIN CERTIFICATE-----), as the Steward's ca.pem",
      );
    }
  } else if (Array.isArray(ca) && ca.length > 0 && ca.every((d) => d instanceof Uint8Array)) {
    ders.push(...ca);
  } else {
    throw new ClientError(
      "client.options",
      "stewardCa: expected PEM text or a non-empty array of DER certificates (Uint8Array)",
    );
  }
  const certs = ders.map((d, i) => {
    let c: X509Certificate;
    try {
      c = new X509Certificate(d);
    } catch (cause) {
      throw new ClientError("client.options", `stewardCa: certificate ${i} is not X.509 DER`, {
        cause,
      });
    }
    if (!c.ca) {
      throw new ClientError(
        "client.options",
        `stewardCa: certificate ${i} (${c.subject.replaceAll("\n", ", ")}) is not a CA certificate (basicConstraints cA is not true); pass the Steward's ca.pem, not a Keep's or the Steward's TLS certificate`,
      );
    }
    let ku: number | null;
    try {
      ku = keyUsageBits(certificateExtensions(d));
    } catch (cause) {
      throw new ClientError("client.options", `stewardCa: certificate ${i} is malformed`, {
        cause,
      });
    }
    if (ku !== null && (ku & KU_KEY_CERT_SIGN) === 0) {
      throw new ClientError(
        "client.options",
        `stewardCa: certificate ${i} (${oneLine(c.subject)}) may not sign certificates (keyUsage lacks keyCertSign)`,
      );
    }
    return c;
  });
  return { certs };
}

/**
 * Judge a Keep's certificate chain (DER, leaf first, as the peer sent it).
 * Never throws for what the peer sent: a refusal is a verdict with failed checks.
 *
 * @throws {ClientError} `client.options` for invalid options.
 */
export function verifyKeepCertificate(
  chain: readonly Uint8Array[],
  options: VerifyKeepOptions,
): KeepVerdict {
  const trust = stewardTrust(options.stewardCa);
  return judge(chain, trust, resolveOptions(options));
}

/** Options after checking, with defaults applied. @internal */
export interface ResolvedVerifyOptions {
  workload: string | undefined;
  policy: KeepPeerPolicy;
  host: string | undefined;
  ignoreHostname: boolean;
  now: () => Date;
  /** The CRL given, read once: what it says, or why it could not be read. Undefined: none given. */
  crl: ResolvedCrl | undefined;
}

/**
 * A CRL to judge with, or why there is none. `note` is appended to the
 * `client.revocation.crl` check's actual (a refresh that failed); `code` is the
 * failed check's code when there is no CRL (default `client.crl`). @internal
 */
export type ResolvedCrl =
  | { crl: ParsedCrl; note?: string }
  | { error: string; code?: "client.crl" | "client.crl_unavailable" };

/** Check options once (an agent checks them when it is made). @internal */
export function resolveOptions(o: Omit<VerifyKeepOptions, "stewardCa">): ResolvedVerifyOptions {
  const bad = (m: string): never => {
    throw new ClientError("client.options", m);
  };
  if (o.workload !== undefined && (typeof o.workload !== "string" || !HEX64.test(o.workload))) {
    bad(
      `workload: expected 64 hex digits (a workload identity), got ${JSON.stringify(o.workload)}`,
    );
  }
  const p = o.policy ?? {};
  const list = (name: string, v: unknown, ok: (s: string) => boolean, want: string) => {
    if (v === undefined) return;
    if (!Array.isArray(v) || v.some((x) => typeof x !== "string" || !ok(x))) {
      bad(`policy.${name}: expected an array of ${want}, got ${JSON.stringify(v)}`);
    }
  };
  list(
    "tees",
    p.tees,
    (s) => (KEEP_CLAIMS_TEES as readonly string[]).includes(s),
    KEEP_CLAIMS_TEES.join(" | "),
  );
  list(
    "measurements",
    p.measurements,
    (s) => /^(?:[0-9a-fA-F]{2}){32,64}$/.test(s),
    "hex strings (32–64 bytes)",
  );
  list("workloads", p.workloads, (s) => HEX64.test(s), "64-hex-digit workload identities");
  list(
    "tcbStatuses",
    p.tcbStatuses,
    (s) => (KEEP_CLAIMS_TCB_STATUSES as readonly string[]).includes(s),
    KEEP_CLAIMS_TCB_STATUSES.join(" | "),
  );
  if (p.allowSoftware !== undefined && typeof p.allowSoftware !== "boolean") {
    bad("policy.allowSoftware: expected a boolean");
  }
  if (o.now !== undefined && typeof o.now !== "function")
    bad("now: expected a function returning a Date");
  let crl: ResolvedVerifyOptions["crl"];
  if (o.crl !== undefined) {
    if (typeof o.crl !== "string" && !(o.crl instanceof Uint8Array)) {
      bad(
        "crl: expected the Steward's CRL as PEM text or bytes (Uint8Array: DER or PEM), as GET /api/v1/crl serves it",
      );
    }
    // A CRL that cannot be read is a failed check of every verdict, not an exception:
    // what the Steward published is evidence, like the peer's chain.
    try {
      crl = { crl: parseCrl(o.crl) };
    } catch (e) {
      if (!(e instanceof ClientError)) throw e;
      crl = { error: e.message.replace(/^crl: /, "") };
    }
  }
  return {
    workload: o.workload?.toLowerCase(),
    policy: p,
    host: o.host,
    ignoreHostname: o.ignoreHostname === true,
    now: o.now ?? (() => new Date()),
    crl,
  };
}

/** The verdict for `chain` against resolved trust and options. @internal */
export function judge(
  chain: readonly Uint8Array[],
  trust: StewardTrust,
  o: ResolvedVerifyOptions,
): KeepVerdict {
  const now = o.now();
  const checks: Check[] = [];
  const pass = (id: string, expected: string, actual: string) =>
    checks.push({ id, ok: true, expected, actual });
  const failCheck = (id: string, code: ClientCode, expected: string, actual: string) =>
    checks.push({ id, ok: false, code, expected, actual, remedy: CLIENT_ERRORS[code].remedy });
  const notChecked: string[] = [];
  if (o.crl === undefined) {
    notChecked.push(
      "revocation: the Steward's CRL (GET /api/v1/crl) was not consulted (pass crl, or donjon verify --crl)",
    );
  }
  const verdict = (
    claims: KeepCertClaims | null,
    certificate: KeepCertificateInfo | null,
    steward: KeepVerdict["steward"],
  ): KeepVerdict => {
    const warnings = checks.filter((c) => !c.ok && c.severity === "warning");
    return {
      ok: checks.every((c) => c.ok || c.severity === "warning"),
      at: now.toISOString(),
      checks,
      warnings,
      claims,
      certificate,
      steward,
      notChecked,
    };
  };

  // ── the leaf ────────────────────────────────────────────────────────────
  const leafDer = chain[0];
  let leaf: X509Certificate | undefined;
  let exts: CertificateExtension[] = [];
  if (leafDer === undefined) {
    failCheck(
      "client.chain.leaf",
      "client.chain",
      "the peer's certificate",
      "the peer sent no certificate",
    );
  } else {
    try {
      leaf = new X509Certificate(leafDer);
      exts = certificateExtensions(leafDer);
    } catch (e) {
      leaf = undefined;
      failCheck(
        "client.chain.leaf",
        "client.chain",
        "the peer's certificate as X.509 DER",
        `not a well-formed certificate: ${(e as Error).message}`,
      );
    }
  }
  if (!leaf || leafDer === undefined) {
    if (o.crl !== undefined)
      notChecked.push("revocation: not checked, there is no certificate to look up");
    return verdict(null, null, null);
  }
  const certificate = info(leaf);

  // ── chain to the Steward CA ─────────────────────────────────────────────
  const issuers = trust.certs.filter((ca) => leaf.checkIssued(ca));
  const anchor = issuers.find((ca) => verifySignature(leaf, ca.publicKey));
  const caNames = trust.certs.map((c) => oneLine(c.subject)).join("; ");
  if (anchor) {
    pass(
      "client.chain.signature",
      `signed by the Steward CA (${caNames})`,
      `signed by ${oneLine(anchor.subject)}`,
    );
  } else {
    failCheck(
      "client.chain.signature",
      "client.chain",
      `signed by the Steward CA (${caNames})`,
      issuers.length > 0
        ? `issued in the CA's name (${oneLine(leaf.issuer)}) but the signature does not verify with its key`
        : `issued by ${oneLine(leaf.issuer)}, which is not the Steward CA given`,
    );
  }
  if (anchor) {
    validity("client.validity.ca", "the Steward CA certificate", anchor, now, pass, failCheck);
  }

  // ── the leaf's own constraints ──────────────────────────────────────────
  const problems: string[] = [];
  if (leaf.ca) problems.push("it is a CA certificate (basicConstraints cA)");
  const ku = keyUsageBits(exts);
  if (ku !== null && (ku & KU_DIGITAL_SIGNATURE) === 0)
    problems.push("keyUsage lacks digitalSignature");
  const eku = leaf.keyUsage;
  if (exts.some((e) => e.oid === OID.extKeyUsage) && !(eku ?? []).includes(SERVER_AUTH)) {
    problems.push("extKeyUsage lacks serverAuth");
  }
  for (const e of exts) {
    if (e.critical && !KNOWN.has(e.oid)) problems.push(`an unknown critical extension ${e.oid}`);
  }
  if (problems.length > 0) {
    failCheck(
      "client.chain.leaf",
      "client.chain",
      "a TLS server end-entity certificate",
      problems.join("; "),
    );
  } else {
    pass(
      "client.chain.leaf",
      "a TLS server end-entity certificate",
      "not a CA; digitalSignature; serverAuth",
    );
  }
  validity("client.validity.leaf", "the Keep's certificate", leaf, now, pass, failCheck);

  // ── revocation: the Steward's CRL ───────────────────────────────────────
  if (o.crl !== undefined) {
    if (anchor) revocationChecks(o.crl, anchor, leaf, now, pass, failCheck, notChecked);
    else
      notChecked.push(
        "revocation: the CRL was not checked, the certificate does not chain to the Steward CA given",
      );
  }

  // ── claims ──────────────────────────────────────────────────────────────
  let claims: KeepCertClaims | null = null;
  const ext = exts.find((e) => e.oid === KEEP_CLAIMS_OID);
  if (!ext) {
    failCheck(
      "client.claims",
      "client.claims",
      `the Donjon Keep-claims extension (${KEEP_CLAIMS_OID})`,
      "none: this certificate does not describe an attested Keep",
    );
  } else {
    try {
      claims = decodeKeepClaimsValue(ext.value);
      pass(
        "client.claims",
        "well-formed Keep claims (version 1)",
        `tee ${claims.tee}, tier ${claims.tier}`,
      );
    } catch (e) {
      const code = (e as { code?: string }).code;
      failCheck(
        "client.claims",
        "client.claims",
        "well-formed Keep claims (version 1)",
        `${code ?? "malformed"}: ${(e as Error).message}`,
      );
    }
  }

  // ── host name ───────────────────────────────────────────────────────────
  const names = certificate.san.filter((n) => n.startsWith("DNS:") || n.startsWith("IP Address:"));
  if (o.host === undefined) {
    notChecked.push("host name: no host was given to check against the certificate");
  } else if (o.ignoreHostname) {
    notChecked.push(
      `host name: not checked (ignoreHostname); the certificate names ${names.length > 0 ? names.join(", ") : "no host"}`,
    );
  } else if (names.length === 0) {
    notChecked.push(
      "host name: the certificate names no host (the Steward's policy gives it no DNS/IP san); the Keep is identified by its claims",
    );
  } else {
    const host = o.host.replace(/^\[(.*)\]$/, "$1");
    const matched = isIP(host)
      ? leaf.checkIP(host) !== undefined
      : leaf.checkHost(host, { subject: "never" }) !== undefined;
    if (matched) pass("client.hostname", `a name for ${host}`, names.join(", "));
    else failCheck("client.hostname", "client.hostname", `a name for ${host}`, names.join(", "));
  }

  // ── policy ──────────────────────────────────────────────────────────────
  if (claims) policyChecks(claims, o, checks, pass, failCheck, notChecked);
  else notChecked.push("policy: not applied, the certificate carries no readable claims");

  return verdict(
    claims,
    certificate,
    anchor ? { subject: oneLine(anchor.subject), sha256: sha256Of(anchor) } : null,
  );
}

function policyChecks(
  c: KeepCertClaims,
  o: ResolvedVerifyOptions,
  checks: Check[],
  pass: (id: string, expected: string, actual: string) => void,
  failCheck: (id: string, code: ClientCode, expected: string, actual: string) => void,
  notChecked: string[],
): void {
  const p = o.policy;
  if (p.tees && p.tees.length > 0) {
    if (p.tees.includes(c.tee)) pass("client.policy.tee", `one of ${p.tees.join(", ")}`, c.tee);
    else failCheck("client.policy.tee", "client.policy.tee", `one of ${p.tees.join(", ")}`, c.tee);
  }
  if (c.tier === "hardware") {
    pass("client.policy.tier", "hardware tier", `hardware (${c.tee})`);
  } else if (p.allowSoftware === true) {
    pass(
      "client.policy.tier",
      "hardware tier, or software tier (allowed by the policy)",
      "software",
    );
    checks.push({
      id: "client.policy.tier",
      ok: false,
      severity: "warning",
      code: "client.software_tier",
      expected: "hardware tier",
      actual:
        "software tier: no hardware confidentiality (a sandbox Keep; its host can read and change it)",
      remedy: CLIENT_ERRORS["client.software_tier"].remedy,
    });
  } else {
    failCheck(
      "client.policy.tier",
      "client.policy.tier",
      "hardware tier (the policy does not allow the software tier)",
      "software tier: no hardware confidentiality (a sandbox Keep; its host can read and change it)",
    );
  }
  if (p.measurements && p.measurements.length > 0) {
    const allowed = p.measurements.map((m) => m.toLowerCase());
    if (allowed.includes(c.measurement))
      pass("client.policy.measurement", "an allowed measurement", c.measurement);
    else
      failCheck(
        "client.policy.measurement",
        "client.policy.measurement",
        `one of ${allowed.join(", ")}`,
        c.measurement,
      );
  } else
    notChecked.push(
      "measurement: no allow-list given; any launch measurement the Steward accepted passes",
    );
  const wanted: string[] = [];
  if (o.workload !== undefined) wanted.push(o.workload);
  const listed = p.workloads?.map((w) => w.toLowerCase());
  if (o.workload !== undefined || (listed && listed.length > 0)) {
    const expected =
      o.workload !== undefined
        ? `workload identity ${o.workload}${listed && listed.length > 0 ? ` (and one of the policy's ${listed.length})` : ""}`
        : `one of ${listed!.join(", ")}`;
    const got = c.workload ?? "none (the evidence names no workload)";
    const ok =
      c.workload !== null &&
      (o.workload === undefined || c.workload === o.workload) &&
      (!listed || listed.length === 0 || listed.includes(c.workload));
    if (ok) pass("client.policy.workload", expected, got);
    else failCheck("client.policy.workload", "client.policy.workload", expected, got);
  } else
    notChecked.push(
      "workload identity: no expected identity given; any workload the Steward certified passes",
    );
  if (p.tcbStatuses && p.tcbStatuses.length > 0) {
    if (p.tcbStatuses.includes(c.tcbStatus))
      pass("client.policy.tcb", `one of ${p.tcbStatuses.join(", ")}`, c.tcbStatus);
    else
      failCheck(
        "client.policy.tcb",
        "client.policy.tcb",
        `one of ${p.tcbStatuses.join(", ")}`,
        c.tcbStatus,
      );
  }
  if (c.tcbStatus === "not-checked")
    notChecked.push(
      "TCB: the Steward did not compare the TCB to a minimum (no min_tcb in its policy)",
    );
  if (c.tcbStatus === "none") notChecked.push("TCB: none (a sandbox has no hardware TCB)");
  if ((c.tee === "tdx" || c.tee === "sgx") && c.tcbStatus !== "UpToDate") {
    notChecked.push(
      `TCB: Intel's status is ${c.tcbStatus}, not UpToDate (the Steward's policy accepted it)`,
    );
  }
}

/** RFC 5280 §5.2 CRL extensions this verifier knows: authorityKeyIdentifier, cRLNumber. */
const KNOWN_CRL = new Set(["2.5.29.35", "2.5.29.20"]);
/** RFC 5280 §5.3 entry extensions this verifier knows: reasonCode, invalidityDate. */
const KNOWN_CRL_ENTRY = new Set(["2.5.29.21", "2.5.29.24"]);
/** Signature algorithms (OID content bytes, hex) and the hash node:crypto verifies with (null: the key's own, Ed25519/Ed448). */
const SIGNATURE_HASH: Record<string, string | null> = {
  "2a8648ce3d040302": "sha256", // ecdsa-with-SHA256
  "2a8648ce3d040303": "sha384", // ecdsa-with-SHA384
  "2a8648ce3d040304": "sha512", // ecdsa-with-SHA512
  "2a864886f70d01010b": "sha256", // sha256WithRSAEncryption
  "2a864886f70d01010c": "sha384", // sha384WithRSAEncryption
  "2a864886f70d01010d": "sha512", // sha512WithRSAEncryption
  "2b6570": null, // Ed25519
  "2b6571": null, // Ed448
};
const KU_CRL_SIGN = 0x02;

/**
 * The CRL checks (RFC 5280 §6.3.3, for a full CRL from the certificate's own
 * issuer): `client.revocation.crl` — readable, issued and signed by `anchor`,
 * current, no unknown critical extension — then `client.revocation`, the
 * leaf's serial not listed. The first failure of the CRL ends it: the
 * contents of a CRL that is not the CA's, or not current, mean nothing.
 */
function revocationChecks(
  given: NonNullable<ResolvedVerifyOptions["crl"]>,
  anchor: X509Certificate,
  leaf: X509Certificate,
  now: Date,
  pass: (id: string, expected: string, actual: string) => void,
  failCheck: (id: string, code: ClientCode, expected: string, actual: string) => void,
  notChecked: string[],
): void {
  const ca = oneLine(anchor.subject);
  const expected = `a current CRL issued and signed by the Steward CA (${ca}), at ${now.toISOString()}`;
  if ("error" in given) {
    const code = given.code ?? "client.crl";
    failCheck("client.revocation.crl", code, expected, given.error);
    notChecked.push(
      code === "client.crl"
        ? "revocation: not checked, the CRL given cannot be used (client.crl)"
        : `revocation: not checked, there is no CRL to use (${code})`,
    );
    return;
  }
  const crl = given.crl;
  const note = given.note === undefined ? "" : `; ${given.note}`;
  const problem = crlProblem(crl, anchor, now);
  if (problem !== null) {
    failCheck("client.revocation.crl", "client.crl", expected, problem + note);
    notChecked.push("revocation: not checked, the CRL given cannot be used (client.crl)");
    return;
  }
  const n = crl.entries.length;
  const count = `${n} entr${n === 1 ? "y" : "ies"}`;
  pass(
    "client.revocation.crl",
    expected,
    `signed by ${ca}; thisUpdate ${crl.thisUpdate.toISOString()}, nextUpdate ${crl.nextUpdate!.toISOString()}; ${count}${note}`,
  );
  const serial = normalizeSerial(leaf.serialNumber);
  const listed = crl.entries.find((e) => e.serial === serial);
  const want = `serial ${serial} not on the Steward's CRL`;
  if (listed) {
    failCheck(
      "client.revocation",
      "client.revoked",
      want,
      `revoked: serial ${serial}, on ${listed.revokedAt.toISOString()}${listed.reason ? `, reason ${listed.reason}` : ", no reason given"}`,
    );
  } else {
    pass(
      "client.revocation",
      want,
      `not listed (${count}, thisUpdate ${crl.thisUpdate.toISOString()})`,
    );
  }
}

/** Why `crl` cannot be used to judge a certificate `anchor` issued, at `now`; null when it can. @internal */
export function crlProblem(crl: ParsedCrl, anchor: X509Certificate, now: Date): string | null {
  const ca = oneLine(anchor.subject);
  const window = `thisUpdate ${crl.thisUpdate.toISOString()}, nextUpdate ${crl.nextUpdate?.toISOString() ?? "none"}`;
  let subject: Uint8Array;
  try {
    subject = subjectDer(anchor);
  } catch (e) {
    // OpenSSL accepted the CA certificate; the strict walker may not (BER lengths).
    return `the Steward CA certificate's subject could not be read to compare (${(e as Error).message})`;
  }
  if (Buffer.compare(crl.issuerDer, subject) !== 0) {
    return `issued by ${crl.issuer}, not by the Steward CA the certificate chains to`;
  }
  const ku = keyUsageBits(certificateExtensions(new Uint8Array(anchor.raw)));
  if (ku !== null && (ku & KU_CRL_SIGN) === 0) {
    return `the Steward CA (${ca}) may not sign CRLs (keyUsage lacks cRLSign)`;
  }
  const hash = SIGNATURE_HASH[crl.signatureAlgorithm];
  if (hash === undefined) {
    return `a signature algorithm this verifier does not know (OID bytes ${crl.signatureAlgorithm || "none"})`;
  }
  let signed = false;
  try {
    signed = verifySigned(
      hash,
      crl.tbs,
      { key: anchor.publicKey, dsaEncoding: "der" },
      crl.signature,
    );
  } catch {
    signed = false;
  }
  if (!signed) {
    return `issued in the CA's name (${crl.issuer}) but the signature does not verify with its key`;
  }
  if (crl.nextUpdate === null) {
    return `no nextUpdate (thisUpdate ${crl.thisUpdate.toISOString()}): a CRL that never goes stale cannot be current`;
  }
  if (now < crl.thisUpdate) return `not yet valid: ${window}, now ${now.toISOString()}`;
  if (now > crl.nextUpdate) return `stale: ${window}, now ${now.toISOString()}`;
  const unknown = crl.extensions.filter((e) => e.critical && !KNOWN_CRL.has(e.oid));
  if (unknown.length > 0) {
    return `an unknown critical CRL extension ${unknown.map((e) => e.oid).join(", ")} (RFC 5280 §5.2)`;
  }
  for (const entry of crl.entries) {
    const bad = entry.extensions.filter((e) => e.critical && !KNOWN_CRL_ENTRY.has(e.oid));
    if (bad.length > 0) {
      return `an unknown critical entry extension ${bad.map((e) => e.oid).join(", ")} on serial ${entry.serial} (RFC 5280 §5.3)`;
    }
  }
  return null;
}

/** The subject Name of a certificate, DER as encoded in it (RFC 5280 §4.1: the sixth field of tbsCertificate, after the optional [0] version). */
function subjectDer(c: X509Certificate): Uint8Array {
  const der = new Uint8Array(c.raw);
  const tbs = children(der, whole(der))[0]!;
  const f = children(der, tbs);
  const i = f[0]!.tag === 0xa0 ? 1 : 0;
  return encoded(der, f[i + 4]!);
}

function validity(
  id: string,
  what: string,
  c: X509Certificate,
  now: Date,
  pass: (id: string, expected: string, actual: string) => void,
  failCheck: (id: string, code: ClientCode, expected: string, actual: string) => void,
): void {
  const from = c.validFromDate;
  const to = c.validToDate;
  const window = `${from.toISOString()} to ${to.toISOString()}`;
  const expected = `${what} valid at ${now.toISOString()}`;
  if (now < from) failCheck(id, "client.expired", expected, `not yet valid: ${window}`);
  else if (now > to) failCheck(id, "client.expired", expected, `expired: ${window}`);
  else pass(id, expected, window);
}

function verifySignature(leaf: X509Certificate, key: KeyObject): boolean {
  try {
    return leaf.verify(key);
  } catch {
    return false;
  }
}

const KU_DIGITAL_SIGNATURE = 0x80;
const KU_KEY_CERT_SIGN = 0x04;

/** The first byte of keyUsage's BIT STRING (RFC 5280 §4.2.1.3: bit 0 is the top bit); null without the extension. */
function keyUsageBits(exts: readonly CertificateExtension[]): number | null {
  const e = exts.find((x) => x.oid === OID.keyUsage);
  if (!e) return null;
  const v = e.value;
  // KeyUsage ::= BIT STRING: tag 03, length, unused-bit count, then the bits.
  if (v[0] !== 0x03 || v[1] === undefined || v[1] < 1 || v.length !== 2 + v[1]) return 0;
  return v[3] ?? 0;
}

function info(c: X509Certificate): KeepCertificateInfo {
  return {
    subject: oneLine(c.subject),
    issuer: oneLine(c.issuer),
    serial: c.serialNumber.toLowerCase(),
    notBefore: c.validFromDate.toISOString(),
    notAfter: c.validToDate.toISOString(),
    san: c.subjectAltName ? c.subjectAltName.split(/,\s*/) : [],
    sha256: sha256Of(c),
  };
}

function sha256Of(c: X509Certificate): string {
  return c.fingerprint256.replaceAll(":", "").toLowerCase();
}

/** Node prints a DN one attribute per line; a verdict shows it on one. */
function oneLine(dn: string): string {
  return dn.split("\n").filter(Boolean).join(", ");
}

/** Throw the first failed check of a refused verdict as a ClientError carrying the verdict. */
export function throwIfRefused(v: KeepVerdict): void {
  if (v.ok) return;
  const failed = v.checks.filter((c) => !c.ok && c.severity !== "warning");
  const first = failed[0]!;
  const codes = [...new Set(failed.map((c) => c.code))].join(", ");
  throw new ClientError(
    first.code as ClientCode,
    `Keep refused: ${failed.length} check${failed.length === 1 ? "" : "s"} failed (${codes}); ${first.id}: expected ${first.expected}, got ${first.actual}`,
    { verdict: v },
  );
}
