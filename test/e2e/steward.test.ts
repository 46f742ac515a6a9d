/**
 * End to end, with nothing faked: `donjon steward init` into a temporary
 * directory, `donjon steward --config` as a child process over HTTPS on a free
 * loopback port, and real sandbox Keeps started by `donjon run --steward`.
 * The Keep attests before its workload starts — TLS inside the Keep, the
 * host relaying bytes only — and receives a certificate recording its
 * evidence, or is refused with the Steward's reasons and never runs the
 * workload. Failures on the way (a wrong CA, a Steward that is down, bytes
 * altered between the Keep and the Steward) end the run with an error that
 * names them.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { workloadIdentity } from "@donjon/attest/binding";
import { decodeKeepEvidence } from "@donjon/attest/cmw";
import { decodeKeepClaims } from "@donjon/steward";
import { type DonjonResult, runDonjon } from "../../packages/cli/src/_donjon_child.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const BIN = path.join(ROOT, "packages/cli/bin/donjon.js");
const HELLO = path.join(ROOT, "examples/hello.wasm");
const HELLO_OUT = "Hello from Donjon! argv[0]=hello.wasm\nNAME is not set\n";

const TMP = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-e2e-steward-"));
/** The tests' own state directory: the sandbox key the allowing policy trusts. */
const STATE_HOME = path.join(TMP, "state");
const PUBLIC_KEY = path.join(STATE_HOME, "donjon", "sandbox-key.pub.pem");

function donjon(args: string[], cwd = TMP): Promise<DonjonResult> {
  return runDonjon(args, {
    cwd,
    env: { ...process.env, XDG_STATE_HOME: STATE_HOME },
    timeoutMs: 60_000,
  });
}

interface Steward {
  dir: string;
  url: string;
  ca: string;
  child: ChildProcess;
}
const stewards: Steward[] = [];

/** `donjon steward init`, the policy edited by `edit`, then `donjon steward --config` on a free port. */
async function startSteward(
  name: string,
  edit: (policy: string) => string,
  o: { plainHttp?: boolean } = {},
): Promise<Steward> {
  const dir = path.join(TMP, name);
  const init = await donjon(["steward", "init", dir]);
  assert.equal(init.status, 0, init.stderr);
  const policy = path.join(dir, "policy.toml");
  fs.writeFileSync(policy, edit(fs.readFileSync(policy, "utf8")));
  if (o.plainHttp) {
    // Plain HTTP, which the Steward serves on loopback only: no [tls], no CA for the Keep.
    const config = path.join(dir, "steward.toml");
    const text = fs.readFileSync(config, "utf8");
    const plain = text
      .replace(/\n\[tls\]\ncert = [^\n]*\nkey = [^\n]*\n/, "\n")
      .replace(/^listen = .*$/m, (l) => `${l}\nplain_http = true`);
    assert.notEqual(plain, text);
    fs.writeFileSync(config, plain);
  }
  const child = spawn(
    process.execPath,
    [BIN, "steward", "--config", path.join(dir, "steward.toml"), "--listen", "127.0.0.1:0"],
    { stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stderr!.setEncoding("utf8").on("data", (s: string) => {
      stderr += s;
      const m = /listening on (\S+)/.exec(stderr);
      if (m) resolve(m[1]!);
    });
    child.on("exit", (code) => reject(new Error(`the Steward exited (${code}): ${stderr}`)));
  });
  const s = { dir, url, ca: path.join(dir, "ca.pem"), child };
  stewards.push(s);
  return s;
}

/** A loopback port nobody listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

/**
 * A TCP relay on the path between the host and the Steward that flips one
 * byte: the last of the Steward's first flight (inside its encrypted
 * handshake records). The host relays bytes only, so this is what a host
 * that tampers with the relayed stream can do.
 */
async function tamperingRelay(target: URL): Promise<{ url: string; server: net.Server }> {
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(target.port), target.hostname);
    let flipped = false;
    upstream.on("data", (b: Buffer) => {
      if (!flipped) {
        flipped = true;
        b[b.length - 1]! ^= 0x01;
      }
      client.write(b);
    });
    client.on("data", (b) => upstream.write(b));
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => {});
    upstream.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `https://127.0.0.1:${port}`, server };
}

let allowing: Steward;
let refusing: Steward;
let plain: Steward;

before(async () => {
  // The sandbox key is made by the first Keep; the allowing policy names its public half.
  const first = await donjon(["run", "--backend", "sandbox", HELLO]);
  assert.equal(first.status, 0, first.stderr);
  assert.ok(fs.existsSync(PUBLIC_KEY));
  const allowSandbox = (p: string) =>
    p.replace(
      "[sandbox]\nallow = false\n",
      `[sandbox]\nallow = true\nhost_keys = [${JSON.stringify(PUBLIC_KEY)}]\n`,
    );
  [allowing, refusing, plain] = await Promise.all([
    startSteward("allowing", allowSandbox),
    startSteward("default", (p) => p),
    startSteward("plain", allowSandbox, { plainHttp: true }),
  ]);
  assert.match(plain.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(fs.readFileSync(path.join(allowing.dir, "policy.toml"), "utf8"), /allow = true/);
});

after(async () => {
  await Promise.all(
    stewards.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.child.exitCode !== null) resolve();
          s.child.on("exit", () => resolve());
          s.child.kill("SIGTERM");
        }),
    ),
  );
  fs.rmSync(TMP, { recursive: true, force: true });
});

describe("donjon run --steward: a sandbox Keep attests before its workload starts", {
  concurrency: true,
  timeout: 120_000,
}, () => {
  it("allowed: the Keep gets a certificate whose claims match its evidence, --print-cert writes it, the workload runs", async () => {
    const dir = fs.mkdtempSync(path.join(TMP, "allowed-"));
    // The Steward comes from Donjon.toml (Enarx's key), its CA from the flag.
    const config = `steward = ${JSON.stringify(allowing.url)}\n`;
    fs.writeFileSync(path.join(dir, "Donjon.toml"), config);
    const r = await donjon(
      [
        "run",
        "--backend",
        "sandbox",
        "--config",
        "Donjon.toml",
        "--steward-ca",
        allowing.ca,
        "--print-cert",
        "keep.pem",
        "--print-evidence",
        "evidence.json",
        HELLO,
      ],
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, HELLO_OUT);
    assert.equal(r.stderr, "");

    const pem = fs.readFileSync(path.join(dir, "keep.pem"), "utf8");
    const blocks = pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? [];
    assert.equal(blocks.length, 2, pem);
    const leaf = new X509Certificate(blocks[0]!);
    const ca = new X509Certificate(fs.readFileSync(allowing.ca));
    assert.equal(blocks[1]!.trim(), fs.readFileSync(allowing.ca, "utf8").trim());
    assert.ok(leaf.verify(ca.publicKey), "the Keep's certificate is signed by the Steward CA");

    const evidence = decodeKeepEvidence(
      new Uint8Array(fs.readFileSync(path.join(dir, "evidence.json"))),
    );
    // The certificate is for the Keep's own key, the one its evidence binds.
    assert.deepEqual(
      new Uint8Array(leaf.publicKey.export({ type: "spki", format: "der" })),
      evidence.keepKey,
    );
    const sha256 = (b: Uint8Array) => new Uint8Array(createHash("sha256").update(b).digest());
    const identity = await workloadIdentity(
      sha256(fs.readFileSync(HELLO)),
      sha256(new TextEncoder().encode(config)),
    );
    const claims = decodeKeepClaims(new Uint8Array(leaf.raw));
    assert.ok(claims, "the certificate carries the Donjon claims extension");
    assert.equal(claims.tee, "sandbox");
    assert.equal(claims.tier, "software");
    assert.equal(claims.tcbStatus, "none");
    assert.equal(claims.workload, Buffer.from(identity).toString("hex"));
    // The evidence hash is over the wrapper the Keep sent: what --print-evidence wrote.
    assert.equal(
      claims.evidenceSha256,
      createHash("sha256")
        .update(fs.readFileSync(path.join(dir, "evidence.json")))
        .digest("hex"),
    );
    // The sandbox record's runtime measurement (offset 0x60, 48 bytes) is the certificate's.
    assert.equal(
      claims.measurement,
      Buffer.from(evidence.evidence.subarray(0x60, 0x90)).toString("hex"),
    );
  });

  it("refused by the default policy: exit 1, the software-tier code printed, the workload never runs, no certificate", async () => {
    const dir = fs.mkdtempSync(path.join(TMP, "refused-"));
    const r = await donjon(
      [
        "run",
        "--backend",
        "sandbox",
        "--steward",
        refusing.url,
        "--steward-ca",
        refusing.ca,
        "--print-cert",
        "keep.pem",
        HELLO,
      ],
      dir,
    );
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, "", "the workload must not run");
    // One line per failed check: the default policy trusts no host key and refuses the tier.
    const lines = r.stderr.trimEnd().split("\n");
    for (const line of lines) {
      assert.match(line, /^donjon: refused by the Steward: [a-z_.]+: expected .+, actual .+; .+$/);
    }
    assert.deepEqual(
      lines.map((l) => l.split(": ")[2]),
      ["sandbox.verify.untrusted_key", "sandbox.policy.software_tier"],
    );
    assert.match(
      r.stderr,
      /\ndonjon: refused by the Steward: sandbox\.policy\.software_tier: expected hardware-backed evidence .+, actual tier software .+; Run the Keep on a TEE backend/,
    );
    assert.equal(fs.existsSync(path.join(dir, "keep.pem")), false);
  });

  it("a --steward-ca the Steward's certificate does not chain to: the TLS failure is named, nothing runs", async () => {
    const r = await donjon([
      "run",
      "--backend",
      "sandbox",
      "--steward",
      allowing.url,
      "--steward-ca",
      refusing.ca,
      HELLO,
    ]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, "");
    const host = new URL(allowing.url).host;
    assert.equal(
      r.stderr,
      `donjon: attestation to the Steward failed: TLS with the Steward at ${host} failed: self-signed certificate in certificate chain (SELF_SIGNED_CERT_IN_CHAIN): its certificate does not chain to the Steward CA given (--steward-ca) [keep.steward.tls]; the workload did not run\n`,
    );
  });

  it("a Steward that is down: a clear error naming its address", async () => {
    const port = await freePort();
    const r = await donjon([
      "run",
      "--backend",
      "sandbox",
      "--steward",
      `https://127.0.0.1:${port}`,
      "--steward-ca",
      allowing.ca,
      HELLO,
    ]);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(
      r.stderr,
      `donjon: attestation to the Steward failed: cannot reach the Steward at https://127.0.0.1:${port} (the host could not connect to 127.0.0.1:${port}: ECONNREFUSED) [keep.steward.connect]; the workload did not run\n`,
    );
  });

  it("a byte flipped in the relayed stream: TLS fails inside the Keep, no certificate, nothing runs", async () => {
    const relay = await tamperingRelay(new URL(allowing.url));
    try {
      const dir = fs.mkdtempSync(path.join(TMP, "tampered-"));
      const r = await donjon(
        [
          "run",
          "--backend",
          "sandbox",
          "--steward",
          relay.url,
          "--steward-ca",
          allowing.ca,
          "--print-cert",
          "keep.pem",
          HELLO,
        ],
        dir,
      );
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.match(
        r.stderr,
        new RegExp(
          `^donjon: attestation to the Steward failed: TLS with the Steward at ${new URL(relay.url).host.replace(/\./g, "\\.")} failed: .+ \\[keep\\.steward\\.tls\\]; the workload did not run\\n$`,
        ),
      );
      assert.equal(fs.existsSync(path.join(dir, "keep.pem")), false);
    } finally {
      relay.server.close();
    }
  });

  it("plain http:// on loopback needs no --steward-ca: the Keep is certified and runs", async () => {
    const dir = fs.mkdtempSync(path.join(TMP, "plain-"));
    const r = await donjon(
      ["run", "--backend", "sandbox", "--steward", plain.url, "--print-cert", "keep.pem", HELLO],
      dir,
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, HELLO_OUT);
    const leaf = new X509Certificate(fs.readFileSync(path.join(dir, "keep.pem")));
    assert.ok(leaf.verify(new X509Certificate(fs.readFileSync(plain.ca)).publicKey));
    assert.equal(decodeKeepClaims(new Uint8Array(leaf.raw))?.tier, "software");
  });

  it("a nil backend with a Steward is a usage error: no Keep, no key, no evidence", async () => {
    const r = await donjon([
      "run",
      "--backend",
      "nil",
      "--steward",
      allowing.url,
      "--steward-ca",
      allowing.ca,
      HELLO,
    ]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.match(
      r.stderr,
      /--steward: backend nil has no Keep, no key and no evidence to attest with/,
    );
  });
});
