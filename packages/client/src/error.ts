/**
 * The one error class of @donjon/client, and the registry of its codes.
 * `docs/errors.md` ("@donjon/client") lists the same codes; `error.test.ts`
 * keeps the two in step.
 *
 * A refused peer is not an exception inside `verifyKeepCertificate` (it returns
 * a verdict with every check); `keepAgent` and `connectKeep` turn a refusal into
 * a `ClientError` carrying that verdict, and a failure to connect into one
 * carrying the cause.
 */
import type { KeepVerdict } from "./verify.ts";

/** One registry entry: what the code means and what to do about it. */
export interface ClientCodeInfo {
  summary: string;
  remedy: string;
}

export const CLIENT_ERRORS = {
  "client.chain": {
    summary:
      "The peer's certificate does not chain to the Steward CA: no certificate, a signature or issuer that is not the CA's, a CA certificate without cA or keyCertSign, a leaf that is a CA or not for TLS servers, or an unknown critical extension.",
    remedy:
      "Pass the ca.pem of the Steward that certified the Keep (--steward-ca, stewardCa); if it is the right one, the peer is not a Keep that Steward certified.",
  },
  "client.expired": {
    summary:
      "The Keep's certificate (or the Steward CA's) is not valid at the verification time: expired or not yet valid.",
    remedy:
      "Restart the Keep so that it attests again and gets a fresh certificate (Keep certificates live a day by default); check the clocks (NTP).",
  },
  "client.claims": {
    summary:
      "The Keep's certificate has no Donjon Keep-claims extension, or the extension is malformed (the check names the claims.* code).",
    remedy:
      "The peer's certificate was not issued to a Keep by a Donjon Steward (a Steward's own TLS certificate has no claims); connect to the Keep.",
  },
  "client.hostname": {
    summary:
      "The certificate names hosts (subjectAltName DNS or IP entries) and the host dialled is not one of them.",
    remedy:
      "Dial a name the certificate lists (the Steward's policy san), or pass ignoreHostname / --ignore-hostname when the Keep is identified by its claims alone.",
  },
  "client.policy.tee": {
    summary: "The Keep runs on a TEE type the policy does not allow.",
    remedy: "Run the Keep on an allowed TEE, or add its TEE to the policy's tees.",
  },
  "client.policy.tier": {
    summary:
      "The Keep is software tier (a sandbox: nothing protects it from its host) and the policy does not allow the software tier.",
    remedy:
      "Run the Keep on a hardware TEE backend (snp, tdx, sgx), or allow the software tier explicitly (allowSoftware, --allow-software-tier) for development only.",
  },
  "client.policy.measurement": {
    summary: "The Keep's launch measurement is not in the policy's allow-list.",
    remedy: "Run the expected Keep runtime, or add its measurement to the policy's measurements.",
  },
  "client.policy.workload": {
    summary:
      "The Keep's workload identity is not the one expected (or the certificate names no workload identity).",
    remedy:
      "Connect to the Keep running the expected workload, or expect its identity (--workload ID, donjon run prints it).",
  },
  "client.policy.tcb": {
    summary: "The TCB status the Steward recorded is not one the policy accepts.",
    remedy:
      "Update the platform's firmware and attest again, or accept the status in the policy's tcb_statuses.",
  },
  "client.software_tier": {
    summary:
      "A warning: the Keep was accepted at the software tier (allowed by the policy); it has no hardware confidentiality — its host can read and change it.",
    remedy: "Use the software tier for development only; run production Keeps on a TEE.",
  },
  "client.revoked": {
    summary:
      "The Keep's certificate is listed on the Steward's CRL: the Steward revoked it (POST /api/v1/admin/revoke); the check names the serial, the revocation date and the reason.",
    remedy:
      "Do not use this Keep: its operator revoked its certificate (GET /api/v1/certificates/{serial} on the Steward says why). A restarted Keep attests again and gets a new certificate.",
  },
  "client.crl": {
    summary:
      "The CRL given (crl, --crl), or the one an agent holds (crl: { url }), cannot be used: not a DER or PEM X.509 CRL, not issued and signed by the Steward CA the Keep chains to, not current (stale, not yet valid, or without nextUpdate; an agent's goes stale when its refreshes keep failing, and the check says why), or with an unknown critical CRL or entry extension (RFC 5280 §5.2, §5.3).",
    remedy:
      "Fetch the current CRL of the Steward that certified the Keep (GET /api/v1/crl, fetchStewardCrl, donjon verify --crl https://STEWARD/api/v1/crl), or give an agent crl: { url } to keep it fresh: it is valid one hour; check the clocks (NTP) and that the agent can reach the Steward.",
  },
  "client.crl_unavailable": {
    summary:
      "The Steward's CRL could not be fetched: unreachable, timed out, an answer other than 200, a media type that is not a CRL's (application/pkix-crl, or application/octet-stream), an empty body, or more than 1 MiB; or an agent with crl: { url } has no CRL yet (none of its fetches gave a current one signed by the Steward CA), so it refuses every peer.",
    remedy:
      "Check the URL (a Steward's base URL, or its /api/v1/crl) and that the Steward is running; plain http:// is fine, the CRL is signed.",
  },
  "client.connect": {
    summary:
      "The Keep could not be reached: the name does not resolve, nothing listens, the network is unreachable, or the connection timed out.",
    remedy:
      "Check the URL (host and port) and that the Keep is running; raise the timeout if it is slow.",
  },
  "client.tls": {
    summary:
      "The TLS handshake with the peer failed (it does not speak TLS, reset the connection, or offered nothing acceptable).",
    remedy: "Check that the URL points at the Keep's TLS port (https://HOST:PORT).",
  },
  "client.options": {
    summary:
      "An option is invalid: a Steward CA that is not PEM or DER of a CA certificate, a workload identity that is not 64 hex digits, a URL that is not https://HOST:PORT, a crl that is neither PEM text nor bytes nor { url } with an http(s) URL.",
    remedy: "Fix the option the message names.",
  },
} as const satisfies Record<string, ClientCodeInfo>;

/** A stable code of @donjon/client. */
export type ClientCode = keyof typeof CLIENT_ERRORS;

/** Options of {@link ClientError}. */
export interface ClientErrorOptions {
  cause?: unknown;
  /** The verdict, when the peer was judged and refused. */
  verdict?: KeepVerdict;
}

/** A peer refused, unreachable, or invalid options. */
export class ClientError extends Error {
  readonly code: ClientCode;
  /** Every check that ran, when the peer was judged (a refusal); undefined otherwise. */
  readonly verdict: KeepVerdict | undefined;
  constructor(code: ClientCode, message: string, options: ClientErrorOptions = {}) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.name = "ClientError";
    this.code = code;
    this.verdict = options.verdict;
  }
}
