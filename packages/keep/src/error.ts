/**
 * The one error class of @donjon/keep, with a closed set of stable codes.
 */
import type { Probe } from "./backends.ts";

export type KeepErrorCode =
  /** The name given is not in the backend table. */
  | "keep.backend.unknown"
  /** The backend named explicitly cannot run here: `failed` lists the probes that failed. */
  | "keep.backend.unavailable"
  /** `auto` found no backend whose probes all pass. */
  | "keep.backend.none"
  /** An identity or evidence input has the wrong size or type (a digest, an SPKI, a time). */
  | "keep.identity.input"
  /** The sandbox key file is readable by group or others; the message names the chmod that fixes it. */
  | "keep.sandbox_key.permissions"
  /** The sandbox key file (or its state directory) is not a usable ECDSA P-384 PKCS#8 PEM key. */
  | "keep.sandbox_key.invalid"
  /** configfs-tsm: the options of `getTsmReport` are invalid (inblob not 64 bytes, privlevel out of 0–3). */
  | "keep.tsm.options"
  /** configfs-tsm: creating, reading, writing or removing a report entry failed (`cause` holds the OS error). */
  | "keep.tsm.io"
  /** configfs-tsm: the entry's `provider` is missing, empty or not one Donjon knows (`sev_guest`, `tdx_guest`). */
  | "keep.tsm.provider"
  /** configfs-tsm: an attribute read back is malformed (generation not a number, outblob empty or oversized). */
  | "keep.tsm.malformed"
  /** configfs-tsm: `generation` moved by other than our own writes — another writer raced us; the evidence is not ours. */
  | "keep.tsm.race"
  /** Gramine: the options of `getGramineQuote` (reportData not 64 bytes) or `gramineManifest` (a relative path, a bad size) are invalid. */
  | "keep.gramine.options"
  /** Gramine: `/dev/attestation/attestation_type` is not `dcap` (the manifest lacks `sgx.remote_attestation = "dcap"`). */
  | "keep.gramine.attestation_type"
  /** Gramine: reading or writing a `/dev/attestation` file failed (`cause` holds the OS error). */
  | "keep.gramine.io"
  /** Gramine: a file read back is malformed (quote empty, over 64 KiB, or too short for its report_data). */
  | "keep.gramine.malformed"
  /** Gramine: the quote's report_data is not what we wrote — another writer in the enclave raced us. */
  | "keep.gramine.race"
  /** The workload is not a WebAssembly core module this reader accepts (the message names the byte offset). */
  | "keep.module.invalid"
  /** The module's initial memory is over the memory limit. */
  | "keep.module.memory"
  /** The module imports something the WASI host does not provide. */
  | "keep.module.import"
  /** sallyport: a frame with another protocol version. */
  | "keep.sallyport.version"
  /** sallyport: a frame type the receiver does not know (or one sent the wrong way). */
  | "keep.sallyport.type"
  /** sallyport: non-zero reserved header bytes. */
  | "keep.sallyport.reserved"
  /** sallyport: a payload length outside its type's bounds, or more than was asked for. */
  | "keep.sallyport.length"
  /** sallyport: a payload that does not decode (not JSON, wrong fields, sizes over the limits). */
  | "keep.sallyport.payload"
  /** sallyport: a frame that is valid but not allowed now (before START, unasked stdin, after the module). */
  | "keep.sallyport.order"
  /** sallyport: the channel closed inside a frame. */
  | "keep.sallyport.truncated"
  /** sallyport: the channel closed before the run ended. */
  | "keep.sallyport.closed"
  /** The config the Keep measured is not valid TOML, or its network settings ([[files]] listen/connect, [trust]) are invalid. */
  | "keep.config"
  /** A `connect` socket could not be opened before the workload started: the host could not connect, TLS failed, or the peer is not who the config pins. */
  | "keep.net.connect"
  /** A relayed connection failed: the host could not connect, or the Keep has too many open. */
  | "keep.relay"
  /** The Steward could not be reached through the host (its address is named). */
  | "keep.steward.connect"
  /** TLS to the Steward failed: its certificate does not chain to the given CA, names another host, or the records were altered. */
  | "keep.steward.tls"
  /** The Steward's answer is not a certificate chain or a refusal (another status, a malformed body). */
  | "keep.steward.answer"
  /** The Steward did not answer in time. */
  | "keep.steward.timeout"
  /** The chain the Steward issued is not for the Keep's key, or its leaf does not verify with the CA that came with it. */
  | "keep.steward.certificate"
  /** Host directories cannot be mapped into this Keep here (they need bubblewrap). */
  | "keep.host.dirs"
  /** A listen entry of Donjon.toml [[files]] cannot be bound (port in use, privileged port, not an address here); nothing was started. */
  | "keep.host.listen"
  /** The Keep process could not be started or died without a result. */
  | "keep.process";

export interface KeepErrorOptions {
  cause?: unknown;
  /** The failed probes, each with its remedy (for `keep.backend.*`). */
  failed?: readonly Probe[];
}

export class KeepError extends Error {
  readonly code: KeepErrorCode;
  /** The probes that failed, in table order; empty when the code is not about probes. */
  readonly failed: readonly Probe[];
  constructor(code: KeepErrorCode, message: string, options: KeepErrorOptions = {}) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.name = "KeepError";
    this.code = code;
    this.failed = options.failed ?? [];
  }
}
