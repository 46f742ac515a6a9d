/**
 * One-off generator of the fixed test keys in src/_keys.ts. Run from the repo root:
 *   npx node packages/testkit/scripts/gen-keys.ts > packages/testkit/src/_keys.ts
 * The keys are for tests only; regenerating them changes every fake certificate.
 */
const RSA_BITS = 2048;

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----`;
}

async function rsa(): Promise<string> {
  const k = await crypto.subtle.generateKey(
    {
      name: "RSA-PSS",
      modulusLength: RSA_BITS,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-384",
    },
    true,
    ["sign", "verify"],
  );
  return pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", k.privateKey));
}

async function ec(): Promise<string> {
  const k = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
    "sign",
    "verify",
  ]);
  return pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", k.privateKey));
}

const keys: [string, string, string][] = [
  ["ARK", "the fake AMD Root Key (RSA, signs ASK, ASVK and the CRL)", await rsa()],
  ["ASK", "the fake AMD SEV Key (RSA, signs VCEKs)", await rsa()],
  ["ASVK", "the fake AMD SEV VLEK Key (RSA, signs VLEKs)", await rsa()],
  [
    "OTHER_RSA",
    "an RSA key AMD never certified (the 'signed by the wrong key' cases)",
    await rsa(),
  ],
  ["VCEK", "the fake VCEK (ECDSA P-384, signs reports)", await ec()],
  ["VLEK", "the fake VLEK (ECDSA P-384, signs reports)", await ec()],
  [
    "OTHER_EC",
    "an ECDSA P-384 key no certificate names (the 'signed by the wrong key' cases)",
    await ec(),
  ],
];

let out = `/**
 * Fixed TEST-ONLY private keys (PKCS#8, PEM) of the fake AMD hierarchy. They are
 * public in this repository and protect nothing. Generated once with
 * \`scripts/gen-keys.ts\` (WebCrypto: RSA-PSS ${RSA_BITS}-bit e=65537, ECDSA P-384).
 * Generated file: do not edit by hand.
 */
`;
for (const [name, what, key] of keys) {
  out += `\n/** ${what}. */\nexport const ${name}_KEY = \`${key}\`;\n`;
}
process.stdout.write(out);
