// A Keep runtime that serves relayed network connections (the `entry` test
// hook of host.ts), to check the host's listen and connect relaying from the
// Keep's side. It checks the host as a real Keep must (an ACCEPTED only after
// CONFIG, for a listen fd of its own plan, with a fresh id from HOST_ID_BASE,
// never beyond MAX_SOCKETS open; SOCKET_RECV within its credit, for an open
// connection) and reports a breach as EXIT `{code: "test.violation"}`.
//
// `net.json` in its --state-dir:
//   listen:    [fd…]   the listen fds of "its own" config
//   mode:      "echo"  answer each SOCKET_RECV at once, uppercased; SOCKET_CLOSE on SOCKET_CLOSED
//              "half"  collect until SOCKET_CLOSED, then answer it all uppercased and SOCKET_CLOSE
//              "big"   on the first bytes, answer `bigBytes` bytes and SOCKET_CLOSE at once
//              "flood" on the first bytes, send `bigBytes` bytes and never close
//              "stall" credit nothing; EXIT `waitMs` after the first bytes, reporting `received`
//              "refuse" on the first bytes, answer "413 too large\n" and SOCKET_CLOSE at once
//                      (while the peer is still sending)
//   bigBytes:  N
//   holdUntil: N       answer nothing until N connections are open at once (then all)
//   holdMs:    N       with holdUntil: and N ms more
//   exitAfter: N       EXIT once N accepted connections are finished (both sides closed)
//   connect:   {fd, send}  at START: CONNECT {purpose "file", fd}, send `send`, collect
//                      the answer until SOCKET_CLOSED, then SOCKET_CLOSE and EXIT
//   connectAt: N       with `connect`: send its CONNECT when N accepted connections are
//                      open rather than at START (and go on serving after the answer)
//   frames:    [{type, json} | {type, hex}]  at START: send these frames as they are
//
// EXIT `{kind: "error", code: "test.net", message: JSON}` reports
// `{served, maxOpen, ids, fds, connect}`.
import {
  CHUNK,
  channel,
  frame,
  HOST_ID_BASE,
  json,
  MAX_SOCKETS,
  readPlan,
  serve,
  u32s,
  WINDOW,
} from "./_fake_keep.js";

const plan = readPlan("net.json");

const sendData = (id, bytes) => {
  for (let at = 0; at < bytes.length; at += CHUNK) {
    channel.write(frame(0x08, Buffer.concat([u32s(id), bytes.subarray(at, at + CHUNK)])));
  }
};

let exited = false;
const exit = (code, message) => {
  if (exited) return;
  exited = true;
  channel.write(json(0x06, { kind: "error", code, message }), () => process.exit(0));
};
const violation = (message) => exit("test.violation", message);

/** Connections by id: { credit, got: Buffer[], keepClosed, hostClosed, answered }. */
const conns = new Map();
const seen = new Set();
let configLeft = -1;
let maxOpen = 0;
let served = 0;
let holding = (plan.holdUntil ?? 0) > 0;
let releasing = false;
const held = [];
const report = { ids: [], fds: [], connect: null, received: 0 };

const finished = (id, c) => {
  if (!(c.keepClosed && c.hostClosed) || !conns.has(id)) return;
  conns.delete(id);
  if (id >= HOST_ID_BASE) served++;
  if (plan.exitAfter !== undefined && served === plan.exitAfter) {
    exit("test.net", JSON.stringify({ served, maxOpen, ...report }));
  }
};
const close = (id, c) => {
  if (c.keepClosed) return;
  c.keepClosed = true;
  channel.write(frame(0x09, u32s(id)));
  finished(id, c);
};
const answer = (id, bytes) => {
  if (holding) held.push([id, bytes]);
  else sendData(id, bytes);
};

const onStart = () => {
  for (const f of plan.frames ?? []) {
    channel.write(
      f.json !== undefined ? json(f.type, f.json) : frame(f.type, Buffer.from(f.hex, "hex")),
    );
  }
  if (plan.connect && plan.connectAt === undefined) openConnect();
};

const openConnect = () => {
  conns.set(1, { credit: WINDOW, got: [], keepClosed: false, hostClosed: false, own: true });
  channel.write(json(0x07, { id: 1, purpose: "file", fd: plan.connect.fd }));
};

const onFrame = (type, payload) => {
  if (type === 0x81) {
    const start = JSON.parse(payload.toString("utf8"));
    configLeft = start.config.size;
    onStart();
    return;
  }
  if (type === 0x82) return;
  if (type === 0x83) {
    configLeft -= payload.length;
    return;
  }
  if (type === 0x89) {
    const a = JSON.parse(payload.toString("utf8"));
    if (configLeft !== 0) return violation(`ACCEPTED before the config was loaded`);
    if (Object.keys(a).length !== 2) return violation(`ACCEPTED ${JSON.stringify(a)}`);
    if (!plan.listen.includes(a.fd)) return violation(`ACCEPTED for fd ${a.fd}, not a listen fd`);
    if (!(a.id >= HOST_ID_BASE && a.id <= 0xffffffff)) return violation(`ACCEPTED id ${a.id}`);
    if (seen.has(a.id)) return violation(`ACCEPTED reuses id ${a.id}`);
    seen.add(a.id);
    conns.set(a.id, { credit: WINDOW, got: [], keepClosed: false, hostClosed: false });
    report.ids.push(a.id);
    report.fds.push(a.fd);
    maxOpen = Math.max(maxOpen, conns.size);
    if (conns.size > MAX_SOCKETS) return violation(`${conns.size} connections open`);
    if (plan.connectAt === conns.size && report.connect === null && !conns.has(1)) openConnect();
    if (holding && conns.size >= plan.holdUntil && !releasing) {
      releasing = true;
      setTimeout(() => {
        holding = false;
        for (const [id, bytes] of held.splice(0)) if (conns.has(id)) sendData(id, bytes);
      }, plan.holdMs ?? 0);
    }
    return;
  }
  if (type === 0x86) {
    // CONNECTs sent as raw `frames` are the test's, not ours: their answers are not ours to use.
    if (!plan.connect) return;
    const c = JSON.parse(payload.toString("utf8"));
    report.connect = { ok: c.ok, error: c.error ?? null, received: "" };
    if (!c.ok) {
      conns.delete(1);
      if (plan.exitAfter === undefined) exit("test.net", JSON.stringify(report));
      return;
    }
    sendData(1, Buffer.from(plan.connect.send));
    return;
  }
  const id = payload.readUInt32BE(0);
  const c = conns.get(id);
  if (c === undefined || c.hostClosed) return violation(`frame 0x${type.toString(16)} for ${id}`);
  if (type === 0x87) {
    const bytes = payload.subarray(4);
    if (bytes.length > c.credit) return violation(`SOCKET_RECV past the credit on ${id}`);
    c.credit -= bytes.length;
    if (c.keepClosed) return; // crossed our close: dropped, and never credited
    if (plan.mode === "stall") {
      if (report.received === 0) {
        setTimeout(
          () => exit("test.net", JSON.stringify({ served, maxOpen, ...report })),
          plan.waitMs,
        );
      }
      report.received += bytes.length;
      return;
    }
    c.credit += bytes.length;
    channel.write(frame(0x0a, u32s(id, bytes.length)));
    if (c.own) {
      report.connect.received += bytes.toString("utf8");
      return;
    }
    if (plan.mode === "echo")
      answer(id, Buffer.from(bytes.toString("latin1").toUpperCase(), "latin1"));
    else if (plan.mode === "half") c.got.push(bytes);
    else if (plan.mode === "big" && !c.answered) {
      c.answered = true;
      // The whole response, then the close at once: the host must flush it before its FIN.
      const big = Buffer.alloc(plan.bigBytes);
      for (let i = 0; i < big.length; i++) big[i] = i % 251;
      sendData(id, big);
      close(id, c);
    } else if (plan.mode === "flood" && !c.answered) {
      c.answered = true;
      sendData(id, Buffer.alloc(plan.bigBytes, 0x66));
    } else if (plan.mode === "refuse" && !c.answered) {
      c.answered = true;
      sendData(id, Buffer.from("413 too large\n"));
      close(id, c);
    }
    return;
  }
  if (type === 0x88) {
    c.hostClosed = true;
    if (c.own) {
      close(id, c);
      return exit("test.net", JSON.stringify(report));
    }
    if (plan.mode === "half" && !c.keepClosed) {
      // The peer only half-closed: the socket still takes the answer.
      sendData(id, Buffer.from(Buffer.concat(c.got).toString("latin1").toUpperCase(), "latin1"));
    }
    close(id, c);
    finished(id, c); // when the Keep had closed first
    return;
  }
  violation(`unexpected frame 0x${type.toString(16)}`);
};

serve((type, payload) => {
  if (!exited) onFrame(type, payload);
});
