/**
 * The Keep evidence wrapper: a golden vector (also the README's example),
 * round trips, the malformed-input table, and the binding check. base64url is
 * cross-checked with node's Buffer ("base64url": RFC 4648 §5, unpadded).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, it } from "node:test";
import { reportData, workloadIdentity } from "./binding.ts";
import {
  checkKeepBinding,
  decodeKeepEvidence,
  encodeKeepEvidence,
  KEEP_EVIDENCE_MAX_SIZE,
  type KeepEvidence,
} from "./cmw.ts";
import { EvidenceError, OptionsError } from "./error.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const sha256 = (s: string) => new Uint8Array(createHash("sha256").update(s).digest());
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const b64u = (b: Uint8Array) => Buffer.from(b).toString("base64url");

/** A P-384 SPKI: the fixed 24-byte DER prefix, then X ‖ Y = bytes 0x00…0x5F. */
const SPKI = Uint8Array.from([
  ...Buffer.from("3076301006072a8648ce3d020106052b8104002203620004", "hex"),
  ...Array.from({ length: 96 }, (_, i) => i),
]);

const GOLDEN_INPUT: KeepEvidence = {
  tee: "snp",
  evidence: utf8("an SNP report"),
  certs: [utf8("VCEK"), utf8("ASK"), utf8("ARK")],
  keepKey: SPKI,
  wasmDigest: sha256("wasm"),
  configDigest: sha256("config"),
};

/** The golden encoding; the README's example is this text (a test below holds them equal). */
const GOLDEN = `{
  "__cmwc_t": "tag:donjon.dev,2026:keep-evidence/v1",
  "evidence": [
    "application/vnd.amd.sev-snp.attestation-report",
    "YW4gU05QIHJlcG9ydA",
    4
  ],
  "certs": {
    "__cmwc_t": "tag:donjon.dev,2026:keep-evidence/certs/v1",
    "0": [
      "application/pkix-cert",
      "VkNFSw",
      2
    ],
    "1": [
      "application/pkix-cert",
      "QVNL",
      2
    ],
    "2": [
      "application/pkix-cert",
      "QVJL",
      2
    ]
  },
  "keep-key": [
    "application/vnd.donjon.spki+der",
    "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-P0BBQkNERUZHSElKS0xNTk9QUVJTVFVWV1hZWltcXV5f"
  ],
  "workload": {
    "__cmwc_t": "tag:donjon.dev,2026:keep-evidence/workload/v1",
    "wasm": [
      "application/vnd.donjon.sha-256",
      "M2FUv2f3Zfj3XRagrM7mG17l9qdbKikFcD35E71VDz4"
    ],
    "config": [
      "application/vnd.donjon.sha-256",
      "t5YG-zr-pb0WCe1AtiIULxyYElq8_omnamYbDo40ORA"
    ]
  }
}
`;

/** The golden wrapper as a plain object, to corrupt one thing at a time. */
// biome-ignore lint/suspicious/noExplicitAny: a JSON tree the tests reshape at will
type Doc = Record<string, any>;
const doc = (): Doc => JSON.parse(GOLDEN);
const bytesOf = (o: unknown) => utf8(JSON.stringify(o));

describe("encodeKeepEvidence / decodeKeepEvidence", () => {
  it("writes the golden vector, byte for byte", () => {
    assert.equal(new TextDecoder().decode(encodeKeepEvidence(GOLDEN_INPUT)), GOLDEN);
    // Independent base64url: node's Buffer.
    const d = doc();
    assert.equal(d["keep-key"][1], b64u(SPKI));
    assert.equal(d.workload.config[1], b64u(sha256("config")));
  });

  it("reads it back to the same fields", () => {
    assert.deepEqual(decodeKeepEvidence(utf8(GOLDEN)), GOLDEN_INPUT);
  });

  it("the README shows the golden vector", () => {
    const readme = fs.readFileSync(path.join(import.meta.dirname, "../README.md"), "utf8");
    const m = /## The Keep evidence wrapper[\s\S]*?```json\n([\s\S]*?)```/.exec(readme);
    assert.ok(m, "README has a json block under 'The Keep evidence wrapper'");
    assert.equal(m[1], GOLDEN);
  });

  it("round-trips every TEE, no certificates, and every value length mod 3", () => {
    for (const tee of ["sandbox", "snp", "tdx", "sgx"] as const) {
      for (const n of [1, 2, 3, 4, 5, 336, 1184]) {
        const e: KeepEvidence = {
          ...GOLDEN_INPUT,
          tee,
          evidence: Uint8Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff),
          certs: n % 2 ? [] : [Uint8Array.from({ length: n }, (_, i) => 255 - (i & 0xff))],
        };
        const bytes = encodeKeepEvidence(e);
        assert.deepEqual(decodeKeepEvidence(bytes), e);
        if (e.certs.length === 0) assert.ok(!new TextDecoder().decode(bytes).includes('"certs"'));
        const evidence = JSON.parse(new TextDecoder().decode(bytes)).evidence[1];
        assert.equal(evidence, b64u(e.evidence));
      }
    }
  });

  it("accepts any member order and whitespace (JSON objects are unordered)", () => {
    const d = doc();
    const reordered = {
      workload: { config: d.workload.config, wasm: d.workload.wasm, __cmwc_t: d.workload.__cmwc_t },
      "keep-key": d["keep-key"],
      certs: d.certs,
      evidence: d.evidence,
      __cmwc_t: d.__cmwc_t,
    };
    assert.deepEqual(decodeKeepEvidence(bytesOf(reordered)), GOLDEN_INPUT);
  });

  it("the encoder refuses what the decoder would", () => {
    for (const bad of [
      { ...GOLDEN_INPUT, tee: "tpm" as never },
      { ...GOLDEN_INPUT, evidence: new Uint8Array(0) },
      { ...GOLDEN_INPUT, keepKey: SPKI.subarray(1) },
      { ...GOLDEN_INPUT, wasmDigest: new Uint8Array(31) },
      { ...GOLDEN_INPUT, certs: Array.from({ length: 9 }, () => utf8("c")) },
    ]) {
      assert.throws(() => encodeKeepEvidence(bad), {
        name: "OptionsError",
        code: "options.invalid",
      });
    }
  });
});

describe("decodeKeepEvidence refuses malformed input", () => {
  const mutate = (f: (d: Doc) => unknown) => {
    const d = doc();
    const r = f(d);
    return bytesOf(r === undefined ? d : r);
  };
  const big = (n: number) => "A".repeat(n);
  /** A P-256 SPKI (91 bytes) and a P-384 one whose point is marked compressed (0x02). */
  const P256_SPKI = Buffer.from(
    "3059301306072a8648ce3d020106082a8648ce3d030107034200".padEnd(182, "0"),
    "hex",
  );
  const COMPRESSED_SPKI = Uint8Array.from([...SPKI.subarray(0, 23), 2, ...SPKI.subarray(24)]);
  const TABLE: [string, Uint8Array, string][] = [
    ["empty input", new Uint8Array(0), "cmw.size"],
    ["over 256 KiB", utf8(`${GOLDEN}${" ".repeat(KEEP_EVIDENCE_MAX_SIZE)}`), "cmw.size"],
    ["invalid UTF-8", Uint8Array.from([0x7b, 0xff, 0x7d]), "cmw.utf8"],
    ["a UTF-8 BOM", utf8(`\ufeff${GOLDEN}`), "cmw.json"],
    ["not JSON", utf8("{evidence}"), "cmw.json"],
    ["truncated JSON", utf8(GOLDEN.slice(0, 100)), "cmw.json"],
    ["trailing text", utf8(`${GOLDEN}x`), "cmw.json"],
    ["a JSON array at the top", utf8("[1]"), "cmw.json"],
    ["a bad string escape", utf8('{"__cmwc_t": "\\x"}'), "cmw.json"],
    ["a raw control character", utf8('{"__cmwc_t": "a\tb"}'), "cmw.json"],
    ["deep nesting", utf8('{"a":{"b":{"c":{"d":{"e":1}}}}}'), "cmw.json"],
    [
      "a duplicated top label",
      utf8(GOLDEN.replace('"keep-key": [', '"evidence": [1], "keep-key": [')),
      "cmw.label_duplicate",
    ],
    [
      "a duplicated __cmwc_t",
      utf8(GOLDEN.replace('"evidence": [', '"__cmwc_t": "x", "evidence": [')),
      "cmw.label_duplicate",
    ],
    [
      "a duplicated workload label",
      utf8(GOLDEN.replace('"wasm": [', '"config": 1, "wasm": [')),
      "cmw.label_duplicate",
    ],
    [
      "no __cmwc_t",
      mutate((d) => {
        delete d.__cmwc_t;
      }),
      "cmw.type",
    ],
    [
      "another __cmwc_t",
      mutate((d) => {
        d.__cmwc_t = "tag:donjon.dev,2026:keep-evidence/v2";
      }),
      "cmw.type",
    ],
    [
      "__cmwc_t not a string",
      mutate((d) => {
        d.__cmwc_t = 1;
      }),
      "cmw.type",
    ],
    [
      "certs with the top-level type",
      mutate((d) => {
        d.certs.__cmwc_t = d.__cmwc_t;
      }),
      "cmw.type",
    ],
    [
      "workload without __cmwc_t",
      mutate((d) => {
        delete d.workload.__cmwc_t;
      }),
      "cmw.type",
    ],
    [
      "no evidence",
      mutate((d) => {
        delete d.evidence;
      }),
      "cmw.label_missing",
    ],
    [
      "no keep-key",
      mutate((d) => {
        delete d["keep-key"];
      }),
      "cmw.label_missing",
    ],
    [
      "no workload",
      mutate((d) => {
        delete d.workload;
      }),
      "cmw.label_missing",
    ],
    [
      "no config digest",
      mutate((d) => {
        delete d.workload.config;
      }),
      "cmw.label_missing",
    ],
    [
      "certs with no certificate",
      mutate((d) => {
        d.certs = { __cmwc_t: d.certs.__cmwc_t };
      }),
      "cmw.label_missing",
    ],
    [
      "an unknown top label",
      mutate((d) => {
        d.nonce = ["application/octet-stream", "AA"];
      }),
      "cmw.label_unknown",
    ],
    [
      "a __proto__ label",
      utf8(GOLDEN.replace('"evidence": [', '"__proto__": {}, "evidence": [')),
      "cmw.label_unknown",
    ],
    [
      "an unknown workload label",
      mutate((d) => {
        d.workload.image = d.workload.wasm;
      }),
      "cmw.label_unknown",
    ],
    [
      "certificate labels out of sequence",
      mutate((d) => {
        d.certs["3"] = d.certs["2"];
        delete d.certs["2"];
      }),
      "cmw.label_unknown",
    ],
    [
      "a certificate label with a leading zero",
      mutate((d) => {
        d.certs["00"] = d.certs["0"];
        delete d.certs["0"];
      }),
      "cmw.label_unknown",
    ],
    [
      "evidence as a string",
      mutate((d) => {
        d.evidence = "AA";
      }),
      "cmw.record",
    ],
    [
      "evidence without its indicator",
      mutate((d) => {
        d.evidence.pop();
      }),
      "cmw.record",
    ],
    [
      "evidence with another indicator",
      mutate((d) => {
        d.evidence[2] = 2;
      }),
      "cmw.record",
    ],
    [
      "evidence with four elements",
      mutate((d) => {
        d.evidence.push(0);
      }),
      "cmw.record",
    ],
    [
      "keep-key with an indicator",
      mutate((d) => {
        d["keep-key"].push(4);
      }),
      "cmw.record",
    ],
    [
      "a media type that is not a string",
      mutate((d) => {
        d["keep-key"][0] = 18;
      }),
      "cmw.record",
    ],
    [
      "a value that is not a string",
      mutate((d) => {
        d.workload.wasm[1] = {};
      }),
      "cmw.record",
    ],
    [
      "certs as a record",
      mutate((d) => {
        d.certs = ["application/pkix-cert", "AA", 2];
      }),
      "cmw.record",
    ],
    [
      "workload as a record",
      mutate((d) => {
        d.workload = d.workload.wasm;
      }),
      "cmw.record",
    ],
    [
      "a certificate without its indicator",
      mutate((d) => {
        d.certs["1"].pop();
      }),
      "cmw.record",
    ],
    [
      "an unknown evidence media type",
      mutate((d) => {
        d.evidence[0] = "application/octet-stream";
      }),
      "cmw.media_type",
    ],
    [
      "an evidence media type in upper case",
      mutate((d) => {
        d.evidence[0] = d.evidence[0].toUpperCase();
      }),
      "cmw.media_type",
    ],
    [
      "a certificate of another media type",
      mutate((d) => {
        d.certs["0"][0] = "application/pkix-crl";
      }),
      "cmw.media_type",
    ],
    [
      "keep-key as a certificate",
      mutate((d) => {
        d["keep-key"][0] = "application/pkix-cert";
      }),
      "cmw.media_type",
    ],
    [
      "a digest of another media type",
      mutate((d) => {
        d.workload.wasm[0] = "application/vnd.donjon.sha-384";
      }),
      "cmw.media_type",
    ],
    [
      "padding",
      mutate((d) => {
        d.evidence[1] = `${d.evidence[1]}==`;
      }),
      "cmw.base64url",
    ],
    [
      "standard-alphabet '+'",
      mutate((d) => {
        d["keep-key"][1] = d["keep-key"][1].replace("-", "+");
      }),
      "cmw.base64url",
    ],
    [
      "standard-alphabet '/'",
      mutate((d) => {
        d.workload.config[1] = d.workload.config[1].replace("_", "/");
      }),
      "cmw.base64url",
    ],
    [
      "whitespace in a value",
      mutate((d) => {
        d.evidence[1] = `${d.evidence[1].slice(0, 4)} ${d.evidence[1].slice(4)}`;
      }),
      "cmw.base64url",
    ],
    [
      "an impossible length",
      mutate((d) => {
        d.evidence[1] = "AAAAA";
      }),
      "cmw.base64url",
    ],
    [
      "non-zero unused bits",
      mutate((d) => {
        d.certs["0"][1] = "VkNFSx";
      }),
      "cmw.base64url",
    ],
    [
      "empty evidence",
      mutate((d) => {
        d.evidence[1] = "";
      }),
      "cmw.value_size",
    ],
    [
      "evidence over 64 KiB",
      mutate((d) => {
        d.evidence[1] = big(87384);
      }),
      "cmw.value_size",
    ],
    [
      "a certificate over 16 KiB",
      mutate((d) => {
        d.certs["0"][1] = big(21848);
      }),
      "cmw.value_size",
    ],
    [
      "an empty certificate",
      mutate((d) => {
        d.certs["2"][1] = "";
      }),
      "cmw.value_size",
    ],
    [
      "nine certificates",
      mutate((d) => {
        for (let i = 3; i < 9; i++) d.certs[String(i)] = d.certs["0"];
      }),
      "cmw.value_size",
    ],
    [
      "a 31-byte wasm digest",
      mutate((d) => {
        d.workload.wasm[1] = b64u(new Uint8Array(31));
      }),
      "cmw.digest",
    ],
    [
      "a 48-byte config digest",
      mutate((d) => {
        d.workload.config[1] = b64u(new Uint8Array(48));
      }),
      "cmw.digest",
    ],
    [
      "a P-256 keep key",
      mutate((d) => {
        d["keep-key"][1] = b64u(P256_SPKI);
      }),
      "cmw.keep_key",
    ],
    [
      "a truncated keep key",
      mutate((d) => {
        d["keep-key"][1] = b64u(SPKI.subarray(0, 119));
      }),
      "cmw.keep_key",
    ],
    [
      "a keep key with a compressed point",
      mutate((d) => {
        d["keep-key"][1] = b64u(COMPRESSED_SPKI);
      }),
      "cmw.keep_key",
    ],
  ];
  for (const [name, bytes, code] of TABLE) {
    it(`${name} → ${code}`, () => {
      assert.throws(
        () => decodeKeepEvidence(bytes),
        (e: unknown) => {
          assert.ok(e instanceof EvidenceError, String(e));
          assert.equal(e.code, code, e.message);
          assert.match(e.message, /^Keep evidence wrapper: .*expected/);
          return true;
        },
      );
    });
  }

  it("is not given bytes → OptionsError", () => {
    assert.throws(() => decodeKeepEvidence(GOLDEN as never), OptionsError);
  });
});

describe("checkKeepBinding", () => {
  const good = async (e: KeepEvidence) =>
    reportData(e.keepKey, await workloadIdentity(e.wasmDigest, e.configDigest));

  it("passes when report_data binds the wrapper's key and digests", async () => {
    const rd = await good(GOLDEN_INPUT);
    const b = await checkKeepBinding(GOLDEN_INPUT, rd);
    assert.equal(b.ok, true);
    assert.deepEqual(b.checks, [{ id: "binding.report_data", ok: true }]);
    assert.deepEqual(b.reportData, rd);
    assert.deepEqual(b.workloadIdentity, await workloadIdentity(sha256("wasm"), sha256("config")));
  });

  for (const [name, change] of [
    [
      "another Keep key",
      (e: KeepEvidence) => ({
        ...e,
        keepKey: Uint8Array.from(e.keepKey, (b, i) => (i === 119 ? b ^ 1 : b)),
      }),
    ],
    ["another wasm digest", (e: KeepEvidence) => ({ ...e, wasmDigest: sha256("other") })],
    [
      "swapped digests",
      (e: KeepEvidence) => ({ ...e, wasmDigest: e.configDigest, configDigest: e.wasmDigest }),
    ],
  ] as const) {
    it(`fails with binding.report_data for ${name}, expected and actual in hex`, async () => {
      const rd = await good(GOLDEN_INPUT);
      const b = await checkKeepBinding(change(GOLDEN_INPUT), rd);
      assert.equal(b.ok, false);
      const [c] = b.checks;
      assert.equal(c!.code, "binding.report_data");
      assert.equal(c!.actual, hex(rd));
      assert.match(c!.expected!, /^[0-9a-f]{128}$/);
      assert.notEqual(c!.expected, c!.actual);
      assert.ok(c!.remedy);
    });
  }

  it("checks the evidence's own workload identity when given", async () => {
    const rd = await good(GOLDEN_INPUT);
    const id = await workloadIdentity(GOLDEN_INPUT.wasmDigest, GOLDEN_INPUT.configDigest);
    const same = await checkKeepBinding(GOLDEN_INPUT, rd, { evidenceWorkloadIdentity: id });
    assert.deepEqual(
      same.checks.map((c) => [c.id, c.ok]),
      [
        ["binding.report_data", true],
        ["binding.workload_identity", true],
      ],
    );
    const other = await checkKeepBinding(GOLDEN_INPUT, rd, {
      evidenceWorkloadIdentity: new Uint8Array(32),
    });
    assert.equal(other.ok, false);
    assert.equal(other.checks[1]!.code, "binding.workload_identity");
    assert.equal(other.checks[1]!.actual, "00".repeat(32));
  });

  it("a short report_data is a failed check, not a throw; bad arguments throw OptionsError", async () => {
    const b = await checkKeepBinding(GOLDEN_INPUT, new Uint8Array(32));
    assert.equal(b.checks[0]!.code, "binding.report_data");
    await assert.rejects(checkKeepBinding(GOLDEN_INPUT, "00" as never), OptionsError);
  });

  it("uses the injected WebCrypto", async () => {
    let digests = 0;
    const crypto = {
      subtle: {
        digest: (alg: AlgorithmIdentifier, data: BufferSource) => {
          digests++;
          return globalThis.crypto.subtle.digest(alg, data);
        },
      },
    } as unknown as Crypto;
    const b = await checkKeepBinding(GOLDEN_INPUT, await good(GOLDEN_INPUT), { crypto });
    assert.equal(b.ok, true);
    assert.equal(digests, 2);
  });
});
