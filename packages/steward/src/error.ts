/**
 * The error class of the Steward's service side: configuration, CA and key
 * files, `init`, start-up. Every code is stable and listed, with its meaning
 * and remedy, in {@link STEWARD_ERRORS} (kept in step with the README's table
 * by a test). Refusing a Keep is not an error: a refusal is a decision
 * (`decide.ts`) answered with problem+json.
 */

/** Stable error codes of the Steward service. */
export type StewardErrorCode =
  | "steward.config"
  | "steward.config.unknown_key"
  | "steward.config.plain_http"
  | "steward.key.permissions"
  | "steward.key.invalid"
  | "steward.ca.invalid"
  | "steward.init.exists"
  | "steward.policy"
  | "steward.collateral"
  | "steward.listen";

/** What each code means and how to fix it. */
export const STEWARD_ERRORS: Readonly<
  Record<StewardErrorCode, { meaning: string; remedy: string }>
> = {
  "steward.config": {
    meaning:
      "steward.toml is unreadable, not TOML, or a value has the wrong type or form (the message names the key and line).",
    remedy: "Fix the named key; donjon steward init DIR writes a complete example.",
  },
  "steward.config.unknown_key": {
    meaning: "steward.toml has a key the Steward does not know (a typo is never ignored).",
    remedy: "Remove or correct the key; the README lists every key.",
  },
  "steward.config.plain_http": {
    meaning:
      "plain_http = true with a listen address that is not loopback: Keeps' CSRs and certificates would cross the network unprotected.",
    remedy: "Give [tls] cert and key, or listen on 127.0.0.1 / ::1 / localhost.",
  },
  "steward.key.permissions": {
    meaning: "A private key file (CA or TLS) can be read or written by group or others.",
    remedy: "chmod 600 the file named in the message.",
  },
  "steward.key.invalid": {
    meaning:
      "A private key file is missing, a symbolic link, not a regular file, or not an ECDSA P-384 PKCS#8 PEM key.",
    remedy:
      "Point the config at the key donjon steward init wrote, or run init again in a new directory.",
  },
  "steward.ca.invalid": {
    meaning:
      "The CA (or TLS) certificate is unreadable, not a CA certificate, or does not match its private key.",
    remedy: "Point [ca] cert and key at a matching pair, as written by donjon steward init.",
  },
  "steward.init.exists": {
    meaning: "donjon steward init would overwrite an existing CA.",
    remedy: "Choose a new directory, or move the old CA away on purpose first.",
  },
  "steward.policy": {
    meaning: "The policy file named by steward.toml is unreadable or invalid.",
    remedy:
      "Fix the policy file (the message names the problem); the running policy stays in force on reload.",
  },
  "steward.collateral": {
    meaning:
      "A file in [dcap] collateral_dir is unreadable or not Intel DCAP collateral (TCB Info, QE Identity, a CRL, a PEM chain), or two files hold different items for the same platform.",
    remedy:
      "Remove or replace the file the message names (fetch current collateral from Intel PCS or your PCCS).",
  },
  "steward.listen": {
    meaning: "The Steward cannot listen on the address (in use, not permitted, unknown host).",
    remedy: "Pick another listen address or free the port (--listen HOST:PORT).",
  },
};

/** Options of {@link StewardError}. */
export interface StewardErrorOptions {
  /** The underlying failure. */
  cause?: unknown;
}

/** A Steward configuration or start-up failure with a stable code. */
export class StewardError extends Error {
  readonly code: StewardErrorCode;
  constructor(code: StewardErrorCode, message: string, options: StewardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StewardError";
    this.code = code;
  }
}
