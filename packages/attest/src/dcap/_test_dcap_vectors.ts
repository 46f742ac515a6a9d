/**
 * Test-only: the real DCAP vectors of ../shared/vectors (sgx/, tdx/) with the
 * collateral files index.json lists for each, the verify-at time and the
 * expected TCB status. Used by the collateral, TCB and PCS tests.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parseDcapQuote, parsePckExtensions } from "./abi.ts";
import type { DcapQuote } from "./types.ts";

export const VECTORS = path.join(import.meta.dirname, "../../../../../shared/vectors");

export const INTEL_ROOT_DER = fs.readFileSync(
  path.join(VECTORS, "roots/intel/Intel_SGX_Root_CA.der"),
);

export interface DcapVector {
  id: string;
  quote: string;
  files: string[];
  at: Date;
  /** The expected final status, or "not_supported". */
  status: string;
  advisoryIds: string[];
  /** Whether the collateral has both CRLs. */
  crls: boolean;
}

const v = (
  id: string,
  quote: string,
  files: string[],
  at: string,
  status: string,
  advisoryIds: string[] = [],
  crls = true,
): DcapVector => ({ id, quote, files, at: new Date(at), status, advisoryIds, crls });

/** From index.json (`expect_status`, `observed_tcb`), one entry per collateral layout. */
export const DCAP_VECTORS: DcapVector[] = [
  v(
    "sgx/phala-v3-00a067110000",
    "sgx_quote",
    ["sgx_quote_collateral.json"],
    "2025-07-01T00:00:00Z",
    "ConfigurationAndSWHardeningNeeded",
    ["INTEL-SA-00289", "INTEL-SA-00615"],
  ),
  v(
    "sgx/phala-v3-00a067110000",
    "sgx_quote",
    [
      "derived/tcb_info.json",
      "derived/qe_identity.json",
      "derived/tcb_info_issuer_chain.pem",
      "derived/pck_crl.der",
      "derived/root_ca_crl.der",
      "derived/pck_crl_issuer_chain.pem",
    ],
    "2025-07-01T00:00:00Z",
    "ConfigurationAndSWHardeningNeeded",
    ["INTEL-SA-00289", "INTEL-SA-00615"],
  ),
  v(
    "sgx/oasis-v3-00606a000000",
    "quote_v3_ecdsa_p256_pck_chain.bin",
    [
      "tcb_info_v3_fmspc_00606A000000.json",
      "qe_identity_v2.json",
      "tcb_info_v3_fmspc_00606A000000_certs.pem",
    ],
    "2022-12-20T00:50:04Z",
    "SWHardeningNeeded",
    ["INTEL-SA-00615", "INTEL-SA-00657"],
    false,
  ),
  v(
    "sgx/dcaprs-v3-00606a000000",
    "derived/quote.bin",
    [
      "tcbinfov2.json",
      "qeidentityv2.json",
      "tcb_signing_cert.pem",
      "pck_platform_crl.der",
      "intel_root_ca_crl.der",
    ],
    "2025-02-13T04:00:32Z",
    "OutOfDate",
  ),
  v(
    "sgx/automata-v3-00606a000000",
    "derived/quote.bin",
    [
      "sgx_tcbinfov3_00606a000000.json",
      "sgx_qeidentity_v4.json",
      "derived/tcb_signing_chain.pem",
      "platform_crl.der",
      "derived/root_ca_crl.der",
    ],
    "2025-08-15T05:45:00Z",
    "SWHardeningNeeded",
    ["INTEL-SA-00615"],
  ),
  v(
    "tdx/phala-v4-b0c06f000000",
    "tdx_quote",
    ["tdx_quote_collateral.json"],
    "2025-07-01T00:00:00Z",
    "UpToDate",
  ),
  v(
    "tdx/phala-v5-90c06f000000-tcb-not-supported",
    "tdx_quote_outdated",
    ["tdx_quote_outdated_collateral.json"],
    "2026-03-01T00:00:00Z",
    "not_supported",
  ),
  v(
    "tdx/gtg-v4-50806f000000-spr-e4",
    "tdx_prod_quote_SPR_E4.dat",
    [
      "sample_tcbInfo_response",
      "sample_qeIdentity_response",
      "derived/tcb_info_issuer_chain.pem",
      "pckcrl",
      "rootcrl.der",
      "derived/pck_crl_issuer_chain.pem",
    ],
    "2023-07-01T01:00:00Z",
    "not_supported",
  ),
  v(
    "tdx/oasis-v4-c0806f000000",
    "quote_v4_tdx_ecdsa_p256.bin",
    [
      "tcb_info_v3_tdx_fmspc_C0806F000000.json",
      "qe_identity_v2_tdx2.json",
      "tcb_info_v3_fmspc_00606A000000_certs.pem",
    ],
    "2024-09-02T07:43:52Z",
    "UpToDate",
    [],
    false,
  ),
  v(
    "tdx/dcaprs-v4-00806f050000",
    "quote_tdx_00806f050000.dat",
    [
      "tcbinfov3_00806f050000.json",
      "qeidentityv2_apiv4.json",
      "tcb_signing_cert.pem",
      "pck_platform_crl.der",
      "intel_root_ca_crl.der",
    ],
    "2025-02-13T04:00:32Z",
    "OutOfDate",
    ["INTEL-SA-00960", "INTEL-SA-00982", "INTEL-SA-00986"],
  ),
  v(
    "tdx/automata-v5-90c06f000000-alibaba",
    "alibaba_quote_5.dat",
    [
      "tcbinfov3_90C06F000000.json",
      "qe_td.json",
      "derived/tcb_signing_chain.pem",
      "derived/platform_crl.der",
      "derived/root_ca_crl.der",
    ],
    "2025-06-15T00:00:00Z",
    "UpToDate",
  ),
];

/** A vector's file, as bytes with its name. */
export function vectorFile(vec: DcapVector, rel: string): { name: string; data: Uint8Array } {
  return {
    name: `${vec.id}/${rel}`,
    data: new Uint8Array(fs.readFileSync(path.join(VECTORS, vec.id, rel))),
  };
}

/** The vector's quote, parsed (trailing padding accepted), and its PCK chain's SGX extensions. */
export function vectorQuote(vec: DcapVector): {
  quote: DcapQuote;
  pck: ReturnType<typeof parsePckExtensions>;
} {
  const quote = parseDcapQuote(vectorFile(vec, vec.quote).data, { allowTrailing: true });
  return { quote, pck: parsePckExtensions(quote.pckChain[0]!) };
}
