import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, it } from "node:test";
import * as x509 from "./_x509.ts";
import { loadCa, readKeyFile } from "./ca.ts";
import { MIN_ADMIN_TOKEN_LENGTH, parseConfig } from "./config.ts";
import { StewardError } from "./error.ts";
import { DEFAULT_POLICY_TEXT, INIT_FILES, initSteward } from "./init.ts";
import { defaultPolicy, parsePolicy } from "./policy.ts";

const NOW = new Date("2026-11-27T12:00:00Z");

describe("steward init", () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steward-init-")), "s");

  it("writes the CA, the TLS chain, the policy and a steward.toml that validates", async () => {
    const r = await initSteward({ dir, now: NOW, sans: ["steward.example", "192.0.2.7"] });
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    const mode = (f: string) => fs.statSync(f).mode & 0o777;
    assert.equal(mode(r.files.caKey), 0o600);
    assert.equal(mode(r.files.tlsKey), 0o600);
    assert.equal(mode(r.files.config), 0o600);
    assert.equal(mode(r.files.caCert), 0o644);
    assert.equal(mode(r.files.policy), 0o644);
    assert.deepEqual(fs.readdirSync(dir).sort(), Object.values(INIT_FILES).sort());

    const config = parseConfig(fs.readFileSync(r.files.config, "utf8"), r.files.config);
    assert.deepEqual(config.ca, { cert: r.files.caCert, key: r.files.caKey });
    assert.deepEqual(config.tls, { cert: r.files.tlsCert, key: r.files.tlsKey });
    assert.equal(config.policy, r.files.policy);
    assert.equal(config.storage, `sqlite:${path.join(dir, "steward.db")}`);
    assert.deepEqual(config.listen, { host: "127.0.0.1", port: 8443 });
    assert.equal(config.adminTokens.length, 1);
    assert.ok(config.adminTokens[0]!.length >= MIN_ADMIN_TOKEN_LENGTH);

    const ca = await loadCa(
      fs.readFileSync(r.files.caCert, "utf8"),
      readKeyFile(r.files.caKey),
      config.ca,
    );
    const fp = Buffer.from(await ca.cert.getThumbprint("SHA-256")).toString("hex");
    assert.equal(r.caFingerprint.replaceAll(":", "").toLowerCase(), fp);

    const chain = fs.readFileSync(r.files.tlsCert, "utf8");
    const [leafPem, caPem] = chain.split(/(?<=-----END CERTIFICATE-----\n)/);
    assert.equal(caPem, ca.certPem);
    const leaf = new x509.X509Certificate(leafPem!);
    assert.ok(await leaf.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }));
    assert.deepEqual(
      leaf.getExtension(x509.SubjectAlternativeNameExtension)!.names.items.map((n) => n.value),
      ["localhost", "127.0.0.1", "::1", "steward.example", "192.0.2.7"],
    );
  });

  it("refuses to run again over an existing CA, and changes nothing", async () => {
    const before = fs.readFileSync(path.join(dir, "ca.key"), "utf8");
    await assert.rejects(
      initSteward({ dir, now: NOW }),
      (e: unknown) =>
        e instanceof StewardError &&
        e.code === "steward.init.exists" &&
        e.message.includes(path.join(dir, "ca.pem")),
    );
    assert.equal(fs.readFileSync(path.join(dir, "ca.key"), "utf8"), before);
  });

  it("refuses a directory that has any one of the files", async () => {
    const other = fs.mkdtempSync(path.join(os.tmpdir(), "steward-init-"));
    fs.writeFileSync(path.join(other, "policy.toml"), "");
    await assert.rejects(initSteward({ dir: other, now: NOW }), /policy\.toml exists/);
    assert.deepEqual(fs.readdirSync(other), ["policy.toml"]);
  });

  it("the default policy text is the safe default, exactly, and says so in comments", () => {
    assert.deepEqual(parsePolicy(DEFAULT_POLICY_TEXT, "policy.toml"), defaultPolicy());
    const p = defaultPolicy();
    assert.equal(p.sandbox.allow, false);
    for (const t of [p.snp, p.tdx, p.sgx]) assert.equal(t.debug, false);
    assert.match(DEFAULT_POLICY_TEXT, /software tier/);
  });
});
