// Preloaded with `node --import bench/rss-probe.mjs ...` by bench/run.ts to
// read the peak RSS of a program that reports nothing itself (the donjon
// CLI): at exit, the process's peak resident set (VmHWM, every thread; see
// report.mjs) goes as JSON to the file named by DONJON_BENCH_RSS.
import { writeFileSync } from "node:fs";
import { isMainThread } from "node:worker_threads";
import { peakRssKiB } from "./report.mjs";

const file = process.env.DONJON_BENCH_RSS;
if (file && isMainThread) {
  process.on("exit", () => {
    writeFileSync(file, `${JSON.stringify({ maxRssKiB: peakRssKiB() })}\n`);
  });
}
