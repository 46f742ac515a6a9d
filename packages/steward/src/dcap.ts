/**
 * Intel DCAP collateral at the Steward: steward.toml `[dcap]` made into one
 * collateral source for `attestDcap`. The files of `collateral_dir` (read once
 * at boot by `server.ts`, recognised by content with attest's
 * `offlineCollateral`) are grouped by what they serve — TCB Info by TEE and
 * FMSPC, QE Identity by TEE, PCK CRLs by issuing CA — so one directory can
 * hold collateral for many platforms. What the files lack is asked of Intel
 * PCS or a PCCS (`pcs_url`, through attest's `createPcsClient` with the
 * Steward's injected fetch and its expiring cache). Nothing is verified here:
 * attest verifies every item against the pinned Intel root.
 *
 * Generic code: files come in as bytes; this module reads no file system.
 */
import {
  CollateralError,
  createPcsClient,
  type DcapCollateral,
  type DcapCollateralSource,
  offlineCollateral,
  type PcsCrl,
  type PcsSignedBody,
} from "@donjon/attest";
import { X509Certificate, X509Crl } from "./_x509.ts";
import { StewardError } from "./error.ts";

/** One collateral file: its name (for messages) and bytes. */
export interface CollateralFileInput {
  name: string;
  data: Uint8Array;
}

/** Options of {@link createStewardDcapSource}. */
export interface StewardDcapSourceOptions {
  /** The files of `collateral_dir`. Default: none. */
  files?: readonly CollateralFileInput[];
  /** `pcs_url`: Intel PCS or a PCCS base URL. Default: none (nothing is fetched). */
  pcsUrl?: string | null;
  /** fetch for `pcsUrl`. Required with it. */
  fetch?: typeof fetch;
  /** The clock (judges the PCS cache's expiry). Required with `pcsUrl`. */
  now?: () => Date;
}

type Tee = "sgx" | "tdx";
type PckCa = "processor" | "platform";

/** What the directory holds, grouped. */
interface Grouped {
  /** `${tee}/${fmspc}` → the TCB Info body. */
  tcbInfo: Map<string, string>;
  /** tee → the QE Identity body. */
  qeIdentity: Map<Tee, string>;
  /** The TCB signing chain (TCB Info and QE Identity issuer). */
  tcbChain: Uint8Array[] | null;
  rootCaCrl: Uint8Array | null;
  pckCrl: Map<PckCa, Uint8Array>;
  /** ca → its PCK CRL issuer chain. */
  pckChain: Map<PckCa, Uint8Array[]>;
}

/**
 * The Steward's DCAP collateral source, or null when `[dcap]` configures none
 * (then SGX and TDX evidence is refused with `config.dcap`). Each question is
 * answered from the directory's files, else from the PCS; an item neither
 * has is a `CollateralError` (`dcap.collateral.missing`, naming the file the
 * directory lacks), which `attestDcap` reports as a failed check (TCB Info,
 * QE Identity) or a CRL warning.
 *
 * @throws {StewardError} `steward.collateral` naming a file that is not DCAP
 *   collateral, or two different items for the same platform.
 */
export function createStewardDcapSource(
  options: StewardDcapSourceOptions,
): DcapCollateralSource | null {
  const files = options.files ?? [];
  const pcsUrl = options.pcsUrl ?? null;
  if (files.length === 0 && pcsUrl === null) return null;
  const g = group(files);
  if (pcsUrl !== null && (!options.fetch || !options.now)) {
    throw new TypeError("createStewardDcapSource: pcsUrl needs fetch and now");
  }
  const pcs =
    pcsUrl === null
      ? null
      : createPcsClient({ fetch: options.fetch!, now: options.now!, baseUrl: pcsUrl });
  const missing = (what: string): never => {
    throw new CollateralError(
      "dcap.collateral.missing",
      `no ${what} in [dcap] collateral_dir${pcs ? "" : " and no [dcap] pcs_url to fetch it from"}`,
    );
  };
  // The chain objects are the same on every answer: attest caches verified collateral per object.
  const chain = g.tcbChain ?? [];
  const signed = new Map<string, PcsSignedBody>();
  const answer = (body: string): PcsSignedBody => {
    let a = signed.get(body);
    if (!a) {
      a = { body, issuerChain: chain };
      signed.set(body, a);
    }
    return a;
  };
  const crls = new Map<Uint8Array, PcsCrl>();
  const crl = (der: Uint8Array, issuerChain: Uint8Array[]): PcsCrl => {
    let a = crls.get(der);
    if (!a) {
      a = { der, issuerChain };
      crls.set(der, a);
    }
    return a;
  };

  return {
    async tcbInfo(tee, fmspc) {
      const body = g.tcbInfo.get(`${tee}/${fmspc.toLowerCase()}`);
      if (body !== undefined) return answer(body);
      return pcs
        ? pcs.tcbInfo(tee, fmspc)
        : missing(`${tee.toUpperCase()} TCB Info for FMSPC ${fmspc.toLowerCase()}`);
    },
    async qeIdentity(tee) {
      const body = g.qeIdentity.get(tee);
      if (body !== undefined) return answer(body);
      return pcs ? pcs.qeIdentity(tee) : missing(`${tee === "tdx" ? "TD_QE" : "QE"} Identity`);
    },
    async pckCrl(ca) {
      const der = g.pckCrl.get(ca);
      if (der !== undefined) return crl(der, g.pckChain.get(ca) ?? []);
      return pcs ? pcs.pckCrl(ca) : missing(`PCK CRL of the ${ca} CA`);
    },
    async rootCaCrl() {
      if (g.rootCaCrl !== null) return crl(g.rootCaCrl, []);
      return pcs ? pcs.rootCaCrl() : missing("Intel SGX Root CA CRL");
    },
  };
}

function group(files: readonly CollateralFileInput[]): Grouped {
  const g: Grouped = {
    tcbInfo: new Map(),
    qeIdentity: new Map(),
    tcbChain: null,
    rootCaCrl: null,
    pckCrl: new Map(),
    pckChain: new Map(),
  };
  for (const f of files) {
    const bad = (why: string, cause?: unknown): never => {
      throw new StewardError(
        "steward.collateral",
        `[dcap] collateral_dir: ${f.name}: ${why}`,
        cause === undefined ? {} : { cause },
      );
    };
    let c: DcapCollateral;
    try {
      // One file at a time: a bundle may fill several slots, never two of a kind.
      c = offlineCollateral([{ name: f.name, data: f.data }]);
    } catch (e) {
      return bad((e as Error).message.replace(/^collateral file [^:]*: /, ""), e);
    }
    const set = <K, V>(m: Map<K, V>, k: K, v: V, what: string, same: (a: V, b: V) => boolean) => {
      const cur = m.get(k);
      if (cur !== undefined && !same(cur, v)) {
        bad(`a second, different ${what} (remove the older file)`);
      }
      m.set(k, v);
    };
    if (c.tcbInfo !== null) {
      const { tee, fmspc } = tcbInfoKey(c.tcbInfo, bad);
      set(g.tcbInfo, `${tee}/${fmspc}`, c.tcbInfo, `TCB Info for ${tee} FMSPC ${fmspc}`, eqText);
    }
    if (c.qeIdentity !== null) {
      const tee = qeIdentityTee(c.qeIdentity, bad);
      set(g.qeIdentity, tee, c.qeIdentity, `${tee} QE Identity`, eqText);
    }
    const chain = c.tcbInfoIssuerChain ?? c.qeIdentityIssuerChain;
    if (chain !== null) {
      if (g.tcbChain !== null && !eqChain(g.tcbChain, chain)) {
        bad("a second, different TCB signing chain (remove the older file)");
      }
      g.tcbChain = chain;
    }
    if (c.rootCaCrl !== null) {
      if (g.rootCaCrl !== null && !eqBytes(g.rootCaCrl, c.rootCaCrl)) {
        bad("a second, different Intel SGX Root CA CRL (remove the older file)");
      }
      g.rootCaCrl = c.rootCaCrl;
    }
    if (c.pckCrl !== null) {
      set(g.pckCrl, crlCa(c.pckCrl, bad), c.pckCrl, "PCK CRL", eqBytes);
    }
    if (c.pckCrlIssuerChain !== null) {
      const ca = chainCa(c.pckCrlIssuerChain, bad);
      set(g.pckChain, ca, c.pckCrlIssuerChain, `PCK ${ca} CA chain`, eqChain);
    }
  }
  return g;
}

/** The TEE and FMSPC a TCB Info body is for (`id` is absent in TCB Info v2, which is SGX). */
function tcbInfoKey(body: string, bad: (why: string) => never): { tee: Tee; fmspc: string } {
  const t = (JSON.parse(body) as { tcbInfo?: { id?: unknown; fmspc?: unknown } }).tcbInfo;
  const fmspc = typeof t?.fmspc === "string" ? t.fmspc.toLowerCase() : "";
  if (!/^[0-9a-f]{12}$/.test(fmspc)) bad("TCB Info without a 12-hex-digit fmspc");
  const id = t?.id;
  if (id !== undefined && id !== "SGX" && id !== "TDX") {
    bad(`TCB Info with id ${JSON.stringify(id)} (expected SGX or TDX)`);
  }
  return { tee: id === "TDX" ? "tdx" : "sgx", fmspc };
}

/** The TEE a QE Identity body is for: QE (SGX) or TD_QE (TDX). */
function qeIdentityTee(body: string, bad: (why: string) => never): Tee {
  const id = (JSON.parse(body) as { enclaveIdentity?: { id?: unknown } }).enclaveIdentity?.id;
  if (id === "QE") return "sgx";
  if (id === "TD_QE") return "tdx";
  return bad(`an enclave identity with id ${JSON.stringify(id)} (expected QE or TD_QE)`);
}

/** Which PCK CA issued a PCK CRL, by its issuer's CN (offlineCollateral accepted only these two). */
function crlCa(der: Uint8Array, bad: (why: string) => never): PckCa {
  const cn = new X509Crl(der as Uint8Array<ArrayBuffer>).issuerName.getField("CN")[0];
  if (cn === "Intel SGX PCK Processor CA") return "processor";
  if (cn === "Intel SGX PCK Platform CA") return "platform";
  return bad(`a PCK CRL issued by ${JSON.stringify(cn)}`);
}

/** Which PCK CA a PCK CRL issuer chain ends in (its leaf). */
function chainCa(chain: readonly Uint8Array[], bad: (why: string) => never): PckCa {
  for (const der of chain) {
    const cn = new X509Certificate(der as Uint8Array<ArrayBuffer>).subjectName.getField("CN")[0];
    if (cn === "Intel SGX PCK Processor CA") return "processor";
    if (cn === "Intel SGX PCK Platform CA") return "platform";
  }
  return bad("a PCK CRL issuer chain without a PCK Processor or Platform CA");
}

function eqBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

function eqChain(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => eqBytes(x, b[i]!));
}

function eqText(a: string, b: string): boolean {
  return a === b;
}
