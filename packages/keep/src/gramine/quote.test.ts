/**
 * getGramineQuote against testkit's fake /dev/attestation: the whole path from
 * report data to a quote whose signature verifies, and every way Gramine, the
 * manifest or another writer in the enclave can let the caller down.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type FakeGramineOptions,
  fakeGramine,
  SGX_QUOTE_REPORT_DATA_OFFSET,
} from "@donjon/testkit";
import { KeepError, type KeepErrorCode } from "../error.ts";
import { type GramineQuoteOptions, getGramineQuote } from "./quote.ts";

const REPORT_DATA = Uint8Array.from({ length: 64 }, (_, i) => (i * 5 + 1) & 0xff);

function isKeepError(code: KeepErrorCode, message?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof KeepError, `expected KeepError, got ${e}`);
    assert.equal(e.code, code, e.message);
    if (message) assert.match(e.message, message);
    return true;
  };
}

describe("getGramineQuote on a fake Gramine", () => {
  it("returns an SGX quote v3 over the report data, signed by the fake QE", async () => {
    const gramine = fakeGramine({ sgx: { mrenclave: new Uint8Array(32).fill(0x42) } });
    const { quote } = await getGramineQuote(gramine, { reportData: REPORT_DATA });
    assert.deepEqual(gramine.writes, [REPORT_DATA]);
    const v = new DataView(quote.buffer, quote.byteOffset);
    assert.equal(v.getUint16(0, true), 3);
    // LAYOUTS.md §2.1/§2.4: header 48 bytes, REPORT_DATA at body offset 320.
    assert.equal(SGX_QUOTE_REPORT_DATA_OFFSET, 368);
    assert.deepEqual(quote.subarray(368, 432), REPORT_DATA);
    assert.deepEqual(quote.subarray(48 + 64, 48 + 96), new Uint8Array(32).fill(0x42));

    // The attestation key in the signature data signs header ‖ body.
    const intel = gramine.lastIntel!;
    assert.deepEqual(quote.subarray(436 + 64, 436 + 128), intel.attestationKey);
    const key = await crypto.subtle.importKey(
      "raw",
      new Uint8Array([4, ...intel.attestationKey]),
      { name: "ECDSA", namedCurve: "P-256" },
      false,
      ["verify"],
    );
    const ok = await crypto.subtle.verify(
      { name: "ECDSA", hash: "SHA-256" },
      key,
      quote.slice(436, 500),
      quote.slice(0, 432),
    );
    assert.ok(ok, "the quote's ISV signature verifies");
  });

  it("accepts attestation_type with a trailing newline", async () => {
    const gramine = fakeGramine({ attestationType: "dcap\n" });
    await getGramineQuote(gramine, { reportData: REPORT_DATA });
  });

  it("uses another attestation directory when given one", async () => {
    const gramine = fakeGramine({ dir: "/mnt/attestation" });
    await getGramineQuote(gramine, { reportData: REPORT_DATA, dir: "/mnt/attestation" });
    assert.equal(gramine.writes.length, 1);
  });
});

describe("getGramineQuote failures: a typed error naming what was wrong", () => {
  const big = (n: number) => () => new Uint8Array(n).fill(3);
  const cases: [string, FakeGramineOptions, KeepErrorCode, RegExp][] = [
    [
      "attestation_type none (manifest without remote attestation)",
      { attestationType: "none" },
      "keep.gramine.attestation_type",
      /attestation_type is "none", expected "dcap": set sgx\.remote_attestation = "dcap" in the Gramine manifest/,
    ],
    [
      "attestation_type epid",
      { attestationType: "epid" },
      "keep.gramine.attestation_type",
      /is "epid", expected "dcap".*EPID attestation is retired/,
    ],
    [
      "an oversized attestation_type",
      { tamper: { attestation_type: big(65) } },
      "keep.gramine.malformed",
      /attestation_type: expected at most 64 bytes, got 65/,
    ],
    [
      "no /dev/attestation (not under Gramine)",
      { absent: true },
      "keep.gramine.io",
      /\/dev\/attestation does not exist: not running under Gramine .*donjon keep manifest --backend sgx/,
    ],
    [
      "a failing look for /dev/attestation",
      { fail: { exists: "EACCES" } },
      "keep.gramine.io",
      /could not look for \/dev\/attestation: EACCES/,
    ],
    [
      "a missing attestation_type",
      { attestationType: null },
      "keep.gramine.io",
      /could not read \/dev\/attestation\/attestation_type: ENOENT/,
    ],
    [
      "a failing user_report_data write",
      { fail: { write: { user_report_data: "EIO" } } },
      "keep.gramine.io",
      /could not write \/dev\/attestation\/user_report_data: EIO/,
    ],
    [
      "a failing quote read (the Quoting Enclave is unreachable)",
      { fail: { read: { quote: "EACCES" } } },
      "keep.gramine.io",
      /could not read \/dev\/attestation\/quote: EACCES/,
    ],
    ["an empty quote", { tamper: { quote: big(0) } }, "keep.gramine.malformed", /quote is empty/],
    [
      "an oversized quote",
      { tamper: { quote: big(64 * 1024 + 1) } },
      "keep.gramine.malformed",
      /quote: expected at most 65536 bytes, got 65537/,
    ],
    [
      "a quote too short for its report data",
      { tamper: { quote: (q) => q.subarray(0, 431) } },
      "keep.gramine.malformed",
      /quote: expected at least 432 bytes .*, got 431/,
    ],
    [
      "a quote of another version",
      { tamper: { quote: (q) => Uint8Array.of(4, 0, ...q.subarray(2)) } },
      "keep.gramine.malformed",
      /expected an SGX quote version 3, got version 4/,
    ],
    [
      "another writer in the enclave after our write",
      { concurrentWriter: {} },
      "keep.gramine.race",
      /carries REPORT_DATA eeeeeeeeeeeeeeee…, expected 01060b10151a1f24… .*another writer in this enclave/,
    ],
    [
      "a quote whose REPORT_DATA was altered",
      {
        tamper: {
          quote: (q) => {
            const t = q.slice();
            t[SGX_QUOTE_REPORT_DATA_OFFSET + 63]! ^= 1;
            return t;
          },
        },
      },
      "keep.gramine.race",
      /the quote is not ours/,
    ],
  ];
  for (const [name, fake, code, message] of cases) {
    it(`${name}: ${code}`, async () => {
      await assert.rejects(
        getGramineQuote(fakeGramine(fake), { reportData: REPORT_DATA }),
        isKeepError(code, message),
      );
    });
  }

  it("keeps the OS error as the cause", async () => {
    const gramine = fakeGramine({ fail: { read: { quote: "EIO" } } });
    const err = await getGramineQuote(gramine, { reportData: REPORT_DATA }).catch(
      (e: unknown) => e,
    );
    assert.ok(err instanceof KeepError);
    assert.equal((err.cause as { code?: string }).code, "EIO");
  });

  const bad: [string, Partial<GramineQuoteOptions>, RegExp][] = [
    ["32 bytes", { reportData: new Uint8Array(32) }, /reportData: expected 64 bytes, got 32 bytes/],
    ["65 bytes", { reportData: new Uint8Array(65) }, /expected 64 bytes, got 65 bytes/],
    ["no reportData", { reportData: undefined as unknown as Uint8Array }, /got undefined/],
  ];
  for (const [name, opts, message] of bad) {
    it(`${name}: keep.gramine.options before touching /dev/attestation`, async () => {
      const gramine = fakeGramine();
      await assert.rejects(
        getGramineQuote(gramine, { reportData: REPORT_DATA, ...opts }),
        isKeepError("keep.gramine.options", message),
      );
      assert.deepEqual(gramine.writes, []);
    });
  }
});
