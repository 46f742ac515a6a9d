/**
 * What the Keep's TLS server presents. With a Steward: the chain it issued
 * for the Keep key. Without one: a certificate the Keep signs itself for its
 * own key — it proves nothing to a client (anyone can make one), so it says
 * so in its subject, but TLS still ends inside the Keep. Loaded only by Keeps
 * that serve TLS.
 */
import { X509CertificateGenerator } from "./_x509.ts";
import { KeepError } from "./error.ts";
import type { KeepKey } from "./identity.ts";
import type { KeepTlsIdentity } from "./net.ts";

/** How long a self-signed Keep certificate is valid. */
const SELF_SIGNED_DAYS = 1;

/** The Keep's TLS identity: its key (PEM, in memory) and `chainPem`, or a self-signed certificate. */
export async function keepTlsIdentity(
  key: KeepKey,
  chainPem: string | null,
  o: { workload: Uint8Array; now: () => Date },
): Promise<KeepTlsIdentity> {
  if (key.tlsKey === undefined) {
    throw new KeepError(
      "keep.identity.input",
      "the Keep key has no TLS form (it was made with an injected WebCrypto)",
    );
  }
  const pem = key.tlsKey.export({ format: "pem", type: "pkcs8" }) as string;
  if (chainPem !== null) return { key: pem, cert: chainPem };
  const now = o.now();
  const id = Buffer.from(o.workload).toString("hex");
  const cert = await X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(16)))
      .toString("hex")
      .replace(/^[89a-f]/, "1"),
    name: `CN=donjon keep ${id.slice(0, 16)} (self-signed; no Steward), O=Donjon Keep`,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + SELF_SIGNED_DAYS * 86_400_000),
    keys: { privateKey: key.privateKey, publicKey: key.publicKey },
    signingAlgorithm: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams,
  });
  return { key: pem, cert: cert.toString("pem") };
}
