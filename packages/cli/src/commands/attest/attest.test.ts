/**
 * The attest verbs in-process, with a fake context: what only a context can
 * show (no clock, no fetch, the injected clock and fetch being used).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { CliError } from "../../error.ts";
import type { AttestContext } from "./_io.ts";
import { attest } from "./attest.ts";

const SNP = path.resolve(import.meta.dirname, "../../../../../../shared/vectors/snp");
const REPORT = path.join(SNP, "milan-v2-virtee/derived/report.bin");
const VCEK = path.join(SNP, "milan-v2-virtee/vcek_milan.der");

function fake(extra: Partial<AttestContext> = {}) {
  const ctx = {
    stdout: "",
    stderr: "",
    cwd: "/",
    out: (t: string) => {
      ctx.stdout += t;
    },
    err: (t: string) => {
      ctx.stderr += t;
    },
    readFile: (p: string) => new Uint8Array(fs.readFileSync(p)),
    ...extra,
  };
  return ctx;
}

async function usage(argv: string[], ctx: AttestContext, message: RegExp): Promise<void> {
  await assert.rejects(attest(argv, ctx), (e: unknown) => {
    assert.ok(e instanceof CliError);
    assert.equal(e.exitStatus, 2);
    assert.match(e.message, message);
    return true;
  });
}

describe("donjon attest, in-process", () => {
  it("the injected clock is the default verification time", async () => {
    const ctx = fake({ now: () => new Date("2026-11-27T00:00:00Z") });
    const status = await attest(["verify", REPORT, "--collateral", VCEK, "--offline"], ctx);
    assert.equal(status, 0, ctx.stdout + ctx.stderr);
    assert.match(ctx.stdout, /as of 2026-11-27T00:00:00\.000Z/);
    // After the VCEK expired (2030-04-03), the same command rejects it.
    const later = fake({ now: () => new Date("2031-01-01T00:00:00Z") });
    assert.equal(await attest(["verify", REPORT, "--collateral", VCEK, "--offline"], later), 1);
    assert.match(later.stdout, /FAIL snp\.verify\.expired \(snp\.verify\.validity\.vcek\)/);
  });

  it("without a clock --at is needed; without fetch --offline is", async () => {
    await usage(["verify", REPORT, "--offline"], fake(), /no clock here: pass --at/);
    await usage(
      ["verify", REPORT, "--at", "2026-11-27"],
      fake(),
      /no network access here: pass --offline/,
    );
  });

  it("the injected fetch is what reaches the KDS", async () => {
    const urls: string[] = [];
    const vcek = fs.readFileSync(VCEK);
    const fetch = (async (input: string | URL | Request) => {
      const url = String(input instanceof Request ? input.url : input);
      urls.push(url);
      return url.includes("/vcek/v1/Milan/d49554ec")
        ? new Response(vcek, { status: 200 })
        : new Response("", { status: 404 });
    }) as typeof globalThis.fetch;
    const ctx = fake({ fetch, now: () => new Date("2026-11-27T00:00:00Z") });
    const status = await attest(["verify", REPORT, "--json"], ctx);
    assert.equal(status, 0, ctx.stdout + ctx.stderr);
    assert.ok(
      urls.every((u) => u.startsWith("https://kdsintf.amd.com/")),
      urls.join(" "),
    );
    assert.ok(
      urls.some((u) => u.includes("ucodeSPL=115")),
      urls.join(" "),
    );
    const verdict = JSON.parse(ctx.stdout) as { ok: boolean; warnings: { actual: string }[] };
    assert.equal(verdict.ok, true);
    assert.match(verdict.warnings[0]!.actual, /HTTP 404|not found|no CRL/i);
  });

  it("help and an unknown verb", async () => {
    const ctx = fake();
    assert.equal(await attest(["--help"], ctx), 0);
    assert.match(ctx.stdout, /Usage: donjon attest <VERB>/);
    const none = fake();
    assert.equal(await attest([], none), 2);
    assert.match(none.stderr, /Usage: donjon attest/);
    await usage(["sign"], fake(), /unknown verb "sign"/);
    const h = fake();
    assert.equal(await attest(["inspect", "--help"], h), 0);
    assert.match(h.stdout, /--product NAME/);
  });
});
