/**
 * verifyKeepCertificate against real certificates from a real Steward CA made
 * in-process (@donjon/steward's createCa / issueKeepCert): an accepted chain,
 * and a table of refusals, each with its code. The clock is pinned.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { before, describe, it } from "node:test";
import { type Ca, createCa, crl } from "@donjon/steward";
import * as x509 from "@peculiar/x509";
import {
  HOUR,
  type KeepCert,
  keepCert,
  SANDBOX_CLAIMS,
  SNP_CLAIMS,
  steward,
  stewardTlsCert,
  WORKLOAD,
} from "./_fixtures.ts";
import { ClientError } from "./error.ts";
import { type VerifyKeepOptions, verifyKeepCertificate } from "./verify.ts";

const NOW = new Date("2026-11-27T12:00:00Z");
const at = (t: Date) => () => t;

let ca: Ca;
let other: Ca;
let snp: KeepCert;

before(async () => {
  [ca, other] = await Promise.all([steward(NOW), steward(NOW)]);
  snp = await keepCert(ca, { now: NOW });
});

const SIGN = { name: "ECDSA", hash: "SHA-384" } as const;

/**
 * A leaf in `ca`'s name signed by `signer` (default the CA's key), with the
 * given extensions and no claims: the shapes issueKeepCert never makes.
 */
async function craft(
  extensions: x509.Extension[],
  signer: CryptoKey = ca.privateKey,
): Promise<Uint8Array> {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: "01",
    subject: "CN=crafted",
    issuer: ca.cert.subject,
    notBefore: new Date(NOW.getTime() - HOUR),
    notAfter: new Date(NOW.getTime() + HOUR),
    signingAlgorithm: SIGN,
    publicKey: keys.publicKey,
    signingKey: signer,
    extensions,
  });
  return new Uint8Array(cert.rawData);
}

const base = (): VerifyKeepOptions => ({ stewardCa: ca.certPem, now: at(NOW) });

/** The codes of the failed checks of severity error. */
function failed(v: ReturnType<typeof verifyKeepCertificate>): string[] {
  return v.checks.filter((c) => !c.ok && c.severity !== "warning").map((c) => c.code!);
}

describe("verifyKeepCertificate", () => {
  it("accepts a Steward-issued hardware Keep running the expected workload; every check listed", () => {
    const v = verifyKeepCertificate([snp.der, new Uint8Array(ca.cert.rawData)], {
      ...base(),
      workload: WORKLOAD,
      host: "127.0.0.1",
      policy: {
        tees: ["snp"],
        measurements: [SNP_CLAIMS.measurement],
        tcbStatuses: ["meets-minimum"],
      },
    });
    assert.deepEqual(failed(v), []);
    assert.equal(v.ok, true);
    assert.deepEqual(v.claims, SNP_CLAIMS);
    assert.deepEqual(
      v.checks.map((c) => c.id),
      [
        "client.chain.signature",
        "client.validity.ca",
        "client.chain.leaf",
        "client.validity.leaf",
        "client.claims",
        "client.policy.tee",
        "client.policy.tier",
        "client.policy.measurement",
        "client.policy.workload",
        "client.policy.tcb",
      ],
    );
    assert.equal(v.steward!.subject, "CN=Donjon Steward CA");
    assert.match(v.certificate!.subject, /CN=donjon keep c0c0c0c0c0c0c0c0/);
    assert.equal(v.at, NOW.toISOString());
    assert.deepEqual(v.warnings, []);
    // No SAN: the host is not checked, and the verdict says so.
    assert.ok(v.notChecked.some((n) => /host name: the certificate names no host/.test(n)));
    assert.ok(
      v.notChecked.some((n) => /revocation: the Steward's CRL .* was not consulted/.test(n)),
    );
  });

  it("the Steward CA may be given as DER, and among several CAs", () => {
    const v = verifyKeepCertificate([snp.der], {
      stewardCa: [new Uint8Array(other.cert.rawData), new Uint8Array(ca.cert.rawData)],
      now: at(NOW),
    });
    assert.equal(v.ok, true, JSON.stringify(failed(v)));
  });

  it("the software tier passes only when allowed, and then carries the client.software_tier warning", async () => {
    const sandbox = await keepCert(ca, { now: NOW, claims: SANDBOX_CLAIMS });
    const refused = verifyKeepCertificate([sandbox.der], base());
    assert.deepEqual(failed(refused), ["client.policy.tier"]);
    assert.match(
      refused.checks.find((c) => c.code === "client.policy.tier")!.actual!,
      /no hardware confidentiality/,
    );
    const allowed = verifyKeepCertificate([sandbox.der], {
      ...base(),
      policy: { allowSoftware: true },
    });
    assert.equal(allowed.ok, true);
    assert.deepEqual(
      allowed.warnings.map((w) => w.code),
      ["client.software_tier"],
    );
  });

  it("a TDX Keep: Intel's TCB status is judged by tcbStatuses, and one short of UpToDate is said", async () => {
    const tdx = await keepCert(ca, {
      now: NOW,
      claims: { ...SNP_CLAIMS, tee: "tdx", tcbStatus: "OutOfDate", tcb: "01".repeat(34) },
    });
    const v = verifyKeepCertificate([tdx.der], base());
    assert.equal(v.ok, true, JSON.stringify(failed(v)));
    assert.ok(v.notChecked.some((n) => /Intel's status is OutOfDate, not UpToDate/.test(n)));
    const strict = verifyKeepCertificate([tdx.der], {
      ...base(),
      policy: { tcbStatuses: ["UpToDate"] },
    });
    assert.deepEqual(failed(strict), ["client.policy.tcb"]);
  });

  it("host names: checked when the certificate lists some, unless ignoreHostname", async () => {
    const named = await keepCert(ca, {
      now: NOW,
      san: [
        { type: "dns", value: "keep.example" },
        { type: "ip", value: "127.0.0.1" },
      ],
    });
    for (const host of ["keep.example", "127.0.0.1"]) {
      assert.equal(verifyKeepCertificate([named.der], { ...base(), host }).ok, true, host);
    }
    const wrong = verifyKeepCertificate([named.der], { ...base(), host: "other.example" });
    assert.deepEqual(failed(wrong), ["client.hostname"]);
    const ignored = verifyKeepCertificate([named.der], {
      ...base(),
      host: "other.example",
      ignoreHostname: true,
    });
    assert.equal(ignored.ok, true);
    assert.ok(ignored.notChecked.some((n) => /ignoreHostname/.test(n)));
  });

  const refusals: [string, () => Promise<[Uint8Array[], Partial<VerifyKeepOptions>]>, string[]][] =
    [
      [
        "a chain from another CA (refused peer)",
        async () => [[snp.der], { stewardCa: other.certPem }],
        ["client.chain"],
      ],
      [
        "another CA's certificate of the same name, served with the leaf (never an anchor)",
        async () => {
          const forged = await keepCert(other, { now: NOW });
          return [[forged.der, new Uint8Array(other.cert.rawData)], {}];
        },
        ["client.chain"],
      ],
      ["no certificate at all", async () => [[], {}], ["client.chain"]],
      [
        "bytes that are not a certificate",
        async () => [[Uint8Array.of(0x30, 0x03, 1, 2, 3)], {}],
        ["client.chain"],
      ],
      [
        "the CA certificate itself as the leaf",
        async () => [[new Uint8Array(ca.cert.rawData)], {}],
        ["client.chain", "client.claims"],
      ],
      [
        "a leaf in the CA's name (no AKI) signed by another key",
        async () => [[await craft([], other.privateKey)], {}],
        ["client.chain", "client.claims"],
      ],
      [
        "a leaf whose keyUsage lacks digitalSignature",
        async () => [
          [await craft([new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyEncipherment, true)])],
          {},
        ],
        ["client.chain", "client.claims"],
      ],
      [
        "a leaf for TLS clients only (extKeyUsage without serverAuth)",
        async () => [
          [await craft([new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])])],
          {},
        ],
        ["client.chain", "client.claims"],
      ],
      [
        "a leaf with an unknown critical extension",
        async () => [[await craft([new x509.Extension("1.2.3.4", true, Uint8Array.of(5, 0))])], {}],
        ["client.chain", "client.claims"],
      ],
      [
        "the wrong workload",
        async () => [[snp.der], { workload: "d1".repeat(32) }],
        ["client.policy.workload"],
      ],
      [
        "a workload not in the policy's list",
        async () => [[snp.der], { policy: { workloads: ["d1".repeat(32)] } }],
        ["client.policy.workload"],
      ],
      [
        "a Keep naming no workload (Enarx evidence) when one is expected",
        async () => [
          [(await keepCert(ca, { now: NOW, claims: { ...SNP_CLAIMS, workload: null } })).der],
          { workload: WORKLOAD },
        ],
        ["client.policy.workload"],
      ],
      [
        "expired: judged two days later",
        async () => [[snp.der], { now: at(new Date(NOW.getTime() + 48 * HOUR)) }],
        ["client.expired"],
      ],
      [
        "expired: issued with a validity in the past",
        async () => [
          [(await keepCert(ca, { now: new Date(NOW.getTime() - 3 * HOUR), lifetimeMs: HOUR })).der],
          {},
        ],
        ["client.expired"],
      ],
      [
        "not yet valid",
        async () => [[snp.der], { now: at(new Date(NOW.getTime() - 2 * HOUR)) }],
        ["client.expired"],
      ],
      [
        "the CA not yet valid either",
        async () => [[snp.der], { now: at(new Date(NOW.getTime() - 48 * HOUR)) }],
        ["client.expired", "client.expired"],
      ],
      [
        "no claims extension (the Steward's own TLS certificate)",
        async () => [[(await stewardTlsCert(ca, NOW)).der], {}],
        ["client.claims"],
      ],
      [
        "malformed claims (sandbox claiming the hardware tier)",
        async () => [
          [(await keepCert(ca, { now: NOW, claims: { ...SANDBOX_CLAIMS, tier: "hardware" } })).der],
          {},
        ],
        ["client.claims"],
      ],
      [
        "malformed claims (upper-case measurement)",
        async () => [
          [
            (
              await keepCert(ca, {
                now: NOW,
                claims: { ...SNP_CLAIMS, measurement: "AB".repeat(48) },
              })
            ).der,
          ],
          {},
        ],
        ["client.claims"],
      ],
      [
        "the software tier without allowSoftware",
        async () => [[(await keepCert(ca, { now: NOW, claims: SANDBOX_CLAIMS })).der], {}],
        ["client.policy.tier"],
      ],
      [
        "a TEE the policy does not allow",
        async () => [[snp.der], { policy: { tees: ["tdx"] } }],
        ["client.policy.tee"],
      ],
      [
        "a measurement not in the allow-list",
        async () => [[snp.der], { policy: { measurements: ["cd".repeat(48)] } }],
        ["client.policy.measurement"],
      ],
      [
        "a TCB status not accepted",
        async () => [
          [
            (await keepCert(ca, { now: NOW, claims: { ...SNP_CLAIMS, tcbStatus: "not-checked" } }))
              .der,
          ],
          { policy: { tcbStatuses: ["meets-minimum"] } },
        ],
        ["client.policy.tcb"],
      ],
      [
        "several failures at once: every one is listed",
        async () => [
          [(await keepCert(ca, { now: NOW, claims: SANDBOX_CLAIMS })).der],
          { workload: "d1".repeat(32), now: at(new Date(NOW.getTime() + 48 * HOUR)) },
        ],
        ["client.expired", "client.policy.tier", "client.policy.workload"],
      ],
    ];
  for (const [name, make, codes] of refusals) {
    it(`refuses ${name}: ${codes.join(", ")}`, async () => {
      const [chain, o] = await make();
      const v = verifyKeepCertificate(chain, { ...base(), ...o });
      assert.equal(v.ok, false);
      assert.deepEqual(failed(v), codes);
      // The message names what was wrong (leaf constraints are listed together).
      if (name.includes("keyUsage lacks"))
        assert.match(JSON.stringify(v.checks), /keyUsage lacks digitalSignature/);
      if (name.includes("serverAuth"))
        assert.match(JSON.stringify(v.checks), /extKeyUsage lacks serverAuth/);
      if (name.includes("critical"))
        assert.match(JSON.stringify(v.checks), /unknown critical extension 1\.2\.3\.4/);
      if (name.includes("another key"))
        assert.match(JSON.stringify(v.checks), /signature does not verify with its key/);
      for (const c of v.checks.filter((x) => !x.ok)) {
        assert.ok(c.expected && c.actual && c.remedy, `${c.id} has expected, actual and remedy`);
      }
    });
  }

  const badOptions: [string, Partial<VerifyKeepOptions>][] = [
    ["stewardCa that is not PEM", { stewardCa: "not a certificate" }],
    ["stewardCa an empty list", { stewardCa: [] }],
    ["stewardCa bytes that are not a certificate", { stewardCa: [Uint8Array.of(1, 2, 3)] }],
    ["workload not 64 hex digits", { workload: "abc" }],
    ["policy.tees naming an unknown TEE", { policy: { tees: ["kvm"] } }],
    ["policy.workloads with a short identity", { policy: { workloads: ["ab"] } }],
    ["policy.tcbStatuses unknown", { policy: { tcbStatuses: ["fine"] } }],
    [
      "policy.allowSoftware not a boolean",
      { policy: { allowSoftware: "yes" as unknown as boolean } },
    ],
    ["now not a function", { now: NOW as unknown as () => Date }],
  ];
  for (const [name, o] of badOptions) {
    it(`refuses options: ${name} → client.options`, () => {
      assert.throws(
        () => verifyKeepCertificate([snp.der], { ...base(), ...o }),
        (e: unknown) => e instanceof ClientError && e.code === "client.options",
      );
    });
  }

  it("refuses a stewardCa that is not a CA certificate (a Keep's) → client.options", () => {
    assert.throws(
      () => verifyKeepCertificate([snp.der], { ...base(), stewardCa: snp.certPem }),
      (e: unknown) =>
        e instanceof ClientError &&
        e.code === "client.options" &&
        /not a CA certificate/.test(e.message),
    );
  });
});

describe("verifyKeepCertificate with the Steward's CRL", () => {
  /** The leaf's serial as the Steward stores it (hex). */
  const serialOf = (der: Uint8Array) => new X509Certificate(der).serialNumber.toLowerCase();
  const pemOf = (der: Uint8Array, label = "X509 CRL") =>
    `-----BEGIN ${label}-----\n${Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n")}\n-----END ${label}-----\n`;
  const withCrl = (c: string | Uint8Array, o: Partial<VerifyKeepOptions> = {}) =>
    verifyKeepCertificate([snp.der], { ...base(), crl: c, ...o });

  it("an empty CRL from the Steward CA: both checks pass, the actual says the window and the count, and revocation is no longer listed as not checked", async () => {
    const empty = await crl(ca, [], NOW);
    for (const given of [empty, pemOf(empty), new TextEncoder().encode(pemOf(empty))]) {
      const v = withCrl(given);
      assert.equal(v.ok, true, JSON.stringify(failed(v)));
      const ids = v.checks.map((c) => c.id);
      assert.deepEqual(ids.slice(4, 6), ["client.revocation.crl", "client.revocation"]);
      const c = v.checks.find((x) => x.id === "client.revocation.crl")!;
      assert.match(
        c.actual!,
        /^signed by CN=Donjon Steward CA; thisUpdate 2026-11-27T12:00:00\.000Z, nextUpdate 2026-11-27T13:00:00\.000Z; 0 entries$/,
      );
      assert.match(
        v.checks.find((x) => x.id === "client.revocation")!.actual!,
        /not listed \(0 entries/,
      );
      assert.ok(!v.notChecked.some((n) => /revocation/.test(n)), v.notChecked.join("; "));
    }
  });

  it("other serials listed: passes, counting them", async () => {
    const list = await crl(
      ca,
      [
        { serial: "0badc0de", revokedAt: NOW },
        { serial: "4000000000000000000000000000000a", revokedAt: NOW, reason: "superseded" },
      ],
      NOW,
    );
    const v = withCrl(list);
    assert.equal(v.ok, true);
    assert.match(v.checks.find((x) => x.id === "client.revocation")!.actual!, /2 entries/);
  });

  it("the Keep's certificate listed → client.revoked, naming serial, date and reason", async () => {
    const serial = serialOf(snp.der);
    const revokedAt = new Date(NOW.getTime() - 60_000);
    for (const [reason, said] of [
      ["keyCompromise", ", reason keyCompromise"],
      [undefined, ", no reason given"],
    ] as const) {
      const list = await crl(ca, [{ serial, revokedAt, ...(reason ? { reason } : {}) }], NOW);
      const v = withCrl(list);
      assert.deepEqual(failed(v), ["client.revoked"]);
      const c = v.checks.find((x) => x.code === "client.revoked")!;
      assert.equal(c.id, "client.revocation");
      assert.equal(
        c.actual,
        `revoked: serial ${serial.replace(/^(00)+/, "")}, on ${revokedAt.toISOString().replace(/\.\d+Z$/, ".000Z")}${said}`,
      );
      assert.ok(c.remedy);
    }
  });

  it("a chain that does not verify: the CRL is not checked, and the verdict says so", async () => {
    const v = verifyKeepCertificate([snp.der], {
      ...base(),
      stewardCa: other.certPem,
      crl: await crl(other, [], NOW),
    });
    assert.deepEqual(failed(v), ["client.chain"]);
    assert.ok(!v.checks.some((c) => c.id.startsWith("client.revocation")));
    assert.ok(
      v.notChecked.some((n) =>
        /revocation: the CRL was not checked, the certificate does not chain/.test(n),
      ),
    );
    const none = verifyKeepCertificate([], { ...base(), crl: await crl(ca, [], NOW) });
    assert.ok(
      none.notChecked.some((n) => /revocation: not checked, there is no certificate/.test(n)),
    );
  });

  /** A CRL in `ca`'s name with shapes crl() never makes (X509CrlGenerator, signed by the CA's key). */
  const shaped = async (
    o: Partial<x509.X509CrlCreateParams> & { signer?: Ca } = {},
  ): Promise<Uint8Array> => {
    const signer = o.signer ?? ca;
    const list = await x509.X509CrlGenerator.create({
      issuer: signer.cert.subject,
      thisUpdate: NOW,
      nextUpdate: new Date(NOW.getTime() + HOUR),
      signingAlgorithm: SIGN,
      signingKey: signer.privateKey,
      ...o,
    });
    return new Uint8Array(list.rawData);
  };

  const refusals: [
    string,
    () => Promise<[string | Uint8Array, Partial<VerifyKeepOptions>?]>,
    RegExp,
  ][] = [
    [
      "another CA's CRL (same name, another key)",
      async () => [await crl(other, [], NOW)],
      /signature does not verify with its key/,
    ],
    [
      "a CRL of a CA with another name",
      async () => {
        const named = (await createCa({ now: NOW, subject: "CN=Another CA" })).ca;
        return [await crl(named, [], NOW)];
      },
      /^issued by CN=Another CA, not by the Steward CA the certificate chains to$/,
    ],
    [
      "a broken signature (one byte flipped)",
      async () => {
        const b = new Uint8Array(await crl(ca, [], NOW));
        b[b.length - 5]! ^= 0x01;
        return [b];
      },
      /signature does not verify/,
    ],
    [
      "a stale CRL (judged two hours after thisUpdate)",
      async () => [await crl(ca, [], NOW), { now: at(new Date(NOW.getTime() + 2 * HOUR)) }],
      /^stale: thisUpdate 2026-11-27T12:00:00\.000Z, nextUpdate 2026-11-27T13:00:00\.000Z, now 2026-11-27T14:00:00\.000Z$/,
    ],
    [
      "a CRL not yet valid (made an hour after now)",
      async () => [await crl(ca, [], new Date(NOW.getTime() + HOUR))],
      /^not yet valid: thisUpdate 2026-11-27T13:00:00\.000Z, nextUpdate 2026-11-27T14:00:00\.000Z, now 2026-11-27T12:00:00\.000Z$/,
    ],
    [
      "a CRL without nextUpdate",
      async () => [await shaped({ nextUpdate: undefined })],
      /no nextUpdate/,
    ],
    [
      "a CRL without nextUpdate that lists the Keep (X509Crl alone reads no entries here)",
      async () => [
        await shaped({
          nextUpdate: undefined,
          entries: [{ serialNumber: serialOf(snp.der), revocationDate: NOW }],
        }),
      ],
      /it has 1 revoked entries and 0 extensions, and @peculiar\/x509 read 0 and 0/,
    ],
    [
      "an unknown critical CRL extension",
      async () => [
        await shaped({ extensions: [new x509.Extension("1.2.3.4", true, Uint8Array.of(5, 0))] }),
      ],
      /unknown critical CRL extension 1\.2\.3\.4 \(RFC 5280 §5\.2\)/,
    ],
    [
      "an unknown critical entry extension",
      async () => [
        await shaped({
          entries: [
            {
              serialNumber: "0a",
              revocationDate: NOW,
              extensions: [new x509.Extension("1.2.3.5", true, Uint8Array.of(5, 0))],
            },
          ],
        }),
      ],
      /unknown critical entry extension 1\.2\.3\.5 on serial 0a \(RFC 5280 §5\.3\)/,
    ],
    [
      "a delta CRL (deltaCRLIndicator is critical, and not read)",
      async () => [
        await shaped({
          extensions: [new x509.Extension("2.5.29.27", true, Uint8Array.of(2, 1, 1))],
        }),
      ],
      /unknown critical CRL extension 2\.5\.29\.27/,
    ],
  ];
  for (const [name, make, actual] of refusals) {
    it(`refuses ${name} → client.crl`, async () => {
      const [given, o] = await make();
      const v = withCrl(given, o);
      assert.equal(v.ok, false);
      const c = v.checks.find((x) => x.id === "client.revocation.crl")!;
      assert.equal(c.code, "client.crl");
      assert.match(c.actual!, actual);
      assert.match(
        c.expected!,
        /a current CRL issued and signed by the Steward CA \(CN=Donjon Steward CA\)/,
      );
      assert.ok(c.remedy);
      // The rest of the verdict is unchanged: a stale CRL is the only failure.
      assert.deepEqual(
        failed(v).filter((x) => x !== "client.expired"),
        ["client.crl"],
      );
      assert.ok(!v.checks.some((x) => x.id === "client.revocation"));
      assert.ok(
        v.notChecked.some((n) => /revocation: not checked, the CRL given cannot be used/.test(n)),
      );
    });
  }

  const malformed: [string, () => Promise<string | Uint8Array>, RegExp][] = [
    ["empty bytes", async () => new Uint8Array(0), /^empty; expected a DER or PEM/],
    ["an empty string", async () => "", /PEM text without a complete/],
    [
      "random bytes",
      async () => crypto.getRandomValues(new Uint8Array(64)).fill(0x30, 0, 1),
      /not a DER X\.509 CRL/,
    ],
    [
      "truncated DER",
      async () => (await crl(ca, [], NOW)).subarray(0, 100),
      /not a DER X\.509 CRL \(truncated/,
    ],
    [
      "a PEM with a wrong label",
      async () => pemOf(await crl(ca, [], NOW), "CERTIFICATE"),
      /a PEM block labelled CERTIFICATE, not X509 CRL/,
    ],
    [
      "a certificate given as CRL (DER)",
      async () => new Uint8Array(ca.cert.rawData),
      /not a DER X\.509 CRL \(it is a certificate/,
    ],
    ["a certificate given as CRL (PEM)", async () => ca.certPem, /labelled CERTIFICATE/],
    [
      "trailing bytes after the DER",
      async () => {
        const d = await crl(ca, [], NOW);
        return Uint8Array.from([...d, 0, 0]);
      },
      /2 trailing byte\(s\) after the DER value/,
    ],
    ["text that is not PEM", async () => "not a CRL", /PEM text without a complete/],
    [
      "an indefinite length (BER, not DER)",
      async () => {
        const d = new Uint8Array(await crl(ca, [], NOW));
        d[1] = 0x80;
        return d;
      },
      /unsupported length form 0x80/,
    ],
  ];
  for (const [name, make, why] of malformed) {
    it(`malformed: ${name} → client.crl, saying what was wrong`, async () => {
      const v = withCrl(await make());
      assert.deepEqual(failed(v), ["client.crl"]);
      const c = v.checks.find((x) => x.id === "client.revocation.crl")!;
      assert.match(c.actual!, why);
      assert.match(
        c.actual!,
        /expected a DER or PEM \(-----BEGIN X509 CRL-----\) X\.509 CRL, as the Steward serves at GET \/api\/v1\/crl/,
      );
    });
  }

  for (const [name, bad] of [
    ["a number", 42],
    ["an array of bytes", [Uint8Array.of(0x30)]],
    ["null", null],
    ["an ArrayBuffer", new ArrayBuffer(4)],
  ] as const) {
    it(`refuses options: crl ${name} → client.options`, () => {
      assert.throws(
        () => withCrl(bad as unknown as Uint8Array),
        (e: unknown) =>
          e instanceof ClientError &&
          e.code === "client.options" &&
          /^crl: expected/.test(e.message),
      );
    });
  }
});
