// Preloaded with `node --import bench/rss-probe.mjs ...` by bench/run.ts to
// read the peak RSS of a program that reports nothing itself (the donjon
// CLI): at exit, the process's peak resident set (VmHWM, every thread; see
// report.mjs) goes as JSON to the file named by DONJON_BENCH_RSS.
//
// It imports nothing, so that it adds nothing to the peak it measures: an
// `import … from "node:fs"` builds fs's ESM namespace, which loads node:stream
// and fs/promises, and node:worker_threads loads its own share of modules —
// together ≈ 1 MiB that only the CLI rows paid (the runners report
// themselves), and that hid any change to what the CLI loads. Node's fs is
// there from bootstrap (`process.getBuiltinModule`), the peak is read before
// anything else is loaded, and only then is the thread checked (a preload
// runs in worker threads too; only the main thread writes).
const file = process.env.DONJON_BENCH_RSS;
if (file) {
  process.on("exit", () => {
    const fs = process.getBuiltinModule("node:fs");
    const m = /^VmHWM:\s*(\d+) kB$/m.exec(fs.readFileSync("/proc/self/status", "utf8"));
    // As report.mjs's peakRssKiB: VmHWM, not ru_maxrss (which survives execve).
    const maxRssKiB = m ? Number(m[1]) : process.resourceUsage().maxRSS;
    if (process.getBuiltinModule("node:worker_threads").isMainThread) {
      fs.writeFileSync(file, `${JSON.stringify({ maxRssKiB })}\n`);
    }
  });
}
