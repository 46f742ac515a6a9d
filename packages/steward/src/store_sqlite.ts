/**
 * The Steward's store in SQLite (`node:sqlite`): one file, WAL, `synchronous=FULL` so a
 * commit is on disk when `recordDecision` resolves, writes in `BEGIN IMMEDIATE`
 * transactions so two processes on one file queue (busy timeout) instead of failing
 * halfway. Timestamps are integer milliseconds since the epoch (exactly a `Date`).
 */
import { closeSync, constants, openSync } from "node:fs";
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import {
  checkCount,
  checkDecision,
  checkPolicyChange,
  checkRevoke,
  checkSerial,
  type Decision,
  decodeFailedChecks,
  encodeFailedChecks,
  type IssuedCert,
  type ListDecisionsOptions,
  type PolicyChange,
  type RevokedEntry,
  type Store,
  StoreError,
} from "./store.ts";

/** How long a writer waits for another process's write transaction, in milliseconds. */
const BUSY_TIMEOUT_MS = 5000;

/** Schema migrations; migration i brings the schema to version i + 1. Append only. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE certificates (
     serial TEXT PRIMARY KEY NOT NULL,
     not_before INTEGER NOT NULL,
     not_after INTEGER NOT NULL,
     pem TEXT NOT NULL,
     tee TEXT NOT NULL,
     workload_identity TEXT NOT NULL,
     revoked_at INTEGER,
     revocation_reason TEXT,
     CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
   ) STRICT;
   CREATE INDEX certificates_revoked ON certificates (revoked_at) WHERE revoked_at IS NOT NULL;
   CREATE TABLE decisions (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     time INTEGER NOT NULL,
     evidence_hash TEXT NOT NULL,
     tee TEXT NOT NULL,
     verdict TEXT NOT NULL CHECK (verdict IN ('issued', 'refused', 'malformed')),
     failed_checks TEXT NOT NULL,
     serial TEXT REFERENCES certificates (serial),
     workload_identity TEXT,
     remote_addr TEXT
   ) STRICT;
   CREATE INDEX decisions_serial ON decisions (serial) WHERE serial IS NOT NULL;
   CREATE TABLE policy_changes (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     time INTEGER NOT NULL,
     actor TEXT NOT NULL,
     sha256 TEXT NOT NULL,
     text TEXT NOT NULL
   ) STRICT;`,
];

/** The schema version this code writes. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

interface SqliteError extends Error {
  errcode?: number;
}

/** Maps a driver error to a StoreError (constraint failures are the caller's; the rest is I/O). */
function wrap(what: string, e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  const code = (e as SqliteError)?.errcode;
  const detail = e instanceof Error ? e.message : String(e);
  // SQLITE_CONSTRAINT_PRIMARYKEY, SQLITE_CONSTRAINT_UNIQUE: the only key callers choose is
  // the certificate serial.
  if (code === 1555 || code === 2067) {
    return new StoreError("store.conflict", `${what}: certificate serial already recorded`, {
      cause: e,
    });
  }
  if (code !== undefined && (code & 0xff) === 19) {
    return new StoreError("store.input", `${what}: ${detail}`, { cause: e });
  }
  return new StoreError("store.io", `${what}: ${detail}`, { cause: e });
}

type Row = Record<string, SQLInputValue>;

/**
 * Opens (creating with mode 0600 and migrating when needed) a SQLite store at `path`;
 * `:memory:` gives a throwaway in-memory database.
 */
export async function openSqliteStore(path: string): Promise<Store> {
  const memory = path === ":memory:";
  if (!memory) createPrivate(path);
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path);
  } catch (e) {
    throw wrap(`cannot open SQLite database ${path}`, e);
  }
  try {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    const mode = (db.prepare("PRAGMA journal_mode = WAL").get() as Row).journal_mode;
    if (!memory && mode !== "wal") {
      throw new StoreError(
        "store.io",
        `SQLite database ${path}: expected journal_mode wal, got ${String(mode)} (is the file on a filesystem without shared memory?)`,
      );
    }
    db.exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON");
    migrate(db, path);
  } catch (e) {
    db.close();
    throw wrap(`SQLite database ${path}`, e);
  }
  return new SqliteStore(db, path);
}

/** Creates the file with mode 0600 if it does not exist, so the database is never world-readable. */
function createPrivate(path: string): void {
  try {
    closeSync(openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return;
    throw new StoreError(
      "store.io",
      `cannot create SQLite database ${path}: ${(e as Error).message} (does its directory exist?)`,
      { cause: e },
    );
  }
}

function migrate(db: DatabaseSync, path: string): void {
  db.exec("BEGIN IMMEDIATE");
  try {
    db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY) STRICT");
    const row = db.prepare("SELECT max(version) AS v FROM schema_version").get() as Row;
    const current = Number(row.v ?? 0);
    if (current > MIGRATIONS.length) {
      throw new StoreError(
        "store.schema",
        `SQLite database ${path}: expected schema version ${MIGRATIONS.length} or older, got ${current} (written by a newer Steward; upgrade Donjon)`,
      );
    }
    const mark = db.prepare("INSERT INTO schema_version (version) VALUES (?)");
    for (let v = current + 1; v <= MIGRATIONS.length; v++) {
      db.exec(MIGRATIONS[v - 1]!);
      mark.run(v);
    }
    db.exec("COMMIT");
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
}

const DECISION_COLUMNS =
  "id, time, evidence_hash, tee, verdict, failed_checks, serial, workload_identity, remote_addr";
const CERT_COLUMNS =
  "serial, not_before, not_after, pem, tee, workload_identity, revoked_at, revocation_reason";

function toDecision(r: Row): Decision {
  const id = Number(r.id);
  return {
    id,
    time: new Date(Number(r.time)),
    evidenceHash: r.evidence_hash as string,
    tee: r.tee as string,
    verdict: r.verdict as Decision["verdict"],
    failedChecks: decodeFailedChecks(r.failed_checks, id),
    serial: (r.serial as string | null) ?? null,
    workloadIdentity: (r.workload_identity as string | null) ?? null,
    remoteAddr: (r.remote_addr as string | null) ?? null,
  };
}

function toCert(r: Row): IssuedCert {
  return {
    serial: r.serial as string,
    notBefore: new Date(Number(r.not_before)),
    notAfter: new Date(Number(r.not_after)),
    pem: r.pem as string,
    tee: r.tee as string,
    workloadIdentity: r.workload_identity as string,
    revokedAt: r.revoked_at === null ? null : new Date(Number(r.revoked_at)),
    revocationReason: (r.revocation_reason as string | null) ?? null,
  };
}

class SqliteStore implements Store {
  #db: DatabaseSync;
  #path: string;
  #closed = false;
  #insertCert: StatementSync;
  #insertDecision: StatementSync;
  #getCert: StatementSync;
  #revoke: StatementSync;
  #certExists: StatementSync;
  #listRevoked: StatementSync;
  #listDecisions: StatementSync;
  #insertPolicy: StatementSync;
  #listPolicy: StatementSync;
  #ping: StatementSync;

  constructor(db: DatabaseSync, path: string) {
    this.#db = db;
    this.#path = path;
    this.#insertCert = db.prepare(
      `INSERT INTO certificates (${CERT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)`,
    );
    this.#insertDecision = db.prepare(
      `INSERT INTO decisions (time, evidence_hash, tee, verdict, failed_checks, serial, workload_identity, remote_addr)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#getCert = db.prepare(`SELECT ${CERT_COLUMNS} FROM certificates WHERE serial = ?`);
    this.#revoke = db.prepare(
      `UPDATE certificates SET revoked_at = ?, revocation_reason = ?
       WHERE serial = ? AND revoked_at IS NULL`,
    );
    this.#certExists = db.prepare("SELECT 1 AS one FROM certificates WHERE serial = ?");
    this.#listRevoked = db.prepare(
      `SELECT serial, revoked_at, revocation_reason FROM certificates
       WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial`,
    );
    this.#listDecisions = db.prepare(
      `SELECT ${DECISION_COLUMNS} FROM decisions WHERE id < ? ORDER BY id DESC LIMIT ?`,
    );
    this.#insertPolicy = db.prepare(
      "INSERT INTO policy_changes (time, actor, sha256, text) VALUES (?, ?, ?, ?)",
    );
    this.#listPolicy = db.prepare(
      "SELECT time, actor, sha256, text FROM policy_changes ORDER BY id DESC LIMIT ?",
    );
    this.#ping = db.prepare("SELECT 1 AS one");
  }

  /** Runs `fn` in a write transaction; any throw rolls it back. */
  #tx<T>(what: string, fn: () => T): T {
    if (this.#closed) throw new StoreError("store.closed", `${what}: the store is closed`);
    const db = this.#db;
    try {
      db.exec("BEGIN IMMEDIATE");
      const result = fn();
      db.exec("COMMIT");
      return result;
    } catch (e) {
      if (db.isTransaction) db.exec("ROLLBACK");
      throw wrap(what, e);
    }
  }

  /** Runs a read. */
  #read<T>(what: string, fn: () => T): T {
    if (this.#closed) throw new StoreError("store.closed", `${what}: the store is closed`);
    try {
      return fn();
    } catch (e) {
      throw wrap(what, e);
    }
  }

  async recordDecision(d: Decision, cert?: IssuedCert): Promise<number> {
    const serial = checkDecision(d, cert);
    return this.#tx("recordDecision", () => {
      if (cert !== undefined) {
        this.#insertCert.run(
          cert.serial,
          cert.notBefore.getTime(),
          cert.notAfter.getTime(),
          cert.pem,
          cert.tee,
          cert.workloadIdentity,
        );
      }
      const r = this.#insertDecision.run(
        d.time.getTime(),
        d.evidenceHash,
        d.tee,
        d.verdict,
        encodeFailedChecks(d.failedChecks),
        serial,
        d.workloadIdentity,
        d.remoteAddr,
      );
      return Number(r.lastInsertRowid);
    });
  }

  async getCertificate(serial: string): Promise<IssuedCert | null> {
    checkSerial(serial);
    return this.#read("getCertificate", () => {
      const r = this.#getCert.get(serial) as Row | undefined;
      return r === undefined ? null : toCert(r);
    });
  }

  async revoke(serial: string, reason: string, at: Date): Promise<boolean> {
    checkRevoke(serial, reason, at);
    return this.#tx("revoke", () => {
      const r = this.#revoke.run(at.getTime(), reason, serial);
      return Number(r.changes) > 0 || this.#certExists.get(serial) !== undefined;
    });
  }

  async listRevoked(): Promise<RevokedEntry[]> {
    return this.#read("listRevoked", () =>
      (this.#listRevoked.all() as Row[]).map((r) => ({
        serial: r.serial as string,
        revokedAt: new Date(Number(r.revoked_at)),
        reason: r.revocation_reason as string,
      })),
    );
  }

  async listDecisions(options: ListDecisionsOptions): Promise<Decision[]> {
    const limit = checkCount("limit", options.limit);
    const before =
      options.before === undefined ? Number.MAX_SAFE_INTEGER : checkCount("before", options.before);
    return this.#read("listDecisions", () =>
      (this.#listDecisions.all(before, limit) as Row[]).map(toDecision),
    );
  }

  async recordPolicyChange(c: PolicyChange): Promise<void> {
    checkPolicyChange(c);
    this.#tx("recordPolicyChange", () => {
      this.#insertPolicy.run(c.time.getTime(), c.actor, c.sha256, c.text);
    });
  }

  async listPolicyChanges(options: { limit: number }): Promise<PolicyChange[]> {
    const limit = checkCount("limit", options.limit);
    return this.#read("listPolicyChanges", () =>
      (this.#listPolicy.all(limit) as Row[]).map((r) => ({
        time: new Date(Number(r.time)),
        actor: r.actor as string,
        sha256: r.sha256 as string,
        text: r.text as string,
      })),
    );
  }

  async ping(): Promise<void> {
    this.#read(`ping ${this.#path}`, () => this.#ping.get());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }
}
