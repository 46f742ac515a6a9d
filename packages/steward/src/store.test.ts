import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { after, before, describe, it } from "node:test";
import { Client } from "pg";
import { findPgBin, type PgTestServer, startPgTestServer } from "./_pg_testserver.ts";
import { sampleCert, sampleDecision, storeContract } from "./store.contract.ts";
import { openStore, parseStoreUrl, StoreError } from "./store.ts";

const tmp = mkdtempSync(join(tmpdir(), "donjon-store-"));
after(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const freshPath = () => join(tmp, `s${++n}.db`);

async function rejectsCode(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof StoreError, String(e));
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe("storage URLs", () => {
  it("name SQLite or PostgreSQL", () => {
    assert.deepEqual(parseStoreUrl("sqlite:/var/lib/donjon/steward.db"), {
      kind: "sqlite",
      path: "/var/lib/donjon/steward.db",
    });
    assert.deepEqual(parseStoreUrl("SQLite:rel/x.db"), { kind: "sqlite", path: "rel/x.db" });
    assert.deepEqual(parseStoreUrl("sqlite::memory:"), { kind: "sqlite", path: ":memory:" });
    assert.deepEqual(parseStoreUrl("./steward.db"), { kind: "sqlite", path: "./steward.db" });
    assert.deepEqual(parseStoreUrl("/abs/steward.db"), { kind: "sqlite", path: "/abs/steward.db" });
    for (const url of ["postgres://u@h:5432/d", "postgresql://u:p@h/d?sslmode=require"]) {
      assert.deepEqual(parseStoreUrl(url), { kind: "postgres", url });
    }
  });

  const refused: [string, RegExp][] = [
    ["", /empty/],
    ["   ", /empty/],
    ["sqlite:", /names no file/],
    [
      "mysql://root:hunter2@db/steward",
      /unsupported storage URL "mysql:\/\/root:\*\*\*@db\/steward"/,
    ],
    ["postgres:/missing-slashes", /unsupported/],
    ["file:///var/lib/x.db", /unsupported/],
    ["redis://localhost", /unsupported/],
  ];
  for (const [url, message] of refused) {
    it(`refuses ${JSON.stringify(url)} with store.url naming the accepted forms`, async () => {
      await rejectsCode(openStore(url), "store.url", message);
      await rejectsCode(openStore(url), "store.url", /sqlite:PATH.*postgres:\/\//);
    });
  }

  it("a PostgreSQL URL that does not parse is store.url, without its password", async () => {
    await assert.rejects(openStore("postgres://u:s3cret@host:notaport/db"), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, "store.url", e.message);
      assert.ok(!e.message.includes("s3cret"), e.message);
      assert.ok(!JSON.stringify(e.cause ?? null).includes("s3cret"), "nor is it in the cause");
      return true;
    });
  });

  it("never shows the password", async () => {
    await assert.rejects(
      openStore("mysql://u:s3cret@h/d"),
      (e: Error) => !e.message.includes("s3cret"),
    );
  });
});

describe("SQLite store: the contract", () => {
  storeContract({
    freshUrl: async () => `sqlite:${freshPath()}`,
    async failDecisionInserts(url) {
      const db = new DatabaseSync(url.slice("sqlite:".length));
      db.exec(
        "CREATE TRIGGER fail BEFORE INSERT ON decisions BEGIN SELECT RAISE(ABORT, 'no decisions'); END",
      );
      db.close();
    },
  });
});

describe("SQLite store: the file", () => {
  it("is created mode 0600, in WAL mode, with its WAL files private too", async () => {
    const path = freshPath();
    const s = await openStore(path);
    await s.recordDecision(sampleDecision(1));
    for (const f of [path, `${path}-wal`, `${path}-shm`]) {
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
    }
    await s.close();
    const db = new DatabaseSync(path, { readOnly: true });
    assert.equal(
      (db.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
      "wal",
    );
    assert.deepEqual(
      db
        .prepare("SELECT version FROM schema_version")
        .all()
        .map((r) => r.version),
      [1],
    );
    db.close();
  });

  it("an in-memory store works (for tests of the app)", async () => {
    const s = await openStore("sqlite::memory:");
    await s.recordDecision(
      sampleDecision(1, { verdict: "issued", serial: "01", failedChecks: [] }),
      sampleCert("01"),
    );
    assert.equal((await s.getCertificate("01"))?.serial, "01");
    await s.close();
  });

  it("a missing directory is store.io naming the path", async () => {
    const path = join(tmp, "no", "such", "dir", "x.db");
    await rejectsCode(openStore(`sqlite:${path}`), "store.io", /no\/such\/dir/);
  });

  it("a file that is not a database is store.io", async () => {
    const path = freshPath();
    writeFileSync(path, "this is not a SQLite database, just text that is long enough ".repeat(10));
    await rejectsCode(openStore(path), "store.io", /not a database/);
  });

  it("a schema newer than this Steward is store.schema and is left untouched", async () => {
    const path = freshPath();
    await (await openStore(path)).close();
    const db = new DatabaseSync(path);
    db.exec("INSERT INTO schema_version (version) VALUES (99)");
    db.close();
    await rejectsCode(
      openStore(path),
      "store.schema",
      /expected schema version 1 or older, got 99/,
    );
    const again = new DatabaseSync(path, { readOnly: true });
    assert.equal(
      (again.prepare("SELECT max(version) AS v FROM schema_version").get() as { v: number }).v,
      99,
    );
    again.close();
  });

  it("two stores on one file see each other's writes (two Stewards, one machine)", async () => {
    const path = freshPath();
    const [a, b] = await Promise.all([openStore(path), openStore(path)]);
    await a.recordDecision(
      sampleDecision(1, { verdict: "issued", serial: "aa", failedChecks: [] }),
      sampleCert("aa"),
    );
    assert.equal(await b.revoke("aa", "superseded", new Date()), true);
    assert.equal((await a.getCertificate("aa"))?.revocationReason, "superseded");
    await Promise.all([a.close(), b.close()]);
  });
});

describe("PostgreSQL test server", () => {
  it("without PostgreSQL installed, fails (never skips) saying what to install", () => {
    assert.throws(() => findPgBin(join(tmp, "nowhere")), /install Debian's postgresql package/);
  });
});

describe("PostgreSQL store: the contract, against a real server", () => {
  let server: PgTestServer;
  before(async () => {
    server = await startPgTestServer();
  });
  after(() => server?.stop());

  storeContract({
    freshUrl: () => server.createSchema(),
    async failDecisionInserts(url) {
      const c = new Client({ connectionString: url });
      await c.connect();
      await c.query(`CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql
        AS $$ BEGIN RAISE EXCEPTION 'no decisions'; END $$;
        CREATE TRIGGER fail BEFORE INSERT ON decisions FOR EACH ROW EXECUTE FUNCTION fail()`);
      await c.end();
    },
  });

  it("Stewards starting at once on a new database migrate it once", async () => {
    const url = await server.createSchema();
    const stores = await Promise.all(Array.from({ length: 6 }, () => openStore(url)));
    await stores[0]!.recordDecision(sampleDecision(1));
    for (const s of stores) assert.equal((await s.listDecisions({ limit: 5 })).length, 1);
    await Promise.all(stores.map((s) => s.close()));
    const c = new Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query("SELECT version FROM schema_version ORDER BY version");
    await c.end();
    assert.deepEqual(
      rows.map((r) => r.version),
      [1],
    );
  });

  it("stores timestamps as timestamptz and failed checks as JSONB", async () => {
    const url = await server.createSchema();
    const s = await openStore(url);
    await s.recordDecision(sampleDecision(1));
    await s.close();
    const c = new Client({ connectionString: url });
    await c.connect();
    const { rows } = await c.query(
      "SELECT pg_typeof(time)::text AS t, pg_typeof(failed_checks)::text AS f, failed_checks->0->>'code' AS code FROM decisions",
    );
    await c.end();
    assert.deepEqual(rows, [
      { t: "timestamp with time zone", f: "jsonb", code: "policy.tier.software" },
    ]);
  });

  it("a schema newer than this Steward is store.schema", async () => {
    const url = await server.createSchema();
    await (await openStore(url)).close();
    const c = new Client({ connectionString: url });
    await c.connect();
    await c.query("INSERT INTO schema_version (version) VALUES (99)");
    await c.end();
    await rejectsCode(openStore(url), "store.schema", /expected schema version 1 or older, got 99/);
  });

  it("readiness follows the server: ping fails with store.io while it is down, and the pool recovers", async () => {
    const s = await openStore(await server.createSchema());
    try {
      await s.recordDecision(sampleDecision(1));
      await server.crash();
      // The pool's idle connections die with the server; that must not end this process.
      await rejectsCode(s.ping(), "store.io");
      await rejectsCode(s.recordDecision(sampleDecision(2)), "store.io");
      await server.start();
      await s.ping();
      assert.equal((await s.listDecisions({ limit: 5 })).length, 1);
    } finally {
      await s.close();
    }
  });

  it("an unreachable server is store.io, and the password is not in the message", async () => {
    const url = `postgres://donjon:s3cret@127.0.0.1:${server.port}/no_such_db`;
    await assert.rejects(openStore(url), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.equal(e.code, "store.io");
      assert.match(e.message, /no_such_db/);
      assert.ok(!e.message.includes("s3cret"), e.message);
      return true;
    });
  });
});
