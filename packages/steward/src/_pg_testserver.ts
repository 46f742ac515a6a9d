/**
 * A throwaway PostgreSQL server for tests, started from Debian's `postgresql` package:
 * `initdb` into a temporary directory, `pg_ctl start` on a free loopback port with the
 * socket in that directory, `pg_ctl stop -m immediate` and the directory removed at the
 * end. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user
 * (or `nobody`) through `setpriv`. Missing binaries are an error that says what to
 * install — the tests fail rather than skip.
 */
import { execFile, execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";

export interface PgTestServer {
  /** The loopback port the server listens on. */
  port: number;
  /** The PostgreSQL major version whose binaries run it. */
  version: number;
  /** The URL of database `db` (the superuser is `donjon`, trust authentication). */
  url(db: string): string;
  /**
   * Creates a new empty schema in one shared database and returns a URL whose
   * `search_path` is that schema (fast: what tests that want a fresh store use).
   */
  createSchema(): Promise<string>;
  /** Stops the server as a crash would (immediate mode), keeping its data; `start()` brings it back. */
  crash(): Promise<void>;
  /** Starts the server again after `crash()`, on the same port. */
  start(): Promise<void>;
  /** Stops the server (immediate mode) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

const PG_ROOT = "/usr/lib/postgresql";

/** The newest installed PostgreSQL's bin directory, or an error naming the package to install. */
export function findPgBin(root = PG_ROOT): { bin: string; version: number } {
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+$/.test(v) && existsSync(join(root, v, "bin", "initdb")))
        .map(Number)
        .sort((a, b) => b - a)
    : [];
  if (versions.length === 0) {
    throw new Error(
      `PostgreSQL server binaries not found (no ${root}/*/bin/initdb): the PostgreSQL store tests need a real server; install Debian's postgresql package (apt-get install postgresql)`,
    );
  }
  return { bin: join(root, String(versions[0]), "bin"), version: versions[0]! };
}

/** uid and gid of the first of `names` in /etc/passwd. */
function lookupUser(names: string[]): { uid: number; gid: number; name: string } {
  const lines = readFileSync("/etc/passwd", "utf8").split("\n");
  for (const name of names) {
    const f = lines.find((l) => l.startsWith(`${name}:`))?.split(":");
    if (f?.[2] !== undefined && f[3] !== undefined) {
      return { uid: Number(f[2]), gid: Number(f[3]), name };
    }
  }
  throw new Error(
    `running as root, and none of the users ${names.join(", ")} exists to run PostgreSQL`,
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.unref();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts a throwaway server; call `stop()` in `after`. */
export async function startPgTestServer(): Promise<PgTestServer> {
  const { bin, version } = findPgBin();
  const dir = mkdtempSync(join(tmpdir(), "donjon-pg-"));
  const data = join(dir, "data");
  const log = join(dir, "log");
  let prefix: string[] = [];
  if (process.getuid?.() === 0) {
    const user = lookupUser(["postgres", "nobody"]);
    chownSync(dir, user.uid, user.gid);
    prefix = ["setpriv", `--reuid=${user.uid}`, `--regid=${user.gid}`, "--clear-groups", "--"];
  }
  const run = (tool: string, args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const [cmd, ...rest] = [...prefix, join(bin, tool), ...args];
      execFile(
        cmd!,
        rest,
        { cwd: dir, env: { ...process.env, LC_ALL: "C" } },
        (err, _out, errOut) => {
          if (err === null) return resolve();
          let tail = "";
          try {
            tail = readFileSync(log, "utf8").slice(-2000);
          } catch {}
          reject(new Error(`${tool} failed: ${err.message}\n${errOut}\n${tail}`, { cause: err }));
        },
      );
    });

  const port = await freePort();
  const start = () =>
    run("pg_ctl", [
      "-D",
      data,
      "-l",
      log,
      "-w",
      // fsync off: a throwaway server need not survive a power cut, and tests run faster.
      "-o",
      `-k ${dir} -c listen_addresses=127.0.0.1 -p ${port} -c fsync=off -c full_page_writes=off`,
      "start",
    ]);
  let stopped = false;
  const stopSync = () => {
    if (stopped) return;
    stopped = true;
    try {
      const [cmd, ...rest] = [
        ...prefix,
        join(bin, "pg_ctl"),
        "-D",
        data,
        "-m",
        "immediate",
        "stop",
      ];
      execFileSync(cmd!, rest, { cwd: dir, stdio: "ignore" });
    } catch {}
    rmSync(dir, { recursive: true, force: true });
  };
  // If the test process ends without `after` (a crash, Ctrl-C), do not leave a server behind.
  process.once("exit", stopSync);
  try {
    await run("initdb", [
      "-D",
      data,
      "-A",
      "trust",
      "-U",
      "donjon",
      "-E",
      "UTF8",
      "--locale=C",
      "--no-sync",
      "--no-instructions",
    ]);
    await start();
  } catch (e) {
    stopSync();
    throw e;
  }
  const url = (db: string) => `postgres://donjon@127.0.0.1:${port}/${db}`;
  const admin = async (db: string, sql: string) => {
    const c = new Client({ connectionString: url(db) });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  let next = 0;
  let shared: Promise<void> | undefined;
  return {
    port,
    version,
    url,
    async createSchema() {
      shared ??= admin("postgres", "CREATE DATABASE shared");
      await shared;
      const name = `s${++next}`;
      await admin("shared", `CREATE SCHEMA ${name}`);
      return `${url("shared")}?options=${encodeURIComponent(`-c search_path=${name}`)}`;
    },
    async crash() {
      await run("pg_ctl", ["-D", data, "-m", "immediate", "-w", "stop"]);
    },
    start,
    async stop() {
      process.removeListener("exit", stopSync);
      stopSync();
    },
  };
}
