/** The host's sandbox key store: creation, modes, reuse, refusals. */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, it } from "node:test";
import { KeepError } from "./error.ts";
import {
  loadOrCreateSandboxKey,
  SANDBOX_KEY_FILE,
  SANDBOX_PUBLIC_KEY_FILE,
} from "./sandbox_key.ts";

const ROOT = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-sandbox-key-"));
after(() => fs.rmSync(ROOT, { recursive: true, force: true }));
let n = 0;
const freshDir = () => path.join(ROOT, `state-${n++}`, "donjon");
const mode = (p: string) => fs.statSync(p).mode & 0o777;
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

const rejectsWith = async (p: Promise<unknown>, code: string, message: RegExp) => {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof KeepError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, message);
    return true;
  });
};

describe("loadOrCreateSandboxKey", () => {
  it("creates the state directory, a 0600 private key and a 0644 public key", async () => {
    const dir = freshDir();
    const k = await loadOrCreateSandboxKey({ stateDir: dir });
    assert.equal(k.created, true);
    assert.equal(k.keyPath, path.join(dir, SANDBOX_KEY_FILE));
    assert.equal(k.publicKeyPath, path.join(dir, SANDBOX_PUBLIC_KEY_FILE));
    assert.equal(mode(dir), 0o700);
    assert.equal(mode(k.keyPath), 0o600);
    assert.equal(mode(k.publicKeyPath), 0o644);
    assert.match(fs.readFileSync(k.keyPath, "utf8"), /^-----BEGIN PRIVATE KEY-----\n/);
    assert.deepEqual(fs.readdirSync(dir).sort(), [SANDBOX_KEY_FILE, SANDBOX_PUBLIC_KEY_FILE]);
    assert.equal(k.privateKey.extractable, false);
    // The public file holds the same SPKI, and the key id is its SHA-256.
    const der = Buffer.from(
      fs
        .readFileSync(k.publicKeyPath, "utf8")
        .replace(/-----[A-Z ]+-----/g, "")
        .replace(/\s+/g, ""),
      "base64",
    );
    assert.equal(hex(der), hex(k.spki));
    const id = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
    assert.equal(hex(k.keyId), hex(id));
    // It signs, and the SPKI verifies.
    const msg = new TextEncoder().encode("evidence");
    const sig = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-384" }, k.privateKey, msg);
    const key = await crypto.subtle.importKey(
      "spki",
      der,
      { name: "ECDSA", namedCurve: "P-384" },
      false,
      ["verify"],
    );
    assert.ok(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-384" }, key, sig, msg));
  });

  it("loads the same key the next time, and restores a missing public key", async () => {
    const dir = freshDir();
    const a = await loadOrCreateSandboxKey({ stateDir: dir });
    fs.rmSync(a.publicKeyPath);
    const b = await loadOrCreateSandboxKey({ stateDir: dir, create: false });
    assert.equal(b.created, false);
    assert.equal(hex(b.spki), hex(a.spki));
    assert.equal(
      fs.readFileSync(b.publicKeyPath, "utf8"),
      fs.readFileSync(a.publicKeyPath, "utf8"),
    );
    fs.writeFileSync(b.publicKeyPath, "stale");
    await loadOrCreateSandboxKey({ stateDir: dir });
    assert.match(fs.readFileSync(b.publicKeyPath, "utf8"), /^-----BEGIN PUBLIC KEY-----/);
  });

  it("agrees on one key when several Keeps start at once", async () => {
    const dir = freshDir();
    const keys = await Promise.all(
      Array.from({ length: 4 }, () => loadOrCreateSandboxKey({ stateDir: dir })),
    );
    assert.equal(new Set(keys.map((k) => hex(k.spki))).size, 1);
    assert.equal(keys.filter((k) => k.created).length, 1);
    assert.deepEqual(fs.readdirSync(dir).sort(), [SANDBOX_KEY_FILE, SANDBOX_PUBLIC_KEY_FILE]);
  });

  for (const m of [0o644, 0o640, 0o604, 0o660, 0o601]) {
    it(`refuses a key file with mode 0${m.toString(8)}, naming the chmod that fixes it`, async () => {
      const dir = freshDir();
      const k = await loadOrCreateSandboxKey({ stateDir: dir });
      fs.chmodSync(k.keyPath, m);
      await rejectsWith(
        loadOrCreateSandboxKey({ stateDir: dir }),
        "keep.sandbox_key.permissions",
        new RegExp(`${k.keyPath}.*mode 0${m.toString(8)}.*chmod 600 ${k.keyPath}$`),
      );
      fs.chmodSync(k.keyPath, 0o600);
      assert.equal((await loadOrCreateSandboxKey({ stateDir: dir })).created, false);
    });
  }

  it("refuses a missing key with create: false", async () => {
    await rejectsWith(
      loadOrCreateSandboxKey({ stateDir: freshDir(), create: false }),
      "keep.sandbox_key.invalid",
      /no sandbox key at/,
    );
  });

  it("refuses a symbolic link, a directory, and an empty stateDir", async () => {
    const dir = freshDir();
    const k = await loadOrCreateSandboxKey({ stateDir: dir });
    const other = freshDir();
    fs.mkdirSync(other, { recursive: true });
    fs.symlinkSync(k.keyPath, path.join(other, SANDBOX_KEY_FILE));
    await rejectsWith(
      loadOrCreateSandboxKey({ stateDir: other }),
      "keep.sandbox_key.invalid",
      /symbolic link/,
    );
    const third = freshDir();
    fs.mkdirSync(path.join(third, SANDBOX_KEY_FILE), { recursive: true, mode: 0o700 });
    await rejectsWith(
      loadOrCreateSandboxKey({ stateDir: third }),
      "keep.sandbox_key.invalid",
      /not a regular file/,
    );
    await rejectsWith(
      loadOrCreateSandboxKey({ stateDir: "" }),
      "keep.sandbox_key.invalid",
      /stateDir/,
    );
  });

  const write = (text: string) => {
    const dir = freshDir();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, SANDBOX_KEY_FILE), text, { mode: 0o600 });
    return dir;
  };
  const pem = (label: string, der: ArrayBuffer) =>
    `-----BEGIN ${label}-----\n${Buffer.from(der).toString("base64")}\n-----END ${label}-----\n`;

  const INVALID: [string, () => Promise<string>, RegExp][] = [
    ["an empty file", async () => "", /PKCS#8 PEM/],
    [
      "a public key",
      async () => {
        const p = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, [
          "sign",
        ]);
        return pem("PUBLIC KEY", await crypto.subtle.exportKey("spki", p.publicKey));
      },
      /PKCS#8 PEM/,
    ],
    [
      "a P-256 key",
      async () => {
        const p = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, [
          "sign",
        ]);
        return pem("PRIVATE KEY", await crypto.subtle.exportKey("pkcs8", p.privateKey));
      },
      /ECDSA P-384/,
    ],
    [
      "garbage in a PEM block",
      async () => "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      /ECDSA P-384/,
    ],
  ];
  for (const [name, text, message] of INVALID) {
    it(`refuses ${name} as the key, saying how to recover`, async () => {
      const dir = write(await text());
      await rejectsWith(
        loadOrCreateSandboxKey({ stateDir: dir }),
        "keep.sandbox_key.invalid",
        new RegExp(`${message.source}.*move it away`),
      );
    });
  }
});
