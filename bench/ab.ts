/**
 * A/B one workload across runners, to check a proposed change to the WASI
 * host before it lands: copy the repository (or just bench/ and
 * packages/wasi/) elsewhere, patch the copy, and compare its runner with
 * this one's and with node:wasi, interleaved, in fresh processes:
 *
 *   node bench/ab.ts [--reps N] [--dir] NAME=RUNNER[,FLAG...]... -- MODULE.wasm [ARGS...]
 *
 *   node bench/ab.ts --dir node:wasi=bench/nodewasi-run.mjs \
 *     now=bench/donjon-run.ts patched=/tmp/copy/bench/donjon-run.ts \
 *     -- bench/wasm/smallfiles.wasm 20000 /sandbox
 *
 * `--dir` gives every run a fresh directory on /dev/shm preopened at
 * /sandbox. Runners get NODE_COMPILE_CACHE (warmed by a discarded first
 * round). Prints the median wall and CPU time of `_start` and the median
 * peak RSS, with ratios to the first runner.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { Report } from "./report.mjs";

function usage(why: string): never {
  process.stderr.write(
    `ab: ${why}\nusage: node bench/ab.ts [--reps N] [--dir] NAME=RUNNER[,FLAG...]... -- MODULE.wasm [ARGS...]\n`,
  );
  process.exit(2);
}

const argv = process.argv.slice(2);
let reps = 7;
let withDir = false;
const runners: { name: string; runner: string; flags: string[] }[] = [];
let i = 0;
for (; i < argv.length && argv[i] !== "--"; i++) {
  const a = argv[i]!;
  if (a === "--reps") reps = Number(argv[++i]);
  else if (a === "--dir") withDir = true;
  else if (a.includes("=")) {
    const [name, spec] = [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)];
    const [runner, ...flags] = spec.split(",");
    runners.push({ name, runner: path.resolve(runner!), flags });
  } else usage(`unexpected ${a}`);
}
const guest = argv.slice(i + 1);
if (runners.length === 0 || guest.length === 0 || !(reps >= 1)) usage("nothing to compare");
// Runners may change directory (an experiment did): give them an absolute module path.
guest[0] = path.resolve(guest[0]!);

const base = fs.mkdtempSync(path.join(fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir(), "ab-"));
process.on("exit", () => fs.rmSync(base, { recursive: true, force: true }));
const report = path.join(base, "report.json");
const results = new Map(runners.map((r) => [r.name, [] as Report[]]));

for (let round = -1; round < reps; round++) {
  const order = round % 2 === 0 ? runners : [...runners].reverse();
  for (const r of order) {
    const dir = withDir ? fs.mkdtempSync(path.join(base, "dir-")) : null;
    const out = fs.openSync(path.join(base, "stdout"), "w");
    fs.rmSync(report, { force: true });
    const p = spawnSync(
      process.execPath,
      [
        "--disable-warning=ExperimentalWarning",
        r.runner,
        ...(dir ? ["--dir", `${dir}::/sandbox`] : []),
        ...r.flags,
        ...guest,
      ],
      {
        stdio: ["ignore", out, "pipe"],
        env: {
          ...process.env,
          DONJON_BENCH_REPORT: report,
          NODE_COMPILE_CACHE: path.join(base, "compile-cache"),
        },
      },
    );
    fs.closeSync(out);
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
    if (p.status !== 0 || !fs.existsSync(report)) {
      throw new Error(`${r.name}: exit status ${p.status}\n${p.stderr}`);
    }
    if (round >= 0) results.get(r.name)!.push(JSON.parse(fs.readFileSync(report, "utf8")));
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const first = results.get(runners[0]!.name)!;
const base0 = {
  wall: median(first.map((x) => x.runMs)),
  cpu: median(first.map((x) => x.runCpuMs)),
};
for (const r of runners) {
  const xs = results.get(r.name)!;
  const wall = median(xs.map((x) => x.runMs));
  const cpu = median(xs.map((x) => x.runCpuMs));
  const rss = median(xs.map((x) => x.maxRssKiB)) / 1024;
  process.stdout.write(
    `${r.name.padEnd(20)} wall ${wall.toFixed(0).padStart(6)} ms (${(wall / base0.wall).toFixed(3)}×)` +
      `  cpu ${cpu.toFixed(0).padStart(6)} ms (${(cpu / base0.cpu).toFixed(3)}×)  peak RSS ${rss.toFixed(1)} MiB\n`,
  );
}
