// A compromised Keep runtime (the `entry` test hook of host.ts): instead of
// being the Keep it tries to get out, and reports what each attempt got as
// one line on stderr — `DONJON-PROBE {"name": {"ok": true, "value": …} |
// {"ok": false, "code": …, "message": …}, …}` — then exits without a result.
//
// Its targets come from `probe.json` in its --state-dir, the one directory
// the host lets a sandbox Keep read besides its code and the mapped ones:
// { secret, runtimeFile, roDir, rwDir, outsideDir, stateKey, compileCache, port, pid }.
import * as childProcess from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";
import { Worker } from "node:worker_threads";

const stateDir = process.argv[process.argv.indexOf("--state-dir") + 1];
const t = JSON.parse(fs.readFileSync(path.join(stateDir, "probe.json"), "utf8"));

/** What a failure says: Node's error code, or the errno name of a system error. */
function failure(e) {
  return { ok: false, code: e.code ?? e.name, message: String(e.message) };
}

async function attempt(f) {
  try {
    return { ok: true, value: await f() };
  } catch (e) {
    return failure(e);
  }
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: "127.0.0.1" });
    s.setTimeout(5000, () => s.destroy(Object.assign(new Error("timed out"), { code: "TIMEOUT" })));
    s.on("connect", () => {
      s.end("hello from the Keep\n");
      resolve("connected");
    });
    s.on("error", reject);
  });
}

function inWorker(code) {
  return new Promise((resolve, reject) => {
    const w = new Worker(code, { eval: true, workerData: t });
    w.on("message", resolve);
    w.on("error", reject);
    w.on("exit", () => reject(new Error("the worker exited without a message")));
  });
}

const results = {
  readSecret: await attempt(() => fs.readFileSync(t.secret, "utf8")),
  openSecret: await attempt(() => fs.openSync(t.secret, "r")),
  readSecretInWorker:
    await inWorker(`const { parentPort, workerData } = require("node:worker_threads");
      try { parentPort.postMessage({ ok: true, value: require("node:fs").readFileSync(workerData.secret, "utf8") }); }
      catch (e) { parentPort.postMessage({ ok: false, code: e.code, message: e.message }); }`).catch(
      failure,
    ),
  readRuntimeFile: await attempt(() => fs.readFileSync(t.runtimeFile, "utf8").length),
  readRuntimeFileInWorker:
    await inWorker(`const { parentPort, workerData } = require("node:worker_threads");
      try { parentPort.postMessage({ ok: true, value: require("node:fs").readFileSync(workerData.runtimeFile, "utf8").length }); }
      catch (e) { parentPort.postMessage({ ok: false, code: e.code, message: e.message }); }`).catch(
      failure,
    ),
  readEtcPasswd: await attempt(() => fs.readFileSync("/etc/passwd", "utf8").length),
  readMapped: await attempt(() => fs.readFileSync(path.join(t.roDir, "mapped.txt"), "utf8")),
  readStateKey: await attempt(() => fs.readFileSync(t.stateKey, "utf8").split("\n")[0]),
  writeReadOnlyDir: await attempt(() => fs.writeFileSync(path.join(t.roDir, "planted"), "x")),
  writeOutside: await attempt(() => fs.writeFileSync(path.join(t.outsideDir, "planted"), "x")),
  writeStateDir: await attempt(() => fs.writeFileSync(path.join(stateDir, "planted"), "x")),
  writeRuntime: await attempt(() =>
    fs.writeFileSync(path.join(import.meta.dirname, "planted"), "x"),
  ),
  writeReadWriteDir: await attempt(() => {
    fs.writeFileSync(path.join(t.rwDir, "written"), "x");
    return "written";
  }),
  writeCompileCache: await attempt(() => {
    fs.writeFileSync(path.join(t.compileCache, "planted"), "x");
    return "written";
  }),
  spawn: await attempt(() => {
    const r = childProcess.spawnSync("/bin/true");
    if (r.error) throw r.error;
    return r.status;
  }),
  dlopen: await attempt(() => {
    process.dlopen({ exports: {} }, path.join(import.meta.dirname, "no_such_addon.node"));
    return "loaded";
  }),
  wasi: await attempt(async () => {
    const { WASI } = await import("node:wasi");
    new WASI({ version: "preview1", preopens: { "/": "/" } });
    return "created";
  }),
  tcp: await attempt(() => connect(t.port)),
  signalHost: await attempt(() => process.kill(t.pid, 0)),
  env: await attempt(() => Object.keys(process.env)),
};

process.stderr.write(`DONJON-PROBE ${JSON.stringify(results)}\n`);
process.exitCode = 0;
