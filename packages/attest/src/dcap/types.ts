/**
 * Intel DCAP (SGX and TDX quotes): the types shared by the quote side
 * (`abi.ts` parse, `quote_verify.ts` signatures and the PCK chain) and the
 * collateral side (`collateral.ts` TCB Info, QE Identity and CRLs,
 * `tcb.ts` TCB level selection, `pcs.ts` the Intel PCS client). Layouts:
 * ../shared/vectors/LAYOUTS.md §2; Intel's DCAP Quote Library and PCS v4
 * specifications; Phala dcap-qvl as the reference implementation.
 *
 * Byte fields are raw bytes as in the quote; hex strings are lowercase.
 */

/** The 48-byte quote header. */
export interface QuoteHeader {
  /** 3 (SGX), 4 (SGX or TDX), 5 (TDX, body type and size follow the header). */
  version: 3 | 4 | 5;
  /** 2: ECDSA-256-with-P-256 (the only one Donjon accepts). */
  attestationKeyType: number;
  /** 0x00000000 SGX, 0x00000081 TDX. */
  teeType: "sgx" | "tdx";
  qeSvn: number;
  pceSvn: number;
  /** 16 bytes; Intel's QE is 939a7233f79c4ca9940a0db3957f0607. */
  qeVendorId: Uint8Array;
  /** 20 bytes (the first 16 are the platform's QE ID for Intel's QE). */
  userData: Uint8Array;
}

/** SGX REPORT_BODY (384 bytes): the enclave's report in an SGX quote, and the QE's report in every quote. */
export interface SgxReportBody {
  cpuSvn: Uint8Array; // 16
  miscSelect: number; // u32
  isvExtProdId: Uint8Array; // 16
  attributes: Uint8Array; // 16 (flags u64 LE ‖ xfrm u64 LE); DEBUG is bit 1 of flags
  mrEnclave: Uint8Array; // 32
  mrSigner: Uint8Array; // 32
  configId: Uint8Array; // 64
  isvProdId: number; // u16
  isvSvn: number; // u16
  configSvn: number; // u16
  isvFamilyId: Uint8Array; // 16
  reportData: Uint8Array; // 64
}

/** TD quote body: TDX 1.0 (584 bytes) or 1.5 (648 bytes, with TEE_TCB_SVN_2 and MRSERVICETD). */
export interface TdReportBody {
  kind: "td10" | "td15";
  teeTcbSvn: Uint8Array; // 16
  mrSeam: Uint8Array; // 48
  mrSignerSeam: Uint8Array; // 48
  seamAttributes: Uint8Array; // 8
  tdAttributes: Uint8Array; // 8; DEBUG is bit 0
  xfam: Uint8Array; // 8
  mrTd: Uint8Array; // 48
  mrConfigId: Uint8Array; // 48
  mrOwner: Uint8Array; // 48
  mrOwnerConfig: Uint8Array; // 48
  rtmr: [Uint8Array, Uint8Array, Uint8Array, Uint8Array]; // 48 each
  reportData: Uint8Array; // 64
  /** TD 1.5 only. */
  teeTcbSvn2: Uint8Array | null; // 16
  /** TD 1.5 only. */
  mrServiceTd: Uint8Array | null; // 48
}

/** A parsed, structurally valid quote (nothing verified yet). */
export interface DcapQuote {
  header: QuoteHeader;
  /** The exact bytes the attestation key signed: header ‖ body (v5: header ‖ type ‖ size ‖ body). */
  signedBytes: Uint8Array;
  body: { tee: "sgx"; report: SgxReportBody } | { tee: "tdx"; report: TdReportBody };
  /** ECDSA P-256 signature r ‖ s (64 bytes) over `signedBytes` by the attestation key. */
  quoteSignature: Uint8Array;
  /** Raw P-256 public key x ‖ y (64 bytes). */
  attestationKey: Uint8Array;
  /** The QE's report (its REPORT_BODY), with its raw 384 bytes (what the PCK key signed). */
  qeReport: SgxReportBody;
  qeReportRaw: Uint8Array;
  /** r ‖ s (64 bytes) over `qeReportRaw` by the PCK key. */
  qeReportSignature: Uint8Array;
  /** QE authentication data; QE report_data[0..32] = SHA-256(attestationKey ‖ qeAuthData). */
  qeAuthData: Uint8Array;
  /** The PCK certificate chain from certification data type 5 (DER, leaf first: PCK, PCK CA, root). */
  pckChain: Uint8Array[];
  /**
   * Bytes after the end of the signature data, covered by no signature: empty
   * unless the caller parsed with `allowTrailing` (LAYOUTS.md §2.7).
   */
  trailing: Uint8Array;
}

/** The SGX extensions of a PCK certificate (OID 1.2.840.113741.1.13.1), LAYOUTS.md §2.8. */
export interface PckExtensions {
  ppid: Uint8Array; // 16
  /** SGX TCB component SVNs 1–16 (CPUSVN components), in order. */
  tcbComponents: number[];
  pceSvn: number;
  cpuSvn: Uint8Array; // 16
  pceId: string; // 4 hex digits
  fmspc: string; // 12 hex digits
  sgxType: "standard" | "scalable" | "scalable-with-integrity";
  /** Which Intel CA issued the PCK certificate: decides which PCK CRL applies. */
  ca: "processor" | "platform";
}

/** Collateral for one quote, as PCS / PCCS serve it (or as an offline bundle holds it). */
export interface DcapCollateral {
  /** The TCB Info response body as received: `{"tcbInfo":{…},"signature":"<hex>"}` (the signature is over the exact `tcbInfo` JSON text). */
  tcbInfo: string | null;
  /** The TCB signing chain for TCB Info (DER, leaf first), from `TCB-Info-Issuer-Chain` / `SGX-TCB-Info-Issuer-Chain`. */
  tcbInfoIssuerChain: Uint8Array[] | null;
  /** The QE Identity response body as received: `{"enclaveIdentity":{…},"signature":"<hex>"}`. */
  qeIdentity: string | null;
  qeIdentityIssuerChain: Uint8Array[] | null;
  /** The Intel SGX Root CA CRL (DER). */
  rootCaCrl: Uint8Array | null;
  /** The PCK CRL of the CA that issued the PCK certificate (processor or platform; DER). */
  pckCrl: Uint8Array | null;
  pckCrlIssuerChain: Uint8Array[] | null;
}

/** Collateral with every item missing: what a source starts from. */
export const NO_COLLATERAL: Readonly<DcapCollateral> = Object.freeze({
  tcbInfo: null,
  tcbInfoIssuerChain: null,
  qeIdentity: null,
  qeIdentityIssuerChain: null,
  rootCaCrl: null,
  pckCrl: null,
  pckCrlIssuerChain: null,
});

/**
 * Intel's TCB statuses that a policy may accept: every one but `Revoked`. The
 * one list the verifier, the CLI, the Steward and the Keep claims use.
 */
export const ACCEPTABLE_TCB_STATUSES = [
  "UpToDate",
  "SWHardeningNeeded",
  "ConfigurationNeeded",
  "ConfigurationAndSWHardeningNeeded",
  "OutOfDate",
  "OutOfDateConfigurationNeeded",
] as const;

/** Intel's TCB statuses (TCB Info levels and QE Identity levels). */
export const TCB_STATUSES = [...ACCEPTABLE_TCB_STATUSES, "Revoked"] as const;

/** An Intel TCB status. */
export type TcbStatus = (typeof TCB_STATUSES)[number];

/** What the TCB evaluation (`tcb.ts`) found for one quote. */
export interface TcbEvaluation {
  /** The platform TCB level's status, merged with the QE's and (TDX) the TDX module's per Intel's rules. */
  status: TcbStatus;
  /** Advisory IDs of the matching levels (platform, QE, TDX module), sorted, unique. */
  advisoryIds: string[];
  /** The matched platform level's tcbDate (ISO 8601). */
  tcbDate: string;
  /** TD 1.5: the TDX module says relaunch advised (a newer TCB is available without a reboot). */
  relaunchAdvised: boolean;
  /** The parts, for the verdict. */
  platform: { status: TcbStatus; advisoryIds: string[] };
  qe: { status: TcbStatus; advisoryIds: string[]; isvSvn: number };
  tdxModule: { status: TcbStatus; advisoryIds: string[] } | null;
}
