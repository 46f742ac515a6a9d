/**
 * One-off generator of the fixed test keys in src/_intel_keys.ts. Run from the repo root:
 *   npx node packages/testkit/scripts/gen-intel-keys.ts > packages/testkit/src/_intel_keys.ts
 * The keys are for tests only; regenerating them changes every fake Intel certificate.
 */
function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----`;
}

async function p256(): Promise<string> {
  const k = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
    "sign",
    "verify",
  ]);
  return pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", k.privateKey));
}

const keys: [string, string][] = [
  ["INTEL_ROOT", "the fake Intel SGX Root CA (signs the PCK CA)"],
  ["INTEL_PCK_CA", "the fake Intel SGX PCK Platform/Processor CA (signs PCK certificates)"],
  ["INTEL_PCK", "the fake PCK leaf (signs QE reports)"],
  ["INTEL_ATTESTATION", "the fake QE's attestation key (signs quotes)"],
  ["INTEL_OTHER", "a P-256 key no certificate names (the 'signed by the wrong key' cases)"],
];

let out = `/**
 * Fixed TEST-ONLY private keys (PKCS#8, PEM) of the fake Intel hierarchy. They are
 * public in this repository and protect nothing. Generated once with
 * \`scripts/gen-intel-keys.ts\` (WebCrypto: ECDSA P-256, as every Intel DCAP key is).
 * Generated file: do not edit by hand.
 */
`;
for (const [name, what] of keys) {
  out += `\n/** ${what}. */\nexport const ${name}_KEY = \`${await p256()}\`;\n`;
}
process.stdout.write(out);
