/**
 * Where a request's time goes in each of bench/net.ts's servers (the
 * break-down in bench/FINDINGS.md; not part of `npm run bench`). For each
 * server: N sequential keep-alive GET / on one connection, then one large
 * /bytes download, with every thread of the server's processes (and this
 * client) read from /proc before and after: CPU time and voluntary context
 * switches (how often a thread went to sleep waiting for another: each
 * hand-off between threads or processes costs at least one). With
 * --strace, the system calls of the server's processes during the requests
 * are counted too (strace -c -f, attached for the requests only).
 *
 *   node bench/net-probe.ts [--requests N] [--mib N] [--strace] [--only keep,node,native]
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  Conn,
  checkPage,
  descendants,
  ensureNativeServer,
  installCleanup,
  NET_SERVERS,
  type NetServer,
  type Running,
  start,
  stop,
} from "./net.ts";

interface ThreadStat {
  cpuTicks: number;
  voluntary: number;
  involuntary: number;
}

/** Per thread group ("process/thread name"), summed. */
type Snapshot = Map<string, ThreadStat>;

function snapshot(pids: number[], names: Map<number, string>): Snapshot {
  const out: Snapshot = new Map();
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = fs.readdirSync(`/proc/${pid}/task`);
    } catch {
      continue;
    }
    for (const t of tids) {
      try {
        const stat = fs.readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
        const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const status = fs.readFileSync(`/proc/${pid}/task/${t}/status`, "utf8");
        const comm = fs.readFileSync(`/proc/${pid}/task/${t}/comm`, "utf8").trim();
        const key = `${names.get(pid) ?? pid} ${comm}`;
        const s = out.get(key) ?? { cpuTicks: 0, voluntary: 0, involuntary: 0 };
        s.cpuTicks += Number(f[11]) + Number(f[12]);
        s.voluntary += Number(/voluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1] ?? 0);
        s.involuntary += Number(/nonvoluntary_ctxt_switches:\s*(\d+)/.exec(status)?.[1] ?? 0);
        out.set(key, s);
      } catch {}
    }
  }
  return out;
}

function diff(a: Snapshot, b: Snapshot, per: number, unit: string): string[] {
  const rows: string[] = [];
  for (const [k, y] of b) {
    const x0 = a.get(k) ?? { cpuTicks: 0, voluntary: 0, involuntary: 0 };
    const cpu = ((y.cpuTicks - x0.cpuTicks) * 10_000) / per; // 100 Hz ticks → µs
    const vol = (y.voluntary - x0.voluntary) / per;
    const inv = (y.involuntary - x0.involuntary) / per;
    if (cpu === 0 && vol < 0.01 && inv < 0.01) continue;
    rows.push(
      `| ${k} | ${cpu.toFixed(1)} µs | ${vol.toFixed(2)} | ${inv.toFixed(2)} | per ${unit} |`,
    );
  }
  return rows;
}

function option(argv: string[], name: string, fallback: number): number {
  const i = argv.indexOf(name);
  return i < 0 ? fallback : Number(argv[i + 1]);
}

/** One `strace -c -f` per process (its threads together); stop() gives each one's table. */
async function strace(
  pids: number[],
  names: Map<number, string>,
  dir: string,
): Promise<() => Promise<string>> {
  const runs = pids.map((p) => {
    const out = path.join(dir, `strace-${p}`);
    const child = spawn("strace", ["-c", "-f", "-o", out, "-p", String(p)], {
      stdio: ["ignore", "ignore", "ignore"],
    });
    return { p, out, child, done: new Promise((r) => child.once("close", r)) };
  });
  // strace attaches to every thread first; give it a moment.
  await new Promise((r) => setTimeout(r, 500));
  return async () => {
    const parts: string[] = [];
    for (const x of runs) {
      x.child.kill("SIGINT");
      await x.done;
      parts.push(
        `${names.get(x.p) ?? x.p} (pid ${x.p}):\n${fs.readFileSync(x.out, "utf8").trim()}`,
      );
    }
    return parts.join("\n\n");
  };
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const requests = option(argv, "--requests", 5000);
  const mib = option(argv, "--mib", 64);
  const withStrace = argv.includes("--strace");
  const only = argv.includes("--only")
    ? (argv[argv.indexOf("--only") + 1]!.split(",") as NetServer[])
    : (Object.keys(NET_SERVERS) as NetServer[]);
  installCleanup();
  ensureNativeServer();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "donjon-net-probe-"));
  try {
    for (const s of only) {
      const r: Running = await start(s, path.join(scratch, "state"));
      try {
        const c = await Conn.open(r);
        for (let i = 0; i < 500; i++) checkPage(s, await c.get("/"));
        const pid = r.child.pid!;
        const tree = [pid, ...descendants(pid)];
        const names = new Map<number, string>();
        for (const p of tree) {
          try {
            const cmd = fs.readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0");
            names.set(p, p === pid ? (s === "keep" ? "host" : "server") : path.basename(cmd[0]!));
          } catch {}
        }
        names.set(process.pid, "client");
        const all = [process.pid, ...tree];
        let stopStrace: (() => Promise<string>) | null = null;
        if (withStrace)
          stopStrace = await strace(
            tree.filter((p) => names.get(p) !== "bwrap"),
            names,
            scratch,
          );
        const a = snapshot(all, names);
        const t0 = performance.now();
        for (let i = 0; i < requests; i++) checkPage(s, await c.get("/"));
        const ms = performance.now() - t0;
        const b = snapshot(all, names);
        const traced = stopStrace ? await stopStrace() : null;
        c.close();
        process.stdout.write(
          `\n### ${s}: ${requests} sequential GET / on one connection: ${((ms * 1000) / requests).toFixed(0)} µs each\n\n`,
        );
        process.stdout.write("| process thread | CPU | voluntary switches | involuntary | |\n");
        process.stdout.write("| --- | --- | --- | --- | --- |\n");
        process.stdout.write(`${diff(a, b, requests, "request").join("\n")}\n`);
        if (traced) {
          process.stdout.write(`\nstrace -c -f per server process, ${requests} requests:\n\n`);
          process.stdout.write(`\`\`\`\n${traced.trim()}\n\`\`\`\n`);
        }
        const d = await Conn.open(r);
        const a2 = snapshot(all, names);
        const t1 = performance.now();
        const ans = await d.get(`/bytes?n=${mib * 2 ** 20}`);
        const ms2 = performance.now() - t1;
        const b2 = snapshot(all, names);
        d.close();
        if (ans.length !== mib * 2 ** 20) throw new Error(`${s}: short download`);
        process.stdout.write(
          `\n${s}: one ${mib} MiB download, ${(mib / (ms2 / 1000)).toFixed(0)} MiB/s\n\n`,
        );
        process.stdout.write("| process thread | CPU | voluntary switches | involuntary | |\n");
        process.stdout.write("| --- | --- | --- | --- | --- |\n");
        process.stdout.write(`${diff(a2, b2, mib, "MiB").join("\n")}\n`);
      } finally {
        await stop(r);
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
