/**
 * A builder of fake AMD SEV-SNP evidence: an ARK → ASK/ASVK → VCEK/VLEK
 * hierarchy that looks like AMD's, a 1184-byte attestation report signed by the
 * VCEK or VLEK, and a CRL signed by the ARK, with any one field overridable or
 * corruptible. Like go-sev-guest `testing/fake_certs.go` (`CertOverride`).
 *
 * Formats follow ../shared/vectors/LAYOUTS.md §1 (checked against the real
 * vectors): the report per AMD pub. 56860 "ATTESTATION_REPORT Structure", the
 * signature ECDSA P-384/SHA-384 over bytes 0x000–0x29F with r and s little-endian
 * in 72-byte fields; certificates and CRL signed RSASSA-PSS SHA-384, MGF1-SHA-384,
 * salt 48; VCEK/VLEK extensions per AMD pub. 57230 with the encodings AMD uses
 * (INTEGER SPLs, IA5String productName and cspID, raw hwID bytes, the real extension order).
 *
 * The keys are fixed test keys (`_keys.ts`), RSA-2048 instead of AMD's
 * RSA-4096 to keep signing fast: `@donjon/attest` does not check the RSA size.
 * Pure WebCrypto; no `node:*` imports.
 */
import type { SnpProduct, SnpRootSet } from "@donjon/attest";
import { concat } from "./_bytes.ts";
import * as KEYS from "./_keys.ts";
import * as x509 from "./_x509.ts";
import { TestkitError } from "./error.ts";

/** Which key signs the report. */
export type FakeSigner = "vcek" | "vlek";

/** A certificate of the fake hierarchy. */
export type FakeRole = "ark" | "ask" | "asvk" | "vcek" | "vlek";

/** A TCB component (as `SnpTcb` names them). */
export type FakeTcbComponent = "bootloader" | "tee" | "snp" | "microcode" | "fmc";

/** TCB_VERSION components (SPLs, 0–255). `fmc` is encoded on Turin only. Unset ones take the default. */
export type FakeTcb = Partial<Record<FakeTcbComponent, number>>;

/** GUEST_POLICY bits (offset 0x008). Reserved bit 17 is always set. Unset ones are 0, except `smt` (1). */
export interface FakePolicy {
  abiMinor?: number;
  abiMajor?: number;
  smt?: boolean;
  migrateMa?: boolean;
  debug?: boolean;
  singleSocket?: boolean;
  cxlAllow?: boolean;
  memAes256Xts?: boolean;
  raplDis?: boolean;
  ciphertextHiding?: boolean;
  pageSwapDisable?: boolean;
}

/** A firmware version (CURRENT_* / COMMITTED_*). */
export interface FakeFirmwareVersion {
  major: number;
  minor: number;
  build: number;
}

/**
 * Report fields to override; every one unset takes a plausible default
 * (documented per field). Byte fields must have the field's exact size.
 */
export interface FakeReportFields {
  /** VERSION. Default 5 on Turin, 3 elsewhere. On 2, CPUID is left zero (parse with a product hint). */
  version?: number;
  /** GUEST_SVN. Default 1. */
  guestSvn?: number;
  /** GUEST_POLICY as the raw 64-bit value, or as bits. Default: SMT allowed, bit 17 set (0x30000). */
  policy?: bigint | FakePolicy;
  /** FAMILY_ID, 16 bytes. Default zero. */
  familyId?: Uint8Array;
  /** IMAGE_ID, 16 bytes. Default zero. */
  imageId?: Uint8Array;
  /** VMPL of the requester. Default 0. */
  vmpl?: number;
  /** SIGNATURE_ALGO. Default 1 (ECDSA P-384 with SHA-384). */
  signatureAlgo?: number;
  /** CURRENT_TCB components. Default: `reportedTcb`. */
  currentTcb?: FakeTcb;
  /** REPORTED_TCB components: what the VCEK is issued for. Default bl 4, tee 0, snp 22, ucode 213 (≥ 128: a two-byte INTEGER), fmc 1 (Turin). */
  reportedTcb?: FakeTcb;
  /** COMMITTED_TCB components. Default: `reportedTcb`. */
  committedTcb?: FakeTcb;
  /** LAUNCH_TCB components. Default: `reportedTcb`. */
  launchTcb?: FakeTcb;
  /** PLATFORM_INFO, raw. Default 0x1 (SMT_EN). */
  platformInfo?: bigint;
  /** KEY_INFO.AUTHOR_KEY_EN. Default false. */
  authorKeyEn?: boolean;
  /** KEY_INFO.MASK_CHIP_KEY. Default false. */
  maskChipKey?: boolean;
  /** KEY_INFO.SIGNING_KEY. Default: the signer. */
  signingKey?: "vcek" | "vlek" | "none";
  /** REPORT_DATA, 64 bytes. Default 0x00, 0x01, … 0x3F. */
  reportData?: Uint8Array;
  /** MEASUREMENT, 48 bytes. Default 48 × 0x4D. */
  measurement?: Uint8Array;
  /** HOST_DATA, 32 bytes. Default zero. */
  hostData?: Uint8Array;
  /** ID_KEY_DIGEST, 48 bytes. Default zero. */
  idKeyDigest?: Uint8Array;
  /** AUTHOR_KEY_DIGEST, 48 bytes. Default zero. */
  authorKeyDigest?: Uint8Array;
  /** REPORT_ID, 32 bytes. Default 32 × 0x52. */
  reportId?: Uint8Array;
  /** REPORT_ID_MA, 32 bytes. Default all 0xFF (no migration agent). */
  reportIdMa?: Uint8Array;
  /**
   * CPUID family/model/stepping (v3+). Default: the product's (Milan 19h/01h,
   * Genoa 19h/11h, Turin 1Ah/02h; stepping 1). Set it to another product's to
   * make a report whose CPUID disagrees with its certificates.
   */
  cpuid?: { family: number; model: number; stepping: number };
  /** CHIP_ID, 64 bytes. Default: a fixed pattern (Turin: 8 bytes then zeros); zero when the signer is a VLEK. */
  chipId?: Uint8Array;
  /** CURRENT firmware version. Default 1.55.21. */
  currentVersion?: FakeFirmwareVersion;
  /** COMMITTED firmware version. Default: `currentVersion`. */
  committedVersion?: FakeFirmwareVersion;
  /** LAUNCH_MIT_VECTOR (v5+). Default 0. */
  launchMitVector?: bigint;
  /** CURRENT_MIT_VECTOR (v5+). Default 0. */
  currentMitVector?: bigint;
}

/** One raw extension to add to a certificate. */
export interface FakeExtension {
  oid: string;
  /** The extnValue contents (the DER inside the OCTET STRING). */
  value: Uint8Array;
  critical?: boolean;
}

/**
 * Overrides of one certificate. Unset fields take the defaults that make a
 * valid hierarchy; `null` removes an extension.
 */
export interface FakeCertOverride {
  /** Hex serial number (not zero: the x509 library makes zero random). Defaults: ARK 010000, ASK 010001, ASVK 010002, VCEK 0100, VLEK 0200. */
  serialNumber?: string;
  /** Default: ARK/ASK/ASVK `now` − 5 years, VCEK `now` − 1 year, VLEK `now` − 30 days. */
  notBefore?: Date;
  /** Default: ARK/ASK/ASVK `now` + 20 years, VCEK `now` + 6 years, VLEK `now` + 335 days. */
  notAfter?: Date;
  /** Distinguished name, e.g. `CN=SEV-VCEK`. Default: AMD's (`OU=Engineering, C=US, L=Santa Clara, ST=CA, O=Advanced Micro Devices, CN=…`). */
  subject?: string;
  /** Issuer name. Default: the issuer's subject (the ARK's own for the ARK). */
  issuer?: string;
  /** productName (VCEK/VLEK). Default VCEK `Milan-B0` / `Genoa` / `Turin`, VLEK the product. */
  productName?: string | null;
  /** structVersion (VCEK/VLEK). Default 0, 1 on Turin. */
  structVersion?: number | null;
  /** SPL extensions (VCEK/VLEK). Default: the report's REPORTED_TCB. `null` omits one. */
  tcb?: Partial<Record<FakeTcbComponent, number | null>>;
  /** hwID (VCEK only): raw bytes. Default CHIP_ID (Turin: its first 8 bytes). */
  hwId?: Uint8Array | null;
  /** cspID (VLEK only). Default `CN=fake-csp.example`. */
  cspId?: string | null;
  /** OIDs of extensions to leave out, whatever they are. */
  omitExtensions?: readonly string[];
  /** Extensions to append. */
  extraExtensions?: readonly FakeExtension[];
  /** `"other"`: signed with a key no certificate of the hierarchy holds (the issuer name stays). Default `"issuer"`. */
  signedBy?: "issuer" | "other";
}

/** The CRL the ARK issues. */
export interface FakeCrlOptions {
  /** Revoked certificates: a role (its serial number) or a hex serial. Default none. */
  revoked?: readonly (FakeRole | { serialNumber: string })[];
  /** Revocation date of each entry. Default `now` − 2 days. */
  revocationDate?: Date;
  /** Default `now` − 1 day. */
  thisUpdate?: Date;
  /** Default `now` + 30 days; null leaves the (optional) field out. */
  nextUpdate?: Date | null;
  /** Issuer name. Default the ARK's subject. */
  issuer?: string;
  /** `"other"`: signed with a key that is not the ARK's. Default `"ark"`. */
  signedBy?: "ark" | "other";
}

/** Options of `fakeSnp`. Every field is optional. */
export interface FakeSnpOptions {
  /** The product of the report and the whole hierarchy. Default `Milan`. */
  product?: SnpProduct;
  /** Which endorsement key signs the report. Default `vcek`. */
  signer?: FakeSigner;
  /** The instant at which the defaults are valid (certificates, CRL). Default 2025-06-01T00:00:00Z. */
  now?: Date;
  /** Report field overrides. */
  report?: FakeReportFields;
  /** Per-certificate overrides. */
  certs?: Partial<Record<FakeRole, FakeCertOverride>>;
  /** CRL options (`result.crl`). */
  crl?: FakeCrlOptions;
  /** `"other"`: the report is signed by a key no certificate holds. Default `"endorsement"`. */
  reportSignedBy?: "endorsement" | "other";
  /**
   * Damage the report after signing by flipping every bit of one byte:
   * `signature` at an offset in 0x2A0–0x32F (`true`: 0x2A0, the lowest byte of R),
   * `signedRegion` at an offset in 0x000–0x29F (`true`: 0x090, the first byte of MEASUREMENT).
   */
  corrupt?: { signature?: boolean | number; signedRegion?: boolean | number };
}

/** A fake SEV-SNP evidence set. */
export interface FakeSnp {
  product: SnpProduct;
  signer: FakeSigner;
  /** The instant the defaults are valid at: pass it as the verification time. */
  now: Date;
  /** The 1184-byte report. */
  report: Uint8Array;
  /** The VCEK or VLEK (DER) that signed the report. */
  endorsementKey: Uint8Array;
  /** The ASK (signer `vcek`) or ASVK (signer `vlek`), DER: the evidence's intermediates. */
  intermediates: Uint8Array[];
  /** DER of every certificate. `vcek`/`vlek` is null for the signer not chosen. */
  ark: Uint8Array;
  ask: Uint8Array;
  asvk: Uint8Array;
  vcek: Uint8Array | null;
  vlek: Uint8Array | null;
  /** The CRL (DER) as `options.crl` asked, signed by the ARK. */
  crl: Uint8Array;
  /** Another CRL of this hierarchy (revoked roles resolve to this hierarchy's serials). */
  makeCrl(options?: FakeCrlOptions): Promise<Uint8Array>;
  /**
   * Trust anchors for `createSnpVerifier({ roots })`: this hierarchy's ARK, ASK
   * and ASVK for its product, then the default fake hierarchy of the other products.
   */
  roots: SnpRootSet[];
  /** The serial number (hex) of each certificate. */
  serials: Record<FakeRole, string>;
}

// ── constants ───────────────────────────────────────────────────────────────

const PRODUCTS: readonly SnpProduct[] = ["Milan", "Genoa", "Turin"];
const DEFAULT_NOW = new Date("2025-06-01T00:00:00Z");
const DAY = 86_400_000;
const YEAR = 365 * DAY;

/** AMD's subject prefix (../shared/vectors/roots/amd). */
const AMD_DN = "OU=Engineering, C=US, L=Santa Clara, ST=CA, O=Advanced Micro Devices";

/** RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48: every AMD certificate and CRL signature. */
const PSS = { name: "RSA-PSS", hash: "SHA-384", saltLength: 48 } as Algorithm;

/**
 * That AlgorithmIdentifier byte for byte as AMD's current KDS certificates and CRLs
 * write it (Genoa/Turin VCEKs, VLEKs, the CRLs under ../shared/vectors/snp): the
 * SHA-384 identifiers carry NULL parameters and trailerField is left at its default.
 * `@peculiar/x509` omits the NULLs, so every certificate and CRL is re-signed with this.
 */
export const AMD_RSA_PSS_ALGORITHM: Uint8Array = fromHex(
  "304106092a864886f70d01010a3034a00f300d06096086480165030402020500" +
    "a11c301a06092a864886f70d010108300d06096086480165030402020500a203020130",
);

// AMD pub. 57230, "VCEK Certificate Extensions".
const OID = {
  structVersion: "1.3.6.1.4.1.3704.1.1",
  productName: "1.3.6.1.4.1.3704.1.2",
  bootloader: "1.3.6.1.4.1.3704.1.3.1",
  tee: "1.3.6.1.4.1.3704.1.3.2",
  snp: "1.3.6.1.4.1.3704.1.3.3",
  reserved4: "1.3.6.1.4.1.3704.1.3.4",
  reserved5: "1.3.6.1.4.1.3704.1.3.5",
  reserved6: "1.3.6.1.4.1.3704.1.3.6",
  reserved7: "1.3.6.1.4.1.3704.1.3.7",
  microcode: "1.3.6.1.4.1.3704.1.3.8",
  fmc: "1.3.6.1.4.1.3704.1.3.9",
  hwId: "1.3.6.1.4.1.3704.1.4",
  cspId: "1.3.6.1.4.1.3704.1.5",
} as const;

const CPUID: Record<SnpProduct, { family: number; model: number; stepping: number }> = {
  Milan: { family: 0x19, model: 0x01, stepping: 1 },
  Genoa: { family: 0x19, model: 0x11, stepping: 1 },
  Turin: { family: 0x1a, model: 0x02, stepping: 1 },
};

const VCEK_PRODUCT_NAME: Record<SnpProduct, string> = {
  Milan: "Milan-B0",
  Genoa: "Genoa",
  Turin: "Turin",
};

const DEFAULT_TCB: Required<FakeTcb> = {
  bootloader: 4,
  tee: 0,
  snp: 22,
  microcode: 213,
  fmc: 1,
};

const DEFAULT_SERIALS: Record<FakeRole, string> = {
  ark: "010000",
  ask: "010001",
  asvk: "010002",
  // AMD's VCEKs and VLEKs have serial 0, which @peculiar/x509 replaces with a random one.
  vcek: "0100",
  vlek: "0200",
};

// ── keys ────────────────────────────────────────────────────────────────────

interface KeyPair {
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

type KeyName = "ark" | "ask" | "asvk" | "otherRsa" | "vcek" | "vlek" | "otherEc";

const PEMS: Record<KeyName, string> = {
  ark: KEYS.ARK_KEY,
  ask: KEYS.ASK_KEY,
  asvk: KEYS.ASVK_KEY,
  otherRsa: KEYS.OTHER_RSA_KEY,
  vcek: KEYS.VCEK_KEY,
  vlek: KEYS.VLEK_KEY,
  otherEc: KEYS.OTHER_EC_KEY,
};

/** Imported once per module instance: importing is the only key cost worth caching. */
const keyCache = new Map<KeyName, Promise<KeyPair>>();

function key(name: KeyName): Promise<KeyPair> {
  let k = keyCache.get(name);
  if (!k) {
    k = importPair(PEMS[name], name === "vcek" || name === "vlek" || name === "otherEc");
    keyCache.set(name, k);
  }
  return k;
}

async function importPair(pem: string, ec: boolean): Promise<KeyPair> {
  const der = fromPem(pem);
  const alg = ec ? { name: "ECDSA", namedCurve: "P-384" } : { name: "RSA-PSS", hash: "SHA-384" };
  const privateKey = await crypto.subtle.importKey("pkcs8", der, alg, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", privateKey);
  const pub: JsonWebKey = ec
    ? { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y }
    : { kty: jwk.kty, n: jwk.n, e: jwk.e };
  const publicKey = await crypto.subtle.importKey("jwk", pub, alg, true, ["verify"]);
  return { privateKey, publicKey };
}

// ── the builder ─────────────────────────────────────────────────────────────

interface Hierarchy {
  ark: x509.X509Certificate;
  ask: x509.X509Certificate;
  asvk: x509.X509Certificate;
}

/** Default ARK/ASK/ASVK per product and `now`: the part of a fake that rarely changes. */
const hierarchyCache = new Map<string, Promise<Hierarchy>>();

/**
 * Build a fake SEV-SNP evidence set. With no options: a Milan v3 report signed
 * by a VCEK, a valid chain, an empty fresh CRL, and roots to pin; it verifies
 * and validates at `result.now`.
 *
 * @throws {TestkitError} `testkit.options` for an option it cannot encode (wrong byte length, out-of-range offset).
 */
export async function fakeSnp(options: FakeSnpOptions = {}): Promise<FakeSnp> {
  const product = options.product ?? "Milan";
  if (!PRODUCTS.includes(product)) bad(`product: expected Milan, Genoa or Turin, got ${product}`);
  const signer = options.signer ?? "vcek";
  if (signer !== "vcek" && signer !== "vlek") bad(`signer: expected vcek or vlek, got ${signer}`);
  const now = options.now ?? DEFAULT_NOW;
  const certs = options.certs ?? {};

  const h =
    certs.ark || certs.ask || certs.asvk
      ? await buildHierarchy(product, now, certs)
      : await defaultHierarchy(product, now);

  const fields = resolveReport(product, signer, options.report ?? {});
  const ekOverride = certs[signer] ?? {};
  const ek = await buildEndorsement(product, signer, now, h, fields, ekOverride);

  const reportKey = options.reportSignedBy === "other" ? await key("otherEc") : await key(signer);
  const report = await signReport(encodeReport(product, fields), reportKey.privateKey);
  applyCorruption(report, options.corrupt);

  const serials: Record<FakeRole, string> = {
    ark: h.ark.serialNumber,
    ask: h.ask.serialNumber,
    asvk: h.asvk.serialNumber,
    vcek: signer === "vcek" ? ek.serialNumber : DEFAULT_SERIALS.vcek,
    vlek: signer === "vlek" ? ek.serialNumber : DEFAULT_SERIALS.vlek,
  };
  const makeCrl = (o: FakeCrlOptions = {}) => buildCrl(h.ark, now, serials, o);

  const roots: SnpRootSet[] = [{ product, ark: der(h.ark), ask: der(h.ask), asvk: der(h.asvk) }];
  for (const p of PRODUCTS) {
    if (p === product) continue;
    const other = await defaultHierarchy(p, now);
    roots.push({ product: p, ark: der(other.ark), ask: der(other.ask), asvk: der(other.asvk) });
  }

  const ekDer = der(ek);
  return {
    product,
    signer,
    now,
    report,
    endorsementKey: ekDer,
    intermediates: [der(signer === "vcek" ? h.ask : h.asvk)],
    ark: der(h.ark),
    ask: der(h.ask),
    asvk: der(h.asvk),
    vcek: signer === "vcek" ? ekDer : null,
    vlek: signer === "vlek" ? ekDer : null,
    crl: await makeCrl(options.crl),
    makeCrl,
    roots,
    serials,
  };
}

function defaultHierarchy(product: SnpProduct, now: Date): Promise<Hierarchy> {
  const k = `${product}@${now.toISOString()}`;
  let h = hierarchyCache.get(k);
  if (!h) {
    h = buildHierarchy(product, now, {});
    h.catch(() => hierarchyCache.delete(k));
    hierarchyCache.set(k, h);
  }
  return h;
}

async function buildHierarchy(
  product: SnpProduct,
  now: Date,
  certs: Partial<Record<FakeRole, FakeCertOverride>>,
): Promise<Hierarchy> {
  const arkKey = await key("ark");
  const other = await key("otherRsa");
  const arkName = `${AMD_DN}, CN=ARK-${product}`;
  const o = certs.ark ?? {};
  const arkSubject = o.subject ?? arkName;
  const arkSigner = (o.signedBy === "other" ? other : arkKey).privateKey;
  const ark = await amdSigned(
    x509.X509CertificateGenerator.create({
      serialNumber: o.serialNumber ?? DEFAULT_SERIALS.ark,
      subject: arkSubject,
      issuer: o.issuer ?? arkSubject,
      notBefore: o.notBefore ?? new Date(now.getTime() - 5 * YEAR),
      notAfter: o.notAfter ?? new Date(now.getTime() + 20 * YEAR),
      publicKey: arkKey.publicKey,
      signingKey: arkSigner,
      signingAlgorithm: PSS,
      extensions: edit(
        [
          await x509.SubjectKeyIdentifierExtension.create(arkKey.publicKey),
          await x509.AuthorityKeyIdentifierExtension.create(arkKey.publicKey),
          new x509.BasicConstraintsExtension(true, 1, true),
          new x509.KeyUsagesExtension(
            x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
            true,
          ),
          new x509.CRLDistributionPointsExtension([crlUrl(product)]),
        ],
        o,
      ),
    }),
    arkSigner,
  );
  const inter = async (role: "ask" | "asvk", cn: string) => {
    const pair = await key(role);
    const c = certs[role] ?? {};
    const signing = (c.signedBy === "other" ? other : arkKey).privateKey;
    return amdSigned(
      x509.X509CertificateGenerator.create({
        serialNumber: c.serialNumber ?? DEFAULT_SERIALS[role],
        subject: c.subject ?? `${AMD_DN}, CN=${cn}`,
        issuer: c.issuer ?? ark.subject,
        notBefore: c.notBefore ?? new Date(now.getTime() - 5 * YEAR),
        notAfter: c.notAfter ?? new Date(now.getTime() + 20 * YEAR),
        publicKey: pair.publicKey,
        signingKey: signing,
        signingAlgorithm: PSS,
        extensions: edit(
          [
            await x509.SubjectKeyIdentifierExtension.create(pair.publicKey),
            await x509.AuthorityKeyIdentifierExtension.create(arkKey.publicKey),
            new x509.BasicConstraintsExtension(true, 0, true),
            new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
            new x509.CRLDistributionPointsExtension([crlUrl(product)]),
          ],
          c,
        ),
      }),
      signing,
    );
  };
  return {
    ark,
    ask: await inter("ask", `SEV-${product}`),
    asvk: await inter("asvk", `SEV-VLEK-${product}`),
  };
}

async function buildEndorsement(
  product: SnpProduct,
  signer: FakeSigner,
  now: Date,
  h: Hierarchy,
  fields: ResolvedReport,
  o: FakeCertOverride,
): Promise<x509.X509Certificate> {
  const pair = await key(signer);
  const issuerCert = signer === "vcek" ? h.ask : h.asvk;
  const issuerKey =
    o.signedBy === "other" ? await key("otherRsa") : await key(signer === "vcek" ? "ask" : "asvk");
  const turin = product === "Turin";
  const tcb = { ...fields.reportedTcb, ...o.tcb };
  const exts: x509.Extension[] = [];
  const add = (oid: string, value: Uint8Array | null) => {
    if (value !== null) exts.push(new x509.Extension(oid, false, value as Uint8Array<ArrayBuffer>));
  };
  const structVersion = o.structVersion === undefined ? (turin ? 1 : 0) : o.structVersion;
  add(OID.structVersion, structVersion === null ? null : derInteger(structVersion));
  const productName =
    o.productName === undefined
      ? signer === "vcek"
        ? VCEK_PRODUCT_NAME[product]
        : product
      : o.productName;
  add(OID.productName, productName === null ? null : derIa5(productName));
  const spl = (c: FakeTcbComponent) => {
    const v = tcb[c];
    return v === null || v === undefined ? null : derInteger(v);
  };
  // Order and reserved SPLs as AMD writes them (../shared/vectors/snp): Milan/Genoa
  // bl, tee, .3.4–.3.7 = 0, snp, ucode; Turin fmc first, then bl, tee, snp, .3.5–.3.7 = 0, ucode.
  if (turin || o.tcb?.fmc !== undefined) add(OID.fmc, spl("fmc"));
  add(OID.bootloader, spl("bootloader"));
  add(OID.tee, spl("tee"));
  if (turin) {
    add(OID.snp, spl("snp"));
    for (const r of [OID.reserved5, OID.reserved6, OID.reserved7]) add(r, derInteger(0));
  } else {
    for (const r of [OID.reserved4, OID.reserved5, OID.reserved6, OID.reserved7])
      add(r, derInteger(0));
    add(OID.snp, spl("snp"));
  }
  add(OID.microcode, spl("microcode"));
  if (signer === "vcek") {
    const hw = o.hwId === undefined ? (turin ? fields.chipId.slice(0, 8) : fields.chipId) : o.hwId;
    add(OID.hwId, hw);
  } else if (o.hwId) {
    add(OID.hwId, o.hwId);
  }
  if (signer === "vlek") {
    const csp = o.cspId === undefined ? "CN=fake-csp.example" : o.cspId;
    add(OID.cspId, csp === null ? null : derIa5(csp));
  } else if (o.cspId) {
    add(OID.cspId, derIa5(o.cspId));
  }
  return amdSigned(
    x509.X509CertificateGenerator.create({
      serialNumber: o.serialNumber ?? DEFAULT_SERIALS[signer],
      subject: o.subject ?? `${AMD_DN}, CN=SEV-${signer.toUpperCase()}`,
      issuer: o.issuer ?? issuerCert.subject,
      notBefore: o.notBefore ?? new Date(now.getTime() - (signer === "vcek" ? YEAR : 30 * DAY)),
      notAfter: o.notAfter ?? new Date(now.getTime() + (signer === "vcek" ? 6 * YEAR : 335 * DAY)),
      publicKey: pair.publicKey,
      signingKey: issuerKey.privateKey,
      signingAlgorithm: PSS,
      extensions: edit(exts, o),
    }),
    issuerKey.privateKey,
  );
}

async function buildCrl(
  ark: x509.X509Certificate,
  now: Date,
  serials: Record<FakeRole, string>,
  o: FakeCrlOptions,
): Promise<Uint8Array> {
  const signing = o.signedBy === "other" ? await key("otherRsa") : await key("ark");
  const revocationDate = o.revocationDate ?? new Date(now.getTime() - 2 * DAY);
  const crl = await x509.X509CrlGenerator.create({
    issuer: o.issuer ?? ark.subject,
    thisUpdate: o.thisUpdate ?? new Date(now.getTime() - DAY),
    nextUpdate:
      o.nextUpdate === null ? undefined : (o.nextUpdate ?? new Date(now.getTime() + 30 * DAY)),
    entries: (o.revoked ?? []).map((r) => ({
      serialNumber: typeof r === "string" ? serials[r] : r.serialNumber,
      revocationDate,
    })),
    signingKey: signing.privateKey,
    signingAlgorithm: PSS,
  });
  return resign(new Uint8Array(crl.rawData), signing.privateKey);
}

/** A certificate from the generator, re-signed with AMD's AlgorithmIdentifier. */
async function amdSigned(
  made: Promise<x509.X509Certificate>,
  signingKey: CryptoKey,
): Promise<x509.X509Certificate> {
  const der = await resign(new Uint8Array((await made).rawData), signingKey);
  return new x509.X509Certificate(der as Uint8Array<ArrayBuffer>);
}

/**
 * Re-sign a certificate or CRL (RFC 5280 §4.1 / §5.1: SEQUENCE { tbs, algorithm,
 * signature }) after putting `AMD_RSA_PSS_ALGORITHM` in both places the algorithm
 * appears: the tbs's `signature` field (its first SEQUENCE) and `signatureAlgorithm`.
 */
async function resign(der: Uint8Array, signingKey: CryptoKey): Promise<Uint8Array> {
  const top = tlv(der, 0);
  const tbs = tlv(der, top.start);
  let at = tbs.start;
  let alg = tlv(der, at);
  while (der[at] !== 0x30) {
    at = alg.end;
    alg = tlv(der, at);
  }
  const newTbs = derTlv(
    0x30,
    concat(der.subarray(tbs.start, at), AMD_RSA_PSS_ALGORITHM, der.subarray(alg.end, tbs.end)),
  );
  const sig = new Uint8Array(
    await crypto.subtle.sign(
      { name: "RSA-PSS", saltLength: 48 },
      signingKey,
      newTbs as Uint8Array<ArrayBuffer>,
    ),
  );
  return derTlv(
    0x30,
    concat(newTbs, AMD_RSA_PSS_ALGORITHM, derTlv(0x03, concat(new Uint8Array([0]), sig))),
  );
}

/** A DER element's content range (definite lengths only: the generator writes DER). */
function tlv(b: Uint8Array, offset: number): { start: number; end: number } {
  let len = b[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[start + i]!;
    start += n;
  }
  return { start, end: start + len };
}

function derTlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  const head =
    n < 0x80
      ? [tag, n]
      : n < 0x100
        ? [tag, 0x81, n]
        : n < 0x10000
          ? [tag, 0x82, n >> 8, n & 0xff]
          : [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return concat(new Uint8Array(head), content);
}

function fromHex(h: string): Uint8Array {
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Drop `omitExtensions`, append `extraExtensions`. */
function edit(exts: x509.Extension[], o: FakeCertOverride): x509.Extension[] {
  const omit = new Set(o.omitExtensions ?? []);
  const out = exts.filter((e) => !omit.has(e.type));
  for (const e of o.extraExtensions ?? [])
    out.push(new x509.Extension(e.oid, e.critical ?? false, e.value as Uint8Array<ArrayBuffer>));
  return out;
}

function crlUrl(product: SnpProduct): string {
  return `https://kdsintf.amd.com/vcek/v1/${product}/crl`;
}

// ── the report (AMD pub. 56860, ATTESTATION_REPORT Structure) ───────────────

interface ResolvedReport {
  version: number;
  guestSvn: number;
  policy: bigint;
  familyId: Uint8Array;
  imageId: Uint8Array;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: Required<FakeTcb>;
  reportedTcb: Required<FakeTcb>;
  committedTcb: Required<FakeTcb>;
  launchTcb: Required<FakeTcb>;
  platformInfo: bigint;
  keyInfo: number;
  reportData: Uint8Array;
  measurement: Uint8Array;
  hostData: Uint8Array;
  idKeyDigest: Uint8Array;
  authorKeyDigest: Uint8Array;
  reportId: Uint8Array;
  reportIdMa: Uint8Array;
  cpuid: { family: number; model: number; stepping: number } | null;
  chipId: Uint8Array;
  currentVersion: FakeFirmwareVersion;
  committedVersion: FakeFirmwareVersion;
  launchMitVector: bigint;
  currentMitVector: bigint;
}

const POLICY_BITS: [keyof FakePolicy, number][] = [
  ["smt", 16],
  ["migrateMa", 18],
  ["debug", 19],
  ["singleSocket", 20],
  ["cxlAllow", 21],
  ["memAes256Xts", 22],
  ["raplDis", 23],
  ["ciphertextHiding", 24],
  ["pageSwapDisable", 25],
];

function resolveReport(
  product: SnpProduct,
  signer: FakeSigner,
  f: FakeReportFields,
): ResolvedReport {
  const version = f.version ?? (product === "Turin" ? 5 : 3);
  const reportedTcb = { ...DEFAULT_TCB, ...f.reportedTcb };
  const tcb = (t: FakeTcb | undefined) => ({ ...reportedTcb, ...t });
  let chipId: Uint8Array;
  if (f.chipId) chipId = bytes("chipId", f.chipId, 64);
  else {
    chipId = new Uint8Array(64);
    if (signer === "vcek") {
      const n = product === "Turin" ? 8 : 64;
      for (let i = 0; i < n; i++) chipId[i] = (0xc0 + i * 7) & 0xff;
    }
  }
  const signingKey = f.signingKey ?? signer;
  const keyInfo =
    (f.authorKeyEn ? 1 : 0) |
    (f.maskChipKey ? 2 : 0) |
    ((signingKey === "vcek" ? 0 : signingKey === "vlek" ? 1 : 7) << 2);
  const reportData = new Uint8Array(64);
  for (let i = 0; i < 64; i++) reportData[i] = i;
  const fw = f.currentVersion ?? { major: 1, minor: 55, build: 21 };
  return {
    version,
    guestSvn: f.guestSvn ?? 1,
    policy: policyValue(f.policy),
    familyId: bytes("familyId", f.familyId ?? new Uint8Array(16), 16),
    imageId: bytes("imageId", f.imageId ?? new Uint8Array(16), 16),
    vmpl: f.vmpl ?? 0,
    signatureAlgo: f.signatureAlgo ?? 1,
    currentTcb: tcb(f.currentTcb),
    reportedTcb,
    committedTcb: tcb(f.committedTcb),
    launchTcb: tcb(f.launchTcb),
    platformInfo: f.platformInfo ?? 1n,
    keyInfo,
    reportData: bytes("reportData", f.reportData ?? reportData, 64),
    measurement: bytes("measurement", f.measurement ?? new Uint8Array(48).fill(0x4d), 48),
    hostData: bytes("hostData", f.hostData ?? new Uint8Array(32), 32),
    idKeyDigest: bytes("idKeyDigest", f.idKeyDigest ?? new Uint8Array(48), 48),
    authorKeyDigest: bytes("authorKeyDigest", f.authorKeyDigest ?? new Uint8Array(48), 48),
    reportId: bytes("reportId", f.reportId ?? new Uint8Array(32).fill(0x52), 32),
    reportIdMa: bytes("reportIdMa", f.reportIdMa ?? new Uint8Array(32).fill(0xff), 32),
    cpuid: f.cpuid ?? (version >= 3 ? CPUID[product] : null),
    chipId,
    currentVersion: fw,
    committedVersion: f.committedVersion ?? fw,
    launchMitVector: f.launchMitVector ?? 0n,
    currentMitVector: f.currentMitVector ?? 0n,
  };
}

function policyValue(p: bigint | FakePolicy | undefined): bigint {
  if (typeof p === "bigint") return p;
  const o = { smt: true, ...p };
  let v = (1n << 17n) | BigInt(o.abiMinor ?? 0) | (BigInt(o.abiMajor ?? 0) << 8n);
  for (const [name, bit] of POLICY_BITS) if (o[name]) v |= 1n << BigInt(bit);
  return v;
}

/** TCB_VERSION bytes per product (LAYOUTS.md §1). */
function encodeTcb(product: SnpProduct, t: Required<FakeTcb>): Uint8Array {
  const b = new Uint8Array(8);
  if (product === "Turin") {
    b[0] = t.fmc;
    b[1] = t.bootloader;
    b[2] = t.tee;
    b[3] = t.snp;
  } else {
    b[0] = t.bootloader;
    b[1] = t.tee;
    b[6] = t.snp;
  }
  b[7] = t.microcode;
  return b;
}

function encodeReport(product: SnpProduct, f: ResolvedReport): Uint8Array {
  const r = new Uint8Array(0x4a0);
  const v = new DataView(r.buffer);
  v.setUint32(0x000, f.version, true);
  v.setUint32(0x004, f.guestSvn, true);
  v.setBigUint64(0x008, f.policy, true);
  r.set(f.familyId, 0x010);
  r.set(f.imageId, 0x020);
  v.setUint32(0x030, f.vmpl, true);
  v.setUint32(0x034, f.signatureAlgo, true);
  r.set(encodeTcb(product, f.currentTcb), 0x038);
  v.setBigUint64(0x040, f.platformInfo, true);
  v.setUint32(0x048, f.keyInfo, true);
  r.set(f.reportData, 0x050);
  r.set(f.measurement, 0x090);
  r.set(f.hostData, 0x0c0);
  r.set(f.idKeyDigest, 0x0e0);
  r.set(f.authorKeyDigest, 0x110);
  r.set(f.reportId, 0x140);
  r.set(f.reportIdMa, 0x160);
  r.set(encodeTcb(product, f.reportedTcb), 0x180);
  if (f.cpuid) {
    r[0x188] = f.cpuid.family;
    r[0x189] = f.cpuid.model;
    r[0x18a] = f.cpuid.stepping;
  }
  r.set(f.chipId, 0x1a0);
  r.set(encodeTcb(product, f.committedTcb), 0x1e0);
  r[0x1e8] = f.currentVersion.build;
  r[0x1e9] = f.currentVersion.minor;
  r[0x1ea] = f.currentVersion.major;
  r[0x1ec] = f.committedVersion.build;
  r[0x1ed] = f.committedVersion.minor;
  r[0x1ee] = f.committedVersion.major;
  r.set(encodeTcb(product, f.launchTcb), 0x1f0);
  if (f.version >= 5) {
    v.setBigUint64(0x1f8, f.launchMitVector, true);
    v.setBigUint64(0x200, f.currentMitVector, true);
  }
  return r;
}

/** ECDSA P-384/SHA-384 over 0x000–0x29F; r and s little-endian in 72-byte fields at 0x2A0 and 0x2E8. */
async function signReport(r: Uint8Array, k: CryptoKey): Promise<Uint8Array> {
  const sig = new Uint8Array(
    await crypto.subtle.sign(
      { name: "ECDSA", hash: "SHA-384" },
      k,
      r.slice(0, 0x2a0) as Uint8Array<ArrayBuffer>,
    ),
  );
  r.set(sig.slice(0, 48).reverse(), 0x2a0);
  r.set(sig.slice(48, 96).reverse(), 0x2e8);
  return r;
}

function applyCorruption(r: Uint8Array, c: FakeSnpOptions["corrupt"]): void {
  if (!c) return;
  if (c.signature !== undefined && c.signature !== false) {
    const at = c.signature === true ? 0x2a0 : c.signature;
    if (!Number.isInteger(at) || at < 0x2a0 || at >= 0x330)
      bad(`corrupt.signature: expected an offset in 0x2A0–0x32F, got ${at}`);
    r[at] = r[at]! ^ 0xff;
  }
  if (c.signedRegion !== undefined && c.signedRegion !== false) {
    const at = c.signedRegion === true ? 0x090 : c.signedRegion;
    if (!Number.isInteger(at) || at < 0 || at >= 0x2a0)
      bad(`corrupt.signedRegion: expected an offset in 0x000–0x29F, got ${at}`);
    r[at] = r[at]! ^ 0xff;
  }
}

// ── DER and small helpers ───────────────────────────────────────────────────

/** A DER INTEGER, minimal, non-negative (X.690 §8.3): 213 → 02 02 00 D5. */
export function derInteger(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff)
    bad(`expected an integer 0–2³²−1, got ${n}`);
  const body: number[] = [];
  let v = n;
  do {
    body.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (body[0]! & 0x80) body.unshift(0);
  return new Uint8Array([0x02, body.length, ...body]);
}

/** A DER IA5String of under 128 bytes. */
export function derIa5(s: string): Uint8Array {
  const b = new TextEncoder().encode(s);
  if (b.length >= 0x80) bad(`IA5String too long for the fake: ${s.length} characters`);
  return new Uint8Array([0x16, b.length, ...b]);
}

function der(c: x509.X509Certificate): Uint8Array {
  return new Uint8Array(c.rawData);
}

function bytes(name: string, b: Uint8Array, size: number): Uint8Array {
  if (!(b instanceof Uint8Array) || b.length !== size)
    bad(
      `report.${name}: expected ${size} bytes, got ${b instanceof Uint8Array ? b.length : typeof b}`,
    );
  return b;
}

function fromPem(pem: string): Uint8Array<ArrayBuffer> {
  const b64 = pem.replace(/-----[A-Z ]+-----/g, "").replace(/\s+/g, "");
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function bad(message: string): never {
  throw new TestkitError("testkit.options", message);
}
