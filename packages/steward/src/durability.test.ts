/**
 * Durability: kill -9 the Steward in the middle of a stream of attestations;
 * after a restart, every certificate it had returned is in the audit log.
 * (The store commits before the app answers; this holds the whole path to it.)
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { it } from "node:test";
import { pathToFileURL } from "node:url";
import { sandboxCsr, sandboxPolicyText, testKey } from "./_app_fixtures.ts";
import * as x509 from "./_x509.ts";
import { initSteward } from "./init.ts";
import { startSteward } from "./server.ts";

function post(
  url: string,
  ca: string,
  body: Uint8Array,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${url}/api/v1/attest`,
      {
        method: "POST",
        ca,
        agent: false,
        headers: { "content-type": "application/pkcs10" },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(Buffer.from(body));
  });
}

function get(url: string, ca: string, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let text = "";
        res.on("data", (c) => {
          text += c;
        });
        res.on("end", () => resolve(text));
      })
      .on("error", reject);
  });
}

it("kill -9 during a stream of attestations: every certificate returned is in the audit log after restart", async () => {
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "steward-kill-")), "s");
  await initSteward({ dir, now: new Date() });
  const host = await testKey();
  fs.writeFileSync(path.join(dir, "policy.toml"), sandboxPolicyText(host));
  const configFile = path.join(dir, "steward.toml");
  const token = /tokens = \["([^"]+)"\]/.exec(fs.readFileSync(configFile, "utf8"))![1]!;
  const ca = fs.readFileSync(path.join(dir, "ca.pem"), "utf8");

  const csrs = await Promise.all(
    Array.from({ length: 60 }, async () => (await sandboxCsr({ host, now: new Date() })).der),
  );

  const server = pathToFileURL(path.join(import.meta.dirname, "server.ts")).href;
  const script = `const { startSteward } = await import(${JSON.stringify(server)});
const s = await startSteward({ configFile: ${JSON.stringify(configFile)}, listen: { host: "127.0.0.1", port: 0 } });
process.stdout.write(s.url + "\\n");`;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on("exit", (_c, s) => r(s)));
  let out = "";
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on("data", (c) => {
      out += c;
      const m = /^(https:\S+)\n/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.on("exit", () => reject(new Error(`the Steward exited before listening: ${out}`)));
  });

  const returned: string[] = [];
  let next = 0;
  let killed = false;
  const worker = async () => {
    while (next < csrs.length) {
      const csr = csrs[next++]!;
      try {
        const res = await post(url, ca, csr);
        if (res.status === 200) {
          const leaf = new x509.X509Certificate(
            res.body.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!,
          );
          returned.push(leaf.serialNumber.toLowerCase());
        }
        // Kill in the middle of the stream, with requests in flight.
        if (returned.length === 15 && !killed) {
          killed = true;
          child.kill("SIGKILL");
        }
      } catch {
        // A request the killed Steward never answered: its certificate was never returned.
      }
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  assert.equal(await exited, "SIGKILL");
  assert.ok(returned.length >= 15 && returned.length < csrs.length, `returned ${returned.length}`);

  const again = await startSteward({ configFile, listen: { host: "127.0.0.1", port: 0 } });
  try {
    const page = JSON.parse(
      await get(`${again.url}/api/v1/admin/attestations?limit=500`, ca, token),
    ) as { decisions: { verdict: string; serial: string | null }[] };
    const logged = new Set(
      page.decisions.filter((d) => d.verdict === "issued").map((d) => d.serial),
    );
    for (const serial of returned)
      assert.ok(logged.has(serial), `serial ${serial} is in the audit log`);
  } finally {
    await again.close();
  }
});
