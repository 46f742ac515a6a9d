/**
 * The Steward's storage port: the audit log of decisions, the issued certificates and
 * their revocation, the policy history. Two implementations stand behind it — SQLite
 * (`node:sqlite`, one machine) and PostgreSQL (`pg`, Stewards as stateless replicas) —
 * and one contract suite (`store.contract.ts`) holds both to the same behaviour.
 */

/** One check that failed, as shown to the workload owner (no secrets, no internals). */
export interface FailedCheck {
  code: string;
  expected: string;
  actual: string;
  remedy: string;
}

/** One attestation decision: a row of the audit log. */
export interface Decision {
  /** Assigned by the store; ignored on input. */
  id?: number;
  time: Date;
  /** Hex SHA-256 of the evidence bytes. */
  evidenceHash: string;
  /** `"sandbox" | "snp" | "tdx" | "sgx" | "unknown"`. */
  tee: string;
  verdict: "issued" | "refused" | "malformed";
  failedChecks: FailedCheck[];
  /** Certificate serial (hex) when issued; must name the certificate recorded with it. */
  serial: string | null;
  /** Hex. */
  workloadIdentity: string | null;
  remoteAddr: string | null;
}

/** A certificate the Steward issued, with its revocation state. */
export interface IssuedCert {
  /** Hex, stored and matched verbatim (the caller picks one case). */
  serial: string;
  notBefore: Date;
  notAfter: Date;
  pem: string;
  tee: string;
  workloadIdentity: string;
  /** Ignored by `recordDecision` (a certificate is recorded unrevoked); set by `revoke`. */
  revokedAt: Date | null;
  revocationReason: string | null;
}

/** One change of the policy, for the audit. */
export interface PolicyChange {
  time: Date;
  actor: string;
  /** Hex SHA-256 of `text`. */
  sha256: string;
  text: string;
}

/** A revoked certificate as the CRL needs it. */
export interface RevokedEntry {
  serial: string;
  revokedAt: Date;
  reason: string;
}

export interface Store {
  /**
   * One transaction: the decision and, when issued, its certificate. Durable when it
   * resolves. Resolves to the decision's id (ids only grow). A certificate whose serial
   * is already recorded fails with `store.conflict` and records nothing.
   */
  recordDecision(d: Decision, cert?: IssuedCert): Promise<number>;
  getCertificate(serial: string): Promise<IssuedCert | null>;
  /** False when no such certificate; revoking twice keeps the first time and reason. */
  revoke(serial: string, reason: string, at: Date): Promise<boolean>;
  /** Every revoked certificate, oldest revocation first. */
  listRevoked(): Promise<RevokedEntry[]>;
  /** Newest first; `before` = an id for paging (only decisions with a smaller id). */
  listDecisions(options: ListDecisionsOptions): Promise<Decision[]>;
  recordPolicyChange(c: PolicyChange): Promise<void>;
  /** Newest first. */
  listPolicyChanges(options: { limit: number }): Promise<PolicyChange[]>;
  /** Readiness: the database answers. Rejects with `store.io` (or `store.closed`) when not. */
  ping(): Promise<void>;
  /** Idempotent; every other method rejects with `store.closed` afterwards. */
  close(): Promise<void>;
}

export interface ListDecisionsOptions {
  /** At most this many decisions (a safe integer, 0 or more). */
  limit: number;
  /** Only decisions whose id is smaller: the id of the last decision of the previous page. */
  before?: number;
}

export type StoreErrorCode =
  /** The storage URL is not one of the accepted forms. */
  | "store.url"
  /** The database cannot be opened, read or written (`cause` holds the driver's error). */
  | "store.io"
  /** The database's schema is newer than this Steward, or a stored row does not decode. */
  | "store.schema"
  /** A certificate with this serial is already recorded. */
  | "store.conflict"
  /** The caller passed a value the store does not accept (the message names the field). */
  | "store.input"
  /** The store was closed. */
  | "store.closed";

/** The storage error, with a stable code. (To be folded into the package's one error class.) */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(code: StoreErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.name = "StoreError";
    this.code = code;
  }
}

/** What `openStore` accepts, for messages. */
export const STORE_URL_FORMS =
  '"sqlite:PATH", a plain file path (SQLite), "sqlite::memory:", or "postgres://USER@HOST:PORT/DB" ("postgresql://…" too)';

/** Which implementation a storage URL names, and its argument. */
export type StoreTarget = { kind: "sqlite"; path: string } | { kind: "postgres"; url: string };

/**
 * Reads a storage URL: `sqlite:PATH` or a plain path → SQLite (`:memory:` for a
 * throwaway in-memory database); `postgres://…` / `postgresql://…` → PostgreSQL.
 * Anything else is a `store.url` error naming the accepted forms (passwords redacted).
 */
export function parseStoreUrl(url: string): StoreTarget {
  if (typeof url !== "string" || url.trim() === "") {
    throw new StoreError("store.url", `storage URL is empty: expected ${STORE_URL_FORMS}`);
  }
  if (/^postgres(ql)?:\/\//i.test(url)) return { kind: "postgres", url };
  const sqlite = /^sqlite:/i.exec(url);
  if (sqlite) {
    const path = url.slice(sqlite[0].length);
    if (path === "") {
      throw new StoreError(
        "store.url",
        `storage URL "sqlite:" names no file: expected ${STORE_URL_FORMS}`,
      );
    }
    return { kind: "sqlite", path };
  }
  // A scheme (`mysql:`, `file:`, `postgres:` without `//`) is not a path we would
  // silently create a file for.
  if (/^[a-z][a-z0-9+.-]*:/i.test(url)) {
    throw new StoreError(
      "store.url",
      `unsupported storage URL "${redact(url)}": expected ${STORE_URL_FORMS}`,
    );
  }
  return { kind: "sqlite", path: url };
}

/** The URL without the password (for messages and logs). */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, "$1:***@");
}

/** Opens (creating and migrating when needed) the store a storage URL names. */
export async function openStore(url: string): Promise<Store> {
  const target = parseStoreUrl(url);
  if (target.kind === "sqlite") {
    const { openSqliteStore } = await import("./store_sqlite.ts");
    return openSqliteStore(target.path);
  }
  const { openPgStore } = await import("./store_pg.ts");
  return openPgStore(target.url);
}

// ---- Input checks shared by the implementations -------------------------------------

const VERDICTS: ReadonlySet<string> = new Set(["issued", "refused", "malformed"]);

function bad(field: string, expected: string, actual: unknown): StoreError {
  const shown =
    actual instanceof Date ? "an invalid Date" : (JSON.stringify(actual) ?? typeof actual);
  return new StoreError("store.input", `${field}: expected ${expected}, got ${shown}`);
}

function checkDate(field: string, v: unknown): void {
  if (!(v instanceof Date) || Number.isNaN(v.getTime())) throw bad(field, "a valid Date", v);
}

/**
 * Strings are stored verbatim, except that NUL is refused: PostgreSQL cannot store it in
 * text or JSONB, and both stores must behave alike. Escape untrusted bytes before storing.
 */
function checkString(field: string, v: unknown): void {
  if (typeof v !== "string") throw bad(field, "a string", v);
  if (v.includes("\0")) throw bad(field, "a string without NUL characters", v);
}

function checkNullableString(field: string, v: unknown): void {
  if (v === null) return;
  if (typeof v !== "string") throw bad(field, "a string or null", v);
  checkString(field, v);
}

/**
 * Checks a decision (and its certificate) before it is written; returns the decision's
 * serial (the certificate's when the decision left it null). For the implementations.
 */
export function checkDecision(d: Decision, cert: IssuedCert | undefined): string | null {
  checkDate("decision.time", d.time);
  checkString("decision.evidenceHash", d.evidenceHash);
  checkString("decision.tee", d.tee);
  if (!VERDICTS.has(d.verdict))
    throw bad("decision.verdict", "issued, refused or malformed", d.verdict);
  if (!Array.isArray(d.failedChecks))
    throw bad("decision.failedChecks", "an array", d.failedChecks);
  d.failedChecks.forEach((c, i) => {
    if (typeof c !== "object" || c === null)
      throw bad(`decision.failedChecks[${i}]`, "an object", c);
    for (const k of ["code", "expected", "actual", "remedy"] as const) {
      checkString(`decision.failedChecks[${i}].${k}`, c[k]);
    }
  });
  checkNullableString("decision.serial", d.serial);
  checkNullableString("decision.workloadIdentity", d.workloadIdentity);
  checkNullableString("decision.remoteAddr", d.remoteAddr);
  if (cert === undefined) return d.serial;
  if (d.verdict !== "issued")
    throw bad("decision.verdict", '"issued" when a certificate is recorded', d.verdict);
  checkString("cert.serial", cert.serial);
  if (cert.serial === "") throw bad("cert.serial", "a non-empty string", cert.serial);
  if (d.serial !== null && d.serial !== cert.serial) {
    throw bad(
      "decision.serial",
      `the certificate's serial ${JSON.stringify(cert.serial)}`,
      d.serial,
    );
  }
  checkDate("cert.notBefore", cert.notBefore);
  checkDate("cert.notAfter", cert.notAfter);
  checkString("cert.pem", cert.pem);
  checkString("cert.tee", cert.tee);
  checkString("cert.workloadIdentity", cert.workloadIdentity);
  return cert.serial;
}

/** Checks a serial to look up. For the implementations. */
export function checkSerial(serial: string): void {
  checkString("serial", serial);
}

/** Checks the arguments of `revoke`. For the implementations. */
export function checkRevoke(serial: string, reason: string, at: Date): void {
  checkString("serial", serial);
  checkString("reason", reason);
  checkDate("at", at);
}

/** Checks a policy change. For the implementations. */
export function checkPolicyChange(c: PolicyChange): void {
  checkDate("change.time", c.time);
  checkString("change.actor", c.actor);
  checkString("change.sha256", c.sha256);
  checkString("change.text", c.text);
}

/** Checks a `limit` or `before`: a safe integer, 0 or more. For the implementations. */
export function checkCount(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw bad(field, "a safe integer, 0 or more", v);
  }
  return v;
}

/** The failed checks as stored: the four fields only, in a fixed order. For the implementations. */
export function encodeFailedChecks(checks: readonly FailedCheck[]): string {
  return JSON.stringify(
    checks.map((c) => ({ code: c.code, expected: c.expected, actual: c.actual, remedy: c.remedy })),
  );
}

/** Decodes the stored JSON of failed checks. For the implementations. */
export function decodeFailedChecks(value: unknown, id: number): FailedCheck[] {
  let v = value;
  if (typeof v === "string") {
    try {
      v = JSON.parse(v);
    } catch (cause) {
      throw new StoreError("store.schema", `decision ${id}: failed_checks is not JSON`, { cause });
    }
  }
  if (!Array.isArray(v)) {
    throw new StoreError("store.schema", `decision ${id}: failed_checks is not an array`);
  }
  return v.map((c: Record<string, unknown>) => ({
    code: String(c.code),
    expected: String(c.expected),
    actual: String(c.actual),
    remedy: String(c.remedy),
  }));
}
