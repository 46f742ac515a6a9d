// A Keep runtime that breaks the sallyport protocol (the `entry` test hook of
// host.ts): it writes the bytes of `frames.json` in its --state-dir to the
// channel (fd 3) at once — `{ "hex": "…", "stderr": "…", "exit": N | null }`
// — says `stderr` on its stderr, then exits with status `exit`, or stays
// until the host ends it (`exit: null`).
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

const stateDir = process.argv[process.argv.indexOf("--state-dir") + 1];
const plan = JSON.parse(fs.readFileSync(path.join(stateDir, "frames.json"), "utf8"));
const channel = new net.Socket({ fd: 3, readable: true, writable: true });
channel.on("error", () => {});
channel.resume(); // take what the host sends, so that its writes never block
if (plan.stderr) process.stderr.write(plan.stderr);
channel.write(Buffer.from(plan.hex, "hex"), () => {
  if (plan.exit !== null) process.exit(plan.exit);
});
setInterval(() => {}, 60_000); // stay until the host ends the process
