/**
 * Offline collateral: a bundle of AMD certificates and CRLs given as files
 * (`donjon attest verify --collateral FILE`), recognised by content, never by
 * file name — PEM (one or several blocks), DER certificates, DER CRLs, DER
 * PkiPaths (SEQUENCE OF Certificate, as enarx/steward ships `milan.pkipath`).
 * A DER certificate and a DER CRL are told apart by their ASN.1 structure
 * (RFC 5280 §4.1 vs §5.1).
 *
 * {@link createOfflineKds} answers the same {@link SnpCollateralSource}
 * interface as the online KDS client from such a bundle, and names precisely
 * what is missing. Parsing only: signatures are checked by `verify.ts`.
 */

import { CollateralError } from "../error.ts";
import {
  type AmdCertInfo,
  type AmdCertRole,
  amdCertInfo,
  bytesEqual,
  classifyDer,
  DecodeError,
  decodePem,
  hex,
  looksLikePem,
  parseCertificate,
  parseCrl,
  splitPkiPath,
} from "./_amdcerts.ts";
import {
  AMD_KDS_URL,
  type AmdCertChain,
  formatTcb,
  type KdsKeyKind,
  type KdsTcb,
  kdsCertChainUrl,
  kdsCrlUrl,
  kdsHwid,
  kdsVcekUrl,
  type SnpCollateralSource,
} from "./kds.ts";
import type { SnpProduct } from "./types.ts";

export type { AmdCertRole, AmdCertTcb } from "./_amdcerts.ts";

/** One file of a bundle: bytes, or bytes with a name used in error messages. */
export type CollateralFile = Uint8Array | { name: string; data: Uint8Array };

/** A certificate found in a bundle. */
export interface CollateralCertificate {
  /** The DER encoding, as received (or as base64-decoded from PEM). */
  der: Uint8Array;
  /** `ark` self-issued AMD root; `ask`/`asvk` issued by an ARK; `vcek`/`vlek` by CN or AMD extensions. */
  role: AmdCertRole;
  /** From the CN (`ARK-Milan`, `SEV-Genoa`, `SEV-VLEK-Turin`) or the productName extension; null if unknown. */
  product: SnpProduct | null;
  /** The productName extension as written (`Milan-B0`), or null. */
  productName: string | null;
  /** VCEK hwID extension (CHIP_ID), or null. */
  hwid: Uint8Array | null;
  /** The SPL extensions (VCEK/VLEK); every field null for CA certificates. */
  tcb: AmdCertInfo["tcb"];
  subject: string;
  issuer: string;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** The file it came from (its name, or `#index`). */
  source: string;
}

/** A CRL found in a bundle. */
export interface CollateralCrl {
  der: Uint8Array;
  /** From the issuer CN `ARK-<product>`; null if the issuer is not an AMD root. */
  product: SnpProduct | null;
  issuer: string;
  thisUpdate: Date;
  nextUpdate: Date | null;
  source: string;
}

/** Everything recognised in a bundle; an object found twice is listed once. */
export interface Collateral {
  certificates: CollateralCertificate[];
  crls: CollateralCrl[];
}

/** Largest file accepted (a bundle of a few certificates and CRLs is a few KiB). */
const MAX_FILE_BYTES = 4 * 1024 * 1024;

/**
 * Recognise the certificates and CRLs in `files` by content. Throws a
 * {@link CollateralError} `snp.collateral.malformed` naming the file and the
 * problem for anything that is not a certificate, a CRL or a list of them.
 */
export function parseCollateral(files: readonly CollateralFile[]): Collateral {
  const out: Collateral = { certificates: [], crls: [] };
  files.forEach((f, i) => {
    const name = f instanceof Uint8Array ? `#${i}` : f.name;
    const data = f instanceof Uint8Array ? f : f.data;
    try {
      addFile(out, data, name);
    } catch (e) {
      if (e instanceof DecodeError) {
        throw new CollateralError(
          "snp.collateral.malformed",
          `collateral file ${name}: ${e.message}`,
          { cause: e },
        );
      }
      throw e;
    }
  });
  return out;
}

function addFile(out: Collateral, data: Uint8Array, source: string): void {
  if (data.length === 0) throw new DecodeError("the file is empty");
  if (data.length > MAX_FILE_BYTES) {
    throw new DecodeError(`${data.length} bytes, more than the ${MAX_FILE_BYTES} allowed`);
  }
  if (looksLikePem(data)) {
    for (const block of decodePem(data)) {
      if (block.label === "CERTIFICATE")
        addCertificate(out, parseCertificate(block.der), block.der, source);
      else if (block.label === "X509 CRL") addCrl(out, block.der, source);
      else {
        throw new DecodeError(
          `a PEM ${block.label} block: expected CERTIFICATE or X509 CRL blocks only`,
        );
      }
    }
    return;
  }
  if (data[0] !== 0x30) {
    throw new DecodeError(
      `neither PEM nor DER (starts with 0x${hex(data.subarray(0, 4))}): expected certificates or CRLs`,
    );
  }
  const kind = classifyDer(data);
  if (kind === "certificate") addCertificate(out, parseCertificate(data), data, source);
  else if (kind === "crl") addCrl(out, data, source);
  else if (kind === "pkipath") {
    for (const der of splitPkiPath(data)) addCertificate(out, parseCertificate(der), der, source);
  } else {
    throw new DecodeError(
      "a PKCS#10 certificate request, not a certificate or CRL: extract the certificates and CRLs it carries",
    );
  }
}

function addCertificate(
  out: Collateral,
  cert: ReturnType<typeof parseCertificate>,
  der: Uint8Array,
  source: string,
): void {
  if (out.certificates.some((c) => bytesEqual(c.der, der))) return;
  const info = amdCertInfo(cert);
  out.certificates.push({
    der,
    role: info.role,
    product: info.product,
    productName: info.productName,
    hwid: info.hwid,
    tcb: info.tcb,
    subject: cert.subject,
    issuer: cert.issuer,
    serialNumber: cert.serialNumber,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    source,
  });
}

function addCrl(out: Collateral, der: Uint8Array, source: string): void {
  const crl = parseCrl(der);
  if (out.crls.some((c) => bytesEqual(c.der, der))) return;
  const m = /^ARK-(\w+)$/.exec(crl.issuerName.getField("CN")[0] ?? "");
  const product = (["Milan", "Genoa", "Turin"] as const).find((p) => p === m?.[1]) ?? null;
  out.crls.push({
    der,
    product,
    issuer: crl.issuer,
    thisUpdate: crl.thisUpdate,
    nextUpdate: crl.nextUpdate ?? null,
    source,
  });
}

/** Options of {@link createOfflineKds}. */
export interface OfflineKdsOptions {
  /** The KDS named in "fetch it from <URL>" messages. Default {@link AMD_KDS_URL}. */
  baseUrl?: string;
}

/**
 * An {@link SnpCollateralSource} that answers from a bundle and never goes to
 * the network. Asked for something the bundle lacks, it throws
 * `snp.collateral.missing` naming the certificate, the KDS URL it comes from
 * and the `--collateral` flag.
 *
 * A CRL names only its issuer, so VCEK and VLEK CRLs of a product (both issued
 * by the ARK) are not told apart: `crl()` returns the newest CRL by that ARK.
 */
export function createOfflineKds(
  bundle: Collateral,
  options: OfflineKdsOptions = {},
): SnpCollateralSource {
  const base = options.baseUrl ?? AMD_KDS_URL;
  const missing = (what: string, url: string) =>
    new CollateralError(
      "snp.collateral.missing",
      `no ${what} in the collateral; fetch it from ${url} or pass --collateral FILE`,
      { url },
    );
  return {
    async vcek(product, chipId, tcb: KdsTcb) {
      const url = kdsVcekUrl(product, chipId, tcb, base);
      const hwid = kdsHwid(product, chipId);
      const found = bundle.certificates.find(
        (c) =>
          c.role === "vcek" &&
          c.product === product &&
          c.hwid !== null &&
          hex(c.hwid) === hwid &&
          c.tcb.bootloader === tcb.bootloader &&
          c.tcb.tee === tcb.tee &&
          c.tcb.snp === tcb.snp &&
          c.tcb.microcode === tcb.microcode &&
          (product !== "Turin" || c.tcb.fmc === tcb.fmc),
      );
      if (!found) throw missing(`VCEK for ${product} chip 0x${hwid} at TCB ${formatTcb(tcb)}`, url);
      return found.der;
    },

    async certChain(product, kind: KdsKeyKind): Promise<AmdCertChain> {
      const url = kdsCertChainUrl(product, kind, base);
      const ark = bundle.certificates.find((c) => c.role === "ark" && c.product === product);
      const role = kind === "vcek" ? "ask" : "asvk";
      const ask = bundle.certificates.find(
        (c) => c.role === role && c.product === product && (!ark || c.issuer === ark.subject),
      );
      if (!ark) throw missing(`ARK-${product} (AMD root for ${product})`, url);
      if (!ask) {
        throw missing(
          `${role.toUpperCase()} for ${product} (${kind === "vcek" ? "SEV" : "SEV-VLEK"}-${product}, signs the ${kind.toUpperCase()})`,
          url,
        );
      }
      return { ark: ark.der, ask: ask.der };
    },

    async crl(product, kind) {
      const url = kdsCrlUrl(product, kind, base);
      let best: CollateralCrl | undefined;
      for (const c of bundle.crls) {
        if (c.product === product && (!best || c.thisUpdate > best.thisUpdate)) best = c;
      }
      if (!best)
        throw missing(`${kind.toUpperCase()} CRL for ${product} (issued by ARK-${product})`, url);
      return best.der;
    },
  };
}
