// Peak memory of a process and every process it starts (for `donjon run
// --backend sandbox`: the donjon host, bwrap and the Keep's Node process):
//
//   node bench/tree-rss.mjs REPORT.json -- PROGRAM [ARGS...]
//
// Runs PROGRAM with this process's stdio, and while it runs polls its process
// tree from /proc every millisecond: the children of every thread
// (/proc/PID/task/TID/children), recursively, and each process's VmHWM (its
// own peak resident set, which only grows until it execs another program) and
// VmRSS. A process's peak is its last VmHWM reading before it exited (that of
// the last program it ran); a process that lived less than a poll
// interval can be missed, and growth in the last interval before an exit is
// not seen (bench/run.ts cross-checks the root against the exact figure that
// bench/rss-probe.mjs reads at exit). The report gives, in KiB:
//   sumPeakKiB   the sum over processes of their peaks: the peaks need not be
//                simultaneous, so this is an upper bound of the tree's peak
//   maxSumRssKiB the largest sum of VmRSS seen in one poll: a lower bound
//   processes    [{ pid, name, hwmKiB }], in the order they were found
// Shared pages (the node binary's code in two processes) count once per
// process, as in any sum of RSS. The exit status is PROGRAM's.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

const [file, sep, ...argv] = process.argv.slice(2);
if (!file || sep !== "--" || argv.length === 0) {
  process.stderr.write("usage: node bench/tree-rss.mjs REPORT.json -- PROGRAM [ARGS...]\n");
  process.exit(2);
}

/** pid → { name, hwmKiB } for every process seen. */
const seen = new Map();
let maxSumRssKiB = 0;
let polls = 0;

function status(pid) {
  try {
    return readFileSync(`/proc/${pid}/status`, "latin1");
  } catch {
    return null; // gone
  }
}

function kib(text, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(text);
  return m ? Number(m[1]) : null;
}

function poll(root) {
  polls++;
  let sumRss = 0;
  const stack = [root];
  const visited = new Set();
  while (stack.length > 0) {
    const pid = stack.pop();
    if (visited.has(pid)) continue;
    visited.add(pid);
    const s = status(pid);
    if (s === null) continue;
    const hwm = kib(s, "VmHWM");
    // A zombie (exited, not yet reaped) has no memory fields: keep the last reading.
    // The last reading, not the largest: VmHWM only grows within one program,
    // but execve starts it afresh, and what a poll sees before the exec is the
    // forked copy of the parent (bwrap's pid first reads as a copy of the donjon
    // host, its VmHWM up to 6 MiB, then as bwrap with 2 MiB).
    if (hwm !== null) {
      const name = /^Name:\s+(.*)$/m.exec(s)?.[1] ?? "?";
      seen.set(pid, { name, hwmKiB: hwm });
      sumRss += kib(s, "VmRSS") ?? 0;
    }
    let tasks = [];
    try {
      tasks = readdirSync(`/proc/${pid}/task`);
    } catch {}
    for (const t of tasks) {
      try {
        const c = readFileSync(`/proc/${pid}/task/${t}/children`, "latin1").trim();
        if (c !== "") for (const p of c.split(" ")) stack.push(Number(p));
      } catch {}
    }
  }
  maxSumRssKiB = Math.max(maxSumRssKiB, sumRss);
}

const child = spawn(argv[0], argv.slice(1), { stdio: "inherit" });
const timer = setInterval(() => poll(child.pid), 1);
child.on("spawn", () => poll(child.pid));
child.on("error", (e) => {
  process.stderr.write(`tree-rss: cannot run ${argv[0]}: ${e.message}\n`);
  process.exit(127);
});
child.on("exit", (code, signal) => {
  clearInterval(timer);
  const processes = [...seen].map(([pid, p]) => ({ pid, ...p }));
  const sumPeakKiB = processes.reduce((a, p) => a + p.hwmKiB, 0);
  writeFileSync(file, `${JSON.stringify({ sumPeakKiB, maxSumRssKiB, polls, processes })}\n`);
  process.exitCode = code ?? 128 + 9;
  if (signal) process.stderr.write(`tree-rss: ${argv[0]} killed by ${signal}\n`);
});
