/**
 * The contract every Store implementation keeps, as one suite: `store.test.ts` runs it
 * against SQLite and against a real PostgreSQL server. Call it inside a `describe`.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { it } from "node:test";
import {
  type Decision,
  type IssuedCert,
  openStore,
  type Store,
  StoreError,
  type StoreErrorCode,
} from "./store.ts";

export interface StoreContractFixture {
  /** A storage URL naming a new, empty database (a new one on every call). */
  freshUrl(): Promise<string>;
  /**
   * Makes every later insert into the database's decisions fail (a trigger), so the
   * contract can see a certificate written and then rolled back with its decision.
   */
  failDecisionInserts(url: string): Promise<void>;
}

const T0 = Date.parse("2026-11-27T10:00:00.123Z");

/** A decision at T0 + `i` seconds. */
export function sampleDecision(i: number, over: Partial<Decision> = {}): Decision {
  return {
    time: new Date(T0 + i * 1000),
    evidenceHash: i.toString(16).padStart(64, "0"),
    tee: "sandbox",
    verdict: "refused",
    failedChecks: [
      {
        code: "policy.tier.software",
        expected: "a hardware TEE",
        actual: "sandbox",
        remedy: "allow the software tier in the policy",
      },
    ],
    serial: null,
    workloadIdentity: "ab".repeat(32),
    remoteAddr: "127.0.0.1",
    ...over,
  };
}

/** A certificate issued at T0 + `i` seconds, valid 24 hours. */
export function sampleCert(serial: string, i = 0, over: Partial<IssuedCert> = {}): IssuedCert {
  return {
    serial,
    notBefore: new Date(T0 + i * 1000),
    notAfter: new Date(T0 + i * 1000 + 86_400_000),
    pem: `-----BEGIN CERTIFICATE-----\n${serial}\n-----END CERTIFICATE-----\n`,
    tee: "snp",
    workloadIdentity: "cd".repeat(32),
    revokedAt: null,
    revocationReason: null,
    ...over,
  };
}

function issued(i: number, serial: string, over: Partial<Decision> = {}): Decision {
  return sampleDecision(i, { verdict: "issued", failedChecks: [], serial, tee: "snp", ...over });
}

async function rejectsWith(p: Promise<unknown>, code: StoreErrorCode): Promise<StoreError> {
  let caught: unknown;
  await p.then(
    () => assert.fail(`expected a StoreError ${code}, but it resolved`),
    (e: unknown) => {
      caught = e;
    },
  );
  assert.ok(caught instanceof StoreError, `expected a StoreError ${code}, got ${String(caught)}`);
  assert.equal(caught.code, code, caught.message);
  return caught;
}

/** Registers the contract's tests for the implementation behind `fixture`. */
export function storeContract(fixture: StoreContractFixture): void {
  async function withStore(fn: (s: Store, url: string) => Promise<void>): Promise<void> {
    const url = await fixture.freshUrl();
    const s = await openStore(url);
    try {
      await fn(s, url);
    } finally {
      await s.close();
    }
  }

  it("a new store is empty and answers ping", () =>
    withStore(async (s) => {
      await s.ping();
      assert.deepEqual(await s.listDecisions({ limit: 10 }), []);
      assert.deepEqual(await s.listRevoked(), []);
      assert.deepEqual(await s.listPolicyChanges({ limit: 10 }), []);
      assert.equal(await s.getCertificate("01"), null);
    }));

  it("a refused decision round-trips, every field, to the millisecond", () =>
    withStore(async (s) => {
      const d = sampleDecision(1, {
        verdict: "refused",
        failedChecks: [
          { code: "a.b", expected: "x", actual: "y", remedy: "z" },
          { code: "c.d", expected: "", actual: "ünïcødé ✓ 🔒", remedy: "line\nbreak\ttab" },
        ],
        remoteAddr: "::ffff:10.0.0.1",
      });
      const id = await s.recordDecision(d);
      assert.ok(Number.isSafeInteger(id) && id > 0, `id ${id}`);
      const [got] = await s.listDecisions({ limit: 10 });
      assert.deepEqual(got, { ...d, id });
      assert.equal(got!.time.getTime(), T0 + 1000);
    }));

  it("malformed decisions keep nulls as nulls", () =>
    withStore(async (s) => {
      const d = sampleDecision(2, {
        verdict: "malformed",
        tee: "unknown",
        workloadIdentity: null,
        remoteAddr: null,
        failedChecks: [],
      });
      const id = await s.recordDecision(d);
      assert.deepEqual(await s.listDecisions({ limit: 1 }), [{ ...d, id }]);
    }));

  it("an issued decision records its certificate in the same call", () =>
    withStore(async (s) => {
      const c = sampleCert("0a1b2c", 3);
      const id = await s.recordDecision(issued(3, "0a1b2c"), c);
      assert.deepEqual(await s.getCertificate("0a1b2c"), c);
      assert.equal(await s.getCertificate("0A1B2C"), null, "serials match verbatim");
      const [d] = await s.listDecisions({ limit: 1 });
      assert.equal(d!.id, id);
      assert.equal(d!.serial, "0a1b2c");
      assert.equal(d!.verdict, "issued");
    }));

  it("a decision whose serial is null takes its certificate's serial", () =>
    withStore(async (s) => {
      await s.recordDecision(issued(4, "ff", { serial: null }), sampleCert("ff", 4));
      const [d] = await s.listDecisions({ limit: 1 });
      assert.equal(d!.serial, "ff");
    }));

  it("a certificate is recorded unrevoked whatever its revocation fields say", () =>
    withStore(async (s) => {
      const c = sampleCert("10", 0, { revokedAt: new Date(T0), revocationReason: "keyCompromise" });
      await s.recordDecision(issued(0, "10"), c);
      const got = await s.getCertificate("10");
      assert.equal(got!.revokedAt, null);
      assert.equal(got!.revocationReason, null);
      assert.deepEqual(await s.listRevoked(), []);
    }));

  it("atomic: a duplicate serial fails with store.conflict and leaves nothing behind", () =>
    withStore(async (s) => {
      const first = sampleCert("beef", 1);
      await s.recordDecision(issued(1, "beef"), first);
      const e = await rejectsWith(
        s.recordDecision(issued(2, "beef"), sampleCert("beef", 2, { pem: "other" })),
        "store.conflict",
      );
      assert.match(e.message, /serial/);
      const all = await s.listDecisions({ limit: 10 });
      assert.equal(all.length, 1, "the second decision was not recorded");
      assert.deepEqual(await s.getCertificate("beef"), first, "the first certificate is intact");
      // The store is still usable after the rolled-back transaction.
      await s.recordDecision(issued(3, "cafe"), sampleCert("cafe", 3));
      assert.equal((await s.listDecisions({ limit: 10 })).length, 2);
    }));

  it("atomic: when the decision cannot be written, its certificate is not either", () =>
    withStore(async (s, url) => {
      await fixture.failDecisionInserts(url);
      await assert.rejects(s.recordDecision(issued(1, "e1"), sampleCert("e1")), StoreError);
      assert.equal(await s.getCertificate("e1"), null);
      assert.deepEqual(await s.listRevoked(), []);
    }));

  it("atomic: a decision naming a certificate that does not exist records nothing", () =>
    withStore(async (s) => {
      await rejectsWith(s.recordDecision(issued(1, "0bad")), "store.input");
      assert.deepEqual(await s.listDecisions({ limit: 10 }), []);
    }));

  it("invalid input is refused with store.input before anything is written", () =>
    withStore(async (s) => {
      const cases: [string, () => Promise<unknown>][] = [
        [
          "serial differs from the certificate's",
          () => s.recordDecision(issued(1, "aa"), sampleCert("bb")),
        ],
        ["refused with a certificate", () => s.recordDecision(sampleDecision(1), sampleCert("cc"))],
        ["invalid time", () => s.recordDecision(sampleDecision(1, { time: new Date(Number.NaN) }))],
        [
          "unknown verdict",
          () => s.recordDecision(sampleDecision(1, { verdict: "maybe" as Decision["verdict"] })),
        ],
        [
          "failed check without remedy",
          () =>
            s.recordDecision(
              sampleDecision(1, {
                failedChecks: [{ code: "x", expected: "y", actual: "z" } as never],
              }),
            ),
        ],
        ["NUL in a string", () => s.recordDecision(sampleDecision(1, { remoteAddr: "a\0b" }))],
        [
          "NUL in a failed check",
          () =>
            s.recordDecision(
              sampleDecision(1, {
                failedChecks: [{ code: "x", expected: "y", actual: "\0", remedy: "r" }],
              }),
            ),
        ],
        ["empty certificate serial", () => s.recordDecision(issued(1, ""), sampleCert(""))],
        ["negative limit", () => s.listDecisions({ limit: -1 })],
        ["fractional limit", () => s.listDecisions({ limit: 1.5 })],
        ["non-integer before", () => s.listDecisions({ limit: 1, before: Number.NaN })],
        ["invalid revocation time", () => s.revoke("aa", "r", new Date("nope"))],
        [
          "policy change without actor",
          () =>
            s.recordPolicyChange({
              time: new Date(T0),
              actor: undefined as never,
              sha256: "",
              text: "",
            }),
        ],
        ["policy limit", () => s.listPolicyChanges({ limit: Number.POSITIVE_INFINITY })],
      ];
      for (const [name, call] of cases) {
        await rejectsWith(call(), "store.input").catch((e: Error) => {
          throw new Error(`${name}: ${e.message}`);
        });
      }
      assert.deepEqual(await s.listDecisions({ limit: 10 }), []);
      assert.equal(await s.getCertificate("bb"), null);
      assert.equal(await s.getCertificate("cc"), null);
    }));

  it("revocation: unknown is false, the first time and reason stay, the CRL list is ordered", () =>
    withStore(async (s) => {
      for (const [i, serial] of ["01", "02", "03"].entries()) {
        await s.recordDecision(issued(i, serial), sampleCert(serial, i));
      }
      assert.equal(await s.revoke("99", "keyCompromise", new Date(T0)), false);
      assert.equal(await s.revoke("03", "keyCompromise", new Date(T0 + 5000)), true);
      assert.equal(await s.revoke("01", "superseded", new Date(T0 + 7000)), true);
      assert.equal(await s.revoke("03", "cessationOfOperation", new Date(T0 + 9000)), true);
      const c3 = await s.getCertificate("03");
      assert.equal(c3!.revokedAt!.getTime(), T0 + 5000);
      assert.equal(c3!.revocationReason, "keyCompromise");
      assert.equal((await s.getCertificate("02"))!.revokedAt, null);
      assert.deepEqual(await s.listRevoked(), [
        { serial: "03", revokedAt: new Date(T0 + 5000), reason: "keyCompromise" },
        { serial: "01", revokedAt: new Date(T0 + 7000), reason: "superseded" },
      ]);
    }));

  it("decisions page newest first by id, with `before`", () =>
    withStore(async (s) => {
      const ids: number[] = [];
      // Times deliberately out of order: the order is the id's, not the clock's.
      for (let i = 0; i < 25; i++) ids.push(await s.recordDecision(sampleDecision((i * 7) % 25)));
      for (let i = 1; i < ids.length; i++) assert.ok(ids[i]! > ids[i - 1]!, "ids only grow");
      const newestFirst = ids.toReversed();
      const seen: number[] = [];
      let before: number | undefined;
      const sizes: number[] = [];
      for (;;) {
        const page = await s.listDecisions({ limit: 10, before });
        if (page.length === 0) break;
        sizes.push(page.length);
        seen.push(...page.map((d) => d.id!));
        before = page.at(-1)!.id;
      }
      assert.deepEqual(sizes, [10, 10, 5]);
      assert.deepEqual(seen, newestFirst);
      assert.deepEqual(await s.listDecisions({ limit: 0 }), []);
      const [first] = await s.listDecisions({ limit: 1, before: ids[0] });
      assert.equal(first, undefined, "nothing is older than the first");
      const [d] = await s.listDecisions({ limit: 1, before: ids[5]! });
      assert.equal(d!.id, ids[4]);
      assert.equal(d!.time.getTime(), T0 + ((4 * 7) % 25) * 1000);
    }));

  it("policy changes round-trip, newest first, limited", () =>
    withStore(async (s) => {
      const changes = [0, 1, 2].map((i) => ({
        time: new Date(T0 + i),
        actor: i === 1 ? "SIGHUP" : `admin:${i}`,
        sha256: String(i).repeat(64),
        text: `[snp]\nallowed_measurements = ["${i}"]\n`,
      }));
      for (const c of changes) await s.recordPolicyChange(c);
      assert.deepEqual(await s.listPolicyChanges({ limit: 10 }), changes.toReversed());
      assert.deepEqual(await s.listPolicyChanges({ limit: 2 }), changes.toReversed().slice(0, 2));
    }));

  it("SQL-injection-shaped strings are stored verbatim", () =>
    withStore(async (s) => {
      const hostile = [
        "'); DROP TABLE decisions; --",
        '" OR 1=1 --',
        "x' OR '1'='1",
        "$1 $$ $tag$ ? :name @p %s %%",
        "\\'\\\\; SELECT pg_sleep(10); --",
        '{"code": "]}\'',
      ];
      for (const [i, h] of hostile.entries()) {
        const serial = `s${i}${h}`;
        const d = issued(i, serial, {
          evidenceHash: h,
          tee: h,
          workloadIdentity: h,
          remoteAddr: h,
          failedChecks: [{ code: h, expected: h, actual: h, remedy: h }],
        });
        const c = sampleCert(serial, i, { pem: h, tee: h, workloadIdentity: h });
        const id = await s.recordDecision(d, c);
        assert.deepEqual((await s.listDecisions({ limit: 1 }))[0], { ...d, id });
        assert.deepEqual(await s.getCertificate(serial), c);
        assert.equal(await s.revoke(serial, h, new Date(T0 + i)), true);
        await s.recordPolicyChange({ time: new Date(T0), actor: h, sha256: h, text: h });
        assert.deepEqual(await s.listPolicyChanges({ limit: 1 }), [
          { time: new Date(T0), actor: h, sha256: h, text: h },
        ]);
      }
      assert.equal(await s.getCertificate("' OR '1'='1"), null);
      assert.equal(await s.revoke("' OR '1'='1", "x", new Date(T0)), false);
      const revoked = await s.listRevoked();
      assert.deepEqual(
        revoked.map((r) => r.reason),
        hostile,
      );
      assert.equal((await s.listDecisions({ limit: 100 })).length, hostile.length);
    }));

  it("many recordDecision calls at once each get their own id and all land", () =>
    withStore(async (s) => {
      const n = 120;
      const ids = await Promise.all(
        Array.from({ length: n }, (_, i) =>
          i % 3 === 0
            ? s.recordDecision(issued(i, `c${i}`), sampleCert(`c${i}`, i))
            : s.recordDecision(sampleDecision(i)),
        ),
      );
      assert.equal(new Set(ids).size, n);
      const all = await s.listDecisions({ limit: n + 1 });
      assert.equal(all.length, n);
      assert.deepEqual(
        all.map((d) => d.id),
        ids.toSorted((a, b) => b - a),
      );
      const byId = new Map(ids.map((id, i) => [id, i]));
      for (const d of all) {
        const i = byId.get(d.id!)!;
        assert.equal(d.time.getTime(), T0 + i * 1000, `decision ${d.id} is the ${i}th's`);
        if (i % 3 === 0) assert.equal(d.serial, `c${i}`);
      }
      const certs = await Promise.all(
        Array.from({ length: n / 3 }, (_, k) => s.getCertificate(`c${k * 3}`)),
      );
      assert.ok(certs.every((c) => c !== null));
      // A duplicate racing the others fails alone.
      const racing = await Promise.allSettled([
        s.recordDecision(issued(0, "dup"), sampleCert("dup")),
        s.recordDecision(issued(1, "dup"), sampleCert("dup")),
        s.recordDecision(sampleDecision(2)),
      ]);
      const statuses = racing.map((r) => r.status).join(" ");
      assert.ok(
        statuses === "fulfilled rejected fulfilled" || statuses === "rejected fulfilled fulfilled",
        statuses,
      );
      const loser = racing.find((r) => r.status === "rejected") as PromiseRejectedResult;
      assert.equal((loser.reason as StoreError).code, "store.conflict");
    }));

  it("closing and reopening keeps everything; a closed store refuses calls", async () => {
    const url = await fixture.freshUrl();
    const a = await openStore(url);
    const id = await a.recordDecision(issued(1, "77"), sampleCert("77", 1));
    await a.revoke("77", "superseded", new Date(T0 + 1));
    await a.recordPolicyChange({ time: new Date(T0), actor: "init", sha256: "00", text: "" });
    await a.close();
    await a.close();
    await rejectsWith(a.ping(), "store.closed");
    await rejectsWith(a.recordDecision(sampleDecision(1)), "store.closed");
    await rejectsWith(a.listDecisions({ limit: 1 }), "store.closed");

    const b = await openStore(url);
    try {
      const [d] = await b.listDecisions({ limit: 10 });
      assert.equal(d!.id, id);
      assert.equal((await b.getCertificate("77"))!.revocationReason, "superseded");
      assert.equal((await b.listPolicyChanges({ limit: 1 })).length, 1);
      const next = await b.recordDecision(sampleDecision(2));
      assert.ok(next > id, "ids keep growing after a reopen");
    } finally {
      await b.close();
    }
  });

  it("a decision is durable once recordDecision resolves, even if the process is killed", async () => {
    const url = await fixture.freshUrl();
    const store = new URL("./store.ts", import.meta.url).href;
    // The child records, reports the id on a pipe (synchronous on Linux), then dies by SIGKILL.
    const script = `
      import { writeSync } from "node:fs";
      const { openStore } = await import(${JSON.stringify(store)});
      const s = await openStore(process.argv[1]);
      const d = ${JSON.stringify(sampleDecision(42))};
      d.time = new Date(d.time);
      const id = await s.recordDecision(d);
      writeSync(1, id + "\\n");
      process.kill(process.pid, "SIGKILL");`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script, url], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    const signal = await new Promise<NodeJS.Signals | null>((resolve) =>
      child.on("close", (_code, sig) => resolve(sig)),
    );
    assert.equal(signal, "SIGKILL", `child: ${out}${err}`);
    const id = Number(out.trim());
    const s = await openStore(url);
    try {
      const [d] = await s.listDecisions({ limit: 1 });
      assert.equal(d?.id, id);
      assert.equal(d?.evidenceHash, sampleDecision(42).evidenceHash);
    } finally {
      await s.close();
    }
  });
}
