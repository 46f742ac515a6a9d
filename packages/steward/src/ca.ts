/**
 * The Steward's certificate authority: a P-384 CA key and self-signed
 * certificate, the Steward's own TLS certificate, the short-lived Keep
 * certificates that record a Keep's attested identity, and the CRL. Also the
 * CA's key files: written 0600 atomically, and refused on load when group or
 * others may access them.
 *
 * Keep certificates carry one Donjon extension, {@link KEEP_CLAIMS_OID}, whose
 * value is a DER UTF8String holding a small JSON object (see
 * {@link KeepCertClaims} and the README, "The certificate extension"). The OID
 * is under `2.25` (ITU-T X.667: an OID made from a UUID, which needs no
 * registration and cannot clash), because Donjon has no IANA Private
 * Enterprise Number of its own: `1.3.6.1.4.1.58270` is the arc Enarx's
 * evidence OIDs use, and it is not ours to allocate under.
 */
import * as fs from "node:fs";
import { isIP } from "node:net";
import * as path from "node:path";
import { encodeKeepClaims, KEEP_CLAIMS_OID_DER, type KeepCertClaims } from "@donjon/attest/claims";
import * as x509 from "./_x509.ts";
import { StewardError } from "./error.ts";
import { derTlv } from "./evidence_ext.ts";

// The claims codec lives in @donjon/attest/claims so that clients can read
// Keep certificates without the Steward's server; re-exported here unchanged.
export type { KeepCertClaims } from "@donjon/attest/claims";
export {
  decodeKeepClaims,
  encodeKeepClaims,
  findKeepClaimsExtension,
  KEEP_CLAIMS_OID,
  KEEP_CLAIMS_OID_DER,
  KEEP_CLAIMS_VERSION,
} from "@donjon/attest/claims";

/**
 * Stand-in for {@link KEEP_CLAIMS_OID} while @peculiar/x509 builds the certificate:
 * `1.3` and twenty arcs of 1, whose DER content is as long (21 bytes) as the real
 * OID's. @peculiar/x509 re-parses extensions while it builds a certificate, and
 * asn1js turns the UUID arc into `2.25`; so the stand-in is swapped for the real
 * OID in the to-be-signed bytes, which are then signed again
 * ({@link withKeepClaimsOid}).
 */
const PLACEHOLDER_OID = `1.3${".1".repeat(20)}`;
const PLACEHOLDER_OID_DER = Uint8Array.from([0x06, 0x15, 0x2b, ...new Array<number>(20).fill(1)]);

/** A subjectAltName entry: DNS name, IP address or URI. */
export interface SanName {
  type: "dns" | "ip" | "uri";
  value: string;
}

/** A loaded CA: its certificate and signing key. */
export interface Ca {
  /** The CA certificate. */
  cert: x509.X509Certificate;
  /** The CA certificate as PEM (one block, trailing newline). */
  certPem: string;
  /** The CA's private key (ECDSA P-384). */
  privateKey: CryptoKey;
  /** WebCrypto used to sign. */
  crypto: Crypto;
}

/** A certificate with its private key, both PEM. */
export interface CertAndKey {
  certPem: string;
  /** PKCS#8 PEM; write it with {@link writeKeyFile}. */
  keyPem: string;
}

const EC = { name: "ECDSA", namedCurve: "P-384" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-384" } as const;
const DAY = 86_400_000;
/**
 * Leaf certificates start this long before `now`, so that a relying party whose
 * clock is a little behind the Steward's accepts a certificate just issued.
 */
export const BACKDATE_MS = 60_000;

/** Options of {@link createCa}. */
export interface CreateCaOptions {
  /** Subject DN. Default `CN=Donjon Steward CA`. */
  subject?: string;
  /** Start of validity. Required: library code does not read the clock. */
  now: Date;
  /** Validity in milliseconds. Default ten years. */
  validityMs?: number;
  /** WebCrypto. Default `globalThis.crypto`. */
  crypto?: Crypto;
}

/** Make a CA: a P-384 key and a self-signed certificate (CA, keyCertSign + cRLSign, SKI). */
export async function createCa(options: CreateCaOptions): Promise<{ ca: Ca; keyPem: string }> {
  const crypto = options.crypto ?? globalThis.crypto;
  const keys = (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned(
    {
      serialNumber: randomSerial(crypto),
      name: options.subject ?? "CN=Donjon Steward CA",
      notBefore: options.now,
      notAfter: new Date(options.now.getTime() + (options.validityMs ?? 3650 * DAY)),
      signingAlgorithm: SIGN,
      keys,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(
          x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
          true,
        ),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return {
    ca: { cert, certPem: pemOf(cert), privateKey: keys.privateKey, crypto },
    keyPem: toPem("PRIVATE KEY", pkcs8),
  };
}

/** Options of {@link issueTlsCert}. */
export interface IssueTlsOptions {
  /** Extra names: DNS names or IP addresses. localhost, 127.0.0.1 and ::1 are always included. */
  sans?: readonly string[];
  /** Start of validity. */
  now: Date;
  /** Validity in milliseconds. Default 397 days (the CA/Browser Forum maximum). */
  lifetimeMs?: number;
}

/** Issue the Steward's own TLS server certificate and a fresh P-384 key for it. */
export async function issueTlsCert(ca: Ca, options: IssueTlsOptions): Promise<CertAndKey> {
  const crypto = ca.crypto;
  const keys = (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
  const names = [...new Set(["localhost", "127.0.0.1", "::1", ...(options.sans ?? [])])];
  const first = names.find((n) => isIP(n) === 0) ?? "localhost";
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: randomSerial(crypto),
      subject: `CN=${escapeDn(first)}`,
      issuer: ca.cert.subject,
      notBefore: new Date(options.now.getTime() - BACKDATE_MS),
      notAfter: new Date(options.now.getTime() + (options.lifetimeMs ?? 397 * DAY)),
      signingAlgorithm: SIGN,
      publicKey: keys.publicKey,
      signingKey: ca.privateKey,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
        new x509.SubjectAlternativeNameExtension(names.map(generalName), false),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false, crypto),
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey, false, crypto),
      ],
    },
    crypto,
  );
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", keys.privateKey));
  return { certPem: pemOf(cert), keyPem: toPem("PRIVATE KEY", pkcs8) };
}

/** Options of {@link issueKeepCert}. */
export interface IssueKeepOptions {
  /** The Keep's public key: DER SubjectPublicKeyInfo, from its CSR. */
  spki: Uint8Array;
  /** What the certificate records about the Keep. */
  claims: KeepCertClaims;
  /** Validity in milliseconds (from the policy; default 24 hours there). */
  lifetimeMs: number;
  /** Subject alternative names from the policy; no SAN extension when empty. */
  san?: readonly SanName[];
  /** Issuing time: validity starts {@link BACKDATE_MS} before it and lasts until `now + lifetimeMs`. */
  now: Date;
  /** Serial number as hex; default a random 16-byte positive one ({@link randomSerial}). */
  serial?: string;
}

/** An issued Keep certificate. */
export interface KeepCertificate {
  /** DER. */
  der: Uint8Array<ArrayBuffer>;
  /** PEM (one block). */
  pem: string;
  /** Serial number, lowercase hex. */
  serial: string;
  notBefore: Date;
  notAfter: Date;
}

/**
 * Issue a Keep's certificate: its key, a subject naming the workload, SAN from
 * the policy, client and server authentication, and the Keep-claims extension.
 */
export async function issueKeepCert(ca: Ca, options: IssueKeepOptions): Promise<KeepCertificate> {
  const crypto = ca.crypto;
  const serial = (options.serial ?? randomSerial(crypto)).toLowerCase();
  if (!/^[0-7][0-9a-f]{1,39}$/.test(serial)) {
    throw new RangeError(`serial: expected 2–40 hex digits of a positive number, got ${serial}`);
  }
  const notBefore = new Date(options.now.getTime() - BACKDATE_MS);
  const notAfter = new Date(options.now.getTime() + options.lifetimeMs);
  const publicKey = new x509.PublicKey(options.spki as Uint8Array<ArrayBuffer>);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(
      [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
      false,
    ),
    await x509.SubjectKeyIdentifierExtension.create(publicKey, false, crypto),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey, false, crypto),
    new x509.Extension(PLACEHOLDER_OID, false, encodeKeepClaims(options.claims)),
  ];
  if (options.san && options.san.length > 0) {
    extensions.push(
      new x509.SubjectAlternativeNameExtension(
        options.san.map((n) => new x509.GeneralName(n.type === "uri" ? "url" : n.type, n.value)),
        false,
      ),
    );
  }
  const draft = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial,
      subject: `CN=donjon keep ${(options.claims.workload ?? options.claims.evidenceSha256).slice(0, 16)}, O=Donjon Keep`,
      issuer: ca.cert.subject,
      notBefore,
      notAfter,
      signingAlgorithm: SIGN,
      publicKey,
      signingKey: ca.privateKey,
      extensions,
    },
    crypto,
  );
  const der = await withKeepClaimsOid(draft, ca);
  const cert = new x509.X509Certificate(der);
  return { der: new Uint8Array(cert.rawData), pem: pemOf(cert), serial, notBefore, notAfter };
}

/**
 * Re-sign `draft` with the placeholder OID replaced by {@link KEEP_CLAIMS_OID_DER}.
 * Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 * (RFC 5280 §4.1); the ECDSA signature is DER Ecdsa-Sig-Value (RFC 3279 §2.2.3).
 */
async function withKeepClaimsOid(
  draft: x509.X509Certificate,
  ca: Ca,
): Promise<Uint8Array<ArrayBuffer>> {
  const raw = new Uint8Array(draft.rawData);
  const outer = tlv(raw, 0);
  const tbsTlv = tlv(raw, outer.body);
  const algTlv = tlv(raw, tbsTlv.end);
  const tbs = raw.slice(outer.body, tbsTlv.end);
  const at = indexOf(tbs, PLACEHOLDER_OID_DER);
  if (at < 0 || indexOf(tbs.subarray(at + 1), PLACEHOLDER_OID_DER) >= 0) {
    throw new Error("Keep certificate: expected the placeholder OID once in the TBS");
  }
  tbs.set(KEEP_CLAIMS_OID_DER, at);
  const rs = new Uint8Array(await ca.crypto.subtle.sign(SIGN, ca.privateKey, tbs));
  const sig = derSeq([derInt(rs.subarray(0, 48)), derInt(rs.subarray(48))]);
  const bitString = derTlv(0x03, concat([Uint8Array.of(0), sig]));
  return derSeq([tbs, raw.subarray(tbsTlv.end, algTlv.end), bitString]);
}

/** A DER TLV at `at`: where its content starts and where it ends. */
function tlv(b: Uint8Array, at: number): { body: number; end: number } {
  const first = b[at + 1]!;
  if (first < 0x80) return { body: at + 2, end: at + 2 + first };
  const n = first & 0x7f;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + b[at + 2 + i]!;
  return { body: at + 2 + n, end: at + 2 + n + len };
}

function derSeq(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return derTlv(0x30, concat(parts));
}

/** A DER INTEGER from unsigned big-endian bytes: minimal, positive. */
function derInt(u: Uint8Array): Uint8Array<ArrayBuffer> {
  let i = 0;
  while (i < u.length - 1 && u[i] === 0) i++;
  const v = u.subarray(i);
  return derTlv(0x02, (v[0]! & 0x80) !== 0 ? concat([Uint8Array.of(0), v]) : v);
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  return Buffer.from(hay).indexOf(Buffer.from(needle));
}

/** RFC 5280 §5.3.1 revocation reasons the Steward records. */
export type RevocationReason =
  | "unspecified"
  | "keyCompromise"
  | "affiliationChanged"
  | "superseded"
  | "cessationOfOperation"
  | "privilegeWithdrawn";

/** The revocation reasons, for validation. */
export const REVOCATION_REASONS: readonly RevocationReason[] = [
  "unspecified",
  "keyCompromise",
  "affiliationChanged",
  "superseded",
  "cessationOfOperation",
  "privilegeWithdrawn",
];

/** One revoked certificate, for {@link crl}. */
export interface CrlEntry {
  /** Serial number, hex. */
  serial: string;
  revokedAt: Date;
  reason?: string;
}

/**
 * The CA's CRL (DER), signed now, valid until `now + nextUpdateMs` (default one
 * hour: Keep certificates live a day, so relying parties must refetch often).
 */
export async function crl(
  ca: Ca,
  revoked: readonly CrlEntry[],
  now: Date,
  nextUpdateMs = 3_600_000,
): Promise<Uint8Array<ArrayBuffer>> {
  const list = await x509.X509CrlGenerator.create(
    {
      issuer: ca.cert.subject,
      thisUpdate: now,
      nextUpdate: new Date(now.getTime() + nextUpdateMs),
      signingAlgorithm: SIGN,
      signingKey: ca.privateKey,
      extensions: [
        await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey, false, ca.crypto),
      ],
      entries: revoked.map((r) => ({
        serialNumber: r.serial,
        revocationDate: r.revokedAt,
        reason: crlReason(r.reason),
      })),
    },
    ca.crypto,
  );
  return new Uint8Array(list.rawData);
}

function crlReason(reason: string | undefined): x509.X509CrlReason {
  switch (reason) {
    case "keyCompromise":
      return x509.X509CrlReason.keyCompromise;
    case "affiliationChanged":
      return x509.X509CrlReason.affiliationChanged;
    case "superseded":
      return x509.X509CrlReason.superseded;
    case "cessationOfOperation":
      return x509.X509CrlReason.cessationOfOperation;
    case "privilegeWithdrawn":
      return x509.X509CrlReason.privilegeWithdrawn;
    default:
      return x509.X509CrlReason.unspecified;
  }
}

/** A random 16-byte positive serial number as 32 hex digits (top bit clear, next bit set: always 16 bytes in DER). */
export function randomSerial(crypto: Crypto = globalThis.crypto): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x40;
  return Buffer.from(b).toString("hex");
}

/**
 * Load a CA from its certificate PEM and its key file's PEM: the certificate
 * must be a CA certificate whose public key is the key's.
 *
 * @throws {StewardError} `steward.ca.invalid`, `steward.key.invalid`.
 */
export async function loadCa(
  certPem: string,
  keyPem: string,
  files: { cert: string; key: string },
  crypto: Crypto = globalThis.crypto,
): Promise<Ca> {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certPem);
  } catch (e) {
    throw new StewardError("steward.ca.invalid", `${files.cert}: not an X.509 certificate (PEM)`, {
      cause: e,
    });
  }
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) {
    throw new StewardError(
      "steward.ca.invalid",
      `${files.cert}: not a CA certificate (basicConstraints cA is not true)`,
    );
  }
  const { privateKey, spki } = await importKeyPem(keyPem, files.key, crypto);
  const certSpki = new Uint8Array(cert.publicKey.rawData);
  if (Buffer.compare(Buffer.from(spki), Buffer.from(certSpki)) !== 0) {
    throw new StewardError(
      "steward.ca.invalid",
      `${files.key} is not the key of the CA certificate ${files.cert}`,
    );
  }
  return { cert, certPem: pemOf(cert), privateKey, crypto };
}

/** Import an ECDSA P-384 PKCS#8 PEM: a non-extractable signing key and the SPKI of its public half. */
export async function importKeyPem(
  pem: string,
  file: string,
  crypto: Crypto = globalThis.crypto,
): Promise<{ privateKey: CryptoKey; spki: Uint8Array }> {
  const m =
    /^-----BEGIN PRIVATE KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END PRIVATE KEY-----\r?\n?$/.exec(
      pem,
    );
  const bad = (why: string, cause?: unknown) =>
    new StewardError(
      "steward.key.invalid",
      `${file}: ${why}`,
      cause === undefined ? {} : { cause },
    );
  if (!m) throw bad("expected one PKCS#8 PEM block (-----BEGIN PRIVATE KEY-----)");
  const der = new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
  try {
    const extractable = await crypto.subtle.importKey("pkcs8", der, EC, true, ["sign"]);
    const { d: _d, key_ops: _ops, ...pub } = await crypto.subtle.exportKey("jwk", extractable);
    const publicKey = await crypto.subtle.importKey("jwk", pub, EC, true, ["verify"]);
    const spki = new Uint8Array(await crypto.subtle.exportKey("spki", publicKey));
    const privateKey = await crypto.subtle.importKey("pkcs8", der, EC, false, ["sign"]);
    return { privateKey, spki };
  } catch (e) {
    throw bad("expected an ECDSA P-384 private key", e);
  }
}

/**
 * Read a private key file, refusing symbolic links, non-files, and a mode that
 * lets group or others in.
 *
 * @throws {StewardError} `steward.key.permissions`, `steward.key.invalid`.
 */
export function readKeyFile(file: string): string {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === "ELOOP"
        ? "is a symbolic link; refusing it"
        : code === "ENOENT"
          ? "does not exist"
          : `cannot be opened (${code})`;
    throw new StewardError("steward.key.invalid", `key file ${file} ${why}`, { cause: e });
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile())
      throw new StewardError("steward.key.invalid", `${file} is not a regular file`);
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new StewardError(
        "steward.key.permissions",
        `key file ${file} is accessible by group or others (mode ${mode.toString(8).padStart(4, "0")}, expected 0600); fix it with: chmod 600 ${file}`,
      );
    }
    return fs.readFileSync(fd, "utf8");
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Write a new file atomically with `mode`, never replacing one that exists:
 * temporary file (mode set by fchmod, so the umask cannot widen or narrow it),
 * fsync, hard link into place, fsync of the directory.
 *
 * @throws {StewardError} `steward.init.exists` when `file` exists.
 */
export function writeNewFile(file: string, text: string, mode = 0o600): void {
  const nonce = Buffer.from(globalThis.crypto.getRandomValues(new Uint8Array(6))).toString("hex");
  const tmp = `${file}.${nonce}.tmp`;
  const fd = fs.openSync(tmp, "wx", mode);
  try {
    try {
      fs.fchmodSync(fd, mode);
      fs.writeFileSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, file);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EEXIST") {
        throw new StewardError("steward.init.exists", `${file} exists; refusing to replace it`, {
          cause: e,
        });
      }
      throw e;
    }
    const dfd = fs.openSync(path.dirname(file), "r");
    try {
      fs.fsyncSync(dfd);
    } finally {
      fs.closeSync(dfd);
    }
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

/** Write a private key file: {@link writeNewFile} with mode 0600. */
export function writeKeyFile(file: string, pem: string): void {
  writeNewFile(file, pem, 0o600);
}

function generalName(name: string): x509.GeneralName {
  return new x509.GeneralName(isIP(name) === 0 ? "dns" : "ip", name);
}

function escapeDn(s: string): string {
  return s.replace(/[,+"\\<>;=]/g, (c) => `\\${c}`);
}

function pemOf(cert: x509.X509Certificate): string {
  return toPem("CERTIFICATE", new Uint8Array(cert.rawData));
}

/** PEM-encode DER with 64-character lines and a trailing newline. */
export function toPem(label: string, der: Uint8Array): string {
  const lines =
    Buffer.from(der)
      .toString("base64")
      .match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}
