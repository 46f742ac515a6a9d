/**
 * Sandbox evidence from the Keep side, and the round trip keep → attest: a
 * host key from the key store, a Keep key, the workload identity and the
 * binding, signed by `createSandboxEvidence`, verified by `@donjon/attest`.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { attestSandbox, parseSandboxEvidence } from "@donjon/attest";
import { KeepError } from "./error.ts";
import { generateKeepKey, reportData, workloadIdentity } from "./identity.ts";
import { createSandboxEvidence, SANDBOX_EVIDENCE_SIZE } from "./sandbox_evidence.ts";
import { loadOrCreateSandboxKey } from "./sandbox_key.ts";

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-sandbox-evidence-"));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));

const NOW = new Date("2026-11-27T12:00:00.000Z");
const sha = (alg: string, s: string) => new Uint8Array(createHash(alg).update(s).digest());
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

const host = await loadOrCreateSandboxKey({ stateDir: path.join(ROOT, "state") });
const keep = await generateKeepKey();
const identity = await workloadIdentity(sha("sha256", "app.wasm"), sha("sha256", "Donjon.toml"));
const binding = await reportData(keep.spki, identity);
const measurement = sha("sha384", "keep runtime files");
const input = {
  signer: host,
  runtimeMeasurement: measurement,
  workloadIdentity: identity,
  reportData: binding,
  issuedAt: new Date(NOW.getTime() - 2_000),
};

describe("createSandboxEvidence → attestSandbox", () => {
  it("round-trips: every field as written, signed by the host key", async () => {
    const ev = await createSandboxEvidence(input);
    assert.equal(ev.length, SANDBOX_EVIDENCE_SIZE);
    const p = parseSandboxEvidence(ev);
    assert.equal(hex(p.hostKeyId), hex(host.keyId));
    assert.equal(hex(p.runtimeMeasurement), hex(measurement));
    assert.equal(hex(p.workloadIdentity), hex(identity));
    assert.equal(hex(p.reportData), hex(binding));
    assert.equal(p.issuedAt.getTime(), NOW.getTime() - 2_000);

    const trusted = fs.readFileSync(host.publicKeyPath, "utf8");
    const spki = new Uint8Array(
      Buffer.from(trusted.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""), "base64"),
    );
    const v = await attestSandbox(ev, {
      trustedHostKeys: [spki],
      now: NOW,
      policy: {
        allowSoftwareTier: true,
        reportData: await reportData(keep.spki, identity),
        workloadIdentities: [identity],
        runtimeMeasurements: [measurement],
      },
    });
    assert.equal(v.ok, true, JSON.stringify(v.checks, null, 2));
    assert.equal(v.claims?.tee, "sandbox");
    assert.equal(v.claims?.tier, "software");
    assert.equal(v.claims?.confidential, false);
    assert.equal(v.claims?.report_data, hex(binding));
  });

  it("is refused by a policy that does not ask for the software tier", async () => {
    const ev = await createSandboxEvidence(input);
    const v = await attestSandbox(ev, { trustedHostKeys: [host.spki], now: NOW });
    assert.deepEqual(
      v.checks.filter((c) => !c.ok).map((c) => c.code),
      ["sandbox.policy.software_tier"],
    );
  });

  it("fails the binding for another Keep key", async () => {
    const ev = await createSandboxEvidence(input);
    const other = await generateKeepKey();
    const v = await attestSandbox(ev, {
      trustedHostKeys: [host.spki],
      now: NOW,
      policy: { allowSoftwareTier: true, reportData: await reportData(other.spki, identity) },
    });
    assert.deepEqual(
      v.checks.filter((c) => !c.ok).map((c) => c.code),
      ["sandbox.policy.report_data"],
    );
  });

  it("is rejected when any byte is flipped", async () => {
    const ev = await createSandboxEvidence(input);
    const opts = { trustedHostKeys: [host.spki], now: NOW, policy: { allowSoftwareTier: true } };
    for (let i = 0; i < ev.length; i++) {
      const b = ev.slice();
      b[i]! ^= 0x04;
      assert.equal((await attestSandbox(b, opts)).ok, false, `offset 0x${i.toString(16)}`);
    }
  });

  const BAD: [string, Partial<typeof input>, RegExp][] = [
    [
      "a 32-byte measurement",
      { runtimeMeasurement: new Uint8Array(32) },
      /runtimeMeasurement: expected 48 bytes, got 32 bytes/,
    ],
    [
      "a hex identity",
      { workloadIdentity: "00" as never },
      /workloadIdentity: expected 32 bytes, got string/,
    ],
    ["a 32-byte report_data", { reportData: new Uint8Array(32) }, /reportData: expected 64 bytes/],
    ["an invalid date", { issuedAt: new Date(Number.NaN) }, /issuedAt/],
    ["a date before 1970", { issuedAt: new Date(-1) }, /issuedAt/],
    ["a number as date", { issuedAt: 5 as never }, /issuedAt/],
    ["a signer without SPKI", { signer: { privateKey: host.privateKey } as never }, /signer\.spki/],
  ];
  for (const [name, change, message] of BAD) {
    it(`refuses ${name}`, async () => {
      await assert.rejects(createSandboxEvidence({ ...input, ...change }), (e: unknown) => {
        assert.ok(e instanceof KeepError);
        assert.equal(e.code, "keep.identity.input");
        assert.match(e.message, message);
        return true;
      });
    });
  }
});
