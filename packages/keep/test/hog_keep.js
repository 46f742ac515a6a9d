// A Keep runtime that takes memory outside any wasm limit (the `entry` test
// hook of host.ts): it fills 64 MiB Buffers, one every 20 ms, up to 2 GiB.
// The host's watchdog must kill it long before; should it get to the end, it
// says so on stderr and exits, and the host reports a crash instead of the
// memory limit.
const CHUNK = 64 * 1024 * 1024;
const kept = [];
const timer = setInterval(() => {
  kept.push(Buffer.alloc(CHUNK, kept.length + 1)); // filled, so every page is resident
  if (kept.length * CHUNK >= 2 * 1024 * 1024 * 1024) {
    clearInterval(timer);
    process.stderr.write(`hog_keep: holds ${kept.length * 64} MiB and was not stopped\n`);
  }
}, 20);
