// What the fake Keep runtimes here share (the `entry` test hook of host.ts):
// the channel on fd 3, their plan read from a JSON file in --state-dir, and a
// sallyport frame encoder and reader of their own — written apart from
// src/sallyport.ts on purpose, so that a bug in the real codec cannot hide
// from the host's tests. The protocol's numbers come from sallyport.ts, so
// the fakes check the host against the limits the real Keep uses.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

export {
  DATA_CHUNK as CHUNK,
  HOST_ID_BASE,
  MAX_SOCKETS,
  SOCKET_WINDOW as WINDOW,
} from "../src/sallyport.ts";

/** The test's plan: `name` (e.g. "net.json") in the Keep's --state-dir. */
export function readPlan(name) {
  const stateDir = process.argv[process.argv.indexOf("--state-dir") + 1];
  return JSON.parse(fs.readFileSync(path.join(stateDir, name), "utf8"));
}

/** The sallyport channel the host gives the Keep as fd 3. */
export const channel = new net.Socket({ fd: 3, readable: true, writable: true });
channel.on("error", () => {});

/** One frame: version 1, `type`, reserved zero, big-endian length, payload. */
export const frame = (type, payload) => {
  const h = Buffer.alloc(8);
  h[0] = 1;
  h[1] = type;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
};
export const json = (type, value) => frame(type, Buffer.from(JSON.stringify(value)));
/** Big-endian u32s back to back (connection ids, credits). */
export const u32s = (...values) => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => {
    b.writeUInt32BE(v, 4 * i);
  });
  return b;
};

/** Say HELLO, call `onFrame(type, payload)` for every whole frame the host sends, and stay until ended. */
export function serve(onFrame) {
  channel.write(json(0x01, { protocol: "donjon-sallyport", version: 1, backend: "sandbox" }));
  let buf = Buffer.alloc(0);
  channel.on("data", (chunk) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 8 && buf.length >= 8 + buf.readUInt32BE(4)) {
      const payload = buf.subarray(8, 8 + buf.readUInt32BE(4));
      const type = buf[1];
      buf = buf.subarray(8 + payload.length);
      onFrame(type, payload);
    }
  });
  setInterval(() => {}, 60_000); // stay until EXIT, or until the host ends the process
}
