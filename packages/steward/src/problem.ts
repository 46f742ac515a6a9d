/**
 * What the Steward answers when it does not issue: RFC 9457 problem details
 * (`application/problem+json`), and the registry of the codes it uses for
 * requests it cannot read.
 *
 * Two kinds of "no", two statuses (STYLE "Errors": broken input and unmet
 * policy are different things):
 *
 * - **400 malformed**: the request is not a well-formed attestation request —
 *   not DER, not a PKCS#10 CSR, a signature that does not verify, no evidence
 *   extension or two, evidence that does not decode. One code says what.
 * - **403 refused**: the request is well formed and its evidence was judged —
 *   and some checks failed. Every failed check is listed with
 *   `{code, expected, actual, remedy}`.
 * - **413 too large**: the body exceeds the configured limit (the HTTP layer
 *   decides; the body is never read).
 *
 * Everything in these bodies is safe to show to the workload owner: codes,
 * values the Keep itself sent or the policy's own lists, and remedies — never a
 * stack, a file path, a key or the evidence itself.
 */

/** The `type` URI prefix of every Steward problem. */
export const PROBLEM_TYPE_BASE = "https://donjon.dev/problems/";
/** Media type of a problem body (RFC 9457 §3). */
export const PROBLEM_MEDIA_TYPE = "application/problem+json";

/** One failed check as the workload owner sees it. Same shape as the audit log's `FailedCheck`. */
export interface FailedCheck {
  /** Stable code: a `@donjon/attest` code (`snp.*`, `sandbox.*`, `binding.*`) or a Steward one (`policy.*`, `evidence.*`). */
  code: string;
  /** What the verifier or the policy wanted. */
  expected: string;
  /** What the request carried. */
  actual: string;
  /** How to fix it. */
  remedy: string;
}

/** An RFC 9457 problem details object as the Steward writes it. */
export interface Problem {
  /** A URI naming the problem type (RFC 9457 §3.1.1). */
  type: string;
  /** Short, the same for every occurrence of the type (§3.1.3). */
  title: string;
  /** The HTTP status code (§3.1.2). */
  status: number;
  /** This occurrence, in words (§3.1.4). */
  detail: string;
  /** Extension member: the stable code of a 400 (one of {@link MALFORMED_CODES}). */
  code?: string;
  /** Extension member: every failed check of a 403. */
  checks?: FailedCheck[];
  /** Extension member: the body limit of a 413, in bytes. */
  limit?: number;
}

/** The codes of a 400 answer, with what each means and how to fix it. */
export const MALFORMED_CODES = {
  "csr.size": {
    meaning: "The CSR is empty or larger than the Steward reads.",
    remedy: "Send one DER-encoded PKCS#10 CSR as the whole body.",
  },
  "csr.der": {
    meaning: "The body is not DER: bad tag or length, non-minimal length, or bytes after the CSR.",
    remedy:
      "Send the DER bytes of the CSR (not PEM, not base64) with Content-Type application/pkcs10.",
  },
  "csr.structure": {
    meaning: "The body is DER but not a PKCS#10 CertificationRequest (RFC 2986 §4).",
    remedy: "Send a PKCS#10 CSR built by the Keep (donjon's buildCsr).",
  },
  "csr.algorithm": {
    meaning:
      "The CSR key is not ECDSA P-384 or its signature is not ecdsa-with-SHA384 (the only kind a Keep key makes).",
    remedy: "Use the Keep key (ECDSA P-384) and sign the CSR with SHA-384.",
  },
  "csr.signature": {
    meaning: "The CSR's signature does not verify with the key it carries.",
    remedy:
      "Sign the CSR with the private key of the public key it holds; do not alter it after signing.",
  },
  "csr.extension_request": {
    meaning:
      "The CSR's attributes are malformed: an extensionRequest attribute twice or with more than one value, or an extension twice.",
    remedy: "Put all requested extensions in one extensionRequest attribute, each extension once.",
  },
  "csr.extension.critical": {
    meaning: "The CSR requests a critical extension the Steward does not understand.",
    remedy:
      "Remove the extension or mark it non-critical; the Steward decides the certificate's extensions.",
  },
  "csr.evidence.missing": {
    meaning:
      "The CSR carries no evidence extension (CMW 1.3.6.1.5.5.7.1.35, or Enarx's 1.3.6.1.4.1.58270.1.1–3).",
    remedy: "Add the Keep's evidence wrapper as a CMW extension (encodeEvidenceExtension).",
  },
  "csr.evidence.duplicate": {
    meaning: "The CSR carries more than one evidence extension.",
    remedy: "Send exactly one evidence extension.",
  },
  "evidence.extension": {
    meaning:
      "The evidence extension's value is not what its OID defines (a DER CMW CHOICE, or Enarx's structures).",
    remedy:
      "Encode the evidence with encodeEvidenceExtension; see the message for the part that is wrong.",
  },
  "evidence.cbor": {
    meaning:
      "The CMW extension holds a CBOR CMW; the Steward reads the JSON Keep evidence wrapper only.",
    remedy: "Send the wrapper as JSON (the `json` UTF8String choice of the CMW extension).",
  },
  "evidence.size": {
    meaning: "The evidence extension is larger than the Steward reads.",
    remedy: "Send the Keep's evidence wrapper only (at most 256 KiB).",
  },
} as const satisfies Record<string, { meaning: string; remedy: string }>;

/**
 * A code of a 400 answer: the Steward's own (`csr.*`, `evidence.*`) or a
 * `@donjon/attest` wrapper code (`cmw.*`) when the Keep evidence wrapper does not decode.
 */
export type MalformedCode = keyof typeof MALFORMED_CODES | `cmw.${string}`;

/**
 * The request cannot be judged: it is not a well-formed attestation request.
 * Thrown by the parsers (`csr.ts`, `evidence_ext.ts`); `decide` turns it into a
 * 400 verdict. The message is safe to show (it names bytes the client sent,
 * never internals).
 */
export class MalformedRequestError extends Error {
  readonly code: MalformedCode;
  constructor(code: MalformedCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "MalformedRequestError";
    this.code = code;
  }
}

/** 403: the evidence was judged and these checks failed. */
export function refusalProblem(checks: readonly FailedCheck[]): Problem {
  const n = checks.length;
  return {
    type: `${PROBLEM_TYPE_BASE}attestation-refused`,
    title: "Attestation refused",
    status: 403,
    detail:
      n === 1
        ? `1 check failed: ${checks[0]!.code}`
        : `${n} checks failed: ${checks.map((c) => c.code).join(", ")}`,
    checks: checks.map(({ code, expected, actual, remedy }) => ({
      code,
      expected,
      actual,
      remedy,
    })),
  };
}

/** 400: the request is not a well-formed attestation request; `code` says what. */
export function malformedProblem(code: string, detail: string): Problem {
  return {
    type: `${PROBLEM_TYPE_BASE}malformed-request`,
    title: "Malformed attestation request",
    status: 400,
    detail,
    code,
  };
}

/** 413: the body is larger than `limit` bytes. */
export function tooLargeProblem(limit: number): Problem {
  return {
    type: `${PROBLEM_TYPE_BASE}request-too-large`,
    title: "Request too large",
    status: 413,
    detail: `The request body exceeds ${limit} bytes.`,
    limit,
  };
}
