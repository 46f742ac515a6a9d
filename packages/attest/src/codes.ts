/**
 * The registry of every stable error code of @donjon/attest: one entry per
 * code, with the kind of failure, a one-line summary and a remedy.
 * `docs/errors.md` lists the same codes; `codes.test.ts` keeps the two in step,
 * so adding a code here means adding its row there.
 *
 * Kinds:
 * - `evidence`: the evidence is broken (malformed or unverifiable) — thrown as
 *   `EvidenceError` or reported as a failed check;
 * - `policy`: the evidence is fine but not what the policy wants — reported as
 *   a failed `Check`, or thrown as `PolicyError`;
 * - `usage`: the caller passed invalid options — thrown as `OptionsError`.
 */

/** One registry entry. */
export interface CodeInfo {
  kind: "evidence" | "policy" | "usage";
  /** What the code means, one line. */
  summary: string;
  /** What to do about it, one line. */
  remedy: string;
}

export const CODES = {
  // ── parse (snp/abi.ts) ──────────────────────────────────────────────────
  "snp.report.size": {
    kind: "evidence",
    summary: "The SNP attestation report is not exactly 1184 (0x4A0) bytes.",
    remedy:
      "Pass the raw report only (no trailing bytes, no wrapper); unwrap an Azure HCL report with extractSnpReport.",
  },
  "snp.report.version": {
    kind: "evidence",
    summary: "The report VERSION is not 2, 3 or 5.",
    remedy:
      "Use firmware that produces report version 2, 3 or 5, or extend the parser for the new version.",
  },
  "snp.report.reserved": {
    kind: "evidence",
    summary:
      "A reserved (must-be-zero) byte range of the report, or of a TCB_VERSION in it, is not zero.",
    remedy: "The report is corrupt or of an unknown layout; obtain a fresh report from the guest.",
  },
  "snp.report.policy": {
    kind: "evidence",
    summary: "GUEST_POLICY has bit 17 clear (it must be 1) or a reserved bit (26–63) set.",
    remedy:
      "The report is corrupt or from an unknown firmware; obtain a fresh report from the guest.",
  },
  "snp.report.signature_algo": {
    kind: "evidence",
    summary: "SIGNATURE_ALGO is not 1 (ECDSA P-384 with SHA-384).",
    remedy: "The report is corrupt or uses an unsupported signature algorithm.",
  },
  "snp.report.key_info": {
    kind: "evidence",
    summary: "KEY_INFO has a reserved bit (5–31) set or a reserved SIGNING_KEY value (2–6).",
    remedy:
      "The report is corrupt or from an unknown firmware; obtain a fresh report from the guest.",
  },
  "snp.report.signature_padding": {
    kind: "evidence",
    summary:
      "The 72-byte SIGNATURE R or S field has a non-zero byte above the 48 bytes P-384 uses.",
    remedy: "The report signature is corrupt; obtain a fresh report from the guest.",
  },
  "snp.report.cpuid": {
    kind: "evidence",
    summary:
      "The report's CPUID family/model is not a known SEV-SNP product (Milan, Genoa, Turin).",
    remedy:
      "Check the report comes from a supported AMD EPYC processor, or extend the product table.",
  },
  "snp.report.product_required": {
    kind: "evidence",
    summary:
      "A version 2 report does not name its processor; the caller must say which product it is.",
    remedy:
      "Pass options.product (Milan or Genoa), e.g. from the VCEK certificate's productName, or use firmware that emits report version 3 or later.",
  },
  "snp.report.product_mismatch": {
    kind: "evidence",
    summary:
      "The product passed by the caller disagrees with the product the report's CPUID names.",
    remedy:
      "Drop options.product for v3+ reports, or check the report came from the expected machine.",
  },
  "snp.report.hcl": {
    kind: "evidence",
    summary: "An Azure HCL report (magic HCLA) is too short to hold an SNP report at offset 0x20.",
    remedy: "Pass the complete HCL report as read from the vTPM NV index.",
  },
  "snp.certtable.malformed": {
    kind: "evidence",
    summary:
      "The SEV-SNP certificate table (configfs-tsm auxblob, GHCB MSG_REPORT_REQ) is malformed: no terminator, an entry outside the table, overlapping or empty, a repeated GUID, stray or trailing bytes.",
    remedy:
      "The hypervisor supplied a corrupt table; fetch the VCEK and chain from the AMD KDS instead, or have the host install a valid table (snphost import).",
  },
  // ── collateral (snp/kds.ts, snp/collateral.ts) ────────────────────────
  "snp.kds.network": {
    kind: "evidence",
    summary: "The AMD KDS (or the configured mirror) could not be reached, after every retry.",
    remedy:
      "Check network access to kdsintf.amd.com (proxy, firewall), or verify offline with --collateral FILE.",
  },
  "snp.kds.http": {
    kind: "evidence",
    summary: "The AMD KDS answered an unexpected HTTP status (5xx, or 503 after every retry).",
    remedy:
      "Try again later, or verify offline with the certificates and CRLs passed as --collateral FILE.",
  },
  "snp.kds.not_found": {
    kind: "evidence",
    summary:
      "The AMD KDS has no such certificate or CRL (HTTP 404): wrong product, chip id or TCB.",
    remedy:
      "Check the product and that CHIP_ID and REPORTED_TCB come from the report; a masked chip id or a VLEK needs --collateral FILE.",
  },
  "snp.kds.rate_limited": {
    kind: "evidence",
    summary:
      "The AMD KDS kept answering HTTP 429 (rate limited) after every retry, or asked for a longer wait than allowed.",
    remedy:
      "Wait and try again, use a cache shared between runs, or pass the collateral with --collateral FILE.",
  },
  "snp.kds.bad_response": {
    kind: "evidence",
    summary:
      "The AMD KDS answer is not the certificate, chain or CRL asked for (malformed, oversized, or for another chip, TCB or product).",
    remedy:
      "Check the KDS base URL (a proxy or mirror may be answering), or pass the collateral with --collateral FILE.",
  },
  "snp.collateral.malformed": {
    kind: "evidence",
    summary:
      "A collateral file is not a certificate, a CRL or a list of them (PEM, DER, PkiPath), or is malformed.",
    remedy:
      "Pass AMD certificates and CRLs in PEM or DER, as the KDS serves them; the message names the file and the problem.",
  },
  "snp.collateral.missing": {
    kind: "evidence",
    summary: "The collateral bundle lacks a certificate or CRL verification needs (offline mode).",
    remedy: "Fetch the item from the KDS URL the message gives and pass it with --collateral FILE.",
  },
  // ── validate (snp/validate.ts) ──────────────────────────────────────────
  "snp.validate.signing_key": {
    kind: "policy",
    summary: "The report was signed by a kind of key the policy does not allow (or is unsigned).",
    remedy:
      "Allow the key kind (allowedSigningKeys) or run the guest where the expected key signs reports.",
  },
  "snp.validate.debug": {
    kind: "policy",
    summary:
      "The guest policy allows debugging (the host can read guest memory), and the policy forbids it.",
    remedy:
      "Launch the guest with POLICY.DEBUG = 0, or allow debugging (allowDebug; `debug = true` in a donjon policy file) for test environments only.",
  },
  "snp.validate.migrate_ma": {
    kind: "policy",
    summary: "The guest policy allows a migration agent, and the policy forbids it.",
    remedy: "Launch the guest with POLICY.MIGRATE_MA = 0, or set allowMigrationAgent.",
  },
  "snp.validate.smt": {
    kind: "policy",
    summary: "SMT (hyper-threading) is enabled on the platform, and the policy forbids it.",
    remedy: "Disable SMT in the host firmware, or set allowSmt.",
  },
  "snp.validate.vmpl": {
    kind: "policy",
    summary: "The report was requested from a VMPL the policy does not accept.",
    remedy: "Request the report from the expected VMPL, or change vmpl / maxVmpl.",
  },
  "snp.validate.tcb": {
    kind: "policy",
    summary:
      "A REPORTED_TCB component (bootloader, TEE, SNP, microcode, FMC) is below the policy minimum.",
    remedy: "Update the host firmware and microcode (then the committed TCB), or lower minimumTcb.",
  },
  "snp.validate.guest_svn": {
    kind: "policy",
    summary: "GUEST_SVN is below the policy minimum.",
    remedy: "Launch a newer guest image (higher ID block SVN), or lower minimumGuestSvn.",
  },
  "snp.validate.report_data": {
    kind: "policy",
    summary:
      "REPORT_DATA is not the expected 64 bytes (the binding to the key or nonce does not hold).",
    remedy:
      "Check the guest put the expected binding (e.g. the hash of its key and nonce) into REPORT_DATA.",
  },
  "snp.validate.measurement": {
    kind: "policy",
    summary: "MEASUREMENT is not in the allow-list.",
    remedy: "Launch the expected guest image, or add its launch measurement to the allow-list.",
  },
  "snp.validate.host_data": {
    kind: "policy",
    summary: "HOST_DATA is not in the allow-list.",
    remedy: "Launch the guest with the expected HOST_DATA, or add the value to the allow-list.",
  },
  "snp.validate.id_key_digest": {
    kind: "policy",
    summary: "ID_KEY_DIGEST is not in the allow-list.",
    remedy:
      "Launch the guest with an ID block signed by an allowed ID key, or add the key's digest.",
  },
  "snp.validate.author_key_digest": {
    kind: "policy",
    summary: "AUTHOR_KEY_DIGEST is not in the allow-list.",
    remedy:
      "Launch the guest with an ID block whose author key is allowed, or add the key's digest.",
  },
  "snp.validate.family_id": {
    kind: "policy",
    summary: "FAMILY_ID is not in the allow-list.",
    remedy: "Launch the guest with the expected ID block, or add the family ID to the allow-list.",
  },
  "snp.validate.image_id": {
    kind: "policy",
    summary: "IMAGE_ID is not in the allow-list.",
    remedy: "Launch the guest with the expected ID block, or add the image ID to the allow-list.",
  },
  "snp.validate.firmware": {
    kind: "policy",
    summary: "The SNP firmware version (CURRENT_MAJOR.MINOR.BUILD) is below the policy minimum.",
    remedy: "Update the host's SEV firmware, or lower minimumFirmware.",
  },
  "snp.validate.policy_abi": {
    kind: "policy",
    summary:
      "The minimum ABI the guest policy demands (POLICY.ABI_MAJOR.ABI_MINOR) is below the policy minimum.",
    remedy: "Launch the guest with a policy that requires a newer ABI, or lower minimumPolicyAbi.",
  },
  "snp.validate.platform_info": {
    kind: "policy",
    summary: "A PLATFORM_INFO flag the policy requires is clear, or one it forbids is set.",
    remedy: "Configure the host (e.g. enable TSME or ECC, disable SMT), or change platformInfo.",
  },
  // ── verify (snp/verify.ts) ──────────────────────────────────────────────
  "snp.verify.certificate": {
    kind: "evidence",
    summary:
      "The VCEK/VLEK certificate given to verify the report is not a parsable X.509 certificate.",
    remedy:
      "Pass the VCEK (or VLEK) as DER or PEM, as served by the AMD KDS or found in the guest's certificate table.",
  },
  "snp.verify.signing_key": {
    kind: "evidence",
    summary:
      "KEY_INFO.SIGNING_KEY in the report names a different kind of key (VCEK, VLEK, none) than the certificate given.",
    remedy:
      "Pass the certificate of the key that signed the report: a VCEK for SIGNING_KEY 0, a VLEK for 1.",
  },
  "snp.verify.report_signature": {
    kind: "evidence",
    summary:
      "The report's ECDSA P-384/SHA-384 signature over bytes 0x000-0x29F does not verify with the VCEK/VLEK public key.",
    remedy:
      "The report was altered or the certificate is for another chip or TCB; fetch the VCEK for this CHIP_ID and REPORTED_TCB, or obtain a fresh report.",
  },
  "snp.verify.chain": {
    kind: "evidence",
    summary:
      "The VCEK/VLEK is not signed by any candidate ASK/ASVK (pinned or from the evidence) named as its issuer.",
    remedy:
      "Fetch the certificate chain for the right product from the AMD KDS (vcek/v1/<product>/cert_chain or vlek/v1/<product>/cert_chain).",
  },
  "snp.verify.untrusted_root": {
    kind: "evidence",
    summary: "The ASK/ASVK is not signed by any pinned AMD ARK.",
    remedy:
      "Use the AMD chain of the report's product; roots shipped with evidence are never trusted, pass your own via the roots option if needed.",
  },
  "snp.verify.ark": {
    kind: "evidence",
    summary: "A pinned ARK is not self-signed.",
    remedy:
      "The configured trust material is corrupt; restore the AMD roots (see packages/attest/src/snp/roots/SOURCES.md).",
  },
  "snp.verify.product": {
    kind: "evidence",
    summary:
      "The report's product, the certificate's productName and the product of the pinned root reached are not all the same.",
    remedy:
      "Verify the report with the VCEK and chain of its own processor generation (Milan, Genoa, Turin); for v2 reports pass the right product to the parser.",
  },
  "snp.verify.tcb": {
    kind: "evidence",
    summary:
      "A VCEK/VLEK SPL extension (blSPL, teeSPL, snpSPL, ucodeSPL, fmcSPL) differs from the report's REPORTED_TCB.",
    remedy:
      "Fetch the VCEK issued for this report's REPORTED_TCB from the AMD KDS (the blSPL/teeSPL/snpSPL/ucodeSPL/fmcSPL query parameters).",
  },
  "snp.verify.csp_id": {
    kind: "policy",
    summary: "The VLEK was issued to a cloud provider (cspID) that the verifier does not accept.",
    remedy:
      "Run the workload with a provider you accept, or add this cspID to the allowed providers if you trust it.",
  },
  "snp.verify.hwid": {
    kind: "evidence",
    summary: "The VCEK hwID extension differs from the report's CHIP_ID (CHIP_ID[0:8] on Turin).",
    remedy:
      "Fetch the VCEK for this report's CHIP_ID from the AMD KDS; if MASK_CHIP_ID is set, use a VLEK or unmask the chip ID.",
  },
  "snp.verify.expired": {
    kind: "evidence",
    summary:
      "A certificate of the chain (VCEK/VLEK, ASK/ASVK, ARK) expired before the verification time.",
    remedy:
      "Fetch a current certificate from the AMD KDS (VLEKs are short-lived), or verify as of a time inside its validity.",
  },
  "snp.verify.not_yet_valid": {
    kind: "evidence",
    summary: "A certificate of the chain is not yet valid at the verification time.",
    remedy:
      "Check the verification time (clock); a certificate issued in the future is not accepted.",
  },
  "snp.verify.crl_unavailable": {
    kind: "evidence",
    summary:
      "No AMD CRL was given, so revocation of the ASK/ASVK was not checked (a warning unless a CRL is required).",
    remedy:
      "Fetch the CRL from the AMD KDS (vcek/v1/<product>/crl) and pass it, or accept the warning when revocation is not required.",
  },
  "snp.verify.crl_malformed": {
    kind: "evidence",
    summary: "A CRL given to the verifier is not a parsable X.509 CRL.",
    remedy: "Pass the CRL as DER or PEM, as served by the AMD KDS.",
  },
  "snp.verify.crl_issuer": {
    kind: "evidence",
    summary: "None of the CRLs given is issued by the ARK of the chain.",
    remedy: "Pass the CRL of the report's product (vcek/v1/<product>/crl).",
  },
  "snp.verify.crl_signature": {
    kind: "evidence",
    summary: "The CRL's RSASSA-PSS signature does not verify with the pinned ARK.",
    remedy: "The CRL is corrupt or forged; fetch it again from the AMD KDS.",
  },
  "snp.verify.crl_stale": {
    kind: "evidence",
    summary: "The CRL's nextUpdate is before the verification time (or absent).",
    remedy: "Fetch a current CRL from the AMD KDS.",
  },
  "snp.verify.crl_not_yet_valid": {
    kind: "evidence",
    summary: "The CRL's thisUpdate is after the verification time.",
    remedy: "Check the verification time (clock), or use the CRL that was current at that time.",
  },
  "snp.verify.revoked": {
    kind: "evidence",
    summary: "The ASK/ASVK or the VCEK/VLEK serial is listed in the AMD CRL.",
    remedy:
      "The key is revoked by AMD: do not trust this evidence; update the platform firmware and fetch a new certificate.",
  },
  // ── DCAP quote: parse (dcap/abi.ts) and signatures + PCK chain (dcap/quote_verify.ts) ──
  "dcap.quote.size": {
    kind: "evidence",
    summary:
      "The DCAP quote is too short to hold its header, its body (v5: and the body descriptor) and the signature data length.",
    remedy:
      "Pass the whole quote as the QE or the TDX guest returned it (configfs-tsm outblob, Gramine /dev/attestation/quote).",
  },
  "dcap.quote.version": {
    kind: "evidence",
    summary: "The quote VERSION is not 3 (SGX), 4 or 5 (SGX or TDX).",
    remedy:
      "Use a DCAP quoting library that produces quote version 3, 4 or 5, or extend the parser for the new version.",
  },
  "dcap.quote.key_type": {
    kind: "evidence",
    summary:
      "The attestation key type is not 2 (ECDSA-256 with P-256); type 3 (P-384) is defined by Intel but not supported.",
    remedy: "Configure the quoting enclave for ECDSA P-256 attestation keys (Intel's default).",
  },
  "dcap.quote.tee_type": {
    kind: "evidence",
    summary:
      "The TEE type is neither 0x00 (SGX) nor 0x81 (TDX), or a version 3 quote (SGX only) has non-zero bytes 4-7.",
    remedy: "The quote is corrupt or from an unknown TEE; obtain a fresh quote.",
  },
  "dcap.quote.body_type": {
    kind: "evidence",
    summary:
      "A version 5 quote's body type is unknown (1 SGX, 2 TD 1.0, 3 TD 1.5), does not fit its TEE type, or its body size is not the size of that type.",
    remedy: "The quote is corrupt or of an unknown layout; obtain a fresh quote.",
  },
  "dcap.quote.reserved": {
    kind: "evidence",
    summary:
      "A reserved (must-be-zero) range is not zero: header bytes 8-11 of a v4/v5 quote, or a reserved range of an SGX REPORT_BODY (the enclave's or the QE's).",
    remedy: "The quote is corrupt or of an unknown layout; obtain a fresh quote.",
  },
  "dcap.quote.length": {
    kind: "evidence",
    summary:
      "A length field of the quote (signature data, QE authentication data, certification data) runs past its enclosing record, or a record is not filled exactly by its fields.",
    remedy:
      "The quote is truncated or corrupt; pass the whole quote as produced, or obtain a fresh one.",
  },
  "dcap.quote.cert_data_type": {
    kind: "evidence",
    summary:
      "The certification data is not of the type the layout requires: type 6 (QE report certification data) in v4/v5 quotes, type 5 (PCK certificate chain) inside it or in v3 quotes. Types 1-4 (PPID, PCK leaf only) cannot be verified offline.",
    remedy:
      "Configure the platform's quote provider (PCCS/QPL) so the QE embeds the PCK certificate chain (certification data type 5).",
  },
  "dcap.quote.pem": {
    kind: "evidence",
    summary:
      "The PCK certificate chain in the quote (certification data type 5) is not three PEM certificates (PCK, PCK CA, root) of strict base64 and well-formed DER, optionally followed by one NUL.",
    remedy:
      "The quote's certification data is corrupt; obtain a fresh quote, or check the platform's PCK certificate cache (PCCS).",
  },
  "dcap.quote.trailing": {
    kind: "evidence",
    summary: "There are bytes after the end of the quote's signature data.",
    remedy:
      "Pass the quote alone (trim the buffer to the length the quote states), or accept trailing bytes explicitly (allowTrailing): no signature covers them.",
  },
  "dcap.pck.der": {
    kind: "evidence",
    summary:
      "The PCK certificate is not strict DER of the X.509 shape (lengths, tags, an element missing or extra).",
    remedy:
      "The PCK certificate in the quote is corrupt; obtain a fresh quote or the PCK certificate from Intel PCS.",
  },
  "dcap.pck.extension": {
    kind: "evidence",
    summary:
      "The PCK certificate's SGX extension (1.2.840.113741.1.13.1) is missing, repeated, or malformed: a field missing, repeated, unknown, or of the wrong type or size (PPID, TCB, PCE-ID, FMSPC, SGX Type).",
    remedy:
      "The certificate is not an Intel PCK certificate or is corrupt; obtain the PCK certificate from Intel PCS.",
  },
  "dcap.pck.issuer": {
    kind: "evidence",
    summary:
      "The PCK certificate's issuer CN is neither Intel SGX PCK Processor CA nor Intel SGX PCK Platform CA.",
    remedy:
      "The certificate is not an Intel PCK certificate; check the quote's certification data.",
  },
  "dcap.verify.qe_vendor": {
    kind: "evidence",
    summary:
      "The quote's QE vendor ID is not Intel's (939a7233f79c4ca9940a0db3957f0607): the quote was not made by Intel's Quoting Enclave.",
    remedy:
      "Produce quotes with Intel's DCAP Quoting Enclave; quotes of other QEs are not supported.",
  },
  "dcap.verify.quote_signature": {
    kind: "evidence",
    summary:
      "The quote's ECDSA P-256/SHA-256 signature over the header and body does not verify with the attestation key in the quote (or that key is not a P-256 point).",
    remedy: "The quote was altered after signing; obtain a fresh quote.",
  },
  "dcap.verify.qe_report_signature": {
    kind: "evidence",
    summary:
      "The QE report's ECDSA P-256/SHA-256 signature does not verify with the PCK certificate's key.",
    remedy:
      "The QE report or the PCK certificate in the quote was altered or belongs to another platform; obtain a fresh quote.",
  },
  "dcap.verify.qe_report_data": {
    kind: "evidence",
    summary:
      "The QE report's REPORT_DATA is not SHA-256(attestation key ‖ QE authentication data) followed by 32 zero bytes: the attestation key is not bound to the QE.",
    remedy:
      "The quote's attestation key or QE authentication data was altered; obtain a fresh quote.",
  },
  "dcap.verify.certificate": {
    kind: "evidence",
    summary:
      "A certificate of the quote's PCK chain is not a parsable X.509 certificate, or its key is not ECDSA P-256.",
    remedy: "The quote's certification data is corrupt; obtain a fresh quote.",
  },
  "dcap.verify.untrusted_root": {
    kind: "evidence",
    summary:
      "The root certificate the quote's PCK chain ends with is not the pinned Intel SGX Root CA (byte for byte).",
    remedy:
      "Verify against Intel's root (the default); a root that comes with the evidence is never trusted. Pass your own root option only for test hierarchies.",
  },
  "dcap.verify.root": {
    kind: "evidence",
    summary:
      "The pinned root is not a self-signed CA certificate whose signature verifies under its own key.",
    remedy:
      "The configured trust material is corrupt; restore the Intel SGX Root CA (see packages/attest/src/dcap/roots/SOURCES.md).",
  },
  "dcap.verify.chain": {
    kind: "evidence",
    summary:
      "The PCK chain does not link: the PCK CA is not signed by the pinned root, or the PCK certificate not by the PCK CA (signature or issuer name).",
    remedy:
      "The quote's PCK certificate chain was altered or is not Intel's; obtain a fresh quote.",
  },
  "dcap.verify.ca": {
    kind: "evidence",
    summary:
      "A certificate of the PCK chain has the wrong role: the PCK CA is not a CA (basicConstraints cA, keyCertSign when keyUsage is present), or the PCK certificate claims to be a CA (basicConstraints cA).",
    remedy: "The chain is not an Intel PCK chain; obtain a fresh quote.",
  },
  "dcap.verify.expired": {
    kind: "evidence",
    summary:
      "A certificate of the PCK chain (PCK, PCK CA, root) expired before the verification time.",
    remedy:
      "Obtain a current PCK certificate (a fresh quote after the platform's PCCS refreshed it), or verify as of a time inside its validity.",
  },
  "dcap.verify.not_yet_valid": {
    kind: "evidence",
    summary: "A certificate of the PCK chain is not yet valid at the verification time.",
    remedy: "Check the verification clock; a certificate issued in the future is not accepted.",
  },
  // ── sandbox (sandbox/abi.ts, verify.ts, validate.ts) ───────────────────
  "sandbox.evidence.size": {
    kind: "evidence",
    summary: "Sandbox evidence is not exactly 336 (0x150) bytes.",
    remedy:
      "Pass the raw evidence record only (no wrapper, no trailing bytes), as written by the sandbox Keep.",
  },
  "sandbox.evidence.magic": {
    kind: "evidence",
    summary: 'Sandbox evidence does not start with the 16-byte magic "donjon-evidence\\0".',
    remedy: "The bytes are not Donjon sandbox evidence; check the evidence type in its wrapper.",
  },
  "sandbox.evidence.version": {
    kind: "evidence",
    summary: "The sandbox evidence format version is not 1.",
    remedy:
      "Produce the evidence with a Donjon version that writes format 1, or update the verifier.",
  },
  "sandbox.evidence.reserved": {
    kind: "evidence",
    summary: "The reserved bytes 0x014-0x017 of sandbox evidence are not zero.",
    remedy: "The evidence is corrupt or of an unknown layout; obtain fresh evidence from the Keep.",
  },
  "sandbox.evidence.tee": {
    kind: "evidence",
    summary: 'The TEE label of sandbox evidence is not "sandbox" (NUL-padded to 16 bytes).',
    remedy: "The evidence is corrupt or not sandbox evidence; obtain fresh evidence from the Keep.",
  },
  "sandbox.evidence.tier": {
    kind: "evidence",
    summary: 'The tier label of sandbox evidence is not "software" (NUL-padded to 16 bytes).',
    remedy:
      "The evidence is corrupt or forged: sandbox evidence is always software tier; obtain fresh evidence.",
  },
  "sandbox.evidence.issued_at": {
    kind: "evidence",
    summary: "The issued_at time of sandbox evidence is beyond the largest representable date.",
    remedy: "The evidence is corrupt; obtain fresh evidence from the Keep.",
  },
  "sandbox.verify.untrusted_key": {
    kind: "evidence",
    summary:
      "The sandbox evidence was signed by a host key (host_key_id) that is not among the trusted host keys.",
    remedy:
      "Add the host's sandbox-key.pub.pem (from its Donjon state directory) to the trusted host keys, if you trust that host.",
  },
  "sandbox.verify.signature": {
    kind: "evidence",
    summary:
      "The ECDSA P-384/SHA-384 signature over bytes 0x000-0x0EF of sandbox evidence does not verify with the host key.",
    remedy:
      "The evidence was altered or signed by another key; obtain fresh evidence from the Keep.",
  },
  "sandbox.verify.stale": {
    kind: "evidence",
    summary: "The sandbox evidence was issued longer ago than the maximum age allows.",
    remedy:
      "Obtain fresh evidence from the Keep, or verify with a larger maxAge (or as of the time it was issued).",
  },
  "sandbox.verify.future": {
    kind: "evidence",
    summary:
      "The sandbox evidence claims to be issued later than the verification time plus the allowed clock skew.",
    remedy: "Check the clocks of the Keep host and the verifier (NTP), or raise maxClockSkew.",
  },
  "sandbox.policy.software_tier": {
    kind: "policy",
    summary:
      "The evidence is software-tier sandbox evidence (no hardware protection), and the policy does not allow that tier.",
    remedy:
      "Run the Keep on a TEE backend (snp, tdx, sgx), or allow the software tier explicitly (allowSoftwareTier) for development only.",
  },
  "sandbox.policy.report_data": {
    kind: "policy",
    summary:
      "The sandbox evidence's report_data is not the expected binding of the Keep key and workload identity.",
    remedy:
      'Check the Keep put SHA-512("donjon-keep-v1" ‖ 0x00 ‖ SPKI ‖ workload identity) of its own key into report_data.',
  },
  "sandbox.policy.runtime_measurement": {
    kind: "policy",
    summary: "The sandbox evidence's runtime measurement is not in the allow-list.",
    remedy: "Run the expected Donjon Keep runtime, or add its measurement to the allow-list.",
  },
  "sandbox.policy.workload_identity": {
    kind: "policy",
    summary: "The sandbox evidence's workload identity is not in the allow-list.",
    remedy: "Run the expected workload (wasm and config), or add its identity to the allow-list.",
  },
  // ── Keep evidence wrapper (cmw.ts) ────────────────────────────────────
  "cmw.size": {
    kind: "evidence",
    summary: "The Keep evidence wrapper is empty or larger than 256 KiB.",
    remedy:
      "Pass the wrapper file as the Keep wrote it (donjon run --print-evidence FILE); it is never that large.",
  },
  "cmw.utf8": {
    kind: "evidence",
    summary: "The Keep evidence wrapper is not valid UTF-8.",
    remedy:
      "The file is damaged or not a Keep evidence wrapper; write it again with donjon run --print-evidence FILE.",
  },
  "cmw.json": {
    kind: "evidence",
    summary:
      "The Keep evidence wrapper is not JSON, or not a JSON object (RFC 9999 JSON collection) at the top.",
    remedy:
      "The file is damaged or not a Keep evidence wrapper; write it again with donjon run --print-evidence FILE.",
  },
  "cmw.label_duplicate": {
    kind: "evidence",
    summary: "A JSON object of the Keep evidence wrapper has the same member name twice.",
    remedy:
      "Write each label once; a wrapper with duplicated labels is ambiguous and never accepted.",
  },
  "cmw.type": {
    kind: "evidence",
    summary:
      "A collection's __cmwc_t is missing or is not the Donjon collection type expected there (tag:donjon.dev,2026:keep-evidence/v1 and its certs/workload collections).",
    remedy:
      "Produce the wrapper with a Donjon version that writes keep-evidence/v1, or update the verifier.",
  },
  "cmw.label_missing": {
    kind: "evidence",
    summary:
      "A label the Keep evidence wrapper requires (evidence, keep-key, workload, workload's wasm and config) is absent.",
    remedy:
      'Write every required label; see packages/attest/README.md, "The Keep evidence wrapper".',
  },
  "cmw.label_unknown": {
    kind: "evidence",
    summary:
      "The Keep evidence wrapper has a label it does not define (or a certificate label out of sequence).",
    remedy:
      "Remove the label; keep-evidence/v1 has no extension labels (certificate labels are 0, 1, 2… in order).",
  },
  "cmw.record": {
    kind: "evidence",
    summary:
      "A label of the Keep evidence wrapper is not a CMW record or collection of the required shape ([media type, base64url value] or with its indicator).",
    remedy:
      'Write each record as the format says, e.g. ["application/pkix-cert", "<base64url>", 2].',
  },
  "cmw.media_type": {
    kind: "evidence",
    summary: "A record's media type is not one the Keep evidence wrapper allows for its label.",
    remedy:
      'Use the media types listed in packages/attest/README.md, "The Keep evidence wrapper", exactly as written.',
  },
  "cmw.base64url": {
    kind: "evidence",
    summary:
      "A record value is not unpadded, canonical base64url (RFC 4648 section 5): padding, a character outside the alphabet, an impossible length or non-zero trailing bits.",
    remedy: "Encode values with the base64url alphabet and no '=' padding.",
  },
  "cmw.value_size": {
    kind: "evidence",
    summary:
      "A record value is empty or larger than its bound (evidence 64 KiB, a certificate 16 KiB), or there are more than 8 certificates.",
    remedy: "The wrapper is damaged or carries something other than Keep evidence; write it again.",
  },
  "cmw.digest": {
    kind: "evidence",
    summary: "The wasm or config digest of the workload collection is not 32 bytes (SHA-256).",
    remedy: "Write the raw SHA-256 of the .wasm file and of the config file, 32 bytes each.",
  },
  "cmw.keep_key": {
    kind: "evidence",
    summary:
      "The keep-key record is not the DER SubjectPublicKeyInfo of an ECDSA P-384 key (120 bytes).",
    remedy: 'Write the Keep key\'s SPKI as WebCrypto exports it (exportKey("spki")).',
  },
  "binding.report_data": {
    kind: "evidence",
    summary:
      "The evidence's report_data is not SHA-512(\"donjon-keep-v1\" ‖ 0x00 ‖ Keep key SPKI ‖ workload identity) of the wrapper's key and digests.",
    remedy:
      "The evidence was not produced for this Keep key and workload; obtain the wrapper and the evidence from the same Keep run.",
  },
  "binding.workload_identity": {
    kind: "evidence",
    summary:
      "The workload identity the evidence states differs from the one computed from the wrapper's wasm and config digests.",
    remedy:
      "The wrapper's digests are not those of the workload the Keep ran; obtain the wrapper and the evidence from the same Keep run.",
  },
  // ── Keep-claims certificate extension (claims.ts) ──────────────────────
  "claims.der": {
    kind: "evidence",
    summary:
      "The certificate, or its Donjon Keep-claims extension value, is not well-formed DER of the expected shape (non-minimal or overrunning length, trailing bytes, not one UTF8String).",
    remedy:
      "The certificate is damaged or was not issued by a Donjon Steward; obtain a fresh certificate from the Keep.",
  },
  "claims.duplicate": {
    kind: "evidence",
    summary:
      "The certificate carries an extension (the Keep-claims extension or another) more than once (RFC 5280 section 4.2 forbids it).",
    remedy:
      "The certificate is malformed; a Steward never issues one like it. Obtain a fresh certificate.",
  },
  "claims.size": {
    kind: "evidence",
    summary: "The Keep-claims extension value is larger than 4096 bytes.",
    remedy:
      "The certificate was not issued by a Donjon Steward (its claims are about 330 bytes); check who issued it.",
  },
  "claims.utf8": {
    kind: "evidence",
    summary: "The Keep-claims extension's UTF8String is not valid UTF-8.",
    remedy: "The certificate is damaged; obtain a fresh certificate from the Keep.",
  },
  "claims.json": {
    kind: "evidence",
    summary:
      "The Keep claims are not a JSON object in the canonical form the Steward writes (members once, in order, no whitespace).",
    remedy:
      "The certificate was not issued by a Donjon Steward, or by an incompatible one; check the Steward's version.",
  },
  "claims.version": {
    kind: "evidence",
    summary: "The Keep claims' v member is missing or not 1, the only version this verifier reads.",
    remedy:
      "Update the verifier (@donjon/client, donjon) to one that reads the Steward's claims version.",
  },
  "claims.member": {
    kind: "evidence",
    summary:
      "A Keep claims member of version 1 is missing, or there is a member version 1 does not define.",
    remedy:
      "The certificate was not issued by a compatible Donjon Steward; check the Steward's version.",
  },
  "claims.field": {
    kind: "evidence",
    summary:
      "A Keep claims member has the wrong type or form (an unknown tee, tier or tcb_status; hex that is not lowercase or of the wrong size).",
    remedy:
      "The certificate was not issued by a compatible Donjon Steward; check the Steward's version.",
  },
  "claims.tier": {
    kind: "evidence",
    summary:
      "The Keep claims' tier disagrees with its TEE: sandbox evidence is always software tier, a hardware TEE's always hardware.",
    remedy: "The certificate is inconsistent and never accepted; check who issued it.",
  },
  // ── DCAP collateral, PCS client and TCB evaluation (dcap/collateral.ts, pcs.ts, tcb.ts) ──
  "dcap.collateral.missing": {
    kind: "evidence",
    summary:
      "Required DCAP collateral is missing: the TCB Info, the QE Identity or the TCB signing chain (the message names which).",
    remedy:
      "Fetch the named item from Intel PCS or a PCCS (the message gives the URL) and pass it with --collateral FILE, or let the verifier fetch it online.",
  },
  "dcap.collateral.malformed": {
    kind: "evidence",
    summary:
      "A DCAP collateral file is neither TCB Info nor QE Identity JSON, a CRL (PEM, DER or hex) nor a PEM certificate chain, or a bundle member is malformed.",
    remedy:
      "Pass the files as Intel PCS serves them (JSON bodies, DER or PEM CRLs, PEM chains) or a collateral bundle; the message names the file and the problem.",
  },
  "dcap.collateral.json": {
    kind: "evidence",
    summary:
      "A TCB Info or QE Identity body is not a strict JSON object (invalid JSON, a duplicated member name, or not an object at the top).",
    remedy:
      "Pass the response body exactly as Intel PCS or the PCCS served it; do not re-serialise it.",
  },
  "dcap.collateral.field": {
    kind: "evidence",
    summary:
      "A TCB Info or QE Identity member is missing, unknown, or of the wrong type or form (hex length, date, number range, status name).",
    remedy:
      "The collateral is damaged or not from Intel PCS; fetch it again from Intel PCS or the PCCS.",
  },
  "dcap.collateral.version": {
    kind: "evidence",
    summary: "The TCB Info is not version 2 or 3, or the QE Identity is not version 2.",
    remedy:
      "Fetch TCB Info and QE Identity from the PCS v4 API (TCB Info v3, Enclave Identity v2).",
  },
  "dcap.collateral.id": {
    kind: "evidence",
    summary:
      "The collateral is for the other TEE: TCB Info id SGX for a TDX quote (or TDX for SGX, or v2 for TDX), or a QE Identity other than QE (SGX) / TD_QE (TDX).",
    remedy:
      "Fetch the collateral for the quote's TEE: /sgx/certification/v4/… for SGX quotes, /tdx/certification/v4/… for TDX quotes.",
  },
  "dcap.collateral.signature": {
    kind: "evidence",
    summary:
      "The TCB Info or QE Identity signature (ECDSA P-256 over the exact JSON text) does not verify with the TCB signing certificate.",
    remedy:
      "The collateral was altered or re-serialised, or the issuer chain is not the one that signed it; fetch both again from Intel PCS.",
  },
  "dcap.collateral.chain": {
    kind: "evidence",
    summary:
      "The TCB signing chain (or the PCK CRL issuer) does not chain to the pinned Intel SGX Root CA, or its leaf is not Intel SGX TCB Signing.",
    remedy:
      "Use the issuer chain from the PCS response header (TCB-Info-Issuer-Chain, SGX-Enclave-Identity-Issuer-Chain); check the pinned root.",
  },
  "dcap.collateral.expired": {
    kind: "evidence",
    summary:
      "Collateral (TCB Info, QE Identity past nextUpdate) or a certificate of its signing chain has expired at the verification time.",
    remedy:
      "Fetch current collateral from Intel PCS or the PCCS, or verify at a time inside its validity window.",
  },
  "dcap.collateral.not_yet_valid": {
    kind: "evidence",
    summary:
      "Collateral (issueDate) or a certificate of its signing chain is not yet valid at the verification time.",
    remedy:
      "Check the verification clock, or fetch collateral issued before the verification time.",
  },
  "dcap.collateral.fmspc": {
    kind: "evidence",
    summary: "The TCB Info is for another platform: its FMSPC differs from the PCK certificate's.",
    remedy:
      "Fetch the TCB Info for the FMSPC of the quote's PCK certificate (the message gives it).",
  },
  "dcap.collateral.pce_id": {
    kind: "evidence",
    summary: "The TCB Info's PCE ID differs from the PCK certificate's.",
    remedy: "Fetch the TCB Info for the quote's platform; the collateral is for another platform.",
  },
  "dcap.collateral.crl_unavailable": {
    kind: "evidence",
    summary:
      "No Intel SGX Root CA CRL or PCK CRL was given, so revocation of the PCK chain and the TCB signing certificate was not checked (a warning unless CRLs are required).",
    remedy:
      "Pass the CRLs (PCS pckcrl, the root CA CRL) with --collateral FILE, or let the verifier fetch them.",
  },
  "dcap.collateral.crl": {
    kind: "evidence",
    summary: "A CRL is malformed: not a DER or PEM X.509 CRL.",
    remedy: "Pass the CRL as Intel PCS serves it (DER, PEM, or the hex a PCCS returns).",
  },
  "dcap.collateral.crl_issuer": {
    kind: "evidence",
    summary:
      "A CRL is not issued by the expected Intel CA (the root CA CRL by Intel SGX Root CA, the PCK CRL by the PCK Processor or Platform CA that issued the PCK certificate), or its issuer certificate is missing.",
    remedy:
      "Pass the CRL of the CA named in the message (pckcrl?ca=processor or ca=platform) and its issuer chain.",
  },
  "dcap.collateral.crl_signature": {
    kind: "evidence",
    summary: "A CRL's signature does not verify with its issuer's key.",
    remedy: "The CRL was altered or is not Intel's; fetch it again from Intel PCS.",
  },
  "dcap.collateral.crl_stale": {
    kind: "evidence",
    summary: "A CRL's nextUpdate is before the verification time (or absent).",
    remedy: "Fetch a current CRL from Intel PCS or the PCCS.",
  },
  "dcap.collateral.crl_not_yet_valid": {
    kind: "evidence",
    summary: "A CRL's thisUpdate is after the verification time.",
    remedy: "Check the verification clock, or use a CRL issued before the verification time.",
  },
  "dcap.collateral.revoked": {
    kind: "evidence",
    summary:
      "A certificate (the TCB signing certificate, a PCK CA or the PCK certificate) is listed as revoked by Intel's CRL.",
    remedy: "The platform or signer is revoked by Intel; the evidence must not be trusted.",
  },
  "dcap.pcs.network": {
    kind: "evidence",
    summary: "Intel PCS (or the configured PCCS) could not be reached, after every retry.",
    remedy:
      "Check network access to api.trustedservices.intel.com or the PCCS, or verify offline with --collateral FILE.",
  },
  "dcap.pcs.http": {
    kind: "evidence",
    summary: "Intel PCS or the PCCS answered an unexpected HTTP status (or 503 after every retry).",
    remedy: "Try again later, or verify offline with the collateral passed as --collateral FILE.",
  },
  "dcap.pcs.not_found": {
    kind: "evidence",
    summary:
      "Intel PCS or the PCCS has no such collateral (HTTP 404): an unknown FMSPC, or a PCCS without it cached.",
    remedy:
      "Check the FMSPC comes from the quote's PCK certificate; a PCCS may need to be refreshed from Intel PCS.",
  },
  "dcap.pcs.rate_limited": {
    kind: "evidence",
    summary:
      "Intel PCS or the PCCS kept answering HTTP 429 after every retry, or asked for a longer wait than allowed.",
    remedy:
      "Wait and try again, use a cache shared between runs or a PCCS, or pass the collateral with --collateral FILE.",
  },
  "dcap.pcs.bad_response": {
    kind: "evidence",
    summary:
      "The PCS or PCCS answer is not the collateral asked for: malformed, oversized, without its issuer chain header, or for another FMSPC or TEE.",
    remedy:
      "Check the base URL (a proxy or a PCCS of another version may be answering), or pass the collateral with --collateral FILE.",
  },
  "dcap.tcb.not_supported": {
    kind: "evidence",
    summary:
      'No TCB level of the TCB Info matches the platform (SGX components and PCESVN, TDX components), or no QE Identity or TDX module level matches the ISVSVN: Intel\'s "TCB level not supported".',
    remedy:
      "The platform's TCB is older than every level Intel lists, or the collateral is stale or for another platform; update the platform (microcode, BIOS, TDX module) or the collateral.",
  },
  "dcap.tcb.revoked": {
    kind: "evidence",
    summary: "The matched TCB level (platform, QE or TDX module) has status Revoked.",
    remedy:
      "The platform TCB is revoked by Intel; update the platform and never trust this evidence.",
  },
  "dcap.tcb.qe_identity": {
    kind: "evidence",
    summary:
      "The quote's QE report does not match the QE Identity: MRSIGNER, ISVPRODID, masked MISCSELECT or masked ATTRIBUTES differ.",
    remedy:
      "The quote was not produced by Intel's Quoting Enclave, or the QE Identity is for the other TEE; check both.",
  },
  "dcap.tcb.tdx_module": {
    kind: "evidence",
    summary:
      "The TD's TDX module does not match the TCB Info: no TDX module identity TDX_<version>, or MRSIGNERSEAM or the masked SEAMATTRIBUTES differ.",
    remedy:
      "The TDX module is not Intel's or unknown to this TCB Info; fetch current TDX TCB Info or check the host's TDX module.",
  },
  // ── DCAP policy (dcap/validate.ts) ────────────────────────────────────
  "dcap.policy.tee": {
    kind: "policy",
    summary:
      "The quote is from the other TEE than the policy wants (SGX for TDX or back), or the policy sets fields of the other TEE (MRENCLAVE for a TD, MRTD for an enclave).",
    remedy:
      "Use the policy written for this kind of evidence (tee, the SGX or TDX fields), or check where the quote came from.",
  },
  "dcap.policy.tcb_status": {
    kind: "policy",
    summary:
      "The TCB status (platform, QE and TDX module merged) is not one the policy accepts; by default only UpToDate is.",
    remedy:
      "Update the platform (microcode, BIOS, TDX module) as the advisories say, or accept the status explicitly (allowedTcbStatuses, e.g. SWHardeningNeeded).",
  },
  "dcap.policy.tcb_not_checked": {
    kind: "policy",
    summary:
      "The TCB status and advisories were not checked: the TCB was not evaluated (collateral missing and requireCollateral false, or the evaluation failed). A warning.",
    remedy:
      "Pass the TCB Info and QE Identity (--collateral FILE) or a PCS source so the TCB is judged; keep requireCollateral on outside tests.",
  },
  "dcap.policy.advisory": {
    kind: "policy",
    summary:
      "The TCB evaluation names an Intel security advisory the policy does not list in allowedAdvisoryIds.",
    remedy:
      "Mitigate the advisory (update the platform) or add its ID to allowedAdvisoryIds once you judged it harmless for this workload.",
  },
  "dcap.policy.debug": {
    kind: "policy",
    summary:
      "The enclave (SGX ATTRIBUTES.DEBUG) or the TD (TD_ATTRIBUTES.DEBUG) is a debug one: the host can read and change its memory.",
    remedy:
      "Build and launch a production enclave or TD (debug off), or allow debug (allowDebug) for test environments only.",
  },
  "dcap.policy.report_data": {
    kind: "policy",
    summary:
      "REPORT_DATA is not the expected 64 bytes (the binding to the key or nonce does not hold).",
    remedy:
      "Check the enclave or TD put the expected binding (e.g. the hash of its key and nonce) into REPORT_DATA.",
  },
  "dcap.policy.mr_enclave": {
    kind: "policy",
    summary: "MRENCLAVE is not the expected value (or not in the allow-list).",
    remedy: "Run the expected enclave build, or add its MRENCLAVE to the policy.",
  },
  "dcap.policy.mr_signer": {
    kind: "policy",
    summary:
      "MRSIGNER (the enclave signer's key hash) is not the expected value (or not in the allow-list).",
    remedy:
      "Run an enclave signed by the expected key, or add the signer's MRSIGNER to the policy.",
  },
  "dcap.policy.isv_prod_id": {
    kind: "policy",
    summary: "ISVPRODID is not the product ID the policy expects.",
    remedy: "Run the expected enclave product, or change isvProdId.",
  },
  "dcap.policy.isv_svn": {
    kind: "policy",
    summary: "ISVSVN is below the policy minimum.",
    remedy: "Run a newer enclave build (higher ISVSVN), or lower minIsvSvn.",
  },
  "dcap.policy.misc_select": {
    kind: "policy",
    summary: "MISCSELECT under the policy mask differs from the expected value.",
    remedy: "Build the enclave with the expected MISCSELECT, or change miscSelect (value, mask).",
  },
  "dcap.policy.mr_td": {
    kind: "policy",
    summary:
      "MRTD (the TD's initial contents) is not the expected value (or not in the allow-list).",
    remedy: "Launch the expected TD image (firmware), or add its MRTD to the policy.",
  },
  "dcap.policy.rtmr": {
    kind: "policy",
    summary:
      "An RTMR (0–3: firmware, boot loader and kernel, OS, runtime measurements) is not the expected value (or not in the allow-list).",
    remedy:
      "Boot the expected firmware, kernel and command line, or update rtmr0–rtmr3 in the policy; the check id names the register.",
  },
  "dcap.policy.mr_config_id": {
    kind: "policy",
    summary: "MRCONFIGID is not the expected value (or not in the allow-list).",
    remedy: "Launch the TD with the expected configuration ID, or change mrConfigId.",
  },
  "dcap.policy.mr_owner": {
    kind: "policy",
    summary: "MROWNER is not the expected value (or not in the allow-list).",
    remedy: "Launch the TD with the expected owner ID, or change mrOwner.",
  },
  "dcap.policy.mr_owner_config": {
    kind: "policy",
    summary: "MROWNERCONFIG is not the expected value (or not in the allow-list).",
    remedy: "Launch the TD with the expected owner configuration, or change mrOwnerConfig.",
  },
  "dcap.policy.xfam": {
    kind: "policy",
    summary: "XFAM (the TD's extended CPU features) is not the expected value.",
    remedy: "Launch the TD with the expected CPU features, or change xfam.",
  },
  // ── options ─────────────────────────────────────────────────────────────
  "options.invalid": {
    kind: "usage",
    summary: "An option passed to a parse, validate or verify function is invalid.",
    remedy: "Fix the option named in the message (length, hex encoding, range).",
  },
} as const satisfies Record<string, CodeInfo>;

/** Every stable error code. */
export type Code = keyof typeof CODES;

type CodesOfKind<K extends CodeInfo["kind"]> = {
  [C in Code]: (typeof CODES)[C]["kind"] extends K ? C : never;
}[Code];

/** Codes meaning "the evidence is broken". */
export type EvidenceCode = CodesOfKind<"evidence">;
/** Codes meaning "the evidence is fine but not what the policy wants". */
export type PolicyCode = CodesOfKind<"policy">;
/** Codes meaning "the caller passed invalid options". */
export type UsageCode = CodesOfKind<"usage">;
