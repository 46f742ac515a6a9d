/**
 * Parse an AMD SEV-SNP attestation report: structure only (sizes, offsets,
 * reserved-must-be-zero, encodings). It never judges policy (`validate.ts`)
 * and never checks the signature (`verify.ts`).
 *
 * Layout: AMD, "SEV Secure Nested Paging Firmware ABI Specification",
 * publication 56860 (rev. 1.55–1.58), table "ATTESTATION_REPORT Structure",
 * with the TCB_VERSION, GUEST_POLICY, PLATFORM_INFO and KEY_INFO definitions
 * beside it. Confirmed byte-for-byte on the real reports in
 * `../shared/vectors/snp/` (see `../shared/vectors/LAYOUTS.md` §1). All
 * integers are little-endian.
 *
 * Rules this parser decides (documented in README.md):
 * - exactly 0x4A0 bytes: no truncation, no trailing bytes, no wrapper;
 * - VERSION 2, 3 or 5 (4 was never published with a layout we can confirm);
 * - every reserved range is zero, including the version-dependent ones
 *   (CPUID bytes before v3, mitigation vectors before v5) and the reserved
 *   bytes of every TCB_VERSION;
 * - GUEST_POLICY bit 17 is 1 ("reserved, must be one") and bits 26–63 are 0;
 * - KEY_INFO bits 5–31 are 0 and SIGNING_KEY is 0 (VCEK), 1 (VLEK) or 7 (none);
 * - PLATFORM_INFO bits unknown to us are kept in `raw`, not rejected: they are
 *   host facts that new firmware adds, and `validate.ts` can forbid them;
 * - the product comes from CPUID on v3+; a v2 report does not carry it, so the
 *   caller must pass `options.product` (there is no honest default).
 */
import { hexOffset, nonZeroOffsets, reversed, toHex } from "../_bytes.ts";
import { EvidenceError, OptionsError } from "../error.ts";
import type {
  SnpFirmwareVersion,
  SnpPlatformInfo,
  SnpPolicy,
  SnpProduct,
  SnpReport,
  SnpSigningKey,
  SnpTcb,
} from "./types.ts";

// ── ATTESTATION_REPORT Structure (56860), in spec order ─────────────────────

/** Size of the whole report. */
export const SNP_REPORT_SIZE = 0x4a0;

const VERSION = 0x000;
const VERSION_SIZE = 4;
const GUEST_SVN = 0x004;
const GUEST_SVN_SIZE = 4;
const POLICY = 0x008;
const POLICY_SIZE = 8;
const FAMILY_ID = 0x010;
const FAMILY_ID_SIZE = 16;
const IMAGE_ID = 0x020;
const IMAGE_ID_SIZE = 16;
const VMPL = 0x030;
const VMPL_SIZE = 4;
const SIGNATURE_ALGO = 0x034;
const SIGNATURE_ALGO_SIZE = 4;
const CURRENT_TCB = 0x038;
const TCB_SIZE = 8;
const PLATFORM_INFO = 0x040;
const PLATFORM_INFO_SIZE = 8;
const KEY_INFO = 0x048;
const KEY_INFO_SIZE = 4;
const RESERVED_04C = 0x04c; // 4 bytes
const REPORT_DATA = 0x050;
const REPORT_DATA_SIZE = 64;
const MEASUREMENT = 0x090;
const MEASUREMENT_SIZE = 48;
const HOST_DATA = 0x0c0;
const HOST_DATA_SIZE = 32;
const ID_KEY_DIGEST = 0x0e0;
const ID_KEY_DIGEST_SIZE = 48;
const AUTHOR_KEY_DIGEST = 0x110;
const AUTHOR_KEY_DIGEST_SIZE = 48;
const REPORT_ID = 0x140;
const REPORT_ID_SIZE = 32;
const REPORT_ID_MA = 0x160;
const REPORT_ID_MA_SIZE = 32;
const REPORTED_TCB = 0x180;
const CPUID_FAM_ID = 0x188; // v3+; reserved in v2
const CPUID_MOD_ID = 0x189; // v3+
const CPUID_STEP = 0x18a; // v3+
const CPUID_SIZE = 3;
const RESERVED_18B = 0x18b; // to 0x19F
const CHIP_ID = 0x1a0;
const CHIP_ID_SIZE = 64;
const COMMITTED_TCB = 0x1e0;
const CURRENT_BUILD = 0x1e8;
const CURRENT_MINOR = 0x1e9;
const CURRENT_MAJOR = 0x1ea;
const RESERVED_1EB = 0x1eb; // 1 byte
const COMMITTED_BUILD = 0x1ec;
const COMMITTED_MINOR = 0x1ed;
const COMMITTED_MAJOR = 0x1ee;
const RESERVED_1EF = 0x1ef; // 1 byte
const LAUNCH_TCB = 0x1f0;
const LAUNCH_MIT_VECTOR = 0x1f8; // v5+; reserved before
const CURRENT_MIT_VECTOR = 0x200; // v5+
const MIT_VECTOR_SIZE = 8;
const RESERVED_208 = 0x208; // to 0x29F
const SIGNATURE = 0x2a0; // the signed region is everything before this
const SIGNATURE_R = 0x2a0;
const SIGNATURE_S = 0x2e8;
/** ECDSA-P384-SHA384 signature format (56860): R and S are 72-byte little-endian fields. */
const SIGNATURE_COMPONENT_SIZE = 72;
/** P-384 scalars are 48 bytes; the top 24 bytes of each 72-byte field are zero. */
const P384_SCALAR_SIZE = 48;
const RESERVED_330 = 0x330; // to 0x49F

/** The signed region: bytes 0x000–0x29F. */
export const SNP_SIGNED_REGION_SIZE = SIGNATURE;

/** Report versions this parser knows the layout of. */
export const SNP_REPORT_VERSIONS: readonly number[] = [2, 3, 5];

/** A must-be-zero byte range [start, end) and the report versions it applies to. */
interface ReservedRange {
  start: number;
  end: number;
  what: string;
  applies: (version: number) => boolean;
  code?: "snp.report.signature_padding";
}

const always = () => true;

/** Every reserved range of the report, in offset order. */
const RESERVED: readonly ReservedRange[] = [
  { start: RESERVED_04C, end: REPORT_DATA, what: "reserved", applies: always },
  {
    start: CPUID_FAM_ID,
    end: CPUID_FAM_ID + CPUID_SIZE,
    what: "CPUID_FAM_ID/MOD_ID/STEP (reserved before version 3)",
    applies: (v) => v < 3,
  },
  { start: RESERVED_18B, end: CHIP_ID, what: "reserved", applies: always },
  { start: RESERVED_1EB, end: COMMITTED_BUILD, what: "reserved", applies: always },
  { start: RESERVED_1EF, end: LAUNCH_TCB, what: "reserved", applies: always },
  {
    start: LAUNCH_MIT_VECTOR,
    end: RESERVED_208,
    what: "LAUNCH/CURRENT_MIT_VECTOR (reserved before version 5)",
    applies: (v) => v < 5,
  },
  { start: RESERVED_208, end: SIGNATURE, what: "reserved", applies: always },
  {
    start: SIGNATURE_R + P384_SCALAR_SIZE,
    end: SIGNATURE_S,
    what: "SIGNATURE.R bytes above P-384's 48",
    applies: always,
    code: "snp.report.signature_padding",
  },
  {
    start: SIGNATURE_S + P384_SCALAR_SIZE,
    end: RESERVED_330,
    what: "SIGNATURE.S bytes above P-384's 48",
    applies: always,
    code: "snp.report.signature_padding",
  },
  { start: RESERVED_330, end: SNP_REPORT_SIZE, what: "reserved", applies: always },
];

// ── GUEST_POLICY (56860, "Guest Policy Structure") ───────────────────────────

const POLICY_SMT = 16n;
const POLICY_RESERVED_MBO = 17n; // "Reserved. Must be one."
const POLICY_MIGRATE_MA = 18n;
const POLICY_DEBUG = 19n;
const POLICY_SINGLE_SOCKET = 20n;
const POLICY_CXL_ALLOW = 21n;
const POLICY_MEM_AES_256_XTS = 22n;
const POLICY_RAPL_DIS = 23n;
const POLICY_CIPHERTEXT_HIDING = 24n;
const POLICY_PAGE_SWAP_DISABLE = 25n;
/** Bits 26–63 are reserved and must be zero. */
const POLICY_RESERVED_MBZ = ~((1n << 26n) - 1n) & 0xffff_ffff_ffff_ffffn;

// ── PLATFORM_INFO (56860) ────────────────────────────────────────────────────

const PI_SMT_EN = 0n;
const PI_TSME_EN = 1n;
const PI_ECC_EN = 2n;
const PI_RAPL_DIS = 3n;
const PI_CIPHERTEXT_HIDING_EN = 4n;
const PI_ALIAS_CHECK_COMPLETE = 5n;
const PI_TIO_EN = 7n;

// ── KEY_INFO (56860): bit 0 AUTHOR_KEY_EN, 1 MASK_CHIP_KEY, 4:2 SIGNING_KEY ─

const KEY_INFO_RESERVED_MBZ = ~0x1f >>> 0;
const SIGNING_KEYS: Record<number, SnpSigningKey> = { 0: "vcek", 1: "vlek", 7: "none" };

// ── TCB_VERSION (56860): byte positions per product ─────────────────────────

/** Byte index of each component within the 8-byte TCB_VERSION, and its reserved bytes. */
interface TcbLayout {
  fmc: number | null;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  reserved: readonly number[];
}

/** Milan and Genoa (incl. Siena): BL, TEE, 4 reserved, SNP, UCODE. */
const TCB_MILAN_GENOA: TcbLayout = {
  fmc: null,
  bootloader: 0,
  tee: 1,
  snp: 6,
  microcode: 7,
  reserved: [2, 3, 4, 5],
};

/** Turin: FMC, BL, TEE, SNP, 3 reserved, UCODE. */
const TCB_TURIN: TcbLayout = {
  fmc: 0,
  bootloader: 1,
  tee: 2,
  snp: 3,
  microcode: 7,
  reserved: [4, 5, 6],
};

const TCB_LAYOUT: Record<SnpProduct, TcbLayout> = {
  Milan: TCB_MILAN_GENOA,
  Genoa: TCB_MILAN_GENOA,
  Turin: TCB_TURIN,
};

// ── CPUID → product (LAYOUTS.md §1; AMD family 19h/1Ah model ranges) ────────

/** The product a v3+ report's CPUID family and model name, or undefined if unknown. */
export function snpProductFromCpuid(family: number, model: number): SnpProduct | undefined {
  if (family === 0x19) {
    if (model <= 0x0f) return "Milan";
    if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)) return "Genoa";
  }
  if (family === 0x1a && model <= 0x11) return "Turin";
  return undefined;
}

/** Options for `parseSnpReport`. */
export interface ParseSnpReportOptions {
  /**
   * The processor generation. Required for version 2 reports, which do not
   * carry CPUID (take it from the VCEK's productName or from configuration);
   * when given for v3+ it must agree with the report's CPUID. Default: unset.
   */
  product?: SnpProduct;
}

/**
 * Parse a raw 1184-byte SEV-SNP attestation report.
 *
 * @throws {EvidenceError} with a `snp.report.*` code when the bytes are not a
 *   well-formed report of version 2, 3 or 5.
 */
export function parseSnpReport(bytes: Uint8Array, options: ParseSnpReportOptions = {}): SnpReport {
  if (bytes.length !== SNP_REPORT_SIZE) {
    throw new EvidenceError(
      "snp.report.size",
      `expected ${SNP_REPORT_SIZE}-byte SNP report, got ${bytes.length}`,
    );
  }
  // One private copy: later changes to the caller's buffer cannot reach the report.
  const raw = new Uint8Array(bytes);
  const view = new DataView(raw.buffer);
  const u32 = (offset: number) => view.getUint32(offset, true);
  const u64 = (offset: number) => view.getBigUint64(offset, true);
  const field = (offset: number, size: number) => raw.slice(offset, offset + size);

  const version = u32(VERSION);
  if (!SNP_REPORT_VERSIONS.includes(version)) {
    throw new EvidenceError(
      "snp.report.version",
      `expected SNP report version 2, 3 or 5, got ${version}`,
    );
  }
  for (const r of RESERVED) if (r.applies(version)) checkZero(raw, r);

  const signatureAlgo = u32(SIGNATURE_ALGO);
  if (signatureAlgo !== 1) {
    throw new EvidenceError(
      "snp.report.signature_algo",
      `expected SIGNATURE_ALGO 1 (ECDSA P-384 with SHA-384) at ${hexOffset(SIGNATURE_ALGO)}, got ${signatureAlgo}`,
    );
  }

  const policy = decodePolicy(u64(POLICY));
  const keyInfo = u32(KEY_INFO);
  if ((keyInfo & KEY_INFO_RESERVED_MBZ) !== 0) {
    throw new EvidenceError(
      "snp.report.key_info",
      `expected KEY_INFO bits 5–31 zero, got KEY_INFO 0x${keyInfo.toString(16)}`,
    );
  }
  const signingKeyValue = (keyInfo >>> 2) & 0x7;
  const signingKey = SIGNING_KEYS[signingKeyValue];
  if (signingKey === undefined) {
    throw new EvidenceError(
      "snp.report.key_info",
      `expected KEY_INFO.SIGNING_KEY 0 (VCEK), 1 (VLEK) or 7 (none), got ${signingKeyValue}`,
    );
  }

  const { product, cpuid } = resolveProduct(raw, version, options.product);
  const layout = TCB_LAYOUT[product];
  const tcb = (offset: number, name: string) => decodeTcb(raw, offset, name, layout);

  return {
    version,
    guestSvn: u32(GUEST_SVN),
    policy,
    familyId: field(FAMILY_ID, FAMILY_ID_SIZE),
    imageId: field(IMAGE_ID, IMAGE_ID_SIZE),
    vmpl: u32(VMPL),
    signatureAlgo,
    currentTcb: tcb(CURRENT_TCB, "CURRENT_TCB"),
    platformInfo: decodePlatformInfo(u64(PLATFORM_INFO)),
    authorKeyEn: (keyInfo & 0x1) !== 0,
    maskChipKey: (keyInfo & 0x2) !== 0,
    signingKey,
    reportData: field(REPORT_DATA, REPORT_DATA_SIZE),
    measurement: field(MEASUREMENT, MEASUREMENT_SIZE),
    hostData: field(HOST_DATA, HOST_DATA_SIZE),
    idKeyDigest: field(ID_KEY_DIGEST, ID_KEY_DIGEST_SIZE),
    authorKeyDigest: field(AUTHOR_KEY_DIGEST, AUTHOR_KEY_DIGEST_SIZE),
    reportId: field(REPORT_ID, REPORT_ID_SIZE),
    reportIdMa: field(REPORT_ID_MA, REPORT_ID_MA_SIZE),
    reportedTcb: tcb(REPORTED_TCB, "REPORTED_TCB"),
    cpuid,
    chipId: field(CHIP_ID, CHIP_ID_SIZE),
    committedTcb: tcb(COMMITTED_TCB, "COMMITTED_TCB"),
    currentVersion: firmwareVersion(raw, CURRENT_MAJOR, CURRENT_MINOR, CURRENT_BUILD),
    committedVersion: firmwareVersion(raw, COMMITTED_MAJOR, COMMITTED_MINOR, COMMITTED_BUILD),
    launchTcb: tcb(LAUNCH_TCB, "LAUNCH_TCB"),
    launchMitVector: version >= 5 ? u64(LAUNCH_MIT_VECTOR) : null,
    currentMitVector: version >= 5 ? u64(CURRENT_MIT_VECTOR) : null,
    product,
    signedRegion: raw.subarray(0, SNP_SIGNED_REGION_SIZE),
    signature: {
      // The padding above 48 bytes was checked zero with the reserved ranges.
      r: reversed(raw.subarray(SIGNATURE_R, SIGNATURE_R + P384_SCALAR_SIZE)),
      s: reversed(raw.subarray(SIGNATURE_S, SIGNATURE_S + P384_SCALAR_SIZE)),
    },
    raw,
  };
}

/** Throw `snp.report.reserved` (or the range's own code) unless the range is zero. */
function checkZero(raw: Uint8Array, { start, end, what, code }: ReservedRange): void {
  const bad = nonZeroOffsets(raw.subarray(start, end), start);
  if (bad.length === 0) return;
  const shown = bad
    .slice(0, 8)
    .map((o) => `${hexOffset(o)}=${toHex(raw.subarray(o, o + 1))}`)
    .join(", ");
  const more = bad.length > 8 ? ` and ${bad.length - 8} more` : "";
  const range = end - start === 1 ? hexOffset(start) : `${hexOffset(start)}–${hexOffset(end - 1)}`;
  throw new EvidenceError(
    code ?? "snp.report.reserved",
    `expected zero bytes at ${range} (${what}), got non-zero ${shown}${more}`,
  );
}

function bit(value: bigint, n: bigint): boolean {
  return ((value >> n) & 1n) === 1n;
}

function decodePolicy(raw: bigint): SnpPolicy {
  if (!bit(raw, POLICY_RESERVED_MBO)) {
    throw new EvidenceError(
      "snp.report.policy",
      `expected GUEST_POLICY bit 17 (reserved, must be one) set, got policy 0x${raw.toString(16)}`,
    );
  }
  if ((raw & POLICY_RESERVED_MBZ) !== 0n) {
    throw new EvidenceError(
      "snp.report.policy",
      `expected GUEST_POLICY bits 26–63 (reserved) zero, got policy 0x${raw.toString(16)}`,
    );
  }
  return {
    abiMinor: Number(raw & 0xffn),
    abiMajor: Number((raw >> 8n) & 0xffn),
    smt: bit(raw, POLICY_SMT),
    migrateMa: bit(raw, POLICY_MIGRATE_MA),
    debug: bit(raw, POLICY_DEBUG),
    singleSocket: bit(raw, POLICY_SINGLE_SOCKET),
    cxlAllow: bit(raw, POLICY_CXL_ALLOW),
    memAes256Xts: bit(raw, POLICY_MEM_AES_256_XTS),
    raplDis: bit(raw, POLICY_RAPL_DIS),
    ciphertextHiding: bit(raw, POLICY_CIPHERTEXT_HIDING),
    pageSwapDisable: bit(raw, POLICY_PAGE_SWAP_DISABLE),
    raw,
  };
}

function decodePlatformInfo(raw: bigint): SnpPlatformInfo {
  return {
    smtEnabled: bit(raw, PI_SMT_EN),
    tsmeEnabled: bit(raw, PI_TSME_EN),
    eccEnabled: bit(raw, PI_ECC_EN),
    raplDisabled: bit(raw, PI_RAPL_DIS),
    ciphertextHidingEnabled: bit(raw, PI_CIPHERTEXT_HIDING_EN),
    aliasCheckComplete: bit(raw, PI_ALIAS_CHECK_COMPLETE),
    tioEnabled: bit(raw, PI_TIO_EN),
    raw,
  };
}

function resolveProduct(
  raw: Uint8Array,
  version: number,
  hint: SnpProduct | undefined,
): { product: SnpProduct; cpuid: SnpReport["cpuid"] } {
  if (hint !== undefined && !Object.hasOwn(TCB_LAYOUT, hint)) {
    throw new OptionsError(
      "options.invalid",
      `expected options.product Milan, Genoa or Turin, got ${String(hint)}`,
    );
  }
  if (version < 3) {
    if (hint === undefined) {
      throw new EvidenceError(
        "snp.report.product_required",
        "expected options.product (Milan, Genoa or Turin) for a version 2 report, which carries no CPUID, got none",
      );
    }
    return { product: hint, cpuid: null };
  }
  const cpuid = {
    family: raw[CPUID_FAM_ID]!,
    model: raw[CPUID_MOD_ID]!,
    stepping: raw[CPUID_STEP]!,
  };
  const product = snpProductFromCpuid(cpuid.family, cpuid.model);
  if (product === undefined) {
    throw new EvidenceError(
      "snp.report.cpuid",
      `expected CPUID of Milan (family 0x19 model 0x00–0x0F), Genoa (0x19, 0x10–0x1F or 0xA0–0xAF) or Turin (0x1A, 0x00–0x11), got family 0x${hex2(cpuid.family)} model 0x${hex2(cpuid.model)}`,
    );
  }
  if (hint !== undefined && hint !== product) {
    throw new EvidenceError(
      "snp.report.product_mismatch",
      `expected product ${hint} (options.product), got ${product} from CPUID family 0x${hex2(cpuid.family)} model 0x${hex2(cpuid.model)}`,
    );
  }
  return { product, cpuid };
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, "0");
}

function decodeTcb(raw: Uint8Array, offset: number, name: string, layout: TcbLayout): SnpTcb {
  const bytes = raw.slice(offset, offset + TCB_SIZE);
  for (const i of layout.reserved) {
    if (bytes[i] !== 0) {
      const first = layout.reserved[0]!;
      const last = layout.reserved[layout.reserved.length - 1]!;
      throw new EvidenceError(
        "snp.report.reserved",
        `expected zero bytes at ${hexOffset(offset + first)}–${hexOffset(offset + last)} (${name} reserved bytes ${first}–${last}), got non-zero ${hexOffset(offset + i)}=${toHex(bytes.subarray(i, i + 1))}`,
      );
    }
  }
  return {
    bootloader: bytes[layout.bootloader]!,
    tee: bytes[layout.tee]!,
    snp: bytes[layout.snp]!,
    microcode: bytes[layout.microcode]!,
    fmc: layout.fmc === null ? null : bytes[layout.fmc]!,
    raw: bytes,
  };
}

function firmwareVersion(
  raw: Uint8Array,
  major: number,
  minor: number,
  build: number,
): SnpFirmwareVersion {
  return { major: raw[major]!, minor: raw[minor]!, build: raw[build]! };
}

// ── Azure HCL report wrapper (LAYOUTS.md §1, trustee az-snp-vtpm) ───────────

const HCL_MAGIC = [0x48, 0x43, 0x4c, 0x41]; // "HCLA"
const HCL_REPORT_OFFSET = 0x20;

/**
 * The SNP report inside `bytes`: an Azure HCL report (magic `HCLA`) holds it at
 * offset 0x20; anything else is returned unchanged for `parseSnpReport` to judge.
 * The HCL runtime data that follows is not interpreted here.
 *
 * @throws {EvidenceError} `snp.report.hcl` when an HCL report is too short.
 */
export function extractSnpReport(bytes: Uint8Array): Uint8Array {
  if (bytes.length < HCL_MAGIC.length || !HCL_MAGIC.every((b, i) => bytes[i] === b)) return bytes;
  const end = HCL_REPORT_OFFSET + SNP_REPORT_SIZE;
  if (bytes.length < end) {
    throw new EvidenceError(
      "snp.report.hcl",
      `expected an HCL report of at least ${end} bytes (SNP report at 0x20), got ${bytes.length}`,
    );
  }
  return bytes.slice(HCL_REPORT_OFFSET, end);
}

/**
 * Every named field of the report with its offset and size, in spec order
 * (reserved ranges excluded). For tools that show or corrupt one field.
 */
export const SNP_REPORT_FIELDS = {
  VERSION: { offset: VERSION, size: VERSION_SIZE },
  GUEST_SVN: { offset: GUEST_SVN, size: GUEST_SVN_SIZE },
  POLICY: { offset: POLICY, size: POLICY_SIZE },
  FAMILY_ID: { offset: FAMILY_ID, size: FAMILY_ID_SIZE },
  IMAGE_ID: { offset: IMAGE_ID, size: IMAGE_ID_SIZE },
  VMPL: { offset: VMPL, size: VMPL_SIZE },
  SIGNATURE_ALGO: { offset: SIGNATURE_ALGO, size: SIGNATURE_ALGO_SIZE },
  CURRENT_TCB: { offset: CURRENT_TCB, size: TCB_SIZE },
  PLATFORM_INFO: { offset: PLATFORM_INFO, size: PLATFORM_INFO_SIZE },
  KEY_INFO: { offset: KEY_INFO, size: KEY_INFO_SIZE },
  REPORT_DATA: { offset: REPORT_DATA, size: REPORT_DATA_SIZE },
  MEASUREMENT: { offset: MEASUREMENT, size: MEASUREMENT_SIZE },
  HOST_DATA: { offset: HOST_DATA, size: HOST_DATA_SIZE },
  ID_KEY_DIGEST: { offset: ID_KEY_DIGEST, size: ID_KEY_DIGEST_SIZE },
  AUTHOR_KEY_DIGEST: { offset: AUTHOR_KEY_DIGEST, size: AUTHOR_KEY_DIGEST_SIZE },
  REPORT_ID: { offset: REPORT_ID, size: REPORT_ID_SIZE },
  REPORT_ID_MA: { offset: REPORT_ID_MA, size: REPORT_ID_MA_SIZE },
  REPORTED_TCB: { offset: REPORTED_TCB, size: TCB_SIZE },
  CPUID_FAM_ID: { offset: CPUID_FAM_ID, size: 1 },
  CPUID_MOD_ID: { offset: CPUID_MOD_ID, size: 1 },
  CPUID_STEP: { offset: CPUID_STEP, size: 1 },
  CHIP_ID: { offset: CHIP_ID, size: CHIP_ID_SIZE },
  COMMITTED_TCB: { offset: COMMITTED_TCB, size: TCB_SIZE },
  CURRENT_BUILD: { offset: CURRENT_BUILD, size: 1 },
  CURRENT_MINOR: { offset: CURRENT_MINOR, size: 1 },
  CURRENT_MAJOR: { offset: CURRENT_MAJOR, size: 1 },
  COMMITTED_BUILD: { offset: COMMITTED_BUILD, size: 1 },
  COMMITTED_MINOR: { offset: COMMITTED_MINOR, size: 1 },
  COMMITTED_MAJOR: { offset: COMMITTED_MAJOR, size: 1 },
  LAUNCH_TCB: { offset: LAUNCH_TCB, size: TCB_SIZE },
  LAUNCH_MIT_VECTOR: { offset: LAUNCH_MIT_VECTOR, size: MIT_VECTOR_SIZE },
  CURRENT_MIT_VECTOR: { offset: CURRENT_MIT_VECTOR, size: MIT_VECTOR_SIZE },
  SIGNATURE_R: { offset: SIGNATURE_R, size: SIGNATURE_COMPONENT_SIZE },
  SIGNATURE_S: { offset: SIGNATURE_S, size: SIGNATURE_COMPONENT_SIZE },
} as const satisfies Record<string, { offset: number; size: number }>;
