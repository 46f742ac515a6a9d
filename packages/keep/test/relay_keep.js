// A Keep runtime that only exercises a relayed connection (the `entry` test
// hook of host.ts), to check the host's flow control from the Keep's side.
// `relay.json` in its --state-dir: `{ "credit": true | false, "waitMs": N }`.
// It says HELLO, answers START with CONNECT {id 1, purpose "steward"}, sends
// "hello" once CONNECTED, counts the SOCKET_RECV bytes — crediting each back
// when `credit`, never otherwise — and reports the count in an EXIT error
// `{code: "test.received", message: COUNT}` once the host says SOCKET_CLOSED,
// or `waitMs` after the first bytes, whichever comes first.
import { channel, frame, json, readPlan, serve, u32s } from "./_fake_keep.js";

const plan = readPlan("relay.json");

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

serve((type, payload) => {
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
});
