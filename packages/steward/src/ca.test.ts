import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as x509 from "./_x509.ts";
import {
  BACKDATE_MS,
  type Ca,
  createCa,
  crl,
  decodeKeepClaims,
  encodeKeepClaims,
  findKeepClaimsExtension,
  issueKeepCert,
  issueTlsCert,
  KEEP_CLAIMS_OID,
  KEEP_CLAIMS_OID_DER,
  type KeepCertClaims,
  loadCa,
  randomSerial,
  readKeyFile,
  writeKeyFile,
} from "./ca.ts";
import { StewardError } from "./error.ts";

const NOW = new Date("2026-11-27T12:00:00Z");
const LATER = new Date(NOW.getTime() + 1000);
const CLAIMS: KeepCertClaims = {
  tee: "snp",
  tier: "hardware",
  measurement: "ab".repeat(48),
  workload: "cd".repeat(32),
  tcbStatus: "meets-minimum",
  tcb: "0300000000000873",
  evidenceSha256: "ef".repeat(32),
};

async function keepKey(): Promise<Uint8Array> {
  const k = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ])) as CryptoKeyPair;
  return new Uint8Array(await crypto.subtle.exportKey("spki", k.publicKey));
}

const isCode = (code: string) => (e: unknown) => e instanceof StewardError && e.code === code;

describe("the CA", () => {
  let ca: Ca;
  let keyPem: string;

  it("createCa: P-384, self-signed, CA with keyCertSign and cRLSign, SKI, ten years", async () => {
    ({ ca, keyPem } = await createCa({ now: NOW }));
    const c = ca.cert;
    assert.equal(c.subject, "CN=Donjon Steward CA");
    assert.equal(c.issuer, c.subject);
    assert.ok(await c.verify({ date: LATER }));
    assert.deepEqual(c.publicKey.algorithm, { name: "ECDSA", namedCurve: "P-384" });
    assert.equal(c.signatureAlgorithm.hash.name, "SHA-384");
    const bc = c.getExtension(x509.BasicConstraintsExtension)!;
    assert.equal(bc.ca, true);
    assert.equal(bc.critical, true);
    const ku = c.getExtension(x509.KeyUsagesExtension)!;
    assert.equal(ku.usages, x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    assert.ok(c.getExtension(x509.SubjectKeyIdentifierExtension));
    assert.equal(c.notBefore.getTime(), NOW.getTime());
    assert.equal(c.notAfter.getTime() - NOW.getTime(), 3650 * 86_400_000);
    assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
  });

  it("loadCa takes the PEMs back; a key of another CA or a non-CA certificate is refused", async () => {
    const again = await loadCa(ca.certPem, keyPem, { cert: "ca.pem", key: "ca.key" });
    assert.equal(again.certPem, ca.certPem);
    const other = await createCa({ now: NOW });
    await assert.rejects(
      loadCa(ca.certPem, other.keyPem, { cert: "ca.pem", key: "ca.key" }),
      isCode("steward.ca.invalid"),
    );
    const tls = await issueTlsCert(ca, { now: NOW });
    await assert.rejects(
      loadCa(tls.certPem, tls.keyPem, { cert: "tls.pem", key: "tls.key" }),
      (e: unknown) => isCode("steward.ca.invalid")(e) && /not a CA certificate/.test(`${e}`),
    );
    await assert.rejects(
      loadCa("nope", keyPem, { cert: "ca.pem", key: "ca.key" }),
      isCode("steward.ca.invalid"),
    );
    await assert.rejects(
      loadCa(ca.certPem, "-----BEGIN RSA PRIVATE KEY-----\nAA==\n-----END RSA PRIVATE KEY-----\n", {
        cert: "ca.pem",
        key: "ca.key",
      }),
      isCode("steward.key.invalid"),
    );
  });

  it("issueTlsCert: server auth for localhost, 127.0.0.1, ::1 and the --san names, chained to the CA", async () => {
    const tls = await issueTlsCert(ca, { now: NOW, sans: ["steward.example", "10.0.0.7"] });
    const c = new x509.X509Certificate(tls.certPem);
    assert.ok(await c.verify({ publicKey: ca.cert.publicKey, date: LATER }));
    const san = c.getExtension(x509.SubjectAlternativeNameExtension)!;
    assert.deepEqual(
      san.names.items.map((n) => `${n.type}:${n.value}`),
      ["dns:localhost", "ip:127.0.0.1", "ip:::1", "dns:steward.example", "ip:10.0.0.7"],
    );
    const eku = c.getExtension(x509.ExtendedKeyUsageExtension)!;
    assert.deepEqual([...eku.usages], [x509.ExtendedKeyUsage.serverAuth]);
    assert.equal(c.getExtension(x509.BasicConstraintsExtension)!.ca, false);
  });

  it("issueKeepCert: the Keep's key, lifetime, SAN, serial, and the claims extension", async () => {
    const spki = await keepKey();
    const issued = await issueKeepCert(ca, {
      spki,
      claims: CLAIMS,
      lifetimeMs: 86_400_000,
      san: [
        { type: "dns", value: "app.example" },
        { type: "ip", value: "127.0.0.1" },
        { type: "uri", value: "spiffe://example/keep" },
      ],
      now: NOW,
    });
    const c = new x509.X509Certificate(issued.der);
    assert.ok(await c.verify({ publicKey: ca.cert.publicKey, date: LATER }));
    assert.deepEqual(new Uint8Array(c.publicKey.rawData), spki);
    assert.equal(c.notAfter.getTime() - NOW.getTime(), 86_400_000);
    assert.equal(NOW.getTime() - c.notBefore.getTime(), BACKDATE_MS);
    assert.equal(c.serialNumber.toLowerCase(), issued.serial);
    assert.match(issued.serial, /^[4-7][0-9a-f]{31}$/);
    assert.equal(issued.pem, c.toString("pem").replace(/\r\n/g, "\n").trimEnd().concat("\n"));
    const ext = findKeepClaimsExtension(issued.der)!;
    assert.equal(ext.critical, false);
    assert.deepEqual(ext.value, encodeKeepClaims(CLAIMS));
    assert.deepEqual(decodeKeepClaims(c), CLAIMS);
    assert.deepEqual(decodeKeepClaims(issued.der), CLAIMS);
    assert.equal(decodeKeepClaims(ca.cert), null);
    assert.match(c.subject, /donjon keep cdcdcdcdcdcdcdcd/);
    const san = c.getExtension(x509.SubjectAlternativeNameExtension)!;
    assert.deepEqual(
      san.names.items.map((n) => n.value),
      ["app.example", "127.0.0.1", "spiffe://example/keep"],
    );
    // An IP address is an iPAddress name (what TLS clients check an address against), not a DNS name.
    assert.deepEqual(
      san.names.items.map((n) => n.type),
      ["dns", "ip", "url"],
    );
    // No SAN when the policy gives none.
    const bare = await issueKeepCert(ca, { spki, claims: CLAIMS, lifetimeMs: 1000, now: NOW });
    assert.equal(
      new x509.X509Certificate(bare.der).getExtension(x509.SubjectAlternativeNameExtension),
      null,
    );
    // A chosen serial is used as given; a malformed one is refused.
    const chosen = await issueKeepCert(ca, {
      spki,
      claims: CLAIMS,
      lifetimeMs: 1000,
      now: NOW,
      serial: "0102",
    });
    assert.equal(chosen.serial, "0102");
    await assert.rejects(
      issueKeepCert(ca, { spki, claims: CLAIMS, lifetimeMs: 1000, now: NOW, serial: "ff00" }),
      RangeError,
    );
  });

  it("the OID's DER is the dotted OID (asn1js cannot read the UUID arc back)", () => {
    const oid = new x509.Extension(KEEP_CLAIMS_OID, false, new Uint8Array([5, 0]));
    const raw = new Uint8Array(oid.rawData);
    assert.deepEqual(raw.subarray(2, 2 + KEEP_CLAIMS_OID_DER.length), KEEP_CLAIMS_OID_DER);
  });

  it("the claims extension is a DER UTF8String of JSON; long values use a long length form", () => {
    const der = encodeKeepClaims(CLAIMS);
    assert.equal(der[0], 0x0c);
    assert.equal(der[1], 0x82);
    const json = JSON.parse(new TextDecoder().decode(der.subarray(4)));
    assert.deepEqual(Object.keys(json), [
      "v",
      "tee",
      "tier",
      "measurement",
      "workload",
      "tcb_status",
      "tcb",
      "evidence_sha256",
    ]);
    assert.equal(json.v, 1);
    // Short, one-byte (0x81) and two-byte (0x82) lengths.
    for (const pad of [0, 40, 400]) {
      const c = {
        ...CLAIMS,
        tee: "",
        measurement: "",
        workload: null,
        tcb: null,
        tcbStatus: "x".repeat(pad),
        evidenceSha256: "",
      };
      const v = encodeKeepClaims(c);
      const body = v[1]! < 0x80 ? v.subarray(2) : v[1] === 0x81 ? v.subarray(3) : v.subarray(4);
      assert.equal(v[1]! < 0x80 ? v[1] : v[1] === 0x81 ? v[2] : (v[2]! << 8) | v[3]!, body.length);
      assert.equal(JSON.parse(new TextDecoder().decode(body)).tcb_status.length, pad);
    }
  });

  it("randomSerial: 16 bytes, positive, different each time", () => {
    const a = randomSerial();
    const b = randomSerial();
    assert.notEqual(a, b);
    for (const s of [a, b]) {
      assert.equal(s.length, 32);
      assert.ok(Number.parseInt(s.slice(0, 1), 16) >= 4 && Number.parseInt(s.slice(0, 1), 16) < 8);
    }
  });

  it("crl: signed by the CA, lists every revoked serial with its reason", async () => {
    const der = await crl(
      ca,
      [
        { serial: "4a".repeat(16), revokedAt: NOW, reason: "keyCompromise" },
        { serial: "0102", revokedAt: NOW, reason: "whatever" },
      ],
      NOW,
    );
    const list = new x509.X509Crl(der);
    assert.ok(await list.verify({ publicKey: ca.cert.publicKey }));
    assert.equal(list.issuer, ca.cert.subject);
    assert.equal(list.thisUpdate.getTime(), NOW.getTime());
    assert.equal(list.nextUpdate!.getTime(), NOW.getTime() + 3_600_000);
    assert.equal(list.entries.length, 2);
    assert.equal(list.entries[0]!.serialNumber.toLowerCase(), "4a".repeat(16));
    assert.equal(list.entries[0]!.reason, x509.X509CrlReason.keyCompromise);
    // RFC 5280 §5.3.1: reasonCode unspecified SHOULD be absent.
    assert.equal(list.entries[1]!.reason, undefined);
    const empty = new x509.X509Crl(await crl(ca, [], NOW));
    assert.equal(empty.entries.length, 0);
  });
});

describe("key files", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "steward-ca-"));

  it("are written 0600 whatever the umask, never over an existing file", () => {
    const file = path.join(dir, "a.key");
    const old = process.umask(0);
    try {
      writeKeyFile(file, "secret\n");
    } finally {
      process.umask(old);
    }
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(readKeyFile(file), "secret\n");
    assert.throws(() => writeKeyFile(file, "other\n"), isCode("steward.init.exists"));
    assert.equal(fs.readFileSync(file, "utf8"), "secret\n");
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")),
      [],
    );
  });

  it("a key file group or others can access is refused, naming the chmod", () => {
    const file = path.join(dir, "loose.key");
    fs.writeFileSync(file, "x", { mode: 0o640 });
    fs.chmodSync(file, 0o640);
    assert.throws(
      () => readKeyFile(file),
      (e: unknown) =>
        isCode("steward.key.permissions")(e) && (e as Error).message.includes(`chmod 600 ${file}`),
    );
  });

  it("a missing key, a symbolic link or a directory is refused", () => {
    assert.throws(() => readKeyFile(path.join(dir, "none.key")), isCode("steward.key.invalid"));
    const link = path.join(dir, "link.key");
    fs.symlinkSync(path.join(dir, "a.key"), link);
    assert.throws(
      () => readKeyFile(link),
      (e: unknown) => isCode("steward.key.invalid")(e) && /symbolic link/.test(`${e}`),
    );
    const sub = path.join(dir, "sub.key");
    fs.mkdirSync(sub, { mode: 0o700 });
    assert.throws(() => readKeyFile(sub), isCode("steward.key.invalid"));
  });
});
