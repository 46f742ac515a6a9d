/**
 * The pinned AMD SEV-SNP trust anchors: one ARK with its ASK (VCEK signer) and
 * ASVK (VLEK signer) per product. Trust is data: these are the defaults of
 * `createSnpVerifier`, and callers may pass their own sets instead
 * (`SnpVerifierOptions.roots`). Provenance and fingerprints: SOURCES.md.
 */
import type { SnpProduct } from "../types.ts";
import { ARK_GENOA, ASK_GENOA, ASVK_GENOA } from "./genoa.ts";
import { ARK_MILAN, ASK_MILAN, ASVK_MILAN } from "./milan.ts";
import { ARK_TURIN, ASK_TURIN, ASVK_TURIN } from "./turin.ts";

/** Certificate bytes: DER, or PEM text (one certificate). */
export type CertificateBytes = Uint8Array | string;

/** The trust material of one product. */
export interface SnpRootSet {
  /** The product this ARK certifies; a chain ending here makes the evidence this product's. */
  product: SnpProduct;
  /** The self-signed AMD Root Key. Only a pinned ARK ever anchors a chain. */
  ark: CertificateBytes;
  /** The AMD SEV Key (signs VCEKs). Used when the evidence does not carry one. */
  ask?: CertificateBytes;
  /** The AMD SEV VLEK Key (signs VLEKs). Used when the evidence does not carry one. */
  asvk?: CertificateBytes;
}

/** The AMD roots as shipped in google/go-sev-guest `verify/trust/` (Milan, Genoa, Turin). */
export const AMD_SNP_ROOTS: readonly SnpRootSet[] = Object.freeze([
  Object.freeze({ product: "Milan", ark: ARK_MILAN, ask: ASK_MILAN, asvk: ASVK_MILAN }),
  Object.freeze({ product: "Genoa", ark: ARK_GENOA, ask: ASK_GENOA, asvk: ASVK_GENOA }),
  Object.freeze({ product: "Turin", ark: ARK_TURIN, ask: ASK_TURIN, asvk: ASVK_TURIN }),
] as const satisfies readonly SnpRootSet[]);
