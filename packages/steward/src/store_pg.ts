/**
 * The Steward's store in PostgreSQL (`pg`), for Stewards running as stateless replicas.
 * Every write is one statement (a decision and its certificate go in together through a
 * data-modifying CTE), so it is atomic without a round trip for BEGIN and COMMIT, and
 * durable when it resolves under the server's default `synchronous_commit = on`.
 * Migrations run at open in one transaction under an advisory lock, so Stewards that
 * start together apply them once.
 */
import { DatabaseError, Pool, type PoolClient } from "pg";
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
  redact,
  type Store,
  StoreError,
} from "./store.ts";

/** The advisory lock key held while migrating: "donjon" in ASCII. */
const MIGRATION_LOCK = 0x646f6e6a6f6e;

/** How long to wait for a connection before a call fails with `store.io`, in milliseconds. */
const CONNECT_TIMEOUT_MS = 10_000;

/** Schema migrations; migration i brings the schema to version i + 1. Append only. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE certificates (
     serial text PRIMARY KEY,
     not_before timestamptz NOT NULL,
     not_after timestamptz NOT NULL,
     pem text NOT NULL,
     tee text NOT NULL,
     workload_identity text NOT NULL,
     revoked_at timestamptz,
     revocation_reason text,
     CHECK ((revoked_at IS NULL) = (revocation_reason IS NULL))
   );
   CREATE INDEX certificates_revoked ON certificates (revoked_at) WHERE revoked_at IS NOT NULL;
   CREATE TABLE decisions (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     time timestamptz NOT NULL,
     evidence_hash text NOT NULL,
     tee text NOT NULL,
     verdict text NOT NULL CHECK (verdict IN ('issued', 'refused', 'malformed')),
     failed_checks jsonb NOT NULL CHECK (jsonb_typeof(failed_checks) = 'array'),
     serial text REFERENCES certificates (serial),
     workload_identity text,
     remote_addr text
   );
   CREATE INDEX decisions_serial ON decisions (serial) WHERE serial IS NOT NULL;
   CREATE TABLE policy_changes (
     id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
     time timestamptz NOT NULL,
     actor text NOT NULL,
     sha256 text NOT NULL,
     text text NOT NULL
   );`,
];

/** The schema version this code writes. */
export const PG_SCHEMA_VERSION = MIGRATIONS.length;

/** Maps a driver error to a StoreError (constraint and data errors are the caller's; the rest is I/O). */
function wrap(what: string, e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  const detail = e instanceof Error ? e.message : String(e);
  if (e instanceof DatabaseError) {
    if (e.code === "23505") {
      return new StoreError("store.conflict", `${what}: certificate serial already recorded`, {
        cause: e,
      });
    }
    // Class 23 (integrity constraint) and 22 (data exception): the values were refused.
    if (e.code?.startsWith("23") || e.code?.startsWith("22")) {
      return new StoreError("store.input", `${what}: ${detail}`, { cause: e });
    }
  }
  return new StoreError("store.io", `${what}: ${detail}`, { cause: e });
}

/**
 * Opens a PostgreSQL store (`postgres://…` / `postgresql://…`, libpq-style parameters
 * such as `sslmode` included), migrating the schema when needed. The tables go in the
 * first schema of the connection's `search_path`: a Steward can have a schema of its own
 * in a shared database with `?options=-c%20search_path%3Dsteward`.
 */
export async function openPgStore(url: string): Promise<Store> {
  const shown = redact(url);
  let pool: Pool;
  try {
    new URL(url);
    pool = new Pool({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  } catch (e) {
    // No `cause`: the URL parser's error carries the input, password and all.
    throw new StoreError(
      "store.url",
      `storage URL ${shown} does not parse: ${(e as Error).message}`,
    );
  }
  // An idle connection that breaks (server restart, network) is dropped by the pool and
  // replaced on the next call; without a listener the error would end the process.
  pool.on("error", () => {});
  try {
    const client = await pool.connect();
    try {
      await migrate(client, shown);
    } finally {
      client.release();
    }
  } catch (e) {
    await pool.end().catch(() => {});
    throw wrap(`PostgreSQL ${shown}`, e);
  }
  return new PgStore(pool, shown);
}

async function migrate(client: PoolClient, shown: string): Promise<void> {
  await client.query("BEGIN");
  try {
    // The lock comes first: concurrent CREATE TABLE IF NOT EXISTS can itself fail.
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK})`);
    await client.query("CREATE TABLE IF NOT EXISTS schema_version (version integer PRIMARY KEY)");
    const { rows } = await client.query<{ v: number | null }>(
      "SELECT max(version) AS v FROM schema_version",
    );
    const current = rows[0]?.v ?? 0;
    if (current > MIGRATIONS.length) {
      throw new StoreError(
        "store.schema",
        `PostgreSQL ${shown}: expected schema version ${MIGRATIONS.length} or older, got ${current} (written by a newer Steward; upgrade Donjon)`,
      );
    }
    for (let v = current + 1; v <= MIGRATIONS.length; v++) {
      await client.query(MIGRATIONS[v - 1]!);
      await client.query("INSERT INTO schema_version (version) VALUES ($1)", [v]);
    }
    await client.query("COMMIT");
  } catch (e) {
    await client.query("ROLLBACK").catch(() => {});
    throw e;
  }
}

const DECISION_COLUMNS =
  "id, time, evidence_hash, tee, verdict, failed_checks, serial, workload_identity, remote_addr";
const CERT_COLUMNS =
  "serial, not_before, not_after, pem, tee, workload_identity, revoked_at, revocation_reason";

interface DecisionRow {
  id: string;
  time: Date;
  evidence_hash: string;
  tee: string;
  verdict: Decision["verdict"];
  failed_checks: unknown;
  serial: string | null;
  workload_identity: string | null;
  remote_addr: string | null;
}

interface CertRow {
  serial: string;
  not_before: Date;
  not_after: Date;
  pem: string;
  tee: string;
  workload_identity: string;
  revoked_at: Date | null;
  revocation_reason: string | null;
}

function toDecision(r: DecisionRow): Decision {
  const id = Number(r.id);
  return {
    id,
    time: r.time,
    evidenceHash: r.evidence_hash,
    tee: r.tee,
    verdict: r.verdict,
    failedChecks: decodeFailedChecks(r.failed_checks, id),
    serial: r.serial,
    workloadIdentity: r.workload_identity,
    remoteAddr: r.remote_addr,
  };
}

function toCert(r: CertRow): IssuedCert {
  return {
    serial: r.serial,
    notBefore: r.not_before,
    notAfter: r.not_after,
    pem: r.pem,
    tee: r.tee,
    workloadIdentity: r.workload_identity,
    revokedAt: r.revoked_at,
    revocationReason: r.revocation_reason,
  };
}

const INSERT_DECISION = `INSERT INTO decisions
  (time, evidence_hash, tee, verdict, failed_checks, serial, workload_identity, remote_addr)
  VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8) RETURNING id`;

// One statement: the certificate's foreign key is checked at its end, after both inserts.
const INSERT_ISSUED = `WITH cert AS (
    INSERT INTO certificates (serial, not_before, not_after, pem, tee, workload_identity)
    VALUES ($6, $9, $10, $11, $12, $13) RETURNING serial
  )
  INSERT INTO decisions
  (time, evidence_hash, tee, verdict, failed_checks, serial, workload_identity, remote_addr)
  SELECT $1::timestamptz, $2::text, $3::text, $4::text, $5::jsonb, cert.serial, $7::text, $8::text
  FROM cert RETURNING id`;

// A second revocation matches no row (the row lock makes it re-read `revoked_at`), and the
// certificate's existence is read from the statement's snapshot.
const REVOKE = `WITH done AS (
    UPDATE certificates SET revoked_at = $2, revocation_reason = $3
    WHERE serial = $1 AND revoked_at IS NULL RETURNING 1
  )
  SELECT EXISTS (SELECT 1 FROM done) OR EXISTS (SELECT 1 FROM certificates WHERE serial = $1) AS found`;

class PgStore implements Store {
  #pool: Pool;
  #shown: string;
  #closed = false;

  constructor(pool: Pool, shown: string) {
    this.#pool = pool;
    this.#shown = shown;
  }

  async #query<R extends object>(what: string, sql: string, params: unknown[] = []): Promise<R[]> {
    if (this.#closed) throw new StoreError("store.closed", `${what}: the store is closed`);
    try {
      return (await this.#pool.query<R & Record<string, unknown>>(sql, params)).rows;
    } catch (e) {
      throw wrap(what, e);
    }
  }

  async recordDecision(d: Decision, cert?: IssuedCert): Promise<number> {
    const serial = checkDecision(d, cert);
    const params: unknown[] = [
      d.time,
      d.evidenceHash,
      d.tee,
      d.verdict,
      encodeFailedChecks(d.failedChecks),
      serial,
      d.workloadIdentity,
      d.remoteAddr,
    ];
    const rows =
      cert === undefined
        ? await this.#query<{ id: string }>("recordDecision", INSERT_DECISION, params)
        : await this.#query<{ id: string }>("recordDecision", INSERT_ISSUED, [
            ...params,
            cert.notBefore,
            cert.notAfter,
            cert.pem,
            cert.tee,
            cert.workloadIdentity,
          ]);
    return Number(rows[0]!.id);
  }

  async getCertificate(serial: string): Promise<IssuedCert | null> {
    checkSerial(serial);
    const rows = await this.#query<CertRow>(
      "getCertificate",
      `SELECT ${CERT_COLUMNS} FROM certificates WHERE serial = $1`,
      [serial],
    );
    return rows[0] === undefined ? null : toCert(rows[0]);
  }

  async revoke(serial: string, reason: string, at: Date): Promise<boolean> {
    checkRevoke(serial, reason, at);
    const rows = await this.#query<{ found: boolean }>("revoke", REVOKE, [serial, at, reason]);
    return rows[0]!.found;
  }

  async listRevoked(): Promise<RevokedEntry[]> {
    const rows = await this.#query<{ serial: string; revoked_at: Date; revocation_reason: string }>(
      "listRevoked",
      `SELECT serial, revoked_at, revocation_reason FROM certificates
       WHERE revoked_at IS NOT NULL ORDER BY revoked_at, serial`,
    );
    return rows.map((r) => ({
      serial: r.serial,
      revokedAt: r.revoked_at,
      reason: r.revocation_reason,
    }));
  }

  async listDecisions(options: ListDecisionsOptions): Promise<Decision[]> {
    const limit = checkCount("limit", options.limit);
    const before =
      options.before === undefined ? Number.MAX_SAFE_INTEGER : checkCount("before", options.before);
    const rows = await this.#query<DecisionRow>(
      "listDecisions",
      `SELECT ${DECISION_COLUMNS} FROM decisions WHERE id < $1 ORDER BY id DESC LIMIT $2`,
      [before, limit],
    );
    return rows.map(toDecision);
  }

  async recordPolicyChange(c: PolicyChange): Promise<void> {
    checkPolicyChange(c);
    await this.#query(
      "recordPolicyChange",
      "INSERT INTO policy_changes (time, actor, sha256, text) VALUES ($1, $2, $3, $4)",
      [c.time, c.actor, c.sha256, c.text],
    );
  }

  async listPolicyChanges(options: { limit: number }): Promise<PolicyChange[]> {
    const limit = checkCount("limit", options.limit);
    const rows = await this.#query<PolicyChange>(
      "listPolicyChanges",
      "SELECT time, actor, sha256, text FROM policy_changes ORDER BY id DESC LIMIT $1",
      [limit],
    );
    return rows.map((r) => ({ time: r.time, actor: r.actor, sha256: r.sha256, text: r.text }));
  }

  async ping(): Promise<void> {
    await this.#query(`ping ${this.#shown}`, "SELECT 1");
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}
