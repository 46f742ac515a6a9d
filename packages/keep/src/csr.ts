/**
 * The Keep's certificate request (PKCS#10, RFC 2986), as the Steward reads it
 * (packages/steward README, `POST /api/v1/attest`): the Keep's own P-384 key,
 * signed with its non-extractable private half (ecdsa-with-SHA384), subject
 * `CN=donjon-keep`, and one extension — id-pe-cmw (RFC 9999), whose value is
 * the DER UTF8String holding the evidence wrapper the Keep sent in EVIDENCE.
 */
import { CMW_EXTENSION_OID } from "@donjon/attest/cmw";
import { Extension, Pkcs10CertificateRequestGenerator } from "./_x509.ts";
import type { KeepKey } from "./identity.ts";

/** Build and sign the Keep's CSR (DER) carrying `wrapper` (the EVIDENCE payload). */
export async function buildKeepCsr(o: {
  key: KeepKey;
  wrapper: Uint8Array;
  /** WebCrypto. Default: `globalThis.crypto`. */
  crypto?: Crypto;
}): Promise<Uint8Array> {
  const csr = await Pkcs10CertificateRequestGenerator.create(
    {
      name: "CN=donjon-keep",
      keys: { privateKey: o.key.privateKey, publicKey: o.key.publicKey },
      signingAlgorithm: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams,
      extensions: [new Extension(CMW_EXTENSION_OID, false, utf8String(o.wrapper))],
    },
    o.crypto ?? globalThis.crypto,
  );
  return new Uint8Array(csr.rawData);
}

/** DER UTF8String (tag 0x0c) with a definite, minimal length (X.690 §8.1.3). */
export function utf8String(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const n = bytes.length;
  const len: number[] = [];
  if (n < 0x80) len.push(n);
  else {
    const octets: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) octets.unshift(v & 0xff);
    len.push(0x80 | octets.length, ...octets);
  }
  const out = new Uint8Array(1 + len.length + n);
  out[0] = 0x0c;
  out.set(len, 1);
  out.set(bytes, 1 + len.length);
  return out;
}
