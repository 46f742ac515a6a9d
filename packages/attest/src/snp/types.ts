/**
 * The decoded SEV-SNP attestation report, as `abi.ts` produces it and
 * `validate.ts` and `verify.ts` consume it. Field names follow the AMD SEV-SNP
 * ABI specification (publication 56860), table "ATTESTATION_REPORT Structure";
 * offsets are in ../shared/vectors/LAYOUTS.md §1.
 */

/** The processor generation, which fixes the TCB_VERSION layout and the AMD root. */
export type SnpProduct = "Milan" | "Genoa" | "Turin";

/** Which key signed the report (KEY_INFO bits 4:2). */
export type SnpSigningKey = "vcek" | "vlek" | "none";

/** TCB_VERSION, decoded for one product. `fmc` exists on Turin only (null elsewhere). */
export interface SnpTcb {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  fmc: number | null;
  /** The 8 bytes as received. */
  raw: Uint8Array;
}

/** GUEST_POLICY bits (offset 0x008). */
export interface SnpPolicy {
  abiMinor: number;
  abiMajor: number;
  smt: boolean;
  migrateMa: boolean;
  debug: boolean;
  singleSocket: boolean;
  cxlAllow: boolean;
  memAes256Xts: boolean;
  raplDis: boolean;
  ciphertextHiding: boolean;
  pageSwapDisable: boolean;
  /** The 64-bit value as received. */
  raw: bigint;
}

/** PLATFORM_INFO bits (offset 0x040). */
export interface SnpPlatformInfo {
  smtEnabled: boolean;
  tsmeEnabled: boolean;
  eccEnabled: boolean;
  raplDisabled: boolean;
  ciphertextHidingEnabled: boolean;
  aliasCheckComplete: boolean;
  tioEnabled: boolean;
  raw: bigint;
}

/** A firmware version (CURRENT_* / COMMITTED_* at 0x1E8 / 0x1EC). */
export interface SnpFirmwareVersion {
  major: number;
  minor: number;
  build: number;
}

export interface SnpReport {
  /** 2, 3 or 5. */
  version: number;
  guestSvn: number;
  policy: SnpPolicy;
  familyId: Uint8Array; // 16
  imageId: Uint8Array; // 16
  vmpl: number;
  /** 1 = ECDSA P-384 with SHA-384; anything else is refused by the parser. */
  signatureAlgo: number;
  currentTcb: SnpTcb;
  platformInfo: SnpPlatformInfo;
  authorKeyEn: boolean;
  maskChipKey: boolean;
  signingKey: SnpSigningKey;
  reportData: Uint8Array; // 64
  measurement: Uint8Array; // 48
  hostData: Uint8Array; // 32
  idKeyDigest: Uint8Array; // 48
  authorKeyDigest: Uint8Array; // 48
  reportId: Uint8Array; // 32
  reportIdMa: Uint8Array; // 32
  reportedTcb: SnpTcb;
  /** v3+: CPUID family/model/stepping; null on v2. */
  cpuid: { family: number; model: number; stepping: number } | null;
  chipId: Uint8Array; // 64
  committedTcb: SnpTcb;
  currentVersion: SnpFirmwareVersion;
  committedVersion: SnpFirmwareVersion;
  launchTcb: SnpTcb;
  /** v5+: mitigation vectors; null before. */
  launchMitVector: bigint | null;
  currentMitVector: bigint | null;
  /**
   * The product the TCB fields were decoded for: from CPUID on v3+, else from
   * the caller's hint (v2 reports do not say). `verify.ts` checks it against
   * the certificate's productName.
   */
  product: SnpProduct;
  /** Bytes 0x000–0x29F exactly as received: what the signature covers. */
  signedRegion: Uint8Array;
  /** ECDSA r and s, big-endian, 48 bytes each: r ‖ s is what WebCrypto verifies (IEEE P1363). */
  signature: { r: Uint8Array; s: Uint8Array };
  /** The whole 1184-byte report as received. */
  raw: Uint8Array;
}
