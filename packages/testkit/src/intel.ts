/**
 * A builder of fake Intel DCAP evidence: a fake Intel SGX Root CA → PCK
 * Platform CA → PCK certificate hierarchy, a fake Quoting Enclave (QE) with an
 * attestation key, and quotes in the real formats — SGX quote v3 and TDX quote
 * v4 — whose every signature is genuine. Like `fakeSnp` for AMD.
 *
 * Formats follow ../shared/vectors/LAYOUTS.md §2 (checked against the real
 * vectors; Intel "SGX ECDSA Quote Library API" appendix "Quote Format" and
 * "TDX DCAP Quoting Library API"):
 * - the attestation key signs header ‖ body (SGX v3: bytes 0–431, TDX v4: 0–631),
 *   ECDSA P-256/SHA-256, r ‖ s big-endian;
 * - the PCK key signs the 384-byte QE report body;
 * - QE REPORT_DATA = SHA-256(attestation key ‖ QE auth data) ‖ 32 zero bytes;
 * - SGX v3 carries the QE report directly in its signature data, followed by
 *   certification data type 5 (the PCK chain, PEM, NUL-terminated as Intel's QE
 *   writes it); TDX v4 wraps the same QE material in certification data type 6.
 *
 * The keys are fixed test keys (`_intel_keys.ts`), so everything but the ECDSA
 * signatures (randomised) is deterministic. Pure WebCrypto; no `node:*` imports.
 */

import { concat } from "./_bytes.ts";
import * as KEYS from "./_intel_keys.ts";
import * as x509 from "./_x509.ts";
import { TestkitError } from "./error.ts";

// ── sizes and offsets (LAYOUTS.md §2) ──────────────────────────────────────

/** Quote header size (all versions). */
export const QUOTE_HEADER_SIZE = 48;
/** SGX REPORT_BODY size (ISV enclave report and QE report). */
export const SGX_REPORT_BODY_SIZE = 384;
/** TD quote body size, TD 1.0 (quote v4). */
export const TD_QUOTE_BODY_SIZE = 584;
/** Offset of REPORT_DATA in an SGX quote v3: the body starts at 48, REPORT_DATA at body + 320. */
export const SGX_QUOTE_REPORT_DATA_OFFSET = QUOTE_HEADER_SIZE + 320;
/** Offset of REPORTDATA in a TDX quote v4: the body starts at 48, REPORTDATA at body + 520. */
export const TDX_QUOTE_REPORT_DATA_OFFSET = QUOTE_HEADER_SIZE + 520;

/** ATT_KEY_TYPE 2: ECDSA-256 with P-256. */
const ATT_KEY_TYPE_ECDSA_P256 = 2;
/** TEE_TYPE of a v4 header: 0x81 is TDX. */
const TEE_TYPE_TDX = 0x81;
/** Certification data types (LAYOUTS.md §2.6). */
const CERT_DATA_PCK_CHAIN = 5;
const CERT_DATA_QE_REPORT = 6;
/** Intel's QE vendor ID, 939a7233-f79c-4ca9-940a-0db3957f0607 (every vector has it). */
const INTEL_QE_VENDOR_ID = fromHex("939a7233f79c4ca9940a0db3957f0607");
/** QE authentication data length: 32 in every vector. */
const QE_AUTH_DATA_SIZE = 32;

// ── options ────────────────────────────────────────────────────────────────

/** The platform the PCK certificate is issued for ([PCK] SGX extensions, LAYOUTS.md §2.8). */
export interface FakeIntelOptions {
  /** The instant the certificates are valid at. Default 2025-06-01T00:00:00Z; returned as `now`. */
  now?: Date;
  /** FMSPC (6 bytes) in the PCK certificate. Default `00606a000000` (the dcap-rs/Automata/Oasis platform). */
  fmspc?: Uint8Array;
  /** The 16 SGX TCB component SVNs in the PCK certificate. Default 12, 12, 3, 3, 255, 255, 1, then zeros. */
  tcbComponents?: readonly number[];
  /** PCESVN in the PCK certificate and the quote header. Default 13. */
  pceSvn?: number;
  /** PCE-ID (2 bytes) in the PCK certificate. Default `0000`. */
  pceId?: Uint8Array;
}

/** SGX REPORT_BODY fields of the ISV enclave (LAYOUTS.md §2.4). Byte fields must have the field's size. */
export interface FakeSgxQuoteFields {
  /** REPORT_DATA, 64 bytes. Required. */
  reportData: Uint8Array;
  /** MRENCLAVE, 32 bytes. Default 32 × 0xE1. */
  mrenclave?: Uint8Array;
  /** MRSIGNER, 32 bytes. Default 32 × 0x51. */
  mrsigner?: Uint8Array;
  /** ATTRIBUTES.FLAGS (u64). Default 0x05 (INIT | MODE64BIT); `debug: true` sets bit 1. */
  attributes?: bigint;
  /** Set ATTRIBUTES.FLAGS bit 1 (DEBUG). Default false. */
  debug?: boolean;
  /** ATTRIBUTES.XFRM (u64). Default 0xE7. */
  xfrm?: bigint;
  /** MISCSELECT. Default 0. */
  miscSelect?: number;
  /** ISVPRODID. Default 0. */
  isvProdId?: number;
  /** ISVSVN. Default 0. */
  isvSvn?: number;
  /** CPUSVN, 16 bytes (also the QE report's). Default: the PCK certificate's TCB components. */
  cpuSvn?: Uint8Array;
  /** QE_SVN in the header and the QE report's ISVSVN. Default 9. */
  qeSvn?: number;
}

/** TD quote body fields (TD 1.0, LAYOUTS.md §2.5). Byte fields must have the field's size. */
export interface FakeTdxQuoteFields {
  /** REPORTDATA, 64 bytes. Required. */
  reportData: Uint8Array;
  /** MRTD, 48 bytes. Default 48 × 0x7D. */
  mrtd?: Uint8Array;
  /** RTMR0..3, four 48-byte values. Default 48 × 0xA0, 0xA1, 0xA2, 0xA3. */
  rtmrs?: readonly Uint8Array[];
  /** TDATTRIBUTES (u64, little-endian in the quote). Default 0x10000000 (SEPT_VE_DISABLE); `debug: true` sets bit 0. */
  tdAttributes?: bigint;
  /** Set TDATTRIBUTES bit 0 (DEBUG). Default false. */
  debug?: boolean;
  /** XFAM (u64). Default 0x61ae7. */
  xfam?: bigint;
  /** TEE_TCB_SVN, 16 bytes. Default `06010300…` (the Phala vector's). */
  teeTcbSvn?: Uint8Array;
  /** MRSEAM, 48 bytes. Default 48 × 0x5E. */
  mrseam?: Uint8Array;
  /** MRCONFIGID, 48 bytes. Default zero. */
  mrConfigId?: Uint8Array;
  /** MROWNER, 48 bytes. Default zero. */
  mrOwner?: Uint8Array;
  /** MROWNERCONFIG, 48 bytes. Default zero. */
  mrOwnerConfig?: Uint8Array;
}

/** A fake Intel hierarchy and its QE. */
export interface FakeIntel {
  /** The instant the certificates are valid at: pass it as the verification time. */
  now: Date;
  /** DER of the fake Intel SGX Root CA (self-signed): the trust anchor to pin. */
  root: Uint8Array;
  /** DER of the fake Intel SGX PCK Platform CA (signed by the root). */
  pckCa: Uint8Array;
  /** DER of the PCK certificate (signed by the PCK CA; carries the SGX extensions). */
  pck: Uint8Array;
  /** The PCK chain as quotes carry it (certification data type 5): PEM leaf, CA, root, then a NUL. */
  pckChain: Uint8Array;
  /** The QE's attestation public key: x ‖ y, 64 bytes big-endian (as in the quote). */
  attestationKey: Uint8Array;
  /** An SGX DCAP quote v3 over these enclave fields. */
  sgxQuote(fields: FakeSgxQuoteFields): Promise<Uint8Array>;
  /** A TDX DCAP quote v4 (TD 1.0 body) over these TD fields. */
  tdxQuote(fields: FakeTdxQuoteFields): Promise<Uint8Array>;
}

// ── defaults ───────────────────────────────────────────────────────────────

const DEFAULT_NOW = new Date("2025-06-01T00:00:00Z");
const DAY = 86_400_000;
const YEAR = 365 * DAY;
const INTEL_DN = "O=Intel Corporation, L=Santa Clara, ST=CA, C=US";
const DEFAULT_TCB = [12, 12, 3, 3, 255, 255, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0];
/** The fake QE's identity: what Intel's QE identity collateral would pin. */
const QE_MRENCLAVE = new Uint8Array(32).fill(0x9e);
const QE_MRSIGNER = new Uint8Array(32).fill(0x8c);
const QE_ISVPRODID = 1;

/** [PCK] SGX extension OIDs (LAYOUTS.md §2.8). */
const SGX_OID = "1.2.840.113741.1.13.1";

// ── keys ───────────────────────────────────────────────────────────────────

type KeyName = "root" | "pckCa" | "pck" | "attestation";

const PEMS: Record<KeyName, string> = {
  root: KEYS.INTEL_ROOT_KEY,
  pckCa: KEYS.INTEL_PCK_CA_KEY,
  pck: KEYS.INTEL_PCK_KEY,
  attestation: KEYS.INTEL_ATTESTATION_KEY,
};

interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

const P256 = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;

/** Imported once per module instance. */
const keyCache = new Map<KeyName, Promise<KeyPair>>();

function key(name: KeyName): Promise<KeyPair> {
  let k = keyCache.get(name);
  if (!k) {
    k = importPair(PEMS[name]);
    keyCache.set(name, k);
  }
  return k;
}

async function importPair(pem: string): Promise<KeyPair> {
  const privateKey = await crypto.subtle.importKey("pkcs8", fromPem(pem), P256, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const pub: JsonWebKey = { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y };
  const publicKey = await crypto.subtle.importKey("jwk", pub, P256, true, ["verify"]);
  return { privateKey, publicKey };
}

// ── the builder ────────────────────────────────────────────────────────────

/**
 * Build a fake Intel hierarchy and QE. With no options: a PCK certificate for
 * FMSPC 00606a000000 valid at 2025-06-01, under a fake root to pin.
 *
 * @throws {TestkitError} `testkit.options` for an option it cannot encode (wrong byte length).
 */
export async function fakeIntel(options: FakeIntelOptions = {}): Promise<FakeIntel> {
  const now = options.now ?? DEFAULT_NOW;
  const fmspc = sized("fmspc", options.fmspc ?? fromHex("00606a000000"), 6);
  const pceId = sized("pceId", options.pceId ?? new Uint8Array(2), 2);
  const tcb = options.tcbComponents ?? DEFAULT_TCB;
  if (tcb.length !== 16 || !tcb.every((v) => Number.isInteger(v) && v >= 0 && v <= 255))
    bad(`tcbComponents: expected 16 integers 0–255, got ${JSON.stringify(tcb)}`);
  const pceSvn = options.pceSvn ?? 13;
  const cpuSvn = Uint8Array.from(tcb);

  const [rootKey, caKey, pckKey, attKey] = await Promise.all([
    key("root"),
    key("pckCa"),
    key("pck"),
    key("attestation"),
  ]);
  const rootName = `CN=Intel SGX Root CA, ${INTEL_DN}`;
  const root = await x509.X509CertificateGenerator.create({
    serialNumber: "01",
    subject: rootName,
    issuer: rootName,
    notBefore: new Date(now.getTime() - 5 * YEAR),
    notAfter: new Date(now.getTime() + 20 * YEAR),
    publicKey: rootKey.publicKey,
    signingKey: rootKey.privateKey,
    signingAlgorithm: SIGN,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(rootKey.publicKey),
      new x509.CRLDistributionPointsExtension([
        "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der",
      ]),
      await x509.SubjectKeyIdentifierExtension.create(rootKey.publicKey),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      new x509.BasicConstraintsExtension(true, 1, true),
    ],
  });
  const pckCa = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: `CN=Intel SGX PCK Platform CA, ${INTEL_DN}`,
    issuer: root.subject,
    notBefore: new Date(now.getTime() - 5 * YEAR),
    notAfter: new Date(now.getTime() + 10 * YEAR),
    publicKey: caKey.publicKey,
    signingKey: rootKey.privateKey,
    signingAlgorithm: SIGN,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(rootKey.publicKey),
      new x509.CRLDistributionPointsExtension([
        "https://certificates.trustedservices.intel.com/IntelSGXRootCA.der",
      ]),
      await x509.SubjectKeyIdentifierExtension.create(caKey.publicKey),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      new x509.BasicConstraintsExtension(true, 0, true),
    ],
  });
  const pck = await x509.X509CertificateGenerator.create({
    serialNumber: "03",
    subject: `CN=Intel SGX PCK Certificate, ${INTEL_DN}`,
    issuer: pckCa.subject,
    notBefore: new Date(now.getTime() - YEAR),
    notAfter: new Date(now.getTime() + 6 * YEAR),
    publicKey: pckKey.publicKey,
    signingKey: caKey.privateKey,
    signingAlgorithm: SIGN,
    extensions: [
      await x509.AuthorityKeyIdentifierExtension.create(caKey.publicKey),
      new x509.CRLDistributionPointsExtension([
        "https://api.trustedservices.intel.com/sgx/certification/v4/pckcrl?ca=platform&encoding=der",
      ]),
      await x509.SubjectKeyIdentifierExtension.create(pckKey.publicKey),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.nonRepudiation,
        true,
      ),
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.Extension(
        SGX_OID,
        false,
        sgxExtensions({ tcb, pceSvn, cpuSvn, pceId, fmspc }) as Uint8Array<ArrayBuffer>,
      ),
    ],
  });

  const pckChain = new TextEncoder().encode(
    `${[pck, pckCa, root].map((c) => c.toString("pem")).join("\n")}\n\0`,
  );
  const attestationKey = await rawPublicKey(attKey.publicKey);
  const qeAuthData = Uint8Array.from({ length: QE_AUTH_DATA_SIZE }, (_, i) => i);

  /** QE REPORT_BODY ‖ its PCK signature ‖ auth data ‖ type-5 PCK chain: the QE's part of every quote. */
  const qeSection = async (qeSvn: number): Promise<Uint8Array> => {
    const binding = new Uint8Array(64);
    binding.set(await sha256(concat(attestationKey, qeAuthData)));
    const qeReport = sgxReportBody({
      cpuSvn,
      miscSelect: 0,
      // INIT | MODE64BIT | PROVISIONKEY, as Intel's QE (every vector: 0x15).
      flags: 0x15n,
      xfrm: 0xe7n,
      mrenclave: QE_MRENCLAVE,
      mrsigner: QE_MRSIGNER,
      isvProdId: QE_ISVPRODID,
      isvSvn: qeSvn,
      reportData: binding,
    });
    return concat(
      qeReport,
      await sign(pckKey.privateKey, qeReport),
      u16(qeAuthData.length),
      qeAuthData,
      u16(CERT_DATA_PCK_CHAIN),
      u32(pckChain.length),
      pckChain,
    );
  };

  const header = (version: number, teeType: number, qeSvn: number, svn: number) => {
    const h = new Uint8Array(QUOTE_HEADER_SIZE);
    const v = new DataView(h.buffer);
    v.setUint16(0, version, true);
    v.setUint16(2, ATT_KEY_TYPE_ECDSA_P256, true);
    v.setUint32(4, teeType, true);
    v.setUint16(8, qeSvn, true);
    v.setUint16(10, svn, true);
    h.set(INTEL_QE_VENDOR_ID, 12);
    // USER_DATA: the first 16 bytes identify the QE/platform; any fixed value will do.
    h.set(new Uint8Array(16).fill(0xd0), 28);
    return h;
  };

  return {
    now,
    root: der(root),
    pckCa: der(pckCa),
    pck: der(pck),
    pckChain,
    attestationKey,

    async sgxQuote(f) {
      const qeSvn = f.qeSvn ?? 9;
      const flags = (f.attributes ?? 0x05n) | (f.debug ? 0x02n : 0n);
      const signed = concat(
        header(3, 0, qeSvn, pceSvn),
        sgxReportBody({
          cpuSvn: sized("cpuSvn", f.cpuSvn ?? cpuSvn, 16),
          miscSelect: f.miscSelect ?? 0,
          flags,
          xfrm: f.xfrm ?? 0xe7n,
          mrenclave: sized("mrenclave", f.mrenclave ?? new Uint8Array(32).fill(0xe1), 32),
          mrsigner: sized("mrsigner", f.mrsigner ?? new Uint8Array(32).fill(0x51), 32),
          isvProdId: f.isvProdId ?? 0,
          isvSvn: f.isvSvn ?? 0,
          reportData: sized("reportData", f.reportData, 64),
        }),
      );
      // v3 signature data: ISV signature ‖ attestation key ‖ QE section (no type-6 wrapper).
      const sigData = concat(
        await sign(attKey.privateKey, signed),
        attestationKey,
        await qeSection(qeSvn),
      );
      return concat(signed, u32(sigData.length), sigData);
    },

    async tdxQuote(f) {
      const rtmrs = f.rtmrs ?? [0xa0, 0xa1, 0xa2, 0xa3].map((b) => new Uint8Array(48).fill(b));
      if (rtmrs.length !== 4) bad(`rtmrs: expected 4 values, got ${rtmrs.length}`);
      const b = new Uint8Array(TD_QUOTE_BODY_SIZE);
      const v = new DataView(b.buffer);
      b.set(sized("teeTcbSvn", f.teeTcbSvn ?? fromHex("06010300000000000000000000000000"), 16), 0);
      b.set(sized("mrseam", f.mrseam ?? new Uint8Array(48).fill(0x5e), 48), 16);
      // 64: MRSIGNERSEAM zero (Intel-signed module); 112: SEAMATTRIBUTES zero.
      v.setBigUint64(120, (f.tdAttributes ?? 0x1000_0000n) | (f.debug ? 1n : 0n), true);
      v.setBigUint64(128, f.xfam ?? 0x61ae7n, true);
      b.set(sized("mrtd", f.mrtd ?? new Uint8Array(48).fill(0x7d), 48), 136);
      b.set(sized("mrConfigId", f.mrConfigId ?? new Uint8Array(48), 48), 184);
      b.set(sized("mrOwner", f.mrOwner ?? new Uint8Array(48), 48), 232);
      b.set(sized("mrOwnerConfig", f.mrOwnerConfig ?? new Uint8Array(48), 48), 280);
      for (const [i, r] of rtmrs.entries()) b.set(sized(`rtmrs[${i}]`, r, 48), 328 + 48 * i);
      b.set(sized("reportData", f.reportData, 64), 520);
      // v4 headers leave QE_SVN/PCE_SVN reserved (zero in every vector).
      const signed = concat(header(4, TEE_TYPE_TDX, 0, 0), b);
      const qe = await qeSection(9);
      const sigData = concat(
        await sign(attKey.privateKey, signed),
        attestationKey,
        u16(CERT_DATA_QE_REPORT),
        u32(qe.length),
        qe,
      );
      return concat(signed, u32(sigData.length), sigData);
    },
  };
}

// ── SGX REPORT_BODY (LAYOUTS.md §2.4) ───────────────────────────────────────

interface ReportBody {
  cpuSvn: Uint8Array;
  miscSelect: number;
  flags: bigint;
  xfrm: bigint;
  mrenclave: Uint8Array;
  mrsigner: Uint8Array;
  isvProdId: number;
  isvSvn: number;
  reportData: Uint8Array;
}

function sgxReportBody(f: ReportBody): Uint8Array {
  const b = new Uint8Array(SGX_REPORT_BODY_SIZE);
  const v = new DataView(b.buffer);
  b.set(f.cpuSvn, 0);
  v.setUint32(16, f.miscSelect, true);
  v.setBigUint64(48, f.flags, true);
  v.setBigUint64(56, f.xfrm, true);
  b.set(f.mrenclave, 64);
  b.set(f.mrsigner, 128);
  v.setUint16(256, f.isvProdId, true);
  v.setUint16(258, f.isvSvn, true);
  b.set(f.reportData, 320);
  return b;
}

// ── the PCK certificate's SGX extensions ([PCK], LAYOUTS.md §2.8) ───────────

function sgxExtensions(p: {
  tcb: readonly number[];
  pceSvn: number;
  cpuSvn: Uint8Array;
  pceId: Uint8Array;
  fmspc: Uint8Array;
}): Uint8Array {
  const field = (sub: string, value: Uint8Array) => derSeq(derOid(`${SGX_OID}.${sub}`), value);
  const tcb = derSeq(
    ...p.tcb.map((svn, i) => field(`2.${i + 1}`, derInt(svn))),
    field("2.17", derInt(p.pceSvn)),
    field("2.18", derTlv(0x04, p.cpuSvn)),
  );
  return derSeq(
    field("1", derTlv(0x04, new Uint8Array(16).fill(0x99))), // PPID
    field("2", tcb),
    field("3", derTlv(0x04, p.pceId)),
    field("4", derTlv(0x04, p.fmspc)),
    field("5", derTlv(0x0a, new Uint8Array([0]))), // SGX type: standard
    field("6", derTlv(0x04, new Uint8Array(16).fill(0x66))), // PlatformInstanceID
    field(
      "7",
      derSeq(
        field("7.1", derTlv(0x01, new Uint8Array([0xff]))), // dynamicPlatform
        field("7.2", derTlv(0x01, new Uint8Array([0x00]))), // cachedKeys
        field("7.3", derTlv(0x01, new Uint8Array([0x00]))), // SMTEnabled
      ),
    ),
  );
}

function derTlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const head = n < 0x80 ? [tag, n] : n < 0x100 ? [tag, 0x81, n] : [tag, 0x82, n >> 8, n & 0xff];
  return concat(new Uint8Array(head), content);
}

function derSeq(...items: Uint8Array[]): Uint8Array {
  return derTlv(0x30, concat(...items));
}

/** A DER INTEGER, minimal and non-negative (X.690 §8.3): 255 → 02 02 00 FF. */
function derInt(n: number): Uint8Array {
  const body: number[] = [];
  let v = n;
  do {
    body.unshift(v & 0xff);
    v >>>= 8;
  } while (v > 0);
  if (body[0]! & 0x80) body.unshift(0);
  return derTlv(0x02, new Uint8Array(body));
}

/** A DER OBJECT IDENTIFIER (X.690 §8.19): base-128 arcs, the first two combined. */
function derOid(oid: string): Uint8Array {
  const arcs = oid.split(".").map(Number);
  const out = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const groups = [arc & 0x7f];
    for (let a = arc >>> 7; a > 0; a >>>= 7) groups.unshift((a & 0x7f) | 0x80);
    out.push(...groups);
  }
  return derTlv(0x06, new Uint8Array(out));
}

// ── small helpers ──────────────────────────────────────────────────────────

/** ECDSA P-256/SHA-256; WebCrypto's r ‖ s (IEEE P1363, big-endian) is the quote's encoding. */
async function sign(k: CryptoKey, data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.sign(SIGN, k, data as Uint8Array<ArrayBuffer>));
}

async function sha256(data: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>));
}

/** x ‖ y of a P-256 public key (the uncompressed point without its 0x04 prefix). */
async function rawPublicKey(k: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("raw", k)).slice(1);
}

function u16(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, (n >> 8) & 0xff]);
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

function der(c: x509.X509Certificate): Uint8Array {
  return new Uint8Array(c.rawData);
}

function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function fromPem(pem: string): Uint8Array<ArrayBuffer> {
  const bin = atob(pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function sized(name: string, b: Uint8Array, size: number): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== size)
    bad(`${name}: expected ${size} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`);
  return b;
}

function bad(message: string): never {
  throw new TestkitError("testkit.options", message);
}
