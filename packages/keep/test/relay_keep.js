// A Keep runtime that only exercises a relayed connection (the `entry` test
// hook of host.ts), to check the host's flow control from the Keep's side.
// `relay.json` in its --state-dir: `{ "credit": true | false, "waitMs": N }`.
// It says HELLO, answers START with CONNECT {id 1, purpose "steward"}, sends
// "hello" once CONNECTED, counts the SOCKET_RECV bytes — crediting each back
// when `credit`, never otherwise — and reports the count in an EXIT error
// `{code: "test.received", message: COUNT}` once the host says SOCKET_CLOSED,
// or `waitMs` after the first bytes, whichever comes first.
import * as fs from "node:fs";
import * as net from "node:net";
import * as path from "node:path";

const stateDir = process.argv[process.argv.indexOf("--state-dir") + 1];
const plan = JSON.parse(fs.readFileSync(path.join(stateDir, "relay.json"), "utf8"));
const channel = new net.Socket({ fd: 3, readable: true, writable: true });
channel.on("error", () => {});

const frame = (type, payload) => {
  const h = Buffer.alloc(8);
  h[0] = 1;
  h[1] = type;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
};
const json = (type, value) => frame(type, Buffer.from(JSON.stringify(value)));
const u32s = (...values) => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => {
    b.writeUInt32BE(v, 4 * i);
  });
  return b;
};

let received = 0;
let reported = false;
const report = () => {
  if (reported) return;
  reported = true;
  channel.write(
    json(0x06, { kind: "error", code: "test.received", message: String(received) }),
    () => process.exit(0),
  );
};

channel.write(json(0x01, { protocol: "donjon-sallyport", version: 1, backend: "sandbox" }));
let buf = Buffer.alloc(0);
channel.on("data", (chunk) => {
  buf = Buffer.concat([buf, chunk]);
  while (buf.length >= 8 && buf.length >= 8 + buf.readUInt32BE(4)) {
    const type = buf[1];
    const payload = buf.subarray(8, 8 + buf.readUInt32BE(4));
    buf = buf.subarray(8 + payload.length);
    if (type === 0x81) channel.write(json(0x07, { id: 1, purpose: "steward" }));
    else if (type === 0x86) {
      const c = JSON.parse(payload.toString("utf8"));
      if (!c.ok) {
        received = -1;
        report();
      } else channel.write(frame(0x08, Buffer.concat([u32s(1), Buffer.from("hello")])));
    } else if (type === 0x87) {
      if (received === 0) setTimeout(report, plan.waitMs);
      received += payload.length - 4;
      if (plan.credit) channel.write(frame(0x0a, u32s(1, payload.length - 4)));
    } else if (type === 0x88) {
      channel.write(frame(0x09, u32s(1)));
      report();
    }
  }
});
setInterval(() => {}, 60_000); // stay until reported or ended by the host
